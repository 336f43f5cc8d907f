//! The route table: every method and path template the fake serves, and its handler.

use super::*;

/// One route the fake serves. `template` is the swagger path template; API routes live
/// under `/api/v1` (not part of the template), the others (release downloads) are web routes.
pub struct Route {
    pub method: &'static str,
    pub template: &'static str,
    pub api: bool,
    pub(super) handler: Handler,
}

impl Route {
    /// `"METHOD /template"`, the key faults use.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

pub(super) type Handler = fn(&mut StateData, &Call) -> Reply;

/// Every route the fake serves; the dispatcher matches against exactly this list.
#[rustfmt::skip]
pub static ROUTES: &[Route] = &[
    api("GET", "/user", get_user),
    api("GET", "/repos/{owner}/{repo}/pulls/{index}.{diffType}", get_pull_diff),
    api("GET", "/repos/{owner}/{repo}/pulls/{index}", get_pull),
    api("GET", "/repos/{owner}/{repo}/issues/{index}", get_issue),
    api("GET", "/repos/{owner}/{repo}/pulls/{index}/files", get_pull_files),
    api("GET", "/repos/{owner}/{repo}/pulls/{index}/reviews", get_pull_reviews),
    api("POST", "/repos/{owner}/{repo}/pulls/{index}/reviews", post_pull_review),
    api("GET", "/repos/{owner}/{repo}/issues/{index}/labels", get_issue_labels),
    api("POST", "/repos/{owner}/{repo}/issues/{index}/labels", post_issue_labels),
    api("DELETE", "/repos/{owner}/{repo}/issues/{index}/labels/{id}", delete_issue_label),
    api("GET", "/repos/{owner}/{repo}/labels", get_repo_labels),
    api("POST", "/repos/{owner}/{repo}/labels", post_repo_label),
    api("GET", "/repos/{owner}/{repo}/issues/{index}/timeline", get_timeline),
    api("GET", "/repos/{owner}/{repo}/statuses/{sha}", get_statuses),
    api("POST", "/repos/{owner}/{repo}/statuses/{sha}", post_status),
    api("GET", "/orgs/{org}/teams", get_org_teams),
    api("GET", "/teams/{id}/members", get_team_members),
    api("GET", "/teams/{id}/members/{username}", get_team_member),
    api("GET", "/settings/api", get_api_settings),
    api("GET", "/version", get_version),
    api("GET", "/notifications/new", get_notifications_new),
    api("GET", "/repos/{owner}/{repo}/git/trees/{sha}", get_tree),
    api("GET", "/repos/{owner}/{repo}/branch_protections", get_branch_protections),
    api("GET", "/repos/{owner}/{repo}/raw/{filepath}", get_raw),
    api("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", post_dispatch),
    api("GET", "/repos/{owner}/{repo}", get_repo),
    api("GET", "/repos/{owner}/{repo}/branches/{branch}", get_branch),
    api("GET", "/repos/{owner}/{repo}/compare/{basehead}", get_compare),
    api("GET", "/repos/{owner}/{repo}/pulls", get_pulls),
    api("POST", "/repos/{owner}/{repo}/pulls", post_pull),
    api("PATCH", "/repos/{owner}/{repo}/pulls/{index}", patch_pull),
    api("POST", "/repos/{owner}/{repo}/pulls/{index}/merge", post_merge),
    api("GET", "/repos/{owner}/{repo}/issues/{index}/comments", get_comments),
    api("POST", "/repos/{owner}/{repo}/issues/{index}/comments", post_comment),
    web("GET", "/{owner}/{repo}/releases/download/{tag}/{name}", get_release_download),
];

pub(super) const fn api(method: &'static str, template: &'static str, handler: Handler) -> Route {
    Route {
        method,
        template,
        api: true,
        handler,
    }
}

pub(super) const fn web(method: &'static str, template: &'static str, handler: Handler) -> Route {
    Route {
        method,
        template,
        api: false,
        handler,
    }
}

/// `(method, template)` of every API route (under `/api/v1`), as the spec test reads them.
pub fn api_routes() -> Vec<(&'static str, &'static str)> {
    ROUTES
        .iter()
        .filter(|r| r.api)
        .map(|r| (r.method, r.template))
        .collect()
}
