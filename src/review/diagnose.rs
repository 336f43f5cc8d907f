//! `review-fire --diagnose`: can the gates' workflows auto-fire on review events for this
//! PR? Gitea loads `pull_request_review` workflows from the reviewed commit (the PR head),
//! so a PR opened before the trigger existed never fires on its own.
//!
//! Gather (each gate's workflow file at the head) → decide ([`finding`], pure) → report
//! ([`outcome`]); nothing is posted.

use serde_json::{json, Value};

use crate::code::Code;
use crate::{
    config::Gate, context::RepoRef, forge::Client, forge::PullRequest, report::Mode, sha::short,
    Error, Outcome, Verdict,
};

/// Diagnose every gate for the PR's head.
pub(super) async fn run(
    read: &Client,
    repo: &RepoRef,
    pr: &PullRequest,
    gates: &[Gate],
) -> Result<Outcome, Error> {
    let head = &pr.head.sha;
    let mut findings = Vec::new();
    for gate in gates {
        let file = match &gate.workflow {
            None => None,
            Some(path) => Some(read.file_at(repo, path, head).await?),
        };
        findings.push(finding(gate, head, file.as_ref().map(Option::as_deref))?);
    }
    Ok(outcome(pr, gates, &findings))
}

/// One gate's finding from its workflow file at `head`: `file` is `None` when the gate
/// names no workflow, `Some(None)` when the file does not exist there.
pub fn finding(gate: &Gate, head: &str, file: Option<Option<&[u8]>>) -> Result<Finding, Error> {
    let (Some(path), Some(file)) = (&gate.workflow, file) else {
        return Ok(Finding {
            gate: gate.name.clone(),
            workflow: None,
            auto_fire: None,
            why: format!("gate `{}` names no `workflow`: nothing to check", gate.name),
        });
    };
    let found = |auto_fire: bool, why: String| Finding {
        gate: gate.name.clone(),
        workflow: Some(path.clone()),
        auto_fire: Some(auto_fire),
        why,
    };
    let Some(bytes) = file else {
        return Ok(found(
            false,
            format!(
                "auto-fire impossible for this PR: `{path}` does not exist at the head `{}`",
                short(head)
            ),
        ));
    };
    match has_review_trigger(&String::from_utf8_lossy(bytes)) {
        Ok(true) => Ok(found(
            true,
            format!(
                "`{path}` at the head `{}` has a `pull_request_review` trigger: review events fire the gate",
                short(head)
            ),
        )),
        Ok(false) => Ok(found(
            false,
            format!(
                "auto-fire impossible for this PR: `{path}` at the head `{}` has no `pull_request_review` trigger",
                short(head)
            ),
        )),
        Err(why) => Err(super::Error::WorkflowUnreadable {
            path: path.to_owned(),
            head: short(head).to_owned(),
            why,
        }
        .into()),
    }
}

/// The findings as the outcome: red when any gate cannot auto-fire, with the remedies.
pub fn outcome(pr: &PullRequest, gates: &[Gate], findings: &[Finding]) -> Outcome {
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
    for finding in findings {
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
    outcome
        .field("pr", pr.number)
        .field("head_sha", pr.head.sha.as_str())
        .field("diagnosis", Value::Array(diagnosis))
}

/// Does this workflow YAML subscribe to `pull_request_review`? `on:` may be a string, a
/// list or a mapping. `Err` when the text is not a workflow.
pub fn has_review_trigger(text: &str) -> Result<bool, String> {
    let doc: Value = serde_saphyr::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let Some(map) = doc.as_object() else {
        return Err("not a workflow: the document is not a mapping".into());
    };
    // YAML 1.1 readers turn a bare `on` into `true`; accept either spelling.
    let Some(on) = map.get("on").or_else(|| map.get("true")) else {
        return Err("not a workflow: it has no `on:` key".into());
    };
    const TRIGGER: &str = "pull_request_review";
    Ok(match on {
        Value::String(s) => s == TRIGGER,
        Value::Array(items) => items.iter().any(|i| i.as_str() == Some(TRIGGER)),
        Value::Object(events) => events.contains_key(TRIGGER),
        _ => false,
    })
}

/// One gate's diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub gate: String,
    pub workflow: Option<String>,
    /// `Some(true)`: fires on reviews; `Some(false)`: cannot; `None`: nothing to check.
    pub auto_fire: Option<bool>,
    pub why: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_spellings() {
        let yes = [
            "on: pull_request_review\njobs: {}\n",
            "on: [pull_request_target, pull_request_review]\n",
            "on:\n  pull_request_target:\n  pull_request_review:\n    types: [submitted]\n",
            "'on':\n  pull_request_review: {}\n",
        ];
        for text in yes {
            assert_eq!(has_review_trigger(text), Ok(true), "{text}");
        }
        let no = [
            "on: pull_request_target\n",
            "on: [pull_request_target]\n",
            "on:\n  pull_request_target:\n    types: [opened]\n  pull_request_review_comment: {}\n",
        ];
        for text in no {
            assert_eq!(has_review_trigger(text), Ok(false), "{text}");
        }
        assert!(has_review_trigger("jobs: {}\n").is_err());
        assert!(has_review_trigger("- a\n- b\n").is_err());
        assert!(has_review_trigger("on: [\n").is_err());
    }
}
