//! goro: Go's concurrency model for Rust.
//!
//! Stackful coroutines spawned with [`go!`] run on a work-stealing M:N
//! scheduler over a `GOMAXPROCS`-sized pool of OS threads. Blocking
//! operations (joins, [`sync`], [`chan`](mod@chan) and [`select!`], [`time::sleep`],
//! socket reads and writes in [`net`]) park the *coroutine* and free its worker thread;
//! called from a plain OS thread they block the thread, so threads and
//! coroutines can talk freely.
//!
//! ```
//! use goro::sync::WaitGroup;
//!
//! let total = goro::run(|| {
//!     let wg = WaitGroup::new();
//!     let handles: Vec<_> = (0..1000u64).map(|i| wg.go(move || i * i)).collect();
//!     wg.wait();
//!     handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
//! });
//! assert_eq!(total, (0..1000u64).map(|i| i * i).sum());
//! ```
//!
//! # Layers (top to bottom; each only uses the ones below it)
//!
//! | module      | what it holds |
//! |-------------|---------------|
//! | [`errgroup`], [`rate`], [`resilience`] | chapter 5 tools: a group of coroutines with the first error and a shared context; a token-bucket rate limiter and the book's multi-limiter; replicated requests and the steward/ward healing pattern |
//! | [`pattern`] | the book's chapter 4 pipeline stages (`or`, `or_done`, `tee`, `bridge`, `fan_in` / `fan_out`, generators, `queue`) and heartbeats, over channels, `time` and `context` |
//! | [`dump`], [`coroutines`], [`metrics`], [`testing`] | seeing inside: Go's goroutine dump, runtime metrics, goleak-style leak checks (with [`macro@main`] and [`macro@test`]); deadlock reports, `SIGQUIT` dumps and `GORO_DEBUG=schedtrace` come with the runtime |
//! | [`sync`]    | Go's `sync`: `WaitGroup`, `Mutex`, `RwMutex`, `Cond`, `Once`, `Pool`, weighted `Semaphore`, built on park / ready |
//! | [`scope`], [`coroutine_local!`], [`block_on`] | scoped coroutines that borrow from the caller, coroutine-local storage (per-coroutine values in the header), the bridge to and from async Rust |
//! | [`time`], [`net`] | the user-facing packages: `sleep`, `after`, `tick`, `Timer`, `Ticker`; TCP / UDP / Unix sockets whose blocking calls park the coroutine |
//! | `sched`     | workers, run queues, stealing, the idle/spinning protocol, park and ready, and the scheduler's drivers: the runtime clock and per-worker timer heaps, the netpoller (one mio `Poll`, entered by an idle worker) |
//! | `g`         | the coroutine: its allocation, state word, pin, context switch (the only corosensei user), stacks and guard pages, join handles |
//! | [`chan`](mod@chan)    | channels and `select!` (the `goro-chan` crate, which reaches the scheduler only through the [`waiter`] hook) |
//!
//! Read `docs/design.md` for the design and `docs/safety.md` for the rule
//! every user must follow: **do not hold a `!Send` value (an `Rc`, a
//! `thread_local!` reference, a `std::sync::MutexGuard`) across a blocking
//! call**; coroutines migrate between threads there. Use
//! [`coroutine_local!`] instead of `thread_local!` for per-coroutine state.

#![warn(missing_docs)]

#[cfg(not(target_os = "linux"))]
compile_error!(
    "goro supports Linux only (it needs madvise guard pages, SIGSEGV on an alternate stack and epoll); \
     build for a *-linux-* target"
);

mod loom;

#[cfg(not(loom))]
#[macro_use]
mod report;

#[cfg(not(loom))]
mod block_on;
#[cfg(not(loom))]
mod builder;
#[cfg(not(loom))]
mod cgroup;
#[cfg(not(loom))]
mod config;
#[cfg(not(loom))]
mod coroutine_local;
#[cfg(not(loom))]
mod diag;
#[cfg(not(loom))]
mod g;
#[cfg(not(loom))]
pub mod net;
#[cfg(not(loom))]
mod sched;
#[cfg(not(loom))]
mod scope;
#[cfg(not(loom))]
pub mod time;

#[cfg(loom)]
#[path = "g/state.rs"]
#[allow(dead_code)]
mod g_state_loom;

pub mod sync;

#[cfg(not(loom))]
pub mod context;
#[cfg(not(loom))]
pub mod errgroup;
#[cfg(not(loom))]
pub mod rate;
#[cfg(not(loom))]
pub mod resilience;

#[cfg(not(loom))]
pub mod pattern;

/// Channels (Go's `chan`), from the `goro-chan` crate: [`chan()`](fn@chan)
/// makes one, [`select!`] waits on several. Everything here parks the
/// calling coroutine (or blocks a plain thread).
///
/// ```
/// use goro::chan;
/// goro::run(|| {
///     let (tx, rx) = chan::<u64>(0);
///     goro::go!(move || {
///         for i in 1..=3 {
///             tx.send(i).unwrap();
///         }
///     });
///     assert_eq!(rx.iter().sum::<u64>(), 6);
/// });
/// ```
pub mod chan {
    pub use goro_chan::{
        IntoIter, Iter, Receiver, RecvFuture, RecvTimeoutError, Select, SelectTimeoutError,
        SelectedOperation, SendError, SendTimeoutError, Sender, TryIter, TryRecvError,
        TrySelectError, TrySendError, chan, never, never_sender,
    };
}
pub use goro_chan::{chan, select};

#[cfg(not(loom))]
pub use api::*;
#[cfg(not(loom))]
pub use diag::{CoroutineInfo, CoroutineState, Metrics, coroutines, dump, metrics, testing};
#[cfg(not(loom))]
pub use goro_macros::{main, test};

#[cfg(not(loom))]
mod api {
    pub use crate::block_on::block_on;
    pub use crate::builder::Builder;
    pub use crate::config::{ConfigError, MAX_PROCS};
    pub use crate::coroutine_local::CoroutineLocal;
    pub use crate::g::{Coroutine, JoinHandle, Panic};
    pub use crate::sched::blocking::{block_in_place, spawn_blocking};
    pub use crate::sched::park::yield_now;
    pub use crate::scope::{Scope, ScopedJoinHandle, scope};
    /// The waiter hook every blocking call goes through: park the caller
    /// (coroutine or thread) and wake it with an [`waiter::Unparker`].
    /// Build your own blocking primitives on it.
    pub use goro_chan::waiter;

    use crate::config::parse_procs;
    use crate::sched::{self, rt, worker};

    /// Spawns a coroutine running `f` and returns its [`JoinHandle`].
    ///
    /// `go!(f)` is [`spawn`]`(f)`; use [`Builder`] for a name, a stack size
    /// or pinning. Outside [`run`] it starts the runtime on first use.
    ///
    /// ```
    /// let h = goro::go!(|| "hello from a coroutine");
    /// assert_eq!(h.join().unwrap(), "hello from a coroutine");
    /// ```
    #[macro_export]
    macro_rules! go {
        ($f:expr) => {
            $crate::spawn($f)
        };
    }

    /// Spawns a coroutine running `f`; see [`go!`].
    ///
    /// # Panics
    ///
    /// If the runtime has to start and `GOMAXPROCS` or `GORO_STACK_SIZE` is
    /// invalid (the message names the variable).
    #[track_caller]
    pub fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        sched::go(f)
    }

    /// Runs `f` as the main coroutine and returns its result, blocking the
    /// calling thread until it finishes. Called on a coroutine, it just calls
    /// `f`.
    ///
    /// Other coroutines keep running after `f` returns (the runtime lives as
    /// long as the process, as in Go); join them if you need their results.
    ///
    /// # Panics
    ///
    /// If `f` panics (the panic is resumed on the caller), or if the runtime
    /// cannot start (see [`init`]).
    ///
    /// ```
    /// let n = goro::run(|| {
    ///     let h = goro::go!(|| 40);
    ///     h.join().unwrap() + 2
    /// });
    /// assert_eq!(n, 42);
    /// ```
    #[track_caller]
    pub fn run<F, T>(f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if worker::current().is_some() {
            return f();
        }
        match Builder::new().name("main").spawn(f).join() {
            Ok(v) => v,
            Err(p) => p.resume(),
        }
    }

    /// Starts the runtime now, reporting a bad configuration as an error
    /// instead of a panic. Idempotent. Other entry points call it
    /// implicitly.
    ///
    /// ```
    /// goro::init().expect("valid GOMAXPROCS and GORO_STACK_SIZE");
    /// assert!(goro::maxprocs() >= 1);
    /// ```
    pub fn init() -> Result<(), ConfigError> {
        sched::init().map(|_| ())
    }

    /// The number of worker threads (GOMAXPROCS). Unless the `GOMAXPROCS`
    /// variable is set, it starts as the smaller of the CPUs this process
    /// may run on and the tightest cgroup CPU limit (v1 or v2, the process's
    /// cgroup and its visible ancestors, rounded up), and follows changes
    /// of that limit about once a second until [`set_maxprocs`] is called.
    pub fn maxprocs() -> usize {
        rt().nprocs.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Changes the number of worker threads and returns the previous value
    /// (Go's `runtime.GOMAXPROCS(n)`). From then on the runtime no longer
    /// follows the container's CPU limit (see [`maxprocs`]). Takes effect at each worker's next
    /// scheduling point; coroutines queued on retired workers move to the
    /// others; pinned coroutines keep their thread.
    ///
    /// # Errors
    ///
    /// If `n` is 0 or more than [`MAX_PROCS`].
    ///
    /// ```
    /// let before = goro::set_maxprocs(3).unwrap();
    /// assert_eq!(goro::maxprocs(), 3);
    /// goro::set_maxprocs(before).unwrap();
    /// assert!(goro::set_maxprocs(0).is_err());
    /// ```
    pub fn set_maxprocs(n: usize) -> Result<usize, ConfigError> {
        let n = parse_procs("GOMAXPROCS", &n.to_string())?;
        let rt = rt();
        // The user decides from now on: the monitor stops following the
        // container's CPU limit.
        rt.monitor
            .user_procs
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(rt.set_procs(n, false))
    }

    /// The number of coroutines that exist: spawned and not yet finished,
    /// parked ones included (Go's `runtime.NumGoroutine`).
    pub fn num_goroutine() -> usize {
        rt().num_goroutine()
    }

    /// The running coroutine, or `None` on a plain thread.
    ///
    /// ```
    /// assert!(goro::current().is_none());
    /// let id = goro::go!(|| goro::current().unwrap().id()).join().unwrap();
    /// assert!(id >= 1);
    /// ```
    pub fn current() -> Option<Coroutine> {
        let (_, h) = worker::current()?;
        // SAFETY: the running coroutine's header is live; `clone_ref` takes
        // a reference of its own for the handle.
        let g = std::mem::ManuallyDrop::new(unsafe { crate::g::GRef::from_raw(h) });
        Some(Coroutine::new(g.clone_ref()))
    }

    /// The index of the worker thread running the caller, or `None` on a
    /// plain thread. A coroutine may be on a different worker after any
    /// blocking call unless it is pinned. Indices are below GOMAXPROCS
    /// until the monitor hands a stuck worker's processor to a spare
    /// thread (a coroutine ran over 10 ms without yielding while others
    /// waited, or [`block_in_place`] was called): spares have their own
    /// indices, below `GORO_MAX_THREADS` (default 1024).
    #[inline(never)]
    pub fn worker_index() -> Option<usize> {
        worker::ctx().map(|c| c.index)
    }

    /// How many times a worker's processor was handed to another thread
    /// (the monitor's retakes plus [`block_in_place`] hand-offs). For tests
    /// and diagnostics; not a stable API.
    #[doc(hidden)]
    pub fn __processor_moves() -> u64 {
        rt().monitor
            .retakes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Pins the running coroutine to its current worker thread: it will not
    /// migrate again until [`unlock_os_thread`] (Go's `LockOSThread`). Use it
    /// around code that keeps thread-local state across blocking calls.
    /// Returns `false` on a plain thread (which never migrates anyway).
    pub fn lock_os_thread() -> bool {
        match worker::current() {
            Some((ctx, h)) => {
                // SAFETY: the running coroutine's header is live; pin rule 2:
                // it runs on `ctx.index`, and only it writes its pin now.
                unsafe { h.as_ref() }
                    .pin
                    .store(crate::g::Pin::Worker(ctx.index));
                true
            }
            None => false,
        }
    }

    /// Undoes [`lock_os_thread`] (and the pinning of a [`Builder::pinned`]
    /// coroutine): the coroutine may migrate again.
    pub fn unlock_os_thread() {
        if let Some((_, h)) = worker::current() {
            // SAFETY: the running coroutine's header is live; pin rule 2.
            unsafe { h.as_ref() }.pin.store(crate::g::Pin::Anywhere);
        }
    }
}

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme_doctests {}

/// `docs/guide.md`'s examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
mod guide_doctests {}

/// `docs/safety.md`'s examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/safety.md")]
mod safety_doctests {}
