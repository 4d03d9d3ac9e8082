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
//! Seen from the next lap's position `q = p + one_lap` of the same slot,
//! `p` (claimed, not yet written) and `p + 1` (written, not yet read, or
//! being read) both mean "not free yet": a sender at `tail == q` finds
//! the ring full, a receiver at `head == q` finds nothing to take. Both
//! say so at once rather than spin: the party that holds the slot may not
//! be running (a `select!` send case whose value expression is still
//! being evaluated holds its claim).
//!
//! Sending claims a slot by moving `tail` forward with a compare-exchange,
//! writes, then publishes with `stamp = p + 1` (release). Receiving claims by
//! moving `head`, reads, then frees with `stamp = p + one_lap`. Claim and
//! publish are separate steps ([`Token`] carries the claim in between), which
//! is what lets `select!` reserve an operation and complete it later.
//!
//! # Blocking
//!
//! Parking, waking and the drain when the last receiver goes are in
//! `array/blocking.rs`.
//!
//! # Non-blocking operations are linearizable (rule L1)
//!
//! A party that will not park — `try_recv`, `try_send`, `select!` with
//! `default`, a timed operation whose deadline has passed, the drain of
//! `disconnect_receivers` — must not answer "empty" or "full" because of
//! an operation that another party has *begun* (claimed) but not finished:
//!
//! - `try_recv` finding the head slot unwritten while `tail` has moved past
//!   it: a sender claimed the slot and is writing it, and later slots may
//!   hold messages whose `send` has already returned. It waits for that
//!   write (spin, then yield: [`Backoff`]) and takes the message. Only
//!   `tail == head` is "empty".
//! - `try_send` finding the slot at `tail` still holding the previous lap's
//!   message while `head` has moved past it: a receiver claimed that
//!   message and is moving it out, and a receive that freed another slot
//!   may already have returned. It waits for that receiver. Only
//!   `head + one_lap == tail` is "full".
//!
//! So if a send has returned before a `try_recv` starts, the `try_recv`
//! sees its message (or an earlier one) unless another receiver took it
//! (Go checks the count under the channel lock; crossbeam-channel retries
//! the same way).
//!
//! **L2.** `try_recv` waits for the head slot's write only if a slot behind
//! it already holds a published message: if none does, none of the sends
//! that claimed slots in `[head, tail)` has completed, and "empty" is
//! linearizable (checked with `head` unchanged: no receiver can pass the
//! unwritten head slot, so a message published before the `try_recv`
//! began is still there to be seen). This keeps a `select!` send case whose
//! value expression blocks (its slot claimed meanwhile) from blocking
//! `try_recv` on an otherwise empty channel, where Go, which evaluates the
//! value before selecting, answers "empty" at once. The wait is for a step of a few instructions, except
//! when the party is a `select!` send case still evaluating its value
//! expression, or a [`crate::SelectedOperation`] not yet completed: those
//! hold their claim until completed, and must be completed promptly.
//! Blocking receivers and senders keep parking instead (see above): for
//! them "not yet" is harmless, since the publish that ends it wakes them.
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

use crate::context::SyncWaiters;
use crate::error::TrySendError;
use crate::select::Token;
use crate::waiter::{self, Backoff};
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

mod blocking;

/// How long a non-blocking receive claim waits for a slot a sender has
/// claimed and not yet written (rules L1, L2). (A blocking receive does
/// not wait: it parks, `start_recv`.)
#[derive(Clone, Copy, PartialEq, Eq)]
enum RecvWait {
    /// While a later slot holds a completed send (non-blocking receives).
    Completed,
    /// Until it is written (the last receiver's drain).
    All,
}

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
    ///
    /// This is the blocking parties' claim; the non-blocking one is
    /// [`Array::start_send_now`]. They are two bodies on purpose: sharing
    /// one (a `linearize` flag, every case answered at once) changed how
    /// blocked senders and receivers interleave, and `chan_4x4` on two
    /// workers measured 15–21% slower (`compare.py --runs 31`, issue 12
    /// in `docs/benchmarks.md`).
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
            } else if stamp.wrapping_add(self.one_lap) == tail
                && self.tail.load(Ordering::Relaxed) == tail
            {
                // A sender of the previous lap claimed this slot and has not
                // written it yet, and `tail` is still here: the ring is full.
                // Spinning would wait on a party that may not be running (a
                // `select!` send case woken with a reserved slot, rule H2 in
                // `array/blocking.rs`, or one evaluating its value), on our
                // own worker maybe.
                return false;
            } else {
                // Another sender claimed this position; look again.
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// [`Array::start_send`] for a caller that will not wait (`try_send`,
    /// `select!` with `default`): if a receiver has claimed the oldest
    /// message and is still moving it out, waits for it to finish (rule L1
    /// in the module docs), so `false` means the ring really was full.
    pub(crate) fn start_send_now(&self, token: &mut Token) -> bool {
        let mut backoff = Backoff::new();
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
                // The slot still holds the previous lap's message. Full only if the head is a lap behind the tail too;
                // otherwise a receiver has claimed that message and is
                // moving it out: wait for it (rule L1).
                let head = self.head.load(Ordering::SeqCst);
                if head.wrapping_add(self.one_lap) == tail {
                    return false;
                }
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            } else if stamp.wrapping_add(self.one_lap) == tail {
                // A sender of the previous lap claimed this slot and has not
                // written it yet: the ring is full (the head cannot be past
                // that slot). Spinning here would wait on a party that may
                // not be running (a select send case still evaluating its
                // value expression).
                return false;
            } else {
                // Another sender claimed this position; look again.
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Whether a send could make progress now (a free slot at `tail`, or
    /// closed), for a sender that just registered. Pairs with the `SeqCst`
    /// stamp store in `read`: either this load sees the slot freed, or the
    /// receiver that frees it sees the registration (`array/blocking.rs`).
    pub(crate) fn send_ready(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        if tail & self.mark_bit != 0 {
            return true;
        }
        let stamp = self.buffer[tail & (self.mark_bit - 1)]
            .stamp
            .load(Ordering::SeqCst);
        let prev = stamp.wrapping_add(self.one_lap);
        // The previous lap's message (read or not yet), or its claim not
        // yet written: no room until a receiver frees the slot, and that
        // receiver wakes us.
        prev != tail + 1 && prev != tail
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
        // SAFETY: caller contract, and the slot is not null: a claim.
        unsafe { self.fill(token, msg) };
        self.published();
        Ok(())
    }

    /// Writes `msg` into the slot `token` claimed and publishes it, without
    /// waking anyone (the caller calls [`Array::published`]).
    ///
    /// # Safety
    /// `token` holds a successful, not yet completed send claim on this
    /// channel with a non-null slot; this completes it.
    #[inline]
    unsafe fn fill(&self, token: &Token, msg: T) {
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
            self.wake_senders();
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
            self.wake_senders();
        }
        self.published();
    }

    /// Claims a message to receive. `true`: claimed (or closed and drained:
    /// `token.array_slot` is null). `false`: nothing to take yet (empty, or
    /// the next message is still being written).
    ///
    /// The blocking parties' claim; the non-blocking ones share
    /// `claim_recv` (see [`Array::start_send`] for why the bodies differ).
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
                            self.wake_senders();
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

    /// [`Array::start_recv`] for a caller that will not wait (`try_recv`,
    /// `select!` with `default`): if a sender has claimed the head slot and
    /// is still writing it while a later slot holds a published message,
    /// waits for that write (rules L1, L2 in the module docs), so `false`
    /// means no completed send was left to take.
    #[inline]
    pub(crate) fn start_recv_now(&self, token: &mut Token) -> bool {
        self.claim_recv(token, RecvWait::Completed)
    }

    /// [`Array::start_recv`] for the drain of the last receiver: waits for
    /// every claimed slot to be written, so `false` means `head == tail`.
    #[inline]
    pub(crate) fn start_recv_drain(&self, token: &mut Token) -> bool {
        self.claim_recv(token, RecvWait::All)
    }

    /// Whether a slot after `head` and before `tail` holds a published
    /// message (or an abandoned claim), i.e. a send behind the unwritten
    /// head slot has completed (rule L2).
    fn published_behind(&self, head: usize, tail: usize) -> bool {
        let mut pos = self.next(head);
        while pos != tail {
            let stamp = self.buffer[pos & (self.mark_bit - 1)]
                .stamp
                .load(Ordering::Acquire);
            if stamp == pos + 1 {
                return true;
            }
            pos = self.next(pos);
        }
        false
    }

    #[inline]
    fn claim_recv(&self, token: &mut Token, wait: RecvWait) -> bool {
        let mut backoff = Backoff::new();
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
                            self.wake_senders();
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
            } else if stamp == head || stamp.wrapping_add(self.one_lap) == head + 1 {
                // No message at `head` yet: the slot is free for its
                // sender, or a receiver of the previous lap is still moving
                // the slot's old message out (then no sender can have
                // claimed it, so `tail == head`).
                let tail = self.tail.load(Ordering::SeqCst);
                if tail & !self.mark_bit == head {
                    if tail & self.mark_bit != 0 {
                        token.array_slot = std::ptr::null();
                        return true;
                    }
                    return false; // empty
                }
                // A sender has claimed this slot and is writing it right
                // now (the tail has moved past it). A receive that will
                // not wait waits for the write (rule L1), but only if a
                // send behind it has completed (rule L2): otherwise none of
                // the pending sends has, and "empty" is linearizable.
                match wait {
                    RecvWait::Completed => {
                        if !self.published_behind(head, tail & !self.mark_bit)
                            && self.head.load(Ordering::SeqCst) == head
                        {
                            return false;
                        }
                    }
                    RecvWait::All => {}
                }
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
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
            // Published, or moved on, or the previous lap's message still
            // being moved out (a step of a few instructions, which the
            // claim waits out): look again.
            return true;
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
        // Free, then look for parked senders: `SeqCst`, paired with a
        // registering sender's re-check (`send_ready`).
        slot.stamp.store(token.array_stamp, Ordering::SeqCst);
        self.wake_senders();
        Some(msg)
    }

    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut token = Token::default();
        if self.start_send_now(&mut token) {
            // SAFETY: fresh successful claim, completed once.
            unsafe { self.write(&mut token, msg) }.map_err(TrySendError::Closed)
        } else {
            Err(TrySendError::Full(msg))
        }
    }

    pub(crate) fn try_recv(&self) -> Option<Result<T, ()>> {
        let mut token = Token::default();
        if self.start_recv_now(&mut token) {
            // SAFETY: fresh successful claim, completed once.
            Some(unsafe { self.read(&mut token) }.ok_or(()))
        } else {
            None
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
