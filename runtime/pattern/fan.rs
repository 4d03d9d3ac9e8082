//! Fan-out and fan-in: several workers on one input, and one stream merged
//! from several.
//!
//! [`fan_out`] starts `n` coroutines that all read the same input (a
//! channel is many-consumer: each value goes to exactly one worker) and
//! each writes its own output. [`fan_in`] merges outputs back into one.
//! Together they parallelise a stage whose work is order-independent and
//! slow (the book's criteria). Order across inputs is not kept; order
//! within one input is.
//!
//! [`fan_in`] uses one coroutine and one dynamic
//! [`Select`](goro_chan::Select) over done and every live input, rebuilt
//! only when an input closes (then that input is dropped from the set).
//! Invariant: the coroutine holds the output's only `Sender`; it returns
//! when every input has closed, done fires, or the output's readers are
//! gone — closing the output.
//!
//! Alternative rejected for `fan_in`: the book's goroutine per input plus a
//! `WaitGroup` and a closer goroutine (n + 1 coroutines where one does; all
//! of them would contend on the one output channel anyway).

use std::sync::Arc;

use goro_chan::{Receiver, Select, TryRecvError, chan};

use super::{Done, Step, recv_or_done, send_or_done};

/// Starts `n` workers that each read `rx`, apply `f`, and send the result on
/// their own output (the book's fan-out). Each input value is handled by
/// exactly one worker. A worker ends — closing its output — when `rx`
/// closes, `done` fires, or its output's readers are gone. Merge the outputs
/// with [`fan_in`].
///
/// A panic in `f` ends that worker (its output closes; the panic is
/// reported as an unjoined coroutine panic); the other workers go on.
///
/// # Panics
///
/// If `n` is 0 (no worker would ever read `rx`).
///
/// ```
/// use goro::chan::chan;
/// use goro::pattern::{fan_in, fan_out, generator};
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     let workers = fan_out(&done, generator(&done, 1..=10u32), 3, |x| x * 2);
///     assert_eq!(workers.len(), 3);
///     let mut got: Vec<u32> = fan_in(&done, workers).iter().collect();
///     got.sort_unstable();
///     assert_eq!(got, (1..=10).map(|x| x * 2).collect::<Vec<_>>());
/// });
/// ```
pub fn fan_out<T, U, F>(done: impl Done, rx: Receiver<T>, n: usize, f: F) -> Vec<Receiver<U>>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> U + Send + Sync + 'static,
{
    assert!(n > 0, "goro::pattern::fan_out: n must be at least 1");
    let done = done.into_done();
    let f = Arc::new(f);
    (0..n)
        .map(|_| {
            let (tx, out) = chan(0);
            let (done, rx, f) = (done.clone(), rx.clone(), f.clone());
            crate::spawn(move || {
                while let Step::Value(v) = recv_or_done(&done, &rx) {
                    if !send_or_done(&done, &tx, f(v)) {
                        return;
                    }
                }
            });
            out
        })
        .collect()
}

/// Merges `inputs` into one stream (the book's fan-in): every value of every
/// input comes out exactly once, in order within each input. The output
/// closes once every input has closed (at once if there is none), or when
/// `done` fires. One coroutine serves all inputs.
///
/// ```
/// use goro::chan::chan;
/// use goro::pattern::{fan_in, generator};
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     let merged = fan_in(&done, vec![generator(&done, 0..3), generator(&done, 10..13)]);
///     let mut got: Vec<i32> = merged.iter().collect();
///     got.sort_unstable();
///     assert_eq!(got, [0, 1, 2, 10, 11, 12]);
/// });
/// ```
pub fn fan_in<T: Send + 'static>(
    done: impl Done,
    inputs: impl IntoIterator<Item = Receiver<T>>,
) -> Receiver<T> {
    let done = done.into_done();
    let mut inputs: Vec<Receiver<T>> = inputs.into_iter().collect();
    let (tx, out) = chan(0);
    crate::spawn(move || {
        while !inputs.is_empty() {
            let closed = {
                // Case 0 is done; case i + 1 is inputs[i].
                let mut sel = Select::new();
                sel.recv(&done);
                for r in &inputs {
                    sel.recv(r);
                }
                let mut next = 0;
                loop {
                    // Fast path: a value already waiting on some input,
                    // looked for round-robin from where the last one came
                    // from (so no input starves); the select only to wait.
                    let got = match poll_inputs(&done, &inputs, &mut next) {
                        Poll::Ready(got) => got,
                        Poll::Done => return,
                        Poll::Pending => {
                            let op = sel.select();
                            let i = op.index();
                            if i == 0 {
                                let _ = op.recv(&done);
                                return;
                            }
                            (i - 1, op.recv(&inputs[i - 1]))
                        }
                    };
                    match got {
                        (_, Some(v)) => {
                            if !send_or_done(&done, &tx, v) {
                                return;
                            }
                        }
                        (i, None) => break i,
                    }
                }
            };
            inputs.swap_remove(closed);
        }
    });
    out
}

enum Poll<T> {
    /// Input `.0` gave a value (`Some`) or is closed and drained (`None`).
    Ready((usize, Option<T>)),
    /// Nothing waiting on any input.
    Pending,
    /// Done is closed.
    Done,
}

/// One non-blocking pass over `inputs`, starting at `*next`; on a hit,
/// `*next` moves past the input that gave it.
fn poll_inputs<T>(done: &Receiver<()>, inputs: &[Receiver<T>], next: &mut usize) -> Poll<T> {
    if done.is_closed() {
        return Poll::Done;
    }
    let n = inputs.len();
    for k in 0..n {
        let i = (*next + k) % n;
        match inputs[i].try_recv() {
            Ok(v) => {
                *next = (i + 1) % n;
                return Poll::Ready((i, Some(v)));
            }
            Err(TryRecvError::Closed) => return Poll::Ready((i, None)),
            Err(TryRecvError::Empty) => {}
        }
    }
    Poll::Pending
}
