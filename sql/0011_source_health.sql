-- Source health: one judged state per crawl run and source, so a broken site never reads as a quiet night;
-- the operator is told of each change of state exactly once.
--
-- States, most urgent first (a run that meets several is judged by the first; pressmon/health.py holds the
-- rules and thresholds):
--   blocked         the list pages could not be read: a block/captcha/login page, an HTTP error status, no
--                   answer (timeout, connection refused, truncated), or the crawl did not finish
--   empty_list      a list page parsed to zero items, or its pagination loops: the list layout changed
--   encoding_error  a page of the run could be decoded only lossily (mojibake)
--   parse_errors    more than PRESSMON_PARSE_ERROR_SHARE of the run's fetched detail pages failed extraction
--   stale           nothing new for longer than the source's expected update period
--   no_new_items    the list was read, nothing new on it
--   ok              new items found and stored

-- Processing records whether a page's bytes decoded cleanly: encoding_error is judged from it.
ALTER TABLE raw_pages ADD COLUMN decoded_lossily boolean;
COMMENT ON COLUMN raw_pages.decoded_lossily IS
    'Set by processing: true when no charset read the bytes cleanly (mojibake, replacement characters); NULL: not processed (pending, or failed when fetched).';

CREATE TABLE source_health (
    run_id           bigint NOT NULL REFERENCES crawl_runs ON DELETE CASCADE,
    source           text NOT NULL REFERENCES sources,
    state            text NOT NULL CHECK (state IN ('ok', 'no_new_items', 'empty_list', 'blocked',
                                                    'parse_errors', 'encoding_error', 'stale')),
    reason           text NOT NULL,
    -- When the source entered this state (the first run of the streak), and the state it left then.
    since            timestamptz NOT NULL,
    changed_from     text,
    counts           jsonb NOT NULL DEFAULT '{}',
    failures         jsonb NOT NULL DEFAULT '[]',
    new_items        integer NOT NULL DEFAULT 0,
    last_new_item    date,
    period_declared  integer NOT NULL,
    period_learned   integer,
    period_days      integer NOT NULL,
    judged_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, source)
);
CREATE INDEX source_health_source ON source_health (source, judged_at DESC);
COMMENT ON TABLE source_health IS 'The health state judged for each source after each crawl run and its processing.';

-- The operator's notice of a change of state: the same ledger states and rules as digests and weekly reports
-- (`sending` is committed just before the end of the SMTP data; a `sending` row found later counts as sent).
CREATE TABLE health_notices (
    run_id       bigint NOT NULL,
    source       text NOT NULL,
    recipient    text NOT NULL CHECK (recipient !~ '[[:cntrl:]]'),
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sending_at   timestamptz,
    sent_at      timestamptz,
    message_id   text,
    PRIMARY KEY (run_id, source),
    FOREIGN KEY (run_id, source) REFERENCES source_health ON DELETE CASCADE
);
COMMENT ON TABLE health_notices IS 'One operator email per change of a source''s health state (PRESSMON_OPERATOR_EMAIL).';

CREATE VIEW reporting.source_health AS
SELECT s.code AS source,
       s.name AS source_name,
       s.enabled,
       h.state,
       h.reason,
       h.since,
       h.changed_from AS previous_state,
       h.counts,
       ARRAY(SELECT f ->> 'url' FROM jsonb_array_elements(h.failures) WITH ORDINALITY AS x(f, n)
              WHERE f ->> 'url' IS NOT NULL ORDER BY n) AS failing_urls,
       h.failures,
       h.new_items,
       h.last_new_item,
       h.period_declared,
       h.period_learned,
       h.period_days,
       h.run_id,
       h.judged_at
  FROM sources s
  LEFT JOIN LATERAL (SELECT sh.* FROM source_health sh JOIN crawl_runs r ON r.id = sh.run_id
                      WHERE sh.source = s.code
                      ORDER BY r.started_at DESC, sh.run_id DESC
                      LIMIT 1) AS h ON true;
COMMENT ON VIEW reporting.source_health IS
    'One row per source: its health as judged after the latest crawl run that crawled it (NULL state: never judged).';
COMMENT ON COLUMN reporting.source_health.source IS 'Source code (spider name).';
COMMENT ON COLUMN reporting.source_health.source_name IS 'The publishing agency''s full name.';
COMMENT ON COLUMN reporting.source_health.enabled IS 'Whether nightly runs crawl this source.';
COMMENT ON COLUMN reporting.source_health.state IS 'ok, no_new_items, stale, parse_errors, encoding_error, empty_list or blocked (most urgent last); NULL: never judged.';
COMMENT ON COLUMN reporting.source_health.reason IS 'Why, in one line: the rule that decided the state, with its numbers.';
COMMENT ON COLUMN reporting.source_health.since IS 'When the source entered this state (the first judged run of the current streak).';
COMMENT ON COLUMN reporting.source_health.previous_state IS 'The state it was in before that; NULL when it has had no other.';
COMMENT ON COLUMN reporting.source_health.counts IS 'JSON counts of the latest run: list_pages, list_errors, detail_pages, detail_errors, blocked_details, parsed, parse_failed, lossy, pending, new_items.';
COMMENT ON COLUMN reporting.source_health.failing_urls IS 'The first failing URLs behind the state (at most 5).';
COMMENT ON COLUMN reporting.source_health.failures IS 'The same, as JSON {url, code, reason}.';
COMMENT ON COLUMN reporting.source_health.new_items IS 'Releases first stored from the latest run''s pages of this source.';
COMMENT ON COLUMN reporting.source_health.last_new_item IS 'The last day (Beijing) a new release of this source was stored.';
COMMENT ON COLUMN reporting.source_health.period_declared IS 'Expected days between releases as declared (update_days; 7 when not declared).';
COMMENT ON COLUMN reporting.source_health.period_learned IS 'Expected days between releases learned from its release days (95th percentile of the last 30 gaps, at least 3); NULL until it has 5 gaps.';
COMMENT ON COLUMN reporting.source_health.period_days IS 'The period stale is judged by: the learned one when there is one, else the declared one.';
COMMENT ON COLUMN reporting.source_health.run_id IS 'The crawl run judged (reporting.crawl_runs.run_id).';
COMMENT ON COLUMN reporting.source_health.judged_at IS 'When that run was judged.';

GRANT SELECT ON reporting.source_health TO pressmon_reader;
