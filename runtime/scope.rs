//! Scoped coroutines: [`scope`] lets coroutines borrow from the caller's
//! frame, with `std::thread::scope`'s contract.
//!
//! Every coroutine spawned with [`Scope::go`] is joined before [`scope`]
//! returns; if one panicked and nobody joined its handle, `scope` resumes
//! that panic after all are joined (the first one, with its own payload); a
//! panic of the scope's closure itself also waits for all of them first.
//! The caller parks while it waits (a plain thread blocks).
//!
//! # Why borrowing is sound here
//!
//! A scoped coroutine's closure may borrow data that lives in the caller's
//! frame (`'scope`). The caller is itself a coroutine whose stack stays put
//! while it is parked, wherever it later resumes, so its frame — and what
//! the closure borrows — outlives the wait. The one `unsafe` block (in
//! [`Scope::go`]) erases the closure's lifetime to hand it to the
//! scheduler; it rests on three rules:
//!
//! 1. **Counted before spawned.** `running` is incremented before the
//!    coroutine exists, by a party that is itself counted (the caller inside
//!    `scope`, or another scoped coroutine), so it cannot reach 0 early.
//! 2. **Borrowed data is done with before the count drops.** The count is
//!    decremented by the [`Packet`]'s `Drop`, which runs after the closure
//!    has returned (or been dropped unrun) and after the result (which may
//!    borrow too) has been dropped or taken. After the decrement, a scoped
//!    coroutine touches only `'static` things (its `Arc`s, its own stack).
//! 3. **No way out before zero.** `scope` waits for `running == 0` (acquire,
//!    pairing with the release decrements) before it returns *or unwinds*:
//!    the closure's panic is caught and resumed only after the wait.
//!
//! Leaking a [`ScopedJoinHandle`] (`mem::forget`) keeps its packet alive,
//! so `scope` then waits forever: a hang, never a dangling borrow.
//!
//! # Alternatives rejected
//!
//! * *Counting finished coroutines with the runtime's join bits*: the
//!   coroutine's result type would have to be `'static`; the packet holds a
//!   `'scope` result instead, and the count covers its drop (rule 2).
//! * *A `WaitGroup`*: `sync` is this file's neighbour, not below it, and a
//!   counter plus one unparker is all the waiting needed.
//! * *A fixed "a scoped coroutine panicked" message* (std's): resuming the
//!   coroutine's own payload keeps its message for the caller.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use goro_chan::waiter::{self, Unparker};

use crate::g::{Coroutine, JoinHandle, Panic, Pin};

type Payload = Box<dyn Any + Send + 'static>;

/// Runs `f` with a [`Scope`] on which it can spawn coroutines that borrow
/// from the caller's frame; returns once every one of them has finished
/// (Go's `sync.WaitGroup` around a fan-out, with borrows allowed; the shape
/// of `std::thread::scope`).
///
/// The caller parks while it waits (on a plain thread, it blocks).
///
/// # Panics
///
/// After all scoped coroutines have finished: with the panic of `f` if it
/// panicked, otherwise with the first panic of a scoped coroutine whose
/// handle was not joined (joining a handle returns its panic as an `Err`
/// instead).
///
/// ```
/// let mut data = vec![1, 2, 3, 4];
/// let total = std::sync::atomic::AtomicU64::new(0);
/// goro::scope(|s| {
///     for chunk in data.chunks(2) {
///         let total = &total;
///         s.go(move || {
///             let sum: u64 = chunk.iter().sum();
///             total.fetch_add(sum, std::sync::atomic::Ordering::Relaxed);
///         });
///     }
/// });
/// data.push(5); // every borrow has ended
/// assert_eq!(total.into_inner(), 10);
/// ```
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            first_panic: Mutex::new(None),
            owner: waiter::current(),
        }),
        scope: PhantomData,
        env: PhantomData,
    };
    let out = catch_unwind(AssertUnwindSafe(|| f(&scope)));
    scope.data.wait_all(); // rule 3: before returning or unwinding
    let out = match out {
        Ok(v) => v,
        Err(p) => resume_unwind(p),
    };
    if let Some(p) = lock(&scope.data.first_panic).take() {
        resume_unwind(p);
    }
    out
}

/// Spawns scoped coroutines; see [`scope`].
pub struct Scope<'scope, 'env: 'scope> {
    data: Arc<ScopeData>,
    // Invariant in both lifetimes, like `std::thread::Scope`.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

struct ScopeData {
    /// Scoped coroutines whose packet is still alive (rules 1-2).
    running: AtomicUsize,
    /// The first panic nobody joined.
    first_panic: Mutex<Option<Payload>>,
    /// Wakes the coroutine (or thread) waiting in `scope`.
    owner: Unparker,
}

impl ScopeData {
    fn wait_all(&self) {
        // Waiter rule 2: the owner's unparker was published at creation;
        // the last decrement unparks it after changing the count.
        while self.running.load(Ordering::Acquire) != 0 {
            waiter::park("scope", None, || self.running.load(Ordering::Acquire) != 0);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Never held across user code or a park, so poisoning cannot leave the
    // data half-updated.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A scoped coroutine's outcome, owned jointly by the coroutine and its
/// handle; the last one to let go ends the coroutine's share of the scope
/// (rule 2).
struct Packet<'scope, T> {
    scope: Arc<ScopeData>,
    outcome: Mutex<Outcome<T>>,
    _borrow: PhantomData<&'scope ()>,
}

enum Outcome<T> {
    /// The closure has not returned (or was dropped unrun: no stack).
    NotRun,
    Done(Result<T, Payload>),
    /// Joined.
    Taken,
}

impl<T> Drop for Packet<'_, T> {
    fn drop(&mut self) {
        let outcome = std::mem::replace(
            self.outcome.get_mut().unwrap_or_else(|e| e.into_inner()),
            Outcome::Taken,
        );
        let unhandled = match outcome {
            Outcome::NotRun => {
                Some(Box::new("goro: a scoped coroutine could not start (no stack)") as Payload)
            }
            Outcome::Done(Err(p)) => Some(p),
            // The result may borrow: drop it before the count drops (rule
            // 2). A panicking destructor must not skip the decrement below.
            Outcome::Done(Ok(v)) => catch_unwind(AssertUnwindSafe(|| drop(v))).err(),
            Outcome::Taken => None,
        };
        if let Some(p) = unhandled {
            lock(&self.scope.first_panic).get_or_insert(p);
        }
        if self.scope.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Our own `Arc` keeps the unparker alive even if the owner has
            // already seen zero and left.
            self.scope.owner.unpark();
        }
    }
}

/// What the spawned closure owns. Fields drop in order: the user's closure
/// (and what it borrows) before the packet (rule 2), also when it never
/// runs.
struct ScopedTask<'scope, F, T> {
    f: F,
    packet: Arc<Packet<'scope, T>>,
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Spawns a coroutine running `f`, which may borrow anything that
    /// outlives the scope. It is joined before [`scope`] returns; join it
    /// earlier with the returned handle.
    ///
    /// # Panics
    ///
    /// If the runtime has to start and its configuration is invalid (see
    /// [`crate::spawn`]).
    ///
    /// ```
    /// let words = ["go", "rust"];
    /// let lens = goro::scope(|s| {
    ///     let hs: Vec<_> = words.iter().map(|w| s.go(move || w.len())).collect();
    ///     hs.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
    /// });
    /// assert_eq!(lens, [2, 4]);
    /// ```
    #[track_caller]
    pub fn go<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        // Rule 1: counted before the coroutine exists.
        self.data.running.fetch_add(1, Ordering::Relaxed);
        let packet = Arc::new(Packet {
            scope: self.data.clone(),
            outcome: Mutex::new(Outcome::NotRun),
            _borrow: PhantomData,
        });
        let task = ScopedTask {
            f,
            packet: packet.clone(),
        };
        let body: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || {
            let ScopedTask { f, packet } = task;
            let out = catch_unwind(AssertUnwindSafe(f));
            *lock(&packet.outcome) = Outcome::Done(out);
            drop(packet); // may end our share of the scope: nothing borrowed after
        });
        // SAFETY: only the lifetime is erased. Rules 1-3 of the module docs:
        // the closure and its result are used and dropped before `running`
        // drops to zero, and `scope` does not return or unwind (ending
        // 'scope) before it has seen zero.
        let body: Box<dyn FnOnce() + Send + 'static> = unsafe {
            std::mem::transmute::<Box<dyn FnOnce() + Send + 'scope>, Box<dyn FnOnce() + Send>>(body)
        };
        let inner = crate::sched::spawn(body, None, None, Pin::Anywhere);
        ScopedJoinHandle { inner, packet }
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("running", &self.data.running.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A handle to a scoped coroutine: [`join`](Self::join) waits for it and
/// takes its result. Dropping it leaves the coroutine to [`scope`], which
/// joins it (and propagates its panic) before returning.
pub struct ScopedJoinHandle<'scope, T> {
    inner: JoinHandle<()>,
    packet: Arc<Packet<'scope, T>>,
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the coroutine and returns its result, or the [`Panic`] it
    /// ended with (which then does not make [`scope`] panic). Parks the
    /// calling coroutine (or blocks the calling thread).
    ///
    /// ```
    /// goro::scope(|s| {
    ///     let h = s.go(|| -> u8 { panic!("bad input") });
    ///     assert_eq!(h.join().unwrap_err().message(), Some("bad input"));
    /// }); // the joined panic does not propagate
    /// ```
    pub fn join(self) -> Result<T, Panic> {
        let who = self.inner.describe();
        // The body's own panics are caught in the body, so an error here
        // means the coroutine could not start.
        let started = self.inner.join();
        let outcome = std::mem::replace(&mut *lock(&self.packet.outcome), Outcome::Taken);
        match (started, outcome) {
            (_, Outcome::Done(Ok(v))) => Ok(v),
            (_, Outcome::Done(Err(p))) => Err(Panic::from_parts(p, who)),
            (Err(p), _) => Err(p),
            (Ok(()), _) => unreachable!("a scoped coroutine finished without an outcome"),
        }
    }

    /// Whether the coroutine has finished.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The coroutine's id.
    pub fn id(&self) -> u64 {
        self.inner.id()
    }

    /// A handle for introspection (id, name).
    pub fn coroutine(&self) -> Coroutine {
        self.inner.coroutine()
    }
}

impl<T> fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
