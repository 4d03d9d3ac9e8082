//! `sync_queue_bench [-n N] WORKLOAD`: workloads that drive the `sync`
//! package's wait queue (`runtime/sync/sema.rs`), for A/B runs of two builds.
//!
//! `examples/bench`'s `mutex` workload mostly measures the mutex's barging
//! fast path: its waiters rarely sleep. These make (nearly) every operation
//! go through the queue: a holder yields while it holds, so the others find
//! the lock taken and sleep, and each release hands units to a sleeper.
//! Prints `metric value unit` lines, so `../shared/bench/compare.py` can
//! alternate two builds of it (`--goro NEW --go-bin OLD`).
//!
//! | workload | what |
//! |----------|------|
//! | `mutex4` | 4 coroutines × `4n` `Mutex` lock/unlock, no yield (contended, few sleeps) |
//! | `mutexy` | 8 coroutines share `n` lock/unlock, yielding while they hold the lock |
//! | `rwmix` | 8 coroutines × `n` operations: 2 write, 6 read, no yield |
//! | `rw` | 8 coroutines share `n` operations: 2 write, 6 read and yield while reading |
//! | `sem` | 8 coroutines share `n` acquire(1)/release(1) of a `Semaphore(1)`, yielding while they hold it |
//! | `semw` | the same with weights 1, 2 and 3 on a `Semaphore(4)` |
//!
//! ```text
//! cargo run --release --example sync_queue_bench -- mutexy
//! ```
//!
//! Every workload checks its own result (no lost update), so a broken queue
//! fails instead of printing a figure.

use std::time::Instant;

use goro::sync::{Mutex, RwMutex, Semaphore, WaitGroup};

const WORKLOADS: &str = "mutex4|mutexy|rwmix|rw|sem|semw";

fn main() {
    let mut n: u64 = 200_000;
    let mut workload = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-n" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) if v >= 8 => n = v,
                _ => usage(),
            },
            w if workload.is_none() => workload = Some(w.to_string()),
            _ => usage(),
        }
    }
    let Some(w) = workload else { usage() };
    if !WORKLOADS.split('|').any(|x| x == w) {
        usage();
    }
    goro::run(move || match w.as_str() {
        "mutex4" => mutex(4, 4 * n, false, "mutex_4g_ns_per_op"),
        "mutexy" => mutex(8, n / 8, true, "mutex_yield_ns_per_op"),
        "rwmix" => rw(n, false, "rw_noyield_ns_per_op"),
        "rw" => rw(n / 8, true, "rw_mixed_ns_per_op"),
        "sem" => semaphore(1, |_| 1, n / 8, "sem_handoff_ns_per_op"),
        _ => semaphore(4, |i| i % 3 + 1, n / 8, "sem_weighted_ns_per_op"),
    });
}

fn usage() -> ! {
    eprintln!("usage: sync_queue_bench [-n N (>= 8)] {WORKLOADS}");
    std::process::exit(2);
}

fn report(metric: &str, t: Instant, ops: u64) {
    println!(
        "{metric} {:.1} ns",
        t.elapsed().as_nanos() as f64 / ops as f64
    );
}

/// `g` coroutines, `per` lock/unlock each around a counter increment.
fn mutex(g: u64, per: u64, yield_holding: bool, metric: &str) {
    let m: &'static Mutex<u64> = Box::leak(Box::new(Mutex::new(0)));
    let wg = WaitGroup::new();
    let t = Instant::now();
    for _ in 0..g {
        wg.go(move || {
            for _ in 0..per {
                let mut c = m.lock();
                if yield_holding {
                    goro::yield_now();
                }
                *c += 1;
            }
        });
    }
    wg.wait();
    report(metric, t, g * per);
    assert_eq!(*m.lock(), g * per, "lost updates");
}

/// 8 coroutines, `per` operations each; coroutines 0 and 4 write.
fn rw(per: u64, yield_reading: bool, metric: &str) {
    let l: &'static RwMutex<u64> = Box::leak(Box::new(RwMutex::new(0)));
    let wg = WaitGroup::new();
    let t = Instant::now();
    for i in 0..8u64 {
        wg.go(move || {
            for _ in 0..per {
                if i % 4 == 0 {
                    *l.write() += 1;
                } else {
                    let r = l.read();
                    if yield_reading {
                        goro::yield_now();
                    }
                    std::hint::black_box(*r);
                }
            }
        });
    }
    wg.wait();
    report(metric, t, 8 * per);
    assert_eq!(*l.read(), 2 * per, "lost writes");
}

/// 8 coroutines, `per` acquire/release each of `weight(i)` units, yielding
/// while they hold them.
fn semaphore(size: usize, weight: fn(usize) -> usize, per: u64, metric: &str) {
    let s: &'static Semaphore = Box::leak(Box::new(Semaphore::new(size)));
    let wg = WaitGroup::new();
    let t = Instant::now();
    for i in 0..8 {
        let k = weight(i);
        wg.go(move || {
            for _ in 0..per {
                s.acquire(k);
                goro::yield_now();
                s.release(k);
            }
        });
    }
    wg.wait();
    report(metric, t, 8 * per);
    assert_eq!(s.available(), size, "units lost or duplicated");
}
