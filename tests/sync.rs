//! Integration tests: sync, against a real `git http-backend` (tests/support/git_server.rs).
//!
//! End-to-end runs use the `shipgate` binary with a cleared environment; the property test
//! drives the library core directly (still pushing to the real server) to stay fast.

use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use crate::support::{
    git_server::{git_command, GitServer},
    test::{Output, Test},
};

const TOKEN: &str = "tok-bot-3f9a1c";
const REPO: &str = "acme/app";

// ---------------------------------------------------------------------------------------
// Runs of the binary through the shared `Test` builder (cleared environment, token-leak
// checks on every run); `SHIPGATE_SERVER` points at the git server, which also answers
// `GET /api/v1/user` the way Gitea does.

/// `shipgate sync --format json` against `server`, with the bot's token.
struct Sync {
    test: Test,
    format: &'static str,
    extra: Vec<String>,
}

impl Sync {
    fn new(server: &GitServer) -> Sync {
        Sync {
            test: Test::new()
                .env("SHIPGATE_SERVER", &server.url())
                .repo(REPO)
                .token(TOKEN)
                .env("SHIPGATE_TIMEOUT", "10"),
            format: "json",
            extra: Vec::new(),
        }
    }

    fn args(mut self, args: &[&str]) -> Self {
        self.extra.extend(args.iter().map(|s| (*s).to_owned()));
        self
    }

    /// Another token (or none).
    fn token(mut self, token: Option<&str>) -> Self {
        self.test = match token {
            Some(token) => self.test.token(token),
            None => self.test.env_remove("SHIPGATE_TOKEN"),
        };
        self
    }

    fn config(mut self, yaml: &str) -> Self {
        self.test = self.test.config(yaml);
        self
    }

    fn no_server(mut self) -> Self {
        self.test = self.test.env_remove("SHIPGATE_SERVER");
        self
    }

    fn server(mut self, url: &str) -> Self {
        self.test = self.test.env("SHIPGATE_SERVER", url);
        self
    }

    fn text(mut self) -> Self {
        self.format = "text";
        self
    }

    #[track_caller]
    fn run(self) -> Output {
        let mut args = vec!["sync", "--format", self.format];
        args.extend(self.extra.iter().map(String::as_str));
        self.test.args(&args).run()
    }
}

trait OutputExt {
    fn output(&self, key: &str) -> Option<String>;
}

impl OutputExt for Output {
    fn output(&self, key: &str) -> Option<String> {
        self.outputs.get(key).cloned()
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures: histories written with `git fast-import`.

/// Builds one fast-import stream; commits get marks, files are whole contents.
struct Builder {
    stream: String,
    marks: u32,
    time: i64,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            stream: String::new(),
            marks: 0,
            time: 1_700_000_000,
        }
    }

    /// A commit on `branch` with `parents` (marks; the first is the diff base) changing
    /// `files` (`None` deletes). Returns its mark.
    fn commit(
        &mut self,
        branch: &str,
        parents: &[u32],
        files: &[(&str, Option<&str>)],
        message: &str,
    ) -> u32 {
        self.marks += 1;
        self.time += 60;
        let mark = self.marks;
        let s = &mut self.stream;
        s.push_str(&format!("commit refs/heads/{branch}\nmark :{mark}\n"));
        s.push_str(&format!(
            "committer Dev <dev@example.com> {} +0000\n",
            self.time
        ));
        s.push_str(&format!("data {}\n{message}\n", message.len()));
        match parents.split_first() {
            Some((first, rest)) => {
                s.push_str(&format!("from :{first}\n"));
                for p in rest {
                    s.push_str(&format!("merge :{p}\n"));
                }
            }
            None => s.push_str("deleteall\n"),
        }
        for (path, content) in files {
            match content {
                Some(text) => s.push_str(&format!(
                    "M 100644 inline {path}\ndata {}\n{text}\n",
                    text.len()
                )),
                None => s.push_str(&format!("D {path}\n")),
            }
        }
        s.push('\n');
        mark
    }

    /// Point `branch` at `mark`.
    fn reset(&mut self, branch: &str, mark: u32) {
        self.stream
            .push_str(&format!("reset refs/heads/{branch}\nfrom :{mark}\n\n"));
    }

    fn import(&self, server: &GitServer, repo: &str) {
        server.fast_import(repo, &self.stream);
    }
}

const A: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n";

fn lines_with(base: &str, index: usize, text: &str) -> String {
    let mut lines: Vec<String> = base.lines().map(str::to_owned).collect();
    lines[index] = text.to_owned();
    lines.join("\n") + "\n"
}

fn server_with_user() -> GitServer {
    let server = GitServer::start();
    server.add_user("bot", TOKEN);
    server.add_user("alice", "tok-alice-77");
    server.create_repo(REPO);
    server
}

fn rev(server: &GitServer, name: &str) -> String {
    server
        .rev(REPO, name)
        .unwrap_or_else(|| panic!("{name} exists"))
}

fn pushes(server: &GitServer) -> usize {
    server.requests().iter().filter(|r| r.is_push()).count()
}

/// base → main: m1 (b.txt); staging: s1 (c.txt): diverged, no conflict.
fn diverged(server: &GitServer) {
    let mut b = Builder::new();
    let base = b.commit("main", &[], &[("a.txt", Some(A))], "base");
    b.commit("main", &[base], &[("b.txt", Some("bee\n"))], "m1");
    b.commit("staging", &[base], &[("c.txt", Some("sea\n"))], "s1");
    b.import(server, REPO);
}

// ---------------------------------------------------------------------------------------
// Each plan end to end.

#[test]
fn up_to_date_pushes_nothing() {
    let server = server_with_user();
    let mut b = Builder::new();
    let base = b.commit("main", &[], &[("a.txt", Some(A))], "base");
    b.commit("staging", &[base], &[("c.txt", Some("sea\n"))], "s1");
    b.import(&server, REPO);
    let before = rev(&server, "refs/heads/staging");

    let run = Sync::new(&server).run();
    assert_eq!(run.status, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["plan"], "up-to-date", "{run:?}");
    assert_eq!(json["pushed"], false);
    assert_eq!(json["old_sha"], before.as_str());
    assert_eq!(json["new_sha"], before.as_str());
    assert_eq!(run.output("merge-kind").as_deref(), Some("up-to-date"));
    assert_eq!(run.output("new-sha").as_deref(), Some(before.as_str()));
    assert_eq!(pushes(&server), 0, "{:?}", server.requests());
    assert_eq!(rev(&server, "refs/heads/staging"), before);
}

#[test]
fn same_tip_is_up_to_date_without_fetching() {
    let server = server_with_user();
    let mut b = Builder::new();
    let base = b.commit("main", &[], &[("a.txt", Some(A))], "base");
    b.reset("staging", base);
    b.import(&server, REPO);
    let run = Sync::new(&server).run();
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.json()["plan"], "up-to-date");
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.service() == Some("receive-pack") && r.method == "GET"),
        "only the advertisement was read: {requests:?}"
    );
}

#[test]
fn fast_forward_moves_staging_to_main() {
    let server = server_with_user();
    let mut b = Builder::new();
    let base = b.commit("main", &[], &[("a.txt", Some(A))], "base");
    b.reset("staging", base);
    let m1 = b.commit("main", &[base], &[("b.txt", Some("bee\n"))], "m1");
    b.commit(
        "main",
        &[m1],
        &[("a.txt", Some(&lines_with(A, 0, "ONE")))],
        "m2",
    );
    b.import(&server, REPO);
    let old = rev(&server, "refs/heads/staging");
    let main = rev(&server, "refs/heads/main");

    let run = Sync::new(&server).run();
    assert_eq!(run.status, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["plan"], "fast-forward");
    assert_eq!(json["pushed"], true);
    assert_eq!(json["old_sha"], old.as_str());
    assert_eq!(json["new_sha"], main.as_str());
    assert_eq!(json["main_sha"], main.as_str());
    assert_eq!(json["attempts"], 1);
    assert_eq!(
        json["push"]["objects"], 0,
        "a fast-forward sends an empty pack"
    );
    assert_eq!(rev(&server, "refs/heads/staging"), main);
    assert_eq!(pushes(&server), 1);
    server.fsck(REPO);
}

#[test]
fn merge_has_the_exact_message_parents_and_tree() {
    let server = server_with_user();
    diverged(&server);
    let old = rev(&server, "refs/heads/staging");
    let main = rev(&server, "refs/heads/main");

    let run = Sync::new(&server).run();
    assert_eq!(run.status, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["plan"], "merge", "{run:?}");
    assert_eq!(json["pushed"], true);
    let new = rev(&server, "refs/heads/staging");
    assert_eq!(json["new_sha"], new.as_str());
    assert_eq!(run.output("merge-kind").as_deref(), Some("merge"));
    assert_eq!(run.output("new-sha").as_deref(), Some(new.as_str()));

    let repo = server.repo_path(REPO);
    let parents = server.git(
        &repo,
        &["rev-parse", &format!("{new}^1"), &format!("{new}^2")],
    );
    assert_eq!(
        parents,
        format!("{old}\n{main}\n"),
        "parents are (staging, main)"
    );
    let message = server.git(&repo, &["log", "-1", "--format=%B", &new]);
    assert_eq!(
        message.trim_end(),
        format!("chore: sync main → staging (auto, {})", &main[..8])
    );
    let who = server.git(&repo, &["log", "-1", "--format=%an <%ae>|%cn <%ce>", &new]);
    assert_eq!(
        who.trim(),
        "bot (bot) <bot@example.com>|bot (bot) <bot@example.com>",
        "author and committer are the token's account"
    );
    let expected_tree = server.git(&repo, &["merge-tree", "--write-tree", &old, &main]);
    let tree = server.git(&repo, &["rev-parse", &format!("{new}^{{tree}}")]);
    assert_eq!(
        tree.trim(),
        expected_tree.trim(),
        "same tree as git merge-tree"
    );
    assert!(server.is_ancestor(REPO, &old, &new));
    assert!(server.is_ancestor(REPO, &main, &new));
    server.fsck(REPO);
    let count = server.git(&repo, &["rev-list", "--count", &new]);
    assert_eq!(count.trim(), "4", "base, m1, s1 and the merge");
    assert!(
        run.stderr.contains("plain http"),
        "credentials over http are announced: {run:?}"
    );
    assert_eq!(
        json["push"]["objects"], 2,
        "the merge commit and its root tree only"
    );
}

#[test]
fn merge_author_comes_from_config() {
    let server = server_with_user();
    diverged(&server);
    let run = Sync::new(&server)
        .config("sync:\n  author: {name: Sync Bot, email: sync@example.com}\n  message: \"sync {from} into {to} at {main_short}\"\n")
        .run();
    assert_eq!(run.status, 0, "{run:?}");
    let new = rev(&server, "refs/heads/staging");
    let main = rev(&server, "refs/heads/main");
    let repo = server.repo_path(REPO);
    let log = server.git(&repo, &["log", "-1", "--format=%an <%ae>%n%B", &new]);
    assert_eq!(
        log.trim_end(),
        format!(
            "Sync Bot <sync@example.com>\nsync main into staging at {}",
            &main[..8]
        )
    );
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/api/")),
        "no API call is needed when sync.author is set"
    );
}

#[test]
fn trace_logging_never_shows_the_token() {
    let server = server_with_user();
    diverged(&server);
    let run = Sync::new(&server).args(&["-vv"]).run();
    assert_eq!(run.status, 0, "{run:?}");
    assert!(run.stderr.len() > 1000, "trace logging is on: {run:?}");
    let basic = crate::support::git_server::base64_encode(format!("shipgate:{TOKEN}").as_bytes());
    assert!(!run.stderr.contains(&basic), "the basic-auth header leaked");
}

#[test]
fn remote_without_api_needs_an_author_only_to_merge() {
    let server = server_with_user();
    let mut b = Builder::new();
    let base = b.commit("main", &[], &[("a.txt", Some(A))], "base");
    b.reset("staging", base);
    b.commit("main", &[base], &[("b.txt", Some("bee\n"))], "m1");
    b.import(&server, REPO);
    let url = server.repo_url(REPO);
    let run = Sync::new(&server)
        .no_server()
        .args(&["--remote", &url])
        .run();
    assert_eq!(run.status, 0, "a fast-forward needs no API: {run:?}");
    assert_eq!(run.json()["plan"], "fast-forward");

    let mut b = Builder::new();
    b.stream.push_str(&format!(
        "commit refs/heads/staging\ncommitter Dev <dev@example.com> 1800000000 +0000\ndata 2\ns1\nfrom {}\nM 100644 inline c.txt\ndata 4\nsea\n\n",
        rev(&server, "refs/heads/staging")
    ));
    b.stream.push_str(&format!(
        "commit refs/heads/main\ncommitter Dev <dev@example.com> 1800000001 +0000\ndata 2\nm2\nfrom {}\nM 100644 inline d.txt\ndata 4\ndee\n\n",
        rev(&server, "refs/heads/main")
    ));
    b.import(&server, REPO);
    let run = Sync::new(&server)
        .no_server()
        .args(&["--remote", &url])
        .run();
    assert_eq!(run.status, 2, "{run:?}");
    assert!(
        run.json()["error"]["hint"]
            .to_string()
            .contains("sync.author"),
        "{run:?}"
    );
    let run = Sync::new(&server)
        .no_server()
        .args(&["--remote", &url])
        .config("sync:\n  author: {name: a, email: a@b.c}\n")
        .run();
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.json()["plan"], "merge");
}

#[test]
fn conflict_lists_paths_and_pushes_nothing() {
    let server = server_with_user();
    let mut b = Builder::new();
    let base = b.commit(
        "main",
        &[],
        &[("a.txt", Some(A)), ("z.txt", Some("zed\n"))],
        "base",
    );
    b.commit(
        "main",
        &[base],
        &[("a.txt", Some(&lines_with(A, 2, "main")))],
        "m1",
    );
    b.commit(
        "staging",
        &[base],
        &[("a.txt", Some(&lines_with(A, 2, "staging")))],
        "s1",
    );
    b.import(&server, REPO);
    let before = rev(&server, "refs/heads/staging");

    let run = Sync::new(&server).run();
    assert_eq!(run.status, 1, "{run:?}");
    let json = run.json();
    assert_eq!(json["plan"], "conflict");
    assert_eq!(json["pushed"], false);
    assert_eq!(json["conflicts"], serde_json::json!(["a.txt"]));
    assert_eq!(json["result"], "no");
    assert!(
        run.stderr
            .contains("::error title=shipgate sync%3A merge conflict [sync-conflict]::"),
        "{run:?}"
    );
    assert!(
        run.summary.contains("git merge --no-ff origin/main"),
        "{run:?}"
    );
    assert!(run.summary.contains("- `a.txt`"), "{run:?}");
    assert_eq!(run.output("merge-kind").as_deref(), Some("conflict"));
    assert_eq!(
        rev(&server, "refs/heads/staging"),
        before,
        "remote unchanged"
    );
    assert_eq!(pushes(&server), 0);
}

#[test]
fn conflict_in_text_format_shows_hint_and_recipe() {
    let server = server_with_user();
    let mut b = Builder::new();
    let base = b.commit("main", &[], &[("a.txt", Some(A))], "base");
    b.commit(
        "main",
        &[base],
        &[("a.txt", Some(&lines_with(A, 0, "main")))],
        "m1",
    );
    b.commit(
        "staging",
        &[base],
        &[("a.txt", Some(&lines_with(A, 0, "staging")))],
        "s1",
    );
    b.import(&server, REPO);
    let run = Sync::new(&server).text().run();
    assert_eq!(run.status, 1, "{run:?}");
    assert!(run.stdout.starts_with("shipgate sync: no\n"), "{run:?}");
    assert!(
        run.stdout
            .contains("error: merging `main` into `staging` conflicts in 1 path(s): `a.txt`"),
        "{run:?}"
    );
    assert!(run.stdout.contains("hint: runbook A"), "{run:?}");
    assert!(
        run.stdout.contains("git merge --no-ff origin/main"),
        "{run:?}"
    );
}

#[test]
fn dry_run_merges_but_never_pushes() {
    let server = server_with_user();
    diverged(&server);
    let before = rev(&server, "refs/heads/staging");
    let run = Sync::new(&server).args(&["--dry-run"]).run();
    assert_eq!(run.status, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["plan"], "merge");
    assert_eq!(json["pushed"], false);
    assert_ne!(
        json["new_sha"],
        before.as_str(),
        "the merge commit was computed"
    );
    assert!(json["reasons"][0]
        .as_str()
        .unwrap_or_default()
        .starts_with("dry run"));
    assert_eq!(rev(&server, "refs/heads/staging"), before);
    assert_eq!(pushes(&server), 0);
}

// ---------------------------------------------------------------------------------------
// Refusals and failures.

#[test]
fn protected_branch_hook_rejection_is_no_with_runbook_c() {
    let server = server_with_user();
    diverged(&server);
    server.protect(REPO, "staging");
    let before = rev(&server, "refs/heads/staging");
    let run = Sync::new(&server).run();
    assert_eq!(run.status, 1, "{run:?}");
    let json = run.json();
    assert_eq!(json["pushed"], false);
    let error = json["error"].to_string();
    assert!(
        error.contains("Not allowed to push to protected branch staging"),
        "{run:?}"
    );
    assert!(
        error.contains("runbook C") && error.contains("allowlist"),
        "{run:?}"
    );
    assert!(
        run.summary.contains("remote: Gitea: Not allowed to push"),
        "{run:?}"
    );
    assert_eq!(json["attempts"], 1, "a hook refusal is not retried");
    assert_eq!(rev(&server, "refs/heads/staging"), before);
    assert_eq!(pushes(&server), 1);
}

#[test]
fn wrong_token_is_cannot_verify_with_runbook_b() {
    let server = server_with_user();
    diverged(&server);
    let run = Sync::new(&server)
        .token(Some("tok-wrong"))
        .config("sync:\n  author: {name: a, email: a@b.c}\n")
        .run();
    assert_eq!(run.status, 2, "{run:?}");
    let json = run.json();
    assert_eq!(json["result"], "cannot-verify");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("401"),
        "{run:?}"
    );
    assert!(
        json["error"]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("runbook B"),
        "{run:?}"
    );
    assert_eq!(pushes(&server), 0);
}

#[test]
fn missing_token_fails_before_any_request() {
    let server = server_with_user();
    diverged(&server);
    let run = Sync::new(&server).token(None).run();
    assert_eq!(run.status, 2, "{run:?}");
    assert!(run.stderr.contains("SHIPGATE_TOKEN"), "{run:?}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn read_only_account_is_forbidden() {
    let server = server_with_user();
    diverged(&server);
    server.read_only(REPO, "bot");
    let run = Sync::new(&server).run();
    assert_eq!(run.status, 2, "{run:?}");
    let json = run.json();
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("403"),
        "{run:?}"
    );
    assert!(
        json["error"]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("runbook B"),
        "{run:?}"
    );
}

#[test]
fn server_down_is_cannot_verify() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let server = server_with_user();
    let run = Sync::new(&server)
        .server(&url)
        .config("sync:\n  author: {name: a, email: a@b.c}\n")
        .run();
    assert_eq!(run.status, 2, "{run:?}");
    assert_eq!(run.json()["result"], "cannot-verify");
    assert!(
        run.json()["error"]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("unreachable"),
        "{run:?}"
    );
}

#[test]
fn server_errors_are_cannot_verify_and_change_nothing() {
    let server = server_with_user();
    diverged(&server);
    let before = rev(&server, "refs/heads/staging");
    server.fail("POST", "upload-pack", 500, 1);
    let run = Sync::new(&server)
        .config("sync:\n  author: {name: a, email: a@b.c}\n")
        .run();
    assert_eq!(run.status, 2, "{run:?}");
    assert_eq!(run.json()["error"]["title"], "git: unreachable", "{run:?}");
    assert_eq!(run.json()["error"]["code"], "git-unreachable", "{run:?}");

    // A push answered with 502: the outcome is unknown, so it cannot be verified.
    server.fail("POST", "receive-pack", 502, 1);
    let run = Sync::new(&server)
        .config("sync:\n  author: {name: a, email: a@b.c}\n")
        .run();
    assert_eq!(run.status, 2, "{run:?}");
    assert_eq!(rev(&server, "refs/heads/staging"), before);
}

#[test]
fn wrong_expect_login_is_cannot_verify_before_git() {
    let server = server_with_user();
    diverged(&server);
    let run = Sync::new(&server)
        .config("sync:\n  expect_login: alice\n")
        .run();
    assert_eq!(run.status, 2, "{run:?}");
    let message = run.json()["error"]["message"].to_string();
    assert!(
        message.contains("`bot`") && message.contains("`alice`"),
        "{run:?}"
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.path.starts_with("/api/")),
        "no git request before the identity check: {:?}",
        server.requests()
    );
}

#[test]
fn right_expect_login_passes() {
    let server = server_with_user();
    diverged(&server);
    let run = Sync::new(&server)
        .config("sync:\n  expect_login: bot\n")
        .run();
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.json()["login"], "bot");
}

#[test]
fn missing_branch_is_cannot_verify() {
    let server = server_with_user();
    let mut b = Builder::new();
    b.commit("main", &[], &[("a.txt", Some(A))], "base");
    b.import(&server, REPO);
    let run = Sync::new(&server).run();
    assert_eq!(run.status, 2, "{run:?}");
    let message = run.json()["error"]["message"].to_string();
    assert!(
        message.contains("branch `staging` does not exist"),
        "{run:?}"
    );
}

#[test]
fn empty_branch_name_is_cannot_verify() {
    let server = server_with_user();
    diverged(&server);
    let run = Sync::new(&server).args(&["--to", ""]).run();
    assert_eq!(run.status, 2, "{run:?}");
    assert!(
        run.json()["error"]["message"].to_string().contains("empty"),
        "{run:?}"
    );
    assert!(server.requests().is_empty());
}

// ---------------------------------------------------------------------------------------
// --check-token.

#[test]
fn check_token_needs_an_authenticated_advertisement() {
    let server = server_with_user();
    diverged(&server);
    let run = Sync::new(&server).args(&["--check-token"]).run();
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.json()["login"], "bot");
    let git_requests: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| !r.path.starts_with("/api/"))
        .collect();
    assert_eq!(git_requests.len(), 1, "{git_requests:?}");
    assert_eq!(git_requests[0].service(), Some("receive-pack"));
    assert_eq!(git_requests[0].method, "GET");
    assert_eq!(git_requests[0].login.as_deref(), Some("bot"));

    // A junk token fails even though the repository is publicly readable.
    let run = Sync::new(&server)
        .args(&["--check-token"])
        .token(Some("tok-wrong"))
        .run();
    assert_eq!(run.status, 2, "{run:?}");

    // A valid token without write access fails too.
    server.read_only(REPO, "alice");
    let run = Sync::new(&server)
        .args(&["--check-token"])
        .token(Some("tok-alice-77"))
        .run();
    assert_eq!(run.status, 2, "{run:?}");
    assert!(run.stdout.contains("403"), "{run:?}");
}

// ---------------------------------------------------------------------------------------
// Races: another client pushes to staging between our fetch and our push.

/// Push a new commit on top of the server's staging, as another client would.
fn racer_push(repo: &Path, home: &Path, n: usize) {
    let run = |args: &[&str], stdin: Option<&str>| -> String {
        let mut command = git_command(repo, home);
        command.args(args);
        if stdin.is_some() {
            command.stdin(std::process::Stdio::piped());
        }
        command.stdout(std::process::Stdio::piped());
        let mut child = command.spawn().expect("git");
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write");
        }
        let out = child.wait_with_output().expect("git");
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let staging = run(&["rev-parse", "refs/heads/staging"], None);
    let blob = run(
        &["hash-object", "-w", "--stdin"],
        Some(&format!("racer {n}\n")),
    );
    let tree_of_staging = run(&["rev-parse", "refs/heads/staging^{tree}"], None);
    let listing = run(&["ls-tree", &tree_of_staging], None);
    let listing = format!("{listing}\n100644 blob {blob}\tracer-{n}.txt\n");
    let tree = run(&["mktree"], Some(&listing));
    let commit = run(
        &[
            "commit-tree",
            &tree,
            "-p",
            &staging,
            "-m",
            &format!("racer {n}"),
        ],
        None,
    );
    run(
        &["update-ref", "refs/heads/staging", &commit, &staging],
        None,
    );
}

#[test]
fn race_once_replans_and_keeps_the_racer_commit() {
    let server = server_with_user();
    diverged(&server);
    let main = rev(&server, "refs/heads/main");
    let repo = server.repo_path(REPO);
    let home = server.home().to_owned();
    let raced = Arc::new(AtomicUsize::new(0));
    let counter = raced.clone();
    let racer_repo = repo.clone();
    server.on_request(move |request| {
        if request.is_push() && counter.fetch_add(1, Ordering::SeqCst) == 0 {
            racer_push(&racer_repo, &home, 1);
        }
    });
    let run = Sync::new(&server).run();
    assert_eq!(run.status, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["attempts"], 2, "{run:?}");
    assert_eq!(json["plan"], "merge");
    let new = rev(&server, "refs/heads/staging");
    let racer = server.git(&repo, &["rev-parse", &format!("{new}^1")]);
    let racer_message = server.git(&repo, &["log", "-1", "--format=%s", racer.trim()]);
    assert_eq!(
        racer_message.trim(),
        "racer 1",
        "the merge sits on the racer's commit"
    );
    assert!(server.is_ancestor(REPO, &main, &new));
    assert_eq!(pushes(&server), 2);
    server.fsck(REPO);
}

#[test]
fn racer_every_attempt_ends_no_and_loses_nothing() {
    let server = server_with_user();
    diverged(&server);
    let start = rev(&server, "refs/heads/staging");
    let repo = server.repo_path(REPO);
    let home = server.home().to_owned();
    let raced = Arc::new(AtomicUsize::new(0));
    let counter = raced.clone();
    let racer_repo = repo.clone();
    server.on_request(move |request| {
        if request.is_push() {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            racer_push(&racer_repo, &home, n);
        }
    });
    let run = Sync::new(&server).run();
    assert_eq!(run.status, 1, "{run:?}");
    let json = run.json();
    assert_eq!(json["attempts"], 3, "sync.max_attempts defaults to 3");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("advanced concurrently"),
        "{run:?}"
    );
    assert_eq!(raced.load(Ordering::SeqCst), 3);
    let end = rev(&server, "refs/heads/staging");
    let racers = server.git(&repo, &["log", "--format=%s", &format!("{start}..{end}")]);
    assert_eq!(
        racers, "racer 3\nracer 2\nracer 1\n",
        "every racer commit is kept"
    );
    server.fsck(REPO);
}

// ---------------------------------------------------------------------------------------
// Fetch strategies.

#[test]
fn server_without_filters_still_merges() {
    let server = server_with_user();
    diverged(&server);
    server.disable_filters(REPO);
    let run = Sync::new(&server).run();
    assert_eq!(run.status, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["plan"], "merge");
    assert_eq!(json["fetch"]["strategy"], "shallow", "{run:?}");
    server.fsck(REPO);
}

#[test]
fn protocol_v0_server_still_merges() {
    let server = server_with_user();
    diverged(&server);
    server.legacy_protocol();
    let run = Sync::new(&server).run();
    assert_eq!(run.status, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["plan"], "merge");
    assert_eq!(
        json["fetch"]["strategy"], "shallow",
        "no filters without protocol v2: {run:?}"
    );
    server.fsck(REPO);
}

#[test]
fn shallow_checkout_as_git_dir_is_deepened() {
    let server = server_with_user();
    let mut b = Builder::new();
    let base = b.commit("main", &[], &[("a.txt", Some(A))], "base");
    let mut tip = base;
    for i in 0..6 {
        tip = b.commit("main", &[tip], &[(&format!("m{i}.txt"), Some("m\n"))], "m");
    }
    b.commit("staging", &[base], &[("s.txt", Some("s\n"))], "s1");
    b.import(&server, REPO);
    // Like actions/checkout: a depth-1 clone of staging, with a work tree.
    let dir = tempfile::tempdir().expect("tmp");
    let url = server.repo_url(REPO);
    server.git(
        dir.path(),
        &[
            "clone",
            "--quiet",
            "--depth=1",
            "--branch=staging",
            &url,
            "checkout",
        ],
    );
    let git_dir = dir.path().join("checkout/.git");
    assert!(git_dir.join("shallow").exists());
    let run = Sync::new(&server)
        .args(&["--git-dir", git_dir.to_str().expect("utf-8")])
        .run();
    assert_eq!(run.status, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["plan"], "merge");
    assert!(
        json["fetch"]["strategy"]
            .as_str()
            .unwrap_or_default()
            .contains("shallow"),
        "{run:?}"
    );
    server.fsck(REPO);
    // The checkout's own branch is untouched.
    let head = server.git(&dir.path().join("checkout"), &["rev-parse", "HEAD"]);
    assert_ne!(head.trim(), rev(&server, "refs/heads/staging"));
}

#[test]
fn git_dir_is_fetched_into_incrementally() {
    let server = server_with_user();
    diverged(&server);
    let dir = tempfile::tempdir().expect("tmp");
    let git_dir = dir.path().join("mirror.git");
    server.git(
        dir.path(),
        &[
            "init",
            "--bare",
            "--quiet",
            git_dir.to_str().expect("utf-8"),
        ],
    );
    let run = Sync::new(&server)
        .args(&["--git-dir", git_dir.to_str().expect("utf-8")])
        .run();
    assert_eq!(run.status, 0, "{run:?}");
    assert_eq!(run.json()["plan"], "merge");
    let pushed = rev(&server, "refs/heads/staging");
    let remembered = server.git(&git_dir, &["rev-parse", "refs/shipgate/remote/staging"]);
    assert_eq!(remembered.trim(), pushed);

    // main moves on; the second run offers what it has and fetches only the new commit.
    let mut b = Builder::new();
    b.stream.push_str(&format!(
        "commit refs/heads/main\ncommitter Dev <dev@example.com> 1800000000 +0000\ndata 2\nm2\nfrom {}\nM 100644 inline d.txt\ndata 4\ndee\n\n",
        rev(&server, "refs/heads/main")
    ));
    b.import(&server, REPO);
    let run = Sync::new(&server)
        .args(&["--git-dir", git_dir.to_str().expect("utf-8")])
        .run();
    assert_eq!(run.status, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["plan"], "merge");
    assert!(
        json["fetch"]["objects"].as_u64().unwrap_or(99) <= 4,
        "only the new commit, its tree and blob: {run:?}"
    );
    server.fsck(REPO);
}

#[test]
fn criss_cross_history_merges_with_a_virtual_base() {
    let server = server_with_user();
    let mut b = Builder::new();
    let base = b.commit("main", &[], &[("a.txt", Some(A))], "base");
    let m1 = b.commit("main", &[base], &[("m.txt", Some("m1\n"))], "m1");
    let s1 = b.commit("staging", &[base], &[("s.txt", Some("s1\n"))], "s1");
    // Each side merges the other's commit: two merge bases (m1 and s1).
    let sm = b.commit("staging", &[s1, m1], &[("m.txt", Some("m1\n"))], "sync");
    let ms = b.commit("main", &[m1, s1], &[("s.txt", Some("s1\n"))], "promote");
    b.commit(
        "main",
        &[ms],
        &[("a.txt", Some(&lines_with(A, 0, "uno")))],
        "m2",
    );
    b.commit(
        "staging",
        &[sm],
        &[("a.txt", Some(&lines_with(A, 7, "ocho")))],
        "s2",
    );
    b.import(&server, REPO);
    let old = rev(&server, "refs/heads/staging");
    let main = rev(&server, "refs/heads/main");
    let repo = server.repo_path(REPO);
    let bases = server.git(&repo, &["merge-base", "--all", &old, &main]);
    assert_eq!(bases.lines().count(), 2, "fixture has two merge bases");

    let run = Sync::new(&server).run();
    assert_eq!(run.status, 0, "{run:?}");
    let new = rev(&server, "refs/heads/staging");
    let expected = server.git(&repo, &["merge-tree", "--write-tree", &old, &main]);
    let tree = server.git(&repo, &["rev-parse", &format!("{new}^{{tree}}")]);
    assert_eq!(tree.trim(), expected.trim());
    server.fsck(REPO);
}

// ---------------------------------------------------------------------------------------
// The invariant over random histories (library core, real server).

/// A tiny deterministic generator (no extra dependency for the fixture shapes); also
/// drives the histories of `fault_schedules::sync`.
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

type Tree = BTreeMap<String, String>;

/// A random edit of 1–2 files: change a line (small vocabulary, so some conflict),
/// add a file, or delete one.
fn edit(rng: &mut Rng, tree: &Tree) -> (Tree, Vec<(String, Option<String>)>) {
    let mut next = tree.clone();
    let mut changes = Vec::new();
    for _ in 0..=rng.below(2) {
        let roll = rng.below(10);
        let names: Vec<String> = next.keys().cloned().collect();
        if roll < 7 && !names.is_empty() {
            let name = &names[rng.below(names.len() as u64) as usize];
            let mut lines: Vec<String> = next[name].lines().map(str::to_owned).collect();
            if lines.is_empty() {
                lines.push(String::new());
            }
            let at = rng.below(lines.len() as u64) as usize;
            lines[at] = ["alpha", "beta", "gamma"][rng.below(3) as usize].to_owned();
            let text = lines.join("\n") + "\n";
            next.insert(name.clone(), text.clone());
            changes.push((name.clone(), Some(text)));
        } else if roll < 9 || names.len() < 2 {
            let name = format!("dir{}/f{}.txt", rng.below(3), rng.below(6));
            let text = format!("new {}\n", rng.below(4));
            next.insert(name.clone(), text.clone());
            changes.push((name, Some(text)));
        } else {
            let name = names[rng.below(names.len() as u64) as usize].clone();
            next.remove(&name);
            changes.push((name, None));
        }
    }
    (next, changes)
}

/// The generator's model of a merge commit's tree: a side's change wins, staging wins ties.
fn merge_model(base: &Tree, ours: &Tree, theirs: &Tree) -> Tree {
    let mut names: Vec<&String> = base
        .keys()
        .chain(ours.keys())
        .chain(theirs.keys())
        .collect();
    names.sort();
    names.dedup();
    let mut out = Tree::new();
    for name in names {
        let (b, o, t) = (base.get(name), ours.get(name), theirs.get(name));
        let pick = if o != b { o } else { t };
        if let Some(text) = pick {
            out.insert(name.clone(), text.clone());
        }
    }
    out
}

struct Random {
    builder: Builder,
    trees: HashMap<u32, Tree>,
}

impl Random {
    fn commit(
        &mut self,
        branch: &str,
        parents: &[u32],
        tree: Tree,
        changes: &[(String, Option<String>)],
    ) -> u32 {
        let files: Vec<(&str, Option<&str>)> = changes
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_deref()))
            .collect();
        let mark = self.builder.commit(branch, parents, &files, branch);
        self.trees.insert(mark, tree);
        mark
    }

    fn step(&mut self, rng: &mut Rng, branch: &str, parent: u32) -> u32 {
        let (tree, changes) = edit(rng, &self.trees[&parent]);
        self.commit(branch, &[parent], tree, &changes)
    }

    /// A merge commit on `branch`; its tree is the model merge, written in full.
    fn merge(&mut self, branch: &str, ours: u32, theirs: u32, base: u32) -> u32 {
        let tree = merge_model(&self.trees[&base], &self.trees[&ours], &self.trees[&theirs]);
        let old = &self.trees[&ours];
        let mut changes: Vec<(String, Option<String>)> = old
            .keys()
            .filter(|k| !tree.contains_key(*k))
            .map(|k| (k.clone(), None))
            .collect();
        changes.extend(tree.iter().map(|(k, v)| (k.clone(), Some(v.clone()))));
        self.commit(branch, &[ours, theirs], tree, &changes)
    }
}

/// One random history: base, main and staging chains, sometimes earlier syncs and a
/// promotion (criss-cross). Returns nothing; the branches are on the server.
pub(crate) fn random_history(rng: &mut Rng, server: &GitServer, repo: &str) {
    let mut r = Random {
        builder: Builder::new(),
        trees: HashMap::new(),
    };
    let mut tree = Tree::new();
    for i in 0..3 {
        tree.insert(format!("f{i}.txt"), "l1\nl2\nl3\nl4\nl5\nl6\n".to_owned());
    }
    let changes: Vec<(String, Option<String>)> = tree
        .iter()
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    let base = r.commit("main", &[], tree, &changes);

    let mut main = vec![base];
    for _ in 0..rng.below(5) {
        let next = r.step(rng, "main", *main.last().expect("base"));
        main.push(next);
    }
    // staging forks from base or from a main commit.
    let fork_at = rng.below(main.len() as u64) as usize;
    let mut staging = vec![main[fork_at]];
    let mut fork_base = main[fork_at];
    for _ in 0..rng.below(4) {
        let next = r.step(rng, "staging", *staging.last().expect("fork"));
        staging.push(next);
    }
    // An earlier sync: staging merged a later main commit.
    if main.len() > fork_at + 1 && staging.len() > 1 && rng.chance(30) {
        let target = fork_at + 1 + rng.below((main.len() - fork_at - 1) as u64) as usize;
        let merged = r.merge(
            "staging",
            *staging.last().expect("tip"),
            main[target],
            fork_base,
        );
        staging.push(merged);
        // A promotion merge on main of an earlier staging commit: criss-cross.
        if rng.chance(40) {
            let promote = r.merge("main", *main.last().expect("tip"), staging[1], fork_base);
            main.push(promote);
        }
        fork_base = main[target];
        for _ in 0..rng.below(3) {
            let next = r.step(rng, "staging", *staging.last().expect("tip"));
            staging.push(next);
        }
    }
    let _ = fork_base;
    if rng.chance(20) {
        let next = r.step(rng, "main", *main.last().expect("tip"));
        main.push(next);
    }
    r.builder.reset("main", *main.last().expect("tip"));
    r.builder.reset("staging", *staging.last().expect("tip"));
    r.builder.import(server, repo);
}

/// The history and the files that differ, for a failure message.
fn describe(server: &GitServer, repo: &str, old: &str, main: &str) -> String {
    let path = server.repo_path(repo);
    let graph = server.git(&path, &["log", "--graph", "--format=%h %s", old, main]);
    let bases = server.git(&path, &["merge-base", "--all", old, main]);
    let mut text = format!("{graph}\nbases: {bases}");
    for base in bases.lines() {
        for side in [old, main] {
            let diff = server.git(&path, &["diff", base, side]);
            text.push_str(&format!("\n--- diff {base}..{side}\n{diff}"));
        }
    }
    text
}

#[test]
fn invariant_over_random_histories() {
    use shipgate::{
        config::Identity,
        context::Secret,
        git::Remote,
        sync::{act, plan::Plan},
    };
    let server = GitServer::start();
    server.add_user("bot", TOKEN);
    let cases: u64 = std::env::var("SHIPGATE_SYNC_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(220);
    let seed: u64 = std::env::var("SHIPGATE_SYNC_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_cafe_f00d);
    let mut rng = Rng(seed);
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    for case in 0..cases {
        let repo = format!("p/r{case}");
        server.create_repo(&repo);
        if rng.chance(20) {
            server.disable_filters(&repo);
        }
        let protected = rng.chance(8);
        if protected {
            server.protect(&repo, "staging");
        }
        random_history(&mut rng, &server, &repo);
        let old = server.rev(&repo, "refs/heads/staging").expect("staging");
        let main = server.rev(&repo, "refs/heads/main").expect("main");
        let bases = server.git(
            &server.repo_path(&repo),
            &["merge-base", "--all", &old, &main],
        );
        if bases.lines().count() > 1 {
            *seen.entry("(criss-cross)").or_default() += 1;
        }

        let remote = Remote::new(&server.repo_url(&repo), Secret::new(TOKEN)).expect("remote");
        let mut request = act::Request::new(remote, "main", "staging");
        request.initial_depth = 1 + u32::try_from(rng.below(4)).expect("small");
        let mut identity = || {
            Ok::<_, shipgate::Error>(Identity {
                name: "Sync".into(),
                email: "sync@example.com".into(),
            })
        };
        let context = format!(
            "case {case} (SHIPGATE_SYNC_SEED={seed}), depth {}",
            request.initial_depth
        );
        let report = act::sync(&request, &mut identity)
            .unwrap_or_else(|e| panic!("{context}: sync failed: {e:?}"));
        *seen.entry(report.plan.as_str()).or_default() += 1;
        let new = server.rev(&repo, "refs/heads/staging").expect("staging");
        let exit = match (&report.plan, &report.rejection) {
            (_, Some(_)) | (Plan::Conflict { .. } | Plan::Unrelated, _) => 1,
            _ => 0,
        };
        if protected && matches!(report.plan, Plan::Merge | Plan::FastForward) {
            assert!(
                matches!(
                    report.rejection,
                    Some((shipgate::sync::plan::PushRefusal::Protected, _))
                ),
                "{context}: a protected branch must refuse: {report:?}"
            );
            *seen.entry("(refused by hook)").or_default() += 1;
        }
        if exit == 0 {
            assert!(
                server.is_ancestor(&repo, &old, &new),
                "{context}: old staging lost"
            );
            assert!(
                server.is_ancestor(&repo, &main, &new),
                "{context}: main not in staging"
            );
            assert_eq!(report.pushed, old != new, "{context}");
        } else {
            assert_eq!(new, old, "{context}: a refused run changed the remote");
            assert!(!report.pushed, "{context}");
        }
        // Compare with git itself.
        let repo_path = server.repo_path(&repo);
        let git_merge = git_command(&repo_path, server.home())
            .args(["merge-tree", "--write-tree", &old, &main])
            .output()
            .expect("git merge-tree");
        match &report.plan {
            Plan::Merge if !report.pushed => {}
            Plan::Merge => {
                assert!(
                    git_merge.status.success(),
                    "{context}: git sees conflicts where gix merged:\n{}\n{}",
                    String::from_utf8_lossy(&git_merge.stdout),
                    describe(&server, &repo, &old, &main)
                );
                let tree = server.git(&repo_path, &["rev-parse", &format!("{new}^{{tree}}")]);
                let expected = String::from_utf8_lossy(&git_merge.stdout);
                assert_eq!(
                    tree.trim(),
                    expected.lines().next().unwrap_or_default(),
                    "{context}: tree differs from git merge-tree"
                );
            }
            Plan::Conflict { .. } => {
                assert!(
                    !git_merge.status.success(),
                    "{context}: gix sees conflicts where git merges:\n{}",
                    describe(&server, &repo, &old, &main)
                );
            }
            _ => {}
        }
        if report.pushed {
            server.fsck(&repo);
        }
    }
    eprintln!("plans over {cases} random histories: {seen:?}");
    for plan in ["up-to-date", "fast-forward", "merge", "conflict"] {
        assert!(
            seen.get(plan).copied().unwrap_or(0) > 0,
            "no `{plan}` case: {seen:?}"
        );
    }
}
