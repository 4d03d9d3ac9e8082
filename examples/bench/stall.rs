//! `stall`: how long other coroutines wait while one coroutine (1) blocks
//! its thread in a 1 s `nanosleep` system call, (2) spins on the CPU for
//! 1 s, (3) makes the same system call inside `goro::block_in_place`. A
//! ticker coroutine sleeping 1 ms in a loop records its largest gap. Same
//! shape and metric names as the Go reference (`extra.go`, `stall`); the
//! third has no Go counterpart (Go's own system calls are announced).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A 1 s `nanosleep` system call that blocks the calling thread.
fn nanosleep_1s() {
    let ts = libc::timespec {
        tv_sec: 1,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec; a null remainder pointer is allowed.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

/// 1 s of arithmetic, checking the clock every 1000 steps (as Go's).
fn spin_1s() {
    let t = Instant::now();
    let mut x: u64 = 1;
    while t.elapsed() < Duration::from_secs(1) {
        for _ in 0..1000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
        }
    }
    if std::hint::black_box(x) == 42 {
        println!("{x}");
    }
}

fn measure(name: &str, hog: fn()) {
    let max_gap = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (max_gap, stop) = (max_gap.clone(), stop.clone());
        goro::go!(move || {
            let mut last = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                goro::time::sleep(Duration::from_millis(1));
                let now = Instant::now();
                max_gap.fetch_max((now - last).as_micros() as u64, Ordering::Relaxed);
                last = now;
            }
        })
    };
    goro::time::sleep(Duration::from_millis(20));
    goro::go!(hog).join().expect("hog");
    goro::time::sleep(Duration::from_millis(20));
    stop.store(true, Ordering::Relaxed);
    ticker.join().expect("ticker");
    println!(
        "stall_{name}_max_gap_ms {:.2} ms",
        max_gap.load(Ordering::Relaxed) as f64 / 1000.0
    );
}

pub fn stall() {
    measure("syscall", nanosleep_1s);
    measure("cpu", spin_1s);
    measure("blocking", || goro::block_in_place(nanosleep_1s));
}

/// Context switches of every thread of this process so far.
fn ctxt_switches() -> u64 {
    let mut n = 0;
    for t in std::fs::read_dir("/proc/self/task").expect("procfs") {
        let status = std::fs::read_to_string(t.expect("task").path().join("status"));
        for l in status.unwrap_or_default().lines() {
            if l.starts_with("voluntary_ctxt_switches")
                || l.starts_with("nonvoluntary_ctxt_switches")
            {
                n += l
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    n
}

/// `idle`: an idle runtime (every coroutine parked, no timers) for 10 s:
/// how often do its threads wake? Counted from `/proc/self/task/*/status`
/// by the main thread, which sleeps meanwhile.
pub fn idle() {
    let (_tx, rx) = goro::chan::<()>(0);
    let parked = goro::go!(move || {
        let _ = rx.recv();
    });
    std::thread::sleep(Duration::from_millis(500));
    let before = ctxt_switches();
    std::thread::sleep(Duration::from_secs(10));
    let after = ctxt_switches();
    // The main thread's own two sleeps count two switches.
    println!(
        "idle_wakeups_per_s {:.1} /s",
        after.saturating_sub(before + 2) as f64 / 10.0
    );
    drop(_tx);
    parked.join().expect("parked");
}
