//! Harness: git_server.
