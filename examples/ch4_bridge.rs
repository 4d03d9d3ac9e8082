//! *Concurrency in Go*, chapter 4, "The bridge-channel": consuming a
//! sequence of channels (a channel of channels) as one stream.
//!
//! The Go original:
//!
//! ```go
//! genVals := func() <-chan <-chan interface{} {
//!     chanStream := make(chan (<-chan interface{}))
//!     go func() {
//!         defer close(chanStream)
//!         for i := 0; i < 10; i++ {
//!             stream := make(chan interface{}, 1)
//!             stream <- i
//!             close(stream)
//!             chanStream <- stream
//!         }
//!     }()
//!     return chanStream
//! }
//!
//! for v := range bridge(nil, genVals()) {
//!     fmt.Printf("%v ", v)
//! }
//! ```
//!
//! Go's `nil` done channel (never closes) is `goro::chan::never()`.
//! `goro::pattern::bridge` drains each inner channel to its end before
//! taking the next, so the values come out in order.

use goro::chan::{Receiver, chan, never};
use goro::pattern::bridge;

fn gen_vals() -> Receiver<Receiver<i32>> {
    let (chan_tx, chan_stream) = chan(0);
    goro::go!(move || {
        for i in 0..10 {
            let (tx, stream) = chan(1);
            tx.send(i).unwrap();
            drop(tx); // close(stream)
            chan_tx.send(stream).unwrap();
        }
    });
    chan_stream
}

fn main() {
    goro::run(|| {
        let vals: Vec<i32> = bridge(never::<()>(), gen_vals()).iter().collect();
        let line: Vec<String> = vals.iter().map(i32::to_string).collect();
        println!("{}", line.join(" "));
        assert_eq!(vals, (0..10).collect::<Vec<_>>());
    });
}
