//! What the repository ships must work as shipped: every crmgate configuration under
//! `policies/`, `deploy/` and `examples/` passes the real `crmgate check`. A configuration
//! written for Kubernetes is checked as a pod would see it: the files its kustomization
//! puts into ConfigMaps and the keys of its example Secrets are laid out under their
//! mount paths in a temp dir, and the absolute paths of the configuration point there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::repo;

/// Every `.toml` file below `dir` that is a crmgate configuration (it has `[listen]`,
/// `[upstream]` and `[policies]`).
fn find_configs(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            find_configs(&path, found);
        } else if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let Ok(table) = text.parse::<toml::Table>() else {
                continue;
            };
            if ["listen", "upstream", "policies"]
                .iter()
                .all(|k| table.contains_key(*k))
            {
                found.push(path);
            }
        }
    }
}

/// The value after `key:` on a YAML line (`- name: x`, `name: x`, or inside `{ key: x, … }`).
fn yaml_field(line: &str, key: &str) -> Option<String> {
    let needle = format!("{key}:");
    let at = line
        .match_indices(&needle)
        .find(|(i, _)| {
            *i == 0
                || line[..*i]
                    .chars()
                    .last()
                    .is_some_and(|c| c == ' ' || c == '{' || c == '-')
        })?
        .0;
    let rest = line[at + needle.len()..].trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    let value = rest[..end].trim().trim_matches('"');
    (!value.is_empty()).then(|| value.to_string())
}

/// `configMapGenerator` of a kustomization: ConfigMap name → its files (paths relative to
/// the kustomization).
fn config_maps(kustomization: &str) -> BTreeMap<String, Vec<String>> {
    let mut maps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_generator = false;
    let mut current: Option<String> = None;
    let mut in_files = false;
    for line in kustomization.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            in_generator = trimmed == "configMapGenerator:";
            current = None;
            continue;
        }
        if !in_generator {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix("- name:") {
            current = Some(name.trim().to_string());
            maps.entry(name.trim().to_string()).or_default();
            in_files = false;
        } else if trimmed == "files:" {
            in_files = true;
        } else if let (Some(file), true, Some(map)) =
            (trimmed.strip_prefix("- "), in_files, &current)
        {
            maps.get_mut(map).unwrap().push(file.trim().to_string());
        } else {
            in_files = false;
        }
    }
    maps
}

/// What a pod mounts: (mount path, what is mounted there).
#[derive(Debug)]
enum Volume {
    ConfigMap(String),
    Secret(String),
    Empty,
}

fn mounts(deployment: &str) -> Vec<(String, Volume)> {
    let mut mount_paths: Vec<(String, String)> = Vec::new();
    let mut volumes: BTreeMap<String, Volume> = BTreeMap::new();
    let mut section = "";
    let mut volume: Option<String> = None;
    for line in deployment.lines() {
        let trimmed = line.trim();
        if trimmed == "volumeMounts:" || trimmed == "volumes:" {
            section = if trimmed == "volumes:" {
                "volumes"
            } else {
                "mounts"
            };
            continue;
        }
        match section {
            "mounts" => match (
                yaml_field(trimmed, "name"),
                yaml_field(trimmed, "mountPath"),
            ) {
                (Some(name), Some(path)) => mount_paths.push((name, path)),
                _ => section = "",
            },
            "volumes" => {
                if let Some(name) = trimmed.strip_prefix("- name:") {
                    volume = Some(name.trim().to_string());
                } else if let Some(v) = &volume {
                    if trimmed.starts_with("configMap:") {
                        let name = yaml_field(trimmed, "name").unwrap();
                        volumes.insert(v.clone(), Volume::ConfigMap(name));
                    } else if trimmed.starts_with("secret:") {
                        let name = yaml_field(trimmed, "secretName").unwrap();
                        volumes.insert(v.clone(), Volume::Secret(name));
                    } else if trimmed.starts_with("emptyDir:") {
                        volumes.insert(v.clone(), Volume::Empty);
                    } else {
                        section = "";
                        volume = None;
                    }
                }
            }
            _ => {}
        }
    }
    mount_paths
        .into_iter()
        .map(|(name, path)| {
            let v = volumes
                .remove(&name)
                .unwrap_or_else(|| panic!("volume `{name}` is mounted but not declared"));
            (path, v)
        })
        .collect()
}

/// The example Secrets: name → keys with their example values.
fn secrets(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for doc in text.split("\n---") {
        let mut name = None;
        let mut data = Vec::new();
        let mut in_data = false;
        for line in doc.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            if !line.starts_with(' ') {
                in_data = trimmed == "stringData:";
                continue;
            }
            if in_data {
                let (k, v) = trimmed.split_once(':').unwrap();
                data.push((k.trim().to_string(), v.trim().trim_matches('"').to_string()));
            } else if name.is_none() {
                name = yaml_field(trimmed, "name");
            }
        }
        if let Some(name) = name {
            out.insert(name, data);
        }
    }
    out
}

/// An example secret's value with each `<placeholder>` replaced by hex digits (a token, a
/// password, a key seed and a hash key all accept them).
fn placeholder_filled(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('>').map_or(rest.len(), |c| open + c + 1);
        out.push_str(&"0123456789abcdef".repeat(4));
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// Lay out the pod's files for a configuration next to a `kustomization.yaml` and return
/// the path `check` is given (the configuration as mounted, its paths pointing into `root`).
fn as_mounted(config: &Path, root: &Path) -> PathBuf {
    let dir = config.parent().unwrap();
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
    };
    let maps = config_maps(&read("kustomization.yaml"));
    let secrets = secrets(&read("secrets.example.yaml"));
    let mounts = mounts(&read("deployment.yaml"));
    assert!(!mounts.is_empty(), "deployment.yaml mounts nothing");
    let mut mounted_config = None;
    for (mount, volume) in &mounts {
        let target = root.join(mount.trim_start_matches('/'));
        std::fs::create_dir_all(&target).unwrap();
        match volume {
            Volume::ConfigMap(name) => {
                let files = maps
                    .get(name)
                    .unwrap_or_else(|| panic!("ConfigMap `{name}` is not generated"));
                for f in files {
                    let (key, source) = f.split_once('=').unwrap_or_else(|| {
                        (Path::new(f).file_name().unwrap().to_str().unwrap(), f)
                    });
                    let source = dir.join(source);
                    std::fs::copy(&source, target.join(key))
                        .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
                    if source.canonicalize().unwrap() == config.canonicalize().unwrap() {
                        mounted_config = Some(target.join(key));
                    }
                }
            }
            Volume::Secret(name) => {
                let keys = secrets
                    .get(name)
                    .unwrap_or_else(|| panic!("Secret `{name}` has no example"));
                for (key, value) in keys {
                    std::fs::write(target.join(key), placeholder_filled(value)).unwrap();
                }
            }
            Volume::Empty => {}
        }
    }
    let mounted =
        mounted_config.unwrap_or_else(|| panic!("no ConfigMap mounts {}", config.display()));
    // The pod's absolute paths, re-rooted in the temp dir.
    let mut text = std::fs::read_to_string(&mounted).unwrap();
    for (mount, _) in &mounts {
        text = text.replace(
            &format!("\"{mount}"),
            &format!("\"{}{mount}", root.display()),
        );
    }
    std::fs::write(&mounted, text).unwrap();
    mounted
}

#[test]
fn every_shipped_configuration_passes_check() {
    let mut configs = Vec::new();
    for dir in ["policies", "deploy", "examples"] {
        find_configs(&repo().join(dir), &mut configs);
    }
    let names: Vec<String> = configs
        .iter()
        .map(|c| c.strip_prefix(repo()).unwrap().display().to_string())
        .collect();
    // The demo's and the Kubernetes deployment's, at least.
    assert!(
        names.contains(&"policies/crmgate.toml".to_string())
            && names.contains(&"deploy/kubernetes/crmgate.toml".to_string()),
        "{names:?}"
    );
    let mut failed = Vec::new();
    for (config, name) in configs.iter().zip(&names) {
        let root = tempfile::tempdir().unwrap();
        let checked = if config.with_file_name("kustomization.yaml").exists() {
            as_mounted(config, root.path())
        } else {
            config.clone()
        };
        let out = Command::new(env!("CARGO_BIN_EXE_crmgate"))
            .args(["check", "--config"])
            .arg(&checked)
            .env_remove("CRMGATE_UPSTREAM_TOKEN")
            .env_remove("CRMGATE_HASH_KEY")
            .output()
            .unwrap();
        if !out.status.success() {
            failed.push(format!(
                "{name}: exit {:?}\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
