-- A copy's 32 LSH buckets are one row holding an array, not 32 rows.
--
-- release_lsh_bands held a row per band of every copy: 32 heap rows, 32 entries in each of its two B-tree
-- indexes and 32 foreign-key checks for each copy stored, 3.5 KB a copy with its indexes (353 MB for the
-- 100,000 copies of `make bench-dedup`'s archive). A copy's buckets are now one array in release_lsh_buckets,
-- in band order (bucket i is band i's), under a GIN index: 1.7 KB a copy (166 MB). The near-duplicate lookup
-- (pressmon/store/releases.sql, page_lookup) finds the copies sharing any of a page's buckets through that
-- index and counts the bands they share position by position, as the rows' (band, bucket) did. fastupdate is
-- off: its pending list would be read by every lookup.

CREATE TABLE release_lsh_buckets (
    release_id  bigint PRIMARY KEY REFERENCES releases ON DELETE CASCADE,
    buckets     bigint[] NOT NULL
);
COMMENT ON TABLE release_lsh_buckets IS
    'Each copy''s LSH band buckets in band order (buckets[1] is band 0''s): copies sharing a bucket in the same band are near-duplicate candidates.';

DO $$
DECLARE
    gapped bigint;
BEGIN
    -- Every copy's bands were written together, 0 to 31. A copy whose bands are not 0, 1, 2, … without gaps
    -- cannot be put in band order: it is named rather than converted wrongly.
    SELECT release_id INTO gapped FROM release_lsh_bands GROUP BY release_id
     HAVING min(band) <> 0 OR max(band) <> count(*) - 1 OR count(DISTINCT band) <> count(*)
     LIMIT 1;
    IF gapped IS NOT NULL THEN
        RAISE EXCEPTION 'release % has LSH bands that are not 0, 1, 2, … without gaps, '
                        'which cannot be put in band order', gapped;
    END IF;
END
$$;

INSERT INTO release_lsh_buckets (release_id, buckets)
SELECT release_id, array_agg(bucket ORDER BY band) FROM release_lsh_bands GROUP BY release_id;

CREATE INDEX release_lsh_buckets_buckets ON release_lsh_buckets USING gin (buckets) WITH (fastupdate = off);

DROP TABLE release_lsh_bands;
