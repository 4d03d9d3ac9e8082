//! Blocking operations on the buffered ring (`array.rs`): parking, the
//! hand-off of freed room to parked senders, and the drain when the last
//! receiver goes. The ring itself, its stamps and the non-blocking claims
//! (rule L1) are in `array.rs`.
//!
//! # A receive completes a parked sender's send (rules H1–H3)
//!
//! Go's receive from a full channel with a parked sender moves that
//! sender's value into the buffer before it returns, so the send has
//! completed even if the channel is closed right after (say, by the last
//! receiver's drop). Here:
//!
//! - **H1 (hand the room on).** Whoever frees a slot — a receive (`read`),
//!   or a passed abandoned claim — frees it first (`SeqCst` stamp store)
//!   and then looks at the sender list (one `SeqCst` load when nobody
//!   waits: [`Array::wake_senders`]). If a sender waits, it takes the
//!   list's lock and, while a sender waits and `tail` has room, claims
//!   that room with the ordinary blocking claim (`start_send`) for the
//!   first waiting sender in FIFO order ([`Array::hand_room`]). A parked
//!   plain `send` left a pointer to its value in its entry: the value is
//!   moved into the claimed slot and published, and the sender is woken
//!   with its send complete (`FIRST_OPER`; rules V1–V3 in `context.rs`
//!   say why the copy may come before the claim).
//! - **H2 (select! send cases get a reservation).** A parked `select!` send
//!   case has no value yet (it is evaluated only if the case wins): the
//!   claimed slot goes into its entry's `packet`, written before the claim
//!   (rule 2 of `context.rs`), and the woken case completes that claim
//!   (`accept_reserved`; `write`, or `abandon_send` if its value expression
//!   panics). If its select was claimed elsewhere meanwhile, the room is
//!   offered to the next waiting sender, or given back (`abandon_send`).
//!   Until the case runs, the slot is claimed and unwritten: blocking
//!   receivers park on it, non-blocking ones wait for it only when a later
//!   slot holds a completed send (rule L2), and a blocking claim that finds
//!   it at `tail` a lap later answers "full" instead of spinning.
//! - **H3 (a registered sender is served like any other).** A plain sender
//!   registers, then re-checks for room (`send_ready`, the Dekker pairing
//!   below). If it sees room, it does not withdraw: it runs
//!   [`Array::hand_room`] itself, which serves the waiting senders in FIFO
//!   order, itself included. So once a sender is registered, its send is
//!   completed by whoever frees room first, and a receive that frees room
//!   after the registration never returns before that send completes
//!   (loom: `loom_models::*_completes_registered_send`). Its only
//!   withdrawals are a deadline and a close that came after the close's
//!   sweep of the list, both under the lock (rule V2).
//!
//! Every hand-off carries its room, so no wake-up is spent without room
//! and nothing needs to hand a wake-up on (the lost-wake-up count of the
//! wake-and-claim design, W2, is gone; `tests/chan_handoff.rs` still
//! checks that no sender is left parked beside free room). `hand_room`
//! decides under the lock whether more can be handed (another sender
//! waits and `tail` has room), so the common hand-off is one lock round
//! trip.
//!
//! Why this design and not the two measured before it (issue 12,
//! `docs/benchmarks.md`): it frees the slot *before* it looks for senders
//! and claims room through the same `tail` compare-exchange as a sender,
//! so the fast paths are untouched and the blocked senders' batch spin
//! (below) works as before. The receive-side copy of the second landing
//! looked for senders *before* freeing its slot (the freed slot handed
//! straight to the sender, the slot held across the lock) and spun and
//! claimed differently: `chan_4x4` on two workers fell to 8–15 Mmsg/s
//! from about 30, and 1.17× main's time at best after making its other
//! choices like main's (branch `handoff2`). Reserving room for every woken
//! sender (the first landing) left slots unwritten until the sender ran
//! (`chan_4x4` at a sixth). Reservations remain for `select!` send cases
//! only, which are rare on hot channels.
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
//! freed slot when producers are ahead: the receiver frees a slot, moves
//! the parked sender's value in (H1) and wakes it, and the sender's next
//! send finds the ring full and parks again. A sender that spins needs
//! no wake-up, and waiting for a batch keeps it from trading the slot's
//! cache line with the receiver message by message. If the batch does not
//! come within the spin, one free slot is enough again, and the sender
//! registers and parks as before; so spinning delays a sender by a few
//! microseconds at most and changes nothing else. (`select4`: 130 → 82 ns
//! per operation on two workers; measurements in `docs/benchmarks.md`.)
//!
//! # The last receiver
//!
//! Dropping the last `Receiver` closes the channel and drops every
//! buffered message at once (`disconnect_receivers`; crossbeam-channel does
//! the same): nobody can receive them any more. Senders that had claimed a
//! slot before the close finish writing it (their send returns `Ok`) and
//! the drain waits for them (rule L1), `select!` send cases holding a
//! reserved slot (H2) included; parked senders whose sends no receive
//! completed are woken by the close and get their values back in
//! `SendError`.

use std::mem::ManuallyDrop;
use std::time::Instant;

use super::{Array, Slot, Token, waiter};
use crate::context::{ABORTED, Context, Entry, FIRST_OPER, WAITING};
use crate::error::{SendTimeoutError, TrySendError};
use crate::waiter::Unparker;
use std::sync::atomic::Ordering;

/// Pause instructions a blocked sender spins through, at most, before it
/// parks (a few microseconds; see the module docs). 800, not the 200 of
/// before the hand-off: a park now costs the receiver more (it moves the
/// parked sender's value in, H1), so fewer parks pay. Quiet, against main
/// before the hand-off (`compare.py --runs 21`, twice): `select4` 1.00 and
/// 1.01 with 800, 1.04 with 200; chan_4x4 1.00 / 1.01, chan_1x1 0.96 / 0.99,
/// pingpong 1.01.
const SEND_SPINS: usize = 800;

/// What one round of [`Array::hand_room`] did, under the list's lock.
enum Handed {
    /// Nobody waits (any room claimed for a select that went another way
    /// is still held: give it back).
    Nobody,
    /// A sender waits, and `tail` has no room (or the channel is closed).
    NoRoom,
    /// A select! send case got a reserved slot (wake it). `bool`: whether
    /// another sender waits and `tail` has room (hand again).
    Reserved(Unparker, bool),
    /// A plain send's value moved into the ring (wake it and a receiver).
    /// `bool`: as for `Reserved`.
    Moved(Unparker, bool),
}

impl<T> Array<T> {
    /// Blocking send, optionally until `deadline`.
    pub(crate) fn send(
        &self,
        msg: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut token = Token::default();
        if self.start_send(&mut token) {
            // SAFETY: fresh successful claim, completed once.
            return unsafe { self.write(&mut token, msg) }.map_err(SendTimeoutError::Closed);
        }
        self.send_blocked(msg, deadline)
    }

    /// [`Array::send`] after its first claim found no room: spin, then
    /// park with the value in the wait entry until a receive moves it into
    /// the ring (rule H1), room turns up for us to claim ourselves, the
    /// channel closes, or `deadline` passes.
    #[cold]
    fn send_blocked(&self, msg: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let mut token = Token::default();
        // The value stays here, at one address, while an entry points at it
        // (rule V3); a receiver that moves it claims our context for
        // `FIRST_OPER`, and then it is no longer ours to drop.
        let msg = ManuallyDrop::new(msg);
        // One spin per call: if the room it saw is gone again (taken by
        // another sender, or the oldest slot is still being read), park.
        let mut spun = false;
        // The caller's claim has just failed: look again only after the
        // spin, a park, or a withdrawal.
        let mut look = false;
        loop {
            if std::mem::replace(&mut look, true) && self.start_send(&mut token) {
                // SAFETY: not linked anywhere now (rule V3): ours to move,
                // once, and `msg` is not used again.
                let msg = unsafe { std::ptr::read(&*msg) };
                // SAFETY: fresh successful claim, completed once.
                return unsafe { self.write(&mut token, msg) }.map_err(SendTimeoutError::Closed);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // SAFETY: as above.
                let msg = unsafe { std::ptr::read(&*msg) };
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
            entry.value = &*msg as *const T as *const u8;
            // SAFETY: `entry` stays in this frame until it is unlinked: by a
            // claimer, or by `withdraw` below.
            unsafe { self.senders.register(&mut entry) };
            let mut state = WAITING;
            if self.send_ready() {
                // Room opened before a receiver could see us (rule H3):
                // hand it out ourselves, in FIFO order like a receiver
                // would; it may go to a sender that waited before us.
                self.hand_room();
                if self.is_closed() {
                    // Closed, perhaps after the close's sweep of the list
                    // (nobody would claim us): withdraw, keeping any claim
                    // that came first.
                    // SAFETY: registered above; `cx` is its context.
                    state = unsafe { self.senders.withdraw(&mut entry, &cx) };
                }
            }
            if state == WAITING {
                state = match cx.wait_for_claim("chan send", deadline) {
                    // Out of time: withdraw under the lock (rule V2).
                    // SAFETY: as above.
                    WAITING => unsafe { self.senders.withdraw(&mut entry, &cx) },
                    s => s,
                };
            }
            if state == FIRST_OPER {
                // A receive moved the value into the ring (rule H1): the
                // send is complete, and the value is no longer ours.
                return Ok(());
            }
            // ABORTED (room, or the deadline) or DISCONNECTED (closed): the
            // claim above says which. The entry is unlinked either way.
        }
    }

    /// After a slot was freed (a receive, or an abandoned claim passed):
    /// hands the room to parked senders, if any (rule H1). One `SeqCst`
    /// load when nobody waits.
    #[inline]
    pub(crate) fn wake_senders(&self) {
        if self.senders.has_waiters() {
            self.hand_room();
        }
    }

    /// Rule H1: while a sender waits and `tail` has room, claim that room
    /// for the first waiting sender, in FIFO order: a plain `send`'s value
    /// is moved in at once (its send is complete); a `select!` send case
    /// gets the claimed slot in its entry (`packet`, rule H2) and writes it
    /// when it runs. Ends when nobody waits, the tail has no room (full, or
    /// its slot still being read: that slot's reader hands on when it frees
    /// it), or the channel is closed (the close wakes everyone).
    #[cold]
    fn hand_room(&self) {
        loop {
            let mut token = Token::default();
            // Whether `token` holds room that nobody has taken yet.
            let mut holding = false;
            // SAFETY: under the list's lock: linked entries are alive (rule
            // 1); a value entry seen `WAITING` is claimed by us only (V2).
            let handed = self.senders.with_list(|l| unsafe {
                loop {
                    let Some(e) = l.first_waiting() else {
                        return Handed::Nobody;
                    };
                    if !holding {
                        if !self.start_send(&mut token) || token.array_slot.is_null() {
                            return Handed::NoRoom;
                        }
                        holding = true;
                    }
                    if (*e).value.is_null() {
                        // A select! send case: reserve the slot for it (rule
                        // H2), written before the claim (rule 2).
                        (*e).packet = token.array_slot as *mut u8;
                        if let Some(u) = l.unlink_and_claim(e) {
                            holding = false;
                            return Handed::Reserved(u, self.more_to_hand(l));
                        }
                        // Its select went another way: offer the room on.
                        continue;
                    }
                    // V3: the value is read-only while linked, and our claim
                    // below lands (V2), so it moves to us now.
                    let msg = std::ptr::read((*e).value as *const T);
                    self.fill(&token, msg);
                    holding = false;
                    // Carrying on after a failed claim would leave the
                    // value owned twice: stop instead (cannot happen, V2).
                    let u = l
                        .unlink_and_claim(e)
                        .expect("rule V2: a value entry seen waiting is ours to claim");
                    return Handed::Moved(u, self.more_to_hand(l));
                }
            });
            match handed {
                Handed::NoRoom => return,
                Handed::Nobody => {
                    if holding {
                        // Room claimed for a select that went another way,
                        // and nobody else waits: give it back.
                        // SAFETY: a successful claim, completed once.
                        unsafe { self.abandon_send(&mut token) };
                    }
                    return;
                }
                Handed::Reserved(u, more) => {
                    u.unpark_into();
                    if !more {
                        return;
                    }
                }
                Handed::Moved(u, more) => {
                    // This may wake the caller itself (rule H3: it served its
                    // own entry): a wake-up of a running party leaves a
                    // token, its next park returns at once, and every park
                    // here re-checks its condition, so that is harmless.
                    u.unpark_into();
                    // The slot we filled is published: wake a receiver.
                    self.published();
                    if !more {
                        return;
                    }
                }
            }
        }
    }

    /// Whether [`Array::hand_room`] should hand again: another sender waits
    /// and `tail` has room now. Asked under the list's lock, so a sender
    /// registering later sees the room itself (rule H3), and room freed
    /// later is handed by whoever frees it: one lock round trip per
    /// hand-off when nothing more can be handed, the common case.
    ///
    /// # Safety
    /// `l` is this channel's sender list, locked by the caller.
    unsafe fn more_to_hand(&self, l: &crate::context::Waiters) -> bool {
        // SAFETY: caller contract.
        unsafe { l.first_waiting() }.is_some() && self.send_ready()
    }

    /// A `select!` send case woken by [`Array::hand_room`] (rule H2): the
    /// slot reserved for it becomes its claim, completed by `write` (or
    /// `abandon_send` if its value expression panics).
    ///
    /// # Safety
    /// `slot` is the `packet` of this case's entry, read after the claim
    /// of its context for this case.
    pub(crate) unsafe fn accept_reserved(&self, token: &mut Token, slot: *mut u8) -> bool {
        if slot.is_null() {
            // Not reserved (every claimer reserves; kept total).
            return self.start_send(token);
        }
        // SAFETY: a reserved slot is claimed for us: nobody else touches
        // its stamp until our write publishes it, and the claim's
        // compare-exchange (acquire on our side) ordered the reserver's
        // accesses before ours. Its stamp is still its position.
        let stamp = unsafe { &*(slot as *const Slot<T>) }
            .stamp
            .load(Ordering::Relaxed);
        token.array_slot = slot;
        token.array_stamp = stamp + 1;
        true
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
