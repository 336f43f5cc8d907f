//! Property tests: random scenarios under random fault schedules, end to end (issue 12).
//!
//! Per mode (tier, review-fire, sync) each case draws a scenario and a schedule of faults
//! by position (the n-th request of the run, any route: 401, 403, 404, 422, 429 with and
//! without `Retry-After`, 500, 502, 503, a delay past the timeout, a reset connection, a
//! malformed or cut-off body, a wrong or missing `X-Total-Count`; for git also a cut pack
//! and a rejected ref). It runs the binary on the scenario without faults, then again with
//! the schedule, and checks the faulty run against the clean one:
//!
//! - exit 0 only if the clean run exits 0 with the same result; exit codes stay in 0/1/2
//!   and every nonzero exit prints exactly one `::error` line;
//! - never a `success` status the clean run did not post, never a tier label set other
//!   than the one before or the clean run's, never a push the clean run did not make;
//! - no write after a read that failed for good (an error answer not followed by a clean
//!   answer to the same request); review-fire's `error` statuses are the one write allowed
//!   after it, by design ("a failed read after the head is known posts error");
//! - the token in no output (`Test::run` checks every run);
//! - sync: old staging and main are ancestors of the new staging tip, or it is unchanged.
//!
//! `SHIPGATE_FAULT_CASES` (default 500), `SHIPGATE_FAULT_SEED`, `SHIPGATE_FAULT_CASE`
//! replay one case; a failure prints all three and the schedule, reduced to the faults
//! that still break the property.

use std::{collections::BTreeMap, time::Duration};

use serde_json::{json, Value};

use crate::support::{
    fake_gitea::{FakeGitea, FaultKind, FileSpec, Recorded, StatusRow},
    fault_schedule::{cases, positions, Rng, Scheduled},
    fixture::{self, base, head, old, PR, REPO},
    git_server::{GitFault, GitRequest, GitServer},
    test::{Output, Test},
};

const DEFAULT_CASES: u64 = 500;

/// The faulty run's request timeout (seconds): a delay past it costs about this much.
const FAULTY_TIMEOUT: f64 = 0.5;
/// The clean run's: generous, so a loaded machine never makes the reference run fail.
const CLEAN_TIMEOUT: &str = "10";

// ---- drawing faults ----------------------------------------------------------------------

/// One API fault, weighted so most are statuses and a delay (the slow one) is rare.
fn draw_api_fault(rng: &mut Rng) -> FaultKind {
    let roll = rng.below(100);
    match roll {
        0..=63 => FaultKind::Status(*rng.pick(&[401, 403, 404, 422, 429, 500, 502, 503])),
        64..=66 => FaultKind::StatusRetryAfter(429, 0),
        67 => FaultKind::StatusRetryAfter(503, 1),
        68..=70 => FaultKind::Delay(Duration::from_secs_f64(FAULTY_TIMEOUT + 0.4)),
        71..=78 => FaultKind::Reset,
        79..=86 => FaultKind::CutBody,
        87..=93 => FaultKind::Malformed,
        94..=97 => FaultKind::WrongTotal(*rng.pick(&[-1, 1, 7])),
        _ => FaultKind::NoTotal,
    }
}

fn draw_api_schedule(rng: &mut Rng, requests: usize) -> Vec<Scheduled<FaultKind>> {
    positions(rng, requests)
        .into_iter()
        .map(|nth| Scheduled::new(nth, draw_api_fault(rng)))
        .collect()
}

/// Whether the client saw this answer as an error (the fake recorded a fault that breaks
/// the answer; a wrong count is judged by the client, not here).
fn error_answer(r: &Recorded) -> bool {
    match &r.fault {
        None => false,
        Some(kind) => match kind {
            FaultKind::Status(_)
            | FaultKind::StatusRetryAfter(..)
            | FaultKind::Reset
            | FaultKind::CutBody => true,
            // A garbled body under an error status (a missing file's 404) still says 404.
            FaultKind::Malformed => (200..300).contains(&r.status),
            FaultKind::Delay(d) => d.as_secs_f64() > FAULTY_TIMEOUT,
            FaultKind::TruncatePage | FaultKind::WrongTotal(_) | FaultKind::NoTotal => false,
        },
    }
}

/// The first read that failed for good: an error answer to a GET that no later request
/// for the same path and query answered cleanly (a retry that worked). tier's diff
/// attempt is not one: the pull request's `.diff`, and the pull request read again right
/// after it (and its retries), which when they fail make tier read the paged files list.
fn failed_read(requests: &[Recorded]) -> Option<usize> {
    let diff_attempt = |i: usize| {
        let r = &requests[i];
        r.path.ends_with(".diff")
            || requests[..i]
                .iter()
                .rev()
                .find(|before| before.path != r.path)
                .is_some_and(|before| before.path == format!("{}.diff", r.path))
    };
    requests.iter().enumerate().position(|(i, r)| {
        r.method == "GET"
            && !diff_attempt(i)
            && error_answer(r)
            && !requests[i + 1..].iter().any(|later| {
                later.method == r.method
                    && later.path == r.path
                    && later.query == r.query
                    && !error_answer(later)
            })
    })
}

/// "No write after a failed read": the writes after the first read that failed for good,
/// except those `allowed` says are the mode's fail-closed writes.
fn writes_after_failed_read(
    requests: &[Recorded],
    allowed: impl Fn(&Recorded) -> bool,
) -> Result<(), String> {
    let Some(at) = failed_read(requests) else {
        return Ok(());
    };
    let bad: Vec<String> = requests[at + 1..]
        .iter()
        .filter(|r| r.method != "GET" && !allowed(r))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "wrote after the failed read #{} `{} {}` ({:?}): {bad:?}",
            at + 1,
            requests[at].method,
            requests[at].path,
            requests[at].fault
        ))
    }
}

/// One request of a run and the fault it got, for a failure message's request log.
fn log_line(
    i: usize,
    (method, path, query, status): (&str, &str, &str, u16),
    fault: Option<&dyn std::fmt::Debug>,
) -> String {
    format!(
        "  #{:<3} {method} {path}{}{query} → {status}{}\n",
        i + 1,
        if query.is_empty() { "" } else { "?" },
        fault.map(|f| format!("  [{f:?}]")).unwrap_or_default()
    )
}

/// The run's requests with the faults they got, one a line, for a failure message.
fn request_log(requests: &[Recorded]) -> String {
    requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let fault = r.fault.as_ref().map(|f| f as &dyn std::fmt::Debug);
            log_line(i, (&r.method, &r.path, &r.query, r.status), fault)
        })
        .collect()
}

/// Exit code, `::error` count: the contract every run keeps, faults or not.
fn contract(out: &Output) -> Result<(), String> {
    if ![0, 1, 2].contains(&out.status) {
        return Err(format!("exit {} is not 0, 1 or 2", out.status));
    }
    let errors = out.annotations().len();
    if out.status != 0 && errors != 1 {
        return Err(format!("exit {} with {errors} `::error` lines", out.status));
    }
    Ok(())
}

/// Drop scheduled faults one at a time while `still_fails` keeps failing: the smallest
/// schedule that shows the failure (best effort: concurrent reads reorder positions).
fn minimize<K: Clone + std::fmt::Debug>(
    schedule: Vec<Scheduled<K>>,
    mut still_fails: impl FnMut(&[Scheduled<K>]) -> Option<String>,
) -> (Vec<Scheduled<K>>, Option<String>) {
    let mut current = schedule;
    let mut last = None;
    let mut i = 0;
    while i < current.len() {
        let mut fewer = current.clone();
        fewer.remove(i);
        match still_fails(&fewer) {
            Some(why) => {
                current = fewer;
                last = Some(why);
            }
            None => i += 1,
        }
    }
    (current, last)
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null)
}

// ---- tier --------------------------------------------------------------------------------

const BOT: &str = "shipgate-bot";
const BOT_TOKEN: &str = "tok-shipgate-bot";
const TIER_LABELS: [&str; 3] = ["tier:low", "tier:medium", "tier:high"];

#[derive(Debug, Clone)]
struct TierScenario {
    files: Vec<FileSpec>,
    config: Option<String>,
    gitattributes: bool,
    qa_members: Vec<&'static str>,
    repo_labels: Vec<&'static str>,
    /// `(label, who added it)` in order.
    issue_labels: Vec<(&'static str, &'static str)>,
    closed: bool,
}

const HIGH_PATHS: &[&str] = &[
    "migrations/001_init.sql",
    "src/auth/login.go",
    ".gitea/workflows/ci.yml",
    "CODEOWNERS",
    "pkg/crypto/key.go",
];
const LOW_PATHS: &[&str] = &["README.md", "docs/guide.md", "tests/login_test.go"];
const MEDIUM_PATHS: &[&str] = &[
    "src/lib.rs",
    "cmd/main.go",
    "Cargo.lock",
    "vendor/x/y.go",
    "api/v1.pb.go",
];

fn draw_path(rng: &mut Rng) -> String {
    let pool = match rng.below(10) {
        0..=1 => HIGH_PATHS,
        2..=4 => LOW_PATHS,
        _ => MEDIUM_PATHS,
    };
    let path = *rng.pick(pool);
    if rng.chance(30) {
        // Another file in the same place.
        match path.rsplit_once('/') {
            Some((dir, name)) => format!("{dir}/{}{name}", rng.below(100)),
            None => format!("{}{path}", rng.below(100)),
        }
    } else {
        path.to_owned()
    }
}

fn draw_tier(rng: &mut Rng) -> TierScenario {
    let count = if rng.chance(12) {
        rng.range(45, 110)
    } else {
        rng.range(0, 8)
    };
    let mut files = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..count {
        let mut path = draw_path(rng);
        while !seen.insert(path.clone()) {
            path = format!("x{}/{path}", rng.below(1000));
        }
        let lines = if rng.chance(5) {
            1500
        } else {
            rng.below(60) as u64
        };
        let file = match rng.below(10) {
            0 => FileSpec::renamed(&draw_path(rng), &path, 0, 0),
            1 => FileSpec::new(&path, "added", lines, 0),
            2 => FileSpec::new(&path, "deleted", 0, lines),
            _ => FileSpec::new(&path, "changed", lines, rng.below(20) as u64),
        };
        files.push(file);
    }
    let config = match rng.below(6) {
        0 => Some("tier:\n  override_teams: [qa]\n".to_owned()),
        1 => Some("tier:\n  max_files: 5\n".to_owned()),
        _ => None,
    };
    let mut repo_labels = rng.subset(&TIER_LABELS, 50);
    for extra in ["bug", "risk:high"] {
        if rng.chance(25) {
            repo_labels.push(extra);
        }
    }
    let mut issue_labels = Vec::new();
    let adders = ["alice", "bob", "carol", BOT];
    for label in rng.subset(&repo_labels, 35) {
        issue_labels.push((label, *rng.pick(&adders)));
    }
    TierScenario {
        files,
        config,
        gitattributes: rng.chance(30),
        qa_members: rng.subset(&["carol", "bob"], 50),
        repo_labels,
        issue_labels,
        closed: rng.chance(4),
    }
}

fn build_tier(fake: &FakeGitea, s: &TierScenario) {
    fake.reset();
    fake.add_user(BOT, BOT_TOKEN);
    fake.add_org_owner("acme", BOT);
    for user in ["alice", "bob", "carol"] {
        fake.add_user(user, &format!("tok-{user}"));
    }
    fake.add_repo(REPO);
    fake.add_pr(REPO, fixture::pr());
    if s.closed {
        fake.set_pr_state(REPO, PR, "closed", false);
    }
    fake.set_files(REPO, PR, s.files.clone());
    if let Some(config) = &s.config {
        fake.set_file(REPO, &base(), ".gitea/shipgate.yml", config);
    }
    if s.gitattributes {
        fake.set_file(
            REPO,
            &base(),
            ".gitattributes",
            "*.pb.go linguist-generated\n",
        );
    }
    fake.add_team("acme", "qa", &s.qa_members);
    let ids: BTreeMap<&str, i64> = s
        .repo_labels
        .iter()
        .map(|name| (*name, fake.add_repo_label(REPO, name, "ededed")))
        .collect();
    for (label, by) in &s.issue_labels {
        fake.add_issue_label(REPO, PR, ids[label], by);
    }
}

fn run_tier(fake: &FakeGitea, timeout: &str) -> Output {
    Test::new()
        .args(&["tier", "--pr", "7", "--format", "json"])
        .forge(fake)
        .repo(REPO)
        .token(BOT_TOKEN)
        .env("SHIPGATE_TIMEOUT", timeout)
        .run()
}

fn sorted_labels(fake: &FakeGitea) -> Vec<String> {
    let mut labels = fake.issue_label_names(REPO, PR);
    labels.sort();
    labels
}

/// What a tier run decided: exit, tier, action, the PR's labels after it.
#[derive(Debug, Clone, PartialEq)]
struct TierResult {
    status: i32,
    tier: Value,
    computed: Value,
    action: Value,
    labels: Vec<String>,
}

fn tier_result(out: &Output, fake: &FakeGitea) -> TierResult {
    let json = json_of(out);
    TierResult {
        status: out.status,
        tier: json["tier"].clone(),
        computed: json["computed_tier"].clone(),
        action: json["label_action"].clone(),
        labels: sorted_labels(fake),
    }
}

/// A 404 where tier reads it as an answer, and bodies tier never reads.
fn tier_answers() -> Vec<(&'static str, FaultKind)> {
    vec![
        (
            "GET /repos/{owner}/{repo}/raw/{filepath}",
            FaultKind::Status(404),
        ),
        // A raw file is bytes, not JSON: a "malformed" one is only other content.
        (
            "GET /repos/{owner}/{repo}/raw/{filepath}",
            FaultKind::Malformed,
        ),
        ("GET /teams/{id}/members/{username}", FaultKind::Status(404)),
        ("GET /teams/{id}/members/{username}", FaultKind::Malformed),
        (
            "DELETE /repos/{owner}/{repo}/issues/{index}/labels/{id}",
            FaultKind::Malformed,
        ),
    ]
}

fn check_tier(
    fake: &FakeGitea,
    s: &TierScenario,
    clean: &TierResult,
    before: &[String],
    schedule: &[Scheduled<FaultKind>],
) -> Result<(), String> {
    build_tier(fake, s);
    fake.schedule(schedule.to_vec(), &tier_answers());
    let out = run_tier(fake, &FAULTY_TIMEOUT.to_string());
    let got = tier_result(&out, fake);
    let requests = fake.requests();
    let fail = |why: String| {
        Err(format!(
            "{why}\nclean: {clean:?}\nfaulty: {got:?}\nschedule: {schedule:?}\nrequests:\n{}\
             --- stdout ---\n{}",
            request_log(&requests),
            out.stdout
        ))
    };
    if let Err(why) = contract(&out) {
        return fail(why);
    }
    if got.status == 0 && (clean.status != 0 || got != *clean) {
        return fail("exit 0 under faults, but not the clean run's result".into());
    }
    let wrote_then_faulted = requests
        .iter()
        .position(|r| r.method != "GET")
        .is_some_and(|first| requests[first..].iter().any(|r| r.fault.is_some()));
    if got.labels != before && got.labels != clean.labels {
        // Between two writes (add, then remove shipgate's old label) a fault may leave
        // both: never a label neither run had.
        let known = |l: &String| before.contains(l) || clean.labels.contains(l);
        if !(wrote_then_faulted && got.labels.iter().all(known)) {
            return fail(format!(
                "labels {:?}: neither the labels before ({before:?}) nor the clean run's",
                got.labels
            ));
        }
    }
    if let Err(why) = writes_after_failed_read(&requests, |_| false) {
        return fail(why);
    }
    if !fake.unmatched().is_empty() {
        return fail(format!("unmatched requests {:?}", fake.unmatched()));
    }
    Ok(())
}

#[test]
fn tier() {
    let fake = FakeGitea::start();
    let mut stats: BTreeMap<String, usize> = BTreeMap::new();
    cases("tier", DEFAULT_CASES, |rng, _case| {
        let s = draw_tier(rng);
        build_tier(&fake, &s);
        let before = sorted_labels(&fake);
        let out = run_tier(&fake, CLEAN_TIMEOUT);
        contract(&out).map_err(|why| format!("clean run: {why}\n{}", out.stdout))?;
        let clean = tier_result(&out, &fake);
        let requests = fake.requests().len();
        let schedule = draw_api_schedule(rng, requests);
        let result = check_tier(&fake, &s, &clean, &before, &schedule);
        *stats
            .entry(format!("clean exit {} / {}", clean.status, clean.action))
            .or_default() += 1;
        result.map_err(|why| {
            let (small, last) = minimize(schedule.clone(), |fewer| {
                check_tier(&fake, &s, &clean, &before, fewer).err()
            });
            format!(
                "{why}\nscenario: {s:?}\nsmallest failing schedule: {small:?}\n{}",
                last.unwrap_or_default()
            )
        })
    });
    eprintln!("tier scenarios: {stats:?}");
}

// ---- the harness's own faults ------------------------------------------------------------

/// Each new kind breaks the answer the way it says: with one attempt the run cannot
/// verify, and with retries a one-off fault is absorbed.
#[test]
fn reset_cut_body_and_retry_after_are_seen_by_the_client() {
    let fake = FakeGitea::start();
    let s = TierScenario {
        files: vec![FileSpec::new("src/lib.rs", "changed", 1, 0)],
        config: None,
        gitattributes: false,
        qa_members: vec![],
        repo_labels: vec!["tier:medium"],
        issue_labels: vec![],
        closed: false,
    };
    for kind in [
        FaultKind::Reset,
        FaultKind::CutBody,
        FaultKind::StatusRetryAfter(429, 0),
    ] {
        build_tier(&fake, &s);
        fake.schedule(vec![Scheduled::new(1, kind.clone())], &[]);
        let out = Test::new()
            .args(&["tier", "--pr", "7", "--format", "json", "--attempts", "1"])
            .forge(&fake)
            .repo(REPO)
            .token(BOT_TOKEN)
            .unverified();
        let message = json_of(&out)["error"]["message"].to_string();
        assert!(message.contains("GET"), "{kind:?}: {message}");
        assert!(
            fake.requests().iter().all(|r| r.method == "GET"),
            "{kind:?}: {:?}",
            fake.requests()
        );
        eprintln!("{kind:?}: {message}");

        build_tier(&fake, &s);
        fake.schedule(vec![Scheduled::new(1, kind.clone())], &[]);
        let out = run_tier(&fake, "5");
        assert_eq!(out.status, 0, "{kind:?}: retried\n{}", out.stdout);
        assert_eq!(fake.requests()[0].fault, Some(kind.clone()));
        assert_eq!(fake.requests()[0].path, fake.requests()[1].path, "retried");
    }
}

// ---- review-fire -------------------------------------------------------------------------

const GATES: [&str; 2] = [
    "qa-review / approved (pull_request_target)",
    "security-review / approved (pull_request_target)",
];
const TIER_CHECK: &str = "tier-check / approvals (pull_request_target)";
const PEOPLE: [&str; 8] = ["erin", "carol", "mona", "ed", "quinn", "sam", "olga", "bob"];
const TEAMS: [&str; 5] = ["engineers", "managers", "executive", "qa", "security"];

#[derive(Debug, Clone)]
struct ReviewScenario {
    config: Option<String>,
    teams: Vec<(&'static str, Vec<&'static str>)>,
    labels: Vec<&'static str>,
    reviews: Vec<Value>,
    /// `(context, state, creator)` already on the head.
    statuses: Vec<(&'static str, &'static str, &'static str)>,
    closed: bool,
}

fn draw_review(rng: &mut Rng) -> ReviewScenario {
    let config = match rng.below(5) {
        0 => Some(format!(
            "review:\n  required_approvals: {}\n",
            rng.range(1, 3)
        )),
        1 => Some(format!(
            "review:\n  required_approvals: {}\n  tier_check:\n    context: \"{TIER_CHECK}\"\n",
            rng.range(1, 2)
        )),
        _ => None,
    };
    let mut teams: Vec<(&'static str, Vec<&'static str>)> = TEAMS
        .iter()
        .map(|t| (*t, rng.subset(&PEOPLE, 45)))
        .collect();
    teams.push(("everyone", PEOPLE.to_vec()));
    let mut labels = Vec::new();
    match rng.below(10) {
        0 => {}
        1 => labels.extend(["tier:low", "tier:high"]),
        _ => labels.push(*rng.pick(&["tier:low", "tier:medium", "tier:high"])),
    }
    if rng.chance(10) {
        labels.push("risk:high");
    }
    let mut reviewers: Vec<&str> = PEOPLE.to_vec();
    reviewers.push("alice");
    let reviews = (0..rng.range(0, 7))
        .map(|_| {
            let state = if rng.chance(70) {
                "APPROVED"
            } else {
                *rng.pick(&["REQUEST_CHANGES", "COMMENT", "PENDING"])
            };
            json!({
                "user": {"login": rng.pick(&reviewers)},
                "state": state,
                "body": "",
                "commit_id": if rng.chance(8) { old() } else { head() },
                "official": !rng.chance(5),
                "stale": rng.chance(5),
                "dismissed": rng.chance(5),
            })
        })
        .collect();
    let statuses = (0..rng.range(0, 2))
        .map(|_| {
            (
                *rng.pick(&[GATES[0], GATES[1], TIER_CHECK]),
                *rng.pick(&["success", "pending", "failure", "error"]),
                *rng.pick(&["writer", "writer", "mona"]),
            )
        })
        .collect();
    ReviewScenario {
        config,
        teams,
        labels,
        reviews,
        statuses,
        closed: rng.chance(4),
    }
}

fn build_review(fake: &FakeGitea, s: &ReviewScenario) {
    fake.reset();
    fake.add_user("reader", "tok-reader");
    fake.add_user("writer", "tok-writer");
    fake.add_org_owner("acme", "reader");
    fake.add_repo(REPO);
    fake.add_pr(REPO, fixture::pr());
    if s.closed {
        fake.set_pr_state(REPO, PR, "closed", false);
    }
    if let Some(config) = &s.config {
        fake.set_file(REPO, &base(), ".gitea/shipgate.yml", config);
    }
    for (team, members) in &s.teams {
        fake.add_team("acme", team, members);
    }
    for name in ["tier:low", "tier:medium", "tier:high", "risk:high"] {
        let id = fake.add_repo_label(REPO, name, "00aa00");
        if s.labels.contains(&name) {
            fake.add_issue_label(REPO, PR, id, "mona");
        }
    }
    for review in &s.reviews {
        fake.add_review(REPO, PR, review.clone());
    }
    for (context, state, creator) in &s.statuses {
        fake.add_status(
            REPO,
            &head(),
            StatusRow {
                state: (*state).into(),
                context: (*context).into(),
                description: "earlier".into(),
                target_url: String::new(),
                creator: (*creator).into(),
            },
        );
    }
}

fn run_review(fake: &FakeGitea, timeout: &str) -> Output {
    Test::new()
        .args(&["review-fire", "--pr", "7", "--format", "json"])
        .forge(fake)
        .repo(REPO)
        .token("tok-reader")
        .status_token("tok-writer")
        .env("SHIPGATE_TIMEOUT", timeout)
        .run()
}

/// `(sha, context, state, description)` of every status a run posted.
fn posted(requests: &[Recorded]) -> Vec<(String, String, String, String)> {
    requests
        .iter()
        .filter(|r| r.key() == "POST /repos/{owner}/{repo}/statuses/{sha}")
        .map(|r| {
            let body = r.json();
            let text = |k: &str| body[k].as_str().unwrap_or_default().trim().to_owned();
            (
                r.path.rsplit('/').next().unwrap_or_default().to_owned(),
                text("context"),
                text("state"),
                text("description"),
            )
        })
        .collect()
}

/// What a review-fire run decided: exit, and the newest status of each gate context on
/// the head afterwards.
#[derive(Debug, Clone, PartialEq)]
struct ReviewResult {
    status: i32,
    newest: Vec<(String, String, String)>,
}

fn review_result(out: &Output, fake: &FakeGitea) -> ReviewResult {
    let rows = fake.statuses(REPO, &head());
    let newest = GATES
        .iter()
        .chain([TIER_CHECK].iter())
        .filter_map(|context| {
            rows.iter()
                .rev()
                .find(|r| r.context == *context)
                .map(|r| (r.context.clone(), r.state.clone(), r.description.clone()))
        })
        .collect();
    ReviewResult {
        status: out.status,
        newest,
    }
}

fn review_answers() -> Vec<(&'static str, FaultKind)> {
    vec![
        (
            "GET /repos/{owner}/{repo}/raw/{filepath}",
            FaultKind::Status(404),
        ),
        (
            "GET /repos/{owner}/{repo}/raw/{filepath}",
            FaultKind::Malformed,
        ),
        // A team's member list answering 404 credits nobody in that team (as a 404
        // membership probe did); its body is JSON, so a garbled one is a fault.
        ("GET /teams/{id}/members", FaultKind::Status(404)),
    ]
}

fn check_review(
    fake: &FakeGitea,
    s: &ReviewScenario,
    clean: &ReviewResult,
    clean_posts: &[(String, String, String, String)],
    schedule: &[Scheduled<FaultKind>],
) -> Result<(), String> {
    build_review(fake, s);
    fake.schedule(schedule.to_vec(), &review_answers());
    let out = run_review(fake, &FAULTY_TIMEOUT.to_string());
    let got = review_result(&out, fake);
    let requests = fake.requests();
    let posts = posted(&requests);
    let fail = |why: String| {
        Err(format!(
            "{why}\nclean: {clean:?}\nclean posts: {clean_posts:?}\nfaulty: {got:?}\n\
             faulty posts: {posts:?}\nschedule: {schedule:?}\nrequests:\n{}--- stdout ---\n{}",
            request_log(&requests),
            out.stdout
        ))
    };
    if let Err(why) = contract(&out) {
        return fail(why);
    }
    if got.status == 0 && (clean.status != 0 || got != *clean) {
        return fail("exit 0 under faults, but not the clean run's result".into());
    }
    for post in &posts {
        if post.2 == "success" && !clean_posts.contains(post) {
            return fail(format!("posted a success the clean run did not: {post:?}"));
        }
    }
    // After a failed read, review-fire may only mark its gates `error`.
    let error_status = |r: &Recorded| {
        r.key() == "POST /repos/{owner}/{repo}/statuses/{sha}" && r.json()["state"] == "error"
    };
    if let Err(why) = writes_after_failed_read(&requests, error_status) {
        return fail(why);
    }
    if !fake.unmatched().is_empty() {
        return fail(format!("unmatched requests {:?}", fake.unmatched()));
    }
    Ok(())
}

#[test]
fn review_fire() {
    let fake = FakeGitea::start();
    let mut stats: BTreeMap<String, usize> = BTreeMap::new();
    cases("review_fire", DEFAULT_CASES, |rng, _case| {
        let s = draw_review(rng);
        build_review(&fake, &s);
        let out = run_review(&fake, CLEAN_TIMEOUT);
        contract(&out).map_err(|why| format!("clean run: {why}\n{}", out.stdout))?;
        let clean = review_result(&out, &fake);
        let clean_posts = posted(&fake.requests());
        let requests = fake.requests().len();
        let schedule = draw_api_schedule(rng, requests);
        let result = check_review(&fake, &s, &clean, &clean_posts, &schedule);
        *stats
            .entry(format!(
                "clean exit {}, {} success posted",
                clean.status,
                clean_posts.iter().filter(|p| p.2 == "success").count()
            ))
            .or_default() += 1;
        result.map_err(|why| {
            let (small, last) = minimize(schedule.clone(), |fewer| {
                check_review(&fake, &s, &clean, &clean_posts, fewer).err()
            });
            format!(
                "{why}\nscenario: {s:?}\nsmallest failing schedule: {small:?}\n{}",
                last.unwrap_or_default()
            )
        })
    });
    eprintln!("review-fire scenarios: {stats:?}");
}

// ---- sync --------------------------------------------------------------------------------

const SYNC_TOKEN: &str = "tok-sync-bot-5e1f";

#[derive(Debug, Clone)]
struct SyncScenario {
    repo: String,
    /// Seeds `tests/sync.rs`'s random history (main ahead, staging ahead, diverged,
    /// equal, earlier syncs, criss-cross merges, conflicts).
    history: u64,
    /// `sync.author` in the config; without it a merge reads `GET /api/v1/user`.
    author: bool,
    protected: bool,
    no_filters: bool,
}

fn draw_sync(rng: &mut Rng, case: u64) -> SyncScenario {
    SyncScenario {
        repo: format!("faults/c{case}"),
        history: rng.next() | 1,
        author: rng.chance(50),
        protected: rng.chance(8),
        no_filters: rng.chance(15),
    }
}

fn build_sync(server: &GitServer, s: &SyncScenario) -> (String, String) {
    server.create_repo(&s.repo);
    if s.no_filters {
        server.disable_filters(&s.repo);
    }
    if s.protected {
        server.protect(&s.repo, "staging");
    }
    crate::sync::random_history(&mut crate::sync::Rng(s.history), server, &s.repo);
    let old = server.rev(&s.repo, "refs/heads/staging").expect("staging");
    let main = server.rev(&s.repo, "refs/heads/main").expect("main");
    (old, main)
}

fn run_sync(server: &GitServer, s: &SyncScenario) -> Output {
    let mut test = Test::new()
        .args(&["sync", "--format", "json"])
        .env("SHIPGATE_SERVER", &server.url())
        .repo(&s.repo)
        .token(SYNC_TOKEN)
        .env("SHIPGATE_TIMEOUT", CLEAN_TIMEOUT);
    if s.author {
        test = test.config("sync:\n  author: {name: Sync, email: sync@example.com}\n");
    }
    test.run()
}

/// What a sync run did: exit, plan, whether it pushed, and the new staging tip by tree,
/// parents and subject (a merge commit's id carries the time it was made).
#[derive(Debug, Clone, PartialEq)]
struct SyncResult {
    status: i32,
    plan: Value,
    pushed: Value,
    tip: Option<String>,
}

fn sync_result(out: &Output, server: &GitServer, s: &SyncScenario, old: &str) -> SyncResult {
    let json = json_of(out);
    let new = server.rev(&s.repo, "refs/heads/staging").expect("staging");
    let tip = (new != old).then(|| {
        server.git(
            &server.repo_path(&s.repo),
            &["show", "-s", "--format=%T %P %s", &new],
        )
    });
    SyncResult {
        status: out.status,
        plan: json["plan"].clone(),
        pushed: json["pushed"].clone(),
        tip,
    }
}

fn draw_git_schedule(rng: &mut Rng, requests: usize) -> Vec<Scheduled<GitFault>> {
    positions(rng, requests)
        .into_iter()
        .map(|nth| {
            let kind = match rng.below(100) {
                0..=54 => GitFault::Status(*rng.pick(&[401, 403, 404, 422, 429, 500, 502, 503])),
                55..=69 => GitFault::Reset,
                70..=84 => GitFault::Cut(u8::try_from(rng.below(100)).unwrap_or(50)),
                _ => GitFault::RejectRef,
            };
            Scheduled::new(nth, kind)
        })
        .collect()
}

fn git_log(requests: &[GitRequest]) -> String {
    requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let fault = r.fault.as_ref().map(|f| f as &dyn std::fmt::Debug);
            log_line(i, (&r.method, &r.path, &r.query, r.status), fault)
        })
        .collect()
}

/// The first read (anything but a push) whose answer a fault broke for good: an error
/// answer with no clean answer to a retry of it.
fn failed_git_read(requests: &[GitRequest]) -> Option<usize> {
    let broken = |r: &GitRequest| {
        matches!(
            r.fault,
            Some(GitFault::Status(_) | GitFault::Reset | GitFault::Cut(_))
        )
    };
    // A GET carries no body, so a later GET of the same URL is its retry (gix answers a
    // 401 by asking again with the credentials, the forge client retries 429 and 5xx).
    requests.iter().enumerate().position(|(i, r)| {
        !r.is_push()
            && broken(r)
            && !(r.method == "GET"
                && requests[i + 1..].iter().any(|later| {
                    later.method == "GET"
                        && later.path == r.path
                        && later.query == r.query
                        && !broken(later)
                }))
    })
}

#[allow(clippy::too_many_arguments)]
fn check_sync(
    server: &GitServer,
    s: &SyncScenario,
    old: &str,
    main: &str,
    clean: &SyncResult,
    clean_pushes: usize,
    schedule: &[Scheduled<GitFault>],
) -> Result<(), String> {
    let path = server.repo_path(&s.repo);
    server.git(&path, &["update-ref", "refs/heads/staging", old]);
    server.clear_requests();
    server.schedule(schedule.to_vec());
    let out = run_sync(server, s);
    server.schedule(Vec::new());
    let got = sync_result(&out, server, s, old);
    let requests = server.requests();
    let new = server.rev(&s.repo, "refs/heads/staging").expect("staging");
    let fail = |why: String| {
        Err(format!(
            "{why}\nclean: {clean:?} ({clean_pushes} push requests)\nfaulty: {got:?}\n\
             old staging {old}, main {main}, new staging {new}\nschedule: {schedule:?}\n\
             requests:\n{}--- stdout ---\n{}",
            git_log(&requests),
            out.stdout
        ))
    };
    if let Err(why) = contract(&out) {
        return fail(why);
    }
    if got.status == 0 && (clean.status != 0 || got != *clean) {
        return fail("exit 0 under faults, but not the clean run's result".into());
    }
    if new != old {
        if !(server.is_ancestor(&s.repo, old, &new) && server.is_ancestor(&s.repo, main, &new)) {
            return fail("the new staging tip lost old staging or main".into());
        }
        if got.tip != clean.tip {
            return fail("staging moved, but not to what the clean run made".into());
        }
    }
    let pushes: Vec<&GitRequest> = requests.iter().filter(|r| r.is_push()).collect();
    if !pushes.is_empty() && clean_pushes == 0 {
        return fail("pushed where the clean run did not".into());
    }
    if let Some(at) = failed_git_read(&requests) {
        if let Some(push) = requests[at + 1..].iter().find(|r| r.is_push()) {
            return fail(format!(
                "pushed (#{}) after the failed read #{} `{} {}`",
                push.seq,
                at + 1,
                requests[at].method,
                requests[at].path
            ));
        }
    }
    Ok(())
}

#[test]
fn sync() {
    let server = GitServer::start();
    server.add_user("bot", SYNC_TOKEN);
    let mut stats: BTreeMap<String, usize> = BTreeMap::new();
    cases("sync", DEFAULT_CASES, |rng, case| {
        let s = draw_sync(rng, case);
        let (old, main) = build_sync(&server, &s);
        server.clear_requests();
        let out = run_sync(&server, &s);
        contract(&out).map_err(|why| format!("clean run: {why}\n{}", out.stdout))?;
        let clean = sync_result(&out, &server, &s, &old);
        let clean_requests = server.requests();
        let clean_pushes = clean_requests.iter().filter(|r| r.is_push()).count();
        let schedule = draw_git_schedule(rng, clean_requests.len());
        *stats
            .entry(format!("clean exit {} {}", clean.status, clean.plan))
            .or_default() += 1;
        check_sync(&server, &s, &old, &main, &clean, clean_pushes, &schedule).map_err(|why| {
            let (small, last) = minimize(schedule.clone(), |fewer| {
                check_sync(&server, &s, &old, &main, &clean, clean_pushes, fewer).err()
            });
            format!(
                "{why}\nscenario: {s:?}\nsmallest failing schedule: {small:?}\n{}",
                last.unwrap_or_default()
            )
        })
    });
    eprintln!("sync scenarios: {stats:?}");
}
