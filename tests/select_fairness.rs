//! Fairness of `select!` and `Select`: when several cases are ready, each is
//! chosen with equal probability (Go's uniform pseudo-random choice), for
//! receive cases, send cases, mixed cases, repeated sends on one channel
//! (Go's TestPseudoRandomSend) and run-time built selects.
//!
//! Every bound is statistical but cannot flake in practice: the allowed
//! deviation is a fixed share of the draws, and each test checks that this
//! share is at least 6 binomial standard deviations (a false failure has
//! odds below 1e-9 per case).

mod common;

use std::time::Duration;

use goro::chan::{Select, chan};
use goro::select;

const LIMIT: Duration = Duration::from_secs(120);

/// Asserts that `counts` (draws per case, out of `n`) are each within
/// `share * n` of `n / k`, and that this margin is at least 6 sigma.
fn assert_uniform(what: &str, counts: &[u64], share: f64) {
    let n: u64 = counts.iter().sum();
    let k = counts.len() as f64;
    let p = 1.0 / k;
    let mean = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    let margin = share * n as f64;
    assert!(
        margin >= 6.0 * sigma,
        "{what}: test too small: margin {margin} < 6 sigma ({sigma})"
    );
    for (i, &c) in counts.iter().enumerate() {
        let dev = (c as f64 - mean).abs();
        assert!(
            dev <= margin,
            "{what}: case {i} chosen {c} times out of {n}, expected {mean:.0} ± {margin:.0} (counts {counts:?})"
        );
    }
}

const N: u64 = 40_000;

#[test]
fn ready_receive_cases_are_chosen_uniformly() {
    common::watchdog("fair recv", LIMIT, || {
        goro::run(|| {
            // Closed channels: always ready, never drained.
            let closed: Vec<_> = (0..4)
                .map(|_| {
                    let (tx, rx) = chan::<u8>(0);
                    drop(tx);
                    rx
                })
                .collect();
            let (a, b, c, d) = (&closed[0], &closed[1], &closed[2], &closed[3]);
            let mut counts = [0u64; 4];
            for _ in 0..N {
                let i = select! {
                    recv(a) -> _ => 0,
                    recv(b) -> _ => 1,
                    recv(c) -> _ => 2,
                    recv(d) -> _ => 3,
                };
                counts[i] += 1;
            }
            assert_uniform("closed receivers", &counts, 0.02);

            // Buffered channels holding a message each, refilled after each pick.
            let chans: Vec<_> = (0..4).map(|_| chan::<usize>(1)).collect();
            for (k, (tx, _)) in chans.iter().enumerate() {
                tx.send(k).unwrap();
            }
            let (a, b, c, d) = (&chans[0].1, &chans[1].1, &chans[2].1, &chans[3].1);
            let mut counts = [0u64; 4];
            for _ in 0..N {
                let v = select! {
                    recv(a) -> v => v,
                    recv(b) -> v => v,
                    recv(c) -> v => v,
                    recv(d) -> v => v,
                };
                let k = v.unwrap();
                counts[k] += 1;
                chans[k].0.send(k).unwrap();
            }
            assert_uniform("buffered receivers", &counts, 0.02);
        });
    });
}

#[test]
fn ready_send_cases_are_chosen_uniformly() {
    common::watchdog("fair send", LIMIT, || {
        goro::run(|| {
            let chans: Vec<_> = (0..4).map(|_| chan::<usize>(1)).collect();
            let (a, b, c, d) = (&chans[0].0, &chans[1].0, &chans[2].0, &chans[3].0);
            let mut counts = [0u64; 4];
            for _ in 0..N {
                select! {
                    send(a, 0) -> r => r.unwrap(),
                    send(b, 1) -> r => r.unwrap(),
                    send(c, 2) -> r => r.unwrap(),
                    send(d, 3) -> r => r.unwrap(),
                }
                let mut got = None;
                for (k, (_, rx)) in chans.iter().enumerate() {
                    if let Ok(v) = rx.try_recv() {
                        assert_eq!(v, k);
                        assert!(got.is_none(), "two send cases completed");
                        got = Some(k);
                    }
                }
                counts[got.expect("one send case completed")] += 1;
            }
            assert_uniform("send cases", &counts, 0.02);
        });
    });
}

#[test]
fn mixed_send_and_receive_cases_are_chosen_uniformly() {
    common::watchdog("fair mixed", LIMIT, || {
        goro::run(|| {
            let (s1_tx, s1_rx) = chan::<u8>(1);
            let (s2_tx, s2_rx) = chan::<u8>(1);
            let (r1_tx, r1_rx) = chan::<u8>(1);
            let (r2_tx, r2_rx) = chan::<u8>(1);
            r1_tx.send(0).unwrap();
            r2_tx.send(0).unwrap();
            let mut counts = [0u64; 4];
            for _ in 0..N {
                let i = select! {
                    send(s1_tx, 0) -> r => { r.unwrap(); s1_rx.recv().unwrap(); 0 }
                    recv(r1_rx) -> v => { v.unwrap(); r1_tx.send(0).unwrap(); 1 }
                    send(s2_tx, 0) -> r => { r.unwrap(); s2_rx.recv().unwrap(); 2 }
                    recv(r2_rx) -> v => { v.unwrap(); r2_tx.send(0).unwrap(); 3 }
                };
                counts[i] += 1;
            }
            assert_uniform("mixed cases", &counts, 0.02);
        });
    });
}

/// Go's TestPseudoRandomSend: two send cases on the same channel, with a
/// receiver on the other side, pick each value about half the time.
#[test]
fn two_sends_on_one_channel_alternate_randomly() {
    common::watchdog("pseudo-random send", LIMIT, || {
        goro::run(|| {
            const M: u64 = 4_000;
            for cap in [0usize, 16] {
                let (tx, rx) = chan::<usize>(cap);
                let h = goro::go!(move || {
                    let mut counts = [0u64; 2];
                    for v in rx {
                        counts[v] += 1;
                    }
                    counts
                });
                for _ in 0..M {
                    select! {
                        send(tx, 1) -> r => r.unwrap(),
                        send(tx, 0) -> r => r.unwrap(),
                    }
                }
                drop(tx);
                let counts = h.join().unwrap();
                assert_eq!(counts[0] + counts[1], M);
                assert_uniform(&format!("cap {cap}"), &counts, 0.05);
            }
        });
    });
}

#[test]
fn builder_cases_are_chosen_uniformly() {
    common::watchdog("fair builder", LIMIT, || {
        goro::run(|| {
            let closed: Vec<_> = (0..10)
                .map(|_| {
                    let (tx, rx) = chan::<u8>(4);
                    drop(tx);
                    rx
                })
                .collect();
            let mut counts = [0u64; 10];
            for _ in 0..50_000 {
                let mut sel = Select::new();
                for rx in &closed {
                    sel.recv(rx);
                }
                let op = sel.select();
                let i = op.index();
                assert_eq!(op.recv(&closed[i]), None);
                counts[i] += 1;
            }
            assert_uniform("Select over 10 closed receivers", &counts, 0.01);
        });
    });
}
