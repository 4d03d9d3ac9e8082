//! The or-channel: one done signal that fires when any of several does.
//!
//! The book builds it recursively, a goroutine per two or three inputs. Here
//! one coroutine waits on all inputs in a single dynamic
//! [`Select`](goro_chan::Select) and closes the output when any input
//! fires (is closed, or receives a value). With no input the result never
//! fires ([`never`]); with one it *is* that input, so no coroutine is
//! started.
//!
//! Invariant: the coroutine holds the output's only `Sender`, so the output
//! closes exactly when the coroutine returns, and it returns only after one
//! input fired. Like Go's `or`, it lives until then: combine signals that
//! do end (a context's done, a timeout), or cancel them when finished.

use goro_chan::{Receiver, Select, chan, never};

use super::Done;

/// A done channel that is closed as soon as any of `dones` fires (the
/// book's or-channel). One coroutine waits on all of them, however many.
///
/// ```
/// use std::time::{Duration, Instant};
/// use goro::chan::chan;
/// use goro::context;
/// use goro::pattern::or;
///
/// goro::run(|| {
///     let (_a_tx, a) = chan::<()>(0);
///     let (b_tx, b) = chan::<()>(0);
///     let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_secs(60));
///     let any = or([a, b, ctx.done()]);
///     goro::go!(move || {
///         goro::time::sleep(Duration::from_millis(2));
///         drop(b_tx); // closes `b`
///     });
///     let start = Instant::now();
///     assert_eq!(any.recv(), None); // closed
///     assert!(start.elapsed() < Duration::from_secs(60));
/// });
/// ```
pub fn or<D: Done>(dones: impl IntoIterator<Item = D>) -> Receiver<()> {
    let mut inputs: Vec<Receiver<()>> = dones.into_iter().map(Done::into_done).collect();
    match inputs.len() {
        0 => return never(),
        1 => return inputs.pop().expect("one input"),
        _ => {}
    }
    let (tx, out) = chan::<()>(0);
    crate::spawn(move || {
        let mut sel = Select::new();
        for r in &inputs {
            sel.recv(r);
        }
        let op = sel.select();
        let i = op.index();
        let _ = op.recv(&inputs[i]);
        drop(tx); // the only sender: closes `out`
    });
    out
}
