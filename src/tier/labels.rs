//! The pure label decision: the PR's current tier labels, the computed tier and who added
//! a lower label → what to do. No I/O; the facts about the adder are gathered first.

use super::vocabulary::Tier;
use crate::config::TierLabels;

/// The tier labels a PR carries, in the order the API listed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierLabel {
    pub id: i64,
    pub name: String,
    pub tier: Tier,
}

/// Pick the tier labels out of a PR's labels (exact names; duplicates are kept, because
/// Gitea allows two labels with the same name).
pub fn tier_labels<'a>(
    labels: impl IntoIterator<Item = (i64, &'a str)>,
    names: &TierLabels,
) -> Vec<TierLabel> {
    labels
        .into_iter()
        .filter_map(|(id, name)| {
            Tier::from_label(name, names).map(|tier| TierLabel {
                id,
                name: name.to_owned(),
                tier,
            })
        })
        .collect()
}

/// What the gather step must find out before [`decide`] can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing more: the answer follows from the labels.
    Nothing,
    /// Who added this lower label (issue timeline), whether that is shipgate's own
    /// account, and their override-team memberships.
    Adder { label: Tier },
}

/// Whether the labels alone settle the decision.
pub fn need(current: &[TierLabel], computed: Tier) -> Need {
    match current {
        [one] if one.tier < computed => Need::Adder { label: one.tier },
        _ => Need::Nothing,
    }
}

/// Facts about whoever last added the existing (lower) tier label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adder {
    pub login: String,
    /// The label was added by the account shipgate runs as: an earlier run's label for
    /// an older head, not a human override.
    pub is_shipgate: bool,
    /// The `tier.override_teams` the adder belongs to (probed only when they are set
    /// and the adder is neither the author nor shipgate).
    pub teams: Vec<String>,
}

/// The label action, before dry-run is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No tier label: add the computed one.
    Add,
    /// A lower tier label that shipgate itself added for an older head: add the computed
    /// one, then remove the stale one (the only removal shipgate ever makes).
    Replace { stale: TierLabel },
    /// Exactly the computed label: nothing to write.
    Unchanged,
    /// One label, higher than computed: kept (raising is always allowed).
    KeptHigher { label: Tier },
    /// One label, lower than computed, applied by someone allowed to lower it.
    KeptOverride { label: Tier, by: String },
    /// The answer is no: nothing is written.
    Refused(Refusal),
}

/// Why the labels are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Two or more tier labels.
    Several { names: Vec<String> },
    /// A lower label added by the PR's author.
    LowerByAuthor { label: Tier, author: String },
    /// A lower label whose adder the timeline does not show.
    LowerUnattributed { label: Tier },
    /// A lower label added by a non-author outside `tier.override_teams`.
    LowerOutsideTeams {
        label: Tier,
        by: String,
        teams: Vec<String>,
    },
}

impl Action {
    /// The `label_action` JSON value, with dry-run applied.
    pub fn name(&self, dry_run: bool) -> &'static str {
        match self {
            Action::Add | Action::Replace { .. } if dry_run => "would-add",
            Action::Add | Action::Replace { .. } => "added",
            Action::Unchanged => "unchanged",
            Action::KeptHigher { .. } => "kept-higher",
            Action::KeptOverride { .. } => "kept-override",
            Action::Refused(_) => "refused",
        }
    }

    /// The tier the PR carries once the action is done (for a refusal: the computed one,
    /// which is what it should carry).
    pub fn effective(&self, computed: Tier) -> Tier {
        match self {
            Action::KeptHigher { label } | Action::KeptOverride { label, .. } => *label,
            Action::Add | Action::Replace { .. } | Action::Unchanged | Action::Refused(_) => {
                computed
            }
        }
    }

    pub fn writes(&self) -> bool {
        matches!(self, Action::Add | Action::Replace { .. })
    }
}

/// Decide what to do with the labels. `adder` is `None` when [`need`] said nothing more
/// was needed, or when the timeline had no row for the label.
pub fn decide(
    current: &[TierLabel],
    computed: Tier,
    author: &str,
    adder: Option<&Adder>,
    override_teams: &[String],
) -> Action {
    let one = match current {
        [] => return Action::Add,
        [one] => one,
        several => {
            return Action::Refused(Refusal::Several {
                names: several.iter().map(|l| l.name.clone()).collect(),
            })
        }
    };
    if one.tier == computed {
        return Action::Unchanged;
    }
    if one.tier > computed {
        return Action::KeptHigher { label: one.tier };
    }
    let Some(adder) = adder else {
        return Action::Refused(Refusal::LowerUnattributed { label: one.tier });
    };
    if adder.login.eq_ignore_ascii_case(author) {
        return Action::Refused(Refusal::LowerByAuthor {
            label: one.tier,
            author: author.to_owned(),
        });
    }
    if adder.is_shipgate {
        return Action::Replace { stale: one.clone() };
    }
    if override_teams.is_empty()
        || adder
            .teams
            .iter()
            .any(|t| override_teams.iter().any(|o| o.eq_ignore_ascii_case(t)))
    {
        return Action::KeptOverride {
            label: one.tier,
            by: adder.login.clone(),
        };
    }
    Action::Refused(Refusal::LowerOutsideTeams {
        label: one.tier,
        by: adder.login.clone(),
        teams: override_teams.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(tier: Tier) -> TierLabel {
        TierLabel {
            id: tier as i64 + 1,
            name: tier.label(&TierLabels::default()).to_owned(),
            tier,
        }
    }

    fn adder(login: &str, teams: &[&str]) -> Adder {
        Adder {
            login: login.into(),
            is_shipgate: false,
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn picks_tier_labels_by_exact_name() {
        let names = TierLabels::default();
        let found = tier_labels(
            [
                (1, "bug"),
                (2, "tier:high"),
                (3, "Tier:Low"),
                (4, "tier:high"),
            ],
            &names,
        );
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|l| l.tier == Tier::High));
    }

    /// name, current labels, computed tier, adder, override teams, expected action.
    type Row<'a> = (
        &'a str,
        Vec<TierLabel>,
        Tier,
        Option<Adder>,
        &'a Vec<String>,
        Action,
    );

    #[test]
    fn table() {
        let qa = vec!["qa".to_owned()];
        let none: Vec<String> = vec![];
        let cases: Vec<Row<'_>> = vec![
            ("none → add", vec![], Tier::Medium, None, &none, Action::Add),
            (
                "equal → unchanged",
                vec![label(Tier::Medium)],
                Tier::Medium,
                None,
                &none,
                Action::Unchanged,
            ),
            (
                "higher → kept",
                vec![label(Tier::High)],
                Tier::Low,
                None,
                &none,
                Action::KeptHigher { label: Tier::High },
            ),
            (
                "two → refused",
                vec![label(Tier::Low), label(Tier::High)],
                Tier::Low,
                None,
                &none,
                Action::Refused(Refusal::Several {
                    names: vec!["tier:low".into(), "tier:high".into()],
                }),
            ),
            (
                "two equal names → refused",
                vec![label(Tier::High), label(Tier::High)],
                Tier::High,
                None,
                &none,
                Action::Refused(Refusal::Several {
                    names: vec!["tier:high".into(), "tier:high".into()],
                }),
            ),
            (
                "lower by author → refused",
                vec![label(Tier::Low)],
                Tier::High,
                Some(adder("Alice", &[])),
                &none,
                Action::Refused(Refusal::LowerByAuthor {
                    label: Tier::Low,
                    author: "alice".into(),
                }),
            ),
            (
                "lower by non-author, no teams → kept",
                vec![label(Tier::Low)],
                Tier::High,
                Some(adder("bob", &[])),
                &none,
                Action::KeptOverride {
                    label: Tier::Low,
                    by: "bob".into(),
                },
            ),
            (
                "lower by non-author outside the team → refused",
                vec![label(Tier::Medium)],
                Tier::High,
                Some(adder("bob", &[])),
                &qa,
                Action::Refused(Refusal::LowerOutsideTeams {
                    label: Tier::Medium,
                    by: "bob".into(),
                    teams: qa.clone(),
                }),
            ),
            (
                "lower by a team member → kept",
                vec![label(Tier::Medium)],
                Tier::High,
                Some(adder("carol", &["qa"])),
                &qa,
                Action::KeptOverride {
                    label: Tier::Medium,
                    by: "carol".into(),
                },
            ),
            (
                "lower by author who is in the team → refused",
                vec![label(Tier::Medium)],
                Tier::High,
                Some(adder("alice", &["qa"])),
                &qa,
                Action::Refused(Refusal::LowerByAuthor {
                    label: Tier::Medium,
                    author: "alice".into(),
                }),
            ),
            (
                "lower, adder unknown → refused",
                vec![label(Tier::Low)],
                Tier::Medium,
                None,
                &none,
                Action::Refused(Refusal::LowerUnattributed { label: Tier::Low }),
            ),
            (
                "lower, added by shipgate on an older head → replaced",
                vec![label(Tier::Low)],
                Tier::High,
                Some(Adder {
                    login: "shipgate-bot".into(),
                    is_shipgate: true,
                    teams: vec![],
                }),
                &none,
                Action::Replace {
                    stale: label(Tier::Low),
                },
            ),
        ];
        for (name, current, computed, adder, teams, expected) in cases {
            let got = decide(&current, computed, "alice", adder.as_ref(), teams);
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn need_asks_for_the_adder_only_for_one_lower_label() {
        assert_eq!(need(&[], Tier::High), Need::Nothing);
        assert_eq!(need(&[label(Tier::High)], Tier::Low), Need::Nothing);
        assert_eq!(need(&[label(Tier::Low)], Tier::Low), Need::Nothing);
        assert_eq!(
            need(&[label(Tier::Low)], Tier::High),
            Need::Adder { label: Tier::Low }
        );
        assert_eq!(
            need(&[label(Tier::Low), label(Tier::Low)], Tier::High),
            Need::Nothing
        );
    }

    #[test]
    fn action_names() {
        assert_eq!(Action::Add.name(false), "added");
        assert_eq!(Action::Add.name(true), "would-add");
        assert_eq!(Action::Unchanged.name(true), "unchanged");
        assert_eq!(
            Action::KeptHigher { label: Tier::High }.effective(Tier::Low),
            Tier::High
        );
        assert_eq!(
            Action::Refused(Refusal::LowerUnattributed { label: Tier::Low }).effective(Tier::High),
            Tier::High
        );
    }

    /// Only adding (alone or replacing a stale label) writes; every other action leaves
    /// the labels as they are.
    #[test]
    fn only_add_and_replace_write() {
        let stale = label(Tier::Low);
        let writes = [Action::Add, Action::Replace { stale }];
        let keeps = [
            Action::Unchanged,
            Action::KeptHigher { label: Tier::High },
            Action::KeptOverride {
                label: Tier::Low,
                by: "lead".into(),
            },
            Action::Refused(Refusal::LowerUnattributed { label: Tier::Low }),
        ];
        assert!(writes.iter().all(Action::writes));
        assert!(!keeps.iter().any(Action::writes));
    }
}

/// `tier` and review-fire read a PR's tier from the same vocabulary: whatever labels a PR
/// has, the label decision sees exactly the tier (or the several labels) that
/// [`vocabulary::carried`](super::vocabulary::carried) sees.
#[cfg(test)]
mod agreement {
    use proptest::prelude::*;

    use super::*;
    use crate::tier::vocabulary::{carried, Carried};

    fn pool() -> impl Strategy<Value = Vec<String>> {
        let names = prop::sample::select(vec![
            "tier:low",
            "tier:medium",
            "tier:high",
            "Tier:Low",
            "tier:high ",
            "bug",
            "risk:high",
        ]);
        prop::collection::vec(names.prop_map(str::to_owned), 0..6)
    }

    proptest! {
        #[test]
        fn the_label_decision_sees_the_tier_the_vocabulary_sees(labels in pool(), computed in 0usize..3) {
            let names = TierLabels::default();
            let computed = Tier::ALL[computed];
            let current = tier_labels(
                labels.iter().enumerate().map(|(i, l)| (i as i64, l.as_str())),
                &names,
            );
            let seen = carried(labels.iter().map(String::as_str), &names);
            let action = decide(&current, computed, "author", None, &[]);
            match seen {
                Carried::None => prop_assert_eq!(action, Action::Add),
                Carried::Several(mut several) => {
                    let Action::Refused(Refusal::Several { mut names }) = action else {
                        return Err(TestCaseError::fail(format!("{action:?} for {labels:?}")));
                    };
                    several.sort();
                    names.sort();
                    prop_assert_eq!(several, names);
                }
                Carried::One { tier, label } => {
                    prop_assert_eq!(current.len(), 1);
                    prop_assert_eq!(current[0].tier, tier);
                    prop_assert_eq!(&current[0].name, &label);
                }
            }
        }
    }
}
