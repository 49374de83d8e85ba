//! Salesforce record ids: 15 characters, case-sensitive, or 18 — the 15 and a three-character
//! suffix that encodes their case, so that the id survives case-insensitive systems. crmgate
//! turns every id it is given into the 18-character form, and audits and compares that.
//! It must never accept a string that is not an id of either form (a malformed id is an id
//! the CRM lacks), nor guess the case of one.

/// The suffix's alphabet: a 5-bit mask of upper-case positions per 5-character chunk.
const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The 18-character form of a 15- or 18-character id; `None` for anything else (wrong
/// length, not alphanumeric, or an 18-character id whose suffix does not match its case).
pub fn to_18(id: &str) -> Option<String> {
    let b = id.as_bytes();
    if !(b.len() == 15 || b.len() == 18) || !b.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let head = id.get(..15)?;
    let mut out = String::with_capacity(18);
    out.push_str(head);
    for chunk in head.as_bytes().chunks(5) {
        let mut flags = 0usize;
        for (i, c) in chunk.iter().enumerate() {
            if c.is_ascii_uppercase() {
                flags |= 1 << i;
            }
        }
        out.push(char::from(*SUFFIX.get(flags)?));
    }
    if b.len() == 18 && !id.eq_ignore_ascii_case(&out) {
        return None;
    }
    Some(out)
}
