//! Parse, gather the context, dispatch the mode, report. `main` only calls [`run`].

use std::{
    ffi::OsString,
    fs::OpenOptions,
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

use clap::Parser;

use crate::{
    arguments::{Arguments, Command, ConfigCommand},
    code::Code,
    config::{self, Config},
    context::{Context, Env, Overrides, ProcessEnv},
    forge,
    invocation::Invocation,
    report::{self, Format, Mode, Outcome, Sinks, Verdict},
    Error,
};

/// Make any panic, in any thread, print one `::error title=shipgate crashed::` line and
/// exit 2. Release binaries are built with `panic = "abort"` (the `dist` profile), where a
/// panic would otherwise end the process with SIGABRT and no annotation; the hook runs
/// before the abort, and `exit` inside it ends the process first. Token values are
/// scrubbed from the message.
fn install_panic_hook() {
    static CRASHED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    std::panic::set_hook(Box::new(|info| {
        if CRASHED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            // Another thread is already reporting and exiting.
            loop {
                std::thread::park();
            }
        }
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a panic without a message");
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        let secrets: Vec<String> = ["SHIPGATE_TOKEN", "SHIPGATE_STATUS_TOKEN"]
            .iter()
            .filter_map(|key| std::env::var(key).ok())
            .map(|value| value.trim().to_owned())
            .collect();
        let line = report::crash_annotation(what, location, &secrets);
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{line}");
        let _ = stderr.flush();
        std::process::exit(2);
    }));
}

/// Test hook, never documented in `--help`: `SHIPGATE_DEBUG_PANIC` makes the run panic on
/// purpose so `tests/panic.rs` can prove a panic in a release-like (`panic = "abort"`)
/// build still exits 2 with an annotation. `1` panics on the main thread, `thread` on a
/// spawned one, `secret` with the token's value in the message (which must be scrubbed).
fn debug_panic() {
    let Some(how) = std::env::var_os("SHIPGATE_DEBUG_PANIC") else {
        return;
    };
    match how.to_str() {
        Some("1") => panic!("SHIPGATE_DEBUG_PANIC=1: a deliberate panic (test hook)"),
        Some("thread") => {
            let _ = std::thread::spawn(|| {
                panic!("SHIPGATE_DEBUG_PANIC=thread: a deliberate panic (test hook)")
            })
            .join();
            // Under `panic = "unwind"` the hook has already exited; this is not reached.
            std::process::exit(70);
        }
        Some("secret") => panic!(
            "SHIPGATE_DEBUG_PANIC=secret: the token is {}",
            std::env::var("SHIPGATE_TOKEN").unwrap_or_default()
        ),
        _ => {}
    }
}

/// Run shipgate with these arguments; returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    install_panic_hook();
    debug_panic();
    let args: Vec<OsString> = args.into_iter().collect();
    let arguments = match Arguments::try_parse_from(&args) {
        Ok(arguments) => arguments,
        Err(e) => return usage_error(&e, &args),
    };
    init_tracing(arguments.verbose);

    let mode = match &arguments.command {
        Command::Sync(_) => Mode::Sync,
        Command::Tier(_) => Mode::Tier,
        Command::ReviewFire(_) => Mode::ReviewFire,
        Command::Promote(_) => Mode::Promote,
        Command::Retarget(_) => Mode::Retarget,
        Command::Config(_) => Mode::Config,
        Command::Doctor(_) => Mode::Doctor,
        Command::Version => {
            print!("{}", report::version(arguments.format));
            return 0;
        }
    };
    let format = arguments.format;

    let ctx = match Context::from_env(
        &ProcessEnv,
        &Overrides {
            server: arguments.server.clone(),
            repo: arguments.repo.clone(),
        },
    ) {
        Ok(ctx) => ctx,
        Err(e) => {
            // The context is unreadable, but the report still belongs in the step's files.
            let sinks = Context {
                output_path: ProcessEnv.var("GITHUB_OUTPUT").map(PathBuf::from),
                summary_path: ProcessEnv.var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
                ..Context::default()
            };
            return finish(&Outcome::from_error(mode, &e), format, &sinks);
        }
    };
    {
        let mut stderr = std::io::stderr().lock();
        for line in ctx.mask_commands() {
            let _ = writeln!(stderr, "{line}");
        }
    }

    let invocation = Invocation {
        ctx,
        dry_run: arguments.dry_run,
        config_path: arguments.config.clone(),
        forge_options: forge::Options {
            timeout: Duration::from_secs_f64(arguments.timeout.max(0.001)),
            connect_timeout: Duration::from_secs_f64(arguments.timeout.clamp(0.001, 10.0)),
            attempts: arguments.attempts.max(1),
            backoff: Duration::from_millis(arguments.backoff_ms),
            ..forge::Options::default()
        },
    };

    let outcome = match arguments.command {
        Command::Config(ConfigCommand::Default) => {
            print!("{}", report::default_config(format, config::DEFAULT_YAML));
            return 0;
        }
        Command::Config(ConfigCommand::Check { path }) => config_check(path.as_deref()),
        Command::Version => unreachable!("handled above"),
        Command::Sync(args) => block_on(mode, crate::sync::run(&invocation, &args)),
        Command::Tier(args) => block_on(mode, crate::tier::run(&invocation, &args)),
        Command::ReviewFire(args) => block_on(mode, crate::review::run(&invocation, &args)),
        Command::Promote(args) => block_on(mode, crate::promote::run(&invocation, &args)),
        Command::Retarget(args) => block_on(mode, crate::retarget::run(&invocation, &args)),
        Command::Doctor(args) => block_on(mode, crate::doctor::run(&invocation, &args)),
    };
    finish(&outcome, format, &invocation.ctx)
}

/// A command line clap rejected (or help/version it printed): 0 for help and version,
/// else 64 with one `::error` line and, under `--format json`, one JSON object on stdout.
fn usage_error(e: &clap::Error, args: &[OsString]) -> i32 {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return 0;
    }
    let _ = e.print();
    let text = e.to_string();
    let message = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        "a subcommand is required".to_owned()
    } else {
        text.lines()
            .next()
            .unwrap_or("invalid arguments")
            .trim_start_matches("error: ")
            .to_owned()
    };
    let hint = "run `shipgate --help` for the commands and flags";
    eprintln!("{}", report::bare_annotation(Code::Usage, &message, hint));
    if wants_json(args) {
        let mode = args.iter().skip(1).find_map(|arg| {
            [
                Mode::Sync,
                Mode::Tier,
                Mode::ReviewFire,
                Mode::Promote,
                Mode::Retarget,
                Mode::Config,
                Mode::Doctor,
            ]
            .into_iter()
            .find(|m| arg.to_str() == Some(m.as_str()))
        });
        println!("{}", report::usage_json(mode, &message, hint));
    }
    64
}

/// `--format json`, `--format=json` or `SHIPGATE_FORMAT=json`, read from raw arguments
/// (clap could not parse them).
fn wants_json(args: &[OsString]) -> bool {
    let flag = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json");
    let from_env = || std::env::var("SHIPGATE_FORMAT").is_ok_and(|v| v == "json");
    let explicit_text = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "text")
        || args.iter().any(|a| a == "--format=text");
    flag || (!explicit_text && from_env())
}

fn block_on(
    mode: Mode,
    future: impl std::future::Future<Output = Result<Outcome, Error>>,
) -> Outcome {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(source) => {
            return Outcome::from_error(
                mode,
                &Error::Io {
                    what: "the async runtime".into(),
                    source,
                },
            )
        }
    };
    match runtime.block_on(future) {
        Ok(outcome) => outcome,
        Err(e) => Outcome::from_error(mode, &e),
    }
}

fn config_check(path: Option<&Path>) -> Outcome {
    let path = path.unwrap_or(Path::new(config::DEFAULT_PATH));
    match Config::load(path) {
        Ok(_) => {
            Outcome::new(Mode::Config, Verdict::Ok).reason(format!("`{}` is valid", path.display()))
        }
        Err(e) => Outcome::from_error(Mode::Config, &Error::Config(e)),
    }
}

fn finish(outcome: &Outcome, format: Format, ctx: &Context) -> i32 {
    let open = |path: &Option<PathBuf>| {
        path.as_ref()
            .and_then(|p| OpenOptions::new().append(true).create(true).open(p).ok())
    };
    let mut summary = open(&ctx.summary_path);
    let mut outputs = open(&ctx.output_path);
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let result = report::emit(
        outcome,
        format,
        Sinks {
            stdout: &mut stdout.lock(),
            stderr: &mut stderr.lock(),
            summary: summary.as_mut().map(|f| f as &mut dyn Write),
            outputs: outputs.as_mut().map(|f| f as &mut dyn Write),
        },
    );
    let unwritable = (ctx.summary_path.is_some() && summary.is_none())
        || (ctx.output_path.is_some() && outputs.is_none());
    if result.is_err() || unwritable {
        eprintln!(
            "{}",
            report::bare_annotation(
                Code::ReportNotWritten,
                "could not write stdout, GITHUB_OUTPUT or GITHUB_STEP_SUMMARY",
                crate::error::REPORT_NOT_WRITTEN_HINT
            )
        );
        return outcome.exit_code().max(2);
    }
    outcome.exit_code()
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "shipgate=debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHIPGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}
