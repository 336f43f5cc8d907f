//! `shipgate doctor`: does this repository provide what shipgate needs? Reads, never writes.

pub mod checks;
mod gather;

pub use checks::{Check, Scope, State};
pub use gather::run;
