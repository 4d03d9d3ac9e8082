//! `select`: wait on several channel operations, complete exactly one.
//!
//! # Protocol
//!
//! Every operation (a receive on a `Receiver`, a send on a `Sender`, of any
//! flavor) implements [`SelectHandle`], a two-step protocol:
//!
//! 1. **claim** (`try_select`): without blocking, reserve the operation: a
//!    buffered receive claims a message, a buffered send claims a free slot,
//!    an unbuffered one claims a waiting counterpart. The reservation lives
//!    in a [`Token`]. A closed channel "claims" too (its completion reports
//!    the closure).
//! 2. **complete** ([`SelectedOperation::recv`] / [`SelectedOperation::send`]):
//!    move the message. A send's value is evaluated only now, so a send case
//!    that loses takes nothing from the caller.
//!
//! The engine ([`select`]) tries every case once in a fresh uniformly random
//! order (Fisher–Yates), so ready cases win with equal probability. If none
//! is ready it registers one [`Context`] in every channel's wait list (the
//! context's claim word makes sure only one channel can complete it), parks,
//! withdraws the cases that did not win, and completes the one that did (or
//! retries: a notification from a buffered channel only says "ready now",
//! and a competitor may get there first).
//!
//! `default` (no waiting) runs only after the same registration pass: the
//! first pass looks at one channel after another, so a case can become
//! ready after it was looked at while another stops being ready (Go's
//! `TestNonblockSelectRace`). Registering on every case and then
//! withdrawing closes that gap: a counterpart that arrives after our
//! registration on its channel claims us; one that came before makes the
//! registration report ready.
//!
//! A reservation that is dropped without completing (a send whose value
//! expression panicked) is *abandoned*: the slot or the waiting counterpart
//! is released, so nobody waits forever and nothing is delivered twice.
//!
//! Alternatives rejected: polling in a loop with sleeps (latency, CPU);
//! evaluating send values before selecting (a losing case would drop its
//! value); a global select lock (contention across unrelated channels).

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use crate::context::{ABORTED, Context, Entry, FIRST_OPER};
use crate::error::{SelectTimeoutError, SendError, TrySelectError};
use crate::waiter::{self, Unparker};
use crate::{Receiver, Sender};

/// A reservation made by a claim, carried to its completion. Internal;
/// public only for the `select!` macro.
#[doc(hidden)]
pub struct Token {
    pub(crate) array_slot: *const u8,
    pub(crate) array_stamp: usize,
    pub(crate) zero_packet: *mut u8,
    pub(crate) zero_partner: Option<Unparker>,
    pub(crate) zero_owned: bool,
}

impl Default for Token {
    fn default() -> Self {
        Token {
            array_slot: std::ptr::null(),
            array_stamp: 0,
            zero_packet: std::ptr::null_mut(),
            zero_partner: None,
            zero_owned: false,
        }
    }
}

/// One side of a channel taking part in a select. See the module docs.
pub(crate) trait SelectHandle {
    /// Claims the operation without blocking.
    fn try_select(&self, token: &mut Token) -> bool;
    /// Like `try_select`, for a select that will not wait (`default`):
    /// waits out a counterpart that has begun an operation on this channel
    /// and not finished it, so "not ready" is linearizable (`array.rs`,
    /// rule L1).
    fn try_select_now(&self, token: &mut Token) -> bool;
    /// Lists `cx` as waiting for case `oper`, with the entry stored in
    /// `slot`. Returns whether the case is ready right now (then the caller
    /// must not sleep).
    ///
    /// # Safety
    /// `slot` stays at its address until `unregister`, or until the case is
    /// claimed (context rule 1).
    unsafe fn register(&self, oper: usize, cx: &Context, slot: &mut Option<Entry>) -> bool;
    /// Withdraws a case that was not chosen.
    ///
    /// # Safety
    /// `entry` was registered by `register` on this handle, once; the case
    /// was not claimed for its operation.
    unsafe fn unregister(&self, entry: &mut Entry);
    /// The case was claimed for its operation while waiting: finish the
    /// reservation. `false`: it slipped away; retry.
    ///
    /// # Safety
    /// As for `unregister`, except that the case *was* claimed.
    unsafe fn accept(&self, token: &mut Token, entry: &mut Entry) -> bool;
    /// Releases a reservation that will not be completed.
    ///
    /// # Safety
    /// `token` holds an uncompleted reservation made on this handle.
    unsafe fn abandon(&self, token: &mut Token);
    /// Whether this is a send operation.
    fn is_send(&self) -> bool;
}

/// One case of a select. Internal; public for the `select!` macro.
#[doc(hidden)]
pub struct Case<'a> {
    handle: &'a dyn SelectHandle,
    ptr: *const u8,
    /// The wait-list entry while registered (it must not move meanwhile:
    /// cases stay in place for the whole select).
    entry: Option<Entry>,
}

impl<'a> Case<'a> {
    /// A receive case on `r`.
    pub fn recv<T>(r: &'a Receiver<T>) -> Self {
        Case {
            handle: r,
            ptr: r as *const Receiver<T> as *const u8,
            entry: None,
        }
    }
    /// A send case on `s`.
    pub fn send<T>(s: &'a Sender<T>) -> Self {
        Case {
            handle: s,
            ptr: s as *const Sender<T> as *const u8,
            entry: None,
        }
    }
}

/// How long a select may wait. Internal; public for the `select!` macro.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Timeout {
    /// Block until a case is ready.
    Never,
    /// Do not block (a `default` case).
    Now,
    /// Block until this instant (`default(duration)`).
    At(Instant),
}

impl Timeout {
    /// `default(d)`: wait up to `d` from now.
    #[inline]
    pub fn after(d: Duration) -> Timeout {
        match Instant::now().checked_add(d) {
            Some(t) => Timeout::At(t),
            None => Timeout::Never,
        }
    }
    fn deadline(self) -> Option<Instant> {
        match self {
            Timeout::At(t) => Some(t),
            _ => None,
        }
    }
}

/// 64 random bits. Out of line so that the thread-local generator's
/// address is never reused across a coroutine switch.
#[inline(never)]
fn rand_u64() -> u64 {
    fastrand::u64(..)
}

/// Shuffles `order` uniformly (Fisher–Yates). Each swap index comes from
/// 32 random bits by a multiply-shift (Lemire's reduction without its
/// rejection step), so one 64-bit draw serves two swaps: a case's chance
/// is off by at most `n / 2^32` of itself, far below anything a program
/// or a statistical test could see, and a four-case select makes two
/// draws instead of three.
fn shuffle(order: &mut [usize]) {
    let mut bits = 0u64;
    let mut left = 0;
    for i in (1..order.len()).rev() {
        if left == 0 {
            bits = rand_u64();
            left = 2;
        }
        let r = bits as u32 as u64;
        bits >>= 32;
        left -= 1;
        let j = ((r * (i as u64 + 1)) >> 32) as usize;
        order.swap(i, j);
    }
}

/// Runs a select over `cases`. `None`: `timeout` passed with nothing ready.
/// Internal; public for the `select!` macro.
#[doc(hidden)]
pub fn select<'a>(cases: &mut [Case<'a>], timeout: Timeout) -> Option<SelectedOperation<'a>> {
    let n = cases.len();
    let mut token = Token::default();
    if n == 0 {
        return wait_forever_or(timeout);
    }
    let mut small = [0usize; 32];
    let mut large = Vec::new();
    let order: &mut [usize] = if n <= small.len() {
        &mut small[..n]
    } else {
        large.extend(0..n);
        &mut large
    };
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    shuffle(order);
    let done = |i: usize, token: Token, cases: &[Case<'a>]| SelectedOperation {
        index: i,
        token,
        ptr: cases[i].ptr,
        handle: cases[i].handle,
        done: false,
        _marker: PhantomData,
    };
    // A select that will not wait (`default`, or a deadline already past)
    // must not miss an operation completed before it started (rule L1 of
    // `array.rs`): its pass waits out operations caught half-way.
    // (Two loops rather than a test per case: this pass is the whole of a
    // select that finds a case ready, the common case on busy channels.)
    let now_only = match timeout {
        Timeout::Now => true,
        Timeout::At(d) => Instant::now() >= d,
        Timeout::Never => false,
    };
    if now_only {
        for &i in order.iter() {
            if cases[i].handle.try_select_now(&mut token) {
                return Some(done(i, token, cases));
            }
        }
    } else {
        for &i in order.iter() {
            if cases[i].handle.try_select(&mut token) {
                return Some(done(i, token, cases));
            }
        }
    }
    let deadline = timeout.deadline();
    // Nothing was ready during the pass above, but the pass is not atomic:
    // a case seen not ready may have become ready before a later case was
    // seen (Go locks every channel for it). So before `default` runs (or we
    // park), register on every case: a counterpart that arrives after our
    // registration on its channel claims us, and one that came before it
    // makes the registration report ready. With `Timeout::Now` we then
    // withdraw at once instead of waiting; `default` is chosen only if no
    // registration saw a ready case and nobody claimed us meanwhile.
    let mut backoff = waiter::Backoff::new();
    loop {
        if !now_only && deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let cx = Context::new();
        let mut registered = 0;
        let mut saw_ready = false;
        for &i in order.iter() {
            let case = &mut cases[i];
            // SAFETY: `cases` is not moved or resized during this call, so
            // every entry stays put until it is unregistered or claimed.
            let ready = unsafe { case.handle.register(FIRST_OPER + i, &cx, &mut case.entry) };
            registered += 1;
            if ready {
                saw_ready = true;
                let _ = cx.try_claim(ABORTED);
                break;
            }
        }
        let state = if now_only {
            match cx.try_claim(ABORTED) {
                Ok(()) => ABORTED,
                Err(s) => s,
            }
        } else {
            cx.wait_until("select", deadline)
        };
        for &i in &order[..registered] {
            if state != FIRST_OPER + i {
                let case = &mut cases[i];
                // Unlink in place: a linked entry must not move.
                let entry = case.entry.as_mut().expect("registered case has its entry");
                // SAFETY: registered once above, not claimed for its operation.
                unsafe { case.handle.unregister(entry) };
                case.entry = None;
            }
        }
        if state >= FIRST_OPER {
            let i = state - FIRST_OPER;
            // The claimer unlinked it, so it may move now.
            let mut entry = cases[i].entry.take().expect("claimed case has its entry");
            // SAFETY: case i was registered and claimed for its operation.
            if unsafe { cases[i].handle.accept(&mut token, &mut entry) } {
                return Some(done(i, token, cases));
            }
        }
        for &i in order.iter() {
            if cases[i].handle.try_select(&mut token) {
                return Some(done(i, token, cases));
            }
        }
        if now_only && !saw_ready && state == ABORTED {
            // Registered on every case with none ready and nobody came:
            // there was an instant with nothing ready.
            return None;
        }
        if saw_ready {
            // A registration saw a case ready that the pass above could not
            // claim: another party took the room first, or is half-way
            // through an operation on that channel. Let it finish (it may
            // share our worker) before looking again.
            backoff.snooze();
        }
    }
}

fn wait_forever_or<'a>(timeout: Timeout) -> Option<SelectedOperation<'a>> {
    match timeout {
        Timeout::Now => None,
        Timeout::At(d) => {
            while Instant::now() < d {
                waiter::park("select (no cases)", Some(d), || true);
            }
            None
        }
        Timeout::Never => loop {
            // Go's `select {}`: block forever.
            waiter::park("select (no cases)", None, || true);
        },
    }
}

/// A chosen select case, reserved and waiting to be completed with
/// [`recv`](Self::recv) or [`send`](Self::send) on the same channel handle
/// it was registered with.
///
/// Dropping it without completing a *send* releases the reservation
/// (nothing is sent); dropping an uncompleted *receive* is a bug: it panics,
/// and the reserved message is dropped. Complete it promptly: until then it
/// holds its slot, and non-blocking operations on that channel (and the
/// drop of its last receiver, which drains the buffer) wait for it.
///
/// ```
/// use goro_chan::{chan, Select};
///
/// let (tx, rx) = chan::<&str>(1);
/// let mut sel = Select::new();
/// let send_case = sel.send(&tx);
/// let op = sel.select(); // there is room: the send case is ready
/// assert_eq!(op.index(), send_case);
/// op.send(&tx, "hello").unwrap();
/// assert_eq!(rx.recv(), Some("hello"));
/// ```
#[must_use = "a selected operation must be completed with `recv` or `send`"]
pub struct SelectedOperation<'a> {
    index: usize,
    token: Token,
    ptr: *const u8,
    handle: &'a dyn SelectHandle,
    done: bool,
    _marker: PhantomData<&'a ()>,
}

impl SelectedOperation<'_> {
    /// The index of the chosen case (the value returned when it was added).
    ///
    /// ```
    /// use goro_chan::{chan, Select};
    /// let (_a_tx, a_rx) = chan::<u8>(1);
    /// let (b_tx, b_rx) = chan::<u8>(1);
    /// b_tx.send(2).unwrap();
    /// let mut sel = Select::new();
    /// let _a = sel.recv(&a_rx);
    /// let b = sel.recv(&b_rx);
    /// let op = sel.select();
    /// assert_eq!(op.index(), b);
    /// assert_eq!(op.recv(&b_rx), Some(2));
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Completes a receive case: `None` if the channel is closed and drained.
    ///
    /// # Panics
    ///
    /// If `r` is not the receiver this case was registered with.
    ///
    /// ```
    /// use goro_chan::{chan, Select};
    /// let (tx, rx) = chan::<u8>(1);
    /// drop(tx); // closed: a receive is ready, with None
    /// let mut sel = Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.select().recv(&rx), None);
    /// ```
    pub fn recv<T>(mut self, r: &Receiver<T>) -> Option<T> {
        assert!(
            std::ptr::eq(self.ptr, r as *const Receiver<T> as *const u8),
            "SelectedOperation::recv called with a receiver that is not the selected case's"
        );
        self.done = true;
        r.complete_recv(&mut self.token)
    }

    /// Completes a send case. The value comes back in the error if the
    /// channel is closed.
    ///
    /// # Panics
    ///
    /// If `s` is not the sender this case was registered with.
    ///
    /// ```
    /// use goro_chan::{chan, Select};
    /// let (tx, rx) = chan::<u8>(1);
    /// drop(rx); // no receivers: a send is ready, and fails
    /// let mut sel = Select::new();
    /// sel.send(&tx);
    /// assert_eq!(sel.select().send(&tx, 9).unwrap_err().into_inner(), 9);
    /// ```
    pub fn send<T>(mut self, s: &Sender<T>, msg: T) -> Result<(), SendError<T>> {
        assert!(
            std::ptr::eq(self.ptr, s as *const Sender<T> as *const u8),
            "SelectedOperation::send called with a sender that is not the selected case's"
        );
        self.done = true;
        s.complete_send(&mut self.token, msg)
    }
}

impl Drop for SelectedOperation<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // SAFETY: the token holds this handle's uncompleted reservation.
        unsafe { self.handle.abandon(&mut self.token) };
        if !self.handle.is_send() && !std::thread::panicking() {
            panic!(
                "a selected receive operation was dropped without calling `recv`; its message was dropped"
            );
        }
    }
}

/// A select over a list of operations built at run time (Go's
/// `reflect.Select`). The `select!` macro covers the static case.
///
/// ```
/// use goro_chan::{chan, Select};
///
/// let chans: Vec<_> = (0..5).map(|_| chan::<u32>(1)).collect();
/// chans[3].0.send(33).unwrap();
/// let mut sel = Select::new();
/// for (_, rx) in &chans {
///     sel.recv(rx);
/// }
/// let op = sel.select();
/// let i = op.index();
/// assert_eq!(i, 3);
/// assert_eq!(op.recv(&chans[i].1), Some(33));
/// ```
#[derive(Default)]
pub struct Select<'a> {
    cases: Vec<Case<'a>>,
}

impl<'a> Select<'a> {
    /// An empty select (selecting on it blocks forever, like Go's `select {}`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut sel = goro_chan::Select::new();
    /// assert!(sel.try_select().is_err());
    /// assert!(sel.select_timeout(Duration::from_millis(1)).is_err());
    /// ```
    pub fn new() -> Self {
        Select { cases: Vec::new() }
    }

    /// Adds a receive case; returns its index.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// tx.send(1).unwrap();
    /// let mut sel = goro_chan::Select::new();
    /// let i = sel.recv(&rx);
    /// let op = sel.select();
    /// assert_eq!((op.index(), op.recv(&rx)), (i, Some(1)));
    /// ```
    pub fn recv<T>(&mut self, r: &'a Receiver<T>) -> usize {
        self.cases.push(Case::recv(r));
        self.cases.len() - 1
    }

    /// Adds a send case; returns its index. The value is given when the
    /// case is completed ([`SelectedOperation::send`]).
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// let mut sel = goro_chan::Select::new();
    /// let i = sel.send(&tx);
    /// let op = sel.select();
    /// assert_eq!(op.index(), i);
    /// op.send(&tx, 5).unwrap();
    /// assert_eq!(rx.recv(), Some(5));
    /// ```
    pub fn send<T>(&mut self, s: &'a Sender<T>) -> usize {
        self.cases.push(Case::send(s));
        self.cases.len() - 1
    }

    /// Blocks until one case is ready and returns it, reserved.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(0);
    /// std::thread::spawn(move || tx.send(3).unwrap());
    /// let mut sel = goro_chan::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.select().recv(&rx), Some(3));
    /// ```
    pub fn select(&mut self) -> SelectedOperation<'a> {
        select(&mut self.cases, Timeout::Never).expect("a select without a timeout returns a case")
    }

    /// Returns a ready case without blocking. Linearizable with completed
    /// operations, like `select!` with `default`.
    ///
    /// # Errors
    ///
    /// [`TrySelectError`] if none is ready.
    ///
    /// ```
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// let mut sel = goro_chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.try_select().is_err());
    /// tx.send(1).unwrap();
    /// assert_eq!(sel.try_select().unwrap().recv(&rx), Some(1));
    /// ```
    pub fn try_select(&mut self) -> Result<SelectedOperation<'a>, TrySelectError> {
        select(&mut self.cases, Timeout::Now).ok_or(TrySelectError)
    }

    /// Waits up to `timeout` for a case.
    ///
    /// # Errors
    ///
    /// [`SelectTimeoutError`] if none became ready in time.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = goro_chan::chan::<u8>(1);
    /// let mut sel = goro_chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.select_timeout(Duration::from_millis(5)).is_err());
    /// ```
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        select(&mut self.cases, Timeout::after(timeout)).ok_or(SelectTimeoutError)
    }

    /// Waits until `deadline` for a case.
    ///
    /// # Errors
    ///
    /// [`SelectTimeoutError`] if none became ready in time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = goro_chan::chan::<u8>(1);
    /// tx.send(4).unwrap();
    /// let mut sel = goro_chan::Select::new();
    /// sel.recv(&rx);
    /// let op = sel.select_deadline(Instant::now() + Duration::from_secs(1)).unwrap();
    /// assert_eq!(op.recv(&rx), Some(4));
    /// ```
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        select(&mut self.cases, Timeout::At(deadline)).ok_or(SelectTimeoutError)
    }
}

#[cfg(test)]
mod tests {
    use super::shuffle;

    /// Every permutation of four cases comes out equally often: 24
    /// outcomes over 240,000 shuffles, each within six standard deviations
    /// of 10,000 (a false failure has odds below one in 10^7).
    #[test]
    fn shuffle_is_uniform_over_permutations() {
        let mut counts = std::collections::HashMap::new();
        for _ in 0..240_000 {
            let mut o = [0usize, 1, 2, 3];
            shuffle(&mut o);
            *counts.entry(o).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 24);
        let sigma = (10_000.0f64 * (1.0 - 1.0 / 24.0)).sqrt();
        for (perm, &c) in &counts {
            assert!(
                (c as f64 - 10_000.0).abs() < 6.0 * sigma,
                "{perm:?} came out {c} times"
            );
        }
    }

    /// Any length (including more than one draw's worth of swaps) yields a
    /// permutation, and every position can receive every element.
    #[test]
    fn shuffle_permutes_any_length() {
        for n in [0usize, 1, 2, 3, 5, 8, 33] {
            let mut seen = vec![vec![false; n]; n];
            for _ in 0..2_000 {
                let mut o: Vec<usize> = (0..n).collect();
                shuffle(&mut o);
                let mut sorted = o.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..n).collect::<Vec<_>>());
                for (pos, &v) in o.iter().enumerate() {
                    seen[pos][v] = true;
                }
            }
            assert!(seen.iter().flatten().all(|&s| s), "n = {n}");
        }
    }
}
