//! *Concurrency in Go*, chapter 1, "Memory Access Synchronization": a mutex
//! around each critical section removes the data race but not the race
//! condition.
//!
//! The Go original:
//!
//! ```go
//! var memoryAccess sync.Mutex
//! var value int
//! go func() {
//!     memoryAccess.Lock()
//!     value++
//!     memoryAccess.Unlock()
//! }()
//!
//! memoryAccess.Lock()
//! if value == 0 {
//!     fmt.Printf("the value is %v.\n", value)
//! } else {
//!     fmt.Printf("the value is %v.\n", value)
//! }
//! memoryAccess.Unlock()
//! ```
//!
//! In goro the mutex *owns* the value (`Mutex<i32>`): there is no way to
//! touch it without the lock. Run many times, both outcomes still appear:
//! the order of the two critical sections is not fixed, which is the
//! book's point. Every lock also costs something, so the program times
//! the locked and unlocked versions of a loop.

use std::sync::Arc;
use std::time::Instant;

use goro::sync::Mutex;

fn main() {
    goro::run(|| {
        let (mut saw0, mut saw1) = (0, 0);
        for _ in 0..2_000 {
            let value = Arc::new(Mutex::new(0));
            let v = value.clone();
            let h = goro::go!(move || {
                *v.lock() += 1;
            });
            goro::yield_now(); // sometimes the increment runs first
            match *value.lock() {
                0 => saw0 += 1,
                _ => saw1 += 1,
            }
            h.join().unwrap();
        }
        println!("2000 runs: \"the value is 0.\" {saw0} times, \"the value is 1.\" {saw1} times");
        println!("No data race any more, but the order is still not guaranteed.");

        let n = 1_000_000u64;
        let start = Instant::now();
        let mut plain = 0u64;
        for i in 0..n {
            plain = std::hint::black_box(plain + i);
        }
        let t_plain = start.elapsed();
        let locked = Mutex::new(0u64);
        let start = Instant::now();
        for i in 0..n {
            *locked.lock() += i;
        }
        let t_locked = start.elapsed();
        assert_eq!(*locked.lock(), plain);
        println!(
            "{n} additions: {t_plain:?} plain, {t_locked:?} each under an uncontended lock: \
             locking has a cost, so keep critical sections where they are needed"
        );
    });
}
