//! The context switch: the only module that uses corosensei, and the home of
//! the one `unsafe impl Send` that lets a suspended coroutine move between
//! worker threads.
//!
//! A [`Coro`] is a corosensei coroutine running on one of our slab stacks
//! ([`super::stack::Stack`]). The worker resumes it; the coroutine comes back
//! with a [`Switch`] saying why (yield, park with a callback) or finishes.
//! Inside, [`suspend`] is the one way back to the worker; the runtime reaches
//! it through the coroutine's header, where the trampoline stores the yielder.
//!
//! # Why `Coro: Send` is sound (the migration rule)
//!
//! corosensei's `Coroutine` is `!Send` because a suspended stack may hold
//! `!Send` values: an `Rc` shared with code that stays behind, a
//! `thread_local!` reference, a `std::sync::MutexGuard` whose unlock must
//! happen on the locking thread, a cached TLS address. goro moves coroutines
//! between workers (Go semantics), so it asserts `Send` anyway, under these
//! conditions (documented for users in `docs/safety.md`):
//!
//! 1. **Spawned closures and results are `Send + 'static`** (checked by
//!    `go!`/`spawn`), so nothing shared with the spawner is `!Send`.
//! 2. **User code holds no `!Send` value across a blocking call** (channel,
//!    `select!`, sync, sleep, I/O, yield, join): the only points where a
//!    coroutine can change threads. This is the rule Rust cannot check;
//!    coroutines that need thread affinity are spawned *pinned* and never
//!    migrate.
//! 3. **The runtime reads its own thread-locals afresh after every switch**,
//!    through `#[inline(never)]` accessors (`sched::worker::ctx`), so LLVM
//!    cannot reuse a TLS address computed on another thread.
//! 4. **One runner at a time** (state-word rule 1 in `state.rs`): a
//!    coroutine is resumed by exactly one worker, and the handoff between
//!    workers goes through a run queue or an atomic with release/acquire
//!    ordering, which orders everything the previous runner did.
//!
//! # Alternatives rejected
//!
//! * corosensei's `DefaultStack`: one mmap per coroutine (see `stack.rs`).
//! * Hand-written context-switch assembly: corosensei already does it well,
//!   with unwinding and backtraces across the switch.

use std::num::NonZeroUsize;

use corosensei::stack::StackPointer;
use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::stack::Stack;

/// Why a coroutine switched back to its worker.
pub(crate) enum Switch {
    /// `yield_now`: requeue it.
    Yield,
    /// Park: the worker calls the validate callback, then commits. The
    /// pointer is to a closure on the coroutine's own stack; the worker may
    /// call it only before the commit (state rule 2).
    Park(*mut (dyn FnMut() -> bool + 'static)),
}

/// A coroutine's suspension handle, stored in its header so that code deep
/// in its call stack can switch out.
pub(crate) type YielderPtr = *const Yielder<(), Switch>;

/// The stack as corosensei sees it.
struct SlabStack(Stack);

// SAFETY: `Stack` owns `[bottom, top)` exclusively; the lowest page is a
// guard page (MADV_GUARD_INSTALL or PROT_NONE, installed before the stack is
// handed out), and the usable part is at least MIN_STACK_SIZE (16 KiB) >
// corosensei's MIN_STACK_SIZE. `top` and `bottom` are page-aligned, hence
// aligned to STACK_ALIGNMENT.
unsafe impl corosensei::stack::Stack for SlabStack {
    fn base(&self) -> StackPointer {
        NonZeroUsize::new(self.0.top()).expect("stack top is not null")
    }
    fn limit(&self) -> StackPointer {
        NonZeroUsize::new(self.0.bottom()).expect("stack bottom is not null")
    }
}

/// A coroutine on a slab stack. See the module docs for why it is `Send`.
pub(crate) struct Coro {
    inner: Coroutine<(), Switch, (), SlabStack>,
    /// Bounds kept for the overflow handler: (guard start, guard end, usable bytes).
    guard: (usize, usize, usize),
}

// SAFETY: see "Why `Coro: Send` is sound" in the module docs: spawned code is
// `Send + 'static`, users may not hold `!Send` values across a blocking call
// (pinned coroutines never move), the runtime re-reads its thread-locals after
// each switch, and a coroutine has one runner at a time with release/acquire
// handoffs between runners.
unsafe impl Send for Coro {}

impl Coro {
    /// Builds a coroutine that will call `body(yielder)` on `stack` when
    /// first resumed. `#[inline]`: a copy in each codegen unit that builds
    /// one (the worker's first run), rather than a call that depends on how
    /// the crate happens to be split.
    #[inline]
    pub(crate) fn new(stack: Stack, body: impl FnOnce(YielderPtr) + 'static) -> Coro {
        let (g0, g1) = stack.guard();
        let guard = (g0, g1, stack.usable());
        let inner =
            Coroutine::with_stack(SlabStack(stack), move |y: &Yielder<(), Switch>, ()| body(y));
        Coro { inner, guard }
    }

    /// Runs the coroutine until it switches out (`Some`) or returns (`None`).
    ///
    /// Panics from the body are not expected here: the runtime's trampoline
    /// catches them; one that escapes is re-raised on the worker.
    #[inline]
    pub(crate) fn resume(&mut self) -> Option<Switch> {
        match self.inner.resume(()) {
            CoroutineResult::Yield(s) => Some(s),
            CoroutineResult::Return(()) => None,
        }
    }

    /// The finished coroutine's stack, for reuse.
    pub(crate) fn into_stack(self) -> Stack {
        self.inner.into_stack().0
    }

    /// (guard start, guard end, usable bytes).
    pub(crate) fn guard(&self) -> (usize, usize, usize) {
        self.guard
    }
}

/// Switches from the running coroutine back to its worker.
///
/// # Safety
///
/// `yielder` must be the yielder of the coroutine that is running on the
/// current thread (the one stored in its header by the trampoline).
#[inline]
pub(crate) unsafe fn suspend(yielder: YielderPtr, why: Switch) {
    // SAFETY: by the caller's contract the yielder belongs to the running
    // coroutine; it lives in that coroutine's root frame, which outlives
    // every frame that can call this.
    unsafe { (*yielder).suspend(why) }
}
