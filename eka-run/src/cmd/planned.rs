//! Plan records on the reading side (`docs/plan-record.md`): the record of an evaluation's
//! identity looked up in the binary caches Nix is configured with, and checked. `build`, `run`
//! and `plan` use one instead of evaluating; anything short of a good record is said at `-v` and
//! evaluation goes on as without records.

use std::path::PathBuf;
use std::thread::JoinHandle;

use crate::closure;
use crate::identity::Identity;
use crate::nix::command::{self, Program};
use crate::record::{self, PublicKey, Record};

/// What of Nix's settings records are looked up with.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The `file://`, `http://` and `https://` substituters, in Nix's order, without a trailing
    /// `/` or Nix's `?` parameters.
    pub substituters: Vec<String>,
    /// `trusted-public-keys` (those that are not keys are left out).
    pub trusted: Vec<PublicKey>,
}

impl Settings {
    /// Nix's settings as run mode's Nix reads them (`nix show-config`, [`command::show_config`]).
    pub fn read(nix: Option<PathBuf>) -> Result<Self, String> {
        let nix = nix.ok_or_else(|| format!("no `{}` on PATH", Program::Nix.name()))?;
        Self::from_show_config(&command::show_config(&nix)?)
    }

    /// From the output of `nix show-config --json`.
    pub fn from_show_config(json: &[u8]) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_slice(json)
            .map_err(|e| format!("`nix show-config --json` printed no JSON: {e}"))?;
        let list = |name: &str| -> Vec<String> {
            value[name]["value"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let substituters = list("substituters")
            .into_iter()
            .filter(|url| {
                ["file://", "http://", "https://"]
                    .iter()
                    .any(|s| url.starts_with(s))
            })
            .map(|url| {
                let url = url.split('?').next().unwrap_or_default();
                url.trim_end_matches('/').to_owned()
            })
            .collect();
        let trusted = list("trusted-public-keys")
            .iter()
            .filter_map(|key| match PublicKey::parse(key) {
                Ok(key) => Some(key),
                Err(e) => {
                    tracing::debug!("trusted-public-keys: {e}");
                    None
                }
            })
            .collect();
        Ok(Settings {
            substituters,
            trusted,
        })
    }

    /// Why no record can be found with these settings, if none can.
    fn unusable(&self) -> Option<&'static str> {
        if self.trusted.is_empty() {
            Some("Nix's `trusted-public-keys` holds no key")
        } else if self.substituters.is_empty() {
            Some("Nix's `substituters` holds no file://, http:// or https:// binary cache")
        } else {
            None
        }
    }
}

/// Nix's settings, read on a thread of their own while the atom is opened.
#[derive(Debug)]
pub struct Pending(JoinHandle<Result<Settings, String>>);

impl Pending {
    /// Start reading them with `nix` (`None`: the one on PATH).
    pub fn start(nix: Option<PathBuf>) -> Self {
        Pending(std::thread::spawn(move || Settings::read(nix)))
    }

    /// The settings, when records can be found with them; else why not, at `-v`.
    pub fn usable(self) -> Option<Settings> {
        let settings = match self.0.join() {
            Ok(Ok(settings)) => settings,
            Ok(Err(why)) => {
                tracing::info!("no plan record is looked for: {why}");
                return None;
            }
            Err(_) => return None,
        };
        if let Some(why) = settings.unusable() {
            tracing::info!("no plan record is looked for: {why}");
            return None;
        }
        Some(settings)
    }
}

/// A record found and believed.
#[derive(Debug, Clone)]
pub struct Found {
    /// What it says.
    pub record: Record,
    /// Where it was read.
    pub url: String,
    /// The trusted key that signed it.
    pub key: String,
}

impl Found {
    /// The derivation as the record gives it (its `.drv` need not be in the store).
    pub fn derivation(&self) -> crate::backend::Derivation {
        let r = &self.record;
        // `name` and `pname` only choose the main program, which the record names.
        crate::backend::Derivation {
            drv_path: r.derivation.clone(),
            out_path: r.outputs[&r.default_output].clone(),
            outputs: r.outputs.clone(),
            main_program: Some(r.main_program.clone()),
            pname: None,
            name: r.main_program.clone(),
        }
    }
}

/// The record of `identity` from the first substituter that has one that parses, is for
/// `identity` and is signed by a trusted key; why each other one was passed over, at `-v`. The
/// substituters are asked at once (one thread each, all ended before this returns), and their
/// answers taken in Nix's order.
pub fn find(settings: &Settings, identity: &Identity) -> Option<Found> {
    let id = identity.digest();
    let urls: Vec<String> = settings
        .substituters
        .iter()
        .map(|cache| format!("{cache}/{}/{id}.plan", record::DIR))
        .collect();
    let downloader = match closure::Downloader::new(record::MAX_SIZE) {
        Ok(downloader) => downloader,
        Err(why) => {
            tracing::info!("no plan record is looked for: {why}");
            return None;
        }
    };
    let downloader = &downloader;
    let answers: Vec<Result<Vec<u8>, String>> = if urls.len() == 1 {
        vec![downloader.get(&urls[0])]
    } else {
        std::thread::scope(|scope| {
            let asked: Vec<_> = urls
                .iter()
                .map(|url| scope.spawn(move || downloader.get(url)))
                .collect();
            asked
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|_| Err("the download failed".into()))
                })
                .collect()
        })
    };
    for (full, answer) in urls.iter().zip(answers) {
        let url = without_credentials(full);
        let _span = tracing::info_span!("plan record", url = %url).entered();
        let refused = |why: &dyn std::fmt::Display| {
            tracing::info!("the plan record {url} is not used: {why}");
        };
        let bytes = match answer {
            Ok(bytes) => bytes,
            Err(why) => {
                tracing::info!("no plan record at {url}: {why}");
                continue;
            }
        };
        let signed = match record::parse(&bytes) {
            Ok(signed) => signed,
            Err(e) => {
                refused(&e);
                continue;
            }
        };
        if signed.record.identity != *identity {
            refused(&"it is the record of another identity");
            continue;
        }
        match signed.verify(&settings.trusted) {
            Ok(key) => {
                tracing::info!(key, "plan record found");
                return Some(Found {
                    key: key.to_owned(),
                    record: signed.record.clone(),
                    url,
                });
            }
            Err(e) => refused(&e),
        }
    }
    None
}

/// `url` without the user and password a substituter's URL may carry: what messages show.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{}", &rest[authority.len()..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keep_the_caches_records_can_be_read_from_and_the_keys() {
        let json = br#"{
          "substituters": {"value": ["https://cache.example.org/", "file:///srv/cache?priority=10", "s3://bucket", "ssh://host"]},
          "trusted-public-keys": {"value": ["c-1:GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE=", "broken"]}
        }"#;
        let s = Settings::from_show_config(json).unwrap();
        assert_eq!(
            s.substituters,
            ["https://cache.example.org", "file:///srv/cache"]
        );
        assert_eq!(
            s.trusted
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["c-1:GX9rI+FshTLGq8g4+s1ep4m+DHaykgM0A5v6iz02jWE="]
        );
        assert_eq!(s.unusable(), None);
        let none = Settings::from_show_config(br#"{"substituters": {"value": []}}"#).unwrap();
        assert!(none.unusable().unwrap().contains("trusted-public-keys"));
        assert!(Settings::from_show_config(b"nope").is_err());
    }

    #[test]
    fn messages_show_no_credentials() {
        assert_eq!(
            without_credentials("https://u:secret@cache.example.org/atom-plan/x.plan"),
            "https://cache.example.org/atom-plan/x.plan"
        );
        assert_eq!(
            without_credentials("file:///srv/a@b/atom-plan/x.plan"),
            "file:///srv/a@b/atom-plan/x.plan"
        );
    }
}
