//! The pure half of `shipgate doctor`: facts about a repository's setup → checks, each
//! ✓ / ✗ / ? with what was found and the exact fix. No I/O here: [`super::gather`] reads.
//!
//! Fail closed: a fact that could not be read makes its check `?`, never ✓.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::{self, Config};
use crate::forge::{Branch, BranchProtection, Permission, Team};

/// Which mode's needs to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    Sync,
    Tier,
    ReviewFire,
    Promote,
    All,
}

impl Scope {
    /// The modes this scope covers, in the order the checks are printed.
    pub fn modes(self) -> &'static [Scope] {
        match self {
            Scope::Sync => &[Scope::Sync],
            Scope::Tier => &[Scope::Tier],
            Scope::ReviewFire => &[Scope::ReviewFire],
            Scope::Promote => &[Scope::Promote],
            Scope::All => &[Scope::Sync, Scope::Tier, Scope::ReviewFire, Scope::Promote],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Sync => "sync",
            Scope::Tier => "tier",
            Scope::ReviewFire => "review-fire",
            Scope::Promote => "promote",
            Scope::All => "all",
        }
    }
}

/// A check's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// ✓ verified.
    Pass,
    /// ✗ verified, and wrong.
    Fail,
    /// ? could not be checked.
    Unknown,
}

impl State {
    pub fn symbol(self) -> &'static str {
        match self {
            State::Pass => "✓",
            State::Fail => "✗",
            State::Unknown => "?",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pass => "pass",
            State::Fail => "fail",
            State::Unknown => "unknown",
        }
    }
}

/// One line of the doctor's report. `id` is stable (documented in the README).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub id: String,
    /// `common`, `sync`, `tier` or `review-fire`.
    pub mode: &'static str,
    pub state: State,
    pub found: String,
    /// Empty when the check passed.
    pub fix: String,
}

fn check(
    id: &str,
    mode: &'static str,
    state: State,
    found: impl Into<String>,
    fix: impl Into<String>,
) -> Check {
    Check {
        id: id.to_owned(),
        mode,
        state,
        found: found.into(),
        fix: if state == State::Pass {
            String::new()
        } else {
            fix.into()
        },
    }
}

/// Exit code of a doctor run: 0 all ✓, 1 any ✗, 2 any `?` and no ✗.
pub fn exit_code(checks: &[Check]) -> i32 {
    if checks.iter().any(|c| c.state == State::Fail) {
        1
    } else if checks.iter().any(|c| c.state == State::Unknown) {
        2
    } else {
        0
    }
}

/// What a read gave: the value, a verified refusal (401/403/404: a finding), or nothing
/// trustworthy (timeout, 5xx, bad JSON: could not check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen<T> {
    Yes(T),
    Refused(String),
    Unknown(String),
}

impl<T> Seen<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Seen::Yes(v) => Some(v),
            _ => None,
        }
    }

    /// A fact read off this one: `f` of the value; a refusal or an unknown stays what it is.
    pub fn then<U>(&self, f: impl FnOnce(&T) -> Seen<U>) -> Seen<U> {
        match self {
            Seen::Yes(v) => f(v),
            Seen::Refused(why) => Seen::Refused(why.clone()),
            Seen::Unknown(why) => Seen::Unknown(why.clone()),
        }
    }
}

/// The config on the default branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigFact {
    /// No file: the built-in defaults apply.
    Absent,
    /// `--config` given, or the file on the default branch: valid.
    Valid { origin: String, config: Box<Config> },
    /// Does not parse or validate.
    Invalid { origin: String, message: String },
    /// Could not be read.
    Unreadable(String),
}

/// What one token proved by harmless reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFacts {
    /// `SHIPGATE_TOKEN` or `SHIPGATE_STATUS_TOKEN`.
    pub var: &'static str,
    pub present: bool,
    /// `GET /user` (read:user): the account's login.
    pub login: Seen<String>,
    /// `GET /repos/{o}/{r}` (read:repository): the account's permissions.
    pub repo: Seen<Permission>,
    /// `GET /repos/{o}/{r}/labels` (read:issue): the label names.
    pub labels: Seen<Vec<String>>,
    /// `GET /orgs/{org}/teams` (read:organization): the teams it sees.
    pub teams: Seen<Vec<Team>>,
    /// An authenticated receive-pack advertisement (write:repository and code write).
    pub push: Seen<()>,
    /// The token's scopes as the server listed them in a missing-scope 403 of a harmless
    /// read (`GET /notifications/new`); newer Gitea only.
    pub disclosed: Seen<Vec<String>>,
}

impl TokenFacts {
    /// A token that is not set: nothing was read with it.
    pub fn absent(var: &'static str) -> TokenFacts {
        let why = || format!("`{var}` is not set");
        TokenFacts {
            var,
            present: false,
            login: Seen::Unknown(why()),
            repo: Seen::Unknown(why()),
            labels: Seen::Unknown(why()),
            teams: Seen::Unknown(why()),
            push: Seen::Unknown(why()),
            disclosed: Seen::Unknown(why()),
        }
    }
}

/// A membership probe of the read token's own account in a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The probe answered (member or not): the account may probe this team.
    Answered,
    /// 403 "Must be a team member": the account may not probe it.
    Forbidden(String),
    Unknown(String),
}

/// One workflow file on the default branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    pub path: String,
    pub text: String,
}

/// Everything the doctor read, before anything is decided.
#[derive(Debug, Clone)]
pub struct Facts {
    /// `owner/name`.
    pub repo: String,
    /// The org owning the teams (config, else the repository owner).
    pub org: String,
    pub server_version: Seen<String>,
    pub default_branch: Seen<String>,
    pub config: ConfigFact,
    /// The workflow files found on the default branch (the examples' names and the gates' `workflow`).
    pub workflows: Seen<Vec<Workflow>>,
    /// Branch protection rules (readable with repository admin only).
    pub protections: Seen<Vec<BranchProtection>>,
    pub read: TokenFacts,
    pub status: TokenFacts,
    /// Whether the two tokens are the same string (no account needed to tell).
    pub same_token: bool,
    /// Per team name, the read token's probe of its own membership.
    pub probes: BTreeMap<String, Probe>,
    /// Per shipgate `uses:` string, what its pinned ref holds.
    pub pins: BTreeMap<String, Seen<Pin>>,
    /// `GET /repos/{o}/{r}/branches/{b}` with SHIPGATE_TOKEN, for sync's and promote's
    /// target branches: readable without admin, and the server itself says whether the
    /// token's account may push or merge there (allowlisted teams included).
    pub branches: BTreeMap<String, Seen<Branch>>,
    /// The repository's `allow_fast_forward_only_merge` (promote's pull-request merge).
    pub fast_forward_only: Seen<bool>,
    /// With `review.merge` set: per review branch, whether the status token's account may
    /// merge into it (`user_can_merge` of `GET …/branches/{b}` with that token).
    pub status_can_merge: BTreeMap<String, Seen<bool>>,
}

/// What the pinned ref of the action repository holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// `dist/SHA256SUMS` at the ref; `None`: no such file.
    pub sums: Option<String>,
    /// `dist/VERSION` at the ref.
    pub version: Option<String>,
}

/// One shipgate step of a workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub uses: String,
    pub mode: String,
    /// The step's `version` input.
    pub version: Option<String>,
    /// The step's `args` input.
    pub args: Option<String>,
    /// The step's `token` input, as written (`${{ secrets.NAME }}`).
    pub token: Option<String>,
    /// The step's `status-token` input, as written.
    pub status_token: Option<String>,
}

/// `NAME` of a `${{ secrets.NAME }}` input (Gitea's secret names are case-insensitive:
/// upper-cased); `None` for anything else.
pub fn secret_name(input: &str) -> Option<String> {
    let inner = input.trim().strip_prefix("${{")?.strip_suffix("}}")?.trim();
    let (scope, name) = inner.split_once('.')?;
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (scope.eq_ignore_ascii_case("secrets") && valid).then(|| name.to_ascii_uppercase())
}

/// The step's `args` name this mode (`--mode M` or `--mode=M`): a doctor step's scope.
fn args_mode(step: &Step) -> Option<String> {
    let args = step.args.as_deref()?;
    let words: Vec<&str> = args.split_whitespace().collect();
    words
        .iter()
        .enumerate()
        .find_map(|(i, w)| match w.strip_prefix("--mode=") {
            Some(mode) => Some(mode.to_owned()),
            None if *w == "--mode" => words.get(i + 1).map(|m| (*m).to_owned()),
            None => None,
        })
}

/// How a step's token input reads in a finding: `secrets.NAME`, the expression as written,
/// or `nothing`.
fn token_text(input: Option<&str>) -> String {
    match input.map(str::trim).filter(|t| !t.is_empty()) {
        None => "nothing".into(),
        Some(text) => {
            secret_name(text).map_or_else(|| format!("`{text}`"), |n| format!("`secrets.{n}`"))
        }
    }
}

/// `https://host[:port]/owner/name[/path]@ref` → `(https://host[:port], owner/name, ref)`.
pub fn parse_uses(uses: &str) -> Option<(String, String, String)> {
    let (scheme, rest) = uses.split_once("://")?;
    let (location, git_ref) = rest.rsplit_once('@')?;
    let mut parts = location.split('/');
    let host = parts.next().filter(|h| !h.is_empty())?;
    let owner = parts.next().filter(|o| !o.is_empty())?;
    let name = parts.next().filter(|n| !n.is_empty())?;
    if git_ref.is_empty() {
        return None;
    }
    Some((
        format!("{scheme}://{host}"),
        format!("{owner}/{name}"),
        git_ref.to_owned(),
    ))
}

/// The version the action downloads for this step (its `version` input, a full `vX.Y.Z`
/// ref, else `dist/VERSION` at the ref), as `dist/action.sh` resolves it.
fn pinned_version(step: &Step, git_ref: &str, pin: &Pin) -> Option<String> {
    if let Some(v) = step.version.as_ref().filter(|v| !v.trim().is_empty()) {
        return Some(v.trim().trim_start_matches('v').to_owned());
    }
    let full = git_ref.strip_prefix('v').filter(|v| {
        let parts: Vec<&str> = v.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    if let Some(v) = full {
        return Some(v.to_owned());
    }
    pin.version
        .as_ref()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl Facts {
    fn config(&self) -> Option<Config> {
        match &self.config {
            ConfigFact::Absent => Some(Config::default()),
            ConfigFact::Valid { config, .. } => Some((**config).clone()),
            ConfigFact::Invalid { .. } | ConfigFact::Unreadable(_) => None,
        }
    }

    fn branch(&self) -> String {
        self.default_branch
            .ok()
            .cloned()
            .unwrap_or_else(|| "the default branch".to_owned())
    }
}

/// What a check that depends on the config says when the config cannot be used.
const NO_CONFIG: &str = "the config is invalid or unreadable, so what it names cannot be checked";
const NO_CONFIG_FIX: &str = "fix check `config` first";

/// Decide every check for these modes.
pub fn decide(facts: &Facts, scope: Scope) -> Vec<Check> {
    let mut checks = vec![config_check(facts), server_check(facts)];
    for mode in scope.modes() {
        match mode {
            Scope::Sync => sync_checks(facts, &mut checks),
            Scope::Tier => tier_checks(facts, &mut checks),
            Scope::ReviewFire => review_checks(facts, &mut checks),
            Scope::Promote => promote_checks(facts, &mut checks),
            Scope::All => {}
        }
    }
    checks
}

fn config_check(facts: &Facts) -> Check {
    let branch = facts.branch();
    let path = config::DEFAULT_PATH;
    match &facts.config {
        ConfigFact::Absent => check(
            "config",
            "common",
            State::Pass,
            format!("no `{path}` on `{branch}`: the built-in defaults apply"),
            "",
        ),
        ConfigFact::Valid { origin, .. } => check(
            "config",
            "common",
            State::Pass,
            format!("`{origin}` parses and validates"),
            "",
        ),
        ConfigFact::Invalid { origin, message } => check(
            "config",
            "common",
            State::Fail,
            format!("`{origin}` is invalid: {message}"),
            format!(
                "fix `{path}` on `{branch}`; `shipgate config check {path}` names each problem's line and column, `shipgate config default` prints every key"
            ),
        ),
        ConfigFact::Unreadable(why) => check(
            "config",
            "common",
            State::Unknown,
            format!("`{path}` on `{branch}` could not be read: {why}"),
            "give SHIPGATE_TOKEN read:repository on this repository and re-run",
        ),
    }
}

/// `1.22.6`, `1.27.3+dev-12`, Forgejo's `11.0.1+gitea-1.22.0` → the Gitea `(major, minor, patch)`.
pub fn gitea_version(text: &str) -> Option<(u32, u32, u32)> {
    let text = text.split_once("+gitea-").map_or(text, |(_, g)| g);
    let core = text.split(['+', '-', ' ']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

fn server_check(facts: &Facts) -> Check {
    let version = match &facts.server_version {
        Seen::Yes(v) => v.clone(),
        Seen::Refused(why) | Seen::Unknown(why) => {
            return check(
                "server",
                "common",
                State::Unknown,
                format!("the server's version could not be read: {why}"),
                "check --server (GITHUB_SERVER_URL) and that `GET /api/v1/version` answers",
            )
        }
    };
    let Some(parsed) = gitea_version(&version) else {
        return check(
            "server",
            "common",
            State::Unknown,
            format!("version `{version}` is not one shipgate can read"),
            "report the version string; the feature checks below assume nothing",
        );
    };
    let mut lacks = Vec::new();
    if parsed < (1, 22, 3) {
        lacks.push("PR file renames without their old path (tier cannot verify a rename)");
    }
    if parsed < (1, 24, 0) {
        lacks.push("workflow dispatch (`review.gates[].dispatch`)");
    }
    if parsed < (1, 27, 0) {
        lacks.push("job summaries (the verdict is in the text log)");
        lacks.push("pushes to protected branches with the automatic token (sync needs a personal access token)");
    }
    let found = if lacks.is_empty() {
        format!("Gitea {version}: nothing this setup uses is missing")
    } else {
        format!("Gitea {version}, which lacks: {}", lacks.join("; "))
    };
    let dispatch: Vec<String> = facts
        .config()
        .map(|c| {
            c.review
                .gates
                .iter()
                .filter(|g| g.dispatch.is_some())
                .map(|g| g.name.clone())
                .collect()
        })
        .unwrap_or_default();
    if parsed < (1, 24, 0) && !dispatch.is_empty() {
        check(
            "server",
            "common",
            State::Fail,
            format!("{found}; but gate(s) {} set `dispatch`", ticks(&dispatch)),
            "remove `dispatch` from those gates in .gitea/shipgate.yml, or upgrade Gitea to 1.24 or later",
        )
    } else {
        check("server", "common", State::Pass, found, "")
    }
}

// ---- workflows ------------------------------------------------------------------------

/// What a workflow file says, for the checks: its triggers and its shipgate steps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkflowShape {
    pub triggers: Vec<String>,
    /// `(uses, mode)` of each step whose `uses:` names shipgate.
    pub steps: Vec<Step>,
}

/// Read a workflow's triggers and shipgate steps. `Err` when it is not a workflow.
pub fn workflow_shape(text: &str) -> Result<WorkflowShape, String> {
    let doc: Value = serde_saphyr::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let map = doc.as_object().ok_or("the document is not a mapping")?;
    let on = map
        .get("on")
        .or_else(|| map.get("true"))
        .ok_or("it has no `on:` key")?;
    let triggers = match on {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Value::Object(events) => events.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let mut steps = Vec::new();
    for job in map
        .get("jobs")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|j| j.values())
    {
        for step in job
            .get("steps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(uses) = step.get("uses").and_then(Value::as_str) else {
                continue;
            };
            // Any copy of the action: its repository's name contains `shipgate`.
            let repo_part = uses.split('@').next().unwrap_or(uses);
            if !repo_part.contains("shipgate") {
                continue;
            }
            let mode = step
                .get("with")
                .and_then(|w| w.get("mode"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let input = |name: &str| {
                step.get("with")
                    .and_then(|w| w.get(name))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            steps.push(Step {
                uses: uses.to_owned(),
                mode,
                version: input("version"),
                args: input("args"),
                token: input("token"),
                status_token: input("status-token"),
            });
        }
    }
    Ok(WorkflowShape { triggers, steps })
}

fn workflow_check(facts: &Facts, mode: Scope) -> Check {
    let id = format!("{}.workflow", mode.as_str());
    let m = mode.as_str();
    let branch = facts.branch();
    let example = match mode {
        Scope::Sync => "auto-sync.yml",
        Scope::Tier => "auto-tier.yml",
        Scope::ReviewFire | Scope::All => "review-fire.yml",
        Scope::Promote => "auto-promote.yml",
    };
    let workflows = match &facts.workflows {
        Seen::Yes(w) => w,
        Seen::Refused(why) | Seen::Unknown(why) => {
            return check(
                &id,
                m,
                State::Unknown,
                format!("the workflows on `{branch}` could not be listed: {why}"),
                "give SHIPGATE_TOKEN read:repository and re-run",
            )
        }
    };
    let mut matching = Vec::new();
    let mut unreadable = Vec::new();
    for w in workflows {
        match workflow_shape(&w.text) {
            Ok(shape) => {
                if shape.steps.iter().any(|step| step.mode == m) {
                    matching.push((w.path.clone(), shape));
                }
            }
            Err(why) => unreadable.push(format!("`{}` ({why})", w.path)),
        }
    }
    if matching.is_empty() {
        let also = if unreadable.is_empty() {
            String::new()
        } else {
            format!("; not workflows: {}", unreadable.join(", "))
        };
        return check(
            &id,
            m,
            State::Fail,
            format!("no workflow on `{branch}` runs shipgate with `mode: {m}`{also}"),
            format!("copy examples/{example} to .gitea/workflows/{example} on `{branch}`"),
        );
    }
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let mut unknown = Vec::new();
    let mut pinned = Vec::new();
    let mut passes = Vec::new();
    for (path, shape) in &matching {
        let has = |t: &str| shape.triggers.iter().any(|x| x == t);
        match mode {
            Scope::Tier | Scope::ReviewFire => {
                if !has("pull_request_target") {
                    problems.push(format!("`{path}` has no `pull_request_target` trigger"));
                    fixes.push(format!("add `pull_request_target:` under `on:` in `{path}` (as in examples/{example})"));
                }
                if has("pull_request") {
                    problems.push(format!(
                        "`{path}` triggers on `pull_request`, which runs without secrets for fork PRs"
                    ));
                    fixes.push(format!(
                        "replace `pull_request:` with `pull_request_target:` in `{path}`"
                    ));
                }
                if mode == Scope::ReviewFire && !has("pull_request_review") {
                    problems.push(format!(
                        "`{path}` has no `pull_request_review` trigger: approvals fire nothing"
                    ));
                    fixes.push(format!(
                        "add `pull_request_review:` (no `types:`) under `on:` in `{path}`"
                    ));
                }
            }
            Scope::Promote => {
                if !["schedule", "workflow_run", "push"].iter().any(|t| has(t)) {
                    problems.push(format!(
                        "`{path}` has no `schedule`, `workflow_run` or `push` trigger: nothing promotes but a hand"
                    ));
                    fixes.push(format!(
                        "add `schedule: [{{cron: \"*/15 * * * *\"}}]` under `on:` in `{path}` (as in examples/{example})"
                    ));
                }
            }
            Scope::Sync | Scope::All => {
                if !has("push") {
                    problems.push(format!("`{path}` has no `push` trigger"));
                    fixes.push(format!(
                        "add `push: {{branches: [main]}}` under `on:` in `{path}`"
                    ));
                }
            }
        }
        for step in shape.steps.iter().filter(|step| step.mode == m) {
            secrets_of(
                facts,
                mode,
                path,
                step,
                &mut problems,
                &mut fixes,
                &mut passes,
            );
            let uses = &step.uses;
            let Some((_, action_repo, git_ref)) = parse_uses(uses) else {
                problems.push(format!(
                    "`{path}` says `uses: {uses}`, which Gitea resolves against DEFAULT_ACTIONS_URL (github.com by default)"
                ));
                fixes.push(format!(
                    "write the full URL of your shipgate copy in `{path}`: `uses: https://<your-gitea>/{uses}`"
                ));
                continue;
            };
            match facts.pins.get(uses) {
                Some(Seen::Yes(pin)) => match (&pin.sums, pinned_version(step, &git_ref, pin)) {
                    (None, _) => {
                        problems.push(format!("`{action_repo}` has no `dist/SHA256SUMS` at `{git_ref}` (or that repository or ref does not exist): the action refuses every download"));
                        fixes.push(format!(
                            "pin `{path}` to a release tag of `{action_repo}` (`@v1`)"
                        ));
                    }
                    (Some(_), None) => {
                        problems.push(format!("`{path}`: which version `{uses}` downloads cannot be told (no `version` input, no `vX.Y.Z` ref, no `dist/VERSION` at `{git_ref}`)"));
                        fixes.push(format!("pin `{path}` to a release tag of `{action_repo}`, or set the step's `version` input"));
                    }
                    (Some(sums), Some(version)) => {
                        let prefix = format!("shipgate-{version}-");
                        let listed = sums.lines().any(|line| {
                            line.split_whitespace().nth(1).is_some_and(|file| {
                                file.starts_with(&prefix) && file.ends_with(".tar.gz")
                            })
                        });
                        if listed {
                            pinned.push(format!("`{uses}` → {version}"));
                        } else {
                            problems.push(format!("`dist/SHA256SUMS` of `{action_repo}` at `{git_ref}` has no entry for shipgate {version}: the action refuses the download"));
                            fixes.push(format!("pin `{path}` to the tag of a release whose `dist/SHA256SUMS` lists {version}, or set `version` to one it lists"));
                        }
                    }
                },
                Some(Seen::Refused(why) | Seen::Unknown(why)) => {
                    unknown.push(format!("the pin of `{uses}`: {why}"))
                }
                None => unknown.push(format!("the pin of `{uses}` was not read")),
            }
        }
    }
    let paths: Vec<String> = matching.iter().map(|(p, _)| p.clone()).collect();
    if !problems.is_empty() {
        check(&id, m, State::Fail, problems.join("; "), fixes.join("; "))
    } else if !unknown.is_empty() {
        check(
            &id,
            m,
            State::Unknown,
            format!("{} on `{branch}` runs `mode: {m}` with the right triggers; not checked: {}", ticks(&paths), unknown.join("; ")),
            "check by hand that the pinned ref's `dist/SHA256SUMS` lists the version the step downloads",
        )
    } else {
        check(
            &id,
            m,
            State::Pass,
            format!(
                "{} on `{branch}` runs `mode: {m}` with the right triggers, a full-URL `uses:` and a pin whose `dist/SHA256SUMS` lists it ({}); {}",
                ticks(&paths),
                pinned.join(", "),
                passes.join("; ")
            ),
            "",
        )
    }
}

/// The secrets a gate step passes: a token input it cannot run without is ✗ (the step
/// exits 2 `token-missing`), and a doctor step that checks this mode with another secret
/// than the gate's own proves a token the gate does not use (✗). Names what each passes.
fn secrets_of(
    facts: &Facts,
    mode: Scope,
    path: &str,
    step: &Step,
    problems: &mut Vec<String>,
    fixes: &mut Vec<String>,
    passes: &mut Vec<String>,
) {
    let m = mode.as_str();
    let role = match mode {
        Scope::Sync => "SYNC",
        Scope::Tier => "TIER",
        Scope::ReviewFire | Scope::All => "READ",
        Scope::Promote => "PROMOTE",
    };
    let mut inputs = vec![("token", step.token.as_deref(), role)];
    let single = facts.config().is_some_and(|c| c.review.allow_single_token);
    if mode == Scope::ReviewFire && !single {
        inputs.push(("status-token", step.status_token.as_deref(), "STATUS"));
    }
    for (input, value, role) in inputs {
        let given = value.map(str::trim).filter(|t| !t.is_empty());
        if given.is_none() {
            problems.push(format!(
                "`{path}` passes no `{input}` to its `mode: {m}` step: it exits 2 `token-missing`"
            ));
            fixes.push(format!(
                "add `{input}: ${{{{ secrets.SHIPGATE_{role}_TOKEN }}}}` under the step's `with:` in `{path}`, and store that secret"
            ));
            continue;
        }
        passes.push(format!(
            "`{path}` passes {} as `{input}`",
            token_text(given)
        ));
        let Some(gate) = given.and_then(secret_name) else {
            continue;
        };
        for (doctor_path, doctor) in doctor_steps(facts, m) {
            let value = if input == "token" {
                doctor.token.as_deref()
            } else {
                doctor.status_token.as_deref()
            };
            let checked = value.and_then(secret_name);
            if checked.as_deref().is_some_and(|c| c != gate) {
                problems.push(format!(
                    "`{doctor_path}` checks `{m}` with {} as `{input}`, but `{path}` passes `secrets.{gate}`: doctor proves a token the gate does not use",
                    token_text(value)
                ));
                fixes.push(format!(
                    "pass `${{{{ secrets.{gate} }}}}` as `{input}` to the `--mode {m}` step of `{doctor_path}` (one secret per role, the same in every workflow)"
                ));
            }
        }
    }
}

/// `(path, step)` of every doctor step on the default branch that checks `mode`.
fn doctor_steps<'a>(facts: &'a Facts, mode: &str) -> Vec<(&'a str, Step)> {
    let Seen::Yes(workflows) = &facts.workflows else {
        return Vec::new();
    };
    workflows
        .iter()
        .filter_map(|w| workflow_shape(&w.text).ok().map(|s| (w.path.as_str(), s)))
        .flat_map(|(path, shape)| {
            shape
                .steps
                .into_iter()
                .filter(|s| s.mode == "doctor" && args_mode(s).as_deref() == Some(mode))
                .map(move |s| (path, s))
        })
        .collect()
}

// ---- protection -----------------------------------------------------------------------

/// The rule Gitea applies to `branch`: an exact name first, else the first glob that matches.
fn rule_for<'a>(rules: &'a [BranchProtection], branch: &str) -> Option<&'a BranchProtection> {
    rules.iter().find(|r| r.pattern() == branch).or_else(|| {
        rules.iter().find(|r| {
            globset::Glob::new(r.pattern())
                .map(|g| g.compile_matcher().is_match(branch))
                .unwrap_or(false)
        })
    })
}

fn protection_unknown(id: &str, mode: &'static str, what: &str, why: &str, manual: &str) -> Check {
    check(
        id,
        mode,
        State::Unknown,
        format!("branch protection could not be read ({why}), so {what} is unverified"),
        format!(
            "run doctor with the token of a repository admin, or check by hand: Repository → Settings → Branches → {manual}"
        ),
    )
}

/// A context that differs from `wanted` only by its `(…)` suffix or by spacing.
pub fn nearest<'a>(wanted: &str, candidates: &'a [String]) -> Option<(&'a str, &'static str)> {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let stem = |s: &str| {
        let s = squash(s);
        match s.rfind(" (") {
            Some(i) if s.ends_with(')') => s[..i].to_owned(),
            _ => s,
        }
    };
    let wanted_squashed = squash(wanted);
    if let Some(c) = candidates.iter().find(|c| squash(c) == wanted_squashed) {
        return Some((c, "spacing"));
    }
    if let Some(c) = candidates
        .iter()
        .find(|c| squash(&c.to_lowercase()) == wanted_squashed.to_lowercase())
    {
        return Some((c, "letter case"));
    }
    let wanted_stem = stem(wanted);
    candidates
        .iter()
        .find(|c| stem(c) == wanted_stem)
        .map(|c| (c.as_str(), "suffix"))
}

fn contexts_check(facts: &Facts, config: &Config) -> Check {
    let id = "review-fire.contexts";
    let mut wanted: Vec<String> = config
        .review
        .gates
        .iter()
        .map(|g| g.context.clone())
        .collect();
    if let Some(tc) = &config.review.tier_check {
        wanted.push(tc.context.clone());
    }
    let rules = match &facts.protections {
        Seen::Yes(r) => r,
        Seen::Refused(why) | Seen::Unknown(why) => {
            return protection_unknown(
                id,
                "review-fire",
                "whether the required status checks name the gates' contexts",
                why,
                &format!(
                    "the rule for `main` → \"Enable Status Check\" must list exactly {}",
                    ticks(&wanted)
                ),
            )
        }
    };
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    for branch in &config.review.branches {
        let Some(rule) = rule_for(rules, branch) else {
            problems.push(format!(
                "no branch protection rule covers `{branch}`: nothing requires the gates"
            ));
            fixes.push(format!(
                "add a rule for `{branch}` (Repository → Settings → Branches → Add rule; `POST /repos/{}/branch_protections`) with \"Enable Status Check\" and the contexts {}",
                facts.repo,
                ticks(&wanted)
            ));
            continue;
        };
        let required = BranchProtection::list(&rule.status_check_contexts);
        if !rule.enable_status_check {
            problems.push(format!(
                "the rule `{}` does not enable status checks",
                rule.pattern()
            ));
            fixes.push(format!(
                "turn on \"Enable Status Check\" in the rule `{}` (`enable_status_check: true`)",
                rule.pattern()
            ));
        }
        for context in &wanted {
            if required.iter().any(|r| r == context) {
                continue;
            }
            match nearest(context, required) {
                Some((near, how)) => {
                    problems.push(format!(
                        "`{branch}` requires `{near}`, shipgate posts `{context}` (they differ in {how})"
                    ));
                    fixes.push(format!(
                        "make them byte-identical: in the rule `{}` replace `{near}` with `{context}` (`status_check_contexts`), or set the gate's `context` in .gitea/shipgate.yml to `{near}`",
                        rule.pattern()
                    ));
                }
                None => {
                    problems.push(format!(
                        "`{branch}` does not require `{context}` (it requires {})",
                        if required.is_empty() {
                            "nothing".to_owned()
                        } else {
                            ticks(required)
                        }
                    ));
                    fixes.push(format!(
                        "add `{context}` to \"Status check patterns\" of the rule `{}` (`status_check_contexts`)",
                        rule.pattern()
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        check(
            id,
            "review-fire",
            State::Pass,
            format!(
                "{} require{} {}, byte for byte",
                ticks(&config.review.branches),
                if config.review.branches.len() == 1 {
                    "s"
                } else {
                    ""
                },
                ticks(&wanted)
            ),
            "",
        )
    } else {
        check(
            id,
            "review-fire",
            State::Fail,
            problems.join("; "),
            fixes.join("; "),
        )
    }
}

fn dismiss_stale_check(facts: &Facts, config: &Config) -> Check {
    let id = "review-fire.dismiss-stale";
    let rules = match &facts.protections {
        Seen::Yes(r) => r,
        Seen::Refused(why) | Seen::Unknown(why) => {
            return protection_unknown(
                id,
                "review-fire",
                "\"dismiss stale approvals\"",
                why,
                "the rule for `main` → \"Dismiss stale approvals\" must be on",
            )
        }
    };
    let mut off = Vec::new();
    for branch in &config.review.branches {
        match rule_for(rules, branch) {
            Some(rule) if rule.dismiss_stale_approvals => {}
            Some(rule) => off.push(format!("the rule `{}` for `{branch}`", rule.pattern())),
            None => off.push(format!("`{branch}` (no rule)")),
        }
    }
    if off.is_empty() {
        check(
            id,
            "review-fire",
            State::Pass,
            format!(
                "stale approvals are dismissed on {}",
                ticks(&config.review.branches)
            ),
            "",
        )
    } else {
        check(
            id,
            "review-fire",
            State::Fail,
            format!("stale approvals are not dismissed on {}", off.join(", ")),
            "turn on \"Dismiss stale approvals\" in the branch's rule (Repository → Settings → Branches; `dismiss_stale_approvals: true`)",
        )
    }
}

/// What a pull request must not change: the workflows and the config that judge it.
const GATE_FILES: &str = ".gitea/workflows/**;.gitea/shipgate.yml";

/// The gate files (a workflow, the config) that `rule`'s protected file patterns do not
/// cover. Gitea matches each `;`-separated glob against the changed path.
fn unprotected_gate_files(rule: &BranchProtection) -> Vec<String> {
    let patterns: Vec<String> = rule
        .protected_file_patterns
        .as_deref()
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let globs = crate::glob::Globs::new("protected_file_patterns", &patterns).ok();
    [".gitea/workflows/review-fire.yml", ".gitea/shipgate.yml"]
        .into_iter()
        .filter(|path| !globs.as_ref().is_some_and(|g| g.is_match(path)))
        .map(str::to_owned)
        .collect()
}

fn approvals_check(facts: &Facts, config: &Config) -> Check {
    let id = "review-fire.approvals";
    let gate_teams: Vec<String> = config.review.gates.iter().flat_map(|g| g.teams()).collect();
    let rules = match &facts.protections {
        Seen::Yes(r) => r,
        Seen::Refused(why) | Seen::Unknown(why) => {
            return protection_unknown(
                id,
                "review-fire",
                "whether the gate teams' approvals are official",
                why,
                &format!(
                    "the rule for `main` → \"Approvals allowlist\" must include {} (or leave it off and give those teams write access)",
                    ticks(&gate_teams)
                ),
            )
        }
    };
    let mut problems = Vec::new();
    for branch in &config.review.branches {
        let Some(rule) = rule_for(rules, branch) else {
            continue; // reported by review-fire.contexts
        };
        // The statuses can be posted by any code writer (README: Trust model (measured)):
        // only what Gitea itself counts and protects holds against her.
        let needed = i64::from(config.review.required_approvals);
        if rule.required_approvals < needed {
            problems.push(format!(
                "`{}` requires {} approval(s) of its own (required_approvals), fewer than \
                 review.required_approvals ({needed}): a code writer can post the gate statuses \
                 herself, so only Gitea's own count stops an unreviewed merge",
                rule.pattern(),
                rule.required_approvals
            ));
        }
        let unprotected = unprotected_gate_files(rule);
        if !unprotected.is_empty() {
            problems.push(format!(
                "`{}` lets a pull request change {} (protected_file_patterns): a PR could weaken \
                 the gate it is judged by",
                rule.pattern(),
                ticks(&unprotected)
            ));
        }
        if rule.enable_approvals_whitelist {
            let allowed = BranchProtection::list(&rule.approvals_whitelist_teams);
            for team in &gate_teams {
                if !allowed.iter().any(|a| a.eq_ignore_ascii_case(team)) {
                    problems.push(format!(
                        "the approvals allowlist of `{}` leaves out team `{team}`: its approvals are not official",
                        rule.pattern()
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        return check(
            id,
            "review-fire",
            State::Fail,
            problems.join("; "),
            format!(
                "in the branch's rule (Repository → Settings → Branches): \"Required approvals\" = {} \
                 (`required_approvals`), the gate teams on \"Approvals allowlist\" \
                 (`approvals_whitelist_teams`) or the allowlist off, and \"Protected file patterns\" = \
                 `{GATE_FILES}` (`protected_file_patterns`)",
                config.review.required_approvals
            ),
        );
    }
    let allowlisted = config
        .review
        .branches
        .iter()
        .all(|b| rule_for(rules, b).is_some_and(|r| r.enable_approvals_whitelist));
    if allowlisted {
        return check(
            id,
            "review-fire",
            State::Pass,
            format!("the approvals allowlist covers {}", ticks(&gate_teams)),
            "",
        );
    }
    // No allowlist: official reviewers are those with code write.
    let Some(teams) = facts.read.teams.ok() else {
        return check(
            id,
            "review-fire",
            State::Unknown,
            "no approvals allowlist, and the teams' permissions could not be read",
            "give SHIPGATE_TOKEN read:organization, or check that the gate teams have write access",
        );
    };
    let mut weak = Vec::new();
    let mut unknown = Vec::new();
    for team in &gate_teams {
        match teams.iter().find(|t| t.name.eq_ignore_ascii_case(team)) {
            Some(t) if matches!(t.code_access(), "write" | "admin" | "owner") => {}
            Some(t) if matches!(t.code_access(), "read" | "none") => {
                weak.push(format!("`{team}` (code: {})", t.code_access()));
            }
            _ => unknown.push(format!("`{team}`")),
        }
    }
    if !weak.is_empty() {
        check(
            id,
            "review-fire",
            State::Fail,
            format!("no approvals allowlist, and gate teams without write access: {}", weak.join(", ")),
            "give those teams write access to the repository (Organization → Teams → the team → Permission), or put them on the rule's approvals allowlist",
        )
    } else if !unknown.is_empty() {
        check(
            id,
            "review-fire",
            State::Unknown,
            format!(
                "no approvals allowlist, and the permission of {} is unknown",
                unknown.join(", ")
            ),
            "check the teams exist (see review-fire.teams) and have write access",
        )
    } else {
        check(
            id,
            "review-fire",
            State::Pass,
            format!(
                "no approvals allowlist; {} have write access, so their approvals are official",
                ticks(&gate_teams)
            ),
            "",
        )
    }
}

fn staging_push_check(facts: &Facts, config: &Config) -> Check {
    let id = "sync.staging-push";
    let to = &config.sync.to;
    let account = config
        .sync
        .expect_login
        .clone()
        .or_else(|| facts.read.login.ok().cloned());
    // The server's own answer for the token's account, when the token is the sync account.
    let server_says = server_may_push(facts, to, account.as_deref());
    let rules = match &facts.protections {
        Seen::Yes(r) => r,
        Seen::Refused(why) | Seen::Unknown(why) => {
            if let Some(said) = server_says {
                return said;
            }
            return protection_unknown(
                id,
                "sync",
                &format!("whether `{}` may push to `{to}`", account.as_deref().unwrap_or("the sync account")),
                why,
                &format!(
                    "the rule for `{to}` → \"Enable Push\" with the sync account on \"Allowlisted users\""
                ),
            );
        }
    };
    let Some(rule) = rule_for(rules, to) else {
        return check(
            id,
            "sync",
            State::Pass,
            format!("no rule protects `{to}`: any account with code write may push"),
            "",
        );
    };
    if !rule.enable_push {
        return check(
            id,
            "sync",
            State::Fail,
            format!("the rule `{}` disables pushes to `{to}`", rule.pattern()),
            format!(
                "in the rule `{}` choose \"Enable Push\" → allowlist and add the sync account (`enable_push: true`, `enable_push_whitelist: true`, `push_whitelist_usernames`)",
                rule.pattern()
            ),
        );
    }
    if !rule.enable_push_whitelist {
        return check(
            id,
            "sync",
            State::Pass,
            format!(
                "the rule `{}` lets anyone with code write push to `{to}`",
                rule.pattern()
            ),
            "",
        );
    }
    let Some(account) = account else {
        return check(
            id,
            "sync",
            State::Unknown,
            "the sync account is unknown (`GET /user` failed and `sync.expect_login` is not set)",
            "give SHIPGATE_TOKEN read:user, or set `sync.expect_login`",
        );
    };
    let users = BranchProtection::list(&rule.push_whitelist_usernames);
    if users.iter().any(|u| u.eq_ignore_ascii_case(&account)) {
        return check(
            id,
            "sync",
            State::Pass,
            format!(
                "`{account}` is on the push allowlist of `{}`",
                rule.pattern()
            ),
            "",
        );
    }
    let teams = BranchProtection::list(&rule.push_whitelist_teams);
    if !teams.is_empty() {
        if let Some(said) = server_says {
            return said;
        }
        return check(
            id,
            "sync",
            State::Unknown,
            format!(
                "`{account}` is not a listed user of the push allowlist of `{}`; it allows teams {}, whose members were not checked",
                rule.pattern(),
                ticks(teams)
            ),
            format!("add `{account}` to \"Allowlisted users\" of the rule `{}` (`push_whitelist_usernames`)", rule.pattern()),
        );
    }
    check(
        id,
        "sync",
        State::Fail,
        format!(
            "`{account}` is not on the push allowlist of `{}` (it lists {})",
            rule.pattern(),
            if users.is_empty() { "nobody".to_owned() } else { ticks(users) }
        ),
        format!(
            "add `{account}` to \"Allowlisted users\" under \"Enable Push\" of the rule `{}` (Repository → Settings → Branches; `push_whitelist_usernames`); the account needs code write or Gitea drops it silently",
            rule.pattern()
        ),
    )
}

/// `sync.staging-push` from `user_can_push` of `GET …/branches/{to}`, read with the sync
/// token: the server's decision for that account, allowlisted teams included. `None` when
/// the token is not the sync account's or the server did not say.
fn server_may_push(facts: &Facts, to: &str, account: Option<&str>) -> Option<Check> {
    let login = facts.read.login.ok()?;
    if !account.is_some_and(|a| a.eq_ignore_ascii_case(login)) {
        return None;
    }
    let branch = facts.branches.get(to)?.ok()?;
    let proof = format!(
        "GET /repos/{}/branches/{to} says `user_can_push`",
        facts.repo
    );
    match branch.user_can_push? {
        true => Some(check(
            "sync.staging-push",
            "sync",
            State::Pass,
            format!("`{login}` may push to `{to}` ({proof}: true)"),
            "",
        )),
        false => Some(check(
            "sync.staging-push",
            "sync",
            State::Fail,
            format!("`{login}` may not push to `{to}` ({proof}: false)"),
            format!(
                "in `{to}`'s branch protection (Repository → Settings → Branches) choose \"Enable Push\" → allowlist and add `{login}` or a team of it (`push_whitelist_usernames` / `push_whitelist_teams`); the account needs code write"
            ),
        )),
    }
}

// ---- promote ---------------------------------------------------------------------------

/// How the promote workflow moves main: `--via push` in a step's `args`, else a pull request.
fn promote_via(facts: &Facts) -> &'static str {
    let pushes = facts.workflows.ok().is_some_and(|workflows| {
        workflows.iter().any(|w| {
            workflow_shape(&w.text).is_ok_and(|shape| {
                shape.steps.iter().any(|step| {
                    step.mode == "promote"
                        && step.args.as_deref().is_some_and(|args| {
                            let words: Vec<&str> = args.split_whitespace().collect();
                            words.windows(2).any(|w| w == ["--via", "push"])
                                || words.contains(&"--via=push")
                        })
                })
            })
        })
    });
    if pushes {
        "push"
    } else {
        "pull-request"
    }
}

/// Review gate contexts among the contexts promote waits for, when nothing can ever post
/// them on staging's head: review-fire posts them only on a pull request into one of
/// `review.branches`, i.e. on the promotion PR, which `--via push` never opens. The
/// contexts, why, and the fix.
fn never_on_staging(
    facts: &Facts,
    config: &Config,
    contexts: &[String],
) -> Option<(Vec<String>, String, String)> {
    let to = &config.promote.to;
    let gates: Vec<String> = contexts
        .iter()
        .filter(|c| {
            config
                .review
                .gates
                .iter()
                .any(|g| g.context.trim() == c.as_str())
                || config
                    .review
                    .tier_check
                    .as_ref()
                    .is_some_and(|t| t.context.trim() == c.as_str())
        })
        .cloned()
        .collect();
    if gates.is_empty() {
        return None;
    }
    if !config.review.branches.iter().any(|b| b == to) {
        return Some((
            gates,
            format!("they are review-fire's gates, posted only on pull requests into `review.branches` ({}), and the promotion PR goes into `{to}`", config.review.branches.join(", ")),
            format!("add `{to}` to `review.branches`, or drop the gate contexts from `{to}`'s required status checks"),
        ));
    }
    let via_push = match &facts.workflows {
        Seen::Yes(workflows) => workflows.iter().any(|w| {
            workflow_shape(&w.text).is_ok_and(|shape| {
                shape.steps.iter().any(|s| {
                    s.mode == "promote"
                        && s.args.as_deref().is_some_and(|a| {
                            let words: Vec<&str> = a.split_whitespace().collect();
                            words.windows(2).any(|w| w == ["--via", "push"])
                                || words.contains(&"--via=push")
                        })
                })
            })
        }),
        _ => false,
    };
    via_push.then(|| {
        (
            gates,
            "they are review-fire's gates, posted on the promotion PR, and the promote workflow passes `--via push`, which opens none".to_owned(),
            "promote through the pull request (drop `--via push`), or drop the gate contexts from the required status checks".to_owned(),
        )
    })
}

fn promote_contexts_check(facts: &Facts, config: &Config) -> Check {
    let id = "promote.contexts";
    let to = &config.promote.to;
    let configured: Vec<String> = config
        .promote
        .required_contexts
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    let protection = match facts.branches.get(to) {
        Some(Seen::Yes(b)) if b.protected && b.enable_status_check => {
            Seen::Yes(BranchProtection::list(&b.status_check_contexts).to_vec())
        }
        Some(Seen::Yes(_)) => Seen::Yes(Vec::new()),
        Some(Seen::Refused(why) | Seen::Unknown(why)) => Seen::Unknown(why.clone()),
        None => Seen::Unknown(format!("`{to}` was not read")),
    };
    let fix = format!(
        "list staging's CI contexts under `promote.required_contexts` in .gitea/shipgate.yml on `{}`, or require them in `{to}`'s branch protection (\"Enable Status Check\")",
        facts.branch()
    );
    match protection {
        Seen::Yes(required) => {
            let mut all = configured.clone();
            for c in required.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
                if !all.iter().any(|a| a == c) {
                    all.push(c.to_owned());
                }
            }
            let never = never_on_staging(facts, config, &all);
            if all.is_empty() {
                check(
                    id,
                    "promote",
                    State::Fail,
                    format!("`promote.required_contexts` is empty and `{to}`'s protection requires no status check: promote cannot know what green means (exit 2)"),
                    fix,
                )
            } else if let Some((contexts, why, fix)) = never {
                check(
                    id,
                    "promote",
                    State::Fail,
                    format!(
                        "promote waits for {} on staging's head, which can never appear there: {why}",
                        ticks(&contexts)
                    ),
                    fix,
                )
            } else {
                check(
                    id,
                    "promote",
                    State::Pass,
                    format!(
                        "promote waits for {} on staging's head ({} from the config, {} from `{to}`'s protection)",
                        ticks(&all),
                        configured.len(),
                        required.len()
                    ),
                    "",
                )
            }
        }
        Seen::Refused(why) | Seen::Unknown(why) if configured.is_empty() => check(
            id,
            "promote",
            State::Unknown,
            format!("`promote.required_contexts` is empty and `{to}` could not be read ({why}), so whether promote knows what green means is unverified"),
            fix,
        ),
        Seen::Refused(why) | Seen::Unknown(why) => check(
            id,
            "promote",
            State::Pass,
            format!(
                "promote waits for {} from the config (`{to}`'s protection could not be read: {why}; promote adds its contexts when it runs)",
                ticks(&configured)
            ),
            "",
        ),
    }
}

fn promote_merge_check(facts: &Facts, config: &Config) -> Check {
    let id = "promote.merge";
    let to = &config.promote.to;
    let via = promote_via(facts);
    let who = facts
        .read
        .login
        .ok()
        .map_or_else(|| "the token's account".to_owned(), |l| format!("`{l}`"));
    let branch = match facts.branches.get(to) {
        Some(Seen::Yes(b)) => b,
        Some(Seen::Refused(why) | Seen::Unknown(why)) => {
            return check(
                id,
                "promote",
                State::Unknown,
                format!(
                    "`{to}` could not be read ({why}), so whether {who} may move it is unverified"
                ),
                "give SHIPGATE_TOKEN read:repository on this repository and re-run",
            )
        }
        None => {
            return check(
                id,
                "promote",
                State::Unknown,
                format!("`{to}` was not read"),
                "re-run doctor with SHIPGATE_TOKEN set",
            )
        }
    };
    let proof = format!("GET /repos/{}/branches/{to}", facts.repo);
    if via == "push" {
        return match branch.user_can_push {
            Some(true) => check(id, "promote", State::Pass, format!("`--via push`: {who} may push to `{to}` ({proof}: `user_can_push` true)"), ""),
            Some(false) => check(
                id,
                "promote",
                State::Fail,
                format!("`--via push`: {who} may not push to `{to}` ({proof}: `user_can_push` false)"),
                format!("put the promote account on the push allowlist of `{to}`'s rule (Repository → Settings → Branches → \"Enable Push\"; `push_whitelist_usernames`), or drop `--via push` to merge a pull request"),
            ),
            None => check(id, "promote", State::Unknown, format!("{proof} did not say whether {who} may push"), "check by hand that the promote account is on the push allowlist of the rule"),
        };
    }
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let mut unknown = Vec::new();
    match &facts.fast_forward_only {
        Seen::Yes(true) => {}
        Seen::Yes(false) => {
            problems.push("the repository does not allow fast-forward-only merges, the only style promote uses".to_owned());
            fixes.push("enable \"Fast-forward only\" under Repository → Settings → Repository → Pull Requests (`allow_fast_forward_only_merge`)".to_owned());
        }
        Seen::Refused(why) | Seen::Unknown(why) => {
            unknown.push(format!("the merge styles ({why})"))
        }
    }
    match branch.user_can_merge {
        Some(true) => {}
        Some(false) => {
            problems.push(format!(
                "{who} may not merge into `{to}` ({proof}: `user_can_merge` false)"
            ));
            fixes.push(format!("give the promote account code write, and put it on the merge allowlist of `{to}`'s rule when that is on (`merge_whitelist_usernames`)"));
        }
        None => unknown.push(format!("whether {who} may merge ({proof} did not say)")),
    }
    if !problems.is_empty() {
        check(
            id,
            "promote",
            State::Fail,
            problems.join("; "),
            fixes.join("; "),
        )
    } else if !unknown.is_empty() {
        check(
            id,
            "promote",
            State::Unknown,
            format!("not checked: {}", unknown.join("; ")),
            "check by hand: fast-forward-only merges allowed, and the promote account may merge into the branch",
        )
    } else {
        check(
            id,
            "promote",
            State::Pass,
            format!("{who} may merge into `{to}` ({proof}: `user_can_merge` true), fast-forward-only merges are allowed"),
            "",
        )
    }
}

fn promote_checks(facts: &Facts, checks: &mut Vec<Check>) {
    checks.push(workflow_check(facts, Scope::Promote));
    let Some(config) = facts.config() else {
        config_dependent(
            checks,
            &["promote.token", "promote.contexts", "promote.merge"],
            "promote",
        );
        return;
    };
    checks.push(token_check(
        "promote.token",
        "promote",
        &facts.read,
        &[REPOSITORY, PUSH, CODE_WRITE],
        None,
        &[],
    ));
    checks.push(promote_contexts_check(facts, &config));
    checks.push(promote_merge_check(facts, &config));
}

// ---- tokens ---------------------------------------------------------------------------

/// A scope a mode needs, and what proved it.
struct Need {
    scope: &'static str,
    proof: &'static str,
}

/// With `review.merge` set, review-fire merges with the status token: its account must be
/// allowed to merge into every review branch (the server's `user_can_merge` for it, merge
/// allowlist included), else every merge is refused. A passing status-token check turns ✗
/// (or `?` when that could not be read).
fn merger_check(facts: &Facts, config: &Config, token: Check) -> Check {
    let Some(style) = config.review.merge else {
        return token;
    };
    if token.state != State::Pass {
        return token;
    }
    let mut refused = Vec::new();
    let mut unknown = Vec::new();
    for branch in &config.review.branches {
        match facts.status_can_merge.get(branch) {
            Some(Seen::Yes(true)) => {}
            Some(Seen::Yes(false)) => refused.push(format!("`{branch}`")),
            Some(Seen::Refused(why) | Seen::Unknown(why)) => {
                unknown.push(format!("`{branch}` ({why})"))
            }
            None => unknown.push(format!("`{branch}` (not read)")),
        }
    }
    let fix = format!(
        "add the status token's account to the merge allowlist of {} (Branches → the rule → Enable Merge Whitelist), or unset `review.merge`",
        config.review.branches.join(", ")
    );
    if !refused.is_empty() {
        return check(
            &token.id,
            "review-fire",
            State::Fail,
            format!(
                "{}; but `review.merge: {}` merges with it, and the server says its account may not merge into {}",
                token.found,
                style.as_str(),
                refused.join(", ")
            ),
            fix,
        );
    }
    if !unknown.is_empty() {
        return check(
            &token.id,
            "review-fire",
            State::Unknown,
            format!(
                "{}; whether its account may merge (`review.merge`) is unknown for {}",
                token.found,
                unknown.join(", ")
            ),
            fix,
        );
    }
    check(
        &token.id,
        "review-fire",
        State::Pass,
        format!(
            "{}; its account may merge into {} (`review.merge: {}`)",
            token.found,
            config.review.branches.join(", "),
            style.as_str()
        ),
        "",
    )
}

/// Code write on the repository, from the account's own `permissions` (Gitea serves the
/// receive-pack advertisement to a read-only account and refuses the push later, so the
/// advertisement proves the scope, not the access).
fn write_state(repo: &Seen<Permission>) -> (State, String) {
    match repo {
        Seen::Yes(p) if p.push => (State::Pass, String::new()),
        Seen::Yes(p) => (
            State::Fail,
            format!(
                "the account's permission is {}",
                if p.pull { "read only" } else { "none" }
            ),
        ),
        other => seen_state(other),
    }
}

fn seen_state<T>(seen: &Seen<T>) -> (State, String) {
    match seen {
        Seen::Yes(_) => (State::Pass, String::new()),
        Seen::Refused(why) => (State::Fail, why.clone()),
        Seen::Unknown(why) => (State::Unknown, why.clone()),
    }
}

fn token_check(
    id: &str,
    mode: &'static str,
    token: &TokenFacts,
    needs: &[Need],
    expect_login: Option<&str>,
    unprovable: &[&str],
) -> Check {
    let var = token.var;
    if !token.present {
        return check(
            id,
            mode,
            State::Fail,
            format!("`{var}` is not set"),
            format!("store the token as a secret and pass it to the step (`env: {var}: ${{{{ secrets.… }}}}`)"),
        );
    }
    let mut proven = Vec::new();
    let mut failed = Vec::new();
    let mut unknown = Vec::new();
    for need in needs {
        let (state, why) = match need.scope {
            "read:user" => seen_state(&token.login),
            "read:repository" => seen_state(&token.repo),
            "read:issue" => seen_state(&token.labels),
            "read:organization" => seen_state(&token.teams),
            "write:repository" => seen_state(&token.push),
            "code write" => write_state(&token.repo),
            _ => (State::Unknown, "no read proves it".to_owned()),
        };
        // A read that could not be made proves nothing; but when the server's own list of
        // the token's scopes lacks the scope, that is a verified ✗. (The list never makes a
        // ✓: a read also proves the account may see the resource.)
        let (state, why, proof) = match (state, &token.disclosed) {
            (State::Unknown, Seen::Yes(scopes))
                if need.scope != CODE_WRITE.scope && !holds(scopes, need.scope) =>
            {
                (
                    State::Fail,
                    format!("the token's scopes are {}", scopes.join(",")),
                    DISCLOSED,
                )
            }
            (state, _) => (state, why, need.proof),
        };
        match state {
            State::Pass => proven.push(format!("{} ({proof})", need.scope)),
            State::Fail => failed.push(format!("{} ({proof}: {why})", need.scope)),
            State::Unknown => unknown.push(format!("{} ({proof}: {why})", need.scope)),
        }
    }
    let mut unproven = Vec::new();
    for scope in unprovable {
        match &token.disclosed {
            Seen::Yes(scopes) if holds(scopes, scope) => {
                proven.push(format!("{scope} ({DISCLOSED})"))
            }
            Seen::Yes(scopes) => failed.push(format!(
                "{scope} ({DISCLOSED}: the token's scopes are {})",
                scopes.join(",")
            )),
            Seen::Refused(why) | Seen::Unknown(why) => unproven.push((*scope, why.clone())),
        }
    }
    let who = match &token.login {
        Seen::Yes(login) => format!("`{var}` belongs to `{login}`"),
        _ => format!("`{var}`"),
    };
    if let (Some(expected), Seen::Yes(login)) = (expect_login, &token.login) {
        if !expected.eq_ignore_ascii_case(login) {
            return check(
                id,
                mode,
                State::Fail,
                format!("{who}, not `{expected}` (`sync.expect_login`)"),
                format!("use a token of `{expected}`, or change `sync.expect_login`"),
            );
        }
    }
    if failed.len() == 1 && failed[0].starts_with(CODE_WRITE.scope) {
        return check(
            id,
            mode,
            State::Fail,
            format!("{who}; refused: {}", failed.join("; ")),
            "give the token's account write access to the repository (a collaborator with Write, or a team with code write), or store a token of an account that has it",
        );
    }
    if !failed.is_empty() {
        let scopes: Vec<&str> = needs
            .iter()
            .map(|n| n.scope)
            .filter(|s| *s != CODE_WRITE.scope)
            .chain(unprovable.iter().copied())
            .collect();
        return check(
            id,
            mode,
            State::Fail,
            format!("{who}; refused: {}", failed.join("; ")),
            format!(
                "issue a token with {} (Settings → Applications → Generate new token) whose account can read this repository, and update the secret",
                scopes.join(", ")
            ),
        );
    }
    let mut found = format!(
        "{who}; proven by reads: {}",
        if proven.is_empty() {
            "nothing".to_owned()
        } else {
            proven.join(", ")
        }
    );
    if !unknown.is_empty() {
        found.push_str(&format!("; not checked: {}", unknown.join("; ")));
        return check(
            id,
            mode,
            State::Unknown,
            found,
            "re-run when the server answers; a read that could not be made proves nothing",
        );
    }
    if !unproven.is_empty() {
        let names: Vec<&str> = unproven.iter().map(|(scope, _)| *scope).collect();
        let why = unproven
            .first()
            .map(|(_, why)| why.clone())
            .unwrap_or_default();
        found.push_str(&format!(
            "; {} cannot be proven by a read, and the server did not list the token's scopes ({why})",
            names.join(", ")
        ));
        return check(
            id,
            mode,
            State::Unknown,
            found,
            format!(
                "check by hand that the token has {} (Settings → Applications lists each token's scopes); Gitea 1.27 lists them itself, so doctor proves it there",
                names.join(", ")
            ),
        );
    }
    check(id, mode, State::Pass, found, "")
}

/// The proof of a scope read off the server's missing-scope refusal.
const DISCLOSED: &str = "listed by the server in its refusal of GET /notifications/new";

/// Whether a token with `scopes` may do what `wanted` allows: the scope itself, its write
/// form for a read, or `all`.
pub fn holds(scopes: &[String], wanted: &str) -> bool {
    let write = wanted
        .strip_prefix("read:")
        .map(|category| format!("write:{category}"));
    scopes
        .iter()
        .any(|s| s == wanted || s == "all" || write.as_deref() == Some(s.as_str()))
}

const USER: Need = Need {
    scope: "read:user",
    proof: "GET /user",
};
const REPOSITORY: Need = Need {
    scope: "read:repository",
    proof: "GET /repos/{o}/{r}",
};
const ISSUE: Need = Need {
    scope: "read:issue",
    proof: "GET /repos/{o}/{r}/labels",
};
const ORGANIZATION: Need = Need {
    scope: "read:organization",
    proof: "GET /orgs/{org}/teams",
};
const PUSH: Need = Need {
    scope: "write:repository",
    proof: "authenticated receive-pack advertisement",
};
/// Not a token scope: the account's access, which Gitea checks on every push and status.
const CODE_WRITE: Need = Need {
    scope: "code write",
    proof: "GET /repos/{o}/{r} permissions.push",
};

fn distinct_check(facts: &Facts) -> Check {
    let id = "review-fire.distinct-tokens";
    let fix_distinct = "use a token of another account for SHIPGATE_STATUS_TOKEN (e.g. a status bot with write:repository), so the reader's own approvals can never post a gate";
    if facts.read.present && facts.status.present && facts.same_token {
        return check(
            id,
            "review-fire",
            State::Fail,
            "SHIPGATE_TOKEN and SHIPGATE_STATUS_TOKEN are the same token",
            fix_distinct,
        );
    }
    match (&facts.read.login, &facts.status.login) {
        (Seen::Yes(a), Seen::Yes(b)) if a.eq_ignore_ascii_case(b) => check(
            id,
            "review-fire",
            State::Fail,
            format!("both tokens belong to `{a}`"),
            fix_distinct,
        ),
        (Seen::Yes(a), Seen::Yes(b)) => check(
            id,
            "review-fire",
            State::Pass,
            format!("the read token is `{a}`'s, the status token `{b}`'s"),
            "",
        ),
        (_, status) => check(
            id,
            "review-fire",
            State::Unknown,
            format!(
                "whose the status token is could not be read{}",
                match status {
                    Seen::Refused(why) | Seen::Unknown(why) => format!(": {why}"),
                    Seen::Yes(_) => String::new(),
                }
            ),
            "give SHIPGATE_STATUS_TOKEN read:user as well (GET /user names its account), and SHIPGATE_TOKEN read:user",
        ),
    }
}

// ---- teams and labels -------------------------------------------------------------------

fn teams_check(facts: &Facts, id: &str, mode: &'static str, named: &[String]) -> Check {
    if named.is_empty() {
        return check(
            id,
            mode,
            State::Pass,
            "the config names no teams for this mode",
            "",
        );
    }
    let reader = facts
        .read
        .login
        .ok()
        .cloned()
        .unwrap_or_else(|| "the read token's account".to_owned());
    let teams = match &facts.read.teams {
        Seen::Yes(t) => t,
        Seen::Refused(why) => {
            return check(
                id,
                mode,
                State::Fail,
                format!("the teams of `{}` could not be listed: {why}", facts.org),
                format!(
                    "give SHIPGATE_TOKEN read:organization, and make `{reader}` a member of `{}`",
                    facts.org
                ),
            )
        }
        Seen::Unknown(why) => {
            return check(
                id,
                mode,
                State::Unknown,
                format!("the teams of `{}` could not be listed: {why}", facts.org),
                "re-run when the server answers",
            )
        }
    };
    let mut missing = Vec::new();
    let mut forbidden = Vec::new();
    let mut unknown = Vec::new();
    for name in named {
        if !teams.iter().any(|t| t.name.eq_ignore_ascii_case(name)) {
            missing.push(name.clone());
            continue;
        }
        match facts.probes.get(name) {
            Some(Probe::Answered) => {}
            Some(Probe::Forbidden(_)) => forbidden.push(name.clone()),
            Some(Probe::Unknown(why)) => unknown.push(format!("`{name}` ({why})")),
            None => unknown.push(format!("`{name}` (not probed)")),
        }
    }
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    if !missing.is_empty() {
        problems.push(format!(
            "{} do not exist in `{}` or are hidden from `{reader}`",
            ticks(&missing),
            facts.org
        ));
        fixes.push(format!(
            "create them (Organization → Teams → New team), fix the names in .gitea/shipgate.yml, or (Gitea 1.27+, private teams) add `{reader}` to them or make it an org owner"
        ));
    }
    if !forbidden.is_empty() {
        problems.push(format!(
            "`{reader}` may not probe the members of {} (403 \"Must be a team member\")",
            ticks(&forbidden)
        ));
        fixes.push(format!(
            "add `{reader}` to {} (Organization → Teams → the team → Add member; `PUT /teams/{{id}}/members/{reader}`), or make it an owner of `{}`",
            ticks(&forbidden),
            facts.org
        ));
    }
    if !problems.is_empty() {
        return check(id, mode, State::Fail, problems.join("; "), fixes.join("; "));
    }
    if !unknown.is_empty() {
        return check(
            id,
            mode,
            State::Unknown,
            format!(
                "membership probes could not be made: {}",
                unknown.join(", ")
            ),
            "re-run when the server answers",
        );
    }
    check(
        id,
        mode,
        State::Pass,
        format!(
            "{} exist in `{}`, and `{reader}` may probe their members",
            ticks(named),
            facts.org
        ),
        "",
    )
}

fn labels_check(facts: &Facts, config: &Config) -> Check {
    let id = "tier.labels";
    let labels = &config.tier.labels;
    let wanted = [
        labels.low.clone(),
        labels.medium.clone(),
        labels.high.clone(),
    ];
    let present = match &facts.read.labels {
        Seen::Yes(l) => l,
        Seen::Refused(why) | Seen::Unknown(why) => {
            return check(
                id,
                "tier",
                State::Unknown,
                format!("the repository's labels could not be read: {why}"),
                "give SHIPGATE_TOKEN read:issue and re-run",
            )
        }
    };
    let missing: Vec<String> = wanted
        .iter()
        .filter(|w| !present.contains(w))
        .cloned()
        .collect();
    if missing.is_empty() {
        return check(
            id,
            "tier",
            State::Pass,
            format!("{} exist", ticks(&wanted)),
            "",
        );
    }
    let create = format!(
        "create {} (Repository → Issues → Labels → New label; `POST /repos/{}/labels`), or give the token's account write access so shipgate creates them",
        ticks(&missing),
        facts.repo
    );
    match &facts.read.repo {
        Seen::Yes(permission) if permission.push || permission.admin => check(
            id,
            "tier",
            State::Pass,
            format!("{} missing; the token's account has write access, so shipgate creates them on first use", ticks(&missing)),
            "",
        ),
        Seen::Yes(_) => check(
            id,
            "tier",
            State::Fail,
            format!("{} missing, and the token's account has no write access to create them", ticks(&missing)),
            create,
        ),
        Seen::Refused(why) | Seen::Unknown(why) => check(
            id,
            "tier",
            State::Unknown,
            format!("{} missing, and whether the token may create them is unknown: {why}", ticks(&missing)),
            create,
        ),
    }
}

// ---- modes ------------------------------------------------------------------------------

fn config_dependent(checks: &mut Vec<Check>, ids: &[&str], mode: &'static str) {
    for id in ids {
        checks.push(check(id, mode, State::Unknown, NO_CONFIG, NO_CONFIG_FIX));
    }
}

fn sync_checks(facts: &Facts, checks: &mut Vec<Check>) {
    checks.push(workflow_check(facts, Scope::Sync));
    let Some(config) = facts.config() else {
        config_dependent(checks, &["sync.token", "sync.staging-push"], "sync");
        return;
    };
    checks.push(token_check(
        "sync.token",
        "sync",
        &facts.read,
        &[USER, PUSH, CODE_WRITE],
        config.sync.expect_login.as_deref(),
        &[],
    ));
    checks.push(staging_push_check(facts, &config));
}

fn tier_checks(facts: &Facts, checks: &mut Vec<Check>) {
    checks.push(workflow_check(facts, Scope::Tier));
    let Some(config) = facts.config() else {
        config_dependent(checks, &["tier.token", "tier.labels", "tier.teams"], "tier");
        return;
    };
    let mut needs = vec![REPOSITORY, USER, ISSUE];
    if !config.tier.override_teams.is_empty() {
        needs.push(ORGANIZATION);
    }
    checks.push(token_check(
        "tier.token",
        "tier",
        &facts.read,
        &needs,
        None,
        &["write:issue"],
    ));
    checks.push(labels_check(facts, &config));
    checks.push(teams_check(
        facts,
        "tier.teams",
        "tier",
        &config.tier.override_teams,
    ));
}

/// Every team the review config names: roster, gates and the tier clauses.
pub fn review_teams(config: &Config) -> Vec<String> {
    let mut teams: Vec<String> = Vec::new();
    let mut add = |t: &str| {
        if !teams.iter().any(|x| x == t) {
            teams.push(t.to_owned());
        }
    };
    for t in &config.review.roster_teams {
        add(t);
    }
    for g in &config.review.gates {
        for t in g.teams() {
            add(&t);
        }
    }
    for text in [
        &config.review.tiers.low,
        &config.review.tiers.medium,
        &config.review.tiers.high,
    ] {
        for clause in config::parse_clauses(text).unwrap_or_default() {
            for t in clause {
                add(&t);
            }
        }
    }
    teams
}

fn review_checks(facts: &Facts, checks: &mut Vec<Check>) {
    checks.push(workflow_check(facts, Scope::ReviewFire));
    let Some(config) = facts.config() else {
        config_dependent(
            checks,
            &[
                "review-fire.contexts",
                "review-fire.dismiss-stale",
                "review-fire.approvals",
                "review-fire.read-token",
                "review-fire.status-token",
                "review-fire.distinct-tokens",
                "review-fire.teams",
            ],
            "review-fire",
        );
        return;
    };
    checks.push(contexts_check(facts, &config));
    checks.push(dismiss_stale_check(facts, &config));
    checks.push(approvals_check(facts, &config));
    checks.push(token_check(
        "review-fire.read-token",
        "review-fire",
        &facts.read,
        &[REPOSITORY, ISSUE, ORGANIZATION, USER],
        None,
        &[],
    ));
    checks.push(merger_check(
        facts,
        &config,
        token_check(
            "review-fire.status-token",
            "review-fire",
            &facts.status,
            &[PUSH, CODE_WRITE],
            None,
            &[],
        ),
    ));
    checks.push(distinct_check(facts));
    checks.push(teams_check(
        facts,
        "review-fire.teams",
        "review-fire",
        &review_teams(&config),
    ));
}

/// `` `a`, `b` ``
fn ticks(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
