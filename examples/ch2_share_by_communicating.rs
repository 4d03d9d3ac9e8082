//! *Concurrency in Go*, chapter 2, "Go's Philosophy on Concurrency": "Do
//! not communicate by sharing memory. Instead, share memory by
//! communicating." — and the book's decision tree for channels or
//! mutexes:
//!
//! 1. Transferring ownership of data? Use a channel. In Rust the transfer
//!    is checked by the compiler: a value sent is moved, and the sender
//!    cannot touch it any more.
//! 2. Guarding the internal state of a struct? Use a mutex, hidden inside
//!    the type, so callers never see the locking.
//! 3. Coordinating several pieces of logic? Use channels and `select!`:
//!    they compose, locks do not.
//! 4. A performance-critical section? A mutex may help (channels are
//!    built on memory synchronization, so they can only be slower).

use std::sync::Arc;
use std::time::Duration;

use goro::chan::chan;
use goro::select;
use goro::sync::{Mutex, WaitGroup};

/// (2) A counter whose lock is an implementation detail.
#[derive(Default)]
struct Counter {
    hits: Mutex<u64>,
}

impl Counter {
    fn hit(&self) {
        *self.hits.lock() += 1;
    }
    fn get(&self) -> u64 {
        *self.hits.lock()
    }
}

fn main() {
    goro::run(|| {
        // (1) The producer owns each buffer until it sends it; from then
        // on the consumer does. `buf.push(..)` after the send would not
        // compile ("borrow of moved value").
        let (tx, rx) = chan::<Vec<u32>>(0);
        goro::go!(move || {
            for i in 0..3 {
                let buf: Vec<u32> = (0..5).map(|x| x * i).collect();
                tx.send(buf).unwrap();
            }
        });
        for buf in rx.iter() {
            println!("consumer now owns {buf:?}");
        }

        // (2) Many coroutines hit one counter; none of them locks anything.
        let counter = Arc::new(Counter::default());
        let wg = WaitGroup::new();
        for _ in 0..100 {
            let c = counter.clone();
            wg.go(move || c.hit());
        }
        wg.wait();
        println!("counter guarded internally: {} hits", counter.get());

        // (3) A worker coordinated by channels: results out, a quit
        // signal in, a timeout, all in one select.
        let (results_tx, results) = chan::<u64>(0);
        let (quit_tx, quit) = chan::<()>(0);
        goro::go!(move || {
            let mut n = 0;
            loop {
                select! {
                    send(results_tx, n * n) -> _ => n += 1,
                    recv(quit) -> _ => return,
                }
            }
        });
        let mut got = Vec::new();
        loop {
            select! {
                recv(results) -> v => {
                    got.push(v.unwrap());
                    if got.len() == 5 {
                        quit_tx.close();
                        break;
                    }
                }
                default(Duration::from_secs(5)) => panic!("worker stalled"),
            }
        }
        println!("coordinated by channels: first squares {got:?}, then told to quit");
    });
}
