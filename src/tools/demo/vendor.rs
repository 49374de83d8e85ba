//! `crmgate demo --vendor <name>`: the same demo in front of another vendor's demo CRM
//! (from the demo crate's `vendors`), with that vendor's configuration: the tour of what
//! each persona sees of one contact, `curl` examples in the vendor's dialect, then serving
//! until Ctrl-C or SIGTERM. It names no vendor itself: the name is the operator's.
//!
//! It must never be used with real data: its keys and certificates are for development only.

use std::fmt::Write as _;

use std::net::SocketAddr;
use std::path::Path;

use democrm::vendors::{self, Credential, Started};
use tokio::net::TcpListener;

use super::{random_secret, render_rows, tour_rows, DemoOptions};
use crate::config::{Config, OAuthGrant};
use crate::stages::pipeline::Policies;
use crate::startup::app;

/// `crmgate demo`: the default vendor's demo, or another vendor's (`--vendor`).
pub async fn dispatch(opts: DemoOptions) -> Result<(), String> {
    match opts.vendor.clone() {
        Some(v) if v != crate::profiles::DEFAULT_VENDOR => run(opts, &v).await,
        _ => super::run(opts).await,
    }
}

/// Run the demo of `vendor` until Ctrl-C or SIGTERM.
/// The vendor's configuration (with the demo's made-up secrets unless the operator set
/// them) and the credential the demo CRM is to accept.
fn load(opts: &DemoOptions, vendor: &str) -> Result<(Config, Credential), String> {
    let upstream_token = random_secret();
    let hash_key = random_secret();
    let mut config = Config::load_with_env(&opts.config, |name| match name {
        "CRMGATE_UPSTREAM_TOKEN" | "CRMGATE_UPSTREAM_CLIENT_SECRET" => {
            Some(std::env::var(name).unwrap_or_else(|_| upstream_token.clone()))
        }
        "CRMGATE_HASH_KEY" => Some(std::env::var(name).unwrap_or_else(|_| hash_key.clone())),
        other => std::env::var(other).ok(),
    })
    .map_err(|e| e.to_string())?;
    if config.upstream.vendor.as_deref() != Some(vendor) {
        return Err(format!(
            "{} configures vendor `{}`, not `{vendor}`: give --config with a configuration for it",
            opts.config.display(),
            config.upstream.vendor.as_deref().unwrap_or("(the default)")
        ));
    }
    if let Some(addr) = opts.listen {
        config.listen.addr = addr;
    }
    if let Some(addr) = opts.admin {
        config.admin.addr = addr;
    }
    let credential = match &config.upstream.oauth {
        Some(o) => match &o.grant {
            OAuthGrant::ClientCredentials { secret } => {
                Credential::ClientSecret(secret.expose().to_string())
            }
            OAuthGrant::JwtBearer(_) => {
                return Err("the demo CRM grants tokens for client credentials only".into())
            }
        },
        None => Credential::Token(
            config
                .upstream
                .credential
                .as_ref()
                .map(|s| s.expose().to_string())
                .unwrap_or_default(),
        ),
    };
    Ok((config, credential))
}

pub async fn run(opts: DemoOptions, vendor: &str) -> Result<(), String> {
    let (mut config, credential) = load(&opts, vendor)?;
    let crm_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("demo CRM: {e}"))?;
    let crm_addr = crm_listener.local_addr().map_err(|e| e.to_string())?;
    let started = vendors::start(vendor, credential, crm_listener, std::future::pending())
        .ok_or_else(|| format!("there is no demo CRM for vendor `{vendor}`"))?;
    config.upstream.base = format!("http://{crm_addr}")
        .parse()
        .map_err(|e| format!("demo CRM address: {e}"))?;
    if let (Some(oauth), Some(path)) = (config.upstream.oauth.as_mut(), started.tour.token_path) {
        oauth.token_url = format!("http://{crm_addr}{path}")
            .parse()
            .map_err(|e| format!("demo CRM token endpoint: {e}"))?;
    }

    let super::Started {
        ca,
        audit_path,
        prepared,
        policies,
        admin_bound,
        listener,
        bound,
        shutdown,
    } = super::start_proxy(&config).await?;

    print_tour(
        &config,
        &policies,
        &started,
        (crm_addr, bound, admin_bound),
        &audit_path,
        &ca,
    );
    println!("Serving until Ctrl-C or SIGTERM.");
    app::run(prepared, listener, shutdown)
        .await
        .map_err(|e| e.to_string())
}

/// What the demo prints before it serves: where everything is, the tour, the examples.
fn print_tour(
    config: &Config,
    policies: &Policies,
    started: &Started,
    (crm_addr, bound, admin_bound): (SocketAddr, SocketAddr, SocketAddr),
    audit_path: &Path,
    ca: &Path,
) {
    let tour = &started.tour;
    println!("crmgate demo: Santa's company\n");
    println!(
        "  demo CRM ({}, {} people): http://{crm_addr}",
        tour.api_shape, started.people
    );
    println!(
        "  crmgate (TLS, example policies):        https://localhost:{}",
        bound.port()
    );
    println!("  admin (/healthz, /readyz, /metrics):    http://{admin_bound}");
    println!(
        "  audit log:                              {}\n",
        audit_path.display()
    );
    if let Some(record) = &started.contact {
        let rows = tour_rows(config, policies, tour.contact_type, record);
        let heading = format!(
            "What each department sees of {} {}, per purpose:\n",
            tour.contact_type, tour.contact
        );
        println!("{}", render_rows(&rows, heading));
    }
    let mut s = String::from("Try it (demo API keys are `demo-key-<user>`):\n\n");
    for (user, purpose, path) in &tour.reads {
        let purpose = purpose
            .map(|p| format!(" -H 'X-Purpose: {p}'"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  curl -s --cacert {} -H 'Authorization: Bearer demo-key-{user}'{purpose} 'https://localhost:{}{path}'",
            ca.display(),
            bound.port()
        );
    }
    println!("{s}");
}
