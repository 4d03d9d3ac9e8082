//! `Sema`: the one weighted FIFO wait queue of the `sync` package. The
//! mutexes sleep on it as on Go's `runtime.sema` (`semacquire` /
//! `semrelease`, one unit at a time), and the public
//! [`Semaphore`](super::Semaphore) is a thin wrapper over it (Go's
//! `x/sync/semaphore.Weighted`).
//!
//! A count of available units and a queue of sleepers, each asking for a
//! weight, behind one short internal lock (a `std` mutex, never held across
//! a park or while waking anyone). [`Sema::acquire`] takes the units if
//! nobody is queued ahead and they are there, otherwise queues a
//! [`Waiter`] (at the back, or at the *front* for a mutex waiter that has
//! already waited once: Go's `queueLifo`) and parks until it is granted or
//! its deadline passes. [`Sema::release`] adds units and grants them
//! *directly* to the waiters at the front, in order, while the front one's
//! weight fits, waking each one with the lock released.
//!
//! # Invariants and access rules
//!
//! 1. **FIFO, no barging.** An acquirer takes units itself only if no
//!    waiter would be served before it: the queue is empty, or it queues at
//!    the front (`lifo`). A grant serves the front while its weight fits and
//!    stops at the first that does not, even if a later, smaller waiter
//!    would fit: a large request is not starved by a stream of small ones.
//! 2. **Grant once.** A waiter's `granted` flag goes `false → true` exactly
//!    once, under the lock, by whoever popped it from the queue and
//!    subtracted its weight from `avail`. A popped waiter is never queued
//!    again, so a granted waiter owns exactly its weight.
//! 3. **Whoever makes the front fit serves it.** At rest the front waiter
//!    (if any) asks for more than `avail` (for unit weights: units are
//!    banked only while nobody waits). A change that can make it fit (a
//!    release, a front waiter leaving) grants the front, unlocks, wakes it,
//!    and takes the lock again only if the next front fits too, until one
//!    does not (`grant_and_wake`). So the front fits only while that party
//!    is still at work, and a release of zero units, which changes nothing,
//!    skips the lock.
//! 4. **Register, then validate.** A waiter is queued before it parks, and
//!    its validate callback re-reads `granted`: either it sees the grant and
//!    does not sleep, or the unpark (issued after the grant) finds it marked
//!    waiting or leaves a token (`goro::waiter` protocol).
//! 5. **Timeouts.** A waiter whose deadline passes takes the lock: if it was
//!    granted meanwhile it keeps the units; otherwise it removes itself, and
//!    if it was the front it re-runs the grant (rule 3), so the waiters
//!    behind it are not stuck behind a departed big request.
//!
//! The mutex and rwmutex never release more than they acquired (their
//! state words count waiters for that); the `Semaphore` releases through
//! `release_within(n, size)`, which panics before changing anything if the
//! units would exceed its size.
//!
//! # Alternatives rejected
//!
//! * *Two queues, a unit one for the mutexes and a weighted one for
//!   `Semaphore`* (what this file replaced): the same grant loop, register /
//!   validate dance and lock-poison handling written twice. With unit
//!   weights the weighted grant does what the unit one did
//!   (`docs/benchmarks.md`, "One wait queue under sync").
//! * *Granting every fitting waiter in one critical section and waking
//!   them from a list afterwards* (what both old queues did): a `Vec`
//!   allocation whenever two or more fit (every write unlock with readers
//!   waiting), and more instructions per single grant than popping one and
//!   peeking at the next. Go's `RWMutex.Unlock` also releases its readers
//!   one `semrelease` (one lock round trip) at a time.
//! * *Go's competitive wake-up* (the woken waiter re-tries the count and may
//!   lose it to a newcomer): the direct grant is simpler, needs no re-queue
//!   path, and is what Go does in its handoff mode anyway. The mutex's own
//!   state word already provides barging where it matters.
//! * *A lock-free counter with the queue on the side* (tokio's semaphore):
//!   faster uncontended, but weighted FIFO grants with timeouts need the
//!   queue lock anyway (x/sync uses a mutex for the same reason), and the
//!   mutexes only come here after their own atomic fast path failed.
//! * *An intrusive list of waiters on their stacks*: saves one small
//!   allocation per sleep, at the price of `unsafe` pointer juggling. A
//!   sleep costs a context switch (~100 ns) either way.
//! * *A single global table of queues keyed by address* (Go's `semtable`):
//!   keeps each `Mutex` to one word in Go, where it matters for the zero
//!   value; a Rust `Mutex<T>` can afford its own queue head.

use std::collections::VecDeque;
use std::time::Instant;

use goro_chan::waiter::{self, Unparker};

use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::{Arc, Mutex, MutexGuard};

/// One sleeper.
struct Waiter {
    /// The units it asks for.
    n: usize,
    /// Set once by whoever popped this waiter and took its units (rule 2).
    granted: AtomicBool,
    who: Unparker,
}

struct Queue {
    /// Units nobody holds.
    avail: usize,
    /// Oldest first (except `lifo` waiters, which go first).
    waiters: VecDeque<Arc<Waiter>>,
}

impl Queue {
    /// Grants the front waiter if its weight fits (rules 1 and 2): pops it,
    /// takes its units and sets its flag. Also says whether the next front
    /// fits too (rule 3). The caller wakes the waiter after unlocking.
    #[inline(always)]
    fn grant_front(&mut self) -> Option<(Arc<Waiter>, bool)> {
        if self.waiters.front()?.n > self.avail {
            return None;
        }
        let w = self.waiters.pop_front()?;
        self.avail -= w.n;
        w.granted.store(true, Ordering::Release);
        let more = self.waiters.front().is_some_and(|f| f.n <= self.avail);
        Some((w, more))
    }
}

/// A weighted FIFO semaphore that parks coroutines (or blocks threads).
///
/// No field beyond the queue: a `Mutex<T>` carries one and a `RwMutex<T>`
/// three, next to their hot state words (a bound for
/// [`release_within`](Self::release_within) is the caller's to keep).
pub(crate) struct Sema {
    q: Mutex<Queue>,
}

impl Sema {
    maybe_const_fn! {
        /// `avail` units available; nobody waiting.
        pub(crate) fn new(avail: usize) -> Self {
            Sema {
                q: Mutex::new(Queue {
                    avail,
                    waiters: VecDeque::new(),
                }),
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue is consistent at every point a critical section can
        // panic (the release check panics before mutating; a push may abort
        // on OOM, not unwind halfway), so a poisoned lock is still usable.
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `n` units if no waiter would be served first (rule 1); never
    /// waits.
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        let mut q = self.lock();
        if q.waiters.is_empty() && q.avail >= n {
            q.avail -= n;
            true
        } else {
            false
        }
    }

    /// Takes `n` units, sleeping until a release grants them if they are
    /// not available or others are queued. `lifo` queues at the front (a
    /// mutex waiter that has already waited once keeps its place as the
    /// longest waiter). Gives up when `deadline` passes: returns whether
    /// the units were taken. `reason` is recorded on the parked coroutine.
    pub(crate) fn acquire(
        &self,
        n: usize,
        lifo: bool,
        deadline: Option<Instant>,
        reason: &'static str,
    ) -> bool {
        let me = {
            let mut q = self.lock();
            // Fast path, no waiter and no unparker. Rule 1: nobody is
            // served before us (a `lifo` waiter would be the front).
            if q.avail >= n && (lifo || q.waiters.is_empty()) {
                q.avail -= n;
                return true;
            }
            let me = Arc::new(Waiter {
                n,
                granted: AtomicBool::new(false),
                who: waiter::current(),
            });
            if lifo {
                q.waiters.push_front(me.clone());
            } else {
                q.waiters.push_back(me.clone());
            }
            me
        };
        loop {
            if me.granted.load(Ordering::Acquire) {
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return self.give_up(&me);
            }
            // Rule 4: queued above; the callback re-checks after the mark.
            waiter::park(reason, deadline, || !me.granted.load(Ordering::Acquire));
        }
    }

    /// Rule 5: a timed-out waiter leaves the queue, unless it was granted.
    #[cold]
    fn give_up(&self, me: &Arc<Waiter>) -> bool {
        let mut q = self.lock();
        if me.granted.load(Ordering::Acquire) {
            return true;
        }
        let pos = q
            .waiters
            .iter()
            .position(|w| Arc::ptr_eq(w, me))
            .expect("sync: a wait queue lost a waiter");
        q.waiters.remove(pos);
        if pos == 0 {
            self.grant_and_wake(q);
        }
        false
    }

    /// Rule 3: grants the front while it fits, waking each granted waiter
    /// with the lock released, taking it again only if the next one fits
    /// too.
    #[inline(always)]
    fn grant_and_wake<'a>(&'a self, mut q: MutexGuard<'a, Queue>) {
        while let Some((w, more)) = q.grant_front() {
            drop(q);
            w.who.unpark();
            if !more {
                return;
            }
            q = self.lock();
        }
    }

    /// Gives back `n` units, grants them to the front waiters that now fit
    /// (in queue order), and wakes those. For the mutexes, which never give
    /// back more than they took (their state words count waiters).
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        self.release_within(n, usize::MAX);
    }

    /// [`release`](Self::release), checking under the lock that no more
    /// than `limit` units become available (a `Semaphore`'s size).
    ///
    /// # Panics
    ///
    /// If they would ("released more than held", as in Go); nothing is
    /// changed then.
    pub(crate) fn release_within(&self, n: usize, limit: usize) {
        if n == 0 {
            // Rule 3: the front did not fit before and still does not.
            return;
        }
        let mut q = self.lock();
        assert!(
            q.avail.checked_add(n).is_some_and(|a| a <= limit),
            "sync: Semaphore released more than held"
        );
        q.avail += n;
        self.grant_and_wake(q);
    }

    /// Units available right now (a snapshot).
    pub(crate) fn available(&self) -> usize {
        self.lock().avail
    }

    /// Waiters queued right now (a snapshot).
    pub(crate) fn queued(&self) -> usize {
        self.lock().waiters.len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Joins `h`, failing the test instead of hanging if a waiter is never
    /// served (the watchdog).
    fn join<T>(h: std::thread::JoinHandle<T>) -> T {
        let t = Instant::now();
        while !h.is_finished() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "a waiter was never served"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        h.join().unwrap()
    }

    fn wait_queued(s: &Sema, n: usize) {
        let t = Instant::now();
        while s.queued() < n {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "waiters never queued"
            );
            std::thread::yield_now();
        }
    }

    #[test]
    fn banked_unit_is_taken_without_sleeping() {
        let s = Sema::new(0);
        s.release(1);
        assert!(s.acquire(1, false, None, "test"));
        assert_eq!(s.available(), 0);
    }

    #[test]
    fn release_grants_in_fifo_order_and_lifo_goes_first() {
        let s = Arc::new(Sema::new(0));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut hs = Vec::new();
        // Threads 0 and 1 queue at the back, thread 2 at the front.
        for (i, lifo) in [(0, false), (1, false), (2, true)] {
            let (s2, o2) = (s.clone(), order.clone());
            hs.push(std::thread::spawn(move || {
                s2.acquire(1, lifo, None, "test");
                o2.lock().unwrap().push(i);
            }));
            wait_queued(&s, i + 1);
        }
        for k in 0..3 {
            s.release(1);
            let t = Instant::now();
            while order.lock().unwrap().len() <= k {
                assert!(t.elapsed() < Duration::from_secs(30));
                std::thread::yield_now();
            }
        }
        for h in hs {
            join(h);
        }
        assert_eq!(*order.lock().unwrap(), vec![2, 0, 1]);
    }

    #[test]
    fn release_of_several_grants_in_order_and_banks_the_rest() {
        let s = Arc::new(Sema::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (s, d) = (s.clone(), done.clone());
                std::thread::spawn(move || {
                    s.acquire(1, false, None, "test");
                    d.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        wait_queued(&s, 2);
        s.release(3);
        for h in hs {
            join(h);
        }
        assert_eq!(done.load(Ordering::Relaxed), 2);
        assert_eq!(s.available(), 1, "the third unit is banked");
    }

    #[test]
    fn a_big_front_waiter_blocks_smaller_ones_behind_it() {
        // 1 unit free; A asks for 3 (queued), B for 1 behind it: B must
        // not barge although its unit is there (rule 1).
        let s = Arc::new(Sema::new(1));
        let s2 = s.clone();
        let a = std::thread::spawn(move || s2.acquire(3, false, None, "test"));
        wait_queued(&s, 1);
        assert!(!s.try_acquire(1), "B may not barge past A");
        let s3 = s.clone();
        let b = std::thread::spawn(move || s3.acquire(1, false, None, "test"));
        wait_queued(&s, 2);
        s.release(2);
        assert!(join(a));
        assert_eq!(s.queued(), 1, "B still waits for A's units");
        s.release(3);
        assert!(join(b));
        assert_eq!(s.available(), 2);
    }

    #[test]
    fn a_lifo_waiter_that_fits_takes_the_units_at_once() {
        // A waits for 2 with 1 free; a lifo request for 1 goes before it
        // and fits, so it does not sleep (rule 1).
        let s = Arc::new(Sema::new(1));
        let s2 = s.clone();
        let a = std::thread::spawn(move || s2.acquire(2, false, None, "test"));
        wait_queued(&s, 1);
        assert!(s.acquire(1, true, None, "test"));
        assert_eq!(s.queued(), 1);
        s.release(2);
        assert!(join(a));
    }

    #[test]
    fn a_timed_out_waiter_leaves_the_queue() {
        let s = Sema::new(0);
        let d = Instant::now() + Duration::from_millis(5);
        assert!(!s.acquire(1, false, Some(d), "test"));
        assert_eq!(s.queued(), 0);
        s.release(1);
        assert_eq!(s.available(), 1, "nobody took the unit");
    }

    #[test]
    #[should_panic(expected = "released more than held")]
    fn release_beyond_the_limit_panics() {
        Sema::new(1).release_within(1, 1);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    /// One thread per `(weight, lifo, gives_back)` acquirer, while the main
    /// thread makes the `releases`; at the end `avail` units are free and
    /// nobody waits (no lost or duplicated grant).
    fn model(
        limit: usize,
        acquirers: &'static [(usize, bool, bool)],
        releases: &'static [usize],
        avail: usize,
    ) {
        crate::sync::loom_model(move || {
            let s = Arc::new(Sema::new(0));
            let hs: Vec<_> = acquirers
                .iter()
                .map(|&(n, lifo, gives_back)| {
                    let s = s.clone();
                    loom::thread::spawn(move || {
                        assert!(s.acquire(n, lifo, None, "test"));
                        if gives_back {
                            s.release_within(n, limit);
                        }
                    })
                })
                .collect();
            for &n in releases {
                s.release_within(n, limit);
            }
            for h in hs {
                h.join().unwrap();
            }
            let q = s.lock();
            assert_eq!(q.avail, avail);
            assert!(q.waiters.is_empty());
        });
    }

    /// Two unit sleepers (one `lifo`), two releases racing with them: each
    /// gets one unit and nothing is banked.
    #[test]
    fn every_release_reaches_one_acquirer() {
        model(
            usize::MAX,
            &[(1, false, false), (1, true, false)],
            &[1, 1],
            0,
        );
    }

    /// One release of two units with two unit sleepers: the releaser serves
    /// both, the second after taking the lock again (rule 3), however the
    /// sleepers interleave with it.
    #[test]
    fn one_release_serves_every_waiter_that_fits() {
        model(usize::MAX, &[(1, false, false), (1, false, false)], &[2], 0);
    }

    /// A weight-2 and a weight-1 acquirer on a 2-unit semaphore whose units
    /// come back one at a time: both are served, in whichever order they
    /// queued, and all units come back.
    #[test]
    fn weighted_grants_are_neither_lost_nor_duplicated() {
        model(2, &[(2, false, true), (1, false, true)], &[1, 1], 2);
    }
}
