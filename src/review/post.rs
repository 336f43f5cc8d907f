//! Posting gate statuses: skip what is already there, post non-success states before
//! success, and only to the head that was decided on.

use std::collections::HashMap;

use crate::forge::CommitStatus;

use super::verdict::{GateDecision, State};

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

/// Is this decision already the newest status of its context? Gitea stores the
/// description trimmed (`strings.TrimSpace`), so both sides are compared trimmed.
pub fn unchanged(newest: &HashMap<&str, &CommitStatus>, gate: &GateDecision) -> bool {
    newest.get(gate.context.trim()).is_some_and(|status| {
        status.status == gate.state.as_str() && status.description.trim() == gate.description.trim()
    })
}

/// Indexes of the gates to post, non-success first, so a failing write can never leave a
/// success behind an unposted failure.
pub fn order(gates: &[GateDecision], skip: &[bool]) -> Vec<usize> {
    let mut indexes: Vec<usize> = (0..gates.len()).filter(|i| !skip[*i]).collect();
    indexes.sort_by_key(|i| gates[*i].state == State::Success);
    indexes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: i64, context: &str, state: &str, description: &str) -> CommitStatus {
        CommitStatus {
            id,
            status: state.into(),
            context: context.into(),
            description: description.into(),
            target_url: String::new(),
            creator: None,
            created_at: None,
            updated_at: None,
        }
    }

    fn gate(context: &str, state: State, description: &str) -> GateDecision {
        GateDecision {
            name: context.into(),
            context: context.into(),
            state,
            description: description.into(),
            floor_holds: false,
            dispatch: None,
        }
    }

    #[test]
    fn newest_wins_by_id_in_any_order() {
        let list = vec![
            status(5, "qa", "success", "ok"),
            status(9, "qa", "failure", "no"),
            status(2, "qa", "pending", "wait"),
            status(3, "sec", "pending", "wait"),
        ];
        let newest = newest_by_context(&list);
        assert_eq!(newest["qa"].id, 9);
        assert!(unchanged(&newest, &gate("qa", State::Failure, "no")));
        assert!(!unchanged(&newest, &gate("qa", State::Success, "ok")));
        assert!(!unchanged(&newest, &gate("qa", State::Failure, "no!")));
        assert!(unchanged(&newest, &gate("sec", State::Pending, "wait")));
        assert!(!unchanged(&newest, &gate("other", State::Pending, "wait")));
        // Gitea trims what it stores: an untrimmed decision is still unchanged.
        assert!(unchanged(&newest, &gate("sec", State::Pending, " wait \n")));
    }

    #[test]
    fn success_goes_last() {
        let gates = vec![
            gate("a", State::Success, ""),
            gate("b", State::Pending, ""),
            gate("c", State::Success, ""),
            gate("d", State::Failure, ""),
        ];
        assert_eq!(order(&gates, &[false; 4]), vec![1, 3, 0, 2]);
        assert_eq!(order(&gates, &[false, true, false, false]), vec![3, 0, 2]);
    }
}
