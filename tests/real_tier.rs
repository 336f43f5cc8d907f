//! Integration tests: tier against the real Gitea, every version in `VERSIONS`.
//! Harness: real_gitea, test.
//!
//! Each test asserts the exit code and the labels the server holds afterwards.

use crate::real_gitea_tests;
use crate::support::{
    real_gitea::{Change, RealGitea, Repo},
    test::{Output, Test},
};

fn tier(repo: &Repo<'_>, pr: u64, login: &str) -> Test {
    Test::new()
        .args(&["tier", "--pr", &pr.to_string(), "--format", "json", "-v"])
        .server(&repo.gitea.url)
        .repo(&repo.full)
        .token(repo.gitea.token(login))
}

/// A PR by alice adding these files on branch `feature`.
fn pr_with(repo: &Repo<'_>, files: &[(&str, &str)]) -> u64 {
    let changes: Vec<Change<'_>> = files.iter().map(|(p, t)| Change::Create(p, t)).collect();
    repo.commit("alice", "feature", Some("main"), "feature work", &changes);
    repo.open_pr("alice", "feature", "main", "feature work")
}

/// The number of label rows in the PR's timeline, read page by page as the admin.
fn label_events(repo: &Repo<'_>, pr: u64) -> usize {
    let mut count = 0;
    let mut empty = 0;
    for page in 1..200 {
        let rows = repo.gitea.admin(
            "GET",
            &repo.path(&format!("/issues/{pr}/timeline?limit=50&page={page}")),
            None,
        );
        let rows = rows.as_array().cloned().unwrap_or_default();
        if rows.is_empty() {
            empty += 1;
            if empty == 2 {
                break;
            }
            continue;
        }
        empty = 0;
        count += rows.iter().filter(|r| r["type"] == "label").count();
    }
    count
}

fn json_tier(output: &Output) -> String {
    output.json()["tier"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn new_pr_is_labeled_and_a_second_run_writes_nothing(g: &RealGitea) {
    let repo = g.repo("tier-new");
    let pr = pr_with(&repo, &[("src/app.rs", "fn main() {}\n")]);
    let first = tier(&repo, pr, "tier-bot").success();
    assert_eq!(json_tier(&first), "medium", "{}", first.stdout);
    assert_eq!(repo.labels(pr), vec!["tier:medium"]);
    let events = label_events(&repo, pr);
    assert_eq!(events, 1, "one label add in the timeline");

    let second = tier(&repo, pr, "tier-bot").success();
    assert_eq!(
        second.json()["label_action"],
        "unchanged",
        "{}",
        second.stdout
    );
    assert_eq!(repo.labels(pr), vec!["tier:medium"]);
    assert_eq!(
        label_events(&repo, pr),
        events,
        "the second run wrote a label"
    );
}

fn pr_with_120_files_is_read_completely(g: &RealGitea) {
    let repo = g.repo("tier-120");
    let files: Vec<(String, String)> = (0..120)
        .map(|i| (format!("docs/page-{i:03}.md"), format!("# page {i}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let pr = pr_with(&repo, &refs);
    let output = tier(&repo, pr, "tier-bot").success();
    let json = output.json();
    assert_eq!(json["files_total"], 120, "{}", output.stdout);
    assert_eq!(json["files_counted"], 120, "{}", output.stdout);
    // Docs only, but more than 50 counted files: size makes it high.
    assert_eq!(json["tier"], "high", "{}", output.stdout);
    assert_eq!(repo.labels(pr), vec!["tier:high"]);
}

fn rename_out_of_auth_is_high(g: &RealGitea) {
    let repo = g.repo("tier-rename");
    repo.commit(
        "alice",
        "main",
        None,
        "add auth",
        &[Change::Create("auth/login.rs", "pub fn login() {}\n")],
    );
    repo.commit(
        "alice",
        "feature",
        Some("main"),
        "move login out of auth",
        &[Change::Rename(
            "auth/login.rs",
            "src/login.rs",
            "pub fn login() {}\n",
        )],
    );
    let pr = repo.open_pr("alice", "feature", "main", "move login");
    let output = tier(&repo, pr, "tier-bot").success();
    assert_eq!(json_tier(&output), "high", "{}", output.stdout);
    let rules = output.json()["rules"].to_string();
    assert!(
        rules.contains("auth/login.rs"),
        "the rule names the old path: {rules}"
    );
    assert_eq!(repo.labels(pr), vec!["tier:high"]);
}

/// More than 50 timeline rows: comments, pushes and inline code comments (which Gitea pages
/// in SQL and then drops from the answer).
fn long_discussion(repo: &Repo<'_>, pr: u64) {
    repo.review(
        "erin",
        pr,
        "COMMENT",
        &[("migrations/001.sql", 1), ("migrations/001.sql", 2)],
    );
    for i in 0..3 {
        let sha = repo.commit(
            "alice",
            "feature",
            None,
            &format!("push {i}"),
            &[Change::Create(
                &format!("migrations/{i:03}-extra.sql"),
                "select 1;\n",
            )],
        );
        repo.wait_pr_head(pr, &sha);
    }
    for i in 0..55 {
        repo.comment(
            if i % 2 == 0 { "erin" } else { "mona" },
            pr,
            &format!("comment {i}"),
        );
    }
}

/// A PR touching `migrations/` (high), with every tier label already in the repository.
fn high_pr(repo: &Repo<'_>) -> u64 {
    for name in ["tier:low", "tier:medium", "tier:high"] {
        repo.create_label(name);
    }
    pr_with(
        repo,
        &[(
            "migrations/001.sql",
            "create table t (id int);\nselect 1;\n",
        )],
    )
}

fn author_lowering_after_a_long_discussion_is_refused(g: &RealGitea) {
    let repo = g.repo("tier-lower");
    let pr = high_pr(&repo);
    tier(&repo, pr, "tier-bot").success();
    assert_eq!(repo.labels(pr), vec!["tier:high"]);
    // Early on, a reviewer lowers it (a legitimate override, at the start of the timeline).
    repo.remove_label("mona", pr, "tier:high");
    repo.add_label("mona", pr, "tier:low");
    long_discussion(&repo, pr);
    // Much later, the author removes it and adds it again: now the author's label.
    repo.remove_label("alice", pr, "tier:low");
    repo.add_label("alice", pr, "tier:low");

    let output = tier(&repo, pr, "tier-bot").refused();
    let annotation = output.annotations().join("\n");
    assert!(
        annotation.contains("alice"),
        "names the author: {annotation}"
    );
    assert_eq!(repo.labels(pr), vec!["tier:low"], "nothing removed");
}

fn reviewer_override_after_a_long_discussion_is_kept(g: &RealGitea) {
    let repo = g.repo("tier-override");
    let pr = high_pr(&repo);
    tier(&repo, pr, "tier-bot").success();
    long_discussion(&repo, pr);
    repo.remove_label("mona", pr, "tier:high");
    repo.add_label("mona", pr, "tier:medium");

    let output = tier(&repo, pr, "tier-bot").success();
    let json = output.json();
    assert_eq!(json["tier"], "medium", "{}", output.stdout);
    assert_eq!(json["computed_tier"], "high", "{}", output.stdout);
    assert_eq!(repo.labels(pr), vec!["tier:medium"]);
}

fn a_token_without_write_issue_cannot_label(g: &RealGitea) {
    let repo = g.repo("tier-scope");
    let pr = pr_with(&repo, &[("src/app.rs", "fn main() {}\n")]);
    // gate-reader has read:repository, read:issue and read:organization, no write:issue.
    let output = tier(&repo, pr, "gate-reader").unverified();
    assert_eq!(output.annotations().len(), 1, "{}", output.stderr);
    assert!(repo.labels(pr).is_empty(), "no label without the scope");
}

real_gitea_tests!(
    new_pr_is_labeled_and_a_second_run_writes_nothing,
    pr_with_120_files_is_read_completely,
    rename_out_of_auth_is_high,
    author_lowering_after_a_long_discussion_is_refused,
    reviewer_override_after_a_long_discussion_is_kept,
    a_token_without_write_issue_cannot_label,
);
