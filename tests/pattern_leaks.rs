//! Every coroutine a `goro::pattern` stage starts ends — and every output
//! closes — when the done signal fires mid-stream (a closed channel or a
//! cancelled context), and also when the pipeline's reader goes away.
//! Checked with `goro::num_goroutine()` returning to its baseline (polled
//! with a deadline), under GOMAXPROCS 1, 2 and 8, each in its own child
//! process (so no other test's coroutines are counted), under a watchdog.

mod common;

use std::time::{Duration, Instant};

use goro::chan::{Receiver, chan};
use goro::context;
use goro::pattern::{
    bridge, fan_in, fan_out, generator, heartbeat, or, or_done, queue, repeat, repeat_fn, take, tee,
};

const LIMIT: Duration = Duration::from_secs(60);
const PROCS: &[usize] = &[1, 2, 8];

/// Waits (parking, not blocking the worker) until no more than `baseline`
/// coroutines exist; panics with the count if that takes over 10 s.
fn settle_to(baseline: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = goro::num_goroutine();
        if n <= baseline {
            assert_eq!(n, baseline, "{what}: fewer coroutines than at the start?");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {} coroutine(s) still running 10 s after done",
            n - baseline
        );
        goro::time::sleep(Duration::from_millis(1));
    }
}

/// Reads `k` values from `rx` (the stream is live mid-way).
fn read_some<T>(rx: &Receiver<T>, k: usize) {
    for _ in 0..k {
        assert!(rx.recv().is_some(), "stream ended before done");
    }
}

/// Asserts `rx` is closed: whatever is left buffered, then `None`.
fn assert_closed<T>(rx: &Receiver<T>, what: &str) {
    let mut left = 0;
    while rx.recv().is_some() {
        left += 1;
        assert!(
            left <= 64,
            "{what}: output still produces after its stage ended"
        );
    }
}

/// Builds every stage over infinite sources, reads a little from each,
/// closes done (for `round` even: a `Receiver<()>`; odd: a cancelled
/// context), and checks that all coroutines end and all outputs close.
fn close_done_mid_stream(round: usize) {
    let baseline = goro::num_goroutine();
    let (stop, done_rx) = chan::<()>(0);
    let (ctx, cancel) = context::with_cancel(&context::background());
    let done = if round % 2 == 0 { done_rx } else { ctx.done() };
    let k = 1 + round % 7;

    let gen_out = generator(&done, 0u64..);
    let rep = repeat(&done, [1, 2, 3]);
    let mut n = 0u64;
    let rep_fn = repeat_fn(&done, move || {
        n += 1;
        n
    });
    let taken = take(&done, repeat(&done, ['x']), usize::MAX);
    let ord = or_done(&done, generator(&done, 0u64..));
    let q = queue(&done, generator(&done, 0u64..), 16);
    let (t1, t2) = tee(&done, generator(&done, 0u64..));
    let (streams_tx, streams) = chan(0);
    {
        let done = done.clone();
        goro::go!(move || {
            loop {
                goro::select! {
                    send(streams_tx, generator(&done, 0u64..)) -> r => if r.is_err() { return },
                    recv(done) -> _ => return,
                }
            }
        });
    }
    let bridged = bridge(&done, streams);
    let merged = fan_in(
        &done,
        fan_out(&done, generator(&done, 0u64..), 4, |x| x + 1),
    );
    let (_keep, never_fires) = chan::<()>(0);
    let any = or([done.clone(), never_fires]);
    let (hb, pulses) = heartbeat(&done, Duration::from_millis(1));
    let worker = goro::go!(move || while hb.sleep(Duration::from_secs(3600)) {});

    read_some(&gen_out, k);
    read_some(&rep, k);
    read_some(&rep_fn, k);
    read_some(&taken, k);
    read_some(&ord, k);
    read_some(&q, k);
    for _ in 0..k {
        assert!(t1.recv().is_some() && t2.recv().is_some());
    }
    read_some(&bridged, k);
    read_some(&merged, k);
    assert!(any.try_recv().is_err(), "or fired before done");

    if round % 2 == 0 {
        drop(stop);
    } else {
        cancel.cancel();
    }
    // Every output is still held here, so only done can end the stages.
    settle_to(baseline, &format!("round {round}"));
    worker.join().unwrap();
    assert_closed(&gen_out, "generator");
    assert_closed(&rep, "repeat");
    assert_closed(&rep_fn, "repeat_fn");
    assert_closed(&taken, "take");
    assert_closed(&ord, "or_done");
    assert_closed(&q, "queue");
    assert_closed(&t1, "tee 1");
    assert_closed(&t2, "tee 2");
    assert_closed(&bridged, "bridge");
    assert_closed(&merged, "fan_in");
    assert_eq!(any.recv(), None, "or closes");
    assert_closed(&pulses, "heartbeat pulses");
}

#[test]
fn closing_done_mid_stream_ends_every_stage() {
    common::for_procs(
        "closing_done_mid_stream_ends_every_stage",
        PROCS,
        LIMIT,
        || {
            goro::run(|| {
                for round in 0..20 {
                    close_done_mid_stream(round);
                }
            });
        },
    );
}

#[test]
fn dropping_the_reader_ends_the_pipeline_without_done() {
    common::for_procs(
        "dropping_the_reader_ends_the_pipeline_without_done",
        PROCS,
        LIMIT,
        || {
            goro::run(|| {
                for round in 0..20usize {
                    let baseline = goro::num_goroutine();
                    // A done signal that never fires: only rule 3 can stop these.
                    let (_keep, done) = chan::<()>(0);
                    let got: Vec<u32> = take(&done, repeat(&done, [7u32]), 3).iter().collect();
                    assert_eq!(got, [7, 7, 7]);
                    settle_to(baseline, "take(repeat) after 3 values");

                    let outs = fan_out(&done, generator(&done, 0u64..), 1 + round % 8, |x| x);
                    let (a, b) = tee(&done, fan_in(&done, outs));
                    let q = queue(&done, a, 4);
                    // tee moves in lock step: read both sides in turn.
                    for _ in 0..1 + round % 5 {
                        assert!(q.recv().is_some() && b.recv().is_some());
                    }
                    drop((q, b));
                    settle_to(
                        baseline,
                        "fan_out / fan_in / tee / queue after their readers left",
                    );
                }
            });
        },
    );
}

#[test]
fn or_ends_its_coroutine_when_an_input_fires() {
    common::for_procs(
        "or_ends_its_coroutine_when_an_input_fires",
        PROCS,
        LIMIT,
        || {
            goro::run(|| {
                let baseline = goro::num_goroutine();
                let (txs, rxs): (Vec<_>, Vec<_>) = (0..100).map(|_| chan::<()>(0)).unzip();
                let any = or(rxs);
                // One coroutine serves all 100 inputs.
                assert_eq!(goro::num_goroutine(), baseline + 1);
                let mut txs = txs;
                drop(txs.swap_remove(57));
                assert_eq!(any.recv(), None);
                settle_to(baseline, "or");
            });
        },
    );
}

#[test]
fn a_context_deadline_ends_a_running_pipeline() {
    common::for_procs(
        "a_context_deadline_ends_a_running_pipeline",
        PROCS,
        LIMIT,
        || {
            goro::run(|| {
                // A 10 ms deadline can pass before the first value gets
                // through seven stages on a loaded machine: then the round
                // is run again with twice the deadline (every round must
                // still end by its deadline and leave nothing behind).
                let mut rounds = 0;
                let mut deadline = Duration::from_millis(10);
                while rounds < 5 {
                    let baseline = goro::num_goroutine();
                    let (ctx, _cancel) = context::with_timeout(&context::background(), deadline);
                    let outs = fan_out(&ctx, repeat(&ctx, [1u64]), 3, |x| x + 1);
                    let (a, b) = tee(&ctx, fan_in(&ctx, outs));
                    let q = queue(&ctx, bridge(&ctx, generator(&ctx, [a])), 4);
                    // Read while it flows; the deadline, not the reader, ends it.
                    // A closed `b` is swapped for `never()`: selecting on it
                    // would be ready forever and, with no preemption, starve
                    // the stages under GOMAXPROCS=1.
                    let off = goro::chan::never::<u64>();
                    let mut b_open = true;
                    let mut n = 0u64;
                    loop {
                        let br = if b_open { &b } else { &off };
                        goro::select! {
                            recv(q) -> v => match v {
                                Some(v) => {
                                    assert_eq!(v, 2);
                                    n += 1
                                }
                                None => break,
                            },
                            recv(br) -> v => match v {
                                Some(v) => assert_eq!(v, 2),
                                None => b_open = false,
                            },
                        }
                    }
                    assert_eq!(ctx.err(), Some(context::Error::DeadlineExceeded));
                    drop((q, b));
                    settle_to(baseline, "pipeline after its context's deadline");
                    if n >= 1 {
                        rounds += 1;
                    } else {
                        deadline *= 2;
                        assert!(
                            deadline < Duration::from_secs(10),
                            "nothing flowed before a {deadline:?} deadline"
                        );
                    }
                }
            });
        },
    );
}
