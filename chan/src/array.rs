//! The buffered flavor: a bounded lock-free MPMC ring (Vyukov's design, as
//! in crossbeam-channel and Go's `runtime/chan.go` semantics on top).
//!
//! # Positions and stamps
//!
//! `head` and `tail` are *positions*: `lap | index`, where `index < cap`
//! and `lap` counts in units of `one_lap` (a power of two above `cap`, so
//! the bits do not mix). `tail` also carries `mark_bit` once the channel is
//! closed. Every slot has a `stamp`:
//!
//! | slot stamp        | meaning for the slot at position `p` |
//! |-------------------|--------------------------------------|
//! | `p`               | free: a sender at `tail == p` may claim it |
//! | `p + 1`           | written: a receiver at `head == p` may claim it |
//! | `p + one_lap`     | read in this lap: free for the next lap's sender |
//!
//! Sending claims a slot by moving `tail` forward with a compare-exchange,
//! writes, then publishes with `stamp = p + 1` (release). Receiving claims by
//! moving `head`, reads, then frees with `stamp = p + one_lap`. Claim and
//! publish are separate steps ([`Token`] carries the claim in between), which
//! is what lets `select!` reserve an operation and complete it later.
//!
//! # Blocking
//!
//! Two [`SyncWaiters`] lists: receivers waiting for a message, senders
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
//! after registering. The same `SeqCst` pairing as above. So a `try_send`
//! can report `Full` while a receiver is half-way through taking the oldest
//! message, just as a `try_recv` can report `Empty` while a sender is
//! half-way through writing: the operation has begun but not finished.
//!
//! Before it parks, a blocked sender may spin for a little while
//! ([`SEND_SPINS`] pauses, when [`waiter::can_spin`] says another CPU is at
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
//! # Closing
//!
//! `close` sets `mark_bit` in `tail` once (that call returns `true`), then
//! wakes every waiter as disconnected. Senders fail from then on (the value
//! comes back); receivers drain what is buffered and then see "closed".
//!
//! # Abandoned slots
//!
//! A `select!` send case is evaluated lazily: the slot is claimed first, the
//! value expression runs only if the case won. If that expression panics, the
//! claim is *abandoned*: if it is still the latest claim, `tail` simply moves
//! back; otherwise the slot is published with `present = false`, passed at
//! once if it is at the head, else skipped by the receiver that reaches it.
//! So no receiver ever waits on a slot nobody will fill, and until a
//! receiver gets there an abandoned slot behind real messages counts in
//! `len()` like a message.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::time::Instant;

use crate::context::{ABORTED, Context, Entry, FIRST_OPER, SyncWaiters};
use crate::error::{SendTimeoutError, TrySendError};
use crate::select::Token;
use crate::waiter;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Pause instructions a blocked sender spins through, at most, before it
/// parks (a few microseconds; see the module docs).
const SEND_SPINS: usize = 200;

struct Slot<T> {
    stamp: AtomicUsize,
    /// Whether the slot holds a message (false: an abandoned claim).
    /// Written before the publishing stamp store, read after its load.
    present: UnsafeCell<bool>,
    msg: UnsafeCell<MaybeUninit<T>>,
}

/// Keeps `head` and `tail` on different cache lines (128 bytes covers
/// adjacent-line prefetching) without raising the struct's alignment: an
/// over-aligned channel would make every `chan()` call, unbuffered ones
/// included, take the allocator's slow aligned path.
type Pad = [u8; 120];

pub(crate) struct Array<T> {
    _pad0: Pad,
    head: AtomicUsize,
    _pad1: Pad,
    tail: AtomicUsize,
    _pad2: Pad,
    buffer: Box<[Slot<T>]>,
    cap: usize,
    one_lap: usize,
    mark_bit: usize,
    senders: SyncWaiters,
    receivers: SyncWaiters,
}

// SAFETY: slots are handed between threads by the stamp protocol (one owner
// per slot at a time, release/acquire on the stamp); messages are `Send`.
unsafe impl<T: Send> Send for Array<T> {}
// SAFETY: as above; every shared field is atomic or guarded by a stamp.
unsafe impl<T: Send> Sync for Array<T> {}

impl<T> Array<T> {
    pub(crate) fn new(cap: usize) -> Self {
        assert!(cap > 0, "a buffered channel has capacity of at least 1");
        let mark_bit = (cap + 1).next_power_of_two();
        let one_lap = mark_bit * 2;
        let buffer = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                present: UnsafeCell::new(false),
                msg: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Array {
            _pad0: [0; 120],
            head: AtomicUsize::new(0),
            _pad1: [0; 120],
            tail: AtomicUsize::new(0),
            _pad2: [0; 120],
            buffer,
            cap,
            one_lap,
            mark_bit,
            senders: SyncWaiters::new(),
            receivers: SyncWaiters::new(),
        }
    }

    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.mark_bit - 1);
        let lap = pos & !(self.one_lap - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            lap.wrapping_add(self.one_lap)
        }
    }

    /// Claims a slot to send into. `true`: claimed (or the channel is
    /// closed: `token.array_slot` is null). `false`: no room yet (full, or
    /// the oldest message is being moved out right now).
    pub(crate) fn start_send(&self, token: &mut Token) -> bool {
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                token.array_slot = std::ptr::null();
                return true;
            }
            let slot = &self.buffer[tail & (self.mark_bit - 1)];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        token.array_slot = slot as *const Slot<T> as *const u8;
                        token.array_stamp = tail + 1;
                        return true;
                    }
                    Err(t) => {
                        std::hint::spin_loop();
                        tail = t;
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds the previous lap's message: the ring
                // is full, or a receiver has claimed that message and is
                // moving it out right now. Either way, no room *yet*: a
                // blocking sender parks and is notified when the slot is
                // freed. Waiting here instead (spinning on the slot) halves
                // the 4x4 throughput on two cores: the spinner and the
                // receiver fight over the slot's line, where parking lets
                // the receivers drain a batch.
                return false;
            } else {
                // Another sender claimed this position; look again.
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Whether a send could make progress now (a free slot at `tail`, or
    /// closed), for a sender that just registered. Pairs with the `SeqCst`
    /// stamp store in `read` (see the module docs).
    pub(crate) fn send_ready(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        if tail & self.mark_bit != 0 {
            return true;
        }
        let stamp = self.buffer[tail & (self.mark_bit - 1)]
            .stamp
            .load(Ordering::SeqCst);
        stamp.wrapping_add(self.one_lap) != tail + 1
    }

    /// Completes a send claim. Gives the value back if the channel was
    /// closed when the claim was made.
    ///
    /// # Safety
    /// `token` comes from a successful `start_send` on this channel and is
    /// completed once (by `write` or `abandon_send`).
    pub(crate) unsafe fn write(&self, token: &mut Token, msg: T) -> Result<(), T> {
        if token.array_slot.is_null() {
            return Err(msg);
        }
        // SAFETY: the claim gives us exclusive use of the slot until we
        // publish its stamp.
        let slot = unsafe { &*(token.array_slot as *const Slot<T>) };
        // SAFETY: as above.
        unsafe {
            slot.msg.get().write(MaybeUninit::new(msg));
            *slot.present.get() = true;
        }
        // SeqCst: pairs with a registering receiver's re-check (module docs).
        slot.stamp.store(token.array_stamp, Ordering::SeqCst);
        self.published();
        Ok(())
    }

    /// Wakes receivers after a slot was published. Normally one (the
    /// message is for one). But if the channel was closed while this slot
    /// was claimed and unwritten, several receivers may be parked on it
    /// (close woke those that waited before it; the rest parked because the
    /// slot was not yet written): after it only "closed" is left to see, so
    /// wake them all.
    #[inline]
    fn published(&self) {
        if self.tail.load(Ordering::SeqCst) & self.mark_bit != 0 {
            self.receivers.disconnect();
        } else {
            self.receivers.notify();
        }
    }

    /// Gives up a send claim without a message: undone if it is the latest
    /// claim, else published empty (receivers skip it).
    ///
    /// # Safety
    /// As for `write`.
    pub(crate) unsafe fn abandon_send(&self, token: &mut Token) {
        if token.array_slot.is_null() {
            return;
        }
        // If nobody claimed a later slot (and the channel was not closed),
        // undo the claim: move `tail` back. The slot's stamp was never
        // touched, so it is free again, and the channel is as if the claim
        // never happened.
        let pos = token.array_stamp - 1;
        if self
            .tail
            .compare_exchange(self.next(pos), pos, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
        {
            self.senders.notify();
            return;
        }
        // Otherwise publish it empty; receivers skip it and free it.
        // SAFETY: exclusive use of the claimed slot, as in `write`.
        let slot = unsafe { &*(token.array_slot as *const Slot<T>) };
        // SAFETY: as above.
        unsafe { *slot.present.get() = false };
        slot.stamp.store(token.array_stamp, Ordering::SeqCst);
        // If it is at the head, pass it now, as a receiver would (racing with
        // receivers on the same compare-exchange; whoever wins frees it), so
        // it neither counts in `len` nor holds capacity.
        if self
            .head
            .compare_exchange(pos, self.next(pos), Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
        {
            slot.stamp
                .store(pos.wrapping_add(self.one_lap), Ordering::SeqCst);
            self.senders.notify();
        }
        self.published();
    }

    /// Claims a message to receive. `true`: claimed (or closed and drained:
    /// `token.array_slot` is null). `false`: nothing to take yet (empty, or
    /// the next message is still being written).
    pub(crate) fn start_recv(&self, token: &mut Token) -> bool {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = &self.buffer[head & (self.mark_bit - 1)];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                match self.head.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the stamp (acquire) published `present`.
                        if !unsafe { *slot.present.get() } {
                            // An abandoned claim: free the slot, look on.
                            slot.stamp
                                .store(head.wrapping_add(self.one_lap), Ordering::SeqCst);
                            self.senders.notify();
                            head = self.head.load(Ordering::Relaxed);
                            continue;
                        }
                        token.array_slot = slot as *const Slot<T> as *const u8;
                        token.array_stamp = head.wrapping_add(self.one_lap);
                        return true;
                    }
                    Err(h) => {
                        std::hint::spin_loop();
                        head = h;
                    }
                }
            } else if stamp == head {
                let tail = self.tail.load(Ordering::SeqCst);
                if tail & !self.mark_bit == head && tail & self.mark_bit != 0 {
                    token.array_slot = std::ptr::null();
                    return true;
                }
                // Empty, or a sender is writing this slot right now: nothing
                // to take *yet*; a waiting receiver is notified on publish.
                return false;
            } else {
                // Another receiver took this position; look again.
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Whether a receive could make progress now (a published message, or
    /// closed and drained), for a receiver that just registered. Pairs with
    /// the `SeqCst` stamp store in `write`.
    pub(crate) fn recv_ready(&self) -> bool {
        let head = self.head.load(Ordering::SeqCst);
        let stamp = self.buffer[head & (self.mark_bit - 1)]
            .stamp
            .load(Ordering::SeqCst);
        if stamp != head {
            return true; // published, or moved on: look again
        }
        let tail = self.tail.load(Ordering::SeqCst);
        tail & self.mark_bit != 0 && tail & !self.mark_bit == head
    }

    /// Completes a receive claim: `None` if the channel was closed and
    /// drained when the claim was made.
    ///
    /// # Safety
    /// `token` comes from a successful `start_recv` on this channel and is
    /// completed once.
    pub(crate) unsafe fn read(&self, token: &mut Token) -> Option<T> {
        if token.array_slot.is_null() {
            return None;
        }
        // SAFETY: the claim gives us exclusive use of the slot; `present`
        // was checked in `start_recv`, so a message is there.
        let slot = unsafe { &*(token.array_slot as *const Slot<T>) };
        // SAFETY: as above; the message is moved out exactly once.
        let msg = unsafe { slot.msg.get().read().assume_init() };
        slot.stamp.store(token.array_stamp, Ordering::SeqCst);
        self.senders.notify();
        Some(msg)
    }

    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut token = Token::default();
        if self.start_send(&mut token) {
            // SAFETY: fresh successful claim, completed once.
            unsafe { self.write(&mut token, msg) }.map_err(TrySendError::Closed)
        } else {
            Err(TrySendError::Full(msg))
        }
    }

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
                return Err(SendTimeoutError::Timeout(msg));
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
            if self.send_ready() {
                let _ = cx.try_claim(ABORTED);
            }
            if cx.wait_until("chan send", deadline) != FIRST_OPER {
                // SAFETY: registered above.
                unsafe { self.senders.unregister(&mut entry) };
            }
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

    pub(crate) fn try_recv(&self) -> Option<Result<T, ()>> {
        let mut token = Token::default();
        if self.start_recv(&mut token) {
            // SAFETY: fresh successful claim, completed once.
            Some(unsafe { self.read(&mut token) }.ok_or(()))
        } else {
            None
        }
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
                return Err(());
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

    /// Marks the channel closed and wakes everyone. `true` if this call did.
    pub(crate) fn close(&self) -> bool {
        let tail = self.tail.fetch_or(self.mark_bit, Ordering::SeqCst);
        if tail & self.mark_bit != 0 {
            return false;
        }
        self.senders.disconnect();
        self.receivers.disconnect();
        true
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) != tail {
                continue;
            }
            let hix = head & (self.mark_bit - 1);
            let tix = tail & (self.mark_bit - 1);
            return if hix < tix {
                tix - hix
            } else if hix > tix {
                self.cap - hix + tix
            } else if tail & !self.mark_bit == head {
                0
            } else {
                self.cap
            };
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    pub(crate) fn senders(&self) -> &SyncWaiters {
        &self.senders
    }

    pub(crate) fn receivers(&self) -> &SyncWaiters {
        &self.receivers
    }
}

impl<T> Drop for Array<T> {
    fn drop(&mut self) {
        // No claims are outstanding (a claim borrows a handle, and handles
        // keep the channel alive); every position in [head, tail) is written.
        let mut head = *self.head.get_mut();
        let tail = *self.tail.get_mut() & !self.mark_bit;
        while head != tail {
            let slot = &mut self.buffer[head & (self.mark_bit - 1)];
            if *slot.present.get_mut() {
                // SAFETY: a written, unread slot owns its message.
                unsafe { slot.msg.get_mut().assume_init_drop() };
            }
            head = {
                let index = head & (self.mark_bit - 1);
                let lap = head & !(self.one_lap - 1);
                if index + 1 < self.cap {
                    head + 1
                } else {
                    lap.wrapping_add(self.one_lap)
                }
            };
        }
    }
}
