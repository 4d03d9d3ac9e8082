//! `goro::pattern` stages deliver every value exactly once, in order where
//! the pattern promises it: generators, repeat / repeat_fn / take, or_done,
//! queue, tee (both outputs), bridge (channel by channel), fan_out (each
//! value to one worker), fan_in (order within each input), or. The
//! many-value scenarios run under GOMAXPROCS 1, 2 and 8; all under a
//! watchdog.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use goro::chan::{Receiver, chan, never};
use goro::context;
use goro::pattern::{
    bridge, fan_in, fan_out, generator, or, or_done, queue, repeat, repeat_fn, take, tee,
};

const LIMIT: Duration = Duration::from_secs(60);
const PROCS: &[usize] = &[1, 2, 8];

fn in_watchdog(name: &str, f: impl FnOnce() + Send + 'static) {
    common::watchdog(name, LIMIT, || goro::run(f));
}

#[test]
fn generator_streams_a_batch_in_order_and_closes() {
    in_watchdog("generator", || {
        let (_stop, done) = chan::<()>(0);
        let out = generator(&done, 0..1000u32);
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            (0..1000).collect::<Vec<_>>()
        );
        assert_eq!(out.recv(), None, "closed after the last item");
    });
}

#[test]
fn repeat_cycles_and_take_ends_after_n() {
    in_watchdog("repeat_take", || {
        let (_stop, done) = chan::<()>(0);
        let got: Vec<u8> = take(&done, repeat(&done, [1u8, 2, 3]), 10).iter().collect();
        assert_eq!(got, [1, 2, 3, 1, 2, 3, 1, 2, 3, 1]);
    });
}

#[test]
fn repeat_of_nothing_closes_at_once() {
    in_watchdog("repeat_empty", || {
        let (_stop, done) = chan::<()>(0);
        let out = repeat(&done, Vec::<u8>::new());
        assert_eq!(out.recv(), None);
    });
}

#[test]
fn repeat_fn_calls_in_sequence() {
    in_watchdog("repeat_fn", || {
        let (_stop, done) = chan::<()>(0);
        let mut n = 0u64;
        let out = repeat_fn(&done, move || {
            n += 1;
            n
        });
        let got: Vec<u64> = take(&done, out, 500).iter().collect();
        assert_eq!(got, (1..=500).collect::<Vec<_>>());
    });
}

#[test]
fn take_of_a_short_stream_ends_with_it() {
    in_watchdog("take_short", || {
        let (_stop, done) = chan::<()>(0);
        let got: Vec<i32> = take(&done, generator(&done, [4, 5]), 10).iter().collect();
        assert_eq!(got, [4, 5]);
        let none: Vec<i32> = take(&done, generator(&done, [4, 5]), 0).iter().collect();
        assert!(none.is_empty());
    });
}

#[test]
fn or_done_passes_everything_in_order() {
    in_watchdog("or_done", || {
        let (_stop, done) = chan::<()>(0);
        let (tx, rx) = chan::<u32>(16);
        goro::go!(move || {
            for i in 0..2000 {
                tx.send(i).unwrap();
            }
        });
        let got: Vec<u32> = or_done(&done, rx).iter().collect();
        assert_eq!(got, (0..2000).collect::<Vec<_>>());
    });
}

#[test]
fn queue_buffers_n_and_keeps_order() {
    in_watchdog("queue", || {
        let (_stop, done) = chan::<()>(0);
        let q = queue(&done, generator(&done, 0..100u32), 8);
        assert_eq!(q.cap(), 8);
        // The stage runs ahead of a reader that has not started: it fills
        // the buffer (and holds one more value) without anyone receiving.
        let mut waited = 0;
        while q.len() < 8 {
            goro::time::sleep(Duration::from_millis(1));
            waited += 1;
            assert!(waited < 10_000, "queue never filled its buffer");
        }
        assert_eq!(q.iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn tee_delivers_each_value_to_both_outputs_in_order() {
    common::for_procs(
        "tee_delivers_each_value_to_both_outputs_in_order",
        PROCS,
        LIMIT,
        || {
            goro::run(|| {
                let (_stop, done) = chan::<()>(0);
                let (a, b) = tee(&done, generator(&done, 0..5000u32));
                let ha = goro::go!(move || a.iter().collect::<Vec<_>>());
                let hb = goro::go!(move || b.iter().collect::<Vec<_>>());
                let want: Vec<u32> = (0..5000).collect();
                assert_eq!(ha.join().unwrap(), want);
                assert_eq!(hb.join().unwrap(), want);
            });
        },
    );
}

#[test]
fn tee_keeps_feeding_one_output_when_the_other_is_dropped() {
    in_watchdog("tee_one_dropped", || {
        let (_stop, done) = chan::<()>(0);
        let (a, b) = tee(&done, generator(&done, 0..100u32));
        drop(b);
        assert_eq!(a.iter().collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn tee_moves_non_copy_values() {
    in_watchdog("tee_strings", || {
        let (_stop, done) = chan::<()>(0);
        let words = ["go", "goro", "chan"].map(String::from);
        let (a, b) = tee(&done, generator(&done, words.clone()));
        let hb = goro::go!(move || b.iter().collect::<Vec<_>>());
        assert_eq!(a.iter().collect::<Vec<_>>(), words);
        assert_eq!(hb.join().unwrap(), words);
    });
}

#[test]
fn bridge_drains_channels_in_order() {
    common::for_procs("bridge_drains_channels_in_order", PROCS, LIMIT, || {
        goro::run(|| {
            let (_stop, done) = chan::<()>(0);
            let (streams_tx, streams) = chan::<Receiver<u32>>(0);
            goro::go!(move || {
                for s in 0..50u32 {
                    // Each inner channel is filled by its own producer, all
                    // running at once: bridge must still drain them in order.
                    let (tx, rx) = chan(0);
                    goro::go!(move || {
                        for i in 0..40 {
                            tx.send(s * 1000 + i).unwrap();
                        }
                    });
                    streams_tx.send(rx).unwrap();
                }
            });
            let got: Vec<u32> = bridge(&done, streams).iter().collect();
            let want: Vec<u32> = (0..50)
                .flat_map(|s| (0..40).map(move |i| s * 1000 + i))
                .collect();
            assert_eq!(got, want);
        });
    });
}

#[test]
fn fan_out_fan_in_delivers_every_value_exactly_once() {
    common::for_procs(
        "fan_out_fan_in_delivers_every_value_exactly_once",
        PROCS,
        LIMIT,
        || {
            goro::run(|| {
                for round in 0..20u64 {
                    let (_stop, done) = chan::<()>(0);
                    let n = 1 + (round as usize % 8);
                    let outs = fan_out(&done, generator(&done, 0..2000u64), n, |x| x * 3);
                    assert_eq!(outs.len(), n);
                    let got: Vec<u64> = fan_in(&done, outs).iter().collect();
                    assert_eq!(got.len(), 2000, "round {round}: a value lost or duplicated");
                    let set: HashSet<u64> = got.iter().copied().collect();
                    assert_eq!(set, (0..2000).map(|x| x * 3).collect::<HashSet<_>>());
                }
            });
        },
    );
}

#[test]
fn fan_in_keeps_order_within_each_input() {
    common::for_procs("fan_in_keeps_order_within_each_input", PROCS, LIMIT, || {
        goro::run(|| {
            let (_stop, done) = chan::<()>(0);
            let inputs: Vec<_> = (0..10u64)
                .map(|k| generator(&done, (0..500u64).map(move |i| (k, i))))
                .collect();
            let mut next = [0u64; 10];
            for (k, i) in fan_in(&done, inputs).iter() {
                assert_eq!(i, next[k as usize], "input {k} out of order");
                next[k as usize] += 1;
            }
            assert_eq!(next, [500; 10]);
        });
    });
}

#[test]
fn fan_in_of_nothing_closes_at_once() {
    in_watchdog("fan_in_empty", || {
        let (_stop, done) = chan::<()>(0);
        let out = fan_in(&done, Vec::<Receiver<u8>>::new());
        assert_eq!(out.recv(), None);
    });
}

#[test]
#[should_panic(expected = "n must be at least 1")]
fn fan_out_of_zero_workers_panics() {
    let (_stop, done) = chan::<()>(0);
    let _ = fan_out(&done, never::<u8>(), 0, |x| x);
}

#[test]
fn or_fires_when_any_input_fires() {
    in_watchdog("or_any", || {
        for which in 0..5 {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..5).map(|_| chan::<()>(0)).unzip();
            let any = or(rxs);
            assert!(
                any.recv_timeout(Duration::from_millis(2)).is_err(),
                "fired early"
            );
            let mut txs = txs;
            drop(txs.swap_remove(which)); // closes input `which`
            assert_eq!(any.recv(), None);
        }
    });
}

#[test]
fn or_fires_on_a_context_or_a_sent_value() {
    in_watchdog("or_ctx", || {
        let (ctx, cancel) = context::with_cancel(&context::background());
        let (_keep, other) = chan::<()>(0);
        let any = or([ctx.done(), other]);
        cancel.cancel();
        assert_eq!(any.recv(), None);

        let (tx, a) = chan::<()>(1);
        let (_keep, b) = chan::<()>(0);
        let any = or([a, b]);
        tx.send(()).unwrap();
        assert_eq!(any.recv(), None);
    });
}

#[test]
fn or_of_one_is_that_input_and_of_none_never_fires() {
    in_watchdog("or_small", || {
        let (tx, rx) = chan::<()>(0);
        let one = or([rx.clone()]);
        assert!(one.same_channel(&rx));
        drop(tx);
        assert_eq!(one.recv(), None);
        let none = or(Vec::<Receiver<()>>::new());
        assert!(none.recv_timeout(Duration::from_millis(2)).is_err());
    });
}

#[test]
fn stages_take_a_context_as_done() {
    in_watchdog("ctx_done", || {
        let ctx = context::background();
        let got: Vec<u32> = take(&ctx, or_done(ctx.clone(), generator(&ctx, 1..)), 5)
            .iter()
            .collect();
        assert_eq!(got, [1, 2, 3, 4, 5]);
    });
}

#[test]
fn a_panic_in_fan_out_f_ends_only_that_worker() {
    in_watchdog("fan_out_panic", || {
        let (_stop, done) = chan::<()>(0);
        let outs = fan_out(&done, generator(&done, 0..100u32), 3, |x| {
            assert_ne!(x, 50, "test panic: a worker meets 50");
            x
        });
        let mut got: Vec<u32> = fan_in(&done, outs).iter().collect();
        got.sort_unstable();
        // 50 died with its worker; the other workers handled everything else.
        let want: Vec<u32> = (0..100).filter(|&x| x != 50).collect();
        assert_eq!(got, want);
    });
}
