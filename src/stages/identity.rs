//! Stage 3, identify: who is calling.
//!
//! Three kinds of credential, exactly one per request: an mTLS client certificate verified
//! by the TLS stage ([`cert`]: subject → user, OU → department), an OIDC JWT bearer token
//! ([`jwt`]: signature via the issuer's JWKS, claims → user), or an API key (stored only as
//! a SHA-256 digest) for users and for `App` service accounts. Whatever the credential, the
//! principal it names must be in the entities file, of the right kind, and active; what the
//! credential says about department must agree with the directory — unless the token's
//! issuer is configured as the directory (`directory = "claims"`): then the token's claims
//! describe the user (department, roles, active flag), the user need not be in the entities
//! file, and the department must be one it declares. No credential, a bad
//! one, or two of them end the request before anything reaches the CRM. A credential never
//! appears in a log, an error or an audit record.

pub mod cert;
pub mod jwks;
pub mod jwt;

use std::sync::Arc;

use http::HeaderMap;

use crate::config::{api_key_digest, Config, Directory};
use crate::error::{CredentialError, RequestError};
use crate::policy::{PolicyEngine, PrincipalInfo};

pub use cert::ClientCert;

/// Which kind of principal a credential may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    App,
}

/// Identify the caller from the verified client certificate (if the connection has one)
/// and the request headers.
/// Who is calling, how they proved it, and the purpose their credential declares (a
/// service key bound to one purpose, a token's purpose claim), if it declares one.
#[derive(Debug)]
pub struct Identified {
    pub principal: Arc<PrincipalInfo>,
    /// `mtls`, `jwt` or `api_key`, for the audit record.
    pub credential: &'static str,
    pub purpose: Option<String>,
}

/// A credential that named a known principal, even if the request is then refused (an
/// inactive account, a department the directory contradicts): who asked, for the audit
/// record of the refusal. Never a reason to let anything through.
#[derive(Debug)]
pub struct Recognised {
    pub principal: Arc<PrincipalInfo>,
    pub credential: &'static str,
}

/// `recognised` is filled as soon as the credential is verified and names a known
/// principal, before the checks that may still refuse it.
pub async fn identify(
    headers: &HeaderMap,
    cert: Option<&ClientCert>,
    cfg: &Config,
    jwks: &jwks::IssuerKeys,
    engine: &PolicyEngine,
    recognised: &mut Option<Recognised>,
) -> Result<Identified, RequestError> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let authorization = values.next();
    if values.next().is_some() {
        return Err(RequestError::AmbiguousCredentials(
            "more than one Authorization header".into(),
        ));
    }
    let claim = match (cert, authorization) {
        (Some(_), Some(_)) => {
            // Two credentials are ambiguous: which one would the policy see?
            return Err(RequestError::AmbiguousCredentials(
                "a client certificate and an Authorization header: send one credential".into(),
            ));
        }
        (Some(c), None) => certificate_claim(c, cfg)?,
        (None, None) => {
            return Err(RequestError::Unauthenticated(
                "missing credentials: send a client certificate or `Authorization: Bearer <token>`"
                    .into(),
            ))
        }
        (None, Some(value)) => match bearer_claim(value, cfg, jwks, engine, recognised).await? {
            Bearer::Claim(claim) => claim,
            Bearer::Identified(identified) => return Ok(identified),
        },
    };
    admit(claim, engine, recognised)
}

/// What a verified credential says: the principal it names and what it claims about
/// them, still to be checked against the directory.
struct Claim {
    id: String,
    kind: Kind,
    /// What the credential claims the department is, and where it says so.
    departments: Option<(&'static str, Vec<String>)>,
    /// Roles from an issuer configured as their source: they replace the directory's.
    roles: Option<Vec<String>>,
    /// The kind of credential for the audit record: `mtls`, `jwt`, `api_key`.
    credential: &'static str,
    purpose: Option<String>,
}

/// A bearer credential's outcome: a claim about a directory principal, or (a token whose
/// issuer is the directory) the principal the token itself describes.
enum Bearer {
    Claim(Claim),
    Identified(Identified),
}

/// A verified client certificate: the user its subject maps to, its OUs as departments.
fn certificate_claim(c: &ClientCert, cfg: &Config) -> Result<Claim, RequestError> {
    let mapping = cfg.mtls.as_ref().map(|m| m.user_from).ok_or_else(|| {
        RequestError::Internal("a client certificate on a listener without mtls".into())
    })?;
    let user = c.user(mapping).ok_or(RequestError::Credential(
        CredentialError::CertificateUnmapped,
    ))?;
    Ok(Claim {
        id: user,
        kind: Kind::User,
        departments: Some(("certificate OU", c.ous.clone())),
        roles: None,
        credential: "mtls",
        purpose: None,
    })
}

/// An `Authorization: Bearer` credential: a JWT from a configured issuer, or an API key.
async fn bearer_claim(
    value: &http::HeaderValue,
    cfg: &Config,
    jwks: &jwks::IssuerKeys,
    engine: &PolicyEngine,
    recognised: &mut Option<Recognised>,
) -> Result<Bearer, RequestError> {
    // fail closed: a credential that is there but unusable is refused as such, never
    // treated as "no credential".
    let value = value
        .to_str()
        .map_err(|_| CredentialError::Malformed("not readable text"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(CredentialError::Malformed("unsupported scheme, use `Bearer`").into());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(CredentialError::Malformed("empty bearer credential").into());
    }
    if !cfg.jwt.is_empty() && jwt::looks_like_jwt(token) {
        let verified = jwt::verify(token, &cfg.jwt, jwks).await?;
        if verified.directory == Directory::Claims {
            let purpose = verified.purpose.clone();
            let principal = claims_principal(verified, engine, recognised)?;
            return Ok(Bearer::Identified(Identified {
                principal,
                credential: "jwt",
                purpose,
            }));
        }
        let departments = verified
            .department
            .map(|d| ("token's department claim", vec![d]));
        return Ok(Bearer::Claim(Claim {
            id: verified.user,
            kind: Kind::User,
            departments,
            roles: verified.roles,
            credential: "jwt",
            purpose: verified.purpose,
        }));
    }
    let digest = api_key_digest(token);
    let owner = cfg
        .api_keys
        .get(&digest)
        .ok_or(RequestError::Credential(CredentialError::UnknownApiKey))?;
    let kind = if cfg.app_keys.contains(owner) {
        Kind::App
    } else {
        Kind::User
    };
    Ok(Bearer::Claim(Claim {
        id: owner.clone(),
        kind,
        departments: None,
        roles: None,
        credential: "api_key",
        purpose: cfg.api_key_purposes.get(&digest).cloned(),
    }))
}

/// The claimed principal as the directory knows it: known, of the right kind, active, in
/// the department the credential claims (if it claims one).
fn admit(
    claim: Claim,
    engine: &PolicyEngine,
    recognised: &mut Option<Recognised>,
) -> Result<Identified, RequestError> {
    let Claim {
        id,
        kind,
        departments: claimed_departments,
        roles,
        credential,
        purpose,
    } = claim;
    let principal = engine
        .principal(&id)
        .filter(|p| {
            let t = p.uid.type_name().to_string();
            match kind {
                Kind::User => t == "User",
                Kind::App => t == "App",
            }
        })
        .ok_or_else(|| {
            RequestError::Credential(CredentialError::UnknownPrincipal(
                id.chars().take(64).collect(),
            ))
        })?;
    *recognised = Some(Recognised {
        principal: principal.clone(),
        credential,
    });
    if !principal.active {
        return Err(RequestError::InactivePrincipal(principal.id.clone()));
    }
    // The directory is authoritative; a credential that claims another department is
    // refused rather than silently corrected (it is stale or forged).
    if let Some((what, claimed)) = claimed_departments {
        if !claimed.is_empty()
            && !principal
                .department
                .as_ref()
                .is_some_and(|d| claimed.contains(d))
        {
            return Err(RequestError::Credential(
                CredentialError::AttributeMismatch(what),
            ));
        }
    }
    let principal = match roles {
        // The issuer is configured as the source of roles: its claim replaces the
        // directory's for this request.
        Some(roles) => engine
            .with_roles(principal, &roles)
            .map_err(RequestError::Internal)?,
        None => principal.clone(),
    };
    Ok(Identified {
        principal,
        credential,
        purpose,
    })
}

/// The principal a token describes itself (`directory = "claims"`): built from its claims
/// as the entities file would describe it, and then treated like any other principal.
fn claims_principal(
    verified: jwt::Verified,
    engine: &PolicyEngine,
    recognised: &mut Option<Recognised>,
) -> Result<Arc<PrincipalInfo>, RequestError> {
    // The issuer's configuration names all three claims for a claims directory, and
    // verification requires department and active.
    let (Some(department), Some(active)) = (verified.department, verified.active) else {
        return Err(RequestError::Internal(
            "a claims directory without its department or active claim".into(),
        ));
    };
    let roles = verified.roles.unwrap_or_default();
    let principal = engine
        .claims_principal(&verified.user, &department, &roles, active)
        .map_err(RequestError::Internal)?
        .ok_or_else(|| {
            // Departments stay declared: a token cannot invent one.
            RequestError::Credential(CredentialError::UnknownDepartment(
                department.chars().take(64).collect(),
            ))
        })?;
    *recognised = Some(Recognised {
        principal: principal.clone(),
        credential: "jwt",
    });
    if !principal.active {
        return Err(RequestError::InactivePrincipal(principal.id.clone()));
    }
    Ok(principal)
}
