//! Tests of the Salesforce demo's token endpoint over a real socket: client
//! credentials and JWT bearer grants, expiry, refusals, the bearer check. They must
//! never depend on crmgate.

use std::time::Duration;

use serde_json::{json, Value};

use super::salesforce::{assert_sf_error, start, Sf, V};
use super::Answer;
use crate::salesforce::SalesforceCrm;

async fn grant(sf: &Sf, secret: &str) -> Answer {
    let form =
        format!("grant_type=client_credentials&client_id=crmgate-demo&client_secret={secret}");
    sf.call(
        "POST",
        "/services/oauth2/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(&form),
    )
    .await
}

#[tokio::test]
async fn tokens_are_granted_to_the_client_and_expire() {
    let sf = start(
        SalesforceCrm::seeded()
            .with_oauth("s3cret")
            .with_token_ttl(Duration::from_millis(1500)),
    )
    .await;
    let url = format!("{V}/sobjects/Contact/003Dm0000001001");
    let none = sf.get(&url).await;
    assert_sf_error(&none, 401, "INVALID_SESSION_ID");
    assert_eq!(none.json[0]["message"], "Session expired or invalid");
    // Unauthenticated callers learn nothing about which resources exist.
    assert_sf_error(
        &sf.get(&format!("{V}/nothing/here")).await,
        401,
        "INVALID_SESSION_ID",
    );
    assert_eq!(sf.get("/services/data").await.status, 200);

    let bad = grant(&sf, "wrong").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json["error"], "invalid_client");
    assert_eq!(sf.crm.token_grants(), 0);
    let other = sf
        .call(
            "POST",
            "/services/oauth2/token",
            &[],
            Some("grant_type=password&client_id=crmgate-demo&client_secret=s3cret"),
        )
        .await;
    assert_eq!(other.json["error"], "unsupported_grant_type");

    let granted = grant(&sf, "s3cret").await;
    assert_eq!(granted.status, 200, "{}", granted.json);
    assert_eq!(sf.crm.token_grants(), 1);
    for key in [
        "access_token",
        "instance_url",
        "id",
        "issued_at",
        "signature",
        "scope",
    ] {
        assert!(
            granted.json[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key}"
        );
    }
    assert_eq!(granted.json["token_type"], "Bearer");
    assert_eq!(granted.json["instance_url"], "http://crm.test");
    let token = granted.json["access_token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");
    let read = sf
        .call("GET", &url, &[("authorization", &bearer)], None)
        .await;
    assert_eq!(read.status, 200);
    let wrong = sf
        .call(
            "GET",
            &url,
            &[("authorization", "Bearer 00Dxx!forged")],
            None,
        )
        .await;
    assert_sf_error(&wrong, 401, "INVALID_SESSION_ID");

    tokio::time::sleep(Duration::from_millis(1700)).await;
    let expired = sf
        .call("GET", &url, &[("authorization", &bearer)], None)
        .await;
    assert_sf_error(&expired, 401, "INVALID_SESSION_ID");
    let again = grant(&sf, "s3cret").await;
    assert_eq!(sf.crm.token_grants(), 2);
    let fresh = format!("Bearer {}", again.json["access_token"].as_str().unwrap());
    assert_ne!(fresh, bearer);
    assert_eq!(
        sf.call("GET", &url, &[("authorization", &fresh)], None)
            .await
            .status,
        200
    );
    sf.crm.expire_tokens();
    assert_eq!(
        sf.call("GET", &url, &[("authorization", &fresh)], None)
            .await
            .status,
        401
    );
    // Every request was recorded, the refused ones too.
    assert!(sf.crm.received().len() >= 10);
    assert!(!format!("{:?}", sf.crm).contains("s3cret"));
}

/// Base64 of `bytes`, standard with padding or URL-safe without.
fn base64(bytes: &[u8], url_safe: bool) -> String {
    let alphabet: &[u8] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0_u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
        }
        if !url_safe {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

#[tokio::test]
async fn jwt_bearer_assertions_signed_with_the_given_key_get_tokens() {
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = SystemRandom::new();
    let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
    // SubjectPublicKeyInfo of a P-256 key: the algorithm, the curve, the point.
    let mut spki = hex_bytes("3059301306072a8648ce3d020106082a8648ce3d030107034200");
    spki.extend_from_slice(pair.public_key().as_ref());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64(&spki, false)
    );
    let sf = start(
        SalesforceCrm::seeded()
            .with_oauth("unused-secret")
            .with_jwt_bearer_key(&pem)
            .unwrap(),
    )
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sign = |claims: Value| {
        let head = base64(br#"{"alg":"ES256","typ":"JWT"}"#, true);
        let body = base64(claims.to_string().as_bytes(), true);
        let message = format!("{head}.{body}");
        let signature = pair.sign(&rng, message.as_bytes()).unwrap();
        format!("{message}.{}", base64(signature.as_ref(), true))
    };
    let good = json!({"iss": "crmgate-demo", "sub": "integration@north.example", "aud": "https://login.salesforce.com", "exp": now + 180});
    let granted = jwt_grant(&sf, sign(good.clone())).await;
    assert_eq!(granted.status, 200, "{}", granted.json);
    assert_eq!(sf.crm.token_grants(), 1);
    let bearer = format!("Bearer {}", granted.json["access_token"].as_str().unwrap());
    let read = sf
        .call(
            "GET",
            &format!("{V}/sobjects/Account/001Dm0000002001"),
            &[("authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(read.status, 200);
    let mut expired = good.clone();
    expired["exp"] = json!(now - 1);
    let mut stranger = good.clone();
    stranger["iss"] = json!("someone-else");
    let mut tampered = sign(good.clone());
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    for (assertion, reason) in [
        (sign(expired), "expired authorization code"),
        (sign(stranger), "invalid client credentials"),
        (tampered, "invalid assertion signature"),
        ("not.a.jwt".to_string(), "invalid assertion"),
    ] {
        let refused = jwt_grant(&sf, assertion).await;
        assert_eq!(refused.status, 400);
        assert_eq!(refused.json["error"], "invalid_grant");
        assert_eq!(refused.json["error_description"], reason);
    }
    assert_eq!(sf.crm.token_grants(), 1);
    assert!(SalesforceCrm::seeded()
        .with_jwt_bearer_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
        .is_err());
}

async fn jwt_grant(sf: &Sf, assertion: String) -> Answer {
    let form = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
    );
    sf.call("POST", "/services/oauth2/token", &[], Some(&form))
        .await
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
