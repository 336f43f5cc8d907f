//! The body of every fuzz target, one module each. libFuzzer drives them from
//! `fuzz/fuzz_targets/` (nightly, `cargo fuzz`); `cargo test` replays every committed corpus
//! and crash input through the very same functions on stable (tests/fuzz_replay.rs).

pub mod config_globs;
pub mod config_yaml;
pub mod event_payload;
pub mod fetch_response;
pub mod gitattributes;
pub mod pkt_line;
pub mod report_status;
pub mod rest_types;

/// What libFuzzer calls with each input.
pub type Body = fn(&[u8]);

/// Every target by its cargo-fuzz name (`fuzz/Cargo.toml`'s `[[bin]]`), with its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("config_globs", config_globs::run),
    ("config_yaml", config_yaml::run),
    ("event_payload", event_payload::run),
    ("fetch_response", fetch_response::run),
    ("gitattributes", gitattributes::run),
    ("pkt_line", pkt_line::run),
    ("report_status", report_status::run),
    ("rest_types", rest_types::run),
];
