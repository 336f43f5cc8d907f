//! promote's report step: the verdict of every plan that writes nothing, the dry run,
//! and the fields, outputs and summary table every outcome carries.

use crate::output::Output;
use serde_json::{json, Value};

use crate::code::Code;
use crate::{
    arguments::Via, report::Mode, sha::short, sync::plan::runbook_protected, Error, Outcome,
    Verdict,
};

use super::{
    plan::{Check, Plan},
    session::{Done, Gathered, Promotion, Session},
};

impl Session<'_> {
    pub(super) fn base(&self, verdict: Verdict, plan: &Plan, gathered: &Gathered) -> Outcome {
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
            .output(Output::PromotedSha, "")
    }

    /// The verdict of a plan that writes nothing (every plan but promote and schedule,
    /// and all of them in a dry run).
    pub(super) fn verdict(
        &self,
        plan: &Plan,
        gathered: &Gathered,
    ) -> Result<Option<Outcome>, Error> {
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
                    format!(
                        "{from} does not contain {to}: run sync first (`{to}` at {m} has {} commit(s) `{from}` at {s} lacks; promote only fast-forwards)",
                        gathered.behind
                    ),
                    format!("run `shipgate sync --from {to} --to {from}` (or let the auto-sync workflow run), then promote again; nothing was written"),
                ),
            Plan::NoRequirements => {
                return Err(super::error::Error::NoContexts {
                    from: from.clone(),
                    to: to.clone(),
                    at: s.clone(),
                }
                .into())
            }
            Plan::Blocked { failing } => self
                .base(Verdict::No, plan, gathered)
                .reason(format!(
                    "required check(s) failed on `{from}` at {s}: {}",
                    failing.join(", ")
                ))
                .failure(
                    Code::PromoteCheckFailed,
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
                    format!(
                        "`{from}` at {s} is not green yet: {} still pending or missing; `{to}` stays at {m}",
                        missing.join(", ")
                    ),
                    "re-run once the checks finish, or pass --wait (e.g. --wait 20m) to poll",
                ),
            Plan::Promote | Plan::Schedule { .. } => return Ok(None),
        }))
    }

    pub(super) fn dry_run(&self, plan: &Plan, gathered: &Gathered) -> Outcome {
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
}

impl Session<'_> {
    /// The outcome of how the run ended.
    pub(super) fn done(&self, done: Done, gathered: &Gathered) -> Outcome {
        let (to, s, m) = (
            &self.to,
            short(&gathered.facts.from_tip),
            short(&gathered.facts.to_tip),
        );
        match done {
            Done::Decided(outcome) => outcome,
            Done::Promoted(how) => {
                let (outcome, how) = match how {
                    Promotion::Merged { pr } => (
                        self.base(Verdict::Ok, &Plan::Promote, gathered)
                            .field("pr", pr),
                        format!("by merging pull request #{pr} fast-forward-only"),
                    ),
                    Promotion::Pushed => (
                        self.base(Verdict::Ok, &Plan::Promote, gathered),
                        format!("by a fast-forward push (expected old value {m})"),
                    ),
                };
                let sha = gathered.facts.from_tip.as_str();
                outcome
                    .field("to_sha", sha)
                    .output(Output::PromotedSha, sha)
                    .reason(format!("promoted `{to}` {m} → {s} {how}"))
            }
            Done::Scheduled { pr } => self
                .base(Verdict::Ok, &Plan::Promote, gathered)
                .field("pr", pr)
                .field("plan", "scheduled")
                .reason(format!(
                    "scheduled: Gitea merges pull request #{pr} (fast-forward only) into `{to}` once the checks its branch protection requires succeed; `{to}` stays at {m} until then"
                )),
            Done::MergeRefused { pr, status, message } => self
                .base(Verdict::No, &Plan::Promote, gathered)
                .field("plan", "blocked")
                .field("pr", pr)
                .reason(format!(
                    "Gitea refused to merge pull request #{pr} (HTTP {status}): {message}"
                ))
                .failure(
                    Code::PromoteMergeRefused,
                    format!("Gitea refused to merge #{pr} (`{to}` {m} → {s}): {message}"),
                    format!(
                        "check `{to}`'s branch protection (the promote account must be allowed to merge) and that `fast-forward-only` is an allowed merge style in the repository settings; nothing was forced"
                    ),
                ),
            Done::PushRejected {
                reason,
                messages,
                protected,
            } => {
                let said = if messages.is_empty() {
                    String::new()
                } else {
                    format!("; the server said: {}", messages.join(" / "))
                };
                let hint = if protected {
                    runbook_protected(to, None)
                } else {
                    "read the server's reason above; fix the repository or branch settings and re-run".into()
                };
                self.base(Verdict::No, &Plan::Promote, gathered)
                    .field("plan", "blocked")
                    .reason(format!("the server refused the push to `{to}`: {reason}"))
                    .failure(
                        Code::PromotePushRejected,
                        format!("the push of {s} to `{to}` was refused: {reason}{said}"),
                        hint,
                    )
            }
        }
    }

    /// Every attempt raced: nothing was written.
    pub(super) fn raced(
        &self,
        gathered: &Gathered,
        rows: &[Check],
        attempts: u32,
        notes: Vec<String>,
    ) -> Outcome {
        let (from, to) = (&self.from, &self.to);
        let mut outcome = Outcome::new(Mode::Promote, Verdict::No)
            .field("plan", "blocked")
            .field("from_sha", gathered.facts.from_tip.as_str())
            .field("to_sha", gathered.facts.to_tip.as_str())
            .field("pr", Value::Null)
            .field("attempts", attempts)
            .field("via", self.via.as_str())
            .field("from", from.as_str())
            .field("to", to.as_str())
            .field("dry_run", false)
            .field("contexts", contexts_json(rows))
            .output(Output::Plan, "blocked")
            .output(Output::PromotedSha, "")
            .failure(
                Code::PromoteRaced,
                format!(
                    "`{from}` or `{to}` moved during each of {attempts} attempt(s); nothing was forced and `{to}` got no unchecked commit"
                ),
                "re-run the job once pushes settle; serialise promote runs with a `concurrency:` group",
            );
        for note in notes {
            outcome = outcome.reason(note);
        }
        outcome
    }

    /// What every finished run adds: the attempts, the branches, the contexts table, the
    /// notes of earlier attempts.
    pub(super) fn finish(
        &self,
        outcome: Outcome,
        plan: &Plan,
        rows: &[Check],
        attempts: u32,
        notes: Vec<String>,
    ) -> Outcome {
        let name = plan_name(&outcome, plan);
        let mut outcome = outcome
            .field("attempts", attempts)
            .field("via", self.via.as_str())
            .field("from", self.from.as_str())
            .field("to", self.to.as_str())
            .field("dry_run", self.invocation.dry_run)
            .field("contexts", contexts_json(rows))
            .output(Output::Plan, name);
        for note in notes {
            outcome = outcome.reason(note);
        }
        outcome.details = details(rows);
        outcome
    }
}

/// The `plan` output: what the outcome's JSON says.
pub(super) fn plan_name(outcome: &Outcome, plan: &Plan) -> String {
    outcome
        .fields
        .get("plan")
        .and_then(Value::as_str)
        .unwrap_or(plan.as_str())
        .to_owned()
}

pub(super) fn contexts_json(rows: &[Check]) -> Value {
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

pub(super) fn details(rows: &[Check]) -> String {
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
