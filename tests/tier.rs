//! Integration tests: tier.
//!
//! - `--local` on scripted git repositories (built with the git CLI), no env at all;
//! - PR runs against the fake Gitea: labeling, idempotence, dry run, base-only policy,
//!   the override rules, and every fault on every read and write route tier uses.

use std::{path::Path, process::Command, time::Duration};

use serde_json::{json, Value};
use shipgate::tier::attributes::{Attributes, Uncounted};

use crate::support::{
    fake_gitea::{Action, FakeGitea, Fault, FaultKind, FileSpec, PrSpec},
    fixture::{self, PR, REPO},
    test::Test,
};

// ---- scripted git repositories ---------------------------------------------------------

/// A throwaway repository driven by the git CLI.
struct GitRepo {
    dir: tempfile::TempDir,
}

impl GitRepo {
    /// `git init -b main` with one commit holding `files`.
    fn new(files: &[(&str, &str)]) -> GitRepo {
        let repo = GitRepo {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.write_all(files);
        repo.commit("base");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    #[track_caller]
    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn write(&self, path: &str, text: &str) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }

    fn mkdir(&self, path: &str) {
        std::fs::create_dir_all(self.path().join(path)).expect("mkdir");
    }

    fn write_all(&self, files: &[(&str, &str)]) {
        for (path, text) in files {
            self.write(path, text);
        }
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Branch `feature` off the current commit, apply `change`, commit.
    fn feature(&self, change: impl FnOnce(&GitRepo)) -> String {
        self.git(&["checkout", "-q", "-b", "feature"]);
        change(self);
        self.commit("feature")
    }
}

fn lines(n: usize, tag: &str) -> String {
    (0..n).map(|i| format!("{tag} line {i}\n")).collect()
}

/// `shipgate tier --local …` in `dir` with no environment at all.
fn local(dir: &Path, extra: &[&str]) -> Test {
    let mut args = vec!["tier", "--local"];
    args.extend_from_slice(extra);
    Test::new().args(&args).current_dir(dir)
}

fn rule_names(json: &Value) -> Vec<String> {
    json["rules"]
        .as_array()
        .expect("rules is a list")
        .iter()
        .map(|r| r["rule"].as_str().expect("rule name").to_owned())
        .collect()
}

fn rule_files(json: &Value, rule: &str) -> Vec<String> {
    json["rules"]
        .as_array()
        .expect("rules is a list")
        .iter()
        .find(|r| r["rule"] == rule)
        .unwrap_or_else(|| panic!("rule {rule} did not fire: {json}"))["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f.as_str().expect("path").to_owned())
        .collect()
}

// ---- --local ---------------------------------------------------------------------------

#[test]
fn local_readme_command_works_with_no_env_and_no_server() {
    let repo = GitRepo::new(&[("src/lib.rs", "fn a() {}\n"), ("README.md", "# x\n")]);
    repo.feature(|r| r.write("README.md", "# x\n\nmore docs\n"));
    let out = local(repo.path(), &["--base", "main", "--head", "HEAD"]).success();
    assert!(
        out.stdout.starts_with("shipgate tier: ok\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("tier `low`"), "{}", out.stdout);
    assert!(out.stdout.contains("docs-only → low"), "{}", out.stdout);
    assert!(out.stdout.contains("`README.md`"), "{}", out.stdout);
    assert!(out.stderr.is_empty(), "{}", out.stderr);

    let out = local(
        repo.path(),
        &["--base", "main", "--head", "HEAD", "--format", "json"],
    )
    .success();
    let json = out.json();
    assert_eq!(json["mode"], "tier");
    assert_eq!(json["result"], "ok");
    assert_eq!(json["tier"], "low");
    assert_eq!(json["computed_tier"], "low");
    assert_eq!(json["label_action"], Value::Null);
    assert_eq!(json["files_counted"], 1);
    assert_eq!(json["lines_counted"], 2);
    assert_eq!(json["source"], "git");
    assert_eq!(
        json["rules"],
        json!([{"rule": "docs-only", "tier": "low", "files": ["README.md"],
                "detail": "every changed file is documentation"}])
    );
}

#[test]
fn local_defaults_are_main_and_head() {
    let repo = GitRepo::new(&[("src/lib.rs", "fn a() {}\n")]);
    repo.feature(|r| r.write("src/lib.rs", "fn a() {}\nfn b() {}\n"));
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "medium");
    assert_eq!(rule_names(&json), ["other-files"]);
    assert_eq!(json["base"]["rev"], "main");
    assert_eq!(json["head"]["rev"], "HEAD");
}

#[test]
fn local_high_paths_deletions_and_renames_out_of_them() {
    let repo = GitRepo::new(&[
        ("auth/token.go", &lines(30, "token")),
        ("db/migrations/001.sql", "create table t;\n"),
        ("src/lib.rs", "fn a() {}\n"),
    ]);
    repo.feature(|r| {
        r.mkdir("pkg");
        r.git(&["mv", "auth/token.go", "pkg/token.go"]);
        r.git(&["rm", "-q", "db/migrations/001.sql"]);
    });
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "high");
    assert_eq!(rule_names(&json), ["high-path", "high-path-deleted"]);
    assert_eq!(
        rule_files(&json, "high-path"),
        ["auth/token.go", "db/migrations/001.sql"]
    );
    assert_eq!(
        rule_files(&json, "high-path-deleted"),
        ["db/migrations/001.sql"]
    );
    // The rename is detected (no line changes), the deletion counts its line.
    assert_eq!(json["files_counted"], 2);
    assert_eq!(json["lines_counted"], 1);
}

#[test]
fn local_line_counts_match_git_numstat() {
    let repo = GitRepo::new(&[
        ("src/a.rs", &lines(50, "a")),
        ("src/b.rs", &lines(20, "b")),
        ("src/c.rs", &lines(40, "c")),
        ("assets/logo.bin", "\u{0}\u{1}\u{2}binary\u{0}"),
    ]);
    repo.feature(|r| {
        r.write(
            "src/a.rs",
            &(lines(25, "a") + &lines(10, "new") + &lines(50, "a")[lines(25, "a").len()..]),
        );
        r.write("src/new.rs", &lines(7, "n"));
        r.git(&["rm", "-q", "src/b.rs"]);
        r.mkdir("lib");
        r.git(&["mv", "src/c.rs", "lib/c.rs"]);
        r.write("lib/c.rs", &(lines(40, "c") + "one more\n"));
        r.write("assets/logo.bin", "\u{0}\u{3}changed\u{0}");
    });
    let numstat = repo.git(&["diff", "--numstat", "-M", "main...feature"]);
    let expected: u64 = numstat
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            let a = parts.next()?.parse::<u64>().ok()?;
            let d = parts.next()?.parse::<u64>().ok()?;
            Some(a + d)
        })
        .sum();
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(json["lines_counted"], expected, "git says:\n{numstat}");
    assert_eq!(json["files_total"], numstat.lines().count());
    assert_eq!(expected, 10 + 7 + 20 + 1);
}

#[test]
fn local_policy_is_read_at_the_base_commit_not_the_worktree() {
    let repo = GitRepo::new(&[
        (".gitea/shipgate.yml", "tier:\n  max_lines: 5\n"),
        ("src/lib.rs", "fn a() {}\n"),
    ]);
    repo.feature(|r| r.write("src/lib.rs", &lines(6, "x")));
    // An uncommitted config in the worktree that would relax the thresholds is ignored.
    repo.write(".gitea/shipgate.yml", "tier:\n  max_lines: 100000\n");
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "high");
    assert_eq!(rule_names(&json), ["too-many-lines"]);
    let detail = json["rules"][0]["detail"].as_str().expect("detail");
    assert!(
        detail.contains("more than `tier.max_lines` (5)"),
        "{detail}"
    );
}

#[test]
fn local_head_cannot_relax_its_own_policy() {
    let repo = GitRepo::new(&[
        (".gitea/shipgate.yml", "tier:\n  max_lines: 5\n"),
        ("src/lib.rs", "fn a() {}\n"),
    ]);
    repo.feature(|r| {
        r.write(
            ".gitea/shipgate.yml",
            "tier:\n  max_lines: 100000\n  high_paths: []\n",
        );
        r.write("src/lib.rs", &lines(6, "x"));
    });
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "high");
    assert_eq!(rule_names(&json), ["high-path", "too-many-lines"]);
    assert_eq!(rule_files(&json, "high-path"), [".gitea/shipgate.yml"]);
}

#[test]
fn local_config_flag_overrides_the_base_config() {
    let repo = GitRepo::new(&[("src/lib.rs", "fn a() {}\n")]);
    repo.feature(|r| r.write("src/lib.rs", &lines(3, "x")));
    let json = local(repo.path(), &["--format", "json"])
        .config("tier:\n  max_lines: 1\n")
        .success()
        .json();
    assert_eq!(json["tier"], "high");
    assert_eq!(rule_names(&json), ["too-many-lines"]);
}

#[test]
fn local_base_gitattributes_leave_generated_and_vendored_files_uncounted() {
    let repo = GitRepo::new(&[
        (".gitattributes", "gen/** linguist-generated\n*.pb.go linguist-generated=true\nthird/** linguist-vendored\n"),
        ("src/lib.rs", "fn a() {}\n"),
    ]);
    repo.feature(|r| {
        r.write("gen/api.rs", &lines(3000, "g"));
        r.write("pkg/x.pb.go", &lines(3000, "p"));
        r.write("third/lib.c", &lines(3000, "t"));
        r.write("Cargo.lock", &lines(3000, "l"));
        r.write("src/lib.rs", "fn a() {}\nfn b() {}\n");
    });
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "medium", "{json}");
    assert_eq!(json["files_total"], 5);
    assert_eq!(json["files_counted"], 1);
    assert_eq!(json["lines_counted"], 1);
    assert_eq!(
        json["uncounted"],
        json!([
            {"file": "Cargo.lock", "why": "path"},
            {"file": "gen/api.rs", "why": "generated"},
            {"file": "pkg/x.pb.go", "why": "generated"},
            {"file": "third/lib.c", "why": "vendored"},
        ])
    );
}

#[test]
fn local_gitattributes_on_the_head_branch_do_not_count() {
    let repo = GitRepo::new(&[("src/lib.rs", "fn a() {}\n")]);
    repo.feature(|r| {
        r.write(".gitattributes", "big/** linguist-generated\n");
        r.write("big/x.rs", &lines(2000, "b"));
    });
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "high");
    assert_eq!(rule_names(&json), ["too-many-lines"]);
}

#[test]
fn local_size_thresholds_at_and_past_the_limit() {
    let repo = GitRepo::new(&[("src/lib.rs", "fn a() {}\n")]);
    repo.feature(|r| {
        for i in 0..50 {
            r.write(&format!("src/f{i}.rs"), &lines(20, "x"));
        }
    });
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(
        (json["files_counted"].clone(), json["lines_counted"].clone()),
        (json!(50), json!(1000))
    );
    assert_eq!(
        json["tier"], "medium",
        "50 files and 1000 lines are at the limits"
    );
    repo.write("src/extra.rs", "x\n");
    repo.commit("one more");
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "high");
    assert_eq!(rule_names(&json), ["too-many-lines", "too-many-files"]);
}

#[test]
fn local_empty_diff_is_low() {
    let repo = GitRepo::new(&[("src/lib.rs", "fn a() {}\n")]);
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "low");
    assert_eq!(rule_names(&json), ["empty"]);
    assert_eq!(json["files_total"], 0);
}

#[test]
fn local_diff_is_from_the_merge_base() {
    let repo = GitRepo::new(&[("src/lib.rs", "fn a() {}\n"), ("README.md", "x\n")]);
    repo.feature(|r| r.write("README.md", "x\ny\n"));
    // main moves on with a code change after the branch point: not part of the PR.
    repo.git(&["checkout", "-q", "main"]);
    repo.write("src/lib.rs", &lines(5000, "main"));
    repo.commit("main moves");
    let json = local(repo.path(), &["--head", "feature", "--format", "json"])
        .success()
        .json();
    assert_eq!(json["tier"], "low");
    assert_eq!(rule_files(&json, "docs-only"), ["README.md"]);
}

#[test]
fn local_base_falls_back_to_the_remote_tracking_branch() {
    let repo = GitRepo::new(&[("src/lib.rs", "fn a() {}\n")]);
    repo.feature(|r| r.write("docs/x.md", "doc\n"));
    let main = repo.git(&["rev-parse", "main"]);
    repo.git(&["update-ref", "refs/remotes/origin/main", &main]);
    repo.git(&["branch", "-q", "-D", "main"]);
    let json = local(repo.path(), &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "low");
    assert_eq!(json["base"]["resolved"], "origin/main");
}

#[test]
fn local_works_from_a_subdirectory() {
    let repo = GitRepo::new(&[("src/deep/lib.rs", "fn a() {}\n")]);
    repo.feature(|r| r.write("tests/t.rs", "#[test] fn t() {}\n"));
    let json = Test::new()
        .args(&["tier", "--local", "--format", "json"])
        .current_dir(repo.path().join("src/deep"))
        .success()
        .json();
    assert_eq!(json["tier"], "low");
    assert_eq!(rule_names(&json), ["tests-only"]);
}

#[test]
fn local_outside_a_repository_cannot_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = local(dir.path(), &[]).unverified();
    assert!(
        out.stderr
            .contains("::error title=shipgate tier%3A local git diff failed [tier-local-git]::"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("hint: run inside a git checkout"),
        "{}",
        out.stdout
    );
}

#[test]
fn local_unknown_revision_cannot_verify() {
    let repo = GitRepo::new(&[("src/lib.rs", "fn a() {}\n")]);
    let out = local(repo.path(), &["--base", "nope"]).unverified();
    assert!(out.stdout.contains("the revision `nope`"), "{}", out.stdout);
    let out = local(repo.path(), &["--head", "nope2", "--format", "json"]).unverified();
    assert_eq!(out.json()["result"], "cannot-verify");
}

#[test]
fn local_invalid_base_config_cannot_verify() {
    let repo = GitRepo::new(&[(".gitea/shipgate.yml", "tier:\n  max_lines: lots\n")]);
    repo.feature(|r| r.write("README.md", "x\n"));
    let out = local(repo.path(), &[]).unverified();
    assert!(
        out.stdout.contains("main:.gitea/shipgate.yml"),
        "{}",
        out.stdout
    );
}

#[test]
fn local_unreadable_gitattributes_cannot_verify() {
    let repo = GitRepo::new(&[(".gitattributes", "[z-a] linguist-generated\n")]);
    repo.feature(|r| r.write("README.md", "x\n"));
    let out = local(repo.path(), &[]).unverified();
    assert!(
        out.stdout.contains(".gitattributes line 1"),
        "{}",
        out.stdout
    );
}

/// What `git check-attr` says of `linguist-generated` and `linguist-vendored`, read as
/// linguist reads them: set, or a value of `true`/`1`/`yes`/`set`.
fn git_uncounted(repo: &GitRepo, paths: &[&str]) -> Vec<Option<Uncounted>> {
    let mut args = vec![
        "check-attr",
        "-z",
        "linguist-generated",
        "linguist-vendored",
        "--",
    ];
    args.extend_from_slice(paths);
    let out = repo.git(&args);
    let fields: Vec<&str> = out.split('\0').collect();
    let mut answers: Vec<(bool, bool)> = vec![(false, false); paths.len()];
    for row in fields.chunks(3).filter(|row| row.len() == 3) {
        let index = paths
            .iter()
            .position(|p| *p == row[0])
            .unwrap_or_else(|| panic!("git answered for `{}`", row[0]));
        let set = matches!(
            row[2].to_ascii_lowercase().as_str(),
            "set" | "true" | "1" | "yes"
        );
        match row[1] {
            "linguist-generated" => answers[index].0 = set,
            "linguist-vendored" => answers[index].1 = set,
            other => panic!("git answered for the attribute `{other}`"),
        }
    }
    answers
        .into_iter()
        .map(|(generated, vendored)| {
            if generated {
                Some(Uncounted::Generated)
            } else if vendored {
                Some(Uncounted::Vendored)
            } else {
                None
            }
        })
        .collect()
}

/// shipgate's reading of `.gitattributes` is git's: for each file below and each path,
/// `Attributes::uncounted` agrees with `git check-attr` (patterns, anchoring, `**`,
/// quoting, literal braces, set/unset/unspecified/values, later lines winning, and
/// `[attr]` macros: defined anywhere, nested, set only by a bare name). The one place
/// shipgate is stricter, a line it cannot read, is an error instead (unit tests).
#[test]
fn gitattributes_are_read_as_git_check_attr_reads_them() {
    let paths = [
        "x.pb.go",
        "a/b/x.pb.go",
        "a/b/x.go",
        "gen/a.rs",
        "src/gen/a.rs",
        "gen/sub/a.rs",
        "api/v1/x.json",
        "web/api/x.json",
        "a.js",
        "src/a.js",
        "lib/a.js",
        "x.pb",
        "a.x",
        "b.y",
        "c.z",
        "d.w",
        "e.v",
        "y.q",
        "z.r",
        "docs/my file.md",
        "x/{a}.txt",
        "x/a.txt",
        "generated/a.rs",
        "x/generated/y/a.rs",
        "third_party/a/b.c",
        "web/x.min.js",
        "a.png",
    ];
    let files = [
        "*.pb.go linguist-generated\n",
        "/gen/*.rs linguist-generated\napi/** linguist-vendored\n",
        "gen/ linguist-generated\n",
        "*.js linguist-generated=true\n",
        "*.js linguist-generated=false\n",
        "*.js linguist-generated\nsrc/*.js -linguist-generated\n",
        "*.js linguist-generated\n*.js !linguist-generated\n",
        "*.js -linguist-generated\n*.js linguist-generated\n",
        "# comment\n\n[attr]gen linguist-generated\n*.png binary\n* text=auto eol=lf\n",
        "third_party/** linguist-vendored text eol=lf\n*.min.js  linguist-generated  -diff\n",
        "\"docs/my file.md\" linguist-generated\n{a}.txt linguist-generated\n",
        "**/generated/** linguist-generated\n",
        "[attr]gen linguist-generated\n[attr]nogen -linguist-generated\n[attr]both gen linguist-vendored\n\
         *.pb gen\n*.pb -gen\na.x gen\na.x nogen\nb.y both\nc.z gen=foo\nd.w !gen\n\
         e.v linguist-generated\ne.v !gen\n",
        "*.pb gen\n[attr]gen linguist-generated\n[attr]a1 a2\n[attr]a2 linguist-vendored\n*.q a1\n\
         [attr]linguist-generated linguist-vendored\n*.r linguist-generated\n",
        "* linguist-vendored\n*.rs -linguist-vendored linguist-generated=1\n",
        "[attr]gen linguist-generated\nc.z gen=true\n*.q later\n[attr]later linguist-vendored\n",
    ];
    let repo = GitRepo::new(&[]);
    let mut compared = 0;
    for text in files {
        repo.write(".gitattributes", text);
        let ours = Attributes::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let git = git_uncounted(&repo, &paths);
        for (path, git) in paths.iter().zip(git) {
            assert_eq!(
                ours.uncounted(path),
                git,
                "`{path}` under .gitattributes {text:?}: shipgate and git check-attr disagree"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, files.len() * paths.len());
}

// ---- PR runs against the fake Gitea ------------------------------------------------------

const BASE: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const HEAD: &str = "cccccccccccccccccccccccccccccccccccccccc";
const BOT: &str = "shipgate-bot";
const BOT_TOKEN: &str = "tok-shipgate-bot";

/// A fake with users (alice is the author, the bot runs shipgate, bob and carol are
/// reviewers) and PR #7 with `files`.
fn fake_with(files: Vec<FileSpec>) -> FakeGitea {
    let fake = FakeGitea::start();
    fake.add_user(BOT, BOT_TOKEN);
    fake.add_org_owner("acme", BOT);
    fake.add_user("alice", "tok-alice");
    fake.add_user("bob", "tok-bob");
    fake.add_user("carol", "tok-carol");
    fake.add_repo(REPO);
    fake.add_pr(
        REPO,
        PrSpec {
            head_sha: HEAD.into(),
            base_sha: BASE.into(),
            ..fixture::pr()
        },
    );
    fake.set_files(REPO, PR, files);
    fake
}

fn code_files(n: usize) -> Vec<FileSpec> {
    (0..n)
        .map(|i| FileSpec::new(&format!("src/m{}/f{i}.rs", i % 7), "changed", 3, 1))
        .collect()
}

/// `shipgate tier --pr 7` against the fake, with fast retries and a short timeout.
fn tier(fake: &FakeGitea, extra: &[&str]) -> Test {
    tier_with_timeout(fake, "5", extra)
}

fn tier_with_timeout(fake: &FakeGitea, timeout: &str, extra: &[&str]) -> Test {
    let mut args = vec![
        "tier",
        "--pr",
        "7",
        "--attempts",
        "2",
        "--backoff-ms",
        "1",
        "--timeout",
        timeout,
    ];
    args.extend_from_slice(extra);
    Test::new()
        .args(&args)
        .forge(fake)
        .repo(REPO)
        .token(BOT_TOKEN)
}

fn writes(fake: &FakeGitea) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| r.key())
        .collect()
}

fn label_id(fake: &FakeGitea, name: &str) -> i64 {
    fake.add_repo_label(REPO, name, "ededed")
}

/// The route of the pull request's diff.
const DIFF: &str = "GET /repos/{owner}/{repo}/pulls/{index}.{diffType}";

/// The diff answers 404 (as a server without the route would): tier reads the pages.
fn without_diff(fake: &FakeGitea) {
    fake.fault(Fault::new(DIFF, FaultKind::Status(404)));
}

#[test]
fn pr_with_3000_files_is_read_from_one_diff() {
    let fake = fake_with(code_files(3000));
    let json = tier(&fake, &["--format", "json", "--dry-run"])
        .success()
        .json();
    assert_eq!(json["files_from"], "diff", "{json}");
    assert_eq!(json["files_fallback"], Value::Null);
    assert_eq!(json["tier"], "high");
    assert_eq!(json["files_counted"], 3000);
    assert_eq!(json["lines_counted"], 12000);
    assert_eq!(rule_names(&json), ["too-many-lines", "too-many-files"]);
    assert_eq!(fake.requests_to(DIFF).len(), 1);
    assert!(fake
        .requests_to("GET /repos/{owner}/{repo}/pulls/{index}/files")
        .is_empty());
    // The pull request before and after the diff, the two base files, the diff, the
    // labels, the repository's labels (dry run: would add).
    let routes: Vec<String> = fake.requests().iter().map(|r| r.key()).collect();
    assert_eq!(routes.len(), 7, "{routes:#?}");
    assert_eq!(
        fake.requests_to("GET /repos/{owner}/{repo}/pulls/{index}")
            .len(),
        2
    );
}

#[test]
fn pr_with_3000_files_is_read_in_60_pages_and_labeled_high_without_the_diff() {
    let fake = fake_with(code_files(3000));
    without_diff(&fake);
    let out = tier(&fake, &["--format", "json"]).success();
    let json = out.json();
    assert_eq!(json["files_from"], "pages");
    assert!(
        json["files_fallback"]
            .as_str()
            .is_some_and(|f| f.starts_with("the diff could not be read: ")),
        "{json}"
    );
    assert_eq!(json["tier"], "high");
    assert_eq!(json["computed_tier"], "high");
    assert_eq!(json["label_action"], "added");
    assert_eq!(json["files_counted"], 3000);
    assert_eq!(json["lines_counted"], 12000);
    assert_eq!(rule_names(&json), ["too-many-lines", "too-many-files"]);
    assert_eq!(fake.issue_label_names(REPO, PR), ["tier:high"]);
    assert_eq!(fake.repo_label_names(REPO), ["tier:high"]);
    let pages: Vec<String> = fake
        .requests_to("GET /repos/{owner}/{repo}/pulls/{index}/files")
        .iter()
        .map(|r| r.query_param("page").unwrap_or_default())
        .collect();
    assert_eq!(pages.len(), 60);
    let text = tier(&fake, &[]).success().stdout;
    assert!(
        text.contains("more than `tier.max_files` (50): `src/m0/f0.rs`, `src/m0/f1001.rs`, "),
        "{text}"
    );
    assert!(text.contains(" and 2992 more\n"), "{text}");
    let mut sorted: Vec<u64> = pages
        .iter()
        .map(|p| p.parse().expect("page number"))
        .collect();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=60).collect::<Vec<u64>>());
    let created = fake.requests_to("POST /repos/{owner}/{repo}/labels");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].json()["color"], "d93f0b");
    let added = fake.requests_to("POST /repos/{owner}/{repo}/issues/{index}/labels");
    assert_eq!(added.len(), 1);
    assert!(
        added[0].json()["labels"][0].is_i64(),
        "labels are added by id"
    );
    assert_eq!(out.outputs.get("tier").map(String::as_str), Some("high"));
    assert!(fake.unmatched().is_empty(), "{:?}", fake.unmatched());
}

#[test]
fn docs_only_pr_gets_the_low_label_and_text_explains_why() {
    let fake = fake_with(vec![
        FileSpec::new("README.md", "changed", 4, 1),
        FileSpec::new("docs/guide.md", "added", 20, 0),
    ]);
    let out = tier(&fake, &[]).success();
    assert_eq!(fake.issue_label_names(REPO, PR), ["tier:low"]);
    assert_eq!(
        fake.requests_to("POST /repos/{owner}/{repo}/labels")[0].json()["color"],
        "0e8a16"
    );
    assert!(fake.unmatched().is_empty(), "{:?}", fake.unmatched());
    assert!(
        out.stdout.starts_with("shipgate tier: ok\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("tier `low` for acme/app#7: added `tier:low`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "docs-only → low: every changed file is documentation: `README.md` and `docs/guide.md`"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.summary.contains("shipgate tier: `ok`"),
        "{}",
        out.summary
    );
    assert!(out.summary.contains("docs-only → low"), "{}", out.summary);
    assert_eq!(
        out.outputs.get("label-action").map(String::as_str),
        Some("added")
    );
}

#[test]
fn existing_repo_label_is_looked_up_and_added_by_id() {
    let fake = fake_with(code_files(2));
    let first = label_id(&fake, "tier:medium");
    let _duplicate = label_id(&fake, "tier:medium");
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["label_action"], "added");
    assert!(fake
        .requests_to("POST /repos/{owner}/{repo}/labels")
        .is_empty());
    let added = fake.requests_to("POST /repos/{owner}/{repo}/issues/{index}/labels");
    assert_eq!(added[0].json(), json!({"labels": [first]}));
    assert_eq!(fake.issue_label_names(REPO, PR), ["tier:medium"]);
}

#[test]
fn second_run_is_idempotent_and_writes_nothing() {
    let fake = fake_with(code_files(2));
    tier(&fake, &[]).success();
    fake.clear_requests();
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["label_action"], "unchanged");
    assert_eq!(json["tier"], "medium");
    assert!(writes(&fake).is_empty(), "{:?}", writes(&fake));
    assert_eq!(fake.issue_label_names(REPO, PR), ["tier:medium"]);
}

#[test]
fn dry_run_writes_nothing_and_says_what_it_would_do() {
    let fake = fake_with(vec![FileSpec::new("db/migrations/002.sql", "added", 10, 0)]);
    let out = tier(&fake, &["--dry-run", "--format", "json"]).success();
    let json = out.json();
    assert_eq!(json["label_action"], "would-add");
    assert_eq!(json["tier"], "high");
    assert!(writes(&fake).is_empty(), "{:?}", writes(&fake));
    assert!(fake.issue_label_names(REPO, PR).is_empty());
    assert!(fake.repo_label_names(REPO).is_empty());
    let reasons = json["reasons"].to_string();
    assert!(
        reasons.contains("would create the repository label `tier:high`"),
        "{reasons}"
    );
    let text = tier(&fake, &["--dry-run"]).success().stdout;
    assert!(text.contains("would add `tier:high` (dry run)"), "{text}");
    assert!(writes(&fake).is_empty());
}

#[test]
fn config_at_the_pr_head_is_ignored() {
    let fake = fake_with(code_files(3));
    fake.set_file(REPO, BASE, ".gitea/shipgate.yml", "tier:\n  max_files: 2\n");
    fake.set_file(
        REPO,
        HEAD,
        ".gitea/shipgate.yml",
        "tier:\n  max_files: 1000\n  max_lines: 100000\n",
    );
    fake.set_file(
        REPO,
        "feature",
        ".gitea/shipgate.yml",
        "tier:\n  max_files: 1000\n",
    );
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "high");
    assert_eq!(rule_names(&json), ["too-many-files"]);
    for request in fake.requests_to("GET /repos/{owner}/{repo}/raw/{filepath}") {
        assert_eq!(
            request.query_param("ref").as_deref(),
            Some(BASE),
            "{}",
            request.path
        );
    }
    assert_eq!(fake.issue_label_names(REPO, PR), ["tier:high"]);
}

#[test]
fn missing_policy_files_mean_defaults() {
    let fake = fake_with(code_files(3));
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "medium");
    assert_eq!(
        fake.requests_to("GET /repos/{owner}/{repo}/raw/{filepath}")
            .len(),
        2
    );
}

#[test]
fn base_gitattributes_leave_generated_files_uncounted() {
    let fake = fake_with(vec![
        FileSpec::new("api/gen/client.ts", "changed", 40_000, 0),
        FileSpec::new("web/app.ts", "changed", 3, 0),
    ]);
    fake.set_file(
        REPO,
        BASE,
        ".gitattributes",
        "api/gen/** linguist-generated\n",
    );
    fake.set_file(REPO, HEAD, ".gitattributes", "* linguist-generated\n");
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "medium");
    assert_eq!(json["lines_counted"], 3);
    assert_eq!(
        json["uncounted"],
        json!([{"file": "api/gen/client.ts", "why": "generated"}])
    );
}

#[test]
fn risk_label_makes_the_pr_high() {
    let fake = fake_with(vec![FileSpec::new("README.md", "changed", 1, 1)]);
    let risk = label_id(&fake, "area:security");
    fake.add_issue_label(REPO, PR, risk, "bob");
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "high");
    assert_eq!(rule_names(&json), ["risk-label"]);
    let mut names = fake.issue_label_names(REPO, PR);
    names.sort();
    assert_eq!(names, ["area:security", "tier:high"]);
}

#[test]
fn rename_out_of_a_high_path_is_high() {
    let fake = fake_with(vec![FileSpec::renamed(
        "auth/session.go",
        "pkg/session.go",
        0,
        0,
    )]);
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["tier"], "high");
    assert_eq!(rule_files(&json, "high-path"), ["auth/session.go"]);
}

/// Gitea before 1.22.3 sends a rename with an empty `previous_filename`: the old path is
/// unknown, so the tier cannot be verified (and nothing is labeled).
#[test]
fn a_rename_without_its_old_path_cannot_verify() {
    let mut file = FileSpec::renamed("auth/session.go", "pkg/session.go", 0, 0);
    file.previous_filename = Some(String::new());
    let fake = fake_with(vec![file]);
    // The diff says the old path; this is the paged list's check.
    without_diff(&fake);
    let out = tier(&fake, &["--format", "json"]).unverified();
    let annotation = out.annotations().join("\n");
    assert!(
        annotation.contains("`pkg/session.go` is listed as renamed without its old path"),
        "{annotation}"
    );
    assert!(annotation.contains("1.22.3"), "{annotation}");
    assert!(fake.issue_label_names(REPO, PR).is_empty());
}

#[test]
fn two_tier_labels_are_refused_and_nothing_is_removed() {
    let fake = fake_with(code_files(2));
    let low = label_id(&fake, "tier:low");
    let high = label_id(&fake, "tier:high");
    fake.add_issue_label(REPO, PR, low, "bob");
    fake.add_issue_label(REPO, PR, high, "carol");
    let out = tier(&fake, &["--format", "json"]).refused();
    let json = out.json();
    assert_eq!(json["result"], "no");
    assert_eq!(json["label_action"], "refused");
    assert_eq!(json["computed_tier"], "medium");
    assert!(json["error"]["message"]
        .as_str()
        .expect("message")
        .starts_with(
            "apply exactly one tier label: the pull request carries `tier:low` and `tier:high`"
        ));
    assert!(
        out.stderr
            .contains("::error title=shipgate tier%3A tier label refused [tier-label-refused]::apply exactly one"),
        "{}",
        out.stderr
    );
    assert!(writes(&fake).is_empty());
    assert_eq!(fake.issue_label_names(REPO, PR), ["tier:low", "tier:high"]);
}

#[test]
fn higher_label_is_kept() {
    let fake = fake_with(vec![FileSpec::new("README.md", "changed", 1, 0)]);
    let high = label_id(&fake, "tier:high");
    fake.add_issue_label(REPO, PR, high, "alice");
    let out = tier(&fake, &["--format", "json"]).success();
    let json = out.json();
    assert_eq!(json["label_action"], "kept-higher");
    assert_eq!(json["tier"], "high");
    assert_eq!(json["computed_tier"], "low");
    assert_eq!(out.outputs.get("tier").map(String::as_str), Some("high"));
    assert!(writes(&fake).is_empty());
}

#[test]
fn lower_label_applied_by_the_author_is_refused() {
    let fake = fake_with(vec![FileSpec::new("auth/login.go", "changed", 1, 0)]);
    let low = label_id(&fake, "tier:low");
    fake.add_issue_label(REPO, PR, low, "alice");
    let out = tier(&fake, &[]).refused();
    assert!(
        out.stdout.contains(
            "`tier:low` is lower than the computed tier `high`, and the author `alice` applied it"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("hint: remove `tier:low` (the next run adds `tier:high`), or have anyone with write access except the author apply the lower label"), "{}", out.stdout);
    assert!(writes(&fake).is_empty());
    assert_eq!(fake.issue_label_names(REPO, PR), ["tier:low"]);
}

#[test]
fn lower_label_applied_by_a_non_author_is_kept() {
    let fake = fake_with(vec![FileSpec::new("auth/login.go", "changed", 1, 0)]);
    let low = label_id(&fake, "tier:low");
    // The author added it first; bob removed it and re-applied it: the latest adder counts.
    fake.add_issue_label(REPO, PR, low, "alice");
    fake.remove_issue_label(REPO, PR, low, "bob");
    fake.add_issue_label(REPO, PR, low, "bob");
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["label_action"], "kept-override");
    assert_eq!(json["tier"], "low");
    assert_eq!(json["computed_tier"], "high");
    assert_eq!(json["label_added_by"], "bob");
    assert!(writes(&fake).is_empty());
}

#[test]
fn lower_label_from_outside_the_override_teams_is_refused() {
    let fake = fake_with(vec![FileSpec::new("auth/login.go", "changed", 1, 0)]);
    fake.add_team("acme", "qa", &["carol"]);
    fake.set_file(
        REPO,
        BASE,
        ".gitea/shipgate.yml",
        "tier:\n  override_teams: [qa]\n",
    );
    let medium = label_id(&fake, "tier:medium");
    fake.add_issue_label(REPO, PR, medium, "bob");
    let out = tier(&fake, &[]).refused();
    assert!(
        out.stdout.contains("`bob` who applied it is not in `qa`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("have a member of `qa` other than the author apply the lower label"),
        "{}",
        out.stdout
    );
    assert!(writes(&fake).is_empty());
}

#[test]
fn lower_label_from_an_override_team_member_is_kept() {
    let fake = fake_with(vec![FileSpec::new("auth/login.go", "changed", 1, 0)]);
    fake.add_team("acme", "qa", &["carol"]);
    fake.add_team("acme", "security", &["dave"]);
    fake.set_file(
        REPO,
        BASE,
        ".gitea/shipgate.yml",
        "tier:\n  override_teams: [security, qa]\n",
    );
    let medium = label_id(&fake, "tier:medium");
    fake.add_issue_label(REPO, PR, medium, "carol");
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["label_action"], "kept-override");
    assert_eq!(json["tier"], "medium");
    assert!(writes(&fake).is_empty());
}

#[test]
fn missing_override_team_cannot_verify() {
    let fake = fake_with(vec![FileSpec::new("auth/login.go", "changed", 1, 0)]);
    fake.add_team("acme", "qa", &["carol"]);
    fake.set_file(
        REPO,
        BASE,
        ".gitea/shipgate.yml",
        "tier:\n  override_teams: [qa-team]\n",
    );
    let medium = label_id(&fake, "tier:medium");
    fake.add_issue_label(REPO, PR, medium, "carol");
    let out = tier(&fake, &[]).unverified();
    assert!(
        out.stdout.contains("the override team `qa-team` in `acme`"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("visible: `qa`"), "{}", out.stdout);
}

#[test]
fn lower_label_added_by_shipgate_for_an_older_head_is_replaced() {
    let fake = fake_with(vec![FileSpec::new("migrations/003.sql", "added", 1, 0)]);
    let low = label_id(&fake, "tier:low");
    let high = label_id(&fake, "tier:high");
    fake.add_issue_label(REPO, PR, low, BOT);
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["label_action"], "added");
    assert_eq!(json["tier"], "high");
    assert_eq!(fake.issue_label_names(REPO, PR), ["tier:high"]);
    let deleted = fake.requests_to("DELETE /repos/{owner}/{repo}/issues/{index}/labels/{id}");
    assert_eq!(deleted.len(), 1);
    assert!(
        deleted[0].path.ends_with(&format!("/labels/{low}")),
        "{}",
        deleted[0].path
    );
    let added = fake.requests_to("POST /repos/{owner}/{repo}/issues/{index}/labels");
    assert_eq!(added[0].json(), json!({"labels": [high]}));
}

#[test]
fn a_concurrent_label_change_after_the_write_is_no() {
    let fake = fake_with(code_files(2));
    let medium = label_id(&fake, "tier:medium");
    let low = label_id(&fake, "tier:low");
    // Once shipgate's POST has been handled, and before its answer leaves, bob adds
    // tier:low.
    fake.after_hit(
        "POST /repos/{owner}/{repo}/issues/{index}/labels",
        1,
        Action::AddIssueLabel {
            repo: REPO.into(),
            number: PR,
            label_id: low,
            by: "bob".into(),
        },
    );
    let racer = tier(&fake, &["--format", "json"]).refused();
    let json = racer.json();
    assert_eq!(json["result"], "no");
    assert!(
        json["error"]["message"]
            .as_str()
            .expect("message")
            .contains("the labels changed concurrently"),
        "{json}"
    );
    assert_eq!(
        fake.issue_label_names(REPO, PR),
        ["tier:medium", "tier:low"]
    );
    assert_eq!(
        fake.requests_to("POST /repos/{owner}/{repo}/issues/{index}/labels")[0].json(),
        json!({"labels": [medium]})
    );
}

#[test]
fn closed_pr_is_not_applicable_and_untouched() {
    let fake = fake_with(code_files(2));
    fake.set_pr_state(REPO, PR, "closed", false);
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["result"], "not-applicable");
    assert!(writes(&fake).is_empty());
    assert_eq!(fake.requests().len(), 1, "only the PR is read");
}

#[test]
fn pr_number_comes_from_the_event() {
    let fake = fake_with(code_files(1));
    let json = Test::new()
        .args(&["tier", "--format", "json"])
        .forge(&fake)
        .repo(REPO)
        .token(BOT_TOKEN)
        .event(
            "pull_request_target",
            json!({"action": "synchronize", "number": PR, "pull_request": {"number": PR}}),
        )
        .success()
        .json();
    assert_eq!(json["pr"], PR);
    assert_eq!(json["tier"], "medium");
}

#[test]
fn missing_token_cannot_verify_before_any_request() {
    let fake = fake_with(code_files(1));
    let out = Test::new()
        .args(&["tier", "--pr", "7"])
        .forge(&fake)
        .repo(REPO)
        .unverified();
    assert!(
        out.stderr
            .contains("::error title=shipgate tier%3A token missing [token-missing]::"),
        "{}",
        out.stderr
    );
    assert!(fake.requests().is_empty());
    assert!(
        out.stderr
            .contains("pass a token through the action's `token` input"),
        "{}",
        out.stderr
    );
    // Started by the action, the input was given but its secret is missing or empty: the
    // hint names the input and the secret, not "pass a token".
    let out = Test::new()
        .args(&["tier", "--pr", "7"])
        .forge(&fake)
        .repo(REPO)
        .env("SHIPGATE_VIA_ACTION", "1")
        .unverified();
    assert!(
        out.stderr.contains(
            "the action's `token` input reached shipgate empty: the secret the workflow passes to it is missing or empty"
        ),
        "{}",
        out.stderr
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn from_git_reads_files_from_the_checkout() {
    let repo = GitRepo::new(&[("src/lib.rs", "fn a() {}\n")]);
    let base = repo.git(&["rev-parse", "HEAD"]);
    let head = repo.feature(|r| r.write("auth/x.go", "package auth\n"));
    let fake = FakeGitea::start();
    fake.add_user(BOT, BOT_TOKEN);
    fake.add_org_owner("acme", BOT);
    fake.add_repo(REPO);
    fake.add_pr(
        REPO,
        PrSpec {
            number: PR,
            author: "alice".into(),
            head_sha: head.clone(),
            base_sha: base,
            ..PrSpec::default()
        },
    );
    let repo_dir = repo.path().display().to_string();
    let json = tier(
        &fake,
        &["--from-git", "--repo-dir", &repo_dir, "--format", "json"],
    )
    .success()
    .json();
    assert_eq!(json["source"], "git");
    assert_eq!(json["tier"], "high");
    assert_eq!(rule_files(&json, "high-path"), ["auth/x.go"]);
    assert!(fake
        .requests_to("GET /repos/{owner}/{repo}/pulls/{index}/files")
        .is_empty());
    assert_eq!(fake.issue_label_names(REPO, PR), ["tier:high"]);

    // A head that is not the PR's head is refused.
    fake.set_pr_head(REPO, PR, &"d".repeat(40));
    let out = tier(
        &fake,
        &["--from-git", "--repo-dir", &repo_dir, "--head", "HEAD"],
    )
    .unverified();
    assert!(
        out.stdout
            .contains("but the pull request's head is `dddddddd`"),
        "{}",
        out.stdout
    );
}

// ---- every fault on every route ------------------------------------------------------------

/// A scenario that drives tier through a set of routes.
#[derive(Clone, Copy, Debug)]
enum Scenario {
    /// A lower tier label applied by a qa member with `override_teams: [qa]`: every read
    /// route (PR, raw ×2, files, labels, timeline, user, org teams, member probe), no write.
    Override,
    /// No tier label and no repo label: repo labels, create, add, re-read.
    Add,
    /// A lower label shipgate added for an older head: add then remove.
    Replace,
}

fn scenario(s: Scenario) -> FakeGitea {
    let fake = fake_with(code_files(60));
    let bug = label_id(&fake, "bug");
    fake.add_issue_label(REPO, PR, bug, "bob");
    // Both policy files exist at the base, so every raw read has a body to break.
    fake.set_file(
        REPO,
        BASE,
        ".gitea/shipgate.yml",
        "tier:\n  max_files: 50\n",
    );
    fake.set_file(REPO, BASE, ".gitattributes", "*.pb.go linguist-generated\n");
    match s {
        Scenario::Override => {
            fake.add_team("acme", "qa", &["carol"]);
            fake.set_file(
                REPO,
                BASE,
                ".gitea/shipgate.yml",
                "tier:\n  override_teams: [qa]\n",
            );
            let low = label_id(&fake, "tier:low");
            fake.add_issue_label(REPO, PR, low, "carol");
        }
        Scenario::Add => {}
        Scenario::Replace => {
            let low = label_id(&fake, "tier:low");
            label_id(&fake, "tier:high");
            fake.add_issue_label(REPO, PR, low, BOT);
        }
    }
    fake
}

/// Whether a fault on this route makes its answer different at all (a count on a list
/// without `X-Total-Count` changes nothing, a 404 on some routes is a finding).
fn applies(route: &str, kind: &FaultKind) -> bool {
    // A failed diff is not exit 2: tier reads the pages instead (its own test below).
    if route == DIFF {
        return false;
    }
    // The timeline is not here: Gitea's `X-Total-Count` there is the size of the page it
    // served, so the client walks pages to two empty ones and reads no count, and a page
    // short by a row is what the real server sends when it drops code comments.
    let paged = matches!(
        route,
        "GET /repos/{owner}/{repo}/pulls/{index}/files"
            | "GET /repos/{owner}/{repo}/labels"
            | "GET /orgs/{org}/teams"
    );
    let array_body = paged
        || matches!(
            route,
            "GET /repos/{owner}/{repo}/issues/{index}/labels"
                | "POST /repos/{owner}/{repo}/issues/{index}/labels"
        );
    match kind {
        // A 404 for a missing file means defaults; for the member probe, "not a member".
        FaultKind::Status(404) => !matches!(
            route,
            "GET /repos/{owner}/{repo}/raw/{filepath}" | "GET /teams/{id}/members/{username}"
        ),
        FaultKind::Status(_)
        | FaultKind::StatusRetryAfter(..)
        | FaultKind::Delay(_)
        | FaultKind::Reset
        | FaultKind::CutBody => true,
        // DELETE answers 204 without a body, and the member probe is decided by its status
        // (the forge client does not read the 200 body): there is nothing to malform.
        FaultKind::Malformed => {
            !route.starts_with("DELETE ") && route != "GET /teams/{id}/members/{username}"
        }
        FaultKind::TruncatePage => array_body,
        FaultKind::WrongTotal(_) | FaultKind::NoTotal => paged,
    }
}

fn all_faults() -> Vec<FaultKind> {
    vec![
        FaultKind::Status(401),
        FaultKind::Status(403),
        FaultKind::Status(404),
        FaultKind::Status(500),
        FaultKind::Status(502),
        FaultKind::Delay(Duration::from_millis(2500)),
        FaultKind::Malformed,
        FaultKind::TruncatePage,
        FaultKind::WrongTotal(1),
        FaultKind::WrongTotal(-1),
        FaultKind::NoTotal,
    ]
}

/// Run `s` once cleanly to learn its routes, then once per (route, fault): every run must
/// exit 2 with one `::error` line. A fault on a read means no write at all; a fault on a
/// write means no further write; a refused first write leaves every label as it was.
fn every_fault(s: Scenario, expect_clean: &str) {
    let fake = scenario(s);
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["label_action"], expect_clean, "{s:?}: {json}");
    assert!(fake.unmatched().is_empty(), "{:?}", fake.unmatched());
    let clean_writes = writes(&fake);
    let mut routes: Vec<String> = fake.requests().iter().map(|r| r.key()).collect();
    routes.sort();
    routes.dedup();
    let mut runs = 0;
    for route in &routes {
        for kind in all_faults() {
            if !applies(route, &kind) {
                continue;
            }
            let fake = scenario(s);
            let issue_before = fake.issue_label_names(REPO, PR);
            let repo_before = fake.repo_label_names(REPO);
            fake.fault(Fault::new(route, kind.clone()));
            eprintln!("fault case: {s:?} {route} {kind:?}");
            let out = tier_with_timeout(&fake, "1", &["--format", "json"]).status(2);
            runs += 1;
            let case = format!("{s:?} {route} {kind:?}");
            let json = out.json();
            assert_eq!(json["result"], "cannot-verify", "{case}: {json}");
            assert_eq!(
                out.stderr.matches("::error title=").count(),
                1,
                "{case}: {}",
                out.stderr
            );
            let sent = writes(&fake);
            if route.starts_with("GET ") {
                assert!(sent.is_empty(), "{case}: wrote {sent:?}");
            } else {
                let first = sent
                    .iter()
                    .position(|w| w == route)
                    .expect("the faulted write was sent");
                assert!(
                    sent[first..].iter().all(|w| w == route),
                    "{case}: wrote after the failed write: {sent:?}"
                );
            }
            let rejected_first_write =
                clean_writes.first() == Some(route) && matches!(kind, FaultKind::Status(_));
            if route.starts_with("GET ") || rejected_first_write {
                assert_eq!(fake.issue_label_names(REPO, PR), issue_before, "{case}");
                assert_eq!(fake.repo_label_names(REPO), repo_before, "{case}");
            }
        }
    }
    assert!(runs > 20, "{s:?}: only {runs} fault runs over {routes:?}");
}

#[test]
fn every_fault_on_every_read_route_is_exit_2_with_nothing_written() {
    every_fault(Scenario::Override, "kept-override");
}

#[test]
fn every_fault_while_adding_a_label_is_exit_2() {
    every_fault(Scenario::Add, "added");
}

#[test]
fn every_fault_while_replacing_shipgates_own_label_is_exit_2() {
    every_fault(Scenario::Replace, "added");
}

/// Every fault on the diff, and a diff cut cleanly at a file boundary, reads the paged
/// list instead, with the same result as the diff.
#[test]
fn every_fault_on_the_diff_falls_back_to_the_same_result() {
    let strip = |mut json: Value| {
        for key in ["files_from", "files_fallback"] {
            json.as_object_mut().map(|o| o.remove(key));
        }
        json
    };
    let files = vec![
        FileSpec::new("src/lib.rs", "changed", 3, 1),
        FileSpec::renamed("auth/old name.rs", "src/new\tname.rs", 1, 0),
        FileSpec::new("docs/gone.md", "deleted", 0, 4),
        FileSpec::new("logo.png", "unchanged", 0, 0),
    ];
    let clean = tier(
        &fake_with(files.clone()),
        &["--format", "json", "--dry-run"],
    )
    .success()
    .json();
    assert_eq!(clean["files_from"], "diff", "{clean}");
    assert_eq!(clean["tier"], "high", "{clean}");
    for (kind, why) in [
        (FaultKind::Status(401), "could not be read"),
        (FaultKind::Status(403), "could not be read"),
        (FaultKind::Status(404), "could not be read"),
        (FaultKind::Status(500), "could not be read"),
        (FaultKind::Status(502), "could not be read"),
        (
            FaultKind::Delay(Duration::from_millis(2500)),
            "could not be read",
        ),
        (FaultKind::Reset, "could not be read"),
        (FaultKind::CutBody, "could not be read"),
        (FaultKind::Malformed, "the diff is malformed at line 1"),
        (
            FaultKind::TruncatePage,
            "the diff has 3 files, the pull request says 4",
        ),
    ] {
        let fake = fake_with(files.clone());
        fake.fault(Fault::new(DIFF, kind.clone()));
        let json = tier_with_timeout(&fake, "1", &["--format", "json", "--dry-run"])
            .success()
            .json();
        assert_eq!(json["files_from"], "pages", "{kind:?}: {json}");
        let fallback = json["files_fallback"].as_str().unwrap_or_default();
        assert!(fallback.contains(why), "{kind:?}: {fallback}");
        assert_eq!(strip(json), strip(clean.clone()), "{kind:?}");
    }
}

/// The pull request moving while the diff is read is not proof: the pages are read.
#[test]
fn a_head_that_moves_during_the_diff_reads_the_pages() {
    let fake = fake_with(code_files(3));
    fake.after_hit(
        DIFF,
        1,
        Action::SetPrHead {
            repo: REPO.into(),
            number: PR,
            sha: "9".repeat(40),
        },
    );
    let json = tier(&fake, &["--format", "json", "--dry-run"])
        .success()
        .json();
    assert_eq!(json["files_from"], "pages", "{json}");
    assert_eq!(
        json["files_fallback"],
        "the pull request's head changed while the diff was read"
    );
}

#[test]
fn a_transient_500_is_retried() {
    let fake = fake_with(code_files(120));
    without_diff(&fake);
    fake.fault(
        Fault::new(
            "GET /repos/{owner}/{repo}/pulls/{index}/files",
            FaultKind::Status(500),
        )
        .page(2)
        .times(1),
    );
    let json = tier(&fake, &["--format", "json"]).success().json();
    assert_eq!(json["files_counted"], 120);
    assert_eq!(
        fake.requests_to("GET /repos/{owner}/{repo}/pulls/{index}/files")
            .len(),
        4
    );
}

#[test]
fn a_file_without_a_name_cannot_verify() {
    let fake = fake_with(vec![
        FileSpec::new("README.md", "changed", 1, 0),
        FileSpec::new("", "changed", 500, 0),
    ]);
    let out = tier(&fake, &[]).unverified();
    assert!(
        out.stdout
            .contains("a changed file has an empty `filename`"),
        "{}",
        out.stdout
    );
    assert!(writes(&fake).is_empty());
}

// ---- audit: fail-open paths ------------------------------------------------------------

/// A PR whose `state` is neither `open` nor `closed` (a proxy rewriting it, a future
/// state) is an answer not of the API's shape: cannot-verify, not a green "not applicable".
#[test]
fn a_pr_state_that_is_neither_open_nor_closed_is_cannot_verify() {
    for state in ["OPEN", "", "draft"] {
        let fake = fake_with(code_files(2));
        fake.set_pr_state(REPO, PR, state, false);
        let out = tier(&fake, &["--format", "json"]).unverified();
        assert_eq!(out.json()["result"], "cannot-verify", "state {state:?}");
        assert_eq!(out.annotations().len(), 1, "{}", out.stderr);
        assert!(writes(&fake).is_empty());
    }
}

/// The latest timeline row that added the lower label decides who applied it. When that
/// row names nobody (`user: null`), an older row by an allowed user must not be used in
/// its place: the adder is unknown and the lower label is refused.
#[test]
fn a_lower_label_whose_latest_add_names_nobody_is_refused() {
    let fake = fake_with(vec![FileSpec::new("auth/login.go", "changed", 1, 0)]);
    let low = label_id(&fake, "tier:low");
    fake.add_issue_label(REPO, PR, low, "bob");
    // A later add of the same label whose row carries no user.
    fake.add_timeline(
        REPO,
        PR,
        json!({"type": "label", "body": "1", "user": null,
               "label": {"id": low, "name": "tier:low", "color": "00aa00", "description": ""}}),
    );
    let json = tier(&fake, &["--format", "json"]).refused().json();
    assert_eq!(json["label_action"], "refused");
    assert_eq!(json["computed_tier"], "high");
    assert!(writes(&fake).is_empty());
}

/// A file name is the PR author's text: with a newline in it, the text report must not
/// start a line the runner would read as a workflow command (`::set-output`, `::error`,
/// `::stop-commands`…).
#[test]
fn a_file_name_with_newlines_cannot_inject_workflow_commands() {
    let evil = "auth/a.rs\n::set-output name=tier::low\n::stop-commands::x\r\n::error::ok";
    let fake = fake_with(vec![
        FileSpec::new(evil, "changed", 1, 1),
        FileSpec::new("auth/x.rs", "changed", 1, 1),
    ]);
    let out = tier(&fake, &[]).success();
    for stream in [&out.stdout, &out.stderr] {
        for line in stream.lines() {
            assert!(
                !line.trim_start().starts_with("::") || line.starts_with("::add-mask::"),
                "a workflow command line was emitted: {line:?}\n{stream}"
            );
        }
    }
    assert_eq!(out.outputs.get("tier").map(String::as_str), Some("high"));
}

// ---- the diff and the pages agree ---------------------------------------------------------

mod diff_equals_pages {
    use proptest::prelude::*;

    use super::*;

    /// A path of 1–3 parts: plain, with spaces, with characters git quotes (tab, quote,
    /// backslash), non-ASCII; under high, docs, test and code directories.
    fn path() -> impl Strategy<Value = String> {
        let dir = prop_oneof![
            Just("auth"),
            Just("docs"),
            Just("tests"),
            Just("src"),
            Just("my dir"),
            Just(".gitea/workflows"),
        ];
        let name = prop_oneof![
            "[a-z]{1,6}\\.(rs|md|lock)",
            "[a-z]{1,3} [a-z]{1,3}\\.md",
            "[a-z]{1,3}[\t\"\\\\][a-z]{1,3}",
            "[éü ]{1,3}[a-z]{1,2}",
            Just("b".to_owned()),
        ];
        (dir, name).prop_map(|(dir, name)| format!("{dir}/{name}"))
    }

    fn file() -> impl Strategy<Value = FileSpec> {
        (path(), path(), 0u8..6, 0u64..400, 0u64..40).prop_map(|(path, old, kind, a, d)| match kind
        {
            0 => FileSpec::new(&path, "added", a, 0),
            1 => FileSpec::new(&path, "deleted", 0, d),
            2 if old != path => FileSpec::renamed(&old, &path, a % 3, d % 3),
            3 => FileSpec::new(&path, "unchanged", 0, 0),
            _ if a + d == 0 => FileSpec::new(&path, "unchanged", 0, 0),
            _ => FileSpec::new(&path, "changed", a, d),
        })
    }

    /// Gitea lists each path once.
    fn files() -> impl Strategy<Value = Vec<FileSpec>> {
        proptest::collection::vec(file(), 0..70).prop_map(|mut files| {
            let mut seen = std::collections::BTreeSet::new();
            files.retain(|f| seen.insert(f.filename.clone()));
            files
        })
    }

    fn without(mut json: Value) -> Value {
        for key in ["files_from", "files_fallback"] {
            json.as_object_mut().map(|o| o.remove(key));
        }
        json
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// The same pull request read from its diff and from its paged files list gives the
        /// same tier, rules, files and counts; the diff run reads no page.
        #[test]
        fn the_diff_and_the_pages_give_the_same_result(files in files()) {
            let from_diff = fake_with(files.clone());
            let diff = tier(&from_diff, &["--format", "json", "--dry-run"]).success().json();
            prop_assert_eq!(&diff["files_from"], "diff", "{}", diff);
            let pages_read = from_diff
                .requests_to("GET /repos/{owner}/{repo}/pulls/{index}/files")
                .len();
            prop_assert_eq!(pages_read, 0);
            let from_pages = fake_with(files);
            without_diff(&from_pages);
            let pages = tier(&from_pages, &["--format", "json", "--dry-run"]).success().json();
            prop_assert_eq!(&pages["files_from"], "pages", "{}", pages);
            prop_assert_eq!(without(diff), without(pages));
        }
    }
}
