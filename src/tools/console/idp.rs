//! The demo's development identity provider, as a server: the OIDC endpoints a browser
//! sign-in needs — `/.well-known/openid-configuration`, `/authorize` (a sign-in form that
//! lists the demo users: no passwords, development only), `/token` (the code exchanged once,
//! with its PKCE S256 verifier, for an ID token signed with the dev key of
//! `crmgate certs dev`) and `/jwks.json`. The demo personas plus a data protection officer
//! (`dpo` role) and a security officer (`security` role).
//!
//! For development and tests only: it signs anyone in who clicks a name. It must never
//! issue a token for a code twice, without the verifier of the code's challenge, or to a
//! redirect URI other than the one the code was issued for.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::tools::docs::render::esc;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

/// The dev IdP's users: (user, department, roles).
pub const USERS: [(&str, &str, &[&str]); 9] = [
    ("mira", "data_protection", &["dpo"]),
    ("frost", "it_security", &["security"]),
    ("noelle", "sales", &[]),
    ("rudolph", "field_sales", &[]),
    ("tinsel", "marketing", &[]),
    ("holly", "customer_service", &[]),
    ("penny", "accounting", &[]),
    ("santa", "management", &[]),
    ("grinch", "sales", &[]),
];

/// The console's data protection officer in the demo.
pub const DPO: &str = "mira";

struct Code {
    client_id: String,
    redirect_uri: String,
    user: String,
    nonce: String,
    challenge: String,
    expires: Instant,
}

struct Idp {
    issuer: String,
    key: jsonwebtoken::EncodingKey,
    jwks: Value,
    codes: Mutex<HashMap<String, Code>>,
}

/// Serve the dev IdP on `listener` (plain HTTP on loopback) with the key and JWKS of the
/// dev PKI in `certs` (`idp.key`, `jwks.json`). Its issuer is its own URL.
pub async fn serve(listener: TcpListener, certs: &Path) -> Result<String, String> {
    use rustls_pki_types::pem::PemObject;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let issuer = format!("http://{addr}");
    let path = certs.join("idp.key");
    let der = rustls_pki_types::PrivateKeyDer::from_pem_file(&path)
        .map_err(|e| format!("{}: cannot read the dev idp key: {e}", path.display()))?;
    let jwks_path = certs.join("jwks.json");
    let jwks: Value = std::fs::read_to_string(&jwks_path)
        .map_err(|e| format!("{}: {e}", jwks_path.display()))
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))?;
    let idp = Arc::new(Idp {
        issuer: issuer.clone(),
        key: jsonwebtoken::EncodingKey::from_ec_der(der.secret_der()),
        jwks,
        codes: Mutex::new(HashMap::new()),
    });
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let idp = idp.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let idp = idp.clone();
                    async move { Ok::<_, Infallible>(idp.handle(req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    Ok(issuer)
}

fn answer(status: StatusCode, ctype: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; form-action 'self' https:; frame-ancestors 'none'",
        ),
    );
    r
}

fn oauth_error(status: StatusCode, error: &str) -> Response<Full<Bytes>> {
    answer(
        status,
        "application/json",
        json!({ "error": error }).to_string(),
    )
}

impl Idp {
    async fn handle(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let query: Vec<(String, String)> = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let form: Vec<(String, String)> = match Limited::new(body, 16 * 1024).collect().await {
            Ok(b) => form_urlencoded::parse(&b.to_bytes()).into_owned().collect(),
            Err(_) => return oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
        };
        match (&parts.method, parts.uri.path()) {
            (&Method::GET, "/.well-known/openid-configuration") => self.discovery(),
            (&Method::GET, "/jwks.json") => {
                answer(StatusCode::OK, "application/json", self.jwks.to_string())
            }
            (&Method::GET, "/authorize") => self.sign_in_form(&query),
            (&Method::POST, "/authorize") => self.authorize(&form),
            (&Method::POST, "/token") => self.token(&form),
            _ => answer(StatusCode::NOT_FOUND, "text/plain", "not found".into()),
        }
    }

    fn discovery(&self) -> Response<Full<Bytes>> {
        let i = &self.issuer;
        let doc = json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/authorize"),
            "token_endpoint": format!("{i}/token"),
            "jwks_uri": format!("{i}/jwks.json"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["none"],
        });
        answer(StatusCode::OK, "application/json", doc.to_string())
    }

    /// The sign-in page: one button per demo user; the request's parameters ride along.
    fn sign_in_form(&self, q: &[(String, String)]) -> Response<Full<Bytes>> {
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if get("response_type") != Some("code")
            || get("code_challenge_method") != Some("S256")
            || get("code_challenge").is_none_or(str::is_empty)
            || !get("redirect_uri").is_some_and(allowed_redirect)
        {
            return answer(
                StatusCode::BAD_REQUEST,
                "text/plain",
                "authorization requests need response_type=code, PKCE S256 and a loopback https redirect_uri"
                    .into(),
            );
        }
        let mut hidden = String::new();
        for k in [
            "client_id",
            "redirect_uri",
            "state",
            "nonce",
            "code_challenge",
        ] {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                esc(get(k).unwrap_or(""))
            ));
        }
        let mut users = String::new();
        for (u, dept, roles) in USERS {
            users.push_str(&format!(
                "<li><button type=\"submit\" name=\"user\" value=\"{u}\" id=\"user-{u}\">{u}</button> {dept}{}</li>",
                if roles.is_empty() { String::new() } else { format!(" — {}", roles.join(", ")) }
            ));
        }
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in — dev identity provider</title></head>\
             <body><h1>Development identity provider</h1><p>Development only: choose a demo user.</p>\
             <form method=\"post\" action=\"/authorize\">{hidden}<ul>{users}</ul></form></body></html>"
        );
        answer(StatusCode::OK, "text/html; charset=utf-8", page)
    }

    fn authorize(&self, f: &[(String, String)]) -> Response<Full<Bytes>> {
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let (Some(user), Some(redirect_uri)) = (get("user"), get("redirect_uri")) else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
        };
        if !USERS.iter().any(|(u, _, _)| *u == user) || !allowed_redirect(&redirect_uri) {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
        }
        let Ok(code) = super::util::random_token() else {
            return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
        };
        let c = Code {
            client_id: get("client_id").unwrap_or_default(),
            redirect_uri: redirect_uri.clone(),
            user,
            nonce: get("nonce").unwrap_or_default(),
            challenge: get("code_challenge").unwrap_or_default(),
            expires: Instant::now() + Duration::from_secs(60),
        };
        if let Ok(mut codes) = self.codes.lock() {
            codes.insert(code.clone(), c);
        }
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", &get("state").unwrap_or_default())
            .finish();
        let mut r = answer(StatusCode::SEE_OTHER, "text/plain", String::new());
        if let Ok(v) = HeaderValue::from_str(&format!("{redirect_uri}?{q}")) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    }

    fn token(&self, f: &[(String, String)]) -> Response<Full<Bytes>> {
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if get("grant_type") != Some("authorization_code") {
            return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
        }
        // A code is used once: taken out before anything else is checked.
        let code = get("code").and_then(|c| self.codes.lock().ok()?.remove(c));
        let Some(code) = code else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
        };
        let verifier = get("code_verifier").unwrap_or("");
        let challenge = super::util::b64url(&Sha256::digest(verifier.as_bytes()));
        if code.expires < Instant::now()
            || get("client_id") != Some(code.client_id.as_str())
            || get("redirect_uri") != Some(code.redirect_uri.as_str())
            || !super::util::same(&challenge, &code.challenge)
        {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
        }
        match self.id_token(&code) {
            Ok(t) => answer(
                StatusCode::OK,
                "application/json",
                json!({"id_token": t, "token_type": "Bearer", "expires_in": 300}).to_string(),
            ),
            Err(_) => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }

    fn id_token(&self, c: &Code) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let (dept, roles) = USERS
            .iter()
            .find(|(u, _, _)| *u == c.user)
            .map(|(_, d, r)| (*d, r.to_vec()))
            .unwrap_or(("", Vec::new()));
        let claims = json!({
            "iss": self.issuer, "aud": c.client_id, "sub": c.user, "nonce": c.nonce,
            "iat": now, "exp": now + 300, "department": dept, "roles": roles,
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(crate::tools::certs::DEV_KID.to_string());
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())
    }
}

/// The dev IdP sends codes only back to the console on this machine.
fn allowed_redirect(uri: &str) -> bool {
    uri.starts_with("https://localhost:") || uri.starts_with("https://127.0.0.1:")
}
