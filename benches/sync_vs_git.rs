//! `shipgate sync` against the fastest git CLI pipeline for the same job, on synthetic
//! repositories served by real `git http-backend` (tests/support/git_server.rs).
//!
//! Baseline pipeline (one fresh bare repository per run, like shipgate's temporary one):
//! `git fetch --depth=16` of both branches, `--deepen` until `git merge-base` answers,
//! then `merge-tree --write-tree` + `commit-tree` (merge) and
//! `git push --force-with-lease=refs/heads/staging:<old>`.
//!
//! Knobs (environment): `SHIPGATE_BENCH_SIZES` (commits, comma-separated; default
//! `1000,50000,200000`), `SHIPGATE_BENCH_FILES` (files in the tree, default 5000),
//! `SHIPGATE_BENCH_RUNS` (runs per case, default 3; the median is reported),
//! `SHIPGATE_BENCH_APART` (commits between the branches, default 5),
//! `SHIPGATE_BENCH_NO_FILTER` (serve without partial-clone filters: shipgate's fallback),
//! `SHIPGATE_BENCH_BIN` (the binary to measure, e.g. the static musl `dist` build).
//!
//! Run: `cargo bench --bench sync_vs_git`. Heavy: generating 200k commits takes a while.

#[path = "../tests/support/git_server.rs"]
#[allow(dead_code, unused_imports)]
mod git_server;

/// The git server's fault types and killable listener (`super::fault_schedule` there).
#[path = "../tests/support/fault_schedule.rs"]
#[allow(dead_code)]
mod fault_schedule;

/// The git server's thread (`super::serve` there).
#[path = "../tests/support/serve.rs"]
mod serve;

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use git_server::{base64_encode, git_command, GitServer};

const TOKEN: &str = "tok-bench-6a1e";

fn env_list(name: &str, default: &[u64]) -> Vec<u64> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let sizes = env_list("SHIPGATE_BENCH_SIZES", &[1_000, 50_000, 200_000]);
    let files = env_num("SHIPGATE_BENCH_FILES", 5_000);
    let runs = env_num("SHIPGATE_BENCH_RUNS", 3).max(1);
    let apart = env_num("SHIPGATE_BENCH_APART", 5).max(1);
    let server = GitServer::start();
    server.add_user("bot", TOKEN);
    println!(
        "sync_vs_git: {files} files, branches {apart} commits apart, median of {runs} run(s); times in seconds, RSS in MB"
    );
    println!(
        "{:>8} {:>6} | {:>8} {:>7} | {:>8} {:>7} | {:>6} | shipgate fetch",
        "commits", "case", "shipgate", "RSS", "git", "RSS", "ratio"
    );
    for commits in sizes {
        let repo = format!("bench/r{commits}");
        let path = server.create_repo(&repo);
        let started = Instant::now();
        let shas = generate(&server, &repo, commits, files, apart);
        if std::env::var_os("SHIPGATE_BENCH_NO_FILTER").is_some() {
            server.disable_filters(&repo);
        }
        eprintln!(
            "generated {commits} commits in {:.1}s ({})",
            started.elapsed().as_secs_f64(),
            disk_size(&path)
        );
        for case in ["ff", "merge"] {
            let start = if case == "ff" {
                &shas.ff_start
            } else {
                &shas.merge_start
            };
            let mut ours = Vec::new();
            let mut theirs = Vec::new();
            let mut detail = String::new();
            for _ in 0..runs {
                reset(&server, &path, start);
                let (time, rss, json) = run_shipgate(&server, &repo);
                check(&server, &path, start, &shas.main, case);
                detail = format!(
                    "{} req, {} objects, {} KB, depth {}, {}",
                    json["fetch"]["requests"],
                    json["fetch"]["objects"],
                    json["fetch"]["bytes"].as_u64().unwrap_or(0) / 1024,
                    json["fetch"]["depth"],
                    json["fetch"]["strategy"].as_str().unwrap_or("?"),
                );
                ours.push((time, rss));
                reset(&server, &path, start);
                let (time, rss) = run_git(&server, &repo, start, case);
                check(&server, &path, start, &shas.main, case);
                theirs.push((time, rss));
            }
            let (ours_time, ours_rss) = median(&ours);
            let (git_time, git_rss) = median(&theirs);
            println!(
                "{commits:>8} {case:>6} | {:>8.3} {:>7.1} | {:>8.3} {:>7.1} | {:>6.2} | {detail}",
                ours_time.as_secs_f64(),
                ours_rss as f64 / 1024.0,
                git_time.as_secs_f64(),
                git_rss as f64 / 1024.0,
                ours_time.as_secs_f64() / git_time.as_secs_f64(),
            );
        }
    }
    let binary = binary();
    if let Ok(meta) = std::fs::metadata(&binary) {
        println!(
            "binary under test: {} ({:.1} MB)",
            binary.display(),
            meta.len() as f64 / 1e6
        );
    }
}

/// The binary measured: `SHIPGATE_BENCH_BIN` (e.g. the static musl `dist` build), else
/// the one cargo built for this bench.
fn binary() -> std::path::PathBuf {
    std::env::var_os("SHIPGATE_BENCH_BIN")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_shipgate").into())
}

struct Shas {
    main: String,
    ff_start: String,
    merge_start: String,
}

/// A linear `main` of `commits` commits over `files` files (each commit edits two files),
/// plus a side branch of 3 commits forked `apart` commits before main's tip.
fn generate(server: &GitServer, repo: &str, commits: u64, files: u64, apart: u64) -> Shas {
    let path = server.repo_path(repo);
    let mut child = git_command(&path, server.home())
        .args(["fast-import", "--quiet", "--depth=50"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, child.stdin.take().expect("stdin"));
    let name = |i: u64| format!("d{:03}/f{:04}.txt", i % 100, i);
    let body = |i: u64, rev: u64| {
        let mut text = String::new();
        for line in 0..10 {
            if line == rev % 10 {
                text.push_str(&format!("file {i} line {line} rev {rev}\n"));
            } else {
                text.push_str(&format!("file {i} line {line} original content\n"));
            }
        }
        text
    };
    let mut time = 1_600_000_000u64;
    let mut write_commit = |out: &mut dyn Write,
                            mark: u64,
                            branch: &str,
                            from: Option<u64>,
                            changes: &[(String, String)]| {
        time += 37;
        let message = format!("commit {mark}");
        write!(
            out,
            "commit refs/heads/{branch}\nmark :{mark}\ncommitter Dev <dev@example.com> {time} +0000\ndata {}\n{message}\n",
            message.len()
        )
        .expect("write");
        if let Some(from) = from {
            writeln!(out, "from :{from}").expect("write");
        }
        for (file, text) in changes {
            write!(out, "M 100644 inline {file}\ndata {}\n{text}\n", text.len()).expect("write");
        }
        writeln!(out).expect("write");
    };
    let initial: Vec<(String, String)> = (0..files).map(|i| (name(i), body(i, 99))).collect();
    write_commit(&mut out, 1, "main", None, &initial);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for mark in 2..=commits {
        let a = random() % files;
        let b = random() % files;
        let changes = vec![(name(a), body(a, mark)), (name(b), body(b, mark + 1))];
        write_commit(&mut out, mark, "main", Some(mark - 1), &changes);
    }
    // The side branch: 3 commits on files main's last commits did not touch.
    let fork = commits.saturating_sub(apart).max(1);
    let mut parent = fork;
    for k in 0..3 {
        let mark = commits + 1 + k;
        let file = format!("side/s{k}.txt");
        write_commit(
            &mut out,
            mark,
            "side",
            Some(parent),
            &[(file, format!("side {k}\n"))],
        );
        parent = mark;
    }
    writeln!(out, "reset refs/heads/ff\nfrom :{fork}\n").expect("write");
    out.flush().expect("flush");
    drop(out);
    assert!(
        child.wait().expect("fast-import").success(),
        "fast-import failed"
    );
    server.git(&path, &["repack", "-adq"]);
    let rev = |name: &str| server.rev(repo, name).unwrap_or_else(|| panic!("{name}"));
    Shas {
        main: rev("refs/heads/main"),
        ff_start: rev("refs/heads/ff"),
        merge_start: rev("refs/heads/side"),
    }
}

fn reset(server: &GitServer, path: &Path, sha: &str) {
    server.git(path, &["update-ref", "refs/heads/staging", sha]);
}

/// staging moved as the case requires.
fn check(server: &GitServer, path: &Path, start: &str, main: &str, case: &str) {
    let staging = server.git(path, &["rev-parse", "refs/heads/staging"]);
    let staging = staging.trim();
    match case {
        "ff" => assert_eq!(staging, main, "fast-forward landed"),
        _ => {
            let parents = server.git(
                path,
                &[
                    "rev-parse",
                    &format!("{staging}^1"),
                    &format!("{staging}^2"),
                ],
            );
            assert_eq!(parents, format!("{start}\n{main}\n"), "merge landed");
        }
    }
}

fn timed(command: Command) -> (Duration, u64, Vec<u8>) {
    let rss_file = tempfile::NamedTempFile::new().expect("temp file");
    let mut wrapped = Command::new("/usr/bin/time");
    wrapped.args(["-f", "%M", "-o"]).arg(rss_file.path());
    wrapped.arg(command.get_program());
    wrapped.args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    let started = Instant::now();
    let output = wrapped
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "{:?} failed:\n{}{}",
        command,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let rss = std::fs::read_to_string(rss_file.path())
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    (elapsed, rss, output.stdout)
}

fn run_shipgate(server: &GitServer, repo: &str) -> (Duration, u64, serde_json::Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("shipgate.yml");
    std::fs::write(
        &config,
        "sync:\n  author: {name: Bench, email: bench@example.com}\n",
    )
    .expect("config");
    let mut command = Command::new(binary());
    command
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TMPDIR", dir.path())
        .env("GITHUB_SERVER_URL", server.url())
        .env("GITHUB_REPOSITORY", repo)
        .env("SHIPGATE_TOKEN", TOKEN)
        .env("SHIPGATE_LOG", "error")
        .args(["sync", "--format", "json", "--config"])
        .arg(&config);
    let (time, rss, stdout) = timed(command);
    let json = serde_json::from_slice(&stdout).expect("json");
    (time, rss, json)
}

/// The git CLI pipeline; returns the total wall time and the largest RSS of its steps.
fn run_git(server: &GitServer, repo: &str, old: &str, case: &str) -> (Duration, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join("work.git");
    let url = server.repo_url(repo);
    let header = format!(
        "Authorization: Basic {}",
        base64_encode(format!("x:{TOKEN}").as_bytes())
    );
    let git = |args: &[&str]| {
        let mut command = git_command(dir.path(), server.home());
        command
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.extraHeader")
            .env("GIT_CONFIG_VALUE_0", &header)
            .env("GIT_TERMINAL_PROMPT", "0")
            .arg("--git-dir")
            .arg(&work)
            .args(args);
        command
    };
    let mut total = Duration::ZERO;
    let mut peak = 0u64;
    let mut step = |args: &[&str]| -> Option<String> {
        let (time, rss, out) = timed(git(args));
        total += time;
        peak = peak.max(rss);
        Some(String::from_utf8_lossy(&out).trim().to_owned())
    };
    let started = Instant::now();
    let _ = std::fs::create_dir_all(&work);
    step(&["init", "-q", "--bare"]);
    let specs = [
        "+refs/heads/main:refs/remotes/origin/main",
        "+refs/heads/staging:refs/remotes/origin/staging",
    ];
    let mut fetch = vec!["fetch", "-q", "--no-tags", "--depth=16", url.as_str()];
    fetch.extend(specs);
    step(&fetch);
    loop {
        let probe = git(&["merge-base", "origin/staging", "origin/main"])
            .output()
            .expect("merge-base");
        if probe.status.success() {
            break;
        }
        let mut deepen = vec!["fetch", "-q", "--no-tags", "--deepen=64", url.as_str()];
        deepen.extend(specs);
        step(&deepen);
    }
    let new = if case == "ff" {
        step(&["rev-parse", "origin/main"]).expect("main")
    } else {
        let tree = step(&[
            "merge-tree",
            "--write-tree",
            "origin/staging",
            "origin/main",
        ])
        .expect("tree");
        step(&[
            "commit-tree",
            &tree,
            "-p",
            "origin/staging",
            "-p",
            "origin/main",
            "-m",
            "chore: sync main → staging",
        ])
        .expect("commit")
    };
    let lease = format!("--force-with-lease=refs/heads/staging:{old}");
    let refspec = format!("{new}:refs/heads/staging");
    step(&["push", "-q", &lease, url.as_str(), &refspec]);
    let _ = total;
    (started.elapsed(), peak)
}

fn median(values: &[(Duration, u64)]) -> (Duration, u64) {
    let mut times: Vec<Duration> = values.iter().map(|v| v.0).collect();
    times.sort();
    let rss = values.iter().map(|v| v.1).max().unwrap_or(0);
    (times[times.len() / 2], rss)
}

fn disk_size(path: &Path) -> String {
    let output = Command::new("du").args(["-sh"]).arg(path).output();
    output
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .unwrap_or("?")
                .to_owned()
        })
        .unwrap_or_else(|_| "?".into())
}
