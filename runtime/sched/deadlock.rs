//! Global deadlock detection (Go's `checkdead`): when nothing in the process
//! can ever wake anything, print `goro: all coroutines are asleep -
//! deadlock!` and the dump to stderr and exit with status 2.
//!
//! # The condition (all of it, read as one consistent snapshot)
//!
//! 1. **Workers.** All GOMAXPROCS processors are on the idle list and
//!    none spins: no thread with a processor is running, or about to run,
//!    a coroutine. And (1b) every started thread *without* a processor (a
//!    spare, a retired worker) is parked: one that is not may be running a
//!    coroutine whose processor was handed on (`block_in_place`, a
//!    retaken stuck coroutine; `monitor.rs`), which is neither idle nor
//!    parked. 1b failing alone means "look again later" (see
//!    "Re-checks"): such a thread parking runs no check of its own.
//! 2. **Queues.** No run queue of any started slot holds anything: global
//!    queue, every slot's `runnext`, local, timer and pinned queues
//!    (processors move between slots, so all of them, not the first
//!    GOMAXPROCS).
//! 3. **Timers.** No timer heap holds an entry (a cancelled entry not yet
//!    swept counts: detection waits until it fires and is dropped).
//! 4. **I/O.** Nobody is in a socket's wait list.
//! 5. **Threads.** Every thread of the process is either one of goro's
//!    own (`g/registry.rs`, `OwnThread`: workers, the stack scavenger, the
//!    `sync::Pool` sweeper, the `SIGQUIT` and schedtrace threads; a pool
//!    thread only while it is not running user code) or a plain thread asleep in a goro wait without a deadline
//!    (`goro_chan::waiter::parked_threads`: the thread blocked in
//!    `goro::run` waiting for the main coroutine, threads blocked in
//!    `recv`, `join`, `wait`, ...). At least one such plain thread exists
//!    (the main thread must be one: a process whose main thread is
//!    elsewhere is not deadlocked, or not provably so). No
//!    [`spawn_blocking`](crate::spawn_blocking) job is queued or running
//!    (an idle pool thread is listed as own until it picks its next job
//!    up). Each listed own
//!    thread is alive (it unlists itself before it exits), so this is a
//!    count: `num_threads` in `/proc/self/stat` equals own threads plus
//!    plain threads asleep (read into a stack buffer: the check never
//!    allocates, it may run under a tight address-space limit).
//!
//! Given 1 and 2, every live coroutine is parked (`WAITING`): none runs,
//! none is queued, and one woken but not yet queued would have an active
//! waker, which 1 and 5 rule out. With 3 and 4 no driver can wake one;
//! with 5 no thread can. A worker is one of goro's own threads although it
//! runs user code: while it does, it is off the idle list and 1 fails.
//!
//! **Silent when undecidable.** A thread that is neither (a thread sleeping
//! in `std::thread::sleep`, blocked in a std `Mutex`, in a system call, in
//! a wait with a deadline, a test harness's main thread) might wake
//! somebody: then nothing is reported, ever. So is a coroutine blocked in a
//! non-goro call (its worker is not idle).
//!
//! # Consistency
//!
//! Every party whose state the condition reads changes it under a counter:
//! the idle list's generation (every change of the list), the plain
//! threads' epoch (`goro_chan`'s `sleepers.rs`: every change of any
//! thread's state, including a wake-up aimed at it *before* it unparks), the
//! own-thread list's generation. The check reads the three, then the
//! condition, then the three again; if nothing moved, no party changed
//! between the reads, so the reads describe one moment. Queues, timers and
//! I/O lists change only by active parties, and there were none.
//!
//! # When it runs (nothing on the hot path)
//!
//! * where a worker is about to block with no timer to wait for, if it is
//!   the last one to go idle (`Ctx::sleep`);
//! * where a plain thread is about to block without a deadline (the
//!   `goro_chan::waiter` sleep observer).
//!
//! The last party to go quiet runs the check after it is counted quiet.
//! Checks are serialised by a lock.
//!
//! # Re-checks
//!
//! Three transitions to quiet run no check: one of goro's own threads
//! registering itself just after it started (the `SIGQUIT` thread, the
//! stack scavenger), a thread without a processor parking as a spare
//! (1b), and a plain thread exiting. So when everything but
//! condition 5 holds (or something moved during the check), the idle
//! worker blocks for a while instead of forever and checks again (a plain
//! thread whose check says so wakes an idle worker for it): after 10 ms, then twice as long each time up
//! to a second, until something happens. A program waiting on stdin with
//! every coroutine parked thus reads `/proc/self/stat` once a second.
//!
//! Alternatives rejected: a periodic check from a monitor thread (a delay,
//! and it would still need this snapshot); counting parked coroutines
//! against live ones (a coroutine in a waker's hands is neither, and the
//! thread condition already settles it); guessing when other threads exist
//! (a false "deadlock" kills a healthy program).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::{RT, Runtime, netpoll};
use crate::g::registry::{own_thread_count, own_thread_generation};

/// The message Go prints as `fatal error: all goroutines are asleep - deadlock!`.
pub(crate) const MESSAGE: &str = "goro: all coroutines are asleep - deadlock!";

static CHECKING: Mutex<()> = Mutex::new(());

/// [`spawn_blocking`](crate::spawn_blocking) jobs submitted and not yet
/// finished (`blocking.rs` rule 5 keeps it; condition 5 reads it).
pub(crate) static BLOCKING_JOBS: AtomicUsize = AtomicUsize::new(0);

/// First and longest wait before a worker re-checks (see "Re-checks").
const RECHECK_MIN: Duration = Duration::from_millis(10);
const RECHECK_MAX: Duration = Duration::from_secs(1);

/// The next re-check delay in ms (0: none pending, start at the minimum).
static RECHECK_MS: AtomicU64 = AtomicU64::new(0);

/// Called by a worker about to block with no timer armed. Returns a time
/// to block for instead of forever when the process is quiet except for
/// threads that might be transient (see "Re-checks").
pub(crate) fn on_worker_idle(rt: &'static Runtime) -> Option<Duration> {
    if !rt.config.deadlock {
        return None;
    }
    let n = rt.nprocs.load(Ordering::SeqCst);
    if rt.idle.nidle() < n {
        return None;
    }
    match check(rt) {
        Verdict::Busy => {
            RECHECK_MS.store(0, Ordering::Relaxed);
            None
        }
        Verdict::Retry => {
            let last = RECHECK_MS.load(Ordering::Relaxed);
            let next = if last == 0 {
                RECHECK_MIN.as_millis() as u64
            } else {
                (last * 2).min(RECHECK_MAX.as_millis() as u64)
            };
            RECHECK_MS.store(next, Ordering::Relaxed);
            Some(Duration::from_millis(next))
        }
    }
}

/// The plain-thread sleep observer (installed at start-up). If the check
/// must be repeated, an idle worker is woken to do it (the thread itself is
/// about to block).
pub(crate) fn on_thread_asleep() {
    if let Some(rt) = RT.get()
        && rt.config.deadlock
        && let Verdict::Retry = check(rt)
    {
        rt.wake_for_timers();
    }
}

/// What a check found (a deadlock never returns: it exits).
enum Verdict {
    /// Some party can still act.
    Busy,
    /// Everything is quiet except threads that are neither goro's own nor
    /// asleep in a goro wait, or something moved during the check: look
    /// again later (see "Re-checks").
    Retry,
}

fn epochs(rt: &Runtime) -> (u64, u64, u64) {
    (
        rt.idle.generation(),
        goro_chan::waiter::parked_threads().1,
        own_thread_generation(),
    )
}

fn check(rt: &'static Runtime) -> Verdict {
    let _g = CHECKING.lock().unwrap_or_else(|e| e.into_inner());
    let before = epochs(rt);
    match quiet(rt) {
        Quiet::No => return Verdict::Busy,
        Quiet::ButThreads => return Verdict::Retry,
        Quiet::Yes => {}
    }
    if epochs(rt) != before {
        // Somebody moved: look again (a thread registering as goro's own
        // runs no check of its own).
        return Verdict::Retry;
    }
    let mut out = format!("{MESSAGE}\n\n");
    out.push_str(&super::dump::dump());
    eprint!("{out}");
    std::process::exit(2);
}

enum Quiet {
    No,
    /// Conditions 1 to 4 hold except 1b, or 5 does not.
    ButThreads,
    Yes,
}

/// Conditions 1 to 5 of the module docs, cheapest first.
fn quiet(rt: &Runtime) -> Quiet {
    let n = rt.nprocs.load(Ordering::SeqCst);
    if rt.idle.nidle() != n || rt.idle.nspinning() != 0 {
        return Quiet::No;
    }
    let (plain_asleep, _) = goro_chan::waiter::parked_threads();
    if plain_asleep == 0 || netpoll::IO_WAITERS.load(Ordering::SeqCst) != 0 {
        return Quiet::No;
    }
    // Processors move between slots (`monitor.rs`), so every started slot
    // is looked at, not the first `n`.
    let slots = &rt.slots[..rt.nstarted.load(Ordering::SeqCst)];
    if !rt.injector.is_empty()
        || slots
            .iter()
            .any(|s| s.has_stealable() || s.pinned_len.load(Ordering::SeqCst) != 0)
    {
        return Quiet::No;
    }
    if slots.iter().any(|s| s.timers.len() != 0) {
        return Quiet::No;
    }
    // 5 (blocking pool): a queued job is about to run on a pool thread
    // that is still listed as goro's own; a running one will complete and
    // may wake somebody. Look again later (`blocking.rs` rule 5).
    if BLOCKING_JOBS.load(Ordering::SeqCst) != 0 {
        return Quiet::ButThreads;
    }
    // 1b: a thread without a processor must be parked as a spare. One that
    // is not runs a coroutine (in `block_in_place`, or stuck in one whose
    // processor was retaken) or is on its way to park: look again later.
    if slots
        .iter()
        .any(|s| !s.proc.active.load(Ordering::SeqCst) && !s.proc.parked.load(Ordering::SeqCst))
    {
        return Quiet::ButThreads;
    }
    // Every listed own thread is alive (each unlists itself before it
    // exits), so "every thread is own or asleep in goro" is a count.
    let Some(threads) = thread_count() else {
        return Quiet::ButThreads;
    };
    if threads == own_thread_count() + plain_asleep {
        Quiet::Yes
    } else {
        Quiet::ButThreads
    }
}

/// The process's thread count (`num_threads`, field 20 of
/// `/proc/self/stat`), or `None` if it cannot be read (then nothing can be
/// decided). Reads into a stack buffer: the check runs on idle workers,
/// possibly under a tight address-space limit, and must not allocate.
fn thread_count() -> Option<usize> {
    let mut buf = [0u8; 1024];
    // SAFETY: a NUL-terminated path; the descriptor is closed below.
    let fd = unsafe {
        libc::open(
            c"/proc/self/stat".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: reading into our buffer, within its length.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: `fd` is ours and open.
    unsafe { libc::close(fd) };
    let text = std::str::from_utf8(buf.get(..usize::try_from(n).ok()?)?).ok()?;
    // The command name (field 2) is in parentheses and may hold anything:
    // fields are counted after its last ')'. Field 3 is the first there.
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(20 - 3)?.parse().ok()
}
