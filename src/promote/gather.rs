//! promote's gather step: both tips, S's containment of `to` through the compare API,
//! S's statuses, `to`'s protection contexts and the open promotion PR, all before the
//! first write.

use crate::{arguments::Via, forge, Error};

use super::{
    error::Error as PromoteError,
    plan::{self, Evidence},
    session::{Gathered, Session},
};

impl Session<'_> {
    /// Every read of one attempt, before anything is written. When the server's compare
    /// API only takes branch names (Gitea 1.22 answers 404 `BaseNotExist` for a commit
    /// id), the branches are compared by name and read again: the answer only counts if
    /// neither tip moved meanwhile.
    pub(super) async fn gather(&self) -> Result<Gathered, Error> {
        const ROUNDS: u32 = 3;
        for _ in 0..ROUNDS {
            if let Some(gathered) = self.gather_once().await? {
                return Ok(gathered);
            }
            tracing::warn!("a branch moved while the tips were compared by name; reading again");
        }
        Err(PromoteError::AncestryUnknown {
            from: self.from.clone(),
            to: self.to.clone(),
            rounds: ROUNDS,
        }
        .into())
    }

    pub(super) async fn gather_once(&self) -> Result<Option<Gathered>, Error> {
        let (to_branch, from_branch) = tokio::try_join!(
            self.client.branch(&self.repo, &self.to),
            self.client.branch(&self.repo, &self.from),
        )?;
        let (s, m) = (from_branch.commit.id.clone(), to_branch.commit.id.clone());
        let compare = async {
            if s == m {
                return Ok((0, false));
            }
            // The commits of main that S lacks: 0 means main is an ancestor of S.
            match self.client.compare(&self.repo, &s, &m).await {
                Ok(compare) => Ok((compare.total_commits, false)),
                Err(forge::Error::NotFound { .. }) => self
                    .client
                    .compare(&self.repo, &self.from, &self.to)
                    .await
                    .map(|compare| (compare.total_commits, true)),
                Err(e) => Err(e),
            }
        };
        let pulls = async {
            match self.via {
                Via::PullRequest if s != m => self.client.open_pulls(&self.repo).await.map(Some),
                _ => Ok(None),
            }
        };
        let ((behind, by_name), statuses, pulls) =
            tokio::try_join!(compare, self.client.statuses(&self.repo, &s), pulls)?;
        if by_name {
            let (to_now, from_now) = tokio::try_join!(
                self.client.branch(&self.repo, &self.to),
                self.client.branch(&self.repo, &self.from),
            )?;
            if to_now.commit.id != m || from_now.commit.id != s {
                return Ok(None);
            }
        }
        let newest = crate::forge::newest_by_context(&statuses);
        let mut statuses: Vec<plan::Status> = newest
            .values()
            .map(|status| plan::Status {
                context: status.context.clone(),
                state: status.status.clone(),
            })
            .collect();
        statuses.sort_by(|a, b| a.context.cmp(&b.context));
        let protection: Vec<String> = if to_branch.protected && to_branch.enable_status_check {
            to_branch.status_check_contexts.clone().unwrap_or_default()
        } else {
            Vec::new()
        };
        let requirements = plan::requirements(&self.config.promote.required_contexts, &protection);
        let can_schedule = self.via == Via::PullRequest
            && self.config.promote.schedule
            && plan::protection_covers(&requirements);
        let pr = pulls.and_then(|pulls| {
            pulls.into_iter().find(|p| {
                p.head.git_ref == self.from
                    && p.base.git_ref == self.to
                    && (p.head.repo_id == 0 || p.head.repo_id == p.base.repo_id)
            })
        });
        Ok(Some(Gathered {
            facts: Evidence {
                from_tip: s,
                to_tip: m,
                to_in_from: behind == 0,
                requirements,
                statuses,
                can_schedule,
            },
            pr,
            behind,
        }))
    }
}
