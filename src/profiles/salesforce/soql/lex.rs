//! The lexer: query text → tokens with their positions. It must never accept a character it
//! does not understand (comments, double quotes, NUL, non-ASCII outside strings are refused
//! here), and never loop or allocate beyond the text's bounded length.

use super::ast::SoqlString;
use super::error::SoqlError;

/// Salesforce's limit on a query's length, in characters.
pub const MAX_QUERY_CHARS: usize = 100_000;
/// Longest number crmgate reads (digits, sign and point).
const MAX_NUMBER_CHARS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    /// A keyword, field, object or function name, as written.
    Name(String),
    Number(String),
    Str(SoqlString),
    Date(String),
    DateTime(String),
    /// `( ) , . = != <> < <= > >= :`
    Punct(&'static str),
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub tok: Tok,
    /// 1-based character position of the token's first character.
    pub pos: usize,
}

/// The query's tokens, ending with [`Tok::End`].
pub(super) fn lex(text: &str) -> Result<Vec<Token>, SoqlError> {
    let chars: Vec<char> = text.chars().take(MAX_QUERY_CHARS + 1).collect();
    if chars.len() > MAX_QUERY_CHARS {
        return Err(SoqlError::new(
            "query length",
            MAX_QUERY_CHARS + 1,
            format!("a query may hold at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let mut lx = Lexer {
        chars: &chars,
        i: 0,
    };
    let mut out = Vec::new();
    while let Some(c) = lx.peek(0) {
        let pos = lx.i + 1;
        let tok = match c {
            ' ' | '\t' | '\n' | '\r' => {
                lx.i += 1;
                continue;
            }
            c if c.is_ascii_alphabetic() => Tok::Name(lx.take_while(is_name_char)),
            c if c.is_ascii_digit() => lx.number_or_date(pos)?,
            '-' if lx.peek(1).is_some_and(|c| c.is_ascii_digit()) => lx.number_or_date(pos)?,
            '-' if lx.peek(1) == Some('-') => return Err(SoqlError::unsupported("comment", pos)),
            '/' if matches!(lx.peek(1), Some('*' | '/')) => {
                return Err(SoqlError::unsupported("comment", pos))
            }
            '\'' => Tok::Str(lx.string(pos)?),
            _ => Tok::Punct(lx.punct(pos)?),
        };
        out.push(Token { tok, pos });
    }
    out.push(Token {
        tok: Tok::End,
        pos: chars.len() + 1,
    });
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Lexer<'a> {
    chars: &'a [char],
    i: usize,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek(0).filter(|c| f(*c)) {
            s.push(c);
            self.i += 1;
        }
        s
    }

    /// Exactly `n` digits, or none taken.
    fn digits(&mut self, n: usize) -> Option<String> {
        let s: String = (0..n).map_while(|k| self.peek(k)).collect();
        if s.len() == n && s.chars().all(|c| c.is_ascii_digit()) {
            self.i += n;
            Some(s)
        } else {
            None
        }
    }

    fn punct(&mut self, pos: usize) -> Result<&'static str, SoqlError> {
        let two: String = (0..2).map_while(|k| self.peek(k)).collect();
        for p in ["!=", "<>", "<=", ">="] {
            if two == p {
                self.i += 2;
                return Ok(p);
            }
        }
        let one = match self.peek(0) {
            Some('(') => "(",
            Some(')') => ")",
            Some(',') => ",",
            Some('.') => ".",
            Some('=') => "=",
            Some('<') => "<",
            Some('>') => ">",
            Some(':') => ":",
            Some('\0') => return Err(SoqlError::unsupported("NUL character", pos)),
            Some(c) => {
                return Err(SoqlError::syntax(
                    pos,
                    format!("unexpected character `{}`", c.escape_default()),
                ))
            }
            None => return Err(SoqlError::syntax(pos, "unexpected end of query".into())),
        };
        self.i += 1;
        Ok(one)
    }

    /// A number (`-12`, `3.5`), a date (`2026-12-07`) or a datetime
    /// (`2026-12-07T10:00:00Z`, with optional fraction and a `±hh:mm` offset).
    fn number_or_date(&mut self, pos: usize) -> Result<Tok, SoqlError> {
        let start = self.i;
        if let Some(date) = self.date() {
            if self.peek(0) != Some('T') {
                return self.end_of_value(pos).map(|()| Tok::Date(date));
            }
            self.i += 1;
            let time = self.time().ok_or_else(|| {
                SoqlError::syntax(
                    pos,
                    "malformed datetime: expected `hh:mm:ss` and a zone".into(),
                )
            })?;
            return self
                .end_of_value(pos)
                .map(|()| Tok::DateTime(format!("{date}T{time}")));
        }
        self.i = start;
        let mut text = String::new();
        if self.peek(0) == Some('-') {
            text.push('-');
            self.i += 1;
        }
        text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
            text.push('.');
            text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        }
        if text.len() > MAX_NUMBER_CHARS {
            return Err(SoqlError::syntax(
                pos,
                format!("a number may hold at most {MAX_NUMBER_CHARS} characters"),
            ));
        }
        self.end_of_value(pos).map(|()| Tok::Number(text))
    }

    /// A value ends where no name character follows (`1e5`, `12abc` are refused).
    fn end_of_value(&self, pos: usize) -> Result<(), SoqlError> {
        match self.peek(0) {
            Some(c) if is_name_char(c) || c == '.' => Err(SoqlError::syntax(
                pos,
                "malformed number, date or datetime".into(),
            )),
            _ => Ok(()),
        }
    }

    /// `YYYY-MM-DD` with a month and day in range, or nothing taken.
    fn date(&mut self) -> Option<String> {
        let start = self.i;
        let parsed = (|| {
            let y = self.digits(4)?;
            self.expect('-')?;
            let m = self.digits(2).filter(|m| in_range(m, 1, 12))?;
            self.expect('-')?;
            let d = self.digits(2).filter(|d| in_range(d, 1, 31))?;
            Some(format!("{y}-{m}-{d}"))
        })();
        if parsed.is_none() {
            self.i = start;
        }
        parsed
    }

    /// `hh:mm:ss[.fff](Z|±hh:mm)`.
    fn time(&mut self) -> Option<String> {
        let h = self.digits(2).filter(|h| in_range(h, 0, 23))?;
        self.expect(':')?;
        let m = self.digits(2).filter(|m| in_range(m, 0, 59))?;
        self.expect(':')?;
        let s = self.digits(2).filter(|s| in_range(s, 0, 59))?;
        let mut out = format!("{h}:{m}:{s}");
        if self.peek(0) == Some('.') {
            self.i += 1;
            let frac = self.take_while(|c| c.is_ascii_digit());
            if frac.is_empty() || frac.len() > 9 {
                return None;
            }
            out.push('.');
            out.push_str(&frac);
        }
        match self.peek(0)? {
            'Z' => {
                self.i += 1;
                out.push('Z');
            }
            sign @ ('+' | '-') => {
                self.i += 1;
                let oh = self.digits(2).filter(|h| in_range(h, 0, 23))?;
                self.expect(':')?;
                let om = self.digits(2).filter(|m| in_range(m, 0, 59))?;
                out.push_str(&format!("{sign}{oh}:{om}"));
            }
            _ => return None,
        }
        Some(out)
    }

    fn expect(&mut self, c: char) -> Option<()> {
        (self.peek(0) == Some(c)).then(|| self.i += 1)
    }

    /// A quoted string from its opening quote: the held form of [`SoqlString`].
    fn string(&mut self, pos: usize) -> Result<SoqlString, SoqlError> {
        self.i += 1;
        let mut held = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(SoqlError::syntax(pos, "unterminated string".into()));
            };
            let at = self.i + 1;
            self.i += 1;
            match c {
                '\'' => return Ok(SoqlString::from_held(held)),
                '\0' => return Err(SoqlError::unsupported("NUL character", at)),
                '\\' => self.escape(at, &mut held)?,
                c => held.push(c),
            }
        }
    }

    /// One escape after its backslash (at `at`), decoded into `held`.
    fn escape(&mut self, at: usize, held: &mut String) -> Result<(), SoqlError> {
        let bad = |m: &str| SoqlError::new("escape", at, m.to_string());
        let Some(e) = self.peek(0) else {
            return Err(SoqlError::syntax(at, "unterminated string".into()));
        };
        self.i += 1;
        match e {
            'n' | 'N' => held.push('\n'),
            'r' | 'R' => held.push('\r'),
            't' | 'T' => held.push('\t'),
            'b' | 'B' => held.push('\u{8}'),
            'f' | 'F' => held.push('\u{c}'),
            '"' => held.push('"'),
            '\'' => held.push('\''),
            '\\' | '%' | '_' => {
                held.push('\\');
                held.push(e);
            }
            'u' => {
                let hex: String = (0..4).map_while(|k| self.peek(k)).collect();
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| bad("`\\u` takes four hexadecimal digits"))?;
                self.i += 4;
                match char::from_u32(code) {
                    // fail closed: whether an encoded wildcard is literal is not documented.
                    Some('%' | '_') => {
                        return Err(bad("write a literal `%` or `_` as `\\%` or `\\_`"))
                    }
                    Some('\0') => return Err(SoqlError::unsupported("NUL character", at)),
                    Some('\\') => held.push_str("\\\\"),
                    Some(c) => held.push(c),
                    None => return Err(bad("`\\u` names no character")),
                }
            }
            _ => return Err(bad("unknown escape in a string")),
        }
        Ok(())
    }
}

fn in_range(digits: &str, lo: u32, hi: u32) -> bool {
    digits.parse::<u32>().is_ok_and(|v| (lo..=hi).contains(&v))
}
