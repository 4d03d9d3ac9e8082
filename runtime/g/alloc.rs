//! Memory for coroutine tasks, recycled per worker (Go's `gFree` lists).
//!
//! A task is allocated by the worker that spawns it and usually freed by a
//! different one (whichever ran it last). Through the system allocator that
//! pattern makes both workers fight over one malloc arena lock: measured on
//! the spawn benchmark, a futex call every 50 spawns and a third of the run
//! time. Instead, task blocks come in size classes (multiples of 64 bytes up
//! to 1 KiB, 16-byte aligned) and each worker keeps a free list per class:
//!
//! * free: push on the freeing worker's list; past [`LOCAL_MAX`] move a
//!   batch of [`BATCH`] to the global list;
//! * alloc: pop the local list; when empty take a batch from the global
//!   list, else ask the system allocator;
//! * the global list keeps at most [`GLOBAL_MAX`] batches per class; beyond
//!   that blocks go back to the system allocator, so an idle runtime does not
//!   hoard memory.
//!
//! The global lock is taken once per 32 spawns at most. Tasks that do not fit
//! a class (a closure capturing more than ~800 bytes, or over-aligned) use
//! the system allocator directly.
//!
//! Alternatives rejected: a general-purpose allocator crate (the choice of
//! global allocator belongs to the application); one lock-free global stack
//! (every spawn and exit would contend on its head).

use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::Mutex;

const UNIT: usize = 64;
/// Alignment of class blocks: what malloc gives without its slow
/// aligned-allocation path.
const ALIGN: usize = 16;
const CLASSES: usize = 16;
/// Blocks a worker keeps per class.
pub(crate) const LOCAL_MAX: usize = 64;
/// Blocks moved between a worker and the global list at a time.
pub(crate) const BATCH: usize = 32;
/// Batches the global list keeps per class.
const GLOBAL_MAX: usize = 64;

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

fn class_layout(c: usize) -> Layout {
    Layout::from_size_align((c + 1) * UNIT, ALIGN).expect("valid class layout")
}

static GLOBAL: [Mutex<Vec<Vec<Block>>>; CLASSES] = [const { Mutex::new(Vec::new()) }; CLASSES];

/// A thread's free lists (each worker has one; so does any plain thread
/// that spawns).
pub(crate) struct TaskCache {
    lists: RefCell<[Vec<Block>; CLASSES]>,
}

impl TaskCache {
    const fn new() -> Self {
        TaskCache {
            lists: RefCell::new([const { Vec::new() }; CLASSES]),
        }
    }
}

impl Drop for TaskCache {
    fn drop(&mut self) {
        for (c, list) in self.lists.get_mut().iter_mut().enumerate() {
            for b in list.drain(..) {
                // SAFETY: class blocks are allocated with class_layout(c) and
                // a free block is owned by its list.
                unsafe { dealloc(b.0.as_ptr(), class_layout(c)) };
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

fn sys_alloc(layout: Layout) -> NonNull<u8> {
    // SAFETY: layout has non-zero size (tasks always contain a header).
    let p = unsafe { alloc(layout) };
    NonNull::new(p).unwrap_or_else(|| handle_alloc_error(layout))
}

/// Allocates a block for `layout` (a task).
pub(crate) fn alloc_task(layout: Layout) -> NonNull<u8> {
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

fn alloc_in(layout: Layout, cache: Option<&TaskCache>) -> NonNull<u8> {
    let Some(c) = class_of(layout) else {
        return sys_alloc(layout);
    };
    if let Some(cache) = cache {
        let mut lists = cache.lists.borrow_mut();
        let list = &mut lists[c];
        if let Some(b) = list.pop() {
            return b.0;
        }
        let batch = GLOBAL[c].lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(batch) = batch {
            *list = batch;
            if let Some(b) = list.pop() {
                return b.0;
            }
        }
    } else if let Some(b) = GLOBAL[c]
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .last_mut()
        .and_then(Vec::pop)
    {
        return b.0;
    }
    sys_alloc(class_layout(c))
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
    let mut g = GLOBAL[c].lock().unwrap_or_else(|e| e.into_inner());
    if g.len() < GLOBAL_MAX {
        g.push(spill);
        return;
    }
    drop(g);
    for b in spill {
        // SAFETY: class blocks are allocated with class_layout(c).
        unsafe { dealloc(b.0.as_ptr(), class_layout(c)) };
    }
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
    fn recycle_through_cache_and_global() {
        let cache = TaskCache::new();
        let l = Layout::from_size_align(200, 8).unwrap();
        let ps: Vec<_> = (0..200).map(|_| alloc_in(l, Some(&cache))).collect();
        for &p in &ps {
            // SAFETY: each block is ours, unused after, holds nothing to drop.
            unsafe { free_in(p, l, Some(&cache)) };
        }
        assert!(cache.lists.borrow()[class_of(l).unwrap()].len() <= LOCAL_MAX);
        let other = TaskCache::new();
        let q = alloc_in(l, Some(&other));
        // SAFETY: as above.
        unsafe { free_in(q, l, None) };
        let big = Layout::from_size_align(4096, 8).unwrap();
        let b = alloc_task(big);
        // SAFETY: as above.
        unsafe { free_task(b, big) };
    }
}
