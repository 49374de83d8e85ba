//! What a test or the demo tour reads of the demo CRM's store: records in the
//! API's shape, associations, ids and counts. It only reads: it must never
//! change a record or count as a request received.

use crate::crm::DemoCrm;
use crate::model::ObjectType;
use crate::render::{render, Selection};

impl DemoCrm {
    /// One stored record as the API would return it for `GET …/{id}` with all
    /// properties (used by the demo tour and by tests reading what a write
    /// stored): `object_type` "contacts" or "companies". Archived records are
    /// found too; GDPR-deleted and merged-away ones are not.
    pub fn record_json(&self, object_type: &str, id: &str) -> Option<serde_json::Value> {
        let object_type = ObjectType::parse(object_type)?;
        let store = self.read_store();
        let record = store.records(object_type).iter().find(|r| r.id == id)?;
        let selection = Selection::all_properties(self, object_type);
        Some(render(self, object_type, record, &selection))
    }

    /// Like [`DemoCrm::record_json`], the record with the property history of
    /// every property it has (`propertiesWithHistory`, newest version first).
    pub fn record_json_with_history(
        &self,
        object_type: &str,
        id: &str,
    ) -> Option<serde_json::Value> {
        let object_type = ObjectType::parse(object_type)?;
        let store = self.read_store();
        let record = store.records(object_type).iter().find(|r| r.id == id)?;
        let selection = Selection::all_properties_with_history(self, object_type);
        Some(render(self, object_type, record, &selection))
    }

    /// The first stored record (archived ones included) whose `property`
    /// equals `value`, compared without regard to case like e-mail addresses,
    /// in the shape of [`DemoCrm::record_json`]: e.g. the contact a client
    /// created, by its e-mail address.
    pub fn find_record(
        &self,
        object_type: &str,
        property: &str,
        value: &str,
    ) -> Option<serde_json::Value> {
        let object_type = ObjectType::parse(object_type)?;
        let store = self.read_store();
        let wanted = value.to_lowercase();
        let record = store.records(object_type).iter().find(|record| {
            record
                .properties
                .get(property)
                .is_some_and(|stored| stored.to_lowercase() == wanted)
        })?;
        let selection = Selection::all_properties(self, object_type);
        Some(render(self, object_type, record, &selection))
    }

    /// The ids of the records of the other type a record is associated to, as the CRM
    /// stores them (empty for an unknown record).
    pub fn associated_ids(&self, object_type: &str, id: &str) -> Vec<String> {
        let Some(object_type) = ObjectType::parse(object_type) else {
            return Vec::new();
        };
        self.read_store()
            .records(object_type)
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.associations.clone())
            .unwrap_or_default()
    }

    /// The ids of the stored records of a type, in listing order: the
    /// archived ones when `archived`, else the active ones.
    pub fn record_ids(&self, object_type: &str, archived: bool) -> Vec<String> {
        let Some(object_type) = ObjectType::parse(object_type) else {
            return Vec::new();
        };
        self.read_store()
            .records(object_type)
            .iter()
            .filter(|record| record.is_archived() == archived)
            .map(|record| record.id.clone())
            .collect()
    }

    /// The number of contacts a full listing returns (not archived): 68 as seeded.
    pub fn contact_count(&self) -> usize {
        self.read_store()
            .contacts
            .iter()
            .filter(|r| !r.is_archived())
            .count()
    }
}
