//! `select!` and `Select`: `default` and `default(timeout)` (never early),
//! `never()` cases, a select that must not pair with itself, exactly one
//! case completing while losing cases consume and build nothing, selects
//! meeting selects, selects on threads, duplicate channels (Go's
//! TestSelectDuplicateChannel), the `Select` builder with a run-time number of
//! cases and its misuse panics, and the macro's syntax corners (block and
//! expression bodies, commas, `break`/`continue`/`return`/`?` in bodies,
//! values out of `select!`).

mod chan_util;
mod common;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use chan_util::nap;
use goro::chan::{Receiver, Select, SendError, Sender, chan, never};
use goro::select;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn default_runs_only_when_nothing_is_ready() {
    common::watchdog(
        "default_runs_only_when_nothing_is_ready",
        std::time::Duration::from_secs(60),
        || {
            for cap in [0usize, 1] {
                let (tx, rx) = chan::<u32>(cap);
                let r = select! {
                    recv(rx) -> _ => "recv",
                    default => "default",
                };
                assert_eq!(r, "default", "cap {cap}: empty channel");
                if cap == 1 {
                    let r = select! {
                        send(tx, 1) -> res => { res.unwrap(); "send" }
                        default => "default",
                    };
                    assert_eq!(r, "send", "room in the buffer");
                    let r = select! {
                        recv(rx) -> v => { assert_eq!(v, Some(1)); "recv" }
                        default => "default",
                    };
                    assert_eq!(r, "recv");
                } else {
                    let r = select! {
                        send(tx, 1) -> _ => "send",
                        default => "default",
                    };
                    assert_eq!(r, "default", "no receiver waiting");
                }
                drop(tx);
                let r = select! {
                    recv(rx) -> v => { assert_eq!(v, None); "closed" }
                    default => "default",
                };
                assert_eq!(r, "closed", "cap {cap}: a closed channel is ready");
            }
            // No cases at all.
            assert_eq!(select! { default => 5 }, 5);
        },
    );
}

#[test]
fn default_timeout_fires_and_is_never_early() {
    common::watchdog("default(d)", LIMIT, || {
        let check = || {
            let (_tx, rx) = chan::<u32>(0);
            let (tx2, _rx2) = chan::<u32>(0);
            for ms in [0u64, 1, 5, 20] {
                let d = Duration::from_millis(ms);
                let t = Instant::now();
                let timed_out = select! {
                    recv(rx) -> _ => false,
                    send(tx2, 1) -> _ => false,
                    default(d) => true,
                };
                assert!(timed_out);
                assert!(t.elapsed() >= d, "default({d:?}) after {:?}", t.elapsed());
                // No channel cases: just waits.
                let t = Instant::now();
                select! { default(d) => {} }
                assert!(t.elapsed() >= d);
                // Only a never() case.
                let t = Instant::now();
                let n = never::<u8>();
                let timed_out = select! {
                    recv(n) -> _ => false,
                    default(d) => true,
                };
                assert!(timed_out, "never() is never chosen");
                assert!(t.elapsed() >= d);
            }
        };
        check();
        goro::run(check);
    });
}

#[test]
fn default_timeout_is_cut_short_by_a_ready_case() {
    common::watchdog("default(d) woken", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 1] {
                let (tx, rx) = chan::<u32>(cap);
                goro::go!(move || {
                    nap(Duration::from_millis(5));
                    tx.send(3).unwrap();
                });
                let t = Instant::now();
                let got = select! {
                    recv(rx) -> v => v,
                    default(Duration::from_secs(30)) => None,
                };
                assert_eq!(got, Some(3), "cap {cap}");
                assert!(t.elapsed() < Duration::from_secs(20));
                // A zero timeout still takes a ready case; a huge one waits.
                let (tx, rx) = chan::<u32>(cap.max(1));
                tx.send(4).unwrap();
                assert_eq!(
                    select! { recv(rx) -> v => v, default(Duration::ZERO) => None },
                    Some(4)
                );
                let h = goro::go!(
                    move || select! { recv(rx) -> v => v, default(Duration::MAX) => None }
                );
                nap(Duration::from_millis(2));
                tx.send(5).unwrap();
                assert_eq!(h.join().unwrap(), Some(5));
            }
        });
    });
}

#[test]
fn never_cases_are_never_chosen() {
    common::watchdog("never", LIMIT, || {
        let (tx, rx) = chan::<u32>(1);
        let n1 = never::<u32>();
        let n2 = never::<String>();
        for i in 0..300 {
            tx.send(i).unwrap();
            let got = select! {
                recv(n1) -> _ => panic!("never() chosen"),
                recv(rx) -> v => v,
                recv(n2) -> _ => panic!("never() chosen"),
            };
            assert_eq!(got, Some(i));
        }
        // Blocking with never() cases: woken by the real one.
        let h = goro::go!(move || {
            nap(Duration::from_millis(5));
            tx.send(99).unwrap();
        });
        let got = select! {
            recv(n1) -> _ => None,
            recv(rx) -> v => v,
        };
        assert_eq!(got, Some(99));
        h.join().unwrap();
    });
}

#[test]
fn a_select_never_pairs_with_itself() {
    common::watchdog("self pairing", LIMIT, || {
        let check = || {
            let (tx, rx) = chan::<u32>(0);
            for _ in 0..20 {
                let r = select! {
                    send(tx, 1) -> _ => "send",
                    recv(rx) -> _ => "recv",
                    default(Duration::from_millis(1)) => "timeout",
                };
                assert_eq!(
                    r, "timeout",
                    "an unbuffered select paired its own send and receive"
                );
            }
            // Duplicated cases do not pair either.
            let r = select! {
                recv(rx) -> _ => "recv",
                send(tx, 1) -> _ => "send",
                recv(rx) -> _ => "recv",
                send(tx, 2) -> _ => "send",
                default => "default",
            };
            assert_eq!(r, "default");
            // Buffered: only the case that can proceed is chosen.
            let (tx, rx) = chan::<u32>(1);
            for i in 0..50 {
                let first = select! {
                    recv(rx) -> _ => "recv",
                    send(tx, i) -> r => { r.unwrap(); "send" }
                };
                assert_eq!(first, "send", "empty: only the send can proceed");
                let second = select! {
                    send(tx, i) -> _ => "send",
                    recv(rx) -> v => { assert_eq!(v, Some(i)); "recv" }
                };
                assert_eq!(second, "recv", "full: only the receive can proceed");
            }
        };
        check();
        goro::run(check);
    });
}

#[test]
fn exactly_one_case_completes_and_losers_consume_nothing() {
    common::watchdog("exactly one", LIMIT, || {
        goro::run(|| {
            // Buffered: four ready receive cases, one message each.
            let chans: Vec<_> = (0..4).map(|_| chan::<u32>(1)).collect();
            let (r0, r1, r2, r3) = (&chans[0].1, &chans[1].1, &chans[2].1, &chans[3].1);
            for round in 0..200 {
                for (k, (tx, _)) in chans.iter().enumerate() {
                    let _ = tx.try_send(k as u32);
                }
                let total: usize = chans.iter().map(|(_, rx)| rx.len()).sum();
                assert_eq!(total, 4);
                let (k, v) = select! {
                    recv(r0) -> v => (0, v),
                    recv(r1) -> v => (1, v),
                    recv(r2) -> v => (2, v),
                    recv(r3) -> v => (3, v),
                };
                assert_eq!(v, Some(k), "round {round}: the value matches the case");
                let left: usize = chans.iter().map(|(_, rx)| rx.len()).sum();
                assert_eq!(left, 3, "round {round}: losing cases consumed nothing");
                assert_eq!(chans[k as usize].1.len(), 0);
            }

            // Unbuffered: three blocked senders; a select takes exactly one,
            // the others are still waiting with their values.
            for round in 0..50 {
                let pairs: Vec<_> = (0..3).map(|_| chan::<u32>(0)).collect();
                let senders: Vec<_> = pairs
                    .iter()
                    .enumerate()
                    .map(|(k, (tx, _))| {
                        let tx = tx.clone();
                        goro::go!(move || tx.send(k as u32 * 10).is_ok())
                    })
                    .collect();
                nap(Duration::from_millis(1));
                let (a, b, c) = (&pairs[0].1, &pairs[1].1, &pairs[2].1);
                let (k, v) = select! {
                    recv(a) -> v => (0u32, v),
                    recv(b) -> v => (1, v),
                    recv(c) -> v => (2, v),
                };
                assert_eq!(v, Some(k * 10), "round {round}");
                for (j, (_, rx)) in pairs.iter().enumerate() {
                    if j as u32 != k {
                        assert_eq!(
                            rx.recv(),
                            Some(j as u32 * 10),
                            "round {round}: sender {j} still waits"
                        );
                    }
                }
                for s in senders {
                    assert!(s.join().unwrap());
                }
            }

            // Unbuffered send cases: three blocked receivers, exactly one
            // gets a value; closing releases the other two empty-handed.
            for round in 0..50 {
                let pairs: Vec<_> = (0..3).map(|_| chan::<u32>(0)).collect();
                let receivers: Vec<_> = pairs
                    .iter()
                    .map(|(_, rx)| {
                        let rx = rx.clone();
                        goro::go!(move || rx.recv())
                    })
                    .collect();
                nap(Duration::from_millis(1));
                let (a, b, c) = (&pairs[0].0, &pairs[1].0, &pairs[2].0);
                select! {
                    send(a, 100) -> r => r.unwrap(),
                    send(b, 101) -> r => r.unwrap(),
                    send(c, 102) -> r => r.unwrap(),
                }
                for (tx, _) in &pairs {
                    tx.close();
                }
                let got: Vec<_> = receivers
                    .into_iter()
                    .filter_map(|h| h.join().unwrap())
                    .collect();
                assert_eq!(got.len(), 1, "round {round}: {got:?}");
            }
        });
    });
}

/// Selects on both sides of unbuffered channels: a send select and a
/// receive select must meet, and the value must match its channel.
#[test]
fn selects_meet_selects() {
    common::watchdog("select meets select", LIMIT, || {
        goro::run(|| {
            let (a_tx, a_rx) = chan::<u32>(0);
            let (b_tx, b_rx) = chan::<u32>(0);
            let n = 2000u32;
            let h = goro::go!(move || {
                for i in 0..n {
                    select! {
                        send(a_tx, 2 * i) -> r => r.unwrap(),
                        send(b_tx, 2 * i + 1) -> r => r.unwrap(),
                    }
                }
            });
            let mut seen = [0u32; 2];
            for _ in 0..n {
                select! {
                    recv(a_rx) -> v => { assert_eq!(v.unwrap() % 2, 0); seen[0] += 1; }
                    recv(b_rx) -> v => { assert_eq!(v.unwrap() % 2, 1); seen[1] += 1; }
                }
            }
            h.join().unwrap();
            assert_eq!(seen[0] + seen[1], n);
        });
    });
}

#[test]
fn select_on_threads_and_coroutines() {
    common::watchdog("select threads", LIMIT, || {
        for cap in [0usize, 2] {
            let (tx, rx) = chan::<u32>(cap);
            let (back_tx, back_rx) = chan::<u32>(cap);
            // A thread blocks in select; a coroutine wakes it, and the other way.
            let t = std::thread::spawn(move || {
                let mut sum = 0;
                loop {
                    select! {
                        recv(rx) -> v => match v {
                            Some(v) => { sum += v; back_tx.send(v).unwrap(); }
                            None => break,
                        },
                    }
                }
                sum
            });
            let c = goro::go!(move || {
                let mut echoed = 0;
                for i in 1..=500u32 {
                    select! { send(tx, i) -> r => r.unwrap() }
                    select! { recv(back_rx) -> v => echoed += v.unwrap() }
                }
                echoed
            });
            assert_eq!(c.join().unwrap(), 500 * 501 / 2, "cap {cap}");
            assert_eq!(t.join().unwrap(), 500 * 501 / 2);
        }
    });
}

/// Go's TestSelectDuplicateChannel: a select listed twice on one channel,
/// woken through a third; its leftover registrations must not swallow a later
/// value meant for someone else.
#[test]
fn duplicate_channel_registrations_are_withdrawn() {
    common::watchdog("duplicate channel", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 1] {
                let (c_tx, c_rx) = chan::<u32>(cap);
                let (d_tx, d_rx) = chan::<u32>(0);
                let (e_tx, e_rx) = chan::<u32>(0);
                let c_rx2 = c_rx.clone();
                goro::go!(move || {
                    select! {
                        recv(c_rx2) -> _ => panic!("nothing sent on c yet"),
                        recv(c_rx2) -> _ => panic!("nothing sent on c yet"),
                        recv(d_rx) -> v => assert_eq!(v, Some(7)),
                    }
                    e_tx.send(9).unwrap();
                });
                nap(Duration::from_millis(2)); // A is queued on c first
                let b = goro::go!(move || c_rx.recv());
                nap(Duration::from_millis(2)); // then B
                d_tx.send(7).unwrap(); // wakes A, which withdraws from c
                assert_eq!(e_rx.recv(), Some(9));
                c_tx.send(8).unwrap(); // must reach B
                assert_eq!(b.join().unwrap(), Some(8), "cap {cap}");
            }
        });
    });
}

#[test]
fn builder_with_many_cases() {
    common::watchdog("Select builder", LIMIT, || {
        goro::run(|| {
            let chans: Vec<(Sender<usize>, Receiver<usize>)> =
                (0..50).map(|i| chan::<usize>(i % 2)).collect();
            // Nothing ready: try_select fails, select_timeout times out (never early).
            {
                let mut sel = Select::new();
                for (_, rx) in &chans {
                    sel.recv(rx);
                }
                assert!(sel.try_select().is_err());
                let t = Instant::now();
                assert!(sel.select_timeout(Duration::from_millis(5)).is_err());
                assert!(t.elapsed() >= Duration::from_millis(5));
                let deadline = Instant::now() + Duration::from_millis(3);
                assert!(sel.select_deadline(deadline).is_err());
                assert!(Instant::now() >= deadline);
            }
            // Each channel in turn wakes a blocked select over all fifty.
            for k in (0..50).rev().step_by(7) {
                let tx = chans[k].0.clone();
                let h = goro::go!(move || {
                    nap(Duration::from_millis(1));
                    tx.send(k * 3).unwrap();
                });
                let mut sel = Select::new();
                let idx: Vec<usize> = chans.iter().map(|(_, rx)| sel.recv(rx)).collect();
                assert_eq!(
                    idx,
                    (0..50).collect::<Vec<_>>(),
                    "indices are handed out in order"
                );
                let op = sel.select();
                let i = op.index();
                assert_eq!(i, k);
                assert_eq!(op.recv(&chans[i].1), Some(k * 3));
                h.join().unwrap();
            }
            // Mixed send and receive cases built at run time.
            let (out_tx, out_rx) = chan::<usize>(1);
            let mut sel = Select::new();
            let r = sel.recv(&chans[3].1);
            let s = sel.send(&out_tx);
            let op = sel
                .select_timeout(Duration::from_secs(10))
                .expect("the send case is ready");
            assert_eq!(op.index(), s);
            assert_ne!(r, s);
            op.send(&out_tx, 42).unwrap();
            assert_eq!(out_rx.recv(), Some(42));
            // An empty Select with a timeout just waits.
            let t = Instant::now();
            assert!(
                Select::new()
                    .select_timeout(Duration::from_millis(2))
                    .is_err()
            );
            assert!(t.elapsed() >= Duration::from_millis(2));
            assert!(Select::new().try_select().is_err());
        });
    });
}

#[test]
fn builder_rejects_the_wrong_handle() {
    common::watchdog(
        "builder_rejects_the_wrong_handle",
        std::time::Duration::from_secs(60),
        || {
            let (tx, rx) = chan::<u32>(1);
            let (tx2, rx2) = chan::<u32>(1);
            tx.send(1).unwrap();
            let r = catch_unwind(AssertUnwindSafe(|| {
                let mut sel = Select::new();
                sel.recv(&rx);
                let op = sel.select();
                op.recv(&rx2)
            }));
            assert!(
                r.is_err(),
                "recv with another channel's receiver must panic"
            );
            // A clone is another handle too: the check is on the handle, so it panics.
            let r = catch_unwind(AssertUnwindSafe(|| {
                let mut sel = Select::new();
                sel.send(&tx2);
                let op = sel.select();
                op.send(&tx, 5)
            }));
            assert!(r.is_err(), "send with another channel's sender must panic");
            // Nothing was sent on either channel by the failed completions.
            assert!(rx2.try_recv().is_err());
            assert!(
                tx2.try_send(9).is_ok(),
                "the reservation on tx2 was released"
            );
        },
    );
}

#[test]
fn macro_syntax_corners() {
    common::watchdog("syntax", LIMIT, || {
        let (tx, rx) = chan::<u32>(8);
        // Expression bodies, no trailing comma.
        tx.send(1).unwrap();
        let v = select! { recv(rx) -> v => v.unwrap() };
        assert_eq!(v, 1);
        // Block bodies without commas, expression bodies with them, a
        // trailing comma after the last case.
        tx.send(2).unwrap();
        let v = select! {
            recv(rx) -> v => {
                let x = v.unwrap();
                x * 10
            }
            send(tx, 0) -> _ => 0,
        };
        assert!(v == 20 || v == 0);
        while rx.try_recv().is_ok() {}
        // Patterns: `_`, a tuple-free binding, `mut`.
        tx.send(3).unwrap();
        select! { recv(rx) -> mut v => { v = v.map(|x| x + 1); assert_eq!(v, Some(4)); } }
        tx.send(4).unwrap();
        select! { recv(rx) -> _ => {}, default => panic!("ready") }
        // Channel expressions are references or values, evaluated once, in order.
        let order = Cell::new(Vec::new());
        let log = |k: u32| {
            let mut o = order.take();
            o.push(k);
            order.set(o);
        };
        tx.send(5).unwrap();
        let got = select! {
            recv({ log(1); &rx }) -> v => v,
            send({ log(2); &tx }, { log(99); 0 }) -> _ => None,
            recv({ log(3); &&rx }) -> v => v,
        };
        let o = order.take();
        assert_eq!(&o[..3], &[1, 2, 3], "channel expressions once, in order");
        if got.is_some() {
            assert_eq!(o.len(), 3, "a losing send case's value was not evaluated");
        } else {
            assert_eq!(o, vec![1, 2, 3, 99], "the winning send case's value, once");
            while rx.try_recv().is_ok() {}
        }
        // Go's for-select: break and continue from case bodies.
        let (work_tx, work_rx) = chan::<u32>(16);
        let (done_tx, done_rx) = chan::<()>(0);
        for i in 0..10 {
            work_tx.send(i).unwrap();
        }
        let mut seen = Vec::new();
        let mut loops = 0;
        loop {
            loops += 1;
            select! {
                recv(work_rx) -> v => {
                    let v = v.unwrap();
                    if v % 2 == 1 {
                        continue;
                    }
                    seen.push(v);
                    if v == 8 {
                        done_tx.close();
                    }
                }
                recv(done_rx) -> _ => break,
            }
        }
        assert!(seen.iter().all(|v| v % 2 == 0));
        assert!(loops >= 10);
        // Labeled break out of nested loops, and `return` from a body.
        let (n_tx, n_rx) = chan::<u32>(8);
        for i in 0..6 {
            n_tx.send(i).unwrap();
        }
        let mut visited = 0;
        let found = 'outer: loop {
            for _ in 0..2 {
                select! {
                    recv(n_rx) -> v => {
                        let v = v.unwrap();
                        visited += 1;
                        if v == 4 {
                            break 'outer v * 10;
                        }
                    }
                }
            }
        };
        assert_eq!((found, visited), (40, 5));
        fn first_or(rx: &Receiver<u32>, d: u32) -> u32 {
            select! {
                recv(rx) -> v => if let Some(v) = v { return v; },
                default => {},
            }
            d
        }
        assert_eq!(first_or(&rx, 11), 11);
        tx.send(12).unwrap();
        assert_eq!(first_or(&rx, 11), 12);
        // `?` inside a body propagates to the enclosing function.
        fn forward(rx: &Receiver<u32>, tx: &Sender<u32>) -> Result<u32, SendError<u32>> {
            select! {
                recv(rx) -> v => tx.send(v.unwrap_or(0))?,
            }
            Ok(1)
        }
        let (fwd_tx, fwd_rx) = chan::<u32>(1);
        tx.send(13).unwrap();
        assert_eq!(forward(&rx, &fwd_tx), Ok(1));
        assert_eq!(fwd_rx.recv(), Some(13));
        drop(fwd_rx);
        tx.send(14).unwrap();
        assert_eq!(forward(&rx, &fwd_tx), Err(SendError(14)));
    });
}
