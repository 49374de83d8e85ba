//! Certificates and TLS clients, below every stage: reading PEM certificate files and
//! building the HTTPS connector for crmgate's own outgoing calls (the CRM, a JWKS
//! endpoint). It must never accept another crypto provider than ring, or a protocol below
//! TLS 1.2.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect())
        .map_err(|e| format!("{}: cannot read certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", path.display()));
    }
    Ok(certs)
}

/// An HTTP(S) connector for crmgate's own outgoing calls (the CRM, a JWKS endpoint): rustls
/// with the one ring provider, TLS 1.2/1.3, the given roots, HTTP/1.1.
pub fn https_connector(
    roots: rustls::RootCertStore,
    what: &str,
) -> Result<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, String>
{
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("{what} tls: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build())
}
