//! A TCP echo server: one coroutine per connection, each a read/write loop
//! over a 64-byte buffer (the same shape as the Go and tokio servers that
//! `docs/benchmarks.md` compares it with).
//!
//! ```sh
//! cargo run --release --example echo_server -- 127.0.0.1:7000
//! ```
//!
//! The listen address is the first argument (default `127.0.0.1:7000`;
//! port 0 picks a free port); the server prints the address it listens on
//! and runs until killed. Every accepted connection gets `TCP_NODELAY`, as
//! Go sets by default. A connection ends at EOF or at an error (a reset
//! peer), which is printed; accept errors (for example `EMFILE`) are
//! printed and the server keeps accepting after a short pause.

use std::io::{Read, Write};
use std::time::Duration;

use goro::net::TcpListener;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".to_string());
    goro::run(move || {
        let l = TcpListener::bind(&addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        println!("echo_server listening on {}", l.local_addr().unwrap());
        for s in l.incoming() {
            let mut s = match s {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("accept: {e}");
                    goro::time::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            goro::go!(move || {
                let _ = s.set_nodelay(true);
                let mut buf = [0u8; 64];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            if let Err(e) = s.write_all(&buf[..n]) {
                                eprintln!("write: {e}");
                                break;
                            }
                        }
                        Err(e) => {
                            eprintln!("read: {e}");
                            break;
                        }
                    }
                }
            });
        }
    });
}
