//! Salesforce queries — `GET …/query?q=`, `…/queryAll?q=` (archived records too) and
//! crmgate's own pages of them (`…/query/<Type>-<cursor>`): routed by the object the query
//! names; parsed into the typed form (what the subset does not hold is refused by name);
//! every field it selects, filters and orders by resolved in the routes file's
//! classification (an unclassified one refused like a field Salesforce lacks); the fields
//! the policies need added and hidden again; the query text rebuilt from the typed form,
//! without `LIMIT`/`OFFSET` and ordered to the record, with the caller's row condition
//! ANDed into its `WHERE`. crmgate always walks and counts the result over what the caller
//! is shown (`totalSize`, `COUNT()`), and answers its own sealed cursor as
//! `nextRecordsUrl`. This module must never forward the client's text, never pass
//! Salesforce's locator on, and never count a record the caller is not shown.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::soql::{self, Direction, FieldPath, OrderItem, Query};
use super::Salesforce;
use crate::error::RequestError;
use crate::policy::plan::RowCondition;
use crate::routes::{ResourceProfile, Route, RouteTable};
use crate::stages::sanitize::{self, Canonical};
use crate::stages::vendor::{Answer, CountedSearch, PageRead, PageRequest, Prepared};

/// Records per client page (Salesforce's default batch size).
const CLIENT_PAGE: usize = 2000;
/// The smallest page a client may ask for (`batchSize`), as Salesforce's.
const MIN_BATCH: usize = 200;
/// The header a client names its page size in: `Sforce-Query-Options: batchSize=500`.
pub(super) const OPTIONS_HEADER: &str = "sforce-query-options";

/// The client's page size: `batchSize` of the options header (200 to 2,000; Salesforce
/// takes it as a hint, and so does crmgate: outside that range, the nearest bound), or
/// 2,000.
pub(super) fn batch_size(c: &Canonical) -> Result<usize, RequestError> {
    let mut size = CLIENT_PAGE;
    for (_, value) in c.options.iter().filter(|(k, _)| k == OPTIONS_HEADER) {
        for option in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let (name, v) = option.split_once('=').unwrap_or((option, ""));
            if !name.trim().eq_ignore_ascii_case("batchSize") {
                continue;
            }
            let n: usize = v.trim().parse().map_err(|_| {
                RequestError::BadRequest(format!(
                    "`{OPTIONS_HEADER}`: batchSize must be a number from {MIN_BATCH} to {CLIENT_PAGE}"
                ))
            })?;
            size = n.clamp(MIN_BATCH, CLIENT_PAGE);
        }
    }
    Ok(size)
}
/// Most upstream pages one query may take.
const MAX_PAGES: usize = 50;

/// The API families under the REST API crmgate does not govern: refused by name.
const NOT_GOVERNED: &[(&str, &str)] = &[
    ("search", "SOSL search"),
    ("parameterizedSearch", "SOSL search"),
    ("jobs", "the Bulk API"),
    ("tooling", "the Tooling API"),
    ("composite", "composite requests"),
    ("actions", "invocable actions"),
    ("graphql", "GraphQL"),
    ("limits", "org limits"),
    ("recent", "recently viewed records"),
    ("ui-api", "the UI API"),
];

/// The path a request under the API is routed by: a query by the object it names
/// (`…/query/<Type>`), crmgate's page of one by the type its cursor names
/// (`…/query/<Type>/<cursor>`); the API families crmgate does not govern are refused.
pub(super) fn route_path(
    c: &Canonical,
    routes: &RouteTable,
) -> Result<Option<Vec<String>>, RequestError> {
    let s = &c.segments;
    match s.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["services", "apexrest" | "async" | "Soap", ..] => Err(RequestError::NotGoverned(
            "Apex REST, the asynchronous and the SOAP APIs are not governed by crmgate".into(),
        )),
        ["services", "data", _, family, rest @ ..] => {
            if let Some((_, what)) = NOT_GOVERNED.iter().find(|(f, _)| f == family) {
                // sObject Collections are governed like any write route.
                if !(*family == "composite" && rest.first() == Some(&"sobjects")) {
                    return Err(RequestError::NotGoverned(format!(
                        "{what} are not governed by crmgate: use the query, sObject and sObject Collections resources"
                    )));
                }
            }
            if !matches!(*family, "query" | "queryAll") || c.method != http::Method::GET {
                return Ok(None);
            }
            let typ = match rest {
                [] => query_text(c)
                    .and_then(soql::parse)
                    .map_err(|e| RequestError::BadQuery(e.to_string()))?
                    .from
                    .clone(),
                [locator] => locator
                    .split_once('-')
                    .map(|(t, _)| t.to_string())
                    .ok_or_else(invalid_locator)?,
                _ => return Ok(None),
            };
            let res = routes
                .resources()
                .find(|r| r.name.eq_ignore_ascii_case(&typ))
                .ok_or_else(|| {
                    RequestError::BadQuery(format!(
                        "sObject type `{}` is not supported here",
                        typ.chars().take(64).collect::<String>()
                    ))
                })?;
            let mut out: Vec<String> = s.iter().take(4).cloned().collect();
            out.push(res.name.clone());
            out.extend(rest.iter().map(|r| r.to_string()));
            Ok(Some(out))
        }
        _ => Ok(None),
    }
}

fn invalid_locator() -> RequestError {
    RequestError::BadRequest("invalid query locator: start the query again".into())
}

/// The query text of `?q=`: exactly one.
fn query_text(c: &Canonical) -> Result<&str, soql::SoqlError> {
    let mut qs = c.query.iter().filter(|(k, _)| k == "q");
    match (qs.next(), qs.next()) {
        (Some((_, q)), None) => Ok(q),
        _ => Err(soql::SoqlError {
            construct: "syntax",
            position: 1,
            message: "give the query as exactly one `q` parameter".into(),
        }),
    }
}

/// crmgate's cursor in a page's path (`<Type>-<cursor>`).
pub(super) fn client_cursor<'a>(route: &Route, id: Option<&'a str>) -> Option<&'a str> {
    let (typ, token) = id?.split_once('-')?;
    typ.eq_ignore_ascii_case(&route.resource.name)
        .then_some(token)
}

/// What crmgate's cursor carries to go on with a query: the client's query as crmgate
/// read it (rebuilt), and whether archived records are asked for too.
#[derive(serde::Serialize, Deserialize)]
struct Resume {
    q: String,
    all: bool,
    /// The client's page size, as its first request named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page: Option<usize>,
}

/// Prepare a query route: the first page (`q`), or — `resumed` — a later one.
pub(super) fn prepare(
    sf: &Salesforce,
    route: &Route,
    c: &Canonical,
    resumed: Option<&str>,
) -> Result<Prepared, RequestError> {
    let bad = |e: soql::SoqlError| RequestError::BadQuery(e.to_string());
    let named = c
        .options
        .iter()
        .any(|(k, _)| k == OPTIONS_HEADER)
        .then(|| batch_size(c))
        .transpose()?;
    let (client, all, cursor, page) = match resumed {
        None => {
            let all = c.segments.get(3).is_some_and(|f| f == "queryAll");
            (
                soql::parse(query_text(c).map_err(bad)?).map_err(bad)?,
                all,
                None,
                named,
            )
        }
        Some(state) => {
            let r: Resume = serde_json::from_str(state).map_err(|_| invalid_locator())?;
            let token = c
                .segments
                .last()
                .and_then(|l| l.split_once('-'))
                .map(|(_, t)| t.to_string());
            (
                soql::parse(&r.q).map_err(bad)?,
                r.all,
                token,
                named.or(r.page),
            )
        }
    };
    let res = &route.resource;
    if !client.from.eq_ignore_ascii_case(&res.name) {
        // fail closed: the route was chosen by another reading of the query.
        return Err(RequestError::BadQuery(format!(
            "the query names `{}`, not `{}`",
            client.from.chars().take(64).collect::<String>(),
            res.name
        )));
    }
    for f in client.fields() {
        soql::resolve(res, f).ok_or_else(|| unknown_field(res, f))?;
    }
    // What the query filters and orders by must be clear to the caller (the pipeline
    // checks these groups against what the policies show it).
    let mut selected_by = Vec::new();
    for f in client.selected_by() {
        if let Some((_, g)) = soql::resolve(res, f) {
            if !selected_by.contains(&g) {
                selected_by.push(g);
            }
        }
    }
    let (upstream, hidden) = upstream_query(res, &client);
    let plan = QueryPlan {
        page: page.unwrap_or(CLIENT_PAGE),
        base: sf.base(),
        resource: res.clone(),
        all,
        count: client.is_count(),
        window: (
            usize::try_from(client.offset().unwrap_or(0)).unwrap_or(usize::MAX),
            client
                .limit()
                .map(|l| usize::try_from(l).unwrap_or(usize::MAX)),
        ),
        resume: serde_json::to_string(&Resume {
            q: client.render(),
            all,
            page,
        })
        .map_err(|e| RequestError::Internal(format!("a query's cursor state: {e}")))?,
        cursor,
        upstream,
    };
    Ok(Prepared {
        path_and_query: plan.path_of(&plan.upstream),
        body: None,
        hidden,
        selected_by,
        answer: Answer::Counted(Box::new(plan)),
    })
}

/// A field the resource does not classify: refused as Salesforce refuses a field it lacks.
fn unknown_field(res: &ResourceProfile, f: &FieldPath) -> RequestError {
    RequestError::UnknownField(format!(
        "No such column '{}' on entity '{}'",
        f.dotted().chars().take(64).collect::<String>(),
        res.name
    ))
}

/// The query crmgate walks: the client's without its `LIMIT` and `OFFSET` (crmgate counts
/// and pages over what is shown), the id and the fields the policies read added (hidden
/// again unless the client selected them), a `COUNT()` as a walk of those, ordered to the
/// record so that its pages are stable.
fn upstream_query(res: &ResourceProfile, client: &Query) -> (Query, HashSet<String>) {
    let mut q = client.without_paging();
    if q.is_count() {
        q.select.clear();
    }
    let mut hidden = HashSet::new();
    let needed = std::iter::once(res.id_field.as_str()).chain(res.attribute_properties());
    for p in needed {
        if let Some(path) = FieldPath::from_dotted(p) {
            if q.add_field(path) && p != res.id_field {
                hidden.insert(p.to_string());
            }
        }
    }
    let id = FieldPath::from_dotted(&res.id_field);
    if let Some(id) = id {
        if !q.order_by.iter().any(|o| o.field.same_as(&id)) {
            q.order_by.push(OrderItem {
                field: id,
                direction: Some(Direction::Asc),
                nulls: None,
            });
        }
    }
    (q, hidden)
}

/// A query crmgate walks and counts over what the caller is shown.
struct QueryPlan {
    /// `/services/data/v62.0`.
    base: String,
    resource: Arc<ResourceProfile>,
    /// The client's page size.
    page: usize,
    all: bool,
    count: bool,
    window: (usize, Option<usize>),
    resume: String,
    /// The client's cursor (crmgate's), on a later page.
    cursor: Option<String>,
    upstream: Query,
}

impl QueryPlan {
    /// The upstream path and query of `q`.
    fn path_of(&self, q: &Query) -> String {
        let family = if self.all { "queryAll" } else { "query" };
        format!(
            "{}/{family}?{}",
            self.base,
            sanitize::encode_query(&[("q".to_string(), q.render())])
        )
    }
}

impl CountedSearch for QueryPlan {
    fn page_size(&self) -> usize {
        CLIENT_PAGE
    }

    fn max_pages(&self) -> usize {
        MAX_PAGES
    }

    fn page_request(
        &self,
        cursor: Option<String>,
        rows: Option<&RowCondition>,
    ) -> Result<PageRequest, RequestError> {
        let path_and_query = match cursor {
            // The first page: the rebuilt query, with the row condition it can carry.
            None => {
                let mut q = self.upstream.clone();
                let res = &self.resource;
                if let Some(c) = rows.and_then(|r| soql::pushdown(res, r, |n| Some(n.to_string())))
                {
                    q.and_condition(c);
                }
                self.path_of(&q)
            }
            // Salesforce's next page: a locator under this API, and nothing else.
            Some(next) => {
                let ok = ["query", "queryAll"].iter().any(|f| {
                    next.strip_prefix(&format!("{}/{f}/", self.base))
                        .is_some_and(|l| {
                            !l.is_empty()
                                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        })
                });
                if !ok {
                    // fail closed: a next page crmgate cannot tell is this query's.
                    return Err(RequestError::Unfilterable(
                        "a query page whose next page is not a locator of this API".into(),
                    ));
                }
                next
            }
        };
        Ok(PageRequest {
            path_and_query,
            body: None,
        })
    }

    fn read_page<'a>(&self, filtered: &'a [u8]) -> Result<PageRead<'a>, RequestError> {
        #[derive(Deserialize)]
        struct Page<'a> {
            #[serde(borrow, default)]
            records: Option<Vec<&'a RawValue>>,
            #[serde(default, rename = "nextRecordsUrl")]
            next: Option<Value>,
        }
        let page: Page<'_> = serde_json::from_slice(filtered).map_err(|e| {
            RequestError::Unfilterable(format!("a query page whose `records` is not a list ({e})"))
        })?;
        Ok(PageRead {
            records: page.records.unwrap_or_default(),
            next: page.next.as_ref().and_then(Value::as_str).map(String::from),
        })
    }

    fn client_page(&self) -> (Option<String>, usize) {
        // A count releases no record: its page is empty.
        (self.cursor.clone(), if self.count { 0 } else { self.page })
    }

    fn answer(
        &self,
        total: usize,
        page: &[&[u8]],
        next: Option<String>,
    ) -> Result<Vec<u8>, RequestError> {
        let next = next.filter(|_| !self.count);
        let mut out = Vec::with_capacity(page.iter().map(|r| r.len() + 1).sum::<usize>() + 256);
        out.extend_from_slice(
            format!("{{\"totalSize\":{total},\"done\":{}", next.is_none()).as_bytes(),
        );
        if let Some(n) = next {
            let url = format!("{}/query/{}-{n}", self.base, self.resource.name);
            out.extend_from_slice(b",\"nextRecordsUrl\":");
            serde_json::to_writer(&mut out, &url)
                .map_err(|e| RequestError::Internal(format!("serialize an answer: {e}")))?;
        }
        out.extend_from_slice(b",\"records\":[");
        for (i, r) in page.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(r);
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }

    fn resume(&self) -> Option<String> {
        Some(self.resume.clone())
    }

    fn window(&self) -> (usize, Option<usize>) {
        self.window
    }

    fn always_counted(&self) -> bool {
        // Salesforce's next page is a locator path the client would call: never passed on.
        true
    }
}
