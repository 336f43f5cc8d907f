//! gix plumbing for sync: fetch exactly what a plan needs, ancestry facts, the in-memory
//! merge and commit, and a native push (send-pack) over smart HTTP.
//!
//! Everything here is blocking (gix's HTTP transport runs its own client thread): call
//! it through [`blocking`], off the async runtime.

pub mod branch;
mod error;
pub mod fetch;
pub mod graph;
pub mod merge;
pub mod push;
pub mod remote;
pub mod workspace;

pub use error::{Error, Phase, RUNBOOK_TOKEN};
pub use remote::Remote;
pub use workspace::Workspace;

/// Run blocking git work off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, crate::Error> + Send + 'static,
) -> Result<T, crate::Error> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => Err(Error::Worker { why: e.to_string() }.into()),
    }
}
