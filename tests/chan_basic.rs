//! Channel basics with Go's semantics: unbuffered rendezvous and direct
//! handoff, buffered FIFO with blocking when full, `len`/`cap`/`is_empty`,
//! the `try_*` and timed variants (deadlines never fire early), `never()`
//! (Go's nil channel), iterators, `same_channel`, zero-sized and large
//! messages, and plain threads talking to coroutines over the same channels.

mod chan_util;
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chan_util::nap;
use goro::chan::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError, chan, never};
use goro::select;

const LIMIT: Duration = Duration::from_secs(60);
/// How long a "still blocked" check waits before looking.
const SETTLE: Duration = Duration::from_millis(30);

#[test]
fn len_cap_is_empty() {
    common::watchdog(
        "len_cap_is_empty",
        std::time::Duration::from_secs(60),
        || {
            let (tx, rx) = chan::<u32>(0);
            assert_eq!((tx.len(), tx.cap(), rx.len(), rx.cap()), (0, 0, 0, 0));
            assert!(tx.is_empty() && rx.is_empty());
            for cap in [1usize, 2, 3, 7, 64, 1000] {
                let (tx, rx) = chan::<usize>(cap);
                assert_eq!((tx.cap(), rx.cap(), tx.len()), (cap, cap, 0));
                assert!(rx.is_empty());
                for i in 0..cap {
                    tx.send(i).unwrap();
                    assert_eq!((tx.len(), rx.len()), (i + 1, i + 1), "cap {cap}");
                    assert!(!rx.is_empty());
                }
                assert!(tx.try_send(0).unwrap_err().is_full());
                for i in 0..cap {
                    assert_eq!(rx.recv(), Some(i));
                    assert_eq!(rx.len(), cap - i - 1);
                }
                assert!(rx.is_empty());
                // Wrap around the ring a few times: len stays exact.
                for round in 0..3 * cap {
                    tx.send(round).unwrap();
                    let _ = tx.try_send(round);
                    let l = rx.len();
                    assert!((1..=2.min(cap)).contains(&l), "cap {cap} len {l}");
                    while rx.try_recv().is_ok() {}
                    assert_eq!(rx.len(), 0);
                }
            }
        },
    );
}

#[test]
fn unbuffered_send_blocks_until_a_receiver_takes_the_value() {
    common::watchdog("rendezvous", LIMIT, || {
        let (tx, rx) = chan::<u64>(0);
        let sent = Arc::new(AtomicBool::new(false));
        let s2 = sent.clone();
        let h = goro::go!(move || {
            tx.send(42).unwrap();
            s2.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(SETTLE);
        assert!(
            !sent.load(Ordering::SeqCst),
            "an unbuffered send completed with no receiver"
        );
        assert_eq!(rx.len(), 0, "nothing is buffered on an unbuffered channel");
        assert_eq!(rx.recv(), Some(42));
        h.join().unwrap();
        assert!(sent.load(Ordering::SeqCst));
    });
}

#[test]
fn unbuffered_receive_blocks_until_a_sender_arrives() {
    common::watchdog("rendezvous recv", LIMIT, || {
        let (tx, rx) = chan::<u64>(0);
        let got = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (rx, got) = (rx.clone(), got.clone());
                goro::go!(move || {
                    let v = rx.recv().unwrap();
                    got.fetch_add(v as usize, Ordering::SeqCst);
                })
            })
            .collect();
        std::thread::sleep(SETTLE);
        assert_eq!(
            got.load(Ordering::SeqCst),
            0,
            "a receive completed on an empty channel"
        );
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(got.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn unbuffered_handoff_leaves_nothing_behind() {
    common::watchdog("handoff", LIMIT, || {
        goro::run(|| {
            let (tx, rx) = chan::<u32>(0);
            let h = goro::go!(move || {
                for i in 0..1000 {
                    tx.send(i).unwrap();
                }
            });
            for i in 0..1000 {
                assert_eq!(rx.recv(), Some(i));
                assert_eq!(rx.len(), 0, "a value was buffered");
            }
            // Every send returned, so every value was taken by a receive.
            h.join().unwrap();
            assert_eq!(
                rx.try_recv(),
                Err(TryRecvError::Closed),
                "a value was left behind"
            );
        });
    });
}

#[test]
fn try_send_unbuffered_needs_a_waiting_receiver() {
    common::watchdog("try_send unbuffered", LIMIT, || {
        let (tx, rx) = chan::<String>(0);
        match tx.try_send("a".to_string()) {
            Err(TrySendError::Full(v)) => assert_eq!(v, "a"),
            other => panic!("expected Full, got {:?}", other.map_err(|e| e.is_closed())),
        }
        let h = goro::go!(move || rx.recv());
        // Retry until the receiver has parked; the value only ever moves once.
        let mut v = "b".to_string();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match tx.try_send(v) {
                Ok(()) => break,
                Err(e) => {
                    assert!(e.is_full());
                    v = e.into_inner();
                }
            }
            assert!(Instant::now() < deadline, "receiver never became ready");
            std::thread::yield_now();
        }
        assert_eq!(h.join().unwrap().as_deref(), Some("b"));
    });
}

#[test]
fn buffered_is_fifo_and_blocks_when_full() {
    common::watchdog("buffered full", LIMIT, || {
        for cap in [1usize, 2, 5, 16] {
            let (tx, rx) = chan::<usize>(cap);
            for i in 0..cap {
                tx.send(i).unwrap();
            }
            let sent = Arc::new(AtomicBool::new(false));
            let (tx2, s2) = (tx.clone(), sent.clone());
            let h = goro::go!(move || {
                tx2.send(cap).unwrap();
                s2.store(true, Ordering::SeqCst);
            });
            std::thread::sleep(SETTLE);
            assert!(
                !sent.load(Ordering::SeqCst),
                "cap {cap}: send on a full channel completed"
            );
            assert_eq!(rx.len(), cap);
            assert_eq!(rx.recv(), Some(0));
            h.join().unwrap();
            assert!(sent.load(Ordering::SeqCst));
            drop(tx);
            let rest: Vec<usize> = rx.iter().collect();
            assert_eq!(rest, (1..=cap).collect::<Vec<_>>(), "cap {cap}: FIFO order");
        }
    });
}

/// Go's TestChan, per capacity: receive from empty blocks, send to full
/// blocks, close drains then yields `None`, close unblocks receivers, FIFO
/// with one sender, and many senders/receivers lose nothing.
#[test]
fn go_chan_matrix() {
    common::watchdog("go_chan_matrix", Duration::from_secs(120), || {
        goro::run(|| {
            for cap in [0usize, 1, 2, 3, 7, 10, 50] {
                // FIFO from one sender, through a coroutine.
                let (tx, rx) = chan::<usize>(cap);
                goro::go!(move || {
                    for i in 0..200 {
                        tx.send(i).unwrap();
                    }
                });
                for i in 0..200 {
                    assert_eq!(rx.recv(), Some(i), "cap {cap}");
                }
                assert_eq!(rx.recv(), None);

                // Close unblocks a blocked receiver.
                let (tx, rx) = chan::<usize>(cap);
                let h = goro::go!(move || rx.recv());
                nap(Duration::from_millis(2));
                assert!(tx.close());
                assert_eq!(h.join().unwrap(), None, "cap {cap}");

                // Non-blocking receive on empty and non-blocking send on full.
                let (tx, rx) = chan::<usize>(cap);
                let ready = select! {
                    recv(rx) -> _ => true,
                    default => false,
                };
                assert!(!ready, "cap {cap}: receive from an empty channel was ready");
                for i in 0..cap {
                    tx.send(i).unwrap();
                }
                let ready = select! {
                    send(tx, 0) -> _ => true,
                    default => false,
                };
                assert!(!ready, "cap {cap}: send to a full channel was ready");

                // Many senders and receivers: the sum comes out right.
                let (tx, rx) = chan::<usize>(cap);
                let (sum_tx, sum_rx) = chan::<usize>(0);
                for _ in 0..4 {
                    let (rx, sum_tx) = (rx.clone(), sum_tx.clone());
                    goro::go!(move || sum_tx.send(rx.iter().sum()).unwrap());
                }
                drop(sum_tx);
                let senders: Vec<_> = (0..4)
                    .map(|_| {
                        let tx = tx.clone();
                        goro::go!(move || {
                            for i in 0..500 {
                                tx.send(i).unwrap();
                            }
                        })
                    })
                    .collect();
                for s in senders {
                    s.join().unwrap();
                }
                drop(tx);
                drop(rx);
                let total: usize = sum_rx.iter().sum();
                assert_eq!(total, 4 * (0..500).sum::<usize>(), "cap {cap}");
            }
        });
    });
}

#[test]
fn try_recv_reports_empty_then_closed() {
    for cap in [0usize, 3] {
        let (tx, rx) = chan::<u8>(cap);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        if cap > 0 {
            tx.try_send(9).unwrap();
            assert_eq!(rx.try_recv(), Ok(9));
        }
        drop(tx);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(
            rx.try_recv(),
            Err(TryRecvError::Closed),
            "closed stays closed"
        );
    }
}

#[test]
fn timeouts_fire_and_are_never_early() {
    common::watchdog("timeouts", LIMIT, || {
        let check = || {
            for cap in [0usize, 1] {
                let (tx, rx) = chan::<String>(cap);
                if cap == 1 {
                    tx.send("fill".into()).unwrap();
                }
                for ms in [0u64, 1, 5, 20] {
                    let d = Duration::from_millis(ms);
                    let t = Instant::now();
                    match tx.send_timeout(format!("v{ms}"), d) {
                        Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, format!("v{ms}")),
                        other => panic!("cap {cap}: expected a timeout, got ok={}", other.is_ok()),
                    }
                    assert!(
                        t.elapsed() >= d,
                        "send_timeout({d:?}) returned after {:?}",
                        t.elapsed()
                    );

                    let t = Instant::now();
                    let deadline = t + d;
                    let e = tx.send_deadline("x".into(), deadline).unwrap_err();
                    assert!(e.is_timeout());
                    assert!(Instant::now() >= deadline);
                }
                let (_tx2, rx2) = chan::<u8>(cap);
                for ms in [0u64, 1, 5, 20] {
                    let d = Duration::from_millis(ms);
                    let t = Instant::now();
                    assert_eq!(rx2.recv_timeout(d), Err(RecvTimeoutError::Timeout));
                    assert!(
                        t.elapsed() >= d,
                        "recv_timeout({d:?}) returned after {:?}",
                        t.elapsed()
                    );
                    let deadline = Instant::now() + d;
                    assert_eq!(rx2.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
                    assert!(Instant::now() >= deadline);
                }
                drop(rx);
            }
        };
        check(); // on a plain thread
        goro::run(check); // on a coroutine
    });
}

#[test]
fn timed_operations_succeed_when_the_peer_comes() {
    common::watchdog("timed ok", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 1] {
                let (tx, rx) = chan::<u32>(cap);
                let h = goro::go!(move || {
                    nap(Duration::from_millis(5));
                    tx.send_timeout(7, Duration::from_secs(30)).unwrap();
                    tx.send_deadline(8, Instant::now() + Duration::from_secs(30))
                        .unwrap();
                });
                assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(7));
                assert_eq!(
                    rx.recv_deadline(Instant::now() + Duration::from_secs(30)),
                    Ok(8)
                );
                h.join().unwrap();
                assert_eq!(
                    rx.recv_timeout(Duration::from_secs(30)),
                    Err(RecvTimeoutError::Closed)
                );
            }
        });
    });
}

#[test]
fn zero_and_huge_timeouts() {
    common::watchdog("zero/huge timeouts", LIMIT, || {
        goro::run(|| {
            // A zero timeout still takes what is ready.
            let (tx, rx) = chan::<u32>(1);
            tx.send_timeout(1, Duration::ZERO).unwrap();
            assert_eq!(rx.recv_timeout(Duration::ZERO), Ok(1));
            // Unbuffered: a parked peer is ready for a zero-timeout partner.
            let (tx, rx) = chan::<u32>(0);
            let h = goro::go!(move || rx.recv());
            let mut v = 5;
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match tx.send_timeout(v, Duration::ZERO) {
                    Ok(()) => break,
                    Err(e) => v = e.into_inner(),
                }
                assert!(Instant::now() < deadline);
                goro::yield_now();
            }
            assert_eq!(h.join().unwrap(), Some(5));
            // A timeout too large for `Instant` waits like a plain call.
            let (tx, rx) = chan::<u32>(0);
            let h = goro::go!(move || rx.recv_timeout(Duration::MAX));
            nap(Duration::from_millis(2));
            tx.send_timeout(6, Duration::MAX).unwrap();
            assert_eq!(h.join().unwrap(), Ok(6));
        });
    });
}

#[test]
fn never_never_delivers() {
    common::watchdog("never", LIMIT, || {
        let rx = never::<u32>();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert!(!rx.is_closed());
        assert_eq!((rx.len(), rx.cap()), (0, 0));
        let t = Instant::now();
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(10)),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(t.elapsed() >= Duration::from_millis(10));
        let rx2 = rx.clone();
        drop(rx);
        assert_eq!(
            rx2.try_recv(),
            Err(TryRecvError::Empty),
            "dropping a clone closes nothing"
        );
        assert!(
            !never::<u8>().same_channel(&never::<u8>()),
            "each never() is its own channel"
        );
        goro::run(|| {
            let t = Instant::now();
            let rx = never::<String>();
            assert_eq!(
                rx.recv_deadline(t + Duration::from_millis(10)),
                Err(RecvTimeoutError::Timeout)
            );
            assert!(t.elapsed() >= Duration::from_millis(10));
            assert_eq!(rx.try_iter().count(), 0);
        });
    });
}

#[test]
fn iterators_end_at_close() {
    common::watchdog("iterators", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 4] {
                let make = |n: u32| {
                    let (tx, rx) = chan::<u32>(cap);
                    goro::go!(move || {
                        for i in 0..n {
                            tx.send(i).unwrap();
                        }
                    });
                    rx
                };
                let rx = make(10);
                let mut v = Vec::new();
                for x in &rx {
                    v.push(x);
                }
                assert_eq!(v, (0..10).collect::<Vec<_>>());
                assert_eq!(rx.recv(), None);

                let rx = make(10);
                assert_eq!(rx.iter().sum::<u32>(), 45);
                let rx = make(10);
                assert_eq!(
                    rx.into_iter().collect::<Vec<_>>(),
                    (0..10).collect::<Vec<_>>()
                );
                let rx = make(5);
                let mut n = 0;
                for x in rx {
                    assert_eq!(x, n);
                    n += 1;
                }
                assert_eq!(n, 5);
            }
            // try_iter: only what is ready, never blocks, ends when empty.
            let (tx, rx) = chan::<u32>(8);
            assert_eq!(rx.try_iter().count(), 0);
            for i in 0..5 {
                tx.send(i).unwrap();
            }
            assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
            assert_eq!(rx.try_iter().count(), 0, "still open, nothing ready");
            tx.send(9).unwrap();
            drop(tx);
            assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![9]);
        });
    });
}

#[test]
fn same_channel_and_clones() {
    common::watchdog(
        "same_channel_and_clones",
        std::time::Duration::from_secs(60),
        || {
            let (tx, rx) = chan::<u8>(1);
            let (tx2, rx2) = chan::<u8>(1);
            assert!(tx.same_channel(&tx.clone()));
            assert!(rx.same_channel(&rx.clone()));
            assert!(!tx.same_channel(&tx2));
            assert!(!rx.same_channel(&rx2));
            // A clone of either end keeps the channel open.
            let tx3 = tx.clone();
            drop(tx);
            assert!(!rx.is_closed());
            tx3.send(1).unwrap();
            let rx3 = rx.clone();
            drop(rx);
            assert_eq!(rx3.recv(), Some(1));
            assert!(format!("{tx3:?}").contains("Sender"));
            assert!(format!("{rx3:?}").contains("Receiver"));
            drop((tx2, rx2));
        },
    );
}

#[test]
fn zero_sized_and_large_messages() {
    common::watchdog("zst/large", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 1, 3] {
                let (tx, rx) = chan::<()>(cap);
                let h = goro::go!(move || {
                    for _ in 0..100 {
                        tx.send(()).unwrap();
                    }
                });
                assert_eq!(rx.iter().count(), 100);
                h.join().unwrap();

                // 4 KiB values move intact through both flavors.
                let (tx, rx) = chan::<Box<[u64; 512]>>(cap);
                let (btx, brx) = chan::<[u64; 512]>(cap);
                let h = goro::go!(move || {
                    for i in 0..50u64 {
                        tx.send(Box::new([i; 512])).unwrap();
                        btx.send([i * 3; 512]).unwrap();
                    }
                });
                for i in 0..50u64 {
                    let b = rx.recv().unwrap();
                    assert!(b.iter().all(|&x| x == i));
                    let a = brx.recv().unwrap();
                    assert!(a.iter().all(|&x| x == i * 3));
                }
                h.join().unwrap();
            }
        });
    });
}

/// Plain OS threads and coroutines on the same channels, both directions,
/// buffered and unbuffered: a chain thread → coroutine → thread → coroutine
/// and back, plus a thread and a coroutine receiving from one channel.
#[test]
fn threads_and_coroutines_share_channels() {
    common::watchdog("threads <-> coroutines", LIMIT, || {
        for cap in [0usize, 1, 16] {
            const N: u64 = 2000;
            let (a_tx, a_rx) = chan::<u64>(cap);
            let (b_tx, b_rx) = chan::<u64>(cap);
            let (c_tx, c_rx) = chan::<u64>(cap);
            // coroutine: a -> b (+1)
            let c1 = goro::go!(move || {
                for v in a_rx {
                    b_tx.send(v + 1).unwrap();
                }
            });
            // thread: b -> c (*2)
            let t1 = std::thread::spawn(move || {
                for v in b_rx {
                    c_tx.send(v * 2).unwrap();
                }
            });
            // thread feeds a, coroutine drains c.
            let feeder = std::thread::spawn(move || {
                for i in 0..N {
                    a_tx.send(i).unwrap();
                }
            });
            let sum = goro::go!(move || c_rx.iter().sum::<u64>()).join().unwrap();
            feeder.join().unwrap();
            t1.join().unwrap();
            c1.join().unwrap();
            assert_eq!(sum, (0..N).map(|i| (i + 1) * 2).sum::<u64>(), "cap {cap}");

            // One channel, receivers of both kinds, senders of both kinds.
            let (tx, rx) = chan::<u64>(cap);
            let got = Arc::new(AtomicUsize::new(0));
            let mut threads = Vec::new();
            let mut coros = Vec::new();
            for k in 0..2 {
                let (rx1, got1) = (rx.clone(), got.clone());
                threads.push(std::thread::spawn(move || {
                    for v in &rx1 {
                        got1.fetch_add(v as usize, Ordering::Relaxed);
                    }
                }));
                let (rx2, got2) = (rx.clone(), got.clone());
                coros.push(goro::go!(move || {
                    for v in &rx2 {
                        got2.fetch_add(v as usize, Ordering::Relaxed);
                    }
                }));
                let tx2 = tx.clone();
                threads.push(std::thread::spawn(move || {
                    for i in 0..500 {
                        tx2.send(k * 1000 + i).unwrap();
                    }
                }));
                let tx2 = tx.clone();
                coros.push(goro::go!(move || {
                    for i in 0..500 {
                        tx2.send(k * 1000 + i).unwrap();
                    }
                }));
            }
            drop((tx, rx));
            for t in threads {
                t.join().unwrap();
            }
            for c in coros {
                c.join().unwrap();
            }
            let want: u64 = (0..2)
                .map(|k| (0..500).map(|i| 2 * (k * 1000 + i)).sum::<u64>())
                .sum();
            assert_eq!(got.load(Ordering::Relaxed) as u64, want, "cap {cap}");
        }
    });
}
