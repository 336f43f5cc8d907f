//! dist/release.sh against a recording stub of the release API.

use super::*;

/// What the stub release API saw: `METHOD path?query`, the Authorization header, the body.
#[derive(Debug, Clone)]
pub(super) struct ReleaseCall {
    pub(super) line: String,
    pub(super) authorization: String,
    pub(super) body: Vec<u8>,
}

/// A stub of Gitea's release API (the fake Gitea serves only release reads): GET
/// `releases/tags/{tag}` answers `existing` (404 when `None`), POST `releases` creates id 12,
/// POST `releases/{id}/assets` accepts an upload. Every route is checked against the
/// swagger spec of every tested Gitea version (`tests/support/swagger.rs`).
pub(super) struct ReleaseApi {
    pub(super) url: String,
    pub(super) calls: std::sync::Arc<std::sync::Mutex<Vec<ReleaseCall>>>,
    pub(super) _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl ReleaseApi {
    pub(super) fn start(existing: Option<Value>) -> ReleaseApi {
        use axum::{body::Bytes, http::StatusCode, response::IntoResponse};
        let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::<ReleaseCall>::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let recorded = std::sync::Arc::clone(&calls);
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  body: Bytes| {
                let recorded = std::sync::Arc::clone(&recorded);
                let existing = existing.clone();
                async move {
                    let path = uri.path().to_owned();
                    recorded.lock().expect("lock").push(ReleaseCall {
                        line: format!("{method} {uri}"),
                        authorization: headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned(),
                        body: body.to_vec(),
                    });
                    let base = "/api/v1/repos/acme/shipgate/releases";
                    let created = json!({"id": 12, "tag_name": "v0", "assets": []});
                    match (method.as_str(), path.strip_prefix(base)) {
                        ("GET", Some(rest)) if rest.starts_with("/tags/") => match existing {
                            Some(release) => (StatusCode::OK, release.to_string()),
                            None => (StatusCode::NOT_FOUND, r#"{"message":"not found"}"#.into()),
                        },
                        ("POST", Some("")) => (StatusCode::CREATED, created.to_string()),
                        ("POST", Some(rest)) if rest.ends_with("/assets") => {
                            (StatusCode::CREATED, r#"{"id": 99, "name": "x"}"#.into())
                        }
                        _ => (StatusCode::IM_A_TEAPOT, "unexpected".into()),
                    }
                    .into_response()
                }
            },
        );
        let app = app.layer(axum::extract::DefaultBodyLimit::max(256 << 20));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = rx => {}
                }
            });
        });
        ReleaseApi {
            url,
            calls,
            _shutdown: tx,
        }
    }

    pub(super) fn calls(&self) -> Vec<ReleaseCall> {
        self.calls.lock().expect("lock").clone()
    }
}

pub(super) const RELEASE_TOKEN: &str = "tok-release-77c0";

/// What `dist/package.sh` leaves in `dist/out` for a full release, written to `out`: this
/// suite's tarball, a stand-in for the target it cannot build, `SHA256SUMS` listing both,
/// and `VERSION`. Returns the `SHA256SUMS` text (what the release commit holds).
pub(super) fn write_release_out(package: &Package, out: &Path) -> String {
    let (other_asset, other_tarball, sums) = full_release(package);
    fs::create_dir_all(out).expect("mkdir out");
    fs::write(out.join(&package.asset), &package.tarball).expect("write tarball");
    fs::write(out.join(other_asset), other_tarball).expect("write stand-in tarball");
    fs::write(out.join("SHA256SUMS"), &sums).expect("write SHA256SUMS");
    fs::write(out.join("VERSION"), format!("{}\n", package.version)).expect("write VERSION");
    sums
}

/// A release commit's tree, as far as `dist/release.sh` reads it: the script, the committed
/// `dist/SHA256SUMS` and the packaged `dist/out`.
pub(super) fn release_tree(package: &Package) -> tempfile::TempDir {
    let tree = tempdir("release-tree");
    let sums = write_release_out(package, &tree.path().join("dist/out"));
    fs::copy(
        Path::new(ROOT).join("dist/release.sh"),
        tree.path().join("dist/release.sh"),
    )
    .expect("copy dist/release.sh");
    fs::write(tree.path().join("dist/SHA256SUMS"), sums).expect("write dist/SHA256SUMS");
    tree
}

pub(super) fn release_script(api: &ReleaseApi, tag: &str, tree: &Path) -> std::process::Output {
    Command::new("bash")
        .arg(tree.join("dist/release.sh"))
        .arg(tag)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RELEASE_SERVER", format!("{}/", api.url))
        .env("RELEASE_REPOSITORY", ACTION_REPO)
        .env("RELEASE_TOKEN", RELEASE_TOKEN)
        .stdin(Stdio::null())
        .output()
        .expect("run dist/release.sh")
}

#[test]
fn release_script_creates_the_release_and_uploads_every_asset() {
    let package = package();
    let tree = release_tree(package);
    let other_asset = full_release(package).0;
    let api = ReleaseApi::start(None);
    let output = release_script(&api, &package.tag(), tree.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "dist/release.sh failed:\n{stderr}");
    assert!(!stderr.contains(RELEASE_TOKEN), "{stderr}");
    let calls = api.calls();
    let lines: Vec<&str> = calls.iter().map(|c| c.line.as_str()).collect();
    let base = "/api/v1/repos/acme/shipgate/releases";
    let mut expected = vec![
        format!("GET {base}/tags/{}", package.tag()),
        format!("POST {base}"),
        format!("POST {base}/12/assets?name={}", package.asset),
        format!("POST {base}/12/assets?name={other_asset}"),
        format!("POST {base}/12/assets?name=SHA256SUMS"),
    ];
    expected.sort();
    let mut sorted: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    sorted.sort();
    assert_eq!(sorted, expected);
    assert_eq!(
        lines[0],
        expected.iter().find(|l| l.starts_with("GET")).expect("GET")
    );
    for call in &calls {
        assert_eq!(
            call.authorization,
            format!("token {RELEASE_TOKEN}"),
            "{}",
            call.line
        );
    }
    let create: Value = serde_json::from_slice(&calls[1].body).expect("create body is JSON");
    assert_eq!(create["tag_name"], package.tag());
    assert_eq!(create["draft"], json!(false));
    let upload = calls
        .iter()
        .find(|c| c.line.ends_with(&package.asset))
        .expect("the tarball upload");
    let window = package.tarball.len();
    assert!(
        upload
            .body
            .windows(window)
            .any(|w| w == package.tarball.as_slice()),
        "the multipart body carries the tarball bytes"
    );
    assert!(
        String::from_utf8_lossy(&upload.body).contains("name=\"attachment\""),
        "multipart field `attachment`"
    );
    // Each route exists in every tested version's spec: GET/POST releases…, POST
    // releases/{id}/assets.
    for spec in crate::support::swagger::every_version() {
        for (method, template) in [
            ("GET", "/repos/{owner}/{repo}/releases/tags/{tag}"),
            ("POST", "/repos/{owner}/{repo}/releases"),
            ("POST", "/repos/{owner}/{repo}/releases/{id}/assets"),
        ] {
            assert!(
                spec.operation(method, template).is_some(),
                "{method} {template} is not in {}'s swagger spec",
                spec.name
            );
        }
        // The upload's multipart field and `name` query are the spec's.
        let assets = "/repos/{owner}/{repo}/releases/{id}/assets";
        for (location, name) in [("formData", "attachment"), ("query", "name")] {
            assert!(
                spec.parameters("POST", assets, location)
                    .iter()
                    .any(|p| p.get("name").and_then(Value::as_str) == Some(name)),
                "POST {assets}: no {location} parameter `{name}` in {}'s spec",
                spec.name
            );
        }
    }
}

#[test]
fn release_script_refuses_a_wrong_tag_or_a_release_with_assets() {
    let package = package();
    let tree = release_tree(package);
    let api = ReleaseApi::start(None);
    let output = release_script(&api, "v9.9.9", tree.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tag `v9.9.9` does not match the packaged version"),
        "{stderr}"
    );
    assert_eq!(api.calls().len(), 0, "nothing is sent for a wrong tag");

    let api = ReleaseApi::start(Some(json!({
        "id": 7, "tag_name": package.tag(),
        "assets": [{"id": 1, "name": package.asset}],
    })));
    let output = release_script(&api, &package.tag(), tree.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already has assets"), "{stderr}");
    let lines: Vec<String> = api.calls().into_iter().map(|c| c.line).collect();
    assert_eq!(lines.len(), 1, "only the read: {lines:?}");
    assert!(lines[0].starts_with("GET "), "{lines:?}");
}

#[test]
fn release_script_refuses_a_package_without_every_target_or_unlike_the_committed_sums() {
    let package = package();
    let out_dir = |tree: &tempfile::TempDir| {
        tree.path()
            .canonicalize()
            .expect("canonical tree")
            .join("dist/out")
    };
    let refused = |tree: &tempfile::TempDir, expected: String| {
        let api = ReleaseApi::start(None);
        let output = release_script(&api, &package.tag(), tree.path());
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("::error title=release::{expected}\n")
        );
        assert_eq!(api.calls().len(), 0, "nothing is sent");
    };

    // The package this machine can build alone: its SHA256SUMS has one target, and so
    // does the committed file (as `dist/package.sh --out` would leave it).
    let tree = release_tree(package);
    fs::write(out_dir(&tree).join("SHA256SUMS"), &package.sums).expect("write");
    fs::write(tree.path().join("dist/SHA256SUMS"), &package.sums).expect("write");
    refused(
        &tree,
        format!(
            "{}/SHA256SUMS has no lines for {}: a release must list every target. Install \
             gcc-aarch64-linux-gnu and musl-tools, run `rustup target add \
             x86_64-unknown-linux-musl aarch64-unknown-linux-musl`, then dist/package.sh, and \
             commit dist/SHA256SUMS",
            out_dir(&tree).display(),
            other_target()
        ),
    );

    // Every target listed, but the committed file is another build's.
    let tree = release_tree(package);
    let committed = fs::read_to_string(tree.path().join("dist/SHA256SUMS")).expect("read");
    let first = &committed[..64];
    fs::write(
        tree.path().join("dist/SHA256SUMS"),
        committed.replacen(first, &"0".repeat(64), 1),
    )
    .expect("write");
    refused(
        &tree,
        format!(
            "{}/SHA256SUMS differs from the committed dist/SHA256SUMS, which the action \
             checks downloads against: run dist/package.sh --check, or dist/package.sh and \
             commit dist/SHA256SUMS",
            out_dir(&tree).display()
        ),
    );

    // A tarball that is not the one its line names.
    let tree = release_tree(package);
    fs::write(out_dir(&tree).join(&package.asset), b"other bytes").expect("write");
    refused(
        &tree,
        format!(
            "{}/{} does not match its SHA256SUMS line: run dist/package.sh again",
            out_dir(&tree).display(),
            package.asset
        ),
    );
}
