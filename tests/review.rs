//! Integration tests: review.
