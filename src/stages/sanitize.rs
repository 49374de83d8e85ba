//! Stage 2, sanitize: one unambiguous reading of the request, or a 400.
//!
//! The path is percent-decoded exactly once into segments; anything that could be read two
//! ways by crmgate and the CRM (encoded `/` or `\`, dot segments, `;` parameters, double
//! encoding, control bytes, empty segments) is rejected. The canonical path built from the
//! segments is both what the route matcher and policy see and what goes upstream. Framing
//! and header tricks (two Hosts, odd Transfer-Encoding, method overrides, `_` in header
//! names) are rejected too. This module never forwards anything.
//!
//! What hyper's HTTP/1 parser folds away before the request reaches crmgate (two identical
//! `Content-Length` lines) is read from the raw bytes by [`wire`] and arrives here as a
//! [`wire::RawFraming`] request extension.

pub mod wire;

use http::request::Parts;
use http::Method;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::RequestError;

/// A request reduced to what crmgate acts on.
#[derive(Debug, Clone)]
pub struct Canonical {
    pub method: Method,
    /// Decoded path segments.
    pub segments: Vec<String>,
    /// The canonical, re-encoded path sent upstream.
    pub path: String,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// The request options the vendor reads from headers ([`Spelling::option_headers`]):
    /// header name (lower case) and value, visible ASCII only.
    pub options: Vec<(String, String)>,
}

/// Characters escaped in a path segment: all but unreserved characters and a few safe
/// sub-delimiters (never `/`, `\`, `;`, `%`, `?`, `#`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@')
    .remove(b':')
    .remove(b'+')
    .remove(b'!');

/// Characters escaped in a query component (`,` stays: vendors list values with it).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b',');

const METHOD_OVERRIDES: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// How a vendor's clients spell what is the same request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spelling {
    /// The query parameters whose values are text of a query language, where an encoded
    /// `%` is a wildcard the client means (`LIKE 'DE%'`), not a second encoding.
    pub query_text: &'static [&'static str],
    /// One trailing `/` names the same path (the vendor's clients send both).
    pub trailing_slash: bool,
    /// Request headers (lower case) whose values are options of the vendor's API that the
    /// profile reads (a query's page size): never forwarded as they are.
    pub option_headers: &'static [&'static str],
}

/// Check the request head and produce its canonical form, as the vendor's clients spell it.
pub fn check(parts: &Parts, spelling: Spelling) -> Result<Canonical, RequestError> {
    let query_text = spelling.query_text;
    let method = match parts.method {
        Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE => {
            parts.method.clone()
        }
        _ => return Err(RequestError::MethodNotAllowed(parts.method.to_string())),
    };
    check_headers(parts)?;
    let raw = parts.uri.path();
    let raw = match raw.strip_suffix('/') {
        // One trailing `/` where the vendor reads it as the same path; never `//`.
        Some(trimmed)
            if spelling.trailing_slash && trimmed.len() > 1 && !trimmed.ends_with('/') =>
        {
            trimmed
        }
        _ => raw,
    };
    let segments = canonical_segments(raw)?;
    let path = encode_path(&segments);
    let query = match parts.uri.query() {
        None => Vec::new(),
        Some(q) => parse_query(q, query_text)?,
    };
    let mut options = Vec::new();
    for name in spelling.option_headers {
        for v in parts.headers.get_all(*name) {
            let v = v
                .to_str()
                .map_err(|_| bad(format!("the `{name}` header is not visible ASCII")))?;
            options.push(((*name).to_string(), v.to_string()));
        }
    }
    Ok(Canonical {
        method,
        segments,
        path,
        query,
        options,
    })
}

/// The canonical path of decoded segments.
pub fn encode_path(segments: &[String]) -> String {
    format!(
        "/{}",
        segments
            .iter()
            .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
            .collect::<Vec<_>>()
            .join("/")
    )
}

impl Canonical {
    /// The same request with other path segments (a path prefix taken off or rewritten):
    /// the canonical path is re-encoded from them.
    pub fn with_segments(self, segments: Vec<String>) -> Canonical {
        Canonical {
            path: encode_path(&segments),
            segments,
            ..self
        }
    }
}

fn bad(msg: impl Into<String>) -> RequestError {
    RequestError::BadRequest(msg.into())
}

/// Framing problems close the connection: after them, the next request's bytes cannot be
/// told apart from this one's.
fn framing(msg: impl Into<String>) -> RequestError {
    RequestError::BadFraming(msg.into())
}

fn check_headers(parts: &Parts) -> Result<(), RequestError> {
    let headers = &parts.headers;
    let hosts = headers.get_all(http::header::HOST).iter().count();
    if hosts > 1 {
        return Err(framing("more than one Host header"));
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    // `Host: h:p@evil.example` names `evil.example` to one reader and `h` to another.
    if host.as_deref().is_some_and(|h| h.contains('@'))
        || parts
            .uri
            .authority()
            .is_some_and(|a| a.as_str().contains('@'))
    {
        return Err(framing("userinfo (`@`) in the host"));
    }
    if let Some(h) = &host {
        if h.parse::<http::uri::Authority>().is_err() {
            return Err(framing("the Host header is not a host and port"));
        }
    }
    match (parts.uri.authority(), &host) {
        (None, None) => return Err(framing("missing Host header")),
        (Some(a), Some(h)) if !a.as_str().eq_ignore_ascii_case(h) => {
            return Err(framing("the request target names another host than Host"))
        }
        _ => {}
    }
    let te: Vec<_> = headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .collect();
    match te.as_slice() {
        [] => {}
        [only] if only.as_bytes() == b"chunked" => {}
        _ => return Err(framing("Transfer-Encoding other than `chunked`")),
    }
    if headers.get_all(http::header::CONTENT_LENGTH).iter().count() > 1 {
        return Err(framing("more than one Content-Length header"));
    }
    // hyper folds identical duplicates into one header; the raw head still shows them.
    if let Some(wire::RawFraming(Some(reason))) = parts.extensions.get::<wire::RawFraming>() {
        return Err(framing(*reason));
    }
    // `010` is ten to hyper, eight to a reader that takes a leading zero for octal.
    if let Some(len) = headers.get(http::header::CONTENT_LENGTH) {
        let v = len.as_bytes();
        let canonical = !v.is_empty()
            && v.iter().all(u8::is_ascii_digit)
            && (v.len() == 1 || v.first() != Some(&b'0'));
        if !canonical {
            return Err(framing(
                "Content-Length is not a plain decimal number (no sign, leading zeros or spaces)",
            ));
        }
    }
    for name in headers.keys() {
        if name.as_str().contains('_') {
            return Err(bad(format!("header name `{name}` contains `_`")));
        }
        if METHOD_OVERRIDES.contains(&name.as_str()) {
            return Err(bad(format!(
                "method override header `{name}` is not accepted"
            )));
        }
    }
    Ok(())
}

/// Split and decode a raw path, rejecting every ambiguous form.
pub fn canonical_segments(raw: &str) -> Result<Vec<String>, RequestError> {
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(bad("the path must start with `/`"));
    };
    for b in raw.bytes() {
        match b {
            b'\\' => return Err(bad("`\\` in the path")),
            b';' => return Err(bad("`;` path parameters are not accepted")),
            b if b.is_ascii_control() || b == b' ' => {
                return Err(bad("control character or space in the path"))
            }
            _ => {}
        }
    }
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut segments = Vec::new();
    for raw_seg in rest.split('/') {
        if raw_seg.is_empty() {
            return Err(bad("empty path segment"));
        }
        check_escapes(raw_seg)?;
        let decoded = percent_decode_str(raw_seg)
            .decode_utf8()
            .map_err(|_| bad("the path is not UTF-8 after decoding"))?;
        if decoded.contains('/') || decoded.contains('\\') {
            return Err(bad("encoded `/` or `\\` in the path"));
        }
        if decoded.chars().any(char::is_control) {
            return Err(bad("encoded control character in the path"));
        }
        if decoded == "." || decoded == ".." {
            return Err(bad("dot segment in the path"));
        }
        if decoded.contains(';') {
            return Err(bad("encoded `;` in the path"));
        }
        segments.push(decoded.into_owned());
    }
    Ok(segments)
}

/// Every `%` must start a valid escape, and `%25` (an encoded `%`) is refused: it is how
/// double encoding smuggles a second decoding step.
fn check_escapes(s: &str) -> Result<(), RequestError> {
    check_escapes_of(s, false)
}

/// [`check_escapes`], with `%25` accepted where `literal_percent` says so.
fn check_escapes_of(s: &str, literal_percent: bool) -> Result<(), RequestError> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = (b.get(i + 1), b.get(i + 2));
            let (Some(h), Some(l)) = hex else {
                return Err(bad("truncated percent escape in the path"));
            };
            if !h.is_ascii_hexdigit() || !l.is_ascii_hexdigit() {
                return Err(bad("invalid percent escape in the path"));
            }
            if *h == b'2' && *l == b'5' && !literal_percent {
                return Err(bad("double percent-encoding in the path"));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn parse_query(q: &str, query_text: &[&str]) -> Result<Vec<(String, String)>, RequestError> {
    for part in q.split('&') {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        // A key is compared as sent: an escaped key never names a query-text parameter.
        let text = query_text.contains(&key);
        check_escapes(key)
            .and_then(|()| check_escapes_of(value, text))
            .map_err(|_| bad("invalid percent escape in the query"))?;
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for (k, _) in &pairs {
        if k == "_method" || METHOD_OVERRIDES.contains(&k.to_ascii_lowercase().as_str()) {
            return Err(bad(format!(
                "method override parameter `{k}` is not accepted"
            )));
        }
    }
    Ok(pairs)
}

/// Encode query pairs for the upstream request.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY),
                utf8_percent_encode(v, QUERY)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_paths_are_rejected() {
        for p in [
            "/crm/v3/objects/contacts/..",
            "/crm/v3/objects/contacts/%2e%2e",
            "/crm/v3/objects/contacts/%2E",
            "/crm/v3/objects/contacts%2f1001",
            "/crm/v3/objects/contacts%2F1001",
            "/crm/v3/objects/contacts%5c1001",
            "/crm/v3/objects/contacts\\1001",
            "/crm/v3/objects/contacts;x=1",
            "/crm/v3/objects/contacts/%3b",
            "/crm/v3/objects/contacts/%252e%252e",
            "/crm/v3/objects/contacts/%00",
            "/crm/v3//objects",
            "/crm/v3/objects/",
            "/crm/v3/objects/%zz",
            "/crm/v3/objects/%e",
        ] {
            assert!(canonical_segments(p).is_err(), "{p} was accepted");
        }
    }

    #[test]
    fn plain_paths_decode_once() {
        assert_eq!(
            canonical_segments("/crm/v3/objects/contacts/santa%40northpole.example").unwrap(),
            vec![
                "crm",
                "v3",
                "objects",
                "contacts",
                "santa@northpole.example"
            ]
        );
    }

    #[test]
    fn query_round_trips_with_commas() {
        let pairs = parse_query("properties=a,b&properties=c%20d&limit=5", &[]).unwrap();
        assert_eq!(pairs[1].1, "c d");
        assert_eq!(
            encode_query(&pairs),
            "properties=a,b&properties=c%20d&limit=5"
        );
        assert!(parse_query("_method=DELETE", &[]).is_err());
    }

    #[test]
    fn an_encoded_percent_is_a_wildcard_only_in_query_text() {
        let q = "q=SELECT+Id+FROM+Contact+WHERE+Email+LIKE+%27a%25%27";
        let pairs = parse_query(q, &["q"]).unwrap();
        assert_eq!(pairs[0].1, "SELECT Id FROM Contact WHERE Email LIKE 'a%'");
        assert!(parse_query(q, &[]).is_err());
        assert!(parse_query("x=%25&q=a", &["q"]).is_err());
        assert!(parse_query("q%25=a", &["q"]).is_err());
    }
}
