//! The copy of a person's data in the answer to an access request (Art. 15(3) GDPR): their
//! record as the CRM holds it, read through a running crmgate by the data protection
//! officer under the purpose `data_subject_access` — decided by the same policies as every
//! request (only the DPO role may read under it) and audited like any access. The record is
//! named by its id or looked up by an e-mail address; the vendor profile spells the request.
//!
//! It must never read the CRM except through crmgate, never write, never keep an answer
//! without its copy when the read fails (fail closed: an error instead), and never put the
//! e-mail address a record was looked up by into the copy, an error or the document.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::routes::ResourceProfile;
use crate::stages::pipeline::Policies;
use crate::tools::retention::plan::Crmgate;
use crate::tools::retention::Connection;

/// The purpose the copy is read under (`[purposes.data_subject_access]`).
pub const PURPOSE: &str = "data_subject_access";

/// How the person's record is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// By its record id.
    Id(String),
    /// By the value of a lookup property (an e-mail address).
    Lookup { property: String, value: String },
}

impl Key {
    /// `--subject`: `type/id`, or `type/address` / `address` for an e-mail address (type
    /// `contact` when none is given).
    pub fn parse(subject: &str, lookup_property: &str) -> Result<(String, Key), String> {
        let (t, rest) = match subject.split_once('/') {
            Some((t, rest)) if !t.is_empty() && !rest.is_empty() => (t, rest),
            None if subject.contains('@') => ("contact", subject),
            _ => {
                return Err(
                    "give --subject as `contact/<id>` or as the person's e-mail address".into(),
                )
            }
        };
        let t = crate::audit::query::norm_type(t);
        if rest.contains('@') {
            Ok((
                t,
                Key::Lookup {
                    property: lookup_property.to_string(),
                    value: rest.trim().to_string(),
                },
            ))
        } else {
            Ok((t, Key::Id(rest.to_string())))
        }
    }
}

/// The person's data as the CRM holds it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Copy {
    /// Whether the CRM holds a record of the person (false: it answered that there is none).
    pub held: bool,
    /// The record's id (none when no record holds the e-mail address looked up).
    pub record_id: Option<String>,
    /// Every field of the record that holds a value, by its name in the CRM.
    pub fields: BTreeMap<String, Value>,
    /// The field group of each field (the permission concept's categories).
    pub groups: BTreeMap<String, String>,
}

/// The resource profile of a record type (`contact`, `Contact`).
pub fn resource<'p>(policies: &'p Policies, t: &str) -> Option<&'p ResourceProfile> {
    policies
        .routes
        .resources()
        .find(|r| {
            crate::audit::query::norm_type(&r.collection) == t
                || r.entity_type.eq_ignore_ascii_case(t)
        })
        .map(|r| r.as_ref())
}

fn has_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Read the person's record through crmgate as the DPO (`conn.key`), under
/// [`PURPOSE`]: every property of every field group the routes know for its type.
pub async fn read(
    policies: &Policies,
    conn: &Connection,
    res: &ResourceProfile,
    key: &Key,
) -> Result<Copy, String> {
    let collection = policies.vendor.client_collection(res);
    let mut props: Vec<String> = res.property_groups.keys().cloned().collect();
    props.sort();
    let (path, by) = match key {
        Key::Id(id) => (
            policies.vendor.get_request(collection, id, &props).path,
            format!("record {id}"),
        ),
        Key::Lookup { property, value } => {
            let param = policies.vendor.lookup_param().ok_or(
                "this CRM names no record by an e-mail address in a get; give the record id",
            )?;
            let segment =
                percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            let mut path = policies
                .vendor
                .get_request(collection, &segment, &props)
                .path;
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(&format!("{param}={property}"));
            (path, format!("the record of the {property} given"))
        }
    };
    let mut gate = Crmgate::new(conn, PURPOSE)?;
    let answer = gate.send("GET", &path, None, None).await?;
    match answer.status {
        200 => {}
        // fail closed: hidden equals missing, so a 404 is "no data held" only because the
        // DPO sees every record under this purpose; anything else is an error, not a copy.
        404 => {
            return Ok(Copy {
                held: false,
                record_id: match key {
                    Key::Id(id) => Some(id.clone()),
                    Key::Lookup { .. } => None,
                },
                fields: BTreeMap::new(),
                groups: BTreeMap::new(),
            })
        }
        s => {
            return Err(format!(
                "crmgate refused to read {by} for the access request (status {s}); \
                 is the key a data protection officer's, with the purpose `{PURPOSE}`?"
            ))
        }
    }
    Ok(copy_of(policies, res, &answer.body))
}

/// The copy of one record as crmgate answered it.
pub fn copy_of(policies: &Policies, res: &ResourceProfile, body: &Value) -> Copy {
    let mut fields = BTreeMap::new();
    let mut groups = BTreeMap::new();
    if let Some(props) = policies.vendor.record_properties(body) {
        for (k, v) in props.iter().filter(|(_, v)| has_value(v)) {
            fields.insert(k.clone(), v.clone());
            if let Some(g) = res.property_groups.get(k).and_then(|g| res.groups.get(*g)) {
                groups.insert(k.clone(), g.clone());
            }
        }
    }
    if let Some(top) = body.as_object() {
        for (k, v) in top.iter().filter(|(_, v)| has_value(v)) {
            if let Some(g) = res.field_groups.get(k).and_then(|g| res.groups.get(*g)) {
                if *k != res.properties_field && !fields.contains_key(k) {
                    fields.insert(k.clone(), v.clone());
                    groups.insert(k.clone(), g.clone());
                }
            }
        }
    }
    let record_id = body
        .get(&res.id_field)
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .or_else(|| {
            fields
                .get(&res.id_field)
                .and_then(|v| v.as_str().map(String::from))
        });
    Copy {
        held: true,
        record_id,
        fields,
        groups,
    }
}

/// A field's value as a person reads it.
pub fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
