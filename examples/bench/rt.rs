//! Runtime workloads: spawn throughput and a million parked coroutines.

use std::time::{Duration, Instant};

use goro::sync::WaitGroup;

/// Resident set size of this process, in KiB (`VmRSS`).
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// `n` × `go!` + WaitGroup, like Go's `spawn`: one `add(n)`, each coroutine
/// calls `done()` on the shared group.
pub fn spawn(n: usize) {
    // Shared by reference, as the Go closure shares `&wg`.
    let wg: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
    let t = Instant::now();
    wg.add(n as isize);
    for _ in 0..n {
        goro::go!(move || wg.done());
    }
    wg.wait();
    let d = t.elapsed();
    println!("spawn_total_ms {:.1} ms", d.as_secs_f64() * 1e3);
    println!("spawn_per_op_ns {:.1} ns", d.as_nanos() as f64 / n as f64);

    // The idiomatic Rust spelling clones a handle per coroutine (an atomic
    // reference count shared by spawner and finisher); reported for
    // transparency, not compared with Go.
    let wg = WaitGroup::new();
    let t = Instant::now();
    wg.add(n as isize);
    for _ in 0..n {
        let wg = wg.clone();
        goro::go!(move || wg.done());
    }
    wg.wait();
    let d = t.elapsed();
    println!(
        "spawn_clone_per_op_ns {:.1} ns",
        d.as_nanos() as f64 / n as f64
    );
}

/// `n` coroutines parked at once on a gate, like Go's `parked`: time to
/// spawn them all (until each has started), resident bytes per parked
/// coroutine, time to wake them all and see them finish.
pub fn parked(n: usize) {
    let before = rss_kib();
    let gate = WaitGroup::new();
    gate.add(1);
    let started: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
    let finished: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
    started.add(n as isize);
    finished.add(n as isize);
    let gate: &'static WaitGroup = Box::leak(Box::new(gate));
    let t = Instant::now();
    for _ in 0..n {
        goro::go!(move || {
            started.done();
            gate.wait();
            finished.done();
        });
    }
    started.wait();
    let d1 = t.elapsed();
    goro::waiter::park(
        "sleep",
        Some(Instant::now() + Duration::from_millis(50)),
        || true,
    );
    let after = rss_kib();
    let t2 = Instant::now();
    gate.done();
    finished.wait();
    let d2 = t2.elapsed();
    println!("parked_spawn_ms {:.1} ms", d1.as_secs_f64() * 1e3);
    println!(
        "parked_bytes_per_coroutine {:.0} B",
        after.saturating_sub(before) as f64 * 1024.0 / n as f64
    );
    println!("parked_wake_all_ms {:.1} ms", d2.as_secs_f64() * 1e3);
}
