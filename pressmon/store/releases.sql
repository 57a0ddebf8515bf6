-- Releases, their versions, fingerprints and clusters (pressmon.store.releases).

-- name: lock_clustering
SELECT pg_advisory_xact_lock(%s)

-- name: page_lookup
-- What storing a page needs to know, in one round trip, each part looked up only when the one before it
-- found nothing: the release already at the page's URL; else the cluster of the first release with the same
-- text; else the near-duplicate candidates, one row each (one row of NULLs when there are none).
-- The first release with the text is found through the content_hash index: ordering by id + 0 keeps the
-- planner from walking the primary key in id order, which on a large archive reads every release when no
-- copy matches. The candidates: the copies sharing any of the page's buckets are found through the buckets'
-- GIN index, the bands each shares are counted position by position (bucket i is band i's), and only the 50
-- sharing the most are then read, by id: the plan stays lookups however stale the tables' statistics are (a
-- reprocess grows them from nothing within one step; joining releases whole made each page cost a scan of
-- the archive).
SELECT u.id AS existing_id, u.cluster_id AS existing_cluster, u.content_hash AS existing_hash,
       u.version AS existing_version, h.cluster_id AS hash_cluster,
       c.id, c.cluster_id, c.minhash, c.shared_bands
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (SELECT id, cluster_id, content_hash, version FROM releases
                      WHERE canonical_url = %(canonical_url)s) AS u ON true
  LEFT JOIN LATERAL (SELECT cluster_id FROM releases
                      WHERE u.id IS NULL AND content_hash = %(content_hash)s
                      ORDER BY id + 0 LIMIT 1) AS h ON true
  LEFT JOIN LATERAL (
      SELECT r.id, r.cluster_id, r.minhash, c.shared_bands
        FROM (SELECT l.release_id, s.shared_bands
                FROM release_lsh_buckets l
               CROSS JOIN LATERAL (SELECT count(*) AS shared_bands
                                     FROM unnest(l.buckets, %(buckets)s::bigint[]) AS b(theirs, mine)
                                    WHERE theirs = mine) AS s
               WHERE u.id IS NULL AND h.cluster_id IS NULL AND l.buckets && %(buckets)s::bigint[]
                 AND s.shared_bands > 0
               ORDER BY s.shared_bands DESC, l.release_id
               LIMIT 50) AS c
       CROSS JOIN LATERAL (SELECT id, cluster_id, minhash FROM releases WHERE id = c.release_id) AS r
  ) AS c ON true
 ORDER BY c.shared_bands DESC, c.id

-- name: paragraph_candidates
WITH mine AS (
    SELECT * FROM unnest(%(hashes)s::bigint[], %(chars)s::integer[]) AS m(hash, chars)
), hits AS (
    SELECT m.hash, m.chars, h.release_id
      FROM mine m
     CROSS JOIN LATERAL (SELECT release_id FROM release_paragraphs p
                          WHERE p.hash = m.hash LIMIT %(per_paragraph)s) h
), usable AS (
    SELECT * FROM hits WHERE hash IN (SELECT hash FROM hits GROUP BY hash HAVING count(*) <= %(max_frequency)s)
)
SELECT u.release_id AS id, r.cluster_id, count(*) AS shared, sum(u.chars) AS shared_chars,
       (SELECT sum(q.chars) FROM release_paragraphs q WHERE q.release_id = u.release_id) AS chars
  FROM usable u JOIN releases r ON r.id = u.release_id
 GROUP BY u.release_id, r.cluster_id
HAVING count(*) >= 2
 ORDER BY shared_chars DESC, u.release_id
 LIMIT 20

-- name: analyze_archive
ANALYZE releases, clusters, release_lsh_buckets, release_paragraphs, release_chains

-- name: delete_paragraphs
DELETE FROM release_paragraphs WHERE release_id = %s

-- name: insert_paragraphs
INSERT INTO release_paragraphs (hash, release_id, chars) VALUES %s ON CONFLICT DO NOTHING

-- name: new_cluster
INSERT INTO clusters DEFAULT VALUES RETURNING id

-- name: insert_release
INSERT INTO releases (source, canonical_url, url, title, published_at, publisher, body,
                      speakers, attachments, content_hash, minhash, search_tokens,
                      cluster_id, raw_page_id)
VALUES (%(source)s, %(canonical_url)s, %(url)s, %(title)s, %(published_at)s, %(publisher)s,
        %(body)s, %(speakers)s, %(attachments)s, %(content_hash)s, %(minhash)s,
        to_tsvector('simple', %(search_text)s), %(cluster_id)s, %(raw_page_id)s)
RETURNING id

-- name: insert_new_release
WITH new AS (
    INSERT INTO releases (source, canonical_url, url, title, published_at, publisher, body,
                          speakers, attachments, content_hash, minhash, search_tokens, search_text,
                          cluster_id, raw_page_id, first_fetched_at, is_canonical)
    -- A copy that starts its cluster is its canonical copy: its tokens now. Any other copy keeps its text,
    -- and the election that first chooses it computes its tokens (mark_canonical_copy, 0015).
    VALUES (%(source)s, %(canonical_url)s, %(url)s, %(title)s, %(published_at)s, %(publisher)s,
            %(body)s, %(speakers)s, %(attachments)s, %(content_hash)s, %(minhash)s,
            CASE WHEN %(starts_cluster)s THEN to_tsvector('simple', %(search_text)s) END,
            CASE WHEN NOT %(starts_cluster)s THEN %(search_text)s END,
            %(cluster_id)s, %(raw_page_id)s, coalesce(%(fetched_at)s, now()), %(starts_cluster)s)
    RETURNING id
), buckets AS (
    INSERT INTO release_lsh_buckets (release_id, buckets) SELECT new.id, %(buckets)s::bigint[] FROM new
), paragraphs AS (
    INSERT INTO release_paragraphs (hash, release_id, chars)
    SELECT p.hash, new.id, p.chars
      FROM new, unnest(%(paragraph_hashes)s::bigint[], %(paragraph_chars)s::integer[]) AS p(hash, chars)
    ON CONFLICT DO NOTHING
), tags AS (
    INSERT INTO release_chains (release_id, chain_id, score, evidence)
    SELECT new.id, t.chain_id, t.score, t.evidence::jsonb
      FROM new, unnest(%(chain_ids)s::integer[], %(scores)s::float8[], %(evidence)s::text[])
                  AS t(chain_id, score, evidence)
)
SELECT id FROM new

-- name: keep_version
INSERT INTO release_versions (release_id, version, title, body, content_hash, raw_page_id, seen_at)
SELECT id, version, title, body, content_hash, raw_page_id, last_seen_at
  FROM releases WHERE id = %s
ON CONFLICT DO NOTHING

-- name: update_release
UPDATE releases
   SET url = %(url)s, title = %(title)s, published_at = %(published_at)s,
       publisher = %(publisher)s, body = %(body)s, speakers = %(speakers)s,
       attachments = %(attachments)s, content_hash = %(content_hash)s, minhash = %(minhash)s,
       search_tokens = CASE WHEN is_canonical THEN to_tsvector('simple', %(search_text)s) END,
       search_text = CASE WHEN NOT is_canonical THEN %(search_text)s END, raw_page_id = %(raw_page_id)s,
       version = version + 1, last_seen_at = now(), updated_at = now()
 WHERE id = %(id)s
RETURNING version

-- name: touch_release
UPDATE releases SET last_seen_at = now(), raw_page_id = %s WHERE id = %s

-- name: set_buckets
INSERT INTO release_lsh_buckets (release_id, buckets) VALUES (%s, %s::bigint[])
ON CONFLICT (release_id) DO UPDATE SET buckets = excluded.buckets

-- name: elect_canonical
-- The order of the copies' fetches, not of their processing, decides: workers sharing a night's pages elect
-- the copy one worker would.
UPDATE clusters c
   SET canonical_release_id = (
         SELECT r.id FROM releases r JOIN sources s ON s.code = r.source
          WHERE r.cluster_id = c.id
          ORDER BY s.authority DESC, r.first_fetched_at, r.canonical_url
          LIMIT 1)
 WHERE c.id = ANY(%s::bigint[])
