-- Search indexes hold the copies search reads, and no others.
--
-- Analysts search reporting.releases: one row per release, its canonical copy. The other copies of a release
-- (the same text on the portal, on a department's site, reprinted by a news site) were indexed all the same,
-- and those indexes were the costliest part of storing a copy: computing the character pairs of its text and
-- adding them to a GIN index took about 1.9 of the 4.5 ms of database CPU a copy cost in `make bench-process`
-- (docs/quality.md). The three search indexes are now partial: they hold canonical copies only, which a flag
-- on each copy names. The flag mirrors clusters.canonical_release_id, and a trigger keeps the two in step,
-- whatever changes the election.

ALTER TABLE releases ADD COLUMN is_canonical boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN releases.is_canonical IS
    'This copy is its cluster''s canonical copy (clusters.canonical_release_id, kept in step by a trigger): what the search indexes hold.';

UPDATE releases r SET is_canonical = true FROM clusters c WHERE c.canonical_release_id = r.id;

CREATE FUNCTION mark_canonical_copy() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.canonical_release_id IS NOT NULL THEN
        UPDATE releases SET is_canonical = false WHERE id = OLD.canonical_release_id AND is_canonical;
    END IF;
    IF NEW.canonical_release_id IS NOT NULL THEN
        -- A copy that starts a cluster is stored with the flag already set: nothing to write then.
        UPDATE releases SET is_canonical = true WHERE id = NEW.canonical_release_id AND NOT is_canonical;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION mark_canonical_copy() IS
    'Moves releases.is_canonical to the copy a cluster''s election chose.';

CREATE TRIGGER clusters_mark_canonical_copy_insert AFTER INSERT ON clusters
    FOR EACH ROW WHEN (NEW.canonical_release_id IS NOT NULL) EXECUTE FUNCTION mark_canonical_copy();
CREATE TRIGGER clusters_mark_canonical_copy_update AFTER UPDATE OF canonical_release_id ON clusters
    FOR EACH ROW WHEN (OLD.canonical_release_id IS DISTINCT FROM NEW.canonical_release_id)
    EXECUTE FUNCTION mark_canonical_copy();

DROP INDEX releases_search_grams, releases_title_grams, releases_search;
CREATE INDEX releases_search_grams ON releases USING gin (reporting.search_grams(title, body)) WHERE is_canonical;
CREATE INDEX releases_title_grams ON releases USING gin (reporting.search_grams(title, NULL)) WHERE is_canonical;
CREATE INDEX releases_search ON releases USING gin (search_tokens) WHERE is_canonical;

-- The same rows as before (the flag is true exactly for the copy the join names); said, so that the planner
-- can use the partial indexes for a query on the view.
CREATE OR REPLACE VIEW reporting.releases AS
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
  JOIN releases r ON r.id = c.canonical_release_id AND r.is_canonical
  JOIN sources s ON s.code = r.source;
