//! review-fire's act step: post the decided statuses to the head that was decided on,
//! skipping what is already there, non-success before success, after dispatching the
//! gate workflows whose floor holds; and, when the run could not verify, `error` to every
//! context it is responsible for (never `success`).

use std::collections::HashMap;

use serde_json::Value;

use crate::{
    config::MergeStyle,
    context::RepoRef,
    forge::{self, Client, CommitStatus, CreateStatus, MergeOptions, MergeRefusal, PullRequest},
    sha::short,
    Error,
};

use super::{
    verdict::{GateRuling, Ruling, State},
    Error as ReviewError,
};

/// Where statuses go once the head and the policy are known.
pub(super) struct Target {
    pub head: String,
    pub html_url: String,
    /// (gate name, context) pairs this run is responsible for.
    pub contexts: Vec<(String, String)>,
}

/// Is this decision already the newest status of its context? Gitea stores the
/// description trimmed (`strings.TrimSpace`), so both sides are compared trimmed.
pub(super) fn unchanged(newest: &HashMap<&str, &CommitStatus>, gate: &GateRuling) -> bool {
    newest.get(gate.context.trim()).is_some_and(|status| {
        status.status == gate.state.as_str() && status.description.trim() == gate.description.trim()
    })
}

/// Indexes of the gates to post, non-success first, so a failing write can never leave a
/// success behind an unposted failure.
pub(super) fn order(gates: &[GateRuling], skip: &[bool]) -> Vec<usize> {
    let mut indexes: Vec<usize> = (0..gates.len()).filter(|i| !skip[*i]).collect();
    indexes.sort_by_key(|i| gates[*i].state == State::Success);
    indexes
}

/// Post every changed status to the head (`existing`: the statuses already on it),
/// non-success first; dispatch gate workflows
/// whose floor holds and whose status changes. Returns, per gate, whether it was posted.
/// `posted` collects each context as its write succeeds and `notes` each skip and
/// dispatch, so a failure part-way still reports what is already there.
pub(super) async fn post(
    write: Option<&Client>,
    repo: &RepoRef,
    pr: &PullRequest,
    decision: &Ruling,
    existing: &[CommitStatus],
    posted: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<Vec<bool>, Error> {
    let head = &pr.head.sha;
    let newest = forge::newest_by_context(existing);
    let skip: Vec<bool> = decision
        .gates
        .iter()
        .map(|g| unchanged(&newest, g))
        .collect();
    let write = write.ok_or(ReviewError::NoStatusClient)?;
    for (gate, skipped) in decision.gates.iter().zip(&skip) {
        if *skipped {
            notes.push(format!(
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
                .dispatch_workflow(repo, workflow, &pr.base.git_ref, &inputs)
                .await?;
            notes.push(format!(
                "dispatched `{workflow}` on `{}` with pr={} sha={}",
                pr.base.git_ref,
                pr.number,
                short(head)
            ));
        }
    }
    let mut gates = vec![false; decision.gates.len()];
    for index in order(&decision.gates, &skip) {
        let gate = &decision.gates[index];
        write
            .create_status(
                repo,
                head,
                &CreateStatus {
                    state: gate.state.as_str().into(),
                    context: gate.context.clone(),
                    description: gate.description.clone(),
                    target_url: pr.html_url.clone(),
                },
            )
            .await?;
        posted.push(gate.context.clone());
        gates[index] = true;
    }
    Ok(gates)
}

/// Retries of a merge Gitea answers "try again later" (mergeability not computed yet).
const NOT_READY_RETRIES: u32 = 5;

/// What review-fire's merge (`review.merge`) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Merge {
    /// Merged: the base branch now holds the head the gates were decided on.
    Merged,
    /// The head moved since it was decided (409): the run for the new head decides.
    HeadMoved(String),
    /// Gitea refused for good (its protection disagrees, a style it does not allow…).
    Refused { status: u16, message: String },
}

/// Merge `pr` at the head the gates were decided on (`head_commit_id`), in `style`, as the
/// status token's account. Gitea's own protection decides; nothing is forced or scheduled.
pub(super) async fn merge(
    write: &Client,
    repo: &RepoRef,
    pr: &PullRequest,
    style: MergeStyle,
) -> Result<Merge, Error> {
    let options = MergeOptions {
        style: style.as_str().into(),
        head_commit_id: pr.head.sha.clone(),
        merge_when_checks_succeed: false,
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let (status, message) = match write.merge_pull(repo, pr.number, &options).await {
            Ok(forge::Merged::Now) => return Ok(Merge::Merged),
            Ok(forge::Merged::Scheduled) => {
                return Err(forge::Error::Protocol {
                    request: format!("POST /repos/{repo}/pulls/{}/merge", pr.number),
                    detail: "Gitea scheduled a merge that was asked for now (201)".into(),
                }
                .into())
            }
            Err(forge::Error::NotAllowed { message, .. }) => (405, message),
            Err(forge::Error::Conflict { message, .. }) => (409, message),
            Err(e) => return Err(e.into()),
        };
        match MergeRefusal::classify(status, &message) {
            MergeRefusal::Moved => return Ok(Merge::HeadMoved(message)),
            MergeRefusal::NotReady if tries <= NOT_READY_RETRIES => {
                tracing::debug!(tries, "mergeability not computed yet; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(300 * u64::from(tries))).await;
            }
            MergeRefusal::NotReady | MergeRefusal::Refused => {
                return Ok(Merge::Refused { status, message })
            }
        }
    }
}

/// One context's `error` status after a failed run.
pub(super) struct ErrorPost {
    pub name: String,
    pub context: String,
    /// `Ok(true)` posted, `Ok(false)` not tried (no writer), `Err` the write failed too.
    pub result: Result<bool, forge::Error>,
}

/// Post `error` with `description` to every context of `target` not already posted in
/// this run; every write is tried, whatever the one before it did.
pub(super) async fn post_errors(
    write: Option<&Client>,
    repo: &RepoRef,
    target: &Target,
    description: &str,
    posted: &[String],
) -> Vec<ErrorPost> {
    let mut results = Vec::new();
    for (name, context) in &target.contexts {
        if posted.contains(context) {
            continue;
        }
        let result = match write {
            None => Ok(false),
            Some(write) => {
                let status = CreateStatus {
                    state: State::Error.as_str().into(),
                    context: context.clone(),
                    description: description.to_owned(),
                    target_url: target.html_url.clone(),
                };
                write
                    .create_status(repo, &target.head, &status)
                    .await
                    .map(|_| true)
            }
        };
        results.push(ErrorPost {
            name: name.clone(),
            context: context.clone(),
            result,
        });
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: i64, context: &str, state: &str, description: &str) -> CommitStatus {
        CommitStatus {
            id,
            status: state.into(),
            context: context.into(),
            description: description.into(),
            target_url: String::new(),
            creator: None,
            created_at: None,
            updated_at: None,
        }
    }

    fn gate(context: &str, state: State, description: &str) -> GateRuling {
        GateRuling {
            name: context.into(),
            context: context.into(),
            state,
            description: description.into(),
            floor_holds: false,
            dispatch: None,
        }
    }

    #[test]
    fn newest_wins_by_id_in_any_order() {
        let list = vec![
            status(5, "qa", "success", "ok"),
            status(9, "qa", "failure", "no"),
            status(2, "qa", "pending", "wait"),
            status(3, "sec", "pending", "wait"),
        ];
        let newest = forge::newest_by_context(&list);
        assert_eq!(newest["qa"].id, 9);
        assert!(unchanged(&newest, &gate("qa", State::Failure, "no")));
        assert!(!unchanged(&newest, &gate("qa", State::Success, "ok")));
        assert!(!unchanged(&newest, &gate("qa", State::Failure, "no!")));
        assert!(unchanged(&newest, &gate("sec", State::Pending, "wait")));
        assert!(!unchanged(&newest, &gate("other", State::Pending, "wait")));
        // Gitea trims what it stores: an untrimmed decision is still unchanged.
        assert!(unchanged(&newest, &gate("sec", State::Pending, " wait \n")));
    }

    #[test]
    fn success_goes_last() {
        let gates = vec![
            gate("a", State::Success, ""),
            gate("b", State::Pending, ""),
            gate("c", State::Success, ""),
            gate("d", State::Failure, ""),
        ];
        assert_eq!(order(&gates, &[false; 4]), vec![1, 3, 0, 2]);
        assert_eq!(order(&gates, &[false, true, false, false]), vec![3, 0, 2]);
    }
}
