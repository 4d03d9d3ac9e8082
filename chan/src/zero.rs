//! The unbuffered flavor: a true rendezvous. A send completes only when a
//! receiver takes the value, handed over directly (Go's `sendDirect`).
//!
//! One mutex guards two wait lists (senders, receivers) and the closed
//! flag, as in Go's `hchan`. A party that finds a waiting counterpart claims
//! it (`context.rs`), releases the mutex, and completes the handoff through
//! the counterpart's [`Packet`]; otherwise it lists itself with a packet and
//! parks, releasing the mutex only after it is marked waiting.
//!
//! # Packets
//!
//! A packet is the meeting point for one value:
//!
//! | kind | where | created as | filled by |
//! |------|-------|------------|-----------|
//! | plain `send` | sender's stack | `WRITTEN` (holds the value) | — |
//! | plain `recv` | receiver's stack | `EMPTY` | the sender that claims it |
//! | `select!` recv case | heap (a recycled block, see `recycle`) | `EMPTY` | the sender that claims it |
//! | `select!` send case | heap (likewise) | `EMPTY` | the select itself, after it wins (lazy value) |
//!
//! | state       | meaning | next |
//! |-------------|---------|------|
//! | `EMPTY`     | no value yet | `WRITTEN`, `CLAIMED`, `ABANDONED` |
//! | `CLAIMED`   | (lazy send) a receiver claimed it and waits; its unparker is in `waiter` | `WRITTEN`, `ABANDONED` |
//! | `WRITTEN`   | holds the value | `TAKEN` |
//! | `TAKEN`     | (plain send) the receiver moved the value out; the sender may return | — |
//! | `ABANDONED` | the party that was to write gave up (its value expression panicked); the reader retries | — |
//!
//! Rules: the side that waits for a state change parks with a validate
//! callback that re-reads the state, and the side that changes it stores
//! with release ordering and then unparks. A stack packet is not left until
//! the counterpart is done with it (`TAKEN`, or a value arrived). A heap
//! packet belongs to whoever reads its final state: the receiver for a lazy
//! send, the select that registered a receive case.

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use crate::context::{Context, DISCONNECTED, Entry, FIRST_OPER, Waiters};
use crate::error::SendTimeoutError;
use crate::lock::{Guard, Lock};
use crate::select::Token;
use crate::waiter::{self, Unparker};

const EMPTY: u8 = 0;
const CLAIMED: u8 = 1;
const WRITTEN: u8 = 2;
const TAKEN: u8 = 3;
const ABANDONED: u8 = 4;

pub(crate) struct Packet<T> {
    state: AtomicU8,
    waiter: UnsafeCell<Option<Unparker>>,
    msg: UnsafeCell<MaybeUninit<T>>,
}

/// Publishes packet state `to` and wakes `partner`: the store happens once
/// the partner is marked runnable but before it can run
/// ([`waiter::unpark_then`]). So a waiter whose unparker is borrowed is
/// still there when it is woken, and it never finds the state unset when it
/// runs again.
#[inline]
fn signal(state: &AtomicU8, to: u8, partner: Option<Unparker>) {
    match partner {
        Some(u) => waiter::unpark_then(u, || state.store(to, Ordering::Release)),
        None => state.store(to, Ordering::Release),
    }
}

impl<T> Packet<T> {
    fn empty() -> Self {
        Packet {
            state: AtomicU8::new(EMPTY),
            waiter: UnsafeCell::new(None),
            msg: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
    fn with(msg: T) -> Self {
        Packet {
            state: AtomicU8::new(WRITTEN),
            waiter: UnsafeCell::new(None),
            msg: UnsafeCell::new(MaybeUninit::new(msg)),
        }
    }
    /// A fresh empty packet off the stack: a recycled block when it fits
    /// one ([`recycle`]), else a `Box`.
    fn heap() -> *mut u8 {
        if recycle::fits::<Self>() {
            let p = recycle::alloc() as *mut Self;
            // SAFETY: `p` is a block of at least `size_of::<Self>()` bytes,
            // aligned for `Self` (`fits`), and nobody else holds it.
            unsafe { p.write(Self::empty()) };
            p as *mut u8
        } else {
            Box::into_raw(Box::new(Self::empty())) as *mut u8
        }
    }
    /// # Safety
    /// `p` came from `Packet::<T>::heap` and the caller owns it (module docs).
    unsafe fn free(p: *mut u8) {
        if recycle::fits::<Self>() {
            // SAFETY: caller contract; a heap packet's value, if any, was
            // moved out, so dropping the packet drops only its unparker.
            // The block is then unused and goes back to the cache.
            unsafe {
                std::ptr::drop_in_place(p as *mut Self);
                recycle::free(p);
            }
        } else {
            // SAFETY: caller contract; a Box, as `heap` made it.
            drop(unsafe { Box::from_raw(p as *mut Packet<T>) });
        }
    }
    /// Parks until the state is no longer `from`; returns the new state.
    fn wait_while(&self, from: u8, reason: &'static str) -> u8 {
        loop {
            let s = self.state.load(Ordering::Acquire);
            if s != from {
                return s;
            }
            waiter::park(reason, None, || self.state.load(Ordering::Acquire) == from);
        }
    }
    /// Waits until the state is no longer `from` without parking: for a
    /// waiter whose unparker was borrowed (waiter rule B2: its partner
    /// unparks first and stores right after, so the wait is a few
    /// instructions, or until a descheduled thread runs again).
    fn spin_while(&self, from: u8) -> u8 {
        let mut spins = 0u32;
        loop {
            let s = self.state.load(Ordering::Acquire);
            if s != from {
                return s;
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                waiter::yield_now();
            }
        }
    }

    /// After a claimer took our plain wait entry: waits for it to move the
    /// state off `from`. An `exclusive` entry lent a borrowed unparker, so
    /// it must spin (waiter rule B2) (`wake_then` wakes it only once, and may publish the
    /// state after that wake-up); a timed one holds an owned unparker and
    /// parks.
    fn await_partner(&self, from: u8, exclusive: bool, reason: &'static str) -> u8 {
        if exclusive {
            self.spin_while(from)
        } else {
            self.wait_while(from, reason)
        }
    }

    /// # Safety
    /// The state is `WRITTEN` (observed with acquire) and the caller is the
    /// one party allowed to move the value out.
    unsafe fn take(&self) -> T {
        // SAFETY: caller contract.
        unsafe { self.msg.get().read().assume_init() }
    }
}

/// Recycling of `select!`'s heap packets (Go keeps a per-P cache of
/// `sudog`s for the same reason).
///
/// A blocking select on unbuffered channels needs a packet per case that
/// outlives the select call (a send case's value is written after `select`
/// returns; a receive case's value is read then), so it cannot live in the
/// select's frame as plain `send`/`recv` packets do. Instead of a `malloc`
/// and a `free` per case per blocking select, packets that fit a 64-byte
/// block come from a small per-thread stack of blocks: taking one is a
/// thread-local pop, giving one back a push. A block is freed on one thread
/// and reused on another freely (it is plain memory); a thread keeps at most
/// [`CAP`](recycle) blocks and frees the rest, and its cache is freed when
/// it exits (after that, or while its thread-locals are being torn down,
/// packets fall back to the global allocator).
///
/// No reference into the thread-local outlives a call (the cache is never
/// held across a park: a coroutine may resume on another thread), and the
/// two functions that touch it are never inlined, so no thread-local
/// address is computed in a frame that parks.
///
/// Alternatives rejected: a packet in the select's own frame, with the
/// value moved into the `Token` on completion (changes the select
/// protocol and the `SelectHandle` signature shared with the other
/// flavors, and a `Select` builder's cases may move after it returns); a
/// global lock-free free list (a contended cache line shared by all
/// workers).
#[cfg(not(loom))]
mod recycle {
    use std::cell::UnsafeCell;
    use std::mem::MaybeUninit;

    /// Bytes of a block: `Packet<T>` for any `T` of up to 40 bytes.
    const BLOCK: usize = 64;
    /// Alignment of a block.
    const ALIGN: usize = 16;
    /// Blocks a thread keeps.
    const CAP: usize = 32;

    #[repr(C, align(16))]
    struct Block(MaybeUninit<[u8; BLOCK]>);

    struct Cache {
        len: usize,
        blocks: [*mut Block; CAP],
    }

    impl Drop for Cache {
        fn drop(&mut self) {
            for &b in &self.blocks[..self.len] {
                // SAFETY: every cached block came from `Box::new` in
                // `alloc` and is owned by the cache alone.
                drop(unsafe { Box::from_raw(b) });
            }
        }
    }

    std::thread_local! {
        // Only touched inside `alloc` and `free`, which call nothing that
        // could re-enter them.
        static CACHE: UnsafeCell<Cache> = const {
            UnsafeCell::new(Cache { len: 0, blocks: [std::ptr::null_mut(); CAP] })
        };
    }

    /// Whether a `P` fits a block.
    #[inline]
    pub(super) const fn fits<P>() -> bool {
        size_of::<P>() <= BLOCK && align_of::<P>() <= ALIGN
    }

    /// A block of `BLOCK` bytes aligned to `ALIGN`, uninitialised.
    ///
    /// `#[inline(never)]` (as `free`): a caller that parks between two
    /// packet operations (`Zero::read`, `select`) may resume on another
    /// thread, and a thread-local address computed inline could be reused
    /// by the compiler across that switch (goro's `docs/safety.md`).
    #[inline(never)]
    pub(super) fn alloc() -> *mut u8 {
        let cached = CACHE
            .try_with(|c| {
                // SAFETY: no other reference to the cache exists (see the
                // static's comment) for the duration of this closure.
                let c = unsafe { &mut *c.get() };
                (c.len > 0).then(|| {
                    c.len -= 1;
                    c.blocks[c.len]
                })
            })
            .ok()
            .flatten();
        match cached {
            Some(b) => b as *mut u8,
            None => Box::into_raw(Box::new(Block(MaybeUninit::uninit()))) as *mut u8,
        }
    }

    /// Gives a block back.
    ///
    /// # Safety
    /// `p` came from [`alloc`], holds no live value, and is not used again.
    #[inline(never)]
    pub(super) unsafe fn free(p: *mut u8) {
        let kept = CACHE
            .try_with(|c| {
                // SAFETY: as in `alloc`.
                let c = unsafe { &mut *c.get() };
                if c.len < CAP {
                    c.blocks[c.len] = p as *mut Block;
                    c.len += 1;
                    true
                } else {
                    false
                }
            })
            .unwrap_or(false);
        if !kept {
            // SAFETY: caller contract; every block is a `Box<Block>`.
            drop(unsafe { Box::from_raw(p as *mut Block) });
        }
    }
}

/// Under loom every packet is a plain `Box` (the model checks the protocol,
/// not the allocator).
#[cfg(loom)]
mod recycle {
    pub(super) const fn fits<P>() -> bool {
        false
    }
    pub(super) fn alloc() -> *mut u8 {
        unreachable!("fits() is false under loom")
    }
    pub(super) unsafe fn free(_: *mut u8) {
        unreachable!("fits() is false under loom")
    }
}

/// The unparkers a `close` collects under the lock, to wake after it:
/// the first one inline, so closing a channel with at most one waiter (a
/// context's done channel, a signal channel) allocates nothing.
#[derive(Default)]
struct WakeList {
    first: Option<Unparker>,
    more: Vec<Unparker>,
}

impl Extend<Unparker> for WakeList {
    fn extend<I: IntoIterator<Item = Unparker>>(&mut self, iter: I) {
        for u in iter {
            if self.first.is_none() {
                self.first = Some(u);
            } else {
                self.more.push(u);
            }
        }
    }
}

impl WakeList {
    /// Wakes every collected waiter, in the order they were collected.
    fn wake_all(self) {
        for u in self.first.into_iter().chain(self.more) {
            u.unpark_into();
        }
    }
}

struct Inner {
    senders: Waiters,
    receivers: Waiters,
    closed: bool,
}

pub(crate) struct Zero<T> {
    inner: Lock<Inner>,
    _t: PhantomData<*mut T>,
}

// SAFETY: values of `T` move between threads through packets, which needs
// `T: Send`; the lists are behind the mutex.
unsafe impl<T: Send> Send for Zero<T> {}
// SAFETY: as above; shared access only goes through the mutex and packets.
unsafe impl<T: Send> Sync for Zero<T> {}

/// What completing a receive claim produced.
pub(crate) enum Read<T> {
    Msg(T),
    Closed,
    /// The claimed sender abandoned its value; try again.
    Retry,
}

impl<T> Zero<T> {
    pub(crate) fn new() -> Self {
        Zero {
            inner: Lock::new(Inner {
                senders: Waiters::default(),
                receivers: Waiters::default(),
                closed: false,
            }),
            _t: PhantomData,
        }
    }

    fn lock(&self) -> Guard<'_, Inner> {
        self.inner.lock()
    }

    /// Claims a waiting receiver (`true`), or finds the channel closed
    /// (`true`, null packet), or nobody (`false`).
    pub(crate) fn start_send(&self, token: &mut Token) -> bool {
        let mut g = self.lock();
        // SAFETY: we hold the mutex of this list.
        if let Some(c) = unsafe { g.receivers.claim_one(None) } {
            drop(g);
            token.zero_packet = c.packet;
            token.zero_partner = Some(c.unparker);
            true
        } else if g.closed {
            token.zero_packet = std::ptr::null_mut();
            true
        } else {
            false
        }
    }

    /// Completes a send claim: hands `msg` to the claimed receiver.
    ///
    /// # Safety
    /// `token` comes from a successful `start_send` (or an accepted select
    /// send case) on this channel and is completed once.
    pub(crate) unsafe fn write(&self, token: &mut Token, msg: T) -> Result<(), T> {
        if token.zero_packet.is_null() {
            return Err(msg);
        }
        // SAFETY: the claim (or the select's ownership) gives us the packet's
        // write side; it stays alive until its reader sees WRITTEN.
        let p = unsafe { &*(token.zero_packet as *const Packet<T>) };
        // SAFETY: as above.
        unsafe { p.msg.get().write(MaybeUninit::new(msg)) };
        signal(&p.state, WRITTEN, token.zero_partner.take());
        Ok(())
    }

    /// Gives up a send claim without a value; the reader retries.
    ///
    /// # Safety
    /// As for `write`.
    pub(crate) unsafe fn abandon_send(&self, token: &mut Token) {
        if token.zero_packet.is_null() {
            return;
        }
        // SAFETY: as in `write`.
        let p = unsafe { &*(token.zero_packet as *const Packet<T>) };
        signal(&p.state, ABANDONED, token.zero_partner.take());
    }

    /// Claims a waiting sender (`true`), finds the channel closed (`true`,
    /// null packet), or nobody (`false`).
    pub(crate) fn start_recv(&self, token: &mut Token) -> bool {
        let mut g = self.lock();
        // SAFETY: we hold the mutex of this list.
        if let Some(c) = unsafe { g.senders.claim_one(None) } {
            drop(g);
            token.zero_packet = c.packet;
            token.zero_partner = Some(c.unparker);
            token.zero_owned = false;
            true
        } else if g.closed {
            token.zero_packet = std::ptr::null_mut();
            true
        } else {
            false
        }
    }

    /// Completes a receive claim.
    ///
    /// # Safety
    /// `token` comes from a successful `start_recv` (or an accepted select
    /// receive case) on this channel and is completed once.
    #[inline]
    pub(crate) unsafe fn read(&self, token: &mut Token) -> Read<T> {
        if token.zero_packet.is_null() {
            return Read::Closed;
        }
        let raw = token.zero_packet;
        // SAFETY: the claim gives us the packet's read side (module docs).
        let p = unsafe { &*(raw as *const Packet<T>) };
        if token.zero_owned {
            // An accepted select receive case: our own heap packet, WRITTEN.
            // SAFETY: `accept` saw WRITTEN; we own the heap packet.
            let msg = unsafe { p.take() };
            // SAFETY: we own it and moved the value out.
            unsafe { Packet::<T>::free(raw) };
            return Read::Msg(msg);
        }
        let partner = token
            .zero_partner
            .take()
            .expect("a claimed sender has an unparker");
        match p.state.load(Ordering::Acquire) {
            WRITTEN => {
                // A plain sender: take the value; it waits for TAKEN.
                // SAFETY: WRITTEN observed; we are the claimant.
                let msg = unsafe { p.take() };
                signal(&p.state, TAKEN, Some(partner));
                Read::Msg(msg)
            }
            _ => {
                // A lazy select send: ask it for the value and wait.
                // SAFETY: EMPTY: nobody else touches `waiter` until CLAIMED.
                unsafe { *p.waiter.get() = Some(waiter::current()) };
                p.state.store(CLAIMED, Ordering::Release);
                partner.unpark_into();
                let s = p.wait_while(CLAIMED, "chan receive");
                let out = if s == WRITTEN {
                    // SAFETY: WRITTEN observed.
                    Read::Msg(unsafe { p.take() })
                } else {
                    Read::Retry
                };
                // SAFETY: the final state is ours to read, so the heap packet is ours.
                unsafe { Packet::<T>::free(raw) };
                out
            }
        }
    }

    pub(crate) fn try_send(&self, msg: T) -> Result<(), crate::TrySendError<T>> {
        let mut token = Token::default();
        if self.start_send(&mut token) {
            // SAFETY: fresh claim, completed once.
            unsafe { self.write(&mut token, msg) }.map_err(crate::TrySendError::Closed)
        } else {
            Err(crate::TrySendError::Full(msg))
        }
    }

    /// Blocking send, optionally until `deadline`.
    pub(crate) fn send(
        &self,
        msg: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let mut g = self.lock();
        // SAFETY: we hold the mutex of this list.
        if let Some(c) = unsafe { g.receivers.claim_one(None) } {
            drop(g);
            let mut token = Token {
                zero_packet: c.packet,
                zero_partner: Some(c.unparker),
                ..Token::default()
            };
            // SAFETY: fresh claim, completed once; it cannot be closed.
            return unsafe { self.write(&mut token, msg) }.map_err(SendTimeoutError::Closed);
        }
        if g.closed {
            return Err(SendTimeoutError::Closed(msg));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SendTimeoutError::Timeout(msg));
        }
        let packet = Packet::with(msg);
        let cx = Context::new();
        let mut entry = Entry::new(
            FIRST_OPER,
            &cx,
            &packet as *const Packet<T> as *mut u8,
            deadline.is_none(),
        );
        // SAFETY: `entry` (and `packet`, `cx`) stay in this frame until the
        // entry is unlinked: by a claimer, by close, or by us below.
        unsafe { g.senders.push(&mut entry) };
        let s = cx.wait_releasing("chan send", deadline, g);
        if s == FIRST_OPER {
            // A receiver claimed us; our packet stays alive until it is done.
            packet.await_partner(WRITTEN, deadline.is_none(), "chan send");
            return Ok(());
        }
        // SAFETY: `entry` was linked in `senders` above; unclaimed.
        unsafe { self.withdraw(s, &mut entry, true) };
        // SAFETY: unclaimed (timed out or closed): the value is still ours.
        let msg = unsafe { packet.take() };
        Err(if s == DISCONNECTED {
            SendTimeoutError::Closed(msg)
        } else {
            SendTimeoutError::Timeout(msg)
        })
    }

    /// Non-blocking receive: `None` if no sender is waiting.
    pub(crate) fn try_recv(&self) -> Option<Result<T, ()>> {
        loop {
            let mut token = Token::default();
            if !self.start_recv(&mut token) {
                return None;
            }
            // SAFETY: fresh claim, completed once.
            match unsafe { self.read(&mut token) } {
                Read::Msg(m) => return Some(Ok(m)),
                Read::Closed => return Some(Err(())),
                Read::Retry => continue,
            }
        }
    }

    /// Blocking receive: `Ok(Some)`, `Ok(None)` when closed, `Err(())` on
    /// timeout.
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<Option<T>, ()> {
        loop {
            let mut g = self.lock();
            // SAFETY: we hold the mutex of this list.
            if let Some(c) = unsafe { g.senders.claim_one(None) } {
                drop(g);
                let mut token = Token {
                    zero_packet: c.packet,
                    zero_partner: Some(c.unparker),
                    ..Token::default()
                };
                // SAFETY: fresh claim, completed once.
                match unsafe { self.read(&mut token) } {
                    Read::Msg(m) => return Ok(Some(m)),
                    Read::Closed => return Ok(None),
                    Read::Retry => continue,
                }
            }
            if g.closed {
                return Ok(None);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(());
            }
            let packet = Packet::<T>::empty();
            let cx = Context::new();
            let mut entry = Entry::new(
                FIRST_OPER,
                &cx,
                &packet as *const Packet<T> as *mut u8,
                deadline.is_none(),
            );
            // SAFETY: as in `send`.
            unsafe { g.receivers.push(&mut entry) };
            let s = cx.wait_releasing("chan receive", deadline, g);
            if s == FIRST_OPER {
                let s = packet.await_partner(EMPTY, deadline.is_none(), "chan receive");
                if s == WRITTEN {
                    // SAFETY: WRITTEN observed; our own packet.
                    return Ok(Some(unsafe { packet.take() }));
                }
                continue; // the sender abandoned its value
            }
            // SAFETY: `entry` was linked in `receivers` above; unclaimed.
            unsafe { self.withdraw(s, &mut entry, false) };
            return if s == DISCONNECTED { Ok(None) } else { Err(()) };
        }
    }

    /// After a plain `send`/`recv` wait that ended without a claim for its
    /// operation (`s` is `DISCONNECTED` or `ABORTED`): makes sure `entry`
    /// is out of its list. A `close` unlinked it before its claim landed
    /// (context rule 2), so a waiter it woke takes no lock here; a timed-out
    /// waiter claimed itself and may still be linked. Out of line, so the
    /// rendezvous path around the park stays as short as it was.
    ///
    /// # Safety
    /// `entry` was linked by the caller in this channel's senders
    /// (`is_send`) or receivers list, and not claimed for its operation.
    #[cold]
    #[inline(never)]
    unsafe fn withdraw(&self, s: usize, entry: &mut Entry, is_send: bool) {
        if s != DISCONNECTED {
            // SAFETY: caller contract.
            unsafe { self.unlink(entry, is_send) };
        }
    }

    /// Takes `entry` out of the senders (`is_send`) or receivers list, if
    /// it is still linked there.
    ///
    /// # Safety
    /// `entry` was linked in that list of this channel (context rule 1).
    unsafe fn unlink(&self, entry: &mut Entry, is_send: bool) {
        let mut g = self.lock();
        let list = if is_send {
            &mut g.senders
        } else {
            &mut g.receivers
        };
        // SAFETY: linked in this list or not at all (caller contract).
        unsafe { list.remove(entry) };
    }

    /// Closes the channel; `true` if this call did.
    pub(crate) fn close(&self) -> bool {
        let mut wake = WakeList::default();
        let mut g = self.lock();
        if g.closed {
            return false;
        }
        g.closed = true;
        // SAFETY: we hold the mutex of both lists.
        unsafe {
            g.senders.disconnect_all(&mut wake);
            g.receivers.disconnect_all(&mut wake);
        }
        drop(g);
        wake.wake_all();
        true
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// The address of the first parked receiver's entry, else the first
    /// parked sender's, else 0: where a `close` will look first, for a
    /// caller that batches its prefetches. A hint: the entry may be gone by
    /// the time the caller uses the address, which must not be dereferenced.
    pub(crate) fn parked_hint(&self) -> usize {
        let g = self.lock();
        let r = g.receivers.first();
        if r.is_null() {
            g.senders.first() as usize
        } else {
            r as usize
        }
    }

    // ---- select support ----

    /// Lists a select's receive case (entry in `slot`) with a fresh heap
    /// packet. Returns whether the case is ready right now.
    ///
    /// # Safety
    /// `slot` stays put until `unregister` or the case is claimed (rule 1).
    pub(crate) unsafe fn register_recv(
        &self,
        oper: usize,
        cx: &Context,
        slot: &mut Option<Entry>,
    ) -> bool {
        let entry = slot.insert(Entry::new(oper, cx, Packet::<T>::heap(), false));
        let mut g = self.lock();
        // SAFETY: caller contract; we hold the mutex.
        unsafe { g.receivers.push(entry) };
        // SAFETY: we hold the mutex of this list.
        g.closed || unsafe { g.senders.has_waiting(Some(cx.id())) }
    }

    /// Lists a select's send case with a fresh (empty, lazy) heap packet.
    ///
    /// # Safety
    /// As for `register_recv`.
    pub(crate) unsafe fn register_send(
        &self,
        oper: usize,
        cx: &Context,
        slot: &mut Option<Entry>,
    ) -> bool {
        let entry = slot.insert(Entry::new(oper, cx, Packet::<T>::heap(), false));
        let mut g = self.lock();
        // SAFETY: caller contract; we hold the mutex.
        unsafe { g.senders.push(entry) };
        // SAFETY: we hold the mutex of this list.
        g.closed || unsafe { g.receivers.has_waiting(Some(cx.id())) }
    }

    /// Withdraws a select case that was not chosen, freeing its packet.
    ///
    /// # Safety
    /// `entry` came from `register_*` on this channel, and the case was not
    /// claimed for its operation (so nobody else uses the packet).
    pub(crate) unsafe fn unregister(&self, entry: &mut Entry, is_send: bool) {
        // SAFETY: registered in this list by `register_*` (caller contract).
        unsafe { self.unlink(entry, is_send) };
        // SAFETY: caller contract: unclaimed, so ours.
        unsafe { Packet::<T>::free(entry.packet) };
    }

    /// A select's receive case was claimed by a sender: wait for the value.
    /// `false` if the sender abandoned it (the packet is freed).
    ///
    /// # Safety
    /// `packet` is this case's heap packet and the case was claimed.
    pub(crate) unsafe fn accept_recv(&self, token: &mut Token, packet: *mut u8) -> bool {
        // SAFETY: caller contract.
        let p = unsafe { &*(packet as *const Packet<T>) };
        if p.wait_while(EMPTY, "select") == WRITTEN {
            token.zero_packet = packet;
            token.zero_owned = true;
            token.zero_partner = None;
            true
        } else {
            // SAFETY: abandoned: the final state is ours, so is the packet.
            unsafe { Packet::<T>::free(packet) };
            false
        }
    }

    /// A select's send case was claimed by a receiver: wait until it is
    /// ready for the value, then the caller writes it (lazily).
    ///
    /// # Safety
    /// `packet` is this case's heap packet and the case was claimed.
    pub(crate) unsafe fn accept_send(&self, token: &mut Token, packet: *mut u8) -> bool {
        // SAFETY: caller contract.
        let p = unsafe { &*(packet as *const Packet<T>) };
        p.wait_while(EMPTY, "select");
        // SAFETY: CLAIMED observed (acquire): the receiver stored `waiter`
        // before it and no longer touches it.
        token.zero_partner = unsafe { (*p.waiter.get()).take() };
        token.zero_packet = packet;
        true
    }
}
