//! The console's own units: encodings, PKCE, templates, comparisons.
//!
//! Tests only; they must never weaken a check of the console.
#![allow(clippy::unwrap_used)]

use super::util::*;
use super::view::{self, Lang};

#[test]
fn base64url_matches_the_rfc_examples() {
    assert_eq!(b64url(b""), "");
    assert_eq!(b64url(b"f"), "Zg");
    assert_eq!(b64url(b"fo"), "Zm8");
    assert_eq!(b64url(b"foo"), "Zm9v");
    assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
    assert_eq!(b64(b"fo"), "Zm8=");
}

#[test]
fn pkce_s256_agrees_with_python_hashlib_and_urlsafe_b64() {
    use sha2::Digest;
    let v = "dBjftJeZ4CVP-mJ0kBauDDzKx6kJUJUSW6UBVXp_yqM";
    assert_eq!(
        b64url(&sha2::Sha256::digest(v.as_bytes())),
        "2xEbIiY5fVyYzG6yEl5oMu2Bi6k-piduGP_Z3Q872fw"
    );
}

#[test]
fn every_template_renders_and_escapes() {
    let ctx = minijinja::context! { lang => "en", w => view::words(Lang::En), heading => "<b>", message => "<script>", sign_in => true };
    let out = view::render("message.html", ctx).unwrap();
    assert!(out.contains("&lt;script&gt;") && !out.contains("<script>"));
}

#[test]
fn same_compares_whole_strings() {
    assert!(same("abc", "abc"));
    assert!(!same("abc", "abd"));
    assert!(!same("abc", "ab"));
}
