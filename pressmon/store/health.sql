-- Source health and its notices (pressmon.store.health).

-- name: run_list_pages
SELECT final_url, headers, body FROM raw_pages
 WHERE run_id = %s AND source = %s AND kind = 'list' AND status = 200 ORDER BY id

-- name: run_detail_outcomes
SELECT count(*) AS detail_pages,
       count(*) FILTER (WHERE decoded_lossily IS NOT NULL) AS parsed,
       count(*) FILTER (WHERE process_state = 'pending') AS pending,
       coalesce(jsonb_agg(jsonb_build_array(final_url, process_error) ORDER BY id)
                FILTER (WHERE process_state = 'failed' AND decoded_lossily IS NOT NULL), '[]')
           AS parse_failures,
       coalesce(array_agg(final_url ORDER BY id) FILTER (WHERE decoded_lossily), '{}') AS lossy
  FROM raw_pages WHERE run_id = %s AND source = %s AND kind = 'detail'

-- name: release_history
SELECT (SELECT count(*) FROM releases r
         WHERE r.source = %(source)s AND r.first_seen_at >= run.started_at
           AND EXISTS (SELECT 1 FROM raw_pages p
                        WHERE p.run_id = run.id AND p.source = r.source AND p.kind = 'detail'
                          AND p.canonical_url = r.canonical_url)) AS new_items,
       (SELECT max((first_seen_at AT TIME ZONE 'Asia/Shanghai')::date) FROM releases
         WHERE source = %(source)s) AS last_new_item,
       ARRAY(SELECT DISTINCT coalesce(published_at, (first_seen_at AT TIME ZONE 'Asia/Shanghai')::date)
               FROM releases WHERE source = %(source)s ORDER BY 1) AS release_days
  FROM crawl_runs run WHERE run.id = %(run_id)s

-- name: previous_health
SELECT h.* FROM source_health h
  JOIN crawl_runs r ON r.id = h.run_id
  JOIN crawl_runs this ON this.id = %s
 WHERE h.source = %s AND (r.started_at, r.id) < (this.started_at, this.id)
 ORDER BY r.started_at DESC, r.id DESC
 LIMIT 1

-- name: record_health
INSERT INTO source_health (run_id, source, state, reason, since, changed_from, counts,
                           failures, new_items, last_new_item, period_declared,
                           period_learned, period_days, judged_at)
VALUES (%(run_id)s, %(source)s, %(state)s, %(reason)s, %(since)s, %(changed_from)s,
        %(counts)s, %(failures)s, %(new_items)s, %(last_new_item)s, %(period_declared)s,
        %(period_learned)s, %(period_days)s, %(judged_at)s)
ON CONFLICT (run_id, source) DO UPDATE
   SET state = EXCLUDED.state, reason = EXCLUDED.reason, since = EXCLUDED.since,
       changed_from = EXCLUDED.changed_from, counts = EXCLUDED.counts,
       failures = EXCLUDED.failures, new_items = EXCLUDED.new_items,
       last_new_item = EXCLUDED.last_new_item, period_declared = EXCLUDED.period_declared,
       period_learned = EXCLUDED.period_learned, period_days = EXCLUDED.period_days,
       judged_at = EXCLUDED.judged_at

-- name: queue_notice
INSERT INTO health_notices (run_id, source, recipient) VALUES (%s, %s, %s)
ON CONFLICT DO NOTHING

-- name: drop_pending_notice
DELETE FROM health_notices WHERE run_id = %s AND source = %s AND status = 'pending'

-- name: pending_notices
SELECT n.recipient, n.attempts, h.*, s.name AS source_name, r.run_key
  FROM health_notices n
  JOIN source_health h USING (run_id, source)
  JOIN sources s ON s.code = n.source
  JOIN crawl_runs r ON r.id = n.run_id
 WHERE n.status = 'pending'
 ORDER BY r.started_at, n.run_id, n.source

-- name: notices
SELECT * FROM health_notices WHERE %(run)s::bigint IS NULL OR run_id = %(run)s ORDER BY run_id, source

-- name: mark_notice_sending
UPDATE health_notices SET status = 'sending', sending_at = now(), message_id = %s
 WHERE run_id = %s AND source = %s AND status = 'pending'

-- name: mark_notice_sent
UPDATE health_notices SET status = 'sent', sent_at = now(), message_id = %s,
                          attempts = attempts + 1, last_error = %s
 WHERE run_id = %s AND source = %s AND status IN ('pending', 'sending')

-- name: mark_notice_failed
UPDATE health_notices SET attempts = attempts + 1, last_error = %s,
                          status = CASE WHEN %s THEN 'failed' ELSE 'pending' END
 WHERE run_id = %s AND source = %s AND status IN ('pending', 'sending')

-- name: run_health
SELECT * FROM source_health WHERE run_id = %s ORDER BY source

-- name: source_health
SELECT * FROM reporting.source_health ORDER BY source
