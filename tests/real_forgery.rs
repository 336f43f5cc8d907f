//! Integration tests: gates an author cannot forge, against the real Gitea (every version in
//! `VERSIONS`; attack b runs its workflow under Gitea's scheduler, `support::runner`). Each test is an attack by `alice`, who has code write (team `developers`),
//! run twice: against the protection the README used to document (required status checks
//! only), where it reaches main, and against the documented setup (README: Trust model
//! (measured)), where Gitea's own protection refuses the merge and main does not move.
//! Gitea's answer is asserted, and so is main's tip.
//!
//! The statuses alone cannot hold against a code writer (she can post them: attack a), so
//! the floor is what Gitea itself counts: required approvals from the gate teams, stale
//! approvals dismissed, rejected reviews blocking, and the workflows and the config as
//! protected files.

use serde_json::{json, Value};

use std::time::Duration;

use crate::real_gitea_tests;
use crate::support::{
    real_gitea::{secure_main_rule, Change, RealGitea, Repo},
    runner::Runner,
    test::Test,
};

const QA: &str = "qa-review / approved (pull_request_target)";
const SEC: &str = "security-review / approved (pull_request_target)";

/// Which protection a repository gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Setup {
    /// Required status checks only (the README before this change).
    StatusesOnly,
    /// [`secure_main_rule`].
    Secure,
}

fn repo_with<'g>(g: &'g RealGitea, prefix: &str, setup: Setup) -> Repo<'g> {
    let repo = g.repo(prefix);
    match setup {
        Setup::StatusesOnly => repo.protect_main(&[QA, SEC]),
        Setup::Secure => repo.protect(secure_main_rule()),
    }
    repo
}

/// alice's PR `feature → main` changing `files`; its number.
fn alice_pr(repo: &Repo<'_>, files: &[Change<'_>]) -> u64 {
    repo.pr_from_new_branch("alice", "feature", "alice's change", files)
}

/// `login` approves the PR's head, and the approval stays: Gitea processes the branch's
/// push asynchronously, and when it gets to it after the PR exists it treats it as a new
/// push and dismisses the approvals given so far (seen on 1.27.3). Re-approves once that
/// happened; a real reviewer would see the dismissal and approve again too.
fn approve(repo: &Repo<'_>, login: &str, number: u64) {
    for _ in 0..5 {
        let id = repo.review(login, number, "APPROVED", &[]);
        std::thread::sleep(std::time::Duration::from_millis(1200));
        if !review(repo, number, id)["dismissed"]
            .as_bool()
            .unwrap_or(true)
        {
            return;
        }
    }
    panic!("{login}'s approval of #{number} keeps being dismissed");
}

fn review(repo: &Repo<'_>, number: u64, id: i64) -> Value {
    repo.gitea.admin(
        "GET",
        &repo.path(&format!("/pulls/{number}/reviews/{id}")),
        None,
    )
}

/// `login` posts both gate contexts `success` on the PR's head with her own token.
fn post_gates(repo: &Repo<'_>, number: u64, login: &str) {
    let head = repo.pr_head(number);
    let token = repo.gitea.token(login).to_owned();
    for context in [QA, SEC] {
        repo.gitea.ok(
            "POST",
            &repo.path(&format!("/statuses/{head}")),
            &token,
            Some(json!({"state": "success", "context": context, "description": format!("by {login}")})),
        );
    }
}

/// alice, the author, posts the gates herself.
fn forge_gates(repo: &Repo<'_>, number: u64) {
    post_gates(repo, number, "alice");
}

/// alice merges: `(status, message)` of Gitea's answer.
fn merge_as_alice(repo: &Repo<'_>, number: u64) -> (u16, String) {
    let token = repo.gitea.token("alice").to_owned();
    let head = repo.pr_head(number);
    // Gitea computes mergeability asynchronously after a push; ask until it has an answer.
    let mut last = (0, String::new());
    for _ in 0..50 {
        let (status, _, body) = repo.gitea.call(
            "POST",
            &repo.path(&format!("/pulls/{number}/merge")),
            Some(&token),
            Some(json!({"Do": "merge", "head_commit_id": head})),
        );
        let message = body["message"].as_str().unwrap_or_default().to_owned();
        last = (status, message);
        if !last.1.contains("try again later") && !last.1.contains("checking") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    last
}

/// Runs `attack` on a repository of each setup; the weak one must let it through (the hole
/// is real), the secure one must not (main unchanged), with Gitea's refusal.
fn attack_both(
    g: &RealGitea,
    prefix: &str,
    attack: impl Fn(&Repo<'_>) -> (u16, String),
) -> (u16, String) {
    let weak = repo_with(g, &format!("{prefix}-weak"), Setup::StatusesOnly);
    let before = weak.tip("main");
    let (status, message) = attack(&weak);
    assert_eq!(
        status, 200,
        "with statuses only, the attack reaches main (the hole this setup closes): {message}"
    );
    assert_ne!(weak.tip("main"), before);

    let secure = repo_with(g, &format!("{prefix}-secure"), Setup::Secure);
    let before = secure.tip("main");
    let (status, message) = attack(&secure);
    assert_eq!(
        secure.tip("main"),
        before,
        "main moved under the secure setup ({status} {message})"
    );
    assert!(
        (400..500).contains(&status),
        "Gitea refused the merge: {status} {message}"
    );
    eprintln!(
        "{prefix} on {}: Gitea answered {status} {message:?}",
        g.name
    );
    (status, message)
}

/// a. The author posts both gate contexts with her own token, then merges.
fn a_the_author_posts_the_gates_herself_and_merges(g: &RealGitea) {
    let (_, message) = attack_both(g, "forge-a", |repo| {
        let number = alice_pr(repo, &[Change::Create("src/a.rs", "fn a() {}\n")]);
        forge_gates(repo, number);
        merge_as_alice(repo, number)
    });
    assert!(
        message.to_lowercase().contains("approv") || message.contains("not allowed"),
        "{message}"
    );
}

/// b. A PR head's workflow uses a repository secret to post the gate contexts: alice's
/// first PR adds a `pull_request_review` workflow (Gitea runs the PR head's copy, with the
/// repository secrets: README: Trust model (measured)); her own COMMENT review starts it
/// under Gitea's scheduler, and it posts both gates as the status account on her second PR,
/// which changed only code and has no review at all; then she merges that PR.
fn b_a_pr_heads_workflow_posts_the_gates_with_the_status_secret(g: &RealGitea) {
    attack_both(g, "forge-b", |repo| {
        repo.gitea.admin(
            "PUT",
            &repo.path("/actions/secrets/SHIPGATE_STATUS_TOKEN"),
            Some(json!({"data": repo.gitea.token("status-bot")})),
        );
        let runner = Runner::register(repo);
        let target = repo.pr_from_new_branch(
            "alice",
            "unreviewed",
            "code only",
            &[Change::Create("src/b.rs", "fn b() {}\n")],
        );
        let head = repo.pr_head(target);
        let mut posts = String::new();
        for context in [QA, SEC] {
            posts.push_str(&format!(
                "          curl -sSf -X POST -H \"Authorization: token $T\" -H 'Content-Type: application/json' \
                 -d '{{\"state\":\"success\",\"context\":\"{context}\"}}' \
                 \"${{{{ github.server_url }}}}/api/v1/repos/${{{{ github.repository }}}}/statuses/{head}\"\n"
            ));
        }
        let evil = format!(
            "name: evil\non: pull_request_review\njobs:\n  post:\n    runs-on: ubuntu-latest\n    steps:\n      \
             - env:\n          T: ${{{{ secrets.SHIPGATE_STATUS_TOKEN }}}}\n        run: |\n{posts}"
        );
        let carrier = repo.pr_from_new_branch(
            "alice",
            "carrier",
            "a workflow",
            &[Change::Create(".gitea/workflows/evil.yml", &evil)],
        );
        repo.review("alice", carrier, "COMMENT", &[]);
        let ran = runner.run_next();
        assert_eq!(ran.task.event_name(), "pull_request_review");
        assert!(ran.task.secrets.contains_key("SHIPGATE_STATUS_TOKEN"));
        ran.succeeded();
        runner.assert_idle(Duration::from_secs(2));
        let latest = repo.latest_statuses(&head);
        for context in [QA, SEC] {
            assert_eq!(
                latest
                    .get(context)
                    .map(|(state, creator)| (state.as_str(), creator.as_str())),
                Some(("success", "status-bot")),
                "the head's workflow posted {context} as the status account"
            );
        }
        merge_as_alice(repo, target)
    });
}

/// c. The author merges her own PR with no genuine approval (one approval from outside the
/// gate teams, and the gates forged).
fn c_the_author_merges_with_no_genuine_approval(g: &RealGitea) {
    attack_both(g, "forge-c", |repo| {
        let number = alice_pr(repo, &[Change::Create("src/c.rs", "fn c() {}\n")]);
        // A colleague from outside the gate teams approves: not an approval Gitea counts
        // under the allowlist.
        repo.add_collaborator("devops-engineer", "write");
        repo.review("devops-engineer", number, "APPROVED", &[]);
        forge_gates(repo, number);
        merge_as_alice(repo, number)
    });
}

/// d. A PR weakens the gate: it edits the workflows and the config, collects two genuine
/// approvals, and merges.
fn d_a_pr_that_edits_the_workflows_or_the_config_cannot_merge(g: &RealGitea) {
    let (_, message) = attack_both(g, "forge-d", |repo| {
        let number = alice_pr(
            repo,
            &[
                Change::Create(
                    ".gitea/workflows/review-fire.yml",
                    "name: nothing\non: push\njobs: {}\n",
                ),
                Change::Create(".gitea/shipgate.yml", "review:\n  required_approvals: 0\n"),
            ],
        );
        approve(repo, "carol", number);
        approve(repo, "sam", number);
        forge_gates(repo, number);
        merge_as_alice(repo, number)
    });
    assert!(message.contains("protected"), "{message}");
}

/// e. A push after the approvals: only the approved head may be merged.
fn e_a_push_after_the_approvals_cannot_merge(g: &RealGitea) {
    attack_both(g, "forge-e", |repo| {
        let number = alice_pr(repo, &[Change::Create("docs/e.md", "# e\n")]);
        approve(repo, "carol", number);
        approve(repo, "sam", number);
        let pushed = repo.commit(
            "alice",
            "feature",
            None,
            "after the approvals",
            &[Change::Create("src/e.rs", "fn e() {}\n")],
        );
        repo.wait_pr_head(number, &pushed);
        // Gitea dismisses stale approvals asynchronously, after the head moved: a merge sent
        // in between was let through on 1.27.3 (README: Trust model (measured)). Wait for
        // the dismissal where the rule asks for it; then only the approved head may merge.
        if repo
            .gitea
            .admin("GET", &repo.path("/branch_protections/main"), None)["dismiss_stale_approvals"]
            == json!(true)
        {
            let started = std::time::Instant::now();
            let reviews = || {
                repo.gitea
                    .admin("GET", &repo.path(&format!("/pulls/{number}/reviews")), None)
            };
            while reviews()
                .as_array()
                .is_some_and(|all| all.iter().any(|r| r["dismissed"] == json!(false)))
            {
                assert!(
                    started.elapsed().as_secs() < 30,
                    "stale approvals never dismissed: {}",
                    reviews()
                );
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
        forge_gates(repo, number);
        merge_as_alice(repo, number)
    });
}

/// The secure setup still lets the honest flow through: two genuine approvals and the
/// gates green → alice merges.
fn the_secure_setup_merges_an_honestly_approved_pr(g: &RealGitea) {
    let repo = repo_with(g, "forge-ok", Setup::Secure);
    let number = alice_pr(&repo, &[Change::Create("docs/ok.md", "# ok\n")]);
    approve(&repo, "carol", number);
    approve(&repo, "sam", number);
    // What review-fire posts with the status account after those approvals.
    post_gates(&repo, number, "status-bot");
    let (status, message) = merge_as_alice(&repo, number);
    let reviews = repo
        .gitea
        .admin("GET", &repo.path(&format!("/pulls/{number}/reviews")), None);
    let rule = repo
        .gitea
        .admin("GET", &repo.path("/branch_protections/main"), None);
    assert_eq!(status, 200, "{message}\nreviews: {reviews}\nrule: {rule}");
    assert_ne!(repo.tip("main"), repo.tip("staging"), "main moved");
}

/// The seed's flow, closed: with `review.merge` in main's config, the review-fire run after
/// the second genuine approval posts both gates and merges the approved head itself, under
/// the secure rule. Gitea keeps the last word: a rule asking for more approvals than the
/// config refuses the merge (exit 1 `review-merge-refused`), and main does not move.
fn review_fire_merges_what_it_approved_and_gitea_has_the_last_word(g: &RealGitea) {
    for (prefix, gitea_approvals, merges) in [("rf-merge", 2, true), ("rf-merge-more", 3, false)] {
        let repo = g.repo(prefix);
        repo.put_file("main", ".gitea/shipgate.yml", "review:\n  merge: merge\n");
        let mut rule = secure_main_rule();
        rule["required_approvals"] = json!(gitea_approvals);
        repo.protect(rule);
        let main = repo.tip("main");
        let number = alice_pr(&repo, &[Change::Create("docs/ok.md", "# ok\n")]);
        Test::new()
            .args(&["tier", "--pr", &number.to_string(), "--format", "json"])
            .server(&g.url)
            .repo(&repo.full)
            .token(g.token("tier-bot"))
            .success();
        approve(&repo, "carol", number);
        approve(&repo, "sam", number);
        let head = repo.pr_head(number);
        let out = Test::new()
            .args(&[
                "review-fire",
                "--pr",
                &number.to_string(),
                "--format",
                "json",
                "-v",
            ])
            .server(&g.url)
            .repo(&repo.full)
            .token(g.token("gate-reader"))
            .status_token(g.token("status-bot"))
            .run();
        let json = out.json();
        let pr = g.admin("GET", &repo.path(&format!("/pulls/{number}")), None);
        if merges {
            assert_eq!(out.status, 0, "{}\n{}", out.stdout, out.stderr);
            assert_eq!(json["merged"], true, "{json}");
            assert_eq!(pr["merged"], true, "{pr}");
            assert_eq!(pr["merged_by"]["login"], "status-bot", "{pr}");
            assert_eq!(
                pr["head"]["sha"],
                head.as_str(),
                "the approved head was merged"
            );
        } else {
            assert_eq!(out.status, 1, "{}\n{}", out.stdout, out.stderr);
            assert_eq!(json["error"]["code"], "review-merge-refused", "{json}");
            assert_eq!(pr["merged"], false, "{pr}");
            assert_eq!(repo.tip("main"), main);
            let gates = repo.latest_statuses(&head);
            assert_eq!(
                (gates[QA].0.as_str(), gates[SEC].0.as_str()),
                ("success", "success"),
                "the gates stay as earned"
            );
            eprintln!("{prefix}: Gitea answered: {}", json["error"]["message"]);
        }
    }
}

real_gitea_tests!(
    review_fire_merges_what_it_approved_and_gitea_has_the_last_word,
    a_the_author_posts_the_gates_herself_and_merges,
    b_a_pr_heads_workflow_posts_the_gates_with_the_status_secret,
    c_the_author_merges_with_no_genuine_approval,
    d_a_pr_that_edits_the_workflows_or_the_config_cannot_merge,
    e_a_push_after_the_approvals_cannot_merge,
    the_secure_setup_merges_an_honestly_approved_pr,
);
