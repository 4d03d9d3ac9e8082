//! `Ticker` and `tick`: ticks are never early relative to
//! `start + k·period`, strictly increasing, and a slow receiver finds at
//! most one buffered; `stop` stops (and leaves nothing stale); `reset`
//! changes the period and restarts the phase; dropping a `Ticker` stops
//! it; and `tick()` whose receivers are all dropped stops ticking, so
//! thousands of abandoned 1 ms ticks do not keep the runtime busy.

mod common;

use std::time::{Duration, Instant};

use goro::chan::RecvTimeoutError;
use goro::time::{self, Ticker};

const LIMIT: Duration = Duration::from_secs(60);

/// Receives `n` ticks and checks the k-th (1-based) is at or after
/// `start + k·period` and later than the one before.
fn check_ticks(t: &Ticker, start: Instant, period: Duration, n: u32) {
    let mut last = start;
    for k in 1..=n {
        let at = t.c().recv().expect("a ticker keeps ticking");
        assert!(
            at >= start + period * k,
            "tick {k} early by {:?}",
            (start + period * k) - at
        );
        assert!(at > last, "ticks out of order");
        assert!(Instant::now() >= at);
        last = at;
    }
}

#[test]
fn ticks_never_early() {
    common::watchdog("ticks never early", LIMIT, || {
        goro::run(|| {
            let period = Duration::from_millis(4);
            let start = Instant::now();
            let t = Ticker::new(period);
            check_ticks(&t, start, period, 15);
        });
        // From a plain thread too.
        let period = Duration::from_millis(3);
        let start = Instant::now();
        let t = Ticker::new(period);
        check_ticks(&t, start, period, 5);
    });
}

#[test]
fn slow_receiver_gets_one_buffered_tick() {
    common::watchdog("slow receiver", LIMIT, || {
        goro::run(|| {
            let t = Ticker::new(Duration::from_millis(1));
            time::sleep(Duration::from_millis(30));
            // About 30 ticks came due; the channel holds one, the rest were
            // dropped (Go).
            assert!(t.c().len() <= 1);
            let first = t.c().recv().unwrap();
            let second = t.c().recv().unwrap();
            assert!(second > first);
        });
    });
}

#[test]
fn stop_stops_and_leaves_nothing_stale() {
    common::watchdog("ticker stop", LIMIT, || {
        goro::run(|| {
            let t = Ticker::new(Duration::from_millis(2));
            t.c().recv().unwrap();
            // Let a tick land in the buffer, then stop: it is drained.
            while t.c().is_empty() {
                time::sleep(Duration::from_millis(1));
            }
            t.stop();
            assert!(t.c().try_recv().is_err(), "stale tick after stop");
            assert_eq!(
                t.c().recv_timeout(Duration::from_millis(30)),
                Err(RecvTimeoutError::Timeout)
            );
            t.stop(); // idempotent
        });
    });
}

#[test]
fn reset_changes_period() {
    common::watchdog("ticker reset", LIMIT, || {
        goro::run(|| {
            // From an hour to 3 ms: ticks follow the new period, phased
            // from the reset.
            let t = Ticker::new(Duration::from_secs(3600));
            let start = Instant::now();
            t.reset(Duration::from_millis(3));
            check_ticks(&t, start, Duration::from_millis(3), 6);

            // Back to an hour: a tick that was buffered is drained and no
            // more arrive.
            while t.c().is_empty() {
                time::sleep(Duration::from_millis(1));
            }
            t.reset(Duration::from_secs(3600));
            assert!(t.c().try_recv().is_err(), "stale tick after reset");
            assert_eq!(
                t.c().recv_timeout(Duration::from_millis(30)),
                Err(RecvTimeoutError::Timeout)
            );

            // After a stop, reset restarts it.
            t.stop();
            let start = Instant::now();
            t.reset(Duration::from_millis(2));
            check_ticks(&t, start, Duration::from_millis(2), 3);
        });
    });
}

#[test]
fn dropping_the_ticker_stops_it() {
    common::watchdog("ticker drop", LIMIT, || {
        goro::run(|| {
            let t = Ticker::new(Duration::from_millis(2));
            let rx = t.c().clone();
            rx.recv().unwrap();
            drop(t);
            // No tick arrives any more: the wait times out, or the channel
            // reports that its sender (the ticker) is gone.
            assert!(
                rx.recv_timeout(Duration::from_millis(30)).is_err(),
                "a dropped Ticker kept ticking"
            );
        });
    });
}

#[test]
#[should_panic(expected = "non-positive interval")]
fn zero_period_panics() {
    let _ = Ticker::new(Duration::ZERO);
}

#[test]
fn tick_delivers() {
    common::watchdog("tick delivers", LIMIT, || {
        goro::run(|| {
            let start = Instant::now();
            let ticks = time::tick(Duration::from_millis(2));
            for k in 1..=5u32 {
                assert!(ticks.recv().unwrap() >= start + Duration::from_millis(2) * k);
            }
        });
    });
}

/// CPU time (user + system) this process has used.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct we pass; zeroed is a valid
    // `rusage`.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut ru), 0);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// 5000 `tick(1 ms)` channels whose receivers are dropped at once. Were
/// they still ticking, that would be 5M timer fires a second: the process
/// would burn at least a core. Stopped, the runtime is idle. Measured as
/// process CPU time over half a second, in a child so other tests' work
/// does not count; the bound (half of one core) is far from both cases.
#[test]
fn tick_with_dropped_receivers_stops() {
    const NAME: &str = "tick_with_dropped_receivers_stops";
    if !common::is_child(NAME) {
        common::assert_child_passes(NAME, &[], LIMIT);
        return;
    }
    goro::run(|| {
        let mut keep = Vec::new();
        for _ in 0..5000 {
            keep.push(time::tick(Duration::from_millis(1)));
        }
        // They tick (each receiver sees ticks)...
        keep[0].recv().unwrap();
        keep[4999].recv().unwrap();
        // ...until their receivers are gone.
        drop(keep);
        time::sleep(Duration::from_millis(100));
        let (cpu0, t0) = (cpu_time(), Instant::now());
        time::sleep(Duration::from_millis(500));
        let (cpu, wall) = (cpu_time() - cpu0, t0.elapsed());
        assert!(
            cpu < wall / 2,
            "abandoned ticks keep the runtime busy: {cpu:?} CPU in {wall:?}"
        );
    });
}
