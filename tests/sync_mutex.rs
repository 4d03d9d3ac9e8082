//! Mutex: mutual exclusion under contention, starvation mode, threads and
//! coroutines contending together.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goro::sync::{Mutex, WaitGroup};

const LIMIT: Duration = Duration::from_secs(60);

/// 1000 coroutines increment a counter under the lock with a split
/// read-modify-write, sometimes switching while holding it: the counter is
/// exact and no two holders ever overlap.
#[test]
fn counter_exact_1000_coroutines() {
    common::for_procs(
        "counter_exact_1000_coroutines",
        &[1, 2, 8],
        Duration::from_secs(120),
        || {
            goro::run(|| {
                const G: u64 = 1000;
                const N: u64 = 200;
                let m = Arc::new(Mutex::new(0u64));
                let inside = Arc::new(AtomicBool::new(false));
                let wg = WaitGroup::new();
                for i in 0..G {
                    let (m, inside) = (m.clone(), inside.clone());
                    wg.go(move || {
                        for j in 0..N {
                            let mut g = m.lock();
                            assert!(!inside.swap(true, Ordering::Relaxed), "two holders");
                            let v = *g;
                            if (i + j) % 16 == 0 {
                                goro::yield_now(); // hold it across a switch
                            }
                            *g = v + 1;
                            inside.store(false, Ordering::Relaxed);
                        }
                    });
                }
                wg.wait();
                assert_eq!(*m.lock(), G * N);
                assert!(!m.is_locked());
            });
        },
    );
}

/// Threads and coroutines contend for one mutex: threads block, coroutines
/// park, the count is exact.
#[test]
fn threads_and_coroutines_mixed() {
    common::watchdog("mixed", LIMIT, || {
        let m = Arc::new(Mutex::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        let mut g = m.lock();
                        let v = *g;
                        if i % 64 == 0 {
                            std::thread::yield_now();
                        }
                        *g = v + 1;
                    }
                })
            })
            .collect();
        let coros: Vec<_> = (0..100)
            .map(|_| {
                let m = m.clone();
                goro::go!(move || {
                    for i in 0..500 {
                        let mut g = m.lock();
                        let v = *g;
                        if i % 8 == 0 {
                            goro::yield_now();
                        }
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for c in coros {
            c.join().unwrap();
        }
        assert_eq!(*m.lock(), 4 * 5000 + 100 * 500);
    });
}

/// Starvation mode: hammers re-take the lock in a loop, switching while
/// they hold it, so in normal mode a woken waiter always finds it taken
/// again (pure barging would starve it forever: this test would hang and
/// the child process be killed). After the victim has waited 1 ms the mutex
/// hands it over.
///
/// With one worker the number of acquisitions that overtake the victim is
/// also bounded: each hammer holds the lock for at least `HOLD` (busy, by
/// the clock), so about `1 ms / HOLD` of them fit in the normal-mode phase,
/// then at most the waiters queued ahead of the victim (the hammers) get it
/// by handoff, in order. With several workers that count is bounded only in
/// wall-clock time (if the OS deschedules the worker that should run the
/// woken waiter, the others keep barging, as in Go), so there only the
/// liveness is asserted.
#[test]
fn starving_waiter_gets_the_lock() {
    common::for_each_procs("starving_waiter_gets_the_lock", LIMIT, || {
        goro::run(|| {
            const HAMMERS: usize = 3;
            const HOLD: Duration = Duration::from_micros(100);
            for round in 0..5 {
                let m = Arc::new(Mutex::new(()));
                let done = Arc::new(AtomicBool::new(false));
                let total = Arc::new(AtomicU64::new(0));
                let hammers: Vec<_> = (0..HAMMERS)
                    .map(|_| {
                        let (m, done, total) = (m.clone(), done.clone(), total.clone());
                        goro::go!(move || {
                            while !done.load(Ordering::Acquire) {
                                let g = m.lock();
                                total.fetch_add(1, Ordering::Relaxed);
                                let t = Instant::now();
                                while t.elapsed() < HOLD {
                                    std::hint::spin_loop();
                                }
                                goro::yield_now();
                                drop(g);
                            }
                        })
                    })
                    .collect();
                // Let the hammers get going.
                while total.load(Ordering::Relaxed) < 5 {
                    goro::yield_now();
                }
                let before = total.load(Ordering::Relaxed);
                let g = m.lock();
                let overtaken = total.load(Ordering::Relaxed) - before;
                done.store(true, Ordering::Release);
                drop(g);
                for h in hammers {
                    h.join().unwrap();
                }
                if goro::maxprocs() == 1 {
                    let bound = (Duration::from_millis(1).as_micros() / HOLD.as_micros()) as u64
                        + HAMMERS as u64
                        + 2;
                    assert!(
                        overtaken <= bound,
                        "round {round}: overtaken {overtaken} times (bound {bound})"
                    );
                }
            }
        });
    });
}

/// A guard can be held across blocking calls; the holder may come back on
/// another worker and still unlock correctly, and waiters park meanwhile.
#[test]
fn guard_held_across_blocking_calls() {
    common::watchdog("guard_across_blocking", LIMIT, || {
        goro::run(|| {
            let m = Arc::new(Mutex::new(Vec::new()));
            let gate = WaitGroup::new();
            gate.add(1);
            let holder = {
                let (m, gate) = (m.clone(), gate.clone());
                goro::go!(move || {
                    let mut g = m.lock();
                    g.push("holder");
                    gate.wait(); // parks while holding the lock
                    g.push("holder-after-wait");
                })
            };
            while !m.is_locked() {
                goro::yield_now();
            }
            let waiters: Vec<_> = (0..10)
                .map(|_| {
                    let m = m.clone();
                    goro::go!(move || m.lock().push("waiter"))
                })
                .collect();
            for _ in 0..100 {
                goro::yield_now();
            }
            assert!(m.try_lock().is_none(), "still held across the park");
            gate.done();
            holder.join().unwrap();
            for w in waiters {
                w.join().unwrap();
            }
            let v = m.lock();
            assert_eq!(v[..2], ["holder", "holder-after-wait"]);
            assert_eq!(v.len(), 12);
        });
    });
}

/// A panic in a coroutine that holds the lock unlocks it (no poisoning).
#[test]
fn panic_in_coroutine_unlocks() {
    common::watchdog("panic_unlocks", LIMIT, || {
        let m = Arc::new(Mutex::new(0));
        let m2 = m.clone();
        let p = goro::go!(move || {
            let mut g = m2.lock();
            *g = 1;
            panic!("while holding");
        })
        .join()
        .unwrap_err();
        assert_eq!(p.message(), Some("while holding"));
        assert_eq!(*m.lock(), 1);
    });
}

/// try_lock never waits and never breaks exclusion.
#[test]
fn try_lock_under_contention() {
    common::watchdog("try_lock", LIMIT, || {
        goro::run(|| {
            let m = Arc::new(Mutex::new(0u64));
            let wins = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            for _ in 0..50 {
                let (m, wins) = (m.clone(), wins.clone());
                wg.go(move || {
                    for i in 0..200 {
                        if i % 2 == 0 {
                            *m.lock() += 1;
                        } else if let Some(mut g) = m.try_lock() {
                            *g += 1;
                            wins.fetch_add(1, Ordering::Relaxed);
                        }
                        if i % 10 == 0 {
                            goro::yield_now();
                        }
                    }
                });
            }
            wg.wait();
            let w = wins.load(Ordering::Relaxed) as u64;
            assert_eq!(*m.lock(), 50 * 100 + w);
        });
    });
}

/// Plain threads only: the mutex works without the runtime.
#[test]
fn threads_only() {
    common::watchdog("threads_only", LIMIT, || {
        let m = Arc::new(Mutex::new(0u64));
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*m.lock(), 80_000);
    });
}
