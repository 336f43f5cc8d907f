//! retarget's decide step, pure: from the pull request, the policy and its comments,
//! leave it alone (and why) or change its base, commenting once.

use crate::{
    config::RetargetConfig,
    forge::{Comment, PullRequest},
};

/// The marker that makes the comment idempotent.
pub const MARKER: &str = "<!-- shipgate:retarget -->";

/// What retarget does with a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Leave it alone, and why.
    Leave(String),
    /// Change the base to `to`; `comment` when no earlier run commented.
    Retarget { comment: bool },
}

/// Decide from the PR, the policy and the comments. Pure.
pub fn decide(pr: &PullRequest, config: &RetargetConfig, comments: &[Comment]) -> Plan {
    if pr.merged || pr.state != "open" {
        return Plan::Leave(format!(
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
        return Plan::Leave(format!(
            "pull request #{} targets `{}`, not `{}`",
            pr.number, pr.base.git_ref, config.from
        ));
    }
    let same_repo = pr.head.repo_id == 0 || pr.head.repo_id == pr.base.repo_id;
    if same_repo && pr.head.git_ref == config.to {
        return Plan::Leave(format!(
            "pull request #{} is the promotion of `{}` itself",
            pr.number, config.to
        ));
    }
    if config
        .exempt
        .iter()
        .any(|login| login.eq_ignore_ascii_case(&pr.user.login))
    {
        return Plan::Leave(format!(
            "the author `{}` is in `retarget.exempt`",
            pr.user.login
        ));
    }
    Plan::Retarget {
        comment: !comments.iter().any(|c| c.body.contains(MARKER)),
    }
}

/// The comment left on a retargeted PR.
pub fn comment(from: &str, to: &str) -> String {
    format!(
        "{MARKER}\nshipgate retargeted this pull request from `{from}` to `{to}`: changes reach `{from}` only through `{to}`, which is promoted to `{from}` once its checks are green. If this PR must go straight to `{from}`, ask a maintainer to add its author to `retarget.exempt` in `.gitea/shipgate.yml`."
    )
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
            merge_base: None,
            changed_files: None,
            additions: None,
            deletions: None,
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
        let leave = |d: Plan| matches!(d, Plan::Leave(_));
        assert_eq!(
            decide(&pr("main", "feature", "alice", "open"), &config, &[]),
            Plan::Retarget { comment: true }
        );
        assert_eq!(
            decide(
                &pr("main", "feature", "alice", "open"),
                &config,
                &[note("hi"), note(&comment("main", "staging"))]
            ),
            Plan::Retarget { comment: false },
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
            Plan::Retarget { comment: true },
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
