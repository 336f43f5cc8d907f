//! The changed files of a pull request read from its whole unified diff
//! (`GET /repos/{o}/{r}/pulls/{n}.diff`) instead of the paged files list, and the proof
//! that the diff is whole and the pull request's. Pure: bytes and the pull request as
//! read in, file facts or the reason to fall back out.
//!
//! Why: Gitea recomputes the whole diff for every 50-file page of
//! `GET …/pulls/{n}/files`; the `.diff` is one `git diff -p <merge_base>...refs/pull/{n}/head`
//! (`services/pull/patch.go` `DownloadDiffOrPatch`, 1.22 → 1.27), streamed as git writes it.
//!
//! [`parse`] reads git's unified diff: `diff --git` headers (quoted paths, and unquoted
//! paths with spaces, which only the other header lines disambiguate), the extended
//! headers (`new file mode`, `deleted file mode`, `old/new mode`, `rename from/to`,
//! `copy from/to`, `similarity index`, `index`), `Binary files … differ`, and every hunk,
//! whose `@@ -a,b +c,d @@` line counts are checked against the lines that follow, so a
//! diff cut inside a hunk is malformed. Each file becomes the [`FileChange`] Gitea's files
//! list would have given (`convert.ToChangedFile`: status `deleted`, `added`, `copied`,
//! `renamed` (with the old path), `unchanged` when nothing was counted, else `changed`).
//!
//! [`prove`] accepts the files only when they are provably the pull request's: the number
//! of files and the added and deleted lines equal the pull request's `changed_files`,
//! `additions` and `deletions` (Gitea's `git diff --shortstat` of the same merge base and
//! head), and the pull request read again after the diff has the same head, merge base and
//! counts. Anything else is an [`Unproven`] reason, and the caller reads the paged list.

use super::policy::{ChangeKind, FileChange};
use crate::forge::PullRequest;

/// The largest diff read (16 MiB). A larger one is not read to its end: the paged list is
/// read instead. 3,000 small files make about 1 MiB; a diff this large has far more than
/// the 1,000 lines that make a pull request `high`, and paging its file list costs little
/// beside computing it.
pub const MAX_DIFF_BYTES: usize = 16 << 20;

/// Why the diff was not used; the paged list is read instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unproven {
    /// The diff was not asked for (`--files-from pages`).
    NotAsked,
    /// The diff could not be read (an error answer, a cut connection, over the cap).
    Unread(String),
    /// The diff is not git's unified diff as expected.
    Malformed { line: usize, why: String },
    /// The pull request does not say how many files and lines it changes.
    NoCounts,
    /// The diff and the pull request disagree on a count.
    Count {
        what: &'static str,
        diff: u64,
        pull: u64,
    },
    /// The pull request changed while the diff was read.
    Moved { what: &'static str },
}

impl std::fmt::Display for Unproven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unproven::NotAsked => f.write_str("`--files-from pages`"),
            Unproven::Unread(why) => write!(f, "the diff could not be read: {why}"),
            Unproven::Malformed { line, why } => {
                write!(f, "the diff is malformed at line {line}: {why}")
            }
            Unproven::NoCounts => f.write_str(
                "the pull request does not say how many files and lines it changes \
                 (`changed_files`, `additions`, `deletions`)",
            ),
            Unproven::Count { what, diff, pull } => write!(
                f,
                "the diff has {diff} {what}, the pull request says {pull}"
            ),
            Unproven::Moved { what } => {
                write!(
                    f,
                    "the pull request's {what} changed while the diff was read"
                )
            }
        }
    }
}

/// The diff's files, if `body` is provably the whole diff of `before`, read again as
/// `after` once the diff was in.
pub fn prove(
    body: &[u8],
    before: &PullRequest,
    after: &PullRequest,
) -> Result<Vec<FileChange>, Unproven> {
    if before.head.sha != after.head.sha {
        return Err(Unproven::Moved { what: "head" });
    }
    if before.merge_base != after.merge_base {
        return Err(Unproven::Moved { what: "merge base" });
    }
    let counts = |p: &PullRequest| match (p.changed_files, p.additions, p.deletions) {
        (Some(files), Some(additions), Some(deletions)) => Some((files, additions, deletions)),
        _ => None,
    };
    let (Some((files, additions, deletions)), Some(again)) = (counts(before), counts(after)) else {
        return Err(Unproven::NoCounts);
    };
    if before.merge_base.as_deref().is_none_or(str::is_empty) {
        return Err(Unproven::NoCounts);
    }
    if again != (files, additions, deletions) {
        return Err(Unproven::Moved {
            what: "changed-file counts",
        });
    }
    let parsed = parse(body)?;
    let sum = |f: fn(&FileChange) -> u64| {
        parsed
            .iter()
            .map(f)
            .fold(0u64, |total, n| total.saturating_add(n))
    };
    for (what, diff, pull) in [
        ("files", parsed.len() as u64, files),
        ("added lines", sum(|f| f.additions), additions),
        ("deleted lines", sum(|f| f.deletions), deletions),
    ] {
        if diff != pull {
            return Err(Unproven::Count { what, diff, pull });
        }
    }
    Ok(parsed)
}

/// One file of the diff while it is read.
#[derive(Debug, Default)]
struct Entry {
    /// From the `diff --git` line, when it can be split unambiguously.
    header: Option<(String, String)>,
    /// From `--- ` / `+++ ` (`None` inside: `/dev/null`).
    minus: Option<Option<String>>,
    plus: Option<Option<String>>,
    rename: (Option<String>, Option<String>),
    copy: (Option<String>, Option<String>),
    created: bool,
    deleted: bool,
    /// An `index` line was read.
    index: bool,
    /// Any line after `diff --git` was read (git always writes one).
    body: bool,
    additions: u64,
    deletions: u64,
}

impl Entry {
    fn finish(self, line: usize) -> Result<FileChange, Unproven> {
        let malformed = |why: &str| Unproven::Malformed {
            line,
            why: why.to_owned(),
        };
        if !self.body {
            return Err(malformed("a `diff --git` line with nothing after it"));
        }
        if (self.created || self.deleted) && !self.index {
            return Err(malformed("a new or deleted file without its `index` line"));
        }
        let (old, new) = match (&self.rename, &self.copy) {
            ((Some(from), Some(to)), _) | (_, (Some(from), Some(to))) => (from.clone(), to.clone()),
            ((None, None), (None, None)) => {
                let side = |named: Option<Option<String>>| named.flatten();
                match (self.header.clone(), side(self.minus), side(self.plus)) {
                    (Some(pair), _, _) => pair,
                    (None, Some(old), Some(new)) => (old, new),
                    (None, Some(old), None) => (old.clone(), old),
                    (None, None, Some(new)) => (new.clone(), new),
                    (None, None, None) => {
                        return Err(malformed("the file's name cannot be told from its header"))
                    }
                }
            }
            _ => return Err(malformed("a rename or copy without both of its paths")),
        };
        let renamed = self.rename.0.is_some();
        let copied = self.copy.0.is_some();
        let (status, path, previous) = if self.deleted {
            (ChangeKind::Deleted, new, None)
        } else if self.created {
            (ChangeKind::Added, new, None)
        } else if copied {
            (ChangeKind::Copied, new, None)
        } else if renamed {
            (ChangeKind::Renamed, new, Some(old))
        } else if self.additions == 0 && self.deletions == 0 {
            (ChangeKind::Unchanged, new, None)
        } else {
            (ChangeKind::Changed, new, None)
        };
        if path.is_empty() {
            return Err(malformed("an empty path"));
        }
        Ok(FileChange {
            path,
            previous,
            status,
            additions: self.additions,
            deletions: self.deletions,
        })
    }
}

/// Every file of a unified diff as git writes it (`git diff -p`, default `a/` `b/`
/// prefixes), in order; an empty body is no files.
pub fn parse(body: &[u8]) -> Result<Vec<FileChange>, Unproven> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    if body.last() != Some(&b'\n') {
        return Err(Unproven::Malformed {
            line: body.split(|b| *b == b'\n').count(),
            why: "the last line is cut off (no final newline)".into(),
        });
    }
    let lines: Vec<&[u8]> = body[..body.len() - 1].split(|b| *b == b'\n').collect();
    let mut files = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let number = at + 1;
        let malformed = |why: String| Unproven::Malformed { line: number, why };
        let Some(rest) = lines[at].strip_prefix(b"diff --git ") else {
            return Err(malformed("expected a `diff --git` line".into()));
        };
        let mut entry = Entry {
            header: header_names(rest).map_err(malformed)?,
            ..Entry::default()
        };
        at += 1;
        at = extended_headers(&lines, at, &mut entry)?;
        files.push(entry.finish(number)?);
    }
    Ok(files)
}

/// The extended header lines, then `---`/`+++` and the hunks or a `Binary files` line;
/// returns the index of the next file's `diff --git` line (or the end).
fn extended_headers(lines: &[&[u8]], mut at: usize, entry: &mut Entry) -> Result<usize, Unproven> {
    while at < lines.len() {
        let line = lines[at];
        let number = at + 1;
        let malformed = move |why: String| Unproven::Malformed { line: number, why };
        if line.starts_with(b"diff --git ") {
            return Ok(at);
        }
        at += 1;
        entry.body = true;
        if line.starts_with(b"index ") {
            entry.index = true;
        }
        if let Some(path) = line.strip_prefix(b"rename from ") {
            entry.rename.0 = Some(plain_path(path).map_err(malformed)?);
        } else if let Some(path) = line.strip_prefix(b"rename to ") {
            entry.rename.1 = Some(plain_path(path).map_err(malformed)?);
        } else if let Some(path) = line.strip_prefix(b"copy from ") {
            entry.copy.0 = Some(plain_path(path).map_err(malformed)?);
        } else if let Some(path) = line.strip_prefix(b"copy to ") {
            entry.copy.1 = Some(plain_path(path).map_err(malformed)?);
        } else if line.starts_with(b"new file mode ") {
            entry.created = true;
        } else if line.starts_with(b"deleted file mode ") {
            entry.deleted = true;
        } else if [
            &b"old mode "[..],
            b"new mode ",
            b"index ",
            b"similarity index ",
            b"dissimilarity index ",
        ]
        .iter()
        .any(|p| line.starts_with(p))
        {
        } else if line.starts_with(b"Binary files ") && line.ends_with(b" differ") {
            // Nothing follows for this file; its names are the header's or the rename's.
            return Ok(at);
        } else if let Some(name) = line.strip_prefix(b"--- ") {
            entry.minus = Some(side_path(name, b"a/").map_err(malformed)?);
            let next = lines.get(at).copied().unwrap_or_default();
            let Some(name) = next.strip_prefix(b"+++ ") else {
                return Err(Unproven::Malformed {
                    line: at + 1,
                    why: "a `---` line not followed by `+++`".into(),
                });
            };
            entry.plus = Some(
                side_path(name, b"b/").map_err(|why| Unproven::Malformed { line: at + 1, why })?,
            );
            return hunks(lines, at + 1, entry);
        } else {
            return Err(malformed(format!(
                "unexpected line in a file header: `{}`",
                shown(line)
            )));
        }
    }
    Ok(at)
}

/// The hunks of one file from `at`; returns the index after its last hunk.
fn hunks(lines: &[&[u8]], mut at: usize, entry: &mut Entry) -> Result<usize, Unproven> {
    let mut any = false;
    while at < lines.len() {
        let line = lines[at];
        if line.starts_with(b"diff --git ") && any {
            return Ok(at);
        }
        let Some((mut old, mut new)) = hunk_header(line) else {
            return Err(Unproven::Malformed {
                line: at + 1,
                why: format!("expected a hunk (`@@ … @@`): `{}`", shown(line)),
            });
        };
        any = true;
        at += 1;
        while old > 0 || new > 0 {
            let Some(line) = lines.get(at) else {
                return Err(Unproven::Malformed {
                    line: at + 1,
                    why: "the diff ends inside a hunk".into(),
                });
            };
            match line.first() {
                Some(b' ') if old > 0 && new > 0 => {
                    old -= 1;
                    new -= 1;
                }
                Some(b'-') if old > 0 => {
                    old -= 1;
                    entry.deletions += 1;
                }
                Some(b'+') if new > 0 => {
                    new -= 1;
                    entry.additions += 1;
                }
                // "\ No newline at end of file" inside the hunk.
                Some(b'\\') => {}
                _ => {
                    return Err(Unproven::Malformed {
                        line: at + 1,
                        why: format!(
                            "the hunk's line counts do not match its lines at `{}`",
                            shown(line)
                        ),
                    })
                }
            }
            at += 1;
        }
        // "\ No newline at end of file" after the hunk's last line.
        while lines.get(at).is_some_and(|l| l.starts_with(b"\\")) {
            at += 1;
        }
    }
    if any {
        Ok(at)
    } else {
        Err(Unproven::Malformed {
            line: at + 1,
            why: "the diff ends after `+++` with no hunk".into(),
        })
    }
}

/// `@@ -o[,a] +n[,b] @@…` → `(a, b)` (a count left out is 1).
fn hunk_header(line: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(line.strip_prefix(b"@@ -")?).ok()?;
    let (ranges, _) = text.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let count = |range: &str| -> Option<u64> {
        match range.split_once(',') {
            Some((start, count)) => {
                start.parse::<u64>().ok()?;
                count.parse().ok()
            }
            None => range.parse::<u64>().ok().map(|_| 1),
        }
    };
    Some((count(old)?, count(new)?))
}

/// A `---`/`+++` name: `/dev/null`, or `prefix` + path, maybe quoted; git appends a tab
/// to a name with a space in it.
fn side_path(name: &[u8], prefix: &[u8]) -> Result<Option<String>, String> {
    if name == b"/dev/null" {
        return Ok(None);
    }
    let name = if name.first() == Some(&b'"') {
        let (text, rest) = unquote(name)?;
        if !rest.is_empty() && rest != b"\t" {
            return Err(format!("text after a quoted name: `{}`", shown(name)));
        }
        text
    } else {
        name.strip_suffix(b"\t").unwrap_or(name).to_vec()
    };
    let Some(path) = name.strip_prefix(prefix) else {
        return Err(format!(
            "a name without its `{}` prefix: `{}`",
            shown(prefix),
            shown(&name)
        ));
    };
    utf8(path).map(Some)
}

/// A path of `rename from/to`, `copy from/to`: no prefix, maybe quoted.
fn plain_path(path: &[u8]) -> Result<String, String> {
    if path.first() == Some(&b'"') {
        let (text, rest) = unquote(path)?;
        if !rest.is_empty() {
            return Err(format!("text after a quoted path: `{}`", shown(path)));
        }
        utf8(&text)
    } else {
        utf8(path)
    }
}

/// The two names of `diff --git a/OLD b/NEW`. `None` when they cannot be split: unquoted
/// names with spaces that differ (a rename's, told by its `rename from/to` lines).
fn header_names(rest: &[u8]) -> Result<Option<(String, String)>, String> {
    let strip = |name: &[u8], prefix: &[u8]| -> Result<String, String> {
        match name.strip_prefix(prefix) {
            Some(path) => utf8(path),
            None => Err(format!(
                "a `diff --git` name without its `{}` prefix: `{}`",
                shown(prefix),
                shown(name)
            )),
        }
    };
    if rest.first() == Some(&b'"') {
        let (old, after) = unquote(rest)?;
        let Some(new) = after.strip_prefix(b" ") else {
            return Err(format!("no second name in `diff --git {}`", shown(rest)));
        };
        let new = if new.first() == Some(&b'"') {
            let (new, tail) = unquote(new)?;
            if !tail.is_empty() {
                return Err(format!("text after the names: `{}`", shown(rest)));
            }
            new
        } else {
            new.to_vec()
        };
        return Ok(Some((strip(&old, b"a/")?, strip(&new, b"b/")?)));
    }
    // An unquoted old name followed by a quoted new one.
    if rest.last() == Some(&b'"') {
        let mut at = rest.len();
        while let Some(found) = rest[..at].iter().rposition(|b| *b == b'"') {
            if found > 0 && rest[found - 1] == b' ' {
                if let Ok((new, tail)) = unquote(&rest[found..]) {
                    if tail.is_empty() {
                        return Ok(Some((
                            strip(&rest[..found - 1], b"a/")?,
                            strip(&new, b"b/")?,
                        )));
                    }
                }
            }
            at = found;
        }
    }
    // Both unquoted: split where both halves name the same path (git apply's rule); a
    // rename or copy with spaces names its paths on its own lines.
    if rest.len() % 2 == 1 {
        let half = rest.len() / 2;
        let (old, new) = (&rest[..half], &rest[half + 1..]);
        if rest[half] == b' ' && old.get(2..) == new.get(2..) {
            return Ok(Some((strip(old, b"a/")?, strip(new, b"b/")?)));
        }
    }
    let spaces = rest.iter().filter(|b| **b == b' ').count();
    if spaces == 1 {
        if let Some((old, new)) = rest.split_once_byte(b' ') {
            return Ok(Some((strip(old, b"a/")?, strip(new, b"b/")?)));
        }
    }
    Ok(None)
}

trait SplitOnce {
    fn split_once_byte(&self, at: u8) -> Option<(&[u8], &[u8])>;
}

impl SplitOnce for [u8] {
    fn split_once_byte(&self, at: u8) -> Option<(&[u8], &[u8])> {
        let i = self.iter().position(|b| *b == at)?;
        Some((&self[..i], &self[i + 1..]))
    }
}

/// A C-quoted name as git writes it (`"…"` with `\a \b \t \n \v \f \r \" \\` and octal
/// `\ooo` bytes), and what follows the closing quote.
fn unquote(text: &[u8]) -> Result<(Vec<u8>, &[u8]), String> {
    let bad = || format!("a badly quoted name: `{}`", shown(text));
    let mut out = Vec::new();
    let mut i = 1;
    loop {
        let Some(&byte) = text.get(i) else {
            return Err(bad());
        };
        i += 1;
        match byte {
            b'"' => return Ok((out, &text[i..])),
            b'\\' => {
                let Some(&escaped) = text.get(i) else {
                    return Err(bad());
                };
                i += 1;
                out.push(match escaped {
                    b'a' => 0x07,
                    b'b' => 0x08,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'v' => 0x0b,
                    b'f' => 0x0c,
                    b'r' => b'\r',
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'0'..=b'3' => {
                        let digits = text.get(i..i + 2).ok_or_else(bad)?;
                        if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                            return Err(bad());
                        }
                        i += 2;
                        ((escaped - b'0') << 6) | ((digits[0] - b'0') << 3) | (digits[1] - b'0')
                    }
                    _ => return Err(bad()),
                });
            }
            other => out.push(other),
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| format!("a path that is not UTF-8: `{}`", shown(bytes)))
}

/// A line for a message: lossy, at most 120 characters.
fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::{PrBranch, User};
    use proptest::prelude::*;

    /// `git diff -p` of a real repository (git 2.39, `core.quotePath false` as Gitea sets
    /// it): a rename with spaces (100 %), a deletion, a binary change, an empty file
    /// renamed, a new file without a final newline, a mode change, a rename out of `auth/`
    /// with one added line, a quoted name with a tab and a quote, a new non-ASCII name
    /// with spaces. `git diff --shortstat`: 9 files changed, 4 insertions(+), 2 deletions(-).
    const SAMPLE: &[u8] = include_bytes!("testdata/git-2.x.diff");

    fn change(
        status: ChangeKind,
        path: &str,
        previous: Option<&str>,
        a: u64,
        d: u64,
    ) -> FileChange {
        FileChange {
            path: path.into(),
            previous: previous.map(str::to_owned),
            status,
            additions: a,
            deletions: d,
        }
    }

    #[test]
    fn a_real_git_diff_reads_as_gitea_lists_it() {
        use ChangeKind::*;
        assert_eq!(
            parse(SAMPLE).expect("the sample parses"),
            vec![
                change(Renamed, "docs/new name.md", Some("docs/old name.md"), 0, 0),
                change(Deleted, "gone.txt", None, 0, 2),
                change(Unchanged, "logo.png", None, 0, 0),
                change(Renamed, "new empty.txt", Some("empty-old"), 0, 0),
                change(Added, "nonl.txt", None, 1, 0),
                change(Unchanged, "script.sh", None, 0, 0),
                change(Renamed, "src-login.rs", Some("auth/login.rs"), 1, 0),
                change(Changed, "we\tird\"q.txt", None, 1, 0),
                change(Added, "ünï côde.md", None, 1, 0),
            ]
        );
    }

    /// One hand-written file per row: the diff text and what it must read as.
    #[test]
    fn header_forms() {
        use ChangeKind::*;
        let rows: &[(&str, FileChange)] = &[
            (
                "diff --git a/new empty b/new empty\nnew file mode 100644\nindex 0000000..e69de29\n",
                change(Added, "new empty", None, 0, 0),
            ),
            (
                "diff --git a/old empty b/old empty\ndeleted file mode 100644\nindex e69de29..0000000\n",
                change(Deleted, "old empty", None, 0, 0),
            ),
            (
                "diff --git a/script.sh \"b/sc\\tript.sh\"\nsimilarity index 100%\nrename from script.sh\nrename to \"sc\\tript.sh\"\n",
                change(Renamed, "sc\tript.sh", Some("script.sh"), 0, 0),
            ),
            (
                "diff --git \"a/caf\\303\\251\" \"b/caf\\303\\251\"\nindex 1..2 100644\n--- \"a/caf\\303\\251\"\n+++ \"b/caf\\303\\251\"\n@@ -1,2 +1 @@\n-x\n-y\n+z\n",
                change(Changed, "café", None, 1, 2),
            ),
            (
                "diff --git a/bin b/bin\nnew file mode 100644\nindex 0000000..1\nBinary files /dev/null and b/bin differ\n",
                change(Added, "bin", None, 0, 0),
            ),
            (
                "diff --git a/a b/c b/a b/c\nindex 1..2 100644\n--- a/a b/c\t\n+++ b/a b/c\t\n@@ -1 +1 @@\n-1\n+2\n",
                change(Changed, "a b/c", None, 1, 1),
            ),
            (
                "diff --git a/x y b/z w\nsimilarity index 90%\nrename from x y\nrename to z w\nindex 1..2 100644\n--- a/x y\t\n+++ b/z w\t\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -10 +10,0 @@\n-gone\n",
                change(Renamed, "z w", Some("x y"), 1, 2),
            ),
            (
                "diff --git a/sub b/sub\nindex 1111111..2222222 160000\n--- a/sub\n+++ b/sub\n@@ -1 +1 @@\n-Subproject commit 1111111111111111111111111111111111111111\n+Subproject commit 2222222222222222222222222222222222222222\n",
                change(Changed, "sub", None, 1, 1),
            ),
        ];
        for (text, want) in rows {
            assert_eq!(parse(text.as_bytes()), Ok(vec![want.clone()]), "{text}");
        }
        assert_eq!(parse(b""), Ok(Vec::new()));
    }

    /// A diff cut anywhere is never accepted: [`parse`] finds it malformed, or [`prove`]
    /// finds fewer files or lines than the pull request's counts.
    #[test]
    fn every_cut_of_the_sample_is_refused() {
        let pr = pull(9, 4, 2);
        for cut in 0..SAMPLE.len() {
            let proven = prove(&SAMPLE[..cut], &pr, &pr);
            assert!(
                matches!(
                    proven,
                    Err(Unproven::Malformed { .. } | Unproven::Count { .. })
                ),
                "cut at {cut}: {proven:?}"
            );
        }
    }

    #[test]
    fn malformed_diffs() {
        for (text, why) in [
            ("hello\n", "expected a `diff --git` line"),
            (
                "diff --git a/x b/x\nindex 1..2\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n",
                "the diff ends inside a hunk",
            ),
            (
                "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+c\n",
                "expected a hunk",
            ),
            ("diff --git a/x b/x\n--- a/x\n+++ b/x\n", "no hunk"),
            (
                "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n\n",
                "do not match its lines",
            ),
            (
                "diff --git a/x b/x\nGIT binary patch\n",
                "unexpected line in a file header",
            ),
            ("diff --git x x\nindex 1..2\n", "without its `a/` prefix"),
            ("diff --git \"a/x b/x\n", "badly quoted"),
            (
                "diff --git \"a/\\377\" \"b/\\377\"\nnew file mode 100644\n",
                "not UTF-8",
            ),
            (
                "diff --git a/x y b/z w\nnew file mode 100644\nindex 0000000..1\n",
                "cannot be told",
            ),
            ("diff --git a/x b/x\nrename from x\n", "both of its paths"),
            ("diff --git a/x b/x\nnew file mode 100644", "cut off"),
            ("diff --git a/x b/x\n", "nothing after it"),
            (
                "diff --git a/x b/x\ndeleted file mode 100644\n",
                "without its `index` line",
            ),
        ] {
            match parse(text.as_bytes()) {
                Err(Unproven::Malformed { why: got, .. }) => {
                    assert!(got.contains(why), "{text:?}: {got}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    fn pull(files: u64, additions: u64, deletions: u64) -> PullRequest {
        let branch = |sha: &str| PrBranch {
            git_ref: "b".into(),
            sha: sha.into(),
            repo_id: 1,
        };
        PullRequest {
            number: 1,
            state: "open".into(),
            merged: false,
            user: User {
                id: 1,
                login: "alice".into(),
                full_name: String::new(),
                email: String::new(),
            },
            head: branch(&"1".repeat(40)),
            base: branch(&"2".repeat(40)),
            labels: Vec::new(),
            title: String::new(),
            html_url: String::new(),
            merge_base: Some("3".repeat(40)),
            changed_files: Some(files),
            additions: Some(additions),
            deletions: Some(deletions),
        }
    }

    #[test]
    fn prove_holds_the_diff_to_the_pull_request() {
        let pr = pull(9, 4, 2);
        assert_eq!(prove(SAMPLE, &pr, &pr).map(|f| f.len()), Ok(9));
        let count = |what, diff, pull| Err(Unproven::Count { what, diff, pull });
        assert_eq!(
            prove(SAMPLE, &pull(10, 4, 2), &pull(10, 4, 2)),
            count("files", 9, 10)
        );
        assert_eq!(
            prove(SAMPLE, &pull(9, 5, 2), &pull(9, 5, 2)),
            count("added lines", 4, 5)
        );
        assert_eq!(
            prove(SAMPLE, &pull(9, 4, 1), &pull(9, 4, 1)),
            count("deleted lines", 2, 1)
        );
        let mut moved = pr.clone();
        moved.head.sha = "4".repeat(40);
        assert_eq!(
            prove(SAMPLE, &pr, &moved),
            Err(Unproven::Moved { what: "head" })
        );
        let mut rebased = pr.clone();
        rebased.merge_base = Some("5".repeat(40));
        assert_eq!(
            prove(SAMPLE, &pr, &rebased),
            Err(Unproven::Moved { what: "merge base" })
        );
        assert_eq!(
            prove(SAMPLE, &pr, &pull(9, 4, 3)),
            Err(Unproven::Moved {
                what: "changed-file counts"
            })
        );
        let mut silent = pr.clone();
        silent.changed_files = None;
        assert_eq!(prove(SAMPLE, &silent, &silent), Err(Unproven::NoCounts));
        let mut no_base = pr.clone();
        no_base.merge_base = None;
        assert_eq!(prove(SAMPLE, &no_base, &no_base), Err(Unproven::NoCounts));
        // The empty diff of an empty pull request.
        assert_eq!(prove(b"", &pull(0, 0, 0), &pull(0, 0, 0)), Ok(Vec::new()));
        // The cap's message names it.
        assert_eq!(
            Unproven::Count {
                what: "files",
                diff: 1,
                pull: 2
            }
            .to_string(),
            "the diff has 1 files, the pull request says 2"
        );
    }

    // ---- property: what git writes reads back as the files list ----------------------

    /// A file as a test draws it: what the files list says, plus how git shows it.
    #[derive(Debug, Clone)]
    struct Drawn {
        change: FileChange,
        /// A binary file (no line counts): `Binary files … differ`.
        binary: bool,
    }

    /// git's C-quoting of a name when it needs it (`core.quotePath false`).
    fn quote(name: &str) -> String {
        if !name
            .bytes()
            .any(|b| b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f)
        {
            return name.to_owned();
        }
        // Only ASCII is escaped; the rest of the name is copied as is.
        let mut s = String::from("\"");
        let mut rest = name;
        while let Some(c) = rest.chars().next() {
            let b = c as u32;
            if c.is_ascii() && (b < 0x20 || c == '"' || c == '\\' || b == 0x7f) {
                match c {
                    '\t' => s.push_str("\\t"),
                    '\n' => s.push_str("\\n"),
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    _ => s.push_str(&format!("\\{b:03o}")),
                }
            } else {
                s.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
        s.push('"');
        s
    }

    fn side(prefix: &str, name: &str) -> String {
        let quoted = quote(&format!("{prefix}{name}"));
        if !quoted.starts_with('"') && name.contains(' ') {
            format!("{quoted}\t")
        } else {
            quoted
        }
    }

    /// The file as `git diff -p` writes it.
    fn render(drawn: &Drawn) -> String {
        let f = &drawn.change;
        let old = f.previous.clone().unwrap_or_else(|| f.path.clone());
        let mut out = format!(
            "diff --git {} {}\n",
            quote(&format!("a/{old}")),
            quote(&format!("b/{}", f.path))
        );
        let (minus, plus) = match f.status {
            ChangeKind::Added => {
                out.push_str("new file mode 100644\nindex 0000000..1111111\n");
                ("/dev/null".to_owned(), side("b/", &f.path))
            }
            ChangeKind::Deleted => {
                out.push_str("deleted file mode 100644\nindex 1111111..0000000\n");
                (side("a/", &f.path), "/dev/null".to_owned())
            }
            ChangeKind::Renamed => {
                out.push_str(&format!(
                    "similarity index 90%\nrename from {}\nrename to {}\n",
                    quote(&old),
                    quote(&f.path)
                ));
                if f.lines() == 0 {
                    return out;
                }
                out.push_str("index 1111111..2222222 100644\n");
                (side("a/", &old), side("b/", &f.path))
            }
            _ if f.lines() == 0 && !drawn.binary => {
                out.push_str("old mode 100644\nnew mode 100755\n");
                return out;
            }
            _ => {
                out.push_str("index 1111111..2222222 100644\n");
                (side("a/", &f.path), side("b/", &f.path))
            }
        };
        if drawn.binary {
            let name = |s: &str| s.trim_end_matches('\t').to_owned();
            out.push_str(&format!(
                "Binary files {} and {} differ\n",
                name(&minus),
                name(&plus)
            ));
            return out;
        }
        if f.lines() == 0 {
            // An empty file added or deleted: no `---`/`+++`.
            return out.lines().take(3).map(|l| format!("{l}\n")).collect();
        }
        out.push_str(&format!("--- {minus}\n+++ {plus}\n"));
        // One hunk per 3 deleted lines, the added lines spread over them, with context.
        let (mut a, mut d) = (f.additions, f.deletions);
        let mut line = 1;
        while a > 0 || d > 0 {
            let take_d = d.min(3);
            let take_a = if d <= 3 { a } else { a.min(2) };
            d -= take_d;
            a -= take_a;
            let ctx = u64::from(f.status != ChangeKind::Added && f.status != ChangeKind::Deleted);
            out.push_str(&format!(
                "@@ -{line},{} +{line},{} @@ fn x()\n",
                take_d + ctx,
                take_a + ctx
            ));
            if ctx == 1 {
                out.push_str(" same\n");
            }
            for _ in 0..take_d {
                out.push_str("-old\n");
            }
            for _ in 0..take_a {
                out.push_str("+new\n");
            }
            if a == 0 && d == 0 && line % 2 == 0 {
                out.push_str("\\ No newline at end of file\n");
            }
            line += 10;
        }
        out
    }

    fn name() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            "[a-z]{1,8}",
            "[a-z]{1,3} [a-z]{1,3}",
            "[a-z]{1,3}[\t\"\\\\][a-z]{1,3}",
            "[é ü]{1,3}[a-z]{0,2}",
            Just("b".to_owned()),
            Just("a b".to_owned()),
        ];
        proptest::collection::vec(part, 1..4).prop_map(|parts| parts.join("/"))
    }

    fn drawn() -> impl Strategy<Value = Drawn> {
        (name(), name(), 0u8..6, 0u64..9, 0u64..9, any::<bool>()).prop_map(
            |(path, old, kind, a, d, binary)| {
                let (status, previous, a, d) = match kind {
                    0 => (ChangeKind::Added, None, a, 0),
                    1 => (ChangeKind::Deleted, None, 0, d),
                    2 if old != path => (ChangeKind::Renamed, Some(old), a, d),
                    _ if binary || a + d == 0 => (ChangeKind::Unchanged, None, 0, 0),
                    _ => (ChangeKind::Changed, None, a, d),
                };
                let binary = binary && status != ChangeKind::Renamed;
                let (a, d) = if binary { (0, 0) } else { (a, d) };
                let status = match status {
                    ChangeKind::Changed if a + d == 0 => ChangeKind::Unchanged,
                    s => s,
                };
                Drawn {
                    change: FileChange {
                        path,
                        previous,
                        status,
                        additions: a,
                        deletions: d,
                    },
                    binary,
                }
            },
        )
    }

    proptest! {
        #[test]
        fn what_git_writes_reads_as_the_files_list(files in proptest::collection::vec(drawn(), 0..12)) {
            let text: String = files.iter().map(render).collect();
            let want: Vec<FileChange> = files.iter().map(|f| f.change.clone()).collect();
            prop_assert_eq!(parse(text.as_bytes()), Ok(want), "{}", text);
        }
    }
}
