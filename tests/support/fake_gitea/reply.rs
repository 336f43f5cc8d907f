//! What a handler sees (`Call`) and what it answers (`Reply`): bodies, headers, Gitea's pagination and error shapes.

use super::*;

/// What a handler sees.
#[doc(hidden)]
pub struct Call {
    pub(super) params: HashMap<&'static str, String>,
    pub(super) query: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) login: Option<String>,
    /// The request path (with `/api/v1`), for `Link` headers.
    pub(super) path: String,
}

impl Call {
    pub(super) fn param(&self, name: &str) -> &str {
        self.params
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub(super) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn repo(&self) -> String {
        format!("{}/{}", self.param("owner"), self.param("repo"))
    }

    pub(super) fn index(&self) -> Option<u64> {
        self.param("index").parse().ok()
    }
}

#[doc(hidden)]
pub struct Reply {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: ReplyBody,
}

pub(super) enum ReplyBody {
    Json(Value),
    Bytes(Vec<u8>, &'static str),
    Empty,
}

impl Reply {
    pub(super) fn json(status: u16, value: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(value),
        }
    }

    pub(super) fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Empty,
        }
    }

    pub(super) fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value));
    }

    pub(super) fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(super) fn error(state: &StateData, status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"message": message, "url": format!("{}/api/swagger", state.base)}),
    )
}

pub(super) fn not_found(state: &StateData) -> Reply {
    error(state, 404, "The target couldn't be found.")
}

/// The reply for a `Status` fault: Gitea JSON, or a proxy's HTML page for 502/503/504.
pub(super) fn fault_status(state: &StateData, status: u16) -> Reply {
    match status {
        502..=504 => Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Bytes(
                format!("<html><body><h1>{status}</h1>upstream unavailable</body></html>")
                    .into_bytes(),
                "text/html; charset=utf-8",
            ),
        },
        500 => error(state, 500, ""),
        401 => error(state, 401, "token is required"),
        403 => error(
            state,
            403,
            "token does not have at least one of required scope(s): [read:repository]",
        ),
        404 => not_found(state),
        429 => error(state, 429, "too many requests"),
        _ => error(state, status, &format!("injected HTTP {status}")),
    }
}

/// One page of a list, with Gitea's headers.
pub(super) fn paginate(
    state: &StateData,
    call: &Call,
    items: Vec<Value>,
    gitea_files_headers: bool,
) -> Reply {
    let page = call
        .query("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1) as usize;
    let limit = match call.query("limit").and_then(|l| l.parse::<i64>().ok()) {
        Some(l) if l > 0 => (l as usize).min(state.max_items.unwrap_or(MAX_LIMIT)),
        _ => DEFAULT_LIMIT.min(state.max_items.unwrap_or(MAX_LIMIT)),
    };
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .collect();
    let last = total.div_ceil(limit).max(1);
    let mut reply = Reply::json(200, Value::Array(slice));
    reply.set_header("X-Total-Count", total.to_string());
    let link = |p: usize| {
        let mut query: Vec<(String, String)> = call
            .query
            .iter()
            .filter(|(k, _)| k != "page" && k != "limit")
            .cloned()
            .collect();
        query.push(("limit".into(), limit.to_string()));
        query.push(("page".into(), p.to_string()));
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("<{}{}?{}>", state.base, call.path, query.join("&"))
    };
    // Gitea's paginator clamps the current page to the last one before it links, so a
    // page past the end links like the last page (1.22 → 1.27, seen on `GET
    // /teams/{id}/members`).
    let current = page.min(last);
    let mut links = Vec::new();
    if current < last {
        links.push(format!("{}; rel=\"next\"", link(current + 1)));
        links.push(format!("{}; rel=\"last\"", link(last)));
    }
    if current > 1 {
        links.push(format!("{}; rel=\"first\"", link(1)));
        links.push(format!("{}; rel=\"prev\"", link(current - 1)));
    }
    if !links.is_empty() {
        reply.set_header("Link", links.join(","));
    }
    if gitea_files_headers {
        reply.set_header("X-Page", page.to_string());
        reply.set_header("X-PerPage", limit.to_string());
        reply.set_header("X-PageCount", last.to_string());
        reply.set_header("X-HasMore", (page < last).to_string());
    }
    reply
}
