//! The registry of live coroutines: what `goro::dump()`, `goro::coroutines()`,
//! deadlock reports and the leak check walk. One intrusive, singly linked
//! [`List`] per worker (plus one for spawns made off the workers), threaded
//! through the coroutine headers' `reg_next` field, with *lazy removal*.
//!
//! # How it stays cheap
//!
//! * **Spawn** pushes the new header on the spawning worker's own list: two
//!   relaxed loads and two stores, no read-modify-write, no lock, nothing
//!   another thread writes (rule R1). The list's entry owns one reference
//!   to the task (`new_task` starts the count at 3: run, join handle,
//!   registry), so the header stays readable while it is listed.
//! * **Exit** does nothing here: the state word already says `DONE`.
//! * **Sweep**: every so often (when the pushes since the last sweep exceed
//!   the survivors of that sweep, and at least [`SWEEP_MIN`]) the owner
//!   unlinks its `DONE` entries and drops their references. Amortised, a
//!   spawn pays for about two header reads; a finished task's block is
//!   recycled at the next sweep instead of at once, so a worker holds at
//!   most about twice its live coroutines plus [`SWEEP_MIN`] task blocks.
//!
//! # Rules (cited by `// SAFETY:` comments)
//!
//! * **R1 (one writer of the links).** Only the list's owner changes `head`
//!   or any `reg_next` of a listed header: the worker for its own list (at
//!   spawn and sweep), whoever holds `lock` for the foreign list.
//! * **R2 (readers lock).** A reader ([`List::for_each`]) holds `lock`; a
//!   sweep holds it while it unlinks. A push does not take it (the owner
//!   publishes the new head with a release store after writing its link, so
//!   a reader that loads the head with acquire sees a complete chain).
//! * **R3 (listed means live).** A listed header owns a reference; the
//!   sweep drops it only after unlinking under the lock, so a reader under
//!   the lock never sees a freed header. References are dropped *after*
//!   the lock is released: dropping a task may run user `Drop` code, which
//!   may block.
//!
//! # What a reader may read
//!
//! Immutable header fields (id, name, spawn site, stack size), atomics (state,
//! pin, the packed wait reason). Never the `UnsafeCell` fields.
//!
//! Alternatives rejected: a doubly linked list with removal at exit (a lock
//! of the *spawning* worker's list at every exit, usually from another
//! worker: a shared cache line per coroutine); a sharded hash set keyed by
//! id (a lock and a hash per spawn and per exit); walking the task
//! allocator's chunks (freed blocks are reused without a marker, and large
//! tasks come from the system allocator).

use std::ptr::{self, NonNull};
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use super::state::DONE;
use super::{Header, dec_ref};

/// Fewest pushes between two sweeps of a list.
pub(crate) const SWEEP_MIN: usize = 256;

/// One list of registered coroutines. See the module docs.
pub(crate) struct List {
    head: AtomicPtr<Header>,
    /// Taken by readers and by the sweep (rule R2), and by foreign pushes.
    lock: Mutex<()>,
    /// Pushes since the last sweep (written by the owner only).
    pushed: AtomicUsize,
    /// Entries the last sweep left (written by the owner only).
    kept: AtomicUsize,
}

impl List {
    pub(crate) const fn new() -> Self {
        List {
            head: AtomicPtr::new(ptr::null_mut()),
            lock: Mutex::new(()),
            pushed: AtomicUsize::new(0),
            kept: AtomicUsize::new(0),
        }
    }

    /// Lists `h`, whose registry reference the list takes over. Owner only
    /// (rule R1): the worker that owns this list, on its own thread.
    #[inline]
    pub(crate) fn push_owned(&self, h: NonNull<Header>) {
        // SAFETY: `h` is a fresh task the caller holds references to.
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

    /// Lists `h` from any thread (the foreign list): the lock makes the
    /// caller the owner for the moment (rule R1).
    pub(crate) fn push_shared(&self, h: NonNull<Header>) {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: as in `push_owned`.
        let hdr = unsafe { h.as_ref() };
        hdr.reg_next
            .store(self.head.load(Ordering::Relaxed), Ordering::Relaxed);
        self.head.store(h.as_ptr(), Ordering::Release);
        let n = self.pushed.load(Ordering::Relaxed) + 1;
        self.pushed.store(n, Ordering::Relaxed);
        let dead = if n > SWEEP_MIN.max(self.kept.load(Ordering::Relaxed)) {
            self.unlink_done()
        } else {
            ptr::null_mut()
        };
        drop(guard);
        release(dead);
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
        dead
    }

    /// Calls `f` on every listed header that has not finished, under the
    /// lock (rule R2). `f` must not block or spawn.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut cur = self.head.load(Ordering::Acquire);
        while let Some(h) = NonNull::new(cur) {
            // SAFETY: R3.
            let hdr = unsafe { h.as_ref() };
            if hdr.state.load() != DONE {
                f(hdr);
            }
            cur = hdr.reg_next.load(Ordering::Acquire);
        }
    }
}

/// Drops the registry references of a chain made by `unlink_done`.
fn release(mut cur: *mut Header) {
    while let Some(h) = NonNull::new(cur) {
        // SAFETY: unlinked by us; the chain is ours alone and each entry
        // still holds its registry reference.
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
