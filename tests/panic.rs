//! A panic in a release-like build (`panic = "abort"`) still exits 2 with one
//! `::error title=shipgate crashed::` annotation, never a SIGABRT with no annotation.
//!
//! Builds the binary with the `panic-check` profile (`dist` with `panic = "abort"`, minus
//! LTO), once per test run, into `target/panic-check/`, then triggers the hidden test hook
//! `SHIPGATE_DEBUG_PANIC` (src/run.rs).

use std::{
    path::PathBuf,
    process::{Command, Output},
    sync::OnceLock,
};

fn abort_build() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let started = std::time::Instant::now();
        let status = Command::new(cargo)
            .current_dir(&root)
            .args([
                "build",
                "--locked",
                "--profile",
                "panic-check",
                "--bin",
                "shipgate",
            ])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the panic-check profile failed");
        eprintln!("panic-check build: {:.1}s", started.elapsed().as_secs_f64());
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        target.join("panic-check").join("shipgate")
    })
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
        stderr.matches("::error title=shipgate crashed::").count(),
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
fn panic_check_profile_aborts_on_panic() {
    // Guard: the property only means something if the profile really aborts.
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("Cargo.toml");
    let dist = manifest
        .split("[profile.dist]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a dist profile");
    assert!(dist.contains("panic = \"abort\""), "{dist}");
    let check = manifest
        .split("[profile.panic-check]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a panic-check profile");
    assert!(check.contains("inherits = \"dist\""), "{check}");
    assert!(
        !check.contains("panic ="),
        "panic-check must keep dist's panic: {check}"
    );
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
