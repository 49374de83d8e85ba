//! One decision core: for every demo persona × every purpose its department may declare ×
//! every demo contact and company, the proxy's real response (over a socket, from the demo
//! CRM) and what `explain`, `matrix`, `test` and the demo tour say agree, row by row and
//! field group by field group. And for writes: for every persona and purpose, creates,
//! updates and batches (fields the caller may and may not write, free text to redact) are
//! decided by `explain` and `test` exactly as the proxy decides them — its status, the
//! groups it strips or refuses, and each input's write decision in its audit record.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::support::Proxy;

/// What a client can observe of one field group in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Clear,
    Masked,
    Removed,
}

/// The proxy's answer for one record: hidden, or per observable group what was seen.
fn observe(
    resource: &crmgate::routes::ResourceProfile,
    stored: &Value,
    reply: Option<&Value>,
) -> Option<BTreeMap<String, Seen>> {
    let reply = reply?;
    let (stored_map, reply_map) = (stored.as_object().unwrap(), reply.as_object().unwrap());
    let mut out = BTreeMap::new();
    for (g, group) in resource.groups.iter().enumerate() {
        // The group's stored values that are there to be seen (non-empty).
        let mut values: Vec<(Value, Option<&Value>)> = Vec::new();
        for (p, pg) in &resource.property_groups {
            let v = resource
                .property(stored_map, p)
                .cloned()
                .unwrap_or(Value::Null);
            if *pg == g && !v.is_null() && v != "" && Some(p) != Some(&resource.id_field) {
                values.push((v, resource.property(reply_map, p)));
            }
        }
        for (f, fg) in &resource.field_groups {
            let v = &stored[f];
            if *fg == g && !v.is_null() {
                values.push((v.clone(), reply.get(f)));
            }
        }
        if values.is_empty() {
            continue; // nothing in this record shows what happens to the group
        }
        let seen = if values.iter().all(|(_, got)| got.is_none()) {
            Seen::Removed
        } else if values.iter().all(|(want, got)| *got == Some(want)) {
            Seen::Clear
        } else {
            assert!(
                values.iter().all(|(_, got)| got.is_some()),
                "group `{group}` partly removed: {reply}"
            );
            Seen::Masked
        };
        out.insert(group.clone(), seen);
    }
    Some(out)
}

fn seen_of(o: crmgate::policy::decision::Outcome) -> Seen {
    match o {
        crmgate::policy::decision::Outcome::Clear => Seen::Clear,
        crmgate::policy::decision::Outcome::Masked(_) => Seen::Masked,
        crmgate::policy::decision::Outcome::Removed => Seen::Removed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_explain_matrix_test_and_tour_agree_on_every_demo_record() {
    let proxy = Proxy::start().await;
    let config = &proxy.gateway().config;
    let policies = proxy.gateway().policies();
    let matrix = crmgate::tools::matrix::compute(config, &policies);
    let personas = [
        "noelle", "rudolph", "tinsel", "holly", "penny", "santa", "grinch",
    ];
    let records = crate::support::demo_records(proxy.crm());
    assert_eq!(records.len(), 68 + 15);
    let mut compared = 0usize;
    let mut shown = 0usize;
    for user in personas {
        let principal = policies.engine.principal(user).unwrap().clone();
        let dept = principal.department.clone().unwrap();
        let purposes = config.departments[&dept].purposes.clone();
        for purpose in &purposes {
            for (collection, entity_type, stored) in &records {
                let resource = policies.routes.resource(entity_type).unwrap();
                let id = stored["id"].as_str().unwrap();
                let props: Vec<&str> = resource
                    .property_groups
                    .keys()
                    .map(String::as_str)
                    .collect();
                let path = format!(
                    "/crm/v3/objects/{collection}/{id}?properties={}",
                    props.join(",")
                );
                let reply = proxy.get(&path, user, Some(purpose)).await;
                // What `explain` is asked: the same request, on the record as the CRM sends it.
                let question = crmgate::tools::explain::Question {
                    user: user.into(),
                    purpose: Some(purpose.clone()),
                    method: "GET".into(),
                    path: format!("/crm/v3/objects/{collection}/{id}"),
                    sample: Some(stored.clone()),
                };
                let body = match reply.status {
                    200 => Some(reply.json()),
                    404 => None,
                    403 if !principal.active => {
                        // The identity stage refuses the inactive account before anything else;
                        // the tools say the same.
                        let e = crmgate::tools::explain::explain(config, &policies, &question)
                            .unwrap_err();
                        assert!(e.contains("403"), "{e}");
                        let tour =
                            crmgate::tools::demo::tour_rows(config, &policies, entity_type, stored);
                        let row = tour.iter().find(|r| r.user == user).unwrap();
                        assert!(
                            row.groups.is_none()
                                && row.note.as_deref().unwrap().contains("inactive")
                        );
                        compared += 1;
                        continue;
                    }
                    other => panic!("{user}/{purpose} {path}: {other} {}", reply.text()),
                };
                let proxy_view = observe(resource, stored, body.as_ref());
                let case = format!("{user}/{purpose}/{entity_type} {id}");

                // explain, on the record as the CRM sends it
                let explained =
                    crmgate::tools::explain::explain(config, &policies, &question).unwrap();
                assert!(explained.request.allow, "{case}");
                let r = &explained.records[0];
                assert_eq!(r.row.allow, proxy_view.is_some(), "{case}: explain's row");
                let mut kinds: BTreeMap<String, String> = BTreeMap::new();
                if let Some(view) = &proxy_view {
                    for g in &r.groups {
                        kinds.insert(g.group.clone(), g.outcome.clone());
                        if let Some(seen) = view.get(&g.group) {
                            let said = match g.outcome.as_str() {
                                "clear" => Seen::Clear,
                                "removed" => Seen::Removed,
                                _ => Seen::Masked,
                            };
                            assert_eq!(said, *seen, "{case}: explain on `{}`", g.group);
                        }
                    }
                }

                // the demo tour
                let tour = crmgate::tools::demo::tour_rows(config, &policies, entity_type, stored);
                let row = tour
                    .iter()
                    .find(|r| r.user == user && &r.purpose == purpose)
                    .unwrap_or_else(|| panic!("{case}: not in the tour"));
                assert_eq!(
                    row.groups.is_some(),
                    proxy_view.is_some(),
                    "{case}: tour's row"
                );
                if let (Some(groups), Some(view)) = (&row.groups, &proxy_view) {
                    for (g, o) in groups {
                        if let Some(seen) = view.get(g) {
                            assert_eq!(seen_of(*o), *seen, "{case}: tour on `{g}`");
                        }
                    }
                }

                // the matrix (its cells summarise all records of the type)
                let mrow = matrix
                    .rows
                    .iter()
                    .find(|m| {
                        m.principal == user
                            && &m.purpose == purpose
                            && m.resource_type == *entity_type
                    })
                    .unwrap_or_else(|| panic!("{case}: not in the matrix"));
                use crmgate::tools::matrix::Cell;
                match (&mrow.row, &proxy_view) {
                    (Cell::Never, Some(_)) => panic!("{case}: the matrix says never shown"),
                    (Cell::Clear, None) => panic!("{case}: the matrix says always shown"),
                    _ => {}
                }
                if let Some(view) = &proxy_view {
                    for (g, cell) in &mrow.groups {
                        let Some(seen) = view.get(g) else { continue };
                        let ok = match cell {
                            Cell::Clear => *seen == Seen::Clear,
                            Cell::Never => *seen == Seen::Removed,
                            Cell::Masked { .. } => *seen == Seen::Masked,
                            Cell::Conditional { shows, .. } => match seen {
                                Seen::Removed => true,
                                Seen::Clear => shows.iter().any(|s| s == "clear"),
                                Seen::Masked => shows.iter().any(|s| s != "clear"),
                            },
                        };
                        assert!(
                            ok,
                            "{case}: the matrix says {cell:?} for `{g}`, the proxy showed {seen:?}"
                        );
                    }
                }

                // a policy test case stating what the proxy did
                let mut fields = serde_json::Map::new();
                if let Some(view) = &proxy_view {
                    for (g, seen) in view {
                        let expected = match seen {
                            Seen::Clear => "clear".to_string(),
                            Seen::Removed => "removed".to_string(),
                            Seen::Masked => kinds[g].clone(),
                        };
                        fields.insert(g.clone(), json!(expected));
                    }
                }
                let test_case: crmgate::tools::policytest::Case = serde_json::from_value(json!({
                    "name": case,
                    "request": {"principal": user, "purpose": purpose, "resource_type": entity_type},
                    "record": stored,
                    "decision": if proxy_view.is_some() { "allow" } else { "deny" },
                    "fields": fields,
                }))
                .unwrap();
                let (failures, _) =
                    crmgate::tools::policytest::run_case(config, &policies, &test_case);
                assert!(
                    failures.is_empty(),
                    "{case}: `crmgate test` says {failures:?}"
                );

                compared += 1;
                shown += usize::from(proxy_view.is_some());
            }
        }
    }
    // Every pair was compared, and both shown and hidden records occurred.
    assert!(compared > 1000, "{compared}");
    assert!(shown > 100 && shown < compared, "{shown} of {compared}");
}

/// The write requests of the write differential, for one caller: a create, updates of
/// stored records (fields the caller may and may not write, free text to redact), a batch
/// update and a batch create. `ids` are stored contacts of different kinds; `n` keeps the
/// e-mail addresses of each caller's requests apart.
fn write_requests(ids: &[String], n: usize) -> Vec<(&'static str, String, Value)> {
    const CONTACTS: &str = "/crm/v3/objects/contacts";
    let wish = "Ich habe Diabetes und wünsche mir zuckerfreie Plätzchen. \
                Meine IBAN: DE89 3704 0044 0532 0130 00.";
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    vec![
        (
            "POST",
            CONTACTS.to_string(),
            json!({"properties": {
                "firstname": "Ada", "lastname": "Frost", "email": format!("ada{n}@example.org"),
                "lifecyclestage": "lead", "wish_text": wish, "consent_marketing": "true",
                "billing_iban": "DE89370400440532013000", "photo_url": "https://img.example/a.jpg",
                "made_up_property": "x", "data_source": "order"
            }}),
        ),
        (
            "PATCH",
            format!("{CONTACTS}/{a}"),
            json!({"properties": {"email": format!("new{n}@example.org"), "phone": "+49 30 1234"}}),
        ),
        (
            "PATCH",
            format!("{CONTACTS}/{b}"),
            json!({"properties": {"billing_iban": "DE89370400440532013000"}}),
        ),
        (
            "PATCH",
            format!("{CONTACTS}/{c}"),
            json!({"properties": {"wish_text": "Sie ist Muslima und fastet im Ramadan."}}),
        ),
        (
            "PATCH",
            format!("{CONTACTS}/{a}"),
            json!({"properties": {"consent_greetings": "true", "firstname": "Eve"}}),
        ),
        (
            "POST",
            format!("{CONTACTS}/batch/update"),
            json!({"inputs": [
                {"id": a, "properties": {"email": format!("b{n}@example.org")}},
                {"id": b, "properties": {"billing_iban": "DE89370400440532013000"}},
                {"id": c, "properties": {"firstname": "Cy", "wish_text": wish}},
                {"id": "999999", "properties": {"firstname": "Nobody"}}
            ]}),
        ),
        (
            "POST",
            format!("{CONTACTS}/batch/create"),
            json!({"inputs": [
                {"properties": {"firstname": "Bo", "email": format!("bo{n}@example.org"),
                                "lifecyclestage": "lead"}},
                {"properties": {"firstname": "Di", "billing_iban": "DE89370400440532013000",
                                "lifecyclestage": "customer", "wish_text": wish}}
            ]}),
        ),
    ]
}

/// What the audit record says of a write input, without the id a create learns only from
/// the CRM's answer.
fn comparable(mut w: Value) -> Value {
    if let Some(o) = w.as_object_mut() {
        o.remove("id");
    }
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_explain_and_test_agree_on_every_write_decision() {
    let proxy = Proxy::start().await;
    let config = &proxy.gateway().config;
    let policies = proxy.gateway().policies();
    // Stored contacts of different kinds: a customer, a lead and a subscriber.
    let records = crate::support::demo_records(proxy.crm());
    let ids: Vec<String> = ["customer", "lead", "subscriber"]
        .iter()
        .map(|stage| {
            records
                .iter()
                .find(|(c, _, r)| *c == "contacts" && r["properties"]["lifecyclestage"] == *stage)
                .map(|(_, _, r)| r["id"].as_str().unwrap().to_string())
                .unwrap_or_else(|| panic!("no demo {stage}"))
        })
        .collect();
    // Every staff persona (by API key) with every purpose of its department, and the form.
    let mut callers: Vec<(String, String, String)> = Vec::new();
    for user in [
        "noelle", "rudolph", "tinsel", "holly", "penny", "santa", "grinch",
    ] {
        let principal = policies.engine.principal(user).unwrap();
        let dept = principal.department.clone().unwrap();
        for purpose in &config.departments[&dept].purposes {
            callers.push((user.into(), user.into(), purpose.clone()));
        }
    }
    for purpose in &config.apps["wishlist_form"].purposes {
        callers.push(("wishlist_form".into(), "wishlist".into(), purpose.clone()));
    }
    let (mut compared, mut forwarded, mut refused, mut stripped, mut redacted) = (0, 0, 0, 0, 0);
    for (n, (principal, key, purpose)) in callers.iter().enumerate() {
        for (method, path, body) in write_requests(&ids, n) {
            let case = format!("{principal}/{purpose} {method} {path} {body}");
            // The records the write names, as the CRM holds them right now.
            let named: Vec<String> = match body.get("inputs") {
                Some(inputs) => inputs
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|i| i["id"].as_str().map(String::from))
                    .collect(),
                None => path
                    .rsplit('/')
                    .next()
                    .into_iter()
                    .map(String::from)
                    .collect(),
            };
            let stored: Vec<Value> = named
                .iter()
                .filter_map(|id| proxy.crm().record_json("contacts", id))
                .collect();
            let question = crmgate::tools::explain::Question {
                user: principal.clone(),
                purpose: Some(purpose.clone()),
                method: method.into(),
                path: path.clone(),
                sample: Some(json!({"request": body, "stored": stored})),
            };
            let explained = crmgate::tools::explain::explain(config, &policies, &question);
            let reply = proxy
                .request(method, &path, Some(key), Some(purpose), Some(body.clone()))
                .await;
            let explained = match explained {
                Ok(e) => e,
                Err(e) => {
                    // Refused before any write decision (an inactive account): the same
                    // status from both.
                    assert!(e.contains(&reply.status.to_string()), "{case}: {e}");
                    compared += 1;
                    continue;
                }
            };
            if !explained.request.allow {
                assert_eq!(reply.status, 403, "{case}: {}", reply.text());
                compared += 1;
                continue;
            }
            let audit = proxy.audit_of(&reply);
            let proxy_writes: Vec<Value> = audit["writes"]
                .as_array()
                .unwrap_or_else(|| panic!("{case}: no writes in {audit}"))
                .iter()
                .cloned()
                .map(comparable)
                .collect();
            let said: Vec<Value> = explained
                .writes
                .iter()
                .map(|w| comparable(serde_json::to_value(&w.audit).unwrap()))
                .collect();
            // The write decision of every input: action, outcome and reason, the field groups
            // written and stripped, what was redacted and stamped.
            assert_eq!(said, proxy_writes, "{case}: explain's inputs");
            // The status of a single write, and the groups named as stripped.
            if body.get("inputs").is_none() {
                let w = &explained.writes[0];
                match w.status {
                    Some(status) => assert_eq!(reply.status, status, "{case}: {}", reply.text()),
                    None => assert!(
                        reply.status == 200 || reply.status == 201,
                        "{case}: {} {}",
                        reply.status,
                        reply.text()
                    ),
                }
                let header = reply
                    .headers
                    .get("x-crmgate-stripped")
                    .map(|h| h.to_str().unwrap().to_string());
                let mut groups = w.audit.stripped.clone();
                groups.sort();
                let expected =
                    (w.status.is_none() && !groups.is_empty()).then(|| groups.join(", "));
                assert_eq!(header, expected, "{case}: stripped groups");
                if let Some(refusal) = &w.refusal {
                    // The refused groups, as the proxy names them to the client.
                    for group in refusal.split('`').skip(1).step_by(2) {
                        assert!(reply.text().contains(group), "{case}: {refusal}");
                    }
                }
            }
            for w in &explained.writes {
                match w.audit.outcome {
                    "forwarded" => forwarded += 1,
                    "refused" => refused += 1,
                    _ => {}
                }
                stripped += usize::from(!w.audit.stripped.is_empty());
                redacted += usize::from(!w.audit.redacted.is_empty());
            }

            // `crmgate test`, on an update of a stored record that keeps its attributes: its
            // record-level decision and each named group's `write.<group>` are the proxy's.
            if method == "PATCH" && body["properties"].get("consent_greetings").is_none() {
                let w = &explained.writes[0];
                if w.audit.outcome != "not-found" {
                    // Refused for its groups or its free text: the record itself was allowed.
                    let record_allowed = w.audit.outcome == "forwarded"
                        || matches!(
                            w.audit.reason,
                            Some("write-refused" | "sensitive-data-refused")
                        );
                    let resource = policies.routes.resource("Contact").unwrap();
                    let mut fields = serde_json::Map::new();
                    if w.audit.outcome == "forwarded" {
                        for g in &w.audit.written {
                            fields.insert(g.clone(), json!("allow"));
                        }
                    } else if let (Some(refusal), Some("write-refused")) =
                        (&w.refusal, w.audit.reason)
                    {
                        for g in refusal.split('`').skip(1).step_by(2) {
                            if resource.groups.iter().any(|x| x == g) {
                                fields.insert(g.into(), json!("deny"));
                            }
                        }
                    }
                    let test_case: crmgate::tools::policytest::Case =
                        serde_json::from_value(json!({
                            "name": case,
                            "request": {"principal": principal, "purpose": purpose,
                                        "action": "update"},
                            "record": stored[0],
                            "decision": if record_allowed { "allow" } else { "deny" },
                            "fields": fields,
                        }))
                        .unwrap();
                    let (failures, _) =
                        crmgate::tools::policytest::run_case(config, &policies, &test_case);
                    assert!(
                        failures.is_empty(),
                        "{case}: `crmgate test` says {failures:?}"
                    );
                }
            }
            compared += 1;
        }
    }
    // Every kind of outcome occurred.
    assert!(compared > 100, "{compared}");
    assert!(
        forwarded > 10 && refused > 10 && stripped > 3 && redacted > 3,
        "forwarded {forwarded}, refused {refused}, stripped {stripped}, redacted {redacted}"
    );
}

/// The Salesforce demo's id of a HubSpot demo record (the model's rule): a contact is a
/// `Lead` or a `Contact` as the Salesforce demo holds it, a company an `Account`.
fn salesforce_id(
    crm: &democrm::salesforce::SalesforceCrm,
    collection: &str,
    id: &str,
) -> Option<(&'static str, String)> {
    let n: u64 = id.parse().ok()?;
    let candidates: &[(&str, &str)] = match collection {
        "contacts" => &[("Contact", "003"), ("Lead", "00Q")],
        _ => &[("Account", "001")],
    };
    candidates.iter().find_map(|(t, prefix)| {
        let id15 = format!("{prefix}Dm{n:010}");
        crm.record(&id15).map(|_| (*t, id15))
    })
}

/// Across vendors: for every demo persona × purpose its department may declare × demo
/// record, the Salesforce answer shows the same rows, and the same field groups clear,
/// masked or removed, as the HubSpot answer — the same policies over the same people,
/// whichever CRM holds them (ids mapped by the model's rule, fields mapped to groups by
/// each routes file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_salesforce_answer_shows_what_the_hubspot_answer_shows() {
    let hubspot = Proxy::start().await;
    let (salesforce, crm) = crate::sf_reads::sf_proxy().await;
    let config = hubspot.gateway().config.clone();
    let h_policies = hubspot.gateway().policies();
    let s_policies = salesforce.gateway().policies();
    let personas = [
        "noelle", "rudolph", "tinsel", "holly", "penny", "santa", "grinch",
    ];
    let records = crate::support::demo_records(hubspot.crm());
    let (mut compared, mut shown, mut groups_compared) = (0usize, 0usize, 0usize);
    for user in personas {
        let principal = h_policies.engine.principal(user).unwrap().clone();
        let dept = principal.department.clone().unwrap();
        for purpose in &config.departments[&dept].purposes {
            // The records a get shows, and those a query of each type shows and counts.
            let mut by_get = std::collections::BTreeSet::new();
            for (collection, entity_type, stored) in &records {
                let h_res = h_policies.routes.resource(entity_type).unwrap();
                let id = stored["id"].as_str().unwrap();
                let (sf_type, sf_id) = salesforce_id(&crm, collection, id)
                    .unwrap_or_else(|| panic!("{collection}/{id} is not in the Salesforce demo"));
                let s_res = s_policies.routes.resource(sf_type).unwrap();
                let props: Vec<&str> = h_res.property_groups.keys().map(String::as_str).collect();
                let h = hubspot
                    .get(
                        &format!(
                            "/crm/v3/objects/{collection}/{id}?properties={}",
                            props.join(",")
                        ),
                        user,
                        Some(purpose),
                    )
                    .await;
                let s = salesforce
                    .get(
                        &format!("{}/sobjects/{sf_type}/{sf_id}", crate::sf_reads::BASE),
                        user,
                        Some(purpose),
                    )
                    .await;
                let case = format!("{user}/{purpose}/{collection} {id} = {sf_type} {sf_id}");
                assert_eq!(h.status, s.status, "{case}: {} / {}", h.text(), s.text());
                compared += 1;
                if h.status != 200 {
                    continue;
                }
                shown += 1;
                by_get.insert(s.json()["Id"].as_str().unwrap().to_string());
                let sf_stored = crm.record(&sf_id).unwrap();
                let h_view = observe(h_res, stored, Some(&h.json())).unwrap();
                let s_view = observe(s_res, &sf_stored, Some(&s.json())).unwrap();
                for (group, seen) in &h_view {
                    if let Some(other) = s_view.get(group) {
                        assert_eq!(seen, other, "{case}: group `{group}`");
                        groups_compared += 1;
                    }
                }
            }
            if !principal.active {
                continue;
            }
            let mut by_query = std::collections::BTreeSet::new();
            for t in ["Contact", "Lead", "Account"] {
                let q = crmgate::stages::sanitize::encode_query(&[(
                    "q".to_string(),
                    format!("SELECT Id FROM {t}"),
                )]);
                let r = salesforce
                    .get(
                        &format!("{}/query?{q}", crate::sf_reads::BASE),
                        user,
                        Some(purpose),
                    )
                    .await;
                assert_eq!(r.status, 200, "{user}/{purpose} {t}: {}", r.text());
                let v = r.json();
                let ids: Vec<String> = v["records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["Id"].as_str().unwrap().to_string())
                    .collect();
                assert_eq!(v["totalSize"], ids.len(), "{user}/{purpose} {t}");
                by_query.extend(ids);
            }
            assert_eq!(by_get, by_query, "{user}/{purpose}: a query's rows");
        }
    }
    assert!(compared > 1000, "{compared}");
    assert!(shown > 100 && shown < compared, "{shown} of {compared}");
    assert!(groups_compared > shown * 4, "{groups_compared}");
    eprintln!("across vendors: {compared} answers compared, {shown} shown, {groups_compared} field groups compared");
}
