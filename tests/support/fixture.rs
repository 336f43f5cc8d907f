//! The pull request most tests are about, in one place: #7 in `acme/app`, by `alice`, from
//! `feature` at [`head`] into `main` at [`base`]; [`old`] is a head it had before.

use super::fake_gitea::PrSpec;

pub const REPO: &str = "acme/app";
pub const PR: u64 = 7;

/// The pull request's head commit.
pub fn head() -> String {
    "a".repeat(40)
}

/// Its base commit (`main`'s tip).
pub fn base() -> String {
    "b".repeat(40)
}

/// A head it had before (approvals of it are stale).
pub fn old() -> String {
    "c".repeat(40)
}

/// PR #7 as [`PrSpec`]: open, by `alice`, `feature` at [`head`] into `main` at [`base`].
pub fn pr() -> PrSpec {
    PrSpec {
        number: PR,
        author: "alice".into(),
        head_sha: head(),
        base_sha: base(),
        base_ref: "main".into(),
        head_ref: "feature".into(),
        ..PrSpec::default()
    }
}
