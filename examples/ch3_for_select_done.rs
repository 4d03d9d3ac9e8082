//! *Concurrency in Go*, chapter 3, "The select Statement": a for-select
//! loop that does work until a `done` channel is closed.
//!
//! The Go original (seconds scaled down to milliseconds here):
//!
//! ```go
//! done := make(chan interface{})
//! go func() {
//!     time.Sleep(5 * time.Second)
//!     close(done)
//! }()
//!
//! workCounter := 0
//! loop:
//! for {
//!     select {
//!     case <-done:
//!         break loop
//!     default:
//!     }
//!     // Simulate work
//!     workCounter++
//!     time.Sleep(1 * time.Second)
//! }
//! fmt.Printf("Achieved %v cycles of work before signalled to stop.\n", workCounter)
//! ```
//!
//! `select!` bodies are spliced into the surrounding code, so `break` in a
//! case leaves the enclosing `loop` as Go's `break loop` does. The sleeps
//! park the coroutine with a timed receive on `never()` (Go's nil channel:
//! nothing ever arrives), as the book does; `goro::time::sleep(d)` does the
//! same in one call.

use std::time::Duration;

use goro::chan::{chan, never};
use goro::select;

/// Parks the calling coroutine for `d`.
fn sleep(d: Duration) {
    let _ = never::<()>().recv_timeout(d);
}

fn main() {
    let work_counter = goro::run(|| {
        let (done_tx, done) = chan::<()>(0);
        goro::go!(move || {
            sleep(Duration::from_millis(50));
            done_tx.close();
        });

        let mut work_counter = 0;
        loop {
            select! {
                recv(done) -> _ => break,
                default => {},
            }
            // Simulate work.
            work_counter += 1;
            sleep(Duration::from_millis(10));
        }
        work_counter
    });
    println!("Achieved {work_counter} cycles of work before signalled to stop.");
    assert!(work_counter >= 1);
}
