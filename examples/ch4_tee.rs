//! *Concurrency in Go*, chapter 4, "The tee-channel": every value read
//! from one channel goes to two outputs.
//!
//! The Go original:
//!
//! ```go
//! tee := func(done <-chan interface{}, in <-chan interface{}) (_, _ <-chan interface{}) {
//!     out1 := make(chan interface{})
//!     out2 := make(chan interface{})
//!     go func() {
//!         defer close(out1)
//!         defer close(out2)
//!         for val := range orDone(done, in) {
//!             var out1, out2 = out1, out2
//!             for i := 0; i < 2; i++ {
//!                 select {
//!                 case <-done:
//!                 case out1 <- val:
//!                     out1 = nil
//!                 case out2 <- val:
//!                     out2 = nil
//!                 }
//!             }
//!         }
//!     }()
//!     return out1, out2
//! }
//!
//! out1, out2 := tee(done, take(done, repeat(done, 1, 2), 4))
//! for val1 := range out1 {
//!     fmt.Printf("out1: %v, out2: %v\n", val1, <-out2)
//! }
//! ```
//!
//! Go switches a send case off by setting its channel to nil; goro's
//! spelling is `goro::chan::never_sender()`, whose send case is never
//! chosen — so one `select!` serves both passes, as `tee_by_hand` shows.
//! `goro::pattern::tee` is the library version.

use goro::chan::{Receiver, chan, never_sender};
use goro::pattern::{repeat, take, tee};
use goro::select;

/// The book's tee, spelled with `never_sender` for Go's `out = nil`.
fn tee_by_hand(done: &Receiver<()>, input: Receiver<i32>) -> (Receiver<i32>, Receiver<i32>) {
    let done = done.clone();
    let (tx1, out1) = chan(0);
    let (tx2, out2) = chan(0);
    goro::go!(move || {
        let off = never_sender::<i32>();
        for val in goro::pattern::or_done(&done, input) {
            let (mut to1, mut to2) = (true, true);
            for _ in 0..2 {
                let (s1, s2) = (if to1 { &tx1 } else { &off }, if to2 { &tx2 } else { &off });
                select! {
                    recv(done) -> _ => return,
                    send(s1, val) -> _ => to1 = false,
                    send(s2, val) -> _ => to2 = false,
                }
            }
        }
    });
    (out1, out2)
}

/// The book's loop: `for val1 := range out1 { ..., <-out2 }`.
fn read_pairs((out1, out2): (Receiver<i32>, Receiver<i32>)) -> Vec<(i32, i32)> {
    let mut pairs = Vec::new();
    for val1 in &out1 {
        let val2 = out2.recv().unwrap();
        println!("out1: {val1}, out2: {val2}");
        pairs.push((val1, val2));
    }
    pairs
}

fn main() {
    goro::run(|| {
        let (_stop, done) = chan::<()>(0); // closed when main returns

        println!("by hand:");
        let pairs = read_pairs(tee_by_hand(&done, take(&done, repeat(&done, [1, 2]), 4)));
        assert_eq!(pairs, [(1, 1), (2, 2), (1, 1), (2, 2)]);

        println!("goro::pattern::tee:");
        let again = read_pairs(tee(&done, take(&done, repeat(&done, [1, 2]), 4)));
        assert_eq!(again, pairs);
    });
}
