//! The built-in validators identifier rules name (`validator = "iban_mod97"`): checksums and
//! shapes that a pattern alone cannot express. Each takes a candidate from the normalised
//! text and answers how much of it is a valid identifier.
//!
//! A validator never accepts a candidate whose checksum fails (random digit strings must not
//! fire), and never sees or keeps anything but the candidate.

use super::normal::is_word;

/// A built-in validator, by the name a rules file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Validator {
    /// Any candidate the pattern matched.
    None,
    /// IBAN: country, check digits, ISO 13616 mod 97 = 1, the country's length where known.
    IbanMod97,
    /// Payment card: 13–19 digits, issuer prefix 2–6, Luhn.
    CardLuhn,
    /// German tax id (Steuer-IdNr): 11 digits, digit-repetition rule, ISO 7064 MOD 11,10.
    DeTaxId,
    /// German ID card (Personalausweis): 9 characters of its alphabet, a check digit (7-3-1)
    /// when written.
    DeIdCard,
    /// German passport: `C` + 8 characters of its alphabet, a check digit when written.
    DePassport,
    /// Phone number: 8–15 digits, international or national prefix.
    Phone,
    /// E-mail address: a local part, one `@` (or `at`), a domain with a dot.
    Email,
}

impl Validator {
    pub(crate) const NAMES: &'static [&'static str] = &[
        "none",
        "iban_mod97",
        "card_luhn",
        "de_tax_id",
        "de_id_card",
        "de_passport",
        "phone",
        "email",
    ];

    pub(crate) fn by_name(name: &str) -> Option<Validator> {
        Some(match name {
            "none" => Validator::None,
            "iban_mod97" => Validator::IbanMod97,
            "card_luhn" => Validator::CardLuhn,
            "de_tax_id" => Validator::DeTaxId,
            "de_id_card" => Validator::DeIdCard,
            "de_passport" => Validator::DePassport,
            "phone" => Validator::Phone,
            "email" => Validator::Email,
            _ => return None,
        })
    }

    /// The byte length of the longest valid identifier the candidate starts with, if any. A
    /// shorter identifier must end where the candidate has a separator (or ends), never in
    /// the middle of a run of letters and digits.
    pub(crate) fn accept(self, candidate: &str) -> Option<usize> {
        match self {
            Validator::None | Validator::Email => Some(candidate.len()),
            Validator::IbanMod97 => iban(candidate),
            Validator::CardLuhn => card(candidate),
            Validator::DeTaxId => tax_id(candidate),
            Validator::DeIdCard => id_document(candidate, false),
            Validator::DePassport => id_document(candidate, true),
            Validator::Phone => phone(candidate),
        }
    }
}

/// The letters and digits of a candidate with the byte offset after each.
fn alnums(candidate: &str) -> Vec<(char, usize)> {
    candidate
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphanumeric())
        .map(|(i, c)| (c, i + c.len_utf8()))
        .collect()
}

/// Whether the candidate may end after byte `end`: at its end or before a separator.
fn may_end(candidate: &str, end: usize) -> bool {
    !candidate
        .get(end..)
        .and_then(|r| r.chars().next())
        .is_some_and(is_word)
}

/// ISO 13616 lengths of the countries most seen here; other countries take any length the
/// checksum allows (15–34).
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "de" => 22,
        "at" => 20,
        "ch" | "li" => 21,
        "fr" | "mc" | "it" | "sm" => 27,
        "nl" => 18,
        "be" => 16,
        "lu" => 20,
        "gb" | "ie" => 22,
        "es" | "se" | "sk" | "cz" => 24,
        "dk" | "fi" | "fo" | "gl" => 18,
        "no" => 15,
        "pl" | "hu" => 28,
        "pt" => 25,
        "gr" => 27,
        _ => return None,
    })
}

fn iban(candidate: &str) -> Option<usize> {
    let chars = alnums(candidate);
    let country: String = chars.iter().take(2).map(|(c, _)| *c).collect();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let lengths: Vec<usize> = match iban_length(&country) {
        Some(n) => vec![n],
        None => (15..=34).rev().collect(),
    };
    for n in lengths {
        let Some(&(_, end)) = chars.get(n.checked_sub(1)?) else {
            continue;
        };
        if !may_end(candidate, end) {
            continue;
        }
        let body: Vec<char> = chars.iter().take(n).map(|(c, _)| *c).collect();
        if body
            .get(2..4)
            .is_some_and(|d| d.iter().all(char::is_ascii_digit))
            && mod97(&body) == 1
        {
            return Some(end);
        }
    }
    None
}

/// The IBAN's remainder: the first four characters moved to the end, letters as 10..35.
fn mod97(iban: &[char]) -> u32 {
    let (head, tail) = iban.split_at(4.min(iban.len()));
    let mut rem: u32 = 0;
    for c in tail.iter().chain(head) {
        let Some(v) = c.to_digit(36) else { return 0 };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem
}

fn digits(candidate: &str) -> Vec<(u32, usize)> {
    candidate
        .char_indices()
        .filter_map(|(i, c)| c.to_digit(10).map(|d| (d, i + 1)))
        .collect()
}

fn card(candidate: &str) -> Option<usize> {
    if !candidate.is_ascii() {
        return None;
    }
    let ds = digits(candidate);
    for n in (13..=19.min(ds.len())).rev() {
        let Some(&(_, end)) = ds.get(n - 1) else {
            continue;
        };
        if !may_end(candidate, end) {
            continue;
        }
        let number: Vec<u32> = ds.iter().take(n).map(|(d, _)| *d).collect();
        if matches!(number.first(), Some(2..=6)) && luhn(&number) {
            return Some(end);
        }
    }
    None
}

pub(crate) fn luhn(number: &[u32]) -> bool {
    let sum: u32 = number
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn tax_id(candidate: &str) -> Option<usize> {
    let ds = digits(candidate);
    let &(_, end) = ds.get(10)?;
    if ds.len() != 11 || !may_end(candidate, end) {
        return None;
    }
    let d: Vec<u32> = ds.iter().map(|(d, _)| *d).collect();
    let first10 = d.get(..10)?;
    if first10.first() == Some(&0) {
        return None;
    }
    // Exactly one digit occurs twice or three times among the first ten; a digit occurring
    // three times never does so three in a row.
    let mut counts = [0u8; 10];
    for &x in first10 {
        if let Some(c) = counts.get_mut(x as usize) {
            *c += 1;
        }
    }
    let repeated: Vec<usize> = (0..10)
        .filter(|&i| counts.get(i).is_some_and(|&c| c > 1))
        .collect();
    let [r] = repeated.as_slice() else {
        return None;
    };
    match counts.get(*r) {
        Some(2) => {}
        Some(3) => {
            if first10
                .windows(3)
                .any(|w| w.iter().all(|&x| x as usize == *r))
            {
                return None;
            }
        }
        _ => return None,
    }
    (iso7064_mod11_10(first10) == *d.get(10)?).then_some(end)
}

/// ISO 7064 MOD 11,10 check digit.
pub(crate) fn iso7064_mod11_10(digits: &[u32]) -> u32 {
    let mut product = 10;
    for &d in digits {
        let mut sum = (d + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = 11 - product;
    if check == 10 {
        0
    } else {
        check
    }
}

/// The alphabet of German ID card and passport serial numbers (no vowels, no B, D, Q, S).
fn id_alphabet(c: char) -> bool {
    matches!(
        c,
        'c' | 'f'
            | 'g'
            | 'h'
            | 'j'
            | 'k'
            | 'l'
            | 'm'
            | 'n'
            | 'p'
            | 'r'
            | 't'
            | 'v'
            | 'w'
            | 'x'
            | 'y'
            | 'z'
    ) || c.is_ascii_digit()
}

/// ICAO 9303 check digit: weights 7, 3, 1, letters as 10..35.
pub(crate) fn check_731(chars: &[char]) -> Option<u32> {
    let mut sum = 0;
    for (i, c) in chars.iter().enumerate() {
        let v = c.to_digit(36)?;
        let w = [7, 3, 1].get(i % 3).copied().unwrap_or(1);
        sum += v * w;
    }
    Some(sum % 10)
}

fn id_document(candidate: &str, passport: bool) -> Option<usize> {
    let chars = alnums(candidate);
    let serial: Vec<char> = chars.iter().take(9).map(|(c, _)| *c).collect();
    if serial.len() != 9 || !serial.iter().all(|&c| id_alphabet(c)) {
        return None;
    }
    // A serial starts with a letter and holds digits: a word of nine consonants is none.
    if !serial.first().is_some_and(char::is_ascii_alphabetic)
        || !serial.iter().any(char::is_ascii_digit)
    {
        return None;
    }
    if passport && serial.first() != Some(&'c') {
        return None;
    }
    match chars.get(9) {
        None => chars.get(8).map(|(_, e)| *e),
        Some((c, end)) if chars.len() == 10 => {
            (c.to_digit(10)? == check_731(&serial)?).then_some(*end)
        }
        Some(_) => None,
    }
}

fn phone(candidate: &str) -> Option<usize> {
    let ds = digits(candidate);
    let &(_, end) = ds.last()?;
    let n = ds.len();
    let international = candidate.starts_with('+') || candidate.starts_with("00");
    // A national number, or one with its area code in parentheses: `(415) 555-0134`.
    let national = candidate.starts_with('0') || candidate.starts_with('(');
    if !(8..=15).contains(&n) || !(international || national) {
        return None;
    }
    Some(end)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn iban_accepts_valid_and_spaced_and_trims_trailing_words() {
        let v = Validator::IbanMod97;
        assert_eq!(v.accept("de89370400440532013000"), Some(22));
        assert_eq!(v.accept("de89 3704 0044 0532 0130 00"), Some(27));
        assert_eq!(v.accept("de89 3704 0044 0532 0130 00 bitte"), Some(27));
        assert_eq!(v.accept("gb82 west 1234 5698 7654 32"), Some(27));
    }

    #[test]
    fn iban_rejects_a_wrong_check_digit() {
        assert_eq!(Validator::IbanMod97.accept("de88370400440532013000"), None);
        assert_eq!(Validator::IbanMod97.accept("de89370400440532013001"), None);
    }

    #[test]
    fn luhn_cards_pass_and_wrong_ones_do_not() {
        let v = Validator::CardLuhn;
        assert_eq!(v.accept("4111111111111111"), Some(16));
        assert_eq!(v.accept("4111-1111-1111-1111"), Some(19));
        assert_eq!(v.accept("4111111111111112"), None);
        // Luhn-valid but no issuer starts with 0.
        assert_eq!(v.accept("0000000000000000"), None);
    }

    #[test]
    fn tax_id_checks_repetition_and_iso7064() {
        // 86095742719 is the published example Steuer-IdNr.
        assert_eq!(Validator::DeTaxId.accept("86095742719"), Some(11));
        assert_eq!(Validator::DeTaxId.accept("86095742718"), None);
        // All digits distinct: not a tax id.
        assert_eq!(Validator::DeTaxId.accept("12345678903"), None);
    }

    #[test]
    fn id_card_check_digit_is_731() {
        // The specimen card's serial T22000129 has check digit 3 (T is not in the alphabet
        // of new serials, so use a serial of ours).
        let serial: Vec<char> = "l01x00t47".chars().collect();
        let c = check_731(&serial).unwrap();
        let with = format!("l01x00t47{c}");
        assert_eq!(Validator::DeIdCard.accept(&with), Some(10));
        let wrong = format!("l01x00t47{}", (c + 1) % 10);
        assert_eq!(Validator::DeIdCard.accept(&wrong), None);
        assert_eq!(Validator::DeIdCard.accept("l01x00t47"), Some(9));
        assert_eq!(Validator::DeIdCard.accept("rhythmvll"), None);
    }

    #[test]
    fn phone_needs_a_prefix_and_enough_digits() {
        assert!(Validator::Phone.accept("+49 30 1234567").is_some());
        assert!(Validator::Phone.accept("0171 2345678").is_some());
        assert!(Validator::Phone.accept("12345678").is_none());
        assert!(Validator::Phone.accept("0171").is_none());
    }
}
