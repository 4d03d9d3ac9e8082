//! *Concurrency in Go*: the for-select loop (chapter 3) driven by a
//! ticker, with a `done` channel to stop the worker and a `time.After`
//! timeout on the consumer — the shape of the book's heartbeat example
//! (chapter 5), with seconds scaled down to milliseconds.
//!
//! In Go:
//!
//! ```go
//! doWork := func(done <-chan interface{}, pulseInterval time.Duration) (<-chan interface{}, <-chan time.Time) {
//!     heartbeat := make(chan interface{})
//!     results := make(chan time.Time)
//!     go func() {
//!         defer close(heartbeat)
//!         defer close(results)
//!         pulse := time.NewTicker(pulseInterval)
//!         defer pulse.Stop()
//!         workGen := time.Tick(2 * pulseInterval)
//!         for {
//!             select {
//!             case <-done:
//!                 return
//!             case <-pulse.C:
//!                 select { // a pulse nobody listens to is dropped
//!                 case heartbeat <- struct{}{}:
//!                 default:
//!                 }
//!             case r := <-workGen:
//!                 select {
//!                 case <-done:
//!                     return
//!                 case results <- r:
//!                 }
//!             }
//!         }
//!     }()
//!     return heartbeat, results
//! }
//!
//! done := make(chan interface{})
//! time.AfterFunc(100*time.Millisecond, func() { close(done) })
//! const timeout = 20 * time.Millisecond
//! heartbeat, results := doWork(done, timeout/2)
//! for {
//!     select {
//!     case _, ok := <-heartbeat:
//!         if !ok { return }
//!         fmt.Println("pulse")
//!     case r, ok := <-results:
//!         if !ok { return }
//!         fmt.Printf("results %v\n", r)
//!     case <-time.After(timeout):
//!         fmt.Println("worker is unhealthy")
//!         return
//!     }
//! }
//! ```
//!
//! Closing a goro channel is `close()` on a sender (or dropping the last
//! one); Go's `_, ok := <-c` is a `recv` arm whose value is an `Option`.
//! The `Ticker` is stopped when dropped (Go needs the `defer pulse.Stop()`),
//! and `time::tick` stops once its receiver is gone.

use std::time::{Duration, Instant};

use goro::chan::{Receiver, chan};
use goro::select;
use goro::time::{self, Ticker};

/// The worker: pulses every `pulse_interval`, produces a result every two
/// intervals, stops when `done` is closed.
fn do_work(done: Receiver<()>, pulse_interval: Duration) -> (Receiver<()>, Receiver<Instant>) {
    let (heartbeat_tx, heartbeat) = chan::<()>(0);
    let (results_tx, results) = chan::<Instant>(0);
    goro::go!(move || {
        let pulse = Ticker::new(pulse_interval);
        let work_gen = time::tick(2 * pulse_interval);
        loop {
            select! {
                recv(done) -> _ => return,
                recv(pulse.c()) -> _ => {
                    // A pulse nobody listens to is dropped.
                    select! {
                        send(heartbeat_tx, ()) -> _ => {},
                        default => {},
                    }
                },
                recv(work_gen) -> r => {
                    let r = r.expect("tick channels stay open");
                    select! {
                        recv(done) -> _ => return,
                        send(results_tx, r) -> _ => {},
                    }
                },
            }
        }
        // Returning drops heartbeat_tx and results_tx: both close.
    });
    (heartbeat, results)
}

fn main() {
    let (pulses, results) = goro::run(|| {
        let start = Instant::now();
        let (done_tx, done) = chan::<()>(0);
        goro::go!(move || {
            time::sleep(Duration::from_millis(100));
            done_tx.close();
        });
        const TIMEOUT: Duration = Duration::from_millis(20);
        let (heartbeat, results) = do_work(done, TIMEOUT / 2);
        let (mut pulses, mut got) = (0, 0);
        loop {
            select! {
                recv(heartbeat) -> h => {
                    if h.is_none() {
                        break;
                    }
                    pulses += 1;
                    println!("pulse");
                },
                recv(results) -> r => {
                    let Some(r) = r else { break };
                    got += 1;
                    println!("results {:?}", r - start);
                },
                recv(time::after(TIMEOUT)) -> _ => {
                    println!("worker is unhealthy");
                    break;
                },
            }
        }
        (pulses, got)
    });
    println!("{pulses} pulses and {results} results before done was closed");
    assert!(pulses >= 1, "the ticker drives the loop");
}
