//! Coroutine snapshots: [`coroutines`] (one [`CoroutineInfo`] per live
//! coroutine) and [`dump`], the text Go prints on `SIGQUIT` and on a
//! deadlock, one paragraph per coroutine:
//!
//! ```text
//! coroutine 17 [chan receive, 3 minutes]: name "parser", spawned at src/main.rs:42:5
//! ```
//!
//! The data comes from the registry (`g/registry.rs`): a walk of every
//! worker's list, each under its lock, plus the worker's coroutine in its
//! first run (not listed yet: its tagged running word, rule R4, read under
//! the same lock), reading only immutable header fields and atomics. A snapshot is not atomic across
//! coroutines: one that changes state during the walk shows either state.
//!
//! # Invariants
//!
//! * Nothing here blocks on a coroutine or parks: a dump must work from a
//!   signal-driven thread, from the deadlock check on an idle worker, and
//!   while every coroutine is stuck.
//! * "Waiting for" is measured from the first time a diagnostic saw the
//!   coroutine parked (the runner resets the mark at every park, a plain
//!   store): parks stay free of clock reads, and like Go, which learns the
//!   time from its garbage collector, the dump shows durations of a minute
//!   or more only.
//!
//! Alternatives rejected: a timestamp at every park (a clock read, ~20 ns,
//! on the park path the pingpong benchmark runs millions of times); stack
//! traces (see `docs/design.md`, "Diagnostics": a parked coroutine's frames
//! could be walked soundly, but symbolising costs a debug-info parser
//! dependency; the spawn site and wait reason name the coroutine instead).

use std::fmt::Write as _;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{rt, timers};
use crate::g::Header;
use crate::g::state::{ACTIVE, WAITING};

/// What a coroutine was doing when the snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoroutineState {
    /// Ready to run, in a run queue (or spawned and not yet started).
    Runnable,
    /// Running on the worker with this index.
    Running {
        /// The worker's index (`0..GOMAXPROCS`).
        worker: usize,
    },
    /// Parked until something wakes it; see [`CoroutineInfo::wait_reason`].
    Waiting,
}

/// One live coroutine, as seen by [`crate::coroutines`]: a snapshot.
/// Coroutines are listed from their first run on (a spawned coroutine
/// still waiting for its first run is only counted, in [`crate::dump`]).
///
/// ```
/// goro::run(|| {
///     let (tx, rx) = goro::chan::<()>(0);
///     let h = goro::Builder::new().name("waiter").spawn(move || rx.recv());
///     while !goro::coroutines()
///         .iter()
///         .any(|c| c.name.as_deref() == Some("waiter") && c.state == goro::CoroutineState::Waiting)
///     {
///         goro::yield_now();
///     }
///     let me = goro::coroutines().into_iter().find(|c| c.name.as_deref() == Some("waiter")).unwrap();
///     assert_eq!(me.wait_reason, Some("chan receive"));
///     tx.send(()).unwrap();
///     h.join().unwrap().unwrap();
/// });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CoroutineInfo {
    /// Its id (Go's goroutine id).
    pub id: u64,
    /// The name given with [`crate::Builder::name`].
    pub name: Option<String>,
    /// Runnable, running (on which worker) or waiting.
    pub state: CoroutineState,
    /// Why it waits (`"chan receive"`, `"select"`, `"sleep"`, `"IO wait"`,
    /// `"sync.Mutex.Lock"`, `"sync.WaitGroup.Wait"`, `"join"`, ...), when
    /// [`CoroutineState::Waiting`].
    pub wait_reason: Option<&'static str>,
    /// How long it has been waiting, at least: measured from the first
    /// snapshot that saw this wait (`None` the first time, and when not
    /// waiting).
    pub waiting_for: Option<Duration>,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// Whether it is pinned to one worker ([`crate::lock_os_thread`],
    /// [`crate::Builder::pinned`]).
    pub pinned: bool,
}

/// The live coroutines of `scope` (all of them for 0), except `except`.
pub(crate) fn scope_members(scope: u64, except: Option<u64>) -> Vec<CoroutineInfo> {
    let rt = rt();
    let n = rt.nstarted.load(Ordering::Acquire);
    let mut ids = std::collections::HashSet::new();
    let mut visit = |h: &Header| {
        if (scope == 0 || h.scope == scope) && Some(h.id) != except {
            ids.insert(h.id);
        }
    };
    for s in &rt.slots[..n] {
        s.registry
            .for_each_with_running(s.proc.running_word(), &mut visit);
    }
    coroutines()
        .into_iter()
        .filter(|c| ids.contains(&c.id))
        .collect()
}

/// A snapshot of every live coroutine, by id. Costs a walk of the registry
/// (O(live coroutines)); it does not stop the world.
pub(crate) fn coroutines() -> Vec<CoroutineInfo> {
    let rt = rt();
    let n = rt.nstarted.load(Ordering::Acquire);
    let running: Vec<*mut Header> = rt.slots[..n].iter().map(|s| s.proc.running()).collect();
    let now = timers::now_ns();
    let mut out = Vec::new();
    let mut visit = |h: &Header| out.push(info(h, &running, now));
    for s in &rt.slots[..n] {
        s.registry
            .for_each_with_running(s.proc.running_word(), &mut visit);
    }
    out.sort_by_key(|c| c.id);
    out
}

/// What the running word `running` (untagged) names (`sched/mod.rs` rule
/// W2): the registry entry at that address, or the coroutine in its first
/// run there, read under its list's lock, or `None` if no live coroutine
/// is there any more.
pub(crate) fn running_info(running: *mut Header) -> Option<CoroutineInfo> {
    if running.is_null() {
        return None;
    }
    let rt = rt();
    let n = rt.nstarted.load(Ordering::Acquire);
    let all: Vec<*mut Header> = rt.slots[..n].iter().map(|s| s.proc.running()).collect();
    let now = timers::now_ns();
    let mut found = None;
    for s in &rt.slots[..n] {
        s.registry
            .for_each_with_running(s.proc.running_word(), |h| {
                if found.is_none() && std::ptr::eq(h, running) {
                    found = Some(info(h, &all, now));
                }
            });
        if found.is_some() {
            break;
        }
    }
    found
}

fn info(h: &Header, running: &[*mut Header], now: u64) -> CoroutineInfo {
    let me = NonNull::from(h).as_ptr();
    let (state, wait_reason, waiting_for) = match h.state.load() {
        WAITING => {
            let seen = match h.wait_seen.compare_exchange(
                0,
                now.max(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => None,
                Err(t) => Some(Duration::from_nanos(now.saturating_sub(t))),
            };
            (CoroutineState::Waiting, Some(h.wait_reason.get()), seen)
        }
        ACTIVE => match running.iter().position(|&p| p == me) {
            Some(worker) => (CoroutineState::Running { worker }, None, None),
            None => (CoroutineState::Runnable, None, None),
        },
        _ => (CoroutineState::Runnable, None, None),
    };
    CoroutineInfo {
        id: h.id,
        name: h.name.as_deref().map(str::to_string),
        state,
        wait_reason,
        waiting_for,
        spawned_at: h.spawned_at,
        pinned: h.pin.load() != crate::g::Pin::Anywhere,
    }
}

/// One paragraph of the dump (without the blank line after it).
pub(crate) fn format_one(c: &CoroutineInfo, out: &mut String) {
    let _ = write!(out, "coroutine {} [", c.id);
    match c.state {
        CoroutineState::Runnable => out.push_str("runnable"),
        CoroutineState::Running { worker } => {
            let _ = write!(out, "running on worker {worker}");
        }
        CoroutineState::Waiting => {
            out.push_str(c.wait_reason.filter(|r| !r.is_empty()).unwrap_or("waiting"));
            if let Some(d) = c.waiting_for {
                let min = d.as_secs() / 60;
                if min == 1 {
                    out.push_str(", 1 minute");
                } else if min > 1 {
                    let _ = write!(out, ", {min} minutes");
                }
            }
        }
    }
    if c.pinned {
        out.push_str(", locked to thread");
    }
    out.push_str("]:");
    if let Some(n) = &c.name {
        let _ = write!(out, " name {n:?},");
    }
    let _ = write!(out, " spawned at {}", c.spawned_at);
}

/// Every live coroutine, one paragraph each, in Go's traceback layout.
pub(crate) fn dump() -> String {
    let mut out = String::new();
    let all = coroutines();
    for c in &all {
        format_one(c, &mut out);
        out.push('\n');
        // `GORO_DEBUG=stacks=1`: where a parked coroutine parked.
        if c.state == CoroutineState::Waiting {
            if let Some(frames) = super::stacks::frames(c.id) {
                out.push_str(&frames);
            }
        }
        out.push('\n');
    }
    // Seen from their first run on (`g/registry.rs`): the rest are queued.
    let unstarted = rt().num_goroutine().saturating_sub(all.len());
    if unstarted > 0 {
        let _ = writeln!(
            out,
            "{unstarted} coroutine(s) spawned and not yet started [runnable]\n"
        );
    }
    let threads = goro_chan::waiter::parked_threads().0;
    if threads > 0 {
        let _ = writeln!(
            out,
            "{threads} plain thread(s) blocked in goro waits (joins, channels, sync) without a deadline\n"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraph_format() {
        let mut s = String::new();
        let c = CoroutineInfo {
            id: 17,
            name: Some("parser".into()),
            state: CoroutineState::Waiting,
            wait_reason: Some("chan receive"),
            waiting_for: Some(Duration::from_secs(200)),
            spawned_at: Location::caller(),
            pinned: false,
        };
        format_one(&c, &mut s);
        assert!(
            s.starts_with("coroutine 17 [chan receive, 3 minutes]: name \"parser\", spawned at "),
            "{s}"
        );
        s.clear();
        let c = CoroutineInfo {
            state: CoroutineState::Running { worker: 1 },
            name: None,
            pinned: true,
            ..c
        };
        format_one(&c, &mut s);
        assert!(
            s.starts_with("coroutine 17 [running on worker 1, locked to thread]: spawned at "),
            "{s}"
        );
    }
}
