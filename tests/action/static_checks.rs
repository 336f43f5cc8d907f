//! static checks: action.yml, the examples, shellcheck.

use super::*;
use shipgate::output::Output;

/// Every `run:` script in a workflow or action document, with where it is.
pub(super) fn run_scripts(value: &Value, at: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}.{key}");
                if key == "run" {
                    if let Some(script) = child.as_str() {
                        found.push((here.clone(), script.to_owned()));
                    }
                }
                run_scripts(child, &here, found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                run_scripts(child, &format!("{at}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// `run:` scripts that expand an expression. Inputs and event data must reach scripts
/// through `env:`; this allows no `${{ }}` in a script at all.
pub(super) fn expressions_in_run(document: &Value) -> Vec<String> {
    let mut scripts = Vec::new();
    run_scripts(document, "", &mut scripts);
    scripts
        .into_iter()
        .filter(|(_, script)| script.contains("${{"))
        .map(|(at, script)| format!("{at}: {script}"))
        .collect()
}

#[test]
fn the_expression_check_finds_untrusted_values_in_run_blocks() {
    let bad: Value = serde_saphyr::from_str(
        "jobs:\n  a:\n    steps:\n      - run: |\n          echo ok\n          echo \"${{ github.event.comment.body }}\"\n      - env:\n          X: ${{ inputs.x }}\n        run: echo \"$X\"\n",
    )
    .expect("yaml");
    let found = expressions_in_run(&bad);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("github.event.comment.body"), "{found:?}");
}

#[test]
fn no_expression_is_expanded_inside_a_run_script() {
    let mut files = vec![
        Path::new(ROOT).join("action.yml"),
        Path::new(ROOT).join(".gitea/workflows/release.yml"),
    ];
    files.extend(
        EXAMPLES
            .iter()
            .map(|e| Path::new(ROOT).join("examples").join(e)),
    );
    let mut scripts_seen = 0;
    for path in &files {
        let document = yaml(path);
        let mut scripts = Vec::new();
        run_scripts(&document, "", &mut scripts);
        scripts_seen += scripts.len();
        let found = expressions_in_run(&document);
        assert!(
            found.is_empty(),
            "{} expands expressions inside run: (use env:) {found:#?}",
            path.display()
        );
    }
    assert!(scripts_seen >= 1, "action.yml has a run: script to check");
    // The raw text too: a `${{` in any line of action.yml's step script.
    let step = action_step();
    assert!(!step.run.contains("${{"), "{}", step.run);
}

/// The README's Outputs table lists every output the binary declares, with its meaning.
#[test]
fn the_readme_outputs_table_is_the_declaration() {
    let readme = fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README");
    let table: Vec<String> = readme
        .split("\n### Outputs\n")
        .nth(1)
        .expect("README has an Outputs section")
        .lines()
        .skip_while(|l| !l.starts_with("| output |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(str::to_owned)
        .collect();
    let expected: Vec<String> = Output::ALL
        .iter()
        .map(|o| format!("| `{}` | {} |", o.name(), o.meaning()))
        .collect();
    assert_eq!(table, expected);
}

#[test]
fn action_yml_declares_the_inputs_outputs_and_the_hardened_shell() {
    let action = yaml(&Path::new(ROOT).join("action.yml"));
    let inputs: Vec<&str> = action["inputs"]
        .as_object()
        .expect("inputs")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "args",
        "build-from-source",
        "config",
        "download-url",
        "dry-run",
        "mode",
        "pr",
        "server-url",
        "status-token",
        "token",
        "version",
    ];
    let mut sorted = inputs.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    assert_eq!(action["inputs"]["mode"]["required"], json!(true));
    assert_eq!(action["inputs"]["token"]["default"], "${{ github.token }}");
    assert_eq!(
        action["inputs"]["server-url"]["default"],
        "${{ github.server_url }}"
    );
    assert_eq!(action["inputs"]["build-from-source"]["default"], "false");
    // The outputs: exactly the binary's declaration (`shipgate::output::Output`), in its
    // order, each with its meaning and the run step's value.
    let declared: Vec<&str> = action["outputs"]
        .as_object()
        .expect("outputs")
        .keys()
        .map(String::as_str)
        .collect();
    let mut declared = declared;
    declared.sort_unstable();
    let mut outputs: Vec<&str> = Output::ALL.iter().map(|o| o.name()).collect();
    outputs.sort_unstable();
    assert_eq!(
        declared, outputs,
        "action.yml's outputs: the binary writes these"
    );
    for output in Output::ALL {
        let name = output.name();
        assert_eq!(
            action["outputs"][name]["value"],
            format!("${{{{ steps.run.outputs.{name} }}}}"),
            "output {name}"
        );
        assert_eq!(
            action["outputs"][name]["description"],
            output.meaning(),
            "output {name}"
        );
    }
    assert_eq!(action["runs"]["using"], "composite");
    let step = &action["runs"]["steps"][0];
    assert_eq!(step["id"], "run");
    assert_eq!(
        step["shell"],
        "/usr/bin/env -u ENV -u BASH_ENV -u CDPATH -u SHELLOPTS -u BASHOPTS /bin/sh -eu {0}"
    );
    // Every input reaches the script through env:, and nothing else is expanded there.
    let env = step["env"].as_object().expect("step env");
    for input in &inputs {
        let key = format!("INPUT_{}", input.to_ascii_uppercase().replace('-', "_"));
        assert_eq!(
            env.get(&key).and_then(Value::as_str),
            Some(format!("${{{{ inputs.{input} }}}}").as_str()),
            "env {key}"
        );
    }
    for (key, value) in env {
        let value = value.as_str().expect("string env");
        assert!(
            value.starts_with("${{ inputs.") || value.starts_with("${{ github.action_"),
            "env {key} = {value}: only inputs and the action's own location may be expanded"
        );
    }
}

#[test]
fn examples_say_which_tokens_and_branch_protection_they_need() {
    let modes = [
        ("auto-sync.yml", "sync", "push"),
        ("auto-tier.yml", "tier", "pull_request_target"),
        ("review-fire.yml", "review-fire", "pull_request_review"),
        ("token-canary.yml", "sync", "schedule"),
        ("auto-promote.yml", "promote", "schedule"),
        ("retarget.yml", "retarget", "pull_request_target"),
    ];
    for (name, mode, trigger) in modes {
        let text = fs::read_to_string(Path::new(ROOT).join("examples").join(name)).expect("read");
        let header: String = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            header.contains("Token scopes:"),
            "{name}: no token scopes in the header"
        );
        assert!(
            header.contains("Branch protection"),
            "{name}: no branch protection in the header"
        );
        let document = yaml(&Path::new(ROOT).join("examples").join(name));
        assert!(
            document["on"].get(trigger).is_some(),
            "{name} triggers on {trigger}"
        );
        let jobs = document["jobs"].as_object().expect("jobs");
        let steps: Vec<&Value> = jobs
            .values()
            .flat_map(|job| job["steps"].as_array().expect("steps").iter())
            .filter(|s| s.get("uses").is_some())
            .collect();
        assert_eq!(steps.len(), 1, "{name}: one shipgate step");
        assert_eq!(steps[0]["uses"], EXAMPLE_USES, "{name}");
        assert_eq!(steps[0]["with"]["mode"], mode, "{name}");
    }
    let sync = yaml(&Path::new(ROOT).join("examples/auto-sync.yml"));
    assert_eq!(sync["concurrency"]["cancel-in-progress"], json!(false));
    let canary = yaml(&Path::new(ROOT).join("examples/token-canary.yml"));
    assert_eq!(
        canary["jobs"]["canary"]["steps"][0]["with"]["args"],
        "--check-token"
    );
    let tier = yaml(&Path::new(ROOT).join("examples/auto-tier.yml"));
    assert_eq!(
        tier["on"]["pull_request_target"]["types"],
        json!(["opened", "synchronize", "reopened", "labeled", "unlabeled"])
    );
    let retarget = yaml(&Path::new(ROOT).join("examples/retarget.yml"));
    assert_eq!(
        retarget["on"]["pull_request_target"]["types"],
        json!(["opened", "reopened", "edited"])
    );
    let promote = yaml(&Path::new(ROOT).join("examples/auto-promote.yml"));
    assert_eq!(promote["concurrency"]["cancel-in-progress"], json!(false));
    let review = yaml(&Path::new(ROOT).join("examples/review-fire.yml"));
    for trigger in [
        "pull_request_target",
        "pull_request_review",
        "issue_comment",
    ] {
        assert!(
            review["on"].get(trigger).is_some(),
            "review-fire on {trigger}"
        );
    }
}

#[test]
fn every_workflow_passes_acts_strict_schema_validation() {
    let act = act_binary();
    let mut files: Vec<PathBuf> = EXAMPLES
        .iter()
        .map(|e| Path::new(ROOT).join("examples").join(e))
        .collect();
    files.push(Path::new(ROOT).join(".gitea/workflows/release.yml"));
    for file in files {
        let output = Command::new(&act)
            .args(["--validate", "--strict", "-W"])
            .arg(&file)
            .current_dir(ROOT)
            .stdin(Stdio::null())
            .output()
            .expect("run act --validate");
        assert!(
            output.status.success(),
            "{} is not a valid workflow:\n{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn shell_scripts_pass_shellcheck() {
    let shellcheck = find_on_path("shellcheck").unwrap_or_else(|| {
        panic!("shellcheck is not installed.\nhint: run `bash .ci/setup && . .ci/env`, or `apt-get install shellcheck`")
    });
    // Every shell file of the repository: found by name or shebang, so a new script is
    // checked without being listed. The step script is POSIX sh (it runs under dash and
    // busybox); the others are bash.
    let files = shell_files();
    for expected in [
        "dist/action.sh",
        "dist/package.sh",
        "dist/release.sh",
        ".ci/run",
        ".ci/setup",
        ".ci/env",
        "tests/real-forge/build.sh",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} not found among {files:?}"
        );
    }
    let checks: Vec<(String, &[&str])> = files
        .into_iter()
        .map(|file| {
            let flags: &[&str] = if file == "dist/action.sh" {
                &["-s", "sh", "-o", "require-variable-braces"]
            } else {
                &["-o", "require-variable-braces,require-double-brackets"]
            };
            (file, flags)
        })
        .collect();
    for (file, flags) in checks {
        let output = Command::new(&shellcheck)
            .args(flags)
            .arg(Path::new(ROOT).join(&file))
            .output()
            .expect("run shellcheck");
        assert!(
            output.status.success(),
            "shellcheck {file}:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

/// The repository's shell files, relative to its root: `*.sh`, or a `#!` line naming sh or
/// bash, outside `target/` and `.git/`.
fn shell_files() -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "artifacts" | "corpus") {
                    walk(root, &path, out);
                }
                continue;
            }
            let head = fs::read(&path)
                .map(|bytes| bytes.into_iter().take(64).collect::<Vec<u8>>())
                .unwrap_or_default();
            let first = String::from_utf8_lossy(&head);
            let first = first.lines().next().unwrap_or_default();
            let shebang = first.starts_with("#!")
                && (first.ends_with("/sh") || first.contains("bash") || first.ends_with(" sh"));
            if name.ends_with(".sh") || shebang {
                let relative = path.strip_prefix(root).expect("under the root");
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let root = Path::new(ROOT);
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The README's runner section says what a host needs: every tool the action's script
/// names in its header (and checks for with `command -v`), the host-mode label, and that
/// act_runner takes its labels from `--config`.
#[test]
fn the_readme_runner_section_names_what_the_host_needs() {
    let readme = fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README");
    let section = readme
        .split("\n### A runner\n")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("README has an `### A runner` section");
    let script = fs::read_to_string(Path::new(ROOT).join("dist/action.sh")).expect("action.sh");
    let mut tools: Vec<String> = script
        .lines()
        .filter_map(|l| l.split("command -v ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|tool| *tool != "cargo")
        .map(str::to_owned)
        .collect();
    tools.extend(["tar", "gzip"].map(str::to_owned));
    tools.sort_unstable();
    tools.dedup();
    assert!(tools.contains(&"curl".to_owned()), "{tools:?}");
    for tool in &tools {
        assert!(
            section.contains(&format!("`{tool}`")),
            "the runner section names `{tool}`, which dist/action.sh uses"
        );
    }
    for needed in ["ubuntu-latest:host", "--config", "`--labels`"] {
        assert!(section.contains(needed), "the runner section says {needed}");
    }
}
