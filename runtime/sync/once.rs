//! `Once` (Go's `sync.Once`) and `OnceCell<T>` (Go's `sync.OnceValue`, the
//! shape of `std::sync::OnceLock`): run an initialiser exactly once;
//! concurrent callers park until it has finished.
//!
//! Both share `RawOnce`, a state word plus a list of sleepers. The fast
//! path after completion is a single `Acquire` load. The first caller moves
//! the word to `RUNNING` and runs the function; others set `QUEUED`, put
//! their unparker in the list and park; the runner's finish guard swaps the
//! final state in and, only if `QUEUED` was set, wakes the list.
//!
//! # The state word
//!
//! | const        | value | meaning |
//! |--------------|-------|---------|
//! | [`INCOMPLETE`] | 0 | nobody has run (or a failed run was undone) |
//! | [`RUNNING`]    | 1 | a caller is running the function |
//! | [`QUEUED`]     | 4 | with `RUNNING`: somebody sleeps in the list |
//! | [`COMPLETE`]   | 2 | done; never changes again |
//!
//! | from | by | to |
//! |------|----|----|
//! | `INCOMPLETE` | a caller wins the CAS | `RUNNING` |
//! | `RUNNING` | a second caller, before sleeping | `RUNNING \| QUEUED` |
//! | `RUNNING[\|QUEUED]` | the function returned (or, for `Once`, panicked) | `COMPLETE`, waking the list if `QUEUED` |
//! | `RUNNING[\|QUEUED]` | `OnceCell`: the function panicked or returned `Err` | `INCOMPLETE`, waking the list (one of them retries) |
//!
//! # Access rules
//!
//! 1. **One runner.** Only the caller whose CAS moved `INCOMPLETE →
//!    RUNNING` runs the function; for `OnceCell` only it stores the value.
//! 2. **Publish, then wake.** The runner swaps the final state in (`AcqRel`)
//!    *before* taking the list lock; a sleeper checks the state *under* that
//!    lock before it lists itself (in its park validate callback). So a
//!    sleeper either sees the final state and does not sleep, or is in the
//!    list when the runner drains it: no lost wake-up.
//! 3. **Visibility.** `COMPLETE` is stored with `Release` and the fast path
//!    loads it with `Acquire`: everything the function wrote is visible to
//!    every caller that returns.
//!
//! # Panics
//!
//! `Once` follows Go: if the function panics, the `Once` still counts as
//! done (the panic propagates to the caller that ran it; the others
//! return, and later calls do nothing). `OnceCell` follows `std`: a panic
//! leaves the cell empty and the next caller (possibly a woken sleeper)
//! runs its own initialiser.
//!
//! # Alternatives rejected
//!
//! * *Go's implementation* (an atomic flag plus a `sync.Mutex`): sleepers
//!   would wake one at a time through the mutex; the list wakes them all at
//!   once and needs no mutex on the fast path either.
//! * *`std::sync::Once`*: blocks the worker thread of every waiting
//!   coroutine.
//! * *Storing `OnceCell`'s value in a hand-rolled `MaybeUninit`*: a
//!   `std::sync::OnceLock` that only the runner ever sets (so it never
//!   blocks) gives the same fast path with no `unsafe`.

use std::fmt;
use std::sync::OnceLock;

use goro_chan::waiter::{self, Unparker};

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicU32, Ordering};

/// Nobody has run the function (or a failed `OnceCell` run was undone).
pub(crate) const INCOMPLETE: u32 = 0;
/// A caller is running the function.
pub(crate) const RUNNING: u32 = 1;
/// The function has run; final.
pub(crate) const COMPLETE: u32 = 2;
/// With `RUNNING`: sleepers are (or are about to be) in the list.
pub(crate) const QUEUED: u32 = 4;

/// The once state machine shared by [`Once`] and [`OnceCell`].
pub(crate) struct RawOnce {
    state: AtomicU32,
    sleepers: Mutex<Vec<Unparker>>,
}

/// Restores the state when the runner finishes, panics included (rule 2).
struct Finish<'a> {
    once: &'a RawOnce,
    to: u32,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let prev = self.once.state.swap(self.to, Ordering::AcqRel);
        if prev & QUEUED != 0 {
            let sleepers = std::mem::take(&mut *self.once.list());
            for s in sleepers {
                s.unpark_into();
            }
        }
    }
}

impl RawOnce {
    maybe_const_fn! {
        pub(crate) fn new() -> Self {
            RawOnce {
                state: AtomicU32::new(INCOMPLETE),
                sleepers: Mutex::new(Vec::new()),
            }
        }
    }

    fn list(&self) -> crate::loom::sync::MutexGuard<'_, Vec<Unparker>> {
        // Nothing under this lock can panic halfway: poison is harmless.
        self.sleepers.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[inline]
    pub(crate) fn is_completed(&self) -> bool {
        self.state.load(Ordering::Acquire) == COMPLETE
    }

    /// Runs `f` if nobody has completed yet, or waits for whoever is
    /// running it. `f` returns `true` on success; `false` (or a panic, when
    /// `panic_completes` is false) undoes the run so a later caller retries.
    #[cold]
    pub(crate) fn call(&self, f: &mut dyn FnMut() -> bool, panic_completes: bool) {
        let mut state = self.state.load(Ordering::Acquire);
        let mut listed = false;
        loop {
            match state {
                COMPLETE => return,
                INCOMPLETE => {
                    if let Err(s) = self.state.compare_exchange(
                        INCOMPLETE,
                        RUNNING,
                        Ordering::Acquire,
                        Ordering::Acquire,
                    ) {
                        state = s;
                        continue;
                    }
                    // Rule 1: we run it.
                    let mut finish = Finish {
                        once: self,
                        to: if panic_completes {
                            COMPLETE
                        } else {
                            INCOMPLETE
                        },
                    };
                    finish.to = if f() { COMPLETE } else { INCOMPLETE };
                    return;
                }
                _ => {
                    if state & QUEUED == 0
                        && let Err(s) = self.state.compare_exchange(
                            state,
                            state | QUEUED,
                            Ordering::Relaxed,
                            Ordering::Acquire,
                        )
                    {
                        state = s;
                        continue;
                    }
                    self.sleep(&mut listed);
                    state = self.state.load(Ordering::Acquire);
                }
            }
        }
    }

    fn sleep(&self, listed: &mut bool) {
        let me = waiter::current();
        waiter::park("sync.Once", None, || {
            let mut list = self.list();
            // Rule 2: checked under the list lock.
            if self.state.load(Ordering::Acquire) != RUNNING | QUEUED {
                return false;
            }
            // After a spurious return we may still be listed; only then
            // scan, so the common path stays O(1).
            if !*listed || !list.iter().any(|u| u.same_party(&me)) {
                list.push(me);
            }
            *listed = true;
            true
        });
    }
}

/// Runs a function exactly once (Go's `sync.Once`).
///
/// The first [`call_once`](Self::call_once) runs its function; callers that
/// arrive while it runs park until it finishes; later callers return after
/// one atomic load. If the function panics, the `Once` still counts as done
/// (Go's rule; see the module docs). Calling `call_once` on the same `Once`
/// from inside the function deadlocks, as in Go.
///
/// ```
/// use goro::sync::{Once, WaitGroup};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static INIT: Once = Once::new();
/// static RUNS: AtomicUsize = AtomicUsize::new(0);
/// goro::run(|| {
///     let wg = WaitGroup::new();
///     for _ in 0..100 {
///         wg.go(|| INIT.call_once(|| { RUNS.fetch_add(1, Ordering::Relaxed); }));
///     }
///     wg.wait();
/// });
/// assert_eq!(RUNS.load(Ordering::Relaxed), 1);
/// ```
pub struct Once {
    raw: RawOnce,
}

impl Once {
    maybe_const_fn! {
        /// A `Once` that has not run; `const`.
        ///
        /// ```
        /// static O: goro::sync::Once = goro::sync::Once::new();
        /// assert!(!O.is_completed());
        /// ```
        pub fn new() -> Self {
            Once { raw: RawOnce::new() }
        }
    }

    /// Runs `f` if no call has run a function yet; otherwise waits (parks,
    /// recorded as `"sync.Once"`) until the running call finishes, or
    /// returns at once if it has. Every caller that returns sees all `f`
    /// wrote.
    ///
    /// ```
    /// let once = goro::sync::Once::new();
    /// let mut n = 0;
    /// once.call_once(|| n += 1);
    /// once.call_once(|| n += 1);
    /// assert_eq!(n, 1);
    /// ```
    #[inline]
    pub fn call_once(&self, f: impl FnOnce()) {
        if self.raw.is_completed() {
            return;
        }
        let mut f = Some(f);
        self.raw.call(
            &mut || {
                if let Some(f) = f.take() {
                    f();
                }
                true
            },
            true,
        );
    }

    /// Whether a function has run to completion (or panicked).
    ///
    /// ```
    /// let once = goro::sync::Once::new();
    /// once.call_once(|| {});
    /// assert!(once.is_completed());
    /// ```
    pub fn is_completed(&self) -> bool {
        self.raw.is_completed()
    }
}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("completed", &self.is_completed())
            .finish()
    }
}

/// A value initialised exactly once, on first use (Go's `sync.OnceValue`;
/// the shape of `std::sync::OnceLock`, but concurrent initialisers park
/// the coroutine instead of blocking its worker).
///
/// [`get_or_init`](Self::get_or_init) runs the first caller's initialiser;
/// the others park until it has stored the value and then share it. If the
/// initialiser panics (or, with [`get_or_try_init`](Self::get_or_try_init),
/// fails), the cell stays empty and the next caller tries its own.
///
/// ```
/// use goro::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::new();
/// let c = goro::go!(|| CONFIG.get_or_init(|| "loaded".to_string()).len());
/// assert_eq!(c.join().unwrap(), 6);
/// assert_eq!(CONFIG.get().map(String::as_str), Some("loaded"));
/// ```
pub struct OnceCell<T> {
    raw: RawOnce,
    /// Set only by the `raw` runner (rule 1), so it never blocks.
    value: OnceLock<T>,
}

impl<T> OnceCell<T> {
    maybe_const_fn! {
        /// An empty cell; `const`.
        ///
        /// ```
        /// let c: goro::sync::OnceCell<u8> = goro::sync::OnceCell::new();
        /// assert!(c.get().is_none());
        /// ```
        pub fn new() -> Self {
            OnceCell {
                raw: RawOnce::new(),
                value: OnceLock::new(),
            }
        }
    }

    /// The value, if initialised: one atomic load.
    ///
    /// ```
    /// let c = goro::sync::OnceCell::new();
    /// assert_eq!(c.get(), None);
    /// c.get_or_init(|| 3);
    /// assert_eq!(c.get(), Some(&3));
    /// ```
    #[inline]
    pub fn get(&self) -> Option<&T> {
        // Under loom, read the state word too: `OnceLock` is invisible to
        // the model checker, which would otherwise not see this read race
        // with the runner and would explore no interleaving at all.
        #[cfg(loom)]
        if !self.raw.is_completed() {
            return None;
        }
        self.value.get()
    }

    /// The value, initialising it with `f` if nobody has. Callers that
    /// arrive while another initialises park until it is done (recorded as
    /// `"sync.Once"`). If `f` panics the panic propagates and the cell
    /// stays empty.
    ///
    /// ```
    /// let c = goro::sync::OnceCell::new();
    /// assert_eq!(*c.get_or_init(|| 1), 1);
    /// assert_eq!(*c.get_or_init(|| 2), 1);
    /// ```
    #[inline]
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        if let Some(v) = self.get() {
            return v;
        }
        let mut f = Some(f);
        self.raw.call(
            &mut || {
                if let Some(f) = f.take() {
                    let _ = self.value.set(f());
                }
                true
            },
            false,
        );
        self.value
            .get()
            .expect("sync: OnceCell completed without a value")
    }

    /// Like [`get_or_init`](Self::get_or_init) with a fallible initialiser:
    /// an `Err` is returned to this caller and leaves the cell empty, so
    /// the next caller tries again.
    ///
    /// ```
    /// let c = goro::sync::OnceCell::new();
    /// assert_eq!(c.get_or_try_init(|| Err::<u8, _>("offline")), Err("offline"));
    /// assert_eq!(c.get_or_try_init(|| Ok::<_, &str>(5)), Ok(&5));
    /// ```
    pub fn get_or_try_init<E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<&T, E> {
        if let Some(v) = self.get() {
            return Ok(v);
        }
        let mut f = Some(f);
        let mut err = None;
        self.raw.call(
            &mut || match f.take().map(|f| f()) {
                Some(Ok(v)) => {
                    let _ = self.value.set(v);
                    true
                }
                Some(Err(e)) => {
                    err = Some(e);
                    false
                }
                None => true,
            },
            false,
        );
        match err {
            Some(e) => Err(e),
            None => Ok(self
                .value
                .get()
                .expect("sync: OnceCell completed without a value")),
        }
    }

    /// Stores `value` if the cell is empty (waiting for a running
    /// initialiser first); otherwise gives it back.
    ///
    /// ```
    /// let c = goro::sync::OnceCell::new();
    /// assert_eq!(c.set(1), Ok(()));
    /// assert_eq!(c.set(2), Err(2));
    /// ```
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        if !self.raw.is_completed() {
            self.raw.call(
                &mut || {
                    if let Some(v) = value.take() {
                        let _ = self.value.set(v);
                    }
                    true
                },
                false,
            );
        }
        match value {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }

    /// Mutable access to the value, if initialised.
    ///
    /// ```
    /// let mut c = goro::sync::OnceCell::from(1);
    /// *c.get_mut().unwrap() += 1;
    /// assert_eq!(c.get(), Some(&2));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.get_mut()
    }

    /// Takes the value out, leaving the cell empty and ready to be
    /// initialised again.
    ///
    /// ```
    /// let mut c = goro::sync::OnceCell::from("a");
    /// assert_eq!(c.take(), Some("a"));
    /// assert_eq!(*c.get_or_init(|| "b"), "b");
    /// ```
    pub fn take(&mut self) -> Option<T> {
        let v = self.value.take();
        self.raw = RawOnce::new();
        v
    }

    /// Consumes the cell and returns the value, if initialised.
    ///
    /// ```
    /// assert_eq!(goro::sync::OnceCell::from(4).into_inner(), Some(4));
    /// ```
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(v: T) -> Self {
        let c = OnceCell::new();
        let _ = c.set(v);
        c
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("OnceCell");
        match self.get() {
            Some(v) => d.field(v),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn once_panic_counts_as_done() {
        let once = Once::new();
        let r = std::panic::catch_unwind(|| once.call_once(|| panic!("init failed")));
        assert!(r.is_err());
        assert!(once.is_completed());
        let mut ran = false;
        once.call_once(|| ran = true);
        assert!(
            !ran,
            "Go's rule: a panicking function still completes the Once"
        );
    }

    #[test]
    fn cell_panic_leaves_it_empty() {
        let c = OnceCell::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            c.get_or_init(|| -> u8 { panic!("init failed") })
        }));
        assert!(r.is_err());
        assert_eq!(c.raw.state.load(Ordering::Relaxed), INCOMPLETE);
        assert_eq!(*c.get_or_init(|| 9), 9);
        assert_eq!(c.raw.state.load(Ordering::Relaxed), COMPLETE);
    }

    #[test]
    fn set_waits_and_reports() {
        let c = OnceCell::new();
        assert_eq!(c.set(1), Ok(()));
        assert_eq!(c.set(2), Err(2));
        assert_eq!(c.get_or_try_init(|| Err::<i32, ()>(())), Ok(&1));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Models for the state word: exactly one run, every caller returns
    //! (no lost wake-up) and sees the run's writes; a failed run is retried.
    use super::*;
    use crate::loom::sync::Arc;
    use crate::loom::sync::atomic::AtomicUsize;

    #[test]
    fn runs_exactly_once_and_publishes() {
        crate::sync::loom_model(|| {
            let once = Arc::new(Once::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..3)
                .map(|_| {
                    let (once, runs) = (once.clone(), runs.clone());
                    loom::thread::spawn(move || {
                        once.call_once(|| {
                            runs.fetch_add(1, Ordering::Relaxed);
                        });
                        // Rule 3: the run's write is visible to every
                        // caller that returned.
                        assert_eq!(runs.load(Ordering::Relaxed), 1);
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert!(once.is_completed());
        });
    }

    #[test]
    fn failed_init_is_retried_by_a_sleeper() {
        crate::sync::loom_model(|| {
            let cell = Arc::new(OnceCell::<usize>::new());
            let c2 = cell.clone();
            let failer = loom::thread::spawn(move || {
                let r = c2.get_or_try_init(|| {
                    loom::thread::yield_now(); // the run takes a while
                    Err::<usize, ()>(())
                });
                // Either it ran (and failed), or the other initialised first.
                assert!(r.is_err() || r == Ok(&7));
            });
            assert_eq!(cell.get_or_try_init(|| Ok::<_, ()>(7)), Ok(&7));
            failer.join().unwrap();
            assert_eq!(cell.get(), Some(&7));
            assert_eq!(cell.raw.state.load(Ordering::Relaxed), COMPLETE);
        });
    }
}
