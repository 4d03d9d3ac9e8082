//! Waiting parties and the lists channels keep them in.
//!
//! A [`Context`] is one blocking operation (a `send`, a `recv`, or a whole
//! `select!`) of one coroutine or thread. It lives on the waiter's stack for
//! the duration of the operation. Its `state` word is the **claim**: a party
//! that wants to complete the waiter's operation (a sender handing a value
//! to a waiting receiver, a `close`, a timeout) must first move it from
//! `WAITING` with one compare-exchange. Exactly one party wins, which is how
//! a `select!` over many channels completes exactly one case.
//!
//! | state          | meaning |
//! |----------------|---------|
//! | `WAITING`      | registered, nobody has claimed it |
//! | `ABORTED`      | the waiter gave up (timeout, or it found a case ready while registering) |
//! | `DISCONNECTED` | a channel it waits on was closed |
//! | `n >= FIRST_OPER` | case `n - FIRST_OPER` was chosen by the party that claimed it |
//!
//! An [`Entry`] is a registration of a context in a channel's wait list:
//! an intrusive list node holding the case's operation number, an optional
//! packet (rendezvous channels) and the waiter's [`Unparker`]. Entries live
//! in the waiter's own stack frame, next to its context (Go's sudogs,
//! without the allocation).
//!
//! # Access rules (cited by `// SAFETY:` comments)
//!
//! 1. **Linked entries are alive.** An entry is linked and unlinked only
//!    under its list's lock, and its owner unlinks it (if still linked)
//!    under that lock before leaving the frame that holds it and its
//!    context. So a party holding the lock may dereference any linked entry
//!    and its context.
//! 2. **The claim comes last.** The moment a claim lands, the waiter may see
//!    it and return. So a claimer first unlinks the entry and takes its
//!    packet pointer and unparker out, and only then claims the context (one
//!    compare-exchange, or a plain store for an *exclusive* entry that only
//!    lock holders can claim). Nobody touches a waiter's operation unless it
//!    won the claim.
//! 3. **Wake after the claim, outside the lock.** The winner unparks after
//!    unlocking, through the unparker it took out; the unparker holds its
//!    own reference, so the wake-up is safe even if the waiter has already
//!    returned.
//!
//! Waiters park with a validate callback that re-reads `state` (see
//! `waiter.rs`), so a claim that lands between registering and sleeping is
//! never missed.
//!
//! # Value entries (rules V1–V3)
//!
//! A parked plain `send` on a buffered channel leaves a pointer to its
//! value in its entry ([`Entry::value`], Go's sudog `elem`), so that the
//! receive that frees room moves the value into the ring itself and the
//! send has completed when that receive returns (`array/blocking.rs`, rule
//! H1). The mover must copy the value *before* it claims (after the claim
//! the waiter may return and its frame be gone, rule 2) and must not copy
//! it at all if the claim could then fail. So:
//!
//! 4. **V1 (one list, one operation).** A value entry is the only entry of
//!    its context (a plain send, never a `select!` case), so nobody outside
//!    its list can claim it.
//! 5. **V2 (claimed only under the lock).** Every claim of a value entry's
//!    context is made holding its list's lock: the mover's
//!    ([`Waiters::unlink_and_claim`]), the close's
//!    ([`Waiters::disconnect_all`]) and the waiter's own withdrawal
//!    ([`SyncWaiters::withdraw`]: a deadline, or room it found itself; it
//!    waits with [`Context::wait_for_claim`], which never claims). So a
//!    lock holder that sees it `WAITING` knows its claim will land, and
//!    may copy the value out first. [`Waiters::claim_one`] never claims a
//!    value entry (it would claim the operation without moving the value).
//! 6. **V3 (the value is read-only while linked).** The waiter neither
//!    reads nor moves its value while the entry is linked; after a claim
//!    for its operation (`FIRST_OPER`) the value belongs to the mover and
//!    the waiter forgets its copy; after any other claim it still owns it.

use std::time::Instant;

use crate::lock::{Guard, Lock};
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::waiter::{self, Unparker};

/// Registered, unclaimed.
pub(crate) const WAITING: usize = 0;
/// The waiter withdrew (timeout, or a case was ready while registering).
pub(crate) const ABORTED: usize = 1;
/// A channel the waiter waits on was closed.
pub(crate) const DISCONNECTED: usize = 2;
/// State value of case 0; case `i` is `FIRST_OPER + i`.
pub(crate) const FIRST_OPER: usize = 3;

/// One blocking operation of one waiter. See the module docs.
pub(crate) struct Context {
    state: AtomicUsize,
}

impl Context {
    /// A fresh, unclaimed context. Its entries carry the waiter's
    /// [`Unparker`] (one per entry, from [`waiter::current`]).
    #[inline]
    pub(crate) fn new() -> Self {
        Context {
            state: AtomicUsize::new(WAITING),
        }
    }

    /// This context's identity (its address), to skip one's own entries.
    #[inline]
    pub(crate) fn id(&self) -> *const Context {
        self as *const Context
    }

    /// Claims the context for `to`; returns the state it had if someone
    /// else got there first.
    #[inline]
    pub(crate) fn try_claim(&self, to: usize) -> Result<(), usize> {
        self.state
            .compare_exchange(WAITING, to, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
    }

    #[inline]
    pub(crate) fn state(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    /// Parks until claimed, or until `deadline` (then claims `ABORTED` for
    /// itself unless someone claimed first). Returns the final state.
    #[inline]
    pub(crate) fn wait_until(&self, reason: &'static str, deadline: Option<Instant>) -> usize {
        match self.wait_for_claim(reason, deadline) {
            WAITING => match self.try_claim(ABORTED) {
                Ok(()) => ABORTED,
                Err(s) => s,
            },
            s => s,
        }
    }

    /// Parks until claimed, or until `deadline` passes: then returns
    /// `WAITING` *without* claiming (the caller withdraws under its list's
    /// lock, rule V2). Returns the state otherwise.
    #[inline]
    pub(crate) fn wait_for_claim(&self, reason: &'static str, deadline: Option<Instant>) -> usize {
        loop {
            let s = self.state();
            if s != WAITING {
                return s;
            }
            if let Some(d) = deadline
                && Instant::now() >= d
            {
                return WAITING;
            }
            waiter::park(reason, deadline, || self.state() == WAITING);
        }
    }

    /// Like [`Context::wait_until`] without a deadline, releasing `guard`
    /// only after the caller is marked waiting (so wakers that need the
    /// lock cannot slip in between registering and parking unseen).
    #[inline(always)]
    pub(crate) fn wait_releasing<G>(
        &self,
        reason: &'static str,
        deadline: Option<Instant>,
        guard: G,
    ) -> usize {
        if self.state() == WAITING && deadline.is_none_or(|d| Instant::now() < d) {
            // The guard moves into the callback: released there, or when
            // `park` returns without calling it; never held while asleep.
            waiter::park(reason, deadline, move || {
                drop(guard);
                self.state() == WAITING
            });
        } else {
            drop(guard);
        }
        // Usually claimed by now: skip the call.
        match self.state() {
            WAITING => self.wait_until(reason, deadline),
            s => s,
        }
    }
}

/// A registration of a context in a wait list: an intrusive list node
/// that lives in the waiter's own stack frame (Go's `sudog`, without the
/// allocation). See rule 1: it is unlinked before that frame is left.
pub(crate) struct Entry {
    pub(crate) oper: usize,
    /// Only lock holders can claim this context (a single operation with
    /// no deadline: the waiter never claims itself). Such a claim is a
    /// plain store instead of a compare-exchange.
    pub(crate) exclusive: bool,
    pub(crate) cx: *const Context,
    /// Rendezvous channels: where the value goes / comes from.
    pub(crate) packet: *mut u8,
    /// Buffered channels, plain `send`: the value waiting to be sent, in
    /// the waiter's frame (rules V1–V3); null for every other entry.
    pub(crate) value: *const u8,
    /// Taken by whoever claims the entry (or disconnects it).
    unparker: Option<Unparker>,
    prev: *mut Entry,
    next: *mut Entry,
    linked: bool,
}

impl Entry {
    /// A node for `cx`'s case `oper`, not yet in any list.
    ///
    /// An *exclusive* entry (see the field) carries a borrowed unparker
    /// (`waiter::current_borrowed`): every claimer of an exclusive entry
    /// either publishes the signal the waiter waits for inside
    /// `waiter::unpark_then` (the waiter awaits it without parking;
    /// `zero.rs`), or turns it into an ordinary unparker while it is still
    /// linked (`disconnect_all`).
    #[inline]
    pub(crate) fn new(oper: usize, cx: &Context, packet: *mut u8, exclusive: bool) -> Self {
        let unparker = if exclusive {
            // SAFETY: waiter rules B1-B3: claimers publish inside
            // `unpark_then` (zero.rs) or convert it while linked
            // (`disconnect_all`); the waiter spins for the signal (B2).
            unsafe { waiter::current_borrowed() }
        } else {
            // An async receive (`future.rs`) lends its task's relay instead.
            waiter::lent().unwrap_or_else(waiter::current)
        };
        Entry {
            oper,
            exclusive,
            cx: cx.id(),
            packet,
            value: std::ptr::null(),
            unparker: Some(unparker),
            prev: std::ptr::null_mut(),
            next: std::ptr::null_mut(),
            linked: false,
        }
    }

    /// # Safety
    /// The caller holds the mutex of the list this entry is in (rule 1).
    #[inline]
    unsafe fn cx(&self) -> &Context {
        // SAFETY: rule 1, by the caller's contract.
        unsafe { &*self.cx }
    }
}

/// What a claimer takes from an entry, by value, before it releases the
/// list's mutex (after that the entry's frame may be gone).
pub(crate) struct Claimed {
    pub(crate) packet: *mut u8,
    /// Borrowed for an exclusive entry: wake it with
    /// `waiter::unpark_then`, publishing the waiter's signal in `then`.
    pub(crate) unparker: Unparker,
}

/// An intrusive FIFO of waiting entries. Always used under a mutex.
pub(crate) struct Waiters {
    head: *mut Entry,
    tail: *mut Entry,
}

// SAFETY: the list only holds pointers to entries that are linked under the
// owning mutex and unlinked before their frames end (rule 1).
unsafe impl Send for Waiters {}

impl Default for Waiters {
    fn default() -> Self {
        Waiters {
            head: std::ptr::null_mut(),
            tail: std::ptr::null_mut(),
        }
    }
}

impl Waiters {
    /// Links `e` at the back.
    ///
    /// # Safety
    /// The caller holds the mutex; `e` is not linked anywhere, and stays at
    /// this address until it is unlinked (rule 1).
    #[inline]
    pub(crate) unsafe fn push(&mut self, e: *mut Entry) {
        // SAFETY: caller contract: `e` is valid and ours to link.
        unsafe {
            (*e).prev = self.tail;
            (*e).next = std::ptr::null_mut();
            (*e).linked = true;
            if self.tail.is_null() {
                self.head = e;
            } else {
                (*self.tail).next = e;
            }
        }
        self.tail = e;
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// The first linked entry (null if none), for a prefetch hint only:
    /// the caller holds the mutex but must not dereference it.
    #[inline]
    pub(crate) fn first(&self) -> *const Entry {
        self.head
    }

    /// # Safety
    /// The caller holds the mutex; `e` is linked in this list.
    #[inline]
    unsafe fn unlink(&mut self, e: *mut Entry) {
        // SAFETY: caller contract; neighbours are linked entries (rule 1).
        unsafe {
            let (prev, next) = ((*e).prev, (*e).next);
            if prev.is_null() {
                self.head = next;
            } else {
                (*prev).next = next;
            }
            if next.is_null() {
                self.tail = prev;
            } else {
                (*next).prev = prev;
            }
            (*e).linked = false;
        }
    }

    /// Claims and unlinks the first entry that belongs to someone other
    /// than `me` and is still waiting.
    ///
    /// Order matters (rule 1): the moment a claim lands, the waiter may see
    /// it and return, ending the frame that holds the entry and the context.
    /// So a candidate is unlinked and its packet and unparker are taken
    /// *first*; the claim (a store or compare-exchange on the context) is
    /// the last access. A candidate whose claim fails (another channel won
    /// its select, or it gave up) stays unlinked: its owner's `remove` sees
    /// `linked == false` and does nothing.
    ///
    /// # Safety
    /// The caller holds the mutex guarding this list.
    #[inline]
    pub(crate) unsafe fn claim_one(&mut self, me: Option<*const Context>) -> Option<Claimed> {
        let mut e = self.head;
        while !e.is_null() {
            // SAFETY: linked entries are valid under the mutex (rule 1).
            let entry = unsafe { &mut *e };
            let next = entry.next;
            // Never a value entry (rule V2): its claim must move the value.
            if Some(entry.cx) != me && entry.value.is_null() {
                // SAFETY: linked in this list.
                unsafe { self.unlink(e) };
                let packet = entry.packet;
                let unparker = entry
                    .unparker
                    .take()
                    .expect("a linked entry has its unparker");
                let (oper, exclusive, cx) = (entry.oper, entry.exclusive, entry.cx);
                // SAFETY: the context outlives its linked entries (rule 1);
                // this claim is our last access to the waiter's frame.
                if unsafe { Self::claim(cx, oper, exclusive) } {
                    return Some(Claimed { packet, unparker });
                }
            }
            e = next;
        }
        None
    }

    /// The first entry, in FIFO order, whose context is still waiting.
    ///
    /// # Safety
    /// The caller holds the mutex guarding this list.
    pub(crate) unsafe fn first_waiting(&self) -> Option<*mut Entry> {
        let mut e = self.head;
        while !e.is_null() {
            // SAFETY: linked entries are valid under the mutex (rule 1).
            let entry = unsafe { &*e };
            // SAFETY: as above.
            if unsafe { entry.cx() }.state() == WAITING {
                return Some(e);
            }
            e = entry.next;
        }
        None
    }

    /// Unlinks `e`, takes its unparker, then claims its context for its
    /// operation: the claim is the last access to the waiter's frame (rule
    /// 2). Returns the unparker if the claim landed; if it failed, the
    /// entry stays unlinked (its owner's `remove` sees that). For a value
    /// entry seen `WAITING` under this same lock hold the claim always
    /// lands (rule V2), so the caller may have moved its value out first
    /// (rule V3).
    ///
    /// # Safety
    /// The caller holds the mutex guarding this list, and `e` is linked in
    /// it.
    pub(crate) unsafe fn unlink_and_claim(&mut self, e: *mut Entry) -> Option<Unparker> {
        // SAFETY: caller contract.
        unsafe { self.unlink(e) };
        // SAFETY: linked until just now, under the mutex (rule 1).
        let entry = unsafe { &mut *e };
        let unparker = entry
            .unparker
            .take()
            .expect("a linked entry has its unparker");
        let (oper, exclusive, cx) = (entry.oper, entry.exclusive, entry.cx);
        // SAFETY: the context outlives its linked entries (rule 1); this
        // claim is our last access to the waiter's frame.
        unsafe { Self::claim(cx, oper, exclusive) }.then_some(unparker)
    }

    /// Tries to claim context `cx` for operation `oper`.
    ///
    /// # Safety
    /// `cx` is the context of an entry that was linked in a list whose mutex
    /// the caller holds.
    #[inline]
    unsafe fn claim(cx: *const Context, oper: usize, exclusive: bool) -> bool {
        // SAFETY: caller contract (rule 1).
        let cx = unsafe { &*cx };
        if exclusive {
            // Nobody else can claim it: we hold the only lock it is listed
            // under, and its owner never claims itself.
            cx.state.store(oper, Ordering::Release);
            true
        } else {
            cx.try_claim(oper).is_ok()
        }
    }

    /// Whether some entry not belonging to `me` is still unclaimed.
    ///
    /// # Safety
    /// The caller holds the mutex guarding this list.
    pub(crate) unsafe fn has_waiting(&self, me: Option<*const Context>) -> bool {
        let mut e = self.head;
        while !e.is_null() {
            // SAFETY: linked entries are valid under the mutex (rule 1).
            let entry = unsafe { &*e };
            // SAFETY: as above.
            if Some(entry.cx) != me && unsafe { entry.cx() }.state() == WAITING {
                return true;
            }
            e = entry.next;
        }
        false
    }

    /// Unlinks the caller's own entry if it is still linked.
    ///
    /// # Safety
    /// The caller holds the mutex guarding this list, and `e` is either
    /// linked in it or not linked at all.
    #[inline]
    pub(crate) unsafe fn remove(&mut self, e: *mut Entry) {
        // SAFETY: caller contract.
        if unsafe { (*e).linked } {
            // SAFETY: linked in this list.
            unsafe { self.unlink(e) };
        }
    }

    /// Claims every waiting entry as `DISCONNECTED` and empties the list,
    /// collecting the unparkers to wake (after unlocking).
    ///
    /// # Safety
    /// The caller holds the mutex guarding this list.
    pub(crate) unsafe fn disconnect_all(&mut self, out: &mut impl Extend<Unparker>) {
        while !self.head.is_null() {
            let e = self.head;
            // SAFETY: linked entries are valid under the mutex (rule 1).
            let entry = unsafe { &mut *e };
            // SAFETY: linked in this list.
            unsafe { self.unlink(e) };
            // Waiter rule B3: a borrowed unparker becomes an ordinary one
            // while the entry is still ours to read (the waiter cannot leave before we release
            // the lock), since the waiter may return as soon as it sees the
            // claim below.
            let unparker = entry
                .unparker
                .take()
                .map(|u| if entry.exclusive { u.clone() } else { u });
            // SAFETY: as in `claim_one`: the claim is the last access.
            if unsafe { (*entry.cx).try_claim(DISCONNECTED) }.is_ok()
                && let Some(u) = unparker
            {
                out.extend(Some(u));
            }
        }
    }
}

/// A wait list with a lock-free "anyone there?" check, for buffered
/// channels: the hot send and receive paths only read `is_empty`.
pub(crate) struct SyncWaiters {
    list: Lock<Waiters>,
    is_empty: AtomicBool,
}

impl SyncWaiters {
    pub(crate) fn new() -> Self {
        SyncWaiters {
            list: Lock::new(Waiters::default()),
            is_empty: AtomicBool::new(true),
        }
    }

    fn lock(&self) -> Guard<'_, Waiters> {
        self.list.lock()
    }

    /// Links `e`. The caller must re-check its condition afterwards (the
    /// `SeqCst` store pairs with [`SyncWaiters::notify`]).
    ///
    /// # Safety
    /// `e` is not linked anywhere and stays put until `unregister` (rule 1).
    pub(crate) unsafe fn register(&self, e: *mut Entry) {
        let mut l = self.lock();
        // SAFETY: caller contract; we hold the mutex.
        unsafe { l.push(e) };
        self.is_empty.store(false, Ordering::SeqCst);
    }

    /// Unlinks `e` if it is still linked.
    ///
    /// # Safety
    /// `e` was registered here (or never linked).
    pub(crate) unsafe fn unregister(&self, e: *mut Entry) {
        let mut l = self.lock();
        // SAFETY: caller contract; we hold the mutex.
        unsafe { l.remove(e) };
        self.is_empty.store(l.is_empty(), Ordering::SeqCst);
    }

    /// Wakes one waiter, if any. One `SeqCst` load when nobody waits.
    #[inline]
    pub(crate) fn notify(&self) {
        if self.has_waiters() {
            self.notify_slow();
        }
    }

    /// Whether anyone may be registered: one `SeqCst` load, the second half
    /// of the Dekker handshake with [`SyncWaiters::register`] (module docs
    /// of `array/blocking.rs`).
    #[inline]
    pub(crate) fn has_waiters(&self) -> bool {
        // loom 0.7 treats a `SeqCst` load as `Acquire` (tokio-rs/loom#180)
        // and may return a value that the `SeqCst` total order rules out
        // here. A read-modify-write does not help either: loom orders
        // stores only partially, so a second read-modify-write may read
        // the first one's own store back, past a later registration. Every
        // store of `is_empty` is made under the list's lock, so reading it
        // under the lock gives the latest value, which is what the `SeqCst`
        // order guarantees for this handshake. Same answer, only under
        // loom.
        #[cfg(loom)]
        {
            let _l = self.lock();
            !self.is_empty.load(Ordering::SeqCst)
        }
        #[cfg(not(loom))]
        {
            !self.is_empty.load(Ordering::SeqCst)
        }
    }

    #[cold]
    fn notify_slow(&self) {
        let mut l = self.lock();
        // SAFETY: we hold the mutex.
        let c = unsafe { l.claim_one(None) };
        self.is_empty.store(l.is_empty(), Ordering::SeqCst);
        drop(l);
        if let Some(c) = c {
            c.unparker.unpark_into();
        }
    }

    /// Runs `f` on the list under its lock, then updates the lock-free
    /// "anyone there?" flag before unlocking. Wake whoever `f` claimed
    /// after this returns (rule 3).
    #[inline]
    pub(crate) fn with_list<R>(&self, f: impl FnOnce(&mut Waiters) -> R) -> R {
        let mut l = self.lock();
        let r = f(&mut l);
        self.is_empty.store(l.is_empty(), Ordering::SeqCst);
        r
    }

    /// The owner of value entry `e` gives up waiting (a deadline, or room
    /// it found itself): under the lock, claims `cx` as `ABORTED` unless
    /// someone claimed it first, and unlinks `e`. Returns the final state:
    /// `ABORTED`, or the earlier claim (rule V2: a mover's `FIRST_OPER`
    /// means the value is gone).
    ///
    /// # Safety
    /// `e` was registered here (or is no longer linked); `cx` is its context.
    pub(crate) unsafe fn withdraw(&self, e: *mut Entry, cx: &Context) -> usize {
        self.with_list(|l| {
            let s = match cx.try_claim(ABORTED) {
                Ok(()) => ABORTED,
                Err(s) => s,
            };
            // SAFETY: caller contract; we hold the mutex.
            unsafe { l.remove(e) };
            s
        })
    }

    /// Wakes everyone as `DISCONNECTED`.
    pub(crate) fn disconnect(&self) {
        let mut wake = Vec::new();
        let mut l = self.lock();
        // SAFETY: we hold the mutex.
        unsafe { l.disconnect_all(&mut wake) };
        self.is_empty.store(true, Ordering::SeqCst);
        drop(l);
        for u in wake {
            u.unpark_into();
        }
    }
}
