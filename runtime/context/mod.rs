//! Go's `context` package (Go 1.21+ semantics) for coroutines.
//!
//! A [`Context`] carries a cancellation signal, an optional deadline and
//! request-scoped values down a call tree. [`Context::done`] is a channel
//! that is *closed* (never sent to) when the context ends, so any number of
//! coroutines can wait on it in `select!`:
//!
//! ```
//! use std::time::Duration;
//! use goro::{context, select};
//!
//! goro::run(|| {
//!     let (ctx, cancel) = context::with_cancel(&context::background());
//!     let worker = {
//!         let ctx = ctx.clone();
//!         goro::go!(move || {
//!             let mut n = 0u64;
//!             loop {
//!                 select! {
//!                     recv(ctx.done()) -> _ => return n,
//!                     default => n += 1,
//!                 }
//!             }
//!         })
//!     };
//!     goro::time::sleep(Duration::from_millis(2));
//!     cancel.cancel();
//!     worker.join().unwrap();
//!     assert_eq!(ctx.err(), Some(context::Error::Canceled));
//!     assert_eq!(ctx.err().unwrap().to_string(), "context canceled");
//! });
//! ```
//!
//! # Shape
//!
//! A `Context` is an `Arc` to one layer: background / todo, a cancellable
//! node held inline (`node.rs`: the cancellation tree; one allocation per
//! cancellable context), a value, or a `without_cancel` wrapper. Layers point at their parent; cloning is one
//! reference-count increment. Values are found by walking up the layers
//! (as in Go: a lookup is O(depth)). Dropping the last handle to a chain of
//! layers unlinks it in a loop (`Layer`'s `Drop`), not by recursion, so a
//! chain of any depth drops in constant stack.
//!
//! # Dropping a `CancelFunc` does *not* cancel
//!
//! As in Go, a context ends only when its cancel function is called, its
//! deadline passes, or its parent ends. Cancel-on-drop was rejected: the
//! common `let (ctx, _) = with_cancel(&p)` would bind `_`, drop the
//! function at once and hand back a context that is already cancelled, and
//! a `CancelFunc` moved into a coroutine that returns early would end the
//! context for everyone else. Until it is cancelled, a child stays
//! registered with its parent while any handle to it (a `Context` clone,
//! its `CancelFunc`, a descendant) is alive; once the last one is dropped
//! it leaves its parent at once (Go would keep it until the parent ends),
//! while a `done()` receiver or an after-func that outlives it is still
//! served when an ancestor ends. So call `cancel` when you are done with a
//! context you keep, as in Go.
//!
//! Alternatives rejected: a coroutine per deadline (the runtime's timer
//! heap fires the cancel instead); `Any` downcasts at call sites (a typed
//! [`Key`] does the downcast inside `value`).

mod node;

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use goro_chan::{Receiver, never};

use node::{AfterCell, Node};

/// Why a context ended (Go's `context.Canceled` / `DeadlineExceeded`).
///
/// ```
/// use goro::context::Error;
/// assert_eq!(Error::Canceled.to_string(), "context canceled");
/// assert_eq!(Error::DeadlineExceeded.to_string(), "context deadline exceeded");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Ended by a cancel function (its own or an ancestor's).
    Canceled,
    /// Ended because its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for Error {}

/// The cause a context was ended with (Go's `context.Cause`): the error
/// given to a `_cause` function, or the context's [`Error`] otherwise.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A typed key for [`with_value`]. Declare keys as `static` items: a key is
/// identified by its address, so two keys never collide even if they have
/// the same name and type (a `const` key would be a new key at each use).
///
/// ```
/// use goro::context::{self, Key};
/// static USER: Key<String> = Key::new("user");
/// let ctx = context::with_value(&context::background(), &USER, "gopher".to_string());
/// assert_eq!(ctx.value(&USER).map(String::as_str), Some("gopher"));
/// ```
pub struct Key<T> {
    name: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// A key named `name` (the name is for `Debug` only).
    pub const fn new(name: &'static str) -> Key<T> {
        Key {
            name,
            _t: PhantomData,
        }
    }

    fn id(&self) -> usize {
        self as *const Key<T> as usize
    }
}

impl<T> std::fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.name)
    }
}

/// One link of a context chain: what this context adds, and the context it
/// was derived from (`None` only for `background` / `todo`).
struct Layer {
    parent: Option<Context>,
    kind: Kind,
}

enum Kind {
    Background,
    Todo,
    /// Cancellable: the node is inline (one allocation per context).
    Cancel {
        node: Node,
        deadline: Option<Instant>,
    },
    Value {
        key: usize,
        value: Box<dyn Any + Send + Sync>,
    },
    WithoutCancel,
}

impl Layer {
    fn root(kind: Kind) -> Layer {
        Layer { parent: None, kind }
    }

    fn on(parent: &Context, kind: Kind) -> Context {
        Context(Arc::new(Layer {
            parent: Some(parent.clone()),
            kind,
        }))
    }
}

impl Drop for Layer {
    /// Releases a live cancellable layer from its parent (`node.rs`,
    /// rule 5), then unlinks the chain iteratively: each layer whose last
    /// reference this was is released and hands its parent to the loop
    /// instead of dropping it in place, so a chain a million layers long
    /// drops in constant stack.
    fn drop(&mut self) {
        let addr: *const Layer = self;
        node::release(self, addr);
        let mut next = self.parent.take();
        while let Some(Context(arc)) = next {
            // The address in the allocation, which the parent's list
            // holds; `into_inner` moves the layer out of it.
            let addr = Arc::as_ptr(&arc);
            next = Arc::into_inner(arc).and_then(|mut l| {
                node::release(&mut l, addr);
                l.parent.take()
            });
        }
    }
}

/// A cancellation scope with a deadline and values (Go's `context.Context`).
/// Cheap to clone (`Arc`), `Send + Sync`.
#[derive(Clone)]
pub struct Context(Arc<Layer>);

impl Context {
    /// A channel that is closed when the context ends. For a context that
    /// can never end ([`background`], [`without_cancel`]) it never closes.
    ///
    /// ```
    /// use goro::context;
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// cancel.cancel();
    /// assert_eq!(ctx.done().recv(), None); // closed: receives return at once
    /// ```
    pub fn done(&self) -> Receiver<()> {
        match self.cancel_node() {
            Some(n) => n.done(),
            None => never(),
        }
    }

    /// `None` while the context is live, then why it ended.
    ///
    /// ```
    /// use goro::context;
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// assert_eq!(ctx.err(), None);
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(context::Error::Canceled));
    /// ```
    pub fn err(&self) -> Option<Error> {
        self.cancel_node().and_then(|n| n.err())
    }

    /// The earliest deadline of this context and its ancestors, if any.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use goro::context;
    /// let at = Instant::now() + Duration::from_secs(60);
    /// let (ctx, _cancel) = context::with_deadline(&context::background(), at);
    /// assert_eq!(ctx.deadline(), Some(at));
    /// assert_eq!(context::background().deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        let mut c = self;
        loop {
            match &c.0.kind {
                Kind::Background | Kind::Todo | Kind::WithoutCancel => return None,
                Kind::Cancel {
                    deadline: Some(d), ..
                } => return Some(*d),
                Kind::Cancel { .. } | Kind::Value { .. } => c = c.parent()?,
            }
        }
    }

    /// The value stored under `key` by the nearest [`with_value`] layer.
    ///
    /// ```
    /// use goro::context::{self, Key};
    /// static ID: Key<u64> = Key::new("request-id");
    /// static OTHER: Key<u64> = Key::new("other");
    /// let ctx = context::with_value(&context::background(), &ID, 7);
    /// let (child, _c) = context::with_cancel(&ctx);
    /// assert_eq!(child.value(&ID), Some(&7));
    /// assert_eq!(child.value(&OTHER), None);
    /// ```
    pub fn value<T: Send + Sync + 'static>(&self, key: &'static Key<T>) -> Option<&T> {
        let id = key.id();
        let mut c = self;
        loop {
            if let Kind::Value { key, value } = &c.0.kind
                && *key == id
            {
                return value.downcast_ref::<T>();
            }
            c = c.parent()?;
        }
    }

    /// How many live children are registered with this context's
    /// cancellation node (for tests of detaching).
    #[doc(hidden)]
    pub fn child_count(&self) -> usize {
        self.cancel_node().map_or(0, |n| n.child_count())
    }

    /// The nearest cancellable layer's node.
    fn cancel_node(&self) -> Option<&Node> {
        node::cancel_node(self)
    }

    fn parent(&self) -> Option<&Context> {
        self.0.parent.as_ref()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.0.kind {
            Kind::Background => "context.Background",
            Kind::Todo => "context.TODO",
            Kind::Cancel { deadline: None, .. } => "context.WithCancel",
            Kind::Cancel { .. } => "context.WithDeadline",
            Kind::Value { .. } => "context.WithValue",
            Kind::WithoutCancel => "context.WithoutCancel",
        };
        f.debug_struct(kind).field("err", &self.err()).finish()
    }
}

/// The root context: never ends, no deadline, no values.
///
/// ```
/// let ctx = goro::context::background();
/// assert_eq!(ctx.err(), None);
/// ```
pub fn background() -> Context {
    static BG: std::sync::OnceLock<Context> = std::sync::OnceLock::new();
    BG.get_or_init(|| Context(Arc::new(Layer::root(Kind::Background))))
        .clone()
}

/// Like [`background`]; marks code that has not decided which context to
/// use yet.
///
/// ```
/// assert_eq!(goro::context::todo().deadline(), None);
/// ```
pub fn todo() -> Context {
    Context(Arc::new(Layer::root(Kind::Todo)))
}

/// Ends its context (Go's `CancelFunc`). Idempotent; cloneable. Dropping it
/// does not cancel (see the module docs).
#[derive(Clone)]
pub struct CancelFunc(Arc<Layer>);

impl CancelFunc {
    /// Ends the context and all its descendants with [`Error::Canceled`],
    /// and detaches it from its parent. Later calls do nothing.
    ///
    /// On a coroutine, a cancel that ends hundreds of contexts yields now
    /// and then (as [`crate::yield_now`]) so that the coroutines it wakes
    /// run meanwhile; like any blocking call, it must not be made while
    /// holding a thread-bound guard (a `std::sync::MutexGuard`).
    ///
    /// ```
    /// use goro::context;
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// cancel.cancel();
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(context::Error::Canceled));
    /// ```
    pub fn cancel(&self) {
        node::cancel(&self.0, Error::Canceled, None);
    }
}

impl std::fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CancelFunc")
    }
}

/// Ends its context with a cause (Go's `CancelCauseFunc`).
#[derive(Clone)]
pub struct CancelCauseFunc(Arc<Layer>);

impl CancelCauseFunc {
    /// Ends the context with [`Error::Canceled`] and `cause` (reported by
    /// [`cause`]). Only the first call counts.
    ///
    /// ```
    /// use goro::context;
    /// let (ctx, cancel) = context::with_cancel_cause(&context::background());
    /// cancel.cancel(std::io::Error::other("disk on fire"));
    /// assert_eq!(ctx.err(), Some(context::Error::Canceled));
    /// assert_eq!(context::cause(&ctx).unwrap().to_string(), "disk on fire");
    /// ```
    pub fn cancel<E: std::error::Error + Send + Sync + 'static>(&self, cause: E) {
        node::cancel(&self.0, Error::Canceled, Some(Arc::new(cause)));
    }

    /// Like [`cancel`](Self::cancel) with an already shared cause; `None`
    /// means the cause is [`Error::Canceled`] (Go's `cancel(nil)`).
    pub fn cancel_with(&self, cause: Option<Cause>) {
        node::cancel(&self.0, Error::Canceled, cause);
    }
}

impl std::fmt::Debug for CancelCauseFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CancelCauseFunc")
    }
}

fn new_cancel(parent: &Context, deadline: Option<Instant>) -> (Context, Arc<Layer>) {
    let layer = node::new_layer(parent, deadline);
    (Context(layer.clone()), layer)
}

/// A child of `parent` that ends when the returned function is called or
/// `parent` ends, whichever is first (Go's `context.WithCancel`). A child
/// of an ended parent is born ended.
///
/// ```
/// use goro::context;
/// let (parent, cancel) = context::with_cancel(&context::background());
/// let (child, _child_cancel) = context::with_cancel(&parent);
/// cancel.cancel();
/// assert_eq!(child.err(), Some(context::Error::Canceled));
/// ```
pub fn with_cancel(parent: &Context) -> (Context, CancelFunc) {
    let (ctx, node) = new_cancel(parent, None);
    (ctx, CancelFunc(node))
}

/// Like [`with_cancel`], but the function records a cause (Go's
/// `WithCancelCause`).
///
/// ```
/// use goro::context;
/// let (ctx, cancel) = context::with_cancel_cause(&context::background());
/// cancel.cancel_with(None);
/// assert_eq!(context::cause(&ctx).unwrap().to_string(), "context canceled");
/// ```
pub fn with_cancel_cause(parent: &Context) -> (Context, CancelCauseFunc) {
    let (ctx, node) = new_cancel(parent, None);
    (ctx, CancelCauseFunc(node))
}

/// A child that also ends with [`Error::DeadlineExceeded`] at `at` (Go's
/// `WithDeadline`). The deadline is one runtime timer, not a coroutine. If
/// the parent's deadline is earlier, this is [`with_cancel`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use goro::context;
/// let (ctx, _cancel) = context::with_deadline(&context::background(), Instant::now());
/// assert_eq!(ctx.err(), Some(context::Error::DeadlineExceeded));
/// ```
pub fn with_deadline(parent: &Context, at: Instant) -> (Context, CancelFunc) {
    let (ctx, node) = deadline_node(parent, at, None);
    (ctx, CancelFunc(node))
}

/// [`with_deadline`] whose expiry reports `cause` through [`cause`].
///
/// ```
/// use std::time::Instant;
/// use goro::context;
/// let (ctx, _c) = context::with_deadline_cause(
///     &context::background(), Instant::now(), std::io::Error::other("too slow"));
/// assert_eq!(context::cause(&ctx).unwrap().to_string(), "too slow");
/// ```
pub fn with_deadline_cause<E: std::error::Error + Send + Sync + 'static>(
    parent: &Context,
    at: Instant,
    cause: E,
) -> (Context, CancelFunc) {
    let (ctx, node) = deadline_node(parent, at, Some(Arc::new(cause)));
    (ctx, CancelFunc(node))
}

/// `with_deadline(parent, now + d)` (Go's `WithTimeout`).
///
/// ```
/// use std::time::Duration;
/// use goro::context;
/// goro::run(|| {
///     let (ctx, _c) = context::with_timeout(&context::background(), Duration::from_millis(5));
///     assert_eq!(ctx.done().recv(), None); // returns once the deadline passes
///     assert_eq!(ctx.err(), Some(context::Error::DeadlineExceeded));
/// });
/// ```
pub fn with_timeout(parent: &Context, d: Duration) -> (Context, CancelFunc) {
    with_deadline(parent, Instant::now() + d)
}

/// `with_deadline_cause(parent, now + d, cause)` (Go's `WithTimeoutCause`).
///
/// ```
/// use std::time::Duration;
/// use goro::context;
/// let (ctx, c) = context::with_timeout_cause(
///     &context::background(), Duration::from_secs(60), std::io::Error::other("slow"));
/// c.cancel(); // cancelled before the deadline: the cause is Canceled
/// assert_eq!(context::cause(&ctx).unwrap().to_string(), "context canceled");
/// ```
pub fn with_timeout_cause<E: std::error::Error + Send + Sync + 'static>(
    parent: &Context,
    d: Duration,
    cause: E,
) -> (Context, CancelFunc) {
    with_deadline_cause(parent, Instant::now() + d, cause)
}

fn deadline_node(parent: &Context, at: Instant, cause: Option<Cause>) -> (Context, Arc<Layer>) {
    if parent.deadline().is_some_and(|pd| pd <= at) {
        return new_cancel(parent, None);
    }
    let (ctx, layer) = new_cancel(parent, Some(at));
    node::arm_deadline(&layer, at, cause);
    (ctx, layer)
}

/// A child carrying `value` under `key` (Go's `WithValue`); it ends with
/// its parent.
///
/// ```
/// use goro::context::{self, Key};
/// static LANG: Key<&'static str> = Key::new("lang");
/// let ctx = context::with_value(&context::background(), &LANG, "en");
/// let ctx = context::with_value(&ctx, &LANG, "fr"); // shadows
/// assert_eq!(ctx.value(&LANG), Some(&"fr"));
/// ```
pub fn with_value<T: Send + Sync + 'static>(
    parent: &Context,
    key: &'static Key<T>,
    value: T,
) -> Context {
    Layer::on(
        parent,
        Kind::Value {
            key: key.id(),
            value: Box::new(value),
        },
    )
}

/// A context with `parent`'s values that never ends: no deadline, `err()`
/// is `None`, `done()` never closes (Go's `WithoutCancel`).
///
/// ```
/// use goro::context::{self, Key};
/// static K: Key<u8> = Key::new("k");
/// let (p, cancel) = context::with_cancel(&context::with_value(&context::background(), &K, 1));
/// let detached = context::without_cancel(&p);
/// cancel.cancel();
/// assert_eq!(detached.err(), None);
/// assert_eq!(detached.value(&K), Some(&1));
/// ```
pub fn without_cancel(parent: &Context) -> Context {
    Layer::on(parent, Kind::WithoutCancel)
}

/// Why `ctx` ended: the cause given to a `_cause` function, else its
/// [`Error`]; `None` while it is live (Go's `context.Cause`).
///
/// ```
/// use goro::context;
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// assert!(context::cause(&ctx).is_none());
/// cancel.cancel();
/// assert_eq!(context::cause(&ctx).unwrap().to_string(), "context canceled");
/// ```
pub fn cause(ctx: &Context) -> Option<Cause> {
    ctx.cancel_node().and_then(|n| n.cause())
}

/// Stops an [`after_func`] registration.
pub struct AfterFuncStop {
    /// The context's layer (to forget the registration), its id there, and
    /// the cell holding the function (`node.rs`, rule 6).
    reg: Option<(std::sync::Weak<Layer>, u64, AfterCell)>,
}

impl std::fmt::Debug for AfterFuncStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AfterFuncStop")
            .field("registered", &self.reg.is_some())
            .finish()
    }
}

impl AfterFuncStop {
    /// Unregisters the function. Returns `true` if that stopped it from
    /// being run, `false` if it has already been started (or stopped).
    ///
    /// ```
    /// use goro::context;
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// let stop = context::after_func(&ctx, || panic!("never runs"));
    /// assert!(stop.stop());
    /// cancel.cancel();
    /// assert!(!stop.stop());
    /// ```
    pub fn stop(&self) -> bool {
        let Some((layer, id, cell)) = &self.reg else {
            return false;
        };
        // Rule 6: whoever takes the function out decides.
        let f = cell.lock().unwrap_or_else(|p| p.into_inner()).take();
        let stopped = f.is_some();
        // Dropped outside the cell's lock: the function may hold the last
        // handle of a context whose release visits this cell again.
        drop(f);
        if stopped
            && let Some(l) = layer.upgrade()
            && let Kind::Cancel { node, .. } = &l.kind
        {
            node.forget_after(*id);
        }
        stopped
    }
}

/// Runs `f` on a new coroutine once `ctx` ends (at once if it has ended),
/// exactly once (Go's `context.AfterFunc`). For a context that never ends,
/// `f` never runs.
///
/// ```
/// use goro::context;
/// goro::run(|| {
///     let (ctx, cancel) = context::with_cancel(&context::background());
///     let (tx, rx) = goro::chan::<&str>(1);
///     let _stop = context::after_func(&ctx, move || { tx.send("cleaned up").unwrap(); });
///     cancel.cancel();
///     assert_eq!(rx.recv(), Some("cleaned up"));
/// });
/// ```
pub fn after_func<F: FnOnce() + Send + 'static>(ctx: &Context, f: F) -> AfterFuncStop {
    let reg = node::cancel_layer(ctx).and_then(|(l, n)| {
        n.after(Box::new(f))
            .map(|(id, cell)| (Arc::downgrade(l), id, cell))
    });
    AfterFuncStop { reg }
}

#[cfg(test)]
mod layout {
    /// A cancellable layer is one `Arc` block: two counts and the layer.
    /// glibc serves requests up to 120 bytes from its fast bins (128-byte
    /// chunks); one word more made the ctxtree cancel at n = 1M about 1.3x
    /// slower (`docs/benchmarks.md`, 2026-12-03). Guards the layer's size
    /// (two-word channel handles, `Node::slot` four bytes).
    #[test]
    fn a_layer_block_fits_a_fast_bin() {
        let block = 2 * std::mem::size_of::<usize>() + std::mem::size_of::<super::Layer>();
        assert!(block <= 120, "Arc<Layer> block is {block} bytes");
    }
}
