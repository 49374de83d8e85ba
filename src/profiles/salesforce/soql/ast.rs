//! The typed form of a query in the governed subset: what the parser produces, what the
//! governance helpers read and what the upstream text is rebuilt from. A value here must
//! never carry the client's text as it was sent: names are kept as written (for error
//! text and the vendor's own case-insensitive lookup), strings in their decoded form.

/// A query: `SELECT … FROM … [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The select list: fields, or `COUNT()` alone.
    pub select: Vec<SelectItem>,
    /// The object queried, as written.
    pub from: String,
    /// The `WHERE` condition, if any.
    pub filter: Option<Condition>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// One item of the select list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectItem {
    Field(FieldPath),
    /// `COUNT()`: the number of matching records instead of the records.
    Count,
}

/// A field of the queried object (`Email`) or of a parent reached through one or more
/// relationships (`Account.Name`, `Account.Owner.Email`): its parts as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    pub parts: Vec<String>,
}

impl FieldPath {
    /// A path from its dotted form (`Account.Name`), if every part is a field name.
    pub fn from_dotted(dotted: &str) -> Option<FieldPath> {
        let parts: Vec<String> = dotted.split('.').map(String::from).collect();
        parts
            .iter()
            .all(|p| is_name(p))
            .then_some(FieldPath { parts })
    }

    /// The dotted form, as written (`Account.Name`).
    pub fn dotted(&self) -> String {
        self.parts.join(".")
    }

    /// The field itself (the last part).
    pub fn field(&self) -> &str {
        self.parts.last().map(String::as_str).unwrap_or_default()
    }

    /// The relationships it goes through (all parts but the last), outermost first.
    pub fn relationships(&self) -> &[String] {
        self.parts
            .split_last()
            .map(|(_, rest)| rest)
            .unwrap_or_default()
    }

    /// Whether both name the same field (names are case-insensitive).
    pub fn same_as(&self, other: &FieldPath) -> bool {
        self.parts.len() == other.parts.len()
            && self
                .parts
                .iter()
                .zip(&other.parts)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }
}

/// Whether `s` has the form of a field, relationship or object name: an ASCII letter, then
/// letters, digits and underscores.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A `WHERE` condition. SOQL never mixes `AND` and `OR` on one level without parentheses,
/// so neither does this form: a conjunction's parts are never conjunctions read flat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Two or more conditions, all true.
    And(Vec<Condition>),
    /// Two or more conditions, one true.
    Or(Vec<Condition>),
    Not(Box<Condition>),
    /// `field op value` (`= NULL` and `!= NULL` included).
    Compare {
        field: FieldPath,
        op: CompareOp,
        value: Literal,
    },
    /// `field LIKE 'pattern'` (`%` and `_` wildcards, `\%` and `\_` literal).
    Like {
        field: FieldPath,
        pattern: SoqlString,
    },
    /// `field IN (…)` or, negated, `field NOT IN (…)`.
    In {
        field: FieldPath,
        negated: bool,
        values: Vec<Literal>,
    },
    /// `field INCLUDES (…)` or, with `excludes`, `field EXCLUDES (…)` on a multi-select
    /// picklist (`'a;b'` stands for both values).
    Includes {
        field: FieldPath,
        excludes: bool,
        values: Vec<SoqlString>,
    },
}

impl Condition {
    /// Every field path the condition reads, in order of appearance.
    pub fn fields(&self) -> Vec<&FieldPath> {
        let mut out = Vec::new();
        let mut todo = vec![self];
        // An explicit stack: the depth of a condition is bounded by the parser, but a
        // condition built in code is not.
        while let Some(c) = todo.pop() {
            match c {
                Condition::And(cs) | Condition::Or(cs) => todo.extend(cs.iter().rev()),
                Condition::Not(c) => todo.push(c),
                Condition::Compare { field, .. }
                | Condition::Like { field, .. }
                | Condition::In { field, .. }
                | Condition::Includes { field, .. } => out.push(field),
            }
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    /// `!=` (also written `<>`).
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    Null,
    Bool(bool),
    /// A number as written (`-12`, `3.5`): checked, never evaluated.
    Number(String),
    String(SoqlString),
    /// `2026-12-07`.
    Date(String),
    /// `2026-12-07T10:00:00Z`, `2026-12-07T10:00:00.000+01:00`.
    DateTime(String),
    /// `TODAY`, `LAST_N_DAYS:7`, …
    Relative(DateLiteral),
}

/// A relative date literal: its name (one of [`DATE_LITERALS`], upper case) and its `n`
/// for the `…_N_…` forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateLiteral {
    pub name: &'static str,
    pub n: Option<u32>,
}

/// The relative date literals, and whether each takes `:n`.
pub const DATE_LITERALS: &[(&str, bool)] = &[
    ("YESTERDAY", false),
    ("TODAY", false),
    ("TOMORROW", false),
    ("LAST_WEEK", false),
    ("THIS_WEEK", false),
    ("NEXT_WEEK", false),
    ("LAST_MONTH", false),
    ("THIS_MONTH", false),
    ("NEXT_MONTH", false),
    ("LAST_90_DAYS", false),
    ("NEXT_90_DAYS", false),
    ("LAST_N_DAYS", true),
    ("NEXT_N_DAYS", true),
    ("N_DAYS_AGO", true),
    ("NEXT_N_WEEKS", true),
    ("LAST_N_WEEKS", true),
    ("N_WEEKS_AGO", true),
    ("NEXT_N_MONTHS", true),
    ("LAST_N_MONTHS", true),
    ("N_MONTHS_AGO", true),
    ("THIS_QUARTER", false),
    ("LAST_QUARTER", false),
    ("NEXT_QUARTER", false),
    ("NEXT_N_QUARTERS", true),
    ("LAST_N_QUARTERS", true),
    ("N_QUARTERS_AGO", true),
    ("THIS_YEAR", false),
    ("LAST_YEAR", false),
    ("NEXT_YEAR", false),
    ("NEXT_N_YEARS", true),
    ("LAST_N_YEARS", true),
    ("N_YEARS_AGO", true),
    ("THIS_FISCAL_QUARTER", false),
    ("LAST_FISCAL_QUARTER", false),
    ("NEXT_FISCAL_QUARTER", false),
    ("NEXT_N_FISCAL_QUARTERS", true),
    ("LAST_N_FISCAL_QUARTERS", true),
    ("N_FISCAL_QUARTERS_AGO", true),
    ("THIS_FISCAL_YEAR", false),
    ("LAST_FISCAL_YEAR", false),
    ("NEXT_FISCAL_YEAR", false),
    ("NEXT_N_FISCAL_YEARS", true),
    ("LAST_N_FISCAL_YEARS", true),
    ("N_FISCAL_YEARS_AGO", true),
];

/// The date literal named `name` (any case), and whether it takes `:n`.
pub fn date_literal(name: &str) -> Option<(&'static str, bool)> {
    DATE_LITERALS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .copied()
}

/// A quoted string's value. Every escape is decoded except the backslash's own three: a
/// backslash is held as `\\`, and a LIKE pattern's literal `%` and `_` as `\%` and `\_`
/// (unescaped, they are wildcards), so a pattern keeps its meaning through a rebuild.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SoqlString(String);

impl SoqlString {
    /// A string whose value is exactly `value` (backslashes escaped; `%` and `_` stay as
    /// they are, wildcards only in a LIKE pattern).
    pub fn from_value(value: &str) -> SoqlString {
        SoqlString(value.replace('\\', "\\\\"))
    }

    /// From the held form (see the type); the lexer's constructor.
    pub(super) fn from_held(held: String) -> SoqlString {
        SoqlString(held)
    }

    /// The held form: decoded, with `\\`, `\%` and `\_` kept.
    pub fn held(&self) -> &str {
        &self.0
    }

    /// The value, every escape decoded (as `=` compares it).
    pub fn value(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        let mut chars = self.0.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Whether it holds a LIKE-only escape (`\%`, `\_`).
    pub fn has_wildcard_escape(&self) -> bool {
        let mut chars = self.0.chars();
        while let Some(c) = chars.next() {
            if c == '\\' && matches!(chars.next(), Some('%' | '_')) {
                return true;
            }
        }
        false
    }
}

/// One `ORDER BY` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub field: FieldPath,
    /// `ASC` / `DESC`, if written.
    pub direction: Option<Direction>,
    /// `NULLS FIRST` / `NULLS LAST`, if written.
    pub nulls: Option<Nulls>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    First,
    Last,
}
