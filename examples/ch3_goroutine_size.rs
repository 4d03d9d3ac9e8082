//! *Concurrency in Go*, chapter 3, "Goroutines": how much memory does one
//! goroutine cost? The book parks many goroutines that never exit and
//! divides the growth in memory by their number:
//!
//! ```go
//! memConsumed := func() uint64 {
//!     runtime.GC()
//!     var s runtime.MemStats
//!     runtime.ReadMemStats(&s)
//!     return s.Sys
//! }
//! var c <-chan interface{}
//! var wg sync.WaitGroup
//! noop := func() { wg.Done(); <-c }
//! const numGoroutines = 1e4
//! wg.Add(numGoroutines)
//! before := memConsumed()
//! for i := numGoroutines; i > 0; i-- {
//!     go noop()
//! }
//! wg.Wait()
//! after := memConsumed()
//! fmt.Printf("%.3fkb", float64(after-before)/numGoroutines/1000)
//! ```
//!
//! goro has no garbage collector to ask; the process's resident memory
//! (`/proc/self/statm`) is the honest measure. Each coroutine reserves a
//! fixed stack of address space (128 KiB by default, 256 KiB in debug
//! builds) but only the pages it touches become resident, so the resident
//! cost is a few KiB. The parked coroutines are released at the end by
//! closing their channel.

use std::time::Instant;

use goro::chan::chan;
use goro::sync::WaitGroup;

const N: usize = 10_000;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    pages * page
}

fn main() {
    goro::run(|| {
        // Warm up: the first spawns also map the scheduler's structures.
        let wg = WaitGroup::new();
        for _ in 0..100 {
            wg.go(|| {});
        }
        wg.wait();

        let (close_tx, c) = chan::<()>(0);
        let started = WaitGroup::new();
        let before = resident_bytes();
        let t = Instant::now();
        for _ in 0..N {
            let (c, started) = (c.clone(), started.clone());
            started.add(1);
            goro::go!(move || {
                started.done();
                c.recv(); // <-c: parked until the channel closes
            });
        }
        started.wait();
        let spawn_time = t.elapsed();
        let after = resident_bytes();
        println!(
            "{N} parked coroutines: {:.3} KiB resident each ({} MiB in all), spawned in {spawn_time:?}",
            (after.saturating_sub(before)) as f64 / N as f64 / 1024.0,
            (after.saturating_sub(before)) >> 20,
        );
        println!("live coroutines: {}", goro::num_goroutine());
        close_tx.close(); // let them all finish
    });
}
