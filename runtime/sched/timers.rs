//! The timer driver, a scheduler driver (Go's `P.timers`): the runtime
//! clock, per-worker timer heaps, and the rule for which idle worker sleeps
//! until the next deadline. The user-facing API (`sleep`, `Timer`, ...) is
//! in `time/`; it reaches this file only through [`arm_callback_timer`],
//! [`timer_entry_dead`], the clock and the [`Fire`] trait.
//!
//! # Shape (Go's, simplified)
//!
//! * Every worker slot owns a 4-ary heap (`timer_heap.rs`) behind a
//!   mutex that is almost always uncontended: timers are added by the
//!   worker that runs the parking coroutine, and run by whichever worker
//!   notices they are due (so a busy owner does not delay them).
//! * `next` is a lower bound on the earliest deadline in any heap
//!   (`u64::MAX`: none). Adding a timer lowers it with `fetch_min`; a worker
//!   that has run the due timers recomputes it from the per-heap minima and
//!   publishes it with a compare-exchange against the value it started from,
//!   so a concurrent, earlier insertion is never overwritten; then it
//!   re-reads every heap's minimum and lowers `next` to it, which catches an
//!   insertion into a heap it had already scanned (that one's `fetch_min`
//!   did not lower `next`, and the compare-exchange would have raised
//!   `next` past it: a timer that never fires).
//! * Busy workers compare `next` with the clock at every scheduling point
//!   (one load when there are no timers). Among idle workers exactly one, the
//!   *timer sleeper*, sleeps with a timeout (until `next`); the rest sleep
//!   without one. Adding a timer that becomes the earliest wakes the sleeper
//!   (or, if there is none, one idle worker, which then takes the role). No
//!   worker ever wakes on a fixed period.
//!
//! Invariant: a due timer is always noticed by some worker. Either a
//! worker is busy (it checks `next` every tick), or the sleeper's timeout
//! is at most `next`, or the insertion that lowered `next` woke a worker.
//! The sleeper role is taken with a `SeqCst` compare-exchange *before*
//! reading `next`, and inserters lower `next` (`SeqCst`) *before* reading
//! the role, so one of the two always sees the other.
//!
//! # Cancellation
//!
//! A parked coroutine's timeout is cancelled by bumping its `timer_seq`: an
//! entry whose `seq` no longer matches is dead and is skipped when it
//! reaches the top, or swept out when dead entries pass half the heap.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use super::timer_heap::{Timed, TimerHeap};
use crate::g::{GRef, Header};

/// No timer / no sleeper.
pub(crate) const NONE: u64 = u64::MAX;
const NO_SLEEPER: usize = usize::MAX;

static EPOCH: OnceLock<Instant> = OnceLock::new();

fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds on the runtime clock (monotonic, from first use).
#[inline]
pub(crate) fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

/// An `Instant` on the runtime clock (earlier instants map to 0).
pub(crate) fn instant_ns(t: Instant) -> u64 {
    t.saturating_duration_since(epoch())
        .as_nanos()
        .min(NONE as u128 - 1) as u64
}

/// A timer with a callback (`Timer`, `Ticker`, `after`): fires with the
/// epoch it was armed with; a stop or reset bumps the epoch, which
/// makes older entries dead.
pub(crate) trait Fire: Send + Sync {
    /// Whether an entry armed with `epoch` is still wanted.
    fn is_current(&self, epoch: u64) -> bool;
    /// Runs on a worker (no timer-heap lock held). Must not block.
    fn fire(self: std::sync::Arc<Self>, epoch: u64);
}

/// What a timer does when it fires.
pub(crate) enum Target {
    /// Wake a parked coroutine, if its timer was not cancelled since.
    Park { g: GRef, seq: u64 },
    /// Run a callback, if its epoch is still current.
    Callback {
        task: std::sync::Arc<dyn Fire>,
        epoch: u64,
    },
}

pub(crate) struct Entry {
    when: u64,
    target: Target,
}

impl Timed for Entry {
    fn when(&self) -> u64 {
        self.when
    }
}

impl Entry {
    fn live(&self) -> bool {
        match &self.target {
            Target::Park { g, seq } => g.header().timer_seq.load(Ordering::Relaxed) == *seq,
            Target::Callback { task, epoch } => task.is_current(*epoch),
        }
    }

    /// Runs the timer's action. A park timeout hands back the coroutine
    /// to ready (the entry's reference); the scheduler readies it.
    pub(crate) fn fire(self) -> Option<GRef> {
        match self.target {
            Target::Park { g, seq } => {
                // Consume the arming: a later cancel then knows the entry is
                // gone and must not count it as stale.
                let ts = &g.header().timer_seq;
                ts.compare_exchange(seq, seq + 1, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                    .then_some(g)
            }
            Target::Callback { task, epoch } => {
                task.fire(epoch);
                None
            }
        }
    }
}

/// One worker slot's timers.
pub(crate) struct SlotTimers {
    heap: Mutex<TimerHeap<Entry>>,
    /// Earliest deadline in `heap` (`NONE` if empty).
    when: AtomicU64,
    /// Cancelled entries still in `heap` (approximate).
    stale: AtomicUsize,
}

impl SlotTimers {
    pub(crate) fn new() -> Self {
        SlotTimers {
            heap: Mutex::new(TimerHeap::new()),
            when: AtomicU64::new(NONE),
            stale: AtomicUsize::new(0),
        }
    }

    /// Entries in the heap, cancelled ones not yet swept included.
    pub(crate) fn len(&self) -> usize {
        self.heap.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Counts one entry that became dead without leaving the heap.
    pub(crate) fn mark_stale(&self) {
        self.stale.fetch_add(1, Ordering::Relaxed);
    }

    fn add(&self, e: Entry) {
        let mut h = self.heap.lock().unwrap_or_else(|p| p.into_inner());
        let stale = self.stale.load(Ordering::Relaxed);
        if h.len() >= 64 && stale > h.len() / 2 {
            h.retain(Entry::live);
            self.stale.store(0, Ordering::Relaxed);
        }
        let when = e.when;
        h.push(e);
        // Only a new earliest entry changes `when`. Most insertions land
        // below the top, and skipping the store keeps the line from
        // bouncing to the workers that read it in `run_due`.
        if when < self.when.load(Ordering::Relaxed) {
            // SeqCst: `Timers::run_due`'s re-read relies on it.
            self.when.store(when, Ordering::SeqCst);
        }
    }

    /// Moves due entries into `out`. Returns the heap's new earliest deadline,
    /// or 0 if another worker holds the heap (so it is re-checked soon).
    fn take_due(&self, now: u64, out: &mut Vec<Entry>) -> u64 {
        let w = self.when.load(Ordering::Acquire);
        if w > now {
            return w;
        }
        let Ok(mut h) = self.heap.try_lock() else {
            return 0;
        };
        h.pop_due(now, out);
        let top = h.peek_when().unwrap_or(NONE);
        self.when.store(top, Ordering::SeqCst);
        top
    }
}

/// Runtime-wide timer coordination.
pub(crate) struct Timers {
    /// Lower bound on every heap's earliest deadline.
    pub(crate) next: AtomicU64,
    /// Index of the idle worker sleeping until `next`, or `NO_SLEEPER`.
    sleeper: AtomicUsize,
}

impl Timers {
    pub(crate) fn new() -> Self {
        Timers {
            next: AtomicU64::new(NONE),
            sleeper: AtomicUsize::new(NO_SLEEPER),
        }
    }

    /// Whether some timer may be due now (cheap when there are none).
    #[inline]
    pub(crate) fn maybe_due(&self) -> bool {
        let n = self.next.load(Ordering::Relaxed);
        n != NONE && n <= now_ns()
    }

    /// Adds `e` to `slot`. Returns `true` if it became the earliest timer of
    /// the runtime: the caller must then wake the sleeper (see
    /// [`Timers::sleeper`]).
    pub(crate) fn add(&self, slot: &SlotTimers, e: Entry) -> bool {
        let when = e.when;
        slot.add(e);
        // Most timers are not the earliest: then `next` (a line every
        // worker shares) is only read. Skipping the read-modify-write is
        // safe: our heap's earliest deadline, at most `when`, is published
        // (`SeqCst`) before this load, so a `run_due` that raises `next`
        // after the load re-reads it (see there).
        if self.next.load(Ordering::SeqCst) <= when {
            return false;
        }
        self.next.fetch_min(when, Ordering::SeqCst) > when
    }

    /// Moves every due timer in `slots` into `buf`, for the caller to
    /// [`Entry::fire`]. Returns whether the caller must wake the timer
    /// sleeper (it lowered `next` on behalf of an entry added during the
    /// scan; see below).
    pub(crate) fn run_due<'a>(
        &self,
        slots: impl Iterator<Item = &'a SlotTimers> + Clone,
        buf: &mut Vec<Entry>,
    ) -> bool {
        let seen = self.next.load(Ordering::SeqCst);
        let now = now_ns();
        if seen > now {
            return false;
        }
        let mut min = NONE;
        for s in slots.clone() {
            min = min.min(s.take_due(now, buf));
        }
        if min != seen {
            let _ = self
                .next
                .compare_exchange(seen, min, Ordering::SeqCst, Ordering::Relaxed);
        }
        // `min` misses an entry pushed into a heap after we scanned it whose
        // `fetch_min` ran before our compare-exchange and did not lower
        // `next` (its deadline was later than `seen`): the compare-exchange
        // then raised `next` past it, and nothing would ever fire it. So
        // re-read every heap's earliest (`SeqCst`, as `add` stores it): an
        // entry pushed before this read is seen here; one pushed after it
        // has its `fetch_min` after our compare-exchange, which it lowers.
        let mut lowered = false;
        for s in slots {
            let w = s.when.load(Ordering::SeqCst);
            if w < self.next.load(Ordering::SeqCst) && self.next.fetch_min(w, Ordering::SeqCst) > w
            {
                // Its inserter may have found `next` already low enough and
                // not woken the sleeper: that is now our job.
                lowered = true;
            }
        }
        lowered
    }

    /// Tries to become the timer sleeper. On success returns how long to
    /// sleep (`None`: no timers, sleep until woken). Call
    /// [`Timers::stop_sleeping`] after waking.
    pub(crate) fn try_sleeper(&self, me: usize) -> Option<Option<std::time::Duration>> {
        self.sleeper
            .compare_exchange(NO_SLEEPER, me, Ordering::SeqCst, Ordering::SeqCst)
            .ok()?;
        let next = self.next.load(Ordering::SeqCst);
        Some((next != NONE).then(|| std::time::Duration::from_nanos(next.saturating_sub(now_ns()))))
    }

    pub(crate) fn stop_sleeping(&self) {
        self.sleeper.store(NO_SLEEPER, Ordering::SeqCst);
    }

    /// The current timer sleeper, if any.
    pub(crate) fn sleeper(&self) -> Option<usize> {
        let s = self.sleeper.load(Ordering::SeqCst);
        (s != NO_SLEEPER).then_some(s)
    }
}

/// Arms a park timeout for the coroutine `h` in `slot` (index `home`).
/// Returns the sequence number it was armed with (for [`cancel_park`]) and
/// whether the caller must wake the timer sleeper.
pub(crate) fn arm_park(
    timers: &Timers,
    slot: &SlotTimers,
    home: usize,
    h: NonNull<Header>,
    when: u64,
) -> (u64, bool) {
    // SAFETY: called from the park callback, while the coroutine's run
    // reference is held by its worker; the header is live.
    let hdr = unsafe { h.as_ref() };
    let seq = hdr.timer_seq.load(Ordering::Relaxed);
    hdr.timer_home.store(home, Ordering::Relaxed);
    crate::g::inc_ref(h);
    // SAFETY: the reference just taken belongs to the entry.
    let g = unsafe { GRef::from_raw(h) };
    (
        seq,
        timers.add(
            slot,
            Entry {
                when,
                target: Target::Park { g, seq },
            },
        ),
    )
}

/// Arms callback timer `task` (epoch `epoch`) for `when` in `slot`.
/// Returns `true` if the caller must wake the timer sleeper.
pub(crate) fn arm_callback(
    timers: &Timers,
    slot: &SlotTimers,
    when: u64,
    task: std::sync::Arc<dyn Fire>,
    epoch: u64,
) -> bool {
    timers.add(
        slot,
        Entry {
            when,
            target: Target::Callback { task, epoch },
        },
    )
}

/// Cancels the park timeout armed for `hdr` with sequence `seq` (called by
/// the coroutine itself once it runs again). If the timer already fired, its
/// entry is gone and there is nothing to do; otherwise the entry becomes dead
/// and is counted for the next sweep.
pub(crate) fn cancel_park(
    hdr: &Header,
    seq: u64,
    slot_of: impl FnOnce(usize) -> &'static SlotTimers,
) {
    if hdr
        .timer_seq
        .compare_exchange(seq, seq + 1, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
    {
        slot_of(hdr.timer_home.load(Ordering::Relaxed))
            .stale
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts one dead entry (a stopped or reset timer) in slot `index`'s heap,
/// so the heap sweeps dead entries once they outnumber live ones.
pub(crate) fn timer_entry_dead(index: usize) {
    super::rt().slots[index].timers.mark_stale();
}
