//! The monitor thread (Go's `sysmon`): nothing freezes the runtime.
//!
//! goro cannot preempt a coroutine: a CPU loop, a blocking system call
//! (`std::thread::sleep`, a pipe read, DNS, FFI) or a busy-poll keeps its
//! worker thread until it switches. The monitor watches every worker and,
//! when one has run the same coroutine for longer than [`STALL`] while other
//! work waits, **retakes its processor**: another thread (a *spare*) gets
//! the processor and steals the stuck worker's queued coroutines, so that
//! GOMAXPROCS threads run coroutines again. The stuck coroutine keeps its
//! thread; when it next switches, that thread drains what is left in its
//! queues to the global queue and parks as a spare. A CPU hog and a blocking
//! call take the same path: the hog is never interrupted mid-instruction,
//! so locks and allocator state are never split; the cost is one more OS
//! thread while it runs. [`hand_off`] does the same at once, for
//! `block_in_place` (Go's `entersyscallblock`).
//!
//! # Processors, slots and threads
//!
//! A *slot* (`Slot`, `sched/mod.rs`) is one OS thread and its queues; its
//! index is the thread's identity (`Pin::Worker(i)`, `worker_index`). A
//! *processor* is the right to take coroutines from the shared queues; there
//! are GOMAXPROCS of them, and a slot holds one when `Slot::active` is set.
//!
//! # Rules (cited by `// SAFETY:` and `// M<n>:` comments)
//!
//! * **M1 (processors).** Exactly `nprocs` started slots are active outside
//!   `Runtime::resize`; `active` changes only under that lock
//!   (`set_procs`, [`retake`], [`hand_off`]). A thread checks its own flag
//!   at every scheduling point and takes work from shared queues only while
//!   it holds a processor; a stale read delays that by one scheduling
//!   round, which costs parallelism, never correctness. Deactivation is
//!   followed by `Idle::retain`, so an inactive slot is never left on the
//!   idle list (same argument as `idle.rs` rule 1).
//! * **M2 (a worker's `Ctx` never moves).** The stuck thread keeps its
//!   `Ctx`, whose deques are `!Sync`: the hog may still push to them (a
//!   `go!`, a channel send) without ever switching. Other threads reach its
//!   queued coroutines only through what is already shared: the deques'
//!   `Stealer`s, the atomic `runnext`, the timer heaps (run by whichever
//!   worker runs timers). This is why the processor moves, not the `Ctx`.
//! * **M3 (a retaken slot's queues).** Before clearing `active`, the
//!   retaker sets `Slot::retaken` and counts the slot in
//!   [`Monitor::stuck`]. While `stuck > 0`, active workers steal from
//!   retaken slots before going idle (a lone worker at GOMAXPROCS=1 never
//!   spins, so it needs this). The retaken thread, at its next scheduling
//!   point, moves whatever is left in its queues to the global queue, then
//!   clears `retaken` and uncounts it. Pushes it makes after the retake go
//!   to the global queue (`schedule` sees an inactive worker) or, through a
//!   stale read, to its own queues, which stay stealable until drained: no
//!   coroutine is lost or stranded.
//! * **M4 (spares).** A spare is a started slot that is inactive, parked
//!   and not retaken, or a new thread at index `nstarted` while that is
//!   below `GORO_MAX_THREADS` (Go's `maxmcount`). With none available the
//!   retake is skipped and a clear error is printed once; the stuck
//!   worker's queues then wait for it, as before this monitor existed.
//! * **M5 (the monitor sleeps without losing a wake-up).** When every
//!   active worker has been idle for a while, the monitor sets `sleeping`,
//!   re-checks that all are idle (`SeqCst`), and parks. A worker leaving
//!   idleness (after `Idle` removed it, `SeqCst`) reads `sleeping` and
//!   unparks the monitor ([`Monitor::kick`]). In the single order of
//!   `SeqCst` operations either the monitor's re-check sees the worker
//!   busy, or the worker's read sees `sleeping`. While it follows the
//!   container's CPU limit (GOMAXPROCS not chosen by the user), it parks
//!   for at most a second, to re-read the limit (Go's `updatemaxprocs`).
//! * **M6 (pinned coroutines keep their thread).** A retake never moves a
//!   pinned coroutine: they are not in stealable queues, and a retaken
//!   thread keeps serving its pinned inbox (`Ctx::retired`).
//!
//! # Telling a stuck worker from a slow machine
//!
//! Each worker publishes its scheduling tick (`Slot::tick`, one store per
//! scheduling round, there already for the runnext-steal heuristic) and,
//! at each switch, the running coroutine's header address (for the
//! warning: the running word, one store, `sched/mod.rs` rules W1 and W2).
//! The monitor samples the tick: unchanged since the previous sample means one
//! coroutine has run at least since then. When a thread has not moved for
//! [`STALL`], the monitor reads `/proc/self/task/<tid>/{stat,schedstat}`
//! and skips a thread that is runnable but has not run since the stall was
//! noticed (the OS descheduled it: it is not stuck, and a spare would only
//! add load to a machine already short of CPUs). A thread blocked in the
//! kernel (`S`, `D`) or running (its run time grows) is retaken.
//!
//! # Alternatives rejected
//!
//! * Handing the stuck worker's `Ctx` to the spare: a data race (M2).
//! * Signals to preempt the hog (Go's async preemption): Rust code cannot
//!   be interrupted at arbitrary points and resumed elsewhere soundly (a
//!   `MutexGuard` or a `thread_local!` borrow on the hog's stack).
//! * A running-since timestamp per switch: a clock read on the hot path;
//!   the tick plus the monitor's own clock give the same answer within one
//!   sample period.
//! * Sleeping at a fixed 20 µs: measurable wake-ups on an idle machine. The
//!   delay grows to [`MAX_DELAY`] while nothing happens, and the monitor
//!   parks when every worker is idle (M5).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

use super::{Runtime, worker};

/// How long a worker may run one coroutine, with other work waiting, before
/// the monitor hands its processor to another thread. Go preempts after
/// 10 ms too; `docs/benchmarks.md` has the measurements.
pub(crate) const STALL: Duration = Duration::from_millis(10);
/// Shortest monitor sleep (Go's sysmon starts at 20 µs too).
const MIN_DELAY: Duration = Duration::from_micros(20);
/// Longest monitor sleep while some worker is busy: bounds detection at
/// `STALL + MAX_DELAY`.
const MAX_DELAY: Duration = Duration::from_millis(5);
/// Quiet samples before the delay starts doubling (Go: 50).
const QUIET_BEFORE_BACKOFF: u32 = 50;
/// How often the container's CPU limit is re-read (Go: about 1 s).
const LIMIT_PERIOD: Duration = Duration::from_secs(1);
/// How long every worker must have been idle before the monitor parks.
const IDLE_BEFORE_PARK: Duration = Duration::from_millis(50);

/// The monitor's state shared with the workers.
pub(crate) struct Monitor {
    thread: OnceLock<Thread>,
    /// Rule M5: the monitor is parked or about to park.
    sleeping: AtomicBool,
    /// Rule M3: retaken slots that have not drained their queues yet.
    pub(crate) stuck: AtomicUsize,
    /// Processors moved to another thread so far (retakes and hand-offs).
    pub(crate) retakes: AtomicU64,
    /// Rule M4: the thread bound was reported.
    bound_reported: AtomicBool,
    /// GOMAXPROCS came from the user (`set_maxprocs`): stop following the
    /// cgroup CPU limit.
    pub(crate) user_procs: AtomicBool,
}

impl Monitor {
    pub(crate) fn new() -> Self {
        Monitor {
            thread: OnceLock::new(),
            sleeping: AtomicBool::new(false),
            stuck: AtomicUsize::new(0),
            retakes: AtomicU64::new(0),
            bound_reported: AtomicBool::new(false),
            user_procs: AtomicBool::new(false),
        }
    }

    /// Rule M5, the worker's half: called after a worker stops being idle.
    #[inline]
    pub(crate) fn kick(&self) {
        if self.sleeping.load(Ordering::SeqCst)
            && self.sleeping.swap(false, Ordering::SeqCst)
            && let Some(t) = self.thread.get()
        {
            t.unpark();
        }
    }
}

/// Starts the monitor thread. Without it (the OS refused a thread) the
/// runtime still works, as it did before the monitor existed; say so.
pub(crate) fn start(rt: &'static Runtime) {
    let r = std::thread::Builder::new()
        .name("goro-sysmon".into())
        .stack_size(256 << 10)
        .spawn(move || {
            // Goro's own thread: it never runs user code (`g/registry.rs`).
            let _own = crate::g::registry::OwnThread::register();
            let _ = rt.monitor.thread.set(std::thread::current());
            run(rt);
        });
    if let Err(e) = r {
        report!(
            "goro: cannot start the monitor thread ({e}); a coroutine that blocks its worker will stall the coroutines queued behind it"
        );
    }
}

/// What the monitor remembers about a worker between samples.
#[derive(Clone, Copy)]
struct Seen {
    tick: u32,
    /// When this tick was first seen: the coroutine has run since then.
    since: Instant,
    /// The running word at first sight (the header's address, 0: none;
    /// compared only, `sched/mod.rs` rule W2).
    id: usize,
    /// schedstat (run ns, wait ns) and when it was read, from the second
    /// sample with this tick on.
    stat: Option<(Instant, Option<(u64, u64)>)>,
    warned: bool,
    retaken: bool,
    /// Looked at and left alone (descheduled, or a hog others can work
    /// around): not again before this, to keep `/proc` reads rare.
    quiet_until: Option<Instant>,
}

fn run(rt: &'static Runtime) -> ! {
    let mut seen: Vec<Option<Seen>> = Vec::new();
    // Start backed off: nothing can have stalled yet, and sampling every
    // 20 µs while a program starts up cost `chan_4x4` (eight coroutines on
    // two CPUs) 6-9% against no monitor thread at all; starting at
    // MAX_DELAY, nothing measurable (150 alternating runs: -1.7%, 95%
    // interval -5.2% to +1.9%; the monitor's own CPU time 0.04% of the
    // run, `docs/benchmarks.md`, fourth session). The pace quickens to
    // MIN_DELAY once the monitor has acted.
    let mut delay = MAX_DELAY;
    let mut quiet = QUIET_BEFORE_BACKOFF;
    let mut wait = delay;
    let mut idle_since: Option<Instant> = None;
    let mut limit_read = Instant::now();
    loop {
        std::thread::sleep(wait);
        let now = Instant::now();
        if now - limit_read >= LIMIT_PERIOD {
            limit_read = now;
            follow_cpu_limit(rt);
        }
        if rt.monitor.stuck.load(Ordering::SeqCst) == 0
            && rt.idle.all_idle(rt.nprocs.load(Ordering::SeqCst))
        {
            let since = *idle_since.get_or_insert(now);
            if now - since >= IDLE_BEFORE_PARK {
                if park(rt) {
                    // A worker woke up: watch it (at the current pace; a
                    // stall takes `STALL` to matter anyway).
                    idle_since = None;
                }
                // Else the once-a-second look at the CPU limit: still idle,
                // so park again at the next round.
                wait = delay;
                continue;
            }
        } else {
            idle_since = None;
        }
        let (acted, deadline) = check(rt, &mut seen, now);
        if acted {
            delay = MIN_DELAY;
            quiet = 0;
        } else {
            quiet += 1;
            if quiet > QUIET_BEFORE_BACKOFF {
                delay = (delay * 2).min(MAX_DELAY);
            }
        }
        wait = match deadline {
            Some(d) => d
                .saturating_duration_since(now)
                .clamp(MIN_DELAY, delay.max(MIN_DELAY)),
            None => delay,
        };
    }
}

/// Re-reads the container's CPU limit and adjusts GOMAXPROCS when it
/// changed (Go's `updatemaxprocs`), unless the user chose the count.
fn follow_cpu_limit(rt: &'static Runtime) {
    if rt.config.procs_from_env || rt.monitor.user_procs.load(Ordering::Relaxed) {
        return;
    }
    let want = crate::config::default_procs();
    if want != rt.nprocs.load(Ordering::SeqCst) {
        rt.set_procs(want, true);
    }
}

/// Rule M5, the monitor's half. Returns whether a worker kicked it (as
/// opposed to a timeout or a spurious wake-up).
fn park(rt: &Runtime) -> bool {
    let m = &rt.monitor;
    m.sleeping.store(true, Ordering::SeqCst);
    if rt.idle.all_idle(rt.nprocs.load(Ordering::SeqCst)) {
        if rt.config.procs_from_env || m.user_procs.load(Ordering::Relaxed) {
            std::thread::park();
        } else {
            // Still following the CPU limit: one look a second.
            std::thread::park_timeout(LIMIT_PERIOD);
        }
    }
    // `kick` clears the flag before unparking.
    !m.sleeping.swap(false, Ordering::SeqCst)
}

/// One sample of every worker. Returns whether anything was done and the
/// earliest moment a suspect reaches [`STALL`].
fn check(
    rt: &'static Runtime,
    seen: &mut Vec<Option<Seen>>,
    now: Instant,
) -> (bool, Option<Instant>) {
    let n = rt.nstarted.load(Ordering::Acquire);
    if seen.len() < n {
        seen.resize(n, None);
    }
    let mut acted = false;
    let mut deadline: Option<Instant> = None;
    // Active workers that can take work (running normally, or asleep and
    // wakeable), and the stuck ones (tick, since the stall was noticed).
    let mut healthy = 0usize;
    let mut stuck: Vec<(usize, u32)> = Vec::new();
    for (i, entry) in seen.iter_mut().enumerate().take(n) {
        let s = &rt.slots[i];
        let active = s.proc.active.load(Ordering::Relaxed);
        if s.proc.parked.load(Ordering::Relaxed) {
            *entry = None;
            healthy += usize::from(active);
            continue;
        }
        if !(active || s.proc.retaken.load(Ordering::Relaxed)) {
            *entry = None;
            continue;
        }
        let tick = s.tick.load(Ordering::Relaxed);
        let id = s.proc.running() as usize;
        let e = match entry {
            Some(e) if e.tick == tick && (e.id == id || e.retaken) => e,
            _ => {
                *entry = Some(Seen {
                    tick,
                    since: now,
                    id,
                    stat: None,
                    warned: false,
                    retaken: false,
                    quiet_until: None,
                });
                healthy += usize::from(active);
                continue;
            }
        };
        if e.stat.is_none() {
            e.stat = Some((now, schedstat(s.proc.tid.load(Ordering::Relaxed))));
        }
        let stalled = now - e.since;
        if let Some(w) = rt.config.blockwarn
            && !e.warned
            && e.id != 0
            && e.id == id
            // Inside `block_in_place`: announced, not warned about.
            && s.proc.no_warn.load(Ordering::Relaxed) as usize != id
            && stalled >= w
        {
            e.warned = true;
            warn(id, stalled, e.retaken);
        }
        if !active || e.retaken {
            continue;
        }
        if stalled < STALL && !s.proc.in_call.load(Ordering::Relaxed) {
            let at = e.since + STALL;
            deadline = Some(deadline.map_or(at, |d| d.min(at)));
            healthy += 1;
            continue;
        }
        stuck.push((i, tick));
    }
    for (i, tick) in stuck {
        if !other_work(rt, i) {
            continue;
        }
        let Some(e) = seen[i].as_mut() else { continue };
        if e.quiet_until.is_some_and(|t| now < t) {
            continue;
        }
        e.quiet_until = Some(now + STALL);
        match thread_kind(e, rt.slots[i].proc.tid.load(Ordering::Relaxed)) {
            // The OS is in the way, not the coroutine.
            Kind::Descheduled => continue,
            // A CPU hog while other workers can serve: they steal its
            // queue and run the timers; make sure one is awake. (A spare
            // would only add a thread competing for the same CPUs.)
            Kind::Running if healthy > 0 => {
                if rt.timers.maybe_due() {
                    rt.wake_for_timers();
                }
                rt.wakep(true);
                continue;
            }
            _ => {}
        }
        e.quiet_until = None;
        if retake(rt, i, Some(tick)) {
            e.retaken = true;
            acted = true;
        }
    }
    (acted, deadline)
}

/// Whether something besides worker `i`'s running coroutine could run:
/// its own queues, the global queue, a due timer, or ready I/O (polled here
/// without blocking, as Go's sysmon does; what it readies goes to the
/// global queue).
fn other_work(rt: &Runtime, i: usize) -> bool {
    if rt.slots[i].has_stealable() || !rt.injector.is_empty() || rt.timers.maybe_due() {
        return true;
    }
    if let Some(p) = rt.poller_if_started()
        && p.poll(Some(Duration::ZERO)).is_some_and(|n| n > 0)
    {
        return !rt.injector.is_empty() || rt.slots[i].has_stealable();
    }
    false
}

/// What a stuck worker's thread is doing.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// Runnable but it has not run since the stall was noticed: the OS
    /// descheduled it. Not stuck; a spare would only add load.
    Descheduled,
    /// On a CPU (its run time grows): a CPU hog or a busy-poll.
    Running,
    /// Blocked in the kernel (`S`, `D`): a system call, a lock.
    Blocked,
    /// `/proc` did not say.
    Unknown,
}

/// Classifies a stuck thread. The kernel updates a task's run time at its
/// scheduler ticks while it runs, and not at all while it waits, so a hog
/// shows a growing figure and a descheduled thread a frozen one.
///
/// The state letter is one instant; the run time covers the whole stall.
/// A hog that spawns or allocates is often caught waiting for a moment (a
/// page fault behind the address-space lock shows `D`, a contended malloc
/// lock `S`): it ran for at least a quarter of the time since the stall
/// was noticed, so it is [`Kind::Running`], not [`Kind::Blocked`]. Taking
/// it for blocked retook its processor and added a third thread on two
/// CPUs while a million coroutines were being spawned (`ctxtree`, measured
/// in `docs/benchmarks.md`, fourth session). A blocking call (a sleep, a
/// pipe read) runs for microseconds in that window.
fn thread_kind(e: &Seen, tid: i32) -> Kind {
    let (Some((t0, Some((run0, _)))), Some((run1, _)), Some(state)) =
        (e.stat, schedstat(tid), thread_state(tid))
    else {
        return Kind::Unknown;
    };
    let window = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
    classify(state, run1.saturating_sub(run0), window)
}

/// [`thread_kind`]'s rule: `state` now, `ran` ns on a CPU during the last
/// `window` ns.
fn classify(state: char, ran: u64, window: u64) -> Kind {
    match state {
        'R' if ran == 0 => Kind::Descheduled,
        'R' => Kind::Running,
        _ if ran.saturating_mul(4) >= window => Kind::Running,
        _ => Kind::Blocked,
    }
}

/// The state letter of thread `tid` (`R` runnable, `S`/`D` blocked, ...).
fn thread_state(tid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // "tid (comm) S ...": the command may contain spaces and parentheses.
    s.rsplit_once(") ")?.1.chars().next()
}

/// (ns on a CPU, ns waiting for one) of thread `tid`, if the kernel says.
fn schedstat(tid: i32) -> Option<(u64, u64)> {
    if tid <= 0 {
        return None;
    }
    let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let mut it = s.split_whitespace().map(|x| x.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

/// The `GORO_DEBUG=blockwarn` line, once per coroutine.
fn warn(running: usize, stalled: Duration, retaken: bool) {
    // Who it is, from the registry (`sched/mod.rs` rule W2): the monitor
    // may not read another thread's header itself, the registry may. Once
    // per coroutine, so the walk's cost does not matter. Gone meanwhile:
    // nothing to warn about.
    let Some(c) = super::dump::running_info(running as *mut crate::g::Header) else {
        return;
    };
    let id = c.id;
    let at = format!(" spawned at {}", c.spawned_at);
    let name = c.name.map_or(String::new(), |n| format!(" ({n})"));
    let tail = if retaken {
        "; its worker was handed to another thread"
    } else {
        ""
    };
    report!(
        "goro: coroutine {id}{name}{at} has run {} ms without yielding{tail}",
        stalled.as_millis()
    );
}

/// Retakes worker `i`'s processor for a spare (rules M1, M3, M4). With
/// `tick`, only if the worker is still on that tick (it did not switch
/// meanwhile). Returns whether the processor moved.
pub(crate) fn retake(rt: &'static Runtime, i: usize, tick: Option<u32>) -> bool {
    let _g = rt.resize.lock().unwrap_or_else(|e| e.into_inner());
    let s = &rt.slots[i];
    if !s.proc.active.load(Ordering::SeqCst)
        || tick.is_some_and(|t| s.tick.load(Ordering::Relaxed) != t)
    {
        return false;
    }
    let Some(j) = spare(rt, rt.config.max_threads, i) else {
        if !rt.monitor.bound_reported.swap(true, Ordering::Relaxed) {
            report!(
                "goro: worker {i} is stuck in one coroutine, but all {} threads allowed (GORO_MAX_THREADS) are in use; the coroutines queued behind it wait until it yields",
                rt.config.max_threads
            );
        }
        return false;
    };
    // M3: counted and marked before the processor goes.
    if !s.proc.retaken.swap(true, Ordering::SeqCst) {
        rt.monitor.stuck.fetch_add(1, Ordering::SeqCst);
    }
    s.proc.active.store(false, Ordering::SeqCst);
    rt.idle
        .retain(|k| rt.slots[k].proc.active.load(Ordering::SeqCst));
    if let Err(e) = activate(rt, j, "spare") {
        // Give the processor back: nothing changed hands, and its queues
        // are its own again.
        s.proc.active.store(true, Ordering::SeqCst);
        if s.proc.retaken.swap(false, Ordering::SeqCst) {
            rt.monitor.stuck.fetch_sub(1, Ordering::SeqCst);
        }
        if !rt.monitor.bound_reported.swap(true, Ordering::Relaxed) {
            report!("goro: cannot start a spare thread for stuck worker {i}: {e}");
        }
        return false;
    }
    rt.monitor.retakes.fetch_add(1, Ordering::Relaxed);
    true
}

/// Hands the calling worker's processor to a spare before a blocking call
/// (`block_in_place`). Returns whether it did.
pub(crate) fn hand_off(rt: &'static Runtime, i: usize) -> bool {
    retake(rt, i, None)
}

/// Rule M4: a slot to give a processor to, other than `not`: a parked spare,
/// else a new thread if `bound` allows. Caller holds `rt.resize`.
pub(crate) fn spare(rt: &Runtime, bound: usize, not: usize) -> Option<usize> {
    let n = rt.nstarted.load(Ordering::Acquire);
    (0..n)
        .find(|&j| {
            let s = &rt.slots[j];
            j != not
                && !s.proc.active.load(Ordering::SeqCst)
                && s.proc.parked.load(Ordering::SeqCst)
                && !s.proc.retaken.load(Ordering::SeqCst)
        })
        .or_else(|| (n < bound.min(rt.slots.len())).then_some(n))
}

/// Gives slot `j` a processor: wakes its thread, or starts it (named
/// `goro-<role>-<j>`). Caller holds `rt.resize` (rule M1).
pub(crate) fn activate(rt: &'static Runtime, j: usize, role: &str) -> std::io::Result<()> {
    let s = &rt.slots[j];
    if s.proc.retaken.swap(false, Ordering::SeqCst) {
        // Its queues are its own again (M3).
        rt.monitor.stuck.fetch_sub(1, Ordering::SeqCst);
    }
    s.proc.active.store(true, Ordering::SeqCst);
    let n = rt.nstarted.load(Ordering::Acquire);
    if j < n {
        s.unpark();
        return Ok(());
    }
    debug_assert_eq!(j, n, "threads start in slot order");
    if let Err(e) = worker::start(rt, j, role) {
        s.proc.active.store(false, Ordering::SeqCst);
        return Err(e);
    }
    rt.nstarted.store(j + 1, Ordering::Release);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Kind, classify};

    const MS: u64 = 1_000_000;

    #[test]
    fn a_hog_caught_waiting_is_still_a_hog() {
        // Runnable and running: a hog; runnable but frozen: descheduled.
        assert_eq!(classify('R', 5 * MS, 10 * MS), Kind::Running);
        assert_eq!(classify('R', 0, 10 * MS), Kind::Descheduled);
        // Waiting now, yet on a CPU for most of the stall: a hog that hit
        // a page fault or a lock (`D`, `S`), not a blocking call.
        assert_eq!(classify('D', 9 * MS, 10 * MS), Kind::Running);
        assert_eq!(classify('S', 3 * MS, 10 * MS), Kind::Running);
        // A sleep or a pipe read runs microseconds in the window.
        assert_eq!(classify('S', 20_000, 10 * MS), Kind::Blocked);
        assert_eq!(classify('D', 0, 10 * MS), Kind::Blocked);
    }
}
