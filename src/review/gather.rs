//! Reads for a decision: reviews, labels, the token's login, the org's teams and one
//! membership probe per (approver, team). Any read that fails ends the run as
//! cannot-verify before anything is written; a 404 probe alone is a finding.

use std::collections::BTreeMap;

use crate::{
    config::{Config, Gate},
    context::RepoRef,
    forge::{self, Client, PullRequest, Team, User},
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

/// Read reviews, labels and teams, reduce, and probe every needed membership. `reader` is
/// the read token's login when this run already asked `GET /user` for it.
pub async fn gather(
    read: &Client,
    repo: &RepoRef,
    pr: &PullRequest,
    config: &Config,
    gates: &[Gate],
    reader: Option<&User>,
) -> Result<Gathered, Error> {
    let org = config
        .review
        .org
        .clone()
        .unwrap_or_else(|| repo.owner.clone());
    let (user, reviews, labels, org_teams) = tokio::try_join!(
        async {
            match reader {
                Some(known) => Ok(known.clone()),
                None => read.current_user().await,
            }
        },
        read.pull_reviews(repo, pr.number),
        read.issue_labels(repo, pr.number),
        read.org_teams(&org),
    )?;
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
    let teams = probe(
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

/// One probe per (approver, needed team that exists). 200/204 member, 404 verified
/// non-member, anything else fails the whole run, listing every failed pair.
pub async fn probe(
    read: &Client,
    reader: &str,
    org: &str,
    org_teams: &[Team],
    needed: &[String],
    approvers: &[String],
) -> Result<Teams, Error> {
    let mut teams = Teams {
        org: org.to_owned(),
        visible: org_teams.iter().map(|t| t.name.clone()).collect(),
        members: BTreeMap::new(),
    };
    let mut pairs: Vec<(String, String, i64)> = Vec::new();
    for login in approvers {
        for name in needed {
            if let Some(team) = org_teams.iter().find(|t| t.name.eq_ignore_ascii_case(name)) {
                pairs.push((login.clone(), team.name.to_ascii_lowercase(), team.id));
            }
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (login, _, id)) in pairs.iter().enumerate() {
        let client = read.clone();
        let login = login.clone();
        let id = *id;
        tasks.spawn(async move { (index, client.is_team_member(id, &login).await) });
    }
    let mut results: Vec<(usize, Result<bool, forge::Error>)> = Vec::with_capacity(pairs.len());
    while let Some(joined) = tasks.join_next().await {
        let (index, result) =
            joined.map_err(|e| ReviewError::ProbeUnfinished { why: e.to_string() })?;
        results.push((index, result));
    }
    results.sort_by_key(|(index, _)| *index);
    let mut failed: Vec<String> = Vec::new();
    let mut forbidden = false;
    let mut missing_scope = false;
    let mut unreadable_teams: Vec<String> = Vec::new();
    let mut first_error: Option<String> = None;
    for (index, result) in results {
        let (login, team, _) = &pairs[index];
        match result {
            Ok(true) => {
                teams
                    .members
                    .entry(login.to_ascii_lowercase())
                    .or_default()
                    .insert(team.clone());
            }
            Ok(false) => {}
            Err(e) => {
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
                failed.push(format!("{login}:{team} ({})", short_error(&e)));
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    // `first_error` is set with the first entry of `failed`: none means every probe answered.
    let Some(first) = first_error else {
        return Ok(teams);
    };
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
    Err(ReviewError::MembershipUnreadable {
        org: org.to_owned(),
        reader: reader.to_owned(),
        failed,
        first,
        refusal,
    }
    .into())
}
