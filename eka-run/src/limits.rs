//! Resource limits for the evaluator: memory (address space) and CPU time, set with
//! `setrlimit(2)` just before it starts, and recognised afterwards when one was hit.

use std::fmt;
use std::str::FromStr;

/// The default memory limit: 4 GiB.
pub const DEFAULT_MEMORY: &str = "4G";
/// The default CPU time limit: 10 minutes.
pub const DEFAULT_CPU_TIME: &str = "600";

/// A limit: a number, or none (`unlimited`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<u64>);

/// An amount of memory in bytes, written as a number with an optional `K`, `M`, `G` or `T`
/// suffix (powers of 1024; `KiB`, `MiB`... and a trailing `B` are accepted too), or `unlimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory(pub Limit);

/// A number of seconds of CPU time, or `unlimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTime(pub Limit);

/// A limit that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid {what} `{input}`: {expected}")]
pub struct ParseError {
    what: &'static str,
    input: String,
    expected: &'static str,
}

impl FromStr for Memory {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || {
            ParseError {
            what: "memory limit",
            input: s.to_owned(),
            expected: "a number of bytes with an optional K, M, G or T suffix (e.g. 512M, 4G), or `unlimited`",
        }
        };
        if s == "unlimited" {
            return Ok(Memory(Limit(None)));
        }
        let upper = s.trim().to_ascii_uppercase();
        let unit = upper.trim_end_matches('B').trim_end_matches('I');
        let (digits, shift) = match unit.chars().last() {
            Some('K') => (&unit[..unit.len() - 1], 10),
            Some('M') => (&unit[..unit.len() - 1], 20),
            Some('G') => (&unit[..unit.len() - 1], 30),
            Some('T') => (&unit[..unit.len() - 1], 40),
            _ if upper.ends_with("IB") => return Err(err()),
            _ => (unit, 0),
        };
        let n: u64 = digits.trim().parse().map_err(|_| err())?;
        let bytes = n.checked_mul(1u64 << shift).ok_or_else(err)?;
        if bytes == 0 {
            return Err(err());
        }
        Ok(Memory(Limit(Some(bytes))))
    }
}

impl FromStr for CpuTime {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "unlimited" {
            return Ok(CpuTime(Limit(None)));
        }
        match s.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(CpuTime(Limit(Some(n)))),
            _ => Err(ParseError {
                what: "CPU time limit",
                input: s.to_owned(),
                expected: "a positive number of seconds, or `unlimited`",
            }),
        }
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(bytes) = self.0 .0 else {
            return f.write_str("unlimited");
        };
        for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
            if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
                return write!(f, "{} {unit}", bytes >> shift);
            }
        }
        write!(f, "{bytes} bytes")
    }
}

impl fmt::Display for CpuTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 .0 {
            Some(s) => write!(f, "{s} s"),
            None => f.write_str("unlimited"),
        }
    }
}

/// The limits an evaluation runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `RLIMIT_AS`.
    pub memory: Memory,
    /// `RLIMIT_CPU` (the soft limit; the hard one a second later).
    pub cpu_time: CpuTime,
}

/// A failure to set a limit.
#[derive(Debug, thiserror::Error)]
#[error("cannot set the {what} limit to {value}")]
pub struct SetError {
    what: &'static str,
    value: String,
    #[source]
    source: std::io::Error,
}

impl Limits {
    /// Apply the limits to the calling process (they survive `exec`).
    pub fn apply(&self) -> Result<(), SetError> {
        use rustix::process::{setrlimit, Resource, Rlimit};
        if let Some(bytes) = self.memory.0 .0 {
            setrlimit(
                Resource::As,
                Rlimit {
                    current: Some(bytes),
                    maximum: Some(bytes),
                },
            )
            .map_err(|e| SetError {
                what: "memory",
                value: self.memory.to_string(),
                source: e.into(),
            })?;
        }
        if let Some(secs) = self.cpu_time.0 .0 {
            // The soft limit sends SIGXCPU; the hard one, a second later, SIGKILL.
            setrlimit(
                Resource::Cpu,
                Rlimit {
                    current: Some(secs),
                    maximum: Some(secs.saturating_add(1)),
                },
            )
            .map_err(|e| SetError {
                what: "CPU time",
                value: self.cpu_time.to_string(),
                source: e.into(),
            })?;
        }
        Ok(())
    }

    /// Which limit, if any, a finished evaluation hit: `cpu` is the CPU time its processes
    /// used, `out_of_memory` whether it said it ran out of memory.
    pub fn exceeded(
        &self,
        status: u8,
        cpu: std::time::Duration,
        out_of_memory: bool,
    ) -> Option<Exceeded> {
        if status == 0 {
            return None;
        }
        if let Some(limit) = self.cpu_time.0 .0 {
            // The kernel's accounting and getrusage's round differently: allow a tick or ten.
            if cpu + std::time::Duration::from_millis(100) >= std::time::Duration::from_secs(limit)
            {
                return Some(Exceeded::CpuTime(self.cpu_time));
            }
        }
        if out_of_memory && self.memory.0 .0.is_some() {
            return Some(Exceeded::Memory(self.memory));
        }
        None
    }
}

/// A limit an evaluation hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Exceeded {
    /// The memory limit.
    #[error("the evaluation exceeded the memory limit of {0}; raise it with --memory")]
    Memory(Memory),
    /// The CPU time limit.
    #[error("the evaluation exceeded the CPU time limit of {0}; raise it with --cpu-time")]
    CpuTime(CpuTime),
}

/// Whether `text` is how Nix (or the Boehm GC, or Perl) says it ran out of memory.
pub fn says_out_of_memory(text: &[u8]) -> bool {
    text.windows(13)
        .any(|w| w.eq_ignore_ascii_case(b"out of memory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_parse_and_print() {
        let m = |s: &str| s.parse::<Memory>().map(|m| m.0 .0);
        assert_eq!(m("4G").unwrap(), Some(4 << 30));
        assert_eq!(m("512M").unwrap(), Some(512 << 20));
        assert_eq!(m("512MiB").unwrap(), Some(512 << 20));
        assert_eq!(m("1k").unwrap(), Some(1024));
        assert_eq!(m("1000").unwrap(), Some(1000));
        assert_eq!(m("unlimited").unwrap(), None);
        for bad in ["", "G", "4X", "-1", "0", "4.5G", "99999999999T"] {
            let e = m(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
        assert_eq!("4G".parse::<Memory>().unwrap().to_string(), "4 GiB");
        assert_eq!("1536M".parse::<Memory>().unwrap().to_string(), "1536 MiB");
        assert_eq!("1000".parse::<Memory>().unwrap().to_string(), "1000 bytes");
    }

    #[test]
    fn cpu_times_parse_and_print() {
        assert_eq!("600".parse::<CpuTime>().unwrap().to_string(), "600 s");
        assert_eq!(
            "unlimited".parse::<CpuTime>().unwrap(),
            CpuTime(Limit(None))
        );
        assert!("0".parse::<CpuTime>().is_err());
        assert!("1m".parse::<CpuTime>().is_err());
    }

    #[test]
    fn which_limit_was_exceeded() {
        let limits = Limits {
            memory: "1G".parse().unwrap(),
            cpu_time: "2".parse().unwrap(),
        };
        let secs = std::time::Duration::from_secs_f64;
        assert_eq!(limits.exceeded(0, secs(5.0), true), None);
        assert_eq!(
            limits.exceeded(152, secs(1.95), false),
            Some(Exceeded::CpuTime(limits.cpu_time))
        );
        assert_eq!(
            limits.exceeded(1, secs(0.0), true).unwrap().to_string(),
            "the evaluation exceeded the memory limit of 1 GiB; raise it with --memory"
        );
        assert_eq!(limits.exceeded(1, secs(1.0), false), None);
        assert!(says_out_of_memory(b"error: out of memory\n"));
        assert!(says_out_of_memory(b"GC Warning: Out of Memory! Heap size"));
        assert!(!says_out_of_memory(b"error: attribute missing"));
    }
}
