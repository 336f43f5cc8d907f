//! Branch names as a mode takes them from its config or flags: checked before any git
//! work, so a typo is a clear error and not a ref the server rejects half-way.

use super::Error;

/// `from` and `to` are valid, distinct branch names (`main`, not `refs/heads/main`).
pub fn validate_pair(from: &str, to: &str) -> Result<(), Error> {
    for name in [from, to] {
        let why = if name.trim().is_empty() {
            Some("it is empty".to_owned())
        } else {
            gix::validate::reference::name_partial(gix::bstr::BStr::new(name))
                .err()
                .map(|e| e.to_string())
                .or_else(|| {
                    name.starts_with("refs/")
                        .then(|| "give the branch name, without `refs/heads/`".to_owned())
                })
        };
        if let Some(why) = why {
            return Err(Error::InvalidBranch {
                name: name.to_owned(),
                why,
            });
        }
    }
    if from == to {
        return Err(Error::InvalidBranch {
            name: to.to_owned(),
            why: "`from` and `to` are the same branch".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_checked() {
        assert!(validate_pair("main", "staging").is_ok());
        for (from, to, why) in [
            ("", "staging", "it is empty"),
            ("main", " ", "it is empty"),
            ("main", "main", "`from` and `to` are the same branch"),
            ("ma..in", "staging", ""),
            (
                "main",
                "refs/heads/staging",
                "give the branch name, without `refs/heads/`",
            ),
        ] {
            let Err(Error::InvalidBranch { why: got, .. }) = validate_pair(from, to) else {
                panic!("{from:?} {to:?} should be refused");
            };
            assert!(got.contains(why), "{from:?} {to:?}: {got}");
            assert!(!got.is_empty());
        }
    }
}
