//! Fetching exactly what sync needs over upload-pack, with gix-protocol directly.
//!
//! gix's high-level fetch has no partial-clone filters and cannot ask for a tree or a blob
//! by id, so sync drives [`gix::protocol::fetch`] with its own [`Negotiate`]: the wants
//! are given ids (branch tips, trees, blobs), the `have`s are given ids, and an optional
//! `filter` (`tree:0`, `blob:none`) is added when the server advertises it. Protocol V2
//! lets a client want any object the server has, which is what makes fetching just the
//! trees and blobs a merge needs possible.

use std::{path::PathBuf, sync::atomic::AtomicBool};

use gix::{
    protocol::{
        fetch::{self, negotiate, Arguments, Negotiate, Shallow, Tags},
        transport::{client::blocking_io::Transport, Protocol, Service},
        Handshake,
    },
    ObjectId,
};

use super::{remote::user_agent, Error, Phase, Remote, Workspace};

/// What one fetch asks for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Objects to receive: commits, or trees and blobs by id (protocol V2 only).
    pub wants: &'a [ObjectId],
    /// Commits the server may assume we have, with everything reachable from them.
    pub haves: &'a [ObjectId],
    /// A partial-clone filter such as `tree:0` or `blob:none`.
    pub filter: Option<&'a str>,
    /// Depth handling; see [`Shallow`].
    pub shallow: Shallow,
    /// The shallow file to read and update; a scratch path keeps it out of a fetch.
    pub shallow_file: PathBuf,
}

/// Counters for the report and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Fetch requests (not counting the handshake).
    pub requests: u32,
    /// Objects received.
    pub objects: u64,
    /// Pack bytes received.
    pub bytes: u64,
}

/// A connection to the remote's upload-pack: one handshake, then any number of fetches.
pub struct Fetcher {
    url: String,
    transport: Box<dyn Transport + Send>,
    handshake: Handshake,
    pub stats: Stats,
}

impl Fetcher {
    /// Handshake with upload-pack, asking for protocol V2.
    pub fn connect(remote: &Remote) -> Result<Fetcher, Error> {
        let (transport, handshake) =
            remote.handshake(Service::UploadPack, Protocol::V2, Phase::Fetch)?;
        Ok(Fetcher {
            url: remote.url().to_owned(),
            transport,
            handshake,
            stats: Stats::default(),
        })
    }

    /// True when the server speaks protocol V2 (wants may name any object).
    pub fn is_v2(&self) -> bool {
        self.handshake.server_protocol_version == Protocol::V2
    }

    /// True when the server accepts partial-clone filters and the protocol lets us
    /// want trees and blobs by id, i.e. when the cheap `tree:0` strategy applies.
    pub fn supports_filters(&self) -> bool {
        self.is_v2()
            && self
                .handshake
                .capabilities
                .capability("fetch")
                .and_then(|c| c.supports("filter"))
                .unwrap_or(false)
    }

    /// True when the server supports shallow fetches.
    pub fn supports_shallow(&self) -> bool {
        if self.is_v2() {
            self.handshake
                .capabilities
                .capability("fetch")
                .and_then(|c| c.supports("shallow"))
                .unwrap_or(false)
        } else {
            self.handshake.capabilities.contains("shallow")
        }
    }

    /// Fetch into the workspace. Returns the number of objects received.
    pub fn fetch(&mut self, workspace: &Workspace, request: &Request<'_>) -> Result<u64, Error> {
        if request.wants.is_empty() {
            return Ok(0);
        }
        let repo = &workspace.repo;
        let pack_dir = repo.objects.store_ref().path().join("pack");
        let mut negotiate = Wants {
            wants: request.wants,
            haves: request.haves,
            filter: request.filter,
        };
        let interrupt = AtomicBool::new(false);
        let mut written: Option<gix_pack::bundle::write::Outcome> = None;
        let result = gix::protocol::fetch(
            &mut negotiate,
            |reader, progress, should_interrupt| -> gix::Result<bool> {
                let mut capped = CappedRead::new(reader, MAX_PACK_BYTES);
                let outcome = gix_pack::Bundle::write_to_directory(
                    &mut capped,
                    Some(&pack_dir),
                    progress,
                    should_interrupt,
                    Some(repo.objects.clone()),
                    repo.object_hash(),
                    pack_options(),
                )?;
                written = Some(outcome);
                Ok(true)
            },
            gix::progress::Discard,
            &interrupt,
            fetch::Context {
                handshake: &mut self.handshake,
                transport: &mut self.transport,
                user_agent: ("agent", Some(user_agent())),
                trace_packetlines: false,
            },
            fetch::Options {
                shallow_file: request.shallow_file.clone(),
                shallow: &request.shallow,
                tags: Tags::None,
                reject_shallow_remote: false,
            },
        );
        self.stats.requests += 1;
        result.map_err(|e| Error::from_transport(e, &self.url, Phase::Fetch))?;
        let Some(outcome) = written else {
            return Ok(0);
        };
        let objects = u64::from(outcome.index.num_objects);
        self.stats.objects += objects;
        if let Some(path) = &outcome.data_path {
            self.stats.bytes += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        }
        if let Some(keep) = &outcome.keep_path {
            // Nothing references the pack by name; the objects stay reachable through the
            // refs sync writes (or die with the temporary repository).
            let _ = std::fs::remove_file(keep);
        }
        tracing::debug!(
            wants = request.wants.len(),
            haves = request.haves.len(),
            filter = request.filter.unwrap_or("none"),
            shallow = ?request.shallow,
            objects,
            "fetched"
        );
        Ok(objects)
    }
}

/// Most bytes of one pack received (8 GiB). The pack streams to disk, never to memory,
/// but a server must not be able to fill the runner's disk: past this the fetch fails.
pub const MAX_PACK_BYTES: u64 = 8 << 30;

/// Largest single allocation the pack reader may make while indexing (1 GiB): gix sizes
/// its delta tree from the object count in the pack header and its buffers from the sizes
/// in each entry header, all server-controlled. Without a limit a 12-byte header claiming
/// 4 billion objects asks for tens of GiB; with it, such a pack is an error.
pub const MAX_PACK_ALLOCATION: usize = 1 << 30;

/// How every received pack is indexed: verified, with [`MAX_PACK_ALLOCATION`].
pub fn pack_options() -> gix_pack::bundle::write::Options {
    gix_pack::bundle::write::Options {
        alloc_limit_bytes: Some(MAX_PACK_ALLOCATION),
        ..gix_pack::bundle::write::Options::default()
    }
}

/// A reader that fails once more than `limit` bytes have been consumed from it.
pub struct CappedRead<R> {
    inner: R,
    consumed: u64,
    limit: u64,
}

impl<R> CappedRead<R> {
    pub fn new(inner: R, limit: u64) -> CappedRead<R> {
        CappedRead {
            inner,
            consumed: 0,
            limit,
        }
    }

    fn over(&self) -> std::io::Error {
        std::io::Error::other(format!(
            "the server sent a pack of more than {} bytes (MAX_PACK_BYTES)",
            self.limit
        ))
    }
}

impl<R: std::io::BufRead> std::io::Read for CappedRead<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = std::io::BufRead::fill_buf(self)?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for CappedRead<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let room = self.limit.saturating_sub(self.consumed);
        let over = self.over();
        let buffer = self.inner.fill_buf()?;
        if buffer.is_empty() {
            return Ok(buffer);
        }
        if room == 0 {
            return Err(over);
        }
        let n = usize::try_from(room).map_or(buffer.len(), |room| buffer.len().min(room));
        Ok(&buffer[..n])
    }

    fn consume(&mut self, n: usize) {
        self.consumed += n as u64;
        self.inner.consume(n);
    }
}

/// Negotiation without a commit walk: we know exactly what we want and what we have.
struct Wants<'a> {
    wants: &'a [ObjectId],
    haves: &'a [ObjectId],
    filter: Option<&'a str>,
}

impl Negotiate for Wants<'_> {
    fn mark_complete_and_common_ref(&mut self) -> gix::Result<negotiate::Action> {
        Ok(negotiate::Action::MustNegotiate {
            remote_ref_target_known: vec![false; self.wants.len()],
        })
    }

    fn add_wants(&mut self, arguments: &mut Arguments, _known: &[bool]) -> bool {
        for id in self.wants {
            arguments.want(id);
        }
        if let Some(filter) = self.filter {
            if arguments.can_use_filter() {
                arguments.filter(filter);
            }
        }
        true
    }

    fn one_round(
        &mut self,
        _state: &mut negotiate::one_round::State,
        arguments: &mut Arguments,
        _previous: Option<&fetch::Response>,
    ) -> gix::Result<(negotiate::Round, bool)> {
        for id in self.haves {
            arguments.have(id);
        }
        Ok((
            negotiate::Round {
                haves_sent: self.haves.len(),
                in_vain: 0,
                haves_to_send: 0,
                previous_response_had_at_least_one_in_common: false,
            },
            true,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn a_pack_over_max_pack_bytes_is_an_error() {
        let data = vec![7u8; 100];
        let mut exact = Vec::new();
        CappedRead::new(&data[..], 100)
            .read_to_end(&mut exact)
            .expect("exactly the cap is fine");
        assert_eq!(exact, data);
        let mut short = Vec::new();
        let error = CappedRead::new(&data[..], 99)
            .read_to_end(&mut short)
            .expect_err("one byte over the cap");
        assert!(error.to_string().contains("MAX_PACK_BYTES"), "{error}");
        assert_eq!(short.len(), 99, "nothing past the cap is read");
    }

    /// A pack header claiming 2²⁸ objects (a 12-byte header): with the allocation cap the
    /// index writer refuses to reserve its delta tree for them (GiBs) up front.
    #[test]
    fn a_pack_header_claiming_millions_of_objects_does_not_allocate_for_them() {
        let mut pack = b"PACK\x00\x00\x00\x02\x10\x00\x00\x00".to_vec();
        pack.extend_from_slice(&[0u8; 20]);
        let mut reader = std::io::BufReader::new(&pack[..]);
        let result = gix_pack::Bundle::write_to_directory(
            &mut reader,
            None,
            &mut gix::progress::Discard,
            &AtomicBool::new(false),
            None::<gix::objs::find::Never>,
            gix::hash::Kind::Sha1,
            pack_options(),
        );
        let error = format!("{:?}", result.err());
        assert!(error.contains("delta tree is too large"), "{error}");
    }
}
