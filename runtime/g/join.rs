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

use goro_chan::waiter;

use super::{
    COMPLETE, Coroutine, DETACHED, GRef, Header, JOIN_WAKER, PANICKED, dec_ref, inc_ref,
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
            let me = waiter::current();
            let mut me = Some(me);
            loop {
                let cur = h.join.load(Ordering::Acquire);
                if cur & COMPLETE != 0 {
                    break;
                }
                waiter::park("join", None, || {
                    if let Some(u) = me.take() {
                        // SAFETY: join-bit rule: JOIN_WAKER is not set yet, so
                        // the completer does not read the slot; we are the only
                        // writer (the handle is unique).
                        unsafe { *h.join_waker.get() = Some(u) };
                        let prev = h.join.fetch_or(JOIN_WAKER, Ordering::AcqRel);
                        prev & COMPLETE == 0
                    } else {
                        h.join.load(Ordering::Acquire) & COMPLETE == 0
                    }
                });
            }
        }
        let mut out: Option<Result<T, Panic>> = None;
        // SAFETY: COMPLETE observed with acquire; we are the handle.
        unsafe { (h.vtable.read)(self.raw, &mut out as *mut _ as *mut ()) };
        // Mark as consumed so drop does not report the panic.
        h.join.fetch_or(DETACHED, Ordering::AcqRel);
        let raw = self.raw;
        std::mem::forget(self);
        dec_ref(raw);
        out.expect("coroutine output was already taken")
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
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let h = self.header();
        let prev = h.join.fetch_or(DETACHED, Ordering::AcqRel);
        if prev & (COMPLETE | PANICKED) == COMPLETE | PANICKED {
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
        Panic {
            payload,
            coroutine: super::describe(h),
        }
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
