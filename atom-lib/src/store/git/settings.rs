//! The settings that bound a remote: how long it may stay silent or send progress alone, and
//! how much one listing may bring (`atom.timeout`, `atom.progressTimeout`, `atom.listMaxRefs`,
//! `atom.listMaxBytes`). Below the git process ([`super::command`]), the listing and the
//! remotes, which all read them.

use std::time::Duration;

use super::{Config, StoreError};

/// How long a remote may take to answer a listing, and to stay silent in a transfer, when
/// `atom.timeout` does not say (git itself waits forever).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How many times `atom.timeout` a remote may keep a transfer alive with progress messages
/// alone, without data, when `atom.progressTimeout` does not say.
pub const PROGRESS_TIMEOUTS: u32 = 4;

/// The most refs one listing may bring, when `atom.listMaxRefs` does not say: 50,000 atoms with
/// 20 versions each.
pub const DEFAULT_LIST_MAX_REFS: u64 = 1_000_000;

/// The most bytes one listing may bring, when `atom.listMaxBytes` does not say: a million refs
/// of about 100 bytes each, with room to spare.
pub const DEFAULT_LIST_MAX_BYTES: u64 = 128 << 20;

/// How long a remote may take: silent, and sending progress messages without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// `atom.timeout`: the longest silence (no byte at all).
    pub idle: Duration,
    /// `atom.progressTimeout`: the longest time with progress messages but no data.
    pub progress: Duration,
}

/// How much one listing of a remote's refs may bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListLimits {
    /// `atom.listMaxRefs`.
    pub refs: u64,
    /// `atom.listMaxBytes`.
    pub bytes: u64,
}

/// A whole number setting `key` above 0, with git's `k`, `m` and `g` suffixes (powers of 1024),
/// or `default`: the listing limits and the download and unpack sizes.
pub(super) fn positive(config: &Config, key: &str, default: u64) -> Result<u64, StoreError> {
    let Some(value) = config.string(key) else {
        return Ok(default);
    };
    let text = value.trim().to_ascii_lowercase();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, 'k')) => (&text[..i], 1 << 10),
        Some((i, 'm')) => (&text[..i], 1 << 20),
        Some((i, 'g')) => (&text[..i], 1 << 30),
        _ => (text.as_str(), 1),
    };
    match digits.parse::<u64>().ok().and_then(|n| n.checked_mul(unit)) {
        Some(n) if n > 0 => Ok(n),
        _ => Err(StoreError::Config {
            key: key.to_owned(),
            value,
            expected: "a whole number above 0",
        }),
    }
}

/// `atom.timeout` and `atom.progressTimeout` (whole seconds above 0; the latter
/// [`PROGRESS_TIMEOUTS`] times the former by default).
pub(super) fn timeouts(config: &Config) -> Result<Timeouts, StoreError> {
    let idle = transfer_timeout(config)?;
    let progress = match config.string("atom.progressTimeout") {
        None => idle.saturating_mul(PROGRESS_TIMEOUTS),
        Some(value) => match value.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Duration::from_secs(secs),
            _ => {
                return Err(StoreError::Config {
                    key: "atom.progressTimeout".to_owned(),
                    value,
                    expected: "a whole number of seconds above 0",
                })
            }
        },
    };
    Ok(Timeouts { idle, progress })
}

/// `atom.listMaxRefs` and `atom.listMaxBytes`, or [`DEFAULT_LIST_MAX_REFS`] and
/// [`DEFAULT_LIST_MAX_BYTES`].
pub(super) fn list_limits(config: &Config) -> Result<ListLimits, StoreError> {
    Ok(ListLimits {
        refs: positive(config, "atom.listMaxRefs", DEFAULT_LIST_MAX_REFS)?,
        bytes: positive(config, "atom.listMaxBytes", DEFAULT_LIST_MAX_BYTES)?,
    })
}

/// `atom.timeout` (whole seconds above 0), or [`DEFAULT_TIMEOUT`].
pub(super) fn transfer_timeout(config: &Config) -> Result<Duration, StoreError> {
    let Some(value) = config.string("atom.timeout") else {
        return Ok(DEFAULT_TIMEOUT);
    };
    match value.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
        _ => Err(StoreError::Config {
            key: "atom.timeout".to_owned(),
            value,
            expected: "a whole number of seconds above 0",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_bounded_at_four_timeouts_unless_set() {
        let config = Config::from_entries([("atom.timeout", "5")]);
        assert_eq!(
            timeouts(&config).unwrap(),
            Timeouts {
                idle: Duration::from_secs(5),
                progress: Duration::from_secs(20),
            }
        );
        let config = Config::from_entries([("atom.timeout", "5"), ("atom.progressTimeout", "7")]);
        assert_eq!(timeouts(&config).unwrap().progress, Duration::from_secs(7));
        let config = Config::from_entries([("atom.progressTimeout", "0")]);
        assert!(timeouts(&config).is_err());
    }

    #[test]
    fn listing_limits_take_git_suffixes() {
        let limits = list_limits(&Config::default()).unwrap();
        assert_eq!(
            limits,
            ListLimits {
                refs: 1_000_000,
                bytes: 128 << 20,
            }
        );
        let config =
            Config::from_entries([("atom.listMaxRefs", "2k"), ("atom.listMaxBytes", "1M")]);
        assert_eq!(
            list_limits(&config).unwrap(),
            ListLimits {
                refs: 2048,
                bytes: 1 << 20,
            }
        );
        for bad in ["", "0", "-1", "lots", "1t", "99999999999g"] {
            let config = Config::from_entries([("atom.listMaxRefs", bad)]);
            assert!(list_limits(&config).is_err(), "{bad:?}");
        }
    }
}
