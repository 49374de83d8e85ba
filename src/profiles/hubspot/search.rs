//! HubSpot's search body (`POST …/search`), parsed strictly and rebuilt from its typed
//! value. It must never let a property through unnamed: [`SearchRequest::selected_by`]
//! lists every property the request selects or orders records by.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::RequestError;

use super::strict::parse_strict;

/// HubSpot's cap on a search page (`limit`).
pub const SEARCH_MAX_LIMIT: u64 = 200;
/// HubSpot's default search page size.
pub const SEARCH_DEFAULT_LIMIT: u64 = 10;

/// A JSON scalar as clients send it (HubSpot documents strings; clients also send numbers).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Scalar {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
}

impl Scalar {
    pub fn as_text(&self) -> String {
        match self {
            Scalar::Str(s) => s.clone(),
            Scalar::Num(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    ContainsToken,
    NotContainsToken,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Filter {
    pub property_name: String,
    pub operator: Operator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Scalar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_value: Option<Scalar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Scalar>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterGroup {
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    Ascending,
    Descending,
}

/// One sort key. Only the object form: HubSpot also takes a bare property name, whose
/// reading (a leading `-`?) is undocumented — crmgate will not guess what it orders by.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sort {
    pub property_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

/// `POST /crm/v3/objects/{type}/search`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SearchRequest {
    #[serde(default)]
    pub filter_groups: Option<Vec<FilterGroup>>,
    #[serde(default)]
    pub sorts: Option<Vec<Sort>>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub properties: Option<Vec<String>>,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub after: Option<Scalar>,
}

/// The upstream search body, rebuilt from the typed request.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UpstreamSearch<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    filter_groups: Option<&'a Vec<FilterGroup>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sorts: Option<&'a Vec<Sort>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'a String>,
    properties: &'a [String],
    limit: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<String>,
}

impl SearchRequest {
    pub fn parse(body: &[u8]) -> Result<SearchRequest, RequestError> {
        let req: SearchRequest = parse_strict(body, "search")?;
        if let Some(limit) = req.limit {
            if limit == 0 || limit > SEARCH_MAX_LIMIT {
                return Err(RequestError::BadRequest(format!(
                    "`limit` must be between 1 and {SEARCH_MAX_LIMIT}"
                )));
            }
        }
        Ok(req)
    }

    /// Every property the search selects or orders records by. A free-text `query` selects by
    /// the vendor's query properties, which the caller passes in.
    pub fn selected_by<'a>(&'a self, query_properties: &'a [String]) -> BTreeSet<&'a str> {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        if self.query.as_deref().is_some_and(|q| !q.trim().is_empty()) {
            names.extend(query_properties.iter().map(String::as_str));
        }
        for g in self.filter_groups.iter().flatten() {
            names.extend(g.filters.iter().map(|f| f.property_name.as_str()));
        }
        names.extend(
            self.sorts
                .iter()
                .flatten()
                .map(|s| s.property_name.as_str()),
        );
        names
    }

    /// The client's page: its cursor as it sent it (where crmgate counts the search itself,
    /// crmgate's own, sealed), if any, and how many records the page holds.
    pub fn page(&self) -> (Option<String>, usize) {
        let limit = self.limit.unwrap_or(SEARCH_DEFAULT_LIMIT);
        (
            self.after.as_ref().map(Scalar::as_text),
            usize::try_from(limit).unwrap_or(usize::MAX),
        )
    }

    /// The upstream body: the typed request with crmgate's property list and page.
    pub fn upstream_body(
        &self,
        properties: &[String],
        limit: u64,
        after: Option<String>,
    ) -> Result<Vec<u8>, RequestError> {
        serde_json::to_vec(&UpstreamSearch {
            filter_groups: self.filter_groups.as_ref(),
            sorts: self.sorts.as_ref(),
            query: self.query.as_ref(),
            properties,
            limit,
            after,
        })
        .map_err(|e| RequestError::Internal(format!("serialize search: {e}")))
    }
}
