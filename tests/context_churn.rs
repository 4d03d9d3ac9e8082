//! `goro::context` under concurrent churn: many coroutines creating and
//! cancelling children of one shared parent at once, under GOMAXPROCS 1, 2
//! and more workers than cores, each scenario repeated.
//!
//! Invariants checked: a parent's child set holds exactly the children that
//! are live and not yet cancelled (no entry lost or left behind when
//! detaches from several workers interleave: the child set is a dense
//! vector with per-child slot indices fixed up on every removal, and a
//! wrong index trips a debug assertion in the detach); a parent cancelled
//! while children are being created and detached ends every one of them,
//! whichever side of the cancel each was born on, and leaves no child
//! behind.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use goro::context::{self, CancelFunc, Context, Error};
use goro::sync::WaitGroup;

const LIMIT: Duration = Duration::from_secs(120);
const ROUNDS: usize = 20;
const WORKERS: usize = 8;
const PER_WORKER: usize = 300;

/// A small deterministic shuffle (xorshift), so cancels hit the vector in
/// an order unrelated to creation.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

#[test]
fn concurrent_create_and_detach_keep_the_child_set_exact() {
    common::for_each_procs(
        "concurrent_create_and_detach_keep_the_child_set_exact",
        LIMIT,
        || {
            goro::run(|| {
                for round in 0..ROUNDS {
                    let (parent, parent_cancel) = context::with_cancel(&context::background());
                    let wg = WaitGroup::new();
                    let kept: Vec<_> = (0..WORKERS)
                        .map(|w| {
                            let parent = parent.clone();
                            wg.go(move || {
                                let mut kept: Vec<(Context, CancelFunc)> = Vec::new();
                                for i in 0..PER_WORKER {
                                    let (c, f) = context::with_cancel(&parent);
                                    if i % 3 == 0 {
                                        kept.push((c, f));
                                    } else {
                                        f.cancel();
                                        assert_eq!(c.err(), Some(Error::Canceled));
                                    }
                                    if i % 17 == w {
                                        goro::yield_now();
                                    }
                                }
                                kept
                            })
                        })
                        .collect();
                    wg.wait();
                    let mut kept: Vec<_> = kept
                        .into_iter()
                        .flat_map(|h| h.join().expect("churn worker panicked"))
                        .collect();
                    assert_eq!(parent.child_count(), kept.len(), "round {round}");
                    // Cancel two thirds of the survivors from several
                    // coroutines at once, in an order unrelated to their
                    // slots.
                    shuffle(&mut kept, round as u64 + 1);
                    let rest = kept.split_off(kept.len() * 2 / 3);
                    let chunks: Vec<Vec<_>> = kept
                        .chunks(kept.len().div_ceil(WORKERS))
                        .map(<[_]>::to_vec)
                        .collect();
                    for chunk in chunks {
                        wg.go(move || {
                            for (c, f) in chunk {
                                f.cancel();
                                assert_eq!(c.err(), Some(Error::Canceled));
                            }
                        });
                    }
                    wg.wait();
                    assert_eq!(parent.child_count(), rest.len(), "round {round}");
                    assert_eq!(parent.err(), None, "round {round}");
                    for (c, _) in &rest {
                        assert_eq!(c.err(), None, "round {round}: a bystander ended");
                    }
                    // The parent's cancel must still reach exactly the
                    // rest: a detach that removed the wrong entry would
                    // leave one of them live here.
                    parent_cancel.cancel();
                    assert_eq!(parent.child_count(), 0, "round {round}");
                    for (c, _) in kept.iter().chain(&rest) {
                        assert_eq!(c.err(), Some(Error::Canceled), "round {round}");
                    }
                }
            });
        },
    );
}

#[test]
fn parent_cancel_racing_with_churn_ends_every_child() {
    common::for_each_procs(
        "parent_cancel_racing_with_churn_ends_every_child",
        LIMIT,
        || {
            goro::run(|| {
                for round in 0..ROUNDS {
                    let (parent, parent_cancel) = context::with_cancel(&context::background());
                    let created = Arc::new(AtomicUsize::new(0));
                    let woken = Arc::new(AtomicUsize::new(0));
                    let wg = WaitGroup::new();
                    for w in 0..WORKERS {
                        let parent = parent.clone();
                        let (created, woken) = (created.clone(), woken.clone());
                        let wg2 = wg.clone();
                        wg.go(move || {
                            for i in 0..PER_WORKER {
                                let (c, f) = context::with_cancel(&parent);
                                created.fetch_add(1, Ordering::Relaxed);
                                if i % 4 == 0 {
                                    f.cancel(); // detaching while the parent may be ending
                                } else if i % 4 == 1 {
                                    // A waiter: must be woken by the cascade (or
                                    // find the child born ended).
                                    let woken = woken.clone();
                                    wg2.go(move || {
                                        assert_eq!(c.done().recv(), None);
                                        assert!(c.err().is_some());
                                        woken.fetch_add(1, Ordering::Relaxed);
                                        drop(f);
                                    });
                                    continue;
                                }
                                if i % 29 == w {
                                    goro::yield_now();
                                }
                            }
                        });
                    }
                    // Cancel once some, not all, children exist.
                    while created.load(Ordering::Relaxed)
                        < (round % 5 + 1) * WORKERS * PER_WORKER / 6
                    {
                        goro::yield_now();
                    }
                    parent_cancel.cancel();
                    wg.wait();
                    assert_eq!(parent.err(), Some(Error::Canceled));
                    assert_eq!(parent.child_count(), 0, "round {round}");
                    assert_eq!(created.load(Ordering::Relaxed), WORKERS * PER_WORKER);
                    assert_eq!(
                        woken.load(Ordering::Relaxed),
                        WORKERS * PER_WORKER / 4,
                        "round {round}"
                    );
                    // Born after the cancel: ended at once.
                    let (late, _f) = context::with_cancel(&parent);
                    assert_eq!(late.err(), Some(Error::Canceled));
                }
            });
        },
    );
}
