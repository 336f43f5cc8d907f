//! Gitea runs the examples: the action released on a real Gitea as the README says, each
//! example installed in an app repository as its header says, and every run started by an
//! event Gitea delivered to its own scheduler, handed out through its runner API and run by
//! act (`support::runner`). The harness chooses nothing: tests assert on what Gitea handed
//! out (which copy of the workflow, which event, which commit, which secrets) and on what
//! the run did to the repository.

use std::{collections::BTreeMap, sync::Mutex};

use super::*;
use crate::support::{
    real_gitea::{secure_main_rule, Change, RealGitea, Repo},
    runner::{Ran, Runner},
};

/// The action's repository on every server: what `uses:` names.
const ACTION_NAME: &str = "shipgate";

/// Releases the action on `g` once per test run, as the README's "Releasing" says: the
/// repository pushed (with the packaged `dist/SHA256SUMS` committed), tagged `vX.Y.Z` and
/// `v1`, and `dist/release.sh vX.Y.Z` uploading the packaged assets. Returns the `uses:`
/// value a user writes: `http://HOST/acme/shipgate@v1`.
#[track_caller]
fn released(g: &'static RealGitea) -> String {
    static RELEASED: Mutex<BTreeMap<&'static str, String>> = Mutex::new(BTreeMap::new());
    let mut released = RELEASED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(uses) = released.get(g.name) {
        return uses.clone();
    }
    let package = package();
    let repo = format!("acme/{ACTION_NAME}");
    g.admin(
        "POST",
        "/orgs/acme/repos",
        Some(json!({"name": ACTION_NAME, "auto_init": false, "private": false, "default_branch": "main"})),
    );

    // The repository as its working tree has it (tracked files), with the release commit's
    // dist/VERSION and dist/SHA256SUMS: what `dist/package.sh`, commit, tag leaves.
    let copy = tempdir("action-repo");
    let listed = Command::new("git")
        .current_dir(ROOT)
        .args(["ls-files", "-z"])
        .output()
        .expect("git ls-files");
    for file in listed.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let name = String::from_utf8_lossy(file).into_owned();
        if name.starts_with("fuzz/corpus/") || name.starts_with("fuzz/artifacts/") {
            continue;
        }
        let from = Path::new(ROOT).join(&name);
        if !from.is_file() {
            continue;
        }
        let to = copy.path().join(&name);
        fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {name}: {e}"));
    }
    // Every target listed (dist/release.sh refuses less): this suite's build and a stand-in
    // for the target it cannot build, as dist/out will hold.
    let out = copy.path().join("dist/out");
    let sums = write_release_out(package, &out);
    fs::write(copy.path().join("dist/SHA256SUMS"), &sums).expect("write SHA256SUMS");
    fs::write(
        copy.path().join("dist/VERSION"),
        format!("{}\n", package.version),
    )
    .expect("write VERSION");
    let tag = package.tag();
    let auth = format!("http.extraHeader=Authorization: token {}", g.admin_token());
    let url = format!("{}/{repo}.git", g.url);
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &["commit", "-qm", &format!("release {tag}")],
        &["tag", &tag],
        &["tag", "v1"],
        &["-c", &auth, "push", "-q", &url, "main", &tag, "v1"],
    ] {
        crate::support::real_gitea::git(copy.path(), args);
    }

    // Gitea marks a repository non-empty after the push, asynchronously; a release of an
    // empty one is refused (422 "repo is empty").
    let started = Instant::now();
    while g.admin("GET", &format!("/repos/{repo}"), None)["empty"] != json!(false) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{repo} stays empty after the push"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let release = Command::new("bash")
        .arg(copy.path().join("dist/release.sh"))
        .arg(&tag)
        .env("RELEASE_SERVER", &g.url)
        .env("RELEASE_REPOSITORY", &repo)
        .env("RELEASE_TOKEN", g.admin_token())
        .env("RELEASE_DIR", &out)
        .stdin(Stdio::null())
        .output()
        .expect("run dist/release.sh");
    assert!(
        release.status.success(),
        "dist/release.sh {tag} on {}: {}{}",
        g.name,
        String::from_utf8_lossy(&release.stdout),
        String::from_utf8_lossy(&release.stderr)
    );
    let uses = format!("{}/{repo}@v1", g.url);
    released.insert(g.name, uses.clone());
    uses
}

/// An example as a user installs it: its `uses:` pointed at the released action.
#[track_caller]
fn installed(g: &'static RealGitea, name: &str) -> String {
    let text = fs::read_to_string(Path::new(ROOT).join("examples").join(name))
        .unwrap_or_else(|e| panic!("read examples/{name}: {e}"));
    assert!(text.contains(EXAMPLE_USES), "examples/{name}");
    text.replace(EXAMPLE_USES, &released(g))
}

/// A repository secret, as a user adds it in the settings.
fn secret(repo: &Repo<'_>, name: &str, value: &str) {
    repo.gitea.admin(
        "PUT",
        &repo.path(&format!("/actions/secrets/{name}")),
        Some(json!({"data": value})),
    );
}

/// One commit on staging (by the sync account, the one allowed to push there), then one on
/// main (by alice); their SHAs.
fn diverge(repo: &Repo<'_>, staging: (&str, &str), main: (&str, &str)) -> (String, String) {
    let on_staging = repo.commit(
        "devops-engineer",
        "staging",
        None,
        "on staging",
        &[Change::Create(staging.0, staging.1)],
    );
    let on_main = repo.commit(
        "alice",
        "main",
        None,
        "on main",
        &[Change::Create(main.0, main.1)],
    );
    (on_staging, on_main)
}

/// The commit's parents, from the API.
fn parents(repo: &Repo<'_>, sha: &str) -> Vec<String> {
    let body = repo
        .gitea
        .admin("GET", &repo.path(&format!("/git/commits/{sha}")), None);
    body["parents"]
        .as_array()
        .expect("parents")
        .iter()
        .map(|p| p["sha"].as_str().expect("parent sha").to_owned())
        .collect()
}

/// `::error` lines of a log (each workflow command must be reported once).
fn error_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("::error")).collect()
}

/// The log of a finished run as Gitea serves it (1.27: the jobs API), or `None` where
/// the server has no such API (1.22.6).
fn served_log(ran: &Ran, repo: &Repo<'_>) -> Option<String> {
    if repo.gitea.version.starts_with("1.22") {
        return None;
    }
    let jobs = repo.gitea.admin(
        "GET",
        &repo.path(&format!("/actions/runs/{}/jobs", ran.task.run_id())),
        None,
    );
    let id = jobs["jobs"][0]["id"].as_i64().expect("job id");
    let (status, _, body) = repo.gitea.call(
        "GET",
        &repo.path(&format!("/actions/jobs/{id}/logs")),
        Some(repo.gitea.admin_token()),
        None,
    );
    assert_eq!(status, 200, "job log: {status} {body}");
    Some(
        body.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| body.to_string()),
    )
}

/// push to main → staging fast-forwarded; staging diverged → a merge commit; a conflict → a
/// red run whose `::error` Gitea's log holds once.
fn auto_sync_keeps_staging_a_superset_of_main(g: &'static RealGitea) {
    let repo = g.repo("sched-sync");
    repo.protect_staging(&["devops-engineer"]);
    secret(&repo, "SHIPGATE_SYNC_TOKEN", g.token("devops-engineer"));
    let runner = Runner::register(&repo);

    // Installing the workflow is itself a push to main: Gitea runs main's new copy of it.
    let flow = installed(g, "auto-sync.yml");
    repo.put_file("main", ".gitea/workflows/auto-sync.yml", &flow);
    let main = repo.tip("main");
    let ran = runner.run_next();
    ran.succeeded();
    assert_eq!(ran.task.event_name(), "push");
    assert_eq!(ran.task.sha(), main, "Gitea ran the pushed commit");
    assert_eq!(ran.task.git_ref(), "refs/heads/main");
    assert_eq!(ran.task.workflow_file(), "auto-sync.yml");
    assert!(
        ran.task.workflow.contains("mode: sync"),
        "{}",
        ran.task.workflow
    );
    assert!(
        ran.task.secrets.contains_key("SHIPGATE_SYNC_TOKEN"),
        "a push to main gets the repository's secrets"
    );
    assert_eq!(
        repo.tip("staging"),
        main,
        "staging fast-forwarded:\n{}",
        ran.log
    );

    // staging diverged: a merge commit of both tips.
    let (on_staging, on_main) = diverge(
        &repo,
        ("hotfix.txt", "hotfix\n"),
        ("feature.txt", "feature\n"),
    );
    let ran = runner.run_next();
    ran.succeeded();
    assert_eq!(ran.task.sha(), on_main);
    let staging = repo.tip("staging");
    let mut got = parents(&repo, &staging);
    got.sort();
    let mut want = vec![on_staging.clone(), on_main.clone()];
    want.sort();
    assert_eq!(got, want, "staging is a merge of both tips:\n{}", ran.log);
    if let Some(log) = served_log(&ran, &repo) {
        assert!(log.contains("merge"), "Gitea's log of the run:\n{log}");
    }

    // A conflict: red, one ::error, staging untouched.
    let (before, _) = diverge(&repo, ("clash.txt", "staging\n"), ("clash.txt", "main\n"));
    let ran = runner.run_next();
    ran.failed();
    assert_eq!(repo.tip("staging"), before, "a conflict moves nothing");
    assert_eq!(error_lines(&ran.log).len(), 1, "one ::error:\n{}", ran.log);
    if let Some(log) = served_log(&ran, &repo) {
        let errors = error_lines(&log);
        assert_eq!(
            errors.len(),
            1,
            "Gitea's log holds the ::error once:\n{log}"
        );
        assert!(errors[0].contains("conflict"), "{log}");
    }
    runner.assert_idle(Duration::from_secs(2));
}

/// Gitea's choices, pinned: which copy of a workflow each event runs, and which runs get
/// the repository's secrets. A Gitea that changes one fails here: read the README's trust
/// section again before moving a version.
fn gitea_picks_the_workflow_copy_and_the_secrets_per_event(g: &'static RealGitea) {
    let repo = g.repo("sched-facts");
    secret(&repo, "FACT_SECRET", "fact-secret-value-7d41c9e2");
    let runner = Runner::register(&repo);
    let flow = |copy: &str| {
        format!(
            "name: which\non:\n  pull_request_target:\n  pull_request_review:\n  issue_comment:\njobs:\n  \
             which:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"copy={copy}\"\n"
        )
    };
    repo.put_file(
        "main",
        ".gitea/workflows/which.yml",
        &flow("default-branch"),
    );
    runner.assert_idle(Duration::from_secs(2));
    // Each step, then every task Gitea hands out for it: (step, event, copy, secret given).
    let mut seen: Vec<(&str, String, &str, bool)> = Vec::new();
    let mut drain = |step: &'static str| {
        while let Some(task) = runner.try_next(Duration::from_secs(3)) {
            let ran = runner.run(task);
            ran.succeeded();
            let copy = if ran.task.workflow.contains("copy=pr-head") {
                "pr-head"
            } else if ran.task.workflow.contains("copy=default-branch") {
                "default-branch"
            } else {
                panic!("unknown copy: {}", ran.task.workflow)
            };
            assert!(
                ran.log.contains(&format!("copy={copy}")),
                "act ran the copy Gitea handed out:\n{}",
                ran.log
            );
            seen.push((
                step,
                format!(
                    "{}/{}",
                    ran.task.event_name(),
                    ran.task.context["event"]["action"].as_str().unwrap_or("-")
                ),
                copy,
                ran.task.secrets.contains_key("FACT_SECRET"),
            ));
        }
    };
    // The PR's head changes its copy of the workflow.
    let number = repo.pr_from_new_branch(
        "alice",
        "feature",
        "change the workflow and code",
        &[
            Change::Update(".gitea/workflows/which.yml", &flow("pr-head")),
            Change::Create("src.txt", "code\n"),
        ],
    );
    drain("open");
    // A review by someone else (the author cannot approve her own PR).
    repo.review("erin", number, "COMMENT", &[]);
    drain("review");
    repo.comment("olga", number, "/qa-recheck");
    drain("comment");

    // README: Trust model. Same-repository PRs: every run gets the repository's secrets.
    let owned = |(step, event, copy, secret): &(&str, String, &str, bool)| {
        (step.to_string(), event.clone(), copy.to_string(), *secret)
    };
    let mut seen: Vec<(String, String, String, bool)> = seen.iter().map(owned).collect();
    // The branch's push is processed asynchronously: when Gitea gets to it after the PR
    // exists, it also fires `synchronized` (seen on both versions, not every time). Such a
    // run must be the same as `opened`'s: the default branch's copy.
    let late =
        |entry: &(String, String, String, bool)| entry.1 == "pull_request_target/synchronized";
    for entry in seen.iter().filter(|e| late(e)) {
        assert_eq!(entry.2, "default-branch", "{entry:?}");
    }
    seen.retain(|e| !late(e));
    let want = |step: &str, event: &str, copy: &str| {
        (step.to_owned(), event.to_owned(), copy.to_owned(), true)
    };
    assert_eq!(
        seen,
        [
            want("open", "pull_request_target/opened", "default-branch"),
            // The head's copy, with the repository's secrets: a code writer's branch
            // decides what this run does (README: Trust model (measured)).
            want("review", "pull_request_review/reviewed", "pr-head"),
            want("comment", "issue_comment/created", "default-branch"),
        ],
        "Gitea {}'s choices changed: re-read the README's \"Trust model (measured)\"",
        g.version
    );
}

const QA: &str = "qa-review / approved (pull_request_target)";
const SECURITY: &str = "security-review / approved (pull_request_target)";

/// Every task Gitea hands out until it has none for `quiet`, run in order.
fn drain(runner: &Runner<'_>, quiet: Duration) -> Vec<Ran> {
    let mut ran = Vec::new();
    while let Some(task) = runner.try_next(quiet) {
        ran.push(runner.run(task));
    }
    ran
}

/// `workflow file/event` of each run, for messages and assertions.
fn runs(ran: &[Ran]) -> Vec<String> {
    ran.iter()
        .map(|r| format!("{}/{}", r.task.workflow_file(), r.task.event_name()))
        .collect()
}

/// Every run's log, for failure messages.
fn logs(ran: &[Ran]) -> String {
    ran.iter()
        .map(|r| {
            format!(
                "---- {} {} ----\n{}",
                r.task.workflow_file(),
                r.task.event_name(),
                r.log
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The gates' latest `(state, creator)` on `sha`.
/// `(state, creator)` of a context's newest status, `None` when it has none.
type Latest = Option<(String, String)>;

fn gates(repo: &Repo<'_>, sha: &str) -> (Latest, Latest) {
    let latest = repo.latest_statuses(sha);
    (latest.get(QA).cloned(), latest.get(SECURITY).cloned())
}

fn state(gate: &Latest) -> &str {
    gate.as_ref().map_or("missing", |(state, _)| state.as_str())
}

/// The seed's flow under Gitea's scheduler, with the examples installed as their headers
/// say: a same-repository PR is labelled by auto-tier and review-fire posts `pending`; two
/// genuine approvals turn both gates green on the current head; a new push puts them back
/// to `pending`; `/qa-recheck` re-fires from the default branch's copy; with the status
/// token's secret removed the run is red, with one `::error` and no green.
fn review_fire_and_auto_tier_examples_follow_the_pull_request(g: &'static RealGitea) {
    let (repo, runner) = app(
        g,
        "sched-review",
        None,
        &["auto-tier.yml", "review-fire.yml"],
    );
    runner.assert_idle(Duration::from_secs(2));

    // A same-repository PR: labelled, and both gates pending.
    let number = repo.pr_from_new_branch(
        "alice",
        "feature",
        "a small change",
        &[Change::Create("docs/a.md", "# a\n")],
    );
    let ran = drain(&runner, Duration::from_secs(4));
    let names = runs(&ran);
    assert!(
        names.contains(&"auto-tier.yml/pull_request_target".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"review-fire.yml/pull_request_target".to_owned()),
        "{names:?}"
    );
    // Both jobs green: auto-tier labelled, and review-fire posted its honest `pending`
    // (the statuses carry the verdict; no red X on a PR that is only waiting).
    for r in ran.iter().filter(|r| !r.cancelled) {
        r.succeeded();
    }
    assert_eq!(repo.labels(number), ["tier:low"], "runs: {names:?}");
    let head = repo.pr_head(number);
    let (qa, security) = gates(&repo, &head);
    assert_eq!(
        (state(&qa), state(&security)),
        ("pending", "pending"),
        "runs: {names:?}\n{}",
        logs(&ran)
    );

    // Two genuine approvals (engineers + qa, and security): both gates green on the head.
    repo.review("carol", number, "APPROVED", &[]);
    repo.review("sam", number, "APPROVED", &[]);
    let ran = drain(&runner, Duration::from_secs(4));
    let names = runs(&ran);
    assert!(
        ran.iter()
            .any(|r| r.task.event_name() == "pull_request_review"),
        "the approvals started review-fire: {names:?}"
    );
    let (qa, security) = gates(&repo, &head);
    assert_eq!(
        (state(&qa), state(&security)),
        ("success", "success"),
        "runs: {names:?}\n{}",
        ran.iter()
            .map(|r| r.log.as_str())
            .collect::<Vec<_>>()
            .join("\n----\n")
    );
    assert_eq!(
        qa.map(|(_, creator)| creator).as_deref(),
        Some("status-bot")
    );

    // A push after the approvals: the new head is pending again.
    let pushed = repo.commit(
        "alice",
        "feature",
        None,
        "one more",
        &[Change::Create("docs/b.md", "# b\n")],
    );
    repo.wait_pr_head(number, &pushed);
    let ran = drain(&runner, Duration::from_secs(4));
    let (qa, security) = gates(&repo, &pushed);
    assert_eq!(
        (state(&qa), state(&security)),
        ("pending", "pending"),
        "approvals of the old head do not count: {:?}",
        runs(&ran)
    );

    // /qa-recheck: re-fired by issue_comment, from the default branch's copy.
    repo.comment("olga", number, "/qa-recheck");
    let ran = drain(&runner, Duration::from_secs(4));
    let recheck: Vec<&Ran> = ran
        .iter()
        .filter(|r| r.task.event_name() == "issue_comment")
        .collect();
    assert_eq!(recheck.len(), 1, "{:?}", runs(&ran));
    // issue_comment runs the default branch's commit (and so its copy of the workflow).
    assert_eq!(recheck[0].task.sha(), repo.tip("main"));
    assert_eq!(recheck[0].task.git_ref(), "refs/heads/main");
    assert!(recheck[0].log.contains("qa"), "{}", recheck[0].log);

    // The status token's secret removed: red, one ::error, nothing green.
    repo.gitea.admin(
        "DELETE",
        &repo.path("/actions/secrets/SHIPGATE_STATUS_TOKEN"),
        None,
    );
    let before = repo.statuses(&pushed).len();
    repo.comment("olga", number, "/security-recheck");
    let ran = drain(&runner, Duration::from_secs(4));
    assert_eq!(ran.len(), 1, "{:?}", runs(&ran));
    ran[0].failed();
    assert_eq!(
        error_lines(&ran[0].log).len(),
        1,
        "one ::error:\n{}",
        ran[0].log
    );
    // The hint names the input whose secret is missing, not "pass a token".
    assert!(
        error_lines(&ran[0].log)[0].contains("`status-token` input reached shipgate empty"),
        "{}",
        ran[0].log
    );
    if let Some(log) = served_log(&ran[0], &repo) {
        assert_eq!(
            error_lines(&log).len(),
            1,
            "Gitea's log holds the ::error once:\n{log}"
        );
    }
    let after = repo.statuses(&pushed);
    assert!(
        after[before..]
            .iter()
            .all(|(_, state, _, _)| state != "success"),
        "no green without the status token: {after:?}"
    );
}

/// The seed's flow, closed, under Gitea's scheduler and the secure rule: the examples
/// installed, `review.merge: merge` in main's config; a same-repository PR is labelled and
/// pending; after the second genuine approval the review-fire run Gitea starts posts both
/// gates and merges the approved head, with no hand step after the PR was opened. Prints the
/// time from the second approval to the merge (no timing assertion).
fn the_seed_flow_ends_with_the_pr_merged_on_main(g: &'static RealGitea) {
    let (repo, runner) = app(
        g,
        "sched-seed",
        Some("review:\n  merge: merge\n"),
        &["auto-tier.yml", "review-fire.yml"],
    );
    repo.protect(secure_main_rule());
    runner.assert_idle(Duration::from_secs(2));

    let number = repo.pr_from_new_branch(
        "alice",
        "feature",
        "a small change",
        &[Change::Create("docs/seed.md", "# seed\n")],
    );
    let ran = drain(&runner, Duration::from_secs(4));
    for r in ran.iter().filter(|r| !r.cancelled) {
        r.succeeded();
    }
    assert_eq!(repo.labels(number), ["tier:low"], "{:?}", runs(&ran));
    let head = repo.pr_head(number);

    repo.review("carol", number, "APPROVED", &[]);
    let ran = drain(&runner, Duration::from_secs(4));
    let pr = g.admin("GET", &repo.path(&format!("/pulls/{number}")), None);
    assert_eq!(
        pr["merged"],
        false,
        "one approval merges nothing: {:?}",
        runs(&ran)
    );

    let second = Instant::now();
    repo.review("sam", number, "APPROVED", &[]);
    let mut merged_after = None;
    let mut names = Vec::new();
    while let Some(task) = runner.try_next(Duration::from_secs(4)) {
        let ran = runner.run(task);
        names.push(format!(
            "{}/{}",
            ran.task.workflow_file(),
            ran.task.event_name()
        ));
        let pr = g.admin("GET", &repo.path(&format!("/pulls/{number}")), None);
        if pr["merged"] == true {
            merged_after = Some(second.elapsed());
            ran.succeeded();
            assert!(ran.log.contains("merged pull request"), "{}", ran.log);
            assert_eq!(ran.task.event_name(), "pull_request_review");
            break;
        }
    }
    let merged_after = merged_after.unwrap_or_else(|| {
        panic!(
            "the PR was not merged after the second approval; runs: {names:?}\n{}",
            g.log_tail()
        )
    });
    let pr = g.admin("GET", &repo.path(&format!("/pulls/{number}")), None);
    assert_eq!(pr["merged_by"]["login"], "status-bot", "{pr}");
    assert_eq!(
        pr["head"]["sha"],
        head.as_str(),
        "the approved head was merged"
    );
    let (qa, security) = gates(&repo, &head);
    assert_eq!((state(&qa), state(&security)), ("success", "success"));
    eprintln!(
        "{}: second genuine approval → merged on main in {:.1} s (runs: {names:?})",
        g.version,
        merged_after.as_secs_f64()
    );
}

/// promote under Gitea's scheduler, with the documented protection: main requires staging's
/// CI and both review gates, two approvals of the gate teams (the secure rule). A dispatch
/// of the auto-promote example finds the gates missing on staging's head S, opens the
/// promotion PR and schedules its merge; Gitea starts auto-tier and review-fire on that PR
/// (the PR's own checks); two genuine approvals turn both gates green on S, and Gitea's
/// scheduled merge moves main to S: no hand step after the dispatch.
///
/// 1.27.3 only: the dispatch API (`POST …/actions/workflows/{file}/dispatches`) arrived
/// after 1.22, whose scheduler would start the example only from its cron (every 15 min).
fn promote_example_moves_main_once_staging_and_its_promotion_pr_are_green(g: &'static RealGitea) {
    const CI: &str = "ci / build (push)";
    let (repo, runner) = app(
        g,
        "sched-promote",
        None,
        &["auto-tier.yml", "review-fire.yml", "auto-promote.yml"],
    );
    let mut rule = secure_main_rule();
    rule["status_check_contexts"] = json!([CI, QA, SECURITY]);
    repo.protect(rule);
    // staging = main + one commit S, green in CI.
    g.admin("DELETE", &repo.path("/branches/staging"), None);
    // Gitea's queued processing of the deletion closes PRs whose head is staging: let it
    // run before staging comes back (real_promote saw it close a fresh promotion PR).
    std::thread::sleep(Duration::from_secs(2));
    repo.create_branch("staging", "main");
    let s = repo.commit(
        "devops-engineer",
        "staging",
        None,
        "docs on staging",
        &[Change::Create("docs/promoted.md", "# promoted\n")],
    );
    repo.gitea.ok(
        "POST",
        &repo.path(&format!("/statuses/{s}")),
        g.token("status-bot"),
        Some(json!({"state": "success", "context": CI, "description": "ci"})),
    );
    runner.assert_idle(Duration::from_secs(2));
    let main = repo.tip("main");

    g.admin(
        "POST",
        &repo.path("/actions/workflows/auto-promote.yml/dispatches"),
        Some(json!({"ref": "main"})),
    );
    let ran = drain(&runner, Duration::from_secs(4));
    let names = runs(&ran);
    let promoted = ran
        .iter()
        .find(|r| r.task.workflow_file() == "auto-promote.yml")
        .unwrap_or_else(|| panic!("no auto-promote run: {names:?}"));
    assert_eq!(promoted.task.event_name(), "workflow_dispatch");
    promoted.succeeded();
    assert!(
        promoted.log.contains("scheduled"),
        "missing gates on S are scheduled on the promotion PR:\n{}",
        promoted.log
    );
    assert_eq!(repo.tip("main"), main, "nothing merged yet");
    let prs = g.admin("GET", &repo.path("/pulls?state=open"), None);
    let number = prs
        .as_array()
        .and_then(|list| list.first())
        .and_then(|pr| pr["number"].as_u64())
        .unwrap_or_else(|| panic!("the promotion PR: {prs}"));
    // The promotion PR's own checks ran, from main's copy, on S.
    assert!(
        names.contains(&"review-fire.yml/pull_request_target".to_owned()),
        "{names:?}"
    );
    assert_eq!(repo.labels(number), ["tier:low"], "{names:?}");
    let (qa, security) = gates(&repo, &s);
    assert_eq!((state(&qa), state(&security)), ("pending", "pending"));

    repo.review("carol", number, "APPROVED", &[]);
    repo.review("sam", number, "APPROVED", &[]);
    let ran = drain(&runner, Duration::from_secs(4));
    let (qa, security) = gates(&repo, &s);
    assert_eq!(
        (state(&qa), state(&security)),
        ("success", "success"),
        "{:?}\n{}",
        runs(&ran),
        logs(&ran)
    );
    repo.wait_tip("main", &s, "Gitea never merged the scheduled promotion");
}

/// An app repository as the example headers set it up: the tier labels, one secret per role
/// (`SHIPGATE_<ROLE>_TOKEN`), a runner, `config` as `.gitea/shipgate.yml` when given, and
/// `examples` installed on main in this order (auto-sync last: its install is a push it
/// runs on).
fn app<'g>(
    g: &'static RealGitea,
    prefix: &str,
    config: Option<&str>,
    examples: &[&str],
) -> (Repo<'g>, Runner<'g>) {
    let repo = g.repo(prefix);
    for tier in ["tier:low", "tier:medium", "tier:high"] {
        repo.create_label(tier);
    }
    for (name, login) in [
        ("SHIPGATE_SYNC_TOKEN", "devops-engineer"),
        ("SHIPGATE_TIER_TOKEN", "tier-bot"),
        ("SHIPGATE_READ_TOKEN", "gate-reader"),
        ("SHIPGATE_STATUS_TOKEN", "status-bot"),
        ("SHIPGATE_PROMOTE_TOKEN", "devops-engineer"),
    ] {
        secret(&repo, name, g.token(login));
    }
    let runner = Runner::register(&repo);
    if let Some(config) = config {
        repo.put_file("main", ".gitea/shipgate.yml", config);
    }
    for name in examples {
        repo.put_file(
            "main",
            &format!(".gitea/workflows/{name}"),
            &installed(g, name),
        );
    }
    (repo, runner)
}

/// The README's setup on a new repository, as a new user makes it: the tier labels, one
/// secret per role as the example headers name them, staging's push allowlist (the sync
/// account), the read account a repository admin (doctor's rule reads need it), `config`
/// as `.gitea/shipgate.yml` when given, every example installed, and main's secure rule
/// requiring `contexts`. Returns the repository and its runner, idle: auto-sync's run of
/// its own install push drained.
fn readme_setup<'g>(
    g: &'static RealGitea,
    prefix: &str,
    config: Option<&str>,
    contexts: &[&str],
) -> (Repo<'g>, Runner<'g>) {
    let (repo, runner) = app(
        g,
        prefix,
        config,
        &[
            "auto-tier.yml",
            "review-fire.yml",
            "auto-promote.yml",
            "doctor.yml",
            "auto-sync.yml",
        ],
    );
    repo.add_collaborator("gate-reader", "admin");
    repo.protect_staging(&["devops-engineer"]);
    let mut rule = secure_main_rule();
    rule["status_check_contexts"] = json!(contexts);
    repo.protect(rule);
    // Installing auto-sync is a push to main: let its run finish first.
    for ran in drain(&runner, Duration::from_secs(3)) {
        ran.succeeded();
    }
    (repo, runner)
}

/// Dispatch the doctor example and assert every check ✓ and the job green.
fn doctor_is_all_pass(repo: &Repo<'_>, runner: &Runner<'_>) {
    repo.gitea.admin(
        "POST",
        &repo.path("/actions/workflows/doctor.yml/dispatches"),
        Some(json!({"ref": "main"})),
    );
    let ran = drain(runner, Duration::from_secs(3));
    let doctor: Vec<&Ran> = ran
        .iter()
        .filter(|r| r.task.workflow_file() == "doctor.yml")
        .collect();
    assert_eq!(doctor.len(), 1, "{:?}", runs(&ran));
    let log = &doctor[0].log;
    let marks = |mark: &str| -> Vec<String> {
        log.lines()
            .filter_map(|line| {
                let at = line.find(mark)?;
                let rest = &line[at + mark.len()..];
                rest.split_whitespace().next().map(str::to_owned)
            })
            .collect()
    };
    let passed = marks("✓ ");
    assert!(
        marks("✗ ").is_empty() && marks("? ").iter().all(|id| !id.contains('.')),
        "every check ✓:\n{log}"
    );
    for id in [
        "sync.workflow",
        "sync.token",
        "sync.staging-push",
        "tier.workflow",
        "tier.token",
        "tier.labels",
        "review-fire.workflow",
        "review-fire.contexts",
        "review-fire.approvals",
        "review-fire.status-token",
        "review-fire.distinct-tokens",
        "review-fire.teams",
        "promote.workflow",
        "promote.token",
        "promote.contexts",
        "promote.merge",
    ] {
        assert!(passed.iter().any(|p| p == id), "{id} ✓:\n{log}");
    }
    doctor[0].succeeded();
}

/// The doctor example under Gitea's scheduler, on the example setup: a dispatch runs
/// doctor once per mode with that mode's own tokens: every check ✓.
///
/// 1.27.3 only: the example runs on `workflow_dispatch`, whose API 1.22 lacks.
fn doctor_example_is_all_pass_on_the_example_setup(g: &'static RealGitea) {
    let (repo, runner) = readme_setup(g, "sched-doctor", None, &[QA, SECURITY]);
    doctor_is_all_pass(&repo, &runner);
}

/// The README walked as a new user walks it, every run started by Gitea: the action
/// released, the examples installed with the documented secrets and protection (main
/// requiring CI and both gates, `review.merge: fast-forward-only`), doctor all ✓; alice's
/// first PR labelled and pending; two genuine approvals → both gates green and the PR
/// merged; auto-sync brings staging along; a commit on staging, green in CI, promoted
/// through its promotion PR once approved: main at staging's head. No step the README does
/// not name. 1.27.3 only (dispatch).
fn the_readme_setup_walked_as_a_new_user(g: &'static RealGitea) {
    const CI: &str = "ci / build (push)";
    let ci = |repo: &Repo<'_>, sha: &str| {
        repo.gitea.ok(
            "POST",
            &repo.path(&format!("/statuses/{sha}")),
            g.token("status-bot"),
            Some(json!({"state": "success", "context": CI, "description": "ci"})),
        );
    };
    let (repo, runner) = readme_setup(
        g,
        "sched-walk",
        Some("review:\n  merge: fast-forward-only\n"),
        &[CI, QA, SECURITY],
    );
    doctor_is_all_pass(&repo, &runner);

    // The first PR: labelled, pending; CI green on it.
    let number = repo.pr_from_new_branch(
        "alice",
        "feature",
        "the first change",
        &[Change::Create("docs/first.md", "# first\n")],
    );
    let ran = drain(&runner, Duration::from_secs(4));
    assert_eq!(repo.labels(number), ["tier:low"], "{:?}", runs(&ran));
    let head = repo.pr_head(number);
    ci(&repo, &head);
    let (qa, security) = gates(&repo, &head);
    assert_eq!((state(&qa), state(&security)), ("pending", "pending"));

    // Two genuine approvals: both gates green, the PR merged; auto-sync follows main.
    repo.review("carol", number, "APPROVED", &[]);
    repo.review("sam", number, "APPROVED", &[]);
    let ran = drain(&runner, Duration::from_secs(4));
    let pr = g.admin("GET", &repo.path(&format!("/pulls/{number}")), None);
    assert_eq!(pr["merged"], true, "{:?}\n{}", runs(&ran), logs(&ran));
    assert_eq!(
        repo.tip("main"),
        head,
        "fast-forward-only: main is the approved head"
    );
    assert!(
        runs(&ran).contains(&"auto-sync.yml/push".to_owned()),
        "{:?}",
        runs(&ran)
    );
    assert_eq!(repo.tip("staging"), head, "staging follows main");

    // A commit on staging (the sync account is its only pusher), green in CI, promoted.
    let s = repo.commit(
        "devops-engineer",
        "staging",
        None,
        "docs on staging",
        &[Change::Create("docs/staging.md", "# staging\n")],
    );
    ci(&repo, &s);
    drain(&runner, Duration::from_secs(2));
    g.admin(
        "POST",
        &repo.path("/actions/workflows/auto-promote.yml/dispatches"),
        Some(json!({"ref": "main"})),
    );
    let ran = drain(&runner, Duration::from_secs(4));
    let prs = g.admin("GET", &repo.path("/pulls?state=open"), None);
    let promotion = prs
        .as_array()
        .and_then(|list| list.first())
        .and_then(|pr| pr["number"].as_u64())
        .unwrap_or_else(|| panic!("the promotion PR: {prs}\n{:?}", runs(&ran)));
    repo.review("carol", promotion, "APPROVED", &[]);
    repo.review("sam", promotion, "APPROVED", &[]);
    let ran = drain(&runner, Duration::from_secs(4));
    repo.wait_tip(
        "main",
        &s,
        &format!("staging's head, promoted: {:?}\n{}", runs(&ran), logs(&ran)),
    );
}

mod gitea_1_27_3_only {
    #[test]
    fn the_readme_setup_walked_as_a_new_user() {
        super::the_readme_setup_walked_as_a_new_user(crate::support::real_gitea::gitea(
            "gitea-1.27.3",
        ));
    }

    #[test]
    fn doctor_example_is_all_pass_on_the_example_setup() {
        super::doctor_example_is_all_pass_on_the_example_setup(crate::support::real_gitea::gitea(
            "gitea-1.27.3",
        ));
    }

    #[test]
    fn promote_example_moves_main_once_staging_and_its_promotion_pr_are_green() {
        super::promote_example_moves_main_once_staging_and_its_promotion_pr_are_green(
            crate::support::real_gitea::gitea("gitea-1.27.3"),
        );
    }
}

crate::real_gitea_tests!(
    the_seed_flow_ends_with_the_pr_merged_on_main,
    auto_sync_keeps_staging_a_superset_of_main,
    gitea_picks_the_workflow_copy_and_the_secrets_per_event,
    review_fire_and_auto_tier_examples_follow_the_pull_request,
);
