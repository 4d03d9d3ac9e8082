//! Panics in coroutines: caught, returned by join, reported when nobody
//! joins, and the runtime keeps going.

mod common;

use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn joined_panic_is_returned() {
    common::watchdog("joined_panic", LIMIT, || {
        let h = goro::Builder::new()
            .name("doomed")
            .spawn(|| -> u8 { panic!("bad input {}", 7) });
        let p = h.join().unwrap_err();
        assert_eq!(p.message(), Some("bad input 7"));
        let shown = p.to_string();
        assert!(
            shown.contains("doomed") && shown.contains("bad input 7"),
            "{shown}"
        );
        // Non-string payloads survive too.
        let p = goro::go!(|| std::panic::panic_any(42u32))
            .join()
            .unwrap_err();
        assert_eq!(p.message(), None);
        assert_eq!(*p.into_payload().downcast::<u32>().unwrap(), 42);
    });
}

#[test]
fn runtime_survives_many_panics() {
    common::watchdog("survives", LIMIT, || {
        let hs: Vec<_> = (0..200)
            .map(|i| goro::go!(move || if i % 2 == 0 { panic!("even {i}") } else { i }))
            .collect();
        let mut ok = 0;
        let mut bad = 0;
        for h in hs {
            match h.join() {
                Ok(_) => ok += 1,
                Err(_) => bad += 1,
            }
        }
        assert_eq!((ok, bad), (100, 100));
        assert_eq!(goro::go!(|| 1 + 1).join().unwrap(), 2);
    });
}

/// An unjoined panic is reported on stderr with the coroutine's id and
/// name, whether the handle is dropped before or after the panic.
#[test]
fn unjoined_panic_is_reported() {
    const NAME: &str = "unjoined_panic_is_reported";
    if common::is_child(NAME) {
        // Dropped before it panics.
        let gate = goro::sync::WaitGroup::new();
        gate.add(1);
        let g2 = gate.clone();
        drop(goro::Builder::new().name("early-drop").spawn(move || {
            g2.wait();
            panic!("first failure");
        }));
        gate.done();
        // Dropped after it panicked.
        let h = goro::Builder::new()
            .name("late-drop")
            .spawn(|| panic!("second failure"));
        while !h.is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let id = h.id();
        drop(h);
        println!("LATE-ID {id}");
        // The early-drop report is printed as that coroutine completes,
        // before it counts as exited: wait for both to exit (a fixed sleep
        // was too short on a loaded machine). The parent's limit bounds it.
        while goro::num_goroutine() != 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            goro::go!(|| "still running").join().unwrap(),
            "still running"
        );
        return;
    }
    let out = common::run_child(NAME, &[], LIMIT);
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
    let err = &out.stderr;
    assert!(
        err.contains("(early-drop)") && err.contains("first failure"),
        "stderr:\n{err}"
    );
    assert!(
        err.contains("(late-drop)") && err.contains("second failure"),
        "stderr:\n{err}"
    );
    assert!(err.contains("nobody joined it"), "stderr:\n{err}");
    let id = out
        .stdout
        .split("LATE-ID ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap();
    assert!(
        err.contains(&format!("coroutine {id} (late-drop)")),
        "stderr:\n{err}"
    );
}

/// Unjoined panics on several workers at once, with backtraces on: every
/// report reaches stderr in one piece, whatever the panic hook prints from
/// the other threads meanwhile (`report.rs`). Written piece by piece, a
/// report was once cut by a backtrace frame in a CI run.
#[test]
fn concurrent_unjoined_panic_reports_stay_whole_lines() {
    const NAME: &str = "concurrent_unjoined_panic_reports_stay_whole_lines";
    const N: usize = 200;
    if common::is_child(NAME) {
        for k in 0..N {
            drop(
                goro::Builder::new()
                    .name(format!("p{k}"))
                    .spawn(move || panic!("boom {k}")),
            );
        }
        while goro::num_goroutine() != 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        println!("ALL-EXITED");
        return;
    }
    let out = common::run_child(NAME, &[("GOMAXPROCS", "4"), ("RUST_BACKTRACE", "1")], LIMIT);
    assert!(
        out.status.success() && out.stdout.contains("ALL-EXITED"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    for k in 0..N {
        // The report may start after a piece of a backtrace line that the
        // hook was printing (it writes a line in pieces), but it is one
        // piece itself, to the end of its line.
        let whole = out.stderr.lines().any(|l| {
            l.find("goro: coroutine ").is_some_and(|at| {
                let r = &l[at..];
                r.contains(&format!(" (p{k}) spawned at "))
                    && r.ends_with(&format!("panicked and nobody joined it: boom {k}"))
            })
        });
        assert!(
            whole,
            "no whole report line for p{k}; stderr:\n{}",
            out.stderr
        );
    }
}

#[test]
fn joined_panic_is_not_reported_as_unjoined() {
    const NAME: &str = "joined_panic_is_not_reported_as_unjoined";
    if common::is_child(NAME) {
        let _ = goro::go!(|| panic!("handled")).join().unwrap_err();
        return;
    }
    let out = common::run_child(NAME, &[], LIMIT);
    assert!(out.status.success());
    assert!(!out.stderr.contains("nobody joined"), "{}", out.stderr);
}

/// Blocks (sleeps, then sends on a rendezvous channel) in its `Drop`, which
/// runs while a panic unwinds the coroutine.
struct BlockingDrop(goro::chan::Sender<u32>, u32);

impl Drop for BlockingDrop {
    fn drop(&mut self) {
        goro::time::sleep(Duration::from_micros(200));
        let _ = self.0.send(self.1);
    }
}

/// Keeps a panic in flight on a plain thread: its `Drop` waits for a
/// message. While it waits, std's global panic count is non-zero, so
/// `std::thread::panicking()` reads each thread's own count, which is what
/// a coroutine that migrated in mid-unwind leaves wrong.
struct HeldPanic(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>);

impl Drop for HeldPanic {
    fn drop(&mut self) {
        let _ = self.0.send(());
        let _ = self.1.recv();
    }
}

/// A coroutine parked inside an unwind must resume on the thread where the
/// panic started (std counts panics per thread). Afterwards no coroutine
/// on any worker sees `std::thread::panicking()`, and std mutexes are not
/// poisoned by guards dropped in unrelated coroutines.
#[test]
fn unwinding_with_blocking_drop_leaves_no_thread_panicking() {
    common::for_procs(
        "unwinding_with_blocking_drop_leaves_no_thread_panicking",
        &[2, 8],
        LIMIT,
        || {
            goro::run(|| {
                const N: u32 = 200;
                let (tx, rx) = goro::chan::<u32>(0);
                let doomed: Vec<_> = (0..N)
                    .map(|i| {
                        let tx = tx.clone();
                        goro::go!(move || {
                            let _d = BlockingDrop(tx, i);
                            goro::yield_now();
                            panic!("doomed {i}");
                        })
                    })
                    .collect();
                drop(tx);
                let mut got: Vec<u32> = rx.iter().collect();
                got.sort_unstable();
                assert_eq!(got, (0..N).collect::<Vec<_>>(), "a Drop was lost");
                for h in doomed {
                    let p = h.join().unwrap_err();
                    assert!(p.message().unwrap().starts_with("doomed"));
                }
            });
            // Hold another panic in flight while we look.
            let (in_drop_tx, in_drop) = std::sync::mpsc::channel();
            let (release, release_rx) = std::sync::mpsc::channel();
            let held = std::thread::spawn(move || {
                let _h = HeldPanic(in_drop_tx, release_rx);
                panic!("held");
            });
            in_drop.recv().unwrap();
            goro::run(|| {
                let m = std::sync::Arc::new(std::sync::Mutex::new(0u64));
                let bad = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
                let wg = goro::sync::WaitGroup::new();
                for _ in 0..400 {
                    let (m, bad) = (m.clone(), bad.clone());
                    wg.go(move || {
                        for _ in 0..5 {
                            goro::yield_now();
                            if std::thread::panicking() {
                                bad.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            *m.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                        }
                    });
                }
                wg.wait();
                assert_eq!(
                    bad.load(std::sync::atomic::Ordering::Relaxed),
                    0,
                    "coroutines believed they were panicking"
                );
                assert!(
                    !m.is_poisoned(),
                    "a guard was dropped on a 'panicking' thread"
                );
                assert_eq!(*m.lock().unwrap(), 400 * 5);
            });
            release.send(()).unwrap();
            assert!(held.join().is_err());
        },
    );
}

/// Panics when dropped.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// A detached coroutine whose result (or panic payload) panics when
/// dropped is reported; the runtime keeps going (it used to abort with
/// "this is a goro bug").
#[test]
fn detached_result_that_panics_on_drop_is_reported() {
    const NAME: &str = "detached_result_that_panics_on_drop_is_reported";
    if common::is_child(NAME) {
        goro::run(|| {
            drop(
                goro::Builder::new()
                    .name("bad-result")
                    .spawn(|| PanicOnDrop("result drop")),
            );
            drop(
                goro::Builder::new()
                    .name("bad-payload")
                    .spawn(|| std::panic::panic_any(PanicOnDrop("payload drop"))),
            );
            // The reports come from the workers, after the panic hook.
            goro::time::sleep(Duration::from_millis(500));
            let h = goro::go!(|| 40 + 2);
            assert_eq!(h.join().unwrap(), 42);
        });
        println!("SURVIVED");
        return;
    }
    // No backtraces: symbolizing them in a debug build is slow.
    let out = common::run_child(NAME, &[("RUST_BACKTRACE", "0")], LIMIT);
    assert!(
        out.status.success() && out.stdout.contains("SURVIVED"),
        "{}\n{}\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    let err = &out.stderr;
    assert!(!err.contains("goro bug"), "{err}");
    assert!(
        err.contains("(bad-result)")
            && err.contains("dropping its unjoined result panicked: result drop"),
        "{err}"
    );
    assert!(
        err.contains("(bad-payload)") && err.contains("payload drop"),
        "{err}"
    );
}
