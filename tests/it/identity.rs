//! Identity: mTLS client certificates, OIDC JWT bearer tokens, service keys for apps. Every
//! refusal has its own audit reason and never reaches the CRM.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use serde_json::{json, Value};

use crate::support::{mtls_client, persona_cert, repo, Options, Proxy, Reply, TestClient};

const CONTACTS: &str = "/crm/v3/objects/contacts?limit=5";

fn mtls_config(mode: &str) -> String {
    format!(
        "[identity.mtls]\nclient_ca = \"{}\"\nmode = \"{mode}\"\nuser_from = \"cn\"\n",
        repo().join("certs/ca.pem").display()
    )
}

async fn mtls_proxy(mode: &str, extra: &str, files: Vec<(String, Vec<u8>)>) -> Proxy {
    Proxy::start_with(Options {
        extra_config: format!("{}{extra}", mtls_config(mode)),
        files,
        ..Options::default()
    })
    .await
}

fn persona_client(user: &str) -> TestClient {
    let (c, k) = persona_cert(user);
    mtls_client(&c, &k)
}

/// The dev CA as an rcgen issuer (same subject and key as certs/ca.pem).
fn dev_ca() -> Issuer<'static, KeyPair> {
    let key =
        KeyPair::from_pem(&std::fs::read_to_string(repo().join("certs/ca.key")).unwrap()).unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "crmgate dev CA (development only)");
    ca.distinguished_name
        .push(DnType::OrganizationName, "Santa's company (demo)");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Issuer::new(ca, key)
}

/// A client certificate (PEM cert, PEM key) with this CN and OU, signed by `issuer`.
fn client_cert(issuer: &Issuer<'_, KeyPair>, cn: &str, ou: &str) -> (Vec<u8>, Vec<u8>) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationalUnitName, ou);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, issuer).unwrap();
    (cert.pem().into_bytes(), key.serialize_pem().into_bytes())
}

fn assert_refused(proxy: &Proxy, reply: &Reply, status: u16, reason: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let problem = reply.json();
    assert_eq!(problem["type"], format!("urn:crmgate:problem:{reason}"));
    // Only the problem document reaches the client, never CRM data.
    assert!(problem.get("results").is_none());
    let audit = proxy.audit_of(reply);
    assert_eq!(audit["reason"], reason);
    assert!(audit["upstream_status"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_identifies_user_and_department() {
    let proxy = mtls_proxy("required", "", vec![]).await;
    let reply = proxy
        .get_with(&persona_client("rudolph"), CONTACTS, &[])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let audit = proxy.audit_of(&reply);
    assert_eq!(audit["principal"], "rudolph");
    assert_eq!(audit["credential"], "mtls");
    assert_eq!(audit["department"], "field_sales");
    // field sales' default purpose applies.
    assert_eq!(audit["purpose"], "customer_visit");
    let seen = proxy.crm().received();
    assert_eq!(seen.len(), 1);
    // The CRM sees crmgate's credential only, nothing about the client's certificate.
    let auth: Vec<&(String, String)> = seen[0]
        .headers
        .iter()
        .filter(|(k, _)| k == "authorization")
        .collect();
    assert_eq!(auth.len(), 1);
    assert!(auth[0].1.contains(crate::support::UPSTREAM_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_certificate_is_required() {
    let proxy = mtls_proxy("required", "", vec![]).await;
    // No certificate: the handshake (or with TLS 1.3 the first read) fails; no response.
    let client = crate::support::mtls_client_none();
    let r = client
        .request(
            http::Request::get(format!("https://127.0.0.1:{}{CONTACTS}", proxy.addr.port()))
                .header("authorization", "Bearer demo-key-noelle")
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await;
    assert!(
        r.is_err(),
        "a request without a client certificate got {r:?}"
    );
    // A certificate from another CA is refused the same way.
    let other = Issuer::new(
        {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p
        },
        KeyPair::generate().unwrap(),
    );
    let (c, k) = client_cert(&other, "noelle", "sales");
    let r = mtls_client(&c, &k)
        .request(
            http::Request::get(format!("https://127.0.0.1:{}{CONTACTS}", proxy.addr.port()))
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await;
    assert!(r.is_err(), "a foreign certificate got {r:?}");
    assert!(proxy.crm().received().is_empty());
    assert!(proxy.audit().is_empty(), "{:?}", proxy.audit());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_refused() {
    let ca = dev_ca();
    let (c, k) = client_cert(&ca, "noelle", "sales");
    let der: rustls_pki_types::CertificateDer<'static> =
        rustls_pki_types::pem::PemObject::from_pem_slice(&c).unwrap();
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).unwrap();
    let serial = parsed.raw_serial().to_vec();
    let crl = CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2025, 1, 1),
        next_update: rcgen::date_time_ymd(2045, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial),
            revocation_time: rcgen::date_time_ymd(2025, 6, 1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca)
    .unwrap();
    let proxy = mtls_proxy(
        "required",
        "crl_file = \"revoked.crl\"\n",
        vec![("revoked.crl".into(), crl.pem().unwrap().into_bytes())],
    )
    .await;
    let r = mtls_client(&c, &k)
        .request(
            http::Request::get(format!("https://127.0.0.1:{}{CONTACTS}", proxy.addr.port()))
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await;
    assert!(r.is_err(), "a revoked certificate got {r:?}");
    // A certificate the CRL does not list still works.
    let (c2, k2) = client_cert(&ca, "noelle", "sales");
    let ok = proxy.get_with(&mtls_client(&c2, &k2), CONTACTS, &[]).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(proxy.crm().received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_refusals_each_have_their_reason() {
    let proxy = mtls_proxy("optional", "", vec![]).await;
    let ca = dev_ca();
    // OU contradicts the directory: noelle is in sales.
    let (c, k) = client_cert(&ca, "noelle", "accounting");
    let r = proxy.get_with(&mtls_client(&c, &k), CONTACTS, &[]).await;
    assert_refused(&proxy, &r, 401, "credential-attribute-mismatch");
    // A CN the entities file does not know.
    let (c, k) = client_cert(&ca, "krampus", "sales");
    let r = proxy.get_with(&mtls_client(&c, &k), CONTACTS, &[]).await;
    assert_refused(&proxy, &r, 401, "unknown-principal");
    // A CN naming an App: certificates are for users.
    let (c, k) = client_cert(&ca, "newsletter_tool", "marketing");
    let r = proxy.get_with(&mtls_client(&c, &k), CONTACTS, &[]).await;
    assert_refused(&proxy, &r, 401, "unknown-principal");
    // The Grinch's certificate is valid; his account is not.
    let r = proxy
        .get_with(&persona_client("grinch"), CONTACTS, &[])
        .await;
    assert_refused(&proxy, &r, 403, "inactive-principal");
    // Two credentials: a certificate and a bearer key.
    let r = proxy
        .get_with(
            &persona_client("holly"),
            CONTACTS,
            &[("authorization", "Bearer demo-key-noelle")],
        )
        .await;
    assert_refused(&proxy, &r, 400, "ambiguous-credentials");
    // Optional mode: without a certificate an API key still works.
    let ok = proxy.get(CONTACTS, "noelle", None).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(proxy.crm().received().len(), 1);
}

// ---------------------------------------------------------------- JWT

const ISSUER: &str = "https://idp.northpole.example";

struct Idp {
    key: EncodingKey,
    other: EncodingKey,
    jwks: Vec<u8>,
}

fn idp() -> Idp {
    let gen = || {
        let k = KeyPair::generate().unwrap(); // ECDSA P-256
        EncodingKey::from_ec_der(&k.serialize_der())
    };
    let key = gen();
    let other = gen();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("k1".into());
    let jwks = serde_json::to_vec(&JwkSet { keys: vec![jwk] }).unwrap();
    Idp { key, other, jwks }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(user: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": "crmgate", "sub": user, "department": "customer_service",
        "exp": now() + 600, "iat": now(),
    })
}

fn sign(key: &EncodingKey, kid: &str, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid.into());
    jsonwebtoken::encode(&h, claims, key).unwrap()
}

fn b64url(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

async fn jwt_proxy(idp: &Idp) -> Proxy {
    jwt_proxy_with(idp, "", None).await
}

async fn jwt_proxy_with(idp: &Idp, extra: &str, policies: Option<String>) -> Proxy {
    Proxy::start_with(Options {
        extra_config: format!(
            "[[identity.jwt]]\nissuer = \"{ISSUER}\"\naudience = [\"crmgate\"]\nalgorithms = [\"ES256\"]\n\
             jwks_file = \"jwks.json\"\nleeway_s = 30\nuser_claim = \"sub\"\ndepartment_claim = \"department\"\n{extra}"
        ),
        files: vec![("jwks.json".into(), idp.jwks.clone())],
        policies,
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roles_claim_replaces_the_directory_roles_in_decisions() {
    let idp = idp();
    let santa = std::fs::read_to_string(repo().join("policies/santa.cedar")).unwrap();
    let policies = format!(
        "{santa}\n@id(\"suspended-see-nothing\")\nforbid (principal is User, action, resource)\n\
         when {{ principal.roles.contains(\"suspended\") }};\n"
    );
    let proxy = jwt_proxy_with(&idp, "roles_claim = \"roles\"\n", Some(policies)).await;
    let client = crate::support::mtls_client_none();
    let mut c = claims("holly");
    c["roles"] = json!(["agent"]);
    let ok = proxy
        .get_with(
            &client,
            CONTACTS,
            &[(
                "authorization",
                &format!("Bearer {}", sign(&idp.key, "k1", &c)),
            )],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    c["roles"] = json!(["agent", "suspended"]);
    let denied = proxy
        .get_with(
            &client,
            CONTACTS,
            &[(
                "authorization",
                &format!("Bearer {}", sign(&idp.key, "k1", &c)),
            )],
        )
        .await;
    assert_refused(&proxy, &denied, 403, "forbidden");
    assert_eq!(
        proxy.audit_of(&denied)["policies"],
        json!(["suspended-see-nothing"])
    );
    // A configured roles claim that is missing is refused, not defaulted.
    let r = proxy
        .get_with(
            &client,
            CONTACTS,
            &[(
                "authorization",
                &format!("Bearer {}", sign(&idp.key, "k1", &claims("holly"))),
            )],
        )
        .await;
    assert_refused(&proxy, &r, 401, "token-missing-claim");
    assert_eq!(proxy.crm().received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_identifies_its_user() {
    let idp = idp();
    let proxy = jwt_proxy(&idp).await;
    let token = sign(&idp.key, "k1", &claims("holly"));
    let reply = proxy
        .get_with(
            &crate::support::mtls_client_none(),
            CONTACTS,
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let audit = proxy.audit_of(&reply);
    assert_eq!(audit["principal"], "holly");
    assert_eq!(audit["credential"], "jwt");
    assert_eq!(audit["department"], "customer_service");
    // The token never reaches the CRM or the audit log.
    let seen = proxy.crm().received();
    assert_eq!(seen.len(), 1);
    assert!(!format!("{:?}", seen[0].headers).contains(&token));
    let mut log = String::new();
    for seg in std::fs::read_dir(proxy.dir.path().join("audit")).unwrap() {
        log.push_str(&std::fs::read_to_string(seg.unwrap().path()).unwrap_or_default());
    }
    assert!(log.contains("holly"), "the audit log was read");
    assert!(!log.contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_token_is_refused_with_its_own_reason() {
    let idp = idp();
    let proxy = jwt_proxy(&idp).await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims("holly");
        f(&mut c);
        c
    };
    let hs256 = {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        // HS/RS confusion: the "secret" is the issuer's public JWKS.
        jsonwebtoken::encode(
            &h,
            &claims("holly"),
            &EncodingKey::from_secret(&idp.jwks).unwrap(),
        )
        .unwrap()
    };
    let none = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","kid":"k1"}"#),
        b64url(claims("holly").to_string().as_bytes())
    );
    let cases: Vec<(String, u16, &str)> = vec![
        (
            sign(&idp.key, "k1", &with(&|c| c["exp"] = json!(now() - 3600))),
            401,
            "token-expired",
        ),
        (
            sign(&idp.key, "k1", &with(&|c| c["nbf"] = json!(now() + 3600))),
            401,
            "token-not-yet-valid",
        ),
        (
            sign(&idp.key, "k1", &with(&|c| c["aud"] = json!("another-api"))),
            401,
            "token-wrong-audience",
        ),
        (
            sign(
                &idp.key,
                "k1",
                &with(&|c| c["iss"] = json!("https://evil.example")),
            ),
            401,
            "token-unknown-issuer",
        ),
        (
            sign(&idp.key, "k9", &claims("holly")),
            401,
            "token-unknown-kid",
        ),
        (
            sign(&idp.other, "k1", &claims("holly")),
            401,
            "token-bad-signature",
        ),
        (hs256, 401, "token-algorithm-not-allowed"),
        (none, 401, "token-malformed"),
        (
            sign(
                &idp.key,
                "k1",
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
            ),
            401,
            "token-missing-claim",
        ),
        (
            sign(
                &idp.key,
                "k1",
                &with(&|c| c["department"] = json!("accounting")),
            ),
            401,
            "credential-attribute-mismatch",
        ),
        (
            sign(&idp.key, "k1", &claims("krampus")),
            401,
            "unknown-principal",
        ),
        ("eyJhbGciOi.broken.token".into(), 401, "token-malformed"),
    ];
    let client = crate::support::mtls_client_none();
    for (token, status, reason) in cases {
        let r = proxy
            .get_with(
                &client,
                CONTACTS,
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await;
        assert_refused(&proxy, &r, status, reason);
        let audit = proxy.audit_of(&r);
        assert!(!audit.to_string().contains(&token), "token in audit");
    }
    // Two credentials: two Authorization headers.
    let token = sign(&idp.key, "k1", &claims("holly"));
    let r = proxy
        .get_with(
            &client,
            CONTACTS,
            &[
                ("authorization", &format!("Bearer {token}")),
                ("authorization", "Bearer demo-key-holly"),
            ],
        )
        .await;
    assert_refused(&proxy, &r, 400, "ambiguous-credentials");
    assert!(
        proxy.crm().received().is_empty(),
        "{:?}",
        proxy.crm().received()
    );
}

// ---------------------------------------------------------------- service keys

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newsletter_tool_sees_consenting_prospects_name_and_email_only() {
    let proxy = Proxy::start().await;
    let r = proxy
        .get(
            "/crm/v3/objects/contacts?limit=100&properties=firstname,lastname,email,phone,lifecyclestage",
            "newsletter",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let audit = proxy.audit_of(&r);
    assert_eq!(audit["principal"], "newsletter_tool");
    assert_eq!(audit["purpose"], "product_marketing");
    let results = r.json()["results"].as_array().unwrap().clone();
    assert!(!results.is_empty());
    for rec in &results {
        let names = crate::support::prop_names(rec);
        for n in &names {
            assert!(
                ["firstname", "lastname", "email"].contains(&n.as_str()),
                "the newsletter tool saw `{n}`"
            );
        }
    }
    // It may declare no other purpose, and its key is no user's.
    let r = proxy.get(CONTACTS, "newsletter", Some("greetings")).await;
    assert_refused(&proxy, &r, 403, "purpose-not-allowed");
    // The wish-list form reads nothing.
    let r = proxy.get(CONTACTS, "wishlist", None).await;
    assert_refused(&proxy, &r, 403, "forbidden");
    // An unknown key is refused as such.
    let r = proxy.get(CONTACTS, "krampus", None).await;
    assert_refused(&proxy, &r, 401, "api-key-unknown");
    // A credential that is there but unusable is not "no credential".
    let client = crate::support::mtls_client_none();
    for bad in ["Basic bm9lbGxlOnB3", "Bearer ", "Token demo-key-noelle"] {
        let r = proxy
            .get_with(&client, CONTACTS, &[("authorization", bad)])
            .await;
        assert_refused(&proxy, &r, 401, "credential-malformed");
    }
    assert_eq!(proxy.crm().received().len(), 1);
}

/// Connect twice with one client config (which caches sessions) and report whether the
/// second handshake resumed the first session.
async fn second_handshake_resumes(proxy: &Proxy, cfg: rustls::ClientConfig) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg));
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        kinds.push(tls.get_ref().1.handshake_kind());
        // Read a whole response so that any session ticket has arrived.
        tls.write_all(
            b"GET /crm/v3/objects/contacts?limit=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer demo-key-noelle\r\n\r\n",
        )
        .await
        .unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out).await;
        assert!(
            out.starts_with(b"HTTP/1.1 "),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
    kinds[1] == Some(rustls::HandshakeKind::Resumed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mtls_listener_never_resumes_a_session() {
    let (c, k) = persona_cert("noelle");
    // Control: a listener without mTLS resumes, so the check below can see resumption.
    let plain = Proxy::start().await;
    assert!(second_handshake_resumes(&plain, crate::support::client_tls(None)).await);
    let mtls = mtls_proxy("optional", "", vec![]).await;
    assert!(!second_handshake_resumes(&mtls, crate::support::client_tls(Some((&c, &k)))).await);
    assert!(!second_handshake_resumes(&mtls, crate::support::client_tls(None)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_dev_identity_provider_are_accepted() {
    let certs = repo().join("certs");
    let proxy = Proxy::start_with(Options {
        extra_config: format!(
            "[[identity.jwt]]\nissuer = \"{}\"\naudience = [\"{}\"]\nalgorithms = [\"ES256\"]\n\
             jwks_file = \"{}\"\ndepartment_claim = \"department\"\n",
            crmgate::tools::certs::DEV_ISSUER,
            crmgate::tools::certs::DEV_AUDIENCE,
            certs.join("jwks.json").display()
        ),
        ..Options::default()
    })
    .await;
    let token = crmgate::tools::certs::dev_token(&certs, "penny", 5).unwrap();
    let reply = proxy
        .get_with(
            &crate::support::mtls_client_none(),
            "/crm/v3/objects/contacts/1001?properties=firstname,billing_iban",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(proxy.audit_of(&reply)["principal"], "penny");
    // Accounting sees billing data: the token's user is who the policies decide for.
    assert!(reply.json()["properties"]["billing_iban"].is_string());
}

fn jwks_of(keys: &[(&EncodingKey, &str)]) -> Vec<u8> {
    let keys = keys
        .iter()
        .map(|(k, kid)| {
            let mut jwk = Jwk::from_encoding_key(k, Algorithm::ES256).unwrap();
            jwk.common.key_id = Some((*kid).into());
            jwk
        })
        .collect();
    serde_json::to_vec(&JwkSet { keys }).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_url_is_cached_refreshed_for_new_kids_and_fails_closed() {
    use std::sync::{Arc, Mutex};
    let idp = idp();
    // What the identity provider serves: a JWKS, or (None) an outage.
    let served: Arc<Mutex<Option<Vec<u8>>>> =
        Arc::new(Mutex::new(Some(jwks_of(&[(&idp.key, "k1")]))));
    let s2 = served.clone();
    let provider = crate::support::RawUpstream::start(move |_| match &*s2.lock().unwrap() {
        Some(body) => {
            crate::support::http_response("200 OK", &[("Content-Type", "application/json")], body)
        }
        None => crate::support::http_response("503 Service Unavailable", &[], b""),
    })
    .await;
    let fetches = || provider.received.lock().unwrap().len();
    let start = |max_age: u64| {
        Proxy::start_with(Options {
            extra_config: format!(
                "[[identity.jwt]]\nissuer = \"{ISSUER}\"\naudience = [\"crmgate\"]\nalgorithms = [\"ES256\"]\n\
                 jwks_url = \"http://{}/jwks\"\njwks_max_age_s = {max_age}\njwks_min_refresh_s = 0\n",
                provider.addr
            ),
            ..Options::default()
        })
    };
    let proxy = start(300).await;
    let client = crate::support::mtls_client_none();
    let call = |key: &EncodingKey, kid: &str| {
        let auth = format!("Bearer {}", sign(key, kid, &claims("holly")));
        let (proxy, client) = (&proxy, &client);
        async move {
            proxy
                .get_with(client, CONTACTS, &[("authorization", auth.as_str())])
                .await
        }
    };
    assert_eq!(call(&idp.key, "k1").await.status, 200);
    assert_eq!(call(&idp.key, "k1").await.status, 200);
    assert_eq!(fetches(), 1, "the second token was verified from the cache");
    // The provider rotates in a new key: a token with the new kid triggers a refresh.
    *served.lock().unwrap() = Some(jwks_of(&[(&idp.key, "k1"), (&idp.other, "k2")]));
    assert_eq!(call(&idp.other, "k2").await.status, 200);
    assert_eq!(fetches(), 2);
    // Outage: an unknown kid stays unknown (after one attempt); known keys still verify
    // while the cache is young.
    *served.lock().unwrap() = None;
    let r = call(&idp.other, "k3").await;
    assert_refused(&proxy, &r, 401, "token-unknown-kid");
    assert_eq!(fetches(), 3);
    assert_eq!(call(&idp.key, "k1").await.status, 200);
    assert_eq!(proxy.crm().received().len(), 4);

    // Keys past their age are not used: during an outage nothing verifies (503).
    let aged = start(0).await;
    let auth = format!("Bearer {}", sign(&idp.key, "k1", &claims("holly")));
    let r = aged
        .get_with(&client, CONTACTS, &[("authorization", auth.as_str())])
        .await;
    assert_refused(&aged, &r, 503, "jwks-unavailable");
    assert!(aged.crm().received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_san_email_can_name_the_user_instead_of_the_cn() {
    let proxy = Proxy::start_with(Options {
        extra_config: mtls_config("required")
            .replace("user_from = \"cn\"", "user_from = \"san_email\""),
        ..Options::default()
    })
    .await;
    let ca = dev_ca();
    let cert = |cn: &str, san: Option<&str>| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        if let Some(email) = san {
            p.subject_alt_names = vec![rcgen::SanType::Rfc822Name(email.try_into().unwrap())];
        }
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        let c = p.signed_by(&key, &ca).unwrap();
        mtls_client(c.pem().as_bytes(), key.serialize_pem().as_bytes())
    };
    // The CN says santa; the configured mapping reads the SAN: holly.
    let r = proxy
        .get_with(
            &cert("santa", Some("holly@northpole.example")),
            CONTACTS,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(proxy.audit_of(&r)["principal"], "holly");
    // Without the SAN the certificate names nobody.
    let r = proxy.get_with(&cert("santa", None), CONTACTS, &[]).await;
    assert_refused(&proxy, &r, 401, "certificate-unmapped");
    assert_eq!(proxy.crm().received().len(), 1);
}

const BILLING: &str = "/crm/v3/objects/contacts/1001?properties=firstname,billing_iban";

/// GET `BILLING` with a token of the test identity provider describing `user` (for an
/// issuer that is the directory).
async fn as_claimed(proxy: &Proxy, idp: &Idp, user: &str, department: &str, active: bool) -> Reply {
    let mut c = claims(user);
    c["department"] = json!(department);
    c["roles"] = json!(["bookkeeper"]);
    c["active"] = json!(active);
    let token = format!("Bearer {}", sign(&idp.key, "k1", &c));
    proxy
        .get_with(
            &crate::support::mtls_client_none(),
            BILLING,
            &[("authorization", &token)],
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claims_principal_absent_from_the_entities_is_decided_and_audited_like_a_listed_one() {
    let idp = idp();
    let proxy = jwt_proxy_with(&idp, "directory = \"claims\"\n", None).await;
    // `ivy` is in no entities file: the token says she is an active bookkeeper in accounting.
    let ivy = as_claimed(&proxy, &idp, "ivy", "accounting", true).await;
    assert_eq!(ivy.status, 200, "{}", ivy.text());
    // penny is accounting's bookkeeper in the entities file: the same decision, the same data.
    let penny = proxy.get(BILLING, "penny", None).await;
    assert_eq!(penny.status, 200);
    assert_eq!(ivy.json()["properties"], penny.json()["properties"]);
    assert!(ivy.json()["properties"]["billing_iban"].is_string());
    let (a, b) = (proxy.audit_of(&ivy), proxy.audit_of(&penny));
    for key in ["decision", "purpose", "department", "policies", "records"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    assert_eq!(a["principal"], "ivy");
    assert_eq!(a["credential"], "jwt");
    assert_eq!(a["directory"], "claims");
    assert_eq!(a["roles"], json!(["bookkeeper"]));
    assert!(b.get("directory").is_none(), "{b}");

    // Decisions are memoised by what the token claims: the same user in another department
    // sees what that department sees.
    let moved = as_claimed(&proxy, &idp, "ivy", "sales", true).await;
    assert_eq!(moved.status, 200, "{}", moved.text());
    assert!(moved.json()["properties"].get("billing_iban").is_none());
    assert_eq!(proxy.audit_of(&moved)["department"], "sales");

    // An inactive account, by the directory's own say.
    let inactive = as_claimed(&proxy, &idp, "ivy", "accounting", false).await;
    assert_refused(&proxy, &inactive, 403, "inactive-principal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_naming_an_undeclared_department_is_refused() {
    let idp = idp();
    let proxy = jwt_proxy_with(&idp, "directory = \"claims\"\n", None).await;
    let client = crate::support::mtls_client_none();
    let reply = as_claimed(&proxy, &idp, "ivy", "elves", true).await;
    assert_refused(&proxy, &reply, 401, "unknown-department");
    assert!(reply.json()["detail"].as_str().unwrap().contains("`elves`"));
    // A directory that does not say the account is active has not said so.
    let mut c = claims("ivy");
    c["department"] = json!("accounting");
    let reply = proxy
        .get_with(
            &client,
            BILLING,
            &[(
                "authorization",
                &format!("Bearer {}", sign(&idp.key, "k1", &c)),
            )],
        )
        .await;
    assert_refused(&proxy, &reply, 401, "token-missing-claim");
    assert!(proxy.crm().received().is_empty(), "nothing reached the CRM");
}

/// A client that cannot add `X-Purpose` declares its purpose in its token: the claim is
/// checked against the registry and the department exactly like the header, and must agree
/// with any other declaration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purpose_claim_in_the_token_is_checked_like_the_header() {
    let idp = idp();
    let proxy = jwt_proxy_with(&idp, "purpose_claim = \"purpose\"\n", None).await;
    let client = crate::support::mtls_client_none();
    let get = |purpose: Option<&str>, header: Option<&str>| {
        let mut c = claims("holly");
        if let Some(p) = purpose {
            c["purpose"] = json!(p);
        }
        let token = format!("Bearer {}", sign(&idp.key, "k1", &c));
        let proxy = &proxy;
        let client = &client;
        let header = header.map(String::from);
        async move {
            let mut h: Vec<(&str, &str)> = vec![("authorization", token.as_str())];
            if let Some(x) = &header {
                h.push(("x-purpose", x.as_str()));
            }
            proxy.get_with(client, CONTACTS, &h).await
        }
    };
    let claimed = get(Some("prospect_management"), None).await;
    assert_eq!(claimed.status, 200, "{}", claimed.text());
    assert_eq!(proxy.audit_of(&claimed)["purpose"], "prospect_management");
    let unknown = get(Some("world_domination"), None).await;
    assert_refused(&proxy, &unknown, 400, "unknown-purpose");
    let not_hers = get(Some("greetings"), None).await;
    assert_refused(&proxy, &not_hers, 403, "purpose-not-allowed");
    let disagree = get(Some("prospect_management"), Some("contract_fulfilment")).await;
    assert_refused(&proxy, &disagree, 400, "bad-request");
    // Without the claim, the department's default applies as before.
    let none = get(None, None).await;
    assert_eq!(none.status, 200);
    assert_eq!(proxy.audit_of(&none)["purpose"], "contract_fulfilment");
}

/// A service key bound to one purpose declares it on every request made with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_key_bound_to_a_purpose_declares_it() {
    let digest = crmgate::config::api_key_digest("demo-key-bound-form");
    let proxy = Proxy::start_with(Options {
        extra_config: format!(
            "[[identity.api_keys]]\napp = \"wishlist_form\"\nsha256 = \"{digest}\"\npurpose = \"prospect_management\"\n"
        ),
        ..Options::default()
    })
    .await;
    let r = proxy
        .post(
            "/crm/v3/objects/contacts",
            "bound-form",
            None,
            json!({"properties": {"firstname": "Ida", "lifecyclestage": "lead", "email": "ida@example.org"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(proxy.audit_of(&r)["purpose"], "prospect_management");
    let other = proxy
        .post(
            "/crm/v3/objects/contacts",
            "bound-form",
            Some("product_marketing"),
            json!({"properties": {"firstname": "Ida", "lifecyclestage": "lead"}}),
        )
        .await;
    assert_refused(&proxy, &other, 400, "bad-request");
}
