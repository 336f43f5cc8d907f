//! What stops a sync run before its verdict, beyond what every mode shares (config, forge,
//! git): each variant names what could not be verified, carries its facts, and has one
//! code and one next step. A conflict or a rejected push is a verdict, not an error.

use crate::code::Code;

/// A sync run that could not verify (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot verify the token's account: the token belongs to `{found}`, not `{expected}` \
         (sync.expect_login); the push allowlist is per account"
    )]
    WrongAccount { expected: String, found: String },

    #[error(
        "cannot verify the merge commit's author: `sync.author` is not set and the token's \
         account cannot be read: {why}"
    )]
    AuthorUnreadable { why: String },

    #[error(
        "cannot verify the merge commit's author: `sync.author` is not set and there is no API \
         client"
    )]
    AuthorWithoutClient,
}

impl Error {
    /// The stable code of this failure.
    pub fn code(&self) -> Code {
        match self {
            Error::WrongAccount { .. } => Code::SyncAccount,
            Error::AuthorUnreadable { .. } | Error::AuthorWithoutClient => Code::SyncAuthor,
        }
    }

    /// The operator's next step.
    pub fn hint(&self) -> String {
        match self {
            Error::WrongAccount { expected, .. } => format!(
                "store a token of `{expected}` in SHIPGATE_TOKEN, or change `sync.expect_login` \
                 if the sync account changed"
            ),
            Error::AuthorUnreadable { .. } => "set `sync.author` in the config, or give --server \
                (GITHUB_SERVER_URL) so `GET /user` can name the token's account"
                .into(),
            Error::AuthorWithoutClient => "set `sync.author` in the config".into(),
        }
    }
}

crate::error::mode_error!(Error);

#[cfg(test)]
mod tests {
    use super::Error;

    /// Every variant's whole message and hint, and a code of the sync family.
    #[test]
    fn every_message_whole() {
        let table: Vec<(Error, &str, &str)> = vec![
            (
                Error::WrongAccount {
                    expected: "shipgate-bot".into(),
                    found: "alice".into(),
                },
                "cannot verify the token's account: the token belongs to `alice`, not \
                 `shipgate-bot` (sync.expect_login); the push allowlist is per account",
                "store a token of `shipgate-bot` in SHIPGATE_TOKEN, or change `sync.expect_login` \
                 if the sync account changed",
            ),
            (
                Error::AuthorUnreadable { why: "401".into() },
                "cannot verify the merge commit's author: `sync.author` is not set and the token's \
                 account cannot be read: 401",
                "set `sync.author` in the config, or give --server (GITHUB_SERVER_URL) so `GET \
                 /user` can name the token's account",
            ),
            (
                Error::AuthorWithoutClient,
                "cannot verify the merge commit's author: `sync.author` is not set and there is no \
                 API client",
                "set `sync.author` in the config",
            ),
        ];
        for (error, message, hint) in table {
            crate::error::assert_mode_error(&error, message, "sync");
            assert_eq!(error.hint(), hint);
        }
    }
}
