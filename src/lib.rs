//! shipgate: fail-closed ship gates for Gitea and Forgejo Actions.
//!
//! Every mode follows the same shape: **gather** facts (event, config, API reads, git
//! objects), **decide** with a pure function, **act** (labels, statuses, push) and
//! **report** (exit code, annotations, step summary, outputs). A read that fails ends the
//! run before any write.

pub mod arguments;
pub mod code;
pub mod config;
pub mod context;
pub mod doctor;
pub mod error;
pub mod forge;
pub mod git;
pub mod glob;
pub mod invocation;
pub mod output;
pub mod promote;
pub mod report;
pub mod retarget;
pub mod review;
mod run;
pub mod sha;
pub mod sync;
pub mod tier;
mod tls;

pub use code::Code;
pub use error::Error;
pub use invocation::Invocation;
pub use report::{Mode, Outcome, Verdict};
pub use run::run;
