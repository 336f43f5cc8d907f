//! Globs from the config (`tier.*_paths`), compiled as the tier policy compiles them
//! (`Globs::new`), then matched. Input: one glob per line, a NUL, then one path per line.
//!
//! parsers: src/glob.rs

use shipgate::glob::Globs;

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (globs, paths) = text.split_once('\0').unwrap_or((text, "src/lib.rs"));
    let patterns: Vec<String> = globs.lines().take(64).map(str::to_owned).collect();
    let Ok(set) = Globs::new("tier.high_paths", &patterns) else {
        return;
    };
    for path in paths.lines().take(64) {
        let _ = set.is_match(path);
    }
}
