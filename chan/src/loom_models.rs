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
//! The buffered flavor's no-lost-wake-up argument is a Dekker handshake of
//! `SeqCst` operations (publish the stamp, then load the wait list's
//! `is_empty`; register, then re-load the stamp). loom 0.7 does not model
//! `SeqCst` loads (it treats them as `Acquire`, tokio-rs/loom#180) and would
//! let the notifier read a stale `is_empty == true`, a deadlock that cannot
//! happen. Under `cfg(loom)` that one load is made under the list's lock
//! (`SyncWaiters::has_waiters`; every store of the flag is made under it),
//! which reads the latest value as the `SeqCst` order guarantees. (It was
//! a read-modify-write until 2026-12-02, but loom orders stores only
//! partially, and a second read-modify-write could read the first one's
//! store back past a later registration: a deadlock reported in
//! `plain_and_select_senders_on_full_ring` that cannot happen.) The stamps
//! are `std` atomics, which loom runs in program order. So the models of a
//! sender parked on a full buffer (`array/blocking.rs`) are meaningful.
//!
//! Not modelled:
//!
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

/// A value that counts its drops, to check that the buffer's values are
/// dropped exactly once.
struct Counted(u32, std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A channel of capacity 1 holding `Counted(1)`, and a thread sending
/// `Counted(2)` into it (it parks, or will, unless room opens first); its
/// result gives back the id of a value it got back.
#[allow(clippy::type_complexity)]
fn full_ring_and_sender() -> (
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    crate::Sender<Counted>,
    crate::Receiver<Counted>,
    thread::JoinHandle<Result<(), u32>>,
) {
    let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (tx, rx) = chan::<Counted>(1);
    tx.send(Counted(1, drops.clone())).unwrap();
    let tx2 = tx.clone();
    let d2 = drops.clone();
    let s = thread::spawn(move || tx2.send(Counted(2, d2)).map_err(|e| e.into_inner().0));
    (drops, tx, rx, s)
}

/// A receive from a full buffer with a sender parked (or parking), then
/// the last receiver dropped (which drops the buffer): the sender either
/// got room before the drop (its send returns `Ok` and its value is dropped
/// with the buffer) or met the close (its value comes back). Nothing is
/// lost or dropped twice. (Once the sender is registered its send always
/// completes: [`receive_completes_registered_send`].) `via_select`: the
/// receive is a `select!` case.
fn receive_from_full_then_last_receiver_dropped(via_select: bool) {
    model(move || {
        let (drops, tx, rx, s) = full_ring_and_sender();
        thread::yield_now();
        let got = if via_select {
            crate::select! { recv(rx) -> v => v }
        } else {
            rx.recv()
        };
        assert_eq!(got.as_ref().map(|c| c.0), Some(1));
        drop(got);
        drop(rx);
        let sent = s.join().unwrap();
        assert!(matches!(sent, Ok(()) | Err(2)), "{sent:?}");
        assert_eq!(
            drops.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "the received value and the second one (dropped with the buffer, \
             or handed back and dropped by the sender), each once"
        );
        assert!(tx.send(Counted(3, drops.clone())).is_err());
    });
}

#[test]
fn recv_from_full_then_last_receiver_dropped() {
    receive_from_full_then_last_receiver_dropped(false);
}

#[test]
fn select_recv_from_full_then_last_receiver_dropped() {
    receive_from_full_then_last_receiver_dropped(true);
}

/// A receive from a full ring races with a close while a plain sender is
/// parked or parking (`array/blocking.rs`): the sender's value either
/// gets into the ring (its send returns `Ok` and the value is received
/// exactly once) or is handed back by the close; never both, never lost. Every value is dropped exactly once.
#[test]
fn recv_from_full_races_with_close() {
    model(|| {
        let (drops, tx, rx, s) = full_ring_and_sender();
        let c = thread::spawn(move || assert!(tx.close()));
        // The receiver runs on its own thread: a wake-up token left by a
        // claim the waiter saw without sleeping is harmless to goro, but
        // loom reports it as an error if it reaches a thread blocked in
        // `join`, so the joining thread never parks on the channel.
        let r = thread::spawn(move || {
            let mut got = Vec::new();
            while let Some(v) = rx.recv() {
                got.push(v.0);
            }
            got
        });
        c.join().unwrap();
        let sent = s.join().unwrap();
        let got = r.join().unwrap();
        match sent {
            Ok(()) => assert_eq!(got, [1, 2], "a completed send is received"),
            Err(v) => {
                assert_eq!(v, 2);
                assert_eq!(got, [1], "a failed send is not received");
            }
        }
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 2);
    });
}

/// A plain sender and a `select!` send case both wait on a full ring;
/// two receives make room for both (the plain value is moved in, the
/// select case gets a slot reserved: rules H1, H2). Every message arrives exactly
/// once, in some order, and both sends return `Ok`.
#[test]
fn plain_and_select_senders_on_full_ring() {
    model(|| {
        let (tx, rx) = chan::<u32>(1);
        tx.send(1).unwrap();
        let tx2 = tx.clone();
        let plain = thread::spawn(move || tx2.send(2));
        let sel = thread::spawn(move || crate::select! { send(tx, 3) -> r => r });
        // On its own thread, as in `recv_from_full_races_with_close`.
        let r = thread::spawn(move || {
            let got = [rx.recv(), rx.recv(), rx.recv()].map(Option::unwrap);
            (got, rx)
        });
        plain.join().unwrap().unwrap();
        sel.join().unwrap().unwrap();
        let (mut got, rx) = r.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 2, 3]);
        assert_eq!(rx.try_recv(), Err(crate::TryRecvError::Closed));
    });
}

/// A `select!` send case waits on a full ring: the receive that frees
/// room reserves it for the case (rule H2), which then writes its value.
#[test]
fn select_send_case_on_full_ring() {
    model(|| {
        let (tx, rx) = chan::<u32>(1);
        tx.send(1).unwrap();
        let sel = thread::spawn(move || crate::select! { send(tx, 3) -> r => r });
        let r = thread::spawn(move || [rx.recv(), rx.recv()]);
        sel.join().unwrap().unwrap();
        assert_eq!(r.join().unwrap(), [Some(1), Some(3)]);
    });
}

/// Two receives from a full ring of capacity 2 while two plain senders are
/// parked (or parking): each receive frees a slot and wakes a sender, so
/// both sends return without a third receive (no sender stays parked
/// beside a free slot: loom would report the deadlock when the senders are
/// joined).
#[test]
fn two_receives_from_full_ring_complete_two_parked_sends() {
    model(|| {
        let (tx, rx) = chan::<u32>(2);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let (tx2, tx3) = (tx.clone(), tx.clone());
        drop(tx);
        let s2 = thread::spawn(move || tx2.send(3));
        let s3 = thread::spawn(move || tx3.send(4));
        let rx2 = rx.clone();
        let r = thread::spawn(move || rx2.recv());
        // The ring is full: this receive does not wait.
        let mine = rx.recv().unwrap();
        let theirs = r.join().unwrap().unwrap();
        s2.join().unwrap().unwrap();
        s3.join().unwrap().unwrap();
        let mut got = [mine, theirs, rx.try_recv().unwrap(), rx.try_recv().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2, 3, 4]);
    });
}

/// Whether a sender is registered on `rx`'s buffered channel (the model
/// waits for it to stand for "parked").
fn sender_registered<T>(rx: &crate::Receiver<T>) -> bool {
    match &rx.chan {
        crate::channel::Flavor::Array(a) => a.senders().has_waiters(),
        _ => false,
    }
}

/// How [`receive_completes_registered_send`] receives.
#[derive(Clone, Copy)]
enum RecvBy {
    Recv,
    Select,
    TryRecv,
}

/// Go's `recv` with a waiting sender (`array/blocking.rs`, rules H1, H3):
/// once a plain sender is registered on a full ring, a receive completes
/// its send before it returns, whoever of the two takes the list's lock
/// first (the receiver's hand-off, or the sender's own re-check that saw
/// the room). So after the receive the last receiver is dropped, and the
/// send still returns `Ok`, its value dropped with the buffer; every
/// value is dropped exactly once.
fn receive_completes_registered_send(by: RecvBy) {
    model(move || {
        let (drops, _tx, rx, s) = full_ring_and_sender();
        while !sender_registered(&rx) {
            thread::yield_now();
        }
        let got = match by {
            RecvBy::Recv => rx.recv(),
            RecvBy::Select => crate::select! { recv(rx) -> v => v },
            RecvBy::TryRecv => rx.try_recv().ok(),
        };
        assert_eq!(got.as_ref().map(|c| c.0), Some(1));
        drop(got);
        drop(rx);
        assert_eq!(s.join().unwrap(), Ok(()), "the registered send completed");
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 2);
    });
}

#[test]
fn recv_completes_registered_send() {
    receive_completes_registered_send(RecvBy::Recv);
}

#[test]
fn select_recv_completes_registered_send() {
    receive_completes_registered_send(RecvBy::Select);
}

#[test]
fn try_recv_completes_registered_send() {
    receive_completes_registered_send(RecvBy::TryRecv);
}
