//! *Concurrency in Go*, chapter 3, "The select Statement": when several
//! cases are ready, each is chosen with equal probability.
//!
//! The Go original:
//!
//! ```go
//! c1 := make(chan interface{}); close(c1)
//! c2 := make(chan interface{}); close(c2)
//!
//! var c1Count, c2Count int
//! for i := 1000; i >= 0; i-- {
//!     select {
//!     case <-c1:
//!         c1Count++
//!     case <-c2:
//!         c2Count++
//!     }
//! }
//! fmt.Printf("c1Count: %d\nc2Count: %d\n", c1Count, c2Count)
//! ```
//!
//! Both channels are closed, so both receive cases are always ready; over
//! 1001 selects each wins about half the time.

use goro::chan::chan;
use goro::select;

fn main() {
    let (c1_count, c2_count) = goro::run(|| {
        let (c1_tx, c1) = chan::<()>(0);
        c1_tx.close();
        let (c2_tx, c2) = chan::<()>(0);
        c2_tx.close();
        let (mut c1_count, mut c2_count) = (0, 0);
        for _ in 0..=1000 {
            select! {
                recv(c1) -> _ => c1_count += 1,
                recv(c2) -> _ => c2_count += 1,
            }
        }
        (c1_count, c2_count)
    });
    println!("c1Count: {c1_count}\nc2Count: {c2_count}");
    assert_eq!(c1_count + c2_count, 1001);
}
