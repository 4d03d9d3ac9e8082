//! Errors of channel operations. A value that could not be sent always
//! comes back inside the error: nothing is lost.

use std::fmt;

/// `send` on a closed channel (or one whose receivers are all gone). The
/// value comes back.
///
/// ```
/// let (tx, rx) = goro_chan::chan::<String>(1);
/// drop(rx);
/// let err = tx.send("kept".to_string()).unwrap_err();
/// assert_eq!(err.into_inner(), "kept");
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// let (tx, _) = goro_chan::chan::<u8>(1);
    /// assert_eq!(tx.send(3).unwrap_err().into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Why `try_send` did not send. The value comes back.
///
/// ```
/// use goro_chan::TrySendError;
/// let (tx, rx) = goro_chan::chan::<u8>(1);
/// tx.send(1).unwrap();
/// match tx.try_send(2) {
///     Err(TrySendError::Full(v)) => assert_eq!(v, 2),
///     other => panic!("{other:?}"),
/// }
/// # drop(rx);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The buffer is full, or (unbuffered) no receiver is waiting.
    Full(T),
    /// The channel is closed or has no receivers.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// let (tx, _) = goro_chan::chan::<u8>(1);
    /// assert_eq!(tx.try_send(8).unwrap_err().into_inner(), 8);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
    /// Whether the channel was full (not closed).
    ///
    /// ```
    /// let (tx, _rx) = goro_chan::chan::<u8>(0); // nobody receiving
    /// assert!(tx.try_send(1).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
    /// Whether the channel was closed.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// drop(rx);
    /// assert!(tx.try_send(1).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

/// Why `send_timeout` / `send_deadline` did not send. The value comes back.
///
/// ```
/// use std::time::Duration;
/// use goro_chan::SendTimeoutError;
/// let (tx, rx) = goro_chan::chan::<u8>(0);
/// drop(rx);
/// let e = tx.send_timeout(1, Duration::from_millis(1)).unwrap_err();
/// assert_eq!(e, SendTimeoutError::Closed(1));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// The deadline passed first.
    Timeout(T),
    /// The channel is closed or has no receivers.
    Closed(T),
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = goro_chan::chan::<u8>(0);
    /// let e = tx.send_timeout(6, Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(e.into_inner(), 6);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) | SendTimeoutError::Closed(v) => v,
        }
    }
    /// Whether the deadline passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = goro_chan::chan::<u8>(0);
    /// assert!(tx.send_timeout(1, Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }
}

/// Why `try_recv` returned nothing.
///
/// ```
/// use goro_chan::TryRecvError;
/// let (tx, rx) = goro_chan::chan::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// Nothing is buffered (or, unbuffered, no sender is waiting).
    Empty,
    /// The channel is closed and drained.
    Closed,
}

/// Why `recv_timeout` / `recv_deadline` returned nothing.
///
/// ```
/// use std::time::Duration;
/// use goro_chan::RecvTimeoutError;
/// let rx = goro_chan::never::<u8>();
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum RecvTimeoutError {
    /// The deadline passed first.
    Timeout,
    /// The channel is closed and drained.
    Closed,
}

/// `Select::try_select`: no case was ready.
///
/// ```
/// let (_tx, rx) = goro_chan::chan::<u8>(1);
/// let mut sel = goro_chan::Select::new();
/// sel.recv(&rx);
/// assert_eq!(sel.try_select().err(), Some(goro_chan::TrySelectError));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct TrySelectError;

/// `Select::select_timeout`: no case became ready in time.
///
/// ```
/// use std::time::Duration;
/// let rx = goro_chan::never::<u8>();
/// let mut sel = goro_chan::Select::new();
/// sel.recv(&rx);
/// let e = sel.select_timeout(Duration::from_millis(1)).err();
/// assert_eq!(e, Some(goro_chan::SelectTimeoutError));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct SelectTimeoutError;

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}
impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}
impl<T> std::error::Error for SendError<T> {}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}
impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}
impl<T> std::error::Error for TrySendError<T> {}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}
impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("timed out sending on a channel"),
            SendTimeoutError::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}
impl<T> std::error::Error for SendTimeoutError<T> {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Closed => f.write_str("receiving on a closed channel"),
        }
    }
}
impl std::error::Error for TryRecvError {}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out receiving on a channel"),
            RecvTimeoutError::Closed => f.write_str("receiving on a closed channel"),
        }
    }
}
impl std::error::Error for RecvTimeoutError {}

impl fmt::Display for TrySelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no select case was ready")
    }
}
impl std::error::Error for TrySelectError {}

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting for a select case")
    }
}
impl std::error::Error for SelectTimeoutError {}
