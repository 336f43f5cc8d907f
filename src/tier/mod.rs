//! Mode `tier`: one risk tier label per pull request, computed from its diff, explained,
//! fail-closed.
//!
//! Gather ([`gather`], [`local`]) → decide ([`policy::decide`], [`labels::decide`], both
//! pure) → act (add the computed label by id, creating the repo label when missing, then
//! re-read) → report. `--local` stops after deciding: no server, no token, no labels.

pub mod attributes;
pub mod gather;
pub mod labels;
pub mod local;
pub mod policy;
pub mod vocabulary;

use serde_json::{json, Value};

use self::{
    gather::{PrFacts, Source},
    labels::{Action, Need, Refusal, TierLabel},
    local::{LocalFacts, Read},
    policy::{Decision, Policy, Tier},
};
use crate::code::Code;
use crate::{
    arguments::TierArgs,
    config::{Config, TierLabels},
    forge::{Client, Label},
    report::{Mode, Verdict},
    sha::short,
    Error, Invocation, Outcome,
};

/// How many files a rule lists in text (JSON lists them all).
const TEXT_FILES: usize = 8;

/// Run the tier mode.
pub async fn run(invocation: &Invocation, args: &TierArgs) -> Result<Outcome, Error> {
    if args.local {
        run_local(invocation, args).await
    } else {
        run_pr(invocation, args).await
    }
}

// ---- local ----------------------------------------------------------------------------

async fn run_local(invocation: &Invocation, args: &TierArgs) -> Result<Outcome, Error> {
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
    let gitattributes = match &facts.gitattributes {
        Some(bytes) => String::from_utf8(bytes.clone()).map_err(|_| Error::CannotVerify {
            code: Code::TierGitattributes,
            what: format!("`.gitattributes` at `{}`", facts.base_resolved),
            why: "it is not UTF-8".into(),
            hint: "re-save .gitattributes as UTF-8 on the base branch".into(),
        })?,
        None => String::new(),
    };
    let policy = compile(&config, &gitattributes)?;
    let decision = policy::decide(&policy, &facts.files, &[]);
    Ok(local_outcome(&facts, &config, &decision))
}

fn local_outcome(facts: &LocalFacts, config: &Config, decision: &Decision) -> Outcome {
    let base_note = if facts.base_resolved == facts.base_spec {
        String::new()
    } else {
        format!(" (`{}` as `{}`)", facts.base_spec, facts.base_resolved)
    };
    let mut outcome = Outcome::new(Mode::Tier, Verdict::Ok)
        .reason(format!(
            "tier `{}` for the diff from the merge base `{}` of `{}`{base_note} to `{}` (`{}`); nothing is labeled in --local mode",
            decision.tier,
            short(&facts.merge_base),
            facts.base_resolved,
            facts.head_spec,
            short(&facts.head),
        ))
        .field("tier", decision.tier.as_str())
        .field("computed_tier", decision.tier.as_str())
        .field("label_action", Value::Null)
        .field("label", decision.tier.label(&config.tier.labels))
        .field("source", "git")
        .field(
            "base",
            json!({"rev": facts.base_spec, "resolved": facts.base_resolved, "sha": facts.base}),
        )
        .field("head", json!({"rev": facts.head_spec, "sha": facts.head}))
        .field("merge_base", facts.merge_base.clone())
        .field("repo_dir", facts.repo_dir.display().to_string())
        .output("tier", decision.tier.as_str())
        .output("computed-tier", decision.tier.as_str());
    outcome = with_decision(outcome, decision);
    outcome
}

// ---- pull request -----------------------------------------------------------------------

async fn run_pr(invocation: &Invocation, args: &TierArgs) -> Result<Outcome, Error> {
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
    Policy::new(&config.tier, gitattributes).map_err(|why| Error::CannotVerify {
        code: Code::TierPolicy,
        what: "the tier policy".into(),
        why,
        hint: "fix the pattern on the base branch (`shipgate config check` validates the config)"
            .into(),
    })
}

enum Planned {
    Existing(Label),
    Create,
}

/// Look the repository label up by exact name (Gitea allows duplicates: the oldest wins).
async fn find_or_plan_label(
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
enum Applied {
    /// Exactly the computed label is on the PR.
    Done,
    /// Something else changed the labels meanwhile: not exactly one tier label, or not ours.
    Concurrent { found: Vec<String> },
}

async fn apply(
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
                return Err(Error::CannotVerify {
                    code: Code::TierLabelCreate,
                    what: format!("the new label `{name}`"),
                    why: format!("the server created `{}` instead", label.name),
                    hint: "create the label by hand and re-run".into(),
                });
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
        return Err(Error::CannotVerify {
            code: Code::TierLabelAdd,
            what: format!("adding `{name}` to #{}", facts.number),
            why: format!(
                "the server answered without label id {} (Gitea ignores unknown label ids)",
                label.id
            ),
            hint: "check the label exists in this repository and the token has write:issue".into(),
        });
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

#[allow(clippy::too_many_arguments)]
fn pr_outcome(
    invocation: &Invocation,
    facts: &PrFacts,
    decision: &Decision,
    current: &[TierLabel],
    action: &Action,
    adder: Option<&str>,
    applied: Option<Applied>,
    notes: Vec<String>,
) -> Outcome {
    let names = &facts.config.tier.labels;
    let computed = decision.tier;
    let effective = action.effective(computed);
    let number = facts.number;
    let repo = &facts.repo;
    let author = &facts.pull.user.login;
    let label_action = action.name(invocation.dry_run);

    let concurrent = match &applied {
        Some(Applied::Concurrent { found }) => Some(found.clone()),
        _ => None,
    };
    let verdict = if matches!(action, Action::Refused(_)) || concurrent.is_some() {
        Verdict::No
    } else {
        Verdict::Ok
    };

    let headline = match action {
        Action::Add | Action::Replace { .. } if invocation.dry_run => format!(
            "tier `{computed}` for {repo}#{number}: would add `{}` (dry run)",
            computed.label(names)
        ),
        Action::Add | Action::Replace { .. } => format!(
            "tier `{computed}` for {repo}#{number}: added `{}`",
            computed.label(names)
        ),
        Action::Unchanged => format!(
            "tier `{computed}` for {repo}#{number}: `{}` is already set; nothing written",
            computed.label(names)
        ),
        Action::KeptHigher { label } => format!(
            "tier `{label}` for {repo}#{number}: `{}` is higher than the computed `{computed}` and is kept (raising is always allowed)",
            label.label(names)
        ),
        Action::KeptOverride { label, by } => format!(
            "tier `{label}` for {repo}#{number}: `{}` is lower than the computed `{computed}`, kept because `{by}` (not the author) applied it",
            label.label(names)
        ),
        Action::Refused(_) => format!(
            "computed tier `{computed}` for {repo}#{number}; the tier label is refused"
        ),
    };
    let source = match &facts.source {
        Source::Api => "api",
        Source::Git(_) => "git",
    };
    let mut outcome = Outcome::new(Mode::Tier, verdict)
        .reason(headline)
        .field("tier", effective.as_str())
        .field("computed_tier", computed.as_str())
        .field("label_action", label_action)
        .field("label", effective.label(names))
        .field("pr", number)
        .field("author", author.as_str())
        .field("head_sha", facts.pull.head.sha.as_str())
        .field("base_sha", facts.pull.base.sha.as_str())
        .field("source", source)
        .field(
            "current_labels",
            current.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
        )
        .field("label_added_by", adder.map(str::to_owned))
        .field("dry_run", invocation.dry_run)
        .output("tier", effective.as_str())
        .output("computed-tier", computed.as_str())
        .output("label-action", label_action);
    for note in notes {
        outcome = outcome.reason(note);
    }
    outcome = with_decision(outcome, decision);

    if let Action::Refused(refusal) = action {
        let (message, hint) = refusal_text(refusal, computed, names, author, &facts.config);
        outcome = outcome
            .failure(
                Code::TierLabelRefused,
                "tier label refused",
                message.clone(),
                hint.clone(),
            )
            .reason(message);
    } else if let Some(found) = concurrent {
        let message = format!(
            "after adding `{}`, #{number} carries {}: the labels changed concurrently",
            computed.label(names),
            if found.is_empty() {
                "no tier label".to_owned()
            } else {
                format!("the tier labels {}", policy::list(&found))
            }
        );
        outcome = outcome
            .failure(
                Code::TierLabelsRaced,
                "tier labels changed concurrently",
                message.clone(),
                "leave exactly one tier label on the pull request and re-run the job",
            )
            .reason(message);
    }
    outcome
}

fn refusal_text(
    refusal: &Refusal,
    computed: Tier,
    names: &TierLabels,
    author: &str,
    config: &Config,
) -> (String, String) {
    let who_may = if config.tier.override_teams.is_empty() {
        "anyone with write access except the author".to_owned()
    } else {
        format!(
            "a member of {} other than the author",
            policy::list(&config.tier.override_teams)
        )
    };
    let computed_label = computed.label(names);
    match refusal {
        Refusal::Several { names: found } => (
            format!(
                "apply exactly one tier label: the pull request carries {}",
                policy::list(found)
            ),
            format!(
                "remove all but one (the computed tier is `{computed}`, label `{computed_label}`); shipgate never removes tier labels a person applied"
            ),
        ),
        Refusal::LowerByAuthor { label, author } => (
            format!(
                "`{}` is lower than the computed tier `{computed}`, and the author `{author}` applied it",
                label.label(names)
            ),
            format!(
                "remove `{}` (the next run adds `{computed_label}`), or have {who_may} apply the lower label",
                label.label(names)
            ),
        ),
        Refusal::LowerUnattributed { label } => (
            format!(
                "`{}` is lower than the computed tier `{computed}`, and the issue timeline does not say who applied it",
                label.label(names)
            ),
            format!(
                "remove `{}` and let {who_may} re-apply it, or remove it and let shipgate add `{computed_label}`",
                label.label(names)
            ),
        ),
        Refusal::LowerOutsideTeams { label, by, teams } => (
            format!(
                "`{}` is lower than the computed tier `{computed}`, and `{by}` who applied it is not in {} (author: `{author}`)",
                label.label(names),
                policy::list(teams)
            ),
            format!(
                "remove `{}` (the next run adds `{computed_label}`), or have {who_may} apply the lower label",
                label.label(names)
            ),
        ),
    }
}

/// The decision's fields and reasons, shared by both modes.
fn with_decision(mut outcome: Outcome, decision: &Decision) -> Outcome {
    let uncounted = decision.files_total - decision.files_counted;
    outcome = outcome.reason(format!(
        "{} changed file{}, {} counted, {} counted line{}{}",
        decision.files_total,
        plural(decision.files_total),
        decision.files_counted,
        decision.lines_counted,
        plural(decision.lines_counted),
        if uncounted == 0 {
            String::new()
        } else {
            format!(" ({uncounted} not counted for size: lockfiles, vendored or generated)")
        }
    ));
    for fired in &decision.rules {
        let mut line = format!("{} → {}: {}", fired.rule, fired.tier, fired.detail);
        if fired.files.len() > TEXT_FILES {
            let shown: Vec<String> = fired.files[..TEXT_FILES]
                .iter()
                .map(|f| format!("`{f}`"))
                .collect();
            line.push_str(&format!(
                ": {} and {} more",
                shown.join(", "),
                fired.files.len() - TEXT_FILES
            ));
        } else if !fired.files.is_empty() {
            line.push_str(": ");
            line.push_str(&policy::list(&fired.files));
        }
        outcome = outcome.reason(line);
    }
    outcome
        .field("files_total", decision.files_total)
        .field("files_counted", decision.files_counted)
        .field("lines_counted", decision.lines_counted)
        .field(
            "rules",
            serde_json::to_value(&decision.rules).expect("rules are plain strings and numbers"),
        )
        .field(
            "uncounted",
            decision
                .uncounted
                .iter()
                .map(|(file, why)| json!({"file": file, "why": why}))
                .collect::<Vec<_>>(),
        )
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
