//! Integration tests: retarget, against the fake Gitea.

use serde_json::json;

use crate::support::{
    fake_gitea::{FakeGitea, Fault, FaultKind, PrSpec},
    test::{Output, Test},
};

const REPO: &str = "acme/app";
const TOKEN: &str = "tok-retarget-51d0";
const BOT: &str = "retarget-bot";
const MARKER: &str = "<!-- shipgate:retarget -->";

struct World {
    fake: FakeGitea,
}

impl World {
    /// PR #3 `feature` → `main` by alice; branches main and staging exist.
    fn new() -> World {
        World::with(PrSpec {
            number: 3,
            ..PrSpec::default()
        })
    }

    fn with(pr: PrSpec) -> World {
        let fake = FakeGitea::start();
        fake.add_user(BOT, TOKEN);
        fake.add_repo(REPO);
        let (main, staging) = ("a".repeat(40), "b".repeat(40));
        fake.add_commit(REPO, &main, &[]);
        fake.add_commit(REPO, &staging, &[&main]);
        fake.set_branch(REPO, "main", &main);
        fake.set_branch(REPO, "staging", &staging);
        fake.add_pr(REPO, pr);
        fake.set_file(REPO, &main, ".gitea/shipgate.yml", "retarget: {}\n");
        World { fake }
    }

    #[track_caller]
    fn run(&self, action: &str, status: i32) -> Output {
        Test::new()
            .forge(&self.fake)
            .repo(REPO)
            .token(TOKEN)
            .event(
                "pull_request_target",
                json!({"action": action, "number": 3, "pull_request": {"number": 3}}),
            )
            .args(&["retarget", "--format", "json"])
            .status(status)
    }

    fn base(&self) -> String {
        self.fake
            .pulls(REPO)
            .into_iter()
            .find(|p| p.0 == 3)
            .map(|p| p.2)
            .expect("PR #3")
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

#[test]
fn a_pr_against_main_is_retargeted_with_one_comment_and_later_runs_do_nothing() {
    let world = World::new();
    let json = world.run("opened", 0).json();
    assert_eq!(json["result"], "ok");
    assert_eq!(json["plan"], "retargeted");
    assert_eq!(json["commented"], true);
    assert_eq!(world.base(), "staging");
    let comments = world.fake.comments(REPO, 3);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].starts_with(MARKER) && comments[0].contains("`staging`"));
    let patch = &world
        .fake
        .requests_to("PATCH /repos/{owner}/{repo}/pulls/{index}")[0];
    assert_eq!(patch.json(), json!({"base": "staging"}));

    // The edit retarget caused fires `edited`: now not applicable, nothing repeated.
    let again = world.run("edited", 0).json();
    assert_eq!(again["result"], "not-applicable");
    assert_eq!(world.fake.comments(REPO, 3).len(), 1);
    assert_eq!(world.writes().len(), 2, "one PATCH and one comment in all");
}

#[test]
fn a_pr_moved_back_to_main_is_retargeted_again_without_a_second_comment() {
    let world = World::new();
    world
        .fake
        .add_comment(REPO, 3, BOT, &format!("{MARKER}\nretargeted before"));
    let json = world.run("edited", 0).json();
    assert_eq!(json["plan"], "retargeted");
    assert_eq!(json["commented"], false);
    assert_eq!(world.base(), "staging");
    assert_eq!(world.fake.comments(REPO, 3).len(), 1);
}

#[test]
fn prs_it_leaves_alone_are_not_applicable() {
    let cases: Vec<(&str, PrSpec, &str, &str)> = vec![
        (
            "the promotion PR itself",
            PrSpec {
                number: 3,
                head_ref: "staging".into(),
                ..PrSpec::default()
            },
            "",
            "opened",
        ),
        (
            "another base",
            PrSpec {
                number: 3,
                base_ref: "staging".into(),
                ..PrSpec::default()
            },
            "",
            "opened",
        ),
        (
            "an exempt author",
            PrSpec {
                number: 3,
                author: "release-manager".into(),
                ..PrSpec::default()
            },
            "retarget:\n  exempt: [release-manager]\n",
            "opened",
        ),
        (
            "closed",
            PrSpec {
                number: 3,
                state: "closed".into(),
                ..PrSpec::default()
            },
            "",
            "reopened",
        ),
        (
            "a push is not an action retarget acts on",
            PrSpec {
                number: 3,
                ..PrSpec::default()
            },
            "",
            "synchronized",
        ),
    ];
    for (name, pr, config, action) in cases {
        let world = World::with(pr);
        if !config.is_empty() {
            world
                .fake
                .set_file(REPO, &"a".repeat(40), ".gitea/shipgate.yml", config);
        }
        let json = world.run(action, 0).json();
        assert_eq!(json["result"], "not-applicable", "{name}: {json}");
        assert_eq!(world.writes(), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn every_failed_read_or_write_cannot_verify() {
    for route in [
        "GET /repos/{owner}/{repo}/pulls/{index}",
        "GET /repos/{owner}/{repo}/raw/{filepath}",
        "GET /repos/{owner}/{repo}/issues/{index}/comments",
    ] {
        for kind in [FaultKind::Status(403), FaultKind::Malformed] {
            let world = World::new();
            world.fake.fault(Fault::new(route, kind.clone()));
            let output = world.run("opened", 2);
            assert_eq!(output.annotations().len(), 1, "{route}: {}", output.stderr);
            assert_eq!(world.writes(), Vec::<String>::new(), "{route} {kind:?}");
            assert_eq!(world.base(), "main");
        }
    }
    // A token that may read but not write: the PATCH is refused with 403.
    let world = World::new();
    world.fake.read_only(BOT);
    let output = world.run("opened", 2);
    assert_eq!(output.annotations().len(), 1, "{}", output.stderr);
    assert_eq!(world.base(), "main");
    assert!(world.fake.comments(REPO, 3).is_empty());
    // The comment write fails after the base changed: still exit 2.
    let world = World::new();
    world.fake.fault(Fault::new(
        "POST /repos/{owner}/{repo}/issues/{index}/comments",
        FaultKind::Status(403),
    ));
    world.run("opened", 2);
}

#[test]
fn no_token_cannot_verify() {
    let world = World::new();
    let output = Test::new()
        .forge(&world.fake)
        .repo(REPO)
        .args(&["retarget", "--pr", "3"])
        .unverified();
    assert!(output.annotations()[0].contains("SHIPGATE_TOKEN"));
    assert!(world.fake.requests().is_empty());
}

#[test]
fn an_existing_pr_into_staging_makes_gitea_refuse() {
    let world = World::new();
    world.fake.add_pr(
        REPO,
        PrSpec {
            number: 4,
            base_ref: "staging".into(),
            ..PrSpec::default()
        },
    );
    let output = world.run("opened", 1);
    assert_eq!(output.json()["plan"], "refused");
    assert_eq!(world.base(), "main");
    assert!(world.fake.comments(REPO, 3).is_empty());
}

#[test]
fn dry_run_writes_nothing() {
    let world = World::new();
    let output = Test::new()
        .forge(&world.fake)
        .repo(REPO)
        .token(TOKEN)
        .args(&["retarget", "--pr", "3", "--dry-run"])
        .success();
    assert!(output.stdout.contains("dry run"), "{}", output.stdout);
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(world.base(), "main");
}
