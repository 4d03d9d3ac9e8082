//! Go's `time` package for coroutines: [`sleep`], [`after`], [`tick`],
//! [`Timer`] and [`Ticker`], on the runtime's per-worker timer heaps.
//!
//! Sleeping parks the coroutine (a plain thread just sleeps); timers deliver
//! on channels, so they compose with `select!`:
//!
//! ```
//! use std::time::Duration;
//! use goro::{chan, select, time};
//!
//! goro::run(|| {
//!     let (_tx, rx) = chan::<u32>(0);
//!     let timed_out = select! {
//!         recv(rx) -> _ => false,
//!         recv(time::after(Duration::from_millis(5))) -> _ => true,
//!     };
//!     assert!(timed_out);
//! });
//! ```
//!
//! Channel operations with a timeout (`recv_timeout`, `select!`'s
//! `default(d)`) use the same heaps. The heaps are a scheduler driver
//! (`sched/timers.rs`: how timers are kept and fired); this package is the
//! user-facing API over it, and `timer.rs` has the Go 1.23 stop/reset
//! guarantees.

mod timer;

pub use timer::{Ticker, Timer, after, sleep, sleep_until, tick};
