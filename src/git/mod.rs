//! gix plumbing for sync: fetch, merge planning inputs, in-memory merge, native push.

/// A git operation that failed before a verdict.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("git: {detail}")]
    Other { detail: String },
}

impl Error {
    pub fn title(&self) -> &'static str {
        "git"
    }

    pub fn hint(&self) -> String {
        "re-run with -v for details".into()
    }
}
