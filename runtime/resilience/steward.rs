//! The steward / ward healing pattern (the book's `newSteward`): a ward is
//! a function that starts some work and returns its heartbeat channel; a
//! steward starts the ward, watches the heartbeat, and when no pulse comes
//! within `timeout` it closes the ward's `done` channel and starts a fresh
//! ward. A steward is itself a ward (it returns a heartbeat of its own), so
//! stewards nest.
//!
//! The ward's shape is the book's `startGoroutineFn`:
//! `Fn(done: Receiver<()>, pulse_interval: Duration) -> Receiver<()>`.
//! The steward asks its ward to pulse every `timeout / 2`.
//!
//! Rules of the monitor coroutine a steward starts:
//!
//! 1. Each ward gets its own `done` channel, closed by the monitor when the
//!    ward is replaced and when the monitor ends, so a ward that honours
//!    `done` never outlives its steward.
//! 2. Every pulse from the current ward restarts the `timeout` timer; the
//!    timer firing means the ward is unhealthy: it is replaced, and the
//!    timer restarted for the new ward.
//! 3. A ward whose heartbeat channel closes (it returned) is treated as
//!    silent: it is replaced when the timeout runs out, not at once, so a
//!    ward that fails immediately is restarted at most once per `timeout`
//!    instead of in a busy loop (the book's version spins on the closed
//!    channel).
//! 4. The steward's own heartbeat has one slot and is sent to without
//!    blocking: a pulse nobody reads is dropped, never queued up.
//! 5. The monitor ends when the caller's `done` is closed (or sent to).
//!
//! Alternatives rejected: the book's `or(wardDone, done)` for the ward's
//! done channel (the monitor watches `done` itself and closes the ward's
//! channel, rule 1, which needs no extra coroutine); restarting a ward by
//! joining its coroutine (a wedged ward would wedge the steward).

use std::sync::Arc;
use std::time::Duration;

use goro_chan::{Receiver, chan, never};

use crate::select;
use crate::time::{Ticker, Timer};

/// The shape of a ward (and of a steward): started with a `done` channel
/// that closes when it must stop and the interval to pulse at, it returns
/// its heartbeat channel. Any `Fn` of this shape is a `Ward`.
///
/// ```
/// use std::time::Duration;
/// use goro::{chan, chan::Receiver, resilience::Ward, select};
///
/// // A ward that pulses until it is told to stop.
/// fn pulser(done: Receiver<()>, interval: Duration) -> Receiver<()> {
///     let (hb_tx, hb) = chan::<()>(1);
///     goro::go!(move || loop {
///         select! {
///             recv(done) -> _ => return,
///             default(interval) => { let _ = hb_tx.try_send(()); }
///         }
///     });
///     hb
/// }
/// fn is_ward(_: &impl Ward) {}
/// is_ward(&pulser);
/// goro::run(|| {
///     let (done_tx, done) = chan::<()>(0);
///     let hb = pulser(done, Duration::from_millis(1));
///     assert_eq!(hb.recv(), Some(()));
///     done_tx.close();
/// });
/// ```
pub trait Ward: Fn(Receiver<()>, Duration) -> Receiver<()> + Send + Sync + 'static {}

impl<F> Ward for F where F: Fn(Receiver<()>, Duration) -> Receiver<()> + Send + Sync + 'static {}

/// Wraps `ward` in a steward that restarts it whenever it sends no
/// heartbeat for `timeout`. Calling the returned function starts the
/// steward (its monitor coroutine and the first ward) and returns the
/// steward's own heartbeat; close the `done` you gave it to stop both.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use goro::{chan, chan::Receiver, resilience::steward, select};
///
/// goro::run(|| {
///     let starts = Arc::new(AtomicUsize::new(0));
///     let s = starts.clone();
///     // A ward that never pulses: it only waits to be told to stop.
///     let ward = move |done: Receiver<()>, _pulse: Duration| {
///         s.fetch_add(1, Ordering::SeqCst);
///         let (hb_tx, hb) = chan::<()>(1);
///         goro::go!(move || { done.recv(); drop(hb_tx); });
///         hb
///     };
///     let start = steward(Duration::from_millis(10), ward);
///     let (done_tx, done) = chan::<()>(0);
///     let _heartbeat = start(done, Duration::from_millis(5));
///     goro::time::sleep(Duration::from_millis(45));
///     done_tx.close();
///     assert!(starts.load(Ordering::SeqCst) >= 3); // restarted at least twice
/// });
/// ```
///
/// # Panics
///
/// The returned function panics if `pulse_interval` or `timeout` is zero
/// (a ticker needs a positive period).
pub fn steward<W: Ward>(
    timeout: Duration,
    ward: W,
) -> impl Fn(Receiver<()>, Duration) -> Receiver<()> + Send + Sync + Clone + 'static {
    steward_with(timeout, ward, |_| {})
}

/// Like [`steward`], calling `on_restart(n)` each time it replaces the
/// ward, `n` counting restarts from 1 (the book logs "steward: ward
/// unhealthy; restarting" there).
///
/// ```
/// use std::time::Duration;
/// use goro::{chan, chan::Receiver, resilience::steward_with};
///
/// goro::run(|| {
///     let (restarts_tx, restarts) = chan::<u64>(16);
///     let silent = |done: Receiver<()>, _: Duration| {
///         goro::go!(move || { done.recv(); });
///         chan::never()
///     };
///     let start = steward_with(Duration::from_millis(5), silent, move |n| {
///         let _ = restarts_tx.try_send(n);
///     });
///     let (done_tx, done) = chan::<()>(0);
///     start(done, Duration::from_millis(50));
///     assert_eq!(restarts.recv(), Some(1));
///     assert_eq!(restarts.recv(), Some(2));
///     done_tx.close();
/// });
/// ```
///
/// # Panics
///
/// As [`steward`].
pub fn steward_with<W: Ward, R>(
    timeout: Duration,
    ward: W,
    on_restart: R,
) -> impl Fn(Receiver<()>, Duration) -> Receiver<()> + Send + Sync + Clone + 'static
where
    R: Fn(u64) + Send + Sync + 'static,
{
    assert!(!timeout.is_zero(), "steward: the timeout must be positive");
    let shared = Arc::new((ward, on_restart));
    move |done: Receiver<()>, pulse_interval: Duration| {
        assert!(
            !pulse_interval.is_zero(),
            "steward: the pulse interval must be positive"
        );
        let (hb_tx, hb) = chan::<()>(1); // rule 4
        let shared = shared.clone();
        crate::spawn(move || {
            let (ward, on_restart) = (&shared.0, &shared.1);
            let start_ward = || {
                let (ward_done_tx, ward_done) = chan::<()>(0);
                (ward_done_tx, ward(ward_done, timeout / 2))
            };
            let (mut ward_done, mut ward_hb) = start_ward();
            let pulse = Ticker::new(pulse_interval);
            let alarm = Timer::new(timeout);
            let mut restarts = 0u64;
            enum Event {
                Pulse,
                WardPulse(bool),
                Silent,
                Done,
            }
            loop {
                let event = select! {
                    recv(pulse.c()) -> _ => Event::Pulse,
                    recv(ward_hb) -> p => Event::WardPulse(p.is_some()),
                    recv(alarm.c()) -> _ => Event::Silent,
                    recv(done) -> _ => Event::Done,
                };
                match event {
                    Event::Pulse => {
                        let _ = hb_tx.try_send(());
                    }
                    Event::WardPulse(true) => {
                        alarm.reset(timeout); // rule 2
                    }
                    Event::WardPulse(false) => ward_hb = never(), // rule 3
                    Event::Silent => {
                        ward_done.close(); // rule 1
                        restarts += 1;
                        on_restart(restarts);
                        (ward_done, ward_hb) = start_ward();
                        alarm.reset(timeout);
                    }
                    Event::Done => {
                        ward_done.close(); // rules 1 and 5
                        return;
                    }
                }
            }
        });
        hb
    }
}
