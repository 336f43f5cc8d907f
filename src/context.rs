//! What the Actions environment says about this run: server, repository, event, tokens and
//! where reports go. Read once, before anything is decided; flags override the environment.

use std::{
    collections::HashMap,
    fmt,
    path::{Path, PathBuf},
};

use serde_json::Value;

use crate::Error;

/// A secret read from the environment. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for an `Authorization` header. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
}

impl RepoRef {
    pub fn parse(text: &str) -> Option<RepoRef> {
        let (owner, name) = text.trim().split_once('/')?;
        let name = name.strip_suffix(".git").unwrap_or(name);
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (valid(owner) && valid(name)).then(|| RepoRef {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The event that started the run, as far as shipgate needs it. The PR's state, head and
/// reviews are always re-read from the API; the event only says *which* PR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `pull_request` / `pull_request_target`.
    PullRequest { number: u64, action: String },
    /// `pull_request_review`: Gitea's payload has only `review.type` and `content`.
    PullRequestReview { number: u64, review_type: String },
    /// `issue_comment`, on an issue or a pull request.
    IssueComment {
        number: u64,
        is_pull: bool,
        action: String,
        body: String,
        commenter: String,
    },
    /// `push`.
    Push { git_ref: String, after: String },
    /// `workflow_dispatch`, with its string inputs.
    WorkflowDispatch { inputs: HashMap<String, String> },
    /// `schedule` or any other event without a subject.
    Other { name: String },
}

impl Event {
    /// The pull request this event is about, if any.
    pub fn pull_number(&self) -> Option<u64> {
        match self {
            Event::PullRequest { number, .. } | Event::PullRequestReview { number, .. } => {
                Some(*number)
            }
            Event::IssueComment {
                number, is_pull, ..
            } => is_pull.then_some(*number),
            Event::WorkflowDispatch { inputs } => {
                inputs.get("pr").and_then(|pr| pr.trim().parse().ok())
            }
            Event::Push { .. } | Event::Other { .. } => None,
        }
    }

    /// Parse a Gitea event payload.
    pub fn parse(name: &str, payload: &Value) -> Result<Event, String> {
        let number_of = |v: &Value| v.as_u64();
        match name {
            "pull_request" | "pull_request_target" => {
                let number = payload
                    .get("number")
                    .and_then(number_of)
                    .or_else(|| payload.pointer("/pull_request/number").and_then(number_of))
                    .ok_or("the payload has no `number` or `pull_request.number`")?;
                Ok(Event::PullRequest {
                    number,
                    action: string_at(payload, "/action"),
                })
            }
            "pull_request_review" | "pull_request_review_comment" => {
                let number = payload
                    .pointer("/pull_request/number")
                    .and_then(number_of)
                    .or_else(|| payload.get("number").and_then(number_of))
                    .ok_or("the payload has no `pull_request.number`")?;
                Ok(Event::PullRequestReview {
                    number,
                    review_type: string_at(payload, "/review/type"),
                })
            }
            "issue_comment" => {
                let number = payload
                    .pointer("/issue/number")
                    .and_then(number_of)
                    .ok_or("the payload has no `issue.number`")?;
                let is_pull = payload
                    .get("is_pull")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                    || payload
                        .pointer("/issue/pull_request")
                        .is_some_and(|v| !v.is_null());
                Ok(Event::IssueComment {
                    number,
                    is_pull,
                    action: string_at(payload, "/action"),
                    body: string_at(payload, "/comment/body"),
                    commenter: payload
                        .pointer("/comment/user/login")
                        .or_else(|| payload.pointer("/sender/login"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                })
            }
            "push" => Ok(Event::Push {
                git_ref: string_at(payload, "/ref"),
                after: string_at(payload, "/after"),
            }),
            "workflow_dispatch" => {
                let inputs = payload
                    .get("inputs")
                    .and_then(Value::as_object)
                    .map(|map| {
                        map.iter()
                            .map(|(k, v)| {
                                let text = match v {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                                (k.clone(), text)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(Event::WorkflowDispatch { inputs })
            }
            other => Ok(Event::Other {
                name: other.to_owned(),
            }),
        }
    }
}

fn string_at(payload: &Value, pointer: &str) -> String {
    payload
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The Actions environment, read once.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `GITHUB_SERVER_URL` (or `--server`), without a trailing slash.
    pub server_url: Option<String>,
    /// `GITHUB_API_URL`, else `<server>/api/v1`.
    pub api_url: Option<String>,
    pub repo: Option<RepoRef>,
    pub event: Option<Event>,
    pub output_path: Option<PathBuf>,
    pub summary_path: Option<PathBuf>,
    /// `SHIPGATE_TOKEN`: reads (and sync's push).
    pub token: Option<Secret>,
    /// `SHIPGATE_STATUS_TOKEN`: review-fire's status writes.
    pub status_token: Option<Secret>,
    /// True under an Actions runner (`GITHUB_ACTIONS=true` or `GITEA_ACTIONS=true`).
    pub in_actions: bool,
    /// True when the action's script started the binary (`SHIPGATE_VIA_ACTION=1`): a
    /// missing token then came through an input whose secret is missing or empty.
    pub via_action: bool,
}

/// Environment lookup, injectable for tests.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).cloned()
    }
}

/// Flags that override the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub server: Option<String>,
    pub repo: Option<String>,
}

impl Context {
    /// Read the environment. Fails only on what is present but unreadable (a bad event
    /// file, a malformed repository name); what is absent stays `None` for the mode to judge.
    pub fn from_env(env: &dyn Env, overrides: &Overrides) -> Result<Context, Error> {
        let server_url = overrides
            .server
            .clone()
            .or_else(|| env.var("GITHUB_SERVER_URL"))
            .map(|s| s.trim_end_matches('/').to_owned());
        let api_url = if overrides.server.is_some() {
            None
        } else {
            env.var("GITHUB_API_URL")
                .map(|s| s.trim_end_matches('/').to_owned())
        }
        .or_else(|| server_url.as_ref().map(|s| format!("{s}/api/v1")));
        let repo_text = overrides
            .repo
            .clone()
            .or_else(|| env.var("GITHUB_REPOSITORY"));
        let repo = match repo_text {
            Some(text) => Some(RepoRef::parse(&text).ok_or_else(|| Error::Usage {
                message: format!("invalid repository `{text}`: expected OWNER/NAME"),
            })?),
            None => None,
        };
        let event_name = env.var("GITHUB_EVENT_NAME");
        let event = match (&event_name, env.var("GITHUB_EVENT_PATH")) {
            (Some(name), Some(path)) => Some(read_event(name, Path::new(&path))?),
            (Some(name), None) => Some(Event::Other { name: name.clone() }),
            _ => None,
        };
        Ok(Context {
            server_url,
            api_url,
            repo,
            event,
            output_path: env.var("GITHUB_OUTPUT").map(PathBuf::from),
            summary_path: env.var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            token: secret(env, "SHIPGATE_TOKEN"),
            status_token: secret(env, "SHIPGATE_STATUS_TOKEN"),
            in_actions: env.var("GITHUB_ACTIONS").as_deref() == Some("true")
                || env.var("GITEA_ACTIONS").as_deref() == Some("true"),
            via_action: env.var("SHIPGATE_VIA_ACTION").as_deref() == Some("1"),
        })
    }

    /// The token, or the error that says how to provide it.
    pub fn require_token(&self, purpose: &'static str) -> Result<&Secret, Error> {
        self.token.as_ref().ok_or(Error::MissingToken {
            var: "SHIPGATE_TOKEN",
            purpose,
            via_action: self.via_action,
        })
    }

    pub fn require_repo(&self) -> Result<&RepoRef, Error> {
        self.repo.as_ref().ok_or_else(|| Error::MissingContext {
            what: "the repository",
            why: "neither --repo nor GITHUB_REPOSITORY is set".into(),
        })
    }

    pub fn require_api(&self) -> Result<&str, Error> {
        self.api_url
            .as_deref()
            .ok_or_else(|| Error::MissingContext {
                what: "the Gitea server",
                why: "neither --server nor GITHUB_SERVER_URL/GITHUB_API_URL is set".into(),
            })
    }

    pub fn require_server(&self) -> Result<&str, Error> {
        self.server_url
            .as_deref()
            .ok_or_else(|| Error::MissingContext {
                what: "the Gitea server",
                why: "neither --server nor GITHUB_SERVER_URL is set".into(),
            })
    }

    /// The workflow commands that mask every secret, printed before anything else when
    /// running under Actions.
    pub fn mask_commands(&self) -> Vec<String> {
        if !self.in_actions {
            return Vec::new();
        }
        // One mask per line: a workflow command ends at a line break, so a secret with an
        // inner newline would otherwise mask only its first line and print the rest.
        [&self.token, &self.status_token]
            .into_iter()
            .flatten()
            .flat_map(|secret| secret.expose().split(['\n', '\r']))
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| format!("::add-mask::{part}"))
            .collect()
    }
}

/// A token from the environment, without the stray newline or spaces a pasted secret
/// often carries (they would make the `Authorization` header invalid).
fn secret(env: &dyn Env, key: &str) -> Option<Secret> {
    env.var(key)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .map(Secret::new)
}

fn read_event(name: &str, path: &Path) -> Result<Event, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Event {
        path: path.to_owned(),
        why: e.to_string(),
    })?;
    let payload: Value = serde_json::from_str(&text).map_err(|e| Error::Event {
        path: path.to_owned(),
        why: format!("not JSON: {e}"),
    })?;
    Event::parse(name, &payload).map_err(|why| Error::Event {
        path: path.to_owned(),
        why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn review_payload_carries_only_type() {
        let payload = json!({"action": "reviewed", "pull_request": {"number": 7},
            "review": {"type": "pull_request_review_approved", "content": "lgtm"}});
        assert_eq!(
            Event::parse("pull_request_review", &payload),
            Ok(Event::PullRequestReview {
                number: 7,
                review_type: "pull_request_review_approved".into()
            })
        );
    }

    #[test]
    fn issue_comment_on_an_issue_has_no_pull() {
        let payload = json!({"action": "created", "issue": {"number": 3, "pull_request": null},
            "comment": {"body": "/qa-recheck", "user": {"login": "bob"}}, "is_pull": false});
        let event = Event::parse("issue_comment", &payload).expect("parses");
        assert_eq!(event.pull_number(), None);
        let payload = json!({"action": "created", "issue": {"number": 3, "pull_request": {"merged": false}},
            "comment": {"body": "/qa-recheck", "user": {"login": "bob"}}});
        assert_eq!(
            Event::parse("issue_comment", &payload)
                .expect("parses")
                .pull_number(),
            Some(3)
        );
    }

    #[test]
    fn pull_request_without_number_is_an_error() {
        assert!(Event::parse("pull_request_target", &json!({"action": "opened"})).is_err());
    }

    #[test]
    fn flags_override_environment() {
        let env: HashMap<String, String> = [
            ("GITHUB_SERVER_URL", "http://gitea:3000/"),
            ("GITHUB_API_URL", "http://gitea:3000/api/v1"),
            ("GITHUB_REPOSITORY", "acme/app"),
            ("RUNNER_ARCH", "X64"),
            ("RUNNER_OS", "Linux"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let ctx = Context::from_env(&env, &Overrides::default()).expect("reads");
        assert_eq!(ctx.server_url.as_deref(), Some("http://gitea:3000"));
        assert_eq!(ctx.api_url.as_deref(), Some("http://gitea:3000/api/v1"));
        let ctx = Context::from_env(
            &env,
            &Overrides {
                server: Some("http://127.0.0.1:9".into()),
                repo: Some("o/r".into()),
            },
        )
        .expect("reads");
        assert_eq!(ctx.api_url.as_deref(), Some("http://127.0.0.1:9/api/v1"));
        assert_eq!(ctx.repo, RepoRef::parse("o/r"));
    }

    #[test]
    fn secrets_never_format() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
    }

    #[test]
    fn tokens_are_trimmed_and_blank_ones_absent() {
        let env: HashMap<String, String> = [
            ("SHIPGATE_TOKEN", "  t0k\n"),
            ("SHIPGATE_STATUS_TOKEN", " \n"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let ctx = Context::from_env(&env, &Overrides::default()).expect("reads");
        assert_eq!(ctx.token, Some(Secret::new("t0k")));
        assert_eq!(ctx.status_token, None);
    }

    #[test]
    fn masks_only_under_actions() {
        let mut ctx = Context {
            token: Some(Secret::new("t0k")),
            ..Context::default()
        };
        assert!(ctx.mask_commands().is_empty());
        ctx.in_actions = true;
        assert_eq!(ctx.mask_commands(), vec!["::add-mask::t0k".to_owned()]);
    }

    #[test]
    fn a_multi_line_secret_is_masked_line_by_line() {
        let ctx = Context {
            token: Some(Secret::new("first-half\r\nsecond-half")),
            status_token: Some(Secret::new("w1\nw2")),
            in_actions: true,
            ..Context::default()
        };
        let masks = ctx.mask_commands();
        for line in &masks {
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
        }
        for part in ["first-half", "second-half", "w1", "w2"] {
            assert!(masks.contains(&format!("::add-mask::{part}")), "{masks:?}");
        }
    }
}
