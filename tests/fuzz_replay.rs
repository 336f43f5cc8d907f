//! Fuzzing in CI is replaying what fuzzing found: every committed corpus input and every
//! input that ever crashed a target (`fuzz/corpus/TARGET/`, `fuzz/artifacts/TARGET/`) runs
//! through the target's own body (`fuzz/bodies/`, the functions libFuzzer drives) on
//! stable, in the ordinary test build. An input that panics fails the test and names its
//! file. Time-boxed fuzzing is `fuzz/run.sh` (README: Fuzzing), run on purpose.

#[allow(dead_code, unreachable_pub)]
#[path = "../fuzz/bodies/mod.rs"]
mod bodies;

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The files of one folder, sorted; none when the folder is absent.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("read a fuzz input folder entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Replays every committed input of `target`; returns how many ran.
#[track_caller]
fn replay(target: &str) -> usize {
    let (_, body) = bodies::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz body named {target} in fuzz/bodies/mod.rs"));
    let root = Path::new(ROOT).join("fuzz");
    let corpus = inputs(&root.join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ is empty: run `python3 fuzz/seeds.py` (or fuzz the target) and commit its corpus"
    );
    let artifacts = inputs(&root.join("artifacts").join(target));
    let mut failed = Vec::new();
    for path in corpus.iter().chain(&artifacts) {
        let data = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "fuzz target {target} panics on {} committed input(s) (each reproduces with \
         `cd fuzz && cargo +nightly fuzz run {target} FILE`):\n{}",
        failed.len(),
        failed.join("\n")
    );
    corpus.len() + artifacts.len()
}

macro_rules! replays {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                let ran = replay(stringify!($target));
                assert!(ran > 0);
            }
        )*

        /// The replay tests above, the bodies and `fuzz/Cargo.toml`'s targets are one list.
        #[test]
        fn every_fuzz_target_is_replayed() {
            let replayed: Vec<&str> = vec![$(stringify!($target)),*];
            let bodies: Vec<&str> = bodies::TARGETS.iter().map(|(name, _)| *name).collect();
            assert_eq!(replayed, bodies, "tests/fuzz_replay.rs and fuzz/bodies/mod.rs differ");
            let manifest = fs::read_to_string(Path::new(ROOT).join("fuzz/Cargo.toml"))
                .expect("read fuzz/Cargo.toml");
            let mut declared: Vec<&str> = manifest
                .lines()
                .filter_map(|line| line.strip_prefix("name = \""))
                .filter_map(|rest| rest.strip_suffix('"'))
                .filter(|name| *name != "shipgate-fuzz")
                .collect();
            declared.sort_unstable();
            assert_eq!(declared, bodies, "fuzz/Cargo.toml's [[bin]] targets and fuzz/bodies/mod.rs differ");
            // libFuzzer drives exactly the body that is replayed here.
            for name in bodies {
                let driver = Path::new(ROOT).join("fuzz/fuzz_targets").join(format!("{name}.rs"));
                let text = fs::read_to_string(&driver)
                    .unwrap_or_else(|e| panic!("read {}: {e}", driver.display()));
                for needed in [format!("#[path = \"../bodies/{name}.rs\"]"), "body::run(data)".to_owned()] {
                    assert!(text.contains(&needed), "{} lacks {needed}", driver.display());
                }
            }
        }
    };
}

replays!(
    config_globs,
    config_yaml,
    event_payload,
    fetch_response,
    gitattributes,
    pkt_line,
    report_status,
    rest_types,
);
