//! Listing a remote's refs through the git library, bounded: one connection, the handshake,
//! and a protocol v2 `ls-refs` whose answer is read a line at a time and refused once it
//! brings more refs or bytes than `atom.listMaxRefs` and `atom.listMaxBytes` allow (a remote
//! advertising millions of refs would otherwise fill memory). Both the one-off listing
//! ([`GitStore::list_remote`](super::GitStore::list_remote)) and a session's use it.

use std::collections::HashSet;
use std::io::{self, BufRead, Read};

use gix::bstr::{BString, ByteSlice};
use gix::protocol::transport::client::blocking_io::{ReadlineBufRead, Transport, TransportV2Ext};
use gix::protocol::transport::packetline::PacketLineRef;
use gix::protocol::transport::Protocol;

use super::settings::ListLimits;
use super::{boxed, to_oid, BoxError, StoreError};
use crate::refs::RefName;
use crate::store::RemoteRef;

/// A connection to a remote after its handshake.
pub(super) type Connection<'r, 'repo> =
    gix::remote::Connection<'r, 'static, 'repo, Box<dyn Transport + Send>>;

fn remote_error(url: &str, what: &str, source: Option<BoxError>) -> StoreError {
    StoreError::Remote {
        remote: url.to_owned(),
        what: what.to_owned(),
        source,
    }
}

/// Connects to `remote` (whose URL the user knows as `url`, for errors) with `repo`'s
/// configuration (credentials, transport options) and performs the handshake.
pub(super) fn connect<'r, 'repo>(
    repo: &gix::Repository,
    remote: &'r gix::Remote<'repo>,
    url: &str,
) -> Result<(Connection<'r, 'repo>, gix::protocol::Handshake), StoreError> {
    let err = |what: &str, e: Option<BoxError>| remote_error(url, what, e);
    let mut connection = match own_transport(repo, remote) {
        Some(transport) => remote.to_connection_with_transport(
            transport.map_err(|e| err("could not connect", Some(e)))?,
        ),
        None => remote
            .connect(gix::remote::Direction::Fetch)
            .map_err(|e| err("could not connect", Some(boxed(e))))?,
    };
    let mut authenticate = connection.configured_credentials_for_current_url();
    let transport = connection.transport_mut();
    let location = transport.to_url().into_owned();
    if let Some(options) = repo
        .transport_options(location.as_bstr(), None)
        .map_err(|e| err("invalid transport configuration", Some(boxed(e))))?
    {
        transport
            .configure(&*options)
            .map_err(|e| err("invalid transport configuration", Some(boxed(e))))?;
    }
    let handshake = gix::protocol::handshake(
        &mut *transport,
        gix::protocol::transport::Service::UploadPack,
        &mut authenticate,
        Vec::new(),
        &mut gix::progress::Discard,
    )
    .map_err(|e| err("could not connect", Some(boxed(e))))?;
    Ok((connection, handshake))
}

/// The transport to `remote` when this crate opens it itself rather than the git library:
/// a git daemon (`git://`: our own socket, see [`daemon`](super::daemon)), and ssh through a
/// `core.sshCommand` whose program git recognises by name (see [`ssh`](super::ssh)). `None`
/// leaves every other case to the library, which then sees the same URL and settings.
fn own_transport(
    repo: &gix::Repository,
    remote: &gix::Remote<'_>,
) -> Option<Result<Box<dyn Transport + Send>, BoxError>> {
    let (url, version) = remote
        .sanitized_url_and_version(gix::remote::Direction::Fetch)
        .ok()?;
    // As the library decides for its own transports (`GIT_TRACE_PACKET` sets it).
    let trace = repo
        .config_snapshot()
        .boolean("gitoxide.tracePacket")
        .unwrap_or(false);
    match url.scheme {
        gix::url::Scheme::Git if url.user().is_none() => {
            let host = url.host()?.to_owned();
            Some(super::daemon::connect(&host, url.port, url.path, version, trace).map_err(boxed))
        }
        gix::url::Scheme::Ssh => {
            let mut options = repo.ssh_connect_options().ok()?;
            if options.kind.is_some() || options.disallow_shell {
                return None;
            }
            let command = options.command.as_ref()?.to_str()?;
            options.kind = Some(super::ssh::kind_of_command(command)?);
            Some(
                gix::protocol::transport::client::blocking_io::ssh::connect(
                    url, version, options, trace,
                )
                .map(|t| Box::new(t) as Box<dyn Transport + Send>)
                .map_err(boxed),
            )
        }
        _ => None,
    }
}

/// The refs under `prefixes` of the remote at the other end of `transport`, after `handshake`:
/// from the handshake itself for protocol v0/v1 servers, else with one `ls-refs`, read within
/// `limits`.
pub(super) fn list<T: Transport>(
    transport: &mut T,
    handshake: &gix::protocol::Handshake,
    prefixes: &[String],
    limits: ListLimits,
    url: &str,
) -> Result<Vec<RemoteRef>, StoreError> {
    let too_many = |what: Exceeded| remote_error(url, &what.describe(limits), None);
    if let Some(refs) = &handshake.refs {
        // A protocol v0/v1 server advertises every ref during the handshake, which the git
        // library reads whole: the count is checked afterwards.
        if u64::try_from(refs.len()).unwrap_or(u64::MAX) > limits.refs {
            return Err(too_many(Exceeded::Refs));
        }
        return Ok(remote_refs(refs, prefixes));
    }
    let command = gix::protocol::Command::LsRefs;
    let mut features = command.default_features(Protocol::V2, &handshake.capabilities);
    features.push(("agent", Some(format!("atom/{}", env!("CARGO_PKG_VERSION")))));
    let mut arguments = command.initial_v2_arguments(&features);
    arguments.extend(
        prefixes
            .iter()
            .map(|p| BString::from(format!("ref-prefix {p}"))),
    );
    let reader = transport
        .invoke(
            command.as_str(),
            features.into_iter(),
            Some(arguments.into_iter()),
            false,
        )
        .map_err(|e| remote_error(url, "could not list refs", Some(boxed(e))))?;
    let mut bounded = Bounded {
        inner: reader,
        limits,
        refs: 0,
        bytes: 0,
        exceeded: None,
    };
    let listed = gix::protocol::handshake::refs::from_v2_refs(&mut bounded);
    if let Some(what) = bounded.exceeded {
        return Err(too_many(what));
    }
    let listed = listed.map_err(|e| remote_error(url, "could not list refs", Some(boxed(e))))?;
    Ok(remote_refs(&listed, prefixes))
}

/// Which bound a listing went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exceeded {
    Refs,
    Bytes,
}

impl Exceeded {
    fn describe(self, limits: ListLimits) -> String {
        match self {
            Exceeded::Refs => format!(
                "the listing has more than {} refs, refused (the limit is `atom.listMaxRefs`)",
                limits.refs
            ),
            Exceeded::Bytes => format!(
                "the listing is larger than {} bytes, refused (the limit is `atom.listMaxBytes`)",
                limits.bytes
            ),
        }
    }
}

/// A listing's reader that counts the lines and bytes read and fails once either is over the
/// limits.
struct Bounded<R> {
    inner: R,
    limits: ListLimits,
    refs: u64,
    bytes: u64,
    exceeded: Option<Exceeded>,
}

impl<R: ReadlineBufRead> ReadlineBufRead for Bounded<R> {
    fn readline(&mut self) -> Option<io::Result<gix::Result<PacketLineRef<'_>>>> {
        if self.exceeded.is_some() {
            return Some(Err(io::Error::other("the listing is over its limits")));
        }
        let line = self.inner.readline()?;
        if let Ok(Ok(l)) = &line {
            self.refs += 1;
            // The line and its 4-byte length.
            let len = l.as_slice().map_or(0, <[u8]>::len) + 4;
            self.bytes += u64::try_from(len).unwrap_or(u64::MAX);
            self.exceeded = if self.refs > self.limits.refs {
                Some(Exceeded::Refs)
            } else if self.bytes > self.limits.bytes {
                Some(Exceeded::Bytes)
            } else {
                None
            };
            if self.exceeded.is_some() {
                return Some(Err(io::Error::other("the listing is over its limits")));
            }
        }
        Some(line)
    }

    fn readline_str(&mut self, line: &mut String) -> io::Result<usize> {
        self.inner.readline_str(line)
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: BufRead> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
    }
}

/// The refs of a listing under any of `prefixes`, each once, sorted by name (a server may
/// ignore `ref-prefix`, which only narrows what it sends).
pub(super) fn remote_refs(
    listed: &[gix::protocol::handshake::Ref],
    prefixes: &[impl AsRef<str>],
) -> Vec<RemoteRef> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for r in listed {
        let (name, oid, peeled) = match r {
            gix::protocol::handshake::Ref::Direct {
                full_ref_name,
                object,
            } => (full_ref_name, *object, None),
            gix::protocol::handshake::Ref::Peeled {
                full_ref_name,
                tag,
                object,
            } => (full_ref_name, *tag, Some(to_oid(object))),
            gix::protocol::handshake::Ref::Symbolic {
                full_ref_name,
                object,
                ..
            } => (full_ref_name, *object, None),
            gix::protocol::handshake::Ref::Unborn { .. } => continue,
        };
        // A name this crate would refuse to write (git is more lenient) is nothing it reads.
        let Ok(name) = RefName::new(&name.to_str_lossy()) else {
            continue;
        };
        if prefixes
            .iter()
            .any(|p| name.as_str().starts_with(p.as_ref()))
            && seen.insert(name.clone())
        {
            out.push(RemoteRef {
                name,
                oid: to_oid(oid),
                peeled,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
