//! Criterion benches for `goro::sync`: uncontended and contended `Mutex`,
//! `RwMutex` reads, the `Once` fast path, `Pool` get/put.
//!
//! Each measures inside the runtime (`iter_custom` + `goro::run`) so the
//! timed loop runs on a coroutine, as user code does. `std::sync::Mutex`
//! uncontended is included as a yardstick.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use goro::sync::{Mutex, Once, OnceCell, Pool, RwMutex, WaitGroup};

fn mutex(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex");
    g.bench_function("uncontended_lock_unlock", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let m = Mutex::new(0u64);
                let t = Instant::now();
                for _ in 0..iters {
                    *black_box(&m).lock() += 1;
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("std_uncontended_lock_unlock", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let m = std::sync::Mutex::new(0u64);
                let t = Instant::now();
                for _ in 0..iters {
                    *black_box(&m).lock().unwrap() += 1;
                }
                t.elapsed()
            })
        })
    });
    // Four coroutines (on however many workers GOMAXPROCS gives) share one
    // mutex; time per lock/unlock pair, all coroutines together.
    g.bench_function("contended_4_coroutines", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let m: &'static Mutex<u64> = Box::leak(Box::new(Mutex::new(0)));
                let wg = WaitGroup::new();
                let per = iters.div_ceil(4);
                let t = Instant::now();
                for _ in 0..4 {
                    wg.go(move || {
                        for _ in 0..per {
                            *m.lock() += 1;
                        }
                    });
                }
                wg.wait();
                let d = t.elapsed();
                assert_eq!(*m.lock(), per * 4);
                d * (iters as u32) / ((per * 4) as u32).max(1)
            })
        })
    });
    g.finish();
}

fn rwmutex(c: &mut Criterion) {
    let mut g = c.benchmark_group("rwmutex");
    g.bench_function("read_uncontended", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let l = RwMutex::new(1u64);
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(*black_box(&l).read());
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("write_uncontended", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let l = RwMutex::new(1u64);
                let t = Instant::now();
                for _ in 0..iters {
                    *black_box(&l).write() += 1;
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

fn once(c: &mut Criterion) {
    let mut g = c.benchmark_group("once");
    g.bench_function("call_once_fast_path", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let o = Once::new();
                o.call_once(|| ());
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(&o).call_once(|| ());
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("once_cell_get_or_init_fast_path", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let c = OnceCell::new();
                c.get_or_init(|| 7u64);
                let t = Instant::now();
                for _ in 0..iters {
                    black_box(*black_box(&c).get_or_init(|| 8));
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

fn pool(c: &mut Criterion) {
    c.bench_function("pool_get_put", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let p = Pool::new(|| vec![0u8; 64]);
                p.put(p.get());
                let t = Instant::now();
                for _ in 0..iters {
                    let v = black_box(&p).get();
                    p.put(black_box(v));
                }
                t.elapsed()
            })
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = mutex, rwmutex, once, pool
}
criterion_main!(benches);
