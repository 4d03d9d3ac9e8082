//! Storage for coroutine-local values (`goro::coroutine_local!`): a map
//! from key to value that a coroutine allocates the first time it touches a
//! local, kept in its header and dropped when its body returns.
//!
//! The public key type and the macro live above the scheduler
//! (`runtime/coroutine_local.rs`), because finding "the running coroutine"
//! needs the worker; this file only holds the storage, so that the header
//! (this layer) can own it and the trampoline can drop it.
//!
//! # Layout
//!
//! [`Slot`] is one pointer in the [`Header`](super::Header): `None` (null)
//! until the coroutine first touches a local. Spawning pays one null store;
//! finishing pays one load and a branch. The [`Map`] is a short vector of
//! entries `(key, value pointer, drop fn)`: a key is the address of its
//! `static` (unique per static), a value is a `Box<T>` turned into a raw
//! pointer, so growing the vector never moves a value a caller holds a
//! reference to.
//!
//! # Access rules (cited by `// SAFETY:` comments)
//!
//! 1. **Owner only.** A coroutine's slot is read and written only by code
//!    running on that coroutine (its body, the locals' initialisers and
//!    destructors, and the trampoline right after the body returns). A
//!    coroutine runs on one worker at a time, with release/acquire
//!    hand-offs between workers (`state.rs`, rule 1), so these accesses
//!    never race. A plain thread's slot is a `thread_local!`, used only by
//!    its thread.
//! 2. **No reference into the map across user code.** `&mut Map` is formed
//!    only for a lookup or a push, never while an initialiser, a destructor
//!    or a `with` closure runs; those may touch other locals (re-entering
//!    the map) and may park (the coroutine migrates, its slot does not).
//! 3. **Values stay put.** A value lives in its own allocation from its
//!    first access until [`drop_all`] (or the thread's exit); references
//!    handed to `with` closures point there, never into the vector.
//! 4. **Values are `Send`.** The map travels with its coroutine across
//!    threads, so the key type only admits `T: Send` (checked in
//!    `coroutine_local.rs`).
//!
//! # Alternatives rejected
//!
//! * *A `HashMap`*: a coroutine touches a handful of locals; hashing costs
//!   more than scanning a few keys, and a hash map would allocate anyway.
//! * *A fixed index per key (a global counter assigned on first use, and a
//!   vector indexed by it)*: O(1) lookups, but every coroutine's vector
//!   grows to the largest index any key got, process-wide.
//! * *`Box<dyn Any>` values*: the key already fixes the type; a raw pointer
//!   and a drop function avoid the vtable and the `Box` aliasing rules that
//!   a vector reallocation would trip over while a `&T` is out.
//! * *Storing the map in the coroutine's stack*: it would vanish on stack
//!   reuse, and the header is already the one per-coroutine allocation.

use std::cell::UnsafeCell;
use std::ptr::NonNull;

/// The per-coroutine (or per-thread) pointer to the map; null until used.
/// A raw pointer, not a `Box`: the header then has no drop glue for it
/// (the slot is empty whenever a header is freed: the trampoline emptied
/// it, or the coroutine never ran), which keeps the task's free path as
/// short as before locals existed.
pub(crate) struct Slot(UnsafeCell<MapPtr>);

/// The slot's content: a map from `Box::into_raw`, or `None`.
pub(crate) type MapPtr = Option<NonNull<Map>>;

impl Slot {
    /// An empty slot (a null pointer).
    #[inline]
    pub(crate) const fn new() -> Self {
        Slot(UnsafeCell::new(None))
    }

    /// The slot's cell, for [`lookup`] and [`insert`].
    #[inline]
    pub(crate) fn get(&self) -> *mut MapPtr {
        self.0.get()
    }
}

/// One coroutine's (or thread's) locals.
#[derive(Default)]
pub(crate) struct Map {
    entries: Vec<Entry>,
}

struct Entry {
    key: *const (),
    value: *mut (),
    drop: unsafe fn(*mut ()),
}

/// Frees a value stored by [`insert`].
///
/// # Safety
/// `p` came from `Box::<T>::into_raw` and is dropped once.
unsafe fn drop_value<T>(p: *mut ()) {
    // SAFETY: caller contract.
    drop(unsafe { Box::from_raw(p.cast::<T>()) });
}

/// The value stored under `key`, if any.
///
/// # Safety
/// `slot` is the caller's own slot (rule 1) and no `&mut Map` is live
/// (rule 2); the caller knows the value's type from the key.
#[inline]
pub(crate) unsafe fn lookup(slot: *mut MapPtr, key: *const ()) -> Option<*mut ()> {
    // SAFETY: caller contract: a shared look, nobody else touches the slot;
    // a non-null map is a live `Box<Map>` owned by the slot.
    let map = unsafe { (*slot)?.as_ref() };
    map.entries.iter().find(|e| e.key == key).map(|e| e.value)
}

/// Stores `value` under `key`, allocating the map on first use, and
/// returns where it lives (rule 3).
///
/// # Safety
/// As for [`lookup`], and `key` is not in the map yet.
pub(crate) unsafe fn insert<T>(slot: *mut MapPtr, key: *const (), value: T) -> *mut T {
    let p = Box::into_raw(Box::new(value));
    // SAFETY: caller contract (rules 1-2): this `&mut` lives only for the
    // push, and no user code runs meanwhile.
    let map = unsafe {
        &mut *(*slot)
            .get_or_insert_with(|| NonNull::from(Box::leak(Box::<Map>::default())))
            .as_ptr()
    };
    debug_assert!(map.entries.iter().all(|e| e.key != key));
    map.entries.push(Entry {
        key,
        value: p.cast(),
        drop: drop_value::<T>,
    });
    p
}

/// Whether `slot` holds a map (the owner touched some local).
///
/// # Safety
/// As for [`lookup`].
#[inline]
pub(crate) unsafe fn in_use(slot: *mut MapPtr) -> bool {
    // SAFETY: caller contract.
    unsafe { (*slot).is_some() }
}

/// Drops every local in `slot`, including locals that destructors create
/// while it runs, and leaves the slot empty. Called from a guard in the
/// trampoline when the body returns or unwinds (on the coroutine, rule 1),
/// and at a thread's exit.
///
/// A destructor that panics propagates its panic after the other values of
/// its round are dropped (the coroutine then ends with that panic, or, if
/// it was already unwinding, the process aborts, as for `thread_local!`).
/// Locals that other destructors created in that round are then leaked,
/// not dropped.
///
/// # Safety
/// `slot` is the caller's own slot (rule 1), and no reference to any of
/// its values is live (no `with` closure of this owner is running).
#[cold]
#[inline(never)]
pub(crate) unsafe fn drop_all(slot: *mut MapPtr) {
    // A destructor may touch a local again: that starts a new map, which the
    // next round drops.
    // SAFETY: caller contract; the map is moved out before any destructor
    // runs (rule 2).
    while let Some(map) = unsafe { (*slot).take() } {
        // SAFETY: the slot owned this `Box<Map>`; taking it out made us its
        // only owner.
        let mut map = unsafe { Box::from_raw(map.as_ptr()) };
        // In insertion order, like `thread_local!` destructors registered in
        // that order; each entry leaves the vector before its value drops.
        let mut rest = Rest(std::mem::take(&mut map.entries).into_iter());
        drop(map);
        rest.drop_each();
    }
}

/// Entries still to drop. If a destructor panics, unwinding drops this
/// guard, which drops the values after it (a second panic then aborts, as
/// for any destructor that panics while unwinding), so none leaks.
struct Rest(std::vec::IntoIter<Entry>);

impl Rest {
    fn drop_each(&mut self) {
        for e in self.0.by_ref() {
            // SAFETY: `value` came from `Box::<T>::into_raw` in `insert`,
            // with `drop` = `drop_value::<T>`, and is dropped once here.
            unsafe { (e.drop)(e.value) };
        }
    }
}

impl Drop for Rest {
    fn drop(&mut self) {
        self.drop_each();
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        for e in self.entries.drain(..) {
            // SAFETY: as in `drop_all`: each value once, with its own type.
            unsafe { (e.drop)(e.value) };
        }
    }
}
