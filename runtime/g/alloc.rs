//! Memory for coroutine tasks: size classes carved from chunks, recycled
//! through per-thread free lists (Go's `gFree` lists).
//!
//! Two measured problems shaped this:
//!
//! * A task is allocated by the worker that spawns it and usually freed by
//!   another. Through the system allocator that makes both workers fight
//!   over one malloc arena lock: on the spawn benchmark, a futex call every
//!   50 spawns and a third of the run time.
//! * Spawn trees keep tens of thousands of tasks alive at once (skynet
//!   explores its tree breadth first). Blocks of 200-odd bytes miss glibc's
//!   fast bins; its slow path cost about 300 instructions per task, 17% of
//!   skynet.
//!
//! So task blocks come in size classes (multiples of 64 bytes up to 1 KiB,
//! 16-byte aligned), kept on free lists **threaded through the free blocks
//! themselves** (a block's first word links to the next; Go links its free
//! `g`s through `schedlink` the same way):
//!
//! * alloc: pop this thread's `hot` chain for the class; when empty, take
//!   its `full` chain; when that is empty too, a batch of [`BATCH`] from the
//!   global list; failing that, carve a new block from this thread's
//!   current 64 KiB chunk for the class;
//! * free: push on `hot`; when `hot` reaches [`BATCH`] it becomes `full`,
//!   and the previous `full` chain (the older blocks) goes to the global
//!   list: one lock per 32 frees, and at most `2 × BATCH` blocks kept.
//!
//! Moving a batch is O(1) (a head pointer and a length) and **allocates
//! nothing**. The first version kept the lists in `Vec`s and moved batches
//! as `Vec`s: the spawning worker freed, through glibc, the batch vectors
//! the exiting worker had allocated, and the two fought over a malloc arena
//! lock again (measured 2026-12-03 on `spawn` at two workers: 54% of the
//! spawner's context switches were `__lll_lock_wait_private` under
//! `alloc_in` dropping a batch `Vec`, and 36% of the other worker's).
//!
//! # Rules (cited by `// SAFETY:` comments)
//!
//! * **A1 (a free block belongs to one chain).** A block on a chain is
//!   unaliased free memory of at least [`UNIT`] bytes, 16-byte aligned,
//!   owned by that chain: only the chain's owner (a thread's cache, or the
//!   global list under its lock) reads or writes its link words. Word 0
//!   links to the next block of the chain; a chain's head block, while the
//!   chain sits on the global list, also holds the next chain (word 1) and
//!   its own length (word 2).
//! * **A2 (lengths are exact).** A chain's `len` is the number of blocks
//!   reachable from its head; the last block's word 0 is null.
//!
//! Blocks are never returned to the system allocator. Like Go, which keeps
//! every G it ever allocated for reuse, a runtime's task memory is its peak
//! number of live coroutines times the block size (256 bytes for a typical
//! closure). Stacks, the big per-coroutine cost, *are* given back
//! (`stack.rs`). Tasks that do not fit a class (a closure capturing more than
//! ~800 bytes, or over-aligned) use the system allocator directly.
//!
//! Alternatives rejected: a general-purpose allocator crate (the choice of
//! global allocator belongs to the application); one lock-free global stack
//! (every spawn and exit would contend on its head); a full slab allocator
//! that returns empty chunks (per-block chunk bookkeeping on every free, for
//! memory Go would not return either); free lists in `Vec`s (above: the
//! vectors themselves crossed threads through malloc).

use std::alloc::{Layout, alloc, dealloc};
use std::cell::{Cell, RefCell};
use std::ptr::{self, NonNull};
use std::sync::Mutex;

const UNIT: usize = 64;
/// Alignment of class blocks (enough for every task whose layout fits).
const ALIGN: usize = 16;
const CLASSES: usize = 16;
/// Blocks a thread keeps per class at most (its `hot` and `full` chains).
#[cfg(test)]
const LOCAL_MAX: usize = 2 * BATCH;
/// Blocks moved between a thread and the global list at a time.
const BATCH: usize = 32;
/// Bytes carved per chunk.
const CHUNK: usize = 64 << 10;

/// A chain of free blocks linked through their first word (rules A1, A2).
#[derive(Clone, Copy)]
struct Chain {
    head: *mut u8,
    len: usize,
}

impl Chain {
    const EMPTY: Chain = Chain {
        head: ptr::null_mut(),
        len: 0,
    };

    /// Adds `b` in front.
    ///
    /// # Safety
    /// `b` is a free block of a class (A1), now owned by this chain.
    #[inline]
    unsafe fn push(&mut self, b: NonNull<u8>) {
        // SAFETY: A1: the block is ours, aligned and large enough for a word.
        unsafe { b.as_ptr().cast::<*mut u8>().write(self.head) };
        self.head = b.as_ptr();
        self.len += 1;
    }

    /// Takes the front block (A1: the caller owns it from now on).
    #[inline]
    fn pop(&mut self) -> Option<NonNull<u8>> {
        let b = NonNull::new(self.head)?;
        // SAFETY: A1, A2: a non-null head is a block of this chain, whose
        // word 0 links to the rest.
        self.head = unsafe { b.as_ptr().cast::<*mut u8>().read() };
        self.len -= 1;
        Some(b)
    }
}

/// A class's global list: chains of any length, linked through their head
/// blocks (A1: word 1 the next chain, word 2 the length).
struct Global {
    top: *mut u8,
}

// SAFETY: the chains it links are unaliased free memory (A1); moving them
// between threads moves ownership of that memory, under the mutex.
unsafe impl Send for Global {}

impl Global {
    fn push(&mut self, chain: Chain) {
        let Some(h) = NonNull::new(chain.head) else {
            return;
        };
        let w = h.as_ptr().cast::<usize>();
        // SAFETY: A1: the chain's head block is ours; words 1 and 2 lie
        // within its UNIT bytes.
        unsafe {
            w.add(1).write(self.top as usize);
            w.add(2).write(chain.len);
        }
        self.top = chain.head;
    }

    fn pop(&mut self) -> Option<Chain> {
        let h = NonNull::new(self.top)?;
        let w = h.as_ptr().cast::<usize>();
        // SAFETY: A1: a chain on this list keeps the next chain and its
        // length in its head block's words 1 and 2 (written by `push`).
        let (next, len) = unsafe { (w.add(1).read(), w.add(2).read()) };
        self.top = next as *mut u8;
        Some(Chain {
            head: h.as_ptr(),
            len,
        })
    }
}

fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > ALIGN || layout.size() == 0 {
        return None;
    }
    let c = layout.size().div_ceil(UNIT) - 1;
    (c < CLASSES).then_some(c)
}

fn class_size(c: usize) -> usize {
    (c + 1) * UNIT
}

static GLOBAL: [Mutex<Global>; CLASSES] = [const {
    Mutex::new(Global {
        top: ptr::null_mut(),
    })
}; CLASSES];

fn global(c: usize) -> std::sync::MutexGuard<'static, Global> {
    GLOBAL[c].lock().unwrap_or_else(|e| e.into_inner())
}

/// The uncarved rest of a chunk: `[next, end)`.
#[derive(Clone, Copy)]
struct Carve {
    next: usize,
    end: usize,
}

/// One class's free blocks on one thread: `hot` takes frees and serves
/// allocations; `full`, a whole batch, is the next one handed out or, when
/// `hot` fills again, the one given to the global list.
#[derive(Clone, Copy)]
struct Local {
    hot: Chain,
    full: Chain,
}

/// A thread's free lists and chunks (each worker has one; so does any plain
/// thread that spawns).
pub(crate) struct TaskCache {
    lists: [Cell<Local>; CLASSES],
    carve: RefCell<[Carve; CLASSES]>,
}

impl TaskCache {
    const fn new() -> Self {
        TaskCache {
            lists: [const {
                Cell::new(Local {
                    hot: Chain::EMPTY,
                    full: Chain::EMPTY,
                })
            }; CLASSES],
            carve: RefCell::new([Carve { next: 0, end: 0 }; CLASSES]),
        }
    }
}

impl Drop for TaskCache {
    /// A thread that exits hands its free blocks to the global lists (the
    /// uncarved tail of its chunks, under 64 KiB per class, is left unused).
    fn drop(&mut self) {
        for (c, l) in self.lists.iter().enumerate() {
            let l = l.replace(Local {
                hot: Chain::EMPTY,
                full: Chain::EMPTY,
            });
            if l.hot.len + l.full.len != 0 {
                let mut g = global(c);
                g.push(l.hot);
                g.push(l.full);
            }
        }
    }
}

std::thread_local! {
    static CACHE: TaskCache = const { TaskCache::new() };
}

/// Runs `f` with this thread's cache (`None` during thread teardown).
///
/// `#[inline(never)]`: the caller may be a coroutine that changes threads
/// between two calls; the TLS address must be computed afresh each time
/// (migration rule 3 in `coro.rs`).
#[inline(never)]
fn with_cache<R>(f: impl FnOnce(Option<&TaskCache>) -> R) -> R {
    let mut f = Some(f);
    match CACHE.try_with(|c| (f.take().expect("called once"))(Some(c))) {
        Ok(r) => r,
        Err(_) => (f.take().expect("not called yet"))(None),
    }
}

/// `None` when the system allocator refuses (out of memory): the spawn
/// fails with an error instead of aborting the process.
fn sys_alloc(layout: Layout) -> Option<NonNull<u8>> {
    // SAFETY: layout has non-zero size (tasks always contain a header).
    NonNull::new(unsafe { alloc(layout) })
}

/// A new block of class `c`: carved from the thread's chunk (or, off any
/// thread cache, from a fresh chunk whose rest goes to the global list).
fn carve(c: usize, cache: Option<&TaskCache>) -> Option<NonNull<u8>> {
    let size = class_size(c);
    let new_chunk = || {
        sys_alloc(Layout::from_size_align(CHUNK, ALIGN).expect("valid chunk layout"))
            .map(|p| p.as_ptr() as usize)
    };
    match cache {
        Some(cache) => {
            let mut carves = cache.carve.borrow_mut();
            let k = &mut carves[c];
            if k.end - k.next < size {
                k.next = new_chunk()?;
                k.end = k.next + CHUNK;
            }
            let p = k.next;
            k.next += size;
            NonNull::new(p as *mut u8)
        }
        None => {
            let start = new_chunk()?;
            let mut rest = Chain::EMPTY;
            for i in 1..CHUNK / size {
                let b =
                    NonNull::new((start + i * size) as *mut u8).expect("chunk memory is not null");
                // SAFETY: A1: fresh chunk memory, class-sized and aligned
                // (ALIGN divides every class size), owned by nobody else.
                unsafe { rest.push(b) };
            }
            global(c).push(rest);
            NonNull::new(start as *mut u8)
        }
    }
}

/// Allocates a block for `layout` (a task); `None` if out of memory.
pub(crate) fn alloc_task(layout: Layout) -> Option<NonNull<u8>> {
    with_cache(|c| alloc_in(layout, c))
}

/// Frees a block from [`alloc_task`] with the same `layout`.
///
/// # Safety
/// `p` came from `alloc_task(layout)`, is not used afterwards, and its
/// contents were already dropped.
pub(crate) unsafe fn free_task(p: NonNull<u8>, layout: Layout) {
    // SAFETY: the caller's contract, passed on.
    with_cache(|c| unsafe { free_in(p, layout, c) })
}

fn alloc_in(layout: Layout, cache: Option<&TaskCache>) -> Option<NonNull<u8>> {
    let Some(c) = class_of(layout) else {
        return sys_alloc(layout);
    };
    match cache {
        Some(cache) => {
            let cell = &cache.lists[c];
            let mut l = cell.get();
            if let Some(b) = l.hot.pop() {
                cell.set(l);
                return Some(b);
            }
            l.hot = if l.full.len != 0 {
                std::mem::replace(&mut l.full, Chain::EMPTY)
            } else {
                global(c).pop().unwrap_or(Chain::EMPTY)
            };
            let b = l.hot.pop();
            cell.set(l);
            if b.is_some() {
                return b;
            }
        }
        None => {
            let mut g = global(c);
            if let Some(mut chain) = g.pop() {
                let b = chain.pop();
                g.push(chain);
                return b;
            }
        }
    }
    carve(c, cache)
}

/// # Safety
/// As for [`free_task`], with `cache` the current thread's.
unsafe fn free_in(p: NonNull<u8>, layout: Layout, cache: Option<&TaskCache>) {
    let Some(c) = class_of(layout) else {
        // SAFETY: allocated by sys_alloc with this very layout.
        unsafe { dealloc(p.as_ptr(), layout) };
        return;
    };
    let spill = match cache {
        Some(cache) => {
            let cell = &cache.lists[c];
            let mut l = cell.get();
            // SAFETY: the caller's contract: `p` is a class block nobody
            // uses any more (A1).
            unsafe { l.hot.push(p) };
            if l.hot.len < BATCH {
                cell.set(l);
                return;
            }
            // `hot` is a whole batch: keep it as `full`, hand the older
            // `full` (if any) to the global list.
            let older = std::mem::replace(&mut l.full, l.hot);
            l.hot = Chain::EMPTY;
            cell.set(l);
            if older.len == 0 {
                return;
            }
            older
        }
        None => {
            let mut one = Chain::EMPTY;
            // SAFETY: as above.
            unsafe { one.push(p) };
            one
        }
    };
    global(c).push(spill);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(class_of(Layout::from_size_align(1, 8).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(64, 8).unwrap()), Some(0));
        assert_eq!(class_of(Layout::from_size_align(65, 8).unwrap()), Some(1));
        assert_eq!(
            class_of(Layout::from_size_align(1024, 8).unwrap()),
            Some(15)
        );
        assert_eq!(class_of(Layout::from_size_align(1025, 8).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(64, 32).unwrap()), None);
    }

    #[test]
    fn blocks_are_distinct_and_recycled() {
        let cache = TaskCache::new();
        let l = Layout::from_size_align(200, 8).unwrap();
        let mut ps: Vec<_> = (0..5000)
            .map(|_| alloc_in(l, Some(&cache)).unwrap())
            .collect();
        let mut addrs: Vec<usize> = ps.iter().map(|p| p.as_ptr() as usize).collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!(addrs.len(), 5000, "no block handed out twice");
        for w in addrs.windows(2) {
            assert!(
                w[1] - w[0] >= class_size(class_of(l).unwrap()),
                "blocks overlap"
            );
        }
        for &p in &ps {
            // SAFETY: each block is ours and holds nothing to drop.
            unsafe { *p.as_ptr() = 0xAB };
        }
        for p in ps.drain(..) {
            // SAFETY: each block is ours, unused after, holds nothing to drop.
            unsafe { free_in(p, l, Some(&cache)) };
        }
        let local = cache.lists[class_of(l).unwrap()].get();
        assert!(local.hot.len + local.full.len <= LOCAL_MAX);
        // Off-cache paths (thread teardown) work too.
        let q = alloc_in(l, None).unwrap();
        // SAFETY: as above.
        unsafe { free_in(q, l, None) };
        let big = Layout::from_size_align(4096, 8).unwrap();
        let b = alloc_task(big).unwrap();
        // SAFETY: as above.
        unsafe { free_task(b, big) };
    }

    #[test]
    fn blocks_freed_on_another_thread_come_back_whole() {
        // The largest class: no other test of this crate allocates it, so
        // the global list holds only this test's chains (tests run in
        // parallel in one process, and coroutine tasks are a few hundred
        // bytes).
        let l = Layout::from_size_align(1000, 8).unwrap();
        let n = 10 * BATCH + 7;
        for _round in 0..3 {
            let ps: Vec<usize> = std::thread::spawn(move || {
                (0..n)
                    .map(|_| alloc_task(l).unwrap().as_ptr() as usize)
                    .collect()
            })
            .join()
            .unwrap();
            let freed = ps.clone();
            std::thread::spawn(move || {
                for p in freed {
                    // SAFETY: each block came from alloc_task(l), holds
                    // nothing to drop and is not used afterwards.
                    unsafe { free_task(NonNull::new(p as *mut u8).unwrap(), l) };
                }
            })
            .join()
            .unwrap();
            // A third thread takes them back through the global list: all
            // distinct, each usable.
            let again: Vec<usize> = std::thread::spawn(move || {
                (0..n)
                    .map(|_| {
                        let p = alloc_task(l).unwrap();
                        // SAFETY: a fresh block of at least 1000 bytes.
                        unsafe { p.as_ptr().add(999).write(0xCD) };
                        p.as_ptr() as usize
                    })
                    .collect()
            })
            .join()
            .unwrap();
            let mut sorted = again.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), n, "no block handed out twice");
            let reused = again.iter().filter(|p| ps.contains(p)).count();
            assert!(
                reused >= n - LOCAL_MAX,
                "freed blocks are reused: {reused} of {n}"
            );
            for p in again {
                // SAFETY: as above.
                unsafe { free_task(NonNull::new(p as *mut u8).unwrap(), l) };
            }
        }
    }
}
