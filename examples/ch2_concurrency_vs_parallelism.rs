//! *Concurrency in Go*, chapter 2, "The Difference Between Concurrency and
//! Parallelism": concurrency is a property of the code; parallelism is a
//! property of the running program.
//!
//! One concurrent program — eight coroutines each summing a slice of
//! numbers, joined at the end — runs twice, unchanged: with one worker
//! thread (`GOMAXPROCS=1`: concurrent, never parallel) and with every core
//! (chapter 3's "GOMAXPROCS lever", `goro::set_maxprocs`). The result is the
//! same; which threads the coroutines ran on, and how long it took, are
//! properties of the run.

use std::collections::BTreeSet;
use std::time::Instant;

fn concurrent_sum(n: u64, parts: u64) -> (u64, BTreeSet<usize>) {
    let chunk = n / parts;
    let handles: Vec<_> = (0..parts)
        .map(|p| {
            goro::go!(move || {
                let worker = goro::worker_index().unwrap();
                let s = (p * chunk..(p + 1) * chunk).fold(0u64, |acc, i| acc.wrapping_add(i * i));
                (s, worker)
            })
        })
        .collect();
    let mut total = 0u64;
    let mut workers = BTreeSet::new();
    for h in handles {
        let (s, w) = h.join().unwrap();
        total = total.wrapping_add(s);
        workers.insert(w);
    }
    (total, workers)
}

fn main() {
    goro::run(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let before = goro::maxprocs();
        let n = 16_000_000;
        for procs in [1, cores.max(2)] {
            goro::set_maxprocs(procs).unwrap();
            let start = Instant::now();
            let (sum, workers) = concurrent_sum(n, 8);
            println!(
                "GOMAXPROCS={procs}: sum={sum} in {:?}, the 8 coroutines ran on workers {workers:?}",
                start.elapsed()
            );
        }
        goro::set_maxprocs(before).unwrap();
        println!("Same code, same answer: parallelism depended only on the run.");
    });
}
