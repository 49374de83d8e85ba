//! The demo's script in the demo CRM's dialect: the contacts the tour of `crmgate demo`
//! shows, the requests it sends through crmgate and the paths of the `curl` examples it
//! prints, spelled as HubSpot's CRM v3 API spells them. crmgate only runs the script, so no
//! file of crmgate outside its vendor profiles names the vendor's paths, bodies or cursors.
//!
//! Text and invented data only: it must never send a request itself, depend on crmgate or
//! hold real persons' data.

use serde_json::{json, Value};

/// How the demo CRM's API is described to a person.
pub const API_SHAPE: &str = "HubSpot-shaped";

/// The contact the tour shows.
pub const CONTACT: &str = "1001";

/// The prospect the deletion-concept tour shows: no activity since 2022-12-10.
pub const DUE_CONTACT: &str = "1046";

/// The wish the tour's form sends: an illness and an IBAN a child's parent volunteered.
pub const WISH: &str = "Dear Santa, my son has asthma, so nothing with feathers please. \
A wooden sledge would be wonderful. You can charge our account DE89 3704 0044 0532 0130 00.";

/// Where contacts are listed and created.
pub const CONTACTS_PATH: &str = "/crm/v3/objects/contacts";

/// The path of one contact.
pub fn contact_path(id: &str) -> String {
    format!("{CONTACTS_PATH}/{id}")
}

/// The path of one contact, asking for the named properties.
pub fn contact_read_path(id: &str, properties: &[String]) -> String {
    format!("{}?properties={}", contact_path(id), properties.join(","))
}

/// The wish-list form's create request: a prospect with the tour's wish, and a data source
/// (`purchased_list`) the form has no right to claim.
pub fn wish_list_create() -> Value {
    json!({"properties": {
        "firstname": "Emil", "lastname": "Tannenbaum", "email": "emil.tannenbaum@example.org",
        "lifecyclestage": "lead", "consent_marketing": "false", "wish_text": WISH,
        "data_source": "purchased_list"
    }})
}

/// Marketing's update of a customer it may not edit.
pub fn rename_customer() -> Value {
    json!({"properties": {"lastname": "Humbug"}})
}

/// One printed `curl` example: whose demo key, for which purpose, which path.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub user: &'static str,
    pub purpose: Option<&'static str>,
    pub path: &'static str,
}

/// The read examples, one per persona.
#[rustfmt::skip]
pub const READS: [Example; 7] = [
    Example { user: "noelle", purpose: None, path: "/crm/v3/objects/contacts?limit=5&properties=firstname,lastname,email,billing_iban,date_of_birth" },
    Example { user: "penny", purpose: None, path: "/crm/v3/objects/contacts/1001?properties=firstname,lastname,billing_iban,payment_method,date_of_birth" },
    Example { user: "tinsel", purpose: Some("greetings"), path: "/crm/v3/objects/contacts/1001?properties=firstname,lastname,email,date_of_birth,billing_iban" },
    Example { user: "rudolph", purpose: Some("customer_visit"), path: "/crm/v3/objects/contacts/1001?properties=firstname,lastname,address,city,photo_url" },
    Example { user: "holly", purpose: Some("prospect_management"), path: "/crm/v3/objects/contacts/1031?properties=firstname,lastname,email,phone,wish_text" },
    Example { user: "santa", purpose: Some("contract_fulfilment"), path: "/crm/v3/objects/contacts?limit=3" },
    Example { user: "grinch", purpose: None, path: "/crm/v3/objects/contacts" },
];

/// The search example: customer service looks for leads.
pub const SEARCH: Example = Example {
    user: "holly",
    purpose: Some("prospect_management"),
    path: "/crm/v3/objects/contacts/search",
};

/// The search example's JSON body.
pub const SEARCH_BODY: &str = r#"{"filterGroups":[{"filters":[{"propertyName":"lifecyclestage","operator":"EQ","value":"lead"}]}],"properties":["firstname","email","wish_text"]}"#;

/// The path read with a client certificate (field sales).
pub const CERTIFICATE_PATH: &str = "/crm/v3/objects/contacts/1001?properties=firstname,photo_url";

/// The path read with a dev identity provider's token (customer service).
pub const TOKEN_PATH: &str = "/crm/v3/objects/contacts?limit=3";

/// The path read with a service's key (the newsletter).
pub const SERVICE_PATH: &str = "/crm/v3/objects/contacts?limit=10";

/// How a caller asks for the next page of a list.
pub const NEXT_PAGE: &str = "The next page: add `&after=` with the answer's `paging.next.after`.";
