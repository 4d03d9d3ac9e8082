//! A TCP echo load generator: N connections, each its own coroutine doing M
//! round trips of a 64-byte payload (write it, `read_exact` it back, check
//! it), and the total rate.
//!
//! ```sh
//! cargo run --release --example echo_client -- 127.0.0.1:7000 100 2000
//! ```
//!
//! Arguments: address (default `127.0.0.1:7000`), connections N (default
//! 100), round trips per connection M (default 2000). All connections are
//! established first; the clock runs from releasing them all at once until
//! the last one finishes. Prints `echo_krps <value> krps` (thousands of
//! round trips per second, all connections together), the `metric value
//! unit` format of the other benchmarks. Panics (exit code 101) on a
//! connection error or a payload that comes back different.

use std::io::{Read, Write};
use std::time::Instant;

use goro::chan::chan;
use goro::net::TcpStream;
use goro::sync::WaitGroup;

const PAYLOAD: usize = 64;

fn arg<T: std::str::FromStr>(i: usize, default: T) -> T {
    std::env::args().nth(i).map_or(default, |s| {
        s.parse()
            .unwrap_or_else(|_| panic!("argument {i} ({s:?}) is not valid"))
    })
}

fn main() {
    let addr: String = arg(1, "127.0.0.1:7000".to_string());
    let conns: usize = arg(2, 100);
    let rounds: usize = arg(3, 2000);
    let elapsed = goro::run(move || {
        let connected = WaitGroup::new();
        let finished = WaitGroup::new();
        // Closed to release every connection at once.
        let (start_tx, start) = chan::<()>(0);
        for id in 0..conns {
            let (connected, finished, start, addr) = (
                connected.clone(),
                finished.clone(),
                start.clone(),
                addr.clone(),
            );
            connected.add(1);
            finished.add(1);
            goro::go!(move || {
                let mut s =
                    TcpStream::connect(&addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
                s.set_nodelay(true).unwrap();
                let mut msg = [0u8; PAYLOAD];
                for (i, b) in msg.iter_mut().enumerate() {
                    *b = (id + i) as u8;
                }
                let mut back = [0u8; PAYLOAD];
                connected.done();
                let _ = start.recv(); // closed: go
                for round in 0..rounds {
                    msg[0] = round as u8;
                    s.write_all(&msg).unwrap();
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(msg, back, "connection {id} round {round}: echo differs");
                }
                finished.done();
            });
        }
        connected.wait();
        let t = Instant::now();
        start_tx.close();
        finished.wait();
        t.elapsed()
    });
    let total = (conns * rounds) as f64;
    eprintln!("{conns} connections x {rounds} round trips of {PAYLOAD} B in {elapsed:?}");
    println!("echo_krps {:.1} krps", total / elapsed.as_secs_f64() / 1e3);
}
