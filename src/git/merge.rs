//! Ancestry facts, the in-memory merge, the merge commit and the objects a push must carry.

use std::collections::{BTreeSet, HashMap, HashSet};

use gix::{
    bstr::{BString, ByteSlice},
    merge::tree::TreatAsUnresolved,
    objs::tree::EntryMode,
    ObjectId,
};

use super::graph::{self, History};
use crate::config::Identity;

/// Commits of a repository as [`graph::History`], with the shallow boundary marked.
pub struct RepoHistory<'a> {
    repo: &'a gix::Repository,
    shallow: &'a HashSet<ObjectId>,
    /// Commits read so far.
    pub reads: usize,
}

impl<'a> RepoHistory<'a> {
    pub fn new(repo: &'a gix::Repository, shallow: &'a HashSet<ObjectId>) -> Self {
        RepoHistory {
            repo,
            shallow,
            reads: 0,
        }
    }
}

impl History for RepoHistory<'_> {
    type Id = ObjectId;
    type Error = gix::Error;

    fn commit(&mut self, id: ObjectId) -> Result<graph::Commit<ObjectId>, gix::Error> {
        self.reads += 1;
        let commit = self.repo.find_commit(id)?;
        Ok(graph::Commit {
            parents: commit.parent_ids().map(gix::Id::detach).collect(),
            time: commit.time()?.seconds,
            shallow: self.shallow.contains(&id),
        })
    }
}

/// The tree a commit points to.
pub fn tree_of(repo: &gix::Repository, commit: ObjectId) -> gix::Result<ObjectId> {
    Ok(repo.find_commit(commit)?.tree_id()?.detach())
}

/// One tree's entries by name.
fn entries(
    repo: &gix::Repository,
    tree: Option<ObjectId>,
) -> gix::Result<HashMap<BString, (EntryMode, ObjectId)>> {
    let Some(tree) = tree else {
        return Ok(HashMap::new());
    };
    let tree = repo.find_tree(tree)?;
    let decoded = tree.decode()?;
    Ok(decoded
        .entries
        .iter()
        .map(|e| (e.filename.to_owned(), (e.mode, e.oid.to_owned())))
        .collect())
}

/// Every blob id on either side of a difference between two trees (old and new
/// contents, whole subtrees when added or removed). Submodules are skipped.
pub fn changed_blobs(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    out: &mut BTreeSet<ObjectId>,
) -> gix::Result<()> {
    if old == new {
        return Ok(());
    }
    let old_entries = entries(repo, old)?;
    let new_entries = entries(repo, new)?;
    let names: BTreeSet<&BString> = old_entries.keys().chain(new_entries.keys()).collect();
    for name in names {
        let a = old_entries.get(name);
        let b = new_entries.get(name);
        if a == b {
            continue;
        }
        let subtree =
            |e: Option<&(EntryMode, ObjectId)>| e.filter(|(m, _)| m.is_tree()).map(|(_, id)| *id);
        for (mode, id) in [a, b].into_iter().flatten() {
            if mode.is_blob_or_symlink() {
                out.insert(*id);
            }
        }
        let (ta, tb) = (subtree(a), subtree(b));
        if ta.is_some() || tb.is_some() {
            changed_blobs(repo, ta, tb, out)?;
        }
    }
    Ok(())
}

/// The result of merging `from` into `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The merged tree, written; `None` when there are conflicts.
    pub tree: Option<ObjectId>,
    /// Paths with unresolved conflicts (git's definition), sorted.
    pub conflicts: Vec<String>,
}

fn labels<'a>(from: &'a str, to: &'a str) -> gix::merge::blob::builtin_driver::text::Labels<'a> {
    gix::merge::blob::builtin_driver::text::Labels {
        ancestor: Some("merge base".into()),
        current: Some(to.as_bytes().as_bstr()),
        other: Some(from.as_bytes().as_bstr()),
    }
}

/// Three-way merge of trees: ours is `to` (staging), theirs is `from` (main).
///
/// Uses gix-merge's plumbing rather than `Repository::merge_trees` because the latter's
/// tree writer insists that every entry exists locally, and a partial (`blob:none`)
/// repository deliberately lacks the blobs nobody changed: they stay on the server.
pub fn merge_trees(
    repo: &gix::Repository,
    base_tree: ObjectId,
    to_tree: ObjectId,
    from_tree: ObjectId,
    from: &str,
    to: &str,
) -> gix::Result<Merged> {
    let options = repo.tree_merge_options()?;
    let mut diff_cache = repo.diff_resource_cache_for_tree_diff()?;
    let mut blob_merge = repo.merge_resource_cache(Default::default())?;
    let mut outcome = gix::merge::plumbing::tree(
        &base_tree,
        &to_tree,
        &from_tree,
        labels(from, to),
        repo,
        |buf| repo.write_blob(buf).map(gix::Id::detach),
        &mut Default::default(),
        &mut diff_cache,
        &mut blob_merge,
        options.into(),
    )?;
    let how = TreatAsUnresolved::git();
    if outcome.has_unresolved_conflicts(how) {
        return Ok(Merged {
            tree: None,
            conflicts: conflict_paths(&outcome.conflicts, how),
        });
    }
    let tree = outcome
        .tree
        .write(|tree| repo.write_object(tree).map(gix::Id::detach))?;
    Ok(Merged {
        tree: Some(tree),
        conflicts: Vec::new(),
    })
}

fn conflict_paths(conflicts: &[gix::merge::tree::Conflict], how: TreatAsUnresolved) -> Vec<String> {
    let paths: BTreeSet<String> = conflicts
        .iter()
        .filter(|c| c.is_unresolved(how))
        .flat_map(|c| [c.ours.location(), c.theirs.location()])
        .map(|p| p.to_str_lossy().into_owned())
        .filter(|p| !p.is_empty())
        .collect();
    paths.into_iter().collect()
}

/// Merge commits whose history has several merge bases (criss-cross), the way git's
/// recursive/ort strategy does: merge the merge bases into a *virtual* base (recursively,
/// oldest first), keeping text conflicts **as conflict markers** inside it, taking the
/// ancestor for tree and binary conflicts; then merge the tips against that base.
///
/// gix's own `merge_commits` resolves text conflicts of the virtual base with *ours*
/// instead, which can silently drop one side's earlier conflict resolution where git
/// reports a conflict; sync must not push such a merge. Needs the full history.
pub fn merge_recursive(
    repo: &gix::Repository,
    to_commit: ObjectId,
    from_commit: ObjectId,
    bases: &[ObjectId],
    from: &str,
    to: &str,
) -> gix::Result<Merged> {
    let base_tree = virtual_base(repo, bases, 1)?;
    merge_trees(
        repo,
        base_tree,
        tree_of(repo, to_commit)?,
        tree_of(repo, from_commit)?,
        from,
        to,
    )
}

/// The tree of the virtual merge base of `bases` (commits), at recursion `depth` (≥ 1).
fn virtual_base(repo: &gix::Repository, bases: &[ObjectId], depth: u8) -> gix::Result<ObjectId> {
    let mut ordered: Vec<(i64, ObjectId)> = bases
        .iter()
        .map(|id| Ok((repo.find_commit(*id)?.time()?.seconds, *id)))
        .collect::<gix::Result<_>>()?;
    ordered.sort();
    let Some(((_, first), rest)) = ordered.split_first() else {
        return Ok(ObjectId::empty_tree(repo.object_hash()));
    };
    let mut merged = *first;
    for (_, next) in rest {
        let no_boundary = HashSet::new();
        let mut history = RepoHistory::new(repo, &no_boundary);
        let inner = match graph::merge_bases(&mut history, merged, *next)? {
            graph::Bases::Found(inner) => inner,
            graph::Bases::NeedsHistory => {
                return Err(gix::Error::from_error(std::io::Error::other(
                    "the merge bases' own history is incomplete",
                )))
            }
        };
        let ancestor = match inner.as_slice() {
            [] => ObjectId::empty_tree(repo.object_hash()),
            [one] => tree_of(repo, *one)?,
            many => virtual_base(repo, many, depth.saturating_add(1))?,
        };
        let tree = merge_for_base(
            repo,
            ancestor,
            tree_of(repo, merged)?,
            tree_of(repo, *next)?,
            depth,
        )?;
        merged = write_commit(
            repo,
            tree,
            [merged, *next],
            "virtual merge base",
            &Identity {
                name: "shipgate".into(),
                email: "shipgate@localhost".into(),
            },
        )?;
    }
    tree_of(repo, merged)
}

/// A merge whose conflicts stay in the result: text conflicts as markers (longer at each
/// level), tree and binary conflicts as the ancestor's version.
fn merge_for_base(
    repo: &gix::Repository,
    ancestor: ObjectId,
    ours: ObjectId,
    theirs: ObjectId,
    depth: u8,
) -> gix::Result<ObjectId> {
    use gix::merge::blob::builtin_driver::{binary, text};
    let mut options: gix::merge::plumbing::tree::Options = repo.tree_merge_options()?.into();
    options.tree_conflicts = Some(gix::merge::plumbing::tree::ResolveWith::Ancestor);
    options.blob_merge.is_virtual_ancestor = true;
    options.blob_merge.text.conflict = text::Conflict::Keep {
        style: text::ConflictStyle::Merge,
        marker_size: text::Conflict::DEFAULT_MARKER_SIZE
            .try_into()
            .expect("the default marker size is not zero"),
    };
    options.blob_merge.resolve_binary_with = Some(binary::ResolveWith::Ancestor);
    options.symlink_conflicts = Some(binary::ResolveWith::Ancestor);
    options.marker_size_multiplier = depth;
    let labels = text::Labels {
        ancestor: None,
        current: Some("Temporary merge branch 1".into()),
        other: Some("Temporary merge branch 2".into()),
    };
    let mut diff_cache = repo.diff_resource_cache_for_tree_diff()?;
    let mut blob_merge = repo.merge_resource_cache(Default::default())?;
    let mut outcome = gix::merge::plumbing::tree(
        &ancestor,
        &ours,
        &theirs,
        labels,
        repo,
        |buf| repo.write_blob(buf).map(gix::Id::detach),
        &mut Default::default(),
        &mut diff_cache,
        &mut blob_merge,
        options,
    )?;
    outcome
        .tree
        .write(|tree| repo.write_object(tree).map(gix::Id::detach))
}

/// Write the merge commit (parents: `to`, then `from`) without touching any ref.
pub fn write_commit(
    repo: &gix::Repository,
    tree: ObjectId,
    parents: [ObjectId; 2],
    message: &str,
    identity: &Identity,
) -> gix::Result<ObjectId> {
    let signature = gix::actor::Signature {
        name: identity.name.as_str().into(),
        email: identity.email.as_str().into(),
        time: gix::date::Time::now_utc(),
    };
    let mut committer_time = gix::date::parse::TimeBuf::default();
    let mut author_time = gix::date::parse::TimeBuf::default();
    let mut message = message.trim_end().to_owned();
    message.push('\n');
    let commit = repo.new_commit_as(
        signature.to_ref(&mut committer_time),
        signature.to_ref(&mut author_time),
        message,
        tree,
        parents,
    )?;
    Ok(commit.id)
}

/// The objects a push of `commit` must carry: the commit, and every tree and blob of its
/// tree that differs from the entry at the same path in every parent's tree (the server
/// has everything reachable from the parents). Submodules are skipped.
pub fn new_objects(
    repo: &gix::Repository,
    commit: ObjectId,
    tree: ObjectId,
    parent_trees: &[ObjectId],
) -> gix::Result<Vec<ObjectId>> {
    let mut out = vec![commit];
    let mut seen = HashSet::from([commit]);
    let parents: Vec<Option<ObjectId>> = parent_trees.iter().copied().map(Some).collect();
    collect_new(repo, tree, &parents, &mut out, &mut seen)?;
    Ok(out)
}

fn collect_new(
    repo: &gix::Repository,
    tree: ObjectId,
    parents: &[Option<ObjectId>],
    out: &mut Vec<ObjectId>,
    seen: &mut HashSet<ObjectId>,
) -> gix::Result<()> {
    if parents.contains(&Some(tree)) || !seen.insert(tree) {
        return Ok(());
    }
    out.push(tree);
    let ours = entries(repo, Some(tree))?;
    let theirs: Vec<HashMap<BString, (EntryMode, ObjectId)>> = parents
        .iter()
        .map(|p| entries(repo, *p))
        .collect::<gix::Result<_>>()?;
    let mut names: Vec<&BString> = ours.keys().collect();
    names.sort();
    for name in names {
        let (mode, id) = ours[name];
        if mode.is_commit() {
            continue;
        }
        let at_path: Vec<Option<&(EntryMode, ObjectId)>> =
            theirs.iter().map(|t| t.get(name)).collect();
        if at_path.iter().any(|e| e.map(|(_, i)| *i) == Some(id)) {
            continue;
        }
        if mode.is_tree() {
            let sub_parents: Vec<Option<ObjectId>> = at_path
                .iter()
                .map(|e| e.filter(|(m, _)| m.is_tree()).map(|(_, i)| *i))
                .collect();
            collect_new(repo, id, &sub_parents, out, seen)?;
        } else if seen.insert(id) {
            out.push(id);
        }
    }
    Ok(())
}
