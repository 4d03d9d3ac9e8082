//! *Concurrency in Go*, chapter 3, "Mutex and RWMutex": one producer that
//! keeps taking the write lock against a growing number of observers that
//! take either the read lock (`RWMutex`) or the exclusive lock (`Mutex`).
//!
//! The Go original:
//!
//! ```go
//! producer := func(wg *sync.WaitGroup, l sync.Locker) {
//!     defer wg.Done()
//!     for i := 5; i > 0; i-- {
//!         l.Lock()
//!         l.Unlock()
//!         time.Sleep(1)
//!     }
//! }
//! observer := func(wg *sync.WaitGroup, l sync.Locker) {
//!     defer wg.Done()
//!     l.Lock()
//!     defer l.Unlock()
//! }
//! test := func(count int, mutex, rwMutex sync.Locker) time.Duration {
//!     var wg sync.WaitGroup
//!     wg.Add(count + 1)
//!     beginTestTime := time.Now()
//!     go producer(&wg, mutex)
//!     for i := count; i > 0; i-- {
//!         go observer(&wg, rwMutex)
//!     }
//!     wg.Wait()
//!     return time.Since(beginTestTime)
//! }
//!
//! tw := tabwriter.NewWriter(os.Stdout, 0, 1, 2, ' ', 0)
//! defer tw.Flush()
//! var m sync.RWMutex
//! fmt.Fprintf(tw, "Readers\tRWMutext\tMutex\n")
//! for i := 0; i < 20; i++ {
//!     count := int(math.Pow(2, float64(i)))
//!     fmt.Fprintf(tw, "%d\t%v\t%v\n", count,
//!         test(count, &m, m.RLocker()), test(count, &m, &m))
//! }
//! ```
//!
//! Go's `sync.Locker` interface (and `RLocker`) becomes a small enum here:
//! goro's locks hand out guards instead. The table stops at 2^17 readers
//! to keep the run short; pass a larger exponent as the first argument.

use std::sync::Arc;
use std::time::{Duration, Instant};

use goro::sync::{RwMutex, WaitGroup};

#[derive(Clone, Copy)]
enum Locker {
    Read,
    Write,
}

fn hold(m: &RwMutex<()>, how: Locker) {
    match how {
        Locker::Read => drop(m.read()),
        Locker::Write => drop(m.write()),
    }
}

fn test(count: usize, m: &Arc<RwMutex<()>>, observers: Locker) -> Duration {
    let wg = WaitGroup::new();
    let begin = Instant::now();
    let producer = m.clone();
    wg.go(move || {
        for _ in 0..5 {
            hold(&producer, Locker::Write);
            goro::time::sleep(Duration::from_nanos(1));
        }
    });
    for _ in 0..count {
        let m = m.clone();
        wg.go(move || hold(&m, observers));
    }
    wg.wait();
    begin.elapsed()
}

fn main() {
    let max: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(17);
    goro::run(move || {
        let m = Arc::new(RwMutex::new(()));
        println!("{:<8}  {:>12}  {:>12}", "Readers", "RWMutex", "Mutex");
        for i in 0..=max {
            let count = 1usize << i;
            let rw = test(count, &m, Locker::Read);
            let ex = test(count, &m, Locker::Write);
            println!("{count:<8}  {rw:>12.1?}  {ex:>12.1?}");
        }
    });
}
