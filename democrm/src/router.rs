//! The demo CRM's routing: the bearer token check, the endpoints it serves
//! (also under HubSpot's date-versioned prefix) and the dispatch of each to a
//! read under the read lock or a write under the write lock. It must never
//! answer anything itself beyond "no such endpoint" and "not authenticated".

use http::header::AUTHORIZATION;
use http::{HeaderMap, Method, StatusCode, Uri};

use crate::crm::DemoCrm;
use crate::model::ObjectType;
use crate::query::{percent_decode, Query};
use crate::reply::{error, object_not_found, Reply};
use crate::{reads, search, writes};

/// The endpoints the demo serves.
#[derive(Debug)]
enum Route {
    List(ObjectType),
    Get(ObjectType, String),
    Search(ObjectType),
    BatchRead(ObjectType),
    Create(ObjectType),
    Update(ObjectType, String),
    Archive(ObjectType, String),
    BatchCreate(ObjectType),
    BatchUpdate(ObjectType),
    BatchUpsert(ObjectType),
    BatchArchive(ObjectType),
    GdprDelete,
    Merge(ObjectType),
}

/// The part of a path after `/crm/v3/objects/` or after a date-versioned
/// `/crm/objects/{YYYY-MM}/` (HubSpot serves the same API under both).
fn object_segments<'a>(segments: &'a [&'a str]) -> Option<&'a [&'a str]> {
    match segments {
        ["", "crm", "v3", "objects", rest @ ..] => Some(rest),
        ["", "crm", "objects", version, rest @ ..] if is_date_version(version) => Some(rest),
        _ => None,
    }
}

/// `2026-03` and the like: four digits, a dash, a month.
fn is_date_version(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    bytes.len() == 7
        && digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && text
            .get(5..7)
            .and_then(|month| month.parse::<u8>().ok())
            .is_some_and(|month| (1..=12).contains(&month))
}

fn route(method: &Method, path: &str) -> Option<Route> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    let rest = object_segments(&segments)?;
    let (kind, rest) = rest.split_first()?;
    let kind = ObjectType::parse(kind)?;
    let id = |raw: &str| percent_decode(raw, false);
    let route = match (method, rest) {
        (&Method::GET, []) => Route::List(kind),
        (&Method::POST, []) => Route::Create(kind),
        (&Method::POST, ["search"]) => Route::Search(kind),
        (&Method::POST, ["merge"]) => Route::Merge(kind),
        (&Method::POST, ["gdpr-delete"]) if kind == ObjectType::Contacts => Route::GdprDelete,
        (&Method::POST, ["batch", "read"]) => Route::BatchRead(kind),
        (&Method::POST, ["batch", "create"]) => Route::BatchCreate(kind),
        (&Method::POST, ["batch", "update"]) => Route::BatchUpdate(kind),
        (&Method::POST, ["batch", "upsert"]) => Route::BatchUpsert(kind),
        (&Method::POST, ["batch", "archive"]) => Route::BatchArchive(kind),
        (&Method::GET, [raw]) => Route::Get(kind, id(raw)),
        (&Method::PATCH, [raw]) => Route::Update(kind, id(raw)),
        (&Method::DELETE, [raw]) => Route::Archive(kind, id(raw)),
        _ => return None,
    };
    Some(route)
}

/// Answers one request whose body has been read in full.
pub(crate) fn respond(
    crm: &DemoCrm,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    // The credential is checked before routing, like HubSpot's gateway: an
    // unauthenticated caller learns nothing about which paths exist.
    if let Some(refusal) = check_token(crm, headers) {
        return refusal;
    }
    let query = Query::parse(uri.query());
    let Some(route) = route(method, uri.path()) else {
        return error(
            crm,
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            format!("No endpoint for {method} {}", uri.path()),
        );
    };
    let answer = match route {
        Route::List(_) | Route::Get(..) | Route::Search(_) | Route::BatchRead(_) => {
            // Reads share the lock; the guard ends with this block.
            let store = crm.read_store();
            match route {
                Route::List(kind) => reads::list(crm, &store, kind, &query),
                Route::Get(kind, id) => reads::get(crm, &store, kind, &id, &query),
                Route::Search(kind) => search::search(crm, &store, kind, body),
                Route::BatchRead(kind) => reads::batch_read(crm, &store, kind, &query, body),
                _ => Err(object_not_found(crm)),
            }
        }
        write => {
            // Writes are validated and applied under one exclusive lock, so
            // concurrent writes never interleave within a request.
            let mut store = crm.write_store();
            let store = &mut *store;
            match write {
                Route::Create(kind) => writes::create(crm, store, kind, body),
                Route::Update(kind, id) => writes::update(crm, store, kind, &id, &query, body),
                Route::Archive(kind, id) => writes::archive(crm, store, kind, &id, &query),
                Route::BatchCreate(kind) => writes::batch_create(crm, store, kind, body),
                Route::BatchUpdate(kind) => writes::batch_update(crm, store, kind, body),
                Route::BatchUpsert(kind) => writes::batch_upsert(crm, store, kind, body),
                Route::BatchArchive(kind) => writes::batch_archive(crm, store, kind, body),
                Route::GdprDelete => writes::gdpr_delete(crm, store, body),
                Route::Merge(kind) => writes::merge(crm, store, kind, body),
                _ => Err(object_not_found(crm)),
            }
        }
    };
    answer.unwrap_or_else(|refusal| refusal)
}

fn check_token(crm: &DemoCrm, headers: &HeaderMap) -> Option<Reply> {
    let expected = crm.required_token.as_deref()?;
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let message = match presented {
        Some(token) if token == expected => return None,
        Some(_) => "The OAuth token used to make this call is invalid or expired.",
        None => {
            "Authentication credentials not found. This API supports OAuth 2.0 authentication \
             and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
        }
    };
    Some(error(
        crm,
        StatusCode::UNAUTHORIZED,
        "INVALID_AUTHENTICATION",
        message,
    ))
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

    #[test]
    fn unknown_routes_are_none() {
        assert!(route(&Method::GET, "/crm/v3/objects/deals").is_none());
        assert!(route(&Method::PUT, "/crm/v3/objects/contacts/1001").is_none());
        assert!(route(&Method::DELETE, "/crm/v3/objects/contacts").is_none());
        assert!(route(&Method::POST, "/crm/v3/objects/companies/gdpr-delete").is_none());
        assert!(route(&Method::GET, "/crm/objects/v3/contacts").is_none());
        assert!(route(&Method::GET, "/crm/objects/2026-13/contacts").is_none());
        assert!(route(&Method::GET, "/crm/v3/objects/contacts/").is_some());
        assert!(matches!(
            route(&Method::GET, "/crm/v3/objects/contacts/a%40b.example"),
            Some(Route::Get(ObjectType::Contacts, id)) if id == "a@b.example"
        ));
    }

    #[test]
    fn date_versioned_paths_route_like_v3() {
        for (method, versioned, v3) in [
            (
                Method::GET,
                "/crm/objects/2026-03/contacts",
                "/crm/v3/objects/contacts",
            ),
            (
                Method::GET,
                "/crm/objects/2026-03/contacts/1001",
                "/crm/v3/objects/contacts/1001",
            ),
            (
                Method::POST,
                "/crm/objects/2026-03/contacts",
                "/crm/v3/objects/contacts",
            ),
            (
                Method::PATCH,
                "/crm/objects/2025-09/companies/2001",
                "/crm/v3/objects/companies/2001",
            ),
            (
                Method::DELETE,
                "/crm/objects/2026-09/contacts/1001",
                "/crm/v3/objects/contacts/1001",
            ),
            (
                Method::POST,
                "/crm/objects/2026-03/contacts/search",
                "/crm/v3/objects/contacts/search",
            ),
            (
                Method::POST,
                "/crm/objects/2026-03/contacts/batch/upsert",
                "/crm/v3/objects/contacts/batch/upsert",
            ),
            (
                Method::POST,
                "/crm/objects/2026-03/contacts/gdpr-delete",
                "/crm/v3/objects/contacts/gdpr-delete",
            ),
            (
                Method::POST,
                "/crm/objects/2026-03/companies/merge",
                "/crm/v3/objects/companies/merge",
            ),
        ] {
            let versioned_route = route(&method, versioned).map(|r| format!("{r:?}"));
            assert!(versioned_route.is_some(), "{method} {versioned}");
            let v3_route = route(&method, v3).map(|r| format!("{r:?}"));
            assert_eq!(versioned_route, v3_route, "{method} {versioned}");
        }
    }
}
