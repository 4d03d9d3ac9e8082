//! *Concurrency in Go*, chapter 3, "Goroutines": how much does switching
//! between goroutines cost? The book's benchmark passes a message back and
//! forth over an unbuffered channel between two goroutines pinned to one
//! thread (`taskset -c 0`):
//!
//! ```go
//! func BenchmarkContextSwitch(b *testing.B) {
//!     var wg sync.WaitGroup
//!     begin := make(chan struct{})
//!     c := make(chan struct{})
//!     var token struct{}
//!     sender := func() {
//!         defer wg.Done()
//!         <-begin
//!         for i := 0; i < b.N; i++ {
//!             c <- token
//!         }
//!     }
//!     receiver := func() {
//!         defer wg.Done()
//!         <-begin
//!         for i := 0; i < b.N; i++ {
//!             <-c
//!         }
//!     }
//!     wg.Add(2)
//!     go sender()
//!     go receiver()
//!     b.StartTimer()
//!     close(begin)
//!     wg.Wait()
//! }
//! ```
//!
//! Go reports nanoseconds per message (two switches each). This program
//! does the same with `GOMAXPROCS=1` (every send and receive hands over
//! the one worker thread), and compares two OS threads doing the same over
//! a `std::sync::mpsc::sync_channel(0)`. Build with `--release` for real
//! numbers.

use std::time::{Duration, Instant};

use goro::chan::chan;
use goro::sync::WaitGroup;

const N: u32 = 50_000;

fn coroutines() -> Duration {
    goro::run(|| {
        let before = goro::set_maxprocs(1).unwrap();
        let (begin_tx, begin) = chan::<()>(0);
        let (tx, rx) = chan::<()>(0);
        let wg = WaitGroup::new();
        let b = begin.clone();
        wg.go(move || {
            b.recv();
            for _ in 0..N {
                tx.send(()).unwrap();
            }
        });
        wg.go(move || {
            begin.recv();
            for _ in 0..N {
                rx.recv().unwrap();
            }
        });
        goro::yield_now(); // let both reach `begin`
        let start = Instant::now();
        begin_tx.close();
        wg.wait();
        let d = start.elapsed();
        goro::set_maxprocs(before).unwrap();
        d
    })
}

fn threads() -> Duration {
    let (tx, rx) = std::sync::mpsc::sync_channel::<()>(0);
    let start = Instant::now();
    let t = std::thread::spawn(move || {
        for _ in 0..N {
            tx.send(()).unwrap();
        }
    });
    for _ in 0..N {
        rx.recv().unwrap();
    }
    t.join().unwrap();
    start.elapsed()
}

fn main() {
    let c = coroutines();
    let t = threads();
    let per = |d: Duration| d.as_nanos() as f64 / N as f64;
    println!(
        "{N} messages between two coroutines on one worker: {:.0} ns each",
        per(c)
    );
    println!(
        "{N} messages between two OS threads:               {:.0} ns each",
        per(t)
    );
}
