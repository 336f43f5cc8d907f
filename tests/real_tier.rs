//! Integration tests: tier against the real Gitea, every version in `VERSIONS`.
//! Harness: real_gitea, test.
//!
//! Each test asserts the exit code and the labels the server holds afterwards.

use std::path::Path;

use serde_json::Value;

use crate::real_gitea_tests;
use crate::support::{
    real_gitea::{git, Change, RealGitea, Repo},
    test::{Output, Test},
};

fn tier(repo: &Repo<'_>, pr: u64, login: &str) -> Test {
    Test::new()
        .args(&["tier", "--pr", &pr.to_string(), "--format", "json", "-v"])
        .server(&repo.gitea.url)
        .repo(&repo.full)
        .token(repo.gitea.token(login))
}

/// A PR by alice adding these files on branch `feature`.
fn pr_with(repo: &Repo<'_>, files: &[(&str, &str)]) -> u64 {
    let changes: Vec<Change<'_>> = files.iter().map(|(p, t)| Change::Create(p, t)).collect();
    repo.commit("alice", "feature", Some("main"), "feature work", &changes);
    repo.open_pr("alice", "feature", "main", "feature work")
}

/// The number of label rows in the PR's timeline, read page by page as the admin.
fn label_events(repo: &Repo<'_>, pr: u64) -> usize {
    let mut count = 0;
    let mut empty = 0;
    for page in 1..200 {
        let rows = repo.gitea.admin(
            "GET",
            &repo.path(&format!("/issues/{pr}/timeline?limit=50&page={page}")),
            None,
        );
        let rows = rows.as_array().cloned().unwrap_or_default();
        if rows.is_empty() {
            empty += 1;
            if empty == 2 {
                break;
            }
            continue;
        }
        empty = 0;
        count += rows.iter().filter(|r| r["type"] == "label").count();
    }
    count
}

fn json_tier(output: &Output) -> String {
    output.json()["tier"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn new_pr_is_labeled_and_a_second_run_writes_nothing(g: &RealGitea) {
    let repo = g.repo("tier-new");
    let pr = pr_with(&repo, &[("src/app.rs", "fn main() {}\n")]);
    let first = tier(&repo, pr, "tier-bot").success();
    assert_eq!(json_tier(&first), "medium", "{}", first.stdout);
    assert_eq!(repo.labels(pr), vec!["tier:medium"]);
    let events = label_events(&repo, pr);
    assert_eq!(events, 1, "one label add in the timeline");

    let second = tier(&repo, pr, "tier-bot").success();
    assert_eq!(
        second.json()["label_action"],
        "unchanged",
        "{}",
        second.stdout
    );
    assert_eq!(repo.labels(pr), vec!["tier:medium"]);
    assert_eq!(
        label_events(&repo, pr),
        events,
        "the second run wrote a label"
    );
}

fn pr_with_120_files_is_read_completely(g: &RealGitea) {
    let repo = g.repo("tier-120");
    let files: Vec<(String, String)> = (0..120)
        .map(|i| (format!("docs/page-{i:03}.md"), format!("# page {i}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let pr = pr_with(&repo, &refs);
    let output = tier(&repo, pr, "tier-bot").success();
    let json = output.json();
    assert_eq!(json["files_total"], 120, "{}", output.stdout);
    assert_eq!(json["files_counted"], 120, "{}", output.stdout);
    // Docs only, but more than 50 counted files: size makes it high.
    assert_eq!(json["tier"], "high", "{}", output.stdout);
    assert_eq!(repo.labels(pr), vec!["tier:high"]);
}

fn rename_out_of_auth_is_high(g: &RealGitea) {
    let repo = g.repo("tier-rename");
    repo.commit(
        "alice",
        "main",
        None,
        "add auth",
        &[Change::Create("auth/login.rs", "pub fn login() {}\n")],
    );
    repo.commit(
        "alice",
        "feature",
        Some("main"),
        "move login out of auth",
        &[Change::Rename(
            "auth/login.rs",
            "src/login.rs",
            "pub fn login() {}\n",
        )],
    );
    let pr = repo.open_pr("alice", "feature", "main", "move login");
    let output = tier(&repo, pr, "tier-bot").success();
    assert_eq!(json_tier(&output), "high", "{}", output.stdout);
    let rules = output.json()["rules"].to_string();
    assert!(
        rules.contains("auth/login.rs"),
        "the rule names the old path: {rules}"
    );
    assert_eq!(repo.labels(pr), vec!["tier:high"]);
}

/// More than 50 timeline rows: comments, pushes and inline code comments (which Gitea pages
/// in SQL and then drops from the answer).
fn long_discussion(repo: &Repo<'_>, pr: u64) {
    repo.review(
        "erin",
        pr,
        "COMMENT",
        &[("migrations/001.sql", 1), ("migrations/001.sql", 2)],
    );
    for i in 0..3 {
        let sha = repo.commit(
            "alice",
            "feature",
            None,
            &format!("push {i}"),
            &[Change::Create(
                &format!("migrations/{i:03}-extra.sql"),
                "select 1;\n",
            )],
        );
        repo.wait_pr_head(pr, &sha);
    }
    for i in 0..55 {
        repo.comment(
            if i % 2 == 0 { "erin" } else { "mona" },
            pr,
            &format!("comment {i}"),
        );
    }
}

/// A PR touching `migrations/` (high), with every tier label already in the repository.
fn high_pr(repo: &Repo<'_>) -> u64 {
    for name in ["tier:low", "tier:medium", "tier:high"] {
        repo.create_label(name);
    }
    pr_with(
        repo,
        &[(
            "migrations/001.sql",
            "create table t (id int);\nselect 1;\n",
        )],
    )
}

fn author_lowering_after_a_long_discussion_is_refused(g: &RealGitea) {
    let repo = g.repo("tier-lower");
    let pr = high_pr(&repo);
    tier(&repo, pr, "tier-bot").success();
    assert_eq!(repo.labels(pr), vec!["tier:high"]);
    // Early on, a reviewer lowers it (a legitimate override, at the start of the timeline).
    repo.remove_label("mona", pr, "tier:high");
    repo.add_label("mona", pr, "tier:low");
    long_discussion(&repo, pr);
    // Much later, the author removes it and adds it again: now the author's label.
    repo.remove_label("alice", pr, "tier:low");
    repo.add_label("alice", pr, "tier:low");

    let output = tier(&repo, pr, "tier-bot").refused();
    let annotation = output.annotations().join("\n");
    assert!(
        annotation.contains("alice"),
        "names the author: {annotation}"
    );
    assert_eq!(repo.labels(pr), vec!["tier:low"], "nothing removed");
}

fn reviewer_override_after_a_long_discussion_is_kept(g: &RealGitea) {
    let repo = g.repo("tier-override");
    let pr = high_pr(&repo);
    tier(&repo, pr, "tier-bot").success();
    long_discussion(&repo, pr);
    repo.remove_label("mona", pr, "tier:high");
    repo.add_label("mona", pr, "tier:medium");

    let output = tier(&repo, pr, "tier-bot").success();
    let json = output.json();
    assert_eq!(json["tier"], "medium", "{}", output.stdout);
    assert_eq!(json["computed_tier"], "high", "{}", output.stdout);
    assert_eq!(repo.labels(pr), vec!["tier:medium"]);
}

fn a_token_without_write_issue_cannot_label(g: &RealGitea) {
    let repo = g.repo("tier-scope");
    let pr = pr_with(&repo, &[("src/app.rs", "fn main() {}\n")]);
    // gate-reader has read:repository, read:issue and read:organization, no write:issue.
    let output = tier(&repo, pr, "gate-reader").unverified();
    assert_eq!(output.annotations().len(), 1, "{}", output.stderr);
    assert!(repo.labels(pr).is_empty(), "no label without the scope");
}

/// One commit on `branch` (from `from`, or the branch itself when it exists), made with
/// git in a clone and sent in one push, whatever the number of files: `build` edits the
/// work tree. Returns what `git diff --name-status` says the commit changed.
fn push_commit(
    repo: &Repo<'_>,
    login: &str,
    branch: &str,
    from: &str,
    build: impl FnOnce(&Path),
) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = repo.gitea.token(login);
    let url = repo
        .clone_url()
        .replacen("://", &format!("://{login}:{token}@"), 1);
    git(dir.path(), &["clone", "-q", "-b", from, &url, "w"]);
    let work = dir.path().join("w");
    if branch != from {
        git(&work, &["checkout", "-q", "-b", branch]);
    }
    build(&work);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "generated"]);
    git(&work, &["push", "-q", "origin", branch]);
    git(&work, &["diff", "--name-status", "HEAD~1", "HEAD"])
}

fn write(dir: &Path, path: &str, bytes: &[u8]) {
    let path = dir.join(path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}

/// `tier --dry-run` reading the files as `how` says (`auto`: the diff; `pages`); its JSON
/// and the number of API requests it sent (its `-v` log names each one).
fn dry_run(repo: &Repo<'_>, pr: u64, how: &str) -> (Value, usize) {
    let output = tier(repo, pr, "tier-bot")
        .args(&["--dry-run", "--files-from", how])
        .success();
    let requests = output.stderr.matches("forge request").count();
    (output.json(), requests)
}

/// The diff's result without the two fields that say where the files came from.
fn result(mut json: Value) -> Value {
    for key in ["files_from", "files_fallback"] {
        json.as_object_mut().map(|o| o.remove(key));
    }
    json
}

/// 3,000 changed files: one diff and a handful of requests instead of 60 pages, the same
/// result as the pages.
fn a_3000_file_pr_is_read_from_one_diff(g: &RealGitea) {
    let repo = g.repo("tier-3000");
    push_commit(&repo, "alice", "feature", "main", |w| {
        for i in 0..3000 {
            let dir = ["docs", "src", "tests", "auth"][i % 4];
            write(
                w,
                &format!("{dir}/m{}/f{i}.txt", i % 13),
                format!("line {i}\n").as_bytes(),
            );
        }
    });
    let pr = repo.open_pr("alice", "feature", "main", "3000 files");
    let (diff, diff_requests) = dry_run(&repo, pr, "auto");
    assert_eq!(diff["files_from"], "diff", "{diff}");
    assert_eq!(diff["files_total"], 3000, "{diff}");
    assert_eq!(diff["tier"], "high", "{diff}");
    let (pages, page_requests) = dry_run(&repo, pr, "pages");
    assert_eq!(pages["files_from"], "pages", "{pages}");
    assert_eq!(result(diff), result(pages));
    // The pull request twice, the config and .gitattributes at the base, the diff, the
    // labels, the repository's labels.
    assert!(diff_requests <= 8, "{diff_requests} requests with the diff");
    assert!(
        page_requests >= 60 + 5,
        "{page_requests} requests with the pages"
    );
}

/// Renames (one with spaces on both sides, one out of `auth/` with a change, an empty
/// file), a binary file changed, a mode change, a deletion, new files named with spaces
/// and quotes, an empty new file: the diff reads as the pages do.
fn renames_binary_modes_and_odd_names_read_as_the_pages(g: &RealGitea) {
    let repo = g.repo("tier-odd");
    push_commit(&repo, "alice", "main", "main", |w| {
        write(w, "auth/login.rs", b"a\nb\nc\n");
        write(w, "docs/old name.md", b"# old\n");
        write(w, "logo.png", b"\x89PNG\x00\x01\x02");
        write(w, "script.sh", b"echo hi\n");
        write(w, "gone.txt", b"gone\nbye\n");
        write(w, "empty-old", b"");
    });
    let changed = push_commit(&repo, "alice", "feature", "main", |w| {
        std::fs::create_dir_all(w.join("src")).expect("mkdir src");
        git(w, &["mv", "auth/login.rs", "src/login.rs"]);
        write(w, "src/login.rs", b"a\nb\nc\nd\n");
        git(w, &["mv", "docs/old name.md", "docs/new name.md"]);
        git(w, &["mv", "empty-old", "new empty.txt"]);
        write(w, "logo.png", b"\x89PNG\x00\x03\x04\x05");
        let script = w.join("script.sh");
        let mut mode = std::fs::metadata(&script).expect("stat").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
        std::fs::set_permissions(&script, mode).expect("chmod");
        git(w, &["rm", "-q", "gone.txt"]);
        write(w, "my file.md", b"spaces\n");
        write(w, "say \"hi\".md", b"quotes\n");
        write(w, "caf\u{e9} men\u{fc}.md", b"non-ASCII\n");
        write(w, "empty.txt", b"");
    });
    let pr = repo.open_pr("alice", "feature", "main", "odd files");
    let (diff, _) = dry_run(&repo, pr, "auto");
    assert_eq!(diff["files_from"], "diff", "{diff}");
    let (pages, _) = dry_run(&repo, pr, "pages");
    assert_eq!(result(diff.clone()), result(pages), "{diff}");
    // git's own view of the commit: three renames (git pairs the deleted empty file with
    // one of the new empty ones), the binary change, the mode change, a deletion, four
    // new files.
    assert_eq!(diff["files_total"], changed.lines().count(), "{changed}");
    assert_eq!(
        changed.lines().filter(|l| l.starts_with('R')).count(),
        3,
        "{changed}"
    );
    assert_eq!(diff["files_total"], 10, "{changed}");
    assert_eq!(diff["tier"], "high", "{diff}");
}

real_gitea_tests!(
    a_3000_file_pr_is_read_from_one_diff,
    renames_binary_modes_and_odd_names_read_as_the_pages,
    new_pr_is_labeled_and_a_second_run_writes_nothing,
    pr_with_120_files_is_read_completely,
    rename_out_of_auth_is_high,
    author_lowering_after_a_long_discussion_is_refused,
    reviewer_override_after_a_long_discussion_is_kept,
    a_token_without_write_issue_cannot_label,
);
