//! `goro::resilience::steward`: a steward restarts a ward that stops
//! sending heartbeats, leaves a healthy ward alone, pulses its own
//! heartbeat, nests, restarts a ward that exits at most once per timeout,
//! and ends with every ward when its `done` closes (`num_goroutine` back to
//! the baseline). Scenarios run under GOMAXPROCS 1, 2 and 8 (more workers
//! than cores) in child processes with a deadline.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use goro::chan::{Receiver, chan};
use goro::resilience::{steward, steward_with};
use goro::select;

const LIMIT: Duration = Duration::from_secs(60);

/// One worker, two, and more workers than this 2-core machine has cores.
const PROCS: [usize; 3] = [1, 2, 8];

fn settle_to(n: usize) {
    while goro::num_goroutine() != n {
        goro::time::sleep(Duration::from_millis(1));
    }
}

/// A ward that pulses `pulses` times at its pulse interval, then hangs
/// (still honouring `done`); `starts` counts how often it was started and
/// `stops` how often a started ward saw `done` close.
fn flaky_ward(
    pulses: usize,
    starts: Arc<AtomicUsize>,
    stops: Arc<AtomicUsize>,
) -> impl Fn(Receiver<()>, Duration) -> Receiver<()> + Send + Sync + 'static {
    move |done: Receiver<()>, interval: Duration| {
        starts.fetch_add(1, Ordering::SeqCst);
        let stops = stops.clone();
        let (hb_tx, hb) = chan::<()>(1);
        goro::go!(move || {
            let mut sent = 0;
            loop {
                select! {
                    recv(done) -> _ => {
                        stops.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    default(interval) => {
                        if sent < pulses {
                            sent += 1;
                            let _ = hb_tx.try_send(());
                        }
                    }
                }
            }
        });
        hb
    }
}

#[test]
fn a_ward_that_stops_pulsing_is_restarted() {
    common::for_procs(
        "a_ward_that_stops_pulsing_is_restarted",
        &PROCS,
        LIMIT,
        || {
            goro::run(|| {
                let baseline = goro::num_goroutine();
                let (starts, stops) =
                    (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
                let (restart_tx, restarts) = chan::<u64>(64);
                let start = steward_with(
                    Duration::from_millis(20),
                    flaky_ward(3, starts.clone(), stops.clone()),
                    move |n| {
                        let _ = restart_tx.try_send(n);
                    },
                );
                let (done_tx, done) = chan::<()>(0);
                let _hb = start(done, Duration::from_millis(50));
                // Restarts are numbered from 1, one per silent period.
                for n in 1..=3u64 {
                    assert_eq!(restarts.recv(), Some(n));
                }
                done_tx.close();
                settle_to(baseline);
                let (starts, stops) = (starts.load(Ordering::SeqCst), stops.load(Ordering::SeqCst));
                assert!(starts >= 4, "first ward plus three restarts, got {starts}");
                assert_eq!(stops, starts, "every ward it started was told to stop");
            });
        },
    );
}

#[test]
fn a_healthy_ward_is_left_alone_and_the_steward_pulses() {
    common::for_procs(
        "a_healthy_ward_is_left_alone_and_the_steward_pulses",
        &PROCS,
        LIMIT,
        || {
            goro::run(|| {
                let baseline = goro::num_goroutine();
                let (starts, stops) =
                    (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
                let restarts = Arc::new(AtomicUsize::new(0));
                let r = restarts.clone();
                // Timeout 1 s: the ward pulses every 500 ms, far inside it
                // even on a loaded machine.
                let start = steward_with(
                    Duration::from_secs(1),
                    flaky_ward(usize::MAX, starts.clone(), stops.clone()),
                    move |_| {
                        r.fetch_add(1, Ordering::SeqCst);
                    },
                );
                let (done_tx, done) = chan::<()>(0);
                let hb = start(done, Duration::from_millis(10));
                for _ in 0..30 {
                    assert_eq!(hb.recv(), Some(()), "the steward's own heartbeat");
                }
                assert_eq!(restarts.load(Ordering::SeqCst), 0);
                assert_eq!(starts.load(Ordering::SeqCst), 1);
                done_tx.close();
                assert_eq!(
                    hb.recv(),
                    None,
                    "the heartbeat closes when the steward ends"
                );
                settle_to(baseline);
                assert_eq!(stops.load(Ordering::SeqCst), 1);
            });
        },
    );
}

#[test]
fn a_ward_that_exits_is_restarted_once_per_timeout_not_in_a_loop() {
    common::watchdog("exiting_ward", LIMIT, || {
        goro::run(|| {
            let starts = Arc::new(AtomicUsize::new(0));
            let s = starts.clone();
            let quitter = move |_done: Receiver<()>, _: Duration| {
                s.fetch_add(1, Ordering::SeqCst);
                let (_tx, hb) = chan::<()>(1);
                hb // its sender is dropped: the heartbeat is closed at once
            };
            let (restart_tx, restarts) = chan::<u64>(1024);
            let start = steward_with(Duration::from_millis(10), quitter, move |n| {
                let _ = restart_tx.try_send(n);
            });
            let (done_tx, done) = chan::<()>(0);
            let begin = std::time::Instant::now();
            let hb = start(done, Duration::from_secs(1));
            assert_eq!(restarts.recv(), Some(1));
            assert_eq!(restarts.recv(), Some(2));
            // Two restarts take two timeouts: the closed heartbeat is not
            // taken as a pulse (which would spin) nor as a reason to
            // restart at once.
            assert!(begin.elapsed() >= Duration::from_millis(20));
            done_tx.close();
            assert_eq!(hb.recv(), None, "the steward ended");
            // At most one start per timeout that passed (plus the first),
            // however long this coroutine was descheduled.
            let n = starts.load(Ordering::SeqCst);
            let timeouts = (begin.elapsed().as_millis() / 10) as usize;
            assert!(
                n >= 3 && n <= timeouts + 1,
                "{n} starts in {timeouts} timeouts"
            );
        });
    });
}

#[test]
fn stewards_nest_and_end_together() {
    common::for_procs("stewards_nest_and_end_together", &PROCS, LIMIT, || {
        goro::run(|| {
            let baseline = goro::num_goroutine();
            let (starts, stops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let inner = steward(
                Duration::from_millis(15),
                flaky_ward(2, starts.clone(), stops.clone()),
            );
            let outer = steward(Duration::from_secs(5), inner);
            let (done_tx, done) = chan::<()>(0);
            let hb = outer(done, Duration::from_millis(5));
            // The inner steward keeps pulsing for the outer one while it
            // restarts its ward underneath.
            while starts.load(Ordering::SeqCst) < 4 {
                assert_eq!(hb.recv(), Some(()));
            }
            done_tx.close();
            settle_to(baseline);
            assert_eq!(stops.load(Ordering::SeqCst), starts.load(Ordering::SeqCst));
        });
    });
}
