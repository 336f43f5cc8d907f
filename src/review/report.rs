//! review-fire's report step: the decision and what was posted as the outcome (reasons,
//! JSON fields, outputs, the summary's tables); not-applicable runs; and a failed run with
//! the `error` statuses it left behind.

use crate::output::Output;
use serde_json::{json, Value};

use crate::code::Code;
use crate::{
    config::MergeStyle, forge::PullRequest, report::Mode, sha::short, Error, Outcome, Verdict,
};

use super::{
    act::{ErrorPost, Merge, Target},
    verdict::{self, GateRuling, Ruling, State},
};

pub(super) fn not_applicable(why: String, head: Option<&str>) -> Outcome {
    let mut outcome = Outcome::new(Mode::ReviewFire, Verdict::NotApplicable)
        .reason(format!("not applicable: {why}; nothing posted"))
        .field("gates", Value::Array(Vec::new()));
    if let Some(head) = head {
        outcome = outcome.field("head_sha", head);
    }
    outcome
}

/// Words safe in a status description (no backticks, no line breaks).
fn plain(text: &str) -> String {
    text.replace('`', "").replace(['\n', '\r'], " ")
}

/// The description of an `error` status: short, and free of URLs and tokens.
pub(super) fn error_description(error: &Error) -> String {
    let review = match error {
        Error::Mode(e) => e.as_error().downcast_ref::<super::Error>(),
        _ => None,
    };
    let what = match review {
        Some(e) => format!("shipgate could not verify {}", plain(&e.subject())),
        None => format!("shipgate could not verify: {}", error.title()),
    };
    verdict::fit(&format!("{what}; see the review-fire job log"))
}

/// One gate of the JSON `gates` list, decided or failed.
fn gate_row(name: &str, context: &str, state: State, description: &str, posted: bool) -> Value {
    json!({
        "name": name,
        "context": context,
        "state": state.as_str(),
        "description": description,
        "posted": posted,
    })
}

fn gate_json(gate: &GateRuling, posted: bool) -> Value {
    gate_row(
        &gate.name,
        &gate.context,
        gate.state,
        &gate.description,
        posted,
    )
}

/// A Markdown cell: no pipes, no line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The step summary's tables: one row per gate, one per reviewer.
fn details(decision: &Ruling, posted: &[bool]) -> String {
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

/// The decided gates, posted (`posted[i]`) or not, with the run's notes.
///
/// A run that put its verdict on the head (`posted` true: every gate's status is now the
/// decided one) did its job: exit 0 whatever the gates say, because the statuses carry the
/// verdict and a red job beside a green gate would only mislead. A dry run posted nothing,
/// so its exit code is the verdict: 1 while a gate is not green.
pub(super) fn decided(
    pr: &PullRequest,
    decision: &Ruling,
    posted: &[bool],
    notes: &[String],
    on_head: bool,
) -> Outcome {
    let verdict = if decision.all_pass() || on_head {
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
    for reason in decision.reasons.iter().chain(notes) {
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
        .output(Output::HeadSha, pr.head.sha.as_str())
        .output(Output::Tier, decision.tier.clone().unwrap_or_default());
    if verdict == Verdict::Ok && !decision.all_pass() {
        outcome = outcome.reason(
            "the gates' statuses carry the verdict (not green yet); this run did its job: exit 0",
        );
    }
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
        outcome = outcome.failure(Code::ReviewGatesNotPassed, open.join("; "), hint);
    }
    outcome
}

/// The decided outcome with what `review.merge` did: merged, left to the new head's run,
/// or refused by Gitea (exit 1, the gates stay green: Gitea's protection disagrees).
pub(super) fn merged(
    outcome: Outcome,
    pr: &PullRequest,
    style: MergeStyle,
    merge: &Merge,
) -> Outcome {
    let head = short(&pr.head.sha);
    match merge {
        Merge::Merged => outcome
            .reason(format!(
                "merged pull request #{} into `{}` at `{head}` ({})",
                pr.number,
                pr.base.git_ref,
                style.as_str()
            ))
            .field("merged", true),
        Merge::HeadMoved(message) => outcome
            .reason(format!(
                "not merged: the head moved after `{head}` was decided (Gitea: {message}); the run for the new head decides"
            ))
            .field("merged", false),
        Merge::Refused { status, message } => {
            let mut outcome = outcome.field("merged", false);
            outcome.verdict = Verdict::No;
            outcome
                .reason(format!("Gitea refused to merge at `{head}`: {message} (HTTP {status})"))
                .failure(
                    Code::ReviewMergeRefused,
                    format!(
                        "every gate is green on `{head}`, but Gitea refused to merge pull request #{}: {message} (HTTP {status})",
                        pr.number
                    ),
                    "Gitea's branch protection disagrees with the gates: check its required approvals (from the approvals allowlist), its required contexts and its merge allowlist (which must name the status token's account); nothing was forced",
                )
        }
    }
}

/// The merge could not be made (a 401/403, an unreachable server…): cannot verify, with
/// everything the decided run said; the posted gates stay as they are.
pub(super) fn merge_failed(decided: Outcome, error: &Error) -> Outcome {
    let mut failed = Outcome::from_error(Mode::ReviewFire, error);
    let mut reasons = decided.reasons;
    reasons.append(&mut failed.reasons);
    failed.reasons = reasons;
    failed.fields = decided.fields;
    failed.details = decided.details;
    failed
        .reason("the gates stay as posted; the merge was not made")
        .field("merged", false)
}

/// Why no `error` status was written, when none could be.
pub(super) enum Unposted {
    DryRun,
    NoStatusToken,
}

/// A run that could not verify: the error, the notes so far, and the `error` statuses
/// posted to `target` (none when the head or the gates were not known yet).
pub(super) fn failed(
    error: &Error,
    notes: &[String],
    target: Option<&Target>,
    unposted: Option<Unposted>,
    posts: &[ErrorPost],
    description: &str,
) -> Outcome {
    let mut outcome = Outcome::from_error(Mode::ReviewFire, error);
    for note in notes {
        outcome = outcome.reason(note.clone());
    }
    let Some(target) = target else {
        return outcome
            .reason("nothing posted: the head or the gates were not known yet")
            .field("gates", Value::Array(Vec::new()));
    };
    outcome = outcome.field("head_sha", target.head.as_str());
    match unposted {
        Some(Unposted::DryRun) => outcome = outcome.reason("nothing posted (dry run)"),
        Some(Unposted::NoStatusToken) => {
            outcome = outcome.reason("no `error` status posted: there is no status token");
        }
        None => {}
    }
    let mut gates = Vec::new();
    for post in posts {
        let context = &post.context;
        match &post.result {
            Ok(true) => {
                outcome = outcome.reason(format!(
                    "posted `error` to `{context}` on `{}`",
                    short(&target.head)
                ));
            }
            Ok(false) => {}
            Err(e) => {
                outcome =
                    outcome.reason(format!("could not post `error` to `{context}` either: {e}"));
            }
        }
        gates.push(gate_row(
            &post.name,
            context,
            State::Error,
            description,
            matches!(post.result, Ok(true)),
        ));
    }
    outcome.field("gates", Value::Array(gates))
}
