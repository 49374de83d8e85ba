//! `GET …/query?q=` and `…/queryAll?q=`: the SOQL subset evaluated on the store
//! (`queryAll` also sees the recycle bin), sorted, cut by `OFFSET`/`LIMIT`, and
//! answered page by page with `nextRecordsUrl` locators. It only reads: it must
//! never change a record.

use std::cmp::Ordering;

use http::{HeaderMap, StatusCode};
use serde_json::{json, Map, Value};

use super::columns::Column;
use super::crm::{Cursor, SalesforceCrm, MAX_BATCH};
use super::fields::SObject;
use super::filter::{self, Filter, Scalar};
use super::render;
use super::reply::{SfAnswer, SfError};
use super::soql::{self, Projection, Select};
use super::store::{SfRecord, SfStore};
use crate::reply::Reply;

/// The first page of a query's answer.
pub(crate) fn query(
    crm: &SalesforceCrm,
    version: &str,
    text: Option<&str>,
    headers: &HeaderMap,
    all: bool,
) -> SfAnswer {
    let text =
        text.ok_or_else(|| SfError::bad("MALFORMED_QUERY", "A query string has to be specified"))?;
    let select =
        soql::parse(text).map_err(|error| malformed(text, error.offset, &error.message))?;
    let store = crm.read_store();
    let (rows, count) = run(&store, &select, version, all)?;
    drop(store);
    if let Some(count) = count {
        return Ok(Reply::ok(
            json!({ "totalSize": count, "done": true, "records": [] }),
        ));
    }
    let batch = batch_size(crm, headers);
    Ok(page(crm, version, Cursor { rows, batch, all }))
}

/// The ids a query answers, all pages (empty when it does not run), for tests.
pub(crate) fn ids(crm: &SalesforceCrm, text: &str) -> Vec<String> {
    let Ok(select) = soql::parse(text) else {
        return Vec::new();
    };
    let store = crm.read_store();
    run(&store, &select, "v62.0", false)
        .map(|(rows, _)| {
            rows.iter()
                .filter_map(|row| row.get("Id").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A later page: `<locator>-<offset>`.
pub(crate) fn more(crm: &SalesforceCrm, version: &str, locator: &str) -> SfAnswer {
    let invalid = || SfError::bad("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (name, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    crm.with_cursor(name, |cursor| {
        (offset > 0 && offset < cursor.rows.len())
            .then(|| render_page(version, cursor, offset, Some(name)))
    })
    .flatten()
    .ok_or_else(invalid)
}

/// The first page; the cursor is kept when more rows follow.
fn page(crm: &SalesforceCrm, version: &str, cursor: Cursor) -> Reply {
    if cursor.rows.len() <= cursor.batch {
        return render_page(version, &cursor, 0, None);
    }
    let locator = crm.new_locator();
    let reply = render_page(version, &cursor, 0, Some(&locator));
    crm.keep_cursor(locator, cursor);
    reply
}

fn render_page(version: &str, cursor: &Cursor, offset: usize, locator: Option<&str>) -> Reply {
    let end = offset.saturating_add(cursor.batch).min(cursor.rows.len());
    let records: Vec<Value> = cursor.rows.get(offset..end).unwrap_or_default().to_vec();
    let mut out = Map::new();
    out.insert("totalSize".into(), json!(cursor.rows.len()));
    let done = end >= cursor.rows.len();
    out.insert("done".into(), json!(done));
    if let (false, Some(locator)) = (done, locator) {
        let path = if cursor.all { "queryAll" } else { "query" };
        out.insert(
            "nextRecordsUrl".into(),
            json!(format!("/services/data/{version}/{path}/{locator}-{end}")),
        );
    }
    out.insert("records".into(), Value::Array(records));
    Reply::ok(Value::Object(out))
}

/// The page size: the header's `batchSize` within the allowed range, else the default.
fn batch_size(crm: &SalesforceCrm, headers: &HeaderMap) -> usize {
    let asked = headers
        .get("sforce-query-options")
        .and_then(|value| value.to_str().ok())
        .and_then(|options| {
            options.split(',').find_map(|option| {
                let (name, value) = option.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("batchSize")
                    .then(|| value.trim().parse::<usize>().ok())
                    .flatten()
            })
        });
    asked.map_or(crm.page_size, |size| size.clamp(crm.min_batch, MAX_BATCH))
}

/// The query's rows (rendered), or with `COUNT()` only their number.
fn run(
    store: &SfStore,
    select: &Select,
    version: &str,
    all: bool,
) -> Result<(Vec<Value>, Option<usize>), SfError> {
    let kind = SObject::parse(&select.object).ok_or_else(|| {
        SfError::bad(
            "INVALID_TYPE",
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom \
                 object, be sure to append the '__c' after the entity name. Please reference \
                 your WSDL or the describe call for the appropriate names.",
                select.object
            ),
        )
    })?;
    let columns = match &select.projection {
        Projection::Count => Vec::new(),
        Projection::Fields(names) => bind_columns(kind, names)?,
    };
    let filter = select
        .filter
        .as_ref()
        .map(|cond| Filter::bind(kind, cond))
        .transpose()?;
    let order = select
        .order
        .iter()
        .map(|o| Ok((Column::bind(kind, &o.field)?, o.descending, o.nulls_last)))
        .collect::<Result<Vec<_>, SfError>>()?;
    let mut rows: Vec<&SfRecord> = store
        .records
        .iter()
        .filter(|r| r.kind == kind && (all || !r.deleted))
        .filter(|r| filter.as_ref().is_none_or(|f| f.matches(store, r)))
        .collect();
    rows.sort_by(|a, b| {
        order
            .iter()
            .map(|(column, descending, nulls_last)| {
                let a = filter::typed_value(column.field.kind, &column.value(store, a));
                let b = filter::typed_value(column.field.kind, &column.value(store, b));
                compare(&a, &b, *descending, *nulls_last)
            })
            .find(|ordering| *ordering != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    let rows = rows
        .into_iter()
        .skip(select.offset.unwrap_or(0))
        .take(select.limit.unwrap_or(usize::MAX));
    if select.projection == Projection::Count {
        return Ok((Vec::new(), Some(rows.count())));
    }
    let rendered = rows
        .map(|record| render::selected(store, record, &columns, version))
        .collect();
    Ok((rendered, None))
}

fn bind_columns(kind: SObject, names: &[String]) -> Result<Vec<Column>, SfError> {
    let mut columns: Vec<Column> = Vec::new();
    for name in names {
        let column = Column::bind(kind, name)?;
        if columns.iter().any(|c| c.label() == column.label()) {
            return Err(SfError::bad(
                "MALFORMED_QUERY",
                format!("duplicate field selected: {}", column.label()),
            ));
        }
        columns.push(column);
    }
    Ok(columns)
}

fn compare(a: &Scalar, b: &Scalar, descending: bool, nulls_last: bool) -> Ordering {
    match (a, b) {
        (Scalar::Null, Scalar::Null) => Ordering::Equal,
        (Scalar::Null, _) if nulls_last => Ordering::Greater,
        (Scalar::Null, _) => Ordering::Less,
        (_, Scalar::Null) if nulls_last => Ordering::Less,
        (_, Scalar::Null) => Ordering::Greater,
        _ => {
            let ordering = filter::order(a, b).unwrap_or(Ordering::Equal);
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
    }
}

/// Salesforce's `MALFORMED_QUERY`: the query, a caret under the place, the message.
fn malformed(text: &str, offset: usize, message: &str) -> SfError {
    let column = text
        .get(..offset)
        .map_or(0, |before| before.chars().count());
    SfError::new(
        StatusCode::BAD_REQUEST,
        "MALFORMED_QUERY",
        format!(
            "\n{text}\n{caret:>width$}\nERROR at Row:1:Column:{col}\n{message}",
            caret = "^",
            width = column + 1,
            col = column + 1
        ),
    )
}
