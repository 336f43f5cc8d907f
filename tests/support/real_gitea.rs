//! Harness: a real Gitea, built from the Go module proxy and run on 127.0.0.1.
//!
//! [`gitea`] builds the pinned version on first use (`tests/real-forge/build.sh`: module
//! sum checked, binary kept in `target/real-forge/`), starts one `gitea web` per version per
//! test run with a generated `app.ini` (SQLite in a temp dir, install locked, Actions on,
//! mail and registration off), creates the site admin with `gitea admin user create`, then
//! sets up through the API the world every real-server test shares:
//!
//! - org `acme` with teams `engineers`, `managers`, `executive`, `qa`, `security` (the gate
//!   teams, code write on every repo), `developers` and `devops` (code write) and
//!   `everyone` (read);
//! - users `alice` (author, developers), `erin` (engineers), `mona` (managers), `ed`
//!   (executive), `quinn` (qa), `sam` (security), `carol` (engineers + qa), `olga`
//!   (everyone only), `gate-reader` (the read token's account: a member of every gate team,
//!   so it may probe their members), `outside-reader` (an org member in no gate team),
//!   `status-bot` (developers: code write, posts statuses) and `devops-engineer` (devops);
//! - for each user a token with exactly the scopes the README and the examples tell users
//!   to grant for that role ([`Role`]).
//!
//! Each test makes its own repository ([`RealGitea::repo`]). Nothing is mocked: every call
//! here is the real API, and `git` pushes go through Gitea's own smart HTTP.
//!
//! The server is killed when the test process exits (a watchdog shell polls the test
//! process). When anything here fails, the panic message carries the tail of Gitea's log.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

/// The versions every real-server test runs against, oldest first.
pub const VERSIONS: &[&str] = &["gitea-1.22.6", "gitea-1.27.3"];

const ORG: &str = "acme";
const PASSWORD: &str = "Shipgate-test-pw-1";

/// What an account is for, and so which token scopes it gets: exactly those the README and
/// the example headers tell a user to grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A person: opens PRs, reviews, comments, labels.
    Person,
    /// review-fire's read token: read:repository, read:issue (labels), read:organization
    /// (teams) and read:user (`GET /user`: whose token it is). The real server showed the
    /// last two were missing from the README's first list.
    Reader,
    /// tier's token: read:repository, write:issue and read:user (+ read:organization for
    /// override teams).
    Labeler,
    /// review-fire's status token: write:repository, and read:user (`GET /user`: its account
    /// must not be the read token's).
    StatusWriter,
    /// sync's token: write:repository + read:user.
    Syncer,
}

impl Role {
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Role::Person => &[
                "write:repository",
                "write:issue",
                "read:user",
                "read:organization",
            ],
            Role::Reader => &[
                "read:repository",
                "read:issue",
                "read:organization",
                "read:user",
            ],
            Role::Labeler => &["read:repository", "write:issue", "read:user"],
            Role::StatusWriter => &["write:repository", "read:user"],
            Role::Syncer => &["write:repository", "read:user"],
        }
    }
}

/// `(login, teams, role)` of every account the shared world has.
const USERS: &[(&str, &[&str], Role)] = &[
    ("alice", &["developers"], Role::Person),
    ("erin", &["engineers"], Role::Person),
    ("mona", &["managers"], Role::Person),
    ("ed", &["executive"], Role::Person),
    ("quinn", &["qa"], Role::Person),
    ("sam", &["security"], Role::Person),
    ("carol", &["engineers", "qa"], Role::Person),
    ("olga", &["everyone"], Role::Person),
    (
        "gate-reader",
        &["engineers", "managers", "executive", "qa", "security"],
        Role::Reader,
    ),
    ("outside-reader", &["everyone"], Role::Reader),
    ("tier-bot", &["developers"], Role::Labeler),
    ("status-bot", &["developers"], Role::StatusWriter),
    ("devops-engineer", &["devops"], Role::Syncer),
    ("outsider-syncer", &["developers"], Role::Syncer),
];

const TEAMS: &[(&str, &str)] = &[
    ("engineers", "write"),
    ("managers", "write"),
    ("executive", "write"),
    ("qa", "write"),
    ("security", "write"),
    ("developers", "write"),
    ("devops", "write"),
    ("everyone", "read"),
];

/// One running Gitea with the shared world set up.
pub struct RealGitea {
    pub name: &'static str,
    /// `1.27.3`
    pub version: String,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
    log_dir: PathBuf,
    admin_token: String,
    tokens: BTreeMap<String, String>,
    team_ids: BTreeMap<String, i64>,
    api: Api,
    dir: &'static Path,
}

/// The shared server of this version, built and started on first use.
#[track_caller]
pub fn gitea(name: &'static str) -> &'static RealGitea {
    type Slot = OnceLock<Result<RealGitea, String>>;
    static SERVERS: OnceLock<Vec<(&'static str, Slot)>> = OnceLock::new();
    let servers = SERVERS.get_or_init(|| VERSIONS.iter().map(|v| (*v, OnceLock::new())).collect());
    let slot = &servers
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("{name} is not in VERSIONS"))
        .1;
    match slot.get_or_init(|| RealGitea::start(name)) {
        Ok(server) => server,
        Err(why) => panic!("the real {name} is not available:\n{why}"),
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn forge_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("real-forge")
}

/// `tests/real-forge/build.sh NAME`; the path of the binary.
fn build(name: &str) -> Result<PathBuf, String> {
    let script = repo_root().join("tests/real-forge/build.sh");
    let started = Instant::now();
    let output = Command::new("bash")
        .arg(&script)
        .arg(name)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "building {name} failed; run `tests/real-forge/build.sh {name}` to see why\n--- stdout ---\n{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&output.stdout),
            tail(&String::from_utf8_lossy(&output.stderr), 60),
        ));
    }
    eprintln!(
        "real-forge: {name} ready in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(forge_dir().join(name))
}

/// The module source of a pinned version, `target/real-forge/src/NAME` (the server reads
/// its templates from there; the spec tests read its swagger template), built on first use.
pub fn source(name: &str) -> Result<PathBuf, String> {
    build(name)?;
    let dir = forge_dir().join("src").join(name);
    if dir.join("templates").is_dir() {
        Ok(dir)
    } else {
        Err(format!(
            "`{}` has no templates after `tests/real-forge/build.sh {name}`",
            dir.display()
        ))
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

fn random_hex(len: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    while out.len() < len {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        let _ = write!(out, "{:016x}", h.finish());
    }
    out.truncate(len);
    out
}

impl RealGitea {
    fn start(name: &'static str) -> Result<RealGitea, String> {
        let binary = build(name)?;
        let source = forge_dir().join("src").join(name);
        let version = name.trim_start_matches("gitea-").to_owned();
        let dir: &'static Path = Box::leak(
            tempfile::Builder::new()
                .prefix(&format!("shipgate-{name}-"))
                .tempdir()
                .map_err(|e| format!("temp dir: {e}"))?
                .keep()
                .into_boxed_path(),
        );
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let log_dir = dir.join("log");
        let config = dir.join("app.ini");
        let ini = format!(
            r#"APP_NAME = shipgate-test
RUN_MODE = prod
RUN_USER = {user}
WORK_PATH = {work}
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {port}
ROOT_URL = {url}/
LOCAL_ROOT_URL = {url}/
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
APP_DATA_PATH = {work}/data
STATIC_ROOT_PATH = {source}

[database]
DB_TYPE = sqlite3
PATH = {work}/data/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = {work}/repositories

[security]
INSTALL_LOCK = true
SECRET_KEY = {secret}
INTERNAL_TOKEN = {internal}
PASSWORD_HASH_ALGO = pbkdf2_hi
MIN_PASSWORD_LENGTH = 8
PASSWORD_COMPLEXITY = off

[oauth2]
JWT_SECRET = {jwt}

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = false
DEFAULT_ALLOW_CREATE_ORGANIZATION = true

[mailer]
ENABLED = false

[actions]
ENABLED = true

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[log]
; Console only: 1.22.6 can die at start-up with "concurrent map read and map write" in its
; logger when file writers are configured (seen here); the console goes to stdout.log.
MODE = console
LEVEL = Info
ROOT_PATH = {log}
"#,
            user = std::env::var("USER").unwrap_or_else(|_| "root".into()),
            work = dir.display(),
            source = source.display(),
            log = log_dir.display(),
            secret = random_hex(32),
            internal = random_hex(64),
            jwt = random_hex(43),
        );
        std::fs::write(&config, ini).map_err(|e| format!("write app.ini: {e}"))?;

        // The watchdog: kill Gitea once this test process is gone.
        let watchdog = format!(
            "\"$0\" web --config \"$1\" --work-path \"$2\" >\"$2/stdout.log\" 2>&1 & g=$!; \
             while kill -0 {parent} 2>/dev/null && kill -0 $g 2>/dev/null; do sleep 1; done; \
             kill $g 2>/dev/null; sleep 2; kill -9 $g 2>/dev/null; true",
            parent = std::process::id()
        );
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(&watchdog)
            .arg(&binary)
            .arg(&config)
            .arg(dir)
            .env("GITEA_WORK_DIR", dir)
            .env("HOME", dir)
            // Tests and CI run as root here; Gitea refuses that unless told.
            .env("GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", binary.display()))?;

        let api = Api::new(&url)?;
        let log_tail = || {
            let mut text = String::new();
            for file in ["stdout.log", "log/gitea.log"] {
                if let Ok(body) = std::fs::read_to_string(dir.join(file)) {
                    let _ = writeln!(text, "--- {file} ---\n{}", tail(&body, 40));
                }
            }
            text
        };
        let started = Instant::now();
        loop {
            if let Ok((200, _, _)) = api.call("GET", "/api/v1/version", None, None) {
                break;
            }
            if let Ok(Some(status)) = watchdog.try_wait() {
                return Err(format!(
                    "{name} exited ({status}) before answering on {url}\n{}",
                    log_tail()
                ));
            }
            if started.elapsed() > Duration::from_secs(180) {
                return Err(format!(
                    "{name} did not answer on {url} within 180 s\n{}",
                    log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "real-forge: {name} answering on {url} after {:.1}s",
            started.elapsed().as_secs_f64()
        );

        let admin = Command::new(&binary)
            .args(["admin", "user", "create", "--config"])
            .arg(&config)
            .arg("--work-path")
            .arg(dir)
            .args([
                "--username",
                "root",
                "--password",
                PASSWORD,
                "--email",
                "root@example.com",
                "--admin",
                "--must-change-password=false",
            ])
            .env("GITEA_WORK_DIR", dir)
            .env("HOME", dir)
            .env("GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT", "true")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("gitea admin user create: {e}"))?;
        if !admin.status.success() {
            return Err(format!(
                "`gitea admin user create` failed: {}{}\n{}",
                String::from_utf8_lossy(&admin.stdout),
                String::from_utf8_lossy(&admin.stderr),
                log_tail()
            ));
        }

        let mut server = RealGitea {
            name,
            version,
            url,
            log_dir,
            admin_token: String::new(),
            tokens: BTreeMap::new(),
            team_ids: BTreeMap::new(),
            api,
            dir,
        };
        server
            .setup_world()
            .map_err(|e| format!("setting up the shared world failed: {e}\n{}", log_tail()))?;
        Ok(server)
    }

    fn setup_world(&mut self) -> Result<(), String> {
        self.admin_token = self.create_token("root", &["all"])?;
        let version = self.api_admin("GET", "/version", None)?;
        let reported = version["version"].as_str().unwrap_or_default().to_owned();
        if !reported.starts_with(&self.version) {
            return Err(format!(
                "{} reports version `{reported}`, expected {}",
                self.name, self.version
            ));
        }
        self.api_admin(
            "POST",
            "/orgs",
            Some(json!({"username": ORG, "visibility": "public"})),
        )?;
        let units = [
            "repo.code",
            "repo.issues",
            "repo.pulls",
            "repo.releases",
            "repo.wiki",
            "repo.projects",
            "repo.actions",
        ];
        for (team, permission) in TEAMS {
            let units_map: serde_json::Map<String, Value> = units
                .iter()
                .map(|u| ((*u).to_owned(), json!(permission)))
                .collect();
            let created = self.api_admin(
                "POST",
                &format!("/orgs/{ORG}/teams"),
                Some(json!({
                    "name": team,
                    "permission": permission,
                    "includes_all_repositories": true,
                    "can_create_org_repo": false,
                    "units": units,
                    "units_map": units_map,
                })),
            )?;
            let id = created["id"]
                .as_i64()
                .ok_or_else(|| format!("team {team}: no id in {created}"))?;
            self.team_ids.insert((*team).to_owned(), id);
        }
        for (login, teams, role) in USERS {
            let token = self.create_account(login, teams, role.scopes())?;
            self.tokens.insert((*login).to_owned(), token);
        }
        Ok(())
    }

    /// A token for `login` with these scopes, created with the account's password.
    pub fn create_token(&self, login: &str, scopes: &[&str]) -> Result<String, String> {
        let name = format!("shipgate-{}", random_hex(10));
        let (status, _, body) = self.api.call(
            "POST",
            &format!("/api/v1/users/{login}/tokens"),
            Some(Auth::Basic(login, PASSWORD)),
            Some(&json!({"name": name, "scopes": scopes})),
        )?;
        if status != 201 {
            return Err(format!("creating a token for {login}: {status} {body}"));
        }
        body["sha1"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("token for {login}: no sha1 in {body}"))
    }

    /// Delete every token of `login` (revocation).
    pub fn revoke_tokens(&self, login: &str) {
        let as_user = |method: &str, path: String| {
            self.api
                .call(method, &path, Some(Auth::Basic(login, PASSWORD)), None)
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
        };
        let (status, _, body) = as_user("GET", format!("/api/v1/users/{login}/tokens"));
        assert_eq!(status, 200, "list tokens of {login}: {body}");
        for token in body.as_array().cloned().unwrap_or_default() {
            let id = token["id"].as_i64().expect("token id");
            let (status, _, body) = as_user("DELETE", format!("/api/v1/users/{login}/tokens/{id}"));
            assert_eq!(status, 204, "delete token {id} of {login}: {body}");
        }
    }

    /// A user in these teams with a token of these scopes; the token.
    fn create_account(
        &self,
        login: &str,
        teams: &[&str],
        scopes: &[&str],
    ) -> Result<String, String> {
        self.api_admin(
            "POST",
            "/admin/users",
            Some(json!({
                "username": login,
                "email": format!("{login}@example.com"),
                "password": PASSWORD,
                "must_change_password": false,
                "full_name": login,
            })),
        )?;
        for team in teams {
            let id = self.team_ids[*team];
            self.api_admin("PUT", &format!("/teams/{id}/members/{login}"), None)?;
        }
        self.create_token(login, scopes)
    }

    /// A new account of its own (for tests that revoke or break it) in these teams; its
    /// login and a token with these scopes.
    pub fn fresh_account(&self, prefix: &str, teams: &[&str], scopes: &[&str]) -> (String, String) {
        let login = format!("{prefix}-{}", random_hex(6));
        let token = self
            .create_account(&login, teams, scopes)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail()));
        (login, token)
    }

    /// The token of a shared-world account.
    #[track_caller]
    pub fn token(&self, login: &str) -> &str {
        self.tokens
            .get(login)
            .unwrap_or_else(|| panic!("no account {login} in the shared world"))
    }

    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    pub fn team_id(&self, team: &str) -> i64 {
        self.team_ids[team]
    }

    fn api_admin(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let (status, _, value) = self.api.call(
            method,
            &format!("/api/v1{path}"),
            Some(Auth::Token(&self.admin_token)),
            body.as_ref(),
        )?;
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(format!("{method} {path} as admin: {status} {value}"))
        }
    }

    /// One raw API call: `(status, headers, body)`. `token: None` is anonymous.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, BTreeMap<String, String>, Value) {
        self.api
            .call(
                method,
                &format!("/api/v1{path}"),
                token.map(Auth::Token),
                body.as_ref(),
            )
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log_tail()))
    }

    /// One raw call to any path of the server (not only `/api/v1`): `(status, body)`.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        auth: Option<Auth<'_>>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let (status, _, value) = self
            .api
            .call(method, path, auth, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log_tail()));
        (status, value)
    }

    /// A call that must succeed (2xx); its JSON body.
    #[track_caller]
    pub fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let (status, _, value) = self.call(method, path, Some(token), body);
        assert!(
            (200..300).contains(&status),
            "{method} {path} on {}: {status} {value}\n{}",
            self.name,
            self.log_tail()
        );
        value
    }

    /// A call made as the site admin that must succeed.
    #[track_caller]
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.ok(method, path, &self.admin_token.clone(), body)
    }

    /// The last lines of Gitea's own log, for failure messages.
    pub fn log_tail(&self) -> String {
        let mut text = String::new();
        for file in ["stdout.log"] {
            if let Ok(body) = std::fs::read_to_string(self.dir.join(file)) {
                let _ = writeln!(text, "--- {} {file} ---\n{}", self.name, tail(&body, 30));
            }
        }
        text
    }

    /// A fresh repository `acme/<prefix>-<n>` with `main` (a README) and `staging` at the
    /// same commit. No branch protection yet.
    pub fn repo(&self, prefix: &str) -> Repo<'_> {
        let name = format!("{prefix}-{}", random_hex(6));
        self.admin(
            "POST",
            &format!("/orgs/{ORG}/repos"),
            Some(json!({
                "name": name,
                "auto_init": true,
                "default_branch": "main",
                "readme": "Default",
                "private": false,
            })),
        );
        let repo = Repo {
            gitea: self,
            full: format!("{ORG}/{name}"),
        };
        repo.create_branch("staging", "main");
        repo
    }
}

/// One repository of a [`RealGitea`].
pub struct Repo<'g> {
    pub gitea: &'g RealGitea,
    /// `acme/name`
    pub full: String,
}

/// A file change for [`Repo::commit`].
pub enum Change<'a> {
    Create(&'a str, &'a str),
    Update(&'a str, &'a str),
    Delete(&'a str),
    /// `(from, to, content)`
    Rename(&'a str, &'a str, &'a str),
}

pub fn b64(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Repo<'_> {
    pub fn path(&self, rest: &str) -> String {
        format!("/repos/{}{rest}", self.full)
    }

    /// The bare repository on the server's disk (for hooks a test installs).
    pub fn gitea_repo_dir(&self) -> PathBuf {
        self.gitea
            .dir
            .join("repositories")
            .join(format!("{}.git", self.full.to_ascii_lowercase()))
    }

    /// `http://127.0.0.1:PORT/acme/name.git`
    pub fn clone_url(&self) -> String {
        format!("{}/{}.git", self.gitea.url, self.full)
    }

    pub fn create_branch(&self, new: &str, from: &str) {
        self.gitea.admin(
            "POST",
            &self.path("/branches"),
            Some(json!({"new_branch_name": new, "old_branch_name": from})),
        );
    }

    /// The tip of a branch.
    pub fn tip(&self, branch: &str) -> String {
        let body = self
            .gitea
            .admin("GET", &self.path(&format!("/branches/{branch}")), None);
        body["commit"]["id"]
            .as_str()
            .expect("branch commit id")
            .to_owned()
    }

    /// One commit on `branch` (created from `from` when it does not exist yet) with these
    /// changes, authored by `login` through the contents API; returns the commit SHA.
    pub fn commit(
        &self,
        login: &str,
        branch: &str,
        from: Option<&str>,
        message: &str,
        changes: &[Change<'_>],
    ) -> String {
        let files: Vec<Value> = changes
            .iter()
            .map(|c| match c {
                Change::Create(path, text) => json!({"operation": "create", "path": path, "content": b64(text)}),
                Change::Update(path, text) => {
                    json!({"operation": "update", "path": path, "content": b64(text), "sha": self.blob_sha(branch, path)})
                }
                Change::Delete(path) => json!({"operation": "delete", "path": path, "sha": self.blob_sha(branch, path)}),
                Change::Rename(old, new, text) => json!({
                    "operation": "update", "from_path": old, "path": new, "content": b64(text),
                    "sha": self.blob_sha(from.unwrap_or(branch), old),
                }),
            })
            .collect();
        let mut body = json!({"message": message, "files": files});
        match from {
            Some(from) => {
                body["branch"] = json!(from);
                body["new_branch"] = json!(branch);
            }
            None => body["branch"] = json!(branch),
        }
        let token = self.gitea.token(login).to_owned();
        let answer = self
            .gitea
            .ok("POST", &self.path("/contents"), &token, Some(body));
        answer["commit"]["sha"]
            .as_str()
            .expect("commit sha in the contents answer")
            .to_owned()
    }

    fn blob_sha(&self, branch: &str, path: &str) -> String {
        let body = self.gitea.admin(
            "GET",
            &self.path(&format!("/contents/{path}?ref={branch}")),
            None,
        );
        body["sha"].as_str().expect("blob sha").to_owned()
    }

    /// `login`'s PR `branch → main`: the branch made from main, one commit of `changes` on
    /// it, then the PR opened; its number.
    pub fn pr_from_new_branch(
        &self,
        login: &str,
        branch: &str,
        title: &str,
        changes: &[Change<'_>],
    ) -> u64 {
        self.create_branch(branch, "main");
        self.commit(login, branch, None, title, changes);
        self.open_pr(login, branch, "main", title)
    }

    /// Open a PR `head → base` as `login`; its number.
    pub fn open_pr(&self, login: &str, head: &str, base: &str, title: &str) -> u64 {
        let token = self.gitea.token(login).to_owned();
        let body = self.gitea.ok(
            "POST",
            &self.path("/pulls"),
            &token,
            Some(json!({"head": head, "base": base, "title": title, "body": "test"})),
        );
        body["number"].as_u64().expect("pr number")
    }

    /// The PR's head SHA as Gitea reports it now.
    pub fn pr_head(&self, number: u64) -> String {
        let body = self
            .gitea
            .admin("GET", &self.path(&format!("/pulls/{number}")), None);
        body["head"]["sha"].as_str().expect("head sha").to_owned()
    }

    /// Wait until Gitea's PR head is `sha` (pushes update PRs asynchronously).
    pub fn wait_pr_head(&self, number: u64, sha: &str) {
        let started = Instant::now();
        while self.pr_head(number) != sha {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "PR #{number} head never became {sha}\n{}",
                self.gitea.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait (up to 60 s) until `branch` is at `sha`: Gitea's scheduled merges land on their
    /// own time. `context` is added to the failure message.
    #[track_caller]
    pub fn wait_tip(&self, branch: &str, sha: &str, context: &str) {
        let started = Instant::now();
        while self.tip(branch) != sha {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "`{branch}` never reached {sha}: {context}\n{}",
                self.gitea.log_tail()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Names of the labels on an issue/PR.
    pub fn labels(&self, number: u64) -> Vec<String> {
        let body = self
            .gitea
            .admin("GET", &self.path(&format!("/issues/{number}/labels")), None);
        let mut names: Vec<String> = body
            .as_array()
            .expect("labels array")
            .iter()
            .filter_map(|l| l["name"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    /// Create a repo label; its id.
    pub fn create_label(&self, name: &str) -> i64 {
        let body = self.gitea.admin(
            "POST",
            &self.path("/labels"),
            Some(json!({"name": name, "color": "#00aa00"})),
        );
        body["id"].as_i64().expect("label id")
    }

    pub fn label_id(&self, name: &str) -> i64 {
        let body = self
            .gitea
            .admin("GET", &self.path("/labels?limit=50"), None);
        body.as_array()
            .expect("labels")
            .iter()
            .find(|l| l["name"] == name)
            .and_then(|l| l["id"].as_i64())
            .unwrap_or_else(|| panic!("no repo label {name}"))
    }

    /// `login` adds a label (by id) to a PR.
    pub fn add_label(&self, login: &str, number: u64, name: &str) {
        let id = self.label_id(name);
        let token = self.gitea.token(login).to_owned();
        self.gitea.ok(
            "POST",
            &self.path(&format!("/issues/{number}/labels")),
            &token,
            Some(json!({"labels": [id]})),
        );
    }

    /// `login` removes a label from a PR.
    pub fn remove_label(&self, login: &str, number: u64, name: &str) {
        let id = self.label_id(name);
        let token = self.gitea.token(login).to_owned();
        self.gitea.ok(
            "DELETE",
            &self.path(&format!("/issues/{number}/labels/{id}")),
            &token,
            None,
        );
    }

    pub fn comment(&self, login: &str, number: u64, body: &str) -> i64 {
        let token = self.gitea.token(login).to_owned();
        let answer = self.gitea.ok(
            "POST",
            &self.path(&format!("/issues/{number}/comments")),
            &token,
            Some(json!({"body": body})),
        );
        answer["id"].as_i64().expect("comment id")
    }

    /// A review by `login`: `event` is `APPROVED`, `REQUEST_CHANGES`, `COMMENT`, or
    /// `PENDING` (left unsubmitted). `comments` are inline code comments `(path, new line)`.
    pub fn review(&self, login: &str, number: u64, event: &str, comments: &[(&str, u64)]) -> i64 {
        let token = self.gitea.token(login).to_owned();
        let head = self.pr_head(number);
        let comments: Vec<Value> = comments
            .iter()
            .map(|(path, line)| json!({"path": path, "body": format!("note on {path}:{line}"), "new_position": line}))
            .collect();
        let answer = self.gitea.ok(
            "POST",
            &self.path(&format!("/pulls/{number}/reviews")),
            &token,
            Some(json!({"event": event, "body": format!("{event} by {login}"), "commit_id": head, "comments": comments})),
        );
        answer["id"].as_i64().expect("review id")
    }

    /// Dismiss a review (as the site admin).
    pub fn dismiss(&self, number: u64, review: i64) {
        self.gitea.admin(
            "POST",
            &self.path(&format!("/pulls/{number}/reviews/{review}/dismissals")),
            Some(json!({"message": "dismissed by the test"})),
        );
    }

    /// Every status on a SHA as `(context, state, creator, description)`, oldest first
    /// (Gitea's `highestindex` is `index ASC`: its names are the wrong way round).
    pub fn statuses(&self, sha: &str) -> Vec<(String, String, String, String)> {
        let mut rows = Vec::new();
        for page in 1..100 {
            let body = self.gitea.admin(
                "GET",
                &self.path(&format!(
                    "/statuses/{sha}?sort=highestindex&limit=50&page={page}"
                )),
                None,
            );
            let items = body.as_array().expect("statuses");
            if items.is_empty() {
                break;
            }
            for s in items {
                rows.push((
                    s["context"].as_str().unwrap_or_default().to_owned(),
                    s["status"].as_str().unwrap_or_default().to_owned(),
                    s["creator"]["login"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    s["description"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
        rows
    }

    /// The newest state per context on a SHA.
    pub fn latest_statuses(&self, sha: &str) -> BTreeMap<String, (String, String)> {
        let mut latest = BTreeMap::new();
        for (context, state, creator, _) in self.statuses(sha) {
            latest.insert(context, (state, creator));
        }
        latest
    }

    /// Protect `staging`: pushes only by these accounts.
    pub fn protect_staging(&self, allow: &[&str]) {
        self.gitea.admin(
            "POST",
            &self.path("/branch_protections"),
            Some(json!({
                "branch_name": "staging",
                "rule_name": "staging",
                "enable_push": true,
                "enable_push_whitelist": true,
                "push_whitelist_usernames": allow,
            })),
        );
    }

    /// Protect `main`: required status contexts, stale approvals dismissed.
    pub fn protect_main(&self, contexts: &[&str]) {
        self.gitea.admin(
            "POST",
            &self.path("/branch_protections"),
            Some(json!({
                "branch_name": "main",
                "rule_name": "main",
                "enable_push": false,
                "enable_status_check": true,
                "status_check_contexts": contexts,
                "dismiss_stale_approvals": true,
            })),
        );
    }
}

/// How a raw call authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    Token(&'a str),
    Basic(&'a str, &'a str),
    /// A registered runner: `x-runner-uuid` and `x-runner-token` (Gitea's runner API).
    Runner(&'a str, &'a str),
}

/// A small blocking HTTP client for setup and inspection (also of the fake, in parity).
pub struct Api {
    base: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Api {
    pub fn new(base: &str) -> Result<Api, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        Ok(Api {
            base: base.to_owned(),
            http,
            runtime,
        })
    }

    /// `(status, lower-cased headers, body)`: JSON, a string for a non-JSON body, `Null`
    /// for an empty one.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<Auth<'_>>,
        body: Option<&Value>,
    ) -> Result<(u16, BTreeMap<String, String>, Value), String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        match auth {
            Some(Auth::Token(token)) => {
                request = request.header("Authorization", format!("token {token}"));
            }
            Some(Auth::Basic(user, password)) => request = request.basic_auth(user, Some(password)),
            Some(Auth::Runner(uuid, token)) => {
                request = request
                    .header("x-runner-uuid", uuid)
                    .header("x-runner-token", token);
            }
            None => {}
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        self.runtime.block_on(async {
            let response = request.send().await.map_err(|e| format!("send: {e}"))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        v.to_str().unwrap_or("").to_owned(),
                    )
                })
                .collect();
            let bytes = response.bytes().await.map_err(|e| format!("body: {e}"))?;
            let value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
            };
            Ok((status, headers, value))
        })
    }
}

/// Run `git` with the given args in `dir`; panics with its output on failure.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Generate one `#[test]` per Gitea version for a scenario `fn(&RealGitea)`.
#[macro_export]
macro_rules! real_gitea_tests {
    ($($scenario:ident),* $(,)?) => {
        mod gitea_1_22_6 {
            $(
                #[test]
                fn $scenario() {
                    super::$scenario($crate::support::real_gitea::gitea("gitea-1.22.6"));
                }
            )*
        }
        mod gitea_1_27_3 {
            $(
                #[test]
                fn $scenario() {
                    super::$scenario($crate::support::real_gitea::gitea("gitea-1.27.3"));
                }
            )*
        }
    };
}

/// The rule for main that holds against a code writer (README: Trust model (measured)):
/// the gate contexts required, two approvals of the gate teams counted by Gitea itself,
/// stale approvals dismissed, rejected reviews blocking, the workflows and the config
/// protected.
pub fn secure_main_rule() -> Value {
    json!({
        "branch_name": "main",
        "rule_name": "main",
        "enable_push": false,
        "enable_status_check": true,
        "status_check_contexts": [
            "qa-review / approved (pull_request_target)",
            "security-review / approved (pull_request_target)",
        ],
        "required_approvals": 2,
        "enable_approvals_whitelist": true,
        "approvals_whitelist_teams": ["engineers", "managers", "executive", "qa", "security"],
        "dismiss_stale_approvals": true,
        "block_on_rejected_reviews": true,
        "protected_file_patterns": ".gitea/workflows/**;.gitea/shipgate.yml",
    })
}

// ---- helpers for `shipgate doctor` (added at the end to keep merges simple) ------------

impl Repo<'_> {
    /// A branch protection rule, created as the site admin (`CreateBranchProtectionOption`).
    pub fn protect(&self, rule: Value) {
        self.gitea
            .admin("POST", &self.path("/branch_protections"), Some(rule));
    }

    /// Make `login` a collaborator with this permission (`read`, `write` or `admin`).
    pub fn add_collaborator(&self, login: &str, permission: &str) {
        self.gitea.admin(
            "PUT",
            &self.path(&format!("/collaborators/{login}")),
            Some(json!({"permission": permission})),
        );
    }

    /// Create a file on `branch` as the site admin (works before the branch is protected).
    pub fn put_file(&self, branch: &str, path: &str, text: &str) {
        self.gitea.admin(
            "POST",
            &self.path(&format!("/contents/{path}")),
            Some(json!({"branch": branch, "content": b64(text), "message": format!("add {path}")})),
        );
    }
}
