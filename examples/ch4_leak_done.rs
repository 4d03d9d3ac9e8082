//! *Concurrency in Go*, chapter 4, "Preventing Goroutine Leaks": a
//! coroutine blocked forever is never collected; a `done` channel lets the
//! parent stop it — on the reading side and on the writing side.
//!
//! The Go originals (reader side, then writer side):
//!
//! ```go
//! doWork := func(done <-chan interface{}, strings <-chan string) <-chan interface{} {
//!     terminated := make(chan interface{})
//!     go func() {
//!         defer fmt.Println("doWork exited.")
//!         defer close(terminated)
//!         for {
//!             select {
//!             case s := <-strings:
//!                 fmt.Println(s)
//!             case <-done:
//!                 return
//!             }
//!         }
//!     }()
//!     return terminated
//! }
//! done := make(chan interface{})
//! terminated := doWork(done, nil)
//! go func() {
//!     time.Sleep(1 * time.Second)
//!     fmt.Println("Canceling doWork goroutine...")
//!     close(done)
//! }()
//! <-terminated
//! fmt.Println("Done.")
//!
//! newRandStream := func(done <-chan interface{}) <-chan int {
//!     randStream := make(chan int)
//!     go func() {
//!         defer fmt.Println("newRandStream closure exited.")
//!         defer close(randStream)
//!         for {
//!             select {
//!             case randStream <- rand.Int():
//!             case <-done:
//!                 return
//!             }
//!         }
//!     }()
//!     return randStream
//! }
//! done := make(chan interface{})
//! randStream := newRandStream(done)
//! for i := 1; i <= 3; i++ {
//!     fmt.Printf("%d: %d\n", i, <-randStream)
//! }
//! close(done)
//! ```
//!
//! Go's nil `strings` channel is `never()`. `goro::num_goroutine()` shows
//! the leak and its cure. goro adds one more way out on the writer side: a
//! send fails once every receiver is dropped, so a writer that checks its
//! send result also stops when its reader simply goes away.

use std::time::Duration;

use goro::chan::{Receiver, chan, never};
use goro::select;

fn do_work(done: Receiver<()>, strings: Receiver<String>) -> Receiver<()> {
    let (terminated_tx, terminated) = chan::<()>(0);
    goro::go!(move || {
        let _close = terminated_tx; // dropped on return: close(terminated)
        loop {
            select! {
                recv(strings) -> s => println!("{}", s.unwrap_or_default()),
                recv(done) -> _ => break,
            }
        }
        println!("doWork exited.");
    });
    terminated
}

fn new_rand_stream(done: Receiver<()>) -> Receiver<u64> {
    let (tx, rand_stream) = chan(0);
    goro::go!(move || {
        let mut x = 0x9e37_79b9_7f4a_7c15u64; // xorshift: a stand-in for rand.Int
        loop {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            select! {
                send(tx, x) -> r => if r.is_err() { break },
                recv(done) -> _ => break,
            }
        }
        println!("newRandStream closure exited.");
    });
    rand_stream
}

/// Waits (parking) until at most `n` coroutines exist, or 5 s pass.
fn settle(n: usize) -> usize {
    for _ in 0..5000 {
        if goro::num_goroutine() <= n {
            break;
        }
        goro::time::sleep(Duration::from_millis(1));
    }
    goro::num_goroutine()
}

fn main() {
    goro::run(|| {
        let base = goro::num_goroutine();

        println!("-- the leak: a reader of a nil channel with no way out");
        let (never_closed, done) = chan::<()>(0);
        let leaked_terminated = do_work(done, never());
        goro::time::sleep(Duration::from_millis(5));
        let leaked = goro::num_goroutine() - base;
        println!("coroutines blocked forever: {leaked}");
        assert_eq!(leaked, 1);

        println!("-- reader side: close done to stop it");
        let base = goro::num_goroutine();
        let (stop, done) = chan::<()>(0);
        let terminated = do_work(done, never());
        goro::go!(move || {
            goro::time::sleep(Duration::from_millis(10));
            println!("Canceling doWork goroutine...");
            drop(stop); // close(done)
        });
        assert_eq!(terminated.recv(), None);
        println!("Done.");
        assert_eq!(settle(base), base);

        println!("-- writer side: close done to stop it");
        let (stop, done) = chan::<()>(0);
        let rand_stream = new_rand_stream(done);
        println!("3 random ints:");
        for i in 1..=3 {
            println!("{i}: {}", rand_stream.recv().unwrap());
        }
        drop(stop);
        assert_eq!(settle(base), base);

        println!("-- writer side, goro only: drop the reader instead");
        let (_keep, done) = chan::<()>(0);
        let rand_stream = new_rand_stream(done);
        println!("1: {}", rand_stream.recv().unwrap());
        drop(rand_stream);
        assert_eq!(settle(base), base);
        println!("no coroutine left behind");

        println!("-- and the first one: only its done channel can free it");
        drop(never_closed);
        assert_eq!(leaked_terminated.recv(), None);
    });
}
