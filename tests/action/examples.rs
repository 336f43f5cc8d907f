//! the examples, end to end.

use super::*;

pub(super) const READ_TOKEN: &str = "tok-reader-4b1e";
pub(super) const WRITE_TOKEN: &str = "tok-writer-90aa";
pub(super) const QA_CONTEXT: &str = "qa-review / approved (pull_request_target)";
pub(super) const SECURITY_CONTEXT: &str = "security-review / approved (pull_request_target)";

pub(super) fn sha(c: char) -> String {
    c.to_string().repeat(40)
}

/// PR #7 of acme/app by alice, labeled tier:low, approved on its head by erin (engineers),
/// quinn (qa) and sam (security): both review gates are earned. `reader` owns the read
/// token, `writer` the status token.
pub(super) fn approved_pull_request(fake: &FakeGitea) {
    fake.add_user("reader", READ_TOKEN);
    fake.add_org_owner("acme", "reader");
    fake.add_user("writer", WRITE_TOKEN);
    fake.add_pr(
        APP_REPO,
        PrSpec {
            number: 7,
            author: "alice".into(),
            head_sha: sha('a'),
            base_sha: sha('b'),
            base_ref: "main".into(),
            head_ref: "feature".into(),
            ..PrSpec::default()
        },
    );
    fake.add_team("acme", "engineers", &["erin"]);
    fake.add_team("acme", "managers", &["mona"]);
    fake.add_team("acme", "executive", &["ed"]);
    fake.add_team("acme", "qa", &["quinn"]);
    fake.add_team("acme", "security", &["sam"]);
    let low = fake.add_repo_label(APP_REPO, "tier:low", "00aa00");
    fake.add_issue_label(APP_REPO, 7, low, "mona");
    for login in ["erin", "quinn", "sam"] {
        fake.add_review(
            APP_REPO,
            7,
            json!({
                "user": {"login": login}, "state": "APPROVED", "body": "",
                "commit_id": sha('a'), "official": true, "stale": false, "dismissed": false,
            }),
        );
    }
}

/// Gitea's `pull_request_review` payload: `review` has only `type` and `content`.
pub(super) fn review_event() -> Value {
    let mut event = pull_request_event(7, "reviewed");
    event["pull_request"]["head"]["sha"] = json!(sha('a'));
    event["pull_request"]["base"]["sha"] = json!(sha('b'));
    event["review"] = json!({"type": "pull_request_review_approved", "content": "lgtm"});
    event["sender"] = json!({"login": "sam", "username": "sam"});
    event
}

/// Gitea's `issue_comment` payload for a comment on PR #7.
pub(super) fn comment_event(body: &str) -> Value {
    json!({
        "action": "created",
        "issue": {"number": 7, "title": "change things", "state": "open",
                  "user": {"login": "alice"}, "pull_request": {"merged": false, "draft": false}},
        "comment": {"id": 31, "body": body, "user": {"login": "olga"}},
        "repository": {"full_name": APP_REPO, "name": "app", "owner": {"login": "acme"},
                       "default_branch": "main"},
        "sender": {"login": "olga", "username": "olga"},
        "is_pull": true,
    })
}

#[test]
fn act_review_fire_example_posts_both_gate_statuses() {
    let package = package();
    let fake = forge_with_release(package);
    approved_pull_request(&fake);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let flow = example("review-fire.yml");

    let run = Act::new(&flow, "pull_request_review", action.path(), cache.path())
        .server(&fake.url())
        .payload(review_event())
        .secret("SHIPGATE_READ_TOKEN", READ_TOKEN)
        .secret("SHIPGATE_STATUS_TOKEN", WRITE_TOKEN)
        .run()
        .success();
    run.contains("Success - Main acme/shipgate@v1");
    let posted: Vec<(String, String, String)> = fake
        .statuses(APP_REPO, &sha('a'))
        .into_iter()
        .map(|row| (row.context, row.state, row.creator))
        .collect();
    for context in [QA_CONTEXT, SECURITY_CONTEXT] {
        assert!(
            posted.contains(&(
                context.to_owned(),
                "success".to_owned(),
                "writer".to_owned()
            )),
            "{context} success by writer, got {posted:?}\n{}",
            run.log
        );
    }
    assert!(
        fake.statuses(APP_REPO, &sha('b')).is_empty(),
        "never on the base"
    );
    let reads_by_reader = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.route.starts_with("/repos/"))
        .all(|r| r.login.as_deref() == Some("reader"));
    assert!(reads_by_reader, "API reads use the read token");
    assert_eq!(fake.unmatched(), Vec::<String>::new());

    // A recheck comment runs the job (from the cache: no second download).
    let before = fake.requests().len();
    Act::new(&flow, "issue_comment", action.path(), cache.path())
        .server(&fake.url())
        .payload(comment_event("/qa-recheck please"))
        .secret("SHIPGATE_READ_TOKEN", READ_TOKEN)
        .secret("SHIPGATE_STATUS_TOKEN", WRITE_TOKEN)
        .run()
        .success()
        .contains("Success - Main acme/shipgate@v1");
    assert!(
        fake.requests().len() > before,
        "the recheck read the PR again"
    );
    assert_eq!(
        downloads(&fake).len(),
        1,
        "the recheck used the cached binary"
    );

    // Any other comment is filtered out by the job's `if:` before the action runs.
    let before = fake.requests().len();
    Act::new(&flow, "issue_comment", action.path(), cache.path())
        .server(&fake.url())
        .payload(comment_event("looks good to me"))
        .secret("SHIPGATE_READ_TOKEN", READ_TOKEN)
        .secret("SHIPGATE_STATUS_TOKEN", WRITE_TOKEN)
        .run()
        .success()
        .lacks("Main acme/shipgate@v1");
    assert_eq!(
        fake.requests().len(),
        before,
        "a plain comment makes no request"
    );
}

#[test]
/// The statuses carry the verdict: without approvals both gates are `pending` and the job
/// is green, so a PR does not wear a red X until it is approved (the job turns red only
/// when the run could not post an honest verdict).
fn act_review_fire_example_without_approvals_posts_pending_and_passes_the_job() {
    let package = package();
    let fake = forge_with_release(package);
    fake.add_user("reader", READ_TOKEN);
    fake.add_org_owner("acme", "reader");
    fake.add_user("writer", WRITE_TOKEN);
    fake.add_pr(
        APP_REPO,
        PrSpec {
            number: 7,
            author: "alice".into(),
            head_sha: sha('a'),
            base_sha: sha('b'),
            base_ref: "main".into(),
            head_ref: "feature".into(),
            ..PrSpec::default()
        },
    );
    for team in ["engineers", "managers", "executive", "qa", "security"] {
        fake.add_team("acme", team, &["erin"]);
    }
    let low = fake.add_repo_label(APP_REPO, "tier:low", "00aa00");
    fake.add_issue_label(APP_REPO, 7, low, "mona");
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let mut event = pull_request_event(7, "opened");
    event["pull_request"]["head"]["sha"] = json!(sha('a'));
    let run = Act::new(
        &example("review-fire.yml"),
        "pull_request_target",
        action.path(),
        cache.path(),
    )
    .server(&fake.url())
    .payload(event)
    .secret("SHIPGATE_READ_TOKEN", READ_TOKEN)
    .secret("SHIPGATE_STATUS_TOKEN", WRITE_TOKEN)
    .run()
    .success();
    assert!(
        !run.log.contains("::error"),
        "no annotation for a posted verdict:\n{}",
        run.log
    );
    let states: Vec<(String, String)> = fake
        .statuses(APP_REPO, &sha('a'))
        .into_iter()
        .map(|row| (row.context, row.state))
        .collect();
    assert!(
        states.iter().all(|(_, state)| state == "pending"),
        "only pending statuses without approvals: {states:?}"
    );
    assert_eq!(states.len(), 2, "{states:?}");
}

pub(super) const PAT_TOKEN: &str = "tok-pat-2e77";

#[test]
fn act_auto_tier_example_labels_the_pull_request() {
    let package = package();
    let fake = forge_with_release(package);
    fake.add_user("pat", PAT_TOKEN);
    fake.add_pr(
        APP_REPO,
        PrSpec {
            number: 7,
            author: "alice".into(),
            head_sha: sha('1'),
            base_sha: sha('2'),
            base_ref: "main".into(),
            head_ref: "feature".into(),
            ..PrSpec::default()
        },
    );
    fake.set_files(
        APP_REPO,
        7,
        vec![
            FileSpec::new("README.md", "changed", 4, 1),
            FileSpec::new("docs/guide.md", "added", 20, 0),
        ],
    );
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");

    // The example as written: no SHIPGATE_TOKEN secret, so the automatic token labels.
    Act::new(
        &example("auto-tier.yml"),
        "pull_request_target",
        action.path(),
        cache.path(),
    )
    .server(&fake.url())
    .run()
    .success()
    .contains("Success - Main acme/shipgate@v1");
    assert_eq!(fake.issue_label_names(APP_REPO, 7), ["tier:low"]);
    let writes: Vec<(String, Option<String>)> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| (r.route, r.login))
        .collect();
    assert!(
        writes.iter().any(
            |(route, login)| route == "/repos/{owner}/{repo}/issues/{index}/labels"
                && login.as_deref() == Some("bot")
        ),
        "the label was added with the automatic token: {writes:?}"
    );

    // With the secret set, the PAT is used; the `tier` output reaches the workflow.
    let before = fake.requests().len();
    let flow = workflow(
        "pull_request_target",
        "mode: tier\ntoken: ${{ secrets.SHIPGATE_TOKEN || github.token }}\n",
        "",
        None,
    );
    Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .secret("SHIPGATE_TOKEN", PAT_TOKEN)
        .run()
        .success()
        .contains("observed-result=[ok]")
        .contains("observed-tier=[low]");
    let logins: Vec<Option<String>> = fake.requests()[before..]
        .iter()
        .filter(|r| r.route.starts_with("/repos/"))
        .map(|r| r.login.clone())
        .collect();
    assert!(!logins.is_empty());
    assert!(
        logins.iter().all(|l| l.as_deref() == Some("pat")),
        "{logins:?}"
    );
    assert_eq!(fake.issue_label_names(APP_REPO, 7), ["tier:low"]);
    assert_eq!(fake.unmatched(), Vec::<String>::new());
}

pub(super) const SYNC_TOKEN: &str = "tok-sync-51d2";

/// The fake serves the release and `GET /user` for `syncbot`; the git server holds
/// acme/app with main and staging diverged (no conflict): base → m1 on main, s1 on staging.
pub(super) fn sync_world(package: &Package) -> (FakeGitea, GitServer) {
    let fake = forge_with_release(package);
    fake.add_user("syncbot", SYNC_TOKEN);
    fake.set_user_details("syncbot", "Sync Bot", "syncbot@example.com");
    let git = GitServer::start();
    git.add_user("syncbot", SYNC_TOKEN);
    git.create_repo(APP_REPO);
    let commit = |mark: u32, branch: &str, from: Option<u32>, path: &str, text: &str| {
        let from = from.map_or(String::new(), |m| format!("from :{m}\n"));
        format!(
            "commit refs/heads/{branch}\nmark :{mark}\n\
             committer Dev <dev@example.com> {} +0000\ndata 2\nc{mark}\n{from}\
             M 100644 inline {path}\ndata {}\n{text}\n\n",
            1_700_000_000 + u64::from(mark) * 60,
            text.len()
        )
    };
    let stream = [
        commit(1, "main", None, "a.txt", "one\ntwo\n"),
        commit(2, "main", Some(1), "b.txt", "bee\n"),
        commit(3, "staging", Some(1), "c.txt", "sea\n"),
    ]
    .concat();
    git.fast_import(APP_REPO, &stream);
    (fake, git)
}

pub(super) fn push_event(git: &GitServer) -> Value {
    let main = git.rev(APP_REPO, "refs/heads/main").expect("main");
    json!({
        "ref": "refs/heads/main",
        "before": sha('0'),
        "after": main,
        "compare_url": "",
        "commits": [],
        "head_commit": null,
        "repository": {"full_name": APP_REPO, "name": "app", "owner": {"login": "acme"},
                       "default_branch": "main"},
        "pusher": {"login": "alice", "username": "alice"},
        "sender": {"login": "alice", "username": "alice"},
    })
}

#[test]
fn act_auto_sync_example_merges_main_into_staging() {
    let package = package();
    let (fake, git) = sync_world(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let old = git.rev(APP_REPO, "refs/heads/staging").expect("staging");
    let main = git.rev(APP_REPO, "refs/heads/main").expect("main");

    let run = Act::new(
        &example("auto-sync.yml"),
        "push",
        action.path(),
        cache.path(),
    )
    .server(&fake.url())
    .payload(push_event(&git))
    .env("SHIPGATE_REMOTE", &git.repo_url(APP_REPO))
    .secret("SHIPGATE_SYNC_TOKEN", SYNC_TOKEN)
    .run()
    .success();
    let new = git.rev(APP_REPO, "refs/heads/staging").expect("staging");
    assert_ne!(new, old, "staging moved:\n{}", run.log);
    assert!(git.is_ancestor(APP_REPO, &old, &new), "old staging kept");
    assert!(git.is_ancestor(APP_REPO, &main, &new), "main merged");
    assert_eq!(
        git.rev(APP_REPO, "refs/heads/main").as_deref(),
        Some(main.as_str())
    );
    git.fsck(APP_REPO);
    assert!(
        git.requests()
            .iter()
            .any(|r| r.is_push() && r.login.as_deref() == Some("syncbot")),
        "pushed as syncbot"
    );

    // Again: up to date, nothing pushed, and the outputs reach the workflow.
    let pushes = git.requests().iter().filter(|r| r.is_push()).count();
    let flow = workflow(
        "push",
        "mode: sync\ntoken: ${{ secrets.SHIPGATE_SYNC_TOKEN }}\n",
        "",
        None,
    );
    Act::new(&flow, "push", action.path(), cache.path())
        .server(&fake.url())
        .payload(push_event(&git))
        .env("SHIPGATE_REMOTE", &git.repo_url(APP_REPO))
        .secret("SHIPGATE_SYNC_TOKEN", SYNC_TOKEN)
        .run()
        .success()
        .contains("observed-result=[ok]")
        .contains("observed-merge-kind=[up-to-date]")
        .contains(&format!("observed-new-sha=[{new}]"));
    assert_eq!(
        git.requests().iter().filter(|r| r.is_push()).count(),
        pushes
    );
    assert_eq!(downloads(&fake).len(), 1, "the second run used the cache");
}

#[test]
fn act_token_canary_example_proves_the_token_and_pushes_nothing() {
    let package = package();
    let (fake, git) = sync_world(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let staging = git.rev(APP_REPO, "refs/heads/staging").expect("staging");
    let flow = example("token-canary.yml");

    Act::new(&flow, "schedule", action.path(), cache.path())
        .server(&fake.url())
        .payload(json!({"schedule": "17 */6 * * *"}))
        .env("SHIPGATE_REMOTE", &git.repo_url(APP_REPO))
        .secret("SHIPGATE_SYNC_TOKEN", SYNC_TOKEN)
        .run()
        .success();
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.route == "/user" && r.login.as_deref() == Some("syncbot")),
        "GET /user with the sync token"
    );
    let git_requests = git.requests();
    assert!(
        git_requests
            .iter()
            .any(|r| r.service() == Some("receive-pack") && r.login.as_deref() == Some("syncbot")),
        "an authenticated receive-pack advertisement: {git_requests:?}"
    );
    assert!(
        !git_requests.iter().any(|r| r.is_push()),
        "the canary pushes nothing"
    );

    // A rotated (unknown) token fails the canary: cannot verify.
    let run = Act::new(&flow, "schedule", action.path(), cache.path())
        .server(&fake.url())
        .payload(json!({"schedule": "17 */6 * * *"}))
        .env("SHIPGATE_REMOTE", &git.repo_url(APP_REPO))
        .secret("SHIPGATE_SYNC_TOKEN", "tok-rotated-0000")
        .run()
        .failure();
    assert_eq!(run.step_exit(), Some(2), "{}", run.log);
    run.contains("::error title=shipgate sync");
    assert_eq!(git.rev(APP_REPO, "refs/heads/staging"), Some(staging));
}
