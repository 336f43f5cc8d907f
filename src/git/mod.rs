//! gix plumbing for sync: fetch exactly what a plan needs, ancestry facts, the in-memory
//! merge and commit, and a native push (send-pack) over smart HTTP.
//!
//! Everything here is blocking (gix's HTTP transport runs its own client thread): call
//! it from `tokio::task::spawn_blocking`.

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
