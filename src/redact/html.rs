//! HTML as the detector must read it: character references decoded (`Diab&#101;tes`,
//! `&#x63;ancer`, `Dia&shy;betes`, `DE89&nbsp;3704`) and tags removed (`Dia<b></b>betes`), as
//! a CRM that renders a text as HTML would show it — with a map from every decoded byte back
//! to the original bytes it came from, so that a finding replaces the whole original span
//! (entities and tags included).
//!
//! It must never produce what is written: it is a view for matching only. A text without `&`
//! and `<` is not copied.

/// The decoded text and, per byte of it, the original byte range it came from.
pub(crate) struct Decoded {
    pub(crate) text: String,
    pub(crate) origin: Vec<(usize, usize)>,
}

/// Tags longer than this are not read as tags (a `<` in prose stays what it is).
const MAX_TAG: usize = 256;

/// Named references a text is likely to hold; others stay as written.
fn named(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" | "ensp" | "emsp" | "thinsp" => " ",
        "shy" => "\u{ad}",
        "zwj" => "\u{200d}",
        "zwnj" => "\u{200c}",
        "lrm" => "\u{200e}",
        "rlm" => "\u{200f}",
        "auml" => "ä",
        "ouml" => "ö",
        "uuml" => "ü",
        "Auml" => "Ä",
        "Ouml" => "Ö",
        "Uuml" => "Ü",
        "szlig" => "ß",
        "eacute" => "é",
        "egrave" => "è",
        "aacute" => "á",
        "agrave" => "à",
        "iacute" => "í",
        "oacute" => "ó",
        "uacute" => "ú",
        "ccedil" => "ç",
        "ntilde" => "ñ",
        "hyphen" | "dash" | "ndash" | "mdash" | "minus" => "-",
        "period" => ".",
        "sol" => "/",
        "lpar" => "(",
        "rpar" => ")",
        "commat" => "@",
        _ => return None,
    })
}

/// Block-level tags separate words (`Diabetes<br>Mama`); any other tag joins what is
/// around it (`Dia<b></b>betes`).
fn separates(tag: &str) -> bool {
    let name: String = tag
        .trim_start_matches(['<', '/'])
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(
        name.as_str(),
        "br" | "p"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "hr"
            | "blockquote"
            | "section"
    )
}

/// The reference at the start of `rest` (which starts with `&`): what it stands for and
/// its length in bytes.
fn reference(rest: &str) -> Option<(String, usize)> {
    let body = rest.get(1..)?;
    if let Some(num) = body.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 2),
            None => (num, 10, 1),
        };
        let len = digits
            .char_indices()
            .find(|(_, c)| !c.is_digit(radix))
            .map_or(digits.len(), |(i, _)| i);
        if len == 0 || len > 8 {
            return None;
        }
        let value = u32::from_str_radix(digits.get(..len)?, radix).ok()?;
        let c = char::from_u32(value)?;
        let semi = usize::from(digits.get(len..)?.starts_with(';'));
        return Some((c.to_string(), 1 + skip + len + semi));
    }
    let len = body
        .char_indices()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .map_or(body.len(), |(i, _)| i);
    if len == 0 || !body.get(len..)?.starts_with(';') {
        return None;
    }
    let name = body.get(..len)?;
    let value = named(name).map(str::to_string).or_else(|| accented(name))?;
    Some((value, len + 2))
}

/// A letter with an accent by its entity name (`&ocirc;`, `&Eacute;`, `&iuml;`): the letter
/// and the combining mark.
fn accented(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let base = chars.next().filter(char::is_ascii_alphabetic)?;
    let mark = match chars.as_str() {
        "acute" => '\u{301}',
        "grave" => '\u{300}',
        "circ" => '\u{302}',
        "uml" => '\u{308}',
        "tilde" => '\u{303}',
        "ring" => '\u{30a}',
        "cedil" => '\u{327}',
        "caron" => '\u{30c}',
        _ => return None,
    };
    Some([base, mark].iter().collect())
}

/// The tag at the start of `rest` (which starts with `<`): its length, if it is one.
fn tag(rest: &str) -> Option<usize> {
    let after = rest.get(1..)?;
    if after.starts_with("!--") {
        return after
            .find("-->")
            .map(|i| i + 4)
            .filter(|&n| n <= MAX_TAG * 16);
    }
    let name = after.strip_prefix('/').unwrap_or(after);
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let end = rest
        .char_indices()
        .take(MAX_TAG)
        .skip(1)
        .find(|&(_, c)| c == '>' || c == '<')?;
    (end.1 == '>').then_some(end.0 + 1)
}

/// Decode `original`, or `None` when it holds no `&` and no `<` (nothing to decode).
pub(crate) fn decode(original: &str) -> Option<Decoded> {
    if !original.bytes().any(|b| b == b'&' || b == b'<') {
        return None;
    }
    let mut text = String::with_capacity(original.len());
    let mut origin = Vec::with_capacity(original.len());
    let mut i = 0;
    while let Some(rest) = original.get(i..) {
        let Some(c) = rest.chars().next() else { break };
        let (value, len) = match c {
            '&' => reference(rest).unwrap_or_else(|| ("&".to_string(), 1)),
            '<' => match tag(rest) {
                Some(n) => {
                    let t = rest.get(..n).unwrap_or("");
                    let v = if separates(t) { " " } else { "" };
                    (v.to_string(), n)
                }
                None => ("<".to_string(), 1),
            },
            c => {
                let n = c.len_utf8();
                text.push(c);
                origin.extend(std::iter::repeat_n((i, i + n), n));
                i += n;
                continue;
            }
        };
        text.push_str(&value);
        origin.extend(std::iter::repeat_n((i, i + len), value.len()));
        i += len;
    }
    Some(Decoded { text, origin })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn references_and_tags_are_read_as_shown() {
        let d = decode("Diab&#101;tes &#x63;ancer Dia&shy;betes Dia<b></b>betes a&nbsp;b").unwrap();
        assert_eq!(
            d.text, "Diabetes cancer Dia\u{ad}betes Diabetes a b",
            "{:?}",
            d.text
        );
        assert_eq!(d.origin.len(), d.text.len());
    }

    #[test]
    fn accented_letters_by_name_are_read() {
        let d = decode("alc&ocirc;holic").unwrap();
        assert_eq!(d.text, "alco\u{302}holic");
        assert_eq!(d.origin.len(), d.text.len());
    }

    #[test]
    fn prose_with_lt_and_amp_stays_as_written() {
        let d = decode("a < b & c <3 &unknown; AT&T").unwrap();
        assert_eq!(d.text, "a < b & c <3 &unknown; AT&T");
    }

    #[test]
    fn block_tags_separate_words_and_map_back() {
        let t = "Asthma<br/>Mama";
        let d = decode(t).unwrap();
        assert_eq!(d.text, "Asthma Mama");
        assert_eq!(d.origin[6], (6, 11));
        assert!(decode("no markup here").is_none());
    }
}
