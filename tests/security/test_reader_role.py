"""pressmon_reader reads the reporting views and nothing else: every other attempt is refused by Postgres itself.

Each refusal is checked by its SQLSTATE. The session defaults (read-only, timeouts) are turned off first where
privileges are under test, as an analyst may: the privileges must hold on their own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import psycopg2.errors
import pytest
from psycopg2 import sql

from pressmon import embedded
from pressmon.store import as_role, connect, migrate
from tests.security.support import READER, embedded_pressmon, migrated_database
from tests.support.db import admin, with_database

pytestmark = pytest.mark.integration

INSUFFICIENT_PRIVILEGE = "42501"
READ_ONLY_TRANSACTION = "25006"
NOT_UPDATABLE_VIEW = "55000"  # "cannot insert into view": no role could, the view joins tables


@pytest.fixture(scope="module")
def hardened_db(pg_server: str) -> Iterator[str]:
    """A database migrated as a deployment's is (one per module: the reader changes nothing in it)."""
    with migrated_database(pg_server) as url:
        yield url


@pytest.fixture(scope="module")
def catalog(hardened_db: str) -> dict[str, list]:
    """What the database holds, read as its owner: reporting views (with updatability) and public tables."""
    conn = connect(hardened_db)
    with conn, conn.cursor() as cur:
        cur.execute(
            """SELECT table_name, is_insertable_into = 'YES' AS auto_updatable,
                      (SELECT column_name FROM information_schema.columns c
                        WHERE c.table_schema = v.table_schema AND c.table_name = v.table_name
                        ORDER BY ordinal_position LIMIT 1) AS first_column
                 FROM information_schema.tables v
                WHERE table_schema = 'reporting' AND table_type = 'VIEW' ORDER BY 1"""
        )
        views = cur.fetchall()
        cur.execute(
            """SELECT c.relname, (SELECT attname FROM pg_attribute a
                                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                   ORDER BY attnum LIMIT 1)
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"""
        )
        tables = cur.fetchall()
    conn.close()
    assert len(views) >= 8 and len(tables) >= 13
    return {"views": views, "tables": tables}


@pytest.fixture
def reader(hardened_db: str) -> Iterator[psycopg2.extensions.cursor]:
    """A cursor of a session as pressmon_reader, in autocommit so each refused statement stands alone."""
    conn = psycopg2.connect(as_role(hardened_db, READER))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


@pytest.fixture
def reader_unguarded(reader: psycopg2.extensions.cursor) -> psycopg2.extensions.cursor:
    """The reader's session with the defaults an analyst may change turned off."""
    reader.execute("SET default_transaction_read_only = off")
    reader.execute("SET statement_timeout = 0")
    return reader


def refused(cur: psycopg2.extensions.cursor, statement: str | sql.Composable) -> str:
    """Run a statement that must fail; return its SQLSTATE."""
    with pytest.raises(psycopg2.Error) as caught:
        cur.execute(statement)
    assert caught.value.pgcode, f"{statement!r} failed without a SQLSTATE: {caught.value}"
    return caught.value.pgcode


def test_select_on_every_reporting_view_succeeds(reader, catalog):
    for name, _, _ in catalog["views"]:
        reader.execute(sql.SQL("SELECT * FROM reporting.{} LIMIT 1").format(sql.Identifier(name)))
        reader.fetchall()


def test_reader_sessions_start_read_only_and_time_limited(reader):
    settings = {}
    for name in ("default_transaction_read_only", "statement_timeout", "idle_in_transaction_session_timeout"):
        reader.execute(sql.SQL("SHOW {}").format(sql.Identifier(name)))
        settings[name] = reader.fetchone()[0]
    assert settings == {
        "default_transaction_read_only": "on",
        "statement_timeout": "1min",
        "idle_in_transaction_session_timeout": "5min",
    }
    # Even a temporary table, the one thing a read-only transaction may write, needs CREATE first.
    assert refused(reader, "CREATE TEMP TABLE scratch (x int)") == READ_ONLY_TRANSACTION


@pytest.mark.parametrize("verb", ["INSERT", "UPDATE", "DELETE"])
def test_writing_to_any_reporting_view_is_refused(reader_unguarded, catalog, verb):
    for name, auto_updatable, column in catalog["views"]:
        view, col = sql.Identifier("reporting", name), sql.Identifier(column)
        statement = {
            "INSERT": sql.SQL("INSERT INTO {} DEFAULT VALUES").format(view),
            "UPDATE": sql.SQL("UPDATE {} SET {} = {}").format(view, col, col),
            "DELETE": sql.SQL("DELETE FROM {}").format(view),
        }[verb]
        code = refused(reader_unguarded, statement)
        # A view on one table could be written through: there, only the missing privilege stops it.
        assert code == (INSUFFICIENT_PRIVILEGE if auto_updatable else NOT_UPDATABLE_VIEW), (name, verb)


@pytest.mark.parametrize("verb", ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"])
def test_every_base_table_is_out_of_reach(reader_unguarded, catalog, verb):
    for name, column in catalog["tables"]:
        table, col = sql.Identifier("public", name), sql.Identifier(column)
        statement = {
            "SELECT": sql.SQL("SELECT * FROM {} LIMIT 1").format(table),
            "INSERT": sql.SQL("INSERT INTO {} DEFAULT VALUES").format(table),
            "UPDATE": sql.SQL("UPDATE {} SET {} = {}").format(table, col, col),
            "DELETE": sql.SQL("DELETE FROM {}").format(table),
            "TRUNCATE": sql.SQL("TRUNCATE {}").format(table),
        }[verb]
        assert refused(reader_unguarded, statement) == INSUFFICIENT_PRIVILEGE, (name, verb)


def test_raw_pages_cannot_be_read(reader_unguarded):
    assert refused(reader_unguarded, "SELECT * FROM public.raw_pages") == INSUFFICIENT_PRIVILEGE
    assert refused(reader_unguarded, "SELECT email FROM public.subscriptions") == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE public.mine (x int)",
        "CREATE TABLE reporting.mine (x int)",
        "CREATE VIEW reporting.mine AS SELECT 1 AS x",
        "CREATE TEMP TABLE mine (x int)",
        "CREATE TABLE pg_temp.mine (x int)",
        "CREATE FUNCTION pg_temp.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE FUNCTION public.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE SCHEMA mine",
    ],
)
def test_creating_anything_is_refused(reader_unguarded, statement):
    assert refused(reader_unguarded, statement) == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize(
    "statement",
    [
        "COPY (SELECT 1) TO PROGRAM 'true'",
        "COPY (SELECT 1) TO '/tmp/pressmon-reader-was-here'",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT pg_ls_dir('.')",
        "SELECT lo_import('/etc/passwd')",
    ],
)
def test_server_files_and_programs_are_refused(reader_unguarded, statement):
    assert refused(reader_unguarded, statement) == INSUFFICIENT_PRIVILEGE


def test_a_long_query_is_cancelled_by_the_reader_roles_statement_timeout(pg_server):
    """The timeout is the role's, set per database: shortened here so the test need not wait a minute."""
    with migrated_database(pg_server) as url:
        name = urlsplit(url).path.lstrip("/")
        admin(url, f"ALTER ROLE {READER} IN DATABASE \"{name}\" SET statement_timeout = '1s'")
        conn = psycopg2.connect(as_role(url, READER))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                started = time.monotonic()
                with pytest.raises(psycopg2.errors.QueryCanceled, match="statement timeout"):
                    cur.execute("SELECT pg_sleep(30)")
                assert time.monotonic() - started < 10
        finally:
            conn.close()


def test_migrations_apply_as_a_non_superuser_that_owns_the_database(pg_server):
    """What a managed Postgres gives: an owner with CREATEROLE, no superuser. Superuser-only steps are skipped."""
    owner = f"pressmon_owner_{uuid.uuid4().hex[:8]}"
    name = f"pressmon_sec_{uuid.uuid4().hex[:10]}"
    admin(pg_server, f'CREATE ROLE "{owner}" LOGIN CREATEROLE NOSUPERUSER')
    try:
        # The reader exists already on this server. Had the owner created it (sql/0003 does when it is missing),
        # it would hold ADMIN OPTION on it, which PostgreSQL 16 and later require to comment on it or alter it.
        admin(pg_server, f'GRANT {READER} TO "{owner}" WITH ADMIN OPTION')
        admin(pg_server, f'CREATE DATABASE "{name}" OWNER "{owner}"')
        conn = connect(as_role(with_database(pg_server, name), owner))
        try:
            migrate(conn)
            with conn, conn.cursor() as cur:
                cur.execute(
                    """SELECT has_database_privilege(%s, current_database(), 'TEMPORARY'),
                              has_database_privilege(%s, current_database(), 'CONNECT'),
                              has_database_privilege(current_user, current_database(), 'TEMPORARY')""",
                    (READER, READER),
                )
                assert cur.fetchone() == (False, True, True)
                cur.execute(
                    """SELECT unnest(setconfig) FROM pg_db_role_setting
                        WHERE setrole = %s::regrole
                          AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())""",
                    (READER,),
                )
                settings = {row[0] for row in cur.fetchall()}
        finally:
            conn.close()
        # temp_file_limit is a superuser's to set: skipped, and the rest applied.
        assert settings == {
            "statement_timeout=60s",
            "idle_in_transaction_session_timeout=5min",
            "default_transaction_read_only=on",
        }
    finally:
        admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin(pg_server, f'DROP ROLE IF EXISTS "{owner}"')


# -- pressmon's own embedded Postgres: the reader reaches the pressmon database and no other -------------


@pytest.fixture(scope="module")
def embedded_server() -> Iterator[tuple[Path, str]]:
    """pressmon's embedded Postgres under a var folder of its own, started and migrated: (var folder, URL)."""
    with embedded_pressmon() as started:
        yield started


def test_the_embedded_reader_reads_the_pressmon_database(embedded_server):
    _, url = embedded_server
    conn = psycopg2.connect(as_role(url, READER))
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT current_database(), count(*) FROM reporting.releases")
            assert cur.fetchone() == (embedded.DATABASE, 0)
    finally:
        conn.close()


@pytest.mark.parametrize("database", ["postgres", "template1"])
def test_the_embedded_reader_cannot_connect_to_another_database(embedded_server, database):
    _, url = embedded_server
    with pytest.raises(psycopg2.OperationalError, match=r"pg_hba\.conf rejects connection"):
        psycopg2.connect(as_role(url, READER, database=database)).close()
    # The rule is about the reader, not the database: the server's own superuser still gets in.
    psycopg2.connect(as_role(url, "postgres", database=database)).close()


def test_starting_the_embedded_postgres_again_keeps_one_copy_of_the_rules(embedded_server):
    var_dir, url = embedded_server
    assert embedded.ensure_running(var_dir) == url
    hba = (embedded.data_dir(var_dir) / "pg_hba.conf").read_text()
    assert hba.count(embedded.HBA_BEGIN) == 1
    first_rule = next(line for line in hba.splitlines() if line.strip() and not line.startswith("#"))
    assert first_rule.split()[:3] == ["local", embedded.DATABASE, READER]
