//! Changed files from git with gix: the diff between the merge base of base and head, and
//! head (what Gitea shows for a pull request), with renames detected as `git diff -M`
//! does and lines counted per file with gix's blob diff. Also reads the policy files at
//! the base commit. Blocking; run it on `spawn_blocking` from async code.

use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;

use super::{
    policy::{ChangeKind, FileChange},
    Error,
};

/// What `--local` / `--from-git` read from the repository.
#[derive(Debug, Clone)]
pub struct LocalFacts {
    /// The directory of the repository that was opened.
    pub repo_dir: PathBuf,
    /// The base as given, and what it resolved to (`origin/main` when `main` did not).
    pub base_spec: String,
    pub base_resolved: String,
    pub base: String,
    pub head_spec: String,
    pub head: String,
    pub merge_base: String,
    pub files: Vec<FileChange>,
    /// `.gitea/shipgate.yml` at the base commit, when asked for and present.
    pub config: Option<Vec<u8>>,
    /// `.gitattributes` at the base commit, when present.
    pub gitattributes: Option<Vec<u8>>,
}

/// Which files to read at the base commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub config: bool,
    pub gitattributes: bool,
}

/// Open the repository at (or above) `repo_dir`, resolve `base` and `head`, diff and read
/// the policy files at the base commit.
pub fn gather(repo_dir: &Path, base: &str, head: &str, read: Read) -> Result<LocalFacts, Error> {
    let repo = gix::discover(repo_dir).map_err(|e| Error::NoRepository {
        dir: repo_dir.to_owned(),
        why: e.to_string(),
    })?;
    let (base_resolved, base_id) = resolve(&repo, base, true)?;
    let (_, head_id) = resolve(&repo, head, false)?;
    let merge_base = repo
        .merge_base(base_id, head_id)
        .map_err(|e| Error::MergeBase {
            base: base.to_owned(),
            head: head.to_owned(),
            why: e.to_string(),
        })?
        .ok_or_else(|| Error::NoCommonHistory {
            base: base.to_owned(),
            head: head.to_owned(),
        })?
        .detach();
    let files = diff(&repo, merge_base, head_id)?;
    let config = if read.config {
        blob_at(&repo, base_id, crate::config::DEFAULT_PATH)?
    } else {
        None
    };
    let gitattributes = if read.gitattributes {
        blob_at(&repo, base_id, ".gitattributes")?
    } else {
        None
    };
    Ok(LocalFacts {
        repo_dir: {
            let dir = repo.workdir().unwrap_or_else(|| repo.git_dir());
            std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
        },
        base_spec: base.to_owned(),
        base_resolved,
        base: base_id.to_string(),
        head_spec: head.to_owned(),
        head: head_id.to_string(),
        merge_base: merge_base.to_string(),
        files,
        config,
        gitattributes,
    })
}

/// A revision to a commit id. For the base, `origin/<rev>` is tried when `<rev>` does not
/// resolve (a CI checkout often has only the remote-tracking branch).
fn resolve(
    repo: &gix::Repository,
    spec: &str,
    try_remote: bool,
) -> Result<(String, gix::ObjectId), Error> {
    let attempt = |spec: &str| -> Result<gix::ObjectId, String> {
        let id = repo
            .rev_parse_single(spec.as_bytes().as_bstr())
            .map_err(|e| e.to_string())?;
        let commit = id
            .object()
            .map_err(|e| e.to_string())?
            .peel_to_commit()
            .map_err(|e| e.to_string())?;
        Ok(commit.id)
    };
    match attempt(spec) {
        Ok(id) => Ok((spec.to_owned(), id)),
        Err(first) => {
            let remote = format!("origin/{spec}");
            if try_remote && !spec.starts_with("origin/") {
                if let Ok(id) = attempt(&remote) {
                    return Ok((remote, id));
                }
            }
            Err(Error::Revision {
                spec: spec.to_owned(),
                flag: if try_remote { "--base" } else { "--head" },
                why: first,
            })
        }
    }
}

/// The files changed from `from` to `to`, renames detected, lines counted.
pub fn diff(
    repo: &gix::Repository,
    from: gix::ObjectId,
    to: gix::ObjectId,
) -> Result<Vec<FileChange>, Error> {
    let tree_of = |id: gix::ObjectId| {
        repo.find_commit(id)
            .and_then(|c| c.tree())
            .map_err(|e| Error::Tree {
                id: id.to_string(),
                why: e.to_string(),
            })
    };
    let (old, new) = (tree_of(from)?, tree_of(to)?);
    let mut lines_cache = repo
        .diff_resource_cache_for_tree_diff()
        .map_err(|e| Error::DiffSetup { why: e.to_string() })?;
    let mut files = Vec::new();
    let mut changes = old
        .changes()
        .map_err(|e| Error::DiffSetup { why: e.to_string() })?;
    changes.options(|o| {
        o.track_path()
            .track_rewrites(Some(gix::diff::Rewrites::default()));
    });
    changes
        .for_each_to_obtain_tree(&new, |change| {
            if let Some(file) = file_change(&change, &mut lines_cache)? {
                files.push(file);
            }
            lines_cache.clear_resource_cache_keep_allocation();
            Ok(std::ops::ControlFlow::Continue(()))
        })
        .map_err(|e| Error::Diff {
            from: from.to_string(),
            to: to.to_string(),
            why: e.to_string(),
        })?;
    Ok(files)
}

fn file_change(
    change: &gix::object::tree::diff::Change<'_, '_, '_>,
    cache: &mut gix::diff::blob::Platform,
) -> gix::Result<Option<FileChange>> {
    use gix::object::tree::diff::Change;
    let mode = change.entry_mode();
    if mode.is_tree() {
        return Ok(None);
    }
    let path = change.location().to_str_lossy().into_owned();
    let (status, previous, previous_mode) = match change {
        Change::Addition { .. } => (ChangeKind::Added, None, None),
        Change::Deletion { .. } => (ChangeKind::Deleted, None, None),
        Change::Modification {
            previous_entry_mode,
            ..
        } => {
            if previous_entry_mode.is_tree() {
                (ChangeKind::Added, None, None)
            } else {
                (ChangeKind::Changed, None, Some(*previous_entry_mode))
            }
        }
        Change::Rewrite {
            source_location,
            source_entry_mode,
            copy,
            ..
        } => (
            if *copy {
                ChangeKind::Copied
            } else {
                ChangeKind::Renamed
            },
            Some(source_location.to_str_lossy().into_owned()),
            Some(*source_entry_mode),
        ),
    };
    // A submodule has no blob to diff: count it like git's numstat, one line per side.
    let submodule = mode.is_commit() || previous_mode.is_some_and(|m| m.is_commit());
    let (additions, deletions) = if submodule {
        match status {
            ChangeKind::Added => (1, 0),
            ChangeKind::Deleted => (0, 1),
            _ => (1, 1),
        }
    } else {
        match change.diff(cache)?.line_counts()? {
            Some(stats) => (u64::from(stats.insertions), u64::from(stats.removals)),
            // Binary on either side: no lines, like Gitea and `git diff --numstat`.
            None => (0, 0),
        }
    };
    Ok(Some(FileChange {
        path,
        previous,
        status,
        additions,
        deletions,
    }))
}

/// A file's bytes at a commit; `None` when the path does not exist there.
pub fn blob_at(
    repo: &gix::Repository,
    commit: gix::ObjectId,
    path: &str,
) -> Result<Option<Vec<u8>>, Error> {
    let at = crate::sha::short(&commit.to_string()).to_owned();
    let unreadable = |e: &dyn std::fmt::Display| Error::Blob {
        path: path.to_owned(),
        at: at.clone(),
        why: e.to_string(),
    };
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| unreadable(&e))?;
    let Some(entry) = tree
        .lookup_entry_by_path(path)
        .map_err(|e| unreadable(&e))?
    else {
        return Ok(None);
    };
    if !entry.mode().is_blob() {
        return Err(Error::NotAFile {
            path: path.to_owned(),
            at,
        });
    }
    let object = entry.object().map_err(|e| unreadable(&e))?;
    Ok(Some(object.data.clone()))
}
