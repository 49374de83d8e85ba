//! The demo CRMs by vendor, for `crmgate demo --vendor <name>`: each the same Santa's company
//! behind one vendor's API, started on a listener with the credential crmgate presents,
//! and the tour's script in that API's dialect (the contact it shows, the `curl` examples
//! it prints). crmgate names a vendor only by the string an operator gives: the dialects
//! live here, never in crmgate's tools.
//!
//! Text, invented data and the demo servers only: it must never depend on crmgate or hold
//! real persons' data.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;
use tokio::net::TcpListener;

use crate::salesforce::SalesforceCrm;

/// What crmgate presents to the demo CRM.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A static bearer token.
    Token(String),
    /// An OAuth 2.0 client secret: the demo CRM's token endpoint grants tokens for it
    /// (client credentials), at `<base>/services/oauth2/token`.
    ClientSecret(String),
}

/// The tour's script in one vendor's dialect.
#[derive(Debug, Clone)]
pub struct Tour {
    /// How the demo CRM's API is described to a person.
    pub api_shape: &'static str,
    /// The resource type of the contact the tour shows, and its id.
    pub contact_type: &'static str,
    pub contact: &'static str,
    /// The path of the token endpoint, where the vendor's credential is an OAuth token.
    pub token_path: Option<&'static str>,
    /// `curl` examples: whose demo key, which purpose, which path.
    pub reads: Vec<(&'static str, Option<&'static str>, String)>,
}

/// A started demo CRM: its tour, and its records as it stores them.
pub struct Started {
    pub tour: Tour,
    /// The record of the tour's contact, as the API answers it.
    pub contact: Option<Value>,
    /// How many people it holds.
    pub people: usize,
}

/// The vendors with a demo CRM here besides the HubSpot-shaped one ([`crate::serve`]).
pub const VENDORS: &[&str] = &["salesforce"];

/// Start the demo CRM of `vendor` on `listener` until `shutdown`; `None` for a vendor
/// without one here.
pub fn start(
    vendor: &str,
    credential: Credential,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Option<Started> {
    match vendor {
        "salesforce" => {
            let crm = SalesforceCrm::seeded();
            let crm = Arc::new(match credential {
                Credential::Token(t) => crm.with_static_token(t),
                Credential::ClientSecret(s) => crm.with_oauth(s),
            });
            let contact = crm.record("003Dm0000001001");
            let people = (1001..=1070)
                .filter(|n| {
                    crm.record(&format!("003Dm000000{n}")).is_some()
                        || crm.record(&format!("00QDm000000{n}")).is_some()
                })
                .count();
            tokio::spawn(crate::salesforce::serve(crm, listener, shutdown));
            Some(Started {
                tour: salesforce_tour(),
                contact,
                people,
            })
        }
        _ => None,
    }
}

fn salesforce_tour() -> Tour {
    let api = "/services/data/v62.0";
    Tour {
        api_shape: "Salesforce-shaped",
        contact_type: "Contact",
        contact: "003Dm0000001001IAA",
        token_path: Some("/services/oauth2/token"),
        reads: vec![
            ("noelle", None, format!("{api}/sobjects/Contact/003Dm0000001001IAA")),
            (
                "tinsel",
                Some("product_marketing"),
                format!("{api}/sobjects/Contact/003Dm0000001036IAA"),
            ),
            ("holly", None, format!("{api}/sobjects/Contact/describe")),
            (
                "noelle",
                None,
                format!(
                    "{api}/query?q=SELECT+Id,FirstName,LastName,Email+FROM+Contact+WHERE+Lifecycle__c='customer'+LIMIT+5"
                ),
            ),
        ],
    }
}
