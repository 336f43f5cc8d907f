//! tier's report step: the decision and the label action as the outcome (reasons, JSON
//! fields, outputs, the summary's table), for a pull request and for `--local`.

use crate::output::Output;
use serde_json::{json, Value};

use super::{
    act::Applied,
    gather::{PrFacts, Source, Via},
    labels::{Action, Refusal, TierLabel},
    local::LocalFacts,
    policy::{self, Assessment, Tier},
};
use crate::code::Code;
use crate::{
    config::{Config, TierLabels},
    report::{Mode, Verdict},
    sha::short,
    Invocation, Outcome,
};

/// How many files a rule lists in text (JSON lists them all).
pub(super) const TEXT_FILES: usize = 8;

pub(super) fn local_outcome(facts: &LocalFacts, config: &Config, decision: &Assessment) -> Outcome {
    let base_note = if facts.base_resolved == facts.base_spec {
        String::new()
    } else {
        format!(" (`{}` as `{}`)", facts.base_spec, facts.base_resolved)
    };
    let mut outcome = Outcome::new(Mode::Tier, Verdict::Ok)
        .reason(format!(
            "tier `{}` for the diff from the merge base `{}` of `{}`{base_note} to `{}` (`{}`); nothing is labeled in --local mode",
            decision.tier,
            short(&facts.merge_base),
            facts.base_resolved,
            facts.head_spec,
            short(&facts.head),
        ))
        .field("tier", decision.tier.as_str())
        .field("computed_tier", decision.tier.as_str())
        .field("label_action", Value::Null)
        .field("label", decision.tier.label(&config.tier.labels))
        .field("source", "git")
        .field(
            "base",
            json!({"rev": facts.base_spec, "resolved": facts.base_resolved, "sha": facts.base}),
        )
        .field("head", json!({"rev": facts.head_spec, "sha": facts.head}))
        .field("merge_base", facts.merge_base.clone())
        .field("repo_dir", facts.repo_dir.display().to_string())
        .output(Output::Tier, decision.tier.as_str())
        .output(Output::ComputedTier, decision.tier.as_str());
    outcome = with_decision(outcome, decision);
    outcome
}

#[allow(clippy::too_many_arguments)]
pub(super) fn pr_outcome(
    invocation: &Invocation,
    facts: &PrFacts,
    decision: &Assessment,
    current: &[TierLabel],
    action: &Action,
    adder: Option<&str>,
    applied: Option<Applied>,
    notes: Vec<String>,
) -> Outcome {
    let names = &facts.config.tier.labels;
    let computed = decision.tier;
    let effective = action.effective(computed);
    let number = facts.number;
    let repo = &facts.repo;
    let author = &facts.pull.user.login;
    let label_action = action.name(invocation.dry_run);

    let concurrent = match &applied {
        Some(Applied::Concurrent { found }) => Some(found.clone()),
        _ => None,
    };
    let verdict = if matches!(action, Action::Refused(_)) || concurrent.is_some() {
        Verdict::No
    } else {
        Verdict::Ok
    };

    let headline = match action {
        Action::Add | Action::Replace { .. } if invocation.dry_run => format!(
            "tier `{computed}` for {repo}#{number}: would add `{}` (dry run)",
            computed.label(names)
        ),
        Action::Add | Action::Replace { .. } => format!(
            "tier `{computed}` for {repo}#{number}: added `{}`",
            computed.label(names)
        ),
        Action::Unchanged => format!(
            "tier `{computed}` for {repo}#{number}: `{}` is already set; nothing written",
            computed.label(names)
        ),
        Action::KeptHigher { label } => format!(
            "tier `{label}` for {repo}#{number}: `{}` is higher than the computed `{computed}` and is kept (raising is always allowed)",
            label.label(names)
        ),
        Action::KeptOverride { label, by } => format!(
            "tier `{label}` for {repo}#{number}: `{}` is lower than the computed `{computed}`, kept because `{by}` (not the author) applied it",
            label.label(names)
        ),
        Action::Refused(_) => format!(
            "computed tier `{computed}` for {repo}#{number}; the tier label is refused"
        ),
    };
    let (source, files_from, fallback) = match &facts.source {
        Source::Api(Via::Diff) => ("api", "diff", None),
        Source::Api(Via::Pages(why)) => ("api", "pages", Some(why.to_string())),
        Source::Git(_) => ("git", "git", None),
    };
    let mut outcome = Outcome::new(Mode::Tier, verdict)
        .reason(headline)
        .field("tier", effective.as_str())
        .field("computed_tier", computed.as_str())
        .field("label_action", label_action)
        .field("label", effective.label(names))
        .field("pr", number)
        .field("author", author.as_str())
        .field("head_sha", facts.pull.head.sha.as_str())
        .field("base_sha", facts.pull.base.sha.as_str())
        .field("source", source)
        .field("files_from", files_from)
        .field("files_fallback", fallback)
        .field(
            "current_labels",
            current.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
        )
        .field("label_added_by", adder.map(str::to_owned))
        .field("dry_run", invocation.dry_run)
        .output(Output::Tier, effective.as_str())
        .output(Output::ComputedTier, computed.as_str())
        .output(Output::LabelAction, label_action);
    for note in notes {
        outcome = outcome.reason(note);
    }
    outcome = with_decision(outcome, decision);

    if let Action::Refused(refusal) = action {
        let (message, hint) = refusal_text(refusal, computed, names, author, &facts.config);
        outcome = outcome
            .failure(Code::TierLabelRefused, message.clone(), hint.clone())
            .reason(message);
    } else if let Some(found) = concurrent {
        let message = format!(
            "after adding `{}`, #{number} carries {}: the labels changed concurrently",
            computed.label(names),
            if found.is_empty() {
                "no tier label".to_owned()
            } else {
                format!("the tier labels {}", policy::list(&found))
            }
        );
        outcome = outcome
            .failure(
                Code::TierLabelsRaced,
                message.clone(),
                "leave exactly one tier label on the pull request and re-run the job",
            )
            .reason(message);
    }
    outcome
}

pub(super) fn refusal_text(
    refusal: &Refusal,
    computed: Tier,
    names: &TierLabels,
    author: &str,
    config: &Config,
) -> (String, String) {
    let who_may = if config.tier.override_teams.is_empty() {
        "anyone with write access except the author".to_owned()
    } else {
        format!(
            "a member of {} other than the author",
            policy::list(&config.tier.override_teams)
        )
    };
    let computed_label = computed.label(names);
    match refusal {
        Refusal::Several { names: found } => (
            format!(
                "apply exactly one tier label: the pull request carries {}",
                policy::list(found)
            ),
            format!(
                "remove all but one (the computed tier is `{computed}`, label `{computed_label}`); shipgate never removes tier labels a person applied"
            ),
        ),
        Refusal::LowerByAuthor { label, author } => (
            format!(
                "`{}` is lower than the computed tier `{computed}`, and the author `{author}` applied it",
                label.label(names)
            ),
            format!(
                "remove `{}` (the next run adds `{computed_label}`), or have {who_may} apply the lower label",
                label.label(names)
            ),
        ),
        Refusal::LowerUnattributed { label } => (
            format!(
                "`{}` is lower than the computed tier `{computed}`, and the issue timeline does not say who applied it",
                label.label(names)
            ),
            format!(
                "remove `{}` and let {who_may} re-apply it, or remove it and let shipgate add `{computed_label}`",
                label.label(names)
            ),
        ),
        Refusal::LowerOutsideTeams { label, by, teams } => (
            format!(
                "`{}` is lower than the computed tier `{computed}`, and `{by}` who applied it is not in {} (author: `{author}`)",
                label.label(names),
                policy::list(teams)
            ),
            format!(
                "remove `{}` (the next run adds `{computed_label}`), or have {who_may} apply the lower label",
                label.label(names)
            ),
        ),
    }
}

/// The decision's fields and reasons, shared by both modes.
pub(super) fn with_decision(mut outcome: Outcome, decision: &Assessment) -> Outcome {
    let uncounted = decision.files_total - decision.files_counted;
    outcome = outcome.reason(format!(
        "{} changed file{}, {} counted, {} counted line{}{}",
        decision.files_total,
        plural(decision.files_total),
        decision.files_counted,
        decision.lines_counted,
        plural(decision.lines_counted),
        if uncounted == 0 {
            String::new()
        } else {
            format!(" ({uncounted} not counted for size: lockfiles, vendored or generated)")
        }
    ));
    for fired in &decision.rules {
        let mut line = format!("{} → {}: {}", fired.rule, fired.tier, fired.detail);
        if fired.files.len() > TEXT_FILES {
            let shown: Vec<String> = fired.files[..TEXT_FILES]
                .iter()
                .map(|f| format!("`{f}`"))
                .collect();
            line.push_str(&format!(
                ": {} and {} more",
                shown.join(", "),
                fired.files.len() - TEXT_FILES
            ));
        } else if !fired.files.is_empty() {
            line.push_str(": ");
            line.push_str(&policy::list(&fired.files));
        }
        outcome = outcome.reason(line);
    }
    outcome
        .field("files_total", decision.files_total)
        .field("files_counted", decision.files_counted)
        .field("lines_counted", decision.lines_counted)
        .field(
            "rules",
            serde_json::to_value(&decision.rules).expect("rules are plain strings and numbers"),
        )
        .field(
            "uncounted",
            decision
                .uncounted
                .iter()
                .map(|(file, why)| json!({"file": file, "why": why}))
                .collect::<Vec<_>>(),
        )
}

pub(super) fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
