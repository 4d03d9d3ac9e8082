//! goro's main demo: a million coroutines parked at the same time.
//!
//! Spawns 1,000,000 coroutines that each check in and then park on a gate,
//! waits until all of them are parked, releases them all at once, waits
//! for every one to finish, and prints the wall times, the peak resident
//! memory and the memory each parked coroutine cost, next to Go's
//! published figure.
//!
//! ```text
//! cargo run --release --example million [-- -n N]
//! ```
//!
//! A parked coroutine costs about 4.3 KB here (one touched 4 KiB stack page
//! plus its header), so a million need about 4.3 GB of memory plus page
//! tables. On a small machine or container pass a smaller `-n` (a 4 GB
//! container: `-n 500000`).

use std::time::Instant;

use goro::sync::WaitGroup;

/// Measured cost of one parked coroutine on Linux x86-64 (bytes): one
/// touched stack page and the task header (docs/benchmarks.md, "parked").
const BYTES_PER_PARKED: f64 = 4.3e3;
/// Go's published minimum goroutine stack plus its g struct (~2.7 KB).
const GO_BYTES_PER_GOROUTINE: f64 = 2.7e3;
/// A progress line every this many spawns.
const PROGRESS_EVERY: usize = 100_000;

fn usage() -> ! {
    eprintln!("usage: million [-n COUNT]   (COUNT: how many coroutines, default 1000000)");
    std::process::exit(2);
}

fn parse_count() -> usize {
    let mut args = std::env::args().skip(1);
    let n = match args.next().as_deref() {
        None => return 1_000_000,
        Some("-n") => args.next().unwrap_or_else(|| usage()),
        Some(a) => a.to_string(),
    };
    if args.next().is_some() {
        usage();
    }
    match n.replace('_', "").parse() {
        Ok(n) if n > 0 => n,
        _ => usage(),
    }
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

fn main() {
    let n = parse_count();
    if let Err(e) = goro::init() {
        eprintln!("{e}");
        std::process::exit(2);
    }
    println!(
        "goro: {n} coroutines on {} worker threads (GOMAXPROCS); this needs about {:.1} GB of memory \
         plus page tables (use -n for fewer)",
        goro::maxprocs(),
        n as f64 * BYTES_PER_PARKED / 1e9
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
            if (i + 1) % PROGRESS_EVERY == 0 && i + 1 < n {
                println!(
                    "  spawned {:>9} ({:.0} ms)",
                    i + 1,
                    t.elapsed().as_secs_f64() * 1e3
                );
            }
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
    let per = parked_at.saturating_sub(rss_before) as f64 * 1024.0 / n as f64;
    println!(
        "total {:.0} ms; peak RSS {} MiB; {per:.0} bytes per parked coroutine (plus {} MiB of page tables, not in RSS)",
        total.elapsed().as_secs_f64() * 1e3,
        peak >> 10,
        page_tables >> 10
    );
    println!(
        "Go publishes ~{:.1} KB per goroutine (2 KiB stack + g); goro used {:.1} KB per coroutine here ({:.1}x)",
        GO_BYTES_PER_GOROUTINE / 1e3,
        per / 1e3,
        per / GO_BYTES_PER_GOROUTINE
    );
}
