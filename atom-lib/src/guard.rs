//! Guarding atom refs with git hooks: published atoms and subatomics are immutable
//! (`docs/format.md`, section 5), and git's own hooks are where a repository can refuse a ref
//! update whoever makes it.
//!
//! - On a client, a `pre-push` hook refuses pushes that would update or delete an existing
//!   `refs/atoms/*` or `refs/subs/*` ref on the remote (`git push --mirror --force` included),
//!   and branch pushes whose atoms' locks are stale (what `git atom publish` refuses).
//! - On a server, a `pre-receive` hook refuses updates and deletions of those refs and new atom
//!   refs that fail the structural check ([`crate::verify::check_structure`]), whichever client
//!   pushed them.
//!
//! Both hooks are a line of shell calling `git atom hook pre-push|pre-receive`, so the policy is
//! this module. Parsing takes the hook's input as a parameter; the checks return data
//! ([`Refusal`]) for the command line to print.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::publish::{self, Problem};
use crate::refs::{AtomRef, ATOM_REF_PREFIX, EKA_ATOM_REF_PREFIX, SUBS_REF_PREFIX};
use crate::{GitStore, Oid, StoreError};

/// The environment variable `git atom publish` sets for its own push, so a `pre-push` hook
/// knows the push is a publish (which checked the locks already).
pub const PUBLISH_ENV: &str = "GIT_ATOM_PUBLISH";

/// A line marking a hook as installed by this tool, so it can be replaced by a later install.
pub const HOOK_MARKER: &str = "# installed by `git atom hook install`";

/// The prefix of a ref namespace (`git help gitnamespaces`): a repository serving the namespace
/// `t` keeps its refs under `refs/namespaces/t/`, nested namespaces under
/// `refs/namespaces/a/refs/namespaces/b/`.
pub const NAMESPACE_PREFIX: &str = "refs/namespaces/";

/// How many symbolic refs the server hook follows from a pushed name, as git does
/// (`SYMREF_MAXDEPTH`); a longer chain is refused.
pub const MAX_SYMREF_DEPTH: usize = 5;

/// One ref a push would change: `None` stands for git's all-zero id (absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefChange {
    /// The ref on the receiving side, as pushed.
    pub name: String,
    /// Its value before the push.
    pub old: Option<Oid>,
    /// Its value after the push.
    pub new: Option<Oid>,
    /// (pre-push) The local ref being pushed, if any.
    pub local: Option<String>,
    /// The ref the change lands on as readers of its namespace see it, which is what the
    /// checks look at: `name` without its `refs/namespaces/<x>/` prefixes and, on a server
    /// (see [`follow_symbolic_refs`]), the target of the symbolic ref `name` is there.
    pub target: String,
    /// The namespace prefix `target` lives under in the repository (`refs/namespaces/<x>/`,
    /// repeated when nested; empty for none).
    pub namespace: String,
    /// (pre-receive) The full name of the ref the change lands on, when `name` is a symbolic
    /// ref in the receiving repository.
    pub symbolic: Option<String>,
}

impl RefChange {
    /// A change of the ref `name`; its [`RefChange::target`] is `name` outside any namespace.
    pub fn new(name: &str, old: Option<Oid>, new: Option<Oid>, local: Option<String>) -> Self {
        let (namespace, target) = split_namespaces(name);
        RefChange {
            name: name.to_owned(),
            old,
            new,
            local,
            target: target.to_owned(),
            namespace: namespace.to_owned(),
            symbolic: None,
        }
    }

    /// The ref a refusal names: the symbolic ref's target if the change went through one, else
    /// the name as pushed.
    fn refused_name(&self) -> String {
        self.symbolic.clone().unwrap_or_else(|| self.name.clone())
    }

    /// `refusal`, said to be about the symbolic ref the push named when it went through one.
    fn refuse(&self, refusal: Refusal) -> Refusal {
        match &self.symbolic {
            Some(target) => Refusal::Symbolic {
                name: self.name.clone(),
                target: target.clone(),
                refusal: Box::new(refusal),
            },
            None => refusal,
        }
    }
}

/// Splits the full ref name `name` into its namespace prefix (every leading
/// `refs/namespaces/<x>/`, empty when there is none) and the name within the namespace, the
/// name readers of the namespace see: `refs/namespaces/a/refs/namespaces/b/refs/atoms/x/1.0.0`
/// is `refs/atoms/x/1.0.0` in the namespace `a/b`.
pub fn split_namespaces(name: &str) -> (&str, &str) {
    let mut inner = name;
    while let Some(rest) = inner.strip_prefix(NAMESPACE_PREFIX) {
        let Some(slash) = rest.find('/') else { break };
        inner = &rest[slash + 1..];
    }
    (&name[..name.len() - inner.len()], inner)
}

/// The prefix git keeps the refs of the namespace `namespace` (`GIT_NAMESPACE`) under: each
/// `/`-separated component is a nested namespace (`a/b` is
/// `refs/namespaces/a/refs/namespaces/b/`); empty components are skipped, as git does.
pub fn namespace_prefix(namespace: &str) -> String {
    namespace
        .split('/')
        .filter(|c| !c.is_empty())
        .map(|c| format!("{NAMESPACE_PREFIX}{c}/"))
        .collect()
}

/// Why a hook's input cannot be read: the hook then refuses the whole push.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A line is not what git writes.
    #[error("malformed {hook} input line `{line}`")]
    Malformed {
        /// `pre-push` or `pre-receive`.
        hook: &'static str,
        /// The line, escaped.
        line: String,
    },
    /// The input could not be read (or is not UTF-8).
    #[error("cannot read the {hook} hook's input")]
    Read {
        /// `pre-push` or `pre-receive`.
        hook: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn oid_or_zero(s: &str) -> Option<Option<Oid>> {
    if !s.is_empty() && s.bytes().all(|b| b == b'0') {
        return Some(None);
    }
    s.parse().ok().map(Some)
}

/// Parses a `pre-receive` hook's standard input: `<old> <new> <ref>` per line.
pub fn parse_pre_receive(input: impl BufRead) -> Result<Vec<RefChange>, InputError> {
    let mut changes = Vec::new();
    for line in input.lines() {
        let line = line.map_err(|source| InputError::Read {
            hook: "pre-receive",
            source,
        })?;
        if line.is_empty() {
            continue;
        }
        let err = || InputError::Malformed {
            hook: "pre-receive",
            line: line.escape_debug().to_string(),
        };
        let mut fields = line.splitn(3, ' ');
        let (Some(old), Some(new), Some(name)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(err());
        };
        changes.push(RefChange::new(
            name,
            oid_or_zero(old).ok_or_else(err)?,
            oid_or_zero(new).ok_or_else(err)?,
            None,
        ));
    }
    Ok(changes)
}

/// Parses a `pre-push` hook's standard input:
/// `<local ref> <local oid> <remote ref> <remote oid>` per line.
pub fn parse_pre_push(input: impl BufRead) -> Result<Vec<RefChange>, InputError> {
    let mut changes = Vec::new();
    for line in input.lines() {
        let line = line.map_err(|source| InputError::Read {
            hook: "pre-push",
            source,
        })?;
        if line.is_empty() {
            continue;
        }
        let err = || InputError::Malformed {
            hook: "pre-push",
            line: line.escape_debug().to_string(),
        };
        let fields: Vec<&str> = line.split(' ').collect();
        let [local, local_oid, remote, remote_oid] = fields[..] else {
            return Err(err());
        };
        changes.push(RefChange::new(
            remote,
            oid_or_zero(remote_oid).ok_or_else(err)?,
            oid_or_zero(local_oid).ok_or_else(err)?,
            (local != "(delete)").then(|| local.to_owned()),
        ));
    }
    Ok(changes)
}

/// Why a hook refuses a ref change.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// An existing atom or subatomic ref would point elsewhere.
    #[error("refusing to update `{name}` ({} -> {}): published atoms and subatomics are immutable", .old.short(12), .new.short(12))]
    Update {
        /// The ref.
        name: String,
        /// Its value.
        old: Oid,
        /// The value the push wants.
        new: Oid,
    },
    /// An existing atom or subatomic ref would be deleted.
    #[error("refusing to delete `{name}` ({}): published atoms and subatomics are immutable", .old.short(12))]
    Delete {
        /// The ref.
        name: String,
        /// Its value.
        old: Oid,
    },
    /// A new atom or subatomic ref points at something that is not a well-formed atom or
    /// subatomic.
    #[error("refusing new {kind} ref `{name}` ({}): {}", .commit.short(12), .findings.join("; "))]
    Malformed {
        /// `atom` or `subatomic`.
        kind: &'static str,
        /// The ref.
        name: String,
        /// Where it points.
        commit: Oid,
        /// What is wrong with it.
        findings: Vec<String>,
    },
    /// A new signature ref does not hold a signature of the atom it is named after.
    #[error("refusing signature ref `{name}`: {reason}")]
    BadSignature {
        /// The ref.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A new reserved ref (`refs/atoms/_root`, `refs/atoms/_revoked/<key id>`) is not
    /// well-formed for its kind.
    #[error("refusing new reserved ref `{name}`: {reason}")]
    BadReserved {
        /// The ref.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A new ref under `refs/atoms/_*` is none of the reserved names the format specifies.
    #[error("refusing new ref `{name}`: not a reserved name of the atom format (`refs/atoms/_root`, `refs/atoms/_sig/<label>/<version>/<key id>`, `refs/atoms/_revoked/<key id>`); labels cannot start with `_`")]
    UnknownReserved {
        /// The ref.
        name: String,
    },
    /// A branch being pushed holds an atom whose lock is missing or stale.
    #[error("refusing to push `{name}`: {problem}")]
    StaleLock {
        /// The remote ref.
        name: String,
        /// What publishing would refuse.
        problem: Problem,
    },
    /// The pushed ref is a symbolic ref in the receiving repository: the change lands on its
    /// target, which `refusal` is about.
    #[error("`{name}` is a symbolic ref to `{target}`: {refusal}")]
    Symbolic {
        /// The ref as pushed.
        name: String,
        /// The ref the change would land on.
        target: String,
        /// Why the change of the target is refused.
        refusal: Box<Refusal>,
    },
    /// Whether the pushed ref is a symbolic ref could not be read.
    #[error("refusing to push `{name}`: cannot read it in the receiving repository")]
    UnreadableRef {
        /// The ref as pushed.
        name: String,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The pushed ref is a chain of more than [`MAX_SYMREF_DEPTH`] symbolic refs (or a loop).
    #[error("refusing to push `{name}`: more than {MAX_SYMREF_DEPTH} symbolic refs to follow")]
    SymbolicLoop {
        /// The ref as pushed.
        name: String,
    },
    /// A new atom's label looks like a label already published in the repository (or pushed
    /// beside it): a case variant or a Unicode TR39 confusable, as publish refuses.
    #[error("refusing new atom ref `{name}`: label `{label}` looks like `{existing}`, already published here: they are easily mistaken for each other (rename the atom)")]
    Confusable {
        /// The ref.
        name: String,
        /// The new atom's label.
        label: crate::Label,
        /// The published label it looks like.
        existing: crate::Label,
    },
    /// The commit pushed to a branch could not be scanned for atoms.
    #[error("refusing to push `{name}`: cannot read its atoms")]
    Unreadable {
        /// The remote ref.
        name: String,
        /// The cause.
        #[source]
        source: crate::scan::SourceError,
    },
}

/// Whether `name` is an immutable ref: an atom (`refs/atoms/<label>/<version>`, the reserved
/// names under `refs/atoms/_*` except the identity ref, eka's `refs/eka/atoms/...`) or a
/// subatomic (`refs/subs/...`). `refs/atoms/_root` is immutable too: it is the repository's
/// identity.
pub fn is_guarded(name: &str) -> bool {
    name.starts_with(ATOM_REF_PREFIX)
        || name.starts_with(SUBS_REF_PREFIX)
        || name.starts_with(EKA_ATOM_REF_PREFIX)
}

/// Makes each change of `changes` land where the receiving `repository` would write it: a pushed
/// name is looked up under the namespace the server serves (`namespace`, the value of
/// `GIT_NAMESPACE`, if any) and, while it is a symbolic ref, replaced by its target (at most
/// [`MAX_SYMREF_DEPTH`] times, as git); the target's namespaces are then split off into
/// [`RefChange::namespace`] and [`RefChange::target`]. A name that cannot be read or ends no
/// chain is refused, so the push is.
pub fn follow_symbolic_refs(
    repository: &GitStore,
    namespace: Option<&str>,
    changes: &mut [RefChange],
) -> Vec<Refusal> {
    let prefix = namespace.map(namespace_prefix).unwrap_or_default();
    let mut refusals = Vec::new();
    'changes: for c in changes.iter_mut() {
        let mut full = format!("{prefix}{}", c.name);
        let mut followed = false;
        for depth in 0..=MAX_SYMREF_DEPTH {
            match repository.symbolic_target(&full) {
                Ok(None) => break,
                Ok(Some(_)) if depth == MAX_SYMREF_DEPTH => {
                    refusals.push(Refusal::SymbolicLoop {
                        name: c.name.clone(),
                    });
                    continue 'changes;
                }
                Ok(Some(target)) => {
                    full = target;
                    followed = true;
                }
                Err(source) => {
                    refusals.push(Refusal::UnreadableRef {
                        name: c.name.clone(),
                        source,
                    });
                    continue 'changes;
                }
            }
        }
        let (ns, target) = split_namespaces(&full);
        c.namespace = ns.to_owned();
        c.target = target.to_owned();
        c.symbolic = followed.then_some(full);
    }
    refusals
}

/// The updates and deletions of existing guarded refs among `changes`. Creating a ref is
/// allowed; an unchanged ref is no change; deleting a signature ref (`refs/atoms/_sig/...`)
/// revokes it and is allowed.
pub fn immutable_refs(changes: &[RefChange]) -> Vec<Refusal> {
    changes
        .iter()
        .filter(|c| is_guarded(&c.target))
        .filter_map(|c| match (c.old, c.new) {
            (Some(old), Some(new)) if old != new => Some(c.refuse(Refusal::Update {
                name: c.refused_name(),
                old,
                new,
            })),
            // Revoking a signature (a compromised key) deletes its ref; that stays possible.
            (Some(_), None) if c.target.starts_with(crate::sign::SIG_REF_PREFIX) => None,
            (Some(old), None) => Some(c.refuse(Refusal::Delete {
                name: c.refused_name(),
                old,
            })),
            _ => None,
        })
        .collect()
}

/// The new atom and subatomic refs among `changes` whose commit fails the structural check
/// (read from `store`, which must see the pushed objects).
pub fn malformed_new_atoms(store: &GitStore, changes: &[RefChange]) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    for c in changes {
        let (None, Some(commit)) = (c.old, c.new) else {
            continue;
        };
        if let Some(tree) = c.target.strip_prefix(SUBS_REF_PREFIX) {
            let findings = match tree.parse() {
                Err(_) => vec!["expected `refs/subs/<tree id>`".to_owned()],
                Ok(tree) => match crate::subatomic::check_structure(store, tree, commit) {
                    Ok(s) => s.findings.iter().map(ToString::to_string).collect(),
                    Err(why) => vec![why.to_string()],
                },
            };
            if !findings.is_empty() {
                refusals.push(c.refuse(Refusal::Malformed {
                    kind: "subatomic",
                    name: c.refused_name(),
                    commit,
                    findings,
                }));
            }
            continue;
        }
        let atom = match AtomRef::parse(&c.target) {
            Ok(Some(atom)) => atom,
            Ok(None) => continue,
            Err(e) => {
                refusals.push(c.refuse(Refusal::Malformed {
                    kind: "atom",
                    name: c.refused_name(),
                    commit,
                    findings: vec![e.to_string()],
                }));
                continue;
            }
        };
        let findings = match crate::verify::check_structure(store, &atom, commit) {
            Ok(structure) => structure.findings.iter().map(ToString::to_string).collect(),
            Err(why) => vec![why.to_string()],
        };
        if !findings.is_empty() {
            refusals.push(c.refuse(Refusal::Malformed {
                kind: "atom",
                name: c.refused_name(),
                commit,
                findings,
            }));
        }
    }
    refusals
}

/// The new atom refs among `changes` whose label looks like a different label already
/// published in `repository` (in the same namespace) or created earlier in the same push: a
/// case variant or a Unicode TR39 confusable ([`crate::label::confusable_with`], the rule
/// publish applies). Each refusal names both labels. A listing that cannot be read is an
/// error, so the push is refused.
pub fn confusable_new_atoms(
    repository: &GitStore,
    changes: &[RefChange],
) -> Result<Vec<Refusal>, StoreError> {
    let mut published: std::collections::HashMap<String, Vec<crate::Label>> =
        std::collections::HashMap::new();
    let mut refusals = Vec::new();
    for c in changes {
        let (None, Some(_)) = (c.old, c.new) else {
            continue;
        };
        let Ok(Some(atom)) = AtomRef::parse(&c.target) else {
            continue;
        };
        if !published.contains_key(&c.namespace) {
            let mut labels = Vec::new();
            for prefix in [ATOM_REF_PREFIX, EKA_ATOM_REF_PREFIX] {
                let full = format!("{}{prefix}", c.namespace);
                for r in repository.refs_with_prefix(&full)? {
                    if let Ok(Some(existing)) =
                        AtomRef::parse(&r.name.as_str()[c.namespace.len()..])
                    {
                        if !labels.contains(&existing.label) {
                            labels.push(existing.label);
                        }
                    }
                }
            }
            published.insert(c.namespace.clone(), labels);
        }
        let labels = published.entry(c.namespace.clone()).or_default();
        if let Some(existing) = crate::label::confusable_with(&atom.label, labels.iter()) {
            refusals.push(c.refuse(Refusal::Confusable {
                name: c.refused_name(),
                label: atom.label.clone(),
                existing: existing.clone(),
            }));
            continue;
        }
        if !labels.contains(&atom.label) {
            labels.push(atom.label);
        }
    }
    Ok(refusals)
}

/// The new or moved signature refs (`refs/atoms/_sig/<label>/<version>/<key id>`) among
/// `changes` that are not a tag object targeting the atom commit of `refs/atoms/<label>/<version>`
/// (existing, or created by the same push) whose message names that atom, its commit and its
/// tree. Whether the signature is good is for each verifier's trust configuration, not the
/// server's. Objects are read from `store` (which sees the pushed objects), refs from
/// `repository` (the receiving repository itself).
pub fn malformed_new_signatures(
    store: &GitStore,
    repository: &GitStore,
    changes: &[RefChange],
) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    for c in changes {
        let Some(new) = c.new else { continue };
        let Some(rest) = c.target.strip_prefix(crate::sign::SIG_REF_PREFIX) else {
            continue;
        };
        let refuse = |reason: String| {
            c.refuse(Refusal::BadSignature {
                name: c.refused_name(),
                reason,
            })
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let [label, version, key] = parts[..] else {
            refusals.push(refuse(
                "expected `refs/atoms/_sig/<label>/<version>/<key id>`".into(),
            ));
            continue;
        };
        let atom = match AtomRef::parse(&format!("{ATOM_REF_PREFIX}{label}/{version}")) {
            Ok(Some(atom)) if !key.is_empty() => atom,
            Ok(_) => {
                refusals.push(refuse(
                    "expected `refs/atoms/_sig/<label>/<version>/<key id>`".into(),
                ));
                continue;
            }
            Err(e) => {
                refusals.push(refuse(e.to_string()));
                continue;
            }
        };
        // The atom in the same namespace as the signature.
        let commit = changes
            .iter()
            .find(|o| o.namespace == c.namespace && atom.name() == o.target.as_str())
            .and_then(|o| o.new)
            .or_else(|| {
                repository
                    .find_exact_ref(&format!("{}{}", c.namespace, atom.name()))
                    .ok()
                    .flatten()
            });
        let Some(commit) = commit else {
            refusals.push(refuse(format!("there is no atom {atom} here")));
            continue;
        };
        let reason = match store.read_tag(new) {
            Ok(Some((target, text))) if target == commit => {
                let tree = store.commit_tree_and_parents(commit).ok().map(|(t, _)| t);
                let names = tree.is_some_and(|tree| {
                    text.starts_with(crate::sign::SIGNATURE_FORMAT)
                        && text.contains(&format!("\natom {atom}\ncommit {commit}\ntree {tree}"))
                });
                (!names)
                    .then(|| format!("its message does not name {atom}, its commit and its tree"))
            }
            Ok(Some((target, _))) => Some(format!(
                "it points at {}, not at the atom commit {} of {atom}",
                target.short(12),
                commit.short(12)
            )),
            Ok(None) => Some("the tag object is missing".into()),
            Err(_) => Some("it is not a tag object".into()),
        };
        if let Some(reason) = reason {
            refusals.push(refuse(reason));
        }
    }
    refusals
}

/// The prefix of the reserved names under `refs/atoms/` (format.md, section 5).
pub const RESERVED_REF_PREFIX: &str = "refs/atoms/_";

/// The new refs under `refs/atoms/_*` among `changes` that are not well-formed for their kind:
/// `refs/atoms/_root` must be a parentless commit; `refs/atoms/_revoked/<key id>` a revocation
/// of that key ([`crate::sign::revocation_problem`]: a tag pointing at a blob holding the
/// public key, naming it, signed by it or by a key of the allowed-signers file `signers`, the
/// server's policy); any other name but `refs/atoms/_sig/...` (checked by
/// [`malformed_new_signatures`]) is refused. So no one can create a reserved ref first with
/// junk in it, which immutability would then keep. Objects are read from `store`.
pub fn malformed_reserved_refs(
    store: &GitStore,
    signers: Option<&Path>,
    changes: &[RefChange],
) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    for c in changes {
        let (None, Some(new)) = (c.old, c.new) else {
            continue;
        };
        let Some(reserved) = c.target.strip_prefix(RESERVED_REF_PREFIX) else {
            continue;
        };
        let refuse = |reason: String| {
            c.refuse(Refusal::BadReserved {
                name: c.refused_name(),
                reason,
            })
        };
        if reserved.starts_with("sig/") {
            continue;
        }
        if reserved == "root" {
            match store.commit_tree_and_parents(new) {
                Ok((_, parents)) if parents.is_empty() => {}
                Ok(_) => refusals.push(refuse(format!(
                    "{} is not a root commit (it has parents)",
                    new.short(12)
                ))),
                Err(_) => refusals.push(refuse(format!("{} is not a commit", new.short(12)))),
            }
        } else if let Some(id) = reserved.strip_prefix("revoked/") {
            if let Some(reason) = crate::sign::revocation_problem(store, id, new, signers) {
                refusals.push(refuse(reason));
            }
        } else {
            refusals.push(c.refuse(Refusal::UnknownReserved {
                name: c.refused_name(),
            }));
        }
    }
    refusals
}

/// The branches among `changes` (`refs/heads/*` being created or moved) whose commit holds an
/// atom with a missing or stale lock.
pub fn stale_locks(store: &GitStore, changes: &[RefChange]) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    for c in changes {
        let Some(new) = c.new else { continue };
        if !c.target.starts_with("refs/heads/") {
            continue;
        }
        match publish::lock_problems_at(store, new) {
            Ok(problems) => refusals.extend(problems.into_iter().map(|problem| {
                c.refuse(Refusal::StaleLock {
                    name: c.refused_name(),
                    problem,
                })
            })),
            Err(source) => refusals.push(c.refuse(Refusal::Unreadable {
                name: c.refused_name(),
                source,
            })),
        }
    }
    refusals
}

/// Which hook to install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// `pre-push`, in a repository people push from.
    PrePush,
    /// `pre-receive`, in a (bare) repository people push to.
    PreReceive,
}

impl HookKind {
    /// The hook's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            HookKind::PrePush => "pre-push",
            HookKind::PreReceive => "pre-receive",
        }
    }

    /// The hook script: it runs `git-atom` at `program` (an absolute path, so the hook works
    /// under servers whose `PATH` does not hold it).
    pub fn script(self, program: &Path) -> String {
        let quoted = format!("'{}'", program.display().to_string().replace('\'', r"'\''"));
        format!(
            "#!/bin/sh\n{HOOK_MARKER}: guards atom and subatomic refs (see `man git-atom-hook`)\n\
             exec {quoted} hook {} \"$@\"\n",
            self.file_name()
        )
    }
}

/// Why a hook could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A hook this tool did not write is in the way.
    #[error("`{path}` exists and was not installed by git atom (use --force to replace it)")]
    Exists {
        /// The hook file.
        path: PathBuf,
    },
    /// The hook file could not be written.
    #[error("cannot write `{path}`")]
    Write {
        /// The hook file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes the hook `kind` running `program` into `store`'s hooks directory (honouring
/// `core.hooksPath`), executable. A hook this tool did not write is replaced only with `force`.
/// Returns the hook's path.
pub fn install(
    store: &GitStore,
    kind: HookKind,
    program: &Path,
    force: bool,
) -> Result<PathBuf, InstallError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = store.hooks_dir()?;
    let path = dir.join(kind.file_name());
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !force && !existing.contains(HOOK_MARKER) {
            return Err(InstallError::Exists { path });
        }
    } else if path.exists() && !force {
        return Err(InstallError::Exists { path });
    }
    let write = |path: &Path| -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let tmp = path.with_extension("atom-tmp");
        std::fs::write(&tmp, kind.script(program))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&tmp, path)
    };
    write(&path).map_err(|source| InstallError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn inputs() {
        let pre_receive = format!("{Z} {A} refs/atoms/foo/1.0.0\n{A} {Z} refs/heads/x\n");
        let changes = parse_pre_receive(pre_receive.as_bytes()).unwrap();
        assert_eq!(changes[0].old, None);
        assert_eq!(changes[0].new, Some(A.parse().unwrap()));
        assert_eq!(changes[1].new, None);
        let pre_push = format!("(delete) {Z} refs/atoms/foo/1.0.0 {A}\n");
        let changes = parse_pre_push(pre_push.as_bytes()).unwrap();
        assert_eq!(
            changes,
            [RefChange::new(
                "refs/atoms/foo/1.0.0",
                Some(A.parse().unwrap()),
                None,
                None
            )]
        );
        assert!(parse_pre_push("one two\n".as_bytes()).is_err());
        assert!(parse_pre_receive(format!("{A} nothex refs/x\n").as_bytes()).is_err());
    }

    #[test]
    fn only_creation_of_guarded_refs_is_allowed() {
        let change = |name: &str, old: &str, new: &str| {
            RefChange::new(
                name,
                oid_or_zero(old).unwrap(),
                oid_or_zero(new).unwrap(),
                None,
            )
        };
        let changes = [
            change("refs/atoms/foo/1.0.0", Z, A),        // create: allowed
            change("refs/atoms/foo/1.0.1", A, B),        // update: refused
            change("refs/subs/x", A, Z),                 // delete: refused
            change("refs/atoms/_root", A, B),            // identity: refused
            change("refs/heads/main", A, B),             // a branch: not guarded
            change("refs/heads/gone", A, Z),             // a branch: not guarded
            change("refs/atoms/_sig/foo/1.0.0/k", A, Z), // revoking a signature: allowed
        ];
        let refused: Vec<String> = immutable_refs(&changes)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            refused,
            [
                "refusing to update `refs/atoms/foo/1.0.1` (111111111111 -> 222222222222): published atoms and subatomics are immutable",
                "refusing to delete `refs/subs/x` (111111111111): published atoms and subatomics are immutable",
                "refusing to update `refs/atoms/_root` (111111111111 -> 222222222222): published atoms and subatomics are immutable",
            ]
        );
    }

    #[test]
    fn namespaces_are_split_off_nested_too() {
        assert_eq!(
            split_namespaces("refs/namespaces/t/refs/atoms/foo/1.0.0"),
            ("refs/namespaces/t/", "refs/atoms/foo/1.0.0")
        );
        assert_eq!(
            split_namespaces("refs/namespaces/a/refs/namespaces/b/refs/subs/x"),
            ("refs/namespaces/a/refs/namespaces/b/", "refs/subs/x")
        );
        assert_eq!(
            split_namespaces("refs/atoms/foo/1.0.0"),
            ("", "refs/atoms/foo/1.0.0")
        );
        assert_eq!(
            split_namespaces("refs/namespaces/t"),
            ("", "refs/namespaces/t")
        );
        assert_eq!(namespace_prefix("t"), "refs/namespaces/t/");
        assert_eq!(
            namespace_prefix("a//b/"),
            "refs/namespaces/a/refs/namespaces/b/"
        );
        assert_eq!(namespace_prefix(""), "");
    }

    #[test]
    fn namespaced_atom_refs_are_guarded_as_the_plain_ones() {
        let change = |name: &str, old: &str, new: &str| {
            RefChange::new(
                name,
                oid_or_zero(old).unwrap(),
                oid_or_zero(new).unwrap(),
                None,
            )
        };
        let changes = [
            change("refs/namespaces/t/refs/atoms/foo/1.0.0", A, B),
            change("refs/namespaces/a/refs/namespaces/b/refs/atoms/_root", A, Z),
            change("refs/namespaces/t/refs/subs/x", A, B),
            change("refs/namespaces/t/refs/eka/atoms/foo/1.0.0", A, Z),
            change("refs/namespaces/t/refs/heads/main", A, B), // a branch: not guarded
            change("refs/namespaces/t/refs/atoms/_sig/foo/1.0.0/k", A, Z), // revoking: allowed
            change("refs/namespaces/t/refs/atoms/foo/2.0.0", Z, A), // create: allowed
        ];
        let refused: Vec<String> = immutable_refs(&changes)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            refused,
            [
                "refusing to update `refs/namespaces/t/refs/atoms/foo/1.0.0` (111111111111 -> 222222222222): published atoms and subatomics are immutable",
                "refusing to delete `refs/namespaces/a/refs/namespaces/b/refs/atoms/_root` (111111111111): published atoms and subatomics are immutable",
                "refusing to update `refs/namespaces/t/refs/subs/x` (111111111111 -> 222222222222): published atoms and subatomics are immutable",
                "refusing to delete `refs/namespaces/t/refs/eka/atoms/foo/1.0.0` (111111111111): published atoms and subatomics are immutable",
            ]
        );
    }

    /// A reader that yields `ok` and then fails.
    struct Failing<'a> {
        ok: &'a [u8],
    }

    impl std::io::Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.ok.is_empty() {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = self.ok.len().min(buf.len());
            buf[..n].copy_from_slice(&self.ok[..n]);
            self.ok = &self.ok[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_fails_closed() {
        let good = format!("{Z} {A} refs/heads/x\n");
        // The control: the same line from a reader that does not fail parses.
        assert_eq!(parse_pre_receive(good.as_bytes()).unwrap().len(), 1);
        let input = std::io::BufReader::new(Failing {
            ok: good.as_bytes(),
        });
        let err = parse_pre_receive(input).unwrap_err();
        assert_eq!(err.to_string(), "cannot read the pre-receive hook's input");
        assert!(matches!(err, InputError::Read { .. }));
        let push = format!("refs/heads/x {A} refs/heads/x {Z}\n");
        assert_eq!(parse_pre_push(push.as_bytes()).unwrap().len(), 1);
        let input = std::io::BufReader::new(Failing {
            ok: push.as_bytes(),
        });
        assert_eq!(
            parse_pre_push(input).unwrap_err().to_string(),
            "cannot read the pre-push hook's input"
        );
        // Bytes that are not UTF-8 are refused too, not skipped.
        let mut bad = format!("{Z} {A} refs/heads/").into_bytes();
        bad.extend_from_slice(b"\xff\n");
        assert!(matches!(
            parse_pre_receive(&bad[..]),
            Err(InputError::Read { .. })
        ));
    }

    /// `git` in `dir` with a sealed configuration; its trimmed stdout.
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@invalid"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GIT_DIR")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    #[test]
    fn reserved_refs_are_created_only_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        git(repo, &["init", "-q"]);
        git(repo, &["commit", "-q", "--allow-empty", "-m", "root"]);
        git(repo, &["commit", "-q", "--allow-empty", "-m", "child"]);
        let root = git(repo, &["rev-list", "--max-parents=0", "HEAD"]);
        let child = git(repo, &["rev-parse", "HEAD"]);
        let store = GitStore::discover(repo).unwrap();
        let public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOy7 alice";
        let id = crate::sign::ssh_key_id(public).unwrap();
        let blob = store.write_blob(public.as_bytes()).unwrap().to_string();
        let message = crate::sign::revocation_message(&id, public);
        git(repo, &["tag", "-a", "-m", &message, "unsigned", &blob]);
        git(
            repo,
            &[
                "tag",
                "-a",
                "-m",
                "atom-revocation 1\nkey x\npublic-key x",
                "junk",
                &blob,
            ],
        );
        git(repo, &["tag", "-a", "-m", &message, "at-commit", &child]);
        let tag = |name: &str| git(repo, &["rev-parse", &format!("refs/tags/{name}")]);
        let revoked = format!("refs/atoms/_revoked/{id}");
        let create =
            |name: &str, new: &str| RefChange::new(name, None, Some(new.parse().unwrap()), None);
        let changes = [
            create("refs/atoms/_root", &root), // a root commit: allowed
            create("refs/atoms/_sig/foo/1.0.0/k", &blob), // for malformed_new_signatures
            create("refs/atoms/foo/1.0.0", &child), // an atom: for malformed_new_atoms
            RefChange::new(&revoked, Some(A.parse().unwrap()), None, None), // not a creation
            create("refs/namespaces/t/refs/atoms/_root", &child),
            create(&revoked, &blob),
            create(&revoked, &child),
            create(&revoked, &tag("at-commit")),
            create(&revoked, &tag("junk")),
            create(
                &format!("refs/atoms/_revoked/{}", &id[..31]),
                &tag("unsigned"),
            ),
            create(&revoked, &tag("unsigned")),
            create("refs/atoms/_foo", &child),
            create("refs/namespaces/t/refs/atoms/_root/x", &root),
        ];
        let refused: Vec<String> = malformed_reserved_refs(&store, None, &changes)
            .iter()
            .map(ToString::to_string)
            .collect();
        let short = |oid: &str| oid[..12].to_owned();
        let unknown = "not a reserved name of the atom format (`refs/atoms/_root`, \
                       `refs/atoms/_sig/<label>/<version>/<key id>`, \
                       `refs/atoms/_revoked/<key id>`); labels cannot start with `_`";
        assert_eq!(
            refused,
            [
                format!(
                    "refusing new reserved ref `refs/namespaces/t/refs/atoms/_root`: {} is \
                     not a root commit (it has parents)",
                    short(&child)
                ),
                format!("refusing new reserved ref `{revoked}`: it is not a tag object"),
                format!("refusing new reserved ref `{revoked}`: it is not a tag object"),
                format!(
                    "refusing new reserved ref `{revoked}`: it points at {}, not at a blob \
                     holding the revoked public key",
                    short(&child)
                ),
                format!(
                    "refusing new reserved ref `{revoked}`: its message does not revoke the \
                     key {id}"
                ),
                format!(
                    "refusing new reserved ref `refs/atoms/_revoked/{}`: `{}` is not an ssh \
                     key id (32 lower-case hex digits)",
                    &id[..31],
                    &id[..31]
                ),
                // Well-formed but unsigned: only the signature is missing.
                format!(
                    "refusing new reserved ref `{revoked}`: it is not signed by the key {id} \
                     it revokes (nor by a key of the server's `atom.revocationSigners`)"
                ),
                format!("refusing new ref `refs/atoms/_foo`: {unknown}"),
                format!("refusing new ref `refs/namespaces/t/refs/atoms/_root/x`: {unknown}"),
            ]
        );
    }

    #[test]
    fn scripts_quote_the_program() {
        let script = HookKind::PreReceive.script(Path::new("/opt/it's/git-atom"));
        assert!(
            script.ends_with("exec '/opt/it'\\''s/git-atom' hook pre-receive \"$@\"\n"),
            "{script}"
        );
        assert!(script.starts_with("#!/bin/sh\n"));
    }
}
