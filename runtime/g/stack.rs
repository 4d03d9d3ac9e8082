//! Coroutine stacks: carved from large mmap'd slabs, one guard page each,
//! recycled through a per-worker cache and a bounded global pool.
//!
//! # Layout
//!
//! A slab is one anonymous `MAP_NORESERVE` mapping holding `n` stacks of
//! equal size. Each stack is `[lo, lo + size)`; its lowest page is the guard,
//! the rest is usable and grows down from `lo + size`:
//!
//! ```text
//!  slab: | guard | usable ........ | guard | usable ........ | ...
//!        ^lo0                      ^lo1
//! ```
//!
//! Nothing is committed up front: a page costs memory only once the
//! coroutine touches it, so a coroutine that parks after using 3 KiB of stack
//! costs one page however large its stack is. `MADV_NOHUGEPAGE` keeps
//! transparent huge pages from turning that one page into two megabytes.
//!
//! A size's first slab reserves 64 MiB and each later one twice the last,
//! up to 1 GiB: a million default stacks take about 260 slabs instead of
//! 4,000. Each new slab is an `mmap` plus an `madvise` that take the
//! process's `mmap_lock` for writing and extend the stacks' VMA, which the
//! other workers' page faults on their new stacks can wait for (`ctxtree` at
//! n = 1M: build about 8% faster in alternating runs, `docs/benchmarks.md`,
//! 2026-12-03). The reserved but unused tail is at most the newest slab:
//! under 1 GiB, and about as much as the slabs before it. Under strict
//! overcommit (`vm.overcommit_memory = 2`, where `MAP_NORESERVE` is
//! ignored) it counts as committed.
//!
//! # Guard pages
//!
//! On Linux ≥ 6.13 the guard is installed with `madvise(MADV_GUARD_INSTALL)`,
//! which marks the page table entries and adds **no** mapping, so a million
//! stacks cost a few hundred mappings (one per slab, fewer once merged).
//! Older kernels reject the advice with `EINVAL`; we then fall back to
//! `mprotect(PROT_NONE)`, which splits the slab into two mappings per stack
//! and runs into
//! `vm.max_map_count` (65530 by default) near 32K live stacks. When the kernel
//! refuses, the error names the limit instead of a bare `ENOMEM`.
//!
//! ## Rule P1: guard pages go in without the pool's lock
//!
//! A taker that finds no free stack *claims* a run of fresh ones (up to
//! [`GUARD_BATCH_MAX`]) under the lock: the run leaves every list and the
//! slab's unclaimed tail. Until it *settles* the run (under the lock again:
//! what it needs to its cache, the rest to the `fresh` list, any the kernel
//! refused to `unguarded`), only the claimer knows those addresses, so the
//! `process_madvise` runs without the lock and two takers install disjoint
//! runs at once. Installing under the lock (the rule until 2026-12-03) made
//! the other worker wait for each 1,024-guard call and for any heap growth
//! the call's buffers needed: 20% of the workers' context switches in
//! `ctxtree` at n = 1M were that lock; claiming cut the build by 8%
//! (`docs/benchmarks.md`, fourth session).
//!
//! # Recycling (steady-state spawn makes no system call)
//!
//! * A stack is taken when a coroutine first runs and given back when it
//!   ends, on the worker that ran it: [`StackCache`] (per worker, default size
//!   only, no lock, at most [`CACHE_MAX`] stacks).
//! * Overflow goes to the global pool's *hot* list (touched pages still
//!   committed, so reuse does not page-fault). The list is a LIFO: the most
//!   recently used, cache-warm stacks go out first.
//! * A background thread, the *scavenger* (Go's has the same name), hands
//!   hot stacks back to the OS with `MADV_DONTNEED` (address-sorted and
//!   coalesced so a whole slab costs one call) once they have gone unused
//!   for a full [`SCAVENGE_PERIOD`], keeping [`HOT_MAX`] of them. Released
//!   stacks stay on the *cold* list: reusable, costing no memory. Address
//!   space is never unmapped; it is cheap and reuse stays syscall-free.
//!
//! ## The scavenger's rule
//!
//! The pool tracks, per size, the *low-water mark* of the hot list: the
//! shortest it has been since the last scavenge. A LIFO never touches the
//! entries below its low-water mark, so exactly those have been idle for
//! the whole period; the scavenger releases them (beyond `HOT_MAX`) and
//! starts a new period. It runs only while some size holds more than
//! `HOT_MAX` hot stacks, and otherwise waits on a condition variable that
//! `give` signals (under the pool's lock, so no signal is lost) when a size
//! first goes over.
//!
//! Releasing at once instead (the rule until 2026-11-28: above `2 *
//! HOT_MAX`, madvise the excess in `give`) made bursts pay twice: 100,000
//! coroutines that each sleep 10–19 ms gave their stacks back while later
//! ones were still starting, so the pool released pages it handed out again
//! a millisecond later (a `MADV_DONTNEED` with a TLB shoot-down, then a
//! page fault per stack), on the workers' own time.
//!
//! # Alternatives rejected
//!
//! * One `mmap` per stack (corosensei's `DefaultStack`): one or two mappings
//!   per coroutine and a system call on every spawn.
//! * Segmented or copying stacks (Go's): need compiler support to find and
//!   rewrite pointers into the stack.
//! * Unmapping empty slabs: saves only address space, costs bookkeeping and
//!   system calls on the spawn path.
//! * Scavenging from the workers (on `give`, or when one goes idle): the
//!   release then runs on the critical path of exactly the bursts that will
//!   reuse the stacks, and a program that goes quiet would keep its memory
//!   until the next `give`.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Default usable stack size: 128 KiB, or 256 KiB when goro is built with
/// debug assertions (the dev profile); free until touched either way.
///
/// * **Why not larger.** The size is address space, but the page tables
///   over it are memory: each parked coroutine touches one page at the top
///   of its stack, and every 2 MiB of address space holding such a page
///   costs a page-table page. At 256 KiB (plus the guard) that is one
///   table per eight coroutines, 512 bytes of page table each (a million
///   parked: 0.5 GB); at 128 KiB, one per sixteen (0.25 GB). Each table
///   is also a zeroed, charged page the spawning worker allocates:
///   `ctxtree` at a million coroutines built 10–12% faster at 128 KiB than
///   at 256 KiB (and the same at 64 KiB; `docs/benchmarks.md`, fifth
///   session).
/// * **Why not smaller.** Optimized code rarely needs more than a few KiB
///   per coroutine, but unoptimized frames are several times larger: the
///   same channel test (4 KiB values sent by value) needs 16–24 KiB of
///   stack optimized and 96–128 KiB unoptimized, where every layer of the
///   send keeps its own copies of the value. So debug builds, where tests
///   run, keep 256 KiB: code that fits there fits the optimized default
///   with room to spare.
/// * Go starts at 2 KiB and grows; a fixed stack cannot (`Alternatives
///   rejected` above), so the default is a trade, and `GORO_STACK_SIZE` or
///   `Builder::stack_size` changes it.
pub(crate) const DEFAULT_STACK_SIZE: usize = if cfg!(debug_assertions) {
    256 * 1024
} else {
    128 * 1024
};
/// Smallest stack a coroutine may ask for (usable bytes).
pub(crate) const MIN_STACK_SIZE: usize = 16 * 1024;
/// Largest stack a coroutine may ask for (usable bytes).
pub(crate) const MAX_STACK_SIZE: usize = 1 << 30;
/// Stacks a worker keeps for itself.
pub(crate) const CACHE_MAX: usize = 64;
/// Stacks moved between a worker cache and the pool at a time.
const BATCH: usize = CACHE_MAX / 2;
/// Hot (still committed) stacks the global pool keeps however long they
/// go unused.
pub(crate) const HOT_MAX: usize = 1024;
/// How long a pooled stack must go unused before the scavenger releases it.
pub(crate) const SCAVENGE_PERIOD: Duration = Duration::from_millis(500);
/// Address space reserved by a size's first slab; each later slab of
/// that size doubles it, up to [`SLAB_MAX_BYTES`].
const SLAB_BYTES: usize = 64 << 20;
/// Largest slab.
const SLAB_MAX_BYTES: usize = 1 << 30;

/// `MADV_GUARD_INSTALL` (Linux 6.13); not in every libc release yet.
const MADV_GUARD_INSTALL: libc::c_int = 102;
/// Guard pages installed per `process_madvise` call at first; after each
/// call the kernel completed, the next covers twice as many, up to
/// [`GUARD_BATCH_MAX`] (and the rest of the slab).
const GUARD_BATCH: usize = 256;
/// Most guard pages installed per `process_madvise` call. Each call holds
/// the process's `mmap_lock` for reading while it allocates the page-table
/// pages of its range, and the allocator's heap growth (`mprotect`, a
/// writer: tens of thousands per million coroutines with glibc's thread
/// arenas) waits for it and sleeps; up to four times fewer, longer calls
/// cut those sleeps (`ctxtree` at n = 1M: context switches 8.4k → 5.1k,
/// build 0.97x in wall and CPU time; `docs/benchmarks.md`, 2026-12-03 third
/// pass); 4,096 at a time measured slower (then under the pool's lock;
/// installs run outside it since rule P1, where 64–1,024 measured alike).
/// Starting at 256 keeps a small program's first take as cheap as before.
const GUARD_BATCH_MAX: usize = 1024;

/// The system page size.
pub(crate) fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}

/// Rounds a requested usable size to what a stack really gets (a page
/// multiple, clamped to the allowed range).
pub(crate) fn round_size(usable: usize) -> usize {
    let p = page_size();
    usable.clamp(MIN_STACK_SIZE, MAX_STACK_SIZE).div_ceil(p) * p
}

/// One coroutine stack: `[lo, lo + total)`, guard page at the bottom.
///
/// Owns its address range: no two `Stack` values overlap. Addresses are kept
/// as integers, so the type is `Send` without an unsafe impl; only
/// `coro.rs` turns them back into a stack for corosensei.
#[derive(Debug)]
pub(crate) struct Stack {
    lo: usize,
    total: usize,
}

impl Stack {
    /// Highest address (exclusive): where the stack starts growing down.
    pub(crate) fn top(&self) -> usize {
        self.lo + self.total
    }
    /// Lowest address, including the guard page.
    pub(crate) fn bottom(&self) -> usize {
        self.lo
    }
    /// The guard page range `[start, end)`.
    pub(crate) fn guard(&self) -> (usize, usize) {
        (self.lo, self.lo + page_size())
    }
    /// Usable bytes (total less the guard page).
    pub(crate) fn usable(&self) -> usize {
        self.total - page_size()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum GuardMode {
    Unknown = 0,
    Madvise = 1,
    Mprotect = 2,
}

static GUARD_MODE: AtomicU8 = AtomicU8::new(GuardMode::Unknown as u8);

fn install_guard(lo: usize) -> io::Result<()> {
    let p = page_size();
    let mode = GUARD_MODE.load(Ordering::Relaxed);
    if mode != GuardMode::Mprotect as u8 {
        // SAFETY: [lo, lo + p) lies inside a private anonymous mapping we
        // created and own; no live data is there (the stack is not in use).
        let r = unsafe { libc::madvise(lo as *mut libc::c_void, p, MADV_GUARD_INSTALL) };
        if r == 0 {
            GUARD_MODE.store(GuardMode::Madvise as u8, Ordering::Relaxed);
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) || mode == GuardMode::Madvise as u8 {
            return Err(e);
        }
        GUARD_MODE.store(GuardMode::Mprotect as u8, Ordering::Relaxed);
    }
    // SAFETY: as above; PROT_NONE on a page nobody uses.
    let r = unsafe { libc::mprotect(lo as *mut libc::c_void, p, libc::PROT_NONE) };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOMEM) {
        return Err(io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "cannot install a stack guard page: the process has hit the kernel's limit on memory \
                 mappings (vm.max_map_count = {}); this kernel lacks MADV_GUARD_INSTALL (Linux 6.13+), \
                 so each coroutine stack costs two mappings. Raise the limit (sysctl -w \
                 vm.max_map_count=2000000) or upgrade the kernel ({e})",
                max_map_count()
            ),
        ));
    }
    Err(e)
}

/// A pidfd for this process, for `process_madvise` (`None`: unavailable).
fn self_pidfd() -> Option<libc::c_int> {
    static FD: std::sync::OnceLock<Option<libc::c_int>> = std::sync::OnceLock::new();
    *FD.get_or_init(|| {
        // SAFETY: pidfd_open(getpid(), 0) has no memory-safety preconditions.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
        (fd >= 0).then_some(fd as libc::c_int)
    })
}

static BATCH_GUARDS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Installs a guard page at the bottom of each of the `n` stacks that
/// start at `lo`, `stride` bytes apart. Returns how many of the leading
/// ones got their guard (all of them, unless the kernel refused part-way;
/// then an error if not even the first did).
///
/// With `MADV_GUARD_INSTALL` up to [`GUARD_BATCH_MAX`] guards are one
/// `process_madvise` call on our own pidfd (accepted for this advice since
/// Linux 6.13); otherwise one call per page. The iovecs live on this
/// thread's stack, so the install allocates nothing: a heap buffer could
/// grow the allocator's heap (an `mprotect`, which waits for the
/// address-space lock behind the other worker's install). Measured: no
/// difference on `ctxtree` (1.00, fourth session); kept as the plainer way.
fn install_guards(lo: usize, n: usize, stride: usize) -> io::Result<usize> {
    let p = page_size();
    let at = |i: usize| lo + i * stride;
    let mut done = 0;
    if BATCH_GUARDS.load(Ordering::Relaxed)
        && GUARD_MODE.load(Ordering::Relaxed) != GuardMode::Mprotect as u8
        && let Some(fd) = self_pidfd()
    {
        let mut iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; GUARD_BATCH_MAX];
        while done < n {
            let k = (n - done).min(GUARD_BATCH_MAX);
            for (j, v) in iov[..k].iter_mut().enumerate() {
                v.iov_base = at(done + j) as *mut libc::c_void;
                v.iov_len = p;
            }
            // SAFETY: every range is the first page of a stack in a private
            // anonymous mapping we own and nobody uses yet (rule P1); the
            // first `k` iovecs are initialized and outlive the call.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_process_madvise,
                    fd,
                    iov.as_ptr(),
                    k,
                    MADV_GUARD_INSTALL,
                    0,
                )
            };
            if r <= 0 {
                BATCH_GUARDS.store(false, Ordering::Relaxed);
                break;
            }
            GUARD_MODE.store(GuardMode::Madvise as u8, Ordering::Relaxed);
            let got = r as usize / p;
            done += got;
            if got < k {
                // Refused part-way: the rest one page at a time, below.
                break;
            }
        }
    }
    while done < n {
        match install_guard(at(done)) {
            Ok(()) => done += 1,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

fn max_map_count() -> String {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn map_slab(bytes: usize) -> io::Result<usize> {
    // SAFETY: a fresh anonymous private mapping at an address of the
    // kernel's choosing touches no existing memory.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!(
                "cannot reserve {} MiB of address space for coroutine stacks ({e}); the cause is either \
                 the address-space limit (ulimit -v) or the kernel's limit on memory mappings \
                 (vm.max_map_count = {})",
                bytes >> 20,
                max_map_count()
            ),
        ));
    }
    // Best effort: a failure only means THP may back stacks with huge pages.
    // SAFETY: advisory call on the mapping just created.
    unsafe { libc::madvise(p, bytes, libc::MADV_NOHUGEPAGE) };
    Ok(p as usize)
}

/// Returns the usable pages of `stacks` to the OS, coalescing neighbours.
fn release(stacks: &mut [Stack]) {
    stacks.sort_unstable_by_key(|s| s.lo);
    let p = page_size();
    let mut i = 0;
    while i < stacks.len() {
        let start = stacks[i].lo;
        let mut end = stacks[i].top();
        let mut j = i + 1;
        while j < stacks.len() && stacks[j].lo == end {
            end = stacks[j].top();
            j += 1;
        }
        // The range spans interior guard pages; MADV_DONTNEED keeps guard
        // markers (and PROT_NONE pages stay PROT_NONE), so they survive.
        // SAFETY: every page in the range belongs to a free stack we own;
        // discarding its contents is exactly the intent.
        unsafe {
            libc::madvise(
                (start + p) as *mut libc::c_void,
                end - start - p,
                libc::MADV_DONTNEED,
            )
        };
        i = j;
    }
}

/// Free stacks of one size.
struct Class {
    total: usize,
    /// Committed stacks, a LIFO (see the module docs).
    hot: Vec<Stack>,
    /// The shortest `hot` has been since the last scavenge: the entries
    /// below it have not been touched since.
    low_water: usize,
    /// Released stacks (no memory behind them).
    cold: Vec<Stack>,
    /// Never-used stacks with their guard page installed, lowest address
    /// last (what one install produced beyond what its taker needed).
    fresh: Vec<Stack>,
    /// Stacks whose guard install failed part-way; retried one at a time.
    unguarded: Vec<Stack>,
    /// Unused, unclaimed tail of the newest slab: `[next, end)`, no guard
    /// pages yet.
    next: usize,
    end: usize,
    /// Bytes the next slab reserves.
    slab_bytes: usize,
    /// Guards the next install covers (at most the slab's rest): doubles
    /// after each completed install, up to [`GUARD_BATCH_MAX`].
    guard_batch: usize,
}

impl Class {
    fn new(total: usize) -> Self {
        Class {
            total,
            hot: Vec::new(),
            low_water: 0,
            cold: Vec::new(),
            fresh: Vec::new(),
            unguarded: Vec::new(),
            next: 0,
            end: 0,
            slab_bytes: SLAB_BYTES,
            guard_batch: GUARD_BATCH,
        }
    }

    /// A stack that needs no system call: hot, cold, or fresh and guarded.
    fn take_ready(&mut self) -> Option<Stack> {
        if let Some(s) = self.hot.pop() {
            self.low_water = self.low_water.min(self.hot.len());
            return Some(s);
        }
        self.cold.pop().or_else(|| self.fresh.pop())
    }

    /// Claims the next run of stacks that need their guard page (rule P1):
    /// a stack whose install failed before, else up to `guard_batch` from
    /// the slab's tail, mapping a new slab first when it is used up.
    fn claim(&mut self) -> io::Result<Claim> {
        if let Some(s) = self.unguarded.pop() {
            return Ok(Claim {
                lo: s.lo,
                n: 1,
                total: self.total,
            });
        }
        if self.next == self.end {
            let n = (self.slab_bytes / self.total).max(1);
            let bytes = n * self.total;
            self.next = map_slab(bytes)?;
            self.slab_bytes = (self.slab_bytes * 2).min(SLAB_MAX_BYTES);
            self.end = self.next + bytes;
        }
        let n = ((self.end - self.next) / self.total).min(self.guard_batch);
        let lo = self.next;
        self.next += n * self.total;
        Ok(Claim {
            lo,
            n,
            total: self.total,
        })
    }

    /// Takes back a claim after its install (`done`: how many leading
    /// stacks got their guard; none on an error): up to `want` of those go
    /// to `out`, lowest addresses first, the rest to `fresh`; the unguarded
    /// rest to `unguarded`. A complete install doubles the next one, up to
    /// [`GUARD_BATCH_MAX`].
    fn settle(&mut self, c: Claim, done: &io::Result<usize>, want: usize, out: &mut Vec<Stack>) {
        let done = *done.as_ref().unwrap_or(&0);
        let give = want.min(done);
        out.extend((0..give).map(|i| c.stack(i)));
        self.fresh.extend((give..done).rev().map(|i| c.stack(i)));
        self.unguarded.extend((done..c.n).rev().map(|i| c.stack(i)));
        if done == c.n && c.n == self.guard_batch {
            self.guard_batch = (self.guard_batch * 2).min(GUARD_BATCH_MAX);
        }
    }

    /// One stack, the guard install under the caller's exclusive access
    /// (the pool installs outside its lock instead: [`StackPool::take_batch`]).
    #[cfg(test)]
    fn take(&mut self) -> io::Result<Stack> {
        if let Some(s) = self.take_ready() {
            return Ok(s);
        }
        let c = self.claim()?;
        let done = c.install();
        let mut out = Vec::with_capacity(1);
        self.settle(c, &done, 1, &mut out);
        match out.pop() {
            Some(s) => Ok(s),
            None => Err(done
                .err()
                .unwrap_or_else(|| io::Error::other("no guard page"))),
        }
    }

    fn give(&mut self, stacks: impl IntoIterator<Item = Stack>) {
        self.hot.extend(stacks);
    }

    fn excess(&self) -> bool {
        self.hot.len() > HOT_MAX
    }

    /// Ends a scavenge period: takes out the stacks that stayed idle for
    /// all of it (beyond `HOT_MAX`) for the caller to release.
    fn scavenge(&mut self) -> Vec<Stack> {
        let k = self.low_water.min(self.hot.len()).saturating_sub(HOT_MAX);
        let idle: Vec<Stack> = self.hot.drain(..k).collect();
        self.low_water = self.hot.len();
        idle
    }
}

/// A run of `n` stacks, `total` bytes apart from `lo` up, taken out of the
/// pool to get their guard pages (rule P1).
struct Claim {
    lo: usize,
    n: usize,
    total: usize,
}

impl Claim {
    fn stack(&self, i: usize) -> Stack {
        Stack {
            lo: self.lo + i * self.total,
            total: self.total,
        }
    }

    /// Installs the run's guard pages: how many of the leading stacks got
    /// theirs, or the error if not even the first did.
    fn install(&self) -> io::Result<usize> {
        install_guards(self.lo, self.n, self.total)
    }
}

/// Whether the scavenger thread exists and what it is doing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scavenger {
    /// Not started (no size has gone over `HOT_MAX` yet).
    Absent,
    /// Timing a period (some size is over `HOT_MAX`).
    Running,
    /// Waiting, without a timeout, for `give` to signal an excess.
    Idle,
    /// Could not be started: `give` releases excess stacks itself.
    Failed,
}

struct Inner {
    classes: HashMap<usize, Class>,
    scavenger: Scavenger,
}

/// The process-wide pool of free stacks, by size.
pub(crate) struct StackPool {
    inner: Mutex<Inner>,
    /// Signalled (under `inner`) when the scavenger is `Idle` and a size
    /// goes over `HOT_MAX`.
    wake: Condvar,
    period: Duration,
}

impl StackPool {
    pub(crate) fn new() -> Self {
        Self::with_period(SCAVENGE_PERIOD)
    }

    /// A pool whose scavenger releases stacks idle for `period`.
    pub(crate) fn with_period(period: Duration) -> Self {
        StackPool {
            inner: Mutex::new(Inner {
                classes: HashMap::new(),
                scavenger: Scavenger::Absent,
            }),
            wake: Condvar::new(),
            period,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A stack with `usable` bytes (already rounded by [`round_size`]).
    pub(crate) fn take(&self, usable: usize) -> io::Result<Stack> {
        let mut out = Vec::with_capacity(1);
        self.take_batch(usable, 1, &mut out)?;
        Ok(out.pop().expect("take_batch returned at least one stack"))
    }

    /// Up to `n` stacks of `usable` bytes into `out`; fails only if not even
    /// one could be had. Guard pages are installed without the lock (rule
    /// P1), so a taker that needs fresh stacks delays nobody else.
    fn take_batch(&self, usable: usize, n: usize, out: &mut Vec<Stack>) -> io::Result<()> {
        let total = usable + page_size();
        let start = out.len();
        let claim = {
            let mut g = self.lock();
            let class = g.classes.entry(total).or_insert_with(|| Class::new(total));
            while out.len() - start < n {
                match class.take_ready() {
                    Some(s) => out.push(s),
                    None => break,
                }
            }
            if out.len() - start == n {
                return Ok(());
            }
            match class.claim() {
                Ok(c) => c,
                Err(_) if out.len() > start => return Ok(()),
                Err(e) => return Err(e),
            }
        };
        // P1: the run is ours alone until settled; the system call (which
        // may wait for the address-space lock) runs without the pool's.
        let done = claim.install();
        let want = n - (out.len() - start);
        let mut g = self.lock();
        let class = g
            .classes
            .get_mut(&total)
            .expect("classes are never removed");
        class.settle(claim, &done, want, out);
        match done {
            Err(e) if out.len() == start => Err(e),
            _ => Ok(()),
        }
    }

    /// Returns stacks to the pool; starts or signals the scavenger if their
    /// size now holds more than `HOT_MAX` hot stacks.
    pub(crate) fn give(&'static self, stacks: impl IntoIterator<Item = Stack>) {
        let mut iter = stacks.into_iter().peekable();
        let Some(first) = iter.peek() else { return };
        let total = first.total;
        let mut g = self.lock();
        let class = g.classes.entry(total).or_insert_with(|| Class::new(total));
        class.give(iter);
        if !class.excess() {
            return;
        }
        match g.scavenger {
            Scavenger::Running => {}
            Scavenger::Idle => {
                g.scavenger = Scavenger::Running;
                self.wake.notify_one();
            }
            Scavenger::Absent => {
                let started = std::thread::Builder::new()
                    .name("goro-scavenger".into())
                    .spawn(move || self.scavenge_loop());
                g.scavenger = if started.is_ok() {
                    Scavenger::Running
                } else {
                    Scavenger::Failed
                };
            }
            Scavenger::Failed => {
                // No thread to wait for: release the excess now.
                let class = g.classes.get_mut(&total).expect("just used");
                let mut excess = class.hot.split_off(HOT_MAX);
                class.low_water = class.low_water.min(class.hot.len());
                release(&mut excess);
                class.cold.append(&mut excess);
            }
        }
    }

    /// The scavenger thread: while some size is over `HOT_MAX`, every
    /// `period` release what stayed idle for the whole period; otherwise
    /// wait for `give` to signal.
    fn scavenge_loop(&self) {
        // It never runs user code (deadlock check, `registry.rs`).
        let _own = super::registry::OwnThread::register();
        let mut g = self.lock();
        loop {
            if g.classes.values().any(Class::excess) {
                g.scavenger = Scavenger::Running;
                // A whole period, spurious wake-ups notwithstanding.
                let end = Instant::now() + self.period;
                while let Some(left) = end.checked_duration_since(Instant::now())
                    && !left.is_zero()
                {
                    g = self
                        .wake
                        .wait_timeout(g, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                g = self.scavenge_once(g);
            } else {
                g.scavenger = Scavenger::Idle;
                while g.scavenger == Scavenger::Idle {
                    g = self.wake.wait(g).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }

    /// One scavenge pass over every size. The system calls run without
    /// the lock (spawns keep going meanwhile); the released stacks rejoin
    /// the pool as cold ones afterwards.
    fn scavenge_once<'a>(&'a self, mut g: MutexGuard<'a, Inner>) -> MutexGuard<'a, Inner> {
        let mut idle: Vec<(usize, Vec<Stack>)> = g
            .classes
            .iter_mut()
            .map(|(&total, c)| (total, c.scavenge()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if idle.is_empty() {
            return g;
        }
        drop(g);
        for (_, v) in &mut idle {
            release(v);
        }
        let mut g = self.lock();
        for (total, mut v) in idle {
            let class = g
                .classes
                .get_mut(&total)
                .expect("classes are never removed");
            class.cold.append(&mut v);
        }
        g
    }

    /// (hot, cold) free stacks over every size: cached for reuse, and
    /// released to the system (address space kept), for `goro::metrics()`.
    pub(crate) fn totals(&self) -> (usize, usize) {
        let g = self.lock();
        g.classes
            .values()
            .fold((0, 0), |(h, c), k| (h + k.hot.len(), c + k.cold.len()))
    }

    /// (hot, cold) free stacks of the given usable size.
    #[cfg(test)]
    pub(crate) fn free_counts(&self, usable: usize) -> (usize, usize) {
        let g = self.lock();
        g.classes
            .get(&(usable + page_size()))
            .map_or((0, 0), |c| (c.hot.len(), c.cold.len()))
    }
}

/// A worker's private cache of default-size stacks. Owned by one worker
/// thread; never shared.
pub(crate) struct StackCache {
    usable: usize,
    stacks: Vec<Stack>,
}

impl StackCache {
    pub(crate) fn new(usable: usize) -> Self {
        StackCache {
            usable,
            stacks: Vec::with_capacity(CACHE_MAX),
        }
    }

    /// A stack of `usable` bytes: from the cache when it is the default size,
    /// otherwise from the pool.
    pub(crate) fn take(&mut self, pool: &StackPool, usable: usize) -> io::Result<Stack> {
        if usable != self.usable {
            return pool.take(usable);
        }
        if let Some(s) = self.stacks.pop() {
            return Ok(s);
        }
        pool.take_batch(usable, BATCH, &mut self.stacks)?;
        Ok(self
            .stacks
            .pop()
            .expect("take_batch returned at least one stack"))
    }

    pub(crate) fn give(&mut self, pool: &'static StackPool, stack: Stack) {
        if stack.usable() != self.usable {
            pool.give([stack]);
            return;
        }
        self.stacks.push(stack);
        if self.stacks.len() > CACHE_MAX {
            let keep = self.stacks.len() - BATCH;
            pool.give(self.stacks.drain(keep..));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_to_pages() {
        let p = page_size();
        assert_eq!(round_size(1), MIN_STACK_SIZE);
        assert_eq!(round_size(MIN_STACK_SIZE + 1), MIN_STACK_SIZE + p);
        assert_eq!(round_size(usize::MAX), MAX_STACK_SIZE);
    }

    /// A pool for the program's lifetime (`give` may start its scavenger).
    fn leaked(period: Duration) -> &'static StackPool {
        Box::leak(Box::new(StackPool::with_period(period)))
    }

    #[test]
    fn stacks_do_not_overlap_and_are_writable() {
        let pool = leaked(SCAVENGE_PERIOD);
        let size = round_size(64 * 1024);
        let mut v: Vec<Stack> = (0..300).map(|_| pool.take(size).unwrap()).collect();
        v.sort_by_key(|s| s.lo);
        for w in v.windows(2) {
            assert!(w[0].top() <= w[1].bottom());
        }
        for s in &v {
            assert_eq!(s.usable(), size);
            // SAFETY: the top usable byte belongs to this stack.
            unsafe { *((s.top() - 1) as *mut u8) = 7 };
        }
        pool.give(v);
        assert_eq!(pool.free_counts(size).0, 300);
    }

    #[test]
    fn scavenge_releases_only_what_stayed_idle_a_whole_period() {
        let pool = StackPool::new();
        let size = round_size(32 * 1024);
        let total = size + page_size();
        let mut c = Class::new(total);
        let v: Vec<Stack> = (0..2000).map(|_| pool.take(size).unwrap()).collect();
        let bottom: Vec<usize> = v.iter().map(|s| s.lo).collect();
        c.give(v);
        // The first period started before the stacks came: nothing has been
        // idle for all of it.
        assert!(c.scavenge().is_empty());
        assert_eq!(c.hot.len(), 2000);
        // 500 go out and come back during the next period: the 1500 below
        // them stayed idle, and all but HOT_MAX of those are released.
        let out: Vec<Stack> = (0..500).map(|_| c.take().unwrap()).collect();
        c.give(out);
        let idle = c.scavenge();
        assert_eq!(idle.len(), 1500 - HOT_MAX);
        let lo: Vec<usize> = idle.iter().map(|s| s.lo).collect();
        assert_eq!(lo, bottom[..1500 - HOT_MAX]);
        assert_eq!(c.hot.len(), 2000 - (1500 - HOT_MAX));
        // Only the top one is used during the next period: it is kept,
        // the idle ones beneath it go down to HOT_MAX.
        let before = c.hot.len();
        for _ in 0..3 {
            let s = c.take().unwrap();
            c.give([s]);
        }
        assert_eq!(c.scavenge().len(), before - 1 - HOT_MAX);
        assert_eq!(c.hot.len(), HOT_MAX + 1);
        // Then nothing is used for a period: down to HOT_MAX.
        assert_eq!(c.scavenge().len(), 1);
        assert_eq!(c.hot.len(), HOT_MAX);
        assert!(c.scavenge().is_empty());
    }

    #[test]
    fn scavenger_thread_releases_excess_and_cold_stacks_are_reused() {
        let pool = leaked(Duration::from_millis(5));
        let size = round_size(48 * 1024);
        let n = 2 * HOT_MAX + 10;
        let v: Vec<Stack> = (0..n).map(|_| pool.take(size).unwrap()).collect();
        for s in &v {
            // SAFETY: top usable byte of a stack we own.
            unsafe { *((s.top() - 1) as *mut u8) = 1 };
        }
        pool.give(v);
        // The scavenger runs every 5 ms; give it up to 30 s on a loaded
        // machine.
        let t = Instant::now();
        while pool.free_counts(size) != (HOT_MAX, n - HOT_MAX) {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "scavenger did not release: {:?}",
                pool.free_counts(size)
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        // Every stack is usable again; a released one reads back zeroed.
        let all: Vec<Stack> = (0..n).map(|_| pool.take(size).unwrap()).collect();
        assert_eq!(pool.free_counts(size), (0, 0));
        let mut zeroed = 0;
        for s in &all {
            // SAFETY: top usable byte of a stack we own.
            let b = unsafe { *((s.top() - 1) as *const u8) };
            assert!(b == 0 || b == 1);
            zeroed += usize::from(b == 0);
        }
        assert_eq!(zeroed, n - HOT_MAX);
        // An idle scavenger wakes for the next excess.
        pool.give(all);
        let t = Instant::now();
        while pool.free_counts(size).0 != HOT_MAX {
            assert!(t.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn slabs_double_up_to_the_cap_and_stacks_never_overlap() {
        let size = round_size(DEFAULT_STACK_SIZE);
        let total = size + page_size();
        let mut c = Class::new(total);
        // Enough stacks for three slabs: 64, 128 and 256 MiB.
        let per = |bytes: usize| bytes / total;
        let n = per(SLAB_BYTES) + per(2 * SLAB_BYTES) + 1;
        let mut v: Vec<Stack> = (0..n).map(|_| c.take().unwrap()).collect();
        assert_eq!(c.slab_bytes, 8 * SLAB_BYTES);
        v.sort_by_key(|s| s.lo);
        for w in v.windows(2) {
            assert!(w[0].top() <= w[1].bottom());
        }
        for s in &v {
            // SAFETY: the top usable byte belongs to this stack.
            unsafe { *((s.top() - 1) as *mut u8) = 3 };
        }
        let mut c = Class::new(total);
        c.slab_bytes = SLAB_MAX_BYTES;
        c.take().unwrap();
        assert_eq!(c.slab_bytes, SLAB_MAX_BYTES, "capped");
    }

    #[test]
    fn guard_installs_double_up_to_the_cap() {
        let size = round_size(DEFAULT_STACK_SIZE);
        let total = size + page_size();
        let mut c = Class::new(total);
        let mut seen = Vec::new();
        let mut v = Vec::new();
        let mut breaks = 0;
        // Enough takes for several installs (each runs when the fresh,
        // guarded stacks run out); stacks come out in address order.
        for _ in 0..5000 {
            let before = c.guard_batch;
            let s = c.take().unwrap();
            if v.last().is_some_and(|p: &Stack| p.lo + total != s.lo) {
                breaks += 1;
            }
            v.push(s);
            if c.guard_batch != before {
                seen.push(c.guard_batch);
            }
        }
        assert_eq!(seen, [2 * GUARD_BATCH, GUARD_BATCH_MAX]);
        // One break per new slab at most (64 MiB doubling: five slabs).
        assert!(breaks <= 4, "{breaks} breaks in address order");
        for s in &v {
            // SAFETY: the top usable byte belongs to this stack.
            unsafe { *((s.top() - 1) as *mut u8) = 5 };
        }
    }

    /// Rule P1: takers that install guards at the same time get disjoint
    /// runs, and nothing is lost between claim and settle.
    #[test]
    fn concurrent_claims_hand_out_disjoint_stacks() {
        let pool = leaked(SCAVENGE_PERIOD);
        let size = round_size(20 * 1024);
        let per_thread = 3000;
        let all: Vec<Stack> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let mut out = Vec::new();
                        while out.len() < per_thread {
                            pool.take_batch(size, BATCH, &mut out).unwrap();
                        }
                        out
                    })
                })
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let mut v = all;
        v.sort_by_key(|s| s.lo);
        for w in v.windows(2) {
            assert!(
                w[0].top() <= w[1].bottom(),
                "two takers got overlapping stacks"
            );
        }
        for s in &v {
            // SAFETY: the top usable byte belongs to this stack.
            unsafe { *((s.top() - 1) as *mut u8) = 9 };
        }
        // Whatever the claims produced beyond the takes waits, guarded, in
        // `fresh`, and comes out before any new claim.
        let n = v.len();
        let fresh = pool.lock().classes[&(size + page_size())].fresh.len();
        pool.give(v);
        assert_eq!(pool.free_counts(size).0, n);
        assert!(fresh < 4 * GUARD_BATCH_MAX);
    }

    #[test]
    fn cache_spills_to_pool() {
        let pool = leaked(SCAVENGE_PERIOD);
        let size = round_size(DEFAULT_STACK_SIZE);
        let mut cache = StackCache::new(size);
        let v: Vec<Stack> = (0..CACHE_MAX + 1)
            .map(|_| cache.take(pool, size).unwrap())
            .collect();
        for s in v {
            cache.give(pool, s);
        }
        assert!(cache.stacks.len() <= CACHE_MAX);
        assert!(pool.free_counts(size).0 >= 1);
    }
}
