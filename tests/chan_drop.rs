//! Ownership of messages, checked with a drop-counted type: every value is
//! dropped exactly once whether it is received, left buffered when the
//! channel goes away, handed back by a failed `send` / `try_send` /
//! `send_timeout`, offered by a `select!` send case that loses (never
//! constructed), or taken by a select whose value expression panics.

mod chan_util;
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use chan_util::{Counts, Tracked, nap};
use goro::chan::{Select, SendTimeoutError, TrySendError, chan};
use goro::select;

const LIMIT: Duration = Duration::from_secs(60);

/// A send case's value expression that fails after building a value (which
/// the unwind drops).
fn failing_value(counts: &std::sync::Arc<Counts>) -> Tracked {
    let _t = Tracked::new(counts, 1);
    panic!("value expression fails");
}

fn failing_value_u32() -> u32 {
    panic!("value expression fails");
}

#[test]
fn buffered_leftovers_are_dropped_once_whatever_the_drop_order() {
    common::watchdog(
        "buffered_leftovers_are_dropped_once_whatever_the_drop_order",
        std::time::Duration::from_secs(60),
        || {
            for order in 0..4 {
                for cap in [1usize, 2, 7, 32] {
                    let counts = Counts::new();
                    let (tx, rx) = chan::<Tracked>(cap);
                    // Move the ring's start so the leftovers straddle its end.
                    for i in 0..(cap as u64 / 2 + 1) {
                        tx.send(Tracked::new(&counts, i)).unwrap();
                        drop(rx.try_recv().unwrap());
                    }
                    for i in 0..cap as u64 {
                        tx.send(Tracked::new(&counts, 100 + i)).unwrap();
                    }
                    let left = rx.len();
                    assert_eq!(left, cap);
                    assert_eq!(
                        counts.live(),
                        left,
                        "cap {cap}: exactly the buffered values are alive"
                    );
                    match order {
                        0 => drop((tx, rx)),
                        1 => drop((rx, tx)),
                        2 => {
                            tx.close();
                            drop(tx);
                            assert_eq!(counts.live(), left, "closing drops nothing");
                            drop(rx);
                        }
                        _ => {
                            let rx2 = rx.clone();
                            drop(rx);
                            drop(tx);
                            assert_eq!(counts.live(), left);
                            drop(rx2);
                        }
                    }
                    assert_eq!(
                        counts.live(),
                        0,
                        "order {order} cap {cap}: leftovers not dropped"
                    );
                    assert_eq!(counts.dropped(), counts.made());
                }
            }
        },
    );
}

#[test]
fn received_values_are_moved_not_copied() {
    common::watchdog("moved", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 1, 8] {
                let counts = Counts::new();
                let (tx, rx) = chan::<Tracked>(cap);
                let c2 = counts.clone();
                let h = goro::go!(move || {
                    for i in 0..500 {
                        tx.send(Tracked::new(&c2, i)).unwrap();
                    }
                });
                let mut kept = Vec::new();
                for i in 0..500 {
                    let v = rx.recv().unwrap();
                    assert_eq!(v.id, i);
                    if i % 2 == 0 {
                        kept.push(v);
                    }
                }
                h.join().unwrap();
                assert_eq!(counts.made(), 500);
                assert_eq!(counts.live(), 250, "cap {cap}");
                drop(kept);
                drop(rx);
                assert_eq!(counts.live(), 0);
            }
        });
    });
}

#[test]
fn failed_sends_hand_the_value_back() {
    common::watchdog("failed sends", LIMIT, || {
        for cap in [0usize, 1] {
            let counts = Counts::new();
            let (tx, rx) = chan::<Tracked>(cap);
            if cap == 1 {
                tx.send(Tracked::new(&counts, 100)).unwrap();
            }
            // Full (or no receiver waiting).
            match tx.try_send(Tracked::new(&counts, 1)) {
                Err(TrySendError::Full(v)) => assert_eq!(v.id, 1),
                _ => panic!("cap {cap}: expected Full"),
            }
            // Timeout.
            match tx.send_timeout(Tracked::new(&counts, 2), Duration::from_millis(2)) {
                Err(SendTimeoutError::Timeout(v)) => assert_eq!(v.id, 2),
                _ => panic!("cap {cap}: expected Timeout"),
            }
            assert_eq!(
                counts.live(),
                cap,
                "cap {cap}: only the buffered value is alive"
            );
            // Closed.
            tx.close();
            assert_eq!(
                tx.send(Tracked::new(&counts, 3))
                    .unwrap_err()
                    .into_inner()
                    .id,
                3
            );
            assert!(
                tx.try_send(Tracked::new(&counts, 4))
                    .unwrap_err()
                    .is_closed()
            );
            match tx.send_timeout(Tracked::new(&counts, 5), Duration::from_secs(10)) {
                Err(SendTimeoutError::Closed(v)) => assert_eq!(v.id, 5),
                _ => panic!("cap {cap}: expected Closed"),
            }
            assert_eq!(counts.live(), cap);
            drop((tx, rx));
            assert_eq!(counts.live(), 0, "cap {cap}");
        }
    });
}

#[test]
fn blocked_senders_get_their_values_back_when_receivers_go() {
    common::watchdog("blocked senders", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 2] {
                let counts = Counts::new();
                let (tx, rx) = chan::<Tracked>(cap);
                for i in 0..cap as u64 {
                    tx.send(Tracked::new(&counts, i)).unwrap();
                }
                let hs: Vec<_> = (0..5u64)
                    .map(|k| {
                        let (tx, counts) = (tx.clone(), counts.clone());
                        goro::go!(move || {
                            let e = tx.send(Tracked::new(&counts, 10 + k)).unwrap_err();
                            assert_eq!(e.0.id, 10 + k);
                            // dropped here
                        })
                    })
                    .collect();
                nap(Duration::from_millis(5));
                drop(rx);
                for h in hs {
                    h.join().unwrap();
                }
                assert_eq!(
                    counts.live(),
                    0,
                    "cap {cap}: the buffered ones went with the last receiver"
                );
                drop(tx);
                assert_eq!(counts.live(), 0, "cap {cap}");
            }
        });
    });
}

#[test]
fn losing_select_send_cases_never_construct_their_value() {
    common::watchdog("lazy send", LIMIT, || {
        goro::run(|| {
            let counts = Counts::new();
            let (a_tx, a_rx) = chan::<Tracked>(1);
            let (b_tx, b_rx) = chan::<Tracked>(0); // nobody receives: never ready
            let (c_tx, c_rx) = chan::<Tracked>(1);
            c_tx.send(Tracked::new(&counts, 0)).unwrap(); // full: never ready
            for i in 0..200 {
                let made = counts.made();
                select! {
                    send(b_tx, Tracked::new(&counts, 1000 + i)) -> _ => panic!("no receiver on b"),
                    send(a_tx, Tracked::new(&counts, i)) -> r => r.unwrap(),
                    send(c_tx, Tracked::new(&counts, 2000 + i)) -> _ => panic!("c is full"),
                }
                assert_eq!(
                    counts.made(),
                    made + 1,
                    "only the winning case's value was built"
                );
                assert_eq!(a_rx.recv().unwrap().id, i);
            }
            // With several ready cases, still exactly one value is built.
            let (d_tx, d_rx) = chan::<Tracked>(1);
            let (e_tx, e_rx) = chan::<Tracked>(1);
            for i in 0..200 {
                let made = counts.made();
                select! {
                    send(d_tx, Tracked::new(&counts, i)) -> r => r.unwrap(),
                    send(e_tx, Tracked::new(&counts, i)) -> r => r.unwrap(),
                }
                assert_eq!(counts.made(), made + 1);
                let got = d_rx.try_iter().chain(e_rx.try_iter()).count();
                assert_eq!(got, 1, "exactly one send case completed");
            }
            // A default case builds nothing.
            let made = counts.made();
            let took_default = select! {
                send(b_tx, Tracked::new(&counts, 9)) -> _ => false,
                default => true,
            };
            assert!(took_default);
            assert_eq!(counts.made(), made);
            drop((a_tx, a_rx, b_tx, b_rx, c_tx, c_rx, d_tx, d_rx, e_tx, e_rx));
            assert_eq!(counts.live(), 0);
        });
    });
}

#[test]
fn select_send_on_closed_channel_returns_the_value() {
    common::watchdog(
        "select_send_on_closed_channel_returns_the_value",
        std::time::Duration::from_secs(60),
        || {
            let counts = Counts::new();
            let (tx, rx) = chan::<Tracked>(0);
            tx.close();
            let back = select! {
                send(tx, Tracked::new(&counts, 7)) -> r => r.unwrap_err().into_inner(),
            };
            assert_eq!(back.id, 7);
            assert_eq!(counts.live(), 1);
            drop(back);
            drop((tx, rx));
            assert_eq!(counts.live(), 0);
        },
    );
}

/// The value expression of a winning send case panics: the reservation is
/// released, nothing is delivered or dropped twice, and a receiver that was
/// chosen as the partner keeps waiting for the next real value.
#[test]
fn panicking_send_value_releases_the_reservation() {
    common::watchdog("panicking value", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 1, 4] {
                let counts = Counts::new();
                let (tx, rx) = chan::<Tracked>(cap);
                let c2 = counts.clone();
                let receiver = goro::go!(move || rx.recv().map(|t| t.id));
                nap(Duration::from_millis(5)); // the receiver parks (a partner for cap 0)
                let r = catch_unwind(AssertUnwindSafe(|| {
                    select! {
                        send(tx, failing_value(&c2)) -> _ => {},
                    }
                }));
                assert!(r.is_err());
                assert_eq!(
                    counts.live(),
                    0,
                    "cap {cap}: the half-built value was dropped once"
                );
                tx.send(Tracked::new(&counts, 2)).unwrap();
                assert_eq!(
                    receiver.join().unwrap(),
                    Some(2),
                    "cap {cap}: the receiver got the real value"
                );
                assert_eq!(counts.live(), 0);
                // The channel still works both ways.
                let (tx, rx) = chan::<Tracked>(cap);
                let c3 = counts.clone();
                let h = goro::go!(move || {
                    for i in 0..10 {
                        tx.send(Tracked::new(&c3, i)).unwrap();
                    }
                });
                assert_eq!(
                    rx.iter().map(|t| t.id).collect::<Vec<_>>(),
                    (0..10).collect::<Vec<_>>()
                );
                h.join().unwrap();
                assert_eq!(counts.live(), 0);
            }
        });
    });
}

#[test]
fn dropped_selected_operations_release_or_drop_exactly_once() {
    common::watchdog("dropped ops", LIMIT, || {
        // A send operation dropped without completing sends nothing.
        for cap in [1usize, 2, 3] {
            let counts = Counts::new();
            let (tx, rx) = chan::<Tracked>(cap);
            {
                let mut sel = Select::new();
                sel.send(&tx);
                let op = sel.try_select().expect("room in the buffer");
                drop(op);
            }
            tx.send(Tracked::new(&counts, 1)).unwrap();
            assert_eq!(
                rx.try_recv().unwrap().id,
                1,
                "cap {cap}: the released slot is skipped"
            );
            assert!(rx.try_recv().is_err());
            drop((tx, rx));
            assert_eq!(counts.live(), 0);
        }
        // A receive operation dropped without completing panics and drops
        // the reserved message (documented), exactly once.
        let counts = Counts::new();
        let (tx, rx) = chan::<Tracked>(2);
        tx.send(Tracked::new(&counts, 1)).unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| {
            let mut sel = Select::new();
            sel.recv(&rx);
            let op = sel.select();
            drop(op);
        }));
        assert!(
            r.is_err(),
            "dropping an uncompleted receive operation panics"
        );
        assert_eq!(counts.live(), 0, "its message was dropped once");
        tx.send(Tracked::new(&counts, 2)).unwrap();
        assert_eq!(rx.recv().unwrap().id, 2);
        assert_eq!(counts.live(), 0);
    });
}

#[test]
fn many_parties_lose_nothing() {
    common::watchdog("tracked mpmc", LIMIT, || {
        goro::run(|| {
            for cap in [0usize, 1, 16] {
                let counts = Counts::new();
                let (tx, rx) = chan::<Tracked>(cap);
                let senders: Vec<_> = (0..4u64)
                    .map(|s| {
                        let (tx, counts) = (tx.clone(), counts.clone());
                        goro::go!(move || {
                            for i in 0..250 {
                                tx.send(Tracked::new(&counts, s * 1000 + i)).unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let receivers: Vec<_> = (0..4)
                    .map(|k| {
                        let rx = rx.clone();
                        goro::go!(move || {
                            // Stop early on one receiver: its share stays in
                            // the channel or goes to the others.
                            let mut n = 0;
                            while let Some(t) = rx.recv() {
                                drop(t);
                                n += 1;
                                if k == 0 && n == 50 {
                                    break;
                                }
                            }
                            n
                        })
                    })
                    .collect();
                drop(rx);
                for s in senders {
                    s.join().unwrap();
                }
                let got: usize = receivers.into_iter().map(|h| h.join().unwrap()).sum();
                assert_eq!(got, 1000, "cap {cap}");
                assert_eq!(counts.made(), 1000);
                assert_eq!(counts.live(), 0, "cap {cap}");
            }
        });
    });
}

/// A send reservation that is abandoned (a `SelectedOperation` for a send
/// dropped uncompleted, or a `select!` send value expression that panicked)
/// on an otherwise empty buffered channel must give its slot back: the
/// channel is empty, so a send must not block and `len()` is 0.
#[test]
fn abandoned_send_reservation_frees_its_slot() {
    common::watchdog("abandoned slot", LIMIT, || {
        let (tx, rx) = chan::<u32>(1);
        {
            let mut sel = Select::new();
            sel.send(&tx);
            drop(sel.try_select().expect("an empty channel has room"));
        }
        assert_eq!(
            rx.len(),
            0,
            "nothing can be received, so nothing is buffered"
        );
        assert!(
            tx.try_send(1).is_ok(),
            "an empty channel of capacity 1 has room"
        );
        assert_eq!(rx.try_recv(), Ok(1));

        let r = catch_unwind(AssertUnwindSafe(|| {
            select! {
                send(tx, failing_value_u32()) -> _ => {},
            }
        }));
        assert!(r.is_err());
        assert!(
            tx.send_timeout(2, Duration::from_secs(5)).is_ok(),
            "an empty channel of capacity 1 has room"
        );
        assert_eq!(rx.try_recv(), Ok(2));
    });
}

/// The same when the abandoned reservation is no longer the latest claim: a
/// later send filled the next slot before the reservation was dropped. One
/// value is buffered in a channel of capacity 2, so there is room for one
/// more and `len()` is 1.
#[test]
fn abandoned_send_reservation_behind_a_later_send_frees_its_slot() {
    common::watchdog("abandoned slot behind a send", LIMIT, || {
        let (tx, rx) = chan::<u32>(2);
        let tx2 = tx.clone();
        let mut sel = Select::new();
        sel.send(&tx);
        let op = sel.try_select().expect("an empty channel has room");
        tx2.try_send(1).expect("the second slot is free");
        drop(op);
        assert_eq!(rx.len(), 1, "one value is buffered");
        assert!(
            tx2.try_send(2).is_ok(),
            "a channel of capacity 2 holding one value has room"
        );
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
    });
}
