//! Chapter 5 of *Concurrency in Go* ("Concurrency at Scale") as a library:
//! [`replicate`]d requests (the first answer wins, the other replicas are
//! cancelled through a [`Context`](crate::context::Context)) and the
//! [`steward`] / ward healing pattern (a steward restarts a ward that stops
//! sending heartbeats).
//!
//! Both are small functions over channels, contexts and coroutines, and
//! both leave no coroutine of their own behind: `replicate` returns after
//! every replica has returned; a steward's monitor ends when its `done`
//! channel closes, and closes its current ward's `done` on the way out.
//!
//! This folder sits beside the book's chapter 4 patterns (`goro::pattern`),
//! on the same layer: it uses context, sync, time and channels, and nothing
//! below uses it.

mod replicate;
mod steward;

pub use replicate::{Error, replicate};
pub use steward::{Ward, steward, steward_with};
