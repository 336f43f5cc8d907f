//! `review-fire --diagnose`: can the gates' workflows auto-fire on review events for this
//! PR? Gitea loads `pull_request_review` workflows from the reviewed commit (the PR head),
//! so a PR opened before the trigger existed never fires on its own.

use serde_json::Value;

/// Does this workflow YAML subscribe to `pull_request_review`? `on:` may be a string, a
/// list or a mapping. `Err` when the text is not a workflow.
pub fn has_review_trigger(text: &str) -> Result<bool, String> {
    let doc: Value = serde_saphyr::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let Some(map) = doc.as_object() else {
        return Err("not a workflow: the document is not a mapping".into());
    };
    // YAML 1.1 readers turn a bare `on` into `true`; accept either spelling.
    let Some(on) = map.get("on").or_else(|| map.get("true")) else {
        return Err("not a workflow: it has no `on:` key".into());
    };
    const TRIGGER: &str = "pull_request_review";
    Ok(match on {
        Value::String(s) => s == TRIGGER,
        Value::Array(items) => items.iter().any(|i| i.as_str() == Some(TRIGGER)),
        Value::Object(events) => events.contains_key(TRIGGER),
        _ => false,
    })
}

/// One gate's diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub gate: String,
    pub workflow: Option<String>,
    /// `Some(true)`: fires on reviews; `Some(false)`: cannot; `None`: nothing to check.
    pub auto_fire: Option<bool>,
    pub why: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_spellings() {
        let yes = [
            "on: pull_request_review\njobs: {}\n",
            "on: [pull_request_target, pull_request_review]\n",
            "on:\n  pull_request_target:\n  pull_request_review:\n    types: [submitted]\n",
            "'on':\n  pull_request_review: {}\n",
        ];
        for text in yes {
            assert_eq!(has_review_trigger(text), Ok(true), "{text}");
        }
        let no = [
            "on: pull_request_target\n",
            "on: [pull_request_target]\n",
            "on:\n  pull_request_target:\n    types: [opened]\n  pull_request_review_comment: {}\n",
        ];
        for text in no {
            assert_eq!(has_review_trigger(text), Ok(false), "{text}");
        }
        assert!(has_review_trigger("jobs: {}\n").is_err());
        assert!(has_review_trigger("- a\n- b\n").is_err());
        assert!(has_review_trigger("on: [\n").is_err());
    }
}
