//! What every console handler reads: the console's state (configuration, its own
//! pipeline and audit log, sessions, the OIDC client) and one request as the handlers see
//! it. A leaf below the pages.
//!
//! It must never hold an e-mail address or a token beyond the request that brought it.

use std::path::PathBuf;
use std::sync::Arc;

use http::Method;

use crate::audit::AuditSink;
use crate::config::Config;
use crate::stages::pipeline::Gateway;
use crate::tools::docs::permission::{self, PermissionConcept};
use crate::tools::docs::{today, AuditSource};
use crate::tools::retention::Connection;

use super::oidc;
use super::session::{Session, Sessions};
use super::view::Lang;

/// The purpose every console view of personal data is recorded under.
pub const REVIEW_PURPOSE: &str = "data_protection_review";

/// The roles that may use the console.
pub const ROLES: [&str; 2] = ["dpo", "security"];

/// What every handler reads.
pub struct Console {
    /// The configuration as loaded: `audit.dir` is the proxy's log.
    pub config: Config,
    /// The console's own pipeline (its audit log is the console's).
    pub gateway: Arc<Gateway>,
    pub audit: Arc<dyn AuditSink>,
    pub console_dir: PathBuf,
    pub sessions: Sessions,
    pub oidc: oidc::Client,
    /// crmgate with the data protection officer's key: the Art. 15 copy and the lookup
    /// by e-mail address (none: no copy, and a subject page says so).
    pub copy: Option<Connection>,
    /// crmgate with the deletion run's key: the next run's plan.
    pub retention: Option<Connection>,
    /// Where the answer to an access request reads the audit log: the central store when
    /// one is configured (every replica), else the proxy's directory.
    pub audit_source: AuditSource,
    pub checkpoints: Vec<PathBuf>,
    /// The permission concept of the loaded revision, computed once per revision and day
    /// (it asks the decision core every question of the concept: seconds of work).
    pub concept: std::sync::Mutex<Option<(String, Arc<PermissionConcept>)>>,
}

impl Console {
    /// The permission concept of the loaded policy revision, as of today.
    pub fn concept(&self) -> Arc<PermissionConcept> {
        let policies = self.gateway.policies();
        let key = format!("{}@{}", policies.engine.revision(), today());
        if let Ok(guard) = self.concept.lock() {
            if let Some((k, pc)) = guard.as_ref() {
                if *k == key {
                    return pc.clone();
                }
            }
        }
        let pc = Arc::new(permission::compute(&self.config, &policies, &today()));
        if let Ok(mut guard) = self.concept.lock() {
            *guard = Some((key, pc.clone()));
        }
        pc
    }
}

/// One request as the handlers see it.
pub struct Req {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub cookies: Vec<(String, String)>,
    pub lang: Lang,
    pub session: Option<Session>,
    /// `?lang=` was given: the session keeps it.
    pub lang_asked: bool,
}

impl Req {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, v)| n == k && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
    pub fn f(&self, k: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    pub fn cookie(&self, k: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}
