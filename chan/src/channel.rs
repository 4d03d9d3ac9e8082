//! `Sender` and `Receiver`: one method set over every flavor.
//!
//! Each flavor has its own shared block (`counter.rs`): `Array` (buffered
//! ring, inline in its block), `Zero` (rendezvous) or `Never`, each beside
//! the two handle counts. The handle carries the flavor tag next to its
//! block pointer ([`Flavor`]), so a handle is two words and an unbuffered
//! channel's block is no larger than `Zero` needs. Dropping the last
//! `Sender` closes the channel (receivers drain, then see `None`); dropping
//! the last `Receiver` disconnects it (sends fail and give the value back)
//! and drops whatever is still buffered at once, since nobody can receive
//! it any more. Both are `Clone` (many producers, many consumers), and both
//! are `UnwindSafe` and `RefUnwindSafe`: no operation leaves a channel
//! half-changed when a panic unwinds through it.
//!
//! Every method dispatches with one `match` on the handle's own tag; the
//! flavors share the claim/complete protocol of `select.rs`, which is what
//! makes `select!` work on all of them (how the handles take part in a
//! select is in `select_handles.rs`).
//!
//! Alternatives rejected (measured, `docs/benchmarks.md`, 2026-12-03): the
//! flavor enum inside one block shared by all flavors makes every block as
//! large as the buffered ring (~500 bytes: its head and tail are padded
//! onto their own cache lines), unbuffered ones (every context's done
//! channel) included; boxing the ring inside that block made unbuffered
//! blocks small but put one more dependent load in front of every buffered
//! operation (chan_1x1 and chan_4x4 6-11% slower). With the tag in the
//! handle, a buffered operation loads the block pointer and reaches the
//! ring directly, and an unbuffered block holds only `Zero`.

use std::fmt;
use std::ops::Deref;
use std::time::{Duration, Instant};

use crate::array::Array;
use crate::counter::{self, Receivers, Senders};
use crate::error::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::waiter;
use crate::zero::Zero;

/// A handle's flavor tag and its block: one unit of the sender or receiver
/// count (`counter.rs`) of an `Array`, `Zero` or `Never` block. Every
/// method matches on it; the block behind each variant holds only that
/// flavor.
pub(crate) enum Flavor<A, Z, N> {
    Array(A),
    Zero(Z),
    Never(N),
}

/// The block of a `never()` / `never_sender()` channel: nothing but the
/// counts (so `same_channel` and `has_senders` behave as for any channel).
pub(crate) struct NeverChan;

/// What a [`Sender`] holds.
pub(crate) type SenderFlavor<T> = Flavor<Senders<Array<T>>, Senders<Zero<T>>, Senders<NeverChan>>;

/// What a [`Receiver`] holds.
pub(crate) type ReceiverFlavor<T> =
    Flavor<Receivers<Array<T>>, Receivers<Zero<T>>, Receivers<NeverChan>>;

impl<A, Z, N> Flavor<A, Z, N> {
    /// The ring, if the channel is buffered.
    fn array<T>(&self) -> Option<&Array<T>>
    where
        A: Deref<Target = Array<T>>,
    {
        match self {
            Flavor::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Creates a channel (Go's `make(chan T, cap)`).
///
/// `cap == 0` is an unbuffered rendezvous: a send waits until a receiver
/// takes the value, handed over directly. `cap > 0` is a buffered FIFO of
/// that many values.
///
/// ```
/// let (tx, rx) = goro_chan::chan::<u32>(2);
/// tx.send(1).unwrap();
/// tx.send(2).unwrap();
/// assert_eq!((rx.len(), rx.cap()), (2, 2));
/// drop(tx); // the last sender gone: closed
/// assert_eq!(rx.iter().collect::<Vec<_>>(), vec![1, 2]);
/// assert_eq!(rx.recv(), None);
/// ```
pub fn chan<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    if cap == 0 {
        let (s, r) = counter::new(Zero::new());
        (
            Sender {
                chan: Flavor::Zero(s),
            },
            Receiver {
                chan: Flavor::Zero(r),
            },
        )
    } else {
        let (s, r) = counter::new(Array::new(cap));
        (
            Sender {
                chan: Flavor::Array(s),
            },
            Receiver {
                chan: Flavor::Array(r),
            },
        )
    }
}

/// A receiver that never receives anything: Go's nil channel in a
/// `select`, for disabling a case.
///
/// ```
/// use std::time::Duration;
/// let rx = goro_chan::never::<u8>();
/// assert!(rx.recv_timeout(Duration::from_millis(1)).is_err());
/// ```
pub fn never<T>() -> Receiver<T> {
    Receiver {
        chan: Flavor::Never(counter::receivers_only(NeverChan)),
    }
}

/// A sender whose sends are never ready: Go's nil channel on the sending
/// side. In a `select!` its send case is never chosen (so a case can be
/// switched off by swapping in this sender, as the tee pattern does); a
/// plain [`Sender::send`] on it blocks forever, `try_send` reports `Full`,
/// `send_timeout` times out, and it is never closed. The value of a
/// send case on it is never evaluated.
///
/// ```
/// use std::time::Duration;
/// use goro_chan::{chan, never_sender, select};
///
/// let (tx, rx) = chan::<u8>(1);
/// let off = never_sender::<u8>();
/// let mut out = &off;
/// // Disabled: the select waits for its timeout instead.
/// let sent = select! {
///     send(out, 1) -> r => r.is_ok(),
///     default(Duration::from_millis(1)) => false,
/// };
/// assert!(!sent && !off.is_closed());
/// out = &tx; // enabled
/// select! { send(out, 2) -> r => r.unwrap() }
/// assert_eq!(rx.recv(), Some(2));
/// ```
pub fn never_sender<T>() -> Sender<T> {
    let (s, r) = counter::new(NeverChan);
    // No receiver handle exists: the block is freed with the last sender.
    drop(Receiver::<T> {
        chan: Flavor::Never(r),
    });
    Sender {
        chan: Flavor::Never(s),
    }
}

/// The sending side of a channel (Go's `chan<- T`). Cloneable; the
/// channel closes when the last clone is dropped. A handle is two words:
/// the channel's flavor and a pointer to its shared block.
///
/// ```
/// let (tx, rx) = goro_chan::chan::<&str>(1);
/// let tx2 = tx.clone();
/// tx2.send("hi").unwrap();
/// drop((tx, tx2)); // the last sender gone: closed
/// assert_eq!(rx.recv(), Some("hi"));
/// assert_eq!(rx.recv(), None);
/// ```
pub struct Sender<T> {
    pub(crate) chan: SenderFlavor<T>,
}

/// The receiving side of a channel (Go's `<-chan T`). Cloneable; when the
/// last clone is dropped, sends fail and buffered values are dropped. A
/// handle is two words, as a [`Sender`] is.
///
/// ```
/// let (tx, rx) = goro_chan::chan::<u8>(4);
/// tx.send(1).unwrap();
/// let rx2 = rx.clone();
/// assert_eq!(rx2.recv(), Some(1));
/// drop((rx, rx2)); // the last receiver gone
/// assert!(tx.send(2).is_err());
/// ```
pub struct Receiver<T> {
    pub(crate) chan: ReceiverFlavor<T>,
}

// Channel handles are unwind safe (as crossbeam-channel's are): every
// operation either completes or leaves the channel as it found it, and
// values that a panic interrupts on their way (a send case's value
// expression, a drop) are accounted for (`array.rs`, abandoned slots), so
// a handle observed after a caught panic is in a consistent state.
impl<T> std::panic::UnwindSafe for Sender<T> {}
impl<T> std::panic::RefUnwindSafe for Sender<T> {}
impl<T> std::panic::UnwindSafe for Receiver<T> {}
impl<T> std::panic::RefUnwindSafe for Receiver<T> {}

fn deadline_after(d: Duration) -> Option<Instant> {
    Instant::now().checked_add(d)
}

impl<T> Sender<T> {
    /// The address of the entry a `close` would wake first (a parked
    /// receiver's, else a parked sender's), or 0 if none is parked or the
    /// channel is buffered: a hint for a caller that issues the prefetches
    /// of many channels' waiters back to back, so that their address
    /// translations overlap. The address must not be
    /// dereferenced: the waiter may have left by the time it is used.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let (tx, rx) = goro_chan::chan::<()>(0);
    /// assert_eq!(tx.parked_hint(), 0, "nobody is parked");
    /// let t = std::thread::spawn(move || rx.recv());
    /// let start = Instant::now();
    /// while tx.parked_hint() == 0 {
    ///     assert!(start.elapsed() < Duration::from_secs(30), "the receiver never parked");
    ///     std::thread::yield_now();
    /// }
    /// tx.close();
    /// assert_eq!(t.join().unwrap(), None);
    /// assert_eq!(tx.parked_hint(), 0, "the close took it out");
    /// let (btx, _brx) = goro_chan::chan::<()>(1);
    /// assert_eq!(btx.parked_hint(), 0, "always 0 on a buffered channel");
    /// ```
    #[doc(hidden)]
    pub fn parked_hint(&self) -> usize {
        match &self.chan {
            Flavor::Zero(z) => z.parked_hint(),
            _ => 0,
        }
    }

    /// Sends `value`, blocking while the buffer is full (or, unbuffered,
    /// until a receiver takes it).
    ///
    /// # Errors
    ///
    /// If the channel is closed or all receivers are gone; the value comes
    /// back in the error.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<String>(1);
    /// tx.send("a".to_string()).unwrap();
    /// drop(rx);
    /// let back = tx.send("b".to_string()).unwrap_err().into_inner();
    /// assert_eq!(back, "b");
    /// ```
    #[inline]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.send_inner(value, None) {
            Ok(()) => Ok(()),
            Err(e) => Err(SendError(e.into_inner())),
        }
    }

    /// Sends without blocking. Linearizable with completed operations: if
    /// a receive that made room has returned before this call, the room is
    /// seen (unless another sender took it).
    ///
    /// # Errors
    ///
    /// `Full` if it would block, `Closed` if closed; the value comes back.
    ///
    /// ```
    /// use goro_chan::TrySendError;
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match &self.chan {
            Flavor::Array(a) => a.try_send(value),
            Flavor::Zero(z) => z.try_send(value),
            Flavor::Never(_) => Err(TrySendError::Full(value)),
        }
    }

    /// Sends, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// `Timeout` or `Closed`; the value comes back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro_chan::SendTimeoutError;
    /// let (tx, _rx) = goro_chan::chan::<u8>(1);
    /// tx.send_timeout(1, Duration::from_millis(5)).unwrap();
    /// let full = tx.send_timeout(2, Duration::from_millis(5));
    /// assert_eq!(full, Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_inner(value, deadline_after(timeout))
    }

    /// Sends, waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// `Timeout` or `Closed`; the value comes back.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = goro_chan::chan::<u8>(0);
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// // Nobody receives on the unbuffered channel: the deadline passes.
    /// assert!(tx.send_deadline(1, deadline).unwrap_err().is_timeout());
    /// # drop(rx);
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_inner(value, Some(deadline))
    }

    #[inline]
    fn send_inner(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        match &self.chan {
            Flavor::Array(a) => a.send(value, deadline),
            Flavor::Zero(z) => z.send(value, deadline),
            Flavor::Never(_) => loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(SendTimeoutError::Timeout(value));
                }
                waiter::park("chan send (nil chan)", deadline, || true);
            },
        }
    }

    /// Closes the channel (Go's `close(ch)`): receivers get what is
    /// buffered, then `None`; further sends fail; everyone blocked wakes.
    /// Returns `true` if this call closed it, `false` if it already was
    /// (Go would panic; goro tells you). Dropping the last `Receiver` also
    /// closes the channel, so `close` returns `false` after that; values
    /// still buffered then are dropped at once.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(2);
    /// tx.send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!tx.close(), "already closed");
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.recv(), Some(1)); // buffered values are still received
    /// assert_eq!(rx.recv(), None);
    /// ```
    pub fn close(&self) -> bool {
        match &self.chan {
            Flavor::Array(a) => a.close(),
            Flavor::Zero(z) => z.close(),
            Flavor::Never(_) => false,
        }
    }

    /// Whether the channel is closed or has no receivers left (never, for
    /// a [`never_sender`]: Go's nil channel is not closed).
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        match &self.chan {
            Flavor::Array(a) => a.no_receivers() || a.is_closed(),
            Flavor::Zero(z) => z.no_receivers() || z.is_closed(),
            Flavor::Never(_) => false,
        }
    }

    /// Values buffered now (always 0 for unbuffered channels; Go's
    /// `len(ch)`).
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(3);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.array().map_or(0, Array::len)
    }

    /// Whether nothing is buffered.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(3);
    /// assert!(tx.is_empty());
    /// tx.send(1).unwrap();
    /// assert!(!tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer is full: `len() == cap()`, so an unbuffered
    /// channel is always full (a send waits for a receiver).
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// assert!(!tx.is_full());
    /// tx.send(1).unwrap();
    /// assert!(tx.is_full());
    /// assert!(goro_chan::chan::<u8>(0).1.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.cap()
    }

    /// The buffer capacity (0: unbuffered; Go's `cap(ch)`).
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(8);
    /// assert_eq!((tx.cap(), tx.len()), (8, 0));
    /// # drop((tx, rx));
    /// ```
    pub fn cap(&self) -> usize {
        self.chan.array().map_or(0, Array::capacity)
    }

    /// Whether both handles belong to the same channel.
    ///
    /// ```
    /// let (tx, _rx) = goro_chan::chan::<u8>(1);
    /// let (other, _rx2) = goro_chan::chan::<u8>(1);
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        match (&self.chan, &other.chan) {
            (Flavor::Array(a), Flavor::Array(b)) => a.same(b),
            (Flavor::Zero(a), Flavor::Zero(b)) => a.same(b),
            (Flavor::Never(a), Flavor::Never(b)) => a.same(b),
            _ => false,
        }
    }

    /// Gives up this sender *without* closing the channel, even if it is
    /// the last one: receivers then wait forever instead of seeing `None`
    /// (what a Go channel does when its last writer simply goes away). The
    /// channel's memory is still freed once every handle is gone. Timer
    /// channels use it: a timer's channel never closes.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// tx.send(1).unwrap();
    /// tx.leave_open();
    /// assert_eq!(rx.recv(), Some(1));
    /// assert!(!rx.is_closed());
    /// assert!(rx.recv_timeout(Duration::from_millis(5)).is_err(), "timed out, not closed");
    /// ```
    pub fn leave_open(self) {
        let me = std::mem::ManuallyDrop::new(self);
        // `Sender::drop` (which would close) never runs for `me`; its
        // counter unit is given back here, with no disconnect action.
        match &me.chan {
            Flavor::Array(a) => a.release(|_| {}),
            Flavor::Zero(z) => z.release(|_| {}),
            Flavor::Never(n) => n.release(|_| {}),
        }
    }
}

impl<T> Receiver<T> {
    /// Receives a value, blocking until one arrives. `None` once the channel
    /// is closed and drained (Go's `v, ok := <-ch` with `ok == false`).
    ///
    /// If the buffer was full and a sender is parked, that sender's send
    /// completes before this returns (Go's semantics): its value takes the
    /// freed slot, and its `send` returns `Ok` even if every receiver is
    /// dropped right after.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// std::thread::spawn(move || tx.send(7).unwrap());
    /// assert_eq!(rx.recv(), Some(7));
    /// assert_eq!(rx.recv(), None); // the sender is gone: closed
    /// ```
    #[inline]
    pub fn recv(&self) -> Option<T> {
        match self.recv_inner(None) {
            Ok(v) => v,
            Err(()) => unreachable!("no deadline, no timeout"),
        }
    }

    /// Receives without blocking. Linearizable with completed operations:
    /// if a send has returned before this call, its value (or an earlier
    /// one) is received, unless another receiver took it.
    ///
    /// # Errors
    ///
    /// `Empty` if nothing is ready, `Closed` if closed and drained.
    ///
    /// ```
    /// use goro_chan::TryRecvError;
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let r = match &self.chan {
            Flavor::Array(a) => a.try_recv(),
            Flavor::Zero(z) => z.try_recv(),
            Flavor::Never(_) => None,
        };
        match r {
            Some(Ok(v)) => Ok(v),
            Some(Err(())) => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Receives, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// `Timeout`, or `Closed` if closed and drained.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro_chan::RecvTimeoutError;
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// let wait = Duration::from_millis(5);
    /// assert_eq!(rx.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(wait), Err(RecvTimeoutError::Closed));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_deadline_opt(deadline_after(timeout))
    }

    /// Receives, waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// `Timeout`, or `Closed` if closed and drained.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// tx.send(3).unwrap();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(rx.recv_deadline(deadline), Ok(3));
    /// assert!(rx.recv_deadline(deadline).is_err());
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_deadline_opt(Some(deadline))
    }

    fn recv_deadline_opt(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match self.recv_inner(deadline) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(RecvTimeoutError::Closed),
            Err(()) => Err(RecvTimeoutError::Timeout),
        }
    }

    #[inline]
    fn recv_inner(&self, deadline: Option<Instant>) -> Result<Option<T>, ()> {
        match &self.chan {
            Flavor::Array(a) => a.recv(deadline),
            Flavor::Zero(z) => z.recv(deadline),
            Flavor::Never(_) => loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(());
                }
                waiter::park("chan receive (nil chan)", deadline, || true);
            },
        }
    }

    /// Whether the channel is closed (values may still be buffered).
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// assert_eq!(rx.recv(), Some(1)); // closed, not yet drained
    /// ```
    pub fn is_closed(&self) -> bool {
        match &self.chan {
            Flavor::Array(a) => a.is_closed(),
            Flavor::Zero(z) => z.is_closed(),
            Flavor::Never(_) => false,
        }
    }

    /// Values buffered now (always 0 for unbuffered channels; Go's
    /// `len(ch)`).
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(3);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.array().map_or(0, Array::len)
    }

    /// Whether nothing is buffered.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(3);
    /// assert!(rx.is_empty());
    /// tx.send(1).unwrap();
    /// assert!(!rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer is full: `len() == cap()`, so an unbuffered
    /// channel is always full (a send waits for a receiver).
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// assert!(!rx.is_full());
    /// tx.send(1).unwrap();
    /// assert!(rx.is_full());
    /// assert!(goro_chan::chan::<u8>(0).1.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.cap()
    }

    /// The buffer capacity (0: unbuffered; Go's `cap(ch)`).
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(8);
    /// assert_eq!((rx.cap(), rx.len()), (8, 0));
    /// # drop((tx, rx));
    /// ```
    pub fn cap(&self) -> usize {
        self.chan.array().map_or(0, Array::capacity)
    }

    /// Whether any [`Sender`] of this channel is still alive. A channel
    /// can stay open with none (see [`Sender::leave_open`]), so this is not
    /// the same as "not closed".
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// assert!(rx.has_senders());
    /// tx.leave_open();
    /// assert!(!rx.has_senders() && !rx.is_closed());
    /// ```
    pub fn has_senders(&self) -> bool {
        match &self.chan {
            Flavor::Array(a) => a.has_senders(),
            Flavor::Zero(z) => z.has_senders(),
            Flavor::Never(n) => n.has_senders(),
        }
    }

    /// Whether both handles belong to the same channel.
    ///
    /// ```
    /// let (_tx, rx) = goro_chan::chan::<u8>(1);
    /// assert!(rx.same_channel(&rx.clone()));
    /// assert!(!rx.same_channel(&goro_chan::never()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        match (&self.chan, &other.chan) {
            (Flavor::Array(a), Flavor::Array(b)) => a.same(b),
            (Flavor::Zero(a), Flavor::Zero(b)) => a.same(b),
            (Flavor::Never(a), Flavor::Never(b)) => a.same(b),
            _ => false,
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        let chan = match &self.chan {
            Flavor::Array(a) => Flavor::Array(a.acquire()),
            Flavor::Zero(z) => Flavor::Zero(z.acquire()),
            Flavor::Never(n) => Flavor::Never(n.acquire()),
        };
        Sender { chan }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // The last sender closes the channel.
        match &self.chan {
            Flavor::Array(a) => a.release(|a| {
                a.close();
            }),
            Flavor::Zero(z) => z.release(|z| {
                z.close();
            }),
            Flavor::Never(n) => n.release(|_| {}),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        let chan = match &self.chan {
            Flavor::Array(a) => Flavor::Array(a.acquire()),
            Flavor::Zero(z) => Flavor::Zero(z.acquire()),
            Flavor::Never(n) => Flavor::Never(n.acquire()),
        };
        Receiver { chan }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // No receiver left: sends fail from now on, and what is buffered
        // can never be received: drop it now.
        match &self.chan {
            Flavor::Array(a) => a.release(|a| a.disconnect_receivers()),
            Flavor::Zero(z) => z.release(|z| {
                z.close();
            }),
            Flavor::Never(n) => n.release(|_| {}),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("cap", &self.cap())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("cap", &self.cap())
            .finish()
    }
}

impl<T> Receiver<T> {
    /// For an async receive (`future.rs`) dropped after its wait entry was
    /// claimed: on a buffered channel the claim was a wake-up for a message
    /// it will not take, so wake the next waiting receiver instead and
    /// return `true`; on a rendezvous channel return `false` (the claim
    /// carries a value the caller must complete).
    pub(crate) fn pass_on_wakeup(&self) -> bool {
        match &self.chan {
            Flavor::Array(a) => {
                a.receivers().notify();
                true
            }
            Flavor::Zero(_) | Flavor::Never(_) => false,
        }
    }
}
