//! `select!` under stress, with GOMAXPROCS 1, 2 and more than the cores
//! (each test re-runs itself in child processes): Go's TestSelectStress
//! (plain and select senders/receivers on a mix of buffered and unbuffered
//! channels), TestSelfSelect (a select that sends and receives on one channel
//! never receives its own value), TestNonblockSelectRace (a non-blocking select
//! over channels one of which is always ready never takes `default`),
//! select-based producers and consumers over several channels with unique
//! ids (each received exactly once), and selects with timeouts racing with
//! their partners.

mod chan_util;
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chan_util::Ledger;
use goro::chan::{Receiver, Select, Sender, chan, never};
use goro::select;

const LIMIT: Duration = Duration::from_secs(180);

/// Go's TestSelectStress: four channels (two unbuffered, capacities 2 and 3),
/// a plain sender and a plain receiver on each, one select that sends N
/// values on every channel and one that receives N from every channel,
/// dropping finished channels from their selects.
#[test]
fn go_select_stress() {
    common::for_each_procs("go_select_stress", LIMIT, || {
        goro::run(|| {
            const N: usize = 50_000;
            let chans: Vec<(Sender<u32>, Receiver<u32>)> =
                [0usize, 0, 2, 3].iter().map(|&c| chan(c)).collect();
            let wg = goro::sync::WaitGroup::new();
            for (tx, rx) in &chans {
                let tx = tx.clone();
                wg.go(move || {
                    for _ in 0..N {
                        tx.send(0).unwrap();
                    }
                });
                let rx = rx.clone();
                wg.go(move || {
                    for _ in 0..N {
                        rx.recv().unwrap();
                    }
                });
            }
            // The select sender: a run-time built select over the channels
            // it still has to send on (Go sets finished ones to nil).
            let senders: Vec<Sender<u32>> = chans.iter().map(|(tx, _)| tx.clone()).collect();
            wg.go(move || {
                let mut n = [0usize; 4];
                for _ in 0..4 * N {
                    let mut sel = Select::new();
                    let mut which = Vec::new();
                    for (k, tx) in senders.iter().enumerate() {
                        if n[k] < N {
                            sel.send(tx);
                            which.push(k);
                        }
                    }
                    let op = sel.select();
                    let k = which[op.index()];
                    op.send(&senders[k], 1).unwrap();
                    n[k] += 1;
                }
            });
            // The select receiver: `never()` stands in for finished channels.
            let receivers: Vec<Receiver<u32>> = chans.iter().map(|(_, rx)| rx.clone()).collect();
            wg.go(move || {
                let nev = never::<u32>();
                let mut n = [0usize; 4];
                for _ in 0..4 * N {
                    let pick = |k: usize| if n[k] < N { &receivers[k] } else { &nev };
                    let (r0, r1, r2, r3) = (pick(0), pick(1), pick(2), pick(3));
                    let k = select! {
                        recv(r0) -> v => { v.unwrap(); 0 }
                        recv(r1) -> v => { v.unwrap(); 1 }
                        recv(r2) -> v => { v.unwrap(); 2 }
                        recv(r3) -> v => { v.unwrap(); 3 }
                    };
                    n[k] += 1;
                }
            });
            wg.wait();
        });
    });
}

/// Go's TestSelfSelect: two coroutines each select between sending and
/// receiving on one channel; on an unbuffered channel nobody may receive
/// its own value, and nothing deadlocks.
#[test]
fn go_self_select() {
    common::for_each_procs("go_self_select", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 10] {
                let (tx, rx) = chan::<u32>(cap);
                let hs: Vec<_> = (0..2u32)
                    .map(|p| {
                        let (tx, rx) = (tx.clone(), rx.clone());
                        goro::go!(move || {
                            for i in 0..20_000 {
                                let got = if p == 0 || i % 2 == 0 {
                                    select! {
                                        send(tx, p) -> r => { r.unwrap(); None }
                                        recv(rx) -> v => v,
                                    }
                                } else {
                                    select! {
                                        recv(rx) -> v => v,
                                        send(tx, p) -> r => { r.unwrap(); None }
                                    }
                                };
                                if cap == 0 {
                                    assert_ne!(got, Some(p), "self receive");
                                }
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.join().unwrap();
                }
            }
        });
    });
}

/// Go's TestNonblockSelectRace (and its variant with `close`): from the
/// moment the selecting coroutine exists, one of its two channels is always
/// ready, so `default` must never run.
#[test]
fn go_nonblock_select_race() {
    common::for_each_procs("go_nonblock_select_race", LIMIT, || {
        goro::run(|| {
            let (done_tx, done_rx) = chan::<bool>(1);
            for i in 0..50_000 {
                let (c1_tx, c1_rx) = chan::<u32>(1);
                let (c2_tx, c2_rx) = chan::<u32>(if i % 2 == 0 { 1 } else { 0 });
                c1_tx.send(1).unwrap();
                let done = done_tx.clone();
                let c1 = c1_rx.clone();
                let _keep_c2_open = c2_rx.clone(); // as in Go, c2 keeps a receiver
                goro::go!(move || {
                    let ok = select! {
                        recv(c1) -> _ => true,
                        recv(c2_rx) -> _ => true,
                        default => false,
                    };
                    done.send(ok).unwrap();
                });
                if i % 2 == 0 {
                    c2_tx.send(1).unwrap();
                } else {
                    c2_tx.close();
                }
                select! {
                    recv(c1_rx) -> _ => {},
                    default => {},
                }
                assert_eq!(
                    done_rx.recv(),
                    Some(true),
                    "iteration {i}: no channel was ready"
                );
            }
        });
    });
}

/// Producers select-send over three channels (one unbuffered), consumers
/// select-receive over all three (on threads too), each message id exactly
/// once; closed channels are swapped for `never()`.
#[test]
fn select_mpmc_exactly_once() {
    common::for_each_procs("select_mpmc_exactly_once", LIMIT, || {
        for caps in [[0usize, 0, 0], [0, 1, 8], [4, 4, 64]] {
            const PRODUCERS: u64 = 4;
            const PER: u64 = 20_000;
            let ledger = Ledger::new((PRODUCERS * PER) as usize);
            let chans: Vec<(Sender<u64>, Receiver<u64>)> = caps.iter().map(|&c| chan(c)).collect();
            let ps: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    let (a, b, c) = (chans[0].0.clone(), chans[1].0.clone(), chans[2].0.clone());
                    goro::go!(move || {
                        for i in 0..PER {
                            let id = p * PER + i;
                            select! {
                                send(a, id) -> r => r.unwrap(),
                                send(b, id) -> r => r.unwrap(),
                                send(c, id) -> r => r.unwrap(),
                            }
                        }
                    })
                })
                .collect();
            let consume = {
                let ledger = ledger.clone();
                move |rxs: [Receiver<u64>; 3]| {
                    let nev = never::<u64>();
                    let mut open = [true; 3];
                    let mut got = 0u64;
                    while open.iter().any(|&o| o) {
                        let pick = |k: usize| if open[k] { &rxs[k] } else { &nev };
                        let (a, b, c) = (pick(0), pick(1), pick(2));
                        let (k, v) = select! {
                            recv(a) -> v => (0, v),
                            recv(b) -> v => (1, v),
                            recv(c) -> v => (2, v),
                        };
                        match v {
                            Some(id) => {
                                ledger.mark(id);
                                got += 1;
                            }
                            None => open[k] = false,
                        }
                    }
                    got
                }
            };
            let rxs = || [chans[0].1.clone(), chans[1].1.clone(), chans[2].1.clone()];
            let cs: Vec<_> = (0..3)
                .map(|_| {
                    let (consume, rxs) = (consume.clone(), rxs());
                    goro::go!(move || consume(rxs))
                })
                .collect();
            let ts: Vec<_> = (0..2)
                .map(|_| {
                    let (consume, rxs) = (consume.clone(), rxs());
                    std::thread::spawn(move || consume(rxs))
                })
                .collect();
            drop(chans);
            for p in ps {
                p.join().unwrap();
            }
            let total: u64 = cs.into_iter().map(|c| c.join().unwrap()).sum::<u64>()
                + ts.into_iter().map(|t| t.join().unwrap()).sum::<u64>();
            assert_eq!(total, PRODUCERS * PER, "caps {caps:?}");
            ledger.assert_all_once();
        }
    });
}

/// Selects with a short `default(timeout)` on both sides, racing their own
/// deadlines: an `Ok` send is received exactly once, a timed-out send case
/// never built its value, and nothing is left over.
#[test]
fn select_timeouts_racing_with_partners() {
    common::for_each_procs("select_timeouts_racing_with_partners", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 2] {
                const SENDERS: u64 = 4;
                const PER: u64 = 15_000;
                let ledger = Ledger::new((SENDERS * PER) as usize);
                let (a_tx, a_rx) = chan::<u64>(cap);
                let (b_tx, b_rx) = chan::<u64>(0);
                let ok = Arc::new(AtomicU64::new(0));
                let built = Arc::new(AtomicU64::new(0));
                let ps: Vec<_> = (0..SENDERS)
                    .map(|p| {
                        let (a, b, ok, built) =
                            (a_tx.clone(), b_tx.clone(), ok.clone(), built.clone());
                        goro::go!(move || {
                            for i in 0..PER {
                                let id = p * PER + i;
                                let t = Duration::from_micros((id % 4) * 30);
                                let make = || {
                                    built.fetch_add(1, Ordering::Relaxed);
                                    id
                                };
                                let sent = select! {
                                    send(a, make()) -> r => { r.unwrap(); true }
                                    send(b, make()) -> r => { r.unwrap(); true }
                                    default(t) => false,
                                };
                                if sent {
                                    ok.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        })
                    })
                    .collect();
                let cs: Vec<_> = (0..3u64)
                    .map(|c| {
                        let (a, b, ledger) = (a_rx.clone(), b_rx.clone(), ledger.clone());
                        goro::go!(move || {
                            let nev = never::<u64>();
                            let (mut a_open, mut b_open) = (true, true);
                            let mut got = 0u64;
                            let mut k = c;
                            while a_open || b_open {
                                k += 1;
                                let t = Duration::from_micros((k % 3) * 40);
                                let ra = if a_open { &a } else { &nev };
                                let rb = if b_open { &b } else { &nev };
                                select! {
                                    recv(ra) -> v => match v {
                                        Some(id) => { ledger.mark(id); got += 1; }
                                        None => a_open = false,
                                    },
                                    recv(rb) -> v => match v {
                                        Some(id) => { ledger.mark(id); got += 1; }
                                        None => b_open = false,
                                    },
                                    default(t) => {},
                                }
                            }
                            got
                        })
                    })
                    .collect();
                drop((a_tx, a_rx, b_tx, b_rx));
                for p in ps {
                    p.join().unwrap();
                }
                let received: u64 = cs.into_iter().map(|c| c.join().unwrap()).sum();
                let ok = ok.load(Ordering::Relaxed);
                assert_eq!(received, ok, "cap {cap}: Ok sends vs receives");
                assert_eq!(ledger.count() as u64, received);
                assert_eq!(
                    built.load(Ordering::Relaxed),
                    ok,
                    "cap {cap}: a value was built for a case that did not send"
                );
            }
        });
    });
}
