//! Mode `promote`: move `to` (main) forward to `from`'s (staging's) head S once every
//! required context is `success` on S — fast-forward only, never forced.
//!
//! Gather (both tips, S's containment of main through the compare API, S's statuses,
//! main's protection contexts, the open promotion PR) → decide ([`plan::decide`], pure) →
//! act (`--via pull-request`: find or open one PR and merge it fast-forward-only with
//! `head_commit_id` = S, so Gitea itself refuses a moved head; `--via push`: a native
//! push of S with main's read tip as the expected old value) → report. A race re-plans
//! up to `promote.max_attempts` times. Every read happens before the first write.

pub mod plan;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::code::Code;
use crate::{
    arguments::{PromoteArgs, Via},
    config::Config,
    context::RepoRef,
    forge::{self, Client, MergeOptions, Merged, PullRequest},
    git::{
        push::{Pusher, Status as PushStatus},
        Remote, Workspace,
    },
    report::{self, Mode},
    sha::short,
    sync::plan::{classify_rejection, runbook_protected, Rejection},
    Error, Invocation, Outcome, Verdict,
};

use plan::{Check, Facts, Plan, Refusal};

/// Retries of a merge Gitea answers "try again later" (mergeability not computed yet).
const NOT_READY_RETRIES: u32 = 5;

/// Run the promote mode.
pub async fn run(invocation: &Invocation, args: &PromoteArgs) -> Result<Outcome, Error> {
    let client =
        invocation.client("promote reads the branches and statuses, and merges with it")?;
    let repo = invocation.ctx.require_repo()?.clone();
    let config = match &invocation.config_path {
        Some(path) => Config::load(path)?,
        None => {
            let default_branch = client.repository(&repo).await?.default_branch;
            invocation
                .base_config(&client, &repo, &default_branch)
                .await?
        }
    };
    let from = args
        .from
        .clone()
        .unwrap_or_else(|| config.promote.from.clone());
    let to = args.to.clone().unwrap_or_else(|| config.promote.to.clone());
    crate::git::branch::validate_pair(&from, &to)?;
    let remote = match args.via {
        Via::Push => Some(push_remote(invocation, args, &repo)?),
        Via::PullRequest => None,
    };
    let session = Session {
        invocation,
        client,
        repo,
        config,
        from,
        to,
        via: args.via,
        remote,
    };
    session.run(args).await
}

fn push_remote(
    invocation: &Invocation,
    args: &PromoteArgs,
    repo: &RepoRef,
) -> Result<Remote, Error> {
    let token = invocation
        .ctx
        .require_token("promote --via push pushes with it")?
        .clone();
    let url = match &args.remote {
        Some(url) => url.clone(),
        None => format!("{}/{repo}.git", invocation.ctx.require_server()?),
    };
    Ok(Remote::new(&url, token)?.with_connect_timeout(invocation.forge_options.connect_timeout))
}

struct Session<'a> {
    invocation: &'a Invocation,
    client: Client,
    repo: RepoRef,
    config: Config,
    from: String,
    to: String,
    via: Via,
    remote: Option<Remote>,
}

/// Everything one attempt read.
struct Gathered {
    facts: Facts,
    /// The open promotion PR (`from` → `to`, same repository), for `--via pull-request`.
    pr: Option<PullRequest>,
    /// Commits `to` has that S lacks (0 when contained).
    behind: u64,
}

/// What acting did.
enum Acted {
    Done(Outcome),
    /// A branch moved under us: gather again.
    Raced(String),
}

impl Session<'_> {
    async fn run(&self, args: &PromoteArgs) -> Result<Outcome, Error> {
        let max_attempts = self.config.promote.max_attempts.max(1);
        let wait = args.wait.unwrap_or(Duration::ZERO);
        let deadline = Instant::now() + wait;
        let mut attempt = 0u32;
        let mut polls = 0u32;
        let mut notes: Vec<String> = Vec::new();
        loop {
            attempt += 1;
            let gathered = self.gather().await?;
            let (plan, rows) = plan::decide(&gathered.facts);
            if matches!(plan, Plan::Waiting { .. } | Plan::Schedule { .. }) {
                let left = deadline.saturating_duration_since(Instant::now());
                if !left.is_zero() {
                    polls += 1;
                    let missing = match &plan {
                        Plan::Waiting { missing } | Plan::Schedule { missing } => {
                            missing.join(", ")
                        }
                        _ => String::new(),
                    };
                    report::progress(
                        Mode::Promote,
                        &format!(
                            "poll {polls}: waiting for {missing} on `{}` at {}; {}s left",
                            self.from,
                            short(&gathered.facts.from_tip),
                            left.as_secs()
                        ),
                    );
                    tokio::time::sleep(args.poll.min(left).max(Duration::from_millis(10))).await;
                    // A poll is not a race: it does not use up an attempt.
                    attempt -= 1;
                    continue;
                }
            }
            if polls > 0 {
                notes.push(format!("polled {polls} time(s) while checks were pending"));
            }
            let acted = if self.invocation.dry_run {
                Acted::Done(self.dry_run(&plan, &gathered))
            } else {
                self.act(&plan, &rows, &gathered).await?
            };
            match acted {
                Acted::Done(outcome) => {
                    let name = plan_name(&outcome, &plan);
                    let mut outcome = outcome
                        .field("attempts", attempt)
                        .field("via", self.via.as_str())
                        .field("from", self.from.as_str())
                        .field("to", self.to.as_str())
                        .field("dry_run", self.invocation.dry_run)
                        .field("contexts", contexts_json(&rows))
                        .output("plan", name);
                    for note in notes {
                        outcome = outcome.reason(note);
                    }
                    outcome.details = details(&rows);
                    return Ok(outcome);
                }
                Acted::Raced(why) => {
                    notes.push(format!("attempt {attempt}: {why}"));
                    if attempt >= max_attempts {
                        let mut outcome = Outcome::new(Mode::Promote, Verdict::No)
                            .field("plan", "blocked")
                            .field("from_sha", gathered.facts.from_tip.as_str())
                            .field("to_sha", gathered.facts.to_tip.as_str())
                            .field("pr", Value::Null)
                            .field("attempts", attempt)
                            .field("via", self.via.as_str())
                            .field("from", self.from.as_str())
                            .field("to", self.to.as_str())
                            .field("dry_run", false)
                            .field("contexts", contexts_json(&rows))
                            .output("plan", "blocked")
                            .output("promoted-sha", "")
                            .failure(
                                Code::PromoteRaced,
                                "branches moved concurrently",
                                format!(
                                    "`{}` or `{}` moved during each of {attempt} attempt(s); nothing was forced and `{}` got no unchecked commit",
                                    self.from, self.to, self.to
                                ),
                                "re-run the job once pushes settle; serialise promote runs with a `concurrency:` group",
                            );
                        for note in notes {
                            outcome = outcome.reason(note);
                        }
                        return Ok(outcome);
                    }
                    tracing::warn!("{why}; gathering again (attempt {attempt} of {max_attempts})");
                }
            }
        }
    }

    /// Every read of one attempt, before anything is written. When the server's compare
    /// API only takes branch names (Gitea 1.22 answers 404 `BaseNotExist` for a commit
    /// id), the branches are compared by name and read again: the answer only counts if
    /// neither tip moved meanwhile.
    async fn gather(&self) -> Result<Gathered, Error> {
        const ROUNDS: u32 = 3;
        for _ in 0..ROUNDS {
            if let Some(gathered) = self.gather_once().await? {
                return Ok(gathered);
            }
            tracing::warn!("a branch moved while the tips were compared by name; reading again");
        }
        Err(Error::CannotVerify {
            code: Code::PromoteAncestryUnknown,
            what: format!("whether `{}` contains `{}`", self.from, self.to),
            why: format!(
                "this server's compare API takes branch names only, and a branch moved during each of {ROUNDS} reads"
            ),
            hint: "re-run once pushes settle".into(),
        })
    }

    async fn gather_once(&self) -> Result<Option<Gathered>, Error> {
        let (to_branch, from_branch) = tokio::try_join!(
            self.client.branch(&self.repo, &self.to),
            self.client.branch(&self.repo, &self.from),
        )?;
        let (s, m) = (from_branch.commit.id.clone(), to_branch.commit.id.clone());
        let compare = async {
            if s == m {
                return Ok((0, false));
            }
            // The commits of main that S lacks: 0 means main is an ancestor of S.
            match self.client.compare(&self.repo, &s, &m).await {
                Ok(compare) => Ok((compare.total_commits, false)),
                Err(forge::Error::NotFound { .. }) => self
                    .client
                    .compare(&self.repo, &self.from, &self.to)
                    .await
                    .map(|compare| (compare.total_commits, true)),
                Err(e) => Err(e),
            }
        };
        let pulls = async {
            match self.via {
                Via::PullRequest if s != m => self.client.open_pulls(&self.repo).await.map(Some),
                _ => Ok(None),
            }
        };
        let ((behind, by_name), statuses, pulls) =
            tokio::try_join!(compare, self.client.statuses(&self.repo, &s), pulls)?;
        if by_name {
            let (to_now, from_now) = tokio::try_join!(
                self.client.branch(&self.repo, &self.to),
                self.client.branch(&self.repo, &self.from),
            )?;
            if to_now.commit.id != m || from_now.commit.id != s {
                return Ok(None);
            }
        }
        let newest = crate::forge::newest_by_context(&statuses);
        let mut statuses: Vec<plan::Status> = newest
            .values()
            .map(|status| plan::Status {
                context: status.context.clone(),
                state: status.status.clone(),
            })
            .collect();
        statuses.sort_by(|a, b| a.context.cmp(&b.context));
        let protection: Vec<String> = if to_branch.protected && to_branch.enable_status_check {
            to_branch.status_check_contexts.clone().unwrap_or_default()
        } else {
            Vec::new()
        };
        let requirements = plan::requirements(&self.config.promote.required_contexts, &protection);
        let can_schedule = self.via == Via::PullRequest
            && self.config.promote.schedule
            && plan::protection_covers(&requirements);
        let pr = pulls.and_then(|pulls| {
            pulls.into_iter().find(|p| {
                p.head.git_ref == self.from
                    && p.base.git_ref == self.to
                    && (p.head.repo_id == 0 || p.head.repo_id == p.base.repo_id)
            })
        });
        Ok(Some(Gathered {
            facts: Facts {
                from_tip: s,
                to_tip: m,
                to_in_from: behind == 0,
                requirements,
                statuses,
                can_schedule,
            },
            pr,
            behind,
        }))
    }

    fn base(&self, verdict: Verdict, plan: &Plan, gathered: &Gathered) -> Outcome {
        Outcome::new(Mode::Promote, verdict)
            .field("plan", plan.as_str())
            .field("from_sha", gathered.facts.from_tip.as_str())
            .field("to_sha", gathered.facts.to_tip.as_str())
            .field("old_to_sha", gathered.facts.to_tip.as_str())
            .field(
                "pr",
                gathered
                    .pr
                    .as_ref()
                    .map_or(Value::Null, |p| p.number.into()),
            )
            .output("promoted-sha", "")
    }

    /// The verdict of a plan that writes nothing (every plan but promote and schedule,
    /// and all of them in a dry run).
    fn verdict(&self, plan: &Plan, gathered: &Gathered) -> Result<Option<Outcome>, Error> {
        let s = short(&gathered.facts.from_tip).to_owned();
        let m = short(&gathered.facts.to_tip).to_owned();
        let (from, to) = (&self.from, &self.to);
        Ok(Some(match plan {
            Plan::UpToDate => self
                .base(Verdict::Ok, plan, gathered)
                .reason(format!("`{to}` is already at `{from}`'s head {s}: nothing to promote")),
            Plan::NotContained => self
                .base(Verdict::No, plan, gathered)
                .reason(format!(
                    "{from} does not contain {to}: `{to}` ({m}) has {} commit(s) that `{from}` ({s}) lacks",
                    gathered.behind
                ))
                .failure(
                    Code::PromoteNotContained,
                    "staging does not contain main",
                    format!(
                        "{from} does not contain {to}: run sync first (`{to}` at {m} has {} commit(s) `{from}` at {s} lacks; promote only fast-forwards)",
                        gathered.behind
                    ),
                    format!("run `shipgate sync --from {to} --to {from}` (or let the auto-sync workflow run), then promote again; nothing was written"),
                ),
            Plan::NoRequirements => {
                return Err(Error::CannotVerify {
                    code: Code::PromoteNoContexts,
                    what: format!("what green means for `{from}` at {s}"),
                    why: format!(
                        "`promote.required_contexts` is empty in the default branch's config, and `{to}`'s branch protection requires no status check; nothing was written"
                    ),
                    hint: format!(
                        "list the CI contexts under `promote.required_contexts` in .gitea/shipgate.yml on the default branch, or enable status checks in `{to}`'s branch protection"
                    ),
                })
            }
            Plan::Blocked { failing } => self
                .base(Verdict::No, plan, gathered)
                .reason(format!(
                    "required check(s) failed on `{from}` at {s}: {}",
                    failing.join(", ")
                ))
                .failure(
                    Code::PromoteCheckFailed,
                    "required check failed",
                    format!(
                        "`{from}` at {s} cannot be promoted: {} failed; `{to}` stays at {m}",
                        failing.join(", ")
                    ),
                    format!("fix the failure on `{from}` (or re-run its job); promote moves `{to}` only to a commit whose required checks are all success"),
                ),
            Plan::Waiting { missing } => self
                .base(Verdict::No, plan, gathered)
                .reason(format!(
                    "waiting: required check(s) not green yet on `{from}` at {s}: {}",
                    missing.join(", ")
                ))
                .failure(
                    Code::PromoteChecksPending,
                    "required checks not green yet",
                    format!(
                        "`{from}` at {s} is not green yet: {} still pending or missing; `{to}` stays at {m}",
                        missing.join(", ")
                    ),
                    "re-run once the checks finish, or pass --wait (e.g. --wait 20m) to poll",
                ),
            Plan::Promote | Plan::Schedule { .. } => return Ok(None),
        }))
    }

    fn dry_run(&self, plan: &Plan, gathered: &Gathered) -> Outcome {
        let s = short(&gathered.facts.from_tip).to_owned();
        match self.verdict(plan, gathered) {
            Ok(Some(outcome)) => outcome.reason("dry run: nothing written"),
            Err(e) => Outcome::from_error(Mode::Promote, &e).reason("dry run: nothing written"),
            Ok(None) => {
                let how = match (plan, self.via) {
                    (Plan::Schedule { .. }, _) => {
                        "schedule a fast-forward-only merge for when the checks succeed".to_owned()
                    }
                    (_, Via::PullRequest) => match &gathered.pr {
                        Some(pr) => format!("merge pull request #{} fast-forward-only", pr.number),
                        None => "open a pull request and merge it fast-forward-only".to_owned(),
                    },
                    (_, Via::Push) => "push natively as a fast-forward".to_owned(),
                };
                self.base(Verdict::Ok, plan, gathered).reason(format!(
                    "dry run: would {how}: `{}` {} → {s}; nothing written",
                    self.to,
                    short(&gathered.facts.to_tip)
                ))
            }
        }
    }

    async fn act(&self, plan: &Plan, rows: &[Check], gathered: &Gathered) -> Result<Acted, Error> {
        if let Some(outcome) = self.verdict(plan, gathered)? {
            return Ok(Acted::Done(outcome));
        }
        let schedule = matches!(plan, Plan::Schedule { .. });
        match self.via {
            Via::PullRequest => self.merge(rows, gathered, schedule).await,
            Via::Push => self.push(gathered).await,
        }
    }

    /// `--via pull-request`: find or open the PR, then merge it fast-forward-only with
    /// `head_commit_id` = S (or schedule that merge).
    async fn merge(
        &self,
        rows: &[Check],
        gathered: &Gathered,
        schedule: bool,
    ) -> Result<Acted, Error> {
        let s = gathered.facts.from_tip.clone();
        let pr = match &gathered.pr {
            Some(pr) => pr.clone(),
            None => {
                let title = plan::title(&self.config.promote.title, &self.from, &self.to, &s);
                let body = plan::body(&self.from, &self.to, &s, rows);
                match self
                    .client
                    .create_pull(&self.repo, &self.from, &self.to, &title, &body)
                    .await
                {
                    Ok(pr) => pr,
                    Err(forge::Error::Conflict { message, .. }) => {
                        return Ok(Acted::Raced(format!(
                            "another promotion pull request appeared while opening one ({message})"
                        )))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let options = MergeOptions {
            style: "fast-forward-only".into(),
            head_commit_id: s.clone(),
            merge_when_checks_succeed: schedule,
        };
        let mut tries = 0;
        let merged = loop {
            tries += 1;
            let refusal = match self
                .client
                .merge_pull(&self.repo, pr.number, &options)
                .await
            {
                Ok(merged) => break merged,
                Err(forge::Error::NotAllowed { message, .. }) => (405, message),
                Err(forge::Error::Conflict { message, .. }) => (409, message),
                Err(e) => return Err(e.into()),
            };
            let (status, message) = refusal;
            if schedule
                && status == 409
                && message.to_ascii_lowercase().contains("already scheduled")
            {
                break Merged::Scheduled;
            }
            match plan::classify_refusal(status, &message) {
                Refusal::Moved => {
                    return Ok(Acted::Raced(format!(
                        "Gitea refused to merge #{} at {}: {message} (HTTP {status})",
                        pr.number,
                        short(&s)
                    )))
                }
                Refusal::NotReady if tries <= NOT_READY_RETRIES => {
                    tracing::debug!(tries, "mergeability not computed yet; retrying");
                    tokio::time::sleep(Duration::from_millis(300 * u64::from(tries))).await;
                }
                Refusal::NotReady | Refusal::Refused => {
                    let outcome = self
                        .base(Verdict::No, &Plan::Promote, gathered)
                        .field("plan", "blocked")
                        .field("pr", pr.number)
                        .reason(format!(
                            "Gitea refused to merge pull request #{} (HTTP {status}): {message}",
                            pr.number
                        ))
                        .failure(
                            Code::PromoteMergeRefused,
                            "merge refused",
                            format!(
                                "Gitea refused to merge #{} (`{}` {} → {}): {message}",
                                pr.number,
                                self.to,
                                short(&gathered.facts.to_tip),
                                short(&s)
                            ),
                            format!(
                                "check `{}`'s branch protection (the promote account must be allowed to merge) and that `fast-forward-only` is an allowed merge style in the repository settings; nothing was forced",
                                self.to
                            ),
                        );
                    return Ok(Acted::Done(outcome));
                }
            }
        };
        let base = self
            .base(Verdict::Ok, &Plan::Promote, gathered)
            .field("pr", pr.number);
        match merged {
            Merged::Scheduled if schedule => Ok(Acted::Done(
                base.field("plan", "scheduled").reason(format!(
                    "scheduled: Gitea merges pull request #{} (fast-forward only) into `{}` once the checks its branch protection requires succeed; `{}` stays at {} until then",
                    pr.number,
                    self.to,
                    self.to,
                    short(&gathered.facts.to_tip)
                )),
            )),
            Merged::Scheduled => Err(Error::CannotVerify {
                code: Code::PromoteMergeUnverified,
                what: format!("the merge of pull request #{}", pr.number),
                why: "Gitea answered 201 (scheduled) to a merge that asked for no schedule".into(),
                hint: "check the pull request in the web UI; report it if it persists".into(),
            }),
            Merged::Now => {
                let now = self.client.branch(&self.repo, &self.to).await?;
                if now.commit.id != s {
                    return Err(Error::CannotVerify {
                        code: Code::PromoteMergeUnverified,
                        what: format!("where `{}` is after merging #{}", self.to, pr.number),
                        why: format!(
                            "Gitea reported the merge done, but `{}` is at {}, not {}",
                            self.to,
                            short(&now.commit.id),
                            short(&s)
                        ),
                        hint: "look at the branch's history in the web UI before promoting again".into(),
                    });
                }
                Ok(Acted::Done(
                    base.field("to_sha", s.as_str())
                        .output("promoted-sha", s.as_str())
                        .reason(format!(
                            "promoted `{}` {} → {} by merging pull request #{} fast-forward-only",
                            self.to,
                            short(&gathered.facts.to_tip),
                            short(&s),
                            pr.number
                        )),
                ))
            }
        }
    }

    /// `--via push`: a native push of S to `to`, with its read tip as the expected value.
    async fn push(&self, gathered: &Gathered) -> Result<Acted, Error> {
        let remote = self.remote.clone().ok_or_else(|| Error::CannotVerify {
            code: Code::PromoteRemote,
            what: "the git remote".into(),
            why: "no remote for --via push".into(),
            hint: "pass --remote".into(),
        })?;
        let parse = |sha: &str| {
            gix::ObjectId::from_hex(sha.as_bytes()).map_err(|e| Error::CannotVerify {
                code: Code::PromoteRemote,
                what: "a branch tip".into(),
                why: format!("`{sha}` is not a commit id: {e}"),
                hint: "re-run; report it if it persists".into(),
            })
        };
        let (s, m) = (
            parse(&gathered.facts.from_tip)?,
            parse(&gathered.facts.to_tip)?,
        );
        let (from, to) = (self.from.clone(), self.to.clone());
        let result = crate::git::blocking(move || {
            let pusher = Pusher::connect(&remote)?;
            let (adv_to, adv_from) = (pusher.tip(&to), pusher.tip(&from));
            if adv_to != Some(m) || adv_from != Some(s) {
                return Ok(Err(format!(
                    "the git server shows `{to}` at {} and `{from}` at {}, not the {} and {} the API showed",
                    adv_to.map_or("nothing".into(), |id| short(&id.to_string()).to_owned()),
                    adv_from.map_or("nothing".into(), |id| short(&id.to_string()).to_owned()),
                    short(&m.to_string()),
                    short(&s.to_string()),
                )));
            }
            let workspace = Workspace::temporary()?;
            let pushed = pusher.push(workspace.repo(), &to, m, s, &[])?;
            Ok::<_, Error>(Ok(pushed))
        })
        .await?;
        let pushed = match result {
            Ok(pushed) => pushed,
            Err(why) => return Ok(Acted::Raced(why)),
        };
        match pushed.status {
            PushStatus::Accepted => {
                let sha = gathered.facts.from_tip.as_str();
                Ok(Acted::Done(
                    self.base(Verdict::Ok, &Plan::Promote, gathered)
                        .field("to_sha", sha)
                        .output("promoted-sha", sha)
                        .reason(format!(
                            "promoted `{}` {} → {} by a fast-forward push (expected old value {})",
                            self.to,
                            short(&gathered.facts.to_tip),
                            short(sha),
                            short(&gathered.facts.to_tip)
                        )),
                ))
            }
            PushStatus::Rejected { reason } => {
                match classify_rejection(&reason, &pushed.messages) {
                    Rejection::Moved => Ok(Acted::Raced(format!(
                        "the push was refused because `{}` moved ({reason})",
                        self.to
                    ))),
                    kind => {
                        let said = if pushed.messages.is_empty() {
                            String::new()
                        } else {
                            format!("; the server said: {}", pushed.messages.join(" / "))
                        };
                        let hint = if kind == Rejection::Protected {
                            runbook_protected(&self.to, None)
                        } else {
                            "read the server's reason above; fix the repository or branch settings and re-run".into()
                        };
                        Ok(Acted::Done(
                            self.base(Verdict::No, &Plan::Promote, gathered)
                                .field("plan", "blocked")
                                .reason(format!(
                                    "the server refused the push to `{}`: {reason}",
                                    self.to
                                ))
                                .failure(
                                    Code::PromotePushRejected,
                                    "push rejected",
                                    format!(
                                        "the push of {} to `{}` was refused: {reason}{said}",
                                        short(&gathered.facts.from_tip),
                                        self.to
                                    ),
                                    hint,
                                ),
                        ))
                    }
                }
            }
        }
    }
}

/// The `plan` output: what the outcome's JSON says.
fn plan_name(outcome: &Outcome, plan: &Plan) -> String {
    outcome
        .fields
        .get("plan")
        .and_then(Value::as_str)
        .unwrap_or(plan.as_str())
        .to_owned()
}

fn contexts_json(rows: &[Check]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| {
                json!({
                    "context": row.context,
                    "state": row.state,
                    "required_by": row.required_by.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn details(rows: &[Check]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut text = String::from("| context | state | required by |\n|---|---|---|\n");
    for row in rows {
        let by: Vec<&str> = row.required_by.iter().map(|s| s.as_str()).collect();
        text.push_str(&format!(
            "| {} | {} | {} |\n",
            row.context.replace('|', "\\|").replace(['\n', '\r'], " "),
            row.state,
            by.join(", ")
        ));
    }
    text
}
