//! Unix domain stream sockets through the netpoller: listener/stream round
//! trips (named socket in a unique temp path) with many concurrent
//! clients, `pair`, `Read`/`Write` for `&UnixStream` with a split
//! reader/writer moving 4 MiB each way (writers park), read timeouts
//! (`TimedOut`, never early), half-close, connect errors (`NotFound`,
//! `ConnectionRefused`) and connecting while the backlog is full (the
//! connect waits, and `connect_timeout` gives up, never early).

mod common;

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goro::net::{UnixListener, UnixStream};
use goro::sync::WaitGroup;

const LIMIT: Duration = Duration::from_secs(60);

/// A socket path unique to this process and call, removed on drop.
struct TempSock(PathBuf);

impl TempSock {
    fn new(tag: &str) -> TempSock {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("goro-{}-{tag}-{n}.sock", std::process::id()));
        let _ = std::fs::remove_file(&p);
        TempSock(p)
    }
}

impl Drop for TempSock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn listener_round_trip_many_clients() {
    common::for_each_procs("listener_round_trip_many_clients", LIMIT, || {
        let path = TempSock::new("echo");
        let l = UnixListener::bind(&path.0).unwrap();
        assert_eq!(
            l.local_addr().unwrap().as_pathname(),
            Some(path.0.as_path())
        );
        goro::run(move || {
            goro::go!(move || {
                for s in l.incoming() {
                    let mut s = s.unwrap();
                    goro::go!(move || {
                        let mut buf = [0u8; 512];
                        loop {
                            match s.read(&mut buf).unwrap() {
                                0 => break,
                                n => s.write_all(&buf[..n]).unwrap(),
                            }
                        }
                    });
                }
            });
            let wg = WaitGroup::new();
            for id in 0..200u64 {
                let p = path.0.clone();
                wg.go(move || {
                    let mut c = UnixStream::connect(&p).unwrap();
                    assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(p.as_path()));
                    let mut back = vec![0u8; 300];
                    for round in 0..5 {
                        let msg = common::pattern(id * 10 + round, 300);
                        c.write_all(&msg).unwrap();
                        c.read_exact(&mut back).unwrap();
                        assert!(back == msg, "client {id}: echoed bytes differ");
                    }
                });
            }
            wg.wait();
            drop(path);
        });
    });
}

#[test]
fn pair_split_reader_writer() {
    common::watchdog("unix pair", LIMIT, || {
        goro::run(|| {
            const LEN: usize = 4 << 20;
            let (a, b) = UnixStream::pair().unwrap();
            // Each side writes 4 MiB from one coroutine while another reads:
            // socket buffers are far smaller, so writers park.
            let side = |s: UnixStream, seed: u64, peer_seed: u64| {
                let w = s.try_clone().unwrap();
                let writer = goro::go!(move || {
                    (&w).write_all(&common::pattern(seed, LEN)).unwrap();
                    w.shutdown(Shutdown::Write).unwrap();
                });
                goro::go!(move || {
                    let mut got = Vec::new();
                    (&s).read_to_end(&mut got).unwrap();
                    writer.join().unwrap();
                    assert!(got == common::pattern(peer_seed, LEN), "bytes differ");
                })
            };
            let ha = side(a, 1, 2);
            let hb = side(b, 2, 1);
            ha.join().unwrap();
            hb.join().unwrap();
        });
    });
}

#[test]
fn read_timeout_never_early_and_half_close() {
    common::watchdog("unix timeout", LIMIT, || {
        goro::run(|| {
            let (a, b) = UnixStream::pair().unwrap();
            let d = Duration::from_millis(30);
            a.set_read_timeout(Some(d)).unwrap();
            assert_eq!(a.try_clone().unwrap().read_timeout().unwrap(), Some(d));
            let mut buf = [0u8; 16];
            for _ in 0..3 {
                let t = Instant::now();
                assert_eq!(
                    (&a).read(&mut buf).unwrap_err().kind(),
                    io::ErrorKind::TimedOut
                );
                assert!(t.elapsed() >= d, "read timed out early: {:?}", t.elapsed());
            }
            let t = Instant::now();
            let e = a.read_deadline(&mut buf, t + d).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            assert!(t.elapsed() >= d);
            assert_eq!(
                a.set_write_timeout(Some(Duration::ZERO))
                    .unwrap_err()
                    .kind(),
                io::ErrorKind::InvalidInput
            );

            // Half-close: b says its piece and shuts its write side; a reads
            // to EOF and still answers.
            (&b).write_all(b"question").unwrap();
            b.shutdown(Shutdown::Write).unwrap();
            let mut q = Vec::new();
            (&a).read_to_end(&mut q).unwrap();
            assert_eq!(q, b"question");
            (&a).write_all(b"answer").unwrap();
            drop(a);
            let mut r = Vec::new();
            (&b).read_to_end(&mut r).unwrap();
            assert_eq!(r, b"answer");
        });
    });
}

#[test]
fn connect_errors() {
    common::watchdog("unix connect errors", LIMIT, || {
        let missing = TempSock::new("missing");
        let e = UnixStream::connect(&missing.0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");

        // A socket file nobody listens on any more.
        let stale = TempSock::new("stale");
        drop(std::os::unix::net::UnixListener::bind(&stale.0).unwrap());
        let e = goro::run({
            let p = stale.0.clone();
            move || UnixStream::connect(&p).unwrap_err()
        });
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
        // And binding over it fails until it is removed.
        assert_eq!(
            UnixListener::bind(&stale.0).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
    });
}

/// With the backlog at its minimum and nobody accepting, connects find it
/// full (`EAGAIN`): `connect` waits until an acceptor makes room, and
/// `connect_timeout` gives up with `TimedOut`, not before its time.
#[test]
fn connect_waits_while_backlog_is_full() {
    common::watchdog("unix backlog", LIMIT, || {
        goro::run(|| {
            let path = TempSock::new("backlog");
            let std_l = std::os::unix::net::UnixListener::bind(&path.0).unwrap();
            // SAFETY: a listening socket; listen() again shrinks the backlog.
            assert_eq!(unsafe { libc::listen(std_l.as_raw_fd(), 0) }, 0);
            let l = UnixListener::from_std(std_l).unwrap();

            // Fill the queue.
            let mut held = Vec::new();
            let d = Duration::from_millis(50);
            let (e, took) = loop {
                let t = Instant::now();
                match UnixStream::connect_timeout(&path.0, d) {
                    Ok(s) => held.push(s),
                    Err(e) => break (e, t.elapsed()),
                }
                assert!(held.len() < 64, "the backlog never filled");
            };
            assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
            assert!(took >= d, "connect_timeout gave up early: {took:?}");

            // Connects that wait, then an acceptor that drains the queue.
            const WAITERS: usize = 8;
            let wg = WaitGroup::new();
            for i in 0..WAITERS as u8 {
                let p = path.0.clone();
                wg.go(move || {
                    let mut c = UnixStream::connect(&p).unwrap();
                    c.write_all(&[i]).unwrap();
                });
            }
            goro::time::sleep(Duration::from_millis(20));
            // The held connections, closed, are accepted too and read EOF.
            drop(held);
            let mut seen = Vec::new();
            while seen.len() < WAITERS {
                let (mut s, _) = l.accept().unwrap();
                let mut b = [0u8; 1];
                if let Ok(1) = s.read(&mut b) {
                    seen.push(b[0]);
                }
            }
            wg.wait();
            seen.sort();
            assert_eq!(seen, (0..WAITERS as u8).collect::<Vec<_>>());
        });
    });
}
