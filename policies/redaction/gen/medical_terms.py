#!/usr/bin/env python3
"""Derive `policies/redaction/health.terms.toml`: names of conditions and procedures in German
and English, by word class (the ending a clinical term has), not by example.

Sources (Debian packages, read from their installed paths; install pinned, then run):

    apt-get install wgerman-medical=20220425-1 hunspell-en-med=0.0.20140410-4
    python3 -m venv /tmp/lex && /tmp/lex/bin/pip install wordfreq==3.1.1
    /tmp/lex/bin/python policies/redaction/gen/medical_terms.py > policies/redaction/health.terms.toml

- `wgerman-medical` (`/usr/share/dict/german-medical`, igerman98 plus the medicalterms
  add-on by Tobias Quathamer; GPL-3.0-or-later): German medical word list with inflections.
- `hunspell-en-med` (`/usr/share/hunspell/en_med_glut.dic`, OpenMedSpel by R Robinson;
  GPL-3.0-or-later): English medical word list.
- `wordfreq==3.1.1` (PyPI; code Apache-2.0, data CC BY-SA 4.0): how often a word is used.

Licence of the derived file: it is a selection of words from GPL-3.0-or-later word lists and
carries that licence; it is a data file read at start-up, separate from the program, and can
be removed or regenerated without touching the program.

What it keeps: a word of the medical lists that ends like a condition or a procedure
(`CLASSES`: inflammation `-itis`, `-ose`/`-osis`, blood `-ämie`/`-emia`, tumours `-om`/
`-oma`, `-pathie`/`-pathy`, pain `-algie`/`-algia`, `-ektomie`/`-ectomy`, paralysis
`-plegie`/`-plegia`, phobias, syndromes, insufficiency, infarction), that people write at all
(attested in wordfreq), and that is no everyday word (Zipf < 3.0; the few common diagnoses
above that are listed in `COMMON`). Words that only end like one are dropped (`NOT`: sugars,
adjectives in `-lose`, `sympathy`, `diagnosis`, attitudes such as `homophobia`, which are
opinions, not health). Matching is whole-word; compounds and inflections the list lacks are
left to the suffix classes of `health.morphology.toml`.
"""
import re
import sys

from wordfreq import zipf_frequency

DE_LIST = "/usr/share/dict/german-medical"
EN_LIST = "/usr/share/hunspell/en_med_glut.dic"

CLASSES = {
    "de": re.compile(
        r"(itis|itiden|ose|osen|ämie|ämien|pathie|pathien|algie|algien|ektomie|ektomien|"
        r"phobie|phobien|plegie|plegien|trophie|karzinom|karzinoms|karzinome|sarkom|sarkoms|"
        r"sarkome|lymphom|lymphoms|lymphome|melanom|melanoms|melanome|adenom|adenome|myom|"
        r"myome|gliom|gliome|blastom|blastome|insuffizienz|sklerose|infarkt|infarkts|lähmung|"
        r"lähmungen|syndrom|syndroms|syndrome|leiden|tumor|tumors|tumoren|demenz|allergie|"
        r"allergien|intoleranz|dystrophie|stenose|stenosen|zirrhose|fibrose|thrombose|"
        r"embolie|embolien|neurose|psychose|psychosen)$"
    ),
    "en": re.compile(
        r"(itis|itides|osis|oses|ectomy|ectomies|oma|omas|omata|emia|aemia|emias|pathy|"
        r"pathies|phobia|phobias|algia|plegia|plegic|trophy|dystrophy|otomy|ostomy|plasty|"
        r"iasis|syndrome|carcinoma|sarcoma|lymphoma|melanoma|insufficiency|infarction|"
        r"sclerosis|stenosis|embolism|aneurysm|neuropathy)$"
    ),
}
# Everyday words that end like a condition, and attitudes (opinions, not health).
NOT = re.compile(
    r"^(?:.*(?:lose|losen|dose|dosen|hose|hosen|cose|ctose|ktose|ltose|bose|gnose|gnosen|"
    r"gnosis|gnoses|pnose|pnosis|mose|mosis|biose|biosis|morphose|morphosis|sympathie|"
    r"sympathy|empathie|empathy|apathie|apathy|antipathie|antipathy|telepathie|telepathy|"
    r"homöopathie|homeopathy|naturopathy|osteopathy|osteopathie|anatomie|dichotomy|"
    r"lobotomy|nostalgie|nostalgia|homophobie|homophobia|xenophobie|xenophobia|"
    r"islamophobie|islamophobia|transphobie|transphobia|anglophobia|francophobia|"
    r"technophobia|arachnophobia|aroma|diploma|oklahoma|tacoma|sonoma|paloma|academia|"
    r"bohemia))$|^(?:leiden|verleiden|erleiden|mitleiden|verkleiden|soma)$"
)
# Diagnoses common enough to be everyday words, kept all the same.
COMMON = {
    "arthritis", "hepatitis", "leukämie", "leukemia", "leukaemia", "sklerose", "sclerosis",
    "tuberkulose", "tuberculosis", "demenz", "glaucoma", "lymphoma", "melanoma", "meningitis",
    "psychosis", "psychose", "anemia", "anaemia", "carcinoma", "allergie", "allergien",
    "thrombose", "thrombosis", "arthrose", "osteoporose", "osteoporosis", "bronchitis",
    "tendinitis", "neurodermitis", "sinusitis", "appendicitis", "gastritis", "colitis",
    "coma", "koma", "stoma", "embolie", "embolism", "aneurysm", "neuropathy", "dystrophy",
    "atrophy",
}
EVERYDAY_ZIPF = 3.0


def read(path, lang):
    with open(path, encoding="utf-8", errors="ignore") as f:
        for i, line in enumerate(f):
            if lang == "en" and i == 0:
                continue  # the word count
            w = line.split("/")[0].strip().lower()
            if w and not w.startswith("-") and " " not in w:
                yield w


def terms(lang, path):
    out = set()
    for w in read(path, lang):
        if not CLASSES[lang].search(w) or NOT.match(w) or len(w) < 6:
            continue
        z = zipf_frequency(w, lang)
        if z <= 0:
            continue  # nobody writes it
        if z >= EVERYDAY_ZIPF and w not in COMMON:
            continue
        out.add(w)
    return sorted(out)


def main():
    print("# GENERATED by policies/redaction/gen/medical_terms.py from the medical word lists")
    print("# of Debian's wgerman-medical and hunspell-en-med (GPL-3.0-or-later; this selection")
    print("# carries that licence) filtered by wordfreq==3.1.1 (CC BY-SA 4.0 data).")
    print("# Do not edit: change the generator and run it again.")
    for lang, path in (("de", DE_LIST), ("en", EN_LIST)):
        words = terms(lang, path)
        print()
        print("[[lexicon]]")
        print('category = "health"')
        print("words = [")
        for w in words:
            print(f'  "{w}",')
        print("]")
        print(f"# {len(words)} words ({lang})", file=sys.stderr)


if __name__ == "__main__":
    main()
