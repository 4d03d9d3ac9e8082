//! Coroutine-local storage (`goro::coroutine_local!`): values stay with
//! their coroutine across migrations (forced under GOMAXPROCS 2 and more
//! with busy neighbours; the worker is checked to have changed and the
//! value not), are independent per coroutine, are dropped when the
//! coroutine ends (before `join` returns), fall back to per-thread values on
//! plain threads; a destructor's panic becomes the coroutine's panic.
//!
//! Also the `docs/safety.md` claim that a thread-local read through an
//! `#[inline(never)]` accessor after a blocking call sees the *current*
//! thread's slot, checked against `gettid` across forced migrations.

mod common;

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

goro::coroutine_local! {
    static ID: Cell<u64> = Cell::new(0);
    static LOG: RefCell<Vec<u64>> = RefCell::new(Vec::new());
    static INIT_RUNS: Cell<u32> = Cell::new(0);
}

/// Coroutines pinned to two different workers that wake whoever asks:
/// a woken coroutine is scheduled on its waker's worker, so asking them in
/// turn moves the asker between the two workers (unless a steal moves it
/// first).
struct Hopper {
    wakers: Vec<goro::chan::Sender<goro::chan::Sender<()>>>,
}

impl Hopper {
    fn new() -> Hopper {
        type Req = goro::chan::Sender<goro::chan::Sender<()>>;
        let mut wakers: Vec<(usize, Req)> = Vec::new();
        while wakers.len() < 2 {
            // A batch spawned from a plain thread lands on whichever workers
            // pick it up; pinned coroutines then stay there. Duplicates end
            // when their request channel is dropped.
            let (found_tx, found_rx) = goro::chan::<(usize, Req)>(64);
            std::thread::spawn(move || {
                for _ in 0..16 {
                    let (req_tx, req_rx) = goro::chan::<goro::chan::Sender<()>>(0);
                    let found_tx = found_tx.clone();
                    goro::Builder::new().pinned(true).spawn(move || {
                        found_tx
                            .send((goro::worker_index().unwrap(), req_tx))
                            .unwrap();
                        drop(found_tx);
                        for reply in req_rx.iter() {
                            let _ = reply.send(());
                        }
                    });
                }
            })
            .join()
            .unwrap();
            for (w, tx) in found_rx.iter() {
                if wakers.len() < 2 && wakers.iter().all(|(x, _)| *x != w) {
                    wakers.push((w, tx));
                }
            }
            goro::time::sleep(Duration::from_millis(1));
        }
        Hopper {
            wakers: wakers.into_iter().map(|(_, tx)| tx).collect(),
        }
    }

    /// Parks the caller until waker `k % 2` wakes it.
    fn hop(&self, k: usize) {
        let (tx, rx) = goro::chan::<()>(1);
        self.wakers[k % 2].send(tx).unwrap();
        rx.recv().unwrap();
    }
}

/// Runs `subject` on `n` coroutines while busy neighbours keep every worker
/// loaded; `subject` gets a [`Hopper`] to force migrations.
fn with_busy_neighbours(n: usize, subject: impl Fn(usize, &Hopper) + Send + Sync + 'static) {
    let hopper = Arc::new(Hopper::new());
    let stop = Arc::new(AtomicBool::new(false));
    let churn: Vec<_> = (0..8)
        .map(|_| {
            let stop = stop.clone();
            goro::go!(move || {
                while !stop.load(Ordering::Relaxed) {
                    goro::go!(goro::yield_now).join().unwrap();
                }
            })
        })
        .collect();
    let subject = Arc::new(subject);
    let hs: Vec<_> = (0..n)
        .map(|i| {
            let (subject, hopper) = (subject.clone(), hopper.clone());
            goro::go!(move || subject(i, &hopper))
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for h in churn {
        h.join().unwrap();
    }
}

/// Test `name` under 2 and more workers than cores: `n` coroutines run
/// `rounds` rounds of a blocking call that may move them (every third a
/// yield, the others a [`Hopper`] hop), calling `check(where_now)` after
/// each; `place()` says where the caller runs. Asserts that some coroutine
/// did change place, so the checks were made across migrations.
fn across_migrations(
    name: &str,
    n: usize,
    rounds: usize,
    place: fn() -> i64,
    check: impl Fn(usize) -> Box<dyn FnMut(i64) + Send> + Send + Sync + 'static,
) {
    common::for_procs(name, &[2, common::procs_matrix()[2]], LIMIT, || {
        let migrations = Arc::new(AtomicUsize::new(0));
        let m = migrations.clone();
        goro::run(move || {
            with_busy_neighbours(n, move |i, hopper| {
                let mut check = check(i);
                let mut last = place();
                for round in 0..rounds {
                    if round % 3 == 0 {
                        goro::yield_now();
                    } else {
                        hopper.hop(round);
                    }
                    let now = place();
                    check(now);
                    if now != last {
                        m.fetch_add(1, Ordering::Relaxed);
                        last = now;
                    }
                }
            });
        });
        let n = migrations.load(Ordering::Relaxed);
        println!("migrations observed: {n}");
        assert!(n > 0, "nothing ever changed place: the test proved nothing");
    });
}

fn worker_place() -> i64 {
    goro::worker_index().unwrap() as i64
}

/// Each coroutine's value survives migrations: its worker changes (counted)
/// while the value does not.
#[test]
fn locals_stay_with_their_coroutine_across_migrations() {
    across_migrations(
        "locals_stay_with_their_coroutine_across_migrations",
        16,
        600,
        worker_place,
        |i| {
            let mine = 1000 + i as u64;
            ID.set(mine);
            LOG.with_borrow_mut(|l| l.push(mine));
            Box::new(move |_| {
                assert_eq!(ID.get(), mine, "value changed after a blocking call");
                LOG.with_borrow(|l| assert_eq!(l, &[mine]));
            })
        },
    );
}

/// Values are per coroutine: many coroutines write their own and read them
/// back after parking, and a new coroutine starts from the initialiser.
#[test]
fn locals_are_independent_per_coroutine() {
    common::for_each_procs("locals_are_independent_per_coroutine", LIMIT, || {
        goro::run(|| {
            let hs: Vec<_> = (0..500u64)
                .map(|i| {
                    goro::go!(move || {
                        assert_eq!(ID.get(), 0, "a new coroutine sees the initial value");
                        ID.set(i);
                        for _ in 0..5 {
                            goro::time::sleep(Duration::from_micros(100));
                            assert_eq!(ID.get(), i);
                        }
                        ID.replace(i * 2)
                    })
                })
                .collect();
            for (i, h) in hs.into_iter().enumerate() {
                assert_eq!(h.join().unwrap(), i as u64);
            }
            // The main coroutine's own value was never touched.
            assert_eq!(ID.get(), 0);
        });
    });
}

/// Counts drops of values with a given tag.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

goro::coroutine_local! {
    static TRACKED: RefCell<Option<Tracked>> = const { RefCell::new(None) };
}

/// A coroutine's locals are dropped when it ends, before `join` returns,
/// exactly once each; coroutines that never touched the local drop nothing.
#[test]
fn locals_are_dropped_when_the_coroutine_ends() {
    common::for_each_procs("locals_are_dropped_when_the_coroutine_ends", LIMIT, || {
        goro::run(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..200)
                .map(|i| {
                    let drops = drops.clone();
                    goro::go!(move || {
                        if i % 2 == 0 {
                            TRACKED.set(Some(Tracked(drops)));
                            goro::yield_now();
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(drops.load(Ordering::SeqCst), 100);
            // A panicking coroutine drops its locals too.
            let d = drops.clone();
            let p = goro::go!(move || {
                TRACKED.set(Some(Tracked(d)));
                panic!("body panic");
            })
            .join()
            .unwrap_err();
            assert_eq!(p.message(), Some("body panic"));
            assert_eq!(drops.load(Ordering::SeqCst), 101);
        });
    });
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("local destructor panicked");
    }
}

goro::coroutine_local! {
    static BOMB: RefCell<Option<PanicOnDrop>> = const { RefCell::new(None) };
    static AFTER_BOMB: RefCell<Option<Tracked>> = const { RefCell::new(None) };
}

/// A destructor that panics makes the coroutine's join return that panic,
/// and the locals after it are still dropped; the runtime keeps running.
#[test]
fn a_panicking_local_destructor_is_the_coroutines_panic() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let p = goro::go!(move || {
        BOMB.set(Some(PanicOnDrop));
        AFTER_BOMB.set(Some(Tracked(d)));
        42
    })
    .join()
    .unwrap_err();
    assert_eq!(p.message(), Some("local destructor panicked"));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(goro::go!(|| 1).join().unwrap(), 1);
}

goro::coroutine_local! {
    static COUNTED: u32 = {
        INIT_RUNS.set(INIT_RUNS.get() + 1);
        7
    };
}

/// The initialiser runs once per coroutine, lazily, and may use other
/// locals; `set` skips it.
#[test]
fn initialiser_runs_once_per_coroutine() {
    goro::go!(|| {
        assert_eq!(INIT_RUNS.get(), 0);
        assert_eq!(COUNTED.with(|v| *v), 7);
        assert_eq!(COUNTED.with(|v| *v), 7);
        assert_eq!(INIT_RUNS.get(), 1);
        ID.set(9); // set without the initialiser
        assert_eq!(ID.take(), 9);
        assert_eq!(ID.get(), 0);
        LOG.set(vec![1, 2]);
        assert_eq!(LOG.replace(vec![3]), vec![1, 2]);
        assert_eq!(LOG.take(), vec![3]);
    })
    .join()
    .unwrap();
}

/// On a plain thread a coroutine-local is a thread-local: per thread,
/// dropped at thread exit.
#[test]
fn plain_threads_get_per_thread_values() {
    let drops = Arc::new(AtomicUsize::new(0));
    let ts: Vec<_> = (0..4u64)
        .map(|i| {
            let drops = drops.clone();
            std::thread::spawn(move || {
                assert_eq!(ID.get(), 0);
                ID.set(i + 1);
                TRACKED.set(Some(Tracked(drops)));
                std::thread::sleep(Duration::from_millis(5));
                ID.get()
            })
        })
        .collect();
    for (i, t) in ts.into_iter().enumerate() {
        assert_eq!(t.join().unwrap(), i as u64 + 1);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

std::thread_local! {
    /// The OS thread id, captured when each thread first reads it.
    // SAFETY: gettid has no preconditions.
    static TLS_TID: i32 = unsafe { libc::gettid() };
}

/// The accessor `docs/safety.md` recommends: opaque to the caller, so the
/// thread-local's address is computed inside it, on the current thread.
#[inline(never)]
fn tls_tid() -> i32 {
    TLS_TID.with(|t| *t)
}

fn os_thread_place() -> i64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as i64 }
}

/// After blocking calls that migrate the coroutine, a thread-local read
/// through an `#[inline(never)]` accessor is the current thread's, as the
/// kernel reports it; and the migrations really happened.
#[test]
fn inline_never_accessor_reads_the_current_threads_slot() {
    across_migrations(
        "inline_never_accessor_reads_the_current_threads_slot",
        8,
        2000,
        os_thread_place,
        |_| {
            assert_eq!(tls_tid() as i64, os_thread_place());
            Box::new(|now| assert_eq!(tls_tid() as i64, now, "stale thread-local after a switch"))
        },
    );
}
