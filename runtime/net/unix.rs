//! Unix domain stream sockets: [`UnixListener`] and [`UnixStream`], with
//! `std::os::unix::net`'s API, parking the calling coroutine (not its
//! worker) while the socket is not ready.
//!
//! Streams are shared handles like [`TcpStream`](super::TcpStream):
//! [`UnixStream::try_clone`] gives another handle to the same registered
//! socket, so a reader and a writer coroutine can split a connection.
//! Timeouts apply per operation and produce `ErrorKind::TimedOut`.
//!
//! # Connecting
//!
//! A non-blocking Unix `connect` on Linux either completes at once or
//! fails with `EAGAIN` when the listener's backlog is full; unlike TCP it
//! never leaves a connect in progress that readiness could report on, and
//! there is nothing to wait on in the poller. goro then retries after a
//! short sleep (50 µs, doubling up to 10 ms), parking the coroutine, until
//! it connects or its deadline passes. Go instead returns `EAGAIN` to the
//! caller; std's blocking connect blocks the thread — the retry keeps std's
//! contract without holding a worker. A connect that the kernel reports as
//! in progress (`EINPROGRESS`, other Unixes) waits for writability, as TCP.
//!
//! The socket file a listener binds is not removed when it is dropped (as in
//! std); remove it yourself.
//!
//! Alternatives rejected: `dup`ed file descriptors for `try_clone` (see
//! `udp.rs`); a blocking `connect` on a helper thread (a thread per
//! connect, for a case — a full backlog — that is rare).

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::source::{Registered, Timeouts, timed_out};
use crate::sched::netpoll::Dir;

/// A Unix domain socket server (std's `UnixListener`).
///
/// ```
/// use std::io::{Read, Write};
/// use goro::net::{UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("goro-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let l = UnixListener::bind(&path).unwrap();
/// goro::run(move || {
///     goro::go!(move || {
///         let (mut s, _) = l.accept().unwrap();
///         let mut buf = [0; 5];
///         s.read_exact(&mut buf).unwrap();
///         s.write_all(&buf).unwrap();
///     });
/// });
/// let mut c = UnixStream::connect(&path).unwrap();
/// c.write_all(b"hello").unwrap();
/// let mut back = [0; 5];
/// c.read_exact(&mut back).unwrap();
/// assert_eq!(&back, b"hello");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    inner: Registered<mio::net::UnixListener>,
}

impl UnixListener {
    /// Creates the socket file at `path` and listens on it. Starts the
    /// runtime if needed.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if `path` exists (even a stale socket file: remove it
    /// first); the kernel's error otherwise.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goro-doc-bind-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = goro::net::UnixListener::bind(&path)?;
    /// assert_eq!(goro::net::UnixListener::bind(&path).unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    /// drop(l);
    /// std::fs::remove_file(&path)?; // not removed on drop
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Ok(UnixListener {
            inner: Registered::new(mio::net::UnixListener::bind(path)?)?,
        })
    }

    /// Adopts a std listener (switched to non-blocking mode).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goro-doc-fromstd-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let std_listener = std::os::unix::net::UnixListener::bind(&path)?;
    /// let l = goro::net::UnixListener::from_std(std_listener)?;
    /// assert_eq!(l.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        l.set_nonblocking(true)?;
        Ok(UnixListener {
            inner: Registered::new(mio::net::UnixListener::from_std(l))?,
        })
    }

    /// Waits for a connection. Kernel errors (for example `EMFILE` when the
    /// file descriptor table is full) are returned as they are; the listener
    /// keeps working.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goro-doc-accept-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// use goro::net::{UnixListener, UnixStream};
    /// let l = UnixListener::bind(&path)?;
    /// let _c = UnixStream::connect(&path)?; // queued in the backlog
    /// let (s, client) = l.accept()?;
    /// assert!(client.is_unnamed()); // clients have no path
    /// assert_eq!(s.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        self.accept_deadline(None)
    }

    /// Waits for a connection at most `timeout` (then `TimedOut`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let path = std::env::temp_dir().join(format!("goro-doc-acc-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let l = goro::net::UnixListener::bind(&path).unwrap();
    /// let e = l.accept_timeout(Duration::from_millis(2)).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn accept_timeout(&self, timeout: Duration) -> io::Result<(UnixStream, SocketAddr)> {
        self.accept_deadline(Instant::now().checked_add(timeout))
    }

    fn accept_deadline(&self, deadline: Option<Instant>) -> io::Result<(UnixStream, SocketAddr)> {
        let (s, a) = self
            .inner
            .op(Dir::Read, "IO wait (accept)", deadline, |l| l.accept())?;
        Ok((UnixStream::from_mio(s)?, a))
    }

    /// An endless iterator of accepted connections (`for s in l.incoming()`).
    ///
    /// ```
    /// use std::io::Write;
    /// use goro::net::{UnixListener, UnixStream};
    ///
    /// let path = std::env::temp_dir().join(format!("goro-doc-incoming-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = UnixListener::bind(&path)?;
    /// goro::run(move || {
    ///     for _ in 0..3 {
    ///         let path = path.clone();
    ///         goro::go!(move || UnixStream::connect(path).unwrap().write_all(b"!").unwrap());
    ///     }
    ///     let mut bangs = 0;
    ///     for s in l.incoming().take(3) {
    ///         let mut b = [0; 1];
    ///         std::io::Read::read_exact(&mut s.unwrap(), &mut b).unwrap();
    ///         bangs += (b == *b"!") as usize;
    ///     }
    ///     assert_eq!(bangs, 3);
    ///     std::fs::remove_file(&path).unwrap();
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// The address it is bound to.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goro-doc-laddr-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = goro::net::UnixListener::bind(&path)?;
    /// assert_eq!(l.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io().local_addr()
    }

    /// The pending socket error, if any.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goro-doc-lerr-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = goro::net::UnixListener::bind(&path)?;
    /// assert!(l.take_error()?.is_none());
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.io().take_error()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.io().as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.io().as_fd()
    }
}

impl std::fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixListener")
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}

/// Iterator of [`UnixListener::incoming`]; never ends.
///
/// ```
/// let path = std::env::temp_dir().join(format!("goro-doc-unixincoming-{}.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// use goro::net::{UnixListener, UnixStream};
/// let l = UnixListener::bind(&path)?;
/// let _c = UnixStream::connect(&path)?;
/// let s = l.incoming().next().expect("never ends")?;
/// assert!(s.peer_addr()?.is_unnamed());
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;
    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

struct StreamInner {
    io: Registered<mio::net::UnixStream>,
    timeouts: Timeouts,
}

/// A Unix domain stream connection (std's `UnixStream`). Implements `Read`
/// and `Write`, also for `&UnixStream`.
///
/// ```
/// use std::io::{Read, Write};
/// use goro::net::UnixStream;
///
/// goro::run(|| {
///     let (a, mut b) = UnixStream::pair().unwrap();
///     goro::go!(move || (&a).write_all(b"ping").unwrap());
///     let mut buf = [0; 4];
///     b.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"ping");
/// });
/// ```
#[derive(Clone)]
pub struct UnixStream {
    inner: Arc<StreamInner>,
}

/// First back-off of a connect that found the backlog full.
const CONNECT_BACKOFF_MIN: Duration = Duration::from_micros(50);
/// Longest back-off between connect attempts.
const CONNECT_BACKOFF_MAX: Duration = Duration::from_millis(10);

impl UnixStream {
    fn from_mio(s: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            inner: Arc::new(StreamInner {
                io: Registered::new(s)?,
                timeouts: Timeouts::default(),
            }),
        })
    }

    /// Connects to the socket at `path`, waiting (parked) while the
    /// listener's backlog is full; see the module docs.
    ///
    /// # Errors
    ///
    /// `NotFound` if nothing is at `path`; `ConnectionRefused` if it is a
    /// socket file nobody listens on; the kernel's error otherwise.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use goro::net::{UnixListener, UnixStream};
    ///
    /// let path = std::env::temp_dir().join(format!("goro-doc-connect-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let l = UnixListener::bind(&path)?;
    /// let mut c = UnixStream::connect(&path)?;
    /// c.write_all(b"hi")?;
    /// let (mut s, _) = l.accept()?;
    /// let mut buf = [0; 2];
    /// s.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"hi");
    /// std::fs::remove_file(&path)?;
    /// assert_eq!(UnixStream::connect(&path).unwrap_err().kind(), std::io::ErrorKind::NotFound);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        Self::connect_deadline(path.as_ref(), None)
    }

    /// Connects, giving up after `timeout` (`TimedOut`) if the listener's
    /// backlog stays full.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("goro-doc-ctimeout-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// use std::time::Duration;
    /// use goro::net::{UnixListener, UnixStream};
    /// let l = UnixListener::bind(&path)?;
    /// let c = UnixStream::connect_timeout(&path, Duration::from_secs(1))?;
    /// assert_eq!(c.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// # drop(l);
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect_timeout(path: impl AsRef<Path>, timeout: Duration) -> io::Result<UnixStream> {
        Self::connect_deadline(path.as_ref(), Instant::now().checked_add(timeout))
    }

    fn connect_deadline(path: &Path, deadline: Option<Instant>) -> io::Result<UnixStream> {
        let mut backoff = CONNECT_BACKOFF_MIN;
        let s = loop {
            match mio::net::UnixStream::connect(path) {
                Ok(s) => break Self::from_mio(s)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let now = Instant::now();
                    if deadline.is_some_and(|d| now >= d) {
                        return Err(timed_out());
                    }
                    let wake = now + backoff;
                    crate::time::sleep_until(deadline.map_or(wake, |d| d.min(wake)));
                    backoff = (backoff * 2).min(CONNECT_BACKOFF_MAX);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        // Connected, or (not on Linux) in progress: writable means done.
        s.inner
            .io
            .op(Dir::Write, "IO wait (connect)", deadline, |io| {
                if let Some(e) = io.take_error()? {
                    return Err(e);
                }
                match io.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })?;
        Ok(s)
    }

    /// A connected pair of anonymous sockets (`socketpair`).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let (mut a, mut b) = goro::net::UnixStream::pair()?;
    /// a.write_all(b"x")?;
    /// let mut buf = [0; 1];
    /// b.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"x");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((Self::from_mio(a)?, Self::from_mio(b)?))
    }

    /// Adopts a connected std stream (switched to non-blocking mode).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let (std_a, mut std_b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut a = goro::net::UnixStream::from_std(std_a)?;
    /// a.write_all(b"adopted")?;
    /// let mut buf = [0; 7];
    /// std_b.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"adopted");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        s.set_nonblocking(true)?;
        Self::from_mio(mio::net::UnixStream::from_std(s))
    }

    /// Another handle to the same connection (shared timeouts, one file
    /// descriptor). Never fails; the `Result` mirrors std.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use goro::net::UnixStream;
    ///
    /// goro::run(|| {
    ///     let (a, mut b) = UnixStream::pair().unwrap();
    ///     let mut writer = a.try_clone().unwrap();
    ///     goro::go!(move || writer.write_all(b"clone").unwrap());
    ///     let mut buf = [0; 5];
    ///     b.read_exact(&mut buf).unwrap();
    ///     assert_eq!(&buf, b"clone");
    ///     drop(a);
    /// });
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(self.clone())
    }

    /// The local address (unnamed for a client or a pair).
    ///
    /// ```
    /// let (a, _b) = goro::net::UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io.io().local_addr()
    }

    /// The peer's address (unnamed for a pair).
    ///
    /// ```
    /// let (a, _b) = goro::net::UnixStream::pair()?;
    /// assert_eq!(a.peer_addr()?.as_pathname(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io.io().peer_addr()
    }

    /// Shuts down the read half, the write half or both (`Write`: the peer
    /// reads EOF, and can still write back).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    /// let (mut a, mut b) = goro::net::UnixStream::pair()?;
    /// a.shutdown(Shutdown::Write)?;
    /// let mut rest = Vec::new();
    /// assert_eq!(b.read_to_end(&mut rest)?, 0); // EOF
    /// b.write_all(b"reply")?; // the other direction still works
    /// let mut buf = [0; 5];
    /// a.read_exact(&mut buf)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.io.io().shutdown(how)
    }

    /// Limits how long one read may wait (`None`: forever, the default).
    /// A read that runs out of time fails with `ErrorKind::TimedOut`.
    /// Shared by all handles of the connection.
    ///
    /// # Errors
    ///
    /// A zero duration is rejected (`InvalidInput`), as in std.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// let (mut a, _b) = goro::net::UnixStream::pair().unwrap();
    /// a.set_read_timeout(Some(Duration::from_millis(2))).unwrap();
    /// let mut buf = [0; 1];
    /// assert_eq!(a.read(&mut buf).unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.inner.timeouts.set(Dir::Read, d)
    }

    /// Limits how long one write may wait; see
    /// [`set_read_timeout`](Self::set_read_timeout).
    ///
    /// # Errors
    ///
    /// A zero duration is rejected, as in std.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, _b) = goro::net::UnixStream::pair()?;
    /// a.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// assert_eq!(a.write_timeout()?, Some(Duration::from_secs(1)));
    /// assert!(a.set_write_timeout(Some(Duration::ZERO)).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.inner.timeouts.set(Dir::Write, d)
    }

    /// The read timeout (`None` by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, _b) = goro::net::UnixStream::pair()?;
    /// assert_eq!(a.read_timeout()?, None);
    /// a.set_read_timeout(Some(Duration::from_secs(2)))?;
    /// assert_eq!(a.try_clone()?.read_timeout()?, Some(Duration::from_secs(2))); // shared
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeouts.get(Dir::Read))
    }

    /// The write timeout (`None` by default).
    ///
    /// ```
    /// let (a, _b) = goro::net::UnixStream::pair()?;
    /// assert_eq!(a.write_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeouts.get(Dir::Write))
    }

    /// Reads, giving up at `deadline` (`TimedOut`; Go's `SetReadDeadline`
    /// for one call).
    ///
    /// ```
    /// use std::io::{ErrorKind, Write};
    /// use std::time::{Duration, Instant};
    /// let (a, mut b) = goro::net::UnixStream::pair()?;
    /// let mut buf = [0; 4];
    /// let soon = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(a.read_deadline(&mut buf, soon).unwrap_err().kind(), ErrorKind::TimedOut);
    /// b.write_all(b"late")?;
    /// assert_eq!(a.read_deadline(&mut buf, Instant::now() + Duration::from_secs(5))?, 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_deadline(&self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        self.read_until(buf, Some(deadline))
    }

    /// Writes, giving up at `deadline` (`TimedOut`).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (a, _b) = goro::net::UnixStream::pair()?;
    /// assert_eq!(a.write_deadline(b"ok", Instant::now() + Duration::from_secs(1))?, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_deadline(&self, buf: &[u8], deadline: Instant) -> io::Result<usize> {
        self.write_until(buf, Some(deadline))
    }

    /// The pending socket error, if any.
    ///
    /// ```
    /// let (a, _b) = goro::net::UnixStream::pair()?;
    /// assert!(a.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.io.io().take_error()
    }

    fn read_until(&self, buf: &mut [u8], d: Option<Instant>) -> io::Result<usize> {
        self.inner
            .io
            .op(Dir::Read, "IO wait (read)", d, |mut s| s.read(buf))
    }

    fn write_until(&self, buf: &[u8], d: Option<Instant>) -> io::Result<usize> {
        self.inner
            .io
            .op(Dir::Write, "IO wait (write)", d, |mut s| s.write(buf))
    }
}

crate::net::source::stream_io!(UnixStream);

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.io.io().as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.io.io().as_fd()
    }
}

impl std::fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
