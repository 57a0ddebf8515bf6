-- Weekly report, digests that show why, search as analysts type, source health.

-- == Search ==============================================================================================
-- jieba's tokens (reporting.releases.search) find only jieba's exact words: 机器人 misses 人形机器人, 人形 and
-- 低空经济发展 find nothing. reporting.search() matches what an analyst types as a substring instead, the way
-- CJK analysers do: every release is indexed by the single characters and overlapping character pairs of its
-- title and text (人形机器人 → 人 形 机 器 人形 形机 机器 器人), a query term by its pairs (or its one
-- character), the index returns the releases holding all of them, and each is then checked for the term
-- itself. Built from lower() and code-point ranges only, it behaves the same whatever the database's locale
-- (pg_trgm drops CJK characters entirely in a "C" locale and cannot use its index for two-character words,
-- the commonest length of a Chinese word).

-- A text as the index sees it: lower case, every run of characters that are not letters or digits (CJK,
-- kana, hangul, Latin, Greek, Cyrillic) turned into one space.
CREATE FUNCTION reporting.search_fold(doc text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT regexp_replace(lower(doc), '[^0-9a-z\u00b5\u00c0-\u02af\u0370-\u03ff\u0400-\u052f\u3005\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f]+', ' ', 'g') $$;
COMMENT ON FUNCTION reporting.search_fold(text) IS
    'A text as the search index sees it: lower case, runs of punctuation and spaces made one space.';

-- Pairs come from two passes of ".." (from the first and from the second character), so that every
-- adjacent pair is met once; a pair holding the space splits into single characters, which are kept anyway.
CREATE FUNCTION reporting.search_grams(title text, body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 5000
AS $$
SELECT array_to_tsvector(array_remove(string_to_array(
           regexp_replace(f, '(..)', '\1 ', 'g') || ' '
        || regexp_replace(substr(f, 2), '(..)', '\1 ', 'g') || ' '
        || array_to_string(string_to_array(f, NULL), ' '), ' '), ''))
  FROM (SELECT reporting.search_fold(coalesce(title, '') || E'\n' || coalesce(body, '')) AS f OFFSET 0) AS folded
$$;
COMMENT ON FUNCTION reporting.search_grams(text, text) IS
    'Single characters and overlapping character pairs of a title and text: what reporting.search looks up in its index.';

-- "人形机器人 产业" is two terms; "…" or “…” keep a phrase with spaces as one term. Terms without a letter or
-- digit (a lone punctuation mark) are dropped.
CREATE FUNCTION reporting.search_terms(query text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(term ORDER BY n), '{}')
              FROM (SELECT lower(coalesce(m[1], m[2], m[3])) AS term, n
                      FROM regexp_matches(translate(coalesce(query, ''), '　', ' '), '"([^"]+)"|“([^”]+)”|(\S+)', 'g')
                           WITH ORDINALITY AS found(m, n)) AS terms
             WHERE term ~ '[0-9a-z\u00b5\u00c0-\u02af\u0370-\u03ff\u0400-\u052f\u3005\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f]');
END
$$;
COMMENT ON FUNCTION reporting.search_terms(text) IS
    'The terms of a query as typed: words separated by spaces; "…" or “…” keep a phrase together; lower case.';

CREATE FUNCTION reporting.search_tsquery(terms text[]) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN (SELECT string_agg(DISTINCT '''' || gram || '''', ' & ')::tsquery
              FROM unnest(terms) AS term,
                   regexp_split_to_table(trim(reporting.search_fold(term)), ' ') AS run,
                   LATERAL (SELECT substr(run, i, 2) FROM generate_series(1, length(run) - 1) AS i
                            UNION ALL
                            SELECT run WHERE length(run) = 1) AS grams(gram)
             WHERE run <> '');
END
$$;
COMMENT ON FUNCTION reporting.search_tsquery(text[]) IS
    'The index lookup of query terms: every character pair of every term (a one-character term by itself), all required.';

CREATE FUNCTION reporting.search_contains(title text, body text, terms text[]) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 50
AS $$
DECLARE
    doc text := coalesce(title, '') || E'\n' || coalesce(body, '');
    lowered text;
    term text;
BEGIN
    IF cardinality(terms) IS NULL OR cardinality(terms) = 0 THEN
        RETURN false;
    END IF;
    FOREACH term IN ARRAY terms LOOP
        IF term ~ '[a-z]' THEN
            lowered := coalesce(lowered, lower(doc));
            IF strpos(lowered, term) = 0 THEN RETURN false; END IF;
        ELSIF strpos(doc, term) = 0 THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END
$$;
COMMENT ON FUNCTION reporting.search_contains(text, text, text[]) IS
    'True when the title or text contains every term (letters compared without case).';

-- Three points per term in the title, the log of its count in the text, and one point when jieba cut the text
-- so that the term is a whole word there (人形 inside 人形机器人 ranks below 人形 standing alone).
CREATE FUNCTION reporting.search_rank(title text, body text, search tsvector, terms text[]) RETURNS real
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 50
AS $$
DECLARE
    rank double precision := 0;
    term text;
    text_lowered text;
    title_lowered text;
    haystack text;
BEGIN
    FOREACH term IN ARRAY terms LOOP
        IF term ~ '[a-z]' THEN
            text_lowered := coalesce(text_lowered, lower(coalesce(body, '')));
            title_lowered := coalesce(title_lowered, lower(coalesce(title, '')));
            haystack := text_lowered;
            rank := rank + 3 * (strpos(title_lowered, term) > 0)::integer;
        ELSE
            haystack := coalesce(body, '');
            rank := rank + 3 * (strpos(coalesce(title, ''), term) > 0)::integer;
        END IF;
        rank := rank + ln(1 + (length(haystack) - length(replace(haystack, term, ''))) / length(term))
                     + CASE WHEN search @@ plainto_tsquery('simple', term) THEN 1 ELSE 0 END;
    END LOOP;
    RETURN rank;
END
$$;
COMMENT ON FUNCTION reporting.search_rank(text, text, tsvector, text[]) IS
    'Rank of a release for query terms: 3 per term in the title + ln(1 + its count in the text) + 1 per term that is a whole jieba word of the release.';

CREATE FUNCTION reporting.search_excerpt(title text, body text, terms text[], width integer DEFAULT 100)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 1000
AS $$
DECLARE
    doc text := coalesce(body, '');
    lowered text;
    piece text;
    lowered_piece text;
    term text;
    found integer;
    first integer;
    hit integer;
    hit_length integer;
    start integer;
    cursor_at integer := 1;
    marked text := '';
BEGIN
    -- lower() keeps every character's place for the scripts we index, so positions in lowered text are
    -- positions in the text.
    FOR attempt IN 1..2 LOOP
        -- lower() is slow on long CJK text: only when some term has letters, whose case may differ.
        lowered := CASE WHEN array_to_string(terms, ' ') ~ '[a-z]' THEN lower(doc) ELSE doc END;
        first := NULL;
        FOREACH term IN ARRAY terms LOOP
            found := strpos(lowered, term);
            IF found > 0 AND (first IS NULL OR found < first) THEN
                first := found;
            END IF;
        END LOOP;
        EXIT WHEN first IS NOT NULL OR attempt = 2;
        doc := coalesce(title, '');
    END LOOP;
    start := greatest(1, coalesce(first, 1) - width / 4);
    piece := substr(doc, start, width);
    lowered_piece := CASE WHEN array_to_string(terms, ' ') ~ '[a-z]' THEN lower(piece) ELSE piece END;
    LOOP
        hit := NULL;
        FOREACH term IN ARRAY terms LOOP
            found := strpos(substr(lowered_piece, cursor_at), term);
            IF found > 0 AND (hit IS NULL OR found < hit OR (found = hit AND length(term) > hit_length)) THEN
                hit := found;
                hit_length := length(term);
            END IF;
        END LOOP;
        EXIT WHEN hit IS NULL;
        marked := marked || substr(piece, cursor_at, hit - 1) || '【' || substr(piece, cursor_at + hit - 1, hit_length) || '】';
        cursor_at := cursor_at + hit - 1 + hit_length;
    END LOOP;
    marked := marked || substr(piece, cursor_at);
    RETURN CASE WHEN start > 1 THEN '…' ELSE '' END
        || regexp_replace(marked, '\s+', ' ', 'g')
        || CASE WHEN start + width <= length(doc) THEN '…' ELSE '' END;
END
$$;
COMMENT ON FUNCTION reporting.search_excerpt(text, text, text[], integer) IS
    'A short excerpt of the text around the first term found (else of the title), every term marked 【like this】.';

CREATE INDEX releases_search_grams ON releases USING gin (reporting.search_grams(title, body));

CREATE FUNCTION reporting.search(query text, max_results integer DEFAULT NULL)
RETURNS TABLE (rank real, cluster_id bigint, published_at date, title text, publisher text, source text,
               chains text[], duplicates integer, url text, excerpt text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT reporting.search_rank(r.title, r.body, r.search, q.terms),
       r.cluster_id, r.published_at, r.title, r.publisher, r.source, r.chains, r.duplicates, r.url,
       reporting.search_excerpt(r.title, r.body, q.terms)
  FROM (SELECT reporting.search_terms(query) AS terms) AS q
  JOIN reporting.releases r ON reporting.search_grams(r.title, r.body) @@ reporting.search_tsquery(q.terms)
 WHERE reporting.search_contains(r.title, r.body, q.terms)
 ORDER BY 1 DESC, r.published_at DESC NULLS LAST, r.cluster_id DESC
 LIMIT max_results
$$;
COMMENT ON FUNCTION reporting.search(text, integer) IS
    'Releases whose title or text contains every term of a query as typed (a word, part of a word, a phrase, several terms), best first, with an excerpt; max_results NULL means all. E.g. SELECT * FROM reporting.search(''人形机器人 产业'').';

GRANT EXECUTE ON FUNCTION reporting.search_fold(text), reporting.search_grams(text, text),
    reporting.search_terms(text), reporting.search_tsquery(text[]),
    reporting.search_contains(text, text, text[]), reporting.search_rank(text, text, tsvector, text[]),
    reporting.search_excerpt(text, text, text[], integer), reporting.search(text, integer)
    TO pressmon_reader;

-- == Source health (until a fuller reporting.source_health exists) ========================================

CREATE VIEW reporting.source_last_crawl AS
SELECT s.code AS source,
       s.name AS source_name,
       s.enabled,
       l.run_id,
       l.started_at,
       l.finished_at,
       l.status,
       l.list_pages,
       l.detail_pages,
       jsonb_array_length(l.errors) AS errors,
       ARRAY(SELECT DISTINCT coalesce(e ->> 'code', 'other')
               FROM jsonb_array_elements(l.errors) AS e ORDER BY 1) AS error_codes,
       coalesce((l.stats ->> 'owed')::integer, 0) AS owed,
       coalesce((l.stats ->> 'given_up')::integer, 0) AS given_up
  FROM sources s
  LEFT JOIN LATERAL (SELECT * FROM crawl_run_sources crs
                      WHERE crs.source = s.code
                      ORDER BY crs.started_at DESC, crs.run_id DESC
                      LIMIT 1) AS l ON true;
COMMENT ON VIEW reporting.source_last_crawl IS
    'One row per source: how its latest crawl went (NULL crawl columns: never crawled).';
COMMENT ON COLUMN reporting.source_last_crawl.source IS 'Source code (spider name).';
COMMENT ON COLUMN reporting.source_last_crawl.source_name IS 'The publishing agency''s full name.';
COMMENT ON COLUMN reporting.source_last_crawl.enabled IS 'Whether nightly runs crawl this source.';
COMMENT ON COLUMN reporting.source_last_crawl.run_id IS 'The crawl run of the latest crawl (reporting.crawl_runs.run_id).';
COMMENT ON COLUMN reporting.source_last_crawl.started_at IS 'When the latest crawl of the source started.';
COMMENT ON COLUMN reporting.source_last_crawl.finished_at IS 'When it ended; NULL while it runs (or if its process died).';
COMMENT ON COLUMN reporting.source_last_crawl.status IS 'running, succeeded or failed.';
COMMENT ON COLUMN reporting.source_last_crawl.list_pages IS 'List pages fetched by the latest crawl.';
COMMENT ON COLUMN reporting.source_last_crawl.detail_pages IS 'Detail pages fetched by the latest crawl.';
COMMENT ON COLUMN reporting.source_last_crawl.errors IS 'Number of errors the latest crawl recorded.';
COMMENT ON COLUMN reporting.source_last_crawl.error_codes IS 'Their distinct codes (timeout, http_status, blocked, …; other when none was recorded).';
COMMENT ON COLUMN reporting.source_last_crawl.owed IS 'Detail pages still owed after the latest crawl (to be fetched again).';
COMMENT ON COLUMN reporting.source_last_crawl.given_up IS 'Detail pages given up after repeated failures, as of the latest crawl.';

-- == Chains ================================================================================================

CREATE VIEW reporting.chains AS
SELECT ch.taxonomy AS scheme, t.is_current AS current_scheme, ch.name AS chain, ch.group_name AS chain_group
  FROM chains ch
  JOIN taxonomies t ON t.code = ch.taxonomy;
COMMENT ON VIEW reporting.chains IS 'Every industry chain of every scheme, tagged or not (reports list the quiet chains too).';
COMMENT ON COLUMN reporting.chains.scheme IS 'Code of the chain scheme (taxonomy).';
COMMENT ON COLUMN reporting.chains.current_scheme IS 'True for the scheme new releases are tagged with.';
COMMENT ON COLUMN reporting.chains.chain IS 'Official name of the chain.';
COMMENT ON COLUMN reporting.chains.chain_group IS 'Group of the chain within its scheme.';

-- == Weekly report subscriptions and their exactly-once ledger ===========================================

-- A weekly subscription receives the weekly report (every chain) and no nightly digests; an address that
-- wants both has two subscriptions.
ALTER TABLE subscriptions ADD COLUMN weekly boolean NOT NULL DEFAULT false;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_email_chains_sources_keywords_key;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_one_of_a_kind UNIQUE (email, chains, sources, keywords, weekly);
COMMENT ON COLUMN subscriptions.weekly IS 'Receives the weekly report instead of nightly digests.';

-- The same states and rules as deliveries: `sending` is committed just before the end of the SMTP data, and a
-- `sending` row found by a later run counts as sent.
CREATE TABLE report_deliveries (
    subscription_id  bigint NOT NULL REFERENCES subscriptions ON DELETE CASCADE,
    week             date NOT NULL CHECK (extract(isodow FROM week) = 1),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sending_at       timestamptz,
    sent_at          timestamptz,
    message_id       text,
    PRIMARY KEY (subscription_id, week)
);
COMMENT ON TABLE report_deliveries IS 'One weekly report per weekly subscription and ISO week (week = its Monday).';

-- == Every column of every reporting view documented ====================================================

COMMENT ON COLUMN reporting.releases.release_id IS 'Id of the canonical copy (reporting.release_copies.release_id).';
COMMENT ON COLUMN reporting.releases.source_name IS 'Full name of the agency whose site holds the canonical copy.';
COMMENT ON COLUMN reporting.releases.title IS 'Title of the release as its page gives it.';
COMMENT ON COLUMN reporting.releases.attachments IS 'Attached files as a JSON list of {url, name}.';
COMMENT ON COLUMN reporting.releases.body IS 'Text of the release: paragraphs separated by line breaks, page furniture removed.';

COMMENT ON COLUMN reporting.release_copies.cluster_id IS 'The release (cluster) this copy belongs to; reporting.releases.cluster_id.';
COMMENT ON COLUMN reporting.release_copies.release_id IS 'Id of this copy.';
COMMENT ON COLUMN reporting.release_copies.url IS 'Canonical URL of this copy.';
COMMENT ON COLUMN reporting.release_copies.source IS 'Source (spider) this copy was crawled from.';
COMMENT ON COLUMN reporting.release_copies.title IS 'Title as this copy gives it.';
COMMENT ON COLUMN reporting.release_copies.published_at IS 'Publication date this copy states; NULL when unknown.';
COMMENT ON COLUMN reporting.release_copies.first_seen_at IS 'When pressmon first fetched this copy.';
COMMENT ON COLUMN reporting.release_copies.last_seen_at IS 'When pressmon last fetched this copy.';
COMMENT ON COLUMN reporting.release_copies.version IS 'How many distinct texts this copy has had under its URL.';

COMMENT ON COLUMN reporting.release_chains.cluster_id IS 'The release (cluster) of the tagged copy.';
COMMENT ON COLUMN reporting.release_chains.release_id IS 'The tagged copy.';
COMMENT ON COLUMN reporting.release_chains.scheme IS 'Code of the chain scheme (taxonomy) of the tag.';
COMMENT ON COLUMN reporting.release_chains.current_scheme IS 'True when the scheme is the one new releases are tagged with.';
COMMENT ON COLUMN reporting.release_chains.chain IS 'Official name of the industry chain.';
COMMENT ON COLUMN reporting.release_chains.chain_group IS 'Group of the chain within its scheme.';
COMMENT ON COLUMN reporting.release_chains.score IS 'How strongly the release is about the chain, 0..1 (a tag needs 0.55).';
COMMENT ON COLUMN reporting.release_chains.tagged_at IS 'When the tag was computed.';

COMMENT ON COLUMN reporting.release_chains_current.cluster_id IS 'The release (cluster) of the tagged copy.';
COMMENT ON COLUMN reporting.release_chains_current.release_id IS 'The tagged copy.';
COMMENT ON COLUMN reporting.release_chains_current.chain IS 'Chain of the current scheme.';
COMMENT ON COLUMN reporting.release_chains_current.via_scheme IS 'Scheme of the original tag (the current one for a direct tag).';
COMMENT ON COLUMN reporting.release_chains_current.via_chain IS 'Chain of the original tag.';
COMMENT ON COLUMN reporting.release_chains_current.score IS 'Score (0..1) of the original tag.';

COMMENT ON COLUMN reporting.chain_crosswalk.from_scheme IS 'Earlier scheme.';
COMMENT ON COLUMN reporting.chain_crosswalk.from_chain IS 'Chain of the earlier scheme.';
COMMENT ON COLUMN reporting.chain_crosswalk.to_scheme IS 'The current scheme.';
COMMENT ON COLUMN reporting.chain_crosswalk.to_chain IS 'Chain of the current scheme it corresponds to.';
COMMENT ON COLUMN reporting.chain_crosswalk.note IS 'Why, or how partly, the chains correspond.';

COMMENT ON COLUMN reporting.daily_chain_counts.day IS 'Publication date, else the day first seen (Beijing time).';
COMMENT ON COLUMN reporting.daily_chain_counts.chain IS 'Chain of the current scheme.';
COMMENT ON COLUMN reporting.daily_chain_counts.releases IS 'Distinct releases of that day tagged with the chain.';

COMMENT ON COLUMN reporting.sources.code IS 'Source code (spider name).';
COMMENT ON COLUMN reporting.sources.name IS 'The publishing agency''s full name.';
COMMENT ON COLUMN reporting.sources.base_url IS 'The site crawled.';
COMMENT ON COLUMN reporting.sources.authority IS 'Higher is more official; decides the canonical copy of a release.';
COMMENT ON COLUMN reporting.sources.enabled IS 'Whether nightly runs crawl this source.';

COMMENT ON COLUMN reporting.crawl_runs.run_id IS 'Id of the crawl run.';
COMMENT ON COLUMN reporting.crawl_runs.run_key IS 'The run''s key (the Airflow run id, or cli-… for a crawl started by hand).';
COMMENT ON COLUMN reporting.crawl_runs.started_at IS 'When the run started.';
COMMENT ON COLUMN reporting.crawl_runs.finished_at IS 'When its report step finished; NULL while it runs.';
COMMENT ON COLUMN reporting.crawl_runs.status IS 'running, succeeded, partial (some source or page failed) or failed (every source failed).';
COMMENT ON COLUMN reporting.crawl_runs.summary IS 'JSON summary: per source pages, errors, owed pages; new releases, duplicates, failed pages, emails.';
COMMENT ON COLUMN reporting.crawl_runs.source IS 'A source crawled in the run (NULL when none was).';
COMMENT ON COLUMN reporting.crawl_runs.source_status IS 'running, succeeded or failed, for that source.';
COMMENT ON COLUMN reporting.crawl_runs.list_pages IS 'List pages fetched from that source.';
COMMENT ON COLUMN reporting.crawl_runs.detail_pages IS 'Detail pages fetched from that source.';
COMMENT ON COLUMN reporting.crawl_runs.source_errors IS 'Errors recorded for that source (details in summary).';

GRANT SELECT ON reporting.source_last_crawl, reporting.chains TO pressmon_reader;
