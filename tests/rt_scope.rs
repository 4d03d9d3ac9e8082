//! Scoped coroutines (`goro::scope`): borrowing from the caller's stack
//! (shared and `&mut` chunks of a `Vec`), results that borrow, every
//! coroutine joined before `scope` returns, panics (unjoined ones propagate
//! with their payload after all are joined; joined ones do not; the
//! closure's own panic waits for the coroutines), scopes inside scopes, and
//! `scope` from a plain thread. Stress scenarios run under 1, 2 and more
//! workers than cores, in child processes with a deadline.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

fn payload_str(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(|s| s.as_str()))
        .unwrap_or("<non-string>")
}

/// Each coroutine gets a `&mut` chunk of a `Vec` on the caller's stack and
/// another shared borrow; after `scope` every element was written exactly
/// once. Repeated many times, with the waiting coroutine free to migrate.
#[test]
fn scope_borrows_a_vec_from_the_callers_stack() {
    common::for_each_procs("scope_borrows_a_vec_from_the_callers_stack", LIMIT, || {
        goro::run(|| {
            for round in 0..200u64 {
                let mut data = vec![0u64; 1000];
                let offset = round * 7; // a local the coroutines borrow shared
                let ran = AtomicUsize::new(0);
                goro::scope(|s| {
                    for (c, chunk) in data.chunks_mut(37).enumerate() {
                        let (offset, ran) = (&offset, &ran);
                        s.go(move || {
                            if c % 3 == 0 {
                                goro::yield_now();
                            }
                            for (i, x) in chunk.iter_mut().enumerate() {
                                *x += (c * 37 + i) as u64 + *offset;
                            }
                            ran.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                });
                assert_eq!(ran.load(Ordering::Relaxed), 1000usize.div_ceil(37));
                for (i, x) in data.iter().enumerate() {
                    assert_eq!(*x, i as u64 + offset, "element {i} in round {round}");
                }
            }
        });
    });
}

/// Results may borrow from the scope's environment, and `join` returns
/// them; `scope` returns the closure's value.
#[test]
fn scoped_results_borrow_and_join_returns_them() {
    goro::run(|| {
        let text = String::from("alpha beta gamma delta");
        let text = &text;
        let words: Vec<&str> = goro::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|i| s.go(move || text.split(' ').nth(i).unwrap()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        // `words` borrows `text`, returned through coroutines.
        assert_eq!(words, ["alpha", "beta", "gamma", "delta"]);
    });
    let text = String::from("from a thread");
    let n = goro::scope(|s| {
        let h = s.go(|| text.len());
        assert!(h.id() >= 1);
        h.join().unwrap()
    });
    assert_eq!(n, text.len()); // from a plain thread
}

/// `scope` does not return before its coroutines have finished, even ones
/// whose handles were dropped at once.
#[test]
fn scope_waits_for_every_coroutine() {
    common::watchdog("scope waits", LIMIT, || {
        goro::run(|| {
            let done = AtomicUsize::new(0);
            goro::scope(|s| {
                for i in 0..50 {
                    let done = &done;
                    s.go(move || {
                        goro::time::sleep(Duration::from_millis(1 + i % 5));
                        done.fetch_add(1, Ordering::Release);
                    });
                }
            });
            assert_eq!(done.load(Ordering::Acquire), 50);
        });
    });
}

/// An unjoined scoped coroutine's panic propagates out of `scope` with its
/// own payload, after the other coroutines (a slow one included) finished.
#[test]
fn unjoined_panic_propagates_after_all_are_joined() {
    common::watchdog("unjoined panic", LIMIT, || {
        goro::run(|| {
            let slow_done = AtomicBool::new(false);
            let r = catch_unwind(AssertUnwindSafe(|| {
                goro::scope(|s| {
                    s.go(|| {
                        goro::time::sleep(Duration::from_millis(50));
                        slow_done.store(true, Ordering::Release);
                    });
                    s.go(|| panic!("scoped boom"));
                    7
                })
            }));
            let p = r.expect_err("scope must panic");
            assert_eq!(payload_str(&*p), "scoped boom");
            assert!(slow_done.load(Ordering::Acquire), "scope unwound early");
        });
    });
}

/// A joined panic comes back from `join` as an error and does not make
/// `scope` panic.
#[test]
fn joined_panic_is_returned_not_propagated() {
    let v = goro::run(|| {
        goro::scope(|s| {
            let h = s.go(|| -> u32 { panic!("handled") });
            let err = h.join().unwrap_err();
            assert_eq!(err.message(), Some("handled"));
            assert!(err.to_string().contains("handled"));
            5
        })
    });
    assert_eq!(v, 5);
}

/// The scope closure's own panic waits for the coroutines (they still
/// borrow its frame) and then propagates; it wins over theirs.
#[test]
fn closure_panic_waits_for_coroutines() {
    common::watchdog("closure panic", LIMIT, || {
        goro::run(|| {
            let finished = AtomicUsize::new(0);
            let r = catch_unwind(AssertUnwindSafe(|| {
                goro::scope(|s| {
                    for _ in 0..10 {
                        s.go(|| {
                            goro::time::sleep(Duration::from_millis(20));
                            finished.fetch_add(1, Ordering::Release);
                        });
                    }
                    s.go(|| panic!("theirs"));
                    panic!("mine");
                })
            }));
            assert_eq!(payload_str(&*r.unwrap_err()), "mine");
            assert_eq!(finished.load(Ordering::Acquire), 10);
        });
    });
}

/// Scopes inside scoped coroutines, borrowing from both levels, with
/// nested spawns through the outer scope handle too.
#[test]
fn scopes_inside_scopes() {
    common::for_each_procs("scopes_inside_scopes", LIMIT, || {
        goro::run(|| {
            for _ in 0..20 {
                let outer = vec![1u64; 64];
                let total = AtomicUsize::new(0);
                goro::scope(|s| {
                    for part in outer.chunks(8) {
                        let total = &total;
                        s.go(move || {
                            let mut sums = [0u64; 2];
                            goro::scope(|inner| {
                                let (a, b) = sums.split_at_mut(1);
                                let (x, y) = part.split_at(4);
                                inner.go(move || a[0] = x.iter().sum());
                                inner.go(move || b[0] = y.iter().sum());
                            });
                            total.fetch_add((sums[0] + sums[1]) as usize, Ordering::Relaxed);
                        });
                        // A scoped coroutine spawning on the outer scope.
                        s.go(move || {
                            s.go(move || total.fetch_add(1, Ordering::Relaxed));
                        });
                    }
                });
                assert_eq!(total.load(Ordering::Relaxed), 64 + 8);
            }
        });
    });
}

/// A plain thread can open a scope: it blocks until the coroutines finish.
#[test]
fn scope_from_a_plain_thread() {
    common::watchdog("plain thread scope", LIMIT, || {
        let mut counts = [0u32; 8];
        goro::scope(|s| {
            for (i, c) in counts.iter_mut().enumerate() {
                s.go(move || {
                    goro::time::sleep(Duration::from_millis(i as u64));
                    *c = i as u32 * 2;
                });
            }
        });
        assert_eq!(counts, [0, 2, 4, 6, 8, 10, 12, 14]);
    });
}
