//! the package under test: `dist/package.sh` once per run, the action copy.

use super::*;

/// `dist/package.sh --out` run once for the whole test binary.
pub(super) struct Package {
    pub(super) version: String,
    pub(super) target: String,
    /// `shipgate-<version>-<target>.tar.gz`
    pub(super) asset: String,
    pub(super) tarball: Vec<u8>,
    /// The SHA256SUMS text the packaging run wrote.
    pub(super) sums: String,
}

impl Package {
    pub(super) fn release_path(&self) -> String {
        format!(
            "/{ACTION_REPO}/releases/download/v{}/{}",
            self.version, self.asset
        )
    }

    pub(super) fn tag(&self) -> String {
        format!("v{}", self.version)
    }
}

pub(super) fn host_target() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-musl",
    }
}

#[track_caller]
pub(super) fn package() -> &'static Package {
    static PACKAGE: OnceLock<Result<Package, String>> = OnceLock::new();
    match PACKAGE.get_or_init(build_package) {
        Ok(package) => package,
        Err(message) => panic!("{message}"),
    }
}

/// The release binary `dist/package.sh` built for this machine (`dist` profile, musl),
/// building it on first use.
#[track_caller]
pub(crate) fn dist_binary() -> PathBuf {
    package();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(ROOT).join("target"), PathBuf::from);
    target_dir.join(host_target()).join("dist").join("shipgate")
}

pub(super) fn build_package() -> Result<Package, String> {
    let out = Path::new(ROOT).join("target/action-e2e/dist");
    let target = host_target();
    let started = Instant::now();
    let result = Command::new("bash")
        .arg(Path::new(ROOT).join("dist/package.sh"))
        .args(["--out".as_ref(), out.as_os_str()])
        .args(["--target", target])
        .current_dir(ROOT)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run dist/package.sh: {e}"))?;
    if !result.status.success() {
        return Err(format!(
            "dist/package.sh --out {} --target {target} failed ({}):\n{}\n\
             hint: run `bash .ci/setup && . .ci/env`, or install musl-tools and `rustup target add {target}`",
            out.display(),
            result.status,
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    let read = |name: &str| {
        fs::read_to_string(out.join(name))
            .map_err(|e| format!("dist/package.sh wrote no {name}: {e}"))
    };
    let version = read("VERSION")?.trim().to_owned();
    let sums = read("SHA256SUMS")?;
    let asset = format!("shipgate-{version}-{target}.tar.gz");
    let tarball = fs::read(out.join(&asset)).map_err(|e| format!("no {asset}: {e}"))?;
    eprintln!(
        "packaged {asset} ({} bytes) in {:.1} s",
        tarball.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Package {
        version,
        target: target.to_owned(),
        asset,
        tarball,
        sums,
    })
}

/// A copy of the action as act sees it at `@v1`: action.yml, dist/action.sh, dist/VERSION
/// and a SHA256SUMS (the freshly packaged one unless a test passes another).
pub(super) struct ActionCopy {
    pub(super) dir: tempfile::TempDir,
}

impl ActionCopy {
    pub(super) fn new(package: &Package) -> ActionCopy {
        ActionCopy::with_sums(package, &package.sums)
    }

    pub(super) fn with_sums(package: &Package, sums: &str) -> ActionCopy {
        let dir = tempdir("action");
        fs::create_dir(dir.path().join("dist")).expect("mkdir dist");
        fs::copy(
            Path::new(ROOT).join("action.yml"),
            dir.path().join("action.yml"),
        )
        .expect("copy action.yml");
        fs::copy(
            Path::new(ROOT).join("dist/action.sh"),
            dir.path().join("dist/action.sh"),
        )
        .expect("copy dist/action.sh");
        fs::write(
            dir.path().join("dist/VERSION"),
            format!("{}\n", package.version),
        )
        .expect("write VERSION");
        fs::write(dir.path().join("dist/SHA256SUMS"), sums).expect("write SHA256SUMS");
        ActionCopy { dir }
    }

    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }
}

pub(super) fn tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("shipgate-action-{prefix}-"))
        .tempdir()
        .expect("create a temp dir")
}

/// A fake Gitea holding the packaged release of `acme/shipgate`.
pub(super) fn forge_with_release(package: &Package) -> FakeGitea {
    let fake = FakeGitea::start();
    fake.add_user("bot", BOT_TOKEN);
    fake.add_repo(APP_REPO);
    fake.add_release(
        ACTION_REPO,
        &package.tag(),
        vec![(package.asset.clone(), package.tarball.clone())],
    );
    fake
}

pub(super) fn downloads(fake: &FakeGitea) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| format!("{} {}", r.method, r.route) == DOWNLOAD_ROUTE)
        .map(|r| r.path)
        .collect()
}

/// Every request the fake saw, as `METHOD path`.
pub(super) fn request_lines(fake: &FakeGitea) -> Vec<String> {
    fake.requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}
