//! The push `report-status` lines (`push::judge`): one line per `\n`, the first line of the
//! input naming the ref we pushed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipgate::git::push::judge;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let refname = lines.next().unwrap_or_default();
    let report: Vec<String> = lines.map(str::to_owned).collect();
    let _ = judge(&report, refname);
});
