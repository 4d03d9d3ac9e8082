//! Cond: FIFO signal order, broadcast to everyone, no lost wake-ups.

mod common;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use goro::sync::{Cond, Mutex, WaitGroup};

const LIMIT: Duration = Duration::from_secs(60);

/// Waiters that started waiting in order 0..5 are signalled in that order.
#[test]
fn signal_wakes_in_fifo_order() {
    common::watchdog("fifo", LIMIT, || {
        goro::run(|| {
            let s = Arc::new((Mutex::new((0usize, Vec::new())), Cond::new()));
            let mut hs = Vec::new();
            for i in 0..5 {
                let s2 = s.clone();
                hs.push(goro::go!(move || {
                    let (m, c) = &*s2;
                    let mut g = m.lock();
                    // Wait for a token meant for anyone; record who got it.
                    loop {
                        g = c.wait(g);
                        if g.0 > 0 {
                            g.0 -= 1;
                            g.1.push(i);
                            break;
                        }
                    }
                }));
                while s.1.waiters() < i + 1 {
                    goro::yield_now();
                }
            }
            for k in 1..=5 {
                s.0.lock().0 += 1;
                s.1.signal();
                while s.0.lock().1.len() < k {
                    goro::yield_now();
                }
            }
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(s.0.lock().1, [0, 1, 2, 3, 4]);
        });
    });
}

/// The book's button: several handlers wait for a click; one broadcast
/// runs them all.
#[test]
fn broadcast_reaches_every_waiter() {
    common::watchdog("broadcast", LIMIT, || {
        goro::run(|| {
            let clicked = Arc::new((Mutex::new(false), Cond::new()));
            let handled = WaitGroup::new();
            for _ in 0..100 {
                let (clicked, handled) = (clicked.clone(), handled.clone());
                handled.add(1);
                goro::go!(move || {
                    drop(clicked.1.wait_while(clicked.0.lock(), |c| !*c));
                    handled.done();
                });
            }
            *clicked.0.lock() = true;
            clicked.1.broadcast();
            handled.wait();
            assert_eq!(clicked.1.waiters(), 0);
        });
    });
}

/// A bounded queue guarded by one Mutex and two Conds (not full / not
/// empty), many producers and consumers: every item arrives exactly once
/// and nobody sleeps through a signal (a lost wake-up hangs the test).
#[test]
fn queue_without_lost_wakeups() {
    common::for_each_procs("queue_without_lost_wakeups", LIMIT, || {
        goro::run(|| {
            struct Q {
                m: Mutex<VecDeque<u64>>,
                not_full: Cond,
                not_empty: Cond,
            }
            const CAP: usize = 2;
            const PER: u64 = 2000;
            const P: u64 = 4;
            let q = Arc::new(Q {
                m: Mutex::new(VecDeque::new()),
                not_full: Cond::new(),
                not_empty: Cond::new(),
            });
            let producers: Vec<_> = (0..P)
                .map(|p| {
                    let q = q.clone();
                    goro::go!(move || {
                        for i in 0..PER {
                            let mut g = q.not_full.wait_while(q.m.lock(), |v| v.len() == CAP);
                            g.push_back(p * PER + i);
                            drop(g);
                            q.not_empty.signal();
                        }
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..P)
                .map(|_| {
                    let q = q.clone();
                    goro::go!(move || {
                        let mut got = Vec::new();
                        for _ in 0..PER {
                            let mut g = q.not_empty.wait_while(q.m.lock(), |v| v.is_empty());
                            got.push(g.pop_front().unwrap());
                            drop(g);
                            q.not_full.signal();
                        }
                        got
                    })
                })
                .collect();
            for p in producers {
                p.join().unwrap();
            }
            let mut all: Vec<u64> = consumers
                .into_iter()
                .flat_map(|c| c.join().unwrap())
                .collect();
            all.sort_unstable();
            assert_eq!(all, (0..P * PER).collect::<Vec<_>>());
        });
    });
}

/// Threads and coroutines wait on the same Cond.
#[test]
fn threads_and_coroutines_wait_together() {
    common::watchdog("cond_mixed", LIMIT, || {
        let s = Arc::new((Mutex::new(0u32), Cond::new()));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || *s.1.wait_while(s.0.lock(), |v| *v == 0))
            })
            .collect();
        let coros: Vec<_> = (0..20)
            .map(|_| {
                let s = s.clone();
                goro::go!(move || *s.1.wait_while(s.0.lock(), |v| *v == 0))
            })
            .collect();
        while s.1.waiters() < 23 {
            std::thread::yield_now();
        }
        *s.0.lock() = 5;
        s.1.broadcast();
        for t in threads {
            assert_eq!(t.join().unwrap(), 5);
        }
        for c in coros {
            assert_eq!(c.join().unwrap(), 5);
        }
    });
}

/// A signal with nobody waiting is not remembered (Go's semantics): a
/// later waiter waits for a later signal.
#[test]
fn signal_without_waiters_is_not_kept() {
    common::watchdog("no_memory", LIMIT, || {
        goro::run(|| {
            let s = Arc::new((Mutex::new(false), Cond::new()));
            s.1.signal();
            s.1.broadcast();
            let s2 = s.clone();
            let h = goro::go!(move || {
                let g = s2.0.lock();
                let g = s2.1.wait(g);
                *g
            });
            while s.1.waiters() < 1 {
                goro::yield_now();
            }
            for _ in 0..20 {
                goro::yield_now();
            }
            assert!(!h.is_finished(), "woke without a signal");
            *s.0.lock() = true;
            s.1.signal();
            assert!(h.join().unwrap());
        });
    });
}
