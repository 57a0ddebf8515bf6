-- Search answers a broad query's first page without reading every match.
--
-- 0009 ranked by the count of each term in the text, so the best 20 of a word found in nearly every release
-- (发展) meant reading and counting all 95,000 of them: seconds. The order is now one the index can serve:
-- releases with every term in the title first, then those with some term in the title, then the rest, each
-- group newest first. Title hits come from a small index of title grams; within a group, walking releases
-- newest first and checking each stops as soon as a page is full, so a broad query's first page reads
-- about a page of releases. A rare query still goes through the character-pair index and sorts its few
-- matches. Every match can still be had (max_results NULL), and pages follow one another (skip).

-- Releases newest first, in the order results are given within a group.
CREATE INDEX releases_newest_first ON releases (published_at DESC NULLS LAST, id DESC);
-- reporting.releases joins a release to its cluster by the canonical copy.
CREATE INDEX clusters_canonical_release ON clusters (canonical_release_id);
-- The titles alone: which releases hold a term in their title.
CREATE INDEX releases_title_grams ON releases USING gin (reporting.search_grams(title, NULL));

-- True when the title contains every term (letters compared without case); a title alone is short and stored
-- with the row, so checking it is cheap.
CREATE FUNCTION reporting.search_in_title(title text, terms text[]) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 10
AS $$
DECLARE
    lowered text;
    term text;
BEGIN
    IF cardinality(terms) IS NULL OR cardinality(terms) = 0 THEN
        RETURN false;
    END IF;
    FOREACH term IN ARRAY terms LOOP
        IF term ~ '[a-z]' THEN
            lowered := coalesce(lowered, lower(coalesce(title, '')));
            IF strpos(lowered, term) = 0 THEN RETURN false; END IF;
        ELSIF strpos(coalesce(title, ''), term) = 0 THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;
COMMENT ON FUNCTION reporting.search_in_title(text, text[]) IS
    'True when a title contains every term (letters compared without case).';

-- Whether a group of results is large enough to be read newest first rather than looked up and sorted: the
-- candidates of a lookup (in the titles' index or the texts'), counted up to `enough`.
CREATE FUNCTION reporting.search_candidates(lookup tsquery, in_titles boolean, enough integer) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT count(*)::integer
  FROM (SELECT FROM reporting.releases t WHERE in_titles AND reporting.search_grams(t.title, NULL) @@ lookup
        UNION ALL
        SELECT FROM reporting.releases r WHERE NOT in_titles AND reporting.search_grams(r.title, r.body) @@ lookup
         LIMIT enough) AS candidates
$$;
COMMENT ON FUNCTION reporting.search_candidates(tsquery, boolean, integer) IS
    'How many releases the index finds for a lookup in titles (or titles and texts), counted up to enough.';

DROP FUNCTION reporting.search(text, integer);
DROP FUNCTION reporting.search_rank(text, text, tsvector, text[]);

-- Two groups (rank 1: every term in the title, rank 0: the rest), each in two forms of which one runs: looked
-- up in an index (all of it: a group looked up has fewer candidates than `broad`), or, for the first pages of a
-- group with thousands of candidates, read newest first until the page is full.
CREATE FUNCTION reporting.search(query text, max_results integer DEFAULT NULL, skip integer DEFAULT 0)
RETURNS TABLE (rank integer, cluster_id bigint, published_at date, title text, publisher text, source text,
               chains text[], duplicates integer, url text, excerpt text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
-- Materialized, so that each group's candidates are counted once for both forms of the group.
WITH walk AS MATERIALIZED (
    SELECT max_results IS NOT NULL
           AND coalesce(reporting.search_candidates(reporting.search_tsquery(q.terms), true, q.broad) >= q.broad, false) AS titles,
           max_results IS NOT NULL
           AND coalesce(reporting.search_candidates(reporting.search_tsquery(q.terms), false, q.broad) >= q.broad, false) AS texts
      FROM (SELECT reporting.search_terms(query) AS terms,
                   2000 + 10 * (coalesce(skip, 0) + max_results) AS broad) AS q)
SELECT page.rank, r.cluster_id, r.published_at, r.title, r.publisher, r.source, r.chains, r.duplicates, r.url,
       reporting.search_excerpt(r.title, r.body, page.terms)
  FROM (SELECT found.rank, found.release_id, found.published_at, q.terms
          FROM (SELECT reporting.search_terms(query) AS terms,
                       coalesce(skip, 0) + max_results AS need,
                       2000 + 10 * (coalesce(skip, 0) + max_results) AS broad) AS q,
               LATERAL ((SELECT 1 AS rank, t.release_id, t.published_at
                          FROM reporting.releases t
                         WHERE reporting.search_grams(t.title, NULL) @@ reporting.search_tsquery(q.terms)
                           AND reporting.search_in_title(t.title, q.terms)
                           AND NOT (SELECT walk.titles FROM walk)
)
                        UNION ALL
                        (SELECT 1, tw.release_id, tw.published_at
                          FROM reporting.releases tw
                         WHERE reporting.search_in_title(tw.title, q.terms)
                           AND (SELECT walk.titles FROM walk)
                         ORDER BY tw.published_at DESC NULLS LAST, tw.release_id DESC
                         LIMIT q.need)
                        UNION ALL
                        (SELECT 0, b.release_id, b.published_at
                          FROM reporting.releases b
                         WHERE reporting.search_grams(b.title, b.body) @@ reporting.search_tsquery(q.terms)
                           AND NOT reporting.search_in_title(b.title, q.terms)
                           AND reporting.search_contains(b.title, b.body, q.terms)
                           AND NOT (SELECT walk.texts FROM walk)
)
                        UNION ALL
                        (SELECT 0, bw.release_id, bw.published_at
                          FROM reporting.releases bw
                         WHERE NOT reporting.search_in_title(bw.title, q.terms)
                           AND reporting.search_contains(bw.title, bw.body, q.terms)
                           AND (SELECT walk.texts FROM walk)
                         ORDER BY bw.published_at DESC NULLS LAST, bw.release_id DESC
                         LIMIT q.need)) AS found
         ORDER BY found.rank DESC, found.published_at DESC NULLS LAST, found.release_id DESC
         LIMIT max_results OFFSET skip) AS page
  JOIN reporting.releases r ON r.release_id = page.release_id
 ORDER BY page.rank DESC, page.published_at DESC NULLS LAST, page.release_id DESC
$$;
COMMENT ON FUNCTION reporting.search(text, integer, integer) IS
    'Releases whose title or text contains every term of a query as typed (a word, part of a word, a phrase, several terms), with an excerpt: rank 1 (every term in the title) first, then rank 0, newest first within a rank. max_results NULL means all; skip passes over the first results, to page. E.g. SELECT * FROM reporting.search(''人形机器人 产业'', 20, 40) is the third page of 20.';

GRANT EXECUTE ON FUNCTION reporting.search_in_title(text, text[]),
    reporting.search_candidates(tsquery, boolean, integer), reporting.search(text, integer, integer)
    TO pressmon_reader;
