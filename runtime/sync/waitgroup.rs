//! `WaitGroup`: wait for a collection of coroutines (or threads) to finish,
//! with Go's `sync.WaitGroup` semantics.
//!
//! The counter is one atomic; `add`/`done` touch nothing else unless the
//! counter reaches zero. Waiters register their [`Unparker`] in a list under
//! a mutex *from the park callback* (after they are marked waiting) and only
//! if the counter is still non-zero, checked under that mutex; the call that
//! brings the counter to zero takes the mutex after its decrement and wakes
//! everyone listed. So a waiter either sees zero or is in the list before
//! the waker drains it: no lost wake-up. The mutex is never held across a
//! park (it is released inside the callback, on the same thread).
//!
//! Alternatives rejected: Go's packed counter+waiter-count word with a
//! semaphore (needs a semaphore primitive; the list is simpler and equally
//! fast on the `done` path); a condvar (would block worker threads).

use goro_chan::waiter::{self, Unparker};

use crate::loom::sync::atomic::{AtomicI64, Ordering};
use crate::loom::sync::{Arc, Mutex};

/// Waits for a collection of coroutines to finish (Go's `sync.WaitGroup`).
///
/// `add(n)` before starting work, `done()` when a piece finishes, `wait()`
/// blocks until the counter is zero. Cloning gives another handle to the
/// same group. Works from coroutines (which park) and threads (which block).
///
/// ```
/// use goro::sync::WaitGroup;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// goro::run(|| {
///     let wg = WaitGroup::new();
///     let hits = Arc::new(AtomicUsize::new(0));
///     for _ in 0..100 {
///         wg.add(1);
///         let (wg, hits) = (wg.clone(), hits.clone());
///         goro::go!(move || {
///             hits.fetch_add(1, Ordering::Relaxed);
///             wg.done();
///         });
///     }
///     wg.wait();
///     assert_eq!(hits.load(Ordering::Relaxed), 100);
/// });
/// ```
#[derive(Clone, Default)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    count: AtomicI64,
    waiters: Mutex<Vec<Unparker>>,
}

impl WaitGroup {
    /// A group with counter zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `delta` (which may be negative) to the counter. When it reaches
    /// zero, every coroutine blocked in [`wait`](Self::wait) is released.
    ///
    /// # Panics
    ///
    /// If the counter would go negative ("sync: negative WaitGroup counter",
    /// as in Go). The counter is left unchanged.
    pub fn add(&self, delta: isize) {
        let delta = delta as i64;
        let now = self.inner.count.fetch_add(delta, Ordering::AcqRel) + delta;
        if now < 0 {
            self.inner.count.fetch_sub(delta, Ordering::AcqRel);
            panic!("sync: negative WaitGroup counter");
        }
        if now == 0 && delta != 0 {
            self.release();
        }
    }

    /// Decrements the counter by one (`add(-1)`).
    ///
    /// # Panics
    ///
    /// If the counter is already zero.
    pub fn done(&self) {
        self.add(-1);
    }

    /// The current counter value.
    pub fn count(&self) -> usize {
        self.inner.count.load(Ordering::Acquire).max(0) as usize
    }

    /// Blocks until the counter is zero. Returns at once if it already is.
    pub fn wait(&self) {
        let mut registered = false;
        while self.inner.count.load(Ordering::Acquire) != 0 {
            let me = waiter::current();
            let inner = &*self.inner;
            waiter::park("sync.WaitGroup.Wait", None, || {
                let mut w = inner.waiters.lock().unwrap_or_else(|e| e.into_inner());
                if inner.count.load(Ordering::Acquire) == 0 {
                    return false;
                }
                // After a spurious return we may still be listed; do not
                // list twice (the scan only happens on that rare path).
                if !registered || !w.iter().any(|u| u.same_party(&me)) {
                    w.push(me);
                }
                registered = true;
                true
            });
        }
    }

    fn release(&self) {
        let waiters =
            std::mem::take(&mut *self.inner.waiters.lock().unwrap_or_else(|e| e.into_inner()));
        // Oldest waiter first. Newest first was tried (2026-12-03, see
        // `docs/benchmarks.md`): each exit then pops its registry list's
        // head, fewer instructions at one worker, but `parked_wake_all`
        // was ~10% slower at two workers.
        for w in waiters {
            w.unpark_into();
        }
    }

    /// Runs `f` in a new coroutine counted by this group: `add(1)` now,
    /// `done()` when `f` returns or panics (Go 1.25's `WaitGroup.Go`).
    ///
    /// ```
    /// goro::run(|| {
    ///     let wg = goro::sync::WaitGroup::new();
    ///     for i in 0..10 {
    ///         wg.go(move || i * 2);
    ///     }
    ///     wg.wait();
    /// });
    /// ```
    #[cfg(not(loom))]
    #[track_caller]
    pub fn go<F, T>(&self, f: F) -> crate::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        struct Done(WaitGroup);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.done();
            }
        }
        self.add(1);
        let done = Done(self.clone());
        crate::spawn(move || {
            let _done = done;
            f()
        })
    }
}

impl std::fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    /// Two workers finish while a waiter waits: the waiter always returns,
    /// and only after both `done`s.
    #[test]
    fn wait_sees_all_done() {
        loom::model(|| {
            let wg = WaitGroup::new();
            let flag = Arc::new(crate::loom::sync::atomic::AtomicUsize::new(0));
            wg.add(2);
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let (wg, flag) = (wg.clone(), flag.clone());
                    loom::thread::spawn(move || {
                        flag.fetch_add(1, Ordering::Relaxed);
                        wg.done();
                    })
                })
                .collect();
            wg.wait();
            assert_eq!(flag.load(Ordering::Relaxed), 2);
            for h in hs {
                h.join().unwrap();
            }
        });
    }
}
