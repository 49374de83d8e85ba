//! The console's side of the OIDC authorization-code flow with PKCE (S256): the
//! authorization URL, the code exchanged for an ID token at the token endpoint, and the ID
//! token verified — its signature with the provider's JWKS (asymmetric keys only), its
//! issuer, audience, expiry and the nonce of the sign-in that asked for it.
//!
//! It must never accept an ID token it did not verify, one of another audience or issuer,
//! an expired one, or one whose nonce is not the sign-in's own.

use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::{connect::HttpConnector, Client as HttpClient};
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// The provider's discovery document (the part the console uses).
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// What the console takes from a verified ID token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: String,
    pub roles: Vec<String>,
}

pub struct Client {
    issuer: String,
    client_id: String,
    redirect_uri: String,
    http: HttpClient<Connector, Full<Bytes>>,
}

impl Client {
    pub fn new(
        issuer: &str,
        client_id: &str,
        redirect_uri: &str,
        extra_ca: Option<&Path>,
    ) -> Result<Client, String> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(ca) = extra_ca {
            for c in crate::pki::load_certs(ca)? {
                roots.add(c).map_err(|e| format!("{}: {e}", ca.display()))?;
            }
        }
        let https = crate::pki::https_connector(roots, "identity provider")?;
        Ok(Client {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            redirect_uri: redirect_uri.to_string(),
            http: HttpClient::builder(TokioExecutor::new()).build(https),
        })
    }

    async fn fetch(&self, req: http::Request<Full<Bytes>>) -> Result<Value, String> {
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| format!("identity provider: {e}"))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), 256 * 1024)
            .collect()
            .await
            .map_err(|e| format!("identity provider: {e}"))?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("identity provider answered {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("identity provider: {e}"))
    }

    async fn get(&self, url: &str) -> Result<Value, String> {
        let req = http::Request::get(url)
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        self.fetch(req).await
    }

    /// The discovery document; its issuer must be the configured one.
    pub async fn discover(&self) -> Result<Discovery, String> {
        let v = self
            .get(&format!("{}/.well-known/openid-configuration", self.issuer))
            .await?;
        let d: Discovery = serde_json::from_value(v).map_err(|e| format!("discovery: {e}"))?;
        if d.issuer.trim_end_matches('/') != self.issuer {
            return Err("the discovery document names another issuer".into());
        }
        Ok(d)
    }

    /// Where the browser goes to sign in.
    pub fn authorize_url(&self, d: &Discovery, state: &str, nonce: &str, verifier: &str) -> String {
        let challenge = super::util::b64url(&Sha256::digest(verifier.as_bytes()));
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", "openid profile")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let sep = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}{q}", d.authorization_endpoint)
    }

    /// The code exchanged (with its PKCE verifier) and the ID token verified.
    pub async fn complete(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Identity, String> {
        let d = self.discover().await?;
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("client_id", &self.client_id)
            .append_pair("code_verifier", verifier)
            .finish();
        let req = http::Request::post(&d.token_endpoint)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| e.to_string())?;
        let answer = self.fetch(req).await?;
        let token = answer
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or("the token endpoint sent no id_token")?;
        let jwks = self.get(&d.jwks_uri).await?;
        let keys = crate::jwk::parse_jwks(&jwks.to_string())?;
        verify(token, &keys, &self.issuer, &self.client_id, nonce)
    }
}

/// Verify an ID token: signature by a key of `keys` (by `kid`), issuer, audience, expiry,
/// and `nonce`.
pub fn verify(
    token: &str,
    keys: &std::collections::BTreeMap<String, crate::jwk::JwtKey>,
    issuer: &str,
    audience: &str,
    nonce: &str,
) -> Result<Identity, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("id token: {e}"))?;
    let kid = header.kid.ok_or("id token without a key id")?;
    let key = keys.get(&kid).ok_or("id token signed by an unknown key")?;
    // fail closed: the algorithm is the key's, never the token's choice, and never HMAC.
    let alg = key.alg.unwrap_or(header.alg);
    if alg != header.alg || crate::jwk::parse_jwt_algorithm(&format!("{alg:?}")).is_err() {
        return Err("id token algorithm not allowed".into());
    }
    let mut v = jsonwebtoken::Validation::new(alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data =
        jsonwebtoken::decode::<Value>(token, &key.key, &v).map_err(|e| format!("id token: {e}"))?;
    let claims = data.claims;
    let got = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
    if !super::util::same(got, nonce) {
        return Err("id token nonce does not match the sign-in".into());
    }
    let user = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or("id token without a subject")?
        .to_string();
    let roles = match claims.get("roles") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    Ok(Identity { user, roles })
}
