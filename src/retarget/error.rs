//! What stops a retarget run before its verdict, beyond what every mode shares (config,
//! forge): a refused base is a verdict, not an error.

use crate::code::Code;

/// A retarget run that could not verify (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot verify the new base of pull request #{number}: Gitea accepted the change but \
         the pull request still targets `{base}`"
    )]
    BaseUnchanged { number: u64, base: String },
}

impl Error {
    /// The stable code of this failure.
    pub fn code(&self) -> Code {
        match self {
            Error::BaseUnchanged { .. } => Code::RetargetUnverified,
        }
    }

    /// The operator's next step.
    pub fn hint(&self) -> String {
        match self {
            Error::BaseUnchanged { .. } => {
                "look at the pull request in the web UI; report it if it persists".into()
            }
        }
    }
}

crate::error::mode_error!(Error);

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn the_message_whole() {
        let error = Error::BaseUnchanged {
            number: 4,
            base: "main".into(),
        };
        crate::error::assert_mode_error(
            &error,
            "cannot verify the new base of pull request #4: Gitea accepted the change but the pull \
             request still targets `main`",
            "retarget",
        );
        assert_eq!(error.code().as_str(), "retarget-unverified");
    }
}
