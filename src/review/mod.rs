//! Mode `review-fire`: post the review gates' commit statuses honestly.
//!
//! Gather (PR, base-branch policy, reviews, labels, teams, memberships: all fresh from
//! the API, never from the event) → decide ([`verdict::decide`], through the one
//! [`approval::genuine`] predicate) → act (re-read the head, skip unchanged statuses,
//! dispatch, post with the separate status token) → report. Any read that fails is
//! cannot-verify: the run tries to post `error` to the gates' contexts and exits 2.

pub mod approval;
pub mod diagnose;
mod gather;
pub mod post;
pub mod trigger;
pub mod verdict;

use serde_json::{json, Value};

use crate::code::Code;
use crate::{
    arguments::ReviewArgs,
    config::{Config, Gate},
    context::{Event, RepoRef},
    forge::{Client, CreateStatus, PullRequest},
    report::Mode,
    sha::short,
    Error, Invocation, Outcome, Verdict,
};

use self::{
    diagnose::Finding,
    trigger::{Command, Trigger},
    verdict::{Decision, GateDecision, State},
};

/// Run the review-fire mode.
pub async fn run(invocation: &Invocation, args: &ReviewArgs) -> Result<Outcome, Error> {
    // The token first: a missing secret is named plainly, whatever else is missing.
    let read = invocation
        .client("review-fire reads the pull request, its reviews and team memberships")?;
    let repo = invocation.ctx.require_repo()?.clone();
    let (number, command) = match trigger::resolve(invocation.ctx.event.as_ref(), args.pr) {
        Trigger::NotApplicable(why) => return Ok(not_applicable(why, None)),
        Trigger::NoPull(why) => {
            return Err(Error::MissingContext {
                what: "the pull request",
                why,
            })
        }
        Trigger::Evaluate { pr, command } => (pr, command),
        Trigger::CheckIssue { number, command } => (number, Some(command)),
    };
    if let Some(Event::IssueComment { is_pull: false, .. }) = invocation.ctx.event.as_ref() {
        // The payload says "not a pull request"; a recheck must not silently do nothing
        // on the word of a payload, so ask the API.
        let issue = read.issue(&repo, number).await?;
        if issue
            .pull_request
            .as_ref()
            .is_none_or(serde_json::Value::is_null)
        {
            return Ok(not_applicable(
                format!("comment on issue #{number}, which is not a pull request"),
                None,
            ));
        }
    }
    let mut session = Session {
        invocation,
        diagnose: args.diagnose,
        repo,
        number,
        command,
        read,
        write: None,
        target: None,
        posted: Vec::new(),
        notes: Vec::new(),
    };
    match session.evaluate().await {
        Ok(outcome) => Ok(outcome),
        Err(error) => Ok(session.fail(&error).await),
    }
}

/// Where statuses go once the head and the policy are known.
struct Target {
    head: String,
    html_url: String,
    /// (gate name, context) pairs this run is responsible for.
    contexts: Vec<(String, String)>,
}

struct Session<'a> {
    invocation: &'a Invocation,
    diagnose: bool,
    repo: RepoRef,
    number: u64,
    command: Option<Command>,
    read: Client,
    /// The status-writing client, once the policy allows one.
    write: Option<Client>,
    target: Option<Target>,
    /// Contexts posted in this run.
    posted: Vec<String>,
    /// Things worth saying in the report (head moves, skipped posts).
    notes: Vec<String>,
}

fn not_applicable(why: String, head: Option<&str>) -> Outcome {
    let mut outcome = Outcome::new(Mode::ReviewFire, Verdict::NotApplicable)
        .reason(format!("not applicable: {why}; nothing posted"))
        .field("gates", Value::Array(Vec::new()));
    if let Some(head) = head {
        outcome = outcome.field("head_sha", head);
    }
    outcome
}

/// The pull request's own reasons not to evaluate it.
fn not_applicable_pr(pr: &PullRequest, config: Option<&Config>) -> Option<String> {
    if pr.merged {
        return Some(format!("pull request #{} is merged", pr.number));
    }
    if pr.state != "open" {
        return Some(format!("pull request #{} is {}", pr.number, pr.state));
    }
    let config = config?;
    if !config.review.branches.iter().any(|b| b == &pr.base.git_ref) {
        return Some(format!(
            "base branch `{}` is not one of `review.branches` ({})",
            pr.base.git_ref,
            config.review.branches.join(", ")
        ));
    }
    if pr.head.sha == pr.base.sha {
        return Some(format!(
            "the head equals the base `{}`: nothing to review",
            short(&pr.head.sha)
        ));
    }
    None
}

/// The client that posts statuses: the status token, or the read token only when the
/// base branch's policy explicitly allows a single token.
fn write_client(invocation: &Invocation, config: &Config) -> Result<Client, Error> {
    let ctx = &invocation.ctx;
    let allow = config.review.allow_single_token;
    let hint = "set SHIPGATE_STATUS_TOKEN (the action's status token) to a write:repository token \
                of another account than the read token's, or set `review.allow_single_token: true` \
                in the base branch's .gitea/shipgate.yml to accept one token for both";
    match (&ctx.status_token, &ctx.token) {
        (Some(status), Some(token)) if status == token && !allow => Err(Error::CannotVerify {
            code: Code::ReviewStatusToken,
            what: "the status token".into(),
            why: "SHIPGATE_STATUS_TOKEN is the same token as SHIPGATE_TOKEN, and \
                  `review.allow_single_token` is false: the credential that computes a verdict must \
                  not be the one that posts it"
                .into(),
            hint: hint.into(),
        }),
        (Some(status), _) => invocation.client_with(status.clone()),
        (None, Some(token)) if allow => invocation.client_with(token.clone()),
        (None, _) => Err(Error::CannotVerify {
            code: Code::ReviewStatusToken,
            what: "the status token".into(),
            why: "SHIPGATE_STATUS_TOKEN is not set, and `review.allow_single_token` is false: the \
                  read token is never used to post"
                .into(),
            hint: hint.into(),
        }),
    }
}

/// Words safe in a status description (no backticks, no line breaks).
fn plain(text: &str) -> String {
    text.replace('`', "").replace(['\n', '\r'], " ")
}

/// The description of an `error` status: short, and free of URLs and tokens.
fn error_description(error: &Error) -> String {
    let what = match error {
        Error::CannotVerify { what, .. } => format!("shipgate could not verify {}", plain(what)),
        other => format!("shipgate could not verify: {}", other.title()),
    };
    verdict::fit(&format!("{what}; see the review-fire job log"))
}

fn gate_json(gate: &GateDecision, posted: bool) -> Value {
    json!({
        "name": gate.name,
        "context": gate.context,
        "state": gate.state.as_str(),
        "description": gate.description,
        "posted": posted,
    })
}

/// A Markdown cell: no pipes, no line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The step summary's tables: one row per gate, one per reviewer.
fn details(decision: &Decision, posted: &[bool]) -> String {
    let mut text =
        String::from("| gate | context | state | description | posted |\n|---|---|---|---|---|\n");
    for (gate, posted) in decision.gates.iter().zip(posted) {
        text.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            cell(&gate.name),
            cell(&gate.context),
            gate.state.as_str(),
            cell(&gate.description),
            if *posted { "yes" } else { "no" }
        ));
    }
    if !decision.approvals.is_empty() {
        text.push_str("\n| reviewer | counted | why |\n|---|---|---|\n");
        for row in &decision.approvals {
            text.push_str(&format!(
                "| {} | {} | {} |\n",
                cell(&row.login),
                if row.counted { "yes" } else { "no" },
                cell(&row.why)
            ));
        }
    }
    text
}

impl Session<'_> {
    async fn evaluate(&mut self) -> Result<Outcome, Error> {
        let mut pr = self.read.pull(&self.repo, self.number).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(why) = not_applicable_pr(&pr, None) {
                return Ok(not_applicable(why, Some(&pr.head.sha)));
            }
            let config = self
                .invocation
                .base_config(&self.read, &self.repo, &pr.base.sha)
                .await?;
            if let Some(why) = not_applicable_pr(&pr, Some(&config)) {
                return Ok(not_applicable(why, Some(&pr.head.sha)));
            }
            let (gates, tier_check, refire) = match &self.command {
                None => (config.review.gates.clone(), true, None),
                Some(command) => match trigger::gate_for(&config.review.gates, &command.command) {
                    Some(gate) => (
                        vec![gate.clone()],
                        false,
                        Some(format!("Refired via {} by {}", command.command, command.by)),
                    ),
                    None => {
                        let known: Vec<&str> = config
                            .review
                            .gates
                            .iter()
                            .map(|g| g.command.as_str())
                            .collect();
                        return Ok(not_applicable(
                            format!(
                                "`{}` is not a recheck command here (configured: {})",
                                command.command,
                                if known.is_empty() {
                                    "none".into()
                                } else {
                                    known.join(", ")
                                }
                            ),
                            Some(&pr.head.sha),
                        ));
                    }
                },
            };
            if self.diagnose {
                return self.diagnose(&pr, &gates).await;
            }
            let mut contexts: Vec<(String, String)> = gates
                .iter()
                .map(|g| (g.name.clone(), g.context.clone()))
                .collect();
            if tier_check {
                if let Some(check) = &config.review.tier_check {
                    contexts.push(("tier-check".into(), check.context.clone()));
                }
            }
            self.target = Some(Target {
                head: pr.head.sha.clone(),
                html_url: pr.html_url.clone(),
                contexts,
            });
            if !self.invocation.dry_run && self.write.is_none() {
                self.write = Some(write_client(self.invocation, &config)?);
            }

            let gathered = gather::gather(&self.read, &self.repo, &pr, &config, &gates).await?;
            let mut decision = verdict::decide(&verdict::Input {
                config: &config,
                gates: &gates,
                tier_check,
                labels: &gathered.labels,
                reduction: &gathered.reduction,
                teams: &gathered.teams,
            });
            if let Some(prefix) = &refire {
                for gate in &mut decision.gates {
                    gate.description = verdict::fit(&format!("{prefix}; {}", gate.description));
                }
            }
            if self.invocation.dry_run {
                self.notes.push("dry run: nothing posted".into());
                let posted = vec![false; decision.gates.len()];
                return Ok(self.report(&pr, &decision, &posted));
            }

            // Never post to an old head: re-read it, re-evaluate once if it moved.
            let now = self.read.pull(&self.repo, self.number).await?;
            if now.head.sha == pr.head.sha {
                let posted = self.post(&pr, &decision).await?;
                return Ok(self.report(&pr, &decision, &posted));
            }
            self.notes.push(format!(
                "the head moved from `{}` to `{}` while deciding: re-evaluated",
                short(&pr.head.sha),
                short(&now.head.sha)
            ));
            if attempt >= 2 {
                // The newer head has its own run coming; an `error` here could race it.
                self.target = None;
                return Err(Error::CannotVerify {
                    code: Code::ReviewHeadMoving,
                    what: format!("a stable head for pull request #{}", self.number),
                    why: format!(
                        "the head moved twice while the gates were decided (now `{}`); nothing was posted",
                        short(&now.head.sha)
                    ),
                    hint: "the push that moved it triggers its own run; re-run this job or comment a \
                           recheck command once pushes settle"
                        .into(),
                });
            }
            pr = now;
        }
    }

    /// Post every changed status to the head, non-success first; dispatch gate
    /// workflows whose floor holds and whose status changes.
    async fn post(&mut self, pr: &PullRequest, decision: &Decision) -> Result<Vec<bool>, Error> {
        let head = &pr.head.sha;
        let existing = self.read.statuses(&self.repo, head).await?;
        let newest = post::newest_by_context(&existing);
        let skip: Vec<bool> = decision
            .gates
            .iter()
            .map(|g| post::unchanged(&newest, g))
            .collect();
        let write = self.write.clone().ok_or_else(|| Error::CannotVerify {
            code: Code::ReviewStatusToken,
            what: "the status token".into(),
            why: "no client to post with".into(),
            hint: "set SHIPGATE_STATUS_TOKEN".into(),
        })?;
        for (gate, skipped) in decision.gates.iter().zip(&skip) {
            if *skipped {
                self.notes.push(format!(
                    "`{}` already says {} with the same description: not re-posted",
                    gate.context,
                    gate.state.as_str()
                ));
                continue;
            }
            if let (Some(workflow), true) = (&gate.dispatch, gate.floor_holds) {
                let mut inputs = serde_json::Map::new();
                inputs.insert("pr".into(), Value::String(pr.number.to_string()));
                inputs.insert("sha".into(), Value::String(head.clone()));
                write
                    .dispatch_workflow(&self.repo, workflow, &pr.base.git_ref, &inputs)
                    .await?;
                self.notes.push(format!(
                    "dispatched `{workflow}` on `{}` with pr={} sha={}",
                    pr.base.git_ref,
                    pr.number,
                    short(head)
                ));
            }
        }
        let mut posted = vec![false; decision.gates.len()];
        for index in post::order(&decision.gates, &skip) {
            let gate = &decision.gates[index];
            write
                .create_status(
                    &self.repo,
                    head,
                    &CreateStatus {
                        state: gate.state.as_str().into(),
                        context: gate.context.clone(),
                        description: gate.description.clone(),
                        target_url: pr.html_url.clone(),
                    },
                )
                .await?;
            self.posted.push(gate.context.clone());
            posted[index] = true;
        }
        Ok(posted)
    }

    fn report(&self, pr: &PullRequest, decision: &Decision, posted: &[bool]) -> Outcome {
        let verdict = if decision.all_pass() {
            Verdict::Ok
        } else {
            Verdict::No
        };
        let mut outcome = Outcome::new(Mode::ReviewFire, verdict);
        for (gate, posted) in decision.gates.iter().zip(posted) {
            outcome = outcome.reason(format!(
                "`{}`: {} — {}{}",
                gate.context,
                gate.state.as_str(),
                gate.description,
                if *posted {
                    format!(" (posted to `{}`)", short(&pr.head.sha))
                } else {
                    String::new()
                }
            ));
        }
        if decision.gates.is_empty() {
            outcome = outcome.reason("no gates configured in `review.gates`");
        }
        for reason in decision.reasons.iter().chain(&self.notes) {
            outcome = outcome.reason(reason.clone());
        }
        let approvals: Vec<Value> = decision
            .approvals
            .iter()
            .map(|a| json!({"login": a.login, "counted": a.counted, "why": a.why}))
            .collect();
        let gates: Vec<Value> = decision
            .gates
            .iter()
            .zip(posted)
            .map(|(g, p)| gate_json(g, *p))
            .collect();
        outcome.details = details(decision, posted);
        outcome = outcome
            .field("pr", pr.number)
            .field("head_sha", pr.head.sha.as_str())
            .field(
                "tier",
                decision.tier.clone().map_or(Value::Null, Value::String),
            )
            .field("approvals", Value::Array(approvals))
            .field("gates", Value::Array(gates))
            .output("head-sha", pr.head.sha.as_str())
            .output("tier", decision.tier.clone().unwrap_or_default());
        if verdict == Verdict::No {
            let open: Vec<String> = decision
                .gates
                .iter()
                .filter(|g| g.state != State::Success)
                .map(|g| format!("`{}` is {}: {}", g.context, g.state.as_str(), g.description))
                .collect();
            let hint = if decision.gates.iter().any(|g| g.state == State::Failure) {
                "resolve what the failing gate names (a change request, the tier label, the missing \
                 team approvals); the next review event or a recheck comment re-fires the gates"
            } else {
                "the gates turn green once the missing genuine approvals arrive; a review event or a \
                 recheck comment (e.g. /qa-recheck) re-fires them"
            };
            outcome = outcome.failure(
                Code::ReviewGatesNotPassed,
                "gates not passed",
                open.join("; "),
                hint,
            );
        }
        outcome
    }

    async fn diagnose(&self, pr: &PullRequest, gates: &[Gate]) -> Result<Outcome, Error> {
        let head = &pr.head.sha;
        let mut findings = Vec::new();
        for gate in gates {
            let finding = match &gate.workflow {
                None => Finding {
                    gate: gate.name.clone(),
                    workflow: None,
                    auto_fire: None,
                    why: format!(
                        "gate `{}` names no `workflow`: nothing to check",
                        gate.name
                    ),
                },
                Some(path) => match self.read.file_at(&self.repo, path, head).await? {
                    None => Finding {
                        gate: gate.name.clone(),
                        workflow: Some(path.clone()),
                        auto_fire: Some(false),
                        why: format!(
                            "auto-fire impossible for this PR: `{path}` does not exist at the head `{}`",
                            short(head)
                        ),
                    },
                    Some(bytes) => {
                        let text = String::from_utf8_lossy(&bytes);
                        match diagnose::has_review_trigger(&text) {
                            Ok(true) => Finding {
                                gate: gate.name.clone(),
                                workflow: Some(path.clone()),
                                auto_fire: Some(true),
                                why: format!(
                                    "`{path}` at the head `{}` has a `pull_request_review` trigger: review events fire the gate",
                                    short(head)
                                ),
                            },
                            Ok(false) => Finding {
                                gate: gate.name.clone(),
                                workflow: Some(path.clone()),
                                auto_fire: Some(false),
                                why: format!(
                                    "auto-fire impossible for this PR: `{path}` at the head `{}` has no `pull_request_review` trigger",
                                    short(head)
                                ),
                            },
                            Err(why) => {
                                return Err(Error::CannotVerify {
                                    code: Code::ReviewWorkflowUnreadable,
                                    what: format!("the workflow `{path}` at the head `{}`", short(head)),
                                    why,
                                    hint: "fix the workflow file; Gitea cannot run it either".into(),
                                })
                            }
                        }
                    }
                },
            };
            findings.push(finding);
        }
        let impossible: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.auto_fire == Some(false))
            .collect();
        let mut outcome = Outcome::new(
            Mode::ReviewFire,
            if impossible.is_empty() {
                Verdict::Ok
            } else {
                Verdict::No
            },
        );
        for finding in &findings {
            outcome = outcome.reason(finding.why.clone());
        }
        let commands: Vec<String> = impossible
            .iter()
            .filter_map(|f| gates.iter().find(|g| g.name == f.gate))
            .map(|g| format!("`{}`", g.command))
            .collect();
        let remedies = format!(
            "Gitea loads `pull_request_review` workflows from the PR head, so either rebase the PR onto \
             `{}` to pick up the current workflows (this dismisses existing approvals), or comment {} on \
             the PR to post the honest verdict now (a command cannot add the missing trigger)",
            pr.base.git_ref,
            commands.join(" or ")
        );
        if !impossible.is_empty() {
            outcome = outcome.reason(format!("remedies: {remedies}")).failure(
                Code::ReviewAutoFireImpossible,
                "auto-fire impossible",
                format!(
                    "auto-fire impossible for this PR: {}",
                    impossible
                        .iter()
                        .map(|f| f.gate.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                remedies,
            );
        }
        outcome = outcome.reason("diagnose: nothing posted");
        let diagnosis: Vec<Value> = findings
            .iter()
            .map(|f| {
                json!({
                    "gate": f.gate,
                    "workflow": f.workflow,
                    "auto_fire": f.auto_fire,
                    "why": f.why,
                })
            })
            .collect();
        Ok(outcome
            .field("pr", pr.number)
            .field("head_sha", head.as_str())
            .field("diagnosis", Value::Array(diagnosis)))
    }

    /// Cannot verify: try to post `error` to every context this run is responsible for
    /// (never `success`), then report exit 2 either way.
    async fn fail(&mut self, error: &Error) -> Outcome {
        let mut outcome = Outcome::from_error(Mode::ReviewFire, error);
        for note in &self.notes {
            outcome = outcome.reason(note.clone());
        }
        let Some(target) = &self.target else {
            return outcome
                .reason("nothing posted: the head or the gates were not known yet")
                .field("gates", Value::Array(Vec::new()));
        };
        outcome = outcome.field("head_sha", target.head.as_str());
        let description = error_description(error);
        let mut gates = Vec::new();
        let write = match (&self.write, self.invocation.dry_run || self.diagnose) {
            (Some(write), false) => Some(write.clone()),
            (_, true) => {
                outcome = outcome.reason("nothing posted (dry run)");
                None
            }
            (None, false) => {
                outcome = outcome.reason("no `error` status posted: there is no status token");
                None
            }
        };
        for (name, context) in &target.contexts {
            if self.posted.contains(context) {
                continue;
            }
            let mut posted = false;
            if let Some(write) = &write {
                let status = CreateStatus {
                    state: State::Error.as_str().into(),
                    context: context.clone(),
                    description: description.clone(),
                    target_url: target.html_url.clone(),
                };
                match write.create_status(&self.repo, &target.head, &status).await {
                    Ok(_) => {
                        posted = true;
                        outcome = outcome.reason(format!(
                            "posted `error` to `{context}` on `{}`",
                            short(&target.head)
                        ));
                    }
                    Err(e) => {
                        outcome = outcome
                            .reason(format!("could not post `error` to `{context}` either: {e}"));
                    }
                }
            }
            gates.push(json!({
                "name": name,
                "context": context,
                "state": "error",
                "description": description,
                "posted": posted,
            }));
        }
        outcome.field("gates", Value::Array(gates))
    }
}
