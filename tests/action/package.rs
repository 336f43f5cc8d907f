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

/// The target `dist/package.sh` supports besides [`host_target`]: the one this suite cannot
/// build without a cross toolchain.
pub(super) fn other_target() -> &'static str {
    match host_target() {
        "aarch64-unknown-linux-musl" => "x86_64-unknown-linux-musl",
        _ => "aarch64-unknown-linux-musl",
    }
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write to sha256sum");
    let output = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&output.stdout)[..64].to_owned()
}

/// A stand-in for [`other_target`]'s tarball (`asset name`, bytes) and the `SHA256SUMS` of a
/// full release: `package`'s lines plus the stand-in's, in `dist/package.sh`'s order. What a
/// release needs (every target listed) without the cross toolchain.
pub(super) fn full_release(package: &Package) -> (String, Vec<u8>, String) {
    let name = format!("shipgate-{}-{}", package.version, other_target());
    let asset = format!("{name}.tar.gz");
    let tarball = format!("stand-in for {asset}: not a real build\n").into_bytes();
    let binary = sha256_hex(format!("stand-in for {name}/shipgate\n").as_bytes());
    let mut lines: Vec<String> = package.sums.lines().map(str::to_owned).collect();
    lines.push(format!("{}  {asset}", sha256_hex(&tarball)));
    lines.push(format!("{binary}  {name}/shipgate"));
    lines.sort_by(|a, b| {
        a.split_once("  ")
            .map(|p| p.1)
            .cmp(&b.split_once("  ").map(|p| p.1))
    });
    (asset, tarball, lines.join("\n") + "\n")
}

/// A folder for `PATH`'s front holding a `rustup` that hides [`other_target`] from
/// `rustup target list --installed`, so `dist/package.sh` cannot build it, whatever this
/// machine has installed.
pub(super) fn rustup_without_other_target() -> tempfile::TempDir {
    let real = find_on_path("rustup").expect("rustup on PATH (https://rustup.rs)");
    let dir = tempdir("rustup");
    let stub = dir.path().join("rustup");
    fs::write(
        &stub,
        format!(
            "#!/bin/sh\n\
             if [ \"$*\" = 'target list --installed' ]; then\n\
             \x20   '{real}' target list --installed | grep -vx '{other}'\n\
             \x20   exit 0\n\
             fi\n\
             exec '{real}' \"$@\"\n",
            real = real.display(),
            other = other_target()
        ),
    )
    .expect("write the rustup stub");
    let mut permissions = fs::metadata(&stub).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    fs::set_permissions(&stub, permissions).expect("chmod the rustup stub");
    dir
}

/// `PATH` with `front` first.
pub(super) fn path_with(front: &Path) -> std::ffi::OsString {
    let mut dirs = vec![front.to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).expect("join PATH")
}

/// What `dist/package.sh` says [`other_target`] needs on this machine once the stub hides
/// its rust target.
fn other_target_needs() -> String {
    let mut needs = format!("`rustup target add {}`", other_target());
    let cc = match other_target() {
        "aarch64-unknown-linux-musl" => ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
        _ => ("musl-gcc", "musl-tools"),
    };
    if find_on_path(cc.0).is_none() {
        let _ = write!(needs, " and {} (`apt-get install {}`)", cc.0, cc.1);
    }
    needs
}

#[test]
fn package_refuses_to_write_dist_sha256sums_without_every_target() {
    // A scratch tree: the version comes from its Cargo.toml, and a refusal that did not
    // happen would overwrite its dist/SHA256SUMS, not the repository's.
    let tree = tempdir("package-tree");
    fs::create_dir(tree.path().join("dist")).expect("mkdir dist");
    fs::copy(
        Path::new(ROOT).join("dist/package.sh"),
        tree.path().join("dist/package.sh"),
    )
    .expect("copy dist/package.sh");
    fs::copy(
        Path::new(ROOT).join("Cargo.toml"),
        tree.path().join("Cargo.toml"),
    )
    .expect("copy Cargo.toml");
    let committed = "committed sums\n";
    fs::write(tree.path().join("dist/SHA256SUMS"), committed).expect("write SHA256SUMS");
    let rustup = rustup_without_other_target();
    let run = |args: &[&str]| {
        let output = Command::new("bash")
            .arg(tree.path().join("dist/package.sh"))
            .args(args)
            .current_dir(tree.path())
            .env("PATH", path_with(rustup.path()))
            .stdin(Stdio::null())
            .output()
            .expect("run dist/package.sh");
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), "", "{args:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    assert_eq!(
        run(&[]),
        format!(
            "error: cannot build {}: needs {}\n\
             error: dist/SHA256SUMS must list every target (x86_64-unknown-linux-musl \
             aarch64-unknown-linux-musl): install what is named above and run \
             dist/package.sh again, or use --out DIR for a build of this machine's targets \
             only\n",
            other_target(),
            other_target_needs()
        )
    );
    assert_eq!(
        run(&["--target", host_target()]),
        "error: dist/SHA256SUMS must list every target, so --target needs --out DIR (or \
         --check): run dist/package.sh without --target to write it\n"
    );
    assert_eq!(
        fs::read_to_string(tree.path().join("dist/SHA256SUMS")).expect("SHA256SUMS"),
        committed,
        "the committed file is untouched"
    );
}

/// The copy of the tree the reproducibility test builds: `target/reproducible/shipgate`,
/// refreshed from the working tree (tracked and untracked, not ignored) on each run with
/// mtimes kept, so its own `target/` only rebuilds what changed.
fn copy_of_the_tree() -> PathBuf {
    let copy = Path::new(ROOT).join("target/reproducible/shipgate");
    fs::create_dir_all(&copy).expect("mkdir the copy");
    for entry in fs::read_dir(&copy).expect("read the copy") {
        let entry = entry.expect("entry");
        if entry.file_name() == "target" {
            continue;
        }
        let path = entry.path();
        if entry.file_type().expect("file type").is_dir() {
            fs::remove_dir_all(&path).expect("clear the copy");
        } else {
            fs::remove_file(&path).expect("clear the copy");
        }
    }
    let listed = Command::new("git")
        .current_dir(ROOT)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .expect("git ls-files");
    assert!(listed.status.success(), "git ls-files: {listed:?}");
    let mut files = Vec::new();
    for file in listed.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let name = String::from_utf8_lossy(file).into_owned();
        if Path::new(ROOT).join(&name).is_file() {
            files.extend_from_slice(file);
            files.push(0);
        }
    }
    // tar keeps the mtimes.
    let mut pack = Command::new("tar")
        .current_dir(ROOT)
        .args(["--null", "--files-from=-", "--create", "--file=-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tar");
    let mut stdin = pack.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        use std::io::Write as _;
        stdin.write_all(&files).expect("list files for tar");
    });
    let unpack = Command::new("tar")
        .current_dir(&copy)
        .args(["--extract", "--file=-"])
        .stdin(pack.stdout.take().expect("stdout"))
        .status()
        .expect("run tar");
    feeder.join().expect("feed tar");
    assert!(pack.wait().expect("tar").success() && unpack.success());
    copy
}

/// The `CARGO_HOME` the copy builds with: `target/reproducible/cargo-home`, whose `registry`
/// (and `git`) are links to this machine's, so the dependencies' sources sit under another
/// absolute path without a second download.
fn other_cargo_home() -> PathBuf {
    let real = std::env::var_os("CARGO_HOME").map_or_else(
        || Path::new(&std::env::var_os("HOME").expect("HOME")).join(".cargo"),
        PathBuf::from,
    );
    let home = Path::new(ROOT).join("target/reproducible/cargo-home");
    fs::create_dir_all(&home).expect("mkdir the other CARGO_HOME");
    for name in ["registry", "git"] {
        let (from, to) = (real.join(name), home.join(name));
        if from.is_dir() && fs::symlink_metadata(&to).is_err() {
            std::os::unix::fs::symlink(&from, &to).expect("link the registry");
        }
    }
    home
}

/// Where `dist/package.sh` leaves a target's binary in a tree whose target dir is
/// `target_dir`.
fn built_binary(target_dir: &Path) -> PathBuf {
    target_dir.join(host_target()).join("dist/shipgate")
}

#[track_caller]
fn assert_same_bytes(what: &str, ours: &[u8], theirs: &[u8]) {
    if ours != theirs {
        let at = ours.iter().zip(theirs).position(|(a, b)| a != b);
        panic!(
            "{what} differs: {} bytes here, {} bytes in the copy, first difference at byte \
             {at:?}",
            ours.len(),
            theirs.len()
        );
    }
}

#[test]
fn the_same_source_in_another_folder_packages_to_the_same_bytes() {
    // The suite's own package (this tree, target/) against a copy of the tree built in
    // another folder with its own target dir and another CARGO_HOME path (its registry a
    // link to this one's): every absolute path differs (the tree, the dependencies' sources,
    // build scripts' OUT_DIR), so only relative paths and the remapping keep them out of the
    // bytes. `--check` in the copy compares the copy's build
    // with SHA256SUMS holding this tree's lines, and names the target it cannot build.
    let package = package();
    let started = Instant::now();
    let copy = copy_of_the_tree();
    let (_, _, sums) = full_release(package);
    fs::write(copy.join("dist/SHA256SUMS"), &sums).expect("write SHA256SUMS");
    fs::write(copy.join("dist/VERSION"), format!("{}\n", package.version)).expect("VERSION");
    let rustup = rustup_without_other_target();
    let cargo_home = other_cargo_home();
    let check = || {
        Command::new("bash")
            .arg(copy.join("dist/package.sh"))
            .arg("--check")
            .current_dir(&copy)
            .env("PATH", path_with(rustup.path()))
            .env("CARGO_HOME", &cargo_home)
            .env_remove("CARGO_TARGET_DIR")
            .stdin(Stdio::null())
            .output()
            .expect("run dist/package.sh --check")
    };
    let output = check();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!(
        "packaged the copy in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let out = copy.join("dist/out");
    let tarball = fs::read(out.join(&package.asset));
    assert!(
        output.status.success(),
        "dist/package.sh --check in the copy:\n{stderr}"
    );
    assert_same_bytes(
        "the binary",
        &fs::read(dist_binary()).expect("this tree's binary"),
        &fs::read(built_binary(&copy.join("target"))).expect("the copy's binary"),
    );
    assert_same_bytes(
        &package.asset,
        &package.tarball,
        &tarball.expect("the copy's tarball"),
    );
    assert_eq!(
        stderr,
        format!(
            "package: building {host} (profile dist)\n\
             package: wrote {out}/{asset}\n\
             package: skipped {other}: needs {needs}; its SHA256SUMS lines were not checked\n\
             package: dist/SHA256SUMS and dist/VERSION match this build of {host}\n",
            host = host_target(),
            out = out.display(),
            asset = package.asset,
            other = other_target(),
            needs = other_target_needs(),
        )
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        package.sums,
        "stdout: the sums of what was built"
    );

    // The same check fails on a changed line for the built target (cargo has nothing left
    // to do: each run below only repacks)…
    let ours = package
        .sums
        .lines()
        .find(|l| l.ends_with(".tar.gz"))
        .expect("the tarball line");
    let changed = format!("{}{}", "0".repeat(64), &ours[64..]);
    fs::write(copy.join("dist/SHA256SUMS"), sums.replace(ours, &changed)).expect("write");
    let output = check();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("< {changed}\n"))
            && stderr.contains(&format!("> {ours}\n"))
            && stderr.contains(
                "package: the build does not reproduce the committed dist/SHA256SUMS (diff \
                 above: < committed, > this build)\n"
            )
            && stderr.ends_with(
                "error: packaging check failed: rebuild with the toolchain in \
                 dist/out/BUILDINFO, run dist/package.sh and commit dist/SHA256SUMS and \
                 dist/VERSION\n"
            ),
        "{stderr}"
    );

    // …and on a committed file that lacks the target it could not build.
    let without_other: String = sums
        .lines()
        .filter(|l| !l.contains(other_target()))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(copy.join("dist/SHA256SUMS"), without_other).expect("write");
    let output = check();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let name = format!("shipgate-{}-{}", package.version, other_target());
    assert!(
        stderr.contains(&format!(
            "package: dist/SHA256SUMS has no line for {name}.tar.gz\n\
             package: dist/SHA256SUMS has no line for {name}/shipgate\n"
        )) && !stderr.contains("diff above"),
        "{stderr}"
    );
}
