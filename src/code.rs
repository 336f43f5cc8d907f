//! Stable error codes: one kebab-case name for every way a run can end nonzero, shown in
//! the `::error` annotation's title, in the JSON (`error.code`) and in the step summary,
//! so a workflow, a dashboard or a person searching the README can tell failures apart
//! without parsing messages. A code never changes meaning; a new failure gets a new code.
//! The README's "Error codes" table lists every one with what to do (a test holds the two
//! equal).

/// Declares [`Code`], its list and its names once, so the three cannot disagree.
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal,)+) => {
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
        }
    };
}

codes! {
    // ---- any mode ----
    /// The command line was wrong (exit 64).
    Usage = "usage",
    /// A token the mode needs is not in the environment.
    TokenMissing = "token-missing",
    /// The server, repository or pull request could not be told from the environment.
    ContextMissing = "context-missing",
    /// The event payload (`GITHUB_EVENT_PATH`) could not be read.
    EventUnreadable = "event-unreadable",
    /// The config file could not be read.
    ConfigUnreadable = "config-unreadable",
    /// The config file is not valid YAML of the config's shape.
    ConfigParse = "config-parse",
    /// The config file parses but breaks a rule (every problem is listed).
    ConfigInvalid = "config-invalid",
    /// The API refused the token (401).
    ForgeUnauthorized = "forge-unauthorized",
    /// The API refused the token's account or scopes (403).
    ForgeForbidden = "forge-forbidden",
    /// The API answered 404 where the object must exist.
    ForgeNotFound = "forge-not-found",
    /// The API refused the operation on this object (405).
    ForgeNotAllowed = "forge-not-allowed",
    /// The API answered 409 Conflict.
    ForgeConflict = "forge-conflict",
    /// The API answered 422 Unprocessable.
    ForgeUnprocessable = "forge-unprocessable",
    /// The API did not answer in time, or answered 429/5xx, through every retry.
    ForgeUnreachable = "forge-unreachable",
    /// The API's answer was malformed, truncated or incomplete.
    ForgeBadResponse = "forge-bad-response",
    /// The API client could not be set up (a bad server URL or token value).
    ForgeSetup = "forge-setup",
    /// The git remote URL is not usable.
    GitInvalidRemote = "git-invalid-remote",
    /// A branch name is not valid, or both branches are the same.
    GitInvalidBranch = "git-invalid-branch",
    /// The git server refused the credentials (401).
    GitUnauthorized = "git-unauthorized",
    /// The git server refused the account (403).
    GitForbidden = "git-forbidden",
    /// The git server has no such repository.
    GitNotFound = "git-not-found",
    /// The git server could not be reached.
    GitUnreachable = "git-unreachable",
    /// A fetch or push broke off.
    GitTransport = "git-transport",
    /// The git server did not speak git smart HTTP as expected.
    GitBadResponse = "git-bad-response",
    /// A branch the mode needs does not exist.
    GitMissingBranch = "git-missing-branch",
    /// The local (in-memory or temporary) repository failed.
    GitLocal = "git-local",
    /// The in-memory merge failed.
    GitMerge = "git-merge",
    /// The history needed to decide is not available.
    GitHistory = "git-history",
    /// The report could not be written (stdout, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`).
    ReportNotWritten = "report-not-written",
    /// shipgate panicked: a bug; the gate fails.
    Crashed = "crashed",
    /// A nonzero verdict that came without its reason: a bug; the gate fails.
    Unexplained = "unexplained",

    // ---- sync ----
    /// The push was rejected (branch protection, a hook).
    SyncPushRejected = "sync-push-rejected",
    /// Staging moved while syncing, through every retry.
    SyncRaced = "sync-raced",
    /// Merging main into staging conflicts: merge by hand (runbook A).
    SyncConflict = "sync-conflict",
    /// Main and staging share no history.
    SyncUnrelated = "sync-unrelated",
    /// The merge commit's author could not be set.
    SyncAuthor = "sync-author",
    /// The git work did not finish.
    SyncGitTask = "sync-git-task",
    /// The token's account could not be read (to author the merge).
    SyncAccount = "sync-account",

    // ---- tier ----
    /// The tier label was refused: two tier labels, or a lower one not allowed.
    TierLabelRefused = "tier-label-refused",
    /// The labels changed while shipgate wrote them.
    TierLabelsRaced = "tier-labels-raced",
    /// The base branch's `.gitattributes` could not be read.
    TierGitattributes = "tier-gitattributes",
    /// The pull request's head moved while it was read.
    TierHeadMoved = "tier-head-moved",
    /// A renamed file's old path could not be verified.
    TierRenames = "tier-renames",
    /// The pull request's labels could not be read.
    TierLabelsUnreadable = "tier-labels-unreadable",
    /// The local git diff (`--local`) could not be computed.
    TierLocalGit = "tier-local-git",
    /// Membership of an override team could not be verified.
    TierOverrideTeam = "tier-override-team",
    /// The tier policy does not compile.
    TierPolicy = "tier-policy",
    /// A missing tier label could not be created.
    TierLabelCreate = "tier-label-create",
    /// The tier label could not be added.
    TierLabelAdd = "tier-label-add",

    // ---- review-fire ----
    /// A gate is still pending or failing.
    ReviewGatesNotPassed = "review-gates-not-passed",
    /// The review workflow cannot fire the gates by itself.
    ReviewAutoFireImpossible = "review-auto-fire-impossible",
    /// The teams of the organization could not be read.
    ReviewTeamsUnreadable = "review-teams-unreadable",
    /// A reviewer's team membership could not be verified.
    ReviewMembershipUnreadable = "review-membership-unreadable",
    /// The status token is missing or is the read token's account.
    ReviewStatusToken = "review-status-token",
    /// The head kept moving while the reviews were read.
    ReviewHeadMoving = "review-head-moving",
    /// A workflow file at the head could not be read.
    ReviewWorkflowUnreadable = "review-workflow-unreadable",

    // ---- promote ----
    /// Staging does not contain main.
    PromoteNotContained = "promote-not-contained",
    /// A required check failed on staging's head.
    PromoteCheckFailed = "promote-check-failed",
    /// A required check is not green yet.
    PromoteChecksPending = "promote-checks-pending",
    /// The branches moved while promoting, through every retry.
    PromoteRaced = "promote-raced",
    /// The server refused the fast-forward merge.
    PromoteMergeRefused = "promote-merge-refused",
    /// The push to main was rejected.
    PromotePushRejected = "promote-push-rejected",
    /// No required status context is known: what green means cannot be told.
    PromoteNoContexts = "promote-no-contexts",
    /// Whether staging contains main could not be told.
    PromoteAncestryUnknown = "promote-ancestry-unknown",
    /// The merge's result could not be verified.
    PromoteMergeUnverified = "promote-merge-unverified",
    /// The git remote or a branch tip could not be read.
    PromoteRemote = "promote-remote",

    // ---- retarget ----
    /// The server refused the new base.
    RetargetRefused = "retarget-refused",
    /// The new base could not be verified after the change.
    RetargetUnverified = "retarget-unverified",

    // ---- doctor ----
    /// A check is ✗.
    DoctorSetupIncomplete = "doctor-setup-incomplete",
    /// A check is `?` and none is ✗.
    DoctorSetupUnverified = "doctor-setup-unverified",
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
        let listed: Vec<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split_once('`').map(|(code, _)| code))
            .collect();
        let declared: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            listed, declared,
            "README's error codes differ from src/code.rs"
        );
    }
}
