//! `Builder`: spawn a coroutine with a name, a stack size or pinned to its
//! first worker.

use crate::g::JoinHandle;
use crate::g::stack::{MAX_STACK_SIZE, MIN_STACK_SIZE};
use crate::sched;

/// Configures a coroutine before spawning it (std's `thread::Builder`).
///
/// ```
/// let h = goro::Builder::new()
///     .name("parser")
///     .stack_size(1 << 20)
///     .spawn(|| goro::current().unwrap().name().map(String::from));
/// assert_eq!(h.join().unwrap().as_deref(), Some("parser"));
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a Builder does nothing until `spawn` is called"]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
    pinned: bool,
}

impl Builder {
    /// A builder with the defaults: no name, the runtime's stack size
    /// (`GORO_STACK_SIZE`, default 128 KiB, 256 KiB in debug builds), not
    /// pinned.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the coroutine (shown in panics, overflow reports and
    /// [`crate::Coroutine::name`]). Default: no name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Usable stack bytes, rounded up to whole pages. Memory is committed
    /// only as the stack is touched, so generous sizes are cheap. Default:
    /// the runtime's (`GORO_STACK_SIZE`; unless set, 128 KiB, or 256 KiB in
    /// builds with debug assertions).
    ///
    /// # Panics
    ///
    /// If `bytes` is below 16 KiB or above 1 GiB.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        assert!(
            (MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&bytes),
            "goro::Builder::stack_size: {bytes} bytes is outside {} KiB ..= {} MiB",
            MIN_STACK_SIZE >> 10,
            MAX_STACK_SIZE >> 20
        );
        self.stack_size = Some(bytes);
        self
    }

    /// Pins the coroutine to the worker thread that first runs it: it never
    /// migrates, so thread-local state stays valid across blocking calls.
    /// A pinned coroutine keeps its thread even if GOMAXPROCS shrinks below
    /// it. Default: `false`.
    pub fn pinned(mut self, pinned: bool) -> Self {
        self.pinned = pinned;
        self
    }

    /// Spawns the coroutine. Its stack is taken when it first runs; if
    /// none can be had then, it ends with a panic naming the cause (its
    /// `join` returns it).
    ///
    /// # Panics
    ///
    /// If the runtime has to start and its configuration is invalid (see
    /// [`crate::init`]), or if memory for the coroutine itself is exhausted
    /// (use [`Builder::try_spawn`] to handle that).
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        sched::spawn(
            f,
            self.name.map(String::into_boxed_str),
            self.stack_size,
            crate::g::Pin::for_spawn(self.pinned),
        )
    }

    /// Spawns the coroutine with its stack reserved now, so that running
    /// out of memory is an error here, where the caller can stop spawning
    /// (std's `thread::Builder::spawn` returns `io::Result` for the same
    /// reason).
    ///
    /// # Errors
    ///
    /// `OutOfMemory` if the coroutine cannot be allocated; the OS error
    /// (`ENOMEM` for a lowered `ulimit -v`) if its stack cannot be mapped.
    /// The closure is dropped without running.
    ///
    /// # Panics
    ///
    /// As [`Builder::spawn`], for an invalid configuration.
    ///
    /// ```
    /// let h = goro::Builder::new().name("job").try_spawn(|| 2 + 2);
    /// assert_eq!(h.expect("memory to spare").join().unwrap(), 4);
    /// ```
    #[track_caller]
    pub fn try_spawn<F, T>(self, f: F) -> std::io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        sched::try_spawn(
            f,
            self.name.map(String::into_boxed_str),
            self.stack_size,
            crate::g::Pin::for_spawn(self.pinned),
        )
    }
}
