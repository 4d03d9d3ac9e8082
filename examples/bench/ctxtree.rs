//! Context workload `ctxtree`, the same program as Go's in
//! `../shared/anchors/go/extra.go`: a root with 1,000 children (fewer if
//! n < 1,000), n/1,000 grandchildren each, one coroutine waiting on each
//! grandchild's `done()`. Prints `ctxtree_build_ms` (spawn until every
//! waiter has its grandchild) and `ctxtree_cancel_ms` (root cancel until
//! every waiter has seen it).
//!
//! `ctxbase` is the same shape without contexts, the floor `ctxtree` stands
//! on: n coroutines each wait on a channel of their own, and the main
//! coroutine closes the n channels one after the other (what cancelling
//! the tree amounts to, less the tree). Its Go twin is in
//! `benches/go/ctxbase.go`. `ctxtree` minus `ctxbase` is what the context
//! layer costs; `ctxbase` itself is spawn, park and wake-up.

use std::time::Instant;

use goro::context::{self, Error};
use goro::sync::WaitGroup;

/// Builds the tree of `n` waiting coroutines, cancels the root, and prints
/// both times.
pub fn ctxtree(n: usize) {
    let (root, cancel) = context::with_cancel(&context::background());
    let ready: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
    let done: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
    let fan = n.clamp(1, 1000);
    let per = n / fan;
    ready.add((fan * per) as isize);
    done.add((fan * per) as isize);
    let t = Instant::now();
    let mut mids = Vec::with_capacity(fan);
    for _ in 0..fan {
        let (mid, mid_cancel) = context::with_cancel(&root);
        mids.push(mid_cancel);
        for _ in 0..per {
            let mid = mid.clone();
            goro::go!(move || {
                let (leaf, leaf_cancel) = context::with_cancel(&mid);
                let d = leaf.done();
                ready.done();
                let _ = d.recv();
                assert_eq!(leaf.err(), Some(Error::Canceled), "ctxtree: wrong error");
                done.done();
                leaf_cancel.cancel(); // Go's `defer leafCancel()`: after Done
            });
        }
    }
    ready.wait();
    let d1 = t.elapsed();
    let cpu1 = process_cpu_ms();
    let t2 = Instant::now();
    cancel.cancel();
    done.wait();
    let d2 = t2.elapsed();
    let cpu2 = process_cpu_ms();
    println!("ctxtree_build_ms {:.1} ms", d1.as_secs_f64() * 1e3);
    println!("ctxtree_cancel_ms {:.1} ms", d2.as_secs_f64() * 1e3);
    if std::env::var_os("GORO_BENCH_CPU").is_some() {
        // A probe for loaded machines: CPU time (every thread, user and
        // system) is less disturbed by other processes than wall time.
        println!("ctxtree_build_cpu_ms {cpu1:.1} ms");
        println!("ctxtree_cancel_cpu_ms {:.1} ms", cpu2 - cpu1);
    }
}

/// User plus system CPU time of the whole process so far, in ms.
fn process_cpu_ms() -> f64 {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `ru` is a valid, writable `rusage`; `getrusage` only writes
    // it and RUSAGE_SELF is a valid `who`.
    let ru = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr());
        ru.assume_init()
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(ru.ru_utime) + ms(ru.ru_stime)
}

/// n coroutines each parked on its own channel; closes them all. Prints
/// `ctxbase_build_ms` and `ctxbase_cancel_ms`, timed as in [`ctxtree`].
pub fn ctxbase(n: usize) {
    let ready: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
    let done: &'static WaitGroup = Box::leak(Box::new(WaitGroup::new()));
    ready.add(n as isize);
    done.add(n as isize);
    let t = Instant::now();
    let mut txs = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = goro::chan::<()>(0);
        txs.push(tx);
        goro::go!(move || {
            ready.done();
            assert_eq!(rx.recv(), None, "ctxbase: a value on a closed channel");
            done.done();
        });
    }
    ready.wait();
    let d1 = t.elapsed();
    let t2 = Instant::now();
    for tx in &txs {
        tx.close();
    }
    done.wait();
    let d2 = t2.elapsed();
    println!("ctxbase_build_ms {:.1} ms", d1.as_secs_f64() * 1e3);
    println!("ctxbase_cancel_ms {:.1} ms", d2.as_secs_f64() * 1e3);
}
