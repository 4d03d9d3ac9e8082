//! The registry of live coroutines: what `goro::dump()`, `goro::coroutines()`,
//! deadlock reports and the leak check walk. One intrusive, singly linked
//! [`List`] per worker, threaded through the coroutine headers' `reg_next`
//! field.
//!
//! # How it stays cheap
//!
//! * **Registration at first run**, not at spawn: the worker that first runs
//!   a coroutine (already the cold path: it takes a stack and builds the
//!   context) pushes it on its own list: loads and stores on lines nobody
//!   else writes (rule R1). `go!` itself pays nothing. The price: a
//!   coroutine spawned and not yet started is not listed; snapshots count
//!   those instead (live coroutines minus listed ones).
//! * **Exit on the registering worker** (every coroutine that runs to
//!   completion without migrating): no registry work at all. The worker
//!   hands the coroutine's run reference to the list instead of dropping
//!   it ([`on_exit`]), and counts one dead entry.
//! * **Exit elsewhere**: the exiting worker gives the home list a reference
//!   of its own (one increment) before it marks the coroutine `DONE`.
//! * **Sweep** ([`List::sweep`], owner only, under the lock): unlinks the
//!   `DONE` entries and drops the list's references (freeing the tasks).
//!   It runs when the pushes since the last sweep exceed the entries that
//!   sweep kept (at least [`SWEEP_MIN`]), and, if dead entries are pending,
//!   every 61st scheduling tick and before the worker sleeps. So a task's
//!   block (and a detached coroutine's result) is freed a little later than
//!   its exit, never later than its worker's next fairness tick or idle.
//!
//! # Rules (cited by `// SAFETY:` comments)
//!
//! * **R1 (one writer of the links).** Only the list's owner (its worker,
//!   on its own thread) changes `head` or a listed header's `reg_next`:
//!   pushes publish the new head with a release store after writing its
//!   link; unlinking happens only in a sweep, under the lock.
//! * **R2 (readers lock).** A reader ([`List::for_each`]) holds the lock
//!   while it walks, so it never meets an entry a sweep is freeing; a push
//!   racing with it only adds a complete entry at the head.
//! * **R3 (listed means live).** A listed header is running, queued or
//!   parked (its run reference keeps it), or `DONE` with a reference the
//!   list owns (the run reference handed over, or the one given at a
//!   remote exit), dropped by the sweep after unlinking, outside the lock
//!   (dropping a task may run user `Drop` code).
//!
//! # What a reader may read
//!
//! Immutable header fields (id, name, spawn site, stack size, scope),
//! atomics (state, pin, the packed wait reason). Never the `UnsafeCell`s.
//!
//! Alternatives rejected: registering at spawn (measured: the spawning
//! worker's list then held coroutines that finished on other workers, and
//! its sweeps read headers those workers had just written, a cache miss per
//! spawn on the spawn benchmark); unlinking at exit (a store-load fence per
//! exit to exclude concurrent readers, or a lock); a doubly linked list (a
//! lock, usually another worker's, per exit); a sharded hash set (a lock
//! and a hash per spawn and per exit); walking the task allocator's chunks
//! (freed blocks are rewritten without synchronisation).

use std::ptr::{self, NonNull};
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use super::state::DONE;
use super::{Header, dec_ref, inc_ref};

/// Fewest pushes between two sweeps of a list.
pub(crate) const SWEEP_MIN: usize = 256;

/// One worker's list of registered coroutines. See the module docs.
pub(crate) struct List {
    head: AtomicPtr<Header>,
    /// Taken by readers and by the sweep (rule R2).
    lock: Mutex<()>,
    /// Pushes since the last sweep (written by the owner only).
    pushed: AtomicUsize,
    /// Entries the last sweep left (written by the owner only).
    kept: AtomicUsize,
    /// Entries that finished on this worker since the last sweep (written
    /// by the owner only).
    dead: AtomicUsize,
}

impl List {
    pub(crate) const fn new() -> Self {
        List {
            head: AtomicPtr::new(ptr::null_mut()),
            lock: Mutex::new(()),
            pushed: AtomicUsize::new(0),
            kept: AtomicUsize::new(0),
            dead: AtomicUsize::new(0),
        }
    }

    /// Lists `h` at its first run. Owner only (rule R1), on the worker's
    /// own stack.
    #[inline]
    pub(crate) fn push(&self, h: NonNull<Header>) {
        // SAFETY: the caller runs `h` (it holds the run reference).
        let hdr = unsafe { h.as_ref() };
        hdr.reg_next
            .store(self.head.load(Ordering::Relaxed), Ordering::Relaxed);
        self.head.store(h.as_ptr(), Ordering::Release);
        let n = self.pushed.load(Ordering::Relaxed) + 1;
        self.pushed.store(n, Ordering::Relaxed);
        if n > SWEEP_MIN.max(self.kept.load(Ordering::Relaxed)) {
            self.sweep();
        }
    }

    /// Sweeps if entries finished here since the last sweep. Owner only,
    /// on the worker's own stack (fairness ticks, before sleeping).
    #[inline]
    pub(crate) fn sweep_if_dead(&self) {
        if self.dead.load(Ordering::Relaxed) != 0 {
            self.sweep();
        }
    }

    /// Unlinks finished entries and drops their references. Owner only.
    #[cold]
    pub(crate) fn sweep(&self) {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let dead = self.unlink_done();
        drop(guard);
        release(dead);
    }

    /// Under the lock, by the owner: unlinks every `DONE` entry and returns
    /// them chained through `reg_next` (no allocation).
    fn unlink_done(&self) -> *mut Header {
        let mut dead: *mut Header = ptr::null_mut();
        let mut kept = 0;
        let mut prev: Option<&Header> = None;
        let mut cur = self.head.load(Ordering::Relaxed);
        while let Some(h) = NonNull::new(cur) {
            // SAFETY: R3: listed headers are live while we hold the lock.
            let hdr = unsafe { h.as_ref() };
            let next = hdr.reg_next.load(Ordering::Relaxed);
            if hdr.state.load() == DONE {
                match prev {
                    None => self.head.store(next, Ordering::Release),
                    Some(p) => p.reg_next.store(next, Ordering::Release),
                }
                hdr.reg_next.store(dead, Ordering::Relaxed);
                dead = cur;
            } else {
                kept += 1;
                prev = Some(hdr);
            }
            cur = next;
        }
        self.pushed.store(0, Ordering::Relaxed);
        self.kept.store(kept, Ordering::Relaxed);
        self.dead.store(0, Ordering::Relaxed);
        dead
    }

    /// Calls `f` on every listed header that has not finished, under the
    /// lock (rule R2). `f` must not block or spawn.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut cur = self.head.load(Ordering::Acquire);
        while let Some(h) = NonNull::new(cur) {
            // SAFETY: R2 and R3: nobody frees a header we can reach while we
            // hold the lock.
            let hdr = unsafe { h.as_ref() };
            if hdr.state.load() != DONE {
                f(hdr);
            }
            cur = hdr.reg_next.load(Ordering::Acquire);
        }
    }
}

/// At the exit of `h`, run by worker `me` whose list is `mine`, *before*
/// `h` is marked `DONE` (rule R3: a sweep must never find it `DONE`
/// without the list's reference). Returns `true` if the list took over the
/// caller's run reference (the caller must then `forget` it, not drop it);
/// otherwise the home list got a reference of its own.
#[inline]
pub(crate) fn on_exit(h: NonNull<Header>, me: usize, mine: &List) -> bool {
    // SAFETY: the caller runs `h`.
    let home = unsafe { h.as_ref() }.reg_home.load(Ordering::Relaxed);
    if home == me {
        mine.dead
            .store(mine.dead.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        true
    } else {
        inc_ref(h);
        false
    }
}

/// Drops the list references of a chain made by `unlink_done`.
fn release(mut cur: *mut Header) {
    while let Some(h) = NonNull::new(cur) {
        // SAFETY: unlinked by us; the chain is ours alone and each entry
        // still holds the list's reference.
        cur = unsafe { h.as_ref() }.reg_next.load(Ordering::Relaxed);
        dec_ref(h);
    }
}

/// A wait reason packed into one word so that readers on other threads can
/// load it without tearing: the pointer in the low 48 bits, the length in
/// the high 16. Written by the coroutine's runner at park (a plain store).
pub(crate) struct WaitReason(AtomicU64);

/// Stored when a reason does not fit the packing (never for goro's own).
const UNPACKABLE: &str = "?";

impl WaitReason {
    pub(crate) const fn new() -> Self {
        WaitReason(AtomicU64::new(0))
    }

    #[inline]
    pub(crate) fn set(&self, r: &'static str) {
        let (p, n) = (r.as_ptr() as u64, r.len() as u64);
        let w = if p >> 48 == 0 && n >> 16 == 0 {
            p | n << 48
        } else {
            UNPACKABLE.as_ptr() as u64 | (UNPACKABLE.len() as u64) << 48
        };
        self.0.store(w, Ordering::Relaxed);
    }

    /// The last reason set ("" before the first park).
    pub(crate) fn get(&self) -> &'static str {
        let w = self.0.load(Ordering::Relaxed);
        if w == 0 {
            return "";
        }
        let (p, n) = ((w & ((1 << 48) - 1)) as *const u8, (w >> 48) as usize);
        // SAFETY: every non-zero word was made by `set` from one
        // `&'static str` (pointer and length stored together in one atomic
        // word, so they cannot come from two different strings).
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(p, n)) }
    }
}

/// goro's own threads (workers, the stack scavenger, and later the monitor
/// and idle pool threads): their kernel thread ids, and a generation bumped
/// by every change. A thread is listed only while it cannot run user code,
/// so the deadlock check may count it as unable to wake anybody; a pool
/// thread that runs user code drops its [`OwnThread`] first (then it counts
/// as a plain thread, quiet only while asleep in a goro wait).
static OWN_THREADS: Mutex<(Vec<i32>, u64)> = Mutex::new((Vec::new(), 0));

fn own_threads() -> std::sync::MutexGuard<'static, (Vec<i32>, u64)> {
    OWN_THREADS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Lists the calling thread as one of goro's own until dropped.
pub(crate) struct OwnThread(i32);

impl OwnThread {
    pub(crate) fn register() -> OwnThread {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        let mut g = own_threads();
        g.0.push(tid);
        g.1 += 1;
        OwnThread(tid)
    }
}

impl Drop for OwnThread {
    fn drop(&mut self) {
        let mut g = own_threads();
        g.0.retain(|&t| t != self.0);
        g.1 += 1;
    }
}

/// The own threads' ids and the generation of that list.
pub(crate) fn own_thread_ids() -> (Vec<i32>, u64) {
    let g = own_threads();
    (g.0.clone(), g.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_round_trip() {
        let r = WaitReason::new();
        assert_eq!(r.get(), "");
        r.set("chan receive");
        assert_eq!(r.get(), "chan receive");
        r.set("sync.Mutex.Lock");
        assert_eq!(r.get(), "sync.Mutex.Lock");
    }
}
