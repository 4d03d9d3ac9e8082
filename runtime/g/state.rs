//! The coroutine (G) state word: who may run, park and wake a coroutine.
//!
//! One `AtomicU32` per coroutine. The low bits are the state, one bit is the
//! wake-up token:
//!
//! | const      | meaning |
//! |------------|---------|
//! | `ACTIVE`   | not parked: queued, running, or switched out to park with its worker still running the park's validate callback |
//! | `WAITING`  | parked; only an unpark (or its timer) makes it runnable again |
//! | `DONE`     | its function returned; it never runs again |
//! | `NOTIFIED` | a wake-up arrived while it was `ACTIVE`; its next park returns at once |
//!
//! Transitions (`N` = the `NOTIFIED` bit):
//!
//! | from        | by                                        | to |
//! |-------------|-------------------------------------------|----|
//! | ACTIVE \| N | park, fast path on the coroutine           | ACTIVE (token consumed, no switch) |
//! | ACTIVE      | park: validate said stay, worker commits   | WAITING |
//! | ACTIVE \| N | park: commit fails                         | ACTIVE (token consumed, resumed at once) |
//! | WAITING     | unpark                                     | ACTIVE (the unparker schedules it) |
//! | ACTIVE      | unpark                                     | ACTIVE \| N |
//! | DONE        | unpark                                     | DONE (no effect) |
//! | ACTIVE      | returned                                   | DONE |
//!
//! Spawning, queueing, running, yielding and the park callback window need
//! no transition at all: to an unparker they are all "not parked, leave a
//! token". That keeps the fast paths to one read-modify-write per park
//! (the commit) and one per wake-up.
//!
//! Access rules, cited by `// SAFETY:` comments elsewhere:
//!
//! 1. **One runner.** Only the party that made the coroutine runnable (its
//!    spawner, its own yield, or the unpark that won `WAITING → ACTIVE`) may
//!    put it in a run queue, and only the worker that takes it from there
//!    may resume it. So at most one thread touches the coroutine's stack and
//!    context at a time.
//! 2. **Park callback window.** Between switching out to park and the
//!    commit, the worker runs the park's validate callback, whose closure
//!    lives on the parked coroutine's stack. The coroutine is still `ACTIVE`,
//!    so an unpark in that window only sets `N`, and the failed commit makes
//!    the worker itself resume the coroutine: the stack is never resumed
//!    elsewhere while the callback runs.
//! 3. **Wake-ups are never lost.** Every unpark is a read-modify-write; it
//!    either finds `WAITING` and schedules, or leaves `N`, which the next
//!    park consumes instead of sleeping.
//!
//! Alternatives rejected: separate queued/running/parking states (each
//! transition an extra atomic operation, and no unparker behaves
//! differently in them); a "parked" flag plus a mutex (a lock on every park
//! and wake); generation counters instead of a token (see
//! `goro_chan::waiter`).

use crate::loom::sync::atomic::{AtomicU32, Ordering};

/// Not parked (queued, running, or in its park callback window).
pub(crate) const ACTIVE: u32 = 0;
/// Parked until an unpark.
pub(crate) const WAITING: u32 = 1;
/// Finished.
pub(crate) const DONE: u32 = 2;
const STATE_MASK: u32 = 0b11;
/// Wake-up token: set by an unpark that did not find `WAITING`.
pub(crate) const NOTIFIED: u32 = 0b100;

/// What the worker does after a park's validate callback said "stay parked".
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Commit {
    /// The coroutine is now `WAITING`; the worker must not touch it again.
    Parked,
    /// A wake-up came meanwhile; the token is consumed and the worker
    /// resumes the coroutine at once.
    Resume,
}

/// The state word. See the module docs for the transition table.
pub(crate) struct GState(AtomicU32);

impl GState {
    pub(crate) fn new() -> Self {
        GState(AtomicU32::new(ACTIVE))
    }

    /// The state (without the token).
    #[cfg(test)]
    pub(crate) fn get(&self) -> u32 {
        self.0.load(Ordering::Acquire) & STATE_MASK
    }

    /// The state (without the token), for diagnostics: a snapshot that may
    /// be stale by the time it is used.
    #[cfg(not(loom))]
    pub(crate) fn load(&self) -> u32 {
        self.0.load(Ordering::Acquire) & STATE_MASK
    }

    /// Park fast path, on the coroutine before switching: consumes a pending
    /// token. Returns `true` if there was one (the park returns at once).
    #[inline]
    pub(crate) fn take_token(&self) -> bool {
        // A plain load first: a token is rare, and a failed compare-exchange
        // costs as much as a successful one.
        self.0.load(Ordering::Relaxed) & NOTIFIED != 0
            && self
                .0
                .compare_exchange(
                    ACTIVE | NOTIFIED,
                    ACTIVE,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// ACTIVE → WAITING, by the worker after the validate callback said
    /// "stay"; or, if a token arrived, consumes it (rule 2).
    #[inline]
    pub(crate) fn commit_park(&self) -> Commit {
        match self
            .0
            .compare_exchange(ACTIVE, WAITING, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Commit::Parked,
            Err(cur) => {
                debug_assert_eq!(cur, ACTIVE | NOTIFIED);
                // Only unparkers touch the word now, and they only OR in N,
                // which is already set: a plain store cannot lose anything.
                self.0.store(ACTIVE, Ordering::Release);
                Commit::Resume
            }
        }
    }

    /// Wakes the coroutine. Returns `true` when it was `WAITING` and is now
    /// `ACTIVE`: the caller must then schedule it (rule 1). Otherwise a
    /// token is left (or it is `DONE`) and there is nothing to do (rule 3).
    #[inline]
    pub(crate) fn unpark(&self) -> bool {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let (next, schedule) = match cur & STATE_MASK {
                WAITING => (ACTIVE, true),
                DONE => return false,
                _ => {
                    if cur & NOTIFIED != 0 {
                        // Already has a token. Still synchronise with the
                        // owner's next read of the word.
                        (cur, false)
                    } else {
                        (cur | NOTIFIED, false)
                    }
                }
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

    /// ACTIVE → DONE.
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
        assert!(!s.take_token());
        assert_eq!(s.commit_park(), Commit::Parked);
        assert_eq!(s.get(), WAITING);
        assert!(s.unpark());
        assert_eq!(s.get(), ACTIVE);
        assert!(!s.unpark(), "second unpark only leaves a token");
        assert!(s.take_token());
        assert!(!s.take_token());
    }

    #[test]
    fn unpark_during_callback_resumes() {
        let s = GState::new();
        assert!(!s.unpark());
        assert_eq!(s.commit_park(), Commit::Resume);
        assert_eq!(s.get(), ACTIVE);
        assert!(!s.take_token(), "the token was consumed by the resume");
    }

    #[test]
    fn token_survives_until_next_park() {
        let s = GState::new();
        assert!(!s.unpark());
        assert!(!s.unpark());
        assert!(s.take_token());
        assert_eq!(s.commit_park(), Commit::Parked);
    }

    #[test]
    fn done_ignores_unpark() {
        let s = GState::new();
        s.finish();
        assert!(!s.unpark());
        assert_eq!(s.get(), DONE);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! Model: a waker thread sets a flag and unparks; the "coroutine" side
    //! plays worker and coroutine: park with a validate that reads the flag.
    //! Invariant: a parked coroutine is scheduled exactly once and a wake-up
    //! is never lost: the coroutine either sees the flag, consumes a token,
    //! or is made runnable by the waker.
    use super::*;
    use crate::loom::sync::Arc;
    use crate::loom::sync::atomic::{AtomicBool, AtomicUsize};

    #[test]
    fn no_lost_wakeup() {
        loom::model(|| {
            let s = Arc::new(GState::new());
            let flag = Arc::new(AtomicBool::new(false));
            let scheduled = Arc::new(AtomicUsize::new(0));

            let (s2, f2, sc2) = (s.clone(), flag.clone(), scheduled.clone());
            let waker = loom::thread::spawn(move || {
                f2.store(true, Ordering::Release);
                if s2.unpark() {
                    sc2.fetch_add(1, Ordering::Relaxed);
                }
            });

            // Coroutine + worker: loop { if flag {break}; park(validate = !flag) }
            let mut parked = false;
            loop {
                if flag.load(Ordering::Acquire) {
                    break;
                }
                if s.take_token() {
                    continue;
                }
                // Switched out; the worker runs the validate callback.
                if flag.load(Ordering::Acquire) {
                    continue; // validate said "don't park"
                }
                match s.commit_park() {
                    Commit::Resume => continue,
                    Commit::Parked => {
                        // Only the waker can make us runnable now: a lost
                        // wake-up shows up as this loop never ending.
                        while scheduled.load(Ordering::Relaxed) == 0 {
                            loom::thread::yield_now();
                        }
                        parked = true;
                        break;
                    }
                }
            }
            waker.join().unwrap();
            assert!(flag.load(Ordering::Acquire));
            assert_eq!(
                scheduled.load(Ordering::Relaxed),
                usize::from(parked),
                "scheduled iff it parked"
            );
        });
    }

    #[test]
    fn racing_unparks_schedule_once() {
        loom::model(|| {
            let s = Arc::new(GState::new());
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
