//! TLS for both HTTP clients, the REST one (`forge`) and gix's smart-HTTP transport
//! (`git`): ring as rustls' provider, and the roots a server certificate is checked
//! against. A leaf: it imports nothing of the crate.

use std::sync::Once;

/// Install ring as rustls' process-wide provider, once.
pub(crate) fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An Err means another provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The Mozilla roots, merged with the system's so bare images work too.
pub(crate) fn bundled_roots() -> Vec<reqwest::Certificate> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok())
        .collect()
}
