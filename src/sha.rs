//! How a commit id is shown to people: in messages, annotations and summaries.

/// The first 8 characters of a commit id (the whole text when it is shorter).
pub fn short(sha: &str) -> &str {
    sha.get(..8).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn short_keeps_eight_characters_or_the_whole_id() {
        assert_eq!(short("0123456789abcdef"), "01234567");
        assert_eq!(short("0123456"), "0123456");
        assert_eq!(short(""), "");
        // Not on a character boundary: the whole text rather than a panic.
        assert_eq!(short("0123456é"), "0123456é");
    }
}
