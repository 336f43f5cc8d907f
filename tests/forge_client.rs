//! Integration tests: forge_client. Drives `shipgate::forge::Client` against the fake Gitea,
//! one test per error class and per injected fault; each asserts the typed error and the
//! exit code it maps to (2, never 0).

use std::time::{Duration, Instant};

use serde_json::json;
use shipgate::{
    context::{RepoRef, Secret},
    forge::{Client, CreateStatus, Error, Options},
};

use crate::support::fake_gitea::{FakeGitea, Fault, FaultKind, FileSpec, PrSpec};

const REPO: &str = "acme/app";
const TOKEN: &str = "tok-alice-5f2c9";
const FILES: &str = "GET /repos/{owner}/{repo}/pulls/{index}/files";
const PULL: &str = "GET /repos/{owner}/{repo}/pulls/{index}";
const ATTEMPTS: u32 = 3;

fn repo() -> RepoRef {
    RepoRef::parse(REPO).expect("valid repo")
}

fn options() -> Options {
    Options {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        attempts: ATTEMPTS,
        backoff: Duration::from_millis(5),
        max_backoff: Duration::from_secs(3),
        page_concurrency: 4,
    }
}

/// A fake with alice's token, repo acme/app and PR 7 (with `files` changed files).
fn fake_with_pr(files: usize) -> FakeGitea {
    let fake = FakeGitea::start();
    fake.add_user("alice", TOKEN);
    fake.add_org_owner("acme", "alice");
    fake.add_repo(REPO);
    fake.add_pr(
        REPO,
        PrSpec {
            number: 7,
            author: "bob".into(),
            ..PrSpec::default()
        },
    );
    fake.set_files(
        REPO,
        7,
        (0..files)
            .map(|i| FileSpec::new(&format!("src/f{i:03}.rs"), "changed", 1, 1))
            .collect(),
    );
    fake
}

fn client(fake: &FakeGitea, token: &str) -> Client {
    Client::new(&fake.api_url(), Secret::new(token), options()).expect("client")
}

/// A client whose requests do not time out on a loaded machine, for tests that count the
/// requests sent (a timeout would add a retry).
fn patient_client(fake: &FakeGitea, token: &str) -> Client {
    let options = Options {
        timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(30),
        ..options()
    };
    Client::new(&fake.api_url(), Secret::new(token), options).expect("client")
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// The exit code a forge error maps to through the top-level error.
fn exit_code(error: Error) -> i32 {
    shipgate::Error::from(error).exit_code()
}

#[track_caller]
fn assert_protocol<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(e @ Error::Protocol { .. }) => assert_eq!(exit_code(e), 2),
        other => panic!("expected Protocol, got {other:?}"),
    }
}

#[test]
fn current_user_answers_the_token_owner() {
    let fake = fake_with_pr(0);
    let user = block_on(client(&fake, TOKEN).current_user()).expect("user");
    assert_eq!(user.login, "alice");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].route, "/user");
    assert_eq!(requests[0].login.as_deref(), Some("alice"));
    assert!(fake.unmatched().is_empty());
}

#[test]
fn unknown_token_is_unauthorized_and_not_retried() {
    let fake = fake_with_pr(0);
    let error = block_on(client(&fake, "tok-revoked").current_user()).expect_err("401");
    assert!(
        matches!(&error, Error::Unauthorized { message, .. } if message == "token is required"),
        "{error:?}"
    );
    assert!(!error.to_string().contains("tok-revoked"), "{error}");
    assert_eq!(exit_code(error), 2);
    assert_eq!(fake.requests().len(), 1, "a 401 is never retried");
}

#[test]
fn forbidden_write_is_typed() {
    let fake = fake_with_pr(0);
    fake.read_only("alice");
    let label = fake.add_repo_label(REPO, "tier:low", "00aa00");
    let error =
        block_on(client(&fake, TOKEN).add_issue_labels(&repo(), 7, &[label])).expect_err("403");
    assert!(matches!(error, Error::Forbidden { .. }), "{error:?}");
    assert!(error.to_string().contains("required scope"), "{error}");
    assert_eq!(exit_code(error), 2);
    assert!(fake.issue_label_names(REPO, 7).is_empty());
    assert_eq!(fake.requests().len(), 1, "a 403 is never retried");
}

#[test]
fn forbidden_injected_on_a_read() {
    let fake = fake_with_pr(0);
    fake.fault(Fault::new(PULL, FaultKind::Status(403)));
    let error = block_on(client(&fake, TOKEN).pull(&repo(), 7)).expect_err("403");
    assert!(matches!(error, Error::Forbidden { .. }), "{error:?}");
    assert_eq!(exit_code(error), 2);
}

#[test]
fn not_found_is_typed_except_where_the_caller_expects_it() {
    let fake = fake_with_pr(0);
    let team = fake.add_team("acme", "qa", &["carol"]);
    let client = client(&fake, TOKEN);
    let error = block_on(client.pull(&repo(), 999)).expect_err("404");
    assert!(error.is_not_found(), "{error:?}");
    assert_eq!(exit_code(error), 2);
    assert_eq!(fake.requests().len(), 1, "a 404 is never retried");

    // The member probe and the file read turn a 404 into a verified answer.
    assert!(block_on(client.is_team_member(team, "carol")).expect("probe"));
    assert!(!block_on(client.is_team_member(team, "mallory")).expect("probe"));
    assert_eq!(
        block_on(client.file_at(&repo(), ".gitea/shipgate.yml", "main")).expect("read"),
        None
    );
    fake.set_file(REPO, "main", ".gitea/shipgate.yml", "tier: {}\n");
    assert_eq!(
        block_on(client.file_at(&repo(), ".gitea/shipgate.yml", "main")).expect("read"),
        Some(b"tier: {}\n".to_vec())
    );
}

#[test]
fn team_probe_errors_other_than_404_stay_errors() {
    let fake = fake_with_pr(0);
    let team = fake.add_team("acme", "qa", &["carol"]);
    fake.fault(Fault::new(
        "GET /teams/{id}/members/{username}",
        FaultKind::Status(403),
    ));
    let error = block_on(client(&fake, TOKEN).is_team_member(team, "carol")).expect_err("403");
    assert!(matches!(error, Error::Forbidden { .. }), "{error:?}");
    assert_eq!(exit_code(error), 2);
}

#[test]
fn conflict_is_typed() {
    let fake = fake_with_pr(0);
    fake.fault(Fault::new(
        "POST /repos/{owner}/{repo}/statuses/{sha}",
        FaultKind::Status(409),
    ));
    let status = CreateStatus {
        state: "pending".into(),
        context: "qa".into(),
        description: "waiting".into(),
        target_url: String::new(),
    };
    let error = block_on(client(&fake, TOKEN).create_status(&repo(), &"1".repeat(40), &status))
        .expect_err("409");
    assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
    assert_eq!(exit_code(error), 2);
    assert_eq!(fake.requests().len(), 1, "a 409 is never retried");
}

#[test]
fn unprocessable_is_typed() {
    let fake = fake_with_pr(0);
    // A real 422 from the fake: Gitea rejects a color that is not hex.
    let error = block_on(client(&fake, TOKEN).create_label(&repo(), "tier:low", "green", ""))
        .expect_err("422");
    assert!(
        matches!(&error, Error::Unprocessable { message, .. } if message.contains("green")),
        "{error:?}"
    );
    assert_eq!(exit_code(error), 2);
    assert!(fake.repo_label_names(REPO).is_empty());
}

#[test]
fn server_errors_after_retries_are_transient() {
    for code in [500, 502, 503, 504] {
        let fake = fake_with_pr(3);
        fake.fault(Fault::new(FILES, FaultKind::Status(code)));
        let error = block_on(client(&fake, TOKEN).pull_files(&repo(), 7)).expect_err("5xx");
        match &error {
            Error::Transient {
                attempts, detail, ..
            } => {
                assert_eq!(*attempts, ATTEMPTS, "{code}");
                assert!(detail.contains(&code.to_string()), "{detail}");
            }
            other => panic!("{code}: expected Transient, got {other:?}"),
        }
        assert!(error.is_transient());
        assert_eq!(exit_code(error), 2);
        assert_eq!(
            fake.requests_to(FILES).len(),
            ATTEMPTS as usize,
            "{code}: one request per attempt"
        );
    }
}

#[test]
fn too_many_requests_honours_retry_after() {
    let fake = fake_with_pr(3);
    fake.fault(
        Fault::new(FILES, FaultKind::Status(429))
            .times(1)
            .retry_after(1),
    );
    let started = Instant::now();
    let files = block_on(client(&fake, TOKEN).pull_files(&repo(), 7)).expect("recovers");
    let elapsed = started.elapsed();
    assert_eq!(files.len(), 3);
    assert!(
        elapsed >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured: retried after {elapsed:?}"
    );
    // Only a lower bound: a loaded machine may take longer, never shorter.
    assert_eq!(fake.requests_to(FILES).len(), 2);
}

#[test]
fn too_many_requests_every_time_is_transient() {
    let fake = fake_with_pr(0);
    fake.fault(Fault::new(PULL, FaultKind::Status(429)));
    let error = block_on(client(&fake, TOKEN).pull(&repo(), 7)).expect_err("429");
    assert!(
        matches!(error, Error::Transient { attempts, .. } if attempts == ATTEMPTS),
        "{error:?}"
    );
    assert_eq!(exit_code(error), 2);
}

#[test]
fn a_fault_on_the_first_attempt_only_recovers() {
    let fake = fake_with_pr(0);
    fake.fault(Fault::new(PULL, FaultKind::Status(503)).times(1));
    let pull = block_on(client(&fake, TOKEN).pull(&repo(), 7)).expect("recovers");
    assert_eq!(pull.number, 7);
    assert_eq!(pull.user.login, "bob");
    let statuses: Vec<u16> = fake.requests_to(PULL).iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 200]);
}

#[test]
fn a_delay_beyond_the_timeout_is_transient() {
    let fake = fake_with_pr(0);
    fake.fault(Fault::new(PULL, FaultKind::Delay(Duration::from_secs(2))));
    let error = block_on(client(&fake, TOKEN).pull(&repo(), 7)).expect_err("timeout");
    match &error {
        Error::Transient {
            attempts, detail, ..
        } => {
            assert_eq!(*attempts, ATTEMPTS);
            assert!(detail.contains("timed out"), "{detail}");
        }
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(exit_code(error), 2);
    // Each attempt gave up on its own timeout (the answer would have come, late): no
    // bound on the wall time, which a loaded machine can stretch.
    assert_eq!(fake.requests_to(PULL).len(), ATTEMPTS as usize);
}

#[test]
fn a_delay_within_the_timeout_is_fine() {
    let fake = fake_with_pr(0);
    fake.fault(Fault::new(
        PULL,
        FaultKind::Delay(Duration::from_millis(300)),
    ));
    let patient = Options {
        timeout: Duration::from_secs(5),
        ..options()
    };
    let client = Client::new(&fake.api_url(), Secret::new(TOKEN), patient).expect("client");
    block_on(client.pull(&repo(), 7)).expect("slow but in time");
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn connection_refused_is_transient() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let client = Client::new(
        &format!("http://127.0.0.1:{port}/api/v1"),
        Secret::new(TOKEN),
        options(),
    )
    .expect("client");
    let error = block_on(client.current_user()).expect_err("refused");
    assert!(
        matches!(&error, Error::Transient { attempts, .. } if *attempts == ATTEMPTS),
        "{error:?}"
    );
    assert_eq!(exit_code(error), 2);
}

#[test]
fn malformed_body_is_protocol() {
    let fake = fake_with_pr(3);
    fake.fault(Fault::new(PULL, FaultKind::Malformed));
    assert_protocol(block_on(client(&fake, TOKEN).pull(&repo(), 7)));
    fake.fault(Fault::new(FILES, FaultKind::Malformed));
    assert_protocol(block_on(client(&fake, TOKEN).pull_files(&repo(), 7)));
    assert_eq!(fake.requests().len(), 2, "bad JSON is not retried");
}

#[test]
fn body_of_the_wrong_shape_is_protocol() {
    let fake = fake_with_pr(0);
    // A review without the `state` the client requires.
    fake.add_review(REPO, 7, json!({"user": {"login": "carol"}, "state": null}));
    assert_protocol(block_on(client(&fake, TOKEN).pull_reviews(&repo(), 7)));
}

#[test]
fn a_truncated_tree_listing_is_protocol() {
    let fake = fake_with_pr(0);
    fake.set_file(REPO, "main", ".gitea/workflows/a.yml", "on: push\n");
    let listed = block_on(client(&fake, TOKEN).tree(&repo(), "main")).expect("tree");
    assert_eq!(
        listed
            .tree
            .unwrap_or_default()
            .iter()
            .map(|e| e.path.as_str())
            .collect::<Vec<_>>(),
        [".gitea"]
    );
    fake.truncate_trees();
    assert_protocol(block_on(client(&fake, TOKEN).tree(&repo(), "main")));
}

#[test]
fn truncated_page_is_protocol() {
    for (files, page) in [(3, 1), (120, 1), (120, 2), (120, 3)] {
        let fake = fake_with_pr(files);
        fake.fault(Fault::new(FILES, FaultKind::TruncatePage).page(page));
        let result = block_on(client(&fake, TOKEN).pull_files(&repo(), 7));
        assert!(
            matches!(result, Err(Error::Protocol { .. })),
            "{files} files, page {page} short: {result:?}"
        );
        assert_protocol(result);
    }
}

#[test]
fn wrong_total_is_protocol() {
    for (files, delta) in [(3, 1), (3, -1), (120, 1), (120, -1), (100, 50), (3, -3)] {
        let fake = fake_with_pr(files);
        fake.fault(Fault::new(FILES, FaultKind::WrongTotal(delta)));
        let result = block_on(client(&fake, TOKEN).pull_files(&repo(), 7));
        assert!(
            matches!(result, Err(Error::Protocol { .. })),
            "{files} files, X-Total-Count off by {delta}: {result:?}"
        );
    }
}

#[test]
fn total_changing_between_pages_is_protocol() {
    let fake = fake_with_pr(120);
    fake.fault(Fault::new(FILES, FaultKind::WrongTotal(1)).page(3));
    assert_protocol(block_on(client(&fake, TOKEN).pull_files(&repo(), 7)));
}

#[test]
fn missing_total_is_protocol() {
    let fake = fake_with_pr(3);
    fake.fault(Fault::new(FILES, FaultKind::NoTotal));
    assert_protocol(block_on(client(&fake, TOKEN).pull_files(&repo(), 7)));
}

#[test]
fn a_server_with_a_smaller_page_cap_still_lists_everything() {
    // `[api] MAX_RESPONSE_ITEMS = 30`: Gitea caps `limit=50` to 30 without saying so.
    let fake = fake_with_pr(120);
    fake.set_max_items(30);
    let files = block_on(patient_client(&fake, TOKEN).pull_files(&repo(), 7)).expect("files");
    let names: Vec<String> = files.iter().map(|f| f.filename.clone()).collect();
    let expected: Vec<String> = (0..120).map(|i| format!("src/f{i:03}.rs")).collect();
    assert_eq!(names, expected);
    assert_eq!(fake.requests_to(FILES).len(), 4, "120 items at 30 per page");
}

#[test]
fn a_smaller_page_cap_does_not_hide_a_truncated_page() {
    let fake = fake_with_pr(120);
    fake.set_max_items(30);
    fake.fault(Fault::new(FILES, FaultKind::TruncatePage).page(3));
    let err = block_on(client(&fake, TOKEN).pull_files(&repo(), 7)).expect_err("short page");
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
    // A truncated FIRST page looks like a smaller cap; the later pages expose it.
    let fake = fake_with_pr(120);
    fake.fault(Fault::new(FILES, FaultKind::TruncatePage).page(1));
    let err = block_on(client(&fake, TOKEN).pull_files(&repo(), 7)).expect_err("short page");
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
    assert_eq!(shipgate::Error::from(err).exit_code(), 2);
}

#[test]
fn three_pages_arrive_complete_and_in_order() {
    let fake = fake_with_pr(120);
    // Later pages answer first: order must come from the page number, not arrival.
    fake.fault(Fault::new(FILES, FaultKind::Delay(Duration::from_millis(150))).page(2));
    let files = block_on(client(&fake, TOKEN).pull_files(&repo(), 7)).expect("files");
    let names: Vec<String> = files.iter().map(|f| f.filename.clone()).collect();
    let expected: Vec<String> = (0..120).map(|i| format!("src/f{i:03}.rs")).collect();
    assert_eq!(names, expected);
    assert!(files.iter().all(|f| f.status == "changed"));
    let mut pages: Vec<(String, String)> = fake
        .requests_to(FILES)
        .iter()
        .map(|r| {
            (
                r.query_param("page").unwrap_or_default(),
                r.query_param("limit").unwrap_or_default(),
            )
        })
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        vec![
            ("1".into(), "50".into()),
            ("2".into(), "50".into()),
            ("3".into(), "50".into())
        ]
    );
}

#[test]
fn exactly_fifty_fetches_one_page() {
    let fake = fake_with_pr(50);
    let files = block_on(client(&fake, TOKEN).pull_files(&repo(), 7)).expect("files");
    assert_eq!(files.len(), 50);
    assert_eq!(fake.requests_to(FILES).len(), 1);
}

#[test]
fn create_label_is_not_retried_on_500() {
    let fake = fake_with_pr(0);
    fake.fault(Fault::new(
        "POST /repos/{owner}/{repo}/labels",
        FaultKind::Status(500),
    ));
    let error = block_on(client(&fake, TOKEN).create_label(&repo(), "tier:low", "00aa00", ""))
        .expect_err("500");
    assert!(
        matches!(error, Error::Transient { attempts: 1, .. }),
        "{error:?}"
    );
    assert_eq!(exit_code(error), 2);
    assert_eq!(
        fake.requests_to("POST /repos/{owner}/{repo}/labels").len(),
        1,
        "a non-idempotent create must be sent once"
    );
}

#[test]
fn create_label_is_not_retried_after_a_timeout() {
    let fake = fake_with_pr(0);
    // The server creates the label but answers too late: a retry would duplicate it.
    fake.fault(Fault::new(
        "POST /repos/{owner}/{repo}/labels",
        FaultKind::Delay(Duration::from_secs(1)),
    ));
    let error = block_on(client(&fake, TOKEN).create_label(&repo(), "tier:low", "00aa00", ""))
        .expect_err("timeout");
    assert!(
        matches!(error, Error::Transient { attempts: 1, .. }),
        "{error:?}"
    );
    assert_eq!(fake.repo_label_names(REPO), vec!["tier:low".to_owned()]);
}

#[test]
fn dispatch_is_not_retried_on_502() {
    let fake = fake_with_pr(0);
    fake.set_file(
        REPO,
        "main",
        ".gitea/workflows/qa.yml",
        "on: workflow_dispatch\n",
    );
    let key = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches";
    fake.fault(Fault::new(key, FaultKind::Status(502)));
    let error = block_on(client(&fake, TOKEN).dispatch_workflow(
        &repo(),
        "qa.yml",
        "main",
        &serde_json::Map::new(),
    ))
    .expect_err("502");
    assert!(
        matches!(error, Error::Transient { attempts: 1, .. }),
        "{error:?}"
    );
    assert_eq!(fake.requests_to(key).len(), 1);
    assert!(fake.dispatches().is_empty());
}

#[test]
fn authorization_header_carries_the_token_and_urls_never_do() {
    let fake = fake_with_pr(60);
    let client = client(&fake, TOKEN);
    block_on(async {
        client.current_user().await.expect("user");
        client.pull_files(&repo(), 7).await.expect("files");
        client
            .file_at(&repo(), "docs/a b?.md", "main")
            .await
            .expect("read");
    });
    let requests = fake.requests();
    assert_eq!(requests.len(), 4);
    for request in &requests {
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("token {TOKEN}").as_str())
        );
        assert!(!request.path.contains(TOKEN), "{}", request.path);
        assert!(!request.query.contains(TOKEN), "{}", request.query);
        assert!(!request.query.contains("token"), "{}", request.query);
    }
    assert!(fake.unmatched().is_empty(), "{:?}", fake.unmatched());
}

#[test]
fn path_segments_are_encoded() {
    let fake = fake_with_pr(0);
    fake.set_file(REPO, "main", "docs/a b?#.md", "hello");
    let client = client(&fake, TOKEN);
    let bytes = block_on(client.file_at(&repo(), "docs/a b?#.md", "main")).expect("read");
    assert_eq!(bytes, Some(b"hello".to_vec()));
    let sha = "3".repeat(40);
    fake.set_branch(REPO, "release/v1 #2", &sha);
    let branch = block_on(client.branch(&repo(), "release/v1 #2")).expect("branch");
    assert_eq!(branch.commit.id, sha);
    assert!(fake.unmatched().is_empty(), "{:?}", fake.unmatched());
}

#[test]
fn statuses_list_in_index_order() {
    let fake = fake_with_pr(0);
    let sha = "1".repeat(40);
    let client = client(&fake, TOKEN);
    for state in ["pending", "success"] {
        let status = CreateStatus {
            state: state.into(),
            context: "qa-review / approved (pull_request_target)".into(),
            description: state.into(),
            target_url: String::new(),
        };
        let created = block_on(client.create_status(&repo(), &sha, &status)).expect("created");
        assert_eq!(created.status, state);
        assert_eq!(
            created.creator.as_ref().map(|u| u.login.as_str()),
            Some("alice")
        );
    }
    let listed = block_on(client.statuses(&repo(), &sha)).expect("list");
    let states: Vec<&str> = listed.iter().map(|s| s.status.as_str()).collect();
    // Asked for in index order (`sort=leastindex`, which Gitea sorts `index DESC`): its
    // default order has no tie-breaker.
    assert_eq!(states, vec!["success", "pending"]);
    let stored: Vec<String> = fake
        .statuses(REPO, &sha)
        .into_iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(stored, vec!["pending", "success"]);
}

#[test]
fn labels_round_trip_with_gitea_quirks() {
    let fake = fake_with_pr(0);
    let client = client(&fake, TOKEN);
    let low =
        block_on(client.create_label(&repo(), "tier:low", "#0a0", "low risk")).expect("create");
    assert_eq!(low.color, "00aa00");
    // Duplicate names are accepted, as in Gitea.
    block_on(client.create_label(&repo(), "tier:low", "00aa00", "")).expect("duplicate");
    assert_eq!(fake.repo_label_names(REPO), vec!["tier:low", "tier:low"]);
    // Unknown ids are ignored.
    let labels = block_on(client.add_issue_labels(&repo(), 7, &[low.id, 99_999])).expect("add");
    assert_eq!(labels.len(), 1);
    assert_eq!(fake.issue_label_names(REPO, 7), vec!["tier:low"]);
    let timeline = block_on(client.issue_timeline(&repo(), 7)).expect("timeline");
    let row = timeline
        .iter()
        .find(|t| t.kind == "label")
        .expect("a label row");
    assert_eq!(row.user.as_ref().map(|u| u.login.as_str()), Some("alice"));
    assert_eq!(row.body, "1");
    block_on(client.remove_issue_label(&repo(), 7, low.id)).expect("remove");
    assert!(fake.issue_label_names(REPO, 7).is_empty());
    let error = block_on(client.remove_issue_label(&repo(), 7, 99_999)).expect_err("422");
    assert!(matches!(error, Error::Unprocessable { .. }), "{error:?}");
}

#[test]
fn a_token_that_cannot_be_a_header_is_a_setup_error_not_a_retry() {
    let fake = fake_with_pr(0);
    let error = match Client::new(&fake.api_url(), Secret::new("tok\nsecret"), options()) {
        Ok(_) => panic!("a newline in the token must be refused"),
        Err(e) => e,
    };
    assert!(matches!(error, Error::Setup { .. }), "{error:?}");
    assert!(!error.to_string().contains("secret"), "{error}");
    assert_eq!(exit_code(error), 2);
    assert!(fake.requests().is_empty());
}

#[test]
fn user_identity_is_what_the_fake_was_told() {
    let fake = fake_with_pr(0);
    fake.set_user_details("alice", "Alice Liddell", "alice@wonder.land");
    fake.add_user(crate::support::fake_gitea::ACTIONS_USER, "tok-actions");
    let alice = block_on(client(&fake, TOKEN).current_user()).expect("user");
    assert_eq!(
        (alice.full_name.as_str(), alice.email.as_str()),
        ("Alice Liddell", "alice@wonder.land")
    );
    let bot = block_on(client(&fake, "tok-actions").current_user()).expect("user");
    assert_eq!((bot.id, bot.login.as_str()), (-2, "gitea-actions"));
    assert_eq!(bot.email, "teabot@gitea.io");
}
