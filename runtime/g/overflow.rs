//! Stack-overflow reporting: a `SIGSEGV` handler that recognises a fault in
//! the running coroutine's guard page and says so, instead of a bare
//! segmentation fault.
//!
//! Before resuming a coroutine, the worker records its guard page range,
//! stack size and header in thread-local atomics ([`enter`]). A `SIGSEGV`
//! whose address falls in that range prints
//!
//! ```text
//! goro: coroutine 17 (parser) overflowed its 128 KiB stack (spawned at src/main.rs:9:5)
//! ```
//!
//! and aborts. Rust functions with frames larger than a page probe each
//! page in order, so an overflow always touches the guard before anything
//! below it. Any other fault is passed to the handler that was installed
//! before ours (usually std's, which reports overflows of thread stacks), or
//! to the default action.
//!
//! The handler runs on the alternate signal stack (the faulting stack has no
//! room left). std gives its threads one when its own handler is installed;
//! [`ensure_altstack`] adds one to a worker thread that lacks it. The
//! handler only reads atomics and immutable header fields and writes with
//! `write(2)`: it allocates nothing and takes no lock.

use std::cell::Cell;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use crate::g::Header;

struct Running {
    guard_lo: AtomicUsize,
    guard_hi: AtomicUsize,
    usable: AtomicUsize,
    g: AtomicPtr<Header>,
}

std::thread_local! {
    // Const-initialised, no destructor: reading it is a plain TLS access,
    // safe inside a signal handler.
    static RUNNING: Running = const {
        Running {
            guard_lo: AtomicUsize::new(0),
            guard_hi: AtomicUsize::new(0),
            usable: AtomicUsize::new(0),
            g: AtomicPtr::new(ptr::null_mut()),
        }
    };
    static ALTSTACK_DONE: Cell<bool> = const { Cell::new(false) };
}

/// Records the coroutine about to run on this thread.
#[inline]
pub(crate) fn enter(guard: (usize, usize, usize), g: std::ptr::NonNull<Header>) {
    RUNNING.with(|r| {
        r.guard_lo.store(guard.0, Ordering::Relaxed);
        r.guard_hi.store(guard.1, Ordering::Relaxed);
        r.usable.store(guard.2, Ordering::Relaxed);
        r.g.store(g.as_ptr(), Ordering::Relaxed);
    });
}

/// Clears the record when the coroutine switched out.
#[inline]
pub(crate) fn leave() {
    RUNNING.with(|r| {
        r.guard_lo.store(0, Ordering::Relaxed);
        r.guard_hi.store(0, Ordering::Relaxed);
    });
}

struct OldAction(libc::sigaction);
// SAFETY: a plain C struct of integers and function addresses, written once
// before any reader can see it.
unsafe impl Sync for OldAction {}
// SAFETY: as above.
unsafe impl Send for OldAction {}

static OLD_SEGV: OnceLock<OldAction> = OnceLock::new();

/// Installs the handler (once per process).
pub(crate) fn install_handler() {
    OLD_SEGV.get_or_init(|| {
        // SAFETY: zeroed sigaction is a valid "no action" value; sigaction(2)
        // with a valid struct pointer has no other precondition. The handler
        // is async-signal-safe (module docs).
        unsafe {
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = handler as *const () as usize;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut new.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGSEGV, &new, &mut old) != 0 {
                old.sa_sigaction = libc::SIG_DFL;
            }
            OldAction(old)
        }
    });
}

/// Gives the calling worker thread an alternate signal stack if it has none.
pub(crate) fn ensure_altstack() {
    if ALTSTACK_DONE.with(|d| d.replace(true)) {
        return;
    }
    // SAFETY: querying with a null new-stack pointer only writes `cur`.
    unsafe {
        let mut cur: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(ptr::null(), &mut cur) != 0 || cur.ss_flags & libc::SS_DISABLE == 0 {
            return; // has one already (std's), or we cannot tell
        }
    }
    let size = libc::SIGSTKSZ.max(64 * 1024);
    let page = crate::g::stack::page_size();
    // SAFETY: a fresh private anonymous mapping; the first page becomes a
    // guard. The mapping is never freed: worker threads never exit.
    unsafe {
        let p = libc::mmap(
            ptr::null_mut(),
            size + page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return;
        }
        libc::mprotect(p, page, libc::PROT_NONE);
        let st = libc::stack_t {
            ss_sp: (p as usize + page) as *mut libc::c_void,
            ss_flags: 0,
            ss_size: size,
        };
        libc::sigaltstack(&st, ptr::null_mut());
    }
}

/// A fixed buffer for composing the report without allocating.
struct Buf {
    b: [u8; 768],
    n: usize,
}

impl Buf {
    fn put(&mut self, s: &[u8]) {
        let k = s.len().min(self.b.len() - self.n);
        self.b[self.n..self.n + k].copy_from_slice(&s[..k]);
        self.n += k;
    }
    fn num(&mut self, mut v: u64) {
        let mut d = [0u8; 20];
        let mut i = d.len();
        loop {
            i -= 1;
            d[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(&d[i..]);
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let (lo, hi, usable, g) = RUNNING.with(|r| {
        (
            r.guard_lo.load(Ordering::Relaxed),
            r.guard_hi.load(Ordering::Relaxed),
            r.usable.load(Ordering::Relaxed),
            r.g.load(Ordering::Relaxed),
        )
    });
    if lo != 0 && addr >= lo && addr < hi && !g.is_null() {
        let mut b = Buf { b: [0; 768], n: 0 };
        // SAFETY: `g` is the running coroutine's header (set by `enter`),
        // live while it runs; `id`, `name` and `spawned_at` are immutable.
        let h = unsafe { &*g };
        b.put(b"goro: coroutine ");
        b.num(h.id);
        if let Some(n) = &h.name {
            b.put(b" (");
            b.put(n.as_bytes());
            b.put(b")");
        }
        b.put(b" overflowed its ");
        b.num((usable >> 10) as u64);
        b.put(b" KiB stack (spawned at ");
        b.put(h.spawned_at.file().as_bytes());
        b.put(b":");
        b.num(h.spawned_at.line() as u64);
        b.put(b"); raise it with goro::Builder::stack_size or GORO_STACK_SIZE\n");
        // SAFETY: write(2) and abort(3) are async-signal-safe.
        unsafe {
            libc::write(2, b.b.as_ptr() as *const libc::c_void, b.n);
            libc::abort();
        }
    }
    // Not ours: hand over to the previous handler, or the default action.
    let old = OLD_SEGV.get().map(|o| &o.0);
    match old {
        Some(o) if o.sa_sigaction != libc::SIG_DFL && o.sa_sigaction != libc::SIG_IGN => {
            if o.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed with SA_SIGINFO,
                // so it has this signature.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(o.sa_sigaction) };
                f(sig, info, ctx);
            } else {
                // SAFETY: a plain handler takes the signal number only.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(o.sa_sigaction) };
                f(sig);
            }
        }
        _ => {
            // Restore the default action; returning re-executes the faulting
            // instruction, which then kills the process as usual.
            // SAFETY: a zeroed sigaction with SIG_DFL is valid.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGSEGV, &dfl, ptr::null_mut());
            }
        }
    }
}
