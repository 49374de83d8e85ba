//! HubSpot read requests: batch read bodies, and preparing every read route's upstream
//! request (properties added for the policies, typed search and batch bodies, lookups). It
//! must never forward a client's bytes: the upstream body is rebuilt from the typed value.

use std::collections::{BTreeSet, HashSet};

use bytes::Bytes;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::RequestError;
use crate::policy::plan::RowCondition;
use crate::routes::{GroupId, Operation, ResourceProfile, Route};
use crate::stages::sanitize::{self, Canonical};
use crate::stages::vendor::{Answer, BatchAnswer, CountedSearch, PageRead, PageRequest, Prepared};

use super::pages::{list_page, pushable_filters, read_results_page, results_answer, RefilledPlan};
use super::search::*;
use super::strict::parse_strict;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
    pub id: Scalar,
}

/// `POST /crm/v3/objects/{type}/batch/read`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BatchReadRequest {
    pub inputs: Vec<BatchInput>,
    #[serde(default)]
    pub properties: Option<Vec<String>>,
    #[serde(default)]
    pub properties_with_history: Option<Vec<String>>,
    #[serde(default)]
    pub id_property: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UpstreamBatchRead<'a> {
    inputs: &'a [BatchInput],
    properties: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    properties_with_history: Option<&'a Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_property: Option<&'a String>,
}

/// Most inputs of one batch read (HubSpot's own cap).
pub const BATCH_MAX_INPUTS: usize = 100;

impl BatchReadRequest {
    pub fn parse(body: &[u8]) -> Result<BatchReadRequest, RequestError> {
        let req: BatchReadRequest = parse_strict(body, "batch read")?;
        if req.inputs.len() > BATCH_MAX_INPUTS {
            return Err(RequestError::BadRequest(format!(
                "a batch read takes at most {BATCH_MAX_INPUTS} inputs"
            )));
        }
        Ok(req)
    }

    /// The lookup property, if the inputs are not record ids.
    pub fn lookup_property(&self) -> Option<&str> {
        self.id_property
            .as_deref()
            .filter(|p| !p.is_empty() && *p != "hs_object_id")
    }

    /// Every property the batch selects records by: its `idProperty`.
    pub fn selected_by(&self) -> BTreeSet<&str> {
        self.lookup_property().into_iter().collect()
    }

    /// The distinct input keys, in request order (HubSpot answers each once).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for i in &self.inputs {
            let k = i.id.as_text();
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys
    }

    pub fn upstream_body(&self, properties: &[String]) -> Result<Vec<u8>, RequestError> {
        serde_json::to_vec(&UpstreamBatchRead {
            inputs: &self.inputs,
            properties,
            properties_with_history: self.properties_with_history.as_ref(),
            id_property: self.id_property.as_ref(),
        })
        .map_err(|e| RequestError::Internal(format!("serialize batch read: {e}")))
    }
}

/// The batch-read error for inputs the caller gets no record for: the same entry whether
/// the CRM has no such record or the policy hides it, so the two cannot be told apart.
pub fn not_found_errors(object_label: &str, keys: &[String]) -> Vec<Value> {
    keys.iter()
        .map(|k| {
            let mut e = Map::new();
            e.insert("status".into(), Value::from("error"));
            e.insert("category".into(), Value::from("OBJECT_NOT_FOUND"));
            e.insert(
                "message".into(),
                Value::from(format!(
                    "Could not get some {object_label} objects, they may be deleted or not exist. Check that ids are valid."
                )),
            );
            let mut ctx = Map::new();
            ctx.insert("ids".into(), Value::Array(vec![Value::from(k.as_str())]));
            e.insert("context".into(), Value::Object(ctx));
            e.insert("errors".into(), Value::Array(Vec::new()));
            e.insert("links".into(), Value::Object(Map::new()));
            Value::Object(e)
        })
        .collect()
}

// ---- the profile: preparing requests, answering over what the caller is shown ----------

/// A HubSpot search, once crmgate counts it itself: the typed request and the properties
/// crmgate asks for.
struct CountedSearchPlan {
    /// The search route's path: every page is a search body sent there.
    path: String,
    search: SearchRequest,
    properties: Vec<String>,
    /// The searched resource: what the caller's row condition's attributes are.
    resource: std::sync::Arc<ResourceProfile>,
}

/// HubSpot's bounds on a search's filters: groups, filters per group, filters in all.
const MAX_FILTER_GROUPS: usize = 5;
const MAX_GROUP_FILTERS: usize = 6;
const MAX_FILTERS: usize = 18;

impl CountedSearchPlan {
    /// The client's filter groups with the pushable part of the row condition added to each
    /// (every group ANDs it), and whether that part is all of it; `None` when nothing can
    /// be added or HubSpot's bounds would be passed (then the client's groups go alone).
    fn with_rows(&self, rows: &RowCondition) -> Option<(Vec<FilterGroup>, bool)> {
        let pushed = pushable_filters(&self.resource, rows);
        if pushed.is_empty() {
            return None;
        }
        let whole = pushed.len() == rows.len();
        let groups: Vec<FilterGroup> = match self.search.filter_groups.as_deref() {
            None | Some([]) => vec![FilterGroup { filters: pushed }],
            Some(client) => client
                .iter()
                .map(|g| FilterGroup {
                    filters: g.filters.iter().cloned().chain(pushed.clone()).collect(),
                })
                .collect(),
        };
        let all: usize = groups.iter().map(|g| g.filters.len()).sum();
        let fits = groups.len() <= MAX_FILTER_GROUPS
            && groups.iter().all(|g| g.filters.len() <= MAX_GROUP_FILTERS)
            && all <= MAX_FILTERS;
        fits.then_some((groups, whole))
    }
}

/// Upstream search pages crmgate asks for when it counts itself (HubSpot's page cap).
const SEARCH_PAGE: usize = 200;
/// Most upstream pages one search may take: 10,000 results, where HubSpot stops too.
const MAX_SEARCH_PAGES: usize = 50;

impl CountedSearch for CountedSearchPlan {
    fn page_size(&self) -> usize {
        SEARCH_PAGE
    }

    fn max_pages(&self) -> usize {
        MAX_SEARCH_PAGES
    }

    fn page_request(
        &self,
        cursor: Option<String>,
        rows: Option<&RowCondition>,
    ) -> Result<PageRequest, RequestError> {
        // The row condition narrows the query where HubSpot can carry it: fewer records
        // the caller may not see are read (each row is still decided one by one).
        let body = match rows.and_then(|r| self.with_rows(r)) {
            Some((groups, _)) => {
                let mut search = self.search.clone();
                search.filter_groups = Some(groups);
                search.upstream_body(&self.properties, SEARCH_PAGE as u64, cursor)?
            }
            None => self
                .search
                .upstream_body(&self.properties, SEARCH_PAGE as u64, cursor)?,
        };
        Ok(PageRequest {
            path_and_query: self.path.clone(),
            body: Some(Bytes::from(body)),
        })
    }

    fn read_page<'a>(&self, filtered: &'a [u8]) -> Result<PageRead<'a>, RequestError> {
        read_results_page(filtered)
    }

    fn client_page(&self) -> (Option<String>, usize) {
        self.search.page()
    }

    fn answer(
        &self,
        total: usize,
        page: &[&[u8]],
        next: Option<String>,
    ) -> Result<Vec<u8>, RequestError> {
        let paging = next.map(|next| ("paging", serde_json::json!({"next": {"after": next}})));
        results_answer(&[("total", Value::from(total))], page, paging.as_slice())
    }

    fn pushes_exactly(&self, rows: Option<&RowCondition>) -> bool {
        // HubSpot compares a string filter without regard to case (and tokenises some
        // operators): a filter on a free-text property can match a record the policies
        // hide ("Customer" for "customer"), and the CRM's `total` would count it. Exact
        // only where every pushed attribute is compared exactly (numbers, booleans,
        // enumerations).
        // fail closed: otherwise the total is what the caller has been shown.
        let compared_exactly = |rows: &RowCondition| {
            rows.iter().all(|(i, _)| {
                self.resource
                    .attributes
                    .get(*i)
                    .is_some_and(|a| a.exact_match)
            })
        };
        rows.filter(|r| compared_exactly(r))
            .and_then(|r| self.with_rows(r))
            .is_some_and(|(_, whole)| whole)
    }

    fn upstream_total(&self, envelope: &[u8]) -> Option<usize> {
        #[derive(Deserialize)]
        struct Envelope {
            total: Option<usize>,
        }
        serde_json::from_slice::<Envelope>(envelope).ok()?.total
    }
}

impl BatchAnswer for BatchReadRequest {
    fn rebuild(
        &self,
        res: &ResourceProfile,
        upstream: &[u8],
        filtered: Value,
    ) -> Result<(Value, StatusCode), RequestError> {
        batch_envelope(res, self, upstream, filtered)
    }
}

/// The upstream path, query and body for a read route: the client's property selection
/// plus the properties the record attributes come from. Search and batch bodies are parsed
/// into their typed form and rebuilt from it.
pub fn prepare(route: &Route, c: &Canonical, body: Bytes) -> Result<Prepared, RequestError> {
    let res = &route.resource;
    let mut hidden = HashSet::new();
    let (mut query, requested, lookup) = split_query(route, c);
    let mut prepared = Prepared {
        path_and_query: String::new(),
        body: None,
        hidden: HashSet::new(),
        selected_by: Vec::new(),
        answer: Answer::Filtered,
    };
    match route.body {
        Operation::Read => {
            if !body.is_empty() {
                return Err(RequestError::BadRequest(
                    "this route takes no request body".into(),
                ));
            }
            if let Some(param) = &route.properties_param {
                let props = with_attribute_properties(res, requested, &mut hidden);
                query.insert(0, (param.clone(), props.join(",")));
            }
            if let Some(p) = &lookup {
                prepared.selected_by.push(group_of(res, p)?);
            }
            if route.action == "list" && !route.is_single() && route.method == http::Method::GET {
                let (limit, cursor) = list_page(&query)?;
                prepared.answer = Answer::Refilled(Box::new(RefilledPlan {
                    path: c.path.clone(),
                    base: query
                        .iter()
                        .filter(|(k, _)| k != "limit" && k != "after")
                        .cloned()
                        .collect(),
                    limit,
                    cursor,
                }));
            }
        }
        Operation::Search => {
            let search = SearchRequest::parse(&body)?;
            for p in search.selected_by(&res.query_properties) {
                prepared.selected_by.push(group_of(res, p)?);
            }
            let props = with_attribute_properties(res, search.properties.clone(), &mut hidden);
            prepared.body = Some(Bytes::from(search.upstream_body(
                &props,
                search.limit.unwrap_or(SEARCH_DEFAULT_LIMIT),
                search.after.as_ref().map(Scalar::as_text),
            )?));
            prepared.answer = Answer::Counted(Box::new(CountedSearchPlan {
                path: c.path.clone(),
                search,
                properties: props,
                resource: route.resource.clone(),
            }));
        }
        Operation::BatchRead => {
            let batch = BatchReadRequest::parse(&body)?;
            for p in batch.selected_by() {
                prepared.selected_by.push(group_of(res, p)?);
            }
            let mut props = with_attribute_properties(res, batch.properties.clone(), &mut hidden);
            // Which record answers which input is read from the lookup property: fetched
            // for that, and hidden again unless the client asked for it.
            if let Some(p) = batch.lookup_property() {
                if !props.iter().any(|x| x == p) {
                    props.push(p.to_string());
                    hidden.insert(p.to_string());
                }
            }
            prepared.body = Some(Bytes::from(batch.upstream_body(&props)?));
            prepared.answer = Answer::Batch(Box::new(batch));
        }
        Operation::Describe => {
            return Err(RequestError::NotGoverned(
                "a collection's schema is not governed for this CRM".into(),
            ))
        }
        Operation::Write(..) => {
            return Err(RequestError::Internal(
                "a write route is not prepared as a read".into(),
            ))
        }
    }
    prepared.path_and_query = if query.is_empty() {
        c.path.clone()
    } else {
        format!("{}?{}", c.path, sanitize::encode_query(&query))
    };
    prepared.hidden = hidden;
    Ok(prepared)
}

/// A decoded query, its pairs in order.
type Query = Vec<(String, String)>;

/// The client's query without its property selection, the properties it selects (if it
/// names any), and the lookup property the query names (`idProperty`), if any.
fn split_query(route: &Route, c: &Canonical) -> (Query, Option<Vec<String>>, Option<String>) {
    let mut query: Vec<(String, String)> = Vec::new();
    let mut requested: Option<Vec<String>> = None;
    let mut lookup = None;
    for (k, v) in &c.query {
        if route.properties_param.as_deref() == Some(k.as_str()) {
            let list = requested.get_or_insert_with(Vec::new);
            list.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        } else {
            if k == "idProperty" && !v.is_empty() && v != "hs_object_id" {
                lookup = Some(v.clone());
            }
            query.push((k.clone(), v.clone()));
        }
    }
    (query, requested, lookup)
}

/// Merge the attribute properties into the requested list; fill `hidden` with those the
/// client will not see.
pub(super) fn with_attribute_properties(
    res: &ResourceProfile,
    requested: Option<Vec<String>>,
    hidden: &mut HashSet<String>,
) -> Vec<String> {
    // What the client sees: the properties it asked for and those always shown, or the
    // defaults. Compared by scanning (a few attribute properties against a short list),
    // not by building a set per request.
    let (mut props, always): (Vec<String>, &[String]) = match requested {
        Some(list) => (list, &res.always_properties),
        None => (res.default_properties.clone(), &[]),
    };
    let shown = props.len();
    for p in res.attribute_properties() {
        let visible = props
            .get(..shown)
            .unwrap_or_default()
            .iter()
            .chain(always)
            .any(|x| x == p);
        if !props.iter().any(|x| x == p) {
            props.push(p.to_string());
        }
        if !visible {
            hidden.insert(p.to_string());
        }
    }
    props
}

/// The field group of a property a request selects records by. An unclassified property
/// belongs to no group anyone may see: selecting by it is refused.
fn group_of(res: &ResourceProfile, property: &str) -> Result<GroupId, RequestError> {
    res.property_groups.get(property).copied().ok_or_else(|| {
        RequestError::BadRequest(format!(
            "cannot filter, sort or look up by unclassified property `{}`",
            property.chars().take(64).collect::<String>()
        ))
    })
}

/// The batch-read answer rebuilt over what the caller is shown: every input without a
/// shown record — whether the CRM lacks it or the policy hides it — gets the same
/// not-found entry, and the status is 207 exactly when there is one.
fn batch_envelope(
    res: &ResourceProfile,
    batch: &BatchReadRequest,
    upstream: &[u8],
    filtered: Value,
) -> Result<(Value, StatusCode), RequestError> {
    let mut doc = filtered;
    let shown_ids: HashSet<String> = doc
        .get("results")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.get(&res.id_field).and_then(Value::as_str))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    // The input key each shown record answers: its id, or its lookup value (compared
    // without case, as HubSpot compares e-mail addresses).
    let answered: HashSet<String> = match batch.lookup_property() {
        None => shown_ids,
        Some(p) => {
            let raw: Value = serde_json::from_slice(upstream)
                .map_err(|e| RequestError::Unfilterable(format!("batch body: {e}")))?;
            raw.get("results")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|r| {
                    r.get(&res.id_field)
                        .and_then(Value::as_str)
                        .is_some_and(|id| shown_ids.contains(id))
                })
                .filter_map(|r| {
                    r.get(&res.properties_field)
                        .and_then(|props| props.get(p))
                        .and_then(Value::as_str)
                        .map(str::to_lowercase)
                })
                .collect()
        }
    };
    let lookup = batch.lookup_property().is_some();
    let missing: Vec<String> = batch
        .keys()
        .into_iter()
        .filter(|k| {
            let k = if lookup { k.to_lowercase() } else { k.clone() };
            !answered.contains(&k)
        })
        .collect();
    let Value::Object(obj) = &mut doc else {
        return Err(RequestError::Unfilterable(
            "a batch answer that is not an object".into(),
        ));
    };
    obj.remove("numErrors");
    obj.remove("errors");
    let status = if missing.is_empty() {
        StatusCode::OK
    } else {
        let label = res.entity_type.to_uppercase();
        obj.insert("numErrors".into(), Value::from(missing.len()));
        obj.insert(
            "errors".into(),
            Value::Array(not_found_errors(&label, &missing)),
        );
        StatusCode::MULTI_STATUS
    };
    Ok((doc, status))
}
