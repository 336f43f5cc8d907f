//! Integration tests: sync against the real Gitea's own smart HTTP, every version.
//! Harness: real_gitea, test.
//!
//! Staging is protected with a push allowlist of `devops-engineer` only, as the auto-sync
//! example says. Each test asserts the exit code and staging's tip and ancestry afterwards
//! (read from a fresh `git clone` of the server, so git itself checks the objects).

use std::path::Path;

use crate::real_gitea_tests;
use crate::support::{
    real_gitea::{git, Change, RealGitea, Repo},
    test::Test,
};

fn sync(repo: &Repo<'_>, login: &str) -> Test {
    Test::new()
        .args(&["sync", "--format", "json", "-v"])
        .server(&repo.gitea.url)
        .repo(&repo.full)
        .token(repo.gitea.token(login))
}

/// A repo whose main is `ahead` commits ahead; with `diverged`, staging has its own commit.
fn repo_with<'g>(g: &'g RealGitea, prefix: &str, diverged: bool) -> Repo<'g> {
    let repo = g.repo(prefix);
    repo.commit(
        "alice",
        "main",
        None,
        "main work",
        &[Change::Create("src/main.rs", "fn main() {}\n")],
    );
    if diverged {
        repo.commit(
            "alice",
            "staging",
            None,
            "staging fix",
            &[Change::Create("ops/hotfix.sh", "echo fix\n")],
        );
    }
    repo.protect_staging(&["devops-engineer"]);
    repo
}

/// Clone the server's repository (git checks every object) and answer `is a an ancestor of b`.
fn is_ancestor(dir: &Path, a: &str, b: &str) -> bool {
    std::process::Command::new("git")
        .args(["merge-base", "--is-ancestor", a, b])
        .current_dir(dir)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn fresh_clone(repo: &Repo<'_>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    git(
        dir.path(),
        &["clone", "--bare", "--quiet", &repo.clone_url(), "r.git"],
    );
    git(
        &dir.path().join("r.git"),
        &["fsck", "--strict", "--no-progress"],
    );
    dir
}

fn fast_forward_through_smart_http(g: &RealGitea) {
    let repo = repo_with(g, "sync-ff", false);
    let main = repo.tip("main");
    let output = sync(&repo, "devops-engineer").success();
    let json = output.json();
    assert_eq!(json["plan"], "fast-forward", "{}", output.stdout);
    assert_eq!(repo.tip("staging"), main);
    assert_eq!(output.outputs.get("new-sha"), Some(&main));
}

fn merge_through_smart_http(g: &RealGitea) {
    let repo = repo_with(g, "sync-merge", true);
    let main = repo.tip("main");
    let old = repo.tip("staging");
    let output = sync(&repo, "devops-engineer").success();
    assert_eq!(output.json()["plan"], "merge", "{}", output.stdout);
    let new = repo.tip("staging");
    let clone = fresh_clone(&repo);
    let dir = clone.path().join("r.git");
    assert!(is_ancestor(&dir, &main, &new), "main is in the new staging");
    assert!(
        is_ancestor(&dir, &old, &new),
        "old staging is in the new staging"
    );
    let parents = git(&dir, &["rev-list", "--parents", "-n", "1", &new]);
    assert_eq!(parents, format!("{new} {old} {main}"));
    let message = git(&dir, &["log", "-1", "--format=%s", &new]);
    assert_eq!(
        message,
        format!("chore: sync main → staging (auto, {})", &main[..8])
    );
    // Gitea's own branch view agrees, and a second run is up to date.
    let again = sync(&repo, "devops-engineer").success();
    assert_eq!(again.json()["plan"], "up-to-date");
}

fn an_account_off_the_allowlist_gets_gitea_s_refusal_and_runbook_c(g: &RealGitea) {
    let repo = repo_with(g, "sync-refused", true);
    let before = repo.tip("staging");
    let output = sync(&repo, "outsider-syncer").refused();
    let json = output.json();
    assert_eq!(json["pushed"], false, "{}", output.stdout);
    let error = json["error"].to_string();
    assert!(
        error.contains("Not allowed to push to protected branch staging"),
        "{error}"
    );
    assert!(error.contains("runbook C"), "{error}");
    assert_eq!(repo.tip("staging"), before);
}

fn a_revoked_token_cannot_verify(g: &RealGitea) {
    let repo = repo_with(g, "sync-revoked", true);
    let before = repo.tip("staging");
    let (login, token) =
        g.fresh_account("revoked", &["devops"], &["write:repository", "read:user"]);
    g.revoke_tokens(&login);
    let output = Test::new()
        .args(&["sync", "--format", "json"])
        .server(&g.url)
        .repo(&repo.full)
        .token(&token)
        .unverified();
    assert!(
        output.json()["error"]["hint"]
            .to_string()
            .contains("runbook B"),
        "{}",
        output.stdout
    );
    assert_eq!(repo.tip("staging"), before);
}

fn a_push_to_staging_during_the_sync_is_replanned_and_kept(g: &RealGitea) {
    let repo = repo_with(g, "sync-race", true);
    let old = repo.tip("staging");
    let main = repo.tip("main");
    // A pre-receive hook that, on the first push only, moves staging itself (as another
    // client's push landing between shipgate's fetch and its push would).
    let hooks = repo.gitea_repo_dir().join("hooks").join("pre-receive.d");
    std::fs::create_dir_all(&hooks).expect("hooks dir");
    let marker = repo.gitea_repo_dir().join("raced");
    let script = format!(
        "#!/bin/sh\nset -e\n[ -e '{marker}' ] && exit 0\ntouch '{marker}'\n\
         unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n\
         tree=$(git rev-parse refs/heads/staging^{{tree}})\n\
         c=$(GIT_AUTHOR_NAME=racer GIT_AUTHOR_EMAIL=r@x GIT_COMMITTER_NAME=racer GIT_COMMITTER_EMAIL=r@x \
         git commit-tree \"$tree\" -p refs/heads/staging -m racer)\n\
         git update-ref refs/heads/staging \"$c\"\necho \"$c\" > '{marker}'\n",
        marker = marker.display()
    );
    let hook = hooks.join("zz-race");
    std::fs::write(&hook, script).expect("write hook");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let output = sync(&repo, "devops-engineer").success();
    let json = output.json();
    assert_eq!(json["attempts"], 2, "re-planned once: {}", output.stdout);
    let racer = std::fs::read_to_string(&marker)
        .expect("the hook ran")
        .trim()
        .to_owned();
    assert_eq!(racer.len(), 40, "the racer commit: {racer}");
    let clone = fresh_clone(&repo);
    let dir = clone.path().join("r.git");
    let new = git(&dir, &["rev-parse", "refs/heads/staging"]);
    for kept in [&old, &main, &racer] {
        assert!(
            is_ancestor(&dir, kept, &new),
            "{kept} lost from staging {new}"
        );
    }
}

fn check_token_with_a_junk_token_on_a_public_repo_cannot_verify(g: &RealGitea) {
    let repo = repo_with(g, "sync-canary", false);
    let output = Test::new()
        .args(&["sync", "--check-token", "--format", "json"])
        .server(&g.url)
        .repo(&repo.full)
        .token("0123456789abcdef0123456789abcdef01234567")
        .unverified();
    assert_eq!(output.annotations().len(), 1, "{}", output.stderr);
    // The right token passes the canary.
    let ok = Test::new()
        .args(&["sync", "--check-token", "--format", "json"])
        .server(&g.url)
        .repo(&repo.full)
        .token(g.token("devops-engineer"))
        .success();
    assert_eq!(ok.json()["login"], "devops-engineer", "{}", ok.stdout);
    assert_eq!(ok.json()["can_write"], true, "{}", ok.stdout);
}

/// Gitea serves the receive-pack advertisement to a read-only account and refuses the push
/// later, so `--check-token` proves write by the account's permission: a read-only token
/// is a verified no (exit 1, `sync-token-read-only`), and its real push is refused.
fn check_token_of_a_read_only_account_is_refused(g: &RealGitea) {
    let repo = repo_with(g, "sync-ro", false);
    let (login, token) = g.fresh_account("sync-ro", &[], &["write:repository", "read:user"]);
    repo.add_collaborator(&login, "read");
    let refused = Test::new()
        .args(&["sync", "--check-token", "--format", "json"])
        .server(&g.url)
        .repo(&repo.full)
        .token(&token)
        .refused();
    let json = refused.json();
    assert_eq!(
        json["error"]["code"], "sync-token-read-only",
        "{}",
        refused.stdout
    );
    assert_eq!(json["can_write"], false);
    assert_eq!(refused.annotations().len(), 1, "{}", refused.stderr);
    // What the check foretold: the sync itself is refused.
    let sync = Test::new()
        .args(&["sync", "--format", "json"])
        .server(&g.url)
        .repo(&repo.full)
        .token(&token)
        .run();
    assert_ne!(
        sync.status, 0,
        "a read-only account cannot sync: {}",
        sync.stdout
    );
}

real_gitea_tests!(
    fast_forward_through_smart_http,
    merge_through_smart_http,
    an_account_off_the_allowlist_gets_gitea_s_refusal_and_runbook_c,
    a_revoked_token_cannot_verify,
    a_push_to_staging_during_the_sync_is_replanned_and_kept,
    check_token_with_a_junk_token_on_a_public_repo_cannot_verify,
    check_token_of_a_read_only_account_is_refused,
);
