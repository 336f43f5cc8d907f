//! Tier benchmarks (`cargo bench --bench tier_paging`).
//!
//! 1. Paging: `Client::pull_files` on a 3,000-file pull request (60 pages of 50) from a
//!    small self-contained server that waits 20 ms before every answer, with
//!    `page_concurrency` 8 against the sequential baseline (1). Goal: ratio ≤ 0.3.
//! 2. The diff: `Client::pull_diff` plus `tier::diff::parse` on the same 3,000 files as
//!    one `.diff` answer with the same 20 ms wait, against the concurrent paging above
//!    (on a real Gitea each page costs a whole diff; here every answer costs the same, so
//!    the ratio is the floor of the gain). Goal: ratio ≤ 0.2.
//! 3. Local mode: `tier::local::gather` (merge base, tree diff with renames, per-file line
//!    counts) on a real 3,000-file diff built with the git CLI, next to
//!    `git diff --numstat` on the same commits as a reference.
//!
//! Benches cannot import `tests/`, so the server here is a minimal stand-in for the fake
//! Gitea: one route, Gitea's page cap and `X-Total-Count`.

use std::{
    net::SocketAddr,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use axum::{
    extract::{Query, State},
    http::{HeaderMap, HeaderValue},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};
use shipgate::{
    context::{RepoRef, Secret},
    forge::{Client, Options},
    tier::{
        diff,
        local::{self, Read},
    },
};

const FILES: usize = 3_000;
const LATENCY: Duration = Duration::from_millis(20);
const RUNS: usize = 5;

#[derive(Clone)]
struct Server {
    latency: Duration,
    files: usize,
}

#[derive(serde::Deserialize)]
struct Page {
    page: Option<usize>,
    limit: Option<usize>,
}

async fn files(State(server): State<Server>, Query(q): Query<Page>) -> (HeaderMap, Json<Value>) {
    tokio::time::sleep(server.latency).await;
    let limit = q.limit.unwrap_or(30).clamp(1, 50);
    let page = q.page.unwrap_or(1).max(1);
    let start = (page - 1) * limit;
    let items: Vec<Value> = (start..(start + limit).min(server.files))
        .map(|i| {
            json!({
                "filename": format!("src/module{}/file{i}.rs", i % 40),
                "status": "changed",
                "additions": 3,
                "deletions": 1,
                "changes": 4,
                "html_url": "",
                "contents_url": "",
                "raw_url": "",
            })
        })
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-total-count",
        HeaderValue::from_str(&server.files.to_string()).expect("digits"),
    );
    (headers, Json(Value::Array(items)))
}

/// The same files as one `git diff -p`: each `changed` with one hunk of 1 deleted and 3
/// added lines.
async fn diff(State(server): State<Server>) -> String {
    tokio::time::sleep(server.latency).await;
    (0..server.files)
        .map(|i| {
            let path = format!("src/module{}/file{i}.rs", i % 40);
            format!(
                "diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n\
                 +++ b/{path}\n@@ -1,2 +1,4 @@\n fn x() {{}}\n-old\n+new\n+new\n+new\n"
            )
        })
        .collect()
}

fn start_server(runtime: &tokio::runtime::Runtime) -> SocketAddr {
    let app = Router::new()
        .route("/api/v1/repos/acme/app/pulls/7/files", get(files))
        .route("/api/v1/repos/acme/app/pulls/7.diff", get(diff))
        .with_state(Server {
            latency: LATENCY,
            files: FILES,
        });
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("address");
    runtime.spawn(async move {
        axum::serve(listener, app).await.expect("bench server");
    });
    addr
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// A client of the paced fake (one attempt: no retry hides a slow answer) and the repo.
fn bench_client(addr: SocketAddr, page_concurrency: usize) -> (Client, RepoRef) {
    let client = Client::new(
        &format!("http://{addr}/api/v1"),
        Secret::new("bench-token"),
        Options {
            page_concurrency,
            attempts: 1,
            ..Options::default()
        },
    )
    .expect("client");
    (client, RepoRef::parse("acme/app").expect("repo"))
}

fn time_paging(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    concurrency: usize,
) -> Duration {
    let (client, repo) = bench_client(addr, concurrency);
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let files = runtime
            .block_on(client.pull_files(&repo, 7))
            .expect("pull_files");
        samples.push(start.elapsed());
        assert_eq!(files.len(), FILES);
    }
    median(samples)
}

fn time_diff(runtime: &tokio::runtime::Runtime, addr: SocketAddr) -> Duration {
    let (client, repo) = bench_client(addr, Options::default().page_concurrency);
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let body = runtime
            .block_on(client.pull_diff(&repo, 7, (diff::MAX_DIFF_BYTES, "MAX_DIFF_BYTES")))
            .expect("pull_diff");
        let files = diff::parse(&body).expect("the diff parses");
        samples.push(start.elapsed());
        assert_eq!(files.len(), FILES);
        assert_eq!(
            files.iter().map(|f| f.additions).sum::<u64>(),
            3 * FILES as u64
        );
    }
    median(samples)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A repository whose `main` has 3,000 files and whose `feature` changes every one of them
/// (a few lines each, 30 renames, 30 deletions, 30 additions).
fn build_repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    for i in 0..FILES {
        let path = dir.join(format!("src/m{}/f{i}.rs", i % 50));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let body: String = (0..40)
            .map(|l| format!("fn f{i}_{l}() -> u32 {{ {l} }}\n"))
            .collect();
        std::fs::write(path, body).expect("write");
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    git(dir, &["checkout", "-q", "-b", "feature"]);
    for i in 0..FILES {
        let path = dir.join(format!("src/m{}/f{i}.rs", i % 50));
        if i % 100 == 1 {
            std::fs::remove_file(&path).expect("rm");
            continue;
        }
        if i % 100 == 2 {
            let to = dir.join(format!("lib/moved{i}.rs"));
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::rename(&path, to).expect("mv");
            continue;
        }
        let mut text = std::fs::read_to_string(&path).expect("read");
        text = text.replacen(" 3 }", " 33 }", 1);
        text.push_str(&format!("fn added{i}() {{}}\n"));
        std::fs::write(&path, text).expect("write");
        if i % 100 == 3 {
            std::fs::write(dir.join(format!("src/new{i}.rs")), "fn new() {}\n").expect("write");
        }
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "feature"]);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = start_server(&runtime);

    println!(
        "tier paging: {FILES} files (60 pages of 50), {} ms per request, median of {RUNS}",
        LATENCY.as_millis()
    );
    let sequential = time_paging(&runtime, addr, 1);
    let concurrent = time_paging(&runtime, addr, 8);
    let ratio = concurrent.as_secs_f64() / sequential.as_secs_f64();
    println!(
        "  sequential (page_concurrency 1): {:>8.1} ms",
        sequential.as_secs_f64() * 1e3
    );
    println!(
        "  concurrent (page_concurrency 8): {:>8.1} ms",
        concurrent.as_secs_f64() * 1e3
    );
    println!("  ratio concurrent/sequential:     {ratio:>8.3} (goal <= 0.3)");
    let one_diff = time_diff(&runtime, addr);
    println!(
        "  one .diff, read and parsed:       {:>8.1} ms",
        one_diff.as_secs_f64() * 1e3
    );
    println!(
        "  ratio diff/concurrent pages:      {:>8.3} (goal <= 0.2)",
        one_diff.as_secs_f64() / concurrent.as_secs_f64()
    );

    let temp = tempfile::tempdir().expect("tempdir");
    let dir = temp.path();
    let build = Instant::now();
    build_repo(dir);
    println!(
        "tier local: repository with {FILES} files built in {:.1} s",
        build.elapsed().as_secs_f64()
    );
    let mut samples = Vec::new();
    let mut files = 0;
    let mut lines = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let facts = local::gather(
            dir,
            "main",
            "feature",
            Read {
                config: true,
                gitattributes: true,
            },
        )
        .expect("local gather");
        samples.push(start.elapsed());
        files = facts.files.len();
        lines = facts
            .files
            .iter()
            .map(|f| f.additions + f.deletions)
            .sum::<u64>();
    }
    let gix = median(samples);
    let mut samples = Vec::new();
    let mut numstat_lines = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = git(dir, &["diff", "--numstat", "-M", "main...feature"]);
        samples.push(start.elapsed());
        numstat_lines = out
            .lines()
            .filter_map(|l| {
                let mut parts = l.split('\t');
                let a: u64 = parts.next()?.parse().ok()?;
                let d: u64 = parts.next()?.parse().ok()?;
                Some(a + d)
            })
            .sum::<u64>();
    }
    let cli = median(samples);
    println!(
        "  shipgate local gather (gix):     {:>8.1} ms  ({files} files, {lines} lines)",
        gix.as_secs_f64() * 1e3
    );
    println!(
        "  git diff --numstat -M (ref.):    {:>8.1} ms  ({numstat_lines} lines)",
        cli.as_secs_f64() * 1e3
    );
    assert_eq!(lines, numstat_lines, "gix and git count different lines");
}
