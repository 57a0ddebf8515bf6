-- The analysts' contract: read-only views in schema "reporting", each documented with COMMENT ON.

CREATE SCHEMA reporting;
COMMENT ON SCHEMA reporting IS
    'Read-only views for analysts. Stable column names; the tables behind them may change.';

CREATE VIEW reporting.releases AS
SELECT c.id                AS cluster_id,
       r.id                AS release_id,
       r.canonical_url     AS url,
       r.source,
       s.name              AS source_name,
       r.title,
       r.published_at,
       r.publisher,
       r.speakers,
       r.attachments,
       c.first_seen_at,
       ARRAY(SELECT ch.name
               FROM release_chains rc
               JOIN chains ch ON ch.id = rc.chain_id
               JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
              WHERE rc.release_id = r.id
              ORDER BY rc.score DESC, ch.name) AS chains,
       (SELECT count(*) - 1 FROM releases d WHERE d.cluster_id = c.id)::integer AS duplicates,
       r.version,
       r.body,
       r.search_tokens     AS search
  FROM clusters c
  JOIN releases r ON r.id = c.canonical_release_id
  JOIN sources s ON s.code = r.source;
COMMENT ON VIEW reporting.releases IS
    'One row per distinct release (a cluster of copies), shown through its canonical copy: the earliest seen on the most official source.';
COMMENT ON COLUMN reporting.releases.cluster_id IS 'Identifies the release across all its copies; join reporting.release_copies on it.';
COMMENT ON COLUMN reporting.releases.url IS 'Canonical URL of the canonical copy (scheme, host case and tracking noise normalised).';
COMMENT ON COLUMN reporting.releases.source IS 'Code of the source (spider) the canonical copy came from; see reporting.sources.';
COMMENT ON COLUMN reporting.releases.published_at IS 'Publication date as the page states it (or as its URL encodes it); NULL when unknown.';
COMMENT ON COLUMN reporting.releases.publisher IS 'The 来源 of the page, or for a press conference the department that held it.';
COMMENT ON COLUMN reporting.releases.speakers IS 'Press-conference speakers as a JSON list of {name, role}.';
COMMENT ON COLUMN reporting.releases.first_seen_at IS 'When pressmon first saw any copy of this release.';
COMMENT ON COLUMN reporting.releases.chains IS 'Industry chains of the current scheme, strongest first (see reporting.release_chains for scores and evidence).';
COMMENT ON COLUMN reporting.releases.duplicates IS 'Number of other copies of this release (other URLs or sites).';
COMMENT ON COLUMN reporting.releases.version IS 'How many distinct texts the canonical page has had under its URL.';
COMMENT ON COLUMN reporting.releases.search IS 'jieba tokens of title and body for full-text search: search @@ to_tsquery(''simple'', ''人工智能 & 机器人'').';

CREATE VIEW reporting.release_copies AS
SELECT r.cluster_id,
       r.id AS release_id,
       r.id = c.canonical_release_id AS is_canonical,
       r.canonical_url AS url,
       r.source,
       r.title,
       r.published_at,
       r.first_seen_at,
       r.last_seen_at,
       r.version
  FROM releases r
  JOIN clusters c ON c.id = r.cluster_id;
COMMENT ON VIEW reporting.release_copies IS
    'Every copy pressmon holds (one per canonical URL), with the cluster (distinct release) it belongs to.';
COMMENT ON COLUMN reporting.release_copies.is_canonical IS 'True for the copy reporting.releases shows for the cluster.';

CREATE VIEW reporting.release_chains AS
SELECT r.cluster_id,
       rc.release_id,
       ch.taxonomy AS scheme,
       t.is_current AS current_scheme,
       ch.name AS chain,
       ch.group_name AS chain_group,
       rc.score,
       rc.evidence,
       rc.tagged_at
  FROM release_chains rc
  JOIN releases r ON r.id = rc.release_id
  JOIN chains ch ON ch.id = rc.chain_id
  JOIN taxonomies t ON t.code = ch.taxonomy;
COMMENT ON VIEW reporting.release_chains IS
    'Industry-chain tags of every copy under every scheme it was tagged with, with score (0..1) and evidence.';
COMMENT ON COLUMN reporting.release_chains.evidence IS
    'JSON: matched terms with their counts in the title and in the body, the body length, and the score parts.';

CREATE VIEW reporting.daily_chain_counts AS
SELECT coalesce(r.published_at, (c.first_seen_at AT TIME ZONE 'Asia/Shanghai')::date) AS day,
       ch.name AS chain,
       count(DISTINCT c.id)::integer AS releases
  FROM clusters c
  JOIN releases r ON r.id = c.canonical_release_id
  JOIN release_chains rc ON rc.release_id = r.id
  JOIN chains ch ON ch.id = rc.chain_id
  JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
 GROUP BY 1, 2;
COMMENT ON VIEW reporting.daily_chain_counts IS
    'Distinct releases per day and industry chain of the current scheme (day = publication date, else first seen in Beijing time).';

CREATE VIEW reporting.sources AS
SELECT code, name, base_url, authority, enabled FROM sources;
COMMENT ON VIEW reporting.sources IS 'The sources pressmon crawls: one per spider.';

CREATE VIEW reporting.crawl_runs AS
SELECT cr.id AS run_id,
       cr.run_key,
       cr.started_at,
       cr.finished_at,
       cr.status,
       cr.summary,
       crs.source,
       crs.status AS source_status,
       crs.list_pages,
       crs.detail_pages,
       jsonb_array_length(crs.errors) AS source_errors
  FROM crawl_runs cr
  LEFT JOIN crawl_run_sources crs ON crs.run_id = cr.id;
COMMENT ON VIEW reporting.crawl_runs IS
    'Each nightly run with its summary (pages, new releases, duplicates, errors) and one row per source it crawled.';
