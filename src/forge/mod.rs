//! A small, fail-closed client for the Gitea/Forgejo REST API (`/api/v1`).
//!
//! - `Authorization: token …`; the token never appears in a URL or a log line.
//! - Lists are followed to the end, 50 per page (Gitea caps silently), and their
//!   completeness is proven against `X-Total-Count`; a short or missing page is an error.
//! - Bounded retries with backoff and jitter on 429/5xx/connect/timeout, honouring
//!   `Retry-After`; never on other 4xx, never for non-idempotent writes.

pub(crate) mod client;
mod error;
pub mod pages;
pub mod types;

pub use client::{Client, Options};
pub use error::Error;
pub use types::*;
