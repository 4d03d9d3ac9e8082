//! *Concurrency in Go*, chapter 3, "Once": a hundred goroutines call
//! `once.Do(increment)`; the count ends at one. And `Once` counts calls to
//! `Do`, not unique functions.
//!
//! The Go originals:
//!
//! ```go
//! var count int
//! increment := func() { count++ }
//! var once sync.Once
//! var increments sync.WaitGroup
//! increments.Add(100)
//! for i := 0; i < 100; i++ {
//!     go func() {
//!         defer increments.Done()
//!         once.Do(increment)
//!     }()
//! }
//! increments.Wait()
//! fmt.Printf("Count is %d\n", count)
//! ```
//!
//! ```go
//! var count int
//! increment := func() { count++ }
//! decrement := func() { count-- }
//! var once sync.Once
//! once.Do(increment)
//! once.Do(decrement)
//! fmt.Printf("Count: %d\n", count)
//! ```
//!
//! Plus the lazy-value form (Go's `sync.OnceValue`): `OnceCell`, whose
//! initialiser runs once however many coroutines ask at the same time;
//! the ones that arrive while it runs park until it is done.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use goro::sync::{Once, OnceCell, WaitGroup};

static COUNT: AtomicI64 = AtomicI64::new(0);

fn increment() {
    COUNT.fetch_add(1, Ordering::Relaxed);
}

fn decrement() {
    COUNT.fetch_sub(1, Ordering::Relaxed);
}

/// An expensive configuration, loaded on first use.
static CONFIG: OnceCell<String> = OnceCell::new();

fn config() -> &'static str {
    CONFIG.get_or_init(|| {
        println!("Loading configuration (once).");
        goro::time::sleep(Duration::from_millis(20)); // the others park meanwhile
        "max_connections=10".to_string()
    })
}

fn main() {
    goro::run(|| {
        let once = Once::new();
        let once: &'static Once = Box::leak(Box::new(once));
        let increments = WaitGroup::new();
        for _ in 0..100 {
            increments.go(move || once.call_once(increment));
        }
        increments.wait();
        println!("Count is {}", COUNT.load(Ordering::Relaxed));

        COUNT.store(0, Ordering::Relaxed);
        let once = Once::new();
        once.call_once(increment);
        once.call_once(decrement);
        println!("Count: {}", COUNT.load(Ordering::Relaxed));

        let readers = WaitGroup::new();
        for _ in 0..10 {
            readers.go(|| assert_eq!(config(), "max_connections=10"));
        }
        readers.wait();
        println!("Config: {}", config());
    });
}
