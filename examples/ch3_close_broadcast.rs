//! *Concurrency in Go*, chapter 3, "Channels": closing a channel to unblock
//! many goroutines at once.
//!
//! The Go original:
//!
//! ```go
//! begin := make(chan interface{})
//! var wg sync.WaitGroup
//! for i := 0; i < 5; i++ {
//!     wg.Add(1)
//!     go func(i int) {
//!         defer wg.Done()
//!         <-begin
//!         fmt.Printf("%v has begun\n", i)
//!     }(i)
//! }
//! fmt.Println("Unblocking goroutines...")
//! close(begin)
//! wg.Wait()
//! ```
//!
//! A receive on a closed channel returns at once (with `None`), for every
//! receiver: closing is a broadcast. Each coroutine holds a clone of the
//! receiver.

use goro::chan::chan;
use goro::sync::WaitGroup;

fn main() {
    goro::run(|| {
        let (begin_tx, begin) = chan::<()>(0);
        let (report_tx, report) = chan::<usize>(5);
        let wg = WaitGroup::new();
        for i in 0..5 {
            let (begin, report_tx) = (begin.clone(), report_tx.clone());
            wg.go(move || {
                assert_eq!(begin.recv(), None, "nothing is ever sent on begin");
                println!("{i} has begun");
                report_tx.send(i).unwrap();
            });
        }
        println!("Unblocking goroutines...");
        begin_tx.close();
        wg.wait();
        drop(report_tx);
        assert_eq!(report.iter().count(), 5);
    });
}
