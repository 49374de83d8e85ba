//! The query text sent upstream, rebuilt from the typed form alone: canonical spacing and
//! keyword case, strings re-escaped, every nested conjunction or disjunction in
//! parentheses. It must never copy a byte of the client's text, and never emit a string
//! whose quote or backslash is not escaped.

use std::fmt::{self, Write as _};

use super::ast::{
    CompareOp, Condition, Direction, FieldPath, Literal, Nulls, Query, SelectItem, SoqlString,
};
use super::error::SoqlError;
use super::lex::MAX_QUERY_CHARS;

impl Query {
    /// The query as SOQL text, from the typed form only.
    pub fn render(&self) -> String {
        let mut out = String::from("SELECT ");
        for (i, item) in self.select.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match item {
                SelectItem::Field(f) => push_path(&mut out, f),
                SelectItem::Count => out.push_str("COUNT()"),
            }
        }
        out.push_str(" FROM ");
        out.push_str(&self.from);
        if let Some(c) = &self.filter {
            out.push_str(" WHERE ");
            push_condition(&mut out, c);
        }
        for (i, o) in self.order_by.iter().enumerate() {
            out.push_str(if i == 0 { " ORDER BY " } else { ", " });
            push_path(&mut out, &o.field);
            match o.direction {
                Some(Direction::Asc) => out.push_str(" ASC"),
                Some(Direction::Desc) => out.push_str(" DESC"),
                None => {}
            }
            match o.nulls {
                Some(Nulls::First) => out.push_str(" NULLS FIRST"),
                Some(Nulls::Last) => out.push_str(" NULLS LAST"),
                None => {}
            }
        }
        if let Some(n) = self.limit {
            let _ = write!(out, " LIMIT {n}");
        }
        if let Some(n) = self.offset {
            let _ = write!(out, " OFFSET {n}");
        }
        out
    }
}

impl Query {
    /// The query as SOQL text, refused if it is longer than the CRM takes: canonical
    /// spacing and an added row condition can make it longer than the client's text.
    pub fn render_checked(&self) -> Result<String, SoqlError> {
        let text = self.render();
        let chars = text.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(SoqlError::new(
                "query length",
                MAX_QUERY_CHARS + 1,
                format!(
                    "the query as crmgate sends it would hold {chars} characters, more than \
                     {MAX_QUERY_CHARS}"
                ),
            ));
        }
        Ok(text)
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl Condition {
    /// The condition as SOQL text (as it stands in a `WHERE`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        push_condition(&mut out, self);
        out
    }
}

fn push_path(out: &mut String, f: &FieldPath) {
    for (i, p) in f.parts.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(p);
    }
}

/// A condition; a conjunction or disjunction inside another, and a negated condition, in
/// parentheses (SOQL never mixes `AND` and `OR` on one level).
fn push_condition(out: &mut String, c: &Condition) {
    match c {
        Condition::And(cs) | Condition::Or(cs) => {
            let joiner = if matches!(c, Condition::And(_)) {
                " AND "
            } else {
                " OR "
            };
            for (i, part) in cs.iter().enumerate() {
                if i > 0 {
                    out.push_str(joiner);
                }
                if matches!(part, Condition::And(_) | Condition::Or(_)) {
                    out.push('(');
                    push_condition(out, part);
                    out.push(')');
                } else {
                    push_condition(out, part);
                }
            }
        }
        Condition::Not(inner) => {
            out.push_str("NOT (");
            push_condition(out, inner);
            out.push(')');
        }
        Condition::Compare { field, op, value } => {
            push_path(out, field);
            out.push_str(match op {
                CompareOp::Eq => " = ",
                CompareOp::Ne => " != ",
                CompareOp::Lt => " < ",
                CompareOp::Le => " <= ",
                CompareOp::Gt => " > ",
                CompareOp::Ge => " >= ",
            });
            push_literal(out, value);
        }
        Condition::Like { field, pattern } => {
            push_path(out, field);
            out.push_str(" LIKE ");
            push_string(out, pattern);
        }
        Condition::In {
            field,
            negated,
            values,
        } => {
            push_path(out, field);
            out.push_str(if *negated { " NOT IN (" } else { " IN (" });
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_literal(out, v);
            }
            out.push(')');
        }
        Condition::Includes {
            field,
            excludes,
            values,
        } => {
            push_path(out, field);
            out.push_str(if *excludes {
                " EXCLUDES ("
            } else {
                " INCLUDES ("
            });
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_string(out, v);
            }
            out.push(')');
        }
    }
}

fn push_literal(out: &mut String, v: &Literal) {
    match v {
        Literal::Null => out.push_str("NULL"),
        Literal::Bool(true) => out.push_str("TRUE"),
        Literal::Bool(false) => out.push_str("FALSE"),
        Literal::Number(n) | Literal::Date(n) | Literal::DateTime(n) => out.push_str(n),
        Literal::String(s) => push_string(out, s),
        Literal::Relative(d) => {
            out.push_str(d.name);
            if let Some(n) = d.n {
                let _ = write!(out, ":{n}");
            }
        }
    }
}

/// A quoted string from its held form: quotes and control characters escaped, the held
/// backslash escapes (`\\`, `\%`, `\_`) kept.
fn push_string(out: &mut String, s: &SoqlString) {
    out.push('\'');
    let mut chars = s.held().chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                // A held backslash always escapes the next character; a lone one (never
                // made by the constructors) is escaped itself.
                out.push(chars.next().unwrap_or('\\'));
            }
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}
