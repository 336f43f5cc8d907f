//! the step script, run directly (as the runner would).

use super::*;

/// The step of action.yml: its `shell` and `run`, executed the way the runner does it (the
/// script written to a file, `{0}` replaced by its path) with the `env:` act would compute.
#[must_use]
pub(super) struct Step {
    pub(super) env: BTreeMap<String, String>,
}

pub(super) struct StepRun {
    pub(super) code: i32,
    pub(super) stdout: String,
    pub(super) stderr: String,
    pub(super) outputs: String,
    pub(super) elapsed: Duration,
}

impl Step {
    pub(super) fn new(action: &Path, server: &str, tool_cache: &Path) -> Step {
        let mut env = BTreeMap::new();
        for (key, value) in [
            ("INPUT_MODE", "version"),
            ("INPUT_TOKEN", BOT_TOKEN),
            ("INPUT_STATUS_TOKEN", ""),
            ("INPUT_SERVER_URL", server),
            ("INPUT_CONFIG", ""),
            ("INPUT_DRY_RUN", "false"),
            ("INPUT_PR", ""),
            ("INPUT_VERSION", ""),
            ("INPUT_BUILD_FROM_SOURCE", "false"),
            ("INPUT_DOWNLOAD_URL", ""),
            ("INPUT_ARGS", ""),
            ("SHIPGATE_ACTION_REF", "v1"),
            ("SHIPGATE_ACTION_REPOSITORY", ACTION_REPO),
            ("RUNNER_OS", "Linux"),
            ("RUNNER_ARCH", "X64"),
        ] {
            env.insert(key.to_owned(), value.to_owned());
        }
        let action = action.to_owned();
        env.insert(
            "GITHUB_ACTION_PATH".into(),
            action.to_string_lossy().into_owned(),
        );
        env.insert(
            "SHIPGATE_ACTION_PATH".into(),
            action.to_string_lossy().into_owned(),
        );
        env.insert(
            "RUNNER_TOOL_CACHE".into(),
            tool_cache.to_string_lossy().into_owned(),
        );
        Step { env }
    }

    pub(super) fn set(mut self, key: &str, value: &str) -> Step {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    pub(super) fn input(self, name: &str, value: &str) -> Step {
        let key = format!("INPUT_{}", name.to_ascii_uppercase().replace('-', "_"));
        self.set(&key, value)
    }

    pub(super) fn run(self) -> StepRun {
        let step = action_step();
        let scratch = tempdir("step");
        let script = scratch.path().join("step.sh");
        fs::write(&script, &step.run).expect("write the step script");
        let outputs = scratch.path().join("output.txt");
        fs::write(&outputs, "").expect("create GITHUB_OUTPUT");
        let mut words = step.shell.split_whitespace().map(|w| {
            if w == "{0}" {
                script.to_string_lossy().into_owned()
            } else {
                w.to_owned()
            }
        });
        let program = words.next().expect("a shell");
        let mut command = Command::new(program);
        command
            .args(words)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", scratch.path())
            .env("GITHUB_OUTPUT", &outputs)
            .env("GITHUB_ACTIONS", "true")
            .envs(&self.env)
            .current_dir(scratch.path())
            .stdin(Stdio::null());
        let started = Instant::now();
        let output = command.output().expect("run the step");
        let elapsed = started.elapsed();
        let run = StepRun {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            outputs: fs::read_to_string(&outputs).unwrap_or_default(),
            elapsed,
        };
        // `::add-mask::<token>` is the one place a token may appear: the runner consumes it.
        for text in [&run.stdout, &run.stderr, &run.outputs] {
            let leaked = text
                .lines()
                .any(|l| l.contains(BOT_TOKEN) && l != format!("::add-mask::{BOT_TOKEN}"));
            assert!(!leaked, "the token appears in the step's output:\n{text}");
        }
        run
    }
}

impl StepRun {
    #[track_caller]
    pub(super) fn status(&self, code: i32) -> &StepRun {
        assert_eq!(
            self.code, code,
            "step exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The one `::error` line the action printed.
    #[track_caller]
    pub(super) fn error(&self) -> &str {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("::error"))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one ::error line:\n{}",
            self.stderr
        );
        lines[0]
    }
}

pub(super) struct StepSpec {
    pub(super) shell: String,
    pub(super) run: String,
}

pub(super) fn action_step() -> StepSpec {
    let action = yaml(&Path::new(ROOT).join("action.yml"));
    let steps = action["runs"]["steps"]
        .as_array()
        .expect("action.yml has runs.steps");
    assert_eq!(steps.len(), 1, "action.yml has one step");
    StepSpec {
        shell: steps[0]["shell"].as_str().expect("shell").to_owned(),
        run: steps[0]["run"].as_str().expect("run").to_owned(),
    }
}

#[track_caller]
pub(super) fn yaml(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}
