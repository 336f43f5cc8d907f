//! What stops a review-fire run before its verdict, beyond what every mode shares (config,
//! forge, git): each variant names what could not be verified, carries its facts, and has
//! one code and one next step.

use crate::code::Code;

/// Why the teams' member lists could not be trusted; it decides the next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeRefusal {
    /// Gitea named a scope the read token lacks.
    MissingScope,
    /// 403 "Must be a team member" for these teams: the account may not see their members.
    NotTeamMember { teams: Vec<String> },
    /// Some other 401 or 403.
    Forbidden,
    /// No refusal: the answers could not be trusted (5xx, timeout, malformed).
    Untrusted,
}

/// A review-fire run that could not verify (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot verify the teams of `{org}`: team(s) {teams} are not among the teams the read \
         token's account `{login}` can see in `{org}` (visible: {visible})"
    )]
    TeamsNotVisible {
        org: String,
        login: String,
        /// The invisible teams, each in backticks, comma-separated.
        teams: String,
        visible: String,
    },

    #[error("cannot verify team membership: a team's member list did not finish: {why}")]
    ProbeUnfinished { why: String },

    #[error(
        "cannot verify team membership in `{org}`: the member list of {} team(s) could not \
         be read: {}; first: {first}",
        failed.len(),
        failed.join(", ")
    )]
    MembershipUnreadable {
        org: String,
        /// The read token's account.
        reader: String,
        /// `team (status)` for each team whose member list could not be read.
        failed: Vec<String>,
        first: String,
        refusal: ProbeRefusal,
    },

    #[error(
        "cannot verify the status token: SHIPGATE_STATUS_TOKEN is the same token as \
         SHIPGATE_TOKEN, and `review.allow_single_token` is false: the credential that computes \
         a verdict must not be the one that posts it"
    )]
    StatusTokenIsReadToken,

    #[error(
        "cannot verify the status token: SHIPGATE_STATUS_TOKEN and SHIPGATE_TOKEN are both \
         tokens of `{login}` (GET /user), and `review.allow_single_token` is false: the account \
         that computes a verdict must not be the one that posts it"
    )]
    StatusAccountIsReadAccount {
        /// The one account both tokens belong to.
        login: String,
    },

    #[error(
        "cannot verify the status token: SHIPGATE_STATUS_TOKEN is not set, and \
         `review.allow_single_token` is false: the read token is never used to post"
    )]
    StatusTokenMissing {
        /// Started by the action: the `status-token` input reached it empty.
        via_action: bool,
    },

    #[error("cannot verify the status token: no client to post with")]
    NoStatusClient,

    #[error(
        "cannot verify a stable head for pull request #{number}: the head moved twice while the \
         gates were decided (now `{now}`); nothing was posted"
    )]
    HeadMoving { number: u64, now: String },

    #[error("cannot verify the workflow `{path}` at the head `{head}`: {why}")]
    WorkflowUnreadable {
        path: String,
        head: String,
        why: String,
    },
}

const STATUS_TOKEN_HINT: &str = "set SHIPGATE_STATUS_TOKEN (the action's status token) to a \
    write:repository + read:user token of another account than the read token's, or set \
    `review.allow_single_token: true` in the base branch's .gitea/shipgate.yml to accept one \
    token for both";

impl Error {
    /// The stable code of this failure.
    pub fn code(&self) -> Code {
        match self {
            Error::TeamsNotVisible { .. } => Code::ReviewTeamsUnreadable,
            Error::ProbeUnfinished { .. } | Error::MembershipUnreadable { .. } => {
                Code::ReviewMembershipUnreadable
            }
            Error::StatusTokenIsReadToken
            | Error::StatusAccountIsReadAccount { .. }
            | Error::StatusTokenMissing { .. }
            | Error::NoStatusClient => Code::ReviewStatusToken,
            Error::HeadMoving { .. } => Code::ReviewHeadMoving,
            Error::WorkflowUnreadable { .. } => Code::ReviewWorkflowUnreadable,
        }
    }

    /// What could not be verified, for an `error` status's description.
    pub fn subject(&self) -> String {
        match self {
            Error::TeamsNotVisible { org, .. } => format!("the teams of {org}"),
            Error::ProbeUnfinished { .. } => "team membership".into(),
            Error::MembershipUnreadable { org, .. } => format!("team membership in {org}"),
            Error::StatusTokenIsReadToken
            | Error::StatusAccountIsReadAccount { .. }
            | Error::StatusTokenMissing { .. }
            | Error::NoStatusClient => "the status token".into(),
            Error::HeadMoving { number, .. } => {
                format!("a stable head for pull request #{number}")
            }
            Error::WorkflowUnreadable { path, head, .. } => {
                format!("the workflow {path} at the head {head}")
            }
        }
    }

    /// The operator's next step.
    pub fn hint(&self) -> String {
        match self {
            Error::TeamsNotVisible { org, login, .. } => format!(
                "if the team exists, let `{login}` see it: add `{login}` to it, make `{login}` an \
                 owner of `{org}`, or (Gitea 1.27 and later) set the team's visibility to public \
                 or limited; if it does not, fix the team name in .gitea/shipgate.yml"
            ),
            Error::ProbeUnfinished { .. } => "re-run the job".into(),
            Error::MembershipUnreadable {
                org,
                reader,
                refusal,
                ..
            } => match refusal {
                ProbeRefusal::MissingScope => format!(
                    "token provisioning: the read token (SHIPGATE_TOKEN, account `{reader}`) needs \
                     the read:organization scope to see team members; org membership is never \
                     credited instead"
                ),
                ProbeRefusal::NotTeamMember { teams } => {
                    let teams = teams
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!(
                        "token provisioning: Gitea lets only a team's members, an owner of `{org}` \
                         or a site admin see who is in a team (it answers 403 \"Must be a team \
                         member\"): add the read token's account `{reader}` to the team(s) {teams} \
                         of `{org}`, or make `{reader}` an owner of `{org}`; org membership is \
                         never credited instead"
                    )
                }
                ProbeRefusal::Forbidden => "token provisioning: the read token (SHIPGATE_TOKEN) \
                    needs the read:organization scope, and its owner must be a member of every \
                    team it checks (Gitea answers 403 \"Must be a team member\" otherwise); org \
                    membership is never credited instead"
                    .into(),
                ProbeRefusal::Untrusted => "the teams' member lists did not get an answer \
                    shipgate can trust; check the server and re-run; org membership is never \
                    credited instead"
                    .into(),
            },
            Error::StatusTokenIsReadToken
            | Error::StatusAccountIsReadAccount { .. }
            | Error::StatusTokenMissing { via_action: false } => STATUS_TOKEN_HINT.into(),
            Error::StatusTokenMissing { via_action: true } => format!(
                "the action's `status-token` input reached shipgate empty: {}",
                crate::error::EMPTY_SECRET
            ),
            Error::NoStatusClient => "set SHIPGATE_STATUS_TOKEN".into(),
            Error::HeadMoving { .. } => "the push that moved it triggers its own run; re-run this \
                job or comment a recheck command once pushes settle"
                .into(),
            Error::WorkflowUnreadable { .. } => {
                "fix the workflow file; Gitea cannot run it either".into()
            }
        }
    }
}

crate::error::mode_error!(Error);

#[cfg(test)]
mod tests {
    use super::{Error, ProbeRefusal};

    /// Every variant's whole message and `error`-status subject, and a code of the
    /// review family.
    #[test]
    fn every_message_whole() {
        let table: Vec<(Error, &str, &str)> = vec![
            (
                Error::TeamsNotVisible {
                    org: "acme".into(),
                    login: "reader".into(),
                    teams: "`qa`".into(),
                    visible: "none".into(),
                },
                "cannot verify the teams of `acme`: team(s) `qa` are not among the teams the read \
                 token's account `reader` can see in `acme` (visible: none)",
                "the teams of acme",
            ),
            (
                Error::ProbeUnfinished { why: "cancelled".into() },
                "cannot verify team membership: a team's member list did not finish: cancelled",
                "team membership",
            ),
            (
                Error::MembershipUnreadable {
                    org: "acme".into(),
                    reader: "reader".into(),
                    failed: vec!["qa (403)".into(), "security (500)".into()],
                    first: "boom".into(),
                    refusal: ProbeRefusal::Untrusted,
                },
                "cannot verify team membership in `acme`: the member list of 2 team(s) could not \
                 be read: qa (403), security (500); first: boom",
                "team membership in acme",
            ),
            (
                Error::StatusTokenIsReadToken,
                "cannot verify the status token: SHIPGATE_STATUS_TOKEN is the same token as \
                 SHIPGATE_TOKEN, and `review.allow_single_token` is false: the credential that \
                 computes a verdict must not be the one that posts it",
                "the status token",
            ),
            (
                Error::StatusAccountIsReadAccount {
                    login: "gate-reader".into(),
                },
                "cannot verify the status token: SHIPGATE_STATUS_TOKEN and SHIPGATE_TOKEN are both \
                 tokens of `gate-reader` (GET /user), and `review.allow_single_token` is false: \
                 the account that computes a verdict must not be the one that posts it",
                "the status token",
            ),
            (
                Error::StatusTokenMissing { via_action: false },
                "cannot verify the status token: SHIPGATE_STATUS_TOKEN is not set, and \
                 `review.allow_single_token` is false: the read token is never used to post",
                "the status token",
            ),
            (
                Error::NoStatusClient,
                "cannot verify the status token: no client to post with",
                "the status token",
            ),
            (
                Error::HeadMoving {
                    number: 5,
                    now: "abc1234".into(),
                },
                "cannot verify a stable head for pull request #5: the head moved twice while the \
                 gates were decided (now `abc1234`); nothing was posted",
                "a stable head for pull request #5",
            ),
            (
                Error::WorkflowUnreadable {
                    path: ".gitea/workflows/qa.yml".into(),
                    head: "abc1234".into(),
                    why: "not YAML".into(),
                },
                "cannot verify the workflow `.gitea/workflows/qa.yml` at the head `abc1234`: not YAML",
                "the workflow .gitea/workflows/qa.yml at the head abc1234",
            ),
        ];
        for (error, message, subject) in table {
            crate::error::assert_mode_error(&error, message, "review");
            assert_eq!(error.subject(), subject);
        }
    }

    /// The next step follows why the member lists could not be read.
    #[test]
    fn the_membership_hint_follows_the_refusal() {
        let hint = |refusal| {
            Error::MembershipUnreadable {
                org: "acme".into(),
                reader: "reader".into(),
                failed: vec!["qa (403)".into()],
                first: "403".into(),
                refusal,
            }
            .hint()
        };
        assert_eq!(
            hint(ProbeRefusal::MissingScope),
            "token provisioning: the read token (SHIPGATE_TOKEN, account `reader`) needs the \
             read:organization scope to see team members; org membership is never credited instead"
        );
        assert_eq!(
            hint(ProbeRefusal::NotTeamMember {
                teams: vec!["qa".into(), "security".into()]
            }),
            "token provisioning: Gitea lets only a team's members, an owner of `acme` or a site \
             admin see who is in a team (it answers 403 \"Must be a team member\"): add the read \
             token's account `reader` to the team(s) `qa`, `security` of `acme`, or make `reader` \
             an owner of `acme`; org membership is never credited instead"
        );
        assert!(hint(ProbeRefusal::Forbidden)
            .contains("needs the read:organization scope, and its owner must be a member"));
        assert!(hint(ProbeRefusal::Untrusted)
            .starts_with("the teams' member lists did not get an answer"));
    }
}
