//! Criterion benches for the runtime core: spawn, yield, park/ready.
//!
//! Each measures inside the runtime (`iter_custom` + `goro::run`) so the
//! timed loop runs on a coroutine, as user code does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use goro::sync::WaitGroup;
use goro::waiter::{self, Unparker};

fn spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn");
    g.bench_function("spawn_join", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let t = Instant::now();
                for _ in 0..iters {
                    goro::go!(|| ()).join().unwrap();
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("spawn_waitgroup_batch_1000", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
                let t = Instant::now();
                for _ in 0..iters {
                    wg.add(1000);
                    for _ in 0..1000 {
                        goro::go!(move || wg.done());
                    }
                    wg.wait();
                }
                t.elapsed() / 1000
            })
        })
    });
    g.finish();
}

fn yield_now(c: &mut Criterion) {
    c.bench_function("yield_now", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let t = Instant::now();
                for _ in 0..iters {
                    goro::yield_now();
                }
                t.elapsed()
            })
        })
    });
}

/// One coroutine wakes another and parks; the other does the same back:
/// two park/ready pairs per iteration.
fn park_ready(c: &mut Criterion) {
    struct Slot {
        turn: AtomicU64,
        waiter: std::sync::Mutex<Option<Unparker>>,
    }
    fn wait_for(s: &Slot, v: u64) {
        while s.turn.load(Ordering::Acquire) != v {
            *s.waiter.lock().unwrap() = Some(waiter::current());
            waiter::park("bench", None, || s.turn.load(Ordering::Acquire) != v);
        }
    }
    fn give(s: &Slot, v: u64) {
        s.turn.store(v, Ordering::Release);
        if let Some(u) = s.waiter.lock().unwrap().take() {
            u.unpark_into();
        }
    }
    c.bench_function("park_ready_pair", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let a = Arc::new(Slot {
                    turn: AtomicU64::new(0),
                    waiter: Default::default(),
                });
                let bb = Arc::new(Slot {
                    turn: AtomicU64::new(0),
                    waiter: Default::default(),
                });
                let (a2, b2) = (a.clone(), bb.clone());
                let other = goro::go!(move || {
                    for i in 1..=iters {
                        wait_for(&a2, i);
                        give(&b2, i);
                    }
                });
                let t = Instant::now();
                for i in 1..=iters {
                    give(&a, i);
                    wait_for(&bb, i);
                }
                let d = t.elapsed();
                other.join().unwrap();
                d
            })
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = spawn, yield_now, park_ready
}
criterion_main!(benches);
