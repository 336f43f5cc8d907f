//! What stops a promote run before its verdict, beyond what every mode shares (config,
//! forge, git): each variant names what could not be verified, carries its facts, and has
//! one code and one next step. A failed check or a refused merge is a verdict, not an
//! error.

use crate::code::Code;

/// A promote run that could not verify (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot verify what green means for `{from}` at {at}: `promote.required_contexts` is \
         empty in the default branch's config, and `{to}`'s branch protection requires no \
         status check; nothing was written"
    )]
    NoContexts {
        from: String,
        to: String,
        at: String,
    },

    #[error(
        "cannot verify whether `{from}` contains `{to}`: this server's compare API takes branch \
         names only, and a branch moved during each of {rounds} reads"
    )]
    AncestryUnknown {
        from: String,
        to: String,
        rounds: u32,
    },

    #[error(
        "cannot verify the merge of pull request #{number}: Gitea answered 201 (scheduled) to a \
         merge that asked for no schedule"
    )]
    MergeScheduledUnasked { number: u64 },

    #[error(
        "cannot verify where `{to}` is after merging #{number}: Gitea reported the merge done, \
         but `{to}` is at {at}, not {expected}"
    )]
    MergeLandedElsewhere {
        to: String,
        number: u64,
        at: String,
        expected: String,
    },

    #[error("cannot verify the git remote: no remote for --via push")]
    NoRemote,

    #[error("cannot verify a branch tip: `{sha}` is not a commit id: {why}")]
    BadTip { sha: String, why: String },
}

impl Error {
    /// The stable code of this failure.
    pub fn code(&self) -> Code {
        match self {
            Error::NoContexts { .. } => Code::PromoteNoContexts,
            Error::AncestryUnknown { .. } => Code::PromoteAncestryUnknown,
            Error::MergeScheduledUnasked { .. } | Error::MergeLandedElsewhere { .. } => {
                Code::PromoteMergeUnverified
            }
            Error::NoRemote | Error::BadTip { .. } => Code::PromoteRemote,
        }
    }

    /// The operator's next step.
    pub fn hint(&self) -> String {
        match self {
            Error::NoContexts { to, .. } => format!(
                "list the CI contexts under `promote.required_contexts` in .gitea/shipgate.yml on \
                 the default branch, or enable status checks in `{to}`'s branch protection"
            ),
            Error::AncestryUnknown { .. } => "re-run once pushes settle".into(),
            Error::MergeScheduledUnasked { .. } => {
                "check the pull request in the web UI; report it if it persists".into()
            }
            Error::MergeLandedElsewhere { .. } => {
                "look at the branch's history in the web UI before promoting again".into()
            }
            Error::NoRemote => "pass --remote".into(),
            Error::BadTip { .. } => "re-run; report it if it persists".into(),
        }
    }
}

crate::error::mode_error!(Error);

#[cfg(test)]
mod tests {
    use super::Error;

    /// Every variant's whole message, and a code of the promote family.
    #[test]
    fn every_message_whole() {
        let table: Vec<(Error, &str)> = vec![
            (
                Error::NoContexts {
                    from: "staging".into(),
                    to: "main".into(),
                    at: "abc1234".into(),
                },
                "cannot verify what green means for `staging` at abc1234: \
                 `promote.required_contexts` is empty in the default branch's config, and `main`'s \
                 branch protection requires no status check; nothing was written",
            ),
            (
                Error::AncestryUnknown {
                    from: "staging".into(),
                    to: "main".into(),
                    rounds: 3,
                },
                "cannot verify whether `staging` contains `main`: this server's compare API takes \
                 branch names only, and a branch moved during each of 3 reads",
            ),
            (
                Error::MergeScheduledUnasked { number: 9 },
                "cannot verify the merge of pull request #9: Gitea answered 201 (scheduled) to a \
                 merge that asked for no schedule",
            ),
            (
                Error::MergeLandedElsewhere {
                    to: "main".into(),
                    number: 9,
                    at: "aaaaaaa".into(),
                    expected: "bbbbbbb".into(),
                },
                "cannot verify where `main` is after merging #9: Gitea reported the merge done, but \
                 `main` is at aaaaaaa, not bbbbbbb",
            ),
            (
                Error::NoRemote,
                "cannot verify the git remote: no remote for --via push",
            ),
            (
                Error::BadTip {
                    sha: "zz".into(),
                    why: "invalid hex".into(),
                },
                "cannot verify a branch tip: `zz` is not a commit id: invalid hex",
            ),
        ];
        for (error, message) in table {
            crate::error::assert_mode_error(&error, message, "promote");
        }
    }

    #[test]
    fn no_contexts_says_where_to_list_them() {
        let error = Error::NoContexts {
            from: "staging".into(),
            to: "main".into(),
            at: "abc1234".into(),
        };
        assert_eq!(
            error.hint(),
            "list the CI contexts under `promote.required_contexts` in .gitea/shipgate.yml on the \
             default branch, or enable status checks in `main`'s branch protection"
        );
    }
}
