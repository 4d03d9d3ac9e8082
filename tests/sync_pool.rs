//! Pool: reuse, per-worker bounds, ageing (an idle pool empties itself),
//! stealing, and no value handed to two users at once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use goro::sync::{Pool, WaitGroup};

const LIMIT: Duration = Duration::from_secs(60);

/// A value that counts how many of its kind are alive.
struct Tracked {
    id: usize,
    alive: Arc<AtomicUsize>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

fn tracked_pool(per_worker: usize) -> (Pool<Tracked>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let made = Arc::new(AtomicUsize::new(0));
    let alive = Arc::new(AtomicUsize::new(0));
    let (m, a) = (made.clone(), alive.clone());
    let pool = Pool::with_capacity(per_worker, move || {
        a.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id: m.fetch_add(1, Ordering::SeqCst),
            alive: a.clone(),
        }
    });
    (pool, made, alive)
}

#[test]
fn put_then_get_reuses_the_value() {
    common::watchdog("reuse", LIMIT, || {
        let (pool, made, _) = tracked_pool(8);
        let ids = goro::go!(move || {
            let a = pool.get();
            let id = a.id;
            pool.put(a);
            // Same worker, nothing in between: the same value comes back.
            let b = pool.get();
            (id, b.id)
        })
        .join()
        .unwrap();
        assert_eq!(ids.0, ids.1);
        assert_eq!(made.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn per_worker_cache_is_bounded() {
    common::watchdog("bounded", LIMIT, || {
        let (pool, _, alive) = tracked_pool(4);
        let p = pool.clone();
        goro::go!(move || {
            let vals: Vec<_> = (0..10).map(|_| p.get()).collect();
            for v in vals {
                p.put(v); // same worker: one cache, 4 kept, 6 dropped
            }
        })
        .join()
        .unwrap();
        assert_eq!(pool.cached(), 4);
        assert_eq!(
            alive.load(Ordering::SeqCst),
            4,
            "the extra values were dropped"
        );
        drop(pool);
        // (The sweeper may hold the pool for a moment while trimming.)
        assert!(
            common::eventually(Duration::from_secs(30), || alive.load(Ordering::SeqCst)
                == 0),
            "dropping the pool drops its values"
        );
    });
}

#[test]
fn trim_ages_then_drops() {
    let (pool, _, alive) = tracked_pool(8);
    pool.put(pool.get());
    pool.put(pool.get());
    assert_eq!(pool.cached(), 1);
    pool.trim();
    assert_eq!(pool.cached(), 1, "one trim only ages");
    pool.trim();
    assert_eq!(pool.cached(), 0);
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}

/// An idle pool gives its values back on its own (the sweeper), without
/// anyone calling into it.
#[test]
fn idle_pool_empties_itself() {
    common::watchdog("idle", LIMIT, || {
        let (pool, _, alive) = tracked_pool(8);
        let p = pool.clone();
        goro::go!(move || {
            let vals: Vec<_> = (0..5).map(|_| p.get()).collect();
            for v in vals {
                p.put(v);
            }
        })
        .join()
        .unwrap();
        assert_eq!(alive.load(Ordering::SeqCst), 5);
        assert!(
            common::eventually(Duration::from_secs(30), || alive.load(Ordering::SeqCst)
                == 0),
            "the sweeper never emptied an idle pool"
        );
        assert_eq!(pool.cached(), 0);
        // And it keeps working afterwards (the sweeper is woken again).
        pool.put(pool.get());
        assert!(
            common::eventually(Duration::from_secs(30), || alive.load(Ordering::SeqCst)
                == 0),
            "the sweeper did not wake for a refilled pool"
        );
    });
}

/// A coroutine whose worker cache is empty takes a value another party put
/// (here a plain thread, whose values live in the shared thread cache).
#[test]
fn get_steals_before_making() {
    common::watchdog("steal", LIMIT, || {
        let (pool, made, _) = tracked_pool(8);
        pool.put(pool.get()); // made by this thread, cached for threads
        assert_eq!(made.load(Ordering::SeqCst), 1);
        let p = pool.clone();
        let id = goro::go!(move || p.get().id).join().unwrap();
        assert_eq!(id, 0, "the thread's value was stolen");
        assert_eq!(made.load(Ordering::SeqCst), 1, "nothing new was made");
    });
}

/// Many coroutines and threads get and put concurrently: a value is never
/// in two hands at once.
#[test]
fn never_handed_out_twice() {
    common::for_each_procs("never_handed_out_twice", LIMIT, || {
        let pool = Pool::with_capacity(4, || Arc::new(AtomicBool::new(false)));
        let use_it = |pool: &Pool<Arc<AtomicBool>>| {
            let v = pool.get();
            assert!(!v.swap(true, Ordering::SeqCst), "value in two hands");
            goro::yield_now();
            v.store(false, Ordering::SeqCst);
            pool.put(v);
        };
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    for _ in 0..2000 {
                        use_it(&pool);
                    }
                })
            })
            .collect();
        goro::run(move || {
            let wg = WaitGroup::new();
            for _ in 0..100 {
                let pool = pool.clone();
                wg.go(move || {
                    for _ in 0..200 {
                        use_it(&pool);
                    }
                });
            }
            wg.wait();
        });
        for t in threads {
            t.join().unwrap();
        }
    });
}
