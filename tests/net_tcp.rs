//! TCP through the netpoller: a blocked read frees its worker (one worker,
//! in a child process); 1000 concurrent echo connections with every byte
//! verified under 1, 2 and many workers; bulk transfers that park writers;
//! read/write/accept timeouts (`TimedOut`, never early); a reset peer
//! (`ConnectionReset`) and half-close; `accept` under file descriptor
//! exhaustion (an error, then the same listener works); threads and
//! coroutines accepting on one listener; connect refused and
//! `connect_timeout`. Everything binds 127.0.0.1, port 0.

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goro::chan::chan;
use goro::net::{TcpListener, TcpStream, UdpSocket, UnixStream};
use goro::sync::WaitGroup;

const LIMIT: Duration = Duration::from_secs(120);

fn child_ok(name: &str, env: &[(&str, &str)]) {
    common::assert_child_passes(name, env, LIMIT);
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft
/// limit.
fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut r), 0);
        if r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            assert_eq!(
                libc::setrlimit(libc::RLIMIT_NOFILE, &r),
                0,
                "{}",
                io::Error::last_os_error()
            );
        }
        r.rlim_cur
    }
}

/// Sets the soft `RLIMIT_NOFILE`.
fn set_nofile(soft: u64) {
    // SAFETY: as in `raise_nofile`.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut r), 0);
        r.rlim_cur = soft;
        assert_eq!(
            libc::setrlimit(libc::RLIMIT_NOFILE, &r),
            0,
            "{}",
            io::Error::last_os_error()
        );
    }
}

/// `SO_LINGER` on with a zero timeout: closing sends a RST.
fn set_linger_zero(fd: std::os::fd::RawFd) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `fd` is an open socket; the option value is a valid `linger`
    // of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "{}", io::Error::last_os_error());
}

/// The bytes connection `id` sends in round `round`.
fn pattern(id: usize, round: usize, len: usize) -> Vec<u8> {
    common::pattern(((id as u64) << 32) | round as u64, len)
}

/// A server echoing every connection on its own coroutine until EOF;
/// `served` counts finished connections.
fn echo_server(l: TcpListener, served: Arc<AtomicUsize>) {
    goro::go!(move || {
        for s in l.incoming() {
            let mut s = s.expect("accept");
            let served = served.clone();
            goro::go!(move || {
                let mut buf = [0u8; 1024];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => s.write_all(&buf[..n]).expect("echo write"),
                        Err(e) => panic!("echo read: {e}"),
                    }
                }
                served.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
}

/// With one worker: coroutines blocked in a TCP read, a TCP accept, a UDP
/// receive and a Unix read do not hold the worker — other coroutines
/// compute and finish meanwhile (if any of them blocked the thread, this
/// would hang and the child's deadline would fail it). Then data arrives
/// and each blocked one completes.
#[test]
fn blocked_io_frees_the_worker() {
    const NAME: &str = "blocked_io_frees_the_worker";
    if !common::is_child(NAME) {
        return child_ok(NAME, &[("GOMAXPROCS", "1")]);
    }
    assert_eq!(goro::maxprocs(), 1);
    goro::run(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).unwrap();
        let (server, _) = l.accept().unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp_addr = udp.local_addr().unwrap();
        let (ua, mut ub) = UnixStream::pair().unwrap();

        let (ready_tx, ready) = chan::<()>(0);
        let tcp_reader = goro::go!({
            let ready_tx = ready_tx.clone();
            move || {
                ready_tx.send(()).unwrap();
                let mut buf = [0u8; 4];
                (&server).read_exact(&mut buf).unwrap();
                buf
            }
        });
        let acceptor = goro::go!({
            let ready_tx = ready_tx.clone();
            move || {
                ready_tx.send(()).unwrap();
                l.accept().map(|_| ()).unwrap();
            }
        });
        let udp_reader = goro::go!({
            let ready_tx = ready_tx.clone();
            move || {
                ready_tx.send(()).unwrap();
                let mut buf = [0u8; 8];
                let (n, _) = udp.recv_from(&mut buf).unwrap();
                buf[..n].to_vec()
            }
        });
        let unix_reader = goro::go!(move || {
            ready_tx.send(()).unwrap();
            let mut buf = [0u8; 3];
            (&ua).read_exact(&mut buf).unwrap();
            buf
        });
        for _ in 0..4 {
            ready.recv().unwrap();
        }
        // The four are blocked (or about to be) on I/O; compute meanwhile.
        let work: Vec<_> = (0..200u64)
            .map(|i| {
                goro::go!(move || (0..5000u64).fold(i, |a, x| a.wrapping_mul(31).wrapping_add(x)))
            })
            .collect();
        let sum = work
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold(0u64, u64::wrapping_add);
        let want = (0..200u64)
            .map(|i| (0..5000u64).fold(i, |a, x| a.wrapping_mul(31).wrapping_add(x)))
            .fold(0u64, u64::wrapping_add);
        assert_eq!(sum, want);
        assert!(
            !tcp_reader.is_finished()
                && !acceptor.is_finished()
                && !udp_reader.is_finished()
                && !unix_reader.is_finished(),
            "an I/O wait finished with nothing to read or accept"
        );

        client.write_all(b"ping").unwrap();
        assert_eq!(&tcp_reader.join().unwrap(), b"ping");
        let _c2 = TcpStream::connect(addr).unwrap();
        acceptor.join().unwrap();
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .send_to(b"dgram", udp_addr)
            .unwrap();
        assert_eq!(udp_reader.join().unwrap(), b"dgram");
        ub.write_all(b"uds").unwrap();
        assert_eq!(&unix_reader.join().unwrap(), b"uds");
    });
}

/// 1000 connections at once, each its own coroutine doing 8 round trips of
/// 700 bytes (more than one segment's worth is not needed: the point is
/// many sockets parked at once) with every byte checked; the server echoes
/// each on its own coroutine and sees every EOF.
#[test]
fn echo_1000_connections() {
    common::for_each_procs("echo_1000_connections", LIMIT, || {
        const CONNS: usize = 1000;
        const ROUNDS: usize = 8;
        const LEN: usize = 700;
        let nofile = raise_nofile();
        assert!(
            nofile >= 2 * CONNS as u64 + 100,
            "RLIMIT_NOFILE hard limit {nofile} is too low for {CONNS} loopback connections"
        );
        goro::run(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let served = Arc::new(AtomicUsize::new(0));
            echo_server(l, served.clone());
            let wg = WaitGroup::new();
            for id in 0..CONNS {
                wg.go(move || {
                    let mut s = TcpStream::connect(addr).expect("connect");
                    let mut back = vec![0u8; LEN];
                    for round in 0..ROUNDS {
                        let msg = pattern(id, round, LEN);
                        s.write_all(&msg).unwrap();
                        s.read_exact(&mut back).unwrap();
                        assert!(
                            back == msg,
                            "connection {id} round {round}: echoed bytes differ"
                        );
                    }
                    s.shutdown(Shutdown::Write).unwrap();
                    assert_eq!(s.read(&mut back).unwrap(), 0, "EOF after the server closed");
                });
            }
            wg.wait();
            let start = Instant::now();
            while served.load(Ordering::Relaxed) < CONNS {
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "server coroutines did not all see EOF"
                );
                goro::time::sleep(Duration::from_millis(1));
            }
        });
    });
}

/// 4 MiB each way on one connection, written all at once before reading:
/// writers park on a full send buffer and are woken as the peer drains it.
#[test]
fn bulk_transfer_parks_writers() {
    common::watchdog("bulk transfer", LIMIT, || {
        goro::run(|| {
            const LEN: usize = 4 << 20;
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let server = goro::go!(move || {
                let (s, _) = l.accept().unwrap();
                // Split: one coroutine writes while this one reads.
                let w = s.try_clone().unwrap();
                let writer = goro::go!(move || (&w).write_all(&pattern(1, 0, LEN)).unwrap());
                let mut got = Vec::with_capacity(LEN);
                (&s).read_to_end(&mut got).unwrap();
                writer.join().unwrap();
                got
            });
            let c = TcpStream::connect(addr).unwrap();
            let w = c.try_clone().unwrap();
            let writer = goro::go!(move || {
                (&w).write_all(&pattern(2, 0, LEN)).unwrap();
                w.shutdown(Shutdown::Write).unwrap();
            });
            // The server never shuts down its write side: read exactly.
            let mut got = vec![0u8; LEN];
            (&c).read_exact(&mut got).unwrap();
            writer.join().unwrap();
            assert!(got == pattern(1, 0, LEN), "client received different bytes");
            assert!(
                server.join().unwrap() == pattern(2, 0, LEN),
                "server received different bytes"
            );
        });
    });
}

/// A read timeout fires with `TimedOut`, never early; so do read deadlines,
/// accept timeouts and (with the peer not reading) write timeouts. A zero
/// timeout is rejected as in std.
#[test]
fn timeouts_fire_never_early() {
    common::watchdog("tcp timeouts", LIMIT, || {
        goro::run(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let c = TcpStream::connect(addr).unwrap();
            let (s, _) = l.accept().unwrap();

            let d = Duration::from_millis(30);
            assert_eq!(c.read_timeout().unwrap(), None);
            c.set_read_timeout(Some(d)).unwrap();
            assert_eq!(c.read_timeout().unwrap(), Some(d));
            let mut buf = [0u8; 8];
            for _ in 0..3 {
                let t = Instant::now();
                let e = (&c).read(&mut buf).unwrap_err();
                assert_eq!(e.kind(), io::ErrorKind::TimedOut);
                assert!(t.elapsed() >= d, "read timed out early: {:?}", t.elapsed());
            }
            // Data before the timeout is returned normally, and the
            // connection still works after timeouts.
            (&s).write_all(b"late").unwrap();
            assert_eq!((&c).read(&mut buf).unwrap(), 4);
            c.set_read_timeout(None).unwrap();
            assert_eq!(
                c.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );

            let t = Instant::now();
            let e = c.read_deadline(&mut buf, t + d).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            assert!(t.elapsed() >= d);
            let e = c.read_deadline(&mut buf, t).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut, "a passed deadline");

            let t = Instant::now();
            let e = l.accept_timeout(d).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            assert!(t.elapsed() >= d);

            // Fill the send buffer (the peer never reads): a write times out.
            s.set_write_timeout(Some(d)).unwrap();
            let chunk = vec![7u8; 64 << 10];
            let mut sent = 0usize;
            let err = loop {
                let t = Instant::now();
                match (&s).write(&chunk) {
                    Ok(n) => sent += n,
                    Err(e) => break (e, t.elapsed()),
                }
                assert!(sent < 1 << 30, "the send buffer never filled");
            };
            assert_eq!(err.0.kind(), io::ErrorKind::TimedOut);
            assert!(err.1 >= d, "write timed out early: {:?}", err.1);
            assert!(sent > 0);
        });
    });
}

/// The peer closes with `SO_LINGER` 0 (a RST): a reader that was parked and
/// a later read both get `ConnectionReset`.
#[test]
fn peer_reset_is_connection_reset() {
    common::watchdog("peer reset", LIMIT, || {
        goro::run(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let peer = std::net::TcpStream::connect(addr).unwrap();
            let (s, _) = l.accept().unwrap();
            let s2 = s.clone();
            let (parked_tx, parked) = chan::<()>(0);
            let reader = goro::go!(move || {
                parked_tx.send(()).unwrap();
                let mut buf = [0u8; 8];
                (&s2).read(&mut buf)
            });
            parked.recv().unwrap();
            goro::time::sleep(Duration::from_millis(10)); // let it park
            set_linger_zero(peer.as_raw_fd());
            drop(peer);
            let e = reader.join().unwrap().unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
            // The error was consumed; the connection is dead: reads see EOF
            // or a reset, writes fail.
            let mut buf = [0u8; 8];
            match (&s).read(&mut buf) {
                Ok(0) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
                other => panic!("read after reset: {other:?}"),
            }
            assert!(
                (&s).write_all(&[1u8; 1 << 16]).is_err(),
                "write to a reset connection succeeded"
            );

            // The same with the reset arriving before the read.
            let peer = std::net::TcpStream::connect(addr).unwrap();
            let (s, _) = l.accept().unwrap();
            set_linger_zero(peer.as_raw_fd());
            drop(peer);
            let e = (&s).read(&mut buf).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
        });
    });
}

/// `shutdown(Write)`: the peer reads EOF, and can still write back.
#[test]
fn half_close() {
    common::watchdog("half close", LIMIT, || {
        goro::run(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let server = goro::go!(move || {
                let (mut s, _) = l.accept().unwrap();
                let mut req = Vec::new();
                s.read_to_end(&mut req).unwrap(); // returns at the client's FIN
                s.write_all(b"response to ").unwrap();
                s.write_all(&req).unwrap();
                req
            });
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(b"request").unwrap();
            c.shutdown(Shutdown::Write).unwrap();
            assert!(c.write_all(b"more").is_err(), "write after shutdown(Write)");
            let mut resp = Vec::new();
            c.read_to_end(&mut resp).unwrap();
            assert_eq!(resp, b"response to request");
            assert_eq!(server.join().unwrap(), b"request");
        });
    });
}

/// `accept` when the file descriptor table is full returns `EMFILE` (an
/// `io::Error`, no panic, no hang); once descriptors are freed the same
/// listener accepts the pending connection and new ones normally. In a
/// child process, since it lowers `RLIMIT_NOFILE` and fills the table.
#[test]
fn accept_under_fd_exhaustion() {
    const NAME: &str = "accept_under_fd_exhaustion";
    if !common::is_child(NAME) {
        return child_ok(NAME, &[]);
    }
    goro::run(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        // The kernel completes the handshake; the connection waits in the
        // accept queue.
        let mut c1 = std::net::TcpStream::connect(addr).unwrap();
        set_nofile(256);
        let mut hog = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => hog.push(f),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                    break;
                }
            }
            assert!(hog.len() < 1024, "RLIMIT_NOFILE was not enforced");
        }
        assert!(
            hog.len() >= 8,
            "the process already had about 256 descriptors open"
        );
        for _ in 0..3 {
            let e = l.accept().expect_err("accept with a full fd table");
            assert!(
                matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)),
                "accept with a full fd table: {e}"
            );
        }
        let e = l
            .accept_timeout(Duration::from_secs(3600))
            .expect_err("accept_timeout too");
        assert!(
            matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)),
            "{e}"
        );

        hog.truncate(hog.len() - 8);
        let (mut s1, _) = l.accept().expect("accept after freeing descriptors");
        c1.write_all(b"one").unwrap();
        let mut buf = [0u8; 3];
        s1.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"one");
        // A connection that arrives later is accepted by a parked acceptor.
        let acceptor = goro::go!(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 3];
            s.read_exact(&mut buf).unwrap();
            buf
        });
        goro::time::sleep(Duration::from_millis(10));
        let mut c2 = TcpStream::connect(addr).unwrap();
        c2.write_all(b"two").unwrap();
        assert_eq!(&acceptor.join().unwrap(), b"two");
        drop(hog);
    });
}

/// Plain threads and coroutines accept on the same listener at once. 60
/// clients each get served (by whoever accepted them); then one "stop"
/// connection per acceptor ends each acceptor, the thread included.
#[test]
fn threads_and_coroutines_share_a_listener() {
    common::watchdog("shared listener", LIMIT, || {
        const CLIENTS: usize = 60;
        const THREADS: usize = 2;
        const COROS: usize = 3;
        let l = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = l.local_addr().unwrap();
        let serve = |l: Arc<TcpListener>, who: &'static str| {
            move || {
                let mut n = 0usize;
                loop {
                    let (mut s, _) = l.accept().unwrap();
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).unwrap();
                    if b[0] == 0xff {
                        s.write_all(who.as_bytes()).unwrap();
                        return n;
                    }
                    s.write_all(&[b[0].wrapping_add(1)]).unwrap();
                    n += 1;
                }
            }
        };
        let threads: Vec<_> = (0..THREADS)
            .map(|_| std::thread::spawn(serve(l.clone(), "thread")))
            .collect();
        let coros: Vec<_> = (0..COROS)
            .map(|_| goro::go!(serve(l.clone(), "coroutine")))
            .collect();
        goro::run(move || {
            let wg = WaitGroup::new();
            for i in 0..CLIENTS {
                wg.go(move || {
                    let mut c = TcpStream::connect(addr).unwrap();
                    c.write_all(&[i as u8]).unwrap();
                    let mut b = [0u8; 1];
                    c.read_exact(&mut b).unwrap();
                    assert_eq!(b[0], i as u8 + 1);
                });
            }
            wg.wait();
            let mut who = Vec::new();
            for _ in 0..THREADS + COROS {
                let mut c = TcpStream::connect(addr).unwrap();
                c.write_all(&[0xff]).unwrap();
                let mut s = String::new();
                c.read_to_string(&mut s).unwrap();
                who.push(s);
            }
            who.sort();
            assert_eq!(
                who,
                [vec!["coroutine"; COROS], vec!["thread"; THREADS]].concat()
            );
        });
        let served: usize = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .sum::<usize>()
            + coros.into_iter().map(|h| h.join().unwrap()).sum::<usize>();
        assert_eq!(served, CLIENTS);
    });
}

/// Connecting to a port nobody listens on: `ConnectionRefused`, from a
/// coroutine and from a plain thread.
#[test]
fn connect_refused() {
    common::watchdog("connect refused", LIMIT, || {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let e = TcpStream::connect(addr).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        let e = goro::run(move || TcpStream::connect(addr).unwrap_err());
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        let e = goro::run(move || {
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap_err()
        });
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    });
}

/// `connect_timeout` succeeds against a listener, and times out (never
/// early) against one whose accept queue is full: Linux drops the SYN, the
/// client retransmits, the deadline passes.
#[test]
fn connect_timeout() {
    common::watchdog("connect timeout", LIMIT, || {
        goro::run(|| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr: SocketAddr = l.local_addr().unwrap();
            let c = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
            assert_eq!(c.peer_addr().unwrap(), addr);
            drop(c);
            l.accept().unwrap();

            // Shrink the backlog to its minimum: listen() again updates it.
            // SAFETY: `l` is a listening socket.
            assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
            let abort_on_overflow =
                std::fs::read_to_string("/proc/sys/net/ipv4/tcp_abort_on_overflow")
                    .is_ok_and(|s| s.trim() == "1");
            let d = Duration::from_millis(200);
            let mut held = Vec::new();
            let err = loop {
                let t = Instant::now();
                match TcpStream::connect_timeout(&addr, d) {
                    Ok(s) => held.push(s),
                    Err(e) => break (e, t.elapsed()),
                }
                assert!(held.len() < 64, "the accept queue never filled");
            };
            if abort_on_overflow {
                assert_eq!(err.0.kind(), io::ErrorKind::ConnectionRefused, "{}", err.0);
            } else {
                assert_eq!(err.0.kind(), io::ErrorKind::TimedOut, "{}", err.0);
                assert!(err.1 >= d, "connect timed out early: {:?}", err.1);
            }
        });
    });
}

/// Goro's TCP types from plain threads (no coroutine anywhere): they block
/// the thread and the poller wakes it.
#[test]
fn plain_threads_use_tcp() {
    common::watchdog("plain threads", LIMIT, || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
        let server = std::thread::spawn(move || {
            let (mut s, peer) = l.accept().unwrap();
            assert_eq!(s.peer_addr().unwrap(), peer);
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        });
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_nodelay(true).unwrap();
        assert!(c.nodelay().unwrap());
        std::thread::sleep(Duration::from_millis(10)); // the server parks in read
        c.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        // peek leaves data in place.
        server.join().unwrap();
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a2 = std_l.local_addr().unwrap();
        let l2 = TcpListener::from_std(std_l).unwrap();
        let mut c2 = TcpStream::connect(a2).unwrap();
        let (s2, _) = l2.accept().unwrap();
        c2.write_all(b"xy").unwrap();
        let mut p = [0u8; 2];
        assert_eq!(s2.peek(&mut p).unwrap(), 2);
        let mut r = [0u8; 2];
        (&s2).read_exact(&mut r).unwrap();
        assert_eq!((p, r), (*b"xy", *b"xy"));
    });
}

/// Resident set size of this process, in bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

/// 200K reads that time out on an idle connection must not leave 200K
/// waiter entries behind (RSS grows by less than 1 MiB; it grew ~3.2 MB).
///
/// Regression test: a park in `Registered::op` that ended by its deadline
/// used to leave its `Unparker` on the socket's waiter list until the next
/// readiness event, so a loop of timed-out reads on a quiet socket (a server
/// polling a shutdown flag with a read timeout) grew the list without bound
/// and kept finished coroutines' task blocks alive.
#[test]
fn timed_out_reads_do_not_accumulate_waiters() {
    const NAME: &str = "timed_out_reads_do_not_accumulate_waiters";
    if !common::is_child(NAME) {
        return child_ok(NAME, &[("GOMAXPROCS", "1")]);
    }
    common::watchdog(NAME, LIMIT, || {
        goro::run(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            // A busy coroutine: timers are noticed at its scheduling points, so
            // each timed-out read costs microseconds, not an idle wake-up.
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let busy = goro::go!({
                let stop = stop.clone();
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        goro::yield_now();
                    }
                }
            });
            let mut buf = [0u8; 1];
            let mut timeouts = |n: usize| {
                for _ in 0..n {
                    let e = s
                        .read_deadline(&mut buf, Instant::now() + Duration::from_micros(1))
                        .unwrap_err();
                    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
                }
            };
            timeouts(2_000);
            let before = rss_bytes();
            timeouts(200_000);
            let grown = rss_bytes().saturating_sub(before);
            stop.store(true, Ordering::Relaxed);
            busy.join().unwrap();
            assert!(
                grown < 1 << 20,
                "200K timed-out reads grew RSS by {grown} bytes"
            );
        })
    });
}

/// Go sets `TCP_NODELAY` on every dialed and accepted connection; so does
/// goro, with `set_nodelay(false)` to opt out. Checked on coroutines and on a
/// plain thread, through the socket option itself (getsockopt) too.
#[test]
fn nodelay_is_the_default_on_connected_and_accepted_streams() {
    fn kernel_nodelay(s: &TcpStream) -> bool {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `v`.
        let rc = unsafe {
            libc::getsockopt(
                s.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                &mut v as *mut libc::c_int as *mut libc::c_void,
                &mut len,
            )
        };
        assert_eq!(rc, 0, "getsockopt: {}", io::Error::last_os_error());
        v != 0
    }
    fn check() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let c = TcpStream::connect(addr).unwrap();
        let (a, _) = l.accept().unwrap();
        for s in [&c, &a] {
            assert!(s.nodelay().unwrap());
            assert!(kernel_nodelay(s));
        }
        let c2 = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
        let (a2, _) = l.accept_timeout(Duration::from_secs(10)).unwrap();
        assert!(c2.nodelay().unwrap() && a2.nodelay().unwrap());
        // Opting out turns Nagle back on, and the stream still works.
        c.set_nodelay(false).unwrap();
        a.set_nodelay(false).unwrap();
        assert!(!c.nodelay().unwrap() && !kernel_nodelay(&c));
        assert!(!a.nodelay().unwrap() && !kernel_nodelay(&a));
        (&c).write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        (&a).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }
    common::watchdog("nodelay default", LIMIT, || {
        goro::run(check);
        check(); // from a plain thread
    });
}
