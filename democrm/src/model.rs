//! The demo CRM's data model: object types, their property names, and stored
//! records with property history. It holds no HTTP and no seed values.
//!
//! Demo data only: it must never be reachable from the request path (nothing in `stages` imports it).

use std::collections::BTreeMap;

/// Every contact property the demo CRM knows. The proxy's field classification
/// (billing, photo, birthday, wish text, consents …) depends on these exact names.
pub(super) const CONTACT_PROPERTIES: &[&str] = &[
    "firstname",
    "lastname",
    "salutation",
    "email",
    "phone",
    "mobilephone",
    "address",
    "city",
    "zip",
    "country",
    "billing_address",
    "billing_iban",
    "payment_method",
    "date_of_birth",
    "photo_url",
    "wish_text",
    "company",
    "jobtitle",
    "consent_greetings",
    "consent_survey",
    "consent_marketing",
    "data_source",
    "data_source_detail",
    "lifecyclestage",
    "owner_department",
    "last_activity_date",
    "hs_object_id",
    "createdate",
    "lastmodifieddate",
];

/// Every company property the demo CRM knows.
pub(super) const COMPANY_PROPERTIES: &[&str] = &[
    "name",
    "domain",
    "industry",
    "phone",
    "address",
    "city",
    "country",
    "founded_date",
    "description",
    "numberofemployees",
    "annualrevenue",
    "lifecyclestage",
    "owner_department",
    "data_source",
    "hs_object_id",
    "createdate",
    "hs_lastmodifieddate",
];

/// The two HubSpot object types the demo serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ObjectType {
    Contacts,
    Companies,
}

impl ObjectType {
    /// The object type named in a path or an `associations` parameter. HubSpot
    /// also accepts the singular and the numeric type ids `0-1` / `0-2`.
    pub(super) fn parse(name: &str) -> Option<ObjectType> {
        match name.to_ascii_lowercase().as_str() {
            "contacts" | "contact" | "0-1" => Some(ObjectType::Contacts),
            "companies" | "company" | "0-2" => Some(ObjectType::Companies),
            _ => None,
        }
    }

    /// The plural name used in paths and association keys.
    pub(super) fn name(self) -> &'static str {
        match self {
            ObjectType::Contacts => "contacts",
            ObjectType::Companies => "companies",
        }
    }

    /// The upper-case singular HubSpot uses in batch error messages.
    pub(super) fn label(self) -> &'static str {
        match self {
            ObjectType::Contacts => "CONTACT",
            ObjectType::Companies => "COMPANY",
        }
    }

    pub(super) fn known_properties(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contacts => CONTACT_PROPERTIES,
            ObjectType::Companies => COMPANY_PROPERTIES,
        }
    }

    pub(super) fn is_known(self, property: &str) -> bool {
        self.known_properties().contains(&property)
    }

    /// Returned when a request names no properties at all.
    pub(super) fn default_properties(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contacts => &[
                "firstname",
                "lastname",
                "email",
                "createdate",
                "lastmodifieddate",
                "hs_object_id",
            ],
            ObjectType::Companies => &[
                "name",
                "domain",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
            ],
        }
    }

    /// Added by HubSpot to whatever properties a request names.
    pub(super) fn always_returned(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contacts => &["hs_object_id", "createdate", "lastmodifieddate"],
            ObjectType::Companies => &["hs_object_id", "createdate", "hs_lastmodifieddate"],
        }
    }

    /// Properties a search's free-text `query` looks at.
    pub(super) fn searchable_properties(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contacts => &["firstname", "lastname", "email", "phone", "company"],
            ObjectType::Companies => &["name", "domain", "phone"],
        }
    }

    /// The type records of this type are associated to.
    pub(super) fn other(self) -> ObjectType {
        match self {
            ObjectType::Contacts => ObjectType::Companies,
            ObjectType::Companies => ObjectType::Contacts,
        }
    }

    /// The last-modified date HubSpot maintains on this type.
    pub(super) fn last_modified_property(self) -> &'static str {
        match self {
            ObjectType::Contacts => "lastmodifieddate",
            ObjectType::Companies => "hs_lastmodifieddate",
        }
    }

    /// Properties the CRM maintains itself: a write naming one is refused.
    pub(super) fn is_calculated(self, property: &str) -> bool {
        property == "hs_object_id"
            || property == "createdate"
            || property == self.last_modified_property()
    }

    /// The association type label HubSpot reports from this type to the other.
    pub(super) fn association_label(self) -> &'static str {
        match self {
            ObjectType::Contacts => "contact_to_company",
            ObjectType::Companies => "company_to_contact",
        }
    }
}

/// One value a property held, as HubSpot's `propertiesWithHistory` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Version {
    pub(super) value: String,
    pub(super) timestamp: String,
    pub(super) source_type: &'static str,
    pub(super) updated_by_user_id: Option<u32>,
}

/// One stored contact or company.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub(super) id: String,
    /// Only properties that have a value; a known property missing here reads as null.
    pub(super) properties: BTreeMap<String, String>,
    /// Newest version first; the first version always equals the current value
    /// (an empty value when a write cleared the property).
    pub(super) history: BTreeMap<String, Vec<Version>>,
    pub(super) created_at: String,
    pub(super) updated_at: String,
    pub(super) archived_at: Option<String>,
    /// Ids of associated records of the other object type.
    pub(super) associations: Vec<String>,
}

impl Record {
    pub(super) fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

/// Every record the demo CRM holds, and the ids it hands out next. Lives
/// behind the [`super::DemoCrm`]'s lock; a GDPR-deleted id is never reused.
#[derive(Debug)]
pub(super) struct Store {
    pub(super) contacts: Vec<Record>,
    pub(super) companies: Vec<Record>,
    next_contact_id: u64,
    next_company_id: u64,
}

impl Store {
    /// A store of these records; new ids continue after the highest numeric id.
    pub(super) fn new(contacts: Vec<Record>, companies: Vec<Record>) -> Store {
        let after_max = |records: &[Record], floor: u64| {
            records
                .iter()
                .filter_map(|record| record.id.parse::<u64>().ok())
                .max()
                .map_or(floor, |max| max.saturating_add(1))
        };
        Store {
            next_contact_id: after_max(&contacts, 1001),
            next_company_id: after_max(&companies, 2001),
            contacts,
            companies,
        }
    }

    pub(super) fn records(&self, kind: ObjectType) -> &[Record] {
        match kind {
            ObjectType::Contacts => &self.contacts,
            ObjectType::Companies => &self.companies,
        }
    }

    pub(super) fn records_mut(&mut self, kind: ObjectType) -> &mut Vec<Record> {
        match kind {
            ObjectType::Contacts => &mut self.contacts,
            ObjectType::Companies => &mut self.companies,
        }
    }

    /// The next free id of the type (1071, 1072, … for contacts).
    pub(super) fn allocate_id(&mut self, kind: ObjectType) -> String {
        let next = match kind {
            ObjectType::Contacts => &mut self.next_contact_id,
            ObjectType::Companies => &mut self.next_company_id,
        };
        let id = *next;
        *next = next.saturating_add(1);
        id.to_string()
    }
}
