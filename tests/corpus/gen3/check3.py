"""Validate a corpus3 jsonl: format, substrings, first occurrences, ids, checksums, counts.

usage: python3 check3.py FILE.jsonl [--table]
"""
import json
import re
import sys
from collections import Counter, defaultdict

import make_ids3 as M

CATS = ["health", "religion", "ethnic_origin", "political_opinion", "trade_union", "sex_life",
        "genetic", "biometric", "iban", "card", "tax_id", "social_security", "id_card",
        "passport", "phone", "email"]
IDS = {"iban", "card", "tax_id", "social_security", "id_card", "passport", "phone", "email"}


def compact(s):
    return re.sub(r"[\s./\-_|:]", "", M.decode(s))


def with_o(s):
    """Letter O written for digit 0 (only next to a digit)."""
    return s[:2] + re.sub(r"(?<=\d)[Oo]|[Oo](?=\d)", "0", s[2:])


def id_ok(cat, span):
    c = compact(span)
    if cat == "iban":
        return M.iban_valid(c) or M.iban_valid(with_o(c))
    if cat == "card":
        d = re.sub(r"\D", "", c)
        if len(d) in (3, 4):
            return True
        return M.luhn_ok(d) and M.card_brand_ok(d)
    if cat == "tax_id":
        return M.stid_valid(c) or M.itin_valid(c)
    if cat == "social_security":
        return (M.rvnr_valid(c) or M.ssn_valid(c) or M.nino_valid(c) or M.svnr_at_valid(c)
                or M.ahv_valid(c))
    if cat == "id_card":
        return M.de_doc_valid(c) or M.dni_valid(c)
    if cat == "passport":
        return M.de_doc_valid(c, passport=True) or bool(re.fullmatch(r"\d{9}", c))
    if cat == "phone":
        d = M.decode(span)
        return len(re.sub(r"\D", "", d)) >= 7 or len(d.split()) >= 6 or "," in d
    if cat == "email":
        d = M.decode(span)
        return "@" in d or "(at)" in d or "[at]" in d
    return True


def lookalikes_fail(text):
    """Identifier-shaped strings in a negative text must fail their checks."""
    bad = []
    for m in re.finditer(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", text):
        if M.iban_valid(m.group(0)):
            bad.append(("iban", m.group(0)))
    for m in re.finditer(r"\d[\d \-/.]{10,24}\d", text):
        d = re.sub(r"\D", "", m.group(0))
        if 13 <= len(d) <= 19 and M.luhn_ok(d) and M.card_brand_ok(d):
            bad.append(("card", m.group(0)))
        if len(d) == 11 and M.stid_valid(d):
            bad.append(("tax_id", m.group(0)))
    for m in re.finditer(r"\b\d{3}-\d{2}-\d{4}\b", text):
        if M.ssn_valid(m.group(0)):
            bad.append(("ssn", m.group(0)))
    for m in re.finditer(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", text):
        if M.nino_valid(m.group(0)):
            bad.append(("nino", m.group(0)))
    for m in re.finditer(r"\b[CFGHJKLMNPRTVWXYZ][0-9CFGHJKLMNPRTVWXYZ]{8}\d\b", text):
        if M.de_doc_valid(m.group(0)) or M.de_doc_valid(m.group(0), passport=True):
            bad.append(("doc", m.group(0)))
    for m in re.finditer(r"\b\d{2} ?\d{6} ?[A-Z] ?\d{3}\b", text):
        if M.rvnr_valid(m.group(0)):
            bad.append(("rvnr", m.group(0)))
    return bad


NUMWORDS = r"\b(null|eins|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zero|oh|one|two|three|four|five|six|seven|eight|nine|nought)\b"


def encoded(span):
    """True when the span is written to dodge matching (entity, tag, mark, spacing, look-alike)."""
    if M.decode(span) != span:
        return True
    if re.search(r"\b\w([.\- ])\w\1\w", span):
        return True
    if re.search(r"\((at|dot)\)|\[at\]", span):
        return True
    if re.search(r"\d{4}[./]\d{4}", span) and not span.startswith("756."):
        return True
    if re.search(r"\d[Oo]|[Oo]\d", span):
        return True
    return len(re.findall(NUMWORDS, span, re.I)) >= 4


def main():
    path = sys.argv[1]
    errs = []
    rows = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        try:
            r = json.loads(line)
        except Exception as exc:
            errs.append("line %d: JSON %s" % (n, exc))
            continue
        rows.append(r)
    ids = Counter(r["id"] for r in rows)
    errs += ["duplicate id %s" % i for i, k in ids.items() if k > 1]
    texts = Counter(r["text"] for r in rows)
    errs += ["duplicate text %r" % t for t, k in texts.items() if k > 1]
    count = Counter()
    spans = defaultdict(Counter)
    ev = defaultdict(Counter)
    keeps = Counter()
    for r in rows:
        rid = r["id"]
        if set(r) != {"id", "lang", "kind", "text", "expect", "keep"}:
            errs.append("%s: keys %s" % (rid, sorted(r)))
        if r["lang"] not in ("de", "en") or r["kind"] not in ("positive", "negative", "evasion"):
            errs.append("%s: lang/kind" % rid)
        t = r["text"]
        count[(r["lang"], r["kind"])] += 1
        if r["kind"] == "negative" and r["expect"]:
            errs.append("%s: negative with expect" % rid)
        if r["kind"] != "negative" and not r["expect"]:
            errs.append("%s: %s without expect" % (rid, r["kind"]))
        ranges = []
        for e in r["expect"]:
            if e["category"] not in CATS:
                errs.append("%s: category %s" % (rid, e["category"]))
            s = e["span"]
            i = t.find(s)
            if i < 0:
                errs.append("%s: span not in text %r" % (rid, s))
                continue
            ranges.append((i, i + len(s)))
            spans[e["category"]][r["lang"]] += 1
            if r["kind"] == "evasion":
                ev[e["category"]][r["lang"]] += 1
            if e["category"] in IDS and not id_ok(e["category"], s):
                errs.append("%s: %s fails check: %r" % (rid, e["category"], s))
        for k in r["keep"]:
            i = t.find(k)
            if i < 0:
                errs.append("%s: keep not in text %r" % (rid, k))
                continue
            keeps[r["lang"]] += 1
            for a, b in ranges:
                if i < b and a < i + len(k):
                    errs.append("%s: keep %r overlaps a span" % (rid, k))
        if r["kind"] == "negative":
            for cat, s in lookalikes_fail(t):
                errs.append("%s: negative holds a valid %s %r" % (rid, cat, s))
        if r["kind"] == "evasion" and not any(encoded(e["span"]) for e in r["expect"]):
            errs.append("%s: evasion without an encoded span" % rid)
    for e in errs:
        print("ERROR", e)
    print("%s: %d rows, %d errors" % (path, len(rows), len(errs)))
    for lang in ("de", "en"):
        tot = sum(count[(lang, k)] for k in ("positive", "negative", "evasion"))
        print("  %s: %d texts = %d positive, %d negative (%.0f %%), %d evasion (%.0f %%); %d keep spans"
              % (lang, tot, count[(lang, "positive")], count[(lang, "negative")],
                 100.0 * count[(lang, "negative")] / max(tot, 1), count[(lang, "evasion")],
                 100.0 * count[(lang, "evasion")] / max(tot, 1), keeps[lang]))
    if "--table" in sys.argv:
        print("\n| category | de | en | of which in evasion texts (de/en) |\n|---|---:|---:|---:|")
    low = []
    for c in CATS:
        if "--table" in sys.argv:
            print("| `%s` | %d | %d | %d/%d |" % (c, spans[c]["de"], spans[c]["en"], ev[c]["de"],
                                                 ev[c]["en"]))
        for lang in ("de", "en"):
            if spans[c][lang] < 10:
                low.append("%s/%s=%d" % (c, lang, spans[c][lang]))
    tot_sp = sum(sum(v.values()) for v in spans.values())
    print("  spans: %d (de %d, en %d)" % (tot_sp, sum(v["de"] for v in spans.values()),
                                          sum(v["en"] for v in spans.values())))
    if low:
        print("  BELOW 10:", ", ".join(low))
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
