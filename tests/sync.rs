//! Integration tests: sync.
