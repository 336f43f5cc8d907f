//! Integration tests: review-fire against the fake Gitea.
//! Harness: test.
//! Harness: fake_gitea.
//!
//! Scenarios 20–40 of `shared/reference/seed-gates.md` §6, each asserting the exit code and
//! the exact statuses the fake recorded (context byte-exact, state, target SHA), plus the
//! fault matrix over every route review-fire reads or writes, and the API call budget.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    fake_gitea::{Action, FakeGitea, Fault, FaultKind, PrSpec, StatusRow},
    fixture::{self, base, head, old, PR, REPO},
    test::{Output, Test},
};

const QA: &str = "qa-review / approved (pull_request_target)";
const SEC: &str = "security-review / approved (pull_request_target)";
const TIER_CHECK: &str = "tier-check / approvals (pull_request_target)";

/// A fake with the org `acme`, its teams, tier labels, and PR #7 by `alice` into `main`.
///
/// Teams: engineers (erin, carol), managers (mona), executive (ed), qa (quinn, carol),
/// security (sam). `olga` is only in `everyone` (an org member in no gate team). `reader`
/// owns the read token, `writer` the status token.
struct World {
    fake: FakeGitea,
    labels: Vec<(String, i64)>,
}

impl World {
    fn new() -> World {
        World::with_pr(fixture::pr())
    }

    fn with_pr(pr: PrSpec) -> World {
        let fake = FakeGitea::start();
        fake.add_user("reader", "tok-reader");
        fake.add_user("writer", "tok-writer");
        // The read token's account may see every team's members (Gitea: an org owner).
        fake.add_org_owner("acme", "reader");
        fake.add_repo(REPO);
        fake.add_pr(REPO, pr);
        fake.add_team("acme", "engineers", &["erin", "carol"]);
        fake.add_team("acme", "managers", &["mona"]);
        fake.add_team("acme", "executive", &["ed"]);
        fake.add_team("acme", "qa", &["quinn", "carol"]);
        fake.add_team("acme", "security", &["sam"]);
        fake.add_team(
            "acme",
            "everyone",
            &["olga", "erin", "mona", "ed", "quinn", "sam"],
        );
        let labels = ["tier:low", "tier:medium", "tier:high", "risk:high"]
            .iter()
            .map(|name| {
                (
                    (*name).to_owned(),
                    fake.add_repo_label(REPO, name, "00aa00"),
                )
            })
            .collect();
        World { fake, labels }
    }

    /// Put a label (created in [`World::with_pr`]) on the PR.
    fn label(&self, name: &str) {
        let id = self
            .labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .expect("a label created in World::with_pr");
        self.fake.add_issue_label(REPO, PR, id, "mona");
    }

    /// A review row: genuine by default (APPROVED, official, on the head).
    fn review(&self, login: &str, state: &str) -> i64 {
        self.review_with(login, state, json!({}))
    }

    fn review_with(&self, login: &str, state: &str, extra: Value) -> i64 {
        let mut row = json!({
            "user": {"login": login},
            "state": state,
            "body": "",
            "commit_id": head(),
            "official": true,
            "stale": false,
            "dismissed": false,
        });
        if let (Some(row), Some(extra)) = (row.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                row.insert(k.clone(), v.clone());
            }
        }
        self.fake.add_review(REPO, PR, row)
    }

    fn fault(&self, fault: Fault) {
        self.fake.fault(fault);
    }

    fn config(&self, yaml: &str) {
        self.fake
            .set_file(REPO, &base(), ".gitea/shipgate.yml", yaml);
    }

    /// `review-fire --pr 7 --format json` with both tokens.
    fn run(&self) -> Test {
        Test::new()
            .args(&["review-fire", "--pr", "7", "--format", "json"])
            .forge(&self.fake)
            .repo(REPO)
            .token("tok-reader")
            .status_token("tok-writer")
    }

    /// `(state, context, description)` of every status recorded on a SHA, oldest first.
    fn statuses(&self, sha: &str) -> Vec<(String, String, String)> {
        self.fake
            .statuses(REPO, sha)
            .into_iter()
            .map(|s| (s.state, s.context, s.description))
            .collect()
    }

    fn rows(&self, sha: &str) -> Vec<StatusRow> {
        self.fake.statuses(REPO, sha)
    }

    fn posts(&self) -> usize {
        self.fake
            .requests_to("POST /repos/{owner}/{repo}/statuses/{sha}")
            .len()
    }

    #[track_caller]
    fn assert_clean(&self) {
        assert_eq!(
            self.fake.unmatched(),
            Vec::<String>::new(),
            "unmatched routes"
        );
    }
}

fn s(state: &str, context: &str, description: &str) -> (String, String, String) {
    (state.to_owned(), context.to_owned(), description.to_owned())
}

#[track_caller]
fn gate(out: &Output, context: &str) -> Value {
    out.json()["gates"]
        .as_array()
        .expect("gates array")
        .iter()
        .find(|g| g["context"] == context)
        .cloned()
        .unwrap_or_else(|| panic!("no gate `{context}` in {}", out.stdout))
}

#[track_caller]
fn approval(out: &Output, login: &str) -> Value {
    out.json()["approvals"]
        .as_array()
        .expect("approvals array")
        .iter()
        .find(|a| a["login"] == login)
        .cloned()
        .unwrap_or_else(|| panic!("no approval row for `{login}` in {}", out.stdout))
}

#[track_caller]
fn no_success_anywhere(world: &World) {
    for sha in [head(), base(), old()] {
        for row in world.rows(&sha) {
            assert_ne!(row.state, "success", "a success was recorded: {row:?}");
        }
    }
}

/// `issue_comment` payload for a comment on PR #7 (or on an issue when `is_pull` is false).
fn comment_event(body: &str, by: &str, is_pull: bool) -> Value {
    json!({
        "action": "created",
        "issue": {
            "number": PR,
            "pull_request": if is_pull { json!({"merged": false}) } else { Value::Null },
        },
        "comment": {"body": body, "user": {"login": by}},
        "is_pull": is_pull,
        "sender": {"login": by},
    })
}

/// The text of every reason in the JSON report.
fn reasons(out: &Output) -> Vec<String> {
    out.json()["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect()
}

// ---- scenarios 20–40 -----------------------------------------------------------------

#[test]
fn scenario_20_tier_low_one_engineer_approval_passes_the_tier_check() {
    let world = World::new();
    world.config(
        "review:\n  required_approvals: 1\n  gates: []\n  tier_check:\n    context: \"tier-check / approvals (pull_request_target)\"\n",
    );
    world.label("tier:low");
    world.review("erin", "APPROVED");
    let out = world.run().success();
    assert_eq!(
        world.statuses(&head()),
        vec![s("success", TIER_CHECK, "tier:low approvals met by erin")]
    );
    assert_eq!(world.rows(&head())[0].creator, "writer");
    assert_eq!(out.json()["result"], "ok");
    assert_eq!(approval(&out, "erin")["counted"], true);
    world.assert_clean();
}

#[test]
fn scenario_21_tier_medium_without_qa_or_security_waits_naming_the_clause() {
    let world = World::new();
    world.label("tier:medium");
    world.review("mona", "APPROVED");
    world.review("erin", "APPROVED");
    let out = world.run().success();
    let text = "tier:medium needs qa or security; approved by mona, erin";
    // Waiting for an approval the tier asks for is pending, not a red X; the run put its
    // honest verdict on the head, so it exits 0.
    assert_eq!(
        world.statuses(&head()),
        vec![s("pending", QA, text), s("pending", SEC, text)]
    );
    assert_eq!(out.json()["result"], "ok");
    assert!(reasons(&out).contains(&"clause (qa or security): missing".to_owned()));
    assert!(reasons(&out).contains(&"clause (managers): met by mona".to_owned()));
    world.assert_clean();
}

#[test]
fn scenario_22_tier_high_with_engineer_and_manager_waits_for_executive() {
    let world = World::new();
    world.label("tier:high");
    world.review("erin", "APPROVED");
    world.review("mona", "APPROVED");
    world.run().success();
    let text = "tier:high needs executive; approved by erin, mona";
    assert_eq!(
        world.statuses(&head()),
        vec![s("pending", QA, text), s("pending", SEC, text)]
    );
}

#[test]
fn scenario_23_the_authors_own_approval_never_counts() {
    let world = World::new();
    world.label("tier:low");
    world.review("alice", "APPROVED");
    let out = world.run().success();
    assert_eq!(
        world.statuses(&head()),
        vec![
            s(
                "pending",
                QA,
                "waiting for approvals: 0/2 from the roster (none yet); needs a qa approval"
            ),
            s(
                "pending",
                SEC,
                "waiting for approvals: 0/2 from the roster (none yet); needs a security approval"
            ),
        ]
    );
    let alice = approval(&out, "alice");
    assert_eq!(alice["counted"], false);
    assert_eq!(alice["why"], "the pull request's author cannot approve it");
}

#[test]
fn scenario_24_an_approval_of_an_older_commit_is_ignored() {
    let world = World::new();
    world.label("tier:low");
    world.review_with(
        "quinn",
        "APPROVED",
        json!({"commit_id": old(), "stale": true}),
    );
    world.review_with("erin", "APPROVED", json!({"commit_id": old()}));
    let out = world.run().success();
    assert_eq!(
        world.statuses(&head()),
        vec![
            s(
                "pending",
                QA,
                "waiting for approvals: 0/2 from the roster (none yet); needs a qa approval"
            ),
            s(
                "pending",
                SEC,
                "waiting for approvals: 0/2 from the roster (none yet); needs a security approval"
            ),
        ]
    );
    assert!(
        world.statuses(&old()).is_empty(),
        "never post to an old SHA"
    );
    assert_eq!(
        approval(&out, "erin")["why"],
        "approval of an older commit `cccccccc`, not the head"
    );
}

#[test]
fn scenario_25_one_forbidden_member_list_is_cannot_verify() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world.fault(Fault::new(MEMBERS, FaultKind::Status(403)).times(1));
    let out = world.run().unverified();
    let text = "shipgate could not verify team membership in acme; see the review-fire job log";
    assert_eq!(
        world.statuses(&head()),
        vec![s("error", QA, text), s("error", SEC, text)]
    );
    assert_eq!(out.json()["result"], "cannot-verify");
    assert!(out.stderr.contains("(403)"), "{}", out.stderr);
    no_success_anywhere(&world);
}

#[test]
fn scenario_26_an_approver_no_member_list_names_is_a_verified_non_member_not_cannot_verify() {
    let world = World::new();
    world.config("review:\n  required_approvals: 1\n");
    world.label("tier:high");
    world.review("olga", "APPROVED");
    world.review("erin", "APPROVED");
    let out = world.run().success();
    let text = "tier:high needs executive; approved by olga, erin";
    assert_eq!(
        world.statuses(&head()),
        vec![s("pending", QA, text), s("pending", SEC, text)]
    );
    // Each needed team listed once, whole; nobody probed one by one.
    let lists = world.fake.requests_to(MEMBERS);
    assert_eq!(lists.len(), 5, "{lists:?}");
    assert!(lists.iter().all(|r| r.status == 200), "{lists:?}");
    assert!(world.fake.requests_to(PROBE).is_empty());
    let olga = approval(&out, "olga");
    assert_eq!(olga["counted"], false);
    assert_eq!(
        olga["why"],
        "genuine approval of the head, but not a member of a roster team (engineers, managers, executive, qa, security)"
    );
}

/// A team the read token cannot see is not a verified absence: Gitea 1.27 hides private
/// teams from org members outside them (seen on the real server), so a missing team is
/// cannot-verify (exit 2, `error` on both gates), naming the team, what is visible and
/// both fixes.
#[test]
fn scenario_27_a_clause_naming_a_missing_team_cannot_verify_listing_the_visible_teams() {
    let world = World::new();
    world.config("review:\n  tiers:\n    low: \"engineers, reviewers\"\n");
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    let out = world.run().unverified();
    let states: Vec<(String, String)> = world
        .statuses(&head())
        .into_iter()
        .map(|(state, context, _)| (state, context))
        .collect();
    assert_eq!(
        states,
        vec![("error".into(), QA.into()), ("error".into(), SEC.into())]
    );
    let annotation = out.annotations().join("\n");
    assert!(
        annotation.contains("team(s) `reviewers` are not among the teams the read token's account `reader` can see in `acme` (visible: engineers, everyone, executive, managers, qa, security)"),
        "{annotation}"
    );
    assert!(
        annotation.contains("make `reader` an owner of `acme`"),
        "{annotation}"
    );
    assert!(annotation.contains("fix the team name"), "{annotation}");
}

#[test]
fn scenario_28_one_genuine_approval_posts_no_success() {
    let world = World::new();
    world.label("tier:low");
    world.review("carol", "APPROVED");
    world.run().success();
    assert_eq!(
        world.statuses(&head()),
        vec![
            s(
                "pending",
                QA,
                "waiting for approvals: 1/2 from the roster (carol)"
            ),
            s(
                "pending",
                SEC,
                "waiting for approvals: 1/2 from the roster (carol); needs a security approval"
            ),
        ]
    );
}

#[test]
fn scenario_29_two_roster_approvals_with_qa_fire_qa_and_security_waits() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    let out = world.run().success();
    // Non-success statuses are posted before success.
    assert_eq!(
        world.statuses(&head()),
        vec![
            s(
                "pending",
                SEC,
                "waiting for a security approval; approved by erin, quinn (2/2)"
            ),
            s("success", QA, "approved by erin, quinn (2/2); qa: quinn"),
        ]
    );
    assert_eq!(gate(&out, QA)["state"], "success");
    assert_eq!(gate(&out, QA)["posted"], true);
    assert_eq!(gate(&out, SEC)["state"], "pending");

    // A security-team member approves: both gates are green, on the same head.
    world.review("sam", "APPROVED");
    world.run().success();
    let rows = world.statuses(&head());
    assert_eq!(
        rows[2..],
        [
            s(
                "success",
                QA,
                "approved by erin, quinn, sam (3/2); qa: quinn"
            ),
            s(
                "success",
                SEC,
                "approved by erin, quinn, sam (3/2); security: sam"
            ),
        ]
    );
    assert!(world.rows(&head()).iter().all(|r| r.creator == "writer"));
}

#[test]
fn scenario_30_forged_dismissed_stale_unofficial_or_headless_approvals_do_not_count() {
    let world = World::new();
    world.label("tier:low");
    world.review_with("erin", "APPROVED", json!({"dismissed": true}));
    world.review_with("carol", "APPROVED", json!({"stale": true}));
    world.review_with("quinn", "APPROVED", json!({"official": "true"}));
    world.review_with("sam", "APPROVED", json!({"commit_id": null}));
    world.review_with("mona", "approved", json!({}));
    world.review_with("ed", "APPROVED", json!({"official": false}));
    let out = world.run().success();
    assert_eq!(
        world.statuses(&head()),
        vec![
            s(
                "pending",
                QA,
                "waiting for approvals: 0/2 from the roster (none yet); needs a qa approval"
            ),
            s(
                "pending",
                SEC,
                "waiting for approvals: 0/2 from the roster (none yet); needs a security approval"
            ),
        ]
    );
    let expected = [
        ("erin", "dismissed (`dismissed` is true)"),
        ("carol", "stale: the head moved since (`stale` is true)"),
        (
            "quinn",
            "not an official review (`official` is the string \"true\")",
        ),
        ("sam", "no `commit_id`: the mark of a spoofed row"),
        (
            "mona",
            "state `approved` is not exactly `APPROVED`: a forged or misfiled row, never normalized",
        ),
        ("ed", "not an official review (`official` is false)"),
    ];
    for (login, why) in expected {
        let row = approval(&out, login);
        assert_eq!(row["counted"], false, "{login}");
        assert_eq!(row["why"], why, "{login}");
    }
    // Nobody was genuine, so no team's members were read.
    assert!(world.fake.requests_to(MEMBERS).is_empty());
    assert!(world.fake.requests_to(PROBE).is_empty());
}

#[test]
fn scenario_31_a_later_comment_keeps_an_approval_a_later_change_request_blocks() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review_with("erin", "COMMENT", json!({"body": "one more nit"}));
    world.review("quinn", "APPROVED");
    let out = world.run().success();
    assert_eq!(
        world.statuses(&head()),
        vec![
            s(
                "pending",
                SEC,
                "waiting for a security approval; approved by erin, quinn (2/2)"
            ),
            s("success", QA, "approved by erin, quinn (2/2); qa: quinn"),
        ]
    );
    assert_eq!(approval(&out, "erin")["counted"], true);

    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("erin", "REQUEST_CHANGES");
    world.review("quinn", "APPROVED");
    world.review("sam", "APPROVED");
    let out = world.run().success();
    assert_eq!(
        world.statuses(&head()),
        vec![
            s("failure", QA, "changes requested by erin"),
            s("failure", SEC, "changes requested by erin"),
        ]
    );
    let erin = approval(&out, "erin");
    assert_eq!(erin["counted"], false);
    assert_eq!(
        erin["why"],
        "requested changes on the head: blocks every gate"
    );
}

#[test]
fn scenario_32_a_change_request_from_outside_the_roster_blocks() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world.review("sam", "APPROVED");
    world.review("zed", "REQUEST_CHANGES");
    world.run().success();
    assert_eq!(
        world.statuses(&head()),
        vec![
            s("failure", QA, "changes requested by zed"),
            s("failure", SEC, "changes requested by zed"),
        ]
    );
    no_success_anywhere(&world);
}

#[test]
fn scenario_33_a_recheck_by_anyone_posts_only_the_honest_verdict() {
    let world = World::new();
    world.label("tier:low");
    world.review("quinn", "APPROVED");
    let recheck = || {
        Test::new()
            .args(&["review-fire", "--format", "json"])
            .forge(&world.fake)
            .repo(REPO)
            .token("tok-reader")
            .status_token("tok-writer")
            .event(
                "issue_comment",
                comment_event("/qa-recheck", "stranger", true),
            )
    };
    recheck().success();
    assert_eq!(
        world.statuses(&head()),
        vec![s(
            "pending",
            QA,
            "Refired via /qa-recheck by stranger; waiting for approvals: 1/2 from the roster (quinn)"
        )]
    );

    world.review("erin", "APPROVED");
    let out = recheck().success();
    assert_eq!(
        world.statuses(&head())[1..],
        [s(
            "success",
            QA,
            "Refired via /qa-recheck by stranger; approved by quinn, erin (2/2); qa: quinn"
        )]
    );
    // Only the gate the command names is posted.
    assert!(world.statuses(&head()).iter().all(|(_, c, _)| c == QA));
    assert_eq!(out.json()["gates"].as_array().map(Vec::len), Some(1));
}

#[test]
fn scenario_34_a_recheck_on_a_closed_pr_is_a_no_op() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("sam", "APPROVED");
    world.fake.set_pr_state(REPO, PR, "closed", false);
    let out = Test::new()
        .args(&["review-fire", "--format", "json"])
        .forge(&world.fake)
        .repo(REPO)
        .token("tok-reader")
        .status_token("tok-writer")
        .event(
            "issue_comment",
            comment_event("/security-recheck", "sam", true),
        )
        .success();
    assert_eq!(out.json()["result"], "not-applicable");
    assert_eq!(
        reasons(&out),
        vec!["not applicable: pull request #7 is closed; nothing posted"]
    );
    assert_eq!(world.posts(), 0);
    assert!(world.statuses(&head()).is_empty());
}

#[test]
fn scenario_35_a_status_post_not_answered_200_or_201_fails_loudly() {
    for code in [500u16, 403, 422, 202] {
        let world = World::new();
        world.label("tier:low");
        world.review("erin", "APPROVED");
        world.review("quinn", "APPROVED");
        world.fault(Fault::new(
            "POST /repos/{owner}/{repo}/statuses/{sha}",
            FaultKind::Status(code),
        ));
        let out = world.run().env("SHIPGATE_ATTEMPTS", "2").unverified();
        assert_eq!(out.annotations().len(), 1, "{code}: {}", out.stderr);
        assert!(
            reasons(&out)
                .iter()
                .any(|r| r.starts_with("could not post `error` to")),
            "{code}: the error post was tried: {}",
            out.stdout
        );
        assert!(world.statuses(&head()).is_empty(), "{code}");
        no_success_anywhere(&world);
    }
}

#[test]
fn scenario_36_a_missing_status_token_is_cannot_verify_and_the_read_token_never_posts() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    let out = world.run().env_remove("SHIPGATE_STATUS_TOKEN").unverified();
    assert_eq!(world.posts(), 0, "nothing was posted, with any token");
    assert!(
        out.stderr.contains("SHIPGATE_STATUS_TOKEN is not set"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("allow_single_token"), "{}", out.stderr);

    // The same token in both variables is one token.
    let out = Test::new()
        .args(&["review-fire", "--pr", "7"])
        .forge(&world.fake)
        .repo(REPO)
        .token("tok-reader")
        .status_token("tok-reader")
        .unverified();
    assert!(out.stderr.contains("is the same token"), "{}", out.stderr);
    assert_eq!(world.posts(), 0);

    // Only an explicit policy lets the read token post.
    world.config("review:\n  allow_single_token: true\n");
    world.run().env_remove("SHIPGATE_STATUS_TOKEN").success();
    let rows = world.rows(&head());
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.creator == "reader"));
}

#[test]
fn scenario_37_another_base_branch_is_not_applicable() {
    let world = World::with_pr(PrSpec {
        base_ref: "release".into(),
        ..fixture::pr()
    });
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    let out = world.run().success();
    assert_eq!(out.json()["result"], "not-applicable");
    assert_eq!(
        reasons(&out),
        vec!["not applicable: base branch `release` is not one of `review.branches` (main); nothing posted"]
    );
    assert_eq!(world.posts(), 0);
}

/// Gitea serves another user's PENDING review only to its author or a site admin (it still
/// counts it in `X-Total-Count`), so the read token never sees carol's and the resubmit
/// advice (for a PENDING review it can see) does not appear: the run is an honest pending.
#[test]
fn scenario_38_another_users_pending_review_is_hidden_and_never_counts() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review_with(
        "carol",
        "PENDING",
        json!({"body": "APPROVE", "official": false}),
    );
    let out = world.run().success();
    assert_eq!(
        world.statuses(&head()),
        vec![
            s(
                "pending",
                QA,
                "waiting for approvals: 1/2 from the roster (erin); needs a qa approval"
            ),
            s(
                "pending",
                SEC,
                "waiting for approvals: 1/2 from the roster (erin); needs a security approval"
            ),
        ]
    );
    assert!(
        !reasons(&out).iter().any(|r| r.contains("carol")),
        "{:?}",
        reasons(&out)
    );
}

#[test]
fn scenario_39_every_member_list_forbidden_names_token_provisioning() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world.fault(Fault::new(MEMBERS, FaultKind::Status(403)));
    let out = world.run().unverified();
    assert_eq!(out.annotations().len(), 1);
    assert!(out.stderr.contains("token provisioning"), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "the member list of 5 team(s) could not be read: engineers (403), managers (403), \
             executive (403), qa (403), security (403)"
        ),
        "{}",
        out.stderr
    );
    let text = "shipgate could not verify team membership in acme; see the review-fire job log";
    assert_eq!(
        world.statuses(&head()),
        vec![s("error", QA, text), s("error", SEC, text)]
    );
    no_success_anywhere(&world);
}

#[test]
fn scenario_40_diagnose_reports_auto_fire_impossible_and_both_remedies() {
    let world = World::new();
    // Each gate with its own workflow file (the default names one for both: the next test).
    world.config(
        "review:\n  gates:\n    - name: qa\n      context: \"qa-review / approved (pull_request_target)\"\n      team: qa\n      command: /qa-recheck\n      workflow: .gitea/workflows/qa-review.yml\n    - name: security\n      context: \"security-review / approved (pull_request_target)\"\n      team: security\n      command: /security-recheck\n      workflow: .gitea/workflows/security-review.yml\n",
    );
    world.fake.set_file(
        REPO,
        &head(),
        ".gitea/workflows/qa-review.yml",
        "on:\n  pull_request_target:\n    types: [opened, synchronize]\njobs: {}\n",
    );
    world.fake.set_file(
        REPO,
        &head(),
        ".gitea/workflows/security-review.yml",
        "on:\n  pull_request_target:\n  pull_request_review:\n    types: [submitted]\njobs: {}\n",
    );
    let out = Test::new()
        .args(&["review-fire", "--pr", "7", "--diagnose"])
        .forge(&world.fake)
        .repo(REPO)
        .token("tok-reader")
        .refused();
    assert!(out.stdout.contains(
        "auto-fire impossible for this PR: `.gitea/workflows/qa-review.yml` at the head `aaaaaaaa` has no `pull_request_review` trigger"
    ), "{}", out.stdout);
    assert!(out.stdout.contains(
        "`.gitea/workflows/security-review.yml` at the head `aaaaaaaa` has a `pull_request_review` trigger"
    ), "{}", out.stdout);
    assert!(
        out.stdout.contains("rebase the PR onto `main`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("comment `/qa-recheck`"),
        "{}",
        out.stdout
    );
    assert_eq!(world.posts(), 0, "diagnose posts nothing");
    let raw: Vec<String> = world
        .fake
        .requests_to("GET /repos/{owner}/{repo}/raw/{filepath}")
        .iter()
        .filter(|r| r.path.contains("workflows"))
        .map(|r| r.query_param("ref").unwrap_or_default())
        .collect();
    assert_eq!(raw, vec![head(), head()], "workflows are read at the head");
}

/// With the defaults, diagnose reads the workflow the examples install
/// (`.gitea/workflows/review-fire.yml`, both gates): the example's triggers let the gates
/// auto-fire, so it does not say "auto-fire impossible" on every PR (it did when the
/// defaults named qa-review.yml and security-review.yml, which no example ships).
#[test]
fn diagnose_with_the_defaults_reads_the_example_workflow() {
    let world = World::new();
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/review-fire.yml"),
    )
    .expect("read examples/review-fire.yml");
    world
        .fake
        .set_file(REPO, &head(), ".gitea/workflows/review-fire.yml", &example);
    let out = Test::new()
        .args(&["review-fire", "--pr", "7", "--diagnose"])
        .forge(&world.fake)
        .repo(REPO)
        .token("tok-reader")
        .run();
    assert!(
        !out.stdout.contains("auto-fire impossible"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout
            .matches("`.gitea/workflows/review-fire.yml` at the head `aaaaaaaa` has a `pull_request_review` trigger")
            .count(),
        2,
        "both gates read the example: {}",
        out.stdout
    );
}

// ---- more behaviour ------------------------------------------------------------------

#[test]
fn not_applicable_cases_post_nothing() {
    // Merged.
    let world = World::new();
    world.fake.set_pr_state(REPO, PR, "closed", true);
    let out = world.run().success();
    assert_eq!(
        reasons(&out),
        vec!["not applicable: pull request #7 is merged; nothing posted"]
    );
    assert_eq!(world.posts(), 0);

    // Head equals base.
    let world = World::with_pr(PrSpec {
        number: PR,
        head_sha: base(),
        base_sha: base(),
        ..PrSpec::default()
    });
    let out = world.run().success();
    assert_eq!(
        reasons(&out),
        vec!["not applicable: the head equals the base `bbbbbbbb`: nothing to review; nothing posted"]
    );
    assert_eq!(world.posts(), 0);

    // A recheck on a plain issue: one read of the issue (the payload's word is not
    // enough), then not applicable.
    let world = World::new();
    world.fake.add_issue(REPO, 8, "bob");
    let mut plain = comment_event("/qa-recheck", "bob", false);
    plain["issue"]["number"] = json!(8);
    let out = Test::new()
        .args(&["review-fire", "--format", "json"])
        .forge(&world.fake)
        .repo(REPO)
        .token("tok-reader")
        .status_token("tok-writer")
        .event("issue_comment", plain)
        .success();
    assert_eq!(
        reasons(&out),
        vec!["not applicable: comment on issue #8, which is not a pull request; nothing posted"]
    );
    let keys: Vec<String> = world.fake.requests().iter().map(|r| r.key()).collect();
    assert_eq!(
        keys,
        vec!["GET /repos/{owner}/{repo}/issues/{index}".to_owned()]
    );
    assert_eq!(world.posts(), 0);

    // A comment without a command: no API call at all.
    let world = World::new();
    let out = Test::new()
        .args(&["review-fire", "--format", "json"])
        .forge(&world.fake)
        .repo(REPO)
        .token("tok-reader")
        .status_token("tok-writer")
        .event(
            "issue_comment",
            comment_event("LGTM\n/qa-recheck", "bob", true),
        )
        .success();
    assert_eq!(
        reasons(&out),
        vec!["not applicable: the comment on #7 has no slash command on its first line; nothing posted"]
    );
    assert!(world.fake.requests().is_empty(), "no API call");

    // An unknown slash command.
    let out = Test::new()
        .args(&["review-fire", "--format", "json"])
        .forge(&world.fake)
        .repo(REPO)
        .token("tok-reader")
        .status_token("tok-writer")
        .event("issue_comment", comment_event("/deploy now", "bob", true))
        .success();
    assert_eq!(
        reasons(&out),
        vec!["not applicable: `/deploy` is not a recheck command here (configured: /qa-recheck, /security-recheck); nothing posted"]
    );
    assert_eq!(world.posts(), 0);
}

#[test]
fn a_recheck_whose_payload_says_not_a_pull_request_is_checked_against_the_api() {
    // Older payloads carry no `is_pull` and a null `issue.pull_request`; the API says #7
    // is a pull request, so the recheck gives the honest verdict instead of doing nothing.
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    let out = Test::new()
        .args(&["review-fire", "--format", "json"])
        .forge(&world.fake)
        .repo(REPO)
        .token("tok-reader")
        .status_token("tok-writer")
        .event("issue_comment", comment_event("/qa-recheck", "bob", false))
        .run();
    assert_ne!(out.json()["result"], "not-applicable", "{}", out.stdout);
    assert_eq!(
        world
            .fake
            .requests_to("GET /repos/{owner}/{repo}/issues/{index}")
            .len(),
        1
    );
    assert!(world.posts() > 0, "the recheck posted its verdict");
}

#[test]
fn a_review_event_re_reads_everything_from_the_api() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    // The payload claims an approval and another head; only the API counts.
    let out = Test::new()
        .args(&["review-fire", "--format", "json"])
        .forge(&world.fake)
        .repo(REPO)
        .token("tok-reader")
        .status_token("tok-writer")
        .event(
            "pull_request_review",
            json!({
                "action": "reviewed",
                "number": PR,
                "pull_request": {"number": PR, "head": {"sha": old()}, "base": {"ref": "main"}},
                "review": {"type": "pull_request_review_approved", "content": "lgtm"},
            }),
        )
        .success();
    assert_eq!(out.json()["head_sha"], head());
    assert_eq!(gate(&out, QA)["state"], "success");
    assert!(world.statuses(&old()).is_empty());
}

#[test]
fn an_unchanged_status_is_not_re_posted() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world.run().success();
    assert_eq!(world.posts(), 2);
    let out = world.run().success();
    assert_eq!(world.posts(), 2, "second run posted nothing");
    assert_eq!(gate(&out, QA)["posted"], false);
    assert_eq!(gate(&out, SEC)["posted"], false);
    assert!(reasons(&out).contains(&format!(
        "`{QA}` already says success with the same description: not re-posted"
    )));
    // A status another tool posted later for the same context is not "the same".
    world.fake.add_status(
        REPO,
        &head(),
        StatusRow {
            state: "failure".into(),
            context: QA.into(),
            description: "Has been cancelled".into(),
            target_url: String::new(),
            creator: "gitea-actions".into(),
        },
    );
    world.run().success();
    assert_eq!(
        world.posts(),
        3,
        "only the overwritten context is re-posted"
    );
    assert_eq!(
        world.statuses(&head()).last(),
        Some(&s(
            "success",
            QA,
            "approved by erin, quinn (2/2); qa: quinn"
        ))
    );
}

#[test]
fn the_json_report_has_the_documented_fields() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world.review("renovate", "APPROVED");
    let out = world.run().success();
    let json = out.json();
    assert_eq!(json["mode"], "review-fire");
    // Posted: the statuses carry the verdict (security still pending), the run did its job.
    assert_eq!(json["result"], "ok");
    assert_eq!(json["head_sha"], head());
    assert_eq!(json["tier"], "low");
    assert_eq!(
        json["approvals"],
        json!([
            {"login": "erin", "counted": true, "why": "genuine approval of the head; member of engineers"},
            {"login": "quinn", "counted": true, "why": "genuine approval of the head; member of qa"},
            {"login": "renovate", "counted": false, "why": "`renovate` is a configured bot"},
        ])
    );
    assert_eq!(
        json["gates"],
        json!([
            {"name": "qa", "context": QA, "state": "success", "description": "approved by erin, quinn (2/2); qa: quinn", "posted": true},
            {"name": "security", "context": SEC, "state": "pending", "description": "waiting for a security approval; approved by erin, quinn (2/2)", "posted": true},
        ])
    );
    assert_eq!(out.outputs.get("head-sha"), Some(&head()));
    assert_eq!(out.outputs.get("tier").map(String::as_str), Some("low"));
    assert_eq!(out.outputs.get("result").map(String::as_str), Some("ok"));
    assert!(
        out.summary.contains(
            "| qa | `qa-review / approved (pull_request_target)` | success | approved by erin, quinn (2/2); qa: quinn | yes |"
        ),
        "{}",
        out.summary
    );
    assert!(
        out.summary
            .contains("| renovate | no | `renovate` is a configured bot |"),
        "{}",
        out.summary
    );
}

#[test]
fn tier_labels_missing_or_doubled_fail_every_gate() {
    let world = World::new();
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world.review("sam", "APPROVED");
    world.run().success();
    let text = "no tier label: apply one of tier:low, tier:medium, tier:high";
    assert_eq!(
        world.statuses(&head()),
        vec![s("failure", QA, text), s("failure", SEC, text)]
    );
    world.label("tier:low");
    world.label("tier:high");
    world.run().success();
    let text = "2 tier labels (tier:low, tier:high): apply exactly one";
    assert_eq!(
        world.statuses(&head())[2..],
        [s("failure", QA, text), s("failure", SEC, text)]
    );
}

#[test]
fn dry_run_decides_but_posts_nothing_and_needs_no_status_token() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    let out = world
        .run()
        .arg("--dry-run")
        .env_remove("SHIPGATE_STATUS_TOKEN")
        .refused();
    assert_eq!(world.posts(), 0);
    assert_eq!(gate(&out, QA)["state"], "success");
    assert_eq!(gate(&out, QA)["posted"], false);
    assert!(reasons(&out).contains(&"dry run: nothing posted".to_owned()));
    // A dry run posted nothing, so its exit code is the verdict (security still waits);
    // the same run for real puts the verdict on the head and exits 0.
    assert_eq!(out.json()["error"]["code"], "review-gates-not-passed");
    let out = world.run().success();
    assert_eq!(out.json()["result"], "ok");
    assert_eq!(gate(&out, SEC)["state"], "pending");
    assert_eq!(gate(&out, SEC)["posted"], true);
    assert_eq!(out.annotations(), Vec::<&str>::new(), "{}", out.stdout);
}

#[test]
fn a_moving_head_is_re_evaluated_and_never_posted_to_the_old_sha() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    // The head moves right after the first reviews read is answered from the old one.
    let new_head = "d".repeat(40);
    world.fake.after_hit(
        "GET /repos/{owner}/{repo}/pulls/{index}/reviews",
        1,
        Action::SetPrHead {
            repo: REPO.into(),
            number: PR,
            sha: new_head.clone(),
        },
    );
    let out = world.run().success();
    assert!(
        world.statuses(&head()).is_empty(),
        "nothing on the old head"
    );
    // The approvals were of the old head: on the new head nothing counts.
    assert_eq!(
        world.statuses(&new_head),
        vec![
            s(
                "pending",
                QA,
                "waiting for approvals: 0/2 from the roster (none yet); needs a qa approval"
            ),
            s(
                "pending",
                SEC,
                "waiting for approvals: 0/2 from the roster (none yet); needs a security approval"
            ),
        ]
    );
    assert!(reasons(&out).contains(
        &"the head moved from `aaaaaaaa` to `dddddddd` while deciding: re-evaluated".to_owned()
    ));
}

#[test]
fn dispatch_fires_the_gate_workflow_once_the_floor_holds() {
    let world = World::new();
    world.config(
        "review:\n  gates:\n    - name: qa\n      context: \"qa-review / approved (pull_request_target)\"\n      team: qa\n      command: /qa-recheck\n      dispatch: qa-review.yml\n",
    );
    world.fake.set_file(
        REPO,
        "main",
        ".gitea/workflows/qa-review.yml",
        "on: workflow_dispatch\n",
    );
    world.label("tier:low");
    world.review("quinn", "APPROVED");
    world.run().success();
    assert!(
        world.fake.dispatches().is_empty(),
        "no dispatch below the floor"
    );
    world.review("erin", "APPROVED");
    world.run().success();
    let dispatches = world.fake.dispatches();
    assert_eq!(dispatches.len(), 1);
    assert_eq!(dispatches[0].1, "qa-review.yml");
    assert_eq!(
        dispatches[0].2,
        json!({"ref": "main", "inputs": {"pr": "7", "sha": head()}})
    );
    // Unchanged status: no second dispatch.
    world.run().success();
    assert_eq!(world.fake.dispatches().len(), 1);
    assert_eq!(
        world.statuses(&head()).last(),
        Some(&s(
            "success",
            QA,
            "approved by quinn, erin (2/2); qa: quinn"
        ))
    );
}

#[test]
fn a_missing_config_file_means_the_defaults() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world.run().success();
    let raw = world
        .fake
        .requests_to("GET /repos/{owner}/{repo}/raw/{filepath}");
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].status, 404);
    assert_eq!(
        raw[0].query_param("ref"),
        Some(base()),
        "policy from the base commit"
    );
    assert_eq!(world.statuses(&head()).len(), 2);
}

#[test]
fn the_pr_head_cannot_relax_its_own_policy() {
    let world = World::new();
    // The head's config would open every gate; it is never read.
    world.fake.set_file(
        REPO,
        &head(),
        ".gitea/shipgate.yml",
        "review:\n  required_approvals: 1\n  roster_teams: []\n",
    );
    world.label("tier:low");
    world.review("quinn", "APPROVED");
    world.run().success();
    assert_eq!(
        world.statuses(&head())[0],
        s(
            "pending",
            QA,
            "waiting for approvals: 1/2 from the roster (quinn)"
        )
    );
}

// ---- fault matrix ----------------------------------------------------------------------

const PULL: &str = "GET /repos/{owner}/{repo}/pulls/{index}";
const USER: &str = "GET /user";
const RAW: &str = "GET /repos/{owner}/{repo}/raw/{filepath}";
const REVIEWS: &str = "GET /repos/{owner}/{repo}/pulls/{index}/reviews";
const LABELS: &str = "GET /repos/{owner}/{repo}/issues/{index}/labels";
const TEAMS: &str = "GET /orgs/{org}/teams";
const MEMBERS: &str = "GET /teams/{id}/members";
const PROBE: &str = "GET /teams/{id}/members/{username}";
const STATUSES: &str = "GET /repos/{owner}/{repo}/statuses/{sha}";
const POST_STATUS: &str = "POST /repos/{owner}/{repo}/statuses/{sha}";
const DISPATCH: &str = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches";
const MERGE: &str = "POST /repos/{owner}/{repo}/pulls/{index}/merge";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    S401,
    S403,
    S404,
    S500,
    Timeout,
    Malformed,
    Truncated,
}

impl Cell {
    fn kind(self) -> FaultKind {
        match self {
            Cell::S401 => FaultKind::Status(401),
            Cell::S403 => FaultKind::Status(403),
            Cell::S404 => FaultKind::Status(404),
            Cell::S500 => FaultKind::Status(500),
            Cell::Timeout => FaultKind::Delay(Duration::from_millis(1500)),
            Cell::Malformed => FaultKind::Malformed,
            Cell::Truncated => FaultKind::TruncatePage,
        }
    }
}

/// A PR whose honest verdict is qa = success (with a dispatch) and security = pending,
/// with an unrelated status already on the head (so a statuses page can be truncated).
fn matrix_world() -> World {
    let world = World::new();
    world.config(
        "review:\n  gates:\n    - name: qa\n      context: \"qa-review / approved (pull_request_target)\"\n      team: qa\n      command: /qa-recheck\n      dispatch: qa-review.yml\n    - name: security\n      context: \"security-review / approved (pull_request_target)\"\n      team: security\n      command: /security-recheck\n",
    );
    world.fake.set_file(
        REPO,
        "main",
        ".gitea/workflows/qa-review.yml",
        "on: workflow_dispatch\n",
    );
    world.fake.add_status(
        REPO,
        &head(),
        StatusRow {
            state: "success".into(),
            context: "CI / build (pull_request)".into(),
            description: "Successful".into(),
            target_url: String::new(),
            creator: "gitea-actions".into(),
        },
    );
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world
}

/// The cells that must end in exit 2. Left out, each for a stated reason:
/// - `GET raw` 404: a missing `.gitea/shipgate.yml` means the defaults (tested above);
/// - member list 404: nobody in that team is verified, as a 404 membership probe read
///   before (a finding, `a_member_list_answering_404_credits_nobody_in_that_team`);
/// - labels truncated: Gitea does not paginate issue labels, so there is no total to
///   check a short list against;
/// - reviews truncated: the real Gitea itself serves short review pages (other users'
///   PENDING reviews are counted in `X-Total-Count` but hidden), so a short page with a
///   steady total is what a correct server sends (`Client::pull_reviews`); a page over
///   the server's page size, a changing total or rows past the end still exit 2
///   (`forge_client`);
/// - dispatch malformed: Gitea answers 204 without a body, there is nothing to garble;
/// - truncation on routes that are not lists.
fn matrix() -> Vec<(&'static str, Vec<Cell>)> {
    use Cell::*;
    vec![
        (USER, vec![S401, S403, S404, S500, Timeout, Malformed]),
        (PULL, vec![S401, S403, S404, S500, Timeout, Malformed]),
        (RAW, vec![S401, S403, S500, Timeout, Malformed]),
        (REVIEWS, vec![S401, S403, S404, S500, Timeout, Malformed]),
        (LABELS, vec![S401, S403, S404, S500, Timeout, Malformed]),
        (
            TEAMS,
            vec![S401, S403, S404, S500, Timeout, Malformed, Truncated],
        ),
        (
            MEMBERS,
            vec![S401, S403, S500, Timeout, Malformed, Truncated],
        ),
        (
            STATUSES,
            vec![S401, S403, S404, S500, Timeout, Malformed, Truncated],
        ),
        (
            POST_STATUS,
            vec![S401, S403, S404, S500, Timeout, Malformed],
        ),
        (DISPATCH, vec![S401, S403, S404, S500, Timeout]),
    ]
}

#[test]
fn the_matrix_world_posts_success_without_faults() {
    // The control: without a fault the same world does record a success, so the matrix
    // below can fail.
    let world = matrix_world();
    world.run().success();
    assert!(world.statuses(&head()).contains(&s(
        "success",
        QA,
        "approved by erin, quinn (2/2); qa: quinn"
    )));
    assert_eq!(world.fake.dispatches().len(), 1);
    let used: Vec<String> = world.fake.requests().iter().map(|r| r.key()).collect();
    for (route, _) in matrix() {
        assert!(used.iter().any(|k| k == route), "the run uses `{route}`");
    }
}

#[test]
fn fault_matrix_every_read_and_write_fails_closed() {
    let mut problems = Vec::new();
    let mut cells = 0;
    for (route, kinds) in matrix() {
        for cell in kinds {
            cells += 1;
            let world = matrix_world();
            world.fault(Fault::new(route, cell.kind()));
            let out = world
                .run()
                .env("SHIPGATE_ATTEMPTS", "2")
                .env("SHIPGATE_TIMEOUT", "0.5")
                .run();
            let name = format!("{route} × {cell:?}");
            if out.status != 2 {
                problems.push(format!(
                    "{name}: exit {} (expected 2)\n{}",
                    out.status, out.stdout
                ));
            }
            if out.annotations().len() != 1 {
                problems.push(format!("{name}: {} ::error lines", out.annotations().len()));
            }
            for row in world.rows(&head()) {
                if row.creator == "writer" && row.state == "success" {
                    problems.push(format!("{name}: success recorded: {row:?}"));
                }
                if row.creator == "writer" && route != POST_STATUS && row.state != "error" {
                    problems.push(format!(
                        "{name}: a read failed, yet `{}` was posted: {row:?}",
                        row.state
                    ));
                }
            }
            if route == DISPATCH
                && world
                    .rows(&head())
                    .iter()
                    .any(|r| r.state == "success" && r.creator == "writer")
            {
                problems.push(format!("{name}: success after a failed dispatch"));
            }
            if !world.fake.unmatched().is_empty() {
                problems.push(format!("{name}: unmatched {:?}", world.fake.unmatched()));
            }
        }
    }
    assert_eq!(cells, 60, "the matrix changed size");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn a_failed_read_after_the_head_is_known_posts_error_to_every_gate() {
    let world = matrix_world();
    world.fault(Fault::new(REVIEWS, FaultKind::Status(500)));
    let out = world.run().env("SHIPGATE_ATTEMPTS", "1").unverified();
    let text = "shipgate could not verify: forge: unreachable; see the review-fire job log";
    let posted: Vec<_> = world
        .statuses(&head())
        .into_iter()
        .filter(|(_, c, _)| c != "CI / build (pull_request)")
        .collect();
    assert_eq!(posted, vec![s("error", QA, text), s("error", SEC, text)]);
    assert_eq!(gate(&out, QA)["state"], "error");
    assert_eq!(gate(&out, QA)["posted"], true);
    assert!(world.fake.dispatches().is_empty());
}

#[test]
fn all_success_with_a_garbled_post_ends_in_error_not_success() {
    // Both gates would be green; the server stores each post but garbles the answer.
    // The run cannot confirm its writes, so it overwrites them with `error` and exits 2:
    // the newest status of every gate context is `error`.
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world.review("sam", "APPROVED");
    world.fault(Fault::new(POST_STATUS, FaultKind::Malformed));
    world.run().unverified();
    let rows = world.statuses(&head());
    for context in [QA, SEC] {
        let newest = rows.iter().rev().find(|(_, c, _)| c == context);
        assert_eq!(
            newest.map(|(st, _, _)| st.as_str()),
            Some("error"),
            "{context}: {rows:?}"
        );
    }
}

// ---- API call budget -------------------------------------------------------------------

/// Issue 21's PR: 10 reviews from 6 users (5 approvers, each in a roster team), tier:low,
/// the 2 default gates.
fn issue_21_world() -> World {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review_with("quinn", "COMMENT", json!({"body": "question"}));
    world.review("quinn", "APPROVED");
    world.review("sam", "APPROVED");
    world.review("mona", "APPROVED");
    world.review_with("ed", "COMMENT", json!({"body": "fyi"}));
    world.review("carol", "APPROVED");
    world.review_with("erin", "COMMENT", json!({"body": "thanks"}));
    world.review_with("mona", "COMMENT", json!({"body": "nit"}));
    world.review_with("sam", "COMMENT", json!({"body": "ok"}));
    world
}

/// A dry run of issue 21's PR (how the issue measured 31 calls, 25 of them probes) makes
/// 11: the PR, the config, `GET /user`, the reviews, the labels, the org's teams and one
/// member list per roster team. No probe per (approver, team).
#[test]
fn a_dry_run_for_ten_reviews_from_six_users_and_two_gates_makes_at_most_12_calls() {
    let world = issue_21_world();
    world.run().arg("--dry-run").success();
    let requests = world.fake.requests();
    let mut keys: Vec<String> = requests.iter().map(|r| r.key()).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![TEAMS, LABELS, PULL, REVIEWS, RAW, MEMBERS, MEMBERS, MEMBERS, MEMBERS, MEMBERS, USER,]
    );
    assert!(requests.len() <= 12, "{} calls", requests.len());
}

/// A posting run of a PR with 10 reviews (4 genuine approvers, comments, a PENDING row,
/// a non-roster approver) and the 2 default gates; then more approvers: the count grows
/// with the teams, not with approvers × teams.
#[test]
fn api_calls_for_ten_reviews_and_two_gates_stay_within_budget() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review_with("quinn", "COMMENT", json!({"body": "question"}));
    world.review("quinn", "APPROVED");
    world.review("sam", "APPROVED");
    world.review_with("mona", "COMMENT", json!({"body": "nit"}));
    world.review_with("zed", "COMMENT", json!({"body": "drive-by"}));
    world.review("olga", "APPROVED");
    world.review_with(
        "carol",
        "PENDING",
        json!({"body": "APPROVE", "official": false}),
    );
    world.review_with("ed", "COMMENT", json!({"body": "fyi"}));
    world.review_with("erin", "COMMENT", json!({"body": "thanks"}));
    world.run().success();
    let requests = world.fake.requests();
    let count = |key: &str| requests.iter().filter(|r| r.key() == key).count();
    // 1 PR + 1 config + 2 users (read, status) + 2 reviews (carol's PENDING review is counted but hidden,
    // so the short page is checked: the server's page size, then the page past the end)
    // + 1 settings + 1 labels + 1 teams + 5 member lists (one per roster team) + 1 head
    // re-read + 1 statuses + 2 posts.
    assert_eq!(count(PULL), 2);
    assert_eq!(count(RAW), 1);
    // GET /user: the read token and the status token (two accounts, checked).
    assert_eq!(count(USER), 2);
    assert_eq!(count(REVIEWS), 2);
    assert_eq!(count("GET /settings/api"), 1);
    assert_eq!(count(LABELS), 1);
    assert_eq!(count(TEAMS), 1);
    assert_eq!(count(MEMBERS), 5);
    assert_eq!(count(PROBE), 0);
    assert_eq!(count(STATUSES), 1);
    assert_eq!(count(POST_STATUS), 2);
    assert_eq!(requests.len(), 18, "API calls for 10 reviews and 2 gates");
    // A second, unchanged run reads the same (the status token's account included) and
    // posts nothing.
    world.fake.clear_requests();
    world.run().success();
    assert_eq!(world.fake.requests().len(), 16);

    // Three more approvers (mona, ed, carol, each in a roster team): the same teams are
    // read, so the same count; only the statuses' descriptions change (2 posts).
    world.review("mona", "APPROVED");
    world.review("ed", "APPROVED");
    world.review("carol", "APPROVED");
    world.fake.clear_requests();
    world.run().success();
    assert_eq!(world.fake.requests_to(MEMBERS).len(), 5);
    assert_eq!(world.fake.requests().len(), 18);
}

/// Gitea pages a team's members at its `MAX_RESPONSE_ITEMS`: every page is read, and an
/// approver on a later page counts.
#[test]
fn member_lists_are_read_to_the_last_page() {
    let world = World::new();
    world.fake.set_max_items(1);
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("carol", "APPROVED");
    world.review("sam", "APPROVED");
    let out = world.run().success();
    assert_eq!(
        gate(&out, QA)["description"],
        "approved by erin, carol, sam (3/2); qa: carol"
    );
    // engineers 2 pages, managers 1, executive 1, qa 2, security 1.
    let lists = world.fake.requests_to(MEMBERS);
    assert_eq!(lists.len(), 7, "{lists:?}");
}

/// A team whose member list answers 404 (deleted after the org's teams were listed) has no
/// verified member, as a 404 membership probe read before: its gate waits (exit 1), it is
/// not cannot-verify, and it is never success.
#[test]
fn a_member_list_answering_404_credits_nobody_in_that_team() {
    let world = World::new();
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world.review("sam", "APPROVED");
    world.fake.after_hit(
        TEAMS,
        1,
        Action::DeleteTeam {
            org: "acme".into(),
            name: "security".into(),
        },
    );
    world.run().success();
    let missing: Vec<u16> = world
        .fake
        .requests_to(MEMBERS)
        .iter()
        .map(|r| r.status)
        .filter(|status| *status != 200)
        .collect();
    assert_eq!(missing, vec![404], "security's list answered 404");
    assert_eq!(
        world.statuses(&head()),
        vec![
            s(
                "pending",
                SEC,
                "waiting for a security approval; approved by erin, quinn, sam (2/2)"
            ),
            s(
                "success",
                QA,
                "approved by erin, quinn, sam (2/2); qa: quinn"
            ),
        ]
    );
}

/// The read token's account sees the teams but is not in `security` (Gitea: 403 "Must be
/// a team member" on its member list): cannot verify, exit 2, `error` on both gates and an
/// annotation naming the team and both fixes; never "not a member".
#[test]
fn a_member_list_refused_with_403_is_red_and_names_the_team() {
    let fake = FakeGitea::start();
    fake.add_user("reader", "tok-reader");
    fake.add_user("writer", "tok-writer");
    fake.add_repo(REPO);
    fake.add_pr(REPO, fixture::pr());
    fake.add_team("acme", "engineers", &["erin", "carol", "reader"]);
    fake.add_team("acme", "managers", &["mona", "reader"]);
    fake.add_team("acme", "executive", &["ed", "reader"]);
    fake.add_team("acme", "qa", &["quinn", "carol", "reader"]);
    let security = fake.add_team("acme", "security", &["sam"]);
    let label = fake.add_repo_label(REPO, "tier:low", "00aa00");
    fake.add_issue_label(REPO, PR, label, "mona");
    for login in ["erin", "quinn", "sam"] {
        fake.add_review(
            REPO,
            PR,
            json!({"user": {"login": login}, "state": "APPROVED", "body": "", "commit_id": head(),
                   "official": true, "stale": false, "dismissed": false}),
        );
    }
    let out = Test::new()
        .args(&["review-fire", "--pr", "7", "--format", "json"])
        .forge(&fake)
        .repo(REPO)
        .token("tok-reader")
        .status_token("tok-writer")
        .unverified();
    let annotations = out.annotations().join("\n");
    assert_eq!(
        annotations.replace(&fake.url(), "{fake}"),
        format!(
            "::error title=shipgate review-fire%3A team membership unverifiable \
             [review-membership-unreadable]::cannot verify team membership in `acme`: the \
             member list of 1 team(s) could not be read: security (403); first: `GET \
             {{fake}}/api/v1/teams/{security}/members` was refused with 403 Forbidden: Must be a \
             team member — hint: token provisioning: Gitea lets only a team's members, an owner \
             of `acme` or a site admin see who is in a team (it answers 403 \"Must be a team \
             member\"): add the read token's account `reader` to the team(s) `security` of \
             `acme`, or make `reader` an owner of `acme`; org membership is never credited \
             instead"
        )
    );
    let text = "shipgate could not verify team membership in acme; see the review-fire job log";
    let posted: Vec<(String, String, String)> = fake
        .statuses(REPO, &head())
        .into_iter()
        .map(|r| (r.state, r.context, r.description))
        .collect();
    assert_eq!(posted, vec![s("error", QA, text), s("error", SEC, text)]);
}

// ---- audit: fail-open paths ------------------------------------------------------------

/// A current-head official REQUEST_CHANGES row whose `user` is null (or has an empty
/// login) still blocks every gate: the block is about the row, not about who wrote it.
#[test]
fn a_change_request_without_a_reviewer_login_still_blocks() {
    for user in [Value::Null, json!({"id": 99, "login": ""})] {
        let world = World::new();
        world.label("tier:low");
        world.review("erin", "APPROVED");
        world.review("quinn", "APPROVED");
        world.review("sam", "APPROVED");
        world.review_with("ghost", "REQUEST_CHANGES", json!({ "user": user }));
        world.run().success();
        no_success_anywhere(&world);
        let rows = world.statuses(&head());
        for context in [QA, SEC] {
            assert!(
                rows.iter()
                    .any(|(st, c, _)| st == "failure" && c == context),
                "{context}: {rows:?}"
            );
        }
        world.assert_clean();
    }
}

/// `tier` reads `tier.risk_labels` case-insensitively (a `RISK:HIGH` label makes the PR
/// high), so review-fire must too: the high clause applies, never only the labeled tier's.
#[test]
fn a_risk_label_in_another_case_still_demands_the_high_clause() {
    let world = World::new();
    world.label("tier:medium");
    let id = world.fake.add_repo_label(REPO, "RISK:HIGH", "ff0000");
    world.fake.add_issue_label(REPO, PR, id, "mona");
    for login in ["mona", "erin", "quinn", "sam"] {
        world.review(login, "APPROVED");
    }
    world.run().success();
    no_success_anywhere(&world);
    let rows = world.statuses(&head());
    for context in [QA, SEC] {
        assert!(
            rows.iter()
                .any(|(st, c, d)| st == "pending" && c == context && d.contains("executive")),
            "{context}: {rows:?}"
        );
    }
    world.assert_clean();
}

/// A PR `state` other than `open`/`closed` is a protocol error (exit 2), never the
/// "not applicable" exit 0 a closed PR gets.
#[test]
fn a_pr_state_that_is_neither_open_nor_closed_is_cannot_verify() {
    for state in ["OPEN", "", "reopened"] {
        let world = World::new();
        world.label("tier:low");
        world.review("erin", "APPROVED");
        world.review("quinn", "APPROVED");
        world.review("sam", "APPROVED");
        world.fake.set_pr_state(REPO, PR, state, false);
        let out = world.run().unverified();
        assert_eq!(out.json()["result"], "cannot-verify", "state {state:?}");
        no_success_anywhere(&world);
    }
}

/// Two review rows with one id mean the pages overlapped (the list changed while it was
/// read, with the total unchanged), so some other row may be missing — perhaps a change
/// request. That is cannot-verify, never a verdict.
#[test]
fn duplicate_review_ids_are_cannot_verify() {
    let world = World::new();
    world.label("tier:low");
    let erin = world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    world.review("sam", "APPROVED");
    world.review_with("erin", "APPROVED", json!({ "id": erin }));
    let out = world.run().unverified();
    assert_eq!(out.json()["result"], "cannot-verify");
    no_success_anywhere(&world);
}

/// A tier:low PR with three genuine approvals (every gate green) and `review.merge: STYLE`.
fn green_world(style: &str) -> World {
    let world = World::new();
    world.config(&format!("review:\n  merge: {style}\n"));
    world.label("tier:low");
    for login in ["erin", "quinn", "sam"] {
        world.review(login, "APPROVED");
    }
    world
}

/// `review.merge`: once every gate is green on the head, review-fire merges the PR with the
/// status token, pinned to that head; while a gate waits it asks nothing.
#[test]
fn review_merge_merges_once_every_gate_is_green_and_never_before() {
    let world = World::new();
    world.config("review:\n  merge: squash\n");
    world.label("tier:low");
    world.review("erin", "APPROVED");
    world.review("quinn", "APPROVED");
    let out = world.run().success();
    assert_eq!(out.json()["merged"], Value::Null, "{}", out.stdout);
    assert!(
        world.fake.requests_to(MERGE).is_empty(),
        "no merge while security waits"
    );

    world.review("sam", "APPROVED");
    let out = world.run().success();
    assert_eq!(out.json()["merged"], true, "{}", out.stdout);
    let merges = world.fake.requests_to(MERGE);
    assert_eq!(merges.len(), 1);
    assert_eq!(
        merges[0].login.as_deref(),
        Some("writer"),
        "merged with the status token"
    );
    assert_eq!(
        merges[0].json()["head_commit_id"],
        head(),
        "pinned to the decided head"
    );
    assert_eq!(merges[0].json()["Do"], "squash");
    assert!(world
        .fake
        .pulls(REPO)
        .iter()
        .any(|(n, _, _, state, merged)| *n == PR && state == "closed" && *merged));
    assert!(
        reasons(&out).contains(&format!(
            "merged pull request #{PR} into `main` at `{}` (squash)",
            &head()[..8]
        )),
        "{:?}",
        reasons(&out)
    );
}

/// Gitea's protection has the last word: a merge it refuses is exit 1 `review-merge-refused`
/// with its message, the gates stay green, nothing is forced; a head that moved is left to
/// the new head's run (exit 0).
#[test]
fn review_merge_refused_by_gitea_is_a_verified_no_and_a_moved_head_is_left_alone() {
    let world = green_world("merge");
    world
        .fake
        .protect_branch(REPO, "main", &["ci / build (push)"]);
    let out = world.run().refused();
    let json = out.json();
    assert_eq!(
        json["error"]["code"], "review-merge-refused",
        "{}",
        out.stdout
    );
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Not all required status checks successful (HTTP 405)")),
        "{json}"
    );
    assert_eq!(json["merged"], false);
    assert_eq!(
        world
            .statuses(&head())
            .iter()
            .filter(|(st, _, _)| st == "success")
            .count(),
        2,
        "the gates stay green"
    );
    let merge = &world.fake.requests_to(MERGE)[0];
    assert_eq!(merge.json().get("force_merge"), None, "never forced");
    assert_eq!(out.annotations().len(), 1, "{}", out.stderr);

    // Gitea's 409: the head moved after it was decided. Not this run's to merge.
    let world = green_world("merge");
    world.fault(Fault::new(MERGE, FaultKind::Status(409)));
    let out = world.run().success();
    assert_eq!(out.json()["merged"], false, "{}", out.stdout);
    assert!(
        reasons(&out)
            .iter()
            .any(|r| r.starts_with("not merged: the head moved after")),
        "{:?}",
        reasons(&out)
    );
    // A merge that cannot be made (403) is exit 2, and the green gates are not overwritten.
    let world = green_world("merge");
    world.fault(Fault::new(MERGE, FaultKind::Status(403)));
    let out = world.run().unverified();
    assert_eq!(out.json()["merged"], false, "{}", out.stdout);
    assert_eq!(out.json()["error"]["code"], "forge-forbidden");
    assert!(world
        .statuses(&head())
        .iter()
        .all(|(state, _, _)| state == "success"));
}
