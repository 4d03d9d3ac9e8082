//! The cancellation tree behind `goro::context`: one [`Node`] per
//! cancellable context (`with_cancel`, `with_deadline`, ...).
//!
//! # Shape
//!
//! * A node owns its live children in a dense `Vec<Arc<Node>>`; each child
//!   remembers its index there (`slot`). Adding a child is a push, removing
//!   one a `swap_remove` plus one slot fix-up: O(1), no hashing, no id
//!   counter, and a cancel walks the children in creation order (the order
//!   they sit in memory), which keeps a million-child cancel streaming
//!   instead of hopping about the heap.
//! * A child keeps only a `Weak` to its parent, so there is no reference
//!   cycle: a tree nobody cancels is freed when its handles are dropped.
//! * Cancelling takes an explicit stack of child iterators: a node is
//!   locked, marked ended, its done channel taken, its children and
//!   after-funcs taken out, unlocked, then the channel closed and the
//!   children visited. Nothing recurses, so a tree a million deep or a
//!   million wide cancels in constant machine stack (and, for a chain,
//!   constant heap: exhausted iterators are popped before descending).
//! * Dropping a node drops its children the same way (a chain nobody
//!   cancelled would otherwise drop recursively).
//! * The node that is cancelled *directly* (its `CancelFunc`, its deadline)
//!   removes itself from its parent's vector, so a parent that lives long
//!   while children come and go does not grow. Nodes reached through the
//!   cascade need not: the parent has already emptied its vector.
//! * A cause is stored only when it is not the error itself (a `_cause`
//!   function, a deadline cause): a plain cancel of a million descendants
//!   then bumps no shared reference count; [`Node::cause`] builds the
//!   default on demand.
//! * Rarely used state (after-funcs, the deadline's cause and timer) lives
//!   in a boxed [`Extra`], so the common node is small (one allocation of
//!   112 bytes with its counts, plus its done channel, made on first
//!   `done()`).
//! * A deadline is one entry in the runtime's timer heap (the node itself
//!   implements the driver's `Fire`); no coroutine per deadline. Cancelling
//!   early marks the entry dead so the heap sweeps it.
//!
//! # Rules (cited by comments below)
//!
//! 1. `code` goes from `LIVE` to `CANCELED` or `DEADLINE` once, under the
//!    node's lock, before its children are taken; after that no child is
//!    added (a child made later is born ended). So a child linking
//!    concurrently either sees the parent ended, or is pushed before the
//!    drain and is ended by it.
//! 2. `slot` is read and written only under the *parent's* lock, and while
//!    the parent is `LIVE` it is the child's index in the parent's
//!    `children` (push sets it; `swap_remove` fixes the moved child's). Once
//!    the parent has ended its vector is gone and the slot is meaningless;
//!    detaching checks the parent's `code` under that lock first.
//! 3. No lock is held while a channel is closed, a timer marked dead or an
//!    after-func spawned; the only nested locking is node then timer heap
//!    (arming), and, when detaching, the child's lock is released before
//!    the parent's is taken.
//! 4. A coroutine that cancels yields (goes to the back of its worker's
//!    queue) after every [`CANCEL_YIELD_EVERY`] nodes it ends. Each ended
//!    node with a waiter has just made that waiter runnable; yielding lets
//!    the last few hundred of them run while their stacks, done channels
//!    and nodes are still in the cache and the TLB, instead of queueing a
//!    million wake-ups behind a walk that holds its worker for a second
//!    (goro has no preemption to cut such a walk short, as Go's runtime
//!    would). Measured on `ctxtree` at n = 1M: cancel about 20% faster
//!    (`docs/benchmarks.md`, "second pass"). A cancel called outside a
//!    coroutine (a deadline fired by the timer driver, a plain thread)
//!    does not yield.
//!
//! Alternatives rejected: a coroutine per context waiting on its parent's
//! done (Go before 1.7 style; a million idle coroutines for `ctxtree`);
//! recursive cancel (stack overflow on deep chains); a global registry keyed
//! by id (one contended lock for every create and cancel); a hash map of
//! children keyed by a per-parent id (the first version: it hashed on every
//! create and detach, grew by rehashing, and cancelled in hash order, a
//! cache miss per child); an intrusive linked list of children (a cancel
//! would chase one dependent pointer per child, no overlap of misses).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Instant;

use goro_chan::{Receiver, Sender, chan};

use super::{Cause, Error};

/// After-func ids are small unique integers: hash them by a multiply, not
/// SipHash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// Nodes a cancelling coroutine ends between two yields (rule 4).
const CANCEL_YIELD_EVERY: usize = 256;

/// `code`: the node has not ended.
const LIVE: u8 = 0;
/// `code`: ended by a cancel function (its own or an ancestor's).
const CANCELED: u8 = 1;
/// `code`: ended by a deadline (its own or an ancestor's).
const DEADLINE: u8 = 2;

fn code_of(e: Error) -> u8 {
    match e {
        Error::Canceled => CANCELED,
        Error::DeadlineExceeded => DEADLINE,
    }
}

/// A receiver on a channel that is closed once and for all: the done
/// channel of every context that ended before anyone asked for one.
fn closed_done() -> Receiver<()> {
    static CLOSED: OnceLock<Receiver<()>> = OnceLock::new();
    CLOSED
        .get_or_init(|| {
            let (tx, rx) = chan(0);
            tx.close();
            rx
        })
        .clone()
}

/// What few nodes need: after-funcs and a deadline.
#[derive(Default)]
struct Extra {
    /// Last after-func id handed out.
    next_id: u64,
    after: IdMap<Box<dyn FnOnce() + Send>>,
    /// Cause to report when the deadline fires (`with_deadline_cause`).
    deadline_cause: Option<Cause>,
    /// Worker slot whose timer heap holds our deadline entry.
    timer_home: Option<usize>,
}

#[derive(Default)]
struct State {
    /// Set when the node ends, only if it differs from the error itself.
    cause: Option<Cause>,
    done_tx: Option<Sender<()>>,
    done_rx: Option<Receiver<()>>,
    /// Live children; `children[c.slot] == c` (rule 2).
    children: Vec<Arc<Node>>,
    extra: Option<Box<Extra>>,
}

impl State {
    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// One cancellable context.
pub(super) struct Node {
    /// Nearest cancellable ancestor (empty for a root).
    parent: Weak<Node>,
    /// Our index in the parent's `children` (rule 2).
    slot: AtomicUsize,
    /// `LIVE`, `CANCELED` or `DEADLINE`; readable without the lock (rule 1).
    code: AtomicU8,
    state: Mutex<State>,
}

impl Node {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new node under `parent` (the nearest cancellable ancestor, if
    /// any). Born ended if the parent has ended.
    pub(super) fn new(parent: Option<&Arc<Node>>) -> Arc<Node> {
        let Some(p) = parent else {
            return Arc::new(Node {
                parent: Weak::new(),
                slot: AtomicUsize::new(0),
                code: AtomicU8::new(LIVE),
                state: Mutex::new(State::default()),
            });
        };
        let mut ps = p.lock();
        // Rule 1: read under the parent's lock, so a live parent has not
        // drained its children yet and will see this one.
        let code = p.code.load(Ordering::Acquire);
        let node = Arc::new(Node {
            parent: Arc::downgrade(p),
            // Rule 2: written before the push, under the parent's lock.
            slot: AtomicUsize::new(ps.children.len()),
            code: AtomicU8::new(code),
            state: Mutex::new(State {
                cause: if code == LIVE { None } else { ps.cause.clone() },
                ..State::default()
            }),
        });
        if code == LIVE {
            ps.children.push(node.clone());
        }
        node
    }

    /// Arms the deadline: at `at` the node ends with `DeadlineExceeded`
    /// and `cause` (or `DeadlineExceeded` itself) as its cause.
    pub(super) fn arm_deadline(self: &Arc<Self>, at: Instant, cause: Option<Cause>) {
        if at <= Instant::now() {
            cancel(self, Error::DeadlineExceeded, cause);
            return;
        }
        let mut st = self.lock();
        if self.code.load(Ordering::Acquire) != LIVE {
            return;
        }
        let task: Arc<dyn crate::sched::timers::Fire> = self.clone();
        let home = crate::sched::arm_callback_timer(crate::sched::timers::instant_ns(at), task, 0);
        let extra = st.extra();
        extra.deadline_cause = cause;
        extra.timer_home = Some(home);
    }

    fn err_of(code: u8) -> Option<Error> {
        match code {
            LIVE => None,
            CANCELED => Some(Error::Canceled),
            _ => Some(Error::DeadlineExceeded),
        }
    }

    pub(super) fn err(&self) -> Option<Error> {
        Self::err_of(self.code.load(Ordering::Acquire))
    }

    pub(super) fn cause(&self) -> Option<Cause> {
        let err = self.err()?;
        let stored = self.lock().cause.clone();
        Some(stored.unwrap_or_else(|| Arc::new(err)))
    }

    /// The done channel, made on first use.
    pub(super) fn done(&self) -> Receiver<()> {
        let mut st = self.lock();
        if let Some(rx) = &st.done_rx {
            return rx.clone();
        }
        // Rule 1: under the lock, so a cancel has either taken nothing yet
        // (and will close what we make) or has finished marking us.
        if self.code.load(Ordering::Acquire) != LIVE {
            return closed_done();
        }
        let (tx, rx) = chan(0);
        st.done_tx = Some(tx);
        st.done_rx = Some(rx.clone());
        rx
    }

    pub(super) fn child_count(&self) -> usize {
        self.lock().children.len()
    }

    /// Registers `f` to run (on a new coroutine) when the node ends.
    /// Returns its id, or runs it at once and returns `None` if the node
    /// has already ended.
    pub(super) fn after(&self, f: Box<dyn FnOnce() + Send>) -> Option<u64> {
        let mut st = self.lock();
        if self.code.load(Ordering::Acquire) != LIVE {
            drop(st);
            crate::spawn(f);
            return None;
        }
        let extra = st.extra();
        extra.next_id += 1;
        let id = extra.next_id;
        extra.after.insert(id, f);
        Some(id)
    }

    /// Unregisters after-func `id`; `true` if it had not been started.
    pub(super) fn stop_after(&self, id: u64) -> bool {
        let mut st = self.lock();
        st.extra
            .as_mut()
            .is_some_and(|x| x.after.remove(&id).is_some())
    }

    /// Marks this node ended (if it is live) and takes out what must be
    /// finished outside the lock (rule 3): closes the done channel, kills
    /// the timer entry, spawns the after-funcs. Returns its children, or
    /// `None` if it had already ended.
    fn end(&self, code: u8, cause: &Option<Cause>) -> Option<Vec<Arc<Node>>> {
        let mut st = self.lock();
        if self.code.load(Ordering::Acquire) != LIVE {
            return None;
        }
        // Rule 1: marked before the children are taken.
        self.code.store(code, Ordering::Release);
        st.cause.clone_from(cause);
        let tx = st.done_tx.take();
        let children = std::mem::take(&mut st.children);
        let extra = st.extra.take();
        drop(st);
        if let Some(tx) = tx {
            tx.close();
        }
        if let Some(x) = extra {
            if let Some(home) = x.timer_home {
                crate::sched::timers::timer_entry_dead(home);
            }
            for (_, f) in x.after {
                crate::spawn(f);
            }
        }
        Some(children)
    }

    /// Removes this node from its parent's children (rule 2).
    fn detach(&self) {
        let Some(p) = self.parent.upgrade() else {
            return;
        };
        let mut ps = p.lock();
        if p.code.load(Ordering::Acquire) != LIVE {
            return; // the parent's cancel took its children already
        }
        let i = self.slot.load(Ordering::Relaxed);
        debug_assert!(std::ptr::eq(Arc::as_ptr(&ps.children[i]), self));
        let me = ps.children.swap_remove(i);
        if let Some(moved) = ps.children.get(i) {
            moved.slot.store(i, Ordering::Relaxed);
        }
        drop(ps);
        drop(me);
    }
}

impl Drop for Node {
    /// Drops the subtree iteratively: a long chain of nodes nobody
    /// cancelled would otherwise recurse once per level.
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        let mut stack = std::mem::take(&mut st.children);
        while let Some(c) = stack.pop() {
            if let Some(mut n) = Arc::into_inner(c) {
                let st = n.state.get_mut().unwrap_or_else(|p| p.into_inner());
                stack.append(&mut st.children);
            }
        }
    }
}

impl crate::sched::timers::Fire for Node {
    fn is_current(&self, _epoch: u64) -> bool {
        self.code.load(Ordering::Acquire) == LIVE
    }

    fn fire(self: Arc<Self>, _epoch: u64) {
        let cause = self
            .lock()
            .extra
            .as_mut()
            .and_then(|x| x.deadline_cause.take());
        cancel(&self, Error::DeadlineExceeded, cause);
    }
}

/// Ends `node` with `err` (and `cause`; `None` means `err` itself), then
/// every descendant with the same values, then detaches `node` from its
/// parent. Idempotent: a node that has already ended is left as it is.
pub(super) fn cancel(node: &Arc<Node>, err: Error, cause: Option<Cause>) {
    // Already ended: nothing to do and nothing to detach; no allocation.
    if node.code.load(Ordering::Acquire) != LIVE {
        return;
    }
    let code = code_of(err);
    let Some(children) = node.end(code, &cause) else {
        return;
    };
    let mut stack: Vec<std::vec::IntoIter<Arc<Node>>> = Vec::new();
    if !children.is_empty() {
        stack.push(children.into_iter());
    }
    // Rule 4: a coroutine walking a large tree yields every
    // `CANCEL_YIELD_EVERY` nodes (no lock is held here, rule 3).
    let on_coroutine = crate::sched::worker::current().is_some();
    let mut since_yield = 0usize;
    while !stack.is_empty() {
        if on_coroutine {
            since_yield += 1;
            if since_yield == CANCEL_YIELD_EVERY {
                since_yield = 0;
                crate::yield_now();
            }
        }
        let top = stack.last_mut().expect("not empty");
        let Some(child) = top.next() else {
            stack.pop();
            continue;
        };
        if top.len() == 0 {
            stack.pop(); // a chain keeps one iterator, not one per level
        }
        if let Some(grand) = child.end(code, &cause)
            && !grand.is_empty()
        {
            stack.push(grand.into_iter());
        }
    }
    node.detach();
}
