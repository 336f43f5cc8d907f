//! Every REST answer the forge client decodes, from arbitrary bytes: each type alone, as
//! a list page, and the timeline's `null`-tolerant page. The client decodes with
//! `serde_json::from_slice`, exactly as here.
//!
//! parsers: src/forge/types.rs

use shipgate::forge::*;

macro_rules! decode_each {
    ($data:expr; $($ty:ty),* $(,)?) => {
        $(
            let _ = serde_json::from_slice::<$ty>($data);
            let _ = serde_json::from_slice::<Vec<$ty>>($data);
        )*
    };
}

pub fn run(data: &[u8]) {
    decode_each!(data;
        User, PrBranch, PullRequest, Issue, ChangedFile, Review, Label, CommitStatus, Team,
        TimelineComment, BranchCommit, Branch, Compare, Comment,
        ApiSettings, ServerVersion, Permission, Repository, BranchProtection, Tree, TreeEntry,
        NotificationCount,
    );
    let _ = serde_json::from_slice::<Option<Vec<Option<TimelineComment>>>>(data);
    // Error bodies: `classify` reads `message` out of any JSON value.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = value.get("message").and_then(serde_json::Value::as_str);
    }
}
