//! `goro::rate`: a limiter admits `rate × t + burst` events (± one) over a
//! window, both polled with `allow` and waited for with `wait` by many
//! coroutines (GOMAXPROCS 1, 2 and 8, more workers than cores); `wait`
//! respects its context's cancellation and deadline and gives the token
//! back when it gives up; reservations queue and cancel as documented; the
//! multi-limiter is as strict as its strictest limiter. Every blocking test
//! runs under a watchdog.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goro::context;
use goro::rate::{Error, Limit, Limiter, MultiLimiter};

const LIMIT: Duration = Duration::from_secs(60);

/// One worker, two, and more workers than this 2-core machine has cores.
const PROCS: [usize; 3] = [1, 2, 8];

/// `admitted` must be within one of `burst + rate × t` for some `t`
/// between `t_lo` and `t_hi` (the instants bracketing the window are only
/// known to lie between two clock readings).
fn assert_admitted(admitted: usize, burst: usize, rate: f64, t_lo: Duration, t_hi: Duration) {
    let lo = burst as f64 + rate * t_lo.as_secs_f64() - 1.0;
    let hi = burst as f64 + rate * t_hi.as_secs_f64() + 1.0;
    let a = admitted as f64;
    assert!(
        lo <= a && a <= hi,
        "admitted {admitted}, expected {lo:.1}..={hi:.1} (burst {burst}, {rate}/s over {t_lo:?}..{t_hi:?})"
    );
}

#[test]
fn allow_admits_rate_times_t_plus_burst() {
    common::watchdog("allow_window", LIMIT, || {
        goro::run(|| {
            // A burst of 100 at 200/s tolerates a 500 ms stall of this
            // poller (a loaded machine) before tokens overflow the bucket.
            let (rate, burst) = (200.0, 100);
            let lim = Limiter::new(Limit::per_second(rate), burst);
            // Take the burst at once, so the bucket refills from empty and
            // no token is lost to a full bucket from here on.
            let before = Instant::now();
            assert!(lim.allow_n(burst));
            let after = Instant::now();
            let mut admitted = burst;
            while after.elapsed() < Duration::from_millis(300) {
                if lim.allow() {
                    admitted += 1;
                } else {
                    goro::yield_now();
                }
            }
            // Drain what accrued since the last poll (this coroutine may
            // have been descheduled); the refusal proves that less than a
            // token was left at a moment after `last_check`.
            let last_check = loop {
                let t = Instant::now();
                if !lim.allow() {
                    break t;
                }
                admitted += 1;
            };
            let end = Instant::now();
            assert_admitted(admitted, burst, rate, last_check - after, end - before);
        });
    });
}

#[test]
fn waiters_are_admitted_at_rate_times_t_plus_burst_until_the_deadline() {
    common::for_procs(
        "waiters_are_admitted_at_rate_times_t_plus_burst_until_the_deadline",
        &PROCS,
        LIMIT,
        || {
            goro::run(|| {
                let (rate, burst) = (500.0, 20);
                let lim = Limiter::new(Limit::per_second(rate), burst);
                // The burst is taken at once; tokens refill from there.
                let before = Instant::now();
                assert!(lim.allow_n(burst));
                let after = Instant::now();
                let window = Duration::from_millis(200);
                let (ctx, _cancel) = context::with_timeout(&context::background(), window);
                let deadline = ctx.deadline().unwrap();
                let admitted = Arc::new(AtomicUsize::new(0));
                let wg = goro::sync::WaitGroup::new();
                for _ in 0..16 {
                    let (lim, ctx, admitted) = (lim.clone(), ctx.clone(), admitted.clone());
                    wg.go(move || {
                        loop {
                            match lim.wait(&ctx) {
                                Ok(()) => {
                                    assert!(Instant::now() <= deadline + Duration::from_secs(5));
                                    admitted.fetch_add(1, Ordering::SeqCst);
                                }
                                Err(Error::WouldExceedDeadline { n: 1 }) => return,
                                Err(e) => panic!("unexpected {e}"),
                            }
                        }
                    });
                }
                wg.wait();
                // Tokens are booked ahead: every one due by the deadline is
                // admitted, none after it.
                let admitted = burst + admitted.load(Ordering::SeqCst);
                assert_admitted(admitted, burst, rate, deadline - after, deadline - before);
            });
        },
    );
}

#[test]
fn wait_gives_up_when_the_context_is_cancelled_and_returns_the_token() {
    common::for_procs(
        "wait_gives_up_when_the_context_is_cancelled_and_returns_the_token",
        &PROCS,
        LIMIT,
        || {
            goro::run(|| {
                let lim = Limiter::new(Limit::every(Duration::from_secs(100)), 1);
                assert!(lim.allow());
                let (ctx, cancel) = context::with_cancel(&context::background());
                let waiter = {
                    let lim = lim.clone();
                    goro::go!(move || lim.wait(&ctx))
                };
                // The waiter has booked the next token (due in ~100 s).
                // (Polled with coroutine sleeps: GOMAXPROCS may be 1.)
                while lim.tokens() > -0.5 {
                    goro::time::sleep(Duration::from_millis(1));
                }
                cancel.cancel();
                assert_eq!(
                    waiter.join().unwrap(),
                    Err(Error::Context(context::Error::Canceled))
                );
                assert!(lim.tokens() > -0.5, "the booked token was given back");
            });
        },
    );
}

#[test]
fn wait_refuses_at_once_when_the_token_would_come_after_the_deadline() {
    common::watchdog("wait_deadline", LIMIT, || {
        goro::run(|| {
            let lim = Limiter::new(Limit::every(Duration::from_secs(100)), 1);
            assert!(lim.allow());
            let (ctx, _c) = context::with_timeout(&context::background(), Duration::from_secs(30));
            assert_eq!(lim.wait(&ctx), Err(Error::WouldExceedDeadline { n: 1 }));
            assert_eq!(ctx.err(), None, "it did not wait for the deadline");
            assert!(lim.tokens() > -0.5, "a refused wait books nothing");
        });
    });
}

#[test]
fn a_booked_wait_is_cut_short_and_an_ended_context_is_reported_first() {
    common::watchdog("wait_cut_short", LIMIT, || {
        goro::run(|| {
            let lim = Limiter::new(Limit::every(Duration::from_secs(100)), 1);
            assert!(lim.allow());
            // No deadline: the wait books the token due in 100 s and
            // sleeps; a cancel 5 ms later ends it.
            let (ctx, cancel) = context::with_cancel(&context::background());
            goro::go!(move || {
                goro::time::sleep(Duration::from_millis(5));
                cancel.cancel();
            });
            assert_eq!(
                lim.wait(&ctx),
                Err(Error::Context(context::Error::Canceled))
            );
            assert!(lim.tokens() > -0.5, "the booked token was given back");
            // A context that has already passed its deadline is reported
            // before anything is booked.
            let (ctx, _c) = context::with_timeout(&context::background(), Duration::from_millis(5));
            ctx.done().recv();
            assert_eq!(
                lim.wait(&ctx),
                Err(Error::Context(context::Error::DeadlineExceeded))
            );
            assert!(lim.tokens() > -0.5);
        });
    });
}

#[test]
fn wait_is_never_early() {
    common::watchdog("never_early", LIMIT, || {
        goro::run(|| {
            let every = Duration::from_millis(15);
            let lim = Limiter::new(Limit::every(every), 1);
            let bg = context::background();
            // `start` is read before the first wait: the limiter counts
            // from the instant inside that wait, which is not earlier.
            // Reading it after the wait made the test fail whenever the
            // coroutine was descheduled for over 1 ms between the two
            // (CI, stop 16).
            let start = Instant::now();
            lim.wait(&bg).unwrap();
            for i in 1..=4u32 {
                lim.wait(&bg).unwrap();
                // Allow for float rounding of the token arithmetic.
                assert!(start.elapsed() + Duration::from_millis(1) >= every * i);
            }
        });
    });
}

#[test]
fn reservations_queue_and_cancel() {
    let lim = Limiter::new(Limit::every(Duration::from_secs(10)), 1);
    let r1 = lim.reserve();
    let r2 = lim.reserve();
    let r3 = lim.reserve();
    assert!(r1.ok() && r2.ok() && r3.ok());
    assert_eq!(r1.delay(), Duration::ZERO);
    assert!(r2.delay() > Duration::from_secs(9) && r2.delay() <= Duration::from_secs(10));
    assert!(r3.delay() > Duration::from_secs(19) && r3.delay() <= Duration::from_secs(20));
    assert!(lim.tokens() < -1.9);
    // r2 cannot give its token back: r3 was booked counting on it.
    r2.cancel();
    assert!(lim.tokens() < -1.9);
    // r3 is the latest booking: its token comes back.
    r3.cancel();
    let t = lim.tokens();
    assert!((-1.1..-0.9).contains(&t), "{t}");
    // A new booking takes r3's old place, not a later one.
    let r4 = lim.reserve();
    assert!(r4.delay() > Duration::from_secs(19) && r4.delay() <= Duration::from_secs(20));
    // r1 acted at once: cancelling it does nothing.
    r1.cancel();
    assert!(lim.tokens() < -1.9);
}

#[test]
fn bad_requests_get_clear_errors() {
    let lim = Limiter::new(Limit::per_second(10.0), 2);
    assert!(!lim.reserve_n(3).ok());
    assert_eq!(lim.reserve_n(3).delay(), Duration::MAX);
    assert!(!lim.allow_n(3));
    assert_eq!(
        lim.wait_n(&context::background(), 3),
        Err(Error::ExceedsBurst { n: 3, burst: 2 })
    );
    assert!(lim.allow_n(2), "refused requests took nothing");

    let zero = Limiter::new(Limit::per_second(0.0), 1);
    assert!(zero.allow());
    assert!(!zero.allow());
    assert_eq!(
        zero.wait(&context::background()),
        Err(Error::Never { n: 1 })
    );

    let (ctx, cancel) = context::with_cancel(&context::background());
    cancel.cancel();
    assert_eq!(
        Limiter::new(Limit::per_second(1.0), 1).wait(&ctx),
        Err(Error::Context(context::Error::Canceled))
    );
    assert!(std::panic::catch_unwind(|| Limit::per_second(-1.0)).is_err());
    assert!(std::panic::catch_unwind(|| Limit::per_second(f64::NAN)).is_err());
}

#[test]
fn an_infinite_limit_admits_everything() {
    let lim = Limiter::new(Limit::INF, 0);
    for _ in 0..1000 {
        assert!(lim.allow());
    }
    assert!(lim.allow_n(1_000_000));
    assert_eq!(lim.reserve_n(5).delay(), Duration::ZERO);
    assert_eq!(lim.wait_n(&context::background(), 10), Ok(()));
}

#[test]
fn set_limit_and_set_burst_take_effect() {
    let lim = Limiter::new(Limit::per_second(0.001), 1);
    assert!(lim.allow());
    assert!(!lim.allow());
    lim.set_burst(3);
    assert!(!lim.allow(), "a bigger bucket is not a fuller one");
    lim.set_limit(Limit::INF);
    assert!(lim.allow_n(10));
    lim.set_limit(Limit::per_second(0.001));
    assert_eq!(lim.limit(), Limit::per_second(0.001));
    assert_eq!(lim.burst(), 3);
}

#[test]
fn the_multi_limiter_is_as_strict_as_its_strictest_limiter() {
    common::watchdog("multi", LIMIT, || {
        goro::run(|| {
            let loose = Limiter::new(Limit::per_second(1000.0), 5);
            let strict = Limiter::new(Limit::every(Duration::from_secs(100)), 2);
            let m = MultiLimiter::new(vec![Box::new(loose.clone()), Box::new(strict.clone())]);
            assert_eq!(m.limit(), Limit::every(Duration::from_secs(100)));
            let (ctx, _c) = context::with_timeout(&context::background(), Duration::from_secs(30));
            assert_eq!(m.wait(&ctx), Ok(()));
            assert_eq!(m.wait(&ctx), Ok(()));
            assert_eq!(m.wait(&ctx), Err(Error::WouldExceedDeadline { n: 1 }));
            // The strict limiter is asked first, so the loose one kept its
            // third token.
            assert!(loose.tokens() > 2.5);
            // Nesting: a multi-limiter is a RateLimiter too.
            let nested =
                MultiLimiter::new(vec![Box::new(m), Box::new(Limiter::new(Limit::INF, 0))]);
            assert_eq!(nested.limit(), Limit::every(Duration::from_secs(100)));
        });
    });
    assert!(std::panic::catch_unwind(|| MultiLimiter::new(Vec::new())).is_err());
}
