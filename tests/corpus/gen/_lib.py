"""Helpers shared by build_dev2.py / build_heldout2.py (encodings for evasion texts, row builders)."""
import json

def ent(w, i):      # decimal entity for letter i
    return w[:i] + f"&#{ord(w[i])};" + w[i + 1:]
def hexent(w, i):
    return w[:i] + f"&#x{ord(w[i]):x};" + w[i + 1:]
def shy(w, i):
    return w[:i] + "&shy;" + w[i:]
def tag(w, i, t="b"):
    return w[:i] + f"<{t}></{t}>" + w[i:]
def wrap(w, i, t="span"):
    return w[:i] + f"<{t}>" + w[i:] + f"</{t}>"
def comb(w, i, mark="\u0301"):
    return w[:i + 1] + mark + w[i + 1:]
def sep(w, s):
    return s.join(w)

class Corpus:
    def __init__(self, prefix):
        self.prefix, self.rows, self.n = prefix, [], {}
    def add(self, lang, kind, text, expect=(), keep=()):
        short = {"positive": "pos", "negative": "neg", "evasion": "ev"}[kind]
        k = (lang, short)
        self.n[k] = self.n.get(k, 0) + 1
        self.rows.append({"id": f"{self.prefix}-{lang}-{short}-{self.n[k]:03d}", "lang": lang,
                          "kind": kind, "text": text,
                          "expect": [{"category": c, "span": s} for c, s in expect],
                          "keep": list(keep)})
    def write(self, path):
        with open(path, "w", encoding="utf-8") as f:
            for r in self.rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
