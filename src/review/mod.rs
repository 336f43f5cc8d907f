//! Mode `review-fire`: fire the review gates after genuine approvals.

use crate::{arguments::ReviewArgs, Error, Invocation, Outcome};

/// Run the review-fire mode.
pub async fn run(_invocation: &Invocation, _args: &ReviewArgs) -> Result<Outcome, Error> {
    Err(Error::CannotVerify {
        what: "review-fire".into(),
        why: "not implemented yet".into(),
        hint: "this build of shipgate has no review-fire mode".into(),
    })
}
