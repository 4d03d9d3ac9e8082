//! A worker thread: finds a runnable coroutine, runs it until it yields,
//! parks or returns, and repeats. The policy (queues, spinning, sleeping)
//! is described in `sched/mod.rs`; this file is its implementation.
//!
//! # Thread-local access (migration rule 3, `g/coro.rs`)
//!
//! A worker's private state ([`Ctx`]) is reached through one thread-local
//! pointer, read by the `#[inline(never)]` accessor [`ctx`]. Coroutine code
//! may change threads at every blocking call, and LLVM assumes a function
//! stays on one thread, so it would happily reuse a TLS address computed
//! before the switch. Calling an opaque function after every switch defeats
//! that. Rule: **never keep a `&Ctx` across a switch** — re-fetch it.
//!
//! # What runs on which stack
//!
//! The loop and park callbacks run on the worker's own (OS thread) stack;
//! coroutine code runs on its slab stack. `Ctx::execute` is the only place
//! that switches into a coroutine.

use std::cell::{Cell, RefCell};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering, fence};
use std::time::Duration;

use crossbeam_deque::{Steal, Worker};

use super::ready::ready;
use super::timers::Entry;
use super::{Hint, ID_BATCH, RUNNEXT_STREAK, Runtime, Slot};
use crate::g::coro::{Coro, Switch};
use crate::g::overflow;
use crate::g::registry::{self, Exit};
use crate::g::stack::StackCache;
use crate::g::state::Commit;
use crate::g::{GRef, Header, Panic, Pin};

mod steal;

/// How long a spinner lingers before sleeping (the OS rounds it up by its
/// timer slack, typically to ~60 µs).
const LINGER: Duration = Duration::from_micros(10);
/// Most coroutines a worker takes from its timer queue in a row before one
/// from its local queue.
const TIMER_STREAK: u32 = 8;

/// Scheduling ticks between two fairness ticks (Go's 61: prime, so it does
/// not fall into step with a workload's own period). Tested as a modulo:
/// an equality with a "next fairness tick" cell was tried and lost every
/// fairness tick after the first one that fell on a tick where the pinned
/// inbox returned first (`docs/benchmarks.md`, 2026-12-03 second pass).
const FAIRNESS_PERIOD: u32 = 61;

/// A worker's private state. Lives (leaked) as long as its thread, which
/// never exits; `!Sync`, so only its own thread touches it.
pub(crate) struct Ctx {
    pub(crate) index: usize,
    pub(crate) rt: &'static Runtime,
    pub(crate) slot: &'static Slot,
    local: Worker<GRef>,
    /// Coroutines woken by their timers (FIFO, stealable).
    timer_ready: Worker<GRef>,
    /// The coroutine being run (between resume and its switch back), or
    /// null: the worker's one published word per switch, tagged with
    /// `registry::UNLISTED_TAG` during a first run (`g/registry.rs` rule R4). Only
    /// this thread stores it; the monitor and the dump load it through
    /// `ProcState::running` (which points here) and dereference it only as
    /// rule R4 allows (`sched/mod.rs`, "The running word").
    current: AtomicPtr<Header>,
    /// The scheduling tick, private copy: `Slot::tick` is its published
    /// mirror (thieves read it), kept in sync by a store per tick. Reading
    /// the private copy keeps the tick off a line other threads write
    /// (`Slot::unpark` sets `wake_pending` next to it).
    tick: Cell<u32>,
    streak: Cell<u32>,
    /// Coroutines taken from `timer_ready` in a row (see `pop_local`).
    timer_streak: Cell<u32>,
    /// `timer_ready` may hold something. Only this worker adds to it (a
    /// timer wake-up, or a batch stolen into it) and sets this at the same
    /// time; thieves only take from it. So `timer_ready` non-empty implies
    /// this is set, and `pop_local` skips the empty queue's pop (a call
    /// into crossbeam that the compiler may or may not inline) with one
    /// load; it clears it when a pop finds the queue empty.
    timer_queued: Cell<bool>,
    spinning: Cell<bool>,
    rng: RefCell<fastrand::Rng>,
    stacks: RefCell<StackCache>,
    /// Coroutine ids reserved for this worker: `[next, end)`.
    ids: Cell<(u64, u64)>,
    timer_buf: RefCell<Vec<Entry>>,
}

std::thread_local! {
    static CTX: Cell<*const Ctx> = const { Cell::new(ptr::null()) };
}

/// The current thread's worker state, if it is a worker.
///
/// `#[inline(never)]` on purpose: see the module docs. Do not hold the
/// result across a coroutine switch.
#[inline(never)]
pub(crate) fn ctx() -> Option<&'static Ctx> {
    let p = CTX.with(|c| c.get());
    // SAFETY: a non-null pointer was set by `start` on this thread to a
    // leaked `Ctx` that is never freed.
    unsafe { p.as_ref() }
}

/// The coroutine running on this thread, if any.
#[inline]
pub(crate) fn current() -> Option<(&'static Ctx, NonNull<Header>)> {
    let c = ctx()?;
    Some((c, c.running()?))
}

/// [`Ctx::list_running`] on the current worker: for a coroutine that
/// `try_spawn` gave a stack early, at its first resume.
pub(crate) fn list_running(h: NonNull<Header>) {
    ctx()
        .expect("a running coroutine is on a worker")
        .list_running(h);
}

/// Aborts the process if a worker's own code panics: the runtime's
/// invariants would be broken and coroutines would hang silently otherwise.
struct AbortOnPanic(usize);

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            report!(
                "goro: worker {} panicked outside any coroutine; this is a goro bug; aborting",
                self.0
            );
            std::process::abort();
        }
    }
}

/// Starts the thread of slot `index`, named `goro-<role>-<index>`.
pub(crate) fn start(rt: &'static Runtime, index: usize, role: &str) -> std::io::Result<()> {
    let slot = &rt.slots[index];
    let local = Worker::new_fifo();
    let _ = slot.stealer.set(local.stealer());
    let timer_ready = Worker::new_fifo();
    let _ = slot.timer_stealer.set(timer_ready.stealer());
    let handle = std::thread::Builder::new()
        .name(format!("goro-{role}-{index}"))
        .spawn(move || {
            let _abort = AbortOnPanic(index);
            // Listed as goro's own for the deadlock check (`deadlock.rs`
            // says why a worker can be, although it runs user code).
            let _own = crate::g::registry::OwnThread::register();
            let _ = slot.thread.set(std::thread::current());
            #[cfg(target_os = "linux")]
            // SAFETY: gettid has no preconditions.
            slot.proc
                .tid
                .store(unsafe { libc::gettid() }, Ordering::Relaxed);
            overflow::ensure_altstack();
            let ctx: &'static Ctx = Box::leak(Box::new(Ctx {
                index,
                rt,
                slot,
                local,
                timer_ready,
                current: AtomicPtr::new(ptr::null_mut()),
                tick: Cell::new(0),
                streak: Cell::new(0),
                timer_streak: Cell::new(0),
                timer_queued: Cell::new(false),
                spinning: Cell::new(false),
                rng: RefCell::new(fastrand::Rng::with_seed(
                    0x9e37_79b9_7f4a_7c15 ^ index as u64,
                )),
                stacks: RefCell::new(StackCache::new(rt.config.stack_size)),
                ids: Cell::new((0, 0)),
                timer_buf: RefCell::new(Vec::new()),
            }));
            // The running word is published where the monitor and the
            // dump can find it (the `Ctx` is leaked, so it never moves).
            let _ = slot.proc.running.set(&ctx.current);
            CTX.with(|c| c.set(ctx));
            ctx.run();
        });
    handle.map(drop)
}

impl Ctx {
    /// The coroutine this worker is running, if any.
    #[inline]
    pub(crate) fn running(&self) -> Option<NonNull<Header>> {
        NonNull::new(registry::untag(self.current.load(Ordering::Relaxed)))
    }

    /// Lists `h`, the coroutine this worker is running, in its registry
    /// (`g/registry.rs`): at its first park or yield, by the worker after
    /// the switch and before the park commits or the yield queues it, or
    /// by `h` itself at its first resume if `try_spawn` gave it a stack
    /// early; either way on the worker thread that runs it (rule R1: the
    /// list's owner). Clears the running word's tag (rule R4). No sweep
    /// here (a coroutine is running, or we are on its stack: a task
    /// destructor run by a sweep could park): the next fairness tick on
    /// this worker does it.
    #[cold]
    pub(crate) fn list_running(&self, h: NonNull<Header>) {
        // SAFETY: `h` is the running coroutine: its runner holds the run
        // reference.
        let hdr = unsafe { h.as_ref() };
        // Index plus one: 0 is `UNLISTED_HOME`.
        hdr.reg_home.store(self.index as u16 + 1, Ordering::Relaxed);
        self.slot.registry.push_no_sweep(h);
        self.current.store(h.as_ptr(), Ordering::Relaxed);
    }

    /// Whether this worker holds a processor (`monitor.rs` rule M1).
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.slot.proc.active.load(Ordering::Relaxed)
    }

    pub(crate) fn next_id(&self, rt: &Runtime) -> u64 {
        let (mut next, mut end) = self.ids.get();
        if next == end {
            next = rt.next_id(ID_BATCH);
            end = next + ID_BATCH;
        }
        self.ids.set((next + 1, end));
        next
    }

    /// Queues a runnable coroutine on this worker.
    #[inline]
    pub(crate) fn push_local(&self, g: GRef, hint: Hint) {
        match hint {
            Hint::Next => {
                let new = g.into_raw().as_ptr();
                // Only the owner makes runnext non-null, so if it is null now
                // nobody else can fill it: a plain store will do.
                if self.slot.runnext.load(Ordering::Relaxed).is_null() {
                    self.slot.runnext.store(new, Ordering::Release);
                    return;
                }
                let old = self.slot.runnext.swap(new, Ordering::AcqRel);
                if let Some(old) = NonNull::new(old) {
                    // SAFETY: runnext held that run reference; the swap gave it to us.
                    self.local.push(unsafe { GRef::from_raw(old) });
                }
            }
            Hint::Back => self.local.push(g),
            Hint::Timer => {
                self.timer_queued.set(true);
                self.timer_ready.push(g);
            }
        }
    }

    fn run(&self) -> ! {
        loop {
            let g = self.find_runnable();
            if self.spinning.get() {
                self.reset_spinning();
            }
            self.execute(g);
        }
    }

    /// The scheduling decision. The per-tick part (timers, the pinned
    /// inbox every other tick, the fairness tick, the local queues) is
    /// inline here; looking elsewhere (and retiring, and sleeping) is out
    /// of line in [`Ctx::find_elsewhere`], so that the common path keeps a
    /// small frame.
    #[inline]
    fn find_runnable(&self) -> GRef {
        loop {
            if self.is_active() {
                let t = self.tick.get().wrapping_add(1);
                self.tick.set(t);
                self.slot.tick.store(t, Ordering::Relaxed);

                if self.rt.timers.maybe_due() {
                    self.run_timers();
                }
                // Pinned coroutines can run only here: they go first on every
                // other tick, and whenever the local queue is empty. Always
                // first, a pinned coroutine yielding in a loop would starve
                // this worker's timers and queue for good.
                if t & 1 == 1
                    && let Some(g) = self.slot.pop_pinned()
                {
                    return g;
                }
                if t % FAIRNESS_PERIOD == 0
                    && let Some(g) = self.fairness_tick()
                {
                    return g;
                }
                if let Some(g) = self.pop_local() {
                    return g;
                }
            }
            if let Some(g) = self.find_elsewhere() {
                return g;
            }
        }
    }

    /// Every [`FAIRNESS_PERIOD`]th tick: housekeeping, and a look at the global queue and
    /// the poller even while the local queue has work.
    #[inline(never)]
    fn fairness_tick(&self) -> Option<GRef> {
        // Finished coroutines' tasks (`g/registry.rs`).
        self.slot.registry.tidy(false);
        // Stack failures since the last summary line (checked here
        // rather than at every first run: off the spawn path).
        super::stack_failures::summarize_if_any();
        // Fairness: the global queue, and I/O readiness while busy.
        if let Some(p) = self.rt.poller_if_started() {
            p.poll(Some(Duration::ZERO));
        }
        self.steal_global()
    }

    /// Nothing local: a retired worker serves its inbox; an active one
    /// looks at the pinned inbox, the global queue, retaken workers and
    /// (spinning) the others, polls, and sleeps. `None`: look again from
    /// the top (`find_runnable`).
    #[inline(never)]
    fn find_elsewhere(&self) -> Option<GRef> {
        let rt = self.rt;
        if !self.is_active() {
            return self.retired();
        }
        if let Some(g) = self.slot.pop_pinned() {
            return Some(g);
        }
        if let Some(g) = self.steal_global() {
            return Some(g);
        }
        if rt.monitor.stuck.load(Ordering::Relaxed) != 0
            && let Some(g) = self.steal_retaken()
        {
            return Some(g);
        }
        if self.spinning.get() || self.try_spin() {
            if let Some(g) = self.steal_others() {
                return Some(g);
            }
            if let Some(g) = self.linger() {
                return Some(g);
            }
        }
        if let Some(p) = rt.poller_if_started()
            && p.poll(Some(Duration::ZERO)).is_some_and(|n| n > 0)
        {
            return None;
        }
        self.sleep();
        rt.monitor.kick();
        None
    }

    fn run_timers(&self) {
        let n = self.rt.nstarted.load(Ordering::Acquire);
        let mut buf = self.timer_buf.borrow_mut();
        let lowered = self
            .rt
            .timers
            .run_due(self.rt.slots[..n].iter().map(|s| &s.timers), &mut buf);
        if lowered {
            self.rt.wake_for_timers();
        }
        for e in buf.drain(..) {
            if let Some(g) = e.fire() {
                // SAFETY: `g` is the entry's reference, so the header is live.
                unsafe { ready(g.as_ptr(), Hint::Timer) };
            }
        }
    }

    fn pop_local(&self) -> Option<GRef> {
        if let Some(g) = self.slot.take_runnext() {
            let s = self.streak.get();
            if s < RUNNEXT_STREAK || self.local.is_empty() {
                self.streak.set(s + 1);
                return Some(g);
            }
            // Let the rest of the queue run before this pair goes on.
            self.local.push(g);
        }
        self.streak.set(0);
        // Nothing woken by a timer (the common case): the local queue, with
        // one test. `timer_streak` is 0 then (see `pop_timer_ready`).
        if !self.timer_queued.get() {
            return self.local.pop();
        }
        // Timer wake-ups are due already and go first, but at most
        // `TIMER_STREAK` in a row: a coroutine looping on `sleep(1ns)` is
        // back in `timer_ready` at every round and would otherwise starve
        // the local queue forever.
        let t = self.timer_streak.get();
        if t < TIMER_STREAK
            && let Some(g) = self.pop_timer_ready()
        {
            self.timer_streak.set(t + 1);
            return Some(g);
        }
        self.timer_streak.set(0);
        self.local.pop().or_else(|| self.pop_timer_ready())
    }

    /// Pops `timer_ready`, skipping the call when it is known empty (see
    /// `timer_queued`). Clearing `timer_queued` also ends the timer streak,
    /// so `timer_streak` is 0 whenever `timer_queued` is false (only a
    /// timer pop raises it): `pop_local` relies on it.
    #[inline]
    fn pop_timer_ready(&self) -> Option<GRef> {
        if !self.timer_queued.get() {
            return None;
        }
        let g = self.timer_ready.pop();
        if g.is_none() {
            self.timer_queued.set(false);
            self.timer_streak.set(0);
        }
        g
    }

    fn steal_global(&self) -> Option<GRef> {
        loop {
            match self.rt.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(g) => return Some(g),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }

    /// Becomes a spinner if fewer than half the busy workers spin.
    fn try_spin(&self) -> bool {
        let spin = self
            .rt
            .idle
            .try_spin(self.rt.nprocs.load(Ordering::Relaxed));
        self.spinning.set(spin);
        spin
    }

    /// Stops spinning after finding work; the last spinner wakes another
    /// (`idle.rs` rule 5: there is often more where that came from).
    fn reset_spinning(&self) {
        self.spinning.set(false);
        if self.rt.idle.stop_spinning() {
            self.rt.wakep(true);
        }
    }

    /// Puts the worker to sleep until there is work (see the module docs of
    /// `sched` for why the recheck makes this safe).
    fn sleep(&self) {
        let rt = self.rt;
        let was_spinning = self.spinning.replace(false);
        if was_spinning {
            rt.idle.stop_spinning();
        }
        // Free finished coroutines' tasks before sleeping (`g/registry.rs`).
        self.slot.registry.tidy(true);
        // `idle.rs` rule 1: publish, fence, recheck.
        if !rt.idle.push(self.index, || self.is_active()) {
            return; // retired meanwhile
        }
        fence(Ordering::SeqCst);
        if rt.has_work(self.index) {
            if rt.idle.remove(self.index) {
                if was_spinning {
                    rt.idle.resume_spinning();
                    self.spinning.set(true);
                }
                return;
            }
            // Somebody popped us from the idle list to wake us: fall through
            // to adopt what they set (their unpark token is harmless).
        } else {
            match rt.timers.try_sleeper(self.index) {
                Some(mut timeout) => {
                    if timeout.is_none() {
                        timeout = super::deadlock::on_worker_idle(rt);
                    }
                    // The timer sleeper is also the netpoller (if any socket
                    // was ever registered): it blocks in epoll until the next
                    // timer, I/O readiness, or a wake-up.
                    if timeout != Some(Duration::ZERO) {
                        self.slot.proc.parked.store(true, Ordering::Relaxed);
                        self.block(timeout);
                        self.slot.proc.parked.store(false, Ordering::Relaxed);
                    }
                    rt.timers.stop_sleeping();
                }
                None => {
                    self.slot.proc.parked.store(true, Ordering::Relaxed);
                    match super::deadlock::on_worker_idle(rt) {
                        Some(d) => std::thread::park_timeout(d),
                        None => std::thread::park(),
                    }
                    self.slot.proc.parked.store(false, Ordering::Relaxed);
                }
            }
        }
        rt.idle.remove(self.index);
        if self.slot.woken.swap(false, Ordering::SeqCst) {
            // `wakep` counted us as a spinner before waking us.
            self.spinning.set(true);
        }
    }

    /// Blocks the timer sleeper up to `timeout`: in the netpoller when there
    /// is one, else on the futex. A wake-up aimed at this worker either sees
    /// `in_poll` and kicks the poller, or sets `wake_pending` before we look
    /// at it (both `SeqCst`, so one side sees the other).
    fn block(&self, timeout: Option<Duration>) {
        let Some(poller) = self.rt.poller_if_started() else {
            match timeout {
                Some(d) => std::thread::park_timeout(d),
                None => std::thread::park(),
            }
            return;
        };
        self.slot.in_poll.store(true, Ordering::SeqCst);
        if !self.slot.wake_pending.swap(false, Ordering::SeqCst) && poller.poll(timeout).is_none() {
            // A busy worker holds the poll for a moment (a non-blocking
            // poll): sleep on the futex instead; it will deliver.
            match timeout {
                Some(d) => std::thread::park_timeout(d.min(Duration::from_millis(1))),
                None => std::thread::park_timeout(Duration::from_millis(1)),
            }
        }
        self.slot.in_poll.store(false, Ordering::SeqCst);
    }

    /// A retired worker (index >= GOMAXPROCS): hand queued work to the
    /// others, then serve only its pinned inbox until it is needed again.
    fn retired(&self) -> Option<GRef> {
        let rt = self.rt;
        // `idle.rs` rule 5: the last spinner leaving must wake the next, or
        // work whose producer saw it spinning (and woke nobody) is stranded
        // while the active workers sleep.
        if self.spinning.replace(false) && rt.idle.stop_spinning() {
            rt.wakep(true);
        }
        let mut moved = false;
        while let Some(g) = self
            .slot
            .take_runnext()
            .or_else(|| self.timer_ready.pop())
            .or_else(|| self.local.pop())
        {
            rt.injector.push(g);
            moved = true;
        }
        if moved {
            rt.wakep(true);
        }
        if self.slot.proc.retaken.swap(false, Ordering::SeqCst) {
            // M3: drained; thieves may stop looking here.
            rt.monitor.stuck.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(g) = self.slot.pop_pinned() {
            return Some(g);
        }
        if !self.is_active() {
            // Free finished coroutines' tasks first (`g/registry.rs`): a
            // coroutine that exited here after its worker was retaken is
            // in this slot's popped array, and this thread may sleep long.
            self.slot.registry.tidy(true);
            // A spare now (M4): the monitor may give it a processor.
            self.slot.proc.parked.store(true, Ordering::SeqCst);
            if !self.is_active() && self.slot.pinned_len.load(Ordering::SeqCst) == 0 {
                std::thread::park();
            }
            self.slot.proc.parked.store(false, Ordering::SeqCst);
            rt.monitor.kick();
        }
        None
    }

    /// Runs `g` until it parks, yields or finishes: binds a first-run pin,
    /// gives it a context on its first run, resumes it, and hands each kind
    /// of switch to its own step.
    fn execute(&self, g: GRef) {
        // SAFETY: we hold the run reference until we hand it on (to a queue,
        // to the state word, or by dropping it), and `h` is not used after.
        let h: &Header = unsafe { g.as_ptr().as_ref() };
        if h.pin.load() == Pin::OnFirstRun {
            // Pin rule 1: the first runner binds it.
            h.pin.store(Pin::Worker(self.index));
        }
        // SAFETY: state rule 1: we hold the run reference (we took it from a
        // run queue), so this worker is the only one touching the context.
        let slot = unsafe { &mut *h.coro.get() };
        // The one published store per switch (`sched/mod.rs`, "The running
        // word"): `current()`, the monitor and the dump all read it. A first
        // run is not listed until it first switches out (`g/registry.rs`),
        // so its word is tagged (rule R4). (A coroutine that `try_spawn` gave
        // a stack early lists itself at its first resume: `list_running`.)
        // An integer `|`: `map_addr` would cost a subtraction and an
        // addition more; the word is only compared, or stripped back to this
        // same pointer (`registry::untag`).
        let p = g.as_ptr().as_ptr();
        let word = if slot.is_none() {
            if !self.first_run(&g, slot) {
                return;
            }
            (p as usize | registry::UNLISTED_TAG) as *mut Header
        } else {
            p
        };
        let coro = slot.as_mut().expect("coroutine context exists");
        self.current.store(word, Ordering::Relaxed);
        overflow::enter(coro.guard(), g.as_ptr());
        loop {
            let switch = coro.resume();
            // Its first switch-out (a park or a yield) lists it, here,
            // before the park commits or it is queued again (after that
            // another worker may run it, and rule R4 needs it listed where
            // it first ran).
            if switch.is_some() && registry::unlisted(h) {
                self.list_running(g.as_ptr());
            }
            match switch {
                Some(Switch::Park(cb)) => {
                    // SAFETY: the callback was made by `park_current` on the
                    // coroutine's stack, which stays untouched until we
                    // resume it (state rule 2).
                    if unsafe { self.on_park(h, cb) } {
                        // The run reference now belongs to the state word;
                        // another worker may already be running `g`.
                        std::mem::forget(g);
                        break;
                    }
                }
                Some(Switch::Yield) => {
                    self.on_yield(g);
                    break;
                }
                None => {
                    // R4: the running word is cleared before the run
                    // reference can go (`on_exit`).
                    overflow::leave();
                    self.current.store(ptr::null_mut(), Ordering::Relaxed);
                    self.on_exit(g, slot);
                    return;
                }
            }
        }
        overflow::leave();
        self.current.store(ptr::null_mut(), Ordering::Relaxed);
    }

    /// A stack from this worker's cache (`try_spawn` reserves one early).
    pub(crate) fn take_stack(&self, usable: usize) -> std::io::Result<crate::g::stack::Stack> {
        self.stacks.borrow_mut().take(&self.rt.stacks, usable)
    }

    /// Gives a coroutine that never ran its stack and context. On failure
    /// it completes with a panic naming the cause and `false` is returned.
    #[cold]
    fn first_run(&self, g: &GRef, slot: &mut Option<Coro>) -> bool {
        let h = g.header();
        match self.stacks.borrow_mut().take(&self.rt.stacks, h.stack_size) {
            Ok(stack) => {
                let p = g.as_ptr();
                // SAFETY: the body runs on this coroutine's own stack, once.
                *slot = Some(Coro::new(stack, move |y| unsafe { GRef::run_body(p, y) }));
                true
            }
            Err(e) => {
                let msg = format!(
                    "goro: cannot allocate a {} KiB stack for coroutine {}: {e}",
                    h.stack_size >> 10,
                    crate::g::describe(h)
                );
                super::stack_failures::report(&msg);
                g.fail(Panic::new(Box::new(msg), h));
                super::scope::scope_count(h.scope, -1);
                h.state.finish();
                self.slot.counters.bump_exited();
                false
            }
        }
    }

    /// A park switch: runs the park callback, then commits. Returns `true`
    /// if the coroutine is now parked (its run reference belongs to the
    /// state word), `false` if it must be resumed at once.
    ///
    /// # Safety
    /// `cb` is the callback `park_current` passed with this switch, and the
    /// coroutine has not been resumed since.
    #[inline]
    unsafe fn on_park(&self, h: &Header, cb: *mut dyn FnMut() -> bool) -> bool {
        // SAFETY: state rule 2: until we commit, wake-ups only leave a
        // token, so the coroutine's stack (where the callback lives) is
        // untouched by anyone else; the caller vouches for `cb`.
        let stay = unsafe { (*cb)() };
        let parked = stay && matches!(h.state.commit_park(), Commit::Parked);
        if parked {
            super::metrics::bump(&self.slot.counters.parks);
        }
        parked
    }

    /// A yield: to the back of the queue, where others run first.
    fn on_yield(&self, g: GRef) {
        if g.header().pin.worker().is_some() || !self.is_active() {
            super::schedule(g, Hint::Back);
            return;
        }
        // Wake a helper only if something besides the yielder is waiting
        // here; otherwise we run it again ourselves.
        let others = self.has_queued();
        self.local.push(g);
        if others {
            self.rt.wakep(false);
        }
    }

    /// The coroutine returned (the running word is cleared already): its
    /// stack goes back to the cache, its run reference to the registry
    /// (`g/registry.rs`) or dropped.
    fn on_exit(&self, g: GRef, slot: &mut Option<Coro>) {
        let done = slot.take().expect("finished coroutine has a context");
        self.stacks
            .borrow_mut()
            .give(&self.rt.stacks, done.into_stack());
        let rt = self.rt;
        let reg = &self.slot.registry;
        // Unlisted (it exits in its first run, never switched out) or our
        // list's head (it ran to completion here): the common cases, on
        // their own path (no `Exit` value to build and match).
        if registry::unlisted(g.header()) || reg.pop_if_head(g.as_ptr()) {
            self.count_exit(&g);
            // Freed at the next flush, after a lock cycle (rules R2, R4).
            reg.keep_popped(g.into_raw());
            return;
        }
        let exit = registry::on_exit(g.as_ptr(), self.index, reg, |i| &rt.slots[i].registry);
        self.count_exit(&g);
        match exit {
            // Freed at the next flush, after a lock cycle (rules R2, R4);
            // the flush may come at once, so `g` is not used after this.
            Exit::Pop => reg.keep_popped(g.into_raw()),
            // The registry list holds the run reference now (R3); its next
            // sweep drops it.
            Exit::Stay => std::mem::forget(g),
            Exit::Drop => drop(g),
        }
    }

    /// The exit's bookkeeping, after its registry step: the leak scope,
    /// `DONE`, the exit counter.
    #[inline(always)]
    fn count_exit(&self, g: &GRef) {
        super::scope::scope_count(g.header().scope, -1);
        g.header().state.finish();
        self.slot.counters.bump_exited();
    }

    /// Arms a park timeout for the running coroutine (from a park callback);
    /// returns the sequence number to cancel it with. Out of line: it would
    /// otherwise fatten every park callback, timed or not.
    #[inline(never)]
    pub(crate) fn arm_park_timer(&self, h: NonNull<Header>, when: u64) -> u64 {
        let (seq, earliest) =
            super::timers::arm_park(&self.rt.timers, &self.slot.timers, self.index, h, when);
        if earliest {
            self.rt.wake_for_timers();
        }
        seq
    }

    /// Whether coroutines besides the running one are queued on this worker
    /// (`runnext` or the local queue); `sync::Mutex` does not spin then.
    pub(crate) fn has_queued(&self) -> bool {
        !self.local.is_empty() || !self.slot.runnext.load(Ordering::Relaxed).is_null()
    }
}
