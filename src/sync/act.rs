//! The blocking core of sync: read the tips, fetch what the plan needs, plan, merge,
//! push, and re-plan when the target moved. Gix runs here; call it from
//! `tokio::task::spawn_blocking`.
//!
//! ## What is fetched, and why
//!
//! 1. **The tips**, from the authenticated receive-pack advertisement (one GET): it proves
//!    the token may push before anything is downloaded, and it is the lease the push
//!    is checked against.
//! 2. **Commits only** (`filter tree:0`), both tips to a depth of `initial_depth`,
//!    deepened ×4 until the merge base is certain (the walk in [`crate::git::graph`] never
//!    guesses past the shallow boundary). Up-to-date and fast-forward need nothing more.
//! 3. For a merge: **the three root trees** (base, staging, main) with `filter blob:none`,
//!    then **only the blobs that differ** between the base and either side, by id.
//!
//! A server without filters (or without protocol V2) gets a plain shallow fetch with the
//! same deepening; several merge bases (criss-cross) fetch the full history, which gix's
//! recursive merge needs. With `--git-dir`, the existing repository's refs are offered as
//! `have`s and no filter is used (its objects stay complete for git).

use std::{collections::BTreeSet, path::PathBuf};

use gix::{protocol::fetch::Shallow, ObjectId};

use super::plan::{self, Plan, PushRefusal, Tips};
use crate::{
    config::Identity,
    git::{
        self,
        fetch::{self, Fetcher},
        graph::{self, Bases},
        merge::{self, RepoHistory},
        push::{Answer, Pusher},
        Remote, Workspace,
    },
    Error,
};

/// Everything the core needs; no environment is read.
#[derive(Debug, Clone)]
pub struct Request {
    pub remote: Remote,
    pub from: String,
    pub to: String,
    /// Merge message template (`{from}`, `{to}`, `{main_short}`).
    pub message: String,
    /// Fetch–plan–push attempts when `to` moves concurrently (≥ 1).
    pub max_attempts: u32,
    /// Plan and merge, never push.
    pub dry_run: bool,
    /// Fetch into this repository instead of a temporary one.
    pub git_dir: Option<PathBuf>,
    /// First shallow depth (commits from each tip).
    pub initial_depth: u32,
    /// Use partial-clone filters when the server offers them.
    pub filters: bool,
}

impl Request {
    /// Defaults for everything but the remote and the branches.
    pub fn new(remote: Remote, from: &str, to: &str) -> Request {
        Request {
            remote,
            from: from.to_owned(),
            to: to.to_owned(),
            message: crate::config::SyncConfig::default().message,
            max_attempts: 3,
            dry_run: false,
            git_dir: None,
            initial_depth: 64,
            filters: true,
        }
    }
}

/// How the history was fetched, for the report and the benchmark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// `commits (tree:0), then trees and changed blobs`, `shallow`, `full`, `incremental`.
    pub strategy: String,
    /// Last shallow depth asked for (0: not shallow).
    pub depth: u32,
    pub fetch: fetch::Stats,
    /// Commits the merge-base walk read.
    pub commits_walked: usize,
    /// Objects and bytes of the pack pushed.
    pub pushed_objects: usize,
    pub pack_bytes: u64,
}

/// What happened.
#[derive(Debug, Clone)]
pub struct Report {
    pub plan: Plan,
    /// `to`'s tip when last read.
    pub old: ObjectId,
    /// `to`'s tip after the run (or what it would be, for a dry run or a refused push).
    pub new: ObjectId,
    /// `from`'s tip.
    pub main: ObjectId,
    pub pushed: bool,
    pub attempts: u32,
    /// Set when the server refused the update (after the last attempt for `Moved`).
    pub rejection: Option<(PushRefusal, String)>,
    /// `remote:` lines of the last push.
    pub messages: Vec<String>,
    /// Author and committer of the merge commit, when one was made.
    pub identity: Option<Identity>,
    pub stats: Stats,
}

enum Step {
    Done(Report),
    Retry(Report),
}

/// Run sync. `identity` is asked only when a merge commit must be written.
pub fn sync(
    request: &Request,
    identity: &mut dyn FnMut() -> Result<Identity, Error>,
) -> Result<Report, Error> {
    let attempts = request.max_attempts.max(1);
    let mut last = None;
    for attempt in 1..=attempts {
        match attempt_once(request, attempt, identity)? {
            Step::Done(report) => return Ok(report),
            Step::Retry(report) => {
                tracing::warn!(
                    "`{}` moved while syncing (attempt {attempt} of {attempts}); fetching again",
                    request.to
                );
                last = Some(report);
            }
        }
    }
    Ok(last.expect("at least one attempt ran"))
}

fn attempt_once(
    request: &Request,
    attempt: u32,
    identity: &mut dyn FnMut() -> Result<Identity, Error>,
) -> Result<Step, Error> {
    let remote = &request.remote;
    let pusher = Pusher::connect(remote)?;
    let missing = |branch: &str| git::Error::MissingBranch {
        branch: branch.to_owned(),
        url: remote.url().to_owned(),
    };
    let to_tip = pusher
        .tip(&request.to)
        .ok_or_else(|| missing(&request.to))?;
    let from_tip = pusher
        .tip(&request.from)
        .ok_or_else(|| missing(&request.from))?;
    let mut report = Report {
        plan: Plan::UpToDate,
        old: to_tip,
        new: to_tip,
        main: from_tip,
        pushed: false,
        attempts: attempt,
        rejection: None,
        messages: Vec::new(),
        identity: None,
        stats: Stats::default(),
    };
    if from_tip == to_tip {
        report.stats.strategy = "none (same tip)".into();
        return Ok(Step::Done(report));
    }

    let workspace = match &request.git_dir {
        Some(path) => Workspace::open(path)?,
        None => Workspace::temporary()?,
    };
    let mut fetcher = Fetcher::connect(remote)?;
    let history = fetch_history(
        request,
        &workspace,
        &mut fetcher,
        from_tip,
        to_tip,
        &mut report,
    )?;
    let facts = Tips {
        from: from_tip,
        to: to_tip,
        bases: history.bases.clone(),
        conflicts: None,
    };
    report.plan = plan::plan(&facts);
    let (new_tip, objects) = match report.plan {
        Plan::UpToDate | Plan::Unrelated | Plan::Conflict { .. } => {
            report.stats.fetch = fetcher.stats;
            return Ok(Step::Done(report));
        }
        Plan::FastForward => (from_tip, Vec::new()),
        Plan::Merge => {
            let repo = workspace.repo();
            let merged = merge_tips(
                request,
                &workspace,
                &mut fetcher,
                &history,
                from_tip,
                to_tip,
            )?;
            report.plan = plan::plan(&Tips {
                conflicts: Some(merged.conflicts.clone()),
                ..facts
            });
            let Some(tree) = merged.tree.filter(|_| report.plan == Plan::Merge) else {
                report.stats.fetch = fetcher.stats;
                return Ok(Step::Done(report));
            };
            let who = identity()?;
            let message = plan::message(
                &request.message,
                &request.from,
                &request.to,
                &from_tip.to_string(),
            );
            let commit = merge::write_commit(repo, tree, [to_tip, from_tip], &message, &who)
                .map_err(|source| merge_error(request, source))?;
            report.identity = Some(who);
            let parent_trees = [
                merge::tree_of(repo, to_tip).map_err(|source| merge_error(request, source))?,
                merge::tree_of(repo, from_tip).map_err(|source| merge_error(request, source))?,
            ];
            let objects = merge::new_objects(repo, commit, tree, &parent_trees)
                .map_err(|source| merge_error(request, source))?;
            (commit, objects)
        }
    };
    report.new = new_tip;
    report.stats.fetch = fetcher.stats;
    drop(fetcher);
    if request.dry_run {
        return Ok(Step::Done(report));
    }

    let pushed = pusher.push(workspace.repo(), &request.to, to_tip, new_tip, &objects)?;
    report.stats.pushed_objects = pushed.objects;
    report.stats.pack_bytes = pushed.pack_bytes;
    report.messages = pushed.messages;
    match pushed.status {
        Answer::Accepted => {
            report.pushed = true;
            workspace.remember(&request.to, new_tip)?;
            Ok(Step::Done(report))
        }
        Answer::Rejected { reason } => {
            let kind = plan::classify_rejection(&reason, &report.messages);
            report.new = to_tip;
            report.rejection = Some((kind, reason));
            if kind == PushRefusal::Moved {
                Ok(Step::Retry(report))
            } else {
                Ok(Step::Done(report))
            }
        }
    }
}

fn merge_error(request: &Request, source: gix::Error) -> Error {
    git::Error::Merge {
        from: request.from.clone(),
        to: request.to.clone(),
        source,
    }
    .into()
}

/// What the history fetch established.
struct History {
    bases: Vec<ObjectId>,
    /// Commits were fetched without trees (`tree:0`).
    filtered: bool,
    /// The repository is shallow.
    shallow: bool,
}

/// Fetch both tips, deepening until the merge bases are certain.
fn fetch_history(
    request: &Request,
    workspace: &Workspace,
    fetcher: &mut Fetcher,
    from_tip: ObjectId,
    to_tip: ObjectId,
    report: &mut Report,
) -> Result<History, Error> {
    let repo = workspace.repo();
    let tips = [from_tip, to_tip];
    let shallow_file = workspace.git_dir().join("shallow");
    let can_shallow = fetcher.supports_shallow();
    let filtered =
        workspace.temporary && request.filters && fetcher.supports_filters() && can_shallow;

    let mut haves: Vec<ObjectId> = Vec::new();
    let mut depth = request.initial_depth.max(1);
    let mut shallow_mode = can_shallow;
    if !workspace.temporary {
        haves = workspace.local_tips(256);
        let already_shallow = !workspace.shallow_commits()?.is_empty();
        // A complete clone fetches what is new, in one go; a shallow one deepens.
        shallow_mode = can_shallow && already_shallow;
        report.stats.strategy = if shallow_mode {
            "incremental, shallow (--git-dir)".into()
        } else {
            "incremental (--git-dir)".into()
        };
    } else if filtered {
        report.stats.strategy = "commits (tree:0), then trees and changed blobs".into();
    } else if can_shallow {
        report.stats.strategy = "shallow".into();
    } else {
        report.stats.strategy = "full".into();
    }

    let mut round = 0u32;
    loop {
        let shallow = if shallow_mode {
            if depth >= 1 << 28 {
                Shallow::undo()
            } else {
                Shallow::DepthAtRemote(depth.try_into().expect("depth is at least 1"))
            }
        } else {
            Shallow::NoChange
        };
        let have_both = tips.iter().all(|t| repo.has_object(t));
        if round > 0 || !have_both || shallow_mode {
            let round_haves: Vec<ObjectId> = if round > 0 {
                tips.iter().copied().chain(haves.iter().copied()).collect()
            } else {
                haves.clone()
            };
            fetcher.fetch(
                workspace,
                &fetch::Request {
                    wants: &tips,
                    haves: &round_haves,
                    filter: filtered.then_some("tree:0"),
                    shallow,
                    shallow_file: shallow_file.clone(),
                },
            )?;
        }
        report.stats.depth = if shallow_mode { depth } else { 0 };
        let boundary = workspace.shallow_commits()?;
        let mut walk = RepoHistory::new(repo, &boundary);
        let bases = graph::merge_bases(&mut walk, from_tip, to_tip)
            .map_err(|source| workspace.local_error("walk the fetched history", source))?;
        report.stats.commits_walked += walk.reads;
        match bases {
            Bases::Found(bases) => {
                for (branch, tip) in [(&request.from, from_tip), (&request.to, to_tip)] {
                    workspace.remember(branch, tip)?;
                }
                return Ok(History {
                    bases,
                    filtered,
                    shallow: !boundary.is_empty(),
                });
            }
            Bases::NeedsHistory if boundary.is_empty() || !shallow_mode => {
                return Err(git::Error::History {
                    from: request.from.clone(),
                    to: request.to.clone(),
                    commits: walk.reads,
                    detail: "the walk reached a shallow boundary the fetch cannot deepen".into(),
                }
                .into());
            }
            Bases::NeedsHistory => {
                tracing::debug!(depth, "merge base not certain yet; deepening");
                depth = depth.saturating_mul(4);
                round += 1;
            }
        }
    }
}

/// Merge `from` into `to`, fetching the objects the merge reads first.
fn merge_tips(
    request: &Request,
    workspace: &Workspace,
    fetcher: &mut Fetcher,
    history: &History,
    from_tip: ObjectId,
    to_tip: ObjectId,
) -> Result<merge::Merged, Error> {
    let repo = workspace.repo();
    let scratch = workspace.git_dir().join("shipgate-no-shallow");
    let merge_err = |source| merge_error(request, source);

    if let [base] = history.bases.as_slice() {
        let trees = [
            merge::tree_of(repo, *base).map_err(merge_err)?,
            merge::tree_of(repo, to_tip).map_err(merge_err)?,
            merge::tree_of(repo, from_tip).map_err(merge_err)?,
        ];
        if history.filtered {
            let missing: Vec<ObjectId> =
                dedup(trees.iter().copied().filter(|t| !repo.has_object(t)));
            fetcher.fetch(
                workspace,
                &fetch::Request {
                    wants: &missing,
                    haves: &[],
                    filter: Some("blob:none"),
                    shallow: Shallow::NoChange,
                    shallow_file: scratch.clone(),
                },
            )?;
            let mut blobs = BTreeSet::new();
            for side in [trees[1], trees[2]] {
                merge::changed_blobs(repo, Some(trees[0]), Some(side), &mut blobs)
                    .map_err(merge_err)?;
            }
            let missing: Vec<ObjectId> =
                blobs.into_iter().filter(|b| !repo.has_object(b)).collect();
            fetcher.fetch(
                workspace,
                &fetch::Request {
                    wants: &missing,
                    haves: &[],
                    filter: None,
                    shallow: Shallow::NoChange,
                    shallow_file: scratch,
                },
            )?;
        }
        return merge::merge_trees(
            repo,
            trees[0],
            trees[1],
            trees[2],
            &request.from,
            &request.to,
        )
        .map_err(merge_err);
    }

    // Several merge bases: the virtual base is built from the bases' own history, so
    // every object of both histories must be present. A shallow or `tree:0` repository
    // fetches the whole history again, without `have`s or shallow lines: the server would
    // otherwise assume we hold the trees of our boundary commits and leave them out.
    if history.filtered || history.shallow {
        tracing::debug!("several merge bases; fetching the full history");
        fetcher.fetch(
            workspace,
            &fetch::Request {
                wants: &[from_tip, to_tip],
                haves: &[],
                filter: None,
                shallow: Shallow::NoChange,
                shallow_file: scratch,
            },
        )?;
        let shallow_file = workspace.git_dir().join("shallow");
        if shallow_file.exists() {
            std::fs::remove_file(&shallow_file).map_err(|e| {
                workspace.local_error("remove the shallow file", gix::Error::from_error(e))
            })?;
        }
    }
    merge::merge_recursive(
        repo,
        to_tip,
        from_tip,
        &history.bases,
        &request.from,
        &request.to,
    )
    .map_err(merge_err)
}

fn dedup(ids: impl Iterator<Item = ObjectId>) -> Vec<ObjectId> {
    let mut out: Vec<ObjectId> = Vec::new();
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}
