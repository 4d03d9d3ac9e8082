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
//! 16-byte aligned):
//!
//! * alloc: pop this thread's list for the class; when empty take a batch
//!   of [`BATCH`] from the global list; when that is empty too, carve a new
//!   block from this thread's current 64 KiB chunk for the class;
//! * free: push on this thread's list; past [`LOCAL_MAX`] move a batch to
//!   the global list (one lock per 32 frees).
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
//! memory Go would not return either).

use std::alloc::{Layout, alloc, dealloc};
use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::Mutex;

const UNIT: usize = 64;
/// Alignment of class blocks (enough for every task whose layout fits).
const ALIGN: usize = 16;
const CLASSES: usize = 16;
/// Blocks a thread keeps per class.
pub(crate) const LOCAL_MAX: usize = 64;
/// Blocks moved between a thread and the global list at a time.
pub(crate) const BATCH: usize = 32;
/// Bytes carved per chunk.
const CHUNK: usize = 64 << 10;

/// A free block: only its address matters. Blocks are plain memory owned by
/// whichever list holds them.
#[derive(Clone, Copy)]
struct Block(NonNull<u8>);
// SAFETY: a free block is unaliased memory; moving its address between
// threads moves ownership of that memory.
unsafe impl Send for Block {}

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

static GLOBAL: [Mutex<Vec<Vec<Block>>>; CLASSES] = [const { Mutex::new(Vec::new()) }; CLASSES];

/// The uncarved rest of a chunk: `[next, end)`.
#[derive(Clone, Copy)]
struct Carve {
    next: usize,
    end: usize,
}

/// A thread's free lists and chunks (each worker has one; so does any plain
/// thread that spawns).
pub(crate) struct TaskCache {
    lists: RefCell<[Vec<Block>; CLASSES]>,
    carve: RefCell<[Carve; CLASSES]>,
}

impl TaskCache {
    const fn new() -> Self {
        TaskCache {
            lists: RefCell::new([const { Vec::new() }; CLASSES]),
            carve: RefCell::new([Carve { next: 0, end: 0 }; CLASSES]),
        }
    }
}

impl Drop for TaskCache {
    /// A thread that exits hands its free blocks to the global lists (the
    /// uncarved tail of its chunks, under 64 KiB per class, is left unused).
    fn drop(&mut self) {
        for (c, list) in self.lists.get_mut().iter_mut().enumerate() {
            if !list.is_empty() {
                GLOBAL[c]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(std::mem::take(list));
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
            let blocks: Vec<Block> = (1..CHUNK / size)
                .map(|i| {
                    Block(
                        NonNull::new((start + i * size) as *mut u8)
                            .expect("chunk memory is not null"),
                    )
                })
                .collect();
            GLOBAL[c]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(blocks);
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
            let mut lists = cache.lists.borrow_mut();
            let list = &mut lists[c];
            if let Some(b) = list.pop() {
                return Some(b.0);
            }
            let batch = GLOBAL[c].lock().unwrap_or_else(|e| e.into_inner()).pop();
            if let Some(batch) = batch {
                *list = batch;
                if let Some(b) = list.pop() {
                    return Some(b.0);
                }
            }
        }
        None => {
            let mut g = GLOBAL[c].lock().unwrap_or_else(|e| e.into_inner());
            while let Some(batch) = g.last_mut() {
                if let Some(b) = batch.pop() {
                    return Some(b.0);
                }
                g.pop();
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
            let mut lists = cache.lists.borrow_mut();
            let list = &mut lists[c];
            list.push(Block(p));
            if list.len() <= LOCAL_MAX {
                return;
            }
            list.split_off(list.len() - BATCH)
        }
        None => vec![Block(p)],
    };
    GLOBAL[c]
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(spill);
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
        assert!(cache.lists.borrow()[class_of(l).unwrap()].len() <= LOCAL_MAX);
        // Off-cache paths (thread teardown) work too.
        let q = alloc_in(l, None).unwrap();
        // SAFETY: as above.
        unsafe { free_in(q, l, None) };
        let big = Layout::from_size_align(4096, 8).unwrap();
        let b = alloc_task(big).unwrap();
        // SAFETY: as above.
        unsafe { free_task(b, big) };
    }
}
