//! Criterion benches for the netpoller: a 64-byte request/response round
//! trip over loopback TCP between two coroutines (the server echoes on its
//! own coroutine), the same over a Unix socket pair and over UDP.
//!
//! Each measures inside the runtime (`iter_custom` + `goro::run`) so the
//! timed loop runs on a coroutine, as a client would. A round trip is two
//! writes, two reads and, whenever a read finds nothing yet, a park and a
//! poller wake-up; `TCP_NODELAY` is set on both ends. Connections are set
//! up once per sample, outside the timed loop.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use goro::net::{TcpListener, TcpStream, UdpSocket, UnixStream};

const LEN: usize = 64;

/// Echoes exactly `LEN`-byte messages until EOF.
fn echo<S: Read + Write>(mut s: S) {
    let mut buf = [0u8; LEN];
    while s.read_exact(&mut buf).is_ok() {
        if s.write_all(&buf).is_err() {
            return;
        }
    }
}

fn ping_pong<S: Read + Write>(mut s: S, iters: u64) -> Duration {
    let mut msg = [7u8; LEN];
    let t = Instant::now();
    for _ in 0..iters {
        s.write_all(&msg).unwrap();
        s.read_exact(&mut msg).unwrap();
    }
    t.elapsed()
}

fn net(c: &mut Criterion) {
    let mut g = c.benchmark_group("net");
    g.bench_function("tcp_round_trip_64B", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = l.local_addr().unwrap();
                let server = goro::go!(move || {
                    let (s, _) = l.accept().unwrap();
                    s.set_nodelay(true).unwrap();
                    echo(s);
                });
                let c = TcpStream::connect(addr).unwrap();
                c.set_nodelay(true).unwrap();
                let d = ping_pong(&c, iters);
                drop(c);
                server.join().unwrap();
                d
            })
        })
    });
    g.bench_function("unix_pair_round_trip_64B", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let (a, s) = UnixStream::pair().unwrap();
                let server = goro::go!(move || echo(s));
                let d = ping_pong(&a, iters);
                drop(a);
                server.join().unwrap();
                d
            })
        })
    });
    g.bench_function("udp_round_trip_64B", |b| {
        b.iter_custom(|iters| {
            goro::run(move || {
                let a = UdpSocket::bind("127.0.0.1:0").unwrap();
                let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                a.connect(s.local_addr().unwrap()).unwrap();
                s.connect(a.local_addr().unwrap()).unwrap();
                let server = goro::go!(move || {
                    let mut buf = [0u8; LEN];
                    for _ in 0..iters {
                        let n = s.recv(&mut buf).unwrap();
                        s.send(&buf[..n]).unwrap();
                    }
                });
                let mut msg = [7u8; LEN];
                let t = Instant::now();
                for _ in 0..iters {
                    a.send(&msg).unwrap();
                    a.recv(&mut msg).unwrap();
                }
                let d = t.elapsed();
                server.join().unwrap();
                d
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20);
    targets = net
}
criterion_main!(benches);
