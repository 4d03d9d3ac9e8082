//! *Concurrency in Go*, chapter 5, "Healing Unhealthy Goroutines": a
//! steward restarts a ward that stops sending heartbeats.
//!
//! The Go original (abridged):
//!
//! ```go
//! type startGoroutineFn func(
//!     done <-chan interface{},
//!     pulseInterval time.Duration,
//! ) (heartbeat <-chan interface{})
//!
//! doWork := func(done <-chan interface{}, _ time.Duration) <-chan interface{} {
//!     log.Println("ward: Hello, I'm irresponsible!")
//!     go func() {
//!         <-done
//!         log.Println("ward: I am halting.")
//!     }()
//!     return nil
//! }
//! doWorkWithSteward := newSteward(4*time.Second, doWork)
//!
//! done := make(chan interface{})
//! time.AfterFunc(9*time.Second, func() {
//!     log.Println("main: halting steward and ward.")
//!     close(done)
//! })
//! for range doWorkWithSteward(done, 4*time.Second) {
//! }
//! log.Println("Done")
//! ```
//!
//! The irresponsible ward never pulses (its heartbeat is Go's nil channel,
//! `never()` here), so every timeout the steward reports it unhealthy,
//! closes its `done` and starts a fresh one. Closing the steward's `done`
//! halts the steward and its current ward; the steward's heartbeat then
//! closes, which ends the `for` loop. A second is 20 ms here.

use std::time::{Duration, Instant};

use goro::chan::{Receiver, chan, never};
use goro::resilience::steward_with;

const SECOND: Duration = Duration::from_millis(20);

fn main() {
    goro::run(|| {
        let start = Instant::now();
        let log = move |msg: &str| println!("{:>4} ms  {msg}", start.elapsed().as_millis());
        let do_work = move |done: Receiver<()>, _pulse: Duration| {
            log("ward: Hello, I'm irresponsible!");
            goro::go!(move || {
                done.recv();
                log("ward: I am halting.");
            });
            never()
        };
        let do_work_with_steward = steward_with(4 * SECOND, do_work, move |_| {
            log("steward: ward unhealthy; restarting");
        });

        let (done_tx, done) = chan::<()>(0);
        goro::go!(move || {
            goro::time::sleep(9 * SECOND);
            log("main: halting steward and ward.");
            done_tx.close();
        });
        for _ in do_work_with_steward(done, 4 * SECOND).iter() {}
        goro::time::sleep(SECOND / 4); // let the last ward's farewell print
        log("Done");
    });
}
