//! Harness: test.
