//! `Sema`: the semaphore [`Mutex`](super::Mutex) and
//! [`RwMutex`](super::RwMutex) sleep on (Go's `runtime.sema` as used by
//! `sync`: `semacquire` / `semrelease`).
//!
//! A permit count and a queue of sleepers behind one short internal lock
//! (a `std` mutex, never held across a park or while waking anyone).
//! [`Sema::acquire`] takes a permit if there is one, otherwise queues a
//! [`Node`] (at the back, or at the *front* for a waiter that has already
//! waited once: Go's `queueLifo`) and parks until the node is granted.
//! [`Sema::release`] grants the permit *directly* to the first queued node
//! (or banks it in the count when nobody is queued yet) and wakes it.
//!
//! # Invariants and access rules
//!
//! 1. **Grant once.** A node's `granted` flag goes `false → true` exactly
//!    once, by the releaser that popped it from the queue, under the lock.
//!    A popped node is never queued again, so a granted waiter owns exactly
//!    one permit.
//! 2. **Register, then validate.** A waiter is in the queue before it parks,
//!    and its validate callback re-reads `granted`: either it sees the grant
//!    and does not sleep, or the releaser's unpark (issued after the grant)
//!    finds it marked waiting or leaves a token (`goro::waiter` protocol).
//! 3. **Count only when nobody waits.** `permits > 0` implies the queue is
//!    empty at that moment: a release with a queued node grants instead of
//!    counting, and an acquire takes a banked permit before queueing.
//!
//! Users of a `Sema` guarantee they never release more than they acquire in
//! total (the mutex and rwmutex state words count waiters for that).
//!
//! # Alternatives rejected
//!
//! * *Go's competitive wake-up* (the woken waiter re-tries the count and may
//!   lose it to a newcomer): the direct grant is simpler, needs no re-queue
//!   path, and is what Go does in its handoff mode anyway. The mutex's own
//!   state word already provides barging where it matters.
//! * *An intrusive list of nodes on the waiters' stacks*: saves one small
//!   allocation per sleep, at the price of `unsafe` pointer juggling. A
//!   sleep costs a context switch (~100 ns) either way.
//! * *A single global table of queues keyed by address* (Go's
//!   `semtable`): keeps each `Mutex` to one word in Go, where it matters for
//!   the zero value; a Rust `Mutex<T>` can afford its own queue head.

use std::collections::VecDeque;

use goro_chan::waiter::{self, Unparker};

use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::{Arc, Mutex, MutexGuard};

/// One sleeper.
struct Node {
    /// Set once by the releaser that popped this node (rule 1).
    granted: AtomicBool,
    who: Unparker,
}

struct Queue {
    permits: u32,
    waiters: VecDeque<Arc<Node>>,
}

/// A counting semaphore that parks coroutines (or blocks threads).
pub(crate) struct Sema {
    q: Mutex<Queue>,
}

impl Sema {
    maybe_const_fn! {
        /// No permits, nobody waiting.
        pub(crate) fn new() -> Self {
            Sema {
                q: Mutex::new(Queue {
                    permits: 0,
                    waiters: VecDeque::new(),
                }),
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue is consistent at every unlock: nothing in the critical
        // sections can panic halfway (a push may abort on OOM, not unwind
        // inconsistently), so a poisoned lock is still usable.
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one permit, sleeping until a [`release`](Self::release) grants
    /// one if none is banked. `lifo` queues at the front (a waiter that has
    /// already waited once keeps its place as the longest waiter). `reason`
    /// is recorded on the parked coroutine.
    pub(crate) fn acquire(&self, lifo: bool, reason: &'static str) {
        let node = {
            let mut q = self.lock();
            if q.permits > 0 {
                // Fast path: no node, no unparker (semaphore.rs does the same).
                q.permits -= 1;
                return;
            }
            let node = Arc::new(Node {
                granted: AtomicBool::new(false),
                who: waiter::current(),
            });
            if lifo {
                q.waiters.push_front(node.clone());
            } else {
                q.waiters.push_back(node.clone());
            }
            node
        };
        // Rule 2: registered above; the callback re-checks after the mark.
        while !node.granted.load(Ordering::Acquire) {
            waiter::park(reason, None, || !node.granted.load(Ordering::Acquire));
        }
    }

    /// Releases one permit: grants it to the first queued waiter and wakes
    /// it, or banks it if nobody is queued.
    pub(crate) fn release(&self) {
        let woken = {
            let mut q = self.lock();
            match q.waiters.pop_front() {
                Some(n) => {
                    // Rule 1: popped under the lock, granted once.
                    n.granted.store(true, Ordering::Release);
                    n
                }
                None => {
                    q.permits += 1;
                    return;
                }
            }
        };
        woken.who.unpark();
    }

    /// Releases `n` permits at once (one lock round trip), granting them in
    /// queue order.
    pub(crate) fn release_n(&self, n: u32) {
        if n <= 1 {
            if n == 1 {
                self.release();
            }
            return;
        }
        let mut woken = Vec::new();
        {
            let mut q = self.lock();
            for _ in 0..n {
                match q.waiters.pop_front() {
                    Some(w) => {
                        w.granted.store(true, Ordering::Release);
                        woken.push(w);
                    }
                    None => q.permits += 1,
                }
            }
        }
        for w in woken {
            w.who.unpark();
        }
    }

    /// Queued sleepers (for tests and `Debug`).
    #[allow(dead_code)]
    pub(crate) fn queued(&self) -> usize {
        self.lock().waiters.len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::{Duration, Instant};

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
    fn banked_permit_is_taken_without_sleeping() {
        let s = Sema::new();
        s.release();
        s.acquire(false, "test");
        assert_eq!(s.lock().permits, 0);
    }

    #[test]
    fn release_grants_in_fifo_order_and_lifo_goes_first() {
        let s = Arc::new(Sema::new());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut hs = Vec::new();
        // Threads 0 and 1 queue at the back, thread 2 at the front.
        for (i, lifo) in [(0, false), (1, false), (2, true)] {
            let (s2, o2) = (s.clone(), order.clone());
            hs.push(std::thread::spawn(move || {
                s2.acquire(lifo, "test");
                o2.lock().unwrap().push(i);
            }));
            wait_queued(&s, i + 1);
        }
        for k in 0..3 {
            s.release();
            let t = Instant::now();
            while order.lock().unwrap().len() <= k {
                assert!(t.elapsed() < Duration::from_secs(30));
                std::thread::yield_now();
            }
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![2, 0, 1]);
    }

    #[test]
    fn release_n_grants_and_banks() {
        let s = Arc::new(Sema::new());
        let done = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (s, d) = (s.clone(), done.clone());
                std::thread::spawn(move || {
                    s.acquire(false, "test");
                    d.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        wait_queued(&s, 2);
        s.release_n(3);
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(done.load(Ordering::Relaxed), 2);
        assert_eq!(s.lock().permits, 1, "the third permit is banked");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    /// Two sleepers, two releases racing with them: both get a permit and
    /// nothing is left over (no lost or duplicated grant).
    #[test]
    fn every_release_reaches_one_acquirer() {
        crate::sync::loom_model(|| {
            let s = Arc::new(Sema::new());
            let hs: Vec<_> = (0..2)
                .map(|i| {
                    let s = s.clone();
                    loom::thread::spawn(move || s.acquire(i == 1, "test"))
                })
                .collect();
            s.release();
            s.release();
            for h in hs {
                h.join().unwrap();
            }
            let q = s.lock();
            assert_eq!(q.permits, 0);
            assert!(q.waiters.is_empty());
        });
    }
}
