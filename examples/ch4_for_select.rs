//! *Concurrency in Go*, chapter 4, "The for-select Loop": the two shapes
//! the book names.
//!
//! The Go originals:
//!
//! ```go
//! // Sending iteration variables out on a channel
//! for _, s := range []string{"a", "b", "c"} {
//!     select {
//!     case <-done:
//!         return
//!     case stringStream <- s:
//!     }
//! }
//!
//! // Looping infinitely waiting to be stopped
//! for {
//!     select {
//!     case <-done:
//!         return
//!     default:
//!     }
//!     // Do non-preemptable work
//! }
//! ```
//!
//! `select!` bodies are spliced into the loop, so `return` and `break` act
//! on the enclosing function and loop as Go's do.

use std::time::Duration;

use goro::chan::{Receiver, Sender, chan};
use goro::select;

/// Sends each string unless `done` closes first.
fn send_all(done: Receiver<()>, string_stream: Sender<&'static str>) {
    for s in ["a", "b", "c"] {
        select! {
            recv(done) -> _ => return,
            send(string_stream, s) -> r => r.unwrap(),
        }
    }
}

/// Works until `done` closes; returns the number of work cycles done.
fn work_until_done(done: Receiver<()>) -> u64 {
    let mut cycles = 0;
    loop {
        select! {
            recv(done) -> _ => return cycles,
            default => {},
        }
        // Non-preemptable work.
        cycles += 1;
        goro::time::sleep(Duration::from_millis(1));
    }
}

fn main() {
    goro::run(|| {
        let (_stop, done) = chan::<()>(0);
        let (tx, strings) = chan(0);
        goro::go!(move || send_all(done, tx));
        let got: Vec<&str> = strings.iter().collect();
        println!("sent iteration variables: {got:?}");
        assert_eq!(got, ["a", "b", "c"]);

        let (stop, done) = chan::<()>(0);
        let worker = goro::go!(move || work_until_done(done));
        goro::time::sleep(Duration::from_millis(20));
        drop(stop); // close(done)
        let cycles = worker.join().unwrap();
        println!("looped {cycles} times until done was closed");
        assert!(cycles >= 1);
    });
}
