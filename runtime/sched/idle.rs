//! The idle/spinning protocol's one owner (tokio's `Idle`, Go's `sched.npidle`
//! / `sched.nmspinning` and `pidle` list): how many workers spin, which
//! sleep, and the rule that makes a lost wake-up impossible.
//!
//! # State
//!
//! * `nspinning`: workers looking for work (stealing) without having found
//!   any. At most half the busy workers spin ([`Idle::try_spin`]).
//! * `sleepers` (behind a mutex) and its length mirrored in `nidle`: the
//!   workers asleep, or about to be, that a producer may wake.
//!
//! # The no-lost-wake-up argument (every access below is `SeqCst`)
//!
//! 1. A worker going to sleep first *publishes* itself ([`Idle::push`]),
//!    then issues a `SeqCst` fence and looks at every queue once more
//!    (`Runtime::has_work`); it parks only if all are empty.
//! 2. A producer that put work where others must find it (the global queue,
//!    a pinned inbox) issues a `SeqCst` fence, then reads `nidle` and
//!    `nspinning` ([`Idle::should_wake`]).
//! 3. In the single total order of `SeqCst` operations, either the sleeper's
//!    recheck comes after the producer's push (it sees the work and stays
//!    up) or the producer's read comes after the sleeper's publication (it
//!    sees `nidle > 0` and wakes somebody, [`Idle::claim_wakee`]).
//! 4. Work pushed to a worker's *own* queues is not fenced: if that wake-up
//!    is missed, the pushing worker runs the coroutine itself; only
//!    parallelism is lost, never progress (Go makes the same trade).
//! 5. A woken worker starts as a spinner: the waker counts it
//!    ([`Idle::claim_wakee`] increments `nspinning` before choosing it), so
//!    that while it is on its way nobody wakes a second one; the spinner
//!    that finds work and was the last one wakes the next ([`Idle::stop_spinning`]
//!    returns `true`): the `wakep` chain.
//!
//! Alternatives rejected: a lock-free idle stack (the list changes only when
//! a worker sleeps or wakes, microseconds apart, so the mutex is never hot,
//! and it makes "remove me, unless someone already popped me" trivial);
//! fields changed from several files (the old shape: the argument above was
//! made in one file and implemented in two).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

pub(crate) struct Idle {
    nspinning: AtomicUsize,
    nidle: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    /// Bumped (under the `sleepers` lock) by every change of the list, for
    /// the deadlock check (`deadlock.rs`): unchanged means nobody joined or
    /// left.
    generation: AtomicU64,
}

impl Idle {
    pub(crate) fn new(capacity: usize) -> Self {
        Idle {
            nspinning: AtomicUsize::new(0),
            nidle: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::with_capacity(capacity)),
            generation: AtomicU64::new(0),
        }
    }

    fn sleepers(&self) -> std::sync::MutexGuard<'_, Vec<usize>> {
        let g = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        // Every caller may change the list; counting the lock taken is
        // enough (and simpler than counting each change).
        self.generation.store(
            self.generation.load(Ordering::Relaxed) + 1,
            Ordering::SeqCst,
        );
        g
    }

    /// See the field: changes whenever the list may have.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Idle workers (a snapshot).
    #[inline]
    pub(crate) fn nidle(&self) -> usize {
        self.nidle.load(Ordering::Relaxed)
    }

    /// Spinning workers (a snapshot).
    #[inline]
    pub(crate) fn nspinning(&self) -> usize {
        self.nspinning.load(Ordering::Relaxed)
    }

    /// Whether all `nprocs` workers sleep and none spins (`SeqCst`: the
    /// monitor's park, `monitor.rs` rule M5, relies on it).
    pub(crate) fn all_idle(&self, nprocs: usize) -> bool {
        self.nidle.load(Ordering::SeqCst) >= nprocs && self.nspinning.load(Ordering::SeqCst) == 0
    }

    /// Rule 2: whether a producer should wake a worker (someone sleeps and
    /// nobody spins). The caller has fenced if its work is not on its own
    /// queues.
    #[inline]
    pub(crate) fn should_wake(&self) -> bool {
        self.nidle.load(Ordering::SeqCst) != 0 && self.nspinning.load(Ordering::SeqCst) == 0
    }

    /// Rules 3 and 5: becomes the one waker of a spinner. Returns the worker
    /// to wake (already counted as spinning and off the list), or `None` if
    /// another producer got there first or nobody sleeps.
    #[cold]
    pub(crate) fn claim_wakee(&self) -> Option<usize> {
        self.nspinning
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed)
            .ok()?;
        let w = self.pop();
        if w.is_none() {
            self.nspinning.fetch_sub(1, Ordering::SeqCst);
        }
        w
    }

    /// A sleeper to wake for a reason other than spinning (timers).
    pub(crate) fn pop(&self) -> Option<usize> {
        let mut s = self.sleepers();
        let i = s.pop()?;
        self.nidle.store(s.len(), Ordering::SeqCst);
        Some(i)
    }

    /// Rule 1: publishes worker `i` as idle, unless `active` says it was
    /// retired (checked under the lock so a concurrent `retain` cannot
    /// miss it). Returns whether it was published.
    pub(crate) fn push(&self, i: usize, active: impl FnOnce() -> bool) -> bool {
        let mut s = self.sleepers();
        if !active() {
            return false;
        }
        s.push(i);
        self.nidle.store(s.len(), Ordering::SeqCst);
        true
    }

    /// Takes worker `i` off the list; `false` if it was not on it (somebody
    /// popped it to wake it).
    pub(crate) fn remove(&self, i: usize) -> bool {
        let mut s = self.sleepers();
        let Some(pos) = s.iter().position(|&x| x == i) else {
            return false;
        };
        s.swap_remove(pos);
        self.nidle.store(s.len(), Ordering::SeqCst);
        true
    }

    /// Keeps only the workers `keep` accepts (GOMAXPROCS shrank, or a
    /// processor moved: `monitor.rs` rule M1). The caller changed what
    /// `keep` reads before calling, so a concurrent [`Idle::push`] either
    /// ran first (and is dropped here) or sees the change under the lock.
    pub(crate) fn retain(&self, keep: impl Fn(usize) -> bool) {
        let mut s = self.sleepers();
        s.retain(|&i| keep(i));
        self.nidle.store(s.len(), Ordering::SeqCst);
    }

    /// Becomes a spinner if fewer than half of the `nprocs` minus idle
    /// workers spin. `false` with a single worker (nobody to steal from).
    pub(crate) fn try_spin(&self, nprocs: usize) -> bool {
        if nprocs <= 1 {
            return false;
        }
        let busy = nprocs.saturating_sub(self.nidle.load(Ordering::Relaxed));
        if 2 * self.nspinning.load(Ordering::Relaxed) >= busy {
            return false;
        }
        self.nspinning.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Counts a spinner back in (a sleeper that found work on its recheck
    /// and resumes spinning).
    pub(crate) fn resume_spinning(&self) {
        self.nspinning.fetch_add(1, Ordering::SeqCst);
    }

    /// Stops spinning. Returns `true` if this was the last spinner: rule 5
    /// says the caller, having found work, should wake the next.
    pub(crate) fn stop_spinning(&self) -> bool {
        self.nspinning.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// Whether, out of `nprocs`, some worker besides the caller is running
    /// a coroutine (neither idle nor spinning). Relaxed: a heuristic for
    /// spin-before-park decisions.
    #[inline]
    pub(crate) fn busy_elsewhere(&self, nprocs: usize) -> bool {
        nprocs > self.nidle() + self.nspinning() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_waker_per_spinner() {
        let idle = Idle::new(4);
        assert!(!idle.should_wake());
        assert!(idle.push(2, || true));
        assert!(idle.push(3, || true));
        assert!(!idle.push(5, || false), "retired workers are not published");
        assert!(idle.should_wake());
        assert_eq!(idle.claim_wakee(), Some(3));
        assert_eq!(idle.nspinning(), 1);
        assert!(!idle.should_wake(), "a spinner is on its way");
        assert_eq!(idle.claim_wakee(), None);
        assert!(idle.stop_spinning(), "the last spinner wakes the next");
        assert!(idle.remove(2));
        assert!(!idle.remove(2));
        assert_eq!(idle.nidle(), 0);
    }

    #[test]
    fn spinners_are_at_most_half_the_busy() {
        let idle = Idle::new(4);
        assert!(!idle.try_spin(1));
        assert!(idle.try_spin(4));
        assert!(idle.try_spin(4));
        assert!(!idle.try_spin(4));
        idle.push(0, || true);
        idle.push(1, || true);
        idle.retain(|i| i < 1);
        assert_eq!(idle.nidle(), 1);
    }
}
