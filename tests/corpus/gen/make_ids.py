#!/usr/bin/env python3
"""Synthetic identifiers for the redaction-dev2 / redaction-heldout2 corpora, and a validator.

    python3 make_ids.py demo            # print a few valid and invalid identifiers
    python3 make_ids.py check FILE...   # validate corpus files (JSON, spans, ids, checksums)

Rules: IBAN mod 97 (ISO 13616); card Luhn with Visa/Mastercard/Amex prefixes and lengths;
German Steuer-ID (digit-frequency rules + ISO 7064 MOD 11,10); German Personalausweis /
Reisepass document number check digit (ICAO 9303, weights 7-3-1); US SSN (area not 000/666/9xx,
group not 00, serial not 0000); US ITIN (9xx, group 50-65/70-88/90-92/94-99); UK NINO prefix
and suffix rules; German Rentenversicherungsnummer (weights 2-1-2-5-7-1-2-1-2-1-2-1, digit sums).
"""
import html, json, random, re, sys, unicodedata

# ---------------------------------------------------------------- IBAN
IBAN_LEN = {"DE": 22, "AT": 20, "CH": 21, "NL": 18, "GB": 22, "FR": 27, "ES": 24, "BE": 16,
            "IT": 27, "PL": 28, "LI": 21, "LU": 20, "IE": 22, "DK": 18}

def _num(s):
    return int("".join(str(int(c, 36)) for c in s))

def iban_valid(s):
    s = re.sub(r"\s", "", s).upper()
    if len(s) < 15 or s[:2] not in IBAN_LEN or len(s) != IBAN_LEN[s[:2]]:
        return False
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", s):
        return False
    return _num(s[4:] + s[:4]) % 97 == 1

def make_iban(cc, bban):
    chk = 98 - _num(bban + cc + "00") % 97
    return f"{cc}{chk:02d}{bban}"

def group4(s):
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))

def rand_bban(rng, cc):
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))
    L = lambda n: "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))
    return {"DE": lambda: d(18), "AT": lambda: d(16), "CH": lambda: d(17),
            "NL": lambda: L(4) + d(10), "GB": lambda: L(4) + d(14), "FR": lambda: d(23),
            "ES": lambda: d(20), "BE": lambda: d(12), "IT": lambda: L(1) + d(22),
            "PL": lambda: d(24), "LU": lambda: d(16), "IE": lambda: L(4) + d(14),
            "DK": lambda: d(14)}[cc]()

def rand_iban(rng, cc="DE"):
    return make_iban(cc, rand_bban(rng, cc))

def bad_iban(rng, cc="DE"):
    s = rand_iban(rng, cc)
    chk = (int(s[2:4]) + rng.randint(1, 40)) % 97 + 2
    t = f"{cc}{chk:02d}{s[4:]}"
    return t if not iban_valid(t) else bad_iban(rng, cc)

# ---------------------------------------------------------------- Luhn
def luhn_ok(num):
    ds = [int(c) for c in num][::-1]
    t = 0
    for i, d in enumerate(ds):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        t += d
    return t % 10 == 0

def card_valid(num):
    num = re.sub(r"\D", "", num)
    if not luhn_ok(num):
        return False
    if num[0] == "4":
        return len(num) in (13, 16, 19)
    if num[:2] in ("51", "52", "53", "54", "55") or 2221 <= int(num[:4]) <= 2720:
        return len(num) == 16
    if num[:2] in ("34", "37"):
        return len(num) == 15
    return luhn_ok(num) and 12 <= len(num) <= 19

def make_card(rng, kind="visa"):
    pre, n = {"visa": ("4", 16), "mc": (rng.choice(["51", "52", "53", "54", "55"]), 16),
              "amex": (rng.choice(["34", "37"]), 15)}[kind]
    body = pre + "".join(rng.choice("0123456789") for _ in range(n - len(pre) - 1))
    for c in "0123456789":
        if luhn_ok(body + c):
            return body + c

def bad_card(rng, kind="visa"):
    c = make_card(rng, kind)
    last = (int(c[-1]) + rng.randint(1, 9)) % 10
    return c[:-1] + str(last)

def fmt_card(c, sep=" "):
    if len(c) == 15:
        return sep.join([c[:4], c[4:10], c[10:]])
    return sep.join(c[i:i + 4] for i in range(0, len(c), 4))

# ---------------------------------------------------------------- Steuer-ID
def steuer_check(ten):
    product = 10
    for c in ten:
        s = (int(c) + product) % 10
        if s == 0:
            s = 10
        product = (s * 2) % 11
    chk = 11 - product
    return 0 if chk == 10 else chk

def steuer_digits_ok(ten):
    if ten[0] == "0":
        return False
    counts = {d: ten.count(d) for d in set(ten)}
    multi = [d for d, n in counts.items() if n > 1]
    if len(multi) != 1 or counts[multi[0]] not in (2, 3):
        return False
    d = multi[0]
    if counts[d] == 3 and d * 3 in ten:
        return False
    return True

def steuer_valid(s):
    s = re.sub(r"\D", "", s)
    return len(s) == 11 and steuer_digits_ok(s[:10]) and steuer_check(s[:10]) == int(s[10])

def make_steuer(rng):
    while True:
        digits = rng.sample("0123456789", 9)
        dup = rng.choice(digits)
        ten = digits + [dup]
        rng.shuffle(ten)
        ten = "".join(ten)
        if steuer_digits_ok(ten):
            return ten + str(steuer_check(ten))

def bad_steuer(rng):
    s = make_steuer(rng)
    return s[:10] + str((int(s[10]) + rng.randint(1, 9)) % 10)

def fmt_steuer(s):
    return f"{s[:2]} {s[2:5]} {s[5:8]} {s[8:]}"

# ---------------------------------------------------------------- Personalausweis / Reisepass
DOC_ALPHA = "0123456789CFGHJKLMNPRTVWXYZ"

def mrz_check(s):
    w = (7, 3, 1)
    t = 0
    for i, c in enumerate(s):
        v = int(c) if c.isdigit() else ord(c) - 55
        t += v * w[i % 3]
    return t % 10

def make_doc(rng, kind="id"):
    first = rng.choice("LMNPRTVWXY") if kind == "id" else rng.choice("CFGHJK")
    body = first + "".join(rng.choice(DOC_ALPHA) for _ in range(8))
    return body + str(mrz_check(body))

def doc_valid(s):
    s = s.upper()
    return (len(s) == 10 and all(c in DOC_ALPHA for c in s[:9]) and s[0] not in "0123456789"
            and mrz_check(s[:9]) == int(s[9]))

def bad_doc(rng, kind="id"):
    s = make_doc(rng, kind)
    return s[:9] + str((int(s[9]) + rng.randint(1, 9)) % 10)

# ---------------------------------------------------------------- SSN / ITIN / NINO / RVNR
def ssn_valid(s):
    m = re.fullmatch(r"(\d{3})-?\s?(\d{2})-?\s?(\d{4})", s.strip())
    if not m:
        return False
    a, g, n = m.groups()
    return a not in ("000", "666") and a[0] != "9" and g != "00" and n != "0000"

def make_ssn(rng):
    while True:
        a = rng.randint(1, 899)
        if a != 666:
            return f"{a:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"

def itin_valid(s):
    m = re.fullmatch(r"9(\d{2})-?\s?(\d{2})-?\s?(\d{4})", s.strip())
    if not m:
        return False
    g = int(m.group(2))
    return 50 <= g <= 65 or 70 <= g <= 88 or 90 <= g <= 92 or 94 <= g <= 99

def make_itin(rng):
    g = rng.choice(list(range(70, 89)))
    return f"9{rng.randint(0, 99):02d}-{g}-{rng.randint(1, 9999):04d}"

NINO_BAD1, NINO_BAD2 = set("DFIQUV"), set("DFIQUVO")
NINO_BAD_PREFIX = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}

def nino_valid(s):
    s = re.sub(r"\s", "", s).upper()
    m = re.fullmatch(r"([A-Z])([A-Z])(\d{6})([A-D])", s)
    if not m:
        return False
    a, b = m.group(1), m.group(2)
    return a not in NINO_BAD1 and b not in NINO_BAD2 and a + b not in NINO_BAD_PREFIX

def make_nino(rng):
    while True:
        a = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
        b = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        if a + b not in NINO_BAD_PREFIX:
            d = "".join(rng.choice("0123456789") for _ in range(6))
            return f"{a}{b} {d[:2]} {d[2:4]} {d[4:]} {rng.choice('ABCD')}"

RV_W = (2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1)

def rv_check(first11):
    digits = first11[:8] + f"{ord(first11[8].upper()) - 64:02d}" + first11[9:11]
    t = 0
    for d, w in zip(digits, RV_W):
        p = int(d) * w
        t += p // 10 + p % 10
    return t % 10

def rv_valid(s):
    s = re.sub(r"\s", "", s).upper()
    if not re.fullmatch(r"\d{8}[A-Z]\d{3}", s):
        return False
    dd, mm = int(s[2:4]), int(s[4:6])
    return 1 <= (dd % 50 if dd > 31 else dd) <= 31 and 1 <= mm <= 12 and rv_check(s[:11]) == int(s[11])

def make_rv(rng, initial=None):
    area = rng.choice(["02", "03", "04", "08", "09", "10", "12", "13", "15", "16", "17", "18",
                       "19", "20", "21", "23", "24", "25", "26", "28", "29", "38", "39", "42",
                       "53", "65"])
    dob = f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(40, 99):02d}"
    letter = initial or rng.choice("ABDFGHKLMNRSTW")
    serial = f"{rng.randint(0, 49):02d}"
    first = area + dob + letter + serial
    return first + str(rv_check(first))

def fmt_rv(s):
    return f"{s[:2]} {s[2:8]} {s[8]} {s[9:]}"

def social_valid(s):
    return ssn_valid(s) or nino_valid(s) or rv_valid(s)

# ---------------------------------------------------------------- decoding evasions
COMBINING = re.compile(r"[\u0300-\u036f]")

def decode(span):
    s = span.replace("&shy;", "").replace("&nbsp;", " ")
    s = re.sub(r"<[^>]*>", "", s)
    s = html.unescape(s)
    s = s.replace("\u00ad", "").replace("\u00a0", " ").replace("\u200b", "")
    s = unicodedata.normalize("NFD", s)
    s = COMBINING.sub("", s)
    return unicodedata.normalize("NFC", s)

WORDNUM = {"null": "0", "zero": "0", "oh": "0", "eins": "1", "one": "1", "zwei": "2",
           "zwo": "2", "two": "2", "drei": "3", "three": "3", "vier": "4", "four": "4",
           "fünf": "5", "five": "5", "sechs": "6", "six": "6", "sieben": "7", "seven": "7",
           "acht": "8", "eight": "8", "neun": "9", "nine": "9"}

def id_chars(span, letters_to_digits=False):
    s = decode(span)
    if letters_to_digits:
        s = re.sub(r"(?<=\d)[Oo]|[Oo](?=\d)", "0", s)
        s = re.sub(r"(?<=\d)[lI](?=\d)", "1", s)
    return re.sub(r"[^0-9A-Za-z]", "", s)

def ident_ok(cat, span):
    """True if a positive span of an identifier category passes its checksum/format."""
    if cat == "iban":
        raw = id_chars(span).upper()
        if iban_valid(raw):
            return True
        # letter O written for digit 0: undo it where the format has digits
        # (check digits and BBAN; GB/IE/NL bank codes at 4:8 are letters)
        keep = 8 if raw[:2] in ("GB", "IE", "NL") else 4
        fixed = raw[:2] + raw[2:4].replace("O", "0") + raw[4:keep] + raw[keep:].replace("O", "0")
        return iban_valid(fixed)
    if cat == "card":
        d = re.sub(r"\D", "", decode(span).replace("O", "0"))
        m = re.search(r"\d{13,19}", re.sub(r"(?i)(cvc|cvv|csc|prüfziffer|sicherheitscode|kartenprüfnummer).*", "", decode(span)).replace(" ", "").replace("-", "").replace("/", "").replace(".", ""))
        if m:
            return card_valid(m.group(0))
        return bool(re.fullmatch(r"\d{3,4}", d))  # a CVC on its own
    if cat == "tax_id":
        raw = id_chars(span)
        return steuer_valid(raw) or itin_valid(re.sub(r"\D", "", raw)[:3] + "-" + re.sub(r"\D", "", raw)[3:5] + "-" + re.sub(r"\D", "", raw)[5:]) if raw.isdigit() else False
    if cat == "social_security":
        raw = id_chars(span)
        if raw.isdigit() and len(raw) == 9:
            return ssn_valid(f"{raw[:3]}-{raw[3:5]}-{raw[5:]}")
        return nino_valid(raw) or rv_valid(raw)
    if cat in ("id_card",):
        raw = id_chars(span).upper()
        if len(raw) == 10 and raw[0] in "LMNPRTVWXY":
            return doc_valid(raw)
        if len(raw) == 9 and raw[0] in "LMNPRTVWXY":   # as printed, no check digit
            return all(c in DOC_ALPHA for c in raw)
        return None  # other countries' ids: no public checksum
    if cat == "passport":
        raw = id_chars(span).upper()
        if len(raw) == 10 and raw[0] in "CFGHJK":
            return doc_valid(raw)
        if len(raw) == 9 and raw[0] in "CFGHJK":
            return all(c in DOC_ALPHA for c in raw)
        return None  # UK/US passport: 9 digits, no public checksum
    return None

def negative_lookalikes_fail(text):
    """Identifier-like numbers in a negative text must fail their checksum."""
    bad = []
    for m in re.finditer(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b", text):
        if iban_valid(m.group(0)):
            bad.append(("iban", m.group(0)))
    for m in re.finditer(r"(?<![\d.,])\d(?:[ -]?\d){12,18}(?![\d.,])", text):
        d = re.sub(r"\D", "", m.group(0))
        if card_valid(d) and d[0] in "2345":
            bad.append(("card", m.group(0)))
        if len(d) == 11 and steuer_valid(d):
            bad.append(("tax_id", m.group(0)))
    for m in re.finditer(r"(?<![\d.,/-])\d{2} ?\d{3} ?\d{3} ?\d{3}(?![\d.,/-])", text):
        if steuer_valid(m.group(0)):
            bad.append(("tax_id", m.group(0)))
    for m in re.finditer(r"\b\d{3}-\d{2}-\d{4}\b", text):
        if ssn_valid(m.group(0)):
            bad.append(("ssn", m.group(0)))
    for m in re.finditer(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", text):
        if nino_valid(m.group(0)):
            bad.append(("nino", m.group(0)))
    for m in re.finditer(r"\b\d{2} ?\d{6} ?[A-Z] ?\d{3}\b", text):
        if rv_valid(m.group(0)):
            bad.append(("rvnr", m.group(0)))
    for m in re.finditer(r"\b[CFGHJKLMNPRTVWXY][0-9CFGHJKLMNPRTVWXYZ]{8}\d\b", text):
        if any(ch.isdigit() for ch in m.group(0)[:9]) and doc_valid(m.group(0)):
            bad.append(("doc", m.group(0)))
    return bad

# ---------------------------------------------------------------- corpus check
CATS = ["health", "religion", "ethnic_origin", "political_opinion", "trade_union", "sex_life",
        "genetic", "biometric", "iban", "card", "tax_id", "social_security", "id_card",
        "passport", "phone", "email"]

def check(path):
    errors, rows, ids = [], [], set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
            except Exception as e:
                errors.append(f"{path}:{n}: bad JSON {e}")
                continue
            rows.append(r)
            if set(r) != {"id", "lang", "kind", "text", "expect", "keep"}:
                errors.append(f"{r.get('id')}: keys {sorted(r)}")
            if r["id"] in ids:
                errors.append(f"{r['id']}: duplicate id")
            ids.add(r["id"])
            if r["lang"] not in ("de", "en") or r["kind"] not in ("positive", "negative", "evasion"):
                errors.append(f"{r['id']}: lang/kind")
            if r["kind"] == "negative" and r["expect"]:
                errors.append(f"{r['id']}: negative with expect")
            if r["kind"] != "negative" and not r["expect"]:
                errors.append(f"{r['id']}: {r['kind']} without expect")
            for e in r["expect"]:
                if e["category"] not in CATS:
                    errors.append(f"{r['id']}: category {e['category']}")
                if e["span"] not in r["text"]:
                    errors.append(f"{r['id']}: span not in text: {e['span']!r}")
                ok = ident_ok(e["category"], e["span"])
                if ok is False:
                    errors.append(f"{r['id']}: {e['category']} checksum fails: {e['span']!r}")
            spans = [e["span"] for e in r["expect"]]
            for k in r["keep"]:
                if k not in r["text"]:
                    errors.append(f"{r['id']}: keep not in text: {k!r}")
                for s in spans:
                    # a keep must not overlap a span at its first occurrence
                    ks, ss = r["text"].find(k), r["text"].find(s)
                    if ks < ss + len(s) and ss < ks + len(k):
                        errors.append(f"{r['id']}: keep {k!r} overlaps span {s!r}")
            if r["kind"] == "negative":
                for b in negative_lookalikes_fail(r["text"]):
                    errors.append(f"{r['id']}: negative contains valid {b}")
    return rows, errors

def report(rows):
    from collections import Counter
    kinds = Counter((r["lang"], r["kind"]) for r in rows)
    cats = Counter((r["lang"], e["category"]) for r in rows for e in r["expect"])
    ev = Counter((r["lang"], e["category"]) for r in rows if r["kind"] == "evasion" for e in r["expect"])
    keeps = Counter(r["lang"] for r in rows for _ in r["keep"])
    print(f"texts: {len(rows)}")
    for lang in ("de", "en"):
        print(f"  {lang}: " + ", ".join(f"{k} {kinds[(lang, k)]}" for k in ("positive", "negative", "evasion"))
              + f"; keep spans {keeps[lang]}")
    print(f"  {'category':18} {'de':>4} {'en':>4}   evasion de/en")
    for c in CATS:
        print(f"  {c:18} {cats[('de', c)]:>4} {cats[('en', c)]:>4}   {ev[('de', c)]}/{ev[('en', c)]}")
    print(f"  spans: de {sum(v for (l, _), v in cats.items() if l == 'de')}, en {sum(v for (l, _), v in cats.items() if l == 'en')}")

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "check":
        bad = 0
        for p in sys.argv[2:]:
            rows, errs = check(p)
            print(f"== {p}")
            report(rows)
            for e in errs:
                print("ERROR", e)
            print(f"  errors: {len(errs)}")
            bad += len(errs)
        sys.exit(1 if bad else 0)
    rng = random.Random(2)
    print("iban", group4(rand_iban(rng)), "bad", group4(bad_iban(rng)))
    print("card", fmt_card(make_card(rng)), "bad", fmt_card(bad_card(rng)))
    print("steuer", fmt_steuer(make_steuer(rng)), "bad", bad_steuer(rng))
    print("id", make_doc(rng), "pass", make_doc(rng, "pass"), "bad", bad_doc(rng))
    print("ssn", make_ssn(rng), "itin", make_itin(rng), "nino", make_nino(rng), "rv", fmt_rv(make_rv(rng)))
