//! tier's act step: put the computed label on the pull request by id (creating the
//! repository label when it is missing), then re-read the labels to prove the result.

use super::{
    gather::PrFacts,
    labels::{self, Action},
    policy::Tier,
    Error as TierError,
};
use crate::{
    config::TierLabels,
    forge::{Client, Label},
    Error,
};

pub(super) enum Planned {
    Existing(Label),
    Create,
}

/// Look the repository label up by exact name (Gitea allows duplicates: the oldest wins).
pub(super) async fn find_or_plan_label(
    client: &Client,
    facts: &PrFacts,
    tier: Tier,
    names: &TierLabels,
) -> Result<Planned, Error> {
    let name = tier.label(names);
    let labels = client.repo_labels(&facts.repo).await?;
    Ok(labels
        .into_iter()
        .filter(|l| l.name == name)
        .min_by_key(|l| l.id)
        .map_or(Planned::Create, Planned::Existing))
}

/// What the writes left behind.
pub(super) enum Applied {
    /// Exactly the computed label is on the PR.
    Done,
    /// Something else changed the labels meanwhile: not exactly one tier label, or not ours.
    Concurrent { found: Vec<String> },
}

pub(super) async fn apply(
    client: &Client,
    facts: &PrFacts,
    computed: Tier,
    names: &TierLabels,
    action: &Action,
    planned: Planned,
    notes: &mut Vec<String>,
) -> Result<Applied, Error> {
    let name = computed.label(names);
    let label = match planned {
        Planned::Existing(label) => label,
        Planned::Create => {
            let label = client
                .create_label(
                    &facts.repo,
                    name,
                    computed.color(),
                    "risk tier computed by shipgate",
                )
                .await?;
            if label.name != name {
                return Err(TierError::LabelCreatedAs {
                    name: name.to_owned(),
                    created: label.name,
                }
                .into());
            }
            notes.push(format!(
                "created the repository label `{name}` (id {})",
                label.id
            ));
            label
        }
    };
    let after_add = client
        .add_issue_labels(&facts.repo, facts.number, &[label.id])
        .await?;
    let after_add_tiers =
        labels::tier_labels(after_add.iter().map(|l| (l.id, l.name.as_str())), names);
    if !after_add.iter().any(|l| l.id == label.id) {
        return Err(TierError::LabelNotAdded {
            name: name.to_owned(),
            number: facts.number,
            id: label.id,
        }
        .into());
    }
    let expected_after_add = if matches!(action, Action::Replace { .. }) {
        2
    } else {
        1
    };
    if after_add_tiers.len() != expected_after_add {
        return Ok(Applied::Concurrent {
            found: after_add_tiers.iter().map(|l| l.name.clone()).collect(),
        });
    }
    if let Action::Replace { stale } = action {
        client
            .remove_issue_label(&facts.repo, facts.number, stale.id)
            .await?;
        notes.push(format!(
            "removed `{}`, which shipgate added for an older head",
            stale.name
        ));
    }
    let reread = client.issue_labels(&facts.repo, facts.number).await?;
    let now = labels::tier_labels(reread.iter().map(|l| (l.id, l.name.as_str())), names);
    match now.as_slice() {
        [one] if one.tier == computed => Ok(Applied::Done),
        other => Ok(Applied::Concurrent {
            found: other.iter().map(|l| l.name.clone()).collect(),
        }),
    }
}
