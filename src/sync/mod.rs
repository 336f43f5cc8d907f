//! Mode `sync`: keep `to` (staging) a superset of `from` (main) — fast-forward or merge,
//! then push natively, never forcing.
//!
//! [`run`] gathers the invocation (branches, remote, token, config), checks the token's
//! identity when asked to, and hands the git work to the blocking [`engine`]; the
//! decisions live in the pure [`plan`] module.

pub mod engine;
pub mod plan;

use serde_json::json;

use crate::code::Code;
use crate::{
    arguments::SyncArgs,
    config::{Config, Identity},
    forge,
    git::{self, Remote},
    Error, Invocation, Mode, Outcome, Verdict,
};
use engine::{Report, Request};
use plan::{Plan, Rejection};

/// Run the sync mode.
pub async fn run(invocation: &Invocation, args: &SyncArgs) -> Result<Outcome, Error> {
    let config = invocation.local_config()?;
    let from = args
        .from
        .clone()
        .unwrap_or_else(|| config.sync.from.clone());
    let to = args.to.clone().unwrap_or_else(|| config.sync.to.clone());
    validate_branches(&from, &to)?;
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

    // The token's account, when the run needs it before touching git.
    let mut user: Option<forge::User> = None;
    if let Some(expected) = &config.sync.expect_login {
        let found = invocation
            .client("sync checks whose token it is")?
            .current_user()
            .await?;
        check_login(expected, &found.login)?;
        user = Some(found);
    } else if args.check_token {
        user = Some(
            invocation
                .client("sync checks whose token it is")?
                .current_user()
                .await?,
        );
    }

    if args.check_token {
        let probe = remote.clone();
        spawn_git(move || {
            git::push::Pusher::connect(&probe)
                .map(|_| ())
                .map_err(Error::from)
        })
        .await?;
        let login = user.as_ref().map_or("?", |u| u.login.as_str());
        return Ok(Outcome::new(Mode::Sync, Verdict::Ok)
            .reason(format!("the token belongs to `{login}`"))
            .reason(format!(
                "`{}` accepted it for an authenticated receive-pack advertisement",
                remote.url()
            ))
            .field("login", login)
            .field("remote", remote.url()));
    }

    let request = Request {
        remote,
        from: from.clone(),
        to: to.clone(),
        message: config.sync.message.clone(),
        max_attempts: config.sync.max_attempts.max(1),
        dry_run: invocation.dry_run,
        git_dir: args.git_dir.clone(),
        initial_depth: 64,
        filters: true,
    };
    let author = config.sync.author.clone();
    // Only a merge needs an author; without `sync.author` it is the token's account, read
    // through the API when (and only when) a merge commit is written.
    let client = match (&author, &user) {
        (None, None) => {
            Some(invocation.client("sync authors the merge commit as the token's account"))
        }
        _ => None,
    };
    let known_user = user.clone();
    let server_host = host_of(invocation.ctx.server_url.as_deref().unwrap_or(&url));
    let runtime = tokio::runtime::Handle::current();
    let report = spawn_git(move || {
        let mut cached: Option<Identity> = None;
        let mut identity = || -> Result<Identity, Error> {
            if let Some(identity) = &cached {
                return Ok(identity.clone());
            }
            let identity = match (&author, &known_user, &client) {
                (Some(author), _, _) => author.clone(),
                (None, Some(user), _) => identity_of(user, &server_host),
                (None, None, Some(Ok(client))) => {
                    identity_of(&runtime.block_on(client.current_user())?, &server_host)
                }
                (None, None, Some(Err(e))) => {
                    return Err(Error::CannotVerify {
                        code: Code::SyncAuthor,
                        what: "the merge commit's author".into(),
                        why: format!("`sync.author` is not set and the token's account cannot be read: {e}"),
                        hint: "set `sync.author` in the config, or give --server (GITHUB_SERVER_URL) so `GET /user` can name the token's account".into(),
                    })
                }
                (None, None, None) => {
                    return Err(Error::CannotVerify {
                        code: Code::SyncAuthor,
                        what: "the merge commit's author".into(),
                        why: "`sync.author` is not set and there is no API client".into(),
                        hint: "set `sync.author` in the config".into(),
                    })
                }
            };
            cached = Some(identity.clone());
            Ok(identity)
        };
        engine::sync(&request, &mut identity)
    })
    .await?;
    Ok(outcome(&report, &from, &to, &config, user.as_ref()))
}

/// Run blocking git work off the async runtime.
pub(crate) async fn spawn_git<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => Err(Error::CannotVerify {
            code: Code::SyncGitTask,
            what: "the git work".into(),
            why: format!("the worker thread failed: {e}"),
            hint: "re-run the job; report it if it persists".into(),
        }),
    }
}

pub(crate) fn validate_branches(from: &str, to: &str) -> Result<(), Error> {
    for name in [from, to] {
        let why = if name.trim().is_empty() {
            Some("it is empty".to_owned())
        } else {
            gix::validate::reference::name_partial(gix::bstr::BStr::new(name))
                .err()
                .map(|e| e.to_string())
                .or_else(|| {
                    name.starts_with("refs/")
                        .then(|| "give the branch name, without `refs/heads/`".to_owned())
                })
        };
        if let Some(why) = why {
            return Err(git::Error::InvalidBranch {
                name: name.to_owned(),
                why,
            }
            .into());
        }
    }
    if from == to {
        return Err(git::Error::InvalidBranch {
            name: to.to_owned(),
            why: "`from` and `to` are the same branch".into(),
        }
        .into());
    }
    Ok(())
}

fn check_login(expected: &str, found: &str) -> Result<(), Error> {
    if expected == found {
        return Ok(());
    }
    Err(Error::CannotVerify {
        code: Code::SyncAccount,
        what: "the token's account".into(),
        why: format!(
            "the token belongs to `{found}`, not `{expected}` (sync.expect_login); the push allowlist is per account"
        ),
        hint: format!(
            "store a token of `{expected}` in SHIPGATE_TOKEN, or change `sync.expect_login` if the sync account changed"
        ),
    })
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

/// Turn the engine's report into what the runner sees.
fn outcome(
    report: &Report,
    from: &str,
    to: &str,
    config: &Config,
    user: Option<&forge::User>,
) -> Outcome {
    let short = |id: &gix::ObjectId| crate::sha::short(&id.to_string()).to_owned();
    let (old, new, main) = (short(&report.old), short(&report.new), short(&report.main));
    let conflicts: Vec<String> = match &report.plan {
        Plan::Conflict { paths } => paths.clone(),
        _ => Vec::new(),
    };
    let login = user
        .map(|u| u.login.clone())
        .or_else(|| config.sync.expect_login.clone());
    let mut outcome = Outcome::new(Mode::Sync, Verdict::Ok)
        .field("plan", report.plan.as_str())
        .field("old_sha", report.old.to_string())
        .field("new_sha", report.new.to_string())
        .field("main_sha", report.main.to_string())
        .field("pushed", report.pushed)
        .field("attempts", report.attempts)
        .field("conflicts", conflicts.clone())
        .field(
            "fetch",
            json!({
                "strategy": report.stats.strategy,
                "depth": report.stats.depth,
                "requests": report.stats.fetch.requests,
                "objects": report.stats.fetch.objects,
                "bytes": report.stats.fetch.bytes,
                "commits_walked": report.stats.commits_walked,
            }),
        )
        .field(
            "push",
            json!({
                "objects": report.stats.pushed_objects,
                "pack_bytes": report.stats.pack_bytes,
                "messages": report.messages,
            }),
        )
        .output("merge-kind", report.plan.as_str())
        .output("new-sha", report.new.to_string());
    let dry = if report.pushed || report.rejection.is_some() {
        ""
    } else {
        "dry run: "
    };
    match (&report.plan, &report.rejection) {
        (_, Some((Rejection::Protected, reason))) => {
            outcome.verdict = Verdict::No;
            outcome = outcome
                .reason(format!(
                    "the server refused the {} of `{to}` ({old} → {}): {reason}",
                    report.plan.as_str(),
                    short_new(report)
                ))
                .failure(
                    Code::SyncPushRejected,
                    "push rejected",
                    format!(
                        "the push to `{to}` was refused: {reason}{}",
                        remote_said(&report.messages)
                    ),
                    plan::runbook_protected(to, login.as_deref()),
                );
            outcome.details = remote_block(&report.messages);
        }
        (_, Some((Rejection::Moved, reason))) => {
            outcome.verdict = Verdict::No;
            outcome = outcome
                .reason(format!(
                    "`{to}` advanced concurrently: it moved during each of {} attempt(s) ({reason})",
                    report.attempts
                ))
                .failure(
                    Code::SyncRaced,
                    "staging advanced concurrently",
                    format!(
                        "`{to}` advanced concurrently: it moved between the fetch and the push in all {} attempt(s); nothing was forced",
                        report.attempts
                    ),
                    "re-run the job (the next run starts from the new tip); if it keeps happening, serialise the workflow with a `concurrency:` group",
                );
        }
        (_, Some((Rejection::Other, reason))) => {
            outcome.verdict = Verdict::No;
            outcome = outcome
                .reason(format!("the server refused the update of `{to}`: {reason}"))
                .failure(
                    Code::SyncPushRejected,
                    "push rejected",
                    format!(
                        "the push to `{to}` was refused: {reason}{}",
                        remote_said(&report.messages)
                    ),
                    "read the server's reason above; fix the repository or branch settings and re-run",
                );
            outcome.details = remote_block(&report.messages);
        }
        (Plan::UpToDate, None) => {
            outcome = outcome.reason(format!(
                "`{from}` ({main}) is already in `{to}` ({old}): nothing to push"
            ));
        }
        (Plan::FastForward, None) => {
            outcome = outcome.reason(format!(
                "{dry}fast-forwarded `{to}` from {old} to {new} (`{from}`'s tip)"
            ));
        }
        (Plan::Merge, None) => {
            let who = report
                .identity
                .as_ref()
                .map(|i| format!(" as {} <{}>", i.name, i.email))
                .unwrap_or_default();
            outcome = outcome.reason(format!(
                "{dry}merged `{from}` ({main}) into `{to}` ({old}){who}: new tip {new}"
            ));
        }
        (Plan::Conflict { paths }, None) => {
            outcome.verdict = Verdict::No;
            let list = paths
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ");
            outcome = outcome
                .reason(format!(
                    "merging `{from}` ({main}) into `{to}` ({old}) conflicts in {} path(s): {list}; nothing was pushed",
                    paths.len()
                ))
                .failure(
                    Code::SyncConflict,
                    "merge conflict",
                    format!(
                        "merging `{from}` into `{to}` conflicts in {} path(s): {list}",
                        paths.len()
                    ),
                    format!("runbook A: merge by hand and push `{to}` (the recipe is in the step summary); nothing was pushed"),
                );
            outcome.details = plan::recipe(from, to, paths);
        }
        (Plan::Unrelated, None) => {
            outcome.verdict = Verdict::No;
            outcome = outcome
                .reason(format!("`{from}` and `{to}` share no history"))
                .failure(
                    Code::SyncUnrelated,
                    "unrelated histories",
                    format!("`{from}` ({main}) and `{to}` ({old}) have no common commit"),
                    "check that `sync.from`/`sync.to` name the right branches; joining unrelated histories is a manual decision (`git merge --allow-unrelated-histories`)",
                );
        }
    }
    if let Some(login) = &login {
        outcome = outcome.field("login", login.as_str());
    }
    outcome
}

fn short_new(report: &Report) -> String {
    crate::sha::short(&report.new.to_string()).to_owned()
}

fn remote_said(messages: &[String]) -> String {
    if messages.is_empty() {
        String::new()
    } else {
        format!("; the server said: {}", messages.join(" / "))
    }
}

fn remote_block(messages: &[String]) -> String {
    if messages.is_empty() {
        return String::new();
    }
    let mut text = String::from("The server said:\n\n```\n");
    for line in messages {
        text.push_str("remote: ");
        text.push_str(line);
        text.push('\n');
    }
    text.push_str("```\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_checked() {
        assert!(validate_branches("main", "staging").is_ok());
        for (from, to) in [
            ("", "staging"),
            ("main", " "),
            ("main", "main"),
            ("ma..in", "staging"),
            ("main", "refs/heads/staging"),
        ] {
            let err = validate_branches(from, to).expect_err("invalid");
            assert_eq!(err.exit_code(), 2, "{from:?} {to:?}");
        }
    }

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
