//! The house rules, checked on the source: the request path imports neither start-up nor
//! a tool nor the demo CRM, and every module's header says what it must never do.

use std::path::{Path, PathBuf};

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
                .matches("pub fn select(name: &str) -> Option<Arc<dyn Vendor>>")
                .count();
        }
    }
    assert_eq!(
        selects, 1,
        "`profiles::select` maps vendor names to profiles"
    );
}
