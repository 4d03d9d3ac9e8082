//! Replicated requests: run the same request on several replicas at once
//! and take the first answer (the book's `doWork` example, with a
//! [`Context`] in place of its done channel).
//!
//! Rules:
//!
//! 1. Every replica gets a child context of the caller's and its index; the
//!    child is cancelled as soon as an answer is in (or every replica has
//!    failed, or the caller's context ends), so losers see `ctx.done()`
//!    close and can stop.
//! 2. Replicas report on a channel with one slot per replica, so no replica
//!    ever blocks reporting, even after the caller stopped listening.
//! 3. [`replicate`] returns only after every replica has returned: no
//!    coroutine it started outlives the call (the book's `wg.Wait()`), so a
//!    replica that ignores its context delays the answer.
//! 4. A replica's panic is caught at its boundary and re-raised from
//!    `replicate` once all replicas have returned, whether or not another
//!    replica answered.
//! 5. No answer and the caller's context ended: the result is
//!    [`Error::Context`], even when every replica's report came in before
//!    the end was seen (the replicas fail *because* the context ended, and
//!    their reports race its done channel in the `select!`).
//!
//! Alternatives rejected: returning the answer before the losers end (a
//! caller could not rely on their side effects being over, and a leak of
//! stuck replicas would go unnoticed); an `or` of done channels (the child
//! context already is one signal every replica sees).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;

use goro_chan::chan;

use crate::context::{self, Context};
use crate::select;
use crate::sync::WaitGroup;

/// Why [`replicate`] has no answer.
///
/// ```
/// use goro::resilience::Error;
/// let e: Error<String> = Error::Context(goro::context::Error::Canceled);
/// assert_eq!(e.to_string(), "replicate: context canceled");
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum Error<E> {
    /// The caller's context ended before any replica answered.
    Context(context::Error),
    /// Every replica failed; their errors, in the order they arrived.
    AllFailed(Vec<E>),
}

impl<E: std::fmt::Display> std::fmt::Display for Error<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Context(e) => write!(f, "replicate: {e}"),
            Error::AllFailed(errs) => {
                write!(f, "replicate: all {} replicas failed", errs.len())?;
                if let Some(first) = errs.first() {
                    write!(f, " (first: {first})")?;
                }
                Ok(())
            }
        }
    }
}

impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for Error<E> {}

enum Report<T, E> {
    Answer(usize, T),
    Failed(E),
    Panicked(Box<dyn Any + Send + 'static>),
}

/// Runs `request(&ctx, i)` on `replicas` coroutines (`i` in
/// `0..replicas`) and returns the first successful answer with the index
/// of the replica that gave it. The moment it has an answer the replicas'
/// context is cancelled; it returns once every replica has returned.
///
/// # Errors
///
/// [`Error::Context`] if `ctx` ends before any answer (also when every
/// replica then returned an error: they most likely failed because it
/// ended), [`Error::AllFailed`] if every replica returned an error while
/// `ctx` was live.
///
/// # Panics
///
/// If `replicas` is 0, or (after all replicas have returned) if a replica
/// panicked.
///
/// ```
/// use std::time::Duration;
/// use goro::{context, resilience::replicate, select, time};
///
/// goro::run(|| {
///     let (who, answer) = replicate(&context::background(), 3, |ctx, i| {
///         // replica i takes (3 - i) * 20 ms unless it is cancelled first
///         select! {
///             recv(time::after(Duration::from_millis(20 * (3 - i) as u64))) -> _ => Ok(i * 10),
///             recv(ctx.done()) -> _ => Err("cancelled"),
///         }
///     })
///     .unwrap();
///     assert_eq!((who, answer), (2, 20)); // the fastest replica won
/// });
/// ```
pub fn replicate<T, E, F>(
    ctx: &Context,
    replicas: usize,
    request: F,
) -> Result<(usize, T), Error<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: Fn(&Context, usize) -> Result<T, E> + Send + Sync + 'static,
{
    assert!(replicas > 0, "replicate: at least one replica is needed");
    let (child, cancel) = context::with_cancel(ctx);
    let (tx, rx) = chan::<Report<T, E>>(replicas); // rule 2
    let wg = WaitGroup::new();
    let request = Arc::new(request);
    for i in 0..replicas {
        let (tx, child, request) = (tx.clone(), child.clone(), request.clone());
        wg.go(move || {
            let report = match catch_unwind(AssertUnwindSafe(|| request(&child, i))) {
                Ok(Ok(v)) => Report::Answer(i, v),
                Ok(Err(e)) => Report::Failed(e),
                Err(p) => Report::Panicked(p),
            };
            // Cannot fail: `rx` lives until every replica has returned
            // (rule 3), and it cannot be full (rule 2).
            let _ = tx.send(report);
        });
    }
    drop(tx);

    let parent_done = ctx.done();
    let mut errors = Vec::new();
    let mut panic = None;
    let mut answer = None;
    let mut ended = None;
    let mut pending = replicas;
    while pending > 0 && answer.is_none() && ended.is_none() {
        select! {
            recv(rx) -> report => {
                pending -= 1;
                match report {
                    Some(Report::Answer(i, v)) => answer = Some((i, v)),
                    Some(Report::Failed(e)) => errors.push(e),
                    Some(Report::Panicked(p)) => { panic.get_or_insert(p); }
                    None => unreachable!("replicate: a replica ended without reporting"),
                }
            }
            recv(parent_done) -> _ => ended = Some(ctx.err().unwrap_or(context::Error::Canceled)),
        }
    }
    if answer.is_none() && ended.is_none() {
        // Every replica failed. If the caller's context has ended, they
        // most likely failed because of it: its close wakes them, and their
        // reports can win every `select!` above against `parent_done`
        // (both ready, picked at random). Report the context's error then,
        // as Go code that checks `ctx.Err()` first would (rule 5).
        ended = ctx.err();
    }
    cancel.cancel(); // rule 1
    wg.wait(); // rule 3
    for report in rx.try_iter() {
        if let Report::Panicked(p) = report {
            panic.get_or_insert(p);
        }
    }
    if let Some(p) = panic {
        resume_unwind(p); // rule 4
    }
    match (answer, ended) {
        (Some(a), _) => Ok(a),
        (None, Some(e)) => Err(Error::Context(e)),
        (None, None) => Err(Error::AllFailed(errors)),
    }
}
