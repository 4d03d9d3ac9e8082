//! *Concurrency in Go*, chapter 4, "The context Package", first version:
//! a greeting and a farewell printed concurrently, cancelled through a
//! `done` channel.
//!
//! The Go original (abridged):
//!
//! ```go
//! var wg sync.WaitGroup
//! done := make(chan interface{})
//! defer close(done)
//! wg.Add(1)
//! go func() {
//!     defer wg.Done()
//!     if err := printGreeting(done); err != nil {
//!         fmt.Printf("%v", err)
//!         return
//!     }
//! }()
//! wg.Add(1)
//! go func() {
//!     defer wg.Done()
//!     if err := printFarewell(done); err != nil {
//!         fmt.Printf("%v", err)
//!         return
//!     }
//! }()
//! wg.Wait()
//!
//! func locale(done <-chan interface{}) (string, error) {
//!     select {
//!     case <-done:
//!         return "", fmt.Errorf("canceled")
//!     case <-time.After(1 * time.Minute):
//!     }
//!     return "EN/US", nil
//! }
//! ```
//!
//! (`printGreeting` calls `genGreeting`, which asks `locale` and returns
//! "hello" for EN/US; the farewell side says "goodbye".) Both lines print
//! after the locale lookup; a closed `done` would cancel both. What the
//! done channel cannot say is "give up on the greeting after one second,
//! and then cancel the farewell too" — `examples/ch4_context_greeting.rs`
//! does that with `goro::context`. The minute is 200 ms here.

use std::time::Duration;

use goro::chan::{Receiver, chan};
use goro::select;
use goro::sync::WaitGroup;

const LOCALE_LOOKUP: Duration = Duration::from_millis(200);

#[derive(Debug)]
struct Canceled;

impl std::fmt::Display for Canceled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("canceled")
    }
}

fn locale(done: &Receiver<()>) -> Result<&'static str, Canceled> {
    select! {
        recv(done) -> _ => return Err(Canceled),
        recv(goro::time::after(LOCALE_LOOKUP)) -> _ => {}
    }
    Ok("EN/US")
}

fn gen_word(done: &Receiver<()>, word: &'static str) -> Result<&'static str, String> {
    match locale(done).map_err(|e| e.to_string())? {
        "EN/US" => Ok(word),
        other => Err(format!("unsupported locale {other}")),
    }
}

/// Prints the greeting and the farewell concurrently; closes `done` first
/// if `cancel` is set.
fn greet(cancel: bool) {
    let (done_tx, done) = chan::<()>(0);
    let wg = WaitGroup::new();
    for word in ["hello", "goodbye"] {
        let done = done.clone();
        wg.go(move || match gen_word(&done, word) {
            Ok(w) => println!("{w} world!"),
            Err(e) => println!("cannot print {word}: {e}"),
        });
    }
    if cancel {
        done_tx.close(); // closing `done` ends both lookups at once
    }
    wg.wait();
    drop(done_tx); // defer close(done)
}

fn main() {
    goro::run(|| {
        greet(false);
        greet(true);
    });
}
