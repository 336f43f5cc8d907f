//! What stops a tier run before its verdict, beyond what every mode shares (config, forge,
//! git): each variant names what could not be verified, carries its facts, and has one
//! code and one next step.

use std::path::PathBuf;

use crate::code::Code;

/// A tier run that could not verify (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot verify `.gitattributes` at `{at}`: it is not UTF-8")]
    GitattributesNotUtf8 { at: String },

    #[error(
        "cannot verify the head of #{number}: `{spec}` resolves to `{checkout}` in the checkout, \
         but the pull request's head is `{head}`"
    )]
    HeadMoved {
        number: u64,
        spec: String,
        checkout: String,
        head: String,
    },

    #[error(
        "cannot verify the renames in #{number}: `{file}` is listed as renamed without its old \
         path (`previous_filename` is empty), so a move out of a high-risk path cannot be seen"
    )]
    RenameWithoutOldPath { number: u64, file: String },

    #[error("cannot verify the labels of {repo}#{number}: the issue lists {issue} but the pull request lists {pull}")]
    LabelsDisagree {
        repo: String,
        number: u64,
        issue: String,
        pull: String,
    },

    #[error("cannot verify the override team `{team}` in `{org}`: no such team is visible to the token (visible: {visible})")]
    OverrideTeamNotVisible {
        team: String,
        org: String,
        visible: String,
    },

    #[error("cannot verify the tier policy: {why}")]
    Policy { why: String },

    #[error("cannot verify the new label `{name}`: the server created `{created}` instead")]
    LabelCreatedAs { name: String, created: String },

    #[error("cannot verify adding `{name}` to #{number}: the server answered without label id {id} (Gitea ignores unknown label ids)")]
    LabelNotAdded { name: String, number: u64, id: i64 },

    #[error("cannot verify the local git diff: the diff did not finish: {why}")]
    LocalDiffUnfinished { why: String },

    #[error("cannot verify the git repository at `{}`: {why}", dir.display())]
    NoRepository { dir: PathBuf, why: String },

    #[error("cannot verify the revision `{spec}`: {why}")]
    Revision {
        spec: String,
        /// The flag that named it: `--base` or `--head`.
        flag: &'static str,
        why: String,
    },

    #[error("cannot verify the merge base of `{base}` and `{head}`: {why}")]
    MergeBase {
        base: String,
        head: String,
        why: String,
    },

    #[error(
        "cannot verify the merge base of `{base}` and `{head}`: the two commits share no history"
    )]
    NoCommonHistory { base: String, head: String },

    #[error("cannot verify the tree of `{id}`: {why}")]
    Tree { id: String, why: String },

    #[error("cannot verify the diff setup: {why}")]
    DiffSetup { why: String },

    #[error("cannot verify the diff between `{from}` and `{to}`: {why}")]
    Diff {
        from: String,
        to: String,
        why: String,
    },

    #[error("cannot verify `{path}` at `{at}`: {why}")]
    Blob {
        path: String,
        at: String,
        why: String,
    },

    #[error("cannot verify `{path}` at `{at}`: it is not a regular file")]
    NotAFile { path: String, at: String },
}

impl Error {
    /// The stable code of this failure.
    pub fn code(&self) -> Code {
        match self {
            Error::GitattributesNotUtf8 { .. } => Code::TierGitattributes,
            Error::HeadMoved { .. } => Code::TierHeadMoved,
            Error::RenameWithoutOldPath { .. } => Code::TierRenames,
            Error::LabelsDisagree { .. } => Code::TierLabelsUnreadable,
            Error::OverrideTeamNotVisible { .. } => Code::TierOverrideTeam,
            Error::Policy { .. } => Code::TierPolicy,
            Error::LabelCreatedAs { .. } => Code::TierLabelCreate,
            Error::LabelNotAdded { .. } => Code::TierLabelAdd,
            Error::LocalDiffUnfinished { .. }
            | Error::NoRepository { .. }
            | Error::Revision { .. }
            | Error::MergeBase { .. }
            | Error::NoCommonHistory { .. }
            | Error::Tree { .. }
            | Error::DiffSetup { .. }
            | Error::Diff { .. }
            | Error::Blob { .. }
            | Error::NotAFile { .. } => Code::TierLocalGit,
        }
    }

    /// The operator's next step.
    pub fn hint(&self) -> String {
        match self {
            Error::GitattributesNotUtf8 { .. } => {
                "re-save .gitattributes as UTF-8 on the base branch".into()
            }
            Error::HeadMoved { number, .. } => format!(
                "check out the PR head (git fetch origin refs/pull/{number}/head) or drop --head"
            ),
            Error::RenameWithoutOldPath { .. } => "upgrade Gitea to 1.22.3 or later, or tier from \
                the checkout: `shipgate tier --from-git` after fetching the PR head"
                .into(),
            Error::LabelsDisagree { .. } => "the labels changed while shipgate read them, or an \
                answer was cut short; re-run the job"
                .into(),
            Error::OverrideTeamNotVisible { .. } => {
                "fix `tier.override_teams` (and `tier.org`) on \
                the base branch, or give the token read:organization"
                    .into()
            }
            Error::Policy { .. } => "fix the pattern on the base branch (`shipgate config check` \
                validates the config)"
                .into(),
            Error::LabelCreatedAs { .. } => "create the label by hand and re-run".into(),
            Error::LabelNotAdded { .. } => {
                "check the label exists in this repository and the token has write:issue".into()
            }
            Error::LocalDiffUnfinished { .. } => "re-run with -v and report the crash".into(),
            Error::NoRepository { .. } => "run inside a git checkout, or pass --repo-dir".into(),
            Error::Revision { flag, .. } if *flag == "--base" => "pass an existing branch or \
                commit with --base (fetch it first: git fetch origin main)"
                .into(),
            Error::Revision { flag, .. } => {
                format!("pass an existing branch or commit with {flag}")
            }
            Error::MergeBase { .. } => {
                "fetch more history (actions/checkout with fetch-depth: 0)".into()
            }
            Error::NoCommonHistory { .. } => {
                "fetch full history (fetch-depth: 0), or check --base and --head".into()
            }
            Error::Tree { .. } => "check the clone is complete (no partial clone)".into(),
            Error::DiffSetup { .. } => "check the repository's diff configuration".into(),
            Error::Diff { .. } => "check the clone is complete (no partial or shallow clone \
                missing these commits)"
                .into(),
            Error::Blob { .. } => "check the clone is complete".into(),
            Error::NotAFile { path, .. } => {
                format!("make `{path}` a regular file on the base branch")
            }
        }
    }
}

crate::error::mode_error!(Error);

#[cfg(test)]
mod tests {
    use super::Error;

    /// Every variant's whole message, and a code of the tier family.
    #[test]
    fn every_message_whole() {
        let table: Vec<(Error, &str)> = vec![
            (
                Error::GitattributesNotUtf8 { at: "abc1234".into() },
                "cannot verify `.gitattributes` at `abc1234`: it is not UTF-8",
            ),
            (
                Error::HeadMoved {
                    number: 7,
                    spec: "HEAD".into(),
                    checkout: "aaaaaaa".into(),
                    head: "bbbbbbb".into(),
                },
                "cannot verify the head of #7: `HEAD` resolves to `aaaaaaa` in the checkout, but \
                 the pull request's head is `bbbbbbb`",
            ),
            (
                Error::RenameWithoutOldPath {
                    number: 7,
                    file: "src/a.rs".into(),
                },
                "cannot verify the renames in #7: `src/a.rs` is listed as renamed without its old \
                 path (`previous_filename` is empty), so a move out of a high-risk path cannot be \
                 seen",
            ),
            (
                Error::LabelsDisagree {
                    repo: "acme/app".into(),
                    number: 7,
                    issue: "`tier:low`".into(),
                    pull: "none".into(),
                },
                "cannot verify the labels of acme/app#7: the issue lists `tier:low` but the pull \
                 request lists none",
            ),
            (
                Error::OverrideTeamNotVisible {
                    team: "leads".into(),
                    org: "acme".into(),
                    visible: "none".into(),
                },
                "cannot verify the override team `leads` in `acme`: no such team is visible to the \
                 token (visible: none)",
            ),
            (
                Error::Policy { why: "bad glob".into() },
                "cannot verify the tier policy: bad glob",
            ),
            (
                Error::LabelCreatedAs {
                    name: "tier:low".into(),
                    created: "tier:Low".into(),
                },
                "cannot verify the new label `tier:low`: the server created `tier:Low` instead",
            ),
            (
                Error::LabelNotAdded {
                    name: "tier:low".into(),
                    number: 7,
                    id: 3,
                },
                "cannot verify adding `tier:low` to #7: the server answered without label id 3 \
                 (Gitea ignores unknown label ids)",
            ),
            (
                Error::LocalDiffUnfinished { why: "panic".into() },
                "cannot verify the local git diff: the diff did not finish: panic",
            ),
            (
                Error::NoRepository {
                    dir: "/r".into(),
                    why: "not a repo".into(),
                },
                "cannot verify the git repository at `/r`: not a repo",
            ),
            (
                Error::Revision {
                    spec: "main".into(),
                    flag: "--base",
                    why: "not found".into(),
                },
                "cannot verify the revision `main`: not found",
            ),
            (
                Error::MergeBase {
                    base: "main".into(),
                    head: "HEAD".into(),
                    why: "shallow".into(),
                },
                "cannot verify the merge base of `main` and `HEAD`: shallow",
            ),
            (
                Error::NoCommonHistory {
                    base: "main".into(),
                    head: "HEAD".into(),
                },
                "cannot verify the merge base of `main` and `HEAD`: the two commits share no history",
            ),
            (
                Error::Tree {
                    id: "abc".into(),
                    why: "missing".into(),
                },
                "cannot verify the tree of `abc`: missing",
            ),
            (
                Error::DiffSetup { why: "x".into() },
                "cannot verify the diff setup: x",
            ),
            (
                Error::Diff {
                    from: "a".into(),
                    to: "b".into(),
                    why: "x".into(),
                },
                "cannot verify the diff between `a` and `b`: x",
            ),
            (
                Error::Blob {
                    path: ".gitattributes".into(),
                    at: "abc".into(),
                    why: "x".into(),
                },
                "cannot verify `.gitattributes` at `abc`: x",
            ),
            (
                Error::NotAFile {
                    path: ".gitattributes".into(),
                    at: "abc".into(),
                },
                "cannot verify `.gitattributes` at `abc`: it is not a regular file",
            ),
        ];
        for (error, message) in table {
            crate::error::assert_mode_error(&error, message, "tier");
        }
    }

    #[test]
    fn the_revision_hint_names_the_flag_that_gave_it() {
        let revision = |flag| Error::Revision {
            spec: "x".into(),
            flag,
            why: "not found".into(),
        };
        assert_eq!(
            revision("--base").hint(),
            "pass an existing branch or commit with --base (fetch it first: git fetch origin main)"
        );
        assert_eq!(
            revision("--head").hint(),
            "pass an existing branch or commit with --head"
        );
    }
}
