//! The CRM account's request budget, as one replica's share of it: every request crmgate
//! sends to the CRM takes a slot first. crmgate counts its own requests in the vendor's
//! windows (a rolling window of all requests, a per-second one of searches), reads what the
//! CRM reports of the account's remaining budget (the vendor's rate-limit headers: other
//! apps share the account), waits a short while for a slot (queued), and otherwise answers
//! 429 with `Retry-After` itself, before the CRM would. Replicas of one account split it
//! through a counter they share (a central store, [`SharedCounter`]) where there is one,
//! and by configuration where there is not or it cannot be reached: each then takes its
//! `share` (shares summing to at most one), never more.
//!
//! It must never hold a request longer than `max_wait_ms`, never send a request without a
//! slot, and never put a value of a record or a header's text into its counters.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue};

use crate::admin::Metrics;
use crate::config::BudgetConfig;
use crate::error::{RateLimit, RequestError};

/// What a shared counter answers for one slot: granted (`None`), or none free for this long
/// under this limit.
pub type SharedSlot = Option<(Duration, &'static str)>;

/// The account's budget counted across replicas (a central store): one slot of the whole
/// account's `requests` per window and `searches_per_second`. An error means the counter
/// cannot say; the replica's own share then decides.
pub trait SharedCounter: Send + Sync + fmt::Debug {
    fn take(
        &self,
        search: bool,
    ) -> Pin<Box<dyn Future<Output = Result<SharedSlot, String>> + Send + '_>>;
}

/// Longest a slot waits for the shared counter's answer before the replica's share decides.
const SHARED_TIMEOUT: Duration = Duration::from_millis(250);

/// One replica's share of the account's budget.
#[derive(Debug)]
pub struct Budget {
    /// Requests this replica may send per `window`.
    requests: usize,
    window: Duration,
    /// Searches this replica may send per second (0: no search limit of its own).
    searches: usize,
    max_wait: Duration,
    state: Mutex<State>,
    metrics: Arc<Metrics>,
    /// The counter the replicas share, set once at start-up where there is one.
    shared: OnceLock<Arc<dyn SharedCounter>>,
}

#[derive(Debug, Default)]
struct State {
    sent: VecDeque<Instant>,
    searches: VecDeque<Instant>,
    /// The account reported too little left (its rate-limit headers): nothing until then.
    paused_until: Option<Instant>,
}

/// Where a request stands: it may go, or must wait this long for a slot (and which limit).
enum Slot {
    Go,
    Wait(Duration, &'static str),
}

impl Budget {
    pub fn new(cfg: &BudgetConfig, metrics: Arc<Metrics>) -> Budget {
        let share = cfg.share.clamp(0.0, 1.0);
        let part = |n: u32| {
            // Truncation is the point: a share never rounds up past the account's budget.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let v = (f64::from(n) * share).floor() as usize;
            if n == 0 {
                0
            } else {
                v.max(1)
            }
        };
        Budget {
            requests: part(cfg.requests),
            window: Duration::from_millis(cfg.window_ms.max(1)),
            searches: part(cfg.searches_per_second),
            max_wait: Duration::from_millis(cfg.max_wait_ms),
            state: Mutex::new(State::default()),
            metrics,
            shared: OnceLock::new(),
        }
    }

    /// Count the account's budget with the other replicas through `counter` from now on.
    pub fn share_through(&self, counter: Arc<dyn SharedCounter>) {
        let _ = self.shared.set(counter);
    }

    /// Where the next request stands: the shared counter's answer where it gives one (the
    /// slot is noted locally too), else this replica's share.
    async fn slot(&self, search: bool) -> Slot {
        let Some(counter) = self.shared.get() else {
            return self.try_take(search, Instant::now());
        };
        if let Some(pause) = self.paused(Instant::now()) {
            return Slot::Wait(pause, "ACCOUNT_BUDGET");
        }
        match tokio::time::timeout(SHARED_TIMEOUT, counter.take(search)).await {
            Ok(Ok(None)) => {
                self.note(search, Instant::now());
                Slot::Go
            }
            Ok(Ok(Some((wait, limit)))) => Slot::Wait(wait, limit),
            // fail closed: the store cannot say; this replica's share decides, never
            // unlimited.
            Ok(Err(_)) | Err(_) => {
                self.metrics
                    .budget_shared_unavailable
                    .fetch_add(1, Ordering::Relaxed);
                self.try_take(search, Instant::now())
            }
        }
    }

    fn paused(&self, now: Instant) -> Option<Duration> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.paused_until.filter(|u| *u > now).map(|u| u - now)
    }

    /// A slot the shared counter granted, kept in this replica's own window too (what its
    /// share counts if the counter goes away).
    fn note(&self, search: bool, now: Instant) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.sent.push_back(now);
        if search {
            s.searches.push_back(now);
        }
        let window = self.window;
        while s
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            s.sent.pop_front();
        }
        while s.searches.len() > 64 {
            s.searches.pop_front();
        }
    }

    /// Take a slot for one CRM request (`search`: the vendor's search endpoint), waiting
    /// for one at most `max_wait_ms`; otherwise the 429 crmgate answers with, before the CRM.
    pub async fn take(&self, search: bool) -> Result<(), RequestError> {
        let deadline = Instant::now() + self.max_wait;
        let mut queued = false;
        loop {
            let slot = self.slot(search).await;
            let now = Instant::now();
            match slot {
                Slot::Go => {
                    self.metrics.budget_used.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Slot::Wait(wait, _) if now + wait <= deadline => {
                    if !queued {
                        queued = true;
                        self.metrics.budget_queued.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
                Slot::Wait(wait, limit) => {
                    self.metrics
                        .rate_limited_by_crmgate
                        .fetch_add(1, Ordering::Relaxed);
                    return Err(refusal(wait, limit));
                }
            }
        }
    }

    fn try_take(&self, search: bool, now: Instant) -> Slot {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.window;
        while s
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            s.sent.pop_front();
        }
        // A little more than a second: the CRM's window starts when a request arrives, a
        // little after crmgate's slot was taken.
        let second = Duration::from_millis(1_050);
        while s
            .searches
            .front()
            .is_some_and(|t| now.duration_since(*t) >= second)
        {
            s.searches.pop_front();
        }
        if let Some(until) = s.paused_until {
            if until > now {
                return Slot::Wait(until - now, "ACCOUNT_BUDGET");
            }
            s.paused_until = None;
        }
        if s.sent.len() >= self.requests {
            let oldest = s.sent.front().copied().unwrap_or(now);
            return Slot::Wait(window.saturating_sub(now - oldest), "ROLLING_WINDOW");
        }
        if search && self.searches > 0 && s.searches.len() >= self.searches {
            let oldest = s.searches.front().copied().unwrap_or(now);
            return Slot::Wait(second.saturating_sub(now - oldest), "SECONDLY");
        }
        s.sent.push_back(now);
        if search {
            s.searches.push_back(now);
        }
        Slot::Go
    }

    /// What the CRM reported of the account's budget (`{prefix}remaining` and
    /// `{prefix}interval-milliseconds`): with nothing left (the account's other users, or
    /// replicas whose shares overlap, took it), crmgate pauses a while rather than send a
    /// request the CRM would refuse. Numbers only; anything else is ignored.
    pub fn observe(&self, headers: &HeaderMap, prefix: &str) {
        let number = |name: &str| {
            headers
                .get(format!("{prefix}{name}").as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let Some(remaining) = number("remaining") else {
            return;
        };
        if remaining > 0 {
            return;
        }
        let interval = number("interval-milliseconds")
            .map_or(self.window, Duration::from_millis)
            .min(self.window);
        // The oldest request of the account's window is unknown: wait a tenth of it.
        let pause = (interval / 10).max(Duration::from_millis(100));
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.paused_until = Some(Instant::now() + pause);
    }

    /// The CRM answered 429 after all (another app of the account, a limit crmgate does
    /// not know): counted by origin; the CRM's own answer goes to the client.
    pub fn crm_refused(&self) {
        self.metrics
            .rate_limited_by_crm
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// crmgate's own 429: a `Retry-After` in whole seconds (at least one), the limit's name.
fn refusal(wait: Duration, limit: &str) -> RequestError {
    let secs = wait.as_millis().div_ceil(1000).max(1);
    let mut headers = Vec::new();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        headers.push((RETRY_AFTER, v));
    }
    RequestError::UpstreamRateLimited(RateLimit {
        headers,
        policy: Some(limit.to_string()),
    })
}
