//! The local repository sync works in: a fresh bare repository in a private temporary
//! directory (removed on drop), or an existing repository given with `--git-dir`.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use gix::ObjectId;

use super::Error;

/// A directory removed, with its contents, when dropped.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A new `0700` directory under the system temporary directory.
    pub fn new(prefix: &str) -> Result<TempDir, Error> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let mut last_error = None;
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("{prefix}-{}-{nanos:x}-{n}", std::process::id()));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            match builder.create(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
                Err(source) => return Err(Error::TempDir { path: base, source }),
            }
        }
        Err(Error::TempDir {
            path: base,
            source: last_error
                .unwrap_or_else(|| std::io::Error::other("no free temporary directory name")),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Where sync keeps objects.
pub struct Workspace {
    pub(crate) repo: gix::Repository,
    /// True for the temporary repository: it may hold commits without their trees (a
    /// `tree:0` fetch), and nothing in it outlives the run.
    pub(crate) temporary: bool,
    _temp: Option<TempDir>,
}

impl Workspace {
    /// A fresh bare repository in a new temporary directory, isolated from any user or
    /// system git configuration.
    pub fn temporary() -> Result<Workspace, Error> {
        let temp = TempDir::new("shipgate-sync")?;
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

    /// The commits on the shallow boundary (their parents are not present).
    pub fn shallow_commits(&self) -> Result<HashSet<ObjectId>, Error> {
        let path = self.git_dir().join("shallow");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
            Err(e) => {
                return Err(self.local_error("read the shallow file", e));
            }
        };
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                ObjectId::from_hex(line.as_bytes()).map_err(|e| {
                    self.local_error("read the shallow file", std::io::Error::other(e))
                })
            })
            .collect()
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

    pub(crate) fn local_error(&self, action: &'static str, error: std::io::Error) -> Error {
        Error::Local {
            action,
            path: self.git_dir().to_owned(),
            source: gix::Error::from_error(error),
        }
    }
}
