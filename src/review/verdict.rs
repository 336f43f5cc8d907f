//! Pure gate evaluation: the reduced reviews, the PR's labels, verified team memberships
//! and the policy in; one state and description per gate out, with the reasons. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    config::{self, Config, Gate},
    tier::vocabulary::{self, Carried, Tier},
};

use super::approval::Reduction;

/// A commit status state shipgate posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Success,
    Pending,
    Failure,
    Error,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Success => "success",
            State::Pending => "pending",
            State::Failure => "failure",
            State::Error => "error",
        }
    }
}

/// Longest description posted; Gitea stores more, but UIs cut long ones.
pub const MAX_DESCRIPTION: usize = 255;

/// Cut a description to [`MAX_DESCRIPTION`] characters, marking the cut.
pub fn fit(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_DESCRIPTION - 1).collect();
    cut.push('…');
    cut
}

/// What the organisation's teams say, as far as it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Teams {
    /// The organisation.
    pub org: String,
    /// Names of every team the token can see.
    pub visible: Vec<String>,
    /// Verified memberships: login (lower case) → team names (lower case). Pairs not
    /// listed were either verified non-members or never asked.
    pub members: BTreeMap<String, BTreeSet<String>>,
}

impl Teams {
    /// The memberships of `approvers`, as the needed teams' member lists say. `lists` pairs
    /// each listed team's name with the logins of all its members, so an approver a list
    /// leaves out is a verified non-member of that team; a team not in `lists` credits
    /// nobody. Only approvers are kept: no one else's membership is decided on.
    pub fn from_lists(
        org: &str,
        visible: Vec<String>,
        approvers: &[String],
        lists: &[(String, Vec<String>)],
    ) -> Teams {
        let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for login in approvers {
            for (team, logins) in lists {
                if logins.iter().any(|m| m.eq_ignore_ascii_case(login)) {
                    members
                        .entry(login.to_ascii_lowercase())
                        .or_default()
                        .insert(team.to_ascii_lowercase());
                }
            }
        }
        Teams {
            org: org.to_owned(),
            visible,
            members,
        }
    }

    pub fn exists(&self, team: &str) -> bool {
        self.visible.iter().any(|t| t.eq_ignore_ascii_case(team))
    }

    pub fn is_member(&self, login: &str, team: &str) -> bool {
        self.members
            .get(&login.to_ascii_lowercase())
            .is_some_and(|teams| teams.contains(&team.to_ascii_lowercase()))
    }

    fn member_of(&self, login: &str) -> Vec<String> {
        self.members
            .get(&login.to_ascii_lowercase())
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn missing_text(&self, team: &str) -> String {
        let visible = if self.visible.is_empty() {
            "none".to_owned()
        } else {
            self.visible.join(", ")
        };
        format!("team {team} not found in {} (visible: {visible})", self.org)
    }
}

/// Which tier the PR carries, read as `tier` reads it.
fn carried(labels: &[String], config: &Config) -> Carried {
    vocabulary::carried(labels.iter().map(String::as_str), &config.tier.labels)
}

/// Risk labels present on the PR (they demand `tier:high`'s approvals too), matched as
/// `tier` matches them, so a label the tier mode counts as a risk is never ignored here.
fn risk_labels(labels: &[String], config: &Config) -> Vec<String> {
    vocabulary::risk_labels_on(labels, &config.tier.risk_labels)
}

/// The clause text(s) that apply: the labeled tier's, plus `high`'s when a risk label is set.
fn clause_texts(config: &Config, tier: &Carried, risky: bool) -> Vec<String> {
    let tiers = &config.review.tiers;
    let mut texts = Vec::new();
    if let Carried::One { tier, .. } = tier {
        texts.push(match tier {
            Tier::Low => tiers.low.clone(),
            Tier::Medium => tiers.medium.clone(),
            Tier::High => tiers.high.clone(),
        });
        if risky && *tier != Tier::High {
            texts.push(tiers.high.clone());
        }
    }
    texts
}

fn push_unique(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|t| t.eq_ignore_ascii_case(name)) {
        list.push(name.to_owned());
    }
}

/// Every team whose membership the decision needs: roster, the applicable tier clauses
/// and each gate's team.
pub fn needed_teams(config: &Config, labels: &[String], gates: &[Gate]) -> Vec<String> {
    let tier = carried(labels, config);
    let risky = !risk_labels(labels, config).is_empty();
    let mut teams = Vec::new();
    for team in &config.review.roster_teams {
        push_unique(&mut teams, team);
    }
    for text in clause_texts(config, &tier, risky) {
        for set in config::parse_clauses(&text).unwrap_or_default() {
            for team in set {
                push_unique(&mut teams, &team);
            }
        }
    }
    for gate in gates {
        for team in gate.teams() {
            push_unique(&mut teams, &team);
        }
    }
    teams
}

/// Everything the decision reads.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub config: &'a Config,
    /// The gates to decide (all configured ones, or the one a recheck names).
    pub gates: &'a [Gate],
    /// Whether to decide the tier-check gate too.
    pub tier_check: bool,
    /// Label names on the PR.
    pub labels: &'a [String],
    pub reduction: &'a Reduction,
    pub teams: &'a Teams,
}

/// One gate's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRuling {
    pub name: String,
    pub context: String,
    pub state: State,
    pub description: String,
    /// The approval floor holds (the gate's workflow may be dispatched).
    pub floor_holds: bool,
    /// Workflow file to dispatch once the floor holds.
    pub dispatch: Option<String>,
}

/// One reviewer in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRow {
    pub login: String,
    /// Counted towards the floor: a genuine approval from a roster member.
    pub counted: bool,
    pub why: String,
}

/// The whole decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    /// The tier key when exactly one tier label is set.
    pub tier: Option<String>,
    pub gates: Vec<GateRuling>,
    pub approvals: Vec<ApprovalRow>,
    pub reasons: Vec<String>,
}

impl Ruling {
    /// True when every gate is `success`.
    pub fn all_pass(&self) -> bool {
        self.gates.iter().all(|g| g.state == State::Success)
    }
}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        "none yet".to_owned()
    } else {
        list.join(", ")
    }
}

/// Decide every gate. The clauses, in the order their reasons are reported: a request
/// for changes, the tier label, the applicable tier clauses, the teams they name (any of
/// these four blocks every gate; the first found is the gates' description), the
/// approval floor, the tier clauses met; then each gate on its own team.
pub fn decide(input: &Input<'_>) -> Ruling {
    let Input {
        config,
        gates,
        tier_check,
        labels,
        reduction,
        teams,
    } = *input;
    let review = &config.review;
    let mut reasons = Vec::new();

    let tier = carried(labels, config);
    let risky = risk_labels(labels, config);
    let changes = changes_requested(reduction, &mut reasons);
    let label = tier_label(config, &tier, &risky, &mut reasons);
    let (clauses, invalid) = applicable_clauses(config, &tier, !risky.is_empty(), &mut reasons);
    let missing = missing_teams(config, &clauses, teams, &mut reasons);
    let floor = floor(config, reduction, teams, &mut reasons);
    let unmet = unmet_clauses(&clauses, &reduction.approvers, teams, &mut reasons);
    let standing = Standing {
        block: changes.or(label).or(invalid).or(missing),
        tier_name: match &tier {
            Carried::One { label, .. } if risky.is_empty() => label.clone(),
            Carried::One { label, .. } => format!("{label} + {}", risky.join(", ")),
            _ => String::new(),
        },
        approvers: &reduction.approvers,
        floor,
        unmet,
        hint: misfiled_hint(reduction, &mut reasons),
    };

    let mut decisions: Vec<GateRuling> = gates
        .iter()
        .map(|gate| {
            let (state, description) = gate_verdict(gate, &standing, teams, &mut reasons);
            standing.finish(
                &gate.name,
                &gate.context,
                state,
                description,
                gate.dispatch.clone(),
            )
        })
        .collect();
    if let (true, Some(check)) = (tier_check, &review.tier_check) {
        let (state, description) = tier_check_verdict(&standing);
        decisions.push(standing.finish("tier-check", &check.context, state, description, None));
    }

    Ruling {
        tier: match &tier {
            Carried::One { tier, .. } => Some(tier.as_str().to_owned()),
            _ => None,
        },
        gates: decisions,
        approvals: approval_rows(config, reduction, teams),
        reasons,
    }
}

/// What every gate's verdict reads, once the clauses are decided.
struct Standing<'a> {
    /// The first clause that blocks every gate.
    block: Option<String>,
    /// The carried tier as the descriptions name it (`tier:high + security`).
    tier_name: String,
    approvers: &'a [String],
    floor: Floor,
    /// The tier clauses no approver meets.
    unmet: Vec<String>,
    /// Appended to every non-success description (misfiled reviews).
    hint: String,
}

impl Standing<'_> {
    fn clauses_unmet_text(&self) -> String {
        format!(
            "{} needs {}; approved by {}",
            self.tier_name,
            self.unmet.join(" and "),
            names(self.approvers)
        )
    }

    fn finish(
        &self,
        name: &str,
        context: &str,
        state: State,
        description: String,
        dispatch: Option<String>,
    ) -> GateRuling {
        let description = if state == State::Success {
            description
        } else {
            format!("{description}{}", self.hint)
        };
        GateRuling {
            name: name.to_owned(),
            context: context.to_owned(),
            state,
            description: fit(&description),
            floor_holds: self.floor.holds(),
            dispatch,
        }
    }
}

/// A current-head request for changes blocks every gate.
fn changes_requested(reduction: &Reduction, reasons: &mut Vec<String>) -> Option<String> {
    if reduction.blockers.is_empty() {
        return None;
    }
    let text = format!("changes requested by {}", reduction.blockers.join(", "));
    reasons.push(format!(
        "{text}: a current-head request for changes blocks every gate"
    ));
    Some(text)
}

/// Exactly one tier label, or every gate is blocked; a risk label adds `high`'s clause.
fn tier_label(
    config: &Config,
    tier: &Carried,
    risky: &[String],
    reasons: &mut Vec<String>,
) -> Option<String> {
    let labels = &config.tier.labels;
    let block = match tier {
        Carried::None => format!(
            "no tier label: apply one of {}",
            [
                labels.low.as_str(),
                labels.medium.as_str(),
                labels.high.as_str()
            ]
            .join(", ")
        ),
        Carried::Several(found) => format!(
            "{} tier labels ({}): apply exactly one",
            found.len(),
            found.join(", ")
        ),
        Carried::One { label, .. } => {
            reasons.push(format!("tier label `{label}`"));
            if !risky.is_empty() {
                reasons.push(format!(
                    "risk label {} present: `{}`'s approvals are required too",
                    risky
                        .iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    labels.high
                ));
            }
            return None;
        }
    };
    reasons.push(block.clone());
    Some(block)
}

/// The tier clauses that apply, each team set once; an invalid clause blocks every gate.
fn applicable_clauses(
    config: &Config,
    tier: &Carried,
    risky: bool,
    reasons: &mut Vec<String>,
) -> (Vec<Vec<String>>, Option<String>) {
    let mut clauses: Vec<Vec<String>> = Vec::new();
    let mut block = None;
    for text in clause_texts(config, tier, risky) {
        match config::parse_clauses(&text) {
            Ok(parsed) => {
                for set in parsed {
                    if !clauses.contains(&set) {
                        clauses.push(set);
                    }
                }
            }
            Err(e) => {
                let text = format!("the tier clause is invalid: {e}");
                reasons.push(text.clone());
                block.get_or_insert(text);
            }
        }
    }
    (clauses, block)
}

/// Teams named by the roster or the clauses must exist, or every gate is blocked.
fn missing_teams(
    config: &Config,
    clauses: &[Vec<String>],
    teams: &Teams,
    reasons: &mut Vec<String>,
) -> Option<String> {
    let mut missing: Vec<String> = Vec::new();
    for team in config
        .review
        .roster_teams
        .iter()
        .chain(clauses.iter().flatten())
    {
        if !teams.exists(team) && !missing.iter().any(|m| m.eq_ignore_ascii_case(team)) {
            missing.push(team.clone());
        }
    }
    if missing.is_empty() {
        return None;
    }
    let text = teams.missing_text(&missing.join(", "));
    reasons.push(format!(
        "{text}: fix `review.roster_teams`/`review.tiers` or create the team"
    ));
    Some(text)
}

/// The approval floor: genuine approvals from roster members.
struct Floor {
    counted: Vec<String>,
    required: usize,
}

impl Floor {
    fn holds(&self) -> bool {
        self.counted.len() >= self.required
    }

    fn text(&self) -> String {
        format!("{}/{}", self.counted.len(), self.required)
    }
}

/// An empty roster admits every reviewer.
fn in_roster(config: &Config, teams: &Teams, login: &str) -> bool {
    let roster = &config.review.roster_teams;
    roster.is_empty() || roster.iter().any(|team| teams.is_member(login, team))
}

fn floor(
    config: &Config,
    reduction: &Reduction,
    teams: &Teams,
    reasons: &mut Vec<String>,
) -> Floor {
    let floor = Floor {
        counted: reduction
            .approvers
            .iter()
            .filter(|login| in_roster(config, teams, login))
            .cloned()
            .collect(),
        required: usize::try_from(config.review.required_approvals.max(1)).unwrap_or(usize::MAX),
    };
    reasons.push(format!(
        "{} genuine approvals from the roster ({})",
        floor.text(),
        names(&floor.counted)
    ));
    floor
}

/// Each tier clause is met by an approver in one of its teams; the unmet ones, as text.
fn unmet_clauses(
    clauses: &[Vec<String>],
    approvers: &[String],
    teams: &Teams,
    reasons: &mut Vec<String>,
) -> Vec<String> {
    let mut unmet = Vec::new();
    for set in clauses {
        let by: Vec<&str> = approvers
            .iter()
            .filter(|login| set.iter().any(|team| teams.is_member(login, team)))
            .map(String::as_str)
            .collect();
        let set_text = set.join(" or ");
        if by.is_empty() {
            reasons.push(format!("clause ({set_text}): missing"));
            unmet.push(set_text);
        } else {
            reasons.push(format!("clause ({set_text}): met by {}", by.join(", ")));
        }
    }
    unmet
}

/// Reviews Gitea filed as PENDING although they carry a body: said once in the reasons,
/// and as a hint on every gate that is not green.
fn misfiled_hint(reduction: &Reduction, reasons: &mut Vec<String>) -> String {
    if reduction.misfiled.is_empty() {
        return String::new();
    }
    for login in &reduction.misfiled {
        reasons.push(format!(
            "`{login}` has a PENDING review with a body: Gitea files `APPROVE` or lower-case events as PENDING; re-submit it as `APPROVED`"
        ));
    }
    format!(
        "; {}: re-submit the PENDING review as APPROVED",
        reduction.misfiled.join(", ")
    )
}

/// One gate: blocked, its team missing, waiting for the floor, a tier clause unmet,
/// waiting for its team's approval, or green.
fn gate_verdict(
    gate: &Gate,
    standing: &Standing<'_>,
    teams: &Teams,
    reasons: &mut Vec<String>,
) -> (State, String) {
    if let Some(block) = &standing.block {
        return (State::Failure, block.clone());
    }
    if let Some(missing) = gate.teams().into_iter().find(|t| !teams.exists(t)) {
        let text = teams.missing_text(&missing);
        reasons.push(format!(
            "gate `{}`: {text}: fix its `team` or create the team",
            gate.name
        ));
        return (State::Failure, text);
    }
    let floor = &standing.floor;
    let team_approvers: Vec<&str> = standing
        .approvers
        .iter()
        .filter(|login| gate.teams().iter().any(|team| teams.is_member(login, team)))
        .map(String::as_str)
        .collect();
    if !floor.holds() {
        let mut text = format!(
            "waiting for approvals: {} from the roster ({})",
            floor.text(),
            names(&floor.counted)
        );
        if team_approvers.is_empty() {
            text.push_str(&format!("; needs a {} approval", gate.team_text()));
        }
        (State::Pending, text)
    } else if !standing.unmet.is_empty() {
        // Waiting for the approvals the tier asks for: pending, like the floor. Only a
        // block (a change request, no tier label, a missing team) is a red X.
        (State::Pending, standing.clauses_unmet_text())
    } else if team_approvers.is_empty() {
        (
            State::Pending,
            format!(
                "waiting for a {} approval; approved by {} ({})",
                gate.team_text(),
                names(standing.approvers),
                floor.text()
            ),
        )
    } else {
        (
            State::Success,
            format!(
                "approved by {} ({}); {}: {}",
                names(standing.approvers),
                floor.text(),
                gate.team_text(),
                team_approvers.join(", ")
            ),
        )
    }
}

/// The tier-check gate: blocked, waiting for a tier clause, or green (it has no floor).
fn tier_check_verdict(standing: &Standing<'_>) -> (State, String) {
    if let Some(block) = &standing.block {
        (State::Failure, block.clone())
    } else if !standing.unmet.is_empty() {
        (State::Pending, standing.clauses_unmet_text())
    } else {
        (
            State::Success,
            format!(
                "{} approvals met by {}",
                standing.tier_name,
                names(standing.approvers)
            ),
        )
    }
}

/// One row per reviewer: counted, or why not.
fn approval_rows(config: &Config, reduction: &Reduction, teams: &Teams) -> Vec<ApprovalRow> {
    reduction
        .reviewers
        .iter()
        .map(|r| {
            let (counted, why) = if !r.genuine {
                (false, r.why.clone())
            } else if in_roster(config, teams, &r.login) {
                let member_of = teams.member_of(&r.login);
                if member_of.is_empty() {
                    (true, format!("{}; roster is open to every reviewer", r.why))
                } else {
                    (
                        true,
                        format!("{}; member of {}", r.why, member_of.join(", ")),
                    )
                }
            } else {
                (
                    false,
                    format!(
                        "{}, but not a member of a roster team ({})",
                        r.why,
                        config.review.roster_teams.join(", ")
                    ),
                )
            };
            ApprovalRow {
                login: r.login.clone(),
                counted,
                why,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TierCheck;
    use crate::review::approval::{Kind, Reviewer};

    fn teams(pairs: &[(&str, &[&str])]) -> Teams {
        let mut t = Teams {
            org: "acme".into(),
            visible: ["engineers", "managers", "executive", "qa", "security"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            members: BTreeMap::new(),
        };
        for (login, list) in pairs {
            t.members.insert(
                (*login).to_owned(),
                list.iter().map(|s| (*s).to_owned()).collect(),
            );
        }
        t
    }

    fn approved(logins: &[&str]) -> Reduction {
        Reduction {
            reviewers: logins
                .iter()
                .map(|l| Reviewer {
                    login: (*l).into(),
                    verdict: Some(Kind::Approve),
                    genuine: true,
                    why: "genuine approval of the head".into(),
                })
                .collect(),
            approvers: logins.iter().map(|l| (*l).to_owned()).collect(),
            blockers: vec![],
            misfiled: vec![],
        }
    }

    fn run(config: &Config, labels: &[&str], reduction: &Reduction, teams: &Teams) -> Ruling {
        let labels: Vec<String> = labels.iter().map(|s| (*s).to_owned()).collect();
        decide(&Input {
            config,
            gates: &config.review.gates,
            tier_check: true,
            labels: &labels,
            reduction,
            teams,
        })
    }

    fn states(d: &Ruling) -> Vec<(&str, State, &str)> {
        d.gates
            .iter()
            .map(|g| (g.name.as_str(), g.state, g.description.as_str()))
            .collect()
    }

    #[test]
    fn two_roster_approvals_one_qa() {
        let config = Config::default();
        let d = run(
            &config,
            &["tier:low"],
            &approved(&["alice", "carol"]),
            &teams(&[("alice", &["engineers"]), ("carol", &["qa", "engineers"])]),
        );
        assert_eq!(
            states(&d),
            vec![
                (
                    "qa",
                    State::Success,
                    "approved by alice, carol (2/2); qa: carol"
                ),
                (
                    "security",
                    State::Pending,
                    "waiting for a security approval; approved by alice, carol (2/2)"
                ),
            ]
        );
        assert_eq!(d.tier.as_deref(), Some("low"));
        assert!(d.approvals.iter().all(|a| a.counted));
    }

    #[test]
    fn floor_unmet_is_pending_and_never_success() {
        let config = Config::default();
        let d = run(
            &config,
            &["tier:low"],
            &approved(&["carol"]),
            &teams(&[("carol", &["qa"])]),
        );
        assert_eq!(
            states(&d),
            vec![
                (
                    "qa",
                    State::Pending,
                    "waiting for approvals: 1/2 from the roster (carol)"
                ),
                (
                    "security",
                    State::Pending,
                    "waiting for approvals: 1/2 from the roster (carol); needs a security approval"
                ),
            ]
        );
    }

    #[test]
    fn medium_needs_qa_or_security() {
        let config = Config::default();
        let d = run(
            &config,
            &["tier:medium"],
            &approved(&["mia", "eve"]),
            &teams(&[("mia", &["managers"]), ("eve", &["engineers"])]),
        );
        for g in &d.gates {
            // Waiting for an approval is pending; failure is kept for a block.
            assert_eq!(g.state, State::Pending, "{g:?}");
            assert_eq!(
                g.description,
                "tier:medium needs qa or security; approved by mia, eve"
            );
        }
        assert!(d
            .reasons
            .contains(&"clause (qa or security): missing".to_owned()));
    }

    #[test]
    fn member_of_lists_a_logins_teams_whatever_the_case() {
        let t = teams(&[("alice", &["engineers", "qa"])]);
        assert_eq!(t.member_of("Alice"), vec!["engineers", "qa"]);
        assert!(t.member_of("bob").is_empty());
    }

    #[test]
    fn a_risk_label_is_named_in_the_reasons_only_when_present() {
        let mut config = Config::default();
        config.tier.risk_labels = vec!["risk:high".into()];
        let r = approved(&["alice"]);
        let t = teams(&[]);
        let risky = run(&config, &["tier:low", "risk:high"], &r, &t);
        assert!(
            risky
                .reasons
                .iter()
                .any(|x| x.starts_with("risk label `risk:high` present")),
            "{:?}",
            risky.reasons
        );
        let plain = run(&config, &["tier:low"], &r, &t);
        assert!(
            !plain.reasons.iter().any(|x| x.starts_with("risk label")),
            "{:?}",
            plain.reasons
        );
    }

    #[test]
    fn all_pass_needs_every_gate_green() {
        let config = Config::default();
        let mut d = run(&config, &[], &approved(&["alice"]), &teams(&[]));
        assert!(!d.gates.is_empty());
        assert!(!d.all_pass(), "no tier label fails every gate");
        for gate in &mut d.gates {
            gate.state = State::Success;
        }
        assert!(d.all_pass());
        d.gates[0].state = State::Pending;
        assert!(!d.all_pass(), "one pending gate is not all green");
    }

    #[test]
    fn tier_labels_must_be_exactly_one() {
        let config = Config::default();
        let r = approved(&["alice", "carol"]);
        let t = teams(&[("alice", &["engineers"]), ("carol", &["qa"])]);
        let d = run(&config, &[], &r, &t);
        assert!(d.gates.iter().all(|g| g.state == State::Failure
            && g.description == "no tier label: apply one of tier:low, tier:medium, tier:high"));
        let d = run(&config, &["tier:low", "tier:high", "tier:low"], &r, &t);
        assert!(d.gates.iter().all(|g| g.state == State::Failure
            && g.description
                == "3 tier labels (tier:low, tier:low, tier:high): apply exactly one"));
        assert_eq!(d.tier, None);
    }

    #[test]
    fn blockers_fail_everything() {
        let config = Config::default();
        let mut r = approved(&["alice", "carol"]);
        r.blockers = vec!["mallory".into()];
        let d = run(
            &config,
            &["tier:low"],
            &r,
            &teams(&[("alice", &["engineers"]), ("carol", &["qa", "security"])]),
        );
        assert!(d
            .gates
            .iter()
            .all(|g| g.state == State::Failure && g.description == "changes requested by mallory"));
    }

    #[test]
    fn org_membership_or_unverified_never_counts() {
        // Approvers known to no team (probes 404): nothing counts.
        let config = Config::default();
        let d = run(&config, &["tier:low"], &approved(&["x", "y"]), &teams(&[]));
        assert!(d.gates.iter().all(|g| g.state == State::Pending));
        assert!(d.approvals.iter().all(|a| !a.counted));
        assert_eq!(
            d.approvals[0].why,
            "genuine approval of the head, but not a member of a roster team (engineers, managers, executive, qa, security)"
        );
    }

    #[test]
    fn missing_team_lists_visible_ones() {
        let mut config = Config::default();
        config.review.tiers.high = "executives".into();
        let d = run(
            &config,
            &["tier:high"],
            &approved(&["alice", "carol"]),
            &teams(&[("alice", &["engineers"]), ("carol", &["qa"])]),
        );
        assert!(d.gates.iter().all(|g| g.state == State::Failure
            && g.description
                == "team executives not found in acme (visible: engineers, managers, executive, qa, security)"));
    }

    #[test]
    fn high_needs_executive() {
        let config = Config::default();
        let t = teams(&[
            ("eve", &["engineers"]),
            ("mia", &["managers", "qa"]),
            ("ed", &["executive", "security"]),
        ]);
        let d = run(&config, &["tier:high"], &approved(&["eve", "mia"]), &t);
        assert!(d.gates.iter().all(|g| g.state == State::Pending));
        let d = run(&config, &["tier:high"], &approved(&["eve", "ed"]), &t);
        assert_eq!(d.gates[1].state, State::Success, "{d:?}");
        assert_eq!(d.gates[0].state, State::Pending, "{d:?}");
    }

    #[test]
    fn risk_label_demands_high_approvals() {
        let config = Config::default();
        let t = teams(&[("eve", &["engineers"]), ("carol", &["qa", "security"])]);
        let d = run(
            &config,
            &["tier:low", "risk:high"],
            &approved(&["eve", "carol"]),
            &t,
        );
        assert!(d.gates.iter().all(|g| g.state == State::Pending
            && g.description == "tier:low + risk:high needs executive; approved by eve, carol"));
    }

    #[test]
    fn tier_check_gate() {
        let mut config = Config::default();
        config.review.gates.clear();
        config.review.tier_check = Some(TierCheck {
            context: "tier-check / approvals (pull_request_target)".into(),
        });
        let t = teams(&[("eve", &["engineers"])]);
        let d = run(&config, &["tier:low"], &approved(&["eve"]), &t);
        assert_eq!(
            states(&d),
            vec![(
                "tier-check",
                State::Success,
                "tier:low approvals met by eve"
            )]
        );
        let d = run(&config, &["tier:low"], &approved(&[]), &t);
        assert_eq!(
            states(&d),
            vec![(
                "tier-check",
                State::Pending,
                "tier:low needs engineers or managers or executive; approved by none yet"
            )]
        );
    }

    #[test]
    fn required_approvals_clamp_to_one() {
        let mut config = Config::default();
        config.review.required_approvals = 0;
        let d = run(&config, &["tier:low"], &approved(&[]), &teams(&[]));
        assert!(d.gates.iter().all(|g| g.state == State::Pending
            && g.description.starts_with("waiting for approvals: 0/1")));
    }

    #[test]
    fn misfiled_pending_gets_the_hint() {
        let mut config = Config::default();
        config.review.tier_check = Some(TierCheck {
            context: "tier-check".into(),
        });
        let mut r = approved(&["alice"]);
        r.misfiled = vec!["carol".into()];
        let d = run(
            &config,
            &["tier:low"],
            &r,
            &teams(&[("alice", &["engineers"])]),
        );
        assert_eq!(
            d.gates[0].description,
            "waiting for approvals: 1/2 from the roster (alice); needs a qa approval; carol: re-submit the PENDING review as APPROVED"
        );
        // A green gate carries no hint: the tier-check gate (no floor) is met by alice.
        let check = d.gates.last().expect("the tier-check gate");
        assert_eq!(
            (check.name.as_str(), check.state, check.description.as_str()),
            (
                "tier-check",
                State::Success,
                "tier:low approvals met by alice"
            )
        );
    }

    /// A member list credits the approvers it names (any case), and only them; a team
    /// with no list credits nobody.
    #[test]
    fn memberships_come_from_the_lists_for_approvers_only() {
        let approvers = vec!["Carol".to_owned(), "erin".to_owned(), "olga".to_owned()];
        let lists = vec![
            (
                "QA".to_owned(),
                vec!["carol".to_owned(), "quinn".to_owned()],
            ),
            (
                "engineers".to_owned(),
                vec!["ERIN".to_owned(), "carol".to_owned()],
            ),
            ("security".to_owned(), Vec::new()),
        ];
        let teams = Teams::from_lists("acme", vec!["qa".into()], &approvers, &lists);
        assert_eq!(teams.org, "acme");
        assert_eq!(teams.visible, vec!["qa"]);
        let set = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        let expected: BTreeMap<String, BTreeSet<String>> = [
            ("carol".to_owned(), set(&["engineers", "qa"])),
            ("erin".to_owned(), set(&["engineers"])),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            teams.members, expected,
            "quinn is no approver, olga is in no list"
        );
        assert!(teams.is_member("carol", "qa"));
        assert!(!teams.is_member("olga", "qa"));
        assert!(
            !teams.is_member("erin", "managers"),
            "not listed: nobody credited"
        );
    }

    #[test]
    fn needed_teams_cover_roster_clauses_and_gates() {
        let mut config = Config::default();
        config.review.roster_teams = vec!["reviewers".into()];
        let labels = vec!["tier:medium".to_owned()];
        assert_eq!(
            needed_teams(&config, &labels, &config.review.gates),
            vec!["reviewers", "managers", "engineers", "qa", "security"]
        );
    }

    #[test]
    fn long_descriptions_are_cut() {
        let long = "x".repeat(400);
        let cut = fit(&long);
        assert_eq!(cut.chars().count(), MAX_DESCRIPTION);
        assert!(cut.ends_with('…'));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Success requires the floor, exactly one tier label and no blocker.
            #[test]
            fn success_is_earned(
                n in 0usize..5,
                qa in any::<bool>(),
                blocked in any::<bool>(),
                labels in prop::sample::subsequence(vec!["tier:low", "tier:medium", "tier:high"], 0..3),
                required in 0u32..4,
            ) {
                let mut config = Config::default();
                config.review.required_approvals = required;
                let logins: Vec<String> = (0..n).map(|i| format!("u{i}")).collect();
                let refs: Vec<&str> = logins.iter().map(String::as_str).collect();
                let mut r = approved(&refs);
                if blocked { r.blockers.push("z".into()); }
                let mut t = teams(&[]);
                for l in &logins {
                    let mut set: BTreeSet<String> = ["engineers", "managers", "executive"].iter().map(|s| (*s).to_owned()).collect();
                    if qa { set.insert("qa".into()); }
                    t.members.insert(l.clone(), set);
                }
                let d = run(&config, &labels, &r, &t);
                for g in &d.gates {
                    if g.state == State::Success {
                        prop_assert!(!blocked);
                        prop_assert_eq!(labels.len(), 1);
                        prop_assert!(n >= usize::try_from(required.max(1)).unwrap_or(0));
                    }
                }
            }

            /// A red X means blocked (a change request or not exactly one tier label);
            /// anything only waiting for approvals is pending, as the README says.
            #[test]
            fn failure_means_blocked(
                n in 0usize..5,
                roster in prop::sample::subsequence(vec!["engineers", "managers", "executive", "qa", "security"], 0..5),
                blocked in any::<bool>(),
                labels in prop::sample::subsequence(vec!["tier:low", "tier:medium", "tier:high"], 0..3),
                required in 0u32..4,
            ) {
                let mut config = Config::default();
                config.review.required_approvals = required;
                let logins: Vec<String> = (0..n).map(|i| format!("u{i}")).collect();
                let refs: Vec<&str> = logins.iter().map(String::as_str).collect();
                let mut r = approved(&refs);
                if blocked { r.blockers.push("z".into()); }
                let mut t = teams(&[]);
                for (i, l) in logins.iter().enumerate() {
                    // Each approver in some of the teams, differently per approver.
                    let set: BTreeSet<String> = roster
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| (i + j) % 2 == 0)
                        .map(|(_, s)| (*s).to_owned())
                        .collect();
                    t.members.insert(l.clone(), set);
                }
                let d = run(&config, &labels, &r, &t);
                for g in &d.gates {
                    let is_blocked = blocked || labels.len() != 1;
                    prop_assert_eq!(g.state == State::Failure, is_blocked, "{:?}", g);
                }
            }
        }
    }

    /// The commented "two genuine approvals, one of them from qa or security" block of
    /// `config default`, uncommented: it parses, and it decides as it says.
    fn example() -> Config {
        let block: String = config::DEFAULT_YAML
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("#   review:"))
            .take_while(|l| l.trim_start().starts_with("#   "))
            .map(|l| {
                format!(
                    "{}\n",
                    l.trim_start().strip_prefix("#   ").unwrap_or_default()
                )
            })
            .collect();
        assert!(
            block.starts_with("review:"),
            "the example in default-config.yml: {block}"
        );
        Config::parse(&block, "example").expect("the documented example parses")
    }

    #[test]
    fn two_approvals_one_of_them_from_qa_or_security() {
        let config = example();
        let t = teams(&[
            ("erin", &["engineers"]),
            ("mona", &["managers"]),
            ("quinn", &["qa"]),
            ("sam", &["security"]),
        ]);
        for tier in ["tier:low", "tier:medium", "tier:high"] {
            for (approvers, want) in [
                (&["erin", "quinn"][..], State::Success),
                (&["mona", "sam"][..], State::Success),
                (&["erin", "mona"][..], State::Pending),
                (&["quinn"][..], State::Pending),
            ] {
                let d = run(&config, &[tier], &approved(approvers), &t);
                assert_eq!(d.gates.len(), 1);
                assert_eq!(d.gates[0].state, want, "{tier} {approvers:?}: {d:?}");
            }
        }
        let d = run(&config, &["tier:low"], &approved(&["erin", "mona"]), &t);
        assert_eq!(
            d.gates[0].description,
            "tier:low needs qa or security; approved by erin, mona"
        );
    }
}
