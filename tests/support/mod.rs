//! Test harnesses. Each submodule owns one: keep them independent.
#![allow(dead_code)]

pub mod fake_gitea;
pub mod fault_schedule;
pub mod fixture;
pub mod git_server;
pub mod real_gitea;
pub mod runner;
pub mod serve;
pub mod swagger;
pub mod test;
