//! A `WHERE` bound to the schema and evaluated on records: literals typed by the
//! field they are compared with (text case-insensitive, ids in either form,
//! dates and datetimes, date literals as ranges from today), `LIKE` patterns and
//! multi-picklist `INCLUDES`/`EXCLUDES`. It reads records: it must never change one.

use std::cmp::Ordering;

use serde_json::Value;

use super::columns::Column;
use super::fields::{Kind, SObject};
use super::ids;
use super::reply::SfError;
use super::soql::{Cond, DateRange, Literal, Op};
use super::store::{SfRecord, SfStore};
use crate::dates;

const DAY: i64 = 86_400_000;

/// A condition bound to the schema.
#[derive(Debug)]
pub(crate) enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Not(Box<Filter>),
    Test(Column, Test),
}

#[derive(Debug)]
pub(crate) enum Test {
    Compare(Op, Scalar),
    Like(Vec<char>),
    /// `IN`, or `NOT IN` when negated.
    In(bool, Vec<Scalar>),
    /// `INCLUDES`, or `EXCLUDES` when negated: each entry a set of values that must all be held.
    Includes(bool, Vec<Vec<String>>),
}

/// A value typed for comparison: text lower-cased, ids in their 15-character form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Num(f64),
    Text(String),
    /// Days (dates) or milliseconds (datetimes) since the epoch.
    Time(i64),
    /// `[start, end)` in the unit of the field.
    Range(i64, i64),
}

impl Filter {
    pub(crate) fn bind(kind: SObject, cond: &Cond) -> Result<Filter, SfError> {
        let all = |conds: &[Cond]| -> Result<Vec<Filter>, SfError> {
            conds.iter().map(|c| Filter::bind(kind, c)).collect()
        };
        Ok(match cond {
            Cond::All(conds) => Filter::All(all(conds)?),
            Cond::Any(conds) => Filter::Any(all(conds)?),
            Cond::Not(inner) => Filter::Not(Box::new(Filter::bind(kind, inner)?)),
            Cond::Compare(name, op, literal) => {
                let column = Column::bind(kind, name)?;
                let scalar = typed_literal(&column, literal)?;
                Filter::Test(column, Test::Compare(*op, scalar))
            }
            Cond::Like(name, pattern) => {
                let column = Column::bind(kind, name)?;
                if !column.field.kind.is_text() {
                    return Err(invalid_operator(&column, "like"));
                }
                Filter::Test(column, Test::Like(pattern.to_lowercase().chars().collect()))
            }
            Cond::In(name, negated, literals) => {
                let column = Column::bind(kind, name)?;
                let values = literals
                    .iter()
                    .map(|literal| typed_literal(&column, literal))
                    .collect::<Result<_, _>>()?;
                Filter::Test(column, Test::In(*negated, values))
            }
            Cond::Includes(name, excludes, values) => {
                let column = Column::bind(kind, name)?;
                if column.field.kind != Kind::MultiPicklist {
                    return Err(SfError::bad(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        "includes or excludes operator only valid on multipicklist field",
                    ));
                }
                let sets = values.iter().map(|value| picklist_set(value)).collect();
                Filter::Test(column, Test::Includes(*excludes, sets))
            }
        })
    }

    pub(crate) fn matches(&self, store: &SfStore, record: &SfRecord) -> bool {
        match self {
            Filter::All(filters) => filters.iter().all(|f| f.matches(store, record)),
            Filter::Any(filters) => filters.iter().any(|f| f.matches(store, record)),
            Filter::Not(inner) => !inner.matches(store, record),
            Filter::Test(column, test) => {
                let value = typed_value(column.field.kind, &column.value(store, record));
                test.holds(&value)
            }
        }
    }
}

impl Test {
    fn holds(&self, value: &Scalar) -> bool {
        match self {
            Test::Compare(op, literal) => compare(value, *op, literal),
            Test::Like(pattern) => match value {
                Scalar::Text(text) => like(pattern, &text.chars().collect::<Vec<_>>()),
                _ => false,
            },
            Test::In(negated, literals) => {
                let found = literals.iter().any(|l| compare(value, Op::Eq, l));
                found != *negated
            }
            Test::Includes(excludes, sets) => {
                let held = match value {
                    Scalar::Text(text) => picklist_set(text),
                    _ => Vec::new(),
                };
                let found = sets
                    .iter()
                    .any(|set| set.iter().all(|wanted| held.contains(wanted)));
                found != *excludes
            }
        }
    }
}

/// SOQL's comparison: `!=` also holds for a null value (unlike SQL).
fn compare(value: &Scalar, op: Op, literal: &Scalar) -> bool {
    match (value, literal) {
        (Scalar::Null, Scalar::Null) => op == Op::Eq,
        (Scalar::Null, _) | (_, Scalar::Null) => op == Op::Ne,
        (Scalar::Time(at), Scalar::Range(start, end)) => {
            let inside = at >= start && at < end;
            match op {
                Op::Eq => inside,
                Op::Ne => !inside,
                Op::Lt => at < start,
                Op::Le => at < end,
                Op::Gt => at >= end,
                Op::Ge => at >= start,
            }
        }
        _ => match order(value, literal) {
            Some(ordering) => match op {
                Op::Eq => ordering == Ordering::Equal,
                Op::Ne => ordering != Ordering::Equal,
                Op::Lt => ordering == Ordering::Less,
                Op::Le => ordering != Ordering::Greater,
                Op::Gt => ordering == Ordering::Greater,
                Op::Ge => ordering != Ordering::Less,
            },
            None => op == Op::Ne,
        },
    }
}

/// The order of two typed values of the same kind (`None` across kinds).
pub(crate) fn order(a: &Scalar, b: &Scalar) -> Option<Ordering> {
    match (a, b) {
        (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
        (Scalar::Num(a), Scalar::Num(b)) => a.partial_cmp(b),
        (Scalar::Text(a), Scalar::Text(b)) => Some(a.cmp(b)),
        (Scalar::Time(a), Scalar::Time(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// A stored value typed by its field's kind.
pub(crate) fn typed_value(kind: Kind, value: &Value) -> Scalar {
    match value {
        Value::Null => Scalar::Null,
        Value::Bool(flag) => Scalar::Bool(*flag),
        Value::Number(number) => number.as_f64().map_or(Scalar::Null, Scalar::Num),
        Value::String(text) => match kind {
            Kind::Date => dates::parse_day(text).map_or(Scalar::Null, Scalar::Time),
            Kind::DateTime => datetime_millis(text).map_or(Scalar::Null, Scalar::Time),
            Kind::Id | Kind::Reference(_) => Scalar::Text(short_id(text)),
            _ => Scalar::Text(text.to_lowercase()),
        },
        _ => Scalar::Null,
    }
}

fn short_id(text: &str) -> String {
    text.get(..15).unwrap_or(text).to_string()
}

/// A literal typed by the field it is compared with, or Salesforce's refusal.
fn typed_literal(column: &Column, literal: &Literal) -> Result<Scalar, SfError> {
    let kind = column.field.kind;
    let wrong = || {
        SfError::bad(
            "INVALID_QUERY_FILTER_OPERATOR",
            format!(
                "value of filter criterion for field '{}' must be of type {} and should not \
                 be enclosed in quotes",
                column.label(),
                kind.name()
            ),
        )
    };
    Ok(match (literal, kind) {
        (Literal::Null, _) => Scalar::Null,
        (Literal::Bool(flag), Kind::Boolean) => Scalar::Bool(*flag),
        (Literal::Number(n), kind) if kind.is_number() => Scalar::Num(*n),
        (Literal::Text(text), kind) if kind.is_id() => {
            if ids::parse(text).is_none() {
                return Err(SfError::bad(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    format!("invalid ID field: {text}"),
                ));
            }
            Scalar::Text(short_id(text))
        }
        (Literal::Text(text), kind) if kind.is_text() => Scalar::Text(text.to_lowercase()),
        (Literal::Date(text), Kind::Date) => {
            Scalar::Time(dates::parse_day(text).ok_or_else(wrong)?)
        }
        (Literal::DateTime(text), Kind::DateTime) => {
            Scalar::Time(datetime_millis(text).ok_or_else(wrong)?)
        }
        (Literal::Range(range), Kind::Date) => {
            let (start, end) = days(*range, dates::now_millis().div_euclid(DAY));
            Scalar::Range(start, end)
        }
        (Literal::Range(range), Kind::DateTime) => {
            let (start, end) = days(*range, dates::now_millis().div_euclid(DAY));
            Scalar::Range(start * DAY, end * DAY)
        }
        _ => return Err(wrong()),
    })
}

fn invalid_operator(column: &Column, operator: &str) -> SfError {
    SfError::bad(
        "INVALID_QUERY_FILTER_OPERATOR",
        format!(
            "invalid operator on {} field: {operator} ({})",
            column.field.kind.name(),
            column.label()
        ),
    )
}

/// The days `[start, end)` a date literal covers, `today` given.
pub(crate) fn days(range: DateRange, today: i64) -> (i64, i64) {
    let (year, month, _) = dates::civil_from_days(today);
    let month_start = |offset: i64| {
        let index = year * 12 + (month - 1) + offset;
        dates::days_from_civil(index.div_euclid(12), index.rem_euclid(12) + 1, 1)
    };
    let year_start = |offset: i64| dates::days_from_civil(year + offset, 1, 1);
    match range {
        DateRange::Today => (today, today + 1),
        DateRange::Yesterday => (today - 1, today),
        DateRange::Tomorrow => (today + 1, today + 2),
        // Today and the n days before it, as Salesforce counts.
        DateRange::LastNDays(n) => (today - n, today + 1),
        // From tomorrow on, n days.
        DateRange::NextNDays(n) => (today + 1, today + 1 + n),
        DateRange::ThisMonth => (month_start(0), month_start(1)),
        DateRange::LastMonth => (month_start(-1), month_start(0)),
        DateRange::NextMonth => (month_start(1), month_start(2)),
        DateRange::ThisYear => (year_start(0), year_start(1)),
        DateRange::LastYear => (year_start(-1), year_start(0)),
        DateRange::NextYear => (year_start(1), year_start(2)),
    }
}

/// Milliseconds of a datetime with a zone: `Z`, `+0000`, `+01:00`, `-0500`.
pub(crate) fn datetime_millis(text: &str) -> Option<i64> {
    let local = dates::parse_millis(text.get(..19)?)?;
    let rest = text.get(19..)?;
    let rest = match rest.strip_prefix('.') {
        Some(fraction) => {
            let digits: String = fraction.chars().take_while(char::is_ascii_digit).collect();
            let millis: i64 = format!("{digits:0<3}").get(..3)?.parse().ok()?;
            return zone(fraction.get(digits.len()..)?).map(|offset| local + millis - offset);
        }
        None => rest,
    };
    zone(rest).map(|offset| local - offset)
}

/// A zone's offset from UTC in milliseconds.
fn zone(text: &str) -> Option<i64> {
    if text == "Z" || text.is_empty() {
        return Some(0);
    }
    let sign = match text.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let digits: String = text.chars().skip(1).filter(|c| *c != ':').collect();
    if digits.len() != 4 {
        return None;
    }
    let hours: i64 = digits.get(..2)?.parse().ok()?;
    let minutes: i64 = digits.get(2..)?.parse().ok()?;
    Some(sign * (hours * 60 + minutes) * 60_000)
}

/// A multi-picklist value's entries, lower-cased.
fn picklist_set(text: &str) -> Vec<String> {
    text.split(';')
        .map(|part| part.trim().to_lowercase())
        .filter(|part| !part.is_empty())
        .collect()
}

/// SQL-style wildcard match: `%` any run, `_` one character, `\%` and `\_` themselves.
fn like(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('%', rest)) => {
            (0..=text.len()).any(|skip| like(rest, text.get(skip..).unwrap_or_default()))
        }
        Some(('_', rest)) => text.split_first().is_some_and(|(_, tail)| like(rest, tail)),
        Some(('\\', rest)) if matches!(rest.first(), Some('%' | '_')) => {
            match (rest.split_first(), text.split_first()) {
                (Some((want, rest)), Some((got, tail))) => want == got && like(rest, tail),
                _ => false,
            }
        }
        Some((want, rest)) => text
            .split_first()
            .is_some_and(|(got, tail)| want == got && like(rest, tail)),
    }
}
