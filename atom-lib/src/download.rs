//! Downloads of pins' tarballs and sources, outside git.
//!
//! Through libcurl (the library git's own HTTP transport uses, and that the git library is
//! already linked with, with rustls), configured from git's settings ([`HttpSettings`]): the
//! same CA bundle and verification, proxy, `atom.timeout` for connecting and
//! `http.lowSpeedLimit`/`http.lowSpeedTime` for a stalled transfer. `http`, `https` and `file`
//! URLs only, redirects followed (to `http`/`https` only), any status of 400 or more is a failure.

use std::io::Write;

use crate::manifest::Url;
use crate::store::git::remote::HttpSettings;

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The transfer failed (connection, TLS, status, time-out).
    #[error("cannot download {url}: {reason}")]
    Transfer {
        /// The URL.
        url: String,
        /// What curl said.
        reason: String,
    },
    /// The download is not a tarball this version unpacks.
    #[error("{url} is not a tar archive (plain or gzip-compressed), which is what a tarball pin must be")]
    NotTar {
        /// The URL.
        url: String,
    },
    /// The tarball cannot be unpacked.
    #[error("cannot unpack the tarball of {url}")]
    Unpack {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The tarball does not hold exactly one top-level entry.
    #[error("the tarball of {url} has {count} top-level entries; it must have exactly one (as Nix's `fetchTarball` requires)")]
    TopLevel {
        /// The URL.
        url: String,
        /// How many it has.
        count: usize,
    },
    /// The downloaded bytes could not be written.
    #[error("cannot store the download of {url}")]
    Write {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Downloads `url` into `out`; returns the number of bytes.
pub fn download(url: &Url, settings: &HttpSettings, out: &mut dyn Write) -> Result<u64, Error> {
    let _span = tracing::info_span!("download", url = url.as_str()).entered();
    let transfer = |e: curl::Error| Error::Transfer {
        url: url.as_str().to_owned(),
        reason: e.extra_description().map_or_else(
            || e.description().to_owned(),
            |extra| format!("{}: {extra}", e.description()),
        ),
    };
    let mut easy = curl::easy::Easy::new();
    easy.url(url.as_str()).map_err(transfer)?;
    easy.follow_location(true).map_err(transfer)?;
    easy.max_redirections(10).map_err(transfer)?;
    easy.fail_on_error(true).map_err(transfer)?;
    easy.connect_timeout(settings.timeout).map_err(transfer)?;
    easy.low_speed_limit(settings.low_speed_limit)
        .map_err(transfer)?;
    easy.low_speed_time(settings.low_speed_time)
        .map_err(transfer)?;
    easy.ssl_verify_peer(settings.verify).map_err(transfer)?;
    easy.ssl_verify_host(settings.verify).map_err(transfer)?;
    if let Some(ca) = &settings.ca_info {
        easy.cainfo(ca).map_err(transfer)?;
    }
    if let Some(ca) = &settings.ca_path {
        easy.capath(ca).map_err(transfer)?;
    }
    if let Some(proxy) = &settings.proxy {
        easy.proxy(proxy).map_err(transfer)?;
    }
    easy.useragent(concat!("atom/", env!("CARGO_PKG_VERSION")))
        .map_err(transfer)?;
    let mut written: u64 = 0;
    let mut failed: Option<std::io::Error> = None;
    {
        let mut handle = easy.transfer();
        handle
            .write_function(|data| match out.write_all(data) {
                Ok(()) => {
                    written += data.len() as u64;
                    Ok(data.len())
                }
                Err(e) => {
                    failed = Some(e);
                    // Fewer bytes than given: curl stops the transfer.
                    Ok(0)
                }
            })
            .map_err(transfer)?;
        let result = handle.perform();
        drop(handle);
        if let Some(source) = failed.take() {
            return Err(Error::Write {
                url: url.as_str().to_owned(),
                source,
            });
        }
        result.map_err(transfer)?;
    }
    out.flush().map_err(|source| Error::Write {
        url: url.as_str().to_owned(),
        source,
    })?;
    tracing::debug!(bytes = written, "downloaded");
    Ok(written)
}

/// Unpacks the tarball `archive` (downloaded from `url`) into `into` (an empty directory) and
/// returns its single top-level entry, what Nix's `fetchTarball` gives. Entries that would land
/// outside `into` are refused by the unpacker; ownership and timestamps are not restored.
pub fn unpack(
    url: &Url,
    archive: &mut (impl std::io::Read + std::io::Seek),
    into: &std::path::Path,
) -> Result<std::path::PathBuf, Error> {
    let unpack_err = |source| Error::Unpack {
        url: url.as_str().to_owned(),
        source,
    };
    let mut magic = [0u8; 2];
    let n = std::io::Read::read(archive, &mut magic).map_err(unpack_err)?;
    archive
        .seek(std::io::SeekFrom::Start(0))
        .map_err(unpack_err)?;
    let reader: Box<dyn std::io::Read + '_> = if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(flate2::read::GzDecoder::new(archive))
    } else {
        Box::new(archive)
    };
    let mut tar = tar::Archive::new(reader);
    tar.set_preserve_mtime(false);
    tar.set_unpack_xattrs(false);
    tar.set_overwrite(false);
    tar.unpack(into).map_err(|source| {
        if source.kind() == std::io::ErrorKind::InvalidData
            || source.to_string().contains("numeric field")
        {
            Error::NotTar {
                url: url.as_str().to_owned(),
            }
        } else {
            unpack_err(source)
        }
    })?;
    let entries: Vec<std::path::PathBuf> = std::fs::read_dir(into)
        .and_then(|d| d.map(|e| e.map(|e| e.path())).collect())
        .map_err(unpack_err)?;
    match entries.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Error::TopLevel {
            url: url.as_str().to_owned(),
            count: entries.len(),
        }),
    }
}
