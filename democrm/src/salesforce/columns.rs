//! A field a query or a `fields` parameter names, bound to the schema: the field
//! of the record itself, or of its parent through a reference (`Account.Name`
//! on a contact). It reads values: it must never change a record.

use serde_json::Value;

use super::fields::{Field, SObject};
use super::reply::SfError;
use super::store::{SfRecord, SfStore};

/// A bound field: `field` of the record, or of the parent that `via` references.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub(crate) field: &'static Field,
    /// The reference field and the parent's relationship name and type.
    pub(crate) via: Option<(&'static Field, &'static str, SObject)>,
}

impl Column {
    /// Binds a name as written (`Email`, `account.name`) to the type's schema.
    pub(crate) fn bind(kind: SObject, name: &str) -> Result<Column, SfError> {
        let Some((relationship, rest)) = name.split_once('.') else {
            let field = kind
                .field(name)
                .ok_or_else(|| SfError::no_such_column(name, kind.name()))?;
            return Ok(Column { field, via: None });
        };
        let (reference, parent) = kind.relationship(relationship).ok_or_else(|| {
            SfError::bad(
                "INVALID_FIELD",
                format!(
                    "Didn't understand relationship '{relationship}' in field path. If you are \
                     attempting to use a custom relationship, be sure to append the '__r' after \
                     the custom relationship name. Please reference your WSDL or the describe \
                     call for the appropriate names."
                ),
            )
        })?;
        let field = parent
            .field(rest)
            .ok_or_else(|| SfError::no_such_column(rest, parent.name()))?;
        let name = reference.relationship.unwrap_or(relationship_name(parent));
        Ok(Column {
            field,
            via: Some((reference, name, parent)),
        })
    }

    /// The column's value on `record` (`null` when the parent is unset or gone).
    pub(crate) fn value(&self, store: &SfStore, record: &SfRecord) -> Value {
        match self.via {
            None => record.value(self.field),
            Some((reference, _, _)) => parent(store, record, reference)
                .map_or(Value::Null, |parent| parent.value(self.field)),
        }
    }

    /// The name as the answer spells it (`Account.Name`).
    pub(crate) fn label(&self) -> String {
        match self.via {
            None => self.field.name.to_string(),
            Some((_, relationship, _)) => format!("{relationship}.{}", self.field.name),
        }
    }
}

fn relationship_name(parent: SObject) -> &'static str {
    parent.name()
}

/// The live parent record a reference field points to.
pub(crate) fn parent<'a>(
    store: &'a SfStore,
    record: &SfRecord,
    reference: &Field,
) -> Option<&'a SfRecord> {
    let id = record.value(reference);
    store.by_id(id.as_str()?).filter(|parent| !parent.deleted)
}
