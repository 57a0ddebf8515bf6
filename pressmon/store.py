"""The store: the only module that talks to Postgres. Every query is here, by name, with bound parameters."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras
import psycopg2.sql

from pressmon.config import Config
from pressmon.errors import DatabaseError, DatabaseUnavailable, MigrationError, SchemaError
from pressmon.redaction import redact, scrub

log = logging.getLogger(__name__)

# A link to the top-level sql/ in a checkout, a folder of the package in a wheel.
SQL_DIR = Path(__file__).resolve().parent / "sql"
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any constant works; it only has to be the same for every pressmon process.
MIGRATION_LOCK = 0x70726573
CLUSTERING_LOCK = 0x636C7573
ALERT_LOCK = 0x616C6572
REPORT_LOCK = 0x7765656B
HEALTH_LOCK = 0x6865616C
# The first key of a processing claim's lock (the second is the claim): apart from the one-key locks above.
CLAIM_LOCK_CLASS = 0x636C6169


def database_url(config: Config, *, create: bool = False) -> str:
    """Return the configured database URL, or the embedded Postgres's (started, and said so, if it is stopped).

    The embedded server is created only when `create` (`pressmon db migrate` and the demo): any other command
    run where none exists stops with a line saying so, instead of leaving a second, empty server behind.
    """
    if config.database_url:
        return config.database_url
    from pressmon import embedded

    return embedded.ensure_running(config.var_dir, create=create)


def connect(url: str, connect_timeout: int = Config.connect_timeout) -> Connection:
    """Open a connection that gives up after connect_timeout seconds; driver errors become DatabaseErrors."""
    server = server_label(url)
    try:
        conn = psycopg2.connect(
            url, application_name="pressmon", connect_timeout=connect_timeout, connection_factory=Connection
        )
        conn.set_client_encoding("UTF8")
    except psycopg2.Error as exc:
        # libpq quotes a malformed URL whole, password and all: the message is scrubbed and not chained.
        raise database_error(exc, server, url, connecting=True) from None
    conn.server = server
    return conn


class Connection(psycopg2.extensions.connection):
    """A connection whose `with conn:` blocks (every transaction pressmon runs) raise DatabaseError.

    Code inside a block may still catch a driver error itself (a savepoint around one page, say); only what
    escapes the block, or ending it (commit, rollback), is translated.
    """

    server = "Postgres"

    def __enter__(self) -> Connection:
        try:
            return super().__enter__()
        except psycopg2.Error as exc:
            raise database_error(exc, self.server) from exc

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        try:
            super().__exit__(exc_type, exc, tb)
        except psycopg2.Error as ending:
            if exc is None:
                raise database_error(ending, self.server) from ending
            if not isinstance(exc, psycopg2.Error):
                return False  # the error that made the block fail is the news, not the failed rollback
        if isinstance(exc, psycopg2.Error):
            raise database_error(exc, self.server) from exc
        return False


def database_error(
    exc: psycopg2.Error, server: str, url: str | None = None, *, connecting: bool = False
) -> DatabaseError:
    """Turn a driver error into pressmon's own, with one line that names the server and never a password."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    message = scrub(lines[0] if lines else type(exc).__name__, url)
    if connecting and isinstance(exc, psycopg2.ProgrammingError):
        error: DatabaseError = DatabaseError(f"not a valid Postgres URL ({server}): {message}")
    elif connecting:
        error = DatabaseUnavailable(f"cannot connect to Postgres at {server}: {message}")
    elif _connection_lost(exc):
        error = DatabaseUnavailable(f"lost the connection to Postgres at {server}: {message}")
    else:
        error = DatabaseError(f"Postgres at {server}: {message} (SQLSTATE {exc.pgcode or 'none'})")
    error.pgcode = exc.pgcode
    return error


def _connection_lost(exc: psycopg2.Error) -> bool:
    if isinstance(exc, psycopg2.InterfaceError):
        return True
    if not isinstance(exc, psycopg2.OperationalError):
        return False
    # No SQLSTATE: libpq lost the socket. 08: connection exception; 53: out of resources; 57P0x: shutdown.
    return exc.pgcode is None or exc.pgcode[:2] in {"08", "53"} or exc.pgcode in {"57P01", "57P02", "57P03"}


def server_label(url: str) -> str:
    """Name a URL's server and database for messages (host:port/dbname), never its password."""
    try:
        params = psycopg2.extensions.parse_dsn(url)
    except psycopg2.Error:
        return redact(url)
    host = params.get("host") or params.get("hostaddr") or "local socket"
    return f"{host}:{params.get('port') or 5432}/{params.get('dbname') or params.get('user') or ''}"


def as_role(url: str, role: str, database: str | None = None) -> str:
    """Return the same server (and database, unless another is named) as another role, without a password."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    path = f"/{database}" if database else parts.path
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query) if k not in {"password", "passfile"}], safe="/:"
    )
    return urlunsplit((parts.scheme, f"{role}@{host}", path, query, ""))


# ---------------------------------------------------------------------------------------------------------
# Migrations


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Read the numbered migration files in order."""
    migrations = []
    for path in sorted(sql_dir.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_what.sql")
        migrations.append(Migration(int(match.group(1)), path.stem, path.read_text(encoding="utf-8")))
    if not migrations:
        raise MigrationError(f"no migrations found in {sql_dir}: the installation is incomplete")
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number in {sql_dir}")
    return migrations


def migrate(conn: psycopg2.extensions.connection, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; return their names.

    Raises:
        MigrationError: a file is malformed or was edited after it was applied, or one failed (it is named).
        DatabaseUnavailable: the connection was lost.
    """
    migrations = load_migrations(sql_dir)
    applied_now = []
    role = conn.info.user
    with _naming_the_failure(conn, f"migrations cannot start (as role {role})"), conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        cur.execute(
            """CREATE TABLE IF NOT EXISTS pressmon_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
        )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version, name, checksum FROM pressmon_migrations")
            applied = {version: (name, checksum) for version, name, checksum in cur.fetchall()}
        conn.commit()
        for migration in migrations:
            if migration.version in applied:
                name, checksum = applied[migration.version]
                if checksum != migration.checksum:
                    raise MigrationError(
                        f"{migration.name} was edited after it was applied (as {name}); "
                        "add a new migration instead"
                    )
                continue
            with _naming_the_failure(conn, f"migration {migration.name} failed"), conn, conn.cursor() as cur:
                cur.execute(migration.sql)
                cur.execute(
                    "INSERT INTO pressmon_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            applied_now.append(migration.name)
            log.info("applied migration %s", migration.name)
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied_now


@contextmanager
def _naming_the_failure(conn: psycopg2.extensions.connection, what: str) -> Iterator[None]:
    """Turn a database error of the block into a MigrationError (or DatabaseUnavailable) that says `what`."""
    try:
        yield
    except (DatabaseError, psycopg2.Error) as exc:
        error = (
            exc
            if isinstance(exc, DatabaseError)
            else database_error(exc, getattr(conn, "server", "Postgres"))
        )
        kind = DatabaseUnavailable if isinstance(error, DatabaseUnavailable) else MigrationError
        named = kind(f"{what}: {error}")
        named.pgcode = error.pgcode
        raise named from exc


_SCHEMA_STATE = """
SELECT current_user AS role,
       EXISTS (SELECT 1 FROM pg_class WHERE relname = 'pressmon_migrations' AND relkind = 'r') AS present,
       COALESCE(has_table_privilege(to_regclass('pressmon_migrations'), 'SELECT'), false) AS readable"""


def check_schema(conn: psycopg2.extensions.connection, sql_dir: Path = SQL_DIR) -> None:
    """Make sure the database is at this pressmon's migration, without changing it.

    Raises:
        SchemaError: migrations are missing (run `pressmon db migrate`), the database is newer than this
            pressmon, or the role cannot read pressmon's tables (the analysts' role, say).
    """
    known = {m.version for m in load_migrations(sql_dir)}
    server = getattr(conn, "server", "Postgres")
    with conn, conn.cursor() as cur:
        cur.execute(_SCHEMA_STATE)
        role, present, readable = cur.fetchone()
        applied: set[int] = set()
        if readable:
            cur.execute("SELECT version FROM pressmon_migrations")
            applied = {version for (version,) in cur.fetchall()}
    if present and not readable:
        analysts = " (pressmon_reader is the analysts' read-only role)" if role == "pressmon_reader" else ""
        raise SchemaError(
            f"role {role} cannot read pressmon's tables at {server}: PRESSMON_DATABASE_URL must connect as "
            f"the role that owns them{analysts}"
        )
    if not applied:
        raise SchemaError(f"the database at {server} holds no pressmon tables: run `pressmon db migrate`")
    at, needed = max(applied), max(known)
    if applied - known:
        raise SchemaError(
            f"the database is at migration {at:04d}, newer than this pressmon (up to {needed:04d}): "
            "upgrade pressmon"
        )
    if known - applied:
        missing = min(known - applied)
        state = f"is at migration {at:04d}" if at < missing else f"lacks migration {missing:04d}"
        raise SchemaError(
            f"the database {state}, this pressmon needs {needed:04d}: run `pressmon db migrate`"
        )


# ---------------------------------------------------------------------------------------------------------
# The store


class Store:
    """Named queries over one connection. Use `with store.transaction():` around writes."""

    def __init__(self, conn: psycopg2.extensions.connection):
        self.conn = conn

    @classmethod
    def open(cls, config: Config, *, migrating: bool = False) -> Store:
        """Connect to the configured database (starting the embedded one if needed), at this pressmon's schema.

        Args:
            migrating: for `pressmon db migrate` and the demo only: create the embedded server if there is none,
                and skip the schema check (the caller is about to migrate).

        Raises:
            SchemaError: the database is not at this pressmon's migration (see `check_schema`).
        """
        conn = connect(database_url(config, create=migrating), config.connect_timeout)
        if not migrating:
            try:
                check_schema(conn)
            except BaseException:
                conn.close()
                raise
        return cls(conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        with self.conn, self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            yield cur

    def _all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        with self.transaction() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def _scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self._one(sql, params)
        return next(iter(row.values())) if row else None

    # -- sources --------------------------------------------------------------------------------------

    def upsert_source(
        self,
        code: str,
        name: str,
        base_url: str,
        authority: int,
        *,
        family: str | None = None,
        verified: bool = False,
        update_days: int | None = None,
        structure_from: str | None = None,
        fixtures: str | None = None,
    ) -> None:
        """Record a source's declaration; `enabled` is the operator's and stays as it is."""
        row = (code, name, base_url, authority, family, verified, update_days, structure_from, fixtures)
        with self.transaction() as cur:
            cur.execute(
                """INSERT INTO sources (code, name, base_url, authority, family, verified, update_days,
                                        structure_from, fixtures)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (code) DO UPDATE
                      SET name = EXCLUDED.name, base_url = EXCLUDED.base_url,
                          authority = EXCLUDED.authority, family = EXCLUDED.family,
                          verified = EXCLUDED.verified, update_days = EXCLUDED.update_days,
                          structure_from = EXCLUDED.structure_from, fixtures = EXCLUDED.fixtures,
                          updated_at = now()
                    WHERE (sources.name, sources.base_url, sources.authority, sources.family, sources.verified,
                           sources.update_days, sources.structure_from, sources.fixtures)
                          IS DISTINCT FROM
                          (EXCLUDED.name, EXCLUDED.base_url, EXCLUDED.authority, EXCLUDED.family,
                           EXCLUDED.verified, EXCLUDED.update_days, EXCLUDED.structure_from, EXCLUDED.fixtures)""",
                row,
            )

    def sources(self) -> list[dict[str, Any]]:
        return self._all(
            """SELECT code, name, base_url, authority, enabled, family, verified, update_days, structure_from,
                      fixtures
                 FROM sources ORDER BY code"""
        )

    def last_crawls(self) -> dict[str, dict[str, Any]]:
        """Return each source's latest crawl (status, when, pages, errors) by source code."""
        rows = self._all(
            """SELECT DISTINCT ON (source) source, run_id, status, started_at, finished_at, list_pages,
                      detail_pages, jsonb_array_length(errors) AS errors
                 FROM crawl_run_sources ORDER BY source, started_at DESC, run_id DESC"""
        )
        return {row["source"]: row for row in rows}

    def set_source_enabled(self, code: str, enabled: bool) -> bool:
        with self.transaction() as cur:
            cur.execute(
                "UPDATE sources SET enabled = %s, updated_at = now() WHERE code = %s", (enabled, code)
            )
            return cur.rowcount == 1

    # -- crawl runs -------------------------------------------------------------------------------------

    def start_run(self, run_key: str) -> int:
        """Return the id of the run with this key, creating it the first time."""
        with self.transaction() as cur:
            cur.execute(
                """INSERT INTO crawl_runs (run_key) VALUES (%s)
                   ON CONFLICT (run_key) DO UPDATE SET status = 'running', finished_at = NULL
                   RETURNING id""",
                (run_key,),
            )
            return cur.fetchone()["id"]

    def start_run_source(self, run_id: int, source: str) -> None:
        with self.transaction() as cur:
            cur.execute(
                """INSERT INTO crawl_run_sources (run_id, source) VALUES (%s, %s)
                   ON CONFLICT (run_id, source) DO UPDATE
                      SET status = 'running', started_at = now(), finished_at = NULL""",
                (run_id, source),
            )

    def finish_run_source(
        self,
        run_id: int,
        source: str,
        *,
        status: str,
        list_pages: int,
        detail_pages: int,
        errors: list[dict[str, Any]],
        stats: dict[str, Any],
    ) -> None:
        with self.transaction() as cur:
            cur.execute(
                """UPDATE crawl_run_sources
                      SET status = %s, finished_at = now(), list_pages = %s, detail_pages = %s,
                          errors = %s, stats = %s
                    WHERE run_id = %s AND source = %s""",
                (
                    status,
                    list_pages,
                    detail_pages,
                    json.dumps(errors, ensure_ascii=False),
                    json.dumps(stats, ensure_ascii=False, default=str),
                    run_id,
                    source,
                ),
            )

    def fail_run_source(self, run_id: int, source: str, reason: str) -> None:
        """Mark a source's crawl failed when its process died before recording its own outcome."""
        with self.transaction() as cur:
            cur.execute(
                """UPDATE crawl_run_sources
                      SET status = 'failed', finished_at = now(),
                          errors = errors || jsonb_build_array(jsonb_build_object('url', NULL, 'reason', %s))
                    WHERE run_id = %s AND source = %s AND status = 'running'""",
                (reason, run_id, source),
            )

    def run(self, run_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM crawl_runs WHERE id = %s", (run_id,))

    def latest_run(self) -> dict[str, Any] | None:
        return self._one("SELECT * FROM crawl_runs ORDER BY started_at DESC, id DESC LIMIT 1")

    def run_by_key(self, run_key: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM crawl_runs WHERE run_key = %s", (run_key,))

    def run_sources(self, run_id: int) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM crawl_run_sources WHERE run_id = %s ORDER BY source", (run_id,))

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.transaction() as cur:
            cur.execute(
                "UPDATE crawl_runs SET status = %s, finished_at = now(), summary = %s WHERE id = %s",
                (status, json.dumps(summary, ensure_ascii=False, default=str), run_id),
            )

    # -- raw pages --------------------------------------------------------------------------------------

    def held_detail_urls(self, source: str) -> list[tuple[str, str]]:
        """Return (canonical URL as linked, URL) of detail pages stored with a usable copy, or given up."""
        rows = self._all(
            "SELECT canonical_url, url FROM owed_pages WHERE source = %s AND state <> 'owed'", (source,)
        )
        return [(row["canonical_url"], row["url"]) for row in rows]

    def owed_detail_urls(self, source: str) -> list[tuple[str, str]]:
        """Return (canonical URL, URL) of detail pages the source still owes, oldest first."""
        rows = self._all(
            """SELECT canonical_url, url FROM owed_pages WHERE source = %s AND state = 'owed'
                ORDER BY first_seen_at, canonical_url""",
            (source,),
        )
        return [(row["canonical_url"], row["url"]) for row in rows]

    def owe(self, source: str, pages: Sequence[tuple[str, str]]) -> None:
        """Record (canonical URL, URL) pairs a list page linked as owed, unless already known."""
        if not pages:
            return
        with self.transaction() as cur:
            psycopg2.extras.execute_values(
                cur,
                """INSERT INTO owed_pages (source, canonical_url, url) VALUES %s
                   ON CONFLICT (source, canonical_url) DO NOTHING""",
                [(source, key, url) for key, url in pages],
            )

    def add_detail_page(
        self,
        *,
        owed_key: str,
        problem: tuple[str, str] | None,
        retry_limit: int,
        **page: Any,
    ) -> tuple[int, bool]:
        """Store a fetched detail page and settle its debt in one transaction.

        A usable page (problem None) is pending for processing and pays the debt; any other is stored as
        failed with its reason and counts as one more failed attempt. Return the raw page id and whether the
        page was given up just now.
        """
        state, error = ("pending", None) if problem is None else ("failed", f"{problem[0]}: {problem[1]}")
        with self.transaction() as cur:
            raw_page_id = self._insert_raw_page(
                cur, kind="detail", process_state=state, process_error=error, **page
            )
            gave_up = self._settle(cur, page["source"], owed_key, page["url"], problem, retry_limit)
        return raw_page_id, gave_up

    def detail_failed(
        self, source: str, key: str, url: str, code: str, reason: str, retry_limit: int
    ) -> bool:
        """Count a failed fetch of an owed page; return whether it was given up just now."""
        with self.transaction() as cur:
            return self._settle(cur, source, key, url, (code, reason), retry_limit)

    def _settle(
        self, cur: Any, source: str, key: str, url: str, problem: tuple[str, str] | None, retry_limit: int
    ) -> bool:
        code, reason = problem if problem is not None else (None, None)
        cur.execute(
            """INSERT INTO owed_pages AS o (source, canonical_url, url, state, attempts, last_code, last_error)
               VALUES (%(source)s, %(key)s, %(url)s,
                       CASE WHEN %(ok)s THEN 'stored' WHEN 1 >= %(limit)s THEN 'given_up' ELSE 'owed' END,
                       CASE WHEN %(ok)s THEN 0 ELSE 1 END, %(code)s, %(reason)s)
               ON CONFLICT (source, canonical_url) DO UPDATE
                  SET state = CASE WHEN %(ok)s OR o.state = 'stored' THEN 'stored'
                                   WHEN o.attempts + 1 >= %(limit)s THEN 'given_up'
                                   ELSE 'owed' END,
                      attempts = o.attempts + CASE WHEN %(ok)s THEN 0 ELSE 1 END,
                      last_code = CASE WHEN %(ok)s THEN o.last_code ELSE %(code)s END,
                      last_error = CASE WHEN %(ok)s THEN o.last_error ELSE %(reason)s END,
                      updated_at = now()
               RETURNING state, attempts""",
            {
                "source": source,
                "key": key,
                "url": url,
                "ok": problem is None,
                "limit": retry_limit,
                "code": code,
                "reason": reason,
            },
        )
        row = cur.fetchone()
        return problem is not None and row["state"] == "given_up" and row["attempts"] == retry_limit

    def owed_counts(self, source: str) -> dict[str, int]:
        """Return how many detail pages the source owes and has given up."""
        row = self._one(
            """SELECT count(*) FILTER (WHERE state = 'owed') AS owed,
                      count(*) FILTER (WHERE state = 'given_up') AS given_up
                 FROM owed_pages WHERE source = %s""",
            (source,),
        )
        return {"owed": row["owed"], "given_up": row["given_up"]}

    def retry_given_up(self, source: str) -> int:
        """Owe a source's given-up pages again (after the cause was fixed); return how many."""
        with self.transaction() as cur:
            cur.execute(
                """UPDATE owed_pages SET state = 'owed', attempts = 0, updated_at = now()
                    WHERE source = %s AND state = 'given_up'""",
                (source,),
            )
            return cur.rowcount

    def owed_pages(self, states: Sequence[str] = ("owed", "given_up")) -> list[dict[str, Any]]:
        return self._all(
            """SELECT source, canonical_url, url, state, attempts, last_code, last_error, updated_at
                 FROM owed_pages WHERE state = ANY (%s) ORDER BY source, first_seen_at, canonical_url""",
            (list(states),),
        )

    def archive_walked(self, source: str) -> bool:
        return bool(
            self._scalar("SELECT archive_walked_at IS NOT NULL FROM sources WHERE code = %s", (source,))
        )

    def mark_archive_walked(self, source: str) -> None:
        with self.transaction() as cur:
            cur.execute("UPDATE sources SET archive_walked_at = now() WHERE code = %s", (source,))

    def add_raw_page(self, **page: Any) -> int:
        """Store a fetched page as it came; return its id (list pages, and tests that start after the crawl)."""
        with self.transaction() as cur:
            return self._insert_raw_page(cur, **page)

    def _insert_raw_page(
        self,
        cur: Any,
        *,
        source: str,
        run_id: int | None,
        kind: str,
        url: str,
        final_url: str,
        canonical_url: str,
        status: int,
        headers: dict[str, list[str]],
        body: bytes,
        process_state: str,
        process_error: str | None = None,
    ) -> int:
        cur.execute(
            """INSERT INTO raw_pages (source, run_id, kind, url, final_url, canonical_url, status,
                                      headers, body, process_state, process_error, processed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                       CASE WHEN %s = 'pending' THEN NULL ELSE now() END)
               RETURNING id""",
            (
                source,
                run_id,
                kind,
                url,
                final_url,
                canonical_url,
                status,
                json.dumps(headers, ensure_ascii=False),
                psycopg2.Binary(body),
                process_state,
                process_error,
                process_state,
            ),
        )
        return cur.fetchone()["id"]

    def raw_page(self, raw_page_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM raw_pages WHERE id = %s", (raw_page_id,))

    def pending_count(self) -> int:
        return self._scalar("SELECT count(*) FROM raw_pages WHERE process_state = 'pending'")

    def claim_pages(self, limit: int, held: Sequence[int] = ()) -> tuple[int, list[dict[str, Any]]] | None:
        """Claim a batch of pending pages for this session and commit; None when no page is free.

        The claim is held as a session advisory lock until `release_claim`; other workers skip the pages
        meanwhile. Pages whose claim nobody holds any more (a worker that died) are free again. `held` are
        this session's own claims still under way: a session holds its own locks, so it must not take
        those pages a second time.
        """
        with self.transaction() as cur:
            cur.execute("SELECT nextval('raw_page_claims') AS claim")
            claim = cur.fetchone()["claim"]
            cur.execute("SELECT pg_advisory_lock(%s, %s)", (CLAIM_LOCK_CLASS, claim))
            cur.execute(
                """UPDATE raw_pages SET claim = %(claim)s
                    WHERE id IN (SELECT id FROM raw_pages
                                  WHERE process_state = 'pending'
                                    AND (claim IS NULL
                                         OR (claim <> ALL(%(held)s::integer[])
                                             AND pg_try_advisory_xact_lock(%(class)s, claim)))
                                  ORDER BY id
                                  LIMIT %(limit)s
                                  FOR UPDATE SKIP LOCKED)
                RETURNING id, source, url, final_url, canonical_url, headers, body, fetched_at""",
                {"claim": claim, "held": list(held), "class": CLAIM_LOCK_CLASS, "limit": limit},
            )
            rows = sorted(cur.fetchall(), key=lambda row: row["id"])
        if not rows:
            self.release_claim(claim)
            return None
        return claim, rows

    def release_claim(self, claim: int) -> None:
        """Free the pages of a claim that were not stored (they stay pending), and drop its lock."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE raw_pages SET claim = NULL WHERE claim = %s AND process_state = 'pending'", (claim,)
            )
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", (CLAIM_LOCK_CLASS, claim))

    def mark_processed(
        self,
        cur: psycopg2.extensions.cursor,
        raw_page_id: int,
        state: str,
        error: str | None = None,
        decoded_lossily: bool | None = None,
    ) -> None:
        cur.execute(
            """UPDATE raw_pages SET process_state = %s, process_error = %s, processed_at = now(),
                                    decoded_lossily = %s, claim = NULL
                WHERE id = %s""",
            (state, error, decoded_lossily, raw_page_id),
        )

    def mark_done(self, cur: psycopg2.extensions.cursor, pages: Sequence[tuple[int, bool]]) -> None:
        """Mark stored pages done, given as (raw page id, decoded lossily), in one statement."""
        if pages:
            psycopg2.extras.execute_values(
                cur,
                """UPDATE raw_pages r
                      SET process_state = 'done', process_error = NULL, processed_at = now(),
                          decoded_lossily = v.lossy, claim = NULL
                     FROM (VALUES %s) AS v(id, lossy)
                    WHERE r.id = v.id""",
                pages,
                page_size=len(pages),
            )

    def requeue_all(self) -> int:
        """Mark every successfully fetched detail page pending again (after a parser fix)."""
        with self.transaction() as cur:
            cur.execute(
                """UPDATE raw_pages SET process_state = 'pending', process_error = NULL, processed_at = NULL,
                                        decoded_lossily = NULL, claim = NULL
                    WHERE kind = 'detail' AND status = 200"""
            )
            return cur.rowcount

    # -- releases and clusters --------------------------------------------------------------------------

    def lock_clustering(self, cur: psycopg2.extensions.cursor) -> None:
        """Serialise cluster assignment across workers for the rest of the transaction."""
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (CLUSTERING_LOCK,))

    def release_by_url(self, cur: psycopg2.extensions.cursor, canonical_url: str) -> dict[str, Any] | None:
        cur.execute(
            "SELECT id, cluster_id, content_hash, version FROM releases WHERE canonical_url = %s",
            (canonical_url,),
        )
        return cur.fetchone()

    def cluster_of_hash(self, cur: psycopg2.extensions.cursor, content_hash: bytes) -> int | None:
        cur.execute(
            "SELECT cluster_id FROM releases WHERE content_hash = %s ORDER BY id LIMIT 1",
            (psycopg2.Binary(content_hash),),
        )
        row = cur.fetchone()
        return row["cluster_id"] if row else None

    def near_duplicate_candidates(
        self, cur: psycopg2.extensions.cursor, buckets: Sequence[int], exclude_release: int | None = None
    ) -> list[dict[str, Any]]:
        """Return releases sharing at least one LSH bucket, with their signatures."""
        cur.execute(
            """SELECT r.id, r.cluster_id, r.minhash, count(*) AS shared_bands
                 FROM release_lsh_bands b
                 JOIN releases r ON r.id = b.release_id
                WHERE (b.band, b.bucket) IN (SELECT * FROM unnest(%s::smallint[], %s::bigint[]))
                  AND r.id IS DISTINCT FROM %s
                GROUP BY r.id
                ORDER BY shared_bands DESC, r.id
                LIMIT 50""",
            (list(range(len(buckets))), list(buckets), exclude_release),
        )
        return list(cur.fetchall())

    def paragraph_candidates(
        self, cur: psycopg2.extensions.cursor, paragraphs: Sequence[tuple[int, int]], max_frequency: int = 50
    ) -> list[dict[str, Any]]:
        """Return releases sharing long paragraphs word for word, with how much they share and hold.

        A paragraph held by more than max_frequency releases is boilerplate and is ignored; the lookup is
        bounded per paragraph, so its cost does not grow with the archive.
        """
        if not paragraphs:
            return []
        cur.execute(
            """WITH mine AS (
                   SELECT * FROM unnest(%s::bigint[], %s::integer[]) AS m(hash, chars)
               ), hits AS (
                   SELECT m.hash, m.chars, h.release_id
                     FROM mine m
                    CROSS JOIN LATERAL (SELECT release_id FROM release_paragraphs p
                                         WHERE p.hash = m.hash LIMIT %s) h
               ), usable AS (
                   SELECT * FROM hits WHERE hash IN (SELECT hash FROM hits GROUP BY hash HAVING count(*) <= %s)
               )
               SELECT u.release_id AS id, r.cluster_id, count(*) AS shared, sum(u.chars) AS shared_chars,
                      (SELECT sum(q.chars) FROM release_paragraphs q WHERE q.release_id = u.release_id) AS chars
                 FROM usable u JOIN releases r ON r.id = u.release_id
                GROUP BY u.release_id, r.cluster_id
               HAVING count(*) >= 2
                ORDER BY shared_chars DESC, u.release_id
                LIMIT 20""",
            ([h for h, _ in paragraphs], [c for _, c in paragraphs], max_frequency + 1, max_frequency),
        )
        return list(cur.fetchall())

    def set_paragraphs(
        self, cur: psycopg2.extensions.cursor, release_id: int, paragraphs: Sequence[tuple[int, int]]
    ) -> None:
        cur.execute("DELETE FROM release_paragraphs WHERE release_id = %s", (release_id,))
        if paragraphs:
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO release_paragraphs (hash, release_id, chars) VALUES %s ON CONFLICT DO NOTHING",
                [(digest, release_id, chars) for digest, chars in paragraphs],
            )

    def new_cluster(self, cur: psycopg2.extensions.cursor) -> int:
        cur.execute("INSERT INTO clusters DEFAULT VALUES RETURNING id")
        return cur.fetchone()["id"]

    def insert_release(self, cur: psycopg2.extensions.cursor, release: dict[str, Any]) -> int:
        cur.execute(
            """INSERT INTO releases (source, canonical_url, url, title, published_at, publisher, body,
                                     speakers, attachments, content_hash, minhash, search_tokens,
                                     cluster_id, raw_page_id)
               VALUES (%(source)s, %(canonical_url)s, %(url)s, %(title)s, %(published_at)s, %(publisher)s,
                       %(body)s, %(speakers)s, %(attachments)s, %(content_hash)s, %(minhash)s,
                       to_tsvector('simple', %(search_text)s), %(cluster_id)s, %(raw_page_id)s)
               RETURNING id""",
            _release_params(release),
        )
        return cur.fetchone()["id"]

    def insert_new_release(
        self,
        cur: psycopg2.extensions.cursor,
        release: dict[str, Any],
        buckets: Sequence[int],
        paragraphs: Sequence[tuple[int, int]],
        tags: Sequence[tuple[int, float, dict[str, Any]]],
    ) -> int:
        """Insert a release seen for the first time with its band buckets, paragraph hashes and tags, in one
        round trip; return its id."""
        params = _release_params(release) | {
            "buckets": list(buckets),
            "paragraph_hashes": [digest for digest, _ in paragraphs],
            "paragraph_chars": [chars for _, chars in paragraphs],
            "fetched_at": release.get("fetched_at"),
            "chain_ids": [chain_id for chain_id, _, _ in tags],
            "scores": [score for _, score, _ in tags],
            "evidence": [json.dumps(evidence, ensure_ascii=False) for _, _, evidence in tags],
        }
        cur.execute(
            """WITH new AS (
                   INSERT INTO releases (source, canonical_url, url, title, published_at, publisher, body,
                                         speakers, attachments, content_hash, minhash, search_tokens,
                                         cluster_id, raw_page_id, first_fetched_at)
                   VALUES (%(source)s, %(canonical_url)s, %(url)s, %(title)s, %(published_at)s, %(publisher)s,
                           %(body)s, %(speakers)s, %(attachments)s, %(content_hash)s, %(minhash)s,
                           to_tsvector('simple', %(search_text)s), %(cluster_id)s, %(raw_page_id)s,
                           coalesce(%(fetched_at)s, now()))
                   RETURNING id
               ), bands AS (
                   INSERT INTO release_lsh_bands (band, bucket, release_id)
                   SELECT b.n - 1, b.bucket, new.id
                     FROM new, unnest(%(buckets)s::bigint[]) WITH ORDINALITY AS b(bucket, n)
                   ON CONFLICT DO NOTHING
               ), paragraphs AS (
                   INSERT INTO release_paragraphs (hash, release_id, chars)
                   SELECT p.hash, new.id, p.chars
                     FROM new, unnest(%(paragraph_hashes)s::bigint[], %(paragraph_chars)s::integer[]) AS p(hash, chars)
                   ON CONFLICT DO NOTHING
               ), tags AS (
                   INSERT INTO release_chains (release_id, chain_id, score, evidence)
                   SELECT new.id, t.chain_id, t.score, t.evidence::jsonb
                     FROM new, unnest(%(chain_ids)s::integer[], %(scores)s::float8[], %(evidence)s::text[])
                                 AS t(chain_id, score, evidence)
               )
               SELECT id FROM new""",
            params,
        )
        return cur.fetchone()["id"]

    def update_release_version(
        self, cur: psycopg2.extensions.cursor, release_id: int, release: dict[str, Any]
    ) -> int:
        """Keep the current text as a version, then store the new text; return the new version number."""
        cur.execute(
            """INSERT INTO release_versions (release_id, version, title, body, content_hash, raw_page_id, seen_at)
               SELECT id, version, title, body, content_hash, raw_page_id, last_seen_at
                 FROM releases WHERE id = %s
               ON CONFLICT DO NOTHING""",
            (release_id,),
        )
        params = _release_params(release) | {"id": release_id}
        cur.execute(
            """UPDATE releases
                  SET url = %(url)s, title = %(title)s, published_at = %(published_at)s,
                      publisher = %(publisher)s, body = %(body)s, speakers = %(speakers)s,
                      attachments = %(attachments)s, content_hash = %(content_hash)s, minhash = %(minhash)s,
                      search_tokens = to_tsvector('simple', %(search_text)s), raw_page_id = %(raw_page_id)s,
                      version = version + 1, last_seen_at = now(), updated_at = now()
                WHERE id = %(id)s
            RETURNING version""",
            params,
        )
        return cur.fetchone()["version"]

    def touch_release(self, cur: psycopg2.extensions.cursor, release_id: int, raw_page_id: int) -> None:
        cur.execute(
            "UPDATE releases SET last_seen_at = now(), raw_page_id = %s WHERE id = %s",
            (raw_page_id, release_id),
        )

    def set_bands(self, cur: psycopg2.extensions.cursor, release_id: int, buckets: Sequence[int]) -> None:
        cur.execute("DELETE FROM release_lsh_bands WHERE release_id = %s", (release_id,))
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO release_lsh_bands (band, bucket, release_id) VALUES %s ON CONFLICT DO NOTHING",
            [(band, bucket, release_id) for band, bucket in enumerate(buckets)],
        )

    def elect_canonical(self, cur: psycopg2.extensions.cursor, cluster_id: int) -> None:
        """Make the earliest-fetched copy from the most official source the cluster's canonical release.

        The order of the copies' fetches, not of their processing, decides: workers sharing a night's pages
        elect the copy one worker would."""
        cur.execute(
            """UPDATE clusters c
                  SET canonical_release_id = (
                        SELECT r.id FROM releases r JOIN sources s ON s.code = r.source
                         WHERE r.cluster_id = c.id
                         ORDER BY s.authority DESC, r.first_fetched_at, r.canonical_url
                         LIMIT 1)
                WHERE c.id = %s""",
            (cluster_id,),
        )

    # -- taxonomies and tags ----------------------------------------------------------------------------

    def sync_taxonomy(
        self,
        code: str,
        name: str,
        version: str,
        status: str,
        complete: bool,
        sha256: str,
        chains: Iterable[tuple[str, str]],
        current: bool,
    ) -> dict[str, int]:
        """Record a scheme and its chains; return chain ids by name."""
        with self.transaction() as cur:
            if current:
                cur.execute(
                    "UPDATE taxonomies SET is_current = false WHERE is_current AND code <> %s", (code,)
                )
            cur.execute(
                """INSERT INTO taxonomies (code, name, version, status, complete, is_current, sha256)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (code) DO UPDATE
                      SET name = EXCLUDED.name, version = EXCLUDED.version, status = EXCLUDED.status,
                          complete = EXCLUDED.complete, is_current = EXCLUDED.is_current OR taxonomies.is_current AND NOT %s,
                          sha256 = EXCLUDED.sha256,
                          loaded_at = CASE WHEN taxonomies.sha256 = EXCLUDED.sha256 THEN taxonomies.loaded_at
                                           ELSE now() END""",
                (code, name, version, status, complete, current, sha256, current),
            )
            psycopg2.extras.execute_values(
                cur,
                """INSERT INTO chains (taxonomy, name, group_name) VALUES %s
                   ON CONFLICT (taxonomy, name) DO UPDATE SET group_name = EXCLUDED.group_name""",
                [(code, chain, group) for chain, group in chains],
            )
            cur.execute("SELECT id, name FROM chains WHERE taxonomy = %s", (code,))
            return {row["name"]: row["id"] for row in cur.fetchall()}

    def replace_crosswalk(self, entries: Iterable[tuple[str, str, str, str, str]]) -> int:
        """Replace the crosswalk with (from_scheme, from_chain, to_scheme, to_chain, note) entries."""
        with self.transaction() as cur:
            cur.execute("DELETE FROM chain_crosswalk")
            psycopg2.extras.execute_values(
                cur,
                """INSERT INTO chain_crosswalk (from_chain_id, to_chain_id, note)
                   SELECT f.id, t.id, v.note
                     FROM (VALUES %s) AS v(from_scheme, from_chain, to_scheme, to_chain, note)
                     JOIN chains f ON f.taxonomy = v.from_scheme AND f.name = v.from_chain
                     JOIN chains t ON t.taxonomy = v.to_scheme AND t.name = v.to_chain
                   ON CONFLICT DO NOTHING""",
                list(entries),
            )
            return cur.rowcount

    def current_chain_names(self) -> list[str]:
        rows = self._all(
            """SELECT ch.name FROM chains ch JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
                ORDER BY ch.id"""
        )
        return [row["name"] for row in rows]

    def replace_tags(
        self,
        cur: psycopg2.extensions.cursor,
        release_id: int,
        taxonomy: str,
        tags: Sequence[tuple[int, float, dict[str, Any]]],
    ) -> None:
        """Replace the release's tags of one scheme; tags of other schemes stay."""
        cur.execute(
            """DELETE FROM release_chains rc USING chains ch
                WHERE rc.chain_id = ch.id AND ch.taxonomy = %s AND rc.release_id = %s""",
            (taxonomy, release_id),
        )
        if tags:
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO release_chains (release_id, chain_id, score, evidence) VALUES %s",
                [
                    (release_id, chain_id, score, json.dumps(evidence, ensure_ascii=False))
                    for chain_id, score, evidence in tags
                ],
            )

    def releases_for_retag(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        return self._all(
            "SELECT id, title, body FROM releases WHERE id > %s ORDER BY id LIMIT %s", (after_id, limit)
        )

    # -- subscriptions and deliveries -------------------------------------------------------------------

    def add_subscription(
        self, email: str, chains: list[str], sources: list[str], keywords: list[str], weekly: bool = False
    ) -> tuple[int, bool]:
        """Create the subscription unless an identical one exists; return (id, created).

        A new subscription starts after every cluster committed so far: it receives what is first seen from
        now on, never the archive. A weekly one receives the weekly report instead of nightly digests.
        """
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (ALERT_LOCK,))
            _number_new_clusters(cur)
            cur.execute(
                """INSERT INTO subscriptions (email, chains, sources, keywords, weekly, scanned_seq)
                   VALUES (%s, %s, %s, %s, %s, (SELECT coalesce(max(alert_seq), 0) FROM clusters))
                   ON CONFLICT (email, chains, sources, keywords, weekly) DO UPDATE SET active = true
                   RETURNING id, (xmax = 0) AS created""",
                (email, sorted(set(chains)), sorted(set(sources)), sorted(set(keywords)), weekly),
            )
            row = cur.fetchone()
            return row["id"], row["created"]

    def subscriptions(self) -> list[dict[str, Any]]:
        return self._all(
            """SELECT s.*,
                      (SELECT count(*) FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'sent')
                      + (SELECT count(*) FROM report_deliveries d WHERE d.subscription_id = s.id AND d.status = 'sent')
                        AS sent,
                      (SELECT count(*) FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending')
                      + (SELECT count(*) FROM report_deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending')
                        AS pending
                 FROM subscriptions s WHERE active ORDER BY id"""
        )

    def remove_subscriptions(self, *, subscription_id: int | None = None, email: str | None = None) -> int:
        with self.transaction() as cur:
            cur.execute(
                "UPDATE subscriptions SET active = false WHERE active AND (id = %s OR email = %s)",
                (subscription_id, email),
            )
            return cur.rowcount

    def alert_lock(self) -> AbstractContextManager[None]:
        """Hold the lock that lets one alert run at a time, for as long as the block runs."""
        return self._session_lock(ALERT_LOCK)

    def report_lock(self) -> AbstractContextManager[None]:
        """Hold the lock that lets one weekly mailing run at a time, for as long as the block runs."""
        return self._session_lock(REPORT_LOCK)

    def health_lock(self) -> AbstractContextManager[None]:
        """Hold the lock that lets one health judgement (and its notices) run at a time."""
        return self._session_lock(HEALTH_LOCK)

    @contextmanager
    def _session_lock(self, key: int) -> Iterator[None]:
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            if not self.conn.closed:
                with self.transaction() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def queue_deliveries(self) -> int:
        """Add a pending delivery for every new cluster that matches a subscription; return how many.

        Clusters are numbered here, in the order this run first sees them committed, and each subscription
        remembers the last number it was matched against. A process transaction still open now commits
        clusters that the next run numbers and queues: none falls behind the watermark unseen, and a copy that
        joins an old cluster, a re-crawl or a re-tag never queues the same cluster twice.
        """
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (ALERT_LOCK,))
            _number_new_clusters(cur)
            cur.execute(
                """WITH subs AS (
                       SELECT * FROM subscriptions WHERE active AND NOT weekly FOR UPDATE
                   ), horizon AS (
                       SELECT coalesce(max(alert_seq), 0) AS seq FROM clusters
                   ), matches AS (
                       SELECT s.id AS subscription_id, c.id AS cluster_id
                         FROM subs s
                         JOIN clusters c ON c.alert_seq > s.scanned_seq
                         JOIN releases r ON r.id = c.canonical_release_id
                        WHERE (cardinality(s.sources) = 0
                               OR EXISTS (SELECT 1 FROM releases cp
                                           WHERE cp.cluster_id = c.id AND cp.source = ANY (s.sources)))
                          AND ((cardinality(s.chains) = 0 AND cardinality(s.keywords) = 0)
                               OR EXISTS (SELECT 1 FROM release_chains rc
                                            JOIN chains ch ON ch.id = rc.chain_id
                                            JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
                                           WHERE rc.release_id = r.id AND ch.name = ANY (s.chains))
                               OR EXISTS (SELECT 1 FROM unnest(s.keywords) k
                                           WHERE strpos(r.title, k) > 0 OR strpos(r.body, k) > 0))
                   ), queued AS (
                       INSERT INTO deliveries (subscription_id, cluster_id)
                       SELECT subscription_id, cluster_id FROM matches
                       ON CONFLICT DO NOTHING
                       RETURNING 1
                   ), scanned AS (
                       UPDATE subscriptions SET scanned_seq = (SELECT seq FROM horizon)
                        WHERE id IN (SELECT id FROM subs) AND scanned_seq < (SELECT seq FROM horizon)
                   )
                   SELECT count(*) AS queued FROM queued"""
            )
            return cur.fetchone()["queued"]

    def reconcile_sending(self) -> int:
        """Count digests left `sending` by a run that died as sent; return how many deliveries.

        `sending` is committed just before the end of the SMTP data, so the server held the complete message
        when the process died. Sending it again would give the subscriber a second copy; the stable
        Message-ID and this note let an operator trace it if it never arrived.
        """
        return self._presume_sent("deliveries")

    def _presume_sent(self, ledger: str) -> int:
        """Mark a ledger's rows left `sending` as sent (digests and weekly reports follow one rule)."""
        with self.transaction() as cur:
            cur.execute(
                psycopg2.sql.SQL(
                    """UPDATE {}
                          SET status = 'sent', sent_at = sending_at, attempts = attempts + 1,
                              last_error = 'presumed delivered: the run died after handing over the whole message'
                        WHERE status = 'sending'"""
                ).format(psycopg2.sql.Identifier(ledger))
            )
            return cur.rowcount

    def pending_digests(self) -> list[dict[str, Any]]:
        """Return each subscription with pending deliveries and the releases to put in its digest."""
        rows = self._all(
            """SELECT s.id AS subscription_id, s.email, s.chains AS wanted_chains, s.sources AS wanted_sources,
                      s.keywords AS wanted_keywords,
                      d.cluster_id, d.attempts, r.title, r.canonical_url AS url, r.published_at, r.source,
                      so.name AS source_name, r.publisher, r.body,
                      ARRAY(SELECT ch.name FROM release_chains rc
                              JOIN chains ch ON ch.id = rc.chain_id
                              JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
                             WHERE rc.release_id = r.id ORDER BY rc.score DESC, ch.name) AS chains,
                      (SELECT coalesce(jsonb_agg(jsonb_build_object('chain', ch.name, 'evidence', rc.evidence)
                                                 ORDER BY rc.score DESC, ch.name), '[]')
                         FROM release_chains rc
                         JOIN chains ch ON ch.id = rc.chain_id
                         JOIN taxonomies t ON t.code = ch.taxonomy AND t.is_current
                        WHERE rc.release_id = r.id) AS evidence,
                      (SELECT count(*) - 1 FROM releases cp WHERE cp.cluster_id = d.cluster_id) AS duplicates,
                      (SELECT count(*) FROM releases cp WHERE cp.cluster_id = d.cluster_id AND cp.source <> r.source)
                          AS other_sites
                 FROM deliveries d
                 JOIN subscriptions s ON s.id = d.subscription_id AND s.active
                 JOIN clusters c ON c.id = d.cluster_id
                 JOIN releases r ON r.id = c.canonical_release_id
                 JOIN sources so ON so.code = r.source
                WHERE d.status = 'pending'
                ORDER BY s.id, r.published_at DESC NULLS LAST, d.cluster_id DESC"""
        )
        digests: dict[int, dict[str, Any]] = {}
        for row in rows:
            digest = digests.setdefault(
                row["subscription_id"],
                {
                    "subscription_id": row["subscription_id"],
                    "email": row["email"],
                    "chains": row["wanted_chains"],
                    "sources": row["wanted_sources"],
                    "keywords": row["wanted_keywords"],
                    "items": [],
                },
            )
            digest["items"].append(
                {
                    key: row[key]
                    for key in (
                        "cluster_id",
                        "title",
                        "url",
                        "published_at",
                        "source",
                        "source_name",
                        "publisher",
                        "body",
                        "chains",
                        "evidence",
                        "duplicates",
                        "other_sites",
                    )
                }
            )
        return list(digests.values())

    def pending_deliveries(self) -> int:
        return self._scalar("SELECT count(*) FROM deliveries WHERE status = 'pending'")

    def mark_sending(self, subscription_id: int, cluster_ids: Sequence[int], message_id: str) -> None:
        with self.transaction() as cur:
            cur.execute(
                """UPDATE deliveries SET status = 'sending', sending_at = now(), message_id = %s
                    WHERE subscription_id = %s AND cluster_id = ANY (%s) AND status = 'pending'""",
                (message_id, subscription_id, list(cluster_ids)),
            )

    def mark_sent(
        self, subscription_id: int, cluster_ids: Sequence[int], message_id: str, note: str | None = None
    ) -> None:
        with self.transaction() as cur:
            cur.execute(
                """UPDATE deliveries SET status = 'sent', sent_at = now(), message_id = %s,
                                         attempts = attempts + 1, last_error = %s
                    WHERE subscription_id = %s AND cluster_id = ANY (%s) AND status IN ('pending', 'sending')""",
                (message_id, note, subscription_id, list(cluster_ids)),
            )

    def mark_failed(
        self, subscription_id: int, cluster_ids: Sequence[int], error: str, *, permanent: bool = False
    ) -> None:
        """Record a digest the server did not take: pending for the next run, or failed for good."""
        with self.transaction() as cur:
            cur.execute(
                """UPDATE deliveries SET attempts = attempts + 1, last_error = %s,
                                         status = CASE WHEN %s THEN 'failed' ELSE 'pending' END
                    WHERE subscription_id = %s AND cluster_id = ANY (%s) AND status IN ('pending', 'sending')""",
                (error[:1000], permanent, subscription_id, list(cluster_ids)),
            )

    # -- weekly reports: the same ledger states and rules as digests -------------------------------------

    def queue_reports(self, week: date) -> int:
        """Add a pending report of an ISO week (its Monday) for every active weekly subscription."""
        with self.transaction() as cur:
            cur.execute(
                """INSERT INTO report_deliveries (subscription_id, week)
                   SELECT id, %s FROM subscriptions WHERE active AND weekly
                   ON CONFLICT DO NOTHING""",
                (week,),
            )
            return cur.rowcount

    def reconcile_report_sending(self) -> int:
        """Count reports left `sending` by a run that died as sent (see `reconcile_sending`)."""
        return self._presume_sent("report_deliveries")

    def pending_reports(self) -> list[dict[str, Any]]:
        """Return the pending weekly reports (subscription, address, week), oldest week first."""
        return self._all(
            """SELECT d.subscription_id, s.email, d.week, d.attempts
                 FROM report_deliveries d JOIN subscriptions s ON s.id = d.subscription_id AND s.active
                WHERE d.status = 'pending'
                ORDER BY d.week, d.subscription_id"""
        )

    def pending_report_count(self) -> int:
        return self._scalar("SELECT count(*) FROM report_deliveries WHERE status = 'pending'")

    def mark_report_sending(self, subscription_id: int, week: date, message_id: str) -> None:
        with self.transaction() as cur:
            cur.execute(
                """UPDATE report_deliveries SET status = 'sending', sending_at = now(), message_id = %s
                    WHERE subscription_id = %s AND week = %s AND status = 'pending'""",
                (message_id, subscription_id, week),
            )

    def mark_report_sent(
        self, subscription_id: int, week: date, message_id: str, note: str | None = None
    ) -> None:
        with self.transaction() as cur:
            cur.execute(
                """UPDATE report_deliveries SET status = 'sent', sent_at = now(), message_id = %s,
                                                attempts = attempts + 1, last_error = %s
                    WHERE subscription_id = %s AND week = %s AND status IN ('pending', 'sending')""",
                (message_id, note, subscription_id, week),
            )

    def mark_report_failed(
        self, subscription_id: int, week: date, error: str, *, permanent: bool = False
    ) -> None:
        with self.transaction() as cur:
            cur.execute(
                """UPDATE report_deliveries SET attempts = attempts + 1, last_error = %s,
                                                status = CASE WHEN %s THEN 'failed' ELSE 'pending' END
                    WHERE subscription_id = %s AND week = %s AND status IN ('pending', 'sending')""",
                (error[:1000], permanent, subscription_id, week),
            )

    # -- source health ----------------------------------------------------------------------------------

    def run_list_pages(self, run_id: int, source: str) -> list[dict[str, Any]]:
        """Return the list pages a run stored for a source that the site served (HTTP 200), with their bytes."""
        return self._all(
            """SELECT final_url, headers, body FROM raw_pages
                WHERE run_id = %s AND source = %s AND kind = 'list' AND status = 200 ORDER BY id""",
            (run_id, source),
        )

    def run_detail_outcomes(self, run_id: int, source: str) -> dict[str, Any]:
        """Return what processing made of a run's detail pages of a source.

        A page processing handled has `decoded_lossily` set (true or false); a page refused when fetched (an
        error status, a block page) has it NULL, and is the crawl's error, not a parse failure.
        """
        row = self._one(
            """SELECT count(*) AS detail_pages,
                      count(*) FILTER (WHERE decoded_lossily IS NOT NULL) AS parsed,
                      count(*) FILTER (WHERE process_state = 'pending') AS pending,
                      coalesce(jsonb_agg(jsonb_build_array(final_url, process_error) ORDER BY id)
                               FILTER (WHERE process_state = 'failed' AND decoded_lossily IS NOT NULL), '[]')
                          AS parse_failures,
                      coalesce(array_agg(final_url ORDER BY id) FILTER (WHERE decoded_lossily), '{}') AS lossy
                 FROM raw_pages WHERE run_id = %s AND source = %s AND kind = 'detail'""",
            (run_id, source),
        )
        assert row is not None
        row["parse_failures"] = [(url, reason) for url, reason in row["parse_failures"]]
        return row

    def release_history(self, run_id: int, source: str) -> dict[str, Any]:
        """Return a source's new releases from a run's pages, the last day (Beijing) a new release was stored,
        and its distinct release days (publication date, else the day first stored)."""
        row = self._one(
            """SELECT (SELECT count(*) FROM releases r
                        WHERE r.source = %(source)s AND r.first_seen_at >= run.started_at
                          AND EXISTS (SELECT 1 FROM raw_pages p
                                       WHERE p.run_id = run.id AND p.source = r.source AND p.kind = 'detail'
                                         AND p.canonical_url = r.canonical_url)) AS new_items,
                      (SELECT max((first_seen_at AT TIME ZONE 'Asia/Shanghai')::date) FROM releases
                        WHERE source = %(source)s) AS last_new_item,
                      ARRAY(SELECT DISTINCT coalesce(published_at, (first_seen_at AT TIME ZONE 'Asia/Shanghai')::date)
                              FROM releases WHERE source = %(source)s ORDER BY 1) AS release_days
                 FROM crawl_runs run WHERE run.id = %(run_id)s""",
            {"run_id": run_id, "source": source},
        )
        assert row is not None
        return row

    def previous_health(self, run_id: int, source: str) -> dict[str, Any] | None:
        """Return the source's judged state of the latest run before this one."""
        return self._one(
            """SELECT h.* FROM source_health h
                 JOIN crawl_runs r ON r.id = h.run_id
                 JOIN crawl_runs this ON this.id = %s
                WHERE h.source = %s AND (r.started_at, r.id) < (this.started_at, this.id)
                ORDER BY r.started_at DESC, r.id DESC
                LIMIT 1""",
            (run_id, source),
        )

    def record_health(self, health: dict[str, Any]) -> None:
        """Store (or, judging a run again, replace) a source's judged state for a run."""
        with self.transaction() as cur:
            cur.execute(
                """INSERT INTO source_health (run_id, source, state, reason, since, changed_from, counts,
                                              failures, new_items, last_new_item, period_declared,
                                              period_learned, period_days, judged_at)
                   VALUES (%(run_id)s, %(source)s, %(state)s, %(reason)s, %(since)s, %(changed_from)s,
                           %(counts)s, %(failures)s, %(new_items)s, %(last_new_item)s, %(period_declared)s,
                           %(period_learned)s, %(period_days)s, %(judged_at)s)
                   ON CONFLICT (run_id, source) DO UPDATE
                      SET state = EXCLUDED.state, reason = EXCLUDED.reason, since = EXCLUDED.since,
                          changed_from = EXCLUDED.changed_from, counts = EXCLUDED.counts,
                          failures = EXCLUDED.failures, new_items = EXCLUDED.new_items,
                          last_new_item = EXCLUDED.last_new_item, period_declared = EXCLUDED.period_declared,
                          period_learned = EXCLUDED.period_learned, period_days = EXCLUDED.period_days,
                          judged_at = EXCLUDED.judged_at""",
                {
                    **health,
                    "counts": json.dumps(health["counts"], ensure_ascii=False),
                    "failures": json.dumps(health["failures"], ensure_ascii=False),
                },
            )

    def queue_notice(self, run_id: int, source: str, recipient: str) -> bool:
        """Owe the operator a notice of this run's change of state (once per run and source)."""
        with self.transaction() as cur:
            cur.execute(
                """INSERT INTO health_notices (run_id, source, recipient) VALUES (%s, %s, %s)
                   ON CONFLICT DO NOTHING""",
                (run_id, source, recipient),
            )
            return cur.rowcount == 1

    def drop_pending_notice(self, run_id: int, source: str) -> None:
        """Forget a notice not sent yet whose change of state a second judgement of the run no longer sees."""
        with self.transaction() as cur:
            cur.execute(
                "DELETE FROM health_notices WHERE run_id = %s AND source = %s AND status = 'pending'",
                (run_id, source),
            )

    def reconcile_notice_sending(self) -> int:
        """Count notices left `sending` by a run that died as sent (see `reconcile_sending`)."""
        return self._presume_sent("health_notices")

    def pending_notices(self) -> list[dict[str, Any]]:
        """Return the notices to send, oldest run first, with the judged state they tell of."""
        return self._all(
            """SELECT n.recipient, n.attempts, h.*, s.name AS source_name, r.run_key
                 FROM health_notices n
                 JOIN source_health h USING (run_id, source)
                 JOIN sources s ON s.code = n.source
                 JOIN crawl_runs r ON r.id = n.run_id
                WHERE n.status = 'pending'
                ORDER BY r.started_at, n.run_id, n.source"""
        )

    def notices(self, run_id: int | None = None) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM health_notices WHERE %(run)s::bigint IS NULL OR run_id = %(run)s ORDER BY run_id, source",
            {"run": run_id},
        )

    def mark_notice_sending(self, run_id: int, source: str, message_id: str) -> None:
        with self.transaction() as cur:
            cur.execute(
                """UPDATE health_notices SET status = 'sending', sending_at = now(), message_id = %s
                    WHERE run_id = %s AND source = %s AND status = 'pending'""",
                (message_id, run_id, source),
            )

    def mark_notice_sent(self, run_id: int, source: str, message_id: str, note: str | None = None) -> None:
        with self.transaction() as cur:
            cur.execute(
                """UPDATE health_notices SET status = 'sent', sent_at = now(), message_id = %s,
                                             attempts = attempts + 1, last_error = %s
                    WHERE run_id = %s AND source = %s AND status IN ('pending', 'sending')""",
                (message_id, note, run_id, source),
            )

    def mark_notice_failed(self, run_id: int, source: str, error: str, *, permanent: bool = False) -> None:
        with self.transaction() as cur:
            cur.execute(
                """UPDATE health_notices SET attempts = attempts + 1, last_error = %s,
                                             status = CASE WHEN %s THEN 'failed' ELSE 'pending' END
                    WHERE run_id = %s AND source = %s AND status IN ('pending', 'sending')""",
                (error[:1000], permanent, run_id, source),
            )

    def run_health(self, run_id: int) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM source_health WHERE run_id = %s ORDER BY source", (run_id,))

    def source_health(self) -> dict[str, dict[str, Any]]:
        """Return each source's current health (reporting.source_health), by source code."""
        rows = self._all("SELECT * FROM reporting.source_health ORDER BY source")
        return {row["source"]: row for row in rows}

    # -- reporting --------------------------------------------------------------------------------------

    def run_counts(self, since: datetime) -> dict[str, Any]:
        """Count what happened since a moment: new releases and clusters, duplicates, failed pages."""
        return self._one(
            """SELECT
                 (SELECT count(*) FROM releases WHERE first_seen_at >= %(since)s) AS new_copies,
                 (SELECT count(*) FROM clusters WHERE first_seen_at >= %(since)s) AS new_releases,
                 (SELECT count(*) FROM releases r JOIN clusters c ON c.id = r.cluster_id
                   WHERE r.first_seen_at >= %(since)s AND c.canonical_release_id <> r.id) AS duplicates,
                 (SELECT count(*) FROM releases WHERE updated_at >= %(since)s AND version > 1
                     AND first_seen_at < %(since)s) AS updated_releases,
                 (SELECT count(*) FROM raw_pages WHERE processed_at >= %(since)s AND process_state = 'failed')
                     AS failed_pages,
                 (SELECT count(*) FROM deliveries WHERE sent_at >= %(since)s) AS deliveries_sent,
                 (SELECT count(DISTINCT message_id) FROM deliveries WHERE sent_at >= %(since)s) AS emails_sent,
                 (SELECT count(*) FROM deliveries WHERE status = 'pending') AS deliveries_pending,
                 (SELECT count(*) FROM deliveries WHERE status = 'failed') AS deliveries_failed""",
            {"since": since},
        )

    def failed_pages(self, since: datetime) -> list[dict[str, Any]]:
        return self._all(
            """SELECT id, source, url, process_error FROM raw_pages
                WHERE processed_at >= %s AND process_state = 'failed' ORDER BY id""",
            (since,),
        )

    def totals(self) -> dict[str, Any]:
        return self._one(
            """SELECT (SELECT count(*) FROM raw_pages) AS raw_pages,
                      (SELECT count(*) FROM raw_pages WHERE kind = 'detail') AS detail_pages,
                      (SELECT count(*) FROM releases) AS copies,
                      (SELECT count(*) FROM clusters) AS releases,
                      (SELECT count(*) FROM raw_pages WHERE process_state = 'failed') AS failed_pages"""
        )

    def new_releases_by_source(self, since: datetime) -> dict[str, int]:
        """Count the new releases (clusters first seen since a moment) each source holds a copy of.

        A release two sources published counts for both; the run's own total counts it once.
        """
        rows = self._all(
            """SELECT r.source, count(DISTINCT r.cluster_id)::integer AS n
                 FROM releases r JOIN clusters c ON c.id = r.cluster_id
                WHERE c.first_seen_at >= %(since)s AND r.first_seen_at >= %(since)s
                GROUP BY r.source""",
            {"since": since},
        )
        return {row["source"]: row["n"] for row in rows}

    def clusters_across_sources(self, limit: int = 10) -> list[dict[str, Any]]:
        """Return clusters whose copies come from more than one source: canonical title, sources, copies."""
        return self._all(
            """SELECT c.id, canon.title, canon.published_at, array_agg(DISTINCT r.source ORDER BY r.source)
                      AS sources, count(*)::integer AS copies
                 FROM clusters c
                 JOIN releases r ON r.cluster_id = c.id
                 JOIN releases canon ON canon.id = c.canonical_release_id
                GROUP BY c.id, canon.title, canon.published_at
               HAVING count(DISTINCT r.source) > 1
                ORDER BY canon.published_at DESC NULLS LAST, c.id
                LIMIT %s""",
            (limit,),
        )

    def chain_counts(self) -> list[dict[str, Any]]:
        return self._all(
            """SELECT chain, sum(releases)::integer AS releases FROM reporting.daily_chain_counts
                GROUP BY chain ORDER BY releases DESC, chain"""
        )


def _number_new_clusters(cur: Any) -> None:
    """Number the committed clusters no alert run has seen yet (callers hold ALERT_LOCK)."""
    cur.execute(
        """UPDATE clusters c SET alert_seq = nextval('clusters_alert_seq')
             FROM (SELECT id FROM clusters WHERE alert_seq IS NULL ORDER BY id) fresh
            WHERE c.id = fresh.id"""
    )


def _release_params(release: dict[str, Any]) -> dict[str, Any]:
    published = release.get("published_at")
    return {
        "source": release["source"],
        "canonical_url": release["canonical_url"],
        "url": release["url"],
        "title": release["title"],
        "published_at": published if isinstance(published, date | None) else date.fromisoformat(published),
        "publisher": release.get("publisher"),
        "body": release["body"],
        "speakers": json.dumps(release.get("speakers", []), ensure_ascii=False),
        "attachments": json.dumps(release.get("attachments", []), ensure_ascii=False),
        "content_hash": psycopg2.Binary(release["content_hash"]),
        "minhash": psycopg2.Binary(release["minhash"]),
        "search_text": release.get("search_text", ""),
        "cluster_id": release.get("cluster_id"),
        "raw_page_id": release.get("raw_page_id"),
    }
