//! Where a coroutine may run: anywhere, on whichever worker runs it first,
//! or on one worker only (Go's `LockOSThread`).
//!
//! The choice lives in the coroutine header as one `usize` so the scheduler
//! reads it with a single relaxed load on every `schedule`. The encoding is
//! private to this file; everybody else sees the [`Pin`] enum:
//!
//! | word                 | `Pin`               |
//! |----------------------|---------------------|
//! | `usize::MAX`         | `Anywhere`          |
//! | `usize::MAX - 1`     | `OnFirstRun`        |
//! | `i < MAX_PROCS`      | `Worker(i)`         |
//!
//! # Access rules
//!
//! 1. `OnFirstRun → Worker(i)`: only the worker `i` that runs the
//!    coroutine for the first time, before it resumes it.
//! 2. `Worker(i) ↔ Anywhere`: only the coroutine itself, while it runs
//!    (`lock_os_thread` / `unlock_os_thread`), so it is running on `i`.
//!
//! So every write is made by the thread that runs the coroutine, and the
//! word is read by the same thread or by whoever holds its run reference
//! after a happens-before edge (queue push/pop, state word): `Relaxed` is
//! enough.
//!
//! Alternatives rejected: an `AtomicU8` tag plus an index (two loads on the
//! hot path), or decoding the raw word at each use (the old shape: four
//! places compared against `usize::MAX` and `MAX - 1` by hand).

use std::sync::atomic::{AtomicUsize, Ordering};

const ANYWHERE: usize = usize::MAX;
const ON_FIRST_RUN: usize = usize::MAX - 1;

/// Where a coroutine may run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Pin {
    /// On any worker; it migrates freely.
    Anywhere,
    /// It will be bound to the worker that first runs it.
    OnFirstRun,
    /// Bound to worker `i` (never enters a stealable queue).
    Worker(usize),
}

impl Pin {
    /// The pin for a spawn: `OnFirstRun` if `pinned`, else `Anywhere`.
    pub(crate) fn for_spawn(pinned: bool) -> Pin {
        if pinned {
            Pin::OnFirstRun
        } else {
            Pin::Anywhere
        }
    }

    #[inline]
    fn encode(self) -> usize {
        match self {
            Pin::Anywhere => ANYWHERE,
            Pin::OnFirstRun => ON_FIRST_RUN,
            Pin::Worker(i) => {
                debug_assert!(i < ON_FIRST_RUN);
                i
            }
        }
    }

    #[inline]
    fn decode(w: usize) -> Pin {
        match w {
            ANYWHERE => Pin::Anywhere,
            ON_FIRST_RUN => Pin::OnFirstRun,
            i => Pin::Worker(i),
        }
    }
}

/// The header's pin word (see the module docs for who writes it).
pub(crate) struct AtomicPin(AtomicUsize);

impl AtomicPin {
    pub(crate) fn new(p: Pin) -> Self {
        AtomicPin(AtomicUsize::new(p.encode()))
    }

    #[inline]
    pub(crate) fn load(&self) -> Pin {
        Pin::decode(self.0.load(Ordering::Relaxed))
    }

    /// The worker it is bound to, if any. One comparison: the hot path of
    /// `schedule`.
    #[inline]
    pub(crate) fn worker(&self) -> Option<usize> {
        let w = self.0.load(Ordering::Relaxed);
        (w < ON_FIRST_RUN).then_some(w)
    }

    /// Stores a new pin; the caller follows the access rules above.
    #[inline]
    pub(crate) fn store(&self, p: Pin) {
        self.0.store(p.encode(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for p in [
            Pin::Anywhere,
            Pin::OnFirstRun,
            Pin::Worker(0),
            Pin::Worker(255),
        ] {
            let a = AtomicPin::new(p);
            assert_eq!(a.load(), p);
            assert_eq!(
                a.worker(),
                match p {
                    Pin::Worker(i) => Some(i),
                    _ => None,
                }
            );
        }
        let a = AtomicPin::new(Pin::OnFirstRun);
        a.store(Pin::Worker(3));
        assert_eq!(a.worker(), Some(3));
        assert_eq!(Pin::for_spawn(true), Pin::OnFirstRun);
        assert_eq!(Pin::for_spawn(false), Pin::Anywhere);
    }
}
