//! The CPU limit a container sets, for the default GOMAXPROCS (Go 1.25's
//! container-aware default).
//!
//! A process in a cgroup with a CPU quota gets `quota / period` CPUs' worth
//! of time per period however many CPUs it may run on; more worker threads
//! than that only get throttled. So the default worker count is the smaller
//! of the CPU affinity count and the **tightest** quota along the visible
//! cgroup ancestors, rounded up, at least 1:
//!
//! * cgroup v2: `cpu.max` (`"<quota> <period>"`, or `"max <period>"`);
//! * cgroup v1: `cpu.cfs_quota_us` (`-1`: none) and `cpu.cfs_period_us`, in
//!   the hierarchy that has the `cpu` controller.
//!
//! Go reads only the leaf cgroup and misses a tighter limit set on a parent
//! (golang/go#81180); we walk from the process's cgroup up to the root of
//! the mount (the cgroup namespace's root, as far as we can see). A missing
//! or unreadable file is not an error: that level has no limit we can see.
//! Hybrid hosts (v1 controllers and a v2 mount) are read both ways and the
//! tightest wins.
//!
//! Every path is read under a `root` directory, `/` normally; tests pass a
//! fake tree (`GORO_TEST_CGROUP_ROOT` in child processes, a temporary
//! directory in the unit tests below).
//!
//! Alternatives rejected: `std::thread::available_parallelism` alone (it
//! folds in a quota, but we cannot give it a fake tree to test with, and the
//! monitor must re-read the limit, not a cached count); reading only the
//! leaf (Go's behaviour, the bug above).

use std::path::{Path, PathBuf};

/// The tightest CPU limit (whole CPUs, at least 1) set on the process's
/// cgroup or a visible ancestor, under `root`; `None` if there is none.
pub(crate) fn cpu_limit(root: &Path) -> Option<usize> {
    let cgroups = std::fs::read_to_string(under(root, "/proc/self/cgroup")).ok()?;
    let mounts = std::fs::read_to_string(under(root, "/proc/self/mountinfo")).ok()?;
    let mut best: Option<usize> = None;
    for line in cgroups.lines() {
        let mut f = line.splitn(3, ':');
        let (Some(id), Some(ctrls), Some(path)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let v2 = id == "0" && ctrls.is_empty();
        if !v2 && !ctrls.split(',').any(|c| c == "cpu") {
            continue;
        }
        let Some((mount_root, mount_point)) = find_mount(&mounts, v2) else {
            continue;
        };
        let Some(rel) = Path::new(path).strip_prefix(&mount_root).ok() else {
            continue;
        };
        let top = under(root, &mount_point);
        let mut dir = top.join(rel);
        loop {
            let lim = if v2 { read_v2(&dir) } else { read_v1(&dir) };
            if let Some(l) = lim {
                best = Some(best.map_or(l, |b| b.min(l)));
            }
            if dir == top || !dir.pop() || !dir.starts_with(&top) {
                break;
            }
        }
    }
    best
}

/// `path` (absolute) inside `root`.
fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// (mount root, mount point) of the cgroup2 mount (`v2`), or of the v1
/// mount carrying the `cpu` controller.
fn find_mount(mountinfo: &str, v2: bool) -> Option<(String, String)> {
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split_whitespace().collect();
        let post: Vec<&str> = post.split_whitespace().collect();
        if pre.len() < 5 || post.is_empty() {
            continue;
        }
        let ok = if v2 {
            post[0] == "cgroup2"
        } else {
            post[0] == "cgroup"
                && post
                    .get(2)
                    .is_some_and(|o| o.split(',').any(|x| x == "cpu"))
        };
        if ok {
            return Some((pre[3].to_string(), pre[4].to_string()));
        }
    }
    None
}

fn read_v2(dir: &Path) -> Option<usize> {
    let s = std::fs::read_to_string(dir.join("cpu.max")).ok()?;
    let mut it = s.split_whitespace();
    let quota = it.next()?;
    let period: u64 = it.next()?.parse().ok()?;
    if quota == "max" {
        return None;
    }
    cpus(quota.parse().ok()?, period)
}

fn read_v1(dir: &Path) -> Option<usize> {
    let q: i64 = std::fs::read_to_string(dir.join("cpu.cfs_quota_us"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let p: u64 = std::fs::read_to_string(dir.join("cpu.cfs_period_us"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    cpus(u64::try_from(q).ok()?, p)
}

/// Whole CPUs for `quota` per `period`: rounded up, at least 1.
fn cpus(quota: u64, period: u64) -> Option<usize> {
    if quota == 0 || period == 0 {
        return None;
    }
    Some(
        usize::try_from(quota.div_ceil(period))
            .unwrap_or(usize::MAX)
            .max(1),
    )
}

/// CPUs this process may run on (its affinity mask).
pub(crate) fn affinity_count() -> usize {
    // SAFETY: `set` is a properly sized, zeroed cpu_set_t that
    // sched_getaffinity fills in; CPU_COUNT only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            let n = libc::CPU_COUNT(&set);
            if n > 0 {
                return n as usize;
            }
        }
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Where cgroup files are read from: `/`, or a fake tree for tests.
pub(crate) fn root() -> PathBuf {
    std::env::var_os("GORO_TEST_CGROUP_ROOT").map_or_else(|| PathBuf::from("/"), PathBuf::from)
}

/// The default worker count: affinity, capped by the cgroup limit.
pub(crate) fn default_procs(root: &Path, max: usize) -> usize {
    let n = affinity_count();
    cpu_limit(root).map_or(n, |l| n.min(l)).clamp(1, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake tree: `/proc/self/{cgroup,mountinfo}` and cgroup files.
    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str) -> Tree {
            let p = std::env::temp_dir().join(format!("goro-cg-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(p.join("proc/self")).unwrap();
            Tree(p)
        }
        fn file(&self, path: &str, text: &str) -> &Self {
            let f = under(&self.0, path);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, text).unwrap();
            self
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const V2_MOUNT: &str = "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n";

    #[test]
    fn v2_leaf_and_tighter_parent() {
        let t = Tree::new("v2");
        t.file("/proc/self/cgroup", "0::/kube/pod1/app\n")
            .file("/proc/self/mountinfo", V2_MOUNT)
            .file("/sys/fs/cgroup/kube/pod1/app/cpu.max", "250000 100000\n")
            .file("/sys/fs/cgroup/kube/pod1/cpu.max", "150000 100000\n")
            .file("/sys/fs/cgroup/kube/cpu.max", "max 100000\n");
        // Leaf says 3 (2.5 rounded up); the parent's 1.5 -> 2 is tighter.
        assert_eq!(cpu_limit(&t.0), Some(2));
        t.file("/sys/fs/cgroup/kube/pod1/cpu.max", "max 100000\n");
        assert_eq!(cpu_limit(&t.0), Some(3));
        // A tiny quota still gives one CPU.
        t.file("/sys/fs/cgroup/kube/pod1/app/cpu.max", "1000 100000\n");
        assert_eq!(cpu_limit(&t.0), Some(1));
    }

    #[test]
    fn v1_cpu_hierarchy() {
        let t = Tree::new("v1");
        t.file(
            "/proc/self/cgroup",
            "4:memory:/x\n2:cpu,cpuacct:/docker/abc\n",
        )
        .file(
            "/proc/self/mountinfo",
            "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
        )
        .file(
            "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us",
            "-1\n",
        )
        .file(
            "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us",
            "100000\n",
        )
        .file(
            "/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us",
            "400000\n",
        )
        .file(
            "/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us",
            "100000\n",
        );
        assert_eq!(cpu_limit(&t.0), Some(4));
    }

    #[test]
    fn namespaced_mount_root_and_missing_files() {
        let t = Tree::new("ns");
        // Inside a cgroup namespace the mount's root is the process's own
        // cgroup: only it and nothing above is visible.
        t.file("/proc/self/cgroup", "0::/\n")
            .file(
                "/proc/self/mountinfo",
                "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
            )
            .file("/sys/fs/cgroup/cpu.max", "200000 50000\n");
        assert_eq!(cpu_limit(&t.0), Some(4));
        // Garbage and missing files mean "no limit", not an error.
        t.file("/sys/fs/cgroup/cpu.max", "lots\n");
        assert_eq!(cpu_limit(&t.0), None);
        let empty = Tree::new("empty");
        assert_eq!(cpu_limit(&empty.0), None);
        assert!(default_procs(&empty.0, 1024) >= 1);
    }

    #[test]
    fn default_is_capped_by_the_limit() {
        let t = Tree::new("cap");
        t.file("/proc/self/cgroup", "0::/a\n")
            .file("/proc/self/mountinfo", V2_MOUNT)
            .file("/sys/fs/cgroup/a/cpu.max", "100000 100000\n");
        assert_eq!(default_procs(&t.0, 1024), 1);
        assert_eq!(default_procs(&t.0, 1024), affinity_count().min(1));
    }
}
