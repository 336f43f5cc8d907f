//! What every step of one promote run knows (the client, the repository, the policy,
//! the branches, the way it writes), and what the steps hand each other.

use crate::{
    arguments::Via,
    config::Config,
    context::RepoRef,
    forge::{Client, PullRequest},
    git::Remote,
    Invocation, Outcome,
};

use super::plan::Evidence;

pub(super) struct Session<'a> {
    pub(super) invocation: &'a Invocation,
    pub(super) client: Client,
    pub(super) repo: RepoRef,
    pub(super) config: Config,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) via: Via,
    pub(super) remote: Option<Remote>,
}

/// Everything one attempt read.
pub(super) struct Gathered {
    pub(super) facts: Evidence,
    /// The open promotion PR (`from` → `to`, same repository), for `--via pull-request`.
    pub(super) pr: Option<PullRequest>,
    /// Commits `to` has that S lacks (0 when contained).
    pub(super) behind: u64,
}

/// What acting did.
pub(super) enum Acted {
    /// The run is over: the facts the report step turns into the outcome.
    Done(Done),
    /// A branch moved under us: gather again.
    Raced(String),
}

/// How a run that did not race ended.
pub(super) enum Done {
    /// A plan that writes nothing (or a dry run): its outcome, already reported.
    Decided(Outcome),
    /// `to` is at S now.
    Promoted(Promotion),
    /// Gitea merges pull request `pr` once the checks its branch protection requires pass.
    Scheduled { pr: u64 },
    /// Gitea refused to merge pull request `pr` for good.
    MergeRefused {
        pr: u64,
        status: u16,
        message: String,
    },
    /// The server refused the push of S (a hook, branch protection).
    PushRejected {
        reason: String,
        /// `remote:` lines the server sent with it.
        messages: Vec<String>,
        /// Refused by branch protection (the runbook applies).
        protected: bool,
    },
}

/// How `to` reached S.
pub(super) enum Promotion {
    /// Pull request `pr` merged fast-forward-only.
    Merged { pr: u64 },
    /// A native push with `to`'s read tip as the expected old value.
    Pushed,
}
