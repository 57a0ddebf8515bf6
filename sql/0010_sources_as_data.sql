-- Sources are declared as data (pressmon/sources/registry/<code>.toml); the table mirrors each declaration.

ALTER TABLE sources
    ADD COLUMN family         text,
    ADD COLUMN verified       boolean NOT NULL DEFAULT false,
    ADD COLUMN update_days    integer CHECK (update_days > 0),
    ADD COLUMN structure_from text,
    ADD COLUMN fixtures       text;
COMMENT ON COLUMN sources.family IS 'The CMS family that reads its list pages (pressmon/sources/families/<family>.py).';
COMMENT ON COLUMN sources.verified IS 'true: the URL scheme and list structure were checked against real pages; false: inferred from the family.';
COMMENT ON COLUMN sources.update_days IS 'Expected gap in days between two releases.';
COMMENT ON COLUMN sources.structure_from IS 'Where the declared URL scheme, selectors and pagination come from.';
COMMENT ON COLUMN sources.fixtures IS 'What its offline pages are: corpus (real pages), reconstructed, or generated.';

CREATE OR REPLACE VIEW reporting.sources AS
SELECT code, name, base_url, authority, enabled, family, verified, update_days FROM sources;
COMMENT ON VIEW reporting.sources IS 'The sources pressmon crawls, as declared in its source registry.';
COMMENT ON COLUMN reporting.sources.family IS 'The CMS family that reads the source''s list pages.';
COMMENT ON COLUMN reporting.sources.verified IS 'Whether its URL scheme and list structure were checked against real pages.';
COMMENT ON COLUMN reporting.sources.update_days IS 'Expected gap in days between two releases.';
