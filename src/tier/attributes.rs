//! The part of `.gitattributes` tier needs: which paths are `linguist-generated` or
//! `linguist-vendored`. Pure: text in, matcher out.
//!
//! Semantics follow gitattributes(5) for the root file:
//! - one `pattern attr…` per line; blank lines and `#` comments skipped; `[attr]` macro
//!   definitions skipped; a pattern may be double-quoted with C-style escapes;
//! - a pattern without `/` matches the file name at any depth; one with a leading or
//!   inner `/` is anchored at the root; a trailing `/` only matches directories, which
//!   never match a file (gitattributes does not recurse into directories);
//! - `*`/`?` never cross `/`, `**` as in gitignore; braces are literal;
//! - `attr` / `attr=true` set, `-attr` / `attr=false` unset, `!attr` unspecified; later
//!   lines override earlier ones;
//! - `[attr]NAME …` defines a macro wherever it stands in the file: a line that sets
//!   `NAME` assigns the macro's attributes there (nested macros too); `NAME=value`,
//!   `-NAME` and `!NAME` assign none of them. A test checks all of this against
//!   `git check-attr`.

use std::collections::{HashMap, HashSet};

use globset::GlobMatcher;
use serde::Serialize;

use crate::glob;

/// Why a file is not counted for size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Uncounted {
    /// Matches `tier.uncounted_paths` (lockfiles, vendored directories).
    Path,
    /// `linguist-generated` in the base `.gitattributes`.
    Generated,
    /// `linguist-vendored` in the base `.gitattributes`.
    Vendored,
}

#[derive(Debug, Clone)]
struct Line {
    pattern: String,
    matcher: GlobMatcher,
    /// Every attribute the line assigns, in order.
    assignments: Vec<(String, State)>,
}

/// What a line says about one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// `attr`: set (and a macro set this way assigns its own attributes).
    Set,
    /// `-attr`.
    Unset,
    /// `!attr`.
    Unspecified,
    /// `attr=value`: linguist reads `true`/`1`/`yes`/`set` as set, the rest as unset. A
    /// macro given a value assigns nothing.
    Value(bool),
}

impl State {
    fn is_set(self) -> bool {
        matches!(self, State::Set | State::Value(true))
    }
}

/// The attributes tier reads.
const GENERATED: &str = "linguist-generated";
const VENDORED: &str = "linguist-vendored";

/// The compiled `.gitattributes` lines that can reach `linguist-generated` or
/// `linguist-vendored`, directly or through `[attr]` macros.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    lines: Vec<Line>,
    /// `[attr]NAME assignments…`: the last definition of each name.
    macros: HashMap<String, Vec<(String, State)>>,
}

impl Attributes {
    /// Parse the file's text. A pattern that cannot be compiled is an error naming the
    /// line, so a typo never silently changes what is counted.
    pub fn parse(text: &str) -> Result<Attributes, String> {
        let mut macros: HashMap<String, Vec<(String, State)>> = HashMap::new();
        let mut patterns = Vec::new();
        for (number, raw) in text.lines().enumerate() {
            let line = raw.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(definition) = line.strip_prefix("[attr]") {
                let (name, rest) = definition
                    .split_once(|c: char| c.is_ascii_whitespace())
                    .unwrap_or((definition, ""));
                if !name.is_empty() {
                    macros.insert(name.to_owned(), assignments(rest));
                }
                continue;
            }
            let (pattern, rest) = split_pattern(line).ok_or_else(|| {
                format!(
                    ".gitattributes line {}: unterminated quoted pattern",
                    number + 1
                )
            })?;
            patterns.push((number + 1, pattern, assignments(rest)));
        }
        let relevant = relevant_names(&macros);
        let mut lines = Vec::new();
        for (number, pattern, assignments) in patterns {
            if !assignments
                .iter()
                .any(|(name, _)| relevant.contains(name.as_str()))
            {
                continue;
            }
            let Some(glob_text) = to_glob(&pattern) else {
                continue;
            };
            let matcher = glob::path(&glob_text)
                .map_err(|e| {
                    format!(".gitattributes line {number}: cannot read pattern `{pattern}`: {e}")
                })?
                .compile_matcher();
            lines.push(Line {
                pattern,
                matcher,
                assignments,
            });
        }
        Ok(Attributes { lines, macros })
    }

    /// Why `path` is not counted, if `.gitattributes` marks it generated or vendored.
    ///
    /// As git resolves attributes: from the last matching line to the first, the first
    /// word about an attribute decides it, and a macro that is set assigns its own
    /// attributes (recursively) where it stands.
    pub fn uncounted(&self, path: &str) -> Option<Uncounted> {
        let mut decided: HashMap<&str, State> = HashMap::new();
        for line in self.lines.iter().rev() {
            if !line.matcher.is_match(path) {
                continue;
            }
            for (name, state) in line.assignments.iter().rev() {
                self.fill(&mut decided, name, *state, 0);
            }
        }
        let set = |name: &str| decided.get(name).is_some_and(|s| s.is_set());
        if set(GENERATED) {
            Some(Uncounted::Generated)
        } else if set(VENDORED) {
            Some(Uncounted::Vendored)
        } else {
            None
        }
    }

    fn fill<'a>(
        &'a self,
        decided: &mut HashMap<&'a str, State>,
        name: &'a str,
        state: State,
        depth: usize,
    ) {
        if decided.contains_key(name) {
            return;
        }
        decided.insert(name, state);
        if state != State::Set || depth > MAX_MACRO_DEPTH {
            return;
        }
        if let Some(members) = self.macros.get(name) {
            for (member, member_state) in members.iter().rev() {
                self.fill(decided, member, *member_state, depth + 1);
            }
        }
    }

    /// The patterns read, in order (for diagnostics).
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|l| l.pattern.as_str())
    }
}

/// Macros nested deeper than this assign nothing more (git has no limit, but a name is
/// decided before it expands, so only a very long chain gets near it).
const MAX_MACRO_DEPTH: usize = 64;

/// The attribute names that can decide [`GENERATED`] or [`VENDORED`]: the two, and every
/// macro that assigns one of them, directly or through other macros.
fn relevant_names(macros: &HashMap<String, Vec<(String, State)>>) -> HashSet<&str> {
    let mut relevant: HashSet<&str> = [GENERATED, VENDORED].into_iter().collect();
    loop {
        let before = relevant.len();
        for (name, members) in macros {
            if members.iter().any(|(m, _)| relevant.contains(m.as_str())) {
                relevant.insert(name.as_str());
            }
        }
        if relevant.len() == before {
            return relevant;
        }
    }
}

/// The assignments of one line, after its pattern.
fn assignments(rest: &str) -> Vec<(String, State)> {
    rest.split_ascii_whitespace()
        .map(|attr| {
            let (name, state) = parse_attr(attr);
            (name.to_owned(), state)
        })
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

fn parse_attr(attr: &str) -> (&str, State) {
    if let Some(name) = attr.strip_prefix('-') {
        return (name, State::Unset);
    }
    if let Some(name) = attr.strip_prefix('!') {
        return (name, State::Unspecified);
    }
    match attr.split_once('=') {
        Some((name, value)) => {
            let set = matches!(
                value.to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "set"
            );
            (name, State::Value(set))
        }
        None => (attr, State::Set),
    }
}

/// Split off the pattern (possibly quoted) from the attributes.
fn split_pattern(line: &str) -> Option<(String, &str)> {
    if let Some(quoted) = line.strip_prefix('"') {
        let mut pattern = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Some((pattern, &quoted[i + 1..])),
                '\\' => match chars.next()?.1 {
                    'n' => pattern.push('\n'),
                    't' => pattern.push('\t'),
                    '"' => pattern.push('"'),
                    // Keep other escapes for the glob (`\*` stays a literal star).
                    other => {
                        pattern.push('\\');
                        pattern.push(other);
                    }
                },
                c => pattern.push(c),
            }
        }
        return None;
    }
    let end = line
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(line.len());
    Some((line[..end].to_owned(), &line[end..]))
}

/// A gitattributes pattern as a shipgate glob; `None` when it can only match directories.
fn to_glob(pattern: &str) -> Option<String> {
    if pattern.ends_with('/') {
        return None;
    }
    let anchored = pattern.contains('/');
    let body = pattern.trim_start_matches('/');
    if body.is_empty() {
        return None;
    }
    // Braces are literal in git; globset would read them as alternation.
    let mut escaped = String::with_capacity(body.len());
    for c in body.chars() {
        if matches!(c, '{' | '}') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    Some(if anchored || escaped.starts_with("**/") {
        escaped
    } else {
        format!("**/{escaped}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uncounted(text: &str, path: &str) -> Option<Uncounted> {
        Attributes::parse(text).expect("parses").uncounted(path)
    }

    #[test]
    fn basename_patterns_match_at_any_depth() {
        let text = "*.pb.go linguist-generated\n";
        assert_eq!(uncounted(text, "x.pb.go"), Some(Uncounted::Generated));
        assert_eq!(uncounted(text, "a/b/x.pb.go"), Some(Uncounted::Generated));
        assert_eq!(uncounted(text, "a/b/x.go"), None);
    }

    #[test]
    fn patterns_with_a_slash_are_anchored() {
        let text = "/gen/*.rs linguist-generated\napi/** linguist-vendored\n";
        assert_eq!(uncounted(text, "gen/a.rs"), Some(Uncounted::Generated));
        assert_eq!(uncounted(text, "src/gen/a.rs"), None);
        assert_eq!(uncounted(text, "gen/sub/a.rs"), None, "* does not cross /");
        assert_eq!(uncounted(text, "api/v1/x.json"), Some(Uncounted::Vendored));
        assert_eq!(uncounted(text, "web/api/x.json"), None);
    }

    #[test]
    fn directory_patterns_match_no_file() {
        assert_eq!(uncounted("gen/ linguist-generated\n", "gen/a.rs"), None);
    }

    #[test]
    fn values_and_negation() {
        assert_eq!(
            uncounted("*.js linguist-generated=true\n", "a.js"),
            Some(Uncounted::Generated)
        );
        assert_eq!(uncounted("*.js linguist-generated=false\n", "a.js"), None);
        assert_eq!(
            uncounted(
                "*.js linguist-generated\nsrc/*.js -linguist-generated\n",
                "src/a.js"
            ),
            None
        );
        assert_eq!(
            uncounted(
                "*.js linguist-generated\nsrc/*.js -linguist-generated\n",
                "lib/a.js"
            ),
            Some(Uncounted::Generated)
        );
        assert_eq!(
            uncounted(
                "*.js linguist-generated\n*.js !linguist-generated\n",
                "a.js"
            ),
            None
        );
        assert_eq!(
            uncounted(
                "*.js -linguist-generated\n*.js linguist-generated\n",
                "a.js"
            ),
            Some(Uncounted::Generated)
        );
    }

    #[test]
    fn other_attributes_comments_and_macros_are_ignored() {
        let text = "# comment\n\n[attr]gen linguist-generated\n*.png binary\n* text=auto eol=lf\n";
        let attributes = Attributes::parse(text).expect("parses");
        assert_eq!(attributes.patterns().count(), 0);
        assert_eq!(attributes.uncounted("a.png"), None);
    }

    #[test]
    fn several_attributes_on_one_line() {
        let text =
            "third_party/** linguist-vendored text eol=lf\n*.min.js  linguist-generated  -diff\n";
        assert_eq!(
            uncounted(text, "third_party/a/b.c"),
            Some(Uncounted::Vendored)
        );
        assert_eq!(uncounted(text, "web/x.min.js"), Some(Uncounted::Generated));
    }

    #[test]
    fn quoted_patterns_and_literal_braces() {
        let text = "\"docs/my file.md\" linguist-generated\n{a}.txt linguist-generated\n";
        assert_eq!(
            uncounted(text, "docs/my file.md"),
            Some(Uncounted::Generated)
        );
        assert_eq!(uncounted(text, "x/{a}.txt"), Some(Uncounted::Generated));
        assert_eq!(uncounted(text, "x/a.txt"), None);
    }

    #[test]
    fn broken_lines_are_errors() {
        let err = Attributes::parse("\"unterminated linguist-generated\n").expect_err("bad");
        assert!(err.contains("line 1"), "{err}");
        let err = Attributes::parse("ok.txt linguist-generated\n[z-a] linguist-generated\n")
            .expect_err("bad");
        assert!(err.contains("line 2") && err.contains("[z-a]"), "{err}");
    }

    /// Macros as `git check-attr` reads them (tests/tier.rs compares with git itself).
    #[test]
    fn macros_assign_their_attributes_where_they_are_set() {
        let text = "[attr]gen linguist-generated\n[attr]nogen -linguist-generated\n\
                    [attr]both gen linguist-vendored\n*.pb gen\n*.pb -gen\na.x gen\na.x nogen\n\
                    b.y both\nc.z gen=true\nd.w !gen\ne.v linguist-generated\ne.v !gen\n\
                    *.q later\n[attr]later linguist-vendored\n";
        let table = [
            ("x.pb", None),
            ("a.x", None),
            ("b.y", Some(Uncounted::Generated)),
            ("c.z", None),
            ("d.w", None),
            ("e.v", Some(Uncounted::Generated)),
            ("f.q", Some(Uncounted::Vendored)),
        ];
        for (path, expected) in table {
            assert_eq!(uncounted(text, path), expected, "{path}");
        }
        assert_eq!(
            Attributes::parse(text).expect("parses").patterns().count(),
            10,
            "every line that can reach a linguist attribute is kept"
        );
    }

    /// A macro that names itself, or a ring of them, ends: a name is decided before it
    /// expands.
    #[test]
    fn macro_cycles_end() {
        let text = "[attr]a b linguist-generated\n[attr]b a\n*.x a\n[attr]self self\n*.y self\n";
        assert_eq!(uncounted(text, "f.x"), Some(Uncounted::Generated));
        assert_eq!(uncounted(text, "f.y"), None);
    }

    #[test]
    fn double_star_patterns() {
        let text = "**/generated/** linguist-generated\n";
        assert_eq!(
            uncounted(text, "generated/a.rs"),
            Some(Uncounted::Generated)
        );
        assert_eq!(
            uncounted(text, "x/generated/y/a.rs"),
            Some(Uncounted::Generated)
        );
    }
}
