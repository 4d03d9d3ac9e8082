//! Running out of stacks is one clear error, not one line per coroutine.
//!
//! A coroutine that cannot get a stack at its first run (the address space
//! or memory is exhausted: `ulimit -v`, an overcommit limit, too many
//! mappings) completes with a panic naming the cause. On stderr the *first*
//! such failure is printed in full with its cause; later ones are only
//! counted, and the count is summed up in one line: at a worker's fairness
//! tick at most every 10 s while the program runs (a server that runs out
//! of memory now and then is told), and at exit (an `atexit` hook).
//! Before this, spawning a million coroutines under `ulimit -v 4G` printed
//! 3,812 lines and then aborted in the allocator.
//!
//! Invariants: every failure is either the printed first one or counted in
//! [`STACK_FAILURES`] until a summary line takes it out (a `swap`, so no
//! failure is summed twice or lost); printing allocates nothing beyond the
//! message the caller already built.
//!
//! Alternatives rejected: printing every failure (thousands of identical
//! lines hide the cause); printing only the count at exit (a long-running
//! program would never say anything).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Coroutines that could not get a stack since the last summary line (the
/// first failure is printed in full and not counted here).
static STACK_FAILURES: AtomicU64 = AtomicU64::new(0);
/// A stack allocation failed once: the next ones are only counted.
static STACK_FAILED: AtomicBool = AtomicBool::new(false);

/// When the failures were last summed up (runtime clock, ns).
static STACK_SUMMARY_AT: AtomicU64 = AtomicU64::new(0);
/// At most one summary line per this many ns while the program runs.
const STACK_SUMMARY_EVERY: u64 = 10_000_000_000;

/// Prints how many more coroutines could not get a stack, if any: at exit,
/// and while running at most every 10 s (a server that runs out of memory
/// now and then is told, without a line per coroutine).
#[cold]
fn report_stack_failures(at_exit: bool) {
    let now = super::timers::now_ns();
    let last = STACK_SUMMARY_AT.load(Ordering::Relaxed);
    if !at_exit
        && (now.saturating_sub(last) < STACK_SUMMARY_EVERY
            || STACK_SUMMARY_AT
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err())
    {
        return;
    }
    let n = STACK_FAILURES.swap(0, Ordering::Relaxed);
    if n > 0 {
        report!("goro: {n} more coroutines could not get a stack (same cause)");
    }
}

extern "C" fn report_stack_failures_at_exit() {
    report_stack_failures(true);
}

/// Reports one coroutine's stack failure, `msg` naming the coroutine and
/// the cause: printed in full the first time, counted afterwards.
#[cold]
pub(crate) fn report(msg: &str) {
    if !STACK_FAILED.swap(true, Ordering::Relaxed) {
        report!(
            "{msg} (each coroutine that cannot get a stack fails with this panic; further failures are counted)"
        );
        STACK_SUMMARY_AT.store(super::timers::now_ns(), Ordering::Relaxed);
        // SAFETY: registering a plain `extern "C" fn` that only reads an
        // atomic and writes to stderr.
        unsafe { libc::atexit(report_stack_failures_at_exit) };
    } else {
        STACK_FAILURES.fetch_add(1, Ordering::Relaxed);
    }
}

/// At a worker's fairness tick: the summary line, if failures were counted
/// and the last line is old enough (one relaxed load when there are none).
#[inline]
pub(crate) fn summarize_if_any() {
    if STACK_FAILURES.load(Ordering::Relaxed) != 0 {
        report_stack_failures(false);
    }
}
