//! The I/O half of `shipgate doctor`: every read, with each token, before anything is
//! decided. Only GETs (and one receive-pack advertisement, which is a GET that proves a
//! push would be accepted without pushing): nothing is ever written.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::checks::{
    self, Check, ConfigFact, Facts, Probe, Scope, Seen, State, TokenFacts, Workflow,
};
use crate::code::Code;
use crate::{
    arguments::DoctorArgs,
    config::{self, Config},
    context::{RepoRef, Secret},
    forge,
    git::{self, remote::Remote},
    report::{Mode, Outcome, Verdict},
    Error, Invocation,
};

/// Run `shipgate doctor`.
pub async fn run(invocation: &Invocation, args: &DoctorArgs) -> Result<Outcome, Error> {
    let repo = invocation.ctx.require_repo()?.clone();
    let api = invocation.ctx.require_api()?.to_owned();
    let server = invocation.ctx.require_server()?.to_owned();
    let scope = args.mode;
    let modes = scope.modes();
    let wants = |m: Scope| modes.contains(&m);

    let client =
        |token: &Secret| forge::Client::new(&api, token.clone(), invocation.forge_options.clone());
    let read_token = invocation.ctx.token.clone();
    let status_token = invocation.ctx.status_token.clone();
    let read_client = read_token.as_ref().map(client).transpose()?;
    let status_client = status_token.as_ref().map(client).transpose()?;

    // The repository and the config first: they name the org, teams and branches.
    let (repository, server_version) = match &read_client {
        Some(c) => (
            seen(c.repository(&repo).await),
            seen(c.server_version().await.map(|v| v.version)),
        ),
        None => (no_token::<_>(), no_token::<_>()),
    };
    let default_branch = repository.then(|r| Seen::Yes(r.default_branch.clone()));
    let config_fact = read_config(invocation, read_client.as_ref(), &repo, &default_branch).await;
    let config = match &config_fact {
        ConfigFact::Absent => Some(Config::default()),
        ConfigFact::Valid { config, .. } => Some((**config).clone()),
        _ => None,
    };
    let org = config
        .as_ref()
        .and_then(|c| c.review.org.clone().or_else(|| c.tier.org.clone()))
        .unwrap_or_else(|| repo.owner.clone());

    let workflows = match (&read_client, &default_branch) {
        (Some(c), Seen::Yes(branch)) => read_workflows(c, &repo, branch, config.as_ref()).await,
        (Some(_), Seen::Refused(why) | Seen::Unknown(why)) => Seen::Unknown(why.clone()),
        (None, _) => no_token::<_>(),
    };
    let protections = match &read_client {
        Some(c) => seen(c.branch_protections(&repo).await),
        None => no_token::<_>(),
    };

    let remote_url = format!("{server}/{repo}.git");
    let mut read = match (&read_client, &read_token) {
        (Some(c), Some(token)) => {
            let push = if wants(Scope::Sync) || wants(Scope::Promote) {
                push_probe(&remote_url, token, invocation).await
            } else {
                Seen::Unknown("not needed for this mode".into())
            };
            TokenFacts {
                var: "SHIPGATE_TOKEN",
                present: true,
                login: seen(c.current_user().await.map(|u| u.login)),
                repo: repository.then(|r| present(r.permissions, "permissions")),
                labels: seen(
                    c.repo_labels(&repo)
                        .await
                        .map(|l| l.into_iter().map(|l| l.name).collect()),
                ),
                teams: seen(c.org_teams(&org).await),
                push,
                disclosed: disclosed_scopes(c).await,
            }
        }
        _ => TokenFacts::absent("SHIPGATE_TOKEN"),
    };
    if !(wants(Scope::Sync) || wants(Scope::Promote)) && read.present {
        read.push = Seen::Unknown("not needed for this mode".into());
    }
    let status = match (&status_client, &status_token) {
        (Some(c), Some(token)) if wants(Scope::ReviewFire) => TokenFacts {
            var: "SHIPGATE_STATUS_TOKEN",
            present: true,
            login: seen(c.current_user().await.map(|u| u.login)),
            repo: seen(
                c.repository(&repo)
                    .await
                    .map(|r| r.permissions.unwrap_or_default()),
            ),
            labels: Seen::Unknown("not needed".into()),
            teams: Seen::Unknown("not needed".into()),
            push: push_probe(&remote_url, token, invocation).await,
            disclosed: disclosed_scopes(c).await,
        },
        _ => TokenFacts::absent("SHIPGATE_STATUS_TOKEN"),
    };

    // Membership probes of the read token's own account in every team the config names.
    let mut probes = BTreeMap::new();
    if let (Some(c), Some(config)) = (&read_client, &config) {
        let mut named = Vec::new();
        if wants(Scope::ReviewFire) {
            named.extend(checks::review_teams(config));
        }
        if wants(Scope::Tier) {
            named.extend(config.tier.override_teams.iter().cloned());
        }
        for name in named {
            if probes.contains_key(&name) {
                continue;
            }
            let probe = match (read.teams.ok(), read.login.ok()) {
                (Some(teams), Some(login)) => match teams
                    .iter()
                    .find(|t| t.name.eq_ignore_ascii_case(&name))
                {
                    Some(team) => match c.is_team_member(team.id, login).await {
                        Ok(_) => Probe::Answered,
                        Err(e @ forge::Error::Forbidden { .. }) => Probe::Forbidden(e.to_string()),
                        Err(e) => Probe::Unknown(e.to_string()),
                    },
                    None => continue,
                },
                _ => {
                    Probe::Unknown("the read token's account or the org's teams are unknown".into())
                }
            };
            probes.insert(name, probe);
        }
    }

    let same_token = match (&read_token, &status_token) {
        (Some(a), Some(b)) => a.expose() == b.expose(),
        _ => false,
    };
    let mut pins = BTreeMap::new();
    if let (Some(c), Seen::Yes(workflows)) = (&read_client, &workflows) {
        for workflow in workflows {
            let Ok(shape) = checks::workflow_shape(&workflow.text) else {
                continue;
            };
            for step in shape.steps {
                if pins.contains_key(&step.uses) {
                    continue;
                }
                let pin = read_pin(c, &server, &step.uses).await;
                pins.insert(step.uses, pin);
            }
        }
    }
    // sync's and promote's target branches, as the token's account sees them.
    let mut branches = BTreeMap::new();
    if let (Some(c), Some(config)) = (&read_client, &config) {
        let mut names = Vec::new();
        if wants(Scope::Sync) {
            names.push(config.sync.to.clone());
        }
        if wants(Scope::Promote) {
            names.push(config.promote.to.clone());
        }
        for name in names {
            if let std::collections::btree_map::Entry::Vacant(slot) = branches.entry(name) {
                let branch = seen(c.branch(&repo, slot.key()).await);
                slot.insert(branch);
            }
        }
    }
    // review.merge: may the status account merge into the review branches?
    let mut status_can_merge = BTreeMap::new();
    if let (Some(c), Some(config)) = (&status_client, &config) {
        if wants(Scope::ReviewFire) && config.review.merge.is_some() {
            for name in &config.review.branches {
                let can = seen(c.branch(&repo, name).await)
                    .then(|b| present(b.user_can_merge, "user_can_merge"));
                status_can_merge.insert(name.clone(), can);
            }
        }
    }
    let fast_forward_only = repository.then(|r| {
        present(
            r.allow_fast_forward_only_merge,
            "allow_fast_forward_only_merge",
        )
    });
    let facts = Facts {
        repo: repo.to_string(),
        org,
        server_version,
        default_branch,
        config: config_fact,
        workflows,
        protections,
        read,
        status,
        same_token,
        probes,
        pins,
        branches,
        fast_forward_only,
        status_can_merge,
    };
    Ok(outcome(scope, &checks::decide(&facts, scope)))
}

/// A forge answer as a fact: 401/403/404 are verified refusals, the rest could not check.
fn seen<T>(result: Result<T, forge::Error>) -> Seen<T> {
    match result {
        Ok(v) => Seen::Yes(v),
        Err(
            e @ (forge::Error::Unauthorized { .. }
            | forge::Error::Forbidden { .. }
            | forge::Error::NotFound { .. }),
        ) => Seen::Refused(format!("{e} ({})", e.hint())),
        Err(e) => Seen::Unknown(e.to_string()),
    }
}

async fn read_config(
    invocation: &Invocation,
    client: Option<&forge::Client>,
    repo: &RepoRef,
    branch: &Seen<String>,
) -> ConfigFact {
    if let Some(path) = &invocation.config_path {
        return match Config::load(path) {
            Ok(config) => ConfigFact::Valid {
                origin: path.display().to_string(),
                config: Box::new(config),
            },
            Err(e @ config::Error::Read { .. }) => ConfigFact::Unreadable(e.to_string()),
            Err(e) => ConfigFact::Invalid {
                origin: path.display().to_string(),
                message: problems(&e),
            },
        };
    }
    let (Some(client), Seen::Yes(branch)) = (client, branch) else {
        return ConfigFact::Unreadable(match branch {
            Seen::Refused(why) | Seen::Unknown(why) => why.clone(),
            Seen::Yes(_) => "`SHIPGATE_TOKEN` is not set".into(),
        });
    };
    let origin = format!("{}@{branch}", config::DEFAULT_PATH);
    match client.file_at(repo, config::DEFAULT_PATH, branch).await {
        Ok(None) => ConfigFact::Absent,
        Ok(Some(bytes)) => match Config::from_bytes(&bytes, &origin) {
            Ok(config) => ConfigFact::Valid {
                origin,
                config: Box::new(config),
            },
            Err(e) => ConfigFact::Invalid {
                origin,
                message: problems(&e),
            },
        },
        Err(e) => ConfigFact::Unreadable(e.to_string()),
    }
}

/// The problems of an invalid config, without the origin the check already names.
fn problems(error: &config::Error) -> String {
    match error {
        config::Error::Invalid { problems, .. } => config::Problem::list(problems),
        config::Error::Parse { message, .. } => message.clone(),
        config::Error::Read { .. } => error.to_string(),
    }
}

/// Every workflow file on `branch`: each `*.yml`/`*.yaml` under `.gitea/workflows/` and
/// `.github/workflows/` (listed through the git trees API), and the gates' `workflow` files.
async fn read_workflows(
    client: &forge::Client,
    repo: &RepoRef,
    branch: &str,
    config: Option<&Config>,
) -> Seen<Vec<Workflow>> {
    let root = match client.tree(repo, branch).await {
        Ok(root) => root,
        Err(e) => return seen(Err(e)),
    };
    let mut paths: Vec<String> = Vec::new();
    for dir in [".gitea/workflows", ".github/workflows"] {
        match list_dir(client, repo, &root, dir).await {
            Ok(files) => paths.extend(
                files
                    .into_iter()
                    .filter(|f| f.ends_with(".yml") || f.ends_with(".yaml"))
                    .map(|f| format!("{dir}/{f}")),
            ),
            Err(e) => return seen(Err(e)),
        }
    }
    for gate in config
        .map(|c| c.review.gates.as_slice())
        .unwrap_or_default()
    {
        if let Some(path) = &gate.workflow {
            if !paths.contains(path) {
                paths.push(path.clone());
            }
        }
    }
    let mut workflows = Vec::new();
    for path in paths {
        match client.file_at(repo, &path, branch).await {
            Ok(Some(bytes)) => workflows.push(Workflow {
                path,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            }),
            Ok(None) => {}
            Err(e) => return seen(Err(e)),
        }
    }
    Seen::Yes(workflows)
}

/// The names of the files (blobs) directly in `dir` below `root`; empty when `dir` does
/// not exist. One tree read per path component.
async fn list_dir(
    client: &forge::Client,
    repo: &RepoRef,
    root: &forge::Tree,
    dir: &str,
) -> Result<Vec<String>, forge::Error> {
    let mut tree = root.clone();
    for part in dir.split('/') {
        let next = tree
            .tree
            .unwrap_or_default()
            .into_iter()
            .find(|e| e.path == part && e.kind == "tree");
        match next {
            Some(entry) => tree = client.tree(repo, &entry.sha).await?,
            None => return Ok(Vec::new()),
        }
    }
    Ok(tree
        .tree
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.kind == "blob")
        .map(|e| e.path)
        .collect())
}

/// `dist/SHA256SUMS` and `dist/VERSION` at the pinned ref of a `uses:` on this server.
async fn read_pin(client: &forge::Client, server: &str, uses: &str) -> Seen<checks::Pin> {
    let Some((base, action_repo, git_ref)) = checks::parse_uses(uses) else {
        return Seen::Unknown(format!("`{uses}` is not a full URL"));
    };
    if base.trim_end_matches('/') != server.trim_end_matches('/') {
        return Seen::Unknown(format!(
            "the action lives on `{base}`, not on this server (`{server}`); doctor reads only this server"
        ));
    }
    let Some(action) = RepoRef::parse(&action_repo) else {
        return Seen::Unknown(format!("`{action_repo}` is not OWNER/NAME"));
    };
    let text = |bytes: Option<Vec<u8>>| bytes.map(|b| String::from_utf8_lossy(&b).into_owned());
    let sums = match client.file_at(&action, "dist/SHA256SUMS", &git_ref).await {
        Ok(bytes) => text(bytes),
        Err(e) => return seen(Err(e)),
    };
    let version = match client.file_at(&action, "dist/VERSION", &git_ref).await {
        Ok(bytes) => text(bytes),
        Err(e) => return seen(Err(e)),
    };
    Seen::Yes(checks::Pin { sums, version })
}

/// The token's scopes, as the server lists them when it refuses a read the token has no
/// scope for (`GET /notifications/new`, read:notification, which shipgate's tokens lack).
async fn disclosed_scopes(client: &forge::Client) -> Seen<Vec<String>> {
    match client.new_notifications().await {
        Ok(_) => Seen::Unknown(
            "the token holds read:notification, so the server had no reason to list its scopes"
                .into(),
        ),
        Err(e) => match e.disclosed_scopes() {
            Some(scopes) => Seen::Yes(scopes),
            None if e.is_missing_scope() => Seen::Unknown(
                "this server's refusal does not list the token's scopes (Gitea before 1.27)".into(),
            ),
            None => Seen::Unknown(format!("the scope probe gave no list: {e}")),
        },
    }
}

/// An authenticated receive-pack advertisement: proves the token may push (code write and
/// write:repository) without pushing anything.
async fn push_probe(url: &str, token: &Secret, invocation: &Invocation) -> Seen<()> {
    let remote = match Remote::new(url, token.clone()) {
        Ok(remote) => remote.with_connect_timeout(invocation.forge_options.connect_timeout),
        Err(e) => return Seen::Unknown(e.to_string()),
    };
    let result =
        tokio::task::spawn_blocking(move || git::push::Pusher::connect(&remote).map(|_| ())).await;
    match result {
        Ok(Ok(())) => Seen::Yes(()),
        Ok(Err(
            e @ (git::Error::Unauthorized { .. }
            | git::Error::Forbidden { .. }
            | git::Error::NotFound { .. }),
        )) => Seen::Refused(e.to_string()),
        Ok(Err(e)) => Seen::Unknown(e.to_string()),
        Err(e) => Seen::Unknown(format!("the worker thread failed: {e}")),
    }
}

/// The checks as an outcome: text lines, the JSON `checks`, the exit code.
pub fn outcome(scope: Scope, checks: &[Check]) -> Outcome {
    let count = |s: State| checks.iter().filter(|c| c.state == s).count();
    let verdict = match checks::exit_code(checks) {
        0 => Verdict::Ok,
        1 => Verdict::No,
        _ => Verdict::CannotVerify,
    };
    let mut details = String::new();
    for c in checks {
        details.push_str(&format!("{} {} — {}\n", c.state.symbol(), c.id, c.found));
        if !c.fix.is_empty() {
            details.push_str(&format!("    fix: {}\n", c.fix));
        }
    }
    let json_checks: Vec<Value> = checks
        .iter()
        .map(|c| json!({"id": c.id, "mode": c.mode, "state": c.state.as_str(), "found": c.found, "fix": c.fix}))
        .collect();
    let mut outcome = Outcome::new(Mode::Doctor, verdict)
        .reason(format!(
            "{} ✓, {} ✗, {} ? ({} checks for `{}`)",
            count(State::Pass),
            count(State::Fail),
            count(State::Unknown),
            checks.len(),
            scope.as_str()
        ))
        .field("scope", scope.as_str())
        .field("checks", Value::Array(json_checks));
    outcome.details = details;
    let named = |s: State| -> Vec<String> {
        checks
            .iter()
            .filter(|c| c.state == s)
            .map(|c| format!("`{}`", c.id))
            .collect()
    };
    match verdict {
        Verdict::No => {
            outcome = outcome.failure(
                Code::DoctorSetupIncomplete,
                format!("failed: {}", named(State::Fail).join(", ")),
                "apply each ✗ check's `fix`, then re-run `shipgate doctor`",
            );
        }
        Verdict::CannotVerify => {
            outcome = outcome.failure(
                Code::DoctorSetupUnverified,
                format!("could not check: {}", named(State::Unknown).join(", ")),
                "each `?` check says what to check by hand or which token to use; unverified is not ✓",
            );
        }
        _ => {}
    }
    outcome
}

/// A field of the repository that may be absent: absent is unknown, never a default.
fn present<T>(value: Option<T>, field: &str) -> Seen<T> {
    value.map_or_else(
        || Seen::Unknown(format!("the repository came without `{field}`")),
        Seen::Yes,
    )
}

fn no_token<T>() -> Seen<T> {
    Seen::Unknown("`SHIPGATE_TOKEN` is not set, so nothing could be read".to_owned())
}
