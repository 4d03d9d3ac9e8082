//! Call stacks of parked coroutines, for the dump (`GORO_DEBUG=stacks=1`).
//!
//! Go prints every goroutine's stack in its dumps (deadlock, `SIGQUIT`).
//! goro's dump always names each coroutine's wait reason and spawn site;
//! with `stacks=1` it also prints the frames a parked coroutine was in when
//! it parked, so a deadlock report shows *which* `recv` in *which* function
//! is stuck.
//!
//! # How
//!
//! The coroutine records its own stack as it parks: [`record`] runs on the
//! coroutine, before the switch, and captures a
//! [`std::backtrace::Backtrace`] (an unwind of the calling stack, symbols
//! resolved only when the dump prints it). The capture lives in a table
//! keyed by coroutine id until the park returns (the [`Recorded`] guard
//! removes it, also when the coroutine unwinds). The dump reads the table
//! under its lock, so a capture is never read while it is replaced or
//! freed.
//!
//! # Invariants
//!
//! 1. Only the coroutine itself inserts or removes its entry, and only on
//!    its own stack between the park's start and its return: an entry
//!    exists exactly while that park is in progress (plus, for a coroutine
//!    dropped while parked without unwinding, until the process ends).
//! 2. No lock is held across the switch: [`record`] and the guard's drop
//!    each take a shard lock for one map operation.
//! 3. When `stacks=0` (the default) the park path pays one relaxed load of
//!    [`ENABLED`] and a not-taken branch; nothing else.
//!
//! # Alternatives rejected
//!
//! * Walking a parked coroutine's stack from the dumping thread, starting
//!   at its saved stack pointer: sound (the stack is not running and stays
//!   mapped), but the release profile has no frame pointers, so it needs a
//!   DWARF unwinder over foreign register state (`gimli`/`framehop`, large
//!   dependencies in a runtime crate) plus a symboliser; and a running
//!   coroutine cannot be walked without stopping its thread. Capturing at
//!   park uses std's own unwinder and symboliser, costs nothing when off,
//!   and sees exactly the stacks a deadlock report needs (parked ones).
//! * Capturing always: an unwind costs microseconds, a hundred times a
//!   park's cost; so it is opt-in, like Go's `GOTRACEBACK` levels.
//! * Storing the capture in the coroutine header: a pointer there grows
//!   the header for everyone (`g/registry.rs` keeps it in its size class).

use std::backtrace::Backtrace;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once at start-up from `GORO_DEBUG=stacks=1` (rule 3).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Shards of the capture table (by coroutine id), so parks on different
/// workers seldom meet on one lock.
const SHARDS: usize = 16;

type Table = Mutex<BTreeMap<u64, Backtrace>>;

static TABLE: [Table; SHARDS] = [const { Mutex::new(BTreeMap::new()) }; SHARDS];

fn shard(id: u64) -> &'static Table {
    &TABLE[(id as usize) % SHARDS]
}

/// Turns recording on (`GORO_DEBUG=stacks=1`, read at start-up).
pub(crate) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether parks record their stacks (rule 3: one relaxed load).
#[inline(always)]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Removes the coroutine's capture when its park returns or unwinds.
pub(crate) struct Recorded {
    id: u64,
}

impl Drop for Recorded {
    fn drop(&mut self) {
        // Rule 1: our own entry; rule 2: the lock is not held across a park.
        let removed = lock(shard(self.id)).remove(&self.id);
        // Freed outside the lock: dropping a resolved capture frees many
        // small strings.
        drop(removed);
    }
}

/// Records the calling coroutine's stack (coroutine `id`) for the dump.
/// Called by the coroutine itself, just before it parks (rule 1).
#[cold]
#[inline(never)]
pub(crate) fn record(id: u64) -> Recorded {
    let bt = Backtrace::force_capture();
    let old = lock(shard(id)).insert(id, bt);
    drop(old);
    Recorded { id }
}

fn lock(t: &'static Table) -> std::sync::MutexGuard<'static, BTreeMap<u64, Backtrace>> {
    // A panic while the lock is held can only come from the allocator; the
    // map is still consistent then.
    t.lock().unwrap_or_else(|e| e.into_inner())
}

/// The recorded frames of parked coroutine `id`, indented for the dump,
/// or `None` when it has none (not parked, or recording off).
pub(crate) fn frames(id: u64) -> Option<String> {
    if !enabled() {
        return None;
    }
    let text = {
        let t = lock(shard(id));
        format!("{}", t.get(&id)?)
    };
    Some(trim(&text))
}

/// Symbols of frames that belong to the capture itself, not to the
/// coroutine's code: dropped from the top of a recorded stack.
const CAPTURE_FRAMES: &[&str] = &[
    "std::backtrace",
    "goro::sched::stacks::",
    "goro::sched::park::",
];

/// Symbols where the coroutine's own frames end (goro's body wrapper
/// `g::run` with its `catch_unwind`, corosensei's entry trampoline; below
/// them lies the worker's stack): cut there.
const ENTRY_FRAMES: &[&str] = &["goro::g::run", "goro::g::GRef::run_body", "corosensei::"];

/// Rewrites std's backtrace text (`  N: symbol` lines, each followed by
/// `at file:line` lines) as the dump's frame list: capture frames at the
/// top and everything from the coroutine's entry down removed, one
/// `symbol` line per frame, its location indented below it (Go's
/// traceback layout).
fn trim(text: &str) -> String {
    let mut frames: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        let l = line.trim_start();
        match l.split_once(": ") {
            Some((n, sym)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                frames.push((sym.to_string(), Vec::new()));
            }
            _ => {
                if let Some((_, locs)) = frames.last_mut() {
                    if let Some(at) = l.strip_prefix("at ") {
                        locs.push(at);
                    }
                }
            }
        }
    }
    let start = frames
        .iter()
        .rposition(|(s, _)| CAPTURE_FRAMES.iter().any(|c| s.starts_with(c)))
        .map_or(0, |i| i + 1);
    let mut out = String::new();
    for (sym, locs) in &frames[start.min(frames.len())..] {
        if ENTRY_FRAMES.iter().any(|e| sym.starts_with(e)) {
            break;
        }
        out.push_str("    ");
        out.push_str(sym);
        out.push('\n');
        for at in locs {
            out.push_str("        ");
            out.push_str(at);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_capture_and_entry_frames() {
        let text = "   0: std::backtrace::Backtrace::force_capture
             at /rustc/x/library/std/src/backtrace.rs:312:9
   1: goro::sched::stacks::record
   2: goro::sched::park::park_current
             at ./runtime/sched/park.rs:120:5
   3: goro_chan::channel::Receiver<T>::recv
   4: app::worker
             at ./src/main.rs:12:9
             at ./src/main.rs:20:5
   5: goro::g::run::{{closure}}
             at ./runtime/g/mod.rs:244:9
   6: std::panicking::catch_unwind
   7: goro::g::run
   8: corosensei::coroutine::on_stack
";
        assert_eq!(
            trim(text),
            "    goro_chan::channel::Receiver<T>::recv\n    app::worker\n        \
             ./src/main.rs:12:9\n        ./src/main.rs:20:5\n"
        );
    }

    #[test]
    fn unknown_layout_keeps_every_frame() {
        assert_eq!(trim("  0: a\n  1: b\n"), "    a\n    b\n");
        assert_eq!(trim("no frames here"), "");
    }
}
