//! libFuzzer's driver for `fuzz/bodies/gitattributes.rs`, which `cargo test` replays on every
//! committed corpus and crash input (tests/fuzz_replay.rs).
#![no_main]

#[path = "../bodies/gitattributes.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
