//! Query strings and paging parameters as the demo CRM reads them: decoded
//! pairs, repeatable comma-separated lists, page sizes and cursors. It must
//! never answer a request or touch the store; it only parses.

/// Page sizes: a list's default and maximum, and a search's maximum (as HubSpot's).
pub(crate) const LIST_DEFAULT_LIMIT: usize = 10;
pub(crate) const LIST_MAX_LIMIT: usize = 100;
pub(crate) const SEARCH_MAX_LIMIT: usize = 200;

/// Decoded query parameters in order; a name may repeat.
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name, true), percent_decode(value, true))
            })
            .collect();
        Query { pairs }
    }

    pub(crate) fn first(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a repeatable parameter, each split at commas, without
    /// duplicates: `properties=a,b&properties=c` is `[a, b, c]`.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        let mut items: Vec<String> = Vec::new();
        let values = self.pairs.iter().filter(|(key, _)| key == name);
        for item in values.flat_map(|(_, value)| value.split(',')) {
            let item = item.trim();
            if !item.is_empty() && !items.iter().any(|known| known == item) {
                items.push(item.to_string());
            }
        }
        items
    }

    pub(crate) fn flag(&self, name: &str) -> Result<bool, String> {
        match self.first(name) {
            None => Ok(false),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") || value.is_empty() => Ok(false),
            Some(value) => Err(format!("Invalid value for {name}: '{value}'")),
        }
    }
}

/// Decodes `%XX` escapes (and `+` as a space in query strings); malformed
/// escapes stay as they are, invalid UTF-8 becomes U+FFFD.
pub(crate) fn percent_decode(input: &str, plus_is_space: bool) -> String {
    let bytes = input.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = (byte == b'%')
            .then(|| {
                let high = bytes.get(index + 1).copied().and_then(hex_digit)?;
                let low = bytes.get(index + 2).copied().and_then(hex_digit)?;
                Some(high * 16 + low)
            })
            .flatten();
        match escaped {
            Some(value) => {
                decoded.push(value);
                index += 3;
            }
            None => {
                decoded.push(if plus_is_space && byte == b'+' {
                    b' '
                } else {
                    byte
                });
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// A page size: default when absent; zero, negative or not a number is an
/// error; above the maximum it is capped, as HubSpot does.
pub(crate) fn parse_limit(raw: Option<&str>, default: usize, max: usize) -> Result<usize, String> {
    let Some(text) = raw else {
        return Ok(default);
    };
    match text.trim().parse::<u64>() {
        Ok(0) | Err(_) => Err(format!(
            "Invalid limit '{text}': must be a positive integer (at most {max})"
        )),
        Ok(limit) => Ok(usize::try_from(limit).unwrap_or(max).min(max)),
    }
}

/// The opaque paging cursor: here simply the index of the next record.
pub(crate) fn parse_after(raw: Option<&str>) -> Result<usize, String> {
    match raw.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(0),
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| format!("Invalid paging cursor after='{text}'")),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_strings() {
        let query = Query::parse(Some(
            "properties=firstname,email&properties=wish_text&x=a%2Bb+c&email=santa%40np.example&bad=%zz",
        ));
        assert_eq!(
            query.list("properties"),
            ["firstname", "email", "wish_text"]
        );
        assert_eq!(query.first("x"), Some("a+b c"));
        assert_eq!(query.first("email"), Some("santa@np.example"));
        assert_eq!(query.first("bad"), Some("%zz"));
        assert_eq!(percent_decode("a+b%20c", false), "a+b c");
    }

    #[test]
    fn limits_and_cursors() {
        assert_eq!(parse_limit(None, 10, 100), Ok(10));
        assert_eq!(parse_limit(Some("500"), 10, 100), Ok(100));
        assert!(parse_limit(Some("0"), 10, 100).is_err());
        assert!(parse_limit(Some("-1"), 10, 100).is_err());
        assert!(parse_limit(Some("ten"), 10, 100).is_err());
        assert_eq!(parse_after(Some("20")), Ok(20));
        assert!(parse_after(Some("abc")).is_err());
    }
}
