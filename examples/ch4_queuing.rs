//! *Concurrency in Go*, chapter 4, "Queuing": a buffer between two stages
//! lets the fast stage finish its work early; it does not make the
//! pipeline as a whole faster (it is as fast as its slowest stage).
//!
//! The Go original (abridged):
//!
//! ```go
//! done := make(chan interface{})
//! defer close(done)
//! zeros := take(done, 3, repeat(done, 0))
//! short := sleep(done, 1*time.Second, zeros)
//! buffer := buffer(done, 2, short) // Buffers sends from short by 2
//! long := sleep(done, 4*time.Second, buffer)
//! pipeline := long
//! ```
//!
//! Here `sleep` is a stage that takes 10 ms (short) or 40 ms (long) per
//! value, and `goro::pattern::queue` is the book's `buffer`. The run prints
//! when the short stage handed off its last value and when the pipeline
//! finished, without and with the queue: with it, the short stage is done
//! about two long-stage steps sooner, and the pipeline finishes at the same
//! time (Little's law: a queue changes who waits, not the throughput).

use std::time::{Duration, Instant};

use goro::chan::{Receiver, chan};
use goro::pattern::{queue, repeat, take};
use goro::select;
use goro::sync::Mutex;

/// A stage that spends `d` on each value; `last_handoff` gets the time its
/// last value was taken by the next stage.
fn sleep_stage(
    done: &Receiver<()>,
    d: Duration,
    input: Receiver<u8>,
    last_handoff: std::sync::Arc<Mutex<Option<Instant>>>,
) -> Receiver<u8> {
    let done = done.clone();
    let (tx, out) = chan(0);
    goro::go!(move || {
        for v in input.iter() {
            goro::time::sleep(d);
            select! {
                recv(done) -> _ => return,
                send(tx, v) -> r => if r.is_err() { return },
            }
            *last_handoff.lock() = Some(Instant::now());
        }
    });
    out
}

/// Runs zeros → short (10 ms) → [queue of `buffer`] → long (40 ms); returns
/// (short stage finished, pipeline finished) since the start.
fn run(buffer: Option<usize>) -> (Duration, Duration) {
    let (_stop, done) = chan::<()>(0);
    let start = Instant::now();
    let short_end = std::sync::Arc::new(Mutex::new(None));
    let long_end = std::sync::Arc::new(Mutex::new(None));
    let zeros = take(&done, repeat(&done, [0u8]), 3);
    let short = sleep_stage(&done, Duration::from_millis(10), zeros, short_end.clone());
    let middle = match buffer {
        Some(n) => queue(&done, short, n),
        None => short,
    };
    let long = sleep_stage(&done, Duration::from_millis(40), middle, long_end);
    let n = long.iter().count();
    assert_eq!(n, 3);
    let pipeline = start.elapsed();
    let short_done = short_end.lock().expect("short stage handed off") - start;
    (short_done, pipeline)
}

fn main() {
    goro::run(|| {
        for buffer in [None, Some(2)] {
            let (short, total) = run(buffer);
            let label = match buffer {
                None => "no queue     ".to_string(),
                Some(n) => format!("queue of {n}   "),
            };
            println!(
                "{label}: short stage done after {short:>10.1?}, pipeline after {total:>10.1?}"
            );
        }
        println!("the queue freed the short stage early; the pipeline took as long");
    });
}
