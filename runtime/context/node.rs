//! The cancellation tree behind `goro::context`: one [`Node`] per
//! cancellable context (`with_cancel`, `with_deadline`, ...).
//!
//! # Shape
//!
//! * A node owns its children: `children` maps a child's id (unique within
//!   the parent, taken from the parent's own counter, so creating a child
//!   touches no global atomic) to the child's `Arc`. A child keeps only a
//!   `Weak` to its parent, so there is no reference cycle.
//! * Cancelling takes an explicit worklist: a node is locked, marked ended,
//!   its done channel closed, its children and after-funcs taken out, and
//!   the children pushed. Nothing recurses, so a tree a million deep or a
//!   million wide cancels in constant stack.
//! * The node that is cancelled *directly* (its `CancelFunc`, its deadline)
//!   removes itself from its parent's map, so a parent that lives long
//!   while children come and go does not grow. Nodes reached through the
//!   cascade need not: the parent has already emptied its map.
//! * A deadline is one entry in the runtime's timer heap (the node itself
//!   implements the driver's `Fire`); no coroutine per deadline. Cancelling
//!   early marks the entry dead so the heap sweeps it.
//!
//! Invariants: `err` is set (and `code` published) under `state`'s lock
//! before the children map is drained, so a child linking concurrently
//! either sees the parent ended (and is born ended) or is inserted before
//! the drain (and is cancelled by it). No lock is held while a channel is
//! closed or an after-func is spawned; the only nested locking is node then
//! timer heap (arming) and, when detaching, child's lock released before the
//! parent's is taken.
//!
//! Alternatives rejected: a coroutine per context waiting on its parent's
//! done (Go before 1.7 style; a million idle coroutines for `ctxtree`);
//! recursive cancel (stack overflow on deep chains); a global registry keyed
//! by id (one contended lock for every create and cancel).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Instant;

use goro_chan::{Receiver, Sender, chan};

use super::{Cause, Error};

/// Ids are small unique integers: hash them by a multiply, not SipHash.
#[derive(Default)]
pub(super) struct IdHasher(u64);

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

const LIVE: u8 = 0;
const CANCELED: u8 = 1;
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

#[derive(Default)]
struct State {
    cause: Option<Cause>,
    done_tx: Option<Sender<()>>,
    done_rx: Option<Receiver<()>>,
    children: IdMap<Arc<Node>>,
    next_id: u64,
    after: IdMap<Box<dyn FnOnce() + Send>>,
    /// Cause to report when the deadline fires (`with_deadline_cause`).
    deadline_cause: Option<Cause>,
    /// Worker slot whose timer heap holds our deadline entry.
    timer_home: Option<usize>,
}

/// One cancellable context.
pub(super) struct Node {
    /// Our key in the parent's `children` (0 for a node with no parent).
    id: u64,
    parent: Weak<Node>,
    /// `LIVE`, `CANCELED` or `DEADLINE`; readable without the lock.
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
                id: 0,
                parent: Weak::new(),
                code: AtomicU8::new(LIVE),
                state: Mutex::new(State::default()),
            });
        };
        let mut ps = p.lock();
        ps.next_id += 1;
        let id = ps.next_id;
        let code = p.code.load(Ordering::Acquire);
        let node = Arc::new(Node {
            id,
            parent: Arc::downgrade(p),
            code: AtomicU8::new(code),
            state: Mutex::new(State {
                cause: ps.cause.clone(),
                ..State::default()
            }),
        });
        if code == LIVE {
            ps.children.insert(id, node.clone());
        }
        node
    }

    /// Arms the deadline: at `at` the node ends with `DeadlineExceeded`
    /// and `cause` (or `DeadlineExceeded` itself) as its cause.
    pub(super) fn arm_deadline(self: &Arc<Self>, at: Instant, cause: Option<Cause>) {
        if at <= Instant::now() {
            let c = cause.unwrap_or_else(|| Arc::new(Error::DeadlineExceeded));
            cancel(self, Error::DeadlineExceeded, Some(c));
            return;
        }
        let mut st = self.lock();
        if self.code.load(Ordering::Acquire) != LIVE {
            return;
        }
        st.deadline_cause = cause;
        let task: Arc<dyn crate::sched::timers::Fire> = self.clone();
        st.timer_home = Some(crate::sched::arm_callback_timer(
            crate::sched::timers::instant_ns(at),
            task,
            0,
        ));
    }

    pub(super) fn err(&self) -> Option<Error> {
        match self.code.load(Ordering::Acquire) {
            LIVE => None,
            CANCELED => Some(Error::Canceled),
            _ => Some(Error::DeadlineExceeded),
        }
    }

    pub(super) fn cause(&self) -> Option<Cause> {
        if self.code.load(Ordering::Acquire) == LIVE {
            return None;
        }
        self.lock().cause.clone()
    }

    /// The done channel, made on first use.
    pub(super) fn done(&self) -> Receiver<()> {
        if self.code.load(Ordering::Acquire) != LIVE {
            if let Some(rx) = &self.lock().done_rx {
                return rx.clone();
            }
            return closed_done();
        }
        let mut st = self.lock();
        if let Some(rx) = &st.done_rx {
            return rx.clone();
        }
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
        st.next_id += 1;
        let id = st.next_id;
        st.after.insert(id, f);
        Some(id)
    }

    /// Unregisters after-func `id`; `true` if it had not been started.
    pub(super) fn stop_after(&self, id: u64) -> bool {
        self.lock().after.remove(&id).is_some()
    }
}

impl crate::sched::timers::Fire for Node {
    fn is_current(&self, _epoch: u64) -> bool {
        self.code.load(Ordering::Acquire) == LIVE
    }

    fn fire(self: Arc<Self>, _epoch: u64) {
        let cause = self.lock().deadline_cause.take();
        let cause = cause.unwrap_or_else(|| Arc::new(Error::DeadlineExceeded));
        cancel(&self, Error::DeadlineExceeded, Some(cause));
    }
}

/// Ends `node` with `err` (and `cause`, default `err`), then every
/// descendant with the same values, then detaches `node` from its parent.
/// Idempotent: a node that has already ended is left as it is.
pub(super) fn cancel(node: &Arc<Node>, err: Error, cause: Option<Cause>) {
    let cause = cause.unwrap_or_else(|| Arc::new(err));
    let code = code_of(err);
    let mut work: Vec<Arc<Node>> = Vec::new();
    let mut afters: Vec<Box<dyn FnOnce() + Send>> = Vec::new();
    let mut first = true;
    let mut next = Some(node.clone());
    while let Some(n) = next.take().or_else(|| work.pop()) {
        let mut st = n.lock();
        if n.code.load(Ordering::Acquire) != LIVE {
            if first {
                return; // already ended: nothing to do, nothing to detach
            }
            continue;
        }
        n.code.store(code, Ordering::Release);
        st.cause = Some(cause.clone());
        let tx = st.done_tx.take();
        let timer = st.timer_home.take();
        st.deadline_cause = None;
        work.extend(st.children.drain().map(|(_, c)| c));
        afters.extend(st.after.drain().map(|(_, f)| f));
        drop(st);
        if let Some(tx) = tx {
            tx.close();
        }
        if let Some(home) = timer {
            crate::sched::timers::timer_entry_dead(home);
        }
        for f in afters.drain(..) {
            crate::spawn(f);
        }
        first = false;
    }
    if let Some(p) = node.parent.upgrade() {
        p.lock().children.remove(&node.id);
    }
}
