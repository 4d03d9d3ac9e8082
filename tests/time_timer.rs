//! `Timer` with Go 1.23 semantics: fires once, never early; `stop` before
//! the fire returns `true` and nothing is received; `stop` after a fire
//! that was not received still returns `true` and drains it; `reset`
//! re-arms (also after a stop) and never lets a value from before it
//! through; a dropped handle still delivers; and a stress test races
//! stop/reset against timers firing on other workers.

mod common;

use std::time::{Duration, Instant};

use goro::chan::RecvTimeoutError;
use goro::sync::WaitGroup;
use goro::time::{self, Timer};

const LIMIT: Duration = Duration::from_secs(60);

/// Waits (parked) until the timer's value sits in its channel, i.e. the
/// timer fired and nobody received yet.
fn wait_fired(t: &Timer) {
    let start = Instant::now();
    while t.c().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timer never fired"
        );
        time::sleep(Duration::from_millis(1));
    }
}

#[test]
fn fires_once_never_early() {
    common::watchdog("fires once", LIMIT, || {
        goro::run(|| {
            for ms in [0u64, 1, 5, 20] {
                let d = Duration::from_millis(ms);
                let start = Instant::now();
                let t = Timer::new(d);
                let at = t.c().recv().expect("a timer delivers");
                assert!(at >= start + d, "fired {:?} early", (start + d) - at);
                assert!(Instant::now() >= start + d);
                // Once only.
                assert_eq!(
                    t.c().recv_timeout(Duration::from_millis(10)),
                    Err(RecvTimeoutError::Timeout)
                );
                assert!(!t.stop(), "already fired and received");
            }
        });
    });
}

#[test]
fn stop_before_fire() {
    common::watchdog("stop before fire", LIMIT, || {
        goro::run(|| {
            let t = Timer::new(Duration::from_millis(20));
            assert!(t.stop(), "stopping a pending timer prevents its delivery");
            // Wait well past the original deadline: nothing arrives.
            assert_eq!(
                t.c().recv_timeout(Duration::from_millis(60)),
                Err(RecvTimeoutError::Timeout)
            );
            assert!(!t.stop(), "a stopped timer reports false");
        });
    });
}

#[test]
fn stop_after_unreceived_fire_drains() {
    common::watchdog("stop after unreceived fire", LIMIT, || {
        goro::run(|| {
            let t = Timer::new(Duration::from_millis(1));
            wait_fired(&t);
            // Go 1.23: the value was not received, so stop prevented its
            // delivery and returns true; nothing stale is left.
            assert!(t.stop());
            assert!(t.c().try_recv().is_err());
            assert_eq!(
                t.c().recv_timeout(Duration::from_millis(20)),
                Err(RecvTimeoutError::Timeout)
            );
        });
    });
}

#[test]
fn reset_rearms_after_stop_and_after_receive() {
    common::watchdog("reset re-arms", LIMIT, || {
        goro::run(|| {
            let t = Timer::new(Duration::from_secs(3600));
            assert!(t.stop());
            let t1 = Instant::now();
            assert!(!t.reset(Duration::from_millis(10)), "it was stopped");
            let at = t.c().recv().unwrap();
            assert!(
                at >= t1 + Duration::from_millis(10),
                "fired early after reset"
            );

            // Received; reset re-arms again.
            let t2 = Instant::now();
            assert!(
                !t.reset(Duration::from_millis(5)),
                "it fired and was received"
            );
            let at = t.c().recv().unwrap();
            assert!(at >= t2 + Duration::from_millis(5));
        });
    });
}

#[test]
fn reset_pending_moves_the_deadline() {
    common::watchdog("reset pending", LIMIT, || {
        goro::run(|| {
            let t = Timer::new(Duration::from_millis(10));
            let t1 = Instant::now();
            assert!(t.reset(Duration::from_millis(80)), "it was pending");
            let at = t.c().recv().unwrap();
            // The first deadline (10 ms) does not deliver: only the new one.
            assert!(
                at >= t1 + Duration::from_millis(80),
                "old deadline delivered"
            );
            assert_eq!(
                t.c().recv_timeout(Duration::from_millis(20)),
                Err(RecvTimeoutError::Timeout)
            );

            // Shortening works too.
            let t = Timer::new(Duration::from_secs(3600));
            let t1 = Instant::now();
            assert!(t.reset(Duration::from_millis(3)));
            assert!(t.c().recv().unwrap() >= t1 + Duration::from_millis(3));
        });
    });
}

#[test]
fn reset_after_unreceived_fire_has_no_stale_value() {
    common::watchdog("reset no stale", LIMIT, || {
        goro::run(|| {
            let t = Timer::new(Duration::from_millis(1));
            wait_fired(&t);
            let t1 = Instant::now();
            assert!(
                t.reset(Duration::from_millis(20)),
                "its value was not received"
            );
            assert!(t.c().try_recv().is_err(), "stale value after reset");
            let at = t.c().recv().unwrap();
            assert!(
                at >= t1 + Duration::from_millis(20),
                "received the pre-reset value"
            );
        });
    });
}

#[test]
fn dropped_handle_still_delivers() {
    common::watchdog("dropped handle", LIMIT, || {
        goro::run(|| {
            let t = Timer::new(Duration::from_millis(5));
            let rx = t.c().clone();
            drop(t);
            assert!(
                rx.recv().is_some(),
                "dropping a Timer does not stop it (Go)"
            );
            let start = Instant::now();
            let rx = Timer::new(Duration::from_millis(5)).into_chan();
            assert!(rx.recv().unwrap() >= start + Duration::from_millis(5));
        });
        // A plain thread can wait on a timer too.
        let start = Instant::now();
        let at = time::after(Duration::from_millis(5)).recv().unwrap();
        assert!(at >= start + Duration::from_millis(5));
    });
}

/// Many coroutines create short timers and stop or reset them at the
/// moment they fire (on whichever worker notices), never receiving. The
/// first stop/reset of a timer whose value nobody received must return
/// `true` (pending, or fired and drained), and after `stop` or a reset to an
/// hour, nothing may ever be received (Go 1.23: no stale value).
#[test]
fn stop_reset_race_no_stale_values() {
    common::for_each_procs("stop_reset_race_no_stale_values", LIMIT, || {
        goro::run(|| {
            let wg = WaitGroup::new();
            for g in 0..64u64 {
                wg.go(move || {
                    let mut x = g.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                    let mut rnd = move |n: u64| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x % n
                    };
                    for i in 0..150 {
                        let t = Timer::new(Duration::from_micros(rnd(300)));
                        // Let it race: spin a little, yield or sleep.
                        match rnd(3) {
                            0 => goro::yield_now(),
                            1 => time::sleep(Duration::from_micros(rnd(300))),
                            _ => (0..rnd(2000)).for_each(|k| {
                                std::hint::black_box(k);
                            }),
                        }
                        let prevented = if i % 2 == 0 {
                            t.stop()
                        } else {
                            t.reset(Duration::from_secs(3600))
                        };
                        assert!(
                            prevented,
                            "first stop/reset of an unreceived timer returned false"
                        );
                        assert!(
                            t.c().try_recv().is_err(),
                            "stale value right after stop/reset"
                        );
                        if i % 16 == 0 {
                            // A fire that was in flight must not land late.
                            assert!(
                                t.c().recv_timeout(Duration::from_millis(2)).is_err(),
                                "stale value landed later"
                            );
                        }
                        assert!(
                            t.stop() == (i % 2 == 1),
                            "second stop: pending only after a reset"
                        );
                    }
                });
            }
            wg.wait();
        });
    });
}

/// A stopped timer's heap entry is dead; once enough dead entries pile up
/// the heap sweeps them, dropping the timer's shared block and with it the
/// channel's only sender, so a receiver kept from it sees it closed. Go
/// 1.23 frees stopped timers too.
///
/// Regression test: `stop`/`reset` used to bump the epoch without counting
/// the entry as stale, so the sweep in `SlotTimers::add` never ran for them
/// and every stopped or reset timer stayed in the heap (with its channel)
/// until its original deadline.
#[test]
fn stopped_timers_are_swept() {
    common::watchdog("stopped timers swept", LIMIT, || {
        goro::run(|| {
            let t = Timer::new(Duration::from_secs(3600));
            let rx = t.c().clone();
            assert!(t.stop());
            drop(t);
            // Churn on the same worker (nothing here parks): plenty of dead
            // entries to trigger a sweep.
            for _ in 0..10_000 {
                let t = Timer::new(Duration::from_secs(3600));
                t.stop();
            }
            // The timer's block (the channel's only sender) is freed once
            // the heap lets go of its entry; the channel stays open.
            let start = Instant::now();
            while rx.has_senders() {
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "the stopped timer is still referenced by the timer heap"
                );
                time::sleep(Duration::from_millis(1));
            }
            assert!(!rx.is_closed(), "a timer channel never closes");
        });
    });
}

/// Issue 12: an `after()` receiver reused across a `select!` loop fires
/// once. Its channel never closes, so after the value is taken the case
/// is simply not ready again (it used to be ready with `None` forever).
#[test]
fn reused_after_in_select_loop_fires_once() {
    common::watchdog("reused after", LIMIT, || {
        goro::run(|| {
            let (tx, rx) = goro::chan::<u32>(0);
            let producer = goro::go!(move || {
                for i in 0..20 {
                    time::sleep(Duration::from_millis(2));
                    if tx.send(i).is_err() {
                        return;
                    }
                }
            });
            let timeout = time::after(Duration::from_millis(10));
            let (mut fired, mut none, mut got) = (0, 0, 0);
            // Runs until the producer is done (about 40 ms): well past the
            // timeout, so the loop sees its case again and again.
            loop {
                goro::select! {
                    recv(rx) -> v => match v {
                        Some(_) => got += 1,
                        None => break,
                    },
                    recv(timeout) -> t => match t {
                        Some(_) => fired += 1,
                        None => none += 1,
                    },
                }
            }
            producer.join().unwrap();
            assert_eq!(got, 20);
            assert_eq!(fired, 1, "the timeout fires exactly once");
            assert_eq!(none, 0, "a timer channel never reports closed");
            assert!(!timeout.is_closed());
        });
    });
}

/// Issue 12: a deadline past what `Instant` holds never fires, and is not
/// "ready with None" either.
#[test]
fn after_duration_max_never_fires() {
    common::watchdog("after max", LIMIT, || {
        goro::run(|| {
            let rx = time::after(Duration::MAX);
            let r = goro::select! {
                recv(rx) -> v => Some(v),
                default(Duration::from_millis(100)) => None,
            };
            assert!(r.is_none(), "after(Duration::MAX) was ready: {r:?}");
            assert!(!rx.is_closed());
            // A Timer with such a deadline is active: stopping it prevents
            // a delivery (Go), and a reset to a real deadline fires.
            let t = Timer::new(Duration::MAX);
            assert!(t.stop());
            assert!(!t.stop());
            t.reset(Duration::MAX);
            assert!(t.reset(Duration::from_millis(1)));
            assert!(t.c().recv().is_some());
        });
    });
}

/// Issue 12: a consumed one-shot timer's channel stays open for a cloned
/// receiver after the handle and the heap entry are gone.
#[test]
fn fired_timer_channel_stays_open() {
    common::watchdog("fired timer open", LIMIT, || {
        goro::run(|| {
            let t = Timer::new(Duration::from_millis(1));
            let rx = t.c().clone();
            drop(t);
            assert!(rx.recv().is_some());
            assert_eq!(
                rx.recv_timeout(Duration::from_millis(20)),
                Err(RecvTimeoutError::Timeout)
            );
            assert!(!rx.is_closed());
        });
    });
}
