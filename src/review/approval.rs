//! The one "genuine approval" predicate and the per-reviewer reduction. Every gate, the
//! floor and the tier clause read approvals through this file, so they cannot drift apart.
//!
//! Validate, then reduce: only rows that are valid verdicts on the current head (state
//! exactly `APPROVED` or `REQUEST_CHANGES`, `official` literally `true`, not dismissed,
//! not stale, `commit_id` equal to the head) are kept; each reviewer's latest kept row is
//! their verdict. A later `COMMENT`, or an approval on an old commit, erases nothing.

use std::fmt;

use serde_json::Value;

use crate::forge::Review;

/// The Actions bot; never a reviewer, whatever the config says.
pub const ACTIONS_USER: &str = "gitea-actions";

/// What a valid row says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Approve,
    RequestChanges,
}

/// Who may not approve, and which commit counts.
#[derive(Debug, Clone, Copy)]
pub struct Eligibility<'a> {
    /// The PR's current head SHA.
    pub head: &'a str,
    /// The PR author's login.
    pub author: &'a str,
    /// The login of the token that reads (and so evaluates).
    pub token_login: &'a str,
    /// Configured bot logins.
    pub bots: &'a [String],
}

/// Why a row or a reviewer does not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotCounted {
    /// The row carries no reviewer login.
    NoUser,
    /// `state` is not exactly `APPROVED` / `REQUEST_CHANGES`.
    NotVerdict {
        state: String,
    },
    /// `state` looks like an approval but is not byte-exact `APPROVED`.
    Forged {
        state: String,
    },
    /// `official` is not the JSON boolean `true`.
    NotOfficial {
        official: String,
    },
    Dismissed {
        dismissed: String,
    },
    Stale {
        stale: String,
    },
    /// No (or an empty) `commit_id`.
    NoCommit,
    /// A review of another commit.
    OldCommit {
        commit: String,
    },
    /// A verdict that is not an approval (for the approval predicate).
    RequestedChanges,
    Author,
    Bot {
        login: String,
    },
    ActionsUser,
    TokenOwner {
        login: String,
    },
}

impl fmt::Display for NotCounted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotCounted::NoUser => f.write_str("the review row names no reviewer"),
            NotCounted::NotVerdict { state } => {
                write!(f, "latest review is `{state}`, not an approval")
            }
            NotCounted::Forged { state } => write!(
                f,
                "state `{state}` is not exactly `APPROVED`: a forged or misfiled row, never normalized"
            ),
            NotCounted::NotOfficial { official } => {
                write!(f, "not an official review (`official` is {official})")
            }
            NotCounted::Dismissed { dismissed } => {
                write!(f, "dismissed (`dismissed` is {dismissed})")
            }
            NotCounted::Stale { stale } => {
                write!(f, "stale: the head moved since (`stale` is {stale})")
            }
            NotCounted::NoCommit => {
                f.write_str("no `commit_id`: the mark of a spoofed row")
            }
            NotCounted::OldCommit { commit } => write!(
                f,
                "approval of an older commit `{}`, not the head",
                crate::sha::short(commit)
            ),
            NotCounted::RequestedChanges => {
                f.write_str("requested changes on the head: blocks every gate")
            }
            NotCounted::Author => f.write_str("the pull request's author cannot approve it"),
            NotCounted::Bot { login } => write!(f, "`{login}` is a configured bot"),
            NotCounted::ActionsUser => write!(f, "`{ACTIONS_USER}` is the Actions bot"),
            NotCounted::TokenOwner { login } => write!(
                f,
                "`{login}` owns the token that evaluates the gates: it cannot approve what it judges"
            ),
        }
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "missing".into(),
        Value::String(s) => format!("the string \"{s}\""),
        other => other.to_string(),
    }
}

/// `false`, `null` or absent: the only values that mean "not set" for `dismissed`/`stale`.
fn is_unset(value: &Value) -> bool {
    matches!(value, Value::Null | Value::Bool(false))
}

/// Is this row a valid verdict on the head? The row-level half of the predicate, shared
/// by approvals and change requests.
pub fn check_row(review: &Review, head: &str) -> Result<Kind, NotCounted> {
    let kind = match review.state.as_str() {
        "APPROVED" => Kind::Approve,
        "REQUEST_CHANGES" => Kind::RequestChanges,
        other if other.trim().eq_ignore_ascii_case("approved") => {
            return Err(NotCounted::Forged {
                state: other.to_owned(),
            })
        }
        other => {
            return Err(NotCounted::NotVerdict {
                state: other.to_owned(),
            })
        }
    };
    if review.official != Value::Bool(true) {
        return Err(NotCounted::NotOfficial {
            official: show(&review.official),
        });
    }
    if !is_unset(&review.dismissed) {
        return Err(NotCounted::Dismissed {
            dismissed: show(&review.dismissed),
        });
    }
    if !is_unset(&review.stale) {
        return Err(NotCounted::Stale {
            stale: show(&review.stale),
        });
    }
    match review.commit_id.as_deref() {
        None | Some("") => Err(NotCounted::NoCommit),
        Some(commit) if commit != head => Err(NotCounted::OldCommit {
            commit: commit.to_owned(),
        }),
        Some(_) => Ok(kind),
    }
}

/// May this login's approval count at all? (Logins compare case-insensitively, as Gitea's do.)
pub fn check_reviewer(login: &str, facts: &Eligibility<'_>) -> Result<(), NotCounted> {
    let same = |other: &str| login.eq_ignore_ascii_case(other.trim());
    if same(facts.author) {
        return Err(NotCounted::Author);
    }
    if same(ACTIONS_USER) {
        return Err(NotCounted::ActionsUser);
    }
    if facts.bots.iter().any(|bot| same(bot)) {
        return Err(NotCounted::Bot {
            login: login.to_owned(),
        });
    }
    if same(facts.token_login) {
        return Err(NotCounted::TokenOwner {
            login: login.to_owned(),
        });
    }
    Ok(())
}

/// THE predicate: is this one row a genuine approval of the head?
pub fn genuine(review: &Review, facts: &Eligibility<'_>) -> Result<(), NotCounted> {
    let login = review
        .user
        .as_ref()
        .map(|u| u.login.as_str())
        .filter(|l| !l.is_empty())
        .ok_or(NotCounted::NoUser)?;
    match check_row(review, facts.head)? {
        Kind::Approve => check_reviewer(login, facts),
        Kind::RequestChanges => Err(NotCounted::RequestedChanges),
    }
}

/// One reviewer after the reduction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    pub login: String,
    /// The reviewer's latest valid verdict on the head, if any.
    pub verdict: Option<Kind>,
    /// True when the verdict is a genuine approval (predicate and reviewer checks hold).
    pub genuine: bool,
    /// Why (or why not), one phrase.
    pub why: String,
}

/// Every review row reduced to one verdict per reviewer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reduction {
    /// In order of each reviewer's first row.
    pub reviewers: Vec<Reviewer>,
    /// Logins with a genuine approval, in order of first row.
    pub approvers: Vec<String>,
    /// Logins whose latest valid verdict is a change request (from anyone).
    pub blockers: Vec<String>,
    /// Non-author reviewers with a `PENDING` review that has a body and no genuine
    /// approval: Gitea files `APPROVE` or lower-case events as PENDING.
    pub misfiled: Vec<String>,
}

impl Reduction {
    pub fn reviewer(&self, login: &str) -> Option<&Reviewer> {
        self.reviewers
            .iter()
            .find(|r| r.login.eq_ignore_ascii_case(login))
    }
}

fn looks_like_verdict(state: &str) -> bool {
    let s = state.trim();
    s.eq_ignore_ascii_case("approved") || s.eq_ignore_ascii_case("request_changes")
}

/// Validate, then reduce: each reviewer's latest valid row (by id) is their verdict.
pub fn reduce(reviews: &[Review], facts: &Eligibility<'_>) -> Reduction {
    let mut rows: Vec<&Review> = reviews.iter().collect();
    rows.sort_by_key(|r| r.id);
    // Reviewers in order of first appearance, each with their rows in id order.
    let mut grouped: Vec<(String, Vec<&Review>)> = Vec::new();
    // Valid change requests on the head whose row names nobody: they still block.
    let mut unnamed_blocks = 0usize;
    for row in rows {
        let login = row
            .user
            .as_ref()
            .map(|u| u.login.clone())
            .unwrap_or_default();
        if login.is_empty() {
            if check_row(row, facts.head) == Ok(Kind::RequestChanges) {
                unnamed_blocks += 1;
            }
            continue;
        }
        if row.state == "REQUEST_REVIEW" {
            continue;
        }
        match grouped
            .iter_mut()
            .find(|(l, _)| l.eq_ignore_ascii_case(&login))
        {
            Some((_, list)) => list.push(row),
            None => grouped.push((login, vec![row])),
        }
    }
    let mut reduction = Reduction::default();
    for (login, list) in grouped {
        let latest_valid = list
            .iter()
            .rev()
            .find_map(|row| check_row(row, facts.head).ok().map(|kind| (kind, *row)));
        let (verdict, genuine, why) = match latest_valid {
            Some((Kind::RequestChanges, _)) => (
                Some(Kind::RequestChanges),
                false,
                NotCounted::RequestedChanges.to_string(),
            ),
            Some((Kind::Approve, row)) => match genuine(row, facts) {
                Ok(()) => (
                    Some(Kind::Approve),
                    true,
                    "genuine approval of the head".to_owned(),
                ),
                Err(why) => (Some(Kind::Approve), false, why.to_string()),
            },
            None => {
                let relevant = list
                    .iter()
                    .rev()
                    .find(|row| looks_like_verdict(&row.state))
                    .or_else(|| list.last())
                    .copied();
                let why = relevant
                    .and_then(|row| check_row(row, facts.head).err())
                    .map_or_else(|| "no review".to_owned(), |r| r.to_string());
                (None, false, why)
            }
        };
        if verdict == Some(Kind::RequestChanges) {
            reduction.blockers.push(login.clone());
        }
        if genuine {
            reduction.approvers.push(login.clone());
        } else if check_reviewer(&login, facts) != Err(NotCounted::Author)
            && list
                .iter()
                .any(|row| row.state == "PENDING" && !row.body.trim().is_empty())
        {
            reduction.misfiled.push(login.clone());
        }
        reduction.reviewers.push(Reviewer {
            login,
            verdict,
            genuine,
            why,
        });
    }
    if unnamed_blocks > 0 {
        reduction
            .blockers
            .push("a reviewer the API does not name".to_owned());
    }
    reduction
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::User;
    use serde_json::json;

    const HEAD: &str = "1111111111111111111111111111111111111111";
    const OLD: &str = "0000000000000000000000000000000000000000";

    fn review(id: i64, login: &str, state: &str) -> Review {
        Review {
            id,
            user: Some(User {
                id,
                login: login.into(),
                full_name: String::new(),
                email: String::new(),
            }),
            state: state.into(),
            body: String::new(),
            commit_id: Some(HEAD.into()),
            official: json!(true),
            stale: json!(false),
            dismissed: json!(false),
            submitted_at: None,
        }
    }

    fn facts(bots: &[String]) -> Eligibility<'_> {
        Eligibility {
            head: HEAD,
            author: "author",
            token_login: "reader-bot",
            bots,
        }
    }

    #[test]
    fn predicate_table() {
        let bots = vec!["renovate".to_owned()];
        let f = facts(&bots);
        type Edit = fn(&mut Review);
        let cases: &[(&str, Edit, Option<NotCounted>)] = &[
            ("valid", |_| {}, None),
            (
                "lower-case approved is forged",
                |r| r.state = "approved".into(),
                Some(NotCounted::Forged {
                    state: "approved".into(),
                }),
            ),
            (
                "padded APPROVED is forged",
                |r| r.state = " APPROVED".into(),
                Some(NotCounted::Forged {
                    state: " APPROVED".into(),
                }),
            ),
            (
                "APPROVE (GitHub spelling) is not a verdict",
                |r| r.state = "APPROVE".into(),
                Some(NotCounted::NotVerdict {
                    state: "APPROVE".into(),
                }),
            ),
            (
                "official as the string \"true\"",
                |r| r.official = json!("true"),
                Some(NotCounted::NotOfficial {
                    official: "the string \"true\"".into(),
                }),
            ),
            (
                "official false",
                |r| r.official = json!(false),
                Some(NotCounted::NotOfficial {
                    official: "false".into(),
                }),
            ),
            (
                "official missing",
                |r| r.official = Value::Null,
                Some(NotCounted::NotOfficial {
                    official: "missing".into(),
                }),
            ),
            (
                "official 1",
                |r| r.official = json!(1),
                Some(NotCounted::NotOfficial {
                    official: "1".into(),
                }),
            ),
            (
                "missing commit_id",
                |r| r.commit_id = None,
                Some(NotCounted::NoCommit),
            ),
            (
                "empty commit_id",
                |r| r.commit_id = Some(String::new()),
                Some(NotCounted::NoCommit),
            ),
            (
                "dismissed",
                |r| r.dismissed = json!(true),
                Some(NotCounted::Dismissed {
                    dismissed: "true".into(),
                }),
            ),
            (
                "dismissed as a string",
                |r| r.dismissed = json!("yes"),
                Some(NotCounted::Dismissed {
                    dismissed: "the string \"yes\"".into(),
                }),
            ),
            (
                "stale",
                |r| r.stale = json!(true),
                Some(NotCounted::Stale {
                    stale: "true".into(),
                }),
            ),
            (
                "old head",
                |r| r.commit_id = Some(OLD.into()),
                Some(NotCounted::OldCommit { commit: OLD.into() }),
            ),
            (
                "upper-case head sha is another string",
                |r| r.commit_id = Some(HEAD.replace('1', "A")),
                Some(NotCounted::OldCommit {
                    commit: HEAD.replace('1', "A"),
                }),
            ),
            (
                "author",
                |r| {
                    if let Some(u) = &mut r.user {
                        u.login = "Author".into();
                    }
                },
                Some(NotCounted::Author),
            ),
            (
                "bot",
                |r| {
                    if let Some(u) = &mut r.user {
                        u.login = "renovate".into();
                    }
                },
                Some(NotCounted::Bot {
                    login: "renovate".into(),
                }),
            ),
            (
                "actions user even when not configured",
                |r| {
                    if let Some(u) = &mut r.user {
                        u.login = "gitea-actions".into();
                    }
                },
                Some(NotCounted::ActionsUser),
            ),
            (
                "token owner",
                |r| {
                    if let Some(u) = &mut r.user {
                        u.login = "reader-bot".into();
                    }
                },
                Some(NotCounted::TokenOwner {
                    login: "reader-bot".into(),
                }),
            ),
            ("no user", |r| r.user = None, Some(NotCounted::NoUser)),
            (
                "request changes is not an approval",
                |r| r.state = "REQUEST_CHANGES".into(),
                Some(NotCounted::RequestedChanges),
            ),
            (
                "comment",
                |r| r.state = "COMMENT".into(),
                Some(NotCounted::NotVerdict {
                    state: "COMMENT".into(),
                }),
            ),
            (
                "pending",
                |r| r.state = "PENDING".into(),
                Some(NotCounted::NotVerdict {
                    state: "PENDING".into(),
                }),
            ),
        ];
        for (name, edit, expected) in cases {
            let mut row = review(1, "alice", "APPROVED");
            edit(&mut row);
            assert_eq!(genuine(&row, &f).err(), *expected, "case {name}");
        }
    }

    fn reduced(rows: &[Review]) -> Reduction {
        let bots = vec!["renovate".to_owned()];
        reduce(rows, &facts(&bots))
    }

    #[test]
    fn an_unnamed_change_request_on_the_head_blocks() {
        let mut nobody = review(9, "x", "REQUEST_CHANGES");
        nobody.user = None;
        let mut empty = review(10, "", "REQUEST_CHANGES");
        empty.commit_id = Some(HEAD.into());
        let mut stale_nobody = review(11, "x", "REQUEST_CHANGES");
        stale_nobody.user = None;
        stale_nobody.commit_id = Some(OLD.into());
        let base = vec![review(1, "alice", "APPROVED"), review(2, "bob", "APPROVED")];
        for row in [nobody, empty] {
            let mut rows = base.clone();
            rows.push(row);
            let got = reduced(&rows);
            assert_eq!(got.approvers, vec!["alice", "bob"]);
            assert_eq!(got.blockers, vec!["a reviewer the API does not name"]);
        }
        let mut rows = base.clone();
        rows.push(stale_nobody);
        assert!(reduced(&rows).blockers.is_empty());
    }

    #[test]
    fn reduction_table() {
        let old = |mut r: Review| {
            r.commit_id = Some(OLD.into());
            r
        };
        let body = |mut r: Review, text: &str| {
            r.body = text.into();
            r
        };
        // (name, rows, approvers, blockers, misfiled)
        type Case<'a> = (
            &'a str,
            Vec<Review>,
            Vec<&'a str>,
            Vec<&'a str>,
            Vec<&'a str>,
        );
        let cases: Vec<Case<'_>> = vec![
            (
                "approval counts",
                vec![review(1, "alice", "APPROVED")],
                vec!["alice"],
                vec![],
                vec![],
            ),
            (
                "approval then comment still counts",
                vec![
                    review(1, "alice", "APPROVED"),
                    review(2, "alice", "COMMENT"),
                ],
                vec!["alice"],
                vec![],
                vec![],
            ),
            (
                "approval then request changes blocks",
                vec![
                    review(1, "alice", "APPROVED"),
                    review(2, "alice", "REQUEST_CHANGES"),
                ],
                vec![],
                vec!["alice"],
                vec![],
            ),
            (
                "request changes then approval counts",
                vec![
                    review(1, "alice", "REQUEST_CHANGES"),
                    review(2, "alice", "APPROVED"),
                ],
                vec!["alice"],
                vec![],
                vec![],
            ),
            (
                "request changes then approval on an old head still blocks",
                vec![
                    review(1, "alice", "REQUEST_CHANGES"),
                    old(review(2, "alice", "APPROVED")),
                ],
                vec![],
                vec!["alice"],
                vec![],
            ),
            (
                "approval then approval on an old head still counts",
                vec![
                    review(1, "alice", "APPROVED"),
                    old(review(2, "alice", "APPROVED")),
                ],
                vec!["alice"],
                vec![],
                vec![],
            ),
            (
                "approval on an old head only",
                vec![old(review(1, "alice", "APPROVED"))],
                vec![],
                vec![],
                vec![],
            ),
            (
                "request changes on an old head does not block",
                vec![old(review(1, "bob", "REQUEST_CHANGES"))],
                vec![],
                vec![],
                vec![],
            ),
            (
                "a later forged lower-case approval erases nothing",
                vec![
                    review(1, "alice", "REQUEST_CHANGES"),
                    review(2, "alice", "approved"),
                ],
                vec![],
                vec!["alice"],
                vec![],
            ),
            (
                "request changes from a bot still blocks",
                vec![
                    review(1, "renovate", "REQUEST_CHANGES"),
                    review(2, "alice", "APPROVED"),
                ],
                vec!["alice"],
                vec!["renovate"],
                vec![],
            ),
            (
                "distinct reviewers, case-insensitive login",
                vec![
                    review(1, "alice", "APPROVED"),
                    review(2, "ALICE", "APPROVED"),
                    review(3, "bob", "APPROVED"),
                ],
                vec!["alice", "bob"],
                vec![],
                vec![],
            ),
            (
                "author's approval never counts",
                vec![review(1, "author", "APPROVED")],
                vec![],
                vec![],
                vec![],
            ),
            (
                "pending with a body is misfiled",
                vec![body(review(1, "carol", "PENDING"), "APPROVE: looks good")],
                vec![],
                vec![],
                vec!["carol"],
            ),
            (
                "empty pending is not misfiled",
                vec![body(review(1, "carol", "PENDING"), "  ")],
                vec![],
                vec![],
                vec![],
            ),
            (
                "author's pending is not reported",
                vec![body(review(1, "author", "PENDING"), "note")],
                vec![],
                vec![],
                vec![],
            ),
            (
                "rows are ordered by id, not by list position",
                vec![
                    review(2, "alice", "APPROVED"),
                    review(1, "alice", "REQUEST_CHANGES"),
                ],
                vec!["alice"],
                vec![],
                vec![],
            ),
            (
                "review requests are not reviews",
                vec![review(1, "dave", "REQUEST_REVIEW")],
                vec![],
                vec![],
                vec![],
            ),
        ];
        for (name, rows, approvers, blockers, misfiled) in cases {
            let r = reduced(&rows);
            assert_eq!(r.approvers, approvers, "approvers: {name}");
            assert_eq!(r.blockers, blockers, "blockers: {name}");
            assert_eq!(r.misfiled, misfiled, "misfiled: {name}");
        }
    }

    #[test]
    fn reviewer_why_names_the_relevant_row() {
        let mut forged = review(1, "alice", "approved");
        forged.body = "lgtm".into();
        let r = reduced(&[forged, review(2, "alice", "COMMENT")]);
        assert_eq!(
            r.reviewer("alice").expect("listed").why,
            "state `approved` is not exactly `APPROVED`: a forged or misfiled row, never normalized"
        );
        let r = reduced(&[review(1, "bob", "COMMENT")]);
        assert_eq!(
            r.reviewer("bob").expect("listed").why,
            "latest review is `COMMENT`, not an approval"
        );
        let mut old = review(1, "dave", "APPROVED");
        old.commit_id = Some(OLD.into());
        let r = reduced(&[old]);
        assert_eq!(
            r.reviewer("dave").expect("listed").why,
            "approval of an older commit `00000000`, not the head"
        );
        let r = reduced(&[review(1, "renovate", "APPROVED")]);
        let reviewer = r.reviewer("renovate").expect("listed");
        assert_eq!(reviewer.verdict, Some(Kind::Approve));
        assert!(!reviewer.genuine);
        assert_eq!(reviewer.why, "`renovate` is a configured bot");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_row() -> impl Strategy<Value = Review> {
            (
                1i64..40,
                prop::sample::select(vec!["alice", "bob", "author", "renovate"]),
                prop::sample::select(vec![
                    "APPROVED",
                    "approved",
                    "REQUEST_CHANGES",
                    "COMMENT",
                    "PENDING",
                ]),
                prop::sample::select(vec![json!(true), json!(false), json!("true"), Value::Null]),
                any::<bool>(),
                any::<bool>(),
                prop::sample::select(vec![Some(HEAD), Some(OLD), None]),
            )
                .prop_map(|(id, login, state, official, stale, dismissed, commit)| {
                    let mut r = review(id, login, state);
                    r.official = official;
                    r.stale = json!(stale);
                    r.dismissed = json!(dismissed);
                    r.commit_id = commit.map(str::to_owned);
                    r
                })
        }

        proptest! {
            /// Every counted approver has a row that passes the predicate, and no
            /// approver is also a blocker.
            #[test]
            fn approvers_are_backed_by_a_genuine_row(rows in prop::collection::vec(any_row(), 0..12)) {
                let bots = vec!["renovate".to_owned()];
                let f = facts(&bots);
                let r = reduce(&rows, &f);
                for login in &r.approvers {
                    prop_assert!(rows.iter().any(|row| row.user.as_ref().is_some_and(|u| &u.login == login) && genuine(row, &f).is_ok()));
                    prop_assert!(!r.blockers.contains(login));
                    prop_assert!(login != "author" && login != "renovate");
                }
            }

            /// Appending rows that are not valid verdicts never changes the outcome.
            #[test]
            fn invalid_rows_erase_nothing(rows in prop::collection::vec(any_row(), 0..10), extra in prop::collection::vec(any_row(), 0..5)) {
                let bots = vec!["renovate".to_owned()];
                let f = facts(&bots);
                let before = reduce(&rows, &f);
                let mut all = rows.clone();
                for (i, mut row) in extra.into_iter().enumerate() {
                    if check_row(&row, HEAD).is_ok() { continue; }
                    row.id = 1000 + i64::try_from(i).unwrap_or(0);
                    all.push(row);
                }
                let after = reduce(&all, &f);
                prop_assert_eq!(before.approvers, after.approvers);
                prop_assert_eq!(before.blockers, after.blockers);
            }
        }
    }
}
