//! The account's request budget counted by every replica together, in the central
//! PostgreSQL store (`[audit.central]`): one row per CRM request slot taken, by account, in
//! a small table of its own; each slot is taken under a transaction-scoped advisory lock
//! of the account, so two replicas never both take the last one. Old rows are deleted as
//! slots are taken. The stages' budget asks it through
//! [`crate::stages::budget::SharedCounter`] and falls back to the replica's configured
//! share whenever it cannot answer.
//!
//! It must never grant a slot it did not record, never hold a record's value or a header's
//! text, and never let the connection URL (it may hold a password) reach a log or a
//! message.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tokio_postgres::Client;

use crate::audit::central::db;
use crate::config::BudgetConfig;
use crate::secret::Secret;
use crate::stages::budget::{SharedCounter, SharedSlot};

/// The table, made where it is missing (it holds only counters: nothing to migrate).
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS crmgate_budget_slots (\
    account text NOT NULL, at timestamptz NOT NULL, search boolean NOT NULL); \
    CREATE INDEX IF NOT EXISTS crmgate_budget_slots_account_at \
    ON crmgate_budget_slots (account, at)";

/// The searches' window: a little more than the vendor's second, as the replica's own.
const SEARCH_WINDOW_MS: f64 = 1_050.0;

/// Wait between attempts to reach the store while it is away.
const RECONNECT: Duration = Duration::from_secs(2);

/// The whole account's budget, counted in the central store.
pub struct PgBudget {
    url: Secret,
    account: String,
    requests: i64,
    window_ms: f64,
    searches: i64,
    conn: Mutex<Conn>,
}

#[derive(Default)]
struct Conn {
    client: Option<Client>,
    last_attempt: Option<Instant>,
}

impl std::fmt::Debug for PgBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBudget")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl PgBudget {
    /// The counter of `cfg`'s whole budget (not a share: the store counts every replica)
    /// for `account`, connected on first use.
    pub fn new(url: Secret, account: String, cfg: &BudgetConfig) -> Arc<PgBudget> {
        #[allow(clippy::cast_precision_loss)]
        let window_ms = cfg.window_ms.max(1) as f64;
        Arc::new(PgBudget {
            url,
            account,
            requests: i64::from(cfg.requests),
            window_ms,
            searches: i64::from(cfg.searches_per_second),
            conn: Mutex::new(Conn::default()),
        })
    }

    async fn take_slot(&self, search: bool) -> Result<SharedSlot, String> {
        let mut conn = self.conn.lock().await;
        if conn.client.as_ref().is_none_or(Client::is_closed) {
            conn.client = None;
            if conn.last_attempt.is_some_and(|t| t.elapsed() < RECONNECT) {
                return Err("the central store is away".into());
            }
            conn.last_attempt = Some(Instant::now());
            let client = db::connect(self.url.expose()).await?;
            client
                .batch_execute(SCHEMA)
                .await
                .map_err(|e| format!("budget table: {}", db::db(e)))?;
            conn.client = Some(client);
        }
        let client = conn
            .client
            .as_mut()
            .ok_or_else(|| "the central store is away".to_string())?;
        let taken = self.take_in(client, search).await;
        if taken.is_err() {
            conn.client = None;
        }
        taken
    }

    async fn take_in(&self, client: &mut Client, search: bool) -> Result<SharedSlot, String> {
        let e = |e: tokio_postgres::Error| db::db(e);
        let tx = client.transaction().await.map_err(e)?;
        // One replica at a time per account; each statement below sees the others' slots.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('crmgate-budget:' || $1))::text",
            &[&self.account],
        )
        .await
        .map_err(e)?;
        tx.execute(
            "DELETE FROM crmgate_budget_slots WHERE account = $1 \
             AND at < clock_timestamp() - ($2::float8 + 2000) * interval '1 millisecond'",
            &[&self.account, &self.window_ms],
        )
        .await
        .map_err(e)?;
        let row = tx
            .query_one(
                "WITH w AS (SELECT at, search FROM crmgate_budget_slots WHERE account = $1 \
                   AND at > clock_timestamp() - $2::float8 * interval '1 millisecond') \
                 SELECT count(*), \
                   COALESCE(EXTRACT(EPOCH FROM min(at) + $2::float8 * interval '1 millisecond' \
                     - clock_timestamp()) * 1000, 0)::float8, \
                   count(*) FILTER (WHERE search AND at > clock_timestamp() \
                     - $3::float8 * interval '1 millisecond'), \
                   COALESCE(EXTRACT(EPOCH FROM min(at) FILTER (WHERE search AND at > \
                     clock_timestamp() - $3::float8 * interval '1 millisecond') \
                     + $3::float8 * interval '1 millisecond' - clock_timestamp()) * 1000, 0)::float8 \
                 FROM w",
                &[&self.account, &self.window_ms, &SEARCH_WINDOW_MS],
            )
            .await
            .map_err(e)?;
        let (sent, window_wait): (i64, f64) = (row.get(0), row.get(1));
        let (searches, search_wait): (i64, f64) = (row.get(2), row.get(3));
        let wait = |ms: f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Duration::from_millis(ms.max(1.0).ceil() as u64)
        };
        if sent >= self.requests {
            return Ok(Some((wait(window_wait), "ROLLING_WINDOW")));
        }
        if search && self.searches > 0 && searches >= self.searches {
            return Ok(Some((wait(search_wait), "SECONDLY")));
        }
        tx.execute(
            "INSERT INTO crmgate_budget_slots (account, at, search) \
             VALUES ($1, clock_timestamp(), $2)",
            &[&self.account, &search],
        )
        .await
        .map_err(e)?;
        tx.commit().await.map_err(e)?;
        Ok(None)
    }
}

impl SharedCounter for PgBudget {
    fn take(
        &self,
        search: bool,
    ) -> Pin<Box<dyn Future<Output = Result<SharedSlot, String>> + Send + '_>> {
        Box::pin(self.take_slot(search))
    }
}
