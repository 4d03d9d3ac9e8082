//! *Concurrency in Go*, chapter 3, "The select Statement": blocking until a
//! channel is closed, timing out, and not blocking at all.
//!
//! The Go originals:
//!
//! ```go
//! start := time.Now()
//! c := make(chan interface{})
//! go func() {
//!     time.Sleep(5 * time.Second)
//!     close(c)
//! }()
//! fmt.Println("Blocking on read...")
//! select {
//! case <-c:
//!     fmt.Printf("Unblocked %v later.\n", time.Since(start))
//! }
//!
//! var c <-chan int
//! select {
//! case <-c:
//! case <-time.After(1 * time.Second):
//!     fmt.Println("Timed out.")
//! }
//!
//! start := time.Now()
//! var c1, c2 <-chan int
//! select {
//! case <-c1:
//! case <-c2:
//! default:
//!     fmt.Printf("In default after %v\n\n", time.Since(start))
//! }
//! ```
//!
//! Go's nil channel, which is never ready, is `never()`. Go's
//! `case <-time.After(d)` is `default(d) => ...` in `select!`: run this case
//! if nothing else became ready within `d`. A plain `default` runs at once
//! when nothing is ready. Durations are scaled down to milliseconds.

use std::time::{Duration, Instant};

use goro::chan::{chan, never};
use goro::select;

fn main() {
    goro::run(|| {
        // Block until the channel is closed.
        let start = Instant::now();
        let (c_tx, c) = chan::<()>(0);
        goro::go!(move || {
            let _ = never::<()>().recv_timeout(Duration::from_millis(50)); // sleep
            c_tx.close();
        });
        println!("Blocking on read...");
        select! {
            recv(c) -> _ => println!("Unblocked {:?} later.", start.elapsed()),
        }

        // Time out.
        let nil = never::<i32>();
        let start = Instant::now();
        let timed_out = select! {
            recv(nil) -> _ => false,
            default(Duration::from_millis(100)) => {
                println!("Timed out.");
                true
            }
        };
        assert!(timed_out && start.elapsed() >= Duration::from_millis(100));

        // Do not block at all.
        let start = Instant::now();
        let (c1, c2) = (never::<i32>(), never::<i32>());
        select! {
            recv(c1) -> _ => unreachable!(),
            recv(c2) -> _ => unreachable!(),
            default => println!("In default after {:?}\n", start.elapsed()),
        }
    });
}
