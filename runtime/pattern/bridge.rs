//! The bridge-channel: a channel of channels read as one stream.
//!
//! One coroutine takes the inner channels in the order they arrive and
//! drains each to the end before taking the next, so values come out
//! grouped by channel and in order within each. It returns — closing the
//! output — when the channel of channels closes (after the last inner one
//! is drained), when done fires, or when the output's readers are gone.
//!
//! Alternative rejected: an `or_done` coroutine per inner channel (the
//! book's code); draining in place does the same with one coroutine.

use goro_chan::{Receiver, chan};

use super::{Done, Step, forward, recv_or_done};

/// Flattens a channel of channels into one stream (the book's
/// `bridge(done, chanStream)`): every value of the first channel, then of
/// the second, and so on.
///
/// ```
/// use goro::chan::chan;
/// use goro::pattern::{bridge, generator};
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     let (streams_tx, streams) = chan(0);
///     let d = done.clone();
///     goro::go!(move || {
///         for i in 0..3 {
///             streams_tx.send(generator(&d, [i * 10, i * 10 + 1])).unwrap();
///         }
///     });
///     let all: Vec<i32> = bridge(&done, streams).iter().collect();
///     assert_eq!(all, [0, 1, 10, 11, 20, 21]);
/// });
/// ```
pub fn bridge<T: Send + 'static>(done: impl Done, streams: Receiver<Receiver<T>>) -> Receiver<T> {
    let done = done.into_done();
    let (tx, out) = chan(0);
    crate::spawn(move || {
        while let Step::Value(stream) = recv_or_done(&done, &streams) {
            if !forward(&done, &stream, &tx) {
                return;
            }
        }
    });
    out
}
