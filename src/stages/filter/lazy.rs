//! Stage 9, the filter's fast path: the same filtering without a `serde_json::Value` DOM.
//!
//! For the common shapes — the body is one record (`$`), or the records are the elements of
//! one top-level array (`$.results[*]`) — objects are read as their members in document
//! order with the values left as raw JSON text (`RawValue`): what is kept is copied, only
//! attribute values, ids and masked values are parsed. Everything else, and anything this
//! path is unsure about (a duplicate key, an escaped property name, a value of an unexpected
//! type, a parse error), returns `None` and the DOM path in `filter.rs`, the reference, runs
//! instead: this path never decides anything on its own, and never lets through a member
//! the DOM path would remove. A test compares both on the demo data and on random bodies.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::{note_all, Outcome, RecordPlan, Run};
use crate::routes::typed_owned;
use crate::routes::{computed, AttrSource, AttrValue, GroupId, Layout};
use crate::stages::filter::masks;

/// An object key, borrowed from the body when it holds no escape sequence.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON object's members in document order; values stay raw JSON text.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                // Room for a CRM record's usual properties (the JSON reader gives no hint).
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(32));
                while let Some((k, v)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    out.push((k.0, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Few members (a record's top level, an envelope): a pairwise check is cheapest.
fn has_duplicates<T>(members: &[(Cow<'_, str>, T)]) -> bool {
    members
        .iter()
        .enumerate()
        .any(|(i, (k, _))| members.iter().skip(i + 1).any(|(other, _)| other == k))
}

/// A record member: raw, or (the properties member) already split into its members, so that
/// the body is scanned once.
enum Member<'a> {
    Raw(&'a RawValue),
    /// `None`: the properties member is `null`.
    Properties(Option<Members<'a>>),
}

/// A record's members in document order.
struct Record<'a>(Vec<(Cow<'a, str>, Member<'a>)>);

impl<'a> Record<'a> {
    fn raw(&self, key: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, m)| match m {
                Member::Raw(r) => Some(*r),
                Member::Properties(_) => None,
            })
    }

    fn properties(&self) -> Option<&Members<'a>> {
        self.0.iter().find_map(|(_, m)| match m {
            Member::Properties(p) => p.as_ref(),
            Member::Raw(_) => None,
        })
    }
}

/// Reads a record; the member named `.0` must be an object or `null` (anything else is an
/// error here, which sends the body to the DOM path).
struct RecordSeed<'s>(&'s str);

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Record<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Record<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Record<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record<'de>, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(k) = map.next_key::<Key<'de>>()? {
            let member = if k.0 == self.0 {
                Member::Properties(map.next_value::<Option<Members<'de>>>()?)
            } else {
                Member::Raw(map.next_value::<&'de RawValue>()?)
            };
            out.push((k.0, member));
        }
        Ok(Record(out))
    }
}

/// Reads the records array: each element a record.
struct RecordsSeed<'s>(&'s str);

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = Vec<Record<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Record<'de>>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = Vec<Record<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Record<'de>>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(100));
        while let Some(r) = seq.next_element_seed(RecordSeed(self.0))? {
            out.push(r);
        }
        Ok(out)
    }
}

/// A top-level member: raw, or the records array.
enum TopMember<'a> {
    Raw(&'a RawValue),
    Records(Vec<Record<'a>>),
}

/// Reads the top-level object: the member named `key` must be an array of records (anything
/// else sends the body to the DOM path), `properties` names the records' property member.
struct TopSeed<'s> {
    key: &'s str,
    properties: &'s str,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Vec<(Cow<'de, str>, TopMember<'de>)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Vec<(Cow<'de, str>, TopMember<'de>)>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<Key<'de>>()? {
            let member = if k.0 == self.key {
                TopMember::Records(map.next_value_seed(RecordsSeed(self.properties))?)
            } else {
                TopMember::Raw(map.next_value::<&'de RawValue>()?)
            };
            out.push((k.0, member));
        }
        Ok(out)
    }
}

/// FNV-1a: property names are short and repeat on every record of a page; SipHash's DoS
/// resistance buys nothing for a map that lives one request and holds the names of one
/// vendor schema.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// What a property name means for this request, worked out once per name.
struct NameInfo {
    /// `None`: hidden (fetched only to decide) or unclassified — removed either way.
    group: Option<GroupId>,
    unclassified: bool,
    /// Bit i set: attribute i of the resource is read from this property.
    attrs: u64,
    /// Index into `Names::stamps`, to find a name given twice in one record.
    slot: usize,
}

struct Names<'a> {
    info: HashMap<&'a str, NameInfo, BuildHasherDefault<Fnv>>,
    /// The last record (1-based) each name was seen in.
    stamps: Vec<usize>,
    /// The previous record's property names in order, with their group, attribute bits and
    /// slot: records of a page list their properties in the same order, so a name is
    /// usually found by one comparison instead of a lookup.
    prev: Vec<(&'a str, Option<GroupId>, u64, usize)>,
}

impl Default for Names<'_> {
    /// Room for a record's usual names (CRM records carry a few dozen properties), so
    /// that a single record does not grow the table name by name.
    fn default() -> Self {
        Names {
            info: HashMap::with_capacity_and_hasher(64, BuildHasherDefault::default()),
            stamps: Vec::with_capacity(64),
            prev: Vec::with_capacity(64),
        }
    }
}

/// A raw JSON value as a `Value`. A string without escapes (most attribute values, ids and
/// masked values) is its text between the quotes, taken without a parser: a raw value is
/// valid JSON, so such a string holds no quote, backslash or control character.
fn value_of(raw: &RawValue) -> Option<Value> {
    let text = raw.get();
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        if !inner.contains('\\') {
            return Some(Value::String(inner.to_string()));
        }
    }
    serde_json::from_str(text).ok()
}

#[expect(
    clippy::ptr_arg,
    reason = "borrowed or owned is the point: it says whether to escape"
)]
fn push_key(out: &mut Vec<u8>, key: &Cow<'_, str>) -> Option<()> {
    match key {
        // Borrowed means the body spelt it without escapes, and a JSON string without escapes
        // holds no quote, backslash or control character: its bytes are valid JSON again.
        Cow::Borrowed(k) => {
            out.push(b'"');
            out.extend_from_slice(k.as_bytes());
            out.push(b'"');
        }
        Cow::Owned(k) => serde_json::to_writer(&mut *out, k.as_str()).ok()?,
    }
    out.push(b':');
    Some(())
}

impl<'r> Run<'r> {
    /// `$.<key>[*]`: the filtered body and where each kept record's text lies in it, or
    /// `None` to let the DOM path decide.
    pub(super) fn lazy_list(
        &mut self,
        body: &[u8],
        key: &str,
        envelope: &[String],
    ) -> Option<(Vec<u8>, Vec<Range<usize>>)> {
        // A flat record is the DOM path's (its properties are the record's members).
        if self.resource.attributes.len() > 64 || self.resource.layout == Layout::Flat {
            return None;
        }
        let seed = TopSeed {
            key,
            properties: &self.resource.properties_field,
        };
        // One UTF-8 check up front: raw values read from a `str` are not checked again.
        let text = std::str::from_utf8(body).ok()?;
        let mut de = serde_json::Deserializer::from_str(text);
        let top = seed.deserialize(&mut de).ok()?;
        de.end().ok()?;
        if has_duplicates(&top) {
            return None;
        }
        let mut names = Names::default();
        let mut seq = 0;
        let mut spans = Vec::new();
        // The filtered body is rarely larger than the upstream's (a mask can lengthen a
        // value), so the buffer does not grow and copy itself on the way; it is shrunk to
        // fit at the end, since many responses may wait in memory at once.
        let mut out = Vec::with_capacity(body.len());
        out.push(b'{');
        let mut first = true;
        for (k, member) in top {
            // JSONPath selects nothing in an empty array: then the key is not on the way to
            // a record and only the envelope can keep it.
            let records = match member {
                TopMember::Records(items) if !items.is_empty() => Some(items),
                TopMember::Records(_) if envelope.iter().any(|e| *e == k) => {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    push_key(&mut out, &k)?;
                    out.extend_from_slice(b"[]");
                    continue;
                }
                TopMember::Records(_) => continue,
                TopMember::Raw(raw) => {
                    if envelope.iter().any(|e| *e == k) {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        push_key(&mut out, &k)?;
                        out.extend_from_slice(raw.get().as_bytes());
                    }
                    continue;
                }
            };
            if !first {
                out.push(b',');
            }
            first = false;
            push_key(&mut out, &k)?;
            out.push(b'[');
            let mut first_record = true;
            for record in records.into_iter().flatten() {
                seq += 1;
                let mark = out.len();
                if !first_record {
                    out.push(b',');
                }
                let start = out.len();
                if self.lazy_record(record, &mut names, seq, &mut out)? {
                    first_record = false;
                    spans.push(start..out.len());
                } else {
                    out.truncate(mark);
                }
            }
            out.push(b']');
        }
        out.push(b'}');
        out.shrink_to_fit();
        Some((out, spans))
    }

    /// `$`: the body is one record. `Some(None)` when the row decision denies it.
    pub(super) fn lazy_single(&mut self, body: &[u8]) -> Option<Option<Vec<u8>>> {
        if self.resource.attributes.len() > 64 || self.resource.layout == Layout::Flat {
            return None;
        }
        let text = std::str::from_utf8(body).ok()?;
        let mut de = serde_json::Deserializer::from_str(text);
        let record = RecordSeed(&self.resource.properties_field)
            .deserialize(&mut de)
            .ok()?;
        de.end().ok()?;
        let mut out = Vec::with_capacity(body.len());
        let kept = self.lazy_record(record, &mut Names::default(), 1, &mut out)?;
        out.shrink_to_fit();
        Some(kept.then_some(out))
    }

    /// Filter one record into `out`; `Some(false)` when the row decision drops it (nothing
    /// is written then), `None` when the DOM path must decide.
    fn lazy_record<'a>(
        &mut self,
        record: Record<'a>,
        names: &mut Names<'a>,
        seq: usize,
        out: &mut Vec<u8>,
    ) -> Option<bool> {
        let res = self.resource;
        if has_duplicates(&record.0) {
            return None;
        }
        let id = match value_of(record.raw(&res.id_field)?)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let props = record.properties();
        // Per property: its group (`None`: removed) and the attributes read from it.
        let infos = match props {
            Some(props) => self.property_infos(props, names, seq)?,
            None => Vec::new(),
        };
        let attrs = self.lazy_attributes(&record, props, &infos)?;

        let plan = self.planner.plan(&id, attrs);
        note_all(&mut self.out.policies, &plan.row.policies);
        note_all(&mut self.out.errors, &plan.row.errors);
        // A rehearsal stops at the row decision, as a hidden record does.
        if !plan.row.allow || self.row_only {
            self.out.dropped.push(id);
            return Some(false);
        }
        for (_, d) in &plan.groups {
            note_all(&mut self.out.errors, &d.errors);
        }

        let mut present: u64 = 0;
        out.push(b'{');
        let mut first = true;
        for (k, member) in &record.0 {
            let mark = out.len();
            if !first {
                out.push(b',');
            }
            push_key(out, k)?;
            let raw = match member {
                Member::Raw(raw) => raw,
                Member::Properties(_) => {
                    // (the record's one properties member: `props`)
                    match props {
                        Some(props) => {
                            self.write_properties(props, &infos, names, &plan, &mut present, out)?;
                        }
                        None => out.extend_from_slice(b"null"),
                    }
                    first = false;
                    continue;
                }
            };
            if self.write_member(k, raw, &plan, &mut present, out)? {
                first = false;
            } else {
                out.truncate(mark);
            }
        }
        out.push(b'}');
        let view = self.audit_view(id, &plan, present);
        self.out.records.push(view);
        Some(true)
    }

    /// Per property of a record, in order: its group (`None`: removed) and the bits of the
    /// attributes read from it. `None` for what the DOM path must decide: an escaped name,
    /// a name given twice.
    fn property_infos<'a>(
        &self,
        props: &Members<'a>,
        names: &mut Names<'a>,
        seq: usize,
    ) -> Option<Vec<(Option<GroupId>, u64)>> {
        let mut infos = Vec::with_capacity(props.0.len());
        for (i, (name, _)) in props.0.iter().enumerate() {
            // An escaped name is rare enough to leave to the DOM path.
            let Cow::Borrowed(name) = name else {
                return None;
            };
            let name: &'a str = name;
            let (group, attrs, slot) = match names.prev.get(i) {
                Some(&(n, g, a, s)) if n == name => (g, a, s),
                _ => {
                    let next_slot = names.info.len();
                    let info = names
                        .info
                        .entry(name)
                        .or_insert_with(|| self.name_info(name, next_slot));
                    let found = (name, info.group, info.attrs, info.slot);
                    match names.prev.get_mut(i) {
                        Some(p) => *p = found,
                        None => names.prev.push(found),
                    }
                    (found.1, found.2, found.3)
                }
            };
            infos.push((group, attrs));
            if names.stamps.len() <= slot {
                names.stamps.resize(slot + 1, 0);
            }
            let stamp = names.stamps.get_mut(slot)?;
            if *stamp == seq {
                // A name given twice: which value counts is the DOM path's call.
                return None;
            }
            *stamp = seq;
        }
        Some(infos)
    }

    /// The record's attribute values, exactly as `extract_attributes` reads them from a DOM.
    fn lazy_attributes(
        &self,
        record: &Record<'_>,
        props: Option<&Members<'_>>,
        infos: &[(Option<GroupId>, u64)],
    ) -> Option<Vec<Option<AttrValue>>> {
        let res = self.resource;
        let mut raw_attrs: Vec<Option<&RawValue>> = vec![None; res.attributes.len()];
        if let Some(props) = props {
            for ((_, value), &(_, bits)) in props.0.iter().zip(infos) {
                if bits != 0 {
                    for (i, slot) in raw_attrs.iter_mut().enumerate() {
                        if bits & (1 << i) != 0 {
                            *slot = Some(value);
                        }
                    }
                }
            }
        }
        // Computed attributes read several properties: those, as a map, as the DOM has it.
        let computed_inputs = match (res.computed_by.get(), props) {
            (Some(e), Some(props)) if res.has_computed() => {
                let mut m = serde_json::Map::new();
                for (name, value) in &props.0 {
                    if e.inputs().iter().any(|i| i == name.as_ref()) {
                        m.insert(name.to_string(), value_of(value)?);
                    }
                }
                Some(m)
            }
            _ => None,
        };
        let mut attrs = Vec::with_capacity(res.attributes.len());
        for (spec, raw_prop) in res.attributes.iter().zip(&raw_attrs) {
            let raw = match &spec.source {
                AttrSource::Property(_) => *raw_prop,
                AttrSource::Field(f) => record.raw(f),
                AttrSource::Computed(c) => {
                    attrs.push(Some(AttrValue::Bool(computed(
                        res,
                        *c,
                        computed_inputs.as_ref(),
                    ))));
                    continue;
                }
            };
            let value = match raw {
                Some(r) => Some(value_of(r)?),
                None => None,
            };
            attrs.push(
                value
                    .and_then(|v| typed_owned(spec.kind, v))
                    .or_else(|| spec.default.clone()),
            );
        }
        Some(attrs)
    }

    /// Write the record's properties member as the plan shows it: removed groups left out,
    /// masked ones masked, unclassified names noted once.
    fn write_properties(
        &mut self,
        props: &Members<'_>,
        infos: &[(Option<GroupId>, u64)],
        names: &mut Names<'_>,
        plan: &RecordPlan,
        present: &mut u64,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        out.push(b'{');
        let mut first_prop = true;
        for ((name, value), (group, _)) in props.0.iter().zip(infos) {
            let Some(g) = group else {
                if let Some(info) = names.info.get_mut(name.as_ref()) {
                    if info.unclassified {
                        self.out.unclassified.insert(name.to_string());
                        info.unclassified = false;
                    }
                }
                continue;
            };
            *present |= 1 << g;
            let masked = match plan.outcome(*g) {
                Outcome::Removed => continue,
                Outcome::Clear => None,
                Outcome::Masked(kind) => {
                    let v = value_of(value)?;
                    match masks::apply(kind, &v, self.key) {
                        Some(m) => Some(m),
                        None => continue,
                    }
                }
            };
            if !first_prop {
                out.push(b',');
            }
            first_prop = false;
            push_key(out, name)?;
            match masked {
                None => out.extend_from_slice(value.get().as_bytes()),
                Some(m) => serde_json::to_writer(&mut *out, &m).ok()?,
            }
        }
        out.push(b'}');
        Some(())
    }

    /// Write the value of a record member other than the properties (its key is written
    /// already); `Some(false)` when the member is not kept (the caller takes its key back).
    fn write_member(
        &mut self,
        k: &str,
        raw: &RawValue,
        plan: &RecordPlan,
        present: &mut u64,
        out: &mut Vec<u8>,
    ) -> Option<bool> {
        let res = self.resource;
        let keep = if k == res.id_field {
            out.extend_from_slice(raw.get().as_bytes());
            true
        } else if res.history_field.as_deref() == Some(k) {
            match serde_json::from_str::<Value>(raw.get()).ok()? {
                Value::Object(mut hist) => {
                    self.filter_properties(&mut hist, plan, present, true);
                    serde_json::to_writer(&mut *out, &hist).ok()?;
                }
                Value::Null => out.extend_from_slice(b"null"),
                _ => return None,
            }
            true
        } else if let Some(&g) = res.field_groups.get(k) {
            *present |= 1 << g;
            // Typed fields are kept or removed, never masked into a string.
            let keep = plan.outcome(g) == Outcome::Clear;
            if keep && self.shown.is_field(k) {
                // Associated ids name records: only those the caller may read.
                let v = serde_json::from_str::<Value>(raw.get()).ok()?;
                match self.shown.filter(&v, &mut self.out.associations) {
                    Some(kept) => {
                        serde_json::to_writer(&mut *out, &kept).ok()?;
                        true
                    }
                    None => false,
                }
            } else {
                if keep {
                    out.extend_from_slice(raw.get().as_bytes());
                }
                keep
            }
        } else {
            self.out.unclassified.insert(k.to_string());
            false
        };
        Some(keep)
    }

    fn name_info(&self, name: &str, slot: usize) -> NameInfo {
        let res = self.resource;
        let mut attrs = 0u64;
        for (i, spec) in res.attributes.iter().enumerate() {
            if matches!(&spec.source, AttrSource::Property(p) if p == name) {
                attrs |= 1 << i;
            }
        }
        // As in `filter_properties`: hidden first, then the classification.
        let (group, unclassified) = if self.hidden.contains(name) {
            (None, false)
        } else {
            match res.property_groups.get(name) {
                Some(&g) => (Some(g), false),
                None => (None, true),
            }
        };
        NameInfo {
            group,
            unclassified,
            attrs,
            slot,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_read_without_a_parser_equal_parsed_ones() {
        let doc = r#"["a", "", "\"x", "\u00e9", "ü", "a\nb", "tab\there", "\\", 12, -1.5e3,
            null, true, {"a": [1, "b"]}, [], "😀", "\ud83d\ude00", " spaced "]"#;
        let raws: Vec<&RawValue> = serde_json::from_str(doc).unwrap();
        assert_eq!(raws.len(), 17);
        for raw in raws {
            let parsed: Value = serde_json::from_str(raw.get()).unwrap();
            assert_eq!(value_of(raw), Some(parsed), "{}", raw.get());
        }
    }
}
