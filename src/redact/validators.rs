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
    /// German passport: `C`, `F`, `G`, `H`, `J` or `K` + 8 characters of its alphabet, a
    /// check digit when written.
    DePassport,
    /// Phone number: 8–15 digits, international or national prefix.
    Phone,
    /// German pension insurance number (Rentenversicherungs-/Sozialversicherungsnummer):
    /// area, date of birth, initial, serial and a check digit.
    DePension,
    /// US social security number: area, group, serial, none of them all zeros, no area
    /// 666 or 9xx.
    UsSsn,
    /// US individual taxpayer identification number (ITIN): nine digits, the first 9, the
    /// fourth and fifth 50–65, 70–88, 90–92 or 94–99.
    UsItin,
    /// Austrian social insurance number (SVNR): a serial of three digits, a check digit
    /// (weights 3 7 9 · 5 8 4 2 1 6 mod 11, never 10), the birth date DDMMYY.
    AtSvnr,
    /// Swiss social insurance number (AHV-Nr.): `756` and ten digits, an EAN-13 check digit.
    ChAhv,
    /// Spanish national identity number (DNI, NIE): eight digits (or X/Y/Z and seven) and the
    /// letter of their value mod 23.
    EsDni,
    /// UK National Insurance number: two letters of the allowed prefixes, six digits, a
    /// suffix A–D.
    UkNino,
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
        "de_pension",
        "us_ssn",
        "us_itin",
        "at_svnr",
        "ch_ahv",
        "es_dni",
        "uk_nino",
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
            "de_pension" => Validator::DePension,
            "us_ssn" => Validator::UsSsn,
            "us_itin" => Validator::UsItin,
            "at_svnr" => Validator::AtSvnr,
            "ch_ahv" => Validator::ChAhv,
            "es_dni" => Validator::EsDni,
            "uk_nino" => Validator::UkNino,
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
            Validator::DePension => de_pension(candidate),
            Validator::UsSsn => us_ssn(candidate),
            Validator::UsItin => us_itin(candidate),
            Validator::AtSvnr => at_svnr(candidate),
            Validator::ChAhv => ch_ahv(candidate),
            Validator::EsDni => es_dni(candidate),
            Validator::UkNino => uk_nino(candidate),
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
        if valid_iban(&body) {
            return Some(end);
        }
        // Letters that look like digits (O for 0, l or I for 1) where the checksum
        // confirms them.
        let fixed: Vec<char> = body
            .iter()
            .enumerate()
            .map(|(i, &c)| if i < 2 { c } else { digitish(c).unwrap_or(c) })
            .collect();
        if fixed != body && valid_iban(&fixed) {
            return Some(end);
        }
    }
    None
}

fn valid_iban(body: &[char]) -> bool {
    body.get(2..4)
        .is_some_and(|d| d.iter().all(char::is_ascii_digit))
        && mod97(body) == 1
}

/// The digit a letter is written for, in identifiers typed by hand: O for 0, l and I for 1.
fn digitish(c: char) -> Option<char> {
    match c {
        'o' => Some('0'),
        'l' | 'i' => Some('1'),
        _ => None,
    }
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
    // Digits, and letters typed for digits (O, l, I) where the Luhn check confirms them;
    // at most two of those.
    let ds: Vec<(u32, usize)> = candidate
        .char_indices()
        .filter_map(|(i, c)| {
            c.to_digit(10)
                .or_else(|| digitish(c).and_then(|d| d.to_digit(10)))
                .map(|d| (d, i + 1))
        })
        .collect();
    let letters = candidate.chars().filter(|&c| digitish(c).is_some()).count();
    if letters > 2 {
        return None;
    }
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
    // A serial starts with a letter and holds digits: a word of nine consonants is none,
    // unless its check digit is written and confirms it.
    let checked = chars.len() == 10;
    if !serial.first().is_some_and(char::is_ascii_alphabetic)
        || !(checked || serial.iter().any(char::is_ascii_digit))
    {
        return None;
    }
    // Passport series letters: C, F, G, H, J, K. (ID cards are written with any; where a
    // number near both words passes both, the passport reading wins.)
    if passport && !serial.first().is_some_and(|c| "cfghjk".contains(*c)) {
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

/// The letters and digits of a candidate, lower case, without separators, and the byte
/// offset after the last one.
fn compact(candidate: &str) -> (String, usize) {
    let chars = alnums(candidate);
    let end = chars.last().map_or(0, |(_, e)| *e);
    (
        chars.iter().map(|(c, _)| c.to_ascii_lowercase()).collect(),
        end,
    )
}

/// German pension insurance number: `12 150780 M 01 5` — area (2 digits), date of birth
/// (DDMMYY), the birth name's initial, serial (2 digits), check digit: the initial as its
/// alphabet position (01–26), weights 2 1 2 5 7 1 2 1 2 1 2 1, digit sums, mod 10.
fn de_pension(candidate: &str) -> Option<usize> {
    let (c, end) = compact(candidate);
    let chars: Vec<char> = c.chars().collect();
    if chars.len() != 12 || !may_end(candidate, end) {
        return None;
    }
    let letter = *chars.get(8)?;
    if !letter.is_ascii_lowercase() {
        return None;
    }
    let mut ds: Vec<u32> = Vec::with_capacity(13);
    for (i, ch) in chars.iter().enumerate() {
        if i == 8 {
            let pos = u32::from(letter as u8 - b'a' + 1);
            ds.push(pos / 10);
            ds.push(pos % 10);
        } else {
            ds.push(ch.to_digit(10)?);
        }
    }
    let day = ds.get(2)? * 10 + ds.get(3)?;
    let month = ds.get(4)? * 10 + ds.get(5)?;
    // Day 01–31 (+50 for a second number given on the same birth date), month 01–12.
    if !((1..=31).contains(&day) || (51..=81).contains(&day)) || !(1..=12).contains(&month) {
        return None;
    }
    let weights = [2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1];
    let sum: u32 = ds
        .iter()
        .zip(weights)
        .map(|(d, w)| {
            let p = d * w;
            p / 10 + p % 10
        })
        .sum();
    (sum % 10 == *ds.get(12)?).then_some(end)
}

/// US social security number: `123-45-6789` or nine digits.
fn us_ssn(candidate: &str) -> Option<usize> {
    let ds = digits(candidate);
    let &(_, end) = ds.get(8)?;
    if ds.len() != 9 || !may_end(candidate, end) {
        return None;
    }
    let d: Vec<u32> = ds.iter().map(|(d, _)| *d).collect();
    let num = |r: std::ops::Range<usize>| d.get(r).map(|x| x.iter().fold(0, |a, b| a * 10 + b));
    let (area, group, serial) = (num(0..3)?, num(3..5)?, num(5..9)?);
    (area != 0 && area != 666 && area < 900 && group != 0 && serial != 0).then_some(end)
}

/// US ITIN: `9xx-7x-xxxx`, nine digits.
fn us_itin(candidate: &str) -> Option<usize> {
    let ds = digits(candidate);
    let &(_, end) = ds.get(8)?;
    if ds.len() != 9 || !may_end(candidate, end) {
        return None;
    }
    let d: Vec<u32> = ds.iter().map(|(d, _)| *d).collect();
    let group = d.get(3)? * 10 + d.get(4)?;
    let group_ok = matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99);
    (*d.first()? == 9 && group_ok).then_some(end)
}

/// The digits of a candidate that must be all of it, `n` of them, ending where it may end.
fn exactly(candidate: &str, n: usize) -> Option<(Vec<u32>, usize)> {
    let ds = digits(candidate);
    let &(_, end) = ds.last()?;
    (ds.len() == n && may_end(candidate, end)).then(|| (ds.iter().map(|(d, _)| *d).collect(), end))
}

/// Austrian SVNR: `1237 010180`.
fn at_svnr(candidate: &str) -> Option<usize> {
    let (d, end) = exactly(candidate, 10)?;
    let weights = [3, 7, 9, 0, 5, 8, 4, 2, 1, 6];
    let sum: u32 = d.iter().zip(weights).map(|(d, w)| d * w).sum();
    let day = d.get(4)? * 10 + d.get(5)?;
    let month = d.get(6)? * 10 + d.get(7)?;
    // Day 01–31 and month 01–12 (13–15 for numbers given without a known birth date).
    let date_ok = (1..=31).contains(&day) && (1..=15).contains(&month);
    (*d.first()? != 0 && date_ok && sum % 11 == *d.get(3)?).then_some(end)
}

/// Swiss AHV number: `756.1234.5678.97`.
fn ch_ahv(candidate: &str) -> Option<usize> {
    let (d, end) = exactly(candidate, 13)?;
    if d.get(..3)? != [7, 5, 6] {
        return None;
    }
    let sum: u32 = d
        .iter()
        .take(12)
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 })
        .sum();
    ((10 - sum % 10) % 10 == *d.get(12)?).then_some(end)
}

/// Spanish DNI `12345678Z` or NIE `X1234567L`.
fn es_dni(candidate: &str) -> Option<usize> {
    const LETTERS: &[u8] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let (c, end) = compact(candidate);
    let chars: Vec<char> = c.chars().collect();
    if chars.len() != 9 || !may_end(candidate, end) {
        return None;
    }
    let mut value: u32 = match chars.first()? {
        'x' => 0,
        'y' => 1,
        'z' => 2,
        d => d.to_digit(10)?,
    };
    for ch in chars.get(1..8)? {
        value = value * 10 + ch.to_digit(10)?;
    }
    let want = *LETTERS.get(usize::try_from(value % 23).ok()?)?;
    (chars.get(8)?.to_ascii_uppercase() == char::from(want)).then_some(end)
}

/// UK National Insurance number: `AB 12 34 56 C`.
fn uk_nino(candidate: &str) -> Option<usize> {
    let (c, end) = compact(candidate);
    let chars: Vec<char> = c.chars().collect();
    if chars.len() != 9 || !may_end(candidate, end) {
        return None;
    }
    let (a, b) = (*chars.first()?, *chars.get(1)?);
    let digits_ok = chars.get(2..8)?.iter().all(char::is_ascii_digit);
    let suffix_ok = matches!(chars.get(8), Some('a'..='d'));
    // HMRC never issues D, F, I, Q, U, V there, but people copy its specimen `QQ 12 34 56 C`
    // and mistype letters: a number of this shape is held as one whatever its letters.
    let first_ok = a.is_ascii_lowercase();
    let second_ok = b.is_ascii_lowercase();
    let prefix: String = [a, b].iter().collect();
    let banned = ["bg", "gb", "nk", "kn", "tn", "nt", "zz"].contains(&prefix.as_str());
    (digits_ok && suffix_ok && first_ok && second_ok && !banned).then_some(end)
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
    fn lookalike_letters_count_as_digits_where_the_checksum_confirms() {
        assert_eq!(
            Validator::IbanMod97.accept("de89 37o4 oo44 o532 o13o oo"),
            Some(27)
        );
        assert_eq!(
            Validator::IbanMod97.accept("de89 37o4 oo44 o532 o13o o1"),
            None
        );
        assert_eq!(Validator::CardLuhn.accept("4lll 1111 1111 1111"), None);
        assert_eq!(Validator::CardLuhn.accept("4l11 1111 1111 1111"), Some(19));
        assert_eq!(Validator::CardLuhn.accept("4l11 1111 1111 1112"), None);
    }

    #[test]
    fn social_security_numbers_de_us_uk() {
        // 65 170839 J 00 3: a published example of a German pension insurance number.
        assert_eq!(Validator::DePension.accept("65 170839 j 00 3"), Some(16));
        assert_eq!(Validator::DePension.accept("65 170839 j 00 4"), None);
        assert_eq!(Validator::UsSsn.accept("123-45-6789"), Some(11));
        assert_eq!(Validator::UsSsn.accept("666-45-6789"), None);
        assert_eq!(Validator::UsSsn.accept("123-00-6789"), None);
        assert_eq!(Validator::UkNino.accept("qq 12 34 56 c"), Some(13));
        assert_eq!(Validator::UkNino.accept("ab123456c"), Some(9));
        assert_eq!(Validator::UkNino.accept("gb123456c"), None);
        assert_eq!(Validator::UkNino.accept("ab123456e"), None);
        assert_eq!(Validator::UsItin.accept("927-71-9429"), Some(11));
        assert_eq!(Validator::UsItin.accept("927-69-9429"), None);
        assert_eq!(Validator::UsItin.accept("827-71-9429"), None);
        // 1237 010180: the published example of an Austrian SVNR.
        assert_eq!(Validator::AtSvnr.accept("1237 010180"), Some(11));
        assert_eq!(Validator::AtSvnr.accept("1238 010180"), None);
        // 756.9217.0769.85: the published example of a Swiss AHV number.
        assert_eq!(Validator::ChAhv.accept("756.9217.0769.85"), Some(16));
        assert_eq!(Validator::ChAhv.accept("756.9217.0769.84"), None);
        assert_eq!(Validator::EsDni.accept("12345678z"), Some(9));
        assert_eq!(Validator::EsDni.accept("12345678a"), None);
        assert_eq!(Validator::EsDni.accept("x1234567l"), Some(9));
    }

    #[test]
    fn phone_needs_a_prefix_and_enough_digits() {
        assert!(Validator::Phone.accept("+49 30 1234567").is_some());
        assert!(Validator::Phone.accept("0171 2345678").is_some());
        assert!(Validator::Phone.accept("12345678").is_none());
        assert!(Validator::Phone.accept("0171").is_none());
    }
}
