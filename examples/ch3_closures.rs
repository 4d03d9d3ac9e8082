//! *Concurrency in Go*, chapter 3, "Goroutines": closures close over the
//! lexical scope they are created in, and coroutines run in the same
//! address space.
//!
//! The Go originals:
//!
//! ```go
//! var wg sync.WaitGroup
//! salutation := "hello"
//! wg.Add(1)
//! go func() {
//!     defer wg.Done()
//!     salutation = "welcome"
//! }()
//! wg.Wait()
//! fmt.Println(salutation) // welcome
//!
//! for _, salutation := range []string{"hello", "greetings", "good day"} {
//!     wg.Add(1)
//!     go func() {
//!         defer wg.Done()
//!         fmt.Println(salutation) // before Go 1.22: "good day" three times
//!     }()
//! }
//! wg.Wait()
//! ```
//!
//! In Rust a coroutine's closure must be `'static` and `Send`: it cannot
//! borrow a local that might die first. To *share* a variable, as the first
//! Go program does, put it behind `Arc<Mutex<_>>`; the change is seen
//! after the join point. For the loop, `move` gives each coroutine its own
//! copy of the loop variable, so the book's pre-1.22 surprise ("good day"
//! three times) cannot happen; the program reproduces it on purpose with
//! one shared variable to show what went wrong.

use std::sync::Arc;

use goro::sync::{Mutex, WaitGroup};

fn main() {
    goro::run(|| {
        let wg = WaitGroup::new();
        let salutation = Arc::new(Mutex::new(String::from("hello")));
        let s = salutation.clone();
        wg.go(move || *s.lock() = "welcome".into());
        wg.wait();
        println!(
            "shared and modified by the coroutine: {}",
            salutation.lock()
        );

        println!("each coroutine moves its own copy of the loop variable:");
        let mut handles = Vec::new();
        for salutation in ["hello", "greetings", "good day"] {
            handles.push(goro::go!(move || println!("  {salutation}")));
        }
        for h in handles {
            h.join().unwrap();
        }

        println!("one variable shared by all (Go before 1.22), read after the loop ran:");
        let shared = Arc::new(Mutex::new(""));
        let start = WaitGroup::new();
        start.add(1);
        let wg = WaitGroup::new();
        for salutation in ["hello", "greetings", "good day"] {
            *shared.lock() = salutation; // the loop writes the one variable
            let (shared, start) = (shared.clone(), start.clone());
            wg.go(move || {
                start.wait(); // the goroutines start after the loop is done
                println!("  {}", shared.lock());
            });
        }
        start.done();
        wg.wait();
    });
}
