-- Session-wide advisory locks (pressmon.store.connection).

-- name: lock
SELECT pg_advisory_lock(%s)

-- name: unlock
SELECT pg_advisory_unlock(%s)
