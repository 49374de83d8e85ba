//! The SOQL subset's tokens: words (names and keywords, with dots for parent
//! fields), quoted strings with Salesforce's backslash escapes, numbers, date and
//! datetime literals, punctuation and comparison operators. It only splits text:
//! it must never decide what a word means.

/// One token and the byte offset it starts at (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A name or keyword, e.g. `SELECT`, `Account.Name`, `LAST_N_DAYS`.
    Word(String),
    /// A quoted string's value, escapes resolved.
    Str(String),
    /// A number as written.
    Num(String),
    /// `2026-12-07` or `2026-12-07T10:00:00Z`, as written.
    Date(String),
    Comma,
    Open,
    Close,
    Colon,
    /// `=`, `!=` (also `<>`), `<`, `<=`, `>`, `>=`.
    Op(&'static str),
}

impl Tok {
    /// The token as a message quotes it.
    pub(crate) fn text(&self) -> String {
        match self {
            Tok::Word(text) | Tok::Num(text) | Tok::Date(text) => text.clone(),
            Tok::Str(text) => format!("'{text}'"),
            Tok::Comma => ",".into(),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::Colon => ":".into(),
            Tok::Op(op) => (*op).into(),
        }
    }
}

/// Splits `text` into tokens, or names the offset and what was wrong.
pub(crate) fn tokens(text: &str) -> Result<Vec<(usize, Tok)>, (usize, String)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(&(offset, c)) = chars.get(at) {
        let next = chars.get(at + 1).map(|&(_, c)| c);
        let (tok, used) = match c {
            c if c.is_whitespace() => {
                at += 1;
                continue;
            }
            ',' => (Tok::Comma, 1),
            '(' => (Tok::Open, 1),
            ')' => (Tok::Close, 1),
            ':' => (Tok::Colon, 1),
            '=' => (Tok::Op("="), 1),
            '!' if next == Some('=') => (Tok::Op("!="), 2),
            '<' if next == Some('>') => (Tok::Op("!="), 2),
            '<' if next == Some('=') => (Tok::Op("<="), 2),
            '<' => (Tok::Op("<"), 1),
            '>' if next == Some('=') => (Tok::Op(">="), 2),
            '>' => (Tok::Op(">"), 1),
            '\'' => string(&chars, at).ok_or((offset, "unterminated string".to_string()))?,
            c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                number_or_date(&chars, at)
            }
            c if c.is_alphabetic() || c == '_' => {
                let word: String = chars
                    .get(at..)
                    .unwrap_or_default()
                    .iter()
                    .map(|&(_, c)| c)
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                    .collect();
                let used = word.chars().count();
                (Tok::Word(word), used)
            }
            other => return Err((offset, format!("unexpected character: '{other}'"))),
        };
        out.push((offset, tok));
        at += used;
    }
    Ok(out)
}

/// A quoted string from the quote at `at`: its value and the characters used.
fn string(chars: &[(usize, char)], at: usize) -> Option<(Tok, usize)> {
    let mut value = String::new();
    let mut index = at + 1;
    loop {
        let &(_, c) = chars.get(index)?;
        match c {
            '\'' => return Some((Tok::Str(value), index + 1 - at)),
            '\\' => {
                let &(_, escaped) = chars.get(index + 1)?;
                // `\%` and `\_` stay escaped for LIKE; a quote or backslash is itself.
                if matches!(escaped, '%' | '_') {
                    value.push('\\');
                }
                value.push(match escaped {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    other => other,
                });
                index += 2;
            }
            c => {
                value.push(c);
                index += 1;
            }
        }
    }
}

/// A number, or a date or datetime literal when four digits are followed by `-`.
fn number_or_date(chars: &[(usize, char)], at: usize) -> (Tok, usize) {
    let rest: Vec<char> = chars
        .get(at..)
        .unwrap_or_default()
        .iter()
        .map(|&(_, c)| c)
        .collect();
    let is_date = rest.len() > 4
        && rest.iter().take(4).all(char::is_ascii_digit)
        && rest.get(4) == Some(&'-');
    let text: String = if is_date {
        rest.iter()
            .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | 'T' | 'Z' | '.' | '+'))
            .collect()
    } else {
        rest.iter()
            .enumerate()
            .take_while(|&(i, c)| c.is_ascii_digit() || *c == '.' || (i == 0 && *c == '-'))
            .map(|(_, c)| *c)
            .collect()
    };
    let used = text.chars().count();
    if is_date {
        (Tok::Date(text), used)
    } else {
        (Tok::Num(text), used)
    }
}
