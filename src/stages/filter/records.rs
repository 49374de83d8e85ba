//! Stage 9, selection: where the records are in a response body.
//!
//! The route's JSONPath (jsonpath-rust, compiled at start-up) selects the records; matches
//! come back as RFC 9535 normalized paths (`$['results'][0]`), which are turned into token
//! lists so the filter can edit the document in place. This module only finds records; it
//! never decides what a user may see.

use jsonpath_rust::parser::model::JpQuery;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

/// One step of a path into a JSON document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Token {
    Key(String),
    Index(usize),
}

/// The locations of the records the query selects, in document order.
pub fn select(query: &JpQuery, doc: &Value) -> Result<Vec<Vec<Token>>, String> {
    let refs = js_path_process(query, doc).map_err(|e| format!("record selection failed: {e}"))?;
    refs.into_iter()
        .map(|r| parse_normalized(&r.path))
        .collect()
}

/// The records the query selects, by reference (read-only callers: explain, check).
pub fn select_values<'a>(query: &JpQuery, doc: &'a Value) -> Result<Vec<&'a Value>, String> {
    Ok(select(query, doc)?
        .iter()
        .filter_map(|path| {
            path.iter().try_fold(doc, |v, t| match t {
                Token::Key(k) => v.get(k),
                Token::Index(i) => v.get(i),
            })
        })
        .collect())
}

/// Parse an RFC 9535 normalized path (`$['a'][0]['b\'c']`) into tokens.
pub fn parse_normalized(path: &str) -> Result<Vec<Token>, String> {
    let bad = || format!("unexpected normalized path `{path}`");
    let mut chars = path.chars().peekable();
    if chars.next() != Some('$') {
        return Err(bad());
    }
    let mut tokens = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            '.' => continue,
            '[' => {}
            _ => return Err(bad()),
        }
        match chars.peek() {
            Some('\'') => {
                chars.next();
                let mut key = String::new();
                loop {
                    match chars.next().ok_or_else(bad)? {
                        '\'' => break,
                        '\\' => match chars.next().ok_or_else(bad)? {
                            'b' => key.push('\u{8}'),
                            'f' => key.push('\u{c}'),
                            'n' => key.push('\n'),
                            'r' => key.push('\r'),
                            't' => key.push('\t'),
                            'u' => {
                                let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                                let code = u32::from_str_radix(&hex, 16).map_err(|_| bad())?;
                                key.push(char::from_u32(code).ok_or_else(bad)?);
                            }
                            other => key.push(other),
                        },
                        other => key.push(other),
                    }
                }
                tokens.push(Token::Key(key));
            }
            _ => {
                let mut digits = String::new();
                while let Some(&d) = chars.peek() {
                    if d.is_ascii_digit() {
                        digits.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Index(digits.parse().map_err(|_| bad())?));
            }
        }
        if chars.next() != Some(']') {
            return Err(bad());
        }
    }
    Ok(tokens)
}

/// The body's records as `$.<key>[*]` selects them, when `source` is exactly that form.
pub(super) fn simple_array_key(source: &str) -> Option<&str> {
    let key = source.strip_prefix("$.")?.strip_suffix("[*]")?;
    let mut bytes = key.bytes();
    let first = bytes.next()?;
    (first.is_ascii_alphabetic() || first == b'_')
        .then_some(())
        .filter(|()| bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .map(|()| key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalized_paths_become_tokens() {
        assert_eq!(
            parse_normalized("$['results'][12]").unwrap(),
            vec![Token::Key("results".into()), Token::Index(12)]
        );
        assert_eq!(
            parse_normalized("$['a\\'b']").unwrap(),
            vec![Token::Key("a'b".into())]
        );
        assert!(parse_normalized("results").is_err());
    }

    #[test]
    fn selects_list_records_in_order() {
        let q = jsonpath_rust::parser::parse_json_path("$.results[*]").unwrap();
        let doc = json!({"results": [{"id": "1"}, {"id": "2"}], "paging": {}});
        let paths = select(&q, &doc).unwrap();
        assert_eq!(
            paths,
            vec![
                vec![Token::Key("results".into()), Token::Index(0)],
                vec![Token::Key("results".into()), Token::Index(1)],
            ]
        );
    }
}
