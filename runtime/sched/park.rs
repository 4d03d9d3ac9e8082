//! Park (Go's `gopark`), yield, and the waiter hook that makes every
//! goro-chan wait (channels, WaitGroup, join, sync) park coroutines. Its
//! other half, ready (Go's `goready`) and the coroutine's wakers, is next
//! door in `ready.rs`: the worker loop readies timer-woken coroutines too,
//! and park sits above the worker (it needs the worker's context), so the
//! two halves are two files to keep every import pointing down.
//!
//! [`park_current`] switches to the worker with a callback; the worker runs
//! the callback there (the coroutine is off its stack, and any wake-up from
//! now on is kept as a token), then commits to `WAITING` unless a wake-up
//! came meanwhile (`g/state.rs`). A deadline arms a timer in the worker's
//! heap from inside the callback (so it exists only if the coroutine really
//! parks) and is cancelled when the coroutine runs again.

use std::cell::Cell;
use std::ptr::NonNull;
use std::time::Instant;

use goro_chan::waiter::{self, Hook, Unparker};

use super::ready::{borrowed_unparker, unparker, wake_then};
use super::{timers, worker};
use crate::g::coro::{self, Switch};
use crate::g::{GRef, Header, Pin, SWITCH_UNWIND_PINNED};

/// Installs goro's implementation of the goro-chan waiter hook.
pub(crate) fn install_hook() {
    waiter::install(Hook {
        current: current_unparker,
        park: hook_park,
        yield_now: hook_yield,
        current_borrowed,
        wake_then,
        can_spin: super::spin_pays,
    });
}

fn current_borrowed() -> Option<Unparker> {
    let (_, h) = worker::current()?;
    // SAFETY: waiter rule B1: every use of a borrowed unparker happens while
    // the coroutine still exists.
    Some(unsafe { borrowed_unparker(h) })
}

fn hook_yield() -> bool {
    if worker::current().is_none() {
        return false;
    }
    yield_now();
    true
}

fn current_unparker() -> Option<Unparker> {
    let (_, h) = worker::current()?;
    // SAFETY: the running coroutine's header is live (its worker holds the
    // run reference), and `unparker` takes its own reference.
    let g = std::mem::ManuallyDrop::new(unsafe { GRef::from_raw(h) });
    Some(unparker(&g))
}

fn hook_park(
    reason: &'static str,
    deadline: Option<Instant>,
    validate: &mut dyn FnMut() -> bool,
) -> bool {
    let Some((_, h)) = worker::current() else {
        debug_assert!(
            worker::ctx().is_none(),
            "goro: blocking call on a worker's own stack (inside a park callback?); this blocks the worker thread"
        );
        return false;
    };
    park_current(h, reason, deadline, validate);
    true
}

/// Parks the running coroutine `h`: see the module docs. Returns when woken,
/// when `deadline` passes, spuriously, or at once if `validate` says so.
pub(crate) fn park_current(
    h: NonNull<Header>,
    reason: &'static str,
    deadline: Option<Instant>,
    validate: &mut dyn FnMut() -> bool,
) {
    // SAFETY: `h` is the running coroutine (we are on its stack), so its
    // header is live.
    let hdr = unsafe { h.as_ref() };
    if hdr.state.take_token() {
        return;
    }
    // A deadline that has already passed needs no check here: callers test
    // it before parking, and if it passed in between, the timer armed
    // below is due at once and the next scheduling round fires it.
    let when = deadline.map(timers::instant_ns);
    let armed = Cell::new(None);
    let mut cb = || {
        if !validate() {
            return false;
        }
        if let Some(w) = when {
            // On the worker's stack, same thread as the switch: this is the
            // worker that will commit the park.
            let ctx = worker::ctx().expect("park callbacks run on a worker");
            armed.set(Some(ctx.arm_park_timer(h, w)));
        }
        true
    };
    // Without a deadline the callback is `validate` itself: one indirect
    // call less per park.
    let cb_ref: &mut (dyn FnMut() -> bool + '_) = if when.is_some() { &mut cb } else { validate };
    // SAFETY: only the lifetime is erased. The worker calls the callback only
    // in the park callback window (state rule 2), i.e. before this frame is
    // resumed and returns, so the closure (`cb` here, or `validate`, which
    // our caller's frame holds) outlives every call.
    let cb_ptr: *mut (dyn FnMut() -> bool + 'static) = unsafe { std::mem::transmute(cb_ref) };
    hdr.wait_reason.set(reason);
    hdr.wait_seen.store(0, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: `switch_flags` is a runner-only field; we are the runner.
    if std::thread::panicking()
        || unsafe { *hdr.switch_flags.get() } != 0
        || super::stacks::enabled()
    {
        park_cold(hdr, cb_ptr);
    } else {
        // SAFETY: the trampoline stored this coroutine's yielder before
        // running user code; we are on this coroutine.
        unsafe { coro::suspend(*hdr.yielder.get(), Switch::Park(cb_ptr)) };
    }
    // Possibly on another thread now: nothing from before the switch that
    // refers to a worker is used below (migration rule 3).
    if let Some(seq) = armed.get() {
        timers::cancel_park(hdr, seq, |i| &super::rt().slots[i].timers);
    }
}

/// The park switch when something unusual is on: a panic is unwinding
/// (or was), or `GORO_DEBUG=stacks=1` records where we park. Out of line, so that the
/// common park pays one branch for all of them.
#[cold]
#[inline(never)]
fn park_cold(hdr: &Header, cb_ptr: *mut (dyn FnMut() -> bool + 'static)) {
    // Does nothing unless a panic unwinds or the coroutine was pinned by one.
    unwinding_stays(hdr);
    // `GORO_DEBUG=stacks=1`: the dump shows where we park (`stacks.rs`);
    // the guard drops the record when the park returns.
    let _stack = super::stacks::enabled().then(|| super::stacks::record(hdr.id));
    // SAFETY: as in `park_current`, our caller: the yielder was stored by
    // the trampoline and we are on this coroutine (called from its park).
    unsafe { coro::suspend(*hdr.yielder.get(), Switch::Park(cb_ptr)) };
}

/// Yields the processor: the running coroutine goes to the back of its
/// worker's queue and others run first (Go's `runtime.Gosched`). On a plain
/// thread this is `std::thread::yield_now`.
///
/// ```
/// goro::run(|| {
///     let h = goro::go!(|| 1);
///     while !h.is_finished() {
///         goro::yield_now();
///     }
/// });
/// ```
pub fn yield_now() {
    match worker::current() {
        Some((_, h)) => {
            // SAFETY: `h` is the running coroutine, so its header is live.
            let hdr = unsafe { h.as_ref() };
            // SAFETY: runner-only field; we are the runner.
            if std::thread::panicking() || unsafe { *hdr.switch_flags.get() } != 0 {
                unwinding_stays(hdr);
            }
            // SAFETY: `h` is the running coroutine; its yielder was stored
            // by the trampoline and we are on its stack.
            unsafe { coro::suspend(*hdr.yielder.get(), Switch::Yield) }
        }
        None => std::thread::yield_now(),
    }
}

/// The unwinding rule (`docs/safety.md`, "Unwinding"): std counts panics
/// per thread, so a coroutine that switches out while a panic unwinds
/// through it (a blocking `Drop`) must come back on the same thread, or
/// that thread stays "panicking" forever and the new one never was. It is
/// pinned to this thread until the unwind ends, and the thread hands its
/// processor to a spare (`monitor.rs`), so that while the unwind is
/// suspended no unpinned coroutine runs here and sees `panicking()` true
/// (only this thread's other pinned coroutines can). Called by the
/// coroutine itself before it switches: pin rule 2 allows it.
#[cold]
fn unwinding_stays(hdr: &Header) {
    let Some(ctx) = worker::ctx() else { return };
    // SAFETY: runner-only field; the caller is the running coroutine.
    let flags = unsafe { &mut *hdr.switch_flags.get() };
    let pinned = *flags & SWITCH_UNWIND_PINNED != 0;
    if std::thread::panicking() {
        if !pinned && hdr.pin.load() == Pin::Anywhere {
            hdr.pin.store(Pin::Worker(ctx.index));
            *flags |= SWITCH_UNWIND_PINNED;
            if ctx.is_active() {
                super::monitor::hand_off(ctx.rt, ctx.index);
            }
        }
    } else if pinned {
        // The unwind ended (caught inside the coroutine): free again.
        hdr.pin.store(Pin::Anywhere);
        *flags &= !SWITCH_UNWIND_PINNED;
    }
}
