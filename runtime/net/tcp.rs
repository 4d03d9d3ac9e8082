//! TCP: `TcpListener` and `TcpStream`, with `std::net`'s API, parking the
//! calling coroutine (not its worker) while the socket is not ready.
//!
//! Streams are shared handles: `try_clone` gives another handle to the same
//! registered socket (one registration, one file descriptor), so a reader
//! and a writer coroutine can use the same connection. Timeouts apply per
//! operation, like std's; a timed-out operation returns
//! `ErrorKind::TimedOut`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::source::{Registered, Timeouts};
use crate::sched::netpoll::Dir;

/// Tries `f` on every address `addr` resolves to; the last error if none
/// works.
pub(crate) fn each_addr<T>(
    addr: impl ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    // A host name lookup may block for seconds: announce it (`blocking.rs`).
    for a in crate::sched::blocking::announced(|| addr.to_socket_addrs())? {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

/// A TCP socket server (Go's `net.Listener`, std's `TcpListener`).
///
/// ```
/// use std::io::{Read, Write};
/// use goro::net::{TcpListener, TcpStream};
///
/// goro::run(|| {
///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = l.local_addr().unwrap();
///     goro::go!(move || {
///         let (mut s, _) = l.accept().unwrap();
///         let mut buf = [0; 5];
///         s.read_exact(&mut buf).unwrap();
///         s.write_all(&buf).unwrap();
///     });
///     let mut c = TcpStream::connect(addr).unwrap();
///     c.write_all(b"hello").unwrap();
///     let mut back = [0; 5];
///     c.read_exact(&mut back).unwrap();
///     assert_eq!(&back, b"hello");
/// });
/// ```
pub struct TcpListener {
    inner: Registered<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (the first address that works).
    ///
    /// ```
    /// let l = goro::net::TcpListener::bind("127.0.0.1:0")?; // port 0: any free port
    /// assert_ne!(l.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(addr, |a| {
            Ok(TcpListener {
                inner: Registered::new(mio::net::TcpListener::bind(a)?)?,
            })
        })
    }

    /// Adopts a std listener (switched to non-blocking mode).
    ///
    /// ```
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = std_listener.local_addr()?;
    /// let l = goro::net::TcpListener::from_std(std_listener)?;
    /// assert_eq!(l.local_addr()?, addr);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(l: std::net::TcpListener) -> io::Result<TcpListener> {
        l.set_nonblocking(true)?;
        Ok(TcpListener {
            inner: Registered::new(mio::net::TcpListener::from_std(l))?,
        })
    }

    /// Waits for a connection. Errors from the kernel (for example `EMFILE`
    /// when the file descriptor table is full) are returned as they are; the
    /// listener keeps working.
    ///
    /// The accepted stream has `TCP_NODELAY` set (Nagle's algorithm off), as
    /// Go sets it on every TCP connection; [`TcpStream::set_nodelay`]`(false)`
    /// turns Nagle back on.
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// let (s, peer) = l.accept()?;
    /// assert_eq!(peer, c.local_addr()?);
    /// assert!(s.nodelay()?); // as Go: no Nagle on accepted streams
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_deadline(None)
    }

    /// Waits for a connection at most `timeout` (`ErrorKind::TimedOut`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = goro::net::TcpListener::bind("127.0.0.1:0")?;
    /// let e = l.accept_timeout(Duration::from_millis(5)).unwrap_err(); // nobody connects
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn accept_timeout(&self, timeout: Duration) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_deadline(Instant::now().checked_add(timeout))
    }

    fn accept_deadline(&self, deadline: Option<Instant>) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, a) = self
            .inner
            .op(Dir::Read, "IO wait (accept)", deadline, |l| l.accept())?;
        no_delay(&s);
        Ok((TcpStream::from_mio(s)?, a))
    }

    /// An endless iterator of accepted connections (`for s in l.incoming()`).
    ///
    /// ```
    /// use std::io::Read;
    /// use goro::net::{TcpListener, TcpStream};
    ///
    /// goro::run(|| {
    ///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     for _ in 0..3 {
    ///         goro::go!(move || drop(TcpStream::connect(addr).unwrap()));
    ///     }
    ///     for s in l.incoming().take(3) {
    ///         let mut rest = Vec::new();
    ///         s.unwrap().read_to_end(&mut rest).unwrap(); // the client hung up
    ///         assert!(rest.is_empty());
    ///     }
    /// });
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address it is bound to.
    ///
    /// ```
    /// let l = goro::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert!(l.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io().local_addr()
    }

    /// The pending socket error, if any.
    ///
    /// ```
    /// let l = goro::net::TcpListener::bind("127.0.0.1:0")?;
    /// assert!(l.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.io().take_error()
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}

/// Iterator of [`TcpListener::incoming`].
///
/// ```
/// use goro::net::{TcpListener, TcpStream};
/// let l = TcpListener::bind("127.0.0.1:0")?;
/// let c = TcpStream::connect(l.local_addr()?)?;
/// let mut incoming = l.incoming();
/// let s = incoming.next().expect("never ends")?;
/// assert_eq!(s.peer_addr()?, c.local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

struct StreamInner {
    io: Registered<mio::net::TcpStream>,
    timeouts: Timeouts,
}

/// A TCP connection (Go's `net.Conn`, std's `TcpStream`). Implements
/// `Read` and `Write` (also for `&TcpStream`), so `BufReader` and the other
/// `std::io` helpers work.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use goro::net::{TcpListener, TcpStream};
///
/// goro::run(|| {
///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = l.local_addr().unwrap();
///     goro::go!(move || {
///         let mut c = TcpStream::connect(addr).unwrap();
///         c.write_all(b"hello\nworld\n").unwrap();
///     });
///     let (s, _) = l.accept().unwrap();
///     let lines: Vec<String> = BufReader::new(s).lines().map(Result::unwrap).collect();
///     assert_eq!(lines, ["hello", "world"]);
/// });
/// ```
#[derive(Clone)]
pub struct TcpStream {
    inner: Arc<StreamInner>,
}

impl TcpStream {
    fn from_mio(s: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Arc::new(StreamInner {
                io: Registered::new(s)?,
                timeouts: Timeouts::default(),
            }),
        })
    }

    /// Connects to `addr` (each address in turn until one works).
    ///
    /// The stream has `TCP_NODELAY` set (Nagle's algorithm off), as Go sets
    /// it on every dialed and accepted TCP connection, so small
    /// request/response exchanges do not stall on delayed ACKs;
    /// [`set_nodelay`](Self::set_nodelay)`(false)` turns Nagle back on.
    /// The same holds for [`connect_timeout`](Self::connect_timeout) and for
    /// streams from [`TcpListener::accept`]; [`from_std`](Self::from_std)
    /// keeps the adopted socket's setting.
    ///
    /// ```no_run
    /// let s = goro::net::TcpStream::connect("127.0.0.1:8080")?;
    /// assert!(s.nodelay()?);
    /// s.set_nodelay(false)?; // opt back into Nagle's algorithm
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(addr, |a| Self::connect_deadline(a, None))
    }

    /// Connects, giving up after `timeout` (`ErrorKind::TimedOut`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect_timeout(&l.local_addr()?, Duration::from_secs(5))?;
    /// assert_eq!(c.peer_addr()?, l.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        Self::connect_deadline(*addr, Instant::now().checked_add(timeout))
    }

    fn connect_deadline(addr: SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
        let s = Self::from_mio(mio::net::TcpStream::connect(addr)?)?;
        // Writable means the connect finished, one way or the other.
        s.inner
            .io
            .op(Dir::Write, "IO wait (connect)", deadline, |io| {
                if let Some(e) = io.take_error()? {
                    return Err(e);
                }
                match io.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e)
                        if e.kind() == io::ErrorKind::NotConnected
                            || e.raw_os_error() == Some(libc::EINPROGRESS) =>
                    {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })?;
        no_delay(s.inner.io.io());
        Ok(s)
    }

    /// Adopts a connected std stream (switched to non-blocking mode).
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let std_stream = std::net::TcpStream::connect(l.local_addr()?)?;
    /// let c = TcpStream::from_std(std_stream)?;
    /// let (s, _) = l.accept()?;
    /// assert_eq!(s.peer_addr()?, c.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        s.set_nonblocking(true)?;
        Self::from_mio(mio::net::TcpStream::from_std(s))
    }

    /// Another handle to the same connection.
    ///
    /// A reader and a writer coroutine sharing one connection:
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use goro::net::{TcpListener, TcpStream};
    ///
    /// goro::run(|| {
    ///     let l = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let (s, _) = l.accept().unwrap();
    ///     let mut writer = s.try_clone().unwrap();
    ///     goro::go!(move || writer.write_all(b"from the clone").unwrap());
    ///     let mut buf = [0; 14];
    ///     c.read_exact(&mut buf).unwrap();
    ///     assert_eq!(&buf, b"from the clone");
    ///     drop(s); // the clone keeps the connection open until it is dropped too
    /// });
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(self.clone())
    }

    /// The remote address.
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// assert_eq!(c.peer_addr()?, l.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io.io().peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// let (s, _) = l.accept()?;
    /// assert_eq!(c.local_addr()?, s.peer_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io.io().local_addr()
    }

    /// Shuts down the read half, the write half or both (`Write` sends a FIN:
    /// the peer reads EOF).
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// let (mut s, _) = l.accept()?;
    /// c.shutdown(Shutdown::Write)?;
    /// let mut rest = Vec::new();
    /// assert_eq!(s.read_to_end(&mut rest)?, 0); // EOF
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.io.io().shutdown(how)
    }

    /// Sets `TCP_NODELAY` (on by default for connected and accepted
    /// streams; `false` turns Nagle's algorithm back on).
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// assert!(c.nodelay()?); // the default, as in Go
    /// c.set_nodelay(false)?; // Nagle back on
    /// assert!(!c.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.io.io().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// c.set_nodelay(true)?;
    /// assert!(c.nodelay()?);
    /// c.set_nodelay(false)?;
    /// assert!(!c.nodelay()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.io.io().nodelay()
    }

    /// Limits how long one read may wait (`None`: forever, the default).
    /// A read that runs out of time fails with `ErrorKind::TimedOut`.
    ///
    /// # Errors
    ///
    /// A zero duration is rejected, as in std.
    ///
    /// ```
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let mut c = TcpStream::connect(l.local_addr()?)?;
    /// c.set_read_timeout(Some(Duration::from_millis(5)))?;
    /// let mut buf = [0; 1];
    /// assert_eq!(c.read(&mut buf).unwrap_err().kind(), ErrorKind::TimedOut); // nobody writes
    /// assert_eq!(c.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.inner.timeouts.set(Dir::Read, d)
    }

    /// Limits how long one write may wait; see [`set_read_timeout`](Self::set_read_timeout).
    ///
    /// # Errors
    ///
    /// A zero duration is rejected, as in std.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::time::Duration;
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let mut c = TcpStream::connect(l.local_addr()?)?;
    /// c.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// c.write_all(b"fits in the send buffer at once")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.inner.timeouts.set(Dir::Write, d)
    }

    /// The read timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// assert_eq!(c.read_timeout()?, None);
    /// c.set_read_timeout(Some(Duration::from_secs(3)))?;
    /// assert_eq!(c.try_clone()?.read_timeout()?, Some(Duration::from_secs(3))); // shared
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeouts.get(Dir::Read))
    }

    /// The write timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// assert_eq!(c.write_timeout()?, None);
    /// c.set_write_timeout(Some(Duration::from_secs(3)))?;
    /// assert_eq!(c.write_timeout()?, Some(Duration::from_secs(3)));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeouts.get(Dir::Write))
    }

    /// Reads, giving up at `deadline` (Go's `SetReadDeadline` for one call).
    ///
    /// ```
    /// use std::io::{ErrorKind, Write};
    /// use std::time::{Duration, Instant};
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let mut c = TcpStream::connect(l.local_addr()?)?;
    /// let (s, _) = l.accept()?;
    /// let mut buf = [0; 8];
    /// let soon = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(s.read_deadline(&mut buf, soon).unwrap_err().kind(), ErrorKind::TimedOut);
    /// c.write_all(b"late")?;
    /// let later = Instant::now() + Duration::from_secs(5);
    /// assert_eq!(s.read_deadline(&mut buf, later)?, 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_deadline(&self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        self.read_until(buf, Some(deadline))
    }

    /// Writes, giving up at `deadline`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let c = TcpStream::connect(l.local_addr()?)?;
    /// let n = c.write_deadline(b"ping", Instant::now() + Duration::from_secs(1))?;
    /// assert_eq!(n, 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_deadline(&self, buf: &[u8], deadline: Instant) -> io::Result<usize> {
        self.write_until(buf, Some(deadline))
    }

    /// Reads into `buf` without removing the data from the queue.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use goro::net::{TcpListener, TcpStream};
    /// let l = TcpListener::bind("127.0.0.1:0")?;
    /// let mut c = TcpStream::connect(l.local_addr()?)?;
    /// let (mut s, _) = l.accept()?;
    /// c.write_all(b"hi")?;
    /// let mut buf = [0; 2];
    /// assert_eq!(s.peek(&mut buf)?, 2);
    /// assert_eq!(s.read(&mut buf)?, 2); // still there
    /// assert_eq!(&buf, b"hi");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let d = self.inner.timeouts.deadline(Dir::Read);
        self.inner
            .io
            .op(Dir::Read, "IO wait (read)", d, |s| s.peek(buf))
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

crate::net::source::stream_io!(TcpStream);

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.io().as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor stays open as long as `self` (the
        // registration owns the socket and closes it on drop).
        unsafe { BorrowedFd::borrow_raw(self.as_raw_fd()) }
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.io.io().as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: as for `TcpListener`: open as long as `self`.
        unsafe { BorrowedFd::borrow_raw(self.as_raw_fd()) }
    }
}

/// Turns Nagle's algorithm off on a new connection (Go's default for every
/// TCP connection). Like Go, a failure is ignored: the connection works
/// either way, and failing an accept here would lose a dequeued connection.
fn no_delay(s: &mio::net::TcpStream) {
    let _ = s.set_nodelay(true);
}
