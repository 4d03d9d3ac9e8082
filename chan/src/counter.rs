//! The shared allocation behind a channel's handles, with separate sender
//! and receiver counts.
//!
//! `Arc` plus two counters would make every `Sender::clone`/drop two atomic
//! read-modify-writes; here it is one. The allocation is freed by whichever
//! side (all senders, or all receivers) lets go last: each side, when its
//! count reaches zero, runs its disconnect action and then swaps `destroy`
//! to `true`; the side that finds it already `true` frees the block.
//! `C` is one flavor (`Array`, `Zero` or `NeverChan`, `channel.rs`), so
//! each channel's block is as large as its own flavor needs.
//!
//! Access rules:
//!
//! 1. A handle owns one unit of its side's count; while any handle of either
//!    side exists, the allocation is live.
//! 2. The side whose count reaches zero disconnects *before* swapping
//!    `destroy`, so the other side never sees a half-disconnected channel
//!    freed under it.

use std::ops::Deref;
use std::process::abort;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counter<C> {
    senders: AtomicUsize,
    receivers: AtomicUsize,
    destroy: AtomicBool,
    chan: C,
}

/// Creates the shared block with one sender and one receiver.
pub(crate) fn new<C>(chan: C) -> (Senders<C>, Receivers<C>) {
    let p = alloc(chan, 1);
    (Senders { block: p }, Receivers { block: p })
}

/// Creates a block with one receiver and no sender side at all.
pub(crate) fn receivers_only<C>(chan: C) -> Receivers<C> {
    Receivers {
        block: alloc(chan, 0),
    }
}

fn alloc<C>(chan: C, senders: usize) -> NonNull<Counter<C>> {
    NonNull::from(Box::leak(Box::new(Counter {
        senders: AtomicUsize::new(senders),
        receivers: AtomicUsize::new(1),
        // With no senders at all, the sender side has already "let go".
        destroy: AtomicBool::new(senders == 0),
        chan,
    })))
}

/// One unit of the sender count.
pub(crate) struct Senders<C> {
    block: NonNull<Counter<C>>,
}

/// One unit of the receiver count.
pub(crate) struct Receivers<C> {
    block: NonNull<Counter<C>>,
}

// SAFETY: handles share `C` across threads (rule 1); `C` must be both.
unsafe impl<C: Send + Sync> Send for Senders<C> {}
// SAFETY: as above.
unsafe impl<C: Send + Sync> Sync for Senders<C> {}
// SAFETY: as above.
unsafe impl<C: Send + Sync> Send for Receivers<C> {}
// SAFETY: as above.
unsafe impl<C: Send + Sync> Sync for Receivers<C> {}

impl<C> Senders<C> {
    fn counter(&self) -> &Counter<C> {
        // SAFETY: rule 1: we own a unit, so the block is live.
        unsafe { self.block.as_ref() }
    }

    /// Another sender unit.
    pub(crate) fn acquire(&self) -> Self {
        if self.counter().senders.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            abort();
        }
        Senders { block: self.block }
    }

    /// Gives up this unit; the last sender runs `disconnect` first.
    pub(crate) fn release(&self, disconnect: impl FnOnce(&C)) {
        let c = self.counter();
        if c.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            disconnect(&c.chan);
            if c.destroy.swap(true, Ordering::AcqRel) {
                // SAFETY: rule 2: both sides have let go; nobody else can
                // reach the block.
                drop(unsafe { Box::from_raw(self.block.as_ptr()) });
            }
        }
    }

    /// Whether no receiver is left.
    pub(crate) fn no_receivers(&self) -> bool {
        self.counter().receivers.load(Ordering::Acquire) == 0
    }

    pub(crate) fn same(&self, other: &Self) -> bool {
        self.block == other.block
    }
}

impl<C> Receivers<C> {
    fn counter(&self) -> &Counter<C> {
        // SAFETY: rule 1.
        unsafe { self.block.as_ref() }
    }

    /// Another receiver unit.
    pub(crate) fn acquire(&self) -> Self {
        if self.counter().receivers.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            abort();
        }
        Receivers { block: self.block }
    }

    /// Gives up this unit; the last receiver runs `disconnect` first.
    pub(crate) fn release(&self, disconnect: impl FnOnce(&C)) {
        let c = self.counter();
        if c.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            disconnect(&c.chan);
            if c.destroy.swap(true, Ordering::AcqRel) {
                // SAFETY: rule 2.
                drop(unsafe { Box::from_raw(self.block.as_ptr()) });
            }
        }
    }

    pub(crate) fn same(&self, other: &Self) -> bool {
        self.block == other.block
    }

    /// Whether any sender is left.
    pub(crate) fn has_senders(&self) -> bool {
        self.counter().senders.load(Ordering::Acquire) != 0
    }
}

impl<C> Deref for Senders<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.counter().chan
    }
}

impl<C> Deref for Receivers<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.counter().chan
    }
}
