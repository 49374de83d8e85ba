//! The person is told: a redacted write leaves a notice its writer can fetch from crmgate's
//! own endpoint (in the language of the input, with the kinds removed, never a value), for
//! a bounded time, and to nobody else. Also every encoding and field the redaction must
//! read, through a real write whose upstream shows what it received, and that a redacted
//! body never exceeds the limit once its intent is logged.

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};

use crate::support::{audit_entries, Options, Proxy, Reply};

const CONTACTS: &str = "/crm/v3/objects/contacts";
const URL_HEADER: &str = "x-crmgate-redaction-notice-url";

/// A prospect with an e-mail address of its own (the CRM refuses a second contact with
/// the same one).
fn prospect(firstname: &str, city: &str, wish: &str) -> Value {
    static N: AtomicUsize = AtomicUsize::new(0);
    let email = format!("ada.frost{}@example.org", N.fetch_add(1, Ordering::Relaxed));
    json!({"properties": {
        "firstname": firstname, "lastname": "Frost", "email": email,
        "lifecyclestage": "lead", "wish_text": wish, "consent_marketing": "true",
        "city": city
    }})
}

/// The wish-list form writes a prospect; its answer.
async fn write(proxy: &Proxy, firstname: &str, city: &str, wish: &str) -> Reply {
    let r = proxy
        .post(CONTACTS, "wishlist", None, prospect(firstname, city, wish))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r
}

fn notice_url(r: &Reply) -> String {
    r.headers
        .get(URL_HEADER)
        .unwrap_or_else(|| panic!("no notice header: {:?}", r.headers))
        .to_str()
        .unwrap()
        .to_string()
}

async fn fetch(proxy: &Proxy, url: &str, key: &str, accept: Option<&str>) -> Reply {
    let auth = format!("Bearer demo-key-{key}");
    let mut headers = vec![("authorization", auth.as_str())];
    if let Some(a) = accept {
        headers.push(("accept", a));
    }
    proxy.get_headers(url, &headers).await
}

/// The properties of the last create the CRM received.
fn received_properties(proxy: &Proxy) -> serde_json::Map<String, Value> {
    let received = proxy.crm().received();
    let create = received
        .iter()
        .rev()
        .find(|r| r.method == "POST" && r.path_and_query == CONTACTS)
        .expect("the CRM received the create");
    let body: Value = serde_json::from_slice(&create.body).unwrap();
    body["properties"].as_object().unwrap().clone()
}

/// A problem body with its request id taken out (as is, and as the vendor's correlation
/// id spells it): what a caller could compare.
fn without_request_id(r: &Reply) -> String {
    let id = r.headers["x-request-id"].to_str().unwrap();
    let uuid = uuid::Uuid::parse_str(id).unwrap().hyphenated().to_string();
    r.text().replace(id, "<id>").replace(&uuid, "<id>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_fetches_its_notice_in_the_language_of_the_input_without_a_value() {
    let proxy = Proxy::start().await;
    let de = write(
        &proxy,
        "Ada",
        "Köln",
        "Ich habe Diabetes und wünsche mir ein Puzzle. IBAN DE89 3704 0044 0532 0130 00",
    )
    .await;
    let url = notice_url(&de);
    let id = url.strip_prefix("/crmgate/v1/notices/").expect(&url);
    assert_eq!(id.len(), 32, "128 bits as hex: {id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    // The header with the text stays, for applications that read it.
    assert!(de.headers.contains_key("x-crmgate-redaction-notice"));
    let created = de.json()["id"].as_str().unwrap().to_string();

    let r = fetch(&proxy, &url, "wishlist", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["cache-control"], "private, no-store");
    let n = r.json();
    assert_eq!(n["language"], "de", "{n}");
    assert_eq!(n["categories"], json!(["health", "iban"]), "{n}");
    assert_eq!(n["counts"], json!({"health": 1, "iban": 1}), "{n}");
    assert_eq!(n["record"], json!(created), "{n}");
    let text = n["text"].as_str().unwrap();
    assert!(
        text.contains("Gesundheit") && text.contains("IBAN"),
        "{text}"
    );
    assert!(n["expires_at"].as_str().unwrap().ends_with('Z'), "{n}");
    for value in ["Diabetes", "Puzzle", "3704", "0532", "DE89"] {
        assert!(!r.text().contains(value), "{value} in {}", r.text());
    }

    let en = write(
        &proxy,
        "Ada",
        "Leeds",
        "My son has asthma and he would like a red bike, please.",
    )
    .await;
    let url_en = notice_url(&en);
    assert_ne!(url, url_en);
    let n = fetch(&proxy, &url_en, "wishlist", None).await.json();
    assert_eq!(n["language"], "en", "{n}");
    assert_eq!(n["categories"], json!(["health"]), "{n}");
    assert!(n["text"].as_str().unwrap().contains("health"), "{n}");
    assert!(!n.to_string().contains("asthma"), "{n}");

    // As plain text and as HTML, by Accept.
    let plain = fetch(&proxy, &url_en, "wishlist", Some("text/plain")).await;
    assert_eq!(plain.status, 200);
    assert!(plain.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(plain.text().trim(), n["text"].as_str().unwrap());
    let html = fetch(
        &proxy,
        &url,
        "wishlist",
        Some("text/html,application/xhtml+xml,*/*;q=0.8"),
    )
    .await;
    assert_eq!(html.status, 200);
    assert!(html.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(
        html.text().contains("<html lang=\"de\">"),
        "{}",
        html.text()
    );
    assert!(html.headers.contains_key("content-security-policy"));
    assert!(!html.text().contains("Diabetes"));
    // The notice endpoint is crmgate's own: nothing of it reached the CRM.
    assert!(proxy
        .crm()
        .received()
        .iter()
        .all(|r| !r.path_and_query.contains("crmgate")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_identity_gets_the_same_404_as_an_unknown_id() {
    let proxy = Proxy::start().await;
    let r = write(
        &proxy,
        "Ada",
        "Bonn",
        "Opa hat Krebs, er wünscht sich Socken.",
    )
    .await;
    let url = notice_url(&r);
    let theirs = fetch(&proxy, &url, "noelle", None).await;
    let unknown = fetch(
        &proxy,
        "/crmgate/v1/notices/0123456789abcdef0123456789abcdef",
        "noelle",
        None,
    )
    .await;
    let malformed = fetch(&proxy, "/crmgate/v1/notices/nothing", "noelle", None).await;
    assert_eq!(theirs.status, 404, "{}", theirs.text());
    for other in [&unknown, &malformed] {
        assert_eq!(other.status, 404);
        assert_eq!(without_request_id(other), without_request_id(&theirs));
        let names = |r: &Reply| {
            let mut n: Vec<String> = r.headers.keys().map(|k| k.to_string()).collect();
            n.sort();
            n
        };
        assert_eq!(names(other), names(&theirs));
        assert_eq!(
            other.headers["content-type"],
            theirs.headers["content-type"]
        );
    }
    // Without a credential: the same 401 as anywhere.
    let anonymous = proxy.get_headers(&url, &[]).await;
    assert_eq!(anonymous.status, 401);
    // The writer still gets it.
    assert_eq!(fetch(&proxy, &url, "wishlist", None).await.status, 200);
    // The record tells the two apart (the caller never can).
    assert_eq!(proxy.audit_of(&theirs)["decision"], "deny");
    assert_eq!(proxy.audit_of(&unknown)["decision"], "allow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_notice_is_not_found() {
    let proxy = Proxy::start_with(Options {
        extra_config: "[notices]\nttl_ms = 400\n".into(),
        ..Options::default()
    })
    .await;
    let r = write(&proxy, "Ada", "Bonn", "She has cancer, a book please.").await;
    let url = notice_url(&r);
    assert_eq!(fetch(&proxy, &url, "wishlist", None).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let late = fetch(&proxy, &url, "wishlist", None).await;
    assert_eq!(late.status, 404, "{}", late.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_notice_is_evicted_past_the_cap() {
    let proxy = Proxy::start_with(Options {
        extra_config: "[notices]\nmax_entries = 2\n".into(),
        ..Options::default()
    })
    .await;
    let mut urls = Vec::new();
    for wish in [
        "He has asthma.",
        "She has diabetes.",
        "He has cancer, a kite please.",
    ] {
        urls.push(notice_url(&write(&proxy, "Ada", "Leeds", wish).await));
    }
    assert_eq!(fetch(&proxy, &urls[0], "wishlist", None).await.status, 404);
    assert_eq!(fetch(&proxy, &urls[1], "wishlist", None).await.status, 200);
    assert_eq!(fetch(&proxy, &urls[2], "wishlist", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unredacted_write_has_no_notice() {
    let proxy = Proxy::start().await;
    let r = write(&proxy, "Ada", "Bonn", "Ein rotes Fahrrad, bitte.").await;
    assert!(!r.headers.contains_key(URL_HEADER), "{:?}", r.headers);
    assert!(!r.headers.contains_key("x-crmgate-redaction-notice"));
    assert!(!r.headers.contains_key("x-crmgate-redacted"));
    assert!(proxy.audit_of(&r).get("notice").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_get_reads_a_notice_and_nothing_under_crmgates_prefix_is_forwarded() {
    let proxy = Proxy::start().await;
    let r = write(&proxy, "Ada", "Bonn", "Er hat Diabetes.").await;
    let url = notice_url(&r);
    proxy.crm().clear_received();
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let body = (method != "DELETE").then(|| json!({}));
        let r = proxy
            .request(method, &url, Some("wishlist"), None, body)
            .await;
        assert_eq!(r.status, 405, "{method}: {}", r.text());
    }
    for path in [
        "/crmgate/v1/notices",
        "/crmgate/v1/other/abc",
        "/crmgate/v2/notices/0123456789abcdef0123456789abcdef",
        "/crmgate",
    ] {
        let r = proxy.get(path, "wishlist", None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
    }
    let q = proxy
        .get(&format!("{url}?archived=true"), "wishlist", None)
        .await;
    assert_eq!(q.status, 400, "{}", q.text());
    assert!(
        proxy.crm().received().is_empty(),
        "{:?}",
        proxy.crm().received()
    );
    // Still there for its writer.
    assert_eq!(fetch(&proxy, &url, "wishlist", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_notice_is_audited_and_the_write_names_its_notice() {
    let proxy = Proxy::start().await;
    let w = write(
        &proxy,
        "Ada",
        "Bonn",
        "Oma hat Rheuma, sie wünscht sich Tee.",
    )
    .await;
    let url = notice_url(&w);
    let write_record = proxy.audit_of(&w);
    assert_eq!(write_record["notice"], json!(url), "{write_record}");
    let r = fetch(&proxy, &url, "wishlist", Some("text/plain")).await;
    assert_eq!(r.status, 200);
    let rec = proxy.audit_of(&r);
    assert_eq!(rec["path"], json!(url), "{rec}");
    assert_eq!(rec["method"], "GET");
    assert_eq!(rec["route"], "crmgate.notice", "{rec}");
    assert_eq!(rec["action"], "read_notice", "{rec}");
    assert_eq!(rec["principal"], "wishlist_form", "{rec}");
    assert_eq!(rec["decision"], "allow", "{rec}");
    assert_eq!(rec["status"], 200);
    assert!(!rec.to_string().contains("Rheuma"), "{rec}");
}

/// Each encoding the detector normalises, through a real write: the CRM never receives the
/// term in any spelling, and the notice counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_encoding_is_blacked_out_before_the_crm_stores_it() {
    let proxy = Proxy::start().await;
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "Er hat Diab&#101;tes, sagt Oma.",
            "health",
            &["Diab&#101;tes"],
        ),
        ("He has &#x63;ancer, says mum.", "health", &["&#x63;ancer"]),
        (
            "Er hat Dia&shy;betes, sagt Oma.",
            "health",
            &["Dia&shy;betes"],
        ),
        (
            "She has Dia<b></b>betes, says mum.",
            "health",
            &["Dia<b></b>betes", "betes"],
        ),
        (
            "She has Diabe\u{301}tes, says mum.",
            "health",
            &["Diabe\u{301}tes", "tes"],
        ),
        (
            "He has c.a.n.c.e.r now, says mum.",
            "health",
            &["c.a.n.c.e.r"],
        ),
        (
            "Er hat D-i-a-b-e-t-e-s, sagt Oma.",
            "health",
            &["D-i-a-b-e-t-e-s"],
        ),
        (
            "He has C A N C E R now, says mum.",
            "health",
            &["C A N C E R"],
        ),
        (
            "Bitte buchen Sie von DE89&nbsp;3704&nbsp;0044&nbsp;0532&nbsp;0130&nbsp;00 ab.",
            "iban",
            &["0532", "3704"],
        ),
        (
            "Bitte buchen Sie von DE89 37O4 OO44 O532 O13O OO ab.",
            "iban",
            &["37O4", "O532"],
        ),
        (
            "Bitte buchen Sie von DE89/3704/0044/0532/0130/00 ab.",
            "iban",
            &["0532", "3704"],
        ),
        (
            "Bitte buchen Sie von DE89.3704.0044.0532.0130.00 ab.",
            "iban",
            &["0532", "3704"],
        ),
        (
            "Please charge 4111/1111/1111/1111 for it.",
            "card",
            &["1111"],
        ),
        (
            "Please charge 4111.1111.1111.1111 for it.",
            "card",
            &["1111"],
        ),
        (
            "Please charge 4l11 1111 1111 1111 for it.",
            "card",
            &["1111", "4l11"],
        ),
        (
            "Please charge 4111 1111 1111 1111, cvc 123 for it.",
            "card",
            &["1111", "123"],
        ),
    ];
    let mut failed = Vec::new();
    for (wish, category, gone) in cases {
        let r = proxy
            .post(CONTACTS, "wishlist", None, prospect("Ada", "Bonn", wish))
            .await;
        assert_eq!(r.status, 201, "{wish}: {}", r.text());
        let stored = received_properties(&proxy)["wish_text"]
            .as_str()
            .unwrap()
            .to_string();
        let counted = r
            .headers
            .get("x-crmgate-redacted")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains(&format!("wish_text={category}:")));
        if !counted || gone.iter().any(|g| stored.contains(g)) {
            failed.push(format!("{wish:?} stored as {stored:?}"));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
    // A look-alike counts only where the checksum confirms it: one digit off, and the text
    // is stored as written, with no notice.
    let wish = "Die Nummer DE89 37O4 OO44 O532 O13O O1 steht auf dem Paket.";
    let r = proxy
        .post(CONTACTS, "wishlist", None, prospect("Ada", "Bonn", wish))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(!r.headers.contains_key(URL_HEADER), "{:?}", r.headers);
    assert_eq!(received_properties(&proxy)["wish_text"], wish);
}

/// Identifiers are looked for in every string property, not only free text: an IBAN, a card
/// number, a German tax id in a first name, a salutation, an address or a city never reach
/// the CRM, and the notice names them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_in_any_string_property_are_blacked_out() {
    let proxy = Proxy::start().await;
    let body = json!({"properties": {
        "firstname": "Ada 4111 1111 1111 1111", "lastname": "Frost",
        "salutation": "Frau DE89 3704 0044 0532 0130 00",
        "address": "Hauptstr. 1, IBAN GB82 WEST 1234 5698 7654 32",
        "city": "Köln DE89/3704/0044/0532/0130/00",
        "email": "ada.frost@example.org", "lifecyclestage": "lead",
        "wish_text": "Ein Puzzle, bitte.", "consent_marketing": "true"
    }});
    let r = proxy.post(CONTACTS, "wishlist", None, body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let props = received_properties(&proxy);
    for (field, gone) in [
        ("firstname", "1111"),
        ("salutation", "3704"),
        ("address", "5698"),
        ("city", "0532"),
    ] {
        let v = props[field].as_str().unwrap();
        assert!(!v.contains(gone), "{field} stored as {v:?}");
    }
    assert_eq!(props["email"], "ada.frost@example.org");
    let n = fetch(&proxy, &notice_url(&r), "wishlist", None)
        .await
        .json();
    assert_eq!(n["categories"], json!(["card", "iban"]), "{n}");
    assert_eq!(n["counts"]["iban"], 3, "{n}");
}

/// Markers are usually longer than what they replace. Writes around the limit: each either
/// reaches the CRM with a body within the limit after its intent was logged, or is refused
/// 413 with no intent logged and nothing sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redacted_body_is_within_the_limit_whenever_its_intent_was_logged() {
    let limit = 1400;
    let proxy = Proxy::start_with(Options {
        extra_config: format!("[limits]\nmax_request_body_bytes = {limit}\n"),
        ..Options::default()
    })
    .await;
    let (mut sent, mut refused) = (0, 0);
    for n in (0..=120).step_by(8) {
        // Sentences, not a list: findings joined by commas merge into one marker.
        let wish = format!("Wir wünschen uns Tee. {}", "HIV. ".repeat(n));
        let body = prospect("Ada", "Bonn", &wish);
        if body.to_string().len() > limit {
            continue;
        }
        proxy.crm().clear_received();
        let r = proxy.post(CONTACTS, "wishlist", None, body).await;
        let request_id = r.headers["x-request-id"].to_str().unwrap().to_string();
        let intents = audit_entries(&proxy.audit_dir())
            .into_iter()
            .filter(|e| e["kind"] == "write_intent" && e["request_id"] == json!(request_id))
            .count();
        let creates: Vec<usize> = proxy
            .crm()
            .received()
            .iter()
            .filter(|r| r.method == "POST" && r.path_and_query == CONTACTS)
            .map(|r| r.body.len())
            .collect();
        match r.status {
            201 => {
                sent += 1;
                assert_eq!(intents, 1, "n={n}");
                assert_eq!(creates.len(), 1, "n={n}");
                assert!(creates[0] <= limit, "n={n}: {} bytes sent", creates[0]);
            }
            413 => {
                refused += 1;
                assert_eq!(intents, 0, "n={n}: an intent was logged");
                assert!(creates.is_empty(), "n={n}: {creates:?}");
                assert!(!r.text().contains("HIV"));
            }
            s => panic!("n={n}: {s} {}", r.text()),
        }
    }
    assert!(sent > 0 && refused > 0, "sent {sent}, refused {refused}");
}

/// The notice is crmgate's, not the vendor's: in front of the other vendor's CRM the same
/// endpoint answers, with that vendor's 404 for anyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notice_works_in_front_of_either_vendor() {
    let sf = crate::sf_writes::Sf::start().await;
    let body = json!({
        "attributes": {"type": "Contact"},
        "FirstName": "Ada", "LastName": "Frost", "Email": "ada.notice@example.org",
        "Lifecycle__c": "lead", "Consent_Marketing__c": true,
        "Wish_Text__c": "My daughter has epilepsy, so no flashing lights please."
    });
    let r = sf
        .send("POST", "/sobjects/Contact", "wishlist", Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let url = notice_url(&r);
    let n = fetch(&sf.proxy, &url, "wishlist", None).await;
    assert_eq!(n.status, 200, "{}", n.text());
    let n = n.json();
    assert_eq!(n["language"], "en", "{n}");
    assert_eq!(n["categories"], json!(["health"]), "{n}");
    assert_eq!(n["record"], r.json()["id"], "{n}");
    assert!(!n.to_string().contains("epilepsy"), "{n}");
    let theirs = fetch(&sf.proxy, &url, "noelle", None).await;
    let unknown = fetch(
        &sf.proxy,
        "/crmgate/v1/notices/0123456789abcdef0123456789abcdef",
        "noelle",
        None,
    )
    .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(without_request_id(&theirs), without_request_id(&unknown));
    assert!(sf
        .crm
        .received()
        .iter()
        .all(|r| !r.path_and_query.contains("crmgate")));
}
