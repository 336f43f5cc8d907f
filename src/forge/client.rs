//! The HTTP side: one `reqwest::Client`, typed methods, pagination and retries.

use std::{sync::Arc, time::Duration};

use reqwest::{header, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    pages::{Hidden, HiddenStart, Listing, Step, Timeline, PAGE_LIMIT},
    types::*,
    Error,
};
use crate::context::{RepoRef, Secret};

/// Entries asked for in one tree listing (Gitea's default and maximum, 1,000).
const TREE_PAGE: usize = 1_000;

/// Tunables; defaults suit a job on a real server, tests shrink them.
#[derive(Debug, Clone)]
pub struct Options {
    /// Whole-request timeout (connect + send + read body).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts per request, the first included (≥ 1).
    pub attempts: u32,
    /// First backoff delay; doubles per retry, plus up to 50 % jitter.
    pub backoff: Duration,
    /// Longest wait between attempts, `Retry-After` included.
    pub max_backoff: Duration,
    /// Pages fetched at once after the first (1 = sequential).
    pub page_concurrency: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            page_concurrency: 8,
        }
    }
}

/// A Gitea API client bound to one server and one token. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    api: String,
    /// `token <t>`, validated once and marked sensitive (never shown in debug output).
    authorization: header::HeaderValue,
    options: Options,
}

struct Response {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Vec<u8>,
}

impl Client {
    /// `api` is the API base, e.g. `https://gitea.example/api/v1`.
    pub fn new(api: &str, token: Secret, options: Options) -> Result<Client, Error> {
        crate::tls::install_crypto_provider();
        let api = api.trim_end_matches('/').to_owned();
        // Credentials in the URL would ride along in every request name that errors and
        // `-v` logs print: refuse them, and never echo such a URL.
        let has_credentials = match reqwest::Url::parse(&api) {
            Ok(url) => !url.username().is_empty() || url.password().is_some(),
            Err(_) => api.contains('@'),
        };
        if has_credentials {
            return Err(Error::Setup {
                detail: "the server URL carries credentials (`user:password@`); give the \
                         server without them and the token through SHIPGATE_TOKEN"
                    .into(),
            });
        }
        if !(api.starts_with("http://") || api.starts_with("https://")) {
            return Err(Error::Setup {
                detail: format!("`{api}` is not an http(s) URL"),
            });
        }
        let mut authorization = header::HeaderValue::from_str(&format!("token {}", token.expose()))
            .map_err(|_| Error::Setup {
                detail: "the token holds characters an HTTP header cannot carry".into(),
            })?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(concat!("shipgate/", env!("CARGO_PKG_VERSION")))
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .tls_certs_merge(crate::tls::bundled_roots())
            .build()
            .map_err(|e| Error::Setup {
                detail: e.to_string(),
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api,
                authorization,
                options: Options {
                    attempts: options.attempts.max(1),
                    page_concurrency: options.page_concurrency.max(1),
                    ..options
                },
            }),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.inner.api, path)
    }

    /// Send one request with retries. `idempotent: false` never retries once sent.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Response, Error> {
        self.send_capped(
            method,
            path,
            query,
            body,
            idempotent,
            (MAX_RESPONSE_BYTES, "MAX_RESPONSE_BYTES"),
        )
        .await
    }

    /// [`Client::send`] with its own cap on the body (`cap`: bytes and the cap's name).
    async fn send_capped(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotent: bool,
        cap: (usize, &'static str),
    ) -> Result<Response, Error> {
        let url = self.url(path);
        let request_name = format!("{method} {url}");
        let options = &self.inner.options;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut builder = self
                .inner
                .http
                .request(method.clone(), &url)
                .query(query)
                .header(header::AUTHORIZATION, self.inner.authorization.clone())
                .header(header::ACCEPT, "application/json");
            if let Some(body) = body {
                builder = builder
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body.to_string());
            }
            tracing::debug!(request = %request_name, attempt, "forge request");
            let result = match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    match read_body(response, cap.0).await {
                        Ok(body) => Ok(Response {
                            status,
                            headers,
                            body,
                        }),
                        Err(BodyError::Read(e)) => Err(describe(&e)),
                        // Not transient: the same server sends the same body again.
                        Err(BodyError::TooLarge { limit }) => {
                            return Err(Error::Protocol {
                                request: request_name,
                                detail: format!(
                                    "the response body is larger than {limit} bytes \
                                     ({}), so it was not read",
                                    cap.1
                                ),
                            });
                        }
                    }
                }
                Err(e) => Err(describe(&e)),
            };
            let retry_after = match &result {
                Ok(r) if is_retryable_status(r.status) => {
                    if !idempotent && r.status != StatusCode::TOO_MANY_REQUESTS {
                        None
                    } else {
                        Some(retry_after(&r.headers))
                    }
                }
                Ok(_) => None,
                // A transport error on a non-idempotent write may have reached the server.
                Err(_) if !idempotent => None,
                Err(_) => Some(None),
            };
            match (retry_after, attempt < options.attempts) {
                (Some(after), true) => {
                    let delay = after.unwrap_or_else(|| backoff(options, attempt));
                    tracing::debug!(request = %request_name, ?delay, "retrying");
                    tokio::time::sleep(delay.min(options.max_backoff)).await;
                }
                _ => {
                    return match result {
                        Ok(response) => classify(&request_name, response, attempt),
                        Err(detail) => Err(Error::Transient {
                            request: request_name,
                            attempts: attempt,
                            detail,
                        }),
                    };
                }
            }
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, Error> {
        let response = self.send(Method::GET, path, query, None, true).await?;
        decode(&format!("GET {}", self.url(path)), &response.body)
    }

    /// Every item of a paginated list, proven complete against `X-Total-Count`
    /// ([`Listing`]).
    async fn get_all<T>(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<T>, Error>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let request = format!("GET {}", self.url(path));
        let protocol = |detail: String| Error::Protocol {
            request: request.clone(),
            detail,
        };
        let (total, first) = self.get_page::<T>(path, query, 1).await?;
        let listing = Listing::first(total, first.len()).map_err(protocol)?;
        let pages = listing.pages();
        let mut items = first;
        if pages > 1 {
            let semaphore = Arc::new(tokio::sync::Semaphore::new(
                self.inner.options.page_concurrency,
            ));
            let mut tasks = tokio::task::JoinSet::new();
            for page in 2..=pages {
                let client = self.clone();
                let path = path.to_owned();
                let query: Vec<(String, String)> = query
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect();
                let semaphore = Arc::clone(&semaphore);
                tasks.spawn(async move {
                    let _permit = semaphore.acquire_owned().await;
                    let query: Vec<(&str, String)> =
                        query.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                    let result = client.get_page::<T>(&path, &query, page).await;
                    (page, result)
                });
            }
            let mut rest: Vec<(usize, Vec<T>)> = Vec::with_capacity(pages - 1);
            while let Some(joined) = tasks.join_next().await {
                let (page, result) =
                    joined.map_err(|e| protocol(format!("a page fetch did not finish: {e}")))?;
                let (page_total, page_items) = result?;
                listing
                    .page(page, page_total, page_items.len())
                    .map_err(protocol)?;
                rest.push((page, page_items));
            }
            rest.sort_by_key(|(page, _)| *page);
            for (_, page_items) in rest {
                items.extend(page_items);
            }
        }
        listing.finish(items.len()).map_err(protocol)?;
        Ok(items)
    }

    /// Every item of a list whose `X-Total-Count` also counts rows the server hides from
    /// this caller (see [`Client::pull_reviews`]), proven as [`Hidden`] says.
    async fn get_all_hidden<T>(&self, path: &str) -> Result<Vec<T>, Error>
    where
        T: DeserializeOwned,
    {
        let request = format!("GET {}", self.url(path));
        let protocol = |detail: String| Error::Protocol {
            request: request.clone(),
            detail,
        };
        let (total, first) = self.get_page::<T>(path, &[], 1).await?;
        if Hidden::first(total, first.len()).map_err(protocol)? == HiddenStart::Whole {
            return Ok(first);
        }
        let settings = self.api_settings().await?;
        let walk = Hidden::new(total, settings.max_response_items).map_err(protocol)?;
        let mut items = first;
        for page in walk.rest() {
            let (page_total, page_items) = self.get_page::<T>(path, &[], page).await?;
            walk.page(page, page_total, page_items.len())
                .map_err(protocol)?;
            items.extend(page_items);
        }
        let hidden = walk.finish(items.len()).map_err(protocol)?;
        tracing::debug!(
            request = %request,
            hidden,
            "rows counted by the server but not shown to this caller"
        );
        Ok(items)
    }

    async fn get_page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        page: usize,
    ) -> Result<(usize, Vec<T>), Error> {
        let mut query = query.to_vec();
        query.push(("page", page.to_string()));
        query.push(("limit", PAGE_LIMIT.to_string()));
        let response = self.send(Method::GET, path, &query, None, true).await?;
        let request = format!("GET {} page {page}", self.url(path));
        let total = response
            .headers
            .get("x-total-count")
            .ok_or_else(|| Error::Protocol {
                request: request.clone(),
                detail: "no X-Total-Count header: cannot prove the list is complete".into(),
            })?
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .ok_or_else(|| Error::Protocol {
                request: request.clone(),
                detail: "X-Total-Count is not a number".into(),
            })?;
        let items = decode(&request, &response.body)?;
        Ok((total, items))
    }

    async fn write_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        idempotent: bool,
    ) -> Result<T, Error> {
        let name = format!("{method} {}", self.url(path));
        let response = self.send(method, path, &[], Some(body), idempotent).await?;
        decode(&name, &response.body)
    }

    // ---- typed methods -------------------------------------------------------------

    /// `GET /user`: whose token this is.
    pub async fn current_user(&self) -> Result<User, Error> {
        self.get_json("/user", &[]).await
    }

    /// `GET /repos/{o}/{r}/pulls/{index}`. A `state` other than `open`/`closed`, or an
    /// empty head or base SHA, is a protocol error: callers decide "not applicable" from
    /// these fields, so garbage must not read as "closed".
    pub async fn pull(&self, repo: &RepoRef, index: u64) -> Result<PullRequest, Error> {
        let path = format!("/repos/{repo}/pulls/{index}");
        let pull: PullRequest = self.get_json(&path, &[]).await?;
        let problem = if !matches!(pull.state.as_str(), "open" | "closed") {
            Some(format!(
                "the pull request's `state` is `{}`, not `open` or `closed`",
                pull.state
            ))
        } else if pull.head.sha.trim().is_empty() || pull.base.sha.trim().is_empty() {
            Some("the pull request has an empty head or base sha".to_owned())
        } else {
            None
        };
        match problem {
            Some(detail) => Err(Error::Protocol {
                request: format!("GET {}", self.url(&path)),
                detail,
            }),
            None => Ok(pull),
        }
    }

    /// `GET /repos/{o}/{r}/issues/{index}`.
    pub async fn issue(&self, repo: &RepoRef, index: u64) -> Result<Issue, Error> {
        self.get_json(&format!("/repos/{repo}/issues/{index}"), &[])
            .await
    }

    /// `GET /repos/{o}/{r}/pulls/{index}/files`, every page.
    pub async fn pull_files(&self, repo: &RepoRef, index: u64) -> Result<Vec<ChangedFile>, Error> {
        self.get_all(&format!("/repos/{repo}/pulls/{index}/files"), &[])
            .await
    }

    /// `GET /repos/{o}/{r}/pulls/{index}.diff`: the pull request's whole unified diff
    /// (`git diff -p <merge_base>...refs/pull/{index}/head`), at most `cap` bytes (a
    /// larger body is a protocol error naming `cap_name`, not read to its end).
    pub async fn pull_diff(
        &self,
        repo: &RepoRef,
        index: u64,
        cap: (usize, &'static str),
    ) -> Result<Vec<u8>, Error> {
        let path = format!("/repos/{repo}/pulls/{index}.diff");
        let response = self
            .send_capped(Method::GET, &path, &[], None, true, cap)
            .await?;
        if response.status != StatusCode::OK {
            return Err(Error::Protocol {
                request: format!("GET {}", self.url(&path)),
                detail: format!(
                    "HTTP {} where 200 and the diff were expected",
                    response.status.as_u16()
                ),
            });
        }
        Ok(response.body)
    }

    /// `GET /repos/{o}/{r}/pulls/{index}/reviews`, every page.
    ///
    /// Gitea counts every review in `X-Total-Count` and pages over all of them in SQL, but
    /// serves other users' unsubmitted (PENDING) reviews only to their author or a site
    /// admin (`convert.ToPullReviewList`, 1.22 → 1.27), so pages can be short without
    /// anything missing that a verdict could use. Completeness is proven by fetching every
    /// raw page the total implies, at the server's real page size ([`Client::api_settings`]),
    /// plus one page past the end that must be empty.
    pub async fn pull_reviews(&self, repo: &RepoRef, index: u64) -> Result<Vec<Review>, Error> {
        self.get_all_hidden(&format!("/repos/{repo}/pulls/{index}/reviews"))
            .await
    }

    /// `GET /settings/api`: the server's paging limits.
    pub async fn api_settings(&self) -> Result<ApiSettings, Error> {
        self.get_json("/settings/api", &[]).await
    }

    /// `GET /repos/{o}/{r}/issues/{index}/labels` (not paginated by Gitea).
    pub async fn issue_labels(&self, repo: &RepoRef, index: u64) -> Result<Vec<Label>, Error> {
        self.get_json(&format!("/repos/{repo}/issues/{index}/labels"), &[])
            .await
    }

    /// `POST /repos/{o}/{r}/issues/{index}/labels` by id (works on Gitea 1.21 too).
    pub async fn add_issue_labels(
        &self,
        repo: &RepoRef,
        index: u64,
        ids: &[i64],
    ) -> Result<Vec<Label>, Error> {
        self.write_json(
            Method::POST,
            &format!("/repos/{repo}/issues/{index}/labels"),
            &serde_json::json!({ "labels": ids }),
            true,
        )
        .await
    }

    /// `DELETE /repos/{o}/{r}/issues/{index}/labels/{id}`.
    pub async fn remove_issue_label(
        &self,
        repo: &RepoRef,
        index: u64,
        id: i64,
    ) -> Result<(), Error> {
        self.send(
            Method::DELETE,
            &format!("/repos/{repo}/issues/{index}/labels/{id}"),
            &[],
            None,
            true,
        )
        .await
        .map(|_| ())
    }

    /// `GET /repos/{o}/{r}/labels`, every page.
    pub async fn repo_labels(&self, repo: &RepoRef) -> Result<Vec<Label>, Error> {
        self.get_all(&format!("/repos/{repo}/labels"), &[]).await
    }

    /// `POST /repos/{o}/{r}/labels`. Not retried: Gitea accepts duplicate names.
    pub async fn create_label(
        &self,
        repo: &RepoRef,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<Label, Error> {
        self.write_json(
            Method::POST,
            &format!("/repos/{repo}/labels"),
            &serde_json::json!({ "name": name, "color": color, "description": description }),
            false,
        )
        .await
    }

    /// `GET /repos/{o}/{r}/issues/{index}/timeline`, every page.
    ///
    /// Gitea gives no way to prove this list complete: it pages raw comment rows in SQL,
    /// then drops inline code comments and cross-references the caller may not see, sets
    /// `X-Total-Count` to the number of rows on the page it serves and sends no `Link`
    /// (`ListIssueCommentsAndTimeline`, 1.22 → 1.27; Forgejo alike). So a page can be short,
    /// or even empty, in the middle of the list. Completeness is established instead by
    /// walking the pages in order until [`TIMELINE_EMPTY_PAGES`](super::pages::TIMELINE_EMPTY_PAGES) pages in a row come back
    /// empty: the walk stops early only behind that many full pages of hidden rows
    /// (`TIMELINE_EMPTY_PAGES` × 50 code comments in a row). A page larger than asked for,
    /// or a walk longer than `MAX_PAGES`, is a protocol error. `null` rows are skipped, and
    /// a `null` page (what Gitea sends past the end, and for a page whose rows were all
    /// dropped) is an empty one.
    pub async fn issue_timeline(
        &self,
        repo: &RepoRef,
        index: u64,
    ) -> Result<Vec<TimelineComment>, Error> {
        let path = format!("/repos/{repo}/issues/{index}/timeline");
        let request = format!("GET {}", self.url(&path));
        let mut items = Vec::new();
        let mut walk = Timeline::default();
        for page in 1.. {
            let mut query = vec![("page", page.to_string())];
            query.push(("limit", PAGE_LIMIT.to_string()));
            let response = self.send(Method::GET, &path, &query, None, true).await?;
            // A page past the end is `null`, not `[]`: Gitea encodes its nil slice (1.22 → 1.27).
            let rows: Vec<Option<TimelineComment>> =
                decode::<Option<Vec<Option<TimelineComment>>>>(
                    &format!("{request} page {page}"),
                    &response.body,
                )?
                .unwrap_or_default();
            let step = walk
                .page(page, rows.len())
                .map_err(|detail| Error::Protocol {
                    request: request.clone(),
                    detail,
                })?;
            items.extend(rows.into_iter().flatten());
            if step == Step::Done {
                break;
            }
        }
        Ok(items)
    }

    /// `GET /repos/{o}/{r}/statuses/{sha}`, every page, newest first by index.
    ///
    /// Gitea's default order is `created_unix DESC` with no tie-breaker, so rows created in
    /// the same second can repeat or go missing across pages; `sort=leastindex` orders by
    /// the per-commit index, which is unique. Gitea's names are the wrong way round:
    /// `leastindex` is `index DESC`, `highestindex` is `index ASC` (1.22 → 1.27, seen on the
    /// real server).
    pub async fn statuses(&self, repo: &RepoRef, sha: &str) -> Result<Vec<CommitStatus>, Error> {
        self.get_all(
            &format!("/repos/{repo}/statuses/{}", segment(sha)),
            &[("sort", "leastindex".to_owned())],
        )
        .await
    }

    /// `POST /repos/{o}/{r}/statuses/{sha}`.
    pub async fn create_status(
        &self,
        repo: &RepoRef,
        sha: &str,
        status: &CreateStatus,
    ) -> Result<CommitStatus, Error> {
        // Gitea stores `context`, `description` and `target_url` trimmed: send them so, so a
        // later "is this already posted?" compares like with like.
        let status = CreateStatus {
            state: status.state.clone(),
            context: status.context.trim().to_owned(),
            description: status.description.trim().to_owned(),
            target_url: status.target_url.trim().to_owned(),
        };
        let body = serde_json::to_value(&status).map_err(|e| Error::Setup {
            detail: e.to_string(),
        })?;
        self.write_json(
            Method::POST,
            &format!("/repos/{repo}/statuses/{}", segment(sha)),
            &body,
            true,
        )
        .await
    }

    /// `GET /orgs/{org}/teams`, every page.
    pub async fn org_teams(&self, org: &str) -> Result<Vec<Team>, Error> {
        self.get_all(&format!("/orgs/{}/teams", segment(org)), &[])
            .await
    }

    /// `GET /teams/{id}/members`: every member of the team, every page, proven complete
    /// against `X-Total-Count` (Gitea sends the team's member count). Gitea lets only a
    /// team's members, an org owner or a site admin list them (1.27: also whoever the
    /// team's visibility admits); another org member gets 403 "Must be a team member", a
    /// caller outside the org or an unknown team 404. Errors come back typed; what a 404
    /// means is the caller's to say.
    pub async fn team_members(&self, team_id: i64) -> Result<Vec<User>, Error> {
        self.get_all(&format!("/teams/{team_id}/members"), &[])
            .await
    }

    /// `GET /teams/{id}/members/{login}`: 200/204 member, 404 verified non-member,
    /// anything else an error.
    /// A 200 must carry the member as a `User` with that login; anything else is a
    /// protocol error, never a membership.
    pub async fn is_team_member(&self, team_id: i64, login: &str) -> Result<bool, Error> {
        let path = format!("/teams/{team_id}/members/{}", segment(login));
        match self.send(Method::GET, &path, &[], None, true).await {
            Ok(response) if response.status == StatusCode::NO_CONTENT => Ok(true),
            Ok(response) => {
                let request = format!("GET {}", self.url(&path));
                let user: User = decode(&request, &response.body)?;
                if user.login.eq_ignore_ascii_case(login) {
                    Ok(true)
                } else {
                    Err(Error::Protocol {
                        request,
                        detail: format!(
                            "the membership probe for `{login}` answered with user `{}`",
                            user.login
                        ),
                    })
                }
            }
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `GET /repos/{o}/{r}/raw/{path}?ref=…`: the file's bytes, `None` on a 404.
    pub async fn file_at(
        &self,
        repo: &RepoRef,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<Vec<u8>>, Error> {
        let path = path
            .trim_start_matches('/')
            .split('/')
            .map(segment)
            .collect::<Vec<_>>()
            .join("/");
        match self
            .send(
                Method::GET,
                &format!("/repos/{repo}/raw/{path}"),
                &[("ref", git_ref.to_owned())],
                None,
                true,
            )
            .await
        {
            Ok(response) => Ok(Some(response.body)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /repos/{o}/{r}/git/trees/{sha}`: one level (`sha`: a tree or commit id, or a
    /// branch name). A truncated listing is a protocol error: a directory read in part
    /// would hide files.
    pub async fn tree(&self, repo: &RepoRef, sha: &str) -> Result<Tree, Error> {
        let path = format!("/repos/{repo}/git/trees/{}", segment(sha));
        let tree: Tree = self
            .get_json(&path, &[("per_page", TREE_PAGE.to_string())])
            .await?;
        if tree.truncated {
            return Err(Error::Protocol {
                request: format!("GET {}", self.url(&path)),
                detail: format!("the tree has more than {TREE_PAGE} entries (`truncated`)"),
            });
        }
        Ok(tree)
    }

    /// `POST /repos/{o}/{r}/actions/workflows/{file}/dispatches` (Gitea ≥ 1.24).
    pub async fn dispatch_workflow(
        &self,
        repo: &RepoRef,
        workflow: &str,
        git_ref: &str,
        inputs: &serde_json::Map<String, Value>,
    ) -> Result<(), Error> {
        self.send(
            Method::POST,
            &format!(
                "/repos/{repo}/actions/workflows/{}/dispatches",
                segment(workflow)
            ),
            &[],
            Some(&serde_json::json!({ "ref": git_ref, "inputs": inputs })),
            false,
        )
        .await
        .map(|_| ())
    }

    /// `GET /version`: the server's version string.
    pub async fn server_version(&self) -> Result<ServerVersion, Error> {
        self.get_json("/version", &[]).await
    }

    /// `GET /notifications/new` (read:notification). shipgate's tokens lack that scope, so
    /// newer Gitea refuses with a 403 that lists the token's scopes (1.27.3 does, 1.22.6 does
    /// not): the one
    /// harmless way to learn whether a token holds a write scope. See
    /// [`Error::disclosed_scopes`].
    pub async fn new_notifications(&self) -> Result<NotificationCount, Error> {
        self.get_json("/notifications/new", &[]).await
    }

    /// `GET /repos/{o}/{r}`: default branch and the caller's permissions.
    pub async fn repository(&self, repo: &RepoRef) -> Result<Repository, Error> {
        self.get_json(&format!("/repos/{repo}"), &[]).await
    }

    /// `GET /repos/{o}/{r}/branches/{branch}`: its tip and, when protected, the status
    /// contexts its rule requires. An empty commit id is a protocol error.
    pub async fn branch(&self, repo: &RepoRef, name: &str) -> Result<Branch, Error> {
        let path = format!("/repos/{repo}/branches/{}", segment(name));
        let branch: Branch = self.get_json(&path, &[]).await?;
        if branch.commit.id.trim().is_empty() || branch.name != name {
            return Err(Error::Protocol {
                request: format!("GET {}", self.url(&path)),
                detail: format!(
                    "the answer names branch `{}` at `{}`, not a tip of `{name}`",
                    branch.name, branch.commit.id
                ),
            });
        }
        Ok(branch)
    }

    /// `GET /repos/{o}/{r}/compare/{base}...{head}`: how many commits `head` has that
    /// `base` lacks (0: `head` is contained in `base`).
    pub async fn compare(&self, repo: &RepoRef, base: &str, head: &str) -> Result<Compare, Error> {
        self.get_json(
            &format!(
                "/repos/{repo}/compare/{}...{}",
                segment(base),
                segment(head)
            ),
            &[],
        )
        .await
    }

    /// `GET /repos/{o}/{r}/pulls?state=open`, every page.
    pub async fn open_pulls(&self, repo: &RepoRef) -> Result<Vec<PullRequest>, Error> {
        self.get_all(
            &format!("/repos/{repo}/pulls"),
            &[("state", "open".to_owned())],
        )
        .await
    }

    /// `POST /repos/{o}/{r}/pulls`. Not retried once sent (a retry could open two).
    pub async fn create_pull(
        &self,
        repo: &RepoRef,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, Error> {
        self.write_json(
            Method::POST,
            &format!("/repos/{repo}/pulls"),
            &serde_json::json!({ "head": head, "base": base, "title": title, "body": body }),
            false,
        )
        .await
    }

    /// `PATCH /repos/{o}/{r}/pulls/{index}` with a new `base` (Gitea answers 201).
    pub async fn set_pull_base(
        &self,
        repo: &RepoRef,
        index: u64,
        base: &str,
    ) -> Result<PullRequest, Error> {
        self.write_json(
            Method::PATCH,
            &format!("/repos/{repo}/pulls/{index}"),
            &serde_json::json!({ "base": base }),
            true,
        )
        .await
    }

    /// `POST /repos/{o}/{r}/pulls/{index}/merge`: 200 merged, 201 scheduled; 405 (not
    /// mergeable, not allowed) and 409 (head moved, push out of date) are errors the
    /// caller judges. Never retried once sent.
    pub async fn merge_pull(
        &self,
        repo: &RepoRef,
        index: u64,
        options: &MergeOptions,
    ) -> Result<Merged, Error> {
        let body = serde_json::to_value(options).map_err(|e| Error::Setup {
            detail: e.to_string(),
        })?;
        let path = format!("/repos/{repo}/pulls/{index}/merge");
        let response = self
            .send(Method::POST, &path, &[], Some(&body), false)
            .await?;
        match response.status {
            StatusCode::OK => Ok(Merged::Now),
            StatusCode::CREATED => Ok(Merged::Scheduled),
            other => Err(Error::Protocol {
                request: format!("POST {}", self.url(&path)),
                detail: format!("unexpected HTTP {} for a merge", other.as_u16()),
            }),
        }
    }

    /// `GET /repos/{o}/{r}/issues/{index}/comments` (Gitea returns them all at once; the
    /// count is checked against `X-Total-Count` when sent).
    pub async fn issue_comments(&self, repo: &RepoRef, index: u64) -> Result<Vec<Comment>, Error> {
        let path = format!("/repos/{repo}/issues/{index}/comments");
        let request = format!("GET {}", self.url(&path));
        let response = self.send(Method::GET, &path, &[], None, true).await?;
        let comments: Vec<Comment> = decode(&request, &response.body)?;
        let total = response
            .headers
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().parse::<usize>());
        match total {
            Some(Ok(total)) if total != comments.len() => Err(Error::Protocol {
                request,
                detail: format!(
                    "X-Total-Count says {total} comments, {} arrived",
                    comments.len()
                ),
            }),
            Some(Err(_)) => Err(Error::Protocol {
                request,
                detail: "X-Total-Count is not a number".into(),
            }),
            _ => Ok(comments),
        }
    }

    /// `POST /repos/{o}/{r}/issues/{index}/comments`. Not retried once sent.
    pub async fn create_comment(
        &self,
        repo: &RepoRef,
        index: u64,
        body: &str,
    ) -> Result<Comment, Error> {
        self.write_json(
            Method::POST,
            &format!("/repos/{repo}/issues/{index}/comments"),
            &serde_json::json!({ "body": body }),
            false,
        )
        .await
    }

    /// `GET /repos/{o}/{r}/branch_protections` (every rule; Gitea does not page it). Needs
    /// repository admin: others get 403 (or 404).
    pub async fn branch_protections(&self, repo: &RepoRef) -> Result<Vec<BranchProtection>, Error> {
        self.get_json(&format!("/repos/{repo}/branch_protections"), &[])
            .await
    }
}

/// One URL path segment, percent-encoded: only RFC 3986 unreserved characters stay, so a
/// `/`, `?`, `#` or `%` in a SHA, login, tag or file name cannot change the route.
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn backoff(options: &Options, attempt: u32) -> Duration {
    let base = options
        .backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = base.mul_f64(f64::from(nanos % 500) / 1000.0);
    (base + jitter).min(options.max_backoff)
}

fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the response body broke off"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn classify(request: &str, response: Response, attempts: u32) -> Result<Response, Error> {
    let status = response.status;
    if status.is_success() {
        return Ok(response);
    }
    let message = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_owned());
    let request = request.to_owned();
    Err(match status {
        StatusCode::UNAUTHORIZED => Error::Unauthorized { request, message },
        StatusCode::FORBIDDEN => Error::Forbidden { request, message },
        StatusCode::NOT_FOUND => Error::NotFound { request, message },
        StatusCode::METHOD_NOT_ALLOWED => Error::NotAllowed { request, message },
        StatusCode::CONFLICT => Error::Conflict { request, message },
        StatusCode::UNPROCESSABLE_ENTITY => Error::Unprocessable { request, message },
        s if is_retryable_status(s) => Error::Transient {
            request,
            attempts,
            detail: format!("HTTP {}: {message}", s.as_u16()),
        },
        s => Error::Protocol {
            request,
            detail: format!("unexpected HTTP {}: {message}", s.as_u16()),
        },
    })
}

/// Most bytes of one response body read into memory (32 MiB). The largest answers
/// shipgate reads are a 50-row page of pull requests (tens of KiB) and a raw file such as
/// `.gitattributes` or the config; a longer body is refused before it is buffered, so a
/// server (or a proxy) cannot make a run allocate without bound.
pub const MAX_RESPONSE_BYTES: usize = 32 << 20;

enum BodyError {
    Read(reqwest::Error),
    TooLarge { limit: usize },
}

/// The body, chunk by chunk, refused as soon as it (or its `Content-Length`) passes `limit`.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length().unwrap_or(0);
    if usize::try_from(announced).map_or(true, |n| n > limit) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn decode<T: DeserializeOwned>(request: &str, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Protocol {
        request: request.to_owned(),
        detail: format!("not the expected JSON: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::pages::MAX_PAGES;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A one-shot HTTP/1.1 server on 127.0.0.1 answering every request with `head` and
    /// then `body`; returns its URL.
    /// A server on 127.0.0.1, on its own thread: each request gets the raw bytes `answer`
    /// gives for its path (status line, headers and body, possibly cut or malformed),
    /// then the connection closes. Returns its URL and the count of requests served.
    fn serve(
        answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
    ) -> (String, Arc<AtomicUsize>) {
        use std::io::{BufRead as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let count = Arc::new(AtomicUsize::new(0));
        let served = Arc::clone(&count);
        let answer = Arc::new(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (served, answer) = (Arc::clone(&served), Arc::clone(&answer));
                std::thread::spawn(move || {
                    let Ok(mut writer) = stream.try_clone() else {
                        return;
                    };
                    let mut reader = std::io::BufReader::new(stream);
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut header = String::new();
                    while reader.read_line(&mut header).is_ok_and(|n| n > 0) && header.trim() != ""
                    {
                        header.clear();
                    }
                    served.fetch_add(1, Ordering::SeqCst);
                    let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
                    let _ = writer.write_all(&answer(&path));
                });
            }
        });
        (url, count)
    }

    /// [`serve`] with one fixed answer.
    fn serve_bytes(head: String, body: Vec<u8>) -> String {
        let answer = [head.into_bytes(), body].concat();
        serve(move |_| answer.clone()).0
    }

    /// [`serve`] answering 200 with JSON: `route(path)` gives extra headers and the body.
    fn serve_routes(route: fn(&str) -> (String, String)) -> (String, Arc<AtomicUsize>) {
        let (url, count) = serve(move |path| {
            let (headers, body) = route(path);
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        });
        (format!("{url}/api/v1"), count)
    }

    fn body_of(url: &str, limit: usize) -> Result<Vec<u8>, BodyError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        crate::tls::install_crypto_provider();
        runtime.block_on(async {
            let response = reqwest::get(url).await.map_err(BodyError::Read)?;
            read_body(response, limit).await
        })
    }

    #[test]
    fn response_bodies_are_capped() {
        let limit = 1000;
        // Content-Length over the cap: refused before a byte of the body is read.
        let url = serve_bytes(
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", limit + 1),
            Vec::new(),
        );
        assert!(matches!(
            body_of(&url, limit),
            Err(BodyError::TooLarge { limit: 1000 })
        ));
        // Chunked, no length announced: refused at the chunk that passes the cap.
        let chunk = vec![b'x'; 600];
        let mut chunked = Vec::new();
        for _ in 0..2 {
            chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            chunked.extend_from_slice(&chunk);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let url = serve_bytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".into(),
            chunked.clone(),
        );
        assert!(matches!(
            body_of(&url, limit),
            Err(BodyError::TooLarge { .. })
        ));
        // Exactly at the cap, and the same chunked body under a larger cap: read whole.
        let url = serve_bytes(
            format!("HTTP/1.1 200 OK\r\nContent-Length: {limit}\r\n\r\n"),
            vec![b'y'; limit],
        );
        assert_eq!(body_of(&url, limit).ok().map(|b| b.len()), Some(limit));
        let url = serve_bytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".into(),
            chunked,
        );
        assert_eq!(body_of(&url, 1200).ok().map(|b| b.len()), Some(1200));
    }

    #[test]
    fn the_client_refuses_a_body_over_max_response_bytes_without_retrying() {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Total-Count: 1\r\n\r\n",
            MAX_RESPONSE_BYTES + 1
        );
        let (url, served) = serve(move |_| head.clone().into_bytes());
        let client = Client::new(
            &format!("{url}/api/v1"),
            Secret::new("t"),
            Options {
                attempts: 3,
                backoff: Duration::from_millis(1),
                ..Options::default()
            },
        )
        .expect("client");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let error = runtime
            .block_on(client.current_user())
            .expect_err("a body over the cap is an error");
        assert!(
            matches!(&error, Error::Protocol { detail, .. } if detail.contains("MAX_RESPONSE_BYTES")),
            "{error:?}"
        );
        assert_eq!(
            served.load(Ordering::SeqCst),
            1,
            "a body over the cap is not retried"
        );
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn local_client(url: &str) -> Client {
        Client::new(
            url,
            Secret::new("t"),
            Options {
                attempts: 1,
                timeout: Duration::from_secs(30),
                ..Options::default()
            },
        )
        .expect("client")
    }

    /// A timeline that never ends (one row on every page) stops at `MAX_PAGES` requests.
    #[test]
    fn an_endless_timeline_stops_at_max_pages() {
        let (url, served) = serve_routes(|_| {
            (
                String::new(),
                r#"[{"type":"comment","body":"again"}]"#.to_owned(),
            )
        });
        let client = local_client(&url);
        let repo = RepoRef::parse("acme/app").expect("repo");
        let error = runtime()
            .block_on(client.issue_timeline(&repo, 7))
            .expect_err("an endless timeline is an error");
        assert!(
            matches!(&error, Error::Protocol { detail, .. } if detail.contains(&format!("within {MAX_PAGES} pages"))),
            "{error:?}"
        );
        assert_eq!(served.load(Ordering::SeqCst), MAX_PAGES);
    }

    /// A review list whose `X-Total-Count` implies more than `MAX_PAGES` pages is refused
    /// before any page past the first is asked for.
    #[test]
    fn a_hidden_rows_list_longer_than_max_pages_is_refused_up_front() {
        let (url, served) = serve_routes(|path| {
            if path.starts_with("/api/v1/settings/api") {
                (String::new(), r#"{"max_response_items":50}"#.to_owned())
            } else {
                (
                    "X-Total-Count: 1000000\r\n".to_owned(),
                    r#"[{"id":1,"state":"APPROVED"}]"#.to_owned(),
                )
            }
        });
        let client = local_client(&url);
        let repo = RepoRef::parse("acme/app").expect("repo");
        let error = runtime()
            .block_on(client.pull_reviews(&repo, 7))
            .expect_err("too many pages");
        assert!(
            matches!(&error, Error::Protocol { detail, .. } if detail.contains(&format!("more than {MAX_PAGES} pages"))),
            "{error:?}"
        );
        assert_eq!(
            served.load(Ordering::SeqCst),
            2,
            "the first page and the settings only"
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("v1.2.3"), "v1.2.3");
        assert_eq!(segment("release/v1"), "release%2Fv1");
        assert_eq!(segment("a b?#%"), "a%20b%3F%23%25");
        assert_eq!(segment("ü"), "%C3%BC");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let options = Options {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..Options::default()
        };
        let first = backoff(&options, 1);
        assert!(first >= Duration::from_millis(100) && first < Duration::from_millis(150));
        let third = backoff(&options, 3);
        assert!(third >= Duration::from_millis(400));
        assert_eq!(backoff(&options, 10), Duration::from_millis(1000));
    }
}
