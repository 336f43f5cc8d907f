//! receive-pack's answer to a push, as `push::read_report` reads it off the wire: gix's
//! pkt-line reader and side-band demultiplexer, then our nested pkt-line split
//! (`pkt_lines`) of band 1 and the `remote:` text of bands 2 and 3 (`remote_messages`).
//! The first byte picks side-band or plain pkt-lines; our split also sees the raw bytes.
//!
//! parsers: src/git/push.rs Cargo.lock

use gix::protocol::transport::{
    client::blocking_io::HandleProgress,
    packetline::{blocking_io::StreamingPeekableIter, PacketLineRef},
};
use shipgate::git::push::{judge, pkt_lines, read_report, remote_messages};

pub fn run(data: &[u8]) {
    let Some((&selector, wire)) = data.split_first() else {
        return;
    };
    let side_band = selector & 1 == 1;
    let mut iter = StreamingPeekableIter::new(wire, &[PacketLineRef::Flush], false);
    let handler: HandleProgress<'_> = Box::new(|_, _| std::ops::ControlFlow::Continue(()));
    let mut reader = iter.as_read_with_sidebands(handler);
    if let Ok(report) = read_report(&mut reader, side_band) {
        let _ = judge(&report.lines, "refs/heads/staging");
    }
    let _ = pkt_lines(wire);
    let _ = remote_messages(wire);
}
