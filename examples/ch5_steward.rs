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
//!
//! Part 2 is the book's `doWorkFn(done, 1, 2, -1, 3, 4, 5)`: a ward that
//! streams a list of integers and dies on a negative one. The restarted
//! ward carries on with the rest of the list, so the consumer receives
//! 1, 2, 3, 4, 5. The book joins the wards' output channels with `bridge`;
//! here every ward sends on one shared channel, which needs no extra
//! stage.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use goro::chan::{Receiver, chan, never};
use goro::resilience::steward_with;
use goro::select;
use goro::sync::Mutex;
use goro::time::Ticker;

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

        println!("-- a ward that streams 1, 2, -1, 3, 4, 5 and dies on -1:");
        let (int_tx, int_stream) = chan::<i32>(0);
        let int_list = Arc::new(Mutex::new(VecDeque::from([1, 2, -1, 3, 4, 5])));
        let do_work = move |done: Receiver<()>, pulse_interval: Duration| {
            let (heartbeat_tx, heartbeat) = chan::<()>(1);
            let (int_tx, int_list) = (int_tx.clone(), int_list.clone());
            goro::go!(move || {
                let pulse = Ticker::new(pulse_interval);
                loop {
                    let Some(v) = int_list.lock().pop_front() else {
                        return;
                    };
                    if v < 0 {
                        log(&format!("negative value: {v}"));
                        return; // stops pulsing: the steward restarts us
                    }
                    loop {
                        select! {
                            recv(pulse.c()) -> _ => { let _ = heartbeat_tx.try_send(()); }
                            send(int_tx, v) -> _ => break,
                            recv(done) -> _ => return,
                        }
                    }
                }
            });
            heartbeat
        };
        let do_work_with_steward = steward_with(SECOND / 2, do_work, move |_| {
            log("steward: ward unhealthy; restarting");
        });
        let (done_tx, done) = chan::<()>(0);
        let _heartbeat = do_work_with_steward(done, Duration::from_secs(3600));
        for _ in 0..5 {
            log(&format!("Received: {}", int_stream.recv().unwrap()));
        }
        done_tx.close();
    });
}
