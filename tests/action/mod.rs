//! End to end: the composite action (`action.yml` + `dist/action.sh`) run by act, the engine
//! Gitea's runner is a fork of, on the host (`-P ubuntu-latest=-self-hosted`, no Docker).
//!
//! The binary under test is packaged from this tree by `dist/package.sh --out` (once per test
//! run; cargo caches the build in `target/`), served by the fake Gitea's release download
//! route, and verified against the `SHA256SUMS` that same packaging run wrote. The action
//! folder act uses is a temp copy of `action.yml` and `dist/action.sh` with that regenerated
//! `SHA256SUMS`: the committed `dist/SHA256SUMS` describes the last release build, not the
//! working tree, and is refreshed by the release process (see README).
//!
//! Workflows use `uses: acme/shipgate@v1`, mapped to the copy with `--local-repository`. The
//! examples say `uses: https://gitea.example.com/acme/shipgate@v1` (Gitea's runner clones
//! full URLs; nektos/act rejects them), so their one `uses:` line is shortened, nothing else.
//!
//! act and shellcheck are required: when missing, these tests fail and say how to install
//! them (`.ci/setup` does).

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::support::{
    fake_gitea::{FakeGitea, Fault, FaultKind, FileSpec, PrSpec},
    git_server::GitServer,
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// How the examples name the action.
const EXAMPLE_USES: &str = "https://gitea.example.com/acme/shipgate@v1";
/// What act understands, mapped to the action copy with `--local-repository`.
const ACT_USES: &str = "acme/shipgate@v1";
const ACTION_REPO: &str = "acme/shipgate";
const APP_REPO: &str = "acme/app";
const DOWNLOAD_ROUTE: &str = "GET /{owner}/{repo}/releases/download/{tag}/{name}";
const BOT_TOKEN: &str = "tok-bot-5e3c1a";
const EXAMPLES: [&str; 6] = [
    "auto-sync.yml",
    "auto-tier.yml",
    "review-fire.yml",
    "token-canary.yml",
    "auto-promote.yml",
    "retarget.yml",
];

mod act;
mod examples;
mod package;
mod release;
mod scheduled;
mod script;
mod static_checks;
mod step;
mod timings;
mod under_act;

#[allow(unused_imports)]
use act::*;
#[allow(unused_imports)]
use examples::*;
pub(crate) use package::dist_binary;
#[allow(unused_imports)]
use package::*;
#[allow(unused_imports)]
use release::*;
#[allow(unused_imports)]
use script::*;
#[allow(unused_imports)]
use static_checks::*;
#[allow(unused_imports)]
use step::*;
#[allow(unused_imports)]
pub(crate) use timings::action_overhead_timings;
#[allow(unused_imports)]
use timings::*;
#[allow(unused_imports)]
use under_act::*;
