//! goro-chan: Go-semantics channels and `select!`, independent of any
//! particular runtime.
//!
//! Everything here blocks through [`waiter`], a small hook with an OS-thread
//! default; the goro runtime installs a coroutine implementation so that a
//! blocked coroutine frees its worker thread. The crate contains no
//! assembly, no context switching and no I/O, so it can be tested with plain
//! threads and model-checked with loom.

#![warn(missing_docs)]

mod loom;
pub mod waiter;
