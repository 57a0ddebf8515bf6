-- Search answers a broad query's first page without reading every match.
--
-- 0009 ranked by the count of each term in the text, so the best 20 of a word found in nearly every release
-- (发展) meant reading and counting all 95,000 of them: seconds. The order is now one an index can serve:
-- releases with every term in the title first (rank 1), then the rest (rank 0), each group newest first.
-- A page of a group is first looked for among the newest releases, read newest first and checked one by one
-- until the page is full: a broad query's first page reads about a page of releases. Only when the newest
-- releases hold too few matches (1000 + 50 per result asked for) does the group go through an index (a small
-- one of title grams for rank 1, the character-pair index for rank 0) and sort its matches, which are then
-- few. Every match can still be had (max_results NULL: no walk, both indexes), and pages follow one
-- another (skip).

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

-- True when the index alone decides a match: every term is one or two characters that the index keeps as
-- they are (CJK, kana, hangul, digits, a-z), so a release's grams hold the term's pair (or the character
-- itself) exactly when its title or text holds the term. Such a query skips reading each candidate's text.
CREATE FUNCTION reporting.search_exact(terms text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT cardinality(terms) > 0
       AND NOT EXISTS (SELECT FROM unnest(terms) AS term
                        WHERE term !~ '^[0-9a-z\u3005\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f]{1,2}$')
$$;
COMMENT ON FUNCTION reporting.search_exact(text[]) IS
    'True when the character-pair index alone decides whether a release contains every term (each is one or two CJK, kana, hangul, digit or a-z characters).';

DROP FUNCTION reporting.search(text, integer);
DROP FUNCTION reporting.search_rank(text, text, tsvector, text[]);

-- The page of each group (rank 1, rank 0) comes from one of two forms, chosen as it runs: the walk (the first
-- `need` matches among the newest `walk` releases) when it fills the page, else the index (every match of
-- the group, sorted). The lookup and terms are computed once at run time (CTE q, read through InitPlans)
-- rather than folded into the plan, so the planner costs the index form as a selective lookup whatever the
-- query: folded, a broad word (发展) made it cost the form it does not run at a million and compile the
-- whole plan with JIT, which took longer than the search. With max_results NULL the walks fold away when
-- the plan is made and nothing is counted.
CREATE FUNCTION reporting.search(query text, max_results integer DEFAULT NULL, skip integer DEFAULT 0)
RETURNS TABLE (rank integer, cluster_id bigint, published_at date, title text, publisher text, source text,
               chains text[], duplicates integer, url text, excerpt text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH q AS MATERIALIZED (
    SELECT reporting.search_terms(query) AS terms,
           reporting.search_tsquery(reporting.search_terms(query)) AS lookup,
           reporting.search_exact(reporting.search_terms(query)) AS exact
),
-- need = coalesce(skip, 0) + max_results; walk = 1000 + 50 * need.
title_walk AS MATERIALIZED (
    SELECT newest.release_id, newest.published_at
      FROM (SELECT t.release_id, t.published_at, t.title
              FROM reporting.releases t
             ORDER BY t.published_at DESC NULLS LAST, t.release_id DESC
             LIMIT 1000 + 50 * (coalesce(skip, 0) + max_results)) AS newest
     WHERE max_results IS NOT NULL
       AND reporting.search_in_title(newest.title, (SELECT q.terms FROM q))
     LIMIT coalesce(skip, 0) + max_results
),
text_walk AS MATERIALIZED (
    SELECT newest.release_id, newest.published_at
      FROM (SELECT b.release_id, b.published_at, b.title, b.body
              FROM reporting.releases b
             ORDER BY b.published_at DESC NULLS LAST, b.release_id DESC
             LIMIT 1000 + 50 * (coalesce(skip, 0) + max_results)) AS newest
     WHERE max_results IS NOT NULL
       AND NOT reporting.search_in_title(newest.title, (SELECT q.terms FROM q))
       AND reporting.search_contains(newest.title, newest.body, (SELECT q.terms FROM q))
     LIMIT coalesce(skip, 0) + max_results
)
SELECT page.rank, r.cluster_id, r.published_at, r.title, r.publisher, r.source, r.chains, r.duplicates, r.url,
       reporting.search_excerpt(r.title, r.body, (SELECT q.terms FROM q))
  FROM (SELECT found.rank, found.release_id, found.published_at
          FROM (-- Rank 1, walked: the newest releases held the page.
                (SELECT 1 AS rank, w.release_id, w.published_at
                   FROM title_walk w
                  WHERE max_results IS NOT NULL
                    AND (SELECT count(*) FROM title_walk) >= coalesce(skip, 0) + max_results)
                UNION ALL
                -- Rank 1, looked up in the titles' index.
                (SELECT 1, t.release_id, t.published_at
                   FROM reporting.releases t
                  WHERE reporting.search_grams(t.title, NULL) @@ (SELECT q.lookup FROM q)
                    AND reporting.search_in_title(t.title, (SELECT q.terms FROM q))
                    AND (max_results IS NULL
                         OR (SELECT count(*) FROM title_walk) < coalesce(skip, 0) + max_results))
                UNION ALL
                -- Rank 0, walked; not needed at all when rank 1 was walked (the page is all rank 1).
                (SELECT 0, w.release_id, w.published_at
                   FROM text_walk w
                  WHERE max_results IS NOT NULL
                    AND (SELECT count(*) FROM title_walk) < coalesce(skip, 0) + max_results
                    AND (SELECT count(*) FROM text_walk) >= coalesce(skip, 0) + max_results)
                UNION ALL
                -- Rank 0, looked up in the character-pair index.
                (SELECT 0, b.release_id, b.published_at
                   FROM reporting.releases b
                  WHERE reporting.search_grams(b.title, b.body) @@ (SELECT q.lookup FROM q)
                    AND NOT reporting.search_in_title(b.title, (SELECT q.terms FROM q))
                    AND ((SELECT q.exact FROM q) OR reporting.search_contains(b.title, b.body, (SELECT q.terms FROM q)))
                    AND (max_results IS NULL
                         OR ((SELECT count(*) FROM title_walk) < coalesce(skip, 0) + max_results
                             AND (SELECT count(*) FROM text_walk) < coalesce(skip, 0) + max_results)))) AS found
         ORDER BY found.rank DESC, found.published_at DESC NULLS LAST, found.release_id DESC
         LIMIT max_results OFFSET skip) AS page
  JOIN reporting.releases r ON r.release_id = page.release_id
 ORDER BY page.rank DESC, page.published_at DESC NULLS LAST, page.release_id DESC
$$;
COMMENT ON FUNCTION reporting.search(text, integer, integer) IS
    'Releases whose title or text contains every term of a query as typed (a word, part of a word, a phrase, several terms), with an excerpt: rank 1 (every term in the title) first, then rank 0, newest first within a rank. max_results NULL means all; skip passes over the first results, to page. E.g. SELECT * FROM reporting.search(''人形机器人 产业'', 20, 40) is the third page of 20.';

GRANT EXECUTE ON FUNCTION reporting.search_in_title(text, text[]), reporting.search_exact(text[]),
    reporting.search(text, integer, integer)
    TO pressmon_reader;
