//! Go's `sync` package for coroutines: every blocking call parks the
//! coroutine (never its worker thread) and also works from plain threads.
//!
//! | type | Go | what it is |
//! |------|----|------------|
//! | [`WaitGroup`] | `sync.WaitGroup` | wait for a set of coroutines to finish |
//! | [`Mutex`] | `sync.Mutex` | mutual exclusion; Go's barging + 1 ms starvation handoff |
//! | [`RwMutex`] | `sync.RWMutex` | many readers or one writer; a waiting writer blocks new readers |
//! | [`Cond`] | `sync.Cond` | wait for an event under a [`Mutex`]; FIFO wake-ups |
//! | [`Once`] | `sync.Once` | run a function exactly once |
//! | [`OnceCell`] | `sync.OnceValue` | a value initialised exactly once, lazily |
//! | [`Pool`] | `sync.Pool` | per-worker caches of reusable values, emptied when idle |
//! | [`Semaphore`] | `x/sync/semaphore.Weighted` | weighted FIFO semaphore with try and timeout |
//!
//! All of them block through [`goro::waiter`](crate::waiter) with a
//! validate callback (no lost wake-ups, see its module docs) and record a
//! wait reason on the parked coroutine (`"sync.Mutex.Lock"`,
//! `"sync.RWMutex.RLock"`, `"sync.Cond.Wait"`, ...).
//!
//! The shared pieces: `sema` is the one weighted FIFO wait queue (a unit
//! count and a queue with direct grants; Go's runtime semaphore for `sync`)
//! under [`Mutex`], [`RwMutex`] and [`Semaphore`]. The state machines of [`Mutex`], [`Once`], [`WaitGroup`] and
//! `sema` take their atomics from `crate::loom`, so
//! `RUSTFLAGS="--cfg loom"` model-checks them; [`Pool`] needs the
//! scheduler (per-worker caches) and is not built under loom.

/// Defines a `const fn` normally and a plain `fn` under loom, whose types
/// have no `const` constructors.
macro_rules! maybe_const_fn {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        #[cfg(not(loom))]
        $(#[$attr])*
        $vis const fn $name($($arg: $ty),*) -> $ret $body
        #[cfg(loom)]
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) -> $ret $body
    };
}

mod cond;
mod mutex;
mod once;
#[cfg(not(loom))]
mod pool;
mod rwmutex;
mod sema;
mod semaphore;
mod waitgroup;

pub use cond::Cond;
pub use mutex::{Mutex, MutexGuard};
pub use once::{Once, OnceCell};
#[cfg(not(loom))]
pub use pool::Pool;
pub use rwmutex::{RwMutex, RwMutexReadGuard, RwMutexWriteGuard};
pub use semaphore::Semaphore;
pub use waitgroup::WaitGroup;

/// Runs a loom model of this module's state machines. Three-party models
/// explode without a bound, so unless `LOOM_MAX_PREEMPTIONS` says otherwise
/// each is explored with at most 3 preemptions per execution (tokio's CI
/// uses 2); bugs in these protocols need one or two.
#[cfg(all(test, loom))]
pub(crate) fn loom_model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(3);
    }
    b.check(f);
}
