//! Criterion benches for timers: `Timer::new` + `stop` (a heap insert and
//! a cancel, no fire), `Timer::reset` of a pending timer (a cancel and a
//! re-insert), `sleep(0)` (the fast path: no timer, no park) and a 1 µs
//! `sleep` (insert, park, the timer noticed and fired by a worker, wake).
//!
//! Each runs on a coroutine inside the runtime (`iter_custom` +
//! `goro::run`). Cancelled entries stay in the heap until swept, so the
//! insert/cancel benches also cover the sweep's amortised cost.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use goro::time::{self, Timer};

fn timers(c: &mut Criterion) {
    let mut g = c.benchmark_group("time");
    g.bench_function("timer_new_stop", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let t = Instant::now();
                for _ in 0..iters {
                    let timer = Timer::new(Duration::from_secs(60));
                    assert!(timer.stop());
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("timer_reset_pending", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let timer = Timer::new(Duration::from_secs(60));
                let t = Instant::now();
                for _ in 0..iters {
                    timer.reset(Duration::from_secs(60));
                }
                let d = t.elapsed();
                timer.stop();
                d
            })
        })
    });
    g.bench_function("sleep_0", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let t = Instant::now();
                for _ in 0..iters {
                    time::sleep(Duration::ZERO);
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("sleep_1us", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let t = Instant::now();
                for _ in 0..iters {
                    time::sleep(Duration::from_micros(1));
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20);
    targets = timers
}
criterion_main!(benches);
