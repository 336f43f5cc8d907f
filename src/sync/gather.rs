//! sync's gather step: the branches, the remote, whose token it is (when the config or
//! `--check-token` asks), and the author of a merge commit, read from the API only when
//! a merge is written. The git facts themselves are read by [`super::act`], afresh on
//! every attempt.

use super::error::Error as SyncError;
use crate::{
    arguments::SyncArgs,
    config::{Config, Identity},
    forge::{self, Client},
    git::{self, Remote},
    Error, Invocation,
};

/// `from` and `to`: the flags, else the config; checked before any git work.
pub(super) fn branches(config: &Config, args: &SyncArgs) -> Result<(String, String), Error> {
    let from = args
        .from
        .clone()
        .unwrap_or_else(|| config.sync.from.clone());
    let to = args.to.clone().unwrap_or_else(|| config.sync.to.clone());
    git::branch::validate_pair(&from, &to)?;
    Ok((from, to))
}

/// The remote: `--remote`, else the server's repository; with the token (checked
/// first, so a missing secret is named plainly).
pub(super) fn remote(invocation: &Invocation, args: &SyncArgs) -> Result<Remote, Error> {
    let token = invocation
        .ctx
        .require_token("sync reads the branches and pushes with it")?
        .clone();
    let url = match &args.remote {
        Some(url) => url.clone(),
        None => {
            let server = invocation.ctx.require_server()?;
            let repo = invocation.ctx.require_repo()?;
            format!("{server}/{repo}.git")
        }
    };
    let remote =
        Remote::new(&url, token)?.with_connect_timeout(invocation.forge_options.connect_timeout);
    if remote.is_plain_http() {
        tracing::warn!(
            "the remote `{}` is plain http: the token travels unencrypted as basic-auth credentials because the configured URL says so",
            remote.url()
        );
    }
    Ok(remote)
}

/// The token's account, when the run needs it before touching git: `sync.expect_login`
/// (which it must equal) or `--check-token`.
pub(super) async fn token_user(
    invocation: &Invocation,
    config: &Config,
    check_token: bool,
) -> Result<Option<forge::User>, Error> {
    if config.sync.expect_login.is_none() && !check_token {
        return Ok(None);
    }
    let found = invocation
        .client("sync checks whose token it is")?
        .current_user()
        .await?;
    if let Some(expected) = &config.sync.expect_login {
        check_login(expected, &found.login)?;
    }
    Ok(Some(found))
}

fn check_login(expected: &str, found: &str) -> Result<(), Error> {
    if expected == found {
        return Ok(());
    }
    Err(SyncError::WrongAccount {
        expected: expected.to_owned(),
        found: found.to_owned(),
    }
    .into())
}

/// The author of merge commits when `sync.author` is unset: the token's account.
fn identity_of(user: &forge::User, host: &str) -> Identity {
    let name = if user.full_name.trim().is_empty() {
        user.login.clone()
    } else {
        user.full_name.trim().to_owned()
    };
    let email = if user.email.trim().is_empty() {
        format!("{}@noreply.{host}", user.login)
    } else {
        user.email.trim().to_owned()
    };
    Identity { name, email }
}

/// The server's host as the domain of a noreply address: a name or IPv4 address as it
/// is, an IPv6 address as an address literal (`[IPv6:…]`), `localhost` when the URL has
/// no host. Parsed with the URL parser reqwest already carries.
fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url)
        .ok()
        .as_ref()
        .and_then(reqwest::Url::host_str)
    {
        Some(host) if host.starts_with('[') => {
            format!(
                "[IPv6:{}]",
                host.trim_start_matches('[').trim_end_matches(']')
            )
        }
        Some(host) if !host.is_empty() => host.to_owned(),
        _ => "localhost".to_owned(),
    }
}

/// Who authors a merge commit: `sync.author`, else the token's account, read through the
/// API when (and only when) a merge commit is written, then kept.
pub(super) struct Author {
    configured: Option<Identity>,
    user: Option<forge::User>,
    client: Option<Result<Client, Error>>,
    host: String,
    runtime: tokio::runtime::Handle,
    cached: Option<Identity>,
}

impl Author {
    /// Call on the async runtime; [`Author::identity`] may then run on a blocking thread.
    pub(super) fn new(
        invocation: &Invocation,
        config: &Config,
        user: Option<forge::User>,
        remote: &Remote,
    ) -> Self {
        let configured = config.sync.author.clone();
        let client = match (&configured, &user) {
            (None, None) => {
                Some(invocation.client("sync authors the merge commit as the token's account"))
            }
            _ => None,
        };
        Author {
            configured,
            user,
            client,
            host: host_of(invocation.ctx.server_url.as_deref().unwrap_or(remote.url())),
            runtime: tokio::runtime::Handle::current(),
            cached: None,
        }
    }

    pub(super) fn identity(&mut self) -> Result<Identity, Error> {
        if let Some(identity) = &self.cached {
            return Ok(identity.clone());
        }
        let identity = match (&self.configured, &self.user, &self.client) {
            (Some(author), _, _) => author.clone(),
            (None, Some(user), _) => identity_of(user, &self.host),
            (None, None, Some(Ok(client))) => {
                identity_of(&self.runtime.block_on(client.current_user())?, &self.host)
            }
            (None, None, Some(Err(e))) => {
                return Err(SyncError::AuthorUnreadable { why: e.to_string() }.into())
            }
            (None, None, None) => return Err(SyncError::AuthorWithoutClient.into()),
        };
        self.cached = Some(identity.clone());
        Ok(identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_must_match() {
        assert!(check_login("bot", "bot").is_ok());
        let err = check_login("bot", "alice").expect_err("mismatch");
        assert!(err.to_string().contains("`alice`"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn identity_falls_back_to_login_and_noreply() {
        let user = forge::User {
            id: 1,
            login: "bot".into(),
            full_name: " ".into(),
            email: String::new(),
        };
        let identity = identity_of(&user, "gitea.example");
        assert_eq!(identity.name, "bot");
        assert_eq!(identity.email, "bot@noreply.gitea.example");
        assert_eq!(host_of("http://127.0.0.1:3000/a/b.git"), "127.0.0.1");
        assert_eq!(host_of("https://Gitea.Example/a/b.git"), "gitea.example");
        assert_eq!(host_of("http://[::1]:3000/a/b.git"), "[IPv6:::1]");
        assert_eq!(host_of("http://user@gitea.example:8080/"), "gitea.example");
        assert_eq!(host_of("not a url"), "localhost");
    }
}
