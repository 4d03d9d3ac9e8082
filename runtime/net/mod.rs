//! Go's `net` package for coroutines: sockets that park the calling
//! coroutine — not its worker thread — while they are not ready.
//!
//! Every type wraps a non-blocking mio socket registered with the runtime's
//! single netpoller (`poller.rs`). An operation tries the system call; on
//! `WouldBlock` it parks until the poller reports readiness, then tries
//! again (`source.rs`). From a plain OS thread the same calls block the
//! thread. Errors surface as `io::Error`: a reset peer, `TimedOut` for a
//! deadline, `EMFILE` from `accept` when the file descriptor table is full
//! (the listener keeps working).

mod poller;
mod source;
mod tcp;

pub(crate) use poller::Poller;
pub use tcp::{Incoming, TcpListener, TcpStream};
