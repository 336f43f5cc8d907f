//! Integration tests: retarget against the real Gitea, every version.
//! Harness: real_gitea, test.
//!
//! The retarget account is a fresh developer whose token has exactly the scopes the
//! example names: write:repository (the base) and write:issue (the comment).

use serde_json::json;

use crate::real_gitea_tests;
use crate::support::{
    real_gitea::{Change, RealGitea, Repo},
    test::{Output, Test},
};

const MARKER: &str = "<!-- shipgate:retarget -->";

fn retarget(g: &RealGitea, repo: &Repo<'_>, token: &str, number: u64, action: &str) -> Output {
    Test::new()
        .args(&["retarget", "--format", "json", "-v"])
        .server(&g.url)
        .repo(&repo.full)
        .token(token)
        .env("SHIPGATE_TIMEOUT", "30")
        .event(
            "pull_request_target",
            json!({"action": action, "number": number, "pull_request": {"number": number}}),
        )
        .run()
}

fn base_of(g: &RealGitea, repo: &Repo<'_>, number: u64) -> String {
    let pr = g.admin("GET", &repo.path(&format!("/pulls/{number}")), None);
    pr["base"]["ref"].as_str().expect("base ref").to_owned()
}

fn marker_comments(g: &RealGitea, repo: &Repo<'_>, number: u64) -> usize {
    let comments = g.admin(
        "GET",
        &repo.path(&format!("/issues/{number}/comments")),
        None,
    );
    comments
        .as_array()
        .expect("comments")
        .iter()
        .filter(|c| c["body"].as_str().is_some_and(|b| b.contains(MARKER)))
        .count()
}

fn a_pr_against_main_is_retargeted_once_and_idempotently(g: &RealGitea) {
    let repo = g.repo("retarget");
    repo.commit(
        "alice",
        "feature",
        Some("main"),
        "a feature",
        &[Change::Create("f.txt", "f\n")],
    );
    let number = repo.open_pr("alice", "feature", "main", "a feature");
    let (_, token) = g.fresh_account(
        "retarget-bot",
        &["developers"],
        &["write:repository", "write:issue"],
    );

    let output = retarget(g, &repo, &token, number, "opened");
    assert_eq!(
        output.status,
        0,
        "{}\n{}\n{}",
        output.stdout,
        output.stderr,
        g.log_tail()
    );
    let json = output.json();
    assert_eq!(json["plan"], "retargeted", "{json}");
    assert_eq!(json["commented"], true);
    assert_eq!(base_of(g, &repo, number), "staging");
    assert_eq!(marker_comments(g, &repo, number), 1);

    // The edit it caused: not applicable now, nothing repeated.
    let again = retarget(g, &repo, &token, number, "edited");
    assert_eq!(again.status, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(again.json()["result"], "not-applicable");
    assert_eq!(marker_comments(g, &repo, number), 1);

    // Someone moves it back to main: retargeted again, still one comment.
    g.admin(
        "PATCH",
        &repo.path(&format!("/pulls/{number}")),
        Some(json!({"base": "main"})),
    );
    assert_eq!(base_of(g, &repo, number), "main");
    let third = retarget(g, &repo, &token, number, "edited");
    assert_eq!(third.status, 0, "{}\n{}", third.stdout, third.stderr);
    assert_eq!(third.json()["commented"], false);
    assert_eq!(base_of(g, &repo, number), "staging");
    assert_eq!(marker_comments(g, &repo, number), 1);
}

fn the_promotion_pr_is_left_alone(g: &RealGitea) {
    let repo = g.repo("retarget-promo");
    repo.commit(
        "alice",
        "staging",
        None,
        "staged",
        &[Change::Create("s.txt", "s\n")],
    );
    let number = repo.open_pr("alice", "staging", "main", "promote");
    let (_, token) = g.fresh_account(
        "retarget-bot",
        &["developers"],
        &["write:repository", "write:issue"],
    );
    let output = retarget(g, &repo, &token, number, "opened");
    assert_eq!(output.status, 0, "{}\n{}", output.stdout, output.stderr);
    assert_eq!(output.json()["result"], "not-applicable");
    assert_eq!(base_of(g, &repo, number), "main");
    assert_eq!(marker_comments(g, &repo, number), 0);
}

fn a_token_that_cannot_comment_cannot_verify(g: &RealGitea) {
    let repo = g.repo("retarget-scope");
    repo.commit(
        "alice",
        "feature",
        Some("main"),
        "a feature",
        &[Change::Create("f.txt", "f\n")],
    );
    let number = repo.open_pr("alice", "feature", "main", "a feature");
    // No write:issue: Gitea refuses the comments read or the comment with 403.
    let (_, token) = g.fresh_account("retarget-noissue", &["developers"], &["read:repository"]);
    let output = retarget(g, &repo, &token, number, "opened");
    assert_eq!(output.status, 2, "{}\n{}", output.stdout, output.stderr);
    assert_eq!(output.annotations().len(), 1, "{}", output.stderr);
    assert_eq!(base_of(g, &repo, number), "main", "nothing written");
}

fn an_author_exempt_in_the_base_branch_config_keeps_main(g: &RealGitea) {
    let repo = g.repo("retarget-exempt");
    repo.commit(
        "alice",
        "main",
        None,
        "shipgate config",
        &[Change::Create(
            ".gitea/shipgate.yml",
            "retarget:\n  exempt: [alice]\n",
        )],
    );
    repo.commit(
        "alice",
        "feature",
        Some("main"),
        "a feature",
        &[Change::Create("f.txt", "f\n")],
    );
    let number = repo.open_pr("alice", "feature", "main", "a feature");
    let (_, token) = g.fresh_account(
        "retarget-bot",
        &["developers"],
        &["write:repository", "write:issue"],
    );
    let output = retarget(g, &repo, &token, number, "opened");
    assert_eq!(output.status, 0, "{}\n{}", output.stdout, output.stderr);
    let json = output.json();
    assert_eq!(json["result"], "not-applicable", "{json}");
    assert!(
        json["reasons"].to_string().contains("retarget.exempt"),
        "{json}"
    );
    assert_eq!(base_of(g, &repo, number), "main");
    assert_eq!(marker_comments(g, &repo, number), 0);
}

real_gitea_tests!(
    an_author_exempt_in_the_base_branch_config_keeps_main,
    a_pr_against_main_is_retargeted_once_and_idempotently,
    the_promotion_pr_is_left_alone,
    a_token_that_cannot_comment_cannot_verify,
);
