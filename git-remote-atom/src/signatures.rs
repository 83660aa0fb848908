//! Signature refs in clones: with `atom.requireSignature` set, fetching an atom through the
//! helper also brings its signature refs (`refs/atoms/_sig/<label>/<version>/*`) and the
//! repository's revocations (`refs/atoms/_revoked/*`), so `git atom verify --signed` works in
//! the clone. Admission ([`atom_lib::admit`]) has checked that each atom carries one that
//! counts before anything was written; this brings the rest (every signature of the atoms,
//! every revocation), which `verify --signed` checks again later.

use atom_lib::sign::{sig_prefix, REVOKED_REF_PREFIX};
use atom_lib::{AtomRef, Oid, StoreError};

use crate::remote::Remote;

impl Remote {
    /// Fetches the signature refs of `atoms` and the revocations into the local repository,
    /// under the same names, when `atom.requireSignature` is true.
    pub(crate) fn fetch_signatures(&self, atoms: &[(AtomRef, Oid)]) -> Result<(), StoreError> {
        let required = self
            .store
            .config()?
            .bool("atom.requiresignature")
            .unwrap_or(false);
        if !required || atoms.is_empty() {
            return Ok(());
        }
        let mut specs: Vec<String> = atoms
            .iter()
            .map(|(atom, _)| {
                let prefix = sig_prefix(atom);
                format!("+{prefix}*:{prefix}*")
            })
            .collect();
        specs.push(format!("+{REVOKED_REF_PREFIX}*:{REVOKED_REF_PREFIX}*"));
        self.say(
            2,
            "atom: fetching signature refs (atom.requireSignature is set)",
        );
        self.store.fetch_refs(&self.url(), &specs, self.verbosity)
    }
}
