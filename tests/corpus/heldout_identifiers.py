#!/usr/bin/env python3
"""Synthetic identifiers for the held-out redaction corpus (redaction-heldout.jsonl).

Usage:
  python3 tests/corpus/heldout_identifiers.py generate   # print a fresh, seeded pool
  python3 tests/corpus/heldout_identifiers.py check      # validate the corpus file

`generate` prints checksum-valid identifiers from a fixed seed; the corpus texts use
values from that pool (some written with spaces, dashes, slashes, entities or tags).
`check` reads the corpus and
  * verifies that every `span` and `keep` entry is a substring of its text,
  * verifies that every expected span of a checksum category is valid once its
    encoding is undone (HTML entities, tags, soft hyphens, separators, letter O read
    as digit 0),
  * verifies that identifier-like numbers in `negative` texts fail their checksum
    (order numbers, tracking numbers, invoice numbers: lookalikes that must be kept).

Rules implemented (all identifiers are synthetic, none belongs to a person):
  iban             ISO 13616: country code, two check digits, BBAN of the country's
                   length; valid when the rearranged number (letters A=10..Z=35) mod 97
                   is 1. Lengths: DE 22, AT 20, CH 21, NL 18, FR 27, GB 22, ES 24,
                   IT 27, PL 28, BE 16.
  card             Luhn (ISO/IEC 7812-1) over 15 or 16 digits; Visa 4..., Mastercard
                   51-55 / 2221-2720, Amex 34/37 (15 digits). A CVC is 3 digits (4 Amex).
  tax_id           German Steuerliche Identifikationsnummer: 11 digits, first digit not 0;
                   in the first ten digits exactly one digit occurs twice or three times
                   (three times never in three adjacent positions), every other digit at
                   most once; check digit per ISO 7064 MOD 11,10.
  id_card          German Personalausweis (since Nov 2010): nine characters from
                   C F G H J K L M N P R T V W X Y Z and 0-9, first one a letter from
                   L M N P R T V W X Y, then the MRZ check digit (weights 7,3,1; digits
                   as values, letters A=10..Z=35; sum mod 10). Written with the check
                   digit (ten characters) or, as printed on the card's front, without.
  passport         German Reisepass: nine characters, first one of C F G H J K, rest from
                   the same alphabet as above, MRZ check digit 7,3,1 appended; US and UK
                   passport numbers: nine digits (no public checksum).
  social_security  US SSN: area 001-899 except 666, group 01-99, serial 0001-9999.
                   UK National Insurance number: two prefix letters (first not D F I Q U V,
                   second not D F I O Q U V, not BG GB KN NK NT TN ZZ), six digits, suffix
                   A-D. German Versicherungsnummer (Rentenversicherung): two-digit area
                   number of a pension insurer, birth date DDMMYY, first letter of the
                   birth name, two-digit serial (00-49 male, 50-99 female), check digit:
                   the letter becomes its two-digit position (A=01..Z=26), the twelve
                   digits are weighted 2,1,2,5,7,1,2,1,2,1,2,1, the digit sums of the
                   products are added, mod 10.
  phone, email     no checksum; phone numbers are from fictional/drama ranges where one
                   exists (UK 07700 900xxx, US 555-01xx), emails use example domains or
                   invented ones.
"""

import html
import json
import random
import re
import sys
from pathlib import Path

CORPUS = Path(__file__).with_name("redaction-heldout.jsonl")

# ---------------------------------------------------------------- IBAN

IBAN_LEN = {"DE": 22, "AT": 20, "CH": 21, "NL": 18, "FR": 27, "GB": 22, "ES": 24,
            "IT": 27, "PL": 28, "BE": 16}


def _iban_num(s):
    return int("".join(str(int(c, 36)) for c in s))


def iban_valid(s):
    s = re.sub(r"\s", "", s).upper()
    if len(s) < 4 or s[:2] not in IBAN_LEN or len(s) != IBAN_LEN[s[:2]]:
        return False
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", s):
        return False
    return _iban_num(s[4:] + s[:4]) % 97 == 1


def iban_make(country, bban):
    check = 98 - _iban_num(bban + country + "00") % 97
    return f"{country}{check:02d}{bban}"


def iban_random(rng, country):
    n = IBAN_LEN[country] - 4
    if country == "NL":
        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + \
            "".join(rng.choice("0123456789") for _ in range(10))
    elif country == "GB":
        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + \
            "".join(rng.choice("0123456789") for _ in range(14))
    else:
        bban = "".join(rng.choice("0123456789") for _ in range(n))
    return iban_make(country, bban)


def grouped(s, n=4):
    return " ".join(s[i:i + n] for i in range(0, len(s), n))

# ---------------------------------------------------------------- cards


def luhn_valid(digits):
    if not digits.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(prefix_digits):
    for c in "0123456789":
        if luhn_valid(prefix_digits + c):
            return prefix_digits + c
    raise AssertionError


def card_valid(digits):
    if not luhn_valid(digits):
        return False
    if digits[0] == "4" and len(digits) in (13, 16, 19):
        return True
    if len(digits) == 16 and (51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720):
        return True
    if len(digits) == 15 and digits[:2] in ("34", "37"):
        return True
    return False


def card_random(rng, brand):
    if brand == "visa":
        p, n = "4", 16
    elif brand == "mc":
        p, n = rng.choice(["51", "52", "53", "54", "55", "2223", "2511"]), 16
    else:
        p, n = rng.choice(["34", "37"]), 15
    body = p + "".join(rng.choice("0123456789") for _ in range(n - len(p) - 1))
    return luhn_complete(body)

# ---------------------------------------------------------------- Steuer-ID


def steuer_check(first10):
    product = 10
    for c in first10:
        s = (int(c) + product) % 10
        if s == 0:
            s = 10
        product = (s * 2) % 11
    check = 11 - product
    return 0 if check == 10 else check


def steuer_digits_ok(first10):
    if first10[0] == "0":
        return False
    counts = {d: first10.count(d) for d in set(first10)}
    multi = [d for d, k in counts.items() if k > 1]
    if len(multi) != 1 or counts[multi[0]] not in (2, 3):
        return False
    d = multi[0]
    if counts[d] == 3 and d * 3 in first10:
        return False
    return True


def steuer_valid(s):
    s = re.sub(r"[\s/.-]", "", s)
    if not re.fullmatch(r"[0-9]{11}", s):
        return False
    return steuer_digits_ok(s[:10]) and steuer_check(s[:10]) == int(s[10])


def steuer_random(rng):
    while True:
        digits = rng.sample("0123456789", 9)
        dup = rng.choice(digits)
        first10 = digits + [dup]
        rng.shuffle(first10)
        first10 = "".join(first10)
        if steuer_digits_ok(first10):
            return first10 + str(steuer_check(first10))

# ---------------------------------------------------------------- ID card / passport

DOC_ALPHABET = "CFGHJKLMNPRTVWXYZ0123456789"


def mrz_check(s):
    weights = [7, 3, 1]
    total = 0
    for i, c in enumerate(s):
        v = int(c) if c.isdigit() else ord(c) - ord("A") + 10
        total += v * weights[i % 3]
    return total % 10


def id_card_valid(s):
    s = s.upper()
    if not re.fullmatch(r"[LMNPRTVWXY][CFGHJKLMNPRTVWXYZ0-9]{8}[0-9]?", s):
        return False
    return len(s) == 9 or mrz_check(s[:9]) == int(s[9])


def id_card_random(rng):
    s = rng.choice("LMNPRTVWXY") + "".join(rng.choice(DOC_ALPHABET) for _ in range(8))
    return s + str(mrz_check(s))


def de_passport_valid(s):
    s = s.upper()
    if not re.fullmatch(r"[CFGHJK][CFGHJKLMNPRTVWXYZ0-9]{8}[0-9]?", s):
        return False
    return len(s) == 9 or mrz_check(s[:9]) == int(s[9])


def de_passport_random(rng):
    s = rng.choice("CFGHJK") + "".join(rng.choice(DOC_ALPHABET) for _ in range(8))
    return s + str(mrz_check(s))

# ---------------------------------------------------------------- social security


def ssn_valid(s):
    m = re.fullmatch(r"([0-9]{3})[- ]?([0-9]{2})[- ]?([0-9]{4})", s)
    if not m:
        return False
    a, g, n = m.groups()
    return a != "000" and a != "666" and a[0] != "9" and g != "00" and n != "0000"


def ssn_random(rng):
    while True:
        a = rng.randint(1, 899)
        if a != 666:
            return f"{a:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


NINO_BAD_FIRST = set("DFIQUV")
NINO_BAD_SECOND = set("DFIOQUV")
NINO_BAD_PAIRS = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def nino_valid(s):
    s = re.sub(r"\s", "", s).upper()
    m = re.fullmatch(r"([A-Z])([A-Z])([0-9]{6})([A-D])", s)
    if not m:
        return False
    a, b = m.group(1), m.group(2)
    return a not in NINO_BAD_FIRST and b not in NINO_BAD_SECOND and a + b not in NINO_BAD_PAIRS


def nino_random(rng):
    while True:
        a = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
        b = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        if a + b in NINO_BAD_PAIRS:
            continue
        d = "".join(rng.choice("0123456789") for _ in range(6))
        return f"{a}{b} {d[0:2]} {d[2:4]} {d[4:6]} {rng.choice('ABCD')}"


SVNR_AREAS = ["12", "13", "15", "17", "18", "23", "24", "25", "26", "28", "29", "38",
              "39", "40", "42", "43", "44", "45", "46", "47", "48", "49", "50", "51",
              "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63",
              "64", "65", "66", "67", "68", "69", "70", "71", "72", "73", "74", "75",
              "76", "77", "78", "79", "80", "81", "82", "89"]


def svnr_check(area, birth, letter, serial):
    digits = area + birth + f"{ord(letter) - ord('A') + 1:02d}" + serial
    weights = [2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1]
    total = 0
    for d, w in zip(digits, weights):
        p = int(d) * w
        total += p // 10 + p % 10
    return total % 10


def svnr_valid(s):
    s = re.sub(r"\s", "", s).upper()
    m = re.fullmatch(r"([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([A-Z])([0-9]{2})([0-9])", s)
    if not m:
        return False
    area, dd, mm, yy, letter, serial, check = m.groups()
    if area not in SVNR_AREAS or not (1 <= int(dd) <= 31) or not (1 <= int(mm) <= 12):
        return False
    return svnr_check(area, dd + mm + yy, letter, serial) == int(check)


def svnr_random(rng):
    area = rng.choice(SVNR_AREAS)
    birth = f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(40, 99):02d}"
    letter = rng.choice("ABDEFGHKLMNPRSTW")
    serial = f"{rng.randint(0, 99):02d}"
    return f"{area}{birth}{letter}{serial}{svnr_check(area, birth, letter, serial)}"


def social_valid(s):
    return ssn_valid(s) or nino_valid(s) or svnr_valid(s)

# ---------------------------------------------------------------- decoding


def decode(span):
    """Undo the evasions used in the corpus: entities, tags, soft hyphens, zero widths."""
    s = re.sub(r"<[^>]*>", "", span)
    s = html.unescape(s)
    s = s.replace("\u00ad", "").replace("\u200b", "").replace("\u00a0", " ")
    return s


def normalize_number(span, keep_letters=True):
    s = decode(span)
    s = re.sub(r"[\s/.\-–_]", "", s)
    return s


def o_as_zero_variants(s):
    """Letter O read as digit 0 where a digit is due (after the country code)."""
    if len(s) > 2:
        return [s, s[:2] + s[2:].replace("O", "0").replace("o", "0")]
    return [s]


VALIDATORS = {
    "iban": lambda s: any(iban_valid(v) for v in o_as_zero_variants(normalize_number(s))),
    "card": lambda s: card_valid(normalize_number(s)[:16]) or card_valid(normalize_number(s)[:15])
    or card_valid(re.sub(r"\D", "", normalize_number(s))),
    "tax_id": lambda s: steuer_valid(re.sub(r"\D", "", decode(s))),
    "id_card": lambda s: id_card_valid(normalize_number(s)),
    "passport": lambda s: de_passport_valid(normalize_number(s))
    or bool(re.fullmatch(r"[0-9]{9}", normalize_number(s))),
    "social_security": lambda s: social_valid(decode(s))
    or social_valid(re.sub(r"[\s.\-/]", "", decode(s))),
}


def card_in(span):
    """A card span may carry its CVC or expiry: validate the leading card number."""
    digits = re.sub(r"\D", "", decode(span))
    if re.fullmatch(r"[0-9]{3,4}", digits):
        return True  # a CVC labelled on its own, next to its card number
    for n in (16, 15):
        if card_valid(digits[:n]):
            return True
    return False


VALIDATORS["card"] = card_in


def check():
    problems = []
    ids = set()
    lines = [l for l in CORPUS.read_text(encoding="utf-8").splitlines() if l.strip()]
    for i, line in enumerate(lines, 1):
        c = json.loads(line)
        cid = c["id"]
        if cid in ids:
            problems.append(f"{cid}: id twice")
        ids.add(cid)
        if set(c) != {"id", "lang", "kind", "text", "expect", "keep"}:
            problems.append(f"{cid}: keys {sorted(c)}")
        if c["kind"] == "negative" and c["expect"]:
            problems.append(f"{cid}: negative with expected spans")
        if c["kind"] != "negative" and not c["expect"]:
            problems.append(f"{cid}: {c['kind']} without expected spans")
        for x in c["expect"]:
            if x["span"] not in c["text"]:
                problems.append(f"{cid}: span `{x['span']}` not in text")
            v = VALIDATORS.get(x["category"])
            if v and not v(x["span"]):
                problems.append(f"{cid}: {x['category']} `{x['span']}` fails its checksum")
        for k in c["keep"]:
            if k not in c["text"]:
                problems.append(f"{cid}: keep `{k}` not in text")
            for x in c["expect"]:
                s = c["text"].find(x["span"])
                ks = c["text"].find(k)
                if s < ks + len(k) and ks < s + len(x["span"]):
                    problems.append(f"{cid}: keep `{k}` overlaps span `{x['span']}`")
        if c["kind"] == "negative":
            t = decode(c["text"])
            for m in re.finditer(r"\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b", t):
                if iban_valid(m.group(0)):
                    problems.append(f"{cid}: negative holds a valid IBAN {m.group(0)}")
            for m in re.finditer(r"\b[0-9](?:[ \-./]?[0-9]){12,18}\b", t):
                d = re.sub(r"\D", "", m.group(0))
                for n in (15, 16):
                    for s in range(0, len(d) - n + 1):
                        if card_valid(d[s:s + n]):
                            problems.append(f"{cid}: negative holds a valid card {d[s:s + n]}")
            for m in re.finditer(r"\b[0-9](?:[ ]?[0-9]){10}\b", t):
                if steuer_valid(m.group(0)):
                    problems.append(f"{cid}: negative holds a valid Steuer-ID {m.group(0)}")
            for m in re.finditer(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b", t):
                if ssn_valid(m.group(0)):
                    problems.append(f"{cid}: negative holds a valid-looking SSN {m.group(0)}")
            for m in re.finditer(r"\b[0-9]{8}[A-Z][0-9]{3}\b", t):
                if svnr_valid(m.group(0)):
                    problems.append(f"{cid}: negative holds a valid SVNR {m.group(0)}")
    for p in problems:
        print(p)
    print(f"{len(lines)} texts checked, {len(problems)} problems")
    return 1 if problems else 0


def generate():
    rng = random.Random(20261207)
    for country in ["DE"] * 10 + ["AT", "CH", "NL", "FR", "GB", "ES", "IT", "PL", "BE"]:
        s = iban_random(rng, country)
        print("iban", s, "|", grouped(s))
    for brand in ["visa"] * 6 + ["mc"] * 5 + ["amex"] * 3:
        print("card", brand, card_random(rng, brand))
    for _ in range(10):
        print("tax_id", steuer_random(rng))
    for _ in range(8):
        print("id_card", id_card_random(rng))
    for _ in range(6):
        print("passport_de", de_passport_random(rng))
    for _ in range(6):
        print("ssn", ssn_random(rng))
    for _ in range(6):
        print("nino", nino_random(rng))
    for _ in range(8):
        print("svnr", svnr_random(rng))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "check":
        sys.exit(check())
    generate()
