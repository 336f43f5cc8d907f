//! A native send-pack over smart HTTP: receive-pack handshake, one update command with
//! the fetched tip as the expected old value, a pack of only the new objects, and a
//! `report-status` that must say `unpack ok` and `ok refs/heads/<branch>`.
//!
//! Never forces and never deletes: the command always names the old value the run
//! planned against, and the server refuses it atomically when the branch has moved.

use std::{
    collections::HashMap,
    io::{Read, Write},
    sync::{atomic::AtomicBool, Arc, Mutex},
};

use gix::{
    protocol::transport::{
        client::{
            blocking_io::{ExtendedBufRead, Transport},
            MessageKind, WriteMode,
        },
        packetline::{blocking_io::encode, PacketLineRef},
        Protocol, Service,
    },
    ObjectId,
};

use super::{remote::user_agent, Error, Phase, Remote};

/// How the server answered the update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `unpack ok` and `ok <ref>`.
    Accepted,
    /// `ng <ref> <reason>`: a hook, branch protection, or the branch moved.
    Rejected { reason: String },
}

/// The outcome of a push that reached the server.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub status: Answer,
    /// `remote:` lines (side-band 2 and 3), where hooks explain themselves.
    pub messages: Vec<String>,
    /// Objects in the pack sent.
    pub objects: usize,
    /// Size of the pack sent.
    pub pack_bytes: u64,
}

/// An authenticated receive-pack conversation: the advertisement is read on connect.
pub struct Pusher {
    url: String,
    transport: Box<dyn Transport + Send>,
    refs: HashMap<String, ObjectId>,
    side_band: bool,
    quiet: bool,
}

impl Pusher {
    /// Handshake with receive-pack (authenticated: anonymous reads do not count) and read
    /// the advertised refs.
    pub fn connect(remote: &Remote) -> Result<Pusher, Error> {
        let (transport, handshake) =
            remote.handshake(Service::ReceivePack, Protocol::V1, Phase::Push)?;
        let capabilities = &handshake.capabilities;
        if !capabilities.contains("report-status") {
            return Err(Error::Protocol {
                url: remote.url().to_owned(),
                phase: Phase::Push,
                detail:
                    "receive-pack does not offer `report-status`, so a push could not be confirmed"
                        .into(),
            });
        }
        let side_band = capabilities.contains("side-band-64k");
        let quiet = capabilities.contains("quiet");
        let refs = handshake
            .refs
            .unwrap_or_default()
            .iter()
            .filter_map(|r| {
                let (name, target, _peeled) = r.unpack();
                target.map(|id| (name.to_string(), id.to_owned()))
            })
            .collect();
        Ok(Pusher {
            url: remote.url().to_owned(),
            transport,
            refs,
            side_band,
            quiet,
        })
    }

    /// The advertised tip of `refs/heads/<branch>`.
    pub fn tip(&self, branch: &str) -> Option<ObjectId> {
        self.refs.get(&format!("refs/heads/{branch}")).copied()
    }

    /// Update `refs/heads/<branch>` from `old` to `new`, sending `objects` (none for a
    /// fast-forward to a commit the server has).
    pub fn push(
        mut self,
        repo: &gix::Repository,
        branch: &str,
        old: ObjectId,
        new: ObjectId,
        objects: &[ObjectId],
    ) -> Result<Pushed, Error> {
        let url = self.url.clone();
        let io_error =
            |e: std::io::Error| Error::from_transport(gix::Error::from_error(e), &url, Phase::Push);

        let mut capabilities = vec!["report-status".to_owned()];
        if self.side_band {
            capabilities.push("side-band-64k".into());
        }
        if self.quiet {
            capabilities.push("quiet".into());
        }
        capabilities.push(format!("agent={}", user_agent()));
        let command = format!(
            "{old} {new} refs/heads/{branch}\0{}",
            capabilities.join(" ")
        );

        // Build the pack first: a failure here must not leave a half-sent request.
        let mut pack = Vec::new();
        write_pack(repo, objects, &mut pack).map_err(|source| Error::Local {
            action: "build the pack to push",
            path: repo.git_dir().to_owned(),
            source,
        })?;

        let writer = self
            .transport
            .request(
                WriteMode::OneLfTerminatedLinePerWriteCall,
                MessageKind::Flush,
                false,
            )
            .map_err(|e| Error::from_transport(gix::Error::from_error(e), &url, Phase::Push))?;
        let (mut body, mut reader) = writer.into_parts();
        encode::data_to_write(command.as_bytes(), &mut body).map_err(io_error)?;
        encode::flush_to_write(&mut body).map_err(io_error)?;
        body.write_all(&pack).map_err(io_error)?;
        body.flush().map_err(io_error)?;
        drop(body);

        let Report { lines, messages } =
            read_report(&mut reader, self.side_band).map_err(|e| match e {
                ReportError::Io(e) => io_error(e),
                ReportError::Protocol(detail) => Error::Protocol {
                    url: url.clone(),
                    phase: Phase::Push,
                    detail,
                },
            })?;
        drop(reader);
        let status =
            judge(&lines, &format!("refs/heads/{branch}")).map_err(|detail| Error::Protocol {
                url: url.clone(),
                phase: Phase::Push,
                detail: if messages.is_empty() {
                    detail
                } else {
                    format!("{detail} (remote: {})", messages.join(" / "))
                },
            })?;
        Ok(Pushed {
            status,
            messages,
            objects: objects.len(),
            pack_bytes: pack.len() as u64,
        })
    }
}

/// Most bytes of `report-status` read from the server (side-band 1, or the pkt-lines of
/// a server without side-band, 4 bytes counted per line). A report for the one ref we
/// push is under 100 bytes; more than this is not a report we can trust, and reading on
/// would let the server make us allocate without bound.
pub const MAX_REPORT_BYTES: usize = 1 << 20;

/// Most bytes of `remote:` text (side-bands 2 and 3) kept from one push. A server that
/// keeps talking past this ends the push read unconfirmed instead of growing the buffer
/// (or looping on progress) without bound.
pub const MAX_REMOTE_MESSAGE_BYTES: usize = 1 << 20;

/// What receive-pack answered, before judging it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The `report-status` lines, up to the first flush.
    pub lines: Vec<String>,
    /// `remote:` lines (side-band 2 and 3), where hooks explain themselves.
    pub messages: Vec<String>,
}

/// Why a report could not be read.
#[derive(Debug)]
pub enum ReportError {
    /// The connection failed.
    Io(std::io::Error),
    /// The bytes are not a report we can trust.
    Protocol(String),
}

/// Read receive-pack's answer: side-band demultiplexed when `side_band` was negotiated,
/// plain pkt-lines otherwise, each capped ([`MAX_REPORT_BYTES`],
/// [`MAX_REMOTE_MESSAGE_BYTES`]).
pub fn read_report<'a, R>(reader: &mut R, side_band: bool) -> Result<Report, ReportError>
where
    R: ExtendedBufRead<'a> + ?Sized,
{
    let sideband = Arc::new(Mutex::new(Vec::<u8>::new()));
    let overflow = Arc::new(AtomicBool::new(false));
    let mut lines = Vec::new();
    if side_band {
        let sink = Arc::clone(&sideband);
        let full = Arc::clone(&overflow);
        reader.set_progress_handler(Some(Box::new(move |_is_error, data: &[u8]| {
            let Ok(mut buffer) = sink.lock() else {
                return std::ops::ControlFlow::Break(());
            };
            if buffer.len() + data.len() > MAX_REMOTE_MESSAGE_BYTES {
                full.store(true, std::sync::atomic::Ordering::Relaxed);
                return std::ops::ControlFlow::Break(());
            }
            buffer.extend_from_slice(data);
            std::ops::ControlFlow::Continue(())
        })));
        let mut band1 = Vec::new();
        let read = (&mut *reader)
            .take(MAX_REPORT_BYTES as u64 + 1)
            .read_to_end(&mut band1);
        if overflow.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ReportError::Protocol(format!(
                "the server sent more than {MAX_REMOTE_MESSAGE_BYTES} bytes of `remote:` messages"
            )));
        }
        read.map_err(ReportError::Io)?;
        if band1.len() > MAX_REPORT_BYTES {
            return Err(ReportError::Protocol(format!(
                "the report-status is longer than {MAX_REPORT_BYTES} bytes"
            )));
        }
        lines = pkt_lines(&band1).map_err(ReportError::Protocol)?;
    } else {
        let mut bytes = 0usize;
        while let Some(line) = reader.readline() {
            let line = line
                .map_err(ReportError::Io)?
                .map_err(|e| ReportError::Protocol(e.to_string()))?;
            match line {
                PacketLineRef::Data(data) => {
                    bytes += 4 + data.len();
                    if bytes > MAX_REPORT_BYTES {
                        return Err(ReportError::Protocol(format!(
                            "the report-status is longer than {MAX_REPORT_BYTES} bytes"
                        )));
                    }
                    lines.push(String::from_utf8_lossy(data).trim_end().to_owned());
                }
                PacketLineRef::Flush => break,
                PacketLineRef::Delimiter | PacketLineRef::ResponseEnd => {}
            }
        }
    }
    let messages = remote_messages(&sideband.lock().map(|b| b.clone()).unwrap_or_default());
    Ok(Report { lines, messages })
}

/// Write a version-2 pack of exactly `ids` (full objects, no thin deltas). An empty list
/// gives the 32-byte empty pack receive-pack expects for a fast-forward.
pub fn write_pack(
    repo: &gix::Repository,
    ids: &[ObjectId],
    out: &mut dyn Write,
) -> gix::Result<()> {
    use gix_pack::data::output;
    let mut db = repo
        .objects
        .clone()
        .into_inner()
        .into_arc()
        .map_err(gix::Error::from_error)?;
    // Entries are copied straight out of existing packs: keep those mapped.
    db.prevent_pack_unload();
    let interrupt = AtomicBool::new(false);
    let (counts, _) = output::count::objects_unthreaded(
        &db,
        &mut ids.iter().copied().map(Ok),
        &gix::progress::Discard,
        &interrupt,
        output::count::objects::ObjectExpansion::AsIs,
    )?;
    let entries = u32::try_from(counts.len()).map_err(gix::Error::from_error)?;
    let chunks = output::entry::iter_from_counts(
        counts,
        db,
        Box::new(gix::progress::Discard),
        output::entry::iter_from_counts::Options {
            thread_limit: Some(1),
            allow_thin_pack: false,
            ..Default::default()
        },
    )?;
    let writer = output::bytes::FromEntriesIter::new(
        gix::parallel::InOrderIter::from(chunks),
        out,
        entries,
        gix_pack::data::Version::V2,
        repo.object_hash(),
    );
    for written in writer {
        written?;
    }
    Ok(())
}

/// Split nested pkt-lines (side-band 1 of a report) up to the first flush, with gix's
/// pkt-line decoder: a bad length, a line of 3 or 4 bytes, an over-long or a cut line is
/// an error, never a shorter report.
pub fn pkt_lines(mut data: &[u8]) -> Result<Vec<String>, String> {
    use gix::protocol::transport::packetline::decode::{self, Stream};
    let mut lines = Vec::new();
    while !data.is_empty() {
        let (line, consumed) = match decode::streaming(data)
            .map_err(|e| format!("a pkt-line of the report is malformed: {e}"))?
        {
            Stream::Complete {
                line,
                bytes_consumed,
            } => (line, bytes_consumed),
            Stream::Incomplete { bytes_needed } => {
                return Err(format!(
                    "the report's last pkt-line is truncated ({bytes_needed} more byte(s) expected)"
                ))
            }
        };
        match line {
            PacketLineRef::Flush => break,
            PacketLineRef::Delimiter | PacketLineRef::ResponseEnd => {}
            PacketLineRef::Data(payload) => lines.push(
                String::from_utf8_lossy(payload)
                    .trim_end_matches('\n')
                    .to_owned(),
            ),
        }
        // The decoder never consumes more than it was given; if it did, the report
        // cannot be trusted rather than cut short.
        data = data.get(consumed..).ok_or_else(|| {
            format!(
                "the pkt-line decoder consumed {consumed} of {} bytes",
                data.len()
            )
        })?;
    }
    Ok(lines)
}

/// Side-band text as lines, without progress noise.
pub fn remote_messages(data: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(data)
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Read a `report-status`: the push landed only on `unpack ok` and `ok <refname>`.
/// `Err` is a report that cannot be trusted either way.
pub fn judge(lines: &[String], refname: &str) -> Result<Answer, String> {
    let Some(first) = lines.first() else {
        return Err("the server sent no report-status".into());
    };
    match first.strip_prefix("unpack ") {
        Some("ok") => {}
        Some(problem) => return Err(format!("the server could not unpack the pack: {problem}")),
        None => return Err(format!("report-status starts with `{first}`, not `unpack`")),
    }
    for line in &lines[1..] {
        if let Some(name) = line.strip_prefix("ok ") {
            if name == refname {
                return Ok(Answer::Accepted);
            }
        } else if let Some(rest) = line.strip_prefix("ng ") {
            let (name, reason) = rest.split_once(' ').unwrap_or((rest, "rejected"));
            if name == refname {
                return Ok(Answer::Rejected {
                    reason: reason.to_owned(),
                });
            }
        }
    }
    Err(format!("report-status has no line for `{refname}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn judge_table() {
        let r = "refs/heads/staging";
        let cases: &[(&[&str], Result<Answer, &str>)] = &[
            (
                &["unpack ok", "ok refs/heads/staging"],
                Ok(Answer::Accepted),
            ),
            (
                &[
                    "unpack ok",
                    "ng refs/heads/staging pre-receive hook declined",
                ],
                Ok(Answer::Rejected {
                    reason: "pre-receive hook declined".into(),
                }),
            ),
            (
                &["unpack ok", "ng refs/heads/staging failed to update ref"],
                Ok(Answer::Rejected {
                    reason: "failed to update ref".into(),
                }),
            ),
            (&[], Err("no report-status")),
            (
                &[
                    "unpack index-pack abnormal exit",
                    "ng refs/heads/staging unpacker error",
                ],
                Err("could not unpack"),
            ),
            (&["unpack ok"], Err("no line for")),
            (&["unpack ok", "ok refs/heads/main"], Err("no line for")),
            (&["ok refs/heads/staging"], Err("not `unpack`")),
        ];
        for (input, expected) in cases {
            let got = judge(&lines(input), r);
            match (expected, got) {
                (Ok(e), Ok(g)) => assert_eq!(&g, e, "{input:?}"),
                (Err(fragment), Err(g)) => assert!(g.contains(fragment), "{input:?}: {g}"),
                (e, g) => panic!("{input:?}: expected {e:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn pkt_lines_stop_at_flush() {
        let data = b"000eunpack ok\n001aok refs/heads/staging\n00000009extra";
        assert_eq!(
            pkt_lines(data).expect("parses"),
            vec!["unpack ok".to_owned(), "ok refs/heads/staging".to_owned()]
        );
        assert!(pkt_lines(b"00000009ignored after the flush").is_ok());
        for (wire, error) in [
            (&b"00ffshort"[..], "truncated (246 more byte(s) expected)"),
            (b"000", "truncated (1 more byte(s) expected)"),
            (b"zzzz", "malformed"),
            (b"0003", "malformed"),
            (b"0004", "malformed"),
            (b"+00a123456", "malformed"),
        ] {
            let got = pkt_lines(wire).expect_err("refused");
            assert!(got.contains(error), "{wire:?}: {got}");
        }
        assert_eq!(
            pkt_lines(b"000100020009ok x\n0000").expect("parses"),
            vec!["ok x".to_owned()],
            "delimiter and response-end carry no line"
        );
    }

    fn pkt(data: &[u8]) -> Vec<u8> {
        let mut out = format!("{:04x}", data.len() + 4).into_bytes();
        out.extend_from_slice(data);
        out
    }

    fn band(channel: u8, data: &[u8]) -> Vec<u8> {
        let mut line = vec![channel];
        line.extend_from_slice(data);
        pkt(&line)
    }

    fn read(wire: &[u8], side_band: bool) -> Result<Report, ReportError> {
        use gix::protocol::transport::{
            client::blocking_io::HandleProgress, packetline::blocking_io::StreamingPeekableIter,
        };
        let mut iter = StreamingPeekableIter::new(wire, &[PacketLineRef::Flush], false);
        let handler: HandleProgress<'_> = Box::new(|_, _| std::ops::ControlFlow::Continue(()));
        let mut reader = iter.as_read_with_sidebands(handler);
        read_report(&mut reader, side_band)
    }

    fn report() -> Vec<u8> {
        let mut report = pkt(b"unpack ok\n");
        report.extend(pkt(b"ok refs/heads/staging\n"));
        report.extend(b"0000");
        report
    }

    #[test]
    fn reports_are_read_with_and_without_side_band() {
        let expected = vec!["unpack ok".to_owned(), "ok refs/heads/staging".to_owned()];
        let plain = read(&report(), false).expect("plain report");
        assert_eq!(plain.lines, expected);
        let mut wire = band(2, b"remote: checking\n");
        wire.extend(band(1, &report()));
        wire.extend(b"0000");
        let multiplexed = read(&wire, true).expect("side-band report");
        assert_eq!(multiplexed.lines, expected);
        assert_eq!(multiplexed.messages, vec!["remote: checking".to_owned()]);
    }

    fn over_cap(what: &str, result: Result<Report, ReportError>, cap: usize) {
        match result {
            Err(ReportError::Protocol(detail)) => {
                assert!(detail.contains(&cap.to_string()), "{what}: {detail}");
            }
            other => panic!("{what}: expected the cap to refuse it, got {other:?}"),
        }
    }

    #[test]
    fn a_report_over_max_report_bytes_is_refused() {
        let line = vec![b'x'; 1000];
        let mut plain = Vec::new();
        for _ in 0..=MAX_REPORT_BYTES / 1000 {
            plain.extend(pkt(&line));
        }
        plain.extend(b"0000");
        over_cap("plain", read(&plain, false), MAX_REPORT_BYTES);
        let chunk = vec![b'y'; 60_000];
        let mut multiplexed = Vec::new();
        for _ in 0..=MAX_REPORT_BYTES / 60_000 {
            multiplexed.extend(band(1, &chunk));
        }
        multiplexed.extend(b"0000");
        over_cap("side-band", read(&multiplexed, true), MAX_REPORT_BYTES);
    }

    #[test]
    fn remote_messages_over_max_remote_message_bytes_are_refused() {
        let chunk = vec![b'z'; 60_000];
        let mut wire = Vec::new();
        for _ in 0..=MAX_REMOTE_MESSAGE_BYTES / 60_000 {
            wire.extend(band(2, &chunk));
        }
        wire.extend(band(1, &report()));
        wire.extend(b"0000");
        over_cap("messages", read(&wire, true), MAX_REMOTE_MESSAGE_BYTES);
    }

    #[test]
    fn remote_messages_drop_blank_and_progress_separators() {
        assert_eq!(
            remote_messages(b"Gitea: Not allowed\nerror: x\r\n\n"),
            vec!["Gitea: Not allowed".to_owned(), "error: x".to_owned()]
        );
    }
}
