//! The server's state: users, repositories, pull requests, labels, teams, statuses, releases, faults and the request log, with the rules Gitea applies to them.

use super::*;

pub(super) struct FaultState {
    pub(super) fault: Fault,
    pub(super) hits: usize,
}

pub(super) struct LabelRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) color: String,
    pub(super) description: String,
}

pub(super) struct TeamRow {
    pub(super) id: i64,
    pub(super) org: String,
    pub(super) name: String,
    pub(super) members: Vec<String>,
}

pub(super) struct AssetRow {
    pub(super) name: String,
    pub(super) bytes: Vec<u8>,
}

pub(super) struct ReleaseRow {
    pub(super) repo: String,
    pub(super) tag: String,
    pub(super) assets: Vec<AssetRow>,
}

pub(super) struct StatusRecord {
    pub(super) id: i64,
    pub(super) repo: String,
    pub(super) sha: String,
    pub(super) created: String,
    pub(super) row: StatusRow,
}

pub(super) struct IssueRow {
    pub(super) id: i64,
    pub(super) repo_id: i64,
    pub(super) number: u64,
    pub(super) author: String,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) state: String,
    pub(super) created: String,
    pub(super) pr: Option<PrSpec>,
    /// Label ids, in the order they were added.
    pub(super) labels: Vec<i64>,
    pub(super) files: Vec<FileSpec>,
    pub(super) reviews: Vec<Value>,
    pub(super) timeline: Vec<Value>,
    pub(super) comments: Vec<Value>,
}

#[doc(hidden)]
pub struct StateData {
    pub(super) base: String,
    /// `[api] MAX_RESPONSE_ITEMS`; `None`: Gitea's default, [`MAX_LIMIT`].
    pub(super) max_items: Option<usize>,
    pub(super) next: i64,
    pub(super) clock: u64,
    pub(super) users: BTreeMap<String, i64>,
    /// `login → (full_name, email)`; default `("", "<login>@example.com")`.
    pub(super) details: HashMap<String, (String, String)>,
    pub(super) tokens: HashMap<String, String>,
    pub(super) read_only: BTreeSet<String>,
    /// Tree listings say `truncated: true` (a directory larger than one page).
    pub(super) trees_truncated: bool,
    /// `login → scopes` of its token, when not every scope (see `set_token_scopes`).
    pub(super) token_scopes: HashMap<String, Vec<String>>,
    pub(super) repos: BTreeMap<String, i64>,
    pub(super) orgs: BTreeMap<String, i64>,
    pub(super) issues: BTreeMap<(String, u64), IssueRow>,
    pub(super) labels: BTreeMap<String, Vec<LabelRow>>,
    pub(super) teams: Vec<TeamRow>,
    /// `org → owners` (Gitea's Owners team): they may see every team's members.
    pub(super) owners: BTreeMap<String, BTreeSet<String>>,
    pub(super) hide_private_teams: bool,
    /// Gitea 1.22: `GET /teams/{id}/members` sends no `Link` header (1.27 does).
    pub(super) team_members_without_link: bool,
    pub(super) contents: HashMap<(String, String, String), Vec<u8>>,
    pub(super) statuses: Vec<StatusRecord>,
    pub(super) releases: Vec<ReleaseRow>,
    pub(super) dispatches: Vec<(String, String, Value)>,
    /// `(repo, sha)` → parent shas: the commit graph the branch, compare and merge routes use.
    pub(super) commits: HashMap<(String, String), Vec<String>>,
    /// `(repo, branch)` → tip.
    pub(super) branches: BTreeMap<(String, String), String>,
    /// PRs whose merge is scheduled for when checks succeed.
    pub(super) scheduled: BTreeSet<(String, u64)>,
    /// Merges answered 405 "Please try again later" before mergeability is known.
    pub(super) not_ready: usize,
    /// Gitea 1.22: the compare API takes branch (and tag) names only.
    pub(super) compare_names_only: bool,
    pub(super) triggers: Vec<(String, usize, usize, Action)>,
    pub(super) after_triggers: Vec<(String, usize, usize, Action)>,
    pub(super) faults: Vec<FaultState>,
    /// Faults by position ([`FakeGitea::schedule`]) and the requests counted so far.
    pub(super) schedule: Vec<Scheduled<FaultKind>>,
    pub(super) schedule_answers: Vec<(String, FaultKind)>,
    pub(super) position: usize,
    /// `repo → rules` (`GET …/branch_protections`, repository admins only).
    pub(super) protections: BTreeMap<String, Vec<Value>>,
    /// `(repo, login)` with repository admin.
    pub(super) repo_admins: BTreeSet<(String, String)>,
    /// `team id → permission` when not `write`.
    pub(super) team_permissions: BTreeMap<i64, String>,
    pub(super) requests: Vec<Recorded>,
    pub(super) unmatched: Vec<String>,
}

impl StateData {
    pub(super) fn new(base: String) -> StateData {
        StateData {
            base,
            max_items: None,
            next: 0,
            clock: 0,
            users: BTreeMap::new(),
            details: HashMap::new(),
            tokens: HashMap::new(),
            read_only: BTreeSet::new(),
            token_scopes: HashMap::new(),
            trees_truncated: false,
            repos: BTreeMap::new(),
            orgs: BTreeMap::new(),
            issues: BTreeMap::new(),
            labels: BTreeMap::new(),
            teams: Vec::new(),
            owners: BTreeMap::new(),
            hide_private_teams: false,
            team_members_without_link: false,
            contents: HashMap::new(),
            statuses: Vec::new(),
            repo_admins: BTreeSet::new(),
            team_permissions: BTreeMap::new(),
            releases: Vec::new(),
            dispatches: Vec::new(),
            commits: HashMap::new(),
            branches: BTreeMap::new(),
            protections: BTreeMap::new(),
            scheduled: BTreeSet::new(),
            not_ready: 0,
            compare_names_only: false,
            triggers: Vec::new(),
            after_triggers: Vec::new(),
            faults: Vec::new(),
            schedule: Vec::new(),
            schedule_answers: Vec::new(),
            position: 0,
            requests: Vec::new(),
            unmatched: Vec::new(),
        }
    }

    pub(super) fn next_id(&mut self) -> i64 {
        self.next += 1;
        self.next
    }

    /// A fresh timestamp, one second after the previous one.
    pub(super) fn tick(&mut self) -> String {
        self.clock += 1;
        let t = self.clock;
        format!(
            "2025-01-{:02}T{:02}:{:02}:{:02}Z",
            1 + (t / 86_400) % 28,
            (t / 3600) % 24,
            (t / 60) % 60,
            t % 60
        )
    }

    pub(super) fn user_id(&mut self, login: &str) -> i64 {
        if let Some(id) = self.users.get(login) {
            return *id;
        }
        // Gitea's virtual Actions user.
        if login == ACTIONS_USER {
            self.users.insert(login.to_owned(), -2);
            self.details.insert(
                login.to_owned(),
                ("Gitea Actions".to_owned(), "teabot@gitea.io".to_owned()),
            );
            return -2;
        }
        let id = self.next_id();
        self.users.insert(login.to_owned(), id);
        id
    }

    pub(super) fn repo_id(&mut self, full_name: &str) -> i64 {
        if let Some(id) = self.repos.get(full_name) {
            return *id;
        }
        let (owner, _) = full_name
            .split_once('/')
            .unwrap_or_else(|| panic!("fake: repository `{full_name}` is not OWNER/NAME"));
        self.user_id(owner);
        let id = self.next_id();
        self.repos.insert(full_name.to_owned(), id);
        id
    }

    pub(super) fn org_id(&mut self, org: &str) -> i64 {
        if let Some(id) = self.orgs.get(org) {
            return *id;
        }
        let id = self.user_id(org);
        self.orgs.insert(org.to_owned(), id);
        id
    }

    pub(super) fn issue_mut(&mut self, repo: &str, number: u64) -> &mut IssueRow {
        self.issues
            .get_mut(&(repo.to_owned(), number))
            .unwrap_or_else(|| panic!("fake: no issue or PR `{repo}#{number}`; add it first"))
    }

    pub(super) fn label(&self, repo: &str, id: i64) -> Option<&LabelRow> {
        self.labels.get(repo)?.iter().find(|l| l.id == id)
    }

    pub(super) fn attach_label(&mut self, repo: &str, number: u64, label_id: i64, by: &str) {
        if self.issue_mut(repo, number).labels.contains(&label_id) {
            return;
        }
        let id = self.next_id();
        let stamp = self.tick();
        let label = self.label_json(repo, label_id);
        let mut row = self.timeline_base(repo, number, id, &stamp, "label", Some(by));
        row["body"] = json!("1");
        row["label"] = label;
        let issue = self.issue_mut(repo, number);
        issue.labels.push(label_id);
        issue.timeline.push(row);
    }

    pub(super) fn detach_label(&mut self, repo: &str, number: u64, label_id: i64, by: &str) {
        if !self.issue_mut(repo, number).labels.contains(&label_id) {
            return;
        }
        let id = self.next_id();
        let stamp = self.tick();
        let label = self.label_json(repo, label_id);
        let mut row = self.timeline_base(repo, number, id, &stamp, "label", Some(by));
        row["body"] = json!("");
        row["label"] = label;
        let issue = self.issue_mut(repo, number);
        issue.labels.retain(|l| *l != label_id);
        issue.timeline.push(row);
    }

    pub(super) fn push_status(&mut self, repo: &str, sha: &str, row: StatusRow) -> i64 {
        let id = self.next_id();
        let created = self.tick();
        self.statuses.push(StatusRecord {
            id,
            repo: repo.to_owned(),
            sha: sha.to_owned(),
            created,
            row,
        });
        id
    }

    /// Is `ancestor` reachable from `of` in the commit graph (itself included)?
    pub(super) fn is_ancestor(&self, repo: &str, ancestor: &str, of: &str) -> bool {
        self.reachable(repo, of).contains(ancestor)
    }

    pub(super) fn reachable(&self, repo: &str, tip: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![tip.to_owned()];
        while let Some(sha) = stack.pop() {
            if !seen.insert(sha.clone()) {
                continue;
            }
            if let Some(parents) = self.commits.get(&(repo.to_owned(), sha)) {
                stack.extend(parents.iter().cloned());
            }
        }
        seen
    }

    /// Commits reachable from `head` and not from `base` (`git rev-list base..head`).
    pub(super) fn only_in(&self, repo: &str, base: &str, head: &str) -> Vec<String> {
        let from_base = self.reachable(repo, base);
        self.reachable(repo, head)
            .into_iter()
            .filter(|sha| !from_base.contains(sha))
            .collect()
    }

    /// A branch name or a known commit id → the commit.
    pub(super) fn resolve(&self, repo: &str, name: &str) -> Option<String> {
        self.branches
            .get(&(repo.to_owned(), name.to_owned()))
            .cloned()
            .or_else(|| {
                self.commits
                    .contains_key(&(repo.to_owned(), name.to_owned()))
                    .then(|| name.to_owned())
            })
    }

    /// A PR as Gitea shows it now: an open PR's head and base follow their branches.
    pub(super) fn live(&self, repo: &str, issue: &IssueRow, pr: &PrSpec) -> PrSpec {
        let mut pr = pr.clone();
        if issue.state == "open" {
            let head_repo = pr.head_repo.clone().unwrap_or_else(|| repo.to_owned());
            if let Some(sha) = self.branches.get(&(head_repo, pr.head_ref.clone())) {
                pr.head_sha = sha.clone();
            }
            if let Some(sha) = self.branches.get(&(repo.to_owned(), pr.base_ref.clone())) {
                pr.base_sha = sha.clone();
            }
        }
        pr
    }

    /// The protection rule that applies to `branch` (the first whose name, a glob,
    /// matches), as the status contexts it requires; `None` when unprotected.
    pub(super) fn required_contexts(&self, repo: &str, branch: &str) -> Option<Vec<String>> {
        let rule = self.protections.get(repo)?.iter().find(|rule| {
            let name = rule["rule_name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .or_else(|| rule["branch_name"].as_str())
                .unwrap_or_default();
            glob_match(name, branch)
        })?;
        let enabled = rule["enable_status_check"].as_bool().unwrap_or(false);
        Some(if enabled {
            rule["status_check_contexts"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        })
    }

    /// Gitea's rule: every required pattern matches a status of `sha`, and every status it
    /// matches is `success` (newest per context).
    pub(super) fn checks_pass(&self, repo: &str, sha: &str, required: &[String]) -> bool {
        let mut newest: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
        for record in self
            .statuses
            .iter()
            .filter(|s| s.repo == repo && s.sha == sha)
        {
            let entry = newest
                .entry(record.row.context.as_str())
                .or_insert((record.id, record.row.state.as_str()));
            if record.id >= entry.0 {
                *entry = (record.id, record.row.state.as_str());
            }
        }
        required.iter().all(|pattern| {
            let matched: Vec<&str> = newest
                .iter()
                .filter(|(context, _)| glob_match(pattern, context))
                .map(|(_, (_, state))| *state)
                .collect();
            !matched.is_empty() && matched.iter().all(|state| *state == "success")
        })
    }

    pub(super) fn apply(&mut self, action: &Action) {
        match action {
            Action::SetBranch { repo, branch, sha } => {
                self.branches
                    .insert((repo.clone(), branch.clone()), sha.clone());
            }
            Action::Commit { repo, sha, parents } => {
                self.commits
                    .insert((repo.clone(), sha.clone()), parents.clone());
            }
            Action::AddStatus { repo, sha, row } => {
                self.user_id(&row.creator);
                self.push_status(repo, sha, row.clone());
            }
            Action::SetPrHead { repo, number, sha } => {
                let pr = self
                    .issue_mut(repo, *number)
                    .pr
                    .as_mut()
                    .unwrap_or_else(|| panic!("fake: `{repo}#{number}` is not a pull request"));
                pr.head_sha = sha.clone();
            }
            Action::AddIssueLabel {
                repo,
                number,
                label_id,
                by,
            } => {
                assert!(
                    self.label(repo, *label_id).is_some(),
                    "fake: label {label_id} is not a label of `{repo}`"
                );
                self.user_id(by);
                self.attach_label(repo, *number, *label_id, by);
            }
            Action::DeleteTeam { org, name } => {
                self.teams.retain(|t| !(t.org == *org && t.name == *name));
            }
        }
    }

    // ---- JSON renderers (field sets checked against the spec in tests/spec.rs) ----

    pub(super) fn user_json(&self, login: &str) -> Value {
        let id = self.users.get(login).copied().unwrap_or(0);
        let base = &self.base;
        let (full_name, email) = self
            .details
            .get(login)
            .cloned()
            .unwrap_or_else(|| (String::new(), format!("{login}@example.com")));
        json!({
            "id": id,
            "login": login,
            "login_name": "",
            "source_id": 0,
            "full_name": full_name,
            "email": email,
            "avatar_url": format!("{base}/avatars/{id}"),
            "html_url": format!("{base}/{login}"),
            "language": "",
            "is_admin": false,
            "last_login": "2025-01-01T00:00:00Z",
            "created": "2025-01-01T00:00:00Z",
            "restricted": false,
            "active": true,
            "prohibit_login": false,
            "location": "",
            "website": "",
            "description": "",
            "visibility": "public",
            "followers_count": 0,
            "following_count": 0,
            "starred_repos_count": 0,
        })
    }

    pub(super) fn org_json(&self, org: &str) -> Value {
        let id = self.orgs.get(org).copied().unwrap_or(0);
        json!({
            "id": id,
            "name": org,
            "username": org,
            "full_name": "",
            "email": "",
            "avatar_url": format!("{}/avatars/{id}", self.base),
            "description": "",
            "website": "",
            "location": "",
            "visibility": "public",
            "repo_admin_change_team_access": false,
        })
    }

    pub(super) fn label_json(&self, repo: &str, id: i64) -> Value {
        match self.label(repo, id) {
            Some(label) => json!({
                "id": label.id,
                "name": label.name,
                "exclusive": false,
                "is_archived": false,
                "color": label.color,
                "description": label.description,
                "url": format!("{}/api/v1/repos/{repo}/labels/{}", self.base, label.id),
            }),
            None => Value::Null,
        }
    }

    pub(super) fn repo_json(&self, full_name: &str) -> Value {
        let id = self.repos.get(full_name).copied().unwrap_or(0);
        let (owner, name) = full_name.split_once('/').unwrap_or((full_name, ""));
        let base = &self.base;
        json!({
            "id": id,
            "owner": self.user_json(owner),
            "name": name,
            "full_name": full_name,
            "description": "",
            "empty": false,
            "private": true,
            "fork": false,
            "template": false,
            "mirror": false,
            "size": 0,
            "html_url": format!("{base}/{full_name}"),
            "url": format!("{base}/api/v1/repos/{full_name}"),
            "clone_url": format!("{base}/{full_name}.git"),
            "default_branch": "main",
            "archived": false,
            "has_issues": true,
            "has_pull_requests": true,
            "has_actions": true,
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
        })
    }

    pub(super) fn branch_json(&self, repo: &str, git_ref: &str, sha: &str) -> Value {
        let id = self.repos.get(repo).copied().unwrap_or(0);
        json!({
            "label": git_ref,
            "ref": git_ref,
            "sha": sha,
            "repo_id": id,
            "repo": self.repo_json(repo),
        })
    }

    pub(super) fn issue_labels_json(&self, repo: &str, issue: &IssueRow) -> Value {
        Value::Array(
            issue
                .labels
                .iter()
                .map(|id| self.label_json(repo, *id))
                .filter(|l| !l.is_null())
                .collect(),
        )
    }

    pub(super) fn pull_json(&self, repo: &str, issue: &IssueRow, pr: &PrSpec) -> Value {
        let base = &self.base;
        let number = issue.number;
        let head_repo = pr.head_repo.clone().unwrap_or_else(|| repo.to_owned());
        let (additions, deletions) = issue
            .files
            .iter()
            .fold((0, 0), |(a, d), f| (a + f.additions, d + f.deletions));
        let mut value = json!({
            "id": issue.id,
            "url": format!("{base}/{repo}/pulls/{number}"),
            "number": number,
            "user": self.user_json(&pr.author),
            "title": pr.title,
            "body": pr.body,
            "labels": self.issue_labels_json(repo, issue),
            "milestone": null,
            "assignee": null,
            "assignees": [],
            "requested_reviewers": [],
            "state": issue.state,
            "draft": pr.draft,
            "is_locked": false,
            "comments": 0,
            "review_comments": 0,
            "additions": additions,
            "deletions": deletions,
            "changed_files": issue.files.len(),
            "html_url": format!("{base}/{repo}/pulls/{number}"),
            "diff_url": format!("{base}/{repo}/pulls/{number}.diff"),
            "patch_url": format!("{base}/{repo}/pulls/{number}.patch"),
            "mergeable": !pr.merged && issue.state == "open",
            "merged": pr.merged,
            "merged_at": null,
            "merged_by": null,
            "allow_maintainer_edit": false,
            "base": self.branch_json(repo, &pr.base_ref, &pr.base_sha),
            "head": self.branch_json(&head_repo, &pr.head_ref, &pr.head_sha),
            "merge_base": pr.base_sha,
            "due_date": null,
            "created_at": issue.created,
            "updated_at": issue.created,
            "closed_at": null,
            "pin_order": 0,
        });
        if pr.merged {
            value["merged_at"] = json!(issue.created);
            value["closed_at"] = json!(issue.created);
            value["merge_commit_sha"] = json!("3".repeat(40));
            value["merged_by"] = self.user_json(&pr.author);
        } else if issue.state == "closed" {
            value["closed_at"] = json!(issue.created);
        }
        value
    }

    pub(super) fn issue_json(&self, repo: &str, issue: &IssueRow) -> Value {
        let base = &self.base;
        let number = issue.number;
        let kind = if issue.pr.is_some() {
            "pulls"
        } else {
            "issues"
        };
        let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
        let pull_request = match &issue.pr {
            Some(pr) => json!({
                "merged": pr.merged,
                "merged_at": if pr.merged { json!(issue.created) } else { Value::Null },
                "draft": pr.draft,
                "html_url": format!("{base}/{repo}/pulls/{number}"),
            }),
            None => Value::Null,
        };
        json!({
            "id": issue.id,
            "url": format!("{base}/api/v1/repos/{repo}/issues/{number}"),
            "html_url": format!("{base}/{repo}/{kind}/{number}"),
            "number": number,
            "user": self.user_json(&issue.author),
            "original_author": "",
            "original_author_id": 0,
            "title": issue.title,
            "body": issue.body,
            "ref": "",
            "assets": [],
            "labels": self.issue_labels_json(repo, issue),
            "milestone": null,
            "assignee": null,
            "assignees": [],
            "state": issue.state,
            "is_locked": false,
            "comments": 0,
            "created_at": issue.created,
            "updated_at": issue.created,
            "closed_at": null,
            "due_date": null,
            "pull_request": pull_request,
            "repository": {"id": issue.repo_id, "name": name, "owner": owner, "full_name": repo},
            "pin_order": 0,
        })
    }

    pub(super) fn review_json(
        &self,
        repo: &str,
        number: u64,
        id: i64,
        stamp: &str,
        raw: Value,
    ) -> Value {
        let base = &self.base;
        let commit = self
            .issues
            .get(&(repo.to_owned(), number))
            .and_then(|i| i.pr.as_ref())
            .map(|pr| pr.head_sha.clone())
            .unwrap_or_default();
        let mut row = json!({
            "id": id,
            "user": null,
            "team": null,
            "state": "COMMENT",
            "body": "",
            "commit_id": commit,
            "stale": false,
            "official": false,
            "dismissed": false,
            "comments_count": 0,
            "submitted_at": stamp,
            "updated_at": stamp,
            "html_url": format!("{base}/{repo}/pulls/{number}#issuecomment-{id}"),
            "pull_request_url": format!("{base}/{repo}/pulls/{number}"),
        });
        merge_into(&mut row, raw);
        self.complete_user_field(&mut row, "user");
        row
    }

    pub(super) fn timeline_base(
        &self,
        repo: &str,
        number: u64,
        id: i64,
        stamp: &str,
        kind: &str,
        user: Option<&str>,
    ) -> Value {
        let base = &self.base;
        json!({
            "id": id,
            "type": kind,
            "html_url": format!("{base}/{repo}/issues/{number}#issuecomment-{id}"),
            "pull_request_url": format!("{base}/{repo}/pulls/{number}"),
            "issue_url": format!("{base}/{repo}/issues/{number}"),
            "user": user.map(|u| self.user_json(u)).unwrap_or(Value::Null),
            "body": "",
            "created_at": stamp,
            "updated_at": stamp,
            "old_project_id": 0,
            "project_id": 0,
            "old_title": "",
            "new_title": "",
            "old_ref": "",
            "new_ref": "",
            "ref_action": "",
            "ref_commit_sha": "",
            "review_id": 0,
            "removed_assignee": false,
            "label": null,
            "milestone": null,
            "old_milestone": null,
            "assignee": null,
            "assignee_team": null,
            "resolve_doer": null,
            "ref_issue": null,
            "ref_comment": null,
            "dependent_issue": null,
            "tracked_time": null,
        })
    }

    /// `"user": {"login": "bob"}` (or `"user": "bob"`) → the full User object.
    pub(super) fn complete_user_field(&self, row: &mut Value, field: &str) {
        let login = match row.get(field) {
            Some(Value::String(login)) => Some(login.clone()),
            Some(Value::Object(map)) if map.len() == 1 => {
                map.get("login").and_then(Value::as_str).map(str::to_owned)
            }
            _ => None,
        };
        if let Some(login) = login {
            row[field] = self.user_json(&login);
        }
    }

    pub(super) fn comment_json(
        &mut self,
        repo: &str,
        number: u64,
        author: &str,
        body: &str,
    ) -> Value {
        let id = self.next_id();
        let stamp = self.tick();
        let base = &self.base;
        json!({
            "id": id,
            "html_url": format!("{base}/{repo}/issues/{number}#issuecomment-{id}"),
            "pull_request_url": format!("{base}/{repo}/pulls/{number}"),
            "issue_url": format!("{base}/{repo}/issues/{number}"),
            "user": self.user_json(author),
            "original_author": "",
            "original_author_id": 0,
            "body": body,
            "assets": [],
            "created_at": stamp,
            "updated_at": stamp,
        })
    }

    pub(super) fn payload_commit_json(&self, repo: &str, sha: &str) -> Value {
        let person = json!({"name": "Test", "email": "test@example.com", "username": ""});
        json!({
            "id": sha,
            "message": format!("commit {}\n", &sha[..sha.len().min(8)]),
            "url": format!("{}/{repo}/commit/{sha}", self.base),
            "author": person,
            "committer": person,
            "verification": null,
            "timestamp": "2025-01-01T00:00:00Z",
        })
    }

    pub(super) fn api_branch_json(
        &self,
        repo: &str,
        name: &str,
        sha: &str,
        login: Option<&str>,
    ) -> Value {
        let protection = self.required_contexts(repo, name);
        let writer = login.is_some_and(|l| !self.read_only.contains(l));
        json!({
            "name": name,
            "commit": self.payload_commit_json(repo, sha),
            "protected": protection.is_some(),
            "required_approvals": 0,
            "enable_status_check": protection.as_ref().is_some_and(|c| !c.is_empty()),
            "status_check_contexts": protection.clone().unwrap_or_default(),
            "user_can_push": writer && protection.is_none(),
            "user_can_merge": writer,
            "effective_branch_protection_name": "",
        })
    }

    pub(super) fn commit_json(&self, repo: &str, sha: &str) -> Value {
        let base = &self.base;
        let parents: Vec<Value> = self
            .commits
            .get(&(repo.to_owned(), sha.to_owned()))
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|p| {
                json!({
                    "url": format!("{base}/api/v1/repos/{repo}/git/commits/{p}"),
                    "sha": p,
                    "created": "2025-01-01T00:00:00Z",
                })
            })
            .collect();
        let person =
            json!({"name": "Test", "email": "test@example.com", "date": "2025-01-01T00:00:00Z"});
        json!({
            "url": format!("{base}/api/v1/repos/{repo}/git/commits/{sha}"),
            "sha": sha,
            "created": "2025-01-01T00:00:00Z",
            "html_url": format!("{base}/{repo}/commit/{sha}"),
            "commit": {
                "url": format!("{base}/api/v1/repos/{repo}/git/commits/{sha}"),
                "author": person,
                "committer": person,
                "message": format!("commit {}\n", &sha[..sha.len().min(8)]),
                "tree": {"url": format!("{base}/api/v1/repos/{repo}/git/trees/{sha}"), "sha": sha, "created": "2025-01-01T00:00:00Z"},
                "verification": null,
            },
            "author": null,
            "committer": null,
            "parents": parents,
            "files": [],
            "stats": {"total": 0, "additions": 0, "deletions": 0},
        })
    }

    pub(super) fn team_json(&self, team: &TeamRow) -> Value {
        json!({
            "id": team.id,
            "name": team.name,
            "description": "",
            "organization": self.org_json(&team.org),
            "includes_all_repositories": false,
            "permission": self.team_permissions.get(&team.id).map_or("write", String::as_str),
            "units": ["repo.code", "repo.issues", "repo.pulls"],
            "units_map": {"repo.code": "read", "repo.issues": "read", "repo.pulls": "read"},
            "can_create_org_repo": false,
        })
    }

    pub(super) fn status_json(&self, record: &StatusRecord) -> Value {
        json!({
            "id": record.id,
            "status": record.row.state,
            "target_url": record.row.target_url,
            "description": record.row.description,
            "url": format!("{}/api/v1/repos/{}/statuses/{}", self.base, record.repo, record.sha),
            "context": record.row.context,
            "creator": self.user_json(&record.row.creator),
            "created_at": record.created,
            "updated_at": record.created,
        })
    }

    pub(super) fn file_json(&self, repo: &str, pr: &PrSpec, file: &FileSpec) -> Value {
        let base = &self.base;
        let name = &file.filename;
        let sha = &pr.head_sha;
        let mut value = json!({
            "filename": name,
            "status": file.status,
            "additions": file.additions,
            "deletions": file.deletions,
            "changes": file.additions + file.deletions,
            "html_url": format!("{base}/{repo}/src/commit/{sha}/{name}"),
            "contents_url": format!("{base}/api/v1/repos/{repo}/contents/{name}?ref={sha}"),
            "raw_url": format!("{base}/{repo}/raw/commit/{sha}/{name}"),
        });
        if let Some(previous) = &file.previous_filename {
            value["previous_filename"] = json!(previous);
        }
        value
    }
}

/// Overwrite `base`'s fields with `raw`'s (one level deep).
pub(super) fn merge_into(base: &mut Value, raw: Value) {
    if let (Value::Object(base), Value::Object(raw)) = (base, raw) {
        for (key, value) in raw {
            base.insert(key, value);
        }
    }
}

/// Gitea's label color rules: `#rgb`, `rgb`, `#rrggbb`, `rrggbb` → 6 lowercase hex.
pub(super) fn normalize_color(color: &str) -> Option<String> {
    let hex = color.strip_prefix('#').unwrap_or(color);
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        6 => Some(hex.to_ascii_lowercase()),
        3 => Some(
            hex.chars()
                .flat_map(|c| [c, c])
                .collect::<String>()
                .to_ascii_lowercase(),
        ),
        _ => None,
    }
}
