//! Integration tests: promote against the real Gitea, every version.
//! Harness: real_gitea, test, and a small forwarding proxy that lets "another client"
//! push to staging at the worst moment (just before the merge request reaches Gitea).
//!
//! The promote account is `devops-engineer` (devops team: code write; token scopes
//! write:repository + read:user). Statuses are posted by `status-bot`. Each test asserts
//! main's tip afterwards, read from Gitea itself.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use serde_json::json;

use crate::parity::{differences, fake_get, Shape};
use crate::real_gitea_tests;
use crate::support::{
    fake_gitea::{FakeGitea, StatusRow},
    real_gitea::{Change, RealGitea, Repo},
    serve::Background,
    test::{Output, Test},
};

const CI: &str = "ci / build (push)";
const PROMOTER: &str = "devops-engineer";

/// A repository whose main carries `.gitea/shipgate.yml` requiring `CI`, and whose staging
/// is main plus one commit (S). Returns the repo and S.
fn world<'g>(g: &'g RealGitea, prefix: &str) -> (Repo<'g>, String) {
    let repo = g.repo(prefix);
    repo.commit(
        "alice",
        "main",
        None,
        "shipgate config",
        &[Change::Create(
            ".gitea/shipgate.yml",
            &format!("promote:\n  required_contexts: [\"{CI}\"]\n"),
        )],
    );
    // staging = main again, then one commit of its own.
    g.admin("DELETE", &repo.path("/branches/staging"), None);
    // Gitea processes the deletion asynchronously, and that processing closes every open PR
    // whose head is `staging`: when it ran after promote had opened its PR, 1.22.6 answered
    // 404 (a closed PR) to the merge, a flake seen in CI. Give the queue time before the
    // branch comes back; nothing is asserted about time.
    std::thread::sleep(std::time::Duration::from_secs(2));
    repo.create_branch("staging", "main");
    let s = repo.commit(
        "alice",
        "staging",
        None,
        "feature work",
        &[Change::Create("src/lib.rs", "pub fn f() {}\n")],
    );
    (repo, s)
}

fn status(repo: &Repo<'_>, sha: &str, context: &str, state: &str) {
    let token = repo.gitea.token("status-bot").to_owned();
    repo.gitea.ok(
        "POST",
        &repo.path(&format!("/statuses/{sha}")),
        &token,
        Some(json!({"state": state, "context": context, "description": "ci", "target_url": ""})),
    );
}

fn promote(server: &str, repo: &Repo<'_>, args: &[&str]) -> Test {
    let mut argv = vec!["promote", "--format", "json", "-v"];
    argv.extend_from_slice(args);
    Test::new()
        .args(&argv)
        .server(server)
        .repo(&repo.full)
        .token(repo.gitea.token(PROMOTER))
        .env("SHIPGATE_TIMEOUT", "30")
}

#[track_caller]
fn one_error(output: &Output) -> String {
    let annotations = output.annotations();
    assert_eq!(annotations.len(), 1, "{}\n{}", output.stderr, output.stdout);
    annotations[0].to_owned()
}

fn green_staging_is_promoted_and_main_is_s(g: &RealGitea) {
    let (repo, s) = world(g, "promote-green");
    let old_main = repo.tip("main");
    status(&repo, &s, CI, "pending");
    status(&repo, &s, CI, "success");
    let output = promote(&g.url, &repo, &[]).run();
    assert_eq!(
        output.status,
        0,
        "{}\n{}\n{}",
        output.stdout,
        output.stderr,
        g.log_tail()
    );
    let json = output.json();
    assert_eq!(json["plan"], "promoted", "{json}");
    assert_eq!(repo.tip("main"), s);
    assert_eq!(json["old_to_sha"], old_main.as_str());
    let number = json["pr"].as_u64().expect("the promotion PR");
    let pr = g.admin("GET", &repo.path(&format!("/pulls/{number}")), None);
    assert_eq!(pr["merged"], true, "{pr}");
    assert_eq!(
        (pr["head"]["ref"].as_str(), pr["base"]["ref"].as_str()),
        (Some("staging"), Some("main"))
    );
    // A second run has nothing to do.
    let again = promote(&g.url, &repo, &[]).success();
    assert_eq!(again.json()["plan"], "up-to-date");
}

/// Waiting opens the promotion PR (so what runs on pull requests can reach S), never merges.
fn one_pending_context_waits_and_main_is_unchanged(g: &RealGitea) {
    let (repo, s) = world(g, "promote-pending");
    let main = repo.tip("main");
    status(&repo, &s, CI, "pending");
    let output = promote(&g.url, &repo, &[]).refused();
    assert_eq!(output.json()["plan"], "waiting");
    assert!(one_error(&output).contains(CI));
    assert_eq!(repo.tip("main"), main);
    let all = g.admin("GET", &repo.path("/pulls?state=all"), None);
    let prs = all.as_array().cloned().unwrap_or_default();
    assert_eq!(prs.len(), 1, "one promotion PR: {all}");
    assert_eq!(prs[0]["state"], "open");
    assert_eq!(prs[0]["head"]["sha"], s.as_str());
    assert_eq!(output.json()["pr"], prs[0]["number"]);
}

/// The documented protection requires the review gates, which only a pull request's own
/// runs post: with them missing on S, promote opens the promotion PR and leaves the merge
/// to Gitea (scheduled), which merges once the gates turn green on S.
fn gates_missing_on_staging_are_scheduled_on_the_promotion_pr(g: &RealGitea) {
    const QA: &str = "qa-review / approved (pull_request_target)";
    const SEC: &str = "security-review / approved (pull_request_target)";
    let (repo, s) = world(g, "promote-gates");
    let main = repo.tip("main");
    repo.protect_main(&[CI, QA, SEC]);
    status(&repo, &s, CI, "success");
    let output = promote(&g.url, &repo, &[]).run();
    assert_eq!(
        (output.status, output.json()["plan"].as_str()),
        (0, Some("scheduled")),
        "missing gates are scheduled, not refused:\n{}\n{}\n{}",
        output.stdout,
        output.stderr,
        g.log_tail()
    );
    assert_eq!(repo.tip("main"), main);
    // review-fire on the promotion PR posts the gates on S (here: by the status bot).
    status(&repo, &s, QA, "success");
    status(&repo, &s, SEC, "success");
    repo.wait_tip("main", &s, "Gitea never merged the scheduled promotion");
}

fn one_failure_blocks(g: &RealGitea) {
    let (repo, s) = world(g, "promote-failure");
    let main = repo.tip("main");
    status(&repo, &s, CI, "failure");
    let output = promote(&g.url, &repo, &[]).refused();
    assert_eq!(output.json()["plan"], "blocked");
    let error = one_error(&output);
    assert!(error.contains(CI) && error.contains("failure"), "{error}");
    assert_eq!(repo.tip("main"), main);
}

fn main_not_in_staging_is_refused(g: &RealGitea) {
    let (repo, s) = world(g, "promote-behind");
    status(&repo, &s, CI, "success");
    let hotfix = repo.commit(
        "alice",
        "main",
        None,
        "hotfix",
        &[Change::Create("hotfix.txt", "x\n")],
    );
    let output = promote(&g.url, &repo, &[]).refused();
    assert!(
        one_error(&output).contains("staging does not contain main: run sync first"),
        "{}",
        output.stderr
    );
    assert_eq!(repo.tip("main"), hotfix);
}

fn a_token_without_repository_scope_cannot_verify_and_writes_nothing(g: &RealGitea) {
    let (repo, s) = world(g, "promote-scope");
    status(&repo, &s, CI, "success");
    let main = repo.tip("main");
    let (_, token) = g.fresh_account("promote-noscope", &["devops"], &["read:user"]);
    let output = Test::new()
        .args(&["promote", "--format", "json"])
        .server(&g.url)
        .repo(&repo.full)
        .token(&token)
        .unverified();
    let error = one_error(&output);
    assert!(error.contains("403"), "{error}");
    assert_eq!(repo.tip("main"), main);
    let pulls = g.admin("GET", &repo.path("/pulls?state=all"), None);
    assert_eq!(pulls.as_array().map(Vec::len), Some(0));
}

fn staging_moving_before_the_merge_is_refused_by_gitea(g: &'static RealGitea) {
    let (repo, s) = world(g, "promote-race");
    let main = repo.tip("main");
    status(&repo, &s, CI, "success");
    let full = repo.full.clone();
    let newer = Arc::new(std::sync::Mutex::new(String::new()));
    let seen = Arc::clone(&newer);
    let proxy = Proxy::start(&g.url, move || {
        let repo = Repo {
            gitea: g,
            full: full.clone(),
        };
        let sha = repo.commit(
            "alice",
            "staging",
            None,
            "a push that lands mid-promotion",
            &[Change::Create("late.txt", "late\n")],
        );
        if let Ok(mut slot) = seen.lock() {
            *slot = sha;
        }
    });
    let output = promote(&proxy.url(), &repo, &[]).run();
    let newer = newer.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(
        newer.len(),
        40,
        "the racing push happened: {}",
        output.stderr
    );
    // The newer head has no status: after Gitea's refusal the re-plan waits.
    assert_eq!(
        output.status,
        1,
        "{}\n{}\n{}",
        output.stdout,
        output.stderr,
        g.log_tail()
    );
    let json = output.json();
    assert_eq!(json["plan"], "waiting", "{json}");
    assert_eq!(json["from_sha"], newer.as_str());
    assert!(
        output.stderr.contains("head out of date")
            || json["reasons"].to_string().contains("refused"),
        "{}",
        output.stderr
    );
    assert_eq!(repo.tip("main"), main, "main never got an unchecked commit");
    assert_ne!(repo.tip("main"), s);
}

fn pending_checks_required_by_protection_are_scheduled_then_merged_by_gitea(g: &RealGitea) {
    let (repo, s) = world(g, "promote-schedule");
    let main = repo.tip("main");
    repo.protect_main(&[CI]);
    status(&repo, &s, CI, "pending");
    let output = promote(&g.url, &repo, &[]).run();
    assert_eq!(
        output.status,
        0,
        "{}\n{}\n{}",
        output.stdout,
        output.stderr,
        g.log_tail()
    );
    assert_eq!(output.json()["plan"], "scheduled", "{}", output.stdout);
    assert_eq!(repo.tip("main"), main);
    // The check turns green: Gitea itself merges.
    status(&repo, &s, CI, "success");
    repo.wait_tip("main", &s, "Gitea never merged the scheduled promotion");
}

fn via_push_by_an_allowlisted_account(g: &RealGitea) {
    let (repo, s) = world(g, "promote-push");
    g.admin(
        "POST",
        &repo.path("/branch_protections"),
        Some(json!({
            "branch_name": "main",
            "rule_name": "main",
            "enable_push": true,
            "enable_push_whitelist": true,
            "push_whitelist_usernames": [PROMOTER],
        })),
    );
    status(&repo, &s, CI, "success");
    let output = promote(&g.url, &repo, &["--via", "push"]).run();
    assert_eq!(output.status, 0, "{}\n{}", output.stdout, output.stderr);
    assert_eq!(output.json()["plan"], "promoted");
    assert_eq!(repo.tip("main"), s);
    // Someone off the allowlist gets Gitea's refusal and the runbook.
    let (repo, s) = world(g, "promote-push-refused");
    g.admin(
        "POST",
        &repo.path("/branch_protections"),
        Some(json!({
            "branch_name": "main",
            "rule_name": "main",
            "enable_push": true,
            "enable_push_whitelist": true,
            "push_whitelist_usernames": ["alice"],
        })),
    );
    status(&repo, &s, CI, "success");
    let main = repo.tip("main");
    let output = promote(&g.url, &repo, &["--via", "push"]).refused();
    let error = one_error(&output);
    assert!(
        error.contains("Not allowed to push to protected branch main"),
        "{error}"
    );
    assert_eq!(repo.tip("main"), main);
}

fn an_account_off_main_s_merge_allowlist_gets_gitea_s_refusal(g: &RealGitea) {
    let (repo, s) = world(g, "promote-allowlist");
    let main = repo.tip("main");
    g.admin(
        "POST",
        &repo.path("/branch_protections"),
        Some(json!({
            "branch_name": "main",
            "rule_name": "main",
            "enable_push": false,
            "enable_merge_whitelist": true,
            "merge_whitelist_usernames": ["alice"],
            "enable_status_check": true,
            "status_check_contexts": [CI],
        })),
    );
    status(&repo, &s, CI, "success");
    let output = promote(&g.url, &repo, &[]).run();
    assert_eq!(output.status, 1, "{}\n{}", output.stdout, output.stderr);
    let json = output.json();
    assert_eq!(json["plan"], "blocked", "{json}");
    let error = one_error(&output);
    assert!(error.contains("merge refused"), "{error}");
    assert_eq!(repo.tip("main"), main);
    assert_eq!(
        json["contexts"][0]["required_by"],
        json!(["config", "protection"])
    );
}

// ---- parity: the same promotion against the fake mirror ---------------------------------

/// The promotion world of [`world`] on the real server, mirrored into the fake with the
/// same names and SHAs; the same promote run against both makes the same API requests,
/// and the answers of the routes promote reads agree in shape (see `parity.rs`).
fn a_promotion_makes_the_same_requests_on_the_fake_and_the_real_server(g: &RealGitea) {
    let (repo, s) = world(g, "promote-parity");
    let m = repo.tip("main");
    status(&repo, &s, CI, "success");
    let fake = FakeGitea::start();
    const TOKEN: &str = "tok-parity-promoter";
    fake.add_user(PROMOTER, TOKEN);
    fake.add_repo(&repo.full);
    fake.add_commit(&repo.full, &m, &[]);
    fake.add_commit(&repo.full, &s, &[&m]);
    fake.set_branch(&repo.full, "main", &m);
    fake.set_branch(&repo.full, "staging", &s);
    fake.set_file(
        &repo.full,
        "main",
        ".gitea/shipgate.yml",
        &format!("promote:\n  required_contexts: [\"{CI}\"]\n"),
    );
    fake.add_status(
        &repo.full,
        &s,
        StatusRow {
            state: "success".into(),
            context: CI.into(),
            description: "ci".into(),
            target_url: String::new(),
            creator: "status-bot".into(),
        },
    );
    if g.version.starts_with("1.22") {
        fake.compare_names_only();
    }

    // The answers promote reads, before anything is written.
    let reads = [
        repo.path(""),
        repo.path("/branches/main"),
        repo.path("/branches/staging"),
        repo.path(&format!("/compare/{s}...{m}")),
        repo.path("/compare/staging...main"),
        repo.path(&format!("/statuses/{s}?limit=50&page=1")),
        repo.path("/pulls?state=open&limit=50&page=1"),
    ];
    let mut problems = Vec::new();
    for path in &reads {
        let (status, headers, body) = g.call("GET", path, Some(g.token(PROMOTER)), None);
        let real = Shape::of(status, &headers, &body);
        let (status, headers, body) = fake_get(&fake, path, Some(TOKEN));
        let faked = Shape::of(status, &headers, &body);
        for difference in differences(&faked, &real) {
            problems.push(format!("{path}: {difference}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} divergence(s) on {}:\n{}",
        problems.len(),
        g.name,
        problems.join("\n")
    );

    let real = promote(&g.url, &repo, &[]).run();
    assert_eq!(real.status, 0, "{}\n{}", real.stdout, real.stderr);
    let faked = Test::new()
        .args(&["promote", "--format", "json", "-v"])
        .server(&fake.url())
        .repo(&repo.full)
        .token(TOKEN)
        .success();
    assert_eq!(real.json()["plan"], "promoted");
    assert_eq!(faked.json()["plan"], "promoted");
    let (real_requests, fake_requests) = (real.api_requests(), faked.api_requests());
    assert_eq!(
        fake_requests, real_requests,
        "API requests differ between the fake and {}",
        g.name
    );
    eprintln!(
        "{}: promote made {} API requests",
        g.name,
        real_requests.len()
    );
    assert_eq!(repo.tip("main"), s);
    assert_eq!(fake.branch(&repo.full, "main"), Some(s));
}

real_gitea_tests!(
    a_promotion_makes_the_same_requests_on_the_fake_and_the_real_server,
    an_account_off_main_s_merge_allowlist_gets_gitea_s_refusal,
    green_staging_is_promoted_and_main_is_s,
    one_pending_context_waits_and_main_is_unchanged,
    one_failure_blocks,
    main_not_in_staging_is_refused,
    a_token_without_repository_scope_cannot_verify_and_writes_nothing,
    staging_moving_before_the_merge_is_refused_by_gitea,
    pending_checks_required_by_protection_are_scheduled_then_merged_by_gitea,
    gates_missing_on_staging_are_scheduled_on_the_promotion_pr,
    via_push_by_an_allowlisted_account,
);

// ---- the racing proxy --------------------------------------------------------------------

/// Forwards everything to Gitea; before the first `POST …/merge` is forwarded it runs
/// `race` (on a plain thread, so the harness's blocking client may be used).
struct Proxy {
    server: Background,
}

type Race = Arc<dyn Fn() + Send + Sync>;

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    race: Race,
    fired: AtomicBool,
}

impl Proxy {
    fn start(upstream: &str, race: impl Fn() + Send + Sync + 'static) -> Proxy {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let state = Arc::new(ProxyState {
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
            race: Arc::new(race),
            fired: AtomicBool::new(false),
        });
        let app = axum::Router::new().fallback(forward).with_state(state);
        Proxy {
            server: Background::serve("merge-proxy", app),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }
}

async fn forward(
    axum::extract::State(state): axum::extract::State<Arc<ProxyState>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    if method == axum::http::Method::POST
        && path.ends_with("/merge")
        && !state.fired.swap(true, Ordering::SeqCst)
    {
        let race = Arc::clone(&state.race);
        let _ = tokio::task::spawn_blocking(move || {
            let _ = std::thread::spawn(move || race()).join();
        })
        .await;
    }
    let mut outgoing = state.http.request(
        reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("method"),
        format!("{}{path}", state.upstream),
    );
    for name in [
        "authorization",
        "content-type",
        "accept",
        "user-agent",
        "git-protocol",
    ] {
        if let Some(value) = headers.get(name) {
            outgoing = outgoing.header(name, value.as_bytes());
        }
    }
    let answer = match outgoing.body(body.to_vec()).send().await {
        Ok(answer) => answer,
        Err(e) => {
            return axum::response::Response::builder()
                .status(502)
                .body(axum::body::Body::from(format!("proxy: {e}")))
                .expect("a response")
        }
    };
    let mut response = axum::response::Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "transfer-encoding" | "connection" | "content-length"
        ) {
            response = response.header(name.as_str(), value.as_bytes());
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    response
        .body(axum::body::Body::from(bytes))
        .expect("a response")
}
