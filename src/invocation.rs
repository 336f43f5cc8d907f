//! What every mode is handed: the context read from the environment, the flags that
//! apply to all of them, and the reads they share (a forge client, the config).
//!
//! It sits below the modes and above the plumbing (`context`, `config`, `forge`): the
//! dispatcher builds one and passes it down; no mode reaches back up to the dispatcher.

use std::path::{Path, PathBuf};

use crate::{
    config::{self, Config},
    context::{Context, RepoRef, Secret},
    forge,
    sha::short,
    Error,
};

/// Everything a mode needs from the invocation, read before anything is decided.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub ctx: Context,
    pub dry_run: bool,
    /// `--config`: overrides the config read from the base branch.
    pub config_path: Option<PathBuf>,
    pub forge_options: forge::Options,
}

impl Invocation {
    /// A forge client with the read token.
    pub fn client(&self, purpose: &'static str) -> Result<forge::Client, Error> {
        let token = self.ctx.require_token(purpose)?.clone();
        Ok(forge::Client::new(
            self.ctx.require_api()?,
            token,
            self.forge_options.clone(),
        )?)
    }

    /// A forge client with an explicit token (review-fire's status writes).
    pub fn client_with(&self, token: Secret) -> Result<forge::Client, Error> {
        Ok(forge::Client::new(
            self.ctx.require_api()?,
            token,
            self.forge_options.clone(),
        )?)
    }

    /// The config for modes that run on the checkout (sync): `--config`, else
    /// `.gitea/shipgate.yml` in the working directory when present, else the defaults.
    pub fn local_config(&self) -> Result<Config, Error> {
        match &self.config_path {
            Some(path) => Ok(Config::load(path)?),
            None if Path::new(config::DEFAULT_PATH).is_file() => {
                Ok(Config::load(Path::new(config::DEFAULT_PATH))?)
            }
            None => Ok(Config::default()),
        }
    }

    /// The policy for a pull request: `--config` when given, else `.gitea/shipgate.yml`
    /// at the base commit (never the head, so a PR cannot relax its own gate). A missing
    /// file means the defaults; an unreadable one is an error.
    pub async fn base_config(
        &self,
        client: &forge::Client,
        repo: &RepoRef,
        base_sha: &str,
    ) -> Result<Config, Error> {
        if let Some(path) = &self.config_path {
            return Ok(Config::load(path)?);
        }
        match client.file_at(repo, config::DEFAULT_PATH, base_sha).await? {
            Some(bytes) => Ok(Config::from_bytes(
                &bytes,
                &format!("{}@{}", config::DEFAULT_PATH, short(base_sha)),
            )?),
            None => Ok(Config::default()),
        }
    }
}
