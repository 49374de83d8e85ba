//! Unit tests of the pipeline's own helpers (the audit path's pseudonyms). A test here must
//! never need a running CRM: the pipeline as a whole is tested in `tests/it`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::ctx::{audit_path, pseudonymised};
use crate::secret::Secret;
use crate::stages::filter::masks::HashKeys;
#[test]
fn audit_paths_pseudonymise_lookups_however_the_key_is_spelt() {
    let key = HashKeys::new(Secret::new("0123456789abcdef0123")).for_purpose("t");
    let by_id = |v: &str| !v.is_empty() && v != "hs_object_id";
    let path = "/crm/v3/objects/contacts/santa@northpole.example";
    let expected = pseudonymised(
        "/crm/v3/objects/contacts",
        "email",
        "santa@northpole.example",
        &key,
    );
    for q in [
        "idProperty=email",
        "properties=a,b&idProperty=email",
        "id%50roperty=email",
        "idProperty=&idProperty=email",
        "idProperty=hs_object_id&idProperty=email",
        "&&idProperty=email&",
        "idProperty=em%61il",
    ] {
        let got = audit_path(path, Some(q), &key, Some("idProperty"), &by_id);
        assert_eq!(got, expected, "{q}");
        assert!(!got.contains("santa"), "{q}");
    }
    for q in [
        "idProperty=",
        "idProperty=hs_object_id",
        "idproperty=email",
        "a=b",
    ] {
        assert_eq!(
            audit_path(path, Some(q), &key, Some("idProperty"), &by_id),
            path,
            "{q}"
        );
    }
    assert_eq!(
        audit_path(path, None, &key, Some("idProperty"), &by_id),
        path
    );
}
