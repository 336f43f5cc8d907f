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
                let outcome = gix_pack::Bundle::write_to_directory(
                    reader,
                    Some(&pack_dir),
                    progress,
                    should_interrupt,
                    Some(repo.objects.clone()),
                    repo.object_hash(),
                    gix_pack::bundle::write::Options::default(),
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
