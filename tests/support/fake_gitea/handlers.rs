//! One function per route: the Gitea behaviour shipgate depends on.

use super::*;

pub(super) fn get_user(state: &mut StateData, call: &Call) -> Reply {
    match &call.login {
        Some(login) => Reply::json(200, state.user_json(login)),
        None => error(state, 401, "token is required"),
    }
}

/// The issue/PR a call names, or the 404 reply.
pub(super) fn find_issue<'a>(state: &'a StateData, call: &Call) -> Result<&'a IssueRow, Reply> {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return Err(not_found(state));
    }
    call.index()
        .and_then(|n| state.issues.get(&(repo, n)))
        .ok_or_else(|| not_found(state))
}

pub(super) fn find_pull<'a>(
    state: &'a StateData,
    call: &Call,
) -> Result<(&'a IssueRow, &'a PrSpec), Reply> {
    let issue = find_issue(state, call)?;
    match &issue.pr {
        Some(pr) => Ok((issue, pr)),
        None => Err(not_found(state)),
    }
}

pub(super) fn get_pull(state: &mut StateData, call: &Call) -> Reply {
    match find_pull(state, call) {
        Ok((issue, pr)) => {
            let pr = state.live(&call.repo(), issue, pr);
            Reply::json(200, state.pull_json(&call.repo(), issue, &pr))
        }
        Err(reply) => reply,
    }
}

pub(super) fn get_issue(state: &mut StateData, call: &Call) -> Reply {
    match find_issue(state, call) {
        Ok(issue) => Reply::json(200, state.issue_json(&call.repo(), issue)),
        Err(reply) => reply,
    }
}

pub(super) fn get_pull_files(state: &mut StateData, call: &Call) -> Reply {
    match find_pull(state, call) {
        Ok((issue, pr)) => {
            let repo = call.repo();
            let items = issue
                .files
                .iter()
                .map(|f| state.file_json(&repo, pr, f))
                .collect();
            paginate(state, call, items, true)
        }
        Err(reply) => reply,
    }
}

/// `GET …/pulls/{index}.diff`: the files as `git diff -p` writes them (Gitea streams git's
/// own output as `text/plain`): quoted names where git quotes them, a tab after a
/// `---`/`+++` name with a space, renames with `rename from/to`, and one hunk per file
/// carrying its deleted and added lines. `unchanged` (and a `changed` file with no lines)
/// is a mode change. `.patch` is not served (shipgate never reads it).
pub(super) fn get_pull_diff(state: &mut StateData, call: &Call) -> Reply {
    if call.param("diffType") != "diff" {
        return not_found(state);
    }
    match find_pull(state, call) {
        Ok((issue, _)) => Reply {
            status: 200,
            headers: Vec::new(),
            body: ReplyBody::Bytes(
                issue
                    .files
                    .iter()
                    .map(git_diff_of)
                    .collect::<String>()
                    .into_bytes(),
                "text/plain; charset=utf-8",
            ),
        },
        Err(reply) => reply,
    }
}

/// git's C-quoting of a name, when it needs it (`core.quotePath false`, as Gitea sets it).
fn git_quote(name: &str) -> String {
    if !name
        .chars()
        .any(|c| c.is_ascii_control() || c == '"' || c == '\\')
    {
        return name.to_owned();
    }
    let mut out = String::from("\"");
    for c in name.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_control() => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One file of a `git diff -p`.
fn git_diff_of(f: &FileSpec) -> String {
    let old = f
        .previous_filename
        .clone()
        .unwrap_or_else(|| f.filename.clone());
    let new = &f.filename;
    let side = |prefix: &str, name: &str| {
        let quoted = git_quote(&format!("{prefix}{name}"));
        if !quoted.starts_with('"') && name.contains(' ') {
            format!("{quoted}\t")
        } else {
            quoted
        }
    };
    let mut out = format!(
        "diff --git {} {}\n",
        git_quote(&format!("a/{old}")),
        git_quote(&format!("b/{new}"))
    );
    let lines = f.additions + f.deletions;
    let (minus, plus) = match f.status.as_str() {
        "added" => {
            out.push_str("new file mode 100644\nindex 0000000..e69de29\n");
            ("/dev/null".to_owned(), side("b/", new))
        }
        "deleted" => {
            out.push_str("deleted file mode 100644\nindex e69de29..0000000\n");
            (side("a/", new), "/dev/null".to_owned())
        }
        "renamed" | "copied" if old != *new => {
            let word = if f.status == "renamed" {
                "rename"
            } else {
                "copy"
            };
            out.push_str(&format!(
                "similarity index 90%\n{word} from {}\n{word} to {}\n",
                git_quote(&old),
                git_quote(new)
            ));
            if lines == 0 {
                return out;
            }
            out.push_str("index 1111111..2222222 100644\n");
            (side("a/", &old), side("b/", new))
        }
        _ if lines == 0 => {
            out.push_str("old mode 100644\nnew mode 100755\n");
            return out;
        }
        _ => {
            out.push_str("index 1111111..2222222 100644\n");
            (side("a/", new), side("b/", new))
        }
    };
    if lines == 0 {
        // An empty file added or deleted: no `---`/`+++`.
        return out;
    }
    let start = |n: u64| if n == 0 { 0 } else { 1 };
    out.push_str(&format!(
        "--- {minus}\n+++ {plus}\n@@ -{},{} +{},{} @@\n",
        start(f.deletions),
        f.deletions,
        start(f.additions),
        f.additions
    ));
    for _ in 0..f.deletions {
        out.push_str("-old line\n");
    }
    for _ in 0..f.additions {
        out.push_str("+new line\n");
    }
    out
}

/// Gitea pages over every review in SQL and counts them all in `X-Total-Count`, then drops
/// other users' PENDING reviews from the page (`convert.ToPullReviewList`, 1.22 → 1.27):
/// pages can be short with nothing missing but unsubmitted reviews.
pub(super) fn get_pull_reviews(state: &mut StateData, call: &Call) -> Reply {
    match find_pull(state, call) {
        Ok((issue, _)) => {
            let caller = call.login.clone().unwrap_or_default();
            let mut reply = paginate(state, call, issue.reviews.clone(), false);
            if let ReplyBody::Json(Value::Array(rows)) = &mut reply.body {
                rows.retain(|r| {
                    r["state"] != "PENDING" || r["user"]["login"].as_str() == Some(caller.as_str())
                });
            }
            reply.remove_header("Link");
            reply
        }
        Err(reply) => reply,
    }
}

/// Gitea: `event` APPROVED / REQUEST_CHANGES / COMMENT; anything else (GitHub's `APPROVE`
/// included) makes a PENDING review, or 422 with an empty body; approving or rejecting
/// one's own PR is 422; success is 200, not 201.
pub(super) fn post_pull_review(state: &mut StateData, call: &Call) -> Reply {
    let (author, head) = match find_pull(state, call) {
        Ok((_, pr)) => (pr.author.clone(), pr.head_sha.clone()),
        Err(reply) => return reply,
    };
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    let body: Value = match serde_json::from_slice(&call.body) {
        Ok(body) => body,
        Err(_) => return error(state, 400, "invalid JSON body"),
    };
    let text = body.get("body").and_then(Value::as_str).unwrap_or_default();
    let event = body
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let review_state = match event {
        "APPROVED" | "REQUEST_CHANGES" | "COMMENT" => event,
        _ if text.is_empty() => return error(state, 422, "review event PENDING requires a body"),
        _ => "PENDING",
    };
    let login = call.login.clone().unwrap_or_default();
    if login == author && matches!(review_state, "APPROVED" | "REQUEST_CHANGES") {
        let verb = if review_state == "APPROVED" {
            "approve"
        } else {
            "reject"
        };
        return error(state, 422, &format!("{verb} your own pull is not allowed"));
    }
    let commit = body
        .get("commit_id")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .unwrap_or(&head)
        .to_owned();
    let id = state.next_id();
    let stamp = state.tick();
    let row = state.review_json(
        &repo,
        number,
        id,
        &stamp,
        json!({
            "user": {"login": login},
            "state": review_state,
            "body": text,
            "commit_id": commit,
            "stale": commit != head,
            "official": matches!(review_state, "APPROVED" | "REQUEST_CHANGES"),
        }),
    );
    state.issue_mut(&repo, number).reviews.push(row.clone());
    Reply::json(200, row)
}

pub(super) fn get_issue_labels(state: &mut StateData, call: &Call) -> Reply {
    match find_issue(state, call) {
        Ok(issue) => Reply::json(200, state.issue_labels_json(&call.repo(), issue)),
        Err(reply) => reply,
    }
}

pub(super) fn post_issue_labels(state: &mut StateData, call: &Call) -> Reply {
    if let Err(reply) = find_issue(state, call) {
        return reply;
    }
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    let body: Value = match serde_json::from_slice(&call.body) {
        Ok(body) => body,
        Err(_) => return error(state, 400, "invalid JSON body"),
    };
    let Some(items) = body.get("labels").and_then(Value::as_array) else {
        return error(state, 422, "[Labels]: Required");
    };
    let all_ints = items.iter().all(Value::is_i64);
    let all_strings = items.iter().all(Value::is_string);
    if !items.is_empty() && !all_ints && !all_strings {
        return error(
            state,
            400,
            "labels should be an array of strings or integers",
        );
    }
    let known: Vec<i64> = items
        .iter()
        .filter_map(|item| match item {
            Value::Number(n) => n.as_i64().filter(|id| state.label(&repo, *id).is_some()),
            Value::String(name) => state
                .labels
                .get(&repo)
                .and_then(|labels| labels.iter().find(|l| &l.name == name))
                .map(|l| l.id),
            _ => None,
        })
        .collect();
    let by = call.login.clone().unwrap_or_default();
    for id in known {
        state.attach_label(&repo, number, id, &by);
    }
    let issue = state.issue_mut(&repo, number);
    let labels = issue.labels.clone();
    Reply::json(
        200,
        Value::Array(
            labels
                .iter()
                .map(|id| state.label_json(&repo, *id))
                .collect(),
        ),
    )
}

pub(super) fn delete_issue_label(state: &mut StateData, call: &Call) -> Reply {
    if let Err(reply) = find_issue(state, call) {
        return reply;
    }
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    let identifier = call.param("id");
    let id = match identifier.parse::<i64>() {
        Ok(id) => state.label(&repo, id).map(|l| l.id),
        Err(_) => state
            .labels
            .get(&repo)
            .and_then(|labels| labels.iter().find(|l| l.name == identifier))
            .map(|l| l.id),
    };
    let Some(id) = id else {
        return error(
            state,
            422,
            &format!("label does not exist [id: {identifier}]"),
        );
    };
    let by = call.login.clone().unwrap_or_default();
    state.detach_label(&repo, number, id, &by);
    Reply::empty(204)
}

pub(super) fn get_repo_labels(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let mut rows: Vec<(&str, i64)> = state
        .labels
        .get(&repo)
        .map(|labels| labels.iter().map(|l| (l.name.as_str(), l.id)).collect())
        .unwrap_or_default();
    rows.sort();
    let items = rows
        .iter()
        .map(|(_, id)| state.label_json(&repo, *id))
        .collect();
    paginate(state, call, items, false)
}

pub(super) fn post_repo_label(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let body: Value = match serde_json::from_slice(&call.body) {
        Ok(body) => body,
        Err(_) => return error(state, 400, "invalid JSON body"),
    };
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
    if name.trim().is_empty() {
        return error(state, 422, "[Name]: Required");
    }
    let color = body
        .get("color")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(color) = normalize_color(color) else {
        return error(state, 422, &format!("invalid color `{color}`"));
    };
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let id = state.next_id();
    state
        .labels
        .entry(repo.clone())
        .or_default()
        .push(LabelRow {
            id,
            name: name.to_owned(),
            color,
            description,
        });
    Reply::json(201, state.label_json(&repo, id))
}

/// Gitea pages the raw comment rows in SQL, drops inline code comments, and sets
/// `X-Total-Count` to the rows on the page it serves, with no `Link` (1.22 → 1.27).
pub(super) fn get_timeline(state: &mut StateData, call: &Call) -> Reply {
    match find_issue(state, call) {
        Ok(issue) => {
            let mut reply = paginate(state, call, issue.timeline.clone(), false);
            let mut served = 0;
            if let ReplyBody::Json(Value::Array(rows)) = &mut reply.body {
                rows.retain(|r| r["type"] != "code");
                served = rows.len();
            }
            // Gitea encodes its nil slice: an empty page is `null`, not `[]`.
            if served == 0 {
                reply.body = ReplyBody::Json(Value::Null);
            }
            reply.set_header("X-Total-Count", served.to_string());
            reply.remove_header("Link");
            reply
        }
        Err(reply) => reply,
    }
}

/// `GET /settings/api`: the paging limits (Gitea's defaults unless `max_items` is set).
pub(super) fn get_api_settings(state: &mut StateData, _call: &Call) -> Reply {
    Reply::json(
        200,
        json!({
            "max_response_items": state.max_items.unwrap_or(MAX_LIMIT),
            "default_paging_num": DEFAULT_LIMIT,
            "default_git_trees_per_page": 1000,
            "default_max_blob_size": 10_485_760,
        }),
    )
}

pub(super) fn get_statuses(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let sha = call.param("sha");
    let filter = call.query("state").unwrap_or_default();
    let mut records: Vec<&StatusRecord> = state
        .statuses
        .iter()
        .filter(|s| s.repo == repo && s.sha == sha)
        .filter(|s| filter.is_empty() || s.row.state == filter)
        .collect();
    // Gitea's default order is `created_unix DESC`: newest first.
    match call.query("sort").unwrap_or_default() {
        // Gitea's index sorts are named the wrong way round: `leastindex` is `index DESC`.
        "oldest" | "highestindex" => records.sort_by_key(|s| s.id),
        _ => records.sort_by_key(|s| std::cmp::Reverse(s.id)),
    }
    let items = records.iter().map(|s| state.status_json(s)).collect();
    paginate(state, call, items, false)
}

pub(super) const STATUS_STATES: &[&str] = &[
    "pending", "success", "error", "failure", "warning", "skipped",
];

pub(super) fn post_status(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let sha = call.param("sha").to_owned();
    if sha.is_empty() {
        return error(state, 400, "sha not given");
    }
    let body: Value = match serde_json::from_slice(&call.body) {
        Ok(body) => body,
        Err(_) => return error(state, 400, "invalid JSON body"),
    };
    // Gitea stores context, description and target_url trimmed (`strings.TrimSpace`).
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let status_state = text("state");
    if !STATUS_STATES.contains(&status_state.as_str()) {
        return error(
            state,
            400,
            &format!("invalid commit status state `{status_state}`"),
        );
    }
    let row = StatusRow {
        state: status_state,
        context: text("context"),
        description: text("description"),
        target_url: text("target_url"),
        creator: call.login.clone().unwrap_or_default(),
    };
    let id = state.push_status(&repo, &sha, row);
    let record = state
        .statuses
        .iter()
        .find(|s| s.id == id)
        .expect("the status just stored");
    Reply::json(201, state.status_json(record))
}

pub(super) fn get_org_teams(state: &mut StateData, call: &Call) -> Reply {
    let org = call.param("org");
    if !state.orgs.contains_key(org) {
        return not_found(state);
    }
    let caller = call.login.clone().unwrap_or_default();
    let owner = state.owners.get(org).is_some_and(|o| o.contains(&caller));
    let mut teams: Vec<&TeamRow> = state
        .teams
        .iter()
        .filter(|t| t.org == org)
        .filter(|t| {
            !state.hide_private_teams || owner || t.name == "Owners" || t.members.contains(&caller)
        })
        .collect();
    teams.sort_by_key(|t| t.name.to_lowercase());
    let items = teams.iter().map(|t| state.team_json(t)).collect();
    paginate(state, call, items, false)
}

/// The team a `/teams/{id}/…` call names, if the caller may read its members: Gitea
/// (`reqTeamMembership`; 1.27 `reqTeamReadAccess`, whose visibility tiers the fake does not
/// model: its teams are private) lets an org owner or a member of the team look; another
/// org member gets 403 "Must be a team member"; a caller outside the org, or an unknown
/// team, 404.
fn readable_team<'a>(state: &'a StateData, call: &Call) -> Result<&'a TeamRow, Reply> {
    let Ok(id) = call.param("id").parse::<i64>() else {
        return Err(not_found(state));
    };
    let Some(team) = state.teams.iter().find(|t| t.id == id) else {
        return Err(not_found(state));
    };
    let caller = call.login.clone().unwrap_or_default();
    let owner = state
        .owners
        .get(&team.org)
        .is_some_and(|o| o.contains(&caller));
    let in_team = team.members.contains(&caller);
    let in_org = state
        .teams
        .iter()
        .any(|t| t.org == team.org && t.members.contains(&caller));
    if !owner && !in_team {
        return Err(if in_org {
            error(state, 403, "Must be a team member")
        } else {
            not_found(state)
        });
    }
    Ok(team)
}

/// `GET /teams/{id}/members` (`GetTeamMembers`, 1.22 → 1.27): the members ordered by full
/// name, then name, paged in SQL at the capped limit; `X-Total-Count` is the team's
/// member count. 1.27 adds `Link`; 1.22 sends none ([`FakeGitea::team_members_without_link`]).
pub(super) fn get_team_members(state: &mut StateData, call: &Call) -> Reply {
    let team = match readable_team(state, call) {
        Ok(team) => team,
        Err(reply) => return reply,
    };
    let mut members: Vec<(String, String)> = team
        .members
        .iter()
        .map(|login| {
            let full_name = state
                .details
                .get(login)
                .map(|(name, _)| name.clone())
                .unwrap_or_default();
            (full_name, login.clone())
        })
        .collect();
    members.sort();
    let items = members
        .iter()
        .map(|(_, login)| state.user_json(login))
        .collect();
    let mut reply = paginate(state, call, items, false);
    if state.team_members_without_link {
        reply.remove_header("Link");
    }
    reply
}

pub(super) fn get_team_member(state: &mut StateData, call: &Call) -> Reply {
    let team = match readable_team(state, call) {
        Ok(team) => team,
        Err(reply) => return reply,
    };
    let username = call.param("username");
    if team.members.iter().any(|m| m == username) {
        Reply::json(200, state.user_json(username))
    } else {
        not_found(state)
    }
}

pub(super) fn get_raw(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let git_ref = call.query("ref").unwrap_or("main");
    let git_ref = git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(git_ref);
    let key = (repo, git_ref.to_owned(), call.param("filepath").to_owned());
    match state.contents.get(&key) {
        Some(bytes) => Reply {
            status: 200,
            headers: Vec::new(),
            body: ReplyBody::Bytes(bytes.clone(), "text/plain; charset=utf-8"),
        },
        None => not_found(state),
    }
}

pub(super) fn post_dispatch(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let body: Value = match serde_json::from_slice(&call.body) {
        Ok(body) => body,
        Err(_) => return error(state, 400, "invalid JSON body"),
    };
    let git_ref = body.get("ref").and_then(Value::as_str).unwrap_or_default();
    if git_ref.is_empty() {
        return error(state, 422, "ref is required");
    }
    let short = git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(git_ref);
    let workflow = call.param("workflow_id");
    let exists = [".gitea/workflows", ".github/workflows"].iter().any(|dir| {
        state
            .contents
            .contains_key(&(repo.clone(), short.to_owned(), format!("{dir}/{workflow}")))
    });
    if !exists {
        return error(
            state,
            404,
            &format!("workflow `{workflow}` not found at `{git_ref}`"),
        );
    }
    state
        .dispatches
        .push((repo, workflow.to_owned(), body.clone()));
    Reply::empty(204)
}

pub(super) fn get_branch(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let name = call.param("branch");
    match state.branches.get(&(repo.clone(), name.to_owned())) {
        Some(sha) => {
            let sha = sha.clone();
            Reply::json(
                200,
                state.api_branch_json(&repo, name, &sha, call.login.as_deref()),
            )
        }
        None => error(state, 404, "branch does not exist"),
    }
}

/// `base...head`: the commits of `head` that `base` lacks (Gitea lists `merge-base..head`).
pub(super) fn get_compare(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let Some((base, head)) = call.param("basehead").split_once("...") else {
        return not_found(state);
    };
    if state.compare_names_only {
        let known = |name: &str| {
            state
                .branches
                .contains_key(&(repo.clone(), name.to_owned()))
        };
        if !known(base) {
            return error(state, 404, "BaseNotExist");
        }
        if !known(head) {
            return error(state, 404, "HeadNotExist");
        }
    }
    let (Some(base), Some(head)) = (state.resolve(&repo, base), state.resolve(&repo, head)) else {
        return not_found(state);
    };
    let commits: Vec<Value> = state
        .only_in(&repo, &base, &head)
        .iter()
        .map(|sha| state.commit_json(&repo, sha))
        .collect();
    Reply::json(
        200,
        // Gitea sends no `files` here (Forgejo's spec has it): parity with the real server.
        json!({"total_commits": commits.len(), "commits": commits}),
    )
}

pub(super) fn get_pulls(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let wanted = call.query("state").unwrap_or("open");
    let items: Vec<Value> = state
        .issues
        .iter()
        .filter(|((r, _), _)| *r == repo)
        .filter(|(_, issue)| wanted == "all" || issue.state == wanted)
        .filter_map(|(_, issue)| {
            issue.pr.as_ref().map(|pr| {
                let pr = state.live(&repo, issue, pr);
                state.pull_json(&repo, issue, &pr)
            })
        })
        .rev()
        .collect();
    paginate(state, call, items, false)
}

pub(super) fn body_json(state: &StateData, call: &Call) -> Result<Value, Reply> {
    serde_json::from_slice(&call.body).map_err(|_| error(state, 400, "invalid JSON body"))
}

/// Gitea: both branches must exist (404), one open PR per head/base pair (409).
pub(super) fn post_pull(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let body = match body_json(state, call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (head, base, title) = (text("head"), text("base"), text("title"));
    if title.trim().is_empty() {
        return error(state, 422, "[Title]: Required");
    }
    let (Some(head_sha), Some(base_sha)) = (
        state.branches.get(&(repo.clone(), head.clone())).cloned(),
        state.branches.get(&(repo.clone(), base.clone())).cloned(),
    ) else {
        return not_found(state);
    };
    let exists = state.issues.iter().any(|((r, _), issue)| {
        *r == repo
            && issue.state == "open"
            && issue.pr.as_ref().is_some_and(|pr| {
                pr.head_ref == head && pr.base_ref == base && pr.head_repo.is_none()
            })
    });
    if exists {
        return error(
            state,
            409,
            &format!("pull request already exists for these targets [head_branch: {head}, base_branch: {base}]"),
        );
    }
    let number = state
        .issues
        .keys()
        .filter(|(r, _)| *r == repo)
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0)
        + 1;
    let author = call.login.clone().unwrap_or_default();
    let repo_id = state.repo_id(&repo);
    let id = state.next_id();
    let created = state.tick();
    let pr = PrSpec {
        number,
        author: author.clone(),
        title: title.clone(),
        body: text("body"),
        head_ref: head,
        head_sha,
        base_ref: base,
        base_sha,
        ..PrSpec::default()
    };
    state.issues.insert(
        (repo.clone(), number),
        IssueRow {
            id,
            repo_id,
            number,
            author,
            title,
            body: pr.body.clone(),
            state: "open".into(),
            created,
            pr: Some(pr.clone()),
            labels: Vec::new(),
            files: Vec::new(),
            reviews: Vec::new(),
            timeline: Vec::new(),
            comments: Vec::new(),
        },
    );
    let issue = &state.issues[&(repo.clone(), number)];
    Reply::json(201, state.pull_json(&repo, issue, &pr))
}

/// `PATCH …/pulls/{index}` with `base`: 404 unknown base, 409 when an open PR of the same
/// head into the new base exists, 422 closed; success is **201** (a Gitea quirk).
pub(super) fn patch_pull(state: &mut StateData, call: &Call) -> Reply {
    let (issue_state, head_ref, old_base) = match find_pull(state, call) {
        Ok((issue, pr)) => (
            issue.state.clone(),
            pr.head_ref.clone(),
            pr.base_ref.clone(),
        ),
        Err(reply) => return reply,
    };
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    let body = match body_json(state, call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    if let Some(base) = body.get("base").and_then(Value::as_str) {
        if base != old_base {
            let Some(base_sha) = state
                .branches
                .get(&(repo.clone(), base.to_owned()))
                .cloned()
            else {
                return error(state, 404, &format!("new base '{base}' not exist"));
            };
            if issue_state != "open" {
                return error(state, 422, "issue is closed");
            }
            let clash = state.issues.iter().any(|((r, n), issue)| {
                *r == repo
                    && *n != number
                    && issue.state == "open"
                    && issue
                        .pr
                        .as_ref()
                        .is_some_and(|pr| pr.head_ref == head_ref && pr.base_ref == base)
            });
            if clash {
                return error(
                    state,
                    409,
                    &format!("pull request already exists for these targets [head_branch: {head_ref}, base_branch: {base}]"),
                );
            }
            let issue = state.issue_mut(&repo, number);
            if let Some(pr) = issue.pr.as_mut() {
                pr.base_ref = base.to_owned();
                pr.base_sha = base_sha;
            }
        }
    }
    let issue = &state.issues[&(repo.clone(), number)];
    let Some(pr) = issue.pr.as_ref() else {
        return not_found(state);
    };
    let pr = state.live(&repo, issue, pr);
    Reply::json(201, state.pull_json(&repo, issue, &pr))
}

pub(super) const MERGE_STYLES: &[&str] = &[
    "merge",
    "rebase",
    "rebase-merge",
    "squash",
    "fast-forward-only",
    "manually-merged",
];

/// Gitea's merge: closed 404, merged 405, mergeability unknown 405 "Please try again
/// later", protection checks not passing 405 (unless `merge_when_checks_succeed`, which
/// schedules: 201, or 409 when already scheduled), `head_commit_id` not the head 409
/// "head out of date", a diverging fast-forward-only 500; success 200 with no body.
pub(super) fn post_merge(state: &mut StateData, call: &Call) -> Reply {
    let (issue_state, pr) = match find_pull(state, call) {
        Ok((issue, pr)) => (issue.state.clone(), state.live(&call.repo(), issue, pr)),
        Err(reply) => return reply,
    };
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    if pr.merged {
        return error(state, 405, "");
    }
    if issue_state != "open" {
        return not_found(state);
    }
    let body = match body_json(state, call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let style = body.get("Do").and_then(Value::as_str).unwrap_or_default();
    if !MERGE_STYLES.contains(&style) {
        return error(state, 422, "[Do]: In");
    }
    if state.not_ready > 0 {
        state.not_ready -= 1;
        return error(state, 405, "Please try again later");
    }
    let required = state
        .required_contexts(&repo, &pr.base_ref)
        .unwrap_or_default();
    let green = state.checks_pass(&repo, &pr.head_sha, &required);
    let force = body
        .get("force_merge")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if body
        .get("merge_when_checks_succeed")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        && !green
    {
        if !state.scheduled.insert((repo.clone(), number)) {
            return error(
                state,
                409,
                "pull request is already scheduled to auto merge",
            );
        }
        return Reply::empty(201);
    }
    if !green && !force {
        return error(state, 405, "Not all required status checks successful");
    }
    let expected = body
        .get("head_commit_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !expected.is_empty() && expected != pr.head_sha {
        return error(state, 409, "head out of date");
    }
    if style == "fast-forward-only" && !state.is_ancestor(&repo, &pr.base_sha, &pr.head_sha) {
        return error(state, 500, "");
    }
    state
        .branches
        .insert((repo.clone(), pr.base_ref.clone()), pr.head_sha.clone());
    state.scheduled.remove(&(repo.clone(), number));
    let issue = state.issue_mut(&repo, number);
    issue.state = "closed".into();
    if let Some(spec) = issue.pr.as_mut() {
        spec.merged = true;
        spec.state = "closed".into();
        spec.head_sha = pr.head_sha.clone();
        spec.base_sha = pr.base_sha.clone();
    }
    Reply::empty(200)
}

/// Not paginated by Gitea: every comment, with `X-Total-Count`.
pub(super) fn get_comments(state: &mut StateData, call: &Call) -> Reply {
    match find_issue(state, call) {
        Ok(issue) => {
            let mut reply = Reply::json(200, Value::Array(issue.comments.clone()));
            reply.set_header("X-Total-Count", issue.comments.len().to_string());
            reply
        }
        Err(reply) => reply,
    }
}

pub(super) fn post_comment(state: &mut StateData, call: &Call) -> Reply {
    if let Err(reply) = find_issue(state, call) {
        return reply;
    }
    let repo = call.repo();
    let Some(number) = call.index() else {
        return not_found(state);
    };
    let body = match body_json(state, call) {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let text = body.get("body").and_then(Value::as_str).unwrap_or_default();
    if text.is_empty() {
        return error(state, 422, "[Body]: Required");
    }
    let author = call.login.clone().unwrap_or_default();
    let row = state.comment_json(&repo, number, &author, text);
    state.issue_mut(&repo, number).comments.push(row.clone());
    Reply::json(201, row)
}

/// Gitea's status-check patterns are globs (`*` crosses `/`).
pub(super) fn glob_match(pattern: &str, text: &str) -> bool {
    pub(super) fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

pub(super) fn find_release<'a>(
    state: &'a StateData,
    repo: &str,
    tag: &str,
) -> Option<&'a ReleaseRow> {
    state
        .releases
        .iter()
        .rev()
        .find(|r| r.repo == repo && r.tag == tag)
}

pub(super) fn get_release_download(state: &mut StateData, call: &Call) -> Reply {
    let asset = find_release(state, &call.repo(), call.param("tag"))
        .and_then(|r| r.assets.iter().find(|a| a.name == call.param("name")));
    match asset {
        Some(asset) => Reply {
            status: 200,
            headers: Vec::new(),
            body: ReplyBody::Bytes(asset.bytes.clone(), "application/octet-stream"),
        },
        None => Reply {
            status: 404,
            headers: Vec::new(),
            body: ReplyBody::Bytes(b"Not Found".to_vec(), "text/plain; charset=utf-8"),
        },
    }
}
