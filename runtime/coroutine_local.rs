//! Coroutine-local storage: [`coroutine_local!`](crate::coroutine_local)
//! declares a [`CoroutineLocal`] key, `thread_local!`'s counterpart for
//! coroutines. Each coroutine sees its own value, created on first access
//! and dropped when the coroutine's body returns; the value follows the
//! coroutine across workers. On a plain thread (or a worker's own stack)
//! the key falls back to a per-thread value, dropped at thread exit.
//!
//! This is the replacement for `thread_local!` in coroutine code: a
//! coroutine may resume on another worker thread after any blocking call,
//! and a `thread_local!` read there (even with a fresh `with`) can still
//! reach the old thread's slot, because LLVM keeps the thread-local address
//! it computed before the call (`docs/safety.md`).
//!
//! # Invariants
//!
//! The storage and its access rules are in `g/local.rs` (rules 1-4). This
//! file finds the caller's slot — the running coroutine's header, through
//! the worker accessor, which is `#[inline(never)]` and so is re-read after
//! every switch — and hands out `&T` only for the duration of a closure
//! (rule 2: no `&mut` to the map is live while user code runs; rule 3: the
//! value does not move). `T: Send` (rule 4): the value migrates with its
//! coroutine.
//!
//! # Alternatives rejected
//!
//! * *A `'static` reference out of `with`*: the value dies with its
//!   coroutine, so references are scoped to a closure, as for
//!   `thread_local!`.
//! * *Eager initialisation at spawn*: every spawn would pay for every key;
//!   lazily, a coroutine that never touches a local pays one null store.
//! * *Inheriting the spawner's values* (Java's `InheritableThreadLocal`):
//!   Go has no goroutine-locals at all and passes a `context` instead; goro
//!   keeps locals strictly per coroutine and leaves inheritance to
//!   `goro::context`.

use std::cell::{Cell, RefCell};
use std::fmt;

use crate::g::local::{self, MapPtr, Slot};
use crate::sched::worker;

/// A key to a coroutine-local value, declared with
/// [`coroutine_local!`](crate::coroutine_local). Each coroutine (and each
/// plain thread) has its own value, initialised on first access.
///
/// ```
/// use std::cell::Cell;
///
/// goro::coroutine_local! {
///     static COUNT: Cell<u32> = Cell::new(0);
/// }
///
/// goro::run(|| {
///     COUNT.set(5);
///     let other = goro::go!(|| {
///         COUNT.set(COUNT.get() + 1); // its own value, starting at 0
///         COUNT.get()
///     });
///     assert_eq!(other.join().unwrap(), 1);
///     goro::yield_now(); // may resume on another worker: the value follows
///     assert_eq!(COUNT.get(), 5);
/// });
/// ```
pub struct CoroutineLocal<T: 'static> {
    init: fn() -> T,
}

impl<T: 'static> CoroutineLocal<T> {
    /// Used by [`coroutine_local!`](crate::coroutine_local); not a stable
    /// API.
    #[doc(hidden)]
    pub const fn __new(init: fn() -> T) -> Self {
        CoroutineLocal { init }
    }
}

impl<T: 'static> fmt::Debug for CoroutineLocal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoroutineLocal").finish_non_exhaustive()
    }
}

std::thread_local! {
    /// Plain threads' locals (and a worker's, outside any coroutine).
    static THREAD_SLOT: ThreadSlot = const { ThreadSlot(Slot::new()) };
}

struct ThreadSlot(Slot);

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        // SAFETY: local.rs rule 1: the thread's own slot, at its exit; no
        // `with` of this thread is running any more.
        unsafe { local::drop_all(self.0.get()) };
    }
}

/// The caller's slot: the running coroutine's, or the thread's.
fn current_slot() -> *mut MapPtr {
    match worker::current() {
        // SAFETY: the running coroutine's header is live while it runs, and
        // this is its own code (local.rs rule 1).
        Some((_, h)) => unsafe { h.as_ref() }.locals.get(),
        None => THREAD_SLOT
            .try_with(|s| s.0.get())
            .expect("goro: a coroutine_local was used while its thread was exiting"),
    }
}

impl<T: Send + 'static> CoroutineLocal<T> {
    fn key(&'static self) -> *const () {
        self as *const Self as *const ()
    }

    /// The value, if this coroutine (or thread) has one.
    fn existing(&'static self) -> Option<*const T> {
        // SAFETY: local.rs rules 1-2: our own slot, no `&mut Map` is live;
        // the key's entry holds a `T` (it was inserted by this key).
        unsafe { local::lookup(current_slot(), self.key()) }.map(|p| p.cast_const().cast())
    }

    /// Stores `value` as this coroutine's (or thread's) value.
    fn insert(&'static self, value: T) -> *const T {
        let slot = current_slot();
        // SAFETY: local.rs rules 1-2 as above.
        if unsafe { local::lookup(slot, self.key()) }.is_some() {
            panic!("goro: a coroutine_local's initialiser used the same coroutine_local");
        }
        // SAFETY: as above; the key is not in the map (just checked).
        unsafe { local::insert(slot, self.key(), value) }
    }

    fn get_ptr(&'static self) -> *const T {
        match self.existing() {
            Some(p) => p,
            // The initialiser runs with no borrow of the map: it may use
            // other locals, or park (the slot belongs to the coroutine, not
            // the thread, so it is found again afterwards).
            None => self.insert((self.init)()),
        }
    }

    /// Calls `f` with a reference to this coroutine's value, initialising
    /// it first if this is the coroutine's first access. On a plain thread,
    /// the thread's value.
    ///
    /// The reference is good for the whole closure, blocking calls and
    /// migrations included: the value lives with the coroutine.
    ///
    /// # Panics
    ///
    /// If the initialiser uses this same key, or (on a plain thread) if
    /// called while the thread's locals are being destroyed.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// goro::coroutine_local!(static LOG: RefCell<Vec<u32>> = RefCell::new(Vec::new()));
    ///
    /// let got = goro::go!(|| {
    ///     LOG.with(|l| l.borrow_mut().push(1));
    ///     goro::yield_now();
    ///     LOG.with(|l| l.borrow().clone())
    /// });
    /// assert_eq!(got.join().unwrap(), vec![1]);
    /// ```
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        let p = self.get_ptr();
        // SAFETY: local.rs rule 3: the value stays at `p` until its owner's
        // locals are dropped, which happens only after the owner's body (of
        // which this call is part) has returned, or at thread exit.
        f(unsafe { &*p })
    }
}

impl<T: Send + 'static> CoroutineLocal<Cell<T>> {
    /// Sets the value, without running the initialiser if this is the
    /// first access.
    ///
    /// ```
    /// use std::cell::Cell;
    /// goro::coroutine_local!(static X: Cell<i32> = panic!("not run by set"));
    /// goro::go!(|| {
    ///     X.set(3);
    ///     assert_eq!(X.replace(4), 3);
    ///     assert_eq!(X.take(), 4);
    ///     assert_eq!(X.get(), 0);
    /// })
    /// .join()
    /// .unwrap();
    /// ```
    pub fn set(&'static self, value: T) {
        match self.existing() {
            // SAFETY: local.rs rule 3 (as in `with`).
            Some(p) => unsafe { &*p }.set(value),
            None => {
                self.insert(Cell::new(value));
            }
        }
    }

    /// A copy of the value.
    pub fn get(&'static self) -> T
    where
        T: Copy,
    {
        self.with(Cell::get)
    }

    /// Takes the value, leaving `T::default()`.
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(Cell::take)
    }

    /// Replaces the value, returning the old one.
    pub fn replace(&'static self, value: T) -> T {
        self.with(|c| c.replace(value))
    }
}

impl<T: Send + 'static> CoroutineLocal<RefCell<T>> {
    /// Calls `f` with a shared borrow of the value.
    ///
    /// # Panics
    ///
    /// If the value is mutably borrowed (by an enclosing `with_borrow_mut`).
    ///
    /// ```
    /// use std::cell::RefCell;
    /// goro::coroutine_local!(static NAMES: RefCell<Vec<String>> = RefCell::new(Vec::new()));
    /// goro::go!(|| {
    ///     NAMES.with_borrow_mut(|v| v.push("gopher".into()));
    ///     assert_eq!(NAMES.with_borrow(|v| v.len()), 1);
    ///     NAMES.set(Vec::new());
    ///     assert!(NAMES.take().is_empty());
    /// })
    /// .join()
    /// .unwrap();
    /// ```
    pub fn with_borrow<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.with(|c| f(&c.borrow()))
    }

    /// Calls `f` with a mutable borrow of the value.
    ///
    /// # Panics
    ///
    /// If the value is already borrowed.
    pub fn with_borrow_mut<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&mut T) -> R,
    {
        self.with(|c| f(&mut c.borrow_mut()))
    }

    /// Sets the value, without running the initialiser if this is the
    /// first access.
    ///
    /// # Panics
    ///
    /// If the value is borrowed.
    pub fn set(&'static self, value: T) {
        match self.existing() {
            // SAFETY: local.rs rule 3 (as in `with`).
            Some(p) => *unsafe { &*p }.borrow_mut() = value,
            None => {
                self.insert(RefCell::new(value));
            }
        }
    }

    /// Takes the value, leaving `T::default()`.
    ///
    /// # Panics
    ///
    /// If the value is borrowed.
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(RefCell::take)
    }

    /// Replaces the value, returning the old one.
    ///
    /// # Panics
    ///
    /// If the value is borrowed.
    pub fn replace(&'static self, value: T) -> T {
        self.with(|c| c.replace(value))
    }
}

/// Declares coroutine-local keys ([`CoroutineLocal`]), with
/// `thread_local!`'s syntax: each coroutine gets its own value, initialised
/// on first access and dropped when the coroutine ends. Use it instead of
/// `thread_local!` in coroutine code; on a plain thread it behaves like
/// `thread_local!`. The type must be `Send` (the value moves between worker
/// threads with its coroutine).
///
/// ```
/// use std::cell::{Cell, RefCell};
///
/// goro::coroutine_local! {
///     /// Requests handled by this coroutine.
///     static HANDLED: Cell<u64> = Cell::new(0);
///     pub static SCRATCH: RefCell<String> = RefCell::new(String::new());
/// }
///
/// let h = goro::go!(|| {
///     HANDLED.set(HANDLED.get() + 1);
///     SCRATCH.with_borrow_mut(|s| s.push_str("hi"));
///     (HANDLED.get(), SCRATCH.take())
/// });
/// assert_eq!(h.join().unwrap(), (1, "hi".to_string()));
/// ```
#[macro_export]
macro_rules! coroutine_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident : $t:ty = $init:expr; $($rest:tt)*) => {
        $crate::coroutine_local!($(#[$attr])* $vis static $name: $t = $init);
        $crate::coroutine_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident : $t:ty = $init:expr) => {
        $(#[$attr])*
        $vis static $name: $crate::CoroutineLocal<$t> = {
            fn __goro_local_init() -> $t {
                $init
            }
            $crate::CoroutineLocal::__new(__goro_local_init)
        };
    };
}
