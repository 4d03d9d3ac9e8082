//! Closing channels: `close()` reports the first call only, dropping the last
//! sender closes, receivers drain what is buffered and then get `None`
//! forever, sends on a closed channel give the value back, closing wakes every
//! blocked sender (value returned) and receiver, dropping the last receiver
//! makes sends fail the same way, and a close racing with traffic loses and
//! duplicates nothing.

mod chan_util;
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chan_util::{Ledger, nap};
use goro::chan::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, chan};
use goro::select;

const LIMIT: Duration = Duration::from_secs(60);
const CAPS: [usize; 4] = [0, 1, 3, 64];

#[test]
fn close_returns_true_exactly_once() {
    common::watchdog(
        "close_returns_true_exactly_once",
        std::time::Duration::from_secs(60),
        || {
            for cap in CAPS {
                let (tx, rx) = chan::<u8>(cap);
                let tx2 = tx.clone();
                assert!(!tx.is_closed() && !rx.is_closed());
                assert!(tx2.close(), "cap {cap}: first close");
                assert!(
                    !tx.close(),
                    "cap {cap}: second close, through another clone"
                );
                assert!(!tx2.close());
                assert!(tx.is_closed() && tx2.is_closed() && rx.is_closed());
                drop((tx, tx2)); // dropping after an explicit close changes nothing
                assert!(rx.is_closed());
                assert_eq!(rx.recv(), None);
            }
        },
    );
}

#[test]
fn dropping_the_last_sender_closes() {
    for cap in CAPS {
        let (tx, rx) = chan::<u8>(cap);
        let clones: Vec<_> = (0..3).map(|_| tx.clone()).collect();
        drop(tx);
        assert!(!rx.is_closed(), "cap {cap}: other senders remain");
        let mut clones = clones.into_iter();
        let last = clones.next_back().unwrap();
        drop(clones);
        assert!(!rx.is_closed(), "cap {cap}: one sender remains");
        drop(last);
        assert!(rx.is_closed());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }
}

#[test]
fn receivers_drain_then_get_none_forever() {
    common::watchdog(
        "receivers_drain_then_get_none_forever",
        std::time::Duration::from_secs(60),
        || {
            for cap in [1usize, 4, 100] {
                let (tx, rx) = chan::<usize>(cap);
                for i in 0..cap {
                    tx.send(i).unwrap();
                }
                assert!(tx.close());
                assert!(rx.is_closed());
                assert_eq!(rx.len(), cap, "closing keeps what is buffered");
                let rx2 = rx.clone();
                for i in 0..cap {
                    let r = if i % 2 == 0 { &rx } else { &rx2 };
                    assert_eq!(r.recv(), Some(i), "cap {cap}");
                }
                for _ in 0..5 {
                    assert_eq!(rx.recv(), None);
                    assert_eq!(rx2.try_recv(), Err(TryRecvError::Closed));
                    assert_eq!(
                        rx.recv_timeout(Duration::from_secs(60)),
                        Err(RecvTimeoutError::Closed)
                    );
                    assert_eq!(rx.iter().next(), None);
                }
            }
        },
    );
}

#[test]
fn send_on_closed_gives_the_value_back() {
    common::watchdog(
        "send_on_closed_gives_the_value_back",
        std::time::Duration::from_secs(60),
        || {
            for cap in CAPS {
                let (tx, rx) = chan::<String>(cap);
                tx.close();
                assert_eq!(tx.send("a".into()), Err(SendError("a".to_string())));
                match tx.try_send("b".into()) {
                    Err(TrySendError::Closed(v)) => assert_eq!(v, "b"),
                    _ => panic!("cap {cap}: try_send on closed"),
                }
                match tx.send_timeout("c".into(), Duration::from_secs(60)) {
                    Err(SendTimeoutError::Closed(v)) => assert_eq!(v, "c"),
                    _ => panic!("cap {cap}: send_timeout on closed must fail at once, as Closed"),
                }
                match tx.send_deadline("d".into(), Instant::now() + Duration::from_secs(60)) {
                    Err(e) => {
                        assert!(!e.is_timeout());
                        assert_eq!(e.into_inner(), "d");
                    }
                    Ok(()) => panic!("cap {cap}: send_deadline on closed"),
                }
                assert_eq!(rx.recv(), None, "cap {cap}: nothing was delivered");
            }
        },
    );
}

#[test]
fn close_wakes_every_blocked_receiver() {
    common::watchdog("close wakes receivers", LIMIT, || {
        for cap in CAPS {
            let (tx, rx) = chan::<u32>(cap);
            let woke = Arc::new(AtomicUsize::new(0));
            let coros: Vec<_> = (0..20)
                .map(|_| {
                    let (rx, woke) = (rx.clone(), woke.clone());
                    goro::go!(move || {
                        assert_eq!(rx.recv(), None);
                        woke.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            let threads: Vec<_> = (0..3)
                .map(|_| {
                    let (rx, woke) = (rx.clone(), woke.clone());
                    std::thread::spawn(move || {
                        assert_eq!(
                            rx.recv_timeout(Duration::from_secs(120)),
                            Err(RecvTimeoutError::Closed)
                        );
                        woke.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(
                woke.load(Ordering::SeqCst),
                0,
                "cap {cap}: a receiver returned early"
            );
            // Close from a coroutine this time for the buffered ones.
            if cap % 2 == 0 {
                assert!(tx.close());
            } else {
                assert!(goro::go!(move || tx.close()).join().unwrap());
            }
            for c in coros {
                c.join().unwrap();
            }
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(woke.load(Ordering::SeqCst), 23);
        }
    });
}

#[test]
fn close_wakes_every_blocked_sender_with_its_value() {
    common::watchdog("close wakes senders", LIMIT, || {
        for cap in CAPS {
            let (tx, rx) = chan::<u64>(cap);
            for i in 0..cap as u64 {
                tx.send(1_000_000 + i).unwrap();
            }
            let coros: Vec<_> = (0..10u64)
                .map(|k| {
                    let tx = tx.clone();
                    goro::go!(move || tx.send(k))
                })
                .collect();
            let threads: Vec<_> = (10..13u64)
                .map(|k| {
                    let tx = tx.clone();
                    std::thread::spawn(move || tx.send_timeout(k, Duration::from_secs(120)))
                })
                .collect();
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(rx.len(), cap, "cap {cap}: a blocked sender got through");
            assert!(tx.close());
            let mut back: Vec<u64> = coros
                .into_iter()
                .map(|c| c.join().unwrap().unwrap_err().into_inner())
                .collect();
            for t in threads {
                match t.join().unwrap() {
                    Err(SendTimeoutError::Closed(v)) => back.push(v),
                    _ => panic!("cap {cap}: a blocked timed send must fail as Closed"),
                }
            }
            back.sort_unstable();
            assert_eq!(
                back,
                (0..13).collect::<Vec<_>>(),
                "cap {cap}: every sender got its own value back"
            );
            // The buffered values are still there, in order.
            let rest: Vec<u64> = rx.iter().collect();
            assert_eq!(
                rest,
                (0..cap as u64).map(|i| 1_000_000 + i).collect::<Vec<_>>()
            );
        }
    });
}

#[test]
fn dropping_the_last_receiver_fails_sends() {
    common::watchdog("receivers gone", LIMIT, || {
        for cap in CAPS {
            let (tx, rx) = chan::<String>(cap);
            for i in 0..cap {
                tx.send(i.to_string()).unwrap();
            }
            // Blocked senders (the channel is full / has no receiver waiting).
            let blocked: Vec<_> = (0..4)
                .map(|k| {
                    let tx = tx.clone();
                    goro::go!(move || tx.send(format!("blocked{k}")))
                })
                .collect();
            nap(Duration::from_millis(10));
            let rx2 = rx.clone();
            drop(rx);
            assert!(!tx.is_closed(), "cap {cap}: a receiver remains");
            drop(rx2);
            assert!(tx.is_closed(), "cap {cap}: no receiver left");
            for (k, h) in blocked.into_iter().enumerate() {
                let e = h.join().unwrap().unwrap_err();
                assert_eq!(e.into_inner(), format!("blocked{k}"));
            }
            assert_eq!(tx.send("late".into()), Err(SendError("late".to_string())));
            assert!(tx.try_send("late".into()).unwrap_err().is_closed());
        }
    });
}

/// A receive on a closed channel is always ready (Go's TestNonblockRecvRace):
/// a non-blocking select on a channel that holds a value or is closed never
/// takes `default`.
#[test]
fn closed_channel_is_always_ready_for_receive() {
    common::watchdog("nonblock recv race", LIMIT, || {
        goro::run(|| {
            for _ in 0..2000 {
                let (tx, rx) = chan::<u8>(1);
                tx.send(1).unwrap();
                let rx2 = rx.clone();
                let h = goro::go!(move || {
                    select! {
                        recv(rx2) -> _ => true,
                        default => false,
                    }
                });
                tx.close();
                let _ = rx.recv();
                assert!(h.join().unwrap(), "select took default on a ready channel");
            }
        });
    });
}

#[test]
fn close_wakes_blocked_selects() {
    common::watchdog("close wakes select", LIMIT, || {
        goro::run(|| {
            for cap in CAPS {
                let (tx, rx) = chan::<u32>(cap);
                let (_other_tx, other_rx) = chan::<u32>(0);
                let h = goro::go!(move || {
                    select! {
                        recv(other_rx) -> _ => panic!("nothing is sent on other"),
                        recv(rx) -> v => v,
                    }
                });
                nap(Duration::from_millis(5));
                tx.close();
                assert_eq!(h.join().unwrap(), None, "cap {cap}");

                // A blocked send case: the value expression runs (the case
                // was chosen) and comes back in the error.
                let (tx, rx) = chan::<u32>(cap);
                for i in 0..cap as u32 {
                    tx.send(i).unwrap();
                }
                let tx2 = tx.clone();
                let h = goro::go!(move || {
                    let (_keep, never_ready) = chan::<u8>(0);
                    select! {
                        recv(never_ready) -> _ => panic!("not ready"),
                        send(tx2, 77) -> r => r,
                    }
                });
                nap(Duration::from_millis(5));
                assert!(tx.close());
                assert_eq!(h.join().unwrap(), Err(SendError(77)), "cap {cap}");
                assert_eq!(rx.iter().count(), cap);
            }
        });
    });
}

/// Close races with senders and receivers: every value whose send returned
/// `Ok` is received exactly once, every failed send returns its value, and
/// everyone finishes.
fn close_race(caps: &[usize]) {
    goro::run({
        let caps = caps.to_vec();
        move || {
            for round in 0..40u64 {
                let cap = caps[round as usize % caps.len()];
                const PER: u64 = 300;
                const SENDERS: u64 = 4;
                let ledger = Ledger::new((SENDERS * PER) as usize);
                let (tx, rx) = chan::<u64>(cap);
                let returned = Arc::new(AtomicUsize::new(0));
                let senders: Vec<_> = (0..SENDERS)
                    .map(|s| {
                        let (tx, returned) = (tx.clone(), returned.clone());
                        goro::go!(move || {
                            let mut ok = 0u64;
                            for i in 0..PER {
                                let id = s * PER + i;
                                match tx.send(id) {
                                    Ok(()) => ok += 1,
                                    Err(SendError(v)) => {
                                        assert_eq!(v, id);
                                        returned.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                            }
                            ok
                        })
                    })
                    .collect();
                let receivers: Vec<_> = (0..3)
                    .map(|_| {
                        let (rx, ledger) = (rx.clone(), ledger.clone());
                        goro::go!(move || {
                            let mut n = 0u64;
                            while let Some(id) = rx.recv() {
                                ledger.mark(id);
                                n += 1;
                            }
                            n
                        })
                    })
                    .collect();
                drop(rx);
                // Close somewhere in the middle of the traffic.
                for _ in 0..(round % 7) * 20 {
                    goro::yield_now();
                }
                tx.close();
                let sent_ok: u64 = senders.into_iter().map(|h| h.join().unwrap()).sum();
                let received: u64 = receivers.into_iter().map(|h| h.join().unwrap()).sum();
                assert_eq!(
                    sent_ok, received,
                    "round {round} cap {cap}: Ok sends vs receives"
                );
                assert_eq!(ledger.count() as u64, received);
                assert_eq!(
                    sent_ok + returned.load(Ordering::Relaxed) as u64,
                    SENDERS * PER
                );
            }
        }
    });
}

#[test]
fn close_racing_with_traffic_loses_nothing_unbuffered() {
    common::for_each_procs(
        "close_racing_with_traffic_loses_nothing_unbuffered",
        Duration::from_secs(120),
        || {
            close_race(&[0]);
        },
    );
}

/// Same race on buffered channels, where a send may claim a slot before the
/// close and write it after (see
/// `close_with_a_send_in_flight_wakes_every_receiver`; this test hung about
/// 1 run in 10 under GOMAXPROCS=2 before that was fixed).
#[test]
fn close_racing_with_traffic_loses_nothing_buffered() {
    common::for_each_procs(
        "close_racing_with_traffic_loses_nothing_buffered",
        Duration::from_secs(120),
        || {
            close_race(&[1, 3, 64]);
        },
    );
}

/// A send that claimed a buffer slot before `close` and writes it after:
/// receivers that parked in between (the channel closed, the slot not yet
/// written) must all wake: one takes the value, the others see the channel
/// closed and drained. The `select!` send case makes the window
/// deterministic: its value expression runs after the slot is claimed.
#[test]
fn close_with_a_send_in_flight_wakes_every_receiver() {
    common::watchdog("close with send in flight", LIMIT, || {
        goro::run(|| {
            let (tx, rx) = chan::<u32>(1);
            let closer = tx.clone();
            let (claimed_tx, claimed_rx) = chan::<()>(0);
            let (release_tx, release_rx) = chan::<()>(0);
            let sender = goro::go!(move || {
                select! {
                    send(tx, {
                        claimed_tx.send(()).unwrap(); // the slot is claimed now
                        release_rx.recv();
                        5
                    }) -> r => r,
                }
            });
            claimed_rx.recv().unwrap();
            assert!(closer.close());
            let (res_tx, res_rx) = chan::<Option<u32>>(2);
            for _ in 0..2 {
                let (rx, res_tx) = (rx.clone(), res_tx.clone());
                goro::go!(move || res_tx.send(rx.recv()).unwrap());
            }
            nap(Duration::from_millis(20)); // both receivers park on the pending slot
            release_tx.send(()).unwrap();
            assert_eq!(
                sender.join().unwrap(),
                Ok(()),
                "the slot was claimed before the close"
            );
            let mut got = Vec::new();
            for _ in 0..2 {
                match res_rx.recv_timeout(Duration::from_secs(10)) {
                    Ok(v) => got.push(v),
                    Err(_) => panic!("a receiver never woke: got only {got:?}"),
                }
            }
            got.sort();
            assert_eq!(got, vec![None, Some(5)]);
        });
    });
}
