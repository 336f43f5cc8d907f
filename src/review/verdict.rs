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
        push_unique(&mut teams, &gate.team);
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
pub struct GateDecision {
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
pub struct Decision {
    /// The tier key when exactly one tier label is set.
    pub tier: Option<String>,
    pub gates: Vec<GateDecision>,
    pub approvals: Vec<ApprovalRow>,
    pub reasons: Vec<String>,
}

impl Decision {
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

/// Decide every gate.
pub fn decide(input: &Input<'_>) -> Decision {
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

    // The tier.
    let tier = carried(labels, config);
    let risky = risk_labels(labels, config);
    let all_tier_labels = [
        config.tier.labels.low.as_str(),
        config.tier.labels.medium.as_str(),
        config.tier.labels.high.as_str(),
    ]
    .join(", ");
    let tier_name = match &tier {
        Carried::One { label, .. } if risky.is_empty() => label.clone(),
        Carried::One { label, .. } => format!("{label} + {}", risky.join(", ")),
        _ => String::new(),
    };

    // Blocks that fail every gate, first found first.
    let mut block: Option<String> = None;
    if !reduction.blockers.is_empty() {
        let text = format!("changes requested by {}", reduction.blockers.join(", "));
        reasons.push(format!(
            "{text}: a current-head request for changes blocks every gate"
        ));
        block = Some(text);
    }
    match &tier {
        Carried::None => {
            let text = format!("no tier label: apply one of {all_tier_labels}");
            reasons.push(text.clone());
            block.get_or_insert(text);
        }
        Carried::Several(found) => {
            let text = format!(
                "{} tier labels ({}): apply exactly one",
                found.len(),
                found.join(", ")
            );
            reasons.push(text.clone());
            block.get_or_insert(text);
        }
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
                    config.tier.labels.high
                ));
            }
        }
    }

    // The clauses that apply.
    let mut clauses: Vec<Vec<String>> = Vec::new();
    for text in clause_texts(config, &tier, !risky.is_empty()) {
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

    // Teams named by the roster or the clauses must exist.
    let mut missing: Vec<String> = Vec::new();
    for team in review.roster_teams.iter().chain(clauses.iter().flatten()) {
        if !teams.exists(team) && !missing.iter().any(|m| m.eq_ignore_ascii_case(team)) {
            missing.push(team.clone());
        }
    }
    if !missing.is_empty() {
        let text = teams.missing_text(&missing.join(", "));
        reasons.push(format!(
            "{text}: fix `review.roster_teams`/`review.tiers` or create the team"
        ));
        block.get_or_insert(text);
    }

    // The floor.
    let approvers = &reduction.approvers;
    let in_roster = |login: &str| {
        review.roster_teams.is_empty()
            || review
                .roster_teams
                .iter()
                .any(|team| teams.is_member(login, team))
    };
    let counted: Vec<String> = approvers
        .iter()
        .filter(|login| in_roster(login))
        .cloned()
        .collect();
    let required = usize::try_from(review.required_approvals.max(1)).unwrap_or(usize::MAX);
    let floor_holds = counted.len() >= required;
    let floor_text = format!("{}/{required}", counted.len());
    reasons.push(format!(
        "{floor_text} genuine approvals from the roster ({})",
        names(&counted)
    ));

    // The clauses.
    let mut unmet: Vec<String> = Vec::new();
    for set in &clauses {
        let by: Vec<&String> = approvers
            .iter()
            .filter(|login| set.iter().any(|team| teams.is_member(login, team)))
            .collect();
        let set_text = set.join(" or ");
        if by.is_empty() {
            reasons.push(format!("clause ({set_text}): missing"));
            unmet.push(set_text);
        } else {
            reasons.push(format!(
                "clause ({set_text}): met by {}",
                by.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let clause_met = unmet.is_empty();
    let unmet_text = unmet.join(" and ");

    let hint = if reduction.misfiled.is_empty() {
        String::new()
    } else {
        for login in &reduction.misfiled {
            reasons.push(format!(
                "`{login}` has a PENDING review with a body: Gitea files `APPROVE` or lower-case events as PENDING; re-submit it as `APPROVED`"
            ));
        }
        format!(
            "; {}: re-submit the PENDING review as APPROVED",
            reduction.misfiled.join(", ")
        )
    };

    let mut decisions = Vec::new();
    for gate in gates {
        let (state, description) = if let Some(block) = &block {
            (State::Failure, block.clone())
        } else if !teams.exists(&gate.team) {
            let text = teams.missing_text(&gate.team);
            reasons.push(format!(
                "gate `{}`: {text}: fix its `team` or create the team",
                gate.name
            ));
            (State::Failure, text)
        } else {
            let team_approvers: Vec<String> = approvers
                .iter()
                .filter(|login| teams.is_member(login, &gate.team))
                .cloned()
                .collect();
            if !floor_holds {
                let mut text = format!(
                    "waiting for approvals: {floor_text} from the roster ({})",
                    names(&counted)
                );
                if team_approvers.is_empty() {
                    text.push_str(&format!("; needs a {} approval", gate.team));
                }
                (State::Pending, text)
            } else if !clause_met {
                (
                    State::Failure,
                    format!(
                        "{tier_name} needs {unmet_text}; approved by {}",
                        names(approvers)
                    ),
                )
            } else if team_approvers.is_empty() {
                (
                    State::Pending,
                    format!(
                        "waiting for a {} approval; approved by {} ({floor_text})",
                        gate.team,
                        names(approvers)
                    ),
                )
            } else {
                (
                    State::Success,
                    format!(
                        "approved by {} ({floor_text}); {}: {}",
                        names(approvers),
                        gate.team,
                        team_approvers.join(", ")
                    ),
                )
            }
        };
        let description = if state == State::Success {
            description
        } else {
            format!("{description}{hint}")
        };
        decisions.push(GateDecision {
            name: gate.name.clone(),
            context: gate.context.clone(),
            state,
            description: fit(&description),
            floor_holds,
            dispatch: gate.dispatch.clone(),
        });
    }

    if tier_check {
        if let Some(check) = &review.tier_check {
            let (state, description) = if let Some(block) = &block {
                (State::Failure, block.clone())
            } else if !clause_met {
                (
                    State::Failure,
                    format!(
                        "{tier_name} needs {unmet_text}; approved by {}",
                        names(approvers)
                    ),
                )
            } else {
                (
                    State::Success,
                    format!("{tier_name} approvals met by {}", names(approvers)),
                )
            };
            let description = if state == State::Success {
                description
            } else {
                format!("{description}{hint}")
            };
            decisions.push(GateDecision {
                name: "tier-check".into(),
                context: check.context.clone(),
                state,
                description: fit(&description),
                floor_holds,
                dispatch: None,
            });
        }
    }

    let approvals = reduction
        .reviewers
        .iter()
        .map(|r| {
            if !r.genuine {
                return ApprovalRow {
                    login: r.login.clone(),
                    counted: false,
                    why: r.why.clone(),
                };
            }
            let member_of = teams.member_of(&r.login);
            if in_roster(&r.login) {
                let why = if member_of.is_empty() {
                    format!("{}; roster is open to every reviewer", r.why)
                } else {
                    format!("{}; member of {}", r.why, member_of.join(", "))
                };
                ApprovalRow {
                    login: r.login.clone(),
                    counted: true,
                    why,
                }
            } else {
                ApprovalRow {
                    login: r.login.clone(),
                    counted: false,
                    why: format!(
                        "{}, but not a member of a roster team ({})",
                        r.why,
                        review.roster_teams.join(", ")
                    ),
                }
            }
        })
        .collect();

    Decision {
        tier: match &tier {
            Carried::One { tier, .. } => Some(tier.as_str().to_owned()),
            _ => None,
        },
        gates: decisions,
        approvals,
        reasons,
    }
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

    fn run(config: &Config, labels: &[&str], reduction: &Reduction, teams: &Teams) -> Decision {
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

    fn states(d: &Decision) -> Vec<(&str, State, &str)> {
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
            assert_eq!(g.state, State::Failure, "{g:?}");
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
        assert!(d.gates.iter().all(|g| g.state == State::Failure));
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
        assert!(d.gates.iter().all(|g| g.state == State::Failure
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
                State::Failure,
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
        let config = Config::default();
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
        }
    }
}
