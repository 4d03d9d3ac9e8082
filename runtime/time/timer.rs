//! `sleep`, `after`, `tick`, `Timer` and `Ticker` with Go 1.23 semantics.
//!
//! A `Timer` or `Ticker` is a `Shared` block (state behind a mutex, the
//! sending side of a capacity-1 channel) plus the handle's `Receiver`. The
//! runtime's timer heap holds an `Arc` to the block and the *epoch* it
//! was armed with; `stop` and `reset` bump the epoch, so entries armed
//! before them are dead (skipped when they come due, swept in bulk).
//!
//! # No stale values (Go 1.23)
//!
//! After `stop` or `reset` returns, a receive on the channel cannot produce
//! a value from before the call: both take the state lock, bump the
//! epoch and drain the channel; a firing timer sends only while
//! holding the same lock and only if its epoch is still current. So a
//! send either happened before the drain (and was drained) or sees the new
//! epoch (and does not happen).
//!
//! Lock order: timer state, then a heap's lock (re-arming). The heap side
//! never takes a timer's lock: `is_current` reads an atomic copy.
//!
//! Ticks a slow receiver misses are dropped (the channel holds one), and a
//! ticker keeps its phase: after a stall it resumes at the next multiple of
//! its period, as in Go.
//!
//! # The channel never closes
//!
//! In Go a timer's channel is never closed. Here the channel's only sender
//! lives in `Shared`, and `Shared` goes away when the last of the handle and
//! the heap entry does (after a one-shot timer fired, say, or `after(d)`'s
//! handle was consumed into its receiver). Dropping that sender would close
//! the channel, and a receiver kept around (a reused `after()` in a
//! `select!` loop) would then be ready at once, forever, with `None`. So
//! `Shared` gives its sender up with [`Sender::leave_open`]: a receive after
//! the value was taken just waits, as in Go.
//!
//! A deadline past what `Instant` can hold (`after(Duration::MAX)`) is
//! stored as "never" (`next == None`): the timer is active (so `stop`
//! reports it prevented a delivery) but has no heap entry and never fires.
//! Rejected: clamping to some far deadline (it would fire eventually, and a
//! heap entry would pin the timer until then).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goro_chan::waiter;
use goro_chan::{Receiver, Sender, chan};

use crate::sched::arm_callback_timer;
use crate::sched::timers::{Fire, instant_ns, timer_entry_dead};

struct State {
    epoch: u64,
    active: bool,
    period: Option<Duration>,
    /// When it fires next; `None`: never (the deadline overflowed).
    next: Option<Instant>,
    /// The worker slot whose heap holds the current entry.
    home: usize,
}

struct Shared {
    state: Mutex<State>,
    /// `epoch << 1 | active`, readable without the lock (heap sweeps).
    current: AtomicU64,
    /// Given up with `leave_open` on drop: the channel never closes.
    /// `Some` until then.
    tx: Option<Sender<Instant>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            tx.leave_open();
        }
    }
}

impl Shared {
    fn new(period: Option<Duration>) -> (Arc<Shared>, Receiver<Instant>) {
        let (tx, rx) = chan(1);
        let s = Arc::new(Shared {
            state: Mutex::new(State {
                epoch: 0,
                active: false,
                period,
                next: None,
                home: 0,
            }),
            current: AtomicU64::new(0),
            tx: Some(tx),
        });
        (s, rx)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, st: &State) {
        self.current
            .store(st.epoch << 1 | u64::from(st.active), Ordering::Release);
    }

    /// Arms for `st.next` under the state lock (nothing to arm for "never").
    fn arm(self: &Arc<Self>, st: &mut State) {
        if let Some(next) = st.next {
            let task: Arc<dyn Fire> = self.clone();
            st.home = arm_callback_timer(instant_ns(next), task, st.epoch);
        }
    }

    /// Starts (or restarts) the timer to fire `d` from now, under `st`; a
    /// deadline `Instant` cannot hold means never (module docs).
    fn start(self: &Arc<Self>, st: &mut State, d: Duration) {
        st.epoch += 1;
        st.active = true;
        st.next = Instant::now().checked_add(d);
        self.publish(st);
        self.arm(st);
    }

    /// Stops and drains; reports whether a value was pending (the timer
    /// was active, or had fired but its value was not received yet).
    fn stop_and_drain(&self, st: &mut State, rx: &Receiver<Instant>) -> bool {
        let was_active = st.active;
        st.epoch += 1;
        st.active = false;
        self.publish(st);
        if was_active && st.next.is_some() {
            // Its heap entry is dead now: count it so the heap sweeps it
            // instead of keeping it (and this timer) until its deadline.
            timer_entry_dead(st.home);
        }
        let mut drained = false;
        while rx.try_recv().is_ok() {
            drained = true;
        }
        was_active || drained
    }
}

impl Fire for Shared {
    fn is_current(&self, epoch: u64) -> bool {
        self.current.load(Ordering::Acquire) == (epoch << 1 | 1)
    }

    fn fire(self: Arc<Self>, epoch: u64) {
        let mut st = self.lock();
        if !(st.active && st.epoch == epoch) {
            return;
        }
        let now = Instant::now();
        let tx = self.tx.as_ref().expect("the sender lives until drop");
        // A full channel means an unreceived tick: drop this one (Go).
        let _ = tx.try_send(now);
        match st.period {
            None => {
                st.active = false;
                self.publish(&st);
            }
            Some(p) => {
                if tx.is_closed() {
                    // Nobody can receive any more (`tick` with its receiver
                    // dropped): stop instead of ticking forever.
                    st.active = false;
                    self.publish(&st);
                    return;
                }
                // It fired, so `next` was a real deadline.
                let mut next = st.next.and_then(|t| t.checked_add(p));
                if let Some(t) = next.filter(|&t| t <= now) {
                    // Stalled past one or more ticks: keep the phase, skip them.
                    let behind = (now - t).as_nanos() / p.as_nanos().max(1);
                    next = u32::try_from(behind + 1)
                        .ok()
                        .and_then(|k| p.checked_mul(k))
                        .and_then(|skip| t.checked_add(skip));
                }
                // `None` (past what `Instant` holds): it stays active, never fires.
                st.next = next;
                self.arm(&mut st);
            }
        }
    }
}

/// Parks the calling coroutine for `d` (Go's `time.Sleep`); a plain thread
/// sleeps. Never returns early.
///
/// ```
/// use std::time::{Duration, Instant};
/// goro::run(|| {
///     let t = Instant::now();
///     goro::time::sleep(Duration::from_millis(3));
///     assert!(t.elapsed() >= Duration::from_millis(3));
/// });
/// ```
pub fn sleep(d: Duration) {
    if d.is_zero() {
        return;
    }
    match Instant::now().checked_add(d) {
        // The deadline is in the future: park at once, without reading the
        // clock again (`sleep_until` would).
        Some(t) => park_until(t),
        None => loop {
            waiter::park("sleep", None, || true);
        },
    }
}

/// Parks the calling coroutine until `deadline`; returns at once if it has
/// passed.
pub fn sleep_until(deadline: Instant) {
    if Instant::now() < deadline {
        park_until(deadline);
    }
}

/// Parks until the clock reaches `deadline` (park may return early:
/// spuriously, or for a stale token; loop until it really has).
fn park_until(deadline: Instant) {
    loop {
        waiter::park("sleep", Some(deadline), || true);
        if Instant::now() >= deadline {
            return;
        }
    }
}

/// A channel that receives the current time once, after `d` (Go's
/// `time.After`). Use it in `select!` for a timeout.
///
/// The channel never closes: once its value was taken, a receive waits
/// forever (so an `after()` receiver reused across a `select!` loop fires
/// once, not on every pass). A `d` too large for `Instant` never fires.
///
/// ```
/// use std::time::Duration;
/// let rx = goro::time::after(Duration::from_millis(1));
/// assert!(rx.recv().is_some());
/// ```
pub fn after(d: Duration) -> Receiver<Instant> {
    Timer::new(d).into_chan()
}

/// A channel that receives the time every `d` (Go's `time.Tick`). It ticks
/// until its receivers are dropped. Ticks a slow receiver misses are
/// dropped.
///
/// # Panics
///
/// If `d` is zero (Go panics too).
///
/// ```
/// use std::time::Duration;
/// let ticks = goro::time::tick(Duration::from_millis(1));
/// for _ in 0..3 {
///     ticks.recv().unwrap();
/// }
/// ```
pub fn tick(d: Duration) -> Receiver<Instant> {
    let t = Ticker::new(d);
    let rx = t.rx.clone();
    // The heap entry keeps the ticker alive while it ticks; it stops (and
    // is freed) once no receiver is left.
    drop(t.into_shared());
    rx
}

/// A one-shot timer delivering the time on its channel (Go's `time.Timer`).
///
/// Dropping the handle does not stop it (a receiver you cloned still gets
/// the value); call [`stop`](Timer::stop) for that.
///
/// ```
/// use std::time::Duration;
/// use goro::time::Timer;
/// let t = Timer::new(Duration::from_secs(60));
/// assert!(t.stop(), "it had not fired yet");
/// assert!(t.c().try_recv().is_err(), "and nothing stale is left");
/// t.reset(Duration::from_millis(1));
/// assert!(t.c().recv().is_some());
/// ```
pub struct Timer {
    shared: Arc<Shared>,
    rx: Receiver<Instant>,
}

impl Timer {
    /// A timer that fires once, after `d`.
    pub fn new(d: Duration) -> Timer {
        let (shared, rx) = Shared::new(None);
        {
            let mut st = shared.lock();
            shared.start(&mut st, d);
        }
        Timer { shared, rx }
    }

    /// The channel the time is delivered on (Go's `t.C`).
    pub fn c(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// The channel, consuming the handle (the timer keeps running).
    pub fn into_chan(self) -> Receiver<Instant> {
        self.rx
    }

    /// Stops the timer. Returns `true` if this prevented a delivery (it had
    /// not fired, or its value was not received yet); `false` if it already
    /// fired and was received, or was stopped. Afterwards nothing stale is
    /// received from [`c`](Timer::c).
    pub fn stop(&self) -> bool {
        let mut st = self.shared.lock();
        self.shared.stop_and_drain(&mut st, &self.rx)
    }

    /// Stops the timer and restarts it to fire after `d`. Returns what
    /// [`stop`](Timer::stop) would have.
    pub fn reset(&self, d: Duration) -> bool {
        let mut st = self.shared.lock();
        let was = self.shared.stop_and_drain(&mut st, &self.rx);
        self.shared.start(&mut st, d);
        was
    }
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer")
            .field("active", &self.shared.lock().active)
            .finish()
    }
}

/// Delivers the time every period on its channel (Go's `time.Ticker`).
/// Dropping the handle stops it.
///
/// ```
/// use std::time::Duration;
/// use goro::time::Ticker;
/// let t = Ticker::new(Duration::from_millis(1));
/// t.c().recv().unwrap();
/// t.c().recv().unwrap();
/// t.stop();
/// ```
pub struct Ticker {
    shared: Arc<Shared>,
    rx: Receiver<Instant>,
}

impl Ticker {
    /// A ticker with period `d`.
    ///
    /// # Panics
    ///
    /// If `d` is zero.
    pub fn new(d: Duration) -> Ticker {
        assert!(!d.is_zero(), "goro::time::Ticker: non-positive interval");
        let (shared, rx) = Shared::new(Some(d));
        {
            let mut st = shared.lock();
            shared.start(&mut st, d);
        }
        Ticker { shared, rx }
    }

    /// The channel ticks are delivered on (Go's `t.C`).
    pub fn c(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops ticking; no stale tick is received afterwards.
    pub fn stop(&self) {
        let mut st = self.shared.lock();
        self.shared.stop_and_drain(&mut st, &self.rx);
    }

    /// Changes the period to `d` and restarts the phase from now.
    ///
    /// # Panics
    ///
    /// If `d` is zero.
    pub fn reset(&self, d: Duration) {
        assert!(
            !d.is_zero(),
            "goro::time::Ticker::reset: non-positive interval"
        );
        let mut st = self.shared.lock();
        self.shared.stop_and_drain(&mut st, &self.rx);
        st.period = Some(d);
        self.shared.start(&mut st, d);
    }

    /// Keeps the ticker running without a handle (for `tick`).
    fn into_shared(self) -> Arc<Shared> {
        let me = std::mem::ManuallyDrop::new(self);
        // SAFETY: `me` is never dropped; each field is read out exactly once.
        unsafe {
            drop(std::ptr::read(&me.rx));
            std::ptr::read(&me.shared)
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("Ticker")
            .field("period", &st.period)
            .field("active", &st.active)
            .finish()
    }
}
