//! The cancellation tree behind `goro::context`: one [`Node`] per
//! cancellable context (`with_cancel`, `with_deadline`, ...), held inline
//! in that context's layer (one allocation per cancellable context, not a
//! layer and a node).
//!
//! # Shape
//!
//! * A node lists its live children in a dense `Vec<Weak<Layer>>`; each child
//!   remembers its index there (`slot`). Adding a child is a push, removing
//!   one a `swap_remove` plus one slot fix-up: O(1), no hashing, no id
//!   counter, and a cancel walks the children in creation order (the order
//!   they sit in memory), which keeps a million-child cancel streaming
//!   instead of hopping about the heap.
//! * A child's layer holds its parent context (for values and deadlines),
//!   and the parent holds its children only weakly, so there is no
//!   reference cycle: a tree nobody cancels is freed when its handles are
//!   dropped. A live child whose last handle goes leaves its parent's
//!   vector at once (rule 5), so its parent does not grow either.
//! * Cancelling takes an explicit stack of child iterators: a node is
//!   locked, marked ended, its done channel taken, its children and
//!   after-funcs taken out, unlocked, then the channel closed and the
//!   children visited. Nothing recurses, so a tree a million deep or a
//!   million wide cancels in constant machine stack (and, for a chain,
//!   constant heap: exhausted iterators are popped before descending).
//! * The node that is cancelled *directly* (its `CancelFunc`, its deadline)
//!   removes itself from its parent's vector, so a parent that lives long
//!   while children come and go does not grow. Nodes reached through the
//!   cascade need not: the parent has already emptied its vector.
//! * A cause is stored only when it is not the error itself (a `_cause`
//!   function, a deadline cause): a plain cancel of a million descendants
//!   then bumps no shared reference count; [`Node::cause`] builds the
//!   default on demand.
//! * Rarely used state (after-funcs, causes, the deadline's timer,
//!   orphans) lives in a boxed [`Extra`], so the common cancellable layer
//!   is one allocation of 120 bytes with its counts (a glibc fast-bin
//!   size), plus its done channel, made on first `done()`.
//! * A deadline is one entry in the runtime's timer heap (the layer itself
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
//! 5. A layer whose last handle goes while its node is live is *released*
//!    (`release`, from `Layer`'s `Drop`): its done channel's sender and its
//!    after-funcs (and orphans it was given) are what waiters can still be
//!    owed. Under the parent's lock, if the parent is live, the layer
//!    removes its own entry (found by address; its slot is only a hint,
//!    since a fix-up cannot upgrade an entry whose handles are gone) and
//!    hands those over as the parent's *orphans*, which the parent's end
//!    closes and starts. If the parent has ended, its cascade skipped this
//!    layer (the `Weak` did not upgrade), so the layer closes and starts
//!    them itself. Exactly one of the two does it, decided under the
//!    parent's lock. With no cancellable ancestor they are dropped (the
//!    channel closes, as dropping a root node always did).
//! 6. An after-func sits in a cell shared with its `AfterFuncStop`; the
//!    node's end (or an orphan's) and `stop` each take the function out
//!    under the cell's mutex, so it runs at most once and `stop` is right
//!    about whether it stopped it, even after the context was released.
//!    The function is dropped or run only after that mutex is released (it
//!    may own the last handle of a context whose release visits the cell).
//! 7. A cancel warms the siblings it is about to end (`prefetch_ahead`), a
//!    wave of [`WAVE`] at a time: a prefetch of each layer a wave ahead (by
//!    address: the `Weak` still in the vector keeps the allocation, nothing
//!    is read); then, for the wave nearer, each child upgraded like any
//!    child (a layer being released is skipped), its node `try_lock`ed
//!    (skipped when contended) and its done channel asked where its parked
//!    waiter's entry is (read under that channel's spin lock, held for a few
//!    instructions by anyone); then the entries and the lines around them
//!    prefetched back to back, after every lock of the wave is released.
//!    Only hints: they change no state, no lock is held while another is
//!    waited for but that short channel lock under the child's node lock
//!    (the order `Node::end` never reverses: it closes the channel after
//!    unlocking, rule 3), and an upgraded handle dropped there is a handle
//!    like the cascade's own (rule 5 holds). Each waiter's entry
//!    lives on its parked coroutine's stack, a page of its own, so without
//!    this every close stalls on a TLB and a cache miss in turn; one
//!    prefetch per sibling took the page walks one at a time (a prefetch
//!    that misses the TLB holds up the next locked instruction until its
//!    walk ends), a wave's start together. `ctxtree` cancel at n = 1M: about
//!    20% faster with one prefetch per sibling, then 0.85x of that with the
//!    waves (`docs/benchmarks.md`, 2026-12-03 and its third pass).
//! 8. A coroutine cancelling a node with at least [`SHARE_MIN`] children,
//!    with more than one worker, shares the walk below them (`share`):
//!    up to one helper coroutine per other worker, and the caller, claim
//!    [`SHARE_CHUNK`] children at a time from an atomic index and end the
//!    subtrees below them. A walker raises `busy` before it claims and
//!    lowers it (Release, also when unwinding) after the chunk or a failed
//!    claim; both the raise and the claim are SeqCst, so once the caller's
//!    own claim fails, a walker holding a chunk is counted in `busy`, and
//!    the caller yields (does not park: no helper waits for it) until
//!    `busy` reads 0 (Acquire). So `cancel` returns only once every
//!    descendant has ended, as when one walker does it all. Each walker
//!    runs the waiters it wakes on its own worker (rule 4) while the pages
//!    it just touched are in that core's cache and TLB, instead of the
//!    other worker stealing them cold. A helper that starts after every
//!    chunk is claimed exits at once. Below the threshold, off a coroutine
//!    or with one worker, one walker does it all.
//!
//! 9. A parent's `children` never reallocates under its lock: a push that
//!    finds it full unlocks, allocates a vector twice as large, locks again
//!    and, if the vector is still full (and the parent still live, rule 1),
//!    moves the entries over in order (so every slot, rule 2, still names
//!    its child) and pushes; the old buffer is freed after the unlock. A
//!    reallocation under the lock took the allocator's locks and, growing
//!    its heap, the `mmap_lock` for writing, while the siblings being made
//!    on the other workers slept on the parent's lock (`ctxtree` at n = 1M:
//!    `docs/benchmarks.md`, 2026-12-03 third pass).
//!
//! Alternatives rejected: a coroutine per context waiting on its parent's
//! done (Go before 1.7 style; a million idle coroutines for `ctxtree`);
//! recursive cancel (stack overflow on deep chains); a global registry keyed
//! by id (one contended lock for every create and cancel); a hash map of
//! children keyed by a per-parent id (the first version: it hashed on every
//! create and detach, grew by rehashing, and cancelled in hash order, a
//! cache miss per child); an intrusive linked list of children (a cancel
//! would chase one dependent pointer per child, no overlap of misses); a
//! layer and a separately allocated node (the second pass: two mallocs and
//! two frees per context, and a strong child list that kept a dropped,
//! never-cancelled child registered until its parent ended); for a
//! shared cancel (rule 8), the caller parking on a wait group until the
//! helpers finish (`defer cancel()` becomes a guard whose `Drop` cancels,
//! maybe while unwinding: a park there is more than a yield loop bounded by
//! one chunk's walk), and helpers per subtree level (one shared index over the directly
//! cancelled node's children balances a two-level tree like `ctxtree`
//! already, and a chunk of 4 bounds the caller's wait).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Instant;

use goro_chan::{Receiver, Sender, chan};

use super::{Cause, Context, Error, Kind, Layer};

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

/// A registered after-func. Whoever takes the function out first (the
/// node's end, or `AfterFuncStop::stop`) decides whether it runs (rule 6).
pub(super) type AfterCell = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

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

/// What a dropped live node still owes its waiters when an ancestor ends
/// (rule 5): its done channel's sender and its after-funcs.
#[derive(Default)]
struct Orphans {
    done: Vec<Sender<()>>,
    after: Vec<AfterCell>,
}

impl Orphans {
    fn is_empty(&self) -> bool {
        self.done.is_empty() && self.after.is_empty()
    }

    fn append(&mut self, other: &mut Orphans) {
        self.done.append(&mut other.done);
        self.after.append(&mut other.after);
    }

    /// Closes the channels and starts the after-funcs (no lock held,
    /// rule 3).
    fn fire(self) {
        for tx in self.done {
            tx.close();
        }
        for cell in self.after {
            run_after(&cell);
        }
    }
}

/// Starts the after-func in `cell` unless `stop` took it first (rule 6).
fn run_after(cell: &AfterCell) {
    let f = cell.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(f) = f {
        crate::spawn(f);
    }
}

/// What few nodes need: after-funcs, a deadline, a cause, orphans.
#[derive(Default)]
struct Extra {
    /// Last after-func id handed out.
    next_id: u64,
    after: IdMap<AfterCell>,
    /// Cause to report when the deadline fires (`with_deadline_cause`).
    deadline_cause: Option<Cause>,
    /// Worker slot whose timer heap holds our deadline entry.
    timer_home: Option<usize>,
    /// Set when the node ends, only if it differs from the error itself.
    cause: Option<Cause>,
    /// Left by children dropped while live (rule 5).
    orphans: Orphans,
}

#[derive(Default)]
struct State {
    done_tx: Option<Sender<()>>,
    done_rx: Option<Receiver<()>>,
    /// Live children; `children[c.slot]` is `c` (rule 2).
    children: Vec<Weak<Layer>>,
    extra: Option<Box<Extra>>,
}

impl State {
    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// The cancellation part of a cancellable context's layer.
pub(super) struct Node {
    /// Our index in the parent's `children` (rule 2). Four bytes, not
    /// eight: with two-word channel handles in the layer, eight made the
    /// layer's block 144 bytes, past glibc's 128-byte fast bins, and the
    /// ctxtree cancel at n = 1M 1.3x slower (`docs/benchmarks.md`,
    /// 2026-12-03). A parent of 2^32 children would need terabytes first;
    /// the push says so if it ever happens.
    slot: AtomicU32,
    /// `LIVE`, `CANCELED` or `DEADLINE`; readable without the lock (rule 1).
    code: AtomicU8,
    state: Mutex<State>,
}

/// The nearest cancellable layer at or above `ctx`, with its node.
pub(super) fn cancel_layer(ctx: &Context) -> Option<(&Arc<Layer>, &Node)> {
    let mut c = ctx;
    loop {
        match &c.0.kind {
            Kind::Background | Kind::Todo | Kind::WithoutCancel => return None,
            Kind::Cancel { node, .. } => return Some((&c.0, node)),
            Kind::Value { .. } => c = c.0.parent.as_ref()?,
        }
    }
}

/// The node of the nearest cancellable layer at or above `ctx`.
pub(super) fn cancel_node(ctx: &Context) -> Option<&Node> {
    cancel_layer(ctx).map(|(_, n)| n)
}

/// The node of the nearest cancellable ancestor of `layer` (not `layer`).
fn parent_node(layer: &Layer) -> Option<&Node> {
    layer.parent.as_ref().and_then(cancel_node)
}

/// A new cancellable layer on `parent` (one allocation: the layer holds
/// its node). Born ended if the nearest cancellable ancestor has ended.
pub(super) fn new_layer(parent: &Context, deadline: Option<Instant>) -> Arc<Layer> {
    // Made live and unlinked, before any lock is taken: an allocation can
    // fault in a page or grow the heap, and siblings made on other workers
    // wait for the parent's lock (a million leaves under a thousand parents
    // in `ctxtree`). Nobody else can reach `l` until it is pushed.
    let l = Arc::new(Layer {
        parent: Some(parent.clone()),
        kind: Kind::Cancel {
            node: Node {
                slot: AtomicU32::new(0),
                code: AtomicU8::new(LIVE),
                state: Mutex::new(State::default()),
            },
            deadline,
        },
    });
    let Some(p) = cancel_node(parent) else {
        return l;
    };
    let Kind::Cancel { node, .. } = &l.kind else {
        unreachable!("made as a cancellable layer above")
    };
    // A bigger vector for a full `children`, allocated without the lock
    // (rule 9), and the one it replaced, freed after the lock.
    let mut spare: Option<Vec<Weak<Layer>>> = None;
    let mut old: Option<Vec<Weak<Layer>>> = None;
    let mut ps = p.lock();
    loop {
        // Rule 1: read under the parent's lock, so a live parent has not
        // drained its children yet and will see this one.
        let code = p.code.load(Ordering::Acquire);
        if code != LIVE {
            // Born ended. Still unlinked and unshared, so nobody sees it
            // live.
            let cause = ps.extra.as_ref().and_then(|x| x.cause.clone());
            drop(ps);
            if cause.is_some() {
                node.lock().extra().cause = cause;
            }
            node.code.store(code, Ordering::Release);
            return l;
        }
        let n = ps.children.len();
        if n < ps.children.capacity() {
            break;
        }
        match spare.take() {
            Some(mut v) if v.capacity() > n => {
                // Rule 9: same order, so every slot still names its child.
                v.append(&mut ps.children);
                old = Some(std::mem::replace(&mut ps.children, v));
                break;
            }
            _ => {
                drop(ps);
                spare = Some(Vec::with_capacity((2 * n).max(4)));
                ps = p.lock();
            }
        }
    }
    // Rule 2: the slot is written before the push, under the parent's lock.
    let at = u32::try_from(ps.children.len()).expect("a context with 2^32 live children");
    node.slot.store(at, Ordering::Relaxed);
    ps.children.push(Arc::downgrade(&l));
    drop(ps);
    drop((old, spare));
    l
}

/// Arms `layer`'s deadline: at `at` it ends with `DeadlineExceeded` and
/// `cause` (or `DeadlineExceeded` itself) as its cause.
pub(super) fn arm_deadline(layer: &Arc<Layer>, at: Instant, cause: Option<Cause>) {
    let Kind::Cancel { node, .. } = &layer.kind else {
        return;
    };
    if at <= Instant::now() {
        cancel(layer, Error::DeadlineExceeded, cause);
        return;
    }
    let mut st = node.lock();
    if node.code.load(Ordering::Acquire) != LIVE {
        return;
    }
    let task: Arc<dyn crate::sched::timers::Fire> = layer.clone();
    let home = crate::sched::arm_callback_timer(crate::sched::timers::instant_ns(at), task, 0);
    let extra = st.extra();
    extra.deadline_cause = cause;
    extra.timer_home = Some(home);
}

impl Node {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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
        let stored = self.lock().extra.as_ref().and_then(|x| x.cause.clone());
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
    /// Returns its id and cell, or runs it at once and returns `None` if
    /// the node has already ended.
    pub(super) fn after(&self, f: Box<dyn FnOnce() + Send>) -> Option<(u64, AfterCell)> {
        let mut st = self.lock();
        if self.code.load(Ordering::Acquire) != LIVE {
            drop(st);
            crate::spawn(f);
            return None;
        }
        let cell: AfterCell = Arc::new(Mutex::new(Some(f)));
        let extra = st.extra();
        extra.next_id += 1;
        let id = extra.next_id;
        extra.after.insert(id, cell.clone());
        Some((id, cell))
    }

    /// Forgets after-func `id` (already stopped through its cell), so a
    /// long-lived context does not keep stopped registrations.
    pub(super) fn forget_after(&self, id: u64) {
        let mut st = self.lock();
        if let Some(x) = st.extra.as_mut() {
            x.after.remove(&id);
        }
    }

    /// Marks this node ended (if it is live) and takes out what must be
    /// finished outside the lock (rule 3): closes the done channel, kills
    /// the timer entry, starts the after-funcs and the orphans'. Returns its
    /// children, or `None` if it had already ended.
    fn end(&self, code: u8, cause: &Option<Cause>) -> Option<Vec<Weak<Layer>>> {
        let mut st = self.lock();
        if self.code.load(Ordering::Acquire) != LIVE {
            return None;
        }
        // Rule 1: marked before the children are taken.
        self.code.store(code, Ordering::Release);
        if cause.is_some() {
            st.extra().cause.clone_from(cause);
        }
        let tx = st.done_tx.take();
        let children = std::mem::take(&mut st.children);
        let taken = st.extra.as_mut().map(|x| {
            (
                x.timer_home.take(),
                std::mem::take(&mut x.after),
                std::mem::take(&mut x.orphans),
            )
        });
        drop(st);
        if let Some(tx) = tx {
            tx.close();
        }
        if let Some((timer_home, after, orphans)) = taken {
            if let Some(home) = timer_home {
                crate::sched::timers::timer_entry_dead(home);
            }
            for (_, cell) in after {
                run_after(&cell);
            }
            orphans.fire();
        }
        Some(children)
    }
}

/// Removes `layer` (cancellable, just ended by its own cancel or
/// deadline) from its parent's children (rule 2).
fn detach(layer: &Layer) {
    let (Kind::Cancel { node, .. }, Some(p)) = (&layer.kind, parent_node(layer)) else {
        return;
    };
    let mut ps = p.lock();
    if p.code.load(Ordering::Acquire) != LIVE {
        return; // the parent's cancel took its children already
    }
    let i = node.slot.load(Ordering::Relaxed) as usize;
    debug_assert!(std::ptr::eq(ps.children[i].as_ptr(), layer));
    let (me, moved) = remove_child(&mut ps, i);
    drop(ps);
    drop((me, moved));
}

/// Removes `children[i]` by `swap_remove` and fixes the slot of the child
/// moved into its place (rule 2). The moved child is returned so that it
/// is dropped after the parent's lock: if that was its last handle, its
/// release takes the parent's lock. A moved child whose handles are already
/// gone cannot be upgraded; its release finds itself by address (rule 5).
fn remove_child(ps: &mut State, i: usize) -> (Weak<Layer>, Option<Arc<Layer>>) {
    let me = ps.children.swap_remove(i);
    let moved = ps.children.get(i).and_then(Weak::upgrade);
    if let Some(m) = &moved
        && let Kind::Cancel { node, .. } = &m.kind
    {
        // `i` < the length before the removal, which fit (the push).
        node.slot.store(i as u32, Ordering::Relaxed);
    }
    (me, moved)
}

/// Called when the last handle to a layer goes (`Layer`'s `Drop`, before
/// its parent link is released). A cancellable layer that is still live
/// leaves its parent's children and hands what its waiters are owed to the
/// parent (rule 5); if the parent has ended meanwhile (its cascade could
/// not reach a layer whose handles were gone), it ends them itself.
pub(super) fn release(layer: &mut Layer, addr: *const Layer) {
    let Kind::Cancel { node, .. } = &mut layer.kind else {
        return;
    };
    if *node.code.get_mut() != LIVE {
        return;
    }
    let slot = *node.slot.get_mut() as usize;
    let st = node.state.get_mut().unwrap_or_else(|p| p.into_inner());
    let mut orphans = Orphans::default();
    orphans.done.extend(st.done_tx.take());
    if let Some(x) = st.extra.as_mut() {
        orphans.append(&mut x.orphans);
        orphans.after.extend(x.after.drain().map(|(_, c)| c));
    }
    let Some(p) = parent_node(layer) else {
        // No cancellable ancestor: nothing can end these any more. Dropping
        // the senders closes the channels (as dropping a root always has);
        // the after-funcs are dropped unrun, even where a stop handle still
        // holds their cell.
        for cell in orphans.after {
            // Taken out under the cell's lock, dropped after it (rule 6).
            let f = cell.lock().unwrap_or_else(|p| p.into_inner()).take();
            drop(f);
        }
        return;
    };
    let mut ps = p.lock();
    if p.code.load(Ordering::Acquire) == LIVE {
        // Rule 5: while the parent is live our entry is in its vector; the
        // slot is a hint (a fix-up after our handles were gone could not
        // reach us), the address decides.
        let i = if ps.children.get(slot).is_some_and(|w| w.as_ptr() == addr) {
            slot
        } else {
            ps.children
                .iter()
                .position(|w| w.as_ptr() == addr)
                .expect("a live parent lists each live child")
        };
        let (me, moved) = remove_child(&mut ps, i);
        if !orphans.is_empty() {
            ps.extra().orphans.append(&mut orphans);
        }
        drop(ps);
        drop((me, moved));
        return;
    }
    drop(ps);
    orphans.fire();
}

impl crate::sched::timers::Fire for Layer {
    fn is_current(&self, _epoch: u64) -> bool {
        matches!(&self.kind, Kind::Cancel { node, .. } if node.code.load(Ordering::Acquire) == LIVE)
    }

    fn fire(self: Arc<Self>, _epoch: u64) {
        let Kind::Cancel { node, .. } = &self.kind else {
            return;
        };
        let cause = node
            .lock()
            .extra
            .as_mut()
            .and_then(|x| x.deadline_cause.take());
        cancel(&self, Error::DeadlineExceeded, cause);
    }
}

/// Siblings whose waiters a cancel warms at once, every `WAVE`th sibling
/// (rule 7).
const WAVE: usize = 8;
/// How far ahead of the node being ended the wave of waiters starts; the
/// wave of layers (and the done channels allocated right after them) is
/// `WAVE` further, so a layer is loaded a wave before its waiter's turn.
const AHEAD_WAITER: usize = 4;
/// Lines on either side of a parked waiter's entry that a wave loads too,
/// within the entry's page: the park path's frames below it (the saved
/// registers the resume pops first) and the caller's above it.
const FRAME_LINES: usize = 8;

/// Rule 7: warms the siblings a cancel is about to end. `rest` are the
/// children still to visit at this level; every [`WAVE`]th call (by the
/// length of `rest`) does the work for the next `WAVE` siblings at once:
///
/// * the layers `AHEAD_WAITER + WAVE` ahead are prefetched by address (a
///   `Weak` in `rest` keeps each allocation, so the address is stable;
///   nothing is read);
/// * the layers `AHEAD_WAITER` ahead, loaded a wave ago, are upgraded (a
///   layer being released is skipped), their node `try_lock`ed (skipped when
///   contended) and their done channel asked where its parked waiter's
///   entry is ([`goro_chan::Sender::parked_hint`]); then the entries, which
///   sit on those coroutines' stacks, a page each, are prefetched back to
///   back, and after them the lines around each entry in its page.
///
/// Back to back matters: a prefetch that misses the TLB holds retirement
/// until its page walk ends, and a locked instruction (an upgrade, a
/// lock) waits for it, so one prefetch per sibling between the locks of
/// the next took the walks one at a time; a wave's prefetches start their
/// walks together. The frame lines are what the woken coroutine touches
/// first when it resumes (`docs/benchmarks.md`, 2026-12-03 third pass:
/// cancel 0.85x of one prefetch per sibling at n = 1M, and neither the wave
/// without the frame lines nor the frame lines without the wave gained).
fn prefetch_ahead(rest: &[Weak<Layer>]) {
    if rest.len() % WAVE != 0 {
        return;
    }
    for w in rest.iter().skip(AHEAD_WAITER + WAVE).take(WAVE) {
        let p = w.as_ptr().cast::<u8>();
        for line in 0..4 {
            prefetch(p.wrapping_add(line * 64));
        }
    }
    let mut at = [0usize; WAVE];
    let mut k = 0;
    for w in rest.iter().skip(AHEAD_WAITER).take(WAVE) {
        if let Some(l) = w.upgrade()
            && let Kind::Cancel { node, .. } = &l.kind
            && let Ok(st) = node.state.try_lock()
            && let Some(tx) = &st.done_tx
        {
            at[k] = tx.parked_hint();
            k += usize::from(at[k] != 0);
        }
    }
    for &a in &at[..k] {
        prefetch(a as *const u8);
    }
    let page = crate::g::stack::page_size();
    for &a in &at[..k] {
        prefetch_frames(a, page);
    }
}

/// Prefetches up to [`FRAME_LINES`] lines below and above the line of
/// address `a` (that line again too: already on its way), staying within
/// `a`'s page of `page` bytes: another page would cost another walk. `a` is
/// not dereferenced.
fn prefetch_frames(a: usize, page: usize) {
    let line = a & !63;
    let start = a & !(page - 1);
    let mut p = line.saturating_sub(FRAME_LINES * 64).max(start);
    let end = (line + FRAME_LINES * 64).min(start + page - 64);
    while p <= end {
        prefetch(p as *const u8);
        p += 64;
    }
}

/// Asks the CPU to start loading the cache line at `p` (x86-64; a no-op
/// elsewhere). `p` is not dereferenced.
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` reads no memory architecturally (it never
    // faults, whatever the address); SSE is in the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Ends `layer`'s node with `err` (and `cause`; `None` means `err` itself),
/// then every descendant with the same values, then detaches it from its
/// parent. Idempotent: a node that has already ended is left as it is.
pub(super) fn cancel(layer: &Arc<Layer>, err: Error, cause: Option<Cause>) {
    let Kind::Cancel { node, .. } = &layer.kind else {
        return;
    };
    // Already ended: nothing to do and nothing to detach; no allocation.
    if node.code.load(Ordering::Acquire) != LIVE {
        return;
    }
    let code = code_of(err);
    let Some(children) = node.end(code, &cause) else {
        return;
    };
    // Rule 4: a coroutine walking a large tree yields now and then; rule 8:
    // it shares a wide walk with the other workers.
    let on_coroutine = crate::sched::worker::current().is_some();
    if on_coroutine && children.len() >= SHARE_MIN && crate::maxprocs() > 1 {
        share(children, code, cause);
    } else if !children.is_empty() {
        Walk::new(code, &cause, on_coroutine).subtrees(children.into_iter());
    }
    detach(layer);
}

/// One walker's state: what to end the nodes with, and its yield count
/// (rule 4).
struct Walk<'a> {
    code: u8,
    cause: &'a Option<Cause>,
    on_coroutine: bool,
    since_yield: usize,
}

impl<'a> Walk<'a> {
    fn new(code: u8, cause: &'a Option<Cause>, on_coroutine: bool) -> Self {
        Walk {
            code,
            cause,
            on_coroutine,
            since_yield: 0,
        }
    }

    /// Counts one node toward the next yield (rule 4; no lock is held
    /// here, rule 3).
    fn tick(&mut self) {
        if self.on_coroutine {
            self.since_yield += 1;
            if self.since_yield == CANCEL_YIELD_EVERY {
                self.since_yield = 0;
                crate::yield_now();
            }
        }
    }

    /// Ends `weak`'s node if it can still be reached (rule 5: a child whose
    /// handles are all gone is being released and ends what it owes by
    /// itself), returning its children.
    fn end_one(&self, weak: &Weak<Layer>) -> Option<Vec<Weak<Layer>>> {
        let child = weak.upgrade()?;
        match &child.kind {
            Kind::Cancel { node, .. } => node.end(self.code, self.cause),
            _ => None,
        }
    }

    /// Ends every node below `first` (the children of a node just ended)
    /// with an explicit stack of iterators: no recursion.
    fn subtrees(&mut self, first: std::vec::IntoIter<Weak<Layer>>) {
        let mut stack = vec![first];
        while !stack.is_empty() {
            self.tick();
            let top = stack.last_mut().expect("not empty");
            let Some(weak) = top.next() else {
                stack.pop();
                continue;
            };
            prefetch_ahead(top.as_slice());
            if top.len() == 0 {
                stack.pop(); // a chain keeps one iterator, not one per level
            }
            if let Some(grand) = self.end_one(&weak)
                && !grand.is_empty()
            {
                stack.push(grand.into_iter());
            }
        }
    }
}

/// A node cancelled directly with at least this many children shares the
/// walk below it with the other workers (rule 8).
const SHARE_MIN: usize = 64;
/// Children taken at a time by one walker of a shared cancel (rule 8).
const SHARE_CHUNK: usize = 4;

/// The children of a node whose cancel is shared (rule 8).
struct Shared {
    children: Vec<Weak<Layer>>,
    code: u8,
    cause: Option<Cause>,
    /// Index of the next chunk to claim; past the end when all are claimed.
    next: AtomicUsize,
    /// Walkers that may hold a claimed chunk: raised before claiming,
    /// lowered after the chunk is done or the claim failed.
    busy: AtomicUsize,
}

/// Lowers `busy` when a walker stops, even by a panic (a user value
/// dropped with the last handle of a layer), so the caller never waits
/// for a chunk nobody works on.
struct Busy<'a>(&'a AtomicUsize);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        // Rule 8: Release, so the caller's Acquire load that sees the
        // count fall sees the nodes this walker ended.
        self.0.fetch_sub(1, Ordering::Release);
    }
}

impl Shared {
    /// Claims chunks and ends the subtrees below them until none is left.
    /// Runs on coroutines only (the caller of a shared cancel is one, and
    /// the helpers are).
    fn work(&self) {
        let mut walk = Walk::new(self.code, &self.cause, true);
        let n = self.children.len();
        loop {
            // Rule 8: raised before the claim (both SeqCst), so a caller
            // whose own claim fails after ours sees us busy.
            self.busy.fetch_add(1, Ordering::SeqCst);
            let _busy = Busy(&self.busy);
            let start = self.next.fetch_add(SHARE_CHUNK, Ordering::SeqCst);
            if start >= n {
                return;
            }
            for i in start..n.min(start + SHARE_CHUNK) {
                walk.tick();
                // Hints only: later siblings may belong to another chunk.
                prefetch_ahead(&self.children[i + 1..]);
                if let Some(grand) = walk.end_one(&self.children[i])
                    && !grand.is_empty()
                {
                    walk.subtrees(grand.into_iter());
                }
            }
        }
    }
}

/// Rule 8: ends the subtrees below `children` with up to one helper
/// coroutine per other worker, the caller working too, and returns once
/// every chunk is done.
fn share(children: Vec<Weak<Layer>>, code: u8, cause: Option<Cause>) {
    let chunks = children.len().div_ceil(SHARE_CHUNK);
    let helpers = (crate::maxprocs() - 1).min(chunks - 1);
    let s = Arc::new(Shared {
        children,
        code,
        cause,
        next: AtomicUsize::new(0),
        busy: AtomicUsize::new(0),
    });
    for _ in 0..helpers {
        let s = s.clone();
        crate::spawn(move || s.work());
    }
    s.work();
    // Every chunk is claimed; wait for those others still walk. A yield,
    // not a park: the helpers never wait for us, and the wait is at most
    // one chunk's walk.
    while s.busy.load(Ordering::Acquire) != 0 {
        crate::yield_now();
    }
}
