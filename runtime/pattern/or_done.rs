//! `or_done` and `queue`: read a channel until it closes or done fires,
//! re-sending every value on the stage's own output — unbuffered
//! ([`or_done`], the book's or-done-channel) or through a buffer of `n`
//! ([`queue`], the queuing section).
//!
//! One coroutine per stage, which runs `forward` (mod.rs): it returns when
//! the input closes, done fires, or the output has no reader left, and its
//! return drops (closes) the output. Values keep their order.
//!
//! Alternative rejected: `queue` as an unbounded `VecDeque` in the stage
//! (the book's lesson is that queues must be bounded; a channel's buffer
//! gives the bound and back-pressure for free).

use goro_chan::{Receiver, chan};

use super::{Done, forward};

/// Reads `rx` until it closes or `done` fires (the book's
/// `orDone(done, c)`), so the reader can write a plain `for` loop instead
/// of a `select!` on both. Order is kept; the output closes when the stage
/// ends.
///
/// ```
/// use goro::chan::chan;
/// use goro::pattern::or_done;
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     let (tx, rx) = chan::<u32>(3);
///     for i in 1..=3 {
///         tx.send(i).unwrap();
///     }
///     drop(tx);
///     let got: Vec<u32> = or_done(&done, rx).iter().collect();
///     assert_eq!(got, [1, 2, 3]);
/// });
/// ```
pub fn or_done<T: Send + 'static>(done: impl Done, rx: Receiver<T>) -> Receiver<T> {
    queue(done, rx, 0)
}

/// A buffering stage (the book's queuing section): moves values from `rx`
/// to an output with a buffer of `n`, so the writer upstream can run ahead
/// of a slow reader by up to `n` values (plus the one the stage holds).
/// `n == 0` is [`or_done`]. Order is kept; the stage ends, closing its
/// output, when `rx` closes, `done` fires, or the output's readers are gone
/// (values still buffered then are dropped).
///
/// ```
/// use goro::chan::chan;
/// use goro::pattern::{generator, queue};
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     let q = queue(&done, generator(&done, 0..10), 4);
///     assert_eq!(q.cap(), 4);
///     assert_eq!(q.iter().collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
/// });
/// ```
pub fn queue<T: Send + 'static>(done: impl Done, rx: Receiver<T>, n: usize) -> Receiver<T> {
    let done = done.into_done();
    let (tx, out) = chan(n);
    crate::spawn(move || {
        forward(&done, &rx, &tx);
    });
    out
}
