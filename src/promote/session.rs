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

use super::plan::Facts;

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
    pub(super) facts: Facts,
    /// The open promotion PR (`from` → `to`, same repository), for `--via pull-request`.
    pub(super) pr: Option<PullRequest>,
    /// Commits `to` has that S lacks (0 when contained).
    pub(super) behind: u64,
}

/// What acting did.
pub(super) enum Acted {
    Done(Outcome),
    /// A branch moved under us: gather again.
    Raced(String),
}
