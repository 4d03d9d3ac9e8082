//! *Concurrency in Go*, chapter 2, "How This Helps You": a server "would
//! create a goroutine for each incoming connection, field the request
//! there, and then return from the goroutine's function" — no thread pool,
//! no multiplexing by hand.
//!
//! The server below spawns a coroutine per accepted connection (each reads
//! a line and answers it upper-cased); 200 client coroutines talk to it at
//! once. A coroutine blocked on its socket frees its worker thread, so two
//! worker threads serve all of them.

use std::io::{BufRead, BufReader, Write};

use goro::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    goro::run(|| {
        let ln = TcpListener::bind("127.0.0.1:0")?;
        let addr = ln.local_addr()?;
        goro::go!(move || {
            for conn in ln.incoming() {
                let Ok(conn) = conn else { continue };
                // One coroutine per connection.
                goro::go!(move || {
                    let mut line = String::new();
                    let mut r = BufReader::new(&conn);
                    if r.read_line(&mut line).is_ok() {
                        let _ = (&conn).write_all(line.to_uppercase().as_bytes());
                    }
                });
            }
        });

        let clients: Vec<_> = (0..200)
            .map(|i| {
                goro::go!(move || -> std::io::Result<String> {
                    let mut s = TcpStream::connect(addr)?;
                    writeln!(s, "hello from client {i}")?;
                    let mut answer = String::new();
                    BufReader::new(&s).read_line(&mut answer)?;
                    Ok(answer)
                })
            })
            .collect();
        let mut answered = 0;
        for (i, c) in clients.into_iter().enumerate() {
            let answer = c.join().unwrap()?;
            assert_eq!(answer, format!("HELLO FROM CLIENT {i}\n"));
            answered += 1;
        }
        println!(
            "{answered} connections, each handled by its own coroutine, on {} worker threads",
            goro::maxprocs()
        );
        Ok(())
    })
}
