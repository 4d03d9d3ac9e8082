//! Join handles and the panic a coroutine ended with.
//!
//! [`JoinHandle::join`] parks the caller (coroutine or thread) until the
//! coroutine completes, using the join bits documented in `g/mod.rs`:
//! the joiner stores its unparker in the header, then sets `JOIN_WAKER`
//! unless `COMPLETE` is already set; the completer wakes it if it finds
//! `JOIN_WAKER`. Dropping the handle detaches the coroutine (it keeps
//! running, Go style); a panic nobody will join is printed on stderr.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use goro_chan::waiter::{self, Unparker};

use super::{
    COMPLETE, Coroutine, DETACHED, GRef, Header, JOIN_WAKER, PANICKED, TAKEN, dec_ref, inc_ref,
    payload_message,
};

/// An owned permission to wait for a coroutine and take its result.
///
/// Returned by [`go!`](crate::go), [`crate::spawn`] and
/// [`crate::Builder::spawn`]. Dropping it detaches the coroutine: it keeps
/// running, and if it panics the panic is reported on stderr.
///
/// ```
/// goro::run(|| {
///     let h = goro::go!(|| 6 * 7);
///     assert_eq!(h.join().unwrap(), 42);
///
///     let bad = goro::go!(|| -> u32 { panic!("boom") });
///     let err = bad.join().unwrap_err();
///     assert_eq!(err.message(), Some("boom"));
/// });
/// ```
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    _t: PhantomData<T>,
}

// SAFETY: the handle is a counted pointer to a `Sync` header; the only `T`
// it ever produces was made on another thread and moved here, hence `T: Send`.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only reads atomics and immutable header fields.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn from_raw(raw: NonNull<Header>) -> Self {
        JoinHandle {
            raw,
            _t: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle owns a reference.
        unsafe { self.raw.as_ref() }
    }

    /// Waits for the coroutine to finish and returns its result, or the
    /// [`Panic`] it ended with. Parks the calling coroutine (or blocks the
    /// calling thread).
    pub fn join(self) -> Result<T, Panic> {
        let h = self.header();
        if h.join.load(Ordering::Acquire) & COMPLETE == 0 {
            let mut me = Some(waiter::current());
            loop {
                if h.join.load(Ordering::Acquire) & COMPLETE != 0 {
                    break;
                }
                waiter::park("join", None, || match me.take() {
                    Some(u) => self.register(u),
                    None => h.join.load(Ordering::Acquire) & COMPLETE == 0,
                });
            }
        }
        let out = self.take_output();
        let raw = self.raw;
        std::mem::forget(self);
        dec_ref(raw);
        out
    }

    /// Stores `u` as the joiner's waker (replacing one an earlier poll
    /// stored) and sets `JOIN_WAKER`. Returns `false` if the coroutine has
    /// completed (then `u` may never be woken).
    ///
    /// Join-bit rule, extended for re-registration: the slot is the
    /// joiner's while `JOIN_WAKER` is clear; clearing it again gives the
    /// slot back only if `COMPLETE` was not set yet (otherwise the completer
    /// may be reading it, and the joiner must not touch it).
    fn register(&self, u: Unparker) -> bool {
        let h = self.header();
        if h.join.load(Ordering::Acquire) & JOIN_WAKER != 0 {
            let prev = h.join.fetch_and(!JOIN_WAKER, Ordering::AcqRel);
            if prev & COMPLETE != 0 {
                return false;
            }
        }
        // SAFETY: join-bit rule: JOIN_WAKER is clear and was cleared (or
        // never set) before COMPLETE, so the completer will not read the
        // slot until we set the bit again; the handle is unique.
        unsafe { *h.join_waker.get() = Some(u) };
        let prev = h.join.fetch_or(JOIN_WAKER, Ordering::AcqRel);
        prev & COMPLETE == 0
    }

    /// Takes the output after `COMPLETE` was observed, and marks it
    /// consumed so that dropping the handle reports nothing.
    fn take_output(&self) -> Result<T, Panic> {
        let h = self.header();
        let mut out: Option<Result<T, Panic>> = None;
        // SAFETY: COMPLETE observed with acquire (callers check it); we are
        // the handle.
        unsafe { (h.vtable.read)(self.raw, &mut out as *mut _ as *mut ()) };
        h.join.fetch_or(DETACHED | TAKEN, Ordering::AcqRel);
        out.expect("JoinHandle polled after it returned Ready")
    }

    /// Whether the coroutine has finished (its result is ready).
    pub fn is_finished(&self) -> bool {
        self.header().join.load(Ordering::Acquire) & COMPLETE != 0
    }

    /// The coroutine's id.
    pub fn id(&self) -> u64 {
        self.header().id
    }

    /// A handle for introspection (id, name).
    pub fn coroutine(&self) -> Coroutine {
        inc_ref(self.raw);
        // SAFETY: the reference just taken belongs to the new GRef.
        Coroutine::new(unsafe { GRef::from_raw(self.raw) })
    }

    /// "17 (name) spawned at src/main.rs:3:5", as in [`Panic`]'s message.
    pub(crate) fn describe(&self) -> String {
        super::describe(self.header())
    }
}

// The handle holds no pinned state: polling moves nothing.
impl<T> Unpin for JoinHandle<T> {}

/// An async task can await a coroutine: the future resolves to what
/// [`join`](JoinHandle::join) would return, without blocking the executor's
/// thread (the coroutine's completion wakes the task's waker).
///
/// # Panics
///
/// If polled again after it returned `Ready`.
///
/// ```
/// // Any executor works; here goro's own `block_on`.
/// let h = goro::go!(|| 6 * 7);
/// assert_eq!(goro::block_on(async { h.await.unwrap() }), 42);
/// ```
impl<T> Future for JoinHandle<T> {
    type Output = Result<T, Panic>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &*self;
        let h = this.header();
        if h.join.load(Ordering::Acquire) & COMPLETE == 0 {
            let registered = this.register(Unparker::from_waker(cx.waker().clone()));
            if registered {
                return Poll::Pending;
            }
        }
        Poll::Ready(this.take_output())
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let h = self.header();
        let prev = h.join.fetch_or(DETACHED, Ordering::AcqRel);
        if prev & (COMPLETE | PANICKED | TAKEN) == COMPLETE | PANICKED {
            // SAFETY: COMPLETE observed (acquire); the output stays in place.
            let msg = unsafe { (h.vtable.panic_message)(self.raw) };
            super::report_unjoined(h, &msg);
        }
        dec_ref(self.raw);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// The panic a coroutine ended with, as returned by [`JoinHandle::join`].
///
/// ```
/// goro::run(|| {
///     let p = goro::go!(|| panic!("disk full")).join().unwrap_err();
///     assert_eq!(p.message(), Some("disk full"));
///     assert!(p.to_string().contains("disk full"));
/// });
/// ```
pub struct Panic {
    payload: Box<dyn Any + Send + 'static>,
    coroutine: String,
}

impl Panic {
    pub(crate) fn new(payload: Box<dyn Any + Send + 'static>, h: &Header) -> Self {
        Self::from_parts(payload, super::describe(h))
    }

    /// A panic of the coroutine described by `coroutine` (see
    /// [`JoinHandle::describe`]).
    pub(crate) fn from_parts(payload: Box<dyn Any + Send + 'static>, coroutine: String) -> Self {
        Panic { payload, coroutine }
    }

    /// The panic message, when the payload is a string (as with `panic!`).
    pub fn message(&self) -> Option<&str> {
        payload_message(&*self.payload)
    }

    /// The raw payload, as `std::panic::catch_unwind` would return it.
    pub fn into_payload(self) -> Box<dyn Any + Send + 'static> {
        self.payload
    }

    /// Continues unwinding with the original payload on the current thread
    /// or coroutine.
    pub fn resume(self) -> ! {
        std::panic::resume_unwind(self.payload)
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Panic")
            .field("message", &self.message())
            .field("coroutine", &self.coroutine)
            .finish()
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "coroutine {} panicked: {}",
            self.coroutine,
            self.message().unwrap_or("<non-string panic payload>")
        )
    }
}

impl std::error::Error for Panic {}
