//! Policy revisions: the one consistent set of routes and policies a request is decided
//! by ([`Policies`]), swapped atomically on a reload ([`Revisions::install`]) with what
//! reloads did ([`ReloadStatus`]); and, per revision, what each scope may select records
//! by ([`Selector`]): memoised, computed one at a time off the async workers, and warmed
//! for a new revision before it is swapped in.
//!
//! A set that failed validation must never replace the active one, and a request must
//! never be decided by two revisions.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use crate::admin::Health;
use crate::error::RequestError;
use crate::policy::memo::Memo;
use crate::policy::plan::Selectability;
use crate::policy::{PolicyEngine, Scope};
use crate::redact::Redactor;
use crate::routes::{ResourceProfile, RouteTable};
use crate::stages::vendor::Vendor;

/// One consistent revision of routes and policies: a request is decided by one revision.
#[derive(Debug)]
pub struct Policies {
    pub routes: RouteTable,
    pub engine: PolicyEngine,
    /// Owners of configured API keys that the entities do not list: those keys are refused.
    pub unlisted_key_owners: Vec<String>,
    /// The redaction rules for free text written through crmgate.
    pub redactor: Option<Arc<Redactor>>,
    /// The deletion concept, if configured (its evaluators are attached to `routes`).
    pub retention: Option<Arc<crate::retention::RetentionRules>>,
    /// The CRM's API the routes are spelt in (`[upstream] vendor`), for the tools that
    /// speak it as a client.
    pub vendor: Arc<dyn Vendor>,
}

/// What hot reloads did: for logs, metrics and `/readyz`.
#[derive(Debug, Default)]
pub struct ReloadStatus {
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    /// The problems of the last rejected policy set (cleared by a successful reload).
    pub last_error: Mutex<Option<String>>,
}

/// Policy revision, scope and resource type.
type SelectKey = (String, Arc<str>, String);

/// Most selectabilities memoised (one per principal × purpose × resource type).
const SELECTABLE_MEMO_ENTRIES: usize = 4096;

/// A scope a new revision is warmed for: principal id, purpose, resource type.
type WarmScope = (String, String, String);

/// Most scopes remembered for warming.
const WARM_SCOPES: usize = 256;

/// Longest a reload spends warming the new revision before swapping it in (it delays the
/// swap, and with it a revocation, by at most this).
const WARM_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// The active revision and what reloads did.
#[derive(Debug)]
pub(super) struct Revisions {
    current: RwLock<Arc<Policies>>,
    pub(super) reloads: ReloadStatus,
}

impl Revisions {
    pub(super) fn new(policies: Policies) -> Revisions {
        Revisions {
            current: RwLock::new(Arc::new(policies)),
            reloads: ReloadStatus::default(),
        }
    }

    /// The revision requests are decided by now.
    pub(super) fn current(&self) -> Arc<Policies> {
        match self.current.read() {
            Ok(p) => p.clone(),
            // A writer panicked mid-swap; the Arc inside is still a whole revision.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Swap in a newly loaded policy set atomically, or, when loading it failed, keep the
    /// active one and say why (the gateway's `install`).
    pub(super) fn install(
        &self,
        loaded: Result<Policies, String>,
        health: &Health,
    ) -> Result<String, String> {
        match loaded {
            Ok(new) => {
                let revision = new.engine.revision().to_string();
                warn_shadow_routes(&new);
                match self.current.write() {
                    Ok(mut guard) => *guard = Arc::new(new),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(new),
                }
                self.reloads.succeeded.fetch_add(1, Ordering::Relaxed);
                health
                    .metrics
                    .policy_reloads_ok
                    .fetch_add(1, Ordering::Relaxed);
                health.metrics.set_revision(&revision);
                health.note("policies", None);
                if let Ok(mut e) = self.reloads.last_error.lock() {
                    *e = None;
                }
                tracing::info!(revision = %revision, "policies reloaded");
                Ok(revision)
            }
            Err(message) => {
                self.reloads.failed.fetch_add(1, Ordering::Relaxed);
                health
                    .metrics
                    .policy_reloads_failed
                    .fetch_add(1, Ordering::Relaxed);
                // Not a readiness failure: the active set keeps serving; the operator sees
                // why the new one was rejected.
                health.note(
                    "policies",
                    Some(format!("reload rejected, active revision kept: {message}")),
                );
                if let Ok(mut last) = self.reloads.last_error.lock() {
                    *last = Some(message.clone());
                }
                tracing::error!(problems = %message, "policy reload rejected; the active set stays");
                Err(message)
            }
        }
    }
}

/// What each scope may select records by, per policy revision (see [`Selectability`]).
#[derive(Debug)]
pub(super) struct Selector {
    memo: Arc<Memo<SelectKey, Selectability>>,
    /// Held while a selectability is computed (requests and warming alike): that work
    /// takes at most one core, whatever the number of new callers after a reload, and a
    /// scope asked for by several requests at once is computed once.
    analysis: Arc<Mutex<()>>,
    /// Scopes whose selectability was asked for: a new revision is warmed for them.
    warm_scopes: Mutex<HashSet<WarmScope>>,
}

impl Selector {
    pub(super) fn new() -> Selector {
        Selector {
            memo: Arc::new(Memo::new(SELECTABLE_MEMO_ENTRIES)),
            analysis: Arc::new(Mutex::new(())),
            warm_scopes: Mutex::new(HashSet::new()),
        }
    }

    /// The selectability of a resource for one scope, memoised per policy revision. The
    /// first time per scope and revision it costs thousands of Cedar evaluations: those run
    /// on a blocking thread, so that the async workers keep serving other requests, and the
    /// scope is remembered so that the next revision is warmed for it before it is swapped
    /// in ([`Selector::warm`]).
    pub(super) async fn selectability(
        &self,
        policies: &Arc<Policies>,
        scope: &Scope,
        res: &Arc<ResourceProfile>,
    ) -> Result<(Selectability, usize), RequestError> {
        let key = (
            policies.engine.revision().to_string(),
            scope.memo_key().clone(),
            res.name.clone(),
        );
        if let Some(s) = self.memo.get(&key) {
            return Ok((s, 0));
        }
        self.remember_scope(scope, res);
        let (p, principal, purpose, r) = (
            policies.clone(),
            scope.principal.clone(),
            scope.purpose.clone(),
            res.clone(),
        );
        let (memo, analysis) = (self.memo.clone(), self.analysis.clone());
        tokio::task::spawn_blocking(move || {
            // The same principal and purpose: the same memo key, the same decisions.
            let scope = p.engine.scope(principal, &purpose)?;
            Ok(compute_selectability(
                &memo, &analysis, key, &p.engine, &scope, &r,
            ))
        })
        .await
        // fail closed: a computation that did not finish selects nothing.
        .map_err(|e| RequestError::Internal(format!("the selectability task failed: {e}")))?
    }

    /// Note a scope (a directory principal, a purpose, a resource type) whose selectability
    /// was computed, for warming the next revision. Bounded; principals described by token
    /// claims are left out (their entity data comes with each token).
    fn remember_scope(&self, scope: &Scope, res: &ResourceProfile) {
        if scope.principal.claimed_roles.is_some() {
            return;
        }
        if let Ok(mut warm) = self.warm_scopes.lock() {
            if warm.len() < WARM_SCOPES {
                warm.insert((
                    scope.principal.id.clone(),
                    scope.purpose.clone(),
                    res.name.clone(),
                ));
            }
        }
    }

    /// Warm a new revision before it is swapped in: compute the selectability of every
    /// remembered scope under it (the plans this fills are the new revision's too), for at
    /// most [`WARM_BUDGET`]; the rest are computed when first asked for, off the async
    /// workers. Blocking: reloads call it on a blocking thread. Returns the scopes warmed.
    pub(super) fn warm(&self, new: &Policies) -> usize {
        let started = Instant::now();
        let scopes: Vec<WarmScope> = match self.warm_scopes.lock() {
            Ok(w) => w.iter().cloned().collect(),
            Err(_) => return 0,
        };
        let mut warmed = 0;
        for (id, purpose, entity_type) in scopes {
            if started.elapsed() >= WARM_BUDGET {
                break;
            }
            let (Some(principal), Some(res)) =
                (new.engine.principal(&id), new.routes.resource(&entity_type))
            else {
                continue;
            };
            if !principal.active {
                continue;
            }
            let Ok(scope) = new.engine.scope(principal.clone(), &purpose) else {
                continue;
            };
            let key = (
                new.engine.revision().to_string(),
                scope.memo_key().clone(),
                entity_type,
            );
            let (_, evaluations) =
                compute_selectability(&self.memo, &self.analysis, key, &new.engine, &scope, res);
            warmed += usize::from(evaluations > 0);
        }
        if warmed > 0 {
            tracing::info!(
                revision = new.engine.revision(),
                scopes = warmed,
                ms = started.elapsed().as_millis() as u64,
                "new policy revision warmed"
            );
        }
        warmed
    }
}

/// Compute a selectability under `key` unless it is memoised, one computation at a time
/// (see `Selector::analysis`), and memoise it; with the Cedar evaluations it took (0 when
/// another request or a warming computed it meanwhile). Blocking.
fn compute_selectability(
    memo: &Memo<SelectKey, Selectability>,
    analysis: &Mutex<()>,
    key: SelectKey,
    engine: &PolicyEngine,
    scope: &Scope,
    res: &ResourceProfile,
) -> (Selectability, usize) {
    let _one_at_a_time = analysis.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(s) = memo.get(&key) {
        return (s, 0);
    }
    let (s, evaluations) = crate::policy::plan::selectability(engine, scope, res);
    memo.insert(key, s.clone());
    (s, evaluations)
}

/// Shadow routes hand out unfiltered data by design: say so loudly whenever a set with
/// them becomes active.
pub fn warn_shadow_routes(policies: &Policies) {
    for r in policies.routes.routes().iter().filter(|r| r.shadow) {
        tracing::warn!(route = %r.name, "route in SHADOW mode: decisions are audited but NOT enforced");
    }
    for r in policies.routes.routes().iter().filter(|r| r.passthrough) {
        tracing::warn!(route = %r.name, "route in PASSTHROUGH mode (benchmark reference): responses are NOT filtered");
    }
}
