-- Subscriptions, digest deliveries and weekly report deliveries (pressmon.store.deliveries).

-- name: lock_alerts
SELECT pg_advisory_xact_lock(%s)

-- name: add_subscription
INSERT INTO subscriptions (email, chains, sources, keywords, weekly, scanned_seq)
VALUES (%s, %s, %s, %s, %s, (SELECT coalesce(max(alert_seq), 0) FROM clusters))
ON CONFLICT (email, chains, sources, keywords, weekly) DO UPDATE SET active = true
RETURNING id, (xmax = 0) AS created

-- name: subscriptions
SELECT s.*,
       (SELECT count(*) FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'sent')
       + (SELECT count(*) FROM report_deliveries d WHERE d.subscription_id = s.id AND d.status = 'sent')
         AS sent,
       (SELECT count(*) FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending')
       + (SELECT count(*) FROM report_deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending')
         AS pending
  FROM subscriptions s WHERE active ORDER BY id

-- name: remove_subscriptions
UPDATE subscriptions SET active = false WHERE active AND (id = %s OR email = %s)

-- name: queue_deliveries
WITH subs AS (
    SELECT * FROM subscriptions WHERE active AND NOT weekly FOR UPDATE
), horizon AS (
    SELECT coalesce(max(alert_seq), 0) AS seq FROM clusters
), matches AS (
    SELECT s.id AS subscription_id, c.id AS cluster_id
      FROM subs s
      JOIN clusters c ON c.alert_seq > s.scanned_seq
      JOIN releases r ON r.id = c.canonical_release_id
     WHERE (cardinality(s.sources) = 0
            OR EXISTS (SELECT 1 FROM releases cp
                        WHERE cp.cluster_id = c.id AND cp.source = ANY (s.sources)))
       AND ((cardinality(s.chains) = 0 AND cardinality(s.keywords) = 0)
            OR EXISTS (SELECT 1 FROM release_chains rc
                         JOIN chains ch ON ch.id = rc.chain_id
                         JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
                        WHERE rc.release_id = r.id AND ch.name = ANY (s.chains))
            OR EXISTS (SELECT 1 FROM unnest(s.keywords) k
                        WHERE strpos(r.title, k) > 0 OR strpos(r.body, k) > 0))
), queued AS (
    INSERT INTO deliveries (subscription_id, cluster_id)
    SELECT subscription_id, cluster_id FROM matches
    ON CONFLICT DO NOTHING
    RETURNING 1
), scanned AS (
    UPDATE subscriptions SET scanned_seq = (SELECT seq FROM horizon)
     WHERE id IN (SELECT id FROM subs) AND scanned_seq < (SELECT seq FROM horizon)
)
SELECT count(*) AS queued FROM queued

-- name: presume_sent
UPDATE {}
   SET status = 'sent', sent_at = sending_at, attempts = attempts + 1,
       last_error = 'presumed delivered: the run died after handing over the whole message'
 WHERE status = 'sending'

-- name: pending_digests
SELECT s.id AS subscription_id, s.email, s.chains AS wanted_chains, s.sources AS wanted_sources,
       s.keywords AS wanted_keywords,
       d.cluster_id, d.attempts, r.title, r.canonical_url AS url, r.published_at, r.source,
       so.name AS source_name, r.publisher, r.body,
       ARRAY(SELECT ch.name FROM release_chains rc
               JOIN chains ch ON ch.id = rc.chain_id
               JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
              WHERE rc.release_id = r.id ORDER BY rc.score DESC, ch.name) AS chains,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('chain', ch.name, 'evidence', rc.evidence)
                                  ORDER BY rc.score DESC, ch.name), '[]')
          FROM release_chains rc
          JOIN chains ch ON ch.id = rc.chain_id
          JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
         WHERE rc.release_id = r.id) AS evidence,
       (SELECT count(*) - 1 FROM releases cp WHERE cp.cluster_id = d.cluster_id) AS duplicates,
       (SELECT count(*) FROM releases cp WHERE cp.cluster_id = d.cluster_id AND cp.source <> r.source)
           AS other_sites
  FROM deliveries d
  JOIN subscriptions s ON s.id = d.subscription_id AND s.active
  JOIN clusters c ON c.id = d.cluster_id
  JOIN releases r ON r.id = c.canonical_release_id
  JOIN sources so ON so.code = r.source
 WHERE d.status = 'pending'
 ORDER BY s.id, r.published_at DESC NULLS LAST, d.cluster_id DESC

-- name: pending_deliveries
SELECT count(*) FROM deliveries WHERE status = 'pending'

-- name: mark_sending
UPDATE deliveries SET status = 'sending', sending_at = now(), message_id = %s
 WHERE subscription_id = %s AND cluster_id = ANY (%s) AND status = 'pending'

-- name: mark_sent
UPDATE deliveries SET status = 'sent', sent_at = now(), message_id = %s,
                      attempts = attempts + 1, last_error = %s
 WHERE subscription_id = %s AND cluster_id = ANY (%s) AND status IN ('pending', 'sending')

-- name: mark_failed
UPDATE deliveries SET attempts = attempts + 1, last_error = %s,
                      status = CASE WHEN %s THEN 'failed' ELSE 'pending' END
 WHERE subscription_id = %s AND cluster_id = ANY (%s) AND status IN ('pending', 'sending')

-- name: queue_reports
INSERT INTO report_deliveries (subscription_id, week)
SELECT id, %s FROM subscriptions WHERE active AND weekly
ON CONFLICT DO NOTHING

-- name: pending_reports
SELECT d.subscription_id, s.email, d.week, d.attempts
  FROM report_deliveries d JOIN subscriptions s ON s.id = d.subscription_id AND s.active
 WHERE d.status = 'pending'
 ORDER BY d.week, d.subscription_id

-- name: pending_report_count
SELECT count(*) FROM report_deliveries WHERE status = 'pending'

-- name: mark_report_sending
UPDATE report_deliveries SET status = 'sending', sending_at = now(), message_id = %s
 WHERE subscription_id = %s AND week = %s AND status = 'pending'

-- name: mark_report_sent
UPDATE report_deliveries SET status = 'sent', sent_at = now(), message_id = %s,
                             attempts = attempts + 1, last_error = %s
 WHERE subscription_id = %s AND week = %s AND status IN ('pending', 'sending')

-- name: mark_report_failed
UPDATE report_deliveries SET attempts = attempts + 1, last_error = %s,
                             status = CASE WHEN %s THEN 'failed' ELSE 'pending' END
 WHERE subscription_id = %s AND week = %s AND status IN ('pending', 'sending')

-- name: number_new_clusters
UPDATE clusters c SET alert_seq = nextval('clusters_alert_seq')
  FROM (SELECT id FROM clusters WHERE alert_seq IS NULL ORDER BY id) fresh
 WHERE c.id = fresh.id
