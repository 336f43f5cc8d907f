//! `.gitea/shipgate.yml` as `Config::parse` reads it (the base branch's file, which a pull
//! request can change), with its line/column diagnostics and hints rendered, and the
//! review team expressions (`parse_clauses`).
//!
//! parsers: src/config/

use shipgate::config::{parse_clauses, Config};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, "main:.gitea/shipgate.yml") {
        Ok(config) => {
            let _ = config.validate("again", text);
        }
        Err(error) => {
            let _ = error.to_string();
            let _ = error.hint();
        }
    }
    let _ = parse_clauses(text);
}
