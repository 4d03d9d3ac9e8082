//! Ready (Go's `goready`): making a parked coroutine runnable, and the
//! coroutine's wakers. Its other half, park, is next door in `park.rs`.
//!
//! A coroutine is woken through its [`Unparker`], a `Waker` whose data is
//! the header. [`ready`] flips the state word `WAITING → ACTIVE` and, if it
//! won, schedules the run reference the state word held (`g/mod.rs`,
//! "References"). Two vtables:
//!
//! * **owned** ([`unparker`]): holds a reference of its own, like an `Arc`.
//! * **borrowed** ([`borrowed_unparker`]): holds none; its waiter
//!   guarantees the coroutine outlives every use (waiter rule B1 in
//!   `goro_chan::waiter`). It saves a refcount increment and decrement
//!   per rendezvous.
//!
//! [`wake_then`] is the hook's "wake, publishing a state first" entry; it
//! tells the two kinds apart by their vtable (the only way a `Waker`
//! identifies itself).
//!
//! Alternatives rejected: a flag in the header telling owned from borrowed
//! (a load per wake-up, and the vtable already says it); a refcount on
//! every unparker (the borrowed kind saves a refcount increment/decrement
//! pair per rendezvous, on the pingpong and select paths).

use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use goro_chan::waiter::Unparker;

use super::{Hint, schedule};
use crate::g::{GRef, Header, dec_ref, inc_ref};

/// Makes the coroutine behind `h` runnable if it is parked (Go's
/// `goready`): wins `WAITING → ACTIVE` and schedules it with `hint`, or,
/// if it is not parked, leaves a token its next park consumes.
/// Returns whether it was parked.
///
/// # Safety
/// `h` is live for the duration of the call (the caller holds a reference,
/// or a borrowed unparker under waiter rule B1).
#[inline]
pub(crate) unsafe fn ready(h: NonNull<Header>, hint: Hint) -> bool {
    // SAFETY: caller contract.
    if unsafe { h.as_ref() }.state.unpark() {
        // We won WAITING → ACTIVE: the run reference the state word held is
        // ours now (g/mod.rs, "References").
        // SAFETY: as just said.
        schedule(unsafe { GRef::from_raw(h) }, hint);
        true
    } else {
        false
    }
}

/// An unparker whose wake-up makes `g` runnable; it holds a reference.
pub(crate) fn unparker(g: &GRef) -> Unparker {
    inc_ref(g.as_ptr());
    // SAFETY: the data pointer carries the reference just taken; the
    // vtable functions follow RawWaker's contract (see below).
    Unparker::from_waker(unsafe {
        Waker::from_raw(RawWaker::new(
            g.as_ptr().as_ptr() as *const (),
            &WAKER_VTABLE,
        ))
    })
}

/// An unparker that holds no reference: waking it makes the coroutine
/// runnable, dropping it does nothing, cloning it gives an owned unparker.
///
/// # Safety
/// Waiter rule B1: it may only be used while the coroutine `h` exists.
pub(crate) unsafe fn borrowed_unparker(h: NonNull<Header>) -> Unparker {
    // SAFETY: the vtable's functions take no reference and give none back,
    // except `clone`, which takes its own; the caller guarantees the header
    // outlives every use.
    Unparker::from_waker(unsafe {
        Waker::from_raw(RawWaker::new(h.as_ptr() as *const (), &BORROWED_VTABLE))
    })
}

/// `goro_chan::waiter::Hook::wake_then` for coroutine unparkers: flips the
/// state word first (from then on the coroutine cannot finish before it is
/// scheduled: either we own its run reference, or it is running and holds a
/// token), runs `then`, then schedules it.
///
/// If the coroutine was not parked (`ACTIVE`: running, queued, or in its
/// park callback window), the token is set *before* `then` publishes the
/// state it waits for. It may consume the token (a park that returns at
/// once, or a failed commit), re-read the old state, and park again with
/// nobody left to wake it. So with an owned unparker we wake it a second
/// time after `then`. A borrowed unparker's waiter never parks for this
/// signal (waiter rule B2: it spins on the state), and after `then` it may
/// already be gone, so it gets no second wake-up.
pub(crate) fn wake_then(u: &Unparker, then: &mut dyn FnMut()) -> bool {
    let w = u.as_waker();
    let vt = w.vtable();
    let owned = std::ptr::eq(vt, &WAKER_VTABLE);
    if !owned && !std::ptr::eq(vt, &BORROWED_VTABLE) {
        return false;
    }
    let h = header_of(w.data());
    // SAFETY: `u` is (at least) a borrowed unparker, valid by rule B1 for
    // this use; the header is live.
    if unsafe { h.as_ref() }.state.unpark() {
        then();
        // SAFETY: we won WAITING → ACTIVE, so the run reference is ours.
        schedule(unsafe { GRef::from_raw(h) }, Hint::Next);
    } else {
        then();
        // SAFETY: an owned unparker holds a reference, so the header is live
        // after `then` too.
        if owned {
            unsafe { ready(h, Hint::Next) };
        }
    }
    true
}

// Owned wakers: data is a `*const Header` owning one reference.
static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

// Borrowed wakers: data is a `*const Header` owning nothing (rule B1).
static BORROWED_VTABLE: RawWakerVTable = RawWakerVTable::new(
    waker_clone,
    waker_wake_by_ref,
    waker_wake_by_ref,
    borrowed_drop,
);

fn borrowed_drop(_: *const ()) {}

fn header_of(data: *const ()) -> NonNull<Header> {
    NonNull::new(data as *mut Header).expect("waker data is a header")
}
fn waker_clone(data: *const ()) -> RawWaker {
    inc_ref(header_of(data));
    RawWaker::new(data, &WAKER_VTABLE)
}
fn waker_wake(data: *const ()) {
    waker_wake_by_ref(data);
    waker_drop(data);
}
fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: an owned waker holds a reference; a borrowed one is used
    // under rule B1. Either way the header is live.
    unsafe { ready(header_of(data), Hint::Next) };
}
fn waker_drop(data: *const ()) {
    dec_ref(header_of(data));
}
