//! Helpers shared by the `chan_*` and `select_*` tests: a drop-counted
//! message type, an exactly-once ledger for stress tests, and a sleep that
//! parks a coroutine instead of blocking its worker thread.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

/// Construction and drop counts of one test's [`Tracked`] values. Each test
/// makes its own, so tests running in parallel do not see each other.
#[derive(Default)]
pub struct Counts {
    made: AtomicUsize,
    dropped: AtomicUsize,
}

impl Counts {
    pub fn new() -> Arc<Counts> {
        Arc::new(Counts::default())
    }
    pub fn made(&self) -> usize {
        self.made.load(Ordering::SeqCst)
    }
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
    /// Made and not yet dropped.
    pub fn live(&self) -> usize {
        let (m, d) = (self.made(), self.dropped());
        assert!(
            d <= m,
            "more drops ({d}) than constructions ({m}): something was dropped twice"
        );
        m - d
    }
}

/// A message that counts its constructions and drops, and catches a double
/// drop of the same value (the `alive` marker is checked and cleared).
pub struct Tracked {
    pub id: u64,
    alive: u64,
    counts: Arc<Counts>,
}

const ALIVE: u64 = 0xA11C_E5A1_1CE5_A11C;

impl Tracked {
    pub fn new(counts: &Arc<Counts>, id: u64) -> Tracked {
        counts.made.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id,
            alive: ALIVE,
            counts: counts.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        assert_eq!(
            self.alive, ALIVE,
            "Tracked {} dropped twice (or never constructed)",
            self.id
        );
        self.alive = 0;
        self.counts.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Tracked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tracked({})", self.id)
    }
}

/// Records which of `n` message ids were received; panics at once on a
/// duplicate, and [`Ledger::assert_all_once`] finds losses.
pub struct Ledger {
    seen: Vec<AtomicU8>,
}

impl Ledger {
    pub fn new(n: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            seen: (0..n).map(|_| AtomicU8::new(0)).collect(),
        })
    }
    pub fn mark(&self, id: u64) {
        let prev = self.seen[id as usize].fetch_add(1, Ordering::Relaxed);
        assert_eq!(prev, 0, "message {id} received twice");
    }
    /// How many times message `id` was marked (0 or 1: `mark` panics on
    /// a second).
    pub fn times(&self, id: u64) -> u8 {
        self.seen[id as usize].load(Ordering::Relaxed)
    }
    pub fn count(&self) -> usize {
        self.seen
            .iter()
            .filter(|s| s.load(Ordering::Relaxed) != 0)
            .count()
    }
    pub fn assert_all_once(&self) {
        let missing: Vec<usize> = (0..self.seen.len())
            .filter(|&i| self.seen[i].load(Ordering::Relaxed) == 0)
            .take(10)
            .collect();
        assert!(
            missing.is_empty(),
            "messages never received (first ids): {missing:?}"
        );
        for (i, s) in self.seen.iter().enumerate() {
            assert_eq!(s.load(Ordering::Relaxed), 1, "message {i}");
        }
    }
}

/// Sleeps without blocking a worker thread: a timed receive on a channel
/// that never delivers parks a coroutine (or blocks a plain thread).
pub fn nap(d: Duration) {
    let _ = goro::chan::never::<()>().recv_timeout(d);
}
