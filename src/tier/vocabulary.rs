//! The tier vocabulary, shared by `tier` and `review-fire` so the two can never disagree
//! about a pull request's tier: the [`Tier`] itself, which labels name a tier (exact
//! names, from `tier.labels`), which tier a PR carries, and which of its labels are
//! `tier.risk_labels` (ASCII case ignored).

use std::fmt;

use serde::Serialize;

use crate::config::TierLabels;

/// A risk tier. Ordered: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Low,
    Medium,
    High,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Low, Tier::Medium, Tier::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Medium => "medium",
            Tier::High => "high",
        }
    }

    /// The label name for this tier.
    pub fn label(self, labels: &TierLabels) -> &str {
        match self {
            Tier::Low => &labels.low,
            Tier::Medium => &labels.medium,
            Tier::High => &labels.high,
        }
    }

    /// The repository label color used when shipgate has to create the label.
    pub fn color(self) -> &'static str {
        match self {
            Tier::Low => "0e8a16",
            Tier::Medium => "fbca04",
            Tier::High => "d93f0b",
        }
    }

    /// The tier a label name stands for, if it is one of the three tier labels.
    pub fn from_label(name: &str, labels: &TierLabels) -> Option<Tier> {
        Tier::ALL
            .into_iter()
            .find(|tier| tier.label(labels) == name)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which tier a pull request carries, from its label names in the order the API lists
/// them. Every label that names a tier counts, duplicates too (Gitea allows two labels of
/// one name): `tier` refuses to pick between them and review-fire blocks on them alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carried {
    /// No tier label.
    None,
    /// Exactly one tier label: its tier and its name.
    One { tier: Tier, label: String },
    /// Two or more tier labels, their names from the lowest tier up.
    Several(Vec<String>),
}

/// The tier the labels carry (see [`Carried`]).
pub fn carried<'a>(labels: impl IntoIterator<Item = &'a str>, names: &TierLabels) -> Carried {
    let mut found: Vec<(Tier, &str)> = labels
        .into_iter()
        .filter_map(|name| Tier::from_label(name, names).map(|tier| (tier, name)))
        .collect();
    found.sort_by_key(|(tier, _)| *tier);
    match found.len() {
        0 => Carried::None,
        1 => {
            let (tier, label) = found.remove(0);
            Carried::One {
                tier,
                label: label.to_owned(),
            }
        }
        _ => Carried::Several(found.into_iter().map(|(_, l)| l.to_owned()).collect()),
    }
}

/// Whether `label` is one of `tier.risk_labels` (ASCII case ignored).
pub fn is_risk_label(label: &str, risk_labels: &[String]) -> bool {
    risk_labels
        .iter()
        .any(|risk| risk.eq_ignore_ascii_case(label))
}

/// The PR's labels that are risk labels, as the PR spells them, sorted, each once.
pub fn risk_labels_on(labels: &[String], risk_labels: &[String]) -> Vec<String> {
    let mut found: Vec<String> = labels
        .iter()
        .filter(|label| is_risk_label(label, risk_labels))
        .cloned()
        .collect();
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> TierLabels {
        TierLabels::default()
    }

    #[test]
    fn tier_labels_are_recognised_by_exact_name() {
        let names = names();
        for tier in Tier::ALL {
            assert_eq!(Tier::from_label(tier.label(&names), &names), Some(tier));
        }
        assert_eq!(Tier::from_label("TIER:LOW", &names), None);
        assert_eq!(Tier::from_label("tier:low ", &names), None);
        assert_eq!(Tier::from_label("low", &names), None);
    }

    #[test]
    fn what_a_pr_carries() {
        let names = names();
        assert_eq!(carried(["bug", "docs"], &names), Carried::None);
        assert_eq!(
            carried(["bug", "tier:medium"], &names),
            Carried::One {
                tier: Tier::Medium,
                label: "tier:medium".into()
            }
        );
        assert_eq!(
            carried(["tier:high", "x", "tier:low"], &names),
            Carried::Several(vec!["tier:low".into(), "tier:high".into()])
        );
        assert_eq!(
            carried(["tier:low", "tier:low"], &names),
            Carried::Several(vec!["tier:low".into(), "tier:low".into()]),
            "two labels of one name are two labels"
        );
    }

    #[test]
    fn risk_labels_ignore_ascii_case_and_come_once() {
        let risk = vec!["risk:high".to_owned(), "security".to_owned()];
        let labels: Vec<String> = ["SECURITY", "Risk:High", "bug", "security", "risk:high"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            risk_labels_on(&labels, &risk),
            vec!["Risk:High", "SECURITY", "risk:high", "security"]
        );
        assert!(is_risk_label("Security", &risk));
        assert!(!is_risk_label("securit", &risk));
        assert!(risk_labels_on(&labels, &[]).is_empty());
    }

    #[test]
    fn tier_names_agree_with_their_json() {
        for tier in Tier::ALL {
            assert_eq!(
                serde_json::to_value(tier).expect("serializes"),
                serde_json::Value::String(tier.as_str().to_owned())
            );
        }
    }

    #[test]
    fn tier_order_names_and_colors() {
        assert!(Tier::Low < Tier::Medium && Tier::Medium < Tier::High);
        assert_eq!(Tier::ALL.map(Tier::as_str), ["low", "medium", "high"]);
        assert_eq!(Tier::High.to_string(), "high");
        let colors = Tier::ALL.map(Tier::color);
        assert!(colors.iter().all(|c| c.len() == 6));
        assert_ne!(colors[0], colors[1]);
        assert_ne!(colors[1], colors[2]);
    }
}
