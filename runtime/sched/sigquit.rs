//! `SIGQUIT` (Ctrl-\\, `kill -QUIT`): print every coroutine to stderr and
//! exit with status 2, as Go does. `GORO_DEBUG=quitdump=0` leaves the
//! signal alone.
//!
//! # How
//!
//! A dump allocates and takes locks, which a signal handler must not do.
//! So the handler only writes one byte to a pipe (`write` is
//! async-signal-safe); a thread of goro's own, `goro-sigquit`, blocked in
//! `read` on the other end, prints `SIGQUIT: quit`, the dump, and exits 2.
//!
//! # Chaining
//!
//! If the process had a handler for `SIGQUIT` when goro started (installed
//! by the user or a library), goro's handler calls it after writing its
//! byte, with the same arguments, and the dump thread prints the dump but
//! does **not** exit: the user's handler decides what `SIGQUIT` means. A
//! handler installed *after* goro's replaces it (goro does not fight for
//! the signal).
//!
//! # Invariants
//!
//! * The handler touches only: the pipe's write end and the saved previous
//!   action, both written before the handler is installed and never again.
//! * The dump thread is listed as goro's own (it never runs user code), so
//!   it does not make deadlock detection give up.
//! * The exit is `_exit(2)` after a bounded flush of stdout, never
//!   `std::process::exit`: std's exit path unmaps the main thread's
//!   alternate signal stack, and the handler that woke the dump thread may
//!   still be running on it (it runs with `SA_ONSTACK`, and the kernel often
//!   picks the main thread for a process-directed signal). Unmapping it
//!   under the handler killed the process with `SIGSEGV` instead of status
//!   2 (seen about once in 150 runs of `rt_diag_signal`).
//!
//! Alternatives rejected: dumping inside the handler (allocation and locks
//! in a signal handler can deadlock on the interrupted thread's own lock);
//! `sigwait` on a dedicated thread (it needs the signal blocked in every
//! thread, including the user's, which a library cannot arrange); a flag
//! polled by the workers (a stuck worker would never look).

use std::sync::OnceLock;

/// What the handler needs; written once before the handler is installed.
struct Installed {
    write_fd: libc::c_int,
    previous: libc::sigaction,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

fn has_user_handler(prev: &libc::sigaction) -> bool {
    prev.sa_sigaction != libc::SIG_DFL && prev.sa_sigaction != libc::SIG_IGN
}

extern "C" fn on_sigquit(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(i) = INSTALLED.get() else { return };
    let byte = 1u8;
    // SAFETY: write is async-signal-safe; the fd and buffer are valid.
    unsafe { libc::write(i.write_fd, (&byte as *const u8).cast(), 1) };
    if has_user_handler(&i.previous) {
        // SAFETY: chaining to the handler that was installed before ours,
        // with the arguments we were given, in the way its flags say it
        // expects to be called.
        unsafe {
            if i.previous.sa_flags & libc::SA_SIGINFO != 0 {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(i.previous.sa_sigaction);
                f(sig, info, ctx);
            } else {
                let f: extern "C" fn(libc::c_int) = std::mem::transmute(i.previous.sa_sigaction);
                f(sig);
            }
        }
    }
}

/// Installs the handler and starts the dump thread (once, at start-up).
pub(crate) fn install() {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        report!(
            "goro: cannot create the SIGQUIT pipe: {}; SIGQUIT dumps are off",
            std::io::Error::last_os_error()
        );
        return;
    }
    let (read_fd, write_fd) = (fds[0], fds[1]);
    // SAFETY: a zeroed sigaction is a valid "no handler" value to read into.
    let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: reading the current action into valid memory.
    unsafe { libc::sigaction(libc::SIGQUIT, std::ptr::null(), &mut previous) };
    let chained = has_user_handler(&previous);
    if INSTALLED.set(Installed { write_fd, previous }).is_err() {
        return;
    }
    // Wait until the thread runs: a thread that starts later could find
    // the process under a tighter resource limit (std maps its signal
    // stack at start) or be missed by the deadlock check's thread count.
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let started = std::thread::Builder::new()
        .name("goro-sigquit".into())
        .spawn(move || dump_loop(read_fd, chained, ready_tx));
    if let Err(e) = started {
        report!("goro: cannot start the SIGQUIT thread: {e}; SIGQUIT dumps are off");
        return;
    }
    let _ = ready_rx.recv();
    // SAFETY: a zeroed sigaction plus the fields we set is a valid action;
    // `on_sigquit` has the SA_SIGINFO signature.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_sigquit as *const () as usize;
        act.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaction(libc::SIGQUIT, &act, std::ptr::null_mut());
    }
}

fn dump_loop(read_fd: libc::c_int, chained: bool, ready: std::sync::mpsc::SyncSender<()>) {
    let _own = crate::g::registry::OwnThread::register();
    let _ = ready.send(());
    loop {
        let mut byte = 0u8;
        // SAFETY: reading one byte into a valid buffer from our pipe.
        let n = unsafe { libc::read(read_fd, (&mut byte as *mut u8).cast(), 1) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return;
        }
        eprint!("SIGQUIT: quit\n\n{}", super::dump::dump());
        if !chained {
            exit_2();
        }
    }
}

/// Flushes stdout (waiting at most a second: another thread may hold its
/// lock for good, e.g. blocked writing to a full pipe), then ends the
/// process with status 2 without running exit handlers (module invariants).
fn exit_2() -> ! {
    use std::io::Write;
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<()>(1);
    let flusher = std::thread::Builder::new()
        .name("goro-sigquit-flush".into())
        .spawn(move || {
            let _ = std::io::stdout().flush();
            let _ = done_tx.send(());
        });
    if flusher.is_ok() {
        let _ = done_rx.recv_timeout(std::time::Duration::from_secs(1));
    }
    // SAFETY: `_exit` is always safe to call; it ends every thread at once
    // and touches no memory the other threads are using.
    unsafe { libc::_exit(2) }
}
