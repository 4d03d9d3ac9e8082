//! Go's `net` package for coroutines: sockets that park the calling
//! coroutine — not its worker thread — while they are not ready.
//!
//! Every type wraps a non-blocking mio socket registered with the runtime's
//! single netpoller (a scheduler driver: `sched/netpoll.rs`). An operation tries the system call; on
//! `WouldBlock` it parks until the poller reports readiness, then tries
//! again (`source.rs`). From a plain OS thread the same calls block the
//! thread. Errors surface as `io::Error`: a reset peer, `TimedOut` for a
//! deadline, `EMFILE` from `accept` when the file descriptor table is full
//! (the listener keeps working).
//!
//! | type | file | what |
//! |------|------|------|
//! | [`TcpListener`], [`TcpStream`] | `tcp.rs` | TCP server and connection |
//! | [`UdpSocket`] | `udp.rs` | UDP datagrams (`send_to`/`recv_from`, connected `send`/`recv`) |
//! | [`UnixListener`], [`UnixStream`] | `unix.rs` | Unix domain stream sockets (paths and `pair`) |
//!
//! Connections and UDP sockets are shared handles: `try_clone` returns
//! another handle to the same registered socket, and timeouts are shared.

mod source;
mod tcp;
mod udp;
mod unix;

pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};
