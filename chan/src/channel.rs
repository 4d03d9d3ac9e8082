//! `Sender` and `Receiver`: one method set over every flavor.
//!
//! A channel is one allocation (`Chan`) holding the flavor — `Array`
//! (buffered ring, in a second allocation of its own), `Zero` (rendezvous)
//! or `Never` — and two handle counts.
//! Dropping the last `Sender` closes the channel (receivers drain, then see
//! `None`); dropping the last `Receiver` disconnects it (sends fail and give
//! the value back). Both are `Clone` (many producers, many consumers).
//!
//! Every method dispatches with one `match` on the flavor; the flavors share
//! the claim/complete protocol of `select.rs`, which is what makes
//! `select!` work on all of them.

use std::fmt;
use std::time::{Duration, Instant};

use crate::array::Array;
use crate::context::{Context, Entry};
use crate::counter::{self, Receivers, Senders};
use crate::error::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::select::{SelectHandle, Token};
use crate::waiter;
use crate::zero::{Read, Zero};

// The buffered flavor is large (its head and tail are padded onto their own
// cache lines, about 500 bytes) and is boxed, so that the unbuffered flavor,
// which every context's done channel uses, is an 80-byte block (a glibc fast
// bin) and not 528 bytes: `ctxtree` at n = 1M touches ~450 MB less heap
// (`docs/benchmarks.md`, 2026-12-03). A buffered operation pays one more
// load, from the read-mostly line that holds the handle counts.
enum Flavor<T> {
    Array(Box<Array<T>>),
    Zero(Zero<T>),
    Never,
}

struct Chan<T> {
    flavor: Flavor<T>,
}

impl<T> Chan<T> {
    fn close(&self) -> bool {
        match &self.flavor {
            Flavor::Array(a) => a.close(),
            Flavor::Zero(z) => z.close(),
            Flavor::Never => false,
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
    let flavor = if cap == 0 {
        Flavor::Zero(Zero::new())
    } else {
        Flavor::Array(Box::new(Array::new(cap)))
    };
    let (s, r) = counter::new(Chan { flavor });
    (Sender { chan: s }, Receiver { chan: r })
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
        chan: counter::receivers_only(Chan {
            flavor: Flavor::Never,
        }),
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
    let (s, r) = counter::new(Chan {
        flavor: Flavor::Never,
    });
    // No receiver handle exists: the block is freed with the last sender.
    drop(Receiver { chan: r });
    Sender { chan: s }
}

/// The sending side of a channel (Go's `chan<- T`). Cloneable.
pub struct Sender<T> {
    chan: Senders<Chan<T>>,
}

/// The receiving side of a channel (Go's `<-chan T`). Cloneable.
pub struct Receiver<T> {
    chan: Receivers<Chan<T>>,
}

fn deadline_after(d: Duration) -> Option<Instant> {
    Instant::now().checked_add(d)
}

impl<T> Sender<T> {
    /// A hint before [`close`](Self::close): starts loading the wait
    /// records of the coroutines parked on this unbuffered channel into the
    /// cache, so that a loop closing many channels (a context cancelling
    /// its descendants) overlaps those cache misses instead of taking them
    /// one after the other. Has no effect on what the channel does; a no-op
    /// on buffered channels.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<()>(0);
    /// tx.prefetch_waiters();
    /// tx.close();
    /// assert_eq!(rx.recv(), None);
    /// ```
    #[doc(hidden)]
    pub fn prefetch_waiters(&self) {
        if let Flavor::Zero(z) = &self.chan.flavor {
            z.prefetch_waiters();
        }
    }

    /// Sends `value`, blocking while the buffer is full (or, unbuffered,
    /// until a receiver takes it).
    ///
    /// # Errors
    ///
    /// If the channel is closed or all receivers are gone; the value comes
    /// back in the error.
    #[inline]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.send_inner(value, None) {
            Ok(()) => Ok(()),
            Err(e) => Err(SendError(e.into_inner())),
        }
    }

    /// Sends without blocking.
    ///
    /// # Errors
    ///
    /// `Full` if it would block, `Closed` if closed; the value comes back.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match &self.chan.flavor {
            Flavor::Array(a) => a.try_send(value),
            Flavor::Zero(z) => z.try_send(value),
            Flavor::Never => Err(TrySendError::Full(value)),
        }
    }

    /// Sends, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// `Timeout` or `Closed`; the value comes back.
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_inner(value, deadline_after(timeout))
    }

    /// Sends, waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// `Timeout` or `Closed`; the value comes back.
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_inner(value, Some(deadline))
    }

    #[inline]
    fn send_inner(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        match &self.chan.flavor {
            Flavor::Array(a) => a.send(value, deadline),
            Flavor::Zero(z) => z.send(value, deadline),
            Flavor::Never => loop {
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
    /// closes the channel, so `close` returns `false` after that. Values
    /// still buffered when the last receiver goes are dropped when the last
    /// sender does.
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed or has no receivers left (never, for
    /// a [`never_sender`]: Go's nil channel is not closed).
    pub fn is_closed(&self) -> bool {
        match &self.chan.flavor {
            Flavor::Array(a) => self.chan.no_receivers() || a.is_closed(),
            Flavor::Zero(z) => self.chan.no_receivers() || z.is_closed(),
            Flavor::Never => false,
        }
    }

    /// Values buffered now (always 0 for unbuffered channels).
    pub fn len(&self) -> usize {
        chan_len(&self.chan)
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer capacity (0: unbuffered).
    pub fn cap(&self) -> usize {
        chan_cap(&self.chan)
    }

    /// Whether both handles belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        self.chan.same(&other.chan)
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
        me.chan.release(|_| {});
    }

    pub(crate) fn complete_send(&self, token: &mut Token, msg: T) -> Result<(), SendError<T>> {
        // SAFETY: the token holds a reservation made on this channel by
        // `try_select`/`accept`, completed exactly once here.
        let r = unsafe {
            match &self.chan.flavor {
                Flavor::Array(a) => a.write(token, msg),
                Flavor::Zero(z) => z.write(token, msg),
                Flavor::Never => unreachable!("a never_sender() case is never chosen"),
            }
        };
        r.map_err(SendError)
    }
}

fn chan_len<T>(c: &Chan<T>) -> usize {
    match &c.flavor {
        Flavor::Array(a) => a.len(),
        _ => 0,
    }
}

fn chan_cap<T>(c: &Chan<T>) -> usize {
    match &c.flavor {
        Flavor::Array(a) => a.capacity(),
        _ => 0,
    }
}

impl<T> Receiver<T> {
    /// Receives a value, blocking until one arrives. `None` once the channel
    /// is closed and drained (Go's `v, ok := <-ch` with `ok == false`).
    #[inline]
    pub fn recv(&self) -> Option<T> {
        match self.recv_inner(None) {
            Ok(v) => v,
            Err(()) => unreachable!("no deadline, no timeout"),
        }
    }

    /// Receives without blocking.
    ///
    /// # Errors
    ///
    /// `Empty` if nothing is ready, `Closed` if closed and drained.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let r = match &self.chan.flavor {
            Flavor::Array(a) => a.try_recv(),
            Flavor::Zero(z) => z.try_recv(),
            Flavor::Never => None,
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
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_deadline_opt(deadline_after(timeout))
    }

    /// Receives, waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// `Timeout`, or `Closed` if closed and drained.
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
        match &self.chan.flavor {
            Flavor::Array(a) => a.recv(deadline),
            Flavor::Zero(z) => z.recv(deadline),
            Flavor::Never => loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(());
                }
                waiter::park("chan receive (nil chan)", deadline, || true);
            },
        }
    }

    /// A blocking iterator over received values; ends when the channel is
    /// closed and drained (Go's `for v := range ch`).
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values ready now; never blocks.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Whether the channel is closed (values may still be buffered).
    pub fn is_closed(&self) -> bool {
        match &self.chan.flavor {
            Flavor::Array(a) => a.is_closed(),
            Flavor::Zero(z) => z.is_closed(),
            Flavor::Never => false,
        }
    }

    /// Values buffered now (always 0 for unbuffered channels).
    pub fn len(&self) -> usize {
        chan_len(&self.chan)
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer capacity (0: unbuffered).
    pub fn cap(&self) -> usize {
        chan_cap(&self.chan)
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
        self.chan.has_senders()
    }

    /// Whether both handles belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        self.chan.same(&other.chan)
    }

    pub(crate) fn complete_recv(&self, token: &mut Token) -> Option<T> {
        // SAFETY: the token holds a reservation made on this channel by
        // `try_select`/`accept`, completed exactly once here.
        unsafe {
            match &self.chan.flavor {
                Flavor::Array(a) => a.read(token),
                Flavor::Zero(z) => match z.read(token) {
                    Read::Msg(m) => Some(m),
                    Read::Closed => None,
                    // The claimed sender's value expression panicked: the
                    // case was chosen, so receive from this channel normally.
                    Read::Retry => z.recv(None).unwrap_or(None),
                },
                Flavor::Never => unreachable!("a never() case is never chosen"),
            }
        }
    }
}

impl<T> SelectHandle for Receiver<T> {
    fn try_select(&self, token: &mut Token) -> bool {
        match &self.chan.flavor {
            Flavor::Array(a) => a.start_recv(token),
            Flavor::Zero(z) => z.start_recv(token),
            Flavor::Never => false,
        }
    }

    unsafe fn register(&self, oper: usize, cx: &Context, slot: &mut Option<Entry>) -> bool {
        match &self.chan.flavor {
            Flavor::Array(a) => {
                let e = slot.insert(Entry::new(oper, cx, std::ptr::null_mut(), false));
                // SAFETY: forwarded contract: the entry stays put.
                unsafe { a.receivers().register(e) };
                a.recv_ready()
            }
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.register_recv(oper, cx, slot) },
            Flavor::Never => {
                *slot = Some(Entry::new(oper, cx, std::ptr::null_mut(), false));
                false
            }
        }
    }

    unsafe fn unregister(&self, entry: &mut Entry) {
        match &self.chan.flavor {
            // SAFETY: forwarded contract.
            Flavor::Array(a) => unsafe { a.receivers().unregister(entry) },
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.unregister(entry, false) },
            Flavor::Never => {}
        }
    }

    unsafe fn accept(&self, token: &mut Token, entry: &mut Entry) -> bool {
        match &self.chan.flavor {
            Flavor::Array(a) => a.start_recv(token),
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.accept_recv(token, entry.packet) },
            Flavor::Never => false,
        }
    }

    unsafe fn abandon(&self, token: &mut Token) {
        drop(self.complete_recv(token));
    }

    fn is_send(&self) -> bool {
        false
    }
}

impl<T> SelectHandle for Sender<T> {
    fn try_select(&self, token: &mut Token) -> bool {
        match &self.chan.flavor {
            Flavor::Array(a) => a.start_send(token),
            Flavor::Zero(z) => z.start_send(token),
            Flavor::Never => false,
        }
    }

    unsafe fn register(&self, oper: usize, cx: &Context, slot: &mut Option<Entry>) -> bool {
        match &self.chan.flavor {
            Flavor::Array(a) => {
                let e = slot.insert(Entry::new(oper, cx, std::ptr::null_mut(), false));
                // SAFETY: forwarded contract: the entry stays put.
                unsafe { a.senders().register(e) };
                a.send_ready()
            }
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.register_send(oper, cx, slot) },
            Flavor::Never => {
                *slot = Some(Entry::new(oper, cx, std::ptr::null_mut(), false));
                false
            }
        }
    }

    unsafe fn unregister(&self, entry: &mut Entry) {
        match &self.chan.flavor {
            // SAFETY: forwarded contract.
            Flavor::Array(a) => unsafe { a.senders().unregister(entry) },
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.unregister(entry, true) },
            Flavor::Never => {}
        }
    }

    unsafe fn accept(&self, token: &mut Token, entry: &mut Entry) -> bool {
        match &self.chan.flavor {
            Flavor::Array(a) => a.start_send(token),
            // SAFETY: forwarded contract.
            Flavor::Zero(z) => unsafe { z.accept_send(token, entry.packet) },
            Flavor::Never => false,
        }
    }

    unsafe fn abandon(&self, token: &mut Token) {
        // SAFETY: forwarded contract.
        unsafe {
            match &self.chan.flavor {
                Flavor::Array(a) => a.abandon_send(token),
                Flavor::Zero(z) => z.abandon_send(token),
                Flavor::Never => {}
            }
        }
    }

    fn is_send(&self) -> bool {
        true
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            chan: self.chan.acquire(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // The last sender closes the channel.
        self.chan.release(|c| {
            c.close();
        });
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            chan: self.chan.acquire(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // No receiver left: sends fail from now on.
        self.chan.release(|c| {
            c.close();
        });
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

/// Blocking iterator of [`Receiver::iter`].
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv()
    }
}

/// Non-blocking iterator of [`Receiver::try_iter`].
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning blocking iterator (`for v in rx`).
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<T> Receiver<T> {
    /// For an async receive (`future.rs`) dropped after its wait entry was
    /// claimed: on a buffered channel the claim was a wake-up for a message
    /// it will not take, so wake the next waiting receiver instead and
    /// return `true`; on a rendezvous channel return `false` (the claim
    /// carries a value the caller must complete).
    pub(crate) fn pass_on_wakeup(&self) -> bool {
        match &self.chan.flavor {
            Flavor::Array(a) => {
                a.receivers().notify();
                true
            }
            Flavor::Zero(_) | Flavor::Never => false,
        }
    }
}
