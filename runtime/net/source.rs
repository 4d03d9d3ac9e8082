//! A mio socket registered with the netpoller, and the one loop every
//! blocking socket operation runs: try the system call; on `WouldBlock`,
//! park until the poller reports readiness; try again.
//!
//! The loop never checks readiness and then parks: the readiness word is
//! read *before* the system call, cleared after `WouldBlock` only if no event
//! arrived in between (`IoState::clear`), and the waiter is listed from the
//! park's validate callback, which re-checks readiness under the waiter-list
//! lock that the poller takes to wake it. From a plain thread the same park
//! blocks the thread, and the poller's wake-up unparks it.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use goro_chan::waiter;

use crate::sched::netpoll::{Dir, IoState};

/// `S` registered with the runtime's poller; deregistered on drop.
pub(crate) struct Registered<S: mio::event::Source> {
    io: S,
    state: Arc<IoState>,
}

impl<S: mio::event::Source> Registered<S> {
    /// Registers `io` (starting the runtime and its poller if needed).
    pub(crate) fn new(mut io: S) -> io::Result<Self> {
        let state = crate::sched::rt().poller()?.register(&mut io)?;
        Ok(Registered { io, state })
    }

    /// The socket itself, for non-blocking calls that need no waiting.
    pub(crate) fn io(&self) -> &S {
        &self.io
    }

    /// Runs `op` until it does not return `WouldBlock`, parking on `dir`
    /// readiness in between, until `deadline` (then `TimedOut`).
    pub(crate) fn op<R>(
        &self,
        dir: Dir,
        reason: &'static str,
        deadline: Option<Instant>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let seen = self.state.snapshot();
            if IoState::is_shutdown(seen) {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "goro: the socket was closed while an operation waited on it",
                ));
            }
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !self.state.clear(seen, dir) {
                        continue; // an event arrived meanwhile: retry now
                    }
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(timed_out());
                    }
                    let me = waiter::current();
                    // With a deadline, keep a handle to withdraw the entry if
                    // the wait times out (else it lingers until the next event).
                    let withdraw = deadline.map(|_| me.clone());
                    let state = &*self.state;
                    waiter::park(reason, deadline, || state.wait(dir, me));
                    if let (Some(me), Some(d)) = (withdraw, deadline)
                        && Instant::now() >= d
                    {
                        state.unwait(dir, &me);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }
}

impl<S: mio::event::Source> Drop for Registered<S> {
    fn drop(&mut self) {
        if let Some(p) = crate::sched::rt().poller_if_started() {
            p.deregister(&mut self.io, &self.state);
        }
    }
}

/// The error a deadline produces.
pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "goro: I/O deadline exceeded")
}

/// Per-socket read and write timeouts, shared by every handle (std's
/// `set_read_timeout` / `set_write_timeout`). Stored as nanoseconds, 0 =
/// none; a zero duration is rejected, as in std.
#[derive(Default)]
pub(crate) struct Timeouts {
    read: AtomicU64,
    write: AtomicU64,
}

impl Timeouts {
    fn slot(&self, dir: Dir) -> &AtomicU64 {
        match dir {
            Dir::Read => &self.read,
            Dir::Write => &self.write,
        }
    }

    /// Sets `dir`'s timeout (`None`: wait forever).
    pub(crate) fn set(&self, dir: Dir, d: Option<Duration>) -> io::Result<()> {
        let n = match d {
            None => 0,
            Some(d) if d.is_zero() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a zero timeout is not allowed (as in std)",
                ));
            }
            Some(d) => d.as_nanos().min(u64::MAX as u128) as u64,
        };
        self.slot(dir).store(n, Ordering::Relaxed);
        Ok(())
    }

    /// `dir`'s timeout.
    pub(crate) fn get(&self, dir: Dir) -> Option<Duration> {
        let n = self.slot(dir).load(Ordering::Relaxed);
        (n != 0).then(|| Duration::from_nanos(n))
    }

    /// The deadline of an operation in `dir` that starts now.
    pub(crate) fn deadline(&self, dir: Dir) -> Option<Instant> {
        self.get(dir).and_then(|d| Instant::now().checked_add(d))
    }
}

/// `Read` and `Write` for a stream type and for a shared reference to it
/// (as std does for `TcpStream`), given inherent `read_until` /
/// `write_until` and `inner.io` / `inner.timeouts` fields: every call
/// waits at most the timeout set with `set_read_timeout` /
/// `set_write_timeout`. `flush` has nothing to do (no user-space buffer).
macro_rules! stream_io {
    ($t:ty) => {
        impl std::io::Read for &$t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.read_until(buf, self.inner.timeouts.deadline(Dir::Read))
            }
            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                let d = self.inner.timeouts.deadline(Dir::Read);
                self.inner.io.op(Dir::Read, "IO wait (read)", d, |mut s| {
                    std::io::Read::read_vectored(&mut s, bufs)
                })
            }
        }

        impl std::io::Write for &$t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.write_until(buf, self.inner.timeouts.deadline(Dir::Write))
            }
            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                let d = self.inner.timeouts.deadline(Dir::Write);
                self.inner.io.op(Dir::Write, "IO wait (write)", d, |mut s| {
                    std::io::Write::write_vectored(&mut s, bufs)
                })
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl std::io::Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut &*self, buf)
            }
            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                std::io::Read::read_vectored(&mut &*self, bufs)
            }
        }

        impl std::io::Write for $t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::io::Write::write(&mut &*self, buf)
            }
            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                std::io::Write::write_vectored(&mut &*self, bufs)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}
pub(crate) use stream_io;
