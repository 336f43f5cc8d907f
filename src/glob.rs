//! shipgate's glob rules, one place for the runtime and `config check`, so a config that
//! passes the check compiles at run time and means there what the check read.
//!
//! - **Paths** (`tier.*_paths`, and `.gitattributes` patterns): `*` and `?` never cross
//!   `/`; `**/` matches at any depth, the root included; `/**` matches everything below;
//!   a backslash escapes the next character.
//! - **Status contexts** (`promote.required_contexts`): `*` matches any text, `/` too
//!   (`ci/*` covers `ci/build/linux`); a context equal to the pattern always matches.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A compiled set of globs, for the config key that named them.
#[derive(Debug, Clone)]
pub struct Globs {
    set: GlobSet,
}

impl Globs {
    pub fn new(key: &str, patterns: &[String]) -> Result<Globs, String> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            builder.add(
                path(pattern)
                    .map_err(|e| format!("`{key}` has an invalid glob `{pattern}`: {e}"))?,
            );
        }
        let set = builder
            .build()
            .map_err(|e| format!("`{key}` cannot be compiled: {e}"))?;
        Ok(Globs { set })
    }

    pub fn is_match(&self, path: &str) -> bool {
        self.set.is_match(path)
    }
}

/// One path glob with shipgate's matching rules.
pub fn path(pattern: &str) -> Result<globset::Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
}

/// One status-context glob.
pub fn context(pattern: &str) -> Result<globset::Glob, globset::Error> {
    globset::Glob::new(pattern)
}

/// Whether a status context meets a required-context pattern: the pattern itself, byte
/// for byte, or a context its glob matches (an invalid glob matches only itself).
pub fn context_matches(pattern: &str, context: &str) -> bool {
    pattern == context
        || self::context(pattern).is_ok_and(|glob| glob.compile_matcher().is_match(context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_of_a_glob() {
        let globs = |patterns: &[&str]| {
            Globs::new(
                "k",
                &patterns.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>(),
            )
            .expect("compiles")
        };
        let star = globs(&["src/*.rs"]);
        assert!(star.is_match("src/main.rs"));
        assert!(!star.is_match("src/a/main.rs"), "`*` never crosses `/`");
        let deep = globs(&["**/Cargo.lock"]);
        assert!(deep.is_match("Cargo.lock"), "`**/` matches at the root");
        assert!(deep.is_match("a/b/Cargo.lock"));
        let below = globs(&["vendor/**"]);
        assert!(below.is_match("vendor/a/b.c"));
        assert!(!below.is_match("vendored/a"));
        let escaped = globs(&["docs/\\*.md"]);
        assert!(escaped.is_match("docs/*.md"), "a backslash escapes");
        assert!(!escaped.is_match("docs/a.md"));
        assert!(!globs(&[]).is_match("anything"));
    }

    #[test]
    fn the_rules_of_a_context_glob() {
        assert!(context_matches("ci/*", "ci/build/linux"));
        assert!(context_matches("ci/build", "ci/build"));
        assert!(!context_matches("ci/build", "ci/build2"));
        assert!(context_matches("[", "["), "an invalid glob matches itself");
        assert!(!context_matches("[", "x"));
    }

    #[test]
    fn an_invalid_glob_names_its_key() {
        let error = Globs::new("tier.high_paths", &["[".to_owned()]).expect_err("invalid");
        assert!(
            error.starts_with("`tier.high_paths` has an invalid glob `[`"),
            "{error}"
        );
    }
}
