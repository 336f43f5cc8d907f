//! timings.

use super::*;

pub(super) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The action's overhead, measured: the binary alone, the step warm (cached) and cold
/// (download and verify), and the whole job under act. A benchmark, not a test (no timing
/// is asserted in `cargo test`): `cargo bench --bench action_overhead` runs it and writes
/// `target/action-e2e/timings.txt`. Returns the report and the warm overhead's ratio to
/// the binary alone.
#[allow(dead_code)] // benches/action_overhead.rs runs it
pub(crate) fn action_overhead_timings() -> (String, f64) {
    let package = package();
    let fake = forge_with_release(package);
    let action = ActionCopy::new(package);

    // Warm the cache once, then time the binary alone.
    let cache = tempdir("timing-cache");
    Step::new(action.path(), &fake.url(), cache.path())
        .run()
        .status(0);
    let binary = installed_binary(cache.path(), package);
    let alone: Vec<Duration> = (0..15)
        .map(|_| {
            let started = Instant::now();
            let status = Command::new(&binary)
                .arg("version")
                .stdout(Stdio::null())
                .status()
                .expect("run the binary");
            assert!(status.success());
            started.elapsed()
        })
        .collect();
    let warm: Vec<Duration> = (0..15)
        .map(|_| {
            let run = Step::new(action.path(), &fake.url(), cache.path()).run();
            run.status(0);
            run.elapsed
        })
        .collect();
    let cold: Vec<Duration> = (0..5)
        .map(|_| {
            let fresh = tempdir("timing-cold");
            let run = Step::new(action.path(), &fake.url(), fresh.path()).run();
            run.status(0);
            run.elapsed
        })
        .collect();
    assert_eq!(downloads(&fake).len(), 1 + 5, "warm runs downloaded");

    // The same under act: the whole job, and act's own timing of the action step.
    let flow = workflow("pull_request_target", "mode: version\n", "", None);
    let act_cache = tempdir("timing-act");
    let act_cold = Act::new(
        &flow,
        "pull_request_target",
        action.path(),
        act_cache.path(),
    )
    .server(&fake.url())
    .run()
    .success();
    let act_warm: Vec<ActRun> = (0..3)
        .map(|_| {
            Act::new(
                &flow,
                "pull_request_target",
                action.path(),
                act_cache.path(),
            )
            .server(&fake.url())
            .run()
            .success()
        })
        .collect();
    let step_warm = median(
        act_warm
            .iter()
            .filter_map(ActRun::action_step_time)
            .collect(),
    );

    let (alone, warm, cold) = (median(alone), median(warm), median(cold));
    let mut report = String::new();
    let _ = writeln!(
        report,
        "shipgate action timings ({} bytes tarball, loopback, medians; whole processes)",
        package.tarball.len()
    );
    let _ = writeln!(
        report,
        "  binary alone (`shipgate version`):     {:8.1} ms",
        ms(alone)
    );
    let _ = writeln!(
        report,
        "  action step, warm (cached):            {:8.1} ms   overhead {:+.1} ms",
        ms(warm),
        ms(warm) - ms(alone)
    );
    let _ = writeln!(
        report,
        "  action step, cold (download + verify): {:8.1} ms   overhead {:+.1} ms",
        ms(cold),
        ms(cold) - ms(alone)
    );
    let _ = writeln!(
        report,
        "  act job, cold:                         {:8.1} ms   (act's action step {:.1} ms)",
        ms(act_cold.elapsed),
        act_cold.action_step_time().map_or(f64::NAN, ms)
    );
    let _ = writeln!(
        report,
        "  act job, warm:                         {:8.1} ms   (act's action step {:.1} ms)",
        ms(median(act_warm.iter().map(|r| r.elapsed).collect())),
        ms(step_warm)
    );
    let out = Path::new(ROOT).join("target/action-e2e");
    fs::create_dir_all(&out).expect("mkdir target/action-e2e");
    fs::write(out.join("timings.txt"), &report).expect("write timings");
    (report, ms(warm) / ms(alone).max(f64::MIN_POSITIVE))
}
