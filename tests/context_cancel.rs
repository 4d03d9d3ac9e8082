//! `goro::context`: cancellation propagates through deep chains and wide
//! fans under GOMAXPROCS 1, 2 and 8; err/cause values; deadlines fire;
//! values resolve through layers; born-ended children; detaching;
//! after_func runs exactly once; without_cancel.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goro::context::{self, Error, Key};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn cancel_reaches_every_descendant_of_a_wide_fan() {
    common::for_each_procs(
        "cancel_reaches_every_descendant_of_a_wide_fan",
        LIMIT,
        || {
            goro::run(|| {
                let (root, cancel) = context::with_cancel(&context::background());
                let wg = goro::sync::WaitGroup::new();
                let seen = Arc::new(AtomicUsize::new(0));
                for _ in 0..100 {
                    let (mid, _mc) = context::with_cancel(&root);
                    for _ in 0..100 {
                        let (leaf, _lc) = context::with_cancel(&mid);
                        let seen = seen.clone();
                        wg.add(1);
                        let wg = wg.clone();
                        goro::go!(move || {
                            assert_eq!(leaf.done().recv(), None);
                            assert_eq!(leaf.err(), Some(Error::Canceled));
                            seen.fetch_add(1, Ordering::Relaxed);
                            wg.done();
                        });
                    }
                }
                cancel.cancel();
                wg.wait();
                assert_eq!(seen.load(Ordering::Relaxed), 10_000);
                assert_eq!(root.child_count(), 0);
            });
        },
    );
}

#[test]
fn cancel_of_a_deep_chain_does_not_recurse() {
    common::watchdog("deep_chain", LIMIT, || {
        let (root, cancel) = context::with_cancel(&context::background());
        let mut ctx = root.clone();
        let mut keep = Vec::new();
        for _ in 0..200_000 {
            let (c, f) = context::with_cancel(&ctx);
            keep.push(f);
            ctx = c;
        }
        cancel.cancel();
        assert_eq!(ctx.err(), Some(Error::Canceled));
        assert_eq!(ctx.done().recv(), None);
        drop(keep);
        // The 200k-layer chain drops here, iteratively.
        drop(ctx);
        assert_eq!(root.child_count(), 0);
    });
}

/// Dropping deep chains nobody cancelled: every node is still registered
/// with its parent, so both the `Context` layers and the node tree must be
/// unlinked without recursion (on a 2 MiB test thread, 200k levels of
/// recursive drop would overflow). Also checks that the chain is actually
/// freed: the after-func registered at the bottom is dropped, not run.
#[test]
fn dropping_an_uncancelled_deep_chain_does_not_recurse() {
    common::watchdog("deep_chain_drop", LIMIT, || {
        struct Flag(Arc<AtomicUsize>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        static K: Key<u32> = Key::new("k");
        let dropped = Arc::new(AtomicUsize::new(0));
        let (root, root_cancel) = context::with_cancel(&context::background());
        let mut ctx = root.clone();
        for i in 0..200_000u32 {
            // Alternate node and value layers: both kinds of link.
            ctx = if i % 2 == 0 {
                context::with_cancel(&ctx).0
            } else {
                context::with_value(&ctx, &K, i)
            };
        }
        assert_eq!(ctx.value(&K), Some(&199_999));
        let flag = Flag(dropped.clone());
        let _stop = context::after_func(&ctx, move || drop(flag));
        assert_eq!(root.child_count(), 1);
        drop(ctx);
        // Only the root's own handles keep the first child alive through
        // its registration; dropping the root frees the whole chain.
        drop(root_cancel);
        drop(root);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn child_cancelled_alone_detaches_and_leaves_parent_live() {
    let (p, pc) = context::with_cancel(&context::background());
    let mut fs = Vec::new();
    for _ in 0..1000 {
        fs.push(context::with_cancel(&p));
    }
    assert_eq!(p.child_count(), 1000);
    for (c, f) in &fs {
        f.cancel();
        assert_eq!(c.err(), Some(Error::Canceled));
    }
    assert_eq!(p.child_count(), 0);
    assert_eq!(p.err(), None);
    pc.cancel();
}

#[test]
fn child_of_ended_parent_is_born_ended() {
    let (p, pc) = context::with_cancel_cause(&context::background());
    pc.cancel(std::io::Error::other("boom"));
    let (c, _cf) = context::with_cancel(&p);
    assert_eq!(c.err(), Some(Error::Canceled));
    assert_eq!(context::cause(&c).unwrap().to_string(), "boom");
    assert_eq!(c.done().recv(), None);
    assert_eq!(p.child_count(), 0);
}

#[test]
fn deadline_fires_with_deadline_exceeded() {
    common::for_each_procs("deadline_fires_with_deadline_exceeded", LIMIT, || {
        goro::run(|| {
            let t = Instant::now();
            let (ctx, _c) =
                context::with_timeout(&context::background(), Duration::from_millis(20));
            let (child, _cc) = context::with_cancel(&ctx);
            assert_eq!(child.done().recv(), None);
            assert!(t.elapsed() >= Duration::from_millis(20));
            assert!(t.elapsed() < Duration::from_secs(20));
            assert_eq!(child.err(), Some(Error::DeadlineExceeded));
            assert_eq!(
                context::cause(&child).unwrap().to_string(),
                "context deadline exceeded"
            );
            let (_x, _xc) = context::with_timeout_cause(
                &context::background(),
                Duration::from_millis(1),
                std::io::Error::other("late"),
            );
            assert_eq!(_x.done().recv(), None);
            assert_eq!(context::cause(&_x).unwrap().to_string(), "late");
        });
    });
}

#[test]
fn values_resolve_through_layers() {
    static A: Key<u32> = Key::new("a");
    static B: Key<String> = Key::new("b");
    let ctx = context::with_value(&context::background(), &A, 1);
    let (ctx, _c) = context::with_cancel(&ctx);
    let ctx = context::with_value(&ctx, &B, "x".to_string());
    let ctx = context::without_cancel(&ctx);
    let (ctx, _d) = context::with_timeout(&ctx, Duration::from_secs(60));
    assert_eq!(ctx.value(&A), Some(&1));
    assert_eq!(ctx.value(&B).map(String::as_str), Some("x"));
}

#[test]
fn after_func_runs_exactly_once_and_stop_prevents_it() {
    common::watchdog("after_func", LIMIT, || {
        goro::run(|| {
            let n = Arc::new(AtomicUsize::new(0));
            let (ctx, c) = context::with_cancel(&context::background());
            let n2 = n.clone();
            let stop = context::after_func(&ctx, move || {
                n2.fetch_add(1, Ordering::SeqCst);
            });
            let stopped = context::after_func(&ctx, || panic!("stopped func ran"));
            assert!(stopped.stop());
            c.cancel();
            c.cancel();
            assert!(common::eventually(LIMIT, || n.load(Ordering::SeqCst) == 1));
            goro::time::sleep(Duration::from_millis(10));
            assert_eq!(n.load(Ordering::SeqCst), 1);
            assert!(!stop.stop());
        });
    });
}

#[test]
fn without_cancel_survives_parent() {
    let (p, c) = context::with_cancel(&context::background());
    let w = context::without_cancel(&p);
    c.cancel();
    assert_eq!(w.err(), None);
    assert!(context::cause(&w).is_none());
    assert!(w.done().recv_timeout(Duration::from_millis(5)).is_err());
    let (wc, wcf) = context::with_cancel(&w);
    assert_eq!(wc.err(), None);
    wcf.cancel();
    assert_eq!(wc.err(), Some(Error::Canceled));
}

#[test]
fn causes_cascade_to_existing_descendants() {
    // A custom cause reaches descendants that existed before the cancel
    // (and one born after it); a plain cancel reports the error itself.
    let (p, pc) = context::with_cancel_cause(&context::background());
    let (c, _cf) = context::with_cancel(&p);
    let (g, _gf) = context::with_timeout(&c, Duration::from_secs(60));
    assert!(context::cause(&g).is_none());
    pc.cancel(std::io::Error::other("boom"));
    for ctx in [&p, &c, &g, &context::with_cancel(&g).0] {
        assert_eq!(ctx.err(), Some(Error::Canceled));
        assert_eq!(context::cause(ctx).unwrap().to_string(), "boom");
    }
    let (q, qc) = context::with_cancel(&context::background());
    let (d, _df) = context::with_cancel(&q);
    qc.cancel();
    assert_eq!(context::cause(&d).unwrap().to_string(), "context canceled");
    // A deadline cause reaches an existing child too.
    let (t, _tf) = context::with_deadline_cause(
        &context::background(),
        Instant::now() + Duration::from_millis(5),
        std::io::Error::other("too slow"),
    );
    let (tc, _tcf) = context::with_cancel(&t);
    common::watchdog("deadline_cause_cascade", LIMIT, || {
        assert_eq!(tc.done().recv(), None);
    });
    assert_eq!(tc.err(), Some(Error::DeadlineExceeded));
    assert_eq!(context::cause(&tc).unwrap().to_string(), "too slow");
}

/// Rule 4 of `context/node.rs`: a coroutine cancelling a large tree yields
/// now and then, so on a single worker the waiters it woke have run before
/// `cancel` returns (without the yields none could: nothing else runs on
/// the one worker until the canceller parks), and every waiter still sees
/// the cancel exactly once.
#[test]
fn large_cancel_lets_woken_waiters_run_before_it_returns() {
    common::for_procs(
        "large_cancel_lets_woken_waiters_run_before_it_returns",
        &[1],
        LIMIT,
        || {
            goro::run(|| {
                const LEAVES: usize = 4_000;
                let (root, cancel) = context::with_cancel(&context::background());
                let ready = goro::sync::WaitGroup::new();
                let done = goro::sync::WaitGroup::new();
                let seen = Arc::new(AtomicUsize::new(0));
                for _ in 0..LEAVES {
                    let (leaf, _lc) = context::with_cancel(&root);
                    let (seen, ready, done) = (seen.clone(), ready.clone(), done.clone());
                    ready.add(1);
                    done.add(1);
                    goro::go!(move || {
                        let d = leaf.done();
                        ready.done();
                        assert_eq!(d.recv(), None);
                        seen.fetch_add(1, Ordering::Relaxed);
                        done.done();
                    });
                }
                ready.wait();
                assert_eq!(seen.load(Ordering::Relaxed), 0);
                cancel.cancel();
                let during = seen.load(Ordering::Relaxed);
                assert!(
                    during > 0,
                    "no woken waiter ran during a {LEAVES}-node cancel"
                );
                done.wait();
                assert_eq!(seen.load(Ordering::Relaxed), LEAVES);
                assert_eq!(root.child_count(), 0);
            });
        },
    );
}

/// Rule 8 of `context/node.rs`: a wide cancel on a coroutine is shared
/// with helper coroutines on the other workers, and still every descendant
/// has ended, with the cancel's cause, when `cancel` returns (the caller
/// waits for chunks the helpers claimed). Flat and two-level fans, each
/// cancelled many times, under 1, 2 and more workers than cores.
#[test]
fn shared_cancel_ends_every_descendant_before_it_returns() {
    common::for_each_procs(
        "shared_cancel_ends_every_descendant_before_it_returns",
        LIMIT,
        || {
            goro::run(|| {
                for round in 0..40 {
                    let (root, cancel) = context::with_cancel_cause(&context::background());
                    let (mids, leaves_per) = if round % 2 == 0 {
                        (3_000, 0)
                    } else {
                        (200, 15)
                    };
                    let mut all = Vec::new();
                    let mut keep = Vec::new();
                    for _ in 0..mids {
                        let (mid, mc) = context::with_cancel(&root);
                        for _ in 0..leaves_per {
                            let (leaf, lc) = context::with_cancel(&mid);
                            all.push(leaf);
                            keep.push(lc);
                        }
                        all.push(mid);
                        keep.push(mc);
                    }
                    assert!(all.iter().all(|c| c.err().is_none()));
                    cancel.cancel(std::io::Error::other("shared"));
                    for c in &all {
                        assert_eq!(c.err(), Some(Error::Canceled), "round {round}");
                        assert_eq!(context::cause(c).unwrap().to_string(), "shared");
                    }
                    assert_eq!(root.child_count(), 0);
                    // The same tree ends the same way when cancelled again.
                    cancel.cancel(std::io::Error::other("again"));
                    assert_eq!(context::cause(&all[0]).unwrap().to_string(), "shared");
                }
            });
        },
    );
}
