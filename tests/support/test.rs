//! Harness: `Test`, a builder that runs the real `shipgate` binary in a temp dir with a
//! cleared environment and checks its exit code, printing everything on a mismatch.
//!
//! Layout of the temp dir: `work/` (the cwd unless `.current_dir`), `home/` (HOME),
//! `runner/` (event payload, config, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files).
//! Every run asserts that no token given to the builder (`.token`, `.status_token`,
//! `.secret`, or an `.env` whose name contains `TOKEN`) appears in stdout, stderr, the
//! step summary or the outputs — except in the `::add-mask::<token>` line itself.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::fake_gitea::FakeGitea;

/// How long a run may take before it is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A run of the binary, being set up.
#[must_use]
pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<OsString>,
    env: BTreeMap<String, String>,
    removed: Vec<String>,
    secrets: Vec<String>,
    current_dir: Option<PathBuf>,
    config: Option<String>,
    stdin: Option<Vec<u8>>,
}

/// What a finished run produced.
#[derive(Debug)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    /// `GITHUB_OUTPUT` parsed (heredoc and `k=v` forms); empty when it was not set.
    pub outputs: BTreeMap<String, String>,
    /// The raw `GITHUB_OUTPUT` file.
    pub outputs_raw: String,
    /// `GITHUB_STEP_SUMMARY`.
    pub summary: String,
    /// The temp dir's `work/` directory (the default cwd), kept alive with `Output`.
    pub work: PathBuf,
    pub elapsed: Duration,
    _dir: tempfile::TempDir,
}

impl Output {
    /// stdout parsed as exactly one JSON object (for `--format json`).
    #[track_caller]
    pub fn json(&self) -> Value {
        let text = self.stdout.trim_end_matches('\n');
        assert!(
            !text.is_empty() && !text.contains('\n'),
            "stdout is not exactly one line of JSON:\n{}",
            self.stdout
        );
        let value: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout));
        assert!(
            value.is_object(),
            "stdout is JSON but not an object: {value}"
        );
        value
    }

    /// The API requests the run made, from its `-v` log (`forge request` lines), as
    /// `METHOD /path` with the host and team ids taken out, sorted (the reads of one step
    /// run concurrently).
    pub fn api_requests(&self) -> Vec<String> {
        let mut requests: Vec<String> = self
            .stderr
            .lines()
            .filter(|l| l.contains("forge request"))
            .filter_map(|l| l.split("request=").nth(1))
            .map(|r| {
                let r = r.split(" attempt=").next().unwrap_or(r);
                let (method, url) = r.split_once(' ').unwrap_or((r, ""));
                let path = url.split_once("/api/v1").map_or(url, |(_, p)| p);
                let path: Vec<&str> = path
                    .split('/')
                    .enumerate()
                    .map(|(i, seg)| {
                        if i == 2 && path.starts_with("/teams/") {
                            "{id}"
                        } else {
                            seg
                        }
                    })
                    .collect();
                format!("{method} {}", path.join("/"))
            })
            .collect();
        requests.sort();
        requests
    }

    /// The `::error …` lines on stderr.
    pub fn annotations(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("::error"))
            .collect()
    }
}

impl Default for Test {
    fn default() -> Self {
        Test::new()
    }
}

impl Test {
    pub fn new() -> Test {
        let dir = tempfile::Builder::new()
            .prefix("shipgate-test-")
            .tempdir()
            .expect("create a temp dir for the run");
        for sub in ["work", "home", "runner"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create temp subdir");
        }
        let mut env = BTreeMap::new();
        env.insert("SHIPGATE_BACKOFF_MS".to_owned(), "5".to_owned());
        env.insert("SHIPGATE_TIMEOUT".to_owned(), "2".to_owned());
        let runner = dir.path().join("runner");
        env.insert(
            "GITHUB_OUTPUT".to_owned(),
            runner.join("output").display().to_string(),
        );
        env.insert(
            "GITHUB_STEP_SUMMARY".to_owned(),
            runner.join("summary.md").display().to_string(),
        );
        Test {
            dir,
            args: Vec::new(),
            env,
            removed: Vec::new(),
            secrets: Vec::new(),
            current_dir: None,
            config: None,
            stdin: None,
        }
    }

    /// The temp dir root (`work/`, `home/`, `runner/` live under it).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The default working directory, `work/`.
    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Test {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        if key.contains("TOKEN") && !value.is_empty() {
            self.secrets.push(value.to_owned());
        }
        self.removed.retain(|k| k != key);
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Do not set this variable (e.g. `GITHUB_OUTPUT`, or a default knob).
    pub fn env_remove(mut self, key: &str) -> Test {
        self.env.remove(key);
        self.removed.push(key.to_owned());
        self
    }

    /// Another string that must never appear in the run's output.
    pub fn secret(mut self, secret: &str) -> Test {
        self.secrets.push(secret.to_owned());
        self
    }

    /// `SHIPGATE_SERVER` = the fake's URL.
    pub fn forge(self, fake: &FakeGitea) -> Test {
        let url = fake.url();
        self.env("SHIPGATE_SERVER", &url)
    }

    /// `SHIPGATE_SERVER` = a real server's URL, with timeouts for a real server's pace.
    pub fn server(self, url: &str) -> Test {
        self.env("SHIPGATE_SERVER", url)
            .env("SHIPGATE_TIMEOUT", "60")
            .env("SHIPGATE_BACKOFF_MS", "200")
    }

    /// `SHIPGATE_REPO`.
    pub fn repo(self, repo: &str) -> Test {
        self.env("SHIPGATE_REPO", repo)
    }

    /// `SHIPGATE_TOKEN`.
    pub fn token(self, token: &str) -> Test {
        self.env("SHIPGATE_TOKEN", token)
    }

    /// `SHIPGATE_STATUS_TOKEN`.
    pub fn status_token(self, token: &str) -> Test {
        self.env("SHIPGATE_STATUS_TOKEN", token)
    }

    /// Write the event payload and set `GITHUB_EVENT_NAME`/`GITHUB_EVENT_PATH`.
    pub fn event(self, name: &str, payload: Value) -> Test {
        let path = self.dir.path().join("runner").join("event.json");
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&payload).expect("payload serializes"),
        )
        .expect("write the event payload");
        let path = path.display().to_string();
        self.env("GITHUB_EVENT_NAME", name)
            .env("GITHUB_EVENT_PATH", &path)
    }

    /// Write a config file and pass `--config PATH` (before the subcommand).
    pub fn config(mut self, text: &str) -> Test {
        self.config = Some(text.to_owned());
        self
    }

    /// Run in this directory instead of `work/`.
    pub fn current_dir(mut self, path: impl AsRef<Path>) -> Test {
        self.current_dir = Some(path.as_ref().to_owned());
        self
    }

    /// Write a file relative to `work/`, creating parent directories.
    pub fn write(self, path: &str, text: &str) -> Test {
        let full = self.work_dir().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(full, text).expect("write a work file");
        self
    }

    pub fn stdin(mut self, bytes: &[u8]) -> Test {
        self.stdin = Some(bytes.to_vec());
        self
    }

    // ---- endings ---------------------------------------------------------------------

    /// Exit 0.
    #[track_caller]
    pub fn success(self) -> Output {
        self.status(0)
    }

    /// Exit 1: verified, and the answer is no.
    #[track_caller]
    pub fn refused(self) -> Output {
        self.status(1)
    }

    /// Exit 2: could not verify.
    #[track_caller]
    pub fn unverified(self) -> Output {
        self.status(2)
    }

    /// Exit with `expected`; panics showing stdout/stderr otherwise.
    #[track_caller]
    pub fn status(self, expected: i32) -> Output {
        let output = self.run();
        if output.status != expected {
            panic!(
                "exit status: expected {expected}, got {}\n{}",
                output.status,
                describe(&output)
            );
        }
        output
    }

    /// Run and return whatever happened (the token check still applies).
    #[track_caller]
    pub fn run(self) -> Output {
        let Test {
            dir,
            mut args,
            env,
            removed,
            secrets,
            current_dir,
            config,
            stdin,
        } = self;
        if let Some(text) = config {
            let path = dir.path().join("runner").join("shipgate.yml");
            std::fs::write(&path, text).expect("write the config");
            args.splice(0..0, [OsString::from("--config"), path.into_os_string()]);
        }
        let work = dir.path().join("work");
        let mut command = Command::new(env!("CARGO_BIN_EXE_shipgate"));
        command
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path().join("home"))
            .current_dir(current_dir.as_deref().unwrap_or(&work))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &env {
            if !removed.contains(key) {
                command.env(key, value);
            }
        }
        let started = Instant::now();
        let mut child = command.spawn().expect("spawn the shipgate binary");
        if let Some(bytes) = stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().expect("piped stdin");
            pipe.write_all(&bytes).expect("write stdin");
        }
        let mut stdout_pipe = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let out_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout_pipe.read_to_end(&mut buf);
            buf
        });
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut buf);
            buf
        });
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for shipgate") {
                break status;
            }
            if started.elapsed() > RUN_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("shipgate {args:?} ran longer than {RUN_TIMEOUT:?}; killed");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = started.elapsed();
        let stdout = out_reader.join().expect("stdout reader");
        let stderr = err_reader.join().expect("stderr reader");
        let read = |name: &str| {
            env.get(name)
                .filter(|_| !removed.iter().any(|r| r == name))
                .and_then(|path| std::fs::read_to_string(path).ok())
                .unwrap_or_default()
        };
        let outputs_raw = read("GITHUB_OUTPUT");
        let summary = read("GITHUB_STEP_SUMMARY");
        let output = Output {
            // A signal (no code) is reported as -1 so it never equals an expected code.
            status: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            outputs: parse_outputs(&outputs_raw),
            outputs_raw,
            summary,
            work,
            elapsed,
            _dir: dir,
        };
        assert_no_secrets(&output, &secrets);
        output
    }
}

fn describe(output: &Output) -> String {
    format!(
        "--- stdout ---\n{}--- stderr ---\n{}--- outputs ---\n{}--- summary ---\n{}",
        output.stdout, output.stderr, output.outputs_raw, output.summary
    )
}

/// No secret anywhere but in its own `::add-mask::` line.
#[track_caller]
fn assert_no_secrets(output: &Output, secrets: &[String]) {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let mask_line = format!("::add-mask::{secret}");
        let stderr: String = output
            .stderr
            .lines()
            .filter(|line| *line != mask_line)
            .collect::<Vec<_>>()
            .join("\n");
        for (name, text) in [
            ("stdout", output.stdout.as_str()),
            ("stderr", stderr.as_str()),
            ("GITHUB_STEP_SUMMARY", output.summary.as_str()),
            ("GITHUB_OUTPUT", output.outputs_raw.as_str()),
        ] {
            assert!(
                !text.contains(secret.as_str()),
                "a token leaked into {name}\n{}",
                describe(output)
            );
        }
    }
}

/// Parse `GITHUB_OUTPUT`: `key<<DELIM` … `DELIM` blocks and `key=value` lines. Panics on
/// anything else, so a malformed file fails the test.
#[track_caller]
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((key, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            loop {
                let next = lines.next().unwrap_or_else(|| {
                    panic!("GITHUB_OUTPUT: `{key}` has no closing `{delimiter}`:\n{text}")
                });
                if next == delimiter {
                    break;
                }
                value.push(next);
            }
            outputs.insert(key.to_owned(), value.join("\n"));
        } else if let Some((key, value)) = line.split_once('=') {
            outputs.insert(key.to_owned(), value.to_owned());
        } else {
            panic!("GITHUB_OUTPUT: malformed line `{line}`:\n{text}");
        }
    }
    outputs
}
