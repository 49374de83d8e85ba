"""Synthetic identifiers for the third redaction corpora (dev3 / heldout3).

Generates checksum-valid identifiers (and look-alikes that fail) and validates them.
Written independently for corpus3; every value is synthetic.
"""
import random
import re
import html
import unicodedata

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# ---------------------------------------------------------------- IBAN
def iban_check(cc, bban):
    s = bban + cc + "00"
    n = int("".join(str(ALNUM.index(c)) for c in s))
    return "%02d" % (98 - n % 97)


def iban_valid(s):
    s = s.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", s):
        return False
    lengths = {"DE": 22, "AT": 20, "CH": 21, "GB": 22, "FR": 27, "NL": 18, "BE": 16, "IE": 22,
               "LU": 20, "LI": 21}
    if s[:2] in lengths and len(s) != lengths[s[:2]]:
        return False
    r = s[4:] + s[:4]
    n = int("".join(str(ALNUM.index(c)) for c in r))
    return n % 97 == 1


def rib_key(bank, guichet, compte):
    conv = {}
    for i, c in enumerate("ABCDEFGHI"):
        conv[c] = str(i + 1)
    for i, c in enumerate("JKLMNOPQR"):
        conv[c] = str(i + 1)
    for i, c in enumerate("STUVWXYZ"):
        conv[c] = str(i + 2)
    compte = "".join(conv.get(c, c) for c in compte)
    return "%02d" % (97 - ((89 * int(bank) + 15 * int(guichet) + 3 * int(compte)) % 97))


def gen_iban(rng, cc):
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))
    up = lambda n: "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))
    if cc == "DE":
        bban = rng.choice(["1", "2", "3", "5", "6", "7"]) + d(7) + d(10)
    elif cc == "AT":
        bban = rng.choice(["1", "2", "3", "4", "6"]) + d(4) + d(11)
    elif cc == "CH":
        bban = "00" + d(3) + d(12)
    elif cc == "LI":
        bban = "0" + d(4) + d(12)
    elif cc == "GB":
        bban = rng.choice(["NWBK", "BARC", "LOYD", "MIDL", "HBUK"]) + d(6) + d(8)
    elif cc == "IE":
        bban = rng.choice(["AIBK", "BOFI"]) + d(6) + d(8)
    elif cc == "NL":
        bban = rng.choice(["ABNA", "INGB", "RABO", "TRIO"]) + d(10)
    elif cc == "FR":
        bank, gui, acc = "3" + d(4), d(5), d(11)
        bban = bank + gui + acc + rib_key(bank, gui, acc)
    elif cc == "BE":
        first = d(10)
        k = int(first) % 97 or 97
        bban = first + "%02d" % k
    elif cc == "LU":
        bban = d(3) + d(13)
    else:
        raise ValueError(cc)
    return cc + iban_check(cc, bban) + bban


def bad_iban(rng, cc):
    s = gen_iban(rng, cc)
    k = int(s[2:4])
    k2 = (k + rng.randint(1, 9)) % 97
    if k2 < 2:
        k2 += 3
    return s[:2] + "%02d" % k2 + s[4:]


def group4(s, sep=" "):
    return sep.join(s[i:i + 4] for i in range(0, len(s), 4))


# ---------------------------------------------------------------- cards
def luhn_ok(s):
    digits = [int(c) for c in s]
    tot = 0
    for i, dg in enumerate(reversed(digits)):
        if i % 2 == 1:
            dg *= 2
            if dg > 9:
                dg -= 9
        tot += dg
    return tot % 10 == 0


def luhn_complete(prefix_body):
    for c in "0123456789":
        if luhn_ok(prefix_body + c):
            return prefix_body + c


def gen_card(rng, brand):
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))
    if brand == "visa":
        return luhn_complete("4" + d(14))
    if brand == "mc":
        return luhn_complete(rng.choice(["51", "52", "53", "54", "55"]) + d(13))
    if brand == "mc2":
        return luhn_complete(str(rng.randint(2221, 2720)) + d(11))
    if brand == "amex":
        return luhn_complete(rng.choice(["34", "37"]) + d(12))
    if brand == "maestro":
        return luhn_complete(rng.choice(["6759", "5018", "6304", "5020"]) + d(14))
    if brand == "maestro19":
        return luhn_complete(rng.choice(["6759", "5018", "6763"]) + d(14))
    if brand == "discover":
        return luhn_complete("6011" + d(11))
    raise ValueError(brand)


def card_brand_ok(s):
    n = len(s)
    if s[0] == "4":
        return n in (13, 16, 19)
    if s[:2] in ("51", "52", "53", "54", "55") or 2221 <= int(s[:4]) <= 2720:
        return n == 16
    if s[:2] in ("34", "37"):
        return n == 15
    if s[:2] in ("50", "56", "57", "58") or s[0] == "6":
        return 12 <= n <= 19
    return False


def bad_card(rng, brand):
    s = gen_card(rng, brand)
    last = (int(s[-1]) + rng.randint(1, 9)) % 10
    return s[:-1] + str(last)


def fmt_card(s, sep=" "):
    if len(s) == 15:
        return sep.join([s[:4], s[4:10], s[10:]])
    return sep.join(s[i:i + 4] for i in range(0, len(s), 4))


# ---------------------------------------------------------------- German Steuer-ID
def stid_check(first10):
    product = 10
    for c in first10:
        s = (int(c) + product) % 10
        if s == 0:
            s = 10
        product = (s * 2) % 11
    chk = 11 - product
    return 0 if chk == 10 else chk


def stid_structure_ok(first10):
    if first10[0] == "0":
        return False
    counts = {c: first10.count(c) for c in set(first10)}
    multi = [c for c, k in counts.items() if k > 1]
    if len(multi) != 1 or counts[multi[0]] not in (2, 3):
        return False
    c = multi[0]
    if c * 3 in first10:
        return False
    return True


def stid_valid(s):
    s = re.sub(r"\s", "", s)
    return (len(s) == 11 and s.isdigit() and stid_structure_ok(s[:10])
            and stid_check(s[:10]) == int(s[10]))


def gen_stid(rng):
    while True:
        digits = rng.sample("0123456789", 9)
        if digits[0] == "0":
            continue
        dup = rng.choice(digits[1:])
        pos = rng.randint(1, 9)
        first10 = "".join(digits[:pos] + [dup] + digits[pos:])
        if stid_structure_ok(first10):
            return first10 + str(stid_check(first10))


def bad_stid(rng):
    s = gen_stid(rng)
    return s[:10] + str((int(s[10]) + rng.randint(1, 9)) % 10)


def fmt_stid(s, sep=" "):
    return sep.join([s[:2], s[2:5], s[5:8], s[8:]])


# ---------------------------------------------------------------- social security
RV_AREAS = [12, 13, 15, 16, 17, 18, 19, 23, 24, 25, 26, 28, 29, 38, 39, 40, 42, 43, 44, 45, 46,
            47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67,
            68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 89]


def rvnr_check(first11):
    """first11: 2 area + 6 date + letter + 2 serial."""
    letter = "%02d" % (ord(first11[8].upper()) - 64)
    digs = first11[:8] + letter + first11[9:11]
    w = [2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1]
    tot = 0
    for dg, wt in zip(digs, w):
        p = int(dg) * wt
        tot += p // 10 + p % 10
    return tot % 10


def rvnr_valid(s):
    s = re.sub(r"\s", "", s).upper()
    if not re.fullmatch(r"\d{8}[A-Z]\d{3}", s):
        return False
    if int(s[:2]) not in RV_AREAS:
        return False
    dd, mm = int(s[2:4]), int(s[4:6])
    if not (1 <= dd <= 31 and 1 <= mm <= 12):
        return False
    return rvnr_check(s[:11]) == int(s[11])


def gen_rvnr(rng, letter=None, female=None):
    area = "%02d" % rng.choice(RV_AREAS)
    date = "%02d%02d%02d" % (rng.randint(1, 28), rng.randint(1, 12), rng.randint(40, 99))
    letter = letter or rng.choice("ABDEFGHKLMNPRSTWZ")
    if female is None:
        female = rng.random() < 0.5
    serial = "%02d" % (rng.randint(50, 99) if female else rng.randint(0, 49))
    first = area + date + letter + serial
    return first + str(rvnr_check(first))


def bad_rvnr(rng):
    s = gen_rvnr(rng)
    return s[:11] + str((int(s[11]) + rng.randint(1, 9)) % 10)


def fmt_rvnr(s):
    return "%s %s %s %s" % (s[:2], s[2:8], s[8], s[9:])


def ssn_valid(s):
    m = re.fullmatch(r"(\d{3})[- ]?(\d{2})[- ]?(\d{4})", s.strip())
    if not m:
        return False
    a, g, n = m.groups()
    if a in ("000", "666") or a[0] == "9" or g == "00" or n == "0000":
        return False
    if a + g + n in ("078051120", "219099999", "123456789"):
        return False
    return True


def gen_ssn(rng):
    while True:
        a = "%03d" % rng.randint(1, 899)
        s = "%s-%02d-%04d" % (a, rng.randint(1, 99), rng.randint(1, 9999))
        if ssn_valid(s):
            return s


NINO_BAD_PREFIX = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def nino_valid(s):
    s = re.sub(r"\s", "", s).upper()
    m = re.fullmatch(r"([A-Z])([A-Z])(\d{6})([A-D])", s)
    if not m:
        return False
    a, b = m.group(1), m.group(2)
    if a in "DFIQUV" or b in "DFIOQUV" or a + b in NINO_BAD_PREFIX:
        return False
    return True


def gen_nino(rng):
    while True:
        a = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
        b = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        if a + b in NINO_BAD_PREFIX:
            continue
        d = "%06d" % rng.randint(0, 999999)
        s = "%s%s %s %s %s %s" % (a, b, d[:2], d[2:4], d[4:], rng.choice("ABCD"))
        return s


def svnr_at_check(s10):
    w = [3, 7, 9, 0, 5, 8, 4, 2, 1, 6]
    return sum(int(c) * wt for c, wt in zip(s10, w)) % 11


def svnr_at_valid(s):
    s = re.sub(r"\s", "", s)
    if not re.fullmatch(r"\d{10}", s) or s[0] == "0":
        return False
    c = svnr_at_check(s)
    return c != 10 and c == int(s[3])


def gen_svnr_at(rng):
    while True:
        serial = "%03d" % rng.randint(100, 999)
        date = "%02d%02d%02d" % (rng.randint(1, 28), rng.randint(1, 12), rng.randint(40, 99))
        s = serial + "0" + date
        c = svnr_at_check(s)
        if c == 10:
            continue
        return serial + str(c) + " " + date


def ean13_check(first12):
    tot = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(first12))
    return (10 - tot % 10) % 10


def ahv_valid(s):
    s = re.sub(r"[.\s]", "", s)
    return bool(re.fullmatch(r"756\d{10}", s)) and ean13_check(s[:12]) == int(s[12])


def gen_ahv(rng):
    body = "756" + "%09d" % rng.randint(0, 999999999)
    s = body + str(ean13_check(body))
    return "%s.%s.%s.%s" % (s[:3], s[3:7], s[7:11], s[11:])


def bad_ahv(rng):
    s = gen_ahv(rng)
    return s[:-1] + str((int(s[-1]) + rng.randint(1, 9)) % 10)


# ---------------------------------------------------------------- ITIN (US tax id)
def itin_valid(s):
    m = re.fullmatch(r"9(\d{2})-?(\d{2})-?(\d{4})", s.strip())
    if not m:
        return False
    g = int(m.group(2))
    return 50 <= g <= 65 or 70 <= g <= 88 or 90 <= g <= 92 or 94 <= g <= 99


def gen_itin(rng):
    g = rng.choice(list(range(50, 66)) + list(range(70, 89)) + [90, 91, 92] + list(range(94, 100)))
    return "9%02d-%02d-%04d" % (rng.randint(0, 99), g, rng.randint(1, 9999))


# ---------------------------------------------------------------- German ID documents
DOC_ALPHA = "0123456789CFGHJKLMNPRTVWXYZ"


def mrz_check(s):
    w = [7, 3, 1]
    tot = 0
    for i, c in enumerate(s):
        v = int(c) if c.isdigit() else ord(c) - 55
        tot += v * w[i % 3]
    return tot % 10


def gen_perso(rng, with_check=True):
    s = rng.choice("LMNPRTVWXY") + "".join(rng.choice(DOC_ALPHA) for _ in range(8))
    return s + str(mrz_check(s)) if with_check else s


def gen_reisepass(rng, with_check=True):
    s = rng.choice("CFGHJK") + "".join(rng.choice(DOC_ALPHA) for _ in range(8))
    return s + str(mrz_check(s)) if with_check else s


def bad_doc(rng, passport=False):
    s = gen_reisepass(rng) if passport else gen_perso(rng)
    return s[:9] + str((int(s[9]) + rng.randint(1, 9)) % 10)


def de_doc_valid(s, passport=False):
    s = s.replace(" ", "").upper()
    first = "CFGHJK" if passport else "LMNPRTVWXY"
    if len(s) not in (9, 10) or s[0] not in first or any(c not in DOC_ALPHA for c in s[1:9]):
        return False
    if len(s) == 10:
        return s[9].isdigit() and mrz_check(s[:9]) == int(s[9])
    return True


def dni_letter(n):
    return "TRWAGMYFPDXBNJZSQVHLCKE"[n % 23]


def gen_dni(rng):
    n = rng.randint(10000000, 79999999)
    return "%08d%s" % (n, dni_letter(n))


def dni_valid(s):
    m = re.fullmatch(r"(\d{8})-?([A-Z])", s.strip().upper())
    return bool(m) and dni_letter(int(m.group(1))) == m.group(2)


# ---------------------------------------------------------------- decoding evasions
def decode(s):
    """Undo the encodings used in evasion texts."""
    s = s.replace("&shy;", "").replace("&nbsp;", " ")
    s = html.unescape(s)
    s = re.sub(r"<[^>]*>", "", s)
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.replace("\u00ad", "").replace("\u200b", "").replace("\u00a0", " ")
    return s


def compact_digits(s, letter_o=True):
    s = decode(s)
    if letter_o:
        # letter O / o for digit 0, l / I for 1 (only used in identifier evasions)
        s = re.sub(r"(?<=[0-9A-Za-z])[Oo]|[Oo](?=[0-9])", "0", s)
    return re.sub(r"[\s./\-_|:]", "", s)
