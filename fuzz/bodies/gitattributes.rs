//! The base branch's `.gitattributes` (`Attributes::parse`), then paths asked of it
//! (`uncounted`). Input: attributes text, a NUL, then one path per line.
//!
//! parsers: src/tier/attributes.rs

use shipgate::tier::attributes::Attributes;

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (attributes, paths) = text.split_once('\0').unwrap_or((text, "src/lib.rs"));
    let Ok(parsed) = Attributes::parse(attributes) else {
        return;
    };
    let _ = parsed.patterns().count();
    for path in paths.lines().take(64) {
        let _ = parsed.uncounted(path);
    }
}
