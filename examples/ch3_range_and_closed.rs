//! *Concurrency in Go*, chapter 3, "Channels": ranging over a channel and
//! reading from a closed one.
//!
//! The Go originals:
//!
//! ```go
//! intStream := make(chan int)
//! go func() {
//!     defer close(intStream)
//!     for i := 1; i <= 5; i++ {
//!         intStream <- i
//!     }
//! }()
//! for integer := range intStream {
//!     fmt.Printf("%v ", integer)
//! }
//!
//! closed := make(chan int)
//! close(closed)
//! integer, ok := <-closed
//! fmt.Printf("(%v): %v", ok, integer)
//! ```
//!
//! In goro a receive returns `Option<T>`: `None` is Go's `ok == false`
//! (there is no zero value to hand out). Dropping the last `Sender` closes
//! the channel, so the producer's `defer close(...)` is just the end of its
//! closure (an explicit `tx.close()` works too).

use goro::chan::chan;

fn main() {
    goro::run(|| {
        let (tx, int_stream) = chan::<i32>(0);
        goro::go!(move || {
            for i in 1..=5 {
                tx.send(i).unwrap();
            }
            // `tx` drops here: the channel closes and the range below ends.
        });
        let mut line = Vec::new();
        for integer in &int_stream {
            line.push(integer.to_string());
        }
        println!("{}", line.join(" "));
        assert_eq!(line.len(), 5);

        let (closer, closed) = chan::<i32>(0);
        closer.close();
        let got = closed.recv();
        println!("({}): {:?}", got.is_some(), got);
        assert_eq!(got, None);
    });
}
