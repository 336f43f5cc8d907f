//! Mode `sync`: keep `to` (staging) a superset of `from` (main) — fast-forward or merge,
//! then push natively, never forcing.
//!
//! - gather ([`gather`]): branches, remote, whose token it is, the merge author;
//! - decide ([`plan`], pure): up to date, fast-forward, merge, conflict or unrelated, from
//!   the facts one attempt read;
//! - act ([`act`], blocking, gix): read the tips, fetch what the plan needs, plan, merge in
//!   memory, push with the tip read as the lease; re-read and re-plan when `to` moved;
//! - report ([`report`]).

pub mod act;
mod error;
mod gather;
pub mod plan;
mod report;

use crate::{arguments::SyncArgs, git, Error, Invocation, Outcome};
use act::Request;

/// Run the sync mode.
pub async fn run(invocation: &Invocation, args: &SyncArgs) -> Result<Outcome, Error> {
    let config = invocation.local_config()?;
    let (from, to) = gather::branches(&config, args)?;
    let remote = gather::remote(invocation, args)?;
    let user = gather::token_user(invocation, &config, args.check_token).await?;

    if args.check_token {
        let probe = remote.clone();
        git::blocking(move || {
            git::push::Pusher::connect(&probe)
                .map(|_| ())
                .map_err(Error::from)
        })
        .await?;
        // Gitea serves the advertisement to a read-only account too (it refuses the push
        // later, in its hook): the account's repository permission is what proves write.
        let repo = invocation.ctx.require_repo()?;
        let permissions = invocation
            .client("sync --check-token reads the account's permission on the repository")?
            .repository(repo)
            .await?
            .permissions
            .ok_or_else(|| crate::forge::Error::Protocol {
                request: format!("GET /repos/{repo}"),
                detail: "the answer has no `permissions`: the token's access cannot be told".into(),
            })?;
        return Ok(report::token_checked(user.as_ref(), &remote, permissions));
    }

    let mut author = gather::Author::new(invocation, &config, user.clone(), &remote);
    let request = Request {
        remote,
        from: from.clone(),
        to: to.clone(),
        message: config.sync.message.clone(),
        max_attempts: config.sync.max_attempts.max(1),
        dry_run: invocation.dry_run,
        git_dir: args.git_dir.clone(),
        initial_depth: 64,
        filters: true,
    };
    let report = git::blocking(move || act::sync(&request, &mut || author.identity())).await?;
    Ok(report::outcome(&report, &from, &to, &config, user.as_ref()))
}
