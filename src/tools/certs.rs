//! Development PKI (`crmgate certs dev`): a dev CA, a server certificate for localhost, and
//! one client certificate per demo persona (CN = user, OU = department) for mTLS; and a dev
//! OIDC identity provider: a signing key, its JWKS, and `crmgate certs token` to mint
//! bearer tokens for the demo personas.
//!
//! For development and tests only: the private keys are written next to the certificates
//! and the certificates are checked into `certs/`. Never deploy them.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The dev identity provider: issuer, audience and key id of the tokens it mints.
pub const DEV_ISSUER: &str = "https://idp.northpole.example";
pub const DEV_AUDIENCE: &str = "crmgate";
pub const DEV_KID: &str = "dev-idp-1";

/// The demo personas and their departments.
pub const PERSONAS: [(&str, &str); 7] = [
    ("noelle", "sales"),
    ("rudolph", "field_sales"),
    ("tinsel", "marketing"),
    ("holly", "customer_service"),
    ("penny", "accounting"),
    ("santa", "management"),
    ("grinch", "sales"),
];

/// Write the dev PKI into `dir`: `ca.pem`/`ca.key`, `server.pem`/`server.key`,
/// `client-<user>.pem`/`client-<user>.key`.
pub fn write_dev_pki(dir: &Path) -> Result<Vec<String>, String> {
    let err = |e: rcgen::Error| format!("certificate generation failed: {e}");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = Vec::new();
    let mut write = |name: &str, text: String| -> Result<(), String> {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        written.push(p.display().to_string());
        Ok(())
    };

    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "crmgate dev CA (development only)");
    ca.distinguished_name
        .push(DnType::OrganizationName, "Santa's company (demo)");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = rcgen::date_time_ymd(2025, 1, 1);
    ca.not_after = rcgen::date_time_ymd(2045, 1, 1);
    let ca_key = KeyPair::generate().map_err(err)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    write("ca.pem", ca_cert.pem())?;
    write("ca.key", ca_key.serialize_pem())?;
    let issuer = Issuer::new(ca, ca_key);

    let mut server = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .map_err(err)?;
    server.distinguished_name = rcgen::DistinguishedName::new();
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.not_before = rcgen::date_time_ymd(2025, 1, 1);
    server.not_after = rcgen::date_time_ymd(2045, 1, 1);
    let server_key = KeyPair::generate().map_err(err)?;
    let server_cert = server.signed_by(&server_key, &issuer).map_err(err)?;
    write("server.pem", server_cert.pem())?;
    write("server.key", server_key.serialize_pem())?;

    for (user, dept) in PERSONAS {
        let mut client = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        client.distinguished_name = rcgen::DistinguishedName::new();
        client.distinguished_name.push(DnType::CommonName, user);
        client
            .distinguished_name
            .push(DnType::OrganizationalUnitName, dept);
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        client.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        client.not_before = rcgen::date_time_ymd(2025, 1, 1);
        client.not_after = rcgen::date_time_ymd(2045, 1, 1);
        let key = KeyPair::generate().map_err(err)?;
        let cert = client.signed_by(&key, &issuer).map_err(err)?;
        write(&format!("client-{user}.pem"), cert.pem())?;
        write(&format!("client-{user}.key"), key.serialize_pem())?;
    }
    Ok(written)
}

/// Write the dev identity provider into `dir`: `idp.key` (ECDSA P-256, the signing key)
/// and `jwks.json` (its public key, `kid` = [`DEV_KID`], the file crmgate reads).
pub fn write_dev_idp(dir: &Path) -> Result<Vec<String>, String> {
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let key = KeyPair::generate().map_err(|e| format!("key generation failed: {e}"))?;
    let encoding = jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der());
    let mut jwk = Jwk::from_encoding_key(&encoding, jsonwebtoken::Algorithm::ES256)
        .map_err(|e| format!("jwk: {e}"))?;
    jwk.common.key_id = Some(DEV_KID.to_string());
    let jwks = serde_json::to_string_pretty(&JwkSet { keys: vec![jwk] })
        .map_err(|e| format!("jwks: {e}"))?;
    let mut written = Vec::new();
    for (name, text) in [("idp.key", key.serialize_pem()), ("jwks.json", jwks + "\n")] {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        written.push(p.display().to_string());
    }
    Ok(written)
}

/// Mint a dev bearer token for `user`, signed with `dir/idp.key`, valid for `minutes`. The
/// `department` claim is the persona's department (none for an unknown user).
pub fn dev_token(dir: &Path, user: &str, minutes: u64) -> Result<String, String> {
    use rustls_pki_types::pem::PemObject;
    let path = dir.join("idp.key");
    let der = rustls_pki_types::PrivateKeyDer::from_pem_file(&path)
        .map_err(|e| format!("{}: cannot read the dev idp key: {e}", path.display()))?;
    let key = jsonwebtoken::EncodingKey::from_ec_der(der.secret_der());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| format!("clock: {e}"))?
        .as_secs();
    let mut claims = serde_json::json!({
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": user,
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(minutes.saturating_mul(60)),
    });
    if let Some((_, dept)) = PERSONAS.iter().find(|(u, _)| *u == user) {
        if let Some(obj) = claims.as_object_mut() {
            obj.insert("department".into(), serde_json::Value::from(*dept));
        }
    }
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(DEV_KID.to_string());
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| format!("signing failed: {e}"))
}
