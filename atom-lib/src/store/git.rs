//! The git store: reading and writing objects and refs with `gix`, ref listings of remotes over
//! protocol v2 with server-side `ref-prefix` filtering, and the `git` CLI where it is the right
//! tool (push, fetch and status honour the user's credentials, ssh config and `insteadOf`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gix::bstr::ByteSlice;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

use super::{EntryKind, PushedRef, RemoteRef, TreeEntry};
use crate::Oid;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of the git store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No repository could be opened.
    #[error("not a git repository: `{path}`")]
    Open {
        /// Where the search started.
        path: PathBuf,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A revision did not resolve to a commit.
    #[error("unknown revision `{rev}`")]
    Revision {
        /// The revision as given.
        rev: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// An object is not in the object database.
    #[error("object {oid} is missing from the repository")]
    Missing {
        /// The missing object.
        oid: Oid,
    },
    /// An object could not be read, written or decoded.
    #[error("object {oid}: {what}")]
    Object {
        /// The object.
        oid: String,
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A ref could not be read or written.
    #[error("ref `{name}`: {what}")]
    Ref {
        /// The ref.
        name: String,
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A remote could not be found, reached or listed.
    #[error("remote `{remote}`: {what}")]
    Remote {
        /// The remote name or URL.
        remote: String,
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A `git` subprocess failed.
    #[error("`git {command}` failed: {message}")]
    Git {
        /// The subcommand.
        command: String,
        /// Its diagnostics (first meaningful line of stderr).
        message: String,
    },
}

fn boxed(e: impl std::error::Error + Send + Sync + 'static) -> BoxError {
    Box::new(e)
}

/// Maps a git library error about object `oid` to [`StoreError::Object`].
fn object_error<E>(oid: impl std::fmt::Display, what: &str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let (oid, what) = (oid.to_string(), what.to_owned());
    move |e| StoreError::Object {
        oid,
        what,
        source: Some(boxed(e)),
    }
}

fn to_oid(id: impl AsRef<gix::oid>) -> Oid {
    Oid::from_bytes(id.as_ref().as_bytes()).expect("git object ids are 20 or 32 bytes")
}

fn to_gix(oid: Oid) -> gix::ObjectId {
    gix::ObjectId::try_from(oid.as_bytes()).expect("object ids of supported hash kinds")
}

/// A git repository holding atoms.
#[derive(Debug)]
pub struct GitStore {
    repo: gix::Repository,
}

impl GitStore {
    /// Opens the repository containing `dir`, honouring `GIT_DIR` and friends as git does.
    pub fn discover(dir: &Path) -> Result<Self, StoreError> {
        let repo = gix::ThreadSafeRepository::discover_with_environment_overrides(dir)
            .map_err(|e| StoreError::Open {
                path: dir.to_owned(),
                source: boxed(e),
            })?
            .to_thread_local();
        Ok(GitStore { repo })
    }

    /// Creates an empty bare repository at `dir`, for talking to remotes from outside any
    /// repository (its configuration is the user's global one).
    pub fn init_bare(dir: &Path) -> Result<Self, StoreError> {
        let repo = gix::init_bare(dir).map_err(|e| StoreError::Open {
            path: dir.to_owned(),
            source: boxed(e),
        })?;
        Ok(GitStore { repo })
    }

    /// Opens the repository at exactly `git_dir` (bare or `.git`).
    pub fn open(git_dir: &Path) -> Result<Self, StoreError> {
        let repo = gix::open(git_dir).map_err(|e| StoreError::Open {
            path: git_dir.to_owned(),
            source: boxed(e),
        })?;
        Ok(GitStore { repo })
    }

    /// The `.git` directory (or the bare repository).
    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// The working tree, unless the repository is bare.
    pub fn work_dir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The commit a revision names.
    pub fn resolve_commit(&self, rev: &str) -> Result<Oid, StoreError> {
        let err = |e: BoxError| StoreError::Revision {
            rev: rev.to_owned(),
            source: e,
        };
        let id = self.repo.rev_parse_single(rev).map_err(|e| err(boxed(e)))?;
        let commit = id
            .object()
            .map_err(|e| err(boxed(e)))?
            .peel_to_commit()
            .map_err(|e| err(boxed(e)))?;
        Ok(to_oid(commit.id))
    }

    /// The commit `HEAD` points at, if any.
    pub fn head_commit(&self) -> Option<Oid> {
        self.repo.head_id().ok().map(to_oid)
    }

    /// The branch `HEAD` is on (`refs/heads/...`), if any.
    pub fn head_branch(&self) -> Option<String> {
        self.repo
            .head_name()
            .ok()
            .flatten()
            .map(|n| n.as_bstr().to_str_lossy().into_owned())
    }

    /// Whether the object database has `oid`.
    pub fn has_object(&self, oid: Oid) -> bool {
        self.repo.has_object(to_gix(oid))
    }

    /// The raw bytes of a commit object, or `None` if it is missing.
    pub fn read_commit_raw(&self, oid: Oid) -> Result<Option<Vec<u8>>, StoreError> {
        match self.try_find(oid)? {
            Some(obj) if obj.kind == gix::object::Kind::Commit => Ok(Some(obj.data.clone())),
            Some(obj) => Err(StoreError::Object {
                oid: oid.to_string(),
                what: format!("is a {}, not a commit", obj.kind),
                source: None,
            }),
            None => Ok(None),
        }
    }

    /// The tree and parents of a commit.
    pub fn commit_tree_and_parents(&self, oid: Oid) -> Result<(Oid, Vec<Oid>), StoreError> {
        let commit = self
            .find(oid)?
            .try_into_commit()
            .map_err(object_error(oid, "is not a commit"))?;
        let decoded = commit
            .decode()
            .map_err(object_error(oid, "is not a valid commit"))?;
        let tree = to_oid(decoded.tree());
        let parents = decoded.parents().map(to_oid).collect();
        Ok((tree, parents))
    }

    fn try_find(&self, oid: Oid) -> Result<Option<gix::Object<'_>>, StoreError> {
        self.repo
            .try_find_object(to_gix(oid))
            .map_err(object_error(oid, "could not be read"))
    }

    fn find(&self, oid: Oid) -> Result<gix::Object<'_>, StoreError> {
        self.try_find(oid)?.ok_or(StoreError::Missing { oid })
    }

    /// The entries of a tree.
    pub fn tree_entries(&self, oid: Oid) -> Result<Vec<TreeEntry>, StoreError> {
        let tree = self
            .find(oid)?
            .try_into_tree()
            .map_err(object_error(oid, "is not a tree"))?;
        let decoded = tree
            .decode()
            .map_err(object_error(oid, "is not a valid tree"))?;
        Ok(decoded
            .entries
            .iter()
            .map(|e| TreeEntry {
                name: e.filename.to_vec(),
                kind: if e.mode.is_tree() {
                    EntryKind::Tree
                } else if e.mode.is_link() {
                    EntryKind::Link
                } else if e.mode.is_commit() {
                    EntryKind::Submodule
                } else {
                    EntryKind::Blob
                },
                oid: to_oid(e.oid),
            })
            .collect())
    }

    /// The contents of a blob.
    pub fn read_blob(&self, oid: Oid) -> Result<Vec<u8>, StoreError> {
        let obj = self.find(oid)?;
        if obj.kind != gix::object::Kind::Blob {
            return Err(StoreError::Object {
                oid: oid.to_string(),
                what: format!("is a {}, not a blob", obj.kind),
                source: None,
            });
        }
        Ok(obj.data.clone())
    }

    /// The id a commit with these bytes has, without writing it.
    pub fn hash_commit(&self, bytes: &[u8]) -> Oid {
        let id = gix::objs::compute_hash(self.repo.object_hash(), gix::object::Kind::Commit, bytes)
            .expect("hashing in memory does not fail");
        to_oid(id)
    }

    /// Writes a commit object from its exact bytes.
    pub fn write_commit_raw(&self, bytes: &[u8]) -> Result<Oid, StoreError> {
        use gix::objs::Write as _;
        self.repo
            .objects
            .write_buf(gix::object::Kind::Commit, bytes)
            .map(to_oid)
            .map_err(|e| StoreError::Object {
                oid: self.hash_commit(bytes).to_string(),
                what: "could not be written".into(),
                source: Some(boxed(e)),
            })
    }

    /// The object a ref points at (not peeled), if the ref exists.
    pub fn find_ref(&self, name: &str) -> Result<Option<Oid>, StoreError> {
        match self.repo.try_find_reference(name) {
            Ok(Some(r)) => Ok(r.target().try_id().map(to_oid)),
            Ok(None) => Ok(None),
            Err(e) => Err(StoreError::Ref {
                name: name.to_owned(),
                what: "could not be read".into(),
                source: Some(boxed(e)),
            }),
        }
    }

    /// Every direct ref whose name starts with `prefix`, sorted by name.
    pub fn refs_with_prefix(&self, prefix: &str) -> Result<Vec<RemoteRef>, StoreError> {
        let err = |e: BoxError| StoreError::Ref {
            name: format!("{prefix}*"),
            what: "could not be listed".into(),
            source: Some(e),
        };
        let platform = self.repo.references().map_err(|e| err(boxed(e)))?;
        let iter = platform.prefixed(prefix).map_err(|e| err(boxed(e)))?;
        let mut out = Vec::new();
        for r in iter {
            let r = r.map_err(|e| err(boxed(e)))?;
            if let Some(id) = r.target().try_id() {
                out.push(RemoteRef {
                    name: r.name().as_bstr().to_str_lossy().into_owned(),
                    oid: to_oid(id),
                    peeled: None,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Creates all `refs` in one transaction: either every ref is created or none is. A ref that
    /// already exists fails the whole transaction, so concurrent writers cannot both win.
    pub fn create_refs(&self, refs: &[(String, Oid)], message: &str) -> Result<(), StoreError> {
        let mut edits = Vec::with_capacity(refs.len());
        for (name, oid) in refs {
            let full =
                gix::refs::FullName::try_from(name.as_str()).map_err(|e| StoreError::Ref {
                    name: name.clone(),
                    what: "is not a valid ref name".into(),
                    source: Some(boxed(e)),
                })?;
            edits.push(RefEdit {
                change: Change::Update {
                    log: LogChange {
                        mode: RefLog::AndReference,
                        force_create_reflog: false,
                        message: message.into(),
                    },
                    expected: PreviousValue::MustNotExist,
                    new: gix::refs::Target::Object(to_gix(*oid)),
                },
                name: full,
                deref: false,
            });
        }
        self.repo
            .edit_references(edits)
            .map_err(|e| StoreError::Ref {
                name: refs.first().map(|(n, _)| n.clone()).unwrap_or_default(),
                what: "transaction failed, no ref was written".into(),
                source: Some(boxed(e)),
            })?;
        Ok(())
    }

    /// The root reached by following first parents from `commit`.
    pub fn first_parent_root(&self, commit: Oid) -> Result<Oid, StoreError> {
        let mut current = commit;
        loop {
            let (_, parents) = self.commit_tree_and_parents(current)?;
            match parents.first() {
                Some(p) => current = *p,
                None => return Ok(current),
            }
        }
    }

    /// Walks the history reachable from `starts` until `visit(commit, is_root)` returns `true`;
    /// returns whether it did.
    fn walk_history(
        &self,
        starts: &[Oid],
        mut visit: impl FnMut(Oid, bool) -> bool,
    ) -> Result<bool, StoreError> {
        let what = "history could not be walked";
        let first = starts.first().map(Oid::to_string).unwrap_or_default();
        let walk = self
            .repo
            .rev_walk(starts.iter().map(|s| to_gix(*s)))
            .all()
            .map_err(object_error(&first, what))?;
        for info in walk {
            let info = info.map_err(object_error(&first, what))?;
            if visit(to_oid(info.id), info.parent_ids.is_empty()) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every parentless commit reachable from `commit`, in no particular order.
    pub fn roots(&self, commit: Oid) -> Result<Vec<Oid>, StoreError> {
        let mut roots = Vec::new();
        self.walk_history(&[commit], |id, is_root| {
            if is_root {
                roots.push(id);
            }
            false
        })?;
        Ok(roots)
    }

    /// Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor).
    pub fn is_ancestor(&self, ancestor: Oid, descendant: Oid) -> Result<bool, StoreError> {
        self.reachable_from_any(ancestor, &[descendant])
    }

    /// Whether `commit` is reachable from any of `tips` that exist locally.
    pub fn reachable_from_any(&self, commit: Oid, tips: &[Oid]) -> Result<bool, StoreError> {
        let starts: Vec<Oid> = tips
            .iter()
            .copied()
            .filter(|t| self.has_object(*t))
            .collect();
        if starts.contains(&commit) {
            return Ok(true);
        }
        if starts.is_empty() {
            return Ok(false);
        }
        self.walk_history(&starts, |id, _| id == commit)
    }

    /// The remote `git push` would use with no arguments: `branch.<name>.pushRemote`, then
    /// `remote.pushDefault`, then `branch.<name>.remote`, then `origin` if it is configured.
    /// `None` when there is none (or it is `.`, the repository itself).
    pub fn default_push_remote(&self) -> Option<String> {
        let config = self.repo.config_snapshot();
        let get = |key: &str| {
            config
                .string(key)
                .map(|v| v.to_str_lossy().into_owned())
                .filter(|v| !v.is_empty())
        };
        let branch = self
            .head_branch()
            .and_then(|b| b.strip_prefix("refs/heads/").map(str::to_owned));
        let chosen = branch
            .as_ref()
            .and_then(|b| get(&format!("branch.{b}.pushRemote")))
            .or_else(|| get("remote.pushDefault"))
            .or_else(|| {
                branch
                    .as_ref()
                    .and_then(|b| get(&format!("branch.{b}.remote")))
            })
            .or_else(|| {
                self.is_configured_remote("origin")
                    .then(|| "origin".to_owned())
            });
        chosen.filter(|r| r != ".")
    }

    /// Whether `name` is a configured remote.
    pub fn is_configured_remote(&self, name: &str) -> bool {
        self.repo
            .remote_names()
            .iter()
            .any(|n| n.to_str_lossy() == name)
    }

    /// Lists the refs of `remote` (a configured name or a URL) under the given prefixes, with one
    /// protocol v2 `ls-refs` request carrying a `ref-prefix` per prefix, so the server filters
    /// and no object data moves. Servers that only speak protocol v0/v1 advertise every ref;
    /// the result is filtered here then.
    pub fn list_remote(
        &self,
        remote: &str,
        prefixes: &[&str],
    ) -> Result<Vec<RemoteRef>, StoreError> {
        let err = |what: &str, e: Option<BoxError>| StoreError::Remote {
            remote: remote.to_owned(),
            what: what.to_owned(),
            source: e,
        };
        let specs: Vec<String> = prefixes.iter().map(|p| format!("{p}*:{p}*")).collect();
        let remote_handle = self
            .repo
            .find_fetch_remote(Some(remote.as_bytes().as_bstr()))
            .map_err(|e| err("not a configured remote or a valid URL", Some(boxed(e))))?
            .with_fetch_tags(gix::remote::fetch::Tags::None);
        let mut remote_handle = remote_handle;
        remote_handle
            .replace_refspecs(
                specs.iter().map(String::as_str),
                gix::remote::Direction::Fetch,
            )
            .map_err(|e| err("invalid ref prefix", Some(boxed(e))))?;
        let connection = remote_handle
            .connect(gix::remote::Direction::Fetch)
            .map_err(|e| err("could not connect", Some(boxed(e))))?;
        let (ref_map, _handshake) = connection
            .ref_map(gix::progress::Discard, Default::default())
            .map_err(|e| err("could not list refs", Some(boxed(e))))?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for r in &ref_map.remote_refs {
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
            let name = name.to_str_lossy().into_owned();
            if prefixes.iter().any(|p| name.starts_with(p)) && seen.insert(name.clone()) {
                out.push(RemoteRef {
                    name,
                    oid: to_oid(oid),
                    peeled,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.work_dir().unwrap_or_else(|| self.git_dir()));
        cmd.env("GIT_DIR", self.git_dir());
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Pushes `updates` (object id to destination ref) to `remote` in one atomic push: every ref
    /// lands or none does. Refs under `refs/atoms/` are only ever created (their expected old
    /// value is "absent"), so a concurrent publisher cannot be overwritten; other refs must
    /// fast-forward.
    pub fn push_atomic(
        &self,
        remote: &str,
        updates: &[(Oid, String)],
    ) -> Result<Vec<PushedRef>, StoreError> {
        let mut cmd = self.git();
        cmd.args(["push", "--atomic", "--porcelain", "--no-follow-tags"]);
        for (_, name) in updates.iter().filter(|(_, n)| n.starts_with("refs/atoms/")) {
            // An empty expectation means "must not exist yet": atom refs are only ever created.
            // Other refs (a source branch) are pushed plainly, so they must fast-forward.
            cmd.arg(format!("--force-with-lease={name}:"));
        }
        cmd.arg("--").arg(remote);
        for (oid, name) in updates {
            cmd.arg(format!("{oid}:{name}"));
        }
        cmd.env("GIT_ATOM_PUBLISH", "1");
        tracing::debug!(?cmd, "pushing");
        let output = cmd
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .output()
            .map_err(|e| StoreError::Git {
                command: "push".into(),
                message: e.to_string(),
            })?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut pushed = Vec::new();
        let mut rejected = Vec::new();
        for line in parse_push_porcelain(&output.stdout) {
            match line.flag {
                '*' | ' ' | '+' => pushed.push(PushedRef {
                    name: line.to,
                    created: true,
                }),
                '=' => pushed.push(PushedRef {
                    name: line.to,
                    created: false,
                }),
                _ => {
                    let summary = if line.summary.is_empty() {
                        "rejected"
                    } else {
                        &line.summary
                    };
                    rejected.push(format!("{} {summary}", line.to));
                }
            }
        }
        if !output.status.success() {
            let message = if rejected.is_empty() {
                first_error_line(stderr.as_bytes())
            } else {
                format!("rejected: {}", rejected.join(", "))
            };
            return Err(StoreError::Git {
                command: "push".into(),
                message,
            });
        }
        Ok(pushed)
    }

    /// Fetches `refspecs` from `remote` without touching `FETCH_HEAD`, tags or other refs
    /// (destination-less refspecs only bring objects).
    pub fn fetch_objects(&self, remote: &str, refspecs: &[String]) -> Result<(), StoreError> {
        let mut cmd = self.git();
        cmd.args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--",
        ])
        .arg(remote)
        .args(refspecs);
        let output = cmd.output().map_err(|e| StoreError::Git {
            command: "fetch".into(),
            message: e.to_string(),
        })?;
        if !output.status.success() {
            return Err(StoreError::Git {
                command: "fetch".into(),
                message: first_error_line(&output.stderr),
            });
        }
        Ok(())
    }

    /// Paths under `dirs` with uncommitted changes (staged, unstaged or untracked, not ignored),
    /// relative to the repository root. Empty for a bare repository.
    pub fn uncommitted_paths(&self, dirs: &[&str]) -> Result<Vec<String>, StoreError> {
        if self.work_dir().is_none() || dirs.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = self.git();
        cmd.args([
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--ignore-submodules=none",
            "--",
        ]);
        for dir in dirs {
            cmd.arg(format!(":(top,literal){dir}"));
        }
        let output = cmd.output().map_err(|e| StoreError::Git {
            command: "status".into(),
            message: e.to_string(),
        })?;
        if !output.status.success() {
            return Err(StoreError::Git {
                command: "status".into(),
                message: first_error_line(&output.stderr),
            });
        }
        let mut paths = Vec::new();
        let mut records = output.stdout.split(|b| *b == 0);
        while let Some(rec) = records.next() {
            if rec.len() < 4 {
                continue;
            }
            paths.push(String::from_utf8_lossy(&rec[3..]).into_owned());
            // Renames and copies carry the original path as a second record.
            if matches!(rec[0], b'R' | b'C') {
                records.next();
            }
        }
        Ok(paths)
    }
}

/// One ref's line of `git push --porcelain` output: `<flag>\t<from>:<to>\t<summary>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushLine {
    /// `*` new, ` ` fast-forward, `+` forced, `=` up to date, `-` deleted, `!` rejected.
    pub flag: char,
    /// The destination ref.
    pub to: String,
    /// The summary, trimmed (empty if absent).
    pub summary: String,
}

/// The ref lines of `git push --porcelain` output; other lines are skipped.
pub fn parse_push_porcelain(stdout: &[u8]) -> Vec<PushLine> {
    let stdout = String::from_utf8_lossy(stdout);
    stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            let (flag, spec, summary) = (fields.next()?, fields.next()?, fields.next());
            let flag = flag.chars().next().filter(|_| flag.chars().count() == 1)?;
            let (_, to) = spec.split_once(':')?;
            Some(PushLine {
                flag,
                to: to.to_owned(),
                summary: summary.unwrap_or_default().trim().to_owned(),
            })
        })
        .collect()
}

/// The line of a git process's stderr that says what went wrong: the first `fatal:` or `error:`
/// line without its prefix, else the last line.
pub fn first_error_line(stderr: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
        .or(lines.last())
        .map(|l| {
            l.trim_start_matches("fatal: ")
                .trim_start_matches("error: ")
                .to_owned()
        })
        .unwrap_or_else(|| "no diagnostics".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_porcelain_lines() {
        let out = b"To /tmp/remote.git\n\
            *\tabc:refs/atoms/foo/1.0.0\t[new reference]\n\
            =\tdef:refs/atoms/_root\t[up to date]\n\
            !\t123:refs/heads/main\t[rejected] (stale info)\n\
            Done\n";
        let lines = parse_push_porcelain(out);
        let shown: Vec<(char, &str, &str)> = lines
            .iter()
            .map(|l| (l.flag, l.to.as_str(), l.summary.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ('*', "refs/atoms/foo/1.0.0", "[new reference]"),
                ('=', "refs/atoms/_root", "[up to date]"),
                ('!', "refs/heads/main", "[rejected] (stale info)"),
            ]
        );
    }

    #[test]
    fn error_lines() {
        assert_eq!(
            first_error_line(b"hint: x\nfatal: no such remote\n"),
            "no such remote"
        );
        assert_eq!(first_error_line(b"one\ntwo\n"), "two");
        assert_eq!(first_error_line(b""), "no diagnostics");
    }
}
