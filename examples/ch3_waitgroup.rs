//! *Concurrency in Go*, chapter 3, "WaitGroup": wait for a set of
//! concurrent operations when you do not care about their results (or
//! collect them another way).
//!
//! The Go original:
//!
//! ```go
//! hello := func(wg *sync.WaitGroup, id int) {
//!     defer wg.Done()
//!     fmt.Printf("Hello from %v!\n", id)
//! }
//! const numGreeters = 5
//! var wg sync.WaitGroup
//! wg.Add(numGreeters)
//! for i := 0; i < numGreeters; i++ {
//!     go hello(&wg, i+1)
//! }
//! wg.Wait()
//! ```
//!
//! As the book stresses, `Add` happens before the `go`, outside the
//! coroutine: added inside, `Wait` could run first and return at once.
//! `wg.go(f)` (Go 1.25's `wg.Go`) does the `Add(1)`, the spawn and the
//! deferred `Done` in one call, so the mistake cannot be made.

use goro::sync::WaitGroup;

fn main() {
    goro::run(|| {
        const GREETERS: usize = 5;
        let wg = WaitGroup::new();
        wg.add(GREETERS as isize);
        for i in 0..GREETERS {
            let wg = wg.clone();
            goro::go!(move || {
                println!("Hello from {}!", i + 1);
                wg.done();
            });
        }
        wg.wait();

        let wg = WaitGroup::new();
        for i in 0..GREETERS {
            wg.go(move || println!("Hello again from {}!", i + 1));
        }
        wg.wait();
        println!("All {} greeters are done.", 2 * GREETERS);
    });
}
