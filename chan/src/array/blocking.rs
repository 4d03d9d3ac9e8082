//! Blocking operations on the buffered ring (`array.rs`): parking,
//! handing freed room to parked senders, and the drain when the last
//! receiver goes. The ring itself, its stamps and the non-blocking claims
//! (rule L1) are in `array.rs`.
//!
//! Alternatives rejected: waking a parked sender with a bare "room now"
//! and letting it claim the room itself (what this file did before issue
//! 12: a close between the wake-up and its claim failed a send that Go
//! would have completed); reserving the freed slot for every parked sender
//! and letting the woken sender write it (the first re-landing of issue
//! 12, rule H1 for all senders: the slot sat claimed but unwritten until
//! the sender ran, receivers reaching it parked, and `chan_4x4` fell to a
//! sixth; `docs/benchmarks.md`).
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
//! # Moving a parked sender's value (rules M1–M4, F1, F2)
//!
//! Go's receive from a full channel with a waiting sender moves that
//! sender's value into the freed slot before it returns, so the send has
//! completed. A parked plain `send` (or `send_timeout`) leaves a pointer
//! to its value in its entry (a *value entry*, `context.rs` rules V1–V3):
//!
//! - **M1 (look before freeing).** A receive (`read`) checks the sender
//!   list (one `SeqCst` load) *before* it frees its slot, and frees it at
//!   once when nobody waits: the same two atomic operations as free-then-
//!   check. When someone waits, it takes the list's lock with the slot
//!   still its own.
//! - **M2 (the freed slot is the tail).** If the first waiting entry is a
//!   value entry and `tail` is exactly the next lap's position `q` of the
//!   slot just read (the ring was full), no sender can claim `q`: its stamp
//!   does not say free. The receiver moves `tail` past `q` (a
//!   compare-exchange that fails only if the channel was closed), copies
//!   the value into the slot, publishes it (`stamp = q + 1`), and claims
//!   the entry last (rule V2 makes that claim certain, so the copy is
//!   never undone). No slot is ever claimed and left unwritten on this
//!   path, and the send has completed before the receive returns.
//! - **M3 (otherwise, room at the tail).** If the ring was not full at that
//!   slot (several receivers), or for room opened some other way (an
//!   abandoned claim passed or undone), the slot is freed first and the
//!   lock holder then claims whatever room is at `tail` (`start_send`) for
//!   the first waiting value entry, with the same copy, publish, claim. No
//!   room (another sender took it, or a receiver is still freeing the tail
//!   slot and will do this itself): the entry stays parked.
//! - **M4 (a registered sender re-checks).** After registering
//!   (`SeqCst`), a sender looks at `tail` ([`Array::send_room`]): free room
//!   it claims itself *while still registered* and then withdraws under
//!   the lock; if a mover claimed the entry first, it gives its own claim
//!   back and returns `Ok`. A full ring whose oldest message nobody has
//!   claimed (`head` a lap behind `tail`) is safe to park on: the receiver
//!   that claims that message does so after the registration, so its M1
//!   look sees it.
//! - **M5 (only the tail's holder looks).** A receive that found senders
//!   waiting but whose slot is not the tail's frees it and takes the lock
//!   only if the slot at `tail` is free: otherwise that slot is held (a
//!   message, a claim, a receiver moving it out), and whoever frees it
//!   looks for waiters then (M1, F1–F2); room behind it is no use to a
//!   sender yet. With several receivers this keeps all but one of them off
//!   the sender list's lock while a sender is parked (`chan_4x4`: from
//!   2,000–6,000 fruitless lock round trips per million messages to none).
//!   Its free is a plain store: a flag (F1) can only be on the slot at
//!   `tail`, and if `tail` reached our slot meanwhile, the re-check after
//!   the store finds it free and hands it on (M3).
//! - **M6 (hand on until no room or nobody waits).** A hand-off does not
//!   end with the first waiting entry served: M5 leaves room *behind* the
//!   tail slot to that slot's holder, and filling it (M2) or a sender
//!   claiming it moves `tail` onto that room, which no receive is left to
//!   hand on (two receives, two parked senders, and the second stayed
//!   parked beside a free slot: `tests/chan_handoff.rs`). So after
//!   serving one entry the lock holder looks again while another waits,
//!   and when it finds no room at `tail` (handing on, or at all) it flags
//!   the slot there as a registering sender does ([`Array::send_room`],
//!   F1): the slot's holder may have looked for waiters before they
//!   registered, and the slot they flagged may no longer be the tail's.
//! - **F1 (flag a slot being freed).** But if a receiver has claimed that
//!   message already, its M1 look may have come before the registration,
//!   and it would free the slot without looking again. So the sender sets
//!   `mark_bit` in the slot's stamp (a compare-exchange from the exact
//!   "written" stamp; stamps never use that bit otherwise) and parks. Every
//!   reader of a stamp masks the flag off.
//! - **F2 (the free sees the flag).** A receiver that found nobody waiting
//!   frees its slot with a swap and, if the old stamp carried the flag,
//!   looks for waiting senders after all (room goes to them as in M3).
//!   Paths that free or fill a slot under the sender list's lock overwrite
//!   the flag with a plain store: a flag set during that lock hold comes
//!   from a sender that registered before it, which the lock holder saw.
//!   So no sender waits on a receiver that may not be running (an earlier
//!   draft spun for it instead: loom found two such senders yielding to
//!   each other forever, and on one worker it spins on a descheduled one).
//!
//! # Select send cases (rules H1, H2)
//!
//! A `select!` send case has no value until it wins (its expression runs
//! after), so room is *reserved* for it instead:
//!
//! - **H1.** If the first waiting entry is a select send case, the lock
//!   holder frees the slot (if it has one), claims the slot at `tail`
//!   (`start_send`), writes the claim into the entry (`packet`, `stamp`)
//!   and only then claims the entry (context rule 2); if that claim fails
//!   (its select was won elsewhere, or it gave up) the next waiting entry
//!   gets it, and a reservation nobody takes is released with
//!   `abandon_send`. The woken select writes its value into the reserved
//!   slot: a claim made before a close still completes. Until the select
//!   runs, the slot is claimed but unwritten (receivers reaching it park;
//!   non-blocking ones wait for it, rule L1): acceptable for selects, whose
//!   send cases are rare on hot paths, and the reason plain sends use
//!   M1–M3 instead.
//! - **H2 (gap).** A select whose send-case registration finds room
//!   withdraws from *every* case and claims again,
//!   as for any ready case. If the channel is closed in between, the send
//!   case fails although it was registered when the room opened; a plain
//!   `send` has no such window (it claims while still registered). Go has
//!   the same outcome for this interleaving: it too would see the close
//!   first. Left as is.
//!
//! # The last receiver
//!
//! Dropping the last `Receiver` closes the channel and drops every
//! buffered message at once (`disconnect_receivers`; crossbeam-channel does
//! the same): nobody can receive them any more. Senders that had claimed a
//! slot before the close finish writing it (their send returns `Ok`) and
//! the drain waits for them (rule L1); parked senders are woken by the close
//! and get their values back in `SendError`.

use std::mem::MaybeUninit;
use std::time::Instant;

use super::{Array, Room, Slot, Token, waiter};
use crate::context::{ABORTED, Context, Entry, FIRST_OPER, WAITING, Waiters};
use crate::error::{SendTimeoutError, TrySendError};
use crate::waiter::Unparker;
use std::sync::atomic::Ordering;

/// Pause instructions a blocked sender spins through, at most, before it
/// parks (a few microseconds; see the module docs).
const SEND_SPINS: usize = 200;

/// What one locked round of `Array::hand_room` did: whom to wake, whether
/// it published a message, a reservation nobody took, and whether to hand
/// again (rule M6).
type HandOff = (Option<Unparker>, bool, Option<(*const u8, usize)>, bool);

/// How a parked plain send ended (`Array::send_parked`).
enum Parked {
    /// A receiver moved the value into the ring (rules M2, M3): sent.
    Moved,
    /// The sender claimed room itself (rule M4), or found the channel
    /// closed (null slot): write the value with this claim.
    Own(Token),
    /// Timed out or closed while parked: look again.
    Retry,
}

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
            match self.send_parked(&msg, deadline) {
                Parked::Moved => {
                    // The ring holds the value now (rule V3).
                    std::mem::forget(msg);
                    return Ok(());
                }
                Parked::Own(mut own) => {
                    // SAFETY: our own fresh claim (or closed), completed once.
                    return unsafe { self.write(&mut own, msg) }.map_err(SendTimeoutError::Closed);
                }
                Parked::Retry => {}
            }
        }
    }

    /// Registers a value entry for `msg` and waits until a receiver moves
    /// it (rules M2, M3), room turns up for us to claim (M4), the channel
    /// closes, or `deadline` passes. `msg` stays where it is, untouched,
    /// while the entry is linked (rule V3); after `Parked::Moved` the
    /// caller must forget it.
    fn send_parked(&self, msg: &T, deadline: Option<Instant>) -> Parked {
        let cx = Context::new();
        let mut entry = Entry::new(FIRST_OPER, &cx, std::ptr::null_mut(), false);
        entry.value = msg as *const T as *const u8;
        // SAFETY: `entry` stays in this frame until it is unlinked: by a
        // claimer, or by `withdraw` below.
        unsafe { self.senders.register(&mut entry) };
        // Rule M4: room that opened before a receiver could see us, we
        // claim ourselves, still registered.
        let mut own = Token::default();
        let took = loop {
            if cx.state() != WAITING {
                break false;
            }
            match self.send_room() {
                Room::Full => break false,
                Room::Free => {
                    if self.start_send(&mut own) {
                        break true;
                    }
                }
            }
        };
        let state = if took {
            // SAFETY: registered above; `cx` is its context.
            unsafe { self.senders.withdraw(&mut entry, &cx) }
        } else {
            self.wait_parked(&cx, &mut entry, deadline)
        };
        if state == FIRST_OPER {
            // A receiver moved the value (rules M2, M3).
            if took && !own.array_slot.is_null() {
                // SAFETY: our fresh claim, completed once (here).
                unsafe { self.abandon_send(&mut own) };
            }
            Parked::Moved
        } else if took {
            Parked::Own(own)
        } else {
            // Closed (the close unlinked us) or timed out (`withdraw` did).
            Parked::Retry
        }
    }

    /// Parks until a claim lands on `cx`, or until `deadline`, when the
    /// sender withdraws under the list's lock (rule V2: never by a bare
    /// compare-exchange, which could race with a mover's copy). Returns
    /// the final state.
    fn wait_parked(&self, cx: &Context, entry: &mut Entry, deadline: Option<Instant>) -> usize {
        loop {
            let s = cx.state();
            if s != WAITING {
                return s;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // SAFETY: registered by `send_parked`; `cx` is its context.
                return unsafe { self.senders.withdraw(entry, cx) };
            }
            waiter::park("chan send", deadline, || cx.state() == WAITING);
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
    /// parked, give it the room (rules M3, H1). One `SeqCst` load when
    /// nobody waits.
    #[inline]
    pub(super) fn notify_senders(&self) {
        if self.senders.has_waiters() {
            self.hand_room(None);
        }
    }

    /// `read` found senders waiting before freeing `slot` (rule M1):
    /// complete the first one's send into it (M2), or free it and hand the
    /// room on (M3, H1). `free` is the slot's free stamp, the next lap's
    /// position.
    #[cold]
    pub(super) fn free_to_sender(&self, slot: &Slot<T>, free: usize) {
        if self.tail.load(Ordering::SeqCst) == free {
            // The ring is full at our slot: it is the tail's (M2).
            self.hand_room(Some((slot, free)));
            return;
        }
        // Rule M5: our slot is not the tail's, so no sender can flag it
        // (F1 flags the slot at `tail`) and freeing it opens no room a
        // sender can use yet. Room exists only if the slot at `tail` is
        // free; otherwise its holder looks for waiters itself when it
        // frees it (M1, or F1/F2), so the list's lock is left alone.
        slot.stamp.store(free, Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst);
        let at = &self.buffer[tail & (self.mark_bit - 1)];
        if tail & self.mark_bit == 0 && at.stamp.load(Ordering::SeqCst) == tail {
            self.hand_room(None);
        }
    }

    #[cold]
    fn hand_room(&self, mut freeing: Option<(&Slot<T>, usize)>) {
        loop {
            let (wake, published, unused, again) = self.senders.with_list(|l| {
                // SAFETY: `with_list` holds the list's lock.
                unsafe { self.hand_room_locked(l, freeing.take()) }
            });
            if let Some(u) = wake {
                u.unpark_into();
            }
            if published {
                self.published();
            }
            if let Some((slot, stamp)) = unused {
                // Every select that could take the reservation gave up:
                // release the room (which looks for a waiter again).
                let mut token = Token {
                    array_slot: slot,
                    array_stamp: stamp,
                    ..Token::default()
                };
                // SAFETY: a fresh claim made by `start_send` under the lock,
                // completed once (here).
                unsafe { self.abandon_send(&mut token) };
            }
            // Rule M6: more room and another waiter after this hand-off.
            if !again {
                return;
            }
        }
    }

    /// The body of [`Array::hand_room`]: room goes to the waiting entries
    /// in FIFO order until one takes it (rules M2, M3, H1). Returns whom to
    /// wake, whether a message was published (wake a receiver), a
    /// reservation nobody took (release it after unlocking), and whether
    /// another entry waits with room at `tail` for it (rule M6: hand again).
    ///
    /// # Safety
    /// The caller holds the sender list's lock (`l` is that list).
    unsafe fn hand_room_locked(
        &self,
        l: &mut Waiters,
        mut freeing: Option<(&Slot<T>, usize)>,
    ) -> HandOff {
        let mut room: Option<(*const Slot<T>, usize)> = None;
        // SAFETY (every `first_waiting` and entry access below): we hold
        // the lock, so linked entries are alive (context rule 1).
        while let Some(e) = unsafe { l.first_waiting() } {
            // SAFETY: see above.
            let value = unsafe { (*e).value };
            if room.is_none() {
                room = self.take_room(&mut freeing, !value.is_null());
            }
            let Some((slot, stamp)) = room else {
                // No room after all (another sender took it, or the tail
                // slot is held and its holder will look: `take_room` made
                // sure of it, rule M6), or closed (the close wakes
                // everyone).
                return (None, false, None, false);
            };
            if !value.is_null() {
                // A plain send (rules M2, M3). SAFETY: the slot is claimed
                // by us (tail moved past it, its stamp not yet published).
                // The entry is `WAITING` under the lock, so our claim below
                // will land (rule V2) and its value is there to copy (V3):
                // the copy is the only live one once the claim lands, and
                // the waiter then forgets its own.
                unsafe {
                    let slot = &*slot;
                    slot.msg
                        .get()
                        .write(MaybeUninit::new(std::ptr::read(value as *const T)));
                    *slot.present.get() = true;
                    // SeqCst: pairs with a registering receiver's re-check.
                    slot.stamp.store(stamp, Ordering::SeqCst);
                }
                // SAFETY: linked and `WAITING` under this lock hold; a
                // value entry.
                let u = unsafe { l.unlink_and_claim_locked(e) };
                // SAFETY: we hold the lock (caller contract).
                let again = unsafe { self.more_room_for(l) };
                return (Some(u), true, None, again);
            }
            // A select send case: the reservation goes in before the claim
            // (rule H1, context rule 2). SAFETY: see above.
            unsafe {
                (*e).packet = slot as *mut u8;
                (*e).stamp = stamp;
            }
            // SAFETY: linked, under the lock. If the claim fails (its
            // select was won elsewhere, or it gave up) the entry is
            // unlinked and the next one gets the room.
            if let Some(u) = unsafe { l.unlink_and_claim(e) } {
                // SAFETY: we hold the lock (caller contract).
                let again = unsafe { self.more_room_for(l) };
                return (Some(u), false, None, again);
            }
        }
        // Nobody (left) waiting: free our slot if we still hold it.
        if let Some((slot, stamp)) = freeing {
            slot.stamp.store(stamp, Ordering::SeqCst);
        }
        (None, false, room.map(|(s, st)| (s as *const u8, st)), false)
    }

    /// After a hand-off under the lock: whether another entry is waiting
    /// and `tail` has room for it (rule M6), so the caller hands again.
    /// When `tail` is held instead, [`Array::send_room`] makes sure its
    /// holder looks for the waiter when it frees it (rule F1).
    ///
    /// # Safety
    /// The caller holds the sender list's lock (`l` is that list).
    unsafe fn more_room_for(&self, l: &Waiters) -> bool {
        // SAFETY: caller contract.
        unsafe { l.first_waiting() }.is_some() && self.send_room() == Room::Free
    }

    /// Room for the first waiting entry. `freeing` (the slot `read` has
    /// just emptied and not yet freed) is taken: for a value entry, whose
    /// claim cannot fail, the slot itself if it is the tail's (rule M2: a
    /// compare-exchange that only a close can make fail, since no sender
    /// can claim a slot whose stamp does not say free); otherwise it is
    /// freed and whatever is at `tail` is claimed (M3, H1). `None`: no
    /// room, or closed.
    fn take_room(
        &self,
        freeing: &mut Option<(&Slot<T>, usize)>,
        for_value: bool,
    ) -> Option<(*const Slot<T>, usize)> {
        if let Some((slot, q)) = freeing.take() {
            if for_value
                && self
                    .tail
                    .compare_exchange(q, self.next(q), Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok()
            {
                return Some((slot as *const Slot<T>, q + 1));
            }
            slot.stamp.store(q, Ordering::SeqCst);
        }
        let mut t = Token::default();
        loop {
            if self.start_send(&mut t) {
                return (!t.array_slot.is_null())
                    .then_some((t.array_slot as *const Slot<T>, t.array_stamp));
            }
            // No room at `tail`: its holder may have looked for waiters
            // before they registered, and `tail` may have moved past the
            // slot they flagged (rule M6). Flag it as a registering sender
            // would (F1), or claim again if it was freed meanwhile.
            if self.send_room() == Room::Full {
                return None;
            }
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
        while self.start_recv_drain(&mut token) {
            // SAFETY: fresh successful claim, completed once.
            match unsafe { self.read(&mut token) } {
                Some(m) => drop(m),
                None => return,
            }
        }
    }
}
