//! Semaphore: weights are respected, FIFO (a big request is not starved by
//! small ones), try and timeout variants, threads and coroutines mixed.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use goro::sync::{Semaphore, WaitGroup};

const LIMIT: Duration = Duration::from_secs(60);

/// Coroutines take 1..=4 units of 6 and hold them across a switch; the
/// units in use never exceed the size and all are returned.
#[test]
fn weights_never_exceed_the_size() {
    common::for_each_procs("weights_never_exceed_the_size", LIMIT, || {
        goro::run(|| {
            const SIZE: usize = 6;
            let sem = Arc::new(Semaphore::new(SIZE));
            let in_use = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            for c in 0..200 {
                let (sem, in_use, peak) = (sem.clone(), in_use.clone(), peak.clone());
                wg.go(move || {
                    for i in 0..50 {
                        let n = 1 + (c + i) % 4;
                        sem.acquire(n);
                        let now = in_use.fetch_add(n, Ordering::SeqCst) + n;
                        assert!(now <= SIZE, "{now} units in use of {SIZE}");
                        peak.fetch_max(now, Ordering::SeqCst);
                        goro::yield_now();
                        in_use.fetch_sub(n, Ordering::SeqCst);
                        sem.release(n);
                    }
                });
            }
            wg.wait();
            assert_eq!(sem.available(), SIZE);
            assert_eq!(sem.waiting(), 0);
            assert!(peak.load(Ordering::SeqCst) > 1, "units were shared");
        });
    });
}

/// FIFO: a request for all units, queued behind holders, is served before
/// small requests that arrive after it, even though they would fit.
#[test]
fn big_request_is_not_starved_by_small_ones() {
    common::watchdog("fifo", LIMIT, || {
        goro::run(|| {
            let sem = Arc::new(Semaphore::new(4));
            let order = Arc::new(std::sync::Mutex::new(Vec::new()));
            sem.acquire(1); // one unit held by us
            let big = {
                let (sem, order) = (sem.clone(), order.clone());
                goro::go!(move || {
                    sem.acquire(4);
                    order.lock().unwrap().push("big");
                    sem.release(4);
                })
            };
            while sem.waiting() < 1 {
                goro::yield_now();
            }
            let smalls: Vec<_> = (0..5)
                .map(|_| {
                    let (sem, order) = (sem.clone(), order.clone());
                    goro::go!(move || {
                        sem.acquire(1);
                        order.lock().unwrap().push("small");
                        sem.release(1);
                    })
                })
                .collect();
            while sem.waiting() < 6 {
                goro::yield_now();
            }
            assert!(!sem.try_acquire(1), "no barging past the queue");
            assert_eq!(sem.available(), 3, "3 units free, but the big one is first");
            sem.release(1);
            big.join().unwrap();
            for s in smalls {
                s.join().unwrap();
            }
            let order = order.lock().unwrap();
            assert_eq!(order[0], "big");
            assert_eq!(order.len(), 6);
        });
    });
}

#[test]
fn try_acquire_and_timeout() {
    common::watchdog("try_timeout", LIMIT, || {
        goro::run(|| {
            let sem = Arc::new(Semaphore::new(2));
            assert!(sem.try_acquire(2));
            assert!(!sem.try_acquire(1));
            assert!(!sem.acquire_timeout(1, Duration::from_millis(5)));
            assert_eq!(sem.waiting(), 0, "a timed-out waiter leaves the queue");
            // A release during the wait satisfies a timed acquire.
            let s2 = sem.clone();
            let waiter = goro::go!(move || s2.acquire_timeout(2, Duration::from_secs(30)));
            while sem.waiting() < 1 {
                goro::yield_now();
            }
            sem.release(2);
            assert!(waiter.join().unwrap());
            assert_eq!(sem.available(), 0);
            sem.release(2);
            assert_eq!(sem.available(), 2);
        });
    });
}

/// Threads block and coroutines park on the same semaphore.
#[test]
fn threads_and_coroutines_mixed() {
    common::watchdog("sem_mixed", LIMIT, || {
        let sem = Arc::new(Semaphore::new(3));
        let in_use = Arc::new(AtomicUsize::new(0));
        let work = {
            let (sem, in_use) = (sem.clone(), in_use.clone());
            move |n: usize, rounds: usize, coroutine: bool| {
                for _ in 0..rounds {
                    sem.acquire(n);
                    assert!(in_use.fetch_add(n, Ordering::SeqCst) + n <= 3);
                    if coroutine {
                        goro::yield_now();
                    } else {
                        std::thread::yield_now();
                    }
                    in_use.fetch_sub(n, Ordering::SeqCst);
                    sem.release(n);
                }
            }
        };
        let threads: Vec<_> = (0..3)
            .map(|t| {
                let work = work.clone();
                std::thread::spawn(move || work(1 + t % 3, 2000, false))
            })
            .collect();
        let coros: Vec<_> = (0..30)
            .map(|c| {
                let work = work.clone();
                goro::go!(move || work(1 + c % 2, 200, true))
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for c in coros {
            c.join().unwrap();
        }
        assert_eq!(sem.available(), 3);
    });
}
