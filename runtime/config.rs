//! Runtime configuration read from the environment at start-up.
//!
//! | variable          | meaning                          | default |
//! |-------------------|----------------------------------|---------|
//! | `GOMAXPROCS`      | worker threads (1..=1024)        | available parallelism |
//! | `GORO_STACK_SIZE` | usable bytes per coroutine stack | 256 KiB |
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
    pub(crate) stack_size: usize,
}

impl Config {
    pub(crate) fn from_env() -> Result<Config, ConfigError> {
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
        Ok(Config { procs, stack_size })
    }
}

fn default_procs() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_PROCS)
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
