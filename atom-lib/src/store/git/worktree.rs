//! The state of the working tree.

use super::{command, GitStore, StoreError};

impl GitStore {
    /// Paths under `dirs` with uncommitted changes (staged, unstaged or untracked, not ignored),
    /// relative to the repository root. Empty for a bare repository.
    pub fn uncommitted_paths(&self, dirs: &[&str]) -> Result<Vec<String>, StoreError> {
        if self.work_dir().is_none() || dirs.is_empty() {
            return Ok(Vec::new());
        }
        let stdout = self
            .git("status")
            .args([
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--ignore-submodules=none",
                "--",
            ])
            .args(dirs.iter().map(|dir| format!(":(top,literal){dir}")))
            .run()?;
        Ok(command::parse_status_z(&stdout))
    }
}
