//! Taking work from elsewhere: other workers' queues (half a queue at a
//! time), a victim's `runnext` (only from a victim stuck on one coroutine),
//! slots whose processor was retaken (`monitor.rs` rule M3), and the
//! spinner's short linger before it sleeps. The policy is in `sched/mod.rs`
//! ("Scheduling policy"); the hot path (`find_runnable`'s own queues) stays
//! in `worker.rs`.
//!
//! Invariants: a steal moves coroutines between run queues only (crossbeam
//! `Stealer`s, the `runnext` swap), so a coroutine is in at most one queue
//! and is run by whoever took it; nothing here runs a coroutine.
//!
//! Alternatives rejected: stealing `runnext` at once (splits a
//! message-passing pair that was about to run on its own worker); stealing
//! one coroutine at a time (a busy victim is visited again and again).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_deque::Steal;

use super::{Ctx, LINGER};
use crate::g::GRef;
use crate::sched::Slot;

impl Ctx {
    /// Steals half of `victim`'s timer queue, else half of its local queue,
    /// into ours; returns one coroutine to run.
    fn steal_queues(&self, victim: &Slot) -> Option<GRef> {
        for (st, into) in [
            (victim.timer_stealer.get(), &self.timer_ready),
            (victim.stealer.get(), &self.local),
        ] {
            let Some(st) = st else { continue };
            loop {
                match st.steal_batch_and_pop(into) {
                    Steal::Success(g) => {
                        // The rest of a batch stolen from a timer queue
                        // is now in ours.
                        self.timer_queued.set(true);
                        crate::sched::metrics::bump(&self.slot.counters.steals);
                        return Some(g);
                    }
                    Steal::Empty => break,
                    Steal::Retry => std::hint::spin_loop(),
                }
            }
        }
        None
    }

    /// `monitor.rs` rule M3: takes work from slots whose processor was
    /// retaken while they ran (a lone worker never spins, so it would not
    /// find it otherwise).
    #[cold]
    pub(super) fn steal_retaken(&self) -> Option<GRef> {
        let rt = self.rt;
        let n = rt.nstarted.load(Ordering::Acquire);
        for (v, slot) in rt.slots[..n].iter().enumerate() {
            if v == self.index || !slot.proc.retaken.load(Ordering::Relaxed) {
                continue;
            }
            if let Some(g) = self.steal_queues(slot) {
                return Some(g);
            }
            if let Some(g) = slot.take_runnext() {
                return Some(g);
            }
        }
        None
    }

    pub(super) fn steal_others(&self) -> Option<GRef> {
        let rt = self.rt;
        let n = rt.nstarted.load(Ordering::Acquire);
        if n <= 1 {
            return None;
        }
        for round in 0..4 {
            let start = self.rng.borrow_mut().usize(..n);
            for k in 0..n {
                let v = (start + k) % n;
                if v == self.index {
                    continue;
                }
                let slot = &rt.slots[v];
                if let Some(g) = self.steal_queues(slot) {
                    return Some(g);
                }
                if round == 3
                    && let Some(g) = self.steal_runnext(slot)
                {
                    return Some(g);
                }
            }
            if let Some(g) = self.steal_global() {
                return Some(g);
            }
        }
        None
    }

    /// A spinner that found nothing waits a little before sleeping, still
    /// counted as spinning. Work often reappears within microseconds (a
    /// message-passing pair readies its partner every few hundred
    /// nanoseconds), and while a spinner exists `wakep` is a no-op, so this
    /// saves a futex wake-up per hand-off. Go gets the same effect from the
    /// `usleep(3)` in its steal loop.
    pub(super) fn linger(&self) -> Option<GRef> {
        std::thread::sleep(LINGER);
        if let Some(g) = self
            .slot
            .pop_pinned()
            .or_else(|| self.pop_local())
            .or_else(|| self.steal_global())
        {
            return Some(g);
        }
        self.steal_others()
    }

    /// Takes a victim's `runnext`, but only if the victim has been stuck on
    /// one coroutine for a few microseconds: usually it is about to run it
    /// itself, and stealing would split a message-passing pair.
    fn steal_runnext(&self, victim: &Slot) -> Option<GRef> {
        if victim.runnext.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let t0 = victim.tick.load(Ordering::Relaxed);
        let until = Instant::now() + Duration::from_micros(3);
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        if victim.tick.load(Ordering::Relaxed) != t0 {
            return None;
        }
        victim.take_runnext()
    }
}
