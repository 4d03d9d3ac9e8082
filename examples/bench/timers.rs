//! Timer workload: 100,000 coroutines each sleeping 10–19 ms at once.
//!
//! The Go reference has no such workload; `docs/benchmarks.md` carries the
//! equivalent Go program (goroutines calling `time.Sleep`) to run beside it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use goro::sync::WaitGroup;

/// `n` coroutines sleep 10 + i%10 ms; prints the total time and the worst
/// lateness (time slept beyond the requested duration).
pub fn sleepers(n: usize) {
    static WORST_NS: AtomicU64 = AtomicU64::new(0);
    let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
    let t = Instant::now();
    wg.add(n as isize);
    for i in 0..n {
        goro::go!(move || {
            let d = Duration::from_millis(10 + (i % 10) as u64);
            let s = Instant::now();
            goro::time::sleep(d);
            let late = s.elapsed().saturating_sub(d).as_nanos() as u64;
            WORST_NS.fetch_max(late, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    let total = t.elapsed();
    println!("sleep100k_total_ms {:.1} ms", total.as_secs_f64() * 1e3);
    println!(
        "sleep100k_worst_late_ms {:.1} ms",
        WORST_NS.load(Ordering::Relaxed) as f64 / 1e6
    );
}
