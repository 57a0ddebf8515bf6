-- Raw pages and the detail pages sources owe (pressmon.store.pages).

-- name: held_detail_urls
SELECT canonical_url, url FROM owed_pages WHERE source = %s AND state <> 'owed'

-- name: owed_detail_urls
SELECT canonical_url, url FROM owed_pages WHERE source = %s AND state = 'owed'
 ORDER BY first_seen_at, canonical_url

-- name: owe
INSERT INTO owed_pages (source, canonical_url, url) VALUES %s
ON CONFLICT (source, canonical_url) DO NOTHING

-- name: settle
INSERT INTO owed_pages AS o (source, canonical_url, url, state, attempts, last_code, last_error)
VALUES (%(source)s, %(key)s, %(url)s,
        CASE WHEN %(ok)s THEN 'stored' WHEN 1 >= %(limit)s THEN 'given_up' ELSE 'owed' END,
        CASE WHEN %(ok)s THEN 0 ELSE 1 END, %(code)s, %(reason)s)
ON CONFLICT (source, canonical_url) DO UPDATE
   SET state = CASE WHEN %(ok)s OR o.state = 'stored' THEN 'stored'
                    WHEN o.attempts + 1 >= %(limit)s THEN 'given_up'
                    ELSE 'owed' END,
       attempts = o.attempts + CASE WHEN %(ok)s THEN 0 ELSE 1 END,
       last_code = CASE WHEN %(ok)s THEN o.last_code ELSE %(code)s END,
       last_error = CASE WHEN %(ok)s THEN o.last_error ELSE %(reason)s END,
       updated_at = now()
RETURNING state, attempts

-- name: owed_counts
SELECT count(*) FILTER (WHERE state = 'owed') AS owed,
       count(*) FILTER (WHERE state = 'given_up') AS given_up
  FROM owed_pages WHERE source = %s

-- name: retry_given_up
UPDATE owed_pages SET state = 'owed', attempts = 0, updated_at = now()
 WHERE source = %s AND state = 'given_up'

-- name: owed_pages
SELECT source, canonical_url, url, state, attempts, last_code, last_error, updated_at
  FROM owed_pages WHERE state = ANY (%s) ORDER BY source, first_seen_at, canonical_url

-- name: archive_walked
SELECT archive_walked_at IS NOT NULL FROM sources WHERE code = %s

-- name: mark_archive_walked
UPDATE sources SET archive_walked_at = now() WHERE code = %s

-- name: insert_raw_page
INSERT INTO raw_pages (source, run_id, kind, url, final_url, canonical_url, status,
                       headers, body, process_state, process_error, processed_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
        CASE WHEN %s = 'pending' THEN NULL ELSE now() END)
RETURNING id

-- name: raw_page
SELECT * FROM raw_pages WHERE id = %s

-- name: pending_count
SELECT count(*) FROM raw_pages WHERE process_state = 'pending'

-- name: next_claim
SELECT nextval('raw_page_claims') AS claim

-- name: lock_claim
SELECT pg_advisory_lock(%s, %s)

-- name: unlock_claim
SELECT pg_advisory_unlock(%s, %s)

-- name: claim_pages
-- A pending page is free when no claim is on it, or when the session that claimed it holds the claim's lock
-- no more; `held` are the claiming session's own claims still under way (its own locks do not stop it).
UPDATE raw_pages SET claim = %(claim)s
 WHERE id IN (SELECT id FROM raw_pages
               WHERE process_state = 'pending'
                 AND (claim IS NULL
                      OR (claim <> ALL(%(held)s::integer[])
                          AND pg_try_advisory_xact_lock(%(class)s, claim)))
               ORDER BY id
               LIMIT %(limit)s
               FOR UPDATE SKIP LOCKED)
RETURNING id, source, url, final_url, canonical_url, headers, body, fetched_at

-- name: free_claim
UPDATE raw_pages SET claim = NULL WHERE claim = %s AND process_state = 'pending'

-- name: mark_processed
UPDATE raw_pages SET process_state = %s, process_error = %s, processed_at = now(),
                     decoded_lossily = %s, claim = NULL
 WHERE id = %s

-- name: mark_done
UPDATE raw_pages r
   SET process_state = 'done', process_error = NULL, processed_at = now(),
       decoded_lossily = v.lossy, claim = NULL
  FROM (VALUES %s) AS v(id, lossy)
 WHERE r.id = v.id

-- name: requeue_all
UPDATE raw_pages SET process_state = 'pending', process_error = NULL, processed_at = NULL,
                     decoded_lossily = NULL, claim = NULL
 WHERE kind = 'detail' AND status = 200
