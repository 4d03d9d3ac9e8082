//! Heartbeats (the book's chapter 5): a worker tells whoever watches it
//! that it is alive by pulsing on a channel, at a fixed interval while it
//! waits and, if it likes, once per unit of work.
//!
//! [`heartbeat`] gives the worker a [`Heartbeat`] and the watcher the
//! pulse channel. The worker does its waiting through the `Heartbeat`
//! ([`send`](Heartbeat::send), [`recv`](Heartbeat::recv),
//! [`sleep`](Heartbeat::sleep)): each of these is the book's `select` over
//! done, the pulse ticker and the operation, so a worker blocked on its
//! reader or its input still pulses, while a worker stuck in computation
//! (or dead) does not — which is what the watcher wants to see.
//!
//! Invariants: a pulse is a `try_send` on an unbuffered channel — it is
//! delivered only to a watcher waiting for it right then and dropped
//! otherwise, so a worker never blocks on its heartbeat and pulses never
//! pile up; the `Heartbeat` holds the pulse channel's only `Sender`, so
//! dropping it (the worker returning) closes the channel and the watcher
//! learns the worker is gone. No coroutine is started; the ticker is the
//! runtime's timer and stops with the `Heartbeat`.
//!
//! Alternatives rejected: a buffered pulse channel (a watcher would read a
//! stale pulse from a worker that has since hung); a coroutine pulsing on
//! the worker's behalf (it would keep pulsing while the worker is stuck,
//! defeating the point).

use std::time::{Duration, Instant};

use goro_chan::{Receiver, SendError, Sender, chan, never, select};

use super::Done;
use crate::time::Ticker;

/// A worker's side of a heartbeat (made by [`heartbeat`]): the worker
/// waits through it so that it pulses while it waits. Dropping it closes
/// the pulse channel.
///
/// ```
/// use std::time::Duration;
/// use goro::chan::chan;
/// use goro::pattern::heartbeat;
///
/// goro::run(|| {
///     let (_stop, done) = chan::<()>(0);
///     let (hb, pulses) = heartbeat(&done, Duration::from_millis(1));
///     let (tx, rx) = chan::<u32>(0);
///     let worker = goro::go!(move || {
///         for i in 0..3 {
///             hb.pulse(); // one pulse per unit of work
///             hb.send(&tx, i).unwrap(); // pulses while the reader is away
///         }
///     });
///     goro::time::sleep(Duration::from_millis(5));
///     assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
///     worker.join().unwrap();
///     while pulses.recv().is_some() {} // ends: the Heartbeat was dropped
/// });
/// ```
pub struct Heartbeat {
    done: Receiver<()>,
    pulse: Sender<()>,
    ticker: Ticker,
}

/// A heartbeat pulsing every `interval` while the worker waits through the
/// returned [`Heartbeat`], and the channel a watcher receives pulses on
/// (closed when the `Heartbeat` is dropped). Pulses nobody is waiting for
/// are dropped.
///
/// # Panics
///
/// If `interval` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
/// use goro::chan::chan;
/// use goro::pattern::heartbeat;
/// use goro::select;
///
/// goro::run(|| {
///     let (stop, done) = chan::<()>(0);
///     let interval = Duration::from_millis(2);
///     let (hb, pulses) = heartbeat(&done, interval);
///     let (results_tx, results) = chan::<Instant>(0);
///     // The book's doWork: a result every 2 intervals, pulsing meanwhile.
///     goro::go!(move || {
///         while hb.sleep(2 * interval) {
///             if hb.send(&results_tx, Instant::now()).is_err() {
///                 return;
///             }
///         }
///     });
///     let (mut beats, mut got) = (0, 0);
///     while got < 3 {
///         select! {
///             recv(pulses) -> p => { assert!(p.is_some()); beats += 1 },
///             recv(results) -> r => { assert!(r.is_some()); got += 1 },
///         }
///     }
///     drop(stop);
///     // The worker returns and its Heartbeat closes the pulse channel.
///     while pulses.recv().is_some() {}
///     println!("{beats} pulses, {got} results");
/// });
/// ```
pub fn heartbeat(done: impl Done, interval: Duration) -> (Heartbeat, Receiver<()>) {
    assert!(
        !interval.is_zero(),
        "goro::pattern::heartbeat: interval must be positive"
    );
    let (pulse, pulses) = chan(0);
    let hb = Heartbeat {
        done: done.into_done(),
        pulse,
        ticker: Ticker::new(interval),
    };
    (hb, pulses)
}

impl Heartbeat {
    /// Pulses now (the book's heartbeat per unit of work), dropping the
    /// pulse if no watcher is waiting for one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::chan::never;
    /// use goro::pattern::heartbeat;
    ///
    /// let (hb, pulses) = heartbeat(never::<()>(), Duration::from_secs(60));
    /// hb.pulse(); // nobody waiting: dropped, does not block
    /// assert!(pulses.try_recv().is_err());
    /// ```
    pub fn pulse(&self) {
        let _ = self.pulse.try_send(());
    }

    /// Whether the done signal has fired.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::chan::chan;
    /// use goro::pattern::heartbeat;
    ///
    /// let (stop, done) = chan::<()>(0);
    /// let (hb, _pulses) = heartbeat(done, Duration::from_secs(60));
    /// assert!(!hb.is_done());
    /// drop(stop);
    /// assert!(hb.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.done.is_closed()
    }

    /// Sends `v` on `tx`, pulsing every interval while it waits.
    ///
    /// # Errors
    ///
    /// If done fires first or `tx`'s readers are gone; the value comes back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::chan::chan;
    /// use goro::pattern::heartbeat;
    ///
    /// let (stop, done) = chan::<()>(0);
    /// let (hb, _pulses) = heartbeat(done, Duration::from_millis(1));
    /// let (tx, rx) = chan::<u8>(1);
    /// hb.send(&tx, 1).unwrap(); // the buffer is now full
    /// drop(stop);
    /// assert_eq!(hb.send(&tx, 2).unwrap_err().into_inner(), 2);
    /// assert_eq!(rx.recv(), Some(1));
    /// ```
    pub fn send<T>(&self, tx: &Sender<T>, v: T) -> Result<(), SendError<T>> {
        let mut v = Some(v);
        loop {
            select! {
                send(tx, v.take().expect("the value is taken once")) -> r => return r,
                recv(self.done) -> _ => break,
                recv(self.ticker.c()) -> _ => self.pulse(),
            }
        }
        Err(SendError(v.expect("the send case was not chosen")))
    }

    /// Receives from `rx`, pulsing every interval while it waits. `None`
    /// when `rx` is closed and drained, or done fires first (tell them
    /// apart with [`is_done`](Heartbeat::is_done)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::chan::{chan, never};
    /// use goro::pattern::heartbeat;
    ///
    /// let (hb, _pulses) = heartbeat(never::<()>(), Duration::from_millis(1));
    /// let (tx, rx) = chan::<u8>(1);
    /// tx.send(5).unwrap();
    /// drop(tx);
    /// assert_eq!(hb.recv(&rx), Some(5));
    /// assert_eq!(hb.recv(&rx), None);
    /// ```
    pub fn recv<T>(&self, rx: &Receiver<T>) -> Option<T> {
        loop {
            select! {
                recv(rx) -> v => return v,
                recv(self.done) -> _ => return None,
                recv(self.ticker.c()) -> _ => self.pulse(),
            }
        }
    }

    /// Waits for `d`, pulsing every interval meanwhile (the book's worker
    /// waiting on its work generator). `false` if done fired first.
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::chan::never;
    /// use goro::pattern::heartbeat;
    ///
    /// let (hb, _pulses) = heartbeat(never::<()>(), Duration::from_millis(1));
    /// assert!(hb.sleep(Duration::from_millis(3)));
    /// ```
    pub fn sleep(&self, d: Duration) -> bool {
        let Some(deadline) = Instant::now().checked_add(d) else {
            // Unrepresentable: wait for done alone, pulsing.
            return self.recv(&never::<()>()).is_some();
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            select! {
                recv(self.done) -> _ => return false,
                recv(self.ticker.c()) -> _ => self.pulse(),
                default(left) => return true,
            }
        }
    }
}

impl std::fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heartbeat")
            .field("done", &self.is_done())
            .finish_non_exhaustive()
    }
}
