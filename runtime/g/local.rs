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

/// The per-coroutine (or per-thread) pointer to the map; null until used.
pub(crate) struct Slot(UnsafeCell<Option<Box<Map>>>);

impl Slot {
    /// An empty slot (a null pointer).
    #[inline]
    pub(crate) const fn new() -> Self {
        Slot(UnsafeCell::new(None))
    }

    /// The slot's cell, for [`lookup`] and [`insert`].
    #[inline]
    pub(crate) fn get(&self) -> *mut Option<Box<Map>> {
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
pub(crate) unsafe fn lookup(slot: *mut Option<Box<Map>>, key: *const ()) -> Option<*mut ()> {
    // SAFETY: caller contract: a shared look, nobody else touches the slot.
    let map = unsafe { (*slot).as_deref() }?;
    map.entries.iter().find(|e| e.key == key).map(|e| e.value)
}

/// Stores `value` under `key`, allocating the map on first use, and
/// returns where it lives (rule 3).
///
/// # Safety
/// As for [`lookup`], and `key` is not in the map yet.
pub(crate) unsafe fn insert<T>(slot: *mut Option<Box<Map>>, key: *const (), value: T) -> *mut T {
    let p = Box::into_raw(Box::new(value));
    // SAFETY: caller contract (rules 1-2): this `&mut` lives only for the
    // push, and no user code runs meanwhile.
    let map = unsafe { (*slot).get_or_insert_with(Box::default) };
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
pub(crate) unsafe fn in_use(slot: *mut Option<Box<Map>>) -> bool {
    // SAFETY: caller contract.
    unsafe { (*slot).is_some() }
}

/// Drops every local in `slot`, including locals that destructors create
/// while it runs, and leaves the slot empty. Called by the trampoline after
/// the body returns (on the coroutine, rule 1) and at a thread's exit.
///
/// # Safety
/// `slot` is the caller's own slot (rule 1), and no reference to any of
/// its values is live (no `with` closure of this owner is running).
pub(crate) unsafe fn drop_all(slot: *mut Option<Box<Map>>) {
    let mut first_panic = None;
    // A destructor may touch a local again: that starts a new map, which the
    // next round drops.
    // SAFETY: caller contract; the map is moved out before any destructor
    // runs (rule 2).
    while let Some(mut map) = unsafe { (*slot).take() } {
        // In insertion order, like `thread_local!` destructors registered in
        // that order; each entry leaves the vector before its value drops.
        let entries = std::mem::take(&mut map.entries);
        drop(map);
        for e in entries {
            // A panicking destructor does not leak the values after it: the
            // first panic is resumed once all are dropped.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // SAFETY: `value` came from `Box::<T>::into_raw` in `insert`,
                // with `drop` = `drop_value::<T>`, and is dropped once here.
                unsafe { (e.drop)(e.value) }
            }));
            if let Err(p) = r {
                first_panic.get_or_insert(p);
            }
        }
    }
    if let Some(p) = first_panic {
        std::panic::resume_unwind(p);
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
