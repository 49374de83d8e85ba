//! Unit tests of the configuration: problems at the line of their key, unknown keys,
//! JWKS and issuer rules, zero intervals. A test must never need a network or a secret of
//! the machine it runs on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::identity::load_jwt_issuer;
use super::raw::RawJwt;
use super::*;
use crate::jwk::{parse_jwks, parse_jwt_algorithm, JwtAlgorithm};
use std::path::Path;

#[test]
fn semantic_errors_name_the_line_of_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(dir.path().join("h"), "0123456789abcdef0123").unwrap();
    let text =
        "[listen]\naddr = \"x\"\nplaintext = true\n[upstream]\nurl = \"http://127.0.0.1:1\"\n\
                [policies]\nschema = \"s\"\npolicies = []\nentities = \"e\"\nroutes = \"r\"\n\
                [audit]\ndir = \"a\"\nsigning_key_file = \"k\"\n[masks]\nhash_key_file = \"h\"\n\
                [purposes.b]\ndescription = \"\"\nlegal_basis = \"\"\n\
                [departments.sales]\npurposes = [\"a\"]\ndefault = \"b\"\n";
    std::fs::write(&p, text).unwrap();
    let Problems(problems) = Config::load(&p).unwrap_err();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let got: Vec<(usize, &str)> = problems
        .iter()
        .map(|p| (p.line, p.message.as_str()))
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].0, line_of("addr = \"x\""), "{got:?}");
    assert_eq!(got[1].0, line_of("purposes = [\"a\"]"), "{got:?}");
    assert!(got[1].1.contains("unknown purpose `a`"), "{got:?}");
    assert_eq!(got[2].0, line_of("default = \"b\""), "{got:?}");
    assert!(got[2].1.contains("not among its purposes"), "{got:?}");
}

#[test]
fn symmetric_and_none_algorithms_are_refused() {
    for bad in ["none", "HS256", "HS512", "rs256"] {
        assert!(parse_jwt_algorithm(bad).is_err(), "{bad} was accepted");
    }
    assert!(parse_jwt_algorithm("ES256").is_ok());
}

#[test]
fn a_jwks_needs_kids_and_public_keys() {
    // A symmetric key in a JWKS would turn a public document into a signing secret.
    let oct = r#"{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}"#;
    assert!(parse_jwks(oct).unwrap_err().contains("symmetric"));
    let ec = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0""#;
    let no_kid = format!(r#"{{"keys":[{ec}}}]}}"#);
    assert!(parse_jwks(&no_kid).unwrap_err().contains("kid"));
    let twice = format!(r#"{{"keys":[{ec},"kid":"a"}},{ec},"kid":"a"}}]}}"#);
    assert!(parse_jwks(&twice).unwrap_err().contains("twice"));
    let hs = format!(r#"{{"keys":[{ec},"kid":"a","alg":"HS256"}}]}}"#);
    assert!(parse_jwks(&hs).is_err());
    let ok = format!(r#"{{"keys":[{ec},"kid":"a","alg":"ES256"}}]}}"#);
    let keys = parse_jwks(&ok).unwrap();
    assert_eq!(keys["a"].alg, Some(jsonwebtoken::Algorithm::ES256));
    // An encryption key next to the signing key is skipped, not an error.
    let with_enc =
        format!(r#"{{"keys":[{ec},"kid":"a","alg":"ES256"}},{ec},"kid":"e","use":"enc"}}]}}"#);
    let keys = parse_jwks(&with_enc).unwrap();
    assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["a"]);
}

#[test]
fn a_jwks_url_must_be_https_except_on_loopback() {
    let raw = |url: &str| RawJwt {
        issuer: "i".into(),
        audience: vec!["a".into()],
        algorithms: vec![JwtAlgorithm::Es256],
        jwks_file: None,
        jwks_url: Some(url.into()),
        jwks_max_age_s: 300,
        jwks_min_refresh_s: 10,
        jwks_ca_file: None,
        leeway_s: 30,
        user_claim: "sub".into(),
        department_claim: None,
        roles_claim: None,
        directory: Directory::Entities,
        active_claim: None,
        purpose_claim: None,
    };
    let rel = |p: &Path| p.to_path_buf();
    let (_, err) = load_jwt_issuer(raw("http://idp.example/jwks"), &rel).unwrap_err();
    assert!(err.contains("must be https://"), "{err}");
    assert!(load_jwt_issuer(raw("http://127.0.0.1:9/jwks"), &rel).is_ok());
    assert!(load_jwt_issuer(raw("https://idp.example/jwks"), &rel).is_ok());
    let mut both = raw("https://idp.example/jwks");
    both.jwks_file = Some("jwks.json".into());
    assert!(load_jwt_issuer(both, &rel)
        .unwrap_err()
        .1
        .contains("exactly one"));
}

#[test]
fn mtls_needs_a_tls_listener_and_a_known_mode() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(dir.path().join("k"), "0123456789abcdef0123").unwrap();
    let base = "[upstream]\nurl = \"http://127.0.0.1:1\"\n[policies]\nschema = \"s\"\n\
                policies = []\nentities = \"e\"\nroutes = \"r\"\n[audit]\ndir = \"a\"\n\
                signing_key_file = \"sk\"\n[masks]\nhash_key_file = \"k\"\n";
    let write = |listen: &str, mode: &str| {
        std::fs::write(
            &p,
            format!("[listen]\naddr = \"127.0.0.1:0\"\n{listen}\n{base}[identity.mtls]\nclient_ca = \"ca.pem\"\nmode = \"{mode}\"\n"),
        )
        .unwrap();
        Config::load(&p).map(|_| ()).unwrap_err().to_string()
    };
    assert!(write("plaintext = true", "required").contains("needs a TLS listener"));
    let err = write("tls_cert = \"c\"\ntls_key = \"k\"", "sometimes");
    assert!(err.contains("`sometimes`"), "{err}");
}

#[test]
fn audit_intervals_of_zero_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, "[listen]\naddr = \"127.0.0.1:0\"\nplaintext = true\n[upstream]\nurl = \"http://127.0.0.1:1\"\n[policies]\nschema = \"s\"\npolicies = []\nentities = \"e\"\nroutes = \"r\"\n[audit]\ndir = \"a\"\nsigning_key_file = \"k\"\ncheckpoint_every = 0\n[masks]\nhash_key_file = \"h\"\n").unwrap();
    std::fs::write(dir.path().join("h"), "0123456789abcdef0123").unwrap();
    let err = Config::load(&p).unwrap_err().to_string();
    assert!(err.contains("checkpoint_every"), "{err}");
}

#[test]
fn unknown_keys_are_rejected_with_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(
        &p,
        "[listen]\naddr = \"127.0.0.1:0\"\nplaintext = true\nplaintxt = true\n",
    )
    .unwrap();
    let err = Config::load(&p).unwrap_err().to_string();
    assert!(err.contains(":4:"), "{err}");
    assert!(err.contains("plaintxt"), "{err}");
}

/// A config whose `[upstream]` table ends with `oauth` (TOML lines), loaded with `env`;
/// the problems (line, message), or none.
fn load_oauth(dir: &Path, oauth: &str, env: &[(&str, &str)]) -> Vec<(usize, String)> {
    let p = dir.join("c.toml");
    std::fs::write(dir.join("h"), "0123456789abcdef0123").unwrap();
    let text = format!(
        "[listen]\naddr = \"127.0.0.1:0\"\nplaintext = true\n[upstream]\nurl = \"http://127.0.0.1:1\"\n\
         {oauth}\n[policies]\nschema = \"s\"\npolicies = []\nentities = \"e\"\nroutes = \"r\"\n\
         [audit]\ndir = \"a\"\nsigning_key_file = \"k\"\n[masks]\nhash_key_file = \"h\"\n"
    );
    std::fs::write(&p, text).unwrap();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match Config::load_with_env(&p, |n| {
        env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
    }) {
        Ok(c) => {
            assert!(c.upstream.oauth.is_some());
            Vec::new()
        }
        Err(Problems(ps)) => ps.into_iter().map(|p| (p.line, p.message)).collect(),
    }
}

#[test]
fn an_oauth_grant_is_checked_at_the_line_of_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let cc = "[upstream.oauth]\ntoken_url = \"https://login.example/services/oauth2/token\"\n\
              grant = \"client_credentials\"\nclient_id = \"3MVG9\"\nclient_secret_env = \"S\"";
    assert!(load_oauth(dir.path(), cc, &[("S", "secret-value")]).is_empty());
    // The secret's variable is not set: at its line (line 10), never its value.
    let got = load_oauth(dir.path(), cc, &[]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, 10, "{got:?}");
    assert!(got[0].1.contains("`S` is not set"), "{got:?}");
    // An unknown key, a grant of the wrong kind, plain HTTP off loopback.
    let got = load_oauth(
        dir.path(),
        &format!("{cc}\ntoken_tll_s = 60"),
        &[("S", "x")],
    );
    assert!(got[0].1.contains("token_tll_s"), "{got:?}");
    assert_eq!(got[0].0, 11, "{got:?}");
    let got = load_oauth(
        dir.path(),
        &cc.replace("client_credentials", "password"),
        &[],
    );
    assert_eq!(got[0].0, 8, "{got:?}");
    let got = load_oauth(
        dir.path(),
        &cc.replace("https://login", "http://login"),
        &[("S", "x")],
    );
    assert!(got[0].1.contains("must be https://"), "{got:?}");
    // A JWT bearer grant needs its key and subject, and its key must sign.
    let jwt = "[upstream.oauth]\ntoken_url = \"https://login.example/services/oauth2/token\"\n\
               grant = \"jwt_bearer\"\nclient_id = \"3MVG9\"\nsubject = \"integration@example\"\n\
               private_key_file = \"sf.key\"";
    std::fs::write(dir.path().join("sf.key"), "not a key").unwrap();
    let got = load_oauth(dir.path(), jwt, &[]);
    assert_eq!(got[0].0, 11, "{got:?}");
    let key = rcgen::KeyPair::generate().unwrap();
    std::fs::write(dir.path().join("sf.key"), key.serialize_pem()).unwrap();
    assert!(load_oauth(dir.path(), jwt, &[]).is_empty());
    let got = load_oauth(
        dir.path(),
        &jwt.replace("subject = \"integration@example\"\n", ""),
        &[],
    );
    assert!(
        got[0].1.contains("needs private_key_file and subject"),
        "{got:?}"
    );
}

#[test]
fn a_static_credential_and_an_oauth_grant_are_not_both_given() {
    let dir = tempfile::tempdir().unwrap();
    let both = "credential_env = \"T\"\n[upstream.oauth]\ntoken_url = \"http://127.0.0.1:9/t\"\n\
                grant = \"client_credentials\"\nclient_id = \"c\"\nclient_secret_env = \"S\"";
    let got = load_oauth(dir.path(), both, &[("S", "x"), ("T", "y")]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].1.contains("not both"), "{got:?}");
}

#[test]
#[allow(clippy::panic)]
fn a_jwt_bearer_assertion_names_client_subject_and_audience() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    std::fs::write(dir.path().join("sf.key"), key.serialize_pem()).unwrap();
    let jwt = "[upstream.oauth]\ntoken_url = \"https://login.example/services/oauth2/token\"\n\
               grant = \"jwt_bearer\"\nclient_id = \"3MVG9\"\nsubject = \"integration@example\"\n\
               private_key_file = \"sf.key\"";
    assert!(load_oauth(dir.path(), jwt, &[]).is_empty());
    let c = Config::load(&dir.path().join("c.toml")).unwrap();
    let oauth = c.upstream.oauth.unwrap();
    let OAuthGrant::JwtBearer(a) = oauth.grant else {
        panic!("a JWT bearer grant")
    };
    assert_eq!(a.algorithm, jsonwebtoken::Algorithm::ES256);
    let token = a.sign("3MVG9", 1_765_000_000).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&["https://login.example"]);
    v.validate_exp = false;
    let public = jsonwebtoken::DecodingKey::from_ec_der(key.public_key_raw());
    let claims = jsonwebtoken::decode::<serde_json::Value>(&token, &public, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["iss"], "3MVG9");
    assert_eq!(claims["sub"], "integration@example");
    assert_eq!(claims["exp"], 1_765_000_180);
}

/// A notice kept for no time, or a store of no notices, would make every notice unreadable:
/// zero is a problem at its line; an unknown key of `[notices]` is one too.
#[test]
fn notices_of_zero_and_unknown_notice_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(dir.path().join("h"), "0123456789abcdef0123").unwrap();
    let base = "[listen]\naddr = \"127.0.0.1:0\"\nplaintext = true\n[upstream]\nurl = \"http://127.0.0.1:1\"\n[policies]\nschema = \"s\"\npolicies = []\nentities = \"e\"\nroutes = \"r\"\n[audit]\ndir = \"a\"\nsigning_key_file = \"k\"\n[masks]\nhash_key_file = \"h\"\n";
    std::fs::write(
        &p,
        format!("{base}[notices]\nttl_ms = 0\nmax_entries = 0\n"),
    )
    .unwrap();
    let err = Config::load(&p).unwrap_err().to_string();
    assert!(err.contains("notices.ttl_ms must be at least 1"), "{err}");
    assert!(
        err.contains("notices.max_entries must be at least 1"),
        "{err}"
    );
    std::fs::write(&p, format!("{base}[notices]\nttl = 5\n")).unwrap();
    let err = Config::load(&p).unwrap_err().to_string();
    assert!(err.contains("ttl"), "{err}");
    std::fs::write(&p, format!("{base}[notices]\nttl_ms = 5\n")).unwrap();
    let cfg = Config::load(&p).unwrap();
    assert_eq!(cfg.notices.ttl, Duration::from_millis(5));
    assert_eq!(cfg.notices.max_entries, 10_000);
}
