//! Stable error codes: one kebab-case name for every way a run can end nonzero, shown in
//! the `::error` annotation's title, in the JSON (`error.code`) and in the step summary,
//! so a workflow, a dashboard or a person searching the README can tell failures apart
//! without parsing messages. A code never changes meaning; a new failure gets a new code.
//! The README's "Error codes" table lists every one with what to do (a test holds the two
//! equal).

/// Declares [`Code`], its list, its names and its titles once, so they cannot disagree.
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal / $title:literal,)+) => {
        /// Why a run ended nonzero (see the module documentation).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Code {
            /// Every code, in the order of the README's table.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)+];

            /// The stable kebab-case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)+
                }
            }

            /// The few words of the annotation's title (`shipgate MODE: TITLE [CODE]`); a
            /// title may be reworded, the code never.
            pub fn title(self) -> &'static str {
                match self {
                    $(Code::$variant => $title,)+
                }
            }
        }
    };
}

codes! {
    // ---- any mode ----
    /// The command line was wrong (exit 64).
    Usage = "usage" / "usage error",
    /// A token the mode needs is not in the environment.
    TokenMissing = "token-missing" / "token missing",
    /// The server, repository or pull request could not be told from the environment.
    ContextMissing = "context-missing" / "context missing",
    /// The event payload (`GITHUB_EVENT_PATH`) could not be read.
    EventUnreadable = "event-unreadable" / "event payload unreadable",
    /// The config file could not be read.
    ConfigUnreadable = "config-unreadable" / "configuration unreadable",
    /// The config file is not valid YAML of the config's shape.
    ConfigParse = "config-parse" / "configuration malformed",
    /// The config file parses but breaks a rule (every problem is listed).
    ConfigInvalid = "config-invalid" / "configuration invalid",
    /// The API refused the token (401).
    ForgeUnauthorized = "forge-unauthorized" / "forge: unauthorized",
    /// The API refused the token's account or scopes (403).
    ForgeForbidden = "forge-forbidden" / "forge: forbidden",
    /// The API answered 404 where the object must exist.
    ForgeNotFound = "forge-not-found" / "forge: not found",
    /// The API refused the operation on this object (405).
    ForgeNotAllowed = "forge-not-allowed" / "forge: not allowed",
    /// The API answered 409 Conflict.
    ForgeConflict = "forge-conflict" / "forge: conflict",
    /// The API answered 422 Unprocessable.
    ForgeUnprocessable = "forge-unprocessable" / "forge: unprocessable",
    /// The API did not answer in time, or answered 429/5xx, through every retry.
    ForgeUnreachable = "forge-unreachable" / "forge: unreachable",
    /// The API's answer was malformed, truncated or incomplete.
    ForgeBadResponse = "forge-bad-response" / "forge: bad response",
    /// The API client could not be set up (a bad server URL or token value).
    ForgeSetup = "forge-setup" / "forge: setup",
    /// The git remote URL is not usable.
    GitInvalidRemote = "git-invalid-remote" / "git: invalid remote",
    /// A branch name is not valid, or both branches are the same.
    GitInvalidBranch = "git-invalid-branch" / "git: invalid branch",
    /// The git server refused the credentials (401).
    GitUnauthorized = "git-unauthorized" / "git: unauthorized",
    /// The git server refused the account (403).
    GitForbidden = "git-forbidden" / "git: forbidden",
    /// The git server has no such repository.
    GitNotFound = "git-not-found" / "git: repository not found",
    /// The git server could not be reached.
    GitUnreachable = "git-unreachable" / "git: unreachable",
    /// A fetch or push broke off.
    GitTransport = "git-transport" / "git: transfer failed",
    /// The git server did not speak git smart HTTP as expected.
    GitBadResponse = "git-bad-response" / "git: bad response",
    /// A branch the mode needs does not exist.
    GitMissingBranch = "git-missing-branch" / "git: missing branch",
    /// The local (in-memory or temporary) repository failed.
    GitLocal = "git-local" / "git: local repository",
    /// The in-memory merge failed.
    GitMerge = "git-merge" / "git: merge failed",
    /// The history needed to decide is not available.
    GitHistory = "git-history" / "git: history",
    /// The report could not be written (stdout, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`).
    ReportNotWritten = "report-not-written" / "report not written",
    /// shipgate panicked: a bug; the gate fails.
    Crashed = "crashed" / "crashed",
    /// A nonzero verdict that came without its reason: a bug; the gate fails.
    Unexplained = "unexplained" / "no reason recorded",

    // ---- sync ----
    /// The push was rejected (branch protection, a hook).
    SyncPushRejected = "sync-push-rejected" / "push rejected",
    /// Staging moved while syncing, through every retry.
    SyncRaced = "sync-raced" / "staging advanced concurrently",
    /// Merging main into staging conflicts: merge by hand (runbook A).
    SyncConflict = "sync-conflict" / "merge conflict",
    /// Main and staging share no history.
    SyncUnrelated = "sync-unrelated" / "unrelated histories",
    /// The merge commit's author could not be set.
    SyncAuthor = "sync-author" / "merge author unknown",
    /// The git work did not finish.
    SyncGitTask = "sync-git-task" / "git work unfinished",
    /// The token's account could not be read (to author the merge).
    SyncAccount = "sync-account" / "wrong token account",
    /// `--check-token`: the token's account may read the repository but not write it.
    SyncTokenReadOnly = "sync-token-read-only" / "token cannot write",

    // ---- tier ----
    /// The tier label was refused: two tier labels, or a lower one not allowed.
    TierLabelRefused = "tier-label-refused" / "tier label refused",
    /// The labels changed while shipgate wrote them.
    TierLabelsRaced = "tier-labels-raced" / "tier labels changed concurrently",
    /// The base branch's `.gitattributes` could not be read.
    TierGitattributes = "tier-gitattributes" / ".gitattributes unreadable",
    /// The pull request's head moved while it was read.
    TierHeadMoved = "tier-head-moved" / "head moved",
    /// A renamed file's old path could not be verified.
    TierRenames = "tier-renames" / "renames unverifiable",
    /// The pull request's labels could not be read.
    TierLabelsUnreadable = "tier-labels-unreadable" / "labels unreadable",
    /// The local git diff (`--local`) could not be computed.
    TierLocalGit = "tier-local-git" / "local git diff failed",
    /// Membership of an override team could not be verified.
    TierOverrideTeam = "tier-override-team" / "override team unverifiable",
    /// The tier policy does not compile.
    TierPolicy = "tier-policy" / "tier policy invalid",
    /// A missing tier label could not be created.
    TierLabelCreate = "tier-label-create" / "label not created",
    /// The tier label could not be added.
    TierLabelAdd = "tier-label-add" / "label not added",

    // ---- review-fire ----
    /// A dry run found a gate that would not be green.
    ReviewGatesNotPassed = "review-gates-not-passed" / "gates not passed",
    /// The review workflow cannot fire the gates by itself.
    ReviewAutoFireImpossible = "review-auto-fire-impossible" / "auto-fire impossible",
    /// The teams of the organization could not be read.
    ReviewTeamsUnreadable = "review-teams-unreadable" / "gate teams not visible",
    /// A reviewer's team membership could not be verified.
    ReviewMembershipUnreadable = "review-membership-unreadable" / "team membership unverifiable",
    /// The status token is missing or is the read token's account.
    ReviewStatusToken = "review-status-token" / "status token refused",
    /// The head kept moving while the reviews were read.
    ReviewHeadMoving = "review-head-moving" / "head kept moving",
    /// A workflow file at the head could not be read.
    ReviewWorkflowUnreadable = "review-workflow-unreadable" / "workflow unreadable",
    /// Every gate is green, but Gitea refused the merge `review.merge` asks for.
    ReviewMergeRefused = "review-merge-refused" / "merge refused",

    // ---- promote ----
    /// Staging does not contain main.
    PromoteNotContained = "promote-not-contained" / "staging does not contain main",
    /// A required check failed on staging's head.
    PromoteCheckFailed = "promote-check-failed" / "required check failed",
    /// A required check is not green yet.
    PromoteChecksPending = "promote-checks-pending" / "required checks not green yet",
    /// The branches moved while promoting, through every retry.
    PromoteRaced = "promote-raced" / "branches moved concurrently",
    /// The server refused the fast-forward merge.
    PromoteMergeRefused = "promote-merge-refused" / "merge refused",
    /// The push to main was rejected.
    PromotePushRejected = "promote-push-rejected" / "push rejected",
    /// No required status context is known: what green means cannot be told.
    PromoteNoContexts = "promote-no-contexts" / "no required contexts",
    /// Whether staging contains main could not be told.
    PromoteAncestryUnknown = "promote-ancestry-unknown" / "ancestry unknown",
    /// The merge's result could not be verified.
    PromoteMergeUnverified = "promote-merge-unverified" / "merge unverified",
    /// The git remote or a branch tip could not be read.
    PromoteRemote = "promote-remote" / "remote unusable",

    // ---- retarget ----
    /// The server refused the new base.
    RetargetRefused = "retarget-refused" / "retarget refused",
    /// The new base could not be verified after the change.
    RetargetUnverified = "retarget-unverified" / "new base unverified",

    // ---- doctor ----
    /// A check is ✗.
    DoctorSetupIncomplete = "doctor-setup-incomplete" / "setup incomplete",
    /// A check is `?` and none is ✗.
    DoctorSetupUnverified = "doctor-setup-unverified" / "setup unverified",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::Code;

    /// A title is a few lowercase words: it reads after `shipgate MODE: ` and before
    /// ` [CODE]`, so it holds no bracket.
    #[test]
    fn titles_are_short_lowercase_words() {
        for code in Code::ALL {
            let title = code.title();
            assert!(
                !title.is_empty()
                    && title.len() <= 32
                    && title == title.trim()
                    && !title.contains(['[', ']', '\n'])
                    && !title.chars().any(|c| c.is_ascii_uppercase()),
                "`{code}` has the title `{title}`"
            );
        }
    }

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let names: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len(), "a name used twice");
        for name in names {
            assert!(
                !name.is_empty()
                    && !name.starts_with('-')
                    && !name.ends_with('-')
                    && !name.contains("--")
                    && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "`{name}` is not kebab-case"
            );
        }
    }
}

/// The README's "Error codes" table lists exactly the codes of [`Code::ALL`], in order.
#[cfg(test)]
mod readme {
    use super::Code;

    #[test]
    fn the_readme_lists_every_code_and_no_other() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let section = readme
            .split("\n## Error codes\n")
            .nth(1)
            .expect("README has an `## Error codes` section");
        let section = section.split("\n## ").next().unwrap_or(section);
        let listed: Vec<(&str, &str)> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| {
                let (code, rest) = rest.split_once("` | ")?;
                let (title, _) = rest.split_once(" | ")?;
                Some((code, title))
            })
            .collect();
        let declared: Vec<(&str, &str)> =
            Code::ALL.iter().map(|c| (c.as_str(), c.title())).collect();
        assert_eq!(
            listed, declared,
            "README's error codes or titles differ from src/code.rs"
        );
    }
}
