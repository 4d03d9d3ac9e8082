//! Leak-check scopes (`goro::testing`, `#[goro::test]`): every coroutine
//! carries one, inherited from whoever spawned it (a plain thread's comes
//! from a thread-local that `run_test` sets), and a scope counts its live
//! coroutines, started or not. So a test's leak check sees its own
//! coroutines, not those of tests running in parallel, including ones that
//! have not run yet (the registry lists coroutines from their first run).
//!
//! # Invariants
//!
//! * A scope is never freed (a few bytes per test), so the `u64` in a
//!   header is 0 or a valid `&'static Scope`.
//! * `live` is incremented at spawn, before the coroutine can run, and
//!   decremented at its exit, on its last worker: it never goes below the
//!   number of unfinished coroutines of the scope.
//! * Outside tests (scope 0) the cost is one compare at exit, and at spawn
//!   one load of a process-wide flag that stays false until the first scope
//!   is made ([`SCOPES_EXIST`]): a program that never uses
//!   `goro::testing` never reads the spawner's header or thread-local.
//! * A non-zero scope in a header implies the flag was set before: the
//!   scope was made (flag set) before the first coroutine of it was
//!   spawned, and every later spawner of that scope runs after that spawn
//!   (queue hand-offs synchronise), so its load of the flag sees `true`.
//!
//! Alternative rejected: comparing against the coroutines alive before the
//! test (`goleak.IgnoreCurrent`): tests run in parallel in one process.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::g::Header;

std::thread_local! {
    /// The leak-check scope a plain thread gives the coroutines it spawns
    /// (`goro::testing`); 0: none.
    static THREAD_SCOPE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Set by the first [`new_scope`]; never cleared.
static SCOPES_EXIST: AtomicBool = AtomicBool::new(false);

/// The scope a new coroutine inherits: its spawner's (`running`, the
/// coroutine calling `spawn`, or the plain thread's). 0 at once if no scope
/// was ever made (module docs).
#[inline]
pub(crate) fn spawn_scope(running: impl FnOnce() -> Option<NonNull<Header>>) -> u64 {
    if !SCOPES_EXIST.load(Ordering::Relaxed) {
        return 0;
    }
    match running() {
        // SAFETY: the running coroutine's header is live (its worker holds
        // the run reference while it runs, and we are on it).
        Some(h) => unsafe { h.as_ref() }.scope,
        None => THREAD_SCOPE.with(|s| s.get()),
    }
}

/// Runs `f` (on a plain thread) with `scope` as the scope of the coroutines
/// it spawns.
pub(crate) fn with_thread_scope<T>(scope: u64, f: impl FnOnce() -> T) -> T {
    let old = THREAD_SCOPE.with(|s| s.replace(scope));
    let r = f();
    THREAD_SCOPE.with(|s| s.set(old));
    r
}

/// A leak-check scope (`goro::testing`): how many of its coroutines are
/// alive. Scopes are leaked (a few bytes per test), so the `u64` a header
/// holds is always a valid address to one, or 0 for none.
pub(crate) struct Scope {
    live: std::sync::atomic::AtomicUsize,
}

/// A fresh leak-check scope.
pub(crate) fn new_scope() -> u64 {
    SCOPES_EXIST.store(true, Ordering::Relaxed);
    let s: &'static Scope = Box::leak(Box::new(Scope {
        live: std::sync::atomic::AtomicUsize::new(0),
    }));
    s as *const Scope as u64
}

fn scope_ref(scope: u64) -> Option<&'static Scope> {
    // SAFETY: a non-zero scope was made by `new_scope` from a leaked Box.
    (scope != 0).then(|| unsafe { &*(scope as *const Scope) })
}

/// Counts a coroutine of `scope` in (at spawn) or out (at exit). Off the
/// fast path when there is no scope (outside tests): one compare.
#[inline]
pub(crate) fn scope_count(scope: u64, delta: isize) {
    if let Some(s) = scope_ref(scope) {
        if delta > 0 {
            s.live.fetch_add(1, Ordering::Relaxed);
        } else {
            s.live.fetch_sub(1, Ordering::Release);
        }
    }
}

/// Live coroutines of `scope` (started or not).
pub(crate) fn scope_live(scope: u64) -> usize {
    scope_ref(scope).map_or(0, |s| s.live.load(Ordering::Acquire))
}
