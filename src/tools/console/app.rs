//! `crmgate console` as a process: its arguments, start-up (the configuration, the
//! console's own pipeline and audit log, the TLS listener), the accept loop, and the
//! reading of one request (query, form, cookies, session, language) before it is routed.
//!
//! It must never serve without TLS, nor read a form body past its limit.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::tools::docs::AuditSource;
use crate::tools::retention::Connection;

use super::session::{self, Sessions};
use super::state::{Console, Req};
use super::util::{plain, secure_headers};
use super::view::{self, Lang};
use super::{oidc, pages};

/// A form body larger than this is refused (the console's forms are small).
const MAX_FORM: usize = 16 * 1024;

/// `crmgate console` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub config: crate::tools::cli::ConfigArgs,
    /// The console's address (TLS, with the configuration's server certificate).
    #[arg(long, default_value = "127.0.0.1:8444")]
    pub listen: SocketAddr,
    /// The identity provider's issuer URL (its discovery document is
    /// `<issuer>/.well-known/openid-configuration`).
    #[arg(long, env = "CRMGATE_CONSOLE_ISSUER")]
    pub issuer: String,
    /// The console's client id at the identity provider (the ID token's audience).
    #[arg(long, default_value = "crmgate-console")]
    pub client_id: String,
    /// Extra CA certificate (PEM) to trust for the identity provider.
    #[arg(long)]
    pub idp_ca: Option<PathBuf>,
    /// How long a session lasts from sign-in (`15m`, `30s`).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub session_ttl: Duration,
    /// The console's own audit directory (default: `<audit.dir>-console`).
    #[arg(long)]
    pub audit_dir: Option<PathBuf>,
    /// crmgate's URL, through which the Art. 15 copy is read (default:
    /// `https://localhost:<the configuration's listen port>`).
    #[arg(long)]
    pub url: Option<String>,
    /// A CA file to trust for crmgate's certificate (default: `ca.pem` beside the
    /// configuration's server certificate, when there is one).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The data protection officer's key (a user with the `dpo` role): the Art. 15 copy and
    /// the lookup by e-mail address are read through crmgate with it, under the purpose
    /// `data_subject_access`, audited in crmgate's log.
    #[arg(long, env = "CRMGATE_DPO_KEY", hide_env_values = true)]
    pub dpo_key: Option<String>,
    /// The deletion run's key: the deletion page shows what `retention plan` would do now.
    #[arg(long, env = "CRMGATE_RETENTION_KEY", hide_env_values = true)]
    pub retention_key: Option<String>,
    /// Checkpoint files of `crmgate retention apply` runs (the deletion record).
    #[arg(long)]
    pub checkpoint: Vec<PathBuf>,
    /// The console's public URL (default: `https://localhost:<port>`).
    #[arg(long)]
    pub public_url: Option<String>,
}

/// The console ready to serve: its handler state, TLS acceptor and bound listener.
pub struct Started {
    pub console: Arc<Console>,
    pub tls: TlsAcceptor,
    pub listener: TcpListener,
    pub url: String,
}

/// Load, open the console's audit log, bind the listener.
pub async fn start(args: ConsoleArgs) -> Result<Started, String> {
    let config = crate::startup::app::load_config(&args.config.path)?;
    start_with(config, args).await
}

/// crmgate as the console reads through it with `key`.
fn connection(config: &Config, args: &ConsoleArgs, key: &str) -> Connection {
    let ca = args.ca.clone().or_else(|| {
        let dir = config.listen.tls.as_ref()?.cert.parent()?.to_path_buf();
        Some(dir.join("ca.pem")).filter(|p| p.is_file())
    });
    Connection {
        base: args
            .url
            .clone()
            .unwrap_or_else(|| format!("https://localhost:{}", config.listen.addr.port())),
        key: key.to_string(),
        ca,
        rate: 9.0,
        max_pages: 1000,
    }
}

/// Start with a configuration already loaded (the demo's, with its made-up secrets).
pub async fn start_with(config: Config, args: ConsoleArgs) -> Result<Started, String> {
    let mut own = config.clone();
    let console_dir = args.audit_dir.clone().unwrap_or_else(|| {
        let mut d = config.audit.dir.clone().into_os_string();
        d.push("-console");
        PathBuf::from(d)
    });
    // The console writes a chain of its own: one process writes an audit directory, and
    // the proxy holds its own. Its key is its own too; it never ships to the central store
    // under the proxy's replica name.
    own.audit.dir = console_dir.clone();
    own.audit.signing_key_file = console_dir.join("signing.key");
    own.audit.generate_signing_key = true;
    own.audit.central = None;
    own.admin.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let prepared = crate::startup::app::prepare(own)?;
    // fail closed: the console is served over TLS only.
    let tls = prepared
        .tls
        .clone()
        .ok_or("the console needs the configuration's [listen] TLS certificate")?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("console {}: {e}", args.listen))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("https://localhost:{port}"));
    let oidc = oidc::Client::new(
        &args.issuer,
        &args.client_id,
        &format!("{url}/callback"),
        args.idp_ca.as_deref(),
    )?;
    let console = Arc::new(Console {
        config: config.clone(),
        gateway: prepared.gateway,
        audit: prepared.audit,
        console_dir,
        sessions: Sessions::new(args.session_ttl),
        oidc,
        copy: args
            .dpo_key
            .as_deref()
            .map(|k| connection(&config, &args, k)),
        retention: args
            .retention_key
            .as_deref()
            .map(|k| connection(&config, &args, k)),
        audit_source: match &config.audit.central {
            Some(central) => AuditSource::Central(central.url.expose().to_string()),
            None => AuditSource::Dir(config.audit.dir.clone()),
        },
        checkpoints: args.checkpoint,
        concept: std::sync::Mutex::new(None),
    });
    // Warm the permission concept while nobody waits for it.
    let warm = console.clone();
    std::thread::spawn(move || {
        warm.concept();
    });
    Ok(Started {
        console,
        tls,
        listener,
        url,
    })
}

/// Serve until `shutdown`, then close the console's audit log (a final checkpoint).
pub async fn serve(started: Started, shutdown: impl std::future::Future<Output = ()>) {
    let Started {
        console,
        tls,
        listener,
        ..
    } = started;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let Ok((tcp, peer)) = accepted else { continue };
        let (tls, console) = (tls.clone(), console.clone());
        tokio::spawn(async move {
            let Ok(stream) = tls.accept(tcp).await else {
                return;
            };
            let svc = hyper::service::service_fn(move |req| {
                let console = console.clone();
                async move { Ok::<_, Infallible>(handle(&console, req, peer).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
    console.audit.close().await;
}

/// `crmgate console`.
pub async fn run(args: ConsoleArgs) -> Result<(), String> {
    let started = start(args).await?;
    println!("crmgate console: {}", started.url);
    serve(started, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}

fn parse_cookies(h: &http::HeaderMap) -> Vec<(String, String)> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn accept_lang(h: &http::HeaderMap) -> Lang {
    let first = h
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split([',', ';', '-']).next())
        .unwrap_or("");
    if first.trim().eq_ignore_ascii_case("de") {
        Lang::De
    } else {
        Lang::En
    }
}

/// One request: read it, find its session, route it, add the security headers.
pub async fn handle(
    console: &Console,
    req: Request<hyper::body::Incoming>,
    _peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let form = if parts.method == Method::POST {
        match Limited::new(body, MAX_FORM).collect().await {
            Ok(b) => form_urlencoded::parse(&b.to_bytes()).into_owned().collect(),
            // fail closed: an unreadable or oversized form is refused.
            Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "form too large"),
        }
    } else {
        Vec::new()
    };
    let cookies = parse_cookies(&parts.headers);
    let asked = query
        .iter()
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| view::parse_lang(v));
    let session = cookies
        .iter()
        .find(|(k, _)| k == session::COOKIE)
        .and_then(|(_, id)| console.sessions.get(id));
    let lang = asked
        .or_else(|| session.as_ref().and_then(|s| s.lang))
        .unwrap_or_else(|| accept_lang(&parts.headers));
    if let (Some(l), Some(s)) = (asked, &session) {
        console.sessions.set_lang(&s.id, l);
    }
    let r = Req {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query,
        form,
        cookies,
        lang,
        session,
        lang_asked: asked.is_some(),
    };
    let mut resp = pages::route(console, &r).await;
    secure_headers(resp.headers_mut());
    resp
}
