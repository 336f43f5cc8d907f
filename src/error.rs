//! The top-level error: every way a run can end without a verdict.
//!
//! A verdict of "no" (exit 1) is not an error: it is an [`Outcome`](crate::Outcome) with
//! [`Verdict::No`](crate::Verdict::No). Errors are the runs that could not verify (exit 2)
//! or were asked for something that makes no sense (exit 64).

use std::path::PathBuf;

use crate::code::Code;

/// Everything that stops a run before it reaches a verdict.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line was wrong.
    #[error("{message}")]
    Usage { message: String },

    /// A token the run needs is not in the environment.
    #[error("no token in `{var}`: {purpose}")]
    MissingToken {
        var: &'static str,
        purpose: &'static str,
        /// Started by the action: the `token` input was passed but reached it empty.
        via_action: bool,
    },

    /// A fact about the run (repository, server, pull request) could not be found.
    #[error("cannot tell {what}: {why}")]
    MissingContext { what: &'static str, why: String },

    /// The event payload could not be read.
    #[error("cannot read the event payload `{}`: {why}", path.display())]
    Event { path: PathBuf, why: String },

    /// The configuration is invalid or unreadable.
    #[error(transparent)]
    Config(#[from] crate::config::Error),

    /// The forge API did not give an answer the run could trust.
    #[error(transparent)]
    Forge(#[from] crate::forge::Error),

    /// A git operation failed before a verdict.
    #[error(transparent)]
    Git(#[from] crate::git::Error),

    /// A mode's own failure (`tier::Error`, `review::Error`…): typed in its mode, carried
    /// here without this module importing the modes.
    #[error("{0}")]
    Mode(Box<dyn ModeError>),

    /// Writing a report (stdout, summary, outputs) failed.
    #[error("cannot write {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// What to do when the report could not be written.
pub const REPORT_NOT_WRITTEN_HINT: &str =
    "check the runner's disk and the GITHUB_OUTPUT/GITHUB_STEP_SUMMARY paths";

/// What to do when the action passed a token input that reached the binary empty: the
/// workflow names a secret (`token: ${{ secrets.NAME }}`) that is missing or empty where
/// this run looks for it.
pub const EMPTY_SECRET: &str = "the secret the workflow passes to it is missing or empty for \
    this run: add it under the repository's (or organization's) Settings → Actions → Secrets \
    with the name the workflow uses (names are case-insensitive), and check the event: Gitea \
    gives no secrets to runs of pull requests from forks";

/// What a mode's error enum gives the top level: its stable code and the operator's next
/// step (the message is its `Display`). Every mode failure exits 2.
pub trait ModeError: std::error::Error + Send + Sync + 'static {
    /// The stable code of this failure (see [`Code`]).
    fn code(&self) -> Code;
    /// The operator's next step.
    fn hint(&self) -> String;
    /// This failure as a plain error, for a mode that looks for its own variants again.
    fn as_error(&self) -> &(dyn std::error::Error + 'static);
}

/// `impl From<mode::Error> for crate::Error` and [`ModeError`] for a mode's enum, whose
/// `code` and `hint` are inherent methods.
macro_rules! mode_error {
    ($error:ty) => {
        impl $crate::error::ModeError for $error {
            fn code(&self) -> $crate::code::Code {
                <$error>::code(self)
            }
            fn hint(&self) -> String {
                <$error>::hint(self)
            }
            fn as_error(&self) -> &(dyn std::error::Error + 'static) {
                self
            }
        }

        impl From<$error> for $crate::Error {
            fn from(error: $error) -> $crate::Error {
                $crate::Error::Mode(Box::new(error))
            }
        }
    };
}
pub(crate) use mode_error;

/// For a mode's message table: `error` says `message` to the letter, has a code of the
/// mode's `family` (`tier-…`) and a next step.
#[cfg(test)]
#[track_caller]
pub(crate) fn assert_mode_error(error: &dyn ModeError, message: &str, family: &str) {
    assert_eq!(error.to_string(), message);
    assert!(
        error.code().as_str().starts_with(&format!("{family}-")),
        "{error}: code `{}` is not of the {family} family",
        error.code()
    );
    assert!(!error.hint().is_empty(), "{error}: no hint");
}

impl Error {
    /// The process exit code. No `_` arm: a new variant must decide.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage { .. } => 64,
            Error::MissingToken { .. }
            | Error::MissingContext { .. }
            | Error::Event { .. }
            | Error::Config(_)
            | Error::Forge(_)
            | Error::Git(_)
            | Error::Mode(_)
            | Error::Io { .. } => 2,
        }
    }

    /// The stable code of this failure (see [`Code`]).
    pub fn code(&self) -> Code {
        match self {
            Error::Usage { .. } => Code::Usage,
            Error::MissingToken { .. } => Code::TokenMissing,
            Error::MissingContext { .. } => Code::ContextMissing,
            Error::Event { .. } => Code::EventUnreadable,
            Error::Config(e) => e.code(),
            Error::Forge(e) => e.code(),
            Error::Git(e) => e.code(),
            Error::Mode(e) => e.code(),
            Error::Io { .. } => Code::ReportNotWritten,
        }
    }

    /// A short title for the `::error title=…::` annotation: the code's.
    pub fn title(&self) -> &'static str {
        self.code().title()
    }

    /// The operator's next step.
    pub fn hint(&self) -> String {
        match self {
            Error::Usage { .. } => "run `shipgate --help` for the commands and flags".into(),
            Error::MissingToken {
                via_action: true, ..
            } => format!("the action's `token` input reached shipgate empty: {EMPTY_SECRET}"),
            Error::MissingToken { var, .. } => format!(
                "pass a token through the action's `token` input (or set `{var}` in the step's env:); \
                 it is read from the environment only, never from the command line"
            ),
            Error::MissingContext { .. } => {
                "run inside a Gitea Actions job, or pass --server, --repo and --pr explicitly".into()
            }
            Error::Event { .. } => {
                "check GITHUB_EVENT_PATH points at the event JSON the runner wrote".into()
            }
            Error::Config(e) => e.hint(),
            Error::Forge(e) => e.hint(),
            Error::Git(e) => e.hint(),
            Error::Mode(e) => e.hint(),
            Error::Io { .. } => REPORT_NOT_WRITTEN_HINT.into(),
        }
    }
}
