//! The step outputs (`GITHUB_OUTPUT`): every name a mode may write, declared once with
//! what it means, so the binary, `action.yml`'s `outputs:` and the README's Outputs table
//! cannot drift apart (a test holds the two files equal to [`Output::ALL`]).

/// Declares [`Output`], its list, its names and its meanings once.
macro_rules! outputs {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal / $meaning:literal,)+) => {
        /// A step output a run may write.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Output {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Output {
            /// Every output, in the order of `action.yml` and the README's table.
            pub const ALL: &'static [Output] = &[$(Output::$variant,)+];

            /// The name a workflow reads (`steps.<id>.outputs.<name>`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Output::$variant => $name,)+
                }
            }

            /// What it holds: `action.yml`'s `description` and the README's meaning.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Output::$variant => $meaning,)+
                }
            }
        }
    };
}

outputs! {
    /// Every run: the verdict.
    Result = "result" / "ok, no, cannot-verify, not-applicable or usage (also set when the action itself fails)",
    /// tier and review-fire: the tier the pull request carries.
    Tier = "tier" / "tier, review-fire: the tier the pull request carries (low, medium, high)",
    /// tier: the tier the diff computes.
    ComputedTier = "computed-tier" / "tier: the tier the diff computes (the carried tier differs when a higher label, or an override team's lower one, was kept)",
    /// tier: what was done to the labels.
    LabelAction = "label-action" / "tier: added, would-add (dry run), unchanged, kept-higher, kept-override or refused",
    /// review-fire: the head the gates were decided on.
    HeadSha = "head-sha" / "review-fire: the pull request's head commit the gates were decided on",
    /// sync: how staging moved.
    MergeKind = "merge-kind" / "sync: up-to-date, fast-forward or merge",
    /// sync: staging's new tip.
    NewSha = "new-sha" / "sync: the new tip of the target branch",
    /// promote: where main went.
    PromotedSha = "promoted-sha" / "promote: the commit main was moved to (empty when it was not moved)",
    /// promote and retarget: what was planned or done.
    Plan = "plan" / "promote: up-to-date, promoted, scheduled, waiting or blocked; retarget: retargeted, refused or not-applicable",
}

#[cfg(test)]
mod tests {
    use super::Output;

    #[test]
    fn names_are_unique_kebab_case() {
        let mut names: Vec<&str> = Output::ALL.iter().map(|o| o.name()).collect();
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Output::ALL.len());
    }
}
