//! The demo's SOQL subset, parsed into a small tree: `SELECT` fields (parent
//! fields such as `Account.Name`) or `COUNT()`, `FROM` one object, `WHERE` with
//! comparisons, `LIKE`, `IN`/`NOT IN`, `INCLUDES`/`EXCLUDES`, `NULL`, `AND`/`OR`/
//! `NOT` and parentheses, date literals, `ORDER BY … ASC|DESC NULLS FIRST|LAST`,
//! `LIMIT`, `OFFSET`. It only parses: it must never look at the schema or a
//! record (`query.rs` binds names and evaluates).

mod lexer;

use lexer::Tok;

/// A parsed `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Select {
    pub(crate) projection: Projection,
    pub(crate) object: String,
    pub(crate) filter: Option<Cond>,
    pub(crate) order: Vec<Order>,
    pub(crate) limit: Option<usize>,
    pub(crate) offset: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Projection {
    Count,
    Fields(Vec<String>),
}

/// A `WHERE` condition. Field names are as written (`Account.Name`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Compare(String, Op, Literal),
    Like(String, String),
    /// `IN (…)`, or `NOT IN (…)` when negated.
    In(String, bool, Vec<Literal>),
    /// `INCLUDES (…)`, or `EXCLUDES (…)` when negated; each value may hold `;`.
    Includes(String, bool, Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    /// `2026-12-07`.
    Date(String),
    /// `2026-12-07T10:00:00Z` and the like, as written.
    DateTime(String),
    /// A date literal: the days `[start, end)` relative to today, as offsets
    /// resolved when the query runs.
    Range(DateRange),
}

/// The date literals of the subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateRange {
    Today,
    Yesterday,
    Tomorrow,
    LastNDays(i64),
    NextNDays(i64),
    ThisMonth,
    LastMonth,
    NextMonth,
    ThisYear,
    LastYear,
    NextYear,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Order {
    pub(crate) field: String,
    pub(crate) descending: bool,
    pub(crate) nulls_last: bool,
}

/// Why a query does not parse: the offset and Salesforce's wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

pub(crate) fn parse(text: &str) -> Result<Select, ParseError> {
    let tokens = lexer::tokens(text).map_err(|(offset, message)| ParseError { offset, message })?;
    let mut parser = Parser {
        tokens,
        at: 0,
        end: text.len(),
    };
    let select = parser.select()?;
    match parser.peek() {
        None => Ok(select),
        Some(_) => Err(parser.unexpected()),
    }
}

struct Parser {
    tokens: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|(_, tok)| tok)
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.peek().cloned();
        self.at += 1;
        tok
    }

    fn unexpected(&self) -> ParseError {
        match self.tokens.get(self.at) {
            Some((offset, tok)) => ParseError {
                offset: *offset,
                message: format!("unexpected token: '{}'", tok.text()),
            },
            None => ParseError {
                offset: self.end,
                message: "unexpected token: <EOF>".into(),
            },
        }
    }

    /// Whether the next token is the keyword (case-insensitive); consumes it if so.
    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word));
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), ParseError> {
        if self.keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), ParseError> {
        if self.peek() == Some(tok) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A field name: a word that is not a keyword of the grammar.
    fn name(&mut self) -> Result<String, ParseError> {
        const RESERVED: &[&str] = &[
            "SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "NOT",
            "GROUP", "HAVING", "WITH", "FOR", "NULL", "TRUE", "FALSE", "IN", "LIKE",
        ];
        match self.peek() {
            Some(Tok::Word(word)) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word)) => {
                let word = word.clone();
                self.at += 1;
                Ok(word)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn select(&mut self) -> Result<Select, ParseError> {
        self.expect_keyword("SELECT")?;
        let projection = self.projection()?;
        self.expect_keyword("FROM")?;
        let object = self.name()?;
        let filter = if self.keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.keyword("ORDER") {
            self.expect_keyword("BY")?;
            order.push(self.order()?);
            while self.peek() == Some(&Tok::Comma) {
                self.at += 1;
                order.push(self.order()?);
            }
        }
        let limit = if self.keyword("LIMIT") {
            Some(self.count()?)
        } else {
            None
        };
        let offset = if self.keyword("OFFSET") {
            Some(self.count()?)
        } else {
            None
        };
        Ok(Select {
            projection,
            object,
            filter,
            order,
            limit,
            offset,
        })
    }

    fn projection(&mut self) -> Result<Projection, ParseError> {
        let is_count = matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("COUNT"))
            && self.tokens.get(self.at + 1).map(|(_, t)| t) == Some(&Tok::Open)
            && self.tokens.get(self.at + 2).map(|(_, t)| t) == Some(&Tok::Close);
        if is_count {
            self.at += 3;
            return Ok(Projection::Count);
        }
        let mut fields = vec![self.name()?];
        while self.peek() == Some(&Tok::Comma) {
            self.at += 1;
            fields.push(self.name()?);
        }
        Ok(Projection::Fields(fields))
    }

    fn count(&mut self) -> Result<usize, ParseError> {
        match self.peek() {
            Some(Tok::Num(text)) => match text.parse() {
                Ok(count) => {
                    self.at += 1;
                    Ok(count)
                }
                Err(_) => Err(self.unexpected()),
            },
            _ => Err(self.unexpected()),
        }
    }

    fn order(&mut self) -> Result<Order, ParseError> {
        let field = self.name()?;
        let descending = if self.keyword("DESC") {
            true
        } else {
            self.keyword("ASC");
            false
        };
        // Salesforce's default: nulls first ascending, last descending.
        let mut nulls_last = descending;
        if self.keyword("NULLS") {
            nulls_last = if self.keyword("LAST") {
                true
            } else {
                self.expect_keyword("FIRST")?;
                false
            };
        }
        Ok(Order {
            field,
            descending,
            nulls_last,
        })
    }

    /// Terms joined by one connective: SOQL refuses `a AND b OR c` without parentheses.
    fn condition(&mut self) -> Result<Cond, ParseError> {
        let first = self.term()?;
        let mut terms = vec![first];
        let mut connective: Option<bool> = None;
        loop {
            let is_and = if self.keyword("AND") {
                true
            } else if self.keyword("OR") {
                false
            } else {
                break;
            };
            if connective.is_some_and(|known| known != is_and) {
                self.at -= 1;
                return Err(self.unexpected());
            }
            connective = Some(is_and);
            terms.push(self.term()?);
        }
        Ok(match connective {
            None => terms.pop().unwrap_or(Cond::All(Vec::new())),
            Some(true) => Cond::All(terms),
            Some(false) => Cond::Any(terms),
        })
    }

    fn term(&mut self) -> Result<Cond, ParseError> {
        if self.keyword("NOT") {
            return Ok(Cond::Not(Box::new(self.term()?)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.at += 1;
            let inner = self.condition()?;
            self.expect(&Tok::Close)?;
            return Ok(inner);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Cond, ParseError> {
        let field = self.name()?;
        if let Some(Tok::Op(op)) = self.peek() {
            let op = match *op {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                _ => Op::Ge,
            };
            self.at += 1;
            return Ok(Cond::Compare(field, op, self.literal()?));
        }
        if self.keyword("LIKE") {
            return match self.next() {
                Some(Tok::Str(pattern)) => Ok(Cond::Like(field, pattern)),
                _ => {
                    self.at -= 1;
                    Err(self.unexpected())
                }
            };
        }
        let negated = self.keyword("NOT");
        if self.keyword("IN") {
            return Ok(Cond::In(field, negated, self.list()?));
        }
        if negated {
            return Err(self.unexpected());
        }
        let excludes = if self.keyword("INCLUDES") {
            false
        } else if self.keyword("EXCLUDES") {
            true
        } else {
            return Err(self.unexpected());
        };
        let mut values = Vec::new();
        for literal in self.list()? {
            match literal {
                Literal::Text(text) => values.push(text),
                _ => return Err(self.unexpected()),
            }
        }
        Ok(Cond::Includes(field, excludes, values))
    }

    fn list(&mut self) -> Result<Vec<Literal>, ParseError> {
        self.expect(&Tok::Open)?;
        let mut values = vec![self.literal()?];
        while self.peek() == Some(&Tok::Comma) {
            self.at += 1;
            values.push(self.literal()?);
        }
        self.expect(&Tok::Close)?;
        Ok(values)
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        let literal = match self.peek() {
            Some(Tok::Str(text)) => Literal::Text(text.clone()),
            Some(Tok::Num(text)) => match text.parse() {
                Ok(number) => Literal::Number(number),
                Err(_) => return Err(self.unexpected()),
            },
            Some(Tok::Date(text)) if text.len() == 10 => Literal::Date(text.clone()),
            Some(Tok::Date(text)) => Literal::DateTime(text.clone()),
            Some(Tok::Word(word)) => return self.word_literal(&word.to_ascii_uppercase()),
            _ => return Err(self.unexpected()),
        };
        self.at += 1;
        Ok(literal)
    }

    fn word_literal(&mut self, word: &str) -> Result<Literal, ParseError> {
        let fixed = match word {
            "NULL" => Some(Literal::Null),
            "TRUE" => Some(Literal::Bool(true)),
            "FALSE" => Some(Literal::Bool(false)),
            "TODAY" => Some(Literal::Range(DateRange::Today)),
            "YESTERDAY" => Some(Literal::Range(DateRange::Yesterday)),
            "TOMORROW" => Some(Literal::Range(DateRange::Tomorrow)),
            "THIS_MONTH" => Some(Literal::Range(DateRange::ThisMonth)),
            "LAST_MONTH" => Some(Literal::Range(DateRange::LastMonth)),
            "NEXT_MONTH" => Some(Literal::Range(DateRange::NextMonth)),
            "THIS_YEAR" => Some(Literal::Range(DateRange::ThisYear)),
            "LAST_YEAR" => Some(Literal::Range(DateRange::LastYear)),
            "NEXT_YEAR" => Some(Literal::Range(DateRange::NextYear)),
            _ => None,
        };
        if let Some(literal) = fixed {
            self.at += 1;
            return Ok(literal);
        }
        let make: fn(i64) -> DateRange = match word {
            "LAST_N_DAYS" => DateRange::LastNDays,
            "NEXT_N_DAYS" => DateRange::NextNDays,
            _ => return Err(self.unexpected()),
        };
        self.at += 1;
        self.expect(&Tok::Colon)?;
        match self.peek() {
            Some(Tok::Num(text)) => match text.parse::<i64>() {
                Ok(days) if days >= 0 => {
                    self.at += 1;
                    Ok(Literal::Range(make(days)))
                }
                _ => Err(self.unexpected()),
            },
            _ => Err(self.unexpected()),
        }
    }
}

#[cfg(test)]
mod tests;
