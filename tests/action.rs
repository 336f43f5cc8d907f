//! Integration tests: action.
