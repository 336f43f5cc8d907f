//! Table tests of the pure decider: a correct setup is all ✓, each misconfiguration is
//! exactly its ✗ (or `?`) with the fix.

use super::*;

const QA: &str = "qa-review / approved (pull_request_target)";
const SEC: &str = "security-review / approved (pull_request_target)";

const TIER_WF: &str = "on:\n  pull_request_target:\n    types: [opened]\njobs:\n  tier:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: https://git.example/acme/shipgate@v1\n        with:\n          mode: tier\n          token: ${{ secrets.SHIPGATE_TIER_TOKEN }}\n";
const REVIEW_WF: &str = "on:\n  pull_request_target:\n  pull_request_review:\n  issue_comment:\n    types: [created]\njobs:\n  fire:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: https://git.example/acme/shipgate@v1\n        with:\n          mode: review-fire\n          token: ${{ secrets.SHIPGATE_READ_TOKEN }}\n          status-token: ${{ secrets.SHIPGATE_STATUS_TOKEN }}\n";
const PROMOTE_WF: &str = "on:\n  schedule:\n    - cron: \"*/15 * * * *\"\n  workflow_dispatch:\njobs:\n  promote:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: https://git.example/acme/shipgate@v1\n        with:\n          mode: promote\n          args: --wait 20m\n          token: ${{ secrets.SHIPGATE_PROMOTE_TOKEN }}\n";
const SYNC_WF: &str = "on:\n  push:\n    branches: [main]\njobs:\n  sync:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: https://git.example/acme/shipgate@v1\n        with:\n          mode: sync\n          token: ${{ secrets.SHIPGATE_SYNC_TOKEN }}\n";

fn team(name: &str) -> Team {
    Team {
        id: 1,
        name: name.into(),
        permission: "write".into(),
        units_map: None,
    }
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| (*s).to_owned()).collect())
}

fn good() -> Facts {
    let teams: Vec<Team> = ["engineers", "managers", "executive", "qa", "security"]
        .into_iter()
        .map(team)
        .collect();
    let token = |var, login: &str| TokenFacts {
        var,
        present: true,
        login: Seen::Yes(login.to_owned()),
        repo: Seen::Yes(Permission {
            admin: true,
            push: true,
            pull: true,
        }),
        labels: Seen::Yes(vec![
            "tier:low".into(),
            "tier:medium".into(),
            "tier:high".into(),
        ]),
        teams: Seen::Yes(teams.clone()),
        push: Seen::Yes(()),
        disclosed: Seen::Yes(
            [
                "write:repository",
                "write:issue",
                "read:organization",
                "read:user",
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
    };
    Facts {
        repo: "acme/app".into(),
        org: "acme".into(),
        server_version: Seen::Yes("1.27.3".into()),
        default_branch: Seen::Yes("main".into()),
        config: ConfigFact::Absent,
        workflows: Seen::Yes(vec![
            Workflow {
                path: ".gitea/workflows/auto-tier.yml".into(),
                text: TIER_WF.into(),
            },
            Workflow {
                path: ".gitea/workflows/review-fire.yml".into(),
                text: REVIEW_WF.into(),
            },
            Workflow {
                path: ".gitea/workflows/auto-sync.yml".into(),
                text: SYNC_WF.into(),
            },
            Workflow {
                path: ".gitea/workflows/auto-promote.yml".into(),
                text: PROMOTE_WF.into(),
            },
        ]),
        protections: Seen::Yes(vec![
            BranchProtection {
                rule_name: "main".into(),
                enable_status_check: true,
                status_check_contexts: strings(&[
                    QA,
                    SEC,
                    "auto-tier / tier (pull_request_target)",
                ]),
                dismiss_stale_approvals: true,
                required_approvals: 2,
                protected_file_patterns: Some(".gitea/workflows/**;.gitea/shipgate.yml".into()),
                ..BranchProtection::default()
            },
            BranchProtection {
                rule_name: "staging".into(),
                enable_push: true,
                enable_push_whitelist: true,
                push_whitelist_usernames: strings(&["reader"]),
                ..BranchProtection::default()
            },
        ]),
        read: token("SHIPGATE_TOKEN", "reader"),
        status: token("SHIPGATE_STATUS_TOKEN", "status-bot"),
        same_token: false,
        probes: ["engineers", "managers", "executive", "qa", "security"]
            .into_iter()
            .map(|t| (t.to_owned(), Probe::Answered))
            .collect(),
        pins: [(USES.to_owned(), Seen::Yes(pin()))].into_iter().collect(),
        branches: [("staging", true, true), ("main", false, true)]
            .into_iter()
            .map(|(name, push, merge)| {
                (
                    name.to_owned(),
                    Seen::Yes(Branch {
                        name: name.to_owned(),
                        commit: crate::forge::BranchCommit {
                            id: "ab".repeat(20),
                        },
                        protected: true,
                        enable_status_check: name == "main",
                        status_check_contexts: (name == "main")
                            .then(|| vec!["ci / build (push)".to_owned()]),
                        user_can_push: Some(push),
                        user_can_merge: Some(merge),
                    }),
                )
            })
            .collect(),
        fast_forward_only: Seen::Yes(true),
        status_can_merge: BTreeMap::new(),
    }
}

const USES: &str = "https://git.example/acme/shipgate@v1";

fn pin() -> Pin {
    Pin {
        sums: Some("ab  shipgate-0.1.0-x86_64-unknown-linux-musl.tar.gz\ncd  shipgate-0.1.0-x86_64-unknown-linux-musl/shipgate\n".into()),
        version: Some("0.1.0\n".into()),
    }
}

fn states(checks: &[Check]) -> Vec<(String, State)> {
    checks.iter().map(|c| (c.id.clone(), c.state)).collect()
}

/// The checks that are not ✓.
fn not_passing(facts: &Facts, scope: Scope) -> Vec<Check> {
    decide(facts, scope)
        .into_iter()
        .filter(|c| c.state != State::Pass)
        .collect()
}

fn only(facts: &Facts, scope: Scope) -> Check {
    let bad = not_passing(facts, scope);
    assert_eq!(bad.len(), 1, "{bad:#?}");
    bad.into_iter().next().expect("one")
}

#[test]
fn a_correct_setup_is_all_pass() {
    for scope in [
        Scope::Sync,
        Scope::Tier,
        Scope::ReviewFire,
        Scope::Promote,
        Scope::All,
    ] {
        let checks = decide(&good(), scope);
        assert!(checks.iter().all(|c| c.state == State::Pass), "{checks:#?}");
        assert!(checks.iter().all(|c| c.fix.is_empty()));
        assert_eq!(exit_code(&checks), 0);
    }
}

#[test]
fn write_issue_is_proven_only_by_the_servers_list_of_scopes() {
    let c = decide(&good(), Scope::Tier)
        .into_iter()
        .find(|c| c.id == "tier.token")
        .expect("tier.token");
    assert_eq!(
        c.found,
        "`SHIPGATE_TOKEN` belongs to `reader`; proven by reads: read:repository (GET /repos/{o}/{r}), read:user (GET /user), read:issue (GET /repos/{o}/{r}/labels), write:issue (listed by the server in its refusal of GET /notifications/new)"
    );

    // Gitea 1.22: the refusal names no scopes, so write:issue stays unverified.
    let mut facts = good();
    facts.read.disclosed = Seen::Unknown(
        "this server's refusal does not list the token's scopes (Gitea before 1.27)".into(),
    );
    let c = only(&facts, Scope::Tier);
    assert_eq!((c.id.as_str(), c.state), ("tier.token", State::Unknown));
    assert!(
        c.found.ends_with("; write:issue cannot be proven by a read, and the server did not list the token's scopes (this server's refusal does not list the token's scopes (Gitea before 1.27))"),
        "{}",
        c.found
    );
    assert!(c
        .fix
        .starts_with("check by hand that the token has write:issue"));

    // A listed set without write:issue is a verified ✗ naming the new token's scopes.
    let mut facts = good();
    facts.read.disclosed = Seen::Yes(vec![
        "read:repository".into(),
        "read:issue".into(),
        "read:user".into(),
    ]);
    let c = only(&facts, Scope::Tier);
    assert_eq!((c.id.as_str(), c.state), ("tier.token", State::Fail));
    assert!(
        c.found.ends_with("refused: write:issue (listed by the server in its refusal of GET /notifications/new: the token's scopes are read:repository,read:issue,read:user)"),
        "{}",
        c.found
    );
    assert!(
        c.fix
            .starts_with("issue a token with read:repository, read:user, read:issue, write:issue"),
        "{}",
        c.fix
    );
}

#[test]
fn a_read_that_could_not_be_made_fails_only_when_the_listed_scopes_lack_it() {
    let read_token = |facts: &Facts| {
        decide(facts, Scope::ReviewFire)
            .into_iter()
            .find(|c| c.id == "review-fire.read-token")
            .expect("read-token")
    };
    let mut facts = good();
    facts.read.teams = Seen::Unknown("timed out".into());
    // The list holds read:organization, but only the read proves the org's teams are visible.
    assert_eq!(read_token(&facts).state, State::Unknown);
    facts.read.disclosed = Seen::Yes(vec!["read:repository".into(), "read:user".into()]);
    let c = read_token(&facts);
    assert_eq!(c.state, State::Fail, "{c:?}");
    assert!(
        c.found.contains("read:organization (listed by the server in its refusal of GET /notifications/new: the token's scopes are read:repository,read:user)"),
        "{}",
        c.found
    );
}

#[test]
fn holds_reads_write_scopes_and_all() {
    let s = |items: &[&str]| items.iter().map(|i| (*i).to_owned()).collect::<Vec<_>>();
    let table: &[(&[&str], &str, bool)] = &[
        (&["write:issue"], "write:issue", true),
        (&["write:issue"], "read:issue", true),
        (&["read:issue"], "write:issue", false),
        (&["read:issue"], "read:issue", true),
        (&["all"], "write:issue", true),
        (&["write:repository"], "write:issue", false),
        (&["write:repository"], "read:issue", false),
        (&[], "read:user", false),
    ];
    for (scopes, wanted, want) in table {
        assert_eq!(holds(&s(scopes), wanted), *want, "{scopes:?} {wanted}");
    }
}

#[test]
fn ids_are_stable_and_unique() {
    let checks = decide(&good(), Scope::All);
    let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "config",
            "server",
            "sync.workflow",
            "sync.token",
            "sync.staging-push",
            "tier.workflow",
            "tier.token",
            "tier.labels",
            "tier.teams",
            "review-fire.workflow",
            "review-fire.contexts",
            "review-fire.dismiss-stale",
            "review-fire.approvals",
            "review-fire.read-token",
            "review-fire.status-token",
            "review-fire.distinct-tokens",
            "review-fire.teams",
            "promote.workflow",
            "promote.token",
            "promote.contexts",
            "promote.merge",
        ]
    );
}

fn branch_mut<'a>(facts: &'a mut Facts, name: &str) -> &'a mut Branch {
    match facts.branches.get_mut(name) {
        Some(Seen::Yes(b)) => b,
        _ => panic!("no branch {name}"),
    }
}

#[test]
fn promote_without_any_required_context_fails() {
    let mut facts = good();
    let main = branch_mut(&mut facts, "main");
    main.enable_status_check = false;
    let c = only(&facts, Scope::Promote);
    assert_eq!((c.id.as_str(), c.state), ("promote.contexts", State::Fail));
    assert!(
        c.found.contains("promote cannot know what green means"),
        "{}",
        c.found
    );
    assert!(c.fix.contains("promote.required_contexts"), "{}", c.fix);

    // The config's contexts alone are enough, even when main cannot be read.
    let mut facts = good();
    let mut config = Config::default();
    config.promote.required_contexts = vec!["ci / *".into()];
    facts.config = ConfigFact::Valid {
        origin: "x".into(),
        config: Box::new(config),
    };
    facts
        .branches
        .insert("main".into(), Seen::Unknown("timed out".into()));
    let bad = not_passing(&facts, Scope::Promote);
    assert_eq!(
        states(&bad),
        [("promote.merge".to_owned(), State::Unknown)],
        "{bad:#?}"
    );
    let c = decide(&facts, Scope::Promote)
        .into_iter()
        .find(|c| c.id == "promote.contexts")
        .expect("contexts");
    assert_eq!(c.state, State::Pass);
    assert!(c.found.contains("`ci / *` from the config"), "{}", c.found);
}

#[test]
fn promote_merge_needs_fast_forward_only_and_the_servers_leave() {
    let mut facts = good();
    facts.fast_forward_only = Seen::Yes(false);
    let c = only(&facts, Scope::Promote);
    assert_eq!((c.id.as_str(), c.state), ("promote.merge", State::Fail));
    assert!(c.fix.contains("allow_fast_forward_only_merge"), "{}", c.fix);

    let mut facts = good();
    branch_mut(&mut facts, "main").user_can_merge = Some(false);
    let c = only(&facts, Scope::Promote);
    assert_eq!(
        c.found,
        "`reader` may not merge into `main` (GET /repos/acme/app/branches/main: `user_can_merge` false)"
    );

    let mut facts = good();
    branch_mut(&mut facts, "main").user_can_merge = None;
    assert_eq!(only(&facts, Scope::Promote).state, State::Unknown);

    // `--via push`: the push allowlist decides, not the merge.
    let mut facts = good();
    if let Seen::Yes(workflows) = &mut facts.workflows {
        for w in workflows.iter_mut() {
            w.text = w.text.replace("args: --wait 20m", "args: --via push");
        }
    }
    let c = only(&facts, Scope::Promote);
    assert_eq!(
        (c.id.as_str(), c.state, c.found.as_str()),
        (
            "promote.merge",
            State::Fail,
            "`--via push`: `reader` may not push to `main` (GET /repos/acme/app/branches/main: `user_can_push` false)"
        )
    );
    branch_mut(&mut facts, "main").user_can_push = Some(true);
    assert!(not_passing(&facts, Scope::Promote).is_empty());
}

#[test]
fn promote_workflow_needs_an_automatic_trigger() {
    let mut facts = good();
    if let Seen::Yes(workflows) = &mut facts.workflows {
        for w in workflows.iter_mut() {
            w.text = w
                .text
                .replace("  schedule:\n    - cron: \"*/15 * * * *\"\n", "");
        }
    }
    let c = only(&facts, Scope::Promote);
    assert_eq!((c.id.as_str(), c.state), ("promote.workflow", State::Fail));
    assert!(
        c.found.contains("nothing promotes but a hand"),
        "{}",
        c.found
    );
}

#[test]
fn the_servers_user_can_push_decides_staging_push_without_admin_and_for_teams() {
    // No admin: the rules are unreadable, the branch says.
    let mut facts = good();
    facts.protections = Seen::Refused("403".into());
    let c = decide(&facts, Scope::Sync)
        .into_iter()
        .find(|c| c.id == "sync.staging-push")
        .expect("staging-push");
    assert_eq!(c.state, State::Pass, "{c:?}");
    assert_eq!(
        c.found,
        "`reader` may push to `staging` (GET /repos/acme/app/branches/staging says `user_can_push`: true)"
    );
    branch_mut(&mut facts, "staging").user_can_push = Some(false);
    let c = only(&facts, Scope::Sync);
    assert_eq!((c.id.as_str(), c.state), ("sync.staging-push", State::Fail));
    // The server's word is about the token's account only: another expected login is `?`.
    let mut config = Config::default();
    config.sync.expect_login = Some("devops".into());
    facts.config = ConfigFact::Valid {
        origin: "x".into(),
        config: Box::new(config),
    };
    let bad = not_passing(&facts, Scope::Sync);
    assert!(
        bad.iter()
            .any(|c| c.id == "sync.staging-push" && c.state == State::Unknown),
        "{bad:#?}"
    );

    // A team allowlist with the account not a listed user: the server expands the teams.
    let mut facts = good();
    if let Seen::Yes(rules) = &mut facts.protections {
        rules[1].push_whitelist_usernames = None;
        rules[1].push_whitelist_teams = strings(&["devops"]);
    }
    assert!(not_passing(&facts, Scope::Sync).is_empty());
    branch_mut(&mut facts, "staging").user_can_push = None;
    assert_eq!(only(&facts, Scope::Sync).state, State::Unknown);
}

#[test]
fn exit_mapping() {
    let c = |state| check("x", "common", state, "f", "fix");
    assert_eq!(exit_code(&[]), 0);
    assert_eq!(exit_code(&[c(State::Pass)]), 0);
    assert_eq!(exit_code(&[c(State::Pass), c(State::Unknown)]), 2);
    assert_eq!(exit_code(&[c(State::Unknown), c(State::Fail)]), 1);
    assert_eq!(exit_code(&[c(State::Fail)]), 1);
}

#[test]
fn nearest_context_by_suffix_spacing_and_case() {
    let required: Vec<String> = [
        "qa-review / approved (pull_request_review)",
        "security-review /  approved (pull_request_target)",
        "Tier-Check / approvals (pull_request_target)",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(
        nearest(QA, &required),
        Some((required[0].as_str(), "suffix"))
    );
    assert_eq!(
        nearest(SEC, &required),
        Some((required[1].as_str(), "spacing"))
    );
    assert_eq!(
        nearest("tier-check / approvals (pull_request_target)", &required),
        Some((required[2].as_str(), "letter case"))
    );
    assert_eq!(nearest("deploy / ok (push)", &required), None);
    assert_eq!(
        nearest("qa-review / approved", &required),
        Some((required[0].as_str(), "suffix"))
    );
}

#[test]
fn a_context_that_differs_by_its_suffix_is_the_one_fail_with_the_nearest_match() {
    let mut facts = good();
    if let Seen::Yes(rules) = &mut facts.protections {
        rules[0].status_check_contexts =
            strings(&["qa-review / approved (pull_request_review)", SEC]);
    }
    let c = only(&facts, Scope::ReviewFire);
    assert_eq!(
        (c.id.as_str(), c.state),
        ("review-fire.contexts", State::Fail)
    );
    assert_eq!(
        c.found,
        "`main` requires `qa-review / approved (pull_request_review)`, shipgate posts `qa-review / approved (pull_request_target)` (they differ in suffix)"
    );
    assert!(c.fix.contains("replace `qa-review / approved (pull_request_review)` with `qa-review / approved (pull_request_target)`"), "{}", c.fix);
}

#[test]
fn missing_rule_and_disabled_status_check_fail() {
    let mut facts = good();
    facts.protections = Seen::Yes(vec![]);
    let bad = not_passing(&facts, Scope::ReviewFire);
    assert_eq!(
        states(&bad),
        [
            ("review-fire.contexts".to_owned(), State::Fail),
            ("review-fire.dismiss-stale".to_owned(), State::Fail)
        ]
    );
    let mut facts = good();
    if let Seen::Yes(rules) = &mut facts.protections {
        rules[0].enable_status_check = false;
        rules[0].dismiss_stale_approvals = false;
    }
    let bad = not_passing(&facts, Scope::ReviewFire);
    assert_eq!(bad.len(), 2, "{bad:#?}");
    assert!(bad[0].found.contains("does not enable status checks"));
    assert!(bad[1].fix.contains("Dismiss stale approvals"));
}

#[test]
fn protection_without_admin_is_unknown_never_pass() {
    let mut facts = good();
    facts.protections = Seen::Refused("403 Forbidden".into());
    // …and the branch does not say whether the token's account may push.
    branch_mut(&mut facts, "staging").user_can_push = None;
    for scope in [Scope::Sync, Scope::ReviewFire] {
        let bad = not_passing(&facts, scope);
        assert!(!bad.is_empty());
        for c in &bad {
            assert_eq!(c.state, State::Unknown, "{c:?}");
            assert!(
                c.fix.contains("Repository → Settings → Branches"),
                "{}",
                c.fix
            );
        }
        assert_eq!(exit_code(&decide(&facts, scope)), 2);
    }
    let ids: Vec<String> = not_passing(&facts, Scope::All)
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(
        ids,
        [
            "sync.staging-push",
            "review-fire.contexts",
            "review-fire.dismiss-stale",
            "review-fire.approvals"
        ]
    );
}

#[test]
fn sync_account_not_on_the_allowlist_fails() {
    let mut facts = good();
    if let Seen::Yes(rules) = &mut facts.protections {
        rules[1].push_whitelist_usernames = strings(&["someone-else"]);
    }
    let c = only(&facts, Scope::Sync);
    assert_eq!((c.id.as_str(), c.state), ("sync.staging-push", State::Fail));
    assert_eq!(
        c.found,
        "`reader` is not on the push allowlist of `staging` (it lists `someone-else`)"
    );
    assert!(c.fix.contains("push_whitelist_usernames"));
    // Pushes disabled outright.
    if let Seen::Yes(rules) = &mut facts.protections {
        rules[1].enable_push = false;
    }
    assert!(only(&facts, Scope::Sync).found.contains("disables pushes"));
    // No rule at all: anyone with write may push.
    if let Seen::Yes(rules) = &mut facts.protections {
        rules.truncate(1);
    }
    assert!(not_passing(&facts, Scope::Sync).is_empty());
}

#[test]
fn a_reader_outside_a_gate_team_fails_teams() {
    let mut facts = good();
    facts.probes.insert(
        "qa".into(),
        Probe::Forbidden("Must be a team member".into()),
    );
    let c = only(&facts, Scope::ReviewFire);
    assert_eq!((c.id.as_str(), c.state), ("review-fire.teams", State::Fail));
    assert!(
        c.found
            .contains("`reader` may not probe the members of `qa`"),
        "{}",
        c.found
    );
    assert!(c.fix.contains("add `reader` to `qa`"), "{}", c.fix);
    // A team that does not exist (or is hidden).
    let mut facts = good();
    if let Seen::Yes(teams) = &mut facts.read.teams {
        teams.retain(|t| t.name != "security");
    }
    let bad = not_passing(&facts, Scope::ReviewFire);
    assert_eq!(
        bad.len(),
        2,
        "approvals cannot see the team's permission either: {bad:#?}"
    );
    assert_eq!(bad[0].id, "review-fire.approvals");
    assert_eq!(bad[0].state, State::Unknown);
    assert_eq!(bad[1].id, "review-fire.teams");
    assert!(
        bad[1].found.contains("`security` do not exist"),
        "{}",
        bad[1].found
    );
}

#[test]
fn missing_labels_fail_only_when_the_token_cannot_create_them() {
    let mut facts = good();
    facts.read.labels = Seen::Yes(vec!["bug".into()]);
    let labels = |f: &Facts| {
        decide(f, Scope::Tier)
            .into_iter()
            .find(|c| c.id == "tier.labels")
            .expect("labels")
    };
    assert_eq!(labels(&facts).state, State::Pass);
    facts.read.repo = Seen::Yes(Permission {
        admin: false,
        push: false,
        pull: true,
    });
    let c = labels(&facts);
    assert_eq!(c.state, State::Fail);
    assert!(
        c.found
            .starts_with("`tier:low`, `tier:medium`, `tier:high` missing"),
        "{}",
        c.found
    );
    assert!(c.fix.contains("POST /repos/acme/app/labels"));
}

#[test]
fn an_invalid_config_is_its_fail_and_what_it_names_is_unknown() {
    let mut facts = good();
    facts.config = ConfigFact::Invalid {
        origin: ".gitea/shipgate.yml@main".into(),
        message: "`sync.max_attempts` must be at least 1".into(),
    };
    let checks = decide(&facts, Scope::Sync);
    let fails: Vec<&Check> = checks.iter().filter(|c| c.state == State::Fail).collect();
    assert_eq!(fails.len(), 1);
    assert_eq!(fails[0].id, "config");
    assert!(fails[0].fix.contains("shipgate config check"));
    assert_eq!(exit_code(&checks), 1);
}

#[test]
fn tokens_missing_refused_same_or_unknown() {
    let mut facts = good();
    facts.read = TokenFacts::absent("SHIPGATE_TOKEN");
    let bad = not_passing(&facts, Scope::Sync);
    assert_eq!(bad[0].id, "sync.token");
    assert_eq!(bad[0].state, State::Fail);
    assert_eq!(bad[0].found, "`SHIPGATE_TOKEN` is not set");

    let mut facts = good();
    facts.read.teams = Seen::Refused(
        "403: token does not have at least one of required scope(s): [read:organization]".into(),
    );
    let bad = not_passing(&facts, Scope::ReviewFire);
    let read = bad
        .iter()
        .find(|c| c.id == "review-fire.read-token")
        .expect("read token");
    assert_eq!(read.state, State::Fail);
    assert!(
        read.found.contains("refused: read:organization"),
        "{}",
        read.found
    );

    let mut facts = good();
    facts.status.login = Seen::Yes("reader".into());
    let c = only(&facts, Scope::ReviewFire);
    assert_eq!(
        (c.id.as_str(), c.state),
        ("review-fire.distinct-tokens", State::Fail)
    );

    let mut facts = good();
    facts.same_token = true;
    assert_eq!(
        only(&facts, Scope::ReviewFire).found,
        "SHIPGATE_TOKEN and SHIPGATE_STATUS_TOKEN are the same token"
    );

    let mut facts = good();
    facts.status.login = Seen::Refused("no read:user".into());
    let c = only(&facts, Scope::ReviewFire);
    assert_eq!(
        (c.id.as_str(), c.state),
        ("review-fire.distinct-tokens", State::Unknown)
    );

    let mut facts = good();
    facts.read.push = Seen::Unknown("timed out".into());
    assert_eq!(only(&facts, Scope::Sync).state, State::Unknown);
}

#[test]
fn workflows_need_the_right_triggers_and_full_urls() {
    let mut facts = good();
    facts.workflows = Seen::Yes(vec![Workflow {
        path: ".gitea/workflows/review-fire.yml".into(),
        text: REVIEW_WF
            .replace("  pull_request_review:\n", "")
            .replace("https://git.example/", ""),
    }]);
    let c = only(&facts, Scope::ReviewFire);
    assert_eq!(c.id, "review-fire.workflow");
    assert!(
        c.found.contains("no `pull_request_review` trigger"),
        "{}",
        c.found
    );
    assert!(c.found.contains("`uses: acme/shipgate@v1`"), "{}", c.found);
    let bad = not_passing(&facts, Scope::Sync);
    assert_eq!(bad[0].id, "sync.workflow");
    assert!(bad[0].fix.contains("examples/auto-sync.yml"));
    facts.workflows = Seen::Yes(vec![Workflow {
        path: ".gitea/workflows/auto-tier.yml".into(),
        text: TIER_WF.replace("pull_request_target", "pull_request"),
    }]);
    let c = decide(&facts, Scope::Tier)
        .into_iter()
        .find(|c| c.id == "tier.workflow")
        .expect("wf");
    assert_eq!(c.state, State::Fail);
    assert!(
        c.fix
            .contains("replace `pull_request:` with `pull_request_target:`"),
        "{}",
        c.fix
    );
}

#[test]
fn server_versions_and_missing_features() {
    assert_eq!(gitea_version("1.22.6"), Some((1, 22, 6)));
    assert_eq!(gitea_version("1.27.3+dev-4-g1"), Some((1, 27, 3)));
    assert_eq!(gitea_version("11.0.1+gitea-1.22.0"), Some((1, 22, 0)));
    assert_eq!(gitea_version("dev"), None);
    let mut facts = good();
    facts.server_version = Seen::Yes("1.22.6".into());
    let server = &decide(&facts, Scope::Sync)[1];
    assert_eq!(server.state, State::Pass);
    assert!(server.found.contains("job summaries"), "{}", server.found);
    facts.server_version = Seen::Yes("1.23.1".into());
    let mut config = Config::default();
    config.review.gates[0].dispatch = Some("qa.yml".into());
    facts.config = ConfigFact::Valid {
        origin: "x".into(),
        config: Box::new(config),
    };
    let server = &decide(&facts, Scope::Sync)[1];
    assert_eq!(server.state, State::Fail);
    facts.server_version = Seen::Unknown("timed out".into());
    assert_eq!(decide(&facts, Scope::Sync)[1].state, State::Unknown);
}

#[test]
fn the_pinned_ref_must_list_the_version_in_its_sha256sums() {
    assert_eq!(
        parse_uses("https://git.example:3000/acme/shipgate@v1.2.3"),
        Some((
            "https://git.example:3000".into(),
            "acme/shipgate".into(),
            "v1.2.3".into()
        ))
    );
    assert_eq!(parse_uses("acme/shipgate@v1"), None);
    let mut facts = good();
    facts.pins.insert(
        USES.into(),
        Seen::Yes(Pin {
            version: Some("0.2.0".into()),
            ..pin()
        }),
    );
    let c = only(&facts, Scope::Sync);
    assert_eq!((c.id.as_str(), c.state), ("sync.workflow", State::Fail));
    assert!(
        c.found.contains("has no entry for shipgate 0.2.0"),
        "{}",
        c.found
    );
    facts.pins.insert(
        USES.into(),
        Seen::Yes(Pin {
            sums: None,
            version: None,
        }),
    );
    assert!(only(&facts, Scope::Sync)
        .found
        .contains("has no `dist/SHA256SUMS` at `v1`"));
    facts.pins.insert(
        USES.into(),
        Seen::Unknown("the action lives on `https://git.example`, not on this server".into()),
    );
    let c = only(&facts, Scope::Sync);
    assert_eq!(c.state, State::Unknown);
    assert!(c.found.contains("not on this server"), "{}", c.found);
    // A `vX.Y.Z` ref names the version, and the step's `version` input wins over both.
    let mut facts = good();
    let tagged = "https://git.example/acme/shipgate@v0.1.0";
    facts.workflows = Seen::Yes(vec![Workflow {
        path: ".gitea/workflows/auto-sync.yml".into(),
        text: SYNC_WF.replace(USES, tagged),
    }]);
    facts.pins.insert(
        tagged.into(),
        Seen::Yes(Pin {
            version: None,
            ..pin()
        }),
    );
    assert!(not_passing(&facts, Scope::Sync).is_empty());
    facts.workflows = Seen::Yes(vec![Workflow {
        path: ".gitea/workflows/auto-sync.yml".into(),
        text: SYNC_WF
            .replace(USES, tagged)
            .replace("mode: sync\n", "mode: sync\n          version: 9.9.9\n"),
    }]);
    assert!(only(&facts, Scope::Sync)
        .found
        .contains("no entry for shipgate 9.9.9"));
}

/// The gate statuses can be posted by any code writer, so review-fire.approvals is ✗ unless
/// Gitea itself requires the approvals and protects the workflows and the config (the
/// issue "gates an author cannot forge").
#[test]
fn approvals_need_gitea_to_count_them_and_to_protect_the_gate_files() {
    let rule_of_main = |facts: &mut Facts| -> BranchProtection {
        let Seen::Yes(rules) = &mut facts.protections else {
            panic!("the good facts have rules")
        };
        rules
            .iter_mut()
            .find(|r| r.rule_name == "main")
            .map(|r| r.clone())
            .expect("main's rule")
    };
    let with_main = |change: &dyn Fn(&mut BranchProtection)| {
        let mut facts = good();
        let mut main = rule_of_main(&mut facts);
        change(&mut main);
        if let Seen::Yes(rules) = &mut facts.protections {
            rules.retain(|r| r.rule_name != "main");
            rules.push(main);
        }
        only(&facts, Scope::ReviewFire)
    };
    type Case<'a> = (&'a str, &'a dyn Fn(&mut BranchProtection), &'a [&'a str]);
    let cases: &[Case<'_>] = &[
        (
            "no required approvals",
            &|r| r.required_approvals = 0,
            &[
                "`main` requires 0 approval(s) of its own",
                "review.required_approvals (2)",
            ],
        ),
        (
            "one required approval",
            &|r| r.required_approvals = 1,
            &["`main` requires 1 approval(s) of its own"],
        ),
        (
            "no protected files",
            &|r| r.protected_file_patterns = None,
            &["`.gitea/workflows/review-fire.yml`, `.gitea/shipgate.yml`"],
        ),
        (
            "the config left out",
            &|r| r.protected_file_patterns = Some(".gitea/workflows/**".into()),
            &["lets a pull request change `.gitea/shipgate.yml`"],
        ),
    ];
    for (name, change, found) in cases {
        let c = with_main(*change);
        assert_eq!(
            (c.id.as_str(), c.state),
            ("review-fire.approvals", State::Fail),
            "{name}: {c:#?}"
        );
        for part in *found {
            assert!(c.found.contains(part), "{name}: {}", c.found);
        }
        assert!(
            c.fix.contains("\"Required approvals\" = 2")
                && c.fix.contains(".gitea/workflows/**;.gitea/shipgate.yml"),
            "{name}: {}",
            c.fix
        );
    }
    // Patterns with spaces around the separator, and a narrower workflow glob, still count.
    let mut facts = good();
    let mut main = rule_of_main(&mut facts);
    main.protected_file_patterns = Some(" .gitea/shipgate.yml ; .gitea/workflows/*.yml".into());
    if let Seen::Yes(rules) = &mut facts.protections {
        rules.retain(|r| r.rule_name != "main");
        rules.push(main);
    }
    assert!(not_passing(&facts, Scope::ReviewFire).is_empty());
}

/// Gitea serves the receive-pack advertisement to a read-only account (and refuses the push
/// later), so write is proven by the account's own `permissions.push`: a read-only status,
/// sync or promote account is ✗ with the access fix, whatever its token's scopes.
#[test]
fn write_is_proven_by_the_accounts_permission_not_the_advertisement() {
    let read_only = Permission {
        admin: false,
        push: false,
        pull: true,
    };
    let table: [(Scope, &str, bool); 3] = [
        (Scope::ReviewFire, "review-fire.status-token", true),
        (Scope::Sync, "sync.token", false),
        (Scope::Promote, "promote.token", false),
    ];
    for (scope, id, status_token) in table {
        let mut facts = good();
        let token = if status_token {
            &mut facts.status
        } else {
            &mut facts.read
        };
        token.repo = Seen::Yes(read_only);
        assert_eq!(token.push, Seen::Yes(()), "the advertisement was served");
        let c = only(&facts, scope);
        assert_eq!((c.id.as_str(), c.state), (id, State::Fail), "{c:?}");
        assert!(
            c.found
                .contains("code write (GET /repos/{o}/{r} permissions.push: the account's permission is read only)"),
            "{}",
            c.found
        );
        assert!(
            c.fix.starts_with("give the token's account write access"),
            "{}",
            c.fix
        );

        // Write access without admin is enough.
        let mut facts = good();
        let token = if status_token {
            &mut facts.status
        } else {
            &mut facts.read
        };
        token.repo = Seen::Yes(Permission {
            admin: false,
            push: true,
            pull: true,
        });
        assert!(
            not_passing(&facts, scope).iter().all(|c| c.id != id),
            "{id} passes with write"
        );
    }
}

/// main's protection requires review-fire's gates, which only the promotion PR's own runs
/// post on S: ✓ with the defaults (main is a review branch, promote opens the PR), ✗ when
/// main is not in `review.branches` or the promote workflow pushes (`--via push`).
#[test]
fn promote_contexts_that_can_never_appear_on_staging_fail() {
    const QA: &str = "qa-review / approved (pull_request_target)";
    let with_gate = |facts: &mut Facts| {
        branch_mut(facts, "main").status_check_contexts =
            Some(vec!["ci / build (push)".to_owned(), QA.to_owned()]);
    };
    let mut facts = good();
    with_gate(&mut facts);
    assert!(
        not_passing(&facts, Scope::Promote).is_empty(),
        "the default setup reaches the gates through the promotion PR"
    );

    let mut config = Config::default();
    config.review.branches = vec!["staging".into()];
    facts.config = ConfigFact::Valid {
        origin: "x".into(),
        config: Box::new(config),
    };
    let c = only(&facts, Scope::Promote);
    assert_eq!((c.id.as_str(), c.state), ("promote.contexts", State::Fail));
    assert!(
        c.found
            .contains(&format!("`{QA}` on staging's head, which can never appear"))
            && c.found.contains("`review.branches` (staging)"),
        "{}",
        c.found
    );
    assert!(
        c.fix.starts_with("add `main` to `review.branches`"),
        "{}",
        c.fix
    );

    let mut facts = good();
    with_gate(&mut facts);
    if let Seen::Yes(workflows) = &mut facts.workflows {
        for w in workflows.iter_mut() {
            w.text = w
                .text
                .replace("args: --wait 20m", "args: --via push --wait 20m");
        }
    }
    let c = decide(&facts, Scope::Promote)
        .into_iter()
        .find(|c| c.id == "promote.contexts")
        .expect("contexts");
    assert_eq!(c.state, State::Fail);
    assert!(c.found.contains("passes `--via push`"), "{}", c.found);
}

#[test]
fn secret_names_read_from_the_expression() {
    let table = [
        (
            "${{ secrets.SHIPGATE_TIER_TOKEN }}",
            Some("SHIPGATE_TIER_TOKEN"),
        ),
        (
            "${{secrets.shipgate_tier_token}}",
            Some("SHIPGATE_TIER_TOKEN"),
        ),
        ("  ${{ Secrets.X1 }} ", Some("X1")),
        ("${{ github.token }}", None),
        ("${{ secrets.A-B }}", None),
        ("${{ secrets. }}", None),
        ("plain", None),
        ("", None),
    ];
    for (input, want) in table {
        assert_eq!(secret_name(input).as_deref(), want, "{input:?}");
    }
}

/// The measured failure: auto-tier passed `SHIPGATE_TOKEN` while doctor's example checked
/// `SHIPGATE_TIER_TOKEN`, so doctor was ✓ while tier failed. The workflow check names the
/// secret each gate passes, fails a step without its token input, and fails a doctor step
/// that checks the mode with another secret than the gate's.
#[test]
fn workflows_name_their_secrets_and_doctor_must_check_the_same_one() {
    let facts = good();
    let c = decide(&facts, Scope::Tier)
        .into_iter()
        .find(|c| c.id == "tier.workflow")
        .expect("tier.workflow");
    assert_eq!(c.state, State::Pass);
    assert!(
        c.found
            .contains("passes `secrets.SHIPGATE_TIER_TOKEN` as `token`"),
        "{}",
        c.found
    );

    // The gate step passes no status token.
    let mut facts = good();
    if let Seen::Yes(workflows) = &mut facts.workflows {
        for w in workflows.iter_mut() {
            w.text = w.text.replace(
                "          status-token: ${{ secrets.SHIPGATE_STATUS_TOKEN }}\n",
                "",
            );
        }
    }
    let c = only(&facts, Scope::ReviewFire);
    assert_eq!(
        (c.id.as_str(), c.state),
        ("review-fire.workflow", State::Fail)
    );
    assert!(
        c.found.contains(
            "passes no `status-token` to its `mode: review-fire` step: it exits 2 `token-missing`"
        ),
        "{}",
        c.found
    );
    assert!(
        c.fix
            .contains("add `status-token: ${{ secrets.SHIPGATE_STATUS_TOKEN }}`"),
        "{}",
        c.fix
    );

    // doctor's example checks tier with SHIPGATE_TIER_TOKEN, the gate passes SHIPGATE_TOKEN.
    let mut facts = good();
    if let Seen::Yes(workflows) = &mut facts.workflows {
        for w in workflows.iter_mut() {
            w.text = w
                .text
                .replace("secrets.SHIPGATE_TIER_TOKEN", "secrets.SHIPGATE_TOKEN");
        }
        workflows.push(Workflow {
            path: ".gitea/workflows/doctor.yml".into(),
            text: "on:\n  workflow_dispatch:\njobs:\n  doctor:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: https://git.example/acme/shipgate@v1\n        with:\n          mode: doctor\n          args: --mode tier\n          token: ${{ secrets.SHIPGATE_TIER_TOKEN }}\n".into(),
        });
    }
    let c = only(&facts, Scope::Tier);
    assert_eq!((c.id.as_str(), c.state), ("tier.workflow", State::Fail));
    assert!(
        c.found.contains("`.gitea/workflows/doctor.yml` checks `tier` with `secrets.SHIPGATE_TIER_TOKEN` as `token`, but `.gitea/workflows/auto-tier.yml` passes `secrets.SHIPGATE_TOKEN`"),
        "{}",
        c.found
    );
}

/// `review.merge` merges with the status token: its account must be allowed to merge into
/// the review branches (the server's `user_can_merge` for it), else every merge is refused.
#[test]
fn review_merge_needs_a_status_account_that_may_merge() {
    let with_merge = |can: Option<Seen<bool>>| {
        let mut facts = good();
        let mut config = Config::default();
        config.review.merge = Some(crate::config::MergeStyle::Merge);
        facts.config = ConfigFact::Valid {
            origin: "x".into(),
            config: Box::new(config),
        };
        if let Some(can) = can {
            facts.status_can_merge.insert("main".into(), can);
        }
        facts
    };
    let status = |facts: &Facts| {
        decide(facts, Scope::ReviewFire)
            .into_iter()
            .find(|c| c.id == "review-fire.status-token")
            .expect("status-token")
    };
    let c = status(&with_merge(Some(Seen::Yes(true))));
    assert_eq!(c.state, State::Pass, "{c:?}");
    assert!(
        c.found
            .ends_with("its account may merge into main (`review.merge: merge`)"),
        "{}",
        c.found
    );

    let c = status(&with_merge(Some(Seen::Yes(false))));
    assert_eq!(c.state, State::Fail, "{c:?}");
    assert!(c.found.contains("may not merge into `main`"), "{}", c.found);
    assert!(
        c.fix
            .starts_with("add the status token's account to the merge allowlist of main"),
        "{}",
        c.fix
    );

    let c = status(&with_merge(None));
    assert_eq!(c.state, State::Unknown, "{c:?}");

    // Without review.merge nothing changes.
    assert_eq!(status(&good()).state, State::Pass);
}
