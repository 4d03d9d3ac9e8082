//! The coroutine (Go's G): one heap allocation per `go!`, holding the header
//! the scheduler works with, the closure to run and, once it finishes, its
//! result.
//!
//! ```text
//!  Task<F, T> (one allocation, #[repr(C)])
//!  +-----------------------------+
//!  | Header                      |  state word, refcount, join bits, id, name,
//!  |   vtable -> run/read/free   |  stack size, pin, the Coro once it runs
//!  +-----------------------------+
//!  | stage: Pending(F) | Running | Done(Result<T, Panic>) | Taken
//!  +-----------------------------+
//! ```
//!
//! The scheduler sees only `Header` (through [`GRef`]); code that knows `F`
//! and `T` lives behind the vtable, like tokio's task cell.
//!
//! # References
//!
//! `refs` counts owners of the allocation:
//!
//! * the **run reference**, created at spawn and dropped when the coroutine
//!   finishes. It travels with the right to run: in a run queue, in a
//!   worker's hands, and while the coroutine is `WAITING` it is held by the
//!   state word itself (the worker `forget`s it at park; the unpark that wins
//!   `WAITING → ACTIVE` takes it back with [`GRef::from_raw`]). A coroutine
//!   nobody ever wakes therefore stays allocated, like a leaked goroutine; it
//!   is never unwound from under its owner.
//! * the [`JoinHandle`](crate::JoinHandle), until it is joined or dropped;
//! * every [`Unparker`](goro_chan::waiter::Unparker) (a `Waker` whose data is
//!   the header; its vtable is in `sched/park.rs`, beside park) and every
//!   timer entry.
//!
//! # Stage access rules
//!
//! 1. `Pending → Running`: only the trampoline, on the coroutine's first run
//!    (it moves `F` onto the coroutine stack). Or `fail`, on the worker, if
//!    no stack could be had (then it never runs).
//! 2. `Running → Done`: only the trampoline, before it sets `COMPLETE`.
//! 3. `Done → Taken`: only the join handle, after it observed `COMPLETE`
//!    with acquire ordering.
//! 4. Drop: whoever drops the last reference.
//!
//! # Join bits
//!
//! | bit          | set by            | meaning |
//! |--------------|-------------------|---------|
//! | `COMPLETE`   | trampoline / fail | the output is stored |
//! | `PANICKED`   | trampoline / fail | ... and it is a panic |
//! | `JOIN_WAKER` | joiner            | `join_waker` holds the joiner's unparker |
//! | `DETACHED`   | handle drop / join | nobody will join |
//! | `TAKEN`      | join / poll       | the output was taken: nothing to report at drop |
//!
//! `join_waker` is written only by the joiner before it sets `JOIN_WAKER`,
//! and read only by the completer after it saw `JOIN_WAKER` in the value it
//! replaced. A joiner that polls again (the handle is a `Future`) first
//! clears `JOIN_WAKER`; the slot is its own again only if the value it
//! replaced had no `COMPLETE` (`join.rs`, `register`). A panic is reported
//! on stderr by whichever of completion and detach comes second, so an
//! unjoined panic is never silent.

pub(crate) mod alloc;
pub(crate) mod coro;
pub(crate) mod join;
pub(crate) mod local;
pub(crate) mod overflow;
pub(crate) mod pin;
pub(crate) mod registry;
pub(crate) mod stack;
pub(crate) mod state;

use std::any::Any;
use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, Location};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicU16, AtomicU64, AtomicUsize, Ordering};

use goro_chan::waiter::Unparker;

use self::coro::{Coro, YielderPtr};
use self::state::GState;
pub use join::{JoinHandle, Panic};
pub(crate) use pin::{AtomicPin, Pin};

pub(crate) const COMPLETE: u8 = 1;
pub(crate) const PANICKED: u8 = 2;
pub(crate) const JOIN_WAKER: u8 = 4;
pub(crate) const DETACHED: u8 = 8;
pub(crate) const TAKEN: u8 = 16;

/// `Header::switch_flags`: it was pinned to its thread because it parked
/// while a panic unwound (`docs/safety.md`, "Unwinding").
pub(crate) const SWITCH_UNWIND_PINNED: u8 = 1;

/// Per-coroutine data the scheduler needs; first field of every task.
///
/// `repr(C)`, in two groups: the fields `spawn` fills from its arguments,
/// then the fields whose initial value is all zero bytes (`ACTIVE` is 0,
/// `UNLISTED_HOME` is 0, null pointers, `None`s), so that `new_task`
/// writes the second group as one run of wide zero stores instead of a
/// store per field (measured: a few instructions per `go!`).
#[repr(C)]
pub(crate) struct Header {
    vtable: &'static Vtable,
    refs: AtomicUsize,
    pub(crate) id: u64,
    pub(crate) name: Option<Box<str>>,
    /// Usable stack bytes (already rounded).
    pub(crate) stack_size: usize,
    /// Where it may run (see `pin.rs`).
    pub(crate) pin: AtomicPin,
    pub(crate) spawned_at: &'static Location<'static>,
    /// Leak-check scope (`goro::testing`): inherited from the spawner; 0
    /// outside any test scope. Immutable.
    pub(crate) scope: u64,
    pub(crate) state: GState,
    pub(crate) join: AtomicU8,
    /// What its next switch-out must do first (`SWITCH_*` bits: park and
    /// yield test the byte once, with `thread::panicking()`, and handle any
    /// bit out of line); read and written only by the coroutine itself
    /// (`sched/park.rs`).
    pub(crate) switch_flags: UnsafeCell<u8>,
    /// The worker whose registry list holds it (set when it is listed, at
    /// its first switch-out: its index plus one; `registry::UNLISTED_HOME`
    /// before; a `u16` fits in padding: `MAX_PROCS` is 1024).
    pub(crate) reg_home: AtomicU16,
    /// Bumped to cancel the pending park timer (see `time`).
    pub(crate) timer_seq: AtomicU64,
    /// Which worker's heap holds the pending park timer.
    pub(crate) timer_home: AtomicUsize,
    /// Set by the trampoline; used only by code running on this coroutine.
    pub(crate) yielder: UnsafeCell<YielderPtr>,
    /// Why it is parked ("chan receive", ...); written by its runner at park,
    /// readable from any thread (`registry.rs`).
    pub(crate) wait_reason: registry::WaitReason,
    /// Runtime-clock ns when a diagnostic first saw it parked (0: not seen
    /// since its last park); reset by its runner at park (`registry.rs`).
    pub(crate) wait_seen: AtomicU64,
    /// Next entry of the registry list holding it (`registry.rs`, rule R1).
    pub(crate) reg_next: AtomicPtr<Header>,
    /// See "Join bits".
    pub(crate) join_waker: UnsafeCell<Option<Unparker>>,
    /// Coroutine-locals (`local.rs`): null until first used, dropped by the
    /// trampoline when the body returns or unwinds. Touched only by the
    /// coroutine.
    pub(crate) locals: local::Slot,
    /// The context; `None` until the first run and after the last. Touched
    /// only by the coroutine's runner (state rule 1).
    pub(crate) coro: UnsafeCell<Option<Coro>>,
}

// SAFETY: the `UnsafeCell` fields are accessed under the rules in the module
// docs and in `state.rs` (one runner at a time; join waker guarded by the join
// bits; locals by their owner only, `local.rs` rule 1); everything else is
// atomic or immutable after construction.
unsafe impl Sync for Header {}

struct Vtable {
    /// Runs the closure on the coroutine and completes it (stage rules 1-2).
    run: unsafe fn(NonNull<Header>),
    /// Completes without running: drops the closure, stores the panic.
    fail: unsafe fn(NonNull<Header>, Panic),
    /// Moves the output into `*mut Option<Result<T, Panic>>` (rule 3).
    read: unsafe fn(NonNull<Header>, *mut ()),
    /// A printable message of the stored panic, for the unjoined report.
    panic_message: unsafe fn(NonNull<Header>) -> String,
    /// Frees the allocation (rule 4).
    dealloc: unsafe fn(NonNull<Header>),
}

enum Stage<F, T> {
    Pending(F),
    Running,
    Done(Result<T, Panic>),
    Taken,
}

#[repr(C)]
struct Task<F, T> {
    header: Header,
    stage: UnsafeCell<Stage<F, T>>,
}

/// What `spawn` needs besides the closure.
pub(crate) struct SpawnOpts {
    pub(crate) id: u64,
    pub(crate) name: Option<Box<str>>,
    pub(crate) stack_size: usize,
    pub(crate) pin: Pin,
    pub(crate) location: &'static Location<'static>,
    pub(crate) scope: u64,
}

/// Allocates a coroutine for `f`. Returns the run reference and the join
/// handle (refcount 2), or `None` if memory is exhausted (`f` is dropped).
/// Inlined into `spawn` so that the header is written in place from the
/// spawn's locals, not built in a `SpawnOpts` and copied.
#[inline]
pub(crate) fn new_task<F, T>(f: F, opts: SpawnOpts) -> Option<(GRef, JoinHandle<T>)>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let layout = std::alloc::Layout::new::<Task<F, T>>();
    let raw = alloc::alloc_task(layout)?.cast::<Task<F, T>>();
    let task = Task {
        header: Header {
            state: GState::new(),
            refs: AtomicUsize::new(2),
            join: AtomicU8::new(0),
            vtable: &Vtable {
                run: run::<F, T>,
                fail: fail::<F, T>,
                read: read::<F, T>,
                panic_message: panic_message::<F, T>,
                dealloc: dealloc::<F, T>,
            },
            id: opts.id,
            name: opts.name,
            stack_size: opts.stack_size,
            pin: AtomicPin::new(opts.pin),
            spawned_at: opts.location,
            scope: opts.scope,
            timer_seq: AtomicU64::new(0),
            timer_home: AtomicUsize::new(0),
            coro: UnsafeCell::new(None),
            yielder: UnsafeCell::new(std::ptr::null()),
            wait_reason: registry::WaitReason::new(),
            wait_seen: AtomicU64::new(0),
            reg_next: AtomicPtr::new(std::ptr::null_mut()),
            reg_home: AtomicU16::new(registry::UNLISTED_HOME),
            switch_flags: UnsafeCell::new(0),
            join_waker: UnsafeCell::new(None),
            locals: local::Slot::new(),
        },
        stage: UnsafeCell::new(Stage::<F, T>::Pending(f)),
    };
    // SAFETY: `raw` is a fresh block with the layout of Task<F, T>.
    unsafe { raw.as_ptr().write(task) };
    let raw = raw.cast::<Header>();
    Some((GRef(raw), JoinHandle::from_raw(raw)))
}

/// # Safety
/// `h` is the header of a live `Task<F, T>` being run by its trampoline.
unsafe fn run<F: FnOnce() -> T, T>(h: NonNull<Header>) {
    // SAFETY: caller contract; the header is the first field (repr(C)).
    let task = unsafe { h.cast::<Task<F, T>>().as_ref() };
    // SAFETY: stage rule 1: only the trampoline, once.
    let stage = unsafe { &mut *task.stage.get() };
    let Stage::Pending(f) = std::mem::replace(stage, Stage::Running) else {
        unreachable!("coroutine started twice")
    };
    // Coroutine-locals die with the body, on the coroutine, before joiners
    // see the output: the guard drops them when `f` returns (a destructor's
    // panic is then the coroutine's) or while a panic of `f` unwinds.
    let body = move || {
        let _locals = DropLocals(h);
        f()
    };
    let out =
        std::panic::catch_unwind(AssertUnwindSafe(body)).map_err(|p| Panic::new(p, &task.header));
    let panicked = out.is_err();
    // SAFETY: stage rule 2.
    unsafe { *task.stage.get() = Stage::Done(out) };
    // SAFETY: the output is stored.
    unsafe { complete(h, panicked) };
}

/// Drops the running coroutine's locals when its body ends (`local.rs`).
/// The common case (no locals) is one load and branch.
struct DropLocals(NonNull<Header>);

impl Drop for DropLocals {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the header is live (the trampoline holds the run
        // reference); local.rs rule 1: we are on the coroutine, its body
        // has returned or is unwinding, so no `with` of it is running.
        unsafe {
            let slot = self.0.as_ref().locals.get();
            if local::in_use(slot) {
                local::drop_all(slot);
            }
        }
    }
}

/// # Safety
/// `h` is a live `Task<F, T>` that never ran and never will.
unsafe fn fail<F, T>(h: NonNull<Header>, p: Panic) {
    // SAFETY: caller contract; stage rule 1 (the closure is dropped here).
    let task = unsafe { h.cast::<Task<F, T>>().as_ref() };
    // SAFETY: as above.
    unsafe { *task.stage.get() = Stage::Done(Err(p)) };
    // SAFETY: the output is stored.
    unsafe { complete(h, true) };
}

/// Publishes the output: sets the join bits, wakes a joiner, reports an
/// unjoined panic.
///
/// # Safety
/// The stage is `Done` and this is the only call for this task.
unsafe fn complete(h: NonNull<Header>, panicked: bool) {
    // SAFETY: the header is live (we hold the run reference).
    let hdr = unsafe { h.as_ref() };
    let bits = COMPLETE | if panicked { PANICKED } else { 0 };
    let prev = hdr.join.fetch_or(bits, Ordering::AcqRel);
    if prev & JOIN_WAKER != 0 {
        // SAFETY: join-bit rule: the joiner wrote the waker before setting
        // JOIN_WAKER, which we observed; it will not touch it again.
        if let Some(u) = unsafe { (*hdr.join_waker.get()).take() } {
            u.unpark_into();
        }
    }
    if panicked && prev & DETACHED != 0 {
        // SAFETY: output stored (COMPLETE) and nobody else reads it (detached).
        report_unjoined(hdr, &unsafe { (hdr.vtable.panic_message)(h) });
    }
}

/// Reports a panic raised by dropping a coroutine's unjoined result (or its
/// panic payload, or its never-run closure). A payload whose own drop
/// panics again is leaked rather than dropped a second time.
#[cold]
fn report_drop_panic(h: &Header, payload: Box<dyn Any + Send>) {
    report!(
        "goro: coroutine {}: dropping its unjoined result panicked: {}",
        describe(h),
        payload_message(&*payload).unwrap_or("<non-string panic payload>")
    );
    if let Err(again) = std::panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

pub(crate) fn report_unjoined(h: &Header, msg: &str) {
    report!(
        "goro: coroutine {} panicked and nobody joined it: {msg}",
        describe(h)
    );
}

/// "17 (name) spawned at src/main.rs:3:5"
pub(crate) fn describe(h: &Header) -> String {
    match &h.name {
        Some(n) => format!("{} ({n}) spawned at {}", h.id, h.spawned_at),
        None => format!("{} spawned at {}", h.id, h.spawned_at),
    }
}

/// # Safety
/// `h` is a `Task<F, T>` whose join bits show `COMPLETE`, observed with
/// acquire ordering by the caller, and the caller is its join handle.
unsafe fn read<F, T>(h: NonNull<Header>, out: *mut ()) {
    // SAFETY: caller contract (stage rule 3).
    let task = unsafe { h.cast::<Task<F, T>>().as_ref() };
    // SAFETY: as above.
    let stage = unsafe { &mut *task.stage.get() };
    if let Stage::Done(r) = std::mem::replace(stage, Stage::Taken) {
        // SAFETY: the join handle passes a pointer to its own
        // `Option<Result<T, Panic>>`.
        unsafe { *(out as *mut Option<Result<T, Panic>>) = Some(r) };
    }
}

/// # Safety
/// As for `read`, but only borrows.
unsafe fn panic_message<F, T>(h: NonNull<Header>) -> String {
    // SAFETY: caller contract.
    let task = unsafe { h.cast::<Task<F, T>>().as_ref() };
    // SAFETY: COMPLETE was observed; nobody takes the output concurrently.
    match unsafe { &*task.stage.get() } {
        Stage::Done(Err(p)) => p
            .message()
            .unwrap_or("<non-string panic payload>")
            .to_string(),
        _ => String::new(),
    }
}

/// # Safety
/// The last reference to `h` was just dropped.
unsafe fn dealloc<F, T>(h: NonNull<Header>) {
    let p = h.cast::<Task<F, T>>();
    // The closure or result first, on its own: user code whose `Drop` may
    // panic. Nobody can receive that panic (the result was never joined, or
    // the closure never ran), so it is reported like an unjoined panic
    // instead of unwinding into whoever dropped the last reference (a
    // worker, which would have to abort).
    // SAFETY: no references remain, so we have the stage to ourselves.
    let stage = unsafe { &mut *(*p.as_ptr()).stage.get() };
    // Only user values need the guard: a joined result is already taken,
    // and most results have no drop glue (this keeps `catch_unwind` off the
    // spawn path). Decided from the join bits, not by decoding the stage:
    // `complete` stores the stage before it sets `COMPLETE` (and `PANICKED`
    // exactly for `Done(Err)`), `take_output` sets `TAKEN` after taking it,
    // and both happened before the last reference was dropped (the
    // `Acquire` fence in `dec_ref`). No bit: it never ran (`Pending`).
    // SAFETY: the header is initialised until the drop below.
    let bits = unsafe { h.as_ref() }.join.load(Ordering::Relaxed);
    // The decision for each of the 32 bit patterns, made at compile time:
    // one shift and test at run time instead of a branch per bit.
    if const { user_drop_table::<F, T>() } >> (bits & 31) & 1 != 0 {
        drop_stage_guarded(h, stage);
    }
    // SAFETY: allocated and initialised by `new_task`; no references remain,
    // so we drop the contents and then give the block back.
    unsafe {
        std::ptr::drop_in_place(p.as_ptr());
        alloc::free_task(p.cast(), std::alloc::Layout::new::<Task<F, T>>());
    }
}

/// Whether `dealloc` must drop the stage under the guard, for each value of
/// the join bits (bit `i` of the result for bits `i`): a stored panic not
/// taken; a result not taken, if `T` has drop glue; the closure, if it
/// never ran (no bit) and `F` has drop glue. Evaluated at compile time.
const fn user_drop_table<F, T>() -> u32 {
    let mut table = 0u32;
    let mut bits = 0u8;
    while bits < 32 {
        let user_drop = if bits & PANICKED != 0 {
            bits & TAKEN == 0
        } else if bits & COMPLETE != 0 {
            std::mem::needs_drop::<T>() && bits & TAKEN == 0
        } else {
            std::mem::needs_drop::<F>()
        };
        if user_drop {
            table |= 1 << bits;
        }
        bits += 1;
    }
    table
}

/// Drops a task's stage (user values) under `catch_unwind`, reporting a
/// panic. Out of line, so that `dealloc` (every exit) keeps a small frame.
#[inline(never)]
fn drop_stage_guarded<F, T>(h: NonNull<Header>, stage: &mut Stage<F, T>) {
    let stage = std::mem::replace(stage, Stage::Taken);
    if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(move || drop(stage))) {
        // SAFETY: the header is still initialised (the caller drops it
        // after this returns).
        report_drop_panic(unsafe { h.as_ref() }, payload);
    }
}

/// Adds a reference.
#[inline]
pub(crate) fn inc_ref(h: NonNull<Header>) {
    // SAFETY: the caller holds a reference, so the header is live.
    let old = unsafe { h.as_ref() }.refs.fetch_add(1, Ordering::Relaxed);
    if old > isize::MAX as usize {
        std::process::abort();
    }
}

/// Drops a reference, freeing the task with the last one.
#[inline]
pub(crate) fn dec_ref(h: NonNull<Header>) {
    // SAFETY: the caller owns the reference it gives up, so the header is live.
    let hdr = unsafe { h.as_ref() };
    if hdr.refs.fetch_sub(1, Ordering::Release) == 1 {
        std::sync::atomic::fence(Ordering::Acquire);
        let dealloc = hdr.vtable.dealloc;
        // SAFETY: that was the last reference.
        unsafe { dealloc(h) };
    }
}

/// An owned reference to a coroutine (usually its run reference).
pub(crate) struct GRef(NonNull<Header>);

// SAFETY: a counted pointer to a `Header`, which is `Sync`; moving it to
// another thread moves one reference count, like `Arc<Header>`. The task's
// closure and output are `Send` (bounds on `new_task`) and its coroutine is
// `Send` (see `coro.rs`).
unsafe impl Send for GRef {}

impl GRef {
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we own a reference, so the header is live.
        unsafe { self.0.as_ref() }
    }
    #[inline]
    pub(crate) fn as_ptr(&self) -> NonNull<Header> {
        self.0
    }
    /// Gives up ownership without dropping the reference.
    #[inline]
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        ManuallyDrop::new(self).0
    }
    /// Takes back a reference given up with `into_raw` (or held by the state
    /// word for a `WAITING` coroutine).
    ///
    /// # Safety
    /// The caller owns one reference to `h` that nobody else will use.
    #[inline]
    pub(crate) unsafe fn from_raw(h: NonNull<Header>) -> GRef {
        GRef(h)
    }
    /// A new reference to the same coroutine.
    #[inline]
    pub(crate) fn clone_ref(&self) -> GRef {
        inc_ref(self.0);
        GRef(self.0)
    }

    /// Runs the coroutine's closure as its body (called on its own stack).
    ///
    /// # Safety
    /// Called once, by the trampoline, on this coroutine's stack.
    pub(crate) unsafe fn run_body(h: NonNull<Header>, y: YielderPtr) {
        // SAFETY: runner-only fields, and the caller is the runner.
        unsafe {
            *h.as_ref().yielder.get() = y;
            (h.as_ref().vtable.run)(h)
        }
    }

    /// Completes a coroutine that will never run (no stack).
    pub(crate) fn fail(&self, p: Panic) {
        // SAFETY: called by its runner before the first run.
        unsafe { (self.header().vtable.fail)(self.0, p) }
    }
}

impl Drop for GRef {
    #[inline]
    fn drop(&mut self) {
        dec_ref(self.0);
    }
}

/// A handle to a coroutine for introspection: its id and name.
///
/// Obtained with [`crate::current`] or [`crate::JoinHandle::coroutine`].
///
/// ```
/// goro::run(|| {
///     let me = goro::current().expect("on a coroutine");
///     assert_eq!(me.name(), Some("main"));
/// });
/// ```
pub struct Coroutine {
    g: GRef,
}

impl Coroutine {
    pub(crate) fn new(g: GRef) -> Self {
        Coroutine { g }
    }
    /// Process-unique id, starting at 1 (Go's goroutine id).
    pub fn id(&self) -> u64 {
        self.g.header().id
    }
    /// The name given with [`crate::Builder::name`], if any.
    pub fn name(&self) -> Option<&str> {
        self.g.header().name.as_deref()
    }
    /// Where it was spawned.
    pub fn spawn_location(&self) -> &'static Location<'static> {
        self.g.header().spawned_at
    }
    /// Usable bytes of its stack.
    pub fn stack_size(&self) -> usize {
        self.g.header().stack_size
    }
    /// Whether it is pinned to one worker thread.
    pub fn is_pinned(&self) -> bool {
        self.g.header().pin.load() != Pin::Anywhere
    }
}

impl Clone for Coroutine {
    fn clone(&self) -> Self {
        Coroutine::new(self.g.clone_ref())
    }
}

impl std::fmt::Debug for Coroutine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coroutine")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish()
    }
}

/// Converts a panic payload to a message, if it is a string.
pub(crate) fn payload_message(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(|s| s.as_str()))
}

#[cfg(test)]
mod layout {
    /// The header's size decides the task block's size class (multiples of
    /// 64 bytes, `alloc.rs`): the diagnostics fields must not push a small
    /// task (a closure capturing one pointer) into a bigger class.
    #[test]
    fn small_task_fits_four_lines() {
        assert!(
            std::mem::size_of::<super::Task<fn(), ()>>() <= 256,
            "{}",
            std::mem::size_of::<super::Task<fn(), ()>>()
        );
    }
}
