//! the action under act.

use super::*;

#[test]
fn act_downloads_verifies_caches_and_runs_the_binary() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let flow = workflow(
        "pull_request_target",
        "mode: config-check\nconfig: shipgate.yml\n",
        "",
        Some("tier:\n  max_lines: 400\n"),
    );

    let cold = Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .run()
        .success();
    cold.contains("verified and cached in")
        .contains("`shipgate.yml` is valid")
        .contains("observed-result=[ok]");
    assert_eq!(downloads(&fake), vec![package.release_path()]);
    let binary = installed_binary(&cache.path().join("tool_cache"), package);
    assert!(binary.is_file(), "cached at {}", binary.display());

    let warm = Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .run()
        .success();
    warm.lacks("verified and cached in")
        .contains("`shipgate.yml` is valid")
        .contains("observed-result=[ok]");
    assert_eq!(
        downloads(&fake),
        vec![package.release_path()],
        "the cached run made a download request"
    );
    assert_eq!(fake.unmatched(), Vec::<String>::new());
}

#[test]
fn act_step_fails_with_the_binarys_exit_code() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let flow = workflow(
        "pull_request_target",
        "mode: config-check\nconfig: shipgate.yml\n",
        "",
        Some("tier:\n  colour: red\n"),
    );
    let run = Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .run()
        .failure();
    let scratch = tempdir("config");
    fs::write(scratch.path().join("c.yml"), "tier:\n  colour: red\n").expect("write");
    let alone = Command::new(installed_binary(&cache.path().join("tool_cache"), package))
        .args(["config", "check", "c.yml"])
        .current_dir(scratch.path())
        .env_clear()
        .output()
        .expect("run the binary alone");
    assert_eq!(run.step_exit(), alone.status.code(), "{}", run.log);
    run.contains("::error title=shipgate config");
}

#[test]
fn act_refuses_a_tampered_tarball_before_the_binary_runs() {
    let package = package();
    let scratch = tempdir("tamper");
    let marker = scratch.path().join("executed");
    let fake = FakeGitea::start();
    fake.add_user("bot", BOT_TOKEN);
    fake.add_release(
        ACTION_REPO,
        &package.tag(),
        vec![(package.asset.clone(), evil_tarball(package, &marker))],
    );
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let run = Act::new(
        &example("auto-tier.yml"),
        "pull_request_target",
        action.path(),
        cache.path(),
    )
    .server(&fake.url())
    .secret("SHIPGATE_TIER_TOKEN", "tok-pat-9d81f2")
    .run()
    .failure();
    run.contains("::error title=shipgate action%3A checksum mismatch::");
    assert_eq!(run.step_exit(), Some(2), "{}", run.log);
    assert!(!marker.exists(), "the tampered binary ran");
    assert_eq!(
        request_lines(&fake),
        vec![format!("GET {}", package.release_path())],
        "only the download may reach the server: no API request"
    );
}

#[test]
fn act_fails_clearly_on_an_unknown_platform() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let flow = workflow(
        "pull_request_target",
        "mode: tier\n",
        "RUNNER_ARCH: s390x\n",
        None,
    );
    let run = Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .run()
        .failure();
    run.contains(
        "::error title=shipgate action%3A unsupported platform::unsupported runner architecture `s390x`",
    )
    .contains("observed-result=")
    .lacks("observed-result=[ok]");
    assert_eq!(run.step_exit(), Some(2), "{}", run.log);
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

#[test]
fn act_accepts_the_gitea_host_runner_spellings() {
    // Gitea's host runner says `linux`/`amd64` where act says `Linux`/`X64`.
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    let arch = if package.target.starts_with("x86_64") {
        "amd64"
    } else {
        "arm64"
    };
    let flow = workflow(
        "pull_request_target",
        "mode: version\n",
        &format!("RUNNER_OS: linux\nRUNNER_ARCH: {arch}\n"),
        None,
    );
    Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .run()
        .success()
        .contains(&format!("| shipgate {}", package.version));
}

#[test]
fn act_rejects_a_bad_input_as_a_usage_error() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("act-cache");
    // The PR number would come from event data; a hostile value stays data.
    let flow = workflow(
        "pull_request_target",
        "mode: tier\npr: ${{ github.event.pull_request.title }}\n",
        "",
        None,
    );
    let mut payload = pull_request_event(7, "opened");
    payload["pull_request"]["title"] = json!("7 $(touch /tmp/shipgate-pwned) `id`");
    let run = Act::new(&flow, "pull_request_target", action.path(), cache.path())
        .server(&fake.url())
        .payload(payload)
        .run()
        .failure();
    run.contains("::error title=shipgate action%3A invalid input::invalid `pr` `7 $(touch /tmp/shipgate-pwned) `id``")
        .contains("observed-result=[usage]");
    assert_eq!(run.step_exit(), Some(64), "{}", run.log);
    assert!(!Path::new("/tmp/shipgate-pwned").exists());
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}
