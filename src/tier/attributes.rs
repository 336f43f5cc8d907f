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
//!   lines override earlier ones.

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
    generated: Option<State>,
    vendored: Option<State>,
}

/// What a line says about one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Set,
    Unset,
    Unspecified,
}

/// The compiled `linguist-generated` / `linguist-vendored` lines of a `.gitattributes`.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    lines: Vec<Line>,
}

impl Attributes {
    /// Parse the file's text. A pattern that cannot be compiled is an error naming the
    /// line, so a typo never silently changes what is counted.
    pub fn parse(text: &str) -> Result<Attributes, String> {
        let mut lines = Vec::new();
        for (number, raw) in text.lines().enumerate() {
            let line = raw.trim_start();
            if line.is_empty() || line.starts_with('#') || line.starts_with("[attr]") {
                continue;
            }
            let (pattern, rest) = split_pattern(line).ok_or_else(|| {
                format!(
                    ".gitattributes line {}: unterminated quoted pattern",
                    number + 1
                )
            })?;
            let mut generated = None;
            let mut vendored = None;
            for attr in rest.split_ascii_whitespace() {
                let (name, state) = parse_attr(attr);
                match name {
                    "linguist-generated" => generated = Some(state),
                    "linguist-vendored" => vendored = Some(state),
                    _ => {}
                }
            }
            if generated.is_none() && vendored.is_none() {
                continue;
            }
            let Some(glob_text) = to_glob(&pattern) else {
                continue;
            };
            let matcher = glob::path(&glob_text)
                .map_err(|e| {
                    format!(
                        ".gitattributes line {}: cannot read pattern `{pattern}`: {e}",
                        number + 1
                    )
                })?
                .compile_matcher();
            lines.push(Line {
                pattern,
                matcher,
                generated,
                vendored,
            });
        }
        Ok(Attributes { lines })
    }

    /// Why `path` is not counted, if `.gitattributes` marks it generated or vendored.
    pub fn uncounted(&self, path: &str) -> Option<Uncounted> {
        let mut generated = State::Unspecified;
        let mut vendored = State::Unspecified;
        for line in &self.lines {
            if !line.matcher.is_match(path) {
                continue;
            }
            if let Some(state) = line.generated {
                generated = state;
            }
            if let Some(state) = line.vendored {
                vendored = state;
            }
        }
        if generated == State::Set {
            Some(Uncounted::Generated)
        } else if vendored == State::Set {
            Some(Uncounted::Vendored)
        } else {
            None
        }
    }

    /// The patterns read, in order (for diagnostics).
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|l| l.pattern.as_str())
    }
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
            let state = match value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "set" => State::Set,
                "false" | "0" | "no" | "unset" => State::Unset,
                _ => State::Unspecified,
            };
            (name, state)
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
