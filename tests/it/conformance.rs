//! Conformance with public material in `../shared/`: the vendor's published API and a JSON
//! parser test corpus.

use std::path::PathBuf;

use crmgate::stages::vendor::Vendor;
use serde_json::{json, Value};

use crate::support::{http_response, repo, Options, Proxy, RawUpstream, Upstream};

/// `shared/` beside the clone (as CI lays it out), or where `CRMGATE_SHARED` points. A
/// user's fresh clone has no `shared/`: the test is skipped there with a note. Under
/// `CI=true` it is required, and its absence fails the test.
pub fn shared(test: &str) -> Option<PathBuf> {
    let found = [
        std::env::var_os("CRMGATE_SHARED").map(PathBuf::from),
        Some(repo().join("../shared")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("vendor/hubspot").is_dir());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: ../shared/ (vendor specs, JSON test suite) is required under CI=true; set CRMGATE_SHARED"
        );
        eprintln!("note: {test} skipped: ../shared/ is not beside this clone (set CRMGATE_SHARED to run it)");
    }
    found
}

/// HubSpot's published spec of `object` (`contacts`, `companies`).
fn vendor_spec(shared: &std::path::Path, object: &str) -> Value {
    let text =
        std::fs::read_to_string(shared.join(format!("vendor/hubspot/{object}-v3.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The schema the spec gives the answer of `method path` with `status` (the operation's
/// `default`, HubSpot's `Error`, for a status it does not list); `None` for an answer
/// without a body (204).
fn answer_schema(spec: &Value, method: &str, path: &str, status: u16) -> Option<Value> {
    let op = &spec["paths"][path][method.to_ascii_lowercase()];
    assert!(
        op.is_object(),
        "`{method} {path}` is not an operation of the spec"
    );
    let response = op["responses"]
        .get(status.to_string())
        .unwrap_or(&op["responses"]["default"]);
    let response = match response["$ref"].as_str() {
        Some(r) => &spec["components"]["responses"][r.rsplit('/').next().unwrap()],
        None => response,
    };
    let content = response.get("content")?.as_object()?;
    content.values().next().map(|m| m["schema"].clone())
}

/// Every way `v` breaks `schema` of the spec (`$ref`, `type`, `required`, `properties`,
/// `additionalProperties`, `items`, `enum`, the `date-time`, `uuid` and `int32` formats).
/// One leniency, HubSpot's own: a property value in a map of strings may be `null`
/// (HubSpot answers so for a property that is known but empty).
fn violations(spec: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        let target = &spec["components"]["schemas"][name];
        assert!(target.is_object(), "the spec has no schema `{name}`");
        return violations(spec, target, v, at, out);
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(v) {
            out.push(format!("{at}: {v} is not one of {allowed:?}"));
        }
    }
    match schema["type"].as_str() {
        Some("object") => {
            let Some(obj) = v.as_object() else {
                out.push(format!("{at}: not an object: {v}"));
                return;
            };
            for r in schema["required"].as_array().into_iter().flatten() {
                let r = r.as_str().unwrap();
                if !obj.contains_key(r) {
                    out.push(format!("{at}: required `{r}` is missing"));
                }
            }
            for (k, x) in obj {
                let at = format!("{at}.{k}");
                if let Some(p) = schema["properties"].get(k) {
                    violations(spec, p, x, &at, out);
                } else if schema["additionalProperties"].is_object() {
                    let extra = &schema["additionalProperties"];
                    if !(x.is_null() && extra["type"] == "string") {
                        violations(spec, extra, x, &at, out);
                    }
                }
            }
        }
        Some("array") => match v.as_array() {
            Some(items) => {
                for (i, x) in items.iter().enumerate() {
                    violations(spec, &schema["items"], x, &format!("{at}[{i}]"), out);
                }
            }
            None => out.push(format!("{at}: not an array: {v}")),
        },
        Some("string") => match v.as_str() {
            None => out.push(format!("{at}: not a string: {v}")),
            Some(s) if schema["format"] == "date-time" => {
                if humantime::parse_rfc3339(s).is_err() {
                    out.push(format!("{at}: not a date-time: {s}"));
                }
            }
            Some(s) if schema["format"] == "uuid" => {
                if uuid::Uuid::try_parse(s).map(|u| u.hyphenated().to_string()) != Ok(s.into()) {
                    out.push(format!("{at}: not a UUID: {s}"));
                }
            }
            Some(_) => {}
        },
        Some("boolean") if !v.is_boolean() => out.push(format!("{at}: not a boolean: {v}")),
        Some("integer") => match v.as_i64() {
            Some(n) if schema["format"] == "int32" && i32::try_from(n).is_err() => {
                out.push(format!("{at}: not an int32: {n}"));
            }
            Some(_) => {}
            None => out.push(format!("{at}: not an integer: {v}")),
        },
        _ => {}
    }
}

/// `reply` is the answer the spec gives `method path` (`path` as the spec spells it):
/// its status is one the operation lists (or an error), and its body validates.
fn assert_valid_answer(
    spec: &Value,
    method: &str,
    path: &str,
    reply: &crate::support::Reply,
    what: &str,
) {
    let schema = answer_schema(spec, method, path, reply.status);
    match schema {
        None => assert!(
            reply.body.is_empty(),
            "{what}: {} has no body in the spec: {}",
            reply.status,
            reply.text()
        ),
        Some(schema) => {
            let mut out = Vec::new();
            violations(spec, &schema, &reply.json(), "$", &mut out);
            assert!(
                out.is_empty(),
                "{what}: {} answer breaks the spec:\n{}\n{}",
                reply.status,
                out.join("\n"),
                reply.text()
            );
        }
    }
}

/// Every route of the HubSpot profile is an operation of HubSpot's published OpenAPI spec,
/// and every query parameter crmgate lets through is one that operation declares.
#[test]
fn every_route_and_query_parameter_exists_in_the_vendor_spec() {
    let Some(shared) = shared("every_route_and_query_parameter_exists_in_the_vendor_spec") else {
        return;
    };
    let (config, _) =
        crmgate::tools::cli::load_config_for_tools(&repo().join("policies/crmgate.toml")).unwrap();
    let policies = crmgate::startup::app::load_policies(&config).unwrap();
    let spec = |object: &str| -> Value {
        let text = std::fs::read_to_string(shared.join(format!("vendor/hubspot/{object}-v3.json")))
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let mut checked = 0;
    for route in policies.routes.routes() {
        let object = route.resource.collection.as_str();
        let doc = spec(object);
        let paths = doc["paths"].as_object().unwrap();
        let method = route.method.as_str().to_ascii_lowercase();
        // `{id}` in crmgate's routes is `{contactId}` / `{companyId}` in the spec.
        let op = paths
            .iter()
            .find(|(p, item)| {
                let normal: String = p
                    .split('/')
                    .map(|s| if s.starts_with('{') { "{id}" } else { s })
                    .collect::<Vec<_>>()
                    .join("/");
                normal == route.path && item.get(&method).is_some()
            })
            .map(|(_, item)| &item[&method])
            .unwrap_or_else(|| {
                panic!(
                    "route `{}` is not an operation of the {object} spec",
                    route.name
                )
            });
        let declared: Vec<&str> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        for q in &route.query {
            assert!(
                declared.contains(&q.as_str()),
                "route `{}` lets `{q}` through; the spec declares {declared:?}",
                route.name
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 25);
}

/// Every file of the JSON parser test corpus, served as a CRM response: invalid JSON is a
/// 502, nothing crashes the proxy, and nothing reaches the client unfiltered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_test_suite_bodies_are_filtered_or_refused_never_passed_through() {
    let Some(shared) =
        shared("json_test_suite_bodies_are_filtered_or_refused_never_passed_through")
    else {
        return;
    };
    let dir = shared.join("jsontestsuite/test_parsing");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 300);
    let bodies: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let served = bodies.clone();
    let raw = RawUpstream::start(move |head| {
        // GET /crm/v3/objects/contacts/<index>?…
        let index: usize = head
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.split('?').next())
            .and_then(|p| p.rsplit('/').next())
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        http_response(
            "200 OK",
            &[("Content-Type", "application/json")],
            served.get(index).map_or(&[][..], |b| b),
        )
    })
    .await;
    let proxy = Proxy::start_with(Options {
        upstream: Upstream::Addr(raw.addr),
        ..Options::default()
    })
    .await;
    for (i, (file, body)) in files.iter().zip(&bodies).enumerate() {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let reply = proxy
            .get(&format!("/crm/v3/objects/contacts/{i}"), "noelle", None)
            .await;
        if name.starts_with("n_") {
            assert_eq!(
                reply.status, 502,
                "{name} is invalid JSON but got {}",
                reply.status
            );
        } else {
            assert!(
                matches!(reply.status, 200 | 404 | 502),
                "{name}: {}",
                reply.status
            );
        }
        if reply.status == 200 {
            // Only a record that passed the filter: an object with an id.
            let v = reply.json();
            assert!(v.get("id").is_some(), "{name}: {v}");
        }
        if body.len() > 8 && reply.status != 200 {
            assert!(
                !reply.body.windows(body.len()).any(|w| w == &body[..]),
                "{name}: raw body leaked"
            );
        }
    }
    // The proxy is still healthy afterwards.
    assert_eq!(raw.received.lock().unwrap().len(), files.len());
}

/// proxy, method, path, user, purpose, body, expected problem kind.
type ErrorCase<'a> = (
    &'a Proxy,
    &'static str,
    String,
    Option<&'static str>,
    Option<&'static str>,
    Option<Value>,
    &'static str,
);

/// One of each kind of error, for the check that every kind's problem body is a HubSpot
/// `Error`. The match has no catch-all arm: a new kind does not compile until it is here.
fn one_of_each_error() -> Vec<crmgate::error::RequestError> {
    use crmgate::error::{CredentialError as C, RateLimit, RequestError as E};
    let all = vec![
        E::BadRequest("x".into()),
        E::BadQuery("x".into()),
        E::UnknownField("x".into()),
        E::NotGoverned("x".into()),
        E::MethodNotAllowed("TRACE".into()),
        E::RequestTimeout(10),
        E::PayloadTooLarge(10),
        E::Unauthenticated("x".into()),
        E::Credential(C::TokenExpired),
        E::Credential(C::UnknownApiKey),
        E::AmbiguousCredentials("x".into()),
        E::BadFraming("x".into()),
        E::KeysUnavailable,
        E::InactivePrincipal("grinch".into()),
        E::UnknownPurpose("x".into()),
        E::PurposeNotAllowed {
            purpose: "x".into(),
            allowed: "y".into(),
        },
        E::NoRoute {
            method: "GET".into(),
            path: "/x".into(),
        },
        E::Forbidden {
            action: "list".into(),
            resource: "contacts".into(),
            purpose: "p".into(),
        },
        E::HiddenSelection {
            groups: "`billing`".into(),
            purpose: "p".into(),
        },
        E::UnsupportedMediaType("text/plain".into()),
        E::WriteRefused {
            groups: "`billing`".into(),
            purpose: "p".into(),
        },
        E::SensitiveRefused {
            fields: "`wish_text`".into(),
            categories: "health".into(),
        },
        E::RecordNotFound,
        E::UpstreamStatus(500),
        E::UpstreamRateLimited(RateLimit::default()),
        E::UpstreamUnavailable("x".into()),
        E::UpstreamTimeout(10),
        E::Unfilterable("x".into()),
        E::AuditUnavailable,
        E::Internal("x".into()),
    ];
    for e in &all {
        match e {
            E::BadRequest(_)
            | E::BadQuery(_)
            | E::UnknownField(_)
            | E::NotGoverned(_)
            | E::MethodNotAllowed(_)
            | E::RequestTimeout(_)
            | E::PayloadTooLarge(_)
            | E::Unauthenticated(_)
            | E::Credential(_)
            | E::AmbiguousCredentials(_)
            | E::BadFraming(_)
            | E::KeysUnavailable
            | E::InactivePrincipal(_)
            | E::UnknownPurpose(_)
            | E::PurposeNotAllowed { .. }
            | E::NoRoute { .. }
            | E::Forbidden { .. }
            | E::HiddenSelection { .. }
            | E::UnsupportedMediaType(_)
            | E::WriteRefused { .. }
            | E::SensitiveRefused { .. }
            | E::RecordNotFound
            | E::UpstreamStatus(_)
            | E::UpstreamRateLimited(_)
            | E::UpstreamUnavailable(_)
            | E::UpstreamTimeout(_)
            | E::Unfilterable(_)
            | E::AuditUnavailable
            | E::Internal(_) => {}
        }
    }
    all
}

/// Every kind of error crmgate makes is a valid `Error` of HubSpot's published spec — the
/// answer every operation of the spec gives by default — so a HubSpot client shows
/// crmgate's message; crmgate's problem type and request id ride along. Checked for each
/// kind's problem body, and over the wire for every kind a request to a HubSpot route can
/// meet here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_on_a_hubspot_route_is_a_hubspot_error() {
    let Some(shared) = shared("every_error_on_a_hubspot_route_is_a_hubspot_error") else {
        return;
    };
    let spec = vendor_spec(&shared, "contacts");
    let error_schema = json!({"$ref": "#/components/schemas/Error"});
    // The spec's default answer of an operation is its `Error`.
    assert_eq!(
        answer_schema(&spec, "GET", "/crm/v3/objects/contacts/{contactId}", 404),
        Some(error_schema.clone())
    );
    for e in one_of_each_error() {
        let body: Value = serde_json::from_slice(
            &crmgate::profiles::hubspot::HubSpot.error_body(&e, "0f8fad5bd9cb469fa16570867728950e"),
        )
        .unwrap();
        let mut out = Vec::new();
        violations(&spec, &error_schema, &body, "$", &mut out);
        assert!(out.is_empty(), "{}: {}\n{body}", e.kind(), out.join("\n"));
        assert_eq!(body["type"], format!("urn:crmgate:problem:{}", e.kind()));
    }

    let raw = RawUpstream::start(|_| {
        http_response(
            "200 OK",
            &[("Content-Type", "text/html")],
            b"<html>oops</html>",
        )
    })
    .await;
    let broken = Proxy::start_with(Options {
        upstream: Upstream::Addr(raw.addr),
        ..Options::default()
    })
    .await;
    let failing = RawUpstream::start(|_| {
        http_response(
            "500 Internal Server Error",
            &[("Content-Type", "application/json")],
            br#"{"status":"error","message":"contact 1001 is locked"}"#,
        )
    })
    .await;
    let failing = Proxy::start_with(Options {
        upstream: Upstream::Addr(failing.addr),
        ..Options::default()
    })
    .await;
    let limited = RawUpstream::start(|_| {
        http_response(
            "429 Too Many Requests",
            &[("Content-Type", "application/json"), ("Retry-After", "10")],
            br#"{"status":"error","policyName":"TEN_SECONDLY_ROLLING"}"#,
        )
    })
    .await;
    let limited = Proxy::start_with(Options {
        upstream: Upstream::Addr(limited.addr),
        ..Options::default()
    })
    .await;
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let unreachable = Proxy::start_with(Options {
        upstream: Upstream::Addr(gone),
        ..Options::default()
    })
    .await;
    let small = Proxy::start_with(Options {
        extra_config: "[limits]\nmax_request_body_bytes = 64\n".into(),
        ..Options::default()
    })
    .await;
    let proxy = Proxy::start().await;
    let c = "/crm/v3/objects/contacts";
    let cases: Vec<ErrorCase> = vec![
        (
            &proxy,
            "GET",
            format!("{c}?hapikey=x"),
            Some("noelle"),
            None,
            None,
            "bad-request",
        ),
        (
            &proxy,
            "GET",
            c.to_string(),
            None,
            None,
            None,
            "unauthenticated",
        ),
        (
            &proxy,
            "GET",
            c.to_string(),
            Some("nobody"),
            None,
            None,
            "api-key-unknown",
        ),
        (
            &proxy,
            "GET",
            c.to_string(),
            Some("grinch"),
            None,
            None,
            "inactive-principal",
        ),
        (
            &proxy,
            "GET",
            c.to_string(),
            Some("noelle"),
            Some("no_such_purpose"),
            None,
            "unknown-purpose",
        ),
        (
            &proxy,
            "GET",
            c.to_string(),
            Some("noelle"),
            Some("greetings"),
            None,
            "purpose-not-allowed",
        ),
        (
            &proxy,
            "GET",
            format!("{c}/999999"),
            Some("noelle"),
            None,
            None,
            "record-not-found",
        ),
        (
            &proxy,
            "GET",
            "/crm/v3/objects/deals".into(),
            Some("noelle"),
            None,
            None,
            "no-route",
        ),
        (
            &proxy,
            "PUT",
            format!("{c}/1001"),
            Some("noelle"),
            None,
            None,
            "method-not-allowed",
        ),
        (
            &proxy,
            "POST",
            format!("{c}/search"),
            Some("noelle"),
            None,
            Some(json!({"sorts": [{"propertyName": "billing_iban"}]})),
            "hidden-selection",
        ),
        (
            &proxy,
            "GET",
            "/crm/v3/objects/companies".into(),
            Some("newsletter"),
            None,
            None,
            "forbidden",
        ),
        (
            &proxy,
            "PATCH",
            format!("{c}/1001"),
            Some("noelle"),
            None,
            Some(json!({"properties": {"billing_iban": "DE02120300000000202051"}})),
            "write-refused",
        ),
        (
            &small,
            "POST",
            format!("{c}/search"),
            Some("noelle"),
            None,
            Some(json!({"query": "a".repeat(200)})),
            "payload-too-large",
        ),
        (
            &broken,
            "GET",
            format!("{c}/1001"),
            Some("noelle"),
            None,
            None,
            "unfilterable-response",
        ),
        (
            &failing,
            "GET",
            format!("{c}/1001"),
            Some("noelle"),
            None,
            None,
            "upstream-error",
        ),
        (
            &limited,
            "GET",
            format!("{c}/1001"),
            Some("noelle"),
            None,
            None,
            "upstream-rate-limited",
        ),
        (
            &unreachable,
            "GET",
            format!("{c}/1001"),
            Some("noelle"),
            None,
            None,
            "upstream-unavailable",
        ),
    ];
    let mut replies = Vec::new();
    for (p, method, path, user, purpose, body, kind) in cases {
        replies.push((p.request(method, &path, user, purpose, body).await, kind));
    }
    let text = proxy
        .request_bytes(
            "POST",
            c,
            "noelle",
            None,
            Some("text/plain"),
            b"firstname=Nick".to_vec(),
        )
        .await;
    replies.push((text, "unsupported-media-type"));
    let framing = proxy
        .raw(
            format!(
                "GET {c} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer demo-key-noelle\r\n\
                 Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
    replies.push((framing, "bad-framing"));
    let mut checked = 0;
    for (reply, kind) in &replies {
        assert!(reply.status >= 400, "{kind}: {}", reply.status);
        let body = reply.json();
        assert_eq!(
            body["type"],
            format!("urn:crmgate:problem:{kind}"),
            "{kind}: {body}"
        );
        let mut out = Vec::new();
        violations(&spec, &error_schema, &body, "$", &mut out);
        assert!(out.is_empty(), "{kind}: {}\n{body}", out.join("\n"));
        assert_eq!(
            body["request_id"].as_str().unwrap(),
            reply.headers["x-request-id"].to_str().unwrap()
        );
        assert_eq!(body["message"], body["detail"]);
        checked += 1;
    }
    assert_eq!(checked, 19);
}

/// What crmgate answers to writes is what HubSpot's spec says a write answers: batches
/// with refused inputs (207, each refusal a `StandardError` that names its input by record,
/// position and `objectWriteTraceId`), records the caller may write but not read (their id
/// with what a `SimplePublicObject` requires, nothing of the record), and the archive of a
/// missing or hidden record (204, as HubSpot answers a missing id; nothing forwarded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_answers_are_answers_of_the_vendor_spec() {
    let Some(shared) = shared("write_answers_are_answers_of_the_vendor_spec") else {
        return;
    };
    let spec = vendor_spec(&shared, "contacts");
    let proxy = Proxy::start().await;
    let c = "/crm/v3/objects/contacts";
    // Sales managing prospects may create customers but not read them for this purpose.
    let pm = Some("prospect_management");
    let person = |email: &str, stage: &str| {
        json!({"properties": {"firstname": "Ada", "lastname": "Frost", "email": email,
            "lifecyclestage": stage}})
    };
    let ids = |body: &Value| -> Vec<String> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };

    // A create the caller may not read: answered with the id alone.
    let r = proxy
        .post(c, "noelle", pm, person("ada.frost@example.org", "customer"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_valid_answer(&spec, "POST", c, &r, "an id-only create");
    let body = r.json();
    assert_eq!(body["properties"], json!({}), "{body}");
    let id = body["id"].as_str().unwrap();
    assert!(proxy.crm().record_json("contacts", id).is_some());

    // A batch create: one shown, one the caller may not read, one refused.
    let mut inputs = vec![
        person("bea.frost@example.org", "lead"),
        person("cy.frost@example.org", "customer"),
        person("di.frost@example.org", "other"),
    ];
    for (i, input) in inputs.iter_mut().enumerate() {
        input["associations"] = json!([]);
        input["objectWriteTraceId"] = json!(format!("create-{i}"));
    }
    let path = format!("{c}/batch/create");
    let r = proxy
        .post(&path, "noelle", pm, json!({ "inputs": inputs }))
        .await;
    assert_eq!(r.status, 207, "{}", r.text());
    assert_valid_answer(&spec, "POST", &path, &r, "a batch create with a refusal");
    let body = r.json();
    assert_eq!(ids(&body).len(), 2, "{body}");
    assert_eq!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["properties"] == json!({}))
            .count(),
        1,
        "{body}"
    );
    let refused = &body["errors"][0];
    assert_eq!(body["numErrors"], 1);
    assert_eq!(refused["context"]["inputIndex"], json!(["2"]), "{body}");
    assert_eq!(
        refused["context"]["objectWriteTraceId"],
        json!(["create-2"])
    );
    assert_eq!(refused["category"], "MISSING_SCOPES");
    assert_eq!(
        refused["subCategory"]["type"],
        "urn:crmgate:problem:forbidden"
    );
    assert_eq!(refused["subCategory"]["status"], 403);

    // A batch update: one written, one refused, one missing.
    let path = format!("{c}/batch/update");
    let r = proxy
        .post(
            &path,
            "noelle",
            None,
            json!({"inputs": [
                {"id": "1001", "properties": {"firstname": "Nicholas"}, "objectWriteTraceId": "update-0"},
                {"id": "1002", "properties": {"billing_iban": "DE02120300000000202051"},
                    "objectWriteTraceId": "update-1"},
                {"id": "9999999", "properties": {"firstname": "Missing"}}
            ]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text());
    assert_valid_answer(&spec, "POST", &path, &r, "a batch update with a refusal");
    let body = r.json();
    assert_eq!(ids(&body), ["1001"]);
    let refused = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subCategory"]["type"] == "urn:crmgate:problem:write-refused")
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(refused["context"]["ids"], json!(["1002"]));
    assert_eq!(refused["context"]["inputIndex"], json!(["1"]));
    assert_eq!(
        refused["context"]["objectWriteTraceId"],
        json!(["update-1"])
    );

    // A batch of which every input is refused: nothing is forwarded, the answer is whole.
    let r = proxy
        .post(
            &path,
            "noelle",
            None,
            json!({"inputs": [{"id": "1002", "properties": {"billing_iban": "DE02120300000000202051"}}]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text());
    assert_valid_answer(&spec, "POST", &path, &r, "a batch update refused whole");

    // A batch upsert: a record created that the caller may not read, and a refusal.
    let path = format!("{c}/batch/upsert");
    let r = proxy
        .post(
            &path,
            "noelle",
            pm,
            json!({"inputs": [
                {"id": "eve.frost@example.org", "idProperty": "email",
                    "properties": {"firstname": "Eve", "lifecyclestage": "customer"}},
                {"id": "fay.frost@example.org", "idProperty": "email",
                    "properties": {"firstname": "Fay", "lifecyclestage": "other"},
                    "objectWriteTraceId": "upsert-1"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.text());
    assert_valid_answer(&spec, "POST", &path, &r, "a batch upsert with a refusal");
    let body = r.json();
    assert_eq!(body["results"][0]["properties"], json!({}), "{body}");
    assert_eq!(body["results"][0]["new"], true, "{body}");
    assert_eq!(body["errors"][0]["context"]["inputIndex"], json!(["1"]));

    // The archive of a missing record and of a hidden one: 204 alike, nothing forwarded.
    proxy.crm().clear_received();
    for id in ["9999999", "1001"] {
        let path = format!("{c}/{id}");
        let r = proxy
            .request("DELETE", &path, Some("holly"), pm, None)
            .await;
        assert_eq!(r.status, 204, "{id}: {}", r.text());
        assert_valid_answer(
            &spec,
            "DELETE",
            "/crm/v3/objects/contacts/{contactId}",
            &r,
            id,
        );
    }
    assert!(
        proxy.crm().received().iter().all(|r| r.method != "DELETE"),
        "an archive of a missing or hidden record was forwarded"
    );
    assert_eq!(
        proxy.crm().record_json("contacts", "1001").unwrap()["archived"],
        false
    );
}
