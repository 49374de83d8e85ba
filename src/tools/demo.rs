//! `crmgate demo`: Santa's company in one command.
//!
//! Starts the embedded demo CRM on loopback, crmgate in front of it over HTTPS with the
//! example policies, prints the tour — what each persona sees of one contact for each of
//! its purposes — and copy-paste `curl` commands, then serves until Ctrl-C or SIGTERM, with the admin listener
//! (`/healthz`, `/readyz`, `/metrics`) of `serve`, and the data protection officer's
//! console with the development identity provider ([`console`]). The tour is
//! computed by the same policy engine and planner the proxy uses, so it cannot drift.
//!
//! It must never be used with real data: its keys and certificates are for development only.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use democrm::{tour, DemoCrm};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::decide;
use crate::policy::decision::Outcome;
use crate::secret::Secret;
use crate::stages::pipeline::Policies;
use crate::startup::app;

pub mod console;
pub mod vendor;

/// Demo personas: user id, what they stand for.
pub const PERSONAS: [(&str, &str); 7] = [
    ("noelle", "sales"),
    ("rudolph", "field sales"),
    ("tinsel", "marketing"),
    ("holly", "customer service"),
    ("penny", "accounting"),
    ("santa", "management"),
    ("grinch", "former employee, account inactive"),
];

/// The contact the tour shows.
pub const TOUR_CONTACT: &str = tour::CONTACT;

/// One row of the tour: persona × purpose → per field group outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TourRow {
    pub user: String,
    pub department: String,
    pub purpose: String,
    /// `None` when the row (the whole record) is hidden or the user is inactive.
    pub groups: Option<Vec<(String, Outcome)>>,
    pub note: Option<String>,
}

/// Compute the tour for one record of the demo CRM, of the given entity type.
pub fn tour_rows(
    config: &Config,
    policies: &Policies,
    entity_type: &str,
    record: &Value,
) -> Vec<TourRow> {
    let mut rows = Vec::new();
    let Some(resource) = policies.routes.resource(entity_type) else {
        return rows;
    };
    let Value::Object(obj) = record else {
        return rows;
    };
    for (user, _) in PERSONAS {
        let Some(principal) = policies.engine.principal(user) else {
            continue;
        };
        let dept = principal.department.clone().unwrap_or_default();
        let purposes: Vec<String> = config
            .departments
            .get(&dept)
            .map(|d| d.purposes.clone())
            .unwrap_or_default();
        if !principal.active {
            rows.push(TourRow {
                user: user.into(),
                department: dept,
                purpose: "(any)".into(),
                groups: None,
                note: Some("account inactive: every request is refused (403)".into()),
            });
            continue;
        }
        for purpose in purposes {
            // The same question the proxy answers for a request by this user, for this
            // purpose, about this record.
            let Ok(scope) =
                decide::subject_of(config, &policies.engine, principal.clone(), Some(&purpose))
            else {
                continue;
            };
            let Ok(eval) = decide::record_of(&policies.engine, &scope, resource, obj) else {
                continue;
            };
            let plan = &eval.plan;
            let groups = eval.outcomes(resource).map(|gs| {
                gs.into_iter()
                    .map(|(name, o, _)| (name.to_string(), o))
                    .collect()
            });
            rows.push(TourRow {
                user: user.into(),
                department: dept.clone(),
                purpose,
                note: (!plan.row.allow).then(|| "record hidden for this purpose".to_string()),
                groups,
            });
        }
    }
    rows
}

/// Render the tour as a compact table with a legend.
pub fn render_tour(rows: &[TourRow], record: &Value) -> String {
    let props = record.get("properties");
    let name = |k: &str| {
        props
            .and_then(|p| p.get(k))
            .and_then(Value::as_str)
            .unwrap_or("?")
    };
    let heading = format!(
        "What each department sees of contact {} ({} {}, {}), per purpose:\n",
        record.get("id").and_then(Value::as_str).unwrap_or("?"),
        name("firstname"),
        name("lastname"),
        name("lifecyclestage"),
    );
    render_rows(rows, heading)
}

/// The tour's table under `heading`.
pub(crate) fn render_rows(rows: &[TourRow], heading: String) -> String {
    let mut out = heading;
    out.push('\n');
    let groups: Vec<String> = rows
        .iter()
        .find_map(|r| r.groups.as_ref())
        .map(|g| g.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let mut header = format!("{:<8} {:<17} {:<20}", "user", "department", "purpose");
    for g in &groups {
        let _ = write!(header, " {:<w$}", g, w = col_width(g));
    }
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "{}", "-".repeat(header.chars().count()));
    for r in rows {
        let mut line = format!("{:<8} {:<17} {:<20}", r.user, r.department, r.purpose);
        match &r.groups {
            Some(gs) => {
                for (g, o) in gs {
                    let cell = match o {
                        Outcome::Clear => "clear".to_string(),
                        Outcome::Masked(k) => k.name().to_string(),
                        Outcome::Removed => "-".to_string(),
                    };
                    let _ = write!(line, " {:<w$}", cell, w = col_width(g));
                }
            }
            None => {
                let _ = write!(line, " ({})", r.note.as_deref().unwrap_or("hidden"));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "\nclear = shown as stored; a mask name = shown masked (partial, hash, month_day, …); - = removed."
    );
    out
}

fn col_width(group: &str) -> usize {
    group.len().max(9)
}

/// The copy-paste commands printed after the tour.
pub fn curl_examples(addr: SocketAddr, ca: &Path) -> String {
    let base = format!("https://localhost:{}", addr.port());
    let ca_path = ca;
    let ca = ca.display();
    let mut s = String::from("Try it (demo API keys are `demo-key-<user>`):\n\n");
    // The requests as the demo CRM's API spells them (`democrm::tour`).
    let purpose_header = |purpose: Option<&str>| {
        purpose
            .map(|p| format!(" -H 'X-Purpose: {p}'"))
            .unwrap_or_default()
    };
    for tour::Example {
        user,
        purpose,
        path,
    } in tour::READS
    {
        let purpose = purpose_header(purpose);
        let _ = writeln!(
            s,
            "  curl -s --cacert {ca} -H 'Authorization: Bearer demo-key-{user}'{purpose} '{base}{path}'"
        );
    }
    let (search, body) = (tour::SEARCH, tour::SEARCH_BODY);
    let _ = writeln!(
        s,
        "  curl -s --cacert {ca} -H 'Authorization: Bearer demo-key-{}'{} -H 'Content-Type: application/json' \\\n    -d '{body}' '{base}{}'",
        search.user,
        purpose_header(search.purpose),
        search.path,
    );
    // The other credentials: a client certificate (mTLS), a dev OIDC token, a service key.
    let dir = ca_path
        .parent()
        .unwrap_or(Path::new("certs"))
        .display()
        .to_string();
    let (certificate, token, service) =
        (tour::CERTIFICATE_PATH, tour::TOKEN_PATH, tour::SERVICE_PATH);
    let _ = writeln!(
        s,
        "\n  curl -s --cacert {ca} --cert {dir}/client-rudolph.pem --key {dir}/client-rudolph.key '{base}{certificate}'\n  \
         curl -s --cacert {ca} -H \"Authorization: Bearer $(cargo run -q -- certs token --dir {dir} --user holly)\" '{base}{token}'\n  \
         curl -s --cacert {ca} -H 'Authorization: Bearer demo-key-newsletter' '{base}{service}'"
    );
    // A cursor is crmgate's own, sealed to the caller, purpose and policy revision: the next
    // page is asked for with the one the answer gives, never with a number.
    let _ = writeln!(s, "\n  {}", tour::NEXT_PAGE);
    s
}

/// The wish the tour's form sends: an illness and an IBAN a child's parent volunteered.
pub const TOUR_WISH: &str = tour::WISH;

/// The write tour: two requests through the real pipeline (authorized, redacted, audited
/// like any other): the wish-list form creates a prospect, and marketing tries to edit a
/// customer.
pub async fn write_tour(gateway: &crate::stages::pipeline::Gateway, crm: &DemoCrm) -> String {
    let mut s = String::from("Writes through crmgate\n\n");
    let (status, headers, answer) = tour_request(
        gateway,
        "POST",
        tour::CONTACTS_PATH,
        "demo-key-wishlist",
        None,
        Some(tour::wish_list_create()),
    )
    .await;
    let _ = writeln!(
        s,
        "  The wish-list form creates a prospect (POST {}, its service key):\n    \
         wish sent:   {TOUR_WISH}\n    \
         answer:      {status}; the form is told  x-crmgate-redacted: {}",
        tour::CONTACTS_PATH,
        header(&headers, "x-crmgate-redacted"),
    );
    let stored = answer
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| crm.record_json("contacts", id));
    if let Some(props) = stored.as_ref().and_then(|r| r.get("properties")) {
        let p = |k: &str| {
            props
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_string()
        };
        let _ = writeln!(
            s,
            "    stored wish: {}\n    provenance:  data_source={} (the form's, not the `purchased_list` it sent), \
             data_source_at={}, basis={}",
            p("wish_text"),
            p("data_source"),
            p("data_source_at"),
            p("data_source_basis"),
        );
    }
    let (status, _, problem) = tour_request(
        gateway,
        "PATCH",
        &tour::contact_path(TOUR_CONTACT),
        "demo-key-tinsel",
        Some("greetings"),
        Some(tour::rename_customer()),
    )
    .await;
    let _ = writeln!(
        s,
        "\n  Marketing (tinsel, purpose greetings) tries to rename customer {TOUR_CONTACT}:\n    \
         answer:      {status} {}",
        problem.get("detail").and_then(Value::as_str).unwrap_or(""),
    );
    s
}

/// The prospect the deletion-concept tour shows: no activity since 2022-12-10.
pub const TOUR_DUE_CONTACT: &str = tour::DUE_CONTACT;

/// The deletion concept in the tour: a record past its retention is invisible to customer
/// service before anything was deleted; the deletion run still reads it, and the rules say
/// what `crmgate retention plan` will list for it. Both requests go through the real
/// pipeline, audited.
pub async fn retention_tour(
    gateway: &crate::stages::pipeline::Gateway,
    clock: crate::retention::Clock,
    base: &str,
    ca: &Path,
) -> String {
    let policies = gateway.policies();
    let Some(rules) = policies.retention.as_deref() else {
        return String::new();
    };
    let mut s = String::from("The deletion concept (policies/retention.toml)\n\n");
    let path = tour::contact_path(TOUR_DUE_CONTACT);
    let (status, _, _) = tour_request(
        gateway,
        "GET",
        &path,
        "demo-key-holly",
        Some("prospect_management"),
        None,
    )
    .await;
    let _ = writeln!(
        s,
        "  Customer service (holly, prospect_management) asks for prospect {TOUR_DUE_CONTACT}: {status} \
         (past its retention: hidden like a missing record, before anything was deleted)"
    );
    let inputs: Vec<String> = rules.plan_inputs("Contact").into_iter().collect();
    let (status, _, record) = tour_request(
        gateway,
        "GET",
        &tour::contact_read_path(TOUR_DUE_CONTACT, &inputs),
        "demo-key-retention",
        None,
        None,
    )
    .await;
    let props = record
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let shown = |k: &str| {
        props
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_string()
    };
    let _ = writeln!(
        s,
        "  The deletion run (demo-key-retention, purpose deletion) reads it: {status}; \
         lifecyclestage={}, data_source={}, last_activity_date={}",
        shown("lifecyclestage"),
        shown("data_source"),
        shown("last_activity_date"),
    );
    let today = clock.today();
    let entries: Vec<crate::tools::retention::Entry> = rules
        .evaluate("Contact", &props, today)
        .items
        .into_iter()
        .map(|i| crate::tools::retention::Entry {
            rule: i.kind,
            resource: "Contact".into(),
            id: TOUR_DUE_CONTACT.into(),
            action: i.action.name().into(),
            due_on: i.due_on.to_string(),
            held_by: i.held_by.iter().map(|(h, _)| h.clone()).collect(),
            properties: i.properties,
        })
        .collect();
    for e in &entries {
        let rule = rules.kind(&e.rule);
        let _ = writeln!(
            s,
            "  What `crmgate retention plan` lists for it: rule `{}` ({} after {}), due since {}: {}{}",
            e.rule,
            rule.map(|k| k.period.to_string()).unwrap_or_default(),
            rule.map(|k| k.start.describe()).unwrap_or_default(),
            e.due_on,
            e.action,
            if e.is_held() {
                format!(", held by {}", e.held_by.join(", "))
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        s,
        "  The whole plan (changes nothing):\n    \
         crmgate retention plan --url {base} --ca {} --key demo-key-retention",
        ca.display()
    );
    s
}

fn header(h: &http::HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
        .to_string()
}

/// One request through the gateway, as a client would send it.
async fn tour_request(
    gateway: &crate::stages::pipeline::Gateway,
    method: &str,
    path: &str,
    key: &str,
    purpose: Option<&str>,
    body: Option<Value>,
) -> (u16, http::HeaderMap, Value) {
    use http_body_util::BodyExt;
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, "localhost")
        .header(http::header::AUTHORIZATION, format!("Bearer {key}"));
    if let Some(p) = purpose {
        b = b.header("x-purpose", p);
    }
    let bytes = match body {
        Some(v) => {
            b = b.header(http::header::CONTENT_TYPE, "application/json");
            serde_json::to_vec(&v).unwrap_or_default()
        }
        None => Vec::new(),
    };
    let Ok(req) = b.body(http_body_util::Full::new(bytes::Bytes::from(bytes))) else {
        return (0, http::HeaderMap::new(), Value::Null);
    };
    let peer = SocketAddr::from(([127, 0, 0, 1], 0));
    let resp = gateway.handle(req, peer).await;
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    (
        parts.status.as_u16(),
        parts.headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Options of `crmgate demo`.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub config: std::path::PathBuf,
    pub listen: Option<SocketAddr>,
    /// The admin listener's address instead of the config's `admin.addr`.
    pub admin: Option<SocketAddr>,
    /// Another vendor's demo CRM and API than the default one (`--vendor`).
    pub vendor: Option<String>,
    /// The DPO console's address (`--console`; default [`console::default_listen`]).
    pub console: Option<SocketAddr>,
}

/// Run the demo until Ctrl-C or SIGTERM (either ends with the final signed checkpoint).
pub async fn run(opts: DemoOptions) -> Result<(), String> {
    // Secrets the demo makes up for itself unless the operator set them.
    let upstream_token = random_secret();
    let hash_key = random_secret();
    let mut config = Config::load_with_env(&opts.config, |name| match name {
        "CRMGATE_UPSTREAM_TOKEN" => {
            Some(std::env::var(name).unwrap_or_else(|_| upstream_token.clone()))
        }
        "CRMGATE_HASH_KEY" => Some(std::env::var(name).unwrap_or_else(|_| hash_key.clone())),
        other => std::env::var(other).ok(),
    })
    .map_err(|e| e.to_string())?;
    if let Some(addr) = opts.listen {
        config.listen.addr = addr;
    }
    if let Some(addr) = opts.admin {
        config.admin.addr = addr;
    }

    let (crm, crm_addr) = start_demo_crm(&mut config).await?;
    let tour_record = crm.record_json("contacts", TOUR_CONTACT);

    let Started {
        ca,
        audit_path,
        prepared,
        policies,
        admin_bound,
        listener,
        bound,
        shutdown,
    } = start_proxy(&config).await?;

    let console = console::start(
        &config,
        &opts.config,
        opts.console
            .unwrap_or_else(|| console::default_listen(config.listen.addr)),
        bound,
        &ca,
    )
    .await;
    println!("crmgate demo: Santa's company\n");
    println!(
        "  demo CRM ({}, {} contacts): http://{crm_addr}",
        tour::API_SHAPE,
        crm.contact_count()
    );
    println!(
        "  crmgate (TLS, example policies):        https://localhost:{}",
        bound.port()
    );
    println!("  admin (/healthz, /readyz, /metrics):    http://{admin_bound}");
    println!(
        "  audit log:                              {}",
        audit_path.display()
    );
    println!("{}", console.lines);
    if let Some(record) = &tour_record {
        println!(
            "{}",
            render_tour(&tour_rows(&config, &policies, "Contact", record), record)
        );
    }
    println!("{}", write_tour(&prepared.gateway, &crm).await);
    println!(
        "{}",
        retention_tour(
            &prepared.gateway,
            config.policies.retention_clock,
            &format!("https://localhost:{}", bound.port()),
            &ca,
        )
        .await
    );
    println!("{}", curl_examples(bound, &ca));
    println!("Serving until Ctrl-C or SIGTERM.");

    let served = app::run(prepared, listener, shutdown)
        .await
        .map_err(|e| e.to_string());
    console.stop().await;
    served
}

/// The demo CRM on a loopback port, requiring the upstream credential crmgate injects; the
/// configuration's upstream then points at it.
async fn start_demo_crm(config: &mut Config) -> Result<(Arc<DemoCrm>, SocketAddr), String> {
    let token = config
        .upstream
        .credential
        .as_ref()
        .map(|s| s.expose().to_string())
        .unwrap_or_default();
    let crm = Arc::new(DemoCrm::seeded().with_required_token(token));
    let crm_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("demo CRM: {e}"))?;
    let crm_addr = crm_listener.local_addr().map_err(|e| e.to_string())?;
    config.upstream.base = format!("http://{crm_addr}")
        .parse()
        .map_err(|e| format!("demo CRM address: {e}"))?;
    tokio::spawn(democrm::serve(
        crm.clone(),
        crm_listener,
        std::future::pending::<()>(),
    ));
    Ok((crm, crm_addr))
}

/// `policies/../certs/ca.pem` → `certs/ca.pem`, for paths shown to a person.
pub(crate) fn tidy(p: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub(crate) fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A secret for callers that need one made up (tests).
pub fn made_up_secret() -> Secret {
    Secret::new(random_secret())
}

/// `crmgate demo-crm`: the embedded demo CRM alone, as an upstream for experiments.
pub async fn demo_crm(listen: SocketAddr, token: Option<String>) -> Result<(), String> {
    let mut crm = DemoCrm::seeded();
    if let Some(t) = token {
        crm = crm.with_required_token(t);
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!(
        "demo CRM listening on http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    democrm::serve(Arc::new(crm), listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}

/// The demo's proxy, prepared and bound: its listener, the admin listener already serving
/// (health, readiness and metrics, as `serve`'s), and where its CA and audit log are.
pub(crate) struct Started {
    pub(crate) ca: std::path::PathBuf,
    pub(crate) audit_path: std::path::PathBuf,
    pub(crate) prepared: app::Prepared,
    pub(crate) policies: Arc<Policies>,
    pub(crate) admin_bound: SocketAddr,
    pub(crate) listener: TcpListener,
    pub(crate) bound: SocketAddr,
    pub(crate) shutdown: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
}

/// Prepare the proxy for `config` and bind its listeners (the same for every vendor's demo).
pub(crate) async fn start_proxy(config: &Config) -> Result<Started, String> {
    let ca = config
        .listen
        .tls
        .as_ref()
        .and_then(|t| t.cert.parent().map(|d| tidy(&d.join("ca.pem"))))
        .unwrap_or_else(|| "certs/ca.pem".into());
    let (listen, admin_addr) = (config.listen.addr, config.admin.addr);
    let audit_path = tidy(&config.audit.dir);
    let prepared = app::prepare(config.clone())?;
    let policies = prepared.gateway.policies();
    let admin_listener = TcpListener::bind(admin_addr).await.map_err(|e| {
        format!("cannot listen on {admin_addr} (admin): {e} (try --admin 127.0.0.1:0)")
    })?;
    let admin_bound = admin_listener.local_addr().map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e} (try --listen 127.0.0.1:0)"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    // Installed now, not when first polled: a SIGTERM during the tour is a clean stop too.
    let shutdown = Box::pin(crate::tools::serve::shutdown_signal());
    tokio::spawn(crate::admin::serve(
        prepared.health.clone(),
        admin_listener,
        std::future::pending(),
    ));
    Ok(Started {
        ca,
        audit_path,
        prepared,
        policies,
        admin_bound,
        listener,
        bound,
        shutdown,
    })
}
