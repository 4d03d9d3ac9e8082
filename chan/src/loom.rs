//! The loom facade: every synchronisation primitive goro-chan uses comes
//! from here, so `RUSTFLAGS="--cfg loom"` swaps in loom's model-checked
//! versions without touching the algorithms.

#[cfg(loom)]
pub(crate) use loom::{thread, thread_local};
#[cfg(not(loom))]
pub(crate) use std::{thread, thread_local};

#[allow(unused_imports)]
pub(crate) mod sync {
    #[cfg(loom)]
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard, atomic};
    #[cfg(not(loom))]
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard, atomic};
}
