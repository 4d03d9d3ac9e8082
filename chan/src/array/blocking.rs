//! Blocking operations on the buffered ring (`array.rs`): parking,
//! handing freed room to parked senders, and the drain when the last
//! receiver goes. The ring itself, its stamps and the non-blocking claims
//! (rule L1) are in `array.rs`.
//!
//! Alternatives rejected: waking a parked sender with a bare "room now"
//! and letting it claim the room itself (what this file did before issue
//! 12: a close between the wake-up and its claim failed a send that Go
//! would have completed); the receiver moving the sender's value itself
//! (a `select!` send case has no value until it wins, so it could not be
//! served the same way).
//!
//! # Blocking
//!
//! Two `SyncWaiters` lists: receivers waiting for a message, senders
//! waiting for room.
//!
//! A receiver that cannot take a message *now* — including when a sender is
//! in the middle of writing the very slot it needs — registers and parks
//! instead of spinning. On two cores a producer and a consumer in lockstep
//! otherwise keep catching each other mid-write and bounce the slot's cache
//! line once per message; parking lets messages accumulate so they are
//! handed over in batches (Go's behaviour: it parks a receiver as soon as it
//! has caught up). No lost wake-up: the receiver registers (`SeqCst` store
//! of "not empty" in the list) and re-checks the slot's stamp (`SeqCst`
//! load); the sender publishes the stamp with a `SeqCst` store and then
//! checks the list (`SeqCst` load, one load when nobody waits). In the
//! single total order of `SeqCst` operations one comes first, so either the
//! receiver sees the stamp or the sender sees the receiver.
//!
//! A sender that finds the slot at `tail` still holding the previous lap's
//! message parks the same way, whether the ring is full or a receiver is in
//! the middle of moving that message out: spinning on the slot until the
//! receiver is done makes the two fight over its line (4x4 throughput
//! halves on two cores). The receiver frees the slot with a `SeqCst` stamp
//! store and then checks the sender list; the sender re-checks the stamp
//! after registering. The same `SeqCst` pairing as above.
//!
//! Before it parks, a blocked sender may spin for a little while
//! ([`SEND_SPINS`] pauses, when `waiter::can_spin` says another CPU is at
//! work and nothing else wants ours), waiting for a *batch* of room (an
//! eighth of the ring) and not for one slot. Parking costs a wake-up per
//! freed slot when producers are ahead: the receiver frees a slot and wakes
//! the sender, which refills it and parks again. A sender that spins needs
//! no wake-up, and waiting for a batch keeps it from trading the slot's
//! cache line with the receiver message by message. If the batch does not
//! come within the spin, one free slot is enough again, and the sender
//! registers and parks as before; so spinning delays a sender by a few
//! microseconds at most and changes nothing else. (`select4`: 130 → 82 ns
//! per operation on two workers; measurements in `docs/benchmarks.md`.)
//!
//! # Hand-off to a parked sender (rules H1, H2)
//!
//! Go's receive from a full channel with a waiting sender moves that
//! sender's value into the freed slot before it returns, so the send has
//! completed. Here:
//!
//! - **H1.** Whoever opens room (a receive that frees a slot, an undone
//!   claim) and finds a sender registered reserves the room *for* it:
//!   under the sender list's lock it claims the slot at `tail`
//!   (`start_send`), writes the claim into the first waiting entry (its
//!   `packet` and `stamp`) and only then claims the entry (context rule 2);
//!   if that claim fails (the sender gave up, or its select was won
//!   elsewhere) the next waiting entry gets it, and a reservation nobody
//!   takes is released with `abandon_send`. The woken sender (plain `send`
//!   or a `select!` send case) only writes its value into the reserved
//!   slot: a claim made before a close still completes, so its send returns
//!   `Ok` even if the last receiver is dropped right after the receive.
//! - **H2.** A sender that finds room after registering (it opened before
//!   its registration was visible) claims that room itself *while still
//!   registered*, then withdraws. If a hand-off claimed it meanwhile, it
//!   holds two claims: it fills the earlier and gives back the later. (Giving
//!   up the registration first and claiming after would leave a window in
//!   which a close makes the send fail although it was already waiting
//!   when the receive freed the room.)
//!
//! # The last receiver
//!
//! Dropping the last `Receiver` closes the channel and drops every
//! buffered message at once (`disconnect_receivers`; crossbeam-channel does
//! the same): nobody can receive them any more. Senders that had claimed a
//! slot before the close finish writing it (their send returns `Ok`) and
//! the drain waits for them (rule L1); parked senders are woken by the close
//! and get their values back in `SendError`.

use std::time::Instant;

use super::{Array, Token, waiter};
use crate::context::{ABORTED, Context, Entry, FIRST_OPER};
use crate::error::{SendTimeoutError, TrySendError};
use std::sync::atomic::Ordering;

/// Pause instructions a blocked sender spins through, at most, before it
/// parks (a few microseconds; see the module docs).
const SEND_SPINS: usize = 200;

impl<T> Array<T> {
    /// Blocking send, optionally until `deadline`.
    pub(crate) fn send(
        &self,
        msg: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut token = Token::default();
        // One spin per call: if the room it saw is gone again (taken by
        // another sender, or the oldest slot is still being read), park.
        let mut spun = false;
        loop {
            if self.start_send(&mut token) {
                // SAFETY: fresh successful claim, completed once.
                return unsafe { self.write(&mut token, msg) }.map_err(SendTimeoutError::Closed);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // Out of time: one last look that waits out a receiver in
                // the middle of freeing room (rule L1).
                return self.try_send(msg).map_err(|e| match e {
                    TrySendError::Full(m) => SendTimeoutError::Timeout(m),
                    TrySendError::Closed(m) => SendTimeoutError::Closed(m),
                });
            }
            if !spun {
                spun = true;
                if self.spin_for_room() {
                    continue;
                }
            }
            let cx = Context::new();
            let mut entry = Entry::new(FIRST_OPER, &cx, std::ptr::null_mut(), false);
            // SAFETY: `entry` stays in this frame until it is unlinked: by a
            // notifier's claim, or by `unregister` below.
            unsafe { self.senders.register(&mut entry) };
            // Registered: a receiver that frees a slot from now on hands it
            // to us (rule H1). Room that opened before it could see us, we
            // take ourselves, still registered (rule H2).
            let mut own = Token::default();
            let took = loop {
                if !self.send_ready() {
                    break false;
                }
                if self.start_send(&mut own) {
                    break true;
                }
            };
            let state = if took {
                match cx.try_claim(ABORTED) {
                    Ok(()) => ABORTED,
                    Err(s) => s,
                }
            } else {
                cx.wait_until("chan send", deadline)
            };
            if state != FIRST_OPER {
                // SAFETY: registered above.
                unsafe { self.senders.unregister(&mut entry) };
            } else if !entry.packet.is_null() {
                // A receiver handed us a reserved slot (rule H1): the send
                // has completed; only the write is left.
                token.array_slot = entry.packet;
                token.array_stamp = entry.stamp;
                if took && !own.array_slot.is_null() {
                    // We claimed one ourselves too (rule H2): fill the
                    // earlier position and give back the later, which is
                    // the likelier to still be the latest claim (then
                    // `tail` just moves back, leaving no skipped slot).
                    if (own.array_stamp.wrapping_sub(token.array_stamp) as isize) < 0 {
                        std::mem::swap(&mut own, &mut token);
                    }
                    // SAFETY: a fresh claim of ours, completed once (here).
                    unsafe { self.abandon_send(&mut own) };
                }
                // SAFETY: the claim left is ours, completed once.
                return unsafe { self.write(&mut token, msg) }.map_err(SendTimeoutError::Closed);
            }
            if took {
                // SAFETY: our own fresh claim (or closed), completed once.
                return unsafe { self.write(&mut own, msg) }.map_err(SendTimeoutError::Closed);
            }
            // Closed, timed out, or woken without a slot: look again.
        }
    }

    /// A blocked sender's spin before parking (module docs): `true` when
    /// a batch of room (an eighth of the ring, at least one slot) opened or
    /// the channel closed; `false` when spinning does not pay or the
    /// budget ran out (then register and park, which re-checks for room).
    /// The batch is seen through the stamp of its last slot; with several
    /// receivers an earlier slot may still be mid-read, which is why the
    /// caller spins only once.
    fn spin_for_room(&self) -> bool {
        if !waiter::can_spin() {
            return false;
        }
        let batch = (self.cap / 8).max(1);
        let tail = self.tail.load(Ordering::Relaxed);
        if tail & self.mark_bit != 0 {
            return true;
        }
        // The position `batch - 1` past the tail: free once its stamp says
        // so. Watching that one slot (and not `head`, which the receivers
        // write on every message) keeps the spin from slowing them down.
        let index = tail & (self.mark_bit - 1);
        let lap = tail & !(self.one_lap - 1);
        let j = index + batch - 1;
        let (pos, at) = if j < self.cap {
            (lap + j, j)
        } else {
            (
                lap.wrapping_add(self.one_lap) + (j - self.cap),
                j - self.cap,
            )
        };
        let slot = &self.buffer[at];
        for _ in 0..SEND_SPINS {
            std::hint::spin_loop();
            if slot.stamp.load(Ordering::Relaxed) == pos {
                return true;
            }
        }
        self.is_closed()
    }

    /// Blocking receive: `Ok(Some)`, `Ok(None)` when closed and drained,
    /// `Err(())` when `deadline` passed.
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<Option<T>, ()> {
        let mut token = Token::default();
        loop {
            if self.start_recv(&mut token) {
                // SAFETY: fresh successful claim, completed once.
                return Ok(unsafe { self.read(&mut token) });
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // Out of time: one last look that waits out a sender in the
                // middle of writing the head slot (rule L1).
                return match self.try_recv() {
                    Some(Ok(v)) => Ok(Some(v)),
                    Some(Err(())) => Ok(None),
                    None => Err(()),
                };
            }
            let cx = Context::new();
            let mut entry = Entry::new(FIRST_OPER, &cx, std::ptr::null_mut(), false);
            // SAFETY: as in `send`.
            unsafe { self.receivers.register(&mut entry) };
            if self.recv_ready() {
                let _ = cx.try_claim(ABORTED);
            }
            if cx.wait_until("chan receive", deadline) != FIRST_OPER {
                // SAFETY: registered above.
                unsafe { self.receivers.unregister(&mut entry) };
            }
        }
    }

    /// Room opened (a slot freed, or a claim undone): if a sender is
    /// parked, reserve the room for it and wake it with the reservation
    /// (rule H1): its send has then completed, whatever happens to the
    /// receivers next. One `SeqCst` load when nobody waits.
    #[inline]
    pub(super) fn notify_senders(&self) {
        if self.senders.has_waiters() {
            self.hand_room_to_sender();
        }
    }

    #[cold]
    fn hand_room_to_sender(&self) {
        let unused = self.senders.hand_over(|| {
            let mut token = Token::default();
            if self.start_send(&mut token) && !token.array_slot.is_null() {
                Some((token.array_slot, token.array_stamp))
            } else {
                None // no room after all (another sender took it), or closed
            }
        });
        if let Some((slot, stamp)) = unused {
            // Every waiter gave up meanwhile: release the room (which looks
            // for a waiter again).
            let mut token = Token {
                array_slot: slot,
                array_stamp: stamp,
                ..Token::default()
            };
            // SAFETY: a fresh claim made by `start_send` above, completed
            // once (here).
            unsafe { self.abandon_send(&mut token) };
        }
    }

    /// The last receiver is gone: closes the channel and drops every
    /// buffered message now (nobody can receive them any more), waiting
    /// out senders that claimed a slot before the close and are still
    /// writing it (rule L1). Parked senders are woken by the close and get
    /// their values back.
    pub(crate) fn disconnect_receivers(&self) {
        self.close();
        let mut token = Token::default();
        // After the close nothing new is claimed: this ends when the head
        // reaches the tail.
        while self.start_recv_now(&mut token) {
            // SAFETY: fresh successful claim, completed once.
            match unsafe { self.read(&mut token) } {
                Some(m) => drop(m),
                None => return,
            }
        }
    }
}
