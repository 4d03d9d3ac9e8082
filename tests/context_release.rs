//! `goro::context`: what happens when the last handle to a live
//! cancellable context goes (its context and its cancel function dropped,
//! nothing cancelled).
//!
//! Invariants checked: the child leaves its parent's child set at once (a
//! long-lived parent does not grow with children nobody cancelled); a
//! `done()` receiver kept past the drop is not closed early and *is* closed
//! when an ancestor ends; an after-func of the dropped child runs exactly
//! once when an ancestor ends, or never if it was stopped; and drops that
//! race with the parent's cancel (from coroutines on other workers) lose no
//! wake-up and run no after-func twice, under GOMAXPROCS 1, 2 and more
//! workers than cores, each scenario repeated.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use goro::chan::TryRecvError;
use goro::context::{self, Key};
use goro::sync::WaitGroup;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn dropped_live_child_leaves_its_parent() {
    common::watchdog("dropped_live_child_leaves_its_parent", LIMIT, || {
        let (p, pc) = context::with_cancel(&context::background());
        let mut kids: Vec<_> = (0..1000).map(|_| context::with_cancel(&p)).collect();
        assert_eq!(p.child_count(), 1000);
        // Drop every other child, handles and all: the survivors' slots are
        // fixed up as entries are swapped out.
        let mut i = 0;
        kids.retain(|_| {
            i += 1;
            i % 2 == 0
        });
        assert_eq!(p.child_count(), 500);
        // A survivor still detaches correctly after the shuffling.
        let (c, f) = kids.pop().unwrap();
        f.cancel();
        assert_eq!(c.err(), Some(context::Error::Canceled));
        assert_eq!(p.child_count(), 499);
        drop(kids);
        assert_eq!(p.child_count(), 0);
        assert_eq!(p.err(), None);
        pc.cancel();
    });
}

#[test]
fn done_of_a_dropped_child_closes_when_the_parent_ends() {
    common::watchdog("done_of_a_dropped_child", LIMIT, || {
        static K: Key<u8> = Key::new("k");
        let (p, pc) = context::with_cancel(&context::background());
        // A value layer between the child and its cancellable parent.
        let v = context::with_value(&p, &K, 1);
        let (c, f) = context::with_cancel(&v);
        let (grand, gf) = context::with_cancel(&c);
        let rx = c.done();
        let grx = grand.done();
        drop((c, f, grand, gf));
        assert_eq!(p.child_count(), 0);
        // Not closed by the drop: nobody ended the child.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(grx.try_recv(), Err(TryRecvError::Empty));
        pc.cancel();
        assert_eq!(rx.recv(), None);
        assert_eq!(grx.recv(), None);
    });
}

#[test]
fn after_func_of_a_dropped_child_runs_once_when_the_parent_ends() {
    common::for_each_procs(
        "after_func_of_a_dropped_child_runs_once_when_the_parent_ends",
        LIMIT,
        || {
            goro::run(|| {
                let (p, pc) = context::with_cancel(&context::background());
                let ran = Arc::new(AtomicUsize::new(0));
                let (tx, rx) = goro::chan::<()>(2);
                let (c, f) = context::with_cancel(&p);
                let (ran2, tx2) = (ran.clone(), tx.clone());
                let _kept = context::after_func(&c, move || {
                    ran2.fetch_add(1, Ordering::SeqCst);
                    tx2.send(()).unwrap();
                });
                let (c2, f2) = context::with_cancel(&p);
                let stopped = context::after_func(&c2, move || panic!("stopped after-func ran"));
                drop((c, f, c2, f2));
                // The registration outlived its context: stop still works.
                assert!(stopped.stop());
                assert!(!stopped.stop());
                assert_eq!(ran.load(Ordering::SeqCst), 0);
                pc.cancel();
                assert_eq!(rx.recv(), Some(()));
                drop(tx);
                assert_eq!(ran.load(Ordering::SeqCst), 1);
            });
        },
    );
}

#[test]
fn drops_racing_with_the_parent_cancel_lose_no_wakeup() {
    const ROUNDS: usize = 20;
    const WAITERS: usize = 400;
    common::for_each_procs(
        "drops_racing_with_the_parent_cancel_lose_no_wakeup",
        LIMIT,
        || {
            goro::run(|| {
                for round in 0..ROUNDS {
                    let (p, pc) = context::with_cancel(&context::background());
                    let ready = Arc::new(WaitGroup::new());
                    let woken = Arc::new(WaitGroup::new());
                    let afters = Arc::new(WaitGroup::new());
                    let ran = Arc::new(AtomicUsize::new(0));
                    ready.add(WAITERS as isize);
                    woken.add(WAITERS as isize);
                    for i in 0..WAITERS {
                        let (p, ready, woken) = (p.clone(), ready.clone(), woken.clone());
                        let (afters, ran) = (afters.clone(), ran.clone());
                        goro::go!(move || {
                            let (c, f) = context::with_cancel(&p);
                            let rx = c.done();
                            if i % 2 == 0 {
                                afters.add(1);
                                let _stop = context::after_func(&c, move || {
                                    ran.fetch_add(1, Ordering::SeqCst);
                                    afters.done();
                                });
                            }
                            ready.done();
                            // Drop the handles at different points of the
                            // parent's cancel: some before, some during, some
                            // after its walk.
                            for _ in 0..i % 5 {
                                goro::yield_now();
                            }
                            if i % 3 != 0 {
                                drop((c, f));
                                assert_eq!(rx.recv(), None, "round {round}: waiter {i}");
                            } else {
                                assert_eq!(rx.recv(), None, "round {round}: waiter {i}");
                                assert_eq!(c.err(), Some(context::Error::Canceled));
                                drop(f);
                            }
                            woken.done();
                        });
                    }
                    ready.wait();
                    pc.cancel();
                    woken.wait();
                    afters.wait();
                    assert_eq!(
                        ran.load(Ordering::SeqCst),
                        WAITERS.div_ceil(2),
                        "round {round}"
                    );
                    assert_eq!(p.child_count(), 0, "round {round}");
                }
            });
        },
    );
}

/// An after-func that owns the last handle of its own context: stopping it
/// drops that handle, which releases the context while `stop` is still at
/// work on the registration (a lock held across that drop deadlocks).
#[test]
fn stopping_an_after_func_that_owns_its_context_releases_it() {
    common::watchdog("stop_owning_after_func", LIMIT, || {
        // No cancellable ancestor, and a live one (the registration is
        // handed to it, and its later cancel must not run the function).
        let (p, pc) = context::with_cancel(&context::background());
        for parent in [context::background(), p.clone()] {
            let (c, f) = context::with_cancel(&parent);
            let held = c.clone();
            let stop = context::after_func(&c, move || {
                drop(held);
                panic!("stopped after-func ran");
            });
            drop((c, f));
            assert!(stop.stop());
            assert!(!stop.stop());
            assert_eq!(p.child_count(), 0);
        }
        pc.cancel();
    });
}
