//! Parity: the fake Gitea held to the real one.
//! Harness: real_gitea, fake_gitea.
//!
//! One fixture is built on the real server (a PR with files, two approvals and another
//! user's unsubmitted review, a label, comments, a status, the org's teams), then mirrored
//! into the fake with the same numbers, SHAs and logins. The same requests go to both, and
//! per request the answers must agree on: the status code, whether `X-Total-Count` is there
//! and its value, whether `Link` is there, and the fields: every field the fake sends must
//! be one the real server sends (the fake may omit fields shipgate never reads, never
//! invent one). A divergence lists every difference.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use shipgate::tier::{
    diff::parse,
    policy::{ChangeKind, FileChange},
};

use crate::real_gitea_tests;
use crate::support::{
    fake_gitea::{FakeGitea, Fault, FaultKind, FileSpec, PrSpec, StatusRow},
    real_gitea::{Api, Auth, Change, RealGitea, Repo},
    test::Test,
};

const QA: &str = "qa-review / approved (pull_request_target)";

/// One answer, reduced to what parity compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub status: u16,
    pub total: Option<String>,
    pub link: bool,
    /// Top-level fields of the object, or of the array's first element.
    pub fields: BTreeSet<String>,
    /// Items when the body is an array (`null` counts as 0).
    pub items: Option<usize>,
    /// The `type` of each row of an array that has one (timeline rows), sorted.
    pub kinds: Vec<String>,
}

impl Shape {
    pub fn of(status: u16, headers: &BTreeMap<String, String>, body: &Value) -> Shape {
        let fields_of = |v: &Value| -> BTreeSet<String> {
            v.as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        let (fields, items) = match body {
            Value::Array(rows) => (
                rows.first().map(fields_of).unwrap_or_default(),
                Some(rows.len()),
            ),
            Value::Null if status == 200 => (BTreeSet::new(), Some(0)),
            other => (fields_of(other), None),
        };
        let mut kinds: Vec<String> = body
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| r["type"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        kinds.sort();
        Shape {
            status,
            total: headers.get("x-total-count").cloned(),
            link: headers.contains_key("link"),
            fields,
            items,
            kinds,
        }
    }
}

/// Every difference between the fake's answer and the real one.
pub fn differences(fake: &Shape, real: &Shape) -> Vec<String> {
    fn differ<T: PartialEq + std::fmt::Debug>(
        out: &mut Vec<String>,
        what: &str,
        fake: &T,
        real: &T,
    ) {
        if fake != real {
            out.push(format!("{what}: fake {fake:?} real {real:?}"));
        }
    }
    let mut out = Vec::new();
    differ(&mut out, "status", &fake.status, &real.status);
    differ(&mut out, "X-Total-Count", &fake.total, &real.total);
    differ(&mut out, "Link present", &fake.link, &real.link);
    differ(&mut out, "items", &fake.items, &real.items);
    differ(&mut out, "row types", &fake.kinds, &real.kinds);
    // Error bodies are `{message, url}` on both; only success bodies are compared by field.
    if (200..300).contains(&real.status) {
        let invented: Vec<&String> = fake.fields.difference(&real.fields).collect();
        if !invented.is_empty() {
            out.push(format!(
                "fields the real server does not send: {invented:?}"
            ));
        }
    }
    out
}

/// `(name, method, path, caller)`: the requests both servers answer. `caller` is a login,
/// `""` for anonymous, `"junk"` for an unknown token.
fn requests(repo: &str, sha: &str, qa: i64) -> Vec<(String, &'static str, String, &'static str)> {
    let r = |name: &str, path: String, caller: &'static str| (name.to_owned(), "GET", path, caller);
    vec![
        r("user", "/user".into(), "gate-reader"),
        r("user anonymous", "/user".into(), ""),
        r("user junk token", "/user".into(), "junk"),
        r("settings", "/settings/api".into(), "gate-reader"),
        r("pull", format!("/repos/{repo}/pulls/1"), "gate-reader"),
        r(
            "pull missing",
            format!("/repos/{repo}/pulls/999"),
            "gate-reader",
        ),
        r(
            "files",
            format!("/repos/{repo}/pulls/1/files?limit=50&page=1"),
            "gate-reader",
        ),
        r("diff", format!("/repos/{repo}/pulls/1.diff"), "gate-reader"),
        r(
            "diff missing",
            format!("/repos/{repo}/pulls/999.diff"),
            "gate-reader",
        ),
        r(
            "reviews",
            format!("/repos/{repo}/pulls/1/reviews?limit=50&page=1"),
            "gate-reader",
        ),
        r(
            "reviews page 2",
            format!("/repos/{repo}/pulls/1/reviews?limit=50&page=2"),
            "gate-reader",
        ),
        r(
            "issue labels",
            format!("/repos/{repo}/issues/1/labels"),
            "gate-reader",
        ),
        r(
            "repo labels",
            format!("/repos/{repo}/labels?limit=50&page=1"),
            "gate-reader",
        ),
        r(
            "timeline",
            format!("/repos/{repo}/issues/1/timeline?limit=50&page=1"),
            "gate-reader",
        ),
        r(
            "timeline past the end",
            format!("/repos/{repo}/issues/1/timeline?limit=50&page=2"),
            "gate-reader",
        ),
        r(
            "statuses",
            format!("/repos/{repo}/statuses/{sha}?sort=leastindex&limit=50&page=1"),
            "gate-reader",
        ),
        r(
            "teams",
            "/orgs/acme/teams?limit=50&page=1".into(),
            "gate-reader",
        ),
        r(
            "team members",
            format!("/teams/{qa}/members?limit=50&page=1"),
            "gate-reader",
        ),
        r(
            "team members paged",
            format!("/teams/{qa}/members?limit=1&page=2"),
            "gate-reader",
        ),
        r(
            "team members past the end",
            format!("/teams/{qa}/members?limit=50&page=2"),
            "gate-reader",
        ),
        r(
            "team members by an org member outside the team",
            format!("/teams/{qa}/members?limit=50&page=1"),
            "outside-reader",
        ),
        r(
            "team members of a missing team",
            "/teams/999999/members?limit=50&page=1".into(),
            "gate-reader",
        ),
        r(
            "probe member",
            format!("/teams/{qa}/members/carol"),
            "gate-reader",
        ),
        r(
            "probe non-member",
            format!("/teams/{qa}/members/erin"),
            "gate-reader",
        ),
        r(
            "probe by an org member outside the team",
            format!("/teams/{qa}/members/carol"),
            "outside-reader",
        ),
        r(
            "raw file",
            format!("/repos/{repo}/raw/README.md?ref=main"),
            "gate-reader",
        ),
        r(
            "raw missing file",
            format!("/repos/{repo}/raw/.gitea/shipgate.yml?ref=main"),
            "gate-reader",
        ),
    ]
}

/// A GET to the fake with a token (or none), through the harness's own client.
pub fn fake_get(
    fake: &FakeGitea,
    path: &str,
    token: Option<&str>,
) -> (u16, BTreeMap<String, String>, Value) {
    Api::new(&fake.url())
        .and_then(|api| {
            api.call(
                "GET",
                &format!("/api/v1{path}"),
                token.map(Auth::Token),
                None,
            )
        })
        .unwrap_or_else(|e| panic!("GET {path} on the fake: {e}"))
}

/// The fixture on the real server and its mirror in the fake.
struct Fixture<'g> {
    repo: Repo<'g>,
    fake: FakeGitea,
    head: String,
    /// The fake's id of team `qa`.
    fake_qa: i64,
}

fn fixture(g: &RealGitea) -> Fixture<'_> {
    // ---- the real fixture ----
    let repo = g.repo("parity");
    repo.commit(
        "alice",
        "feature",
        Some("main"),
        "work",
        &[
            Change::Create("docs/guide.md", "# guide\n"),
            Change::Create("src/lib.rs", "pub fn f() {}\n"),
        ],
    );
    let pr = repo.open_pr("alice", "feature", "main", "parity");
    assert_eq!(pr, 1);
    let label = repo.create_label("tier:low");
    repo.add_label("mona", pr, "tier:low");
    repo.comment("erin", pr, "first");
    repo.comment("mona", pr, "second");
    repo.review("carol", pr, "APPROVED", &[]);
    repo.review("sam", pr, "APPROVED", &[]);
    repo.review("quinn", pr, "PENDING", &[]);
    let head = repo.pr_head(pr);
    let status_token = g.token("status-bot").to_owned();
    g.ok(
        "POST",
        &repo.path(&format!("/statuses/{head}")),
        &status_token,
        Some(
            json!({"state": "pending", "context": QA, "description": "waiting", "target_url": ""}),
        ),
    );
    let real_pull = g.admin("GET", &repo.path("/pulls/1"), None);
    let base = real_pull["base"]["sha"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let teams = g.admin("GET", "/orgs/acme/teams?limit=50", None);

    // ---- the fake mirror ----
    let fake = FakeGitea::start();
    for login in [
        "gate-reader",
        "outside-reader",
        "alice",
        "carol",
        "sam",
        "quinn",
        "mona",
        "erin",
        "status-bot",
        "tier-bot",
    ] {
        fake.add_user(login, &format!("tok-{login}"));
    }
    fake.add_repo(&repo.full);
    fake.add_pr(
        &repo.full,
        PrSpec {
            number: 1,
            author: "alice".into(),
            title: "parity".into(),
            head_ref: "feature".into(),
            head_sha: head.clone(),
            base_ref: "main".into(),
            base_sha: base,
            ..PrSpec::default()
        },
    );
    fake.set_files(
        &repo.full,
        1,
        vec![
            FileSpec::new("docs/guide.md", "added", 1, 0),
            FileSpec::new("src/lib.rs", "added", 1, 0),
        ],
    );
    let mut qa = 0;
    for team in teams.as_array().cloned().unwrap_or_default() {
        let name = team["name"].as_str().unwrap_or_default().to_owned();
        let members = g.admin(
            "GET",
            &format!("/teams/{}/members?limit=50", team["id"]),
            None,
        );
        let logins: Vec<String> = members
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m["login"].as_str().map(str::to_owned))
            .collect();
        let refs: Vec<&str> = logins.iter().map(String::as_str).collect();
        let id = fake.add_team("acme", &name, &refs);
        if name == "qa" {
            qa = id;
        }
    }
    let fake_label = fake.add_repo_label(&repo.full, "tier:low", "00aa00");
    let _ = label;
    fake.add_issue_label(&repo.full, 1, fake_label, "mona");
    fake.add_timeline(
        &repo.full,
        1,
        json!({"type": "comment", "body": "first", "user": {"login": "erin"}}),
    );
    fake.add_timeline(
        &repo.full,
        1,
        json!({"type": "comment", "body": "second", "user": {"login": "mona"}}),
    );
    for (login, state) in [
        ("carol", "APPROVED"),
        ("sam", "APPROVED"),
        ("quinn", "PENDING"),
    ] {
        fake.add_review(&repo.full, 1, json!({
            "user": {"login": login}, "state": state, "body": format!("{state} by {login}"),
            "commit_id": head, "official": state == "APPROVED", "stale": false, "dismissed": false,
        }));
    }
    fake.add_status(
        &repo.full,
        &head,
        StatusRow {
            state: "pending".into(),
            context: QA.into(),
            description: "waiting".into(),
            target_url: String::new(),
            creator: "status-bot".into(),
        },
    );
    fake.set_file(&repo.full, "main", "README.md", "# readme\n");
    // The push that opened the PR: Gitea records a `pull_push` row for it.
    fake.add_timeline(
        &repo.full,
        1,
        json!({"type": "pull_push", "user": {"login": "alice"}}),
    );
    if g.version.as_str() >= "1.27" {
        fake.hide_private_teams();
    } else {
        fake.team_members_without_link();
    }
    Fixture {
        repo,
        fake,
        head,
        fake_qa: qa,
    }
}

/// Build the fixture on the real server and its mirror in the fake; compare every answer.
/// Returns the differences, `name: what`.
pub fn compare(g: &RealGitea, adjust_fake: impl FnOnce(&FakeGitea)) -> Vec<String> {
    let Fixture {
        repo,
        fake,
        head,
        fake_qa: qa,
    } = fixture(g);
    adjust_fake(&fake);

    // ---- the same requests to both ----
    let real_qa = g.team_id("qa");
    let mut problems = Vec::new();
    for ((name, method, path, caller), (_, _, fake_path, _)) in requests(&repo.full, &head, real_qa)
        .into_iter()
        .zip(requests(&repo.full, &head, qa))
    {
        let real_token = match caller {
            "" => None,
            "junk" => Some("0123456789abcdef0123456789abcdef01234567".to_owned()),
            login => Some(g.token(login).to_owned()),
        };
        let fake_token = match caller {
            "" => None,
            "junk" => Some("tok-junk".to_owned()),
            login => Some(format!("tok-{login}")),
        };
        let (status, headers, body) = g.call(method, &path, real_token.as_deref(), None);
        let real = Shape::of(status, &headers, &body);
        let (status, headers, body) = fake_get(&fake, &fake_path, fake_token.as_deref());
        let faked = Shape::of(status, &headers, &body);
        for d in differences(&faked, &real) {
            problems.push(format!("{name} ({method} {path}): {d}"));
        }
    }
    problems
}

fn the_fake_answers_like_the_real_server(g: &RealGitea) {
    let problems = compare(g, |_| {});
    assert!(
        problems.is_empty(),
        "{} divergence(s) on {}:\n{}",
        problems.len(),
        g.name,
        problems.join("\n")
    );
}

/// The check itself: a fake made to differ on exactly one route (the timeline's
/// `X-Total-Count` off by one) is caught there, and only there.
fn a_fake_that_differs_on_one_route_is_caught(g: &RealGitea) {
    let problems = compare(g, |fake| {
        fake.fault(Fault::new(
            "GET /repos/{owner}/{repo}/issues/{index}/timeline",
            FaultKind::WrongTotal(1),
        ));
    });
    assert!(
        !problems.is_empty(),
        "a timeline with a wrong count went unnoticed"
    );
    assert!(
        problems.iter().all(|p| p.starts_with("timeline")),
        "{problems:?}"
    );
}

/// The same review-fire run (two genuine approvals, another user's unsubmitted review)
/// against the real server and the fake mirror makes the same API requests, and both
/// post success on both gates.
fn a_review_fire_run_makes_the_same_requests_on_both(g: &RealGitea) {
    let Fixture {
        repo, fake, head, ..
    } = fixture(g);
    let run = |server: &str, reader: &str, writer: &str| {
        Test::new()
            .args(&["review-fire", "--pr", "1", "--format", "json", "-v"])
            .server(server)
            .repo(&repo.full)
            .token(reader)
            .status_token(writer)
            .success()
    };
    let real = run(&g.url, g.token("gate-reader"), g.token("status-bot"));
    let faked = run(&fake.url(), "tok-gate-reader", "tok-status-bot");
    let (real_requests, fake_requests) = (real.api_requests(), faked.api_requests());
    assert!(
        !real_requests.is_empty(),
        "no request seen in the -v log:\n{}",
        real.stderr
    );
    assert_eq!(
        fake_requests, real_requests,
        "API requests differ between the fake and {}",
        g.name
    );
    eprintln!(
        "{}: review-fire made {} API requests",
        g.name,
        real_requests.len()
    );
    for context in [QA, "security-review / approved (pull_request_target)"] {
        assert_eq!(
            repo.latest_statuses(&head)
                .get(context)
                .map(|(s, _)| s.as_str()),
            Some("success"),
            "{context} on the real server"
        );
    }
}

/// The same tier run (a tier label a reviewer set, kept, nothing written) makes the same
/// API requests on the fake and on the real server: the timeline walk included.
fn a_tier_run_makes_the_same_requests_on_both(g: &RealGitea) {
    let Fixture { repo, fake, .. } = fixture(g);
    let run = |server: &str, token: &str| {
        Test::new()
            .args(&["tier", "--pr", "1", "--format", "json", "-v"])
            .server(server)
            .repo(&repo.full)
            .token(token)
            .success()
    };
    let real = run(&g.url, g.token("tier-bot"));
    let faked = run(&fake.url(), "tok-tier-bot");
    assert_eq!(real.json()["label_action"], faked.json()["label_action"]);
    let (real_requests, fake_requests) = (real.api_requests(), faked.api_requests());
    assert!(
        real_requests.iter().any(|r| r.contains("/timeline")),
        "the run read no timeline: {real_requests:?}"
    );
    assert_eq!(
        fake_requests, real_requests,
        "API requests differ between the fake and {}",
        g.name
    );
    assert_eq!(repo.labels(1), vec!["tier:low"], "nothing written");
}

/// A pull request with renames (with spaces, and out of `auth/` with a change), a
/// deletion, a change and a new file named with spaces, on the real server; the fake is
/// given the real paged files list. Both serve the `.diff` as `text/plain`, and both diffs
/// read as that list; the pull requests agree on the counts tier proves the diff with.
fn the_fake_serves_the_diff_as_the_real_server(g: &RealGitea) {
    let repo = g.repo("parity-diff");
    repo.commit(
        "alice",
        "main",
        None,
        "base",
        &[
            Change::Create("auth/login.rs", "a\nb\nc\n"),
            Change::Create("docs/old name.md", "# old\n"),
            Change::Create("gone.txt", "gone\nbye\n"),
            Change::Create("src/lib.rs", "one\ntwo\n"),
        ],
    );
    repo.create_branch("feature", "main");
    repo.commit(
        "alice",
        "feature",
        None,
        "work",
        &[
            Change::Rename("auth/login.rs", "src/login.rs", "a\nb\nc\nd\n"),
            Change::Rename("docs/old name.md", "docs/new name.md", "# old\n"),
            Change::Delete("gone.txt"),
            Change::Update("src/lib.rs", "one\n2\nthree\n"),
            Change::Create("my file.md", "spaces\n"),
        ],
    );
    let pr = repo.open_pr("alice", "feature", "main", "diff parity");
    let token = g.token("gate-reader").to_owned();
    let listed = g.ok(
        "GET",
        &repo.path(&format!("/pulls/{pr}/files?limit=50")),
        &token,
        None,
    );
    let specs: Vec<FileSpec> = listed
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            let mut spec = FileSpec::new(
                &text("filename"),
                &text("status"),
                f["additions"].as_u64().unwrap_or_default(),
                f["deletions"].as_u64().unwrap_or_default(),
            );
            spec.previous_filename = Some(text("previous_filename")).filter(|p| !p.is_empty());
            spec
        })
        .collect();
    assert_eq!(specs.len(), 5, "{listed}");
    let real_pull = g.ok("GET", &repo.path(&format!("/pulls/{pr}")), &token, None);

    let fake = FakeGitea::start();
    fake.add_user("gate-reader", "tok-gate-reader");
    fake.add_user("alice", "tok-alice");
    fake.add_repo(&repo.full);
    fake.add_pr(
        &repo.full,
        PrSpec {
            number: pr,
            head_sha: real_pull["head"]["sha"].as_str().unwrap_or_default().into(),
            base_sha: real_pull["merge_base"].as_str().unwrap_or_default().into(),
            ..PrSpec::default()
        },
    );
    fake.set_files(&repo.full, pr, specs.clone());
    let fake_pull = fake_get(
        &fake,
        &repo.path(&format!("/pulls/{pr}")),
        Some("tok-gate-reader"),
    )
    .2;
    for key in ["changed_files", "additions", "deletions", "merge_base"] {
        assert_eq!(
            fake_pull[key], real_pull[key],
            "`{key}` of the pull request"
        );
    }

    let want: Vec<FileChange> = specs
        .iter()
        .map(|f| FileChange {
            path: f.filename.clone(),
            previous: f.previous_filename.clone(),
            status: ChangeKind::parse(&f.status),
            additions: f.additions,
            deletions: f.deletions,
        })
        .collect();
    let diff_path = repo.path(&format!("/pulls/{pr}.diff"));
    let (status, headers, real_body) = g.call("GET", &diff_path, Some(&token), None);
    assert_eq!(status, 200, "{real_body}");
    let (fake_status, fake_headers, fake_body) =
        fake_get(&fake, &diff_path, Some("tok-gate-reader"));
    assert_eq!(fake_status, 200, "{fake_body}");
    for (who, headers) in [("real", &headers), ("fake", &fake_headers)] {
        assert!(
            headers
                .get("content-type")
                .is_some_and(|t| t.starts_with("text/plain")),
            "{who}: {headers:?}"
        );
    }
    let read = |body: &Value| parse(body.as_str().unwrap_or_default().as_bytes());
    assert_eq!(
        read(&real_body),
        Ok(want.clone()),
        "the real diff:\n{real_body}"
    );
    assert_eq!(read(&fake_body), Ok(want), "the fake diff:\n{fake_body}");
}

#[test]
fn differences_name_every_kind_of_divergence() {
    let base = Shape {
        status: 200,
        total: Some("3".into()),
        link: false,
        fields: ["id", "user"].iter().map(|s| (*s).to_owned()).collect(),
        items: Some(3),
        kinds: Vec::new(),
    };
    assert!(differences(&base, &base).is_empty());
    let mut other = base.clone();
    other.status = 404;
    other.total = None;
    other.link = true;
    other.items = Some(2);
    assert_eq!(differences(&other, &base).len(), 4);
    let mut invented = base.clone();
    invented.fields.insert("made_up".into());
    assert_eq!(
        differences(&invented, &base),
        vec![r#"fields the real server does not send: ["made_up"]"#.to_owned()]
    );
    // Omitting a field the real server sends is allowed.
    let mut fewer = base.clone();
    fewer.fields.remove("user");
    assert!(differences(&fewer, &base).is_empty());
}

real_gitea_tests!(
    the_fake_serves_the_diff_as_the_real_server,
    a_review_fire_run_makes_the_same_requests_on_both,
    a_tier_run_makes_the_same_requests_on_both,
    the_fake_answers_like_the_real_server,
    a_fake_that_differs_on_one_route_is_caught,
);
