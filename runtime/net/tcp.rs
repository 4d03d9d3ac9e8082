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
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(addr, |a| {
            Ok(TcpListener {
                inner: Registered::new(mio::net::TcpListener::bind(a)?)?,
            })
        })
    }

    /// Adopts a std listener (switched to non-blocking mode).
    pub fn from_std(l: std::net::TcpListener) -> io::Result<TcpListener> {
        l.set_nonblocking(true)?;
        Ok(TcpListener {
            inner: Registered::new(mio::net::TcpListener::from_std(l))?,
        })
    }

    /// Waits for a connection. Errors from the kernel (for example `EMFILE`
    /// when the file descriptor table is full) are returned as they are; the
    /// listener keeps working.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_deadline(None)
    }

    /// Waits for a connection at most `timeout` (`ErrorKind::TimedOut`).
    pub fn accept_timeout(&self, timeout: Duration) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_deadline(Instant::now().checked_add(timeout))
    }

    fn accept_deadline(&self, deadline: Option<Instant>) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, a) = self
            .inner
            .op(Dir::Read, "IO wait (accept)", deadline, |l| l.accept())?;
        Ok((TcpStream::from_mio(s)?, a))
    }

    /// An endless iterator of accepted connections (`for s in l.incoming()`).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io().local_addr()
    }

    /// The pending socket error, if any.
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
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        each_addr(addr, |a| Self::connect_deadline(a, None))
    }

    /// Connects, giving up after `timeout` (`ErrorKind::TimedOut`).
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
        Ok(s)
    }

    /// Adopts a connected std stream (switched to non-blocking mode).
    pub fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        s.set_nonblocking(true)?;
        Self::from_mio(mio::net::TcpStream::from_std(s))
    }

    /// Another handle to the same connection.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(self.clone())
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io.io().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io.io().local_addr()
    }

    /// Shuts down the read half, the write half or both (`Write` sends a FIN:
    /// the peer reads EOF).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.io.io().shutdown(how)
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.io.io().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.io.io().nodelay()
    }

    /// Limits how long one read may wait (`None`: forever, the default).
    /// A read that runs out of time fails with `ErrorKind::TimedOut`.
    ///
    /// # Errors
    ///
    /// A zero duration is rejected, as in std.
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.inner.timeouts.set(Dir::Read, d)
    }

    /// Limits how long one write may wait; see [`set_read_timeout`](Self::set_read_timeout).
    ///
    /// # Errors
    ///
    /// A zero duration is rejected, as in std.
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.inner.timeouts.set(Dir::Write, d)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeouts.get(Dir::Read))
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeouts.get(Dir::Write))
    }

    /// Reads, giving up at `deadline` (Go's `SetReadDeadline` for one call).
    pub fn read_deadline(&self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        self.read_until(buf, Some(deadline))
    }

    /// Writes, giving up at `deadline`.
    pub fn write_deadline(&self, buf: &[u8], deadline: Instant) -> io::Result<usize> {
        self.write_until(buf, Some(deadline))
    }

    /// Reads into `buf` without removing the data from the queue.
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
