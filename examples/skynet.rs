//! Skynet: a tree of a million coroutines summing their leaf numbers over
//! unbuffered channels.
//!
//! The classic Go micro-benchmark (github.com/atemerev/skynet): the root
//! spawns 10 children, each of which spawns 10 more, six levels deep; each of
//! the 1,000,000 leaves sends its own number back to its parent over an
//! unbuffered channel and every inner node sends the sum of its ten children
//! to its own parent. The answer is 0 + 1 + ... + 999,999 = 499,999,500,000.
//!
//! In Go:
//!
//! ```go
//! func skynet(c chan int, num, size, div int) {
//!     if size == 1 { c <- num; return }
//!     rc := make(chan int)
//!     for i := 0; i < div; i++ {
//!         go skynet(rc, num+i*size/div, size/div, div)
//!     }
//!     sum := 0
//!     for i := 0; i < div; i++ { sum += <-rc }
//!     c <- sum
//! }
//! ```
//!
//! ```text
//! cargo run --release --example skynet [-- LEAVES]
//! ```
//!
//! `examples/bench` has the same workload in the form compared with Go.

use std::time::Instant;

use goro::chan::{Sender, chan};

/// Sends the sum of the leaf numbers `num .. num + size` on `out`.
fn node(out: Sender<u64>, num: u64, size: u64, div: u64) {
    if size == 1 {
        out.send(num).expect("the parent is listening");
        return;
    }
    let (tx, rx) = chan::<u64>(0);
    let step = size / div;
    for i in 0..div {
        let tx = tx.clone();
        goro::go!(move || node(tx, num + i * step, step, div));
    }
    drop(tx);
    // Each child sends exactly once, then its sender drops: when all ten
    // are done the channel is closed and the loop ends.
    let sum: u64 = rx.iter().sum();
    out.send(sum).expect("the parent is listening");
}

fn main() {
    let leaves: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().expect("LEAVES: a power of 10"));
    let (sum, took) = goro::run(move || {
        let start = Instant::now();
        let (tx, rx) = chan::<u64>(0);
        goro::go!(move || node(tx, 0, leaves, 10));
        let sum = rx.recv().expect("the root sends its sum");
        (sum, start.elapsed())
    });
    println!(
        "Result: {sum} in {:.1} ms ({} coroutines)",
        took.as_secs_f64() * 1e3,
        leaves * 10 / 9
    );
    assert_eq!(sum, leaves * (leaves - 1) / 2, "wrong sum");
}
