//! The OAuth 2.0 token endpoint (`POST /services/oauth2/token`: the client
//! credentials grant, and the JWT bearer grant when a key was given) and the bearer check of every data request: an unknown or
//! expired token is Salesforce's 401 `INVALID_SESSION_ID`. It must never log or
//! echo a secret or a token other than the one it grants.

use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::crm::{splitmix, SalesforceCrm, CLIENT_ID};
use super::jwt;
use super::reply::{with_status, SfError};
use crate::dates;
use crate::query::Query;
use crate::reply::Reply;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// `POST /services/oauth2/token` with a form body.
pub(crate) fn token(crm: &SalesforceCrm, headers: &HeaderMap, body: &[u8]) -> Reply {
    let form = Query::parse(Some(&String::from_utf8_lossy(body)));
    let refuse = |error: &str, description: &str| {
        with_status(
            StatusCode::BAD_REQUEST,
            json!({ "error": error, "error_description": description }),
        )
    };
    match (form.first("grant_type"), &crm.jwt_key) {
        (Some("client_credentials"), _) => {
            let client = form.first("client_id").unwrap_or("");
            let secret = form.first("client_secret").unwrap_or("");
            if !crm.client_valid(client, secret) {
                return refuse("invalid_client", "invalid client credentials");
            }
        }
        (Some(JWT_BEARER), Some(key)) => {
            let assertion = form.first("assertion").unwrap_or("");
            let now = dates::now_millis() / 1000;
            if let Err(reason) = jwt::verify(assertion, key, CLIENT_ID, now) {
                return refuse("invalid_grant", reason);
            }
        }
        (Some(_), _) => return refuse("unsupported_grant_type", "grant type not supported"),
        (None, _) => return refuse("invalid_request", "grant_type is required"),
    }
    let (token, n) = crm.grant();
    let host = headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1");
    let instance_url = format!("http://{host}");
    let id = format!("{instance_url}/id/00DDm0000000001EAA/005Dm0000000001AAA");
    let issued_at = dates::now_millis().to_string();
    Reply::ok(json!({
        "access_token": token,
        "instance_url": instance_url,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
        // Salesforce signs `id` + `issued_at` with the client secret; the demo's
        // signature only has the shape (it is derived from a counter).
        "signature": signature(n),
        "scope": "api",
    }))
}

/// The 401 for a data request without a valid bearer token, if it is one.
pub(crate) fn check(crm: &SalesforceCrm, headers: &HeaderMap) -> Option<SfError> {
    if !crm.auth_required {
        return None;
    }
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")
        })
        .map(|(_, token)| token.trim());
    match presented {
        Some(token) if crm.token_valid(token) => None,
        _ => Some(SfError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )),
    }
}

/// 32 bytes in base64, derived from the grant's number.
fn signature(n: u64) -> String {
    let mut state = n;
    let bytes: Vec<u8> = (0..4)
        .flat_map(|_| {
            state = splitmix(state);
            state.to_be_bytes()
        })
        .collect();
    base64(&bytes)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol = |index: u32| {
        ALPHABET
            .get(index as usize & 63)
            .map_or('A', |&byte| char::from(byte))
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let [a, b, c] = [0, 1, 2].map(|i| u32::from(chunk.get(i).copied().unwrap_or(0)));
        let triple = (a << 16) | (b << 8) | c;
        out.push(symbol(triple >> 18));
        out.push(symbol(triple >> 12));
        out.push(if chunk.len() > 1 {
            symbol(triple >> 6)
        } else {
            '='
        });
        out.push(if chunk.len() > 2 { symbol(triple) } else { '=' });
    }
    out
}
