-- Declared sources and the operator's switch (pressmon.store.sources).

-- name: upsert_source
INSERT INTO sources (code, name, base_url, authority, family, verified, update_days,
                     structure_from, fixtures)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (code) DO UPDATE
   SET name = EXCLUDED.name, base_url = EXCLUDED.base_url,
       authority = EXCLUDED.authority, family = EXCLUDED.family,
       verified = EXCLUDED.verified, update_days = EXCLUDED.update_days,
       structure_from = EXCLUDED.structure_from, fixtures = EXCLUDED.fixtures,
       updated_at = now()
 WHERE (sources.name, sources.base_url, sources.authority, sources.family, sources.verified,
        sources.update_days, sources.structure_from, sources.fixtures)
       IS DISTINCT FROM
       (EXCLUDED.name, EXCLUDED.base_url, EXCLUDED.authority, EXCLUDED.family,
        EXCLUDED.verified, EXCLUDED.update_days, EXCLUDED.structure_from, EXCLUDED.fixtures)

-- name: sources
SELECT code, name, base_url, authority, enabled, family, verified, update_days, structure_from,
       fixtures
  FROM sources ORDER BY code

-- name: last_crawls
SELECT DISTINCT ON (source) source, run_id, status, started_at, finished_at, list_pages,
       detail_pages, jsonb_array_length(errors) AS errors
  FROM crawl_run_sources ORDER BY source, started_at DESC, run_id DESC

-- name: set_source_enabled
UPDATE sources SET enabled = %s, updated_at = now() WHERE code = %s
