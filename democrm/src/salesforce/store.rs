//! The Salesforce demo's records: typed field values per record, the recycle bin
//! flag, and the numbers new records get; seeded from the HubSpot demo's seed so
//! both demos hold the same people and companies. It must never answer HTTP and
//! never hold real persons' data.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fields::{Field, Kind, SObject};
use super::ids;
use crate::dates;
use crate::model::Record;
use crate::seed;

/// One stored record. `Id`, `Name` and `IsDeleted` are derived, never stored.
#[derive(Debug, Clone)]
pub(crate) struct SfRecord {
    pub(crate) kind: SObject,
    pub(crate) number: u64,
    /// Set values by field name; a field missing here reads as `null`.
    pub(crate) values: BTreeMap<&'static str, Value>,
    /// In the recycle bin: only `queryAll` sees it.
    pub(crate) deleted: bool,
}

impl SfRecord {
    pub(crate) fn id(&self) -> String {
        ids::id18(self.kind, self.number)
    }

    /// The field's value as Salesforce answers it.
    pub(crate) fn value(&self, field: &Field) -> Value {
        match field.name {
            "Id" => Value::String(self.id()),
            "IsDeleted" => Value::Bool(self.deleted),
            "Name" if self.kind != SObject::Account => {
                let text = |name: &str| self.values.get(name).and_then(Value::as_str);
                let parts: Vec<&str> = [text("FirstName"), text("LastName")]
                    .into_iter()
                    .flatten()
                    .collect();
                Value::String(parts.join(" "))
            }
            name => self.values.get(name).cloned().unwrap_or(Value::Null),
        }
    }

    /// Moves the last-modified date and the system stamp to now.
    pub(crate) fn touch(&mut self) {
        let now = Value::String(datetime(dates::now_millis()));
        self.values.insert("LastModifiedDate", now.clone());
        self.values.insert("SystemModstamp", now);
    }
}

/// Every record of the demo, and the numbers handed out next (contacts and
/// leads share the HubSpot contacts' numbers, accounts the companies').
#[derive(Debug, Clone)]
pub(crate) struct SfStore {
    pub(crate) records: Vec<SfRecord>,
    next_person: u64,
    next_account: u64,
}

impl SfStore {
    pub(crate) fn seeded() -> SfStore {
        let records: Vec<SfRecord> = seed::contacts()
            .iter()
            .map(person)
            .chain(seed::companies().iter().map(account))
            .collect();
        let after = |accounts: bool, floor: u64| {
            records
                .iter()
                .filter(|record| (record.kind == SObject::Account) == accounts)
                .map(|record| record.number.saturating_add(1))
                .max()
                .unwrap_or(floor)
        };
        SfStore {
            next_person: after(false, 1001),
            next_account: after(true, 2001),
            records,
        }
    }

    /// The record of this type and number, deleted or not.
    pub(crate) fn find(&self, kind: SObject, number: u64) -> Option<&SfRecord> {
        self.records
            .iter()
            .find(|record| record.kind == kind && record.number == number)
    }

    pub(crate) fn find_mut(&mut self, kind: SObject, number: u64) -> Option<&mut SfRecord> {
        self.records
            .iter_mut()
            .find(|record| record.kind == kind && record.number == number)
    }

    /// The record an id names (15 or 18 characters), of any type.
    pub(crate) fn by_id(&self, id: &str) -> Option<&SfRecord> {
        let (kind, number) = ids::parse(id)?;
        self.find(kind, number)
    }

    /// The next free number for a new record of the type.
    pub(crate) fn allocate(&mut self, kind: SObject) -> u64 {
        let next = if kind == SObject::Account {
            &mut self.next_account
        } else {
            &mut self.next_person
        };
        let number = *next;
        *next = next.saturating_add(1);
        number
    }
}

/// A datetime as Salesforce writes it: `2026-12-07T10:00:00.000+0000`.
pub(crate) fn datetime(millis: i64) -> String {
    let iso = dates::format_millis(millis);
    format!("{}+0000", iso.trim_end_matches('Z'))
}

/// A seed property's text as the field's JSON value.
fn typed(field: &Field, raw: &str) -> Value {
    match field.kind {
        Kind::Boolean => Value::Bool(raw == "true"),
        Kind::Int => raw.parse::<i64>().map_or(Value::Null, Value::from),
        Kind::Currency => raw.parse::<f64>().map_or(Value::Null, Value::from),
        Kind::DateTime => dates::parse_millis(raw).map_or(Value::Null, |m| datetime(m).into()),
        _ => Value::String(raw.to_string()),
    }
}

/// The values a seed record's HubSpot properties give the type's fields.
/// Checkboxes are never null in Salesforce: an unset one is false.
fn values_of(kind: SObject, record: &Record) -> BTreeMap<&'static str, Value> {
    let mut values = BTreeMap::new();
    for field in kind.fields() {
        let raw = record.properties.get(field.source).map(String::as_str);
        let value = match (raw, field.kind) {
            (Some(raw), _) if !field.source.is_empty() => typed(field, raw),
            (_, Kind::Boolean) if field.name != "IsDeleted" => Value::Bool(false),
            _ => continue,
        };
        values.insert(field.name, value);
    }
    if let Some(modified) = values.get("LastModifiedDate").cloned() {
        values.insert("SystemModstamp", modified);
    }
    values
}

fn number_of(record: &Record) -> u64 {
    record.id.parse().unwrap_or(0)
}

/// A seed contact: a `Lead` when its lifecycle stage is `lead`, else a `Contact`
/// linked to its first associated company.
fn person(record: &Record) -> SfRecord {
    let lead = record.properties.get("lifecyclestage").map(String::as_str) == Some("lead");
    let kind = if lead {
        SObject::Lead
    } else {
        SObject::Contact
    };
    let number = number_of(record);
    let mut values = values_of(kind, record);
    values.insert("External_Id__c", Value::String(format!("C-{number}")));
    if kind == SObject::Contact {
        if let Some(company) = record.associations.first().and_then(|id| id.parse().ok()) {
            values.insert(
                "AccountId",
                Value::String(ids::id18(SObject::Account, company)),
            );
        }
    }
    SfRecord {
        kind,
        number,
        values,
        deleted: record.is_archived(),
    }
}

fn account(record: &Record) -> SfRecord {
    let number = number_of(record);
    let mut values = values_of(SObject::Account, record);
    values.insert("External_Id__c", Value::String(format!("A-{number}")));
    SfRecord {
        kind: SObject::Account,
        number,
        values,
        deleted: record.is_archived(),
    }
}
