//! `UdpSocket` through the netpoller: `send_to`/`recv_from` round trips
//! with datagram boundaries kept, `peek_from`/`peek` leaving the datagram
//! queued, connected `send`/`recv` (and the kernel's source filter), a
//! shared handle (`try_clone`) receiving while another sends, receive
//! timeouts (`TimedOut`, never early), socket options, plain threads, and
//! many concurrent ping-pong pairs under 1, 2 and many workers.

mod common;

use std::io;
use std::time::{Duration, Instant};

use goro::net::UdpSocket;
use goro::sync::WaitGroup;

const LIMIT: Duration = Duration::from_secs(60);

fn bind() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

#[test]
fn round_trip_keeps_datagram_boundaries() {
    common::watchdog("udp round trip", LIMIT, || {
        goro::run(|| {
            let (a, b) = (bind(), bind());
            let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
            let echo = goro::go!(move || {
                let mut buf = [0u8; 2048];
                for _ in 0..3 {
                    let (n, from) = b.recv_from(&mut buf).unwrap();
                    assert_eq!(from, a_addr);
                    b.send_to(&buf[..n], from).unwrap();
                }
            });
            let mut buf = [0u8; 2048];
            for msg in [&b"one"[..], &[0xab; 1500][..], &b""[..]] {
                assert_eq!(a.send_to(msg, b_addr).unwrap(), msg.len());
                let (n, from) = a.recv_from(&mut buf).unwrap();
                assert_eq!((&buf[..n], from), (msg, b_addr));
            }
            echo.join().unwrap();

            // Two datagrams queued are received separately; peek does not
            // consume; a short buffer truncates.
            let c = bind();
            c.send_to(b"first", a_addr).unwrap();
            c.send_to(b"second", a_addr).unwrap();
            let mut small = [0u8; 3];
            let (n, from) = a.peek_from(&mut small).unwrap();
            assert_eq!((n, &small, from), (3, b"fir", c.local_addr().unwrap()));
            let (n, _) = a.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"first");
            let (n, _) = a.recv_from(&mut small).unwrap();
            assert_eq!(
                (n, &small),
                (3, b"sec"),
                "the rest of a truncated datagram is dropped"
            );
            let e = a
                .recv_from_deadline(&mut buf, Instant::now() + Duration::from_millis(5))
                .unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut, "nothing else was queued");
        });
    });
}

#[test]
fn connected_send_recv() {
    common::watchdog("udp connected", LIMIT, || {
        goro::run(|| {
            let (a, b, stranger) = (bind(), bind(), bind());
            let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
            assert_eq!(
                a.peer_addr().unwrap_err().kind(),
                io::ErrorKind::NotConnected
            );
            assert!(a.send(b"x").is_err(), "send without a peer");
            a.connect(b_addr).unwrap();
            b.connect(a_addr).unwrap();
            assert_eq!(a.peer_addr().unwrap(), b_addr);

            // A connected socket only receives from its peer.
            stranger.send_to(b"noise", a_addr).unwrap();
            b.send(b"hello").unwrap();
            let mut buf = [0u8; 16];
            let n = a.peek(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"hello");
            let n = a.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"hello");

            // recv parks until the peer sends.
            let b2 = b.try_clone().unwrap();
            let r = goro::go!(move || {
                let mut buf = [0u8; 16];
                let n = b2.recv(&mut buf).unwrap();
                buf[..n].to_vec()
            });
            goro::time::sleep(Duration::from_millis(5));
            a.send(b"back").unwrap();
            assert_eq!(r.join().unwrap(), b"back");
        });
    });
}

#[test]
fn recv_timeout_never_early() {
    common::watchdog("udp timeout", LIMIT, || {
        goro::run(|| {
            let s = bind();
            assert_eq!(s.read_timeout().unwrap(), None);
            let d = Duration::from_millis(30);
            s.set_read_timeout(Some(d)).unwrap();
            let clone = s.try_clone().unwrap();
            assert_eq!(
                clone.read_timeout().unwrap(),
                Some(d),
                "timeouts are shared by handles"
            );
            let mut buf = [0u8; 8];
            for _ in 0..3 {
                let t = Instant::now();
                assert_eq!(
                    s.recv_from(&mut buf).unwrap_err().kind(),
                    io::ErrorKind::TimedOut
                );
                assert!(t.elapsed() >= d, "recv timed out early: {:?}", t.elapsed());
            }
            let t = Instant::now();
            assert_eq!(
                clone.peek_from(&mut buf).unwrap_err().kind(),
                io::ErrorKind::TimedOut
            );
            assert!(t.elapsed() >= d);
            assert_eq!(
                s.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
            s.set_write_timeout(Some(d)).unwrap();
            assert_eq!(s.write_timeout().unwrap(), Some(d));
            s.set_read_timeout(None).unwrap();
            // Still usable after timeouts.
            bind().send_to(b"ok", s.local_addr().unwrap()).unwrap();
            assert_eq!(s.recv_from(&mut buf).unwrap().0, 2);
        });
    });
}

#[test]
fn options_and_std_adoption() {
    let s = UdpSocket::from_std(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    assert!(!s.broadcast().unwrap());
    s.set_broadcast(true).unwrap();
    assert!(s.broadcast().unwrap());
    s.set_ttl(42).unwrap();
    assert_eq!(s.ttl().unwrap(), 42);
    s.set_multicast_ttl_v4(3).unwrap();
    assert_eq!(s.multicast_ttl_v4().unwrap(), 3);
    s.set_multicast_loop_v4(false).unwrap();
    assert!(!s.multicast_loop_v4().unwrap());
    assert!(s.take_error().unwrap().is_none());
    assert!(format!("{s:?}").contains("UdpSocket"));
}

/// A plain thread blocks in `recv_from` until a coroutine sends.
#[test]
fn plain_thread_receives_from_coroutine() {
    common::watchdog("udp thread", LIMIT, || {
        let s = bind();
        let addr = s.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 16];
            let (n, _) = s.recv_from(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        goro::run(move || {
            goro::time::sleep(Duration::from_millis(10));
            bind().send_to(b"to thread", addr).unwrap();
        });
        assert_eq!(t.join().unwrap(), b"to thread");
    });
}

/// 100 pairs of coroutines ping-pong 100 numbered datagrams each (one in
/// flight per pair, so loopback never drops one).
#[test]
fn many_pairs_ping_pong() {
    common::for_each_procs("many_pairs_ping_pong", LIMIT, || {
        goro::run(|| {
            let wg = WaitGroup::new();
            for _ in 0..100 {
                let (a, b) = (bind(), bind());
                a.connect(b.local_addr().unwrap()).unwrap();
                b.connect(a.local_addr().unwrap()).unwrap();
                wg.go(move || {
                    let mut buf = [0u8; 8];
                    for _ in 0..100 {
                        let n = b.recv(&mut buf).unwrap();
                        assert_eq!(n, 8);
                        let v = u64::from_le_bytes(buf) + 1;
                        b.send(&v.to_le_bytes()).unwrap();
                    }
                });
                wg.go(move || {
                    let mut buf = [0u8; 8];
                    for i in 0..100u64 {
                        a.send(&(2 * i).to_le_bytes()).unwrap();
                        assert_eq!(a.recv(&mut buf).unwrap(), 8);
                        assert_eq!(u64::from_le_bytes(buf), 2 * i + 1);
                    }
                });
            }
            wg.wait();
        });
    });
}
