//! The notice store and its endpoint's reading of paths and `Accept`: a notice must never be
//! answered to anyone but its writer, after it expired or once it was evicted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;

fn notice(text: &str) -> NoticeText {
    NoticeText {
        language: "en".into(),
        text: text.into(),
        counts: [("health".to_string(), 2)].into(),
        records: vec!["101".into()],
    }
}

fn id_of(path: &str) -> &str {
    path.strip_prefix(NOTICE_PATH).unwrap()
}

#[test]
fn a_notice_is_answered_to_its_writer_only() {
    let store = NoticeStore::new(Duration::from_secs(60), 10);
    let path = store
        .issue("User::\"ada\"", notice("We removed <health> data."))
        .unwrap();
    let id = id_of(&path);
    assert_eq!(id.len(), 32);
    let json: serde_json::Value =
        serde_json::from_str(&store.read(id, "User::\"ada\"", Format::Json).unwrap()).unwrap();
    assert_eq!(json["categories"], serde_json::json!(["health"]));
    assert_eq!(json["counts"]["health"], 2);
    assert_eq!(json["record"], "101");
    assert_eq!(
        store.read(id, "User::\"bob\"", Format::Json),
        Err(Missing::Another)
    );
    let html = store.read(id, "User::\"ada\"", Format::Html).unwrap();
    assert!(html.contains("&lt;health&gt;"), "{html}");
    assert!(html.contains("lang=\"en\""), "{html}");
}

#[test]
fn two_notices_never_share_an_id() {
    let store = NoticeStore::new(Duration::from_secs(60), 10);
    let a = store.issue("u", notice("a")).unwrap();
    let b = store.issue("u", notice("b")).unwrap();
    assert_ne!(a, b);
}

#[test]
fn expired_malformed_and_evicted_notices_are_unknown() {
    let store = NoticeStore::new(Duration::from_millis(1), 10);
    let path = store.issue("u", notice("a")).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert!(store.read(id_of(&path), "u", Format::Text).is_err());
    assert!(store.is_empty());
    let store = NoticeStore::new(Duration::from_secs(60), 2);
    let first = store.issue("u", notice("a")).unwrap();
    let second = store.issue("u", notice("b")).unwrap();
    let third = store.issue("u", notice("c")).unwrap();
    assert_eq!(store.len(), 2);
    assert!(store.read(id_of(&first), "u", Format::Text).is_err());
    assert_eq!(
        store.read(id_of(&second), "u", Format::Text).unwrap(),
        "b\n"
    );
    assert_eq!(store.read(id_of(&third), "u", Format::Text).unwrap(), "c\n");
    for bad in ["", "zz", &"A".repeat(32), &"0".repeat(31), &"0".repeat(33)] {
        assert!(store.read(bad, "u", Format::Text).is_err(), "{bad}");
    }
}

#[test]
fn accept_chooses_json_text_or_html() {
    let cases = [
        (None, Format::Json),
        (Some("*/*"), Format::Json),
        (Some("application/json"), Format::Json),
        (Some("text/plain"), Format::Text),
        (Some("text/*"), Format::Text),
        (
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Format::Html,
        ),
        (
            Some("application/json;q=0.5, text/plain;q=0.9"),
            Format::Text,
        ),
        (Some("image/png"), Format::Json),
        (Some("text/html;q=0, */*"), Format::Json),
        (Some("TEXT/HTML"), Format::Html),
    ];
    for (accept, want) in cases {
        assert_eq!(format_for(accept), want, "{accept:?}");
    }
}

#[test]
fn only_the_notice_path_names_a_notice() {
    let seg = |p: &str| -> Vec<String> { p.split('/').skip(1).map(String::from).collect() };
    assert_eq!(notice_id(&seg("/crmgate/v1/notices/abc")), Some("abc"));
    assert_eq!(notice_id(&seg("/crmgate/v1/notices")), None);
    assert_eq!(notice_id(&seg("/crmgate/v2/notices/abc")), None);
    assert!(is_own(&seg("/crmgate/anything")));
    assert!(!is_own(&seg("/objects/contacts")));
}
