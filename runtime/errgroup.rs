//! `goro::errgroup`: a group of coroutines working on subtasks of one task
//! (Go's `golang.org/x/sync/errgroup`).
//!
//! [`Group::go`] starts a member; [`Group::wait`] waits for all of them and
//! returns the first error any of them returned. A group made by
//! [`Group::with_context`] also ends its [`Context`] the first time a member
//! fails (or when `wait` returns), so the other members can stop early.
//! [`Group::set_limit`] bounds how many members run at once: `go` then
//! waits for a free slot, [`Group::try_go`] refuses instead.
//!
//! ```
//! use goro::errgroup::Group;
//!
//! let r = goro::run(|| {
//!     let g = Group::new();
//!     for i in 0..10u32 {
//!         g.go(move || if i == 7 { Err(format!("task {i} failed")) } else { Ok(()) });
//!     }
//!     g.wait()
//! });
//! assert_eq!(r, Err("task 7 failed".to_string()));
//! ```
//!
//! # Invariants
//!
//! 1. Every member holds one count of the group's [`WaitGroup`] from before
//!    it is spawned until after it has recorded its outcome and released its
//!    limit slot, so `wait` never returns while a member can still record an
//!    error or a panic.
//! 2. Only the first error is kept: it is recorded under the outcome lock,
//!    so a later error never replaces it, and the member that recorded the
//!    group's first failure cancels the context.
//! 3. A member that panics does not take the runtime down: the panic is
//!    caught at the member's boundary, the context is cancelled (so
//!    siblings stop as they would for an error) and `wait` re-raises the
//!    first panic (Go's errgroup re-panics in `Wait` too). A panic wins over
//!    an error.
//! 4. With a limit, a member holds one unit of the limit's
//!    [`Semaphore`] for its whole run (released even when it panics).
//!
//! The std `Mutex`es here guard a few words and are never held across a
//! blocking call.
//!
//! Alternatives rejected: keeping every member's `JoinHandle` and joining
//! them in `wait` (memory grows with the number of members ever started;
//! the wait group is O(1)); cancelling with the error as the context's
//! cause (it would require `E: Error + Clone` of every group, while Go's
//! most common use is `wait`'s return value; the cause is `Canceled`).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::context::{self, CancelFunc, Context};
use crate::sync::{Semaphore, WaitGroup};

/// A group of coroutines whose first error is reported by [`wait`](Self::wait)
/// (Go's `errgroup.Group`). Cloning gives another handle to the same group,
/// so members can start more members.
///
/// ```
/// use goro::errgroup::Group;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
///
/// goro::run(|| {
///     let sum = Arc::new(AtomicU32::new(0));
///     let g: Group<std::io::Error> = Group::new();
///     for i in 1..=4 {
///         let sum = sum.clone();
///         g.go(move || { sum.fetch_add(i, Ordering::Relaxed); Ok(()) });
///     }
///     g.wait().unwrap();
///     assert_eq!(sum.load(Ordering::Relaxed), 10);
/// });
/// ```
pub struct Group<E> {
    inner: Arc<Inner<E>>,
}

impl<E> Clone for Group<E> {
    fn clone(&self) -> Self {
        Group {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<E> {
    wg: WaitGroup,
    limit: Mutex<Option<Arc<Semaphore>>>,
    outcome: Mutex<Outcome<E>>,
    cancel: Option<CancelFunc>,
}

struct Outcome<E> {
    err: Option<E>,
    panic: Option<Box<dyn Any + Send + 'static>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves its data consistent at each point
    // a panic could occur (they only move values in), so poison is harmless.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<E: Send + 'static> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E: Send + 'static> Group<E> {
    /// An empty group with no context and no limit (Go's zero `Group`).
    ///
    /// ```
    /// let g: goro::errgroup::Group<String> = goro::errgroup::Group::new();
    /// assert_eq!(g.wait(), Ok(())); // no members: nothing to wait for
    /// ```
    pub fn new() -> Self {
        Group::build(None)
    }

    /// A group and a child of `parent` that ends the first time a member
    /// returns an error or panics, or when [`wait`](Self::wait) returns,
    /// whichever is first (Go's `errgroup.WithContext`).
    ///
    /// ```
    /// use goro::{context, errgroup::Group};
    ///
    /// goro::run(|| {
    ///     let (g, ctx) = Group::with_context(&context::background());
    ///     let c = ctx.clone();
    ///     g.go(move || { c.done().recv(); Ok(()) }); // stops when a sibling fails
    ///     g.go(|| Err("boom"));
    ///     assert_eq!(g.wait(), Err("boom"));
    ///     assert_eq!(ctx.err(), Some(context::Error::Canceled));
    /// });
    /// ```
    pub fn with_context(parent: &Context) -> (Self, Context) {
        let (ctx, cancel) = context::with_cancel(parent);
        (Group::build(Some(cancel)), ctx)
    }

    fn build(cancel: Option<CancelFunc>) -> Self {
        Group {
            inner: Arc::new(Inner {
                wg: WaitGroup::new(),
                limit: Mutex::new(None),
                outcome: Mutex::new(Outcome {
                    err: None,
                    panic: None,
                }),
                cancel,
            }),
        }
    }

    /// Starts `f` on a new coroutine as a member of the group. With a
    /// [limit](Self::set_limit), first waits (parking the caller) until
    /// fewer than the limit's number of members are running.
    ///
    /// The first error returned by any member is what `wait` returns; it
    /// also ends the group's context, if it has one.
    ///
    /// ```
    /// use goro::errgroup::Group;
    /// goro::run(|| {
    ///     let g = Group::new();
    ///     g.go(|| Ok::<(), String>(()));
    ///     assert!(g.wait().is_ok());
    /// });
    /// ```
    #[track_caller]
    pub fn go<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        let slot = lock(&self.inner.limit).clone();
        if let Some(sem) = &slot {
            sem.acquire(1);
        }
        self.spawn(f, slot);
    }

    /// Starts `f` as a member only if that keeps the number of running
    /// members within the limit; returns whether it was started (Go's
    /// `TryGo`). Without a limit it always starts `f`.
    ///
    /// ```
    /// use goro::errgroup::Group;
    /// goro::run(|| {
    ///     let g = Group::new();
    ///     g.set_limit(1);
    ///     let (tx, rx) = goro::chan::<()>(0);
    ///     assert!(g.try_go(move || { rx.recv(); Ok::<(), String>(()) }));
    ///     assert!(!g.try_go(|| Ok(()))); // the one slot is taken
    ///     tx.send(()).unwrap();
    ///     g.wait().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn try_go<F>(&self, f: F) -> bool
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        let slot = lock(&self.inner.limit).clone();
        if let Some(sem) = &slot {
            if !sem.try_acquire(1) {
                return false;
            }
        }
        self.spawn(f, slot);
        true
    }

    /// Limits the number of members running at once to `n` (Go's
    /// `SetLimit`). There is no limit by default; [`remove_limit`](Self::remove_limit)
    /// lifts it.
    ///
    /// # Panics
    ///
    /// If `n` is 0 (no member could ever run; Go would deadlock instead),
    /// or if members started under the current limit are still running
    /// (Go's rule: the limit must not change while it is in use).
    ///
    /// ```
    /// let g: goro::errgroup::Group<()> = goro::errgroup::Group::new();
    /// g.set_limit(4);
    /// g.set_limit(2); // fine: nothing is running
    /// ```
    pub fn set_limit(&self, n: usize) {
        assert!(n > 0, "errgroup: set_limit(0) would never let a member run");
        self.replace_limit(Some(Arc::new(Semaphore::new(n))));
    }

    /// Lifts the limit set by [`set_limit`](Self::set_limit) (Go's
    /// `SetLimit(-1)`).
    ///
    /// # Panics
    ///
    /// If members started under the current limit are still running.
    ///
    /// ```
    /// let g: goro::errgroup::Group<()> = goro::errgroup::Group::new();
    /// g.set_limit(1);
    /// g.remove_limit();
    /// ```
    pub fn remove_limit(&self) {
        self.replace_limit(None);
    }

    fn replace_limit(&self, new: Option<Arc<Semaphore>>) {
        let mut limit = lock(&self.inner.limit);
        if let Some(old) = limit.as_ref() {
            let active = old.size() - old.available();
            assert!(
                active == 0,
                "errgroup: modify limit while {active} members of the group are still active"
            );
        }
        *limit = new;
    }

    /// Waits until every member has finished, ends the group's context (if
    /// any) and returns the first error a member returned (Go's `Wait`).
    /// Works from a coroutine (parks it) and from a plain thread. The error
    /// goes to the first `wait` that returns; a later `wait` on a clone of
    /// the group returns `Ok(())` unless new members failed since.
    ///
    /// # Panics
    ///
    /// If a member panicked: the first member panic is resumed here, after
    /// all members have finished.
    ///
    /// ```
    /// use goro::errgroup::Group;
    /// goro::run(|| {
    ///     let g = Group::new();
    ///     g.go(|| Err(1));
    ///     g.go(|| Ok(()));
    ///     assert_eq!(g.wait(), Err(1));
    /// });
    /// ```
    pub fn wait(self) -> Result<(), E> {
        self.inner.wg.wait();
        if let Some(c) = &self.inner.cancel {
            c.cancel();
        }
        let (err, panic) = {
            let mut o = lock(&self.inner.outcome);
            (o.err.take(), o.panic.take())
        };
        if let Some(p) = panic {
            resume_unwind(p);
        }
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    #[track_caller]
    fn spawn<F>(&self, f: F, slot: Option<Arc<Semaphore>>)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        // Invariant 1: the count is taken before the member exists.
        self.inner.wg.add(1);
        let member = Member {
            inner: self.inner.clone(),
            slot,
        };
        crate::spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(f));
            member.record(outcome);
            // `member` drops here: slot released, then the count (rule 1).
        });
    }
}

/// A running member's share of the group; dropping it releases the limit
/// slot and then the wait-group count (invariants 1 and 4).
struct Member<E> {
    inner: Arc<Inner<E>>,
    slot: Option<Arc<Semaphore>>,
}

impl<E> Member<E> {
    fn record(&self, outcome: std::thread::Result<Result<(), E>>) {
        let mut o = lock(&self.inner.outcome);
        let first_failure = o.err.is_none() && o.panic.is_none();
        match outcome {
            Ok(Ok(())) => return,
            Ok(Err(e)) => {
                if o.err.is_none() {
                    o.err = Some(e);
                }
            }
            Err(p) => {
                if o.panic.is_none() {
                    o.panic = Some(p);
                }
            }
        }
        drop(o);
        if first_failure {
            if let Some(c) = &self.inner.cancel {
                c.cancel();
            }
        }
    }
}

impl<E> Drop for Member<E> {
    fn drop(&mut self) {
        if let Some(s) = &self.slot {
            s.release(1);
        }
        self.inner.wg.done();
    }
}

impl<E> std::fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let limit = lock(&self.inner.limit).as_ref().map(|s| s.size());
        f.debug_struct("Group")
            .field("running", &self.inner.wg.count())
            .field("limit", &limit)
            .field("has_context", &self.inner.cancel.is_some())
            .finish()
    }
}
