//! Once and OnceCell: exactly one run under a stampede; late callers park
//! until it finishes; a failed OnceCell initialiser is retried.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use goro::sync::{Once, OnceCell, WaitGroup};

const LIMIT: Duration = Duration::from_secs(60);

/// 1000 coroutines and 4 threads call `call_once` at once; the function
/// switches away in the middle (so the others really queue). It runs
/// exactly once and every caller returns after it finished.
#[test]
fn once_runs_exactly_once_under_a_stampede() {
    common::for_each_procs("once_runs_exactly_once_under_a_stampede", LIMIT, || {
        for _ in 0..20 {
            let once = Arc::new(Once::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let finished = Arc::new(AtomicUsize::new(0));
            let check = {
                let (once, runs, finished) = (once.clone(), runs.clone(), finished.clone());
                move || {
                    once.call_once(|| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        for _ in 0..10 {
                            goro::yield_now();
                        }
                        finished.store(1, Ordering::SeqCst);
                    });
                    assert_eq!(
                        finished.load(Ordering::SeqCst),
                        1,
                        "returned before the run finished"
                    );
                }
            };
            let threads: Vec<_> = (0..4).map(|_| std::thread::spawn(check.clone())).collect();
            let wg = WaitGroup::new();
            for _ in 0..1000 {
                wg.go(check.clone());
            }
            wg.wait();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(runs.load(Ordering::SeqCst), 1);
            assert!(once.is_completed());
        }
    });
}

/// A `Once` whose function panics counts as done (Go's rule); callers that
/// were waiting return.
#[test]
fn once_panic_still_completes_for_waiters() {
    common::watchdog("once_panic", LIMIT, || {
        goro::run(|| {
            let once = Arc::new(Once::new());
            let started = Arc::new(AtomicUsize::new(0));
            let (o, st) = (once.clone(), started.clone());
            let runner = goro::go!(move || {
                o.call_once(|| {
                    st.store(1, Ordering::SeqCst);
                    for _ in 0..20 {
                        goro::yield_now();
                    }
                    panic!("init failed");
                })
            });
            while started.load(Ordering::SeqCst) == 0 {
                goro::yield_now();
            }
            let waiters: Vec<_> = (0..10)
                .map(|_| {
                    let o = once.clone();
                    goro::go!(move || {
                        let mut ran = false;
                        o.call_once(|| ran = true);
                        ran
                    })
                })
                .collect();
            assert_eq!(runner.join().unwrap_err().message(), Some("init failed"));
            for w in waiters {
                // The runner was inside its function before they came.
                assert!(!w.join().unwrap(), "a second function ran");
            }
            assert!(once.is_completed());
        });
    });
}

/// A stampede on a OnceCell: one initialiser runs, everyone gets its value.
#[test]
fn once_cell_stampede() {
    common::for_each_procs("once_cell_stampede", LIMIT, || {
        goro::run(|| {
            for _ in 0..20 {
                let cell = Arc::new(OnceCell::new());
                let inits = Arc::new(AtomicUsize::new(0));
                let hs: Vec<_> = (0..500)
                    .map(|i| {
                        let (cell, inits) = (cell.clone(), inits.clone());
                        goro::go!(move || {
                            *cell.get_or_init(|| {
                                inits.fetch_add(1, Ordering::SeqCst);
                                goro::yield_now();
                                format!("value from {i}")
                            }) == *cell.get().unwrap()
                        })
                    })
                    .collect();
                for h in hs {
                    assert!(h.join().unwrap());
                }
                assert_eq!(inits.load(Ordering::SeqCst), 1);
            }
        });
    });
}

/// If the first initialiser panics, a waiting caller runs its own.
#[test]
fn once_cell_retries_after_a_panic() {
    common::watchdog("cell_retry", LIMIT, || {
        goro::run(|| {
            let cell = Arc::new(OnceCell::new());
            let started = Arc::new(AtomicUsize::new(0));
            let (c, st) = (cell.clone(), started.clone());
            let failing = goro::go!(move || {
                c.get_or_init(|| -> u32 {
                    st.store(1, Ordering::SeqCst);
                    for _ in 0..20 {
                        goro::yield_now();
                    }
                    panic!("first try failed")
                });
            });
            while started.load(Ordering::SeqCst) == 0 {
                goro::yield_now();
            }
            let c = cell.clone();
            let second = goro::go!(move || *c.get_or_init(|| 2));
            assert!(failing.join().is_err());
            assert_eq!(second.join().unwrap(), 2);
            assert_eq!(cell.get(), Some(&2));
        });
    });
}
