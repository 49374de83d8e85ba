//! Test support: crmgate started on 127.0.0.1:0 over TLS in front of a real upstream (the
//! demo CRM, or a raw fake that answers with exact bytes), and an HTTPS client that trusts
//! the dev CA. Everything crosses real sockets.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use democrm::DemoCrm;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const UPSTREAM_TOKEN: &str = "test-upstream-token-7f3a9c";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the proxy's upstream is.
pub enum Upstream {
    Crm(DemoCrm),
    Addr(SocketAddr),
}

pub struct Options {
    /// Run the real `crmgate` binary (`crmgate serve --config …`) as a child process
    /// instead of the library's server in this process. The test then has no `gateway`.
    pub binary: bool,
    pub upstream: Upstream,
    /// Cedar text used instead of `policies/santa.cedar` (written to `custom.cedar` in the
    /// proxy's directory, where a test may change it to trigger a reload).
    pub policies: Option<String>,
    /// Routes file text used instead of `policies/routes.toml`.
    pub routes: Option<String>,
    /// Entities (directory) text used instead of `policies/entities.json` (written to
    /// `entities.json` in the proxy's directory, where a test may change it).
    pub entities: Option<String>,
    pub max_upstream_body: usize,
    /// TOML appended to the generated config (`[identity.mtls]`, `[[identity.jwt]]`, …);
    /// relative paths in it resolve against the proxy's temp dir, where `files` are written.
    pub extra_config: String,
    pub files: Vec<(String, Vec<u8>)>,
    /// Reach the upstream over HTTPS, trusting this CA (PEM) as `upstream.ca_file`.
    pub upstream_ca: Option<Vec<u8>>,
    /// Where the audit log goes (default: `audit` in the proxy's temp dir).
    pub audit_dir: Option<PathBuf>,
    /// `audit.fsync` (default on).
    pub audit_fsync: bool,
    /// TOML lines added to the `[audit]` table.
    pub audit_config: String,
    /// TOML lines added to the `[policies]` table (`retention = "…"`).
    pub policy_lines: String,
    /// TOML lines of the `[upstream]` table that replace its static credential (an
    /// `oauth = { … }` grant).
    pub upstream_credential: Option<String>,
    /// TOML lines added to the `[upstream]` table (`vendor = "…"`).
    pub upstream_lines: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            binary: false,
            upstream: Upstream::Crm(DemoCrm::seeded()),
            policies: None,
            routes: None,
            entities: None,
            max_upstream_body: 8 * 1024 * 1024,
            extra_config: String::new(),
            files: Vec::new(),
            upstream_ca: None,
            audit_dir: None,
            audit_fsync: true,
            audit_config: String::new(),
            policy_lines: String::new(),
            upstream_credential: None,
            upstream_lines: String::new(),
        }
    }
}

pub struct Proxy {
    pub addr: SocketAddr,
    /// The in-process gateway; `None` when the real binary runs ([`Options::binary`]).
    gateway: Option<Arc<crmgate::stages::pipeline::Gateway>>,
    /// The binary's process, killed when the proxy is dropped.
    _child: Option<ChildGuard>,
    /// The admin listener (`/healthz`, `/readyz`, plain HTTP).
    pub admin: SocketAddr,
    audit_dir: PathBuf,
    pub crm: Option<Arc<DemoCrm>>,
    pub dir: tempfile::TempDir,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    _stop: Vec<oneshot::Sender<()>>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Write a config for a proxy on 127.0.0.1:0 into `dir`.
pub fn write_config(
    dir: &Path,
    upstream: SocketAddr,
    policies: &Path,
    max_upstream_body: usize,
) -> PathBuf {
    write_config_with_routes(
        dir,
        upstream,
        policies,
        &repo().join("policies/routes.toml"),
        max_upstream_body,
    )
}

/// The seeded demo CRM on 127.0.0.1:0 (requiring crmgate's upstream token) until the test
/// ends: its address.
pub async fn serve_demo_crm() -> SocketAddr {
    let crm = Arc::new(DemoCrm::seeded().with_required_token(UPSTREAM_TOKEN));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(democrm::serve(crm, l, std::future::pending()));
    addr
}

/// [`write_config`] for the shipped policies with `lines` added to its `[audit]` table
/// (a following `[audit.central]` table included).
pub fn write_config_with_audit(dir: &Path, upstream: SocketAddr, lines: &str) -> PathBuf {
    let config = write_config(dir, upstream, &repo().join("policies/santa.cedar"), 8 << 20);
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "generate_signing_key = true\n",
        &format!("generate_signing_key = true\n{lines}\n"),
        1,
    );
    std::fs::write(&config, text).unwrap();
    config
}

/// [`write_config`] with another routes file.
pub fn write_config_with_routes(
    dir: &Path,
    upstream: SocketAddr,
    policies: &Path,
    routes: &Path,
    max_upstream_body: usize,
) -> PathBuf {
    let r = repo();
    std::fs::write(dir.join("upstream.token"), UPSTREAM_TOKEN).unwrap();
    std::fs::write(dir.join("hash.key"), "test-hash-key-0123456789abcdef").unwrap();
    let keys: String = [
        "noelle", "rudolph", "tinsel", "holly", "penny", "santa", "grinch", "mira",
    ]
    .iter()
    .map(|u| {
        format!(
            "[[identity.api_keys]]\nuser = \"{u}\"\nsha256 = \"{}\"\n",
            crmgate::config::api_key_digest(&format!("demo-key-{u}"))
        )
    })
    .chain(
        [
            ("newsletter_tool", "newsletter"),
            ("wishlist_form", "wishlist"),
            ("retention_run", "retention"),
        ]
        .iter()
        .map(|(app, key)| {
            format!(
                "[[identity.api_keys]]\napp = \"{app}\"\nsha256 = \"{}\"\n",
                crmgate::config::api_key_digest(&format!("demo-key-{key}"))
            )
        }),
    )
    .collect();
    // Purposes and departments are those of the shipped config.
    let shipped = std::fs::read_to_string(r.join("policies/crmgate.toml")).unwrap();
    let registry = &shipped[shipped.find("[purposes.").unwrap()..];
    let text = format!(
        r#"[listen]
addr = "127.0.0.1:0"
tls_cert = "{certs}/server.pem"
tls_key = "{certs}/server.key"

[upstream]
url = "http://{upstream}"
credential_file = "upstream.token"
timeout_ms = 5000
max_body_bytes = {max_upstream_body}

[policies]
schema = "{pol}/schema.cedarschema"
policies = ["{policies}"]
entities = "{pol}/entities.json"
routes = "{routes}"
redaction = "{pol}/redaction"
watch_interval_ms = 100

[audit]
dir = "audit"
fsync = true
signing_key_file = "audit-signing.key"
generate_signing_key = true

[admin]
addr = "127.0.0.1:0"

[masks]
hash_key_file = "hash.key"

{keys}
{registry}"#,
        certs = r.join("certs").display(),
        pol = r.join("policies").display(),
        policies = policies.display(),
        routes = routes.display(),
    );
    let path = dir.join("crmgate.toml");
    std::fs::write(&path, text).unwrap();
    path
}

impl Proxy {
    pub async fn start() -> Proxy {
        Proxy::start_with(Options::default()).await
    }

    /// The real `crmgate` binary in front of the seeded demo CRM.
    pub async fn start_binary() -> Proxy {
        Proxy::start_with(Options {
            binary: true,
            ..Options::default()
        })
        .await
    }

    pub async fn start_with(opts: Options) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let mut stop = Vec::new();
        let (upstream_addr, crm) = match opts.upstream {
            Upstream::Crm(crm) => {
                let crm = Arc::new(crm.with_required_token(UPSTREAM_TOKEN));
                let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = l.local_addr().unwrap();
                let (tx, rx) = oneshot::channel::<()>();
                stop.push(tx);
                tokio::spawn(democrm::serve(crm.clone(), l, async {
                    let _ = rx.await;
                }));
                (addr, Some(crm))
            }
            Upstream::Addr(a) => (a, None),
        };
        let policies = match opts.policies {
            Some(text) => {
                let p = dir.path().join("custom.cedar");
                std::fs::write(&p, text).unwrap();
                p
            }
            None => repo().join("policies/santa.cedar"),
        };
        let routes = match opts.routes {
            Some(text) => {
                let p = dir.path().join("routes.toml");
                std::fs::write(&p, text).unwrap();
                p
            }
            None => repo().join("policies/routes.toml"),
        };
        let cfg_path = write_config_with_routes(
            dir.path(),
            upstream_addr,
            &policies,
            &routes,
            opts.max_upstream_body,
        );
        for (name, bytes) in &opts.files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        if let Some(ca) = &opts.upstream_ca {
            std::fs::write(dir.path().join("upstream-ca.pem"), ca).unwrap();
            let text = std::fs::read_to_string(&cfg_path).unwrap().replacen(
                "url = \"http://",
                "ca_file = \"upstream-ca.pem\"\nurl = \"https://",
                1,
            );
            std::fs::write(&cfg_path, text).unwrap();
        }
        if let Some(text) = &opts.entities {
            let p = dir.path().join("entities.json");
            std::fs::write(&p, text).unwrap();
            let cfg = std::fs::read_to_string(&cfg_path).unwrap().replacen(
                &format!(
                    "entities = \"{}\"",
                    repo().join("policies/entities.json").display()
                ),
                &format!("entities = \"{}\"", p.display()),
                1,
            );
            assert!(cfg.contains(&p.display().to_string()));
            std::fs::write(&cfg_path, cfg).unwrap();
        }
        if !opts.extra_config.is_empty() {
            let mut text = std::fs::read_to_string(&cfg_path).unwrap();
            text.push('\n');
            text.push_str(&opts.extra_config);
            std::fs::write(&cfg_path, text).unwrap();
        }
        if let Some(lines) = &opts.upstream_credential {
            let text = std::fs::read_to_string(&cfg_path).unwrap().replacen(
                "credential_file = \"upstream.token\"\n",
                &format!("{lines}\n"),
                1,
            );
            std::fs::write(&cfg_path, text).unwrap();
        }
        if !opts.policy_lines.is_empty() {
            let text = std::fs::read_to_string(&cfg_path).unwrap().replacen(
                "watch_interval_ms = 100\n",
                &format!("watch_interval_ms = 100\n{}\n", opts.policy_lines),
                1,
            );
            std::fs::write(&cfg_path, text).unwrap();
        }
        if !opts.upstream_lines.is_empty() {
            let text = std::fs::read_to_string(&cfg_path).unwrap().replacen(
                "[upstream]\n",
                &format!("[upstream]\n{}\n", opts.upstream_lines),
                1,
            );
            std::fs::write(&cfg_path, text).unwrap();
        }
        if !opts.audit_config.is_empty() {
            let text = std::fs::read_to_string(&cfg_path).unwrap().replacen(
                "generate_signing_key = true\n",
                &format!("generate_signing_key = true\n{}\n", opts.audit_config),
                1,
            );
            std::fs::write(&cfg_path, text).unwrap();
        }
        if !opts.audit_fsync {
            let text = std::fs::read_to_string(&cfg_path).unwrap();
            std::fs::write(&cfg_path, text.replace("fsync = true", "fsync = false")).unwrap();
        }
        let audit_dir = match opts.audit_dir {
            Some(d) => {
                let text = std::fs::read_to_string(&cfg_path).unwrap();
                let text = text.replace("dir = \"audit\"", &format!("dir = \"{}\"", d.display()));
                std::fs::write(&cfg_path, text).unwrap();
                d
            }
            None => dir.path().join("audit"),
        };
        if opts.binary {
            let (child, addr, admin) = spawn_binary(&cfg_path, dir.path());
            return Proxy {
                addr,
                gateway: None,
                _child: Some(child),
                admin,
                audit_dir,
                crm,
                dir,
                client: https_client(),
                _stop: stop,
            };
        }
        let config = crmgate::config::Config::load(&cfg_path).unwrap();
        let prepared = crmgate::startup::app::prepare(config).unwrap();
        let gateway = prepared.gateway.clone();
        let admin_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = admin_listener.local_addr().unwrap();
        tokio::spawn(crmgate::admin::serve(
            prepared.health.clone(),
            admin_listener,
            std::future::pending(),
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        stop.push(tx);
        tokio::spawn(crmgate::startup::app::run(prepared, listener, async {
            let _ = rx.await;
        }));
        Proxy {
            addr,
            gateway: Some(gateway),
            _child: None,
            admin,
            audit_dir,
            crm,
            dir,
            client: https_client(),
            _stop: stop,
        }
    }

    /// The in-process gateway (not there when the real binary runs).
    pub fn gateway(&self) -> &Arc<crmgate::stages::pipeline::Gateway> {
        self.gateway
            .as_ref()
            .expect("this proxy runs the binary: no in-process gateway")
    }

    /// Stop the real binary cleanly (SIGTERM) and wait for it, so its audit directory is
    /// quiescent: a live writer may be in the middle of a line when a test reads the files.
    pub fn stop(&mut self) {
        let child = self
            ._child
            .as_mut()
            .expect("only a proxy running the binary can be stopped");
        assert!(
            child.terminate().success(),
            "crmgate exits cleanly on SIGTERM"
        );
    }

    pub fn crm(&self) -> &DemoCrm {
        self.crm
            .as_deref()
            .expect("this proxy runs in front of the demo CRM")
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        user: Option<&str>,
        purpose: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut b = http::Request::builder().method(method).uri(format!(
            "https://127.0.0.1:{}{}",
            self.addr.port(),
            path
        ));
        if let Some(u) = user {
            b = b.header("authorization", format!("Bearer demo-key-{u}"));
        }
        if let Some(p) = purpose {
            b = b.header("x-purpose", p);
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(&v).unwrap())
            }
            None => Bytes::new(),
        };
        let resp = self
            .client
            .request(b.body(Full::new(body)).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    /// A request with exactly this body and content type (none: no `Content-Type`).
    pub async fn request_bytes(
        &self,
        method: &str,
        path: &str,
        user: &str,
        purpose: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("https://127.0.0.1:{}{}", self.addr.port(), path))
            .header("authorization", format!("Bearer demo-key-{user}"));
        if let Some(p) = purpose {
            b = b.header("x-purpose", p);
        }
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let resp = self
            .client
            .request(b.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    /// A GET with exactly these headers, through `client` (e.g. one with a client certificate).
    pub async fn get_with(
        &self,
        client: &TestClient,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut b = http::Request::builder().method("GET").uri(format!(
            "https://127.0.0.1:{}{}",
            self.addr.port(),
            path
        ));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let resp = client
            .request(b.body(Full::new(Bytes::new())).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    /// A GET with these headers (the caller's credential among them), through the proxy's
    /// own client.
    pub async fn get_headers(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.get_with(&self.client, path, headers).await
    }

    /// Send exact bytes over a TLS connection (HTTP/1.1) and read until the server closes
    /// it. Clients normalise requests; this does not.
    pub async fn raw(&self, bytes: &[u8]) -> Reply {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_tls(None)));
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        tls.write_all(bytes).await.unwrap();
        let mut out = Vec::new();
        // A guard, not a timing assertion: a server that does not close fails the test.
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            tls.read_to_end(&mut out),
        )
        .await
        .expect("the server did not close the connection")
        .ok();
        parse_response(&out)
    }

    pub async fn get(&self, path: &str, user: &str, purpose: Option<&str>) -> Reply {
        self.request("GET", path, Some(user), purpose, None).await
    }

    pub async fn post(&self, path: &str, user: &str, purpose: Option<&str>, body: Value) -> Reply {
        self.request("POST", path, Some(user), purpose, Some(body))
            .await
    }

    /// The audit log directory.
    pub fn audit_dir(&self) -> PathBuf {
        self.audit_dir.clone()
    }

    /// All request records written so far (checkpoints and other entries left out).
    pub fn audit(&self) -> Vec<Value> {
        audit_records(&self.audit_dir())
    }

    /// The audit record of a reply (matched by request id).
    pub fn audit_of(&self, reply: &Reply) -> Value {
        let id = reply
            .headers
            .get("x-request-id")
            .expect("every reply carries x-request-id")
            .to_str()
            .unwrap()
            .to_string();
        self.audit()
            .into_iter()
            .find(|r| r["request_id"] == id.as_str())
            .unwrap_or_else(|| panic!("no audit record for request {id}"))
    }
}

/// GET a path of a plain-HTTP listener (the admin port): status and body.
pub async fn plain_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Every entry of an audit directory (records, checkpoints, notices), in log order.
pub fn audit_entries(dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for (_, seg) in crmgate::audit::list_segments(dir).unwrap_or_default() {
        let text = std::fs::read_to_string(seg).unwrap_or_default();
        out.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    out
}

/// The request records of an audit directory, in log order.
pub fn audit_records(dir: &Path) -> Vec<Value> {
    audit_entries(dir)
        .into_iter()
        .filter(|v| v.get("kind").is_none())
        .collect()
}

pub type TestClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Client TLS trusting the dev CA, with a client certificate (PEM cert, PEM key) or none.
pub fn client_tls(identity: Option<(&[u8], &[u8])>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(repo().join("certs/ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    match identity {
        None => b.with_no_client_auth(),
        Some((cert, key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<_, _>>()
                .unwrap();
            let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key).unwrap();
            b.with_client_auth_cert(chain, key).unwrap()
        }
    }
}

/// An HTTPS client presenting a client certificate (PEM cert, PEM key).
pub fn mtls_client(cert: &[u8], key: &[u8]) -> TestClient {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(client_tls(Some((cert, key))))
        .https_only()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(https)
}

/// An HTTPS client without a client certificate.
pub fn mtls_client_none() -> TestClient {
    https_client()
}

/// The dev client certificate and key of a demo persona.
pub fn persona_cert(user: &str) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(repo().join(format!("certs/client-{user}.pem"))).unwrap(),
        std::fs::read(repo().join(format!("certs/client-{user}.key"))).unwrap(),
    )
}

/// Parse a raw HTTP/1.1 response (Content-Length framed, as crmgate sends).
pub fn parse_response(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = http::HeaderMap::new();
    for l in lines {
        let (k, v) = l.split_once(':').unwrap();
        headers.append(
            http::header::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
            http::HeaderValue::from_str(v.trim()).unwrap(),
        );
    }
    Reply {
        status,
        headers,
        body: Bytes::copy_from_slice(&raw[split + 4..]),
    }
}

pub fn https_client() -> TestClient {
    let tls = client_tls(None);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(https)
}

/// A fake upstream that answers every request with bytes chosen from the request head, and
/// records what it received.
pub struct RawUpstream {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<String>>>,
}

impl RawUpstream {
    pub async fn start(respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> RawUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let rec = received.clone();
        let respond = Arc::new(respond);
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let rec = rec.clone();
                let respond = respond.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    rec.lock().unwrap().push(head.clone());
                    let out = respond(&head);
                    let _ = s.write_all(&out).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        RawUpstream { addr, received }
    }
}

/// An HTTP/1.1 response with the given headers and body (Content-Length set).
pub fn http_response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Property names of a record's `properties`, sorted.
pub fn prop_names(record: &Value) -> Vec<String> {
    let mut v: Vec<String> = record["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The real binary as a child process, killed when dropped.
pub struct ChildGuard(std::process::Child);

impl ChildGuard {
    /// Kill `child` when the guard is dropped.
    pub fn from_child(child: std::process::Child) -> ChildGuard {
        ChildGuard(child)
    }

    /// `kill -9` now, and reap it.
    pub fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM (a clean stop) and wait for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.0.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        self.0.wait().unwrap()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `crmgate serve --config cfg` and read the addresses it bound from its log.
pub fn spawn_binary(cfg: &Path, dir: &Path) -> (ChildGuard, SocketAddr, SocketAddr) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args(["serve", "--config"])
        .arg(cfg)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut guard = ChildGuard(child);
    let (tx, rx) = std::sync::mpsc::channel::<(Option<SocketAddr>, Option<SocketAddr>)>();
    std::thread::spawn(move || {
        let (mut proxy, mut admin) = (None, None);
        let mut sent = false;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            // Strip ANSI colour codes, then find `addr=…`.
            let mut plain = String::new();
            let mut esc = false;
            for c in line.chars() {
                match (esc, c) {
                    (false, '\u{1b}') => esc = true,
                    (true, 'm') => esc = false,
                    (true, _) => {}
                    (false, c) => plain.push(c),
                }
            }
            let addr = plain
                .split_whitespace()
                .find_map(|w| w.strip_prefix("addr="))
                .and_then(|a| a.parse().ok());
            if plain.contains("admin listening") {
                admin = addr;
            }
            if plain.contains("crmgate listening") {
                proxy = addr;
            }
            if !sent && proxy.is_some() && admin.is_some() {
                let _ = tx.send((proxy, admin));
                sent = true;
            }
            // Keep reading so the child never blocks on a full pipe.
        }
        if !sent {
            let _ = tx.send((None, None));
        }
    });
    match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok((Some(p), Some(a))) => (guard, p, a),
        other => {
            let status = guard.0.try_wait();
            panic!("the binary did not start listening: {other:?} (status {status:?})")
        }
    }
}

/// Every live record of the demo CRM as it stores it: (collection, entity type, record) for
/// the 68 contacts that are not archived and the 15 companies.
pub fn demo_records(crm: &DemoCrm) -> Vec<(&'static str, &'static str, Value)> {
    (1001..=1070)
        .filter_map(|id| crm.record_json("contacts", &id.to_string()))
        .filter(|r| r["archived"] != Value::Bool(true))
        .map(|r| ("contacts", "Contact", r))
        .chain(
            (2001..=2015)
                .filter_map(|id| crm.record_json("companies", &id.to_string()))
                .map(|r| ("companies", "Company", r)),
        )
        .collect()
}

/// Headless Chromium (Debian's `chromium`, or `CRMGATE_CHROMIUM`): `None` with a note where
/// it is missing; under `CI=true` its absence fails the test.
pub fn chromium(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("CRMGATE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: chromium is required under CI=true (apt-get install chromium)"
    );
    eprintln!("{test}: skipped, no chromium at {}", path.display());
    None
}

/// Run headless Chromium on a local page with these extra arguments; its standard output.
pub fn chromium_run(chromium: &Path, page: &Path, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed on {}: {}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Copy a directory tree (the shipped policies and certificates into a test's own directory).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// `crmgate demo` in the directory `d` with a copy of the shipped policies and certificates,
/// on port 0 and without a fixed admin port (tests run side by side), with no secret from
/// the environment; stdout piped for the tour it prints.
pub fn demo_command(d: &Path) -> std::process::Command {
    copy_dir(&repo().join("policies"), &d.join("policies"));
    copy_dir(&repo().join("certs"), &d.join("certs"));
    let config = d.join("policies/crmgate.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replacen("addr = \"127.0.0.1:9901\"", "addr = \"127.0.0.1:0\"", 1),
    )
    .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"));
    command
        .args(["demo", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .current_dir(d)
        .env_remove("CRMGATE_UPSTREAM_TOKEN")
        .env_remove("CRMGATE_HASH_KEY")
        .env_remove("CRMGATE_DPO_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    command
}
