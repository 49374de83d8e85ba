-- crmgate central audit store, version 1.
--
-- Every replica's hash-chained entries, each stored once by (replica_id, seq): the exact
-- line as the replica wrote it, its SHA-256 (`hash`) and the hash it names as `prev`.
-- Checkpoints are entries too (`kind` = 'checkpoint'), so a deleted checkpoint is a gap in
-- the chain. The columns after `line` are extracted from it at insert time, for the
-- subject report and the other queries; `line` stays the only source of truth.

CREATE TABLE crmgate_audit_replicas (
    replica_id  text PRIMARY KEY,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    -- The highest seq the replica stored: rows missing after it are a truncation.
    shipped_seq bigint
);

CREATE TABLE crmgate_audit_entries (
    replica_id  text   NOT NULL,
    seq         bigint NOT NULL,
    prev        text   NOT NULL,
    hash        text   NOT NULL,
    -- NULL for request records; 'checkpoint', 'start', 'recovery', … otherwise.
    kind        text,
    line        text   NOT NULL,
    -- RFC 3339 UTC with milliseconds, as written: compared as text, like `audit query`.
    time        text,
    request_id  text,
    principal   text,
    department  text,
    purpose     text,
    decision    text,
    -- The records a request returned or withheld, as `contact/1001`.
    record_keys text[] NOT NULL DEFAULT '{}',
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (replica_id, seq)
);

-- The subject report: who accessed this record, across all replicas.
CREATE INDEX crmgate_audit_entries_record_keys ON crmgate_audit_entries USING gin (record_keys);
CREATE INDEX crmgate_audit_entries_principal_time ON crmgate_audit_entries (principal, time);
CREATE INDEX crmgate_audit_entries_time ON crmgate_audit_entries (time);
CREATE INDEX crmgate_audit_entries_request_id ON crmgate_audit_entries (request_id);
