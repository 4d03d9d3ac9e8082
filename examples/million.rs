//! goro's main demo: a million coroutines parked at the same time.
//!
//! Spawns 1,000,000 coroutines that each check in and then park on a gate,
//! waits until all of them are parked, releases them all at once, waits
//! for every one to finish, and prints the wall times, the peak resident
//! memory and the memory each parked coroutine cost.
//!
//! ```text
//! cargo run --release --example million [-- N]
//! ```

use std::time::Instant;

use goro::sync::WaitGroup;

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

fn main() {
    let n: usize = match std::env::args().nth(1) {
        None => 1_000_000,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("usage: million [COUNT]   (COUNT: how many coroutines, default 1000000)");
            std::process::exit(2);
        }),
    };
    if let Err(e) = goro::init() {
        eprintln!("{e}");
        std::process::exit(2);
    }
    println!(
        "goro: {n} coroutines on {} worker threads (GOMAXPROCS)",
        goro::maxprocs()
    );
    let rss_before = status_kib("VmRSS:");
    let total = Instant::now();
    let (parked_at, woke_in) = goro::run(move || {
        let gate = WaitGroup::new();
        gate.add(1);
        let started = WaitGroup::new();
        started.add(n as isize);
        let finished = WaitGroup::new();
        let t = Instant::now();
        for i in 0..n {
            let (gate, started) = (gate.clone(), started.clone());
            finished.go(move || {
                started.done();
                gate.wait();
                std::hint::black_box(i);
            });
        }
        started.wait();
        let parked_at = t.elapsed();
        let live = goro::num_goroutine();
        let rss = status_kib("VmRSS:");
        println!(
            "spawned and parked {n} coroutines in {:.0} ms ({live} alive); resident memory {} MiB",
            parked_at.as_secs_f64() * 1e3,
            rss >> 10
        );
        let t = Instant::now();
        gate.done();
        finished.wait();
        (rss, t.elapsed())
    });
    let peak = status_kib("VmHWM:");
    let page_tables = status_kib("VmPTE:");
    println!(
        "released all {n} and saw them finish in {:.0} ms",
        woke_in.as_secs_f64() * 1e3
    );
    println!(
        "total {:.0} ms; peak RSS {} MiB; {:.0} bytes per parked coroutine (plus {} MiB of page tables, not in RSS)",
        total.elapsed().as_secs_f64() * 1e3,
        peak >> 10,
        parked_at.saturating_sub(rss_before) as f64 * 1024.0 / n as f64,
        page_tables >> 10
    );
}
