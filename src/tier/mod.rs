//! Mode `tier`: one risk tier label per pull request.

use crate::{arguments::TierArgs, Error, Invocation, Outcome};

/// Run the tier mode.
pub async fn run(_invocation: &Invocation, _args: &TierArgs) -> Result<Outcome, Error> {
    Err(Error::CannotVerify {
        what: "tier".into(),
        why: "not implemented yet".into(),
        hint: "this build of shipgate has no tier mode".into(),
    })
}
