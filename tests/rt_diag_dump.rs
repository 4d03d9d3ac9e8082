//! Seeing inside: `goro::coroutines()` and `goro::dump()` show every live
//! coroutine with its state, wait reason, spawn site and pinning;
//! `goro::metrics()` counters move as they should. Exact counts need a
//! process of their own (other tests spawn too), so the scenarios run in
//! child processes, under one worker (where "runnable" can be caught
//! deterministically) and under several.

mod common;

use std::time::Duration;

use goro::{Builder, CoroutineState, chan};

const LIMIT: Duration = Duration::from_secs(60);

fn find(name: &str) -> Option<goro::CoroutineInfo> {
    goro::coroutines()
        .into_iter()
        .find(|c| c.name.as_deref() == Some(name))
}

fn wait_for_state(name: &str, state: CoroutineState) -> goro::CoroutineInfo {
    common::watchdog(name, LIMIT, || {
        loop {
            if let Some(c) = find(name).filter(|c| c.state == state) {
                return c;
            }
            goro::time::sleep(Duration::from_millis(1));
        }
    })
}

/// With one worker: the main coroutine is running on worker 0, a fresh
/// spawn is only counted until it first runs, a yielder is runnable
/// whenever main runs, a receiver is
/// waiting on "chan receive", a pinned one says so, and finished ones are
/// gone.
#[test]
fn states_reasons_and_sites() {
    common::for_procs("states_reasons_and_sites", &[1], LIMIT, || {
        goro::run(|| {
            let (tx, rx) = chan::<u32>(0);
            let parked = Builder::new().name("parked").spawn(move || rx.recv());
            let parked_line = line!() - 1;
            let c = wait_for_state("parked", CoroutineState::Waiting);
            assert_eq!(c.wait_reason, Some("chan receive"));
            assert_eq!(c.spawned_at.file(), file!());
            assert_eq!(c.spawned_at.line(), parked_line);
            assert!(!c.pinned);
            assert_eq!(c.waiting_for, None, "first sighting starts the clock");
            std::thread::sleep(Duration::from_millis(20));
            let again = find("parked").unwrap();
            assert!(again.waiting_for.unwrap() >= Duration::from_millis(20));

            // One worker: a coroutine that has run and yielded is queued
            // whenever main runs.
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let s2 = stop.clone();
            let queued = Builder::new().name("queued").spawn(move || {
                while !s2.load(std::sync::atomic::Ordering::Relaxed) {
                    goro::yield_now();
                }
                5
            });
            assert!(find("queued").is_none(), "listed from its first run on");
            assert!(goro::dump().contains("1 coroutine(s) spawned and not yet started"));
            goro::time::sleep(Duration::from_millis(5));
            let q = find("queued").unwrap();
            assert_eq!(q.state, CoroutineState::Runnable);
            assert!(!q.pinned);
            let (ptx, prx) = chan::<()>(0);
            let pinned = Builder::new()
                .name("pinned")
                .pinned(true)
                .spawn(move || prx.recv());
            let p = wait_for_state("pinned", CoroutineState::Waiting);
            assert!(p.pinned);
            assert!(goro::dump().contains("[chan receive, locked to thread]: name \"pinned\""));
            ptx.send(()).unwrap();
            pinned.join().unwrap().unwrap();
            assert_eq!(q.wait_reason, None);
            let me = goro::current().unwrap().id();
            let main = goro::coroutines().into_iter().find(|c| c.id == me).unwrap();
            assert_eq!(main.state, CoroutineState::Running { worker: 0 });
            assert_eq!(main.name.as_deref(), Some("main"));

            let dump = goro::dump();
            assert!(
                dump.contains(&format!(
                    "[chan receive]: name \"parked\", spawned at {}:{parked_line}:",
                    file!()
                )),
                "{dump}"
            );
            assert!(dump.contains(&format!(
                "coroutine {me} [running on worker 0]: name \"main\""
            )));
            assert!(dump.contains("[runnable]: name \"queued\""), "{dump}");

            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            assert_eq!(queued.join().unwrap(), 5);
            tx.send(1).unwrap();
            assert_eq!(parked.join().unwrap(), Some(1));
            let left: Vec<_> = goro::coroutines().into_iter().map(|c| c.id).collect();
            assert_eq!(left, vec![me], "finished coroutines leave the registry");
        });
    });
}

/// Under several workers: many coroutines parked on different primitives
/// are all listed, each once, with its own reason; running ones show their
/// worker.
#[test]
fn many_coroutines_listed_once() {
    common::for_each_procs("many_coroutines_listed_once", LIMIT, || {
        goro::run(|| {
            let (tx, rx) = chan::<()>(0);
            let wg = goro::sync::WaitGroup::new();
            wg.add(1);
            let mut hs = Vec::new();
            for i in 0..300 {
                let (rx, wg) = (rx.clone(), wg.clone());
                hs.push(Builder::new().name(format!("w{i}")).spawn(move || {
                    if i % 2 == 0 {
                        let _ = rx.recv();
                    } else {
                        wg.wait();
                    }
                }));
            }
            common::watchdog("all parked", LIMIT, || {
                loop {
                    let cs = goro::coroutines();
                    let waiting = cs
                        .iter()
                        .filter(|c| c.state == CoroutineState::Waiting)
                        .count();
                    if waiting == 300 {
                        let mut ids: Vec<u64> = cs.iter().map(|c| c.id).collect();
                        ids.dedup();
                        assert_eq!(ids.len(), cs.len(), "each coroutine once");
                        for c in cs.iter().filter(|c| c.state == CoroutineState::Waiting) {
                            let i: usize = c.name.as_ref().unwrap()[1..].parse().unwrap();
                            let want = if i % 2 == 0 {
                                "chan receive"
                            } else {
                                "sync.WaitGroup.Wait"
                            };
                            assert_eq!(c.wait_reason, Some(want), "{c:?}");
                        }
                        break;
                    }
                    goro::time::sleep(Duration::from_millis(1));
                }
            });
            if goro::maxprocs() > 1 {
                // A coroutine busy on another worker shows as running there.
                let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let s2 = stop.clone();
                let spinner = Builder::new().name("spinner").spawn(move || {
                    while !s2.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                });
                common::watchdog("spinner running", LIMIT, || {
                    loop {
                        match find("spinner").map(|c| c.state) {
                            Some(CoroutineState::Running { worker }) => {
                                assert!(worker < goro::maxprocs());
                                break;
                            }
                            _ => goro::yield_now(),
                        }
                    }
                });
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                spinner.join().unwrap();
            }
            drop(tx);
            wg.done();
            for h in hs {
                h.join().unwrap();
            }
        });
    });
}

/// Metrics: spawning N moves `spawned_total` by exactly N (this process
/// spawns nothing else meanwhile), a parked coroutine is counted as
/// parked, parks are counted, a sleeping one arms a timer.
/// Waits (under a watchdog) until `metrics().live` is `n`: an exit is
/// counted just after the coroutine's `join` can return. Fails if it goes
/// below `n` (a coroutine counted twice).
fn wait_live(n: usize) {
    common::watchdog("live count settles", LIMIT, || {
        loop {
            let live = goro::metrics().live;
            assert!(live >= n, "live {live} < {n}");
            if live == n {
                return;
            }
            goro::time::sleep(Duration::from_millis(1));
        }
    });
}

#[test]
fn metrics_move() {
    common::for_each_procs("metrics_move", LIMIT, || {
        goro::run(|| {
            let before = goro::metrics();
            assert_eq!(before.workers, goro::maxprocs());
            assert_eq!(before.live, 1, "only main");
            assert_eq!(before.parked, 0);
            // Worker threads register as they start, asynchronously.
            common::watchdog("threads", LIMIT, || {
                while goro::metrics().threads < before.workers {
                    goro::time::sleep(Duration::from_millis(1));
                }
            });
            assert_eq!(before.local_queue_depths.len(), before.workers);
            let hs: Vec<_> = (0..100).map(|i| goro::go!(move || i)).collect();
            let sum: u32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(sum, 4950);
            let after = goro::metrics();
            assert_eq!(after.spawned_total - before.spawned_total, 100);

            let (tx, rx) = chan::<()>(0);
            let h = goro::go!(move || rx.recv());
            common::watchdog("parked", LIMIT, || {
                while goro::metrics().parked != 1 {
                    goro::time::sleep(Duration::from_millis(1));
                }
            });
            // `join` returns when a coroutine completes, a moment before
            // its worker counts the exit: wait for the 100 to be counted.
            wait_live(2);
            let m = goro::metrics();
            assert!(m.parks_total > before.parks_total);
            tx.send(()).unwrap();
            h.join().unwrap();

            let sleeper = goro::go!(|| goro::time::sleep(Duration::from_millis(300)));
            common::watchdog("timer armed", LIMIT, || {
                while goro::metrics().timers_armed == 0 {
                    goro::yield_now();
                }
            });
            sleeper.join().unwrap();
            wait_live(1);
        });
    });
}

/// The registry frees a finished coroutine's task a little after its exit
/// (at its worker's next sweep): a detached coroutine's result must still
/// be dropped promptly, here a `Sender` whose drop closes the channel the
/// main coroutine waits on, and a stream of them must not pile up.
#[test]
fn detached_results_are_dropped() {
    common::for_each_procs("detached_results_are_dropped", LIMIT, || {
        goro::run(|| {
            for _ in 0..200 {
                let (tx, rx) = chan::<()>(0);
                drop(goro::go!(move || tx));
                assert_eq!(rx.recv(), None, "closed when the result is dropped");
            }
            // The worker went idle in between: its sweeps kept the list short.
            assert_eq!(goro::coroutines().len(), 1);
        });
    });
}

/// A coroutine that `try_spawn` gave its stack at the spawn lists itself at
/// its first resume (not in the worker's first-run path): it is listed,
/// once, with its state and spawn site, many times over and under several
/// workers, and leaves the registry when it finishes.
#[test]
fn try_spawned_coroutines_are_listed() {
    common::for_each_procs("try_spawned_coroutines_are_listed", LIMIT, || {
        goro::run(|| {
            for round in 0..20 {
                let (tx, rx) = chan::<u32>(0);
                let mut hs = Vec::new();
                let mut lines = Vec::new();
                for i in 0..50 {
                    let rx = rx.clone();
                    let h = Builder::new()
                        .name(format!("t{round}-{i}"))
                        .try_spawn(move || rx.recv())
                        .expect("memory for a coroutine");
                    lines.push(line!() - 2);
                    hs.push(h);
                }
                drop(rx);
                common::watchdog("try_spawned parked", LIMIT, || {
                    loop {
                        let cs: Vec<_> = goro::coroutines()
                            .into_iter()
                            .filter(|c| {
                                c.name
                                    .as_deref()
                                    .is_some_and(|n| n.starts_with(&format!("t{round}-")))
                            })
                            .collect();
                        if cs.len() == 50 && cs.iter().all(|c| c.state == CoroutineState::Waiting) {
                            for c in &cs {
                                assert_eq!(c.wait_reason, Some("chan receive"));
                                assert_eq!(c.spawned_at.file(), file!());
                                assert!(lines.contains(&c.spawned_at.line()));
                            }
                            let mut ids: Vec<u64> = cs.iter().map(|c| c.id).collect();
                            ids.sort();
                            ids.dedup();
                            assert_eq!(ids.len(), 50, "each listed once");
                            break;
                        }
                        assert!(cs.len() <= 50, "listed more than once: {}", cs.len());
                        goro::time::sleep(Duration::from_millis(1));
                    }
                });
                for i in 0..50 {
                    tx.send(i).unwrap();
                }
                let mut got: Vec<u32> =
                    hs.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
                got.sort();
                assert_eq!(
                    got,
                    (0..50).collect::<Vec<_>>(),
                    "no message lost or doubled"
                );
                // A joiner can see the result a moment before the worker
                // that ran the coroutine has unlinked it: poll.
                let prefix = format!("t{round}-");
                common::watchdog("try_spawned unlisted", LIMIT, || {
                    while goro::coroutines()
                        .iter()
                        .any(|c| c.name.as_deref().is_some_and(|n| n.starts_with(&prefix)))
                    {
                        goro::time::sleep(Duration::from_millis(1));
                    }
                });
            }
        });
    });
}

/// A coroutine that never blocked is not in the registry yet (it is
/// listed at its first park or yield): snapshots and the dump still show
/// it running, through its worker's tagged running word, exactly once; and
/// once it parks it is listed, still once.
#[test]
fn never_blocked_coroutine_is_seen_running() {
    common::for_procs(
        "never_blocked_coroutine_is_seen_running",
        &[2, 4],
        LIMIT,
        || {
            goro::run(|| {
                use std::sync::Arc;
                use std::sync::atomic::{AtomicBool, Ordering};
                let (started, stop) = (
                    Arc::new(AtomicBool::new(false)),
                    Arc::new(AtomicBool::new(false)),
                );
                let (s1, s2) = (started.clone(), stop.clone());
                let (tx, rx) = chan::<()>(0);
                let h = Builder::new().name("spinner").spawn(move || {
                    s1.store(true, Ordering::Release);
                    // No park, no yield: it stays in its first run.
                    while !s2.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                    rx.recv()
                });
                common::watchdog("spinner started", LIMIT, || {
                    while !started.load(Ordering::Acquire) {
                        goro::yield_now();
                    }
                });
                let all = goro::coroutines();
                let seen: Vec<_> = all
                    .iter()
                    .filter(|c| c.name.as_deref() == Some("spinner"))
                    .collect();
                assert_eq!(seen.len(), 1, "{all:?}");
                assert!(
                    matches!(seen[0].state, CoroutineState::Running { .. }),
                    "{:?}",
                    seen[0]
                );
                assert!(goro::dump().contains("name \"spinner\""));
                // Its first park lists it: still seen once, now waiting.
                stop.store(true, Ordering::Release);
                let c = wait_for_state("spinner", CoroutineState::Waiting);
                assert_eq!(c.wait_reason, Some("chan receive"));
                let n = goro::coroutines()
                    .iter()
                    .filter(|c| c.name.as_deref() == Some("spinner"))
                    .count();
                assert_eq!(n, 1);
                tx.send(()).unwrap();
                assert_eq!(h.join().unwrap(), Some(()));
            });
        },
    );
}

/// Snapshots taken while coroutines start, block and exit all the time
/// (on every worker count): each one lists every coroutine at most once,
/// with its own name, and nothing is lost or left behind.
#[test]
fn snapshots_during_churn() {
    common::for_each_procs("snapshots_during_churn", LIMIT, || {
        goro::run(|| {
            use std::sync::Arc;
            use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
            let done = Arc::new(AtomicBool::new(false));
            let ran = Arc::new(AtomicUsize::new(0));
            let (d, r) = (done.clone(), ran.clone());
            let churn = goro::go!(move || {
                let mut round = 0u64;
                while !d.load(Ordering::Relaxed) {
                    let (tx, rx) = chan::<u64>(0);
                    let hs: Vec<_> = (0..32)
                        .map(|i| {
                            let tx = tx.clone();
                            let r = r.clone();
                            Builder::new()
                                .name(format!("churn{}", i % 4))
                                .spawn(move || {
                                    r.fetch_add(1, Ordering::Relaxed);
                                    // Half block once (listed), half never do.
                                    if i % 2 == 0 {
                                        tx.send(i).unwrap();
                                    }
                                })
                        })
                        .collect();
                    drop(tx);
                    let mut got = 0;
                    while let Some(v) = rx.recv() {
                        assert_eq!(v % 2, 0);
                        got += 1;
                    }
                    assert_eq!(got, 16);
                    for h in hs {
                        h.join().unwrap();
                    }
                    round += 1;
                }
                round
            });
            for _ in 0..200 {
                let all = goro::coroutines();
                let mut ids: Vec<u64> = all.iter().map(|c| c.id).collect();
                ids.sort_unstable();
                let n = ids.len();
                ids.dedup();
                assert_eq!(ids.len(), n, "a coroutine listed twice: {all:?}");
                for c in &all {
                    if let Some(name) = &c.name {
                        assert!(name == "main" || name.starts_with("churn"), "{c:?}");
                    }
                }
                let _ = goro::dump();
                goro::yield_now();
            }
            done.store(true, Ordering::Relaxed);
            let rounds = churn.join().unwrap();
            assert!(rounds > 0);
            assert_eq!(ran.load(Ordering::Relaxed) as u64, rounds * 32);
            common::watchdog("all exited", LIMIT, || {
                while goro::num_goroutine() > 1 {
                    goro::time::sleep(Duration::from_millis(1));
                }
            });
            let left = goro::coroutines();
            assert!(
                left.iter().all(|c| c.name.as_deref() == Some("main")),
                "{left:?}"
            );
        });
    });
}

/// Many coroutines parked on one `WaitGroup` (all listed), woken at once
/// and finishing while snapshots are taken, many rounds, under every worker
/// count: their exits leave their lists (from the top, including entries
/// that finished on another worker after a steal, or by a sweep). No
/// coroutine is listed twice or left behind, and every detached result is
/// dropped (its task freed) once the workers go idle.
#[test]
fn wake_all_exits_leave_the_registry() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
    const N: usize = 2000;
    const ROUNDS: usize = 5;
    common::for_each_procs("wake_all_exits_leave_the_registry", LIMIT, || {
        goro::run(|| {
            for round in 0..ROUNDS {
                let gate = goro::sync::WaitGroup::new();
                gate.add(1);
                let started = goro::sync::WaitGroup::new();
                let finished = goro::sync::WaitGroup::new();
                started.add(N as isize);
                finished.add(N as isize);
                for _ in 0..N {
                    let (g, s, f) = (gate.clone(), started.clone(), finished.clone());
                    drop(goro::go!(move || {
                        s.done();
                        g.wait();
                        f.done();
                        Counted
                    }));
                }
                started.wait();
                gate.done();
                // Snapshots while they wake and exit.
                while finished.count() > 0 {
                    let all = goro::coroutines();
                    let mut ids: Vec<u64> = all.iter().map(|c| c.id).collect();
                    ids.sort_unstable();
                    let n = ids.len();
                    ids.dedup();
                    assert_eq!(ids.len(), n, "a coroutine listed twice");
                    goro::yield_now();
                }
                finished.wait();
                let want = (round + 1) * N;
                let ok = common::watchdog("results dropped", LIMIT, || {
                    while DROPPED.load(Ordering::Relaxed) < want || goro::coroutines().len() > 1 {
                        goro::time::sleep(Duration::from_millis(1));
                    }
                    true
                });
                assert!(ok);
                assert_eq!(DROPPED.load(Ordering::Relaxed), want, "dropped once each");
            }
        });
    });
}
