//! The waiter hook: the one way goro-chan (and everything built on it) blocks.
//!
//! Channels, `select!`, `WaitGroup`, join handles and the `sync` package all
//! need the same three things from whoever runs them: *who am I* (an
//! [`Unparker`] another party can use to wake me), *block me* (park, optionally
//! until a deadline) and *wake them* ([`Unparker::unpark`]). This module
//! defines that interface once, with a default implementation for plain OS
//! threads, and lets a runtime install its own ([`install`]): the goro runtime
//! installs one that parks the calling *coroutine* and frees its worker thread.
//! Because the decision is made per call (a thread that is not running a
//! coroutine always gets the thread implementation), threads and coroutines
//! can block on the same channel at the same time.
//!
//! # The protocol
//!
//! [`park`] takes a `validate` callback. The callback runs *after* the caller
//! has been marked as waiting — for a coroutine, on the worker's own stack
//! after the switch (Go's `gopark(unlockf)`); for a thread, right before it
//! blocks in the kernel. If `validate` returns `false` the caller does not
//! sleep. A waker that runs between the callback and the sleep is not lost:
//! both implementations keep a wake-up *token* (like
//! [`std::thread::park`]): an `unpark` that finds its target not yet asleep is
//! remembered and makes the next park return at once.
//!
//! Consequences every caller must respect:
//!
//! 1. **Spurious returns.** `park` may return without an `unpark` aimed at
//!    this wait (a stale token from an earlier wait, a timer that raced with a
//!    wake-up). Callers re-check their own condition in a loop.
//! 2. **Register, then validate.** A waiter publishes its [`Unparker`]
//!    (obtained with [`current`]) where wakers will find it, then parks with a
//!    `validate` that re-reads the condition. Wakers change the condition
//!    first, then call `unpark`. Either the validate sees the change, or the
//!    unpark comes after the mark and is kept as a token.
//! 3. **No lock held across a park.** `validate` may release a lock (it runs
//!    on the same OS thread that took it), but nothing may be held from before
//!    the park to after it.
//!
//! # Borrowed unparkers (rules B1–B3)
//!
//! [`current_borrowed`] lends an unparker that holds no reference to its
//! party, saving a reference-count increment and decrement per hand-off on
//! the hottest paths (a rendezvous, a select). It is sound only under three
//! rules, which every use cites:
//!
//! - **B1 (lifetime).** Every use of a borrowed unparker (`unpark`,
//!   `unpark_into`, `clone`, [`unpark_then`]) happens while its party is
//!   guaranteed to exist: the party waits for a signal that is published
//!   only inside [`unpark_then`] (after the last use), or cannot leave
//!   before the user releases a lock it holds.
//! - **B2 (spin, never park, for the signal).** A waiter that lent a
//!   borrowed unparker does not park while it waits for the signal it lent
//!   it for: it spins, yielding, until the signal is published (`zero.rs`,
//!   `spin_while`). Its one wake-up may come before the signal, and nobody
//!   will wake it a second time.
//! - **B3 (convert before release).** A claimer that cannot publish the
//!   signal inside [`unpark_then`] turns the borrowed unparker into an owned
//!   one (`clone`) while the waiter still cannot leave (under the lock of
//!   the list it is linked in), and uses the clone (`context.rs`,
//!   `disconnect_all`).
//!
//! Whether it pays is measured, not assumed: on 2026-12-02 a variant in
//! which every entry took an owned unparker ([`current`]) made pingpong's
//! round trip 11–17% slower at 1, 2 and 4 workers (skynet and select did
//! not move), so the rules stay (goro's `docs/benchmarks.md`, "Borrowed
//! unparkers, re-measured"). Re-measure before building on them further.
//!
//! # Alternatives rejected
//!
//! * *Generation-checked wake-ups* (an unpark that only counts for one
//!   particular wait) would remove spurious returns, but every caller already
//!   has a condition to loop on, and tokens make thread and coroutine
//!   implementations identical.
//! * *A trait object for the hook*: a static table of six `fn` pointers
//!   ([`Hook`]) costs the same and cannot be half-installed.
//! * `Unparker` is a newtype over [`std::task::Waker`] rather than a bespoke
//!   raw vtable: the standard type already is a `Send + Sync` clonable
//!   (data, vtable) pair, and it lets async code be woken the same way.

use std::fmt;
use std::sync::OnceLock;
use std::task::{Wake, Waker};
use std::time::Instant;

use crate::loom::thread;

/// A handle that wakes one parked party: a coroutine or an OS thread.
///
/// Obtained with [`current`]; cheap to clone (a reference count). Waking a
/// party that is not parked leaves it a token: its next [`park`] returns at
/// once.
///
/// ```
/// use goro_chan::waiter;
/// let me = waiter::current();
/// let t = std::thread::spawn(move || me.unpark());
/// // Returns once the other thread has unparked us (or spuriously: loop on a
/// // condition in real code).
/// waiter::park("example", None, || true);
/// t.join().unwrap();
/// ```
#[derive(Clone)]
pub struct Unparker {
    waker: Waker,
}

impl Unparker {
    /// Wraps a waker. The runtime builds coroutine unparkers this way.
    pub fn from_waker(waker: Waker) -> Self {
        Unparker { waker }
    }

    /// Wakes the party this handle refers to.
    #[inline]
    pub fn unpark(&self) {
        self.waker.wake_by_ref();
    }

    /// Wakes the party, consuming the handle (saves a reference-count
    /// round trip).
    #[inline]
    pub fn unpark_into(self) {
        self.waker.wake();
    }

    /// Whether both handles wake the same party.
    pub fn same_party(&self, other: &Unparker) -> bool {
        self.waker.will_wake(&other.waker)
    }

    /// The underlying waker.
    pub fn as_waker(&self) -> &Waker {
        &self.waker
    }
}

impl fmt::Debug for Unparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unparker").finish_non_exhaustive()
    }
}

/// How a runtime blocks the callers it runs. See [`install`].
#[derive(Clone, Copy)]
pub struct Hook {
    /// The running coroutine's unparker, or `None` when the caller is not a
    /// coroutine of this runtime (it then gets the thread implementation).
    pub current: fn() -> Option<Unparker>,
    /// Parks the running coroutine: marks it waiting, runs `validate` (after
    /// the mark), and unless it returned `false` sleeps until unparked or
    /// until `deadline`. Returns `false` without doing anything when the
    /// caller is not a coroutine of this runtime.
    pub park: fn(
        reason: &'static str,
        deadline: Option<Instant>,
        validate: &mut dyn FnMut() -> bool,
    ) -> bool,
    /// Yields the running coroutine to others on its worker. Returns
    /// `false` when the caller is not a coroutine of this runtime.
    pub yield_now: fn() -> bool,
    /// Like `current`, but the unparker holds no reference of its own (see
    /// [`current_borrowed`]): cloning it gives an ordinary one, dropping it
    /// does nothing.
    pub current_borrowed: fn() -> Option<Unparker>,
    /// Wakes the party behind `u` in three steps: mark it runnable (after
    /// which it cannot vanish: the waker owns its run reference, or it is
    /// running and left a token), run `then`, schedule it. Returns `false`
    /// without doing anything if `u` is not one of this runtime's.
    pub wake_then: fn(u: &Unparker, then: &mut dyn FnMut()) -> bool,
    /// Whether the caller, about to park, may spin briefly first (it is
    /// worth it only if whatever it waits for can happen meanwhile on
    /// another CPU, and nothing else wants this one). Asked for coroutines
    /// and threads alike.
    pub can_spin: fn() -> bool,
}

static HOOK: OnceLock<Hook> = OnceLock::new();

/// Installs the runtime's hook. Only one runtime per process can install
/// one; a second call returns `false` and changes nothing.
pub fn install(hook: Hook) -> bool {
    let mut installed = false;
    HOOK.get_or_init(|| {
        installed = true;
        hook
    });
    installed
}

/// The installed hook: one acquire load once it is set (every park and
/// wake-up asks).
#[inline]
fn hook() -> Option<&'static Hook> {
    HOOK.get()
}

struct ThreadWake(thread::Thread, crate::sleepers::Sleep);

impl Wake for ThreadWake {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.1.wake();
        self.0.unpark();
    }
}

struct ThreadParty {
    wake: std::sync::Arc<ThreadWake>,
    unparker: Unparker,
}

crate::loom::thread_local! {
    static THREAD_PARTY: ThreadParty = {
        let wake = std::sync::Arc::new(ThreadWake(thread::current(), crate::sleepers::Sleep::new()));
        ThreadParty { unparker: Unparker::from_waker(Waker::from(wake.clone())), wake }
    };
}

pub use crate::sleepers::{parked_threads, set_sleep_observer};

/// Whether a party about to park may spin briefly first: the runtime's
/// answer when one is installed, otherwise whether the machine has more
/// than one CPU. Never under loom (a spin there only multiplies the
/// interleavings).
pub(crate) fn can_spin() -> bool {
    if cfg!(loom) {
        return false;
    }
    match hook() {
        Some(h) => (h.can_spin)(),
        None => multicore(),
    }
}

/// Whether the machine has more than one CPU: asked once (it is a system
/// call), then a load. The runtime's `can_spin` starts from it too.
#[inline]
pub fn multicore() -> bool {
    static MULTICORE: OnceLock<bool> = OnceLock::new();
    *MULTICORE.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

/// The caller's own unparker: the running coroutine's when called on one,
/// otherwise the calling thread's.
#[inline]
pub fn current() -> Unparker {
    if let Some(h) = hook() {
        if let Some(u) = (h.current)() {
            return u;
        }
    }
    thread_unparker()
}

/// Wakes `u`'s party and runs `then` at the point where the party can no
/// longer disappear: after it is marked runnable (or, if it was not parked,
/// given a wake-up token), before it is scheduled. Use it to publish the
/// signal a waiter waits for, after the last use of a borrowed unparker
/// ([`current_borrowed`]). A parked waiter runs only after `then`; one that
/// was still running may see the state from before `then`: a waiter that
/// parks for the signal is woken again after `then` (owned unparkers), one
/// with a borrowed unparker must spin for it instead of parking. For a
/// plain thread, `then` runs first and the thread is unparked after.
#[inline]
pub fn unpark_then(u: Unparker, then: impl FnOnce()) {
    let mut then = Some(then);
    let mut f = || {
        if let Some(t) = then.take() {
            t();
        }
    };
    if let Some(h) = hook()
        && (h.wake_then)(&u, &mut f)
    {
        return;
    }
    f();
    u.unpark_into();
}

/// An unparker for the caller that does not keep the caller alive: it
/// saves the reference-count round trip of [`current`] on the hottest
/// hand-off paths. Its clones are ordinary (counted) unparkers.
///
/// # Safety
///
/// The caller and every user of the unparker follow rules B1–B3 (module
/// docs): it is used only while the caller exists, the caller spins rather
/// than parks for the signal, and a claimer that cannot publish inside
/// [`unpark_then`] converts it to an owned unparker first.
#[inline]
pub unsafe fn current_borrowed() -> Unparker {
    if let Some(h) = hook() {
        if let Some(u) = (h.current_borrowed)() {
            return u;
        }
    }
    thread_unparker()
}

/// `#[inline(never)]` so that a thread-local address computed here can never
/// be reused by a caller across a coroutine switch (see goro's
/// `docs/safety.md`).
#[inline(never)]
fn thread_unparker() -> Unparker {
    THREAD_PARTY.with(|p| p.unparker.clone())
}

/// Blocks the caller (a coroutine parks, a thread sleeps) until unparked,
/// until `deadline` passes, or spuriously; see the module docs for the
/// protocol. `validate` runs after the caller is marked waiting; if it
/// returns `false` the call returns without sleeping. `reason` names the wait
/// in diagnostics ("chan receive", "sync.Mutex.Lock", ...).
#[inline]
pub fn park(reason: &'static str, deadline: Option<Instant>, validate: impl FnOnce() -> bool) {
    let mut validate = Some(validate);
    let mut v = move || validate.take().is_some_and(|f| f());
    if let Some(h) = hook() {
        if (h.park)(reason, deadline, &mut v) {
            return;
        }
    }
    park_thread(deadline, &mut v);
}

/// Lets others run: yields the running coroutine (it is requeued), or the
/// OS thread when not on a coroutine. Used by spin-then-yield loops that
/// wait for a peer in the middle of a short critical step.
pub fn yield_now() {
    if let Some(h) = hook() {
        if (h.yield_now)() {
            return;
        }
    }
    thread::yield_now();
}

/// Waiting for a party in the middle of a step of a few instructions (a
/// sender writing the slot it claimed, a receiver moving a message out):
/// spin with growing pauses, then yield, so that the party runs even when
/// it shares our worker or CPU (rule L1 of `array.rs`; `select.rs`). Never spins under loom.
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    /// Spin steps (2^step pauses each) before yielding.
    const SPIN_STEPS: u32 = 6;

    #[inline]
    pub(crate) fn new() -> Self {
        Backoff { step: 0 }
    }

    #[cold]
    pub(crate) fn snooze(&mut self) {
        if self.step < Self::SPIN_STEPS && !cfg!(loom) {
            for _ in 0..1u32 << self.step {
                std::hint::spin_loop();
            }
            self.step += 1;
        } else {
            yield_now();
        }
    }
}

#[inline(never)]
fn park_thread(deadline: Option<Instant>, validate: &mut dyn FnMut() -> bool) {
    match deadline {
        None => {
            if validate() {
                // Counted asleep (goro's deadlock check) while blocked.
                let me = THREAD_PARTY.with(|p| p.wake.clone());
                if me.1.fall_asleep() {
                    thread::park();
                    me.1.woke();
                }
            }
        }
        Some(d) => {
            let now = Instant::now();
            if d > now && validate() {
                park_timeout(d - now);
            }
        }
    }
}

#[cfg(not(loom))]
fn park_timeout(d: std::time::Duration) {
    std::thread::park_timeout(d);
}

#[cfg(loom)]
fn park_timeout(_: std::time::Duration) {
    // loom has no clock; models only use untimed parks, and a spurious
    // return is always allowed.
}

/// Lending an unparker to wait-list entries: while [`with_lent`] runs, new
/// non-exclusive entries (`context.rs`, `Entry::new`) carry the lent
/// unparker instead of the caller's own. An async receive (`future.rs`)
/// registers this way with its task's relay waker; nothing else lends.
/// (A plain `std` thread-local: loom models never lend.)
mod lend {
    use std::cell::Cell;

    use super::Unparker;

    std::thread_local! {
        static LENT: Cell<*const Unparker> = const { Cell::new(std::ptr::null()) };
    }

    /// The lent unparker (a clone), if a [`with_lent`] call is running on
    /// this thread.
    #[inline]
    pub(crate) fn lent() -> Option<Unparker> {
        let p = LENT.with(Cell::get);
        // SAFETY: non-null only while `with_lent` runs on this thread, and
        // its argument outlives that call.
        (!p.is_null()).then(|| unsafe { (*p).clone() })
    }

    /// Runs `f` with `u` lent to the entries it creates.
    pub(crate) fn with_lent<R>(u: &Unparker, f: impl FnOnce() -> R) -> R {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                LENT.with(|c| c.set(std::ptr::null()));
            }
        }
        LENT.with(|c| c.set(u as *const Unparker));
        let _reset = Reset;
        f()
    }
}
pub(crate) use lend::{lent, with_lent};

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn token_survives_unpark_before_park() {
        let me = current();
        me.unpark();
        // Must return at once: the token is kept.
        park("test", None, || true);
    }

    #[test]
    fn validate_false_does_not_sleep() {
        park("test", None, || false);
    }

    #[test]
    fn deadline_returns() {
        let t = Instant::now();
        let d = t + Duration::from_millis(20);
        while Instant::now() < d {
            park("test", Some(d), || true);
        }
        assert!(t.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn cross_thread_wake() {
        let flag = Arc::new(AtomicUsize::new(0));
        let me = current();
        let f2 = flag.clone();
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            f2.store(1, Ordering::Release);
            me.unpark_into();
        });
        while flag.load(Ordering::Acquire) == 0 {
            park("test", None, || flag.load(Ordering::Acquire) == 0);
        }
        h.join().unwrap();
    }

    #[test]
    fn same_party() {
        let a = current();
        let b = current();
        assert!(a.same_party(&b));
        let other = std::thread::spawn(current).join().unwrap();
        assert!(!a.same_party(&other));
    }
}
