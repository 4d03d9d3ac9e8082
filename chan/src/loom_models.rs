//! Loom models of the channel waiter protocol: small scenarios (two or three
//! threads, one or two operations each) whose every interleaving loom
//! explores, checking that no wake-up is lost (loom reports a deadlock when
//! every thread is parked) and that exactly the right parties complete.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p goro-chan --lib --release
//! ```
//!
//! What loom sees: the wait-list locks (`lock.rs` is loom's mutex under
//! `--cfg loom`), the contexts' claim words and `is_empty` flags
//! (`context.rs` takes its atomics from `crate::loom`), and park / unpark
//! (`waiter.rs` parks loom threads). The ring's stamps, head and tail
//! (`array.rs`), the rendezvous packets' state (`zero.rs`) and the handle
//! counts (`counter.rs`) are `std` atomics: loom runs them, but does not
//! switch threads at them or weaken their ordering, so races *between* two
//! of those operations are not explored.
//!
//! Not modelled:
//!
//! * A sender blocking on a full buffered channel until a receiver frees a
//!   slot. The buffered flavor's no-lost-wake-up argument is a Dekker
//!   handshake of `SeqCst` operations (publish the stamp, then load the wait
//!   list's `is_empty`; register, then re-load the stamp). loom 0.7 does not
//!   model `SeqCst` loads (it treats them as `Acquire`, tokio-rs/loom#180),
//!   so it reports a deadlock that cannot happen: the notifier reads a stale
//!   `is_empty == true`. The receive-side model below passes within its
//!   preemption bound, but it is weaker than it looks for the same reason.
//!   Making this modelable needs `fence(SeqCst)` on both sides under
//!   `cfg(loom)` and loom atomics for the stamps.
//! * Timeouts: loom has no clock (a timed park returns at once under loom,
//!   so a timed wait would spin).
//! * Selects with several cases in more than one thread: the case order
//!   comes from a thread-local random generator that loom does not control;
//!   the one model with such a select seeds it so every execution replays
//!   the same order.

use loom::thread;

use crate::{Select, chan};

/// Explores every interleaving with a bound on preemptions that keeps each
/// model to seconds.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

/// A receiver that blocks on an empty buffered channel is woken by the send
/// that fills it: no lost wake-up between registering and parking.
#[test]
fn buffered_recv_blocks_then_receives() {
    model(|| {
        let (tx, rx) = chan::<u32>(1);
        let r = thread::spawn(move || rx.recv());
        tx.send(7).unwrap();
        assert_eq!(r.join().unwrap(), Some(7));
    });
}

/// Unbuffered rendezvous: the send completes only by handing the value to
/// the receiver, whichever side arrives first.
#[test]
fn unbuffered_handoff() {
    model(|| {
        let (tx, rx) = chan::<u32>(0);
        let s = thread::spawn(move || tx.send(5));
        assert_eq!(rx.recv(), Some(5));
        assert_eq!(s.join().unwrap(), Ok(()));
    });
}

/// Close races with a receiver and a sender on an unbuffered channel: both
/// always return; either they met (the receiver has the value, the send
/// succeeded) or the close came first (the receiver gets `None`, the sender
/// its value back).
#[test]
fn unbuffered_close_races_with_sender_and_receiver() {
    model(|| {
        let (tx, rx) = chan::<u32>(0);
        let tx2 = tx.clone();
        // Kept so that the receiver thread's exit (dropping its receiver)
        // does not close the channel before we do.
        let _rx_keep = rx.clone();
        let r = thread::spawn(move || rx.recv());
        let s = thread::spawn(move || tx2.send(9));
        assert!(tx.close());
        let got = r.join().unwrap();
        let sent = s.join().unwrap();
        match (got, sent) {
            (Some(9), Ok(())) => {}
            (None, Err(e)) => assert_eq!(e.into_inner(), 9),
            (got, sent) => panic!("inconsistent: received {got:?}, send returned {sent:?}"),
        }
    });
}

/// Close wakes a sender blocked on a full buffered channel (it gets its
/// value back) and a receiver blocked on an empty one; the buffered value
/// survives the close.
#[test]
fn buffered_close_wakes_blocked_sender_and_receiver() {
    model(|| {
        let (full_tx, full_rx) = chan::<u32>(1);
        full_tx.send(1).unwrap();
        let (empty_tx, empty_rx) = chan::<u32>(1);
        let full_tx2 = full_tx.clone();
        let s = thread::spawn(move || full_tx2.send(2));
        let r = thread::spawn(move || empty_rx.recv());
        assert!(full_tx.close());
        assert!(empty_tx.close());
        assert_eq!(r.join().unwrap(), None);
        assert_eq!(s.join().unwrap().unwrap_err().into_inner(), 2);
        assert_eq!(full_rx.recv(), Some(1));
        assert_eq!(full_rx.recv(), None);
    });
}

/// Two selects race for one message on an unbuffered channel: exactly one
/// gets it; the other is released by the close that follows.
#[test]
fn two_selects_race_for_one_message() {
    model(|| {
        let (tx, rx) = chan::<u32>(0);
        let rx2 = rx.clone();
        let a = thread::spawn(move || crate::select! { recv(rx) -> v => v });
        let b = thread::spawn(move || crate::select! { recv(rx2) -> v => v });
        tx.send(3).unwrap();
        tx.close();
        let got = [a.join().unwrap(), b.join().unwrap()];
        assert!(
            got == [Some(3), None] || got == [None, Some(3)],
            "exactly one select receives: {got:?}"
        );
    });
}

/// A select's lazy send case meets a plain receiver: the receiver claims
/// the case, the select then supplies the value.
#[test]
fn select_send_case_meets_receiver() {
    model(|| {
        let (tx, rx) = chan::<u32>(0);
        let r = thread::spawn(move || rx.recv());
        crate::select! {
            send(tx, 11) -> res => res.unwrap(),
        }
        assert_eq!(r.join().unwrap(), Some(11));
    });
}

/// One select over two unbuffered channels: a sender on the first, a close
/// on the second. Exactly one case wins; if the close won, the sender is
/// still waiting and is released by closing its channel.
#[test]
fn select_over_two_channels_takes_exactly_one() {
    model(|| {
        fastrand::seed(7); // only this thread draws: same case order in every execution
        let (x_tx, x_rx) = chan::<u32>(0);
        let (y_tx, y_rx) = chan::<u32>(0);
        let x_tx2 = x_tx.clone();
        let s = thread::spawn(move || x_tx2.send(1));
        let c = thread::spawn(move || y_tx.close());
        let mut sel = Select::new();
        let ix = sel.recv(&x_rx);
        let iy = sel.recv(&y_rx);
        let op = sel.select();
        let from_x = op.index() == ix;
        if from_x {
            assert_eq!(op.recv(&x_rx), Some(1));
        } else {
            assert_eq!(op.index(), iy);
            assert_eq!(op.recv(&y_rx), None);
        }
        c.join().unwrap();
        x_tx.close();
        let sent = s.join().unwrap();
        assert_eq!(
            sent.is_ok(),
            from_x,
            "the send succeeded iff the select took it"
        );
    });
}
