//! A leaf of shared vocabulary: OIDC signing keys as a JWKS document describes them, and
//! the algorithms an issuer may be configured with.
//!
//! The configuration parses `jwks_file`s with it at start-up; the identity stage parses
//! fetched JWKS documents with it. It must never accept a symmetric key or the `none`
//! algorithm, and never import anything of the crate.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A public key of an issuer: the decoding key and the algorithm the JWKS binds it to.
/// (Public keys: printing them reveals nothing.)
#[derive(Debug, Clone)]
pub struct JwtKey {
    pub key: jsonwebtoken::DecodingKey,
    /// The JWK's `alg`, when it names one: a token must then use exactly this.
    pub alg: Option<jsonwebtoken::Algorithm>,
}

/// Algorithms an issuer may be configured with: asymmetric signatures only. `none` is not
/// among them, and HMAC is refused so that a public key can never be used as a shared secret
/// (the HS/RS confusion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum JwtAlgorithm {
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "RS384")]
    Rs384,
    #[serde(rename = "RS512")]
    Rs512,
    #[serde(rename = "PS256")]
    Ps256,
    #[serde(rename = "PS384")]
    Ps384,
    #[serde(rename = "PS512")]
    Ps512,
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "ES384")]
    Es384,
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl From<JwtAlgorithm> for jsonwebtoken::Algorithm {
    fn from(a: JwtAlgorithm) -> Self {
        use jsonwebtoken::Algorithm as A;
        match a {
            JwtAlgorithm::Rs256 => A::RS256,
            JwtAlgorithm::Rs384 => A::RS384,
            JwtAlgorithm::Rs512 => A::RS512,
            JwtAlgorithm::Ps256 => A::PS256,
            JwtAlgorithm::Ps384 => A::PS384,
            JwtAlgorithm::Ps512 => A::PS512,
            JwtAlgorithm::Es256 => A::ES256,
            JwtAlgorithm::Es384 => A::ES384,
            JwtAlgorithm::EdDsa => A::EdDSA,
        }
    }
}

/// An algorithm by name (a JWK's `alg`), accepted only if it is a [`JwtAlgorithm`].
pub fn parse_jwt_algorithm(name: &str) -> Result<jsonwebtoken::Algorithm, String> {
    use serde::de::value::{Error, StrDeserializer};
    JwtAlgorithm::deserialize(StrDeserializer::<Error>::new(name))
        .map(Into::into)
        .map_err(|_| {
            format!(
                "algorithm `{name}` is not accepted (asymmetric only: RS256, RS384, RS512, \
                 PS256, PS384, PS512, ES256, ES384, EdDSA)"
            )
        })
}

/// Parse a JWKS document: every key needs a unique `kid`; symmetric (`oct`) keys are refused.
/// Encryption keys (`use: enc`, or an encryption `alg` such as `RSA-OAEP`), which identity
/// providers publish next to their signing keys, are skipped: they never verify a token.
pub fn parse_jwks(text: &str) -> Result<BTreeMap<String, JwtKey>, String> {
    use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm, PublicKeyUse};
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWKS: {e}"))?;
    let mut keys = BTreeMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            return Err("a key has no `kid`".into());
        };
        if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
            return Err(format!("key `{kid}` is symmetric (`oct`): not accepted"));
        }
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption)
            || matches!(
                jwk.common.key_algorithm,
                Some(KeyAlgorithm::RSA1_5 | KeyAlgorithm::RSA_OAEP | KeyAlgorithm::RSA_OAEP_256)
            )
        {
            continue;
        }
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(a) => Some(
                parse_jwt_algorithm(&format!("{a:?}")).map_err(|m| format!("key `{kid}`: {m}"))?,
            ),
        };
        let key =
            jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| format!("key `{kid}`: {e}"))?;
        if keys.insert(kid.clone(), JwtKey { key, alg }).is_some() {
            return Err(format!("`kid` `{kid}` is used twice"));
        }
    }
    if keys.is_empty() {
        return Err("the JWKS has no keys".into());
    }
    Ok(keys)
}
