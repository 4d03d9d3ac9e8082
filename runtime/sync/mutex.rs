//! `Mutex<T>`: Go's `sync.Mutex` algorithm, with the data it protects.
//!
//! Two modes, as in Go:
//!
//! * **Normal mode** (throughput). Lockers *barge*: a coroutine that finds
//!   the mutex free takes it, even if others sleep in the queue. The one
//!   coroutine at a time that an unlock wakes must compete with newcomers,
//!   which usually win because they are already running. That is why a
//!   coroutine looping `lock(); x += 1; unlock()` keeps re-taking the lock
//!   without a context switch, and why an unlock with sleepers usually costs
//!   one atomic (the `WOKEN` bit says "somebody is already coming").
//!   Before sleeping, a locker spins briefly, but only when that can pay:
//!   several workers exist, another one is running (the holder may be on
//!   it), and nothing else is queued on the spinner's own worker.
//! * **Starvation mode** (fairness). A woken waiter that has waited more than
//!   [`STARVATION_THRESHOLD`] (1 ms) and still loses switches the mutex to
//!   starvation mode: from then on every unlock hands the mutex *directly* to
//!   the longest waiter (the head of the queue; a woken waiter that loses is
//!   queued at the front, so it stays the longest), and newcomers queue at
//!   the back without trying. The unlocker yields so the new owner runs
//!   soon. A waiter that receives the mutex and has waited less than 1 ms,
//!   or is the last waiter, switches back to normal mode.
//!
//! # The state word
//!
//! One `AtomicU32`:
//!
//! | const      | bit(s) | meaning |
//! |------------|--------|---------|
//! | [`LOCKED`]   | 0      | held (in normal mode) |
//! | [`WOKEN`]    | 1      | a waiter was woken, or a spinner is about to take the lock: unlock need not wake anyone |
//! | [`STARVING`] | 2      | starvation mode: ownership is handed off, nobody barges |
//! | [`WAITER`] × n | 3..32 | `n` lockers sleeping, or committed to sleep, on `sema` |
//!
//! Transitions (everything else is unchanged):
//!
//! | from | by | to |
//! |------|----|----|
//! | `0` | `lock` fast path | `LOCKED` |
//! | `s`, `s & (LOCKED\|STARVING) == 0` | `lock` slow path (barging) | `s \| LOCKED`, minus `WOKEN` if the locker was woken/spinning |
//! | `s`, `s & (LOCKED\|STARVING) != 0` | `lock` slow path, about to sleep | `s + WAITER` (`\| STARVING` if it waited > 1 ms and `LOCKED`; minus `WOKEN` if it was the woken one) |
//! | `LOCKED \| n×WAITER`, `n > 0` | a locker spinning | `+ WOKEN` |
//! | `LOCKED \| s` | `unlock` | `s`; then, if `n > 0` and no `WOKEN`/`LOCKED`/`STARVING`: `s - WAITER + WOKEN` and release one `sema` permit |
//! | `LOCKED \| STARVING \| s` | `unlock` | `STARVING \| s` (still owned: not `LOCKED`, but nobody may take it) and release one `sema` permit to the head waiter |
//! | `STARVING \| n×WAITER` | the waiter that got the permit | `+ LOCKED - WAITER` (`- STARVING` too if it waited < 1 ms or `n == 1`) |
//!
//! # Access rules (cited by `// SAFETY:` comments)
//!
//! 1. **Ownership.** The data may be accessed by exactly one party: the one
//!    whose CAS set `LOCKED` from a state without `LOCKED` or `STARVING`, or
//!    the waiter that received a `sema` permit while `STARVING` was set
//!    (handoff). It owns it until it calls `unlock`, which a [`MutexGuard`]
//!    does exactly once, on drop. Every acquire is `Acquire` and every
//!    release `Release` on the state word (or goes through `sema`'s lock), so
//!    the previous owner's writes are visible.
//! 2. **Waiter accounting.** Every `WAITER` unit is matched by exactly one
//!    `sema.acquire` and, eventually, exactly one `sema.release`: the locker
//!    adds the unit *before* it sleeps, and the unit is removed by whoever
//!    releases the permit for it (normal-mode `unlock`) or by the waiter that
//!    was handed the mutex. So `sema` never holds a surplus permit.
//! 3. **One wake in flight.** In normal mode `unlock` releases a permit only
//!    while `WOKEN` is clear and sets it in the same CAS; the woken (or
//!    spinning) locker clears it. This bounds wake-ups to one per
//!    acquisition, the source of the mutex's throughput.
//!
//! # Poisoning
//!
//! None, as in Go (and `parking_lot`): if the holder panics, the guard's
//! destructor unlocks during unwinding and the next locker sees whatever
//! state the panicking code left. Code that must not expose half-updated
//! data should restore its invariants before anything that can panic, or
//! catch the panic itself.
//!
//! # Alternatives rejected
//!
//! * *Handoff on every unlock* (tokio's and may's mutexes, a fair lock):
//!   every contended acquisition costs a context switch, ~10× slower for a
//!   running coroutine that re-takes the lock in a loop.
//! * *Pure barging without the 1 ms rule* (`std`, `parking_lot` without
//!   eventual fairness): a waiter can starve behind a hot loop.
//! * *Poisoning like `std`*: Go's programs (and the book's examples) have no
//!   notion of it, and a coroutine panic is already reported through `join`.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use super::sema::Sema;
use crate::loom::sync::atomic::{AtomicU32, Ordering};

/// State bit: held (normal mode).
pub(crate) const LOCKED: u32 = 1;
/// State bit: a woken waiter or a spinner is about to take the lock; unlock
/// need not wake anyone (rule 3).
pub(crate) const WOKEN: u32 = 1 << 1;
/// State bit: starvation mode; ownership is handed off to the head waiter.
pub(crate) const STARVING: u32 = 1 << 2;
/// Shift of the waiter count.
pub(crate) const WAITER_SHIFT: u32 = 3;
/// One waiter in the count.
pub(crate) const WAITER: u32 = 1 << WAITER_SHIFT;
/// A waiter that waited longer than this switches to starvation mode.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) const STARVATION_THRESHOLD: std::time::Duration = std::time::Duration::from_millis(1);

/// Spins (each of [`SPIN_PAUSES`] pause instructions) before sleeping: Go's
/// `active_spin`.
#[cfg_attr(loom, allow(dead_code))]
const SPIN_ROUNDS: u32 = 4;
/// Pause instructions per spin round: Go's `active_spin_cnt`.
const SPIN_PAUSES: u32 = 30;

/// The lock without the data: Go's `sync.Mutex`. Used by [`Mutex`] and as
/// the writer lock of [`RwMutex`](super::RwMutex).
pub(crate) struct RawMutex {
    state: AtomicU32,
    sema: Sema,
}

impl RawMutex {
    maybe_const_fn! {
        /// Unlocked, no waiters.
        pub(crate) fn new() -> Self {
            RawMutex {
                state: AtomicU32::new(0),
                sema: Sema::new(0),
            }
        }
    }

    /// Takes the lock, parking (with `reason`) while others hold it.
    #[inline]
    pub(crate) fn lock(&self, reason: &'static str) {
        if self
            .state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow(reason);
        }
    }

    /// Takes the lock if nobody holds it and it is not being handed off.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let old = self.state.load(Ordering::Relaxed);
        old & (LOCKED | STARVING) == 0
            && self
                .state
                .compare_exchange(old, old | LOCKED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    #[cold]
    fn lock_slow(&self, reason: &'static str) {
        let mut wait_start: Option<clock::Stamp> = None;
        let mut starving = false;
        let mut awoke = false;
        let mut iter = 0;
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            // Spin only in normal mode while locked: in starvation mode the
            // lock goes to the head waiter, spinning cannot win it.
            if old & (LOCKED | STARVING) == LOCKED && spin::can_spin(iter) {
                // Tell unlock not to wake a sleeper: we are about to take it.
                if !awoke
                    && old & WOKEN == 0
                    && old >> WAITER_SHIFT != 0
                    && self
                        .state
                        .compare_exchange(old, old | WOKEN, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    awoke = true;
                }
                spin::pause(SPIN_PAUSES);
                iter += 1;
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            // Barge, unless ownership is being handed off.
            if old & STARVING == 0 {
                new |= LOCKED;
            }
            // We will sleep: count ourselves (rule 2).
            if old & (LOCKED | STARVING) != 0 {
                new += WAITER;
            }
            // Only switch to starvation mode if it is locked: unlock expects
            // a starving mutex to have waiters.
            if starving && old & LOCKED != 0 {
                new |= STARVING;
            }
            if awoke {
                // We were woken (or claimed WOKEN spinning): clear it either way.
                assert!(new & WOKEN != 0, "sync: inconsistent mutex state");
                new &= !WOKEN;
            }
            match self
                .state
                .compare_exchange(old, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    if old & (LOCKED | STARVING) == 0 {
                        return; // took it (rule 1)
                    }
                    // A waiter that already waited keeps its place at the front.
                    let lifo = wait_start.is_some();
                    let start = *wait_start.get_or_insert_with(clock::now);
                    self.sema.acquire(1, lifo, None, reason);
                    starving = starving || clock::waited_too_long(start);
                    old = self.state.load(Ordering::Acquire);
                    if old & STARVING != 0 {
                        // Handed off to us (rule 1): not LOCKED yet and we
                        // are still counted as a waiter. Fix both.
                        assert!(
                            old & (LOCKED | WOKEN) == 0 && old >> WAITER_SHIFT != 0,
                            "sync: inconsistent mutex state"
                        );
                        let mut delta = LOCKED.wrapping_sub(WAITER);
                        if !starving || old >> WAITER_SHIFT == 1 {
                            // Leave starvation mode: it is so slow that two
                            // lockers could otherwise stay in lock-step in it.
                            delta = delta.wrapping_sub(STARVING);
                        }
                        self.state.fetch_add(delta, Ordering::AcqRel);
                        return;
                    }
                    awoke = true;
                    iter = 0;
                }
                Err(cur) => old = cur,
            }
        }
    }

    /// Releases the lock.
    ///
    /// Only the owner calls this (rule 1; [`MutexGuard`] does it on drop).
    #[inline]
    pub(crate) fn unlock(&self) {
        let new = self
            .state
            .fetch_sub(LOCKED, Ordering::Release)
            .wrapping_sub(LOCKED);
        if new != 0 {
            self.unlock_slow(new);
        }
    }

    #[cold]
    fn unlock_slow(&self, new: u32) {
        assert!(
            new.wrapping_add(LOCKED) & LOCKED != 0,
            "sync: unlock of unlocked mutex"
        );
        if new & STARVING == 0 {
            let mut old = new;
            loop {
                // Nobody to wake, or someone already woken / spinning / has
                // taken the lock again, or (seen late) starvation mode, whose
                // handoff chain we are not part of: nothing to do (rule 3).
                if old >> WAITER_SHIFT == 0 || old & (LOCKED | WOKEN | STARVING) != 0 {
                    return;
                }
                // Take the right to wake one waiter, and its count (rule 2).
                let next = (old - WAITER) | WOKEN;
                match self
                    .state
                    .compare_exchange(old, next, Ordering::AcqRel, Ordering::Relaxed)
                {
                    Ok(_) => {
                        self.sema.release(1);
                        return;
                    }
                    Err(cur) => old = cur,
                }
            }
        } else {
            // Starvation mode: hand ownership to the head waiter (it fixes
            // the state word itself) and let it run soon.
            self.sema.release(1);
            spin::yield_after_handoff();
        }
    }

    /// Whether some party holds the lock (or it is being handed off).
    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & (LOCKED | STARVING) != 0
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }
}

/// Time since a waiter first slept. Under loom there is no clock: a
/// per-thread switch (see the models) decides whether waiters starve, so
/// each model explores one mode deterministically.
mod clock {
    #[cfg(not(loom))]
    pub(super) type Stamp = std::time::Instant;
    #[cfg(not(loom))]
    pub(super) fn now() -> Stamp {
        std::time::Instant::now()
    }
    #[cfg(not(loom))]
    pub(super) fn waited_too_long(start: Stamp) -> bool {
        start.elapsed() > super::STARVATION_THRESHOLD
    }

    #[cfg(loom)]
    #[derive(Clone, Copy)]
    pub(super) struct Stamp;
    #[cfg(loom)]
    std::thread_local! {
        /// Loom models run every model thread on the test's OS thread, so
        /// a std thread-local set before `loom::model` applies to all.
        pub(crate) static LOOM_STARVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    #[cfg(loom)]
    pub(super) fn now() -> Stamp {
        Stamp
    }
    #[cfg(loom)]
    pub(super) fn waited_too_long(_: Stamp) -> bool {
        LOOM_STARVE.with(|s| s.get())
    }
}

/// When spinning can pay, and the post-handoff yield.
mod spin {
    /// Go's `runtime_canSpin`: spin a few rounds, only on a multicore
    /// machine, and for a coroutine only if GOMAXPROCS > 1, some other
    /// worker is running (the holder may be on it: otherwise it cannot
    /// release while we spin), and nothing else is queued on our worker
    /// (it would be better to run that than to burn the time). A plain
    /// thread spins on any multicore machine.
    #[cfg(not(loom))]
    #[inline]
    pub(super) fn can_spin(iter: u32) -> bool {
        iter < super::SPIN_ROUNDS && crate::sched::spin_pays()
    }

    /// Under loom: one spin round, so the models cover the `WOKEN`-by-spinner
    /// path.
    #[cfg(loom)]
    pub(super) fn can_spin(iter: u32) -> bool {
        iter < 1
    }

    #[inline]
    pub(super) fn pause(n: u32) {
        for _ in 0..n {
            std::hint::spin_loop();
        }
        #[cfg(loom)]
        loom::thread::yield_now();
    }

    /// After a starvation-mode handoff, Go yields so the new owner runs at
    /// once instead of after whatever the unlocker does next. The woken
    /// coroutine is in this worker's `runnext`, so a yield runs it next.
    /// Threads do not yield (the new owner runs on its own thread).
    pub(super) fn yield_after_handoff() {
        #[cfg(not(loom))]
        if crate::sched::worker::current().is_some() {
            crate::yield_now();
        }
    }
}

/// A mutual-exclusion lock protecting a `T`, with Go's `sync.Mutex`
/// algorithm: a cheap uncontended path, barging for throughput, and a
/// direct handoff to the longest waiter once one has waited over 1 ms, so
/// nobody starves. (The state word, its transitions and the proofs are
/// documented in `runtime/sync/mutex.rs`.)
///
/// [`lock`](Self::lock) parks the calling coroutine (freeing its worker)
/// or blocks the calling thread; both kinds of callers can contend for one
/// mutex. The guard may be held across other blocking calls (channel
/// operations, [`Cond::wait`](super::Cond::wait)), unlike a `std` guard, and
/// the coroutine may resume on another thread with it.
///
/// Not reentrant: locking it again from the holder deadlocks. No poisoning:
/// a panic while holding the guard unlocks it (see the module docs).
///
/// ```
/// use goro::sync::{Mutex, WaitGroup};
///
/// static COUNTER: Mutex<u64> = Mutex::new(0);
/// goro::run(|| {
///     let wg = WaitGroup::new();
///     for _ in 0..100 {
///         wg.go(|| {
///             for _ in 0..100 {
///                 *COUNTER.lock() += 1;
///             }
///         });
///     }
///     wg.wait();
/// });
/// assert_eq!(*COUNTER.lock(), 10_000);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one party at a time (rule 1),
// so sharing it between threads is sharing the ability to *move* access to
// `T` between threads: `T: Send` is what that requires (as for std's Mutex).
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    maybe_const_fn! {
        /// An unlocked mutex holding `value`. `const`, so it can initialise
        /// a `static`.
        ///
        /// ```
        /// static M: goro::sync::Mutex<Vec<u32>> = goro::sync::Mutex::new(Vec::new());
        /// M.lock().push(1);
        /// ```
        pub fn new(value: T) -> Self {
            Mutex {
                raw: RawMutex::new(),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the mutex and returns the data.
    ///
    /// ```
    /// let m = goro::sync::Mutex::new(5);
    /// assert_eq!(m.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, parking the coroutine (or blocking the thread) until
    /// it is free. The wait is recorded as `"sync.Mutex.Lock"`. Unlocked
    /// when the guard drops.
    ///
    /// Deadlocks if the caller already holds it.
    ///
    /// ```
    /// let m = goro::sync::Mutex::new(0);
    /// *m.lock() += 1;
    /// assert_eq!(*m.lock(), 1);
    /// ```
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock("sync.Mutex.Lock");
        MutexGuard::new(self)
    }

    /// Locks the mutex if it is free right now (Go's `TryLock`); never
    /// waits. Returns `None` while it is held or being handed to a waiter.
    ///
    /// ```
    /// let m = goro::sync::Mutex::new(0);
    /// let g = m.lock();
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| MutexGuard::new(self))
    }

    /// Whether the mutex is held right now (a racy snapshot, for
    /// diagnostics).
    ///
    /// ```
    /// let m = goro::sync::Mutex::new(());
    /// let g = m.lock();
    /// assert!(m.is_locked());
    /// drop(g);
    /// assert!(!m.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// Mutable access without locking: `&mut self` proves nobody else can
    /// hold the lock.
    ///
    /// ```
    /// let mut m = goro::sync::Mutex::new(1);
    /// *m.get_mut() += 1;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    pub(crate) fn raw(&self) -> &RawMutex {
        &self.raw
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(v: T) -> Self {
        Mutex::new(v)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Access to the data of a locked [`Mutex`]; unlocks on drop (also when
/// unwinding from a panic).
///
/// Unlike `std`'s guard it may be held across blocking calls and may be
/// sent to another coroutine or thread (as Go allows unlocking from another
/// goroutine), when `T: Send`.
///
/// ```
/// let m = goro::sync::Mutex::new(String::from("go"));
/// let mut g = m.lock();
/// g.push_str("ro");
/// assert_eq!(&*g, "goro");
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// Gives the guard the auto traits of `&mut T` (Send iff `T: Send`,
    /// Sync iff `T: Sync`), combined with `&Mutex<T>`'s.
    _access: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    fn new(mutex: &'a Mutex<T>) -> Self {
        MutexGuard {
            mutex,
            _access: PhantomData,
        }
    }

    /// The mutex this guard locks (for [`Cond`](super::Cond)).
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: rule 1: the guard exists only while its holder owns the
        // lock, and it unlocks only when dropped.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: rule 1, and `&mut self` makes this the only access through
        // the guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.raw.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn state_bits_follow_the_table() {
        let m = Mutex::new(0);
        assert_eq!(m.raw.state(), 0);
        let g = m.lock();
        assert_eq!(m.raw.state(), LOCKED);
        assert!(m.try_lock().is_none());
        drop(g);
        assert_eq!(m.raw.state(), 0);
    }

    #[test]
    fn try_lock_refuses_a_starving_mutex() {
        let m = RawMutex::new();
        m.state.store(STARVING | WAITER, Ordering::Relaxed);
        assert!(!m.try_lock(), "ownership is being handed off");
    }

    #[test]
    fn panic_while_locked_unlocks() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let r = std::thread::spawn(move || {
            let mut g = m2.lock();
            *g = 2;
            panic!("boom");
        })
        .join();
        assert!(r.is_err());
        assert!(!m.is_locked());
        assert_eq!(*m.lock(), 2, "no poisoning: the write is visible");
    }

    #[test]
    #[should_panic(expected = "sync: unlock of unlocked mutex")]
    fn unlock_of_unlocked_panics() {
        RawMutex::new().unlock();
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Models: mutual exclusion (a non-atomic read-modify-write under the
    //! lock is never lost) and no lost wake-up (every locker returns), in
    //! normal mode and with every sleeper starving (handoff).
    use super::*;
    use crate::loom::sync::Arc;
    type Tracked<T> = loom::cell::UnsafeCell<T>;

    /// One locker per entry of `rounds` (the last one is the model's main
    /// thread), each taking the lock that many times around a split
    /// increment; with `starve`, every sleeper counts as having waited
    /// over 1 ms.
    fn contend(rounds: &'static [usize], starve: bool) {
        clock::LOOM_STARVE.with(|s| s.set(starve));
        crate::sync::loom_model(move || {
            let m = Arc::new(Mutex::new(Tracked::new(0usize)));
            let work = |m: &Mutex<Tracked<usize>>, n: usize| {
                for _ in 0..n {
                    let g = m.lock();
                    // Split read and write: a second holder would
                    // interleave here and lose an increment; and loom
                    // reports any access not ordered after the previous
                    // holder's.
                    // SAFETY: checked by loom (the model's purpose).
                    let v = g.with(|p| unsafe { *p });
                    loom::thread::yield_now();
                    // SAFETY: as above.
                    g.with_mut(|p| unsafe { *p = v + 1 });
                }
            };
            let (last, spawned) = rounds.split_last().unwrap();
            let hs: Vec<_> = spawned
                .iter()
                .map(|&n| {
                    let m = m.clone();
                    loom::thread::spawn(move || work(&m, n))
                })
                .collect();
            work(&m, *last);
            for h in hs {
                h.join().unwrap();
            }
            // SAFETY: as above.
            let total = m.lock().with(|p| unsafe { *p });
            assert_eq!(total, rounds.iter().sum::<usize>());
            assert_eq!(m.raw.state(), 0, "unlocked, no waiters, no flags");
        });
        clock::LOOM_STARVE.with(|s| s.set(false));
    }

    #[test]
    fn mutual_exclusion_normal_mode() {
        contend(&[2, 2], false);
    }

    #[test]
    fn mutual_exclusion_three_lockers() {
        contend(&[1, 1, 1], false);
    }

    #[test]
    fn mutual_exclusion_starvation_handoff() {
        contend(&[2, 2], true);
    }

    /// The handoff window: a locker re-takes the lock while a woken waiter
    /// loses and switches to starvation mode, and a newcomer arrives while
    /// the lock is being handed to that waiter (`LOCKED` clear, `STARVING`
    /// set): it must queue, not barge.
    #[test]
    fn newcomer_during_handoff_queues() {
        contend(&[2, 1, 1], true);
    }

    #[test]
    fn try_lock_never_breaks_exclusion() {
        crate::sync::loom_model(|| {
            let m = Arc::new(Mutex::new(Tracked::new(0usize)));
            let m2 = m.clone();
            let h = loom::thread::spawn(move || {
                if let Some(g) = m2.try_lock() {
                    // SAFETY: checked by loom (the model's purpose).
                    g.with_mut(|p| unsafe { *p += 1 });
                }
            });
            // SAFETY: as above.
            m.lock().with_mut(|p| unsafe { *p += 10 });
            h.join().unwrap();
            // SAFETY: as above.
            let v = m.lock().with(|p| unsafe { *p });
            assert!(v == 10 || v == 11);
        });
    }
}
