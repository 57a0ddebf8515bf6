-- Crawl runs and each source's crawl within a run (pressmon.store.runs).

-- name: start_run
INSERT INTO crawl_runs (run_key) VALUES (%s)
ON CONFLICT (run_key) DO UPDATE SET status = 'running', finished_at = NULL
RETURNING id

-- name: start_run_source
INSERT INTO crawl_run_sources (run_id, source) VALUES (%s, %s)
ON CONFLICT (run_id, source) DO UPDATE
   SET status = 'running', started_at = now(), finished_at = NULL

-- name: finish_run_source
UPDATE crawl_run_sources
   SET status = %s, finished_at = now(), list_pages = %s, detail_pages = %s,
       errors = %s, stats = %s
 WHERE run_id = %s AND source = %s

-- name: fail_run_source
UPDATE crawl_run_sources
   SET status = 'failed', finished_at = now(),
       errors = errors || jsonb_build_array(jsonb_build_object('url', NULL, 'reason', %s))
 WHERE run_id = %s AND source = %s AND status = 'running'

-- name: run
SELECT * FROM crawl_runs WHERE id = %s

-- name: latest_run
SELECT * FROM crawl_runs ORDER BY started_at DESC, id DESC LIMIT 1

-- name: run_by_key
SELECT * FROM crawl_runs WHERE run_key = %s

-- name: run_sources
SELECT * FROM crawl_run_sources WHERE run_id = %s ORDER BY source

-- name: finish_run
UPDATE crawl_runs SET status = %s, finished_at = now(), summary = %s WHERE id = %s
