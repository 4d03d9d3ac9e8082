//! `goro::rate`: a token-bucket rate limiter (the shape of Go's
//! `golang.org/x/time/rate`), and the book's [`MultiLimiter`].
//!
//! A [`Limiter`] admits events at [`Limit`] per second on average, with
//! bursts of up to `burst` events. Three ways to take a token:
//!
//! - [`Limiter::allow`]: take one now or report `false` (drop the event);
//! - [`Limiter::wait`]: park the coroutine until a token is due, giving up
//!   early if a [`Context`] ends or its deadline comes before the token;
//! - [`Limiter::reserve`]: book a token and learn how long to wait
//!   ([`Reservation::delay`]); [`Reservation::cancel`] gives it back.
//!
//! ```
//! use goro::rate::{Limit, Limiter};
//! let lim = Limiter::new(Limit::per_second(10.0), 3);
//! assert!(lim.allow() && lim.allow() && lim.allow()); // the burst
//! assert!(!lim.allow()); // next token in 100 ms
//! ```
//!
//! # The bucket
//!
//! The state is `tokens` (a float, negative while reservations are queued
//! ahead of the refill) as of the instant `last`. Rules:
//!
//! 1. Advancing to `now` adds `limit × (now − last)` tokens, capped at
//!    `burst`; time never runs backwards (an older `now` counts as `last`).
//! 2. Taking `n` tokens subtracts `n`; if the result is negative the taker
//!    must wait `−tokens / limit` from `now`. It is committed only if
//!    `n ≤ burst` and that wait fits the caller's bound (none for
//!    `reserve`, zero for `allow`, the context's deadline for `wait`).
//! 3. `last_event` is the latest instant any committed reservation acts
//!    at. Cancelling a reservation that has not acted yet returns its
//!    tokens minus those reserved after it (they were counted on its
//!    tokens being spent).
//! 4. [`Limit::INF`] admits everything at once and ignores the bucket.
//!
//! All state sits behind one std `Mutex` held for a few float operations,
//! never across a blocking call; waiting happens on a runtime [`Timer`]
//! after the lock is released.
//!
//! Alternatives rejected: a coroutine refilling the bucket on a ticker
//! (a coroutine per limiter, and wake-ups when nobody is waiting); integer
//! nanosecond tokens (a rate of 1/3 per second would not divide evenly; the
//! float bucket is exact enough over the spans a limiter sees and matches
//! x/time/rate's behaviour); a queue of waiters (the reservation already
//! orders them: each waiter sleeps until its own booked instant).

mod multi;

pub use multi::{MultiLimiter, RateLimiter};

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::context::{self, Context};
use crate::select;
use crate::time::Timer;

/// Events per second (Go's `rate.Limit`). [`Limit::INF`] means no limit.
///
/// ```
/// use std::time::Duration;
/// use goro::rate::Limit;
/// assert_eq!(Limit::every(Duration::from_millis(100)), Limit::per_second(10.0));
/// assert!(Limit::every(Duration::ZERO).is_inf());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Limit(f64);

impl Limit {
    /// No limit: every event is admitted at once (Go's `rate.Inf`).
    pub const INF: Limit = Limit(f64::INFINITY);

    /// `r` events per second.
    ///
    /// # Panics
    ///
    /// If `r` is negative or NaN.
    ///
    /// ```
    /// assert_eq!(goro::rate::Limit::per_second(2.5).as_f64(), 2.5);
    /// ```
    pub fn per_second(r: f64) -> Limit {
        assert!(
            r >= 0.0,
            "rate: a limit must be a non-negative number of events per second, got {r}"
        );
        Limit(r)
    }

    /// One event every `interval` (Go's `rate.Every`); a zero interval is
    /// [`Limit::INF`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let l = goro::rate::Limit::every(Duration::from_secs(2));
    /// assert_eq!(l.as_f64(), 0.5);
    /// ```
    pub fn every(interval: Duration) -> Limit {
        if interval.is_zero() {
            return Limit::INF;
        }
        Limit(1.0 / interval.as_secs_f64())
    }

    /// Events per second as a float (infinite for [`Limit::INF`]).
    ///
    /// ```
    /// use goro::rate::Limit;
    /// assert_eq!(Limit::per_second(4.0).as_f64(), 4.0);
    /// assert_eq!(Limit::INF.as_f64(), f64::INFINITY);
    /// ```
    pub fn as_f64(self) -> f64 {
        self.0
    }

    /// Whether this is [`Limit::INF`].
    ///
    /// ```
    /// use goro::rate::Limit;
    /// assert!(Limit::INF.is_inf());
    /// assert!(!Limit::per_second(1e9).is_inf());
    /// ```
    pub fn is_inf(self) -> bool {
        self.0.is_infinite()
    }

    /// The time it takes to accumulate `tokens`; `None` if never (a zero
    /// limit).
    fn duration_for(self, tokens: f64) -> Option<Duration> {
        if tokens <= 0.0 || self.is_inf() {
            return Some(Duration::ZERO);
        }
        if self.0 == 0.0 {
            return None;
        }
        Duration::try_from_secs_f64(tokens / self.0).ok()
    }

    /// The tokens accumulated over `d`.
    fn tokens_for(self, d: Duration) -> f64 {
        if self.0 == 0.0 {
            return 0.0;
        }
        d.as_secs_f64() * self.0
    }
}

/// Why [`Limiter::wait`] did not admit the event.
///
/// ```
/// use goro::rate::Error;
/// assert_eq!(Error::ExceedsBurst { n: 5, burst: 2 }.to_string(),
///            "rate: wait(n=5) exceeds the limiter's burst 2");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The context ended first (or had already ended).
    Context(context::Error),
    /// The tokens would come after the context's deadline, so the call
    /// returned at once instead of waiting in vain.
    WouldExceedDeadline {
        /// Tokens asked for.
        n: usize,
    },
    /// More tokens than the bucket can ever hold were asked for.
    ExceedsBurst {
        /// Tokens asked for.
        n: usize,
        /// The limiter's burst.
        burst: usize,
    },
    /// The limit is zero and the bucket is empty: no token will ever come.
    Never {
        /// Tokens asked for.
        n: usize,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Context(e) => e.fmt(f),
            Error::WouldExceedDeadline { n } => {
                write!(f, "rate: wait(n={n}) would exceed context deadline")
            }
            Error::ExceedsBurst { n, burst } => {
                write!(f, "rate: wait(n={n}) exceeds the limiter's burst {burst}")
            }
            Error::Never { n } => write!(f, "rate: wait(n={n}) with a zero limit and no tokens"),
        }
    }
}

impl std::error::Error for Error {}

struct State {
    limit: Limit,
    burst: usize,
    tokens: f64,
    last: Instant,
    last_event: Instant,
}

impl State {
    /// The tokens as of `now` (rule 1), and the instant to record.
    fn advance(&self, now: Instant) -> (Instant, f64) {
        let now = now.max(self.last);
        let elapsed = now - self.last;
        let tokens = (self.tokens + self.limit.tokens_for(elapsed)).min(self.burst as f64);
        (now, tokens)
    }
}

/// A token bucket shared by everything that clones it (Go's
/// `rate.Limiter`). `Send + Sync`; cheap to clone (an `Arc`).
///
/// ```
/// use std::time::Duration;
/// use goro::{context, rate::{Limit, Limiter}};
///
/// goro::run(|| {
///     let lim = Limiter::new(Limit::every(Duration::from_millis(2)), 1);
///     let ctx = context::background();
///     let start = std::time::Instant::now();
///     for _ in 0..4 {
///         lim.wait(&ctx).unwrap(); // one at once, then one every 2 ms
///     }
///     assert!(start.elapsed() >= Duration::from_millis(6));
/// });
/// ```
#[derive(Clone)]
pub struct Limiter {
    state: Arc<Mutex<State>>,
}

impl Limiter {
    /// A limiter admitting `limit` events per second with bursts of up to
    /// `burst`, starting with a full bucket (Go's `rate.NewLimiter`). A
    /// `burst` of 0 admits nothing unless the limit is [`Limit::INF`].
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::per_second(1.0), 5);
    /// assert_eq!(lim.burst(), 5);
    /// assert_eq!(lim.limit(), Limit::per_second(1.0));
    /// ```
    pub fn new(limit: Limit, burst: usize) -> Limiter {
        let now = Instant::now();
        Limiter {
            state: Arc::new(Mutex::new(State {
                limit,
                burst,
                tokens: burst as f64,
                last: now,
                last_event: now,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Critical sections only assign plain numbers: poison is harmless.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The limit.
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter};
    /// assert_eq!(Limiter::new(Limit::INF, 0).limit(), Limit::INF);
    /// ```
    pub fn limit(&self) -> Limit {
        self.lock().limit
    }

    /// The bucket size.
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter};
    /// assert_eq!(Limiter::new(Limit::per_second(1.0), 7).burst(), 7);
    /// ```
    pub fn burst(&self) -> usize {
        self.lock().burst
    }

    /// The tokens available now (negative while reservations wait).
    ///
    /// ```
    /// let lim = goro::rate::Limiter::new(goro::rate::Limit::per_second(1.0), 2);
    /// assert_eq!(lim.tokens(), 2.0);
    /// lim.reserve_n(2);
    /// lim.reserve(); // due in about a second
    /// assert!(lim.tokens() < 0.0);
    /// ```
    pub fn tokens(&self) -> f64 {
        self.lock().advance(Instant::now()).1
    }

    /// Changes the limit from now on; tokens accumulated so far are kept
    /// (Go's `SetLimit`).
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::per_second(1.0), 1);
    /// lim.set_limit(Limit::INF);
    /// assert!(lim.allow() && lim.allow());
    /// ```
    pub fn set_limit(&self, limit: Limit) {
        self.settle().limit = limit;
    }

    /// Changes the bucket size from now on (Go's `SetBurst`).
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::per_second(0.001), 1);
    /// lim.set_burst(3);
    /// assert_eq!(lim.burst(), 3);
    /// ```
    pub fn set_burst(&self, burst: usize) {
        self.settle().burst = burst;
    }

    /// Locks the state and commits the tokens accrued until now (rule 1),
    /// so a change of limit or burst applies from now on only.
    fn settle(&self) -> MutexGuard<'_, State> {
        let mut st = self.lock();
        let (now, tokens) = st.advance(Instant::now());
        st.last = now;
        st.tokens = tokens;
        st
    }

    /// Takes one token if one is available now (Go's `Allow`).
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::per_second(0.001), 1);
    /// assert!(lim.allow());
    /// assert!(!lim.allow());
    /// ```
    pub fn allow(&self) -> bool {
        self.allow_n(1)
    }

    /// Takes `n` tokens if they are all available now (Go's `AllowN`).
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::per_second(0.001), 4);
    /// assert!(lim.allow_n(3));
    /// assert!(!lim.allow_n(2));
    /// ```
    pub fn allow_n(&self, n: usize) -> bool {
        self.reserve_at(Instant::now(), n, Some(Duration::ZERO)).ok
    }

    /// Books one token and says when it may be used (Go's `Reserve`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::every(Duration::from_secs(1)), 1);
    /// assert_eq!(lim.reserve().delay(), Duration::ZERO);
    /// let r = lim.reserve();
    /// assert!(r.ok() && r.delay() > Duration::from_millis(900));
    /// r.cancel(); // not going to act: give the token back
    /// ```
    pub fn reserve(&self) -> Reservation {
        self.reserve_n(1)
    }

    /// Books `n` tokens (Go's `ReserveN`). The reservation is not
    /// [`ok`](Reservation::ok) if `n` exceeds the burst or the limit is zero
    /// and the tokens are not there.
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::per_second(1.0), 2);
    /// assert!(!lim.reserve_n(3).ok());
    /// ```
    pub fn reserve_n(&self, n: usize) -> Reservation {
        self.reserve_at(Instant::now(), n, None)
    }

    /// Rule 2: books `n` tokens at `now` if the wait is at most `max_wait`.
    fn reserve_at(&self, now: Instant, n: usize, max_wait: Option<Duration>) -> Reservation {
        let mut st = self.lock();
        let refused = Reservation {
            lim: self.clone(),
            ok: false,
            tokens: n,
            act_at: now,
            limit: st.limit,
        };
        if st.limit.is_inf() {
            return Reservation {
                ok: true,
                ..refused
            };
        }
        let (now, tokens) = st.advance(now);
        let tokens = tokens - n as f64;
        let Some(wait) = st.limit.duration_for(-tokens) else {
            return refused;
        };
        if n > st.burst || max_wait.is_some_and(|m| wait > m) {
            return refused;
        }
        let act_at = now + wait;
        st.last = now;
        st.tokens = tokens;
        st.last_event = st.last_event.max(act_at);
        Reservation {
            ok: true,
            act_at,
            ..refused
        }
    }

    /// Waits (parking the coroutine, or blocking a plain thread) until one
    /// token is available, and takes it (Go's `Wait`).
    ///
    /// # Errors
    ///
    /// [`Error::Context`] if `ctx` has ended or ends before the token is
    /// due (the token is given back; if both happen at once the token is
    /// spent and the wait succeeds); [`Error::WouldExceedDeadline`] at once if the token
    /// would come after `ctx`'s deadline; [`Error::ExceedsBurst`] /
    /// [`Error::Never`] if no token can ever come.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::{context, rate::{Error, Limit, Limiter}};
    /// goro::run(|| {
    ///     let lim = Limiter::new(Limit::every(Duration::from_secs(60)), 1);
    ///     let (ctx, _c) = context::with_timeout(&context::background(), Duration::from_secs(1));
    ///     assert_eq!(lim.wait(&ctx), Ok(()));
    ///     assert_eq!(lim.wait(&ctx), Err(Error::WouldExceedDeadline { n: 1 }));
    /// });
    /// ```
    pub fn wait(&self, ctx: &Context) -> Result<(), Error> {
        self.wait_n(ctx, 1)
    }

    /// Like [`wait`](Self::wait) for `n` tokens at once (Go's `WaitN`).
    ///
    /// ```
    /// use goro::{context, rate::{Error, Limit, Limiter}};
    /// let lim = Limiter::new(Limit::per_second(100.0), 2);
    /// let bg = context::background();
    /// assert_eq!(lim.wait_n(&bg, 2), Ok(()));
    /// assert_eq!(lim.wait_n(&bg, 3), Err(Error::ExceedsBurst { n: 3, burst: 2 }));
    /// ```
    pub fn wait_n(&self, ctx: &Context, n: usize) -> Result<(), Error> {
        {
            let st = self.lock();
            if n > st.burst && !st.limit.is_inf() {
                return Err(Error::ExceedsBurst { n, burst: st.burst });
            }
        }
        if let Some(e) = ctx.err() {
            return Err(Error::Context(e));
        }
        let now = Instant::now();
        let max_wait = ctx.deadline().map(|d| d.saturating_duration_since(now));
        let r = self.reserve_at(now, n, max_wait);
        if !r.ok {
            // Why (rule 2), read again: the burst or limit may have been
            // changed since the check above.
            let st = self.lock();
            return Err(if n > st.burst {
                Error::ExceedsBurst { n, burst: st.burst }
            } else if st.limit.as_f64() == 0.0 {
                Error::Never { n }
            } else {
                Error::WouldExceedDeadline { n }
            });
        }
        let delay = r.delay_from(now);
        if delay.is_zero() {
            return Ok(());
        }
        let timer = Timer::new(delay);
        let done = ctx.done();
        select! {
            recv(timer.c()) -> _ => Ok(()),
            recv(done) -> _ => {
                timer.stop();
                if Instant::now() >= r.act_at {
                    // The token's time came as the context ended (say, a
                    // token due exactly at the deadline): it is spent and
                    // cannot be given back, so the wait succeeded.
                    return Ok(());
                }
                r.cancel();
                Err(Error::Context(ctx.err().unwrap_or(context::Error::Canceled)))
            }
        }
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("Limiter")
            .field("limit", &st.limit)
            .field("burst", &st.burst)
            .field("tokens", &st.tokens)
            .finish()
    }
}

/// Tokens booked by [`Limiter::reserve`] (Go's `rate.Reservation`): act
/// after [`delay`](Self::delay), or [`cancel`](Self::cancel) to give the
/// tokens back. Dropping it keeps the booking.
#[derive(Debug)]
pub struct Reservation {
    lim: Limiter,
    ok: bool,
    tokens: usize,
    act_at: Instant,
    limit: Limit,
}

impl Reservation {
    /// Whether the tokens were booked (false if they never can be).
    ///
    /// ```
    /// let lim = goro::rate::Limiter::new(goro::rate::Limit::per_second(1.0), 1);
    /// assert!(lim.reserve().ok());
    /// ```
    pub fn ok(&self) -> bool {
        self.ok
    }

    /// How long to wait before acting; zero if at once, `Duration::MAX` if
    /// the reservation is not [`ok`](Self::ok).
    ///
    /// ```
    /// let lim = goro::rate::Limiter::new(goro::rate::Limit::per_second(1.0), 1);
    /// assert!(lim.reserve_n(2).delay() == std::time::Duration::MAX);
    /// ```
    pub fn delay(&self) -> Duration {
        self.delay_from(Instant::now())
    }

    fn delay_from(&self, now: Instant) -> Duration {
        if !self.ok {
            return Duration::MAX;
        }
        self.act_at.saturating_duration_since(now)
    }

    /// Gives the tokens back, minus those other reservations booked after
    /// this one (rule 3). Does nothing if the reservation is not ok or its
    /// time to act has passed (Go's `Cancel`).
    ///
    /// ```
    /// use goro::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::per_second(0.001), 1);
    /// assert!(lim.allow()); // the bucket is empty now
    /// let r = lim.reserve(); // due in about 1000 s
    /// assert!(lim.tokens() < -0.9);
    /// r.cancel(); // the token is back in the schedule
    /// assert!(lim.tokens() > -0.1);
    /// ```
    pub fn cancel(self) {
        self.cancel_at(Instant::now());
    }

    fn cancel_at(&self, now: Instant) {
        if !self.ok || self.tokens == 0 || self.limit.is_inf() || self.act_at < now {
            return;
        }
        let mut st = self.lim.lock();
        if st.limit.is_inf() {
            return;
        }
        // Tokens booked after this reservation stay spent (rule 3).
        let later = self
            .limit
            .tokens_for(st.last_event.saturating_duration_since(self.act_at));
        let restore = self.tokens as f64 - later;
        if restore <= 0.0 {
            return;
        }
        let (now, tokens) = st.advance(now);
        st.last = now;
        st.tokens = (tokens + restore).min(st.burst as f64);
        if self.act_at == st.last_event {
            // This was the latest booking: the previous one is now latest.
            if let Some(back) = self.limit.duration_for(self.tokens as f64) {
                if let Some(prev) = self.act_at.checked_sub(back) {
                    if prev >= now {
                        st.last_event = prev;
                    }
                }
            }
        }
    }
}
