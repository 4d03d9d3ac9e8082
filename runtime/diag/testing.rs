//! Test helpers (Go's `goleak`): run a test body as a coroutine with a leak
//! check and a timeout. `#[goro::test]` expands to [`run_test`].
//!
//! # Scopes
//!
//! Cargo runs tests in parallel in one process, so "coroutines still alive
//! after the test" must mean *this test's*: every coroutine carries a leak
//! scope, inherited from whoever spawned it (`sched/dump.rs`). [`run_test`]
//! gives the test body a fresh scope; its coroutines, their children and so
//! on share it, and only they are checked.
//!
//! # Invariants
//!
//! * A leak is reported only after a grace period ([`LEAK_GRACE`]):
//!   coroutines that are finishing (a `defer`-style cleanup, a last send)
//!   get time to do so.
//! * The check never blocks on a leaked coroutine: it reads the registry.
//!
//! Alternative rejected: comparing against the coroutines alive before the
//! test (`goleak.IgnoreCurrent`): with tests in parallel, another test's
//! coroutines would count as this one's leaks.

use std::time::{Duration, Instant};

use crate::builder::Builder;
use crate::sched::dump::{self, CoroutineInfo, format_one};
use crate::sched::{rt, scope, worker};

/// How long a leak check waits for stragglers before it fails.
pub const LEAK_GRACE: Duration = Duration::from_secs(1);

/// Options of [`run_test`] (what `#[goro::test(...)]` sets).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TestOptions {
    /// Fail the test if its coroutines outlive it. Default `true`
    /// (`#[goro::test(leaks = "allow")]` sets `false`).
    pub check_leaks: bool,
    /// Fail the test, with a dump, if it runs longer. Default `None`
    /// (`#[goro::test(timeout = "10s")]`).
    pub timeout: Option<Duration>,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            check_leaks: true,
            timeout: None,
        }
    }
}

impl TestOptions {
    /// Sets [`TestOptions::check_leaks`] (default `true`).
    pub fn check_leaks(mut self, on: bool) -> Self {
        self.check_leaks = on;
        self
    }
    /// Sets [`TestOptions::timeout`] (default none).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
}

/// Parses a `#[goro::test(timeout = "...")]` duration: a whole number with
/// a unit, `ms`, `s` or `m` (`"500ms"`, `"10s"`, `"2m"`).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(goro::testing::parse_duration("10s"), Ok(Duration::from_secs(10)));
/// assert_eq!(goro::testing::parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert!(goro::testing::parse_duration("10").is_err());
/// ```
///
/// # Errors
///
/// A message naming the value if it is not a number followed by a unit.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. \"500ms\", \"10s\", \"2m\""))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        _ => Err(format!(
            "invalid duration {s:?}: the unit must be ms, s or m (e.g. \"10s\")"
        )),
    }
}

fn report(what: &str, list: &[CoroutineInfo]) -> String {
    let mut out = format!("{what}\n\n");
    for c in list {
        format_one(c, &mut out);
        out.push_str("\n\n");
    }
    out
}

/// Waits up to `grace` for the coroutines of `scope` (all, for 0) other
/// than `except` to finish; returns the ones still alive (listed) and how
/// many of those have not even started (counted only, `sched/dump.rs`).
///
/// The body of a [`run_test`] is `None` here: it has returned, and is
/// counted only until its worker finishes it, a moment later.
fn stragglers(scope: u64, except: Option<u64>, grace: Duration) -> (Vec<CoroutineInfo>, usize) {
    let until = Instant::now() + grace;
    loop {
        let listed = dump::scope_members(scope, except);
        let alive = if scope == 0 {
            rt().num_goroutine()
                .saturating_sub(usize::from(except.is_some()))
        } else {
            scope::scope_live(scope).saturating_sub(usize::from(except.is_some()))
        };
        let unstarted = alive.saturating_sub(listed.len());
        if (listed.is_empty() && unstarted == 0) || Instant::now() >= until {
            return (listed, unstarted);
        }
        // Let them run: a coroutine parks on a timer, a thread sleeps.
        if worker::current().is_some() {
            crate::time::sleep(Duration::from_millis(5));
        } else {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn leak_report(what: &str, (listed, unstarted): &(Vec<CoroutineInfo>, usize)) -> Option<String> {
    let n = listed.len() + unstarted;
    if n == 0 {
        return None;
    }
    let mut out = report(
        &format!(
            "goro: {what} {n} coroutine(s) (still alive {LEAK_GRACE:?} after the check began):"
        ),
        listed,
    );
    if *unstarted > 0 {
        out.push_str(&format!(
            "{unstarted} coroutine(s) spawned and never started [runnable]\n"
        ));
    }
    Some(out)
}

/// Panics, printing their dump, if coroutines are still alive after a
/// grace period of [`LEAK_GRACE`] (Go's `goleak.VerifyNone`).
///
/// Which coroutines: called in a [`run_test`] (or `#[goro::test]`) body,
/// the other coroutines of that test; anywhere else, every coroutine but
/// the caller, which in a test binary running tests in parallel includes
/// the other tests' (use `#[goro::test]` there).
///
/// ```
/// goro::run(|| {
///     let h = goro::go!(|| 1 + 1);
///     assert_eq!(h.join().unwrap(), 2);
/// });
/// goro::testing::assert_no_leaks();
/// ```
///
/// # Panics
///
/// If any of those coroutines is still alive after the grace period.
#[track_caller]
pub fn assert_no_leaks() {
    let (scope, me) = match worker::current() {
        Some((_, h)) => {
            // SAFETY: the running coroutine (the caller) is live.
            let h = unsafe { h.as_ref() };
            (h.scope, Some(h.id))
        }
        None => (0, None),
    };
    if let Some(msg) = leak_report("leaked", &stragglers(scope, me, LEAK_GRACE)) {
        panic!("{msg}");
    }
}

/// Runs `body` as a coroutine in a fresh leak scope and waits for it (Go's
/// `go test` with goleak): a panic in the body fails the test (it is
/// resumed here); then, unless `opts.check_leaks` is off, the test fails
/// if coroutines it spawned are still alive after [`LEAK_GRACE`]; with
/// `opts.timeout`, a body still running after it fails the test with a
/// dump (the stuck coroutines are left behind: they cannot be cancelled).
///
/// ```
/// goro::testing::run_test(goro::testing::TestOptions::default(), || {
///     let h = goro::go!(|| 21 * 2);
///     assert_eq!(h.join().unwrap(), 42);
/// });
/// ```
///
/// # Panics
///
/// As described: the body's own panic, a leak, or a timeout.
#[track_caller]
pub fn run_test<F, T>(opts: TestOptions, body: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    assert!(
        worker::current().is_none(),
        "goro::testing::run_test runs on a plain thread (the test's), not on a coroutine"
    );
    let scope = scope::new_scope();
    let h = scope::with_thread_scope(scope, || Builder::new().name("test").spawn(body));
    let result = match opts.timeout {
        None => h.join(),
        Some(limit) => {
            let (tx, rx) = goro_chan::chan(1);
            // Unscoped: it outlives the check by a moment.
            Builder::new().spawn(move || {
                let _ = tx.send(h.join());
            });
            match rx.recv_timeout(limit) {
                Ok(r) => r,
                Err(_) => panic!(
                    "{}",
                    report(
                        &format!("goro: test timed out after {limit:?}; its coroutines:"),
                        &dump::scope_members(scope, None)
                    )
                ),
            }
        }
    };
    let value = match result {
        Ok(v) => v,
        Err(p) => p.resume(),
    };
    if opts.check_leaks
        && let Some(msg) = leak_report("test leaked", &stragglers(scope, None, LEAK_GRACE))
    {
        panic!("{msg}");
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in ["", "s", "10", "10h", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
