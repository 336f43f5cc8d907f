//! Harness: fake_gitea.
