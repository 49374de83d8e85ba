//! Salesforce's writes through crmgate, over real sockets, in front of the Salesforce-shaped
//! demo CRM (with its OAuth token endpoint): per persona the allowed, stripped and refused
//! fields; hidden equals missing; upserts by a lookup field the path names; redaction and
//! provenance; the write's intent durable before it is forwarded — and what reached the CRM.

use crate::support::copy_dir;
use std::sync::Arc;

use democrm::salesforce::SalesforceCrm;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::support::{Options, Proxy, Reply, Upstream};

const API: &str = "/services/data/v62.0";
const SECRET: &str = "sf-demo-secret-4c1d";

/// crmgate with the Salesforce profile and routes in front of the Salesforce demo CRM,
/// its credential an OAuth token from the CRM's token endpoint.
pub(crate) struct Sf {
    pub proxy: Proxy,
    pub crm: Arc<SalesforceCrm>,
}

impl Sf {
    pub(crate) async fn start() -> Sf {
        Sf::start_with(SalesforceCrm::seeded()).await
    }

    pub(crate) async fn start_with(crm: SalesforceCrm) -> Sf {
        Sf::start_with_policies(crm, None).await
    }

    /// With Cedar text instead of the shipped policies.
    pub(crate) async fn start_with_policies(crm: SalesforceCrm, policies: Option<String>) -> Sf {
        Sf::start_with_options(
            crm,
            Options {
                policies,
                ..Options::default()
            },
        )
        .await
    }

    /// With these options (its upstream, routes and credential are the Salesforce demo's).
    pub(crate) async fn start_with_options(crm: SalesforceCrm, opts: Options) -> Sf {
        let crm = Arc::new(crm.with_oauth(SECRET));
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(democrm::salesforce::serve(
            crm.clone(),
            l,
            std::future::pending(),
        ));
        std::env::set_var("CRMGATE_TEST_SF_SECRET", SECRET);
        let routes =
            std::fs::read_to_string(crate::support::repo().join("policies/salesforce/routes.toml"))
                .unwrap();
        let proxy = Proxy::start_with(Options {
            upstream: Upstream::Addr(addr),
            routes: Some(routes),
            upstream_credential: Some(format!(
                "vendor = \"salesforce\"\noauth = {{ token_url = \"http://{addr}/services/oauth2/token\", \
                 grant = \"client_credentials\", client_id = \"crmgate-demo\", \
                 client_secret_env = \"CRMGATE_TEST_SF_SECRET\" }}"
            )),
            ..opts
        })
        .await;
        Sf { proxy, crm }
    }

    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        user: &str,
        body: Option<Value>,
    ) -> Reply {
        self.proxy
            .request(method, &format!("{API}{path}"), Some(user), None, body)
            .await
    }

    /// The write requests (not reads) the CRM received: method and path.
    pub(crate) fn writes_received(&self) -> Vec<(String, String)> {
        self.crm
            .received()
            .into_iter()
            .filter(|r| r.method != "GET" && !r.path_and_query.contains("oauth2"))
            .map(|r| (r.method, r.path_and_query))
            .collect()
    }

    /// The bodies of the write requests the CRM received with this method.
    pub(crate) fn bodies(&self, method: &str) -> Vec<Value> {
        self.crm
            .received()
            .into_iter()
            .filter(|r| r.method == method && !r.path_and_query.contains("oauth2"))
            .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            .collect()
    }

    pub(crate) fn stored(&self, id: &str) -> Value {
        self.crm.record(id).unwrap_or(Value::Null)
    }
}

/// Contact 1001 (a customer), contact 1036 (a subscriber: a prospect).
const CONTACT: &str = "003Dm0000001001";
const PROSPECT: &str = "003Dm0000001036";

/// A problem body without what differs between two requests.
fn comparable(r: &Reply) -> Value {
    let mut v = r.json();
    if let Some(a) = v.as_array_mut() {
        for e in a {
            if let Some(o) = e.as_object_mut() {
                o.remove("request_id");
            }
        }
    }
    v
}

/// A prospect as the wish-list form sends it.
fn prospect(email: &str, wish: &str) -> Value {
    json!({
        "attributes": {"type": "Contact"},
        "FirstName": "Ada", "LastName": "Frost", "Email": email,
        "Lifecycle__c": "lead", "Wish_Text__c": wish, "Consent_Marketing__c": true
    })
}

/// Every entry of the audit log (requests, intents, checkpoints), in order.
fn log_entries(proxy: &Proxy) -> Vec<Value> {
    crmgate::audit::list_segments(&proxy.audit_dir())
        .unwrap()
        .iter()
        .flat_map(|(_, p)| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_strips_what_the_caller_may_not_write_and_stamps_its_provenance() {
    let sf = Sf::start().await;
    let mut body = prospect("ada.frost@example.org", "A sledge, please.");
    body["Billing_IBAN__c"] = json!("DE89370400440532013000");
    body["Photo_URL__c"] = json!("https://img.example/ada.jpg");
    body["Made_Up__c"] = json!("x");
    body["Data_Source__c"] = json!("purchased_list");
    let r = sf
        .send("POST", "/sobjects/Contact", "wishlist", Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.headers["x-crmgate-stripped"].to_str().unwrap(),
        "billing, photo, unclassified"
    );
    let answer = r.json();
    assert_eq!(answer["success"], true, "{answer}");
    assert_eq!(answer["errors"], json!([]));
    let id = answer["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 18);
    // What reached the CRM: the rebuilt body, typed as sent, without what was stripped,
    // with crmgate's provenance instead of the client's.
    let sent = sf.bodies("POST");
    assert_eq!(sent.len(), 1, "{sent:?}");
    let sent = sent[0].as_object().unwrap();
    for gone in [
        "Billing_IBAN__c",
        "Photo_URL__c",
        "Made_Up__c",
        "attributes",
    ] {
        assert!(!sent.contains_key(gone), "{gone} reached the CRM: {sent:?}");
    }
    assert_eq!(sent["Consent_Marketing__c"], json!(true));
    assert_eq!(sent["Data_Source__c"], "wish_list_form");
    let stored = sf.stored(&id);
    assert_eq!(stored["Data_Source__c"], "wish_list_form");
    assert_eq!(stored["Email"], "ada.frost@example.org");
    assert!(stored["Billing_IBAN__c"].is_null());
    assert!(stored["Data_Source_Basis__c"]
        .as_str()
        .unwrap()
        .starts_with("Art. 6"));
    let audit = sf.proxy.audit_of(&r);
    let w = &audit["writes"][0];
    assert_eq!(w["action"], "create");
    assert_eq!(w["outcome"], "forwarded");
    // The created record's id, from the CRM's answer.
    assert_eq!(w["id"], json!(id));
    assert_eq!(w["stripped"], json!(["billing", "photo", "unclassified"]));
    assert_eq!(
        w["stamped"],
        json!([
            "Data_Source__c",
            "Data_Source_At__c",
            "Data_Source_Basis__c"
        ])
    );
    assert_eq!(w["replaced"], json!(["Data_Source__c"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_field_refuses_the_whole_update_and_nothing_is_sent() {
    let sf = Sf::start().await;
    let path = format!("/sobjects/Contact/{CONTACT}");
    let r = sf
        .send(
            "PATCH",
            &path,
            "noelle",
            Some(json!({"FirstName": "Nick", "Billing_IBAN__c": "DE02120300000000202051"})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let problem = &r.json()[0];
    assert_eq!(problem["errorCode"], "INSUFFICIENT_ACCESS_OR_READONLY");
    assert_eq!(problem["type"], "urn:crmgate:problem:write-refused");
    assert!(problem["message"].as_str().unwrap().contains("`billing`"));
    assert!(
        sf.writes_received().is_empty(),
        "{:?}",
        sf.writes_received()
    );
    assert_eq!(sf.proxy.audit_of(&r)["writes"][0]["outcome"], "refused");
    // Without the refused group the update goes through, its checkbox a boolean.
    let ok = sf
        .send(
            "PATCH",
            &path,
            "noelle",
            Some(json!({"FirstName": "Nick", "Consent_Greetings__c": false})),
        )
        .await;
    assert_eq!(ok.status, 204, "{}", ok.text());
    let stored = sf.stored(CONTACT);
    assert_eq!(stored["FirstName"], "Nick");
    assert_eq!(stored["Consent_Greetings__c"], json!(false));
    assert_eq!(
        sf.bodies("PATCH"),
        [json!({"FirstName": "Nick", "Consent_Greetings__c": false})]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_record_answers_like_a_missing_one() {
    let sf = Sf::start().await;
    // Marketing does not see customers: contact 1001 is not there for it.
    let body = json!({"Consent_Marketing__c": false});
    for method in ["PATCH", "DELETE"] {
        let b = (method == "PATCH").then(|| body.clone());
        let hidden = sf
            .send(
                method,
                &format!("/sobjects/Contact/{CONTACT}"),
                "tinsel",
                b.clone(),
            )
            .await;
        let missing = sf
            .send(
                method,
                "/sobjects/Contact/003Dm0000009999",
                "tinsel",
                b.clone(),
            )
            .await;
        let no_id = sf
            .send(method, "/sobjects/Contact/1001", "tinsel", b.clone())
            .await;
        for r in [&hidden, &missing, &no_id] {
            assert_eq!(r.status, 404, "{method}: {}", r.text());
            assert_eq!(r.json()[0]["errorCode"], "NOT_FOUND");
        }
        assert_eq!(comparable(&hidden), comparable(&missing), "{method}");
        assert_eq!(comparable(&hidden), comparable(&no_id), "{method}");
        let names = |r: &Reply| {
            let mut v: Vec<String> = r
                .headers
                .keys()
                .map(|k| k.as_str().to_string())
                .filter(|k| k != "date")
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&hidden), names(&missing), "{method}");
    }
    assert!(
        sf.writes_received().is_empty(),
        "{:?}",
        sf.writes_received()
    );
    // Marketing may keep a prospect's consent up to date.
    let prospect = sf
        .send(
            "PATCH",
            &format!("/sobjects/Contact/{PROSPECT}"),
            "tinsel",
            Some(body),
        )
        .await;
    assert_eq!(prospect.status, 204, "{}", prospect.text());
    assert_eq!(sf.stored(PROSPECT)["Consent_Marketing__c"], json!(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_is_decided_on_the_stored_record() {
    let sf = Sf::start().await;
    // Sales may not delete; customer service may.
    let noelle = sf
        .send(
            "DELETE",
            &format!("/sobjects/Contact/{CONTACT}"),
            "noelle",
            None,
        )
        .await;
    assert_eq!(noelle.status, 403, "{}", noelle.text());
    assert!(sf.writes_received().is_empty());
    let holly = sf
        .send(
            "DELETE",
            &format!("/sobjects/Contact/{CONTACT}"),
            "holly",
            None,
        )
        .await;
    assert_eq!(holly.status, 204, "{}", holly.text());
    assert_eq!(sf.stored(CONTACT)["IsDeleted"], json!(true));
    // Deleted, it is missing: a second delete answers as for any missing record.
    let again = sf
        .send(
            "DELETE",
            &format!("/sobjects/Contact/{CONTACT}"),
            "holly",
            None,
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.text());
    assert_eq!(sf.writes_received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_by_a_lookup_field_creates_or_updates_and_is_a_selection() {
    let sf = Sf::start().await;
    let r = sf
        .send(
            "PATCH",
            "/sobjects/Contact/External_Id__c/C-1001",
            "noelle",
            Some(json!({"Title": "Chief Present Officer"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["created"], false, "{}", r.text());
    assert_eq!(sf.stored(CONTACT)["Title"], "Chief Present Officer");
    assert_eq!(sf.proxy.audit_of(&r)["writes"][0]["action"], "update");
    let r = sf
        .send(
            "PATCH",
            "/sobjects/Contact/External_Id__c/C-9001",
            "noelle",
            Some(json!({"LastName": "Frost", "Lifecycle__c": "customer"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["created"], true);
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(sf.stored(&id)["Data_Source__c"], "order");
    assert_eq!(sf.proxy.audit_of(&r)["writes"][0]["action"], "create");
    // The lookup field goes in the path, not the body.
    let r = sf
        .send(
            "PATCH",
            "/sobjects/Contact/External_Id__c/C-1001",
            "noelle",
            Some(json!({"External_Id__c": "C-1"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_cannot_look_records_up_by_a_field_the_caller_does_not_see_in_clear() {
    // Marketing, here without e-mail addresses in clear: a lookup by one would tell who
    // has which address (404 or not), so it is refused before anything is read.
    let santa =
        std::fs::read_to_string(crate::support::repo().join("policies/santa.cedar")).unwrap();
    let sf = Sf::start_with_policies(
        SalesforceCrm::seeded(),
        Some(format!(
            "{santa}\n@id(\"no-email-for-marketing\")\nforbid (principal in Department::\"marketing\", \
             action == Action::\"read.email\", resource is Contact);\n"
        )),
    )
    .await;
    let email = sf.stored(PROSPECT)["Email"].as_str().unwrap().to_string();
    for value in [email.as_str(), "nobody@example.org"] {
        let r = sf
            .send(
                "PATCH",
                &format!("/sobjects/Contact/Email/{value}"),
                "tinsel",
                Some(json!({"Consent_Marketing__c": false})),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(r.json()[0]["type"], "urn:crmgate:problem:hidden-selection");
    }
    let reads: Vec<String> = sf
        .crm
        .received()
        .into_iter()
        .filter(|r| !r.path_and_query.contains("oauth2"))
        .map(|r| r.path_and_query)
        .collect();
    assert!(reads.is_empty(), "nothing read or written: {reads:?}");
    // Sales sees e-mail addresses in clear: by e-mail the upsert finds its customer.
    let email = sf.stored(CONTACT)["Email"].as_str().unwrap().to_string();
    let r = sf
        .send(
            "PATCH",
            &format!("/sobjects/Contact/Email/{email}"),
            "noelle",
            Some(json!({"Title": "By mail"})),
        )
        .await;
    assert_eq!(
        r.status,
        200,
        "{} {:?}",
        r.text(),
        sf.crm
            .received()
            .iter()
            .map(|r| r.path_and_query.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(sf.stored(CONTACT)["Title"], "By mail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_is_redacted_before_it_reaches_the_crm() {
    let sf = Sf::start().await;
    let wish = "Ich habe Diabetes und wünsche mir zuckerfreie Plätzchen. \
                Meine IBAN: DE89 3704 0044 0532 0130 00.";
    let r = sf
        .send(
            "POST",
            "/sobjects/Contact",
            "wishlist",
            Some(prospect("jo.frost@example.org", wish)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let notice = r.headers["x-crmgate-redacted"].to_str().unwrap();
    assert!(
        notice.contains("health") && notice.contains("iban"),
        "{notice}"
    );
    let ledger: Vec<String> = sf
        .crm
        .received()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    for secret in ["Diabetes", "0532", "3704"] {
        assert!(
            ledger.iter().all(|b| !b.contains(secret)),
            "{secret} reached the CRM: {ledger:?}"
        );
    }
    let id = r.json()["id"].as_str().unwrap().to_string();
    let stored = sf.stored(&id)["Wish_Text__c"].as_str().unwrap().to_string();
    assert!(
        stored.contains("zuckerfreie") && !stored.contains("Diabetes"),
        "{stored}"
    );
    let audit = sf.proxy.audit_of(&r);
    assert_eq!(
        audit["writes"][0]["redacted"]["Wish_Text__c"]["health"], 1,
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intent_of_a_write_is_in_the_log_before_its_record() {
    let sf = Sf::start().await;
    let r = sf
        .send(
            "POST",
            "/sobjects/Contact",
            "wishlist",
            Some(prospect("eve.hail@example.org", "A kite.")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let rid = r.headers["x-request-id"].to_str().unwrap().to_string();
    let entries: Vec<Value> = log_entries(&sf.proxy)
        .into_iter()
        .filter(|e| e["request_id"] == rid.as_str())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["kind"], "write_intent");
    assert_eq!(entries[0]["writes"][0]["action"], "create");
    assert_eq!(entries[1]["status"], 201);
    assert!(entries[0]["seq"].as_u64() < entries[1]["seq"].as_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oauth_token_is_fetched_once_and_an_expired_one_is_never_renewed_for_a_write() {
    let sf = Sf::start().await;
    let path = format!("/sobjects/Contact/{CONTACT}");
    for name in ["A", "B", "C"] {
        let r = sf
            .send("PATCH", &path, "noelle", Some(json!({"FirstName": name})))
            .await;
        assert_eq!(r.status, 204, "{}", r.text());
    }
    assert_eq!(sf.crm.token_grants(), 1, "one token for every request");
    // The session ends: the read before the write renews the token once and goes on.
    sf.crm.expire_tokens();
    let r = sf
        .send("PATCH", &path, "noelle", Some(json!({"FirstName": "D"})))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(sf.crm.token_grants(), 2);
    assert_eq!(sf.stored(CONTACT)["FirstName"], "D");
    for r in sf.crm.received() {
        assert!(!String::from_utf8_lossy(&r.body).contains("noelle"));
    }
}

/// `crmgate demo --vendor salesforce`: the proxy in front of the Salesforce demo CRM with
/// the Salesforce configuration, the tour in its dialect, and a printed request answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_in_front_of_the_salesforce_demo_crm() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    copy_dir(
        &crate::support::repo().join("policies"),
        &d.join("policies"),
    );
    copy_dir(&crate::support::repo().join("certs"), &d.join("certs"));
    let config = d.join("policies/salesforce/crmgate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replacen("addr = \"127.0.0.1:9901\"", "addr = \"127.0.0.1:0\"", 1),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(["demo", "--vendor", "salesforce", "--listen", "127.0.0.1:0"])
        .args(["--config", "policies/salesforce/crmgate.toml"])
        .current_dir(d)
        .env_remove("CRMGATE_UPSTREAM_TOKEN")
        .env_remove("CRMGATE_HASH_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = crate::support::ChildGuard::from_child(child);
    let printed = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut out = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            out.push_str(&line);
            out.push('\n');
            if line.starts_with("Serving until") {
                break;
            }
        }
        out
    });
    let printed = tokio::time::timeout(std::time::Duration::from_secs(60), printed)
        .await
        .expect("the demo did not finish its tour")
        .unwrap();
    assert!(printed.contains("Salesforce-shaped"), "{printed}");
    assert!(
        printed.contains("What each department sees of Contact"),
        "{printed}"
    );
    assert!(printed.contains("noelle"), "{printed}");
    let port: u16 = printed
        .split("https://localhost:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .expect("the demo prints its port");
    let client = crate::support::https_client();
    let request = http::Request::builder()
        .uri(format!(
            "https://127.0.0.1:{port}{API}/sobjects/Contact/{CONTACT}IAA"
        ))
        .header("authorization", "Bearer demo-key-noelle")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let answer = client.request(request).await.unwrap();
    let status = answer.status();
    let body = http_body_util::BodyExt::collect(answer.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    drop(guard);
}

/// The deletion concept through Salesforce's API, as the demo configuration names it:
/// `retention plan` lists every record with a query (its next pages by `nextRecordsUrl`),
/// `apply` deletes (to the recycle bin: the REST API has no delete for good, so an erasure
/// is a delete too) and clears fields with writes through crmgate, each decided and audited
/// like any write; the deletion record says how long Salesforce keeps a record restorable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_plan_and_apply_work_through_the_salesforce_api() {
    use crmgate::tools::retention::{self as tool, ApplyOptions, Connection};
    let rules_path = crate::support::repo().join("policies/salesforce/retention.toml");
    let sf = Sf::start_with_options(
        SalesforceCrm::seeded().with_page_size(20),
        Options {
            policy_lines: format!("retention = \"{}\"", rules_path.display()),
            extra_config: "[retention]\ntoday = \"2026-12-02\"\n".into(),
            ..Options::default()
        },
    )
    .await;
    let config = crmgate::config::Config::load(&sf.proxy.dir.path().join("crmgate.toml")).unwrap();
    let clock = config.policies.retention_clock;
    let policies = crmgate::startup::app::load_policies(&config).unwrap();
    let conn = Connection {
        base: format!("https://localhost:{}", sf.proxy.addr.port()),
        key: "demo-key-retention".into(),
        ca: Some(crate::support::repo().join("certs/ca.pem")),
        rate: 0.0,
        max_pages: 50,
    };
    let plan = tool::plan(&policies, clock, &conn).await.unwrap();
    let due: Vec<_> = plan.entries.iter().filter(|e| !e.is_held()).collect();
    assert!(!due.is_empty(), "{:?}", plan.entries);
    for action in ["gdpr_delete", "archive", "anonymise"] {
        assert!(
            due.iter().any(|e| e.action == action),
            "no `{action}` is due: {:?}",
            plan.entries
        );
    }
    assert!(
        plan.entries.iter().all(|e| e.id.len() == 18),
        "{:?}",
        plan.entries
    );
    assert!(sf.writes_received().is_empty(), "planning changes nothing");
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("checkpoint.jsonl");
    let opts = ApplyOptions {
        checkpoint: checkpoint.clone(),
        crash_after: None,
    };
    let applied = tool::apply(&policies, clock, &conn, &opts).await.unwrap();
    assert!(applied.failed.is_empty(), "{:?}", applied.failed);
    assert_eq!(applied.done, due.len(), "{applied:?}");
    for e in &due {
        let stored = sf.stored(&e.id);
        match e.action.as_str() {
            "archive" | "gdpr_delete" => assert_eq!(stored["IsDeleted"], json!(true), "{}", e.id),
            _ => {
                for p in &e.properties {
                    assert!(stored[p.as_str()].is_null(), "{} {p}: {stored}", e.id);
                }
            }
        }
    }
    let record = crmgate::tools::docs::deletion::compute(
        &config,
        &policies,
        std::slice::from_ref(&checkpoint),
        "2026-12-02",
    )
    .unwrap();
    assert_eq!(record.vendor_restore_days, Some(15));
    let erased: Vec<_> = record
        .deleted
        .iter()
        .filter(|d| d.action == "gdpr_delete")
        .collect();
    assert!(!erased.is_empty(), "{:?}", record.deleted);
    assert!(
        erased.iter().all(|d| d.restorable_until.is_some()),
        "an erased record is in the recycle bin for 15 days: {erased:?}"
    );
}

/// `crmgate explain` reads an upsert's lookup from the path (`…/Contact/External_Id__c/X`)
/// as from a query: it names the lookup and does not answer a decision the proxy's
/// selection check may overturn; the same body by id is decided.
#[test]
fn explain_recognises_an_upsert_by_a_lookup_field_in_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("write.json");
    std::fs::write(
        &sample,
        json!({"request": {"Title": "Elf"}, "stored": []}).to_string(),
    )
    .unwrap();
    let explain = |path: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
            .args(["explain", "--config"])
            .arg(crate::support::repo().join("policies/salesforce/crmgate.toml"))
            .args([
                "--user", "noelle", "--method", "PATCH", "--path", path, "--sample",
            ])
            .arg(&sample)
            .output()
            .unwrap()
    };
    let out = explain("/services/data/v62.0/sobjects/Contact/External_Id__c/SANTA-42");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("`External_Id__c`") && stderr.contains("hidden-selection"),
        "{stderr}"
    );
    let out = explain("/services/data/v62.0/sobjects/Contact/003Dm0000001001IAA");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
