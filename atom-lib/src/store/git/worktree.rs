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

    /// The `file_name` files of the working tree that are not committed (untracked or added but
    /// not committed, not ignored), relative to the repository root. Empty for a bare
    /// repository.
    pub fn uncommitted_files_named(&self, file_name: &str) -> Result<Vec<String>, StoreError> {
        if self.work_dir().is_none() {
            return Ok(Vec::new());
        }
        let stdout = self
            .git("status")
            .args(["--porcelain=v1", "-z", "--untracked-files=all", "--"])
            .arg(format!(":(top,glob)**/{file_name}"))
            .run()?;
        Ok(command::parse_status_z(&stdout))
    }

    /// Moves the current branch and the working tree to `commit` as `git reset --keep` does:
    /// local changes are kept, and nothing happens if a changed file would be overwritten.
    pub fn reset_keep(&self, commit: crate::Oid) -> Result<(), StoreError> {
        self.git("reset")
            .args(["--quiet", "--keep"])
            .arg(commit.to_string())
            .run()?;
        Ok(())
    }
}
