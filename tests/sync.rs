//! Integration tests: sync.
use crate::support::git_server::GitServer;

#[test]
fn harness_serves_clone_and_authenticated_push() {
    let server = GitServer::start();
    server.add_user("bot", "tok-bot");
    server.create_repo("acme/app");
    server.fast_import(
        "acme/app",
        "commit refs/heads/main\ncommitter T <t@e> 1700000000 +0000\ndata 2\nm1\nM 100644 inline a.txt\ndata 2\na\n\n",
    );
    let dir = tempfile::tempdir().expect("tmp");
    let url = server.repo_url("acme/app");
    server.git(dir.path(), &["clone", "--quiet", &url, "w"]);
    let work = dir.path().join("w");
    std::fs::write(work.join("b.txt"), "b\n").expect("write");
    server.git(&work, &["add", "b.txt"]);
    server.git(&work, &["commit", "-qm", "b"]);
    let anonymous = crate::support::git_server::git_command(&work, server.home())
        .args(["push", "-q", "origin", "HEAD:refs/heads/staging"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("git");
    assert!(!anonymous.status.success());
    let authed = url.replace("http://", "http://x:tok-bot@");
    server.git(&work, &["push", "-q", &authed, "HEAD:refs/heads/staging"]);
    assert!(server.rev("acme/app", "refs/heads/staging").is_some());
    server.fsck("acme/app");
    let pushes: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.is_push())
        .collect();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert_eq!(pushes[0].login.as_deref(), Some("bot"));
}
