//! *Concurrency in Go*, chapter 3, "Mutex and RWMutex": a counter that
//! some goroutines increment and others decrement, guarded by a mutex.
//!
//! The Go original:
//!
//! ```go
//! var count int
//! var lock sync.Mutex
//!
//! increment := func() {
//!     lock.Lock()
//!     defer lock.Unlock()
//!     count++
//!     fmt.Printf("Incrementing: %d\n", count)
//! }
//! decrement := func() {
//!     lock.Lock()
//!     defer lock.Unlock()
//!     count--
//!     fmt.Printf("Decrementing: %d\n", count)
//! }
//!
//! var arithmetic sync.WaitGroup
//! for i := 0; i <= 5; i++ {
//!     arithmetic.Add(1)
//!     go func() { defer arithmetic.Done(); increment() }()
//! }
//! for i := 0; i <= 5; i++ {
//!     arithmetic.Add(1)
//!     go func() { defer arithmetic.Done(); decrement() }()
//! }
//! arithmetic.Wait()
//! fmt.Println("Arithmetic complete.")
//! ```
//!
//! In goro the mutex owns the count (`Mutex<i64>`), so the count cannot be
//! touched without the lock; the guard's drop is Go's deferred `Unlock`,
//! and it also runs if the critical section panics. Then the same counter
//! under real contention: 1000 coroutines × 1000 increments
//! (`cargo run --release --example sync_mutex`).

use std::time::Instant;

use goro::sync::{Mutex, WaitGroup};

static COUNT: Mutex<i64> = Mutex::new(0);

fn increment() {
    let mut count = COUNT.lock();
    *count += 1;
    println!("Incrementing: {}", *count);
}

fn decrement() {
    let mut count = COUNT.lock();
    *count -= 1;
    println!("Decrementing: {}", *count);
}

fn main() {
    goro::run(|| {
        let arithmetic = WaitGroup::new();
        for _ in 0..=5 {
            arithmetic.go(increment);
        }
        for _ in 0..=5 {
            arithmetic.go(decrement);
        }
        arithmetic.wait();
        println!("Arithmetic complete.");
        assert_eq!(*COUNT.lock(), 0);

        // Contention: 1000 coroutines take the lock 1000 times each.
        let counter: &'static Mutex<u64> = Box::leak(Box::new(Mutex::new(0)));
        let wg = WaitGroup::new();
        let t = Instant::now();
        for _ in 0..1000 {
            wg.go(move || {
                for _ in 0..1000 {
                    *counter.lock() += 1;
                }
            });
        }
        wg.wait();
        let d = t.elapsed();
        println!(
            "1000 coroutines x 1000 lock/unlock: count {} in {:.1} ms ({:.1} ns per lock/unlock, GOMAXPROCS={})",
            *counter.lock(),
            d.as_secs_f64() * 1e3,
            d.as_nanos() as f64 / 1e6,
            goro::maxprocs()
        );
    });
}
