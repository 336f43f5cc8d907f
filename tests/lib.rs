//! Integration tests: one binary, a module per feature (just's layout).
//!
//! `support` holds the harnesses: a spec-checked fake Gitea, a real git smart-HTTP server
//! and the `Test` builder that runs the `shipgate` binary.

mod support;

mod action;
mod architecture;
mod cli;
mod doctor;
mod fault_schedules;
mod forge_client;
mod fuzz_replay;
mod panic;
mod parity;
mod promote;
mod real_forgery;
mod real_promote;
mod real_retarget;
mod real_review;
mod real_sync;
mod real_tier;
mod retarget;
mod review;
mod spec;
mod sync;
mod tier;
