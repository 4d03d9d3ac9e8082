//! *Concurrency in Go*, chapter 4, "The or-channel": one done channel that
//! closes when any of several does.
//!
//! The Go original (the recursive `or` itself is elided):
//!
//! ```go
//! sig := func(after time.Duration) <-chan interface{} {
//!     c := make(chan interface{})
//!     go func() {
//!         defer close(c)
//!         time.Sleep(after)
//!     }()
//!     return c
//! }
//! start := time.Now()
//! <-or(
//!     sig(2*time.Hour),
//!     sig(5*time.Minute),
//!     sig(1*time.Second),
//!     sig(1*time.Hour),
//!     sig(1*time.Minute),
//! )
//! fmt.Printf("done after %v", time.Since(start))
//! ```
//!
//! `goro::pattern::or` waits on all inputs from one coroutine with one
//! `Select` (the book's recursion starts a goroutine per two or three
//! inputs). The one-second signal is 10 ms here.

use std::time::{Duration, Instant};

use goro::chan::{Receiver, chan};
use goro::pattern::or;

/// A channel closed after `after`.
fn sig(after: Duration) -> Receiver<()> {
    let (tx, c) = chan::<()>(0);
    goro::go!(move || {
        goro::time::sleep(after);
        drop(tx); // close(c)
    });
    c
}

fn main() {
    goro::run(|| {
        let start = Instant::now();
        let sigs = [
            sig(Duration::from_secs(2 * 3600)),
            sig(Duration::from_secs(5 * 60)),
            sig(Duration::from_millis(10)),
            sig(Duration::from_secs(3600)),
            sig(Duration::from_secs(60)),
        ];
        let before = goro::num_goroutine();
        let any = or(sigs);
        println!(
            "or() of 5 signals started {} coroutine",
            goro::num_goroutine() - before
        );
        assert_eq!(any.recv(), None);
        let took = start.elapsed();
        println!("done after {took:?}");
        assert!(took >= Duration::from_millis(10) && took < Duration::from_secs(60));
    });
}
