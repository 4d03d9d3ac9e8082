//! *Concurrency in Go*, chapter 3, "Goroutines": Go follows the fork-join
//! model. `go` forks; a join point makes the parent wait for the child.
//!
//! The Go original:
//!
//! ```go
//! sayHello := func() {
//!     fmt.Println("hello")
//! }
//! go sayHello()
//! // continue doing other things
//! ```
//!
//! and with a join point:
//!
//! ```go
//! var wg sync.WaitGroup
//! sayHello := func() {
//!     defer wg.Done()
//!     fmt.Println("hello")
//! }
//! wg.Add(1)
//! go sayHello()
//! wg.Wait()
//! ```
//!
//! Without a join point the main coroutine may finish before `say_hello`
//! is ever scheduled, so "hello" may not print at all; the program shows
//! that (on one worker thread it never does, as nothing runs until the
//! main coroutine blocks). With a `WaitGroup`, or simply the coroutine's
//! `JoinHandle`, the join point guarantees it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use goro::sync::WaitGroup;

fn main() {
    // Fork without a join: did the child run before the parent moved on?
    let ran = goro::run(|| {
        let said = Arc::new(AtomicBool::new(false));
        let s = said.clone();
        goro::go!(move || s.store(true, Ordering::SeqCst)); // go sayHello()
        said.load(Ordering::SeqCst) // "continue doing other things"
    });
    println!("without a join point, the child had run by the time the parent looked: {ran}");

    goro::run(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let done = wg.clone();
        goro::go!(move || {
            println!("hello"); // sayHello
            done.done();
        });
        wg.wait(); // the join point
        println!("joined with a WaitGroup");

        let h = goro::go!(|| "hello from a joined coroutine");
        println!("{}", h.join().unwrap()); // JoinHandle::join is a join point too
    });
}
