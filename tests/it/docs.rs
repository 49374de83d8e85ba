//! The documents a data protection officer files: the permission concept's read and write
//! rows against the proxy's real answers (every persona × purpose × record type × field
//! group), and every document rendered in both languages in headless Chromium.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crmgate::routes::{AttrValue, ResourceProfile};
use crmgate::tools::docs::permission::{self, AccessRow, Right};

use crate::support::Proxy;

/// The personas and apps the concept speaks of, with the user their demo key names.
const CALLERS: &[(&str, &str)] = &[
    ("noelle", "noelle"),
    ("rudolph", "rudolph"),
    ("tinsel", "tinsel"),
    ("holly", "holly"),
    ("penny", "penny"),
    ("santa", "santa"),
    ("mira", "mira"),
    ("wishlist_form", "wishlist"),
    ("newsletter_tool", "newsletter"),
    ("retention_run", "retention"),
];

/// Does a condition as the concept words it (`a = v and not b and c in {x, y}`) hold for
/// these attributes? The concept's condition is a projection of where the right holds, so
/// a right "only if" a condition that does not hold must not be granted.
fn holds(when: &str, res: &ResourceProfile, attrs: &[Option<AttrValue>]) -> bool {
    let value = |name: &str| -> Option<String> {
        let i = res.attributes.iter().position(|a| a.name == name)?;
        attrs.get(i).cloned().flatten().map(|v| match v {
            AttrValue::Str(s) => s,
            AttrValue::Bool(b) => b.to_string(),
            AttrValue::Long(l) => l.to_string(),
        })
    };
    if when == "some records" {
        return true;
    }
    when.split(" and ").all(|part| {
        if let Some((a, set)) = part.split_once(" in {") {
            let set: Vec<&str> = set.trim_end_matches('}').split(", ").collect();
            value(a).is_some_and(|v| set.contains(&v.as_str()))
        } else if let Some((a, v)) = part.split_once(" = ") {
            value(a).as_deref() == Some(v)
        } else if let Some(a) = part.strip_prefix("not ") {
            value(a).as_deref() != Some("true")
        } else {
            value(part).as_deref() == Some("true")
        }
    })
}

/// What the concept says may happen for a record with these attributes: `Some(true)` must,
/// `Some(false)` must not, `None` may (its condition holds, but is a projection).
fn expect(r: &Right, res: &ResourceProfile, attrs: &[Option<AttrValue>]) -> Option<bool> {
    match r {
        Right::Yes => Some(true),
        Right::Depends { when, .. } if holds(when, res, attrs) => None,
        _ => Some(false),
    }
}

fn attrs_of(res: &ResourceProfile, record: &Value) -> Vec<Option<AttrValue>> {
    crmgate::routes::extract_attributes(res, record.as_object().unwrap())
}

/// A value to write into a property of a new record.
fn sample_value(prop: &str, entity: &str, n: usize) -> String {
    match prop {
        "lifecyclestage" if entity == "Contact" => "lead".into(),
        "lifecyclestage" => "customer".into(),
        "email" => format!("docs-{n}@example.org"),
        "date_of_birth" | "founded_date" => "1990-12-19".into(),
        "numberofemployees" | "annualrevenue" => "12".into(),
        p if p.starts_with("consent_") => "true".into(),
        "photo_url" => "https://example.org/p.jpg".into(),
        "domain" => format!("docs-{n}.example.org"),
        _ => "A wooden sledge".into(),
    }
}

/// Per field group of properties, the property a test writes (not one crmgate stamps, not
/// one the CRM keeps itself).
fn writable_props(res: &ResourceProfile) -> BTreeMap<String, String> {
    let stamped: Vec<String> = res
        .provenance
        .iter()
        .flat_map(|p| [Some(p.source.clone()), p.at.clone(), p.basis.clone()])
        .flatten()
        .collect();
    let mut out = BTreeMap::new();
    let mut props: Vec<(&String, &usize)> = res.property_groups.iter().collect();
    props.sort();
    for (p, g) in props {
        let group = &res.groups[*g];
        if stamped.contains(p) || res.always_properties.contains(p) || out.contains_key(group) {
            continue;
        }
        out.insert(group.clone(), p.clone());
    }
    // The record's lifecycle is named by the status group's own property.
    if res.property_groups.contains_key("lifecyclestage") {
        out.insert("status".into(), "lifecyclestage".into());
    }
    out
}

fn row<'a>(rows: &'a [AccessRow], principal: &str, purpose: &str, entity: &str) -> &'a AccessRow {
    rows.iter()
        .find(|r| r.principal == principal && r.purpose == purpose && r.resource_type == entity)
        .unwrap_or_else(|| panic!("{principal}/{purpose}/{entity}: not in the concept"))
}

fn group_right<'a>(r: &'a AccessRow, group: &str, action: &str) -> &'a Right {
    let g = r.groups.iter().find(|g| g.group == group).unwrap();
    match action {
        "read" => &g.read,
        "create" => &g.create,
        _ => &g.update,
    }
}

/// A field group's write right against what the proxy did with it (`written`): the
/// concept must have said so, on a record where its condition holds.
fn check_group_write(
    case: &str,
    right: &Right,
    written: bool,
    res: &ResourceProfile,
    attrs: &[Option<AttrValue>],
) {
    let ok = match right {
        Right::Yes => written,
        Right::Stripped | Right::Refused | Right::No => !written,
        Right::Depends { when, shows } => {
            let (yes, no) = (
                shows.iter().any(|s| s == "allowed"),
                shows.iter().any(|s| s != "allowed"),
            );
            if written {
                yes && holds(when, res, attrs)
            } else {
                no
            }
        }
        Right::Masked { .. } => false,
    };
    assert!(
        ok,
        "{case}: the concept says {right:?}, the proxy wrote it: {written}"
    );
}

/// What a client sees of one field group in a read (none: nothing of it stored).
fn seen(res: &ResourceProfile, stored: &Value, reply: &Value, g: usize) -> Option<&'static str> {
    let mut values = Vec::new();
    for (p, pg) in &res.property_groups {
        let v = &stored[&res.properties_field][p];
        if *pg == g && !v.is_null() && v != "" {
            values.push((v.clone(), reply[&res.properties_field].get(p).cloned()));
        }
    }
    for (f, fg) in &res.field_groups {
        if *fg == g && !stored[f].is_null() {
            values.push((stored[f].clone(), reply.get(f).cloned()));
        }
    }
    if values.is_empty() {
        None
    } else if values.iter().all(|(_, got)| got.is_none()) {
        Some("removed")
    } else if values.iter().all(|(want, got)| got.as_ref() == Some(want)) {
        Some("clear")
    } else {
        Some("masked")
    }
}

fn check_group_read(
    case: &str,
    right: &Right,
    seen: &str,
    res: &ResourceProfile,
    attrs: &[Option<AttrValue>],
) {
    let ok = match (right, seen) {
        (Right::Yes, s) => s == "clear",
        (Right::No, s) => s == "removed",
        (Right::Masked { .. }, s) => s == "masked",
        (Right::Depends { when, shows }, s) => match s {
            "removed" => true,
            "clear" => shows.iter().any(|x| x == "clear") && holds(when, res, attrs),
            _ => shows.iter().any(|x| x != "clear") && holds(when, res, attrs),
        },
        _ => false,
    };
    assert!(
        ok,
        "{case}: the concept says {right:?}, the proxy showed it {seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_permission_concepts_read_and_write_rows_agree_with_the_proxys_answers() {
    let proxy = Proxy::start().await;
    let config = &proxy.gateway().config;
    let policies = proxy.gateway().policies();
    let pc = permission::compute(config, &policies, "2026-12-07");
    let records = crate::support::demo_records(proxy.crm());
    let mut figures: BTreeMap<&str, usize> = BTreeMap::new();
    let mut n = 0usize;
    for (principal, key) in CALLERS {
        let p = policies.engine.principal(principal).unwrap().clone();
        let purposes = match &p.department {
            Some(d) => config.departments[d].purposes.clone(),
            None => config.apps[*principal].purposes.clone(),
        };
        for purpose in &purposes {
            for res in policies.routes.resources() {
                let r = row(&pc.rows, principal, purpose, &res.entity_type);
                let scope =
                    crmgate::decide::subject(config, &policies.engine, principal, Some(purpose))
                        .unwrap();
                // reads: every demo record of the type
                for (collection, entity, stored) in
                    records.iter().filter(|x| x.1 == res.entity_type)
                {
                    let id = stored["id"].as_str().unwrap();
                    // as the CRM holds it now (the writes below change its dates)
                    let stored = &proxy.crm().record_json(collection, id).unwrap();
                    let props: Vec<&str> = res.property_groups.keys().map(String::as_str).collect();
                    let path = format!(
                        "/crm/v3/objects/{collection}/{id}?properties={}",
                        props.join(",")
                    );
                    let reply = proxy.get(&path, key, Some(purpose)).await;
                    let case = format!("{principal}/{purpose}/{entity} {id} read");
                    let attrs = attrs_of(res, stored);
                    let shown = match reply.status {
                        200 => true,
                        404 | 403 => false,
                        other => panic!("{case}: {other} {}", reply.text()),
                    };
                    if let Some(must) = expect(&r.records["read"], res, &attrs) {
                        assert_eq!(
                            shown, must,
                            "{case}: the concept says {:?}",
                            r.records["read"]
                        );
                    }
                    *figures.entry("reads").or_default() += 1;
                    if !shown {
                        continue;
                    }
                    let body = reply.json();
                    for (g, group) in res.groups.iter().enumerate() {
                        if let Some(s) = seen(res, stored, &body, g) {
                            check_group_read(
                                &format!("{case} {group}"),
                                group_right(r, group, "read"),
                                s,
                                res,
                                &attrs,
                            );
                            *figures.entry("group reads").or_default() += 1;
                        }
                    }
                }
                // creates: one property of every group
                n += 1;
                let wanted = writable_props(res);
                let mut props = Map::new();
                for p in wanted.values() {
                    props.insert(p.clone(), json!(sample_value(p, &res.entity_type, n)));
                }
                let stamp = crmgate::stages::write_inputs::Stamp::of(config, &scope, String::new());
                let mut after = props.clone();
                if let Some(spec) = &res.provenance {
                    after.insert(spec.source.clone(), json!(stamp.source));
                }
                let attrs = attrs_of(res, &json!({ &res.properties_field: after }));
                let path = format!("/crm/v3/objects/{}", res.collection);
                let reply = proxy
                    .request(
                        "POST",
                        &path,
                        Some(key),
                        Some(purpose),
                        Some(json!({"properties": props})),
                    )
                    .await;
                let case = format!("{principal}/{purpose}/{} create", res.entity_type);
                let created = match reply.status {
                    201 | 200 => true,
                    403 | 404 => false,
                    other => panic!("{case}: {other} {}", reply.text()),
                };
                if let Some(must) = expect(&r.records["create"], res, &attrs) {
                    assert_eq!(
                        created,
                        must,
                        "{case}: the concept says {:?}: {}",
                        r.records["create"],
                        reply.text()
                    );
                }
                *figures.entry("creates").or_default() += 1;
                if created {
                    let stripped: Vec<String> = reply
                        .headers
                        .get("x-crmgate-stripped")
                        .map(|h| {
                            h.to_str()
                                .unwrap()
                                .split(", ")
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    for group in wanted.keys() {
                        let written = !stripped.contains(group);
                        check_group_write(
                            &format!("{case} {group}"),
                            group_right(r, group, "create"),
                            written,
                            res,
                            &attrs,
                        );
                        *figures.entry("group creates").or_default() += 1;
                    }
                }
                // updates: each group on its own, on stored records of every kind, with the
                // value the record holds (nothing changes but what a policy lets through)
                let mut kinds = std::collections::BTreeSet::new();
                for (collection, entity, stored) in
                    records.iter().filter(|x| x.1 == res.entity_type)
                {
                    let attrs = attrs_of(res, stored);
                    // one record of each kind (the attributes the policies read), eight kinds
                    if kinds.len() >= 8 || !kinds.insert(format!("{attrs:?}")) {
                        continue;
                    }
                    let id = stored["id"].as_str().unwrap();
                    for (group, prop) in &wanted {
                        let Some(v) = stored[&res.properties_field][prop]
                            .as_str()
                            .filter(|v| !v.is_empty())
                        else {
                            continue;
                        };
                        let path = format!("/crm/v3/objects/{collection}/{id}");
                        let reply = proxy
                            .request(
                                "PATCH",
                                &path,
                                Some(key),
                                Some(purpose),
                                Some(json!({"properties": {prop: v}})),
                            )
                            .await;
                        let case = format!("{principal}/{purpose}/{entity} {id} update {group}");
                        let (record_ok, written) = match reply.status {
                            200 => (true, true),
                            403 if reply.text().contains("Write refused") => (true, false),
                            403 | 404 => (false, false),
                            422 => continue, // its stored text holds data the caller may not have blacked out
                            other => panic!("{case}: {other} {}", reply.text()),
                        };
                        if let Some(must) = expect(&r.records["update"], res, &attrs) {
                            assert_eq!(
                                record_ok,
                                must,
                                "{case}: the concept says {:?}: {}",
                                r.records["update"],
                                reply.text()
                            );
                        }
                        if record_ok {
                            check_group_write(
                                &case,
                                group_right(r, group, "update"),
                                written,
                                res,
                                &attrs,
                            );
                            *figures.entry("group updates").or_default() += 1;
                        }
                        *figures.entry("updates").or_default() += 1;
                    }
                }
            }
        }
    }
    eprintln!("compared with the proxy: {figures:?}");
    assert!(
        figures["reads"] > 1000 && figures["group reads"] > 3000,
        "{figures:?}"
    );
    assert!(
        figures["creates"] > 20 && figures["group creates"] > 50,
        "{figures:?}"
    );
    assert!(
        figures["updates"] > 1000 && figures["group updates"] > 300,
        "{figures:?}"
    );
}

/// The headings each document must show, per language (besides its title).
fn expected_sections(kind: &str, lang: &str) -> Vec<&'static str> {
    match (kind, lang) {
        ("permission-concept", "en") => vec![
            "Permission concept",
            "Purposes and legal bases",
            "Field groups and the CRM fields they hold",
            "Access rights per department and purpose",
            "Special-category data in free text",
            "Approval",
        ],
        ("permission-concept", _) => vec![
            "Berechtigungskonzept",
            "Zwecke und Rechtsgrundlagen",
            "Datengruppen und die CRM-Felder, die sie umfassen",
            "Zugriffsrechte je Abteilung und Zweck",
            "Besondere Kategorien in Freitexten",
            "Freigabe",
        ],
        ("deletion-record", "en") => vec![
            "Deletion concept and deletion record",
            "Data kinds and rules",
            "Holds",
            "The audit log's own retention",
            "Deletion record",
            "Records kept by a hold",
        ],
        ("deletion-record", _) => vec![
            "Löschkonzept und Löschprotokoll",
            "Datenarten und Regeln",
            "Sperren",
            "Aufbewahrung des Audit-Protokolls",
            "Löschprotokoll",
            "Durch eine Sperre aufbewahrte Datensätze",
        ],
        ("processing-record", "en") => vec![
            "Record of processing activities (Art. 30 GDPR)",
            "Processing activities",
            "Technical and organisational measures (Art. 32 GDPR) crmgate provides",
        ],
        ("processing-record", _) => vec![
            "Verzeichnis von Verarbeitungstätigkeiten (Art. 30 DSGVO)",
            "Verarbeitungstätigkeiten",
            "Technische und organisatorische Maßnahmen (Art. 32 DSGVO), die crmgate umsetzt",
        ],
        ("subject-access", "en") => vec![
            "Access request answer (Art. 15 GDPR)",
            "Purposes and legal bases per category of data",
            "Copy of your data (Art. 15(3) GDPR)",
            "Source of the data",
            "Storage periods",
            "Recipients",
            "Accesses, writes and erasures by department",
            "Your rights (Art. 15(1) GDPR)",
        ],
        ("subject-access", _) => vec![
            "Auskunft nach Art. 15 DSGVO",
            "Zwecke und Rechtsgrundlagen je Datenkategorie",
            "Kopie Ihrer Daten (Art. 15 Abs. 3 DSGVO)",
            "Herkunft der Daten",
            "Speicherfristen",
            "Empfänger",
            "Zugriffe, Schreibzugriffe und Löschungen je Abteilung",
            "Ihre Rechte (Art. 15 Abs. 1 DSGVO)",
        ],
        _ => panic!("no sections known for `{kind}`"),
    }
}

/// The visible text of an HTML page (styles and tags removed, entities left).
fn visible_text(html: &str) -> String {
    let no_style = regex::Regex::new(r"(?s)<style>.*?</style>")
        .unwrap()
        .replace_all(html, " ");
    regex::Regex::new(r"<[^>]*>")
        .unwrap()
        .replace_all(&no_style, " ")
        .into_owned()
}

/// The page with a probe that writes, once laid out, how wide the document is against the
/// window and how many boxes overflow their own width.
fn probed(html: &str) -> String {
    let probe = "<script>addEventListener('load',()=>{const d=document.documentElement;\
        const bad=[...document.querySelectorAll('table,td,th,p,li,dd,dt,h1,h2,h3,dl,ul')]\
        .filter(e=>e.scrollWidth>e.clientWidth+1).length;const p=document.createElement('pre');\
        p.id='probe';p.textContent='sw='+d.scrollWidth+';cw='+d.clientWidth+';bad='+bad;\
        document.body.appendChild(p);});</script>";
    html.replace("</body>", &format!("{probe}</body>"))
}

/// Generate one document with the binary, from the shipped configuration.
fn generate(kind: &str, lang: &str, format: &str, out: &std::path::Path, extra: &[String]) {
    let config = crate::support::repo().join("policies/crmgate.toml");
    generate_with(kind, lang, format, out, &config, extra);
}

/// Generate one document with the binary.
fn generate_with(
    kind: &str,
    lang: &str,
    format: &str,
    out: &std::path::Path,
    config: &std::path::Path,
    extra: &[String],
) {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args([
            "docs",
            kind,
            "--lang",
            lang,
            "--format",
            format,
            "--date",
            "2026-12-07",
        ])
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env_remove("CRMGATE_DPO_KEY")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "crmgate docs {kind} --lang {lang}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// Where the screenshots are kept for a person to look at.
fn screens_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::support::repo().join("target"));
    let dir = target.join("docs-screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Render a generated HTML document in Chromium: printed to PDF, screenshot at A4 width
/// kept, and laid out at A4's printable width (182 mm, 688 px) and full width (794 px)
/// with nothing wider than the page.
fn check_in_chromium(chromium: &std::path::Path, dir: &std::path::Path, kind: &str, lang: &str) {
    let page = dir.join(format!("{kind}-{lang}.html"));
    let html = std::fs::read_to_string(&page).unwrap();
    let case = format!("{kind} ({lang})");
    // no Markdown left, no script
    let text = visible_text(&html);
    for syntax in ["**", "`", "|---", "## ", "\\_", "](", "- **"] {
        assert!(
            !text.contains(syntax),
            "{case}: Markdown `{syntax}` left in the HTML"
        );
    }
    assert!(!html.contains("<script"), "{case}: a script in the page");
    for section in expected_sections(kind, lang) {
        assert!(
            html.contains(&format!(">{}</h", section.replace('\'', "&#39;"))),
            "{case}: no section `{section}`"
        );
    }
    // printed to PDF (A4, by the page's own @page rule)
    let pdf = dir.join(format!("{kind}-{lang}.pdf"));
    crate::support::chromium_run(
        chromium,
        &page,
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".into(),
        ],
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(
        bytes.starts_with(b"%PDF") && bytes.len() > 5000,
        "{case}: no PDF"
    );
    // a screenshot of the first page at A4 width, for a person to look at
    let png = screens_dir().join(format!("{kind}-{lang}.png"));
    crate::support::chromium_run(
        chromium,
        &page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=794,1123".into(),
        ],
    );
    assert!(
        std::fs::metadata(&png).unwrap().len() > 10_000,
        "{case}: no screenshot"
    );
    let _ = std::fs::copy(&pdf, screens_dir().join(format!("{kind}-{lang}.pdf")));
    let _ = std::fs::copy(&page, screens_dir().join(format!("{kind}-{lang}.html")));
    // laid out at both widths: nothing wider than the window, no box wider than itself
    let probe = dir.join(format!("{kind}-{lang}-probe.html"));
    std::fs::write(&probe, probed(&html)).unwrap();
    let re = regex::Regex::new(r"sw=(\d+);cw=(\d+);bad=(\d+)").unwrap();
    for width in [688, 794] {
        let dom = crate::support::chromium_run(
            chromium,
            &probe,
            &["--dump-dom".into(), format!("--window-size={width},1000")],
        );
        let c = re
            .captures(&dom)
            .unwrap_or_else(|| panic!("{case}: the probe did not run"));
        let (sw, cw, bad): (u32, u32, u32) = (
            c[1].parse().unwrap(),
            c[2].parse().unwrap(),
            c[3].parse().unwrap(),
        );
        assert!(
            sw <= cw && cw <= width && cw + 20 >= width && bad == 0,
            "{case} at {width} px: the document is {sw} px wide in a {cw} px window, {bad} boxes overflow"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_document_prints_to_a4_in_chromium_in_both_languages_with_nothing_cut_off() {
    let test = "every_document_prints_to_a4_in_chromium_in_both_languages_with_nothing_cut_off";
    let Some(chromium) = crate::support::chromium(test) else {
        return;
    };
    // The access request answer for a contact two departments looked up and one changed,
    // with its copy read through crmgate.
    let proxy = Proxy::start().await;
    const C: &str = "/crm/v3/objects/contacts/1001";
    assert_eq!(proxy.get(C, "holly", None).await.status, 200);
    assert_eq!(proxy.get(C, "tinsel", Some("greetings")).await.status, 200);
    let w = proxy
        .request(
            "PATCH",
            C,
            Some("noelle"),
            Some("contract_fulfilment"),
            Some(json!({"properties": {"jobtitle": "Senior partner"}})),
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.text());
    let dir = tempfile::tempdir().unwrap();
    // A deletion run's checkpoint: an archive, an erasure, a record a hold keeps.
    let checkpoint = dir.path().join("run.jsonl");
    let line = |event: &str, id: &str, rule: &str, action: &str, held: &[&str]| {
        json!({"run": "r1", "at": "2026-12-02T03:00:00Z", "event": event, "entry": {
            "rule": rule, "resource": "Contact", "id": id, "action": action,
            "due_on": "2026-12-01", "held_by": held}})
        .to_string()
    };
    let lines = [
        json!({"run": "r1", "at": "2026-12-02T03:00:00Z", "event": "run", "today": "2026-12-02"})
            .to_string(),
        line(
            "held",
            "1043",
            "wish_list_prospects",
            "archive",
            &["legal_hold"],
        ),
        line("done", "1032", "wish_list_prospects", "archive", &[]),
        line("done", "1053", "purchased_leads", "gdpr_delete", &[]),
    ];
    std::fs::write(&checkpoint, lines.join("\n") + "\n").unwrap();
    let mut checked = 0;
    for kind in [
        "permission-concept",
        "processing-record",
        "deletion-record",
        "subject-access",
    ] {
        for lang in ["en", "de"] {
            let page = dir.path().join(format!("{kind}-{lang}.html"));
            let extra = match kind {
                "deletion-record" => {
                    vec!["--checkpoint".to_string(), checkpoint.display().to_string()]
                }
                _ => vec![],
            };
            if kind == "subject-access" {
                generate_for(&proxy, "contact/1001", lang, &page);
            } else {
                generate(kind, lang, "html", &page, &extra);
            }
            check_in_chromium(&chromium, dir.path(), kind, lang);
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}

/// A copy of the demo configuration (policies/ beside the repository's certs/) in `dir`.
fn demo_config_copy(dir: &std::path::Path) -> std::path::PathBuf {
    let repo = crate::support::repo();
    let policies = dir.join("policies");
    std::fs::create_dir_all(policies.join("redaction")).unwrap();
    for sub in ["", "redaction"] {
        for e in std::fs::read_dir(repo.join("policies").join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, policies.join(sub).join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    std::os::unix::fs::symlink(repo.join("certs"), dir.join("certs")).unwrap();
    policies.join("crmgate.toml")
}

#[test]
fn check_refuses_a_hold_without_a_legal_basis() {
    let dir = tempfile::tempdir().unwrap();
    let config = demo_config_copy(dir.path());
    let check = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
            .args(["check", "--config"])
            .arg(&config)
            .output()
            .unwrap()
    };
    assert_eq!(check().status.code(), Some(0), "{:?}", check());
    let retention = dir.path().join("policies/retention.toml");
    let text = std::fs::read_to_string(&retention).unwrap();
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("legal_basis = \"Art. 17(3)(e) GDPR: establishment"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(text, without, "the open-dispute hold names its basis");
    std::fs::write(&retention, without).unwrap();
    let out = check();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("holds.open_dispute: a hold needs a `legal_basis`"),
        "{stderr}"
    );
}

/// The demo proxy with the deletion concept, on the day the seed's dates are read against.
async fn retention_proxy() -> Proxy {
    Proxy::start_with(crate::support::Options {
        policy_lines: format!(
            "retention = \"{}\"",
            crate::support::repo()
                .join("policies/retention.toml")
                .display()
        ),
        extra_config: "[retention]\ntoday = \"2026-12-02\"\n".into(),
        ..crate::support::Options::default()
    })
    .await
}

#[tokio::test]
async fn the_deletion_record_lists_each_record_the_run_deleted_with_rule_basis_and_restore_window_and_each_held_record(
) {
    let proxy = retention_proxy().await;
    let cfg = proxy.dir.path().join("crmgate.toml");
    let config = crmgate::config::Config::load(&cfg).unwrap();
    let policies = crmgate::startup::app::load_policies(&config).unwrap();
    let conn = crmgate::tools::retention::Connection {
        base: format!("https://localhost:{}", proxy.addr.port()),
        key: "demo-key-retention".into(),
        ca: Some(crate::support::repo().join("certs/ca.pem")),
        rate: 0.0,
        max_pages: 50,
    };
    let checkpoint = proxy.dir.path().join("run.jsonl");
    let opts = crmgate::tools::retention::ApplyOptions {
        checkpoint: checkpoint.clone(),
        crash_after: None,
    };
    let applied =
        crmgate::tools::retention::apply(&policies, config.policies.retention_clock, &conn, &opts)
            .await
            .unwrap();
    assert!(applied.failed.is_empty() && applied.done > 5, "{applied:?}");
    let out = proxy.dir.path().join("record.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(["docs", "deletion-record", "--format", "json", "--config"])
        .arg(&cfg)
        .arg("--checkpoint")
        .arg(&checkpoint)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let record: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let deleted = record["deleted"].as_array().unwrap();
    // Exactly what the run did, each with its rule's legal basis.
    assert_eq!(deleted.len(), applied.done, "{record:#}");
    let by = |rule: &str| -> Vec<(String, String, Value)> {
        let mut v: Vec<_> = deleted
            .iter()
            .filter(|d| d["rule"] == rule)
            .map(|d| {
                assert!(d["legal_basis"].as_str().unwrap().contains("GDPR"), "{d}");
                (
                    d["id"].as_str().unwrap().to_string(),
                    d["action"].as_str().unwrap().to_string(),
                    d["restorable_until"].clone(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let archived = by("wish_list_prospects");
    assert_eq!(
        archived.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(),
        ["1032", "1046", "1048"]
    );
    // The vendor keeps an archived record restorable for 90 days (its profile says so).
    let at = deleted.iter().find(|d| d["id"] == "1032").unwrap()["at"]
        .as_str()
        .unwrap()
        .get(..10)
        .unwrap()
        .to_string();
    let day = crmgate::retention::Day::parse(&at).unwrap();
    let expected = crmgate::retention::Day(day.0 + 90).to_string();
    assert!(archived
        .iter()
        .all(|a| a.1 == "archive" && a.2 == expected.as_str()));
    let erased = by("purchased_leads");
    assert_eq!(erased.len(), 2);
    assert!(erased.iter().all(|a| a.1 == "gdpr_delete" && a.2.is_null()));
    assert!(by("wish_texts")
        .iter()
        .all(|a| a.1 == "anonymise" && a.2.is_null()));
    // The records a hold keeps, each with its hold.
    let held: BTreeMap<String, String> = record["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["id"].as_str().unwrap().to_string(),
                h["held_by"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(held["1043"], "legal_hold");
    for id in ["1005", "1015", "1026", "1029"] {
        assert!(
            held[id].starts_with("invoices_and_booking_records until "),
            "{held:?}"
        );
    }
    assert_eq!(held.len(), 5, "{held:?}");
    assert_eq!(record["vendor_restore_days"], 90);
}

#[test]
fn what_changed_since_an_earlier_revision_names_exactly_the_rights_a_policy_edit_changed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = demo_config_copy(dir.path());
    let concept = || {
        let (config, _) = crmgate::tools::cli::load_config_for_tools(&cfg).unwrap();
        let policies = crmgate::startup::app::load_policies(&config).unwrap();
        permission::compute(&config, &policies, "2026-12-07")
    };
    let before = concept();
    // Unchanged policies: nothing changed.
    let same = permission::diff::diff(&before, &before);
    assert!(same.rights.is_empty() && same.purposes.is_empty());
    // The data steward may no longer correct provenance.
    let cedar = dir.path().join("policies/santa.cedar");
    let text = std::fs::read_to_string(&cedar).unwrap();
    let edited = text.replace(
        "when { principal.roles.contains(\"data_steward\") };",
        "when { false };",
    );
    assert_ne!(text, edited);
    std::fs::write(&cedar, edited).unwrap();
    let after = concept();
    assert_ne!(before.policy_revision, after.policy_revision);
    let changes = permission::diff::diff(&before, &after);
    assert!(changes.purposes.is_empty(), "{:?}", changes.purposes);
    assert!(!changes.rights.is_empty());
    for c in &changes.rights {
        assert_eq!(
            (c.subject.as_str(), c.aspect.as_str(), c.action.as_str()),
            ("accounting", "provenance", "update"),
            "{c:?}"
        );
        assert_eq!(c.before, Some(Right::Yes), "{c:?}");
        assert_eq!(c.now, Some(Right::Refused), "{c:?}");
    }
    // And the document says so, in German, from a JSON file of the earlier revision.
    let earlier = dir.path().join("earlier.json");
    std::fs::write(&earlier, serde_json::to_string(&before).unwrap()).unwrap();
    let loaded =
        crmgate::tools::docs::earlier(earlier.to_str().unwrap(), &cfg, "2026-12-07").unwrap();
    let (config, _) = crmgate::tools::cli::load_config_for_tools(&cfg).unwrap();
    let ch = permission::diff::diff(&loaded, &after);
    let doc = permission::doc::document(&after, Some(&ch), &config, crmgate::tools::docs::Lang::De);
    let md = crmgate::tools::docs::render::markdown(&doc);
    assert!(
        md.contains("## Änderungen seit der vorigen Revision"),
        "{md}"
    );
    assert!(
        md.contains("| Buchhaltung — Erfüllung von Aufträgen und Verträgen mit Bestandskunden: Lieferung, Rechnung, Support — Kontakt | Herkunft der Daten: Ändern | erlaubt | Schreiben abgelehnt |"),
        "{md}"
    );
}

#[test]
fn the_processing_record_has_one_entry_per_purpose_with_controller_processor_and_measures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    generate("processing-record", "en", "json", &out, &[]);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let (config, _) = crmgate::tools::cli::load_config_for_tools(
        &crate::support::repo().join("policies/crmgate.toml"),
    )
    .unwrap();
    let purposes: Vec<&str> = r["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(
        purposes,
        config
            .purposes
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert!(r["controller"]
        .as_str()
        .unwrap()
        .contains("Santa Claus GmbH"));
    assert!(r["processor_contract"]
        .as_str()
        .unwrap()
        .contains("Art. 28"));
    for a in r["activities"].as_array().unwrap() {
        let recipients = a["recipients"].as_array().unwrap();
        assert!(
            recipients
                .last()
                .unwrap()
                .as_str()
                .unwrap()
                .contains("processor"),
            "{a}"
        );
        assert!(!a["legal_basis"].as_str().unwrap().is_empty(), "{a}");
    }
    // greetings reach customers only, and only marketing; the wish text is marked special
    let greetings = r["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["purpose"] == "greetings")
        .unwrap();
    assert_eq!(greetings["data_subjects"], json!(["Contact (customers)"]));
    assert_eq!(greetings["recipients"][0], "Marketing");
    let cf = r["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["purpose"] == "contract_fulfilment")
        .unwrap();
    assert_eq!(cf["special"], json!(["Contact: Free-text message"]));
    let measures = r["measures"].as_array().unwrap();
    assert!(
        measures
            .iter()
            .any(|m| m[1].as_str().unwrap().contains("1095")),
        "{measures:?}"
    );
}

/// GET a path of the test's CRM directly (crmgate's upstream, with its token).
async fn crm_get(proxy: &Proxy, path: &str) -> (u16, Value) {
    let cfg = std::fs::read_to_string(proxy.dir.path().join("crmgate.toml")).unwrap();
    let url = regex::Regex::new(r#"url = "http://([^"]+)""#)
        .unwrap()
        .captures(&cfg)
        .unwrap()[1]
        .to_string();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(&url).await.unwrap();
    s.write_all(
        format!(
            "GET {path} HTTP/1.1\r\nHost: crm\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            crate::support::UPSTREAM_TOKEN
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let reply = crate::support::parse_response(&raw);
    (
        reply.status,
        serde_json::from_slice(&reply.body).unwrap_or(Value::Null),
    )
}

/// `crmgate docs subject-access` as the data protection officer (`demo-key-mira`), reading
/// the copy through the test's proxy: the answer as JSON, and what the tool printed.
fn subject_answer(proxy: &Proxy, subject: &str, extra: &[&str]) -> (Value, String) {
    let out = proxy.dir.path().join("answer.json");
    let _ = std::fs::remove_file(&out);
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(["docs", "subject-access", "--subject", subject])
        .args(["--format", "json", "--key", "demo-key-mira", "--url"])
        .arg(format!("https://localhost:{}", proxy.addr.port()))
        .arg("--ca")
        .arg(crate::support::repo().join("certs/ca.pem"))
        .arg("--config")
        .arg(proxy.dir.path().join("crmgate.toml"))
        .arg("--audit-dir")
        .arg(proxy.audit_dir())
        .arg("--out")
        .arg(&out)
        .args(extra)
        .env_remove("CRMGATE_DPO_KEY")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(status.status.success(), "{printed}");
    let answer = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (answer, printed)
}

/// The answer's accesses as (department, what, purpose), department by department.
fn accesses_of(a: &Value) -> Vec<(String, String, String)> {
    a["accesses"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(dept, list)| {
            list.as_array().unwrap().iter().map(move |x| {
                assert!(
                    x.get("employee").is_none(),
                    "an employee named unasked: {x}"
                );
                (
                    dept.clone(),
                    x["what"].as_str().unwrap().to_string(),
                    x["purpose"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect()
}

/// The record as the CRM holds it: its properties and its top-level fields with a value.
fn held_fields(record: &Value) -> Map<String, Value> {
    let full = |v: &Value| !(v.is_null() || v == "" || v == &json!([]) || v == &json!({}));
    let mut m: Map<String, Value> = record["properties"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| full(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in record.as_object().unwrap() {
        if k != "properties" && k != "id" && full(v) && !m.contains_key(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_request_answer_for_contact_1001_lists_exactly_its_accesses_writes_and_erasure_by_department_with_a_copy_equal_to_the_crms_record(
) {
    let proxy = Proxy::start().await;
    const C: &str = "/crm/v3/objects/contacts/1001";
    for (user, purpose) in [
        ("holly", Some("contract_fulfilment")),
        ("penny", None),
        ("tinsel", Some("greetings")),
        ("rudolph", Some("customer_visit")),
    ] {
        assert_eq!(proxy.get(C, user, purpose).await.status, 200, "{user}");
    }
    // refused: nothing of the record reached the caller, so it is no access to it
    assert_eq!(
        proxy
            .get(C, "tinsel", Some("product_marketing"))
            .await
            .status,
        404
    );
    // the DPO's purpose is the DPO's alone
    assert_eq!(
        proxy
            .get(C, "holly", Some("data_subject_access"))
            .await
            .status,
        403
    );
    let name =
        proxy.crm().record_json("contacts", "1001").unwrap()["properties"]["firstname"].clone();
    let w = proxy
        .request(
            "PATCH",
            C,
            Some("noelle"),
            Some("contract_fulfilment"),
            Some(json!({"properties": {"firstname": name}})),
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.text());

    let (a, _) = subject_answer(&proxy, "contact/1001", &[]);
    let contract =
        "Fulfilling orders and contracts with existing customers: delivery, invoicing, support";
    let answering = "Answering a person's request for access to their data (Art. 15 GDPR)";
    let t = |d: &str, w: &str, p: &str| (d.to_string(), w.to_string(), p.to_string());
    let made = vec![
        t("Accounting", "looked_up", contract),
        t("Customer service", "looked_up", contract),
        // the DPO's own read of the copy, audited like any access
        t("Data protection", "looked_up", answering),
        t(
            "Field sales",
            "looked_up",
            "Preparing and making visits to existing customers",
        ),
        t(
            "Marketing",
            "looked_up",
            "Birthday and Christmas greetings (advertising)",
        ),
        t("Sales", "changed", contract),
    ];
    assert_eq!(accesses_of(&a), made);
    assert_eq!(a["record"], "Contact 1001");
    // the copy equals the record as the CRM answers it directly
    let (status, _) = crm_get(&proxy, C).await;
    assert_eq!(status, 200);
    let direct = proxy.crm().record_json("contacts", "1001").unwrap();
    let copy = &a["copy"];
    assert_eq!(copy["held"], true);
    assert_eq!(copy["record_id"], "1001");
    assert_eq!(
        copy["fields"].as_object().unwrap(),
        &held_fields(&direct),
        "the copy differs from the CRM's record"
    );
    assert!(copy["fields"].as_object().unwrap().len() > 10, "{copy}");
    // the CRM vendor is named as processor among the recipients
    assert!(a["recipients"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .contains("processor"));
    // employees only when asked for
    let (named, _) = subject_answer(&proxy, "contact/1001", &["--name-employees"]);
    assert_eq!(named["accesses"]["Sales"][0]["employee"], "noelle");

    // by e-mail address: the same record, looked up through crmgate; the address is in
    // no audit record and in none of the document's own words
    let email = direct["properties"]["email"].as_str().unwrap().to_string();
    let (by_mail, printed) = subject_answer(&proxy, &email, &[]);
    assert_eq!(by_mail["record"], "Contact 1001");
    assert_eq!(by_mail["copy"], a["copy"]);
    assert!(!printed.contains(&email), "{printed}");
    let mut meta = by_mail.clone();
    meta.as_object_mut().unwrap().remove("copy");
    assert!(!meta.to_string().contains(&email), "{meta}");
    for e in crate::support::audit_entries(&proxy.audit_dir()) {
        assert!(
            !e.to_string().contains(&email),
            "the e-mail address logged: {e}"
        );
    }

    // the GDPR delete through crmgate
    let erase = proxy
        .post(
            "/crm/v3/objects/contacts/gdpr-delete",
            "holly",
            Some("contract_fulfilment"),
            json!({"objectId": "1001"}),
        )
        .await;
    assert_eq!(erase.status, 204, "{}", erase.text());
    assert_eq!(crm_get(&proxy, C).await.0, 404);
    let (after, _) = subject_answer(&proxy, "contact/1001", &[]);
    let mut expected = made.clone();
    // the three reads by the DPO so far (by id, with names, by e-mail address)
    expected.insert(3, t("Data protection", "looked_up", answering));
    expected.insert(3, t("Data protection", "looked_up", answering));
    expected.insert(2, t("Customer service", "erased", contract));
    assert_eq!(accesses_of(&after), expected);
    assert_eq!(after["copy"]["held"], false);
    assert!(after["copy"]["fields"].as_object().unwrap().is_empty());
    // and in words: labelled an erasure, no data held
    let html = proxy.dir.path().join("after.html");
    generate_for(&proxy, "contact/1001", "en", &html);
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.contains("erased for good (erasure, Art. 17 GDPR)"));
    assert!(text.contains("We hold no personal data about you"));
}

/// The answer to an access request as HTML, with the copy read through the test's proxy.
fn generate_for(proxy: &Proxy, subject: &str, lang: &str, out: &std::path::Path) {
    let port = proxy.addr.port().to_string();
    generate_with(
        "subject-access",
        lang,
        "html",
        out,
        &proxy.dir.path().join("crmgate.toml"),
        &[
            "--subject".into(),
            subject.into(),
            "--key".into(),
            "demo-key-mira".into(),
            "--url".into(),
            format!("https://localhost:{port}"),
            "--ca".into(),
            crate::support::repo()
                .join("certs/ca.pem")
                .display()
                .to_string(),
            "--audit-dir".into(),
            proxy.audit_dir().display().to_string(),
        ],
    );
}
