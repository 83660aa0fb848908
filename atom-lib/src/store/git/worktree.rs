//! The state of the working tree.

use super::{command, GitStore, StoreError};

/// A `git status` of the working tree running on its own thread (see
/// [`GitStore::start_uncommitted_files`]). Dropped unanswered, it still waits for git to end.
#[derive(Debug)]
pub struct Uncommitted {
    handle: Option<std::io::Result<StatusThread>>,
}

/// The thread running `git status`, answering its output.
type StatusThread = std::thread::JoinHandle<Result<Vec<u8>, StoreError>>;

impl Uncommitted {
    /// The paths `git status` reports, as [`GitStore::uncommitted_files`] gives them.
    pub fn wait(mut self) -> Result<Vec<String>, StoreError> {
        let stdout = match self.handle.take() {
            None => return Ok(Vec::new()),
            Some(Err(e)) => return Err(command::spawn_error("status")(e)),
            Some(Ok(thread)) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
        };
        Ok(command::parse_status_z(&stdout))
    }
}

impl Drop for Uncommitted {
    fn drop(&mut self) {
        if let Some(Ok(thread)) = self.handle.take() {
            let _ = thread.join();
        }
    }
}

impl GitStore {
    /// Every path of the working tree that differs from `HEAD` (tracked changes, staged or not,
    /// untracked files, not ignored ones, submodules included), relative to the repository
    /// root: one `git status` of the whole tree, whatever the number of atoms it holds. Empty
    /// for a bare repository.
    pub fn uncommitted_files(&self) -> Result<Vec<String>, StoreError> {
        self.start_uncommitted_files().wait()
    }

    /// [`uncommitted_files`](Self::uncommitted_files), started now and answered by
    /// [`Uncommitted::wait`]: `git status` walks the whole tree (at 10,000 atoms, as long as
    /// the rest of a publish's plan), so the plan is made while it runs.
    pub fn start_uncommitted_files(&self) -> Uncommitted {
        let git = self.work_dir().map(|_| {
            self.git("status").args([
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--ignore-submodules=none",
            ])
        });
        let handle = git.map(|git| {
            std::thread::Builder::new()
                .name("atom-status".into())
                .spawn(move || git.run())
        });
        Uncommitted { handle }
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

impl GitStore {
    /// The tree the directory `dir` (relative to the repository's root) would have if
    /// everything in it were committed now: tracked changes and untracked files included,
    /// ignored files not, as `git add -A` sees them. Written with a temporary index, so the
    /// user's index is untouched; the objects it writes are unreferenced until committed.
    /// `None` for a bare repository, or when nothing is there. An empty `dir` is the whole
    /// repository.
    pub fn working_tree_of(&self, dir: &str) -> Result<Option<crate::Oid>, StoreError> {
        if self.work_dir().is_none() {
            return Ok(None);
        }
        let index = tempfile::Builder::new()
            .prefix("atom-index-")
            .tempfile_in(self.git_dir())
            .map_err(|source| StoreError::Scratch { source })?;
        let real = self.git_dir().join("index");
        if real.is_file() {
            std::fs::copy(&real, index.path()).map_err(|source| StoreError::Scratch { source })?;
        }
        let (pathspec, prefix) = if dir.is_empty() {
            (":(top)".to_owned(), Vec::new())
        } else {
            (
                format!(":(top,literal){dir}"),
                vec![format!("--prefix={dir}/")],
            )
        };
        self.git("add")
            .env("GIT_INDEX_FILE", index.path())
            .args(["-A", "--"])
            .arg(pathspec)
            .run()?;
        let out = self
            .git("write-tree")
            .env("GIT_INDEX_FILE", index.path())
            .args(prefix)
            .output()?;
        if !out.status.success() {
            // `--prefix` names a directory the index does not have.
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text.trim().parse().ok())
    }
}
