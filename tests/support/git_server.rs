//! A real git smart-HTTP server for tests: `git http-backend` run as CGI behind a small
//! axum server on 127.0.0.1, with Gitea-like basic auth (any username, the token is the
//! password), Gitea's protected-branch hook text, a request log and a callback that runs
//! before each request (to make "another client" push between a fetch and a push).
//!
//! It also answers `GET /api/v1/user` for its users, so one `GitServer::url()` can serve
//! as `--server` for both the API and git, the way a Gitea host does.
//!
//! Usable from plain `#[test]` functions: the server runs its own runtime on a thread.
//!
//! Faults: [`GitServer::fail`] answers a service with a status; [`GitServer::schedule`]
//! breaks the n-th request of any route (the API's `/user` included) with a [`GitFault`]:
//! a status, a reset connection, a response cut after part of its body (a cut pack), or a
//! push whose ref update is refused (`ng refs/heads/… hook declined`).

use std::{
    collections::{HashMap, HashSet},
    io::{Read, Write},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, DefaultBodyLimit, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};

use super::{
    fault_schedule::{ConnKill, Scheduled},
    serve::Background,
};

/// One request the server answered.
#[derive(Debug, Clone)]
pub struct GitRequest {
    pub method: String,
    /// Path without the query, e.g. `/acme/app.git/git-receive-pack`.
    pub path: String,
    pub query: String,
    /// The login the credentials resolved to, if any.
    pub login: Option<String>,
    /// Whether an `Authorization` header was sent at all.
    pub had_credentials: bool,
    /// The status sent back.
    pub status: u16,
    /// Running number of this request (1-based).
    pub seq: u64,
    /// The scheduled fault that shaped the answer, if any.
    pub fault: Option<GitFault>,
}

/// What a scheduled fault does to the request it lands on.
#[derive(Debug, Clone, PartialEq)]
pub enum GitFault {
    /// Answer this status without running git.
    Status(u16),
    /// Close the connection without an answer; git does not run.
    Reset,
    /// Run git, send the headers with the full `Content-Length` and only this share (in
    /// percent, below 100) of the body, then close: a cut pack or advertisement.
    Cut(u8),
    /// On a push: run it with an `update` hook that refuses every ref, so git answers
    /// `ng <ref> hook declined` and nothing moves. On anything else it does not fire.
    RejectRef,
}

impl GitRequest {
    /// `upload-pack` or `receive-pack`, when this is a git request.
    pub fn service(&self) -> Option<&'static str> {
        let text = format!("{}?{}", self.path, self.query);
        if text.contains("git-receive-pack") {
            Some("receive-pack")
        } else if text.contains("git-upload-pack") {
            Some("upload-pack")
        } else {
            None
        }
    }

    /// A `POST …/git-receive-pack`: a push that reached the server.
    pub fn is_push(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/git-receive-pack")
    }
}

/// A user of the server.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub full_name: String,
    pub email: String,
}

type Callback = Box<dyn Fn(&GitRequest) + Send + Sync>;

/// An injected failure: the next `remaining` matching requests get `status`.
struct Fault {
    method: String,
    service: String,
    status: u16,
    remaining: usize,
}

#[derive(Default)]
struct Shared {
    root: PathBuf,
    home: PathBuf,
    users: Mutex<HashMap<String, User>>,
    requests: Mutex<Vec<GitRequest>>,
    callbacks: Mutex<Vec<Arc<Callback>>>,
    read_only: Mutex<HashSet<(String, String)>>,
    private: Mutex<HashSet<String>>,
    faults: Mutex<Vec<Fault>>,
    legacy: std::sync::atomic::AtomicBool,
    seq: AtomicU64,
    /// Faults by position and the requests counted since the schedule was set.
    schedule: Mutex<(Vec<Scheduled<GitFault>>, usize)>,
}

/// The server; stops when dropped.
pub struct GitServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _server: Background,
    _dir: tempfile::TempDir,
}

impl GitServer {
    /// Start on a free port of 127.0.0.1.
    pub fn start() -> GitServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("repos");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&root).expect("repos dir");
        std::fs::create_dir_all(&home).expect("home dir");
        let shared = Arc::new(Shared {
            root,
            home,
            ..Shared::default()
        });
        let router = Router::new()
            .route("/api/v1/user", get(api_user))
            .route("/api/v1/repos/{owner}/{name}", get(api_repo))
            .fallback(git)
            .layer(DefaultBodyLimit::disable())
            .with_state(shared.clone());
        let server = Background::serve("git-server", router);
        GitServer {
            addr: server.addr(),
            shared,
            _server: server,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`: the server URL (git at `/{owner}/{repo}.git`, API at `/api/v1`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The clone URL of a repository.
    pub fn repo_url(&self, repo: &str) -> String {
        format!("{}/{repo}.git", self.url())
    }

    /// Register a user whose token (the basic-auth password) is `token`.
    pub fn add_user(&self, login: &str, token: &str) -> User {
        let mut users = self.shared.users.lock().expect("users");
        let user = User {
            id: users.len() as i64 + 1,
            login: login.to_owned(),
            full_name: format!("{login} (bot)"),
            email: format!("{login}@example.com"),
        };
        users.insert(token.to_owned(), user.clone());
        user
    }

    /// Create an empty bare repository `owner/name`; returns its path.
    ///
    /// Like Gitea, the repository allows partial-clone filters (`uploadpack.allowFilter`).
    pub fn create_repo(&self, repo: &str) -> PathBuf {
        let path = self.repo_path(repo);
        std::fs::create_dir_all(&path).expect("repo dir");
        self.git(
            &path,
            &["init", "--bare", "--quiet", "--initial-branch=main"],
        );
        self.git(&path, &["config", "uploadpack.allowFilter", "true"]);
        self.git(&path, &["config", "receive.fsckObjects", "true"]);
        // Refuses every ref when a `RejectRef` fault runs the push; otherwise a no-op.
        let hook = path.join("hooks").join("update");
        std::fs::write(
            &hook,
            "#!/bin/sh\nif [ -n \"$SHIPGATE_TEST_REJECT\" ]; then\n  echo \"refusing $1 (injected)\" >&2\n  exit 1\nfi\nexit 0\n",
        )
        .expect("write the update hook");
        make_executable(&hook);
        path
    }

    /// Where `owner/name` lives on disk.
    pub fn repo_path(&self, repo: &str) -> PathBuf {
        self.shared.root.join(format!("{repo}.git"))
    }

    /// Switch partial-clone filters off for a repository (a server with
    /// `DISABLE_PARTIAL_CLONE = true`).
    pub fn disable_filters(&self, repo: &str) {
        self.git(
            &self.repo_path(repo),
            &["config", "uploadpack.allowFilter", "false"],
        );
    }

    /// Install a pre-receive hook that rejects pushes to `branch` with Gitea's wording.
    pub fn protect(&self, repo: &str, branch: &str) {
        let hook = self.repo_path(repo).join("hooks").join("pre-receive");
        let script = format!(
            "#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = \"refs/heads/{branch}\" ]; then\n    echo \"Gitea: Not allowed to push to protected branch {branch}\" >&2\n    exit 1\n  fi\ndone\nexit 0\n"
        );
        std::fs::write(&hook, script).expect("write hook");
        make_executable(&hook);
    }

    /// The user can read but not push: receive-pack answers 403.
    pub fn read_only(&self, repo: &str, login: &str) {
        self.shared
            .read_only
            .lock()
            .expect("read_only")
            .insert((repo.to_owned(), login.to_owned()));
    }

    /// Anonymous reads are refused too (401).
    pub fn private(&self, repo: &str) {
        self.shared
            .private
            .lock()
            .expect("private")
            .insert(repo.to_owned());
    }

    /// Run `callback` before the server handles each request (after authentication),
    /// on a blocking thread. Use it to push as "another client" at the right moment.
    pub fn on_request(&self, callback: impl Fn(&GitRequest) + Send + Sync + 'static) {
        self.shared
            .callbacks
            .lock()
            .expect("callbacks")
            .push(Arc::new(Box::new(callback)));
    }

    /// Answer the next `times` requests of `method` to `service` (`upload-pack` or
    /// `receive-pack`) with `status`, without running git.
    pub fn fail(&self, method: &str, service: &str, status: u16, times: usize) {
        self.shared.faults.lock().expect("faults").push(Fault {
            method: method.to_owned(),
            service: service.to_owned(),
            status,
            remaining: times,
        });
    }

    /// Faults by position: the `nth` request from now on (1-based, any route) gets its
    /// fault, once. Replaces an earlier schedule and restarts the count.
    pub fn schedule(&self, faults: Vec<Scheduled<GitFault>>) {
        *self.shared.schedule.lock().expect("schedule") = (faults, 0);
    }

    /// Ignore the `Git-Protocol` header, so git speaks protocol v0 (an old server, or a
    /// proxy that drops the header).
    pub fn legacy_protocol(&self) {
        self.shared.legacy.store(true, Ordering::SeqCst);
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<GitRequest> {
        self.shared.requests.lock().expect("requests").clone()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        self.shared.requests.lock().expect("requests").clear();
    }

    /// Run git in a directory (usually a bare repository), panicking on failure; stdout.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        git_in(dir, args, &self.shared.home)
    }

    /// The id a ref points to, if it exists.
    pub fn rev(&self, repo: &str, refname: &str) -> Option<String> {
        let output = git_command(&self.repo_path(repo), &self.shared.home)
            .args(["rev-parse", "--verify", "--quiet", refname])
            .output()
            .expect("run git");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// `git merge-base --is-ancestor a b` on the server.
    pub fn is_ancestor(&self, repo: &str, ancestor: &str, descendant: &str) -> bool {
        let status = git_command(&self.repo_path(repo), &self.shared.home)
            .args(["merge-base", "--is-ancestor", ancestor, descendant])
            .status()
            .expect("run git");
        status.success()
    }

    /// `git fsck --strict` on the server repository; panics with its output on failure.
    pub fn fsck(&self, repo: &str) {
        let output = git_command(&self.repo_path(repo), &self.shared.home)
            .args(["fsck", "--strict", "--no-progress", "--no-dangling"])
            .output()
            .expect("run git fsck");
        assert!(
            output.status.success(),
            "git fsck --strict failed on {repo}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Feed a `git fast-import` stream into the server repository.
    pub fn fast_import(&self, repo: &str, stream: &str) {
        let mut child = git_command(&self.repo_path(repo), &self.shared.home)
            .args(["fast-import", "--quiet", "--force"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fast-import");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stream.as_bytes())
            .expect("write stream");
        let output = child.wait_with_output().expect("fast-import");
        assert!(
            output.status.success(),
            "fast-import failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The HOME the server's git runs with (no user config leaks in).
    pub fn home(&self) -> &Path {
        &self.shared.home
    }
}

/// A `git` command with a clean environment: no user or system config.
pub fn git_command(dir: &Path, home: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("LANG", "C");
    command
}

/// Run git, panicking on failure; stdout.
pub fn git_in(dir: &Path, args: &[&str], home: &Path) -> String {
    let output = git_command(dir, home).args(args).output().expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path).expect("metadata").permissions();
    permissions.set_mode(0o755);
    std::fs::set_permissions(path, permissions).expect("chmod");
}

/// The user behind an `Authorization` header: `Ok(None)` without one, `Err(())` when the
/// credentials are wrong. Accepts `Basic` (password = token) and `token …`.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Option<User>, ()> {
    let Some(value) = headers.get("authorization") else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    let token = if let Some(encoded) = value.strip_prefix("Basic ") {
        let decoded = base64_decode(encoded.trim()).ok_or(())?;
        let text = String::from_utf8(decoded).map_err(|_| ())?;
        let (_user, password) = text.split_once(':').ok_or(())?;
        password.to_owned()
    } else if let Some(token) = value.strip_prefix("token ") {
        token.trim().to_owned()
    } else {
        return Err(());
    };
    shared
        .users
        .lock()
        .expect("users")
        .get(&token)
        .cloned()
        .map(Some)
        .ok_or(())
}

fn unauthorized() -> Response {
    let mut response = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
    response.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"Gitea\""),
    );
    response
}

/// The scheduled fault for the next request, counting it.
fn next_fault(shared: &Shared) -> Option<GitFault> {
    let mut schedule = shared.schedule.lock().expect("schedule");
    schedule.1 += 1;
    let position = schedule.1;
    schedule
        .0
        .iter()
        .find(|s| s.nth == position)
        .map(|s| s.kind.clone())
}

async fn api_user(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnKill>,
    headers: HeaderMap,
) -> Response {
    let seq = shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let mut record = GitRequest {
        method: "GET".into(),
        path: "/api/v1/user".into(),
        query: String::new(),
        login: None,
        had_credentials: headers.contains_key("authorization"),
        status: 0,
        seq,
        fault: next_fault(&shared),
    };
    let response = match &record.fault {
        Some(GitFault::Status(code)) => (
            StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Json(serde_json::json!({"message": "injected failure", "url": ""})),
        )
            .into_response(),
        Some(GitFault::Reset) => {
            conn.kill();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Some(GitFault::RejectRef) => {
            record.fault = None;
            user_answer(&shared, &headers)
        }
        Some(GitFault::Cut(share)) => {
            let response = user_answer(&shared, &headers);
            cut(&conn, response, *share, &mut record.fault).await
        }
        None => user_answer(&shared, &headers),
    };
    record.status = if record.fault == Some(GitFault::Reset) {
        0
    } else {
        response.status().as_u16()
    };
    shared.requests.lock().expect("requests").push(record);
    response
}

/// Buffer `response`, and make the connection stop after `share` percent of its body.
/// An empty body has nothing to cut: the fault is dropped.
async fn cut(
    conn: &ConnKill,
    response: Response,
    share: u8,
    fault: &mut Option<GitFault>,
) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if bytes.is_empty() {
        *fault = None;
    } else {
        let keep = bytes.len() * usize::from(share.min(99)) / 100;
        conn.cut_after(keep.min(bytes.len() - 1));
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// `GET /api/v1/repos/{owner}/{name}`: the caller's `permissions` as Gitea gives them
/// (`push` false for an account made [`GitServer::read_only`]), for `sync --check-token`.
async fn api_repo(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path((owner, name)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let seq = shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let full = format!("{owner}/{name}");
    let response = match authenticate(&shared, &headers) {
        Ok(Some(user)) if shared.root.join(format!("{full}.git")).is_dir() => {
            let push = !shared
                .read_only
                .lock()
                .expect("read_only")
                .contains(&(full.clone(), user.login.clone()));
            Json(serde_json::json!({
                "full_name": full,
                "default_branch": "main",
                "permissions": {"admin": false, "push": push, "pull": true},
            }))
            .into_response()
        }
        Ok(Some(_)) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"message": "Not Found", "url": ""})),
        )
            .into_response(),
        _ => unauthorized(),
    };
    shared.requests.lock().expect("requests").push(GitRequest {
        method: "GET".into(),
        path: format!("/api/v1/repos/{full}"),
        query: String::new(),
        login: None,
        had_credentials: headers.contains_key("authorization"),
        status: response.status().as_u16(),
        seq,
        fault: None,
    });
    response
}

fn user_answer(shared: &Shared, headers: &HeaderMap) -> Response {
    match authenticate(shared, headers) {
        Ok(Some(user)) => Json(serde_json::json!({
            "id": user.id,
            "login": user.login,
            "full_name": user.full_name,
            "email": user.email,
        }))
        .into_response(),
        _ => unauthorized(),
    }
}

async fn git(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnKill>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let seq = shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let had_credentials = headers.contains_key("authorization");
    let mut record = GitRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        login: None,
        had_credentials,
        status: 0,
        seq,
        fault: next_fault(&shared),
    };
    let mut response = match &record.fault {
        Some(GitFault::Status(code)) => (
            StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "injected failure\n",
        )
            .into_response(),
        Some(GitFault::Reset) => {
            conn.kill();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        _ => serve_git(&shared, &mut record, &method, &headers, body).await,
    };
    if record.fault == Some(GitFault::RejectRef) && !record.is_push() {
        record.fault = None;
    }
    if let Some(GitFault::Cut(share)) = record.fault {
        response = cut(&conn, response, share, &mut record.fault).await;
    }
    record.status = if record.fault == Some(GitFault::Reset) {
        0
    } else {
        response.status().as_u16()
    };
    shared.requests.lock().expect("requests").push(record);
    response
}

async fn serve_git(
    shared: &Arc<Shared>,
    record: &mut GitRequest,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let Some(repo) = record
        .path
        .strip_prefix('/')
        .and_then(|p| p.split_once(".git/"))
        .map(|(repo, _)| repo.to_owned())
    else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let user = match authenticate(shared, headers) {
        Ok(user) => user,
        Err(()) => return unauthorized(),
    };
    record.login = user.as_ref().map(|u| u.login.clone());
    let is_receive_pack = record.service() == Some("receive-pack");
    let is_private = shared.private.lock().expect("private").contains(&repo);
    if user.is_none() && (is_receive_pack || is_private) {
        return unauthorized();
    }
    if let Some(user) = &user {
        let read_only = shared
            .read_only
            .lock()
            .expect("read_only")
            .contains(&(repo.clone(), user.login.clone()));
        if read_only && is_receive_pack {
            return (
                StatusCode::FORBIDDEN,
                "User permission denied for writing.\n",
            )
                .into_response();
        }
    }
    {
        let mut faults = shared.faults.lock().expect("faults");
        if let Some(fault) = faults.iter_mut().find(|f| {
            f.remaining > 0
                && f.method == record.method
                && Some(f.service.as_str()) == record.service()
        }) {
            fault.remaining -= 1;
            let status =
                StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, "injected failure\n").into_response();
        }
    }
    if !shared.root.join(format!("{repo}.git")).is_dir() {
        return (StatusCode::NOT_FOUND, "Repository not found\n").into_response();
    }

    let reject = record.fault == Some(GitFault::RejectRef);
    if reject && !record.is_push() {
        record.fault = None;
    }
    let reject = reject && record.is_push();
    let callbacks: Vec<Arc<Callback>> = shared.callbacks.lock().expect("callbacks").clone();
    let shared = shared.clone();
    let request = record.clone();
    let method = method.to_string();
    let content_type = header(headers, "content-type");
    let content_encoding = header(headers, "content-encoding");
    let git_protocol =
        header(headers, "git-protocol").filter(|_| !shared.legacy.load(Ordering::SeqCst));
    let result = tokio::task::spawn_blocking(move || {
        for callback in &callbacks {
            callback(&request);
        }
        run_cgi(
            &shared,
            &request,
            &method,
            content_type,
            content_encoding,
            git_protocol,
            reject,
            &body,
        )
    })
    .await;
    match result {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cgi failed: {e}\n"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cgi panicked: {e}\n"),
        )
            .into_response(),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[allow(clippy::too_many_arguments)]
fn run_cgi(
    shared: &Shared,
    request: &GitRequest,
    method: &str,
    content_type: Option<String>,
    content_encoding: Option<String>,
    git_protocol: Option<String>,
    reject: bool,
    body: &[u8],
) -> std::io::Result<Response> {
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &shared.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method)
        .env("PATH_INFO", &request.path)
        .env("QUERY_STRING", &request.query)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(login) = &request.login {
        command.env("REMOTE_USER", login);
    }
    if let Some(content_type) = content_type {
        command.env("CONTENT_TYPE", content_type);
    }
    if let Some(encoding) = content_encoding {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if let Some(protocol) = git_protocol {
        command.env("GIT_PROTOCOL", protocol);
    }
    if reject {
        command.env("SHIPGATE_TEST_REJECT", "1");
    }
    let mut child = command.spawn()?;
    let mut stdin = child.stdin.take().expect("stdin");
    let input = body.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut stdout)?;
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_end(&mut stderr)?;
    let _ = writer.join();
    child.wait()?;
    if !stderr.is_empty() {
        eprintln!(
            "git http-backend ({} {}): {}",
            method,
            request.path,
            String::from_utf8_lossy(&stderr).trim_end()
        );
    }
    Ok(parse_cgi(&stdout))
}

/// Split CGI output into a response: headers (with `Status:`) up to the blank line, then body.
fn parse_cgi(output: &[u8]) -> Response {
    let (head, body) = match find_blank_line(output) {
        Some((end, skip)) => (&output[..end], &output[end + skip..]),
        None => (output, &output[output.len()..]),
    };
    let mut status = StatusCode::OK;
    let mut builder = Response::builder();
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().unwrap_or("500");
            status = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        } else {
            builder = builder.header(name.trim(), value);
        }
    }
    builder
        .status(status)
        .body(Body::from(body.to_vec()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn find_blank_line(data: &[u8]) -> Option<(usize, usize)> {
    for i in 0..data.len() {
        if data[i..].starts_with(b"\r\n\r\n") {
            return Some((i, 4));
        }
        if data[i..].starts_with(b"\n\n") {
            return Some((i, 2));
        }
    }
    None
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    }
    let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let n = chunk.len();
        if n < 2 {
            return None;
        }
        out.push((acc >> 16) as u8);
        if n > 2 {
            out.push((acc >> 8) as u8);
        }
        if n > 3 {
            out.push(acc as u8);
        }
    }
    Some(out)
}

/// Encode for a `Authorization: Basic` header (tests that talk to the server directly).
pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for text in ["", "a", "ab", "abc", "shipgate:tok-bot", "user:päss"] {
            let encoded = base64_encode(text.as_bytes());
            assert_eq!(
                base64_decode(&encoded).expect("decodes"),
                text.as_bytes(),
                "{encoded}"
            );
        }
    }
}
