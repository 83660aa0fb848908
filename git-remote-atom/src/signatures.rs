//! Signature refs in clones: with `atom.requireSignature` set, fetching an atom through the
//! helper also brings its signature refs (`refs/atoms/_sig/<label>/<version>/*`) and the
//! repository's revocations (`refs/atoms/_revoked/*`), so `git atom verify --signed` works in
//! the clone. Admission ([`atom_lib::admit`]) has checked that each atom carries one that
//! counts before anything was written; this brings the rest (every signature of the atoms,
//! every revocation), which `verify --signed` checks again later.

use atom_lib::refs::Refspec;
use atom_lib::sign::{revoked_dir, sig_dir, Policy};
use atom_lib::{AtomRef, Oid, StoreError};

use crate::remote::Remote;

impl Remote {
    /// Fetches the signature refs of `atoms` and the revocations into the local repository,
    /// under the same names, when `policy` requires signatures (`atom.requireSignature`).
    pub(crate) fn fetch_signatures(
        &self,
        policy: &Policy,
        atoms: &[(AtomRef, Oid)],
    ) -> Result<(), StoreError> {
        if !policy.required() || atoms.is_empty() {
            return Ok(());
        }
        let mut specs: Vec<Refspec> = atoms
            .iter()
            .map(|(atom, _)| Refspec::Mirror(sig_dir(atom)))
            .collect();
        specs.push(Refspec::Mirror(revoked_dir()));
        self.say(
            2,
            "atom: fetching signature refs (atom.requireSignature is set)",
        );
        self.store.fetch_refs(&self.url(), &specs, self.verbosity)
    }
}
