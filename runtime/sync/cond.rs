//! `Cond`: Go's `sync.Cond`, a rendezvous point for coroutines waiting for
//! or announcing an event, bound to a goro [`Mutex`](super::Mutex).
//!
//! Implemented like Go's runtime `notifyList`: tickets. A waiter takes a
//! ticket (and queues its unparker) *while it still holds the mutex*, then
//! unlocks and sleeps until `notify` has passed its ticket. `signal`
//! notifies the oldest ticket, `broadcast` all tickets taken so far. Because
//! the ticket is taken before the unlock, a `signal` issued after the
//! signaller took the mutex (the usual pattern: change the condition under
//! the mutex, then signal) always finds the waiter: no lost wake-up.
//!
//! # Words
//!
//! | field | meaning |
//! |-------|---------|
//! | `wait` | the next ticket to hand out |
//! | `notify` | tickets `< notify` have been notified |
//! | `queue` | the unparkers of tickets `notify..wait`, oldest first |
//!
//! # Access rules (the invariant the code relies on)
//!
//! 1. `wait`, `notify` and `queue` change only under the `queue` lock, and
//!    together: taking a ticket pushes one entry and bumps `wait`; a signal
//!    pops the front and bumps `notify`; a broadcast drains the queue and
//!    sets `notify = wait`. So the front entry always holds ticket
//!    `notify`, and wake order is FIFO.
//! 2. Waiters never leave the queue on their own (there is no timed wait),
//!    so rule 1 holds without searching.
//! 3. A waiter sleeps only through `waiter::park` with a validate callback
//!    that re-reads `notify` (`Acquire`, paired with the `Release` store of
//!    the notifier), so a notification between its unlock and its sleep
//!    is not lost.
//!
//! # Alternatives rejected
//!
//! * *A list of waiter flags without tickets*: needs each waiter to remove
//!   itself, and a signal racing with a waiter that has unlocked but not
//!   yet queued would need extra care; tickets make the order explicit.
//! * *Generic over any lock*: Go's `Cond` takes a `Locker`; in Rust the
//!   guard carries the lock, and binding to goro's `Mutex` keeps the API
//!   the familiar `std::sync::Condvar` shape.

use std::collections::VecDeque;
use std::fmt;

use goro_chan::waiter::{self, Unparker};

use super::mutex::{MutexGuard, RawMutex};
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A condition variable bound to a goro [`Mutex`](super::Mutex) (Go's
/// `sync.Cond`).
///
/// [`wait`](Self::wait) atomically unlocks the mutex and parks the
/// coroutine (or blocks the thread) until [`signal`](Self::signal) or
/// [`broadcast`](Self::broadcast), then locks the mutex again. Waiters are
/// woken in the order they started waiting. `wait` does not return
/// spuriously, but another party may have changed the condition between
/// the wake-up and the re-lock, so check it in a loop (or use
/// [`wait_while`](Self::wait_while)).
///
/// A `Cond` must be used with one mutex only; waiting with a second one
/// panics. `signal` and `broadcast` may be called with or without the mutex
/// held.
///
/// ```
/// use goro::sync::{Cond, Mutex};
/// use std::sync::Arc;
///
/// let pair = Arc::new((Mutex::new(false), Cond::new()));
/// goro::run(move || {
///     let p = pair.clone();
///     goro::go!(move || {
///         *p.0.lock() = true;
///         p.1.signal();
///     });
///     let (m, c) = &*pair;
///     let ready = c.wait_while(m.lock(), |ready| !*ready);
///     assert!(*ready);
/// });
/// ```
pub struct Cond {
    wait: AtomicU64,
    notify: AtomicU64,
    queue: Mutex<VecDeque<Unparker>>,
    /// Address of the `RawMutex` this `Cond` is bound to; 0 until the
    /// first wait.
    bound: AtomicUsize,
}

impl Cond {
    maybe_const_fn! {
        /// A condition variable nobody waits on; `const`. It binds to the
        /// mutex of its first [`wait`](Self::wait).
        ///
        /// ```
        /// static READY: goro::sync::Cond = goro::sync::Cond::new();
        /// READY.broadcast(); // nobody waits: nothing happens
        /// ```
        pub fn new() -> Self {
            Cond {
                wait: AtomicU64::new(0),
                notify: AtomicU64::new(0),
                queue: Mutex::new(VecDeque::new()),
                bound: AtomicUsize::new(0),
            }
        }
    }

    fn queue(&self) -> crate::loom::sync::MutexGuard<'_, VecDeque<Unparker>> {
        // Nothing under this lock can panic halfway: poison is harmless.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bind(&self, raw: &RawMutex) {
        let addr = raw as *const RawMutex as usize;
        if let Err(other) =
            self.bound
                .compare_exchange(0, addr, Ordering::Relaxed, Ordering::Relaxed)
        {
            assert!(other == addr, "sync: Cond used with two different Mutexes");
        }
    }

    /// Unlocks the mutex `guard` holds, parks until notified (recorded as
    /// `"sync.Cond.Wait"`), and returns the guard after locking the mutex
    /// again.
    ///
    /// # Panics
    ///
    /// If this `Cond` was used with a different mutex before.
    ///
    /// ```
    /// use goro::sync::{Cond, Mutex};
    /// use std::sync::Arc;
    ///
    /// let s = Arc::new((Mutex::new(0), Cond::new()));
    /// let s2 = s.clone();
    /// let h = goro::go!(move || {
    ///     let mut g = s2.0.lock();
    ///     while *g == 0 {
    ///         g = s2.1.wait(g);
    ///     }
    ///     *g
    /// });
    /// *s.0.lock() = 7;
    /// s.1.broadcast();
    /// assert_eq!(h.join().unwrap(), 7);
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = guard.mutex();
        self.bind(mutex.raw());
        let me = waiter::current();
        // Rule 1: take a ticket and queue, still holding the mutex.
        let ticket = {
            let mut q = self.queue();
            let t = self.wait.load(Ordering::Relaxed);
            self.wait.store(t + 1, Ordering::Release);
            q.push_back(me);
            t
        };
        drop(guard);
        // Rule 3.
        while self.notify.load(Ordering::Acquire) <= ticket {
            waiter::park("sync.Cond.Wait", None, || {
                self.notify.load(Ordering::Acquire) <= ticket
            });
        }
        mutex.lock()
    }

    /// Waits while `condition` holds: checks it under the lock, and waits
    /// again after each wake-up until it is false. Returns the guard with
    /// the condition false.
    ///
    /// ```
    /// use goro::sync::{Cond, Mutex};
    /// use std::sync::Arc;
    ///
    /// let s = Arc::new((Mutex::new(Vec::<u32>::new()), Cond::new()));
    /// let s2 = s.clone();
    /// goro::go!(move || {
    ///     s2.0.lock().push(1);
    ///     s2.1.signal();
    /// });
    /// let q = s.1.wait_while(s.0.lock(), |q| q.is_empty());
    /// assert_eq!(*q, [1]);
    /// ```
    pub fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut *guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// Wakes the longest-waiting coroutine or thread, if any (Go's
    /// `Signal`). One atomic load when nobody waits.
    ///
    /// ```
    /// goro::sync::Cond::new().signal(); // no waiter: no effect
    /// ```
    pub fn signal(&self) {
        if self.wait.load(Ordering::Acquire) == self.notify.load(Ordering::Acquire) {
            return;
        }
        let woken = {
            let mut q = self.queue();
            let t = self.notify.load(Ordering::Relaxed);
            if t == self.wait.load(Ordering::Relaxed) {
                return;
            }
            // Rule 1: the front holds ticket `t`.
            self.notify.store(t + 1, Ordering::Release);
            q.pop_front().expect("sync: Cond queue lost a waiter")
        };
        woken.unpark_into();
    }

    /// Wakes every coroutine and thread waiting now (Go's `Broadcast`).
    /// Those that start waiting afterwards wait for the next notification.
    ///
    /// ```
    /// goro::sync::Cond::new().broadcast(); // no waiter: no effect
    /// ```
    pub fn broadcast(&self) {
        if self.wait.load(Ordering::Acquire) == self.notify.load(Ordering::Acquire) {
            return;
        }
        let woken = {
            let mut q = self.queue();
            self.notify
                .store(self.wait.load(Ordering::Relaxed), Ordering::Release);
            std::mem::take(&mut *q)
        };
        for w in woken {
            w.unpark_into();
        }
    }

    /// How many parties are waiting (a snapshot, for diagnostics and tests).
    ///
    /// ```
    /// assert_eq!(goro::sync::Cond::new().waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        let w = self.wait.load(Ordering::Acquire);
        (w - self.notify.load(Ordering::Acquire).min(w)) as usize
    }
}

impl Default for Cond {
    fn default() -> Self {
        Cond::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cond")
            .field("waiters", &self.waiters())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::Mutex;

    #[test]
    #[should_panic(expected = "sync: Cond used with two different Mutexes")]
    fn second_mutex_panics() {
        let c = Cond::new();
        let (a, b) = (Mutex::new(()), Mutex::new(()));
        c.bind(a.raw());
        c.bind(a.raw());
        c.bind(b.raw());
    }

    #[test]
    fn tickets_stay_in_step_with_the_queue() {
        let c = std::sync::Arc::new(Cond::new());
        let m = std::sync::Arc::new(Mutex::new(0));
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let (c, m) = (c.clone(), m.clone());
                std::thread::spawn(move || {
                    let g = c.wait_while(m.lock(), |v| *v == 0);
                    *g
                })
            })
            .collect();
        while c.waiters() < 3 {
            std::thread::yield_now();
        }
        assert_eq!(c.queue().len(), 3);
        *m.lock() = 1;
        c.signal();
        c.broadcast();
        for h in hs {
            assert_eq!(h.join().unwrap(), 1);
        }
        assert_eq!(c.waiters(), 0);
        assert!(c.queue().is_empty());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::sync::Arc;
    use crate::sync::Mutex;

    /// A waiter checks a flag under the mutex and waits; a signaller sets
    /// it under the mutex and signals. The waiter always finishes.
    #[test]
    fn signal_is_not_lost() {
        crate::sync::loom_model(|| {
            let s = Arc::new((Mutex::new(false), Cond::new()));
            let s2 = s.clone();
            let h = loom::thread::spawn(move || {
                let g = s2.1.wait_while(s2.0.lock(), |f| !*f);
                assert!(*g);
            });
            *s.0.lock() = true;
            s.1.signal();
            h.join().unwrap();
        });
    }

    /// Two waiters, one broadcast: both finish.
    #[test]
    fn broadcast_reaches_everyone() {
        crate::sync::loom_model(|| {
            let s = Arc::new((Mutex::new(false), Cond::new()));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let s = s.clone();
                    loom::thread::spawn(move || {
                        drop(s.1.wait_while(s.0.lock(), |f| !*f));
                    })
                })
                .collect();
            *s.0.lock() = true;
            s.1.broadcast();
            for h in hs {
                h.join().unwrap();
            }
        });
    }
}
