-- Nothing lost, nothing sent twice.

-- Every detail page a list page linked, until it is stored with a usable page. A crawl fetches the owed
-- pages of its source again, whatever its list walk's stop rule says, until each is stored or has failed
-- `PRESSMON_OWED_RETRIES` times (then it is given up, and reported so).
CREATE TABLE owed_pages (
    source         text NOT NULL REFERENCES sources,
    canonical_url  text NOT NULL,
    url            text NOT NULL,
    state          text NOT NULL DEFAULT 'owed' CHECK (state IN ('owed', 'stored', 'given_up')),
    attempts       integer NOT NULL DEFAULT 0,
    last_code      text,
    last_error     text,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, canonical_url)
);
CREATE INDEX owed_pages_owed ON owed_pages (source) WHERE state = 'owed';
COMMENT ON TABLE owed_pages IS 'Detail pages seen on a list page, and whether a usable copy is stored yet.';

-- What earlier crawls held or missed.
INSERT INTO owed_pages (source, canonical_url, url, state, attempts, last_code, last_error)
SELECT source, canonical_url, min(url),
       CASE WHEN bool_or(status = 200) THEN 'stored' ELSE 'owed' END,
       count(*) FILTER (WHERE status <> 200),
       CASE WHEN bool_or(status = 200) THEN NULL ELSE 'http_status' END,
       CASE WHEN bool_or(status = 200) THEN NULL ELSE 'HTTP ' || max(status) END
  FROM raw_pages
 WHERE kind = 'detail'
 GROUP BY source, canonical_url;

-- A digest is marked `sending` just before the end of its SMTP data, `sent` once the server answers, and
-- `failed` when the server refuses the recipient for good. A `sending` row found by a later run was complete
-- on the server when its process died: it counts as sent, so no second copy goes out.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'failed'));
ALTER TABLE deliveries ADD COLUMN sending_at timestamptz;

-- Clusters are numbered when an alert run first sees them, not when they were created: a process
-- transaction that commits after an alert began gets numbers from the next alert, so no cluster falls
-- behind a subscription's watermark unseen.
CREATE SEQUENCE clusters_alert_seq;
ALTER TABLE clusters ADD COLUMN alert_seq bigint UNIQUE;
CREATE INDEX clusters_unnumbered ON clusters (id) WHERE alert_seq IS NULL;
UPDATE clusters c SET alert_seq = n.seq
  FROM (SELECT id, nextval('clusters_alert_seq') AS seq
          FROM (SELECT id FROM clusters ORDER BY first_seen_at, id) ordered) n
 WHERE n.id = c.id;

ALTER TABLE subscriptions ADD COLUMN scanned_seq bigint NOT NULL DEFAULT 0;
UPDATE subscriptions s
   SET scanned_seq = coalesce((SELECT max(alert_seq) FROM clusters c WHERE c.first_seen_at <= s.scanned_through), 0);
ALTER TABLE subscriptions DROP COLUMN scanned_through;
COMMENT ON COLUMN subscriptions.scanned_seq IS 'Clusters numbered up to this have been matched against this subscription.';
