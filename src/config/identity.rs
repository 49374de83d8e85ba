//! Start-up: the `[identity]` section: API keys (stored as SHA-256 digests), client
//! certificates (mTLS) and the trusted OIDC issuers with their keys.
//!
//! It must never store or print an API key itself (only its digest), accept a symmetric
//! JWT algorithm, or fetch keys over plain HTTP from anywhere but loopback. It holds no
//! live client: a `jwks_url` stays a URL with its rules, and the identity stage builds the
//! client at start-up.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::{RawApiKey, RawJwt, RawMtls, RawPurpose};
use super::{Directory, JwtIssuer, KeyOwner, KeySet, MtlsConfig, RemoteKeys};
use crate::diagnostic::Report;
use crate::jwk::parse_jwks;

/// The `identity.api_keys` entries, checked: digest → owner, digest → bound purpose, the
/// app keys and every owner with the line that names it.
#[derive(Default)]
pub(super) struct ApiKeys {
    pub(super) api_keys: HashMap<String, String>,
    pub(super) api_key_purposes: HashMap<String, String>,
    pub(super) app_keys: Vec<String>,
    pub(super) key_owners: Vec<KeyOwner>,
}

/// The typed `identity.api_keys`; a purpose a key is bound to must be in the registry.
pub(super) fn api_keys_from(
    raw: Vec<RawApiKey>,
    registry: &BTreeMap<String, RawPurpose>,
    r: &mut Report<'_>,
) -> ApiKeys {
    let mut keys = ApiKeys::default();
    for (i, k) in raw.into_iter().enumerate() {
        let at = format!("identity.api_keys.{i}");
        let (owner, is_app) = match (k.user, k.app) {
            (Some(u), None) => (u, false),
            (None, Some(a)) => (a, true),
            _ => {
                r.at(
                    &at,
                    "identity.api_keys: each key names exactly one of `user` or `app`".into(),
                );
                continue;
            }
        };
        let digest = k.sha256.to_ascii_lowercase();
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            r.at(
                &format!("{at}.sha256"),
                format!("identity.api_keys: `sha256` for `{owner}` is not a SHA-256 hex digest"),
            );
            continue;
        }
        if let Some(p) = &k.purpose {
            // Checked against the registry like `X-Purpose`; the owner's department or
            // app must also allow it, which the request's purpose stage checks.
            if !registry.contains_key(p) {
                r.at(
                    &format!("{at}.purpose"),
                    format!("identity.api_keys: purpose `{p}` of `{owner}`'s key is not in the registry"),
                );
                continue;
            }
            keys.api_key_purposes.insert(digest.clone(), p.clone());
        }
        if keys.api_keys.insert(digest, owner.clone()).is_some() {
            r.at(
                &format!("{at}.sha256"),
                format!("identity.api_keys: the key of `{owner}` is listed twice"),
            );
            continue;
        }
        keys.key_owners.push(KeyOwner {
            id: owner.clone(),
            app: is_app,
            at: format!("{at}.{}", if is_app { "app" } else { "user" }),
        });
        if is_app {
            keys.app_keys.push(owner);
        }
    }
    keys
}

/// The typed `identity.mtls`: client certificates need a TLS listener.
pub(super) fn mtls_from(
    raw: Option<RawMtls>,
    plaintext: bool,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> Option<MtlsConfig> {
    let mtls = raw.map(|m| MtlsConfig {
        client_ca: rel(&m.client_ca),
        mode: m.mode,
        crl: m.crl_file.map(|p| rel(&p)),
        user_from: m.user_from,
    });
    if mtls.is_some() && plaintext {
        r.at(
            "identity.mtls",
            "identity.mtls needs a TLS listener (it cannot work with plaintext = true)".into(),
        );
    }
    mtls
}

/// The typed `[[identity.jwt]]` issuers; an issuer listed twice is a problem.
pub(super) fn jwt_from(
    raw: Vec<RawJwt>,
    rel: &impl Fn(&Path) -> PathBuf,
    r: &mut Report<'_>,
) -> Vec<JwtIssuer> {
    let mut jwt: Vec<JwtIssuer> = Vec::new();
    for (i, j) in raw.into_iter().enumerate() {
        let at = format!("identity.jwt.{i}");
        match load_jwt_issuer(j, rel) {
            Err((key, m)) => r.at(&format!("{at}.{key}"), m),
            Ok(issuer) if jwt.iter().any(|x| x.issuer == issuer.issuer) => r.at(
                &format!("{at}.issuer"),
                format!("identity.jwt: issuer `{}` is listed twice", issuer.issuer),
            ),
            Ok(issuer) => jwt.push(issuer),
        }
    }
    jwt
}

/// A problem of one issuer: the key of its `[[identity.jwt]]` entry it is about.
type JwtProblem = (&'static str, String);

pub(super) fn load_jwt_issuer(
    j: RawJwt,
    rel: &impl Fn(&Path) -> PathBuf,
) -> Result<JwtIssuer, JwtProblem> {
    let at = |m: String| format!("identity.jwt `{}`: {m}", j.issuer);
    if j.issuer.is_empty() {
        return Err(("issuer", "identity.jwt: `issuer` is empty".into()));
    }
    if j.audience.is_empty() {
        return Err(("audience", at("`audience` needs at least one value".into())));
    }
    if j.algorithms.is_empty() {
        return Err((
            "algorithms",
            at("`algorithms` needs at least one value".into()),
        ));
    }
    let algorithms = j.algorithms.iter().map(|&a| a.into()).collect();
    if j.leeway_s > 300 {
        return Err((
            "leeway_s",
            at(format!(
                "`leeway_s` {} is more than 300 seconds",
                j.leeway_s
            )),
        ));
    }
    let keys = match (&j.jwks_file, &j.jwks_url) {
        (Some(file), None) => {
            let path = rel(file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                (
                    "jwks_file",
                    at(format!("cannot read jwks_file `{}`: {e}", path.display())),
                )
            })?;
            KeySet::Static(
                parse_jwks(&text)
                    .map_err(|m| ("jwks_file", at(format!("`{}`: {m}", path.display()))))?,
            )
        }
        (None, Some(url)) => {
            KeySet::Remote(remote_jwks(url, &j, rel).map_err(|m| ("jwks_url", at(m)))?)
        }
        _ => {
            return Err((
                "jwks_file",
                at("give exactly one of `jwks_file` or `jwks_url`".into()),
            ))
        }
    };
    // With the token as the directory, its claims are the attributes: each has a name.
    let (department_claim, roles_claim, active_claim) = match j.directory {
        Directory::Entities => {
            if j.active_claim.is_some() {
                return Err((
                    "active_claim",
                    at("`active_claim` needs `directory = \"claims\"`".into()),
                ));
            }
            (j.department_claim, j.roles_claim, None)
        }
        Directory::Claims => (
            Some(j.department_claim.unwrap_or_else(|| "department".into())),
            Some(j.roles_claim.unwrap_or_else(|| "roles".into())),
            Some(j.active_claim.unwrap_or_else(|| "active".into())),
        ),
    };
    Ok(JwtIssuer {
        issuer: j.issuer,
        audiences: j.audience,
        algorithms,
        keys,
        leeway_s: j.leeway_s,
        user_claim: j.user_claim,
        department_claim,
        roles_claim,
        directory: j.directory,
        active_claim,
        purpose_claim: j.purpose_claim,
    })
}

fn remote_jwks(
    url: &str,
    j: &RawJwt,
    rel: &impl Fn(&Path) -> PathBuf,
) -> Result<RemoteKeys, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("jwks_url `{url}`: {e}"))?;
    // Keys fetched in the clear could be swapped on the way: plain HTTP only on loopback.
    let loopback = uri
        .host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .is_some_and(|h| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if loopback => {}
        _ => {
            return Err(format!(
                "jwks_url `{url}` must be https:// (http:// only on loopback)"
            ))
        }
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = &j.jwks_ca_file {
        let ca = rel(ca);
        let certs = crate::pki::load_certs(&ca)?;
        for c in certs {
            roots
                .add(c)
                .map_err(|e| format!("jwks_ca_file `{}`: {e}", ca.display()))?;
        }
    }
    // The client itself is built at start-up by the identity stage; that it can be is
    // checked here, with the other problems of the file.
    crate::pki::https_connector(roots.clone(), "jwks")?;
    Ok(RemoteKeys {
        url: uri,
        max_age: Duration::from_secs(j.jwks_max_age_s),
        min_refresh: Duration::from_secs(j.jwks_min_refresh_s),
        roots,
    })
}
