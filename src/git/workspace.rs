//! The local repository sync works in: a fresh bare repository in a private temporary
//! directory (removed on drop), or an existing repository given with `--git-dir`.

use std::{collections::HashSet, path::Path};

use gix::ObjectId;

use super::Error;

/// Where sync keeps objects.
pub struct Workspace {
    pub(crate) repo: gix::Repository,
    /// True for the temporary repository: it may hold commits without their trees (a
    /// `tree:0` fetch), and nothing in it outlives the run.
    pub(crate) temporary: bool,
    _temp: Option<tempfile::TempDir>,
}

impl Workspace {
    /// A fresh bare repository in a new temporary directory, isolated from any user or
    /// system git configuration.
    pub fn temporary() -> Result<Workspace, Error> {
        // A random name under TMPDIR, private to the runner's user, removed with its
        // contents on drop.
        let mut builder = tempfile::Builder::new();
        builder.prefix("shipgate-sync-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let temp = builder.tempdir().map_err(|source| Error::TempDir {
            path: std::env::temp_dir(),
            source,
        })?;
        let path = temp.path().join("repo.git");
        let repo = gix::ThreadSafeRepository::init_opts(
            &path,
            gix::create::Kind::Bare,
            gix::create::Options::default(),
            gix::open::Options::isolated(),
        )
        .map_err(|source| Error::Local {
            action: "initialise a bare repository",
            path: path.clone(),
            source,
        })?
        .to_thread_local();
        Ok(Workspace {
            repo,
            temporary: true,
            _temp: Some(temp),
        })
    }

    /// An existing repository (a runner's checkout or a bare mirror), fetched into
    /// incrementally. Its own branches are never changed.
    pub fn open(path: &Path) -> Result<Workspace, Error> {
        let repo = gix::open_opts(path, gix::open::Options::isolated()).map_err(|source| {
            Error::Local {
                action: "open the repository given with --git-dir",
                path: path.to_owned(),
                source,
            }
        })?;
        Ok(Workspace {
            repo,
            temporary: false,
            _temp: None,
        })
    }

    pub fn repo(&self) -> &gix::Repository {
        &self.repo
    }

    /// The repository's git directory.
    pub fn git_dir(&self) -> &Path {
        self.repo.git_dir()
    }

    /// The commits on the shallow boundary (their parents are not present), as gix reads
    /// the repository's `shallow` file.
    pub fn shallow_commits(&self) -> Result<HashSet<ObjectId>, Error> {
        let commits = self
            .repo
            .shallow_commits()
            .map_err(|e| self.local_error("read the shallow file", e))?;
        // gix answers `None` only when there is no shallow file (the repository is not
        // shallow); an unreadable or malformed one is the error above.
        Ok(commits.map_or_else(HashSet::new, |commits| commits.iter().copied().collect()))
    }

    /// Tips of every local ref: what to offer the server as `have`s in an incremental fetch.
    pub fn local_tips(&self, limit: usize) -> Vec<ObjectId> {
        let mut tips = Vec::new();
        if let Ok(platform) = self.repo.references() {
            if let Ok(all) = platform.all() {
                for reference in all.flatten() {
                    if let Ok(id) = reference.into_fully_peeled_id() {
                        let id = id.detach();
                        if !tips.contains(&id) && self.repo.find_commit(id).is_ok() {
                            tips.push(id);
                        }
                    }
                    if tips.len() >= limit {
                        break;
                    }
                }
            }
        }
        tips
    }

    /// Remember fetched tips under `refs/shipgate/` so the next incremental run can offer
    /// them as `have`s (only for `--git-dir`; the temporary repository is thrown away).
    pub fn remember(&self, branch: &str, id: ObjectId) -> Result<(), Error> {
        if self.temporary {
            return Ok(());
        }
        let name = format!("refs/shipgate/remote/{branch}");
        self.repo
            .reference(
                name.as_str(),
                id,
                gix::refs::transaction::PreviousValue::Any,
                "shipgate sync: fetched",
            )
            .map(|_| ())
            .map_err(|source| Error::Local {
                action: "record the fetched tip",
                path: self.git_dir().to_owned(),
                source,
            })
    }

    /// `action` failed in this repository.
    pub(crate) fn local_error(&self, action: &'static str, source: gix::Error) -> Error {
        Error::Local {
            action,
            path: self.git_dir().to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Workspace;

    /// The temporary repository lives in a private directory that goes with it.
    #[test]
    fn the_temporary_repository_is_private_and_removed_on_drop() {
        let workspace = Workspace::temporary().expect("a temporary repository");
        let dir = workspace
            .git_dir()
            .parent()
            .expect("repo.git has a parent")
            .to_owned();
        assert!(dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("shipgate-sync-")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        }
        drop(workspace);
        assert!(!dir.exists(), "{} outlived the workspace", dir.display());
    }

    /// No `shallow` file is no boundary; each line of one is a boundary commit; a line that
    /// is not an object id is an error, never an empty boundary.
    #[test]
    fn the_shallow_boundary_is_read_from_the_shallow_file() {
        let workspace = Workspace::temporary().expect("a temporary repository");
        assert!(workspace.shallow_commits().expect("reads").is_empty());
        let (a, b) = (
            "1111111111111111111111111111111111111111",
            "2222222222222222222222222222222222222222",
        );
        let file = workspace.git_dir().join("shallow");
        std::fs::write(&file, format!("{b}\n{a}\n")).expect("write");
        let boundary = workspace.shallow_commits().expect("reads");
        assert_eq!(boundary.len(), 2);
        assert!(boundary.contains(&gix::ObjectId::from_hex(a.as_bytes()).expect("hex")));
        let other = Workspace::temporary().expect("a temporary repository");
        std::fs::write(other.git_dir().join("shallow"), "not-an-id\n").expect("write");
        assert!(other.shallow_commits().is_err());
    }
}
