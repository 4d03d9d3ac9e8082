//! *Concurrency in Go*, chapter 3, "Cond": a queue of at most two items.
//! The main coroutine adds ten items, waiting on a condition whenever the
//! queue is full; coroutines remove items after a delay and signal.
//!
//! The Go original:
//!
//! ```go
//! c := sync.NewCond(&sync.Mutex{})
//! queue := make([]interface{}, 0, 10)
//!
//! removeFromQueue := func(delay time.Duration) {
//!     time.Sleep(delay)
//!     c.L.Lock()
//!     queue = queue[1:]
//!     fmt.Println("Removed from queue")
//!     c.L.Unlock()
//!     c.Signal()
//! }
//!
//! for i := 0; i < 10; i++ {
//!     c.L.Lock()
//!     for len(queue) == 2 {
//!         c.Wait()
//!     }
//!     fmt.Println("Adding to queue")
//!     queue = append(queue, struct{}{})
//!     go removeFromQueue(1 * time.Second)
//!     c.L.Unlock()
//! }
//! ```
//!
//! In goro the `Cond` waits with the guard of the `Mutex` that owns the
//! queue: `wait` takes the guard (unlocking) and gives it back (locked).
//! The delay is 100 ms instead of a second so the example is quick.

use std::sync::Arc;
use std::time::Duration;

use goro::sync::{Cond, Mutex};

fn main() {
    goro::run(|| {
        let shared = Arc::new((Mutex::new(Vec::<()>::with_capacity(10)), Cond::new()));
        let remove_from_queue = |shared: Arc<(Mutex<Vec<()>>, Cond)>, delay: Duration| {
            goro::time::sleep(delay);
            let (queue, c) = &*shared;
            let mut q = queue.lock();
            q.remove(0);
            println!("Removed from queue");
            drop(q);
            c.signal();
        };
        let (queue, c) = &*shared;
        for _ in 0..10 {
            let mut q = queue.lock();
            while q.len() == 2 {
                q = c.wait(q);
            }
            println!("Adding to queue");
            q.push(());
            let s = shared.clone();
            goro::go!(move || remove_from_queue(s, Duration::from_millis(100)));
        }
        // (Go's program exits here, abandoning the last removals; we wait
        // for them so the output is complete.)
        drop(c.wait_while(queue.lock(), |q| !q.is_empty()));
    });
}
