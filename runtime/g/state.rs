//! The coroutine (G) state word: who may run, park and wake a coroutine.
//!
//! One `AtomicU32` per coroutine. The low three bits are the state, bit 3 is
//! the wake-up token:
//!
//! | const      | meaning                                                       |
//! |------------|---------------------------------------------------------------|
//! | `RUNNABLE` | in a run queue (or being handed to one); nobody is running it |
//! | `RUNNING`  | a worker is executing it on its own stack                     |
//! | `PARKING`  | it has switched out to park; its worker runs the `validate` callback |
//! | `WAITING`  | parked; only an unpark (or timer) makes it runnable again     |
//! | `DONE`     | its function returned; it never runs again                    |
//! | `NOTIFIED` | a wake-up arrived while it was not `WAITING`; the next park returns at once |
//!
//! Transitions (`N` = the `NOTIFIED` bit, carried unless stated):
//!
//! | from            | by                         | to                         |
//! |-----------------|----------------------------|----------------------------|
//! | RUNNABLE        | worker takes it            | RUNNING                    |
//! | RUNNING \| N    | park fast path             | RUNNING (N consumed, no switch) |
//! | RUNNING         | park: switched out         | PARKING                    |
//! | PARKING         | validate said stay, no N   | WAITING                    |
//! | PARKING \| N    | validate said stay         | RUNNING (N consumed, resumed at once) |
//! | PARKING         | validate said don't park   | RUNNING                    |
//! | WAITING         | unpark                     | RUNNABLE (caller schedules it) |
//! | RUNNING/PARKING/RUNNABLE | unpark            | same \| N                  |
//! | DONE            | unpark                     | DONE (no effect)           |
//! | RUNNING         | yield                      | RUNNABLE                   |
//! | RUNNING         | returned                   | DONE                       |
//!
//! Access rules, cited by `// SAFETY:` comments elsewhere:
//!
//! 1. **One runner.** Only the party that moved the word to `RUNNABLE` (an
//!    unpark that won `WAITING → RUNNABLE`, a spawn, a yield, a park that
//!    consumed its token) may put the coroutine in a run queue, and only the
//!    worker that takes it from there may resume it. So at most one thread
//!    touches the coroutine's stack and context at a time.
//! 2. **Park callback window.** While `PARKING`, the worker runs `validate`,
//!    whose closure lives on the parked coroutine's stack. An unpark in that
//!    window only sets `N`; the worker itself then resumes the coroutine. So
//!    the stack is never resumed elsewhere while the callback still runs.
//! 3. **Wake-ups are never lost.** Every unpark is a read-modify-write; it
//!    either finds `WAITING` and schedules, or leaves `N`, which the next park
//!    consumes instead of sleeping.
//!
//! Alternatives rejected: a separate "parked" flag plus a mutex (a lock on
//! every park and wake); generation counters instead of a token (see
//! `goro_chan::waiter`).

use crate::loom::sync::atomic::{AtomicU32, Ordering};

/// In a run queue, or about to be put in one.
pub(crate) const RUNNABLE: u32 = 0;
/// Being executed by a worker.
pub(crate) const RUNNING: u32 = 1;
/// Switched out to park; its worker is running the validate callback.
pub(crate) const PARKING: u32 = 2;
/// Parked until an unpark.
pub(crate) const WAITING: u32 = 3;
/// Finished.
pub(crate) const DONE: u32 = 4;
const STATE_MASK: u32 = 0b111;
/// Wake-up token: set by an unpark that did not find `WAITING`.
pub(crate) const NOTIFIED: u32 = 0b1000;

/// What the worker does after a park's validate callback said "stay parked".
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Commit {
    /// The coroutine is now `WAITING`; the worker must not touch it again.
    Parked,
    /// A wake-up came during the callback; the coroutine is `RUNNING` again
    /// and the worker resumes it at once.
    Resume,
}

/// The state word. See the module docs for the transition table.
pub(crate) struct GState(AtomicU32);

impl GState {
    pub(crate) fn new() -> Self {
        GState(AtomicU32::new(RUNNABLE))
    }

    /// The state (without the token).
    #[cfg(test)]
    pub(crate) fn get(&self) -> u32 {
        self.0.load(Ordering::Acquire) & STATE_MASK
    }

    /// RUNNABLE → RUNNING, by the worker that dequeued it (rule 1).
    #[inline]
    pub(crate) fn start_running(&self) {
        let prev = self.0.fetch_add(RUNNING - RUNNABLE, Ordering::AcqRel);
        debug_assert_eq!(
            prev & STATE_MASK,
            RUNNABLE,
            "resumed a coroutine that was not runnable"
        );
    }

    /// Park fast path, on the coroutine before switching: consumes a pending
    /// token. Returns `true` if there was one (the park returns at once).
    #[inline]
    pub(crate) fn take_token(&self) -> bool {
        self.0
            .compare_exchange(
                RUNNING | NOTIFIED,
                RUNNING,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// RUNNING → PARKING, by the worker after the coroutine switched out to park.
    #[inline]
    pub(crate) fn begin_park(&self) {
        let prev = self.0.fetch_add(PARKING - RUNNING, Ordering::AcqRel);
        debug_assert_eq!(prev & STATE_MASK, RUNNING);
    }

    /// PARKING → WAITING, or, if a wake-up arrived during the callback,
    /// PARKING | N → RUNNING (rule 2).
    #[inline]
    pub(crate) fn commit_park(&self) -> Commit {
        match self
            .0
            .compare_exchange(PARKING, WAITING, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Commit::Parked,
            Err(cur) => {
                debug_assert_eq!(cur, PARKING | NOTIFIED);
                self.0.store(RUNNING, Ordering::Release);
                Commit::Resume
            }
        }
    }

    /// PARKING → RUNNING when the validate callback said not to park. A token
    /// that arrived meanwhile is kept.
    #[inline]
    pub(crate) fn abort_park(&self) {
        let prev = self.0.fetch_sub(PARKING - RUNNING, Ordering::AcqRel);
        debug_assert_eq!(prev & STATE_MASK, PARKING);
    }

    /// Wakes the coroutine. Returns `true` when it was `WAITING` and is now
    /// `RUNNABLE`: the caller must then schedule it (rule 1). Otherwise a
    /// token is left (or it is `DONE`) and there is nothing to do (rule 3).
    #[inline]
    pub(crate) fn unpark(&self) -> bool {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let (next, schedule) = match cur & STATE_MASK {
                WAITING => (RUNNABLE, true),
                DONE => return false,
                _ => (cur | NOTIFIED, false),
            };
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return schedule,
                Err(c) => cur = c,
            }
        }
    }

    /// RUNNING → RUNNABLE (yield). The token is kept.
    #[inline]
    pub(crate) fn yield_now(&self) {
        let prev = self.0.fetch_sub(RUNNING - RUNNABLE, Ordering::AcqRel);
        debug_assert_eq!(prev & STATE_MASK, RUNNING);
    }

    /// RUNNING → DONE.
    #[inline]
    pub(crate) fn finish(&self) {
        self.0.store(DONE, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn park_then_unpark() {
        let s = GState::new();
        s.start_running();
        assert!(!s.take_token());
        s.begin_park();
        assert_eq!(s.commit_park(), Commit::Parked);
        assert!(s.unpark());
        assert_eq!(s.get(), RUNNABLE);
        assert!(!s.unpark(), "second unpark only leaves a token");
        s.start_running();
        assert!(s.take_token());
    }

    #[test]
    fn unpark_during_callback_resumes() {
        let s = GState::new();
        s.start_running();
        s.begin_park();
        assert!(!s.unpark());
        assert_eq!(s.commit_park(), Commit::Resume);
        assert_eq!(s.get(), RUNNING);
        assert!(!s.take_token(), "the token was consumed by the resume");
    }

    #[test]
    fn abort_keeps_token() {
        let s = GState::new();
        s.start_running();
        s.begin_park();
        assert!(!s.unpark());
        s.abort_park();
        assert!(s.take_token());
    }

    #[test]
    fn done_ignores_unpark() {
        let s = GState::new();
        s.start_running();
        s.finish();
        assert!(!s.unpark());
        assert_eq!(s.get(), DONE);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model: a waker thread sets a flag and unparks; the "coroutine" side
    //! plays worker and coroutine: park with a validate that reads the flag.
    //! Invariant: the coroutine is scheduled exactly once if it parked and
    //! never lost: it either sees the flag, consumes a token, or is made
    //! runnable by the waker.
    use super::*;
    use crate::loom::sync::Arc;
    use crate::loom::sync::atomic::{AtomicBool, AtomicUsize};

    #[test]
    fn no_lost_wakeup() {
        loom::model(|| {
            let s = Arc::new(GState::new());
            let flag = Arc::new(AtomicBool::new(false));
            let scheduled = Arc::new(AtomicUsize::new(0));
            s.start_running();

            let (s2, f2, sc2) = (s.clone(), flag.clone(), scheduled.clone());
            let waker = loom::thread::spawn(move || {
                f2.store(true, Ordering::Release);
                if s2.unpark() {
                    sc2.fetch_add(1, Ordering::Relaxed);
                }
            });

            // Coroutine: loop { if flag {break}; park(validate = !flag) }
            let mut resumed_by_waker = false;
            loop {
                if flag.load(Ordering::Acquire) {
                    break;
                }
                if s.take_token() {
                    continue;
                }
                s.begin_park();
                if flag.load(Ordering::Acquire) {
                    s.abort_park();
                    continue;
                }
                match s.commit_park() {
                    Commit::Resume => continue,
                    Commit::Parked => {
                        // Only the waker can make us runnable now.
                        waker_join_and_check(&scheduled);
                        resumed_by_waker = true;
                        s.start_running();
                        break;
                    }
                }
            }
            if !resumed_by_waker {
                waker.join().unwrap();
                assert_eq!(
                    scheduled.load(Ordering::Relaxed),
                    0,
                    "scheduled a coroutine that never parked"
                );
            } else {
                waker.join().unwrap();
            }
            assert!(flag.load(Ordering::Acquire));

            fn waker_join_and_check(scheduled: &AtomicUsize) {
                // Spin (loom explores interleavings) until the waker has
                // scheduled us: a lost wake-up shows as a deadlock here.
                while scheduled.load(Ordering::Relaxed) == 0 {
                    loom::thread::yield_now();
                }
                assert_eq!(scheduled.load(Ordering::Relaxed), 1);
            }
        });
    }

    #[test]
    fn racing_unparks_schedule_once() {
        loom::model(|| {
            let s = Arc::new(GState::new());
            s.start_running();
            s.begin_park();
            assert_eq!(s.commit_park(), Commit::Parked);
            let count = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let (s, c) = (s.clone(), count.clone());
                    loom::thread::spawn(move || {
                        if s.unpark() {
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(count.load(Ordering::Relaxed), 1);
        });
    }
}
