//! Integration tests: `shipgate doctor` against the fake Gitea and the real Gitea (every
//! version in `VERSIONS`). Harness: fake_gitea, real_gitea, test.
//!
//! Each real-server test builds one setup on the server, then asserts the exit code and the
//! state of every check: a correct setup is all ✓; each misconfiguration is exactly its ✗
//! (other checks ✓, or `?` where the server cannot prove them) with its fix.

use serde_json::{json, Value};

use crate::real_gitea_tests;
use crate::support::{
    fake_gitea::FakeGitea,
    real_gitea::{RealGitea, Repo},
    test::{Output, Test},
};

const QA: &str = "qa-review / approved (pull_request_target)";
const SEC: &str = "security-review / approved (pull_request_target)";
const GATE_TEAMS: &[&str] = &["engineers", "managers", "executive", "qa", "security"];
const READER_SCOPES: &[&str] = &[
    "read:repository",
    "read:issue",
    "read:organization",
    "read:user",
];

const EXAMPLE_USES: &str = "https://gitea.example.com/acme/shipgate@v1";
const SHA256SUMS: &str = include_str!("../dist/SHA256SUMS");
const VERSION: &str = include_str!("../dist/VERSION");
const REVIEW_FIRE_YML: &str = include_str!("../examples/review-fire.yml");
const AUTO_TIER_YML: &str = include_str!("../examples/auto-tier.yml");
const AUTO_SYNC_YML: &str = include_str!("../examples/auto-sync.yml");
const AUTO_PROMOTE_YML: &str = include_str!("../examples/auto-promote.yml");

/// `id → (state, found, fix)` of a doctor run's JSON.
fn checks(output: &Output) -> Vec<(String, String, String, String)> {
    let json = output.json();
    json["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks in {}", output.stdout))
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (s("id"), s("state"), s("found"), s("fix"))
        })
        .collect()
}

/// The checks that are not `pass`, as `(id, state)`.
fn not_passing(output: &Output) -> Vec<(String, String)> {
    checks(output)
        .into_iter()
        .filter(|(_, state, _, _)| state != "pass")
        .map(|(id, state, _, _)| (id, state))
        .collect()
}

fn find(output: &Output, id: &str) -> (String, String, String) {
    checks(output)
        .into_iter()
        .find(|(i, ..)| i == id)
        .map(|(_, state, found, fix)| (state, found, fix))
        .unwrap_or_else(|| panic!("no check `{id}` in {}", output.stdout))
}

/// The run's only non-passing check is `id`, a ✗: its `(found, fix)`.
#[track_caller]
fn the_one_fail(output: &Output, id: &str) -> (String, String) {
    assert_eq!(
        not_passing(output),
        pairs(&[(id, "fail")]),
        "{}",
        output.stdout
    );
    let (_, found, fix) = find(output, id);
    (found, fix)
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

// ---- the fake -----------------------------------------------------------------------------

const TOKEN: &str = "tok-doctor-reader";

fn fake_world(reader_is_admin: bool) -> FakeGitea {
    let fake = FakeGitea::start();
    fake.add_user("reader", TOKEN);
    fake.add_repo("acme/app");
    if reader_is_admin {
        fake.make_repo_admin("acme/app", "reader");
    }
    for team in GATE_TEAMS {
        fake.add_team("acme", team, &["reader"]);
    }
    for label in ["tier:low", "tier:medium", "tier:high"] {
        fake.add_repo_label("acme/app", label, "00aa00");
    }
    // The examples, pinned to a shipgate copy on this server whose `v1` lists the version.
    fake.add_repo("acme/shipgate");
    fake.set_file("acme/shipgate", "v1", "dist/SHA256SUMS", SHA256SUMS);
    fake.set_file("acme/shipgate", "v1", "dist/VERSION", VERSION);
    let uses = format!("{}/acme/shipgate@v1", fake.url());
    for (path, text) in [
        (".gitea/workflows/auto-tier.yml", AUTO_TIER_YML),
        (".gitea/workflows/review-fire.yml", REVIEW_FIRE_YML),
    ] {
        fake.set_file("acme/app", "main", path, &text.replace(EXAMPLE_USES, &uses));
    }
    fake.add_branch_protection(
        "acme/app",
        json!({"rule_name": "main", "enable_status_check": true,
               "status_check_contexts": [QA, SEC], "dismiss_stale_approvals": true}),
    );
    fake
}

fn fake_doctor(fake: &FakeGitea, mode: &str) -> Test {
    Test::new()
        .args(&["doctor", "--mode", mode, "--format", "json"])
        .forge(fake)
        .repo("acme/app")
        .token(TOKEN)
}

#[test]
fn fake_tier_setup_lists_every_check_and_proves_write_issue_by_the_listed_scopes() {
    let fake = fake_world(true);
    fake.set_token_scopes("reader", &["read:repository", "write:issue", "read:user"]);
    let output = fake_doctor(&fake, "tier").success();
    let ids: Vec<String> = checks(&output).into_iter().map(|c| c.0).collect();
    assert_eq!(
        ids,
        [
            "config",
            "server",
            "tier.workflow",
            "tier.token",
            "tier.labels",
            "tier.teams"
        ]
    );
    assert_eq!(not_passing(&output), pairs(&[]), "{}", output.stdout);
    let (_, found, _) = find(&output, "tier.token");
    assert!(
        found.contains("`SHIPGATE_TOKEN` belongs to `reader`")
            && found.contains(
                "write:issue (listed by the server in its refusal of GET /notifications/new)"
            ),
        "{found}"
    );
    // Doctor only reads.
    assert!(
        fake.requests().iter().all(|r| r.method == "GET"),
        "{:?}",
        fake.requests()
    );
}

#[test]
fn fake_tier_token_without_write_issue_fails_and_unlisted_scopes_stay_unproven() {
    let fake = fake_world(true);
    fake.set_token_scopes("reader", &["read:repository", "read:issue", "read:user"]);
    let output = fake_doctor(&fake, "tier").refused();
    assert_eq!(
        not_passing(&output),
        pairs(&[("tier.token", "fail")]),
        "{}",
        output.stdout
    );
    let (_, found, fix) = find(&output, "tier.token");
    assert!(
        found.ends_with("refused: write:issue (listed by the server in its refusal of GET /notifications/new: the token's scopes are read:repository,read:issue,read:user)"),
        "{found}"
    );
    assert!(
        fix.starts_with("issue a token with read:repository, read:user, read:issue, write:issue"),
        "{fix}"
    );

    // A token that holds a notification scope gets no refusal, so no list: `?`, not ✓.
    let fake = fake_world(true);
    let output = fake_doctor(&fake, "tier").unverified();
    assert_eq!(
        not_passing(&output),
        pairs(&[("tier.token", "unknown")]),
        "{}",
        output.stdout
    );
    let (_, found, fix) = find(&output, "tier.token");
    assert!(
        found.contains("the token holds read:notification"),
        "{found}"
    );
    assert!(fix.contains("write:issue"), "{fix}");
    assert_eq!(output.json()["result"], "cannot-verify");
}

#[test]
fn fake_a_workflows_directory_listed_in_part_is_unknown_never_pass() {
    let fake = fake_world(true);
    fake.set_token_scopes("reader", &["read:repository", "write:issue", "read:user"]);
    fake.truncate_trees();
    let output = fake_doctor(&fake, "tier").unverified();
    let (state, found, _) = find(&output, "tier.workflow");
    assert_eq!(state, "unknown");
    assert!(
        found.contains("could not be listed") && found.contains("truncated"),
        "{found}"
    );
}

#[test]
fn fake_protection_without_admin_is_unknown_never_pass() {
    let fake = fake_world(false);
    let output = fake_doctor(&fake, "review-fire").run();
    for id in [
        "review-fire.contexts",
        "review-fire.dismiss-stale",
        "review-fire.approvals",
    ] {
        let (state, found, fix) = find(&output, id);
        assert_eq!(state, "unknown", "{id}: {found}");
        assert!(fix.contains("Repository → Settings → Branches"), "{fix}");
    }
}

#[test]
fn fake_text_report_shows_symbols_found_and_fix() {
    let fake = fake_world(true);
    fake.set_file(
        "acme/app",
        "main",
        ".gitea/shipgate.yml",
        "sync:\n  max_attempts: 0\n",
    );
    let output = Test::new()
        .args(&["doctor", "--mode", "tier"])
        .forge(&fake)
        .repo("acme/app")
        .token(TOKEN)
        .refused();
    assert!(output.stdout.contains("✗ config — `.gitea/shipgate.yml@main` is invalid: line 2, column 17: `sync.max_attempts` must be at least 1"), "{}", output.stdout);
    assert!(
        output
            .stdout
            .contains("    fix: fix `.gitea/shipgate.yml` on `main`"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("✓ server — Gitea 1.27.3"),
        "{}",
        output.stdout
    );
    assert_eq!(output.annotations().len(), 1, "{}", output.stderr);
}

#[test]
fn fake_an_action_pinned_elsewhere_or_unlisted_is_not_pass() {
    let fake = fake_world(true);
    // The example as shipped: the action on another host cannot be read from here.
    fake.set_file(
        "acme/app",
        "main",
        ".gitea/workflows/auto-tier.yml",
        AUTO_TIER_YML,
    );
    let output = fake_doctor(&fake, "tier").unverified();
    let (state, found, _) = find(&output, "tier.workflow");
    assert_eq!(state, "unknown");
    assert!(
        found.contains("the action lives on `https://gitea.example.com`"),
        "{found}"
    );
    // Pinned to a ref whose SHA256SUMS does not list the version it downloads.
    fake.set_file("acme/shipgate", "v2", "dist/SHA256SUMS", SHA256SUMS);
    fake.set_file("acme/shipgate", "v2", "dist/VERSION", "9.9.9\n");
    let uses = format!("{}/acme/shipgate@v2", fake.url());
    fake.set_file(
        "acme/app",
        "main",
        ".gitea/workflows/auto-tier.yml",
        &AUTO_TIER_YML.replace(EXAMPLE_USES, &uses),
    );
    let output = fake_doctor(&fake, "tier").refused();
    let (state, found, fix) = find(&output, "tier.workflow");
    assert_eq!(state, "fail");
    assert!(found.contains("has no entry for shipgate 9.9.9"), "{found}");
    assert!(
        fix.contains("pin `.gitea/workflows/auto-tier.yml` to the tag of a release"),
        "{fix}"
    );
}

// ---- the real Gitea -----------------------------------------------------------------------

/// An example workflow whose `uses:` points at a shipgate copy on this server (a fresh
/// repository whose `main` holds this tree's `dist/SHA256SUMS` and `dist/VERSION`).
fn example(g: &RealGitea, text: &str) -> String {
    let action = g.repo("shipgate");
    action.put_file("main", "dist/SHA256SUMS", SHA256SUMS);
    action.put_file("main", "dist/VERSION", VERSION);
    text.replace(EXAMPLE_USES, &format!("{}/{}@main", g.url, action.full))
}

/// A reader that may read branch protection: in every gate team, a repository admin.
fn admin_reader(repo: &Repo<'_>, teams: &[&str]) -> (String, String) {
    let (login, token) = repo
        .gitea
        .fresh_account("doctor-reader", teams, READER_SCOPES);
    repo.add_collaborator(&login, "admin");
    (login, token)
}

/// A status bot whose token doctor can name (write:repository + read:user).
fn status_bot(g: &RealGitea) -> String {
    g.fresh_account(
        "doctor-status",
        &["developers"],
        &["write:repository", "read:user"],
    )
    .1
}

/// main's rule as review-fire needs it, requiring these contexts.
fn review_rule(contexts: &[&str]) -> Value {
    json!({
        "rule_name": "main", "branch_name": "main", "enable_push": false,
        "enable_status_check": true, "status_check_contexts": contexts,
        "dismiss_stale_approvals": true, "required_approvals": 2,
        "protected_file_patterns": ".gitea/workflows/**;.gitea/shipgate.yml",
    })
}

/// A repository with the review-fire workflow on main and main protected by `rule`.
fn review_repo_with<'g>(g: &'g RealGitea, repo: Repo<'g>, rule: Value) -> Repo<'g> {
    repo.put_file(
        "main",
        ".gitea/workflows/review-fire.yml",
        &example(g, REVIEW_FIRE_YML),
    );
    repo.protect(rule);
    repo
}

/// A repository with the review-fire workflow on main and main protected as review-fire
/// needs, requiring these contexts.
fn review_repo<'g>(g: &'g RealGitea, prefix: &str, contexts: &[&str]) -> Repo<'g> {
    review_repo_with(g, g.repo(prefix), review_rule(contexts))
}

fn doctor(repo: &Repo<'_>, mode: &str, token: &str) -> Test {
    Test::new()
        .args(&["doctor", "--mode", mode, "--format", "json"])
        .server(&repo.gitea.url)
        .repo(&repo.full)
        .token(token)
}

fn review_fire_correct_setup_is_all_pass(g: &RealGitea) {
    let repo = review_repo(g, "dr-rf-ok", &[QA, SEC]);
    let (_, reader) = admin_reader(&repo, GATE_TEAMS);
    let output = doctor(&repo, "review-fire", &reader)
        .status_token(&status_bot(g))
        .success();
    assert_eq!(not_passing(&output), Vec::<(String, String)>::new());
    assert_eq!(checks(&output).len(), 10, "{}", output.stdout);
    assert!(output.annotations().is_empty(), "{}", output.stderr);
}

/// Gitea serves the receive-pack advertisement to an account with read access only (it
/// refuses the push later, in its hook), so a read-only status account with
/// `write:repository` is the status-token ✗, proven by the account's own permission.
fn read_only_status_account_is_the_status_token_fail(g: &RealGitea) {
    let repo = review_repo(g, "dr-rf-ro", &[QA, SEC]);
    let (_, reader) = admin_reader(&repo, GATE_TEAMS);
    let (login, status) = g.fresh_account("doctor-ro", &[], &["write:repository", "read:user"]);
    repo.add_collaborator(&login, "read");
    let output = doctor(&repo, "review-fire", &reader)
        .status_token(&status)
        .refused();
    let (found, fix) = the_one_fail(&output, "review-fire.status-token");
    // The advertisement was served (write:repository is not among the refusals); the
    // account's permission is what refuses.
    assert!(
        found.ends_with(
            "refused: code write (GET /repos/{o}/{r} permissions.push: the account's permission is read only)"
        ),
        "{found}"
    );
    assert!(fix.contains("write access to the repository"), "{fix}");
    // Gitea agrees: the account cannot post a status.
    let sha = repo.tip("main");
    let (code, _, _) = repo.gitea.call(
        "POST",
        &repo.path(&format!("/statuses/{sha}")),
        Some(&status),
        Some(json!({"state": "success", "context": "x"})),
    );
    assert_eq!(code, 403, "a read-only account posts no status");
}

/// `review.merge` merges with the status token: a merge allowlist on main without its
/// account is the status-token ✗ (the server's `user_can_merge` for that account).
fn review_merge_with_the_status_account_off_the_merge_allowlist_is_its_fail(g: &RealGitea) {
    let repo = g.repo("dr-rf-merge");
    repo.put_file("main", ".gitea/shipgate.yml", "review:\n  merge: squash\n");
    let mut rule = review_rule(&[QA, SEC]);
    rule["enable_merge_whitelist"] = json!(true);
    rule["merge_whitelist_usernames"] = json!(["devops-engineer"]);
    let repo = review_repo_with(g, repo, rule);
    let (_, reader) = admin_reader(&repo, GATE_TEAMS);
    let output = doctor(&repo, "review-fire", &reader)
        .status_token(&status_bot(g))
        .refused();
    let (found, fix) = the_one_fail(&output, "review-fire.status-token");
    assert!(found.contains("may not merge into `main`"), "{found}");
    assert!(fix.contains("merge allowlist"), "{fix}");
}

fn sync_correct_setup_is_all_pass(g: &RealGitea) {
    let repo = g.repo("dr-sync-ok");
    // Under a name of the team's own: doctor lists the workflows directory.
    repo.put_file(
        "main",
        ".gitea/workflows/keep-staging.yaml",
        &example(g, AUTO_SYNC_YML),
    );
    let (login, token) = g.fresh_account(
        "doctor-syncer",
        &["devops"],
        &["write:repository", "read:user"],
    );
    repo.add_collaborator(&login, "admin");
    repo.protect(json!({
        "rule_name": "staging", "branch_name": "staging", "enable_push": true,
        "enable_push_whitelist": true, "push_whitelist_usernames": [login],
    }));
    let output = doctor(&repo, "sync", &token).success();
    assert_eq!(not_passing(&output), Vec::<(String, String)>::new());
    let (_, found, _) = find(&output, "sync.workflow");
    assert!(
        found.starts_with("`.gitea/workflows/keep-staging.yaml` on `main` runs `mode: sync`"),
        "{found}"
    );
    let (_, found, _) = find(&output, "sync.staging-push");
    assert_eq!(
        found,
        format!("`{login}` is on the push allowlist of `staging`")
    );
}

fn context_suffix_differs_is_its_fail_with_the_nearest_match(g: &RealGitea) {
    let wrong = "qa-review / approved (pull_request_review)";
    let repo = review_repo(g, "dr-rf-ctx", &[wrong, SEC]);
    let (_, reader) = admin_reader(&repo, GATE_TEAMS);
    let output = doctor(&repo, "review-fire", &reader)
        .status_token(&status_bot(g))
        .refused();
    assert_eq!(
        not_passing(&output),
        pairs(&[("review-fire.contexts", "fail")])
    );
    let (_, found, fix) = find(&output, "review-fire.contexts");
    assert_eq!(
        found,
        format!("`main` requires `{wrong}`, shipgate posts `{QA}` (they differ in suffix)")
    );
    assert!(
        fix.contains(&format!("replace `{wrong}` with `{QA}`")),
        "{fix}"
    );
}

fn sync_account_missing_from_the_allowlist_is_its_fail(g: &RealGitea) {
    let repo = g.repo("dr-sync-allow");
    repo.put_file(
        "main",
        ".gitea/workflows/auto-sync.yml",
        &example(g, AUTO_SYNC_YML),
    );
    let (login, token) = g.fresh_account(
        "doctor-syncer",
        &["devops"],
        &["write:repository", "read:user"],
    );
    repo.add_collaborator(&login, "admin");
    repo.protect(json!({
        "rule_name": "staging", "branch_name": "staging", "enable_push": true,
        "enable_push_whitelist": true, "push_whitelist_usernames": ["devops-engineer"],
    }));
    let output = doctor(&repo, "sync", &token).refused();
    assert_eq!(
        not_passing(&output),
        pairs(&[("sync.staging-push", "fail")])
    );
    let (_, found, fix) = find(&output, "sync.staging-push");
    assert_eq!(
        found,
        format!("`{login}` is not on the push allowlist of `staging` (it lists `devops-engineer`)")
    );
    assert!(fix.contains("push_whitelist_usernames"), "{fix}");
}

fn reader_outside_a_gate_team_is_the_teams_fail(g: &RealGitea) {
    let repo = review_repo(g, "dr-rf-team", &[QA, SEC]);
    let (login, reader) = admin_reader(&repo, &["engineers", "managers", "executive", "security"]);
    let output = doctor(&repo, "review-fire", &reader)
        .status_token(&status_bot(g))
        .refused();
    let bad = not_passing(&output);
    let fails: Vec<&(String, String)> = bad.iter().filter(|(_, s)| s == "fail").collect();
    assert_eq!(
        fails,
        [&("review-fire.teams".to_owned(), "fail".to_owned())],
        "{bad:?}"
    );
    let (_, found, fix) = find(&output, "review-fire.teams");
    assert!(found.contains("`qa`"), "{found}");
    assert!(
        fix.contains(&format!("add `{login}`")) || fix.contains(&login),
        "{fix}"
    );
    eprintln!(
        "{}: teams found: {found}\nfix: {fix}\nother: {bad:?}",
        g.name
    );
}

fn tier_labels_missing_and_no_write_is_the_labels_fail(g: &RealGitea) {
    let repo = g.repo("dr-tier-labels");
    repo.put_file(
        "main",
        ".gitea/workflows/auto-tier.yml",
        &example(g, AUTO_TIER_YML),
    );
    // olga's team (everyone) has read access only: her token cannot create labels. Her
    // token holds write:issue: a server that lists scopes proves it, an older one cannot.
    let output = doctor(&repo, "tier", g.token("olga")).refused();
    let expected = if lists_scopes(g) {
        pairs(&[("tier.labels", "fail")])
    } else {
        pairs(&[("tier.token", "unknown"), ("tier.labels", "fail")])
    };
    assert_eq!(not_passing(&output), expected, "{}", output.stdout);
    let (_, found, fix) = find(&output, "tier.labels");
    assert_eq!(
        found,
        "`tier:low`, `tier:medium`, `tier:high` missing, and the token's account has no write access to create them"
    );
    assert!(
        fix.contains(&format!("POST /repos/{}/labels", repo.full)),
        "{fix}"
    );
}

/// Whether this server's missing-scope 403 lists the token's scopes (so doctor can prove
/// write:issue): Gitea 1.27.3 does, 1.22.6 does not.
fn lists_scopes(g: &RealGitea) -> bool {
    let minor = |v: &str| -> Option<(u32, u32)> {
        let mut parts = v.split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    minor(&g.version).is_some_and(|v| v >= (1, 27))
}

/// The auto-tier example on main and the three labels: what tier needs.
fn tier_repo<'g>(g: &'g RealGitea, prefix: &str) -> Repo<'g> {
    let repo = g.repo(prefix);
    repo.put_file(
        "main",
        ".gitea/workflows/auto-tier.yml",
        &example(g, AUTO_TIER_YML),
    );
    for label in ["tier:low", "tier:medium", "tier:high"] {
        repo.create_label(label);
    }
    repo
}

fn tier_correct_setup_is_all_pass_where_the_server_lists_scopes(g: &RealGitea) {
    let repo = tier_repo(g, "dr-tier-ok");
    // tier-bot: the README's tier token (read:repository, write:issue, read:user), in a team
    // with write access.
    let test = doctor(&repo, "tier", g.token("tier-bot"));
    if lists_scopes(g) {
        let output = test.success();
        assert_eq!(not_passing(&output), pairs(&[]), "{}", output.stdout);
        let (_, found, _) = find(&output, "tier.token");
        assert!(
            found.contains("`SHIPGATE_TOKEN` belongs to `tier-bot`")
                && found.contains(
                    "write:issue (listed by the server in its refusal of GET /notifications/new)"
                ),
            "{found}"
        );
    } else {
        let output = test.unverified();
        assert_eq!(
            not_passing(&output),
            pairs(&[("tier.token", "unknown")]),
            "{}",
            output.stdout
        );
        let (_, found, fix) = find(&output, "tier.token");
        assert!(found.contains("Gitea before 1.27"), "{found}");
        assert!(
            fix.starts_with("check by hand that the token has write:issue"),
            "{fix}"
        );
    }
}

fn tier_token_without_write_issue_is_the_token_fail_where_the_server_lists_scopes(g: &RealGitea) {
    let repo = tier_repo(g, "dr-tier-scope");
    let (_, token) = g.fresh_account(
        "doctor-tier",
        &["developers"],
        &["read:repository", "read:issue", "read:user"],
    );
    let test = doctor(&repo, "tier", &token);
    let (output, state) = if lists_scopes(g) {
        (test.refused(), "fail")
    } else {
        (test.unverified(), "unknown")
    };
    assert_eq!(
        not_passing(&output),
        pairs(&[("tier.token", state)]),
        "{}",
        output.stdout
    );
    let (_, found, fix) = find(&output, "tier.token");
    if lists_scopes(g) {
        assert!(
            found.contains("refused: write:issue (listed by the server"),
            "{found}"
        );
        assert!(fix.contains("write:issue"), "{fix}");
    }
    eprintln!("{}: tier.token: {found}\nfix: {fix}", g.name);
}

/// A repository with staging, the auto-sync example, and staging's push allowlist naming
/// team `devops` only (no users).
fn team_allowlist_repo<'g>(g: &'g RealGitea, prefix: &str) -> Repo<'g> {
    let repo = g.repo(prefix);
    repo.put_file(
        "main",
        ".gitea/workflows/auto-sync.yml",
        &example(g, AUTO_SYNC_YML),
    );
    repo.protect(json!({
        "rule_name": "staging", "branch_name": "staging", "enable_push": true,
        "enable_push_whitelist": true, "push_whitelist_teams": ["devops"],
    }));
    repo
}

fn sync_account_in_an_allowlisted_team_is_pass_without_admin(g: &RealGitea) {
    let repo = team_allowlist_repo(g, "dr-sync-team");
    // Not an admin: the rules are unreadable, and the account is no listed user anyway;
    // the server's `user_can_push` for the token's own account decides.
    let (login, token) = g.fresh_account(
        "doctor-team-syncer",
        &["devops"],
        &["write:repository", "read:user"],
    );
    let output = doctor(&repo, "sync", &token).success();
    assert_eq!(not_passing(&output), pairs(&[]), "{}", output.stdout);
    let (_, found, _) = find(&output, "sync.staging-push");
    assert_eq!(
        found,
        format!("`{login}` may push to `staging` (GET /repos/{}/branches/staging says `user_can_push`: true)", repo.full)
    );
}

fn sync_account_outside_the_allowlisted_team_is_its_fail_without_admin(g: &RealGitea) {
    let repo = team_allowlist_repo(g, "dr-sync-noteam");
    // Code write through `developers`, but not in `devops`.
    let (login, token) = g.fresh_account(
        "doctor-dev-syncer",
        &["developers"],
        &["write:repository", "read:user"],
    );
    let output = doctor(&repo, "sync", &token).refused();
    assert_eq!(
        not_passing(&output),
        pairs(&[("sync.staging-push", "fail")]),
        "{}",
        output.stdout
    );
    let (_, found, fix) = find(&output, "sync.staging-push");
    assert_eq!(
        found,
        format!("`{login}` may not push to `staging` (GET /repos/{}/branches/staging says `user_can_push`: false)", repo.full)
    );
    assert!(fix.contains("push_whitelist_teams"), "{fix}");
}

/// The auto-promote example on main, main protected requiring `contexts`, and a promote
/// account (code write through `developers`, no admin).
fn promote_repo<'g>(g: &'g RealGitea, prefix: &str, rule: Value) -> (Repo<'g>, String, String) {
    let repo = g.repo(prefix);
    repo.put_file(
        "main",
        ".gitea/workflows/auto-promote.yml",
        &example(g, AUTO_PROMOTE_YML),
    );
    repo.protect(rule);
    let (login, token) = g.fresh_account(
        "doctor-promoter",
        &["developers"],
        &["write:repository", "read:user"],
    );
    (repo, login, token)
}

fn promote_correct_setup_is_all_pass(g: &RealGitea) {
    let (repo, login, token) = promote_repo(
        g,
        "dr-promote-ok",
        json!({"rule_name": "main", "branch_name": "main", "enable_push": false,
               "enable_status_check": true, "status_check_contexts": ["ci / build (push)"]}),
    );
    let output = doctor(&repo, "promote", &token).success();
    assert_eq!(not_passing(&output), pairs(&[]), "{}", output.stdout);
    let ids: Vec<String> = checks(&output).into_iter().map(|c| c.0).collect();
    assert_eq!(
        ids,
        [
            "config",
            "server",
            "promote.workflow",
            "promote.token",
            "promote.contexts",
            "promote.merge"
        ]
    );
    let (_, found, _) = find(&output, "promote.contexts");
    assert_eq!(found, "promote waits for `ci / build (push)` on staging's head (0 from the config, 1 from `main`'s protection)");
    let (_, found, _) = find(&output, "promote.merge");
    assert_eq!(
        found,
        format!("`{login}` may merge into `main` (GET /repos/{}/branches/main: `user_can_merge` true), fast-forward-only merges are allowed", repo.full)
    );
}

fn promote_without_contexts_or_fast_forward_merges_is_their_fail(g: &RealGitea) {
    let (repo, _, token) = promote_repo(
        g,
        "dr-promote-bare",
        json!({"rule_name": "main", "branch_name": "main", "enable_push": false}),
    );
    g.admin(
        "PATCH",
        &repo.path(""),
        Some(json!({"allow_fast_forward_only_merge": false})),
    );
    let output = doctor(&repo, "promote", &token).refused();
    assert_eq!(
        not_passing(&output),
        pairs(&[("promote.contexts", "fail"), ("promote.merge", "fail")]),
        "{}",
        output.stdout
    );
    let (_, found, _) = find(&output, "promote.contexts");
    assert!(
        found.contains("promote cannot know what green means"),
        "{found}"
    );
    let (_, _, fix) = find(&output, "promote.merge");
    assert!(fix.contains("allow_fast_forward_only_merge"), "{fix}");
}

fn promote_account_off_the_merge_allowlist_is_the_merge_fail(g: &RealGitea) {
    let (repo, login, token) = promote_repo(
        g,
        "dr-promote-merge",
        json!({"rule_name": "main", "branch_name": "main", "enable_push": false,
               "enable_status_check": true, "status_check_contexts": ["ci / build (push)"],
               "enable_merge_whitelist": true, "merge_whitelist_usernames": ["alice"]}),
    );
    let output = doctor(&repo, "promote", &token).refused();
    assert_eq!(
        not_passing(&output),
        pairs(&[("promote.merge", "fail")]),
        "{}",
        output.stdout
    );
    let (_, found, _) = find(&output, "promote.merge");
    assert_eq!(
        found,
        format!("`{login}` may not merge into `main` (GET /repos/{}/branches/main: `user_can_merge` false)", repo.full)
    );
}

fn invalid_config_is_the_config_fail(g: &RealGitea) {
    let repo = g.repo("dr-config");
    repo.put_file(
        "main",
        ".gitea/workflows/auto-sync.yml",
        &example(g, AUTO_SYNC_YML),
    );
    repo.put_file("main", ".gitea/shipgate.yml", "sync:\n  max_attempts: 0\n");
    let (_, token) = g.fresh_account(
        "doctor-syncer",
        &["devops"],
        &["write:repository", "read:user"],
    );
    let output = doctor(&repo, "sync", &token).refused();
    let bad = not_passing(&output);
    assert_eq!(bad[0], ("config".to_owned(), "fail".to_owned()), "{bad:?}");
    assert!(bad[1..].iter().all(|(_, s)| s == "unknown"), "{bad:?}");
    let (_, found, fix) = find(&output, "config");
    assert_eq!(
        found,
        "`.gitea/shipgate.yml@main` is invalid: line 2, column 17: `sync.max_attempts` must be at least 1"
    );
    assert!(fix.contains("shipgate config check"), "{fix}");
}

fn protection_without_admin_is_unknown_not_pass(g: &RealGitea) {
    let repo = review_repo(g, "dr-rf-noadmin", &[QA, SEC]);
    // gate-reader: every gate team, not a repository admin.
    let output = doctor(&repo, "review-fire", g.token("gate-reader"))
        .status_token(&status_bot(g))
        .unverified();
    assert_eq!(
        not_passing(&output),
        pairs(&[
            ("review-fire.contexts", "unknown"),
            ("review-fire.dismiss-stale", "unknown"),
            ("review-fire.approvals", "unknown"),
        ])
    );
    let (_, found, fix) = find(&output, "review-fire.contexts");
    assert!(
        found.starts_with("branch protection could not be read"),
        "{found}"
    );
    assert!(fix.contains("Repository → Settings → Branches"), "{fix}");
    let json: Value = output.json();
    assert_eq!(json["result"], "cannot-verify");
}

fn review_workflow_without_pull_request_review_is_the_workflow_fail(g: &RealGitea) {
    let repo = g.repo("dr-rf-wf");
    let text = example(g, REVIEW_FIRE_YML).replace("  pull_request_review:\n", "");
    repo.put_file("main", ".gitea/workflows/review-fire.yml", &text);
    repo.protect(json!({
        "rule_name": "main", "branch_name": "main", "enable_push": false,
        "enable_status_check": true, "status_check_contexts": [QA, SEC],
        "dismiss_stale_approvals": true, "required_approvals": 2,
        "protected_file_patterns": ".gitea/workflows/**;.gitea/shipgate.yml",
    }));
    let (_, reader) = admin_reader(&repo, GATE_TEAMS);
    let output = doctor(&repo, "review-fire", &reader)
        .status_token(&status_bot(g))
        .refused();
    assert_eq!(
        not_passing(&output),
        pairs(&[("review-fire.workflow", "fail")])
    );
    let (_, found, fix) = find(&output, "review-fire.workflow");
    assert_eq!(
        found,
        "`.gitea/workflows/review-fire.yml` has no `pull_request_review` trigger: approvals fire nothing"
    );
    assert!(fix.contains("add `pull_request_review:`"), "{fix}");
}

fn stale_approvals_kept_is_the_dismiss_stale_fail(g: &RealGitea) {
    let mut rule = review_rule(&[QA, SEC]);
    rule["dismiss_stale_approvals"] = json!(false);
    let repo = review_repo_with(g, g.repo("dr-rf-stale"), rule);
    let (_, reader) = admin_reader(&repo, GATE_TEAMS);
    let output = doctor(&repo, "review-fire", &reader)
        .status_token(&status_bot(g))
        .refused();
    assert_eq!(
        not_passing(&output),
        pairs(&[("review-fire.dismiss-stale", "fail")])
    );
    let (_, found, fix) = find(&output, "review-fire.dismiss-stale");
    assert_eq!(
        found,
        "stale approvals are not dismissed on the rule `main` for `main`"
    );
    assert!(fix.contains("dismiss_stale_approvals: true"), "{fix}");
}

real_gitea_tests!(
    review_workflow_without_pull_request_review_is_the_workflow_fail,
    stale_approvals_kept_is_the_dismiss_stale_fail,
    review_fire_correct_setup_is_all_pass,
    sync_correct_setup_is_all_pass,
    context_suffix_differs_is_its_fail_with_the_nearest_match,
    sync_account_missing_from_the_allowlist_is_its_fail,
    reader_outside_a_gate_team_is_the_teams_fail,
    tier_labels_missing_and_no_write_is_the_labels_fail,
    tier_correct_setup_is_all_pass_where_the_server_lists_scopes,
    sync_account_in_an_allowlisted_team_is_pass_without_admin,
    sync_account_outside_the_allowlisted_team_is_its_fail_without_admin,
    promote_correct_setup_is_all_pass,
    promote_without_contexts_or_fast_forward_merges_is_their_fail,
    promote_account_off_the_merge_allowlist_is_the_merge_fail,
    tier_token_without_write_issue_is_the_token_fail_where_the_server_lists_scopes,
    invalid_config_is_the_config_fail,
    protection_without_admin_is_unknown_not_pass,
    read_only_status_account_is_the_status_token_fail,
    review_merge_with_the_status_account_off_the_merge_allowlist_is_its_fail,
);
