//! sync's report step: the act step's report (plan, tips, fetch and push numbers, the
//! server's messages) as the outcome, with a runbook for every way it can be red.

use crate::output::Output;
use serde_json::json;

use crate::code::Code;
use crate::{config::Config, forge, git::Remote, Mode, Outcome, Verdict};

use super::{
    act::Report,
    plan::{self, Plan, PushRefusal},
};

/// `--check-token`: the account, the remote that accepted it, and whether the account may
/// write the repository (the advertisement alone does not prove it: Gitea serves it to a
/// read-only account and refuses the push later).
pub(super) fn token_checked(
    user: Option<&forge::User>,
    remote: &Remote,
    permissions: forge::Permission,
) -> Outcome {
    let login = user.map_or("?", |u| u.login.as_str());
    let outcome = Outcome::new(
        Mode::Sync,
        if permissions.push {
            Verdict::Ok
        } else {
            Verdict::No
        },
    )
    .reason(format!("the token belongs to `{login}`"))
    .reason(format!(
        "`{}` accepted it for an authenticated receive-pack advertisement",
        remote.url()
    ))
    .reason(format!(
        "the account's permission on the repository: {}",
        if permissions.admin {
            "admin"
        } else if permissions.push {
            "write"
        } else if permissions.pull {
            "read only"
        } else {
            "none"
        }
    ))
    .field("login", login)
    .field("remote", remote.url())
    .field("can_write", permissions.push);
    if permissions.push {
        return outcome;
    }
    outcome.failure(
        Code::SyncTokenReadOnly,
        format!("`{login}` may read the repository but not push to it: a sync with this token would be refused"),
        "give the account write access to the repository (a collaborator with Write, or a team with code write), or use the sync account's token",
    )
}

/// The act step's report as what the runner sees.
pub(super) fn outcome(
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
        .output(Output::MergeKind, report.plan.as_str())
        .output(Output::NewSha, report.new.to_string());
    let dry = if report.pushed || report.rejection.is_some() {
        ""
    } else {
        "dry run: "
    };
    match (&report.plan, &report.rejection) {
        (_, Some((PushRefusal::Protected, reason))) => {
            outcome.verdict = Verdict::No;
            outcome = outcome
                .reason(format!(
                    "the server refused the {} of `{to}` ({old} → {}): {reason}",
                    report.plan.as_str(),
                    short_new(report)
                ))
                .failure(
                    Code::SyncPushRejected,
                    format!(
                        "the push to `{to}` was refused: {reason}{}",
                        remote_said(&report.messages)
                    ),
                    plan::runbook_protected(to, login.as_deref()),
                );
            outcome.details = remote_block(&report.messages);
        }
        (_, Some((PushRefusal::Moved, reason))) => {
            outcome.verdict = Verdict::No;
            outcome = outcome
                .reason(format!(
                    "`{to}` advanced concurrently: it moved during each of {} attempt(s) ({reason})",
                    report.attempts
                ))
                .failure(
                    Code::SyncRaced,
                    format!(
                        "`{to}` advanced concurrently: it moved between the fetch and the push in all {} attempt(s); nothing was forced",
                        report.attempts
                    ),
                    "re-run the job (the next run starts from the new tip); if it keeps happening, serialise the workflow with a `concurrency:` group",
                );
        }
        (_, Some((PushRefusal::Other, reason))) => {
            outcome.verdict = Verdict::No;
            outcome = outcome
                .reason(format!("the server refused the update of `{to}`: {reason}"))
                .failure(
                    Code::SyncPushRejected,
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
                    format!(
                        "merging `{from}` into `{to}` conflicts in {} path(s): {list}",
                        paths.len()
                    ),
                    format!("runbook A: merge by hand and push `{to}` (the recipe is printed below in this job's log, and in the step summary where the runner shows one; push as an account on `{to}`'s push allowlist); nothing was pushed"),
                );
            outcome.details = plan::recipe(from, to, paths);
        }
        (Plan::Unrelated, None) => {
            outcome.verdict = Verdict::No;
            outcome = outcome
                .reason(format!("`{from}` and `{to}` share no history"))
                .failure(
                    Code::SyncUnrelated,
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
