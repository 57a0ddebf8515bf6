-- A copy's jieba-token tsvector is computed when the copy is first elected, not when it is stored.
--
-- reporting.releases.search (releases.search_tokens) is read through canonical copies only, and so is every
-- search index (0014). Computing it is the costliest part of storing a copy: to_tsvector('simple', …) over a
-- release's tokens took about 0.6 of the 1.6 ms the statement storing a copy costs in `make bench-process`
-- (docs/quality.md), and most copies of a duplicate-heavy night are never elected. A copy that does not start
-- its cluster is now stored with its search text (the tokens, as the processing step joined them) instead;
-- the trigger that flags the copy a cluster elects computes the tsvector from that text then, and drops the
-- text. A copy that starts its cluster is elected at once and is stored with its tsvector, as before.
--
-- Invariant: a canonical copy has its search_tokens; a copy has search_text only while its search_tokens are
-- not computed. Archives stored before this migration have search_tokens on every copy and need nothing.

ALTER TABLE releases ADD COLUMN search_text text;
COMMENT ON COLUMN releases.search_text IS
    'The copy''s search text (jieba tokens), kept only until its search_tokens are computed: when the copy is first elected its cluster''s canonical copy.';

CREATE OR REPLACE FUNCTION mark_canonical_copy() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.canonical_release_id IS NOT NULL THEN
        UPDATE releases SET is_canonical = false WHERE id = OLD.canonical_release_id AND is_canonical;
    END IF;
    IF NEW.canonical_release_id IS NOT NULL THEN
        -- A copy that starts a cluster is stored with the flag (and its tokens) already set: nothing to write.
        UPDATE releases
           SET is_canonical = true,
               -- coalesce evaluates to_tsvector only for a copy whose tokens are not computed yet.
               search_tokens = coalesce(search_tokens, to_tsvector('simple', search_text)),
               search_text = NULL
         WHERE id = NEW.canonical_release_id AND NOT is_canonical;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION mark_canonical_copy() IS
    'Moves releases.is_canonical to the copy a cluster''s election chose, and computes that copy''s search_tokens from its search_text if they are not computed yet.';
