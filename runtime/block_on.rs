//! The bridge from async Rust into coroutines: [`block_on`] runs a
//! `Future` to completion on the calling coroutine, parking the coroutine
//! (not its worker thread) between polls.
//!
//! The other direction lives beside the types it extends: a
//! [`JoinHandle`](crate::JoinHandle) is a `Future` (`g/join.rs`), and a
//! channel's [`Receiver::recv_async`](goro_chan::Receiver::recv_async) is
//! one too (`chan/src/future.rs`).
//!
//! # Invariants
//!
//! * The future's `Waker` is the caller's own unparker
//!   ([`waiter::current`]): waking it makes the parked coroutine runnable
//!   (or the blocked thread return), from any thread, a timer or another
//!   coroutine, and holds a reference, so a waker kept after `block_on`
//!   returned stays safe to use.
//! * No wake-up is lost: a wake that comes while the future is being polled
//!   (or before the park) leaves a token, and the next park returns at once
//!   (waiter protocol, `chan/src/waiter.rs`). A park may also return
//!   spuriously (a stale token); that only costs one extra poll, which
//!   futures must tolerate anyway.
//!
//! # Alternatives rejected
//!
//! * *A fresh waker per `block_on` with its own "woken" flag* (as
//!   executors for threads do): the coroutine's unparker already carries a
//!   token, and a second flag would need its own synchronisation.
//! * *Running the future on a hidden executor thread and waiting on a
//!   channel*: a thread hop per wake-up, and `!Send` futures would be
//!   impossible; here the future stays on the caller's stack.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

use goro_chan::waiter;

/// Runs `future` to completion and returns its output. On a coroutine the
/// coroutine parks between polls and its worker runs others; on a plain
/// thread the thread blocks. The future's waker is the caller's unparker,
/// so it may be woken from anywhere: another thread, a goro timer, another
/// coroutine.
///
/// Runtime-agnostic futures work (your own `async fn`s, `futures`-style
/// combinators, goro's [`JoinHandle`](crate::JoinHandle) and
/// [`recv_async`](goro_chan::Receiver::recv_async), channels from crates
/// that only use wakers). Futures that need a specific runtime's reactor
/// (tokio's sockets and timers) need that runtime running in the process
/// (for example a tokio runtime on its own threads, entered with its
/// handle); `block_on` does not drive any reactor but goro's.
///
/// Inside a coroutine, `block_on` is one more blocking call: the coroutine
/// may resume on another worker after it (`docs/safety.md`).
///
/// # Panics
///
/// If the future panics (the panic propagates to the caller).
///
/// ```
/// async fn add(a: u32, b: u32) -> u32 {
///     a + b
/// }
///
/// let (tx, rx) = goro::chan::<u32>(1);
/// let sum = goro::run(move || {
///     goro::go!(move || tx.send(40).unwrap());
///     goro::block_on(async move {
///         let x = rx.recv_async().await.unwrap(); // parks this coroutine
///         add(x, 2).await
///     })
/// });
/// assert_eq!(sum, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let me = waiter::current();
    let mut cx = Context::from_waker(me.as_waker());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        // A wake-up since the poll began left a token: this returns at once.
        waiter::park("block_on", None, || true);
    }
}
