-- Processing workers (one Airflow task, or several on Celery workers) share the pending pages by claiming
-- batches. A claim is a number from raw_page_claims, written on the claimed pages and held as a session
-- advisory lock by the worker's connection while it parses them outside any transaction and then stores them.
-- A page stays 'pending' until it is stored; its claim is cleared when it is. A claim whose lock nobody holds
-- (the worker died, or its connection did) is free: the next worker takes those pages.
ALTER TABLE raw_pages ADD COLUMN claim integer;
COMMENT ON COLUMN raw_pages.claim IS
    'The processing batch a pending page is claimed by; live while a session holds advisory lock (claim class, claim).';

CREATE SEQUENCE raw_page_claims AS integer CYCLE;

-- Which copy of a release stands for its cluster must not depend on which worker stored its page first: the
-- election reads when each copy's page was fetched, not when it was processed.
ALTER TABLE releases ADD COLUMN first_fetched_at timestamptz;
UPDATE releases r
   SET first_fetched_at = least(r.first_seen_at, (SELECT min(p.fetched_at) FROM raw_pages p
                                                   WHERE p.source = r.source AND p.canonical_url = r.canonical_url));
ALTER TABLE releases ALTER COLUMN first_fetched_at SET DEFAULT now(), ALTER COLUMN first_fetched_at SET NOT NULL;
COMMENT ON COLUMN releases.first_fetched_at IS
    'When the page this copy was first parsed from was fetched; elects the cluster''s canonical copy.';
