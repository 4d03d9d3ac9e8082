//! Spawning, joining, nesting, introspection.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use goro::sync::WaitGroup;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn spawn_and_join_value() {
    common::watchdog("spawn_and_join_value", LIMIT, || {
        let h = goro::go!(|| 6 * 7);
        assert_eq!(h.join().unwrap(), 42);
        let s = goro::go!(|| String::from("owned")).join().unwrap();
        assert_eq!(s, "owned");
    });
}

#[test]
fn run_returns_the_main_result_and_nests() {
    common::watchdog("run_nests", LIMIT, || {
        let v = goro::run(|| {
            assert!(goro::current().is_some());
            assert_eq!(goro::current().unwrap().name(), Some("main"));
            // run inside a coroutine just calls the closure.
            goro::run(|| 5) + 1
        });
        assert_eq!(v, 6);
    });
}

#[test]
fn run_resumes_a_panic_on_the_caller() {
    common::watchdog(
        "run_resumes_a_panic_on_the_caller",
        std::time::Duration::from_secs(60),
        || {
            let r = std::panic::catch_unwind(|| goro::run(|| -> u32 { panic!("main failed") }));
            let p = r.unwrap_err();
            assert_eq!(p.downcast_ref::<&str>(), Some(&"main failed"));
        },
    );
}

#[test]
fn nested_spawns_form_a_tree() {
    fn tree(depth: u32) -> u64 {
        if depth == 0 {
            return 1;
        }
        let a = goro::go!(move || tree(depth - 1));
        let b = goro::go!(move || tree(depth - 1));
        a.join().unwrap() + b.join().unwrap() + 1
    }
    let n = common::watchdog("nested", LIMIT, || goro::run(|| tree(12)));
    assert_eq!(n, (1 << 13) - 1);
}

#[test]
fn hundred_thousand_spawns() {
    const N: u64 = 100_000;
    let sum = common::watchdog("100k", LIMIT, || {
        goro::run(|| {
            let total = Arc::new(AtomicU64::new(0));
            let wg = WaitGroup::new();
            wg.add(N as isize);
            for i in 0..N {
                let (total, wg) = (total.clone(), wg.clone());
                goro::go!(move || {
                    total.fetch_add(i, Ordering::Relaxed);
                    wg.done();
                });
            }
            wg.wait();
            total.load(Ordering::Relaxed)
        })
    });
    assert_eq!(sum, N * (N - 1) / 2);
}

#[test]
fn spawn_from_plain_threads() {
    common::watchdog("threads", LIMIT, || {
        let count = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let count = count.clone();
                std::thread::spawn(move || {
                    let hs: Vec<_> = (0..1000)
                        .map(|_| {
                            let count = count.clone();
                            goro::go!(move || count.fetch_add(1, Ordering::Relaxed))
                        })
                        .collect();
                    for h in hs {
                        h.join().unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(count.load(Ordering::Relaxed), 4000);
    });
}

#[test]
fn ids_are_unique_and_names_stick() {
    common::watchdog("ids", LIMIT, || {
        let hs: Vec<_> = (0..500)
            .map(|_| goro::go!(|| goro::current().unwrap().id()))
            .collect();
        let mut ids: Vec<u64> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 500);
        assert!(ids[0] >= 1);

        let h = goro::Builder::new().name("worker-7").spawn(|| {
            let me = goro::current().unwrap();
            (me.name().map(String::from), me.id())
        });
        let id = h.id();
        assert_eq!(h.coroutine().name(), Some("worker-7"));
        let (name, seen) = h.join().unwrap();
        assert_eq!(name.as_deref(), Some("worker-7"));
        assert_eq!(seen, id);
        assert!(
            goro::current().is_none(),
            "a plain thread is not a coroutine"
        );
    });
}

#[test]
fn custom_stack_sizes_are_usable() {
    common::watchdog("stack sizes", LIMIT, || {
        // Touch most of a 1 MiB stack: a 768 KiB array on it.
        let h = goro::Builder::new().stack_size(1 << 20).spawn(|| {
            let big = [7u8; 768 * 1024];
            std::hint::black_box(&big)
                .iter()
                .map(|&b| b as u64)
                .sum::<u64>()
        });
        assert_eq!(h.join().unwrap(), 7 * 768 * 1024);
        let small = goro::Builder::new()
            .stack_size(16 * 1024)
            .spawn(|| goro::current().unwrap().stack_size());
        assert_eq!(small.join().unwrap(), 16 * 1024);
    });
}

#[test]
#[should_panic(expected = "stack_size")]
fn tiny_stack_size_is_rejected() {
    let _ = goro::Builder::new().stack_size(100);
}

#[test]
fn yield_now_lets_others_run() {
    common::watchdog("yield", LIMIT, || {
        goro::run(|| {
            let flag = Arc::new(AtomicUsize::new(0));
            let f2 = flag.clone();
            let _ = goro::lock_os_thread();
            // Pinned spinner and a pinned helper on the same worker: the
            // helper only runs if the spinner yields.
            let helper = goro::Builder::new()
                .pinned(true)
                .spawn(move || f2.store(1, Ordering::Release));
            while flag.load(Ordering::Acquire) == 0 {
                goro::yield_now();
            }
            goro::unlock_os_thread();
            helper.join().unwrap();
        });
    });
}

/// Runs alone in a child process: other tests' coroutines would change the
/// count under it.
#[test]
fn num_goroutine_counts_live_coroutines() {
    const NAME: &str = "num_goroutine_counts_live_coroutines";
    if !common::is_child(NAME) {
        common::assert_child_passes(NAME, &[], LIMIT);
        return;
    }
    assert_eq!(goro::num_goroutine(), 0);
    let gate = WaitGroup::new();
    gate.add(1);
    let started = WaitGroup::new();
    started.add(50);
    let hs: Vec<_> = (0..50)
        .map(|_| {
            let (gate, started) = (gate.clone(), started.clone());
            goro::go!(move || {
                started.done();
                gate.wait();
            })
        })
        .collect();
    started.wait();
    assert_eq!(goro::num_goroutine(), 50);
    gate.done();
    for h in hs {
        h.join().unwrap();
    }
    // Exits are counted right after the join wake-up; give them a moment.
    assert!(common::eventually(
        Duration::from_secs(5),
        || goro::num_goroutine() == 0
    ));
}

#[test]
fn is_finished_and_detach() {
    common::watchdog("detach", LIMIT, || {
        let gate = WaitGroup::new();
        gate.add(1);
        let g2 = gate.clone();
        let h = goro::go!(move || g2.wait());
        assert!(!h.is_finished());
        gate.done();
        assert!(common::eventually(Duration::from_secs(5), || h.is_finished()));
        h.join().unwrap();
        // Dropping a handle detaches; the coroutine still runs.
        let done = Arc::new(AtomicUsize::new(0));
        let d2 = done.clone();
        drop(goro::go!(move || d2.store(1, Ordering::Release)));
        assert!(common::eventually(Duration::from_secs(5), || done
            .load(Ordering::Acquire)
            == 1));
    });
}
