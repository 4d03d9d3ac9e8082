//! Channel semantics that Go and crossbeam-channel users rely on (issue 12):
//!
//! * non-blocking operations (`try_recv`, `try_send`, `select!` with
//!   `default`, timed operations with a zero timeout) are linearizable with
//!   completed operations on the same channel;
//! * a receive from a full buffer with a parked sender completes that
//!   sender's send before it returns (Go's `recv` with a waiting sender;
//!   `chan/src/array/blocking.rs`, rules H1–H3), so the send succeeds even
//!   if the last receiver goes right after; a woken `select!` sender whose
//!   value expression panics gives its reserved slot back;
//! * dropping the last `Receiver` drops the buffered values at once, and
//!   parked senders get theirs back; nothing is lost, leaked or dropped
//!   twice (drop-counted values, `Weak`);
//! * `select!` over anything that dereferences to a handle, crossbeam's
//!   `default()`; handles are `UnwindSafe`; `is_full`.
//!
//! Stress scenarios run in child processes under several `GOMAXPROCS`
//! values (`tests/common`); every test has a watchdog.

mod chan_util;
mod common;

use std::ops::Deref;
use std::panic::{RefUnwindSafe, UnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use chan_util::{Counts, Tracked, nap};
use goro::chan::{Receiver, Sender, TryRecvError, TrySendError, chan, never};
use goro::select;

const LIMIT: Duration = Duration::from_secs(120);
/// Iterations per coroutine in the linearizability scenarios.
const ITERS: usize = 100_000;
/// Long enough for a running sender to reach its park (it spins a few
/// microseconds at most first); under `GOMAXPROCS=1` the sleeping test
/// coroutine lets it run until it parks, whatever the time.
const PARK_TIME: Duration = Duration::from_millis(50);

/// Spawns `send` (a coroutine that will park on a full buffer) and returns
/// once it has started and then had [`PARK_TIME`] to reach its park.
/// Waiting for the start first keeps a busy machine from failing the test:
/// a new coroutine can sit in a run queue for a while, but once running it
/// reaches its park within microseconds.
fn spawn_parked_sender<R: Send + 'static>(
    send: impl FnOnce() -> R + Send + 'static,
) -> goro::JoinHandle<R> {
    let started = Arc::new(AtomicBool::new(false));
    let s2 = started.clone();
    let h = goro::go!(move || {
        s2.store(true, Ordering::SeqCst);
        send()
    });
    while !started.load(Ordering::SeqCst) {
        nap(Duration::from_millis(1));
    }
    nap(PARK_TIME);
    h
}

// ---------------------------------------------------------------------------
// Linearizable non-blocking operations

/// How a coroutine receives without waiting; all must see a value that a
/// completed send left.
fn receive_now(rx: &Receiver<u64>, how: usize) -> Option<u64> {
    match how % 3 {
        0 => rx.try_recv().ok(),
        1 => select! {
            recv(rx) -> v => v,
            default => None,
        },
        _ => rx.recv_timeout(Duration::ZERO).ok(),
    }
}

/// Go's and crossbeam's guarantee: 4 coroutines on a channel of capacity
/// 4, each sending and then receiving without waiting. Each coroutine has
/// received one value fewer than it sent when it receives, so at that
/// moment the channel holds at least one value: a non-blocking receive
/// must never find it empty (it used to when the head slot was claimed by
/// a sender still writing it while a later slot held a complete message).
#[test]
fn nonblocking_receive_sees_a_completed_send() {
    let name = "nonblocking_receive_sees_a_completed_send";
    common::for_procs(name, &[2, 8], LIMIT, || {
        goro::run(|| {
            let (tx, rx) = chan::<u64>(4);
            let received = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..4u64)
                .map(|c| {
                    let (tx, rx, received) = (tx.clone(), rx.clone(), received.clone());
                    goro::go!(move || {
                        let mut missed = 0usize;
                        for i in 0..ITERS {
                            tx.send(c * ITERS as u64 + i as u64).unwrap();
                            match receive_now(&rx, i) {
                                Some(_) => {
                                    received.fetch_add(1, Ordering::Relaxed);
                                }
                                None => missed += 1,
                            }
                        }
                        missed
                    })
                })
                .collect();
            let missed: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(
                missed, 0,
                "non-blocking receives found a non-empty channel empty"
            );
            assert_eq!(received.load(Ordering::Relaxed), 4 * ITERS);
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "nothing left over");
        });
    });
}

/// A `select!` send case claims its slot before its value expression runs
/// (the value is evaluated only if the case wins). While that expression
/// blocks, no send on the channel has completed, so a non-blocking receive
/// answers "empty" at once, as in Go (which evaluates the value before
/// selecting), instead of waiting for the expression (`array.rs`, rule
/// L2). Before L2 it waited forever here: the expression waits for the
/// acknowledgement that the receiving side sends only afterwards. Once a
/// later send has completed behind the pending slot, the receive does wait
/// for it (rule L1), and gets the values in order.
#[test]
fn nonblocking_receive_does_not_wait_for_a_send_value_expression() {
    let name = "nonblocking_receive_does_not_wait_for_a_send_value_expression";
    common::for_each_procs(name, LIMIT, || {
        goro::run(|| {
            for how in 0..3 {
                let (tx, rx) = chan::<u64>(2);
                let (ack_tx, ack_rx) = chan::<u64>(0);
                let tx2 = tx.clone();
                let h = goro::go!(move || {
                    select! { send(tx2, ack_rx.recv().unwrap()) -> r => r.unwrap() }
                });
                // Let the select claim its slot and block in the expression.
                nap(PARK_TIME);
                assert_eq!(
                    receive_now(&rx, how),
                    None,
                    "way {how}: nothing was sent yet"
                );
                ack_tx.send(7).unwrap();
                h.join().unwrap();
                assert_eq!(receive_now(&rx, how), Some(7), "way {how}");
            }
        });
    });
}

/// How a coroutine sends without waiting; all must see the room that a
/// completed receive made.
fn send_now(tx: &Sender<u64>, v: u64, how: usize) -> bool {
    match how % 3 {
        0 => tx.try_send(v).is_ok(),
        1 => select! {
            send(tx, v) -> r => r.is_ok(),
            default => false,
        },
        _ => tx.send_timeout(v, Duration::ZERO).is_ok(),
    }
}

/// The mirror image: a channel of capacity 4 starts full; 4 coroutines
/// each receive and then send without waiting. Each has sent one value
/// fewer than it received when it sends, so there is room: a non-blocking
/// send must never find the channel full.
#[test]
fn nonblocking_send_sees_room_a_completed_receive_made() {
    let name = "nonblocking_send_sees_room_a_completed_receive_made";
    common::for_procs(name, &[2, 8], LIMIT, || {
        goro::run(|| {
            let (tx, rx) = chan::<u64>(4);
            for v in 0..4 {
                tx.send(v).unwrap();
            }
            let hs: Vec<_> = (0..4u64)
                .map(|c| {
                    let (tx, rx) = (tx.clone(), rx.clone());
                    goro::go!(move || {
                        let mut refused = 0usize;
                        for i in 0..ITERS {
                            rx.recv().unwrap();
                            if !send_now(&tx, c, i) {
                                refused += 1;
                            }
                        }
                        refused
                    })
                })
                .collect();
            let refused: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(
                refused, 0,
                "non-blocking sends found a channel with room full"
            );
            assert_eq!(rx.len(), 4, "every value taken was replaced");
        });
    });
}

// ---------------------------------------------------------------------------
// A receive from a full buffer with parked senders

/// Fills a channel of capacity `cap` with drop-counted values 0..cap.
fn full_channel(counts: &Arc<Counts>, cap: usize) -> (Sender<Tracked>, Receiver<Tracked>) {
    let (tx, rx) = chan::<Tracked>(cap);
    for i in 0..cap as u64 {
        tx.send(Tracked::new(counts, i)).unwrap();
    }
    assert!(tx.is_full());
    (tx, rx)
}

/// How the receive from the full channel is made.
#[derive(Clone, Copy, Debug)]
enum RecvBy {
    Recv,
    Select,
    SelectDefault,
    TryRecv,
}

fn receive_by(rx: &Receiver<Tracked>, by: RecvBy) -> Option<Tracked> {
    match by {
        RecvBy::Recv => rx.recv(),
        RecvBy::Select => select! { recv(rx) -> v => v },
        RecvBy::SelectDefault => select! { recv(rx) -> v => v, default() => None },
        RecvBy::TryRecv => rx.try_recv().ok(),
    }
}

/// A receive from a full buffer with a sender that was given time to park
/// (not seen parked: see
/// [`receive_from_full_channel_completes_the_parked_send`] for that); the
/// last receiver is dropped right after. If the sender had registered, the
/// receive completed its send (`Ok`, its value dropped with the buffer);
/// one that had not yet registered on a loaded machine may instead meet the
/// close (its own value comes back). Every value is dropped exactly once.
#[test]
fn receive_from_full_channel_then_last_receiver_dropped_loses_nothing() {
    let name = "receive_from_full_channel_then_last_receiver_dropped_loses_nothing";
    common::for_each_procs(name, LIMIT, || {
        goro::run(|| {
            for by in [
                RecvBy::Recv,
                RecvBy::Select,
                RecvBy::SelectDefault,
                RecvBy::TryRecv,
            ] {
                for select_sender in [false, true] {
                    for cap in [1usize, 3] {
                        let counts = Counts::new();
                        let (tx, rx) = full_channel(&counts, cap);
                        let c2 = counts.clone();
                        let sender = spawn_parked_sender(move || {
                            let v = Tracked::new(&c2, 100);
                            if select_sender {
                                select! { send(tx, v) -> r => r.map_err(|e| e.into_inner().id) }
                            } else {
                                tx.send(v).map_err(|e| e.into_inner().id)
                            }
                        });
                        let got = receive_by(&rx, by).expect("the buffer is full");
                        assert_eq!(got.id, 0, "FIFO: the oldest value comes first");
                        drop(got);
                        drop(rx); // the last receiver: drops the buffer at once
                        let sent = sender.join().unwrap();
                        assert!(
                            matches!(sent, Ok(()) | Err(100)),
                            "{by:?}, select sender {select_sender}, cap {cap}: {sent:?}"
                        );
                        assert_eq!(counts.made(), cap + 1);
                        assert_eq!(counts.live(), 0, "every value dropped, once");
                    }
                }
            }
        });
    });
}

/// Spawns `send` as a coroutine named `name` and returns once it is
/// parked on `reason` (seen through `goro::coroutines()`): registered on
/// the channel, not merely started. No timing is involved.
fn spawn_seen_parked<R: Send + 'static>(
    name: &str,
    reason: &str,
    send: impl FnOnce() -> R + Send + 'static,
) -> goro::JoinHandle<R> {
    let h = goro::Builder::new().name(name).spawn(send);
    loop {
        let parked = goro::coroutines().into_iter().any(|c| {
            c.name.as_deref() == Some(name)
                && c.state == goro::CoroutineState::Waiting
                && c.wait_reason == Some(reason)
        });
        if parked {
            return h;
        }
        nap(Duration::from_millis(1));
    }
}

/// Go's `recv` with a waiting sender: a receive from a full buffer with a
/// plain sender parked on it moves that sender's value into the buffer
/// before it returns, so the send has completed even if the last receiver
/// goes right after (the value is then dropped with the buffer). A parked
/// `select!` send case gets the freed slot reserved instead (its value is
/// evaluated only once it runs), so its send completes too: the last
/// receiver's drop waits for that write. The sender is seen parked before
/// the receive, and nobody else sends, so the outcome is deterministic:
/// `Ok` every time, for every way of receiving (`recv`, `select!`,
/// `select!` with `default`, `try_recv`), and every value dropped exactly
/// once.
#[test]
fn receive_from_full_channel_completes_the_parked_send() {
    let name = "receive_from_full_channel_completes_the_parked_send";
    common::for_procs(name, &[1, 2, 8], LIMIT, || {
        goro::run(|| {
            for round in 0..5 {
                for by in [
                    RecvBy::Recv,
                    RecvBy::Select,
                    RecvBy::SelectDefault,
                    RecvBy::TryRecv,
                ] {
                    for (cap, by_select) in [
                        (1usize, false),
                        (2, false),
                        (5, false),
                        (1, true),
                        (3, true),
                    ] {
                        let counts = Counts::new();
                        let (tx, rx) = full_channel(&counts, cap);
                        let c2 = counts.clone();
                        let who = format!("parked sender {round} {by:?} {cap} {by_select}");
                        let reason = if by_select { "select" } else { "chan send" };
                        let sender = spawn_seen_parked(&who, reason, move || {
                            if by_select {
                                select! {
                                    send(tx, Tracked::new(&c2, 100)) -> r => r.map_err(|e| e.into_inner().id)
                                }
                            } else {
                                tx.send(Tracked::new(&c2, 100))
                                    .map_err(|e| e.into_inner().id)
                            }
                        });
                        let got = receive_by(&rx, by).expect("the buffer is full");
                        assert_eq!(got.id, 0, "FIFO: the oldest value comes first");
                        if !by_select {
                            assert!(rx.is_full(), "{by:?}, cap {cap}: the parked value moved in");
                        }
                        drop(got);
                        drop(rx); // the last receiver: drops the buffer at once
                        assert_eq!(
                            sender.join().unwrap(),
                            Ok(()),
                            "{by:?}, cap {cap}, select {by_select}: the parked send completed \
                             with the receive"
                        );
                        assert_eq!(counts.made(), cap + 1);
                        assert_eq!(counts.live(), 0, "every value dropped, once");
                    }
                }
            }
        });
    });
}

/// Several plain senders parked on a full buffer, then as many receives:
/// each receive completed the oldest parked send (FIFO among senders, as
/// in Go), so the buffer holds exactly their values in order, and every
/// sender returns `Ok` even though the last receiver goes before they run.
#[test]
fn receives_complete_parked_sends_in_fifo_order() {
    let name = "receives_complete_parked_sends_in_fifo_order";
    common::for_procs(name, &[1, 2, 8], LIMIT, || {
        goro::run(|| {
            for cap in [1usize, 3] {
                let (tx, rx) = chan::<u64>(cap);
                for i in 0..cap as u64 {
                    tx.send(i).unwrap();
                }
                let senders: Vec<_> = (0..3u64)
                    .map(|s| {
                        let tx = tx.clone();
                        let who = format!("fifo sender {cap} {s}");
                        spawn_seen_parked(&who, "chan send", move || tx.send(100 + s))
                    })
                    .collect();
                let mut got = Vec::new();
                for _ in 0..3 {
                    got.push(rx.recv().unwrap());
                }
                let mut left = Vec::new();
                while let Ok(v) = rx.try_recv() {
                    left.push(v);
                }
                got.extend(left);
                let want: Vec<u64> = (0..cap as u64).chain(100..103).collect();
                assert_eq!(
                    got, want,
                    "cap {cap}: buffer order, then the senders' in FIFO order"
                );
                drop(rx);
                for h in senders {
                    assert_eq!(h.join().unwrap(), Ok(()), "cap {cap}");
                }
            }
        });
    });
}

/// Several parked senders, several receives, then the last receiver goes:
/// the buffer's own values come first and in order, each value is received
/// at most once, every sender whose value was received saw `Ok`, every
/// other sender saw `Ok` (its value dropped with the buffer) or got its own
/// value back, and every value is dropped exactly once.
#[test]
fn parked_senders_lose_nothing_across_receives_and_the_last_receiver() {
    let name = "parked_senders_lose_nothing_across_receives_and_the_last_receiver";
    common::for_each_procs(name, LIMIT, || {
        goro::run(|| {
            for receives in 0..=3u64 {
                let counts = Counts::new();
                let (tx, rx) = full_channel(&counts, 2);
                let senders: Vec<_> = (0..3u64)
                    .map(|s| {
                        let (tx, c2) = (tx.clone(), counts.clone());
                        // A value handed back stays alive in the join result.
                        spawn_parked_sender(move || {
                            tx.send(Tracked::new(&c2, 10 + s))
                                .map_err(|e| e.into_inner())
                        })
                    })
                    .collect();
                drop(tx);
                let mut got = Vec::new();
                for _ in 0..receives {
                    got.push(rx.recv().unwrap().id);
                }
                let first: Vec<u64> = [0, 1].into_iter().take(receives as usize).collect();
                assert_eq!(got[..first.len()], first[..], "FIFO within the buffer");
                drop(rx);
                let results: Vec<_> = senders.into_iter().map(|h| h.join().unwrap()).collect();
                for (s, r) in results.iter().enumerate() {
                    let id = 10 + s as u64;
                    match r {
                        Ok(()) => {}
                        Err(v) => {
                            assert_eq!(v.id, id, "sender {s}: its own value back");
                            assert!(!got.contains(&id), "sender {s}: received and handed back");
                        }
                    }
                }
                assert_eq!(
                    counts.live(),
                    results.iter().filter(|r| r.is_err()).count(),
                    "only the values handed back are alive"
                );
                drop(results);
                assert_eq!(counts.made(), 5);
                assert_eq!(counts.live(), 0);
            }
        });
    });
}

/// A send case's value expression that fails after building a value
/// (which the unwind drops).
fn failing_value(counts: &Arc<Counts>, id: u64) -> Tracked {
    let _doomed = Tracked::new(counts, id);
    panic!("the value expression fails");
}

/// A `select!` send case parked on a full buffer is woken by a receive,
/// claims the room, and then its value expression panics: the slot is given
/// back (nothing is delivered, no hole is left), the panic reaches the
/// sender, and the channel works on. `catch_unwind` needs no
/// `AssertUnwindSafe` around the handles.
#[test]
fn handed_slot_given_back_when_the_send_value_panics() {
    let name = "handed_slot_given_back_when_the_send_value_panics";
    common::for_each_procs(name, LIMIT, || {
        goro::run(|| {
            for round in 0..20u64 {
                let counts = Counts::new();
                let (tx, rx) = full_channel(&counts, 1);
                let c2 = counts.clone();
                let sender = spawn_parked_sender(move || {
                    let caught = catch_unwind(|| {
                        select! {
                            send(tx, failing_value(&c2, 500 + round)) -> r => r.is_ok(),
                        }
                    });
                    assert!(caught.is_err(), "the panic reaches the sender");
                    tx
                });
                assert_eq!(rx.recv().map(|t| t.id), Some(0));
                let tx = sender.join().unwrap();
                assert_eq!(
                    rx.try_recv().err(),
                    Some(TryRecvError::Empty),
                    "nothing delivered"
                );
                assert_eq!((rx.len(), tx.is_full()), (0, false), "no hole left behind");
                tx.send(Tracked::new(&counts, 7)).unwrap();
                assert_eq!(rx.recv().map(|t| t.id), Some(7));
                drop((tx, rx));
                assert_eq!(counts.made(), 3);
                assert_eq!(counts.live(), 0);
            }
        });
    });
}

// ---------------------------------------------------------------------------
// The last receiver drops the buffer

/// Buffered values go as soon as the last receiver does, while senders are
/// still alive (crossbeam-channel's behaviour); clones of the receiver keep
/// them. Watched with drop counts and `Weak` references, across the ring's
/// wrap-around.
#[test]
fn buffered_values_are_dropped_when_the_last_receiver_goes() {
    common::watchdog(
        "buffered_values_are_dropped_when_the_last_receiver_goes",
        LIMIT,
        || {
            for cap in [1usize, 3, 8] {
                let counts = Counts::new();
                let (tx, rx) = chan::<Tracked>(cap);
                // Move the ring's start so the values straddle its end.
                for i in 0..cap as u64 / 2 + 1 {
                    tx.send(Tracked::new(&counts, i)).unwrap();
                    drop(rx.recv());
                }
                for i in 0..cap as u64 {
                    tx.send(Tracked::new(&counts, 100 + i)).unwrap();
                }
                let rx2 = rx.clone();
                drop(rx);
                assert_eq!(counts.live(), cap, "a receiver is left: values stay");
                drop(rx2);
                assert_eq!(
                    counts.live(),
                    0,
                    "cap {cap}: dropped with the last receiver"
                );
                assert!(tx.is_closed());
                let back = tx.send(Tracked::new(&counts, 7)).unwrap_err().into_inner();
                assert_eq!(back.id, 7, "a later send gets its value back");
                drop(back);
                assert_eq!(counts.live(), 0);
            }

            let (tx, rx) = chan::<Arc<String>>(4);
            let v = Arc::new("payload".to_string());
            let weak: Weak<String> = Arc::downgrade(&v);
            tx.send(v).unwrap();
            assert!(weak.upgrade().is_some());
            drop(rx);
            assert!(weak.upgrade().is_none(), "freed with the last receiver");
            drop(tx);
        },
    );
}

/// Parked senders get their own values back when the last receiver goes;
/// the buffered ones are dropped; nothing is dropped twice.
#[test]
fn parked_senders_get_their_values_back_when_the_last_receiver_goes() {
    let name = "parked_senders_get_their_values_back_when_the_last_receiver_goes";
    common::for_each_procs(name, LIMIT, || {
        goro::run(|| {
            let counts = Counts::new();
            let (tx, rx) = full_channel(&counts, 2);
            let senders: Vec<_> = (0..4u64)
                .map(|s| {
                    let (tx, c2) = (tx.clone(), counts.clone());
                    goro::go!(move || {
                        let e = tx.send(Tracked::new(&c2, 10 + s)).unwrap_err();
                        let v = e.into_inner();
                        assert_eq!(v.id, 10 + s, "its own value comes back");
                        v
                    })
                })
                .collect();
            nap(PARK_TIME);
            drop(rx);
            let back: Vec<Tracked> = senders.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(counts.live(), 4, "only the values handed back are alive");
            drop(back);
            assert_eq!(counts.live(), 0);
        });
    });
}

/// Stress: senders race with a receiver that takes some values and then
/// goes away. Every value ends exactly once: received, handed back in a
/// `SendError`, or (sent, never received) dropped with the buffer; none
/// leaks and every send returns.
#[test]
fn last_receiver_racing_with_senders_loses_nothing() {
    let name = "last_receiver_racing_with_senders_loses_nothing";
    common::for_each_procs(name, LIMIT, || {
        goro::run(|| {
            for round in 0..200u64 {
                let cap = [1usize, 2, 5][round as usize % 3];
                let counts = Counts::new();
                let (tx, rx) = chan::<Tracked>(cap);
                const SENDERS: u64 = 4;
                const PER: u64 = 20;
                let senders: Vec<_> = (0..SENDERS)
                    .map(|s| {
                        let (tx, c2) = (tx.clone(), counts.clone());
                        goro::go!(move || {
                            let (mut ok, mut back) = (0u64, 0u64);
                            for i in 0..PER {
                                let id = s * PER + i;
                                let r = if i % 2 == 0 {
                                    tx.send(Tracked::new(&c2, id))
                                } else {
                                    select! { send(tx, Tracked::new(&c2, id)) -> r => r }
                                };
                                match r {
                                    Ok(()) => ok += 1,
                                    Err(e) => {
                                        assert_eq!(e.into_inner().id, id);
                                        back += 1;
                                    }
                                }
                            }
                            (ok, back)
                        })
                    })
                    .collect();
                drop(tx);
                let take = round % (SENDERS * PER / 2);
                let mut received = 0u64;
                for _ in 0..take {
                    if rx.recv().is_some() {
                        received += 1;
                    }
                }
                drop(rx);
                let (mut ok, mut back) = (0, 0);
                for h in senders {
                    let (o, b) = h.join().unwrap();
                    ok += o;
                    back += b;
                }
                assert_eq!(received, take, "the senders outnumber the receives");
                assert_eq!(ok + back, SENDERS * PER, "every send returned");
                assert!(ok >= received);
                assert_eq!(counts.made(), (SENDERS * PER) as usize);
                assert_eq!(counts.live(), 0, "round {round}: nothing leaked");
            }
        });
    });
}

/// Senders with tiny timeouts race with receives that move parked
/// senders' values into the ring (`array/blocking.rs`, rule H1; a
/// timed-out sender withdraws under the wait list's lock, `context.rs`
/// rule V2): every send either returned `Ok` and its value is received
/// exactly once, or timed out and got its own value back, which is never
/// received. Nothing is lost, duplicated or dropped twice.
#[test]
fn timed_out_sends_racing_with_receives_lose_nothing() {
    let name = "timed_out_sends_racing_with_receives_lose_nothing";
    common::for_each_procs(name, LIMIT, || {
        goro::run(|| {
            const SENDERS: u64 = 4;
            const PER: u64 = 2_000;
            for cap in [1usize, 2, 8] {
                let counts = Counts::new();
                let (tx, rx) = chan::<Tracked>(cap);
                let senders: Vec<_> = (0..SENDERS)
                    .map(|s| {
                        let (tx, c2) = (tx.clone(), counts.clone());
                        goro::go!(move || {
                            let mut sent = Vec::new();
                            for i in 0..PER {
                                let id = s * PER + i;
                                // 0 to 70 microseconds: many expire while
                                // parked, some as a receive moves them.
                                let t = Duration::from_micros(i % 8 * 10);
                                match tx.send_timeout(Tracked::new(&c2, id), t) {
                                    Ok(()) => sent.push(id),
                                    Err(e) => {
                                        assert!(e.is_timeout(), "nobody closes the channel");
                                        assert_eq!(e.into_inner().id, id, "its own value back");
                                    }
                                }
                            }
                            sent
                        })
                    })
                    .collect();
                drop(tx);
                let ledger = chan_util::Ledger::new((SENDERS * PER) as usize);
                let mut received = 0usize;
                for (n, v) in rx.iter().enumerate() {
                    ledger.mark(v.id);
                    received += 1;
                    if n % 16 == 0 {
                        // Let the ring fill up and senders park and expire.
                        nap(Duration::from_micros(30));
                    }
                }
                let mut sent: Vec<u64> = senders
                    .into_iter()
                    .flat_map(|h| h.join().unwrap())
                    .collect();
                sent.sort_unstable();
                assert_eq!(sent.len(), received, "cap {cap}: every Ok send received");
                for id in sent {
                    assert_eq!(
                        ledger.times(id),
                        1,
                        "cap {cap}: sent value {id} received once"
                    );
                }
                assert_eq!(counts.made(), (SENDERS * PER) as usize);
                assert_eq!(counts.live(), 0, "cap {cap}: every value dropped, once");
            }
        });
    });
}

// ---------------------------------------------------------------------------
// select! ergonomics, unwind safety, is_full

/// A struct that dereferences to a receiver, as a field of a larger state.
struct Inbox {
    rx: Receiver<u32>,
}

impl Deref for Inbox {
    type Target = Receiver<u32>;
    fn deref(&self) -> &Receiver<u32> {
        &self.rx
    }
}

struct Service {
    inbox: Inbox,
    out: Box<Sender<u32>>,
}

#[test]
fn select_takes_anything_that_derefs_to_a_handle() {
    common::watchdog(
        "select_takes_anything_that_derefs_to_a_handle",
        LIMIT,
        || {
            let (tx, rx) = chan::<u32>(4);
            let (out_tx, out_rx) = chan::<u32>(4);
            tx.send(1).unwrap();
            let by_ref = &rx;
            assert_eq!(select! { recv(by_ref) -> v => v }, Some(1));
            tx.send(2).unwrap();
            assert_eq!(select! { recv(&rx) -> v => v }, Some(2));
            tx.send(3).unwrap();
            assert_eq!(select! { recv(&&rx) -> v => v }, Some(3));

            let shared: Arc<Receiver<u32>> = Arc::new(rx);
            tx.send(4).unwrap();
            assert_eq!(select! { recv(shared) -> v => v }, Some(4));
            tx.send(5).unwrap();
            assert_eq!(select! { recv(&shared) -> v => v }, Some(5));

            let svc = Service {
                inbox: Inbox {
                    rx: Arc::try_unwrap(shared).unwrap(),
                },
                out: Box::new(out_tx),
            };
            tx.send(6).unwrap();
            let got = select! {
                recv(svc.inbox) -> v => v,
                default(Duration::from_secs(5)) => None,
            };
            assert_eq!(got, Some(6));
            select! {
                send(svc.out, 60) -> r => r.unwrap(),
                recv(never::<u32>()) -> _ => unreachable!(),
            }
            let shared_tx = Arc::new(tx);
            select! { send(&shared_tx, 7) -> r => r.unwrap() }
            assert_eq!(out_rx.try_recv(), Ok(60));
            assert_eq!(svc.inbox.try_recv(), Ok(7));
        },
    );
}

#[test]
fn select_accepts_crossbeams_default_spelling() {
    common::watchdog("select_accepts_crossbeams_default_spelling", LIMIT, || {
        let (tx, rx) = chan::<u32>(1);
        let empty = select! {
            recv(rx) -> v => v,
            default() => None,
        };
        assert_eq!(empty, None, "nothing ready: default() runs");
        tx.send(9).unwrap();
        let ready = select! {
            recv(rx) -> v => v,
            default() => None,
        };
        assert_eq!(ready, Some(9));
        // A block body, and default() as the only case.
        let mut ran = 0;
        select! {
            default() => { ran += 1; }
        }
        assert_eq!(ran, 1);
        // With a trailing comma after a send case.
        let sent = select! {
            send(tx, 1) -> r => r.is_ok(),
            default() => false,
        };
        assert!(sent);
        let full = select! {
            send(tx, 2) -> r => r.is_ok(),
            default() => false,
        };
        assert!(!full, "the buffer is full: default() runs");
    });
}

fn assert_unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

#[test]
fn handles_are_unwind_safe() {
    assert_unwind_safe::<Sender<std::cell::Cell<u8>>>();
    assert_unwind_safe::<Receiver<std::cell::Cell<u8>>>();
    assert_unwind_safe::<&Receiver<String>>();

    let (tx, rx) = chan::<String>(1);
    // No AssertUnwindSafe needed, by value or by reference.
    assert!(
        catch_unwind(|| tx.send("kept".to_string()))
            .unwrap()
            .is_ok()
    );
    let caught = catch_unwind(|| {
        let v = rx.recv().unwrap();
        panic!("after receiving {v}");
    });
    assert!(caught.is_err());
    // The channel is usable after the panic.
    tx.send("again".to_string()).unwrap();
    assert_eq!(rx.recv().as_deref(), Some("again"));
    assert!(catch_unwind(move || drop(rx)).is_ok());
    assert!(
        tx.is_closed(),
        "the receiver was dropped inside catch_unwind"
    );
}

#[test]
fn is_full_follows_len_and_cap() {
    let (tx, rx) = chan::<u8>(2);
    assert!(!tx.is_full() && !rx.is_full());
    tx.send(1).unwrap();
    assert!(!tx.is_full());
    tx.send(2).unwrap();
    assert!(tx.is_full() && rx.is_full());
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    rx.recv().unwrap();
    assert!(!rx.is_full());
    drop(tx);
    rx.recv().unwrap();
    assert!(!rx.is_full(), "closed and drained: empty, not full");

    // Unbuffered: capacity 0, so always full (a send waits for a
    // receiver), as in crossbeam-channel.
    let (tx0, rx0) = chan::<u8>(0);
    assert!(tx0.is_full() && rx0.is_full());
    assert!(never::<u8>().is_full());
}
