//! Mode `review-fire`: post the review gates' commit statuses honestly.
//!
//! - gather ([`gather`]): the PR, the base branch's policy, reviews, labels, teams and
//!   memberships, all fresh from the API, never from the event;
//! - decide ([`verdict::decide`], through the one [`approval::genuine`] predicate);
//! - act ([`act`]): with the head re-read (and its statuses read beside it), skip
//!   unchanged statuses, dispatch, post with the separate status token;
//! - report ([`report`]).
//!
//! Any read that fails is cannot-verify: the run tries to post `error` to the gates'
//! contexts and exits 2. `--diagnose` ([`diagnose`]) stops after the policy is read.

mod act;
pub mod approval;
pub mod diagnose;
mod error;
mod gather;
mod report;
pub mod trigger;
pub mod verdict;

use crate::{
    arguments::ReviewArgs,
    config::Config,
    context::{Event, RepoRef},
    forge::{Client, PullRequest, User},
    sha::short,
    Invocation, Outcome,
};

pub use self::error::{Error, ProbeRefusal};

use self::{
    act::Target,
    report::{not_applicable, Unposted},
    trigger::{Command, Trigger},
};

/// Run the review-fire mode.
pub async fn run(invocation: &Invocation, args: &ReviewArgs) -> Result<Outcome, crate::Error> {
    // The token first: a missing secret is named plainly, whatever else is missing.
    let read = invocation
        .client("review-fire reads the pull request, its reviews and team memberships")?;
    let repo = invocation.ctx.require_repo()?.clone();
    let (number, command) = match trigger::resolve(invocation.ctx.event.as_ref(), args.pr) {
        Trigger::NotApplicable(why) => return Ok(not_applicable(why, None)),
        Trigger::NoPull(why) => {
            return Err(crate::Error::MissingContext {
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
        reader: None,
        target: None,
        posted: Vec::new(),
        notes: Vec::new(),
    };
    match session.evaluate().await {
        Ok(outcome) => Ok(outcome),
        Err(error) => Ok(session.fail(&error).await),
    }
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
    /// The read token's account, once asked (with the status token's, to tell them apart).
    reader: Option<User>,
    target: Option<Target>,
    /// Contexts posted in this run.
    posted: Vec<String>,
    /// Things worth saying in the report (head moves, skipped posts).
    notes: Vec<String>,
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
fn write_client(invocation: &Invocation, config: &Config) -> Result<Client, crate::Error> {
    let ctx = &invocation.ctx;
    let allow = config.review.allow_single_token;
    match (&ctx.status_token, &ctx.token) {
        (Some(status), Some(token)) if status == token && !allow => {
            Err(Error::StatusTokenIsReadToken.into())
        }
        (Some(status), _) => invocation.client_with(status.clone()),
        (None, Some(token)) if allow => invocation.client_with(token.clone()),
        (None, _) => Err(Error::StatusTokenMissing {
            via_action: ctx.via_action,
        }
        .into()),
    }
}

/// Two tokens are two credentials, not two accounts: the status token must belong to another
/// account than the read token (`GET /user` with each), or one account both computes and
/// posts the verdict. Runs before anything is posted, so a refusal posts nothing.
/// Returns the read token's account, which gather then need not ask for again.
async fn distinct_accounts(read: &Client, write: &Client) -> Result<User, crate::Error> {
    let (reader, writer) = tokio::try_join!(read.current_user(), write.current_user())?;
    if reader.login.eq_ignore_ascii_case(&writer.login) {
        return Err(Error::StatusAccountIsReadAccount {
            login: writer.login,
        }
        .into());
    }
    Ok(reader)
}

impl Session<'_> {
    async fn evaluate(&mut self) -> Result<Outcome, crate::Error> {
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
                return diagnose::run(&self.read, &self.repo, &pr, &gates).await;
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
            let write = if !self.invocation.dry_run && self.write.is_none() {
                Some(write_client(self.invocation, &config)?)
            } else {
                None
            };
            // The read token's account (with two tokens: and that the status token is
            // another account's) is asked beside the reviews, labels and teams.
            let check = write.is_some() && !config.review.allow_single_token;
            let account = async {
                match (&self.reader, &write) {
                    (Some(known), _) => Ok::<User, crate::Error>(known.clone()),
                    (None, Some(write)) if check => distinct_accounts(&self.read, write).await,
                    (None, _) => Ok(self.read.current_user().await?),
                }
            };
            let (account, reads) =
                tokio::join!(account, gather::read(&self.read, &self.repo, &pr, &config));
            // The accounts decide first: a refused status token posts nothing, whatever
            // else failed; once they pass, a failed read posts `error`.
            let user = account?;
            if let Some(write) = write {
                if check {
                    self.reader = Some(user.clone());
                }
                self.write = Some(write);
            }
            let gathered =
                gather::gather(&self.read, &self.repo, &pr, &config, &gates, reads?, &user).await?;
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
                return Ok(report::decided(&pr, &decision, &posted, &self.notes, false));
            }

            // Never post to an old head: re-read it, re-evaluate once if it moved. The
            // head's statuses are read beside it (they are dropped if it moved).
            let (now, existing) = tokio::join!(
                self.read.pull(&self.repo, self.number),
                self.read.statuses(&self.repo, &pr.head.sha)
            );
            let now = now?;
            if now.head.sha == pr.head.sha {
                let posted = act::post(
                    self.write.as_ref(),
                    &self.repo,
                    &pr,
                    &decision,
                    &existing?,
                    &mut self.posted,
                    &mut self.notes,
                )
                .await?;
                let outcome = report::decided(&pr, &decision, &posted, &self.notes, true);
                let (Some(style), true) = (config.review.merge, decision.all_pass()) else {
                    return Ok(outcome);
                };
                let write = self.write.as_ref().ok_or(Error::NoStatusClient)?;
                // The gates are posted and stay as they are, whatever the merge does.
                return Ok(match act::merge(write, &self.repo, &pr, style).await {
                    Ok(merge) => report::merged(outcome, &pr, style, &merge),
                    Err(error) => report::merge_failed(outcome, &error),
                });
            }
            self.notes.push(format!(
                "the head moved from `{}` to `{}` while deciding: re-evaluated",
                short(&pr.head.sha),
                short(&now.head.sha)
            ));
            if attempt >= 2 {
                // The newer head has its own run coming; an `error` here could race it.
                self.target = None;
                return Err(Error::HeadMoving {
                    number: self.number,
                    now: short(&now.head.sha).to_owned(),
                }
                .into());
            }
            pr = now;
        }
    }

    /// Cannot verify: try to post `error` to every context this run is responsible for
    /// (never `success`), then report exit 2 either way.
    async fn fail(&self, error: &crate::Error) -> Outcome {
        let description = report::error_description(error);
        let (write, unposted) = match (&self.write, self.invocation.dry_run || self.diagnose) {
            (_, true) => (None, Some(Unposted::DryRun)),
            (Some(write), false) => (Some(write), None),
            (None, false) => (None, Some(Unposted::NoStatusToken)),
        };
        let posts = match &self.target {
            Some(target) => {
                act::post_errors(write, &self.repo, target, &description, &self.posted).await
            }
            None => Vec::new(),
        };
        report::failed(
            error,
            &self.notes,
            self.target.as_ref(),
            unposted,
            &posts,
            &description,
        )
    }
}
