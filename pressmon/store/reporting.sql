-- Run summaries and counts (pressmon.store.reporting).

-- name: run_counts
SELECT
  (SELECT count(*) FROM releases WHERE first_seen_at >= %(since)s) AS new_copies,
  (SELECT count(*) FROM clusters WHERE first_seen_at >= %(since)s) AS new_releases,
  (SELECT count(*) FROM releases r JOIN clusters c ON c.id = r.cluster_id
    WHERE r.first_seen_at >= %(since)s AND c.canonical_release_id <> r.id) AS duplicates,
  (SELECT count(*) FROM releases WHERE updated_at >= %(since)s AND version > 1
      AND first_seen_at < %(since)s) AS updated_releases,
  (SELECT count(*) FROM raw_pages WHERE processed_at >= %(since)s AND process_state = 'failed')
      AS failed_pages,
  (SELECT count(*) FROM deliveries WHERE sent_at >= %(since)s) AS deliveries_sent,
  (SELECT count(DISTINCT message_id) FROM deliveries WHERE sent_at >= %(since)s) AS emails_sent,
  (SELECT count(*) FROM deliveries WHERE status = 'pending') AS deliveries_pending,
  (SELECT count(*) FROM deliveries WHERE status = 'failed') AS deliveries_failed

-- name: failed_pages
SELECT id, source, url, process_error FROM raw_pages
 WHERE processed_at >= %s AND process_state = 'failed' ORDER BY id

-- name: totals
SELECT (SELECT count(*) FROM raw_pages) AS raw_pages,
       (SELECT count(*) FROM raw_pages WHERE kind = 'detail') AS detail_pages,
       (SELECT count(*) FROM releases) AS copies,
       (SELECT count(*) FROM clusters) AS releases,
       (SELECT count(*) FROM raw_pages WHERE process_state = 'failed') AS failed_pages

-- name: new_releases_by_source
SELECT r.source, count(DISTINCT r.cluster_id)::integer AS n
  FROM releases r JOIN clusters c ON c.id = r.cluster_id
 WHERE c.first_seen_at >= %(since)s AND r.first_seen_at >= %(since)s
 GROUP BY r.source

-- name: clusters_across_sources
SELECT c.id, canon.title, canon.published_at, array_agg(DISTINCT r.source ORDER BY r.source)
       AS sources, count(*)::integer AS copies
  FROM clusters c
  JOIN releases r ON r.cluster_id = c.id
  JOIN releases canon ON canon.id = c.canonical_release_id
 GROUP BY c.id, canon.title, canon.published_at
HAVING count(DISTINCT r.source) > 1
 ORDER BY canon.published_at DESC NULLS LAST, c.id
 LIMIT %s

-- name: chain_counts
SELECT chain, sum(releases)::integer AS releases FROM reporting.daily_chain_counts
 GROUP BY chain ORDER BY releases DESC, chain
