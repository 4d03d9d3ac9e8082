//! Context workload `ctxtree`, the same program as Go's in
//! `../shared/anchors/go/extra.go`: a root with 1,000 children (fewer if
//! n < 1,000), n/1,000 grandchildren each, one coroutine waiting on each
//! grandchild's `done()`. Prints `ctxtree_build_ms` (spawn until every
//! waiter has its grandchild) and `ctxtree_cancel_ms` (root cancel until
//! every waiter has seen it).

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
    let t2 = Instant::now();
    cancel.cancel();
    done.wait();
    let d2 = t2.elapsed();
    println!("ctxtree_build_ms {:.1} ms", d1.as_secs_f64() * 1e3);
    println!("ctxtree_cancel_ms {:.1} ms", d2.as_secs_f64() * 1e3);
}
