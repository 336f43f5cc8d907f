//! The forge error taxonomy. Every variant but a caller-handled `NotFound` means the run
//! could not verify.

/// What went wrong talking to the forge. `request` is `METHOD URL` (never a token).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{request}` was refused with 401 Unauthorized: {message}")]
    Unauthorized { request: String, message: String },
    #[error("`{request}` was refused with 403 Forbidden: {message}")]
    Forbidden { request: String, message: String },
    #[error("`{request}` answered 404 Not Found: {message}")]
    NotFound { request: String, message: String },
    #[error("`{request}` answered 405 Method Not Allowed: {message}")]
    NotAllowed { request: String, message: String },
    #[error("`{request}` answered 409 Conflict: {message}")]
    Conflict { request: String, message: String },
    #[error("`{request}` answered 422 Unprocessable: {message}")]
    Unprocessable { request: String, message: String },
    #[error("`{request}` failed after {attempts} attempt(s): {detail}")]
    Transient {
        request: String,
        attempts: u32,
        detail: String,
    },
    #[error("`{request}` gave an answer not of the API's shape: {detail}")]
    Protocol { request: String, detail: String },
    #[error("cannot set up the API client: {detail}")]
    Setup { detail: String },
}

impl Error {
    pub fn title(&self) -> &'static str {
        match self {
            Error::Unauthorized { .. } => "forge: unauthorized",
            Error::Forbidden { .. } => "forge: forbidden",
            Error::NotFound { .. } => "forge: not found",
            Error::NotAllowed { .. } => "forge: not allowed",
            Error::Conflict { .. } => "forge: conflict",
            Error::Unprocessable { .. } => "forge: unprocessable",
            Error::Transient { .. } => "forge: unreachable",
            Error::Protocol { .. } => "forge: bad response",
            Error::Setup { .. } => "forge: setup",
        }
    }

    pub fn hint(&self) -> String {
        match self {
            Error::Unauthorized { .. } => "the token is missing, expired or revoked: issue a new one and update the secret".into(),
            Error::Forbidden { .. } => "the token lacks a scope or permission for this call (labels need write:issue; statuses, PR files and contents need repository scope; teams need read:organization): re-scope it".into(),
            Error::NotFound { .. } => "check the repository, pull request number and branch names, and that the token can see them".into(),
            Error::NotAllowed { .. } => "the server refused the operation on this object (not mergeable, merge style disabled, or not allowed for this account); read its message".into(),
            Error::Conflict { .. } | Error::Unprocessable { .. } => "the server rejected the request's content; re-run, and report it if it persists".into(),
            Error::Transient { .. } => "the server did not answer in time or answered with a server error; check it is up and re-run the job".into(),
            Error::Protocol { .. } => "the server's answer was malformed or incomplete; re-run, and check for a proxy that rewrites or truncates responses".into(),
            Error::Setup { .. } => "check --server (or GITHUB_SERVER_URL) is a valid http(s) URL and the token secret holds only the token".into(),
        }
    }

    /// True when retrying could succeed; alone decides retries.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient { .. })
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}
