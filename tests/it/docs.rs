//! The documents a data protection officer files: the permission concept's read and write
//! rows against the proxy's real answers (every persona × purpose × record type × field
//! group), and every document rendered in both languages in headless Chromium.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crmgate::routes::{AttrValue, ResourceProfile};
use crmgate::tools::docs::permission::{self, AccessRow, Right};

use crate::support::Proxy;

/// The personas and apps the concept speaks of, with the user their demo key names.
const CALLERS: &[(&str, &str)] = &[
    ("noelle", "noelle"),
    ("rudolph", "rudolph"),
    ("tinsel", "tinsel"),
    ("holly", "holly"),
    ("penny", "penny"),
    ("santa", "santa"),
    ("wishlist_form", "wishlist"),
    ("newsletter_tool", "newsletter"),
    ("retention_run", "retention"),
];

/// Does a condition as the concept words it (`a = v and not b and c in {x, y}`) hold for
/// these attributes? The concept's condition is a projection of where the right holds, so
/// a right "only if" a condition that does not hold must not be granted.
fn holds(when: &str, res: &ResourceProfile, attrs: &[Option<AttrValue>]) -> bool {
    let value = |name: &str| -> Option<String> {
        let i = res.attributes.iter().position(|a| a.name == name)?;
        attrs.get(i).cloned().flatten().map(|v| match v {
            AttrValue::Str(s) => s,
            AttrValue::Bool(b) => b.to_string(),
            AttrValue::Long(l) => l.to_string(),
        })
    };
    if when == "some records" {
        return true;
    }
    when.split(" and ").all(|part| {
        if let Some((a, set)) = part.split_once(" in {") {
            let set: Vec<&str> = set.trim_end_matches('}').split(", ").collect();
            value(a).is_some_and(|v| set.contains(&v.as_str()))
        } else if let Some((a, v)) = part.split_once(" = ") {
            value(a).as_deref() == Some(v)
        } else if let Some(a) = part.strip_prefix("not ") {
            value(a).as_deref() != Some("true")
        } else {
            value(part).as_deref() == Some("true")
        }
    })
}

/// What the concept says may happen for a record with these attributes: `Some(true)` must,
/// `Some(false)` must not, `None` may (its condition holds, but is a projection).
fn expect(r: &Right, res: &ResourceProfile, attrs: &[Option<AttrValue>]) -> Option<bool> {
    match r {
        Right::Yes => Some(true),
        Right::Depends { when, .. } if holds(when, res, attrs) => None,
        _ => Some(false),
    }
}

fn attrs_of(res: &ResourceProfile, record: &Value) -> Vec<Option<AttrValue>> {
    crmgate::routes::extract_attributes(res, record.as_object().unwrap())
}

/// A value to write into a property of a new record.
fn sample_value(prop: &str, entity: &str, n: usize) -> String {
    match prop {
        "lifecyclestage" if entity == "Contact" => "lead".into(),
        "lifecyclestage" => "customer".into(),
        "email" => format!("docs-{n}@example.org"),
        "date_of_birth" | "founded_date" => "1990-12-19".into(),
        "numberofemployees" | "annualrevenue" => "12".into(),
        p if p.starts_with("consent_") => "true".into(),
        "photo_url" => "https://example.org/p.jpg".into(),
        "domain" => format!("docs-{n}.example.org"),
        _ => "A wooden sledge".into(),
    }
}

/// Per field group of properties, the property a test writes (not one crmgate stamps, not
/// one the CRM keeps itself).
fn writable_props(res: &ResourceProfile) -> BTreeMap<String, String> {
    let stamped: Vec<String> = res
        .provenance
        .iter()
        .flat_map(|p| [Some(p.source.clone()), p.at.clone(), p.basis.clone()])
        .flatten()
        .collect();
    let mut out = BTreeMap::new();
    let mut props: Vec<(&String, &usize)> = res.property_groups.iter().collect();
    props.sort();
    for (p, g) in props {
        let group = &res.groups[*g];
        if stamped.contains(p) || res.always_properties.contains(p) || out.contains_key(group) {
            continue;
        }
        out.insert(group.clone(), p.clone());
    }
    // The record's lifecycle is named by the status group's own property.
    if res.property_groups.contains_key("lifecyclestage") {
        out.insert("status".into(), "lifecyclestage".into());
    }
    out
}

fn row<'a>(rows: &'a [AccessRow], principal: &str, purpose: &str, entity: &str) -> &'a AccessRow {
    rows.iter()
        .find(|r| r.principal == principal && r.purpose == purpose && r.resource_type == entity)
        .unwrap_or_else(|| panic!("{principal}/{purpose}/{entity}: not in the concept"))
}

fn group_right<'a>(r: &'a AccessRow, group: &str, action: &str) -> &'a Right {
    let g = r.groups.iter().find(|g| g.group == group).unwrap();
    match action {
        "read" => &g.read,
        "create" => &g.create,
        _ => &g.update,
    }
}

/// A field group's write right against what the proxy did with it (`written`): the
/// concept must have said so, on a record where its condition holds.
fn check_group_write(
    case: &str,
    right: &Right,
    written: bool,
    res: &ResourceProfile,
    attrs: &[Option<AttrValue>],
) {
    let ok = match right {
        Right::Yes => written,
        Right::Stripped | Right::Refused | Right::No => !written,
        Right::Depends { when, shows } => {
            let (yes, no) = (
                shows.iter().any(|s| s == "allowed"),
                shows.iter().any(|s| s != "allowed"),
            );
            if written {
                yes && holds(when, res, attrs)
            } else {
                no
            }
        }
        Right::Masked { .. } => false,
    };
    assert!(
        ok,
        "{case}: the concept says {right:?}, the proxy wrote it: {written}"
    );
}

/// What a client sees of one field group in a read (none: nothing of it stored).
fn seen(res: &ResourceProfile, stored: &Value, reply: &Value, g: usize) -> Option<&'static str> {
    let mut values = Vec::new();
    for (p, pg) in &res.property_groups {
        let v = &stored[&res.properties_field][p];
        if *pg == g && !v.is_null() && v != "" {
            values.push((v.clone(), reply[&res.properties_field].get(p).cloned()));
        }
    }
    for (f, fg) in &res.field_groups {
        if *fg == g && !stored[f].is_null() {
            values.push((stored[f].clone(), reply.get(f).cloned()));
        }
    }
    if values.is_empty() {
        None
    } else if values.iter().all(|(_, got)| got.is_none()) {
        Some("removed")
    } else if values.iter().all(|(want, got)| got.as_ref() == Some(want)) {
        Some("clear")
    } else {
        Some("masked")
    }
}

fn check_group_read(
    case: &str,
    right: &Right,
    seen: &str,
    res: &ResourceProfile,
    attrs: &[Option<AttrValue>],
) {
    let ok = match (right, seen) {
        (Right::Yes, s) => s == "clear",
        (Right::No, s) => s == "removed",
        (Right::Masked { .. }, s) => s == "masked",
        (Right::Depends { when, shows }, s) => match s {
            "removed" => true,
            "clear" => shows.iter().any(|x| x == "clear") && holds(when, res, attrs),
            _ => shows.iter().any(|x| x != "clear") && holds(when, res, attrs),
        },
        _ => false,
    };
    assert!(
        ok,
        "{case}: the concept says {right:?}, the proxy showed it {seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_permission_concepts_read_and_write_rows_agree_with_the_proxys_answers() {
    let proxy = Proxy::start().await;
    let config = &proxy.gateway().config;
    let policies = proxy.gateway().policies();
    let pc = permission::compute(config, &policies, "2026-12-07");
    let records = crate::support::demo_records(proxy.crm());
    let mut figures: BTreeMap<&str, usize> = BTreeMap::new();
    let mut n = 0usize;
    for (principal, key) in CALLERS {
        let p = policies.engine.principal(principal).unwrap().clone();
        let purposes = match &p.department {
            Some(d) => config.departments[d].purposes.clone(),
            None => config.apps[*principal].purposes.clone(),
        };
        for purpose in &purposes {
            for res in policies.routes.resources() {
                let r = row(&pc.rows, principal, purpose, &res.entity_type);
                let scope =
                    crmgate::decide::subject(config, &policies.engine, principal, Some(purpose))
                        .unwrap();
                // reads: every demo record of the type
                for (collection, entity, stored) in
                    records.iter().filter(|x| x.1 == res.entity_type)
                {
                    let id = stored["id"].as_str().unwrap();
                    // as the CRM holds it now (the writes below change its dates)
                    let stored = &proxy.crm().record_json(collection, id).unwrap();
                    let props: Vec<&str> = res.property_groups.keys().map(String::as_str).collect();
                    let path = format!(
                        "/crm/v3/objects/{collection}/{id}?properties={}",
                        props.join(",")
                    );
                    let reply = proxy.get(&path, key, Some(purpose)).await;
                    let case = format!("{principal}/{purpose}/{entity} {id} read");
                    let attrs = attrs_of(res, stored);
                    let shown = match reply.status {
                        200 => true,
                        404 | 403 => false,
                        other => panic!("{case}: {other} {}", reply.text()),
                    };
                    if let Some(must) = expect(&r.records["read"], res, &attrs) {
                        assert_eq!(
                            shown, must,
                            "{case}: the concept says {:?}",
                            r.records["read"]
                        );
                    }
                    *figures.entry("reads").or_default() += 1;
                    if !shown {
                        continue;
                    }
                    let body = reply.json();
                    for (g, group) in res.groups.iter().enumerate() {
                        if let Some(s) = seen(res, stored, &body, g) {
                            check_group_read(
                                &format!("{case} {group}"),
                                group_right(r, group, "read"),
                                s,
                                res,
                                &attrs,
                            );
                            *figures.entry("group reads").or_default() += 1;
                        }
                    }
                }
                // creates: one property of every group
                n += 1;
                let wanted = writable_props(res);
                let mut props = Map::new();
                for p in wanted.values() {
                    props.insert(p.clone(), json!(sample_value(p, &res.entity_type, n)));
                }
                let stamp = crmgate::stages::write_inputs::Stamp::of(config, &scope, String::new());
                let mut after = props.clone();
                if let Some(spec) = &res.provenance {
                    after.insert(spec.source.clone(), json!(stamp.source));
                }
                let attrs = attrs_of(res, &json!({ &res.properties_field: after }));
                let path = format!("/crm/v3/objects/{}", res.collection);
                let reply = proxy
                    .request(
                        "POST",
                        &path,
                        Some(key),
                        Some(purpose),
                        Some(json!({"properties": props})),
                    )
                    .await;
                let case = format!("{principal}/{purpose}/{} create", res.entity_type);
                let created = match reply.status {
                    201 | 200 => true,
                    403 | 404 => false,
                    other => panic!("{case}: {other} {}", reply.text()),
                };
                if let Some(must) = expect(&r.records["create"], res, &attrs) {
                    assert_eq!(
                        created,
                        must,
                        "{case}: the concept says {:?}: {}",
                        r.records["create"],
                        reply.text()
                    );
                }
                *figures.entry("creates").or_default() += 1;
                if created {
                    let stripped: Vec<String> = reply
                        .headers
                        .get("x-crmgate-stripped")
                        .map(|h| {
                            h.to_str()
                                .unwrap()
                                .split(", ")
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    for group in wanted.keys() {
                        let written = !stripped.contains(group);
                        check_group_write(
                            &format!("{case} {group}"),
                            group_right(r, group, "create"),
                            written,
                            res,
                            &attrs,
                        );
                        *figures.entry("group creates").or_default() += 1;
                    }
                }
                // updates: each group on its own, on stored records of every kind, with the
                // value the record holds (nothing changes but what a policy lets through)
                let mut kinds = std::collections::BTreeSet::new();
                for (collection, entity, stored) in
                    records.iter().filter(|x| x.1 == res.entity_type)
                {
                    let attrs = attrs_of(res, stored);
                    // one record of each kind (the attributes the policies read), eight kinds
                    if kinds.len() >= 8 || !kinds.insert(format!("{attrs:?}")) {
                        continue;
                    }
                    let id = stored["id"].as_str().unwrap();
                    for (group, prop) in &wanted {
                        let Some(v) = stored[&res.properties_field][prop]
                            .as_str()
                            .filter(|v| !v.is_empty())
                        else {
                            continue;
                        };
                        let path = format!("/crm/v3/objects/{collection}/{id}");
                        let reply = proxy
                            .request(
                                "PATCH",
                                &path,
                                Some(key),
                                Some(purpose),
                                Some(json!({"properties": {prop: v}})),
                            )
                            .await;
                        let case = format!("{principal}/{purpose}/{entity} {id} update {group}");
                        let (record_ok, written) = match reply.status {
                            200 => (true, true),
                            403 if reply.text().contains("Write refused") => (true, false),
                            403 | 404 => (false, false),
                            422 => continue, // its stored text holds data the caller may not have blacked out
                            other => panic!("{case}: {other} {}", reply.text()),
                        };
                        if let Some(must) = expect(&r.records["update"], res, &attrs) {
                            assert_eq!(
                                record_ok,
                                must,
                                "{case}: the concept says {:?}: {}",
                                r.records["update"],
                                reply.text()
                            );
                        }
                        if record_ok {
                            check_group_write(
                                &case,
                                group_right(r, group, "update"),
                                written,
                                res,
                                &attrs,
                            );
                            *figures.entry("group updates").or_default() += 1;
                        }
                        *figures.entry("updates").or_default() += 1;
                    }
                }
            }
        }
    }
    eprintln!("compared with the proxy: {figures:?}");
    assert!(
        figures["reads"] > 1000 && figures["group reads"] > 3000,
        "{figures:?}"
    );
    assert!(
        figures["creates"] > 20 && figures["group creates"] > 50,
        "{figures:?}"
    );
    assert!(
        figures["updates"] > 1000 && figures["group updates"] > 300,
        "{figures:?}"
    );
}
