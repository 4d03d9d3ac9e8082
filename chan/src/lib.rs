//! goro-chan: Go-semantics channels and `select!`, independent of any
//! particular runtime.
//!
//! ```
//! use goro_chan::{chan, select};
//!
//! let (tx, rx) = chan::<u32>(0);          // unbuffered: a rendezvous
//! let producer = std::thread::spawn(move || {
//!     for i in 0..3 {
//!         tx.send(i).unwrap();
//!     }
//!     // dropping the last sender closes the channel
//! });
//! let got: Vec<u32> = rx.iter().collect(); // ends at close
//! assert_eq!(got, vec![0, 1, 2]);
//! producer.join().unwrap();
//! ```
//!
//! Everything here blocks through [`waiter`], a small hook with an OS-thread
//! default; the goro runtime installs a coroutine implementation so that a
//! blocked coroutine frees its worker thread. The crate contains no
//! assembly, no context switching and no I/O, so it can be tested with plain
//! threads and model-checked with loom.
//!
//! # Layout
//!
//! | module | holds |
//! |--------|-------|
//! | `channel` | `Sender`, `Receiver`, `chan()`, `never()`, iterators |
//! | `array` | the buffered flavor (lock-free ring) |
//! | `zero` | the unbuffered flavor (rendezvous with direct handoff) |
//! | `context` | waiting parties, their claim word, wait lists |
//! | `select` | the claim/complete protocol, the select engine, `Select` |
//! | `select_handles` | `Sender` / `Receiver` as select cases, per flavor |
//! | `macros` | `select!` |
//! | [`waiter`] | park / unpark hook |
//!
//! Semantics follow Go: a receive on a closed, drained channel returns
//! `None` at once; a send on a closed channel fails and returns the value
//! (`SendError(v)`: nothing is lost); closing wakes every blocked party.
//! Where Go panics (closing twice) goro returns `false`.

#![warn(missing_docs)]

mod array;
mod channel;
mod context;
mod counter;
mod error;
mod future;
mod iter;
mod lock;
mod loom;
#[cfg(all(test, loom))]
mod loom_models;
mod macros;
mod select;
mod select_handles;
mod sleepers;
pub mod waiter;
mod zero;

pub use channel::{Receiver, Sender, chan, never, never_sender};
pub use error::{
    RecvTimeoutError, SelectTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySelectError, TrySendError,
};
pub use future::RecvFuture;
pub use iter::{IntoIter, Iter, TryIter};
pub use select::{Select, SelectedOperation};

/// Items the `select!` macro expands to. Not a stable API.
#[doc(hidden)]
pub mod internal {
    pub use crate::select::{Case, SelectedOperation, Timeout, Token, select};
}
