//! `goro::errgroup`: `wait` returns the first error and the group's context
//! is cancelled for the other members; `set_limit` bounds how many members
//! run at once; `try_go` refuses at the limit; a member's panic is re-raised
//! by `wait`; groups work from plain threads and from coroutines. The
//! concurrency scenarios run under GOMAXPROCS 1, 2 and 8 (more workers
//! than cores), each in a child process with a watchdog.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use goro::context::{self, Error};
use goro::errgroup::Group;

const LIMIT: Duration = Duration::from_secs(60);

/// One worker, two, and more workers than this 2-core machine has cores.
const PROCS: [usize; 3] = [1, 2, 8];

#[test]
fn wait_returns_the_first_error_and_cancels_the_rest() {
    common::for_procs(
        "wait_returns_the_first_error_and_cancels_the_rest",
        &PROCS,
        LIMIT,
        || {
            for round in 0..20 {
                let baseline = goro::num_goroutine();
                let (g, ctx) = Group::with_context(&context::background());
                let cancelled = Arc::new(AtomicUsize::new(0));
                for k in 0..50usize {
                    let ctx = ctx.clone();
                    let cancelled = cancelled.clone();
                    g.go(move || {
                        if k == 13 {
                            return Err(format!("member {k} failed"));
                        }
                        // Everyone else runs until the group gives up.
                        assert_eq!(ctx.done().recv(), None);
                        assert_eq!(ctx.err(), Some(Error::Canceled));
                        cancelled.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    });
                }
                assert_eq!(
                    g.wait(),
                    Err("member 13 failed".to_string()),
                    "round {round}"
                );
                assert_eq!(cancelled.load(Ordering::SeqCst), 49);
                assert_eq!(ctx.err(), Some(Error::Canceled));
                assert!(common::eventually(Duration::from_secs(10), || {
                    goro::num_goroutine() == baseline
                }));
            }
        },
    );
}

#[test]
fn a_later_error_never_replaces_the_first() {
    common::watchdog("later_error", LIMIT, || {
        let (g, ctx) = Group::with_context(&context::background());
        let (first_tx, first_rx) = goro::chan::<()>(0);
        g.go(move || {
            drop(first_tx); // the second member may now run to its error
            Err("first")
        });
        let c = ctx.clone();
        g.go(move || {
            first_rx.recv();
            c.done().recv(); // the first error has been recorded
            Err("second")
        });
        assert_eq!(g.wait(), Err("first"));
    });
}

#[test]
fn wait_without_members_or_errors_is_ok_and_ends_the_context() {
    common::watchdog("no_errors", LIMIT, || {
        let (g, ctx) = Group::<String>::with_context(&context::background());
        let n = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let n = n.clone();
            let ctx = ctx.clone();
            g.go(move || {
                assert_eq!(ctx.err(), None, "no member failed yet");
                n.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        assert_eq!(g.wait(), Ok(()));
        assert_eq!(n.load(Ordering::SeqCst), 100);
        assert_eq!(ctx.err(), Some(Error::Canceled), "wait ends the context");
    });
}

#[test]
fn set_limit_bounds_the_running_members() {
    common::for_procs(
        "set_limit_bounds_the_running_members",
        &PROCS,
        LIMIT,
        || {
            for limit in [1usize, 3, 8] {
                let g: Group<()> = Group::new();
                g.set_limit(limit);
                let running = Arc::new(AtomicUsize::new(0));
                let max = Arc::new(AtomicUsize::new(0));
                let finished = Arc::new(AtomicUsize::new(0));
                goro::run({
                    let g = g.clone();
                    let (running, max, finished) = (running.clone(), max.clone(), finished.clone());
                    move || {
                        for _ in 0..100 {
                            let (running, max, finished) =
                                (running.clone(), max.clone(), finished.clone());
                            g.go(move || {
                                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                                max.fetch_max(now, Ordering::SeqCst);
                                goro::time::sleep(Duration::from_millis(2));
                                running.fetch_sub(1, Ordering::SeqCst);
                                finished.fetch_add(1, Ordering::SeqCst);
                                Ok(())
                            });
                        }
                    }
                });
                g.wait().unwrap();
                assert_eq!(finished.load(Ordering::SeqCst), 100);
                let max = max.load(Ordering::SeqCst);
                assert!(
                    max <= limit,
                    "{max} members ran at once under a limit of {limit}"
                );
                assert_eq!(max, limit, "sleeping members fill every slot");
            }
        },
    );
}

#[test]
fn try_go_refuses_at_the_limit() {
    common::watchdog("try_go", LIMIT, || {
        let g: Group<()> = Group::new();
        g.set_limit(2);
        let (release_tx, release) = goro::chan::<()>(0);
        for _ in 0..2 {
            let release = release.clone();
            assert!(g.try_go(move || {
                release.recv();
                Ok(())
            }));
        }
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        assert!(!g.try_go(move || {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
        drop(release_tx);
        let again = g.clone();
        g.wait().unwrap();
        assert_eq!(
            ran.load(Ordering::SeqCst),
            0,
            "a refused function never runs"
        );
        let r = ran.clone();
        assert!(again.try_go(move || {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
        again.wait().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn try_go_without_a_limit_always_starts() {
    common::watchdog("try_go_unlimited", LIMIT, || {
        let g: Group<()> = Group::new();
        let n = Arc::new(AtomicUsize::new(0));
        for _ in 0..50 {
            let n = n.clone();
            assert!(g.try_go(move || {
                n.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }));
        }
        g.wait().unwrap();
        assert_eq!(n.load(Ordering::SeqCst), 50);
    });
}

#[test]
fn changing_the_limit_while_members_run_panics() {
    common::watchdog("limit_in_use", LIMIT, || {
        let g: Group<()> = Group::new();
        g.set_limit(1);
        let (release_tx, release) = goro::chan::<()>(0);
        g.go(move || {
            release.recv();
            Ok(())
        });
        let err = catch_unwind(AssertUnwindSafe(|| g.set_limit(4))).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("still active"), "{msg}");
        assert!(catch_unwind(AssertUnwindSafe(|| g.remove_limit())).is_err());
        drop(release_tx);
        let g2 = g.clone();
        g.wait().unwrap();
        g2.remove_limit(); // nothing runs any more
        assert!(catch_unwind(|| Group::<()>::new().set_limit(0)).is_err());
    });
}

#[test]
fn a_member_panic_is_re_raised_by_wait() {
    common::watchdog("member_panic", LIMIT, || {
        let (g, ctx) = Group::<String>::with_context(&context::background());
        let c = ctx.clone();
        let sibling_stopped = Arc::new(AtomicUsize::new(0));
        let s = sibling_stopped.clone();
        g.go(move || {
            c.done().recv(); // stopped by the panic, as by an error
            s.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        g.go(|| panic!("member blew up"));
        let p = catch_unwind(AssertUnwindSafe(|| g.wait())).unwrap_err();
        assert_eq!(p.downcast_ref::<&str>(), Some(&"member blew up"));
        assert_eq!(
            sibling_stopped.load(Ordering::SeqCst),
            1,
            "wait waited for every member"
        );
        assert_eq!(ctx.err(), Some(Error::Canceled));
        // The runtime is still fine.
        assert_eq!(goro::go!(|| 7).join().unwrap(), 7);
    });
}

#[test]
fn members_can_start_members_and_wait_from_a_coroutine() {
    common::watchdog("nested_members", LIMIT, || {
        let total = goro::run(|| {
            let g: Group<String> = Group::new();
            let n = Arc::new(AtomicUsize::new(0));
            for _ in 0..10 {
                let (inner, n) = (g.clone(), n.clone());
                g.go(move || {
                    for _ in 0..10 {
                        let n = n.clone();
                        inner.go(move || {
                            n.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        });
                    }
                    Ok(())
                });
            }
            g.wait().unwrap();
            n.load(Ordering::SeqCst)
        });
        assert_eq!(total, 100);
    });
}
