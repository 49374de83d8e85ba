//! The security team's workbench: check, test, explain, matrix, reload, shadow mode.

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;

use crate::support::{prop_names, repo, write_config, Options, Proxy};

fn crmgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crmgate"))
}

fn shipped_config() -> std::path::PathBuf {
    repo().join("policies/crmgate.toml")
}

fn load_shipped() -> (crmgate::config::Config, crmgate::stages::pipeline::Policies) {
    let (config, _) = crmgate::tools::cli::load_config_for_tools(&shipped_config()).unwrap();
    let policies = crmgate::startup::app::load_policies(&config).unwrap();
    (config, policies)
}

#[test]
fn shipped_policy_tests_pass_and_exercise_every_policy() {
    let (config, policies) = load_shipped();
    let report =
        crmgate::tools::policytest::run_dir(&config, &policies, &repo().join("policies/tests"))
            .unwrap();
    assert_eq!(report.failed(), 0, "{}", report.render());
    assert!(report.passed() >= 30);
    assert!(
        report.unexercised.is_empty(),
        "untested policies: {:?}",
        report.unexercised
    );
}

#[test]
fn a_failing_policy_test_exits_2_and_shows_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let case = serde_json::json!([{
        "name": "marketing sees the full birthday (wrong on purpose)",
        "request": {"principal": "tinsel", "purpose": "greetings"},
        "record": {"id": "1", "properties": {"lifecyclestage": "customer", "consent_greetings": "true", "date_of_birth": "1985-12-24"}},
        "decision": "allow",
        "fields": {"birthday": "clear", "billing": "removed"}
    }]);
    std::fs::write(dir.path().join("wrong.json"), case.to_string()).unwrap();
    let out = crmgate()
        .args(["test", "--config"])
        .arg(shipped_config())
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("birthday: expected clear, got month_day"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("billing:"),
        "passing groups are not reported: {stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");
}

#[test]
fn check_reports_every_problem_with_file_line_and_snippet() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.cedar");
    let b = dir.path().join("b.cedar");
    std::fs::write(
        &a,
        "permit (principal, action == Action::\"read\", resource is Contact)\nwhen { resource.lifecylce == \"customer\" };\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "// masks\n@mask(\"scramble\")\npermit (principal, action == Action::\"read.email\", resource);\n",
    )
    .unwrap();
    let cfg = write_config(dir.path(), "127.0.0.1:9".parse().unwrap(), &a, 1 << 20);
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("policies = [\"{}\"]", a.display()),
        &format!("policies = [\"{}\", \"{}\"]", a.display(), b.display()),
    );
    std::fs::write(&cfg, text).unwrap();
    let out = crmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("a.cedar:2:8:"), "{stderr}");
    assert!(
        stderr.contains("2 | when { resource.lifecylce"),
        "snippet: {stderr}"
    );
    assert!(
        stderr.contains("b.cedar:2:7:") && stderr.contains("unknown mask `scramble`"),
        "{stderr}"
    );
    assert!(stderr.contains("2 problem(s) found"), "{stderr}");
}

#[test]
fn check_names_the_unclassified_properties_of_a_sample() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("list.json");
    std::fs::write(
        &sample,
        r#"{"results":[{"id":"1","properties":{"firstname":"A","hs_ai_score":"9"},"createdAt":"x","vendorFlag":true}]}"#,
    )
    .unwrap();
    let out = crmgate()
        .args(["check", "--config"])
        .arg(shipped_config())
        .arg("--sample")
        .arg(format!("contacts.list={}", sample.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("unclassified (always removed): hs_ai_score, vendorFlag"),
        "{stdout}"
    );
}

fn explain_json(user: &str, purpose: &str, sample: &std::path::Path) -> Value {
    let out = crmgate()
        .args(["explain", "--config"])
        .arg(shipped_config())
        .args([
            "--user",
            user,
            "--purpose",
            purpose,
            "--path",
            "/crm/v3/objects/contacts/1001",
            "--format",
            "json",
            "--sample",
        ])
        .arg(sample)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn group<'a>(e: &'a Value, name: &str) -> &'a Value {
    e["records"][0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == name)
        .unwrap_or_else(|| panic!("no group {name}"))
}

fn policy_ids(g: &Value) -> Vec<String> {
    g["decision"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn explain_names_outcome_mask_and_deciding_policies_per_group() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("1001.json");
    let record = democrm::DemoCrm::seeded()
        .record_json("contacts", "1001")
        .unwrap();
    std::fs::write(&sample, record.to_string()).unwrap();

    // Marketing, greetings: the birthday as day and month, billing removed by default deny.
    let e = explain_json("tinsel", "greetings", &sample);
    assert_eq!(e["records"][0]["row"]["allow"], true);
    let birthday = group(&e, "birthday");
    assert_eq!(birthday["outcome"], "month_day");
    assert_eq!(
        policy_ids(birthday),
        vec!["birthday-greetings-day-and-month"]
    );
    assert_eq!(birthday["fields"], serde_json::json!(["date_of_birth"]));
    assert!(
        birthday["decision"]["policies"][0]["line"]
            .as_u64()
            .unwrap()
            > 0
    );
    let billing = group(&e, "billing");
    assert_eq!(billing["outcome"], "removed");
    assert!(policy_ids(billing).is_empty());
    assert_eq!(group(&e, "status")["outcome"], "removed");

    // Customer service: phone partially masked because two permits apply and the mask wins.
    let e = explain_json("holly", "contract_fulfilment", &sample);
    let phone = group(&e, "phone");
    assert_eq!(phone["outcome"], "partial");
    assert_eq!(
        policy_ids(phone),
        vec![
            "customer-service-sees-phone-partially",
            "fields-reach-for-customer-work"
        ]
    );
    assert_eq!(group(&e, "wish_text")["outcome"], "clear");
    assert_eq!(
        policy_ids(group(&e, "wish_text")),
        vec!["wish-text-only-for-customer-service"]
    );

    // Management: names pseudonymised.
    let e = explain_json("santa", "contract_fulfilment", &sample);
    assert_eq!(group(&e, "identity")["outcome"], "hash");
    assert_eq!(group(&e, "email")["outcome"], "removed");

    // Product marketing: the customer is not shown at all.
    let e = explain_json("tinsel", "product_marketing", &sample);
    assert_eq!(e["records"][0]["row"]["allow"], false);
    assert!(e["records"][0]["groups"].as_array().unwrap().is_empty());
}

/// `crmgate explain` on a write: each input's outcome, the groups stripped or refused and
/// what is redacted, from the request body and the records it names as the CRM holds them.
#[test]
fn explain_says_what_becomes_of_each_input_of_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let stored = democrm::DemoCrm::seeded()
        .record_json("contacts", "1001")
        .unwrap();
    let explain = |user: &str, method: &str, path: &str, sample: Value| {
        let file = dir.path().join("write.json");
        std::fs::write(&file, sample.to_string()).unwrap();
        let out = crmgate()
            .args(["explain", "--config"])
            .arg(shipped_config())
            .args([
                "--user", user, "--method", method, "--path", path, "--sample",
            ])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };

    // Customer service may not write billing details: the update is refused, and why.
    let text = explain(
        "holly",
        "PATCH",
        "/crm/v3/objects/contacts/1001",
        serde_json::json!({
            "request": {"properties": {"billing_iban": "DE89370400440532013000"}},
            "stored": [stored],
        }),
    );
    assert!(
        text.contains("input 1001 (update): REFUSED (403)"),
        "{text}"
    );
    assert!(text.contains("`billing`"), "{text}");

    // The wish-list form's create: what it may not write is stripped, the wish redacted.
    let text = explain(
        "wishlist_form",
        "POST",
        "/crm/v3/objects/contacts",
        serde_json::json!({"request": {"properties": {
            "firstname": "Ada", "email": "ada@example.org", "lifecyclestage": "lead",
            "billing_iban": "DE89370400440532013000",
            "wish_text": "Ich habe Diabetes und wünsche mir zuckerfreie Plätzchen."
        }}}),
    );
    assert!(
        text.contains("input new record (create): forwarded once"),
        "{text}"
    );
    assert!(text.contains("  stripped: billing"), "{text}");
    assert!(
        text.contains("  redacted in wish_text: health: 1"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_matrix_agrees_with_what_the_proxy_returns() {
    let (config, policies) = load_shipped();
    let matrix = crmgate::tools::matrix::compute(&config, &policies);
    let proxy = Proxy::start().await;
    let res = policies.routes.resource("Contact").unwrap();
    let all_props: Vec<&String> = res.property_groups.keys().collect();
    let query = all_props
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let cases = [
        ("noelle", "sales", "contract_fulfilment"),
        ("penny", "accounting", "contract_fulfilment"),
        ("tinsel", "marketing", "greetings"),
        ("tinsel", "marketing", "product_marketing"),
        ("holly", "customer_service", "contract_fulfilment"),
        ("rudolph", "field_sales", "customer_visit"),
        ("santa", "management", "contract_fulfilment"),
    ];
    let mut compared = 0;
    for (user, dept, purpose) in cases {
        let row = matrix
            .rows
            .iter()
            .find(|r| r.department == dept && r.purpose == purpose && r.resource_type == "Contact")
            .unwrap();
        for id in ["1001", "1002", "1031", "1040", "1056"] {
            let stored = proxy.crm().record_json("contacts", id).unwrap();
            let reply = proxy
                .get(
                    &format!("/crm/v3/objects/contacts/{id}?properties={query}"),
                    user,
                    Some(purpose),
                )
                .await;
            if row.row == crmgate::tools::matrix::Cell::Never {
                assert_eq!(
                    reply.status, 404,
                    "{user}/{purpose}/{id}: matrix says never"
                );
                continue;
            }
            if reply.status == 404 {
                assert_ne!(
                    row.row,
                    crmgate::tools::matrix::Cell::Clear,
                    "{user}/{purpose}/{id}"
                );
                continue;
            }
            let body = reply.json();
            let shown = prop_names(&body);
            for (g, cell) in &row.groups {
                let props: Vec<&String> = res
                    .property_groups
                    .iter()
                    .filter(|(_, gid)| res.groups[**gid] == *g)
                    .map(|(p, _)| p)
                    .filter(|p| !stored["properties"][p.as_str()].is_null())
                    .collect();
                for p in props {
                    let present = shown.contains(p);
                    let value = &body["properties"][p.as_str()];
                    match cell {
                        crmgate::tools::matrix::Cell::Never => assert!(
                            !present,
                            "{user}/{purpose}/{id}: {p} shown, matrix says never"
                        ),
                        crmgate::tools::matrix::Cell::Clear => assert_eq!(
                            value,
                            &stored["properties"][p.as_str()],
                            "{user}/{purpose}/{id}: {p}"
                        ),
                        crmgate::tools::matrix::Cell::Masked { .. } => {
                            assert!(
                                present,
                                "{user}/{purpose}/{id}: {p} missing, matrix says masked"
                            );
                            assert_ne!(
                                value,
                                &stored["properties"][p.as_str()],
                                "{user}/{purpose}/{id}: {p} not masked"
                            );
                        }
                        crmgate::tools::matrix::Cell::Conditional { .. } => {}
                    }
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 100, "only {compared} comparisons");
}

#[test]
fn the_matrix_html_page_is_self_contained() {
    let out = crmgate()
        .args(["matrix", "--format", "html", "--config"])
        .arg(shipped_config())
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("class=\"masked\">month_day</td>"));
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
}

/// The active policy revision as the admin listener's `/metrics` reports it (works for the
/// binary too).
async fn active_revision(proxy: &Proxy) -> String {
    let (_, metrics) = crate::support::plain_get(proxy.admin, "/metrics").await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("crmgate_policy_revision_info{revision=\""))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// Wait until `/metrics` reports another revision than `old`; the new one.
async fn wait_for_active_revision_change(proxy: &Proxy, old: &str) -> String {
    for _ in 0..100 {
        let rev = active_revision(proxy).await;
        if !rev.is_empty() && rev != old {
            return rev;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, metrics) = crate::support::plain_get(proxy.admin, "/metrics").await;
    panic!("the policies were not reloaded: {metrics}");
}

async fn wait_for_revision_change(proxy: &Proxy, old: &str) -> String {
    for _ in 0..100 {
        let rev = proxy.gateway().policies().engine.revision().to_string();
        if rev != old {
            return rev;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the policies were not reloaded (failed reloads: {}, last error: {:?})",
        proxy
            .gateway()
            .reload_status()
            .failed
            .load(Ordering::Relaxed),
        proxy.gateway().reload_status().last_error.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_under_load_is_atomic_and_a_broken_set_never_replaces_the_active_one() {
    let santa = std::fs::read_to_string(repo().join("policies/santa.cedar")).unwrap();
    let proxy = std::sync::Arc::new(
        Proxy::start_with(Options {
            policies: Some(santa.clone()),
            ..Options::default()
        })
        .await,
    );
    let stored_phone = proxy.crm().record_json("contacts", "1001").unwrap()["properties"]["phone"]
        .as_str()
        .unwrap()
        .to_string();
    let old = proxy.gateway().policies().engine.revision().to_string();

    // Requests run while the policy changes: customer service loses the phone mask.
    let load = {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let mut replies = Vec::new();
            for _ in 0..60 {
                replies.push(
                    proxy
                        .get(
                            "/crm/v3/objects/contacts/1001?properties=phone",
                            "holly",
                            None,
                        )
                        .await,
                );
            }
            replies
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let unmasked = santa.replace("@mask(\"partial\")\n", "");
    assert_ne!(unmasked, santa);
    std::fs::write(proxy.dir.path().join("custom.cedar"), &unmasked).unwrap();
    let new = wait_for_revision_change(&proxy, &old).await;
    let replies = load.await.unwrap();

    let mut seen = std::collections::BTreeSet::new();
    for reply in replies.iter().chain(std::iter::once(
        &proxy
            .get(
                "/crm/v3/objects/contacts/1001?properties=phone",
                "holly",
                None,
            )
            .await,
    )) {
        assert_eq!(reply.status, 200);
        let phone = reply.json()["properties"]["phone"]
            .as_str()
            .unwrap()
            .to_string();
        let revision = proxy.audit_of(reply)["policy_revision"]
            .as_str()
            .unwrap()
            .to_string();
        if revision == old {
            assert!(phone.starts_with("***"), "old revision must mask: {phone}");
        } else {
            assert_eq!(revision, new);
            assert_eq!(phone, stored_phone, "new revision shows the phone");
        }
        seen.insert(revision);
    }
    assert!(seen.contains(&new));

    // A broken set is rejected; the active revision keeps serving.
    std::fs::write(
        proxy.dir.path().join("custom.cedar"),
        "permit (principal, action, resource) when { resource.nonsense };",
    )
    .unwrap();
    for _ in 0..100 {
        if proxy
            .gateway()
            .reload_status()
            .failed
            .load(Ordering::Relaxed)
            > 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        proxy
            .gateway()
            .reload_status()
            .failed
            .load(Ordering::Relaxed)
            > 0
    );
    let last = proxy
        .gateway()
        .reload_status()
        .last_error
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    assert!(last.contains("custom.cedar:1:"), "{last}");
    assert_eq!(proxy.gateway().policies().engine.revision(), new);
    // Operators see it: still ready (the active set serves), with the reason as a note,
    // and counted in the metrics.
    let (status, body) = crate::support::plain_get(proxy.admin, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(
        body["notes"]["policies"]
            .as_str()
            .unwrap()
            .contains("custom.cedar:1:"),
        "{body}"
    );
    let (_, metrics) = crate::support::plain_get(proxy.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_policy_reloads_total{result=\"rejected\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "crmgate_policy_revision_info{{revision=\"{new}\"}} 1"
        )),
        "{metrics}"
    );
    let reply = proxy
        .get(
            "/crm/v3/objects/contacts/1001?properties=phone",
            "holly",
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["properties"]["phone"], stored_phone.as_str());
}

/// The directory export is what says who works here: a user it no longer lists loses
/// access with the next reload, whatever credential they hold. (Before, the new set was
/// rejected because an API key named a missing user, and the old set kept them active.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_user_from_the_directory_revokes_their_api_key() {
    let entities = std::fs::read_to_string(repo().join("policies/entities.json")).unwrap();
    let proxy = Proxy::start_with(Options {
        binary: true,
        entities: Some(entities.clone()),
        ..Options::default()
    })
    .await;
    let contact = "/crm/v3/objects/contacts/1001";
    assert_eq!(proxy.get(contact, "noelle", None).await.status, 200);
    let old = active_revision(&proxy).await;
    // Let the file watcher take its first look before the file changes.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Noelle leaves: the next directory export no longer has her.
    let mut list: Vec<Value> = serde_json::from_str(&entities).unwrap();
    let before = list.len();
    list.retain(|e| !(e["uid"]["type"] == "User" && e["uid"]["id"] == "noelle"));
    assert_eq!(list.len(), before - 1);
    std::fs::write(
        proxy.dir.path().join("entities.json"),
        serde_json::to_string_pretty(&list).unwrap(),
    )
    .unwrap();
    let new = wait_for_active_revision_change(&proxy, &old).await;

    let reply = proxy.get(contact, "noelle", None).await;
    assert_eq!(reply.status, 401, "{}", reply.text());
    assert!(!reply.text().contains("firstname"), "{}", reply.text());
    let audit = proxy.audit_of(&reply);
    assert_eq!(audit["policy_revision"], new.as_str());
    assert_eq!(audit["decision"], "error");
    assert_eq!(audit["reason"], "unknown-principal");
    assert_eq!(proxy.crm().received().len(), 1, "only the request before");
    // Everyone else keeps working with the new set.
    assert_eq!(proxy.get(contact, "holly", None).await.status, 200);

    // Operators see it: still ready, a note naming the key's owner, and a gauge.
    let (status, body) = crate::support::plain_get(proxy.admin, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let note = body["notes"]["api_keys"].as_str().unwrap_or_default();
    assert!(note.contains("`noelle`"), "{body}");
    let (_, metrics) = crate::support::plain_get(proxy.admin, "/metrics").await;
    assert!(
        metrics.contains("crmgate_api_keys_without_principal 1"),
        "{metrics}"
    );
    // `crmgate check` on the same files warns about the key but accepts the set.
    let out = crmgate()
        .args(["check", "--config"])
        .arg(proxy.dir.path().join("crmgate.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("`noelle`"),
        "{stderr}"
    );

    // And back: listed again, let in again.
    std::fs::write(proxy.dir.path().join("entities.json"), &entities).unwrap();
    wait_for_active_revision_change(&proxy, &new).await;
    assert_eq!(proxy.get(contact, "noelle", None).await.status, 200);
}

/// The routes file classifies fields: a reclassification is a new policy revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_revision_changes_when_routes_change() {
    let routes = std::fs::read_to_string(repo().join("policies/routes.toml")).unwrap();
    let proxy = Proxy::start_with(Options {
        binary: true,
        routes: Some(routes.clone()),
        ..Options::default()
    })
    .await;
    let old = active_revision(&proxy).await;
    assert!(!old.is_empty());
    // Let the file watcher take its first look before the file changes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // `jobtitle` moves from the company group to identity.
    let reclassified = routes
        .replacen(
            "company = [\"company\", \"jobtitle\"]",
            "company = [\"company\"]",
            1,
        )
        .replacen(
            "identity = [\"firstname\", \"lastname\", \"salutation\"]",
            "identity = [\"firstname\", \"lastname\", \"salutation\", \"jobtitle\"]",
            1,
        );
    assert_ne!(reclassified, routes);
    std::fs::write(proxy.dir.path().join("routes.toml"), &reclassified).unwrap();
    // A reclassification that kept the revision would never show a new one here.
    let new = wait_for_active_revision_change(&proxy, &old).await;
    assert_ne!(new, old, "a reclassification kept the policy revision");
    let reply = proxy
        .get("/crm/v3/objects/contacts/1001", "noelle", None)
        .await;
    assert_eq!(proxy.audit_of(&reply)["policy_revision"], new.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_route_audits_its_decisions_but_releases_the_upstream_body() {
    let routes = std::fs::read_to_string(repo().join("policies/routes.toml")).unwrap();
    let shadowed = routes.replace(
        "name = \"contacts.get\"\n",
        "name = \"contacts.get\"\nshadow = true\n",
    );
    assert_ne!(routes, shadowed);
    let proxy = Proxy::start_with(Options {
        routes: Some(shadowed),
        ..Options::default()
    })
    .await;
    // Product marketing may not see customer 1001: enforced, that would be a 404.
    let reply = proxy
        .get(
            "/crm/v3/objects/contacts/1001?properties=firstname,billing_iban",
            "tinsel",
            Some("product_marketing"),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json()["properties"]["billing_iban"].is_string());
    let audit = proxy.audit_of(&reply);
    assert_eq!(audit["shadow"], true);
    // What enforcement would have done (the record is released all the same).
    assert_eq!(audit["would_have"]["rows_dropped"][0], "1001");
    // Other routes still enforce.
    let list = proxy
        .get(
            "/crm/v3/objects/contacts?limit=5&properties=billing_iban",
            "tinsel",
            Some("product_marketing"),
        )
        .await;
    assert!(!list.text().contains("billing_iban"));
}

#[test]
fn syntax_errors_in_policies_and_test_files_are_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("syntax.cedar");
    std::fs::write(
        &bad,
        "permit (principal, action, resource);\n\npermit (principal action, resource);\n",
    )
    .unwrap();
    let cfg = write_config(dir.path(), "127.0.0.1:9".parse().unwrap(), &bad, 1 << 20);
    for cmd in ["check", "test", "matrix"] {
        let out = crmgate()
            .args([cmd, "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{cmd}: {stderr}");
        assert!(stderr.contains("syntax.cedar:3:"), "{cmd}: {stderr}");
    }

    let tests = dir.path().join("tests");
    std::fs::create_dir(&tests).unwrap();
    std::fs::write(
        tests.join("broken.json"),
        "[\n  {\"name\": \"x\",\n   \"request\": }\n]\n",
    )
    .unwrap();
    let out = crmgate()
        .args(["test", "--config"])
        .arg(shipped_config())
        .arg(&tests)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken.json:3:"), "{stderr}");
}
