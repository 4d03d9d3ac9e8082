//! Sync workloads: Mutex contention.

use std::time::Instant;

use goro::sync::{Mutex, WaitGroup};

/// Coroutines in the `mutex` workload (the metric name says 1000g).
const COROUTINES: usize = 1000;

/// Go's `mutex` workload, in `/tmp`-style Go in `docs/benchmarks.md`: 1000
/// coroutines, each taking the lock `n / 1000` times (1000 by default)
/// around a counter increment; time per lock/unlock pair. The mutex and the
/// WaitGroup are shared by reference, as the Go closures capture `&mu` and
/// `&wg`.
pub fn mutex(n: usize) {
    let per = (n / COROUTINES).max(1);
    let mu: &'static Mutex<u64> = Box::leak(Box::new(Mutex::new(0)));
    let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
    let t = Instant::now();
    wg.add(COROUTINES as isize);
    for _ in 0..COROUTINES {
        goro::go!(move || {
            for _ in 0..per {
                *mu.lock() += 1;
            }
            wg.done();
        });
    }
    wg.wait();
    let d = t.elapsed();
    let ops = (COROUTINES * per) as u64;
    assert_eq!(*mu.lock(), ops, "lost updates");
    println!(
        "mutex_1000g_ns_per_op {:.1} ns",
        d.as_nanos() as f64 / ops as f64
    );
}
