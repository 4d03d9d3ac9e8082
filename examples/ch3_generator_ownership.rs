//! *Concurrency in Go*, chapter 3, "Channels": channel ownership. The
//! owner creates the channel, writes to it, closes it, and hands out only
//! the reading end.
//!
//! The Go original:
//!
//! ```go
//! chanOwner := func() <-chan int {
//!     resultStream := make(chan int, 5)
//!     go func() {
//!         defer close(resultStream)
//!         for i := 0; i <= 5; i++ {
//!             resultStream <- i
//!         }
//!     }()
//!     return resultStream
//! }
//!
//! resultStream := chanOwner()
//! for result := range resultStream {
//!     fmt.Printf("Received: %d\n", result)
//! }
//! fmt.Println("Done receiving!")
//! ```
//!
//! Go's `<-chan int` (a receive-only view) is goro's `Receiver<i32>`: the
//! consumer cannot send or close. The owning coroutine holds the only
//! `Sender`; when it returns, the sender drops and the channel closes.

use goro::chan::{Receiver, chan};

/// Owns the channel: makes it, fills it from a coroutine, closes it by
/// dropping the only sender, and returns the read-only end.
fn chan_owner() -> Receiver<i32> {
    let (result_tx, result_stream) = chan::<i32>(5);
    goro::go!(move || {
        for i in 0..=5 {
            result_tx.send(i).unwrap();
        }
    });
    result_stream
}

fn main() {
    goro::run(|| {
        let result_stream = chan_owner();
        let mut n = 0;
        for result in result_stream {
            println!("Received: {result}");
            n += 1;
        }
        println!("Done receiving!");
        assert_eq!(n, 6);
    });
}
