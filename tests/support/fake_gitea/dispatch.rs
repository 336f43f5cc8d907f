//! Matching a request to its route, recording it, applying triggers and faults, and the HTTP plumbing.

use super::*;

/// Match `path` (already without `/api/v1` for API routes) against a template.
pub(super) fn match_template(template: &str, path: &str) -> Option<HashMap<&'static str, String>> {
    let want: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut params = HashMap::new();
    for (i, segment) in want.iter().enumerate() {
        // `{index}.{diffType}`: two parameters in one segment, split at its last dot.
        if let Some((first, second)) = segment
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .and_then(|s| s.split_once("}.{"))
        {
            let (a, b) = got.get(i)?.rsplit_once('.')?;
            if a.is_empty() || b.is_empty() {
                return None;
            }
            params.insert(static_name(first), decode(a));
            params.insert(static_name(second), decode(b));
            continue;
        }
        let name = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
        match name {
            // The raw file path spans every remaining segment.
            Some("filepath") if i == want.len() - 1 => {
                let rest = got.get(i..)?;
                if rest.is_empty() || rest.iter().any(|s| s.is_empty()) {
                    return None;
                }
                let decoded: Vec<String> = rest.iter().map(|s| decode(s)).collect();
                params.insert("filepath", decoded.join("/"));
                return Some(params);
            }
            Some(name) => {
                let value = got.get(i)?;
                if value.is_empty() {
                    return None;
                }
                params.insert(static_name(name), decode(value));
            }
            None => {
                if got.get(i) != Some(segment) {
                    return None;
                }
            }
        }
    }
    (want.len() == got.len()).then_some(params)
}

/// Parameter names as `'static` (they come from the static route table).
pub(super) fn static_name(name: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "owner",
        "repo",
        "index",
        "sha",
        "org",
        "id",
        "username",
        "filepath",
        "workflow_id",
        "tag",
        "name",
        "branch",
        "basehead",
        "diffType",
    ];
    NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .unwrap_or_else(|| panic!("fake: add parameter `{name}` to static_name"))
}

pub(super) fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(super) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

pub(super) fn token_of(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme == "token" || scheme.eq_ignore_ascii_case("bearer")).then(|| token.trim())
}

pub(super) async fn dispatch(
    AxumState(shared): AxumState<Arc<Shared>>,
    request: Request,
) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let raw_query = request.uri().query().unwrap_or_default().to_owned();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let conn = request
        .extensions()
        .get::<axum::extract::ConnectInfo<ConnKill>>()
        .map(|info| info.0.clone());
    let body = axum::body::to_bytes(request.into_body(), 64 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let query = parse_query(&raw_query);

    let (response, delay, cut) = {
        let mut state = shared.lock();
        let login = token_of(authorization.as_deref())
            .and_then(|t| state.tokens.get(t))
            .cloned();
        let (api, route_path) = match path.strip_prefix("/api/v1") {
            Some(rest) if rest.starts_with('/') => (true, rest),
            _ => (false, path.as_str()),
        };
        let mut path_matched = false;
        let mut found = None;
        for route in ROUTES.iter().filter(|r| r.api == api) {
            if let Some(params) = match_template(route.template, route_path) {
                path_matched = true;
                if route.method == method {
                    found = Some((route, params));
                    break;
                }
            }
        }
        let mut record = Recorded {
            method: method.clone(),
            route: String::new(),
            path: path.clone(),
            query: raw_query.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            login: login.clone(),
            authorization,
            status: 0,
            fault: None,
        };
        state.position += 1;
        let position = state.position;
        let Some((route, params)) = found else {
            state.unmatched.push(format!("{method} {path}"));
            let status = if path_matched { 405 } else { 404 };
            record.status = status;
            state.requests.push(record);
            let reply = error(&state, status, "not found");
            return to_response(reply);
        };
        record.route = route.template.to_owned();
        let key = route.key();
        let page = query
            .iter()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or(1);

        // Triggers: "another client" acts just before this request is answered.
        let mut due = Vec::new();
        for (route_key, nth, hits, action) in state.triggers.iter_mut() {
            if *route_key == key {
                *hits += 1;
                if *hits == *nth {
                    due.push(action.clone());
                }
            }
        }
        for action in &due {
            state.apply(action);
        }

        // Which faults fire for this request (each counts its own hits).
        let mut active = Vec::new();
        for fault_state in state.faults.iter_mut() {
            let fault = &fault_state.fault;
            if fault.route != key
                || fault.page.is_some_and(|p| p != page)
                || fault
                    .login
                    .as_ref()
                    .is_some_and(|l| Some(l) != login.as_ref())
                || fault.times.is_some_and(|n| fault_state.hits >= n)
            {
                continue;
            }
            fault_state.hits += 1;
            active.push(fault.clone());
        }
        let scheduled: Vec<FaultKind> = state
            .schedule
            .iter()
            .filter(|s| s.nth == position)
            .map(|s| s.kind.clone())
            .filter(|kind| {
                !state
                    .schedule_answers
                    .iter()
                    .any(|(r, k)| *r == key && k == kind)
            })
            .collect();
        for kind in scheduled {
            active.push(Fault::new(&key, kind));
        }
        record.fault = active.first().map(|f| f.kind.clone());
        if active.iter().any(|f| f.kind == FaultKind::Reset) {
            record.fault = Some(FaultKind::Reset);
            state.requests.push(record);
            if let Some(conn) = &conn {
                conn.kill();
            }
            return to_response(Reply::empty(500));
        }
        let mut delay = Duration::ZERO;
        for fault in &active {
            if let FaultKind::Delay(d) = fault.kind {
                delay += d;
            }
        }

        let status_fault = active.iter().find_map(|f| match f.kind {
            FaultKind::Status(code) => Some((code, f.retry_after)),
            FaultKind::StatusRetryAfter(code, secs) => Some((code, Some(secs))),
            _ => None,
        });
        let mut reply = if let Some((code, retry_after)) = status_fault {
            let mut reply = fault_status(&state, code);
            if let Some(secs) = retry_after {
                reply.set_header("Retry-After", secs.to_string());
            }
            reply
        } else if route.api && login.is_none() {
            error(&state, 401, "token is required")
        } else if route.api
            && method != "GET"
            && login.as_ref().is_some_and(|l| state.read_only.contains(l))
        {
            error(
                &state,
                403,
                "token does not have at least one of required scope(s): [write:issue write:repository]",
            )
        } else {
            let call = Call {
                params,
                query,
                body,
                login,
                path: path.clone(),
            };
            (route.handler)(&mut state, &call)
        };
        if status_fault.is_none() {
            for fault in &active {
                apply_body_fault(&mut reply, &fault.kind);
            }
        }
        // After-triggers: "another client" acts once this request is handled, before the
        // answer leaves. A request refused by a fault was not handled: it does not count.
        if status_fault.is_none() {
            let mut due = Vec::new();
            for (route_key, nth, hits, action) in state.after_triggers.iter_mut() {
                if *route_key == key {
                    *hits += 1;
                    if *hits == *nth {
                        due.push(action.clone());
                    }
                }
            }
            for action in &due {
                state.apply(action);
            }
        }
        record.status = reply.status;
        let response = to_response(reply);
        let size = axum::body::HttpBody::size_hint(response.body())
            .exact()
            .unwrap_or(0);
        let mut cut = None;
        if status_fault.is_none() && active.iter().any(|f| f.kind == FaultKind::CutBody) {
            if size > 0 {
                // Half the body: the client has the headers and a part, never all of it.
                cut = Some(usize::try_from(size / 2).unwrap_or(0));
                record.fault = Some(FaultKind::CutBody);
            } else if record.fault == Some(FaultKind::CutBody) {
                // Nothing to cut: the answer arrives whole.
                record.fault = None;
            }
        }
        state.requests.push(record);
        (response, delay, cut)
    };
    if let (Some(keep), Some(conn)) = (cut, &conn) {
        conn.cut_after(keep);
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    response
}

pub(super) fn apply_body_fault(reply: &mut Reply, kind: &FaultKind) {
    match kind {
        FaultKind::Status(_)
        | FaultKind::StatusRetryAfter(..)
        | FaultKind::Delay(_)
        | FaultKind::Reset
        | FaultKind::CutBody => {}
        FaultKind::Malformed => {
            reply.body = ReplyBody::Bytes(
                b"{\"id\": 1, \"message\": \"the answer broke off".to_vec(),
                "application/json;charset=utf-8",
            );
        }
        FaultKind::TruncatePage => match &mut reply.body {
            ReplyBody::Json(Value::Array(items)) => {
                items.pop();
            }
            // A diff that ends early, cleanly, at a file boundary: its last file is gone.
            ReplyBody::Bytes(bytes, "text/plain; charset=utf-8") => {
                let keep = bytes
                    .windows(12)
                    .rposition(|w| w == b"\ndiff --git ")
                    .map_or(0, |at| at + 1);
                bytes.truncate(keep);
            }
            _ => {}
        },
        FaultKind::WrongTotal(delta) => {
            if let Some(total) = reply
                .header("X-Total-Count")
                .and_then(|t| t.parse::<i64>().ok())
            {
                reply.set_header("X-Total-Count", (total + delta).to_string());
            }
        }
        FaultKind::NoTotal => {
            reply
                .headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case("X-Total-Count"));
        }
    }
}

pub(super) fn to_response(reply: Reply) -> Response {
    let (bytes, content_type) = match reply.body {
        ReplyBody::Json(value) => (
            serde_json::to_vec(&value).expect("JSON values serialize"),
            Some("application/json;charset=utf-8"),
        ),
        ReplyBody::Bytes(bytes, content_type) => (bytes, Some(content_type)),
        ReplyBody::Empty => (Vec::new(), None),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Some(content_type) = content_type {
        headers.insert("content-type", HeaderValue::from_static(content_type));
    }
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

pub(super) fn get_version(_state: &mut StateData, _call: &Call) -> Reply {
    Reply::json(200, json!({"version": "1.27.3"}))
}

/// `GET …/git/trees/{sha}`: one level of the files set with `set_file`. `sha` is a ref
/// name (the root) or an id this route minted for a directory: the hex of `ref\ndir`.
pub(super) fn get_tree(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let sha = call.param("sha");
    let (git_ref, dir) = match tree_id_decode(sha) {
        Some((git_ref, dir)) => (git_ref, dir),
        None => (sha.to_owned(), String::new()),
    };
    let mut entries: BTreeMap<String, &'static str> = BTreeMap::new();
    for (r, g, path) in state.contents.keys() {
        if *r != repo || *g != git_ref {
            continue;
        }
        let rest = if dir.is_empty() {
            path.as_str()
        } else {
            match path.strip_prefix(&format!("{dir}/")) {
                Some(rest) => rest,
                None => continue,
            }
        };
        match rest.split_once('/') {
            Some((sub, _)) => entries.insert(sub.to_owned(), "tree"),
            None => entries.insert(rest.to_owned(), "blob"),
        };
    }
    if entries.is_empty() && !dir.is_empty() {
        return not_found(state);
    }
    let base = &state.base;
    let tree: Vec<Value> = entries
        .iter()
        .map(|(name, kind)| {
            let full = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            let id = tree_id(&git_ref, &full);
            json!({"path": name, "mode": if *kind == "tree" { "040000" } else { "100644" },
                   "type": kind, "size": 0, "sha": id,
                   "url": format!("{base}/api/v1/repos/{repo}/git/trees/{id}")})
        })
        .collect();
    Reply::json(
        200,
        json!({"sha": sha, "url": format!("{base}/api/v1/repos/{repo}/git/trees/{sha}"),
               "tree": tree, "truncated": state.trees_truncated, "page": 1, "total_count": tree.len()}),
    )
}

pub(super) fn tree_id(git_ref: &str, dir: &str) -> String {
    format!("{git_ref}\n{dir}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn tree_id_decode(id: &str) -> Option<(String, String)> {
    if !id.len().is_multiple_of(2) || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&id[i..i + 2], 16).ok())
        .collect::<Option<_>>()?;
    let text = String::from_utf8(bytes).ok()?;
    let (git_ref, dir) = text.split_once('\n')?;
    Some((git_ref.to_owned(), dir.to_owned()))
}

/// `GET /notifications/new`: Gitea 1.27's scope check first (its 403 lists the token's
/// scopes), then the count (the fake has no notifications).
pub(super) fn get_notifications_new(state: &mut StateData, call: &Call) -> Reply {
    let Some(login) = &call.login else {
        return error(state, 401, "token is required");
    };
    if let Some(scopes) = state.token_scopes.get(login) {
        if !scopes
            .iter()
            .any(|s| s == "read:notification" || s == "write:notification")
        {
            let message = format!(
                "token does not have at least one of required scope(s), required=[read:notification], token scope={}",
                scopes.join(",")
            );
            return error(state, 403, &message);
        }
    }
    Reply::json(200, json!({"new": 0}))
}

/// Whether the caller administers the repository: a repository admin or an owner of its org.
pub(super) fn is_repo_admin(state: &StateData, call: &Call) -> bool {
    let caller = call.login.clone().unwrap_or_default();
    state.repo_admins.contains(&(call.repo(), caller.clone()))
        || state
            .owners
            .get(call.param("owner"))
            .is_some_and(|o| o.contains(&caller))
}

pub(super) fn get_repo(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    let caller = call.login.clone().unwrap_or_default();
    let admin = is_repo_admin(state, call);
    let mut body = state.repo_json(&repo);
    body["permissions"] = json!({
        "admin": admin,
        "push": admin || (call.login.is_some() && !state.read_only.contains(&caller)),
        "pull": true,
    });
    Reply::json(200, body)
}

pub(super) fn get_branch_protections(state: &mut StateData, call: &Call) -> Reply {
    let repo = call.repo();
    if !state.repos.contains_key(&repo) {
        return not_found(state);
    }
    if !is_repo_admin(state, call) {
        return error(
            state,
            403,
            "user should be an owner or a collaborator with admin write of a repository",
        );
    }
    let rules = state.protections.get(&repo).cloned().unwrap_or_default();
    Reply::json(200, Value::Array(rules))
}
