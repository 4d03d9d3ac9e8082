//! `Semaphore`: a weighted semaphore (Go's `golang.org/x/sync/semaphore`
//! `Weighted`): `acquire(n)` takes `n` units of a fixed-size resource,
//! `release(n)` gives them back; blocked acquirers are served strictly in
//! arrival order.
//!
//! # How
//!
//! All of it is the `sync` package's one wait queue (`sema.rs`, also under
//! [`Mutex`](super::Mutex) and [`RwMutex`](super::RwMutex)) created with
//! `size` units, released within `size`; its numbered rules are this type's:
//! FIFO with no barging (a large request is not starved by a stream of
//! small ones), grant once, register then validate, and a timed-out front
//! waiter re-running the grant for those behind it. This file adds the
//! public API, the argument checks and the docs.
//!
//! # Alternatives rejected
//!
//! * *A queue of its own* (what this file had): the same grant loop as the
//!   mutexes' queue, written twice.
//! * *A lock-free counter with a wait queue on the side* (tokio's
//!   semaphore): faster uncontended, but weighted FIFO grants with
//!   timeouts need the queue lock anyway; x/sync uses a mutex for the same
//!   reason.
//! * *Go's `x/sync` "context" cancellation*: [`Semaphore::acquire_timeout`]
//!   covers the use with a deadline.

use std::fmt;
use std::time::{Duration, Instant};

use goro_chan::waiter;

use super::sema::Sema;

const REASON: &str = "sync.Semaphore.Acquire";

/// A weighted semaphore with FIFO fairness (Go's `x/sync/semaphore.Weighted`).
///
/// Holds `size` units. [`acquire`](Self::acquire) takes `n` of them,
/// parking the coroutine (or blocking the thread; recorded as
/// `"sync.Semaphore.Acquire"`) until they are available and every earlier
/// waiter has been served; [`release`](Self::release) gives them back. Also
/// [`try_acquire`](Self::try_acquire) and
/// [`acquire_timeout`](Self::acquire_timeout).
///
/// ```
/// use goro::sync::{Semaphore, WaitGroup};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// // At most 3 "connections" in use at once.
/// static SEM: Semaphore = Semaphore::new(3);
/// static IN_USE: AtomicUsize = AtomicUsize::new(0);
/// goro::run(|| {
///     let wg = WaitGroup::new();
///     for _ in 0..20 {
///         wg.go(|| {
///             SEM.acquire(1);
///             assert!(IN_USE.fetch_add(1, Ordering::SeqCst) < 3);
///             goro::yield_now();
///             IN_USE.fetch_sub(1, Ordering::SeqCst);
///             SEM.release(1);
///         });
///     }
///     wg.wait();
/// });
/// ```
pub struct Semaphore {
    size: usize,
    sema: Sema,
}

impl Semaphore {
    maybe_const_fn! {
        /// A semaphore with `size` units, all available; `const`.
        ///
        /// ```
        /// let s = goro::sync::Semaphore::new(10);
        /// assert_eq!(s.available(), 10);
        /// ```
        pub fn new(size: usize) -> Self {
            Semaphore {
                size,
                sema: Sema::new(size),
            }
        }
    }

    /// Takes `n` units, waiting until they are available and all earlier
    /// waiters have been served. `acquire(0)` waits only for the queue
    /// ahead of it.
    ///
    /// # Panics
    ///
    /// If `n` exceeds the semaphore's size (it could never succeed).
    ///
    /// ```
    /// let s = goro::sync::Semaphore::new(4);
    /// s.acquire(3);
    /// assert_eq!(s.available(), 1);
    /// s.release(3);
    /// ```
    pub fn acquire(&self, n: usize) {
        assert!(
            n <= self.size(),
            "sync: Semaphore acquire of {n} exceeds its size {}",
            self.size()
        );
        self.sema.acquire(n, false, None, REASON);
    }

    /// Like [`acquire`](Self::acquire), giving up after `timeout`. Returns
    /// whether the units were taken. A request larger than the size waits
    /// out the timeout and returns `false` (as x/sync's does with a
    /// context).
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = goro::sync::Semaphore::new(1);
    /// assert!(s.acquire_timeout(1, Duration::from_millis(10)));
    /// assert!(!s.acquire_timeout(1, Duration::from_millis(10)));
    /// s.release(1);
    /// ```
    pub fn acquire_timeout(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        if n > self.size() {
            if let Some(d) = deadline {
                while Instant::now() < d {
                    waiter::park(REASON, Some(d), || true);
                }
                return false;
            }
            panic!(
                "sync: Semaphore acquire of {n} exceeds its size {}",
                self.size()
            );
        }
        self.sema.acquire(n, false, deadline, REASON)
    }

    /// Takes `n` units if they are available now and nobody is queued;
    /// never waits.
    ///
    /// ```
    /// let s = goro::sync::Semaphore::new(2);
    /// assert!(s.try_acquire(2));
    /// assert!(!s.try_acquire(1));
    /// ```
    pub fn try_acquire(&self, n: usize) -> bool {
        self.sema.try_acquire(n)
    }

    /// Gives back `n` units and wakes the waiters at the front of the queue
    /// that now fit.
    ///
    /// # Panics
    ///
    /// If that would make more units available than the size ("released
    /// more than held", as in Go).
    ///
    /// ```
    /// let s = goro::sync::Semaphore::new(1);
    /// s.acquire(1);
    /// s.release(1);
    /// assert_eq!(s.available(), 1);
    /// ```
    pub fn release(&self, n: usize) {
        self.sema.release_within(n, self.size);
    }

    /// Units available right now (a snapshot).
    ///
    /// ```
    /// assert_eq!(goro::sync::Semaphore::new(3).available(), 3);
    /// ```
    pub fn available(&self) -> usize {
        self.sema.available()
    }

    /// The total number of units.
    ///
    /// ```
    /// assert_eq!(goro::sync::Semaphore::new(3).size(), 3);
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// Parties queued right now (a snapshot).
    ///
    /// ```
    /// assert_eq!(goro::sync::Semaphore::new(3).waiting(), 0);
    /// ```
    pub fn waiting(&self) -> usize {
        self.sema.queued()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("size", &self.size())
            .field("available", &self.available())
            .field("waiting", &self.waiting())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "released more than held")]
    fn over_release_panics() {
        Semaphore::new(1).release(1);
    }

    #[test]
    #[should_panic(expected = "exceeds its size")]
    fn oversized_acquire_panics() {
        Semaphore::new(1).acquire(2);
    }

    #[test]
    fn oversized_timed_acquire_times_out() {
        assert!(!Semaphore::new(1).acquire_timeout(2, Duration::from_millis(5)));
    }

    #[test]
    fn timed_out_front_waiter_unblocks_the_next() {
        // Size 3, 2 held. A waits for 3 (front), B for 1 behind it. When A
        // gives up, B must be granted although nobody released anything.
        let s = std::sync::Arc::new(Semaphore::new(3));
        s.acquire(2);
        let s2 = s.clone();
        let a = std::thread::spawn(move || s2.acquire_timeout(3, Duration::from_millis(300)));
        while s.waiting() < 1 {
            std::thread::yield_now();
        }
        let s3 = s.clone();
        let b = std::thread::spawn(move || s3.acquire(1));
        // B queues behind A (A's timeout is long enough for a thread spawn;
        // if not, B simply finds the units free and the final checks hold).
        while s.waiting() < 2 && !a.is_finished() {
            std::thread::yield_now();
        }
        assert!(!a.join().unwrap(), "A times out");
        b.join().unwrap();
        assert_eq!(s.available(), 0);
        assert_eq!(s.waiting(), 0);
    }
}
