//! Proof values: nothing reaches the CRM without a decision on that exact request. The
//! compiler refuses what these snippets try; each is type-checked with rustc against the
//! library this test binary was built with, next to a control snippet that compiles.

use std::path::PathBuf;
use std::process::Command;

/// The newest `libcrmgate-*.rlib` beside this test binary, and its dependency directory.
fn library() -> (PathBuf, PathBuf) {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap().to_path_buf();
    let rlib = std::fs::read_dir(&deps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("libcrmgate-") && name.ends_with(".rlib")
        })
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .expect("libcrmgate rlib beside the test binary");
    (rlib, deps)
}

/// Type-check a snippet against crmgate: Ok, or rustc's diagnostics.
fn check(snippet: &str) -> Result<(), String> {
    let (rlib, deps) = library();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("snippet.rs");
    std::fs::write(&src, snippet).unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--emit",
            "metadata",
        ])
        .arg("--out-dir")
        .arg(dir.path())
        .arg("-L")
        .arg(format!("dependency={}", deps.display()))
        .arg("--extern")
        .arg(format!("crmgate={}", rlib.display()))
        .arg(&src)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn the_compiler_refuses_an_upstream_call_without_a_permit() {
    // Control: with a Permit in hand, the call compiles (so the refusals below are about
    // the permit, not the harness).
    check(
        "pub async fn f(u: &crmgate::stages::upstream::Upstream, p: crmgate::stages::authz::Permit) {
            let _ = u.send(p, \"rid\", std::net::IpAddr::from([127, 0, 0, 1]), None).await;
        }",
    )
    .unwrap();

    // No permit: the call has no form without one.
    let e = check(
        "pub async fn f(u: &crmgate::stages::upstream::Upstream) {
            let _ = u.send(\"rid\", std::net::IpAddr::from([127, 0, 0, 1]), None).await;
        }",
    )
    .unwrap_err();
    assert!(e.contains("E0061"), "{e}");

    // A permit made up outside authz: its fields are private.
    let e = check(
        "pub fn f() -> crmgate::stages::authz::Permit {
            crmgate::stages::authz::Permit { route: String::new(), method: Default::default(),
                path_and_query: String::new(), body: None, writes: false }
        }",
    )
    .unwrap_err();
    assert!(e.contains("E0451"), "{e}");

    // An `Allowed` (what permits are made from) made up outside authz: private constructor.
    let e = check(
        "pub fn f() -> crmgate::stages::authz::Allowed {
            crmgate::stages::authz::Allowed::new(\"r\", &Default::default(), \"/\")
        }",
    )
    .unwrap_err();
    assert!(e.contains("E0624") || e.contains("E0603"), "{e}");

    // The response side: a releasable body is made by the filter only.
    check("pub fn f(r: crmgate::stages::filter::Releasable) -> usize { r.bytes().len() }").unwrap();
    let e = check(
        "pub fn f(v: Vec<u8>) -> crmgate::stages::filter::Releasable {
            crmgate::stages::filter::Releasable(v.into())
        }",
    )
    .unwrap_err();
    assert!(e.contains("E0423") || e.contains("E0603"), "{e}");
    let e = check("pub fn f() -> crmgate::stages::filter::Filtered { Default::default() }")
        .unwrap_err();
    assert!(e.contains("E0277"), "{e}");
}
