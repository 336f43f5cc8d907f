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
    /// The stable code of this failure.
    pub fn code(&self) -> crate::Code {
        use crate::Code;
        match self {
            Error::Unauthorized { .. } => Code::ForgeUnauthorized,
            Error::Forbidden { .. } => Code::ForgeForbidden,
            Error::NotFound { .. } => Code::ForgeNotFound,
            Error::NotAllowed { .. } => Code::ForgeNotAllowed,
            Error::Conflict { .. } => Code::ForgeConflict,
            Error::Unprocessable { .. } => Code::ForgeUnprocessable,
            Error::Transient { .. } => Code::ForgeUnreachable,
            Error::Protocol { .. } => Code::ForgeBadResponse,
            Error::Setup { .. } => Code::ForgeSetup,
        }
    }

    pub fn hint(&self) -> String {
        match self {
            Error::Unauthorized { .. } => "the token is missing, expired or revoked: issue a new one and update the secret".into(),
            Error::Forbidden { request, message } => forbidden_hint(request, message),
            Error::NotFound { .. } => "check the repository, pull request number and branch names, and that the token can see them".into(),
            Error::NotAllowed { .. } => "the server refused the operation on this object (not mergeable, merge style disabled, or not allowed for this account); read its message".into(),
            Error::Conflict { .. } | Error::Unprocessable { .. } => "the server rejected the request's content; re-run, and report it if it persists".into(),
            Error::Transient { .. } => "the server did not answer in time or answered with a server error; check it is up and re-run the job".into(),
            Error::Protocol { .. } => "the server's answer was malformed or incomplete; re-run, and check for a proxy that rewrites or truncates responses".into(),
            Error::Setup { .. } => "check --server (or GITHUB_SERVER_URL) is a valid http(s) URL and the token secret holds only the token".into(),
        }
    }

    /// True when Gitea refused because the token lacks a scope (not a permission).
    pub fn is_missing_scope(&self) -> bool {
        matches!(self, Error::Forbidden { message, .. } if message.contains("required scope"))
    }

    /// The token's own scopes, when a missing-scope 403 lists them (newer Gitea: "…,
    /// required=[read:notification], token scope=read:repository,write:issue"). `None`
    /// when the refusal does not list them (Gitea 1.22: "…required scope(s): [x]").
    pub fn disclosed_scopes(&self) -> Option<Vec<String>> {
        let Error::Forbidden { message, .. } = self else {
            return None;
        };
        let (_, listed) = message.split_once("token scope=")?;
        let scopes: Vec<String> = listed
            .split(',')
            .map(|s| s.trim().trim_end_matches(['.', ']', '"']).to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        (!scopes.is_empty()).then_some(scopes)
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

/// What to do about a 403. Gitea names the missing scope in its message ("token does not
/// have at least one of required scope(s), required=[read:user], token scope=…"); say it
/// plainly, since the fix is a new token, not a new permission.
fn forbidden_hint(request: &str, message: &str) -> String {
    let required = message
        .split_once("required=[")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(scopes, _)| scopes.trim())
        .filter(|s| !s.is_empty());
    match required {
        Some(scopes) => format!(
            "the token lacks the `{scopes}` scope this call needs{}: issue a token with it (Settings → Applications) and update the secret",
            if request.ends_with("/api/v1/user") {
                " (`GET /user` tells shipgate whose token it is)"
            } else {
                ""
            }
        ),
        None => "the token's account lacks a permission for this call (labels need write:issue; statuses, PR files and contents need repository scope; teams need read:organization): grant it, or use another account's token".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_scope_is_named_in_the_hint() {
        let e = Error::Forbidden {
            request: "GET http://h/api/v1/user".into(),
            message: "token does not have at least one of required scope(s), required=[read:user], token scope=write:issue".into(),
        };
        assert!(e.is_missing_scope());
        assert_eq!(
            e.hint(),
            "the token lacks the `read:user` scope this call needs (`GET /user` tells shipgate whose token it is): issue a token with it (Settings → Applications) and update the secret"
        );
        let e = Error::Forbidden {
            request: "GET http://h/api/v1/teams/3/members/x".into(),
            message: "Must be a team member".into(),
        };
        assert!(!e.is_missing_scope());
        assert!(e
            .hint()
            .starts_with("the token's account lacks a permission"));
    }

    #[test]
    fn a_refusal_that_lists_the_tokens_scopes_discloses_them() {
        let forbidden = |message: &str| Error::Forbidden {
            request: "GET http://h/api/v1/notifications/new".into(),
            message: message.into(),
        };
        let table: &[(&str, Option<&[&str]>)] = &[
            (
                "token does not have at least one of required scope(s), required=[read:notification], token scope=read:repository,write:issue,read:user",
                Some(&["read:repository", "write:issue", "read:user"]),
            ),
            (
                "token does not have at least one of required scope(s), required=[read:notification], token scope=write:repository",
                Some(&["write:repository"]),
            ),
            // Gitea 1.22 names only what was required.
            (
                "token does not have at least one of required scope(s): [read:notification]",
                None,
            ),
            ("token does not have at least one of required scope(s), required=[x], token scope=", None),
            ("Must be a team member", None),
        ];
        for (message, want) in table {
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(forbidden(message).disclosed_scopes(), want, "{message}");
        }
        let not_found = Error::NotFound {
            request: "GET x".into(),
            message: "token scope=write:issue".into(),
        };
        assert_eq!(not_found.disclosed_scopes(), None);
    }
}
