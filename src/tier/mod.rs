//! Mode `tier`: one risk tier label per pull request, computed from its diff, explained,
//! fail-closed.
//!
//! The four steps, one file each:
//! - **gather** ([`gather`], [`local`] for `--local`): the PR, its files, labels and the
//!   base branch's config and `.gitattributes`;
//! - **decide** ([`policy::decide`], [`labels::decide`], both pure, over [`vocabulary`]);
//! - **act** ([`act`]): add the computed label by id, creating the repo label when
//!   missing, then re-read;
//! - **report** (`report`): the outcome, its JSON fields and summary.
//!
//! This file only wires them. `--local` stops after deciding: no server, no token, no
//! labels.

mod act;
pub mod attributes;
pub mod diff;
mod error;
pub mod gather;
pub mod labels;
pub mod local;
pub mod policy;
mod report;
pub mod vocabulary;

pub use self::error::Error;

use serde_json::Value;

use self::{
    act::{apply, find_or_plan_label, Planned},
    labels::{Action, Need},
    local::Read,
    policy::Policy,
    report::{local_outcome, pr_outcome},
};
use crate::{
    arguments::TierArgs,
    config::Config,
    report::{Mode, Verdict},
    Invocation, Outcome,
};

/// Run the tier mode.
pub async fn run(invocation: &Invocation, args: &TierArgs) -> Result<Outcome, crate::Error> {
    if args.local {
        run_local(invocation, args).await
    } else {
        run_pr(invocation, args).await
    }
}

// ---- local ----------------------------------------------------------------------------

async fn run_local(invocation: &Invocation, args: &TierArgs) -> Result<Outcome, crate::Error> {
    let base = args.base.clone().unwrap_or_else(|| "main".into());
    let head = args.head.clone().unwrap_or_else(|| "HEAD".into());
    let facts = gather::local_facts(
        args.repo_dir.clone(),
        base,
        head,
        Read {
            config: invocation.config_path.is_none(),
            gitattributes: true,
        },
    )
    .await?;
    let config = match &invocation.config_path {
        Some(path) => Config::load(path)?,
        None => match &facts.config {
            Some(bytes) => Config::from_bytes(
                bytes,
                &format!("{}:{}", facts.base_resolved, crate::config::DEFAULT_PATH),
            )?,
            None => Config::default(),
        },
    };
    let gitattributes =
        gather::gitattributes_text(facts.gitattributes.clone(), &facts.base_resolved)?;
    let policy = compile(&config, &gitattributes)?;
    let decision = policy::decide(&policy, &facts.files, &[]);
    Ok(local_outcome(&facts, &config, &decision))
}

// ---- pull request -----------------------------------------------------------------------

async fn run_pr(invocation: &Invocation, args: &TierArgs) -> Result<Outcome, crate::Error> {
    // The token first: a missing secret is named plainly, whatever else is missing.
    let client =
        invocation.client("read the pull request, its files and labels, and label its tier")?;
    let repo = invocation.ctx.require_repo()?.clone();
    let number = gather::pr_number(invocation, args)?;
    let pull = gather::pull(&client, &repo, number).await?;
    if pull.state != "open" || pull.merged {
        return Ok(Outcome::new(Mode::Tier, Verdict::NotApplicable)
            .reason(format!(
                "{repo}#{number} is {}: no tier label is computed or written",
                if pull.merged { "merged" } else { "closed" }
            ))
            .field("pr", number)
            .field("label_action", Value::Null));
    }
    let facts = gather::pr_facts(invocation, args, &client, &repo, pull).await?;
    let names = facts.config.tier.labels.clone();
    let policy = compile(&facts.config, &facts.gitattributes)?;
    let label_names: Vec<String> = facts.labels.iter().map(|l| l.name.clone()).collect();
    let decision = policy::decide(&policy, &facts.files, &label_names);
    let computed = decision.tier;

    let current = labels::tier_labels(facts.labels.iter().map(|l| (l.id, l.name.as_str())), &names);
    let author = facts.pull.user.login.clone();
    let adder = match labels::need(&current, computed) {
        Need::Nothing => None,
        Need::Adder { .. } => {
            let label = current.first().expect("need() asks only for one label");
            gather::adder(&client, &repo, number, label, &author, &facts.config).await?
        }
    };
    let action = labels::decide(
        &current,
        computed,
        &author,
        adder.as_ref(),
        &facts.config.tier.override_teams,
    );

    let mut notes = Vec::new();
    let applied = if action.writes() {
        let label = find_or_plan_label(&client, &facts, computed, &names).await?;
        if invocation.dry_run {
            notes.push(match &label {
                Planned::Existing(l) => format!(
                    "dry run: would add `{}` (label id {}); nothing written",
                    l.name, l.id
                ),
                Planned::Create => format!(
                    "dry run: would create the repository label `{}` (color {}) and add it; nothing written",
                    computed.label(&names),
                    computed.color()
                ),
            });
            if let Action::Replace { stale } = &action {
                notes.push(format!(
                    "dry run: would remove `{}`, which shipgate added for an older head",
                    stale.name
                ));
            }
            None
        } else {
            Some(
                apply(
                    &client, &facts, computed, &names, &action, label, &mut notes,
                )
                .await?,
            )
        }
    } else {
        None
    };

    Ok(pr_outcome(
        invocation,
        &facts,
        &decision,
        &current,
        &action,
        adder.as_ref().map(|a| a.login.as_str()),
        applied,
        notes,
    ))
}

fn compile(config: &Config, gitattributes: &str) -> Result<Policy, Error> {
    Policy::new(&config.tier, gitattributes).map_err(|why| Error::Policy { why })
}
