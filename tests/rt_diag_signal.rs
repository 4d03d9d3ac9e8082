//! `SIGQUIT` dumps, `GORO_DEBUG=schedtrace`, and `GORO_DEBUG` errors, each
//! in a child process of this test binary.
//!
//! * `SIGQUIT` prints `SIGQUIT: quit` and every coroutine (named ones in
//!   several states) and exits with status 2; `GORO_DEBUG=quitdump=0`
//!   leaves the signal's default action (the child dies of it); a handler
//!   installed before goro started still runs, and the process lives on.
//! * `schedtrace=<ms>` lines appear at the period and parse.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use goro::{Builder, chan};

const LIMIT: Duration = Duration::from_secs(60);

/// Coroutines in several states, then "READY" on stdout, then a partial
/// line (held in stdout's line buffer), then the main thread waits outside
/// goro (so nothing looks deadlocked) until killed.
fn states_then_wait(extra: impl FnOnce()) {
    let (tx, rx) = chan::<u32>(0);
    let _parked = Builder::new().name("parked-recv").spawn(move || rx.recv());
    let _sleeper = Builder::new()
        .name("long-sleeper")
        .spawn(|| goro::time::sleep(Duration::from_secs(3600)));
    let _busy = Builder::new().name("busy-loop").spawn(|| {
        loop {
            goro::yield_now();
        }
    });
    common::watchdog("setup", LIMIT, || {
        while ["[sleep]", "[chan receive]", "name \"busy-loop\""]
            .iter()
            .any(|w| !goro::dump().contains(w))
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    extra();
    // One call, under stdout's lock: "READY\n" reaches the parent (which
    // then sends the signal) only with the tail already buffered or about
    // to be, and a flush waits for the lock.
    print!("READY\nUNFLUSHED-TAIL");
    std::thread::sleep(Duration::from_secs(30));
    drop(tx);
    println!("NOT KILLED");
}

struct Out {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs test `name` in a child; sends SIGQUIT once it prints READY.
fn quit_child(name: &str, env: &[(&str, &str)]) -> Out {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("GORO_TEST_CHILD", name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let pid = child.id() as i32;
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.ends_with("READY") {
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(pid, libc::SIGQUIT) };
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("{name}: child hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Out {
        status,
        stdout,
        stderr: t_err.join().unwrap(),
    }
}

#[test]
fn sigquit_dumps_and_exits_2() {
    let name = "sigquit_dumps_and_exits_2";
    if common::is_child(name) {
        goro::init().unwrap();
        states_then_wait(|| {});
        return;
    }
    let out = quit_child(name, &[("GOMAXPROCS", "2")]);
    let ctx = format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status, out.stdout, out.stderr
    );
    assert_eq!(out.status.code(), Some(2), "{ctx}");
    assert!(out.stderr.contains("SIGQUIT: quit"), "{ctx}");
    for (who, state) in [
        ("parked-recv", "[chan receive]"),
        ("long-sleeper", "[sleep]"),
    ] {
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains(&format!("name \"{who}\"")))
            .unwrap_or_else(|| panic!("{who} missing: {ctx}"));
        assert!(line.contains(state), "{line}");
        assert!(
            line.contains("spawned at tests/rt_diag_signal.rs:"),
            "{line}"
        );
    }
    let busy = out
        .stderr
        .lines()
        .find(|l| l.contains("name \"busy-loop\""))
        .unwrap_or_else(|| panic!("busy-loop missing: {ctx}"));
    assert!(
        busy.contains("[running on worker") || busy.contains("[runnable"),
        "{busy}"
    );
    assert!(!out.stdout.contains("NOT KILLED"), "{ctx}");
    // The exit flushed stdout's buffer: no output is lost.
    assert!(out.stdout.contains("UNFLUSHED-TAIL"), "{ctx}");
}

#[test]
fn quitdump_0_leaves_sigquit_alone() {
    let name = "quitdump_0_leaves_sigquit_alone";
    if common::is_child(name) {
        // The default action dumps core: not into the source tree.
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setting our own resource limit from a valid struct.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
        // The default action is what goro must leave in place; a shell
        // that starts commands in the background hands them SIGQUIT
        // ignored, so set the default explicitly before goro starts.
        // SAFETY: restoring the default disposition of one signal.
        unsafe { libc::signal(libc::SIGQUIT, libc::SIG_DFL) };
        goro::init().unwrap();
        states_then_wait(|| {});
        return;
    }
    let out = quit_child(name, &[("GORO_DEBUG", "quitdump=0")]);
    assert_eq!(out.status.signal(), Some(libc::SIGQUIT), "{}", out.stderr);
    assert!(!out.stderr.contains("SIGQUIT: quit"), "{}", out.stderr);
}

static USER_HANDLER_RAN: AtomicBool = AtomicBool::new(false);

extern "C" fn user_handler(_: libc::c_int) {
    USER_HANDLER_RAN.store(true, Ordering::SeqCst);
}

/// A handler installed before goro starts is chained: it runs, goro still
/// prints the dump, and the process is left to the user's handler (it
/// does not exit).
#[test]
fn sigquit_chains_to_earlier_handler() {
    let name = "sigquit_chains_to_earlier_handler";
    if common::is_child(name) {
        // SAFETY: installing a plain handler that only stores to an atomic.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = user_handler as *const () as usize;
            libc::sigemptyset(&mut act.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGQUIT, &act, std::ptr::null_mut()),
                0
            );
        }
        goro::init().unwrap();
        let (tx, rx) = chan::<u32>(0);
        let _parked = Builder::new().name("parked-recv").spawn(move || rx.recv());
        assert!(common::eventually(LIMIT, || goro::dump().contains("[chan receive]")));
        println!("READY");
        assert!(common::eventually(LIMIT, || USER_HANDLER_RAN.load(Ordering::SeqCst)));
        println!("HANDLER RAN");
        // The dump is printed by goro's thread, after the handler ran in
        // signal context: give it time before the process exits.
        std::thread::sleep(Duration::from_millis(500));
        drop(tx);
        return;
    }
    let out = quit_child(name, &[]);
    let ctx = format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status, out.stdout, out.stderr
    );
    assert!(out.status.success(), "{ctx}");
    assert!(out.stdout.contains("HANDLER RAN"), "{ctx}");
    assert!(out.stderr.contains("SIGQUIT: quit"), "{ctx}");
    assert!(out.stderr.contains("name \"parked-recv\""), "{ctx}");
}

/// `GORO_DEBUG=schedtrace=100`: a line every 100 ms in Go's layout.
#[test]
fn schedtrace_lines_at_the_period() {
    let name = "schedtrace_lines_at_the_period";
    if common::is_child(name) {
        goro::run(|| {
            let hs: Vec<_> = (0..4)
                .map(|_| goro::go!(|| goro::time::sleep(Duration::from_millis(650))))
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
        });
        return;
    }
    let out = common::run_child(
        name,
        &[("GORO_DEBUG", "schedtrace=100"), ("GOMAXPROCS", "2")],
        LIMIT,
    );
    assert!(out.status.success(), "{}", out.stderr);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("SCHED "))
        .collect();
    assert!(lines.len() >= 4, "{}", out.stderr);
    let mut last = 0;
    for (k, l) in lines.iter().enumerate() {
        let fields = parse_sched(l).unwrap_or_else(|| panic!("does not parse: {l}"));
        let ms = fields[0];
        // Line k is printed at (k + 1) periods, give or take scheduling
        // delays on a loaded machine.
        let due = (k as u64 + 1) * 100;
        assert!(ms >= due && ms < due + 1000, "line {k} at {ms} ms: {l}");
        assert!(ms > last);
        last = ms;
        assert_eq!(fields[1], 2, "gomaxprocs: {l}");
    }
}

/// `SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0
/// idlethreads=0 runqueue=0 [3 0] live=1 parked=0 timers=0` → the numbers.
fn parse_sched(l: &str) -> Option<Vec<u64>> {
    let rest = l.strip_prefix("SCHED ")?;
    let (ms, rest) = rest.split_once("ms: ")?;
    let mut v = vec![ms.parse().ok()?];
    let (head, tail) = rest.split_once(" [")?;
    let (queues, goro) = tail.split_once("] ")?;
    let keys = [
        "gomaxprocs",
        "idleprocs",
        "threads",
        "spinningthreads",
        "idlethreads",
        "runqueue",
    ];
    let words: Vec<&str> = head.split(' ').collect();
    if words.len() != keys.len() {
        return None;
    }
    for (w, k) in words.iter().zip(keys) {
        v.push(w.strip_prefix(k)?.strip_prefix('=')?.parse().ok()?);
    }
    let qs: Vec<u64> = queues
        .split(' ')
        .map(|q| q.parse().ok())
        .collect::<Option<_>>()?;
    if qs.len() != v[1] as usize {
        return None;
    }
    for (w, k) in goro.split(' ').zip(["live", "parked", "timers"]) {
        v.push(w.strip_prefix(k)?.strip_prefix('=')?.parse().ok()?);
    }
    Some(v)
}

/// Unknown keys and bad values are errors naming the key.
#[test]
fn goro_debug_errors_name_the_key() {
    for (env, key) in [
        ("schedtrace=often", "schedtrace"),
        ("quitdump=2", "quitdump"),
        ("gctrace=1", "gctrace"),
    ] {
        let name = "goro_debug_errors_name_the_key";
        if common::is_child(name) {
            let e = goro::init().unwrap_err().to_string();
            let want = std::env::var("WANT_KEY").unwrap();
            assert!(e.contains("GORO_DEBUG") && e.contains(&want), "{e}");
            return;
        }
        common::assert_child_passes(name, &[("GORO_DEBUG", env), ("WANT_KEY", key)], LIMIT);
    }
}
