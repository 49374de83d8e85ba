//! Stage 1, listen (TLS): the rustls server configuration.
//!
//! TLS 1.2 and 1.3 only, one crypto provider (ring), ALPN for HTTP/2 and HTTP/1.1. Keys are
//! read once at start-up; a problem names the file. With mTLS configured, client
//! certificates are verified against the client CA (and the CRL, when given) by rustls'
//! WebPKI verifier, and session resumption is off: no tickets, no session cache, so every
//! connection presents and verifies its certificate afresh (a revoked or re-rooted
//! certificate cannot ride on an old session).
//!
//! It must never offer a protocol below TLS 1.2, or resume a session where mTLS is on.

use std::sync::Arc;

use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateRevocationListDer, PrivateKeyDer};

use crate::config::{ClientAuth, MtlsConfig, TlsFiles};
use crate::pki::load_certs;

/// Build the server TLS configuration from PEM files.
pub fn server_config(
    files: &TlsFiles,
    mtls: Option<&MtlsConfig>,
) -> Result<Arc<ServerConfig>, String> {
    let certs = load_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("{}: cannot read private key: {e}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("tls: {e}"))?;
    let builder = match mtls {
        None => builder.with_no_client_auth(),
        Some(m) => builder.with_client_cert_verifier(client_verifier(m, provider)?),
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("{}: {e}", files.cert.display()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if mtls.is_some() {
        // No resumption: a resumed session would skip the certificate check.
        cfg.session_storage = Arc::new(NoServerSessionStorage {});
        cfg.send_tls13_tickets = 0;
    }
    Ok(Arc::new(cfg))
}

fn client_verifier(
    m: &MtlsConfig,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in load_certs(&m.client_ca)? {
        roots
            .add(c)
            .map_err(|e| format!("{}: {e}", m.client_ca.display()))?;
    }
    let mut builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    if let Some(crl) = &m.crl {
        let crls: Vec<CertificateRevocationListDer<'static>> =
            CertificateRevocationListDer::pem_file_iter(crl)
                .and_then(|it| it.collect())
                .map_err(|e| format!("{}: cannot read CRL: {e}", crl.display()))?;
        if crls.is_empty() {
            return Err(format!("{}: no CRL found", crl.display()));
        }
        builder = builder.with_crls(crls);
    }
    if m.mode == ClientAuth::Optional {
        // A connection without a certificate must then bring another credential.
        builder = builder.allow_unauthenticated();
    }
    builder
        .build()
        .map_err(|e| format!("{}: client CA: {e}", m.client_ca.display()))
}
