//! The pure decisions of sync: what to do with the two tips, what a rejected push means,
//! and the texts (merge message, manual recipe). No I/O.

/// The tips of `from` (main) and `to` (staging), and what git says of the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tips<Id> {
    pub from: Id,
    pub to: Id,
    /// The best common ancestors of the two tips (`git merge-base --all`).
    pub bases: Vec<Id>,
    /// Conflicting paths of the merge, once it was tried; `None` before.
    pub conflicts: Option<Vec<String>>,
}

/// What sync does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// `from` is already contained in `to`: nothing to push.
    UpToDate,
    /// `to` is an ancestor of `from`: move `to` to `from`'s tip, no new commit.
    FastForward,
    /// Both have commits of their own: a merge commit with parents (`to`, `from`).
    Merge,
    /// The merge has conflicts: nothing is pushed.
    Conflict { paths: Vec<String> },
    /// No common history at all: refused like `git merge` without
    /// `--allow-unrelated-histories`.
    Unrelated,
}

impl Plan {
    /// The name used in JSON (`plan`) and the `merge-kind` output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Plan::UpToDate => "up-to-date",
            Plan::FastForward => "fast-forward",
            Plan::Merge => "merge",
            Plan::Conflict { .. } => "conflict",
            Plan::Unrelated => "unrelated",
        }
    }
}

/// Decide from the facts. `from` inside the bases means it is an ancestor of `to`;
/// `to` inside the bases means it is an ancestor of `from`.
pub fn plan<Id: PartialEq>(facts: &Tips<Id>) -> Plan {
    if facts.from == facts.to || facts.bases.contains(&facts.from) {
        return Plan::UpToDate;
    }
    if facts.bases.contains(&facts.to) {
        return Plan::FastForward;
    }
    if facts.bases.is_empty() {
        return Plan::Unrelated;
    }
    match &facts.conflicts {
        Some(paths) if !paths.is_empty() => Plan::Conflict {
            paths: paths.clone(),
        },
        _ => Plan::Merge,
    }
}

/// Why the server refused an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRefusal {
    /// A hook or branch protection said no: retrying cannot help (runbook C).
    Protected,
    /// The branch moved since it was read: re-fetch and re-plan.
    Moved,
    /// Anything else the server said.
    Other,
}

/// Classify an `ng <ref> <reason>` line together with the `remote:` messages.
pub fn classify_rejection(reason: &str, messages: &[String]) -> PushRefusal {
    let reason = reason.to_ascii_lowercase();
    let said = |needle: &str| {
        reason.contains(needle)
            || messages
                .iter()
                .any(|m| m.to_ascii_lowercase().contains(needle))
    };
    if reason.contains("hook declined") || said("protected branch") || said("not allowed to push") {
        return PushRefusal::Protected;
    }
    if [
        "failed to update ref",
        // git 2.50 on (batched ref updates) says this for a stale expected old value.
        "incorrect old value provided",
        "failed to lock",
        "cannot lock ref",
        "stale info",
        "fetch first",
        "non-fast-forward",
    ]
    .iter()
    .any(|needle| said(needle))
    {
        return PushRefusal::Moved;
    }
    PushRefusal::Other
}

/// The merge commit message: `{from}`, `{to}` and `{main_short}` (8 hex of `from`'s tip)
/// replaced.
pub fn message(template: &str, from: &str, to: &str, from_sha: &str) -> String {
    template
        .replace("{from}", from)
        .replace("{to}", to)
        .replace("{main_short}", crate::sha::short(from_sha))
}

/// Runbook A: the manual merge, as Markdown for the log and the step summary.
pub fn recipe(from: &str, to: &str, paths: &[String]) -> String {
    let mut text = format!(
        "#### Manual sync (runbook A)\n\nThe merge of `{from}` into `{to}` conflicts, so nothing was pushed. Merge by hand:\n\n```sh\ngit fetch origin\ngit switch {to}   # or: git switch -c {to} origin/{to}\ngit pull --ff-only origin {to}\ngit merge --no-ff origin/{from}\n# resolve the conflicts, then:\ngit add -A && git commit\ngit push origin {to}\n```\n\nThe push is accepted only from an account on `{to}`'s push allowlist (Settings → Branches; the sync account is on it): anyone else's is refused by the branch protection. Then the next sync finds `{to}` up to date.\n"
    );
    if !paths.is_empty() {
        text.push_str("\nConflicting paths:\n\n");
        for path in paths {
            text.push_str(&format!("- `{path}`\n"));
        }
    }
    text
}

/// Runbook C, for a push refused by a hook or branch protection.
pub fn runbook_protected(to: &str, login: Option<&str>) -> String {
    let who = login.map_or_else(
        || "the account that owns SHIPGATE_TOKEN".to_owned(),
        |l| format!("`{l}`"),
    );
    format!(
        "runbook C: the server refused the push to `{to}` (branch protection or a pre-receive hook): add {who} to the push allowlist of `{to}`'s branch protection (Settings → Branches), or let it bypass the hook; the automatic Actions token cannot push to protected branches before Gitea 1.27. Never force-push instead"
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::git::graph::{self, History};

    fn facts(from: u8, to: u8, bases: &[u8], conflicts: Option<&[&str]>) -> Tips<u8> {
        Tips {
            from,
            to,
            bases: bases.to_vec(),
            conflicts: conflicts.map(|c| c.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn plan_table() {
        let cases = [
            ("same tip", facts(1, 1, &[1], None), Plan::UpToDate),
            (
                "main inside staging",
                facts(1, 2, &[1], None),
                Plan::UpToDate,
            ),
            (
                "staging behind main",
                facts(2, 1, &[1], None),
                Plan::FastForward,
            ),
            (
                "diverged, not merged yet",
                facts(2, 3, &[1], None),
                Plan::Merge,
            ),
            (
                "diverged, clean merge",
                facts(2, 3, &[1], Some(&[])),
                Plan::Merge,
            ),
            (
                "diverged, conflicts",
                facts(2, 3, &[1], Some(&["a.txt"])),
                Plan::Conflict {
                    paths: vec!["a.txt".into()],
                },
            ),
            ("criss-cross", facts(5, 6, &[1, 2], None), Plan::Merge),
            ("unrelated", facts(1, 2, &[], None), Plan::Unrelated),
        ];
        for (name, facts, expected) in cases {
            assert_eq!(plan(&facts), expected, "{name}");
        }
    }

    #[test]
    fn plan_names() {
        assert_eq!(Plan::UpToDate.as_str(), "up-to-date");
        assert_eq!(Plan::FastForward.as_str(), "fast-forward");
        assert_eq!(Plan::Merge.as_str(), "merge");
        assert_eq!(Plan::Conflict { paths: vec![] }.as_str(), "conflict");
    }

    #[test]
    fn rejection_table() {
        let m = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let cases = [
            (
                "pre-receive hook declined",
                m(&["Gitea: Not allowed to push to protected branch staging"]),
                PushRefusal::Protected,
            ),
            (
                "protected branch hook declined",
                m(&[]),
                PushRefusal::Protected,
            ),
            (
                "failed to update ref",
                m(&["error: cannot lock ref 'refs/heads/staging': is at 1 but expected 2"]),
                PushRefusal::Moved,
            ),
            ("incorrect old value provided", m(&[]), PushRefusal::Moved),
            ("stale info", m(&[]), PushRefusal::Moved),
            ("non-fast-forward", m(&[]), PushRefusal::Moved),
            ("funny refname", m(&[]), PushRefusal::Other),
            // Each phrase alone is enough, in the reason or in a `remote:` line.
            (
                "denied",
                m(&["staging is a protected branch"]),
                PushRefusal::Protected,
            ),
            (
                "denied",
                m(&["you are not allowed to push code here"]),
                PushRefusal::Protected,
            ),
            ("protected branch", m(&[]), PushRefusal::Protected),
            ("denied", m(&["fetch first"]), PushRefusal::Moved),
        ];
        for (reason, messages, expected) in cases {
            assert_eq!(classify_rejection(reason, &messages), expected, "{reason}");
        }
    }

    #[test]
    fn default_message() {
        let template = crate::config::SyncConfig::default().message;
        assert_eq!(
            message(&template, "main", "staging", "0123456789abcdef"),
            "chore: sync main → staging (auto, 01234567)"
        );
        assert_eq!(
            message("{to}<-{from} {main_short}", "a", "b", "12"),
            "b<-a 12"
        );
    }

    #[test]
    fn recipe_lists_paths_and_steps() {
        let text = recipe("main", "staging", &["src/a.rs".into()]);
        assert!(text.contains("git merge --no-ff origin/main"), "{text}");
        assert!(text.contains("git push origin staging"), "{text}");
        assert!(
            text.contains("only from an account on `staging`'s push allowlist"),
            "{text}"
        );
        assert!(text.contains("- `src/a.rs`"), "{text}");
        assert!(!text.contains("--force"), "{text}");
    }

    #[test]
    fn protected_runbook_names_the_account() {
        let text = runbook_protected("staging", Some("bot"));
        assert!(
            text.contains("`bot`") && text.contains("allowlist"),
            "{text}"
        );
    }

    /// A history in a map for the property test.
    struct Map(Vec<Vec<u32>>);
    impl History for Map {
        type Id = u32;
        type Error = String;
        fn commit(&mut self, id: u32) -> Result<graph::Commit<u32>, String> {
            let parents = self.0.get(id as usize).cloned().ok_or("missing")?;
            Ok(graph::Commit {
                parents,
                time: i64::from(id),
                shallow: false,
            })
        }
    }

    fn reachable(parents: &[Vec<u32>], from: u32, target: u32) -> bool {
        let mut stack = vec![from];
        let mut seen = std::collections::HashSet::new();
        while let Some(id) = stack.pop() {
            if id == target {
                return true;
            }
            if seen.insert(id) {
                stack.extend(parents[id as usize].iter().copied());
            }
        }
        false
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Over random histories, the plan matches brute-force ancestry.
        #[test]
        fn plan_agrees_with_ancestry(
            parents in (2usize..30).prop_flat_map(|n| {
                (0..n).map(|i| {
                    if i == 0 { Just(vec![]).boxed() } else {
                        prop::collection::vec(0..u32::try_from(i).expect("small"), 1..=2).boxed()
                    }
                }).collect::<Vec<_>>()
            }),
            picks in (0u32..1000, 0u32..1000),
        ) {
            let n = u32::try_from(parents.len()).expect("small");
            let (from, to) = (picks.0 % n, picks.1 % n);
            let mut history = Map(parents.clone());
            let graph::Bases::Found(bases) = graph::merge_bases(&mut history, from, to).expect("walk") else {
                panic!("a full history never needs more");
            };
            let decided = plan(&Tips { from, to, bases, conflicts: None });
            let from_in_to = reachable(&parents, to, from);
            let to_in_from = reachable(&parents, from, to);
            let expected = if from_in_to {
                Plan::UpToDate
            } else if to_in_from {
                Plan::FastForward
            } else {
                Plan::Merge // every commit descends from 0, so histories are related
            };
            prop_assert_eq!(decided, expected);
        }
    }
}
