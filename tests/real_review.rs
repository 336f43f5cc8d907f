//! Integration tests: review-fire against the real Gitea, every version in `VERSIONS`.
//! Harness: real_gitea, test.
//!
//! Each test asserts the exit code and the statuses on the head SHA afterwards: context
//! byte-exact, state and creator (`status-bot`, the status token's account).

use crate::real_gitea_tests;
use crate::support::{
    real_gitea::{Change, RealGitea, Repo},
    test::{Output, Test},
};

const QA: &str = "qa-review / approved (pull_request_target)";
const SEC: &str = "security-review / approved (pull_request_target)";

fn review_fire(repo: &Repo<'_>, pr: u64, reader: &str) -> Test {
    Test::new()
        .args(&[
            "review-fire",
            "--pr",
            &pr.to_string(),
            "--format",
            "json",
            "-v",
        ])
        .server(&repo.gitea.url)
        .repo(&repo.full)
        .token(repo.gitea.token(reader))
        .status_token(repo.gitea.token("status-bot"))
}

/// A docs-only PR by alice, labeled `tier:low` by shipgate's tier run (tier-bot), on a repo
/// whose main requires both gate contexts and dismisses stale approvals.
fn low_pr<'g>(g: &'g RealGitea, prefix: &str) -> (Repo<'g>, u64) {
    let repo = g.repo(prefix);
    repo.protect_main(&[QA, SEC]);
    repo.commit(
        "alice",
        "feature",
        Some("main"),
        "docs",
        &[Change::Create("docs/guide.md", "# guide\n\nline two\n")],
    );
    let pr = repo.open_pr("alice", "feature", "main", "docs");
    Test::new()
        .args(&["tier", "--pr", &pr.to_string(), "--format", "json"])
        .server(&g.url)
        .repo(&repo.full)
        .token(g.token("tier-bot"))
        .success();
    assert_eq!(repo.labels(pr), vec!["tier:low"]);
    (repo, pr)
}

/// `(state, creator)` of the newest status of each gate on the PR's head.
/// `(state, creator)` of a status, `None` when the context has none.
type Latest = Option<(String, String)>;

fn gates(repo: &Repo<'_>, pr: u64) -> (Latest, Latest) {
    let latest = repo.latest_statuses(&repo.pr_head(pr));
    (latest.get(QA).cloned(), latest.get(SEC).cloned())
}

fn success() -> Latest {
    Some(("success".into(), "status-bot".into()))
}

fn state(gate: &Latest) -> &str {
    gate.as_ref().map(|(s, _)| s.as_str()).unwrap_or("none")
}

/// carol (engineers + qa) and sam (security) approve: floor 2, tier clause, both gates.
fn approve_both(repo: &Repo<'_>, pr: u64) -> (i64, i64) {
    (
        repo.review("carol", pr, "APPROVED", &[]),
        repo.review("sam", pr, "APPROVED", &[]),
    )
}

fn assert_exact_contexts(repo: &Repo<'_>, pr: u64) {
    let head = repo.pr_head(pr);
    for (context, _, creator, _) in repo.statuses(&head) {
        assert!(
            context == QA || context == SEC,
            "unexpected context `{context}` posted"
        );
        assert_eq!(creator, "status-bot", "posted with the status token");
    }
}

fn two_genuine_approvals_post_success_with_a_pending_review_present(g: &RealGitea) {
    let (repo, pr) = low_pr(g, "rf-ok");
    approve_both(&repo, pr);
    // A third user's unsubmitted review: counted in X-Total-Count, hidden from the reader.
    repo.review("quinn", pr, "PENDING", &[]);
    let output: Output = review_fire(&repo, pr, "gate-reader").success();
    assert_eq!(output.json()["result"], "ok", "{}", output.stdout);
    assert_eq!(gates(&repo, pr), (success(), success()));
    assert_exact_contexts(&repo, pr);

    // A second run posts nothing new (the descriptions are stored trimmed).
    let before = repo.statuses(&repo.pr_head(pr)).len();
    review_fire(&repo, pr, "gate-reader").success();
    assert_eq!(repo.statuses(&repo.pr_head(pr)).len(), before, "re-posted");
}

fn request_changes_blocks(g: &RealGitea) {
    let (repo, pr) = low_pr(g, "rf-block");
    approve_both(&repo, pr);
    repo.review("erin", pr, "REQUEST_CHANGES", &[]);
    review_fire(&repo, pr, "gate-reader").success();
    let (qa, sec) = gates(&repo, pr);
    assert_eq!((state(&qa), state(&sec)), ("failure", "failure"));
}

fn dismissing_an_approval_turns_success_into_non_success(g: &RealGitea) {
    let (repo, pr) = low_pr(g, "rf-dismiss");
    let (_, sam) = approve_both(&repo, pr);
    review_fire(&repo, pr, "gate-reader").success();
    assert_eq!(gates(&repo, pr), (success(), success()));
    repo.dismiss(pr, sam);
    review_fire(&repo, pr, "gate-reader").success();
    let (_, sec) = gates(&repo, pr);
    assert_ne!(state(&sec), "success", "a dismissed approval still counts");
}

fn a_new_push_makes_the_approvals_stop_counting(g: &RealGitea) {
    let (repo, pr) = low_pr(g, "rf-push");
    approve_both(&repo, pr);
    review_fire(&repo, pr, "gate-reader").success();
    let old_head = repo.pr_head(pr);
    let new_head = repo.commit(
        "alice",
        "feature",
        None,
        "more docs",
        &[Change::Create("docs/more.md", "# more\n")],
    );
    repo.wait_pr_head(pr, &new_head);
    review_fire(&repo, pr, "gate-reader").success();
    let latest = repo.latest_statuses(&new_head);
    assert_eq!(
        latest.get(QA).map(|(s, _)| s.as_str()),
        Some("pending"),
        "{latest:?}"
    );
    assert_eq!(latest.get(SEC).map(|(s, _)| s.as_str()), Some("pending"));
    // The old head keeps its success; the new head never got one.
    assert_eq!(repo.latest_statuses(&old_head).get(QA).cloned(), success());
}

fn a_reader_outside_the_gate_teams_cannot_verify_and_is_told_what_to_join(g: &RealGitea) {
    let (repo, pr) = low_pr(g, "rf-outsider");
    approve_both(&repo, pr);
    let output = review_fire(&repo, pr, "outside-reader").unverified();
    let annotation = output.annotations().join("\n");
    // 1.22 lists every team to org members, then refuses their member lists (403 "Must be
    // a team member"): red, never "not a member". 1.27 hides its private teams from them.
    if g.version.as_str() >= "1.27" {
        assert!(
            annotation.contains("[review-teams-unreadable]"),
            "{annotation}"
        );
    } else {
        assert!(
            annotation.contains("[review-membership-unreadable]")
                && annotation.contains("qa (403)")
                && annotation.contains("security (403)")
                && annotation.contains("Must be a team member"),
            "{annotation}"
        );
    }
    assert!(
        annotation.contains("outside-reader"),
        "names the account: {annotation}"
    );
    assert!(
        annotation.contains("qa") && annotation.contains("security"),
        "names the teams: {annotation}"
    );
    assert!(
        annotation.contains("owner"),
        "offers org ownership: {annotation}"
    );
    let (qa, sec) = gates(&repo, pr);
    assert_ne!(state(&qa), "success");
    assert_ne!(state(&sec), "success");
}

/// Attack f (the issue "gates an author cannot forge"): a second token of the read account,
/// given as the status token, is two credentials of one account. review-fire asks
/// `GET /user` with both, refuses (exit 2, `review-status-token`) and posts nothing, not
/// even `error`; with the status account's own token the same PR goes green.
fn a_status_token_of_the_read_account_posts_nothing(g: &RealGitea) {
    let (repo, pr) = low_pr(g, "rf-same-account");
    approve_both(&repo, pr);
    let second = g
        .create_token("gate-reader", &["write:repository", "read:user"])
        .expect("a second token of gate-reader");
    let output = review_fire(&repo, pr, "gate-reader")
        .status_token(&second)
        .unverified();
    let annotation = output.annotations().join("\n");
    assert!(
        annotation.contains("both tokens of `gate-reader`")
            && annotation.contains("review-status-token"),
        "{annotation}"
    );
    assert!(
        repo.statuses(&repo.pr_head(pr)).is_empty(),
        "nothing posted with the read account's second token"
    );
    review_fire(&repo, pr, "gate-reader").success();
    assert_eq!(gates(&repo, pr), (success(), success()));
}

/// Issue 21's shape: 10 reviews from 6 users (5 of them approve, each in a roster team),
/// the 2 default gates. The `-v` log counts every request the run made (each attempt of
/// each page). A dry run (the measurement: one `GET /user`, no head re-read, no
/// statuses read, no post) makes at most 12; a posting run adds the status token's
/// `GET /user`, the head re-read, the statuses read and the 2 posts. Either way each needed
/// team is listed once, never probed per approver.
fn ten_reviews_from_six_users_and_two_gates_take_few_calls(g: &RealGitea) {
    let (repo, pr) = low_pr(g, "rf-calls");
    for (login, event) in [
        ("erin", "APPROVED"),
        ("quinn", "COMMENT"),
        ("quinn", "APPROVED"),
        ("sam", "APPROVED"),
        ("mona", "APPROVED"),
        ("ed", "COMMENT"),
        ("carol", "APPROVED"),
        ("erin", "COMMENT"),
        ("mona", "COMMENT"),
        ("sam", "COMMENT"),
    ] {
        repo.review(login, pr, event, &[]);
    }
    let count = |requests: &[String], key: &str| requests.iter().filter(|r| *r == key).count();
    let probes = |requests: &[String]| {
        requests
            .iter()
            .filter(|r| r.starts_with("GET /teams/{id}/members/"))
            .count()
    };
    let dry = review_fire(&repo, pr, "gate-reader")
        .args(&["--dry-run"])
        .success();
    let requests = dry.api_requests();
    eprintln!(
        "{}: dry run, {} calls: {requests:#?}",
        g.name,
        requests.len()
    );
    // The PR, the config, GET /user, the reviews, the labels, the org's teams and the 5
    // roster teams' member lists (before: 31, with 25 probes).
    assert_eq!(count(&requests, "GET /teams/{id}/members"), 5);
    assert_eq!(probes(&requests), 0, "{requests:#?}");
    assert_eq!(requests.len(), 11, "{requests:#?}");
    assert!(requests.len() <= 12);

    let posting = review_fire(&repo, pr, "gate-reader").success();
    let requests = posting.api_requests();
    eprintln!(
        "{}: posting run, {} calls: {requests:#?}",
        g.name,
        requests.len()
    );
    // + the status token's GET /user, the head re-read, the statuses read, 2 posts
    // (before: 36).
    assert_eq!(count(&requests, "GET /teams/{id}/members"), 5);
    assert_eq!(probes(&requests), 0, "{requests:#?}");
    assert_eq!(requests.len(), 16, "{requests:#?}");
    assert_eq!(gates(&repo, pr), (success(), success()));
}

real_gitea_tests!(
    ten_reviews_from_six_users_and_two_gates_take_few_calls,
    a_status_token_of_the_read_account_posts_nothing,
    two_genuine_approvals_post_success_with_a_pending_review_present,
    request_changes_blocks,
    dismissing_an_approval_turns_success_into_non_success,
    a_new_push_makes_the_approvals_stop_counting,
    a_reader_outside_the_gate_teams_cannot_verify_and_is_told_what_to_join,
);
