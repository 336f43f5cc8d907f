//! The pure tier decision: changed files + PR labels + policy → tier and the rules that
//! fired, each with the files that fired it. No I/O.
//!
//! - **high** when a path (either side of a rename) matches `high_paths`, when such a file
//!   is deleted, when the PR carries a `risk_labels` label, or when the counted size is
//!   past `max_lines` / `max_files`;
//! - **low** when no high rule fired and every changed file is documentation or a test (a
//!   PR without changed files is low too);
//! - **medium** otherwise.
//!
//! Files matching `uncounted_paths` or marked `linguist-generated` / `linguist-vendored`
//! in the base `.gitattributes` are left out of the size count only; every path rule still
//! sees them.

use std::fmt;

use serde::Serialize;

pub use super::attributes::Uncounted;
pub use super::vocabulary::Tier;
use super::{attributes::Attributes, vocabulary};
use crate::{config::TierConfig, glob::Globs};

/// How a file changed. Gitea says `changed` where GitHub says `modified`; both are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Added,
    Deleted,
    Renamed,
    Copied,
    Changed,
    Unchanged,
    /// A status this build does not know; treated like a change.
    Other,
}

impl ChangeKind {
    pub fn parse(text: &str) -> ChangeKind {
        match text {
            "added" => ChangeKind::Added,
            "deleted" | "removed" => ChangeKind::Deleted,
            "renamed" => ChangeKind::Renamed,
            "copied" => ChangeKind::Copied,
            "changed" | "modified" => ChangeKind::Changed,
            "unchanged" => ChangeKind::Unchanged,
            _ => ChangeKind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Renamed => "renamed",
            ChangeKind::Copied => "copied",
            ChangeKind::Changed => "changed",
            ChangeKind::Unchanged => "unchanged",
            ChangeKind::Other => "other",
        }
    }
}

/// One changed file of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileChange {
    /// The path after the change (for a deletion: the deleted path).
    pub path: String,
    /// The path before a rename (or the source of a copy).
    pub previous: Option<String>,
    pub status: ChangeKind,
    pub additions: u64,
    pub deletions: u64,
}

impl FileChange {
    pub fn new(path: &str, status: ChangeKind, additions: u64, deletions: u64) -> FileChange {
        FileChange {
            path: path.to_owned(),
            previous: None,
            status,
            additions,
            deletions,
        }
    }

    pub fn renamed(from: &str, to: &str, additions: u64, deletions: u64) -> FileChange {
        FileChange {
            path: to.to_owned(),
            previous: Some(from.to_owned()),
            status: ChangeKind::Renamed,
            additions,
            deletions,
        }
    }

    /// Every path this change touches: both sides of a rename. The source of a copy is
    /// left alone (it did not change).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        let previous = match (&self.previous, self.status) {
            (_, ChangeKind::Copied) => None,
            (Some(previous), _) if previous != &self.path => Some(previous.as_str()),
            _ => None,
        };
        std::iter::once(self.path.as_str()).chain(previous)
    }

    /// `old → new` for a rename, else the path.
    pub fn display(&self) -> String {
        match (&self.previous, self.status) {
            (Some(previous), ChangeKind::Renamed) if previous != &self.path => {
                format!("{previous} → {}", self.path)
            }
            _ => self.path.clone(),
        }
    }

    pub fn lines(&self) -> u64 {
        self.additions.saturating_add(self.deletions)
    }
}

/// The policy, compiled: config globs plus the base branch's `.gitattributes`.
#[derive(Debug, Clone)]
pub struct Policy {
    high: Globs,
    docs: Globs,
    tests: Globs,
    uncounted: Globs,
    attributes: Attributes,
    risk_labels: Vec<String>,
    max_lines: u64,
    max_files: u64,
}

impl Policy {
    /// Compile `config` and the base `.gitattributes` text (empty when absent).
    pub fn new(config: &TierConfig, gitattributes: &str) -> Result<Policy, String> {
        Ok(Policy {
            high: Globs::new("tier.high_paths", &config.high_paths)?,
            docs: Globs::new("tier.docs_paths", &config.docs_paths)?,
            tests: Globs::new("tier.test_paths", &config.test_paths)?,
            uncounted: Globs::new("tier.uncounted_paths", &config.uncounted_paths)?,
            attributes: Attributes::parse(gitattributes)?,
            risk_labels: config.risk_labels.clone(),
            max_lines: config.max_lines,
            max_files: config.max_files,
        })
    }

    fn uncounted_reason(&self, path: &str) -> Option<Uncounted> {
        if self.uncounted.is_match(path) {
            return Some(Uncounted::Path);
        }
        self.attributes.uncounted(path)
    }

    /// Why this change is not counted for size, if it is not: every path it touches must
    /// be uncounted (a file moved out of `vendor/` counts).
    pub fn uncounted(&self, file: &FileChange) -> Option<Uncounted> {
        let mut reason = None;
        for path in file.paths() {
            reason = Some(self.uncounted_reason(path)?);
        }
        reason
    }

    fn is_docs(&self, file: &FileChange) -> bool {
        file.paths().all(|p| self.docs.is_match(p))
    }

    fn is_test(&self, file: &FileChange) -> bool {
        file.paths().all(|p| self.tests.is_match(p))
    }
}

/// The name of a rule, stable and kebab-case (it appears in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A changed path (either side of a rename) matches `tier.high_paths`.
    HighPath,
    /// A file under `tier.high_paths` is deleted.
    HighPathDeleted,
    /// The PR carries a label from `tier.risk_labels`.
    RiskLabel,
    /// More counted lines than `tier.max_lines`.
    TooManyLines,
    /// More counted files than `tier.max_files`.
    TooManyFiles,
    /// Every changed file is documentation.
    DocsOnly,
    /// Every changed file is a test.
    TestsOnly,
    /// Every changed file is documentation or a test.
    DocsAndTestsOnly,
    /// No changed files at all.
    Empty,
    /// Some changed files are neither documentation nor tests.
    OtherFiles,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::HighPath => "high-path",
            Rule::HighPathDeleted => "high-path-deleted",
            Rule::RiskLabel => "risk-label",
            Rule::TooManyLines => "too-many-lines",
            Rule::TooManyFiles => "too-many-files",
            Rule::DocsOnly => "docs-only",
            Rule::TestsOnly => "tests-only",
            Rule::DocsAndTestsOnly => "docs-and-tests-only",
            Rule::Empty => "empty",
            Rule::OtherFiles => "other-files",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule that fired: its tier, the files (or labels) that fired it, and why in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fired {
    pub rule: Rule,
    pub tier: Tier,
    /// Sorted, without duplicates.
    pub files: Vec<String>,
    /// One sentence, lowercase.
    pub detail: String,
}

/// The outcome of the pure decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub tier: Tier,
    /// In a fixed order: high rules first, then the low or medium rule.
    pub rules: Vec<Fired>,
    pub files_total: u64,
    pub files_counted: u64,
    pub lines_counted: u64,
    /// Files left out of the size count, with why; sorted.
    pub uncounted: Vec<(String, Uncounted)>,
}

fn sorted(mut files: Vec<String>) -> Vec<String> {
    files.sort();
    files.dedup();
    files
}

/// Decide the tier of a change. Pure: the same inputs in any order give the same output.
pub fn decide(policy: &Policy, files: &[FileChange], labels: &[String]) -> Assessment {
    let mut high_paths = Vec::new();
    let mut high_deleted = Vec::new();
    let mut uncounted = Vec::new();
    let mut files_counted = 0u64;
    let mut lines_counted = 0u64;
    let mut counted = Vec::new();
    let mut docs = Vec::new();
    let mut tests = Vec::new();
    let mut other = Vec::new();

    for file in files {
        let mut touches_high = false;
        for path in file.paths() {
            if policy.high.is_match(path) {
                high_paths.push(path.to_owned());
                touches_high = true;
            }
        }
        if touches_high && file.status == ChangeKind::Deleted {
            high_deleted.push(file.path.clone());
        }
        match policy.uncounted(file) {
            Some(reason) => uncounted.push((file.display(), reason)),
            None => {
                files_counted += 1;
                lines_counted = lines_counted.saturating_add(file.lines());
                counted.push(file.display());
            }
        }
        let (is_docs, is_test) = (policy.is_docs(file), policy.is_test(file));
        if is_docs {
            docs.push(file.display());
        }
        if is_test {
            tests.push(file.display());
        }
        if !is_docs && !is_test {
            other.push(file.display());
        }
    }

    let mut rules = Vec::new();
    if !high_paths.is_empty() {
        rules.push(Fired {
            rule: Rule::HighPath,
            tier: Tier::High,
            files: sorted(high_paths),
            detail: "touches a high-risk path (`tier.high_paths`)".into(),
        });
    }
    if !high_deleted.is_empty() {
        rules.push(Fired {
            rule: Rule::HighPathDeleted,
            tier: Tier::High,
            files: sorted(high_deleted),
            detail: "deletes a file under a high-risk path".into(),
        });
    }
    let risk = vocabulary::risk_labels_on(labels, &policy.risk_labels);
    if !risk.is_empty() {
        rules.push(Fired {
            rule: Rule::RiskLabel,
            tier: Tier::High,
            files: Vec::new(),
            detail: format!(
                "carries the risk label{} {}",
                if risk.len() == 1 { "" } else { "s" },
                list(&risk)
            ),
        });
    }
    if lines_counted > policy.max_lines {
        rules.push(Fired {
            rule: Rule::TooManyLines,
            tier: Tier::High,
            files: sorted(counted.clone()),
            detail: format!(
                "{lines_counted} counted lines changed, more than `tier.max_lines` ({})",
                policy.max_lines
            ),
        });
    }
    if files_counted > policy.max_files {
        rules.push(Fired {
            rule: Rule::TooManyFiles,
            tier: Tier::High,
            files: sorted(counted),
            detail: format!(
                "{files_counted} counted files changed, more than `tier.max_files` ({})",
                policy.max_files
            ),
        });
    }

    if rules.is_empty() {
        let fired = if files.is_empty() {
            Fired {
                rule: Rule::Empty,
                tier: Tier::Low,
                files: Vec::new(),
                detail: "no changed files".into(),
            }
        } else if other.is_empty() {
            let rule = if tests.is_empty() {
                Rule::DocsOnly
            } else if docs.is_empty() {
                Rule::TestsOnly
            } else {
                Rule::DocsAndTestsOnly
            };
            let detail = match rule {
                Rule::DocsOnly => "every changed file is documentation",
                Rule::TestsOnly => "every changed file is a test",
                _ => "every changed file is documentation or a test",
            };
            let mut all = docs;
            all.extend(tests);
            Fired {
                rule,
                tier: Tier::Low,
                files: sorted(all),
                detail: detail.into(),
            }
        } else {
            Fired {
                rule: Rule::OtherFiles,
                tier: Tier::Medium,
                files: sorted(other),
                detail: "changes files that are neither documentation nor tests".into(),
            }
        };
        rules.push(fired);
    }

    let tier = rules
        .iter()
        .map(|fired| fired.tier)
        .max()
        .unwrap_or(Tier::Low);
    uncounted.sort();
    uncounted.dedup();
    Assessment {
        tier,
        rules,
        files_total: files.len() as u64,
        files_counted,
        lines_counted,
        uncounted,
    }
}

/// "`a`, `b` and `c`".
pub fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The low rules say in words which kind of file the PR holds.
    #[test]
    fn low_rules_explain_themselves() {
        let detail = |files: &[&str]| {
            let files: Vec<FileChange> = files
                .iter()
                .map(|f| FileChange::new(f, ChangeKind::Changed, 1, 1))
                .collect();
            let decision = decide(&policy(), &files, &[]);
            let fired = decision.rules.last().expect("a rule fired");
            (fired.rule, fired.detail.clone())
        };
        assert_eq!(
            detail(&["README.md"]),
            (Rule::DocsOnly, "every changed file is documentation".into())
        );
        assert_eq!(
            detail(&["tests/a.rs"]),
            (Rule::TestsOnly, "every changed file is a test".into())
        );
        assert_eq!(
            detail(&["README.md", "tests/a.rs"]),
            (
                Rule::DocsAndTestsOnly,
                "every changed file is documentation or a test".into()
            )
        );
    }

    /// Gitea's and GitHub's status words; each reads as its own status and prints back as
    /// shipgate's word for it.
    #[test]
    fn file_statuses_parse_and_print() {
        let table = [
            ("added", ChangeKind::Added, "added"),
            ("deleted", ChangeKind::Deleted, "deleted"),
            ("removed", ChangeKind::Deleted, "deleted"),
            ("renamed", ChangeKind::Renamed, "renamed"),
            ("copied", ChangeKind::Copied, "copied"),
            ("changed", ChangeKind::Changed, "changed"),
            ("modified", ChangeKind::Changed, "changed"),
            ("unchanged", ChangeKind::Unchanged, "unchanged"),
            ("typechange", ChangeKind::Other, "other"),
            ("", ChangeKind::Other, "other"),
        ];
        for (text, status, printed) in table {
            assert_eq!(ChangeKind::parse(text), status, "{text}");
            assert_eq!(status.as_str(), printed, "{text}");
        }
    }

    /// Both sides of a rename are touched; a copy's source and a "rename" to the same
    /// path are not a second path.
    #[test]
    fn the_paths_a_change_touches_and_how_it_reads() {
        let renamed = FileChange::renamed("old/a.rs", "new/a.rs", 1, 1);
        assert_eq!(
            renamed.paths().collect::<Vec<_>>(),
            ["new/a.rs", "old/a.rs"]
        );
        assert_eq!(renamed.display(), "old/a.rs → new/a.rs");
        let same = FileChange::renamed("a.rs", "a.rs", 1, 1);
        assert_eq!(same.paths().collect::<Vec<_>>(), ["a.rs"]);
        assert_eq!(same.display(), "a.rs");
        let copied = FileChange {
            status: ChangeKind::Copied,
            ..FileChange::renamed("src/a.rs", "src/b.rs", 3, 0)
        };
        assert_eq!(copied.paths().collect::<Vec<_>>(), ["src/b.rs"]);
        assert_eq!(copied.display(), "src/b.rs");
        let changed = FileChange {
            previous: Some("x.rs".into()),
            ..FileChange::new("y.rs", ChangeKind::Changed, 1, 0)
        };
        assert_eq!(changed.paths().collect::<Vec<_>>(), ["y.rs", "x.rs"]);
        assert_eq!(
            changed.display(),
            "y.rs",
            "only a rename reads as `old → new`"
        );
        assert_eq!(Rule::HighPath.to_string(), "high-path");
    }

    /// `Rule::as_str` (text, summaries) and the serde name (JSON) are written twice: they
    /// must agree for every rule (the match makes a new rule fail to compile here).
    #[test]
    fn rule_names_agree_with_their_json() {
        let all = [
            Rule::HighPath,
            Rule::HighPathDeleted,
            Rule::RiskLabel,
            Rule::TooManyLines,
            Rule::TooManyFiles,
            Rule::DocsOnly,
            Rule::TestsOnly,
            Rule::DocsAndTestsOnly,
            Rule::Empty,
            Rule::OtherFiles,
        ];
        for rule in all {
            match rule {
                Rule::HighPath
                | Rule::HighPathDeleted
                | Rule::RiskLabel
                | Rule::TooManyLines
                | Rule::TooManyFiles
                | Rule::DocsOnly
                | Rule::TestsOnly
                | Rule::DocsAndTestsOnly
                | Rule::Empty
                | Rule::OtherFiles => {}
            }
            assert_eq!(
                serde_json::to_value(rule).expect("serializes"),
                serde_json::Value::String(rule.as_str().to_owned())
            );
        }
    }
    use proptest::prelude::*;

    fn policy() -> Policy {
        Policy::new(&TierConfig::default(), "").expect("default policy compiles")
    }

    fn f(path: &str) -> FileChange {
        FileChange::new(path, ChangeKind::Changed, 3, 1)
    }

    fn rules(decision: &Assessment) -> Vec<&'static str> {
        decision.rules.iter().map(|r| r.rule.as_str()).collect()
    }

    #[test]
    fn default_globs_match_at_any_depth_and_at_the_root() {
        let p = policy();
        for path in [
            "migrations/001.sql",
            "db/migrations/001.sql",
            "a/b/c/migrations/x/y.sql",
            "auth/login.go",
            "internal/auth/login.go",
            "authn/x",
            "svc/authz/policy.rego",
            "crypto/aes.rs",
            "pkg/security/scan.py",
            "secrets/prod.enc",
            "deploy/secrets/prod.enc",
            ".gitea/workflows/ci.yml",
            ".gitea/scripts/gate.py",
            ".github/workflows/ci.yml",
            ".forgejo/workflows/ci.yml",
            "CODEOWNERS",
            ".gitea/CODEOWNERS",
            "docs/CODEOWNERS",
            ".gitea/shipgate.yml",
        ] {
            assert!(p.high.is_match(path), "{path} should be high");
        }
        for path in [
            "authentication/x.go",
            "src/author.rs",
            "src/migrations.rs",
            "sub/.gitea/workflows/ci.yml",
            "sub/.gitea/shipgate.yml",
            "CODEOWNERS.md",
            "src/crypto.rs",
        ] {
            assert!(!p.high.is_match(path), "{path} should not be high");
        }
        for path in [
            "README.md",
            "docs/a/b.txt",
            "src/docs/x.png",
            "guide.rst",
            "x/y.adoc",
        ] {
            assert!(p.docs.is_match(path), "{path} should be docs");
        }
        for path in [
            "tests/a.rs",
            "crate/tests/a/b.rs",
            "test/x.py",
            "web/__tests__/a.js",
            "pkg/foo_test.go",
            "test_foo.py",
            "pkg/test_foo.py",
            "src/a.test.ts",
            "src/a.spec.js",
        ] {
            assert!(p.tests.is_match(path), "{path} should be a test");
        }
        for path in ["src/test_utils/mod.rs", "src/latest.rs", "src/contest.rs"] {
            assert!(!p.tests.is_match(path), "{path} should not be a test");
        }
        for path in [
            "Cargo.lock",
            "crates/x/Cargo.lock",
            "web/package-lock.json",
            "go.sum",
            "vendor/github.com/x/y.go",
            "a/third_party/b.c",
            "node_modules/x/index.js",
            "flake.lock",
            "uv.lock",
        ] {
            assert!(p.uncounted.is_match(path), "{path} should be uncounted");
        }
        assert!(!p.uncounted.is_match("src/vendor.rs"));
    }

    /// One row of the default-policy table.
    struct Case {
        name: &'static str,
        files: Vec<FileChange>,
        labels: Vec<&'static str>,
        tier: Tier,
        rules: Vec<&'static str>,
    }

    fn big(path: &str, lines: u64) -> FileChange {
        FileChange::new(path, ChangeKind::Changed, lines, 0)
    }

    fn many(n: usize, dir: &str) -> Vec<FileChange> {
        (0..n).map(|i| f(&format!("{dir}/f{i}.rs"))).collect()
    }

    #[test]
    fn default_policy_table() {
        let cases = vec![
            Case {
                name: "docs only",
                files: vec![f("README.md"), f("docs/guide/x.txt")],
                labels: vec![],
                tier: Tier::Low,
                rules: vec!["docs-only"],
            },
            Case {
                name: "tests only",
                files: vec![f("tests/a.rs"), f("pkg/x_test.go")],
                labels: vec![],
                tier: Tier::Low,
                rules: vec!["tests-only"],
            },
            Case {
                name: "docs and tests",
                files: vec![f("README.md"), f("tests/a.rs")],
                labels: vec![],
                tier: Tier::Low,
                rules: vec!["docs-and-tests-only"],
            },
            Case {
                name: "mixed code and docs",
                files: vec![f("README.md"), f("src/lib.rs")],
                labels: vec![],
                tier: Tier::Medium,
                rules: vec!["other-files"],
            },
            Case {
                name: "code only",
                files: vec![f("src/lib.rs")],
                labels: vec![],
                tier: Tier::Medium,
                rules: vec!["other-files"],
            },
            Case {
                name: "migrations",
                files: vec![f("db/migrations/001.sql")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "auth at root",
                files: vec![f("auth/x.go")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "authn",
                files: vec![f("svc/authn/x.go")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "authz",
                files: vec![f("svc/authz/x.go")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "crypto",
                files: vec![f("lib/crypto/x.rs")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "security",
                files: vec![f("security/x.rs")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "secrets",
                files: vec![f("ops/secrets/x")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "gitea workflow",
                files: vec![f(".gitea/workflows/ci.yml")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "gitea scripts",
                files: vec![f(".gitea/scripts/x.sh")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "github workflow",
                files: vec![f(".github/workflows/ci.yml")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "forgejo workflow",
                files: vec![f(".forgejo/workflows/ci.yml")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "codeowners",
                files: vec![f(".github/CODEOWNERS")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "policy file",
                files: vec![f(".gitea/shipgate.yml")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "docs under a high path are high",
                files: vec![f("auth/README.md")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "tests under a high path are high",
                files: vec![f("auth/tests/x.rs")],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "deletion under a high path",
                files: vec![FileChange::new(
                    "migrations/001.sql",
                    ChangeKind::Deleted,
                    0,
                    40,
                )],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path", "high-path-deleted"],
            },
            Case {
                name: "deletion elsewhere",
                files: vec![FileChange::new("src/old.rs", ChangeKind::Deleted, 0, 40)],
                labels: vec![],
                tier: Tier::Medium,
                rules: vec!["other-files"],
            },
            Case {
                name: "rename out of a high path",
                files: vec![FileChange::renamed("auth/x.go", "src/x.go", 0, 0)],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "rename into a high path",
                files: vec![FileChange::renamed("src/x.go", "auth/x.go", 0, 0)],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["high-path"],
            },
            Case {
                name: "rename from code into docs is not docs",
                files: vec![FileChange::renamed("src/x.rs", "docs/x.md", 0, 0)],
                labels: vec![],
                tier: Tier::Medium,
                rules: vec!["other-files"],
            },
            Case {
                name: "risk label",
                files: vec![f("README.md")],
                labels: vec!["risk:high"],
                tier: Tier::High,
                rules: vec!["risk-label"],
            },
            Case {
                name: "area:security label",
                files: vec![f("src/a.rs")],
                labels: vec!["area:security", "bug"],
                tier: Tier::High,
                rules: vec!["risk-label"],
            },
            Case {
                name: "unrelated label",
                files: vec![f("README.md")],
                labels: vec!["bug"],
                tier: Tier::Low,
                rules: vec!["docs-only"],
            },
            Case {
                name: "lines at the limit",
                files: vec![big("src/a.rs", 600), big("src/b.rs", 400)],
                labels: vec![],
                tier: Tier::Medium,
                rules: vec!["other-files"],
            },
            Case {
                name: "lines past the limit",
                files: vec![big("src/a.rs", 600), big("src/b.rs", 401)],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["too-many-lines"],
            },
            Case {
                name: "docs past the line limit",
                files: vec![big("docs/a.md", 5000)],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["too-many-lines"],
            },
            Case {
                name: "files at the limit",
                files: many(50, "src"),
                labels: vec![],
                tier: Tier::Medium,
                rules: vec!["other-files"],
            },
            Case {
                name: "files past the limit",
                files: many(51, "src"),
                labels: vec![],
                tier: Tier::High,
                rules: vec!["too-many-files"],
            },
            Case {
                name: "lockfile only, huge",
                files: vec![big("Cargo.lock", 20_000)],
                labels: vec![],
                tier: Tier::Medium,
                rules: vec!["other-files"],
            },
            Case {
                name: "many vendored files",
                files: many(300, "vendor/x"),
                labels: vec![],
                tier: Tier::Medium,
                rules: vec!["other-files"],
            },
            Case {
                name: "rename out of vendor counts",
                files: vec![FileChange::renamed("vendor/x.rs", "src/x.rs", 2000, 0)],
                labels: vec![],
                tier: Tier::High,
                rules: vec!["too-many-lines"],
            },
            Case {
                name: "empty",
                files: vec![],
                labels: vec![],
                tier: Tier::Low,
                rules: vec!["empty"],
            },
            Case {
                name: "empty with risk label",
                files: vec![],
                labels: vec!["risk:high"],
                tier: Tier::High,
                rules: vec!["risk-label"],
            },
            Case {
                name: "several high rules",
                files: vec![FileChange::new("auth/x", ChangeKind::Deleted, 0, 2000)],
                labels: vec!["risk:high"],
                tier: Tier::High,
                rules: vec![
                    "high-path",
                    "high-path-deleted",
                    "risk-label",
                    "too-many-lines",
                ],
            },
        ];
        let p = policy();
        for case in cases {
            let labels: Vec<String> = case.labels.iter().map(|s| (*s).to_owned()).collect();
            let decision = decide(&p, &case.files, &labels);
            assert_eq!(decision.tier, case.tier, "{}: {decision:?}", case.name);
            assert_eq!(rules(&decision), case.rules, "{}", case.name);
        }
    }

    #[test]
    fn fired_rules_name_their_files() {
        let p = policy();
        let files = vec![
            FileChange::renamed("auth/old.go", "src/new.go", 1, 1),
            f("migrations/002.sql"),
            f("src/lib.rs"),
        ];
        let d = decide(&p, &files, &[]);
        assert_eq!(
            d.rules[0].files,
            vec!["auth/old.go".to_owned(), "migrations/002.sql".to_owned()]
        );
        let d = decide(&p, &[f("README.md"), f("src/a.rs"), f("src/b.rs")], &[]);
        assert_eq!(d.rules[0].rule, Rule::OtherFiles);
        assert_eq!(d.rules[0].files, vec!["src/a.rs", "src/b.rs"]);
        let d = decide(&p, &[f("src/a.rs")], &["risk:high".into()]);
        assert_eq!(d.rules[0].detail, "carries the risk label `risk:high`");
    }

    #[test]
    fn uncounted_files_are_left_out_of_size_only() {
        let p = Policy::new(
            &TierConfig::default(),
            "gen/** linguist-generated\n*.pb.go linguist-generated=true\nthird/** linguist-vendored\n",
        )
        .expect("compiles");
        let files = vec![
            big("Cargo.lock", 900),
            big("gen/api.rs", 900),
            big("pkg/x.pb.go", 900),
            big("third/lib.c", 900),
            big("src/a.rs", 10),
        ];
        let d = decide(&p, &files, &[]);
        assert_eq!((d.files_counted, d.lines_counted), (1, 10));
        assert_eq!(d.tier, Tier::Medium);
        assert_eq!(
            d.uncounted,
            vec![
                ("Cargo.lock".to_owned(), Uncounted::Path),
                ("gen/api.rs".to_owned(), Uncounted::Generated),
                ("pkg/x.pb.go".to_owned(), Uncounted::Generated),
                ("third/lib.c".to_owned(), Uncounted::Vendored),
            ]
        );
        // Path rules still see uncounted files: generated code under a high path is high.
        let d = decide(&p, &[big("gen/auth/x.rs", 1)], &[]);
        assert_eq!(d.tier, Tier::High);
        assert_eq!(d.files_counted, 0);
    }

    #[test]
    fn generated_files_do_not_count_towards_size() {
        let p = Policy::new(
            &TierConfig::default(),
            "*.generated.ts linguist-generated\n",
        )
        .expect("compiles");
        let files = vec![big("web/api.generated.ts", 50_000), f("web/app.ts")];
        let d = decide(&p, &files, &[]);
        assert_eq!(d.tier, Tier::Medium);
        assert_eq!(d.lines_counted, 4);
        let without = Policy::new(&TierConfig::default(), "").expect("compiles");
        assert_eq!(decide(&without, &files, &[]).tier, Tier::High);
    }

    #[test]
    fn configured_thresholds_apply() {
        let config = TierConfig {
            max_lines: 10,
            max_files: 2,
            ..TierConfig::default()
        };
        let p = Policy::new(&config, "").expect("compiles");
        assert_eq!(decide(&p, &[big("src/a.rs", 10)], &[]).tier, Tier::Medium);
        assert_eq!(decide(&p, &[big("src/a.rs", 11)], &[]).tier, Tier::High);
        assert_eq!(decide(&p, &many(3, "src"), &[]).tier, Tier::High);
    }

    #[test]
    fn invalid_globs_are_reported() {
        let config = TierConfig {
            high_paths: vec!["[".into()],
            ..TierConfig::default()
        };
        let err = Policy::new(&config, "").expect_err("invalid");
        assert!(
            err.contains("`tier.high_paths` has an invalid glob `[`"),
            "{err}"
        );
    }

    #[test]
    fn status_spellings() {
        assert_eq!(ChangeKind::parse("changed"), ChangeKind::Changed);
        assert_eq!(ChangeKind::parse("modified"), ChangeKind::Changed);
        assert_eq!(ChangeKind::parse("removed"), ChangeKind::Deleted);
        assert_eq!(ChangeKind::parse("weird"), ChangeKind::Other);
    }

    fn arb_path() -> impl Strategy<Value = String> {
        let dirs = prop::sample::select(vec![
            "",
            "src/",
            "docs/",
            "tests/",
            "auth/",
            "db/migrations/",
            "vendor/",
            ".gitea/workflows/",
            "pkg/",
            "web/__tests__/",
        ]);
        let names = prop::sample::select(vec![
            "a.rs",
            "README.md",
            "x_test.go",
            "Cargo.lock",
            "CODEOWNERS",
            "b.spec.ts",
            "main.go",
            "guide.rst",
        ]);
        (dirs, names).prop_map(|(d, n)| format!("{d}{n}"))
    }

    fn arb_file() -> impl Strategy<Value = FileChange> {
        (
            arb_path(),
            prop::option::of(arb_path()),
            prop::sample::select(vec![
                ChangeKind::Added,
                ChangeKind::Deleted,
                ChangeKind::Changed,
                ChangeKind::Renamed,
                ChangeKind::Copied,
            ]),
            0u64..400,
            0u64..400,
        )
            .prop_map(
                |(path, previous, status, additions, deletions)| FileChange {
                    path,
                    previous: if status == ChangeKind::Renamed || status == ChangeKind::Copied {
                        previous
                    } else {
                        None
                    },
                    status,
                    additions,
                    deletions,
                },
            )
    }

    fn arb_labels() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(
            prop::sample::select(vec!["bug", "risk:high", "area:security", "tier:low"])
                .prop_map(str::to_owned),
            0..3,
        )
    }

    proptest! {
        #[test]
        fn adding_a_file_never_lowers_the_tier(
            files in prop::collection::vec(arb_file(), 0..70),
            extra in arb_file(),
            at in 0usize..70,
            labels in arb_labels(),
        ) {
            let p = policy();
            let before = decide(&p, &files, &labels).tier;
            let mut more = files.clone();
            more.insert(at.min(more.len()), extra);
            let after = decide(&p, &more, &labels).tier;
            prop_assert!(after >= before, "{before} -> {after}");
        }

        #[test]
        fn the_tier_never_depends_on_file_order(
            files in prop::collection::vec(arb_file(), 0..70),
            labels in arb_labels(),
            seed in any::<u64>(),
        ) {
            let p = policy();
            let decision = decide(&p, &files, &labels);
            let mut shuffled = files.clone();
            // A deterministic shuffle driven by the seed.
            let mut state = seed | 1;
            for i in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let j = (state % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
            }
            let mut reversed_labels = labels.clone();
            reversed_labels.reverse();
            prop_assert_eq!(decide(&p, &shuffled, &reversed_labels), decision);
        }

        #[test]
        fn adding_a_risk_label_never_lowers_the_tier(
            files in prop::collection::vec(arb_file(), 0..20),
            labels in arb_labels(),
        ) {
            let p = policy();
            let before = decide(&p, &files, &labels).tier;
            let mut more = labels.clone();
            more.push("risk:high".into());
            prop_assert_eq!(decide(&p, &files, &more).tier, Tier::High);
            prop_assert!(Tier::High >= before);
        }
    }
}
