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
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    thread::JoinHandle,
    time::Duration,
};

use axum::{
    body::Body,
    extract::{Request, State as AxumState},
    http::{HeaderValue, StatusCode},
    response::Response,
};
use serde_json::{json, Value};

use super::fault_schedule::{ConnKill, KillListener, Scheduled};

/// Gitea's `[api] DEFAULT_PAGING_NUM`.
pub const DEFAULT_LIMIT: usize = 30;
/// Gitea's `[api] MAX_RESPONSE_ITEMS`: larger `limit`s are capped silently.
pub const MAX_LIMIT: usize = 50;
/// The login of Gitea's Actions token user (id -2, "Gitea Actions", teabot@gitea.io).
pub const ACTIONS_USER: &str = "gitea-actions";

// ---- the route table -----------------------------------------------------------------

/// One route the fake serves. `template` is the swagger path template; API routes live
/// under `/api/v1` (not part of the template), the others (release downloads) are web routes.
pub struct Route {
    pub method: &'static str,
    pub template: &'static str,
    pub api: bool,
    handler: Handler,
}

impl Route {
    /// `"METHOD /template"`, the key faults use.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

type Handler = fn(&mut StateData, &Call) -> Reply;

/// Every route the fake serves; the dispatcher matches against exactly this list.
#[rustfmt::skip]
pub static ROUTES: &[Route] = &[
    api("GET", "/user", get_user),
    api("GET", "/repos/{owner}/{repo}/pulls/{index}", get_pull),
    api("GET", "/repos/{owner}/{repo}/issues/{index}", get_issue),
    api("GET", "/repos/{owner}/{repo}/pulls/{index}/files", get_pull_files),
    api("GET", "/repos/{owner}/{repo}/pulls/{index}/reviews", get_pull_reviews),
    api("POST", "/repos/{owner}/{repo}/pulls/{index}/reviews", post_pull_review),
    api("GET", "/repos/{owner}/{repo}/issues/{index}/labels", get_issue_labels),
    api("POST", "/repos/{owner}/{repo}/issues/{index}/labels", post_issue_labels),
    api("DELETE", "/repos/{owner}/{repo}/issues/{index}/labels/{identifier}", delete_issue_label),
    api("GET", "/repos/{owner}/{repo}/labels", get_repo_labels),
    api("POST", "/repos/{owner}/{repo}/labels", post_repo_label),
    api("GET", "/repos/{owner}/{repo}/issues/{index}/timeline", get_timeline),
    api("GET", "/repos/{owner}/{repo}/statuses/{sha}", get_statuses),
    api("POST", "/repos/{owner}/{repo}/statuses/{sha}", post_status),
    api("GET", "/orgs/{org}/teams", get_org_teams),
    api("GET", "/teams/{id}/members/{username}", get_team_member),
    api("GET", "/settings/api", get_api_settings),
    api("GET", "/version", get_version),
    api("GET", "/notifications/new", get_notifications_new),
    api("GET", "/repos/{owner}/{repo}/git/trees/{sha}", get_tree),
    api("GET", "/repos/{owner}/{repo}/branch_protections", get_branch_protections),
    api("GET", "/repos/{owner}/{repo}/raw/{filepath}", get_raw),
    api("POST", "/repos/{owner}/{repo}/actions/workflows/{workflowfilename}/dispatches", post_dispatch),
    api("GET", "/repos/{owner}/{repo}/releases/tags/{tag}", get_release_by_tag),
    api("GET", "/repos/{owner}/{repo}", get_repo),
    api("GET", "/repos/{owner}/{repo}/branches/{branch}", get_branch),
    api("GET", "/repos/{owner}/{repo}/compare/{basehead}", get_compare),
    api("GET", "/repos/{owner}/{repo}/pulls", get_pulls),
    api("POST", "/repos/{owner}/{repo}/pulls", post_pull),
    api("PATCH", "/repos/{owner}/{repo}/pulls/{index}", patch_pull),
    api("POST", "/repos/{owner}/{repo}/pulls/{index}/merge", post_merge),
    api("GET", "/repos/{owner}/{repo}/issues/{index}/comments", get_comments),
    api("POST", "/repos/{owner}/{repo}/issues/{index}/comments", post_comment),
    web("GET", "/{owner}/{repo}/releases/download/{tag}/{name}", get_release_download),
];

const fn api(method: &'static str, template: &'static str, handler: Handler) -> Route {
    Route {
        method,
        template,
        api: true,
        handler,
    }
}

const fn web(method: &'static str, template: &'static str, handler: Handler) -> Route {
    Route {
        method,
        template,
        api: false,
        handler,
    }
}

/// `(method, template)` of every API route (under `/api/v1`), as the spec test reads them.
pub fn api_routes() -> Vec<(&'static str, &'static str)> {
    ROUTES
        .iter()
        .filter(|r| r.api)
        .map(|r| (r.method, r.template))
        .collect()
}

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
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
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
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 for the fake");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr: SocketAddr = listener.local_addr().expect("local address");
        let url = format!("http://{addr}");
        let shared = Arc::new(Shared {
            state: Mutex::new(StateData::new(url.clone())),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new()
            .fallback(dispatch)
            .with_state(Arc::clone(&shared))
            .into_make_service_with_connect_info::<ConnKill>();
        let thread = std::thread::Builder::new()
            .name("fake-gitea".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("fake gitea runtime");
                runtime.block_on(async move {
                    let listener = KillListener(
                        tokio::net::TcpListener::from_std(listener)
                            .expect("tokio listener for the fake"),
                    );
                    tokio::select! {
                        result = axum::serve(listener, app) => {
                            if let Err(e) = result {
                                eprintln!("fake gitea stopped: {e}");
                            }
                        }
                        _ = rx => {}
                    }
                });
                runtime.shutdown_background();
            })
            .expect("spawn the fake gitea thread");
        FakeGitea {
            url,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
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
        let mut state = self.state();
        let pr = state
            .issue_mut(repo, number)
            .pr
            .as_mut()
            .unwrap_or_else(|| panic!("fake: `{repo}#{number}` is not a pull request"));
        pr.head_sha = head_sha.to_owned();
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
        let mut state = self.state();
        assert!(
            state.label(repo, label_id).is_some(),
            "fake: label {label_id} is not a label of `{repo}`"
        );
        state.user_id(by);
        state.attach_label(repo, number, label_id, by);
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

    /// A release with assets, served by the API and by the web download route.
    pub fn add_release(&self, repo: &str, tag: &str, assets: Vec<(String, Vec<u8>)>) -> i64 {
        let mut state = self.state();
        state.repo_id(repo);
        let id = state.next_id();
        let created = state.tick();
        let assets = assets
            .into_iter()
            .map(|(name, bytes)| {
                let asset_id = state.next_id();
                AssetRow {
                    id: asset_id,
                    uuid: format!("00000000-0000-4000-8000-{asset_id:012}"),
                    name,
                    bytes,
                }
            })
            .collect();
        state.releases.push(ReleaseRow {
            id,
            repo: repo.to_owned(),
            tag: tag.to_owned(),
            created,
            assets,
        });
        id
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
            "unprotected_file_patterns": "", "apply_to_admins": false,
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

impl Drop for FakeGitea {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---- state ---------------------------------------------------------------------------

struct FaultState {
    fault: Fault,
    hits: usize,
}

struct LabelRow {
    id: i64,
    name: String,
    color: String,
    description: String,
}

struct TeamRow {
    id: i64,
    org: String,
    name: String,
    members: Vec<String>,
}

struct AssetRow {
    id: i64,
    uuid: String,
    name: String,
    bytes: Vec<u8>,
}

struct ReleaseRow {
    id: i64,
    repo: String,
    tag: String,
    created: String,
    assets: Vec<AssetRow>,
}

struct StatusRecord {
    id: i64,
    repo: String,
    sha: String,
    created: String,
    row: StatusRow,
}

struct IssueRow {
    id: i64,
    repo_id: i64,
    number: u64,
    author: String,
    title: String,
    body: String,
    state: String,
    created: String,
    pr: Option<PrSpec>,
    /// Label ids, in the order they were added.
    labels: Vec<i64>,
    files: Vec<FileSpec>,
    reviews: Vec<Value>,
    timeline: Vec<Value>,
    comments: Vec<Value>,
}

#[doc(hidden)]
pub struct StateData {
    base: String,
    /// `[api] MAX_RESPONSE_ITEMS`; `None`: Gitea's default, [`MAX_LIMIT`].
    max_items: Option<usize>,
    next: i64,
    clock: u64,
    users: BTreeMap<String, i64>,
    /// `login → (full_name, email)`; default `("", "<login>@example.com")`.
    details: HashMap<String, (String, String)>,
    tokens: HashMap<String, String>,
    read_only: BTreeSet<String>,
    /// Tree listings say `truncated: true` (a directory larger than one page).
    trees_truncated: bool,
    /// `login → scopes` of its token, when not every scope (see `set_token_scopes`).
    token_scopes: HashMap<String, Vec<String>>,
    repos: BTreeMap<String, i64>,
    orgs: BTreeMap<String, i64>,
    issues: BTreeMap<(String, u64), IssueRow>,
    labels: BTreeMap<String, Vec<LabelRow>>,
    teams: Vec<TeamRow>,
    /// `org → owners` (Gitea's Owners team): they may see every team's members.
    owners: BTreeMap<String, BTreeSet<String>>,
    hide_private_teams: bool,
    contents: HashMap<(String, String, String), Vec<u8>>,
    statuses: Vec<StatusRecord>,
    releases: Vec<ReleaseRow>,
    dispatches: Vec<(String, String, Value)>,
    /// `(repo, sha)` → parent shas: the commit graph the branch, compare and merge routes use.
    commits: HashMap<(String, String), Vec<String>>,
    /// `(repo, branch)` → tip.
    branches: BTreeMap<(String, String), String>,
    /// PRs whose merge is scheduled for when checks succeed.
    scheduled: BTreeSet<(String, u64)>,
    /// Merges answered 405 "Please try again later" before mergeability is known.
    not_ready: usize,
    /// Gitea 1.22: the compare API takes branch (and tag) names only.
    compare_names_only: bool,
    triggers: Vec<(String, usize, usize, Action)>,
    after_triggers: Vec<(String, usize, usize, Action)>,
    faults: Vec<FaultState>,
    /// Faults by position ([`FakeGitea::schedule`]) and the requests counted so far.
    schedule: Vec<Scheduled<FaultKind>>,
    schedule_answers: Vec<(String, FaultKind)>,
    position: usize,
    /// `repo → rules` (`GET …/branch_protections`, repository admins only).
    protections: BTreeMap<String, Vec<Value>>,
    /// `(repo, login)` with repository admin.
    repo_admins: BTreeSet<(String, String)>,
    /// `team id → permission` when not `write`.
    team_permissions: BTreeMap<i64, String>,
    requests: Vec<Recorded>,
    unmatched: Vec<String>,
}

impl StateData {
    fn new(base: String) -> StateData {
        StateData {
            base,
            max_items: None,
            next: 0,
            clock: 0,
            users: BTreeMap::new(),
            details: HashMap::new(),
            tokens: HashMap::new(),
            read_only: BTreeSet::new(),
            token_scopes: HashMap::new(),
            trees_truncated: false,
            repos: BTreeMap::new(),
            orgs: BTreeMap::new(),
            issues: BTreeMap::new(),
            labels: BTreeMap::new(),
            teams: Vec::new(),
            owners: BTreeMap::new(),
            hide_private_teams: false,
            contents: HashMap::new(),
            statuses: Vec::new(),
            repo_admins: BTreeSet::new(),
            team_permissions: BTreeMap::new(),
            releases: Vec::new(),
            dispatches: Vec::new(),
            commits: HashMap::new(),
            branches: BTreeMap::new(),
            protections: BTreeMap::new(),
            scheduled: BTreeSet::new(),
            not_ready: 0,
            compare_names_only: false,
            triggers: Vec::new(),
            after_triggers: Vec::new(),
            faults: Vec::new(),
            schedule: Vec::new(),
            schedule_answers: Vec::new(),
            position: 0,
            requests: Vec::new(),
            unmatched: Vec::new(),
        }
    }

    fn next_id(&mut self) -> i64 {
        self.next += 1;
        self.next
    }

    /// A fresh timestamp, one second after the previous one.
    fn tick(&mut self) -> String {
        self.clock += 1;
        let t = self.clock;
        format!(
            "2025-01-{:02}T{:02}:{:02}:{:02}Z",
            1 + (t / 86_400) % 28,
            (t / 3600) % 24,
            (t / 60) % 60,
            t % 60
        )
    }

    fn user_id(&mut self, login: &str) -> i64 {
        if let Some(id) = self.users.get(login) {
            return *id;
        }
        // Gitea's virtual Actions user.
        if login == ACTIONS_USER {
            self.users.insert(login.to_owned(), -2);
            self.details.insert(
                login.to_owned(),
                ("Gitea Actions".to_owned(), "teabot@gitea.io".to_owned()),
            );
            return -2;
        }
        let id = self.next_id();
        self.users.insert(login.to_owned(), id);
        id
    }

    fn repo_id(&mut self, full_name: &str) -> i64 {
        if let Some(id) = self.repos.get(full_name) {
            return *id;
        }
        let (owner, _) = full_name
            .split_once('/')
            .unwrap_or_else(|| panic!("fake: repository `{full_name}` is not OWNER/NAME"));
        self.user_id(owner);
        let id = self.next_id();
        self.repos.insert(full_name.to_owned(), id);
        id
    }

    fn org_id(&mut self, org: &str) -> i64 {
        if let Some(id) = self.orgs.get(org) {
            return *id;
        }
        let id = self.user_id(org);
        self.orgs.insert(org.to_owned(), id);
        id
    }

    fn issue_mut(&mut self, repo: &str, number: u64) -> &mut IssueRow {
        self.issues
            .get_mut(&(repo.to_owned(), number))
            .unwrap_or_else(|| panic!("fake: no issue or PR `{repo}#{number}`; add it first"))
    }

    fn label(&self, repo: &str, id: i64) -> Option<&LabelRow> {
        self.labels.get(repo)?.iter().find(|l| l.id == id)
    }

    fn attach_label(&mut self, repo: &str, number: u64, label_id: i64, by: &str) {
        if self.issue_mut(repo, number).labels.contains(&label_id) {
            return;
        }
        let id = self.next_id();
        let stamp = self.tick();
        let label = self.label_json(repo, label_id);
        let mut row = self.timeline_base(repo, number, id, &stamp, "label", Some(by));
        row["body"] = json!("1");
        row["label"] = label;
        let issue = self.issue_mut(repo, number);
        issue.labels.push(label_id);
        issue.timeline.push(row);
    }

    fn detach_label(&mut self, repo: &str, number: u64, label_id: i64, by: &str) {
        if !self.issue_mut(repo, number).labels.contains(&label_id) {
            return;
        }
        let id = self.next_id();
        let stamp = self.tick();
        let label = self.label_json(repo, label_id);
        let mut row = self.timeline_base(repo, number, id, &stamp, "label", Some(by));
        row["body"] = json!("");
        row["label"] = label;
        let issue = self.issue_mut(repo, number);
        issue.labels.retain(|l| *l != label_id);
        issue.timeline.push(row);
    }

    fn push_status(&mut self, repo: &str, sha: &str, row: StatusRow) -> i64 {
        let id = self.next_id();
        let created = self.tick();
        self.statuses.push(StatusRecord {
            id,
            repo: repo.to_owned(),
            sha: sha.to_owned(),
            created,
            row,
        });
        id
    }

    /// Is `ancestor` reachable from `of` in the commit graph (itself included)?
    fn is_ancestor(&self, repo: &str, ancestor: &str, of: &str) -> bool {
        self.reachable(repo, of).contains(ancestor)
    }

    fn reachable(&self, repo: &str, tip: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![tip.to_owned()];
        while let Some(sha) = stack.pop() {
            if !seen.insert(sha.clone()) {
                continue;
            }
            if let Some(parents) = self.commits.get(&(repo.to_owned(), sha)) {
                stack.extend(parents.iter().cloned());
            }
        }
        seen
    }

    /// Commits reachable from `head` and not from `base` (`git rev-list base..head`).
    fn only_in(&self, repo: &str, base: &str, head: &str) -> Vec<String> {
        let from_base = self.reachable(repo, base);
        self.reachable(repo, head)
            .into_iter()
            .filter(|sha| !from_base.contains(sha))
            .collect()
    }

    /// A branch name or a known commit id → the commit.
    fn resolve(&self, repo: &str, name: &str) -> Option<String> {
        self.branches
            .get(&(repo.to_owned(), name.to_owned()))
            .cloned()
            .or_else(|| {
                self.commits
                    .contains_key(&(repo.to_owned(), name.to_owned()))
                    .then(|| name.to_owned())
            })
    }

    /// A PR as Gitea shows it now: an open PR's head and base follow their branches.
    fn live(&self, repo: &str, issue: &IssueRow, pr: &PrSpec) -> PrSpec {
        let mut pr = pr.clone();
        if issue.state == "open" {
            let head_repo = pr.head_repo.clone().unwrap_or_else(|| repo.to_owned());
            if let Some(sha) = self.branches.get(&(head_repo, pr.head_ref.clone())) {
                pr.head_sha = sha.clone();
            }
            if let Some(sha) = self.branches.get(&(repo.to_owned(), pr.base_ref.clone())) {
                pr.base_sha = sha.clone();
            }
        }
        pr
    }

    /// The protection rule that applies to `branch` (the first whose name, a glob,
    /// matches), as the status contexts it requires; `None` when unprotected.
    fn required_contexts(&self, repo: &str, branch: &str) -> Option<Vec<String>> {
        let rule = self.protections.get(repo)?.iter().find(|rule| {
            let name = rule["rule_name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .or_else(|| rule["branch_name"].as_str())
                .unwrap_or_default();
            glob_match(name, branch)
        })?;
        let enabled = rule["enable_status_check"].as_bool().unwrap_or(false);
        Some(if enabled {
            rule["status_check_contexts"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        })
    }

    /// Gitea's rule: every required pattern matches a status of `sha`, and every status it
    /// matches is `success` (newest per context).
    fn checks_pass(&self, repo: &str, sha: &str, required: &[String]) -> bool {
        let mut newest: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
        for record in self
            .statuses
            .iter()
            .filter(|s| s.repo == repo && s.sha == sha)
        {
            let entry = newest
                .entry(record.row.context.as_str())
                .or_insert((record.id, record.row.state.as_str()));
            if record.id >= entry.0 {
                *entry = (record.id, record.row.state.as_str());
            }
        }
        required.iter().all(|pattern| {
            let matched: Vec<&str> = newest
                .iter()
                .filter(|(context, _)| glob_match(pattern, context))
                .map(|(_, (_, state))| *state)
                .collect();
            !matched.is_empty() && matched.iter().all(|state| *state == "success")
        })
    }

    fn apply(&mut self, action: &Action) {
        match action {
            Action::SetBranch { repo, branch, sha } => {
                self.branches
                    .insert((repo.clone(), branch.clone()), sha.clone());
            }
            Action::Commit { repo, sha, parents } => {
                self.commits
                    .insert((repo.clone(), sha.clone()), parents.clone());
            }
            Action::AddStatus { repo, sha, row } => {
                self.user_id(&row.creator);
                self.push_status(repo, sha, row.clone());
            }
            Action::SetPrHead { repo, number, sha } => {
                let pr = self
                    .issue_mut(repo, *number)
                    .pr
                    .as_mut()
                    .unwrap_or_else(|| panic!("fake: `{repo}#{number}` is not a pull request"));
                pr.head_sha = sha.clone();
            }
            Action::AddIssueLabel {
                repo,
                number,
                label_id,
                by,
            } => {
                assert!(
                    self.label(repo, *label_id).is_some(),
                    "fake: label {label_id} is not a label of `{repo}`"
                );
                self.user_id(by);
                self.attach_label(repo, *number, *label_id, by);
            }
        }
    }

    // ---- JSON renderers (field sets checked against the spec in tests/spec.rs) ----

    fn user_json(&self, login: &str) -> Value {
        let id = self.users.get(login).copied().unwrap_or(0);
        let base = &self.base;
        let (full_name, email) = self
            .details
            .get(login)
            .cloned()
            .unwrap_or_else(|| (String::new(), format!("{login}@example.com")));
        json!({
            "id": id,
            "login": login,
            "login_name": "",
            "source_id": 0,
            "full_name": full_name,
            "email": email,
            "avatar_url": format!("{base}/avatars/{id}"),
            "html_url": format!("{base}/{login}"),
            "language": "",
            "is_admin": false,
            "last_login": "2025-01-01T00:00:00Z",
            "created": "2025-01-01T00:00:00Z",
            "restricted": false,
            "active": true,
            "prohibit_login": false,
            "location": "",
            "website": "",
            "description": "",
            "visibility": "public",
            "followers_count": 0,
            "following_count": 0,
            "starred_repos_count": 0,
        })
    }

    fn org_json(&self, org: &str) -> Value {
        let id = self.orgs.get(org).copied().unwrap_or(0);
        json!({
            "id": id,
            "name": org,
            "username": org,
            "full_name": "",
            "email": "",
            "avatar_url": format!("{}/avatars/{id}", self.base),
            "description": "",
            "website": "",
            "location": "",
            "visibility": "public",
            "repo_admin_change_team_access": false,
            "created": "2025-01-01T00:00:00Z",
        })
    }

    fn label_json(&self, repo: &str, id: i64) -> Value {
        match self.label(repo, id) {
            Some(label) => json!({
                "id": label.id,
                "name": label.name,
                "exclusive": false,
                "is_archived": false,
                "color": label.color,
                "description": label.description,
                "url": format!("{}/api/v1/repos/{repo}/labels/{}", self.base, label.id),
            }),
            None => Value::Null,
        }
    }

    fn repo_json(&self, full_name: &str) -> Value {
        let id = self.repos.get(full_name).copied().unwrap_or(0);
        let (owner, name) = full_name.split_once('/').unwrap_or((full_name, ""));
        let base = &self.base;
        json!({
            "id": id,
            "owner": self.user_json(owner),
            "name": name,
            "full_name": full_name,
            "description": "",
            "empty": false,
            "private": true,
            "fork": false,
            "template": false,
            "mirror": false,
            "size": 0,
            "html_url": format!("{base}/{full_name}"),
            "url": format!("{base}/api/v1/repos/{full_name}"),
            "clone_url": format!("{base}/{full_name}.git"),
            "default_branch": "main",
            "archived": false,
            "has_issues": true,
            "has_pull_requests": true,
            "has_actions": true,
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
        })
    }

    fn branch_json(&self, repo: &str, git_ref: &str, sha: &str) -> Value {
        let id = self.repos.get(repo).copied().unwrap_or(0);
        json!({
            "label": git_ref,
            "ref": git_ref,
            "sha": sha,
            "repo_id": id,
            "repo": self.repo_json(repo),
        })
    }

    fn issue_labels_json(&self, repo: &str, issue: &IssueRow) -> Value {
        Value::Array(
            issue
                .labels
                .iter()
                .map(|id| self.label_json(repo, *id))
                .filter(|l| !l.is_null())
                .collect(),
        )
    }

    fn pull_json(&self, repo: &str, issue: &IssueRow, pr: &PrSpec) -> Value {
        let base = &self.base;
        let number = issue.number;
        let head_repo = pr.head_repo.clone().unwrap_or_else(|| repo.to_owned());
        let (additions, deletions) = issue
            .files
            .iter()
            .fold((0, 0), |(a, d), f| (a + f.additions, d + f.deletions));
        let mut value = json!({
            "id": issue.id,
            "url": format!("{base}/{repo}/pulls/{number}"),
            "number": number,
            "user": self.user_json(&pr.author),
            "title": pr.title,
            "body": pr.body,
            "labels": self.issue_labels_json(repo, issue),
            "milestone": null,
            "assignee": null,
            "assignees": [],
            "requested_reviewers": [],
            "state": issue.state,
            "draft": pr.draft,
            "is_locked": false,
            "comments": 0,
            "review_comments": 0,
            "additions": additions,
            "deletions": deletions,
            "changed_files": issue.files.len(),
            "html_url": format!("{base}/{repo}/pulls/{number}"),
            "diff_url": format!("{base}/{repo}/pulls/{number}.diff"),
            "patch_url": format!("{base}/{repo}/pulls/{number}.patch"),
            "mergeable": !pr.merged && issue.state == "open",
            "merged": pr.merged,
            "merged_at": null,
            "merged_by": null,
            "allow_maintainer_edit": false,
            "base": self.branch_json(repo, &pr.base_ref, &pr.base_sha),
            "head": self.branch_json(&head_repo, &pr.head_ref, &pr.head_sha),
            "merge_base": pr.base_sha,
            "due_date": null,
            "created_at": issue.created,
            "updated_at": issue.created,
            "closed_at": null,
            "pin_order": 0,
        });
        if pr.merged {
            value["merged_at"] = json!(issue.created);
            value["closed_at"] = json!(issue.created);
            value["merge_commit_sha"] = json!("3".repeat(40));
            value["merged_by"] = self.user_json(&pr.author);
        } else if issue.state == "closed" {
            value["closed_at"] = json!(issue.created);
        }
        value
    }

    fn issue_json(&self, repo: &str, issue: &IssueRow) -> Value {
        let base = &self.base;
        let number = issue.number;
        let kind = if issue.pr.is_some() {
            "pulls"
        } else {
            "issues"
        };
        let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
        let pull_request = match &issue.pr {
            Some(pr) => json!({
                "merged": pr.merged,
                "merged_at": if pr.merged { json!(issue.created) } else { Value::Null },
                "draft": pr.draft,
                "html_url": format!("{base}/{repo}/pulls/{number}"),
            }),
            None => Value::Null,
        };
        json!({
            "id": issue.id,
            "url": format!("{base}/api/v1/repos/{repo}/issues/{number}"),
            "html_url": format!("{base}/{repo}/{kind}/{number}"),
            "number": number,
            "user": self.user_json(&issue.author),
            "original_author": "",
            "original_author_id": 0,
            "title": issue.title,
            "body": issue.body,
            "ref": "",
            "assets": [],
            "labels": self.issue_labels_json(repo, issue),
            "milestone": null,
            "assignee": null,
            "assignees": [],
            "state": issue.state,
            "is_locked": false,
            "comments": 0,
            "created_at": issue.created,
            "updated_at": issue.created,
            "closed_at": null,
            "due_date": null,
            "pull_request": pull_request,
            "repository": {"id": issue.repo_id, "name": name, "owner": owner, "full_name": repo},
            "pin_order": 0,
        })
    }

    fn review_json(&self, repo: &str, number: u64, id: i64, stamp: &str, raw: Value) -> Value {
        let base = &self.base;
        let commit = self
            .issues
            .get(&(repo.to_owned(), number))
            .and_then(|i| i.pr.as_ref())
            .map(|pr| pr.head_sha.clone())
            .unwrap_or_default();
        let mut row = json!({
            "id": id,
            "user": null,
            "team": null,
            "state": "COMMENT",
            "body": "",
            "commit_id": commit,
            "stale": false,
            "official": false,
            "dismissed": false,
            "comments_count": 0,
            "submitted_at": stamp,
            "updated_at": stamp,
            "html_url": format!("{base}/{repo}/pulls/{number}#issuecomment-{id}"),
            "pull_request_url": format!("{base}/{repo}/pulls/{number}"),
        });
        merge_into(&mut row, raw);
        self.complete_user_field(&mut row, "user");
        row
    }

    fn timeline_base(
        &self,
        repo: &str,
        number: u64,
        id: i64,
        stamp: &str,
        kind: &str,
        user: Option<&str>,
    ) -> Value {
        let base = &self.base;
        json!({
            "id": id,
            "type": kind,
            "html_url": format!("{base}/{repo}/issues/{number}#issuecomment-{id}"),
            "pull_request_url": format!("{base}/{repo}/pulls/{number}"),
            "issue_url": format!("{base}/{repo}/issues/{number}"),
            "user": user.map(|u| self.user_json(u)).unwrap_or(Value::Null),
            "body": "",
            "created_at": stamp,
            "updated_at": stamp,
            "old_project_id": 0,
            "project_id": 0,
            "old_title": "",
            "new_title": "",
            "old_ref": "",
            "new_ref": "",
            "ref_action": "",
            "ref_commit_sha": "",
            "review_id": 0,
            "removed_assignee": false,
            "label": null,
            "milestone": null,
            "old_milestone": null,
            "assignee": null,
            "assignee_team": null,
            "resolve_doer": null,
            "ref_issue": null,
            "ref_comment": null,
            "dependent_issue": null,
            "tracked_time": null,
        })
    }

    /// `"user": {"login": "bob"}` (or `"user": "bob"`) → the full User object.
    fn complete_user_field(&self, row: &mut Value, field: &str) {
        let login = match row.get(field) {
            Some(Value::String(login)) => Some(login.clone()),
            Some(Value::Object(map)) if map.len() == 1 => {
                map.get("login").and_then(Value::as_str).map(str::to_owned)
            }
            _ => None,
        };
        if let Some(login) = login {
            row[field] = self.user_json(&login);
        }
    }

    fn comment_json(&mut self, repo: &str, number: u64, author: &str, body: &str) -> Value {
        let id = self.next_id();
        let stamp = self.tick();
        let base = &self.base;
        json!({
            "id": id,
            "html_url": format!("{base}/{repo}/issues/{number}#issuecomment-{id}"),
            "pull_request_url": format!("{base}/{repo}/pulls/{number}"),
            "issue_url": format!("{base}/{repo}/issues/{number}"),
            "user": self.user_json(author),
            "original_author": "",
            "original_author_id": 0,
            "body": body,
            "assets": [],
            "created_at": stamp,
            "updated_at": stamp,
        })
    }

    fn payload_commit_json(&self, repo: &str, sha: &str) -> Value {
        let person = json!({"name": "Test", "email": "test@example.com", "username": ""});
        json!({
            "id": sha,
            "message": format!("commit {}\n", &sha[..sha.len().min(8)]),
            "url": format!("{}/{repo}/commit/{sha}", self.base),
            "author": person,
            "committer": person,
            "verification": null,
            "timestamp": "2025-01-01T00:00:00Z",
        })
    }

    fn api_branch_json(&self, repo: &str, name: &str, sha: &str, login: Option<&str>) -> Value {
        let protection = self.required_contexts(repo, name);
        let writer = login.is_some_and(|l| !self.read_only.contains(l));
        json!({
            "name": name,
            "commit": self.payload_commit_json(repo, sha),
            "protected": protection.is_some(),
            "required_approvals": 0,
            "enable_status_check": protection.as_ref().is_some_and(|c| !c.is_empty()),
            "status_check_contexts": protection.clone().unwrap_or_default(),
            "user_can_push": writer && protection.is_none(),
            "user_can_merge": writer,
            "effective_branch_protection_name": "",
        })
    }

    fn commit_json(&self, repo: &str, sha: &str) -> Value {
        let base = &self.base;
        let parents: Vec<Value> = self
            .commits
            .get(&(repo.to_owned(), sha.to_owned()))
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|p| {
                json!({
                    "url": format!("{base}/api/v1/repos/{repo}/git/commits/{p}"),
                    "sha": p,
                    "created": "2025-01-01T00:00:00Z",
                })
            })
            .collect();
        let person =
            json!({"name": "Test", "email": "test@example.com", "date": "2025-01-01T00:00:00Z"});
        json!({
            "url": format!("{base}/api/v1/repos/{repo}/git/commits/{sha}"),
            "sha": sha,
            "created": "2025-01-01T00:00:00Z",
            "html_url": format!("{base}/{repo}/commit/{sha}"),
            "commit": {
                "url": format!("{base}/api/v1/repos/{repo}/git/commits/{sha}"),
                "author": person,
                "committer": person,
                "message": format!("commit {}\n", &sha[..sha.len().min(8)]),
                "tree": {"url": format!("{base}/api/v1/repos/{repo}/git/trees/{sha}"), "sha": sha, "created": "2025-01-01T00:00:00Z"},
                "verification": null,
            },
            "author": null,
            "committer": null,
            "parents": parents,
            "files": [],
            "stats": {"total": 0, "additions": 0, "deletions": 0},
        })
    }

    fn team_json(&self, team: &TeamRow) -> Value {
        json!({
            "id": team.id,
            "name": team.name,
            "description": "",
            "organization": self.org_json(&team.org),
            "includes_all_repositories": false,
            "permission": self.team_permissions.get(&team.id).map_or("write", String::as_str),
            "units": ["repo.code", "repo.issues", "repo.pulls"],
            "units_map": {"repo.code": "read", "repo.issues": "read", "repo.pulls": "read"},
            "can_create_org_repo": false,
        })
    }

    fn status_json(&self, record: &StatusRecord) -> Value {
        json!({
            "id": record.id,
            "status": record.row.state,
            "target_url": record.row.target_url,
            "description": record.row.description,
            "url": format!("{}/api/v1/repos/{}/statuses/{}", self.base, record.repo, record.sha),
            "context": record.row.context,
            "creator": self.user_json(&record.row.creator),
            "created_at": record.created,
            "updated_at": record.created,
        })
    }

    fn file_json(&self, repo: &str, pr: &PrSpec, file: &FileSpec) -> Value {
        let base = &self.base;
        let name = &file.filename;
        let sha = &pr.head_sha;
        let mut value = json!({
            "filename": name,
            "status": file.status,
            "additions": file.additions,
            "deletions": file.deletions,
            "changes": file.additions + file.deletions,
            "html_url": format!("{base}/{repo}/src/commit/{sha}/{name}"),
            "contents_url": format!("{base}/api/v1/repos/{repo}/contents/{name}?ref={sha}"),
            "raw_url": format!("{base}/{repo}/raw/commit/{sha}/{name}"),
        });
        if let Some(previous) = &file.previous_filename {
            value["previous_filename"] = json!(previous);
        }
        value
    }

    fn release_json(&self, release: &ReleaseRow) -> Value {
        let base = &self.base;
        let repo = &release.repo;
        let tag = &release.tag;
        let owner = repo.split_once('/').map(|(o, _)| o).unwrap_or(repo);
        let assets: Vec<Value> = release
            .assets
            .iter()
            .map(|asset| {
                json!({
                    "id": asset.id,
                    "name": asset.name,
                    "size": asset.bytes.len(),
                    "download_count": 0,
                    "created_at": release.created,
                    "uuid": asset.uuid,
                    "browser_download_url": format!("{base}/{repo}/releases/download/{tag}/{}", asset.name),
                    "type": "attachment",
                })
            })
            .collect();
        json!({
            "id": release.id,
            "tag_name": tag,
            "target_commitish": "main",
            "name": tag,
            "body": "",
            "url": format!("{base}/api/v1/repos/{repo}/releases/{}", release.id),
            "html_url": format!("{base}/{repo}/releases/tag/{tag}"),
            "tarball_url": format!("{base}/{repo}/archive/{tag}.tar.gz"),
            "zipball_url": format!("{base}/{repo}/archive/{tag}.zip"),
            "upload_url": format!("{base}/api/v1/repos/{repo}/releases/{}/assets", release.id),
            "hide_archive_links": false,
            "draft": false,
            "prerelease": false,
            "created_at": release.created,
            "published_at": release.created,
            "author": self.user_json(owner),
            "assets": assets,
            "archive_download_count": {"tar_gz": 0, "zip": 0},
        })
    }
}

/// Overwrite `base`'s fields with `raw`'s (one level deep).
fn merge_into(base: &mut Value, raw: Value) {
    if let (Value::Object(base), Value::Object(raw)) = (base, raw) {
        for (key, value) in raw {
            base.insert(key, value);
        }
    }
}

/// Gitea's label color rules: `#rgb`, `rgb`, `#rrggbb`, `rrggbb` → 6 lowercase hex.
fn normalize_color(color: &str) -> Option<String> {
    let hex = color.strip_prefix('#').unwrap_or(color);
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        6 => Some(hex.to_ascii_lowercase()),
        3 => Some(
            hex.chars()
                .flat_map(|c| [c, c])
                .collect::<String>()
                .to_ascii_lowercase(),
        ),
        _ => None,
    }
}

// ---- requests and replies ------------------------------------------------------------

/// What a handler sees.
#[doc(hidden)]
pub struct Call {
    params: HashMap<&'static str, String>,
    query: Vec<(String, String)>,
    body: Vec<u8>,
    login: Option<String>,
    /// The request path (with `/api/v1`), for `Link` headers.
    path: String,
}

impl Call {
    fn param(&self, name: &str) -> &str {
        self.params
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn repo(&self) -> String {
        format!("{}/{}", self.param("owner"), self.param("repo"))
    }

    fn index(&self) -> Option<u64> {
        self.param("index").parse().ok()
    }
}

#[doc(hidden)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: ReplyBody,
}

enum ReplyBody {
    Json(Value),
    Bytes(Vec<u8>, &'static str),
    Empty,
}

impl Reply {
    fn json(status: u16, value: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(value),
        }
    }

    fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Empty,
        }
    }

    fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value));
    }

    fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn error(state: &StateData, status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"message": message, "url": format!("{}/api/swagger", state.base)}),
    )
}

fn not_found(state: &StateData) -> Reply {
    error(state, 404, "The target couldn't be found.")
}

/// The reply for a `Status` fault: Gitea JSON, or a proxy's HTML page for 502/503/504.
fn fault_status(state: &StateData, status: u16) -> Reply {
    match status {
        502..=504 => Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Bytes(
                format!("<html><body><h1>{status}</h1>upstream unavailable</body></html>")
                    .into_bytes(),
                "text/html; charset=utf-8",
            ),
        },
        500 => error(state, 500, ""),
        401 => error(state, 401, "token is required"),
        403 => error(
            state,
            403,
            "token does not have at least one of required scope(s): [read:repository]",
        ),
        404 => not_found(state),
        429 => error(state, 429, "too many requests"),
        _ => error(state, status, &format!("injected HTTP {status}")),
    }
}

/// One page of a list, with Gitea's headers.
fn paginate(state: &StateData, call: &Call, items: Vec<Value>, gitea_files_headers: bool) -> Reply {
    let page = call
        .query("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1) as usize;
    let limit = match call.query("limit").and_then(|l| l.parse::<i64>().ok()) {
        Some(l) if l > 0 => (l as usize).min(state.max_items.unwrap_or(MAX_LIMIT)),
        _ => DEFAULT_LIMIT.min(state.max_items.unwrap_or(MAX_LIMIT)),
    };
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .collect();
    let last = total.div_ceil(limit).max(1);
    let mut reply = Reply::json(200, Value::Array(slice));
    reply.set_header("X-Total-Count", total.to_string());
    let link = |p: usize| {
        let mut query: Vec<(String, String)> = call
            .query
            .iter()
            .filter(|(k, _)| k != "page" && k != "limit")
            .cloned()
            .collect();
        query.push(("limit".into(), limit.to_string()));
        query.push(("page".into(), p.to_string()));
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("<{}{}?{}>", state.base, call.path, query.join("&"))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("{}; rel=\"next\"", link(page + 1)));
        links.push(format!("{}; rel=\"last\"", link(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link(1)));
        links.push(format!("{}; rel=\"prev\"", link(page - 1)));
    }
    if !links.is_empty() {
        reply.set_header("Link", links.join(","));
    }
    if gitea_files_headers {
        reply.set_header("X-Page", page.to_string());
        reply.set_header("X-PerPage", limit.to_string());
        reply.set_header("X-PageCount", last.to_string());
        reply.set_header("X-HasMore", (page < last).to_string());
    }
    reply
}

// ---- handlers ------------------------------------------------------------------------

fn get_user(state: &mut StateData, call: &Call) -> Reply {
    match &call.login {
        Some(login) => Reply::json(200, state.user_json(login)),
        None => error(state, 401, "token is required"),
    }
}

/// The issue/PR a call names, or the 404 reply.
fn find_issue<'a>(state: &'a StateData, call: &Call) -> Result<&'a IssueRow, Reply> {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return Err(not_found(state));
    }
    call.index()
        .and_then(|n| state.issues.get(&(repo, n)))
        .ok_or_else(|| not_found(state))
}

fn find_pull<'a>(state: &'a StateData, call: &Call) -> Result<(&'a IssueRow, &'a PrSpec), Reply> {
    let issue = find_issue(state, call)?;
    match &issue.pr {
        Some(pr) => Ok((issue, pr)),
        None => Err(not_found(state)),
    }
}

fn get_pull(state: &mut StateData, call: &Call) -> Reply {
    match find_pull(state, call) {
        Ok((issue, pr)) => {
            let pr = state.live(&call.repo(), issue, pr);
            Reply::json(200, state.pull_json(&call.repo(), issue, &pr))
        }
        Err(reply) => reply,
    }
}

fn get_issue(state: &mut StateData, call: &Call) -> Reply {
    match find_issue(state, call) {
        Ok(issue) => Reply::json(200, state.issue_json(&call.repo(), issue)),
        Err(reply) => reply,
    }
}

fn get_pull_files(state: &mut StateData, call: &Call) -> Reply {
    match find_pull(state, call) {
        Ok((issue, pr)) => {
            let repo = call.repo();
            let items = issue
                .files
                .iter()
                .map(|f| state.file_json(&repo, pr, f))
                .collect();
            paginate(state, call, items, true)
        }
        Err(reply) => reply,
    }
}

/// Gitea pages over every review in SQL and counts them all in `X-Total-Count`, then drops
/// other users' PENDING reviews from the page (`convert.ToPullReviewList`, 1.22 → 1.27):
/// pages can be short with nothing missing but unsubmitted reviews.
fn get_pull_reviews(state: &mut StateData, call: &Call) -> Reply {
    match find_pull(state, call) {
        Ok((issue, _)) => {
            let caller = call.login.clone().unwrap_or_default();
            let mut reply = paginate(state, call, issue.reviews.clone(), false);
            if let ReplyBody::Json(Value::Array(rows)) = &mut reply.body {
                rows.retain(|r| {
                    r["state"] != "PENDING" || r["user"]["login"].as_str() == Some(caller.as_str())
                });
            }
            reply.remove_header("Link");
            reply
        }
        Err(reply) => reply,
    }
}

/// Gitea: `event` APPROVED / REQUEST_CHANGES / COMMENT; anything else (GitHub's `APPROVE`
/// included) makes a PENDING review, or 422 with an empty body; approving or rejecting
/// one's own PR is 422; success is 200, not 201.
fn post_pull_review(state: &mut StateData, call: &Call) -> Reply {
    let (author, head) = match find_pull(state, call) {
        Ok((_, pr)) => (pr.author.clone(), pr.head_sha.clone()),
        Err(reply) => return reply,
    };
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    let body: Value = match serde_json::from_slice(&call.body) {
        Ok(body) => body,
        Err(_) => return error(state, 400, "invalid JSON body"),
    };
    let text = body.get("body").and_then(Value::as_str).unwrap_or_default();
    let event = body
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let review_state = match event {
        "APPROVED" | "REQUEST_CHANGES" | "COMMENT" => event,
        _ if text.is_empty() => return error(state, 422, "review event PENDING requires a body"),
        _ => "PENDING",
    };
    let login = call.login.clone().unwrap_or_default();
    if login == author && matches!(review_state, "APPROVED" | "REQUEST_CHANGES") {
        let verb = if review_state == "APPROVED" {
            "approve"
        } else {
            "reject"
        };
        return error(state, 422, &format!("{verb} your own pull is not allowed"));
    }
    let commit = body
        .get("commit_id")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .unwrap_or(&head)
        .to_owned();
    let id = state.next_id();
    let stamp = state.tick();
    let row = state.review_json(
        &repo,
        number,
        id,
        &stamp,
        json!({
            "user": {"login": login},
            "state": review_state,
            "body": text,
            "commit_id": commit,
            "stale": commit != head,
            "official": matches!(review_state, "APPROVED" | "REQUEST_CHANGES"),
        }),
    );
    state.issue_mut(&repo, number).reviews.push(row.clone());
    Reply::json(200, row)
}

fn get_issue_labels(state: &mut StateData, call: &Call) -> Reply {
    match find_issue(state, call) {
        Ok(issue) => Reply::json(200, state.issue_labels_json(&call.repo(), issue)),
        Err(reply) => reply,
    }
}

fn post_issue_labels(state: &mut StateData, call: &Call) -> Reply {
    if let Err(reply) = find_issue(state, call) {
        return reply;
    }
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    let body: Value = match serde_json::from_slice(&call.body) {
        Ok(body) => body,
        Err(_) => return error(state, 400, "invalid JSON body"),
    };
    let Some(items) = body.get("labels").and_then(Value::as_array) else {
        return error(state, 422, "[Labels]: Required");
    };
    let all_ints = items.iter().all(Value::is_i64);
    let all_strings = items.iter().all(Value::is_string);
    if !items.is_empty() && !all_ints && !all_strings {
        return error(
            state,
            400,
            "labels should be an array of strings or integers",
        );
    }
    let known: Vec<i64> = items
        .iter()
        .filter_map(|item| match item {
            Value::Number(n) => n.as_i64().filter(|id| state.label(&repo, *id).is_some()),
            Value::String(name) => state
                .labels
                .get(&repo)
                .and_then(|labels| labels.iter().find(|l| &l.name == name))
                .map(|l| l.id),
            _ => None,
        })
        .collect();
    let by = call.login.clone().unwrap_or_default();
    for id in known {
        state.attach_label(&repo, number, id, &by);
    }
    let issue = state.issue_mut(&repo, number);
    let labels = issue.labels.clone();
    Reply::json(
        200,
        Value::Array(
            labels
                .iter()
                .map(|id| state.label_json(&repo, *id))
                .collect(),
        ),
    )
}

fn delete_issue_label(state: &mut StateData, call: &Call) -> Reply {
    if let Err(reply) = find_issue(state, call) {
        return reply;
    }
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    let identifier = call.param("identifier");
    let id = match identifier.parse::<i64>() {
        Ok(id) => state.label(&repo, id).map(|l| l.id),
        Err(_) => state
            .labels
            .get(&repo)
            .and_then(|labels| labels.iter().find(|l| l.name == identifier))
            .map(|l| l.id),
    };
    let Some(id) = id else {
        return error(
            state,
            422,
            &format!("label does not exist [id: {identifier}]"),
        );
    };
    let by = call.login.clone().unwrap_or_default();
    state.detach_label(&repo, number, id, &by);
    Reply::empty(204)
}

fn get_repo_labels(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let mut rows: Vec<(&str, i64)> = state
        .labels
        .get(&repo)
        .map(|labels| labels.iter().map(|l| (l.name.as_str(), l.id)).collect())
        .unwrap_or_default();
    rows.sort();
    let items = rows
        .iter()
        .map(|(_, id)| state.label_json(&repo, *id))
        .collect();
    paginate(state, call, items, false)
}

fn post_repo_label(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let body: Value = match serde_json::from_slice(&call.body) {
        Ok(body) => body,
        Err(_) => return error(state, 400, "invalid JSON body"),
    };
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
    if name.trim().is_empty() {
        return error(state, 422, "[Name]: Required");
    }
    let color = body
        .get("color")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(color) = normalize_color(color) else {
        return error(state, 422, &format!("invalid color `{color}`"));
    };
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let id = state.next_id();
    state
        .labels
        .entry(repo.clone())
        .or_default()
        .push(LabelRow {
            id,
            name: name.to_owned(),
            color,
            description,
        });
    Reply::json(201, state.label_json(&repo, id))
}

/// Gitea pages the raw comment rows in SQL, drops inline code comments, and sets
/// `X-Total-Count` to the rows on the page it serves, with no `Link` (1.22 → 1.27).
fn get_timeline(state: &mut StateData, call: &Call) -> Reply {
    match find_issue(state, call) {
        Ok(issue) => {
            let mut reply = paginate(state, call, issue.timeline.clone(), false);
            let mut served = 0;
            if let ReplyBody::Json(Value::Array(rows)) = &mut reply.body {
                rows.retain(|r| r["type"] != "code");
                served = rows.len();
            }
            // Gitea encodes its nil slice: an empty page is `null`, not `[]`.
            if served == 0 {
                reply.body = ReplyBody::Json(Value::Null);
            }
            reply.set_header("X-Total-Count", served.to_string());
            reply.remove_header("Link");
            reply
        }
        Err(reply) => reply,
    }
}

/// `GET /settings/api`: the paging limits (Gitea's defaults unless `max_items` is set).
fn get_api_settings(state: &mut StateData, _call: &Call) -> Reply {
    Reply::json(
        200,
        json!({
            "max_response_items": state.max_items.unwrap_or(MAX_LIMIT),
            "default_paging_num": DEFAULT_LIMIT,
            "default_git_trees_per_page": 1000,
            "default_max_blob_size": 10_485_760,
        }),
    )
}

fn get_statuses(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let sha = call.param("sha");
    let filter = call.query("state").unwrap_or_default();
    let mut records: Vec<&StatusRecord> = state
        .statuses
        .iter()
        .filter(|s| s.repo == repo && s.sha == sha)
        .filter(|s| filter.is_empty() || s.row.state == filter)
        .collect();
    // Gitea's default order is `created_unix DESC`: newest first.
    match call.query("sort").unwrap_or_default() {
        // Gitea's index sorts are named the wrong way round: `leastindex` is `index DESC`.
        "oldest" | "highestindex" => records.sort_by_key(|s| s.id),
        _ => records.sort_by_key(|s| std::cmp::Reverse(s.id)),
    }
    let items = records.iter().map(|s| state.status_json(s)).collect();
    paginate(state, call, items, false)
}

const STATUS_STATES: &[&str] = &[
    "pending", "success", "error", "failure", "warning", "skipped",
];

fn post_status(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let sha = call.param("sha").to_owned();
    if sha.is_empty() {
        return error(state, 400, "sha not given");
    }
    let body: Value = match serde_json::from_slice(&call.body) {
        Ok(body) => body,
        Err(_) => return error(state, 400, "invalid JSON body"),
    };
    // Gitea stores context, description and target_url trimmed (`strings.TrimSpace`).
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let status_state = text("state");
    if !STATUS_STATES.contains(&status_state.as_str()) {
        return error(
            state,
            400,
            &format!("invalid commit status state `{status_state}`"),
        );
    }
    let row = StatusRow {
        state: status_state,
        context: text("context"),
        description: text("description"),
        target_url: text("target_url"),
        creator: call.login.clone().unwrap_or_default(),
    };
    let id = state.push_status(&repo, &sha, row);
    let record = state
        .statuses
        .iter()
        .find(|s| s.id == id)
        .expect("the status just stored");
    Reply::json(201, state.status_json(record))
}

fn get_org_teams(state: &mut StateData, call: &Call) -> Reply {
    let org = call.param("org");
    if !state.orgs.contains_key(org) {
        return not_found(state);
    }
    let caller = call.login.clone().unwrap_or_default();
    let owner = state.owners.get(org).is_some_and(|o| o.contains(&caller));
    let mut teams: Vec<&TeamRow> = state
        .teams
        .iter()
        .filter(|t| t.org == org)
        .filter(|t| {
            !state.hide_private_teams || owner || t.name == "Owners" || t.members.contains(&caller)
        })
        .collect();
    teams.sort_by_key(|t| t.name.to_lowercase());
    let items = teams.iter().map(|t| state.team_json(t)).collect();
    paginate(state, call, items, false)
}

fn get_team_member(state: &mut StateData, call: &Call) -> Reply {
    let Ok(id) = call.param("id").parse::<i64>() else {
        return not_found(state);
    };
    let username = call.param("username");
    let Some(team) = state.teams.iter().find(|t| t.id == id) else {
        return not_found(state);
    };
    // Gitea (`reqTeamMembership`): an org owner or a member of the team may look; another
    // org member gets 403 "Must be a team member"; a caller outside the org gets 404.
    let caller = call.login.clone().unwrap_or_default();
    let owner = state
        .owners
        .get(&team.org)
        .is_some_and(|o| o.contains(&caller));
    let in_team = team.members.contains(&caller);
    let in_org = state
        .teams
        .iter()
        .any(|t| t.org == team.org && t.members.contains(&caller));
    if !owner && !in_team {
        return if in_org {
            error(state, 403, "Must be a team member")
        } else {
            not_found(state)
        };
    }
    if team.members.iter().any(|m| m == username) {
        Reply::json(200, state.user_json(username))
    } else {
        not_found(state)
    }
}

fn get_raw(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let git_ref = call.query("ref").unwrap_or("main");
    let git_ref = git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(git_ref);
    let key = (repo, git_ref.to_owned(), call.param("filepath").to_owned());
    match state.contents.get(&key) {
        Some(bytes) => Reply {
            status: 200,
            headers: Vec::new(),
            body: ReplyBody::Bytes(bytes.clone(), "text/plain; charset=utf-8"),
        },
        None => not_found(state),
    }
}

fn post_dispatch(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let body: Value = match serde_json::from_slice(&call.body) {
        Ok(body) => body,
        Err(_) => return error(state, 400, "invalid JSON body"),
    };
    let git_ref = body.get("ref").and_then(Value::as_str).unwrap_or_default();
    if git_ref.is_empty() {
        return error(state, 422, "ref is required");
    }
    let short = git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(git_ref);
    let workflow = call.param("workflowfilename");
    let exists = [".gitea/workflows", ".github/workflows"].iter().any(|dir| {
        state
            .contents
            .contains_key(&(repo.clone(), short.to_owned(), format!("{dir}/{workflow}")))
    });
    if !exists {
        return error(
            state,
            404,
            &format!("workflow `{workflow}` not found at `{git_ref}`"),
        );
    }
    state
        .dispatches
        .push((repo, workflow.to_owned(), body.clone()));
    Reply::empty(204)
}

fn get_branch(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let name = call.param("branch");
    match state.branches.get(&(repo.clone(), name.to_owned())) {
        Some(sha) => {
            let sha = sha.clone();
            Reply::json(
                200,
                state.api_branch_json(&repo, name, &sha, call.login.as_deref()),
            )
        }
        None => error(state, 404, "branch does not exist"),
    }
}

/// `base...head`: the commits of `head` that `base` lacks (Gitea lists `merge-base..head`).
fn get_compare(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let Some((base, head)) = call.param("basehead").split_once("...") else {
        return not_found(state);
    };
    if state.compare_names_only {
        let known = |name: &str| {
            state
                .branches
                .contains_key(&(repo.clone(), name.to_owned()))
        };
        if !known(base) {
            return error(state, 404, "BaseNotExist");
        }
        if !known(head) {
            return error(state, 404, "HeadNotExist");
        }
    }
    let (Some(base), Some(head)) = (state.resolve(&repo, base), state.resolve(&repo, head)) else {
        return not_found(state);
    };
    let commits: Vec<Value> = state
        .only_in(&repo, &base, &head)
        .iter()
        .map(|sha| state.commit_json(&repo, sha))
        .collect();
    Reply::json(
        200,
        // Gitea sends no `files` here (Forgejo's spec has it): parity with the real server.
        json!({"total_commits": commits.len(), "commits": commits}),
    )
}

fn get_pulls(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let wanted = call.query("state").unwrap_or("open");
    let items: Vec<Value> = state
        .issues
        .iter()
        .filter(|((r, _), _)| *r == repo)
        .filter(|(_, issue)| wanted == "all" || issue.state == wanted)
        .filter_map(|(_, issue)| {
            issue.pr.as_ref().map(|pr| {
                let pr = state.live(&repo, issue, pr);
                state.pull_json(&repo, issue, &pr)
            })
        })
        .rev()
        .collect();
    paginate(state, call, items, false)
}

fn body_json(state: &StateData, call: &Call) -> Result<Value, Reply> {
    serde_json::from_slice(&call.body).map_err(|_| error(state, 400, "invalid JSON body"))
}

/// Gitea: both branches must exist (404), one open PR per head/base pair (409).
fn post_pull(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let body = match body_json(state, call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (head, base, title) = (text("head"), text("base"), text("title"));
    if title.trim().is_empty() {
        return error(state, 422, "[Title]: Required");
    }
    let (Some(head_sha), Some(base_sha)) = (
        state.branches.get(&(repo.clone(), head.clone())).cloned(),
        state.branches.get(&(repo.clone(), base.clone())).cloned(),
    ) else {
        return not_found(state);
    };
    let exists = state.issues.iter().any(|((r, _), issue)| {
        *r == repo
            && issue.state == "open"
            && issue.pr.as_ref().is_some_and(|pr| {
                pr.head_ref == head && pr.base_ref == base && pr.head_repo.is_none()
            })
    });
    if exists {
        return error(
            state,
            409,
            &format!("pull request already exists for these targets [head_branch: {head}, base_branch: {base}]"),
        );
    }
    let number = state
        .issues
        .keys()
        .filter(|(r, _)| *r == repo)
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0)
        + 1;
    let author = call.login.clone().unwrap_or_default();
    let repo_id = state.repo_id(&repo);
    let id = state.next_id();
    let created = state.tick();
    let pr = PrSpec {
        number,
        author: author.clone(),
        title: title.clone(),
        body: text("body"),
        head_ref: head,
        head_sha,
        base_ref: base,
        base_sha,
        ..PrSpec::default()
    };
    state.issues.insert(
        (repo.clone(), number),
        IssueRow {
            id,
            repo_id,
            number,
            author,
            title,
            body: pr.body.clone(),
            state: "open".into(),
            created,
            pr: Some(pr.clone()),
            labels: Vec::new(),
            files: Vec::new(),
            reviews: Vec::new(),
            timeline: Vec::new(),
            comments: Vec::new(),
        },
    );
    let issue = &state.issues[&(repo.clone(), number)];
    Reply::json(201, state.pull_json(&repo, issue, &pr))
}

/// `PATCH …/pulls/{index}` with `base`: 404 unknown base, 409 when an open PR of the same
/// head into the new base exists, 422 closed; success is **201** (a Gitea quirk).
fn patch_pull(state: &mut StateData, call: &Call) -> Reply {
    let (issue_state, head_ref, old_base) = match find_pull(state, call) {
        Ok((issue, pr)) => (
            issue.state.clone(),
            pr.head_ref.clone(),
            pr.base_ref.clone(),
        ),
        Err(reply) => return reply,
    };
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    let body = match body_json(state, call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if let Some(base) = body.get("base").and_then(Value::as_str) {
        if base != old_base {
            let Some(base_sha) = state
                .branches
                .get(&(repo.clone(), base.to_owned()))
                .cloned()
            else {
                return error(state, 404, &format!("new base '{base}' not exist"));
            };
            if issue_state != "open" {
                return error(state, 422, "issue is closed");
            }
            let clash = state.issues.iter().any(|((r, n), issue)| {
                *r == repo
                    && *n != number
                    && issue.state == "open"
                    && issue
                        .pr
                        .as_ref()
                        .is_some_and(|pr| pr.head_ref == head_ref && pr.base_ref == base)
            });
            if clash {
                return error(
                    state,
                    409,
                    &format!("pull request already exists for these targets [head_branch: {head_ref}, base_branch: {base}]"),
                );
            }
            let issue = state.issue_mut(&repo, number);
            if let Some(pr) = issue.pr.as_mut() {
                pr.base_ref = base.to_owned();
                pr.base_sha = base_sha;
            }
        }
    }
    let issue = &state.issues[&(repo.clone(), number)];
    let Some(pr) = issue.pr.as_ref() else {
        return not_found(state);
    };
    let pr = state.live(&repo, issue, pr);
    Reply::json(201, state.pull_json(&repo, issue, &pr))
}

const MERGE_STYLES: &[&str] = &[
    "merge",
    "rebase",
    "rebase-merge",
    "squash",
    "fast-forward-only",
    "manually-merged",
];

/// Gitea's merge: closed 404, merged 405, mergeability unknown 405 "Please try again
/// later", protection checks not passing 405 (unless `merge_when_checks_succeed`, which
/// schedules: 201, or 409 when already scheduled), `head_commit_id` not the head 409
/// "head out of date", a diverging fast-forward-only 500; success 200 with no body.
fn post_merge(state: &mut StateData, call: &Call) -> Reply {
    let (issue_state, pr) = match find_pull(state, call) {
        Ok((issue, pr)) => (issue.state.clone(), state.live(&call.repo(), issue, pr)),
        Err(reply) => return reply,
    };
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    if pr.merged {
        return error(state, 405, "");
    }
    if issue_state != "open" {
        return not_found(state);
    }
    let body = match body_json(state, call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let style = body.get("Do").and_then(Value::as_str).unwrap_or_default();
    if !MERGE_STYLES.contains(&style) {
        return error(state, 422, "[Do]: In");
    }
    if state.not_ready > 0 {
        state.not_ready -= 1;
        return error(state, 405, "Please try again later");
    }
    let required = state
        .required_contexts(&repo, &pr.base_ref)
        .unwrap_or_default();
    let green = state.checks_pass(&repo, &pr.head_sha, &required);
    let force = body
        .get("force_merge")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if body
        .get("merge_when_checks_succeed")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        && !green
    {
        if !state.scheduled.insert((repo.clone(), number)) {
            return error(
                state,
                409,
                "pull request is already scheduled to auto merge",
            );
        }
        return Reply::empty(201);
    }
    if !green && !force {
        return error(state, 405, "Not all required status checks successful");
    }
    let expected = body
        .get("head_commit_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !expected.is_empty() && expected != pr.head_sha {
        return error(state, 409, "head out of date");
    }
    if style == "fast-forward-only" && !state.is_ancestor(&repo, &pr.base_sha, &pr.head_sha) {
        return error(state, 500, "");
    }
    state
        .branches
        .insert((repo.clone(), pr.base_ref.clone()), pr.head_sha.clone());
    state.scheduled.remove(&(repo.clone(), number));
    let issue = state.issue_mut(&repo, number);
    issue.state = "closed".into();
    if let Some(spec) = issue.pr.as_mut() {
        spec.merged = true;
        spec.state = "closed".into();
        spec.head_sha = pr.head_sha.clone();
        spec.base_sha = pr.base_sha.clone();
    }
    Reply::empty(200)
}

/// Not paginated by Gitea: every comment, with `X-Total-Count`.
fn get_comments(state: &mut StateData, call: &Call) -> Reply {
    match find_issue(state, call) {
        Ok(issue) => {
            let mut reply = Reply::json(200, Value::Array(issue.comments.clone()));
            reply.set_header("X-Total-Count", issue.comments.len().to_string());
            reply
        }
        Err(reply) => reply,
    }
}

fn post_comment(state: &mut StateData, call: &Call) -> Reply {
    if let Err(reply) = find_issue(state, call) {
        return reply;
    }
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    let body = match body_json(state, call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let text = body.get("body").and_then(Value::as_str).unwrap_or_default();
    if text.is_empty() {
        return error(state, 422, "[Body]: Required");
    }
    let author = call.login.clone().unwrap_or_default();
    let row = state.comment_json(&repo, number, &author, text);
    state.issue_mut(&repo, number).comments.push(row.clone());
    Reply::json(201, row)
}

/// Gitea's status-check patterns are globs (`*` crosses `/`).
fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

fn find_release<'a>(state: &'a StateData, repo: &str, tag: &str) -> Option<&'a ReleaseRow> {
    state
        .releases
        .iter()
        .rev()
        .find(|r| r.repo == repo && r.tag == tag)
}

fn get_release_by_tag(state: &mut StateData, call: &Call) -> Reply {
    match find_release(state, &call.repo(), call.param("tag")) {
        Some(release) => Reply::json(200, state.release_json(release)),
        None => not_found(state),
    }
}

fn get_release_download(state: &mut StateData, call: &Call) -> Reply {
    let asset = find_release(state, &call.repo(), call.param("tag"))
        .and_then(|r| r.assets.iter().find(|a| a.name == call.param("name")));
    match asset {
        Some(asset) => Reply {
            status: 200,
            headers: Vec::new(),
            body: ReplyBody::Bytes(asset.bytes.clone(), "application/octet-stream"),
        },
        None => Reply {
            status: 404,
            headers: Vec::new(),
            body: ReplyBody::Bytes(b"Not Found".to_vec(), "text/plain; charset=utf-8"),
        },
    }
}

// ---- dispatch ------------------------------------------------------------------------

/// Match `path` (already without `/api/v1` for API routes) against a template.
fn match_template(template: &str, path: &str) -> Option<HashMap<&'static str, String>> {
    let want: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut params = HashMap::new();
    for (i, segment) in want.iter().enumerate() {
        let name = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
        match name {
            // The raw file path spans every remaining segment.
            Some("filepath") if i == want.len() - 1 => {
                let rest = got.get(i..)?;
                if rest.is_empty() || rest.iter().any(|s| s.is_empty()) {
                    return None;
                }
                let decoded: Vec<String> = rest.iter().map(|s| decode(s)).collect();
                params.insert("filepath", decoded.join("/"));
                return Some(params);
            }
            Some(name) => {
                let value = got.get(i)?;
                if value.is_empty() {
                    return None;
                }
                params.insert(static_name(name), decode(value));
            }
            None => {
                if got.get(i) != Some(segment) {
                    return None;
                }
            }
        }
    }
    (want.len() == got.len()).then_some(params)
}

/// Parameter names as `'static` (they come from the static route table).
fn static_name(name: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "owner",
        "repo",
        "index",
        "identifier",
        "sha",
        "org",
        "id",
        "username",
        "filepath",
        "workflowfilename",
        "tag",
        "name",
        "branch",
        "basehead",
    ];
    NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .unwrap_or_else(|| panic!("fake: add parameter `{name}` to static_name"))
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

fn token_of(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme == "token" || scheme.eq_ignore_ascii_case("bearer")).then(|| token.trim())
}

async fn dispatch(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let raw_query = request.uri().query().unwrap_or_default().to_owned();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let conn = request
        .extensions()
        .get::<axum::extract::ConnectInfo<ConnKill>>()
        .map(|info| info.0.clone());
    let body = axum::body::to_bytes(request.into_body(), 64 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let query = parse_query(&raw_query);

    let (response, delay, cut) = {
        let mut state = shared.lock();
        let login = token_of(authorization.as_deref())
            .and_then(|t| state.tokens.get(t))
            .cloned();
        let (api, route_path) = match path.strip_prefix("/api/v1") {
            Some(rest) if rest.starts_with('/') => (true, rest),
            _ => (false, path.as_str()),
        };
        let mut path_matched = false;
        let mut found = None;
        for route in ROUTES.iter().filter(|r| r.api == api) {
            if let Some(params) = match_template(route.template, route_path) {
                path_matched = true;
                if route.method == method {
                    found = Some((route, params));
                    break;
                }
            }
        }
        let mut record = Recorded {
            method: method.clone(),
            route: String::new(),
            path: path.clone(),
            query: raw_query.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            login: login.clone(),
            authorization,
            status: 0,
            fault: None,
        };
        state.position += 1;
        let position = state.position;
        let Some((route, params)) = found else {
            state.unmatched.push(format!("{method} {path}"));
            let status = if path_matched { 405 } else { 404 };
            record.status = status;
            state.requests.push(record);
            let reply = error(&state, status, "not found");
            return to_response(reply);
        };
        record.route = route.template.to_owned();
        let key = route.key();
        let page = query
            .iter()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or(1);

        // Triggers: "another client" acts just before this request is answered.
        let mut due = Vec::new();
        for (route_key, nth, hits, action) in state.triggers.iter_mut() {
            if *route_key == key {
                *hits += 1;
                if *hits == *nth {
                    due.push(action.clone());
                }
            }
        }
        for action in &due {
            state.apply(action);
        }

        // Which faults fire for this request (each counts its own hits).
        let mut active = Vec::new();
        for fault_state in state.faults.iter_mut() {
            let fault = &fault_state.fault;
            if fault.route != key
                || fault.page.is_some_and(|p| p != page)
                || fault
                    .login
                    .as_ref()
                    .is_some_and(|l| Some(l) != login.as_ref())
                || fault.times.is_some_and(|n| fault_state.hits >= n)
            {
                continue;
            }
            fault_state.hits += 1;
            active.push(fault.clone());
        }
        let scheduled: Vec<FaultKind> = state
            .schedule
            .iter()
            .filter(|s| s.nth == position)
            .map(|s| s.kind.clone())
            .filter(|kind| {
                !state
                    .schedule_answers
                    .iter()
                    .any(|(r, k)| *r == key && k == kind)
            })
            .collect();
        for kind in scheduled {
            active.push(Fault::new(&key, kind));
        }
        record.fault = active.first().map(|f| f.kind.clone());
        if active.iter().any(|f| f.kind == FaultKind::Reset) {
            record.fault = Some(FaultKind::Reset);
            state.requests.push(record);
            if let Some(conn) = &conn {
                conn.kill();
            }
            return to_response(Reply::empty(500));
        }
        let mut delay = Duration::ZERO;
        for fault in &active {
            if let FaultKind::Delay(d) = fault.kind {
                delay += d;
            }
        }

        let status_fault = active.iter().find_map(|f| match f.kind {
            FaultKind::Status(code) => Some((code, f.retry_after)),
            FaultKind::StatusRetryAfter(code, secs) => Some((code, Some(secs))),
            _ => None,
        });
        let mut reply = if let Some((code, retry_after)) = status_fault {
            let mut reply = fault_status(&state, code);
            if let Some(secs) = retry_after {
                reply.set_header("Retry-After", secs.to_string());
            }
            reply
        } else if route.api && login.is_none() {
            error(&state, 401, "token is required")
        } else if route.api
            && method != "GET"
            && login.as_ref().is_some_and(|l| state.read_only.contains(l))
        {
            error(
                &state,
                403,
                "token does not have at least one of required scope(s): [write:issue write:repository]",
            )
        } else {
            let call = Call {
                params,
                query,
                body,
                login,
                path: path.clone(),
            };
            (route.handler)(&mut state, &call)
        };
        if status_fault.is_none() {
            for fault in &active {
                apply_body_fault(&mut reply, &fault.kind);
            }
        }
        // After-triggers: "another client" acts once this request is handled, before the
        // answer leaves. A request refused by a fault was not handled: it does not count.
        if status_fault.is_none() {
            let mut due = Vec::new();
            for (route_key, nth, hits, action) in state.after_triggers.iter_mut() {
                if *route_key == key {
                    *hits += 1;
                    if *hits == *nth {
                        due.push(action.clone());
                    }
                }
            }
            for action in &due {
                state.apply(action);
            }
        }
        record.status = reply.status;
        let response = to_response(reply);
        let size = axum::body::HttpBody::size_hint(response.body())
            .exact()
            .unwrap_or(0);
        let mut cut = None;
        if status_fault.is_none() && active.iter().any(|f| f.kind == FaultKind::CutBody) {
            if size > 0 {
                // Half the body: the client has the headers and a part, never all of it.
                cut = Some(usize::try_from(size / 2).unwrap_or(0));
                record.fault = Some(FaultKind::CutBody);
            } else if record.fault == Some(FaultKind::CutBody) {
                // Nothing to cut: the answer arrives whole.
                record.fault = None;
            }
        }
        state.requests.push(record);
        (response, delay, cut)
    };
    if let (Some(keep), Some(conn)) = (cut, &conn) {
        conn.cut_after(keep);
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    response
}

fn apply_body_fault(reply: &mut Reply, kind: &FaultKind) {
    match kind {
        FaultKind::Status(_)
        | FaultKind::StatusRetryAfter(..)
        | FaultKind::Delay(_)
        | FaultKind::Reset
        | FaultKind::CutBody => {}
        FaultKind::Malformed => {
            reply.body = ReplyBody::Bytes(
                b"{\"id\": 1, \"message\": \"the answer broke off".to_vec(),
                "application/json;charset=utf-8",
            );
        }
        FaultKind::TruncatePage => {
            if let ReplyBody::Json(Value::Array(items)) = &mut reply.body {
                items.pop();
            }
        }
        FaultKind::WrongTotal(delta) => {
            if let Some(total) = reply
                .header("X-Total-Count")
                .and_then(|t| t.parse::<i64>().ok())
            {
                reply.set_header("X-Total-Count", (total + delta).to_string());
            }
        }
        FaultKind::NoTotal => {
            reply
                .headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("X-Total-Count"));
        }
    }
}

fn to_response(reply: Reply) -> Response {
    let (bytes, content_type) = match reply.body {
        ReplyBody::Json(value) => (
            serde_json::to_vec(&value).expect("JSON values serialize"),
            Some("application/json;charset=utf-8"),
        ),
        ReplyBody::Bytes(bytes, content_type) => (bytes, Some(content_type)),
        ReplyBody::Empty => (Vec::new(), None),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Some(content_type) = content_type {
        headers.insert("content-type", HeaderValue::from_static(content_type));
    }
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

fn get_version(_state: &mut StateData, _call: &Call) -> Reply {
    Reply::json(200, json!({"version": "1.27.3"}))
}

/// `GET …/git/trees/{sha}`: one level of the files set with `set_file`. `sha` is a ref
/// name (the root) or an id this route minted for a directory: the hex of `ref\ndir`.
fn get_tree(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let sha = call.param("sha");
    let (git_ref, dir) = match tree_id_decode(sha) {
        Some((git_ref, dir)) => (git_ref, dir),
        None => (sha.to_owned(), String::new()),
    };
    let mut entries: BTreeMap<String, &'static str> = BTreeMap::new();
    for (r, g, path) in state.contents.keys() {
        if *r != repo || *g != git_ref {
            continue;
        }
        let rest = if dir.is_empty() {
            path.as_str()
        } else {
            match path.strip_prefix(&format!("{dir}/")) {
                Some(rest) => rest,
                None => continue,
            }
        };
        match rest.split_once('/') {
            Some((sub, _)) => entries.insert(sub.to_owned(), "tree"),
            None => entries.insert(rest.to_owned(), "blob"),
        };
    }
    if entries.is_empty() && !dir.is_empty() {
        return not_found(state);
    }
    let base = &state.base;
    let tree: Vec<Value> = entries
        .iter()
        .map(|(name, kind)| {
            let full = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            let id = tree_id(&git_ref, &full);
            json!({"path": name, "mode": if *kind == "tree" { "040000" } else { "100644" },
                   "type": kind, "size": 0, "sha": id,
                   "url": format!("{base}/api/v1/repos/{repo}/git/trees/{id}")})
        })
        .collect();
    Reply::json(
        200,
        json!({"sha": sha, "url": format!("{base}/api/v1/repos/{repo}/git/trees/{sha}"),
               "tree": tree, "truncated": state.trees_truncated, "page": 1, "total_count": tree.len()}),
    )
}

fn tree_id(git_ref: &str, dir: &str) -> String {
    format!("{git_ref}\n{dir}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn tree_id_decode(id: &str) -> Option<(String, String)> {
    if !id.len().is_multiple_of(2) || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&id[i..i + 2], 16).ok())
        .collect::<Option<_>>()?;
    let text = String::from_utf8(bytes).ok()?;
    let (git_ref, dir) = text.split_once('\n')?;
    Some((git_ref.to_owned(), dir.to_owned()))
}

/// `GET /notifications/new`: Gitea 1.27's scope check first (its 403 lists the token's
/// scopes), then the count (the fake has no notifications).
fn get_notifications_new(state: &mut StateData, call: &Call) -> Reply {
    let Some(login) = &call.login else {
        return error(state, 401, "token is required");
    };
    if let Some(scopes) = state.token_scopes.get(login) {
        if !scopes
            .iter()
            .any(|s| s == "read:notification" || s == "write:notification")
        {
            let message = format!(
                "token does not have at least one of required scope(s), required=[read:notification], token scope={}",
                scopes.join(",")
            );
            return error(state, 403, &message);
        }
    }
    Reply::json(200, json!({"new": 0}))
}

/// Whether the caller administers the repository: a repository admin or an owner of its org.
fn is_repo_admin(state: &StateData, call: &Call) -> bool {
    let caller = call.login.clone().unwrap_or_default();
    state.repo_admins.contains(&(call.repo(), caller.clone()))
        || state
            .owners
            .get(call.param("owner"))
            .is_some_and(|o| o.contains(&caller))
}

fn get_repo(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let caller = call.login.clone().unwrap_or_default();
    let admin = is_repo_admin(state, call);
    let mut body = state.repo_json(&repo);
    body["permissions"] = json!({
        "admin": admin,
        "push": admin || (call.login.is_some() && !state.read_only.contains(&caller)),
        "pull": true,
    });
    Reply::json(200, body)
}

fn get_branch_protections(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    if !is_repo_admin(state, call) {
        return error(
            state,
            403,
            "user should be an owner or a collaborator with admin write of a repository",
        );
    }
    let rules = state.protections.get(&repo).cloned().unwrap_or_default();
    Reply::json(200, Value::Array(rules))
}
