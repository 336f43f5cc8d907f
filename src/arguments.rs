//! The command line. Every flag has an environment twin so the action can pass everything
//! through `env:`; tokens have no flag at all, only `SHIPGATE_TOKEN` and
//! `SHIPGATE_STATUS_TOKEN`.

use std::path::PathBuf;

use clap::{builder::FalseyValueParser, Args, Parser, Subcommand};

use crate::{doctor::Scope, report::Format};

const AFTER_HELP: &str = "\
Exit codes: 0 ok or not applicable · 1 verified, and the answer is no · 2 could not verify \
(treated as failure) · 64 usage error.

Tokens are read from the environment only: SHIPGATE_TOKEN (reads; sync's push; promote's \
merge or push; retarget's writes) and \
SHIPGATE_STATUS_TOKEN (review-fire's status writes). They are never accepted as flags.

Start here, no server needed:
  shipgate tier --local --base main --head HEAD";

/// Fail-closed ship gates for Gitea and Forgejo Actions.
///
/// shipgate keeps `staging` a superset of `main` (sync), promotes a green `staging` to
/// `main` (promote), points pull requests at `staging` (retarget), labels each pull request
/// with its risk tier (tier), and fires the qa/security review gates once genuine
/// approvals are in (review-fire). A gate that cannot verify is a red gate: every such path exits 2.
#[derive(Debug, Parser)]
#[command(name = "shipgate", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Arguments {
    /// Path of the config file [default: .gitea/shipgate.yml read from the base branch]
    #[arg(long, global = true, env = "SHIPGATE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Decide and report, but write nothing (no label, status or push); reads still fail closed
    #[arg(long, global = true, env = "SHIPGATE_DRY_RUN", value_parser = FalseyValueParser::new())]
    pub dry_run: bool,

    /// Output on stdout: human text, or exactly one JSON object
    #[arg(long, global = true, env = "SHIPGATE_FORMAT", value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Repository as OWNER/NAME [default: $GITHUB_REPOSITORY]
    #[arg(long, global = true, env = "SHIPGATE_REPO", value_name = "OWNER/NAME")]
    pub repo: Option<String>,

    /// Attempts per API request on 429, 5xx, timeouts and connection errors
    #[arg(
        long,
        global = true,
        env = "SHIPGATE_ATTEMPTS",
        default_value_t = 4,
        value_name = "N"
    )]
    pub attempts: u32,

    /// First retry delay in milliseconds (doubles per retry, with jitter)
    #[arg(
        long,
        global = true,
        env = "SHIPGATE_BACKOFF_MS",
        default_value_t = 500,
        value_name = "MS",
        hide_short_help = true
    )]
    pub backoff_ms: u64,

    /// Gitea server URL [default: $GITHUB_SERVER_URL]
    #[arg(long, global = true, env = "SHIPGATE_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// Seconds before one API request is abandoned
    #[arg(
        long,
        global = true,
        env = "SHIPGATE_TIMEOUT",
        default_value_t = 30.0,
        value_name = "SECS",
        value_parser = parse_timeout
    )]
    pub timeout: f64,

    /// More log lines on stderr (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Keep a branch (staging) a superset of another (main): fast-forward or merge, then push
    ///
    /// Fetches both tips into a temporary bare repository (or --git-dir), plans
    /// up-to-date / fast-forward / merge / conflict, merges in memory and pushes natively
    /// with the fetched tip as the expected old value. Never forces, never deletes. A
    /// conflict, a rejected push or a race that outlasts sync.max_attempts exits 1 with a
    /// runbook; 401/403 or an unreachable server exits 2.
    ///
    /// Token: SHIPGATE_TOKEN with write:repository of an account allowed to push to the
    /// target branch (the automatic Actions token cannot push to protected branches before
    /// Gitea 1.27).
    ///
    /// Example: shipgate sync --from main --to staging
    #[command(
        after_help = "Example:\n  SHIPGATE_TOKEN=… shipgate sync --server https://gitea.example --repo acme/app"
    )]
    Sync(SyncArgs),

    /// Label a pull request with its risk tier (tier:low|medium|high), computed from its diff
    ///
    /// Reads the PR's changed files (API, every page, or git with --local/--from-git) and
    /// the policy from the base branch only, then applies exactly one tier label. A label
    /// higher than computed is kept; a lower one only if a non-author (in
    /// tier.override_teams, when set) added it; otherwise exit 1. Two tier labels exit 1.
    ///
    /// Token: SHIPGATE_TOKEN with read:repository, write:issue (labels) and read:user
    /// (GET /user: which labels shipgate itself applied). --local needs
    /// no token and no server.
    #[command(
        after_help = "Examples:\n  shipgate tier --local --base main --head HEAD\n  SHIPGATE_TOKEN=… shipgate tier --pr 42 --repo acme/app --server https://gitea.example"
    )]
    Tier(TierArgs),

    /// Post the qa-review / security-review statuses once a PR has N genuine approvals
    ///
    /// Re-reads the PR, its reviews, labels and team memberships from the API (never
    /// trusting the event), decides each gate with one shared "genuine approval"
    /// predicate and posts an honest commit status to the current head: success only when
    /// earned, pending while approvals are missing, failure when blocked. /qa-recheck and
    /// /security-recheck comments re-fire it.
    ///
    /// Tokens: SHIPGATE_TOKEN (read:repository, read:issue, read:user, read:organization;
    /// its account a member of every gate team, or an org owner) to evaluate, and a
    /// distinct SHIPGATE_STATUS_TOKEN (write:repository) to post statuses.
    #[command(
        name = "review-fire",
        after_help = "Examples:\n  shipgate review-fire --pr 42\n  shipgate review-fire --pr 42 --diagnose"
    )]
    ReviewFire(ReviewArgs),

    /// Move main forward to staging's head once its required statuses are all success
    ///
    /// Reads both branches, checks that main is an ancestor of staging's head S
    /// (fast-forward only), and that every required context (promote.required_contexts
    /// from the default branch's config, plus main's branch-protection contexts) has a
    /// newest status of `success` on S. Then --via pull-request (default) finds or opens
    /// one PR staging → main and merges it with the fast-forward-only style and
    /// head_commit_id = S, so Gitea refuses if staging moved or protection is not met;
    /// --via push pushes S to main natively with the old tip as the expected value.
    /// Never forced. A failing context exits 1 (blocked); pending or missing ones exit 1
    /// (waiting) or are polled with --wait; no required context at all exits 2.
    ///
    /// Token: SHIPGATE_TOKEN with write:repository of an account allowed to merge into
    /// main (--via push: on main's push allowlist).
    #[command(
        after_help = "Examples:\n  SHIPGATE_TOKEN=… shipgate promote --wait 20m\n  SHIPGATE_TOKEN=… shipgate promote --via push --dry-run"
    )]
    Promote(PromoteArgs),

    /// Change the base of pull requests opened against main to staging, with one comment
    ///
    /// On pull_request_target (opened, reopened, edited): a PR whose base is main, whose
    /// head is not staging and whose author is not in retarget.exempt gets its base
    /// changed to staging through the API, and one comment saying why (never repeated).
    /// Anything else is not applicable. A read or write that fails exits 2.
    ///
    /// Token: SHIPGATE_TOKEN with write:repository (the base) and write:issue (the comment).
    #[command(after_help = "Example:\n  SHIPGATE_TOKEN=… shipgate retarget --pr 42")]
    Retarget(RetargetArgs),
    /// Check whether this repository provides what shipgate needs; reads, never writes
    ///
    /// For each check prints ✓ (verified), ✗ (verified, wrong) or ? (could not check),
    /// what was found and the exact fix: the config on the default branch, the workflows
    /// and their triggers, the required status contexts of main's branch protection
    /// (byte for byte, with the nearest match), staging's push allowlist, dismiss-stale
    /// approvals, each token's account and scopes (proven by harmless reads), the teams the
    /// config names, the tier labels and the server version. Exit 0 all ✓, 1 any ✗, 2 any ?
    /// and no ✗. Branch protection is readable only with repository admin: without it those
    /// checks are ? with the manual steps, never ✓.
    ///
    /// Tokens (from the environment, as the mode checked uses them): SHIPGATE_TOKEN with
    /// the mode's scopes (tier: read:repository, write:issue, read:user; review-fire:
    /// read:repository, read:issue, read:organization, read:user; sync: write:repository,
    /// read:user), of a repository admin to read branch protection; for review-fire also
    /// SHIPGATE_STATUS_TOKEN (write:repository, + read:user so doctor can name its account).
    #[command(
        after_help = "Examples:\n  SHIPGATE_TOKEN=… SHIPGATE_STATUS_TOKEN=… shipgate doctor --mode review-fire --server https://gitea.example --repo acme/app\n  shipgate doctor --mode all --format json"
    )]
    Doctor(DoctorArgs),

    /// Check or print the configuration
    ///
    /// `config check` validates a file offline (unknown keys, wrong types and bad values,
    /// each with line and column); `config default` prints every key with its default.
    ///
    /// Token: none; no server is contacted.
    #[command(
        subcommand,
        after_help = "Examples:\n  shipgate config check .gitea/shipgate.yml\n  shipgate config default > .gitea/shipgate.yml"
    )]
    Config(ConfigCommand),

    /// Print shipgate's version
    ///
    /// Token: none.
    #[command(after_help = "Example:\n  shipgate version --format json")]
    Version,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Branch to take changes from [default: sync.from, main]
    #[arg(long, env = "SHIPGATE_SYNC_FROM", value_name = "BRANCH")]
    pub from: Option<String>,

    /// Branch to keep a superset [default: sync.to, staging]
    #[arg(long, env = "SHIPGATE_SYNC_TO", value_name = "BRANCH")]
    pub to: Option<String>,

    /// Git remote URL [default: $GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git]
    #[arg(long, env = "SHIPGATE_REMOTE", value_name = "URL")]
    pub remote: Option<String>,

    /// Fetch into this bare repository (incremental) instead of a temporary one
    #[arg(long, env = "SHIPGATE_GIT_DIR", value_name = "DIR")]
    pub git_dir: Option<PathBuf>,

    /// Only prove the token: GET /user (and sync.expect_login) plus an authenticated
    /// receive-pack advertisement
    #[arg(long)]
    pub check_token: bool,
}

#[derive(Debug, Args)]
pub struct TierArgs {
    /// Pull request number [default: from the event]
    #[arg(long, env = "SHIPGATE_PR", value_name = "N")]
    pub pr: Option<u64>,

    /// Compute from a local git repository, no server and no token; nothing is labeled
    #[arg(long, conflicts_with = "pr")]
    pub local: bool,

    /// Read the changed files from the local checkout (both commits must be present)
    /// instead of the API; labels are still applied through the API
    #[arg(long)]
    pub from_git: bool,

    /// Base revision for --local/--from-git [default: the PR's base, or main]
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// Head revision for --local/--from-git [default: the PR's head, or HEAD]
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,

    /// The git repository for --local/--from-git
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub repo_dir: PathBuf,

    /// Where the API gives the changed files: `auto` reads the PR's diff in one request
    /// and falls back to the paged files list when it cannot prove the diff whole;
    /// `pages` reads the paged list only
    #[arg(
        long,
        env = "SHIPGATE_TIER_FILES_FROM",
        value_enum,
        default_value_t = FilesFrom::Auto,
        value_name = "HOW"
    )]
    pub files_from: FilesFrom,
}

/// How tier reads a pull request's changed files through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FilesFrom {
    /// `GET …/pulls/{n}.diff`, proven whole, else the paged list.
    #[default]
    Auto,
    /// `GET …/pulls/{n}/files`, every page.
    Pages,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Pull request number [default: from the event]
    #[arg(long, env = "SHIPGATE_PR", value_name = "N")]
    pub pr: Option<u64>,

    /// Report whether the gates' workflows can auto-fire for this PR, post nothing
    #[arg(long)]
    pub diagnose: bool,
}

/// How promote moves the target branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Via {
    /// Open (or reuse) one PR and merge it fast-forward-only through the API.
    #[default]
    PullRequest,
    /// Push the commit natively, the old tip as the expected value.
    Push,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::PullRequest => "pull-request",
            Via::Push => "push",
        }
    }
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// Branch to promote [default: promote.from, staging]
    #[arg(long, env = "SHIPGATE_PROMOTE_FROM", value_name = "BRANCH")]
    pub from: Option<String>,

    /// Branch to move forward [default: promote.to, main]
    #[arg(long, env = "SHIPGATE_PROMOTE_TO", value_name = "BRANCH")]
    pub to: Option<String>,

    /// Merge through a pull request, or push natively
    #[arg(long, env = "SHIPGATE_PROMOTE_VIA", value_enum, default_value_t = Via::PullRequest)]
    pub via: Via,

    /// Poll pending statuses this long (e.g. 90s, 20m, 1h) before giving up [default: 0]
    #[arg(long, env = "SHIPGATE_PROMOTE_WAIT", value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<std::time::Duration>,

    /// Time between polls while waiting
    #[arg(
        long,
        env = "SHIPGATE_PROMOTE_POLL",
        value_name = "DURATION",
        default_value = "30s",
        value_parser = parse_duration,
        hide_short_help = true
    )]
    pub poll: std::time::Duration,

    /// Git remote URL for --via push [default: $GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git]
    #[arg(long, env = "SHIPGATE_REMOTE", value_name = "URL")]
    pub remote: Option<String>,
}

#[derive(Debug, Args)]
pub struct RetargetArgs {
    /// Pull request number [default: from the event]
    #[arg(long, env = "SHIPGATE_PR", value_name = "N")]
    pub pr: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Which mode's needs to check
    #[arg(long, env = "SHIPGATE_DOCTOR_MODE", value_enum, default_value_t = Scope::All)]
    pub mode: Scope,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file: unknown keys, wrong types and bad values, with line and column
    ///
    /// Exits 0 when the file is valid and 2 otherwise, naming each problem's line and
    /// column. Token: none; no server is contacted.
    #[command(after_help = "Example:\n  shipgate config check .gitea/shipgate.yml")]
    Check {
        /// The file [default: .gitea/shipgate.yml]
        path: Option<PathBuf>,
    },
    /// Print the full default config, with comments
    ///
    /// Token: none; no server is contacted.
    #[command(after_help = "Example:\n  shipgate config default > .gitea/shipgate.yml")]
    Default,
}

/// Seconds for `--timeout`: finite, above zero and at most a day (a `Duration` cannot hold
/// `inf`, and building one from it panics).
fn parse_timeout(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
        Ok(secs)
    } else {
        Err(format!(
            "`{text}` is not a timeout: give seconds above 0 and at most 86400"
        ))
    }
}

/// A duration: `90`, `90s`, `20m`, `1h`, `500ms`; at most a day.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: give e.g. 90s, 20m or 1h"))?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "`{text}` has an unknown unit `{other}`: use ms, s, m or h"
            ))
        }
    };
    let secs = value * scale;
    if secs.is_finite() && (0.0..=86_400.0).contains(&secs) {
        Ok(std::time::Duration::from_secs_f64(secs))
    } else {
        Err(format!("`{text}` is not a duration between 0 and 24h"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Arguments, clap::Error> {
        Arguments::try_parse_from(std::iter::once("shipgate").chain(args.iter().copied()))
    }

    #[test]
    fn cli_is_well_formed() {
        Arguments::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let args = parse(&["tier", "--local", "--format", "json", "--dry-run"]).expect("parses");
        assert_eq!(args.format, Format::Json);
        assert!(args.dry_run);
        match args.command {
            Command::Tier(t) => assert!(t.local),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn table_of_argv() {
        let cases: &[(&[&str], &str)] = &[
            (&["sync", "--from", "main", "--to", "stage"], "sync"),
            (&["review-fire", "--pr", "7", "--diagnose"], "review-fire"),
            (&["config", "check", "x.yml"], "config"),
            (&["promote", "--via", "push", "--wait", "5m"], "promote"),
            (&["retarget", "--pr", "3"], "retarget"),
            (&["config", "default"], "config"),
            (&["version"], "version"),
            (&["doctor", "--mode", "review-fire"], "doctor"),
        ];
        for (argv, expected) in cases {
            let args = parse(argv).expect("parses");
            let name = match args.command {
                Command::Sync(_) => "sync",
                Command::Tier(_) => "tier",
                Command::ReviewFire(_) => "review-fire",
                Command::Promote(_) => "promote",
                Command::Retarget(_) => "retarget",
                Command::Config(_) => "config",
                Command::Version => "version",
                Command::Doctor(_) => "doctor",
            };
            assert_eq!(name, *expected, "{argv:?}");
        }
    }

    #[test]
    fn durations_parse() {
        use std::time::Duration;
        let cases = [
            ("90", Some(Duration::from_secs(90))),
            ("90s", Some(Duration::from_secs(90))),
            ("20m", Some(Duration::from_secs(1200))),
            ("1h", Some(Duration::from_secs(3600))),
            ("250ms", Some(Duration::from_millis(250))),
            ("0", Some(Duration::ZERO)),
            ("2d", None),
            ("soon", None),
            ("25h", None),
            ("-1s", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text).ok(), expected, "{text}");
        }
    }

    #[test]
    fn no_token_flag_exists() {
        assert!(parse(&["sync", "--token", "x"]).is_err());
    }

    #[test]
    fn local_conflicts_with_pr() {
        assert!(parse(&["tier", "--local", "--pr", "3"]).is_err());
    }

    #[test]
    fn unknown_mode_is_an_error() {
        assert!(parse(&["deploy"]).is_err());
    }
}
