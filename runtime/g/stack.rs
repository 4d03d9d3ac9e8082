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
//! # Guard pages
//!
//! On Linux ≥ 6.13 the guard is installed with `madvise(MADV_GUARD_INSTALL)`,
//! which marks the page table entries and adds **no** mapping, so a million
//! stacks cost a few thousand mappings (one per slab). Older kernels reject the
//! advice with `EINVAL`; we then fall back to `mprotect(PROT_NONE)`, which
//! splits the slab into two mappings per stack and runs into
//! `vm.max_map_count` (65530 by default) near 32K live stacks. When the kernel
//! refuses, the error names the limit instead of a bare `ENOMEM`.
//!
//! # Recycling (steady-state spawn makes no system call)
//!
//! * A stack is taken when a coroutine first runs and given back when it
//!   ends, on the worker that ran it: [`StackCache`] (per worker, default size
//!   only, no lock, at most [`CACHE_MAX`] stacks).
//! * Overflow goes to the global pool's *hot* list ([`HOT_MAX`] stacks, their
//!   touched pages still committed, so reuse does not page-fault).
//! * Beyond that, stacks are handed back to the OS with `MADV_DONTNEED`
//!   (address-sorted and coalesced so a whole slab costs one call) and kept on
//!   the *cold* list: reusable, but costing no memory. Address space is never
//!   unmapped; it is cheap and reuse stays syscall-free.
//!
//! # Alternatives rejected
//!
//! * One `mmap` per stack (corosensei's `DefaultStack`): one or two mappings
//!   per coroutine and a system call on every spawn.
//! * Segmented or copying stacks (Go's): need compiler support to find and
//!   rewrite pointers into the stack.
//! * Unmapping empty slabs: saves only address space, costs bookkeeping and
//!   system calls on the spawn path.

use std::collections::HashMap;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

/// Default usable stack size: generous, and free until touched.
pub(crate) const DEFAULT_STACK_SIZE: usize = 256 * 1024;
/// Smallest stack a coroutine may ask for (usable bytes).
pub(crate) const MIN_STACK_SIZE: usize = 16 * 1024;
/// Largest stack a coroutine may ask for (usable bytes).
pub(crate) const MAX_STACK_SIZE: usize = 1 << 30;
/// Stacks a worker keeps for itself.
pub(crate) const CACHE_MAX: usize = 64;
/// Stacks moved between a worker cache and the pool at a time.
const BATCH: usize = CACHE_MAX / 2;
/// Hot (still committed) stacks the global pool keeps.
pub(crate) const HOT_MAX: usize = 1024;
/// Address space reserved per slab.
const SLAB_BYTES: usize = 64 << 20;

/// `MADV_GUARD_INSTALL` (Linux 6.13); not in every libc release yet.
const MADV_GUARD_INSTALL: libc::c_int = 102;
/// Guard pages installed per `process_madvise` call.
const GUARD_BATCH: usize = 256;

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

/// Installs a guard page at each address in `los`. Returns how many of the
/// leading ones got their guard (all of them, unless the kernel refused
/// part-way; then an error if not even the first did).
///
/// With `MADV_GUARD_INSTALL` the whole batch is one `process_madvise` call
/// on our own pidfd (accepted for this advice since Linux 6.13); otherwise
/// one call per page.
fn install_guards(los: &[usize]) -> io::Result<usize> {
    let p = page_size();
    let mut done = 0;
    if BATCH_GUARDS.load(Ordering::Relaxed)
        && GUARD_MODE.load(Ordering::Relaxed) != GuardMode::Mprotect as u8
        && let Some(fd) = self_pidfd()
    {
        let iov: Vec<libc::iovec> = los
            .iter()
            .map(|&lo| libc::iovec {
                iov_base: lo as *mut libc::c_void,
                iov_len: p,
            })
            .collect();
        // SAFETY: every range is the first page of a stack in a private
        // anonymous mapping we own and nobody uses yet; the iovec array
        // outlives the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_process_madvise,
                fd,
                iov.as_ptr(),
                iov.len(),
                MADV_GUARD_INSTALL,
                0,
            )
        };
        if r > 0 {
            GUARD_MODE.store(GuardMode::Madvise as u8, Ordering::Relaxed);
            done = r as usize / p;
        } else {
            BATCH_GUARDS.store(false, Ordering::Relaxed);
        }
    }
    for &lo in &los[done..] {
        match install_guard(lo) {
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
    hot: Vec<Stack>,
    cold: Vec<Stack>,
    /// Unused tail of the newest slab: `[next, end)`; stacks below
    /// `guarded` already have their guard page.
    next: usize,
    end: usize,
    guarded: usize,
}

impl Class {
    fn new(total: usize) -> Self {
        Class {
            total,
            hot: Vec::new(),
            cold: Vec::new(),
            next: 0,
            end: 0,
            guarded: 0,
        }
    }

    fn take(&mut self) -> io::Result<Stack> {
        if let Some(s) = self.hot.pop().or_else(|| self.cold.pop()) {
            return Ok(s);
        }
        if self.next == self.end {
            let n = (SLAB_BYTES / self.total).max(1);
            let bytes = n * self.total;
            self.next = map_slab(bytes)?;
            self.end = self.next + bytes;
            self.guarded = self.next;
        }
        if self.next == self.guarded {
            // Guard the next few stacks with one system call where possible.
            let n = ((self.end - self.next) / self.total).min(GUARD_BATCH);
            let los: Vec<usize> = (0..n).map(|i| self.next + i * self.total).collect();
            let done = install_guards(&los)?;
            self.guarded = self.next + done * self.total;
        }
        let lo = self.next;
        self.next += self.total;
        Ok(Stack {
            lo,
            total: self.total,
        })
    }

    fn give(&mut self, stacks: impl IntoIterator<Item = Stack>) {
        self.hot.extend(stacks);
        if self.hot.len() > 2 * HOT_MAX {
            let mut excess = self.hot.split_off(HOT_MAX);
            release(&mut excess);
            self.cold.append(&mut excess);
        }
    }
}

/// The process-wide pool of free stacks, by size.
pub(crate) struct StackPool {
    classes: Mutex<HashMap<usize, Class>>,
}

impl StackPool {
    pub(crate) fn new() -> Self {
        StackPool {
            classes: Mutex::new(HashMap::new()),
        }
    }

    /// A stack with `usable` bytes (already rounded by [`round_size`]).
    pub(crate) fn take(&self, usable: usize) -> io::Result<Stack> {
        let total = usable + page_size();
        let mut c = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        c.entry(total).or_insert_with(|| Class::new(total)).take()
    }

    /// Up to `n` stacks of `usable` bytes into `out`; fails only if not even
    /// one could be had.
    fn take_batch(&self, usable: usize, n: usize, out: &mut Vec<Stack>) -> io::Result<()> {
        let total = usable + page_size();
        let mut c = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        let class = c.entry(total).or_insert_with(|| Class::new(total));
        for i in 0..n {
            match class.take() {
                Ok(s) => out.push(s),
                Err(e) if i == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(())
    }

    pub(crate) fn give(&self, stacks: impl IntoIterator<Item = Stack>) {
        let mut iter = stacks.into_iter().peekable();
        let Some(first) = iter.peek() else { return };
        let total = first.total;
        let mut c = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        c.entry(total)
            .or_insert_with(|| Class::new(total))
            .give(iter);
    }

    /// (hot, cold) free stacks of the given usable size.
    #[cfg(test)]
    pub(crate) fn free_counts(&self, usable: usize) -> (usize, usize) {
        let c = self.classes.lock().unwrap_or_else(|e| e.into_inner());
        c.get(&(usable + page_size()))
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

    pub(crate) fn give(&mut self, pool: &StackPool, stack: Stack) {
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

    #[test]
    fn stacks_do_not_overlap_and_are_writable() {
        let pool = StackPool::new();
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
    fn excess_goes_cold_and_is_reused() {
        let pool = StackPool::new();
        let size = round_size(32 * 1024);
        let v: Vec<Stack> = (0..2 * HOT_MAX + 10)
            .map(|_| pool.take(size).unwrap())
            .collect();
        pool.give(v);
        let (hot, cold) = pool.free_counts(size);
        assert_eq!(hot, HOT_MAX);
        assert_eq!(cold, HOT_MAX + 10);
        // A cold stack is usable again (its pages come back zeroed).
        let mut all: Vec<Stack> = (0..2 * HOT_MAX + 10)
            .map(|_| pool.take(size).unwrap())
            .collect();
        for s in &all {
            // SAFETY: top usable byte of a stack we own.
            unsafe { *((s.top() - 1) as *mut u8) = 1 };
        }
        assert_eq!(pool.free_counts(size), (0, 0));
        pool.give(all.drain(..));
    }

    #[test]
    fn cache_spills_to_pool() {
        let pool = StackPool::new();
        let size = round_size(DEFAULT_STACK_SIZE);
        let mut cache = StackCache::new(size);
        let v: Vec<Stack> = (0..CACHE_MAX + 1)
            .map(|_| cache.take(&pool, size).unwrap())
            .collect();
        for s in v {
            cache.give(&pool, s);
        }
        assert!(cache.stacks.len() <= CACHE_MAX);
        assert!(pool.free_counts(size).0 >= 1);
    }
}
