-- Crawl turns on shared hosts (pressmon/politeness.py): one session advisory lock per host.

-- name: name_session
SELECT set_config('application_name', %s, false)

-- name: try_host
SELECT pg_try_advisory_lock(%s, %s) AS taken

-- name: wait_for_host
SELECT pg_advisory_lock(%s, %s)

-- name: host_holder
-- The name of the session that holds a host's lock, when it is still held.
SELECT a.application_name
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 2
 LIMIT 1
