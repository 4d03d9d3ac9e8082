//! The pipeline patterns of *Concurrency in Go*, chapter 4 (and the
//! heartbeat of chapter 5), as small generic functions over channels.
//!
//! Every stage takes a **done signal** first — a `Receiver<()>` that is
//! closed to stop, or a [`Context`] — through the [`Done`] trait, and
//! returns the channel(s) it writes. Stages compose as in the book:
//!
//! ```
//! use goro::chan::chan;
//! use goro::pattern::{fan_in, fan_out, generator, take};
//!
//! goro::run(|| {
//!     let (stop, done) = chan::<()>(0);
//!     let squares = fan_out(&done, generator(&done, 1..=100u64), 4, |n| n * n);
//!     let merged = fan_in(&done, squares);
//!     let mut first: Vec<u64> = take(&done, merged, 10).iter().collect();
//!     first.sort_unstable();
//!     assert_eq!(first.len(), 10);
//!     drop(stop); // closes `done`: every stage still running returns
//! });
//! ```
//!
//! | module | stages |
//! |--------|--------|
//! | `or` | [`or`]: one done signal from many |
//! | `or_done` | [`or_done`]: read a channel until done; [`queue`]: the same with a buffer |
//! | `tee` | [`tee`]: every value to two outputs |
//! | `bridge` | [`bridge`]: a channel of channels read as one stream |
//! | `fan` | [`fan_out`] (n workers on one input), [`fan_in`] (merge) |
//! | `generate` | [`generator`], [`repeat`], [`repeat_fn`], [`take`] |
//! | `heartbeat` | [`heartbeat`]: a worker's pulse channel |
//!
//! # Rules every stage keeps
//!
//! 1. **It stops when done fires.** Wherever it waits — for input or for
//!    its reader — it waits in a `select!` that also has the done channel,
//!    and before each step it checks whether done is closed, so closing
//!    done ends it at its next step even when its input and its reader are
//!    both ready (where Go's `select` would pick among them at random and
//!    may move a few more values). Except in `tee` (whose sends must not
//!    clone a value only to have it refused), a step that can complete at
//!    once is tried without a `select!` (`try_recv` / `try_send`): the
//!    `select!` is only paid for a wait.
//! 2. **It closes its output when it returns** (the output's `Sender` is
//!    dropped), so a reader's `for v in rx` ends.
//! 3. **It also stops when its reader goes away**: a send to an output
//!    whose receivers were all dropped fails at once, and the stage returns
//!    (Go's stages would block forever there; this is how a [`take`]
//!    downstream shuts a [`repeat`] upstream without a done signal).
//! 4. **It never leaks a coroutine**: each coroutine a stage starts returns
//!    by rule 1, 3, or when its input closes. The one exception is Go's
//!    own: [`or`] waits until one of its inputs fires.
//!
//! A done channel is meant to be *closed*. A value sent on it counts as
//! done for the one stage that happens to receive it.
//!
//! Alternatives rejected: stages over `Box<dyn Any>` values (the book's
//! `interface{}` channels; generics keep the types); one coroutine per
//! input in [`or`] and [`fan_in`] (the book's recursion and its goroutine
//! per merged channel; one [`Select`](goro_chan::Select) over all inputs
//! does the same with one coroutine); a builder object per pipeline (plain
//! functions compose like Go's).

mod bridge;
mod fan;
mod generate;
mod heartbeat;
mod or;
mod or_done;
mod tee;

pub use bridge::bridge;
pub use fan::{fan_in, fan_out};
pub use generate::{generator, repeat, repeat_fn, take};
pub use heartbeat::{Heartbeat, heartbeat};
pub use or::or;
pub use or_done::{or_done, queue};
pub use tee::tee;

use goro_chan::{Receiver, Sender, TryRecvError, TrySendError, select};

use crate::context::Context;

/// A done signal: something that yields the channel a stage selects on to
/// know it must stop (closed when it must).
///
/// Implemented for `Receiver<()>` (the book's `done` channel), a reference
/// to one (cloned), and [`Context`] (its [`done`](Context::done) channel).
///
/// ```
/// use goro::chan::chan;
/// use goro::context;
/// use goro::pattern::Done;
///
/// let (stop, done) = chan::<()>(0);
/// let rx = (&done).into_done();
/// drop(stop);
/// assert_eq!(rx.recv(), None); // closed: the stage would stop
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let rx = ctx.into_done();
/// cancel.cancel();
/// assert_eq!(rx.recv(), None);
/// ```
pub trait Done {
    /// The channel to select on; it is closed when the stage must stop.
    fn into_done(self) -> Receiver<()>;
}

impl Done for Receiver<()> {
    fn into_done(self) -> Receiver<()> {
        self
    }
}

impl Done for &Receiver<()> {
    fn into_done(self) -> Receiver<()> {
        self.clone()
    }
}

impl Done for Context {
    fn into_done(self) -> Receiver<()> {
        self.done()
    }
}

impl Done for &Context {
    fn into_done(self) -> Receiver<()> {
        self.done()
    }
}

/// What one wait for input ended with.
pub(crate) enum Step<T> {
    /// A value arrived.
    Value(T),
    /// The input is closed and drained.
    Closed,
    /// The done signal fired.
    Done,
}

/// Receives from `rx` unless `done` fires first (rule 1).
///
/// Fast path: while done is not closed, a value (or the close) already
/// waiting on `rx` is taken without a `select!`; only a wait goes through
/// one. A closed done is seen at the next step, every time.
#[inline]
pub(crate) fn recv_or_done<T>(done: &Receiver<()>, rx: &Receiver<T>) -> Step<T> {
    if done.is_closed() {
        return Step::Done;
    }
    match rx.try_recv() {
        Ok(v) => return Step::Value(v),
        Err(TryRecvError::Closed) => return Step::Closed,
        Err(TryRecvError::Empty) => {}
    }
    select! {
        recv(rx) -> v => match v {
            Some(v) => Step::Value(v),
            None => Step::Closed,
        },
        recv(done) -> _ => Step::Done,
    }
}

/// Sends `v` on `tx` unless `done` fires first (rule 1) or every reader of
/// `tx` is gone (rule 3). `true` if the value was delivered.
///
/// Fast path as in [`recv_or_done`]: a send that can complete at once
/// skips the `select!`.
#[inline]
pub(crate) fn send_or_done<T>(done: &Receiver<()>, tx: &Sender<T>, v: T) -> bool {
    if done.is_closed() {
        return false;
    }
    let v = match tx.try_send(v) {
        Ok(()) => return true,
        Err(TrySendError::Closed(_)) => return false,
        Err(TrySendError::Full(v)) => v,
    };
    select! {
        send(tx, v) -> r => r.is_ok(),
        recv(done) -> _ => false,
    }
}

/// Moves every value from `rx` to `tx` until `rx` closes (returns `true`),
/// or `done` fires or `tx` loses its readers (returns `false`: stop).
pub(crate) fn forward<T>(done: &Receiver<()>, rx: &Receiver<T>, tx: &Sender<T>) -> bool {
    loop {
        match recv_or_done(done, rx) {
            Step::Value(v) => {
                if !send_or_done(done, tx, v) {
                    return false;
                }
            }
            Step::Closed => return true,
            Step::Done => return false,
        }
    }
}
