//! The subset of Gitea's API types shipgate reads, named as in the swagger spec.
//! Unknown fields are ignored; missing required fields are protocol errors.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct User {
    pub id: i64,
    pub login: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PrBranch {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    /// The repository the branch lives in (a fork's differs from the base's).
    #[serde(default)]
    pub repo_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PullRequest {
    pub number: u64,
    pub state: String,
    #[serde(default)]
    pub merged: bool,
    pub user: User,
    pub head: PrBranch,
    pub base: PrBranch,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub html_url: String,
    /// The commit the diff starts from (Gitea's stored merge base of head and base).
    #[serde(default)]
    pub merge_base: Option<String>,
    /// `git diff --shortstat <merge_base> <head>`: files, added and deleted lines. Absent
    /// in lists and when Gitea could not compute them.
    #[serde(default)]
    pub changed_files: Option<u64>,
    #[serde(default)]
    pub additions: Option<u64>,
    #[serde(default)]
    pub deletions: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Issue {
    pub number: u64,
    pub state: String,
    /// Non-null when the issue is a pull request.
    #[serde(default)]
    pub pull_request: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ChangedFile {
    pub filename: String,
    /// `added`, `deleted`, `renamed`, `copied`, `changed`, `unchanged` (Gitea says
    /// `changed`, not GitHub's `modified`).
    pub status: String,
    pub additions: u64,
    pub deletions: u64,
    #[serde(default)]
    pub previous_filename: Option<String>,
}

/// A review row, kept close to the wire: `official`, `stale` and `dismissed` stay JSON
/// values so a string `"true"` is not mistaken for the boolean.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Review {
    pub id: i64,
    #[serde(default)]
    pub user: Option<User>,
    pub state: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub commit_id: Option<String>,
    #[serde(default)]
    pub official: Value,
    #[serde(default)]
    pub stale: Value,
    #[serde(default)]
    pub dismissed: Value,
    #[serde(default)]
    pub submitted_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Label {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CommitStatus {
    pub id: i64,
    /// The state; the response field is `status` (the request field is `state`).
    pub status: String,
    pub context: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub target_url: String,
    #[serde(default)]
    pub creator: Option<User>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The newest status per context, whatever order the server listed them in (highest id).
pub fn newest_by_context(statuses: &[CommitStatus]) -> HashMap<&str, &CommitStatus> {
    let mut newest: HashMap<&str, &CommitStatus> = HashMap::new();
    for status in statuses {
        let entry = newest.entry(status.context.as_str()).or_insert(status);
        if status.id > entry.id {
            *entry = status;
        }
    }
    newest
}

/// Body of `POST /repos/{owner}/{repo}/statuses/{sha}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateStatus {
    pub state: String,
    pub context: String,
    pub description: String,
    pub target_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Team {
    pub id: i64,
    pub name: String,
    /// `none`, `read`, `write`, `admin` or `owner` (what the team's members may do).
    #[serde(default)]
    pub permission: String,
    /// Per unit (`repo.code`, …) access; `null` on servers without units.
    #[serde(default)]
    pub units_map: Option<std::collections::BTreeMap<String, String>>,
}

impl Team {
    /// The team's access to code (what makes its approvals official without an allowlist):
    /// `units_map["repo.code"]` where the server has units, else `permission`.
    pub fn code_access(&self) -> &str {
        self.units_map
            .as_ref()
            .and_then(|m| m.get("repo.code"))
            .map_or(self.permission.as_str(), String::as_str)
    }
}

/// One row of an issue's timeline (`type` `label` rows say who added a label).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TimelineComment {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub label: Option<Label>,
    /// For label rows Gitea puts `"1"` (added) or `""` (removed) in the body.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// `PayloadCommit`: the commit a branch points at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct BranchCommit {
    pub id: String,
}

/// `GET /repos/{owner}/{repo}/branches/{branch}`. For a protected branch Gitea fills in
/// its rule's status checks for any reader (the rule itself needs repository admin).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Branch {
    pub name: String,
    pub commit: BranchCommit,
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub enable_status_check: bool,
    #[serde(default)]
    pub status_check_contexts: Option<Vec<String>>,
    /// Whether the caller may push to it, as the server decides (its rule's push
    /// allowlist, teams included). `None`: the server did not say.
    #[serde(default)]
    pub user_can_push: Option<bool>,
    /// Whether the caller may merge into it (the merge allowlist, or code write).
    #[serde(default)]
    pub user_can_merge: Option<bool>,
}

/// `GET /repos/{owner}/{repo}/compare/{base}...{head}`: the commits of `head` that `base`
/// does not contain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Compare {
    pub total_commits: u64,
}

/// An issue or pull request comment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Comment {
    pub id: i64,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub user: Option<User>,
}

/// Body of `POST /repos/{owner}/{repo}/pulls/{index}/merge`. `force_merge` is never sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeOptions {
    /// The merge style; shipgate only ever uses `fast-forward-only`.
    #[serde(rename = "Do")]
    pub style: String,
    /// Gitea refuses (409) when the head it would merge is not this commit.
    pub head_commit_id: String,
    /// Schedule the merge for when the branch protection's checks succeed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub merge_when_checks_succeed: bool,
}

/// What a refused merge (`POST …/pulls/{n}/merge`, 405 or 409) means: one reading of
/// Gitea's answers for promote and review-fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeRefusal {
    /// The head or the base moved (409): gather again and re-plan.
    Moved,
    /// Gitea has not computed mergeability yet (405 "try again later"): retry shortly.
    NotReady,
    /// Anything else (protection not met, style disabled, no permission): refused.
    Refused,
}

impl MergeRefusal {
    /// Classify a 405/409 answer by its status and message.
    pub fn classify(status: u16, message: &str) -> MergeRefusal {
        let message = message.to_ascii_lowercase();
        match status {
            409 if message.contains("already scheduled") => MergeRefusal::Refused,
            409 => MergeRefusal::Moved,
            405 if message.contains("try again later") => MergeRefusal::NotReady,
            _ => MergeRefusal::Refused,
        }
    }
}

/// What a merge request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merged {
    /// 200: merged now.
    Now,
    /// 201: scheduled for when the checks succeed.
    Scheduled,
}

/// `GET /settings/api` (only the field shipgate reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ApiSettings {
    /// `[api] MAX_RESPONSE_ITEMS`: the largest page the server serves.
    pub max_response_items: i64,
}

/// `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ServerVersion {
    pub version: String,
}

/// `GET /repos/{o}/{r}/git/trees/{sha}`: one level of a tree.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Tree {
    pub sha: String,
    #[serde(default)]
    pub tree: Option<Vec<TreeEntry>>,
    /// More entries than one page holds: the listing is incomplete.
    #[serde(default)]
    pub truncated: bool,
}

/// One entry of a [`Tree`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TreeEntry {
    pub path: String,
    /// `blob`, `tree` or `commit` (a submodule).
    #[serde(rename = "type")]
    pub kind: String,
    pub sha: String,
}

/// `GET /notifications/new`: the caller's unread notifications.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct NotificationCount {
    pub new: i64,
}

/// What the caller may do on a repository (`Repository.permissions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Permission {
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub push: bool,
    #[serde(default)]
    pub pull: bool,
}

/// `GET /repos/{owner}/{repo}` (only the fields shipgate reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Repository {
    pub full_name: String,
    pub default_branch: String,
    #[serde(default)]
    pub permissions: Option<Permission>,
    /// Whether pull requests may be merged fast-forward-only (Gitea 1.22 and later).
    #[serde(default)]
    pub allow_fast_forward_only_merge: Option<bool>,
}

/// One branch protection rule. Gitea sends `null` for empty lists, so every list is an
/// `Option`; [`BranchProtection::list`] reads them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct BranchProtection {
    #[serde(default)]
    pub branch_name: String,
    #[serde(default)]
    pub rule_name: String,
    #[serde(default)]
    pub enable_push: bool,
    #[serde(default)]
    pub enable_push_whitelist: bool,
    #[serde(default)]
    pub push_whitelist_usernames: Option<Vec<String>>,
    #[serde(default)]
    pub push_whitelist_teams: Option<Vec<String>>,
    #[serde(default)]
    pub enable_status_check: bool,
    #[serde(default)]
    pub status_check_contexts: Option<Vec<String>>,
    #[serde(default)]
    pub dismiss_stale_approvals: bool,
    #[serde(default)]
    pub enable_approvals_whitelist: bool,
    #[serde(default)]
    pub approvals_whitelist_username: Option<Vec<String>>,
    #[serde(default)]
    pub approvals_whitelist_teams: Option<Vec<String>>,
    /// Approvals Gitea itself requires before a merge (0: none).
    #[serde(default)]
    pub required_approvals: i64,
    /// `;`-separated globs of files a pull request may not change.
    #[serde(default)]
    pub protected_file_patterns: Option<String>,
}

impl BranchProtection {
    /// A list field, `null` read as empty.
    pub fn list(field: &Option<Vec<String>>) -> &[String] {
        field.as_deref().unwrap_or(&[])
    }

    /// The rule's pattern: `rule_name`, else the older `branch_name`.
    pub fn pattern(&self) -> &str {
        if self.rule_name.is_empty() {
            &self.branch_name
        } else {
            &self.rule_name
        }
    }
}
