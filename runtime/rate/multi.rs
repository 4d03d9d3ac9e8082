//! The book's `MultiLimiter`: several limits that must all admit an event
//! (say, 2 per second *and* 10 per minute), and the [`RateLimiter`] trait
//! that lets multi-limiters nest.
//!
//! Invariant: the limiters are kept sorted by [`RateLimiter::limit`],
//! strictest (lowest) first, so [`MultiLimiter::limit`] is the first one's
//! and a wait spends most of its time on the limiter that matters.
//!
//! As in the book, [`MultiLimiter::wait`] waits on each limiter in turn: a
//! token taken from an early limiter is not given back if a later one
//! fails (the caller's context ended). Rejected: reserving on all limiters
//! and waiting for the latest (it books tokens on the loose limiters for
//! events that the strict one delays, starving other callers of them).

use super::{Error, Limit, Limiter};
use crate::context::Context;

/// Something that can make a caller wait for its turn (the book's
/// `RateLimiter` interface): [`Limiter`] and [`MultiLimiter`].
///
/// ```
/// use goro::context;
/// use goro::rate::{Limit, Limiter, RateLimiter};
/// fn take(l: &dyn RateLimiter) -> bool {
///     l.wait(&context::background()).is_ok()
/// }
/// assert!(take(&Limiter::new(Limit::INF, 0)));
/// ```
pub trait RateLimiter: Send + Sync {
    /// Waits for one event's turn; see [`Limiter::wait`].
    fn wait(&self, ctx: &Context) -> Result<(), Error>;
    /// The (strictest) limit.
    fn limit(&self) -> Limit;
}

impl RateLimiter for Limiter {
    fn wait(&self, ctx: &Context) -> Result<(), Error> {
        Limiter::wait(self, ctx)
    }

    fn limit(&self) -> Limit {
        Limiter::limit(self)
    }
}

/// All of several limits at once (the book's `MultiLimiter`).
///
/// ```
/// use std::time::Duration;
/// use goro::{context, rate::{Limit, Limiter, MultiLimiter}};
///
/// goro::run(|| {
///     let per_second = Limiter::new(Limit::per_second(2.0), 2);
///     let per_minute = Limiter::new(Limit::every(Duration::from_secs(6)), 3);
///     let api = MultiLimiter::new(vec![Box::new(per_second), Box::new(per_minute)]);
///     assert_eq!(api.limit(), Limit::every(Duration::from_secs(6)));
///     let ctx = context::background();
///     for _ in 0..2 {
///         api.wait(&ctx).unwrap(); // within both bursts: immediate
///     }
/// });
/// ```
pub struct MultiLimiter {
    limiters: Vec<Box<dyn RateLimiter>>,
}

impl MultiLimiter {
    /// A limiter that admits an event only when every one of `limiters`
    /// does; they are sorted strictest first.
    ///
    /// # Panics
    ///
    /// If `limiters` is empty (a multi-limiter must limit something).
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter, MultiLimiter};
    /// let m = MultiLimiter::new(vec![
    ///     Box::new(Limiter::new(Limit::per_second(5.0), 1)),
    ///     Box::new(Limiter::new(Limit::per_second(1.0), 1)),
    /// ]);
    /// assert_eq!(m.limit(), Limit::per_second(1.0));
    /// ```
    pub fn new(mut limiters: Vec<Box<dyn RateLimiter>>) -> MultiLimiter {
        assert!(
            !limiters.is_empty(),
            "rate: MultiLimiter::new needs at least one limiter"
        );
        limiters.sort_by(|a, b| a.limit().as_f64().total_cmp(&b.limit().as_f64()));
        MultiLimiter { limiters }
    }

    /// Waits on every limiter in turn, strictest first; stops at the first
    /// error.
    ///
    /// # Errors
    ///
    /// The first limiter's error (see [`Limiter::wait`]).
    ///
    /// ```
    /// use goro::{context, rate::{Limit, Limiter, MultiLimiter}};
    /// let m = MultiLimiter::new(vec![Box::new(Limiter::new(Limit::INF, 0))]);
    /// assert!(m.wait(&context::background()).is_ok());
    /// ```
    pub fn wait(&self, ctx: &Context) -> Result<(), Error> {
        self.limiters.iter().try_for_each(|l| l.wait(ctx))
    }

    /// The strictest limit.
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter, MultiLimiter};
    /// let m = MultiLimiter::new(vec![
    ///     Box::new(Limiter::new(Limit::INF, 0)),
    ///     Box::new(Limiter::new(Limit::per_second(3.0), 1)),
    /// ]);
    /// assert_eq!(m.limit(), Limit::per_second(3.0));
    /// ```
    pub fn limit(&self) -> Limit {
        self.limiters[0].limit()
    }
}

impl RateLimiter for MultiLimiter {
    fn wait(&self, ctx: &Context) -> Result<(), Error> {
        MultiLimiter::wait(self, ctx)
    }

    fn limit(&self) -> Limit {
        MultiLimiter::limit(self)
    }
}

impl std::fmt::Debug for MultiLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let limits: Vec<Limit> = self.limiters.iter().map(|l| l.limit()).collect();
        f.debug_struct("MultiLimiter")
            .field("limits", &limits)
            .finish()
    }
}
