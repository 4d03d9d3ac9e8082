//! The runtime's own lines on stderr (an unjoined panic, a stuck worker, a
//! stack that could not be had): each written with **one** `write` call.
//!
//! Those reports are often printed while another thread prints a panic
//! (the coroutine's own, through std's panic hook, which does not take the
//! `Stderr` lock that `eprintln!` takes). `eprintln!` writes its pieces
//! one `write` each, so the two interleaved mid-line: a test that looked
//! for `coroutine 2 (late-drop)` on stderr found `coroutine   2:
//! rt_panic::…{{2 (late-drop)` (a backtrace frame spliced in; seen once in
//! a clean-clone CI run, 2026-12-03). A line formatted first and written
//! whole stays whole: a `write` of up to `PIPE_BUF` (4 KiB) bytes to a pipe
//! is atomic, and a terminal or file gets it in one piece as well.
//!
//! Invariants: a report never panics (a failed write is ignored: there is
//! nowhere else to say it) and never parks; it allocates one `String`.
//!
//! Alternative rejected: taking std's `Stderr` lock around the pieces (the
//! panic hook does not take it, so it would not help).

use std::io::Write;

/// Writes `args` and a newline to stderr in one `write` call (see the
/// module docs); errors are ignored.
pub(crate) fn line(args: std::fmt::Arguments<'_>) {
    let mut s = String::with_capacity(160);
    let _ = std::fmt::Write::write_fmt(&mut s, args);
    s.push('\n');
    let _ = std::io::stderr().write_all(s.as_bytes());
}

/// `eprintln!` for the runtime's reports: formats the whole line first and
/// writes it with [`line`].
macro_rules! report {
    ($($arg:tt)*) => {
        $crate::report::line(::core::format_args!($($arg)*))
    };
}
