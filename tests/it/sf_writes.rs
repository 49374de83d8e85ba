//! Salesforce's writes through crmgate, over real sockets, in front of the Salesforce-shaped
//! demo CRM (with its OAuth token endpoint): per persona the allowed, stripped and refused
//! fields; hidden equals missing; upserts by a lookup field the path names; redaction and
//! provenance; the write's intent durable before it is forwarded — and what reached the CRM.

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
            ..Options::default()
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
    fn writes_received(&self) -> Vec<(String, String)> {
        self.crm
            .received()
            .into_iter()
            .filter(|r| r.method != "GET" && !r.path_and_query.contains("oauth2"))
            .map(|r| (r.method, r.path_and_query))
            .collect()
    }

    /// The bodies of the write requests the CRM received with this method.
    fn bodies(&self, method: &str) -> Vec<Value> {
        self.crm
            .received()
            .into_iter()
            .filter(|r| r.method == method && !r.path_and_query.contains("oauth2"))
            .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            .collect()
    }

    fn stored(&self, id: &str) -> Value {
        self.crm.record(id).unwrap_or(Value::Null)
    }
}

/// Contact 1001 (a customer), Lead 1031 (a prospect).
const CONTACT: &str = "003Dm0000001001";
const LEAD: &str = "00QDm0000001031";

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe() {
    let sf = Sf::start().await;
    let r = sf
        .send(
            "PATCH",
            &format!("/sobjects/Contact/{CONTACT}"),
            "noelle",
            Some(json!({"FirstName": "Nick"})),
        )
        .await;
    println!("{} {}", r.status, r.text());
    let _ = (
        LEAD,
        comparable(&r),
        sf.writes_received(),
        sf.bodies("PATCH"),
        sf.stored(CONTACT),
    );
}
