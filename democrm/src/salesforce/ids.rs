//! Salesforce ids in the demo: a key prefix, `Dm`, and the HubSpot demo's number
//! zero-padded to ten digits (15 characters), plus Salesforce's three-character
//! case checksum (18 characters). It only computes and reads ids: it must never
//! look at a record.

use super::fields::SObject;

/// The 15-character id of the type's record number `number`.
pub(crate) fn id15(kind: SObject, number: u64) -> String {
    format!("{}Dm{number:010}", kind.key_prefix())
}

/// The 18-character id: the 15 characters and their case checksum (for each
/// five-character chunk, one bit per upper-case letter, read as an index into
/// `A`–`Z0`–`5`).
pub(crate) fn id18(kind: SObject, number: u64) -> String {
    let short = id15(kind, number);
    let suffix = checksum(&short);
    short + &suffix
}

fn checksum(short: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    short
        .as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, byte)| byte.is_ascii_uppercase())
                .fold(0_usize, |bits, (at, _)| bits | (1 << at));
            ALPHABET.get(bits).map_or('A', |&byte| char::from(byte))
        })
        .collect()
}

/// The type and number an id names, from its 15- or 18-character form (the
/// 18-character form's checksum must match, in either case); `None` for
/// anything else.
pub(crate) fn parse(text: &str) -> Option<(SObject, u64)> {
    let short = text.get(..15)?;
    let rest = text.get(15..)?;
    let kind = SObject::of_prefix(short.get(..3)?)?;
    if short.get(3..5)? != "Dm" {
        return None;
    }
    let digits = short.get(5..)?;
    if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let number = digits.parse().ok()?;
    let valid_suffix = rest.is_empty() || rest.eq_ignore_ascii_case(&checksum(short));
    valid_suffix.then_some((kind, number))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_model_and_carry_salesforces_checksum() {
        assert_eq!(id15(SObject::Contact, 1001), "003Dm0000001001");
        assert_eq!(id18(SObject::Contact, 1001), "003Dm0000001001IAA");
        assert_eq!(id18(SObject::Lead, 1042), "00QDm0000001042MAA");
        assert_eq!(id18(SObject::Account, 2001), "001Dm0000002001IAA");
        // Salesforce's own example: 001A0000006Vm9r → 001A0000006Vm9rIAC.
        assert_eq!(checksum("001A0000006Vm9r"), "IAC");
    }

    #[test]
    fn both_forms_parse_and_anything_else_does_not() {
        for text in [
            "003Dm0000001001",
            "003Dm0000001001IAA",
            "003Dm0000001001iaa",
        ] {
            assert_eq!(parse(text), Some((SObject::Contact, 1001)), "{text}");
        }
        for text in [
            "003Dm0000001001IAB",
            "003Dm000000100",
            "003DM0000001001",
            "004Dm0000001001",
            "003Dm00000010x1",
            "1001",
            "",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
