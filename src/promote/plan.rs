//! The pure decisions of promote: which contexts are required, what their newest states
//! say, and what to do with the two tips. No I/O: the facts come in as plain data.

use std::collections::BTreeMap;

/// Who requires a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// `promote.required_contexts` in the default branch's config.
    Config,
    /// The target branch's protection rule (`status_check_contexts`).
    Protection,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Protection => "protection",
        }
    }
}

/// One required context pattern (a glob, or a plain name) and who requires it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub pattern: String,
    pub sources: Vec<Source>,
}

/// Merge the config's globs and the protection's contexts into one list, each pattern
/// once, remembering who asked for it. Order: config first, then protection.
pub fn requirements(config: &[String], protection: &[String]) -> Vec<Requirement> {
    let mut out: Vec<Requirement> = Vec::new();
    for (source, patterns) in [(Source::Config, config), (Source::Protection, protection)] {
        for pattern in patterns {
            let pattern = pattern.trim();
            if pattern.is_empty() {
                continue;
            }
            match out.iter_mut().find(|r| r.pattern == pattern) {
                Some(existing) => {
                    if !existing.sources.contains(&source) {
                        existing.sources.push(source);
                    }
                }
                None => out.push(Requirement {
                    pattern: pattern.to_owned(),
                    sources: vec![source],
                }),
            }
        }
    }
    out
}

/// The newest state of one context on the candidate commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub context: String,
    /// `success`, `pending`, `failure`, `error`, `warning`, `skipped`…
    pub state: String,
}

/// How a required context stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    Success,
    /// Pending, or no status yet: may still turn green.
    Waiting,
    /// `failure`, `error`, or any state that is not success and will not become it by
    /// itself (`warning`, `skipped`, unknown): a new status is needed.
    Failing,
}

/// One row of the report: a context (or a pattern nothing matched) and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub context: String,
    /// The newest state, or `missing`.
    pub state: String,
    pub required_by: Vec<Source>,
    pub standing: Standing,
}

fn standing_of(state: &str) -> Standing {
    match state {
        "success" => Standing::Success,
        "pending" => Standing::Waiting,
        _ => Standing::Failing,
    }
}

/// Does `context` match `pattern`? A pattern that is not a valid glob matches only
/// itself, byte for byte.
pub fn matches(pattern: &str, context: &str) -> bool {
    crate::glob::context_matches(pattern, context)
}

/// Judge every requirement against the newest statuses (one per context). A pattern
/// counts as green only when it matches at least one context and every context it
/// matches is `success`.
pub fn checks(requirements: &[Requirement], statuses: &[Status]) -> Vec<Check> {
    let mut rows: BTreeMap<String, Check> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for requirement in requirements {
        let matched: Vec<&Status> = statuses
            .iter()
            .filter(|s| matches(&requirement.pattern, &s.context))
            .collect();
        if matched.is_empty() {
            let key = requirement.pattern.clone();
            add_row(
                &mut rows,
                &mut order,
                key,
                "missing",
                Standing::Waiting,
                &requirement.sources,
            );
            continue;
        }
        for status in matched {
            add_row(
                &mut rows,
                &mut order,
                status.context.clone(),
                &status.state,
                standing_of(&status.state),
                &requirement.sources,
            );
        }
    }
    order
        .into_iter()
        .filter_map(|key| rows.remove(&key))
        .collect()
}

fn add_row(
    rows: &mut BTreeMap<String, Check>,
    order: &mut Vec<String>,
    context: String,
    state: &str,
    standing: Standing,
    sources: &[Source],
) {
    let row = rows.entry(context.clone()).or_insert_with(|| {
        order.push(context.clone());
        Check {
            context,
            state: state.to_owned(),
            required_by: Vec::new(),
            standing,
        }
    });
    for source in sources {
        if !row.required_by.contains(source) {
            row.required_by.push(*source);
        }
    }
    row.required_by.sort();
}

/// Everything promote decides from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The candidate S: `from`'s head.
    pub from_tip: String,
    /// `to`'s tip.
    pub to_tip: String,
    /// Is `to`'s tip an ancestor of (or equal to) S?
    pub to_in_from: bool,
    pub requirements: Vec<Requirement>,
    /// Newest status per context on S.
    pub statuses: Vec<Status>,
    /// The merge may be left to Gitea once checks succeed (`--via pull-request`,
    /// `promote.schedule`, and the protection requires every required pattern).
    pub can_schedule: bool,
}

/// What promote does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// `to` already is S: nothing to do.
    UpToDate,
    /// `to` has commits S lacks: refused, run sync first.
    NotContained,
    /// Nothing names a required context: green cannot be known (exit 2).
    NoRequirements,
    /// A required context failed: refused, naming it.
    Blocked { failing: Vec<String> },
    /// Required contexts are pending or missing.
    Waiting { missing: Vec<String> },
    /// Pending, and Gitea can merge once its own protection checks pass.
    Schedule { missing: Vec<String> },
    /// Every required context is `success` on S: move `to` to S.
    Promote,
}

impl Plan {
    /// The JSON `plan` value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Plan::UpToDate => "up-to-date",
            Plan::Promote => "promoted",
            Plan::Schedule { .. } => "scheduled",
            Plan::Waiting { .. } => "waiting",
            Plan::NotContained | Plan::NoRequirements | Plan::Blocked { .. } => "blocked",
        }
    }
}

/// Decide. Order matters: nothing to do beats everything; containment beats statuses
/// (a non-fast-forward is refused whatever the checks say); then green must be knowable;
/// one failure blocks even while others are pending.
pub fn decide(facts: &Evidence) -> (Plan, Vec<Check>) {
    let rows = checks(&facts.requirements, &facts.statuses);
    if facts.from_tip == facts.to_tip {
        return (Plan::UpToDate, rows);
    }
    if !facts.to_in_from {
        return (Plan::NotContained, rows);
    }
    if facts.requirements.is_empty() {
        return (Plan::NoRequirements, rows);
    }
    let failing: Vec<String> = rows
        .iter()
        .filter(|r| r.standing == Standing::Failing)
        .map(|r| format!("`{}` ({})", r.context, r.state))
        .collect();
    if !failing.is_empty() {
        return (Plan::Blocked { failing }, rows);
    }
    let missing: Vec<String> = rows
        .iter()
        .filter(|r| r.standing == Standing::Waiting)
        .map(|r| format!("`{}` ({})", r.context, r.state))
        .collect();
    if !missing.is_empty() {
        let plan = if facts.can_schedule {
            Plan::Schedule { missing }
        } else {
            Plan::Waiting { missing }
        };
        return (plan, rows);
    }
    (Plan::Promote, rows)
}

/// May Gitea be left to merge when checks succeed? Only when its own rule checks every
/// pattern we require: the scheduled merge is judged by the protection alone.
pub fn protection_covers(requirements: &[Requirement]) -> bool {
    !requirements.is_empty()
        && requirements
            .iter()
            .all(|r| r.sources.contains(&Source::Protection))
}

/// The promotion PR's title.
pub fn title(template: &str, from: &str, to: &str, sha: &str) -> String {
    template
        .replace("{from}", from)
        .replace("{to}", to)
        .replace("{short}", crate::sha::short(sha))
}

/// The promotion PR's body: what is promoted and which statuses were green.
pub fn body(from: &str, to: &str, sha: &str, rows: &[Check]) -> String {
    let mut text = format!(
        "Promotes `{from}` at `{sha}` to `{to}` (fast-forward only, opened by shipgate promote).\n\n| context | state | required by |\n|---|---|---|\n"
    );
    for row in rows {
        let by: Vec<&str> = row.required_by.iter().map(|s| s.as_str()).collect();
        text.push_str(&format!(
            "| {} | {} | {} |\n",
            row.context.replace('|', "\\|"),
            row.state,
            by.join(", ")
        ));
    }
    text
}

pub use crate::forge::MergeRefusal as Refusal;

/// Classify a 405/409 answer to the merge request by status and message.
pub fn classify_refusal(status: u16, message: &str) -> Refusal {
    Refusal::classify(status, message)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn status(context: &str, state: &str) -> Status {
        Status {
            context: context.into(),
            state: state.into(),
        }
    }

    fn facts(statuses: &[(&str, &str)], config: &[&str], protection: &[&str]) -> Evidence {
        let config: Vec<String> = config.iter().map(|s| (*s).to_owned()).collect();
        let protection: Vec<String> = protection.iter().map(|s| (*s).to_owned()).collect();
        Evidence {
            from_tip: "s".into(),
            to_tip: "m".into(),
            to_in_from: true,
            requirements: requirements(&config, &protection),
            statuses: statuses.iter().map(|(c, s)| status(c, s)).collect(),
            can_schedule: false,
        }
    }

    #[test]
    fn decide_table() {
        let ci = "ci / build (push)";
        let cases: Vec<(&str, Evidence, &str)> = vec![
            (
                "all green",
                facts(&[(ci, "success")], &[ci], &[]),
                "promoted",
            ),
            (
                "one pending",
                facts(&[(ci, "pending")], &[ci], &[]),
                "waiting",
            ),
            ("one missing", facts(&[], &[ci], &[]), "waiting"),
            (
                "one failure",
                facts(&[(ci, "failure")], &[ci], &[]),
                "blocked",
            ),
            ("error", facts(&[(ci, "error")], &[ci], &[]), "blocked"),
            ("warning", facts(&[(ci, "warning")], &[ci], &[]), "blocked"),
            (
                "failure beats pending",
                facts(&[(ci, "pending"), ("lint", "failure")], &[ci, "lint"], &[]),
                "blocked",
            ),
            (
                "protection only",
                facts(&[(ci, "success")], &[], &[ci]),
                "promoted",
            ),
            (
                "no requirement at all",
                facts(&[(ci, "success")], &[], &[]),
                "blocked",
            ),
            (
                "glob: every match must be green",
                facts(
                    &[("ci / a", "success"), ("ci / b", "pending")],
                    &["ci / *"],
                    &[],
                ),
                "waiting",
            ),
            (
                "glob: all green",
                facts(
                    &[
                        ("ci / a", "success"),
                        ("ci / b", "success"),
                        ("x", "failure"),
                    ],
                    &["ci / *"],
                    &[],
                ),
                "promoted",
            ),
            (
                "unrequired failure is ignored",
                facts(&[(ci, "success"), ("other", "failure")], &[ci], &[]),
                "promoted",
            ),
        ];
        for (name, facts, expected) in cases {
            assert_eq!(decide(&facts).0.as_str(), expected, "{name}");
        }
    }

    #[test]
    fn tips_decide_first() {
        let mut same = facts(&[], &[], &[]);
        same.to_tip = "s".into();
        assert_eq!(decide(&same).0, Plan::UpToDate);
        let mut behind = facts(&[("ci", "success")], &["ci"], &[]);
        behind.to_in_from = false;
        assert_eq!(decide(&behind).0, Plan::NotContained);
        assert_eq!(
            decide(&facts(&[], &[], &[])).0,
            Plan::NoRequirements,
            "no list: cannot know what green means"
        );
    }

    #[test]
    fn schedule_only_when_protection_covers_everything() {
        let both = requirements(&["ci".into()], &["ci".into()]);
        assert!(protection_covers(&both));
        let config_only = requirements(&["ci".into(), "lint".into()], &["ci".into()]);
        assert!(!protection_covers(&config_only));
        assert!(!protection_covers(&[]));
        let mut pending = facts(&[("ci", "pending")], &["ci"], &["ci"]);
        pending.can_schedule = protection_covers(&pending.requirements);
        assert_eq!(decide(&pending).0.as_str(), "scheduled");
        let mut failing = facts(&[("ci", "failure")], &["ci"], &["ci"]);
        failing.can_schedule = true;
        assert_eq!(decide(&failing).0.as_str(), "blocked");
    }

    #[test]
    fn rows_name_who_requires_what() {
        let reqs = requirements(&["ci / *".into(), "lint".into()], &["lint".into()]);
        let rows = checks(
            &reqs,
            &[status("ci / a", "success"), status("lint", "pending")],
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].context, "ci / a");
        assert_eq!(rows[0].required_by, vec![Source::Config]);
        assert_eq!(
            rows[1].required_by,
            vec![Source::Config, Source::Protection]
        );
        let rows = checks(&reqs, &[]);
        assert_eq!(rows[0].state, "missing");
        assert_eq!(rows[0].context, "ci / *");
    }

    #[test]
    fn refusals() {
        assert_eq!(classify_refusal(409, "head out of date"), Refusal::Moved);
        assert_eq!(
            classify_refusal(409, "merge push out of date"),
            Refusal::Moved
        );
        assert_eq!(
            classify_refusal(405, "Please try again later"),
            Refusal::NotReady
        );
        assert_eq!(
            classify_refusal(405, "Not all required status checks successful"),
            Refusal::Refused
        );
        assert_eq!(
            classify_refusal(409, "pull request is already scheduled to auto merge"),
            Refusal::Refused
        );
    }

    #[test]
    fn body_lists_the_checks() {
        let reqs = requirements(&["ci".into()], &[]);
        let rows = checks(&reqs, &[status("ci", "success")]);
        let text = body("staging", "main", "abc", &rows);
        assert!(text.contains("| ci | success | config |"), "{text}");
        assert_eq!(
            title(
                "promote {from} → {to} ({short})",
                "staging",
                "main",
                "0123456789"
            ),
            "promote staging → main (01234567)"
        );
    }

    // ---- the invariant, over random worlds ------------------------------------------

    /// A toy Gitea: a linear-or-branching history, two branch tips, statuses per commit,
    /// and the merge endpoint's rules (fast-forward only, `head_commit_id`).
    #[derive(Debug, Clone)]
    struct World {
        parents: Vec<Vec<usize>>,
        main: usize,
        staging: usize,
        /// (commit, context) → newest state.
        statuses: BTreeMap<(usize, String), String>,
    }

    impl World {
        fn is_ancestor(&self, ancestor: usize, of: usize) -> bool {
            let mut stack = vec![of];
            let mut seen = std::collections::HashSet::new();
            while let Some(id) = stack.pop() {
                if id == ancestor {
                    return true;
                }
                if seen.insert(id) {
                    stack.extend(self.parents[id].iter().copied());
                }
            }
            false
        }

        fn green(&self, commit: usize, required: &[String]) -> bool {
            !required.is_empty()
                && required.iter().all(|c| {
                    self.statuses.get(&(commit, c.clone())).map(String::as_str) == Some("success")
                })
        }

        fn facts(&self, required: &[String]) -> Evidence {
            Evidence {
                from_tip: self.staging.to_string(),
                to_tip: self.main.to_string(),
                to_in_from: self.is_ancestor(self.main, self.staging),
                requirements: requirements(required, &[]),
                statuses: self
                    .statuses
                    .iter()
                    .filter(|((c, _), _)| *c == self.staging)
                    .map(|((_, context), state)| status(context, state))
                    .collect(),
                can_schedule: false,
            }
        }

        /// Gitea's fast-forward-only merge with `head_commit_id`.
        fn merge(&mut self, head_commit_id: usize) -> Result<(), &'static str> {
            if self.staging != head_commit_id {
                return Err("head out of date");
            }
            if !self.is_ancestor(self.main, self.staging) {
                return Err("diverging");
            }
            self.main = self.staging;
            Ok(())
        }

        fn apply(&mut self, event: &Event) {
            match event {
                Event::Commit { on_staging } => {
                    let parent = if *on_staging { self.staging } else { self.main };
                    self.parents.push(vec![parent]);
                    let id = self.parents.len() - 1;
                    if *on_staging {
                        self.staging = id;
                    } else {
                        // A commit straight to main (someone bypassing staging).
                        self.main = id;
                    }
                }
                Event::Sync => {
                    if !self.is_ancestor(self.main, self.staging) {
                        self.parents.push(vec![self.staging, self.main]);
                        self.staging = self.parents.len() - 1;
                    }
                }
                Event::Status {
                    context,
                    state,
                    back,
                } => {
                    let commit = self.staging.saturating_sub(*back);
                    self.statuses
                        .insert((commit, format!("c{context}")), (*state).to_owned());
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Event {
        Commit {
            on_staging: bool,
        },
        Sync,
        Status {
            context: u8,
            state: &'static str,
            back: usize,
        },
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            3 => Just(Event::Commit { on_staging: true }),
            1 => Just(Event::Commit { on_staging: false }),
            1 => Just(Event::Sync),
            6 => (0u8..3, prop::sample::select(vec!["success", "pending", "failure", "error"]), 0usize..2)
                .prop_map(|(context, state, back)| Event::Status { context, state, back }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// main only ever moves forward, and only to a commit whose required contexts were
        /// all `success` when it moved — also when the world changes between the decision
        /// and the merge (the merge then carries the decided commit as `head_commit_id`).
        #[test]
        fn main_moves_forward_only_to_green_commits(
            steps in prop::collection::vec((event(), prop::option::of(event()), any::<bool>()), 1..40),
            contexts in 1usize..3,
        ) {
            let required: Vec<String> = (0..contexts).map(|c| format!("c{c}")).collect();
            let mut world = World {
                parents: vec![vec![]],
                main: 0,
                staging: 0,
                statuses: BTreeMap::new(),
            };
            for (before, between, promote) in steps {
                world.apply(&before);
                if !promote {
                    continue;
                }
                let old_main = world.main;
                let (plan, _) = decide(&world.facts(&required));
                let candidate = world.staging;
                let green_when_decided = world.green(candidate, &required);
                // The race: anything may happen between the decision and the merge.
                if let Some(event) = &between {
                    world.apply(event);
                }
                let before_merge = world.main;
                let merged = plan == Plan::Promote && world.merge(candidate).is_ok();
                if merged {
                    prop_assert_eq!(before_merge, old_main, "a direct push to main makes the merge diverge");
                    // Forward: the old tip is an ancestor of the new one.
                    prop_assert!(world.is_ancestor(old_main, world.main));
                    // Only the decided commit, which was green when decided.
                    prop_assert_eq!(world.main, candidate);
                    prop_assert!(green_when_decided);
                } else {
                    prop_assert_eq!(world.main, before_merge, "a refused merge moves nothing");
                }
            }
        }
    }
}
