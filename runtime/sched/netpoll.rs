//! The netpoller, a scheduler driver: one `mio::Poll` for the whole runtime,
//! so that a coroutine blocked on I/O frees its worker thread. The sockets
//! built on it are in `net/`.
//!
//! # Who polls
//!
//! * The idle worker that holds the *timer sleeper* role (`sched/timers.rs`)
//!   blocks in [`Poller::poll`] with the time to the next timer as its
//!   timeout, instead of parking on a futex. At most one worker is ever
//!   blocked there (the poll lock), and it is woken by a `mio::Waker` when
//!   work or an earlier timer arrives (`Slot::unpark`).
//! * Busy workers poll without blocking every 61 scheduling ticks and before
//!   going idle, so readiness is not starved while everyone is busy.
//!
//! # Registrations
//!
//! A registered socket has an [`IoState`]: a readiness word and two wait
//! lists (readers, writers). Tokens index a slab of `Arc<IoState>` and carry
//! a generation, so an event still in flight for a deregistered socket whose
//! slot was reused is recognised and dropped. Event delivery ORs readiness
//! bits into the word and bumps its event sequence, then wakes the waiters
//! of the directions that became ready (many at once: they are scheduled on
//! the polling worker and spread by stealing).
//!
//! Alternatives rejected: a dedicated poller thread (an extra thread and a
//! hand-off per event; Go also polls from idle Ms); a poll per worker (every
//! socket would have to pick a worker, and idle workers would all block in
//! the kernel).

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use goro_chan::waiter::Unparker;
use mio::{Events, Interest, Poll, Registry, Token, Waker};

/// Readable (or a connection to accept).
pub(crate) const READABLE: u64 = 1;
/// Writable (or a connect finished).
pub(crate) const WRITABLE: u64 = 2;
/// The peer closed its side (read returns EOF).
pub(crate) const READ_CLOSED: u64 = 4;
/// Writes will fail.
pub(crate) const WRITE_CLOSED: u64 = 8;
/// An error is pending on the socket.
pub(crate) const ERROR: u64 = 16;
/// The socket was deregistered (dropped): waiters get an error.
pub(crate) const SHUTDOWN: u64 = 32;
const BITS: u64 = 0xffff;
const SEQ_ONE: u64 = 1 << 16;

const WAKE_TOKEN: Token = Token(usize::MAX);

/// Which half of a socket an operation waits on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Dir {
    Read,
    Write,
}

impl Dir {
    /// The readiness bits that let an operation in this direction retry.
    fn ready_mask(self) -> u64 {
        match self {
            Dir::Read => READABLE | READ_CLOSED | ERROR | SHUTDOWN,
            Dir::Write => WRITABLE | WRITE_CLOSED | ERROR | SHUTDOWN,
        }
    }
    fn clear_mask(self) -> u64 {
        match self {
            Dir::Read => READABLE,
            Dir::Write => WRITABLE,
        }
    }
}

/// Readiness and waiters of one registered socket.
pub(crate) struct IoState {
    /// `seq << 16 | bits`: every event bumps `seq`, so clearing readiness
    /// after a `WouldBlock` can tell whether an event arrived meanwhile.
    readiness: AtomicU64,
    readers: Mutex<Waiting>,
    writers: Mutex<Waiting>,
    token: Token,
}

/// The parties waiting on one direction. Almost always one, so it lives
/// inline; more go to a vector whose capacity is kept across wake-ups (no
/// allocation per event).
#[derive(Default)]
struct Waiting {
    first: Option<Unparker>,
    rest: Vec<Unparker>,
}

/// Parties in some socket's wait lists (`goro::metrics()`, deadlock check).
pub(crate) static IO_WAITERS: AtomicUsize = AtomicUsize::new(0);

impl Waiting {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn push(&mut self, u: Unparker) {
        IO_WAITERS.fetch_add(1, Ordering::SeqCst);
        if self.first.is_none() {
            self.first = Some(u);
        } else {
            self.rest.push(u);
        }
    }
}

impl IoState {
    /// The readiness word, for a later [`IoState::clear`].
    pub(crate) fn snapshot(&self) -> u64 {
        self.readiness.load(Ordering::Acquire)
    }

    /// Whether the socket was deregistered.
    pub(crate) fn is_shutdown(word: u64) -> bool {
        word & SHUTDOWN != 0
    }

    /// After a `WouldBlock` observed with readiness `seen`: clears `dir`'s
    /// readiness unless an event arrived since `seen`. Returns `false` in
    /// that case (retry the operation at once).
    pub(crate) fn clear(&self, seen: u64, dir: Dir) -> bool {
        let want = seen & !dir.clear_mask();
        want == seen
            || self
                .readiness
                .compare_exchange(seen, want, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    fn waiters(&self, dir: Dir) -> MutexGuard<'_, Waiting> {
        match dir {
            Dir::Read => &self.readers,
            Dir::Write => &self.writers,
        }
        .lock()
        .unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `me` to be woken when `dir` becomes ready. Returns `false`
    /// (and registers nothing) if it already is. Runs inside a park's
    /// validate callback: the lock is taken and released there.
    pub(crate) fn wait(&self, dir: Dir, me: Unparker) -> bool {
        let mut w = self.waiters(dir);
        if self.readiness.load(Ordering::Acquire) & dir.ready_mask() != 0 {
            return false;
        }
        w.push(me);
        true
    }

    /// Withdraws `me` from `dir`'s waiters (after a timed-out wait, so that
    /// repeated timeouts on a quiet socket do not pile up entries).
    pub(crate) fn unwait(&self, dir: Dir, me: &Unparker) {
        let mut w = self.waiters(dir);
        let before = w.len();
        if w.first.as_ref().is_some_and(|u| u.same_party(me)) {
            w.first = None;
            if !w.rest.is_empty() {
                let u = w.rest.swap_remove(0);
                w.first = Some(u);
            }
        }
        w.rest.retain(|u| !u.same_party(me));
        IO_WAITERS.fetch_sub(before - w.len(), Ordering::SeqCst);
    }

    /// Sets readiness `bits` (bumping the sequence) and wakes the waiters of
    /// every direction that became ready.
    pub(crate) fn set(&self, bits: u64) {
        let mut cur = self.readiness.load(Ordering::Relaxed);
        loop {
            let next = ((cur & !BITS).wrapping_add(SEQ_ONE)) | (cur & BITS) | bits;
            match self.readiness.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(c) => cur = c,
            }
        }
        for dir in [Dir::Read, Dir::Write] {
            if bits & dir.ready_mask() != 0 {
                let mut w = self.waiters(dir);
                IO_WAITERS.fetch_sub(w.len(), Ordering::SeqCst);
                let first = w.first.take();
                if w.rest.is_empty() {
                    drop(w);
                    if let Some(u) = first {
                        u.unpark_into();
                    }
                } else {
                    // Several waiters (shared handles): wake them all; the
                    // lock is held only to move them out.
                    let rest: Vec<Unparker> = w.rest.drain(..).collect();
                    drop(w);
                    for u in first.into_iter().chain(rest) {
                        u.unpark_into();
                    }
                }
            }
        }
    }
}

/// Token → state, with generations so stale events are dropped.
#[derive(Default)]
struct Slab {
    slots: Vec<(u32, Option<Arc<IoState>>)>,
    free: Vec<usize>,
}

impl Slab {
    fn insert(&mut self, make: impl FnOnce(Token) -> Arc<IoState>) -> Arc<IoState> {
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push((0, None));
            self.slots.len() - 1
        });
        let gen_ = self.slots[index].0;
        let st = make(Token(index | (gen_ as usize) << 32));
        self.slots[index].1 = Some(st.clone());
        st
    }

    fn get(&self, t: Token) -> Option<&Arc<IoState>> {
        let (index, gen_) = (t.0 & 0xffff_ffff, (t.0 >> 32) as u32);
        match self.slots.get(index) {
            Some((g, Some(st))) if *g == gen_ => Some(st),
            _ => None,
        }
    }

    fn remove(&mut self, t: Token) {
        let index = t.0 & 0xffff_ffff;
        if let Some(slot) = self.slots.get_mut(index)
            && slot.1.take().is_some()
        {
            slot.0 = slot.0.wrapping_add(1);
            self.free.push(index);
        }
    }
}

/// The runtime's poller. See the module docs.
/// What the polling worker owns while it polls.
struct PollState {
    poll: Poll,
    events: Events,
    /// Reused between polls: the states to wake and their new bits.
    ready: Vec<(Arc<IoState>, u64)>,
}

pub(crate) struct Poller {
    poll: Mutex<PollState>,
    registry: Registry,
    waker: Waker,
    sources: Mutex<Slab>,
    /// Events delivered so far (tests and stats).
    pub(crate) delivered: AtomicU64,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(Poller {
            poll: Mutex::new(PollState {
                poll,
                events: Events::with_capacity(1024),
                ready: Vec::with_capacity(64),
            }),
            registry,
            waker,
            sources: Mutex::new(Slab::default()),
            delivered: AtomicU64::new(0),
        })
    }

    /// Registers `source` for both directions (edge-triggered).
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
    ) -> io::Result<Arc<IoState>> {
        let mut slab = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let st = slab.insert(|token| {
            Arc::new(IoState {
                readiness: AtomicU64::new(0),
                readers: Mutex::new(Waiting::default()),
                writers: Mutex::new(Waiting::default()),
                token,
            })
        });
        if let Err(e) =
            self.registry
                .register(source, st.token, Interest::READABLE | Interest::WRITABLE)
        {
            slab.remove(st.token);
            return Err(e);
        }
        Ok(st)
    }

    /// Deregisters `source` and wakes anyone still waiting on it with an
    /// error (`SHUTDOWN`).
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source, st: &IoState) {
        let _ = self.registry.deregister(source);
        self.sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(st.token);
        st.set(SHUTDOWN);
    }

    /// Interrupts a blocking [`Poller::poll`].
    pub(crate) fn wake(&self) {
        let _ = self.waker.wake();
    }

    /// Polls once, blocking up to `timeout` (`Some(ZERO)`: not at all),
    /// and delivers the events. Returns `None` if another worker is polling.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> Option<usize> {
        let mut g = match self.poll.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::WouldBlock) => return None,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        };
        let PollState {
            poll,
            events,
            ready,
        } = &mut *g;
        if let Err(e) = poll.poll(events, timeout)
            && e.kind() != io::ErrorKind::Interrupted
        {
            report!("goro: netpoller: epoll_wait failed: {e}");
        }
        let slab = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        for ev in events.iter() {
            if ev.token() == WAKE_TOKEN {
                continue;
            }
            let Some(st) = slab.get(ev.token()) else {
                continue;
            };
            let mut bits = 0;
            if ev.is_readable() {
                bits |= READABLE;
            }
            if ev.is_writable() {
                bits |= WRITABLE;
            }
            if ev.is_read_closed() {
                bits |= READ_CLOSED | READABLE;
            }
            if ev.is_write_closed() {
                bits |= WRITE_CLOSED | WRITABLE;
            }
            if ev.is_error() {
                bits |= ERROR | READABLE | WRITABLE;
            }
            ready.push((st.clone(), bits));
        }
        drop(slab);
        let n = ready.len();
        self.delivered.fetch_add(n as u64, Ordering::Relaxed);
        // Wake with the poll lock still held (nobody takes it while holding
        // a waiter lock), so `ready` keeps its allocation for the next poll.
        for (st, bits) in ready.drain(..) {
            st.set(bits);
        }
        Some(n)
    }
}
