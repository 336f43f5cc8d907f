//! Which pull request a run is about, and whether a comment asks for a recheck. Pure.

use crate::{config::Gate, context::Event};

/// A slash command read from a comment's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command as typed, e.g. `/qa-recheck`.
    pub command: String,
    /// Who commented (sanitised to login characters).
    pub by: String,
}

/// What the run should do before any API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Evaluate this PR; a comment run carries its command, matched against the base
    /// branch's gates later.
    Evaluate { pr: u64, command: Option<Command> },
    /// A recheck command on an issue the payload says is not a pull request: re-read the
    /// issue from the API before believing it (payloads vary across Gitea versions).
    CheckIssue { number: u64, command: Command },
    /// Nothing to do, and why.
    NotApplicable(String),
    /// No pull request can be found: a usage problem.
    NoPull(String),
}

/// The first word of the first line, when it is a slash command.
pub fn slash_command(body: &str) -> Option<&str> {
    let first = body.lines().next()?.trim();
    let word = first.split_whitespace().next()?;
    word.starts_with('/').then_some(word)
}

fn sanitize_login(login: &str) -> String {
    let clean: String = login
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64)
        .collect();
    if clean.is_empty() {
        "someone".into()
    } else {
        clean
    }
}

/// Resolve the run's subject from `--pr` and the event.
pub fn resolve(event: Option<&Event>, pr_flag: Option<u64>) -> Trigger {
    match event {
        Some(Event::IssueComment {
            number,
            is_pull,
            action,
            body,
            commenter,
        }) if pr_flag.is_none() || pr_flag == Some(*number) => {
            if action == "deleted" {
                return Trigger::NotApplicable(format!(
                    "a comment on #{number} was deleted: nothing to recheck"
                ));
            }
            match slash_command(body) {
                Some(command) => {
                    let command = Command {
                        command: command.to_owned(),
                        by: sanitize_login(commenter),
                    };
                    if *is_pull {
                        Trigger::Evaluate {
                            pr: *number,
                            command: Some(command),
                        }
                    } else {
                        Trigger::CheckIssue {
                            number: *number,
                            command,
                        }
                    }
                }
                None => Trigger::NotApplicable(format!(
                    "the comment on #{number} has no slash command on its first line"
                )),
            }
        }
        _ => match pr_flag.or_else(|| event.and_then(Event::pull_number)) {
            Some(pr) => Trigger::Evaluate { pr, command: None },
            None => Trigger::NoPull(match event {
                Some(Event::Other { name }) => format!("event `{name}` names no pull request"),
                Some(Event::Push { .. }) => "event `push` names no pull request".into(),
                Some(Event::WorkflowDispatch { .. }) => {
                    "the workflow_dispatch inputs have no `pr`".into()
                }
                _ => "no event payload and no --pr".into(),
            }),
        },
    }
}

/// The gate a recheck command names, if any.
pub fn gate_for<'a>(gates: &'a [Gate], command: &str) -> Option<&'a Gate> {
    gates.iter().find(|g| g.command == command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(body: &str, is_pull: bool) -> Event {
        Event::IssueComment {
            number: 7,
            is_pull,
            action: "created".into(),
            body: body.into(),
            commenter: "dave".into(),
        }
    }

    #[test]
    fn first_line_only() {
        assert_eq!(slash_command("/qa-recheck"), Some("/qa-recheck"));
        assert_eq!(
            slash_command("  /qa-recheck please\nmore"),
            Some("/qa-recheck")
        );
        assert_eq!(slash_command("please\n/qa-recheck"), None);
        assert_eq!(slash_command(""), None);
        assert_eq!(slash_command("lgtm"), None);
    }

    #[test]
    fn table() {
        let cases: Vec<(Option<Event>, Option<u64>, Trigger)> = vec![
            (
                Some(comment("/qa-recheck", true)),
                None,
                Trigger::Evaluate {
                    pr: 7,
                    command: Some(Command {
                        command: "/qa-recheck".into(),
                        by: "dave".into(),
                    }),
                },
            ),
            (
                Some(comment("/qa-recheck", false)),
                None,
                Trigger::CheckIssue {
                    number: 7,
                    command: Command {
                        command: "/qa-recheck".into(),
                        by: "dave".into(),
                    },
                },
            ),
            (
                Some(comment("LGTM", true)),
                None,
                Trigger::NotApplicable(
                    "the comment on #7 has no slash command on its first line".into(),
                ),
            ),
            (
                Some(comment("LGTM", true)),
                Some(9),
                Trigger::Evaluate {
                    pr: 9,
                    command: None,
                },
            ),
            (
                Some(Event::PullRequestReview {
                    number: 3,
                    review_type: "pull_request_review_approved".into(),
                }),
                None,
                Trigger::Evaluate {
                    pr: 3,
                    command: None,
                },
            ),
            (
                Some(Event::Push {
                    git_ref: "refs/heads/main".into(),
                    after: "abc".into(),
                }),
                None,
                Trigger::NoPull("event `push` names no pull request".into()),
            ),
            (
                None,
                Some(4),
                Trigger::Evaluate {
                    pr: 4,
                    command: None,
                },
            ),
        ];
        for (event, flag, expected) in cases {
            assert_eq!(
                resolve(event.as_ref(), flag),
                expected,
                "{event:?} {flag:?}"
            );
        }
    }

    #[test]
    fn commenter_is_sanitised() {
        let event = Event::IssueComment {
            number: 1,
            is_pull: true,
            action: "created".into(),
            body: "/qa-recheck".into(),
            commenter: "ev il\n::error::x".into(),
        };
        match resolve(Some(&event), None) {
            Trigger::Evaluate {
                command: Some(c), ..
            } => assert_eq!(c.by, "evilerrorx"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
