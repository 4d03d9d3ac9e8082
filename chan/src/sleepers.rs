//! Which plain threads are asleep in a goro wait: the bookkeeping behind
//! goro's global deadlock detection ("every thread that entered goro is
//! itself asleep in a goro wait").
//!
//! A plain thread that parks without a deadline (a `join`, a channel
//! operation, a `WaitGroup::wait`, ... called off the coroutines) is
//! *asleep* from just before it blocks until it is woken or wakes up
//! spuriously. Threads parked with a deadline wake by themselves and are
//! never counted.
//!
//! # State (one word per thread, changed only under [`LOCK`])
//!
//! | const      | meaning |
//! |------------|---------|
//! | `AWAKE`    | running, or about to park |
//! | `ASLEEP`   | counted in `asleep`: blocked, and no wake-up is on its way |
//! | `NOTIFIED` | a wake-up came while it was `AWAKE`: its next park returns at once |
//!
//! | from     | by                         | to |
//! |----------|----------------------------|----|
//! | AWAKE    | the thread, about to block | ASLEEP (count + 1) |
//! | NOTIFIED | the thread, about to block | AWAKE (does not block) |
//! | ASLEEP   | a waker                    | AWAKE (count - 1), then `unpark` |
//! | AWAKE    | a waker                    | NOTIFIED, then `unpark` |
//! | ASLEEP   | the thread, after blocking (spurious return) | AWAKE (count - 1) |
//! | NOTIFIED | the thread, after blocking | AWAKE |
//!
//! Rules: (1) the count is exactly the number of `ASLEEP` threads, and an
//! `ASLEEP` thread has no wake-up on its way (a waker moves it out *before*
//! it unparks); (2) every transition bumps `epoch`, so an observer that
//! reads the epoch, then other state, then the epoch again and sees no
//! change knows no thread changed in between.
//!
//! Alternatives rejected: counting with atomics alone (a thread counted
//! asleep while a wake-up is in flight would look deadlocked); a count
//! kept by the thread only (the same window, from the other side).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

const AWAKE: u8 = 0;
const ASLEEP: u8 = 1;
const NOTIFIED: u8 = 2;

struct Counts {
    asleep: usize,
    epoch: u64,
}

static LOCK: Mutex<Counts> = Mutex::new(Counts {
    asleep: 0,
    epoch: 0,
});

static OBSERVER: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

fn lock() -> std::sync::MutexGuard<'static, Counts> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// One thread's word (see the module docs).
pub(crate) struct Sleep(AtomicU8);

impl Sleep {
    pub(crate) const fn new() -> Self {
        Sleep(AtomicU8::new(AWAKE))
    }

    /// The thread, about to block without a deadline: `false` if a wake-up
    /// already came (do not block). Then runs the observer, if any.
    pub(crate) fn fall_asleep(&self) -> bool {
        {
            let mut c = lock();
            c.epoch += 1;
            if self.0.load(Ordering::Relaxed) == NOTIFIED {
                self.0.store(AWAKE, Ordering::Relaxed);
                return false;
            }
            self.0.store(ASLEEP, Ordering::Relaxed);
            c.asleep += 1;
        }
        if let Some(f) = OBSERVER.get() {
            f();
        }
        true
    }

    /// The thread, after blocking.
    pub(crate) fn woke(&self) {
        let mut c = lock();
        c.epoch += 1;
        if self.0.swap(AWAKE, Ordering::Relaxed) == ASLEEP {
            c.asleep -= 1;
        }
    }

    /// A waker, before it unparks the thread.
    pub(crate) fn wake(&self) {
        let mut c = lock();
        c.epoch += 1;
        match self.0.load(Ordering::Relaxed) {
            ASLEEP => {
                self.0.store(AWAKE, Ordering::Relaxed);
                c.asleep -= 1;
            }
            _ => self.0.store(NOTIFIED, Ordering::Relaxed),
        }
    }
}

/// Plain threads asleep in goro waits without a deadline, and the epoch
/// (bumped by every change of any thread's state): `(asleep, epoch)`.
pub fn parked_threads() -> (usize, u64) {
    let c = lock();
    (c.asleep, c.epoch)
}

/// Sets the function a plain thread calls right after it is counted asleep
/// and before it blocks (goro's deadlock check). Only the first call
/// counts; returns whether it did.
pub fn set_sleep_observer(f: fn()) -> bool {
    OBSERVER.set(f).is_ok()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    // Other tests park threads concurrently, so the global count is only
    // checked for what this thread's own transitions guarantee.

    #[test]
    fn wake_before_sleep_is_kept() {
        let s = Sleep::new();
        let (_, e0) = parked_threads();
        s.wake();
        assert!(!s.fall_asleep(), "a wake-up came first: do not block");
        let (_, e1) = parked_threads();
        assert!(e1 >= e0 + 2, "every transition moves the epoch");
        assert!(s.fall_asleep(), "the token was consumed");
        s.woke();
    }

    #[test]
    fn asleep_is_counted_until_woken() {
        let s = std::sync::Arc::new(Sleep::new());
        assert!(s.fall_asleep());
        assert_eq!(s.0.load(Ordering::Relaxed), ASLEEP);
        assert!(parked_threads().0 >= 1);
        let s2 = s.clone();
        std::thread::spawn(move || s2.wake()).join().unwrap();
        assert_eq!(s.0.load(Ordering::Relaxed), AWAKE, "the waker uncounted it");
        s.woke();
        assert_eq!(s.0.load(Ordering::Relaxed), AWAKE);
    }
}
