//! `block_in_place` and `spawn_blocking`: from coroutines and from plain
//! threads, results and panics, the pool's bound, and the processor
//! hand-off that keeps other coroutines running during the blocking call.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn block_in_place_returns_and_panics_from_coroutines_and_threads() {
    common::for_each_procs(
        "block_in_place_returns_and_panics_from_coroutines_and_threads",
        LIMIT,
        || {
            // A plain thread: just runs it.
            assert_eq!(goro::block_in_place(|| 6 * 7), 42);
            let p = std::panic::catch_unwind(|| goro::block_in_place(|| panic!("on a thread")));
            assert!(p.is_err());
            let results = goro::run(|| {
                let hs: Vec<_> = (0..50u64)
                    .map(|i| {
                        goro::go!(move || {
                            let v = goro::block_in_place(|| {
                                std::thread::sleep(Duration::from_millis(2));
                                i * 3
                            });
                            // Still a coroutine afterwards, and it can block again.
                            goro::time::sleep(Duration::from_millis(1));
                            assert!(goro::current().is_some());
                            v
                        })
                    })
                    .collect();
                let bad = goro::go!(|| goro::block_in_place(|| -> u8 { panic!("inside") }));
                let p = bad.join().unwrap_err();
                assert_eq!(p.message(), Some("inside"));
                hs.into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            });
            assert_eq!(results, (0..50u64).map(|i| i * 3).collect::<Vec<_>>());
            assert!(goro::__processor_moves() > 0, "no hand-off happened");
        },
    );
}

/// At GOMAXPROCS=1, a coroutine blocked inside `block_in_place` does not
/// hold the only processor: another coroutine makes progress meanwhile.
#[test]
fn block_in_place_hands_the_processor_off() {
    common::for_procs(
        "block_in_place_hands_the_processor_off",
        &[1],
        LIMIT,
        || {
            goro::run(|| {
                let progress = Arc::new(AtomicUsize::new(0));
                let stop = Arc::new(AtomicBool::new(false));
                let worker = {
                    let (progress, stop) = (progress.clone(), stop.clone());
                    goro::go!(move || {
                        while !stop.load(Ordering::Relaxed) {
                            progress.fetch_add(1, Ordering::Relaxed);
                            goro::time::sleep(Duration::from_millis(1));
                        }
                    })
                };
                goro::time::sleep(Duration::from_millis(5));
                let before = progress.load(Ordering::Relaxed);
                let moves = goro::__processor_moves();
                let (during, handed) = goro::block_in_place(|| {
                    // Handed off on entry, not 10 ms later by the monitor.
                    let handed = goro::__processor_moves() > moves;
                    std::thread::sleep(Duration::from_millis(300));
                    (progress.load(Ordering::Relaxed) - before, handed)
                });
                assert!(handed, "block_in_place did not hand the processor off");
                stop.store(true, Ordering::Relaxed);
                worker.join().unwrap();
                // ~300 ticks if nothing stalled; the monitor alone would allow
                // most of them too, but only after its 10 ms threshold.
                assert!(during > 60, "only {during} ticks during the call");
            });
        },
    );
}

#[test]
fn spawn_blocking_results_and_panics() {
    common::for_each_procs("spawn_blocking_results_and_panics", LIMIT, || {
        // From a plain thread.
        let h = goro::spawn_blocking(|| std::thread::current().name().map(String::from));
        let name = h.join().unwrap().unwrap();
        assert!(name.starts_with("goro-blocking-"), "{name}");
        // From coroutines, many at once.
        let sum = goro::run(|| {
            let hs: Vec<_> = (0..100u64)
                .map(|i| {
                    goro::spawn_blocking(move || {
                        std::thread::sleep(Duration::from_millis(1));
                        i
                    })
                })
                .collect();
            let bad = goro::spawn_blocking(|| -> u8 { panic!("blocking boom") });
            let p = bad.join().unwrap_err();
            assert_eq!(p.message(), Some("blocking boom"));
            assert!(p.to_string().contains("blocking"), "{p}");
            hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        assert_eq!(sum, (0..100u64).sum());
    });
}

/// `GORO_MAX_BLOCKING_THREADS` bounds the pool: jobs beyond it wait, and
/// none is lost.
#[test]
fn spawn_blocking_pool_is_bounded() {
    const NAME: &str = "spawn_blocking_pool_is_bounded";
    if !common::is_child(NAME) {
        common::assert_child_passes(NAME, &[("GORO_MAX_BLOCKING_THREADS", "3")], LIMIT);
        return;
    }
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let names = Arc::new(Mutex::new(HashSet::new()));
    let t = Instant::now();
    let hs: Vec<_> = (0..12usize)
        .map(|i| {
            let (running, peak, names) = (running.clone(), peak.clone(), names.clone());
            goro::spawn_blocking(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                names
                    .lock()
                    .unwrap()
                    .insert(std::thread::current().name().unwrap().to_string());
                std::thread::sleep(Duration::from_millis(50));
                running.fetch_sub(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    let got: Vec<usize> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, (0..12).collect::<Vec<_>>());
    assert_eq!(
        peak.load(Ordering::SeqCst),
        3,
        "pool bound not reached or exceeded"
    );
    assert!(names.lock().unwrap().len() <= 3);
    // 12 jobs of 50 ms on 3 threads take at least 4 rounds.
    assert!(t.elapsed() >= Duration::from_millis(195));
}

#[test]
fn bad_max_blocking_threads_is_a_clear_error() {
    const NAME: &str = "bad_max_blocking_threads_is_a_clear_error";
    if common::is_child(NAME) {
        let e = goro::init().unwrap_err();
        assert_eq!(e.var, "GORO_MAX_BLOCKING_THREADS");
        assert!(e.to_string().contains("\"lots\""), "{e}");
        return;
    }
    common::assert_child_passes(NAME, &[("GORO_MAX_BLOCKING_THREADS", "lots")], LIMIT);
}
