//! Channel stress under GOMAXPROCS 1, 2 and more than the cores (each test
//! re-runs itself in child processes): many producers and consumers with
//! unique message ids (each received exactly once, none lost), plain threads
//! and coroutines mixed, Go's TestMultiConsumer, long pipelines, many
//! ping-pong pairs, and timed sends and receives racing with their partners.

mod chan_util;
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chan_util::Ledger;
use goro::chan::{Receiver, Sender, chan};

const LIMIT: Duration = Duration::from_secs(180);
const CAPS: [usize; 4] = [0, 1, 16, 1024];

fn producers(tx: &Sender<u64>, n: usize, per: u64) -> Vec<goro::JoinHandle<()>> {
    (0..n as u64)
        .map(|p| {
            let tx = tx.clone();
            goro::go!(move || {
                for i in 0..per {
                    tx.send(p * per + i).unwrap();
                }
            })
        })
        .collect()
}

fn consumers(rx: &Receiver<u64>, n: usize, ledger: &Arc<Ledger>) -> Vec<goro::JoinHandle<u64>> {
    (0..n)
        .map(|_| {
            let (rx, ledger) = (rx.clone(), ledger.clone());
            goro::go!(move || {
                let mut got = 0;
                for id in &rx {
                    ledger.mark(id);
                    got += 1;
                }
                got
            })
        })
        .collect()
}

#[test]
fn mpmc_every_message_exactly_once() {
    common::for_each_procs("mpmc_every_message_exactly_once", LIMIT, || {
        goro::run(|| {
            for cap in CAPS {
                for (np, nc) in [(1, 1), (4, 4), (1, 6), (6, 1)] {
                    const PER: u64 = 15_000;
                    let ledger = Ledger::new(np * PER as usize);
                    let (tx, rx) = chan::<u64>(cap);
                    let ps = producers(&tx, np, PER);
                    let cs = consumers(&rx, nc, &ledger);
                    drop((tx, rx));
                    for p in ps {
                        p.join().unwrap();
                    }
                    let total: u64 = cs.into_iter().map(|c| c.join().unwrap()).sum();
                    assert_eq!(total, np as u64 * PER, "cap {cap} {np}x{nc}");
                    ledger.assert_all_once();
                }
            }
        });
    });
}

/// Plain threads and coroutines as producers and consumers of one channel.
#[test]
fn mpmc_threads_and_coroutines_mixed() {
    common::for_each_procs("mpmc_threads_and_coroutines_mixed", LIMIT, || {
        for cap in CAPS {
            const PER: u64 = 10_000;
            let ledger = Ledger::new(4 * PER as usize);
            let (tx, rx) = chan::<u64>(cap);
            let mut coro_p = producers(&tx, 2, PER);
            let thread_p: Vec<_> = (2..4u64)
                .map(|p| {
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        for i in 0..PER {
                            tx.send(p * PER + i).unwrap();
                        }
                    })
                })
                .collect();
            let coro_c = consumers(&rx, 2, &ledger);
            let thread_c: Vec<_> = (0..2)
                .map(|_| {
                    let (rx, ledger) = (rx.clone(), ledger.clone());
                    std::thread::spawn(move || {
                        let mut got = 0u64;
                        while let Some(id) = rx.recv() {
                            ledger.mark(id);
                            got += 1;
                        }
                        got
                    })
                })
                .collect();
            drop((tx, rx));
            for p in coro_p.drain(..) {
                p.join().unwrap();
            }
            for p in thread_p {
                p.join().unwrap();
            }
            let total: u64 = coro_c.into_iter().map(|c| c.join().unwrap()).sum::<u64>()
                + thread_c.into_iter().map(|t| t.join().unwrap()).sum::<u64>();
            assert_eq!(total, 4 * PER, "cap {cap}");
            ledger.assert_all_once();
        }
    });
}

/// Go's TestMultiConsumer: a feeder, 23 workers ranging over a buffered
/// queue (some yielding to shuffle the order), a closer, one collector.
#[test]
fn go_multi_consumer() {
    common::for_each_procs("go_multi_consumer", LIMIT, || {
        goro::run(|| {
            const NWORK: usize = 23;
            const NITER: usize = 271_828;
            let pn = [2u64, 3, 7, 11, 13, 17, 19, 23, 27, 31];
            let (q_tx, q_rx) = chan::<u64>(NWORK * 3);
            let (r_tx, r_rx) = chan::<u64>(NWORK * 3);
            let wg = goro::sync::WaitGroup::new();
            for w in 0..NWORK {
                let (q_rx, r_tx) = (q_rx.clone(), r_tx.clone());
                wg.go(move || {
                    for v in q_rx {
                        if pn[w % pn.len()] == v {
                            goro::yield_now();
                        }
                        r_tx.send(v).unwrap();
                    }
                });
            }
            drop((q_rx, r_tx));
            let expect = Arc::new(AtomicU64::new(0));
            let e2 = expect.clone();
            goro::go!(move || {
                for i in 0..NITER {
                    let v = pn[i % pn.len()];
                    e2.fetch_add(v, Ordering::Relaxed);
                    q_tx.send(v).unwrap();
                }
                drop(q_tx); // no more work
                wg.wait(); // workers done, and their senders gone: r closes
            });
            let (mut n, mut s) = (0usize, 0u64);
            for v in r_rx {
                n += 1;
                s += v;
            }
            assert_eq!(n, NITER);
            assert_eq!(s, expect.load(Ordering::Relaxed));
        });
    });
}

/// A daisy chain of coroutines, each forwarding (+1) to the next over
/// unbuffered (and then buffered) channels.
#[test]
fn long_pipelines() {
    common::for_each_procs("long_pipelines", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 4] {
                const STAGES: usize = 200;
                const MSGS: u64 = 2_000;
                let (first_tx, mut rx) = chan::<u64>(cap);
                for _ in 0..STAGES {
                    let (tx, next_rx) = chan::<u64>(cap);
                    goro::go!(move || {
                        for v in rx {
                            tx.send(v + 1).unwrap();
                        }
                    });
                    rx = next_rx;
                }
                goro::go!(move || {
                    for i in 0..MSGS {
                        first_tx.send(i).unwrap();
                    }
                });
                let got: Vec<u64> = rx.iter().collect();
                assert_eq!(
                    got,
                    (0..MSGS).map(|i| i + STAGES as u64).collect::<Vec<_>>(),
                    "cap {cap}"
                );
            }
        });
    });
}

#[test]
fn many_ping_pong_pairs() {
    common::for_each_procs("many_ping_pong_pairs", LIMIT, || {
        goro::run(|| {
            const PAIRS: usize = 64;
            const ROUNDS: u64 = 5_000;
            let hs: Vec<_> = (0..PAIRS)
                .map(|p| {
                    goro::go!(move || {
                        let cap = p % 2;
                        let (ping_tx, ping_rx) = chan::<u64>(cap);
                        let (pong_tx, pong_rx) = chan::<u64>(cap);
                        let echo = goro::go!(move || {
                            for v in ping_rx {
                                pong_tx.send(v * 2).unwrap();
                            }
                        });
                        for i in 0..ROUNDS {
                            ping_tx.send(i).unwrap();
                            assert_eq!(pong_rx.recv(), Some(i * 2));
                        }
                        drop(ping_tx);
                        echo.join().unwrap();
                        assert_eq!(pong_rx.recv(), None);
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        });
    });
}

/// Timed sends and receives racing with their partners and with their own
/// deadlines: whatever a send reports is true (an `Ok` send is received
/// exactly once, a timed-out send gets its own value back), and nothing is
/// left over.
#[test]
fn timeouts_racing_with_partners() {
    common::for_each_procs("timeouts_racing_with_partners", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 1, 8] {
                const SENDERS: u64 = 4;
                const PER: u64 = 8_000;
                let ledger = Ledger::new((SENDERS * PER) as usize);
                let (tx, rx) = chan::<u64>(cap);
                let ok_sends = Arc::new(AtomicU64::new(0));
                let ps: Vec<_> = (0..SENDERS)
                    .map(|p| {
                        let (tx, ok_sends) = (tx.clone(), ok_sends.clone());
                        goro::go!(move || {
                            for i in 0..PER {
                                let id = p * PER + i;
                                let t = Duration::from_micros((id % 5) * 20);
                                match tx.send_timeout(id, t) {
                                    Ok(()) => {
                                        ok_sends.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Err(e) => {
                                        assert!(e.is_timeout());
                                        assert_eq!(
                                            e.into_inner(),
                                            id,
                                            "a timed-out send returns its own value"
                                        );
                                    }
                                }
                            }
                        })
                    })
                    .collect();
                let cs: Vec<_> = (0..3u64)
                    .map(|c| {
                        let (rx, ledger) = (rx.clone(), ledger.clone());
                        goro::go!(move || {
                            let mut got = 0u64;
                            let mut k = c;
                            loop {
                                k += 1;
                                let t = Duration::from_micros((k % 4) * 25);
                                match rx.recv_timeout(t) {
                                    Ok(id) => {
                                        ledger.mark(id);
                                        got += 1;
                                    }
                                    Err(goro::chan::RecvTimeoutError::Timeout) => {}
                                    Err(goro::chan::RecvTimeoutError::Closed) => return got,
                                }
                            }
                        })
                    })
                    .collect();
                drop((tx, rx));
                for p in ps {
                    p.join().unwrap();
                }
                let received: u64 = cs.into_iter().map(|c| c.join().unwrap()).sum();
                assert_eq!(
                    received,
                    ok_sends.load(Ordering::Relaxed),
                    "cap {cap}: Ok sends vs receives"
                );
                assert_eq!(ledger.count() as u64, received);
            }
        });
    });
}

/// Senders blocked on a full ring while receivers free one slot at a time,
/// slowly: a blocked sender may spin for a batch of room before it parks
/// (array.rs), so this checks it still sends as soon as any slot is free
/// once the spin gives up, that FIFO order holds, and that a close while
/// senders are blocked (spinning or parked) hands their values back.
#[test]
fn blocked_senders_progress_on_single_freed_slots_and_close() {
    common::for_each_procs(
        "blocked_senders_progress_on_single_freed_slots_and_close",
        LIMIT,
        || {
            goro::run(|| {
                for cap in [1usize, 16, 64] {
                    // One sender, a slow receiver: order and progress.
                    let (tx, rx) = chan::<u64>(cap);
                    let n = cap as u64 * 4;
                    let p = goro::go!(move || {
                        for i in 0..n {
                            tx.send(i).unwrap();
                        }
                    });
                    for want in 0..n {
                        goro::time::sleep(Duration::from_micros(50));
                        assert_eq!(rx.recv(), Some(want), "cap {cap}");
                    }
                    p.join().unwrap();
                    assert_eq!(rx.recv(), None);

                    // Four blocked senders (coroutines and a thread), then
                    // close: every value is either received or handed back.
                    let (tx, rx) = chan::<u64>(cap);
                    for i in 0..cap as u64 {
                        tx.send(1_000_000 + i).unwrap();
                    }
                    let back = Arc::new(AtomicU64::new(0));
                    let mut hs = Vec::new();
                    for s in 0..3u64 {
                        let (tx, back) = (tx.clone(), back.clone());
                        hs.push(goro::go!(move || {
                            for i in 0..10 {
                                if tx.send(s * 10 + i).is_err() {
                                    back.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }));
                    }
                    let th = {
                        let (tx, back) = (tx.clone(), back.clone());
                        std::thread::spawn(move || {
                            for i in 0..10 {
                                if tx.send(30 + i).is_err() {
                                    back.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        })
                    };
                    // Free a few single slots, slowly, then close.
                    let mut got = 0u64;
                    for _ in 0..5 {
                        goro::time::sleep(Duration::from_micros(100));
                        rx.recv().unwrap();
                        got += 1;
                    }
                    assert!(tx.close());
                    for h in hs {
                        h.join().unwrap();
                    }
                    th.join().unwrap();
                    got += rx.iter().count() as u64;
                    assert_eq!(
                        got + back.load(Ordering::Relaxed),
                        cap as u64 + 40,
                        "cap {cap}: values lost or duplicated"
                    );
                }
            });
        },
    );
}
