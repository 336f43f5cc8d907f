//! Integration tests: tier.
