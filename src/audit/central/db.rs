//! The central store's PostgreSQL side: connect, apply the shipped migrations, store a
//! batch of entries, and read every replica's chain back for `audit verify --db` and
//! `audit query --db`.
//!
//! Entries are stored once by (replica, seq): an insert that finds the key taken compares
//! hashes, and another entry under the same key is a conflict, never silently kept or
//! replaced. The checks of a chain are those of the directory ([`Chain`]), fed rows instead
//! of lines. It must never put the connection URL (it may hold a password) into a message
//! or a log.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls};

use crate::audit::chain::line_hash;
use crate::audit::query::{record_keys, Filter, Hit};
use crate::audit::verify::{Chain, Problem, Report};

/// The schema migrations shipped with crmgate: version, name, SQL. Applied in order, each
/// once, recorded in `crmgate_schema_migrations`.
pub const MIGRATIONS: &[(i32, &str, &str)] =
    &[(1, "init", include_str!("migrations/0001_init.sql"))];

/// Replicas that start together must not apply a migration twice: one holds this advisory
/// lock while the others wait (any fixed number; "crmgate" in ASCII).
const MIGRATION_LOCK: i64 = 0x63_72_6d_67_61_74_65;

/// Rows read per round trip when a chain is read back.
const PAGE: i64 = 2000;

/// Parse a connection URL without ever quoting it back (the configuration's check).
pub(crate) use crate::config::central::parse_url as parse;

/// The store as messages may name it: user, host, port and database, never the password.
pub fn describe(url: &str) -> String {
    match parse(url) {
        Ok(cfg) => describe_config(&cfg),
        Err(_) => "postgres://<invalid>".into(),
    }
}

fn describe_config(cfg: &Config) -> String {
    let host = cfg
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_default();
    let port = cfg
        .get_ports()
        .first()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let user = cfg.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let db = cfg.get_dbname().unwrap_or_default();
    format!("postgres://{user}{host}{port}/{db}")
}

/// The error and its causes (the client's own message leaves out why, e.g. "connection
/// refused" or the server's message).
pub fn db(e: tokio_postgres::Error) -> String {
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        out.push_str(&format!(": {c}"));
        cause = c.source();
    }
    out
}

/// Connect (plain TCP or a Unix socket; no TLS yet, see the README).
pub async fn connect(url: &str) -> Result<Client, String> {
    let mut cfg = parse(url)?;
    cfg.connect_timeout(Duration::from_secs(5));
    cfg.application_name("crmgate");
    let (client, connection) = cfg
        .connect(NoTls)
        .await
        .map_err(|e| format!("cannot connect to {}: {}", describe_config(&cfg), db(e)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "postgres connection ended");
        }
    });
    Ok(client)
}

/// Apply the migrations this store lacks; the versions applied now. A store migrated by a
/// newer crmgate is refused: what this one writes may no longer fit it.
pub async fn migrate(client: &mut Client) -> Result<Vec<i32>, String> {
    let tx = client.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS crmgate_schema_migrations (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(db)?;
    let done: Vec<i32> = tx
        .query("SELECT version FROM crmgate_schema_migrations", &[])
        .await
        .map_err(db)?
        .iter()
        .filter_map(|r| r.try_get(0).ok())
        .collect();
    let latest = MIGRATIONS.iter().map(|(v, _, _)| *v).max().unwrap_or(0);
    if let Some(newer) = done.iter().copied().filter(|v| *v > latest).max() {
        return Err(format!(
            "the store has schema version {newer}, newer than this crmgate knows ({latest})"
        ));
    }
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        tx.batch_execute(sql)
            .await
            .map_err(|e| format!("migration {version} ({name}): {e}"))?;
        tx.execute(
            "INSERT INTO crmgate_schema_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await
        .map_err(db)?;
        applied.push(*version);
    }
    tx.commit().await.map_err(db)?;
    Ok(applied)
}

/// One entry of a replica's log, as it was written.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    pub line: String,
}

/// Why a batch was not stored.
#[derive(Debug)]
pub enum StoreError {
    /// PostgreSQL could not be reached or refused: try again later.
    Db(String),
    /// The store holds another entry under one of these keys: the replica id is used by
    /// another log (or the local log was replaced). Retrying cannot fix it.
    Conflict(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Db(m) | StoreError::Conflict(m) => f.write_str(m),
        }
    }
}

fn seq_i64(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Db(format!("seq {seq} does not fit a bigint")))
}

/// The last entry stored for `replica`: its seq and hash.
pub async fn last_stored(client: &Client, replica: &str) -> Result<Option<(u64, String)>, String> {
    let row = client
        .query_opt(
            "SELECT seq, hash FROM crmgate_audit_entries WHERE replica_id = $1 \
             ORDER BY seq DESC LIMIT 1",
            &[&replica],
        )
        .await
        .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let seq: i64 = row.try_get(0).map_err(db)?;
    let hash: String = row.try_get(1).map_err(db)?;
    Ok(Some((u64::try_from(seq).unwrap_or_default(), hash)))
}

/// The entries of one insert, column by column (as `unnest` takes them).
struct Columns {
    seqs: Vec<i64>,
    prevs: Vec<String>,
    hashes: Vec<String>,
    lines: Vec<String>,
    /// kind, time, request_id, principal, department, purpose, decision.
    cols: [Vec<Option<String>>; 7],
    /// Each entry's record keys, as a JSON array.
    keys: Vec<String>,
    /// seq → hash, to tell an entry stored before from another one under its key.
    by_seq: BTreeMap<u64, String>,
}

fn columns(entries: &[Entry]) -> Result<Columns, StoreError> {
    let n = entries.len();
    let mut seqs = Vec::with_capacity(n);
    let (mut prevs, mut hashes, mut lines) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut cols: [Vec<Option<String>>; 7] = Default::default();
    let mut keys = Vec::with_capacity(n);
    let mut by_seq = BTreeMap::new();
    for e in entries {
        let v: Value = serde_json::from_str(&e.line).unwrap_or(Value::Null);
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let hash = line_hash(e.line.as_bytes());
        seqs.push(seq_i64(e.seq)?);
        prevs.push(s("prev").unwrap_or_default());
        hashes.push(hash.clone());
        lines.push(e.line.clone());
        for (col, field) in cols.iter_mut().zip([
            "kind",
            "time",
            "request_id",
            "principal",
            "department",
            "purpose",
            "decision",
        ]) {
            col.push(s(field));
        }
        // Record ids only for request records: other entries name no data subject.
        let k = if v.get("kind").is_none() {
            record_keys(&v)
        } else {
            Vec::new()
        };
        keys.push(Value::from(k).to_string());
        by_seq.insert(e.seq, hash);
    }
    Ok(Columns {
        seqs,
        prevs,
        hashes,
        lines,
        cols,
        keys,
        by_seq,
    })
}

/// Store `entries` (consecutive, of one replica) in one transaction; entries already
/// there with the same hash are skipped (at least once becomes exactly once). Returns how
/// many were new.
pub async fn store(
    client: &mut Client,
    replica: &str,
    entries: &[Entry],
) -> Result<u64, StoreError> {
    let Some(last) = entries.last() else {
        return Ok(0);
    };
    let n = entries.len();
    let Columns {
        seqs,
        prevs,
        hashes,
        lines,
        cols,
        keys,
        by_seq,
    } = columns(entries)?;
    let [kind, time, request_id, principal, department, purpose, decision] = &cols;
    let tx = client
        .transaction()
        .await
        .map_err(|e| StoreError::Db(db(e)))?;
    let inserted = tx
        .query(
            "INSERT INTO crmgate_audit_entries
                 (replica_id, seq, prev, hash, line, kind, time, request_id, principal,
                  department, purpose, decision, record_keys)
             SELECT $1, u.seq, u.prev, u.hash, u.line, u.kind, u.time, u.request_id,
                    u.principal, u.department, u.purpose, u.decision,
                    ARRAY(SELECT jsonb_array_elements_text(u.keys::jsonb))
             FROM unnest($2::int8[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                         $12::text[], $13::text[])
                  AS u(seq, prev, hash, line, kind, time, request_id, principal,
                       department, purpose, decision, keys)
             ON CONFLICT (replica_id, seq) DO NOTHING
             RETURNING seq",
            &[
                &replica, &seqs, &prevs, &hashes, &lines, kind, time, request_id, principal,
                department, purpose, decision, &keys,
            ],
        )
        .await
        .map_err(|e| StoreError::Db(db(e)))?;
    let new: Vec<i64> = inserted.iter().filter_map(|r| r.try_get(0).ok()).collect();
    if new.len() < n {
        // Stored before (a batch whose commit was not seen, a restart): the same entry
        // is fine, another one under its key is not.
        let again: Vec<i64> = seqs.iter().filter(|s| !new.contains(s)).copied().collect();
        let rows = tx
            .query(
                "SELECT seq, hash FROM crmgate_audit_entries \
                 WHERE replica_id = $1 AND seq = ANY($2::int8[])",
                &[&replica, &again],
            )
            .await
            .map_err(|e| StoreError::Db(db(e)))?;
        for row in rows {
            let seq: i64 = row.try_get(0).map_err(|e| StoreError::Db(db(e)))?;
            let hash: String = row.try_get(1).map_err(|e| StoreError::Db(db(e)))?;
            let ours = u64::try_from(seq).ok().and_then(|s| by_seq.get(&s));
            if ours != Some(&hash) {
                return Err(StoreError::Conflict(format!(
                    "the central store holds another entry as seq {seq} of replica `{replica}`: \
                     is the replica id used by another crmgate, or was its audit directory replaced?"
                )));
            }
        }
    }
    tx.execute(
        "INSERT INTO crmgate_audit_replicas (replica_id, shipped_seq) VALUES ($1, $2)
         ON CONFLICT (replica_id) DO UPDATE
             SET shipped_seq = GREATEST(crmgate_audit_replicas.shipped_seq, EXCLUDED.shipped_seq),
                 last_seen = now()",
        &[&replica, &seq_i64(last.seq)?],
    )
    .await
    .map_err(|e| StoreError::Db(db(e)))?;
    tx.commit().await.map_err(|e| StoreError::Db(db(e)))?;
    Ok(new.len() as u64)
}

/// One replica's chain as verified from the store.
#[derive(Debug)]
pub struct ReplicaReport {
    pub replica: String,
    pub report: Report,
}

impl std::fmt::Display for ReplicaReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.report;
        match &r.problem {
            Some(p) => writeln!(f, "replica `{}`: NOT INTACT: {p}", self.replica)?,
            None => writeln!(
                f,
                "replica `{}`: intact: {} entries (seq {}..={}; {} request records), {} checkpoints",
                self.replica,
                r.entries,
                r.first_seq.unwrap_or_default(),
                r.last_seq.unwrap_or_default(),
                r.records,
                r.checkpoints
            )?,
        }
        write!(
            f,
            "replica `{}`: {} entries are not yet covered by a signed checkpoint",
            self.replica, r.uncovered
        )
    }
}

/// Verify every replica's chain from the store: each row's hash is the hash of its line,
/// its columns agree with its line, and the rows of a replica form one chain (no gap, no
/// fork, checkpoints signed and chained), ending where the replica said it stored up to.
pub async fn verify(
    client: &Client,
    public_key: Option<&[u8]>,
) -> Result<Vec<ReplicaReport>, String> {
    let mut replicas: BTreeMap<String, Option<i64>> = BTreeMap::new();
    for row in client
        .query(
            "SELECT replica_id, shipped_seq FROM crmgate_audit_replicas",
            &[],
        )
        .await
        .map_err(db)?
    {
        replicas.insert(row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?);
    }
    // Rows of a replica the replicas table does not list are verified too.
    for row in client
        .query("SELECT DISTINCT replica_id FROM crmgate_audit_entries", &[])
        .await
        .map_err(db)?
    {
        replicas.entry(row.try_get(0).map_err(db)?).or_insert(None);
    }
    let mut out = Vec::new();
    for (replica, shipped) in replicas {
        let report = verify_replica(client, &replica, shipped, public_key).await?;
        out.push(ReplicaReport { replica, report });
    }
    Ok(out)
}

struct Row {
    seq: i64,
    prev: String,
    hash: String,
    line: String,
}

async fn page(client: &Client, replica: &str, after: i64) -> Result<Vec<Row>, String> {
    let rows = client
        .query(
            "SELECT seq, prev, hash, line FROM crmgate_audit_entries \
             WHERE replica_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&replica, &after, &PAGE],
        )
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(Row {
                seq: r.try_get(0).map_err(db)?,
                prev: r.try_get(1).map_err(db)?,
                hash: r.try_get(2).map_err(db)?,
                line: r.try_get(3).map_err(db)?,
            })
        })
        .collect()
}

async fn verify_replica(
    client: &Client,
    replica: &str,
    shipped: Option<i64>,
    public_key: Option<&[u8]>,
) -> Result<Report, String> {
    let mut chain = Chain::new(public_key);
    let at = format!("replica `{replica}`");
    let problem = |seq: u64, message: String| Problem {
        seq,
        segment: at.clone(),
        line: 0,
        message,
    };
    let mut buffered: VecDeque<Row> = VecDeque::new();
    let mut after = -1i64;
    let mut exhausted = false;
    loop {
        // Keep one row of look-ahead: a broken link is blamed on the row that changed.
        if buffered.len() < 2 && !exhausted {
            let more = page(client, replica, after).await?;
            exhausted = (more.len() as i64) < PAGE;
            if let Some(last) = more.last() {
                after = last.seq;
            }
            buffered.extend(more);
        }
        let Some(row) = buffered.pop_front() else {
            break;
        };
        let seq = u64::try_from(row.seq).unwrap_or_default();
        let v: Option<Value> = serde_json::from_str(&row.line).ok();
        let field = |k: &str| v.as_ref().and_then(|v| v.get(k)).cloned();
        let altered = if line_hash(row.line.as_bytes()) != row.hash {
            Some("row altered: its line does not hash to the hash stored with it")
        } else if v.is_some() && field("seq").and_then(|s| s.as_u64()) != Some(seq) {
            Some("row altered: its line is not the entry of this seq")
        } else if v.is_some() && field("prev").as_ref().and_then(Value::as_str) != Some(&row.prev) {
            Some("row altered: its `prev` column differs from its line")
        } else {
            None
        };
        if let Some(message) = altered {
            chain.report.problem = Some(problem(seq, message.into()));
            return Ok(chain.report);
        }
        let next = buffered.front().map(|r| r.line.clone().into_bytes());
        if let Err((bad, message)) = chain.entry(row.line.as_bytes(), seq, || next) {
            chain.report.problem = Some(problem(bad, message));
            return Ok(chain.report);
        }
    }
    if let Err((bad, message)) = chain.finish() {
        chain.report.problem = Some(problem(bad, message));
        return Ok(chain.report);
    }
    // The replica recorded how far it stored: rows missing at the end are a truncation.
    let last = chain.report.last_seq;
    if let Some(shipped) = shipped.and_then(|s| u64::try_from(s).ok()) {
        if last.is_none_or(|l| l < shipped) {
            let from = last.map_or(0, |l| l + 1);
            chain.report.problem = Some(problem(
                from,
                format!("seq {from}..={shipped} missing: the replica stored up to seq {shipped}"),
            ));
        }
    }
    Ok(chain.report)
}

/// The request records of every replica that match `filter`, by time. The indexed
/// columns narrow the rows; each line is then checked against the whole filter, as the
/// directory query does.
pub async fn query(client: &Client, filter: &Filter) -> Result<Vec<Hit>, String> {
    let mut sql = String::from("SELECT line FROM crmgate_audit_entries WHERE kind IS NULL");
    let mut values: Vec<String> = Vec::new();
    let mut cond = |sql: &mut String, clause: &str, value: String| {
        values.push(value);
        sql.push_str(&format!(" AND {clause}${}", values.len()));
    };
    if let Some((t, id)) = &filter.record {
        cond(&mut sql, "record_keys @> ARRAY[", format!("{t}/{id}"));
        sql.push_str("::text]");
    }
    for (column, v) in [
        ("principal", &filter.user),
        ("department", &filter.department),
        ("purpose", &filter.purpose),
        ("decision", &filter.decision),
    ] {
        if let Some(v) = v {
            cond(&mut sql, &format!("{column} = "), v.clone());
        }
    }
    if let Some(since) = &filter.since {
        cond(&mut sql, "time >= ", since.clone());
    }
    if let Some(until) = &filter.until {
        cond(&mut sql, "time <= ", until.clone());
    }
    sql.push_str(" ORDER BY time, replica_id, seq");
    let params: Vec<&(dyn ToSql + Sync)> =
        values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
    let rows = client.query(&sql, &params).await.map_err(db)?;
    let mut hits = Vec::new();
    for row in rows {
        let line: String = row.try_get(0).map_err(db)?;
        if let Ok(value) = serde_json::from_str::<Value>(&line) {
            if filter.matches(&value) {
                hits.push(Hit { line, value });
            }
        }
    }
    Ok(hits)
}

/// The audit log's retention, centrally: a replica's rows before the first entry its local
/// log keeps (`first_kept_seq` of its newest `retention` entry, itself shipped and kept)
/// are deleted, so the store keeps what the log keeps and its chain still verifies (the
/// retention entry accounts for the gap). Returns the number of rows deleted.
pub async fn apply_retention(
    client: &Client,
    replica: &str,
    first_kept_seq: u64,
) -> Result<u64, String> {
    let first = i64::try_from(first_kept_seq).map_err(|e| e.to_string())?;
    client
        .execute(
            "DELETE FROM crmgate_audit_entries WHERE replica_id = $1 AND seq < $2",
            &[&replica, &first],
        )
        .await
        .map_err(db)
}

/// The `first_kept_seq` of the newest `retention` entry among these lines, if any.
pub fn retention_in(entries: &[Entry]) -> Option<u64> {
    entries
        .iter()
        .rev()
        .filter(|e| e.line.contains("\"retention\""))
        .filter_map(|e| serde_json::from_str::<Value>(&e.line).ok())
        .find(|v| v.get("kind").and_then(Value::as_str) == Some("retention"))
        .and_then(|v| v.get("first_kept_seq").and_then(Value::as_u64))
}
