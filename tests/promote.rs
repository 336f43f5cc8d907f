//! Integration tests: promote, against the fake Gitea (branches, compare, statuses, pulls
//! and Gitea's merge rules) and, for `--via push`, a real `git http-backend` as well.

use serde_json::{json, Value};

use crate::support::{
    fake_gitea::{Action, FakeGitea, Fault, FaultKind, PrSpec, StatusRow},
    git_server::GitServer,
    test::{Output, Test},
};

const REPO: &str = "acme/app";
const TOKEN: &str = "tok-promote-7c1e";
const BOT: &str = "promote-bot";
const CI: &str = "ci / build (push)";

const MERGE: &str = "POST /repos/{owner}/{repo}/pulls/{index}/merge";
const STATUSES: &str = "GET /repos/{owner}/{repo}/statuses/{sha}";

fn sha(n: u32) -> String {
    format!("{n:040x}")
}

/// main at m0, staging at s1 (m0's child), `promote.required_contexts: [CI]` on main.
struct World {
    fake: FakeGitea,
    main: String,
    staging: String,
}

impl World {
    fn new() -> World {
        World::with_config(&format!("promote:\n  required_contexts: [\"{CI}\"]\n"))
    }

    fn with_config(config: &str) -> World {
        let fake = FakeGitea::start();
        fake.add_user(BOT, TOKEN);
        fake.add_repo(REPO);
        let (main, staging) = (sha(0xa0), sha(0xb1));
        fake.add_commit(REPO, &main, &[]);
        fake.add_commit(REPO, &staging, &[&main]);
        fake.set_branch(REPO, "main", &main);
        fake.set_branch(REPO, "staging", &staging);
        fake.set_file(REPO, "main", ".gitea/shipgate.yml", config);
        World {
            fake,
            main,
            staging,
        }
    }

    fn status(&self, sha: &str, context: &str, state: &str) {
        self.fake.add_status(
            REPO,
            sha,
            StatusRow {
                state: state.into(),
                context: context.into(),
                description: String::new(),
                target_url: String::new(),
                creator: "gitea-actions".into(),
            },
        );
    }

    fn test(&self) -> Test {
        Test::new().forge(&self.fake).repo(REPO).token(TOKEN)
    }

    #[track_caller]
    fn promote(&self, args: &[&str], status: i32) -> Output {
        let mut argv = vec!["promote", "--format", "json"];
        argv.extend_from_slice(args);
        self.test().args(&argv).status(status)
    }

    fn writes(&self) -> Vec<String> {
        self.fake
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| r.key())
            .collect()
    }
}

/// The JSON `reasons`.
fn reasons(output: &Output) -> Vec<String> {
    output.json()["reasons"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[track_caller]
fn one_error(output: &Output) -> String {
    let annotations = output.annotations();
    assert_eq!(annotations.len(), 1, "{}", output.stderr);
    annotations[0].to_owned()
}

#[test]
fn green_staging_is_promoted_through_a_fast_forward_pull_request() {
    let world = World::new();
    world.status(&world.staging, CI, "pending");
    world.status(&world.staging, CI, "success");
    let output = world.promote(&[], 0);
    let json = output.json();
    assert_eq!(json["plan"], "promoted", "{json}");
    assert_eq!(json["from_sha"], world.staging.as_str());
    assert_eq!(json["to_sha"], world.staging.as_str());
    assert_eq!(json["old_to_sha"], world.main.as_str());
    assert_eq!(
        json["contexts"],
        json!([{"context": CI, "state": "success", "required_by": ["config"]}])
    );
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.staging.clone()));
    assert_eq!(output.outputs["promoted-sha"], world.staging);
    assert_eq!(output.outputs["plan"], "promoted");

    let pulls = world.fake.pulls(REPO);
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert_eq!(json["pr"], pulls[0].0);
    let created = &world.fake.requests_to("POST /repos/{owner}/{repo}/pulls")[0];
    let body = created.json();
    assert_eq!(
        (body["head"].as_str(), body["base"].as_str()),
        (Some("staging"), Some("main"))
    );
    assert!(
        body["body"]
            .as_str()
            .is_some_and(|b| b.contains(CI) && b.contains(&world.staging)),
        "the PR says what is promoted and which statuses were green: {body}"
    );
    let merges = world.fake.requests_to(MERGE);
    assert_eq!(merges.len(), 1);
    let merge = merges[0].json();
    assert_eq!(merge["Do"], "fast-forward-only");
    assert_eq!(merge["head_commit_id"], world.staging.as_str());
    assert!(merge.get("force_merge").is_none(), "never force: {merge}");
    assert!(merge.get("merge_when_checks_succeed").is_none(), "{merge}");
    // The API calls of a first promotion, in order of need.
    let calls: Vec<String> = world.fake.requests().iter().map(|r| r.key()).collect();
    assert_eq!(calls.len(), 10, "{calls:#?}");
    assert_eq!(calls[0], "GET /repos/{owner}/{repo}");
    assert_eq!(calls[1], "GET /repos/{owner}/{repo}/raw/{filepath}");
    assert_eq!(calls[9], "GET /repos/{owner}/{repo}/branches/{branch}");
}

#[test]
fn a_compare_api_without_commit_ids_is_asked_by_branch_name() {
    // Gitea 1.22: `compare/{sha}...{sha}` is 404 BaseNotExist.
    let world = World::new();
    world.fake.compare_names_only();
    world.status(&world.staging, CI, "success");
    let json = world.promote(&[], 0).json();
    assert_eq!(json["plan"], "promoted", "{json}");
    let compares: Vec<(String, u16)> = world
        .fake
        .requests_to("GET /repos/{owner}/{repo}/compare/{basehead}")
        .iter()
        .map(|r| {
            (
                r.path.rsplit('/').next().unwrap_or_default().to_owned(),
                r.status,
            )
        })
        .collect();
    assert_eq!(
        compares,
        vec![
            (format!("{}...{}", world.staging, world.main), 404),
            ("staging...main".to_owned(), 200)
        ]
    );
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.staging.clone()));
    assert_eq!(
        world.fake.requests().len(),
        13,
        "the README's count for Gitea 1.22"
    );

    // By name, the answer counts only when neither tip moved meanwhile.
    let world = World::new();
    world.fake.compare_names_only();
    let hotfix = sha(0xc9);
    world.fake.add_commit(REPO, &hotfix, &[&world.main]);
    world.status(&world.staging, CI, "success");
    world.fake.on_hit(
        "GET /repos/{owner}/{repo}/compare/{basehead}",
        2,
        Action::SetBranch {
            repo: REPO.into(),
            branch: "main".into(),
            sha: hotfix.clone(),
        },
    );
    let output = world.promote(&[], 1);
    assert!(
        one_error(&output).contains("staging does not contain main"),
        "the second read sees main's new commit: {}",
        output.stderr
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// Waiting opens the promotion PR (so checks and reviews that run on pull requests can
/// reach S) and writes nothing else: no merge, main unchanged.
#[test]
fn one_pending_context_waits_opening_the_promotion_pr_only() {
    let world = World::new();
    world.status(&world.staging, CI, "pending");
    let output = world.promote(&[], 1);
    let json = output.json();
    assert_eq!(json["plan"], "waiting");
    assert!(one_error(&output).contains(CI));
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.main.clone()));
    assert_eq!(
        world.writes(),
        vec!["POST /repos/{owner}/{repo}/pulls".to_owned()]
    );
    let number = json["pr"].as_u64().expect("the promotion PR's number");
    assert!(
        reasons(&output).contains(&format!(
            "opened the promotion pull request #{number} so the checks and reviews that run on pull requests can reach `{}`",
            &world.staging[..8]
        )),
        "{}",
        output.stdout
    );
    // The next run keeps that PR: no second one.
    let again = world.promote(&[], 1).json();
    assert_eq!(again["pr"], number);
    assert_eq!(
        world.writes(),
        vec!["POST /repos/{owner}/{repo}/pulls".to_owned()]
    );
    assert_eq!(output.outputs["plan"], "waiting");
    assert_eq!(output.outputs["promoted-sha"], "");
}

#[test]
fn a_missing_context_waits() {
    let world = World::new();
    world.status(&world.staging, "other", "success");
    let json = world.promote(&[], 1).json();
    assert_eq!(json["plan"], "waiting");
    assert_eq!(json["contexts"][0]["state"], "missing");
    assert_eq!(
        world.writes(),
        vec!["POST /repos/{owner}/{repo}/pulls".to_owned()]
    );
}

#[test]
fn one_failure_blocks_naming_the_context() {
    let world = World::with_config(&format!(
        "promote:\n  required_contexts: [\"{CI}\", \"lint\"]\n"
    ));
    world.status(&world.staging, CI, "failure");
    world.status(&world.staging, "lint", "pending");
    let output = world.promote(&[], 1);
    assert_eq!(output.json()["plan"], "blocked");
    let error = one_error(&output);
    assert!(error.contains(CI) && error.contains("failure"), "{error}");
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.main.clone()));
}

#[test]
fn main_not_in_staging_is_refused() {
    let world = World::new();
    let hotfix = sha(0xc2);
    world.fake.add_commit(REPO, &hotfix, &[&world.main]);
    world.fake.set_branch(REPO, "main", &hotfix);
    world.status(&world.staging, CI, "success");
    let output = world.promote(&[], 1);
    assert_eq!(output.json()["plan"], "blocked");
    let error = one_error(&output);
    assert!(
        error.contains("staging does not contain main: run sync first"),
        "{error}"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(world.fake.branch(REPO, "main"), Some(hotfix));
}

#[test]
fn up_to_date_writes_nothing() {
    let world = World::new();
    world.fake.set_branch(REPO, "main", &world.staging);
    let json = world.promote(&[], 0).json();
    assert_eq!(json["plan"], "up-to-date");
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn staging_moving_before_the_merge_is_refused_by_gitea_and_re_planned() {
    let world = World::new();
    world.status(&world.staging, CI, "success");
    let newer = sha(0xb2);
    world.fake.add_commit(REPO, &newer, &[&world.staging]);
    world.status(&newer, CI, "success");
    world.fake.on_hit(
        MERGE,
        1,
        Action::SetBranch {
            repo: REPO.into(),
            branch: "staging".into(),
            sha: newer.clone(),
        },
    );
    let output = world.promote(&[], 0);
    let json = output.json();
    assert_eq!(json["plan"], "promoted", "{json}");
    assert_eq!(json["attempts"], 2);
    assert_eq!(json["from_sha"], newer.as_str());
    let merges = world.fake.requests_to(MERGE);
    assert_eq!(
        merges.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![409, 200]
    );
    assert_eq!(merges[1].json()["head_commit_id"], newer.as_str());
    assert_eq!(world.fake.branch(REPO, "main"), Some(newer));
    assert_eq!(
        world.fake.pulls(REPO).len(),
        1,
        "the PR is reused on the re-plan"
    );
}

#[test]
fn an_unchecked_commit_never_reaches_main() {
    let world = World::new();
    world.status(&world.staging, CI, "success");
    let unchecked = sha(0xb3);
    world.fake.add_commit(REPO, &unchecked, &[&world.staging]);
    world.fake.on_hit(
        MERGE,
        1,
        Action::SetBranch {
            repo: REPO.into(),
            branch: "staging".into(),
            sha: unchecked.clone(),
        },
    );
    let output = world.promote(&[], 1);
    assert_eq!(output.json()["plan"], "waiting");
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.main.clone()));
    assert_eq!(world.fake.requests_to(MERGE).len(), 1);
}

#[test]
fn a_race_that_outlasts_the_attempts_exits_1() {
    let world = World::with_config(&format!(
        "promote:\n  required_contexts: [\"{CI}\"]\n  max_attempts: 2\n"
    ));
    let mut previous = world.staging.clone();
    world.status(&previous, CI, "success");
    for (hit, n) in [(1, 0xd1), (2, 0xd2)] {
        let next = sha(n);
        world.fake.add_commit(REPO, &next, &[&previous]);
        world.status(&next, CI, "success");
        world.fake.on_hit(
            MERGE,
            hit,
            Action::SetBranch {
                repo: REPO.into(),
                branch: "staging".into(),
                sha: next.clone(),
            },
        );
        previous = next;
    }
    let output = world.promote(&[], 1);
    assert_eq!(output.json()["plan"], "blocked");
    assert!(one_error(&output).contains("moved"), "{}", output.stderr);
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.main.clone()));
}

#[test]
fn protection_contexts_are_required_too() {
    let world = World::with_config("");
    world.fake.protect_branch(REPO, "main", &["ci / *"]);
    world.status(&world.staging, "ci / a", "success");
    world.status(&world.staging, "ci / b", "success");
    let json = world.promote(&[], 0).json();
    assert_eq!(json["plan"], "promoted");
    assert_eq!(json["contexts"][0]["required_by"], json!(["protection"]));
    assert_eq!(json["contexts"].as_array().map(Vec::len), Some(2));
}

#[test]
fn no_required_context_anywhere_cannot_verify() {
    let world = World::with_config("");
    world.status(&world.staging, CI, "success");
    let output = world.promote(&[], 2);
    assert!(
        one_error(&output).contains("required_contexts"),
        "{}",
        output.stderr
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn pending_checks_required_by_protection_schedule_the_merge() {
    let world = World::new();
    world.fake.protect_branch(REPO, "main", &[CI]);
    world.status(&world.staging, CI, "pending");
    let output = world.promote(&[], 0);
    let json = output.json();
    assert_eq!(json["plan"], "scheduled", "{json}");
    assert!(output.stdout.contains("scheduled"));
    let number = json["pr"].as_u64().expect("a PR");
    assert!(world.fake.is_scheduled(REPO, number));
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.main.clone()));
    let merge = world.fake.requests_to(MERGE)[0].json();
    assert_eq!(merge["merge_when_checks_succeed"], true);
    assert_eq!(merge["head_commit_id"], world.staging.as_str());
    // A second run finds it scheduled already and says so.
    let again = world.promote(&[], 0).json();
    assert_eq!(again["plan"], "scheduled");
    assert_eq!(world.fake.pulls(REPO).len(), 1);
}

#[test]
fn pending_checks_the_protection_does_not_require_only_wait() {
    let world = World::with_config(&format!(
        "promote:\n  required_contexts: [\"{CI}\", \"e2e\"]\n"
    ));
    world.fake.protect_branch(REPO, "main", &[CI]);
    world.status(&world.staging, CI, "success");
    world.status(&world.staging, "e2e", "pending");
    assert_eq!(world.promote(&[], 1).json()["plan"], "waiting");
    assert_eq!(
        world.writes(),
        vec!["POST /repos/{owner}/{repo}/pulls".to_owned()]
    );
}

#[test]
fn an_open_promotion_pr_is_reused() {
    let world = World::new();
    world.fake.add_pr(
        REPO,
        PrSpec {
            number: 5,
            author: BOT.into(),
            head_ref: "staging".into(),
            head_sha: world.staging.clone(),
            base_sha: world.main.clone(),
            ..PrSpec::default()
        },
    );
    world.status(&world.staging, CI, "success");
    let json = world.promote(&[], 0).json();
    assert_eq!(json["pr"], 5);
    assert!(world
        .fake
        .requests_to("POST /repos/{owner}/{repo}/pulls")
        .is_empty());
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.staging.clone()));
}

#[test]
fn mergeability_not_computed_yet_is_retried() {
    let world = World::new();
    world.status(&world.staging, CI, "success");
    world.fake.merge_not_ready(2);
    let json = world.promote(&[], 0).json();
    assert_eq!(json["plan"], "promoted");
    assert_eq!(world.fake.requests_to(MERGE).len(), 3);
}

#[test]
fn a_merge_gitea_refuses_exits_1_with_its_reason() {
    let world = World::new();
    world.status(&world.staging, CI, "success");
    world.fake.fault(Fault::new(MERGE, FaultKind::Status(405)));
    let output = world.promote(&[], 1);
    assert_eq!(output.json()["plan"], "blocked");
    assert!(one_error(&output).contains("refused"), "{}", output.stderr);
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.main.clone()));
}

#[test]
fn dry_run_decides_and_writes_nothing() {
    let world = World::new();
    world.status(&world.staging, CI, "success");
    let output = world.promote(&["--dry-run"], 0);
    let json = output.json();
    assert_eq!(json["plan"], "promoted");
    assert_eq!(json["dry_run"], true);
    assert!(output.stdout.contains("dry run"), "{}", output.stdout);
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.main.clone()));
}

#[test]
fn waiting_polls_until_the_check_turns_green() {
    let world = World::new();
    world.status(&world.staging, CI, "pending");
    world.fake.on_hit(
        STATUSES,
        3,
        Action::AddStatus {
            repo: REPO.into(),
            sha: world.staging.clone(),
            row: StatusRow {
                state: "success".into(),
                context: CI.into(),
                description: String::new(),
                target_url: String::new(),
                creator: "gitea-actions".into(),
            },
        },
    );
    let output = world.promote(&["--wait", "60s", "--poll", "20ms"], 0);
    assert_eq!(output.json()["plan"], "promoted");
    let polls: Vec<&str> = output
        .stderr
        .lines()
        .filter(|l| l.starts_with("shipgate promote: poll "))
        .collect();
    assert_eq!(polls.len(), 2, "{}", output.stderr);
    assert!(
        polls[0].contains(CI) && polls[0].contains("pending"),
        "{polls:?}"
    );
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.staging.clone()));
}

#[test]
fn waiting_gives_up_when_the_wait_runs_out() {
    let world = World::new();
    world.status(&world.staging, CI, "pending");
    let output = world.promote(&["--wait", "1500ms", "--poll", "300ms"], 1);
    assert_eq!(output.json()["plan"], "waiting");
    assert!(
        output.stderr.contains("shipgate promote: poll 1:"),
        "{}",
        output.stderr
    );
    // Opened before the first poll, so reviews can arrive during the wait; never merged.
    assert_eq!(
        world.writes(),
        vec!["POST /repos/{owner}/{repo}/pulls".to_owned()]
    );
}

#[test]
fn no_token_cannot_verify_and_sends_nothing() {
    let world = World::new();
    let output = world
        .test()
        .env_remove("SHIPGATE_TOKEN")
        .args(&["promote", "--format", "json"])
        .unverified();
    assert!(one_error(&output).contains("SHIPGATE_TOKEN"));
    assert!(world.fake.requests().is_empty());
}

#[test]
fn a_403_or_broken_answer_on_any_read_cannot_verify_and_writes_nothing() {
    let reads = [
        "GET /repos/{owner}/{repo}",
        "GET /repos/{owner}/{repo}/raw/{filepath}",
        "GET /repos/{owner}/{repo}/branches/{branch}",
        "GET /repos/{owner}/{repo}/compare/{basehead}",
        STATUSES,
        "GET /repos/{owner}/{repo}/pulls",
    ];
    for route in reads {
        for kind in [
            FaultKind::Status(403),
            FaultKind::Status(401),
            FaultKind::Malformed,
        ] {
            let world = World::new();
            world.status(&world.staging, CI, "success");
            world.fake.fault(Fault::new(route, kind.clone()));
            let output = world.promote(&[], 2);
            one_error(&output);
            assert_eq!(world.writes(), Vec::<String>::new(), "{route} {kind:?}");
            assert_eq!(
                world.fake.branch(REPO, "main"),
                Some(world.main.clone()),
                "{route} {kind:?}"
            );
        }
    }
}

#[test]
fn a_short_page_or_a_timeout_cannot_verify_and_writes_nothing() {
    let cases = [
        (STATUSES, FaultKind::TruncatePage),
        (STATUSES, FaultKind::WrongTotal(1)),
        ("GET /repos/{owner}/{repo}/pulls", FaultKind::NoTotal),
        (
            "GET /repos/{owner}/{repo}/branches/{branch}",
            FaultKind::Delay(std::time::Duration::from_millis(1500)),
        ),
        (
            "GET /repos/{owner}/{repo}/compare/{basehead}",
            FaultKind::Status(502),
        ),
    ];
    for (route, kind) in cases {
        let world = World::new();
        world.status(&world.staging, CI, "success");
        world.fake.fault(Fault::new(route, kind.clone()));
        let output = world
            .test()
            .env("SHIPGATE_TIMEOUT", "0.5")
            .env("SHIPGATE_ATTEMPTS", "2")
            .args(&["promote", "--format", "json"])
            .unverified();
        one_error(&output);
        assert_eq!(world.writes(), Vec::<String>::new(), "{route} {kind:?}");
        assert_eq!(world.fake.branch(REPO, "main"), Some(world.main.clone()));
    }
}

#[test]
fn a_forbidden_merge_cannot_verify() {
    let world = World::new();
    world.status(&world.staging, CI, "success");
    world.fake.fault(Fault::new(MERGE, FaultKind::Status(403)));
    let output = world.promote(&[], 2);
    assert!(one_error(&output).contains("403"), "{}", output.stderr);
    assert_eq!(world.fake.branch(REPO, "main"), Some(world.main.clone()));
}

#[test]
fn a_bad_wait_is_a_usage_error() {
    let world = World::new();
    world.promote(&["--wait", "soon"], 64);
    assert!(world.fake.requests().is_empty());
}

#[test]
fn text_output_says_what_happened() {
    let world = World::new();
    world.status(&world.staging, CI, "success");
    let output = world.test().args(&["promote"]).success();
    assert!(
        output.stdout.starts_with("shipgate promote: ok"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("promoted `main`"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .summary
            .contains("| ci / build (push) | success | config |"),
        "{}",
        output.summary
    );
}

// ---- --via push, against a real git server ---------------------------------------------

/// A git server holding main (m0) and staging (s1, m0's child), mirrored into the fake.
fn push_world() -> (GitServer, World) {
    let server = GitServer::start();
    server.add_user(BOT, TOKEN);
    server.create_repo(REPO);
    server.fast_import(
        REPO,
        "commit refs/heads/main\nmark :1\ncommitter T <t@example.com> 1700000000 +0000\ndata 3\nm0\nM 644 inline a.txt\ndata 2\na\n\n\
         commit refs/heads/staging\nmark :2\ncommitter T <t@example.com> 1700000100 +0000\ndata 3\ns1\nfrom :1\nM 644 inline b.txt\ndata 2\nb\n\n",
    );
    let world = World::new();
    let main = server.rev(REPO, "refs/heads/main").expect("main");
    let staging = server.rev(REPO, "refs/heads/staging").expect("staging");
    world.fake.add_commit(REPO, &main, &[]);
    world.fake.add_commit(REPO, &staging, &[&main]);
    world.fake.set_branch(REPO, "main", &main);
    world.fake.set_branch(REPO, "staging", &staging);
    let world = World {
        main,
        staging,
        ..world
    };
    (server, world)
}

#[test]
fn via_push_fast_forwards_main_natively() {
    let (server, world) = push_world();
    world.status(&world.staging, CI, "success");
    let remote = server.repo_url(REPO);
    let output = world.promote(&["--via", "push", "--remote", &remote], 0);
    let json = output.json();
    assert_eq!(json["plan"], "promoted", "{json}");
    assert_eq!(json["via"], "push");
    assert_eq!(
        server.rev(REPO, "refs/heads/main"),
        Some(world.staging.clone())
    );
    assert!(server.is_ancestor(REPO, &world.main, &world.staging));
    assert!(
        world.fake.pulls(REPO).is_empty(),
        "no pull request with --via push"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
    server.fsck(REPO);
}

#[test]
fn via_push_to_a_protected_main_exits_1_with_the_runbook() {
    let (server, world) = push_world();
    server.protect(REPO, "main");
    world.status(&world.staging, CI, "success");
    let remote = server.repo_url(REPO);
    let output = world.promote(&["--via", "push", "--remote", &remote], 1);
    assert!(
        one_error(&output).contains("allowlist"),
        "{}",
        output.stderr
    );
    assert_eq!(
        server.rev(REPO, "refs/heads/main"),
        Some(world.main.clone())
    );
}

#[test]
fn via_push_when_the_git_server_disagrees_re_plans_then_gives_up() {
    let (server, world) = push_world();
    world.status(&world.staging, CI, "success");
    // The API shows a staging tip the git server does not have.
    let ghost = sha(0xee);
    world.fake.add_commit(REPO, &ghost, &[&world.staging]);
    world.fake.set_branch(REPO, "staging", &ghost);
    world.status(&ghost, CI, "success");
    let remote = server.repo_url(REPO);
    let output = world.promote(&["--via", "push", "--remote", &remote], 1);
    assert!(one_error(&output).contains("moved"), "{}", output.stderr);
    assert_eq!(
        server.rev(REPO, "refs/heads/main"),
        Some(world.main.clone())
    );
    let _: Value = output.json();
}

// ---- the invariant, end to end ------------------------------------------------------------

mod invariant {
    use proptest::prelude::*;

    use super::*;

    const ROUTES: [&str; 4] = [
        STATUSES,
        "GET /repos/{owner}/{repo}/pulls",
        "POST /repos/{owner}/{repo}/pulls",
        MERGE,
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Another client pushes to staging at a random moment of the run (before one of
        /// the reads or writes), with a green or an unchecked commit. Whatever the run
        /// answers, main only moved forward, and only to a commit whose required context
        /// was `success` when it moved.
        #[test]
        fn main_moves_forward_only_to_green_commits(
            route in 0usize..4,
            nth in 1usize..3,
            green in any::<bool>(),
            protected in any::<bool>(),
        ) {
            let world = World::new();
            if protected {
                world.fake.protect_branch(REPO, "main", &[CI]);
            }
            world.status(&world.staging, CI, "success");
            let newer = sha(0xf1);
            world.fake.add_commit(REPO, &newer, &[&world.staging]);
            let key = ROUTES[route];
            if green {
                world.fake.on_hit(key, nth, Action::AddStatus {
                    repo: REPO.into(),
                    sha: newer.clone(),
                    row: StatusRow {
                        state: "success".into(),
                        context: CI.into(),
                        description: String::new(),
                        target_url: String::new(),
                        creator: "gitea-actions".into(),
                    },
                });
            }
            world.fake.on_hit(key, nth, Action::SetBranch {
                repo: REPO.into(),
                branch: "staging".into(),
                sha: newer.clone(),
            });
            let output = world.test().args(&["promote", "--format", "json"]).run();
            prop_assert!(matches!(output.status, 0 | 1), "{}\n{}", output.stdout, output.stderr);
            let main = world.fake.branch(REPO, "main").expect("main");
            let green_commits = [world.staging.clone()]
                .into_iter()
                .chain(green.then(|| newer.clone()))
                .collect::<Vec<_>>();
            prop_assert!(
                main == world.main || green_commits.contains(&main),
                "main at {main}: neither the old tip nor a green commit\n{}",
                output.stdout
            );
            if output.status == 0 {
                let json = output.json();
                prop_assert_eq!(json["to_sha"].as_str(), Some(main.as_str()));
            }
        }
    }
}

/// With `--wait`, a plan Gitea can finish (the protection requires every context) is
/// scheduled at once, not polled for: the job ends and frees its runner.
#[test]
fn a_scheduled_merge_is_not_polled_for() {
    let world = World::new();
    world.fake.protect_branch(REPO, "main", &[CI]);
    world.status(&world.staging, CI, "pending");
    let output = world.promote(&["--wait", "20m", "--poll", "10ms"], 0);
    assert_eq!(output.json()["plan"], "scheduled", "{}", output.stdout);
    assert!(
        !output.stderr.contains("shipgate promote: poll "),
        "{}",
        output.stderr
    );
}
