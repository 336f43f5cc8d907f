//! Mode `retarget`: a pull request opened against `retarget.from` (main) gets its base
//! changed to `retarget.to` (staging) through the API, with one comment saying why.
//!
//! Gather (the PR fresh from the API, the policy at its base commit, its comments) →
//! decide ([`decide`], pure) → act (`PATCH` the base, then comment once: a marker in the
//! comment keeps later runs from repeating it) → report.

use serde_json::Value;

use crate::code::Code;
use crate::{
    arguments::RetargetArgs,
    config::RetargetConfig,
    context::Event,
    forge::{self, Comment, PullRequest},
    report::Mode,
    sha::short,
    Error, Invocation, Outcome, Verdict,
};

/// The marker that makes the comment idempotent.
pub const MARKER: &str = "<!-- shipgate:retarget -->";

/// Pull-request event actions retarget acts on (Gitea's spelling).
const ACTIONS: &[&str] = &["opened", "reopened", "edited"];

/// What retarget does with a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Leave it alone, and why.
    Leave(String),
    /// Change the base to `to`; `comment` when no earlier run commented.
    Retarget { comment: bool },
}

/// Decide from the PR, the policy and the comments. Pure.
pub fn decide(pr: &PullRequest, config: &RetargetConfig, comments: &[Comment]) -> Decision {
    if pr.merged || pr.state != "open" {
        return Decision::Leave(format!(
            "pull request #{} is {}",
            pr.number,
            if pr.merged {
                "merged"
            } else {
                pr.state.as_str()
            }
        ));
    }
    if pr.base.git_ref != config.from {
        return Decision::Leave(format!(
            "pull request #{} targets `{}`, not `{}`",
            pr.number, pr.base.git_ref, config.from
        ));
    }
    let same_repo = pr.head.repo_id == 0 || pr.head.repo_id == pr.base.repo_id;
    if same_repo && pr.head.git_ref == config.to {
        return Decision::Leave(format!(
            "pull request #{} is the promotion of `{}` itself",
            pr.number, config.to
        ));
    }
    if config
        .exempt
        .iter()
        .any(|login| login.eq_ignore_ascii_case(&pr.user.login))
    {
        return Decision::Leave(format!(
            "the author `{}` is in `retarget.exempt`",
            pr.user.login
        ));
    }
    Decision::Retarget {
        comment: !comments.iter().any(|c| c.body.contains(MARKER)),
    }
}

/// The comment left on a retargeted PR.
pub fn comment(from: &str, to: &str) -> String {
    format!(
        "{MARKER}\nshipgate retargeted this pull request from `{from}` to `{to}`: changes reach `{from}` only through `{to}`, which is promoted to `{from}` once its checks are green. If this PR must go straight to `{from}`, ask a maintainer to add its author to `retarget.exempt` in `.gitea/shipgate.yml`."
    )
}

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
        Decision::Leave(why) => return Ok(not_applicable(why, Some(number))),
        Decision::Retarget { comment } => comment,
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
            .output("plan", "retarget")
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
                .output("plan", "refused")
                .reason(format!("Gitea refused the new base: {message}"))
                .failure(
                    Code::RetargetRefused,
                    "retarget refused",
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
        return Err(Error::CannotVerify {
            code: Code::RetargetUnverified,
            what: format!("the new base of pull request #{number}"),
            why: format!(
                "Gitea accepted the change but the pull request still targets `{}`",
                updated.base.git_ref
            ),
            hint: "look at the pull request in the web UI; report it if it persists".into(),
        });
    }
    let mut outcome = base
        .field("plan", "retargeted")
        .output("plan", "retargeted")
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
        .output("plan", "not-applicable")
        .reason(format!("not applicable: {why}; nothing written"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::{PrBranch, User};

    fn pr(base: &str, head: &str, author: &str, state: &str) -> PullRequest {
        PullRequest {
            number: 4,
            state: state.into(),
            merged: false,
            user: User {
                id: 1,
                login: author.into(),
                full_name: String::new(),
                email: String::new(),
            },
            head: PrBranch {
                git_ref: head.into(),
                sha: "1".repeat(40),
                repo_id: 1,
            },
            base: PrBranch {
                git_ref: base.into(),
                sha: "2".repeat(40),
                repo_id: 1,
            },
            labels: Vec::new(),
            title: String::new(),
            html_url: String::new(),
        }
    }

    fn note(body: &str) -> Comment {
        Comment {
            id: 1,
            body: body.into(),
            user: None,
        }
    }

    #[test]
    fn decide_table() {
        let config = RetargetConfig {
            exempt: vec!["Release-Bot".into()],
            ..RetargetConfig::default()
        };
        let leave = |d: Decision| matches!(d, Decision::Leave(_));
        assert_eq!(
            decide(&pr("main", "feature", "alice", "open"), &config, &[]),
            Decision::Retarget { comment: true }
        );
        assert_eq!(
            decide(
                &pr("main", "feature", "alice", "open"),
                &config,
                &[note("hi"), note(&comment("main", "staging"))]
            ),
            Decision::Retarget { comment: false },
            "a human moved it back: retarget again, never comment twice"
        );
        assert!(leave(decide(
            &pr("staging", "feature", "alice", "open"),
            &config,
            &[]
        )));
        assert!(leave(decide(
            &pr("main", "staging", "alice", "open"),
            &config,
            &[]
        )));
        assert!(leave(decide(
            &pr("main", "feature", "release-bot", "open"),
            &config,
            &[]
        )));
        assert!(leave(decide(
            &pr("main", "feature", "alice", "closed"),
            &config,
            &[]
        )));
        let mut fork = pr("main", "staging", "mallory", "open");
        fork.head.repo_id = 9;
        assert_eq!(
            decide(&fork, &config, &[]),
            Decision::Retarget { comment: true },
            "a fork's branch named staging is not staging"
        );
    }

    #[test]
    fn comment_carries_the_marker() {
        let text = comment("main", "staging");
        assert!(text.starts_with(MARKER));
        assert!(text.contains("`staging`"));
    }
}
