"""Build a corpus3 jsonl from hand-written line files.

Line format:  <P|N|E> <text>
  [[category:span text]]  -> expected span
  {{keep text}}           -> keep span
  §NAME:ARG§              -> synthetic identifier from make_ids3 (fixed seed)
Lines starting with '#' and blank lines are ignored.

usage: python3 build3.py SEED ID_PREFIX OUT.jsonl de=FILE en=FILE
"""
import json
import random
import re
import sys

import make_ids3 as M


def expand(rng, name, arg):
    nb = "&nbsp;"
    if name == "IBAN":
        return M.group4(M.gen_iban(rng, arg))
    if name == "IBANC":
        return M.gen_iban(rng, arg)
    if name == "IBANNB":
        return M.group4(M.gen_iban(rng, arg), nb)
    if name == "IBANSL":
        return M.group4(M.gen_iban(rng, arg), "/")
    if name == "IBANO":
        while True:
            s = M.gen_iban(rng, arg)
            if s[4:].count("0") >= 2:
                break
        g = M.group4(s)
        return g[:4] + g[4:].replace("0", "O")
    if name == "IBANBAD":
        return M.group4(M.bad_iban(rng, arg))
    if name == "IBANBADC":
        return M.bad_iban(rng, arg)
    if name == "CARD":
        return M.fmt_card(M.gen_card(rng, arg))
    if name == "CARDC":
        return M.gen_card(rng, arg)
    if name == "CARDD":
        return M.fmt_card(M.gen_card(rng, arg), "-")
    if name == "CARDSL":
        return M.fmt_card(M.gen_card(rng, arg), "/")
    if name == "CARDDOT":
        return M.fmt_card(M.gen_card(rng, arg), ".")
    if name == "CARDNB":
        return M.fmt_card(M.gen_card(rng, arg), nb)
    if name == "CARDBAD":
        return M.fmt_card(M.bad_card(rng, arg))
    if name == "CARDBADC":
        return M.bad_card(rng, arg)
    if name == "CVC":
        return "%03d" % rng.randint(101, 989)
    if name == "CVC4":
        return "%04d" % rng.randint(1001, 9899)
    if name == "STID":
        return M.fmt_stid(M.gen_stid(rng))
    if name == "STIDC":
        return M.gen_stid(rng)
    if name == "STIDNB":
        return M.fmt_stid(M.gen_stid(rng), nb)
    if name == "STIDBAD":
        return M.fmt_stid(M.bad_stid(rng))
    if name == "STIDBADC":
        return M.bad_stid(rng)
    if name == "RVNR":
        return M.fmt_rvnr(M.gen_rvnr(rng, letter=arg or None))
    if name == "RVNRC":
        return M.gen_rvnr(rng, letter=arg or None)
    if name == "RVNRNB":
        return M.fmt_rvnr(M.gen_rvnr(rng, letter=arg or None)).replace(" ", nb)
    if name == "RVNRBAD":
        return M.fmt_rvnr(M.bad_rvnr(rng))
    if name == "SSN":
        return M.gen_ssn(rng)
    if name == "SSNC":
        return M.gen_ssn(rng).replace("-", "")
    if name == "SSNNB":
        return M.gen_ssn(rng).replace("-", nb)
    if name == "SSNBAD":
        return "%s-%02d-%04d" % (rng.choice(["666", "000", "9%02d" % rng.randint(0, 99)]),
                                 rng.randint(1, 99), rng.randint(1, 9999))
    if name == "NINO":
        return M.gen_nino(rng)
    if name == "NINOC":
        return M.gen_nino(rng).replace(" ", "")
    if name == "NINOBAD":
        d = "%06d" % rng.randint(0, 999999)
        return "%s %s %s %s %s" % (rng.choice(["BG", "GB", "NK", "TN", "ZZ", "DA", "QF"]), d[:2],
                                   d[2:4], d[4:], rng.choice("ABCD"))
    if name == "SVAT":
        return M.gen_svnr_at(rng)
    if name == "AHV":
        return M.gen_ahv(rng)
    if name == "AHVBAD":
        return M.bad_ahv(rng)
    if name == "ITIN":
        return M.gen_itin(rng)
    if name == "PA":
        return M.gen_perso(rng)
    if name == "PA9":
        return M.gen_perso(rng, with_check=False)
    if name == "PABAD":
        return M.bad_doc(rng)
    if name == "RP":
        return M.gen_reisepass(rng)
    if name == "RPBAD":
        return M.bad_doc(rng, passport=True)
    if name == "DNI":
        return M.gen_dni(rng)
    if name == "PP9":
        return "%d%08d" % (rng.randint(1, 9), rng.randint(0, 99999999))
    raise ValueError(name)


SPAN = re.compile(r"\[\[([a-z_]+):(.+?)\]\]")
KEEP = re.compile(r"\{\{(.+?)\}\}")


def parse(line, rng):
    kind = {"P": "positive", "N": "negative", "E": "evasion"}[line[0]]
    body = line[2:].rstrip("\n")
    body = re.sub(r"§([A-Z0-9]+)(?::([A-Za-z0-9]*))?§",
                  lambda m: expand(rng, m.group(1), m.group(2)), body)
    expect, keep = [], []
    text = ""
    pos = 0
    POS = []
    pat = re.compile(r"\[\[([a-z_]+):(.+?)\]\]|\{\{(.+?)\}\}")
    for m in pat.finditer(body):
        text += body[pos:m.start()]
        if m.group(1):
            POS.append((m.group(2), len(text)))
            expect.append({"category": m.group(1), "span": m.group(2)})
            text += m.group(2)
        else:
            POS.append((m.group(3), len(text)))
            keep.append(m.group(3))
            text += m.group(3)
        pos = m.end()
    text += body[pos:]
    for frag, at in POS:
        if text.find(frag) != at:
            print("FIRST-OCCURRENCE:", repr(frag), "in", repr(text), file=sys.stderr)
    text = text.replace("\\u0301", "\u0301").replace("\\u0308", "\u0308").replace(
        "\\u200b", "\u200b").replace("\\u00ad", "\u00ad")
    for e in expect:
        e["span"] = e["span"].replace("\\u0301", "\u0301").replace("\\u0308", "\u0308").replace(
            "\\u200b", "\u200b").replace("\\u00ad", "\u00ad")
    keep = [k.replace("\\u0301", "\u0301") for k in keep]
    return kind, text, expect, keep


def main():
    seed, prefix, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    files = dict(a.split("=", 1) for a in sys.argv[4:])
    rng = random.Random(seed)
    rows = []
    for lang in ("de", "en"):
        counters = {"positive": 0, "negative": 0, "evasion": 0}
        short = {"positive": "pos", "negative": "neg", "evasion": "ev"}
        for n, line in enumerate(open(files[lang], encoding="utf-8"), 1):
            if not line.strip() or line.startswith("#"):
                continue
            try:
                kind, text, expect, keep = parse(line, rng)
            except Exception as exc:  # noqa
                sys.exit("%s:%d: %s" % (files[lang], n, exc))
            counters[kind] += 1
            rows.append({"id": "%s-%s-%s-%03d" % (prefix, lang, short[kind], counters[kind]),
                         "lang": lang, "kind": kind, "text": text, "expect": expect,
                         "keep": keep})
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("wrote", len(rows), "rows to", out)


if __name__ == "__main__":
    main()
