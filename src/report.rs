//! The one place that turns an outcome into what the runner sees: exit code, `::error::`
//! annotation, text or JSON on stdout, a Markdown step summary and `GITHUB_OUTPUT` lines.
//!
//! Everything is written through `impl Write`, so tests pass `Vec<u8>`.

use std::io::{self, Write};

use serde_json::{Map, Value};

use crate::code::Code;
use crate::output::Output;

/// Which gate ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sync,
    Tier,
    ReviewFire,
    Promote,
    Retarget,
    Config,
    Doctor,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Tier => "tier",
            Mode::ReviewFire => "review-fire",
            Mode::Promote => "promote",
            Mode::Retarget => "retarget",
            Mode::Config => "config",
            Mode::Doctor => "doctor",
        }
    }
}

/// The answer a run reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Verified, and the gate holds / the action was done.
    Ok,
    /// Verified, and the answer is no.
    No,
    /// Could not verify: treated as failure.
    CannotVerify,
    /// The gate does not apply to this event (closed PR, other base branch…).
    NotApplicable,
    /// The command line was wrong.
    Usage,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::No => "no",
            Verdict::CannotVerify => "cannot-verify",
            Verdict::NotApplicable => "not-applicable",
            Verdict::Usage => "usage",
        }
    }

    /// The exit-code contract: 0 ok / not applicable, 1 no, 2 cannot verify, 64 usage.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Ok | Verdict::NotApplicable => 0,
            Verdict::No => 1,
            Verdict::CannotVerify => 2,
            Verdict::Usage => 64,
        }
    }
}

/// What a nonzero run tells the operator: the `::error title=…::` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The stable code, shown (with its title) in the annotation's title, the JSON and the
    /// summary.
    pub code: Code,
    pub message: String,
    pub hint: String,
}

impl Failure {
    /// The few words of the annotation's title: the code's.
    pub fn title(&self) -> &'static str {
        self.code.title()
    }

    /// The `::error` line, titled `WHO: TITLE [CODE]` (`shipgate tier`, or `shipgate`
    /// outside a mode).
    fn annotation(&self, who: &str) -> String {
        format!(
            "::error title={}::{}",
            escape_property(&format!("{who}: {} [{}]", self.title(), self.code)),
            escape_data(&format!("{} — hint: {}", self.message, self.hint)),
        )
    }

    /// The JSON `error` object.
    fn to_json(&self) -> Value {
        serde_json::json!({
            "code": self.code.as_str(),
            "title": self.title(),
            "message": self.message,
            "hint": self.hint,
        })
    }
}

/// The result of one run of one mode.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub mode: Mode,
    pub verdict: Verdict,
    /// Why, one short sentence each; shown in text, JSON and the summary.
    pub reasons: Vec<String>,
    /// Mode-specific JSON fields (`tier`, `plan`, `gates`…), merged into the JSON object.
    pub fields: Map<String, Value>,
    /// Step outputs (`tier`, `merge-kind`, `new-sha`…); `result` is always added.
    pub outputs: Vec<(Output, String)>,
    /// Extra Markdown for the step summary (tables, runbooks).
    pub details: String,
    /// Set on every nonzero verdict; the annotation text.
    pub failure: Option<Failure>,
}

impl Outcome {
    pub fn new(mode: Mode, verdict: Verdict) -> Outcome {
        Outcome {
            mode,
            verdict,
            reasons: Vec::new(),
            fields: Map::new(),
            outputs: Vec::new(),
            details: String::new(),
            failure: None,
        }
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Outcome {
        self.reasons.push(reason.into());
        self
    }

    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Outcome {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    pub fn output(mut self, output: Output, value: impl Into<String>) -> Outcome {
        self.outputs.push((output, value.into()));
        self
    }

    pub fn failure(
        mut self,
        code: Code,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Outcome {
        self.failure = Some(Failure {
            code,
            message: message.into(),
            hint: hint.into(),
        });
        self
    }

    /// The outcome of a run that ended in an error.
    pub fn from_error(mode: Mode, error: &crate::Error) -> Outcome {
        let verdict = if error.exit_code() == 64 {
            Verdict::Usage
        } else {
            Verdict::CannotVerify
        };
        let message = error_chain(error);
        let first_line = message.lines().next().unwrap_or_default().to_owned();
        Outcome::new(mode, verdict)
            .reason(first_line)
            .failure(error.code(), message, error.hint())
    }

    pub fn exit_code(&self) -> i32 {
        self.verdict.exit_code()
    }

    /// The JSON object printed with `--format json`.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("mode".into(), self.mode.as_str().into());
        object.insert("result".into(), self.verdict.as_str().into());
        object.insert(
            "reasons".into(),
            Value::Array(self.reasons.iter().cloned().map(Value::String).collect()),
        );
        for (key, value) in &self.fields {
            object.insert(key.clone(), value.clone());
        }
        if let Some(failure) = &self.failure {
            object.insert("error".into(), failure.to_json());
        }
        Value::Object(object)
    }
}

/// `error: cause: cause…`, following `source()`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A progress line on stderr while a mode waits (never a workflow command).
pub fn progress(mode: Mode, text: &str) {
    eprintln!(
        "shipgate {}: {}",
        mode.as_str(),
        defuse(text).replace('\n', " ")
    );
}

/// Output format of stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Where a report goes.
pub struct Sinks<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    pub summary: Option<&'a mut dyn Write>,
    pub outputs: Option<&'a mut dyn Write>,
}

/// Write the outcome everywhere it belongs.
pub fn emit(outcome: &Outcome, format: Format, sinks: Sinks<'_>) -> io::Result<()> {
    let Sinks {
        stdout,
        stderr,
        summary,
        outputs,
    } = sinks;
    if outcome.exit_code() != 0 {
        // Every nonzero exit gets its annotation, even from a mode that forgot `.failure`.
        let fallback;
        let failure = match &outcome.failure {
            Some(failure) => failure,
            None => {
                fallback = Failure {
                    code: Code::Unexplained,
                    message: if outcome.reasons.is_empty() {
                        "no reason was recorded".to_owned()
                    } else {
                        outcome.reasons.join("; ")
                    },
                    hint: "re-run with -v and read the log above".to_owned(),
                };
                &fallback
            }
        };
        writeln!(
            stderr,
            "{}",
            failure.annotation(&format!("shipgate {}", outcome.mode.as_str()))
        )?;
    }
    match format {
        Format::Json => {
            serde_json::to_writer(&mut *stdout, &outcome.to_json())?;
            writeln!(stdout)?;
        }
        Format::Text => write_text(outcome, stdout)?,
    }
    if let Some(summary) = summary {
        write_summary(outcome, summary)?;
    }
    if let Some(outputs) = outputs {
        write_output(outputs, Output::Result.name(), outcome.verdict.as_str())?;
        for (output, value) in &outcome.outputs {
            write_output(outputs, output.name(), value)?;
        }
    }
    Ok(())
}

fn write_text(outcome: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "shipgate {}: {}",
        outcome.mode.as_str(),
        outcome.verdict.as_str()
    )?;
    for reason in &outcome.reasons {
        writeln!(out, "  - {}", defuse(reason))?;
    }
    if let Some(failure) = &outcome.failure {
        if outcome.exit_code() != 0 {
            writeln!(out, "error: {}", defuse(&failure.message))?;
            writeln!(out, "hint: {}", defuse(&failure.hint))?;
            writeln!(out, "code: {}", failure.code)?;
        }
    }
    if !outcome.details.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", defuse(outcome.details.trim_end()))?;
    }
    Ok(())
}

/// Text for stdout that cannot start a workflow command: reasons carry file names, labels
/// and server messages, and a newline in one would let it begin a line the runner reads
/// as `::set-output`, `::error`, `::stop-commands`…. A bare CR counts as a line break (some
/// runners split on it); any line that would start with `::` gets a `\` in front.
pub fn defuse(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .map(|line| {
            if line.trim_start().starts_with("::") {
                format!("\\{line}")
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn write_summary(outcome: &Outcome, out: &mut dyn Write) -> io::Result<()> {
    let icon = match outcome.verdict {
        Verdict::Ok => "✅",
        Verdict::NotApplicable => "➖",
        Verdict::No => "❌",
        Verdict::CannotVerify | Verdict::Usage => "⛔",
    };
    writeln!(
        out,
        "### {icon} shipgate {}: `{}`\n",
        outcome.mode.as_str(),
        outcome.verdict.as_str()
    )?;
    for reason in &outcome.reasons {
        writeln!(out, "- {reason}")?;
    }
    if let Some(failure) = &outcome.failure {
        if outcome.exit_code() != 0 {
            writeln!(
                out,
                "\n**{}** (`{}`): {}\n\n> {}",
                failure.title(),
                failure.code,
                failure.message,
                failure.hint
            )?;
        }
    }
    if !outcome.details.is_empty() {
        writeln!(out, "\n{}", outcome.details.trim_end())?;
    }
    writeln!(out)
}

/// One `GITHUB_OUTPUT` entry in heredoc form, with a delimiter the value cannot contain.
pub fn write_output(out: &mut dyn Write, key: &str, value: &str) -> io::Result<()> {
    let mut delimiter = String::from("SHIPGATE_EOF");
    let mut n = 0u32;
    while value.contains(&delimiter) {
        n += 1;
        delimiter = format!("SHIPGATE_EOF_{n}");
    }
    writeln!(out, "{key}<<{delimiter}\n{value}\n{delimiter}")
}

/// What `shipgate version` prints: `shipgate X.Y.Z`, or the JSON of an `ok` run with
/// `version`.
pub fn version(format: Format) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match format {
        Format::Text => format!("shipgate {version}\n"),
        Format::Json => ok_json("version", "version", version),
    }
}

/// What `shipgate config default` prints: the commented YAML, or the JSON of an `ok`
/// config run with it as `config`.
pub fn default_config(format: Format, yaml: &str) -> String {
    match format {
        Format::Text => yaml.to_owned(),
        Format::Json => ok_json(Mode::Config.as_str(), "config", yaml),
    }
}

/// One line of JSON shaped as a run's ([`Outcome::to_json`]): `ok`, no reasons, one field.
fn ok_json(mode: &str, key: &str, value: &str) -> String {
    let mut object = Map::new();
    object.insert("mode".into(), mode.into());
    object.insert("result".into(), Verdict::Ok.as_str().into());
    object.insert("reasons".into(), Value::Array(Vec::new()));
    object.insert(key.into(), value.into());
    format!("{}\n", Value::Object(object))
}

/// The annotation of a failure before any mode ran (a command line clap refused) or after
/// its report could not be written: `shipgate: TITLE [CODE]`, the message, the hint.
pub fn bare_annotation(code: Code, message: &str, hint: &str) -> String {
    failure(code, message, hint).annotation("shipgate")
}

fn failure(code: Code, message: &str, hint: &str) -> Failure {
    Failure {
        code,
        message: message.to_owned(),
        hint: hint.to_owned(),
    }
}

/// The `--format json` answer to a command line clap refused, shaped as a run's
/// ([`Outcome::to_json`]): `mode` is the subcommand when one was recognised.
pub fn usage_json(mode: Option<Mode>, message: &str, hint: &str) -> Value {
    serde_json::json!({
        "mode": mode.map(Mode::as_str),
        "result": Verdict::Usage.as_str(),
        "reasons": [message],
        "error": failure(Code::Usage, message, hint).to_json(),
    })
}

/// The one line a panic prints (see `run::install_panic_hook`): a crash is a bug, and a
/// gate that crashed verified nothing, so the run exits 2 like any other "cannot verify".
/// `secrets` are replaced by `***` wherever they appear in `what`.
pub fn crash_annotation(what: &str, location: Option<String>, secrets: &[String]) -> String {
    let mut what = what.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        what = what.replace(secret.as_str(), "***");
    }
    let at = location.map(|l| format!(" at {l}")).unwrap_or_default();
    format!(
        "::error title={}::{}",
        escape_property("shipgate crashed [crashed]"),
        escape_data(&format!(
            "shipgate {} crashed{at}: {what} — this is a bug in shipgate, not a problem with \
             the repository; the run stopped there and verified nothing after it, so the gate \
             fails (exit 2) — hint: report it on the issue tracker of the repository the \
             shipgate action comes from, with this line and the shipgate version, then re-run",
            env!("CARGO_PKG_VERSION")
        ))
    )
}

/// Escape the message part of a workflow command.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property (`title=`) of a workflow command.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(outcome: &Outcome, format: Format) -> (String, String, String, String) {
        let (mut out, mut err, mut summary, mut outputs) = (vec![], vec![], vec![], vec![]);
        emit(
            outcome,
            format,
            Sinks {
                stdout: &mut out,
                stderr: &mut err,
                summary: Some(&mut summary),
                outputs: Some(&mut outputs),
            },
        )
        .expect("writing to a Vec cannot fail");
        let s = |v: Vec<u8>| String::from_utf8(v).expect("utf-8");
        (s(out), s(err), s(summary), s(outputs))
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Verdict::Ok.exit_code(), 0);
        assert_eq!(Verdict::NotApplicable.exit_code(), 0);
        assert_eq!(Verdict::No.exit_code(), 1);
        assert_eq!(Verdict::CannotVerify.exit_code(), 2);
        assert_eq!(Verdict::Usage.exit_code(), 64);
    }

    #[test]
    fn nonzero_outcome_has_one_error_annotation() {
        let outcome = Outcome::new(Mode::Tier, Verdict::No)
            .reason("two tier labels")
            .failure(
                Code::TierLabelRefused,
                "apply exactly one: `tier:low`, `tier:high`",
                "remove one",
            );
        let (out, err, summary, outputs) = render(&outcome, Format::Text);
        assert_eq!(err.matches("::error title=").count(), 1, "{err}");
        assert_eq!(
            err,
            "::error title=shipgate tier%3A tier label refused [tier-label-refused]::apply exactly one: `tier:low`, `tier:high` — hint: remove one\n"
        );
        assert!(out.contains("shipgate tier: no"));
        assert!(
            out.contains("hint: remove one\ncode: tier-label-refused\n"),
            "{out}"
        );
        assert!(summary.contains("shipgate tier: `no`"));
        assert_eq!(outputs, "result<<SHIPGATE_EOF\nno\nSHIPGATE_EOF\n");
    }

    #[test]
    fn nonzero_outcome_without_failure_still_annotates() {
        for verdict in [Verdict::No, Verdict::CannotVerify] {
            let outcome = Outcome::new(Mode::ReviewFire, verdict).reason("2 approvals missing");
            let (_, err, _, _) = render(&outcome, Format::Json);
            assert_eq!(err.matches("::error title=").count(), 1, "{err}");
            assert!(err.contains("2 approvals missing"), "{err}");
            assert!(err.contains("[unexplained]::"), "{err}");
        }
    }

    #[test]
    fn ok_outcome_has_no_annotation() {
        let outcome = Outcome::new(Mode::Sync, Verdict::Ok).reason("up to date");
        let (_, err, _, _) = render(&outcome, Format::Text);
        assert!(err.is_empty());
    }

    #[test]
    fn json_is_one_object_with_the_required_keys() {
        let outcome = Outcome::new(Mode::Tier, Verdict::Ok)
            .reason("docs only")
            .field("tier", "low");
        let (out, _, _, _) = render(&outcome, Format::Json);
        assert_eq!(out.lines().count(), 1);
        let value: Value = serde_json::from_str(&out).expect("valid json");
        assert_eq!(value["mode"], "tier");
        assert_eq!(value["result"], "ok");
        assert_eq!(value["reasons"][0], "docs only");
        assert_eq!(value["tier"], "low");
    }

    #[test]
    fn output_delimiter_never_appears_in_the_value() {
        let mut out = vec![];
        write_output(&mut out, "x", "a\nSHIPGATE_EOF\nb").expect("vec");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            text,
            "x<<SHIPGATE_EOF_1\na\nSHIPGATE_EOF\nb\nSHIPGATE_EOF_1\n"
        );
    }

    #[test]
    fn text_lines_never_start_a_workflow_command() {
        assert_eq!(defuse("plain `a.rs`"), "plain `a.rs`");
        assert_eq!(
            defuse("a\n::set-output name=x::y\r::error::z\r\n  ::warning::w"),
            "a\n\\::set-output name=x::y\n\\::error::z\n\\  ::warning::w"
        );
        let outcome = Outcome::new(Mode::Tier, Verdict::No)
            .reason("`auth/a.rs\n::set-output name=tier::low`")
            .failure(
                Code::Unexplained,
                "m\n::error::forged",
                "h\r::stop-commands::x",
            );
        let (out, err, _, _) = render(&outcome, Format::Text);
        for line in out.lines().chain(err.lines().skip(1)) {
            assert!(!line.trim_start().starts_with("::"), "{line:?}");
        }
    }

    #[test]
    fn an_error_outcome_is_usage_only_for_a_usage_error() {
        let usage = crate::Error::Usage {
            message: "unknown flag --x\nsee --help".into(),
        };
        let outcome = Outcome::from_error(Mode::Tier, &usage);
        assert_eq!((outcome.verdict, outcome.exit_code()), (Verdict::Usage, 64));
        assert_eq!(outcome.reasons, ["unknown flag --x"]);
        let missing = crate::Error::MissingToken {
            var: "SHIPGATE_TOKEN",
            purpose: "tier reads the PR",
            via_action: false,
        };
        let outcome = Outcome::from_error(Mode::Tier, &missing);
        assert_eq!(
            (outcome.verdict, outcome.exit_code()),
            (Verdict::CannotVerify, 2)
        );
        let failure = outcome.failure.expect("a failure");
        assert_eq!(
            failure.message,
            "no token in `SHIPGATE_TOKEN`: tier reads the PR"
        );
        assert_eq!(failure.title(), missing.title());
    }

    /// An error whose text is `text`, caused by `source`.
    #[derive(Debug)]
    struct Layer {
        text: &'static str,
        source: Option<Box<Layer>>,
    }

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.text)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.source
                .as_deref()
                .map(|s| s as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn error_chain_follows_sources_and_skips_causes_already_said() {
        let chain = Layer {
            text: "push refused",
            source: Some(Box::new(Layer {
                text: "connection reset",
                source: Some(Box::new(Layer {
                    text: "reset",
                    source: Some(Box::new(Layer {
                        text: "os error 104",
                        source: None,
                    })),
                })),
            })),
        };
        assert_eq!(
            error_chain(&chain),
            "push refused: connection reset: os error 104"
        );
        let alone = Layer {
            text: "alone",
            source: None,
        };
        assert_eq!(error_chain(&alone), "alone");
    }

    #[test]
    fn details_and_failures_appear_only_where_they_belong() {
        // An outcome that exits 0 with a failure attached (doctor's ✓ with notes) shows no
        // error, and details show only when there are some.
        let mut ok = Outcome::new(Mode::Doctor, Verdict::Ok)
            .reason("all checks pass")
            .failure(Code::Unexplained, "never shown", "nor this");
        let (out, _, summary, _) = render(&ok, Format::Text);
        assert!(!out.contains("never shown") && !summary.contains("never shown"));
        assert_eq!(
            out, "shipgate doctor: ok\n  - all checks pass\n",
            "no blank line without details"
        );
        assert_eq!(
            summary,
            "### ✅ shipgate doctor: `ok`\n\n- all checks pass\n\n"
        );
        ok.details = "✓ config — fine\n".into();
        let (out, _, summary, _) = render(&ok, Format::Text);
        assert!(
            out.ends_with("  - all checks pass\n\n✓ config — fine\n"),
            "{out:?}"
        );
        assert!(
            summary.ends_with("- all checks pass\n\n✓ config — fine\n\n"),
            "{summary:?}"
        );

        let no = Outcome::new(Mode::Doctor, Verdict::No)
            .reason("1 ✗")
            .failure(Code::DoctorSetupIncomplete, "failed: `x`", "fix it");
        let (out, _, summary, _) = render(&no, Format::Text);
        assert!(
            out.contains("error: failed: `x`\nhint: fix it\n"),
            "{out:?}"
        );
        assert!(
            summary.contains(
                "\n**setup incomplete** (`doctor-setup-incomplete`): failed: `x`\n\n> fix it\n"
            ),
            "{summary:?}"
        );
    }

    #[test]
    fn annotation_escapes_newlines() {
        assert_eq!(escape_data("a\nb%"), "a%0Ab%25");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }

    /// The lines a run prints before or without a mode, whole.
    #[test]
    fn lines_outside_a_mode_whole() {
        assert_eq!(
            bare_annotation(Code::Usage, "a subcommand is required", "run `shipgate --help`"),
            "::error title=shipgate%3A usage error [usage]::a subcommand is required — hint: run `shipgate --help`"
        );
        assert_eq!(
            bare_annotation(Code::ReportNotWritten, "50%\nfull", "h"),
            "::error title=shipgate%3A report not written [report-not-written]::50%25%0Afull — hint: h"
        );
        assert_eq!(
            usage_json(Some(Mode::Tier), "bad flag", "h"),
            serde_json::json!({
                "mode": "tier",
                "result": "usage",
                "reasons": ["bad flag"],
                "error": {"code": "usage", "title": "usage error", "message": "bad flag", "hint": "h"},
            })
        );
        assert_eq!(usage_json(None, "m", "h")["mode"], Value::Null);
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            super::version(Format::Text),
            format!("shipgate {version}\n")
        );
        assert_eq!(
            super::version(Format::Json),
            format!("{{\"mode\":\"version\",\"reasons\":[],\"result\":\"ok\",\"version\":\"{version}\"}}\n")
        );
        assert_eq!(default_config(Format::Text, "a: 1\n"), "a: 1\n");
        assert_eq!(
            default_config(Format::Json, "a: 1\n"),
            "{\"config\":\"a: 1\\n\",\"mode\":\"config\",\"reasons\":[],\"result\":\"ok\"}\n"
        );
    }

    #[test]
    fn a_failure_is_titled_by_its_code() {
        let failure = Failure {
            code: Code::SyncConflict,
            message: "m".into(),
            hint: "h".into(),
        };
        assert_eq!(failure.title(), "merge conflict");
        let json = Outcome::new(Mode::Sync, Verdict::No)
            .failure(Code::SyncConflict, "m", "h")
            .to_json();
        assert_eq!(json["error"]["title"], "merge conflict");
        assert_eq!(json["error"]["code"], "sync-conflict");
    }
}
