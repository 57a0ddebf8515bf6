-- The migration ledger and the schema check (pressmon.store.migrations).

-- name: schema_state
SELECT current_user AS role,
       EXISTS (SELECT 1 FROM pg_class WHERE relname = 'pressmon_migrations' AND relkind = 'r') AS present,
       COALESCE(has_table_privilege(to_regclass('pressmon_migrations'), 'SELECT'), false) AS readable

-- name: lock
SELECT pg_advisory_lock(%s)

-- name: create_ledger
CREATE TABLE IF NOT EXISTS pressmon_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())

-- name: applied
SELECT version, name, checksum FROM pressmon_migrations

-- name: record
INSERT INTO pressmon_migrations (version, name, checksum) VALUES (%s, %s, %s)

-- name: unlock
SELECT pg_advisory_unlock(%s)

-- name: applied_versions
SELECT version FROM pressmon_migrations
