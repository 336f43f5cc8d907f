//! the step script: inputs, platforms, downloads (no act: fast and exact).

use super::*;

#[test]
fn bad_inputs_are_usage_errors_before_any_request() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    let cases: &[(&str, &str, &str)] = &[
        ("mode", "", "input `mode` is required"),
        ("mode", "deploy", "invalid `mode` `deploy`"),
        (
            "mode",
            "tier\n::add-mask::x",
            "invalid `mode` `(a value with line breaks or %)`",
        ),
        (
            "server-url",
            "ftp://example.com",
            "invalid `server-url` `ftp://example.com`",
        ),
        (
            "server-url",
            "http://a b",
            "invalid `server-url` `http://a b`: it contains spaces",
        ),
        ("dry-run", "yes", "invalid `dry-run` `yes`: not a boolean"),
        ("pr", "7; rm -rf /", "invalid `pr` `7; rm -rf /`"),
        ("pr", "0", "invalid `pr` `0`"),
        ("version", "latest", "invalid version `latest`"),
        ("version", "1.2", "invalid version `1.2`"),
        (
            "build-from-source",
            "yes",
            "invalid `build-from-source` `yes`",
        ),
        (
            "download-url",
            "file:///etc/passwd",
            "invalid `download-url` `file:///etc/passwd`",
        ),
    ];
    for (input, value, message) in cases {
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .input(input, value)
            .run();
        run.status(64);
        let error = run.error();
        assert!(
            error.starts_with("::error title=shipgate action%3A "),
            "{input}={value:?}: {error}"
        );
        assert!(error.contains(message), "{input}={value:?}: {error}");
        assert!(error.contains(" — hint: "), "{error}");
        assert!(
            run.outputs.contains("result=usage\n"),
            "{input}={value:?}: outputs {:?}",
            run.outputs
        );
    }
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

#[test]
fn runner_spellings_of_os_and_arch_are_normalised() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let (arches, other): (&[&str], &[&str]) = if package.target.starts_with("x86_64") {
        (
            &["X64", "x64", "amd64", "x86_64"],
            &["ARM64", "arm64", "aarch64"],
        )
    } else {
        (&["ARM64", "arm64", "aarch64"], &["X64", "amd64", "x86_64"])
    };
    for os in ["Linux", "linux"] {
        for arch in arches {
            let cache = tempdir("cache");
            let run = Step::new(action.path(), &fake.url(), cache.path())
                .set("RUNNER_OS", os)
                .set("RUNNER_ARCH", arch)
                .run();
            run.status(0);
            assert_eq!(
                run.stdout,
                format!("shipgate {}\n", package.version),
                "{os}/{arch}"
            );
        }
    }
    // The other architecture's spellings map to its target, which this package lacks.
    for arch in other {
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("RUNNER_ARCH", arch)
            .run();
        run.status(2);
        assert!(
            run.error().contains("no checksum for `shipgate-"),
            "{}",
            run.stderr
        );
    }
    // Without RUNNER_ARCH, `uname -m` decides.
    let cache = tempdir("cache");
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .set("RUNNER_ARCH", "")
        .run();
    run.status(0);
    for (os, arch, message) in [
        ("macOS", "ARM64", "unsupported runner OS `macOS`"),
        ("Windows", "X64", "unsupported runner OS `Windows`"),
        ("Linux", "s390x", "unsupported runner architecture `s390x`"),
        ("Linux", "ARM", "unsupported runner architecture `ARM`"),
    ] {
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("RUNNER_OS", os)
            .set("RUNNER_ARCH", arch)
            .run();
        run.status(2);
        assert!(run.error().contains(message), "{}", run.stderr);
        assert!(
            run.outputs.contains("result=cannot-verify\n"),
            "{}",
            run.outputs
        );
    }
}

#[test]
fn version_comes_from_the_input_then_a_full_tag_then_dist_version() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    // `@v1` (a major tag) and a branch use dist/VERSION; a full tag names the version.
    for reference in ["v1", "main", "", "0123456789abcdef0123456789abcdef01234567"] {
        let cache = tempdir("cache");
        Step::new(action.path(), &fake.url(), cache.path())
            .set("SHIPGATE_ACTION_REF", reference)
            .run()
            .status(0);
    }
    let full_tag = format!("v{}", package.version);
    let cache = tempdir("cache");
    Step::new(action.path(), &fake.url(), cache.path())
        .set("SHIPGATE_ACTION_REF", &full_tag)
        .run()
        .status(0);
    // A version this ref has no checksum for is refused before any download.
    let fake = forge_with_release(package);
    for (reference, input) in [("v9.9.9", ""), ("v1", "9.9.9"), ("v1", "v9.9.9")] {
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("SHIPGATE_ACTION_REF", reference)
            .input("version", input)
            .run();
        run.status(2);
        assert!(
            run.error().contains("no checksum for `shipgate-9.9.9-"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

#[test]
fn missing_checksum_entry_or_file_is_refused_before_download() {
    let package = package();
    let fake = forge_with_release(package);
    // SHA256SUMS without this target's lines.
    let other: String = package
        .sums
        .lines()
        .filter(|l| !l.contains(&package.target))
        .map(|l| format!("{l}\n"))
        .collect();
    let cache = tempdir("cache");
    let action = ActionCopy::with_sums(package, &other);
    let run = Step::new(action.path(), &fake.url(), cache.path()).run();
    run.status(2);
    assert!(
        run.error().contains("refusing to run an unverified binary"),
        "{}",
        run.stderr
    );
    // The tarball's line alone is not enough: the binary inside is checked too.
    let tar_only: String = package
        .sums
        .lines()
        .filter(|l| l.ends_with(".tar.gz"))
        .map(|l| format!("{l}\n"))
        .collect();
    let action = ActionCopy::with_sums(package, &tar_only);
    let run = Step::new(action.path(), &fake.url(), cache.path()).run();
    run.status(2);
    assert!(run.error().contains("no checksum for"), "{}", run.stderr);
    // No SHA256SUMS at all.
    let action = ActionCopy::new(package);
    fs::remove_file(action.path().join("dist/SHA256SUMS")).expect("remove");
    let run = Step::new(action.path(), &fake.url(), cache.path()).run();
    run.status(2);
    assert!(
        run.error().contains("`dist/SHA256SUMS` is missing"),
        "{}",
        run.stderr
    );
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

#[test]
fn download_is_retried_on_server_errors_but_not_on_404() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    fake.fault(Fault::new(DOWNLOAD_ROUTE, FaultKind::Status(502)).times(1));
    let cache = tempdir("cache");
    let run = Step::new(action.path(), &fake.url(), cache.path()).run();
    run.status(0);
    assert!(
        run.stderr.contains("download attempt 1 failed"),
        "{}",
        run.stderr
    );
    assert_eq!(downloads(&fake), vec![package.release_path(); 2]);

    // No such release: one request, a clear error, no retries.
    let empty = FakeGitea::start();
    let cache = tempdir("cache");
    let run = Step::new(action.path(), &empty.url(), cache.path()).run();
    run.status(2);
    let error = run.error();
    assert!(error.contains("answered 404: no release asset"), "{error}");
    assert!(error.contains(&package.release_path()), "{error}");
    assert_eq!(downloads(&empty).len(), 1);
    assert_eq!(cached(cache.path(), package), Vec::<String>::new());
}

/// A 4xx other than 404/410/401/403 (and the retryable 408/429) will not change on a
/// retry: one request, exit 2, nothing cached, with either downloader.
#[test]
fn a_refused_download_is_not_retried() {
    let package = package();
    let action = ActionCopy::new(package);
    for tools in [&["wget", "sha256sum"][..], &["curl", "sha256sum"][..]] {
        let fake = forge_with_release(package);
        fake.fault(Fault::new(
            "GET /{owner}/{repo}/releases/download/{tag}/{name}",
            FaultKind::Status(400),
        ));
        let path = minimal_path(tools);
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("PATH", &path.path().to_string_lossy())
            .run();
        run.status(2);
        let error = run.error();
        assert!(
            error.contains("answered 400: the server refused"),
            "{tools:?}: {error}"
        );
        assert_eq!(downloads(&fake).len(), 1, "{tools:?}: retried");
        assert_eq!(cached(cache.path(), package), Vec::<String>::new());
    }
}

#[test]
fn download_url_points_at_a_mirror_and_is_still_verified() {
    let package = package();
    let server = FakeGitea::start();
    let mirror = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    let folder = format!(
        "{}/{ACTION_REPO}/releases/download/v{}/",
        mirror.url(),
        package.version
    );
    let run = Step::new(action.path(), &server.url(), cache.path())
        .input("download-url", &folder)
        .run();
    run.status(0);
    assert_eq!(downloads(&mirror), vec![package.release_path()]);
    assert_eq!(request_lines(&server), Vec::<String>::new());
}

#[test]
fn tampered_release_is_refused_and_never_executed() {
    let package = package();
    let scratch = tempdir("tamper");
    let marker = scratch.path().join("executed");
    let tampered = evil_tarball(package, &marker);
    let fake = FakeGitea::start();
    fake.add_release(
        ACTION_REPO,
        &package.tag(),
        vec![(package.asset.clone(), tampered)],
    );
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    let run = Step::new(action.path(), &fake.url(), cache.path()).run();
    run.status(2);
    let error = run.error();
    assert!(error.contains("checksum mismatch"), "{error}");
    assert!(error.contains("refusing to run it"), "{error}");
    assert!(!marker.exists(), "the tampered binary ran");
    assert_eq!(downloads(&fake).len(), 1);
    assert_eq!(
        cached(cache.path(), package),
        Vec::<String>::new(),
        "nothing may be cached from a tampered download"
    );
}

/// A tarball with the right name whose `shipgate` is a script that leaves `marker` behind.
pub(super) fn evil_tarball(package: &Package, marker: &Path) -> Vec<u8> {
    let dir = tempdir("evil");
    let name = package.asset.trim_end_matches(".tar.gz");
    let inner = dir.path().join(name);
    fs::create_dir(&inner).expect("mkdir");
    let script = format!(
        "#!/bin/sh\ntouch '{}'\necho 'shipgate {}'\n",
        marker.display(),
        package.version
    );
    fs::write(inner.join("shipgate"), script).expect("write");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "chmod 755 '{name}/shipgate' && tar -czf evil.tar.gz '{name}'"
        ))
        .current_dir(dir.path())
        .status()
        .expect("tar");
    assert!(status.success());
    fs::read(dir.path().join("evil.tar.gz")).expect("read evil tarball")
}

/// A tarball for `package`'s asset name whose `shipgate` is `script`, and SHA256SUMS lines
/// that match it (a correctly signed release of a bad binary).
pub(super) fn signed_tarball(package: &Package, script: &str) -> (Vec<u8>, String) {
    let dir = tempdir("signed");
    let name = package.asset.trim_end_matches(".tar.gz");
    fs::create_dir(dir.path().join(name)).expect("mkdir");
    fs::write(dir.path().join(name).join("shipgate"), script).expect("write");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "chmod 755 '{name}/shipgate' && tar -czf t.tar.gz '{name}' && \
             sha256sum t.tar.gz '{name}/shipgate' > sums"
        ))
        .current_dir(dir.path())
        .status()
        .expect("tar");
    assert!(status.success());
    let sums = fs::read_to_string(dir.path().join("sums"))
        .expect("sums")
        .replace("t.tar.gz", &package.asset);
    (fs::read(dir.path().join("t.tar.gz")).expect("read"), sums)
}

#[test]
fn a_binary_failing_its_smoke_test_is_refused_and_not_cached() {
    let package = package();
    for (script, message) in [
        (
            "#!/bin/sh\necho 'exec format error' >&2\nexit 126\n",
            "binary does not run",
        ),
        (
            "#!/bin/sh\necho 'shipgate 9.9.9'\n",
            "says `shipgate 9.9.9`, expected",
        ),
    ] {
        let (tarball, sums) = signed_tarball(package, script);
        let fake = FakeGitea::start();
        fake.add_release(
            ACTION_REPO,
            &package.tag(),
            vec![(package.asset.clone(), tarball)],
        );
        let action = ActionCopy::with_sums(package, &sums);
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .input("mode", "tier")
            .run();
        run.status(2);
        assert!(run.error().contains(message), "{}", run.stderr);
        assert_eq!(cached(cache.path(), package), Vec::<String>::new());
    }
}

#[test]
fn exported_bash_functions_are_refused() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .set("BASH_FUNC_curl%%", "() {  echo pwned; }")
        .run();
    run.status(2);
    assert!(
        run.error().contains("exported BASH_FUNC_* functions"),
        "{}",
        run.stderr
    );
    assert_eq!(request_lines(&fake), Vec::<String>::new());
}

#[test]
fn inputs_reach_the_binary_through_the_environment_only() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    // `config-check` with an invalid file: the binary's own verdict and exit code come back.
    let scratch = tempdir("config");
    let config = scratch.path().join("shipgate.yml");
    fs::write(&config, "tier:\n  max_lines: 10\n  colour: red\n").expect("write config");
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .input("mode", "config-check")
        .input("config", &config.to_string_lossy())
        .run();
    let alone = Command::new(installed_binary(cache.path(), package))
        .args(["config", "check"])
        .arg(&config)
        .env_clear()
        .output()
        .expect("run the binary alone");
    assert_ne!(alone.status.code(), Some(0), "the config is invalid");
    run.status(alone.status.code().expect("exit code"));
    assert!(run.stderr.contains("colour"), "{}", run.stderr);
    // Extra args are split on blanks and passed as separate words, never globbed.
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .input("mode", "config-check")
        .input("args", "--format  json\n")
        .input("config", &config.to_string_lossy())
        .run();
    let json: Value = serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "--format json was not passed as two words ({e}):\n{}",
            run.stdout
        )
    });
    assert_eq!(json["mode"], "config");
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .input("mode", "version")
        .input("args", "*")
        .run();
    run.status(64);
    assert!(
        run.stderr.contains("unexpected argument '*'"),
        "a literal `*` reaches clap as one word, unglobbed:\n{}",
        run.stderr
    );
}

/// Everything under `<tool cache>/shipgate/<version>/`, temp folders included.
pub(super) fn cached(tool_cache: &Path, package: &Package) -> Vec<String> {
    fs::read_dir(tool_cache.join("shipgate").join(&package.version))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The binary the action cached for this package.
pub(super) fn installed_binary(tool_cache: &Path, package: &Package) -> PathBuf {
    let tar_sum = package
        .sums
        .lines()
        .find(|l| l.ends_with(&package.asset))
        .and_then(|l| l.split_whitespace().next())
        .expect("the tarball's sum");
    tool_cache
        .join("shipgate")
        .join(&package.version)
        .join(tar_sum)
        .join("shipgate")
}

/// A PATH folder holding only `tools` (symlinks to the host's), plus the basics every run
/// needs.
pub(super) fn minimal_path(tools: &[&str]) -> tempfile::TempDir {
    let dir = tempdir("path");
    let basics = [
        "sh", "env", "tr", "date", "mktemp", "mkdir", "mv", "rm", "tar", "gzip", "chmod", "sleep",
        "uname", "cat",
    ];
    for tool in basics.iter().chain(tools) {
        let found = find_on_path(tool).unwrap_or_else(|| panic!("`{tool}` is not installed"));
        std::os::unix::fs::symlink(found, dir.path().join(tool)).expect("symlink");
    }
    dir
}

#[test]
fn either_downloader_and_either_hash_tool_will_do() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    for tools in [&["wget", "sha256sum"][..], &["curl", "shasum"][..]] {
        let path = minimal_path(tools);
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("PATH", &path.path().to_string_lossy())
            .run();
        run.status(0);
        assert_eq!(
            run.stdout,
            format!("shipgate {}\n", package.version),
            "{tools:?}"
        );
    }
    assert_eq!(downloads(&fake).len(), 2);
}

#[test]
fn missing_tools_fail_closed() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cases: [(&[&str], &str); 2] = [
        (&["sha256sum"], "neither `curl` nor `wget` is on PATH"),
        (&["curl"], "neither `sha256sum` nor `shasum` is on PATH"),
    ];
    for (tools, message) in cases {
        let path = minimal_path(tools);
        let cache = tempdir("cache");
        let run = Step::new(action.path(), &fake.url(), cache.path())
            .set("PATH", &path.path().to_string_lossy())
            .run();
        run.status(2);
        assert!(run.error().contains(message), "{tools:?}: {}", run.stderr);
        assert_eq!(
            cached(cache.path(), package)
                .iter()
                .filter(|e| !e.starts_with('.'))
                .count(),
            0
        );
    }
}

#[test]
fn build_from_source_runs_cargo_install_on_the_action_checkout_without_tokens() {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);
    let cache = tempdir("cache");
    // A stand-in cargo: records its arguments and environment, installs the packaged binary.
    let tools = tempdir("cargo");
    let log = tools.path().join("cargo.log");
    let binary = {
        let warm = tempdir("cache");
        Step::new(action.path(), &fake.url(), warm.path())
            .run()
            .status(0);
        let keep = tools.path().join("real-shipgate");
        fs::copy(installed_binary(warm.path(), package), &keep).expect("copy binary");
        keep
    };
    let cargo = tools.path().join("cargo");
    fs::write(
        &cargo,
        format!(
            "#!/bin/sh\nprintf 'arg %s\\n' \"$@\" > '{log}'\nenv >> '{log}'\n\
             while [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\n\
             mkdir -p \"$root/bin\" && cp '{bin}' \"$root/bin/shipgate\"\n",
            log = log.display(),
            bin = binary.display()
        ),
    )
    .expect("write cargo");
    let status = Command::new("chmod")
        .arg("755")
        .arg(&cargo)
        .status()
        .expect("chmod");
    assert!(status.success());
    let path = format!(
        "{}:{}",
        tools.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let before = downloads(&fake).len();
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .set("PATH", &path)
        .set("RUNNER_TEMP", &cache.path().to_string_lossy())
        .input("build-from-source", "true")
        .input("status-token", "tok-status-5150")
        .run();
    run.status(0);
    assert_eq!(run.stdout, format!("shipgate {}\n", package.version));
    assert!(run.stderr.contains("built from source"), "{}", run.stderr);
    assert_eq!(downloads(&fake).len(), before, "nothing downloaded");
    let recorded = fs::read_to_string(&log).expect("cargo ran");
    let args: Vec<&str> = recorded
        .lines()
        .filter_map(|l| l.strip_prefix("arg "))
        .collect();
    let action_path = action.path().to_string_lossy();
    assert_eq!(
        args,
        [
            "install",
            "--locked",
            "--quiet",
            "--force",
            "--path",
            action_path.as_ref(),
            "--root",
            &format!("{}/shipgate-from-source", cache.path().display()),
        ]
    );
    for secret in [BOT_TOKEN, "tok-status-5150"] {
        assert!(
            !recorded.contains(secret),
            "cargo (and every build script) must not see the tokens:\n{recorded}"
        );
    }

    // Without cargo: a clear error.
    let run = Step::new(action.path(), &fake.url(), cache.path())
        .set(
            "PATH",
            &minimal_path(&["curl", "sha256sum"])
                .path()
                .to_string_lossy(),
        )
        .input("build-from-source", "true")
        .run();
    run.status(2);
    assert!(run.error().contains("needs cargo"), "{}", run.stderr);
}

#[test]
fn committed_dist_files_are_consistent() {
    let version = fs::read_to_string(Path::new(ROOT).join("dist/VERSION")).expect("dist/VERSION");
    let version = version.trim();
    let manifest = fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        manifest.contains(&format!("\nversion = \"{version}\"\n")),
        "dist/VERSION `{version}` is not the version in Cargo.toml: run dist/package.sh"
    );
    let sums = fs::read_to_string(Path::new(ROOT).join("dist/SHA256SUMS")).expect("SHA256SUMS");
    let entries: Vec<(&str, &str)> = sums
        .lines()
        .map(|l| l.split_once("  ").expect("`<sha256>  <name>` lines"))
        .collect();
    let prefix = format!("shipgate-{version}-");
    // Every target the action maps a runner to, tarball and binary: a missing line refuses
    // that platform's runners. `dist/package.sh` writes this file only from a build of both.
    let mut expected: Vec<String> = ["aarch64-unknown-linux-musl", "x86_64-unknown-linux-musl"]
        .iter()
        .flat_map(|t| {
            [
                format!("{prefix}{t}.tar.gz"),
                format!("{prefix}{t}/shipgate"),
            ]
        })
        .collect();
    expected.sort();
    let names: Vec<String> = entries.iter().map(|(_, n)| (*n).to_owned()).collect();
    assert_eq!(
        names, expected,
        "dist/SHA256SUMS, in dist/package.sh's order"
    );
    for (hex, name) in &entries {
        assert!(hex.len() == 64 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        let target = name
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("`{name}` is not version {version}"));
        let (target, rest) = target
            .split_once(".tar.gz")
            .map(|(t, r)| (t, r.to_owned()))
            .or_else(|| {
                target
                    .split_once("/shipgate")
                    .map(|(t, r)| (t, r.to_owned()))
            })
            .unwrap_or_else(|| panic!("unexpected entry `{name}`"));
        assert!(rest.is_empty(), "{name}");
        // Every tarball has its binary's line and the other way round.
        let tarball = format!("{prefix}{target}.tar.gz");
        let inside = format!("{prefix}{target}/shipgate");
        assert!(entries.iter().any(|(_, n)| *n == tarball), "{sums}");
        assert!(entries.iter().any(|(_, n)| *n == inside), "{sums}");
    }
}

/// The user-visible promise behind `dist/SHA256SUMS`: at a release commit (HEAD tagged
/// `v<dist/VERSION>`), this suite's build of HEAD reproduces the committed lines of its
/// target. On any other commit the file describes the last release, not HEAD (README,
/// "Releasing"), and the release workflow's `dist/package.sh --check` is what enforces it.
#[test]
fn at_a_release_tag_the_committed_sums_match_a_build_of_head() {
    let version = fs::read_to_string(Path::new(ROOT).join("dist/VERSION")).expect("dist/VERSION");
    let tag = format!("v{}", version.trim());
    let tags = Command::new("git")
        .current_dir(ROOT)
        .args(["tag", "--points-at", "HEAD"])
        .output()
        .expect("git tag");
    assert!(tags.status.success(), "git tag --points-at HEAD: {tags:?}");
    if !String::from_utf8_lossy(&tags.stdout)
        .lines()
        .any(|t| t == tag)
    {
        eprintln!("HEAD is not tagged {tag}: dist/SHA256SUMS describes the last release, not HEAD");
        return;
    }
    let committed =
        fs::read_to_string(Path::new(ROOT).join("dist/SHA256SUMS")).expect("dist/SHA256SUMS");
    let package = package();
    for line in package.sums.lines() {
        assert!(
            committed.lines().any(|l| l == line),
            "HEAD is tagged {tag}, but its build gives `{line}`, which dist/SHA256SUMS does not \
             list:\n{committed}\nhint: build with the toolchain in .gitea/workflows/release.yml \
             (RUST_TOOLCHAIN)"
        );
    }
}
