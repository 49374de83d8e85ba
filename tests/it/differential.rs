//! One decision core: for every demo persona × every purpose its department may declare ×
//! every demo contact and company, the proxy's real response (over a socket, from the demo
//! CRM) and what `explain`, `matrix`, `test` and the demo tour say agree, row by row and
//! field group by field group.

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
    let mut out = BTreeMap::new();
    for (g, group) in resource.groups.iter().enumerate() {
        // The group's stored values that are there to be seen (non-empty).
        let mut values: Vec<(Value, Option<&Value>)> = Vec::new();
        for (p, pg) in &resource.property_groups {
            let v = &stored[&resource.properties_field][p];
            if *pg == g && !v.is_null() && v != "" {
                values.push((v.clone(), reply[&resource.properties_field].get(p)));
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

fn seen_of(o: crmgate::stages::authz::Outcome) -> Seen {
    match o {
        crmgate::stages::authz::Outcome::Clear => Seen::Clear,
        crmgate::stages::authz::Outcome::Masked(_) => Seen::Masked,
        crmgate::stages::authz::Outcome::Removed => Seen::Removed,
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
