//! Go's `sync` package for coroutines: every blocking call parks the
//! coroutine (never its worker thread) and also works from plain threads.

mod waitgroup;

pub use waitgroup::WaitGroup;
