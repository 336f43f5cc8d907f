//! The push `report-status` lines (`push::judge`): one line per `\n`, the first line of the
//! input naming the ref we pushed.
//!
//! parsers: src/git/push.rs

use shipgate::git::push::judge;

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let refname = lines.next().unwrap_or_default();
    let report: Vec<String> = lines.map(str::to_owned).collect();
    let _ = judge(&report, refname);
}
