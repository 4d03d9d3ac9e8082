//! UDP: [`UdpSocket`], with `std::net::UdpSocket`'s API, parking the
//! calling coroutine (not its worker) while the socket is not ready.
//!
//! A socket is a shared handle: [`UdpSocket::try_clone`] gives another
//! handle to the same registered socket (one registration, one file
//! descriptor, one set of timeouts), so one coroutine can receive while
//! another sends. Every blocking call is `Registered::op`: try the system
//! call, and on `WouldBlock` park until the poller reports readiness.
//! Timeouts apply per operation, as in std, but a timed-out operation
//! returns `ErrorKind::TimedOut` (std returns `WouldBlock` on Unix), like
//! [`TcpStream`](super::TcpStream).
//!
//! Invariant: the mio socket is never used outside `Registered`, so its
//! readiness word always reflects every `WouldBlock` it returned.
//!
//! Alternatives rejected: a `dup`ed file descriptor per clone (two
//! registrations of the same file in one epoll set would deliver every
//! event twice and make deregistration order-dependent); std's `WouldBlock`
//! for a timeout (it reads like a non-blocking socket's "try again").

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::source::{Registered, Timeouts};
use super::tcp::each_addr;
use crate::sched::netpoll::Dir;

struct Inner {
    io: Registered<mio::net::UdpSocket>,
    timeouts: Timeouts,
}

/// A UDP socket (Go's `net.UDPConn`, std's `UdpSocket`).
///
/// Receiving parks the calling coroutine until a datagram arrives (a plain
/// thread blocks). Handles are cheap to clone and share one socket.
///
/// ```
/// use goro::net::UdpSocket;
///
/// goro::run(|| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b_addr = b.local_addr().unwrap();
///     goro::go!(move || {
///         let mut buf = [0; 16];
///         let (n, from) = b.recv_from(&mut buf).unwrap();
///         b.send_to(&buf[..n], from).unwrap(); // echo it back
///     });
///     a.send_to(b"ping", b_addr).unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = a.recv_from(&mut buf).unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], b_addr));
/// });
/// ```
#[derive(Clone)]
pub struct UdpSocket {
    inner: Arc<Inner>,
}

impl UdpSocket {
    fn from_mio(s: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            inner: Arc::new(Inner {
                io: Registered::new(s)?,
                timeouts: Timeouts::default(),
            }),
        })
    }

    /// Binds to `addr` (the first address that works; port 0 picks a free
    /// port). Starts the runtime if needed.
    ///
    /// # Errors
    ///
    /// The last bind error if no address works (for example `AddrInUse`).
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0")?; // port 0: any free port
    /// assert_ne!(s.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(addr, |a| Self::from_mio(mio::net::UdpSocket::bind(a)?))
    }

    /// Adopts a std socket (switched to non-blocking mode).
    ///
    /// ```
    /// let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let addr = std_sock.local_addr().unwrap();
    /// let s = goro::net::UdpSocket::from_std(std_sock).unwrap();
    /// assert_eq!(s.local_addr().unwrap(), addr);
    /// ```
    pub fn from_std(s: std::net::UdpSocket) -> io::Result<UdpSocket> {
        s.set_nonblocking(true)?;
        Self::from_mio(mio::net::UdpSocket::from_std(s))
    }

    /// Another handle to the same socket (shared timeouts, one file
    /// descriptor). Never fails; the `Result` mirrors std.
    ///
    /// ```
    /// let a = goro::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = a.try_clone().unwrap();
    /// assert_eq!(a.local_addr().unwrap(), b.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(self.clone())
    }

    /// The local address.
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(s.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io.io().local_addr()
    }

    /// The address it is connected to.
    ///
    /// # Errors
    ///
    /// `NotConnected` if [`connect`](Self::connect) was not called.
    ///
    /// ```
    /// use goro::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0")?;
    /// let b = UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(a.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// a.connect(b.local_addr()?)?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.io.io().peer_addr()
    }

    /// Sets the default destination for [`send`](Self::send) and the only
    /// source [`recv`](Self::recv) accepts (the first address of `addr`
    /// that works). Does not block: UDP has no handshake.
    ///
    /// ```
    /// use goro::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// b.connect(a.local_addr().unwrap()).unwrap();
    /// a.send(b"hi").unwrap();
    /// let mut buf = [0; 2];
    /// assert_eq!(b.recv(&mut buf).unwrap(), 2);
    /// ```
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(addr, |a| self.inner.io.io().connect(a))
    }

    /// Sends one datagram to `addr` (its first resolved address, as std
    /// does); returns the bytes sent. Waits (subject to the write timeout)
    /// while the send buffer is full.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `addr` resolves to nothing; `TimedOut` after the
    /// write timeout; the kernel's error otherwise (for example
    /// `ConnectionRefused` left by an earlier ICMP error).
    ///
    /// ```
    /// use goro::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0")?;
    /// let b = UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(a.send_to(b"hello", b.local_addr()?)?, 5);
    /// let mut buf = [0; 8];
    /// let (n, from) = b.recv_from(&mut buf)?;
    /// assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr()?));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let Some(to) = crate::sched::blocking::announced(|| addr.to_socket_addrs())?.next() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            ));
        };
        let d = self.inner.timeouts.deadline(Dir::Write);
        self.inner
            .io
            .op(Dir::Write, "IO wait (send)", d, |s| s.send_to(buf, to))
    }

    /// Receives one datagram; returns its length and sender. A datagram
    /// longer than `buf` is truncated (the rest is lost). Waits (subject to
    /// the read timeout) until one arrives.
    ///
    /// # Errors
    ///
    /// `TimedOut` after the read timeout; the kernel's error otherwise.
    ///
    /// A datagram longer than the buffer is cut:
    ///
    /// ```
    /// use goro::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0")?;
    /// let b = UdpSocket::bind("127.0.0.1:0")?;
    /// a.send_to(b"truncated", b.local_addr()?)?;
    /// let mut buf = [0; 4];
    /// let (n, _) = b.recv_from(&mut buf)?;
    /// assert_eq!(&buf[..n], b"trun");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_until(buf, self.inner.timeouts.deadline(Dir::Read))
    }

    /// [`recv_from`](Self::recv_from), giving up at `deadline`
    /// (`TimedOut`; Go's `SetReadDeadline` for one call).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let mut buf = [0; 8];
    /// let e = s.recv_from_deadline(&mut buf, Instant::now() + Duration::from_millis(5)).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn recv_from_deadline(
        &self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> io::Result<(usize, SocketAddr)> {
        self.recv_from_until(buf, Some(deadline))
    }

    fn recv_from_until(
        &self,
        buf: &mut [u8],
        d: Option<Instant>,
    ) -> io::Result<(usize, SocketAddr)> {
        self.inner
            .io
            .op(Dir::Read, "IO wait (recv)", d, |s| s.recv_from(buf))
    }

    /// Like [`recv_from`](Self::recv_from), but leaves the datagram queued:
    /// the next receive returns it again.
    ///
    /// ```
    /// use goro::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0")?;
    /// let b = UdpSocket::bind("127.0.0.1:0")?;
    /// a.send_to(b"once", b.local_addr()?)?;
    /// let mut buf = [0; 4];
    /// assert_eq!(b.peek_from(&mut buf)?, (4, a.local_addr()?));
    /// assert_eq!(b.recv_from(&mut buf)?, (4, a.local_addr()?)); // the same datagram
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let d = self.inner.timeouts.deadline(Dir::Read);
        self.inner
            .io
            .op(Dir::Read, "IO wait (recv)", d, |s| s.peek_from(buf))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` (the kernel's `EDESTADDRREQ`) without
    /// [`connect`](Self::connect); otherwise as [`send_to`](Self::send_to).
    ///
    /// ```
    /// use goro::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0")?;
    /// let b = UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(a.send(b"nowhere").is_err()); // not connected
    /// a.connect(b.local_addr()?)?;
    /// assert_eq!(a.send(b"there")?, 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let d = self.inner.timeouts.deadline(Dir::Write);
        self.inner
            .io
            .op(Dir::Write, "IO wait (send)", d, |s| s.send(buf))
    }

    /// Receives one datagram from the connected peer; see
    /// [`recv_from`](Self::recv_from).
    ///
    /// ```
    /// use goro::net::UdpSocket;
    ///
    /// goro::run(|| {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     b.connect(a.local_addr().unwrap()).unwrap();
    ///     let b_addr = b.local_addr().unwrap();
    ///     let h = goro::go!(move || {
    ///         let mut buf = [0; 8];
    ///         let n = b.recv(&mut buf).unwrap(); // parks this coroutine only
    ///         buf[..n].to_vec()
    ///     });
    ///     a.send_to(b"parked", b_addr).unwrap();
    ///     assert_eq!(h.join().unwrap(), b"parked");
    /// });
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let d = self.inner.timeouts.deadline(Dir::Read);
        self.inner
            .io
            .op(Dir::Read, "IO wait (recv)", d, |s| s.recv(buf))
    }

    /// Like [`recv`](Self::recv), but leaves the datagram queued.
    ///
    /// ```
    /// use goro::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0")?;
    /// let b = UdpSocket::bind("127.0.0.1:0")?;
    /// b.connect(a.local_addr()?)?;
    /// a.send_to(b"twice", b.local_addr()?)?;
    /// let mut buf = [0; 5];
    /// assert_eq!(b.peek(&mut buf)?, 5);
    /// assert_eq!(b.recv(&mut buf)?, 5);
    /// assert_eq!(&buf, b"twice");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let d = self.inner.timeouts.deadline(Dir::Read);
        self.inner
            .io
            .op(Dir::Read, "IO wait (recv)", d, |s| s.peek(buf))
    }

    /// Limits how long one receive may wait (`None`: forever, the
    /// default). A receive that runs out of time fails with
    /// `ErrorKind::TimedOut`. Shared by all handles of the socket.
    ///
    /// # Errors
    ///
    /// A zero duration is rejected (`InvalidInput`), as in std.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_read_timeout(Some(Duration::from_millis(2))).unwrap();
    /// let mut buf = [0; 8];
    /// assert_eq!(s.recv_from(&mut buf).unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn set_read_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.inner.timeouts.set(Dir::Read, d)
    }

    /// Limits how long one send may wait; see
    /// [`set_read_timeout`](Self::set_read_timeout).
    ///
    /// # Errors
    ///
    /// A zero duration is rejected, as in std.
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_write_timeout(Some(Duration::from_secs(1)))?;
    /// assert_eq!(s.write_timeout()?, Some(Duration::from_secs(1)));
    /// assert!(s.set_write_timeout(Some(Duration::ZERO)).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_write_timeout(&self, d: Option<Duration>) -> io::Result<()> {
        self.inner.timeouts.set(Dir::Write, d)
    }

    /// The read timeout (`None` by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(s.read_timeout()?, None);
    /// s.set_read_timeout(Some(Duration::from_secs(2)))?;
    /// assert_eq!(s.try_clone()?.read_timeout()?, Some(Duration::from_secs(2))); // shared
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeouts.get(Dir::Read))
    }

    /// The write timeout (`None` by default).
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert_eq!(s.write_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeouts.get(Dir::Write))
    }

    /// Sets `SO_BROADCAST` (off by default).
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("0.0.0.0:0")?;
    /// s.set_broadcast(true)?;
    /// assert!(s.broadcast()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.io.io().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(!s.broadcast()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.io.io().broadcast()
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0")?;
    /// s.set_ttl(7)?;
    /// assert_eq!(s.ttl()?, 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.io.io().set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(s.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.io.io().ttl()
    }

    /// Sets `IP_MULTICAST_LOOP` (on by default).
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("0.0.0.0:0")?;
    /// s.set_multicast_loop_v4(false)?;
    /// assert!(!s.multicast_loop_v4()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.inner.io.io().set_multicast_loop_v4(on)
    }

    /// `IP_MULTICAST_LOOP`.
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("0.0.0.0:0")?;
    /// assert!(s.multicast_loop_v4()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.inner.io.io().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL` (1 by default).
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("0.0.0.0:0")?;
    /// s.set_multicast_ttl_v4(4)?;
    /// assert_eq!(s.multicast_ttl_v4()?, 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.inner.io.io().set_multicast_ttl_v4(ttl)
    }

    /// `IP_MULTICAST_TTL`.
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("0.0.0.0:0")?;
    /// assert_eq!(s.multicast_ttl_v4()?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.inner.io.io().multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// Needs an IPv6 socket (`no_run`: the host may have no IPv6):
    ///
    /// ```no_run
    /// let s = goro::net::UdpSocket::bind("[::1]:0")?;
    /// s.set_multicast_loop_v6(false)?;
    /// assert!(!s.multicast_loop_v6()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.inner.io.io().set_multicast_loop_v6(on)
    }

    /// `IPV6_MULTICAST_LOOP`.
    ///
    /// ```no_run
    /// let s = goro::net::UdpSocket::bind("[::]:0")?;
    /// assert!(s.multicast_loop_v6()?); // on by default
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.inner.io.io().multicast_loop_v6()
    }

    /// Joins an IPv4 multicast group on `interface`.
    ///
    /// `no_run`: joining needs a multicast-capable interface.
    ///
    /// ```no_run
    /// use std::net::Ipv4Addr;
    /// let s = goro::net::UdpSocket::bind("0.0.0.0:5353")?;
    /// s.join_multicast_v4(&Ipv4Addr::new(224, 0, 0, 251), &Ipv4Addr::UNSPECIFIED)?;
    /// let mut buf = [0; 1500];
    /// let (n, from) = s.recv_from(&mut buf)?; // an mDNS packet from the group
    /// # let _ = (n, from);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.inner.io.io().join_multicast_v4(multiaddr, interface)
    }

    /// Joins an IPv6 multicast group on interface index `interface`.
    ///
    /// `no_run`: needs IPv6 and a multicast-capable interface.
    ///
    /// ```no_run
    /// use std::net::Ipv6Addr;
    /// let s = goro::net::UdpSocket::bind("[::]:5353")?;
    /// let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);
    /// s.join_multicast_v6(&group, 0)?; // 0: the default interface
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner.io.io().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// ```no_run
    /// use std::net::Ipv4Addr;
    /// let s = goro::net::UdpSocket::bind("0.0.0.0:5353")?;
    /// let group = Ipv4Addr::new(224, 0, 0, 251);
    /// s.join_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)?;
    /// s.leave_multicast_v4(&group, &Ipv4Addr::UNSPECIFIED)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.inner.io.io().leave_multicast_v4(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// ```no_run
    /// use std::net::Ipv6Addr;
    /// let s = goro::net::UdpSocket::bind("[::]:5353")?;
    /// let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);
    /// s.join_multicast_v6(&group, 0)?;
    /// s.leave_multicast_v6(&group, 0)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner.io.io().leave_multicast_v6(multiaddr, interface)
    }

    /// Takes the pending socket error (`SO_ERROR`), for example a
    /// `ConnectionRefused` reported by ICMP.
    ///
    /// ```
    /// let s = goro::net::UdpSocket::bind("127.0.0.1:0")?;
    /// assert!(s.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.io.io().take_error()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.io.io().as_raw_fd()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.io.io().as_fd()
    }
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}
