"""Independence check heldout3 vs dev3: no shared span text, no near-copy text.

usage: python3 indep3.py redaction-dev3.jsonl redaction-heldout3.jsonl
Span texts are compared exactly, case-insensitively and after undoing encodings; texts with
difflib.SequenceMatcher ratio (raw, and with digits masked) against every dev3 text of the
same language; fails at ratio >= 0.75.
"""
import difflib
import json
import re
import sys

import make_ids3 as M


def load(p):
    return [json.loads(l) for l in open(p, encoding="utf-8")]


def norm(s):
    return re.sub(r"\s+", " ", M.decode(s)).strip().lower()


def main():
    dev, ho = load(sys.argv[1]), load(sys.argv[2])
    dev_spans = {e["span"] for r in dev for e in r["expect"]}
    dev_norm = {norm(s) for s in dev_spans}
    bad = 0
    for r in ho:
        for e in r["expect"]:
            if e["span"] in dev_spans or norm(e["span"]) in dev_norm:
                print("SHARED SPAN", r["id"], repr(e["span"]))
                bad += 1
    mask = lambda t: re.sub(r"\d", "#", t.lower())
    worst = (0.0, None, None)
    worst_m = (0.0, None, None)
    for r in ho:
        a, am = r["text"].lower(), mask(r["text"])
        for d in dev:
            if d["lang"] != r["lang"]:
                continue
            for (x, y, slot) in ((a, d["text"].lower(), 0), (am, mask(d["text"]), 1)):
                sm = difflib.SequenceMatcher(None, x, y, autojunk=False)
                if sm.real_quick_ratio() < 0.5 or sm.quick_ratio() < 0.5:
                    continue
                q = sm.ratio()
                if slot == 0 and q > worst[0]:
                    worst = (q, r["id"], d["id"])
                if slot == 1 and q > worst_m[0]:
                    worst_m = (q, r["id"], d["id"])
                if q >= 0.75:
                    print("NEAR COPY %.2f %s ~ %s%s\n   %s\n   %s" % (q, r["id"], d["id"],
                          " (digits masked)" if slot else "", r["text"], d["text"]))
                    bad += 1
    print("heldout spans:", sum(len(r["expect"]) for r in ho), "dev spans:", len(dev_spans))
    print("max ratio raw %.3f (%s ~ %s); digits masked %.3f (%s ~ %s)" % (worst + worst_m))
    print("problems:", bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
