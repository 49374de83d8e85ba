//! Redaction of sensitive free text (`redact`): the labelled corpus with its floors,
//! what a redacted text still holds, the markers' language, and the problems a rules file
//! reports. The corpus never holds real people's data: identifiers are synthetic, with
//! computed checksums.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use crmgate::redact::{Redactor, Scan};
use serde::Deserialize;

use crate::support::repo;

fn rules_dir() -> PathBuf {
    repo().join("policies/redaction")
}

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| match Redactor::load(&rules_dir()) {
        Ok(r) => r,
        Err(problems) => {
            let lines: Vec<String> = problems.iter().map(|p| p.render()).collect();
            panic!("policies/redaction does not load:\n{}", lines.join("\n"))
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    lang: String,
    kind: String,
    text: String,
    expect: Vec<Expect>,
    keep: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    category: String,
    span: String,
}

fn corpus() -> Vec<Case> {
    load_corpus("tests/corpus/redaction.jsonl")
}

fn load_corpus(path: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{path} line {}: {e}", i + 1))
        })
        .collect()
}

const IDENTIFIERS: &[&str] = &[
    "iban",
    "card",
    "tax_id",
    "social_security",
    "id_card",
    "passport",
    "phone",
    "email",
];
const ART9: &[&str] = &[
    "health",
    "religion",
    "ethnic_origin",
    "political_opinion",
    "trade_union",
    "sex_life",
    "genetic",
    "biometric",
];

fn range_of(text: &str, span: &str, id: &str) -> (usize, usize) {
    let s = text
        .find(span)
        .unwrap_or_else(|| panic!("{id}: `{span}` is not in the text"));
    (s, s + span.len())
}

fn covered(scan: &Scan, category: &str, (s, e): (usize, usize)) -> bool {
    scan.findings()
        .iter()
        .any(|f| f.category() == category && f.span().start <= s && e <= f.span().end)
}

fn touched(scan: &Scan, (s, e): (usize, usize)) -> bool {
    scan.findings()
        .iter()
        .any(|f| f.span().start < e && s < f.span().end)
}

/// Recall per category and spans lost, over some of the corpus.
#[derive(Default)]
struct Figures {
    /// category → (expected spans, covered by a finding of that category)
    recall: BTreeMap<String, (usize, usize)>,
    keep_total: usize,
    keep_lost: usize,
    negatives: usize,
    negatives_touched: usize,
    misses: Vec<String>,
    losses: Vec<String>,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.keep_lost as f64 / self.keep_total.max(1) as f64
    }

    fn recall(&self, cat: &str) -> (usize, usize, f64) {
        let (n, f) = self.recall.get(cat).copied().unwrap_or((0, 0));
        (n, f, f as f64 / n.max(1) as f64)
    }

    fn print(&self, title: &str) {
        println!("{title}");
        println!(
            "{:<18} {:>8} {:>6} {:>7}",
            "category", "expected", "found", "recall"
        );
        for cat in ART9.iter().chain(IDENTIFIERS) {
            let (n, f, rec) = self.recall(cat);
            println!("{cat:<18} {n:>8} {f:>6} {rec:>7.3}");
        }
        println!(
            "false redaction: {} of {} spans that must survive ({:.2}%); {} of {} negative \
             texts redacted",
            self.keep_lost,
            self.keep_total,
            self.rate() * 100.0,
            self.negatives_touched,
            self.negatives
        );
        for m in &self.misses {
            println!("  missed: {m}");
        }
        for l in &self.losses {
            println!("  false: {l}");
        }
    }
}

fn measure<'a>(r: &Redactor, cases: impl Iterator<Item = &'a Case>) -> Figures {
    let mut fig = Figures::default();
    for c in cases {
        let scan = r.scan(&c.text, &[]);
        for x in &c.expect {
            let entry = fig.recall.entry(x.category.clone()).or_default();
            entry.0 += 1;
            if covered(&scan, &x.category, range_of(&c.text, &x.span, &c.id)) {
                entry.1 += 1;
            } else {
                let found: Vec<String> = scan
                    .findings()
                    .iter()
                    .map(|f| format!("{} `{}`", f.category(), &c.text[f.span()]))
                    .collect();
                fig.misses.push(format!(
                    "{} {} `{}` (found: {})",
                    c.id,
                    x.category,
                    x.span,
                    found.join(", ")
                ));
            }
        }
        let negative_hit = c.kind == "negative" && !scan.is_clean();
        if c.kind == "negative" {
            fig.negatives += 1;
            if negative_hit {
                fig.negatives_touched += 1;
                let spans: Vec<String> = scan
                    .findings()
                    .iter()
                    .map(|f| format!("{} `{}`", f.category(), &c.text[f.span()]))
                    .collect();
                fig.losses
                    .push(format!("{} redacted: {}", c.id, spans.join(", ")));
            }
        }
        for k in &c.keep {
            fig.keep_total += 1;
            // A negative text that got any redaction loses every span it had to keep.
            if negative_hit || touched(&scan, range_of(&c.text, k, &c.id)) {
                fig.keep_lost += 1;
                if !negative_hit {
                    let by: Vec<String> = scan
                        .findings()
                        .iter()
                        .map(|f| format!("{} `{}`", f.category(), &c.text[f.span()]))
                        .collect();
                    fig.losses
                        .push(format!("{} lost `{k}` to {}", c.id, by.join(", ")));
                }
            }
        }
    }
    fig
}

#[test]
fn corpus_meets_the_recall_and_false_redaction_floors() {
    let r = redactor();
    let cases = corpus();
    println!("redaction corpus: {} texts", cases.len());
    let mut kinds: BTreeMap<(String, String), usize> = BTreeMap::new();
    for c in &cases {
        *kinds.entry((c.lang.clone(), c.kind.clone())).or_default() += 1;
    }
    for ((lang, kind), n) in &kinds {
        println!("  {lang} {kind}: {n}");
    }
    // Batch 2 (`b2-…`) was written after the first rules, to see how rules written with
    // batch 1 in view fare on texts they were not written against.
    let later = measure(r, cases.iter().filter(|c| c.id.starts_with("b2-")));
    later.print("batch 2 (written after the first rules):");
    // Batch 3 (`b3-…`) was written after the rule changes batch 2 led to, and is kept as
    // measured: the closest this corpus comes to texts the rules have never seen.
    let last = measure(r, cases.iter().filter(|c| c.id.starts_with("b3-")));
    last.print("batch 3 (written after the rule changes):");
    // The demo CRM's wish texts (`demo-…`), written by someone else for the demo: an
    // independent sample.
    let demo = measure(r, cases.iter().filter(|c| c.id.starts_with("demo-")));
    demo.print("the demo CRM's wish texts:");
    // Per language, the recall table alone (`category de en` found/expected).
    let de = measure(r, cases.iter().filter(|c| c.lang == "de"));
    let en = measure(r, cases.iter().filter(|c| c.lang == "en"));
    println!("per language:");
    for cat in ART9.iter().chain(IDENTIFIERS) {
        let (dn, df, _) = de.recall(cat);
        let (en_n, en_f, _) = en.recall(cat);
        println!("  {cat:<18} de {df:>3}/{dn:<3} en {en_f:>3}/{en_n:<3}");
    }
    for (lang, fig) in [("de", &de), ("en", &en)] {
        println!(
            "  {lang}: keep spans lost {}/{}, negative texts redacted {}/{}",
            fig.keep_lost, fig.keep_total, fig.negatives_touched, fig.negatives
        );
    }
    let all = measure(r, cases.iter());
    all.print("whole corpus:");
    let mut failures = Vec::new();
    for cat in ART9.iter().chain(IDENTIFIERS) {
        let (n, _, rec) = all.recall(cat);
        let floor = if IDENTIFIERS.contains(cat) {
            0.95
        } else {
            0.90
        };
        if n < 8 {
            failures.push(format!("{cat}: only {n} expected spans in the corpus"));
        }
        if rec < floor {
            failures.push(format!("{cat}: recall {rec:.3} below {floor}"));
        }
    }
    if all.rate() > 0.03 {
        failures.push(format!("false-redaction rate {:.4} above 0.03", all.rate()));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corpus_has_at_least_150_texts_in_both_languages_and_every_kind() {
    let cases = corpus();
    assert!(cases.len() >= 150, "{} texts", cases.len());
    for lang in ["de", "en"] {
        for kind in ["positive", "negative", "evasion"] {
            assert!(
                cases.iter().any(|c| c.lang == lang && c.kind == kind),
                "no {lang} {kind} text"
            );
        }
    }
    let mut ids = std::collections::HashSet::new();
    for c in &cases {
        assert!(ids.insert(c.id.clone()), "{} twice", c.id);
        assert!(["de", "en"].contains(&c.lang.as_str()), "{}", c.id);
        assert!(
            ["positive", "negative", "evasion"].contains(&c.kind.as_str()),
            "{}",
            c.id
        );
        assert_eq!(c.kind == "negative", c.expect.is_empty(), "{}", c.id);
        for x in &c.expect {
            assert!(
                ART9.contains(&x.category.as_str()) || IDENTIFIERS.contains(&x.category.as_str()),
                "{}: unknown category {}",
                c.id,
                x.category
            );
        }
    }
}

/// Categories the held-out corpus labels that the rules need not know: a span of one the
/// detector lacks simply counts as not found.
const HELDOUT_ONLY: &[&str] = &[];

/// The held-out corpus (`tests/corpus/HELDOUT.md`): written from the category definitions
/// without sight of the rules, and never to be used for tuning them. This prints its
/// figures and asserts only that the corpus is well-formed, so it does not hold CI to a
/// floor the detector has not reached. Missed spans are not listed, so that reading the
/// output does not turn into tuning on the held-out texts. Run with
/// `cargo test --locked --test it heldout_corpus_figures -- --ignored --nocapture`.
///
/// Any other corpus in the same format is measured the same way by naming it in
/// `REDACTION_CORPUS` (a path, absolute or from the repository root):
/// `REDACTION_CORPUS=tests/corpus/redaction-dev2.jsonl cargo test --locked --test it
/// heldout_corpus_figures -- --ignored --nocapture`. For a development set (never a held-out
/// one) `REDACTION_MISSES=1` also lists what was missed and lost.
#[test]
#[ignore]
fn heldout_corpus_figures() {
    let r = redactor();
    let path = std::env::var("REDACTION_CORPUS")
        .unwrap_or_else(|_| "tests/corpus/redaction-heldout.jsonl".to_string());
    let cases = load_corpus(&path);
    let mut ids = std::collections::HashSet::new();
    let mut kinds: BTreeMap<(String, String), usize> = BTreeMap::new();
    for c in &cases {
        assert!(ids.insert(c.id.clone()), "{} twice", c.id);
        assert!(["de", "en"].contains(&c.lang.as_str()), "{}", c.id);
        assert!(
            ["positive", "negative", "evasion"].contains(&c.kind.as_str()),
            "{}",
            c.id
        );
        assert_eq!(c.kind == "negative", c.expect.is_empty(), "{}", c.id);
        for x in &c.expect {
            let cat = x.category.as_str();
            assert!(
                ART9.contains(&cat) || IDENTIFIERS.contains(&cat) || HELDOUT_ONLY.contains(&cat),
                "{}: unknown category {cat}",
                c.id
            );
            range_of(&c.text, &x.span, &c.id);
        }
        for k in &c.keep {
            range_of(&c.text, k, &c.id);
        }
        *kinds.entry((c.lang.clone(), c.kind.clone())).or_default() += 1;
    }
    println!("redaction corpus {path}: {} texts", cases.len());
    for ((lang, kind), n) in &kinds {
        println!("  {lang} {kind}: {n}");
    }
    let de = measure(r, cases.iter().filter(|c| c.lang == "de"));
    let en = measure(r, cases.iter().filter(|c| c.lang == "en"));
    let all = measure(r, cases.iter());
    println!();
    println!("whole-span recall (found / expected):");
    println!(
        "{:<18} {:>14} {:>14} {:>14}",
        "category", "de", "en", "both"
    );
    let cell = |fig: &Figures, cat: &str| {
        let (n, f, rec) = fig.recall(cat);
        if n == 0 {
            "-".to_string()
        } else {
            format!("{f:>3}/{n:<3} {rec:>5.2}")
        }
    };
    for cat in ART9.iter().chain(IDENTIFIERS).chain(HELDOUT_ONLY) {
        println!(
            "{cat:<18} {:>14} {:>14} {:>14}",
            cell(&de, cat),
            cell(&en, cat),
            cell(&all, cat)
        );
    }
    let total = |fig: &Figures, cats: &[&str]| {
        let (n, f) = cats.iter().fold((0, 0), |(n, f), cat| {
            let (cn, cf, _) = fig.recall(cat);
            (n + cn, f + cf)
        });
        format!("{f:>3}/{n:<3} {:>5.2}", f as f64 / n.max(1) as f64)
    };
    let known: Vec<&str> = ART9.iter().chain(IDENTIFIERS).copied().collect();
    let every: Vec<&str> = known.iter().chain(HELDOUT_ONLY).copied().collect();
    for (title, cats) in [
        ("Art. 9 spans", ART9),
        ("identifier spans", IDENTIFIERS),
        ("known categories", known.as_slice()),
        ("all spans", every.as_slice()),
    ] {
        println!(
            "{title:<18} {:>14} {:>14} {:>14}",
            total(&de, cats),
            total(&en, cats),
            total(&all, cats)
        );
    }
    for kind in ["positive", "evasion"] {
        let fig = |lang: &str| {
            measure(
                r,
                cases
                    .iter()
                    .filter(|c| c.kind == kind && (lang == "both" || c.lang == lang)),
            )
        };
        println!(
            "{:<18} {:>14} {:>14} {:>14}",
            format!("{kind} texts"),
            total(&fig("de"), &every),
            total(&fig("en"), &every),
            total(&fig("both"), &every)
        );
    }
    println!();
    println!("keep spans lost (lost / kept, %), and negative texts with any redaction:");
    for (lang, fig) in [("de", &de), ("en", &en), ("both", &all)] {
        println!(
            "  {lang:<5} keep {:>3}/{:<3} {:>6.2}%   negatives redacted {:>3}/{:<3}",
            fig.keep_lost,
            fig.keep_total,
            fig.rate() * 100.0,
            fig.negatives_touched,
            fig.negatives
        );
    }
    if std::env::var("REDACTION_MISSES").is_ok_and(|v| v == "1") {
        for (lang, fig) in [("de", &de), ("en", &en)] {
            for m in fig.misses.iter().chain(&fig.losses) {
                println!("  {lang} {m}");
            }
        }
    }
}

#[test]
fn a_redactor_can_be_shared_across_request_tasks() {
    fn shared<T: Send + Sync + 'static>() {}
    shared::<Redactor>();
    shared::<Scan>();
}

#[test]
fn the_rules_define_every_art9_and_identifier_category() {
    let cats = redactor().categories();
    for c in ART9.iter().chain(IDENTIFIERS) {
        assert!(cats.iter().any(|x| x == c), "{c} missing");
    }
}

#[test]
fn redacted_iban_and_card_leave_no_digit() {
    let text = "IBAN DE89 3704 0044 0532 0130 00 und Karte 4111-1111-1111-1111, danke";
    let scan = redactor().scan(text, &[]);
    assert_eq!(
        scan.counts(),
        vec![("card".to_string(), 1), ("iban".to_string(), 1)]
    );
    let out = scan.redact(text);
    assert!(!out.chars().any(|c| c.is_ascii_digit()), "{out}");
    assert!(out.ends_with(", danke"), "{out}");
}

#[test]
fn fullwidth_iban_is_redacted() {
    let text = "My IBAN: ＤＥ８９ ３７０４ ００４４ ０５３２ ０１３０ ００ thanks";
    let scan = redactor().scan(text, &[]);
    assert_eq!(scan.counts(), vec![("iban".to_string(), 1)]);
    assert_eq!(scan.redact(text), "My IBAN: [redacted: IBAN] thanks");
}

#[test]
fn zero_width_characters_inside_a_word_go_with_it() {
    let text = "Mein Sohn hat Dia\u{200b}be\u{00ad}tes\u{200b}, bitte zuckerfrei.";
    let scan = redactor().scan(text, &[]);
    assert_eq!(scan.counts(), vec![("health".to_string(), 1)]);
    let out = scan.redact(text);
    assert_eq!(out, "Mein Sohn [geschwärzt: Gesundheit], bitte zuckerfrei.");
}

#[test]
fn german_text_gets_german_markers_and_english_text_english_ones() {
    let de = "Meine Tochter ist Diabetikerin und wünscht sich ein Puzzle.";
    let scan = redactor().scan(de, &[]);
    assert_eq!(scan.language(), "de");
    assert_eq!(
        scan.redact(de),
        "Meine Tochter [geschwärzt: Gesundheit] und wünscht sich ein Puzzle."
    );
    let en = "My son has asthma and would like a red kite.";
    let scan = redactor().scan(en, &[]);
    assert_eq!(scan.language(), "en");
    assert_eq!(
        scan.redact(en),
        "My son [redacted: health] and would like a red kite."
    );
}

#[test]
fn toy_ambulance_is_not_health() {
    for text in [
        "Dear Santa, for Christmas I would like a toy ambulance and a doctor's kit.",
        "Ich wünsche mir einen Spielzeug-Krankenwagen mit Blaulicht.",
        "Der Lego Krankenwagen, bitte!",
    ] {
        assert!(redactor().scan(text, &[]).is_clean(), "{text}");
    }
    assert!(!redactor()
        .scan("Er kam mit dem Krankenwagen in die Klinik.", &[])
        .is_clean());
}

#[test]
fn star_sign_krebs_is_not_health_but_the_illness_is() {
    assert!(redactor()
        .scan("Mein Sternzeichen ist Krebs.", &[])
        .is_clean());
    assert_eq!(
        redactor().scan("Mama hat Krebs.", &[]).counts(),
        vec![("health".to_string(), 1)]
    );
}

#[test]
fn christmas_easter_and_healthy_cookbooks_are_clean() {
    for text in [
        "Frohe Weihnachten und frohe Ostern!",
        "For Easter my mum wants a cookbook about healthy food.",
        "Ein Kochbuch über gesunde Ernährung und eine Spieluhr mit Kirchenglocken.",
        "My brother Christian wants the church choir CD.",
    ] {
        assert!(redactor().scan(text, &[]).is_clean(), "{text}");
    }
}

#[test]
fn wrong_checksums_are_not_identifiers() {
    for text in [
        "DE89 3704 0044 0532 0130 01",
        "4111 1111 1111 1112",
        "Steuer-ID 86095742718",
        "Personalausweis L01X00T472",
    ] {
        let scan = redactor().scan(text, &[]);
        assert!(scan.is_clean(), "{text}: {scan:?}");
    }
}

#[test]
fn an_allowed_category_is_not_reported() {
    let text = "lena.mueller@example.org";
    assert!(!redactor().scan(text, &[]).is_clean());
    assert!(redactor().scan(text, &["email"]).is_clean());
}

#[test]
fn counts_are_per_category_sorted_by_name() {
    let text = "Mein Sohn hat Asthma. Seine Schwester hat Diabetes, IBAN DE89370400440532013000.";
    assert_eq!(
        redactor().scan(text, &[]).counts(),
        vec![("health".to_string(), 2), ("iban".to_string(), 1)]
    );
}

#[test]
fn redact_on_another_text_fails_closed() {
    let scan = redactor().scan("Mein Sohn hat Asthma.", &[]);
    let out = scan.redact("Mein Sohn hat Asthma und mehr Text.");
    assert!(!out.contains("Asthma"), "{out}");
    // A clean scan does not vouch for another text either.
    let clean = redactor().scan("Ein Puzzle, bitte.", &[]);
    assert_eq!(clean.redact("Ein Puzzle, bitte."), "Ein Puzzle, bitte.");
    let out = clean.redact("Ein Puzzle für meinen Sohn, er hat Asthma.");
    assert!(!out.contains("Asthma"), "{out}");
}

#[test]
fn debug_of_a_scan_shows_no_value() {
    let text = "Konto DE89370400440532013000";
    let scan = redactor().scan(text, &[]);
    let debug = format!("{scan:?}");
    assert!(!debug.contains("370400"), "{debug}");
    assert!(debug.contains("iban"), "{debug}");
}

/// A copy of the shipped rules plus one more file, loaded.
fn load_with(
    name: &str,
    content: &str,
) -> (
    PathBuf,
    Result<Redactor, Vec<crmgate::diagnostic::Problem>>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(rules_dir()).unwrap() {
        let p = e.unwrap().path();
        // The rule files; not the generators' directory.
        if p.is_file() {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let file = dir.path().join(name);
    std::fs::write(&file, content).unwrap();
    let r = Redactor::load(dir.path());
    (file, r, dir)
}

fn problems(
    r: Result<Redactor, Vec<crmgate::diagnostic::Problem>>,
) -> Vec<crmgate::diagnostic::Problem> {
    match r {
        Ok(_) => panic!("loaded"),
        Err(p) => p,
    }
}

fn at(file: &Path, problems: &[crmgate::diagnostic::Problem], line: usize, needle: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.file == file && p.line == line && p.message.contains(needle)),
        "no problem `{needle}` at line {line}: {problems:#?}"
    );
}

#[test]
fn an_unknown_key_in_a_rules_file_is_a_problem_at_its_line() {
    let (file, r, _dir) = load_with(
        "extra.toml",
        "[[lexicon]]\ncategory = \"health\"\nwordz = [\"gicht\"]\nwords = [\"gicht\"]\n",
    );
    at(&file, &problems(r), 3, "unknown field `wordz`");
}

#[test]
fn a_failing_example_is_a_problem() {
    let (file, r, _dir) = load_with(
        "extra.toml",
        "[[lexicon]]\ncategory = \"health\"\nwords = [\"gicht\"]\n\
         examples = [\"er hat Gicht\", \"er hat Zipperlein\"]\n\
         counterexamples = [\"ein Gichtfinger\", \"er hat gicht\"]\n",
    );
    let p = problems(r);
    at(
        &file,
        &p,
        4,
        "example `er hat Zipperlein` is not found as `health`",
    );
    at(
        &file,
        &p,
        5,
        "counterexample `er hat gicht` is found as `health`",
    );
    assert_eq!(p.len(), 2, "{p:#?}");
}

#[test]
fn an_unknown_validator_is_a_problem() {
    let (file, r, _dir) = load_with(
        "extra.toml",
        "[[identifier]]\ncategory = \"iban\"\npattern = 'x[0-9]+'\nvalidator = \"iban_mod98\"\n",
    );
    at(&file, &problems(r), 4, "unknown validator `iban_mod98`");
}

#[test]
fn an_unknown_category_and_a_bad_pattern_are_problems_together() {
    let (file, r, _dir) = load_with(
        "extra.toml",
        "[[lexicon]]\ncategory = \"horoscope\"\nwords = [\"krebs\"]\n\n\
         [[identifier]]\ncategory = \"iban\"\npattern = '[0-9'\nvalidator = \"none\"\n",
    );
    let p = problems(r);
    at(&file, &p, 2, "unknown category `horoscope`");
    at(&file, &p, 7, "invalid pattern");
}

#[test]
fn a_missing_rules_directory_is_a_problem() {
    let p = problems(Redactor::load(Path::new("/nonexistent/redaction")));
    assert_eq!(p.len(), 1);
    assert!(p[0].message.starts_with("cannot read"), "{p:?}");
}

/// Scan time on the request path: a 2 KB wish-list text with a few findings. Run with
/// `cargo test --release --test it scan_time -- --ignored --nocapture`.
#[test]
#[ignore]
fn scan_time_of_a_2kb_text() {
    let r = redactor();
    let base = "Lieber Weihnachtsmann, meine Tochter wünscht sich ein Puzzle, eine Puppe und \
                einen Spielzeug-Krankenwagen. Sie hat Asthma. Bitte liefern Sie bis zum 20.12. \
                an die Nachbarin, Bestellnummer 4711-2024-0815. ";
    let mut text = String::new();
    while text.len() < 2048 {
        text.push_str(base);
    }
    text.push_str("IBAN DE89 3704 0044 0532 0130 00.");
    let n = 2000;
    let start = Instant::now();
    let mut found = 0;
    for _ in 0..n {
        let scan = r.scan(&text, &[]);
        found += scan.findings().len();
        std::hint::black_box(scan.redact(&text));
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!(
        "scan + redact of {} bytes: {per:.1} µs per text ({} findings)",
        text.len(),
        found / n
    );
}

#[test]
fn every_encoding_is_read_and_its_whole_original_span_is_replaced() {
    let cases: &[(&str, &str, &str)] = &[
        ("Er hat Diab&#101;tes.", "health", "Diab&#101;tes"),
        ("He has &#x63;ancer.", "health", "&#x63;ancer"),
        ("Er hat Dia&shy;betes.", "health", "Dia&shy;betes"),
        ("She has Dia<b></b>betes.", "health", "Dia<b></b>betes"),
        ("She has Diabe\u{301}tes.", "health", "Diabe\u{301}tes"),
        ("He has c.a.n.c.e.r now.", "health", "c.a.n.c.e.r"),
        ("Er hat D-i-a-b-e-t-e-s.", "health", "D-i-a-b-e-t-e-s"),
        (
            "IBAN DE89&nbsp;3704&nbsp;0044&nbsp;0532&nbsp;0130&nbsp;00 ok",
            "iban",
            "DE89&nbsp;3704&nbsp;0044&nbsp;0532&nbsp;0130&nbsp;00",
        ),
        (
            "IBAN DE89 37O4 OO44 O532 O13O OO ok",
            "iban",
            "DE89 37O4 OO44 O532 O13O OO",
        ),
        (
            "IBAN DE89/3704/0044/0532/0130/00 ok",
            "iban",
            "DE89/3704/0044/0532/0130/00",
        ),
        ("card 4111/1111/1111/1111 ok", "card", "4111/1111/1111/1111"),
        ("card 4l11 1111 1111 1111 ok", "card", "4l11 1111 1111 1111"),
        (
            "card 4111 1111 1111 1111, cvc 123 ok",
            "card",
            "4111 1111 1111 1111, cvc 123",
        ),
    ];
    for (text, category, span) in cases {
        let scan = redactor().scan(text, &[]);
        let (s, e) = range_of(text, span, text);
        assert!(covered(&scan, category, (s, e)), "{text}: {scan:?}");
        let out = scan.redact(text);
        assert!(!out.contains(span), "{out}");
        assert!(out.ends_with(&text[e..]), "{out}");
    }
    // An encoded word that checks out as nothing stays as written.
    for text in [
        "AT&amp;T and &lt;3",
        "DE89 37O4 OO44 O532 O13O O1",
        "z. B. u.s.w.",
    ] {
        assert!(redactor().scan(text, &[]).is_clean(), "{text}");
    }
}

const CONTACTS: &str = "/crm/v3/objects/contacts";

fn prospect(firstname: &str, city: &str, wish: &str) -> serde_json::Value {
    serde_json::json!({"properties": {
        "firstname": firstname, "lastname": "Frost", "email": "ada.frost@example.org",
        "lifecyclestage": "lead", "wish_text": wish, "consent_marketing": "true",
        "city": city
    }})
}

/// Every request body the CRM received.
fn ledger(proxy: &crate::support::Proxy) -> Vec<String> {
    proxy
        .crm()
        .received()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// Identifiers are looked for in every string property of a write, not only in free text:
/// an IBAN in the first name and a card number in the city never reach the CRM; an e-mail
/// address in the `email` property is what that property is for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifiers_in_any_property_of_a_write_are_redacted() {
    let proxy = crate::support::Proxy::start().await;
    let r = proxy
        .post(
            CONTACTS,
            "wishlist",
            None,
            prospect(
                "Ada DE89 3704 0044 0532 0130 00",
                "Köln 4111/1111/1111/1111",
                "Lebkuchen, bitte.",
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let notice = r.headers["x-crmgate-redacted"].to_str().unwrap();
    assert!(notice.contains("firstname=iban:1"), "{notice}");
    let ledger = ledger(&proxy);
    for secret in ["0532", "3704", "4111"] {
        assert!(
            ledger.iter().all(|b| !b.contains(secret)),
            "{secret} reached the CRM: {ledger:?}"
        );
    }
    assert!(ledger.iter().any(|b| b.contains("ada.frost@example.org")));
    // The whole write is German (`Köln`, `bitte`): the markers are too.
    assert!(
        ledger.iter().any(|b| b.contains("[geschwärzt: IBAN]")),
        "{ledger:?}"
    );
}

/// Markers are longer than a short word: a text of many short findings grows. A body that
/// would exceed what the CRM accepts is refused (413) before its write intent is logged,
/// and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redacted_body_never_exceeds_the_upstream_limit_after_its_intent() {
    let proxy = crate::support::Proxy::start_with(crate::support::Options {
        extra_config: "[limits]\nmax_request_body_bytes = 1200\n".into(),
        ..crate::support::Options::default()
    })
    .await;
    let wish = "HIV. ".repeat(100);
    let body = prospect("Ada", "Bonn", &wish);
    assert!(body.to_string().len() < 1000);
    let r = proxy.post(CONTACTS, "wishlist", None, body).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(!r.text().contains("HIV"), "{}", r.text());
    assert!(proxy
        .crm()
        .received()
        .iter()
        .all(|r| r.method != "POST" || r.path_and_query.contains("/batch/read")));
    let log: String = std::fs::read_dir(proxy.audit_dir())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(!log.contains("\"write_intent\""), "an intent was logged");
    // The same write with few findings goes through.
    let ok = proxy
        .post(
            CONTACTS,
            "wishlist",
            None,
            prospect("Ada", "Bonn", "Er hat HIV."),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text());
}

/// A finding is the whole sensitive phrase, not the matched word: what is left must not tell
/// the secret (`heart [redacted]`, `member of the [redacted]`).
#[test]
fn findings_cover_the_whole_phrase() {
    for (text, phrase) in [
        (
            "Sie hat Diabetes mellitus Typ 2, HbA1c 8,1 %, sonst nichts.",
            "Diabetes mellitus Typ 2, HbA1c 8,1 %",
        ),
        ("My dad had heart surgery in May.", "heart surgery"),
        ("Our son has type 1 diabetes.", "type 1 diabetes"),
        (
            "He is a member of the Labour Party now.",
            "member of the Labour Party",
        ),
        ("Mein Onkel wählt die Grünen, sagt er.", "wählt die Grünen"),
        (
            "Oma geht in die evangelische Kirche.",
            "evangelische Kirche",
        ),
        ("It shows his biometric data.", "biometric data"),
    ] {
        let scan = redactor().scan(text, &[]);
        let range = range_of(text, phrase, text);
        assert!(
            scan.findings()
                .iter()
                .any(|f| f.span().start <= range.0 && range.1 <= f.span().end),
            "{text}: {scan:?}"
        );
    }
}

/// Harmless senses stay: a workplace, a company as a customer, a name after a form of
/// address.
#[test]
fn workplaces_customers_and_names_are_not_findings() {
    for text in [
        "Die Kundin ist Köchin im Krankenhaus.",
        "Die AOK als Firmenkunde bestellt 40 Kalender.",
        "Bitte an Herrn Krebs liefern.",
        "A parcel for Mr Parkinson-Smith.",
    ] {
        let scan = redactor().scan(text, &[]);
        assert!(scan.is_clean(), "{text}: {scan:?}");
    }
}

/// The person is told, in the language of what they wrote, which kinds of data were removed
/// and why — never the value.
#[test]
fn the_notice_names_kinds_in_the_language_of_the_text() {
    let de = redactor().notice("de", &["health", "iban"]).unwrap();
    assert!(de.contains("Gesundheit und IBAN"), "{de}");
    assert!(de.contains("Art. 9 DSGVO"), "{de}");
    let en = redactor().notice("en", &["religion"]).unwrap();
    assert!(en.contains("religion or belief"), "{en}");
    assert!(redactor().notice("en", &[]).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redacted_write_answers_with_a_notice_for_the_person() {
    let proxy = crate::support::Proxy::start().await;
    let r = proxy
        .post(
            CONTACTS,
            "wishlist",
            None,
            prospect(
                "Ada",
                "Köln",
                "Ich habe Diabetes und wünsche mir ein Puzzle. IBAN DE89 3704 0044 0532 0130 00",
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let raw = r.headers["x-crmgate-redaction-notice"].to_str().unwrap();
    let encoded = raw.strip_prefix("UTF-8'de'").expect(raw);
    let notice = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .unwrap();
    assert!(notice.contains("Gesundheit"), "{notice}");
    assert!(notice.contains("IBAN"), "{notice}");
    for value in ["Diabetes", "3704", "0532"] {
        assert!(!notice.contains(value), "{notice}");
    }
}

/// Asserts that every `(text, span, category)` is covered whole by one finding of its
/// category.
fn assert_covered(cases: &[(&str, &str, &str)]) {
    for (text, span, category) in cases {
        let scan = redactor().scan(text, &[]);
        assert!(
            covered(&scan, category, range_of(text, span, text)),
            "{text}: `{span}` not covered as {category}: {scan:?}"
        );
    }
}

#[test]
fn conditions_no_list_names_are_found_by_their_class() {
    assert_covered(&[
        // Endings of diagnoses and procedures, German compounds included.
        (
            "Opa hat Kniegelenksarthrose.",
            "Kniegelenksarthrose",
            "health",
        ),
        ("Verdacht auf Polyneuropathie", "Polyneuropathie", "health"),
        ("after his cholecystectomy", "cholecystectomy", "health"),
        // Drug names by their stem, with dose and schedule.
        (
            "Sie nimmt Candesartan 8 mg täglich.",
            "Candesartan 8 mg täglich",
            "health",
        ),
        // A cue: the clause after it, whatever it names.
        (
            "Er leidet an einer seltenen Stoffwechselkrankheit, schickt bitte Tee.",
            "leidet an einer seltenen Stoffwechselkrankheit",
            "health",
        ),
        // Who has it, and a list of conditions as one finding.
        (
            "I have epilepsy and asthma, so no strobe lights.",
            "I have epilepsy and asthma",
            "health",
        ),
        (
            "Carrier status: she carries the CFTR gene.",
            "CFTR gene",
            "genetic",
        ),
        (
            "we store her facial template",
            "facial template",
            "biometric",
        ),
        (
            "He has voted SNP all his life.",
            "voted SNP all his life",
            "political_opinion",
        ),
        (
            "She joined the NEU last year.",
            "joined the NEU",
            "trade_union",
        ),
        (
            "The family is British Pakistani.",
            "British Pakistani",
            "ethnic_origin",
        ),
        (
            "We do puja every morning.",
            "puja every morning",
            "religion",
        ),
    ]);
}

#[test]
fn harmless_senses_of_class_words_are_not_findings() {
    for text in [
        "viel Sympathie für das Team",
        "Er ist s c h w u l und sucht Geschenke.",
        "IG Metall Bezirk Küste bestellt 200 Kugelschreiber.",
        "Customer asks for kosher salt by Diamond Crystal.",
        "Mein Kaktus ist krank, die Blätter werden gelb.",
        "She works as a nurse on the cancer ward.",
        "the carrier delivered the parcel",
        "im April bitte liefern",
    ] {
        let scan = redactor().scan(text, &[]);
        let special: Vec<_> = scan
            .findings()
            .iter()
            .filter(|f| ART9.contains(&f.category()) && f.category() != "sex_life")
            .collect();
        assert!(special.is_empty(), "{text}: {scan:?}");
    }
}

#[test]
fn identifiers_are_found_in_the_formats_people_write() {
    assert_covered(&[
        ("ITIN 927-71-9429 for the W-7", "927-71-9429", "tax_id"),
        ("SVNR 1237 010180", "1237 010180", "social_security"),
        (
            "AHV-Nummer 756.9217.0769.85",
            "756.9217.0769.85",
            "social_security",
        ),
        ("DNI 12345678Z for the rental", "12345678Z", "id_card"),
        (
            "My NI number: QQ-12-34-56-C",
            "QQ-12-34-56-C",
            "social_security",
        ),
        (
            "Reisepass F718&nbsp;998HH3 bitte",
            "F718&nbsp;998HH3",
            "passport",
        ),
        (
            "Ring me: oh seven seven oh oh, nine oh oh, five one two",
            "oh seven seven oh oh, nine oh oh, five one two",
            "phone",
        ),
        (
            "mail me at owen dot price at example dot com",
            "owen dot price at example dot com",
            "email",
        ),
        ("Karte 4111 1111 1111 1111 CVC 3 1 9", "CVC 3 1 9", "card"),
        ("Mrs Khan (07700 900 655) called", "07700 900 655", "phone"),
    ]);
}
