//! *Concurrency in Go*, chapter 4, "The or-done-channel": reading a
//! channel you do not control, you still have to stop when `done` closes,
//! which turns every `range` into a nested select. `orDone` hides that.
//!
//! The Go original:
//!
//! ```go
//! orDone := func(done, c <-chan interface{}) <-chan interface{} {
//!     valStream := make(chan interface{})
//!     go func() {
//!         defer close(valStream)
//!         for {
//!             select {
//!             case <-done:
//!                 return
//!             case v, ok := <-c:
//!                 if ok == false {
//!                     return
//!                 }
//!                 select {
//!                 case valStream <- v:
//!                 case <-done:
//!                 }
//!             }
//!         }
//!     }()
//!     return valStream
//! }
//!
//! for val := range orDone(done, myChan) {
//!     // Do something with val
//! }
//! ```
//!
//! `goro::pattern::or_done` is that function; the loop below is a plain
//! `for`, and it ends when `done` closes although `my_chan` never does.

use std::time::Duration;

use goro::chan::chan;
use goro::pattern::or_done;

fn main() {
    goro::run(|| {
        // A channel someone else owns, which never closes.
        let (my_tx, my_chan) = chan::<u32>(0);
        goro::go!(move || {
            for i in 0.. {
                if my_tx.send(i).is_err() {
                    return;
                }
                goro::time::sleep(Duration::from_millis(1));
            }
        });

        let (stop, done) = chan::<()>(0);
        goro::go!(move || {
            goro::time::sleep(Duration::from_millis(20));
            println!("closing done");
            drop(stop);
        });

        let mut seen = 0;
        for val in or_done(&done, my_chan) {
            println!("got {val}");
            seen += 1;
        }
        println!("the loop ended after {seen} values: done closed, my_chan did not");
        assert!(seen >= 1);
    });
}
