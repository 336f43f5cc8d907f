//! Mode `retarget`: a pull request opened against `retarget.from` (main) gets its base
//! changed to `retarget.to` (staging) through the API, with one comment saying why.
//!
//! Gather (the PR fresh from the API, the policy at its base commit, its comments) →
//! decide ([`plan::decide`], pure) → act (`PATCH` the base, then comment once: a marker in the
//! comment keeps later runs from repeating it) → report.

mod error;
pub mod plan;

use crate::output::Output;
use serde_json::Value;

use error::Error as RetargetError;
use plan::{comment, decide, Plan};

use crate::code::Code;
use crate::{
    arguments::RetargetArgs, context::Event, forge, report::Mode, sha::short, Error, Invocation,
    Outcome, Verdict,
};

/// Pull-request event actions retarget acts on (Gitea's spelling).
const ACTIONS: &[&str] = &["opened", "reopened", "edited"];

/// Run the retarget mode.
pub async fn run(invocation: &Invocation, args: &RetargetArgs) -> Result<Outcome, Error> {
    let client = invocation.client("retarget reads the pull request and changes its base")?;
    let repo = invocation.ctx.require_repo()?.clone();
    let number = match (args.pr, invocation.ctx.event.as_ref()) {
        (Some(pr), _) => pr,
        (None, Some(Event::PullRequest { number, action })) => {
            if !ACTIONS.contains(&action.as_str()) {
                return Ok(not_applicable(
                    format!("the `{action}` action of pull request #{number} is not one retarget acts on (opened, reopened, edited)"),
                    Some(*number),
                ));
            }
            *number
        }
        (None, Some(_)) => {
            return Err(Error::MissingContext {
                what: "the pull request",
                why: "the event is not a pull_request_target event and --pr is not set".into(),
            })
        }
        (None, None) => {
            return Err(Error::MissingContext {
                what: "the pull request",
                why: "no event payload and no --pr".into(),
            })
        }
    };

    // Gather: every read before the first write.
    let pr = client.pull(&repo, number).await?;
    let config = invocation.base_config(&client, &repo, &pr.base.sha).await?;
    let policy = config.retarget;
    let comments = client.issue_comments(&repo, number).await?;
    let decision = decide(&pr, &policy, &comments);
    let needs_comment = match decision {
        Plan::Leave(why) => return Ok(not_applicable(why, Some(number))),
        Plan::Retarget { comment } => comment,
    };
    let base = Outcome::new(Mode::Retarget, Verdict::Ok)
        .field("pr", number)
        .field("from", policy.from.as_str())
        .field("to", policy.to.as_str())
        .field("head_sha", pr.head.sha.as_str());
    if invocation.dry_run {
        return Ok(base
            .field("plan", "retarget")
            .field("commented", false)
            .output(Output::Plan, "retarget")
            .reason(format!(
                "dry run: would change the base of #{number} from `{}` to `{}`{}; nothing written",
                policy.from,
                policy.to,
                if needs_comment { " and comment" } else { "" }
            )));
    }

    // Act.
    let updated = match client.set_pull_base(&repo, number, &policy.to).await {
        Ok(updated) => updated,
        Err(forge::Error::Conflict { message, .. }) => {
            let mut refused = base;
            refused.verdict = Verdict::No;
            return Ok(refused
                .field("plan", "refused")
                .field("commented", false)
                .output(Output::Plan, "refused")
                .reason(format!("Gitea refused the new base: {message}"))
                .failure(
                    Code::RetargetRefused,
                    format!(
                        "Gitea refused to change the base of #{number} to `{}`: {message}",
                        policy.to
                    ),
                    format!(
                        "an open pull request from the same branch into `{}` probably exists already: close one of the two",
                        policy.to
                    ),
                ));
        }
        Err(e) => return Err(e.into()),
    };
    if updated.base.git_ref != policy.to {
        return Err(RetargetError::BaseUnchanged {
            number,
            base: updated.base.git_ref,
        }
        .into());
    }
    let mut outcome = base
        .field("plan", "retargeted")
        .output(Output::Plan, "retargeted")
        .reason(format!(
            "changed the base of #{number} ({}) from `{}` to `{}`",
            short(&pr.head.sha),
            policy.from,
            policy.to
        ));
    if needs_comment {
        client
            .create_comment(&repo, number, &comment(&policy.from, &policy.to))
            .await?;
        outcome = outcome
            .field("commented", true)
            .reason("commented why (once; later runs do not repeat it)");
    } else {
        outcome = outcome
            .field("commented", false)
            .reason("an earlier run already commented: not repeated");
    }
    Ok(outcome)
}

fn not_applicable(why: String, pr: Option<u64>) -> Outcome {
    Outcome::new(Mode::Retarget, Verdict::NotApplicable)
        .field("plan", "not-applicable")
        .field("pr", pr.map_or(Value::Null, Value::from))
        .field("commented", false)
        .output(Output::Plan, "not-applicable")
        .reason(format!("not applicable: {why}; nothing written"))
}
