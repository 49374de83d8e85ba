//! The house rules, checked on the source: the request path imports neither start-up nor
//! a tool nor the demo CRM, and every module's header says what it must never do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::house::{crate_sources, cycles, functions, references, resolve, Source};
use crate::support::repo;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its unit tests. A `tests.rs` child holds a module's unit
/// tests alone (declared `#[cfg(test)] mod tests;` by its parent): all of it is test code.
fn code(p: &Path) -> String {
    if p.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(p).unwrap();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[test]
fn no_stage_imports_start_up_a_tool_or_the_demo_crm() {
    let mut files = Vec::new();
    rust_files(&repo().join("src/stages"), &mut files);
    files.push(repo().join("src/stages.rs"));
    assert!(files.len() > 20);
    for f in &files {
        let code = code(f);
        for forbidden in [
            "crate::startup",
            "crate::tools",
            // The demo CRM is its own crate (`democrm/`).
            "democrm::",
            "crate::decide",
        ] {
            assert!(
                !code.contains(forbidden),
                "{} imports `{forbidden}`",
                f.display()
            );
        }
    }
}

#[test]
fn the_demo_crm_depends_on_nothing_of_crmgate() {
    // A dev-dependency would be no cargo cycle, yet would let the demo reach into the proxy.
    let manifest = std::fs::read_to_string(repo().join("democrm/Cargo.toml")).unwrap();
    for line in manifest
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
    {
        let name = line.split('=').next().unwrap_or_default().trim();
        assert!(
            !(name.starts_with("crmgate")
                || line.contains(".crmgate]")
                || line.contains("path = \"..")),
            "democrm/Cargo.toml depends on crmgate: {line}"
        );
    }
}

#[test]
fn every_module_says_what_it_must_never_do() {
    let mut files = Vec::new();
    rust_files(&repo().join("src"), &mut files);
    rust_files(&repo().join("democrm/src"), &mut files);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let header: Vec<&str> = text.lines().take_while(|l| l.starts_with("//!")).collect();
        assert!(!header.is_empty(), "{} has no `//!` header", f.display());
        let header = header.join(" ").to_lowercase();
        assert!(
            header.contains("never") || header.contains("must not"),
            "{}'s header does not say what it must never do",
            f.display()
        );
    }
}

/// The vendor seam: a new CRM is a new profile (files under `src/profiles/`) and no edit
/// under `src/stages/`. No stage names a profile or HubSpot, only the stages' `Vendor`
/// trait; only profiles implement it; and `profiles::select` is the one place a vendor's
/// name maps to its implementation.
#[test]
fn a_new_vendor_needs_no_edit_under_stages() {
    let mut stages = Vec::new();
    rust_files(&repo().join("src/stages"), &mut stages);
    stages.push(repo().join("src/stages.rs"));
    for f in &stages {
        let code = code(f);
        for forbidden in ["crate::profiles", "profiles::", "hubspot"] {
            assert!(
                !code.contains(forbidden),
                "{} names `{forbidden}`: a stage speaks to the CRM through `stages::vendor` only",
                f.display()
            );
        }
    }
    let profiles = repo().join("src/profiles");
    let selector = repo().join("src/profiles.rs");
    let mut all = Vec::new();
    rust_files(&repo().join("src"), &mut all);
    let mut selects = 0;
    for f in &all {
        let code = code(f);
        if code.contains("impl Vendor for") {
            assert!(
                f.starts_with(&profiles),
                "{} implements `Vendor` outside `src/profiles/`",
                f.display()
            );
        }
        if *f != selector && !f.starts_with(&profiles) {
            for forbidden in ["hubspot::", "\"hubspot\""] {
                assert!(
                    !code.contains(forbidden),
                    "{} names `{forbidden}`: only `profiles::select` maps a vendor's name to its profile",
                    f.display()
                );
            }
        }
        if *f == selector {
            selects += code
                .matches("pub fn select(name: &str, api_version: Option<&str>) -> Option<Arc<dyn Vendor>>")
                .count();
        }
    }
    assert_eq!(
        selects, 1,
        "`profiles::select` maps vendor names to profiles"
    );
}

/// The crates of this repository whose source the house rules cover: crmgate, and the demo
/// CRM where it is a crate of its own.
fn crates() -> Vec<Vec<Source>> {
    let mut out = vec![crate_sources(&repo(), &repo().join("src"))];
    let demo = repo().join("democrm/src");
    if demo.is_dir() {
        out.push(crate_sources(&repo(), &demo));
    }
    out
}

/// File → the files it imports, inside one crate.
fn import_graph(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let files: BTreeMap<Vec<String>, String> = sources
        .iter()
        .map(|s| (s.module.clone(), s.rel.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    for s in sources {
        let to: BTreeSet<String> = references(s)
            .iter()
            .filter_map(|p| resolve(&files, p))
            .filter(|f| **f != s.rel)
            .cloned()
            .collect();
        edges.insert(s.rel.clone(), to);
    }
    edges
}

/// The room of a file: its top-level module, or for the request path its stage.
fn room(rel: &str) -> String {
    let inner = rel
        .trim_start_matches("democrm/")
        .trim_start_matches("src/")
        .trim_end_matches(".rs");
    let parts: Vec<&str> = inner.split('/').collect();
    match parts.as_slice() {
        ["stages", stage, ..] => format!("stages/{stage}"),
        [top, ..] => top.to_string(),
        [] => String::new(),
    }
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    for sources in crates() {
        assert!(sources.len() > 10);
        let circles = cycles(&import_graph(&sources));
        assert!(
            circles.is_empty(),
            "import circles (each line one circle of files):\n{}",
            circles
                .iter()
                .map(|c| c.join(" <-> "))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn no_import_runs_back_up_between_rooms() {
    for sources in crates() {
        let mut rooms: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in import_graph(&sources) {
            let from_room = room(&from);
            let entry = rooms.entry(from_room.clone()).or_default();
            for t in to {
                let r = room(&t);
                // `lib.rs`, `main.rs` and `stages.rs` only declare and name the rooms.
                if r != from_room && !matches!(from_room.as_str(), "lib" | "main" | "stages") {
                    entry.insert(r);
                }
            }
        }
        let circles = cycles(&rooms);
        assert!(
            circles.is_empty(),
            "rooms that import each other (an arrow runs back up):\n{}",
            circles
                .iter()
                .map(|c| c.join(" <-> "))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn the_request_path_imports_nothing_that_runs_above_it() {
    let sources = crate_sources(&repo(), &repo().join("src"));
    let graph = import_graph(&sources);
    // `admin` (health and metrics counters) imports nothing of the crate: a leaf, below.
    let above = ["startup", "tools", "decide", "profiles", "main", "democrm"];
    let mut bad = Vec::new();
    for (from, to) in &graph {
        if !from.starts_with("src/stages") {
            continue;
        }
        for t in to {
            if above.contains(&room(t).as_str()) {
                bad.push(format!("{from} imports {t}"));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// A second vendor is new files under `src/profiles/` (and its demo upstream): nothing else
/// in the crate may name what is HubSpot's or Salesforce's.
#[test]
fn only_the_vendor_profiles_name_what_is_hubspots() {
    let sources = crate_sources(&repo(), &repo().join("src"));
    let vendor = regex::Regex::new(
        r"(?i)hs_object_id|idProperty|filterGroups|/crm/v3|x-hubspot|hubspot|paging\.next|salesforce|soql|sobjects|nextRecordsUrl|/services/data|queryAll",
    )
    .unwrap();
    let mut bad = Vec::new();
    for s in &sources {
        if s.rel.starts_with("src/profiles") {
            continue;
        }
        for m in vendor.find_iter(&s.text) {
            bad.push(format!(
                "{}:{}: {}",
                s.rel,
                crate::house::line_of(&s.text, m.start()),
                m.as_str()
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "vendor names outside src/profiles/:\n{}",
        bad.join("\n")
    );
}

/// Files that are tables (data written as code), exempt from the length rules.
const TABLES: &[&str] = &["democrm/src/seed.rs", "democrm/src/seed/data.rs"];

#[test]
fn no_file_over_800_lines_and_no_function_over_100() {
    let mut bad = Vec::new();
    for sources in crates() {
        for s in &sources {
            if TABLES.contains(&s.rel.as_str()) {
                continue;
            }
            // Lines of the file's own code: the blanked test items do not count.
            let lines = s.code.trim_end().lines().count();
            if lines > 800 {
                bad.push(format!("{} has {lines} lines", s.rel));
            }
            for (name, line, len) in functions(&s.code) {
                if len > 100 {
                    bad.push(format!("{}:{line}: fn {name} has {len} lines", s.rel));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
