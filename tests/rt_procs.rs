//! GOMAXPROCS: from the environment (good and bad values), at run time, and
//! the scheduler under one worker and under more workers than cores.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use goro::sync::WaitGroup;

const LIMIT: Duration = Duration::from_secs(120);

/// Spawn a mixed workload (nested spawns, joins, WaitGroups, yields) and
/// check every result; run under 1, 2 and more-than-cores workers.
#[test]
fn workload_under_each_worker_count() {
    common::for_each_procs("workload_under_each_worker_count", LIMIT, || {
        let want: usize = std::env::var("GOMAXPROCS").unwrap().parse().unwrap();
        assert_eq!(goro::maxprocs(), want);
        let workers = Arc::new(Mutex::new(HashSet::new()));
        let total = goro::run({
            let workers = workers.clone();
            move || {
                let sum = Arc::new(AtomicU64::new(0));
                let wg = WaitGroup::new();
                for i in 0..2000u64 {
                    let (sum, workers) = (sum.clone(), workers.clone());
                    wg.go(move || {
                        let inner = goro::go!(move || i * 2);
                        goro::yield_now();
                        workers
                            .lock()
                            .unwrap()
                            .insert(goro::worker_index().unwrap());
                        sum.fetch_add(inner.join().unwrap(), Ordering::Relaxed);
                    });
                }
                wg.wait();
                sum.load(Ordering::Relaxed)
            }
        });
        assert_eq!(total, 2 * (0..2000u64).sum::<u64>());
        let seen = workers.lock().unwrap();
        // A coroutine that runs over 10 ms without yielding (the spawning
        // loop above, in a debug build on a loaded machine) has its
        // processor handed to a spare thread, which has its own index.
        assert!(
            goro::__processor_moves() > 0 || seen.iter().all(|&w| w < want),
            "worker index out of range: {seen:?}"
        );
        assert!(!seen.is_empty() && seen.iter().all(|&w| w < goro::MAX_PROCS));
    });
}

/// Without `GOMAXPROCS`: the CPUs this process may run on, capped by a
/// cgroup CPU limit if one is visible. std's `available_parallelism` folds
/// in a quota too, rounding down where goro rounds up (Go 1.25's rule), so
/// the two agree exactly only where no quota is set.
#[test]
fn default_is_available_parallelism() {
    const NAME: &str = "default_is_available_parallelism";
    if common::is_child(NAME) {
        // SAFETY: a zeroed cpu_set_t of the right size, filled by the call.
        let affinity = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            assert_eq!(
                libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
                0
            );
            libc::CPU_COUNT(&set) as usize
        };
        let std_count = std::thread::available_parallelism().unwrap().get();
        let n = goro::maxprocs();
        assert!(
            (1..=affinity.min(goro::MAX_PROCS)).contains(&n),
            "{n} of {affinity}"
        );
        if std_count == affinity {
            // No quota that std sees; ours may still see a parent's.
            assert!(n <= std_count);
        } else {
            // A quota: ours is std's rounded up, or tighter (a parent).
            assert!(n <= std_count + 1, "{n} vs std's {std_count}");
        }
        return;
    }
    let out = common::run_child(NAME, &[], LIMIT);
    assert!(out.status.success(), "{}\n{}", out.stdout, out.stderr);
}

/// In the child, GOMAXPROCS was removed from the environment, then set to
/// the bad value given by the parent through GORO_BAD.
#[test]
fn bad_gomaxprocs_is_a_clear_error() {
    const NAME: &str = "bad_gomaxprocs_is_a_clear_error";
    if common::is_child(NAME) {
        let e = goro::init().expect_err("a bad GOMAXPROCS must not start the runtime");
        let msg = e.to_string();
        assert!(msg.contains("GOMAXPROCS"), "{msg}");
        assert_eq!(e.var, "GOMAXPROCS");
        // And the implicit start panics with the same message.
        let p = std::panic::catch_unwind(|| goro::go!(|| ()).join()).unwrap_err();
        let pm = p.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(pm.contains("GOMAXPROCS"), "{pm}");
        println!("ERROR-SEEN: {msg}");
        return;
    }
    for bad in ["abc", "0", "-1", "", "2.5", "100000"] {
        let out = common::run_child(NAME, &[("GOMAXPROCS", bad)], LIMIT);
        assert!(
            out.status.success(),
            "GOMAXPROCS={bad:?}: {}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stdout.contains("ERROR-SEEN"),
            "GOMAXPROCS={bad:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn bad_stack_size_env_is_a_clear_error() {
    const NAME: &str = "bad_stack_size_env_is_a_clear_error";
    if common::is_child(NAME) {
        let e = goro::init().unwrap_err();
        assert_eq!(e.var, "GORO_STACK_SIZE");
        println!("ERROR-SEEN: {e}");
        return;
    }
    for bad in ["lots", "1K", "5G"] {
        let out = common::run_child(NAME, &[("GORO_STACK_SIZE", bad)], LIMIT);
        assert!(
            out.status.success(),
            "{bad}: {}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(out.stdout.contains("ERROR-SEEN"));
    }
}

/// Checks, in a child process with `GORO_STACK_SIZE` set to `value` (or
/// [`common::UNSET`]), that a plain `go!` gets a `want`-byte stack.
fn default_stack_is(name: &str, value: &str, want: usize) {
    if common::is_child(name) {
        let size = goro::go!(|| goro::current().unwrap().stack_size())
            .join()
            .unwrap();
        assert_eq!(size, want);
        return;
    }
    common::assert_child_passes(name, &[("GORO_STACK_SIZE", value)], LIMIT);
}

/// Unset, the default is 128 KiB, or 256 KiB in builds with debug
/// assertions (`DEFAULT_STACK_SIZE` in `g/stack.rs`).
#[test]
fn the_default_stack_size_follows_the_build() {
    let kib = if cfg!(debug_assertions) { 256 } else { 128 };
    default_stack_is(
        "the_default_stack_size_follows_the_build",
        common::UNSET,
        kib * 1024,
    );
}

#[test]
fn stack_size_env_sets_the_default() {
    default_stack_is("stack_size_env_sets_the_default", "64K", 64 * 1024);
}

/// Shrink and grow the worker count while coroutines are busy; nothing is
/// lost, and work ends up only on active workers.
#[test]
fn set_maxprocs_while_busy() {
    const NAME: &str = "set_maxprocs_while_busy";
    if !common::is_child(NAME) {
        common::assert_child_passes(NAME, &[("GOMAXPROCS", "4")], LIMIT);
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    for _ in 0..64 {
        let (stop, done) = (stop.clone(), done.clone());
        wg.go(move || {
            while !stop.load(Ordering::Relaxed) {
                let h = goro::go!(goro::yield_now);
                h.join().unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    for n in [1, 3, 8, 2, 5, 1, 4] {
        let before = done.load(Ordering::Relaxed);
        let prev = goro::set_maxprocs(n).unwrap();
        assert!(prev >= 1);
        assert_eq!(goro::maxprocs(), n);
        // Progress continues under the new count.
        assert!(common::eventually(Duration::from_secs(20), || done
            .load(Ordering::Relaxed)
            > before + 100));
    }
    goro::set_maxprocs(2).unwrap();
    let moves_before = goro::__processor_moves();
    // After settling, coroutines run only on workers 0 and 1.
    std::thread::sleep(Duration::from_millis(50));
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let probe = WaitGroup::new();
    for _ in 0..200 {
        let seen = seen.clone();
        probe.go(move || {
            goro::yield_now();
            seen.lock().unwrap().insert(goro::worker_index().unwrap());
        });
    }
    probe.wait();
    stop.store(true, Ordering::Relaxed);
    wg.wait();
    let seen = seen.lock().unwrap();
    // Only threads holding one of the 2 processors run coroutines; a spare
    // that took over a stuck worker's processor has another index.
    let moves = goro::__processor_moves() - moves_before;
    assert!(
        seen.len() <= 2 + moves as usize && (moves > 0 || seen.iter().all(|&w| w < 2)),
        "ran on a retired worker: {seen:?} ({moves} processor moves)"
    );
    assert!(goro::set_maxprocs(0).is_err());
    assert!(goro::set_maxprocs(goro::MAX_PROCS + 1).is_err());
}

/// A fake cgroup v2 tree under `dir` whose process cgroup is `/app`, with
/// `parent` and `leaf` as the `cpu.max` of `/` and `/app`.
fn fake_cgroup(dir: &std::path::Path, parent: &str, leaf: &str) {
    std::fs::create_dir_all(dir.join("proc/self")).unwrap();
    std::fs::create_dir_all(dir.join("sys/fs/cgroup/app")).unwrap();
    std::fs::write(dir.join("proc/self/cgroup"), "0::/app\n").unwrap();
    std::fs::write(
        dir.join("proc/self/mountinfo"),
        "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n",
    )
    .unwrap();
    std::fs::write(dir.join("sys/fs/cgroup/cpu.max"), parent).unwrap();
    std::fs::write(dir.join("sys/fs/cgroup/app/cpu.max"), leaf).unwrap();
}

/// Without `GOMAXPROCS`, the default is capped by the tightest cgroup CPU
/// limit along the ancestors, and follows it when it changes, until
/// `set_maxprocs` is called.
#[test]
fn default_follows_the_cgroup_cpu_limit() {
    const NAME: &str = "default_follows_the_cgroup_cpu_limit";
    let dir = std::env::temp_dir().join(format!("goro-cgroup-{}", std::process::id()));
    if !common::is_child(NAME) {
        let _ = std::fs::remove_dir_all(&dir);
        // The parent's 1 CPU is tighter than the leaf's 3.
        fake_cgroup(&dir, "100000 100000\n", "300000 100000\n");
        let out = common::run_child(
            NAME,
            &[("GORO_TEST_CGROUP_ROOT", dir.to_str().unwrap())],
            LIMIT,
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            !out.timed_out && out.status.success() && out.stdout.contains("1 passed"),
            "{}\n{}",
            out.stdout,
            out.stderr
        );
        return;
    }
    let dir = std::path::PathBuf::from(std::env::var("GORO_TEST_CGROUP_ROOT").unwrap());
    let cores = std::thread::available_parallelism().unwrap().get();
    goro::init().unwrap();
    assert_eq!(goro::maxprocs(), 1, "the parent's limit applies");
    if cores >= 2 {
        // Raise the parent's limit: the leaf's 3 CPUs (capped by the
        // cores) apply within a few seconds.
        std::fs::write(dir.join("sys/fs/cgroup/cpu.max"), "max 100000\n").unwrap();
        let want = cores.min(3);
        assert!(
            common::eventually(Duration::from_secs(10), || goro::maxprocs() == want),
            "maxprocs {} did not follow the limit to {want}",
            goro::maxprocs()
        );
        assert_eq!(goro::go!(|| 5).join().unwrap(), 5);
    }
    // The user's choice sticks.
    goro::set_maxprocs(1).unwrap();
    std::fs::write(dir.join("sys/fs/cgroup/app/cpu.max"), "max 100000\n").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(goro::maxprocs(), 1);
}

/// `GOMAXPROCS` set: the cgroup limit is neither applied nor followed.
#[test]
fn gomaxprocs_env_overrides_the_cgroup_limit() {
    const NAME: &str = "gomaxprocs_env_overrides_the_cgroup_limit";
    if !common::is_child(NAME) {
        let dir = std::env::temp_dir().join(format!("goro-cgroup-env-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        fake_cgroup(&dir, "max 100000\n", "100000 100000\n");
        let out = common::run_child(
            NAME,
            &[
                ("GORO_TEST_CGROUP_ROOT", dir.to_str().unwrap()),
                ("GOMAXPROCS", "3"),
            ],
            LIMIT,
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success() && out.stdout.contains("1 passed"),
            "{}\n{}",
            out.stdout,
            out.stderr
        );
        return;
    }
    assert_eq!(goro::maxprocs(), 3);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(goro::maxprocs(), 3);
}
