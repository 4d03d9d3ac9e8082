//! *Concurrency in Go*, chapter 3, "Channels": a buffered channel of four
//! between a producer of five values and a consumer.
//!
//! The Go original:
//!
//! ```go
//! var stdoutBuff bytes.Buffer
//! defer stdoutBuff.WriteTo(os.Stdout)
//!
//! intStream := make(chan int, 4)
//! go func() {
//!     defer close(intStream)
//!     defer fmt.Fprintln(&stdoutBuff, "Producer Done.")
//!     for i := 0; i < 5; i++ {
//!         fmt.Fprintf(&stdoutBuff, "Sending: %d\n", i)
//!         intStream <- i
//!     }
//! }()
//!
//! for integer := range intStream {
//!     fmt.Fprintf(&stdoutBuff, "Received %v.\n", integer)
//! }
//! ```
//!
//! The producer can send four values before anyone receives; the fifth
//! waits for room. The shared output buffer is a `Mutex<String>` here (no
//! lock is held across a blocking call, see docs/safety.md), printed at the
//! end like the Go version's deferred `WriteTo`.

use std::sync::{Arc, Mutex};

use goro::chan::chan;

fn main() {
    let out = Arc::new(Mutex::new(String::new()));
    let log = {
        let out = out.clone();
        move |s: String| out.lock().unwrap().push_str(&s)
    };
    goro::run(move || {
        let (tx, int_stream) = chan::<i32>(4);
        let plog = log.clone();
        goro::go!(move || {
            for i in 0..5 {
                plog(format!("Sending: {i}\n"));
                tx.send(i).unwrap();
            }
            plog("Producer Done.\n".to_string());
            // `tx` drops after this line: the channel closes.
        });
        for integer in &int_stream {
            log(format!("Received {integer}.\n"));
        }
        assert_eq!(int_stream.cap(), 4);
    });
    let out = out.lock().unwrap();
    print!("{out}");
    assert_eq!(out.matches("Received").count(), 5);
    assert!(out.contains("Producer Done."));
}
