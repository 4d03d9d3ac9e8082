//! Global deadlock detection, end to end: each scenario runs in a child
//! process of this test binary (which has its own `main`: under libtest,
//! the harness's main thread waits outside goro, and detection rightly
//! stays silent), under one worker, two, and more workers than cores.
//!
//! * Deadlocks (receive with no sender, a two-mutex cycle, `select! {}`, a
//!   `WaitGroup` never done) must exit with status 2 within a second of
//!   blocking, printing the message and naming each stuck coroutine with
//!   its wait reason and spawn site.
//! * Programs that look idle but are not (a pending timer, a socket
//!   waiting for a connection the parent makes later, a plain thread that
//!   sends after 200 ms) must finish normally and print nothing of the
//!   kind.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use goro::sync::{Mutex, WaitGroup};
use goro::{Builder, chan, select};

const CHILD: &str = "GORO_DEADLOCK_CHILD";
const MESSAGE: &str = "goro: all coroutines are asleep - deadlock!";

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Tells the parent the program is about to block for good.
fn blocking() {
    println!("BLOCKING {}", now_ms());
}

fn recv_no_sender() {
    recv_no_sender_after(|| {});
}

/// Runs `before`, then leaves a coroutine receiving on a channel nobody
/// sends to while main joins it.
fn recv_no_sender_after(before: fn()) {
    goro::run(move || {
        before();
        let (tx, rx) = chan::<u32>(0);
        let h = Builder::new()
            .name("stuck-receiver")
            .spawn(move || rx.recv());
        blocking();
        let _ = h.join();
        drop(tx);
    });
}

/// A function the dump must name when `GORO_DEBUG=stacks=1` records
/// where each coroutine parked.
#[inline(never)]
fn parks_in_marker_fn(rx: goro::chan::Receiver<u32>) -> Option<u32> {
    let v = rx.recv();
    std::hint::black_box(v)
}

fn recv_no_sender_stacks() {
    goro::run(|| {
        let (tx, rx) = chan::<u32>(0);
        let h = Builder::new()
            .name("stuck-receiver")
            .spawn(move || parks_in_marker_fn(rx));
        blocking();
        let _ = h.join();
        drop(tx);
    });
}

fn mutex_cycle() {
    goro::run(|| {
        let (a, b) = (
            std::sync::Arc::new(Mutex::new(0)),
            std::sync::Arc::new(Mutex::new(0)),
        );
        let both = WaitGroup::new();
        both.add(2);
        let (a1, b1, w1) = (a.clone(), b.clone(), both.clone());
        let h1 = Builder::new().name("locks-a-then-b").spawn(move || {
            let _ga = a1.lock();
            w1.done();
            w1.wait();
            let _gb = b1.lock();
        });
        let (a2, b2, w2) = (a, b, both);
        let h2 = Builder::new().name("locks-b-then-a").spawn(move || {
            let _gb = b2.lock();
            w2.done();
            w2.wait();
            let _ga = a2.lock();
        });
        blocking();
        let _ = h1.join();
        let _ = h2.join();
    });
}

fn empty_select() {
    goro::run(|| {
        let h = Builder::new().name("selects-nothing").spawn(|| {
            select! {}
        });
        blocking();
        let _ = h.join();
    });
}

fn waitgroup_never_done() {
    goro::run(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let w = wg.clone();
        let h = Builder::new()
            .name("waits-for-group")
            .spawn(move || w.wait());
        blocking();
        h.join().unwrap();
        drop(wg);
    });
}

/// `block_in_place` hands the worker's processor to a spare, which finds
/// nothing to do and goes idle while the call still runs: not a deadlock
/// (the thread in the call will come back). Many times, so the spare is
/// both started and reused.
fn block_in_place_loop() {
    goro::run(|| {
        blocking();
        for _ in 0..100 {
            goro::block_in_place(|| std::thread::sleep(Duration::from_millis(1)));
        }
    });
    println!("FINISHED");
}

/// After spare threads exist (block_in_place used them), a real deadlock
/// is still reported.
fn deadlock_after_block_in_place() {
    recv_no_sender_after(|| {
        for _ in 0..5 {
            goro::block_in_place(|| std::thread::sleep(Duration::from_millis(1)));
        }
    });
}

fn pending_timer() {
    goro::run(|| {
        let h = Builder::new().name("sleeper").spawn(|| {
            goro::time::sleep(Duration::from_millis(300));
        });
        blocking();
        h.join().unwrap();
    });
    println!("FINISHED");
}

fn socket_wait() {
    goro::run(|| {
        let l = goro::net::TcpListener::bind("127.0.0.1:0").unwrap();
        println!("PORT {}", l.local_addr().unwrap().port());
        let h = Builder::new()
            .name("acceptor")
            .spawn(move || l.accept().map(|_| ()));
        blocking();
        h.join().unwrap().unwrap();
    });
    println!("FINISHED");
}

fn late_thread_sender() {
    goro::run(|| {
        let (tx, rx) = chan::<u32>(0);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            tx.send(7).unwrap();
        });
        blocking();
        assert_eq!(rx.recv(), Some(7));
    });
    println!("FINISHED");
}

type Scenario = (&'static str, fn(), Expect);

#[derive(Clone, Copy, PartialEq, Debug)]
enum Expect {
    /// Deadlock; each (coroutine name, wait reason) must be in the report.
    Deadlock(&'static [(&'static str, &'static str)]),
    /// Finishes normally.
    Finishes,
}

const SCENARIOS: &[Scenario] = &[
    (
        "recv_no_sender",
        recv_no_sender,
        Expect::Deadlock(&[("stuck-receiver", "chan receive"), ("main", "join")]),
    ),
    (
        "recv_no_sender_stacks",
        recv_no_sender_stacks,
        Expect::Deadlock(&[("stuck-receiver", "chan receive"), ("main", "join")]),
    ),
    (
        "mutex_cycle",
        mutex_cycle,
        Expect::Deadlock(&[
            ("locks-a-then-b", "sync.Mutex"),
            ("locks-b-then-a", "sync.Mutex"),
        ]),
    ),
    (
        "empty_select",
        empty_select,
        Expect::Deadlock(&[("selects-nothing", "select (no cases)")]),
    ),
    (
        "waitgroup_never_done",
        waitgroup_never_done,
        Expect::Deadlock(&[("waits-for-group", "sync.WaitGroup.Wait")]),
    ),
    (
        "deadlock_after_block_in_place",
        deadlock_after_block_in_place,
        Expect::Deadlock(&[("stuck-receiver", "chan receive"), ("main", "join")]),
    ),
    ("block_in_place_loop", block_in_place_loop, Expect::Finishes),
    ("pending_timer", pending_timer, Expect::Finishes),
    ("socket_wait", socket_wait, Expect::Finishes),
    ("late_thread_sender", late_thread_sender, Expect::Finishes),
];

fn run_parent(name: &str, expect: Expect, procs: usize) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, name)
        .env("GOMAXPROCS", procs.to_string())
        // The `_stacks` scenarios also record where each coroutine parked.
        .env(
            "GORO_DEBUG",
            if name.ends_with("_stacks") {
                "stacks=1"
            } else {
                ""
            },
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let mut err = child.stderr.take().unwrap();
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    // A missed deadlock must fail the test, not hang it: kill the child
    // after a generous limit (its stdout then closes and the read ends).
    let pid = child.id() as i32;
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f2 = finished.clone();
    std::thread::spawn(move || {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            if f2.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: signalling our own child process, which has not been
        // reaped yet (`finished` is set only after it is).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    let mut stdout = String::new();
    let mut blocked_at = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(port) = line.strip_prefix("PORT ") {
            let port: u16 = port.parse().unwrap();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                let _ = std::net::TcpStream::connect(("127.0.0.1", port));
            });
        }
        if let Some(t) = line.strip_prefix("BLOCKING ") {
            blocked_at = Some(t.parse::<u128>().unwrap());
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    // stdout closed: the child exited (or was killed).
    let status = child.wait().unwrap();
    let exited_at = now_ms();
    finished.store(true, std::sync::atomic::Ordering::SeqCst);
    let stderr = t_err.join().unwrap();
    let ctx =
        format!("{name} (GOMAXPROCS={procs}): {status}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert_ne!(
        status.signal(),
        Some(libc::SIGKILL),
        "child hung (killed after 30 s): {ctx}"
    );
    let blocked_at = blocked_at.unwrap_or_else(|| panic!("child never blocked: {ctx}"));
    match expect {
        Expect::Deadlock(stuck) => {
            assert_eq!(status.code(), Some(2), "{ctx}");
            assert!(stderr.starts_with(MESSAGE), "{ctx}");
            for (who, reason) in stuck {
                let line = stderr
                    .lines()
                    .find(|l| l.contains(&format!("name \"{who}\"")))
                    .unwrap_or_else(|| panic!("{who} missing from the report: {ctx}"));
                assert!(line.contains(&format!("[{reason}")), "{who}: {line}\n{ctx}");
                assert!(line.contains("spawned at "), "{line}");
            }
            // Spawn sites name this file (`goro::run`'s main coroutine is
            // spawned inside goro, the others here).
            assert!(stderr.contains("tests/rt_deadlock.rs:"), "{ctx}");
            // With `stacks=1` the stuck coroutine's frames are printed:
            // the function it parked in, under its paragraph; without it,
            // no frames at all.
            let frames = stderr.contains("parks_in_marker_fn");
            assert_eq!(frames, name.ends_with("_stacks"), "{ctx}");
            let latency = exited_at.saturating_sub(blocked_at);
            assert!(
                latency < 1000,
                "reported {latency} ms after blocking (the issue asks for a second): {ctx}"
            );
        }
        Expect::Finishes => {
            assert!(status.success(), "{ctx}");
            assert!(!stderr.contains("deadlock"), "{ctx}");
            assert!(stdout.contains("FINISHED"), "{ctx}");
        }
    }
}

fn main() {
    if let Ok(name) = std::env::var(CHILD) {
        let (_, f, _) = SCENARIOS
            .iter()
            .find(|(n, _, _)| *n == name)
            .expect("known scenario");
        f();
        return;
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut ran = 0;
    for &(name, _, expect) in SCENARIOS {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        for procs in [1, 2, (cores * 2).max(4)] {
            run_parent(name, expect, procs);
        }
        println!("test {name} ... ok");
        ran += 1;
    }
    println!("rt_deadlock: {ran} scenarios passed");
}
