//! The remote: its URL, the token as basic-auth credentials, and transports to it.
//!
//! The token is sent as the basic-auth password (the username is ignored by Gitea) on
//! every request, set as the transport's identity, never as part of the URL: gix prints
//! URLs in its errors. A credentials callback answers a 401 challenge with the same
//! identity once, so a wrong token ends as `Unauthorized` instead of a prompt.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use gix::protocol::transport::{
    client::{
        blocking_io::{connect, http, Transport},
        Account,
    },
    Protocol,
};

use super::{Error, Phase};
use crate::context::Secret;

/// The username sent with the token; Gitea only looks at the password.
const USERNAME: &str = "shipgate";

/// How long one git HTTP request may take, body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// A git remote reached over smart HTTP with a token.
#[derive(Clone)]
pub struct Remote {
    url: String,
    parsed: gix::Url,
    token: Secret,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// An `http(s)://host/owner/repo.git` URL without credentials, and the token.
    pub fn new(url: &str, token: Secret) -> Result<Remote, Error> {
        let text = url.trim().trim_end_matches('/');
        let shown = redact(text);
        let invalid = |why: &str| Error::InvalidRemote {
            url: shown.clone(),
            why: why.to_owned(),
        };
        if shown != text {
            return Err(invalid(
                "it contains credentials; the token is read from SHIPGATE_TOKEN only",
            ));
        }
        let parsed = gix::url::parse(gix::bstr::BStr::new(text))
            .map_err(|e| invalid(&format!("not a URL: {e}")))?;
        match parsed.scheme {
            gix::url::Scheme::Http | gix::url::Scheme::Https => {}
            other => {
                return Err(invalid(&format!(
                    "the `{other}` scheme is not supported: sync talks smart HTTP(S) with a token"
                )))
            }
        }
        if parsed.user().is_some() || parsed.password().is_some() {
            return Err(invalid(
                "it contains credentials; the token is read from SHIPGATE_TOKEN only",
            ));
        }
        if parsed.host().is_none_or(str::is_empty) {
            return Err(invalid("it has no host"));
        }
        if token.expose().is_empty() {
            return Err(invalid("the token is empty"));
        }
        Ok(Remote {
            url: text.to_owned(),
            parsed,
            token,
            connect_timeout: Duration::from_secs(10),
        })
    }

    /// Limit the time to establish a connection.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Remote {
        self.connect_timeout = timeout;
        self
    }

    /// The URL, safe to print.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// True when credentials will travel unencrypted because the URL is `http://`.
    pub fn is_plain_http(&self) -> bool {
        self.parsed.scheme == gix::url::Scheme::Http
    }

    fn account(&self) -> Account {
        Account {
            username: USERNAME.to_owned(),
            password: self.token.expose().to_owned(),
            oauth_refresh_token: None,
        }
    }

    /// A configured, authenticated transport. Receive-pack only speaks protocol V0/V1.
    pub(crate) fn connect(
        &self,
        version: Protocol,
        phase: Phase,
    ) -> Result<Box<dyn Transport + Send>, Error> {
        crate::tls::install_crypto_provider();
        let mut transport = connect::connect(
            self.parsed.clone(),
            connect::Options {
                version,
                ..connect::Options::default()
            },
        )
        .map_err(|e| Error::from_transport(e, &self.url, phase))?;
        transport
            .configure(&self.http_options())
            .map_err(|e| Error::from_transport(e, &self.url, phase))?;
        transport
            .set_identity(self.account())
            .map_err(|e| Error::Protocol {
                url: self.url.clone(),
                phase,
                detail: format!("cannot set the credentials: {e}"),
            })?;
        Ok(Box::new(NoSymrefs { inner: transport }))
    }

    fn http_options(&self) -> http::Options {
        let backend = http::reqwest::Options {
            configure_client: Some(Box::new(|builder| {
                Ok(builder
                    .tls_certs_merge(crate::tls::bundled_roots())
                    .timeout(REQUEST_TIMEOUT))
            })),
            configure_request: None,
        };
        let backend: Arc<Mutex<dyn std::any::Any + Send + Sync>> = Arc::new(Mutex::new(backend));
        http::Options {
            user_agent: Some(user_agent()),
            connect_timeout: Some(self.connect_timeout),
            backend: Some(backend),
            ..http::Options::default()
        }
    }

    /// Connect and shake hands with `service` (authenticated: the token answers the
    /// server's 401), returning the transport and what the server advertised.
    pub(crate) fn handshake(
        &self,
        service: gix::protocol::transport::Service,
        version: Protocol,
        phase: Phase,
    ) -> Result<(Box<dyn Transport + Send>, gix::protocol::Handshake), Error> {
        let mut transport = self.connect(version, phase)?;
        let mut authenticate = self.authenticate();
        let handshake = gix::protocol::handshake(
            &mut transport,
            service,
            &mut authenticate,
            Vec::new(),
            &mut gix::progress::Discard,
        )
        .map_err(|e| Error::from_transport(e, &self.url, phase))?;
        Ok((transport, handshake))
    }

    /// Answers a 401 challenge with the token, once; nothing is stored or erased.
    fn authenticate(
        &self,
    ) -> impl FnMut(
        gix::credentials::helper::Action,
    ) -> gix::Result<Option<gix::credentials::protocol::Outcome>>
           + Send
           + Sync
           + 'static {
        let account = self.account();
        move |action| match action {
            gix::credentials::helper::Action::Get(context) => {
                Ok(Some(gix::credentials::protocol::Outcome {
                    identity: account.clone(),
                    next: context.into(),
                }))
            }
            gix::credentials::helper::Action::Store(_)
            | gix::credentials::helper::Action::Erase(_) => Ok(None),
        }
    }
}

/// A transport whose V1 handshake drops the `symref=NAME:TARGET` capabilities before gix
/// reads the advertised refs.
///
/// gix-protocol 0.68 panics (`unreachable!`, `handshake/refs/shared.rs`) on a V1
/// advertisement whose `symref` names a ref the advertisement never lists, e.g.
/// `symref=HEAD:refs/heads/main` without a `HEAD` line: a server could end any push with
/// a crash (the `fetch_response` fuzz target found it,
/// `fuzz/artifacts/fetch_response/`). shipgate reads only `refs/heads/*` tips and never a
/// symbolic ref's target, so without the capability the same refs arrive, `HEAD`
/// included, as plain refs.
struct NoSymrefs {
    inner: Box<dyn Transport + Send>,
}

/// `capabilities` without `symref=…` entries (see [`NoSymrefs`]); used for the V1 ref
/// advertisement, whose capabilities are space-separated.
pub fn without_symrefs(
    capabilities: &gix::protocol::transport::client::Capabilities,
) -> gix::protocol::transport::client::Capabilities {
    let mut line = b"\0".to_vec();
    let mut first = true;
    for capability in capabilities
        .iter()
        .filter(|c| !c.name().is_empty() && c.name() != "symref")
    {
        if !first {
            line.push(b' ');
        }
        first = false;
        line.extend_from_slice(capability.name());
        if let Some(value) = capability.value() {
            line.push(b'=');
            line.extend_from_slice(value);
        }
    }
    if first {
        line.extend_from_slice(b"no-capabilities");
    }
    // Never the original back: it may hold the symref that crashes gix.
    let parsed = gix::protocol::transport::client::Capabilities::from_bytes(&line).or_else(|_| {
        gix::protocol::transport::client::Capabilities::from_bytes(b"\0no-capabilities")
    });
    match parsed {
        Ok((parsed, _)) => parsed,
        Err(_) => unreachable!("a NUL followed by a capability always parses"),
    }
}

impl gix::protocol::transport::client::TransportWithoutIO for NoSymrefs {
    fn set_identity(
        &mut self,
        identity: Account,
    ) -> Result<(), gix::protocol::transport::client::Error> {
        self.inner.set_identity(identity)
    }

    fn to_url(&self) -> std::borrow::Cow<'_, gix::bstr::BStr> {
        self.inner.to_url()
    }

    fn supported_protocol_versions(&self) -> &[Protocol] {
        self.inner.supported_protocol_versions()
    }

    fn connection_persists_across_multiple_requests(&self) -> bool {
        self.inner.connection_persists_across_multiple_requests()
    }

    fn configure(&mut self, config: &dyn std::any::Any) -> gix::Result<()> {
        self.inner.configure(config)
    }
}

impl Transport for NoSymrefs {
    fn handshake<'a>(
        &mut self,
        service: gix::protocol::transport::Service,
        extra_parameters: &'a [(&'a str, Option<&'a str>)],
    ) -> Result<
        gix::protocol::transport::client::blocking_io::SetServiceResponse<'_>,
        gix::protocol::transport::client::Error,
    > {
        let mut response = self.inner.handshake(service, extra_parameters)?;
        if response.refs.is_some() {
            response.capabilities = without_symrefs(&response.capabilities);
        }
        Ok(response)
    }

    fn request(
        &mut self,
        write_mode: gix::protocol::transport::client::WriteMode,
        on_into_read: gix::protocol::transport::client::MessageKind,
        trace: bool,
    ) -> Result<
        gix::protocol::transport::client::blocking_io::RequestWriter<'_>,
        gix::protocol::transport::client::Error,
    > {
        self.inner.request(write_mode, on_into_read, trace)
    }
}

/// `shipgate/<version>`.
pub(crate) fn user_agent() -> String {
    concat!("shipgate/", env!("CARGO_PKG_VERSION")).to_owned()
}

/// The URL with any `user:password@` replaced by `***@`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***@{}", &url[..scheme_end + 3], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(url: &str) -> Result<Remote, Error> {
        Remote::new(url, Secret::new("tok"))
    }

    /// The `fetch_response` fuzz crash (fuzz/artifacts/fetch_response/): a V1
    /// advertisement with `symref=HEAD:…` but no `HEAD` line made gix panic. Without the
    /// `symref` capabilities the same refs parse.
    #[test]
    fn a_symref_to_an_unadvertised_ref_does_not_crash_the_handshake() {
        use gix::protocol::{
            handshake::refs::from_v1_refs_received_as_part_of_handshake_and_capabilities as parse,
            transport::{
                client::Capabilities,
                packetline::{blocking_io::StreamingPeekableIter, PacketLineRef},
            },
        };
        let caps = b"\0report-status side-band-64k symref=HEAD:refs/heads/main agent=git/2.47";
        let (advertised, _) = Capabilities::from_bytes(caps).expect("capabilities");
        let mut wire = Vec::new();
        for line in [
            format!("{} refs/heads/main\n", "1".repeat(40)),
            format!("{} refs/heads/staging\n", "2".repeat(40)),
        ] {
            wire.extend(format!("{:04x}{line}", line.len() + 4).into_bytes());
        }
        wire.extend(b"0000");
        let run = |capabilities: Capabilities| {
            let wire = wire.clone();
            std::panic::catch_unwind(move || {
                let mut iter =
                    StreamingPeekableIter::new(&wire[..], &[PacketLineRef::Flush], false);
                let mut reader = iter.as_read();
                parse(&mut reader, capabilities.iter())
                    .map(|(refs, _)| refs.len())
                    .map_err(|e| e.to_string())
            })
        };
        assert!(
            run(advertised.clone()).is_err(),
            "gix-protocol no longer panics here: NoSymrefs may go"
        );
        let filtered = without_symrefs(&advertised);
        assert!(filtered.contains("report-status"));
        assert!(filtered.contains("side-band-64k"));
        assert_eq!(
            filtered.capability("agent").and_then(|c| c.value()),
            Some("git/2.47".into())
        );
        assert!(filtered.capability("symref").is_none());
        assert_eq!(run(filtered).ok(), Some(Ok(2)));
        // fuzz/artifacts/fetch_response/crash-c4767ba…: only empty tokens left beside the
        // symref (`\0 symref=…`); the filter once fell back to the original list.
        for caps in [&b"\0 symref=HEAD:refs/heads/main"[..], b"\0symref=HEAD:x"] {
            let (advertised, _) = Capabilities::from_bytes(caps).expect("capabilities");
            let filtered = without_symrefs(&advertised);
            assert!(filtered.capability("symref").is_none(), "{caps:?}");
            assert_eq!(run(filtered).ok(), Some(Ok(2)), "{caps:?}");
        }
    }

    #[test]
    fn accepts_http_and_https() {
        assert_eq!(
            remote("https://gitea.example/acme/app.git/")
                .expect("valid")
                .url(),
            "https://gitea.example/acme/app.git"
        );
        assert!(remote("http://127.0.0.1:3000/acme/app.git")
            .expect("valid")
            .is_plain_http());
    }

    #[test]
    fn rejects_credentials_and_other_schemes() {
        for url in [
            "https://bot:secret@gitea.example/acme/app.git",
            "https://secret@gitea.example/acme/app.git",
            "ssh://git@gitea.example/acme/app.git",
            "git@gitea.example:acme/app.git",
            "file:///srv/app.git",
            "",
        ] {
            let err = remote(url).expect_err(url);
            assert!(
                !err.to_string().contains("secret"),
                "credentials leaked: {err}"
            );
        }
    }

    #[test]
    fn empty_token_is_rejected() {
        assert!(Remote::new("https://gitea.example/a/b.git", Secret::new("")).is_err());
    }

    #[test]
    fn redacts_userinfo_only() {
        assert_eq!(
            redact("https://u:p@h.example/x@y.git"),
            "https://***@h.example/x@y.git"
        );
        assert_eq!(redact("https://h.example/x.git"), "https://h.example/x.git");
    }
}
