//! Tests of the Salesforce-shaped demo over a real socket: records in
//! Salesforce's shape, ids, the recycle bin, and each construct of the SOQL
//! subset checked against the seed itself, paging and query errors. They must
//! never depend on crmgate.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::{exchange, Answer};
use crate::model::Record;
use crate::salesforce::{serve, SalesforceCrm};
use crate::seed;

pub(super) const V: &str = "/services/data/v62.0";

pub(super) struct Sf {
    pub(super) crm: Arc<SalesforceCrm>,
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

pub(super) async fn start(crm: SalesforceCrm) -> Sf {
    let crm = Arc::new(crm);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(Arc::clone(&crm), listener, async {
        let _ = stopped.await;
    }));
    Sf {
        crm,
        addr,
        _stop: stop,
    }
}

impl Sf {
    pub(super) async fn call(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        exchange(&mut stream, method, target, headers, body).await
    }

    pub(super) async fn get(&self, target: &str) -> Answer {
        self.call("GET", target, &[], None).await
    }

    /// The records of a query, every page followed.
    pub(super) async fn query(&self, soql: &str) -> Vec<Value> {
        let first = self.get(&query_url("query", soql)).await;
        assert_eq!(first.status, 200, "{soql}: {}", first.json);
        let mut records = first.json["records"].as_array().unwrap().clone();
        let mut next = first.json["nextRecordsUrl"].as_str().map(str::to_string);
        while let Some(url) = next {
            let page = self.get(&url).await;
            assert_eq!(page.status, 200, "{}", page.json);
            records.extend(page.json["records"].as_array().unwrap().iter().cloned());
            next = page.json["nextRecordsUrl"].as_str().map(str::to_string);
        }
        records
    }

    /// The HubSpot numbers of the records a query answers, in order.
    pub(super) async fn numbers(&self, soql: &str) -> Vec<u64> {
        self.query(soql).await.iter().map(number).collect()
    }
}

pub(super) fn query_url(path: &str, soql: &str) -> String {
    let encoded: String = soql
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    format!("{V}/{path}?q={encoded}")
}

/// The HubSpot number inside a record's 18-character `Id`.
pub(super) fn number(record: &Value) -> u64 {
    let id = record["Id"].as_str().unwrap();
    assert_eq!(id.len(), 18, "{id}");
    id[5..15].parse().unwrap()
}

pub(super) fn assert_sf_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.json);
    assert!(answer.head.contains("content-type: application/json"));
    let errors = answer.json.as_array().unwrap();
    assert_eq!(errors.len(), 1, "{}", answer.json);
    assert_eq!(errors[0]["errorCode"], code, "{}", answer.json);
    assert!(errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

/// The seed's contacts that are the given sObject type, live ones only.
fn seed_people(lead: bool) -> Vec<Record> {
    seed::contacts()
        .into_iter()
        .filter(|r| !r.is_archived())
        .filter(|r| (r.properties["lifecyclestage"] == "lead") == lead)
        .collect()
}

fn numbers_where(records: &[Record], keep: impl Fn(&Record) -> bool) -> Vec<u64> {
    records
        .iter()
        .filter(|r| keep(r))
        .map(|r| r.id.parse().unwrap())
        .collect()
}

fn prop<'a>(record: &'a Record, name: &str) -> &'a str {
    record.properties.get(name).map_or("", String::as_str)
}

#[tokio::test]
async fn a_record_reads_in_salesforces_shape_by_either_id_form() {
    let sf = start(SalesforceCrm::seeded()).await;
    for id in ["003Dm0000001001", "003Dm0000001001IAA"] {
        let answer = sf.get(&format!("{V}/sobjects/Contact/{id}")).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        let record = &answer.json;
        assert_eq!(
            record["attributes"],
            json!({"type": "Contact", "url": format!("{V}/sobjects/Contact/003Dm0000001001IAA")})
        );
        assert_eq!(record["Id"], "003Dm0000001001IAA");
        assert_eq!(record["FirstName"], "Ebenezer");
        assert_eq!(record["Name"], "Ebenezer Scrooge");
        assert_eq!(record["Consent_Greetings__c"], true);
        assert_eq!(record["Consent_Marketing__c"], false);
        assert_eq!(record["Birthdate"], "1953-12-19");
        assert_eq!(record["AccountId"], "001Dm0000002001IAA");
        assert_eq!(record["External_Id__c"], "C-1001");
        assert_eq!(record["Data_Source_At__c"], Value::Null);
        assert_eq!(record["IsDeleted"], false);
        let created = record["CreatedDate"].as_str().unwrap();
        assert_eq!(created.len(), 28, "{created}");
        assert!(
            created.ends_with("+0000") && &created[10..11] == "T",
            "{created}"
        );
        assert_eq!(record["SystemModstamp"], record["LastModifiedDate"]);
        let keys: Vec<&String> = record.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "attributes");
        assert_eq!(keys.len(), 39, "{keys:?}");
    }
    let fields = sf
        .get(&format!(
            "{V}/sobjects/contact/003Dm0000001001?fields=firstname,Email"
        ))
        .await;
    let keys: Vec<&String> = fields.json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["attributes", "FirstName", "Email", "Id"]);
    let account = sf
        .get(&format!("{V}/sobjects/Account/001Dm0000002001"))
        .await;
    assert_eq!(account.json["Name"], "Scrooge & Marley Counting House");
    assert_eq!(account.json["NumberOfEmployees"], 12);
    assert_eq!(account.json["AnnualRevenue"], 2_500_000.0);
    assert_eq!(account.json["External_Id__c"], "A-2001");
}

#[tokio::test]
async fn leads_are_leads_and_other_contacts_contacts() {
    let sf = start(SalesforceCrm::seeded()).await;
    let leads = seed_people(true);
    let lead = &leads[0];
    let id = format!("00QDm{:010}", lead.id.parse::<u64>().unwrap());
    let answer = sf.get(&format!("{V}/sobjects/Lead/{id}")).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json["attributes"]["type"], "Lead");
    assert_eq!(answer.json["Lifecycle__c"], "lead");
    assert!(answer.json.get("Birthdate__c").is_some() && answer.json.get("Birthdate").is_none());
    // The same number under the other type is no record.
    let wrong = sf
        .get(&format!(
            "{V}/sobjects/Contact/003Dm{:010}",
            lead.id.parse::<u64>().unwrap()
        ))
        .await;
    assert_sf_error(&wrong, 404, "NOT_FOUND");
    assert_eq!(
        sf.numbers("SELECT Id FROM Lead").await,
        numbers_where(&leads, |_| true)
    );
    assert_eq!(
        sf.numbers("SELECT Id FROM Contact").await,
        numbers_where(&seed_people(false), |_| true)
    );
    assert_eq!(
        sf.numbers("SELECT Id FROM Account").await,
        (2001..=2015).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn deleted_records_are_missing_except_to_query_all() {
    let sf = start(SalesforceCrm::seeded()).await;
    for (kind, id) in [("Contact", "003Dm0000001069"), ("Lead", "00QDm0000001070")] {
        let answer = sf.get(&format!("{V}/sobjects/{kind}/{id}")).await;
        assert_sf_error(&answer, 404, "NOT_FOUND");
        assert_eq!(
            answer.json[0]["message"],
            "The requested resource does not exist"
        );
    }
    let live = sf
        .numbers("SELECT Id FROM Contact WHERE Id = '003Dm0000001069'")
        .await;
    assert!(live.is_empty());
    let all = sf
        .get(&query_url(
            "queryAll",
            "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true",
        ))
        .await;
    assert_eq!(all.json["totalSize"], 1, "{}", all.json);
    assert_eq!(all.json["records"][0]["Id"], "003Dm0000001069IAA");
    assert_eq!(all.json["records"][0]["IsDeleted"], true);
    let count = sf
        .get(&query_url("queryAll", "SELECT COUNT() FROM Lead"))
        .await;
    assert_eq!(count.json["totalSize"], seed_people(true).len() + 1);
}

#[tokio::test]
async fn unknown_resources_answer_not_found_in_salesforces_shape() {
    let sf = start(SalesforceCrm::seeded()).await;
    for target in [
        format!("{V}/sobjects/Opportunity/006Dm0000000001"),
        format!("{V}/sobjects/Contact/003Dm0000009999"),
        format!("{V}/sobjects/Contact/not-an-id"),
        format!("{V}/search?q=FIND+%7BScrooge%7D"),
        format!("{V}/tooling/query?q=SELECT+Id+FROM+ApexClass"),
        "/services/apexrest/santa".to_string(),
        "/crm/v3/objects/contacts".to_string(),
    ] {
        assert_sf_error(&sf.get(&target).await, 404, "NOT_FOUND");
    }
    let versions = sf.get("/services/data").await;
    assert_eq!(versions.status, 200);
    assert!(versions
        .json
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["version"] == "62.0"));
    let resources = sf.get(V).await;
    assert_eq!(resources.json["query"], format!("{V}/query"));
}

#[tokio::test]
async fn parent_fields_come_nested_and_filter_through_the_parent() {
    let sf = start(SalesforceCrm::seeded()).await;
    let records = sf
        .query("SELECT Id, account.name, Account.Industry, LastName FROM Contact WHERE Id IN ('003Dm0000001001IAA', '003Dm0000001002') ORDER BY Id")
        .await;
    assert_eq!(
        records[0]["Account"],
        json!({
            "attributes": {"type": "Account", "url": format!("{V}/sobjects/Account/001Dm0000002001IAA")},
            "Name": "Scrooge & Marley Counting House",
            "Industry": "FINANCIAL_SERVICES",
        })
    );
    let keys: Vec<&String> = records[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["attributes", "Id", "Account", "LastName"]);
    assert_eq!(records[1]["Account"], Value::Null);
    let expected: Vec<u64> = numbers_where(&seed_people(false), |r| {
        r.associations.first().is_some_and(|c| c == "2001")
    });
    assert_eq!(
        sf.numbers("SELECT Id FROM Contact WHERE Account.Name LIKE 'scrooge%'")
            .await,
        expected
    );
    let no_account = numbers_where(&seed_people(false), |r| r.associations.is_empty());
    assert_eq!(
        sf.numbers("SELECT Id FROM Contact WHERE Account.Name = null")
            .await,
        no_account
    );
}

#[tokio::test]
async fn each_condition_of_the_subset_selects_what_the_seed_says() {
    let sf = start(SalesforceCrm::seeded()).await;
    let people = seed_people(false);
    let leads = seed_people(true);
    let cases: Vec<(&str, Vec<u64>)> = vec![
        ("LastName LIKE 'scr%'", numbers_where(&people, |r| prop(r, "lastname").to_lowercase().starts_with("scr"))),
        ("FirstName LIKE '_ob'", numbers_where(&people, |r| prop(r, "firstname").len() == 3 && prop(r, "firstname").to_lowercase().ends_with("ob"))),
        ("LastName = 'STAHLBAUM'", numbers_where(&people, |r| prop(r, "lastname") == "Stahlbaum")),
        ("LastName != 'Stahlbaum'", numbers_where(&people, |r| prop(r, "lastname") != "Stahlbaum")),
        ("Lifecycle__c IN ('customer', 'other')", numbers_where(&people, |r| matches!(prop(r, "lifecyclestage"), "customer" | "other"))),
        ("Lifecycle__c NOT IN ('customer')", numbers_where(&people, |r| prop(r, "lifecyclestage") != "customer")),
        ("Payment_Method__c INCLUDES ('invoice', 'credit_card')", numbers_where(&people, |r| matches!(prop(r, "payment_method"), "invoice" | "credit_card"))),
        ("Payment_Method__c EXCLUDES ('invoice')", numbers_where(&people, |r| prop(r, "payment_method") != "invoice")),
        ("MobilePhone = null", numbers_where(&people, |r| prop(r, "mobilephone").is_empty())),
        ("MobilePhone != NULL", numbers_where(&people, |r| !prop(r, "mobilephone").is_empty())),
        ("Consent_Greetings__c = false", numbers_where(&people, |r| prop(r, "consent_greetings") != "true")),
        ("Birthdate < 1960-01-01", numbers_where(&people, |r| !prop(r, "date_of_birth").is_empty() && prop(r, "date_of_birth") < "1960-01-01")),
        ("Birthdate >= 1990-01-01", numbers_where(&people, |r| prop(r, "date_of_birth") >= "1990-01-01")),
        ("CreatedDate > 2025-01-01T00:00:00Z", numbers_where(&people, |r| r.created_at.as_str() > "2025-01-01")),
        ("CreatedDate <= 2021-01-01T01:00:00+01:00", numbers_where(&people, |r| r.created_at.as_str() <= "2021-01-01")),
        ("Last_Activity_Date__c = LAST_N_DAYS:36500", numbers_where(&people, |_| true)),
        ("Last_Activity_Date__c = NEXT_N_DAYS:30", Vec::new()),
        ("Last_Activity_Date__c = YESTERDAY OR Last_Activity_Date__c = TODAY", Vec::new()),
        ("Last_Activity_Date__c < THIS_YEAR", numbers_where(&people, |r| prop(r, "last_activity_date") < "2026-01-01")),
        ("(Lifecycle__c = 'customer' OR Lifecycle__c = 'other') AND NOT Owner_Department__c = 'sales'", numbers_where(&people, |r| matches!(prop(r, "lifecyclestage"), "customer" | "other") && prop(r, "owner_department") != "sales")),
        ("NOT (Consent_Survey__c = true AND Consent_Marketing__c = true)", numbers_where(&people, |r| !(prop(r, "consent_survey") == "true" && prop(r, "consent_marketing") == "true"))),
        ("Id = '003Dm0000001001'", vec![1001]),
        ("AccountId = '001Dm0000002001IAA'", numbers_where(&people, |r| r.associations.first().is_some_and(|c| c == "2001"))),
        ("External_Id__c = 'c-1002'", vec![1002]),
    ];
    for (condition, expected) in cases {
        let got = sf
            .numbers(&format!("SELECT Id FROM Contact WHERE {condition}"))
            .await;
        assert_eq!(got, expected, "{condition}");
    }
    let lead_cases: Vec<(&str, Vec<u64>)> = vec![
        (
            "Company != null",
            numbers_where(&leads, |r| !prop(r, "company").is_empty()),
        ),
        (
            "Wish_Text__c LIKE '%scarf%'",
            numbers_where(&leads, |r| {
                prop(r, "wish_text").to_lowercase().contains("scarf")
            }),
        ),
    ];
    for (condition, expected) in lead_cases {
        let got = sf
            .numbers(&format!("SELECT Id FROM Lead WHERE {condition}"))
            .await;
        assert_eq!(got, expected, "{condition}");
    }
    let accounts = seed::companies();
    let big: Vec<u64> = numbers_where(&accounts, |r| {
        prop(r, "numberofemployees").parse::<i64>().unwrap_or(0) > 100
    });
    assert_eq!(
        sf.numbers("SELECT Id FROM Account WHERE NumberOfEmployees > 100")
            .await,
        big
    );
    let rich: Vec<u64> = numbers_where(&accounts, |r| {
        prop(r, "annualrevenue").parse::<f64>().unwrap_or(0.0) >= 1e7
    });
    assert_eq!(
        sf.numbers("SELECT Id FROM Account WHERE AnnualRevenue >= 10000000")
            .await,
        rich
    );
}

#[tokio::test]
async fn order_limit_offset_and_count_apply_as_salesforce_does() {
    let sf = start(SalesforceCrm::seeded()).await;
    let mut people = seed_people(false);
    people.sort_by(|a, b| {
        prop(b, "lastname")
            .to_lowercase()
            .cmp(&prop(a, "lastname").to_lowercase())
            .then(a.id.cmp(&b.id))
    });
    let ordered: Vec<u64> = people.iter().map(|r| r.id.parse().unwrap()).collect();
    let got = sf
        .numbers("SELECT Id FROM Contact ORDER BY LastName DESC, Id ASC")
        .await;
    assert_eq!(got, ordered);
    let window = sf
        .numbers("SELECT Id FROM Contact ORDER BY LastName DESC, Id LIMIT 4 OFFSET 3")
        .await;
    assert_eq!(window, ordered[3..7]);
    // Nulls first ascending by default, last when asked.
    let by_mobile = sf
        .query("SELECT Id, MobilePhone FROM Contact ORDER BY MobilePhone")
        .await;
    assert!(by_mobile[0]["MobilePhone"].is_null());
    let last = sf
        .query("SELECT Id, MobilePhone FROM Contact ORDER BY MobilePhone ASC NULLS LAST")
        .await;
    assert!(last[0]["MobilePhone"].is_string() && last.last().unwrap()["MobilePhone"].is_null());
    let count = sf
        .get(&query_url(
            "query",
            "SELECT COUNT() FROM Contact WHERE Lifecycle__c = 'customer'",
        ))
        .await;
    let customers = numbers_where(&seed_people(false), |r| {
        prop(r, "lifecyclestage") == "customer"
    });
    assert_eq!(
        count.json,
        json!({"totalSize": customers.len(), "done": true, "records": []})
    );
}

#[tokio::test]
async fn pages_follow_next_records_url_until_done() {
    let sf = start(SalesforceCrm::seeded().with_page_size(5)).await;
    let first = sf.get(&query_url("query", "SELECT Id FROM Contact")).await;
    let total = seed_people(false).len();
    assert_eq!(first.json["totalSize"], total);
    assert_eq!(first.json["done"], false);
    assert_eq!(first.json["records"].as_array().unwrap().len(), 5);
    let next = first.json["nextRecordsUrl"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{V}/query/01gDm")) && next.ends_with("-5"),
        "{next}"
    );
    let all = sf.query("SELECT Id FROM Contact").await;
    let unique: BTreeSet<u64> = all.iter().map(number).collect();
    assert_eq!((all.len(), unique.len()), (total, total));
    // The header asks for other page sizes within what the demo allows.
    let seven = sf
        .call(
            "GET",
            &query_url("query", "SELECT Id FROM Contact"),
            &[("Sforce-Query-Options", "batchSize=7")],
            None,
        )
        .await;
    assert_eq!(seven.json["records"].as_array().unwrap().len(), 7);
    let default = start(SalesforceCrm::seeded()).await;
    let small = default
        .call(
            "GET",
            &query_url("query", "SELECT Id FROM Contact"),
            &[("Sforce-Query-Options", "batchSize=3")],
            None,
        )
        .await;
    assert_eq!(small.json["records"].as_array().unwrap().len(), total);
    assert_eq!(small.json["done"], true);
    assert!(small.json.get("nextRecordsUrl").is_none());
    let all = sf.get(&query_url("queryAll", "SELECT Id FROM Lead")).await;
    assert!(all.json["nextRecordsUrl"]
        .as_str()
        .unwrap()
        .contains("/queryAll/01gDm"));
    for bad in [
        "01gDm9999999999-5",
        "01gDm0000000001",
        "01gDm0000000001-0",
        "01gDm0000000001-999",
    ] {
        assert_sf_error(
            &sf.get(&format!("{V}/query/{bad}")).await,
            400,
            "INVALID_QUERY_LOCATOR",
        );
    }
}

#[tokio::test]
async fn query_errors_carry_salesforces_codes() {
    let sf = start(SalesforceCrm::seeded()).await;
    for (soql, code) in [
        ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY"),
        (
            "SELECT Id FROM Contact WHERE A__c = 1 AND B = 2 OR C = 3",
            "MALFORMED_QUERY",
        ),
        (
            "SELECT Id FROM Contact GROUP BY LastName",
            "MALFORMED_QUERY",
        ),
        ("SELECT Id, Id FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Nope__c FROM Contact", "INVALID_FIELD"),
        (
            "SELECT Id FROM Contact WHERE Owner.Name = 'x'",
            "INVALID_FIELD",
        ),
        ("SELECT Id FROM Contact ORDER BY Nope", "INVALID_FIELD"),
        ("SELECT Birthdate FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Opportunity", "INVALID_TYPE"),
        (
            "SELECT Id FROM Contact WHERE Birthdate = '1990-01-01'",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > 2025-01-01",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
        (
            "SELECT Id FROM Contact WHERE Consent_Survey__c = 'true'",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
        (
            "SELECT Id FROM Contact WHERE Id = 'x'",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
        (
            "SELECT Id FROM Contact WHERE Email INCLUDES ('a')",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
        (
            "SELECT Id FROM Contact WHERE Consent_Survey__c LIKE 'x'",
            "INVALID_QUERY_FILTER_OPERATOR",
        ),
    ] {
        assert_sf_error(&sf.get(&query_url("query", soql)).await, 400, code);
    }
    let missing = sf.get(&format!("{V}/query")).await;
    assert_sf_error(&missing, 400, "MALFORMED_QUERY");
    let malformed = sf
        .get(&query_url("query", "SELECT Id FROM Contact LIMIT"))
        .await;
    let message = malformed.json[0]["message"].as_str().unwrap();
    assert!(
        message.contains("ERROR at Row:1:Column:29") && message.contains("unexpected token: <EOF>"),
        "{message}"
    );
}

#[tokio::test]
async fn a_field_the_vendor_added_comes_with_every_record() {
    let sf = start(SalesforceCrm::seeded().with_extra_field("Loyalty_Tier__c", "gold")).await;
    let get = sf
        .get(&format!(
            "{V}/sobjects/Contact/003Dm0000001001?fields=LastName"
        ))
        .await;
    assert_eq!(get.json["Loyalty_Tier__c"], "gold");
    let records = sf
        .query("SELECT Id, Account.Name FROM Contact WHERE Id = '003Dm0000001001'")
        .await;
    assert_eq!(records[0]["Loyalty_Tier__c"], "gold");
    assert_eq!(records[0]["Account"]["Loyalty_Tier__c"], "gold");
    let count = sf
        .get(&query_url("query", "SELECT COUNT() FROM Contact"))
        .await;
    assert!(count.json.get("Loyalty_Tier__c").is_none());
    // Not stored: the inspection shows the record as it is.
    assert!(sf
        .crm
        .record("003Dm0000001001")
        .unwrap()
        .get("Loyalty_Tier__c")
        .is_none());
}
