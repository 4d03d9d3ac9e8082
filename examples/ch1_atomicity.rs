//! *Concurrency in Go*, chapter 1, "Atomicity": `i++` looks like one
//! operation but is three — read `i`, add one, write `i` back — so it is
//! not atomic in the context of concurrent coroutines.
//!
//! The book's point, run: 100 coroutines each increment a shared counter
//! 100 times, first as a separate load and store (with a yield in between
//! standing for the moment another coroutine runs, so updates get lost even
//! on one worker thread), then as `fetch_add`, which is atomic in that
//! context, and then under a mutex, which makes the whole critical section
//! atomic.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use goro::sync::{Mutex, WaitGroup};

const COROUTINES: u64 = 100;
const INCREMENTS: u64 = 100;

fn run_all(f: impl Fn() + Send + Sync + 'static) {
    let f = Arc::new(f);
    let wg = WaitGroup::new();
    for _ in 0..COROUTINES {
        let f = f.clone();
        wg.go(move || {
            for _ in 0..INCREMENTS {
                f();
            }
        });
    }
    wg.wait();
}

fn main() {
    goro::run(|| {
        let want = COROUTINES * INCREMENTS;

        let i = Arc::new(AtomicU64::new(0));
        let c = i.clone();
        run_all(move || {
            let v = c.load(Ordering::SeqCst); // read
            goro::yield_now(); // another coroutine may run here
            c.store(v + 1, Ordering::SeqCst); // write: may overwrite its update
        });
        println!(
            "read, then write:   {} of {want} increments survived",
            i.load(Ordering::SeqCst)
        );

        let i = Arc::new(AtomicU64::new(0));
        let c = i.clone();
        run_all(move || {
            c.fetch_add(1, Ordering::SeqCst);
        });
        println!("fetch_add:          {} of {want}", i.load(Ordering::SeqCst));

        let i = Arc::new(Mutex::new(0u64));
        let c = i.clone();
        run_all(move || {
            let mut g = c.lock();
            let v = *g;
            goro::yield_now(); // others may run, but not in this critical section
            *g = v + 1;
        });
        println!("under a Mutex:      {} of {want}", *i.lock());
        println!(
            "Atomicity depends on the context: the read-modify-write is only indivisible if made so."
        );
    });
}
