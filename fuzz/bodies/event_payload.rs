//! A Gitea event payload (`GITHUB_EVENT_PATH`): the first byte picks the event name, the
//! rest is the file's text, read as `context::read_event` reads it.
//!
//! parsers: src/context.rs

use shipgate::context::Event;

const NAMES: &[&str] = &[
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_approved",
    "pull_request_review_rejected",
    "pull_request_review_comment",
    "issue_comment",
    "push",
    "workflow_dispatch",
    "schedule",
    "status",
    "",
];

pub fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(selector) % NAMES.len()];
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(payload) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    if let Ok(event) = Event::parse(name, &payload) {
        let _ = event.pull_number();
        let _ = format!("{event:?}");
    }
}
