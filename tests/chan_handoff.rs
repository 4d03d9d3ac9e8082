//! Adversarial stress of the buffered channel's hand-off of freed room to
//! parked senders (`chan/src/array/blocking.rs`, rules H1–H3): several
//! receives racing on a full ring while several senders are parked, with
//! fresh senders and `select!` parties mixed in.
//!
//! Invariants checked: once as many receives as parked senders have
//! returned, there is room for every one of those sends, so each of them
//! returns without any further receive (no sender stays parked beside free
//! room); no value is lost, duplicated or dropped twice.
//!
//! Each scenario runs many times in child processes under `GOMAXPROCS` 1,
//! 2 and more workers than cores (`tests/common`); a hang is caught there,
//! and a sender still parked long after the receives that made room for it
//! fails the iteration with a message saying so.

mod chan_util;
mod common;

use std::time::Duration;

use chan_util::nap;
use goro::chan::{Receiver, chan};

const LIMIT: Duration = Duration::from_secs(180);
/// Far longer than a woken sender needs to finish on a loaded machine: a
/// sender not done by then is parked with nobody left to wake it.
const STUCK: Duration = Duration::from_secs(10);

/// After `cap` receives (which got `got`) from a full ring of capacity
/// `cap` holding `0..cap`, with `cap` senders of values `100..100 + cap`
/// parked on it: the receives got the buffered values, every sender
/// reports done on `done_rx` (none is left parked beside free room), and
/// the ring holds exactly their values, which this drains.
/// `kind(s)` names sender `s`'s kind of send, for the failure message.
fn all_sends_completed(
    it: usize,
    mut got: Vec<u64>,
    done_rx: &Receiver<u64>,
    rx: &Receiver<u64>,
    kind: impl Fn(u64) -> &'static str,
) {
    let cap = rx.cap();
    got.sort_unstable();
    assert_eq!(got, (0..cap as u64).collect::<Vec<_>>(), "iteration {it}");
    let mut done = Vec::new();
    for k in 0..cap {
        match done_rx.recv_timeout(STUCK) {
            Ok(s) => done.push(s),
            Err(_) => {
                let stuck: Vec<_> = (0..cap as u64)
                    .filter(|s| !done.contains(s))
                    .map(|s| (s, kind(s)))
                    .collect();
                panic!(
                    "iteration {it}, cap {cap}: {} of {cap} parked senders still blocked \
                     {STUCK:?} after {cap} receives from the full buffer (len now {}): {stuck:?}",
                    cap - k,
                    rx.len()
                );
            }
        }
    }
    let mut left: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    left.sort_unstable();
    assert_eq!(
        left,
        (100..100 + cap as u64).collect::<Vec<_>>(),
        "iteration {it}: the buffer holds exactly the parked senders' values"
    );
}

/// A ring of capacity `cap`, full; `cap` senders parked on it; `cap`
/// receivers released at once, one receive each. After them there is room
/// for every parked sender, so every sender returns and the buffer holds
/// exactly the senders' values.
///
/// The race this catches: receiver B frees a slot that is not the tail's
/// while receiver A still holds the tail's slot, so B finds no room at
/// `tail` to hand on; when A frees the tail slot, A must hand room to
/// every sender it fits, B's slot included (rule H1 loops until no room
/// or nobody waits). (Under the earlier wake-and-claim design, B's
/// wake-up was spent on a sender that found the tail held, and one
/// wake-up was left for two free slots.)
fn concurrent_receives_complete_every_parked_send(cap: usize, iters: usize) {
    for it in 0..iters {
        let (tx, rx) = chan::<u64>(cap);
        for i in 0..cap as u64 {
            tx.send(i).unwrap();
        }
        let (done_tx, done_rx) = chan::<u64>(cap);
        let senders: Vec<_> = (0..cap as u64)
            .map(|s| {
                let (tx, done_tx) = (tx.clone(), done_tx.clone());
                goro::go!(move || {
                    tx.send(100 + s).unwrap();
                    done_tx.send(s).unwrap();
                })
            })
            .collect();
        // Let them reach their parks (under GOMAXPROCS=1 the nap runs them
        // until they do). One that has not parked yet finds room later:
        // the invariants below hold either way.
        nap(Duration::from_millis(1));
        let (go_tx, go_rx) = chan::<()>(0);
        let receivers: Vec<_> = (0..cap)
            .map(|_| {
                let (rx, go_rx) = (rx.clone(), go_rx.clone());
                goro::go!(move || {
                    assert_eq!(go_rx.recv(), None);
                    rx.recv().expect("the buffer is full")
                })
            })
            .collect();
        drop(go_tx); // releases every receiver at once
        let got = receivers.into_iter().map(|h| h.join().unwrap()).collect();
        all_sends_completed(it, got, &done_rx, &rx, |_| "send");
        for h in senders {
            h.join().unwrap();
        }
    }
}

#[test]
fn concurrent_receives_from_a_full_ring_complete_every_parked_send() {
    let name = "concurrent_receives_from_a_full_ring_complete_every_parked_send";
    common::for_each_procs(name, LIMIT, || {
        goro::run(|| {
            for cap in [2usize, 3, 4] {
                concurrent_receives_complete_every_parked_send(cap, 300);
            }
        });
    });
}

/// The same race with plain threads (no scheduler between the receivers'
/// release and their receives, so they collide more often on two cores).
/// `mixed`: half the senders are `select!` send cases and half the
/// receives are `select!` receives.
fn thread_receive_race(cap: usize, iters: usize, mixed: bool) {
    use goro::select;
    for it in 0..iters {
        let (tx, rx) = chan::<u64>(cap);
        for i in 0..cap as u64 {
            tx.send(i).unwrap();
        }
        let (done_tx, done_rx) = chan::<u64>(cap);
        let senders: Vec<_> = (0..cap as u64)
            .map(|s| {
                let (tx, done_tx) = (tx.clone(), done_tx.clone());
                let by_select = mixed && (s + it as u64) % 2 == 0;
                std::thread::spawn(move || {
                    let v = 100 + s;
                    if by_select {
                        select! { send(tx, v) -> r => r.unwrap() }
                    } else {
                        tx.send(v).unwrap();
                    }
                    done_tx.send(s).unwrap();
                })
            })
            .collect();
        std::thread::sleep(Duration::from_micros(300));
        let go = std::sync::Arc::new(std::sync::Barrier::new(cap));
        let receivers: Vec<_> = (0..cap as u64)
            .map(|r| {
                let (rx, go) = (rx.clone(), go.clone());
                let by_select = mixed && (r + it as u64) % 2 == 1;
                std::thread::spawn(move || {
                    go.wait();
                    if by_select {
                        select! { recv(rx) -> v => v.expect("the buffer is full") }
                    } else {
                        rx.recv().expect("the buffer is full")
                    }
                })
            })
            .collect();
        let got = receivers.into_iter().map(|h| h.join().unwrap()).collect();
        let kind = |s: u64| {
            if mixed && (s + it as u64) % 2 == 0 {
                "select send"
            } else {
                "send"
            }
        };
        all_sends_completed(it, got, &done_rx, &rx, kind);
        for h in senders {
            h.join().unwrap();
        }
    }
}

#[test]
fn concurrent_thread_receives_from_a_full_ring_complete_every_parked_send() {
    common::watchdog(
        "concurrent_thread_receives_from_a_full_ring_complete_every_parked_send",
        LIMIT,
        || {
            for cap in [2usize, 3] {
                thread_receive_race(cap, 2000, false);
            }
        },
    );
}

/// [`thread_receive_race`] with `select!` send cases and `select!`
/// receives mixed in with plain ones: every parked send still completes
/// after as many receives, each value exactly once.
#[test]
fn mixed_select_and_plain_parties_on_a_full_ring_leave_no_sender_stuck() {
    common::watchdog(
        "mixed_select_and_plain_parties_on_a_full_ring_leave_no_sender_stuck",
        LIMIT,
        || thread_receive_race(3, 1500, true),
    );
}

/// A ring of capacity 2, full, one sender parked on it; then two receives
/// and a fresh send released at once (plain threads). After both receives
/// there is room for both sends, so both complete without a third
/// receive, whoever takes which slot. The race: the fresh sender takes
/// the slot the first receive freed, while the other slot was freed
/// behind the held tail slot; the parked sender must still get room (rule
/// H1: the tail slot's reader hands on when it frees it). Under the
/// earlier wake-and-claim design the parked sender stayed stuck in about
/// one round in 10^4 until rule W2 was added.
#[test]
fn fresh_sender_racing_with_a_hand_off_leaves_no_sender_stuck() {
    common::watchdog(
        "fresh_sender_racing_with_a_hand_off_leaves_no_sender_stuck",
        LIMIT,
        || {
            for it in 0..3000 {
                let (tx, rx) = chan::<u64>(2);
                tx.send(0).unwrap();
                tx.send(1).unwrap();
                let (done_tx, done_rx) = chan::<u64>(2);
                let parked = {
                    let (tx, done_tx) = (tx.clone(), done_tx.clone());
                    std::thread::spawn(move || {
                        tx.send(10).unwrap();
                        done_tx.send(10).unwrap();
                    })
                };
                std::thread::sleep(Duration::from_micros(200));
                let go = std::sync::Arc::new(std::sync::Barrier::new(3));
                let receivers: Vec<_> = (0..2)
                    .map(|_| {
                        let (rx, go) = (rx.clone(), go.clone());
                        std::thread::spawn(move || {
                            go.wait();
                            rx.recv().expect("the buffer is full")
                        })
                    })
                    .collect();
                let fresh = {
                    let (tx, go) = (tx.clone(), go.clone());
                    std::thread::spawn(move || {
                        go.wait();
                        tx.send(11).unwrap();
                        done_tx.send(11).unwrap();
                    })
                };
                let mut got: Vec<u64> = receivers.into_iter().map(|h| h.join().unwrap()).collect();
                got.sort_unstable();
                assert_eq!(got, [0, 1], "iteration {it}");
                for k in 0..2 {
                    if done_rx.recv_timeout(STUCK).is_err() {
                        panic!(
                            "iteration {it}: {} of 2 senders still blocked after 2 receives \
                             from the full buffer (len now {})",
                            2 - k,
                            rx.len()
                        );
                    }
                }
                parked.join().unwrap();
                fresh.join().unwrap();
                let mut left: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
                left.sort_unstable();
                assert_eq!(left, [10, 11], "iteration {it}");
            }
        },
    );
}
