-- pressmon_reader may read the reporting views and nothing else, and may write nothing.
-- Roles belong to the whole server, so create it only once.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pressmon_reader') THEN
        CREATE ROLE pressmon_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;
COMMENT ON ROLE pressmon_reader IS 'Analysts: SELECT on the reporting views only. Give it a password, or grant it to personal roles.';

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM pressmon_reader;
GRANT USAGE ON SCHEMA reporting TO pressmon_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO pressmon_reader;
-- Views added by later migrations are readable without another GRANT.
ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO pressmon_reader;
