//! Unit tests of the filter: the fast path against the DOM path, the memo against uncached
//! decisions. Never compiled into a build that serves requests.

use super::*;
use crate::config::PolicyFiles;
use crate::policy::decision::Decision;
use crate::routes::RouteTable;
use crate::routes::{AttrType, AttrValue};
use std::path::Path;

fn engine(extra_policy: &str) -> (PolicyEngine, RouteTable, tempfile::TempDir) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies.cedar");
    let shipped = std::fs::read_to_string(repo.join("santa.cedar")).unwrap();
    std::fs::write(&policies, format!("{shipped}\n{extra_policy}\n")).unwrap();
    let routes = RouteTable::load(&repo.join("routes.toml")).unwrap();
    let files = PolicyFiles {
        schema: repo.join("schema.cedarschema"),
        policies: vec![policies],
        entities: repo.join("entities.json"),
        routes: repo.join("routes.toml"),
        redaction: None,
        retention: None,
        retention_clock: crate::retention::Clock::System,
        watch_interval: None,
        reload_settle: std::time::Duration::ZERO,
        confirm_file: "policies.confirm".into(),
    };
    let engine = PolicyEngine::load(&files, &routes).unwrap();
    (engine, routes, dir)
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

fn random_attrs(rng: &mut Rng, resource: &ResourceProfile) -> Vec<Option<AttrValue>> {
    let strings = [
        "customer",
        "lead",
        "subscriber",
        "other",
        "",
        "sales",
        "field_sales",
        "wish_list_form",
        "unknown",
    ];
    resource
        .attributes
        .iter()
        .map(|spec| {
            // Missing values too: policies reading them fail, which must deny.
            if rng.next().is_multiple_of(8) {
                return None;
            }
            Some(match spec.kind {
                AttrType::String => AttrValue::Str((*rng.pick(&strings)).to_string()),
                AttrType::Bool => AttrValue::Bool(rng.next().is_multiple_of(2)),
                AttrType::Long => AttrValue::Long((rng.next() % 3) as i64),
            })
        })
        .collect()
}

/// The property: for random principals, purposes, records and ids, a plan served by the
/// memos equals what Cedar decides for that record without any memo.
fn memoised_plans_equal_uncached_decisions(extra_policy: &str, seed: u64) {
    let (engine, routes, _dir) = engine(extra_policy);
    let resource = routes.resource("Contact").unwrap().clone();
    let users = [
        "noelle", "rudolph", "tinsel", "holly", "penny", "santa", "grinch",
    ];
    let purposes = [
        "contract_fulfilment",
        "prospect_management",
        "greetings",
        "satisfaction_survey",
        "product_marketing",
        "customer_visit",
        "partner_relations",
    ];
    let by_id = engine.id_observable("Contact");
    let mut rng = Rng(seed);
    let mut served_from_memo = 0;
    // Records of a page share their attributes far more often than not: draw from a pool.
    let pool: Vec<Vec<Option<AttrValue>>> =
        (0..40).map(|_| random_attrs(&mut rng, &resource)).collect();
    for _ in 0..3000 {
        let principal = engine.principal(rng.pick::<&str>(&users)).unwrap().clone();
        let scope = engine
            .scope(principal, rng.pick::<&str>(&purposes))
            .unwrap();
        let id = (rng.next() % 12).to_string();
        let attrs = rng.pick(&pool).clone();
        let plan = Planner::new(&engine, &scope, &resource).plan(&id, attrs.clone());
        if scope.evaluations() == 0 {
            served_from_memo += 1;
        }
        let named: Vec<(&str, Option<&AttrValue>)> = resource
            .attributes
            .iter()
            .zip(attrs.iter())
            .map(|(spec, v)| (spec.name.as_str(), v.as_ref()))
            .collect();
        let same = |memo: &Decision, action: &str| {
            let fresh = engine.decide_record(&scope, action, "Contact", &id, &named);
            assert_eq!(memo.allow, fresh.allow, "{action} {id} {attrs:?}");
            assert_eq!(memo.mask, fresh.mask, "{action} {id} {attrs:?}");
            assert_eq!(memo.policies, fresh.policies, "{action} {id} {attrs:?}");
            assert_eq!(memo.errors.is_empty(), fresh.errors.is_empty());
            if by_id {
                assert_eq!(memo, &fresh);
            }
        };
        same(&plan.row, "read");
        if plan.row.allow {
            assert_eq!(plan.groups.len(), resource.groups.len());
            for (g, name) in resource.groups.iter().enumerate() {
                same(&plan.groups[g].1, &format!("read.{name}"));
                assert_eq!(plan.groups[g].0, Outcome::from_decision(&plan.groups[g].1));
            }
        } else {
            assert!(plan.groups.is_empty());
        }
    }
    assert!(served_from_memo > 100, "the memo was hardly used");
}

#[test]
fn memoised_plans_equal_uncached_decisions_for_the_shipped_policies() {
    memoised_plans_equal_uncached_decisions("", 0x5eed_cafe_f00d_0001);
}

#[test]
fn memoised_plans_equal_uncached_decisions_when_policies_name_record_ids() {
    // A policy that names one record makes ids observable: plans are then keyed by id.
    let vip = r#"@id("vip-phone-hidden")
forbid (principal, action == Action::"read.phone", resource == Contact::"7");"#;
    memoised_plans_equal_uncached_decisions(vip, 0x5eed_cafe_f00d_0002);
}

fn demo_records() -> Vec<Value> {
    let crm = democrm::DemoCrm::seeded();
    (1001..1200)
        .filter_map(|id| crm.record_json("contacts", &id.to_string()))
        .collect()
}

fn route<'t>(routes: &'t RouteTable, name: &str) -> &'t Route {
    routes.routes().iter().find(|r| r.name == name).unwrap()
}

/// Both filters on one body: the same outcome, the same body (as JSON), the same audit.
fn same_as_dom(
    engine: &PolicyEngine,
    scope: &Scope,
    route: &Route,
    hidden: &HashSet<String>,
    key: &PurposeKey,
    body: &[u8],
) {
    let fast = filter_body(engine, scope, route, hidden, 0, key, &Shown::none(), body);
    let dom = filter_body_dom(engine, scope, route, hidden, 0, key, &Shown::none(), body);
    match (fast, dom) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.single_denied, b.single_denied);
            if !a.single_denied {
                let va: Value = serde_json::from_slice(&a.body).unwrap();
                let vb: Value = serde_json::from_slice(&b.body).unwrap();
                assert_eq!(va, vb, "{}", String::from_utf8_lossy(body));
            }
            // The fast path's record spans are exactly the records of its body.
            if let Some(spans) = &a.spans {
                let va: Value = serde_json::from_slice(&a.body).unwrap();
                let results = va
                    .get("results")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let by_span: Vec<Value> = spans
                    .iter()
                    .map(|r| serde_json::from_slice(&a.body[r.clone()]).unwrap())
                    .collect();
                assert_eq!(by_span, results, "{}", String::from_utf8_lossy(body));
                assert_eq!(spans.len(), a.records.len());
            }
            assert_eq!(a.records, b.records);
            assert_eq!(a.dropped, b.dropped);
            assert_eq!(a.policies, b.policies);
            assert_eq!(a.errors, b.errors);
            assert_eq!(a.unclassified, b.unclassified);
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!(
            "fast {a:?} / dom {b:?} on {}",
            String::from_utf8_lossy(body)
        ),
    }
}

const USERS: [&str; 7] = [
    "noelle", "rudolph", "tinsel", "holly", "penny", "santa", "grinch",
];
const PURPOSES: [&str; 7] = [
    "contract_fulfilment",
    "prospect_management",
    "greetings",
    "satisfaction_survey",
    "product_marketing",
    "customer_visit",
    "partner_relations",
];

#[test]
fn the_fast_path_filters_the_demo_data_exactly_like_the_dom_path() {
    let (engine, routes, _dir) = engine("");
    let list = route(&routes, "contacts.list");
    let single = route(&routes, "contacts.get");
    let records = demo_records();
    let page = serde_json::to_vec(&serde_json::json!({
        "results": records,
        "paging": {"next": {"after": "100"}},
        "unexpected": 1
    }))
    .unwrap();
    let keys = crate::stages::filter::masks::HashKeys::new(crate::secret::Secret::new("k"));
    let hidden: HashSet<String> = ["consent_survey".to_string()].into();
    let none = Shown::none();
    for user in USERS {
        for purpose in PURPOSES {
            let principal = engine.principal(user).unwrap().clone();
            let scope = engine.scope(principal, purpose).unwrap();
            let key = keys.for_purpose(purpose);
            // The fast path really runs on this data (no silent fallback).
            let mut run = Run {
                planner: Planner::new(&engine, &scope, &list.resource),
                resource: &list.resource,
                hidden: &hidden,
                key: &key,
                shown: &none,
                out: Filtered::empty(),
                views: Vec::new(),
                share: SHARED_VIEWS,
                row_only: false,
            };
            assert!(run.lazy_list(&page, "results", &list.envelope).is_some());
            same_as_dom(&engine, &scope, list, &hidden, &key, &page);
            for r in &records {
                let body = serde_json::to_vec(r).unwrap();
                same_as_dom(&engine, &scope, single, &hidden, &key, &body);
            }
        }
    }
}

#[test]
fn records_with_one_outcome_share_an_audit_view_that_serialises_as_their_groups() {
    // Outcomes that differ between the records of one page, by a record attribute.
    let (engine, routes, _dir) = engine(
        r#"@id("test-email-not-for-leads")
        forbid (principal, action == Action::"read.email", resource is Contact)
        when { resource has lifecycle && resource.lifecycle == "lead" };"#,
    );
    let list = route(&routes, "contacts.list");
    let records = demo_records();
    let page = serde_json::to_vec(&serde_json::json!({ "results": records })).unwrap();
    let keys = crate::stages::filter::masks::HashKeys::new(crate::secret::Secret::new("k"));
    let hidden = HashSet::new();
    let mut checked = 0;
    for user in USERS {
        for purpose in PURPOSES {
            let principal = engine.principal(user).unwrap().clone();
            let scope = engine.scope(principal, purpose).unwrap();
            let key = keys.for_purpose(purpose);
            let fast = filter_body(
                &engine,
                &scope,
                list,
                &hidden,
                0,
                &key,
                &Shown::none(),
                &page,
            )
            .unwrap();
            let alone = filter_body_dom(
                &engine,
                &scope,
                list,
                &hidden,
                0,
                &key,
                &Shown::none(),
                &page,
            );
            // Sharing changes no view: each equals the one made for its record alone.
            assert_eq!(fast.records, alone.unwrap().records);
            for r in &fast.records {
                let g = r.groups();
                let expected = serde_json::json!({
                    "id": r.id, "clear": g.clear, "masked": g.masked, "removed": g.removed,
                });
                assert_eq!(serde_json::to_value(r).unwrap(), expected);
                let line = serde_json::to_string(r).unwrap();
                assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), expected);
            }
            let mut views: Vec<*const GroupsAudit> = fast
                .records
                .iter()
                .map(|r| Arc::as_ptr(&r.groups))
                .collect();
            views.sort();
            views.dedup();
            let emails: BTreeSet<bool> = fast
                .records
                .iter()
                .map(|r| r.groups().clear.iter().any(|g| g == "email"))
                .collect();
            if fast.records.len() >= 20 && emails.len() == 2 {
                assert!(views.len() * 5 <= fast.records.len(), "{user}/{purpose}");
                checked += 1;
            }
        }
    }
    assert!(
        checked > 0,
        "no persona saw 20 records, some with e-mail and some without"
    );
}

/// A demo record, changed at random: an odd id, a missing or odd properties member, an
/// unknown field, a history, odd property values.
fn random_record(rng: &mut Rng, records: &[Value]) -> Value {
    let lifecycles = ["customer", "lead", "subscriber", "other", "", "CUSTOMER"];
    let mut r = rng.pick(records).clone();
    let obj = r.as_object_mut().unwrap();
    match rng.next() % 12 {
        0 => {
            obj.insert("properties".into(), Value::Null);
        }
        1 => {
            obj.insert("id".into(), serde_json::json!(rng.next() % 1000));
        }
        2 => {
            obj.remove("id");
        }
        3 => {
            obj.insert("surprise".into(), serde_json::json!({"a": [1, 2]}));
        }
        4 => {
            obj.insert(
                "propertiesWithHistory".into(),
                serde_json::json!({
                    "email": [{"value": "a@b.example", "timestamp": "t",
                               "sourceType": "CRM_UI", "sourceId": "u1"}],
                    "phone": [{"value": 12}],
                    "x_new": [],
                    "date_of_birth": [{"value": "1970-01-02"}]
                }),
            );
        }
        5 => {
            obj.insert("properties".into(), serde_json::json!("oops"));
        }
        6 => {
            obj.insert(
                "archived".into(),
                serde_json::json!(rng.next().is_multiple_of(2)),
            );
        }
        _ => {}
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        let names: Vec<String> = props.keys().cloned().collect();
        for n in names {
            match rng.next() % 10 {
                0 => {
                    props.remove(&n);
                }
                1 => {
                    props.insert(n, Value::Null);
                }
                2 => {
                    props.insert(n, serde_json::json!(rng.next() % 7));
                }
                _ => {}
            }
        }
        if rng.next().is_multiple_of(3) {
            props.insert(
                "lifecyclestage".into(),
                serde_json::json!(rng.pick(&lifecycles)),
            );
        }
        if rng.next().is_multiple_of(4) {
            props.insert("x_new".into(), serde_json::json!("new \"field\""));
        }
        if rng.next().is_multiple_of(5) {
            props.insert("consent_greetings".into(), serde_json::json!("TRUE"));
        }
    }
    r
}

/// A page of records as a list body and its first record as a single body, each changed
/// at random in ways the fast path must hand to the DOM path (duplicate keys, escapes,
/// trailing garbage, invalid UTF-8).
fn random_bodies(rng: &mut Rng, page: &[Value]) -> (Vec<u8>, Vec<u8>) {
    let mut doc = serde_json::Map::new();
    match rng.next() % 8 {
        0 => {
            doc.insert("results".into(), serde_json::json!({"a": page.first()}));
        }
        1 => {
            doc.insert("results".into(), serde_json::json!(3));
        }
        _ => {
            doc.insert("results".into(), Value::Array(page.to_vec()));
        }
    }
    if rng.next().is_multiple_of(2) {
        doc.insert("paging".into(), serde_json::json!({"next": {"after": "9"}}));
    }
    if rng.next().is_multiple_of(3) {
        doc.insert("total".into(), serde_json::json!(5));
    }
    let mut body = serde_json::to_vec(&Value::Object(doc)).unwrap();
    let mut single_body = serde_json::to_vec(&page.first()).unwrap();
    match rng.next() % 10 {
        // A property given twice, and a record key given twice.
        0 => {
            let text = String::from_utf8(body).unwrap().replacen(
                "\"properties\":{",
                "\"properties\":{\"email\":\"dup@example.com\",",
                1,
            );
            body = text.into_bytes();
        }
        1 => {
            let text = String::from_utf8(single_body).unwrap().replacen(
                "{\"id\":",
                "{\"id\":\"0\",\"id\":",
                1,
            );
            single_body = text.into_bytes();
        }
        // An escaped property name, trailing garbage, not UTF-8.
        2 => {
            let text =
                String::from_utf8(body)
                    .unwrap()
                    .replacen("\"email\":", "\"em\\u0061il\":", 1);
            body = text.into_bytes();
        }
        3 => body.extend_from_slice(b" x"),
        4 => body.insert(body.len() / 2, 0xff),
        _ => {}
    }
    (body, single_body)
}

#[test]
fn the_fast_path_filters_random_bodies_exactly_like_the_dom_path() {
    let (engine, routes, _dir) = engine("");
    let list = route(&routes, "contacts.list");
    let single = route(&routes, "contacts.get");
    let records = demo_records();
    let keys = crate::stages::filter::masks::HashKeys::new(crate::secret::Secret::new("k"));
    let mut rng = Rng(0x0bad_5eed_0000_0003);
    for _ in 0..1500 {
        let mut page = Vec::new();
        for _ in 0..rng.next() % 6 {
            page.push(random_record(&mut rng, &records));
        }
        let (body, single_body) = random_bodies(&mut rng, &page);
        let principal = engine.principal(rng.pick::<&str>(&USERS)).unwrap().clone();
        let purpose = *rng.pick(&PURPOSES);
        let scope = engine.scope(principal, purpose).unwrap();
        let key = keys.for_purpose(purpose);
        let mut hidden = HashSet::new();
        if rng.next().is_multiple_of(2) {
            hidden.insert("lifecyclestage".to_string());
            hidden.insert("consent_greetings".to_string());
        }
        same_as_dom(&engine, &scope, list, &hidden, &key, &body);
        same_as_dom(&engine, &scope, single, &hidden, &key, &single_body);
    }
}

#[test]
fn only_a_plain_top_level_array_takes_the_fast_path() {
    assert_eq!(records::simple_array_key("$.results[*]"), Some("results"));
    assert_eq!(records::simple_array_key("$.results"), None);
    assert_eq!(records::simple_array_key("$.a.b[*]"), None);
    assert_eq!(records::simple_array_key("$['results'][*]"), None);
    assert_eq!(records::simple_array_key("$..results[*]"), None);
    assert_eq!(records::simple_array_key("$.[*]"), None);
}

#[test]
fn a_new_policy_revision_starts_with_an_empty_memo() {
    let (engine, routes, _dir) = engine("");
    let resource = routes.resource("Contact").unwrap().clone();
    let scope = engine
        .scope(
            engine.principal("holly").unwrap().clone(),
            "contract_fulfilment",
        )
        .unwrap();
    let attrs = vec![Some(AttrValue::Str("customer".into())); resource.attributes.len()];
    Planner::new(&engine, &scope, &resource).plan("1", attrs);
    assert!(!engine.plans().is_empty());
    let (reloaded, _, _dir2) = self::engine("");
    assert!(reloaded.plans().is_empty());
}
