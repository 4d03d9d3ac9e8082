//! The tee-channel: every value read from one channel is delivered to two
//! outputs, like the Unix `tee`.
//!
//! Per value, the stage runs one `select!` twice with a send case per
//! output; the output that took the value is then switched off by replacing
//! its sender with [`never_sender`] (Go's `out1 = nil`), so the second pass
//! can only deliver to the other. A value reaches both outputs before the
//! next value is read, so the two readers move in lock step: each output
//! sees every value, in order, and a slow reader slows both (put a
//! [`queue`](super::queue) behind one to decouple them).
//!
//! An output whose readers are all gone is switched off for good (its send
//! fails at once); the stage keeps feeding the other and returns when both
//! are gone, when the input closes, or when done fires — closing both
//! outputs.
//!
//! Alternative rejected: three `select!` forms (both outputs, only the
//! first, only the second), which is what goro needed before
//! `never_sender`.

use goro_chan::{Receiver, Sender, chan, never_sender, select};

use super::{Done, Step, recv_or_done};

/// Splits `rx` into two outputs that each receive every value, in order
/// (the book's `tee(done, in)`).
///
/// ```
/// use goro::chan::chan;
/// use goro::pattern::{generator, tee};
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     let (a, b) = tee(&done, generator(&done, 1..=3));
///     let mut pairs = Vec::new();
///     for x in &a {
///         pairs.push((x, b.recv().unwrap()));
///     }
///     assert_eq!(pairs, [(1, 1), (2, 2), (3, 3)]);
/// });
/// ```
pub fn tee<T: Clone + Send + 'static>(
    done: impl Done,
    rx: Receiver<T>,
) -> (Receiver<T>, Receiver<T>) {
    let done = done.into_done();
    let (tx1, out1) = chan(0);
    let (tx2, out2) = chan(0);
    crate::spawn(move || run(&done, &rx, [tx1, tx2]));
    (out1, out2)
}

fn run<T: Clone>(done: &Receiver<()>, rx: &Receiver<T>, outs: [Sender<T>; 2]) {
    let off = never_sender::<T>();
    // `live[i]`: output `i` still has a reader.
    let mut live = [true, true];
    while live[0] || live[1] {
        let Step::Value(v) = recv_or_done(done, rx) else {
            return;
        };
        let mut v = Some(v);
        // `pending[i]`: output `i` still has to get this value.
        let mut pending = live;
        while pending[0] || pending[1] {
            // The last delivery moves the value; the first clones it.
            let last = pending[0] != pending[1];
            let s0 = if pending[0] { &outs[0] } else { &off };
            let s1 = if pending[1] { &outs[1] } else { &off };
            select! {
                recv(done) -> _ => return,
                send(s0, next(&mut v, last)) -> r => {
                    pending[0] = false;
                    live[0] &= r.is_ok();
                },
                send(s1, next(&mut v, last)) -> r => {
                    pending[1] = false;
                    live[1] &= r.is_ok();
                },
            }
        }
    }
}

fn next<T: Clone>(v: &mut Option<T>, last: bool) -> T {
    let v = if last { v.take() } else { v.clone() };
    v.expect("a value is moved out only by the last delivery")
}
