//! Seeing inside the runtime (the layer above `sched`): the public
//! [`dump`], [`coroutines`] and [`metrics`] calls, and [`testing`] (the leak
//! check behind `#[goro::test]`).
//!
//! The machinery these read lives below, where the runtime's start-up can
//! reach it: the registry of live coroutines (`g/registry.rs`), snapshots
//! and the dump text (`sched/dump.rs`), counters and the schedtrace line
//! (`sched/metrics.rs`), global deadlock detection (`sched/deadlock.rs`)
//! and the `SIGQUIT` dump (`sched/sigquit.rs`). `docs/design.md`,
//! "Diagnostics", gives the whole picture.
//!
//! Invariant: nothing here parks or needs a coroutine to make progress,
//! so every call works while the program is stuck.
//!
//! Alternative rejected: putting the public functions next to their
//! machinery in `sched` (the crate root would then reach into the
//! scheduler for its public API, and `testing`, which spawns and joins,
//! belongs above it anyway).

pub mod testing;

pub use crate::sched::dump::{CoroutineInfo, CoroutineState};
pub use crate::sched::metrics::Metrics;

/// Every live coroutine, one paragraph each, in the layout of Go's
/// goroutine dump (what `SIGQUIT` and deadlock reports print):
///
/// ```text
/// coroutine 17 [chan receive, 3 minutes]: name "parser", spawned at src/main.rs:42:5
/// ```
///
/// With `GORO_DEBUG=stacks=1` each parked coroutine's paragraph also lists
/// the frames it parked in, one symbol per line (`file:line` below it when
/// debug info exists), from the function that parked down to the
/// coroutine's body; recording them costs an unwind per park.
///
/// ```
/// goro::run(|| {
///     let (tx, rx) = goro::chan::<()>(0);
///     let h = goro::Builder::new().name("parser").spawn(move || rx.recv());
///     while !goro::dump().contains("[chan receive") {
///         goro::yield_now();
///     }
///     assert!(goro::dump().contains("name \"parser\""));
///     tx.send(()).unwrap();
///     h.join().unwrap().unwrap();
/// });
/// ```
pub fn dump() -> String {
    crate::sched::dump::dump()
}

/// A snapshot of every live coroutine that has started (id, name, state,
/// wait reason, how long it has waited, spawn site, pinning), sorted by id.
/// Coroutines spawned but not yet run for the first time are not listed
/// (registering them at their first run keeps `go!` free of it). O(live
/// coroutines); it does not stop the world, so a coroutine that changes
/// state meanwhile shows either state.
///
/// ```
/// let ids: Vec<u64> = goro::run(|| goro::coroutines().iter().map(|c| c.id).collect());
/// assert!(!ids.is_empty(), "at least the main coroutine");
/// ```
pub fn coroutines() -> Vec<CoroutineInfo> {
    crate::sched::dump::coroutines()
}

/// A snapshot of the runtime's counters and gauges: see [`Metrics`].
///
/// ```
/// let m = goro::metrics();
/// assert_eq!(m.workers, goro::maxprocs());
/// assert_eq!(m.local_queue_depths.len() >= m.workers, true);
/// ```
pub fn metrics() -> Metrics {
    crate::sched::metrics::metrics()
}
