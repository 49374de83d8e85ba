//! The security team's commands: `check`, `test`, `explain`. Each loads exactly what
//! `serve` would load, reports problems with file and line, and returns an exit code:
//! 0 ok, 1 error (a file cannot be read, bad arguments), 2 failing policy tests,
//! 3 invalid configuration or policies.
//!
//! It must never report success for a configuration or test run with problems (exit codes 0, 1, 3).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

use crate::config::Config;
use crate::diagnostic::Problems;
use crate::routes::RecordSelector;
use crate::stages::filter::records;
use crate::stages::pipeline::Policies;
use crate::startup::app;
use crate::tools::{explain, policytest};

/// `--config`: the configuration file every subcommand that loads one takes, with one
/// default (flattened into each subcommand's arguments).
#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArgs {
    /// The configuration file.
    #[arg(
        id = "config",
        long = "config",
        value_name = "CONFIG",
        default_value = "policies/crmgate.toml"
    )]
    pub path: PathBuf,
}

/// `explain --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplainFormat {
    /// For a person.
    Text,
    /// The explanation as JSON.
    Json,
}

/// `matrix --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatrixFormat {
    /// A Markdown table.
    #[value(alias = "md")]
    Markdown,
    /// An HTML page.
    Html,
    /// The matrix as JSON.
    Json,
}

pub const EXIT_OK: u8 = 0;
pub const EXIT_ERROR: u8 = 1;
pub const EXIT_TESTS_FAILED: u8 = 2;
pub const EXIT_INVALID: u8 = 3;

/// Load a config for a tool: secrets from unset environment variables are replaced by
/// placeholders (the tools never use them) and reported.
pub fn load_config_for_tools(path: &Path) -> Result<(Config, Vec<String>), Problems> {
    let unset = RefCell::new(Vec::new());
    let config = Config::load_with_env(path, |name| {
        std::env::var(name).ok().or_else(|| {
            unset.borrow_mut().push(name.to_string());
            Some("placeholder-for-tools-only".to_string())
        })
    })?;
    Ok((config, unset.into_inner()))
}

/// Print every problem with its source line, and how many there are.
fn report(problems: &Problems) {
    for p in &problems.0 {
        eprintln!("error: {}", p.render());
    }
    eprintln!("{} problem(s) found", problems.0.len());
}

fn load(config_path: &Path) -> Result<(Config, Policies), u8> {
    let (config, unset) = load_config_for_tools(config_path).map_err(|e| {
        report(&e);
        if e.is_unreadable() {
            EXIT_ERROR
        } else {
            EXIT_INVALID
        }
    })?;
    for name in unset {
        eprintln!("note: environment variable `{name}` is not set; `serve` needs it");
    }
    let policies = app::load_policies(&config).map_err(|e| {
        report(&e);
        EXIT_INVALID
    })?;
    for owner in &policies.unlisted_key_owners {
        let message = format!(
            "the api key of `{owner}` names no principal in the entities: it is refused (401) until `{owner}` is listed again or the key is removed"
        );
        // At the key that names the owner, like the problems.
        let at = config.key_owners.iter().find(|k| &k.id == owner);
        let warning = match at {
            Some(k) => config.problem(&k.at, message),
            None => crate::diagnostic::Problem::file(&config.path, message),
        };
        eprintln!("warning: {}", warning.render());
    }
    Ok((config, policies))
}

/// `crmgate check`: validate everything `serve` loads. `samples` are `route=FILE` pairs:
/// sample upstream bodies whose unclassified properties are listed.
pub fn check(config_path: &Path, samples: &[String]) -> ExitCode {
    let (_config, policies) = match load(config_path) {
        Ok(x) => x,
        Err(code) => return ExitCode::from(code),
    };
    for s in samples {
        let Some((route_name, file)) = s.split_once('=') else {
            eprintln!("error: --sample takes `route=FILE`, not `{s}`");
            return ExitCode::from(EXIT_ERROR);
        };
        match unclassified_in_sample(&policies, route_name, Path::new(file)) {
            Ok(names) if names.is_empty() => {
                println!("sample `{file}` for route `{route_name}`: every property is classified")
            }
            Ok(names) => println!(
                "sample `{file}` for route `{route_name}`: unclassified (always removed): {}",
                names.join(", ")
            ),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    println!(
        "ok: {} routes, {} policies, policy revision {}",
        policies.routes.routes().len(),
        policies.engine.policy_ids().count(),
        policies.engine.revision()
    );
    if let Some(r) = &policies.retention {
        println!(
            "ok: deletion concept: {} rules, {} holds, carried out by app `{}`",
            r.kinds.len(),
            r.holds.len(),
            r.run.app
        );
    }
    ExitCode::from(EXIT_OK)
}

/// Property and field names of a sample body's records that no field group classifies.
pub fn unclassified_in_sample(
    policies: &Policies,
    route_name: &str,
    file: &Path,
) -> Result<Vec<String>, String> {
    let route = policies
        .routes
        .routes()
        .iter()
        .find(|r| r.name == route_name)
        .ok_or_else(|| format!("no route named `{route_name}`"))?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}:{}:{}: {e}", file.display(), e.line(), e.column()))?;
    let res = &route.resource;
    let recs: Vec<&Value> = match &route.records {
        RecordSelector::Root => vec![&doc],
        RecordSelector::Path { query, .. } => records::select_values(query, &doc)?,
    };
    let mut names = std::collections::BTreeSet::new();
    for r in recs {
        let Some(obj) = r.as_object() else { continue };
        if res.layout == crate::routes::Layout::Flat {
            for p in res.properties_of(obj).keys() {
                if !res.property_groups.contains_key(p) {
                    names.insert(p.clone());
                }
            }
        }
        for (k, v) in obj {
            if k == &res.id_field
                || res.structure.contains(k)
                || (res.layout == crate::routes::Layout::Flat && res.is_flat_property(k))
            {
                continue;
            }
            if k == &res.properties_field || res.history_field.as_deref() == Some(k.as_str()) {
                for p in v.as_object().into_iter().flat_map(|m| m.keys()) {
                    if !res.property_groups.contains_key(p) {
                        names.insert(p.clone());
                    }
                }
            } else if !res.field_groups.contains_key(k) {
                names.insert(k.clone());
            }
        }
    }
    Ok(names.into_iter().collect())
}

/// `crmgate test`: run the policy test files of `dir`.
pub fn test(config_path: &Path, dir: &Path) -> ExitCode {
    let (config, policies) = match load(config_path) {
        Ok(x) => x,
        Err(code) => return ExitCode::from(code),
    };
    match policytest::run_dir(&config, &policies, dir) {
        Ok(report) => {
            print!("{}", report.render());
            ExitCode::from(if report.failed() == 0 {
                EXIT_OK
            } else {
                EXIT_TESTS_FAILED
            })
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// `crmgate explain`.
pub fn explain(
    config_path: &Path,
    question: explain::Question,
    sample: Option<PathBuf>,
    json: bool,
) -> ExitCode {
    let (config, policies) = match load(config_path) {
        Ok(x) => x,
        Err(code) => return ExitCode::from(code),
    };
    let mut question = question;
    if let Some(file) = sample {
        let parsed = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read `{}`: {e}", file.display()))
            .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("{}: {e}", file.display())));
        match parsed {
            Ok(v) => question.sample = Some(v),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    match explain::explain(&config, &policies, &question) {
        Ok(e) => {
            if json {
                match serde_json::to_string_pretty(&e) {
                    Ok(s) => println!("{s}"),
                    Err(err) => {
                        eprintln!("error: {err}");
                        return ExitCode::from(EXIT_ERROR);
                    }
                }
            } else {
                print!("{}", explain::render(&e));
            }
            ExitCode::from(EXIT_OK)
        }
        Err(e) => {
            eprintln!("refused: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// `crmgate matrix`: the access matrix as Markdown (default), HTML or JSON.
pub fn matrix(config_path: &Path, format: MatrixFormat, out: Option<PathBuf>) -> ExitCode {
    let (config, policies) = match load(config_path) {
        Ok(x) => x,
        Err(code) => return ExitCode::from(code),
    };
    let m = crate::tools::matrix::compute(&config, &policies);
    let text = match format {
        MatrixFormat::Markdown => crate::tools::matrix::markdown(&m),
        MatrixFormat::Html => crate::tools::matrix::html(&m),
        MatrixFormat::Json => match serde_json::to_string_pretty(&m) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        },
    };
    match out {
        Some(path) => {
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("error: cannot write `{}`: {e}", path.display());
                return ExitCode::from(EXIT_ERROR);
            }
            println!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    ExitCode::from(EXIT_OK)
}

/// The demo's configuration: the one given, or for another vendor than the default its own
/// (`policies/<vendor>/crmgate.toml`) when none was given.
pub fn demo_config(path: PathBuf, vendor: Option<&str>) -> Result<PathBuf, String> {
    let Some(v) = vendor else {
        return Ok(path);
    };
    if !crate::profiles::VENDORS.contains(&v) {
        return Err(format!(
            "--vendor `{v}`: crmgate speaks {}",
            crate::profiles::VENDORS.join(", ")
        ));
    }
    let default = PathBuf::from("policies/crmgate.toml");
    if path == default && v != crate::profiles::DEFAULT_VENDOR {
        return Ok(PathBuf::from("policies").join(v).join("crmgate.toml"));
    }
    Ok(path)
}
