//! Generators — stages that start a pipeline — and `take`.
//!
//! [`generator`] turns a batch (any iterator) into a stream, the book's
//! `generator(done, integers...)`; [`repeat`] cycles a list of values and
//! [`repeat_fn`] calls a function, both forever; [`take`] passes the first
//! `n` values of a stream and ends. Each runs one coroutine, which holds its
//! output's only `Sender` and returns (closing the output) when its source
//! is exhausted, done fires, or the output's readers are gone.
//!
//! Because a stage stops when its reader goes away (rule 3 of the module),
//! `take(done, repeat(done, ..), n)` shuts down the `repeat` behind it when
//! `take` has its `n` values, even if done never fires.
//!
//! Alternative rejected: the book's `repeat` over an empty list spins
//! forever without sending; here it closes its output at once.

use goro_chan::{Receiver, chan};

use super::{Done, Step, recv_or_done, send_or_done};

/// A stream of the items of `iter`, in order (the book's `generator`,
/// converting a batch into a stream). The output closes after the last
/// item, or earlier when `done` fires or the output's readers are gone.
///
/// ```
/// use goro::chan::chan;
/// use goro::pattern::generator;
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     let stream = generator(&done, vec![1, 2, 3, 4]);
///     assert_eq!(stream.iter().map(|x| x * 2).collect::<Vec<_>>(), [2, 4, 6, 8]);
/// });
/// ```
pub fn generator<I>(done: impl Done, iter: I) -> Receiver<I::Item>
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Send + 'static,
{
    let done = done.into_done();
    let iter = iter.into_iter();
    let (tx, out) = chan(0);
    crate::spawn(move || {
        for v in iter {
            if !send_or_done(&done, &tx, v) {
                return;
            }
        }
    });
    out
}

/// Repeats `values` in a cycle until `done` fires or the output's readers
/// are gone (the book's `repeat`). An empty `values` closes the output at
/// once.
///
/// ```
/// use goro::chan::chan;
/// use goro::pattern::{repeat, take};
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     let got: Vec<&str> = take(&done, repeat(&done, ["a", "b"]), 5).iter().collect();
///     assert_eq!(got, ["a", "b", "a", "b", "a"]);
/// });
/// ```
pub fn repeat<T: Clone + Send + 'static>(
    done: impl Done,
    values: impl IntoIterator<Item = T>,
) -> Receiver<T> {
    let values: Vec<T> = values.into_iter().collect();
    if values.is_empty() {
        return generator(done, values);
    }
    generator(done, values.into_iter().cycle())
}

/// Calls `f` and sends its result, over and over, until `done` fires or the
/// output's readers are gone (the book's `repeatFn`). A panic in `f` ends the
/// stage (its output closes; the panic is reported as an unjoined coroutine
/// panic).
///
/// ```
/// use goro::chan::chan;
/// use goro::pattern::{repeat_fn, take};
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     let mut n = 0u64;
///     let squares = repeat_fn(&done, move || {
///         n += 1;
///         n * n
///     });
///     assert_eq!(take(&done, squares, 4).iter().collect::<Vec<_>>(), [1, 4, 9, 16]);
/// });
/// ```
pub fn repeat_fn<T, F>(done: impl Done, mut f: F) -> Receiver<T>
where
    T: Send + 'static,
    F: FnMut() -> T + Send + 'static,
{
    generator(done, std::iter::from_fn(move || Some(f())))
}

/// Passes on the first `n` values of `rx`, then ends (the book's `take`):
/// the output closes after `n` values, or earlier when `rx` closes, `done`
/// fires or the output's readers are gone. Ending drops `rx`, which stops a
/// stage upstream whose only reader it was.
///
/// ```
/// use goro::chan::chan;
/// use goro::pattern::{generator, take};
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     assert_eq!(take(&done, generator(&done, 1..), 3).iter().collect::<Vec<_>>(), [1, 2, 3]);
///     assert_eq!(take(&done, generator(&done, [7]), 3).iter().collect::<Vec<_>>(), [7]);
/// });
/// ```
pub fn take<T: Send + 'static>(done: impl Done, rx: Receiver<T>, n: usize) -> Receiver<T> {
    let done = done.into_done();
    let (tx, out) = chan(0);
    crate::spawn(move || {
        for _ in 0..n {
            let Step::Value(v) = recv_or_done(&done, &rx) else {
                return;
            };
            if !send_or_done(&done, &tx, v) {
                return;
            }
        }
    });
    out
}
