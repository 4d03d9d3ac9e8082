//! *Concurrency in Go*, chapter 1, "Race Conditions": two operations that
//! must run in a certain order, in a program that does not make sure they
//! do.
//!
//! The Go original:
//!
//! ```go
//! var data int
//! go func() {
//!     data++
//! }()
//! if data == 0 {
//!     fmt.Printf("the value is %v.\n", data)
//! }
//! ```
//!
//! Three outcomes are possible: nothing is printed (the increment ran
//! before the check), "the value is 0." (both the check and the print ran
//! first), or "the value is 1." (the increment slipped in between the check
//! and the print). In Go the program also has a *data race*; safe Rust does
//! not compile one, so `data` is an atomic here: every access is defined,
//! yet the *race condition* — the order of the operations — is exactly the
//! book's. The program runs the scenario many times, with a random amount
//! of busy work standing for the rest of the program, and counts the
//! outcomes (the spawned coroutine runs in parallel on another worker).

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

/// Busy work of `n` steps (no blocking, so no scheduling point).
fn spin(n: usize) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}

fn main() {
    goro::run(|| {
        let (mut nothing, mut zero, mut one) = (0, 0, 0);
        for _ in 0..2_000 {
            let data = Arc::new(AtomicI32::new(0));
            let d = data.clone();
            let h = goro::go!(move || {
                d.fetch_add(1, Ordering::SeqCst);
            });
            spin(fastrand::usize(..3_000)); // the main coroutine's other work
            if data.load(Ordering::SeqCst) == 0 {
                spin(fastrand::usize(..3_000)); // formatting the message
                match data.load(Ordering::SeqCst) {
                    0 => zero += 1,
                    _ => one += 1,
                }
            } else {
                nothing += 1;
            }
            h.join().unwrap();
        }
        println!(
            "2000 runs of the book's race condition on {} worker threads:",
            goro::maxprocs()
        );
        println!("  nothing printed (increment ran first):     {nothing}");
        println!("  \"the value is 0.\" (check and print first): {zero}");
        println!("  \"the value is 1.\" (increment in between):  {one}");
        println!("The order of the operations is not guaranteed: that is the race condition.");
        println!("(With GOMAXPROCS=1 nothing runs in parallel and no coroutine is preempted,");
        println!(" so the main coroutine always wins: the race is still there, just hidden.)");
    });
}
