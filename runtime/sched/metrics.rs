//! Runtime metrics: [`Metrics`], a plain snapshot of the scheduler's
//! counters and gauges, and the `SCHED` line `GORO_DEBUG=schedtrace=<ms>`
//! prints.
//!
//! # Invariants
//!
//! * **No shared line on the hot path.** Every counter that moves per
//!   spawn, park or steal lives in its worker's `Counters` (one cache line
//!   per worker, written only by that worker, with a load and a store:
//!   [`bump`]); readers sum them. Gauges (queue depths, idle and spinning
//!   workers, timers, I/O waiters, stacks) are read from the structures
//!   that already hold them.
//! * A snapshot is not atomic: each number is exact for some moment during
//!   the call. `parked` walks the registry (O(live coroutines)).
//!
//! Alternatives rejected: global atomic counters (every spawn and park on
//! one line shared by all workers); counting parked coroutines with a
//! counter (a wake-up would have to decrement it from any thread).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Runtime, Slot, netpoll, rt};
use crate::g::state::WAITING;

/// Adds one to a counter only its owning worker writes: a load and a store,
/// no read-modify-write (readers only sum).
#[inline]
pub(crate) fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// A snapshot of the runtime's counters (`goro::metrics()`).
///
/// ```
/// goro::run(|| {
///     let before = goro::metrics();
///     let hs: Vec<_> = (0..10).map(|_| goro::go!(|| ())).collect();
///     hs.into_iter().for_each(|h| h.join().unwrap());
///     let after = goro::metrics();
///     assert!(after.spawned_total >= before.spawned_total + 10);
///     assert_eq!(after.workers, goro::maxprocs());
/// });
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// GOMAXPROCS.
    pub workers: usize,
    /// Workers asleep waiting for work.
    pub idle: usize,
    /// Workers looking for work to steal.
    pub spinning: usize,
    /// goro's own OS threads (workers, the stack scavenger, and pool
    /// threads while they are not running user code).
    pub threads: usize,
    /// Coroutines spawned and not finished (Go's `NumGoroutine`).
    pub live: usize,
    /// Of those, the ones parked (waiting on a channel, lock, timer, I/O...).
    pub parked: usize,
    /// Coroutines ever spawned.
    pub spawned_total: u64,
    /// Parks ever committed (a park that returned at once is not counted).
    pub parks_total: u64,
    /// Successful steals from other workers' queues.
    pub steals_total: u64,
    /// Per worker: coroutines queued (`runnext`, local and timer queues).
    pub local_queue_depths: Vec<usize>,
    /// Coroutines in the global queue.
    pub global_queue_depth: usize,
    /// Timer entries armed (sleeps, timeouts, `Timer`s, tickers; cancelled
    /// entries not yet swept included).
    pub timers_armed: usize,
    /// Parties waiting for a socket to become ready.
    pub io_waiters: usize,
    /// Free stacks kept ready for reuse in the shared pool.
    pub stacks_cached: usize,
    /// Free stacks whose memory was given back to the system.
    pub stacks_released: usize,
}

fn queued(s: &Slot) -> usize {
    s.stealer.get().map_or(0, |q| q.len())
        + s.timer_stealer.get().map_or(0, |q| q.len())
        + usize::from(!s.runnext.load(Ordering::Relaxed).is_null())
}

/// Takes a snapshot.
pub(crate) fn metrics() -> Metrics {
    let rt = rt();
    let n = rt.nstarted.load(Ordering::Acquire);
    let slots = &rt.slots[..n];
    let sum = |f: fn(&super::Counters) -> &AtomicU64| -> u64 {
        slots
            .iter()
            .map(|s| &*s.counters)
            .chain(std::iter::once(&*rt.foreign))
            .map(|c| f(c).load(Ordering::Relaxed))
            .sum()
    };
    let mut parked = 0;
    let mut count = |h: &crate::g::Header| parked += usize::from(h.state.load() == WAITING);
    for s in slots {
        s.registry.for_each(&mut count);
    }
    let (stacks_cached, stacks_released) = rt.stacks.totals();
    Metrics {
        workers: rt.nprocs.load(Ordering::Relaxed),
        idle: rt.idle.nidle(),
        spinning: rt.idle.nspinning(),
        threads: crate::g::registry::own_thread_count(),
        live: rt.num_goroutine(),
        parked,
        spawned_total: sum(|c| &c.spawned),
        parks_total: sum(|c| &c.parks),
        steals_total: sum(|c| &c.steals),
        local_queue_depths: slots.iter().map(queued).collect(),
        global_queue_depth: rt.injector.len(),
        timers_armed: slots.iter().map(|s| s.timers.len()).sum(),
        io_waiters: netpoll::IO_WAITERS.load(Ordering::Relaxed),
        stacks_cached,
        stacks_released,
    }
}

/// One `GORO_DEBUG=schedtrace` line, in Go's layout plus goro's fields:
/// `SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0
/// idlethreads=0 runqueue=0 [3 0] live=12 parked=4 timers=1`.
pub(crate) fn sched_line(elapsed_ms: u128, m: &Metrics) -> String {
    let mut s = format!(
        "SCHED {elapsed_ms}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} idlethreads={} runqueue={} [",
        m.workers, m.idle, m.threads, m.spinning, m.idle, m.global_queue_depth
    );
    for (i, d) in m.local_queue_depths.iter().take(m.workers).enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{d}");
    }
    let _ = write!(
        s,
        "] live={} parked={} timers={}",
        m.live, m.parked, m.timers_armed
    );
    s
}

/// Starts the schedtrace thread if `GORO_DEBUG=schedtrace=<ms>` asked.
pub(crate) fn start_schedtrace(rt: &'static Runtime) {
    let ms = rt.config.schedtrace_ms;
    if ms == 0 {
        return;
    }
    let t0 = std::time::Instant::now();
    let started = std::thread::Builder::new()
        .name("goro-schedtrace".into())
        .spawn(move || {
            let _own = crate::g::registry::OwnThread::register();
            let period = std::time::Duration::from_millis(ms);
            let mut next = t0 + period;
            loop {
                if let Some(d) = next.checked_duration_since(std::time::Instant::now()) {
                    std::thread::sleep(d);
                }
                next += period;
                report!("{}", sched_line(t0.elapsed().as_millis(), &metrics()));
            }
        });
    if let Err(e) = started {
        report!("goro: GORO_DEBUG=schedtrace: cannot start the trace thread: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sched_line_layout() {
        let m = Metrics {
            workers: 2,
            idle: 1,
            threads: 3,
            local_queue_depths: vec![3, 0],
            live: 12,
            parked: 4,
            timers_armed: 1,
            ..Metrics::default()
        };
        assert_eq!(
            sched_line(1004, &m),
            "SCHED 1004ms: gomaxprocs=2 idleprocs=1 threads=3 spinningthreads=0 idlethreads=1 runqueue=0 [3 0] live=12 parked=4 timers=1"
        );
    }
}
