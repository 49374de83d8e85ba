//! The recursive-descent parser: tokens → the typed [`Query`]. It must never accept a
//! construct outside the governed subset silently: each is refused by name at its
//! position. Its recursion (parentheses and `NOT`) is bounded by [`MAX_DEPTH`], its lists by
//! [`MAX_LIST_ITEMS`], so a hostile query can neither blow the stack nor the memory.

use super::ast::{
    date_literal, CompareOp, Condition, DateLiteral, Direction, FieldPath, Literal, Nulls,
    OrderItem, Query, SelectItem, SoqlString,
};
use super::error::SoqlError;
use super::lex::{lex, Tok, Token};

/// Deepest nesting of parentheses and `NOT` in a condition.
pub const MAX_DEPTH: usize = 32;
/// Most values in one `IN`, `NOT IN`, `INCLUDES` or `EXCLUDES` list.
pub const MAX_LIST_ITEMS: usize = 1_000;
/// Most `ORDER BY` items (Salesforce's own limit).
pub const MAX_ORDER_ITEMS: usize = 32;
/// Most parts of a field path: five relationships and the field (Salesforce's limit).
pub const MAX_PATH_PARTS: usize = 6;

/// Words that are never a field name (Salesforce's reserved keywords, and the literals).
const RESERVED: &[&str] = &[
    "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES", "LAST",
    "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH", "TRUE", "FALSE",
];

/// Relationships that are always polymorphic (they reach records of several types).
const POLYMORPHIC: &[&str] = &["Who", "What"];

impl Query {
    /// Parse a query of the governed subset; anything else is refused by name.
    pub fn parse(text: &str) -> Result<Query, SoqlError> {
        let toks = lex(text)?;
        let mut p = Parser {
            toks: &toks,
            i: 0,
            paths: Vec::new(),
        };
        let q = p.query()?;
        // A path that starts with the queried object's own name (`Contact.Email` from
        // `Contact`) reads either its own field or a relationship of that name: crmgate
        // will not guess which.
        for (pos, first) in &p.paths {
            if first.eq_ignore_ascii_case(&q.from) {
                return Err(SoqlError::new(
                    "object-name prefix",
                    *pos,
                    format!("name the field without the object's name `{first}`"),
                ));
            }
        }
        Ok(q)
    }
}

struct Parser<'a> {
    toks: &'a [Token],
    i: usize,
    /// Where each field path of more than one part starts, and its first part.
    paths: Vec<(usize, String)>,
}

type Parsed<T> = Result<T, SoqlError>;

impl Parser<'_> {
    fn tok(&self, ahead: usize) -> &Tok {
        self.toks.get(self.i + ahead).map_or(&Tok::End, |t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.toks
            .get(self.i)
            .or(self.toks.last())
            .map_or(1, |t| t.pos)
    }

    fn bump(&mut self) {
        self.i += 1;
    }

    fn is_kw_at(&self, ahead: usize, kw: &str) -> bool {
        matches!(self.tok(ahead), Tok::Name(n) if n.eq_ignore_ascii_case(kw))
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.is_kw_at(0, kw)
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.tok(0), Tok::Punct(q) if *q == p)
    }

    fn expect_kw(&mut self, kw: &str) -> Parsed<()> {
        if self.is_kw(kw) {
            self.bump();
            return Ok(());
        }
        Err(self.expected(&format!("`{kw}`")))
    }

    fn expect_punct(&mut self, p: &str) -> Parsed<()> {
        if self.is_punct(p) {
            self.bump();
            return Ok(());
        }
        Err(self.expected(&format!("`{p}`")))
    }

    /// A syntax error: `what` was expected where the current token stands.
    fn expected(&self, what: &str) -> SoqlError {
        let found = match self.tok(0) {
            Tok::Name(n) => format!("`{n}`"),
            Tok::Number(_) => "a number".into(),
            Tok::Str(_) => "a string".into(),
            Tok::Date(_) | Tok::DateTime(_) => "a date".into(),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::End => "the end of the query".into(),
        };
        SoqlError::syntax(self.pos(), format!("expected {what}, found {found}"))
    }

    fn query(&mut self) -> Parsed<Query> {
        self.expect_kw("SELECT")?;
        let select = self.select_list()?;
        self.expect_kw("FROM")?;
        let from = self.object()?;
        self.refuse_clause()?;
        let mut filter = None;
        if self.is_kw("WHERE") {
            self.bump();
            filter = Some(self.condition(0)?);
            self.refuse_clause()?;
        }
        let mut order_by = Vec::new();
        if self.is_kw("ORDER") && self.is_kw_at(1, "BY") {
            self.i += 2;
            order_by = self.order_items()?;
            self.refuse_clause()?;
        }
        let limit = self.count_clause("LIMIT")?;
        let offset = self.count_clause("OFFSET")?;
        self.refuse_clause()?;
        if *self.tok(0) != Tok::End {
            return Err(SoqlError::new(
                "trailing text",
                self.pos(),
                "unexpected text after the query".into(),
            ));
        }
        Ok(Query {
            select,
            from,
            filter,
            order_by,
            limit,
            offset,
        })
    }

    /// Clauses outside the subset, refused by name where a clause may start.
    fn refuse_clause(&self) -> Parsed<()> {
        let pairs: &[(&str, Option<&str>, &'static str)] = &[
            ("USING", None, "USING SCOPE"),
            ("WITH", None, "WITH"),
            ("GROUP", Some("BY"), "GROUP BY"),
            ("HAVING", None, "HAVING"),
            ("FOR", None, "FOR VIEW/REFERENCE/UPDATE"),
            ("ALL", Some("ROWS"), "ALL ROWS"),
            ("UPDATE", None, "UPDATE TRACKING/VIEWSTAT"),
        ];
        for (first, second, construct) in pairs {
            if self.is_kw(first) && second.is_none_or(|s| self.is_kw_at(1, s)) {
                return Err(SoqlError::unsupported(construct, self.pos()));
            }
        }
        Ok(())
    }

    fn select_list(&mut self) -> Parsed<Vec<SelectItem>> {
        let mut items = Vec::new();
        let mut count_at = None;
        loop {
            let pos = self.pos();
            let item = self.select_item()?;
            if item == SelectItem::Count {
                count_at = Some(pos);
            }
            items.push(item);
            if self.is_punct(",") {
                self.bump();
                continue;
            }
            if matches!(self.tok(0), Tok::Name(_)) && !self.is_kw("FROM") {
                return Err(SoqlError::unsupported("alias", self.pos()));
            }
            break;
        }
        if let (Some(pos), true) = (count_at, items.len() > 1) {
            return Err(SoqlError::new(
                "COUNT() with fields",
                pos,
                "`COUNT()` must be the only item of the select list".into(),
            ));
        }
        Ok(items)
    }

    fn select_item(&mut self) -> Parsed<SelectItem> {
        let pos = self.pos();
        match self.tok(0).clone() {
            Tok::Punct("(") => Err(SoqlError::unsupported("child relationship subquery", pos)),
            Tok::Name(n) if matches!(self.tok(1), Tok::Punct("(")) => {
                if n.eq_ignore_ascii_case("COUNT") && matches!(self.tok(2), Tok::Punct(")")) {
                    self.i += 3;
                    return Ok(SelectItem::Count);
                }
                Err(refused_function(&n, pos))
            }
            Tok::Name(n) if n.eq_ignore_ascii_case("TYPEOF") => {
                Err(SoqlError::unsupported("TYPEOF", pos))
            }
            Tok::Name(_) => self.field_path().map(SelectItem::Field),
            Tok::Punct(":") => Err(SoqlError::unsupported("bind variable", pos)),
            _ => Err(self.expected("a field or `COUNT()`")),
        }
    }

    /// A field path from its first name: `Name`, `Account.Name`, …
    fn field_path(&mut self) -> Parsed<FieldPath> {
        let pos = self.pos();
        let mut parts = Vec::new();
        loop {
            let Tok::Name(n) = self.tok(0).clone() else {
                return Err(self.expected("a field name"));
            };
            if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&n)) {
                return Err(self.expected("a field name"));
            }
            self.bump();
            parts.push(n);
            if parts.len() > MAX_PATH_PARTS {
                return Err(SoqlError::new(
                    "relationship depth",
                    pos,
                    "a field path may go through at most five relationships".into(),
                ));
            }
            if !self.is_punct(".") {
                break;
            }
            self.bump();
        }
        if let (Some(first), true) = (parts.first(), parts.len() > 1) {
            if POLYMORPHIC.iter().any(|p| p.eq_ignore_ascii_case(first)) {
                return Err(SoqlError::unsupported("polymorphic relationship", pos));
            }
            self.paths.push((pos, first.clone()));
        }
        Ok(FieldPath { parts })
    }

    /// The queried object: one name, no alias, no second object.
    fn object(&mut self) -> Parsed<String> {
        let Tok::Name(n) = self.tok(0).clone() else {
            return Err(self.expected("an object name"));
        };
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&n)) {
            return Err(self.expected("an object name"));
        }
        self.bump();
        if self.is_punct(".") {
            return Err(SoqlError::unsupported("relationship in FROM", self.pos()));
        }
        if self.is_punct(",") {
            return Err(SoqlError::unsupported(
                "several objects in FROM",
                self.pos(),
            ));
        }
        let clause = ["WHERE", "ORDER", "LIMIT", "OFFSET"];
        if matches!(self.tok(0), Tok::Name(_))
            && !clause.iter().any(|c| self.is_kw(c))
            && self.refuse_clause().is_ok()
        {
            return Err(SoqlError::unsupported("alias", self.pos()));
        }
        Ok(n)
    }

    /// `a AND b AND …`, `a OR b OR …` or one unary condition, at nesting `depth`.
    fn condition(&mut self, depth: usize) -> Parsed<Condition> {
        let first = self.unary(depth)?;
        let (joiner, other) = if self.is_kw("AND") {
            ("AND", "OR")
        } else if self.is_kw("OR") {
            ("OR", "AND")
        } else {
            return Ok(first);
        };
        let mut parts = vec![first];
        while self.is_kw(joiner) {
            self.bump();
            parts.push(self.unary(depth)?);
        }
        if self.is_kw(other) {
            return Err(SoqlError::syntax(
                self.pos(),
                "`AND` and `OR` mixed without parentheses".into(),
            ));
        }
        Ok(if joiner == "AND" {
            Condition::And(parts)
        } else {
            Condition::Or(parts)
        })
    }

    fn unary(&mut self, depth: usize) -> Parsed<Condition> {
        let nested = |p: &Self| {
            if depth >= MAX_DEPTH {
                return Err(SoqlError::new(
                    "nesting depth",
                    p.pos(),
                    format!("conditions may nest at most {MAX_DEPTH} levels deep"),
                ));
            }
            Ok(depth + 1)
        };
        if self.is_kw("NOT") {
            let inner = nested(self)?;
            self.bump();
            return Ok(Condition::Not(Box::new(self.unary(inner)?)));
        }
        if self.is_punct("(") {
            let inner = nested(self)?;
            self.bump();
            if self.is_kw("SELECT") {
                return Err(SoqlError::unsupported("subquery", self.pos()));
            }
            let c = self.condition(inner)?;
            self.expect_punct(")")?;
            return Ok(c);
        }
        self.simple()
    }

    /// `field op value`, `field LIKE …`, `field [NOT] IN (…)`, `field INCLUDES (…)`, …
    fn simple(&mut self) -> Parsed<Condition> {
        let pos = self.pos();
        match self.tok(0).clone() {
            Tok::Name(n) if matches!(self.tok(1), Tok::Punct("(")) => {
                return Err(refused_function(&n, pos))
            }
            Tok::Name(_) => {}
            Tok::Punct(":") => return Err(SoqlError::unsupported("bind variable", pos)),
            _ => return Err(self.expected("a condition")),
        }
        let field = self.field_path()?;
        let op = match self.tok(0) {
            Tok::Punct("=") => Some(CompareOp::Eq),
            Tok::Punct("!=" | "<>") => Some(CompareOp::Ne),
            Tok::Punct("<") => Some(CompareOp::Lt),
            Tok::Punct("<=") => Some(CompareOp::Le),
            Tok::Punct(">") => Some(CompareOp::Gt),
            Tok::Punct(">=") => Some(CompareOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let at = self.pos();
            let value = self.value()?;
            if value == Literal::Null && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                return Err(SoqlError::syntax(
                    at,
                    "`NULL` compares only with `=` and `!=`".into(),
                ));
            }
            return Ok(Condition::Compare { field, op, value });
        }
        if self.is_kw("LIKE") {
            self.bump();
            let pattern = self.string()?;
            return Ok(Condition::Like { field, pattern });
        }
        let negated = self.is_kw("NOT");
        if negated {
            self.bump();
            if !self.is_kw("IN") {
                return Err(self.expected("`IN` (write `NOT field LIKE …` for a negated LIKE)"));
            }
        }
        if self.is_kw("IN") {
            self.bump();
            let values = self.list(Self::value)?;
            return Ok(Condition::In {
                field,
                negated,
                values,
            });
        }
        let excludes = self.is_kw("EXCLUDES");
        if excludes || self.is_kw("INCLUDES") {
            self.bump();
            let values = self.list(Self::plain_string)?;
            return Ok(Condition::Includes {
                field,
                excludes,
                values,
            });
        }
        Err(self.expected("an operator"))
    }

    /// `( item, … )`: at least one item, at most [`MAX_LIST_ITEMS`].
    fn list<T>(&mut self, item: fn(&mut Self) -> Parsed<T>) -> Parsed<Vec<T>> {
        if self.is_punct(":") {
            return Err(SoqlError::unsupported("bind variable", self.pos()));
        }
        self.expect_punct("(")?;
        if self.is_kw("SELECT") {
            return Err(SoqlError::unsupported("semi-join subquery", self.pos()));
        }
        let mut items = Vec::new();
        loop {
            if items.len() == MAX_LIST_ITEMS {
                return Err(SoqlError::new(
                    "list length",
                    self.pos(),
                    format!("a list may hold at most {MAX_LIST_ITEMS} values"),
                ));
            }
            items.push(item(self)?);
            if self.is_punct(",") {
                self.bump();
                continue;
            }
            self.expect_punct(")")?;
            return Ok(items);
        }
    }

    /// A quoted string (a LIKE pattern or a picklist value).
    fn string(&mut self) -> Parsed<SoqlString> {
        match self.tok(0).clone() {
            Tok::Str(s) => {
                self.bump();
                Ok(s)
            }
            Tok::Punct(":") => Err(SoqlError::unsupported("bind variable", self.pos())),
            _ => Err(self.expected("a quoted string")),
        }
    }

    /// A quoted string outside a LIKE pattern (a picklist value).
    fn plain_string(&mut self) -> Parsed<SoqlString> {
        let pos = self.pos();
        let s = self.string()?;
        if s.has_wildcard_escape() {
            return Err(wildcard_escape(pos));
        }
        Ok(s)
    }

    /// A literal value of a comparison or an `IN` list.
    fn value(&mut self) -> Parsed<Literal> {
        let pos = self.pos();
        let lit = match self.tok(0).clone() {
            Tok::Str(s) if s.has_wildcard_escape() => return Err(wildcard_escape(pos)),
            Tok::Str(s) => Literal::String(s),
            Tok::Number(n) => Literal::Number(n),
            Tok::Date(d) => Literal::Date(d),
            Tok::DateTime(d) => Literal::DateTime(d),
            Tok::Name(n) if n.eq_ignore_ascii_case("NULL") => Literal::Null,
            Tok::Name(n) if n.eq_ignore_ascii_case("TRUE") => Literal::Bool(true),
            Tok::Name(n) if n.eq_ignore_ascii_case("FALSE") => Literal::Bool(false),
            Tok::Name(n) => return self.date_literal(&n),
            Tok::Punct(":") => return Err(SoqlError::unsupported("bind variable", pos)),
            Tok::Punct("(") => return Err(SoqlError::unsupported("subquery", pos)),
            _ => return Err(self.expected("a value")),
        };
        self.bump();
        Ok(lit)
    }

    /// `TODAY`, `LAST_N_DAYS:7`, …
    fn date_literal(&mut self, name: &str) -> Parsed<Literal> {
        let Some((canonical, takes_n)) = date_literal(name) else {
            return Err(SoqlError::syntax(
                self.pos(),
                format!("expected a value, found `{name}` (a field compares only with a literal)"),
            ));
        };
        self.bump();
        let n = if takes_n {
            self.expect_punct(":")?;
            match self.tok(0) {
                Tok::Number(t) if t.chars().all(|c| c.is_ascii_digit()) => {
                    let n = t
                        .parse::<u32>()
                        .map_err(|_| self.expected("a small number"))?;
                    self.bump();
                    Some(n)
                }
                _ => return Err(self.expected(&format!("`{canonical}:n`'s whole number"))),
            }
        } else {
            None
        };
        Ok(Literal::Relative(DateLiteral { name: canonical, n }))
    }

    fn order_items(&mut self) -> Parsed<Vec<OrderItem>> {
        let mut items = Vec::new();
        loop {
            if items.len() == MAX_ORDER_ITEMS {
                return Err(SoqlError::new(
                    "ORDER BY length",
                    self.pos(),
                    format!("`ORDER BY` may name at most {MAX_ORDER_ITEMS} fields"),
                ));
            }
            if let (Tok::Name(n), Tok::Punct("(")) = (self.tok(0).clone(), self.tok(1)) {
                return Err(refused_function(&n, self.pos()));
            }
            let field = self.field_path()?;
            let direction = if self.is_kw("ASC") {
                self.bump();
                Some(Direction::Asc)
            } else if self.is_kw("DESC") {
                self.bump();
                Some(Direction::Desc)
            } else {
                None
            };
            let mut nulls = None;
            if self.is_kw("NULLS") {
                self.bump();
                nulls = Some(if self.is_kw("FIRST") {
                    Nulls::First
                } else if self.is_kw("LAST") {
                    Nulls::Last
                } else {
                    return Err(self.expected("`FIRST` or `LAST`"));
                });
                self.bump();
            }
            items.push(OrderItem {
                field,
                direction,
                nulls,
            });
            if !self.is_punct(",") {
                return Ok(items);
            }
            self.bump();
        }
    }

    /// `LIMIT n` / `OFFSET n`, if the clause is there.
    fn count_clause(&mut self, kw: &str) -> Parsed<Option<u64>> {
        if !self.is_kw(kw) {
            return Ok(None);
        }
        self.bump();
        match self.tok(0) {
            Tok::Number(t) if t.chars().all(|c| c.is_ascii_digit()) => {
                let n = t
                    .parse::<u64>()
                    .map_err(|_| self.expected("a smaller number"))?;
                self.bump();
                Ok(Some(n))
            }
            Tok::Punct(":") => Err(SoqlError::unsupported("bind variable", self.pos())),
            _ => Err(self.expected(&format!("`{kw}`'s whole number"))),
        }
    }
}

/// `\%` or `\_` in a string that is not a LIKE pattern.
fn wildcard_escape(pos: usize) -> SoqlError {
    SoqlError::new(
        "escape",
        pos,
        "`\\%` and `\\_` escape wildcards of a LIKE pattern only".into(),
    )
}

/// A function call outside the subset, refused by what kind of function it is.
fn refused_function(name: &str, pos: usize) -> SoqlError {
    let upper = name.to_ascii_uppercase();
    let construct = match upper.as_str() {
        "COUNT" | "COUNT_DISTINCT" | "MIN" | "MAX" | "SUM" | "AVG" | "GROUPING" => {
            "aggregate function"
        }
        "FIELDS" => return SoqlError::unsupported("FIELDS()", pos),
        "TOLABEL" => return SoqlError::unsupported("toLabel()", pos),
        "FORMAT" => return SoqlError::unsupported("FORMAT()", pos),
        "CONVERTCURRENCY" => return SoqlError::unsupported("convertCurrency()", pos),
        "DISTANCE" | "GEOLOCATION" => return SoqlError::unsupported("DISTANCE/GEOLOCATION", pos),
        "CONVERTTIMEZONE" | "HOUR_IN_DAY" | "WEEK_IN_MONTH" | "WEEK_IN_YEAR" => "date function",
        u if u.starts_with("CALENDAR_") || u.starts_with("DAY_") || u.starts_with("FISCAL_") => {
            "date function"
        }
        _ => "function",
    };
    let hint = if construct == "aggregate function" {
        " (only `COUNT()` alone)"
    } else {
        ""
    };
    SoqlError::new(
        construct,
        pos,
        format!("{construct} `{name}()` is not supported by crmgate's query subset{hint}"),
    )
}
