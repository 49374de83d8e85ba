//! Unit tests of the subject key; they must never accept a subject that names no record.

#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn a_subject_is_a_record_id_or_an_e_mail_address() {
    assert_eq!(
        Key::parse("contact/1001", "email").unwrap(),
        ("contact".into(), Key::Id("1001".into()))
    );
    assert_eq!(
        Key::parse("a.b@example.com", "email").unwrap(),
        (
            "contact".into(),
            Key::Lookup {
                property: "email".into(),
                value: "a.b@example.com".into()
            }
        )
    );
    assert!(Key::parse("1001", "email").is_err());
}
