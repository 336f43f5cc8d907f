//! Integration tests: forge_client.
