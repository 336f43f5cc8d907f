//! Integration tests: cli. The binary's help, usage errors, config commands, token
//! handling, `--format json` and the step outputs, run through the `Test` harness.

use serde_json::{json, Value};

use crate::support::{fake_gitea::FakeGitea, test::Test};

const TOKEN: &str = "tok-cli-7d41e0";
const STATUS_TOKEN: &str = "tok-cli-status-93ab";

#[test]
fn help_lists_every_command() {
    let out = Test::new().args(&["--help"]).success();
    let commands: Vec<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for command in ["sync", "tier", "review-fire", "doctor", "config", "version"] {
        assert!(
            commands.contains(&command),
            "{command} missing:\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("SHIPGATE_TOKEN"), "{}", out.stdout);
    assert!(out.stdout.contains("Exit codes"), "{}", out.stdout);
}

#[test]
fn every_subcommand_help_teaches_scopes_and_an_example() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["sync"], &["SHIPGATE_TOKEN", "write:repository"]),
        (
            &["tier"],
            &["SHIPGATE_TOKEN", "read:repository", "write:issue"],
        ),
        (
            &["review-fire"],
            &[
                "SHIPGATE_TOKEN",
                "SHIPGATE_STATUS_TOKEN",
                "read:organization",
                "write:repository",
            ],
        ),
        (
            &["doctor"],
            &[
                "SHIPGATE_TOKEN",
                "SHIPGATE_STATUS_TOKEN",
                "write:issue",
                "read:organization",
                "--mode",
                "Examples:",
            ],
        ),
        (&["config"], &["Token: none"]),
        (&["config", "check"], &["Token: none"]),
        (&["config", "default"], &["Token: none"]),
        (&["version"], &["Token: none"]),
    ];
    for (command, needles) in cases {
        let out = Test::new().args(command).arg("--help").success();
        for needle in *needles {
            assert!(
                out.stdout.contains(needle),
                "`{command:?} --help` lacks `{needle}`:\n{}",
                out.stdout
            );
        }
        let has_example = out.stdout.contains("Example")
            && out.stdout.lines().any(|line| {
                let line = line.trim_start();
                let line = line.strip_prefix("Example: ").unwrap_or(line);
                line.starts_with("shipgate ") || line.starts_with("SHIPGATE_TOKEN=… shipgate ")
            });
        assert!(
            has_example,
            "`{command:?} --help` has no example:\n{}",
            out.stdout
        );
    }
}

#[test]
fn unknown_mode_is_a_usage_error() {
    let out = Test::new().args(&["deploy"]).status(64);
    let annotations = out.annotations();
    assert_eq!(annotations.len(), 1, "{}", out.stderr);
    assert!(
        annotations[0].starts_with("::error title=shipgate%3A usage error [usage]::"),
        "{}",
        annotations[0]
    );
    assert!(annotations[0].contains("deploy"), "{}", annotations[0]);
    assert!(annotations[0].contains("hint:"), "{}", annotations[0]);
}

#[test]
fn other_usage_errors_exit_64() {
    for args in [
        &["tier", "--bogus"][..],
        &[][..],
        &["config"][..],
        &["tier", "--local", "--pr", "3"][..],
        &["tier", "--pr", "seven"][..],
        // Tokens have no flag.
        &["tier", "--token", "x"][..],
    ] {
        let out = Test::new().args(args).status(64);
        assert_eq!(out.annotations().len(), 1, "{args:?}: {}", out.stderr);
    }
    let out = Test::new()
        .args(&["tier", "--pr", "1", "--repo", "not a repo"])
        .token(TOKEN)
        .status(64);
    assert!(out.stderr.contains("OWNER/NAME"), "{}", out.stderr);
}

#[test]
fn help_and_version_exit_0() {
    Test::new().args(&["-h"]).success();
    let out = Test::new().args(&["--version"]).success();
    assert!(out.stdout.contains(env!("CARGO_PKG_VERSION")));
    let out = Test::new().args(&["version"]).success();
    assert_eq!(
        out.stdout,
        format!("shipgate {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn default_config_passes_config_check() {
    let out = Test::new().args(&["config", "default"]).success();
    assert!(out.stdout.contains("tier:"), "{}", out.stdout);
    let checked = Test::new()
        .write("default.yml", &out.stdout)
        .args(&["--format", "json", "config", "check", "default.yml"])
        .success();
    let value = checked.json();
    assert_eq!(value["mode"], "config");
    assert_eq!(value["result"], "ok");
    // And the default location is what `config check` reads without a path.
    Test::new()
        .write(".gitea/shipgate.yml", &out.stdout)
        .args(&["config", "check"])
        .success();
}

#[test]
fn config_check_names_the_line_of_an_unknown_key() {
    let out = Test::new()
        .write(
            "shipgate.yml",
            "tier:\n  max_lines: 10\n  high_pathz: [\"**/auth/**\"]\n",
        )
        .args(&["config", "check", "shipgate.yml"])
        .unverified();
    assert!(out.stdout.contains("high_pathz"), "{}", out.stdout);
    assert!(out.stdout.contains("line 3"), "{}", out.stdout);
    let annotations = out.annotations();
    assert_eq!(annotations.len(), 1, "{}", out.stderr);
    assert!(annotations[0].contains("high_pathz"), "{}", annotations[0]);
    assert!(annotations[0].contains("line 3"), "{}", annotations[0]);
    assert_eq!(
        out.outputs.get("result").map(String::as_str),
        Some("cannot-verify")
    );
}

#[test]
fn config_check_names_the_line_of_a_wrong_type() {
    let out = Test::new()
        .write(
            "shipgate.yml",
            "sync:\n  from: main\n  max_attempts: lots\n",
        )
        .args(&["config", "check", "shipgate.yml"])
        .unverified();
    assert!(out.stdout.contains("line 3"), "{}", out.stdout);
    assert!(
        out.stdout.contains("max_attempts") || out.stdout.contains("lots"),
        "{}",
        out.stdout
    );
}

#[test]
fn config_check_of_a_missing_file_cannot_verify() {
    let out = Test::new()
        .args(&["config", "check", "nope.yml"])
        .unverified();
    assert!(out.stdout.contains("nope.yml"), "{}", out.stdout);
}

#[test]
fn api_modes_without_a_token_name_shipgate_token() {
    let fake = FakeGitea::start();
    fake.add_repo("acme/app");
    for args in [
        &["tier", "--pr", "1"][..],
        &["review-fire", "--pr", "1"][..],
    ] {
        let out = Test::new()
            .args(args)
            .forge(&fake)
            .repo("acme/app")
            .unverified();
        assert!(
            out.stdout.contains("SHIPGATE_TOKEN"),
            "{args:?}: {}",
            out.stdout
        );
        let annotations = out.annotations();
        assert_eq!(annotations.len(), 1, "{}", out.stderr);
        assert!(
            annotations[0].contains("token missing") && annotations[0].contains("SHIPGATE_TOKEN"),
            "{}",
            annotations[0]
        );
        assert_eq!(
            out.outputs.get("result").map(String::as_str),
            Some("cannot-verify")
        );
    }
    assert!(fake.requests().is_empty(), "no request without a token");
}

#[test]
fn under_actions_the_token_appears_only_in_add_mask() {
    let out = Test::new()
        .env("GITHUB_ACTIONS", "true")
        .token(TOKEN)
        .status_token(STATUS_TOKEN)
        .write("ok.yml", "")
        .args(&["-vv", "config", "check", "ok.yml"])
        .success();
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        &lines[..2],
        &[
            format!("::add-mask::{TOKEN}").as_str(),
            format!("::add-mask::{STATUS_TOKEN}").as_str()
        ],
        "the masks come first:\n{}",
        out.stderr
    );
    for token in [TOKEN, STATUS_TOKEN] {
        let carrying: Vec<&&str> = lines.iter().filter(|l| l.contains(token)).collect();
        assert_eq!(carrying.len(), 1, "{token}: {carrying:?}");
    }

    // Outside Actions nothing is masked (and nothing shows the token either).
    let out = Test::new()
        .token(TOKEN)
        .write("ok.yml", "")
        .args(&["config", "check", "ok.yml"])
        .success();
    assert!(!out.stderr.contains("::add-mask::"), "{}", out.stderr);
}

#[test]
fn tokens_stay_out_of_a_failing_api_run() {
    // 401 from the server, verbose logging on, under Actions: the token is only masked.
    let fake = FakeGitea::start();
    fake.add_repo("acme/app");
    let out = Test::new()
        .env("GITHUB_ACTIONS", "true")
        .args(&["-vv", "--format", "json", "tier", "--pr", "1"])
        .forge(&fake)
        .repo("acme/app")
        .token(TOKEN)
        .unverified();
    assert_eq!(out.json()["result"], "cannot-verify");
    for request in fake.requests() {
        assert!(!request.path.contains(TOKEN) && !request.query.contains(TOKEN));
    }
}

#[test]
fn the_leak_check_catches_a_token_in_the_output() {
    // clap echoes a bad value: a token passed where a number belongs ends up in stderr.
    let result = std::panic::catch_unwind(|| {
        Test::new()
            .args(&["tier", "--pr", TOKEN])
            .secret(TOKEN)
            .status(64)
    });
    let panic = result.expect_err("the harness must refuse a leaked token");
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    assert!(message.contains("a token leaked into stderr"), "{message}");
}

#[test]
fn json_is_one_object_even_on_errors() {
    let fake = FakeGitea::start();
    fake.add_repo("acme/app");
    let runs = [
        (
            Test::new()
                .args(&["--format", "json", "tier", "--pr", "1"])
                .forge(&fake)
                .repo("acme/app"),
            2,
            json!("tier"),
            "cannot-verify",
        ),
        (
            Test::new()
                .args(&["review-fire", "--pr", "1"])
                .env("SHIPGATE_FORMAT", "json")
                .forge(&fake)
                .repo("acme/app"),
            2,
            json!("review-fire"),
            "cannot-verify",
        ),
        (
            Test::new().args(&["--format=json", "deploy"]),
            64,
            Value::Null,
            "usage",
        ),
        (
            Test::new().args(&["tier", "--format", "json", "--bogus"]),
            64,
            json!("tier"),
            "usage",
        ),
        (
            Test::new().args(&["--format", "json", "config", "check", "nope.yml"]),
            2,
            json!("config"),
            "cannot-verify",
        ),
        (
            Test::new()
                .args(&["--format", "json", "tier", "--pr", "1"])
                .forge(&fake)
                .repo("acme/app")
                .env("GITHUB_EVENT_NAME", "pull_request_target")
                .env("GITHUB_EVENT_PATH", "/nonexistent/event.json"),
            2,
            json!("tier"),
            "cannot-verify",
        ),
        (
            Test::new().args(&["--format", "json", "version"]),
            0,
            json!("version"),
            "ok",
        ),
    ];
    for (test, status, mode, result) in runs {
        let out = test.status(status);
        let value = out.json();
        assert_eq!(value["mode"], mode, "{value}");
        assert_eq!(value["result"], result, "{value}");
        let reasons = value["reasons"].as_array().expect("reasons is a list");
        assert!(reasons.iter().all(Value::is_string), "{value}");
        if status != 0 {
            assert!(!reasons.is_empty(), "{value}");
            assert!(value["error"]["hint"].is_string(), "{value}");
            assert_eq!(out.annotations().len(), 1, "{}", out.stderr);
        }
    }
}

#[test]
fn config_default_in_json_carries_the_yaml() {
    let out = Test::new()
        .args(&["--format", "json", "config", "default"])
        .success();
    let value = out.json();
    assert_eq!(value["result"], "ok");
    assert!(value["config"]
        .as_str()
        .is_some_and(|yaml| yaml.contains("sync:")));
}

#[test]
fn github_output_gets_result_in_heredoc_form() {
    let out = Test::new()
        .write("ok.yml", "tier:\n  max_files: 10\n")
        .args(&["config", "check", "ok.yml"])
        .success();
    assert!(
        out.outputs_raw.starts_with("result<<"),
        "{}",
        out.outputs_raw
    );
    assert_eq!(out.outputs.get("result").map(String::as_str), Some("ok"));
    assert!(
        out.summary.contains("shipgate config: `ok`"),
        "{}",
        out.summary
    );

    let out = Test::new().args(&["tier", "--pr", "1"]).unverified();
    assert!(
        out.outputs_raw.starts_with("result<<"),
        "{}",
        out.outputs_raw
    );
    assert_eq!(
        out.outputs.get("result").map(String::as_str),
        Some("cannot-verify")
    );
    assert!(out.summary.contains("cannot-verify"), "{}", out.summary);
}

#[test]
fn an_unreadable_event_still_reports_to_the_step() {
    let out = Test::new()
        .args(&["tier", "--pr", "1"])
        .token(TOKEN)
        .env("GITHUB_EVENT_NAME", "pull_request_target")
        .env("GITHUB_EVENT_PATH", "/nonexistent/event.json")
        .unverified();
    assert!(
        out.stdout.contains("/nonexistent/event.json"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.outputs.get("result").map(String::as_str),
        Some("cannot-verify")
    );
    assert!(out.summary.contains("cannot-verify"), "{}", out.summary);
}

#[test]
fn an_unwritable_output_file_is_not_a_success() {
    let out = Test::new()
        .env("GITHUB_OUTPUT", "/nonexistent/dir/output")
        .write("ok.yml", "")
        .args(&["config", "check", "ok.yml"])
        .unverified();
    assert!(out.stderr.contains("report not written"), "{}", out.stderr);
}

// ---- audit -------------------------------------------------------------------------------

/// A server URL with credentials in it (`https://user:secret@host`) would put the secret in
/// every request name that error messages and `-v` logs print: it is refused as a setup
/// error, exit 2, without echoing the URL.
#[test]
fn a_server_url_with_credentials_is_refused_without_echoing_it() {
    let fake = FakeGitea::start();
    fake.add_user("alice", TOKEN);
    fake.add_repo("acme/app");
    let secret = "url-pass-5be1";
    let with_creds = fake
        .url()
        .replacen("://", &format!("://alice:{secret}@"), 1);
    for var in ["SHIPGATE_SERVER", "GITHUB_SERVER_URL"] {
        let out = Test::new()
            .args(&["-vv", "--format", "json", "tier", "--pr", "1"])
            .env(var, &with_creds)
            .repo("acme/app")
            .token(TOKEN)
            .secret(secret)
            .unverified();
        assert_eq!(out.json()["result"], "cannot-verify");
        assert_eq!(out.annotations().len(), 1, "{}", out.stderr);
    }
    assert!(fake.requests().is_empty(), "nothing is sent to such a URL");
}

/// `--timeout` is a usage error unless it is a finite, positive number of seconds: `inf`
/// or `1e300` used to panic while building the client (exit 101, no `::error`).
#[test]
fn a_timeout_that_is_not_a_finite_positive_number_is_a_usage_error() {
    for value in ["inf", "1e300", "NaN", "-1", "0"] {
        let out = Test::new()
            .args(&["tier", "--pr", "1", "--timeout", value])
            .env("SHIPGATE_SERVER", "http://127.0.0.1:9")
            .repo("acme/app")
            .token(TOKEN)
            .status(64);
        assert_eq!(out.annotations().len(), 1, "{value}: {}", out.stderr);
    }
}

#[test]
fn doctor_rejects_an_unknown_mode_as_a_usage_error() {
    let out = Test::new()
        .args(&["doctor", "--mode", "retarget", "--format", "json"])
        .status(64);
    assert_eq!(out.json()["mode"], "doctor", "{}", out.stdout);
    assert_eq!(out.json()["result"], "usage");
}
