//! Blocking work announced by the caller: [`block_in_place`] (run a blocking
//! call inline after handing the processor to another thread) and
//! [`spawn_blocking`] (run it on a bounded pool of threads and join it like
//! a coroutine).
//!
//! Without these, the monitor (`monitor.rs`) still rescues the coroutines
//! queued behind a blocking call, but only after it has stalled them for
//! `STALL` (10 ms). Announcing the call moves the processor at once.
//!
//! # The pool
//!
//! `spawn_blocking` makes an ordinary task (`g::new_task`: the same header,
//! result slot, join bits and [`JoinHandle`]) that never gets a stack: a
//! pool thread runs its closure directly (`GRef::run_body` with no yielder;
//! on a plain thread every goro call blocks the thread instead of
//! switching). Rules:
//!
//! 1. `threads <= max` (`GORO_MAX_BLOCKING_THREADS`, default 512); a job
//!    that finds no idle thread and no room waits in the FIFO `queue`.
//! 2. A job is pushed under the lock, and then an idle thread is notified
//!    or a thread is started; `idle` counts threads inside `wait`, so a
//!    notification is never sent to nobody while a job waits.
//! 3. An idle thread exits after [`KEEP_ALIVE`] without work (threads come
//!    back on demand), never while the queue is non-empty.
//! 4. If no pool thread can be started and none exists, the job completes
//!    at once with a panic naming the cause (its joiner sees an error; no
//!    job is stranded).
//! 5. `deadlock::BLOCKING_JOBS` counts jobs submitted and not yet finished, raised before
//!    the push and lowered after the job completed. The deadlock check
//!    (`deadlock.rs`) reads it: an idle pool thread is listed as goro's
//!    own, and between a job's push and its pickup it still is, so without
//!    the count a coroutine joining a queued job looked deadlocked.
//!
//! Alternatives rejected: a separate handle type (users would learn two
//! join APIs, and a blocking job's panic could not be reported like an
//! unjoined coroutine's); one thread per call (unbounded under load, which
//! is what the bound exists for).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use super::{deadlock, monitor, park, rt, worker};
use crate::g::registry::OwnThread;
use crate::g::{self, GRef, JoinHandle, Panic, Pin, SpawnOpts};

/// How long an idle pool thread waits for work before exiting (tokio's too).
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Runs `f` on the calling thread after handing this worker's processor
/// to another thread, so that the coroutines queued here keep running while
/// `f` blocks (a file read, a C library call, a long computation). Returns
/// `f`'s result; a panic in `f` propagates to the caller.
///
/// After `f` returns, the coroutine goes back to the run queues and
/// continues on whichever worker takes it (this thread becomes a spare).
/// On a plain thread, or if no spare thread can be had (see
/// `GORO_MAX_THREADS`), it just runs `f`.
///
/// ```
/// let text = goro::run(|| {
///     goro::block_in_place(|| std::fs::read_to_string("Cargo.toml"))
/// });
/// assert!(text.unwrap().contains("[package]"));
/// ```
pub fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
    use std::sync::atomic::Ordering::Relaxed;
    let (handed, quiet) = match worker::current() {
        Some((ctx, h)) if ctx.is_active() => {
            // The blocking call is announced: no warning for it.
            ctx.slot.proc.no_warn.store(h.as_ptr(), Relaxed);
            (monitor::hand_off(ctx.rt, ctx.index), Some(ctx.slot))
        }
        _ => (false, None),
    };
    let r = f();
    if let Some(slot) = quiet {
        // The slot we marked (a `&'static Slot`, not the thread's `Ctx`,
        // so holding it across `f` is fine even if `f` parked and moved).
        slot.proc.no_warn.store(std::ptr::null_mut(), Relaxed);
    }
    if handed {
        // Take a processor back: this thread has none, so the yield puts
        // the coroutine on the global queue (or, pinned, in this thread's
        // inbox), and the thread parks as a spare.
        park::yield_now();
    }
    r
}

/// Runs `f`, which may block (a host name lookup), inline, telling the
/// monitor: if it is still running at the monitor's next look, its
/// processor goes to a spare at once instead of after `STALL` (Go's
/// `entersyscall`). Costs two stores when it does not block, which is why
/// `net` resolves addresses through this rather than [`block_in_place`]
/// (almost every address is a literal that resolves without a system
/// call) or [`spawn_blocking`] (the address is borrowed and need not be
/// `Send`).
pub(crate) fn announced<R>(f: impl FnOnce() -> R) -> R {
    let Some(ctx) = worker::ctx() else {
        return f();
    };
    /// Clears the mark however `f` ends. `f` does not switch coroutines (it
    /// is a plain blocking call), so the slot is still the one marked.
    struct Unmark(&'static super::Slot);
    impl Drop for Unmark {
        fn drop(&mut self) {
            let in_call = &self.0.proc.in_call;
            in_call.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let in_call = &ctx.slot.proc.in_call;
    in_call.store(true, std::sync::atomic::Ordering::Relaxed);
    let _unmark = Unmark(ctx.slot);
    f()
}

/// Runs `f` on the blocking pool and returns a [`JoinHandle`] for its
/// result: joining parks the calling coroutine (or blocks a thread). A
/// panic in `f` is returned by `join` as a [`Panic`], or reported on stderr
/// if nobody joins, as for a coroutine.
///
/// The pool has at most `GORO_MAX_BLOCKING_THREADS` threads (default 512,
/// named `goro-blocking-N`); further jobs wait for a free one. Idle threads
/// exit after 10 s.
///
/// ```
/// goro::run(|| {
///     let h = goro::spawn_blocking(|| std::fs::metadata("Cargo.toml").map(|m| m.len()));
///     assert!(h.join().unwrap().unwrap() > 0);
///
///     let bad = goro::spawn_blocking(|| -> u8 { panic!("disk on fire") });
///     assert_eq!(bad.join().unwrap_err().message(), Some("disk on fire"));
/// });
/// ```
///
/// # Panics
///
/// If the runtime has to start and its configuration is invalid (see
/// [`crate::init`]).
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let rt = rt();
    let opts = SpawnOpts {
        id: rt.next_id(1),
        name: Some("blocking".into()),
        stack_size: 0,
        pin: Pin::Anywhere,
        location: std::panic::Location::caller(),
        // Not in a leak-check scope: a blocking job runs on the pool, not
        // through a worker's exit path that counts scopes out.
        scope: 0,
    };
    let Some((g, handle)) = g::new_task(f, opts) else {
        panic!("goro: spawn_blocking: out of memory for the job");
    };
    pool().submit(g);
    handle
}

struct Pool {
    state: Mutex<State>,
    cond: Condvar,
    max: usize,
}

struct State {
    queue: VecDeque<GRef>,
    threads: usize,
    idle: usize,
    next_name: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            threads: 0,
            idle: 0,
            next_name: 0,
        }),
        cond: Condvar::new(),
        max: rt().config.max_blocking,
    })
}

impl Pool {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing under the lock panics halfway: the state stays consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rules 1, 2 and 4.
    fn submit(&'static self, g: GRef) {
        deadlock::BLOCKING_JOBS.fetch_add(1, Ordering::SeqCst);
        let mut st = self.lock();
        st.queue.push_back(g);
        if st.idle >= st.queue.len() {
            drop(st);
            self.cond.notify_one();
            return;
        }
        if st.threads >= self.max {
            return; // rule 1: it waits for a free thread
        }
        st.threads += 1;
        let n = st.next_name;
        st.next_name += 1;
        drop(st);
        let r = std::thread::Builder::new()
            .name(format!("goro-blocking-{n}"))
            .spawn(move || self.work());
        if let Err(e) = r {
            let mut st = self.lock();
            st.threads -= 1;
            if st.threads == 0 {
                // Rule 4: nobody would ever run these.
                let stranded: Vec<GRef> = st.queue.drain(..).collect();
                drop(st);
                for g in stranded {
                    let msg = format!("goro: cannot start a spawn_blocking thread: {e}");
                    g.fail(Panic::new(Box::new(msg), g.header()));
                    g.header().state.finish();
                    deadlock::BLOCKING_JOBS.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
    }

    /// A pool thread: runs jobs until idle for `KEEP_ALIVE` (rule 3).
    fn work(&self) {
        // Idle, this thread cannot wake anybody: listed as goro's own for
        // the deadlock check (`g/registry.rs`); running a job it is a plain
        // thread again (the job's user code may wake coroutines).
        let mut own = Some(OwnThread::register());
        let mut st = self.lock();
        loop {
            if let Some(g) = st.queue.pop_front() {
                drop(st);
                drop(own.take());
                run_job(g);
                own.get_or_insert_with(OwnThread::register);
                deadlock::BLOCKING_JOBS.fetch_sub(1, Ordering::SeqCst);
                st = self.lock();
                continue;
            }
            st.idle += 1;
            let (next, to) = self
                .cond
                .wait_timeout(st, KEEP_ALIVE)
                .unwrap_or_else(|e| e.into_inner());
            st = next;
            st.idle -= 1;
            if to.timed_out() && st.queue.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }
}

/// Runs one job to completion on this thread.
fn run_job(g: GRef) {
    // SAFETY: the task never ran (it came straight from `new_task`) and this
    // thread holds its run reference, so this is its one run; the null
    // yielder is never used, because on a thread that is not a worker
    // `worker::current()` is `None` and nothing switches.
    unsafe { GRef::run_body(g.as_ptr(), std::ptr::null()) };
    g.header().state.finish();
    drop(g);
}
