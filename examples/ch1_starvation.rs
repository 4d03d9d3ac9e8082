//! *Concurrency in Go*, chapter 1, "Starvation": a greedy worker holds the
//! shared lock for its whole work loop; a polite worker takes it only
//! around each of its three pieces of work. Both do the same amount of
//! work per loop.
//!
//! The Go original:
//!
//! ```go
//! var wg sync.WaitGroup
//! var sharedLock sync.Mutex
//! const runtime = 1 * time.Second
//!
//! greedyWorker := func() {
//!     defer wg.Done()
//!     var count int
//!     for begin := time.Now(); time.Since(begin) <= runtime; {
//!         sharedLock.Lock()
//!         time.Sleep(3 * time.Nanosecond)
//!         sharedLock.Unlock()
//!         count++
//!     }
//!     fmt.Printf("Greedy worker was able to execute %v work loops\n", count)
//! }
//! politeWorker := func() {
//!     defer wg.Done()
//!     var count int
//!     for begin := time.Now(); time.Since(begin) <= runtime; {
//!         sharedLock.Lock()
//!         time.Sleep(1 * time.Nanosecond)
//!         sharedLock.Unlock()
//!         // ... twice more ...
//!         count++
//!     }
//!     fmt.Printf("Polite worker was able to execute %v work loops.\n", count)
//! }
//! wg.Add(2)
//! go greedyWorker()
//! go politeWorker()
//! wg.Wait()
//! ```
//!
//! The greedy worker gets more done: it competes for the lock once per
//! loop, the polite one three times. The book's remedy is to measure the
//! rate of work, as this program does. The window is 300 ms instead of a
//! second; "work" is 3 µs (or 1 µs) of busy waiting, which unlike a
//! nanosecond sleep is the same length on every machine. goro's mutex,
//! like Go's, hands the lock to a waiter that has waited over 1 ms, which
//! bounds how badly the polite worker starves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use goro::sync::{Mutex, WaitGroup};

const WINDOW: Duration = Duration::from_millis(300);

fn work(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn main() {
    goro::run(|| {
        let shared = Arc::new(Mutex::new(()));
        let wg = WaitGroup::new();
        let lock = shared.clone();
        let greedy = wg.go(move || {
            let mut count = 0u64;
            let begin = Instant::now();
            while begin.elapsed() <= WINDOW {
                let _g = lock.lock();
                work(Duration::from_micros(3));
                drop(_g);
                count += 1;
                goro::yield_now(); // a scheduling point, as Go's loop has
            }
            count
        });
        let lock = shared.clone();
        let polite = wg.go(move || {
            let mut count = 0u64;
            let begin = Instant::now();
            while begin.elapsed() <= WINDOW {
                for _ in 0..3 {
                    let _g = lock.lock();
                    work(Duration::from_micros(1));
                }
                count += 1;
                goro::yield_now();
            }
            count
        });
        wg.wait();
        let (g, p) = (greedy.join().unwrap(), polite.join().unwrap());
        println!("Greedy worker was able to execute {g} work loops");
        println!("Polite worker was able to execute {p} work loops.");
        println!(
            "Same work per loop, but the greedy one did {:.1}x as many: \
             measure the rate of work to find starvation.",
            g as f64 / p.max(1) as f64
        );
    });
}
