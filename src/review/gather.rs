//! Reads for a decision: reviews, labels, the token's login, the org's teams, then, when
//! someone approved, one member list per needed team (never one probe per approver and
//! team). Any read that fails ends the run as cannot-verify before anything is written;
//! a 404 member list alone is a finding (nobody in that team is verified).

use crate::{
    config::{Config, Gate},
    context::RepoRef,
    forge::{self, Client, Label, PullRequest, Review, Team, User},
    Error,
};

use super::{
    approval::{self, Eligibility, Reduction},
    error::ProbeRefusal,
    verdict::{self, Teams},
    Error as ReviewError,
};

/// Everything read for one head.
#[derive(Debug, Clone)]
pub struct Gathered {
    pub labels: Vec<String>,
    pub reduction: Reduction,
    pub teams: Teams,
}

/// The short form of a forge error for lists (`carol:qa (403)`).
pub fn short_error(error: &forge::Error) -> String {
    match error {
        forge::Error::Unauthorized { .. } => "401".into(),
        forge::Error::Forbidden { .. } => "403".into(),
        forge::Error::NotFound { .. } => "404".into(),
        forge::Error::NotAllowed { .. } => "405".into(),
        forge::Error::Conflict { .. } => "409".into(),
        forge::Error::Unprocessable { .. } => "422".into(),
        forge::Error::Transient { detail, .. } => {
            if detail.starts_with("HTTP ") {
                detail.split(':').next().unwrap_or(detail).to_owned()
            } else {
                "unreachable".into()
            }
        }
        forge::Error::Protocol { .. } => "bad response".into(),
        forge::Error::Setup { .. } => "setup".into(),
    }
}

/// The reads that need only the PR and the policy: the reviews, the labels and the org's
/// teams, made together ([`read`]).
#[derive(Debug)]
pub struct Reads {
    reviews: Vec<Review>,
    labels: Vec<Label>,
    org: String,
    org_teams: Vec<Team>,
}

/// Read the reviews, the labels and the org's teams at once; the caller asks the read
/// token's account beside them.
pub async fn read(
    read: &Client,
    repo: &RepoRef,
    pr: &PullRequest,
    config: &Config,
) -> Result<Reads, Error> {
    let org = config
        .review
        .org
        .clone()
        .unwrap_or_else(|| repo.owner.clone());
    let (reviews, labels, org_teams) = tokio::try_join!(
        read.pull_reviews(repo, pr.number),
        read.issue_labels(repo, pr.number),
        read.org_teams(&org),
    )?;
    Ok(Reads {
        reviews,
        labels,
        org,
        org_teams,
    })
}

/// From what [`read`] got and the read token's account `user`: reduce the reviews, check
/// every needed team is visible, and list every needed team's members.
pub async fn gather(
    read: &Client,
    repo: &RepoRef,
    pr: &PullRequest,
    config: &Config,
    gates: &[Gate],
    reads: Reads,
    user: &User,
) -> Result<Gathered, Error> {
    let Reads {
        reviews,
        labels,
        org,
        org_teams,
    } = reads;
    let mut ids: Vec<i64> = reviews.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(Error::Forge(forge::Error::Protocol {
            request: format!("GET /repos/{repo}/pulls/{}/reviews", pr.number),
            detail: format!(
                "review id {} is listed twice: the pages overlapped while the list changed, so \
                 another row may be missing",
                pair[0]
            ),
        }));
    }
    let labels: Vec<String> = labels.into_iter().map(|l| l.name).collect();
    let facts = Eligibility {
        head: &pr.head.sha,
        author: &pr.user.login,
        token_login: &user.login,
        bots: &config.review.bots,
    };
    let reduction = approval::reduce(&reviews, &facts);
    let needed = verdict::needed_teams(config, &labels, gates);
    // A team the read token cannot see is not a verified absence: Gitea 1.27 hides private
    // teams (its new default) from org members who are neither in them nor owners, so
    // "not in the list" may mean "not visible to this account".
    let invisible: Vec<&String> = needed
        .iter()
        .filter(|name| !org_teams.iter().any(|t| t.name.eq_ignore_ascii_case(name)))
        .collect();
    if !invisible.is_empty() {
        let names = invisible
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let visible = org_teams
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ReviewError::TeamsNotVisible {
            org,
            login: user.login.clone(),
            teams: names,
            visible: if visible.is_empty() {
                "none".to_owned()
            } else {
                visible
            },
        }
        .into());
    }
    let teams = memberships(
        read,
        &user.login,
        &org,
        &org_teams,
        &needed,
        &reduction.approvers,
    )
    .await?;
    Ok(Gathered {
        labels,
        reduction,
        teams,
    })
}

/// One member list per needed team, read only when someone approved: `GET
/// /teams/{id}/members`, every page, all teams at once. A 404 leaves that team with no
/// verified member (as a 404 membership probe did: a verified non-member); any other
/// failure fails the whole run, listing every team that could not be read.
pub async fn memberships(
    read: &Client,
    reader: &str,
    org: &str,
    org_teams: &[Team],
    needed: &[String],
    approvers: &[String],
) -> Result<Teams, Error> {
    let visible: Vec<String> = org_teams.iter().map(|t| t.name.clone()).collect();
    if approvers.is_empty() {
        return Ok(Teams::from_lists(org, visible, approvers, &[]));
    }
    let mut listed: Vec<(String, i64)> = Vec::new();
    for name in needed {
        if let Some(team) = org_teams.iter().find(|t| t.name.eq_ignore_ascii_case(name)) {
            if !listed.iter().any(|(_, id)| *id == team.id) {
                listed.push((team.name.to_ascii_lowercase(), team.id));
            }
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (_, id)) in listed.iter().enumerate() {
        let client = read.clone();
        let id = *id;
        tasks.spawn(async move { (index, client.team_members(id).await) });
    }
    let mut results: Vec<(usize, Result<Vec<User>, forge::Error>)> =
        Vec::with_capacity(listed.len());
    while let Some(joined) = tasks.join_next().await {
        let (index, result) =
            joined.map_err(|e| ReviewError::ProbeUnfinished { why: e.to_string() })?;
        results.push((index, result));
    }
    results.sort_by_key(|(index, _)| *index);
    let mut lists: Vec<(String, Vec<String>)> = Vec::with_capacity(listed.len());
    let mut failures: Vec<(String, forge::Error)> = Vec::new();
    for (index, result) in results {
        let team = listed[index].0.clone();
        match result {
            Ok(users) => lists.push((team, users.into_iter().map(|u| u.login).collect())),
            Err(forge::Error::NotFound { .. }) => lists.push((team, Vec::new())),
            Err(e) => failures.push((team, e)),
        }
    }
    if failures.is_empty() {
        return Ok(Teams::from_lists(org, visible, approvers, &lists));
    }
    Err(unreadable(org, reader, &failures).into())
}

/// Why the member lists that failed cannot be trusted, and what to do: a missing scope,
/// 403 "Must be a team member" (the account may not see those teams' members), another
/// 401/403, or no answer to trust.
fn unreadable(org: &str, reader: &str, failures: &[(String, forge::Error)]) -> ReviewError {
    let mut forbidden = false;
    let mut missing_scope = false;
    let mut unreadable_teams: Vec<String> = Vec::new();
    for (team, e) in failures {
        forbidden |= matches!(
            e,
            forge::Error::Forbidden { .. } | forge::Error::Unauthorized { .. }
        );
        missing_scope |= e.is_missing_scope();
        if matches!(e, forge::Error::Forbidden { .. })
            && !e.is_missing_scope()
            && !unreadable_teams.contains(team)
        {
            unreadable_teams.push(team.clone());
        }
    }
    let refusal = if missing_scope {
        ProbeRefusal::MissingScope
    } else if !unreadable_teams.is_empty() {
        ProbeRefusal::NotTeamMember {
            teams: unreadable_teams,
        }
    } else if forbidden {
        ProbeRefusal::Forbidden
    } else {
        ProbeRefusal::Untrusted
    };
    ReviewError::MembershipUnreadable {
        org: org.to_owned(),
        reader: reader.to_owned(),
        failed: failures
            .iter()
            .map(|(team, e)| format!("{team} ({})", short_error(e)))
            .collect(),
        first: failures
            .first()
            .map(|(_, e)| e.to_string())
            .unwrap_or_default(),
        refusal,
    }
}
