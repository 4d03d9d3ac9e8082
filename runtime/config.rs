//! Runtime configuration read from the environment at start-up.
//!
//! | variable          | meaning                          | default |
//! |-------------------|----------------------------------|---------|
//! | `GOMAXPROCS`      | worker threads (1..=1024)        | CPU affinity count capped by the cgroup CPU limit (`cgroup.rs`) |
//! | `GORO_STACK_SIZE` | usable bytes per coroutine stack | 128 KiB (256 KiB with debug assertions: unoptimized frames are larger) |
//! | `GORO_MAX_THREADS` | threads that run coroutines: workers plus spares that took over a stuck worker's processor (`GOMAXPROCS..=1024`) | 1024 |
//! | `GORO_MAX_BLOCKING_THREADS` | threads of the [`spawn_blocking`](crate::spawn_blocking) pool (1..=65536) | 512 |
//! | `GORO_DEBUG`      | comma list of `key=value` diagnostics settings (Go's `GODEBUG`), below | empty |
//!
//! `GORO_DEBUG` keys:
//!
//! | key              | value | meaning |
//! |------------------|-------|---------|
//! | `schedtrace=<ms>`| 0.. | print a `SCHED` line to stderr every `<ms>` milliseconds (0: off) |
//! | `quitdump=<0\|1>`| 0, 1 | 1 (default): `SIGQUIT` prints the coroutine dump and exits 2; 0 leaves `SIGQUIT` alone |
//! | `deadlock=<0\|1>`| 0, 1 | 1 (default): detect a global deadlock, report it and exit 2 |
//! | `blockwarn=<ms>` | 0.. | warn when a worker is stuck in one coroutine that long (read by the monitor; 0: off; default 100) |
//! | `stacks=<0\|1>` | 0, 1 | 1: record each parked coroutine's call stack so the dump (deadlock report, `SIGQUIT`, [`dump`](crate::dump)) prints it (costs an unwind per park; default 0) |
//!
//! Unlike Go, which silently ignores a bad `GOMAXPROCS`, goro refuses to
//! start and names the variable: a typo in a deployment should not quietly
//! change the worker count.

use std::fmt;

use crate::g::stack::{DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE};

/// The most workers a runtime can have (Go's limit too).
pub const MAX_PROCS: usize = 1024;

/// A bad configuration value: which variable, what it held, what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable (or API) at fault.
    pub var: &'static str,
    /// The value given.
    pub value: String,
    /// What would have been accepted.
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "goro: invalid {}={:?}: expected {}",
            self.var, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// What the runtime starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) procs: usize,
    /// `GOMAXPROCS` was set: the monitor does not follow the cgroup limit.
    pub(crate) procs_from_env: bool,
    pub(crate) stack_size: usize,
    /// Bound on worker threads, spares included (Go's `maxmcount`).
    pub(crate) max_threads: usize,
    /// Bound on the blocking pool.
    pub(crate) max_blocking: usize,
    /// `GORO_DEBUG=blockwarn=<ms>`; `None`: off.
    pub(crate) blockwarn: Option<std::time::Duration>,
    /// `GORO_DEBUG=schedtrace=<ms>` (0: off).
    pub(crate) schedtrace_ms: u64,
    /// `GORO_DEBUG=quitdump=<0|1>`.
    pub(crate) quitdump: bool,
    /// `GORO_DEBUG=deadlock=<0|1>`.
    pub(crate) deadlock: bool,
    /// `GORO_DEBUG=stacks=<0|1>`.
    pub(crate) stacks: bool,
}

/// Default bound on the `spawn_blocking` pool (tokio's too).
pub(crate) const DEFAULT_MAX_BLOCKING: usize = 512;
/// Largest `GORO_MAX_BLOCKING_THREADS`.
const MAX_BLOCKING: usize = 65536;
/// Default `blockwarn` threshold.
const DEFAULT_BLOCKWARN_MS: u64 = 100;

/// Reads a whole number from `var` in `lo..=hi`, `default` if unset.
fn env_count(
    var: &'static str,
    lo: usize,
    hi: usize,
    default: usize,
) -> Result<usize, ConfigError> {
    let bad = |v: &str| ConfigError {
        var,
        value: v.to_string(),
        expected: format!("a whole number from {lo} to {hi}"),
    };
    match std::env::var(var) {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(bad(&v)),
        },
        Err(std::env::VarError::NotPresent) => Ok(default),
        Err(std::env::VarError::NotUnicode(v)) => Err(bad(&v.to_string_lossy())),
    }
}

/// The settings `GORO_DEBUG` carries (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Debug {
    pub(crate) schedtrace_ms: u64,
    pub(crate) quitdump: bool,
    pub(crate) deadlock: bool,
    pub(crate) blockwarn_ms: u64,
    pub(crate) stacks: bool,
}

impl Default for Debug {
    fn default() -> Self {
        Debug {
            schedtrace_ms: 0,
            quitdump: true,
            deadlock: true,
            blockwarn_ms: DEFAULT_BLOCKWARN_MS,
            stacks: false,
        }
    }
}

fn debug_error(item: &str, expected: String) -> ConfigError {
    ConfigError {
        var: "GORO_DEBUG",
        value: item.to_string(),
        expected,
    }
}

/// Parses `GORO_DEBUG`: a comma list of `key=value` (spaces around items
/// allowed, empty items ignored; a later key overrides an earlier one).
/// Unknown keys and bad values are errors naming the key.
pub(crate) fn parse_debug(v: &str) -> Result<Debug, ConfigError> {
    let mut d = Debug::default();
    for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((key, val)) = item.split_once('=') else {
            return Err(debug_error(
                item,
                "key=value items separated by commas (e.g. schedtrace=1000,quitdump=0)".into(),
            ));
        };
        let (key, val) = (key.trim(), val.trim());
        let ms = |key: &str| {
            val.parse::<u64>().map_err(|_| {
                debug_error(
                    item,
                    format!("`{key}` takes a whole number of milliseconds"),
                )
            })
        };
        let flag = |key: &str| match val {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(debug_error(item, format!("`{key}` takes 0 or 1"))),
        };
        match key {
            "schedtrace" => d.schedtrace_ms = ms(key)?,
            "blockwarn" => d.blockwarn_ms = ms(key)?,
            "quitdump" => d.quitdump = flag(key)?,
            "deadlock" => d.deadlock = flag(key)?,
            "stacks" => d.stacks = flag(key)?,
            _ => {
                return Err(debug_error(
                    item,
                    format!(
                        "a known key (schedtrace, quitdump, deadlock, blockwarn, stacks), not `{key}`"
                    ),
                ));
            }
        }
    }
    Ok(d)
}

impl Config {
    pub(crate) fn from_env() -> Result<Config, ConfigError> {
        let procs_from_env = std::env::var_os("GOMAXPROCS").is_some();
        let procs = match std::env::var("GOMAXPROCS") {
            Ok(v) => parse_procs("GOMAXPROCS", &v)?,
            Err(std::env::VarError::NotPresent) => default_procs(),
            Err(std::env::VarError::NotUnicode(v)) => {
                return Err(procs_error("GOMAXPROCS", &v.to_string_lossy()));
            }
        };
        let stack_size = match std::env::var("GORO_STACK_SIZE") {
            Ok(v) => parse_stack_size("GORO_STACK_SIZE", &v)?,
            Err(std::env::VarError::NotPresent) => DEFAULT_STACK_SIZE,
            Err(std::env::VarError::NotUnicode(v)) => {
                return Err(size_error("GORO_STACK_SIZE", &v.to_string_lossy()));
            }
        };
        let max_threads = env_count("GORO_MAX_THREADS", procs, MAX_PROCS, MAX_PROCS)?;
        let max_blocking = env_count(
            "GORO_MAX_BLOCKING_THREADS",
            1,
            MAX_BLOCKING,
            DEFAULT_MAX_BLOCKING,
        )?;
        let debug = match std::env::var("GORO_DEBUG") {
            Ok(v) => parse_debug(&v)?,
            Err(std::env::VarError::NotPresent) => Debug::default(),
            Err(std::env::VarError::NotUnicode(v)) => {
                return Err(debug_error(
                    &v.to_string_lossy(),
                    "UTF-8 key=value items".into(),
                ));
            }
        };
        Ok(Config {
            procs,
            procs_from_env,
            stack_size,
            max_threads,
            max_blocking,
            blockwarn: (debug.blockwarn_ms != 0)
                .then(|| std::time::Duration::from_millis(debug.blockwarn_ms)),
            schedtrace_ms: debug.schedtrace_ms,
            quitdump: debug.quitdump,
            deadlock: debug.deadlock,
            stacks: debug.stacks,
        })
    }
}

/// The default worker count (`cgroup.rs`).
pub(crate) fn default_procs() -> usize {
    crate::cgroup::default_procs(&crate::cgroup::root(), MAX_PROCS)
}

fn procs_error(var: &'static str, v: &str) -> ConfigError {
    ConfigError {
        var,
        value: v.to_string(),
        expected: format!("a whole number of worker threads from 1 to {MAX_PROCS}"),
    }
}

/// Parses a worker count: a decimal integer in `1..=MAX_PROCS`
/// (surrounding whitespace allowed).
pub(crate) fn parse_procs(var: &'static str, v: &str) -> Result<usize, ConfigError> {
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_PROCS).contains(&n) => Ok(n),
        _ => Err(procs_error(var, v)),
    }
}

fn size_error(var: &'static str, v: &str) -> ConfigError {
    ConfigError {
        var,
        value: v.to_string(),
        expected: format!(
            "a size from {} KiB to {} MiB, in bytes or with a K/KiB/M/MiB/G/GiB suffix (e.g. 256K)",
            MIN_STACK_SIZE >> 10,
            MAX_STACK_SIZE >> 20
        ),
    }
}

/// Parses a stack size: `262144`, `256K`, `256KiB`, `1M`, `1MiB`, `1G`
/// (case-insensitive; suffixes are powers of 1024).
pub(crate) fn parse_stack_size(var: &'static str, v: &str) -> Result<usize, ConfigError> {
    let s = v.trim();
    let lower = s.to_ascii_lowercase();
    let (num, shift) = [
        ("kib", 10),
        ("k", 10),
        ("mib", 20),
        ("m", 20),
        ("gib", 30),
        ("g", 30),
    ]
    .iter()
    .find_map(|(suf, sh)| lower.strip_suffix(suf).map(|n| (n.trim().to_string(), *sh)))
    .unwrap_or((lower.clone(), 0));
    let n: usize = num.parse().map_err(|_| size_error(var, v))?;
    let bytes = n
        .checked_shl(shift)
        .filter(|b| b >> shift == n)
        .ok_or_else(|| size_error(var, v))?;
    if !(MIN_STACK_SIZE..=MAX_STACK_SIZE).contains(&bytes) {
        return Err(size_error(var, v));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procs() {
        assert_eq!(parse_procs("GOMAXPROCS", "4"), Ok(4));
        assert_eq!(parse_procs("GOMAXPROCS", " 16\n"), Ok(16));
        assert_eq!(parse_procs("GOMAXPROCS", "1024"), Ok(1024));
        for bad in [
            "abc",
            "0",
            "-1",
            "",
            "1.5",
            "1025",
            "99999999999999999999999",
        ] {
            let e = parse_procs("GOMAXPROCS", bad).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("GOMAXPROCS"), "{msg}");
            assert!(msg.contains(&format!("{bad:?}")), "{msg}");
        }
    }

    #[test]
    fn debug_list() {
        assert_eq!(parse_debug(""), Ok(Debug::default()));
        let d =
            parse_debug(" schedtrace=1000, quitdump=0,,blockwarn=50,deadlock=0,stacks=1 ").unwrap();
        assert_eq!(
            d,
            Debug {
                schedtrace_ms: 1000,
                quitdump: false,
                deadlock: false,
                blockwarn_ms: 50,
                stacks: true
            }
        );
        assert_eq!(
            parse_debug("schedtrace=5,schedtrace=0")
                .unwrap()
                .schedtrace_ms,
            0
        );
        for (bad, key) in [
            ("schedtrace=fast", "schedtrace"),
            ("quitdump=yes", "quitdump"),
            ("stacks=2", "stacks"),
            ("blockwarn=-1", "blockwarn"),
            ("gctrace=1", "gctrace"),
            ("schedtrace", "schedtrace"),
        ] {
            let msg = parse_debug(bad).unwrap_err().to_string();
            assert!(msg.contains("GORO_DEBUG"), "{msg}");
            assert!(msg.contains(key), "{msg}");
        }
        assert_eq!(parse_debug("").unwrap().blockwarn_ms, DEFAULT_BLOCKWARN_MS);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_stack_size("S", "262144"), Ok(262144));
        assert_eq!(parse_stack_size("S", "256K"), Ok(256 << 10));
        assert_eq!(parse_stack_size("S", "256kib"), Ok(256 << 10));
        assert_eq!(parse_stack_size("S", "1M"), Ok(1 << 20));
        assert_eq!(parse_stack_size("S", "1 MiB"), Ok(1 << 20));
        assert_eq!(parse_stack_size("S", "1G"), Ok(1 << 30));
        for bad in ["", "abc", "1K", "2G", "-5", "12Q", "99999999999999999999G"] {
            let e = parse_stack_size("GORO_STACK_SIZE", bad).unwrap_err();
            assert!(e.to_string().contains("GORO_STACK_SIZE"), "{e}");
        }
    }
}
