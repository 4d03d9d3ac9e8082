//! `time::sleep` and `sleep_until`: never early, late by at most a bound a
//! loaded machine can hold (in a child process, so other tests sharing the
//! runtime do not add to the lateness), 100K concurrent sleepers all wake,
//! a sleeping coroutine frees its worker, and `select!` with
//! `time::after` (the timeout wins only when nothing else is ready, and
//! never early).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goro::chan::chan;
use goro::sync::WaitGroup;
use goro::{select, time};

const LIMIT: Duration = Duration::from_secs(120);
/// Lateness a sleep may show on a loaded CI machine: generous on purpose,
/// this is a hang bound, not a performance figure.
const LATE_BOUND: Duration = Duration::from_millis(500);

fn child_ok(name: &str, env: &[(&str, &str)]) {
    common::assert_child_passes(name, env, LIMIT);
}

/// Sleeps of many lengths, from many coroutines and from a plain thread,
/// checked against `[d, d + LATE_BOUND]`.
#[test]
fn sleep_never_early_and_bounded_late() {
    const NAME: &str = "sleep_never_early_and_bounded_late";
    if !common::is_child(NAME) {
        return child_ok(NAME, &[]);
    }
    let lengths: Vec<Duration> = [0u64, 1, 50, 500, 1_000, 3_000, 10_000, 40_000]
        .iter()
        .map(|&us| Duration::from_micros(us))
        .collect();
    let check = |d: Duration, took: Duration, who: &str| {
        assert!(
            took >= d,
            "{who}: sleep({d:?}) returned early, after {took:?}"
        );
        assert!(took <= d + LATE_BOUND, "{who}: sleep({d:?}) took {took:?}");
    };
    let thread = std::thread::spawn({
        let lengths = lengths.clone();
        move || {
            for &d in &lengths {
                let t = Instant::now();
                time::sleep(d);
                check(d, t.elapsed(), "thread");
            }
        }
    });
    goro::run(move || {
        let wg = WaitGroup::new();
        for i in 0..200usize {
            let lengths = lengths.clone();
            wg.go(move || {
                for r in 0..4 {
                    let d = lengths[(i + r) % lengths.len()];
                    let t = Instant::now();
                    if r % 2 == 0 {
                        time::sleep(d);
                    } else {
                        time::sleep_until(t + d);
                    }
                    check(d, t.elapsed(), "coroutine");
                }
            });
        }
        wg.wait();
    });
    thread.join().unwrap();
}

/// 100K coroutines sleep at once (1–100 ms, spread); every one wakes, none
/// early. Run under 1, 2 and many workers.
#[test]
fn sleep_100k_concurrent() {
    common::for_each_procs("sleep_100k_concurrent", LIMIT, || {
        const N: usize = 100_000;
        let woke = goro::run(|| {
            let woke = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            wg.add(N as isize);
            for i in 0..N {
                let (wg, woke) = (wg.clone(), woke.clone());
                goro::go!(move || {
                    // A spread of lengths, so many timers share a deadline
                    // and many do not.
                    let d = Duration::from_micros(1_000 + (i as u64 * 7919) % 99_000);
                    let t = Instant::now();
                    time::sleep(d);
                    assert!(t.elapsed() >= d, "sleep({d:?}) returned early");
                    woke.fetch_add(1, Ordering::Relaxed);
                    wg.done();
                });
            }
            wg.wait();
            woke.load(Ordering::Relaxed)
        });
        assert_eq!(woke, N);
    });
}

/// `sleep(0)` and a `sleep_until` in the past return; a huge sleep is
/// accepted (it parks "forever") without overflowing.
#[test]
fn zero_and_past_sleeps_return() {
    common::watchdog("zero and past sleeps", LIMIT, || {
        goro::run(|| {
            time::sleep(Duration::ZERO);
            time::sleep_until(Instant::now() - Duration::from_millis(1));
            time::sleep_until(Instant::now());
            let h = goro::go!(|| time::sleep(Duration::MAX));
            // Still parked (it sleeps forever): it must not have finished.
            time::sleep(Duration::from_millis(20));
            assert!(!h.is_finished(), "sleep(Duration::MAX) returned");
        });
        time::sleep(Duration::ZERO);
    });
}

/// With one worker, a coroutine sleeping (for an hour) does not hold the
/// worker: other coroutines run to completion meanwhile. If sleep blocked
/// the thread, this would hang and the child's deadline would fail it.
#[test]
fn sleeping_coroutine_frees_its_worker() {
    const NAME: &str = "sleeping_coroutine_frees_its_worker";
    if !common::is_child(NAME) {
        return child_ok(NAME, &[("GOMAXPROCS", "1")]);
    }
    assert_eq!(goro::maxprocs(), 1);
    goro::run(|| {
        let (started_tx, started) = chan::<()>(0);
        let sleeper = goro::go!(move || {
            started_tx.send(()).unwrap();
            time::sleep(Duration::from_secs(3600));
        });
        started.recv().unwrap();
        let sum: u64 = (0..100u64)
            .map(|i| goro::go!(move || (0..1000u64).map(|x| x ^ i).sum::<u64>()))
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(
            sum,
            (0..100u64)
                .map(|i| (0..1000u64).map(|x| x ^ i).sum::<u64>())
                .sum()
        );
        assert!(!sleeper.is_finished());
    });
}

/// Go's timeout idiom: `select` on a channel and `time.After`.
#[test]
fn select_with_after() {
    common::watchdog("select with after", LIMIT, || {
        goro::run(|| {
            // Nothing ready: the timeout wins, not before its time.
            let (_tx, rx) = chan::<u32>(0);
            let t = Instant::now();
            let d = Duration::from_millis(20);
            let got = select! {
                recv(rx) -> v => Some(v),
                recv(time::after(d)) -> at => {
                    let at = at.expect("after delivers a time");
                    assert!(at >= t + d, "after fired early: {:?}", at - t);
                    None
                },
            };
            assert!(got.is_none());
            assert!(t.elapsed() >= d);

            // A value is ready: it wins over a long timeout.
            let (tx, rx) = chan::<u32>(1);
            tx.send(7).unwrap();
            let got = select! {
                recv(rx) -> v => v,
                recv(time::after(Duration::from_secs(3600))) -> _ => None,
            };
            assert_eq!(got, Some(7));

            // A sender that shows up later than the select started but
            // before the timeout: the value wins.
            let (tx, rx) = chan::<u32>(0);
            goro::go!(move || {
                time::sleep(Duration::from_millis(5));
                tx.send(9).unwrap();
            });
            let got = select! {
                recv(rx) -> v => v,
                recv(time::after(Duration::from_secs(3600))) -> _ => None,
            };
            assert_eq!(got, Some(9));

            // for-select with a fresh timeout per iteration (Go's idiom for
            // "give up if the producer stalls"): a producer that sends 10
            // values then stalls ends the loop through the timeout.
            let (tx, rx) = chan::<u32>(0);
            goro::go!(move || {
                for i in 0..10 {
                    tx.send(i).unwrap();
                }
                time::sleep(Duration::from_secs(3600));
                drop(tx);
            });
            let mut got = Vec::new();
            loop {
                select! {
                    recv(rx) -> v => got.push(v.unwrap()),
                    recv(time::after(Duration::from_millis(30))) -> _ => break,
                }
            }
            assert_eq!(got, (0..10).collect::<Vec<_>>());
        });
    });
}
