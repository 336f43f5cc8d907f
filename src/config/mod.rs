//! `.gitea/shipgate.yml`: every field has a built-in default, so no file is needed.
//! Unknown keys and wrong types are errors with line and column; semantic problems are
//! collected, not stopped at, so the user sees them all at once.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod positions;

pub use positions::Position;
use positions::Positions;

/// Where the config lives in a repository.
pub const DEFAULT_PATH: &str = ".gitea/shipgate.yml";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub sync: SyncConfig,
    pub tier: TierConfig,
    pub review: ReviewConfig,
    pub promote: PromoteConfig,
    pub retarget: RetargetConfig,
}

/// `sync:`: keep `to` a superset of `from`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    pub from: String,
    pub to: String,
    /// Merge commit message; `{from}`, `{to}` and `{main_short}` (8 hex) are replaced.
    pub message: String,
    /// Author and committer of merge commits; default: the token's identity (`GET /user`).
    pub author: Option<Identity>,
    /// When set, the token must belong to this login.
    pub expect_login: Option<String>,
    /// Fetch–plan–push attempts when the target branch moves concurrently.
    pub max_attempts: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            from: "main".into(),
            to: "staging".into(),
            message: "chore: sync {from} → {to} (auto, {main_short})".into(),
            author: None,
            expect_login: None,
            max_attempts: 3,
        }
    }
}

/// `promote:`: move `to` (main) forward to a green commit of `from` (staging).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromoteConfig {
    pub from: String,
    pub to: String,
    /// Status contexts (globs) that must be `success` on the commit promoted, on top of
    /// those `to`'s branch protection requires.
    pub required_contexts: Vec<String>,
    /// Gather–decide–merge attempts when a branch moves concurrently.
    pub max_attempts: u32,
    /// With `--via pull-request`: when checks are still pending, let Gitea merge once they
    /// succeed (only when `to`'s protection itself requires every required context).
    pub schedule: bool,
    /// Title of the promotion pull request; `{from}`, `{to}` and `{short}` are replaced.
    pub title: String,
}

impl Default for PromoteConfig {
    fn default() -> Self {
        PromoteConfig {
            from: "staging".into(),
            to: "main".into(),
            required_contexts: Vec::new(),
            max_attempts: 3,
            schedule: true,
            title: "chore: promote {from} → {to} ({short})".into(),
        }
    }
}

/// `retarget:`: pull requests opened against `from` (main) get their base changed to `to`
/// (staging).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetargetConfig {
    pub from: String,
    pub to: String,
    /// Logins whose pull requests keep their base.
    pub exempt: Vec<String>,
}

impl Default for RetargetConfig {
    fn default() -> Self {
        RetargetConfig {
            from: "main".into(),
            to: "staging".into(),
            exempt: Vec::new(),
        }
    }
}

/// A git identity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// `tier:`: how a pull request's risk tier is computed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierConfig {
    pub labels: TierLabels,
    /// More counted changed lines (additions + deletions) than this → high.
    pub max_lines: u64,
    /// More counted files than this → high.
    pub max_files: u64,
    /// Globs that make a PR high (also when deleted, also either side of a rename).
    pub high_paths: Vec<String>,
    /// Globs of documentation files.
    pub docs_paths: Vec<String>,
    /// Globs of test files.
    pub test_paths: Vec<String>,
    /// Globs not counted for size (lockfiles, vendored code); path rules still see them.
    pub uncounted_paths: Vec<String>,
    /// PR labels that make a PR high.
    pub risk_labels: Vec<String>,
    /// Teams whose members may lower a tier label below the computed one; empty: any
    /// non-author.
    pub override_teams: Vec<String>,
    /// Organisation that owns the teams; default: the repository owner.
    pub org: Option<String>,
}

/// The three label names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierLabels {
    pub low: String,
    pub medium: String,
    pub high: String,
}

impl Default for TierLabels {
    fn default() -> Self {
        TierLabels {
            low: "tier:low".into(),
            medium: "tier:medium".into(),
            high: "tier:high".into(),
        }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for TierConfig {
    fn default() -> Self {
        TierConfig {
            labels: TierLabels::default(),
            max_lines: 1000,
            max_files: 50,
            high_paths: strings(&[
                "**/migrations/**",
                "**/auth/**",
                "**/authn/**",
                "**/authz/**",
                "**/crypto/**",
                "**/security/**",
                "**/secrets/**",
                ".gitea/workflows/**",
                ".gitea/scripts/**",
                ".github/workflows/**",
                ".forgejo/workflows/**",
                "**/CODEOWNERS",
                ".gitea/shipgate.yml",
            ]),
            docs_paths: strings(&["**/*.md", "**/*.rst", "**/*.adoc", "**/docs/**"]),
            test_paths: strings(&[
                "**/tests/**",
                "**/test/**",
                "**/__tests__/**",
                "**/*_test.*",
                "**/test_*.*",
                "**/*.test.*",
                "**/*.spec.*",
            ]),
            uncounted_paths: strings(&[
                "**/Cargo.lock",
                "**/package-lock.json",
                "**/npm-shrinkwrap.json",
                "**/yarn.lock",
                "**/pnpm-lock.yaml",
                "**/go.sum",
                "**/poetry.lock",
                "**/Pipfile.lock",
                "**/composer.lock",
                "**/Gemfile.lock",
                "**/uv.lock",
                "**/flake.lock",
                "**/vendor/**",
                "**/third_party/**",
                "**/node_modules/**",
            ]),
            risk_labels: strings(&["risk:high", "area:security"]),
            override_teams: Vec::new(),
            org: None,
        }
    }
}

/// `review:`: when review gates fire.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewConfig {
    /// Distinct genuine roster approvals needed (clamped to at least 1).
    pub required_approvals: u32,
    /// Teams whose members count towards the approval floor.
    pub roster_teams: Vec<String>,
    /// Logins that never count as reviewers (bots).
    pub bots: Vec<String>,
    /// Base branches the gates apply to.
    pub branches: Vec<String>,
    /// Per tier, the teams whose approvals are required: clauses joined by `AND`, each an
    /// OR-set of comma-separated team names, parentheses optional.
    pub tiers: TierClauses,
    /// The gates to fire.
    pub gates: Vec<Gate>,
    /// Optional extra gate that reports whether the tier clause holds.
    pub tier_check: Option<TierCheck>,
    /// Allow posting statuses with the read token when no status token is set.
    pub allow_single_token: bool,
    /// Organisation that owns the teams; default: the repository owner.
    pub org: Option<String>,
    /// Merge the pull request, in this style, once every gate is `success` on its head
    /// (`None`: never).
    pub merge: Option<MergeStyle>,
}

/// How review-fire merges a pull request whose gates are all green (Gitea's `Do`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MergeStyle {
    Merge,
    Rebase,
    RebaseMerge,
    Squash,
    FastForwardOnly,
}

impl MergeStyle {
    /// Gitea's name of the style (`MergePullRequestOption.Do`).
    pub fn as_str(self) -> &'static str {
        match self {
            MergeStyle::Merge => "merge",
            MergeStyle::Rebase => "rebase",
            MergeStyle::RebaseMerge => "rebase-merge",
            MergeStyle::Squash => "squash",
            MergeStyle::FastForwardOnly => "fast-forward-only",
        }
    }
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            required_approvals: 2,
            roster_teams: strings(&["engineers", "managers", "executive", "qa", "security"]),
            bots: strings(&["gitea-actions", "renovate", "dependabot"]),
            branches: strings(&["main"]),
            tiers: TierClauses::default(),
            gates: vec![
                Gate {
                    name: "qa".into(),
                    context: "qa-review / approved (pull_request_target)".into(),
                    team: "qa".into(),
                    command: "/qa-recheck".into(),
                    dispatch: None,
                    workflow: Some(".gitea/workflows/review-fire.yml".into()),
                },
                Gate {
                    name: "security".into(),
                    context: "security-review / approved (pull_request_target)".into(),
                    team: "security".into(),
                    command: "/security-recheck".into(),
                    dispatch: None,
                    workflow: Some(".gitea/workflows/review-fire.yml".into()),
                },
            ],
            tier_check: None,
            allow_single_token: false,
            org: None,
            merge: None,
        }
    }
}

/// Team expressions per tier.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierClauses {
    pub low: String,
    pub medium: String,
    pub high: String,
}

impl Default for TierClauses {
    fn default() -> Self {
        TierClauses {
            low: "engineers, managers, executive".into(),
            medium: "managers AND engineers AND (qa, security)".into(),
            high: "executive".into(),
        }
    }
}

/// One review gate: a commit status context backed by a team.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub name: String,
    /// Status context, byte-exact as branch protection requires it.
    pub context: String,
    /// Team one of whose members must approve; several, comma-separated, make an OR-set
    /// (`"qa, security"`: one approval from either).
    pub team: String,
    /// Slash command that re-fires the gate.
    pub command: String,
    /// Workflow file to dispatch once the floor holds (Gitea ≥ 1.24).
    #[serde(default)]
    pub dispatch: Option<String>,
    /// The gate's workflow file, read by `review-fire --diagnose`.
    #[serde(default)]
    pub workflow: Option<String>,
}

impl Gate {
    /// The gate's teams: `team` split on commas (an OR-set), trimmed, none empty.
    pub fn teams(&self) -> Vec<String> {
        self.team
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The teams as a reader says them: `qa or security`.
    pub fn team_text(&self) -> String {
        self.teams().join(" or ")
    }
}

/// The optional tier-check gate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TierCheck {
    pub context: String,
}

/// A configuration that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read config `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config `{origin}`: {message}")]
    Parse { origin: String, message: String },
    #[error("invalid config `{origin}`: {}", Problem::list(problems))]
    Invalid {
        origin: String,
        problems: Vec<Problem>,
    },
}

/// One broken rule of a config that parsed, at the value that breaks it when the file sets
/// that value (a rule broken by a default has no position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: Option<Position>,
    pub text: String,
}

impl Problem {
    /// `line 2, column 17: …; …`, in the order found.
    pub fn list(problems: &[Problem]) -> String {
        problems
            .iter()
            .map(Problem::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some(at) => write!(f, "{at}: {}", self.text),
            None => f.write_str(&self.text),
        }
    }
}

impl Error {
    /// The stable code of this failure.
    pub fn code(&self) -> crate::Code {
        match self {
            Error::Read { .. } => crate::Code::ConfigUnreadable,
            Error::Parse { .. } => crate::Code::ConfigParse,
            Error::Invalid { .. } => crate::Code::ConfigInvalid,
        }
    }

    pub fn hint(&self) -> String {
        match self {
            Error::Read { .. } => {
                "check the path given with --config (or the action's `config` input)".into()
            }
            Error::Parse { .. } | Error::Invalid { .. } => "run `shipgate config check` locally; \
                 `shipgate config default` prints every key with its default"
                .into(),
        }
    }
}

impl Config {
    /// Parse YAML text; `origin` names it in errors (a path, or `main:.gitea/shipgate.yml`).
    pub fn parse(text: &str, origin: &str) -> Result<Config, Error> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let config: Config = serde_saphyr::from_str(text).map_err(|e| Error::Parse {
            origin: origin.to_owned(),
            message: e.to_string().replace("<input>", origin),
        })?;
        config.validate(origin, text)?;
        Ok(config)
    }

    /// The config in a file's bytes as a commit holds them (`origin` names the commit and
    /// path in every message): UTF-8, then [`Config::parse`].
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Config, Error> {
        let text = std::str::from_utf8(bytes).map_err(|e| Error::Parse {
            origin: origin.to_owned(),
            message: format!("not UTF-8 (byte {})", e.valid_up_to()),
        })?;
        Config::parse(text, origin)
    }

    /// Read a file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Every semantic problem at once, each at the line and column of the value that breaks
    /// the rule when `text` sets it (a rule broken by two values points at the later one).
    pub fn validate(&self, origin: &str, text: &str) -> Result<(), Error> {
        let found = self.broken_rules();
        if found.is_empty() {
            return Ok(());
        }
        let positions = Positions::of(text);
        let problems = found
            .into_iter()
            .map(|(paths, text)| Problem {
                at: paths.iter().rev().find_map(|path| positions.at(path)),
                text,
            })
            .collect();
        Err(Error::Invalid {
            origin: origin.to_owned(),
            problems,
        })
    }

    /// Each broken rule: the key paths of the values it involves, and what is wrong.
    fn broken_rules(&self) -> Vec<(Vec<String>, String)> {
        let mut problems: Vec<(Vec<String>, String)> = Vec::new();
        let mut push = |paths: &[&str], text: String| {
            problems.push((paths.iter().map(|p| (*p).to_owned()).collect(), text));
        };
        if self.sync.max_attempts == 0 {
            push(
                &["sync.max_attempts"],
                "`sync.max_attempts` must be at least 1".to_owned(),
            );
        }
        if self.sync.from == self.sync.to {
            push(
                &["sync.from", "sync.to"],
                format!("`sync.from` and `sync.to` are both `{}`", self.sync.from),
            );
        }
        for (index, gate) in self.review.gates.iter().enumerate() {
            if gate.teams().is_empty() {
                let path = format!("review.gates[{index}].team");
                push(
                    &[path.as_str()],
                    format!(
                        "gate `{}` names no team: `team` needs a team, or several comma-separated",
                        gate.name
                    ),
                );
            }
        }
        if self.promote.max_attempts == 0 {
            push(
                &["promote.max_attempts"],
                "`promote.max_attempts` must be at least 1".to_owned(),
            );
        }
        if self.promote.from == self.promote.to {
            push(
                &["promote.from", "promote.to"],
                format!(
                    "`promote.from` and `promote.to` are both `{}`",
                    self.promote.from
                ),
            );
        }
        for (index, glob) in self.promote.required_contexts.iter().enumerate() {
            let path = format!("promote.required_contexts[{index}]");
            if glob.trim().is_empty() {
                push(
                    &[&path],
                    "`promote.required_contexts` has an empty entry".to_owned(),
                );
            } else if let Err(e) = crate::glob::context(glob) {
                push(
                    &[&path],
                    format!("`promote.required_contexts` has an invalid glob `{glob}`: {e}"),
                );
            }
        }
        if self.retarget.from == self.retarget.to {
            push(
                &["retarget.from", "retarget.to"],
                format!(
                    "`retarget.from` and `retarget.to` are both `{}`",
                    self.retarget.from
                ),
            );
        }
        let labels = &self.tier.labels;
        if labels.low == labels.medium || labels.medium == labels.high || labels.low == labels.high
        {
            push(
                &[
                    "tier.labels",
                    "tier.labels.low",
                    "tier.labels.medium",
                    "tier.labels.high",
                ],
                "`tier.labels` must be three distinct names".to_owned(),
            );
        }
        for (key, globs) in [
            ("tier.high_paths", &self.tier.high_paths),
            ("tier.docs_paths", &self.tier.docs_paths),
            ("tier.test_paths", &self.tier.test_paths),
            ("tier.uncounted_paths", &self.tier.uncounted_paths),
        ] {
            for (index, glob) in globs.iter().enumerate() {
                if let Err(e) = crate::glob::path(glob) {
                    push(
                        &[&format!("{key}[{index}]")],
                        format!("`{key}` has an invalid glob `{glob}`: {e}"),
                    );
                }
            }
        }
        for (tier, text) in [
            ("low", &self.review.tiers.low),
            ("medium", &self.review.tiers.medium),
            ("high", &self.review.tiers.high),
        ] {
            if let Err(e) = parse_clauses(text) {
                push(
                    &[&format!("review.tiers.{tier}")],
                    format!("`review.tiers.{tier}`: {e}"),
                );
            }
        }
        let mut contexts = std::collections::HashSet::new();
        for (index, gate) in self.review.gates.iter().enumerate() {
            let at = |key: &str| format!("review.gates[{index}].{key}");
            if gate.context.trim().is_empty() {
                push(
                    &[&at("context")],
                    format!("gate `{}` has an empty `context`", gate.name),
                );
            }
            if !contexts.insert(gate.context.as_str()) {
                push(
                    &[&at("context")],
                    format!("gate context `{}` appears twice", gate.context),
                );
            }
            if !gate.command.starts_with('/') {
                push(
                    &[&at("command")],
                    format!(
                        "gate `{}`: `command` must start with `/`, got `{}`",
                        gate.name, gate.command
                    ),
                );
            }
        }
        problems
    }
}

/// `a AND (b, c)` → `[[a], [b, c]]`: clauses joined by `AND`, each an OR-set.
pub fn parse_clauses(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut clauses = Vec::new();
    for clause in split_and(text) {
        let inner = clause.trim();
        let inner = inner
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or(inner);
        let teams: Vec<String> = inner
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if teams.is_empty() {
            return Err(format!("empty clause in `{text}`"));
        }
        if let Some(bad) = teams
            .iter()
            .find(|t| t.contains(|c: char| c.is_whitespace() || c == '(' || c == ')'))
        {
            return Err(format!("`{bad}` is not a team name (in `{text}`)"));
        }
        clauses.push(teams);
    }
    if clauses.is_empty() {
        return Err("no teams named".into());
    }
    Ok(clauses)
}

fn split_and(text: &str) -> Vec<&str> {
    text.split(" AND ").collect()
}

/// The full default configuration, with comments: what `shipgate config default` prints.
pub const DEFAULT_YAML: &str = include_str!("default-config.yml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_yaml_is_the_built_in_default() {
        let parsed = Config::parse(DEFAULT_YAML, "default").expect("default parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn empty_file_is_default() {
        assert_eq!(Config::parse("", "x").expect("parses"), Config::default());
        assert_eq!(
            Config::parse("# nothing\n", "x").expect("parses"),
            Config::default()
        );
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c = Config::parse("tier:\n  max_files: 10\n", "x").expect("parses");
        assert_eq!(c.tier.max_files, 10);
        assert_eq!(c.tier.max_lines, 1000);
        assert_eq!(c.sync, SyncConfig::default());
    }

    #[test]
    fn unknown_key_is_an_error_with_line_and_column() {
        let err = Config::parse("sync:\n  from: main\n  too: staging\n", "cfg.yml")
            .expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("too"), "{text}");
        assert!(text.contains('3'), "line number missing: {text}");
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = Config::parse("tier:\n  max_lines: lots\n", "cfg.yml").expect_err("type");
        assert!(err.to_string().contains("cfg.yml"), "{err}");
    }

    #[test]
    fn problems_are_collected() {
        let err = Config::parse(
            "sync:\n  max_attempts: 0\n  to: main\nreview:\n  tiers:\n    high: \"\"\n",
            "cfg.yml",
        )
        .expect_err("invalid");
        match err {
            Error::Invalid { problems, .. } => assert_eq!(problems.len(), 3, "{problems:?}"),
            other => panic!("unexpected {other}"),
        }
    }

    /// Every problem of a config that parsed carries the line and column of the value
    /// that breaks the rule; a rule the defaults break alone has none.
    #[test]
    fn every_problem_has_its_line_and_column() {
        let text = "sync:\n  to: main\nreview:\n  gates:\n    - name: qa\n      context: qa-review\n      team: qa\n      command: qa-recheck\ntier:\n  high_paths: [\"ok/**\", \"bad/[\"]\n";
        let err = Config::parse(text, "cfg.yml").expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "invalid config `cfg.yml`: line 2, column 7: `sync.from` and `sync.to` are both \
             `main`; line 10, column 25: `tier.high_paths` has an invalid glob `bad/[`: error \
             parsing glob 'bad/[': unclosed character class; missing ']'; line 8, column 16: gate `qa`: `command` must \
             start with `/`, got `qa-recheck`"
        );
        let Error::Invalid { problems, .. } = err else {
            panic!("not Invalid");
        };
        assert!(problems.iter().all(|p| p.at.is_some()), "{problems:?}");
        let defaults = Config {
            sync: SyncConfig {
                to: "main".into(),
                ..SyncConfig::default()
            },
            ..Config::default()
        };
        let Err(Error::Invalid { problems, .. }) = defaults.validate("x", "") else {
            panic!("valid");
        };
        assert_eq!(
            problems,
            vec![Problem {
                at: None,
                text: "`sync.from` and `sync.to` are both `main`".into()
            }]
        );
    }

    #[test]
    fn promote_and_retarget_keys_are_checked() {
        let c = Config::parse(
            "promote:\n  required_contexts: [\"ci / *\"]\nretarget:\n  exempt: [bot]\n",
            "x",
        )
        .expect("parses");
        assert_eq!(c.promote.required_contexts, vec!["ci / *".to_owned()]);
        assert_eq!(c.promote.to, "main");
        assert_eq!(c.retarget.exempt, vec!["bot".to_owned()]);
        let err = Config::parse(
            "promote:\n  max_attempts: 0\n  from: main\n  required_contexts: [\"a[\", \" \"]\nretarget:\n  to: main\n",
            "cfg.yml",
        )
        .expect_err("invalid");
        match err {
            Error::Invalid { problems, .. } => assert_eq!(problems.len(), 5, "{problems:?}"),
            other => panic!("unexpected {other}"),
        }
        assert!(
            Config::parse("promote:\n  wait: 5m\n", "x").is_err(),
            "unknown key"
        );
    }

    #[test]
    fn clauses_parse() {
        assert_eq!(
            parse_clauses("managers AND engineers AND (qa, security)").expect("parses"),
            vec![
                vec!["managers".to_owned()],
                vec!["engineers".to_owned()],
                vec!["qa".to_owned(), "security".to_owned()]
            ]
        );
        assert_eq!(
            parse_clauses("engineers, managers, executive").expect("parses"),
            vec![vec![
                "engineers".to_owned(),
                "managers".to_owned(),
                "executive".to_owned()
            ]]
        );
        assert!(parse_clauses("a b").is_err());
        assert!(parse_clauses(" ").is_err());
    }
}
