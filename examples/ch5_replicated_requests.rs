//! *Concurrency in Go*, chapter 5, "Replicated Requests": send the same
//! request to ten handlers, take the first answer, cancel the rest.
//!
//! The Go original (abridged):
//!
//! ```go
//! doWork := func(done <-chan interface{}, id int, wg *sync.WaitGroup, result chan<- int) {
//!     started := time.Now()
//!     defer wg.Done()
//!     // Simulate random load
//!     simulatedLoadTime := time.Duration(1+rand.Intn(5)) * time.Second
//!     select {
//!     case <-done:
//!     case <-time.After(simulatedLoadTime):
//!     }
//!     select {
//!     case <-done:
//!     case result <- id:
//!     }
//!     took := time.Since(started)
//!     // Display how long handlers would have taken
//!     if took < simulatedLoadTime {
//!         took = simulatedLoadTime
//!     }
//!     fmt.Printf("%v took %v\n", id, took)
//! }
//! done := make(chan interface{})
//! result := make(chan int)
//! var wg sync.WaitGroup
//! wg.Add(10)
//! for i := 0; i < 10; i++ {
//!     go doWork(done, i, &wg, result)
//! }
//! firstReturned := <-result
//! close(done)
//! wg.Wait()
//! fmt.Printf("Received an answer from #%v\n", firstReturned)
//! ```
//!
//! `goro::resilience::replicate` is that whole program as a function: each
//! replica gets a context that is cancelled once an answer is in, and the
//! call returns after every replica has returned. A second is 20 ms here.

use std::time::{Duration, Instant};

use goro::context;
use goro::resilience::replicate;
use goro::select;

fn main() {
    goro::run(|| {
        let start = Instant::now();
        let (first, took) = replicate(&context::background(), 10, |ctx, id| {
            let started = Instant::now();
            // Simulate random load: 1 to 5 "seconds".
            let load = Duration::from_millis(20 * (1 + fastrand::u64(0..5)));
            let answered = select! {
                recv(ctx.done()) -> _ => false,
                recv(goro::time::after(load)) -> _ => true,
            };
            // Display how long handlers would have taken.
            println!("{id} took {:?}", started.elapsed().max(load));
            if answered {
                Ok(started.elapsed())
            } else {
                Err(id)
            }
        })
        .expect("one replica answers");
        println!("Received an answer from #{first} after {took:?}");
        println!("(all 10 replicas ended within {:?})", start.elapsed());
    });
}
