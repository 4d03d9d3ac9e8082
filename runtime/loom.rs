//! The loom facade: the lock-free state machines (the G state word,
//! WaitGroup, Mutex, Once, ...) take their atomics and locks from here,
//! so `RUSTFLAGS="--cfg loom"` model-checks them with loom's versions.
//! Under `cfg(loom)` only those leaf modules are compiled (see `lib.rs`).

#[allow(unused_imports)]
pub(crate) mod sync {
    #[cfg(loom)]
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard, atomic};
    #[cfg(not(loom))]
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard, atomic};
}
