//! The query language as something the policy governs: a client's query is parsed into a
//! typed [`Query`] of a documented subset, read for every field it selects, filters and
//! orders by, narrowed by the caller's row condition, and rebuilt as text from the typed
//! form. This module must never pass the client's text upstream, never accept a construct
//! outside the subset without refusing it by name, and never widen what a query selects.
//!
//! # The governed subset
//!
//! - `SELECT` a list of fields — the object's own (`Email`) or a parent's through one to
//!   five relationships (`Account.Name`, `Account.Owner.Email`) — or `COUNT()` alone;
//! - `FROM` one object, without an alias;
//! - `WHERE` conditions: `=`, `!=` (`<>`), `<`, `<=`, `>`, `>=`, `LIKE`, `IN (…)`,
//!   `NOT IN (…)`, `INCLUDES (…)`, `EXCLUDES (…)`, `= NULL`, `!= NULL`, joined by `AND` or
//!   `OR` (never both on one level without parentheses, as in SOQL itself), `NOT`,
//!   parentheses;
//! - literals: single-quoted strings with Salesforce's escapes (`\'`, `\"`, `\\`, `\n`,
//!   `\r`, `\t`, `\b`, `\f`, `\uXXXX`, and `\%`, `\_` in a LIKE pattern), numbers, `TRUE`,
//!   `FALSE`, `NULL`, dates (`2026-12-07`), datetimes (`2026-12-07T10:00:00Z`,
//!   `…T10:00:00.000+01:00`) and the relative date literals (`TODAY`, `LAST_N_DAYS:7`, …);
//! - `ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], …`, `LIMIT n`, `OFFSET n`.
//!
//! Keywords and names are case-insensitive; names are kept as written, and [`resolve`]
//! finds them in a resource type whatever their case.
//!
//! Refused, by name and position ([`SoqlError`]): subqueries and semi-joins, child
//! relationships, `GROUP BY`, `HAVING`, aggregate functions other than `COUNT()`, `TYPEOF`,
//! `FIELDS()`, `WITH`, `USING SCOPE`, `FOR VIEW/REFERENCE/UPDATE`, `UPDATE …`, `ALL ROWS`,
//! `toLabel()`, `FORMAT()`, `convertCurrency()`, `DISTANCE`/`GEOLOCATION`, date functions,
//! bind variables, aliases, polymorphic relationships (`Who`, `What`), a path prefixed by
//! the object's own name, comments, NUL characters and trailing text. Bounds: 100,000
//! characters ([`MAX_QUERY_CHARS`]), conditions nested 32 deep ([`MAX_DEPTH`]), 1,000
//! values per list ([`MAX_LIST_ITEMS`]), 32 `ORDER BY` items.
//!
//! Rooms: `ast` (the typed form), `lex` and `parse` (text → typed form), `render` (typed
//! form → text), `govern` (what the profile asks), `error`. The children import one another
//! one way (`ast` and `error` are leaves) and never this file.

mod ast;
mod error;
mod govern;
mod lex;
mod parse;
mod render;

pub use ast::{
    date_literal, is_name, CompareOp, Condition, DateLiteral, Direction, FieldPath, Literal, Nulls,
    OrderItem, Query, SelectItem, SoqlString, DATE_LITERALS,
};
pub use error::SoqlError;
pub use govern::{lookup, pushdown, resolve};
pub use lex::MAX_QUERY_CHARS;
pub use parse::{MAX_DEPTH, MAX_LIST_ITEMS, MAX_ORDER_ITEMS, MAX_PATH_PARTS};

/// Parse a query of the governed subset (see the module's header).
pub fn parse(text: &str) -> Result<Query, SoqlError> {
    Query::parse(text)
}

#[cfg(test)]
mod tests;
