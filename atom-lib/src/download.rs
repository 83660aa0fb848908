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
    /// The tarball cannot be unpacked (the reason names the entry, never its bytes).
    #[error("cannot unpack the tarball of {url}")]
    Unpack {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: crate::unpack::Error,
    },
    /// The download grew past `atom.maxDownloadSize`.
    #[error(
        "the download of {url} is larger than {limit} bytes (the limit is `atom.maxDownloadSize`)"
    )]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
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
    // A server that announces a larger size is refused before a byte is written.
    easy.max_filesize(settings.max_download).map_err(transfer)?;
    easy.useragent(concat!("atom/", env!("CARGO_PKG_VERSION")))
        .map_err(transfer)?;
    let mut written: u64 = 0;
    let mut failed: Option<std::io::Error> = None;
    let mut too_large = false;
    {
        let mut handle = easy.transfer();
        handle
            .write_function(|data| {
                if written + data.len() as u64 > settings.max_download {
                    too_large = true;
                    // Fewer bytes than given: curl stops the transfer.
                    return Ok(0);
                }
                match out.write_all(data) {
                    Ok(()) => {
                        written += data.len() as u64;
                        Ok(data.len())
                    }
                    Err(e) => {
                        failed = Some(e);
                        // Fewer bytes than given: curl stops the transfer.
                        Ok(0)
                    }
                }
            })
            .map_err(transfer)?;
        let result = handle.perform();
        drop(handle);
        if too_large
            || result
                .as_ref()
                .is_err_and(curl::Error::is_filesize_exceeded)
        {
            return Err(Error::TooLarge {
                url: url.as_str().to_owned(),
                limit: settings.max_download,
            });
        }
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
/// returns its single top-level entry, what Nix's `fetchTarball` gives, under the rule and the
/// limits of [`crate::unpack`].
pub fn unpack(
    url: &Url,
    archive: &mut dyn std::io::Read,
    into: &std::path::Path,
    limits: &crate::unpack::Limits,
) -> Result<std::path::PathBuf, Error> {
    crate::unpack::unpack(archive, into, limits).map_err(|source| Error::Unpack {
        url: url.as_str().to_owned(),
        source,
    })
}
