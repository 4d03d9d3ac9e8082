//! Receiving from async code: [`Receiver::recv_async`] returns a
//! [`RecvFuture`], which waits in the channel's receiver list like a
//! blocking receive, but with the async task's `Waker` in place of a parked
//! coroutine or thread.
//!
//! # How it waits
//!
//! A poll first tries to receive ([`SelectHandle::try_select`]). If nothing
//! is there, it registers an entry — the same kind a `select!` case uses,
//! with its context, in a heap box so that it stays put however the future
//! moves — and returns `Pending`. The entry's unparker is a [`Relay`]: a
//! waker that wakes the task's latest waker (replaced at every poll, so no
//! re-registration is needed when the task moves) and, while a poll is
//! inside a handoff, the polling party too. The entry is built with that
//! unparker lent through `waiter::with_lent`, which `Entry::new` consults,
//! so the channel code itself is shared with `select!`.
//!
//! # Rules (cited by `// SAFETY:` comments)
//!
//! 1. **Registered entries stay put.** The box holding the context and the
//!    entry is freed only after the entry was unregistered or claimed (the
//!    claimer unlinks it first), in a poll or in `Drop`. A leaked future
//!    leaks the box too, so a linked entry never dangles.
//! 2. **A claim is always honoured.** If a sender claimed the entry (its
//!    value is on the way, on a rendezvous channel), the future completes
//!    the receive: in the next poll, or in `Drop`, which drops the value
//!    (as an abandoned `select!` receive case does). On a buffered channel a
//!    claim is only a wake-up; a future dropped after one passes it on to
//!    the next waiting receiver, so no message waits with a receiver asleep.
//! 3. **Handoff waits reach the poller.** Completing a rendezvous claim may
//!    wait for the sender to finish writing; the sender wakes the entry's
//!    unparker (the relay), which then also wakes the poller stored in it.
//!
//! # Alternatives rejected
//!
//! * *A `Stream` behind a `futures` feature*: it would add a dependency for
//!   one trait; `recv_async` in a loop does the same, and
//!   `futures::stream::unfold` adapts it.
//! * *A helper thread or coroutine doing a blocking `recv` for the future*:
//!   it would take a message out of the channel even if the future is then
//!   dropped, losing it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use crate::Receiver;
use crate::context::{ABORTED, Context, Entry, FIRST_OPER, WAITING};
use crate::select::{SelectHandle, Token};
use crate::waiter::{self, Unparker};

/// The entry's unparker: wakes the task's latest waker and, during a
/// handoff, the polling party (rule 3).
#[derive(Default)]
struct Relay {
    task: Mutex<Option<Waker>>,
    poller: Mutex<Option<Unparker>>,
}

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let task = lock(&self.task).clone();
        if let Some(w) = task {
            w.wake();
        }
        let poller = lock(&self.poller).clone();
        if let Some(u) = poller {
            u.unpark();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Held only for a clone or a store: poisoning cannot leave it torn.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A registration: heap-allocated so it stays put (rule 1).
struct Registration {
    cx: Context,
    entry: Option<Entry>,
}

/// The future returned by [`Receiver::recv_async`]: resolves to
/// `Some(value)`, or `None` once the channel is closed and drained. It
/// panics if polled again after that.
///
/// Dropping it before it completes withdraws it; a message is lost only if
/// a rendezvous sender had already handed it this future's way (the send
/// completed, as with a `select!` receive case that was chosen and then
/// abandoned).
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    rx: &'a Receiver<T>,
    relay: Option<Arc<Relay>>,
    unparker: Option<Unparker>,
    reg: Option<Box<Registration>>,
    done: bool,
}

// SAFETY: the registration's raw pointers point into its own box, which
// moves with the future; linked entries are touched by other parties only
// under the channel's locks (context rule 1), and everything else is
// `Send` when `T` is.
unsafe impl<T: Send> Send for RecvFuture<'_, T> {}

impl<T> Receiver<T> {
    /// Receives a value from async code: the future resolves to
    /// `Some(value)`, or to `None` once the channel is closed and drained,
    /// without blocking the executor's thread while it waits. Works with any
    /// executor (it only uses the task's `Waker`), and with
    /// [`goro::block_on`](https://docs.rs/goro) on a coroutine.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let (tx, rx) = goro_chan::chan::<u32>(1);
    /// let mut fut = Box::pin(rx.recv_async());
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(fut.as_mut().poll(&mut cx).is_pending());
    /// tx.send(7).unwrap();
    /// assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(Some(7)));
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture {
            rx: self,
            relay: None,
            unparker: None,
            reg: None,
            done: false,
        }
    }
}

impl<T> RecvFuture<'_, T> {
    /// Finishes a registration whose context left `WAITING`: `Some` if it
    /// produced the receive's outcome, `None` to try again. Afterwards the
    /// entry is unlinked and the box may be freed (rule 1).
    fn resolve(&mut self, reg: &mut Registration, state: usize) -> Option<Option<T>> {
        let mut entry = reg.entry.take().expect("a registration has its entry");
        if state != FIRST_OPER {
            // Aborted by us or disconnected: not claimed for its operation.
            // SAFETY: registered once by this future, not claimed (rule 1).
            unsafe { self.rx.unregister(&mut entry) };
            return None;
        }
        let mut token = Token::default();
        // SAFETY: registered once and claimed for its operation; the
        // claimer unlinked it. Rule 3: the poller is reachable meanwhile.
        let accepted = self.handoff(|rx| unsafe { rx.accept(&mut token, &mut entry) });
        if accepted {
            Some(self.handoff(|rx| rx.complete_recv(&mut token)))
        } else {
            None
        }
    }

    /// Runs `f` with the polling party reachable through the relay (rule 3).
    fn handoff<R>(&self, f: impl FnOnce(&Receiver<T>) -> R) -> R {
        let relay = self.relay.as_ref().expect("relay set before registering");
        *lock(&relay.poller) = Some(waiter::current());
        let r = f(self.rx);
        *lock(&relay.poller) = None;
        r
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        assert!(!this.done, "RecvFuture polled after it returned Ready");
        let out = this.poll_inner(task);
        this.done = out.is_ready();
        out
    }
}

impl<T> RecvFuture<'_, T> {
    fn poll_inner(&mut self, task: &mut TaskContext<'_>) -> Poll<Option<T>> {
        let this = self;
        if let Some(relay) = &this.relay {
            let mut w = lock(&relay.task);
            if !w.as_ref().is_some_and(|w| w.will_wake(task.waker())) {
                *w = Some(task.waker().clone());
            }
        }
        if let Some(mut reg) = this.reg.take() {
            match reg.cx.state() {
                WAITING => {
                    // Still listed: whoever makes the channel ready claims
                    // the entry and wakes the relay.
                    this.reg = Some(reg);
                    return Poll::Pending;
                }
                state => {
                    if let Some(out) = this.resolve(&mut reg, state) {
                        return Poll::Ready(out);
                    }
                }
            }
        }
        loop {
            let mut token = Token::default();
            if this.rx.try_select(&mut token) {
                return Poll::Ready(this.rx.complete_recv(&mut token));
            }
            let relay = this
                .relay
                .get_or_insert_with(|| {
                    Arc::new(Relay {
                        task: Mutex::new(Some(task.waker().clone())),
                        poller: Mutex::new(None),
                    })
                })
                .clone();
            let unparker = this
                .unparker
                .get_or_insert_with(|| Unparker::from_waker(Waker::from(relay)));
            let mut reg = Box::new(Registration {
                cx: Context::new(),
                entry: None,
            });
            let reg_ref = &mut *reg;
            // SAFETY: the entry lives in the box, which stays put until it
            // is unregistered or claimed (rule 1).
            let ready = waiter::with_lent(unparker, || unsafe {
                this.rx
                    .register(FIRST_OPER, &reg_ref.cx, &mut reg_ref.entry)
            });
            if !ready {
                this.reg = Some(reg);
                return Poll::Pending;
            }
            // Ready while registering: withdraw, unless a claim beat us.
            let state = match reg.cx.try_claim(ABORTED) {
                Ok(()) => ABORTED,
                Err(s) => s,
            };
            if let Some(out) = this.resolve(&mut reg, state) {
                return Poll::Ready(out);
            }
        }
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        let Some(mut reg) = self.reg.take() else {
            return;
        };
        let state = match reg.cx.try_claim(ABORTED) {
            Ok(()) => ABORTED,
            Err(s) => s,
        };
        // Rule 2, buffered: the claim was a wake-up; pass it on (the
        // claimer unlinked the entry, so the box may go).
        if state == FIRST_OPER && self.rx.pass_on_wakeup() {
            return;
        }
        // Rule 2, rendezvous: take the value the sender committed, and drop it.
        drop(self.resolve(&mut reg, state));
    }
}

impl<T> std::fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvFuture")
            .field("registered", &self.reg.is_some())
            .finish_non_exhaustive()
    }
}
