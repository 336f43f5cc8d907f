//! Every read of a PR run, before anything is decided or written: the pull request, the
//! policy at its base commit, its changed files (API or git), its labels, and — only when
//! a lower tier label is present — who added it.

use std::path::PathBuf;

use super::{
    diff::{self, Unproven},
    labels::{Adder, TierLabel},
    local::{self, LocalFacts, Read},
    policy::{ChangeKind, FileChange},
    Error as TierError,
};
use crate::{
    arguments::{FilesFrom, TierArgs},
    config::Config,
    context::RepoRef,
    forge::{self, Client, Label, PullRequest},
    Error, Invocation,
};

/// Where the changed files came from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The API: the pull request's diff, or its files list.
    Api(Via),
    /// The local checkout (`--from-git`).
    Git(Box<LocalFacts>),
}

/// How the API gave the changed files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// `GET /pulls/{index}.diff`, proven whole ([`diff::prove`]).
    Diff,
    /// `GET /pulls/{index}/files`, every page, because the diff was not proven.
    Pages(Unproven),
}

/// Everything read about a pull request.
#[derive(Debug, Clone)]
pub struct PrFacts {
    pub repo: RepoRef,
    pub number: u64,
    pub pull: PullRequest,
    pub config: Config,
    /// `.gitattributes` at the base commit; empty when there is none.
    pub gitattributes: String,
    pub files: Vec<FileChange>,
    pub source: Source,
    pub labels: Vec<Label>,
}

/// The pull request number: `--pr`, else the event's.
pub fn pr_number(invocation: &Invocation, args: &TierArgs) -> Result<u64, Error> {
    args.pr
        .or_else(|| invocation.ctx.event.as_ref().and_then(|e| e.pull_number()))
        .ok_or_else(|| Error::MissingContext {
            what: "the pull request",
            why: "no --pr (SHIPGATE_PR) and the event is not about a pull request".into(),
        })
}

/// Read the pull request itself.
pub async fn pull(client: &Client, repo: &RepoRef, number: u64) -> Result<PullRequest, Error> {
    let pull = client.pull(repo, number).await?;
    for (side, sha) in [("head", &pull.head.sha), ("base", &pull.base.sha)] {
        if sha.trim().is_empty() {
            return Err(Error::Forge(forge::Error::Protocol {
                request: format!("GET /repos/{repo}/pulls/{number}"),
                detail: format!("the pull request has no {side} sha"),
            }));
        }
    }
    Ok(pull)
}

/// Every other read for an open pull request.
pub async fn pr_facts(
    invocation: &Invocation,
    args: &TierArgs,
    client: &Client,
    repo: &RepoRef,
    pull: PullRequest,
) -> Result<PrFacts, Error> {
    let number = pull.number;
    let base_sha = pull.base.sha.clone();
    let config = invocation.base_config(client, repo, &base_sha).await?;
    let gitattributes = gitattributes_text(
        client.file_at(repo, ".gitattributes", &base_sha).await?,
        crate::sha::short(&base_sha),
    )?;
    let (files, source) = if args.from_git {
        let base = args.base.clone().unwrap_or_else(|| base_sha.clone());
        let head = args.head.clone().unwrap_or_else(|| pull.head.sha.clone());
        let facts = local_facts(
            args.repo_dir.clone(),
            base,
            head,
            Read {
                config: false,
                gitattributes: false,
            },
        )
        .await?;
        if facts.head != pull.head.sha {
            return Err(TierError::HeadMoved {
                number,
                spec: facts.head_spec.clone(),
                checkout: crate::sha::short(&facts.head).to_owned(),
                head: crate::sha::short(&pull.head.sha).to_owned(),
            }
            .into());
        }
        let files = facts.files.clone();
        (files, Source::Git(Box::new(facts)))
    } else if args.files_from == FilesFrom::Pages {
        (
            paged_files(client, repo, number).await?,
            Source::Api(Via::Pages(Unproven::NotAsked)),
        )
    } else {
        match diff_files(client, repo, &pull).await {
            Ok(files) => (files, Source::Api(Via::Diff)),
            Err(why) => {
                tracing::info!("reading the changed files of {repo}#{number} page by page: {why}");
                (
                    paged_files(client, repo, number).await?,
                    Source::Api(Via::Pages(why)),
                )
            }
        }
    };
    let labels = client.issue_labels(repo, number).await?;
    check_labels_agree(repo, number, &labels, &pull.labels)?;
    Ok(PrFacts {
        repo: repo.clone(),
        number,
        pull,
        config,
        gitattributes,
        files,
        source,
        labels,
    })
}

/// The changed files from the pull request's diff, proven whole and the pull request's
/// ([`diff::prove`]): the diff, then the pull request read again. Any failure is the
/// reason to read the paged list instead, never a shorter list.
async fn diff_files(
    client: &Client,
    repo: &RepoRef,
    pull: &PullRequest,
) -> Result<Vec<FileChange>, Unproven> {
    let unread = |e: forge::Error| Unproven::Unread(e.to_string());
    let body = client
        .pull_diff(repo, pull.number, (diff::MAX_DIFF_BYTES, "MAX_DIFF_BYTES"))
        .await
        .map_err(unread)?;
    let again = client.pull(repo, pull.number).await.map_err(unread)?;
    diff::prove(&body, pull, &again)
}

/// The changed files from `GET …/pulls/{n}/files`, every page.
async fn paged_files(
    client: &Client,
    repo: &RepoRef,
    number: u64,
) -> Result<Vec<FileChange>, Error> {
    let listed = client.pull_files(repo, number).await?;
    if listed.iter().any(|f| f.filename.trim().is_empty()) {
        return Err(Error::Forge(forge::Error::Protocol {
            request: format!("GET /repos/{repo}/pulls/{number}/files"),
            detail: "a changed file has an empty `filename`".into(),
        }));
    }
    // Gitea before 1.22.3 sends renames with an empty `previous_filename` (a typo,
    // go-gitea/gitea#32017): the old path, which the high-path rules must see, is lost.
    if let Some(f) = listed.iter().find(|f| {
        f.status == "renamed"
            && f.previous_filename
                .as_deref()
                .is_none_or(|p| p.trim().is_empty())
    }) {
        return Err(TierError::RenameWithoutOldPath {
            number,
            file: f.filename.clone(),
        }
        .into());
    }
    Ok(listed
        .into_iter()
        .map(|f| FileChange {
            status: ChangeKind::parse(&f.status),
            path: f.filename,
            previous: f.previous_filename.filter(|p| !p.is_empty()),
            additions: f.additions,
            deletions: f.deletions,
        })
        .collect())
}

/// `GET …/issues/{n}/labels` is not paginated and carries no count, so it is checked
/// against the labels embedded in the pull request: a list cut short (or changed while
/// reading) must not look like "no tier label".
fn check_labels_agree(
    repo: &RepoRef,
    number: u64,
    issue_labels: &[Label],
    pull_labels: &[Label],
) -> Result<(), Error> {
    let ids = |labels: &[Label]| {
        let mut ids: Vec<i64> = labels.iter().map(|l| l.id).collect();
        ids.sort_unstable();
        ids
    };
    if ids(issue_labels) == ids(pull_labels) {
        return Ok(());
    }
    let names = |labels: &[Label]| {
        let names: Vec<String> = labels.iter().map(|l| l.name.clone()).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            super::policy::list(&names)
        }
    };
    Err(TierError::LabelsDisagree {
        repo: repo.to_string(),
        number,
        issue: names(issue_labels),
        pull: names(pull_labels),
    }
    .into())
}

/// The base `.gitattributes` as text: empty when there is none, an error when it is not
/// UTF-8 (`at` names the commit).
pub fn gitattributes_text(bytes: Option<Vec<u8>>, at: &str) -> Result<String, TierError> {
    match bytes {
        Some(bytes) => String::from_utf8(bytes)
            .map_err(|_| TierError::GitattributesNotUtf8 { at: at.to_owned() }),
        None => Ok(String::new()),
    }
}

/// Run the gix reads on a blocking thread.
pub async fn local_facts(
    repo_dir: PathBuf,
    base: String,
    head: String,
    read: Read,
) -> Result<LocalFacts, Error> {
    tokio::task::spawn_blocking(move || local::gather(&repo_dir, &base, &head, read))
        .await
        .map_err(|e| TierError::LocalDiffUnfinished { why: e.to_string() })?
        .map_err(Error::from)
}

/// Who last added `label` (the latest timeline `label` row for it with body `"1"`), and
/// the facts [`labels::decide`](super::labels::decide) needs about them. `None` when the
/// timeline has no such row.
pub async fn adder(
    client: &Client,
    repo: &RepoRef,
    number: u64,
    label: &TierLabel,
    author: &str,
    config: &Config,
) -> Result<Option<Adder>, Error> {
    let timeline = client.issue_timeline(repo, number).await?;
    // The latest add row decides; when it names nobody the adder is unknown (an older
    // row by someone else must not stand in for it).
    let login = timeline
        .iter()
        .rfind(|row| {
            row.kind == "label"
                && row.body.trim() == "1"
                && row.label.as_ref().is_some_and(|l| l.id == label.id)
        })
        .and_then(|row| row.user.as_ref())
        .map(|u| u.login.clone())
        .filter(|login| !login.is_empty());
    let Some(login) = login else {
        return Ok(None);
    };
    if login.eq_ignore_ascii_case(author) {
        return Ok(Some(Adder {
            login,
            is_shipgate: false,
            teams: Vec::new(),
        }));
    }
    let me = client.current_user().await?;
    if me.login.eq_ignore_ascii_case(&login) {
        return Ok(Some(Adder {
            login,
            is_shipgate: true,
            teams: Vec::new(),
        }));
    }
    let wanted = &config.tier.override_teams;
    if wanted.is_empty() {
        return Ok(Some(Adder {
            login,
            is_shipgate: false,
            teams: Vec::new(),
        }));
    }
    let org = config
        .tier
        .org
        .clone()
        .unwrap_or_else(|| repo.owner.clone());
    let teams = client.org_teams(&org).await?;
    let mut member_of = Vec::new();
    for name in wanted {
        let Some(team) = teams.iter().find(|t| t.name.eq_ignore_ascii_case(name)) else {
            let visible: Vec<String> = teams.iter().map(|t| t.name.clone()).collect();
            return Err(TierError::OverrideTeamNotVisible {
                team: name.clone(),
                org,
                visible: if visible.is_empty() {
                    "none".to_owned()
                } else {
                    super::policy::list(&visible)
                },
            }
            .into());
        };
        if client.is_team_member(team.id, &login).await? {
            member_of.push(team.name.clone());
        }
    }
    Ok(Some(Adder {
        login,
        is_shipgate: false,
        teams: member_of,
    }))
}
