//! Harness: a fake Gitea that behaves like the real one where it matters to shipgate.
//!
//! An axum server on `127.0.0.1:0`, on its own thread with its own tokio runtime, so plain
//! `#[test]` functions can use it. State lives in memory; every request is recorded with
//! the route template it matched; faults can be injected per route. The route table
//! [`ROUTES`] is the one the dispatcher uses, and `tests/spec.rs` checks it (and every
//! response body) against Forgejo's swagger spec.
//!
//! Gitea behaviour reproduced (see `shared/reference/gitea-facts.md`): `limit` defaults to 30
//! and is capped silently at 50, lists carry `X-Total-Count` and `Link`; file status
//! `changed`; unknown label ids/names are ignored when added; duplicate label names are
//! allowed; `POST …/statuses` answers 201 with the state in field `status`; statuses list
//! newest first; the team member probe answers 200 (member) or 404 (not); errors are JSON
//! `{"message", "url"}` and a missing or unknown token is 401 `token is required`; `POST`
//! reviews answer 200, GitHub's `APPROVE` makes a PENDING review, self-approval is 422.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{Request, State as AxumState},
    http::{HeaderValue, StatusCode},
    response::Response,
};
use serde_json::{json, Value};

use crate::support::{
    fault_schedule::{ConnKill, Scheduled},
    serve::{Background, Bound},
};

mod dispatch;
mod handlers;
mod reply;
mod routes;
mod state;

pub use self::routes::{api_routes, ROUTES};
use self::{dispatch::*, handlers::*, reply::*, state::*};

/// Gitea's `[api] DEFAULT_PAGING_NUM`.
pub const DEFAULT_LIMIT: usize = 30;
/// Gitea's `[api] MAX_RESPONSE_ITEMS`: larger `limit`s are capped silently.
pub const MAX_LIMIT: usize = 50;
/// The login of Gitea's Actions token user (id -2, "Gitea Actions", teabot@gitea.io).
pub const ACTIONS_USER: &str = "gitea-actions";

// ---- public data types ---------------------------------------------------------------

/// A pull request to serve. `..PrSpec::default()` gives an open, unmerged PR from
/// `feature` into `main`.
#[derive(Debug, Clone)]
pub struct PrSpec {
    pub number: u64,
    pub author: String,
    pub title: String,
    pub body: String,
    pub state: String,
    pub merged: bool,
    pub draft: bool,
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    pub base_sha: String,
    /// `owner/name` of the head repository when the PR comes from a fork.
    pub head_repo: Option<String>,
}

impl Default for PrSpec {
    fn default() -> Self {
        PrSpec {
            number: 1,
            author: "alice".into(),
            title: "a change".into(),
            body: String::new(),
            state: "open".into(),
            merged: false,
            draft: false,
            head_ref: "feature".into(),
            head_sha: "1".repeat(40),
            base_ref: "main".into(),
            base_sha: "2".repeat(40),
            head_repo: None,
        }
    }
}

/// One changed file of a pull request, as Gitea lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    pub filename: String,
    /// `added`, `deleted`, `renamed`, `copied`, `changed` (Gitea's word for modified), `unchanged`.
    pub status: String,
    pub additions: u64,
    pub deletions: u64,
    pub previous_filename: Option<String>,
}

impl FileSpec {
    pub fn new(filename: &str, status: &str, additions: u64, deletions: u64) -> FileSpec {
        FileSpec {
            filename: filename.into(),
            status: status.into(),
            additions,
            deletions,
            previous_filename: None,
        }
    }

    pub fn renamed(from: &str, to: &str, additions: u64, deletions: u64) -> FileSpec {
        FileSpec {
            filename: to.into(),
            status: "renamed".into(),
            additions,
            deletions,
            previous_filename: Some(from.into()),
        }
    }
}

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The matched template (`/repos/{owner}/{repo}/labels`, without `/api/v1`); empty when
    /// no route matched.
    pub route: String,
    /// The path as sent (percent-encoded, with `/api/v1`).
    pub path: String,
    /// The raw query string, `""` when none.
    pub query: String,
    /// The raw request body (UTF-8, lossy).
    pub body: String,
    /// Login of the token's user; `None` without a (known) token.
    pub login: Option<String>,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    /// The response status the fake sent (0: the connection was closed without one).
    pub status: u16,
    /// The fault that shaped the answer, if any (by route or by schedule).
    pub fault: Option<FaultKind>,
}

impl Recorded {
    /// `"METHOD /template"`, comparable with [`Route::key`] and fault keys.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.route)
    }

    /// The body as JSON (`Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// A decoded query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        parse_query(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// A commit status as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub state: String,
    pub context: String,
    pub description: String,
    pub target_url: String,
    /// Login of the token that created it.
    pub creator: String,
}

/// A change the fake makes to itself when a route is hit for the n-th time, just before
/// it handles that request ([`FakeGitea::on_hit`]) or just after it handled it and before
/// it answers ([`FakeGitea::after_hit`]): "another client" acting at the worst moment,
/// at a point fixed by the protocol, never by the clock.
#[derive(Debug, Clone)]
pub enum Action {
    /// Move a branch (a push by someone else).
    SetBranch {
        repo: String,
        branch: String,
        sha: String,
    },
    /// Record a commit (so a branch can move to it).
    Commit {
        repo: String,
        sha: String,
        parents: Vec<String>,
    },
    /// Post a commit status.
    AddStatus {
        repo: String,
        sha: String,
        row: StatusRow,
    },
    /// Move a pull request's head (a push to its branch).
    SetPrHead {
        repo: String,
        number: u64,
        sha: String,
    },
    /// Put a label on an issue or pull request, as `by`.
    AddIssueLabel {
        repo: String,
        number: u64,
        label_id: i64,
        by: String,
    },
    /// Delete a team of an org (an owner did): its id answers 404 from then on.
    DeleteTeam { org: String, name: String },
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer with this status and a Gitea error body (an HTML page for 502/503/504, as a
    /// proxy would); the request is not processed.
    Status(u16),
    /// Process the request, then wait this long before answering.
    Delay(Duration),
    /// Process the request, answer its status and headers with a body that is not JSON.
    Malformed,
    /// Drop the last item of a list page, keep the headers.
    TruncatePage,
    /// Add this to `X-Total-Count`.
    WrongTotal(i64),
    /// Remove `X-Total-Count`.
    NoTotal,
    /// Answer this status with `Retry-After: secs` (429, 503); not processed.
    StatusRetryAfter(u16, u64),
    /// Close the connection without any answer (a reset); the request is not processed.
    Reset,
    /// Process the request, send the headers with the full `Content-Length` and half the
    /// body, then close the connection: an answer cut off mid-JSON.
    CutBody,
}

/// A fault on one route template (`"GET /repos/{owner}/{repo}/pulls/{index}/files"`).
#[derive(Debug, Clone)]
pub struct Fault {
    route: String,
    kind: FaultKind,
    times: Option<usize>,
    page: Option<u64>,
    login: Option<String>,
    retry_after: Option<u64>,
}

impl Fault {
    /// Applies to every matching request unless limited with [`Fault::times`].
    pub fn new(route: &str, kind: FaultKind) -> Fault {
        Fault {
            route: route.to_owned(),
            kind,
            times: None,
            page: None,
            login: None,
            retry_after: None,
        }
    }

    /// Only the first `n` matching requests.
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }

    /// Only requests for this page (`page` query parameter, 1 when absent).
    pub fn page(mut self, page: u64) -> Fault {
        self.page = Some(page);
        self
    }

    /// Only requests made with this user's token.
    pub fn login(mut self, login: &str) -> Fault {
        self.login = Some(login.to_owned());
        self
    }

    /// Send `Retry-After: secs` with a `Status` fault.
    pub fn retry_after(mut self, secs: u64) -> Fault {
        self.retry_after = Some(secs);
        self
    }
}

// ---- the server ----------------------------------------------------------------------

/// The fake server. Stops when dropped.
pub struct FakeGitea {
    url: String,
    shared: Arc<Shared>,
    _server: Background,
}

struct Shared {
    state: Mutex<StateData>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, StateData> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl FakeGitea {
    /// Bind `127.0.0.1:0` and serve on a new thread.
    pub fn start() -> FakeGitea {
        let bound = Bound::new("fake-gitea");
        let url = format!("http://{}", bound.addr());
        let shared = Arc::new(Shared {
            state: Mutex::new(StateData::new(url.clone())),
        });
        let app = axum::Router::new()
            .fallback(dispatch)
            .with_state(Arc::clone(&shared));
        FakeGitea {
            url,
            shared,
            _server: bound.serve(app),
        }
    }

    /// `http://127.0.0.1:PORT`: the server URL (API under `/api/v1`).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// `http://127.0.0.1:PORT/api/v1`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.url)
    }

    fn state(&self) -> MutexGuard<'_, StateData> {
        self.shared.lock()
    }

    /// A user whose token is `token` (a user may have several tokens).
    pub fn add_user(&self, login: &str, token: &str) {
        let mut state = self.state();
        state.user_id(login);
        state.tokens.insert(token.to_owned(), login.to_owned());
    }

    /// The user's full name and email as `GET /user` shows them.
    pub fn set_user_details(&self, login: &str, full_name: &str, email: &str) {
        let mut state = self.state();
        state.user_id(login);
        state
            .details
            .insert(login.to_owned(), (full_name.to_owned(), email.to_owned()));
    }

    /// Writes by this user's tokens answer 403 (a token without write scopes).
    pub fn read_only(&self, login: &str) {
        let mut state = self.state();
        state.user_id(login);
        state.read_only.insert(login.to_owned());
    }

    /// This user's token carries exactly these scopes (Gitea 1.27's names). Only
    /// `GET /notifications/new` checks them: without a notification scope it answers
    /// 1.27's 403, which lists the token's scopes. Unset: every scope.
    pub fn set_token_scopes(&self, login: &str, scopes: &[&str]) {
        let mut state = self.state();
        state.user_id(login);
        state.token_scopes.insert(
            login.to_owned(),
            scopes.iter().map(|s| (*s).to_owned()).collect(),
        );
    }

    /// Every tree listing answers `truncated: true`, as Gitea does past one page.
    pub fn truncate_trees(&self) {
        self.state().trees_truncated = true;
    }

    /// A repository `owner/name` with default branch `main`.
    pub fn add_repo(&self, full_name: &str) {
        self.state().repo_id(full_name);
    }

    /// A pull request (which is also an issue with the same number).
    pub fn add_pr(&self, repo: &str, pr: PrSpec) {
        let mut state = self.state();
        let repo_id = state.repo_id(repo);
        state.user_id(&pr.author);
        if let Some(head) = &pr.head_repo {
            state.repo_id(head);
        }
        let key = (repo.to_owned(), pr.number);
        assert!(
            !state.issues.contains_key(&key),
            "fake: `{repo}#{}` already exists",
            pr.number
        );
        let id = state.next_id();
        let created = state.tick();
        state.issues.insert(
            key,
            IssueRow {
                id,
                repo_id,
                number: pr.number,
                author: pr.author.clone(),
                title: pr.title.clone(),
                body: pr.body.clone(),
                state: if pr.merged {
                    "closed".into()
                } else {
                    pr.state.clone()
                },
                created,
                pr: Some(pr),
                labels: Vec::new(),
                files: Vec::new(),
                reviews: Vec::new(),
                timeline: Vec::new(),
                comments: Vec::new(),
            },
        );
    }

    /// A plain issue (not a pull request).
    pub fn add_issue(&self, repo: &str, number: u64, author: &str) {
        let mut state = self.state();
        let repo_id = state.repo_id(repo);
        state.user_id(author);
        let key = (repo.to_owned(), number);
        assert!(
            !state.issues.contains_key(&key),
            "fake: `{repo}#{number}` already exists"
        );
        let id = state.next_id();
        let created = state.tick();
        state.issues.insert(
            key,
            IssueRow {
                id,
                repo_id,
                number,
                author: author.to_owned(),
                title: format!("issue {number}"),
                body: String::new(),
                state: "open".into(),
                created,
                pr: None,
                labels: Vec::new(),
                files: Vec::new(),
                reviews: Vec::new(),
                timeline: Vec::new(),
                comments: Vec::new(),
            },
        );
    }

    /// Move a PR's head (a new push), e.g. to race a run.
    pub fn set_pr_head(&self, repo: &str, number: u64, head_sha: &str) {
        self.state().apply(&Action::SetPrHead {
            repo: repo.to_owned(),
            number,
            sha: head_sha.to_owned(),
        });
    }

    /// Change a PR's state (`open`/`closed`) and merged flag.
    pub fn set_pr_state(&self, repo: &str, number: u64, state_name: &str, merged: bool) {
        let mut state = self.state();
        let issue = state.issue_mut(repo, number);
        issue.state = state_name.to_owned();
        let pr = issue
            .pr
            .as_mut()
            .unwrap_or_else(|| panic!("fake: `{repo}#{number}` is not a pull request"));
        pr.state = state_name.to_owned();
        pr.merged = merged;
    }

    /// The PR's changed files, in Gitea's order.
    pub fn set_files(&self, repo: &str, number: u64, files: Vec<FileSpec>) {
        self.state().issue_mut(repo, number).files = files;
    }

    /// A review row. `raw` is a (partial) PullReview: missing fields get defaults, a
    /// `user` given only by `login` is completed; returns the review id.
    pub fn add_review(&self, repo: &str, number: u64, raw: Value) -> i64 {
        let mut state = self.state();
        let id = state.next_id();
        let stamp = state.tick();
        let row = state.review_json(repo, number, id, &stamp, raw);
        // Gitea adds a `review` row to the timeline for each review (seen on 1.22.6 and
        // 1.27.3, unsubmitted ones included).
        let login = row["user"]["login"].as_str().map(str::to_owned);
        let comment_id = state.next_id();
        let mut comment =
            state.timeline_base(repo, number, comment_id, &stamp, "review", login.as_deref());
        comment["review_id"] = json!(id);
        state.issue_mut(repo, number).reviews.push(row);
        state.issue_mut(repo, number).timeline.push(comment);
        id
    }

    /// Gitea 1.27 and later: teams are private and hidden from org members who are neither
    /// in them nor owners (`GET /orgs/{org}/teams`); the Owners team stays visible.
    pub fn hide_private_teams(&self) {
        self.state().hide_private_teams = true;
    }

    /// Gitea 1.22: `GET /teams/{id}/members` pages without a `Link` header (1.27 added
    /// `SetLinkHeader` to `GetTeamMembers`); `X-Total-Count` is sent by both.
    pub fn team_members_without_link(&self) {
        self.state().team_members_without_link = true;
    }

    /// A repository label; returns its id. Duplicate names are allowed, as in Gitea.
    pub fn add_repo_label(&self, repo: &str, name: &str, color: &str) -> i64 {
        let mut state = self.state();
        state.repo_id(repo);
        let id = state.next_id();
        state
            .labels
            .entry(repo.to_owned())
            .or_default()
            .push(LabelRow {
                id,
                name: name.to_owned(),
                color: normalize_color(color).unwrap_or_else(|| color.to_owned()),
                description: String::new(),
            });
        id
    }

    /// Put a label on an issue/PR as `by`, with the timeline row Gitea writes.
    pub fn add_issue_label(&self, repo: &str, number: u64, label_id: i64, by: &str) {
        self.state().apply(&Action::AddIssueLabel {
            repo: repo.to_owned(),
            number,
            label_id,
            by: by.to_owned(),
        });
    }

    /// Take a label off as `by` (timeline row with an empty body).
    pub fn remove_issue_label(&self, repo: &str, number: u64, label_id: i64, by: &str) {
        let mut state = self.state();
        state.user_id(by);
        state.detach_label(repo, number, label_id, by);
    }

    /// A raw timeline row (missing `id`, `created_at`, `user` defaults are filled in);
    /// returns its id.
    pub fn add_timeline(&self, repo: &str, number: u64, raw: Value) -> i64 {
        let mut state = self.state();
        let id = state.next_id();
        let stamp = state.tick();
        let mut row = state.timeline_base(repo, number, id, &stamp, "comment", None);
        merge_into(&mut row, raw);
        state.complete_user_field(&mut row, "user");
        state.issue_mut(repo, number).timeline.push(row);
        id
    }

    /// A team of `org` with these members; returns the team id.
    pub fn add_team(&self, org: &str, name: &str, members: &[&str]) -> i64 {
        let mut state = self.state();
        state.org_id(org);
        for member in members {
            state.user_id(member);
        }
        let id = state.next_id();
        state.teams.push(TeamRow {
            id,
            org: org.to_owned(),
            name: name.to_owned(),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        });
        id
    }

    /// Make `login` an owner of `org`: owners may probe every team's members.
    pub fn add_org_owner(&self, org: &str, login: &str) {
        let mut state = self.state();
        state.org_id(org);
        state.user_id(login);
        state
            .owners
            .entry(org.to_owned())
            .or_default()
            .insert(login.to_owned());
    }

    /// A file's content at a ref (a SHA or a branch name), served by the raw endpoint.
    pub fn set_file(&self, repo: &str, git_ref: &str, path: &str, text: &str) {
        self.set_file_bytes(repo, git_ref, path, text.as_bytes().to_vec());
    }

    pub fn set_file_bytes(&self, repo: &str, git_ref: &str, path: &str, bytes: Vec<u8>) {
        let mut state = self.state();
        state.repo_id(repo);
        state.contents.insert(
            (
                repo.to_owned(),
                git_ref.to_owned(),
                path.trim_start_matches('/').to_owned(),
            ),
            bytes,
        );
    }

    /// A release with assets, served by the web download route the action fetches from.
    pub fn add_release(&self, repo: &str, tag: &str, assets: Vec<(String, Vec<u8>)>) {
        let mut state = self.state();
        state.repo_id(repo);
        let assets = assets
            .into_iter()
            .map(|(name, bytes)| AssetRow { name, bytes })
            .collect();
        state.releases.push(ReleaseRow {
            repo: repo.to_owned(),
            tag: tag.to_owned(),
            assets,
        });
    }

    /// A commit status that already exists (as if `row.creator` had posted it).
    pub fn add_status(&self, repo: &str, sha: &str, row: StatusRow) -> i64 {
        let mut state = self.state();
        state.repo_id(repo);
        state.user_id(&row.creator);
        state.push_status(repo, sha, row)
    }

    /// A branch protection rule on `repo` (Gitea's `BranchProtection`; missing fields get
    /// Gitea's defaults). Only repository admins may read them.
    pub fn add_branch_protection(&self, repo: &str, rule: Value) {
        let mut state = self.state();
        state.repo_id(repo);
        let mut full = json!({
            "branch_name": "", "rule_name": "", "enable_push": false, "enable_push_whitelist": false,
            "push_whitelist_usernames": [], "push_whitelist_teams": [],
            "push_whitelist_deploy_keys": false, "enable_merge_whitelist": false,
            "merge_whitelist_usernames": [], "merge_whitelist_teams": [],
            "enable_status_check": false, "status_check_contexts": [], "required_approvals": 0,
            "enable_approvals_whitelist": false, "approvals_whitelist_username": [],
            "approvals_whitelist_teams": [], "block_on_rejected_reviews": false,
            "block_on_official_review_requests": false, "block_on_outdated_branch": false,
            "dismiss_stale_approvals": false, "ignore_stale_approvals": false,
            "require_signed_commits": false, "protected_file_patterns": "",
            "unprotected_file_patterns": "",
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z",
        });
        if let (Some(full), Some(rule)) = (full.as_object_mut(), rule.as_object()) {
            for (k, v) in rule {
                full.insert(k.clone(), v.clone());
            }
        }
        state
            .protections
            .entry(repo.to_owned())
            .or_default()
            .push(full);
    }

    /// `login` is an admin of `repo` (may read its branch protection).
    pub fn make_repo_admin(&self, repo: &str, login: &str) {
        let mut state = self.state();
        state.user_id(login);
        state
            .repo_admins
            .insert((repo.to_owned(), login.to_owned()));
    }

    /// The team's `permission` as `GET /orgs/{org}/teams` shows it (default `write`).
    pub fn set_team_permission(&self, team: i64, permission: &str) {
        self.state()
            .team_permissions
            .insert(team, permission.to_owned());
    }

    /// Inject a fault. Panics when the route key names no route of the fake.
    pub fn fault(&self, fault: Fault) {
        assert!(
            ROUTES.iter().any(|r| r.key() == fault.route),
            "fake: no route `{}`; keys look like `GET /repos/{{owner}}/{{repo}}/labels`",
            fault.route
        );
        self.state().faults.push(FaultState { fault, hits: 0 });
    }

    /// Set the server's `[api] MAX_RESPONSE_ITEMS` (Gitea's default is 50): larger
    /// `limit`s are capped to it silently.
    pub fn set_max_items(&self, max_items: usize) {
        self.state().max_items = Some(max_items);
    }

    /// Remove every fault.
    pub fn clear_faults(&self) {
        let mut state = self.state();
        state.faults.clear();
        state.schedule.clear();
    }

    /// Faults by position: the `nth` request from now on (1-based, any route) gets its
    /// kind, once. Replaces an earlier schedule and restarts the count. A fault listed in
    /// `answers` for the route it lands on does not fire: there it would be an answer, not
    /// a fault (a 404 for a missing config file is "use the defaults").
    pub fn schedule(&self, faults: Vec<Scheduled<FaultKind>>, answers: &[(&str, FaultKind)]) {
        for (route, _) in answers {
            assert!(
                ROUTES.iter().any(|r| r.key() == *route),
                "fake: no route `{route}`"
            );
        }
        let mut state = self.state();
        state.schedule = faults;
        state.schedule_answers = answers
            .iter()
            .map(|(r, k)| ((*r).to_owned(), k.clone()))
            .collect();
        state.position = 0;
    }

    /// Forget everything (users, repositories, faults, requests): a fresh server on the
    /// same port, so a property test reuses one server across its cases.
    pub fn reset(&self) {
        let mut state = self.state();
        let base = state.base.clone();
        *state = StateData::new(base);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// Requests that matched this route key (`"POST /repos/{owner}/{repo}/labels"`).
    pub fn requests_to(&self, key: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.key() == key)
            .collect()
    }

    /// Forget the recorded requests.
    pub fn clear_requests(&self) {
        let mut state = self.state();
        state.requests.clear();
        state.unmatched.clear();
    }

    /// `"METHOD path"` of requests no route matched (must stay empty).
    pub fn unmatched(&self) -> Vec<String> {
        self.state().unmatched.clone()
    }

    /// The statuses of a commit, oldest first.
    pub fn statuses(&self, repo: &str, sha: &str) -> Vec<StatusRow> {
        self.state()
            .statuses
            .iter()
            .filter(|s| s.repo == repo && s.sha == sha)
            .map(|s| s.row.clone())
            .collect()
    }

    /// Names of the labels on an issue/PR, in the order they were added.
    pub fn issue_label_names(&self, repo: &str, number: u64) -> Vec<String> {
        let state = self.state();
        let key = (repo.to_owned(), number);
        let Some(issue) = state.issues.get(&key) else {
            return Vec::new();
        };
        issue
            .labels
            .iter()
            .filter_map(|id| state.label(repo, *id).map(|l| l.name.clone()))
            .collect()
    }

    /// Names of the repository's labels, in creation order (duplicates included).
    pub fn repo_label_names(&self, repo: &str) -> Vec<String> {
        self.state()
            .labels
            .get(repo)
            .map(|labels| labels.iter().map(|l| l.name.clone()).collect())
            .unwrap_or_default()
    }

    /// A commit of `repo` with these parents (the graph compare and merge walk).
    pub fn add_commit(&self, repo: &str, sha: &str, parents: &[&str]) {
        let mut state = self.state();
        state.repo_id(repo);
        state.commits.insert(
            (repo.to_owned(), sha.to_owned()),
            parents.iter().map(|p| (*p).to_owned()).collect(),
        );
    }

    /// Point a branch at a commit (added with [`FakeGitea::add_commit`]).
    pub fn set_branch(&self, repo: &str, branch: &str, sha: &str) {
        let mut state = self.state();
        state.repo_id(repo);
        state
            .branches
            .insert((repo.to_owned(), branch.to_owned()), sha.to_owned());
    }

    /// A branch's tip.
    pub fn branch(&self, repo: &str, branch: &str) -> Option<String> {
        self.state()
            .branches
            .get(&(repo.to_owned(), branch.to_owned()))
            .cloned()
    }

    /// Protect a branch with a rule of its own name requiring these status contexts
    /// (globs, as in Gitea); none: protected without a status check.
    pub fn protect_branch(&self, repo: &str, branch: &str, contexts: &[&str]) {
        self.add_branch_protection(
            repo,
            json!({
                "branch_name": branch,
                "rule_name": branch,
                "enable_status_check": !contexts.is_empty(),
                "status_check_contexts": contexts,
            }),
        );
    }

    /// The next `n` merges answer 405 "Please try again later" (mergeability not computed).
    pub fn merge_not_ready(&self, n: usize) {
        self.state().not_ready = n;
    }

    /// Answer compare requests like Gitea 1.22: a commit id is 404 `BaseNotExist` /
    /// `HeadNotExist`; only branch names resolve.
    pub fn compare_names_only(&self) {
        self.state().compare_names_only = true;
    }

    /// Run `action` just before the `nth` (1-based) request to route `key` is answered.
    pub fn on_hit(&self, key: &str, nth: usize, action: Action) {
        assert!(
            ROUTES.iter().any(|r| r.key() == key),
            "fake: no route `{key}`"
        );
        self.state().triggers.push((key.to_owned(), nth, 0, action));
    }

    /// Run `action` once the `nth` (1-based) request to route `key` has been handled,
    /// before its answer leaves: the client gets the answer of the world before the
    /// action, and whatever it reads next sees the world after it.
    pub fn after_hit(&self, key: &str, nth: usize, action: Action) {
        assert!(
            ROUTES.iter().any(|r| r.key() == key),
            "fake: no route `{key}`"
        );
        self.state()
            .after_triggers
            .push((key.to_owned(), nth, 0, action));
    }

    /// `(number, head ref, base ref, state, merged)` of every PR of `repo`.
    pub fn pulls(&self, repo: &str) -> Vec<(u64, String, String, String, bool)> {
        self.state()
            .issues
            .iter()
            .filter(|((r, _), _)| r == repo)
            .filter_map(|(_, issue)| {
                issue.pr.as_ref().map(|pr| {
                    (
                        issue.number,
                        pr.head_ref.clone(),
                        pr.base_ref.clone(),
                        issue.state.clone(),
                        pr.merged,
                    )
                })
            })
            .collect()
    }

    /// Is a merge of this PR scheduled for when checks succeed?
    pub fn is_scheduled(&self, repo: &str, number: u64) -> bool {
        self.state().scheduled.contains(&(repo.to_owned(), number))
    }

    /// A comment by `author` on an issue or PR.
    pub fn add_comment(&self, repo: &str, number: u64, author: &str, body: &str) {
        let mut state = self.state();
        state.user_id(author);
        let row = state.comment_json(repo, number, author, body);
        state.issue_mut(repo, number).comments.push(row);
    }

    /// The bodies of an issue's comments, oldest first.
    pub fn comments(&self, repo: &str, number: u64) -> Vec<String> {
        let state = self.state();
        state
            .issues
            .get(&(repo.to_owned(), number))
            .map(|issue| {
                issue
                    .comments
                    .iter()
                    .filter_map(|c| c["body"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Workflow dispatches accepted so far: `(repo, workflow file, body)`.
    pub fn dispatches(&self) -> Vec<(String, String, Value)> {
        self.state().dispatches.clone()
    }
}
