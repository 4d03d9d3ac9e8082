//! Nothing freezes the runtime: while one coroutine blocks its thread (a
//! sleeping system call, a blocking pipe read), spins on the CPU or
//! busy-polls, the others keep running, because the monitor hands the stuck
//! worker's processor to a spare thread.
//!
//! Each scenario runs in child processes under GOMAXPROCS=1 and 2 (the
//! runtime reads it once). A ticker coroutine sleeping 1 ms in a loop
//! records its largest gap; it must stay under [`MAX_GAP`], half the hog's
//! second: a frozen runtime shows a gap of the whole second, a working
//! monitor one of its 10 ms threshold plus scheduling slack. The bound is
//! that wide because the machine may be loaded (200 ms failed once with
//! two other builds running); the measured figures are in
//! `docs/benchmarks.md` (`stall`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);
const MAX_GAP: Duration = Duration::from_millis(500);
const PROCS: &[usize] = &[1, 2];

/// The scenarios measure latency while burning a CPU for a second: run
/// their child processes one at a time, or on a small machine they would
/// mostly measure each other.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `hog` on a coroutine while a ticker coroutine sleeps 1 ms in a
/// loop; returns the ticker's largest gap and how many ticks it made.
fn ticker_gap_during(hog: impl FnOnce() + Send + 'static) -> (Duration, u64) {
    goro::run(move || {
        let max_gap = Arc::new(AtomicU64::new(0));
        let ticks = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (max_gap, ticks, stop) = (max_gap.clone(), ticks.clone(), stop.clone());
            goro::go!(move || {
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    goro::time::sleep(Duration::from_millis(1));
                    let now = Instant::now();
                    max_gap.fetch_max((now - last).as_micros() as u64, Ordering::Relaxed);
                    ticks.fetch_add(1, Ordering::Relaxed);
                    last = now;
                }
            })
        };
        goro::time::sleep(Duration::from_millis(20));
        goro::go!(hog).join().expect("hog");
        goro::time::sleep(Duration::from_millis(20));
        stop.store(true, Ordering::Relaxed);
        ticker.join().expect("ticker");
        (
            Duration::from_micros(max_gap.load(Ordering::Relaxed)),
            ticks.load(Ordering::Relaxed),
        )
    })
}

fn check(what: &str, (gap, ticks): (Duration, u64)) {
    eprintln!("{what}: largest ticker gap {gap:?}, {ticks} ticks");
    assert!(
        gap < MAX_GAP,
        "{what}: the ticker stalled for {gap:?} (GOMAXPROCS={})",
        goro::maxprocs()
    );
    // About one tick per ms for ~1 s of hog: a good part must happen.
    assert!(ticks > 100, "{what}: only {ticks} ticks");
}

#[test]
fn thread_sleep_does_not_stall_others() {
    let _serial = serial();
    common::for_procs("thread_sleep_does_not_stall_others", PROCS, LIMIT, || {
        check(
            "std::thread::sleep(1s)",
            ticker_gap_during(|| std::thread::sleep(Duration::from_secs(1))),
        );
    });
}

#[test]
fn blocking_pipe_read_does_not_stall_others() {
    let _serial = serial();
    common::for_procs(
        "blocking_pipe_read_does_not_stall_others",
        PROCS,
        LIMIT,
        || {
            let mut fds = [0i32; 2];
            // SAFETY: `fds` has room for the two descriptors.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            let [r, w] = fds;
            let writer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(1));
                // SAFETY: `w` is the pipe's open write end; the buffer is one byte.
                assert_eq!(unsafe { libc::write(w, b"x".as_ptr().cast(), 1) }, 1);
            });
            check(
                "blocking read(2) of a pipe for 1 s",
                ticker_gap_during(move || {
                    let mut b = [0u8; 1];
                    // SAFETY: `r` is the pipe's open read end; `b` holds one byte.
                    let n = unsafe { libc::read(r, b.as_mut_ptr().cast(), 1) };
                    assert_eq!((n, b[0]), (1, b'x'));
                }),
            );
            writer.join().unwrap();
            // SAFETY: both ends are open and not used after this.
            unsafe {
                libc::close(r);
                libc::close(w);
            }
        },
    );
}

#[test]
fn cpu_spin_does_not_stall_others() {
    let _serial = serial();
    common::for_procs("cpu_spin_does_not_stall_others", PROCS, LIMIT, || {
        check(
            "1 s CPU loop",
            ticker_gap_during(|| {
                let t = Instant::now();
                let mut x = 1u64;
                while t.elapsed() < Duration::from_secs(1) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }),
        );
    });
}

/// A coroutine that busy-polls `try_recv` (no yield) until a third one
/// sends after 500 ms: the sender needs a processor too.
#[test]
fn busy_poll_does_not_stall_others() {
    let _serial = serial();
    common::for_procs("busy_poll_does_not_stall_others", PROCS, LIMIT, || {
        check(
            "busy-poll on try_recv",
            ticker_gap_during(|| {
                let (tx, rx) = goro::chan::<u32>(1);
                // Read before the spawn: the sender's sleep cannot start
                // earlier, so the bound below holds however long this
                // coroutine is descheduled.
                let t = Instant::now();
                let sender = goro::go!(move || {
                    goro::time::sleep(Duration::from_millis(500));
                    tx.send(7).unwrap();
                });
                let got = loop {
                    if let Ok(v) = rx.try_recv() {
                        break v;
                    }
                    std::hint::spin_loop();
                };
                assert_eq!(got, 7);
                assert!(t.elapsed() >= Duration::from_millis(500));
                sender.join().unwrap();
            }),
        );
    });
}

/// Two spinners hold both workers; a coroutine woken by its timer must
/// still run promptly (picked up by a spare thread).
#[test]
fn timer_wakeup_behind_two_spinners() {
    let _serial = serial();
    common::for_procs("timer_wakeup_behind_two_spinners", &[2], LIMIT, || {
        let late = goro::run(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let started = Arc::new(AtomicU64::new(0));
            let spinners: Vec<_> = (0..2)
                .map(|_| {
                    let (stop, started) = (stop.clone(), started.clone());
                    goro::go!(move || {
                        started.fetch_add(1, Ordering::SeqCst);
                        let t = Instant::now();
                        while !stop.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(5)
                        {
                            std::hint::spin_loop();
                        }
                    })
                })
                .collect();
            let sleeper = goro::go!(|| {
                let t = Instant::now();
                goro::time::sleep(Duration::from_millis(50));
                t.elapsed().saturating_sub(Duration::from_millis(50))
            });
            let late = sleeper.join().unwrap();
            stop.store(true, Ordering::Relaxed);
            for s in spinners {
                s.join().unwrap();
            }
            assert_eq!(started.load(Ordering::SeqCst), 2);
            late
        });
        eprintln!("timer-woken coroutine behind two spinners: {late:?} late");
        assert!(late < MAX_GAP, "woken {late:?} late behind two spinners");
    });
}

/// With `GORO_MAX_THREADS` equal to GOMAXPROCS there is no spare thread:
/// the monitor says so once, and the program still finishes (the stuck
/// worker's queue waits for it, as without a monitor).
#[test]
fn spare_thread_bound_is_a_clear_error() {
    let _serial = serial();
    const NAME: &str = "spare_thread_bound_is_a_clear_error";
    if common::is_child(NAME) {
        let done = goro::run(|| {
            let other = goro::go!(|| 42);
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(300) {
                std::hint::spin_loop();
            }
            other.join().unwrap()
        });
        assert_eq!(done, 42);
        assert_eq!(goro::__processor_moves(), 0);
        return;
    }
    let out = common::run_child(
        NAME,
        &[("GOMAXPROCS", "1"), ("GORO_MAX_THREADS", "1")],
        LIMIT,
    );
    assert!(
        out.status.success() && out.stdout.contains("1 passed"),
        "child failed: {}\n{}\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    let lines = out
        .stderr
        .lines()
        .filter(|l| l.contains("GORO_MAX_THREADS"))
        .count();
    assert_eq!(lines, 1, "want one bound message:\n{}", out.stderr);
    assert!(
        out.stderr
            .contains("all 1 threads allowed (GORO_MAX_THREADS) are in use"),
        "{}",
        out.stderr
    );
}

/// A bad `GORO_MAX_THREADS` is refused with a message naming it.
#[test]
fn bad_max_threads_is_a_clear_error() {
    let _serial = serial();
    const NAME: &str = "bad_max_threads_is_a_clear_error";
    if common::is_child(NAME) {
        let e = goro::init().unwrap_err();
        assert_eq!(e.var, "GORO_MAX_THREADS");
        assert!(e.to_string().contains("from 2 to 1024"), "{e}");
        return;
    }
    common::assert_child_passes(
        NAME,
        &[("GOMAXPROCS", "2"), ("GORO_MAX_THREADS", "1")],
        LIMIT,
    );
}

/// Fairness: coroutines looping on `sleep(1ns)` are woken by their timers
/// at every scheduling round; they must not starve a coroutine waiting on
/// a `Ticker` (its wake-up comes from a timer callback, not a park timer).
#[test]
fn sleep_loops_do_not_starve_a_ticker() {
    let _serial = serial();
    common::for_procs("sleep_loops_do_not_starve_a_ticker", PROCS, LIMIT, || {
        let (ticks, worst) = goro::run(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let loopers: Vec<_> = (0..3)
                .map(|_| {
                    let stop = stop.clone();
                    goro::go!(move || {
                        let mut n = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            goro::time::sleep(Duration::from_nanos(1));
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            let h = goro::go!(|| {
                let t = goro::time::Ticker::new(Duration::from_millis(10));
                let start = Instant::now();
                let (mut ticks, mut worst, mut last) = (0u32, Duration::ZERO, Instant::now());
                while start.elapsed() < Duration::from_millis(500) {
                    t.c().recv().unwrap();
                    worst = worst.max(last.elapsed());
                    last = Instant::now();
                    ticks += 1;
                }
                (ticks, worst)
            });
            let r = h.join().unwrap();
            stop.store(true, Ordering::Relaxed);
            for l in loopers {
                assert!(l.join().unwrap() > 0, "a sleep loop never ran");
            }
            r
        });
        eprintln!("ticker beside sleep(1ns) loops: {ticks} ticks, worst gap {worst:?}");
        // ~50 ticks in 500 ms; a Ticker drops ticks a slow receiver misses.
        assert!(ticks >= 20, "the ticker was starved: {ticks} ticks");
        assert!(worst < MAX_GAP, "the ticker waited {worst:?}");
    });
}

/// Fairness: a pinned coroutine (`lock_os_thread`, `Builder::pinned`) can
/// run only on its worker, but yielding in a loop it must still share that
/// worker: a sleeper it spawned (queued on the same worker) wakes from its
/// timer and runs, and a plain coroutine in the local queue runs too.
#[test]
fn pinned_yield_loop_does_not_starve_its_worker() {
    common::for_each_procs(
        "pinned_yield_loop_does_not_starve_its_worker",
        LIMIT,
        || {
            for _ in 0..20 {
                let waited = goro::run(|| {
                    let p = goro::Builder::new().pinned(true).spawn(|| {
                        let woke = Arc::new(AtomicBool::new(false));
                        let ran = Arc::new(AtomicBool::new(false));
                        let (w, r) = (woke.clone(), ran.clone());
                        let start = Instant::now();
                        let sleeper = goro::go!(move || {
                            goro::time::sleep(Duration::from_millis(2));
                            w.store(true, Ordering::SeqCst);
                        });
                        let plain = goro::go!(move || r.store(true, Ordering::SeqCst));
                        while !(woke.load(Ordering::SeqCst) && ran.load(Ordering::SeqCst)) {
                            assert!(
                                start.elapsed() < Duration::from_secs(10),
                                "starved by a pinned yield loop (timer woke: {}, queued ran: {})",
                                woke.load(Ordering::SeqCst),
                                ran.load(Ordering::SeqCst)
                            );
                            goro::yield_now();
                        }
                        sleeper.join().unwrap();
                        plain.join().unwrap();
                        start.elapsed()
                    });
                    p.join().unwrap()
                });
                assert!(waited >= Duration::from_millis(2), "{waited:?}");
            }
        },
    );
}

/// `GORO_DEBUG=blockwarn=<ms>`: a coroutine that holds its worker longer
/// than that is named once on stderr (id, name and spawn site); `0` turns it off;
/// an announced blocking call (`block_in_place`) is not warned about.
#[test]
fn blockwarn_names_the_culprit_once() {
    let _serial = serial();
    const NAME: &str = "blockwarn_names_the_culprit_once";
    if common::is_child(NAME) {
        goro::run(|| {
            let hog = goro::Builder::new().name("parser").spawn(|| {
                let t = Instant::now();
                while t.elapsed() < Duration::from_millis(400) {
                    std::hint::spin_loop();
                }
                goro::current().unwrap().id()
            });
            // Something else to run, so that the worker is also retaken.
            let other = goro::go!(|| goro::time::sleep(Duration::from_millis(20)));
            println!("HOG {}", hog.join().unwrap());
            other.join().unwrap();
            goro::go!(|| goro::block_in_place(|| std::thread::sleep(Duration::from_millis(300))))
                .join()
                .unwrap();
        });
        return;
    }
    for (debug, want) in [("blockwarn=50", 1), ("blockwarn=0", 0)] {
        let out = common::run_child(NAME, &[("GOMAXPROCS", "1"), ("GORO_DEBUG", debug)], LIMIT);
        assert!(
            out.status.success() && out.stdout.contains("1 passed"),
            "{}\n{}",
            out.stdout,
            out.stderr
        );
        let warnings: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("without yielding"))
            .collect();
        assert_eq!(warnings.len(), want, "{debug}:\n{}", out.stderr);
        if want == 1 {
            let id = out
                .stdout
                .split("HOG ")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .unwrap();
            let w = warnings[0];
            assert!(
                w.starts_with(&format!(
                    "goro: coroutine {id} (parser) spawned at tests/rt_liveness.rs:"
                )),
                "{w}"
            );
            assert!(w.contains("its worker was handed to another thread"), "{w}");
        }
    }
}

/// A detached hog that never blocked exits on the thread whose processor
/// was retaken (its task waits in that slot's registry batch, to be freed
/// after a lock cycle): the result is still dropped promptly, although
/// that thread retires and sleeps. Here the result is a `Sender` whose drop
/// closes the channel the main coroutine waits on.
#[test]
fn retaken_hog_result_is_dropped() {
    let _serial = serial();
    common::for_procs("retaken_hog_result_is_dropped", PROCS, LIMIT, || {
        goro::run(|| {
            let stop = Arc::new(AtomicBool::new(false));
            // Due timers: something else to run, so the hog's worker is retaken.
            let ticker = {
                let stop = stop.clone();
                goro::go!(move || {
                    while !stop.load(Ordering::Relaxed) {
                        goro::time::sleep(Duration::from_millis(1));
                    }
                })
            };
            for _ in 0..3 {
                let (tx, rx) = goro::chan::<()>(0);
                drop(goro::go!(move || {
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_millis(100) {
                        std::hint::spin_loop();
                    }
                    tx
                }));
                let closed = common::watchdog("hog result dropped", LIMIT, || rx.recv());
                assert_eq!(closed, None, "closed when the hog's result is dropped");
            }
            stop.store(true, Ordering::Relaxed);
            ticker.join().unwrap();
        });
    });
}
