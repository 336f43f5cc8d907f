//! The action's overhead (`cargo bench --bench action_overhead`): the composite step that
//! finds, downloads, verifies and runs the binary, against the binary run alone (the
//! baseline). Goal: the warm (cached) step within 50 ms of the baseline, a ratio near 1.
//!
//! It reuses the end-to-end harness of `tests/action/` (the dist package, the fake
//! Gitea serving the release, the step script run as the runner runs it, act), so the
//! numbers come from exactly what the tests exercise. Needs what those tests need: act,
//! musl-tools and the musl target (`.ci/run` installs them).

#[allow(dead_code, unused_imports)]
#[path = "../tests/action/mod.rs"]
mod action;
#[allow(unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

fn main() {
    let (report, ratio) = action::action_overhead_timings();
    print!("{report}");
    println!("warm step / binary alone: {ratio:.2}x (baseline: `shipgate version` run directly)");
}
