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
//! An [`Entry`] is a registration of a context in a channel's wait list: a
//! raw pointer to the context, the case's operation number, an optional
//! packet (rendezvous channels) and the waiter's [`Unparker`].
//!
//! # Access rules (cited by `// SAFETY:` comments)
//!
//! 1. **Entries keep contexts alive.** A context is only reachable through
//!    entries, entries only live in wait lists guarded by the channel's
//!    mutex, and the waiter removes every entry still listed (taking each
//!    mutex) before its context leaves the stack. A party holding the mutex
//!    may therefore dereference any listed entry's context.
//! 2. **The claim comes first.** Nobody touches a waiter's operation
//!    (packet, value) unless it won the claim, and a party that won removes
//!    the entry in the same critical section.
//! 3. **Wake after the claim, outside the lock.** The winner takes the
//!    entry's `Unparker` out with the entry and unparks after unlocking; the
//!    unparker holds its own reference, so the wake-up is safe even if the
//!    waiter has already returned.
//!
//! Waiters park with a validate callback that re-reads `state` (see
//! `waiter.rs`), so a claim that lands between registering and sleeping is
//! never missed.

use std::collections::VecDeque;
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
        Context { state: AtomicUsize::new(WAITING) }
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
        self.state.compare_exchange(WAITING, to, Ordering::AcqRel, Ordering::Acquire).map(|_| ())
    }

    #[inline]
    pub(crate) fn state(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    /// Parks until claimed, or until `deadline` (then claims `ABORTED` for
    /// itself unless someone claimed first). Returns the final state.
    pub(crate) fn wait_until(&self, reason: &'static str, deadline: Option<Instant>) -> usize {
        loop {
            let s = self.state();
            if s != WAITING {
                return s;
            }
            if let Some(d) = deadline
                && Instant::now() >= d
            {
                return match self.try_claim(ABORTED) {
                    Ok(()) => ABORTED,
                    Err(s) => s,
                };
            }
            waiter::park(reason, deadline, || self.state() == WAITING);
        }
    }

    /// Like [`Context::wait_until`] without a deadline, releasing `guard`
    /// only after the caller is marked waiting (so wakers that need the
    /// lock cannot slip in between registering and parking unseen).
    pub(crate) fn wait_releasing<G>(&self, reason: &'static str, deadline: Option<Instant>, guard: G) -> usize {
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
        self.wait_until(reason, deadline)
    }
}

/// A registration of a context in a wait list.
pub(crate) struct Entry {
    pub(crate) oper: usize,
    /// Only lock holders can claim this context (a single operation with
    /// no deadline: the waiter never claims itself). Such a claim is a
    /// plain store instead of a compare-exchange.
    pub(crate) exclusive: bool,
    pub(crate) cx: *const Context,
    /// Rendezvous channels: where the value goes / comes from.
    pub(crate) packet: *mut u8,
    pub(crate) unparker: Unparker,
}

// SAFETY: the raw pointers are only dereferenced under the list's mutex
// (rule 1) or by the claim winner (rule 2); the pointees are `Sync` (atomics)
// or owned by the operation in progress.
unsafe impl Send for Entry {}

impl Entry {
    /// # Safety
    /// The caller holds the mutex of the list this entry is in (rule 1).
    #[inline]
    unsafe fn cx(&self) -> &Context {
        // SAFETY: rule 1, by the caller's contract.
        unsafe { &*self.cx }
    }
}

/// A FIFO of waiting entries. Always used under a mutex.
#[derive(Default)]
pub(crate) struct Waiters {
    entries: VecDeque<Entry>,
}

impl Waiters {
    #[inline]
    pub(crate) fn push(&mut self, e: Entry) {
        self.entries.push_back(e);
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Claims and removes the first entry that belongs to someone other than
    /// `me` and is still waiting. Claimed-elsewhere entries stay listed;
    /// their owners remove them.
    ///
    /// # Safety
    /// The caller holds the mutex guarding this list.
    pub(crate) unsafe fn claim_one(&mut self, me: Option<*const Context>) -> Option<Entry> {
        let pos = self.entries.iter().position(|e| {
            if Some(e.cx) == me {
                return false;
            }
            // SAFETY: caller holds the mutex (rule 1).
            let cx = unsafe { e.cx() };
            if e.exclusive {
                // Nobody else can claim it: we hold the only lock it is
                // listed under, and its owner never claims itself.
                cx.state.store(e.oper, Ordering::Release);
                true
            } else {
                cx.try_claim(e.oper).is_ok()
            }
        })?;
        if pos == 0 { self.entries.pop_front() } else { self.entries.remove(pos) }
    }

    /// Whether some entry not belonging to `me` is still unclaimed.
    ///
    /// # Safety
    /// The caller holds the mutex guarding this list.
    pub(crate) unsafe fn has_waiting(&self, me: Option<*const Context>) -> bool {
        // SAFETY: caller holds the mutex (rule 1).
        self.entries.iter().any(|e| Some(e.cx) != me && unsafe { e.cx() }.state() == WAITING)
    }

    /// Removes `cx`'s entry for operation `oper`, if still listed.
    pub(crate) fn remove(&mut self, cx: *const Context, oper: usize) -> Option<Entry> {
        let pos = self.entries.iter().position(|e| e.cx == cx && e.oper == oper)?;
        self.entries.remove(pos)
    }

    /// Claims every waiting entry as `DISCONNECTED` and empties the list,
    /// returning the unparkers to wake (after unlocking).
    ///
    /// # Safety
    /// The caller holds the mutex guarding this list.
    pub(crate) unsafe fn disconnect_all(&mut self, out: &mut Vec<Unparker>) {
        for e in self.entries.drain(..) {
            // SAFETY: caller holds the mutex (rule 1).
            if unsafe { e.cx() }.try_claim(DISCONNECTED).is_ok() {
                out.push(e.unparker);
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
        SyncWaiters { list: Lock::new(Waiters::default()), is_empty: AtomicBool::new(true) }
    }

    fn lock(&self) -> Guard<'_, Waiters> {
        self.list.lock()
    }

    /// Registers `cx` for `oper`. The caller must re-check its condition
    /// afterwards (the `SeqCst` store pairs with [`SyncWaiters::notify`]).
    pub(crate) fn register(&self, oper: usize, cx: &Context, unparker: Unparker) {
        let mut l = self.lock();
        l.push(Entry { oper, exclusive: false, cx: cx.id(), packet: std::ptr::null_mut(), unparker });
        self.is_empty.store(false, Ordering::SeqCst);
    }

    /// Removes `cx`'s registration if it is still listed.
    pub(crate) fn unregister(&self, cx: &Context, oper: usize) {
        let mut l = self.lock();
        let _ = l.remove(cx.id(), oper);
        self.is_empty.store(l.is_empty(), Ordering::SeqCst);
    }

    /// Wakes one waiter, if any. One `SeqCst` load when nobody waits.
    #[inline]
    pub(crate) fn notify(&self) {
        if !self.is_empty.load(Ordering::SeqCst) {
            self.notify_slow();
        }
    }

    #[cold]
    fn notify_slow(&self) {
        let mut l = self.lock();
        // SAFETY: we hold the mutex.
        let e = unsafe { l.claim_one(None) };
        self.is_empty.store(l.is_empty(), Ordering::SeqCst);
        drop(l);
        if let Some(e) = e {
            e.unparker.unpark_into();
        }
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
