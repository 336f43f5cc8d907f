//! Mode `sync`: keep `to` (staging) a superset of `from` (main).

use crate::{arguments::SyncArgs, Error, Invocation, Outcome};

/// Run the sync mode.
pub async fn run(_invocation: &Invocation, _args: &SyncArgs) -> Result<Outcome, Error> {
    Err(Error::CannotVerify {
        what: "sync".into(),
        why: "not implemented yet".into(),
        hint: "this build of shipgate has no sync mode".into(),
    })
}
