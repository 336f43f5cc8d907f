//! Everything a git operation can fail with before sync reaches a verdict. Rejections by
//! the server (a hook, a moved branch) are not errors: they are verdicts, see
//! [`push::Answer`](super::push::Answer).

use std::{fmt, path::PathBuf};

/// Which conversation with the server failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// upload-pack: reading the branches.
    Fetch,
    /// receive-pack: the advertisement or the push itself.
    Push,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Fetch => "fetch",
            Phase::Push => "push",
        })
    }
}

/// A git operation that failed before a verdict. `url` never carries credentials.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid remote `{url}`: {why}")]
    InvalidRemote { url: String, why: String },

    #[error("invalid branch name `{name}`: {why}")]
    InvalidBranch { name: String, why: String },

    #[error("`{url}` refused the token with 401 Unauthorized during the {phase}")]
    Unauthorized { url: String, phase: Phase },

    #[error("`{url}` refused the {phase} with 403 Forbidden")]
    Forbidden { url: String, phase: Phase },

    #[error("`{url}` answered the {phase} with 404 Not Found")]
    NotFound { url: String, phase: Phase },

    #[error("cannot reach `{url}` for the {phase}: {source}")]
    Unreachable {
        url: String,
        phase: Phase,
        #[source]
        source: gix::Error,
    },

    #[error("the {phase} with `{url}` failed: {source}")]
    Transport {
        url: String,
        phase: Phase,
        #[source]
        source: gix::Error,
    },

    #[error("`{url}` answered the {phase} in a way shipgate cannot trust: {detail}")]
    Protocol {
        url: String,
        phase: Phase,
        detail: String,
    },

    #[error("branch `{branch}` does not exist on `{url}`")]
    MissingBranch { branch: String, url: String },

    #[error("cannot {action} in the local repository `{}`: {source}", path.display())]
    Local {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: gix::Error,
    },

    #[error("cannot create a temporary repository under `{}`: {source}", path.display())]
    TempDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot merge `{from}` into `{to}`: {source}")]
    Merge {
        from: String,
        to: String,
        #[source]
        source: gix::Error,
    },

    #[error(
        "cannot find the merge base of `{from}` and `{to}` in {commits} fetched commits: {detail}"
    )]
    History {
        from: String,
        to: String,
        commits: usize,
        detail: String,
    },

    #[error("cannot verify the git work: the worker thread failed: {why}")]
    Worker { why: String },
}

/// Runbook B: the token.
pub const RUNBOOK_TOKEN: &str = "runbook B: the token was rejected or is under-scoped: issue a new token for the sync account with the `write:repository` scope (the account needs write access to the repository), update the SHIPGATE_TOKEN secret, then re-run the job";

impl Error {
    /// The stable code of this failure.
    pub fn code(&self) -> crate::Code {
        use crate::Code;
        match self {
            Error::InvalidRemote { .. } => Code::GitInvalidRemote,
            Error::InvalidBranch { .. } => Code::GitInvalidBranch,
            Error::Unauthorized { .. } => Code::GitUnauthorized,
            Error::Forbidden { .. } => Code::GitForbidden,
            Error::NotFound { .. } => Code::GitNotFound,
            Error::Unreachable { .. } => Code::GitUnreachable,
            Error::Transport { .. } => Code::GitTransport,
            Error::Protocol { .. } => Code::GitBadResponse,
            Error::MissingBranch { .. } => Code::GitMissingBranch,
            Error::Local { .. } | Error::TempDir { .. } => Code::GitLocal,
            Error::Merge { .. } => Code::GitMerge,
            Error::History { .. } => Code::GitHistory,
            Error::Worker { .. } => Code::SyncGitTask,
        }
    }

    /// The operator's next step.
    pub fn hint(&self) -> String {
        match self {
            Error::InvalidRemote { .. } => "pass --remote (or SHIPGATE_REMOTE) as an http(s) clone URL without credentials, e.g. `https://gitea.example/acme/app.git`; the token is read from SHIPGATE_TOKEN only".into(),
            Error::InvalidBranch { .. } => "set --from/--to (or `sync.from`/`sync.to`) to two different, valid branch names".into(),
            Error::Unauthorized { .. } | Error::Forbidden { .. } => RUNBOOK_TOKEN.into(),
            Error::NotFound { .. } => "check the remote URL (GITHUB_SERVER_URL/GITHUB_REPOSITORY or --remote) and that the token's account can see the repository".into(),
            Error::Unreachable { .. } => "check the server is up and reachable from the runner, then re-run the job".into(),
            Error::Transport { .. } => "re-run the job; if it fails again, run `shipgate sync -v` for the transfer details".into(),
            Error::Protocol { .. } => "the server did not behave like git smart HTTP; check for a proxy that rewrites or truncates responses, and report it if it persists".into(),
            Error::MissingBranch { branch, .. } => format!(
                "create the branch first (e.g. `git push origin main:refs/heads/{branch}`), or fix `sync.from`/`sync.to`"
            ),
            Error::Local { .. } | Error::TempDir { .. } => "check the free space and permissions of the temporary directory (TMPDIR) or of --git-dir".into(),
            Error::Merge { .. } => "merge by hand (see the recipe in this job's log) and report the failure with `shipgate sync -v` output".into(),
            Error::History { .. } => "re-run the job; if it persists, pass --git-dir with a full clone of the repository".into(),
            Error::Worker { .. } => "re-run the job; report it if it persists".into(),
        }
    }

    /// Turn a gix transport error into the taxonomy: 401/403/404 by status, connection
    /// failures and 5xx as unreachable, the rest as a failed transfer.
    pub(crate) fn from_transport(source: gix::Error, url: &str, phase: Phase) -> Error {
        let url = url.to_owned();
        match http_status(&source) {
            Some(401) => return Error::Unauthorized { url, phase },
            Some(403) => return Error::Forbidden { url, phase },
            Some(404) => return Error::NotFound { url, phase },
            Some(status) if status >= 500 => return Error::Unreachable { url, phase, source },
            _ => {}
        }
        if source.is_unauthenticated() {
            Error::Unauthorized { url, phase }
        } else if source.is_permission_denied() {
            Error::Forbidden { url, phase }
        } else if is_connection_failure(&source) {
            Error::Unreachable { url, phase, source }
        } else {
            Error::Transport { url, phase, source }
        }
    }
}

/// Every error in the tree below `error`, following `source()` and `io::Error` payloads.
fn for_each_cause(error: &gix::Error, visit: &mut dyn FnMut(&(dyn std::error::Error + 'static))) {
    fn walk(
        error: &(dyn std::error::Error + 'static),
        visit: &mut dyn FnMut(&(dyn std::error::Error + 'static)),
        depth: usize,
    ) {
        if depth > 32 {
            return;
        }
        visit(error);
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                walk(inner, visit, depth + 1);
            }
        }
        if let Some(nested) = error.downcast_ref::<gix::Error>() {
            for inner in nested.iter_errors() {
                if !std::ptr::addr_eq(inner, error) {
                    walk(inner, visit, depth + 1);
                }
            }
        }
        if let Some(source) = error.source() {
            walk(source, visit, depth + 1);
        }
    }
    for inner in error.iter_errors() {
        walk(inner, visit, 0);
    }
}

/// The HTTP status behind a transport error, if one was received.
fn http_status(error: &gix::Error) -> Option<u16> {
    let mut status = None;
    for_each_cause(error, &mut |cause| {
        if status.is_some() {
            return;
        }
        if let Some(e) = cause.downcast_ref::<reqwest::Error>() {
            status = e.status().map(|s| s.as_u16());
        } else if cause
            .downcast_ref::<gix::protocol::transport::client::AuthenticationRequired>()
            .is_some()
        {
            status = Some(401);
        }
    });
    status
}

fn is_connection_failure(error: &gix::Error) -> bool {
    let mut found = false;
    for_each_cause(error, &mut |cause| {
        if let Some(e) = cause.downcast_ref::<reqwest::Error>() {
            found |= e.is_connect() || e.is_timeout() || e.is_request();
        } else if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            found |= matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::UnexpectedEof
            );
        }
    });
    found || error.is_retryable()
}
