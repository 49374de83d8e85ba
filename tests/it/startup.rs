//! Start-up problems are reported with file and line, before any port is bound.

use std::process::Command;

use crate::support::{repo, write_config};

fn crmgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crmgate"))
}

#[test]
fn a_broken_policy_is_reported_with_file_and_line_and_nothing_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.cedar");
    std::fs::write(
        &bad,
        "// fine\npermit (principal, action, resource);\n\npermit (principal, action == Action::\"read\", resource is Contact)\nwhen { resource.lifecylce == \"customer\" };\n",
    )
    .unwrap();
    // A port that is taken: if serve got as far as binding, it would say so instead.
    let cfg = write_config(dir.path(), "127.0.0.1:9".parse().unwrap(), &bad, 1 << 20);
    for cmd in ["check", "serve"] {
        let out = crmgate()
            .args([cmd, "--config"])
            .arg(&cfg)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cmd} accepted a broken policy");
        assert!(stderr.contains("broken.cedar:5:"), "{cmd}: {stderr}");
        assert!(stderr.contains("lifecylce"), "{cmd}: {stderr}");
        assert!(!stderr.contains("listening"), "{cmd}: {stderr}");
    }
}

#[test]
fn an_unknown_mask_fails_the_load() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("masks.cedar");
    std::fs::write(
        &bad,
        "@mask(\"scramble\")\npermit (principal, action == Action::\"read.email\", resource);\n",
    )
    .unwrap();
    let cfg = write_config(dir.path(), "127.0.0.1:9".parse().unwrap(), &bad, 1 << 20);
    let out = crmgate()
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("masks.cedar:1:") && stderr.contains("unknown mask `scramble`"),
        "{stderr}"
    );
}

#[test]
fn the_shipped_configuration_checks_clean() {
    let out = crmgate()
        .args(["check", "--config"])
        .arg(repo().join("policies/crmgate.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: 25 routes"));
}
