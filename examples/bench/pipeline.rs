//! Pipeline workload `pipeline`: the fan-out/fan-in shape of *Concurrency
//! in Go* chapter 4, the same program as `benches/go/pipeline.go`.
//!
//! A generator sends the integers `0..n` down an unbuffered channel; 8
//! workers (fan-out) each take values from it, apply [`work`] (a small
//! fixed computation: four rounds of a 64-bit mixer) and send the result
//! on their own unbuffered channel; a fan-in stage (one forwarding
//! coroutine per worker, a closer behind a WaitGroup) merges the 8 streams
//! into one, which the measuring coroutine drains. Every send in every
//! stage is a two-case `select!` against the pipeline context's `done()`,
//! the book's leak-proof stage. Prints `pipeline_ms` (first value
//! generated until the merged stream is closed and drained) and
//! `pipeline_ns_per_item`; the count and the wrapping sum of the results
//! are checked against a sequential computation (outside the timing), so
//! a lost or duplicated value fails the run.
//!
//! Go's version uses the same channel capacities (0), the same worker
//! count, the same mixer and the same `select` in every stage, so the two
//! do the same number of hand-offs.

use std::time::Instant;

use goro::chan::{Receiver, chan};
use goro::context::{self, Context};
use goro::select;
use goro::sync::WaitGroup;

/// Workers in the fan-out stage.
const WORKERS: usize = 8;

/// The per-item computation: four rounds of the murmur3 finaliser's
/// multiply-xorshift. Identical in `benches/go/pipeline.go`.
pub fn work(x: u64) -> u64 {
    let mut h = x;
    for _ in 0..4 {
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    }
    h ^ (h >> 33)
}

/// Stage 1: `0..n` as a stream; stops early if `ctx` ends.
fn generator(ctx: &Context, n: u64) -> Receiver<u64> {
    let (tx, rx) = chan(0);
    let done = ctx.done();
    goro::go!(move || {
        for i in 0..n {
            select! {
                recv(done) -> _ => return,
                send(tx, i) -> r => r.expect("pipeline: stream dropped"),
            }
        }
    });
    rx
}

/// Stage 2 (one of the fan-out): `work` applied to each value it takes.
fn worker(ctx: &Context, input: Receiver<u64>) -> Receiver<u64> {
    let (tx, rx) = chan(0);
    let done = ctx.done();
    goro::go!(move || {
        for v in &input {
            select! {
                recv(done) -> _ => return,
                send(tx, work(v)) -> r => r.expect("pipeline: stream dropped"),
            }
        }
    });
    rx
}

/// Stage 3: merges `inputs` into one stream, closed once every input is.
fn fan_in(ctx: &Context, inputs: Vec<Receiver<u64>>) -> Receiver<u64> {
    let (tx, rx) = chan(0);
    let wg = WaitGroup::new();
    for input in inputs {
        let tx = tx.clone();
        let done = ctx.done();
        wg.go(move || {
            for v in &input {
                select! {
                    recv(done) -> _ => return,
                    send(tx, v) -> r => r.expect("pipeline: stream dropped"),
                }
            }
        });
    }
    goro::go!(move || {
        wg.wait();
        tx.close();
    });
    rx
}

/// Runs the pipeline over `n` integers and prints its time.
pub fn pipeline(n: usize) {
    let n = n as u64;
    let (ctx, cancel) = context::with_cancel(&context::background());
    let t = Instant::now();
    let src = generator(&ctx, n);
    let outs = (0..WORKERS).map(|_| worker(&ctx, src.clone())).collect();
    drop(src);
    let merged = fan_in(&ctx, outs);
    let (mut count, mut sum) = (0u64, 0u64);
    for v in &merged {
        count += 1;
        sum = sum.wrapping_add(v);
    }
    let d = t.elapsed();
    cancel.cancel();
    let want = (0..n).map(work).fold(0u64, u64::wrapping_add);
    assert_eq!(
        (count, sum),
        (n, want),
        "pipeline: values lost or duplicated"
    );
    println!("pipeline_ms {:.1} ms", d.as_secs_f64() * 1e3);
    println!(
        "pipeline_ns_per_item {:.1} ns",
        d.as_nanos() as f64 / n.max(1) as f64
    );
}
