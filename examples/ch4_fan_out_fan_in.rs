//! *Concurrency in Go*, chapter 4, "Fan-Out, Fan-In": the prime finder.
//! A slow, order-independent stage (a deliberately naive primality test)
//! is started once per worker on the same input stream (fan-out) and the
//! workers' outputs are merged (fan-in).
//!
//! The Go original (abridged):
//!
//! ```go
//! rand := func() interface{} { return rand.Intn(50000000) }
//! done := make(chan interface{})
//! defer close(done)
//! randIntStream := toInt(done, repeatFn(done, rand))
//!
//! numFinders := runtime.NumCPU()
//! fmt.Printf("Spinning up %d prime finders.\n", numFinders)
//! finders := make([]<-chan interface{}, numFinders)
//! for i := 0; i < numFinders; i++ {
//!     finders[i] = primeFinder(done, randIntStream)
//! }
//! for prime := range take(done, fanIn(done, finders...), 10) {
//!     fmt.Printf("\t%d\n", prime)
//! }
//! fmt.Printf("Search took: %v", time.Since(start))
//! ```
//!
//! `prime_finder` is written out as in the book (it filters, so it is not
//! the map-shaped `goro::pattern::fan_out`); `goro::pattern::fan_in` merges.
//! The search runs once with one finder and once with GOMAXPROCS finders.
//! Numbers go up to 2,000,000 (not 50,000,000) so a debug build is quick.

use std::time::Instant;

use goro::chan::{Receiver, chan};
use goro::pattern::{fan_in, repeat_fn, take};
use goro::select;

fn is_prime_naive(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut divisor = n - 1;
    while divisor > 1 {
        if n % divisor == 0 {
            return false;
        }
        divisor -= 1;
    }
    true
}

/// Passes on the primes of `ints`, found the slow way.
fn prime_finder(done: &Receiver<()>, ints: Receiver<u64>) -> Receiver<u64> {
    let done = done.clone();
    let (tx, primes) = chan(0);
    goro::go!(move || {
        loop {
            let n = select! {
                recv(done) -> _ => return,
                recv(ints) -> n => match n { Some(n) => n, None => return },
            };
            if is_prime_naive(n) {
                select! {
                    recv(done) -> _ => return,
                    send(tx, n) -> r => if r.is_err() { return },
                }
            }
        }
    });
    primes
}

fn rand_ints(done: &Receiver<()>) -> Receiver<u64> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    repeat_fn(done, move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % 2_000_000
    })
}

fn search(finders: usize) -> Vec<u64> {
    let (_stop, done) = chan::<()>(0); // closed on return: every stage ends
    let start = Instant::now();
    let rand_int_stream = rand_ints(&done);
    println!("Spinning up {finders} prime finder(s).");
    let outs: Vec<_> = (0..finders)
        .map(|_| prime_finder(&done, rand_int_stream.clone()))
        .collect();
    println!("Primes:");
    let primes: Vec<u64> = take(&done, fan_in(&done, outs), 10)
        .iter()
        .inspect(|p| println!("\t{p}"))
        .collect();
    println!("Search took: {:?}", start.elapsed());
    primes
}

fn main() {
    goro::run(|| {
        let serial = search(1);
        let fanned = search(goro::maxprocs());
        assert_eq!(serial.len(), 10);
        assert_eq!(fanned.len(), 10);
        assert!(serial.iter().chain(&fanned).all(|&p| is_prime_naive(p)));
    });
}
