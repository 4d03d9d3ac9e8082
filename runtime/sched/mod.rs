//! The scheduler: GOMAXPROCS workers running coroutines from work-stealing
//! run queues, and the drivers that make coroutines runnable again. A
//! worker is Go's M and P fused into one slot, except that its processor
//! (the right to take shared work) can move to a spare thread when the
//! worker is stuck in one coroutine: `monitor.rs`.
//!
//! | file            | what it holds |
//! |-----------------|---------------|
//! | `mod.rs`        | the [`Runtime`], worker [`Slot`]s, `spawn`, `schedule` |
//! | `worker.rs`     | a worker's loop: find work, run it, sleep |
//! | `idle.rs`       | the idle/spinning protocol and its no-lost-wake-up rules |
//! | `park.rs`       | park (Go's gopark), yield, the waiter hook |
//! | `ready.rs`      | ready (Go's goready) and the coroutine wakers |
//! | `timers.rs`     | driver: the runtime clock and per-worker timer heaps (`timer_heap.rs`) |
//! | `netpoll.rs`    | driver: the mio netpoller, entered by the timer sleeper |
//! | `monitor.rs`    | the monitor thread: retakes a stuck worker's processor for a spare thread |
//! | `blocking.rs`   | `block_in_place` and the `spawn_blocking` pool |
//!
//! Everything here imports only `g` and `config` (and the chan crate);
//! `time` and `net` are the user-facing packages over the drivers.
//!
//! # Run queues
//!
//! Each worker slot has
//!
//! * `runnext`: one coroutine to run next. Spawns and wake-ups made on a
//!   worker go here (the previous occupant moves to the local queue), so a
//!   message-passing pair keeps trading one worker and its caches (Go's
//!   `runnext`). A worker takes at most [`RUNNEXT_STREAK`] coroutines in a
//!   row from it before serving its local queue, so a ping-pong pair cannot
//!   starve the rest.
//! * a local FIFO (crossbeam-deque `Worker`), stolen from by others, half at
//!   a time, through its `Stealer`;
//! * a FIFO of coroutines woken by their timers (served right after
//!   `runnext`, at most 8 in a row before one from the local queue, so a
//!   `sleep(1ns)` loop cannot starve it; also stealable);
//! * an inbox for coroutines *pinned* to this worker (they never enter
//!   stealable queues).
//!
//! plus one global `Injector` for work made off the workers (plain threads)
//! and for queues drained by a retiring worker. Every 61st scheduling tick a
//! worker serves the global queue first, so it cannot starve.
//!
//! # Idle workers: spinning and sleeping (Go's protocol)
//!
//! A worker out of work first *spins*: it tries to steal, from every other
//! worker in random order, four rounds, the last also taking `runnext` from
//! a victim that has been stuck on one coroutine for a few microseconds. At
//! most half the busy workers spin at once. A worker that finds nothing goes
//! to *sleep* on its futex (`std::thread::park`); one idle worker at a time,
//! the *timer sleeper*, sleeps with a timeout until the next timer, in the
//! netpoller if there is one. Making work runnable ends with
//! [`Runtime::wakep`]. Why no wake-up is lost is argued, and implemented,
//! in one place: `idle.rs`.
//!
//! # Changing GOMAXPROCS at run time
//!
//! Slots for [`MAX_PROCS`] threads exist from the start; threads are
//! started on demand. A slot holds a processor while `ProcState::active` is
//! set (`monitor.rs` rule M1). Shrinking to `n` takes the processors of the
//! highest-numbered active slots; they notice at their next scheduling
//! point, move their queued coroutines to the global queue and sleep, still
//! serving their pinned inbox (a pinned coroutine keeps its thread, like
//! Go's `LockOSThread`). Growing gives processors to the lowest-numbered slots without one.
//!
//! # The running word
//!
//! A switch into a coroutine publishes one word, and only one: the worker's
//! `Ctx::current`, the running coroutine's header pointer (null between
//! coroutines). `worker::current()` reads it on the worker; the monitor
//! (which coroutine has held a worker since its last look) and the dump
//! (which coroutine is running where) read it from other threads through
//! `ProcState::running`. Rules:
//!
//! * **W1 (one writer).** Only the worker's own thread stores it: set
//!   before the resume, cleared after the switch back (`Ctx::execute`).
//! * **W2 (compared, never dereferenced, by others, but for a first
//!   run).** The coroutine may exit, and its header be freed or reused for
//!   a new coroutine, right after another thread loaded the word. Other
//!   threads only compare it with pointers, and read what it names (id,
//!   name, spawn site) from a registry entry with the same address, under
//!   that list's lock (`g/registry.rs` R2, R3: a listed header is live
//!   while the lock is held). The exception is a coroutine in its first
//!   run, which is not listed yet (it is listed at its first switch-out):
//!   the worker tags the word, and a reader holding that worker's list
//!   lock may read the header a tagged word names (`g/registry.rs` R4).
//!   If the header was reused meanwhile, the entry found is the coroutine
//!   now at that address, a stale but sound answer for a diagnostic.
//!
//! It replaced four stores per switch (id and spawn site for the monitor,
//! the pointer for the dump, and the private `current`).
//!
//! # Alternatives rejected
//!
//! * One global queue (simple, but every spawn and wake-up contends on it).
//! * Waking a worker per spawn (a futex call per `go!`); spinners absorb
//!   bursts instead.
//! * Timed polling for idle workers (wastes CPU and adds latency).
//! * Timer heaps and the poller as parts of `time` and `net` (the old shape):
//!   they are per-worker scheduler state, and the scheduler had to import
//!   the packages built on it (a wake-up travelled time → sched → time).

pub(crate) mod blocking;
pub(crate) mod deadlock;
pub(crate) mod dump;
pub(crate) mod idle;
pub(crate) mod metrics;
pub(crate) mod monitor;
pub(crate) mod netpoll;
pub(crate) mod park;
pub(crate) mod ready;
pub(crate) mod scope;
pub(crate) mod sigquit;
pub(crate) mod stack_failures;
pub(crate) mod stacks;
pub(crate) mod timer_heap;
pub(crate) mod timers;
pub(crate) mod worker;

use std::collections::VecDeque;
use std::ptr::{self, NonNull};
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
use std::sync::{Mutex, Once, OnceLock};
use std::thread::Thread;

use crossbeam_deque::{Injector, Stealer};
use crossbeam_utils::CachePadded;

use crate::config::{Config, ConfigError, MAX_PROCS};
use crate::g::stack::{StackPool, round_size};
use crate::g::{self, GRef, Header, JoinHandle, Pin, SpawnOpts};
use idle::Idle;
use netpoll::Poller;
use timers::{SlotTimers, Timers};

/// Most coroutines a worker takes from `runnext` in a row.
pub(crate) const RUNNEXT_STREAK: u32 = 16;
/// Ids handed to a worker at a time (so spawning does not share a counter).
const ID_BATCH: u64 = 256;

/// Where a newly runnable coroutine should go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Hint {
    /// The current worker's `runnext` (spawn, wake-up).
    Next,
    /// The back of the current worker's queue (yield).
    Back,
    /// The current worker's timer queue: served right after `runnext`,
    /// ahead of the local queue (a timer wake-up is already due).
    Timer,
}

/// Spawn and exit counts, kept per worker so `go!` shares no cache line.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) spawned: AtomicU64,
    pub(crate) exited: AtomicU64,
    /// Parks committed on this worker (`metrics.rs`; single writer).
    pub(crate) parks: AtomicU64,
    /// Successful steals by this worker (`metrics.rs`; single writer).
    pub(crate) steals: AtomicU64,
}

impl Counters {
    /// Counts a spawn. Only the owning worker writes its slot's counters, so
    /// a load and a store do (readers only sum them).
    #[inline]
    pub(crate) fn bump_spawned(&self) {
        self.spawned
            .store(self.spawned.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    /// Counts an exit; single writer, as for `bump_spawned`.
    #[inline]
    pub(crate) fn bump_exited(&self) {
        self.exited
            .store(self.exited.load(Ordering::Relaxed) + 1, Ordering::Release);
    }
}

/// A slot's processor state (`monitor.rs` rules M1 to M4).
pub(crate) struct ProcState {
    /// This thread holds one of the GOMAXPROCS processors (`monitor.rs`
    /// rule M1); only it takes coroutines from the shared queues.
    pub(crate) active: AtomicBool,
    /// The thread is parked (idle, or a spare): the monitor ignores it.
    pub(crate) parked: AtomicBool,
    /// The running coroutine is in a call that may block (`blocking.rs`,
    /// [`blocking::announced`]): the monitor retakes without waiting for
    /// `STALL`.
    pub(crate) in_call: AtomicBool,
    /// Its processor was taken while it ran: its queues may still hold
    /// coroutines until it drains them (`monitor.rs` rule M3).
    pub(crate) retaken: AtomicBool,
    /// The OS thread id (0 until the thread runs), for the monitor's look
    /// at `/proc/self/task/<tid>`.
    pub(crate) tid: AtomicI32,
    /// The running word (see "The running word" in the module docs): the
    /// worker's `Ctx::current`, set once when its thread starts.
    pub(crate) running: OnceLock<&'static AtomicPtr<Header>>,
    /// A coroutine that announced a blocking call (`block_in_place`): the
    /// monitor does not warn about it while it is the running one.
    pub(crate) no_warn: AtomicPtr<Header>,
}

impl ProcState {
    /// The coroutine this slot's thread is running, or null: for comparing
    /// only. It may exit and its header be reused at any moment, so it is
    /// never dereferenced; what it names is read through the registry
    /// (`dump::running_info`). The first-run tag (`g/registry.rs` rule R4)
    /// is stripped.
    #[inline]
    pub(crate) fn running(&self) -> *mut Header {
        self.running.get().map_or(ptr::null_mut(), |r| {
            g::registry::untag(r.load(Ordering::Relaxed))
        })
    }

    /// The running word itself, tag included, for a registry walk that
    /// also reports the coroutine in its first run (`g/registry.rs` R4).
    pub(crate) fn running_word(&self) -> Option<&'static AtomicPtr<Header>> {
        self.running.get().copied()
    }
}

/// What other threads may see and touch of a worker.
pub(crate) struct Slot {
    pub(crate) stealer: OnceLock<Stealer<GRef>>,
    /// Thieves' end of the worker's queue of coroutines woken by timers.
    pub(crate) timer_stealer: OnceLock<Stealer<GRef>>,
    pub(crate) runnext: CachePadded<AtomicPtr<Header>>,
    pub(crate) pinned: Mutex<VecDeque<GRef>>,
    pub(crate) pinned_len: AtomicUsize,
    pub(crate) thread: OnceLock<Thread>,
    /// Set by `wakep` before unparking: "you were woken as a spinner".
    pub(crate) woken: AtomicBool,
    /// Scheduling ticks: written only by the worker, once per tick; read by
    /// thieves (the runnext-steal heuristic) and for the fairness rule.
    pub(crate) tick: AtomicU32,
    pub(crate) timers: SlotTimers,
    pub(crate) counters: CachePadded<Counters>,
    /// The worker is (about to be) blocked in the netpoller.
    pub(crate) in_poll: AtomicBool,
    /// A wake-up was aimed at this worker (read by a poller-to-be).
    pub(crate) wake_pending: AtomicBool,
    /// Processor ownership and what the monitor watches (`monitor.rs`), on
    /// a line of its own: the owner reads `active` at every `schedule`,
    /// while wakers write the fields above (`wake_pending`) all the time.
    pub(crate) proc: CachePadded<ProcState>,
    /// Coroutines first run on this worker (`g/registry.rs`).
    pub(crate) registry: g::registry::List,
}

impl Slot {
    fn new() -> Self {
        Slot {
            stealer: OnceLock::new(),
            timer_stealer: OnceLock::new(),
            runnext: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
            pinned: Mutex::new(VecDeque::new()),
            pinned_len: AtomicUsize::new(0),
            thread: OnceLock::new(),
            woken: AtomicBool::new(false),
            tick: AtomicU32::new(0),
            timers: SlotTimers::new(),
            counters: CachePadded::new(Counters::default()),
            in_poll: AtomicBool::new(false),
            wake_pending: AtomicBool::new(false),
            proc: CachePadded::new(ProcState {
                active: AtomicBool::new(false),
                parked: AtomicBool::new(false),
                in_call: AtomicBool::new(false),
                retaken: AtomicBool::new(false),
                tid: AtomicI32::new(0),
                running: OnceLock::new(),
                no_warn: AtomicPtr::new(ptr::null_mut()),
            }),
            registry: g::registry::List::new(),
        }
    }

    /// Wakes this worker, whether it sleeps on its futex or blocks in the
    /// netpoller (see `Ctx::block`).
    pub(crate) fn unpark(&self) {
        self.wake_pending.store(true, Ordering::SeqCst);
        if self.in_poll.load(Ordering::SeqCst)
            && let Some(p) = RT.get().and_then(Runtime::poller_if_started)
        {
            p.wake();
        }
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    /// Takes the `runnext` coroutine (owner or thief).
    pub(crate) fn take_runnext(&self) -> Option<GRef> {
        if self.runnext.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let p = self.runnext.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: a non-null runnext holds a run reference, which the swap
        // transferred to us.
        NonNull::new(p).map(|h| unsafe { GRef::from_raw(h) })
    }

    /// Whether a thief would find anything here.
    pub(crate) fn has_stealable(&self) -> bool {
        self.stealer.get().is_some_and(|s| !s.is_empty())
            || self.timer_stealer.get().is_some_and(|s| !s.is_empty())
            || !self.runnext.load(Ordering::Relaxed).is_null()
    }

    pub(crate) fn pop_pinned(&self) -> Option<GRef> {
        if self.pinned_len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut q = self.pinned.lock().unwrap_or_else(|e| e.into_inner());
        let g = q.pop_front();
        self.pinned_len.store(q.len(), Ordering::Release);
        g
    }
}

/// The runtime: one per process, started on first use.
pub(crate) struct Runtime {
    pub(crate) config: Config,
    pub(crate) injector: Injector<GRef>,
    pub(crate) slots: Box<[Slot]>,
    /// Target worker count (GOMAXPROCS).
    pub(crate) nprocs: AtomicUsize,
    /// Worker threads started so far (slots `0..nstarted` have threads).
    pub(crate) nstarted: AtomicUsize,
    /// Who spins, who sleeps (`idle.rs`).
    pub(crate) idle: CachePadded<Idle>,
    /// Held to change which slots are active (`monitor.rs` rule M1).
    pub(crate) resize: Mutex<()>,
    /// The monitor thread's shared state (`monitor.rs`).
    pub(crate) monitor: monitor::Monitor,
    pub(crate) stacks: StackPool,
    pub(crate) timers: Timers,
    /// Created on the first socket registration.
    poller: OnceLock<Poller>,
    next_id: AtomicU64,
    /// Spawns made off the workers, and exits (none happen off the workers).
    foreign: CachePadded<Counters>,
}

static RT: OnceLock<Runtime> = OnceLock::new();
static START: Once = Once::new();

/// The runtime, started with the environment's configuration if needed.
///
/// # Panics
/// If `GOMAXPROCS` or `GORO_STACK_SIZE` is invalid (the message names it).
#[inline]
pub(crate) fn rt() -> &'static Runtime {
    match RT.get() {
        Some(r) => r,
        None => match init() {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        },
    }
}

/// Starts the runtime if it is not running yet.
#[cold]
pub(crate) fn init() -> Result<&'static Runtime, ConfigError> {
    if let Some(r) = RT.get() {
        return Ok(r);
    }
    let config = Config::from_env()?;
    let r = RT.get_or_init(|| Runtime::new(config));
    START.call_once(|| {
        park::install_hook();
        if r.config.stacks {
            stacks::enable();
        }
        crate::g::stack::page_size();
        crate::g::overflow::install_handler();
        r.ensure_started(r.nprocs.load(Ordering::SeqCst));
        monitor::start(r);
        // Diagnostics (`deadlock.rs`, `sigquit.rs`, `metrics.rs`).
        goro_chan::waiter::set_sleep_observer(deadlock::on_thread_asleep);
        if r.config.quitdump {
            sigquit::install();
        }
        metrics::start_schedtrace(r);
    });
    Ok(r)
}

impl Runtime {
    fn new(config: Config) -> Self {
        Runtime {
            config,
            injector: Injector::new(),
            slots: (0..MAX_PROCS).map(|_| Slot::new()).collect(),
            nprocs: AtomicUsize::new(config.procs),
            nstarted: AtomicUsize::new(0),
            idle: CachePadded::new(Idle::new(MAX_PROCS)),
            resize: Mutex::new(()),
            monitor: monitor::Monitor::new(),
            stacks: StackPool::new(),
            timers: Timers::new(),
            poller: OnceLock::new(),
            next_id: AtomicU64::new(1),
            foreign: CachePadded::new(Counters::default()),
        }
    }

    /// Starts the first `n` worker threads, each holding a processor.
    fn ensure_started(&'static self, n: usize) {
        let _g = self.resize.lock().unwrap_or_else(|e| e.into_inner());
        let have = self.nstarted.load(Ordering::Acquire);
        for i in have..n {
            self.slots[i].proc.active.store(true, Ordering::SeqCst);
            if let Err(e) = worker::start(self, i, "worker") {
                panic!("goro: cannot start worker thread {i}: {e}");
            }
            self.nstarted.store(i + 1, Ordering::Release);
        }
    }

    /// The netpoller, if a socket was ever registered.
    #[inline]
    pub(crate) fn poller_if_started(&self) -> Option<&Poller> {
        self.poller.get()
    }

    /// The netpoller, created on first use.
    pub(crate) fn poller(&self) -> std::io::Result<&Poller> {
        if let Some(p) = self.poller.get() {
            return Ok(p);
        }
        let p = Poller::new()?;
        let mut created = false;
        let p = self.poller.get_or_init(|| {
            created = true;
            p
        });
        if created {
            // The timer sleeper may be parked on its futex: make it come
            // back and block in the poller instead.
            if let Some(i) = self.timers.sleeper() {
                self.slots[i].unpark();
            }
        }
        Ok(p)
    }

    /// Changes the worker count; returns the previous one. Shrinking takes
    /// the processors of the highest-numbered active slots; growing gives
    /// processors to the lowest-numbered inactive ones (`monitor.rs` M1).
    ///
    /// `auto`: the monitor following the cgroup CPU limit, which yields to
    /// a count the user chose (checked under the lock, so a concurrent
    /// `set_maxprocs` wins).
    pub(crate) fn set_procs(&'static self, n: usize, auto: bool) -> usize {
        let _g = self.resize.lock().unwrap_or_else(|e| e.into_inner());
        if auto && self.monitor.user_procs.load(Ordering::SeqCst) {
            return self.nprocs.load(Ordering::SeqCst);
        }
        let prev = self.nprocs.swap(n, Ordering::SeqCst);
        if n < prev {
            let mut drop = prev - n;
            for s in self.slots.iter().rev() {
                if drop == 0 {
                    break;
                }
                if s.proc.active.load(Ordering::SeqCst) {
                    s.proc.active.store(false, Ordering::SeqCst);
                    drop -= 1;
                }
            }
            // Retiring workers must not stay on the idle list.
            self.idle
                .retain(|i| self.slots[i].proc.active.load(Ordering::SeqCst));
            for s in &self.slots[..self.nstarted.load(Ordering::Acquire)] {
                if !s.proc.active.load(Ordering::SeqCst) {
                    s.unpark();
                }
            }
        } else {
            for _ in prev..n {
                // The lowest-numbered slot without a processor, skipping
                // stuck ones (retaken and still running their coroutine):
                // without retakes the active slots stay `0..n`. Slots past
                // `nstarted` are all inactive, so a new thread is always
                // the next in order.
                let i = (0..self.slots.len())
                    .find(|&i| {
                        let p = &self.slots[i].proc;
                        !p.active.load(Ordering::SeqCst) && !p.retaken.load(Ordering::SeqCst)
                    })
                    .expect("nprocs <= MAX_PROCS leaves an inactive slot");
                if let Err(e) = monitor::activate(self, i, "worker") {
                    panic!("goro: cannot start worker thread {i}: {e}");
                }
            }
        }
        self.monitor.kick();
        prev
    }

    /// Wakes an idle worker as a spinner if there is work and nobody is
    /// looking for it (`idle.rs` rules 2, 3 and 5). `fenced`: the caller
    /// published work somewhere other than its own queues (rule 4).
    #[inline]
    pub(crate) fn wakep(&self, fenced: bool) {
        if fenced {
            std::sync::atomic::fence(Ordering::SeqCst);
        }
        if self.idle.should_wake() {
            self.wakep_slow();
        }
    }

    #[cold]
    fn wakep_slow(&self) {
        if let Some(i) = self.idle.claim_wakee() {
            self.slots[i].woken.store(true, Ordering::SeqCst);
            self.slots[i].unpark();
        }
    }

    /// Wakes one idle worker, not as a spinner (it will find the timer
    /// sleeper role free and take it).
    pub(crate) fn wake_for_timers(&self) {
        match self.timers.sleeper() {
            Some(i) => self.slots[i].unpark(),
            None => {
                if let Some(i) = self.idle.pop() {
                    self.slots[i].unpark();
                }
            }
        }
    }

    /// Whether any queue a worker could take from is non-empty.
    pub(crate) fn has_work(&self, me: usize) -> bool {
        if !self.injector.is_empty() || self.slots[me].pinned_len.load(Ordering::SeqCst) != 0 {
            return true;
        }
        let n = self.nstarted.load(Ordering::Acquire);
        self.slots[..n].iter().any(Slot::has_stealable) || self.timers.maybe_due()
    }

    /// Puts a pinned coroutine in its worker's inbox and wakes that worker.
    fn push_pinned(&self, w: usize, g: GRef) {
        let s = &self.slots[w];
        let mut q = s.pinned.lock().unwrap_or_else(|e| e.into_inner());
        q.push_back(g);
        s.pinned_len.store(q.len(), Ordering::Release);
        drop(q);
        s.unpark();
    }

    fn next_id(&self, n: u64) -> u64 {
        self.next_id.fetch_add(n, Ordering::Relaxed)
    }

    /// Live coroutines: spawned minus exited.
    pub(crate) fn num_goroutine(&self) -> usize {
        let n = self.nstarted.load(Ordering::Acquire);
        let counters = || {
            self.slots[..n]
                .iter()
                .map(|s| &*s.counters)
                .chain(std::iter::once(&*self.foreign))
        };
        let exited: u64 = counters().map(|c| c.exited.load(Ordering::Acquire)).sum();
        let spawned: u64 = counters().map(|c| c.spawned.load(Ordering::Acquire)).sum();
        spawned.saturating_sub(exited) as usize
    }
}

/// Makes `g` runnable. `g` must be the coroutine's run reference and its
/// state must be `ACTIVE` (state rule 1).
///
/// The common case (an unpinned coroutine woken on an active worker) is
/// kept small and inline; the rest is out of line.
#[inline]
pub(crate) fn schedule(g: GRef, hint: Hint) {
    if g.header().pin.worker().is_none()
        && let Some(ctx) = worker::ctx()
        && ctx.is_active()
    {
        ctx.push_local(g, hint);
        ctx.rt.wakep(false);
        return;
    }
    schedule_elsewhere(g);
}

/// `schedule` for a pinned coroutine (to its worker's pinned queue), or
/// from a thread that is not an active worker (to the global queue).
#[inline(never)]
fn schedule_elsewhere(g: GRef) {
    let rt = rt();
    if let Some(w) = g.header().pin.worker() {
        rt.push_pinned(w, g);
    } else {
        rt.injector.push(g);
        rt.wakep(true);
    }
}

/// Whether a caller about to park may spin briefly first (Go's
/// `runtime_canSpin`, without its round count): only on a multicore
/// machine, only while another worker is running something (whatever we
/// wait for can happen while we spin), and only if nothing else is queued on
/// our worker (running that would be better than burning the time). A plain
/// thread may spin on any multicore machine.
pub(crate) fn spin_pays() -> bool {
    if !goro_chan::waiter::multicore() {
        return false;
    }
    match worker::ctx() {
        Some(ctx) => {
            let rt = ctx.rt;
            rt.idle.busy_elsewhere(rt.nprocs.load(Ordering::Relaxed)) && !ctx.has_queued()
        }
        None => true,
    }
}

/// Spawns a coroutine.
///
/// # Panics
/// If memory for the coroutine cannot be had (see [`try_spawn`]).
#[track_caller]
pub(crate) fn spawn<F, T>(
    f: F,
    name: Option<Box<str>>,
    stack_size: Option<usize>,
    pin: Pin,
) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match spawn_with(f, name, stack_size, pin, false) {
        Ok(h) => h,
        Err(e) => panic!("{e}"),
    }
}

/// [`spawn`] with the defaults (`go!`, `goro::spawn`): no name, the
/// configured stack size, anywhere. Its own instance, so that the constant
/// arguments fold into the inlined spawn path (no name to move or drop, no
/// stack-size choice, a constant pin word) and the caller passes only `f`.
#[track_caller]
pub(crate) fn go<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match spawn_with(f, None, None, Pin::Anywhere, false) {
        Ok(h) => h,
        Err(e) => panic!("{e}"),
    }
}

/// Spawns a coroutine with its stack reserved now: running out of memory
/// (for the task or its stack) is an error the caller can handle, instead
/// of a panic or a coroutine that fails at its first run.
#[track_caller]
pub(crate) fn try_spawn<F, T>(
    f: F,
    name: Option<Box<str>>,
    stack_size: Option<usize>,
    pin: Pin,
) -> std::io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_with(f, name, stack_size, pin, true)
}

#[track_caller]
#[inline(always)]
fn spawn_with<F, T>(
    f: F,
    name: Option<Box<str>>,
    stack_size: Option<usize>,
    pin: Pin,
    eager_stack: bool,
) -> std::io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let rt = rt();
    let ctx = worker::ctx();
    let id = match ctx {
        Some(c) => c.next_id(rt),
        None => rt.next_id(1),
    };
    let stack_size = stack_size.map_or(rt.config.stack_size, round_size);
    let scope = scope::spawn_scope(|| ctx.and_then(|c| c.running()));
    scope::scope_count(scope, 1);
    let opts = SpawnOpts {
        id,
        name,
        stack_size,
        pin,
        location: std::panic::Location::caller(),
        scope,
    };
    let Some((g, handle)) = g::new_task(f, opts) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!("goro: cannot allocate coroutine {id}: out of memory"),
        ));
    };
    if eager_stack {
        let stack = match ctx {
            Some(c) => c.take_stack(stack_size),
            None => rt.stacks.take(stack_size),
        };
        match stack {
            Ok(stack) => {
                let p = g.as_ptr();
                // SAFETY: state rule 1: the run reference is still ours (it
                // is scheduled below), so nobody else touches the context;
                // the body runs once, on this stack, like `first_run`'s.
                unsafe {
                    *g.header().coro.get() = Some(crate::g::coro::Coro::new(stack, move |y| {
                        worker::list_running(p);
                        GRef::run_body(p, y)
                    }))
                };
            }
            Err(e) => {
                // Never runs: dropping both references frees it quietly.
                drop(handle);
                drop(g);
                return Err(std::io::Error::new(
                    e.kind(),
                    format!(
                        "goro: cannot allocate a {} KiB stack for coroutine {id}: {e}",
                        stack_size >> 10
                    ),
                ));
            }
        }
    }
    match ctx {
        Some(c) => c.slot.counters.bump_spawned(),
        None => {
            rt.foreign.spawned.fetch_add(1, Ordering::Relaxed);
        }
    }
    schedule(g, Hint::Next);
    Ok(handle)
}

/// Arms a callback timer for `when` (runtime clock): in the current
/// worker's heap, or worker 0's from a plain thread. Returns the index of
/// the slot whose heap holds the entry (for [`timer_entry_dead`]).
pub(crate) fn arm_callback_timer(
    when: u64,
    task: std::sync::Arc<dyn timers::Fire>,
    epoch: u64,
) -> usize {
    let rt = rt();
    let (index, slot) = match worker::ctx() {
        Some(c) => (c.index, c.slot),
        None => (0, &rt.slots[0]),
    };
    if timers::arm_callback(&rt.timers, &slot.timers, when, task, epoch) {
        rt.wake_for_timers();
    }
    index
}
