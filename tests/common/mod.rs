//! Shared test helpers: watchdogs and re-running a test in child processes
//! under different `GOMAXPROCS` values.
//!
//! The runtime is global and reads `GOMAXPROCS` once, so a scenario that
//! must run under several worker counts runs in child processes: the test
//! binary re-executes itself with `--exact <test name>`, `GOMAXPROCS=<n>`
//! and `GORO_TEST_CHILD=<test name>`; in the child, the same test function
//! sees the variable and runs the scenario instead of spawning. The parent
//! kills a child that runs past its deadline, so a hang is a failure, not a
//! stuck CI job.

#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Worker counts stress scenarios run under: one, two, and more than this
/// machine's cores.
pub fn procs_matrix() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    vec![1, 2, (cores * 2).max(4)]
}

/// Runs `f` in this process under a watchdog: if it has not returned after
/// `limit`, the whole test process exits with a message (a hung coroutine
/// cannot be cancelled, and a hang must fail the run, not stall it).
pub fn watchdog<T>(name: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    let name = name.to_string();
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < limit {
            if d2.load(Ordering::Acquire) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !d2.load(Ordering::Acquire) {
            eprintln!("WATCHDOG: test `{name}` still running after {limit:?}: treating as a hang");
            std::process::exit(124);
        }
    });
    let r = f();
    done.store(true, Ordering::Release);
    r
}

/// Output of a finished child process.
pub struct ChildOutput {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// An environment value for [`run_child`] that removes the variable from
/// the child's environment instead of setting it (no real value holds a
/// NUL byte).
pub const UNSET: &str = "\0unset";

/// Runs the current test binary's test `name` in a child process with
/// extra environment variables (a value of [`UNSET`] removes the
/// variable), killing it after `limit`.
pub fn run_child(name: &str, env: &[(&str, &str)], limit: Duration) -> ChildOutput {
    let exe = std::env::current_exe().expect("current test binary");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("GORO_TEST_CHILD", name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        if *v == UNSET {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.spawn().expect("spawn child test process");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for child") {
            break s;
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("reap killed child");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    ChildOutput {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
        timed_out,
    }
}

/// True in the child process that runs test `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var("GORO_TEST_CHILD").is_ok_and(|v| v == name)
}

/// Runs test `name` in a child process with `env` and asserts that it
/// finished within `limit`, succeeded, and really ran the test.
pub fn assert_child_passes(name: &str, env: &[(&str, &str)], limit: Duration) {
    let out = run_child(name, env, limit);
    assert!(
        !out.timed_out,
        "{name} with {env:?} hung (killed after {limit:?})\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.status.success(),
        "{name} with {env:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("1 passed"),
        "{name}: child did not run the test:\n{}",
        out.stdout
    );
}

/// Runs `scenario` once under each worker count in `procs`, each in its own
/// child process with a deadline of `limit`. Call it as the whole body of a
/// test named `name`.
pub fn for_procs(name: &str, procs: &[usize], limit: Duration, scenario: impl FnOnce()) {
    if is_child(name) {
        scenario();
        return;
    }
    for p in procs {
        assert_child_passes(name, &[("GOMAXPROCS", &p.to_string())], limit);
    }
}

/// [`for_procs`] over [`procs_matrix`]: one worker, two, and more workers
/// than cores.
pub fn for_each_procs(name: &str, limit: Duration, scenario: impl FnOnce()) {
    for_procs(name, &procs_matrix(), limit, scenario)
}

/// Polls `cond` until it holds or `limit` passes.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cond()
}

/// `len` pseudo-random bytes determined by `seed` (xorshift), for
/// checking that what arrives over a connection is exactly what was sent.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Lowers this process's address-space limit (`RLIMIT_AS`) to what it
/// maps now plus `extra` bytes (for out-of-memory tests in a child).
pub fn limit_address_space(extra: u64) {
    let vm_kib: u64 = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap();
    // SAFETY: setrlimit with a valid struct; only lowers our own limit.
    let r = unsafe {
        libc::setrlimit(
            libc::RLIMIT_AS,
            &libc::rlimit {
                rlim_cur: vm_kib * 1024 + extra,
                rlim_max: libc::RLIM_INFINITY,
            },
        )
    };
    assert_eq!(r, 0);
}
