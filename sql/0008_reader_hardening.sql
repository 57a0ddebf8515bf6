-- pressmon_reader, hardened: sessions that are read-only and time out, no temporary objects, and CONNECT to this
-- database only for the roles that need it.
--
-- Roles belong to the whole server, which may host other databases: everything here is scoped to the current
-- database (ALTER ROLE … IN DATABASE, GRANT/REVOKE … ON DATABASE current_database()), so the migration can run
-- in many databases of one server and changes nothing outside its own. The role running it needs to own the
-- database, not to be a superuser; what needs more is guarded and leaves a WARNING, and `pressmon doctor`
-- reports what is missing. Keeping the reader out of the server's OTHER databases is pg_hba.conf's job
-- (docs/security.md gives the line; pressmon's embedded Postgres writes it itself).

-- Session defaults. The analyst may SET them again, so they stop accidents (a runaway query, a transaction left
-- open in a notebook, a tool that writes by default), not a hostile analyst: the privileges below do that.
-- Another role's settings need CREATEROLE (from PostgreSQL 16, also ADMIN OPTION on the role).
DO $$
DECLARE
    db text := current_database();
BEGIN
    EXECUTE format('ALTER ROLE pressmon_reader IN DATABASE %I SET statement_timeout = %L', db, '60s');
    EXECUTE format('ALTER ROLE pressmon_reader IN DATABASE %I SET idle_in_transaction_session_timeout = %L', db, '5min');
    EXECUTE format('ALTER ROLE pressmon_reader IN DATABASE %I SET default_transaction_read_only = on', db);
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        -- Only a superuser may set it: a sort or hash that spills to disk stops at 1 GB.
        EXECUTE format('ALTER ROLE pressmon_reader IN DATABASE %I SET temp_file_limit = %L', db, '1GB');
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'pressmon: % may not change the settings of pressmon_reader (%): run the ALTER ROLE statements of sql/0008_reader_hardening.sql as a superuser', current_user, SQLERRM;
END
$$;

-- No temporary tables, and so no functions in pg_temp either: TEMPORARY is PUBLIC's by default, in every
-- database. The role running migrations keeps it (the owner keeps its own grant in any case).
-- CONNECT likewise: the reader (and the personal roles that are members of it), the role running migrations
-- and the owner; any other role that should connect needs its own GRANT CONNECT.
DO $$
DECLARE
    db text := current_database();
BEGIN
    EXECUTE format('REVOKE TEMPORARY, CONNECT ON DATABASE %I FROM PUBLIC', db);
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM pressmon_reader', db);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO pressmon_reader', db);
    EXECUTE format('GRANT TEMPORARY, CONNECT ON DATABASE %I TO %I', db, current_user);
END
$$;

-- A subscriber's address becomes the To header of a digest: a line break in it would add headers. The CLI
-- refuses one; so does the table, for whatever else writes to it. Any such address already stored is switched
-- off rather than deleted (NOT VALID: existing rows are not checked, every new or changed row is).
UPDATE subscriptions SET active = false WHERE active AND email ~ '[[:cntrl:]]';
ALTER TABLE subscriptions
    ADD CONSTRAINT subscriptions_email_one_line CHECK (email !~ '[[:cntrl:]]') NOT VALID;
