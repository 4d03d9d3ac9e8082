//! The registry of live coroutines: what `goro::dump()`, `goro::coroutines()`,
//! deadlock reports and the leak check walk. One intrusive, singly linked
//! [`List`] per worker, threaded through the coroutine headers' `reg_next`
//! field.
//!
//! # How it stays cheap
//!
//! * **Registration at the first switch-out**, not at spawn or first run:
//!   when a coroutine parks or yields for the first time, the worker that
//!   ran it (the one that first ran it: it never left) pushes it on its
//!   own list, before the park commits: loads and stores on lines nobody
//!   else writes (rule R1). `go!` pays nothing, and a coroutine that runs
//!   to completion without blocking (most of `spawn` and `skynet`) is never
//!   listed at all. Until then it is visible to readers as its worker's
//!   running coroutine: the worker tags the running word of a first run
//!   (rule R4). A coroutine spawned and not yet started is not listed;
//!   snapshots count those instead (live coroutines minus the ones seen).
//!   (A coroutine that `try_spawn` gave a stack early lists itself at its
//!   first resume, `sched/worker.rs`, `list_running`.)
//! * **Exit unlisted, or where it is listed as the list's head**: the
//!   worker hands the list its run reference instead of dropping it (for a
//!   head, after a store to `head` that unlinks it; the entry's own link is
//!   left intact for a reader standing on it), and keeps it in a private
//!   array of popped entries (no header field: the header stays small).
//!   They are freed in batches ([`List::flush`]): take and release the lock
//!   (any reader that could have reached the entries has finished), then
//!   drop the references. No fence or read-modify-write at exit; one lock
//!   per batch of [`FLUSH_BATCH`], or at the worker's next fairness tick, or
//!   before it sleeps.
//!   A local exit first pops the finished entries above it (stayed here,
//!   or finished on other workers after a steal), the same way: so one
//!   steal does not leave every later exit below a dead head.
//! * **Exit otherwise** (it parked and others were listed on its worker
//!   since, or it migrated): it stays listed, marked `DONE` by its state
//!   word, with a reference the list owns (the run reference handed over,
//!   or, from another worker, one taken before marking it `DONE`), until a
//!   full sweep.
//! * **Full sweep** ([`List::sweep`], owner only, under the lock): unlinks
//!   the `DONE` entries. Amortised: it runs when the pushes plus the dead
//!   entries since the last sweep exceed the entries that sweep kept (at
//!   least [`SWEEP_MIN`]; checked at fairness ticks and at pushes made off
//!   a coroutine's stack), and only if some entry finished since (a list
//!   of live coroutines is not walked again and again while it grows: the
//!   `parked` benchmark walked each entry twice for nothing); a worker
//!   about to sleep also sweeps once the dead entries reach an eighth of
//!   the kept ones.
//!
//! So a finished task (its block, and a detached coroutine's unread result)
//! is freed soon after its exit when it finished unlisted or as its list's
//! head, and within the amortised bounds above otherwise.
//!
//! # Rules (cited by `// SAFETY:` comments)
//!
//! * **R1 (one writer of the links).** Only the list's owner (its worker,
//!   on its own thread) changes `head`, a listed header's `reg_next`, or
//!   the popped array: pushes publish the new head with a release store after
//!   writing its link; a head pop only moves `head`; other unlinking
//!   happens in a sweep, under the lock.
//! * **R2 (readers lock).** A reader ([`List::for_each`]) holds the lock
//!   while it walks. A swept entry is freed after the sweep released the
//!   lock, a popped one after a later lock and release: either way, any
//!   reader that could reach it has finished, and later readers start from
//!   a head that no longer leads to it.
//! * **R3 (listed means live).** A listed header is running, queued or
//!   parked (its run reference keeps it), or `DONE` with a reference the
//!   list owns (the run reference handed over, or the one given at a
//!   remote exit), dropped by the sweep after unlinking, outside the lock
//!   (dropping a task may run user `Drop` code).
//! * **R4 (a first run is reachable through the running word).** A worker
//!   resuming a coroutine for its first run stores the running word with
//!   [`UNLISTED_TAG`] set, and stores it untagged once the coroutine is
//!   listed (it is then still running there), or clears it before the run
//!   reference can be dropped. Such a coroutine is not freed before a
//!   cycle of that worker's list lock that the worker started after it
//!   overwrote the tagged word: unlisted or head exits go through the
//!   popped array (flushed under the lock), other exits leave it in that
//!   worker's list (it is listed where it first ran), freed by a sweep. So
//!   a reader holding that list's lock that loads a tagged word may read
//!   the header it names until it releases the lock: either the clear
//!   happened before the lock cycle, and then before the reader's load
//!   (which cannot return the older tagged value), or the cycle waits for
//!   the reader. An untagged word is never dereferenced by others (they
//!   look it up in the lists, `sched/mod.rs` rule W2).
//!
//! # What a reader may read
//!
//! Immutable header fields (id, name, spawn site, stack size, scope),
//! atomics (state, pin, the packed wait reason). Never the `UnsafeCell`s.
//!
//! Alternatives rejected: registering at first run (measured: about 15
//! instructions per coroutine for the push and the head unlink, paid by
//! every coroutine that never blocks); registering at spawn (measured: the spawning
//! worker's list then held coroutines that finished on other workers, and
//! its sweeps read headers those workers had just written, a cache miss per
//! spawn on the spawn benchmark); a doubly linked list unlinked by the
//! owner at every local exit (measured: `parked_wake_all` 1.13x slower,
//! each exit writing its two neighbours' cold headers, for at most 1-2% on
//! `skynet` and `spawn`); unlinking at exit with the entry freed at once (a
//! store-load fence per exit to exclude concurrent readers, or a lock); a
//! list unlinked by whichever worker the coroutine exits on (a lock,
//! usually another worker's, per exit); a sharded hash set (a lock and a
//! hash per spawn and per exit); walking the task allocator's chunks
//! (freed blocks are rewritten without synchronisation).

use std::ptr::{self, NonNull};
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

use super::state::DONE;
use super::{Header, dec_ref, inc_ref};

/// Fewest pushes between two sweeps of a list.
pub(crate) const SWEEP_MIN: usize = 256;

/// Most popped entries kept on a dead stack before it is freed.
pub(crate) const FLUSH_BATCH: usize = 64;

/// Low bit of a worker's running word: the coroutine is in its first run,
/// not listed (rule R4). Headers are 8-byte aligned, so the bit is free.
pub(crate) const UNLISTED_TAG: usize = 1;

/// `reg_home` of a coroutine no list holds (yet). A listed one's is its
/// list's worker index plus one: 0 keeps the header's initial value all
/// zero bytes after the spawn-time fields (`g/mod.rs`, `Header`'s layout).
pub(crate) const UNLISTED_HOME: u16 = 0;

/// Whether `h` is not listed: it has not switched out yet (`reg_home` is
/// written once, by its runner, when it is listed). For its runner only.
#[inline]
pub(crate) fn unlisted(h: &Header) -> bool {
    h.reg_home.load(Ordering::Relaxed) == UNLISTED_HOME
}

/// A running word without its tag: the header pointer. An integer `&`
/// (`map_addr` costs a subtraction and an addition more on paths like
/// `current()`); the result is compared, or dereferenced as rule R4 or
/// the caller's own run reference allows, never with another provenance
/// than the pointer that was tagged.
#[inline]
pub(crate) fn untag(word: *mut Header) -> *mut Header {
    (word as usize & !UNLISTED_TAG) as *mut Header
}

/// What the exiting worker does with the run reference (see [`on_exit`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Exit {
    /// Hand it to the popped array ([`List::keep_popped`]) once the
    /// coroutine is marked `DONE`: it exits unlisted, or it was our head
    /// and is unlinked.
    Pop,
    /// Forget it: the list holds it (the entry stays listed, `DONE`).
    Stay,
    /// Drop it: the home list took a reference of its own.
    Drop,
}

/// One worker's list of registered coroutines. See the module docs.
/// Counters are written by the owner only, except `remote_dead`.
pub(crate) struct List {
    head: AtomicPtr<Header>,
    /// Taken by readers and by sweeps and flushes (rule R2).
    lock: Mutex<()>,
    /// Pushes, and finished entries left in the list by this worker, since
    /// the last sweep.
    work: AtomicUsize,
    /// The finished entries left in the list by this worker since the last
    /// sweep (also counted in `work`): a due sweep with none of these and
    /// no `remote_dead` would find nothing, and is skipped.
    dead: AtomicUsize,
    /// `work` that triggers the next sweep: `max(SWEEP_MIN, kept)`.
    sweep_at: AtomicUsize,
    /// Entries the last sweep left.
    kept: AtomicUsize,
    /// Finished entries left in the list by other workers (any thread
    /// adds). On a line of its own: another worker's exit adds to it, and
    /// it must not take the owner's `head` and counters with it (every
    /// push and exit here writes those).
    remote_dead: CachePadded<AtomicUsize>,
    /// Popped entries waiting to be freed: `popped[..npopped]`.
    popped: [AtomicPtr<Header>; FLUSH_BATCH],
    npopped: AtomicUsize,
}

impl List {
    pub(crate) const fn new() -> Self {
        List {
            head: AtomicPtr::new(ptr::null_mut()),
            lock: Mutex::new(()),
            work: AtomicUsize::new(0),
            dead: AtomicUsize::new(0),
            sweep_at: AtomicUsize::new(SWEEP_MIN),
            kept: AtomicUsize::new(0),
            remote_dead: CachePadded::new(AtomicUsize::new(0)),
            popped: [const { AtomicPtr::new(ptr::null_mut()) }; FLUSH_BATCH],
            npopped: AtomicUsize::new(0),
        }
    }

    /// A sweep is due by the count: walk only if something finished in
    /// the list since the last one. Otherwise keep counting and double the
    /// threshold: `work` then counts every push and dead entry since the
    /// last walk, the list holds at most `kept` plus those, and the next
    /// walk comes once `work` passes a threshold of at least both `kept`
    /// and half of `work` at this point; so a walk costs O(1) per unit of
    /// `work`, however the pushes and exits interleave. (Restarting the
    /// count instead let a list grown while nothing died be walked whole
    /// every `SWEEP_MIN` exits afterwards.)
    #[cold]
    fn sweep_if_dead(&self) {
        if self.dead.load(Ordering::Relaxed) == 0 && self.remote_dead.load(Ordering::Acquire) == 0 {
            let work = self.work.load(Ordering::Relaxed);
            self.sweep_at
                .store(work.saturating_mul(2), Ordering::Relaxed);
        } else {
            self.sweep();
        }
    }

    /// Lists `h` (at its first switch-out, or its first resume for an
    /// early-stacked one). Owner only (rule R1). No sweep here: the caller
    /// may be on a coroutine's stack, or have a coroutine running, where a
    /// task destructor run by a sweep could park; a due sweep is done at
    /// the next fairness tick ([`List::tidy`]). Returns whether one is due.
    #[inline]
    pub(crate) fn push_no_sweep(&self, h: NonNull<Header>) -> bool {
        // SAFETY: the caller runs `h` (it holds the run reference).
        let hdr = unsafe { h.as_ref() };
        hdr.reg_next
            .store(self.head.load(Ordering::Relaxed), Ordering::Relaxed);
        self.head.store(h.as_ptr(), Ordering::Release);
        let n = self.work.load(Ordering::Relaxed) + 1;
        self.work.store(n, Ordering::Relaxed);
        n > self.sweep_at.load(Ordering::Relaxed)
    }

    /// Frees the dead stack if it holds anything, and sweeps if one is
    /// due; owner only, on the worker's own stack with no coroutine
    /// running (fairness ticks, before sleeping). `sleeping`: the worker is about
    /// to sleep, so also sweep if the dead entries in the list reach an
    /// eighth of the kept ones.
    #[inline]
    pub(crate) fn tidy(&self, sleeping: bool) {
        if self.npopped.load(Ordering::Relaxed) != 0 {
            self.flush();
        }
        let remote = self.remote_dead.load(Ordering::Relaxed);
        let kept = self.kept.load(Ordering::Relaxed);
        // Remote exits against the list's size (not the doubled threshold
        // of `sweep_if_dead`): their tasks wait for this sweep.
        if remote > SWEEP_MIN.max(kept) {
            self.sweep();
        } else if self.work.load(Ordering::Relaxed) > self.sweep_at.load(Ordering::Relaxed) {
            self.sweep_if_dead();
        } else if sleeping {
            let dead = self.dead.load(Ordering::Relaxed) + remote;
            if dead != 0 && dead * 8 >= kept {
                self.sweep();
            }
        }
    }

    /// Takes over the run reference of `h`, which exited on this list's
    /// worker and is marked `DONE` (an [`Exit::Pop`]), or the list's
    /// reference of a finished entry [`on_exit`] popped off the top, until
    /// the next flush; frees the batch when it is full. Owner only, on the worker's
    /// own stack with its running word cleared (rule R4).
    #[inline]
    pub(crate) fn keep_popped(&self, h: NonNull<Header>) {
        let n = self.npopped.load(Ordering::Relaxed);
        self.popped[n].store(h.as_ptr(), Ordering::Relaxed);
        self.npopped.store(n + 1, Ordering::Relaxed);
        if n + 1 == FLUSH_BATCH {
            self.flush();
        }
    }

    /// At the exit of a listed `h` on this list's worker, before `h` is
    /// marked `DONE`: if `h` is the head (it ran to completion here, the
    /// common case), unlinks it and returns `true` (an [`Exit::Pop`]).
    /// Only the owner writes `head` (R1), and only with entries of this
    /// list, so this also proves `h` is listed here. [`on_exit`] does the
    /// rest; the worker tests this first, inline.
    #[inline]
    pub(crate) fn pop_if_head(&self, h: NonNull<Header>) -> bool {
        if self.head.load(Ordering::Relaxed) != h.as_ptr() {
            return false;
        }
        // SAFETY: the caller runs `h`, so it is live.
        let next = unsafe { h.as_ref() }.reg_next.load(Ordering::Relaxed);
        // Pop (R1, R2): readers may stand on `h`; its `reg_next` stays.
        self.head.store(next, Ordering::Release);
        true
    }

    /// Frees the dead stack (rule R2). Owner only.
    #[cold]
    fn flush(&self) {
        drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
        let n = self.npopped.load(Ordering::Relaxed);
        self.npopped.store(0, Ordering::Relaxed);
        for slot in &self.popped[..n] {
            if let Some(h) = NonNull::new(slot.load(Ordering::Relaxed)) {
                // A popped entry, alive by the list's reference (R3).
                dec_ref(h);
            }
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
    /// them chained through their `reg_next` (no allocation; no reader can
    /// reach them once the lock is released, R2).
    fn unlink_done(&self) -> *mut Header {
        let mut dead: *mut Header = ptr::null_mut();
        let mut kept = 0;
        let mut prev: Option<&Header> = None;
        // Remote exits counted before this point are found by this walk.
        let remote = self.remote_dead.load(Ordering::Acquire);
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
        self.work.store(0, Ordering::Relaxed);
        self.dead.store(0, Ordering::Relaxed);
        self.kept.store(kept, Ordering::Relaxed);
        self.sweep_at.store(SWEEP_MIN.max(kept), Ordering::Relaxed);
        self.remote_dead.fetch_sub(remote, Ordering::Relaxed);
        dead
    }

    /// Calls `f` on every listed header that has not finished, under the
    /// lock (rule R2). `f` must not block or spawn.
    pub(crate) fn for_each(&self, f: impl FnMut(&Header)) {
        self.for_each_with_running(None, f);
    }

    /// [`List::for_each`], plus the coroutine in its first run on this
    /// list's worker (a tagged `running` word, rule R4), unless the walk
    /// met it (it got listed meanwhile). `running` is the worker's running
    /// word.
    pub(crate) fn for_each_with_running(
        &self,
        running: Option<&AtomicPtr<Header>>,
        mut f: impl FnMut(&Header),
    ) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // Loaded under the lock, before the walk: if it is listed by the
        // time we read `head`, the walk meets it.
        let first = running
            .map(|r| r.load(Ordering::Relaxed))
            .filter(|p| p.addr() & UNLISTED_TAG != 0)
            .map(untag);
        let mut met = false;
        let mut cur = self.head.load(Ordering::Acquire);
        while let Some(h) = NonNull::new(cur) {
            // SAFETY: R2 and R3: nobody frees a header we can reach while we
            // hold the lock.
            let hdr = unsafe { h.as_ref() };
            met |= first == Some(cur);
            if hdr.state.load() != DONE {
                f(hdr);
            }
            cur = hdr.reg_next.load(Ordering::Acquire);
        }
        if let Some(p) = first.filter(|_| !met) {
            // SAFETY: rule R4: a tagged running word loaded under this
            // list's lock names a header that stays live until we release
            // it.
            let hdr = unsafe { &*p };
            if hdr.state.load() != DONE {
                f(hdr);
            }
        }
    }
}

/// At the exit of a listed `h`, run by worker `me` whose list is `mine`,
/// *before* `h` is marked `DONE` (rule R3: a sweep must never find it
/// `DONE` without the list's reference). `home` is the list that holds it.
/// Says what the caller does with its run reference once `h` is `DONE`
/// (for [`Exit::Pop`] it is unlinked already). A coroutine that exits
/// unlisted (in its first run), or as `mine`'s head
/// ([`List::pop_if_head`], tested first by the caller), does not come
/// here: either is an [`Exit::Pop`] by itself.
#[inline(never)]
pub(crate) fn on_exit(
    h: NonNull<Header>,
    me: usize,
    mine: &List,
    home: impl FnOnce(usize) -> &'static List,
) -> Exit {
    // SAFETY: the caller runs `h`.
    let hdr = unsafe { h.as_ref() };
    // The common case, `h` is our head, was handled by the caller
    // ([`List::pop_if_head`]).
    let mut head = mine.head.load(Ordering::Relaxed);
    // Listed (not unlisted: the caller checked), so `reg_home` is its
    // list's index plus one.
    let at = usize::from(hdr.reg_home.load(Ordering::Relaxed)) - 1;
    if at != me {
        inc_ref(h);
        home(at).remote_dead.fetch_add(1, Ordering::Release);
        return Exit::Drop;
    }
    // Listed here, below finished entries (ones that stayed here, or
    // finished on other workers after a steal: every exit after the first
    // steal in `parked_wake_all` at two workers): pop those into the
    // popped array like a head, so that `h` may be the head after all and
    // nobody waits for a sweep. Each `DONE` entry holds the list's
    // reference (R3); its `Acquire` load of the state orders the remote
    // exit's `inc_ref` before our use. The `dead`/`remote_dead` counts of
    // the popped ones stay: at worst a sweep comes early and finds less
    // (it resets the counts). A live entry on top stops the walk.
    while let Some(top) = NonNull::new(head) {
        // SAFETY: R3: a listed header is live; we are the list's owner, so
        // nobody unlinks it under us (R1).
        let t = unsafe { top.as_ref() };
        if t.state.load() != DONE {
            break;
        }
        head = t.reg_next.load(Ordering::Relaxed);
        mine.head.store(head, Ordering::Release);
        // After its last use here: the batch may be freed at once.
        mine.keep_popped(top);
        if head == h.as_ptr() {
            mine.head
                .store(hdr.reg_next.load(Ordering::Relaxed), Ordering::Release);
            return Exit::Pop;
        }
    }
    // Counted towards the next sweep (checked at the next fairness tick).
    mine.work
        .store(mine.work.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    mine.dead
        .store(mine.dead.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    Exit::Stay
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
        // One test for both fields (this runs at every park).
        if (p >> 48 | n >> 16) == 0 {
            self.0.store(p | n << 48, Ordering::Relaxed);
        } else {
            self.set_unpackable();
        }
    }

    #[cold]
    fn set_unpackable(&self) {
        let w = UNPACKABLE.as_ptr() as u64 | (UNPACKABLE.len() as u64) << 48;
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

/// The generation of the own-thread list (no allocation).
pub(crate) fn own_thread_generation() -> u64 {
    own_threads().1
}

/// How many own threads are listed (no allocation: the deadlock check).
pub(crate) fn own_thread_count() -> usize {
    own_threads().0.len()
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
