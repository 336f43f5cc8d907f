//! A panic in a release-like build (`panic = "abort"`) still exits 2 with one
//! `::error title=shipgate crashed [crashed]::` annotation, never a SIGABRT with no annotation.
//!
//! Runs the release binary itself (the `dist` profile, musl, as `dist/package.sh` builds it
//! for the action tests: no second build) and triggers the hidden test hook
//! `SHIPGATE_DEBUG_PANIC` (src/run.rs).

use std::{
    path::PathBuf,
    process::{Command, Output},
};

/// The release binary: `dist/package.sh`'s `dist` build for this machine, made once per
/// test run for the action tests.
fn abort_build() -> PathBuf {
    crate::action::dist_binary()
}

fn crash(how: &str) -> Output {
    Command::new(abort_build())
        .arg("version")
        .env("SHIPGATE_DEBUG_PANIC", how)
        .env("SHIPGATE_TOKEN", "tok-3f9a1c-secret")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the binary runs")
}

#[track_caller]
fn assert_annotated_exit_2(how: &str) -> String {
    let output = crash(how);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "SHIPGATE_DEBUG_PANIC={how}: {:?} (a signal means the abort won)\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert_eq!(
        stderr
            .matches("::error title=shipgate crashed [crashed]::")
            .count(),
        1,
        "one annotation on stderr: {stderr}"
    );
    assert!(
        !stdout.contains("::error"),
        "annotations go to stderr: {stdout}"
    );
    for word in ["Aborted", "abort", "SIGABRT", "core dumped"] {
        assert!(!stderr.contains(word), "`{word}` in stderr: {stderr}");
    }
    assert!(stderr.contains("is a bug in shipgate"), "{stderr}");
    assert!(stderr.contains("report it"), "{stderr}");
    assert!(
        !stderr.contains("tok-3f9a1c-secret"),
        "token leaked: {stderr}"
    );
    stderr.into_owned()
}

#[test]
fn the_release_profile_aborts_on_panic() {
    // Guard: the property only means something if the release build really aborts.
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("Cargo.toml");
    let dist = manifest
        .split("[profile.dist]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a dist profile");
    assert!(dist.contains("panic = \"abort\""), "{dist}");
}

#[test]
fn a_panic_on_the_main_thread_exits_2_with_an_annotation() {
    let stderr = assert_annotated_exit_2("1");
    assert!(stderr.contains("src/run.rs:"), "the location: {stderr}");
}

#[test]
fn a_panic_on_another_thread_exits_2_with_an_annotation() {
    assert_annotated_exit_2("thread");
}

#[test]
fn a_panic_message_never_carries_the_token() {
    let stderr = assert_annotated_exit_2("secret");
    assert!(stderr.contains("the token is ***"), "{stderr}");
}
