//! *Concurrency in Go*, chapter 1, "Livelock": two people meet in a hallway;
//! each politely steps aside to the same side as the other, again and
//! again, in lockstep. Both are busy, neither gets past.
//!
//! The Go original (abridged):
//!
//! ```go
//! cadence := sync.NewCond(&sync.Mutex{})
//! go func() {
//!     for range time.Tick(1 * time.Millisecond) {
//!         cadence.Broadcast()
//!     }
//! }()
//! takeStep := func() {
//!     cadence.L.Lock()
//!     cadence.Wait()
//!     cadence.L.Unlock()
//! }
//! tryDir := func(dirName string, dir *int32, out *bytes.Buffer) bool {
//!     fmt.Fprintf(out, " %v", dirName)
//!     atomic.AddInt32(dir, 1)
//!     takeStep()
//!     if atomic.LoadInt32(dir) == 1 {
//!         fmt.Fprint(out, ". Success!")
//!         return true
//!     }
//!     takeStep()
//!     atomic.AddInt32(dir, -1)
//!     return false
//! }
//! // walk: five times, tryLeft(&out) || tryRight(&out), then
//! // "tosses her hands up in exasperation!"
//! ```
//!
//! The cadence makes both walkers move at the same moments (a `Cond`
//! broadcast every millisecond), which is what keeps them in lockstep:
//! the two concurrent processes try to avoid a deadlock without
//! coordinating. Printed lines may differ from run to run if one walker
//! misses a beat; usually both give up.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use goro::chan::chan;
use goro::select;
use goro::sync::{Cond, Mutex, WaitGroup};

struct Hallway {
    cadence: (Mutex<()>, Cond),
    left: AtomicI32,
    right: AtomicI32,
}

impl Hallway {
    fn take_step(&self) {
        let (m, c) = &self.cadence;
        drop(c.wait(m.lock()));
    }

    fn try_dir(&self, name: &str, dir: &AtomicI32, out: &mut String) -> bool {
        out.push(' ');
        out.push_str(name);
        dir.fetch_add(1, Ordering::SeqCst);
        self.take_step();
        if dir.load(Ordering::SeqCst) == 1 {
            out.push_str(". Success!");
            return true;
        }
        self.take_step();
        dir.fetch_sub(1, Ordering::SeqCst);
        false
    }

    fn walk(&self, name: &str) -> String {
        let mut out = format!("{name} is trying to scoot:");
        for _ in 0..5 {
            if self.try_dir("left", &self.left, &mut out)
                || self.try_dir("right", &self.right, &mut out)
            {
                return out;
            }
        }
        out.push_str(&format!("\n{name} tosses her hands up in exasperation!"));
        out
    }
}

fn main() {
    goro::run(|| {
        let hall = Arc::new(Hallway {
            cadence: (Mutex::new(()), Cond::new()),
            left: AtomicI32::new(0),
            right: AtomicI32::new(0),
        });
        let (stop_tx, stop) = chan::<()>(0);
        {
            let hall = hall.clone();
            goro::go!(move || {
                let tick = goro::time::tick(Duration::from_millis(1));
                loop {
                    select! {
                        recv(tick) -> _ => hall.cadence.1.broadcast(),
                        recv(stop) -> _ => return,
                    }
                }
            });
        }
        let wg = WaitGroup::new();
        let walkers: Vec<_> = ["Alice", "Barbara"]
            .into_iter()
            .map(|name| {
                let hall = hall.clone();
                wg.go(move || hall.walk(name))
            })
            .collect();
        wg.wait();
        for w in walkers {
            println!("{}", w.join().unwrap());
        }
        stop_tx.close();
    });
}
