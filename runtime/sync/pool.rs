//! `Pool<T>`: Go's `sync.Pool`, a cache of reusable values (buffers,
//! connections) that spares the cost of making a new one per use.
//!
//! # Layout
//!
//! ```text
//!  Pool (Arc<Shared>)
//!   make: Fn() -> T                 called by `get` when every cache is empty
//!   locals[w] for each possible worker (MAX_PROCS = 1024 `OnceLock`s, 16 KiB
//!   per pool), each created on first use by worker w, one cache line:
//!       Mutex<Cache { fresh, victim }>
//!   foreign                         the cache for plain threads
//! ```
//!
//! `get` and `put` on worker `w` touch only `locals[w]` (its lock is taken
//! by nobody else except a stealer whose own cache is empty and the
//! sweeper, once per second), so the common path shares no cache line
//! between workers: Go's per-P `private`/`shared`, with an uncontended lock
//! where Go disables preemption (goro has none to disable). `get` on an
//! empty cache steals from the other workers' caches (`try_lock`, never
//! waiting), then calls `make`.
//!
//! # Bounds: an idle pool gives its memory back
//!
//! * Each cache holds at most `per_worker` values ([`Pool::with_capacity`],
//!   default [`DEFAULT_PER_WORKER`]); `put` into a full cache drops the
//!   value.
//! * Go drops pooled values at garbage collections, keeping one generation
//!   as a *victim* cache. goro has no GC, so a background thread (the
//!   *sweeper*, started with the first pool) does the same every
//!   [`SWEEP_INTERVAL`]: each cache's victims are dropped and its fresh
//!   values become victims ([`Pool::trim`]). `get` takes fresh values
//!   first, then victims, so a value unused for two sweeps (1–2 s) is
//!   dropped, while a busy pool keeps what it uses.
//! * When every pool is empty the sweeper sleeps without a timeout; a `put`
//!   into an empty cache wakes it. An idle program is not woken by pools.
//!
//! # Access rules
//!
//! 1. A cache's contents are touched only under its lock, and the lock is
//!    never held while calling `make`, dropping a value, or waking anyone.
//! 2. The sweeper may sleep only after it has set `sleeping` and then found
//!    every cache empty, each under its lock; a `put` that makes a cache
//!    non-empty reads `sleeping` after its unlock. The lock orders the two,
//!    so either the sweeper sees the value or the `put` sees the flag and
//!    wakes it.
//!
//! # Alternatives rejected
//!
//! * *One shared stack* (a lock or lock-free list): every `get`/`put` on
//!   every worker would hit the same cache line.
//! * *Timestamps per value*: a clock read per `put`; the two-generation
//!   sweep needs none and matches Go's behaviour.
//! * *A sweeper coroutine*: it would count in `goro::num_goroutine()` and
//!   keep a worker busy; a plain thread that sleeps when all pools are
//!   empty costs nothing when idle.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::config::MAX_PROCS;

/// Values a worker's cache keeps at most, unless set with
/// [`Pool::with_capacity`] (public as [`Pool::DEFAULT_PER_WORKER`]).
const DEFAULT_PER_WORKER: usize = 64;
/// How often the sweeper ages pooled values: unused for two sweeps, a value
/// is dropped (public as [`Pool::SWEEP_INTERVAL`]).
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

struct Cache<T> {
    fresh: Vec<T>,
    victim: Vec<T>,
}

impl<T> Cache<T> {
    fn pop(&mut self) -> Option<T> {
        self.fresh.pop().or_else(|| self.victim.pop())
    }
    fn is_empty(&self) -> bool {
        self.fresh.is_empty() && self.victim.is_empty()
    }
    fn len(&self) -> usize {
        self.fresh.len() + self.victim.len()
    }
}

type Slot<T> = CachePadded<Mutex<Cache<T>>>;

struct Shared<T> {
    make: Box<dyn Fn() -> T + Send + Sync>,
    per_worker: usize,
    /// One per possible worker, created by that worker on first use.
    locals: Box<[OnceLock<Box<Slot<T>>>]>,
    /// Slots `0..hi` may exist (bounds the steal and sweep scans).
    hi: AtomicUsize,
    foreign: Slot<T>,
}

fn lock<T>(s: &Slot<T>) -> MutexGuard<'_, Cache<T>> {
    // Rule 1: nothing under the lock can panic halfway.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> Shared<T> {
    /// This caller's cache, and its worker index (`None` on a plain thread).
    #[inline]
    fn mine(&self) -> (&Slot<T>, Option<usize>) {
        match crate::sched::worker::ctx().map(|c| c.index) {
            Some(w) => {
                let slot = self.locals[w].get_or_init(|| {
                    self.hi.fetch_max(w + 1, Ordering::AcqRel);
                    Box::new(CachePadded::new(Mutex::new(Cache {
                        fresh: Vec::new(),
                        victim: Vec::new(),
                    })))
                });
                (slot, Some(w))
            }
            None => (&self.foreign, None),
        }
    }

    fn slots(&self) -> impl Iterator<Item = &Slot<T>> {
        let hi = self.hi.load(Ordering::Acquire);
        self.locals[..hi]
            .iter()
            .filter_map(|s| s.get().map(|b| &**b))
            .chain(std::iter::once(&self.foreign))
    }

    #[cold]
    fn steal(&self, me: Option<usize>) -> Option<T> {
        let hi = self.hi.load(Ordering::Acquire);
        let others = self.locals[..hi]
            .iter()
            .enumerate()
            .filter(|&(i, _)| Some(i) != me)
            .filter_map(|(_, s)| s.get().map(|b| &**b));
        let foreign = me.is_some().then_some(&self.foreign);
        for s in others.chain(foreign) {
            if let Ok(mut c) = s.try_lock()
                && let Some(v) = c.pop()
            {
                return Some(v);
            }
        }
        None
    }
}

/// What the sweeper needs from a pool, whatever its `T`.
trait Trim: Send + Sync {
    /// Ages every cache; returns whether any value is left.
    fn trim(&self) -> bool;
    /// Whether any cache holds a value.
    fn holds_any(&self) -> bool;
}

impl<T: Send> Trim for Shared<T> {
    fn trim(&self) -> bool {
        let mut left = false;
        for s in self.slots() {
            let dropped = {
                let mut c = lock(s);
                let fresh = std::mem::take(&mut c.fresh);
                left |= !fresh.is_empty();
                std::mem::replace(&mut c.victim, fresh)
            };
            drop(dropped); // outside the lock (rule 1)
        }
        left
    }

    fn holds_any(&self) -> bool {
        self.slots().any(|s| !lock(s).is_empty())
    }
}

/// A set of reusable values with per-worker caches (Go's `sync.Pool`).
///
/// [`get`](Self::get) returns a cached value or makes a new one with the
/// function given to [`new`](Self::new); [`put`](Self::put) hands one back
/// for reuse. Values are interchangeable: `get` may return any of them, or
/// a new one, and a value put may be dropped at any time (when a cache is
/// full, or after two sweeps without use; see the module docs). Reset a
/// value's contents before `put`, or after `get`.
///
/// Cloning a `Pool` gives another handle to the same caches. Never blocks.
///
/// ```
/// use goro::sync::{Pool, WaitGroup};
///
/// let buffers = Pool::new(|| Vec::<u8>::with_capacity(4096));
/// goro::run(move || {
///     let wg = WaitGroup::new();
///     for i in 0..100u8 {
///         let buffers = buffers.clone();
///         wg.go(move || {
///             let mut buf = buffers.get();
///             buf.clear();
///             buf.push(i);
///             buffers.put(buf);
///         });
///     }
///     wg.wait();
/// });
/// ```
pub struct Pool<T: Send + 'static> {
    shared: Arc<Shared<T>>,
}

impl<T: Send + 'static> Pool<T> {
    /// Values a worker's cache keeps at most unless set with
    /// [`with_capacity`](Self::with_capacity): 64.
    ///
    /// ```
    /// assert_eq!(goro::sync::Pool::<u8>::DEFAULT_PER_WORKER, 64);
    /// ```
    pub const DEFAULT_PER_WORKER: usize = DEFAULT_PER_WORKER;

    /// How often the background sweeper ages every pool (1 s): a value not
    /// taken for two sweeps is dropped.
    ///
    /// ```
    /// assert_eq!(goro::sync::Pool::<u8>::SWEEP_INTERVAL.as_secs(), 1);
    /// ```
    pub const SWEEP_INTERVAL: Duration = SWEEP_INTERVAL;

    /// A pool that makes new values with `make`, keeping up to
    /// [`DEFAULT_PER_WORKER`](Self::DEFAULT_PER_WORKER) values per worker
    /// cache.
    ///
    /// ```
    /// let p = goro::sync::Pool::new(String::new);
    /// assert_eq!(p.get(), "");
    /// ```
    pub fn new(make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self::with_capacity(DEFAULT_PER_WORKER, make)
    }

    /// A pool keeping at most `per_worker` values in each worker's cache
    /// (and as many for plain threads). `0` caches nothing (every `get`
    /// makes a value). Default:
    /// [`DEFAULT_PER_WORKER`](Self::DEFAULT_PER_WORKER). Never panics.
    ///
    /// ```
    /// let p = goro::sync::Pool::with_capacity(1, || 0u32);
    /// p.put(1);
    /// p.put(2); // this cache is full: dropped
    /// assert_eq!(p.cached(), 1);
    /// ```
    pub fn with_capacity(per_worker: usize, make: impl Fn() -> T + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared {
            make: Box::new(make),
            per_worker,
            locals: (0..MAX_PROCS).map(|_| OnceLock::new()).collect(),
            hi: AtomicUsize::new(0),
            foreign: CachePadded::new(Mutex::new(Cache {
                fresh: Vec::new(),
                victim: Vec::new(),
            })),
        });
        let weak: Weak<Shared<T>> = Arc::downgrade(&shared);
        sweeper::register(weak);
        Pool { shared }
    }

    /// A value from this worker's cache, else one stolen from another
    /// worker's cache, else a new one from `make`.
    ///
    /// ```
    /// let p = goro::sync::Pool::new(|| vec![0u8; 16]);
    /// let v = p.get();
    /// assert_eq!(v.len(), 16);
    /// ```
    #[inline]
    pub fn get(&self) -> T {
        let sh = &*self.shared;
        let (slot, me) = sh.mine();
        let hit = lock(slot).pop();
        match hit {
            Some(v) => v,
            None => sh.steal(me).unwrap_or_else(|| (sh.make)()),
        }
    }

    /// Puts `value` in this worker's cache for a later `get`, or drops it
    /// if the cache is full.
    ///
    /// ```
    /// let p = goro::sync::Pool::new(|| 0u64);
    /// p.put(42);
    /// assert_eq!(p.get(), 42);
    /// ```
    #[inline]
    pub fn put(&self, value: T) {
        let sh = &*self.shared;
        let (slot, _) = sh.mine();
        let mut c = lock(slot);
        if c.fresh.len() >= sh.per_worker {
            drop(c);
            drop(value); // rule 1: outside the lock
            return;
        }
        let was_empty = c.is_empty();
        c.fresh.push(value);
        drop(c);
        if was_empty {
            sweeper::note_nonempty(); // rule 2
        }
    }

    /// Ages the caches now, as the sweeper does every
    /// [`SWEEP_INTERVAL`](Self::SWEEP_INTERVAL):
    /// drops values that were already aged by the previous trim and not
    /// taken since, and ages the rest. Two trims in a row empty an unused
    /// pool.
    ///
    /// ```
    /// let p = goro::sync::Pool::new(|| 0u8);
    /// p.put(1);
    /// p.trim();
    /// assert_eq!(p.cached(), 1); // aged, still there
    /// p.trim();
    /// assert_eq!(p.cached(), 0); // unused for two trims: dropped
    /// ```
    pub fn trim(&self) {
        self.shared.trim();
    }

    /// How many values the caches hold now (a snapshot; takes every cache's
    /// lock, so not for hot paths).
    ///
    /// ```
    /// let p = goro::sync::Pool::new(|| 0u8);
    /// assert_eq!(p.cached(), 0);
    /// ```
    pub fn cached(&self) -> usize {
        self.shared.slots().map(|s| lock(s).len()).sum()
    }
}

impl<T: Send + 'static> Clone for Pool<T> {
    fn clone(&self) -> Self {
        Pool {
            shared: self.shared.clone(),
        }
    }
}

impl<T: Send + 'static> std::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("per_worker", &self.shared.per_worker)
            .field("cached", &self.cached())
            .finish_non_exhaustive()
    }
}

/// The background thread that ages every pool (module docs, "Bounds").
mod sweeper {
    use super::*;
    use std::thread::Thread;

    struct Sweeper {
        pools: Mutex<Vec<Weak<dyn Trim>>>,
        /// Set by the sweeper before it sleeps without a timeout (rule 2).
        sleeping: AtomicBool,
        /// `None` if the thread could not be started.
        thread: OnceLock<Option<Thread>>,
    }

    static SWEEPER: Sweeper = Sweeper {
        pools: Mutex::new(Vec::new()),
        sleeping: AtomicBool::new(false),
        thread: OnceLock::new(),
    };

    fn pools() -> MutexGuard<'static, Vec<Weak<dyn Trim>>> {
        SWEEPER.pools.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn register<T: Send + 'static>(pool: Weak<Shared<T>>) {
        pools().push(pool);
        SWEEPER.thread.get_or_init(|| {
            // If the thread cannot start, pools are still bounded per
            // worker; they just do not age. Report it once.
            match std::thread::Builder::new()
                .name("goro-pool-sweeper".into())
                .spawn(run)
            {
                Ok(h) => Some(h.thread().clone()),
                Err(e) => {
                    report!("goro: cannot start the sync::Pool sweeper thread: {e}");
                    None
                }
            }
        });
    }

    /// A cache went from empty to non-empty: wake the sweeper if it sleeps.
    pub(super) fn note_nonempty() {
        if SWEEPER.sleeping.load(Ordering::SeqCst) && SWEEPER.sleeping.swap(false, Ordering::SeqCst)
        {
            if let Some(Some(t)) = SWEEPER.thread.get() {
                t.unpark();
            }
        }
    }

    /// Live pools (dropping dead ones), cloned out so no lock is held while
    /// trimming.
    fn live() -> Vec<Arc<dyn Trim>> {
        let mut ps = pools();
        let mut live = Vec::with_capacity(ps.len());
        ps.retain(|w| match w.upgrade() {
            Some(p) => {
                live.push(p);
                true
            }
            None => false,
        });
        live
    }

    fn run() {
        // goro's own thread for the deadlock check (`sched/deadlock.rs`): it
        // only drops idle pooled values.
        let _own = crate::g::registry::OwnThread::register();
        loop {
            std::thread::park_timeout(SWEEP_INTERVAL);
            let mut left = false;
            for p in live() {
                left |= p.trim();
            }
            if left {
                continue;
            }
            // Rule 2: flag first, then look under each cache lock.
            SWEEPER.sleeping.store(true, Ordering::SeqCst);
            if live().iter().any(|p| p.holds_any()) {
                SWEEPER.sleeping.store(false, Ordering::SeqCst);
                continue;
            }
            while SWEEPER.sleeping.load(Ordering::SeqCst) {
                std::thread::park();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cache_is_bounded_and_aged() {
        let p = Pool::with_capacity(2, || 0u32);
        for i in 0..5 {
            p.put(i);
        }
        assert_eq!(p.cached(), 2, "bounded");
        p.trim();
        assert_eq!(p.cached(), 2, "aged once: kept as victims");
        assert_eq!(p.get(), 1, "victims are still handed out");
        p.trim();
        assert_eq!(p.cached(), 0, "unused for two trims: dropped");
    }

    #[test]
    fn fresh_values_go_first() {
        let p = Pool::new(|| 0u32);
        p.put(1);
        p.trim();
        p.put(2);
        assert_eq!(p.get(), 2);
        assert_eq!(p.get(), 1);
        assert_eq!(p.get(), 0, "empty: made");
    }
}
