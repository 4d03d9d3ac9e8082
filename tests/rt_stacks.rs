//! Stacks: many parked coroutines at once (beyond what per-stack mappings
//! allow), stack overflow reporting, pinned coroutines.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use goro::sync::WaitGroup;

/// 200,000 coroutines parked at the same time: more than the ~32K that
/// mprotect guard pages (two mappings per stack) allow under the default
/// vm.max_map_count of 65530.
#[test]
fn two_hundred_thousand_parked_at_once() {
    const N: usize = 200_000;
    common::watchdog("200k parked", Duration::from_secs(120), || {
        goro::run(|| {
            let gate = WaitGroup::new();
            gate.add(1);
            let started = WaitGroup::new();
            started.add(N as isize);
            let finished = Arc::new(AtomicUsize::new(0));
            let all = WaitGroup::new();
            for _ in 0..N {
                let (gate, started, finished) = (gate.clone(), started.clone(), finished.clone());
                all.go(move || {
                    started.done();
                    gate.wait();
                    finished.fetch_add(1, Ordering::Relaxed);
                });
            }
            started.wait();
            // Every one of them is alive and parked now.
            assert!(goro::num_goroutine() > N);
            assert_eq!(finished.load(Ordering::Relaxed), 0);
            let maps = std::fs::read_to_string("/proc/self/maps")
                .map(|m| m.lines().count())
                .unwrap_or(0);
            println!("{N} parked coroutines, {maps} memory mappings");
            gate.done();
            all.wait();
            assert_eq!(finished.load(Ordering::Relaxed), N);
        });
    });
}

#[test]
fn stack_overflow_is_reported_with_the_coroutine() {
    const NAME: &str = "stack_overflow_is_reported_with_the_coroutine";
    if common::is_child(NAME) {
        #[inline(never)]
        fn recurse(n: u64) -> u64 {
            let pad = [n; 64];
            std::hint::black_box(&pad);
            if n == 0 {
                0
            } else {
                recurse(n - 1) + std::hint::black_box(pad[3])
            }
        }
        let h = goro::Builder::new()
            .name("deep")
            .stack_size(64 * 1024)
            .spawn(|| recurse(u64::MAX));
        let _ = h.join();
        unreachable!("the overflow must abort the process");
    }
    let out = common::run_child(NAME, &[], Duration::from_secs(60));
    assert!(!out.status.success());
    let err = &out.stderr;
    assert!(
        err.contains("overflowed its 64 KiB stack"),
        "stderr:\n{err}"
    );
    assert!(err.contains("(deep)"), "stderr:\n{err}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(libc_sigabrt()),
        "status {:?}",
        out.status
    );
}

fn libc_sigabrt() -> i32 {
    6
}

/// Faults that are not coroutine overflows keep their usual behaviour: a
/// plain thread's stack overflow is still reported by std.
#[test]
fn thread_overflow_still_reported_by_std() {
    const NAME: &str = "thread_overflow_still_reported_by_std";
    if common::is_child(NAME) {
        goro::init().unwrap();
        #[inline(never)]
        fn recurse(n: u64) -> u64 {
            let pad = [n; 64];
            std::hint::black_box(&pad);
            if n == 0 {
                0
            } else {
                recurse(n - 1) + std::hint::black_box(pad[3])
            }
        }
        let t = std::thread::Builder::new()
            .name("plain".into())
            .stack_size(128 * 1024)
            .spawn(|| recurse(u64::MAX));
        let _ = t.unwrap().join();
        unreachable!();
    }
    let out = common::run_child(NAME, &[], Duration::from_secs(60));
    assert!(!out.status.success());
    assert!(
        out.stderr.contains("has overflowed its stack"),
        "stderr:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("goro: coroutine"),
        "stderr:\n{}",
        out.stderr
    );
}

#[test]
fn pinned_coroutine_never_changes_worker() {
    common::for_each_procs(
        "pinned_coroutine_never_changes_worker",
        Duration::from_secs(120),
        || {
            let stop = Arc::new(AtomicUsize::new(0));
            // Background churn so that idle workers go stealing.
            let churn: Vec<_> = (0..8)
                .map(|_| {
                    let stop = stop.clone();
                    goro::go!(move || {
                        while stop.load(Ordering::Relaxed) == 0 {
                            goro::go!(goro::yield_now).join().unwrap();
                        }
                    })
                })
                .collect();
            let pinned: Vec<_> = (0..8)
                .map(|_| {
                    goro::Builder::new().pinned(true).spawn(|| {
                        let first = goro::worker_index().unwrap();
                        let gate = WaitGroup::new();
                        for i in 0..2000 {
                            if i % 2 == 0 {
                                goro::yield_now();
                            } else {
                                // Park and get woken from elsewhere.
                                gate.add(1);
                                let g = gate.clone();
                                goro::go!(move || g.done());
                                gate.wait();
                            }
                            assert_eq!(
                                goro::worker_index().unwrap(),
                                first,
                                "pinned coroutine migrated"
                            );
                        }
                        assert!(goro::current().unwrap().is_pinned());
                    })
                })
                .collect();
            for h in pinned {
                h.join().unwrap();
            }
            stop.store(1, Ordering::Relaxed);
            for h in churn {
                h.join().unwrap();
            }
        },
    );
}

#[test]
fn pinned_keeps_its_thread_when_gomaxprocs_shrinks() {
    const NAME: &str = "pinned_keeps_its_thread_when_gomaxprocs_shrinks";
    if !common::is_child(NAME) {
        common::assert_child_passes(NAME, &[("GOMAXPROCS", "4")], Duration::from_secs(60));
        return;
    }
    // Pin coroutines until one lands on worker 3, then shrink to 1.
    let gate = WaitGroup::new();
    gate.add(1);
    let mut hs = Vec::new();
    for _ in 0..64 {
        let g = gate.clone();
        hs.push(goro::Builder::new().pinned(true).spawn(move || {
            let first = goro::worker_index().unwrap();
            g.wait();
            goro::yield_now();
            (first, goro::worker_index().unwrap())
        }));
    }
    std::thread::sleep(Duration::from_millis(50));
    goro::set_maxprocs(1).unwrap();
    gate.done();
    for h in hs {
        let (first, last) = h.join().unwrap();
        assert_eq!(first, last);
    }
}

/// When the kernel refuses stack memory, the coroutine fails with an error
/// that names the cause, and the runtime keeps going.
#[test]
fn refused_stack_memory_is_a_clear_error() {
    const NAME: &str = "refused_stack_memory_is_a_clear_error";
    if !common::is_child(NAME) {
        let out = common::run_child(NAME, &[], Duration::from_secs(60));
        assert!(
            out.status.success() && !out.timed_out,
            "{}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stderr.contains("address space"),
            "stderr:\n{}",
            out.stderr
        );
        return;
    }
    goro::init().unwrap();
    goro::go!(|| ()).join().unwrap();
    common::limit_address_space(16 << 20);
    // A new stack size needs a new 64 MiB slab, which no longer fits.
    let h = goro::Builder::new().stack_size(512 * 1024).spawn(|| 1);
    let err = h.join().unwrap_err();
    let msg = err.message().unwrap().to_string();
    assert!(msg.contains("cannot allocate a 512 KiB stack"), "{msg}");
    assert!(
        msg.contains("address space") && msg.contains("vm.max_map_count"),
        "{msg}"
    );
    // Default-size stacks are recycled from the cache: still fine.
    assert_eq!(goro::go!(|| 7).join().unwrap(), 7);
}
