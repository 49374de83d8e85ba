//! The Salesforce demo's routing: the token endpoint, the versions list, and
//! under `/services/data/vNN.N/` the bearer check, then query, sObject and
//! collection endpoints. It must never answer anything itself beyond "no such
//! resource" and "not authenticated".

use http::{HeaderMap, Method, Uri};
use serde_json::Value;

use super::crm::SalesforceCrm;
use super::fields::SObject;
use super::reply::{SfAnswer, SfError};
use super::{composite, describe, oauth, query, render, sobjects};
use crate::query::{percent_decode, Query};
use crate::reply::Reply;

/// The endpoints under a version.
#[derive(Debug, PartialEq)]
enum Route {
    Resources,
    Query { all: bool },
    QueryMore { all: bool, locator: String },
    Global,
    Basic(SObject),
    Describe(SObject),
    Create(SObject),
    Get(SObject, String),
    Update(SObject, String),
    Delete(SObject, String),
    GetBy(SObject, String, String),
    Upsert(SObject, String, String),
    DeleteBy(SObject, String, String),
    CollectionCreate,
    CollectionUpdate,
    CollectionDelete,
    CollectionRetrieve(SObject),
    CollectionUpsert(SObject, String),
}

/// `v62.0` and the like.
fn is_version(text: &str) -> bool {
    text.strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major
                    .bytes()
                    .chain(minor.bytes())
                    .all(|b| b.is_ascii_digit())
        })
}

fn route(method: &Method, rest: &[String]) -> Option<Route> {
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    let kind = |name: &str| SObject::parse(name);
    let owned = |text: &str| text.to_string();
    Some(match (method, words.as_slice()) {
        (&Method::GET, []) => Route::Resources,
        (&Method::GET, ["query"]) => Route::Query { all: false },
        (&Method::GET, ["queryAll"]) => Route::Query { all: true },
        (&Method::GET, ["query", locator]) => Route::QueryMore {
            all: false,
            locator: owned(locator),
        },
        (&Method::GET, ["queryAll", locator]) => Route::QueryMore {
            all: true,
            locator: owned(locator),
        },
        (&Method::GET, ["sobjects"]) => Route::Global,
        (&Method::GET, ["sobjects", t]) => Route::Basic(kind(t)?),
        (&Method::POST, ["sobjects", t]) => Route::Create(kind(t)?),
        (&Method::GET, ["sobjects", t, "describe"]) => Route::Describe(kind(t)?),
        (&Method::GET, ["sobjects", t, id]) => Route::Get(kind(t)?, owned(id)),
        (&Method::PATCH, ["sobjects", t, id]) => Route::Update(kind(t)?, owned(id)),
        (&Method::DELETE, ["sobjects", t, id]) => Route::Delete(kind(t)?, owned(id)),
        (&Method::GET, ["sobjects", t, f, v]) => Route::GetBy(kind(t)?, owned(f), owned(v)),
        (&Method::PATCH, ["sobjects", t, f, v]) => Route::Upsert(kind(t)?, owned(f), owned(v)),
        (&Method::DELETE, ["sobjects", t, f, v]) => Route::DeleteBy(kind(t)?, owned(f), owned(v)),
        (&Method::POST, ["composite", "sobjects"]) => Route::CollectionCreate,
        (&Method::PATCH, ["composite", "sobjects"]) => Route::CollectionUpdate,
        (&Method::DELETE, ["composite", "sobjects"]) => Route::CollectionDelete,
        (&Method::PATCH, ["composite", "sobjects", t, f]) => {
            Route::CollectionUpsert(kind(t)?, owned(f))
        }
        (&Method::GET | &Method::POST, ["composite", "sobjects", t]) => {
            Route::CollectionRetrieve(kind(t)?)
        }
        _ => return None,
    })
}

/// Answers one request whose body has been read in full.
pub(crate) fn respond(
    crm: &SalesforceCrm,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let path = uri.path().trim_end_matches('/');
    if path == "/services/oauth2/token" && method == Method::POST {
        return oauth::token(crm, headers, body);
    }
    if path == "/services/data" && method == Method::GET {
        return describe::versions();
    }
    let segments: Vec<String> = path
        .split('/')
        .map(|segment| percent_decode(segment, false))
        .collect();
    let answer = match segments.as_slice() {
        [empty, services, data, version, rest @ ..]
            if empty.is_empty()
                && services == "services"
                && data == "data"
                && is_version(version) =>
        {
            // The session is checked before routing: without one, nothing about
            // which resources exist is learnt.
            match oauth::check(crm, headers) {
                Some(refusal) => Err(refusal),
                None => {
                    let query = Query::parse(uri.query());
                    match route(method, rest) {
                        Some(route) => {
                            dispatch(crm, version, route, &query, headers, body).map(|mut reply| {
                                if !crm.extra_fields.is_empty() && reply.status.is_success() {
                                    render::add_extra_fields(&mut reply.body, &crm.extra_fields);
                                }
                                reply
                            })
                        }
                        None => Err(SfError::not_found()),
                    }
                }
            }
        }
        _ => Err(SfError::not_found()),
    };
    answer.unwrap_or_else(SfError::into_reply)
}

fn dispatch(
    crm: &SalesforceCrm,
    version: &str,
    route: Route,
    query: &Query,
    headers: &HeaderMap,
    body: &[u8],
) -> SfAnswer {
    let fields = query.first("fields");
    match route {
        Route::Resources => Ok(describe::resources(version)),
        Route::Query { all } => query::query(crm, version, query.first("q"), headers, all),
        Route::QueryMore { locator, .. } => query::more(crm, version, &locator),
        Route::Global => Ok(describe::global(version)),
        Route::Basic(kind) => Ok(describe::basic(kind, version)),
        Route::Describe(kind) => Ok(describe::describe(crm, kind, version)),
        Route::Create(kind) => sobjects::create(crm, kind, &json(body)?),
        Route::Get(kind, id) => sobjects::get(crm, version, kind, &id, fields),
        Route::Update(kind, id) => sobjects::update(crm, kind, &id, &json(body)?),
        Route::Delete(kind, id) => sobjects::delete(crm, kind, &id),
        Route::GetBy(kind, f, v) => sobjects::get_by(crm, version, kind, &f, &v, fields),
        Route::Upsert(kind, f, v) => sobjects::upsert(crm, version, kind, &f, &v, &json(body)?),
        Route::DeleteBy(kind, f, v) => sobjects::delete_by(crm, version, kind, &f, &v),
        Route::CollectionCreate => composite::create(crm, &json(body)?),
        Route::CollectionUpdate => composite::update(crm, &json(body)?),
        Route::CollectionUpsert(kind, f) => composite::upsert(crm, kind, &f, &json(body)?),
        Route::CollectionDelete => {
            let all_or_none = query
                .first("allOrNone")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            composite::delete(crm, query.first("ids"), all_or_none)
        }
        Route::CollectionRetrieve(kind) => {
            let (ids, fields) = if body.is_empty() {
                (query.list("ids"), query.list("fields"))
            } else {
                let body = json(body)?;
                let strings = |name: &str| -> Vec<String> {
                    body.get(name)
                        .and_then(Value::as_array)
                        .map(|items| {
                            items
                                .iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                (strings("ids"), strings("fields"))
            };
            composite::retrieve(crm, version, kind, &ids, &fields)
        }
    }
}

fn json(body: &[u8]) -> Result<Value, SfError> {
    serde_json::from_slice(body).map_err(|error| {
        SfError::bad(
            "JSON_PARSER_ERROR",
            format!("Unexpected character: {error}"),
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<String> {
        text.split('/').map(str::to_string).collect()
    }

    #[test]
    fn routes_cover_the_documented_endpoints_and_nothing_else() {
        assert_eq!(
            route(&Method::GET, &path("sobjects/contact/describe")),
            Some(Route::Describe(SObject::Contact))
        );
        assert_eq!(
            route(
                &Method::PATCH,
                &path("sobjects/Contact/External_Id__c/C-1001")
            ),
            Some(Route::Upsert(
                SObject::Contact,
                "External_Id__c".into(),
                "C-1001".into()
            ))
        );
        assert!(route(&Method::GET, &path("sobjects/Opportunity/006Dm0000000001")).is_none());
        assert!(route(&Method::PUT, &path("sobjects/Contact/003Dm0000001001")).is_none());
        assert!(route(&Method::GET, &path("search")).is_none());
        assert!(route(&Method::POST, &path("composite")).is_none());
        assert!(
            is_version("v62.0") && !is_version("62.0") && !is_version("v62") && !is_version("vx.0")
        );
    }
}
