//! promote's act step: `--via pull-request` finds or opens one PR and merges it
//! fast-forward-only with `head_commit_id` = S, so Gitea itself refuses a moved head;
//! `--via push` pushes S natively with `to`'s read tip as the expected old value. A
//! branch that moved is a race ([`Acted::Raced`]): the run gathers again.

use std::time::Duration;

use crate::{
    arguments::Via,
    forge::{self, MergeOptions, Merged},
    git::{
        push::{Answer, Pusher},
        Workspace,
    },
    sha::short,
    sync::plan::{classify_rejection, PushRefusal},
    Error,
};

use super::{
    error::Error as PromoteError,
    plan::{self, Check, Plan, Refusal},
    session::{Acted, Done, Gathered, Promotion, Session},
};

/// Retries of a merge Gitea answers "try again later" (mergeability not computed yet).
const NOT_READY_RETRIES: u32 = 5;

impl Session<'_> {
    pub(super) async fn act(
        &self,
        plan: &Plan,
        rows: &[Check],
        gathered: &Gathered,
    ) -> Result<Acted, Error> {
        if let Some(outcome) = self.verdict(plan, gathered)? {
            if let (Plan::Waiting { .. }, Via::PullRequest) = (plan, self.via) {
                // Open the promotion PR while waiting: checks and reviews that run on
                // pull requests (review-fire's gates on S, the tier label) can only
                // appear once it exists, and main's protection may require them.
                return Ok(match self.open_pull(rows, gathered).await? {
                    Ok((pr, opened)) => Acted::Done(Done::Decided(
                        outcome.field("pr", pr.number).reason(format!(
                            "{} the promotion pull request #{} so the checks and reviews that run on pull requests can reach `{}`",
                            if opened { "opened" } else { "kept" },
                            pr.number,
                            short(&gathered.facts.from_tip)
                        )),
                    )),
                    Err(why) => Acted::Raced(why),
                });
            }
            return Ok(Acted::Done(Done::Decided(outcome)));
        }
        let schedule = matches!(plan, Plan::Schedule { .. });
        match self.via {
            Via::PullRequest => self.merge(rows, gathered, schedule).await,
            Via::Push => self.push(gathered).await,
        }
    }

    /// `--via pull-request`: find or open the PR, then merge it fast-forward-only with
    /// `head_commit_id` = S (or schedule that merge).
    pub(super) async fn merge(
        &self,
        rows: &[Check],
        gathered: &Gathered,
        schedule: bool,
    ) -> Result<Acted, Error> {
        let s = gathered.facts.from_tip.clone();
        let pr = match self.open_pull(rows, gathered).await? {
            Ok((pr, _)) => pr,
            Err(why) => return Ok(Acted::Raced(why)),
        };
        let options = MergeOptions {
            style: "fast-forward-only".into(),
            head_commit_id: s.clone(),
            merge_when_checks_succeed: schedule,
        };
        let mut tries = 0;
        let merged = loop {
            tries += 1;
            let refusal = match self
                .client
                .merge_pull(&self.repo, pr.number, &options)
                .await
            {
                Ok(merged) => break merged,
                Err(forge::Error::NotAllowed { message, .. }) => (405, message),
                Err(forge::Error::Conflict { message, .. }) => (409, message),
                Err(e) => return Err(e.into()),
            };
            let (status, message) = refusal;
            if schedule
                && status == 409
                && message.to_ascii_lowercase().contains("already scheduled")
            {
                break Merged::Scheduled;
            }
            match plan::classify_refusal(status, &message) {
                Refusal::Moved => {
                    return Ok(Acted::Raced(format!(
                        "Gitea refused to merge #{} at {}: {message} (HTTP {status})",
                        pr.number,
                        short(&s)
                    )))
                }
                Refusal::NotReady if tries <= NOT_READY_RETRIES => {
                    tracing::debug!(tries, "mergeability not computed yet; retrying");
                    tokio::time::sleep(Duration::from_millis(300 * u64::from(tries))).await;
                }
                Refusal::NotReady | Refusal::Refused => {
                    return Ok(Acted::Done(Done::MergeRefused {
                        pr: pr.number,
                        status,
                        message,
                    }));
                }
            }
        };
        match merged {
            Merged::Scheduled if schedule => Ok(Acted::Done(Done::Scheduled { pr: pr.number })),
            Merged::Scheduled => {
                Err(PromoteError::MergeScheduledUnasked { number: pr.number }.into())
            }
            Merged::Now => {
                let now = self.client.branch(&self.repo, &self.to).await?;
                if now.commit.id != s {
                    return Err(PromoteError::MergeLandedElsewhere {
                        to: self.to.clone(),
                        number: pr.number,
                        at: short(&now.commit.id).to_owned(),
                        expected: short(&s).to_owned(),
                    }
                    .into());
                }
                Ok(Acted::Done(Done::Promoted(Promotion::Merged {
                    pr: pr.number,
                })))
            }
        }
    }

    /// The open promotion PR, or a new one (`true`); `Err` with the reason when another
    /// appeared while opening one (a race: gather again).
    pub(super) async fn open_pull(
        &self,
        rows: &[Check],
        gathered: &Gathered,
    ) -> Result<Result<(forge::PullRequest, bool), String>, Error> {
        if let Some(pr) = &gathered.pr {
            return Ok(Ok((pr.clone(), false)));
        }
        let s = &gathered.facts.from_tip;
        let title = plan::title(&self.config.promote.title, &self.from, &self.to, s);
        let body = plan::body(&self.from, &self.to, s, rows);
        match self
            .client
            .create_pull(&self.repo, &self.from, &self.to, &title, &body)
            .await
        {
            Ok(pr) => Ok(Ok((pr, true))),
            Err(forge::Error::Conflict { message, .. }) => Ok(Err(format!(
                "another promotion pull request appeared while opening one ({message})"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// `--via push`: a native push of S to `to`, with its read tip as the expected value.
    pub(super) async fn push(&self, gathered: &Gathered) -> Result<Acted, Error> {
        let remote = self.remote.clone().ok_or(PromoteError::NoRemote)?;
        let parse = |sha: &str| {
            gix::ObjectId::from_hex(sha.as_bytes()).map_err(|e| PromoteError::BadTip {
                sha: sha.to_owned(),
                why: e.to_string(),
            })
        };
        let (s, m) = (
            parse(&gathered.facts.from_tip)?,
            parse(&gathered.facts.to_tip)?,
        );
        let (from, to) = (self.from.clone(), self.to.clone());
        let result = crate::git::blocking(move || {
            let pusher = Pusher::connect(&remote)?;
            let (adv_to, adv_from) = (pusher.tip(&to), pusher.tip(&from));
            if adv_to != Some(m) || adv_from != Some(s) {
                return Ok(Err(format!(
                    "the git server shows `{to}` at {} and `{from}` at {}, not the {} and {} the API showed",
                    adv_to.map_or("nothing".into(), |id| short(&id.to_string()).to_owned()),
                    adv_from.map_or("nothing".into(), |id| short(&id.to_string()).to_owned()),
                    short(&m.to_string()),
                    short(&s.to_string()),
                )));
            }
            let workspace = Workspace::temporary()?;
            let pushed = pusher.push(workspace.repo(), &to, m, s, &[])?;
            Ok::<_, Error>(Ok(pushed))
        })
        .await?;
        let pushed = match result {
            Ok(pushed) => pushed,
            Err(why) => return Ok(Acted::Raced(why)),
        };
        match pushed.status {
            Answer::Accepted => Ok(Acted::Done(Done::Promoted(Promotion::Pushed))),
            Answer::Rejected { reason } => match classify_rejection(&reason, &pushed.messages) {
                PushRefusal::Moved => Ok(Acted::Raced(format!(
                    "the push was refused because `{}` moved ({reason})",
                    self.to
                ))),
                kind => Ok(Acted::Done(Done::PushRejected {
                    reason,
                    messages: pushed.messages,
                    protected: kind == PushRefusal::Protected,
                })),
            },
        }
    }
}
