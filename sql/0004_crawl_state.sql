-- Until a source's archive has been walked to its last list page once, crawls do not stop at known pages:
-- a first crawl cut short (error, list-page limit) is completed by the next one.
ALTER TABLE sources ADD COLUMN archive_walked_at timestamptz;
COMMENT ON COLUMN sources.archive_walked_at IS 'When a crawl last reached the end of the list pages; NULL means never.';
