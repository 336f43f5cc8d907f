//! Mode `promote`: move `to` (main) forward to `from`'s (staging's) head S once every
//! required context is `success` on S — fast-forward only, never forced.
//!
//! Gather (`gather.rs`: both tips, S's containment of main through the compare API, S's
//! statuses, main's protection contexts, the open promotion PR) → decide
//! ([`plan::decide`], pure) → act (`act.rs`: `--via pull-request`: find or open one PR
//! and merge it fast-forward-only with `head_commit_id` = S, so Gitea itself refuses a
//! moved head; `--via push`: a native push of S with main's read tip as the expected old
//! value) → report (`report.rs`). A race re-plans up to `promote.max_attempts` times.
//! Every read happens before the first write.

mod act;
mod error;
mod gather;
pub mod plan;
mod report;
mod session;

use std::time::{Duration, Instant};

use crate::{
    arguments::{PromoteArgs, Via},
    config::Config,
    context::RepoRef,
    git::Remote,
    report::Mode,
    sha::short,
    Error, Invocation, Outcome,
};

use plan::Plan;
use session::{Acted, Done, Session};

/// Run the promote mode.
pub async fn run(invocation: &Invocation, args: &PromoteArgs) -> Result<Outcome, Error> {
    let client =
        invocation.client("promote reads the branches and statuses, and merges with it")?;
    let repo = invocation.ctx.require_repo()?.clone();
    let config = match &invocation.config_path {
        Some(path) => Config::load(path)?,
        None => {
            let default_branch = client.repository(&repo).await?.default_branch;
            invocation
                .base_config(&client, &repo, &default_branch)
                .await?
        }
    };
    let from = args
        .from
        .clone()
        .unwrap_or_else(|| config.promote.from.clone());
    let to = args.to.clone().unwrap_or_else(|| config.promote.to.clone());
    crate::git::branch::validate_pair(&from, &to)?;
    let remote = match args.via {
        Via::Push => Some(push_remote(invocation, args, &repo)?),
        Via::PullRequest => None,
    };
    let session = Session {
        invocation,
        client,
        repo,
        config,
        from,
        to,
        via: args.via,
        remote,
    };
    session.run(args).await
}

fn push_remote(
    invocation: &Invocation,
    args: &PromoteArgs,
    repo: &RepoRef,
) -> Result<Remote, Error> {
    let token = invocation
        .ctx
        .require_token("promote --via push pushes with it")?
        .clone();
    let url = match &args.remote {
        Some(url) => url.clone(),
        None => format!("{}/{repo}.git", invocation.ctx.require_server()?),
    };
    Ok(Remote::new(&url, token)?.with_connect_timeout(invocation.forge_options.connect_timeout))
}

impl Session<'_> {
    async fn run(&self, args: &PromoteArgs) -> Result<Outcome, Error> {
        let max_attempts = self.config.promote.max_attempts.max(1);
        let wait = args.wait.unwrap_or(Duration::ZERO);
        let deadline = Instant::now() + wait;
        let mut attempt = 0u32;
        let mut polls = 0u32;
        let mut notes: Vec<String> = Vec::new();
        loop {
            attempt += 1;
            let gathered = self.gather().await?;
            let (plan, rows) = plan::decide(&gathered.facts);
            // Only a plan that must wait polls: a scheduled merge leaves the waiting to
            // Gitea at once (its protection requires every context promote needs), so
            // the job ends instead of holding a runner for `--wait`.
            if matches!(plan, Plan::Waiting { .. }) {
                let left = deadline.saturating_duration_since(Instant::now());
                if !left.is_zero() {
                    polls += 1;
                    if self.via == Via::PullRequest
                        && !self.invocation.dry_run
                        && gathered.pr.is_none()
                    {
                        // Open the promotion PR before waiting, so the checks and reviews
                        // that run on pull requests can arrive during the wait.
                        if let Ok((pr, _)) = self.open_pull(&rows, &gathered).await? {
                            notes.push(format!(
                                "opened the promotion pull request #{} before waiting",
                                pr.number
                            ));
                        }
                    }
                    let missing = match &plan {
                        Plan::Waiting { missing } => missing.join(", "),
                        _ => String::new(),
                    };
                    crate::report::progress(
                        Mode::Promote,
                        &format!(
                            "poll {polls}: waiting for {missing} on `{}` at {}; {}s left",
                            self.from,
                            short(&gathered.facts.from_tip),
                            left.as_secs()
                        ),
                    );
                    tokio::time::sleep(args.poll.min(left).max(Duration::from_millis(10))).await;
                    // A poll is not a race: it does not use up an attempt.
                    attempt -= 1;
                    continue;
                }
            }
            if polls > 0 {
                notes.push(format!("polled {polls} time(s) while checks were pending"));
            }
            let acted = if self.invocation.dry_run {
                Acted::Done(Done::Decided(self.dry_run(&plan, &gathered)))
            } else {
                self.act(&plan, &rows, &gathered).await?
            };
            match acted {
                Acted::Raced(why) => {
                    notes.push(format!("attempt {attempt}: {why}"));
                    if attempt >= max_attempts {
                        return Ok(self.raced(&gathered, &rows, attempt, notes));
                    }
                    tracing::warn!("{why}; gathering again (attempt {attempt} of {max_attempts})");
                }
                Acted::Done(done) => {
                    let outcome = self.done(done, &gathered);
                    return Ok(self.finish(outcome, &plan, &rows, attempt, notes));
                }
            }
        }
    }
}
