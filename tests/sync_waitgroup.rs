//! WaitGroup: Go's semantics, from coroutines and threads.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use goro::sync::WaitGroup;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn wait_on_zero_returns_at_once() {
    common::watchdog(
        "wait_on_zero_returns_at_once",
        std::time::Duration::from_secs(60),
        || {
            let wg = WaitGroup::new();
            wg.wait();
            goro::run(move || wg.wait());
        },
    );
}

#[test]
fn wait_sees_every_done() {
    common::watchdog("every_done", LIMIT, || {
        goro::run(|| {
            for round in 0..50 {
                let wg = WaitGroup::new();
                let hits = Arc::new(AtomicUsize::new(0));
                wg.add(100);
                for _ in 0..100 {
                    let (wg, hits) = (wg.clone(), hits.clone());
                    goro::go!(move || {
                        goro::yield_now();
                        hits.fetch_add(1, Ordering::Relaxed);
                        wg.done();
                    });
                }
                wg.wait();
                assert_eq!(hits.load(Ordering::Relaxed), 100, "round {round}");
                assert_eq!(wg.count(), 0);
            }
        });
    });
}

#[test]
fn many_waiters_coroutines_and_threads() {
    common::watchdog("many_waiters", LIMIT, || {
        let wg = WaitGroup::new();
        wg.add(1);
        let released = Arc::new(AtomicUsize::new(0));
        let mut coros = Vec::new();
        for _ in 0..100 {
            let (wg, released) = (wg.clone(), released.clone());
            coros.push(goro::go!(move || {
                wg.wait();
                released.fetch_add(1, Ordering::Relaxed);
            }));
        }
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (wg, released) = (wg.clone(), released.clone());
                std::thread::spawn(move || {
                    wg.wait();
                    released.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            released.load(Ordering::Relaxed),
            0,
            "nobody passes before the count is zero"
        );
        wg.done();
        for h in coros {
            h.join().unwrap();
        }
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(released.load(Ordering::Relaxed), 104);
    });
}

#[test]
fn thread_waits_for_coroutines() {
    common::watchdog("thread_waits", LIMIT, || {
        let wg = WaitGroup::new();
        for _ in 0..1000 {
            wg.go(goro::yield_now);
        }
        wg.wait();
        assert_eq!(wg.count(), 0);
    });
}

#[test]
fn reuse_after_zero() {
    common::watchdog("reuse", LIMIT, || {
        let wg = WaitGroup::new();
        for _ in 0..20 {
            for _ in 0..10 {
                wg.go(|| ());
            }
            wg.wait();
        }
        wg.add(3);
        wg.add(-3);
        wg.wait();
    });
}

#[test]
#[should_panic(expected = "sync: negative WaitGroup counter")]
fn negative_counter_panics() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    wg.done();
}

#[test]
fn negative_counter_leaves_the_counter_unchanged() {
    common::watchdog(
        "negative_counter_leaves_the_counter_unchanged",
        std::time::Duration::from_secs(60),
        || {
            let wg = WaitGroup::new();
            wg.add(2);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.add(-5)));
            assert!(r.is_err());
            assert_eq!(wg.count(), 2);
            // Inside a coroutine the panic is caught and returned by join.
            let p = goro::go!(|| WaitGroup::new().done()).join().unwrap_err();
            assert_eq!(p.message(), Some("sync: negative WaitGroup counter"));
        },
    );
}

/// Many rounds of add/done/wait racing, under each worker count.
#[test]
fn waitgroup_stress() {
    common::for_each_procs("waitgroup_stress", Duration::from_secs(120), || {
        goro::run(|| {
            for _ in 0..300 {
                let wg = WaitGroup::new();
                let n = Arc::new(AtomicUsize::new(0));
                let waiters: Vec<_> = (0..4)
                    .map(|_| {
                        let (wg, n) = (wg.clone(), n.clone());
                        wg.add(0);
                        goro::go!(move || {
                            wg.wait();
                            n.load(Ordering::Acquire)
                        })
                    })
                    .collect();
                wg.add(16);
                for _ in 0..16 {
                    let (wg, n) = (wg.clone(), n.clone());
                    goro::go!(move || {
                        n.fetch_add(1, Ordering::Release);
                        wg.done();
                    });
                }
                wg.wait();
                assert_eq!(n.load(Ordering::Acquire), 16);
                for w in waiters {
                    // A waiter either ran before add(16) (saw zero and left)
                    // or after all sixteen done()s.
                    let seen = w.join().unwrap();
                    assert!(seen == 0 || seen == 16, "waiter released early at {seen}");
                }
            }
        });
    });
}
