//! Stage 3, identify (OIDC): verify a JWT bearer token against its issuer's keys.
//!
//! The unverified `iss` only selects which issuer's rules apply; everything is then checked
//! against that issuer's configuration, never against the token's own say: the algorithm
//! must be one configured for the issuer (asymmetric only, so `none` and HS/RS confusion
//! are impossible) and the one bound to the key; the key comes from the issuer's JWKS by
//! `kid` (`jku`, `x5u`, `x5c` and embedded `jwk` headers are ignored); `iss`, `aud` and
//! `exp` are required, `nbf` is checked, with a small leeway. Each failure has its own
//! error. The token itself is never logged or put into an error.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::Validation;
use serde_json::Value;

use crate::config::{Directory, JwtIssuer, KeySet};
use crate::error::{CredentialError, RequestError};
use crate::jwk::JwtKey;
use crate::stages::identity::jwks::{IssuerKeys, KeyLookupError};

/// What a verified token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub issuer: String,
    pub user: String,
    pub department: Option<String>,
    pub roles: Option<Vec<String>>,
    /// The active claim (issuers with `directory = "claims"` only).
    pub active: Option<bool>,
    /// Whether the token is the directory (its claims describe the user).
    pub directory: Directory,
    /// The purpose the token declares (issuers with a `purpose_claim`), if it holds one.
    pub purpose: Option<String>,
}

/// A compact JWS: three base64url parts, the first a JSON object (`eyJ` is `{"`). API keys
/// never look like this, so the two kinds of bearer credential cannot be confused.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// Verify a token against the configured issuers.
pub async fn verify(
    token: &str,
    issuers: &[JwtIssuer],
    remote: &IssuerKeys,
) -> Result<Verified, RequestError> {
    let (issuer, alg) = select_issuer(token, issuers)?;
    let kid = decode_kid(token)?;
    let key = match &issuer.keys {
        KeySet::Static(keys) => keys
            .get(&kid)
            .cloned()
            .ok_or(CredentialError::TokenUnknownKid)?,
        KeySet::Remote(_) => remote
            .key(&issuer.issuer, &kid)
            .await
            .map_err(|e| match e {
                KeyLookupError::UnknownKid => {
                    RequestError::Credential(CredentialError::TokenUnknownKid)
                }
                KeyLookupError::Unavailable(_) => RequestError::KeysUnavailable,
            })?,
    };
    Ok(check(token, issuer, alg, &key)?)
}

fn decode_kid(token: &str) -> Result<String, CredentialError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| malformed(e.kind()))?;
    header.kid.ok_or(CredentialError::TokenUnknownKid)
}

/// Choose the issuer by the unverified `iss` and check the header against its rules.
fn select_issuer<'a>(
    token: &str,
    issuers: &'a [JwtIssuer],
) -> Result<(&'a JwtIssuer, jsonwebtoken::Algorithm), CredentialError> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| malformed(e.kind()))?;
    if header.crit.is_some() {
        // Critical extensions crmgate does not implement must not be ignored (RFC 7515 4.1.11).
        return Err(CredentialError::TokenMalformed(
            "`crit` header parameters are not supported".into(),
        ));
    }
    // Unverified, and used only to choose the issuer whose keys and rules apply.
    let unverified: Value =
        jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|e| malformed(e.kind()))?;
    let iss = unverified
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(CredentialError::TokenUnknownIssuer)?;
    let issuer = issuers
        .iter()
        .find(|i| i.issuer == iss)
        .ok_or(CredentialError::TokenUnknownIssuer)?;
    let alg = header.alg;
    if !issuer.algorithms.contains(&alg) {
        return Err(CredentialError::TokenAlgorithm(format!("{alg:?}")));
    }
    Ok((issuer, alg))
}

/// Verify signature and claims with the issuer's key.
fn check(
    token: &str,
    issuer: &JwtIssuer,
    alg: jsonwebtoken::Algorithm,
    key: &JwtKey,
) -> Result<Verified, CredentialError> {
    // The key decides the algorithm, not the token: a key bound to one algorithm (or one
    // family) is never used with another.
    if key.alg.is_some_and(|a| a != alg) || key.key.family() != alg.family() {
        return Err(CredentialError::TokenAlgorithm(format!("{alg:?}")));
    }
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[&issuer.issuer]);
    validation.set_audience(&issuer.audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.leeway = issuer.leeway_s;
    let data = jsonwebtoken::decode::<Value>(token, &key.key, &validation)
        .map_err(|e| classify(e.kind()))?;
    let claims = data.claims;
    let user = claims
        .get(&issuer.user_claim)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CredentialError::TokenMissingClaim(issuer.user_claim.clone()))?
        .to_string();
    let department = match &issuer.department_claim {
        None => None,
        Some(c) => Some(
            claims
                .get(c)
                .and_then(Value::as_str)
                .ok_or_else(|| CredentialError::TokenMissingClaim(c.clone()))?
                .to_string(),
        ),
    };
    let roles = match &issuer.roles_claim {
        None => None,
        // As the directory, a token without roles names a user without roles.
        Some(c) if issuer.directory == Directory::Claims && claims.get(c).is_none() => {
            Some(Vec::new())
        }
        Some(c) => Some(
            claims
                .get(c)
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .map(|r| r.as_str().map(String::from))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| CredentialError::TokenMissingClaim(c.clone()))?,
        ),
    };
    // fail closed: a directory that does not say the account is active has not said so.
    let active = match &issuer.active_claim {
        None => None,
        Some(c) => Some(
            claims
                .get(c)
                .and_then(Value::as_bool)
                .ok_or_else(|| CredentialError::TokenMissingClaim(c.clone()))?,
        ),
    };
    // A purpose claim is optional in a token: without it the request declares one the
    // usual way (or gets its default). One that is there must be text.
    let purpose = match &issuer.purpose_claim {
        None => None,
        Some(c) => match claims.get(c) {
            None => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(_) => return Err(CredentialError::TokenMissingClaim(c.clone())),
        },
    };
    Ok(Verified {
        issuer: issuer.issuer.clone(),
        user,
        department,
        roles,
        active,
        directory: issuer.directory,
        purpose,
    })
}

fn malformed(kind: &ErrorKind) -> CredentialError {
    // The kind's name only: the library's messages may quote parts of the token.
    let what = match kind {
        ErrorKind::Base64(_) => "not base64url",
        ErrorKind::Json(_) => "not JSON",
        ErrorKind::Utf8(_) => "not UTF-8",
        ErrorKind::InvalidAlgorithmName => "unknown `alg`",
        _ => "not a compact JWS",
    };
    CredentialError::TokenMalformed(what.into())
}

fn classify(kind: &ErrorKind) -> CredentialError {
    match kind {
        ErrorKind::ExpiredSignature => CredentialError::TokenExpired,
        ErrorKind::ImmatureSignature => CredentialError::TokenNotYetValid,
        ErrorKind::InvalidAudience => CredentialError::TokenWrongAudience,
        ErrorKind::InvalidIssuer => CredentialError::TokenUnknownIssuer,
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => CredentialError::TokenBadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            CredentialError::TokenAlgorithm("mismatch".into())
        }
        ErrorKind::MissingRequiredClaim(c) | ErrorKind::InvalidClaimFormat(c) => {
            CredentialError::TokenMissingClaim(c.chars().take(32).collect())
        }
        other => malformed(other),
    }
}
