//! The deletion concept against the demo CRM, over real sockets: `plan` finds exactly the
//! due records, `apply` carries them out through crmgate's write path (audited with their
//! rule) and nothing else, a held record survives, a run stopped midway and restarted does
//! each action once, and a due record is invisible at read time before anything ran.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crmgate::retention::{Clock, RetentionRules};
use crmgate::routes::RouteTable;
use crmgate::stages::pipeline::Policies;
use crmgate::tools::retention::{self as tool, ApplyOptions, Connection, Plan};
use serde_json::{json, Value};

use crate::support::{repo, Options, Proxy};

/// The day the seed's dates are read against.
const TODAY: &str = "2026-12-02";

async fn proxy() -> Proxy {
    Proxy::start_with(Options {
        policy_lines: format!(
            "retention = \"{}\"",
            repo().join("policies/retention.toml").display()
        ),
        extra_config: format!("[retention]\ntoday = \"{TODAY}\"\n"),
        ..Options::default()
    })
    .await
}

/// The proxy's own configuration, as the tool loads it.
fn loaded(proxy: &Proxy) -> (Policies, Clock) {
    let config = crmgate::config::Config::load(&proxy.dir.path().join("crmgate.toml")).unwrap();
    let clock = config.policies.retention_clock;
    (
        crmgate::startup::app::load_policies(&config).unwrap(),
        clock,
    )
}

fn connection(proxy: &Proxy) -> Connection {
    Connection {
        base: format!("https://localhost:{}", proxy.addr.port()),
        key: "demo-key-retention".into(),
        ca: Some(repo().join("certs/ca.pem")),
        rate: 0.0,
        max_pages: 50,
    }
}

/// Rule → (due ids, held ids).
fn by_rule(plan: &Plan) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let mut out: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for e in &plan.entries {
        let slot = out.entry(e.rule.clone()).or_default();
        if e.is_held() {
            slot.1.push(e.id.clone());
        } else {
            slot.0.push(e.id.clone());
        }
    }
    out
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Customers whose last visit was more than 12 months ago and who have a photo (seed).
const PHOTO_DUE: &[&str] = &[
    "1005", "1007", "1009", "1015", "1018", "1025", "1026", "1029",
];

/// The writes the demo CRM received: (method, path, body).
fn writes(proxy: &Proxy) -> Vec<(String, String, String)> {
    proxy
        .crm()
        .received()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path_and_query.contains("/search"))
        .filter(|r| !r.path_and_query.contains("/batch/read"))
        .map(|r| {
            (
                r.method.clone(),
                r.path_and_query.clone(),
                String::from_utf8_lossy(&r.body).into_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn plan_finds_exactly_the_due_records_of_each_rule_and_what_a_hold_keeps() {
    let proxy = proxy().await;
    let (policies, clock) = loaded(&proxy);
    let plan = tool::plan(&policies, clock, &connection(&proxy))
        .await
        .unwrap();
    assert_eq!(plan.today, TODAY);
    let rules = by_rule(&plan);
    // 24 months without activity: 1032 (2024-12-01) is due, 1035 (2024-12-05) is not yet;
    // 1043 is due but under legal hold.
    assert_eq!(
        rules["wish_list_prospects"],
        (ids(&["1032", "1046", "1048"]), ids(&["1043"]))
    );
    assert_eq!(rules["purchased_leads"], (ids(&["1053", "1054"]), vec![]));
    // Answered 2025-12-20 and 2026-06-15: due; 2026-10-01 and 2026-11-25: not yet.
    assert_eq!(rules["wish_texts"], (ids(&["1034", "1047"]), vec![]));
    assert_eq!(rules["customer_photos"], (ids(PHOTO_DUE), vec![]));
    // Three years after the last order: due, but their invoices are kept 8 years from the
    // end of the calendar year, so the records stay.
    assert_eq!(
        rules["customers"],
        (vec![], ids(&["1005", "1015", "1026", "1029"]))
    );
    let held = plan
        .entries
        .iter()
        .find(|e| e.id == "1026" && e.rule == "customers");
    assert_eq!(
        held.unwrap().held_by,
        ["invoices_and_booking_records until 2028-01-01"]
    );
    // Planning changed nothing.
    assert!(writes(&proxy).is_empty(), "{:?}", writes(&proxy));
    // The table names every rule with its counts.
    let table = tool::render_table(policies.retention.as_deref().unwrap(), &plan);
    assert!(
        table.contains("wish_list_prospects    Contact    archive         3     1  1032 1046 1048"),
        "{table}"
    );
    let csv = tool::render_csv(&plan);
    assert!(
        csv.contains("purchased_leads,Contact,1053,gdpr_delete,2023-03-15,due,"),
        "{csv}"
    );
}

#[tokio::test]
async fn a_due_record_is_invisible_at_read_time_before_apply_has_run() {
    let proxy = proxy().await;
    // 1046's last activity is 2022-12-10: past 24 months. Customer service no longer sees it.
    let due = proxy
        .get(
            "/crm/v3/objects/contacts/1046",
            "holly",
            Some("prospect_management"),
        )
        .await;
    assert_eq!(due.status, 404, "{}", due.text());
    let fresh = proxy
        .get(
            "/crm/v3/objects/contacts/1031",
            "holly",
            Some("prospect_management"),
        )
        .await;
    assert_eq!(fresh.status, 200);
    let list = proxy
        .get(
            "/crm/v3/objects/contacts?limit=100",
            "holly",
            Some("prospect_management"),
        )
        .await
        .json();
    let listed: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&"1031") && !listed.contains(&"1046"),
        "{listed:?}"
    );
    assert!(!listed.contains(&"1043"), "held, but due: {listed:?}");
    // A customer past three years: sales does not see it, accounting does (its invoices).
    let sales = proxy
        .get("/crm/v3/objects/contacts/1005", "noelle", None)
        .await;
    assert_eq!(sales.status, 404);
    let accounting = proxy
        .get("/crm/v3/objects/contacts/1005", "penny", None)
        .await;
    assert_eq!(accounting.status, 200);
    // Nothing was deleted to make it so.
    assert!(
        !proxy.crm().record_json("contacts", "1046").unwrap()["archived"]
            .as_bool()
            .unwrap()
    );
}

#[tokio::test]
async fn apply_deletes_and_anonymises_exactly_the_plan_audited_with_its_rule_and_the_held_record_survives(
) {
    let proxy = proxy().await;
    let (policies, clock) = loaded(&proxy);
    let dir = tempfile::tempdir().unwrap();
    let opts = ApplyOptions {
        checkpoint: dir.path().join("checkpoint.jsonl"),
        crash_after: None,
    };
    let applied = tool::apply(&policies, clock, &connection(&proxy), &opts)
        .await
        .unwrap();
    let expected = 3 + 2 + 2 + PHOTO_DUE.len();
    assert_eq!(applied.done, expected, "{applied:?}");
    assert!(applied.failed.is_empty(), "{:?}", applied.failed);
    assert_eq!(applied.held, 5);

    let mut got = writes(&proxy);
    got.sort();
    let mut want: Vec<(String, String, String)> = Vec::new();
    for id in ["1032", "1046", "1048"] {
        want.push((
            "DELETE".into(),
            format!("/crm/v3/objects/contacts/{id}"),
            String::new(),
        ));
    }
    for id in ["1053", "1054"] {
        want.push((
            "POST".into(),
            "/crm/v3/objects/contacts/gdpr-delete".into(),
            json!({ "objectId": id }).to_string(),
        ));
    }
    let crm = proxy.crm();
    for id in ["1034", "1047"] {
        want.push((
            "PATCH".into(),
            format!("/crm/v3/objects/contacts/{id}"),
            String::new(),
        ));
        assert_eq!(
            crm.record_json("contacts", id).unwrap()["properties"]["wish_text"],
            Value::Null,
            "{id}"
        );
    }
    for id in PHOTO_DUE {
        want.push((
            "PATCH".into(),
            format!("/crm/v3/objects/contacts/{id}"),
            String::new(),
        ));
        let p = &crm.record_json("contacts", id).unwrap()["properties"];
        assert_eq!(p["photo_url"], Value::Null, "{id}");
        // The customer's billing data is untouched.
        assert!(p["billing_iban"].is_string(), "{id}");
    }
    want.sort();
    let shape: Vec<(String, String)> = got.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect();
    let mut want_shape: Vec<(String, String)> = want
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    want_shape.sort();
    assert_eq!(shape, want_shape);
    for (m, _, body) in &got {
        if m == "PATCH" {
            let props = serde_json::from_str::<Value>(body).unwrap()["properties"].clone();
            let names: Vec<&String> = props.as_object().unwrap().keys().collect();
            assert!(
                names == ["wish_text"] || names == ["photo_url"],
                "only the anonymised group is cleared: {body}"
            );
        }
    }
    // The held record and the records not yet due are all there.
    for id in ["1043", "1035", "1036", "1005"] {
        let r = crm.record_json("contacts", id).unwrap();
        assert_eq!(r["archived"], false, "{id}");
    }
    assert_eq!(
        crm.record_json("contacts", "1036").unwrap()["properties"]["wish_text"],
        "Ein Puzzle mit 1000 Teilen vom Nordpol, bitte!"
    );
    // Each write is audited with the rule it carried out.
    let audit = proxy.audit();
    let rules: Vec<(&str, &str)> = audit
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| {
            (
                r["retention_rule"].as_str().unwrap_or("-"),
                r["decision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(rules.len(), expected);
    assert!(rules.iter().all(|(_, d)| *d == "allow"), "{rules:?}");
    let count = |rule: &str| rules.iter().filter(|(r, _)| *r == rule).count();
    assert_eq!(count("wish_list_prospects"), 3);
    assert_eq!(count("purchased_leads"), 2);
    assert_eq!(count("wish_texts"), 2);
    assert_eq!(count("customer_photos"), PHOTO_DUE.len());

    // A second run finds nothing left to do.
    let again = tool::apply(&policies, clock, &connection(&proxy), &opts)
        .await
        .unwrap();
    assert_eq!((again.done, again.skipped), (0, 0), "{again:?}");
    assert_eq!(writes(&proxy).len(), expected);

    // The report carries the rules and the figures of both runs.
    let runs = tool::figures_of(std::slice::from_ref(&opts.checkpoint)).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].done["customer_photos"], PHOTO_DUE.len());
    let md = tool::markdown(policies.retention.as_deref().unwrap(), &runs);
    assert!(md.contains("| customers |"), "{md}");
    assert!(md.contains("wish_list_prospects: 3"), "{md}");
    assert!(md.contains("§ 147(1) no. 4, (3) AO"), "{md}");
    let html = tool::html(policies.retention.as_deref().unwrap(), &runs);
    assert!(html.starts_with("<!doctype html>") && html.contains("<td>8 years from the end of the calendar year of `last_activity_date`: the record and its billing data</td>"), "{html}");
}

#[tokio::test]
async fn a_run_stopped_midway_and_restarted_does_every_action_exactly_once() {
    let proxy = proxy().await;
    let (policies, clock) = loaded(&proxy);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint.jsonl");
    let crashing = ApplyOptions {
        checkpoint: checkpoint.clone(),
        crash_after: Some(4),
    };
    let e = tool::apply(&policies, clock, &connection(&proxy), &crashing)
        .await
        .unwrap_err();
    assert!(e.contains("stopped after 4 actions"), "{e}");
    assert_eq!(writes(&proxy).len(), 4);
    let resumed = ApplyOptions {
        checkpoint: checkpoint.clone(),
        crash_after: None,
    };
    let applied = tool::apply(&policies, clock, &connection(&proxy), &resumed)
        .await
        .unwrap();
    let expected = 3 + 2 + 2 + PHOTO_DUE.len();
    // The fourth request went out but was never marked: re-read, found done, not resent.
    assert_eq!(applied.rechecked, 1, "{applied:?}");
    assert_eq!(applied.done, expected - 4, "{applied:?}");
    let got = writes(&proxy);
    assert_eq!(got.len(), expected);
    let mut distinct = got.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        expected,
        "an action was sent twice: {got:?}"
    );
    // The checkpoint holds every action as done exactly once.
    let lines = tool::read_checkpoint(&checkpoint).unwrap();
    let done: Vec<String> = lines
        .iter()
        .filter(|l| l.event == "done")
        .map(|l| l.entry.as_ref().unwrap().key())
        .collect();
    let mut unique = done.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((done.len(), unique.len()), (expected, expected));
}

#[tokio::test]
async fn only_the_deletion_run_may_name_a_retention_rule() {
    let proxy = proxy().await;
    let reply = proxy
        .get_with(
            &crate::support::https_client(),
            "/crm/v3/objects/contacts/1031",
            &[
                ("authorization", "Bearer demo-key-holly"),
                ("x-purpose", "prospect_management"),
                ("x-crmgate-retention-rule", "wish_texts"),
            ],
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(
        reply.text().contains("only the deletion run"),
        "{}",
        reply.text()
    );
}

fn problems_of(text: &str) -> Vec<(usize, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("retention.toml");
    std::fs::write(&path, text).unwrap();
    let routes = RouteTable::load(&repo().join("policies/routes.toml")).unwrap();
    match RetentionRules::load(&path, &routes) {
        Ok(_) => Vec::new(),
        Err(p) => p.0.into_iter().map(|p| (p.line, p.message)).collect(),
    }
}

#[test]
fn a_rule_problem_is_reported_at_its_line() {
    let text = r#"[run]
app = "retention_run"
purpose = "deletion"

[kinds.prospects]
resource = "Contact"
when = { lifecyclestage = ["lead", "subscriber"] }
start = "last_activity_date"
period = "24 months"
action = "archive"
legal_basis = "Art. 17(1)(a) GDPR"

[kinds.form_prospects]
resource = "Contact"
when = { data_source = "wish_list_form" }
start = "last_activity_date"
period = "12 months"
action = "archive"
legal_basis = "Art. 17(1)(a) GDPR"

[kinds.no_basis]
resource = "Contact"
when = { lifecyclestage = "customer" }
start = "last_activity_date"
period = "3 years"
action = "archive"

[kinds.typo]
resource = "Contact"
when = { lifecyclestage = "other", shoe_size = "42" }
start = "last_activity_dat"
period = "3 yeers"
action = "archive"
legal_basis = "x"
colour = "red"
"#;
    let problems = problems_of(text);
    let at = |line: usize| -> Vec<&str> {
        problems
            .iter()
            .filter(|(l, _)| *l == line)
            .map(|(_, m)| m.as_str())
            .collect()
    };
    assert!(
        at(13)
            .iter()
            .any(|m| m.contains("overlaps kind `prospects`")),
        "{problems:?}"
    );
    assert!(
        at(21).iter().any(|m| m.contains("needs a `legal_basis`")),
        "{problems:?}"
    );
    assert!(at(35).iter().any(|m| m.contains("colour")), "{problems:?}");
}

#[test]
fn unknown_properties_groups_and_periods_are_reported_at_their_lines() {
    let text = r#"[run]
app = "retention_run"
purpose = "deletion"

[kinds.typo]
resource = "Contact"
when = { lifecyclestage = "other", shoe_size = "42" }
start = "last_activity_dat"
period = "3 yeers"
groups = ["selfies"]
action = "anonymise"
legal_basis = "x"

[holds.flag]
resource = "Contact"
property = "legal_hodl"
"#;
    let problems = problems_of(text);
    let has = |line: usize, needle: &str| {
        problems
            .iter()
            .any(|(l, m)| *l == line && m.contains(needle))
    };
    assert!(
        has(7, "property `shoe_size` is not classified"),
        "{problems:?}"
    );
    assert!(
        has(8, "property `last_activity_dat` is not classified"),
        "{problems:?}"
    );
    assert!(has(9, "period `3 yeers`"), "{problems:?}");
    assert!(has(10, "no field group `selfies`"), "{problems:?}");
    assert!(
        has(16, "property `legal_hodl` is not classified"),
        "{problems:?}"
    );
}

#[test]
fn the_shipped_deletion_concept_is_valid() {
    assert_eq!(
        problems_of(&std::fs::read_to_string(repo().join("policies/retention.toml")).unwrap()),
        vec![]
    );
}

#[tokio::test]
async fn the_demo_tour_shows_a_due_record_and_what_plan_says_about_it() {
    let proxy = proxy().await;
    let (_, clock) = loaded(&proxy);
    let tour = crmgate::tools::demo::retention_tour(
        proxy.gateway(),
        clock,
        "https://localhost:8443",
        std::path::Path::new("certs/ca.pem"),
    )
    .await;
    assert!(tour.contains("asks for prospect 1046: 404"), "{tour}");
    assert!(
        tour.contains("reads it: 200; lifecyclestage=lead, data_source=wish_list_form, last_activity_date=2022-12-10"),
        "{tour}"
    );
    assert!(
        tour.contains("rule `wish_list_prospects` (24 months after `last_activity_date`), due since 2024-12-10: archive"),
        "{tour}"
    );
    // What the tour says is what plan lists.
    let (policies, clock) = loaded(&proxy);
    let plan = tool::plan(&policies, clock, &connection(&proxy))
        .await
        .unwrap();
    let e = plan.entries.iter().find(|e| e.id == "1046").unwrap();
    assert_eq!(
        (e.rule.as_str(), e.due_on.as_str(), e.action.as_str()),
        ("wish_list_prospects", "2024-12-10", "archive")
    );
}

#[test]
fn a_run_app_that_is_no_app_is_reported_before_the_port_is_bound() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::support::write_config(
        dir.path(),
        "127.0.0.1:9".parse().unwrap(),
        &repo().join("policies/santa.cedar"),
        8 << 20,
    );
    let shipped = std::fs::read_to_string(repo().join("policies/retention.toml")).unwrap();
    std::fs::write(
        dir.path().join("retention.toml"),
        shipped.replacen("app = \"retention_run\"", "app = \"holly\"", 1),
    )
    .unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "watch_interval_ms = 100\n",
        "watch_interval_ms = 100\nretention = \"retention.toml\"\n",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let config = crmgate::config::Config::load(&cfg).unwrap();
    let problems = crmgate::startup::app::load_policies(&config).unwrap_err().0;
    let line = shipped
        .lines()
        .position(|l| l.starts_with("app = "))
        .unwrap()
        + 1;
    assert!(
        problems
            .iter()
            .any(|p| p.line == line && p.message.contains("`holly` is not an App")),
        "{problems:?}"
    );
    // And the prepared gateway is never made: the same load runs before `serve` binds.
    assert!(crmgate::startup::app::prepare(config).is_err());
}
