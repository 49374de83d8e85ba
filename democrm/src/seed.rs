//! Seed data of the demo CRM — Santa Claus's company: the code that turns each
//! row of the readable tables (`seed/rows.rs`) into a record with property history.
//!
//! Everything here is invented: names come from Christmas stories or are made
//! up, e-mail domains end in `.example`, phone numbers lie in Ofcom's drama
//! ranges (+44 20 7946 0xxx, +44 7700 900xxx) or NANP's 555-01xx, and IBANs use
//! the fictional bank codes `NPOL` / `1224 1224` (only the wish text of 1040
//! quotes the well-known documentation IBAN `DE89 3704 0044 0532 0130 00`).
//! Nothing depends on the clock or on randomness: timestamps are derived from
//! the dates in the tables and the record id.
//!
//! Invented people of a fairy-tale company: it must never hold real personal data.

mod rows;

use std::collections::BTreeMap;

use crate::dates;
use crate::model::{Record, Version};
use rows::{Company, Contact, ARCHIVED, COMPANIES, CUSTOMERS, PARTNERS, PROSPECTS};

/// All seeded contacts in id order: customers, prospects, partners, archived.
pub(super) fn contacts() -> Vec<Record> {
    CUSTOMERS
        .iter()
        .chain(PROSPECTS)
        .chain(PARTNERS)
        .chain(ARCHIVED)
        .map(contact_record)
        .collect()
}

/// All seeded companies in id order, each associated to the contacts that name it.
pub(super) fn companies() -> Vec<Record> {
    COMPANIES.iter().map(company_record).collect()
}

/// The contacts associated to a company, derived from the contact rows.
pub(super) fn company_contact_ids(company_id: &str) -> Vec<String> {
    CUSTOMERS
        .iter()
        .chain(PROSPECTS)
        .chain(PARTNERS)
        .chain(ARCHIVED)
        .filter(|row| row.company_id != 0 && row.company_id.to_string() == company_id)
        .map(|row| row.id.to_string())
        .collect()
}

/// HubSpot user ids standing for a person of each department, so history
/// entries made in the CRM UI say who changed a value.
fn department_user(dept: &str) -> u32 {
    match dept {
        "sales" => 20_101,
        "field_sales" => 20_102,
        "marketing" => 20_103,
        "customer_service" => 20_104,
        "accounting" => 20_105,
        _ => 20_106,
    }
}

/// The HubSpot `sourceType` of values that arrived through a data source.
fn origin_source_type(data_source: &str) -> &'static str {
    match data_source {
        "wish_list_form" => "FORM",
        "purchased_list" => "IMPORT",
        _ => "CRM_UI",
    }
}

/// How a record reached its current lifecycle stage, oldest first; the id
/// varies the path so some records have one version and others two or three.
fn stage_path(stage: &str, id: u32) -> &'static [&'static str] {
    match stage {
        "customer" if id.is_multiple_of(3) => &["subscriber", "lead", "customer"],
        "customer" => &["lead", "customer"],
        "lead" if id.is_multiple_of(2) => &["subscriber", "lead"],
        "lead" => &["lead"],
        "subscriber" => &["subscriber"],
        "other" => &["other"],
        _ => &[],
    }
}

/// A deterministic time of day (08:00–16:59 UTC) for a seed date.
fn stamp_millis(day: &str, id: u32, salt: u32) -> i64 {
    const MINUTE: i64 = 60_000;
    let days = dates::parse_day(day).unwrap_or(0);
    let minutes = 8 * 60 + i64::from((id * 37 + salt * 173) % 540);
    let seconds = i64::from((id * 13 + salt * 7) % 60);
    let millis = i64::from((id * 7 + salt * 131) % 1000);
    days * 86_400_000 + minutes * MINUTE + seconds * 1000 + millis
}

/// Timestamps of one record, from which every history entry is placed.
struct Clock {
    created: i64,
    updated: i64,
    /// The origin of values entered when the record was created.
    origin: &'static str,
    user: u32,
}

impl Clock {
    fn new(
        id: u32,
        created_day: &str,
        updated_day: &str,
        origin: &'static str,
        dept: &str,
    ) -> Self {
        let created = stamp_millis(created_day, id, 0);
        // A record touched on its creation day still changed after it was created.
        let updated = stamp_millis(updated_day, id, 1).max(created + 3_600_000);
        Clock {
            created,
            updated,
            origin,
            user: department_user(dept),
        }
    }

    /// The point `k/n` of the way from creation to the last update.
    fn at(&self, k: i64, n: i64) -> String {
        dates::format_millis(self.created + (self.updated - self.created) * k / n.max(1))
    }

    /// A value entered at creation through the record's data source.
    fn original(&self, value: &str) -> Version {
        let source_type = self.origin;
        Version {
            value: value.to_string(),
            timestamp: self.at(0, 1),
            source_type,
            updated_by_user_id: (source_type == "CRM_UI").then_some(self.user),
        }
    }

    /// A value a user changed in the CRM at point `k/n`.
    fn edited(&self, value: &str, k: i64, n: i64) -> Version {
        Version {
            value: value.to_string(),
            timestamp: self.at(k, n),
            source_type: "CRM_UI",
            updated_by_user_id: Some(self.user),
        }
    }

    /// A value HubSpot computes itself (ids, creation and modification dates).
    fn calculated(&self, value: &str, at_update: bool) -> Version {
        Version {
            value: value.to_string(),
            timestamp: if at_update {
                self.at(1, 1)
            } else {
                self.at(0, 1)
            },
            source_type: "CALCULATED",
            updated_by_user_id: None,
        }
    }

    /// Versions, newest first, of a value that went through `path` (oldest first).
    fn path(&self, path: &[&str]) -> Vec<Version> {
        let steps = i64::try_from(path.len()).unwrap_or(1);
        let mut versions: Vec<Version> = path
            .iter()
            .zip(0_i64..)
            .map(|(value, k)| {
                if k == 0 {
                    self.original(value)
                } else {
                    self.edited(value, k, steps)
                }
            })
            .collect();
        versions.reverse();
        versions
    }
}

/// Collects properties with their history; empty values are left unset.
struct Builder {
    properties: BTreeMap<String, String>,
    history: BTreeMap<String, Vec<Version>>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            properties: BTreeMap::new(),
            history: BTreeMap::new(),
        }
    }

    /// Sets `name` with its versions (newest first); the newest must be `value`.
    fn set(&mut self, name: &'static str, value: &str, versions: Vec<Version>) {
        if value.is_empty() {
            return;
        }
        self.properties.insert(name.to_string(), value.to_string());
        self.history.insert(name.to_string(), versions);
    }

    fn original(&mut self, clock: &Clock, name: &'static str, value: &str) {
        self.set(name, value, vec![clock.original(value)]);
    }

    /// A value that replaced `previous` halfway through the record's life.
    fn changed(&mut self, clock: &Clock, name: &'static str, value: &str, previous: &str) {
        let versions = if previous.is_empty() {
            vec![clock.original(value)]
        } else {
            vec![clock.edited(value, 1, 2), clock.original(previous)]
        };
        self.set(name, value, versions);
    }

    fn stage(&mut self, clock: &Clock, stage: &str, path: &[&str]) {
        let versions = if path.last() == Some(&stage) {
            clock.path(path)
        } else {
            vec![clock.original(stage)]
        };
        self.set("lifecyclestage", stage, versions);
    }

    fn calculated(&mut self, clock: &Clock, name: &'static str, value: &str, at_update: bool) {
        self.set(name, value, vec![clock.calculated(value, at_update)]);
    }
}

/// Fictional phone numbers: NANP 555-01xx in the US, Ofcom's drama range elsewhere.
fn landline(country: &str, number: u32) -> String {
    if country == "United States" {
        format!("+1 212 555 01{:02}", number % 100)
    } else {
        format!("+44 20 7946 0{:03}", number % 1000)
    }
}

fn mobile(country: &str, number: u32) -> String {
    if country == "United States" {
        format!("+1 646 555 01{:02}", number % 100)
    } else {
        format!("+44 7700 900{:03}", number % 1000)
    }
}

fn flag(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

fn contact_record(row: &Contact) -> Record {
    let id = row.id.to_string();
    // Modified a few days after the last activity, so old activity means an old record.
    let updated_day = dates::parse_day(row.active)
        .map(|day| dates::format_day(day + i64::from(row.id % 4)))
        .unwrap_or_default();
    let clock = Clock::new(
        row.id,
        row.created,
        &updated_day,
        origin_source_type(row.source),
        row.dept,
    );
    let has_phone = matches!(row.stage, "customer" | "other") || row.source == "trade_fair";
    let has_mobile = matches!(row.stage, "customer" | "other");
    let billing = match (row.iban.is_empty(), row.billing.is_empty()) {
        (true, _) => String::new(),
        (false, false) => row.billing.to_string(),
        (false, true) => format!("{}, {} {}, {}", row.street, row.zip, row.city, row.country),
    };
    let created_at = dates::format_millis(clock.created);
    let updated_at = dates::format_millis(clock.updated);

    let mut b = Builder::new();
    b.original(&clock, "salutation", row.sal);
    b.original(&clock, "firstname", row.first);
    b.original(&clock, "lastname", row.last);
    b.changed(&clock, "email", row.email, row.prev_email);
    if has_phone {
        b.original(&clock, "phone", &landline(row.country, row.id));
    }
    if has_mobile {
        b.original(&clock, "mobilephone", &mobile(row.country, row.id));
    }
    b.original(&clock, "address", row.street);
    b.original(&clock, "zip", row.zip);
    b.original(&clock, "city", row.city);
    b.original(&clock, "country", row.country);
    b.original(&clock, "billing_address", &billing);
    b.original(&clock, "billing_iban", row.iban);
    b.original(&clock, "payment_method", row.pay);
    b.original(&clock, "date_of_birth", row.born);
    if row.photo {
        let url = format!("https://crm.northpole.example/photos/{id}.jpg");
        b.original(&clock, "photo_url", &url);
    }
    b.original(&clock, "wish_text", row.wish);
    b.original(&clock, "company", row.company);
    b.original(&clock, "jobtitle", row.job);
    b.original(&clock, "consent_greetings", flag(row.greet));
    b.original(&clock, "consent_survey", flag(row.survey));
    // Some contacts opted in to marketing later, a few opted out: the consent
    // history is what a consent audit would look at.
    let previous_marketing = match (row.mkt, row.id % 5) {
        (true, 1 | 3) => flag(false),
        (false, 0) => flag(true),
        _ => "",
    };
    b.changed(
        &clock,
        "consent_marketing",
        flag(row.mkt),
        previous_marketing,
    );
    b.original(&clock, "data_source", row.source);
    b.original(&clock, "data_source_detail", row.detail);
    b.stage(&clock, row.stage, stage_path(row.stage, row.id));
    b.original(&clock, "owner_department", row.dept);
    b.calculated(&clock, "last_activity_date", row.active, true);
    b.original(&clock, "wish_answered_at", row.answered);
    if row.hold {
        b.original(&clock, "legal_hold", "true");
    }
    b.calculated(&clock, "hs_object_id", &id, false);
    b.calculated(&clock, "createdate", &created_at, false);
    b.calculated(&clock, "lastmodifieddate", &updated_at, true);

    let archived_at = (!row.archived.is_empty())
        .then(|| dates::format_millis(stamp_millis(row.archived, row.id, 2)));
    let associations = if row.company_id == 0 {
        Vec::new()
    } else {
        vec![row.company_id.to_string()]
    };
    Record {
        id,
        properties: b.properties,
        history: b.history,
        created_at,
        updated_at,
        archived_at,
        associations,
    }
}

fn company_record(row: &Company) -> Record {
    let id = row.id.to_string();
    let clock = Clock::new(
        row.id,
        row.created,
        row.modified,
        origin_source_type(row.source),
        row.dept,
    );
    let created_at = dates::format_millis(clock.created);
    let updated_at = dates::format_millis(clock.updated);
    let phone_number = row.id - 2000
        + if row.country == "United States" {
            50
        } else {
            500
        };

    let mut b = Builder::new();
    b.changed(&clock, "name", row.name, row.prev_name);
    b.original(&clock, "domain", row.domain);
    b.original(&clock, "industry", row.industry);
    b.original(&clock, "phone", &landline(row.country, phone_number));
    b.original(&clock, "address", row.street);
    b.original(&clock, "city", row.city);
    b.original(&clock, "country", row.country);
    b.original(&clock, "founded_date", row.founded);
    b.original(&clock, "description", row.description);
    b.changed(
        &clock,
        "numberofemployees",
        row.employees,
        row.prev_employees,
    );
    b.original(&clock, "annualrevenue", row.revenue);
    let path: &[&str] = if row.stage == "customer" {
        &["lead", "customer"]
    } else {
        &["other"]
    };
    b.stage(&clock, row.stage, path);
    b.original(&clock, "owner_department", row.dept);
    b.original(&clock, "data_source", row.source);
    b.calculated(&clock, "hs_object_id", &id, false);
    b.calculated(&clock, "createdate", &created_at, false);
    b.calculated(&clock, "hs_lastmodifieddate", &updated_at, true);

    let associations = company_contact_ids(&id);
    Record {
        id,
        properties: b.properties,
        history: b.history,
        created_at,
        updated_at,
        archived_at: None,
        associations,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::model::CONTACT_PROPERTIES;

    #[test]
    fn ids_are_contiguous_and_categorised() {
        let contacts = contacts();
        let ids: Vec<u32> = contacts.iter().map(|r| r.id.parse().unwrap()).collect();
        assert_eq!(ids, (1001..=1070).collect::<Vec<_>>());
        let companies = companies();
        let ids: Vec<u32> = companies.iter().map(|r| r.id.parse().unwrap()).collect();
        assert_eq!(ids, (2001..=2015).collect::<Vec<_>>());
        for record in &contacts {
            let id: u32 = record.id.parse().unwrap();
            let stage = record.properties["lifecyclestage"].as_str();
            match id {
                1001..=1030 => assert_eq!(stage, "customer", "{id}"),
                1031..=1055 => assert!(matches!(stage, "lead" | "subscriber"), "{id}"),
                1056..=1068 => assert_eq!(stage, "other", "{id}"),
                _ => assert!(record.is_archived(), "{id}"),
            }
            assert_eq!(record.is_archived(), id >= 1069, "{id}");
        }
    }

    #[test]
    fn showcase_customer_has_every_property() {
        let contacts = contacts();
        let scrooge = &contacts[0];
        for name in CONTACT_PROPERTIES {
            assert!(scrooge.properties.contains_key(*name), "1001 lacks {name}");
        }
        assert_eq!(scrooge.properties["consent_greetings"], "true");
        assert_eq!(scrooge.properties["consent_survey"], "true");
        assert_eq!(scrooge.properties["consent_marketing"], "false");
        assert_eq!(scrooge.associations, vec!["2001".to_string()]);
        assert_eq!(contacts[1].properties["consent_greetings"], "false");
    }

    #[test]
    fn values_have_the_documented_shapes() {
        let contacts = contacts();
        for record in contacts.iter().chain(companies().iter()) {
            let p = &record.properties;
            assert_eq!(p["hs_object_id"], record.id);
            assert_eq!(p["createdate"], record.created_at);
            assert!(record.created_at < record.updated_at, "{}", record.id);
            assert!(record.created_at.as_str() >= "2019-01-01");
            assert!(record.updated_at.as_str() < "2026-11-29", "{}", record.id);
            if let Some(archived_at) = &record.archived_at {
                assert!(archived_at > &record.updated_at, "{}", record.id);
            }
            for key in ["date_of_birth", "last_activity_date", "founded_date"] {
                if let Some(day) = p.get(key) {
                    assert!(dates::parse_day(day).is_some() && day.len() == 10, "{key}");
                }
            }
            if let Some(email) = p.get("email") {
                assert!(email.ends_with(".example"), "{email}");
            }
            if let Some(last) = p.get("last_activity_date") {
                assert!(last.as_str() >= &record.created_at[..10], "{}", record.id);
                assert!(last.as_str() <= &record.updated_at[..10], "{}", record.id);
            }
            // The newest version of every property is its current value.
            for (name, value) in p {
                let versions = &record.history[name];
                assert!((1..=3).contains(&versions.len()), "{name}");
                assert_eq!(&versions[0].value, value, "{} {name}", record.id);
                assert!(versions.windows(2).all(|w| w[0].timestamp > w[1].timestamp));
            }
        }
        let with_old_activity = contacts
            .iter()
            .filter(|r| r.properties["last_activity_date"].as_str() < "2023-11-29")
            .count();
        assert!(with_old_activity >= 5);
        let sources: Vec<&str> = contacts
            .iter()
            .map(|r| r.properties["data_source"].as_str())
            .collect();
        for source in [
            "wish_list_form",
            "order",
            "trade_fair",
            "partner_referral",
            "purchased_list",
        ] {
            assert!(sources.contains(&source), "{source}");
        }
    }

    #[test]
    fn companies_know_their_contacts() {
        let companies = companies();
        assert_eq!(companies[0].associations, vec!["1001".to_string()]);
        assert!(companies.iter().skip(1).all(|c| !c.associations.is_empty()));
    }
}
