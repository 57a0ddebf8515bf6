"""Connections to Postgres: opening them, naming their errors, and the store's session and transactions."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

import psycopg2
import psycopg2.extras

from pressmon.config import Config
from pressmon.errors import DatabaseError, DatabaseUnavailable
from pressmon.redaction import redact, scrub
from pressmon.store import queries

SQL = queries.load("connection")
# Advisory lock keys. Any constant works; it only has to be the same for every pressmon process.
MIGRATION_LOCK = 0x70726573
CLUSTERING_LOCK = 0x636C7573
ALERT_LOCK = 0x616C6572
REPORT_LOCK = 0x7765656B
HEALTH_LOCK = 0x6865616C
# The first key of a crawl's lock on a host (the second is the host's key: pressmon/politeness.py).
HOST_LOCKS = 0x686F7374
# The first key of a processing claim's lock (the second is the claim): apart from the one-key locks above.
CLAIM_LOCK_CLASS = 0x636C6169
# A named query's parameters (psycopg2's `%(name)s`).
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def int_array(values: Sequence[int]) -> str:
    """Write integers as a Postgres array literal, for a parameter the query casts (`%(x)s::bigint[]`).

    psycopg2 adapts a list element by element: for the 32 LSH buckets of a page that took longer than the
    page's 6 KB body, and the processing step passes them twice a page.
    """
    return "{" + ",".join(map(str, map(int, values))) + "}"


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


class Session:
    """One connection and its transactions, which every area's queries run on.

    Two calling styles: most queries run in a transaction of their own (`with store.transaction()` inside);
    those that take a `cur` run inside the caller's open transaction (`with store.transaction() as cur:`),
    so that several of them commit or roll back together.
    """

    def __init__(self, conn: psycopg2.extensions.connection):
        self.conn = conn
        # The statements prepared on this connection (`_execute_prepared`), each with its parameters in order.
        self._prepared: dict[str, list[str]] = {}

    @classmethod
    def open(cls, config: Config, *, migrating: bool = False) -> Self:
        """Connect to the configured database (starting the embedded one if needed), at this pressmon's schema.

        Args:
            migrating: for `pressmon db migrate` and the demo only: create the embedded server if there is none,
                and skip the schema check (the caller is about to migrate).

        Raises:
            SchemaError: the database is not at this pressmon's migration (see `check_schema`).
        """
        from pressmon.store.migrations import check_schema

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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        with self.conn, self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            yield cur

    def _execute_prepared(
        self, cur: psycopg2.extensions.cursor, name: str, sql: str, params: dict[str, Any]
    ) -> None:
        """Run a named query (with `%(name)s` parameters) as a statement prepared on this connection.

        Postgres parses and plans a prepared statement once per connection (and again when the tables'
        statistics change), not on every call: for the queries the processing step runs for every page,
        that was a fifth of the server's work. A prepared statement outlives a rolled-back transaction, and
        goes with its connection.
        """
        keys = self._prepared.get(name)
        if keys is None:
            keys = list(dict.fromkeys(PLACEHOLDER.findall(sql)))
            numbered = PLACEHOLDER.sub(lambda m: f"${keys.index(m.group(1)) + 1}", sql).replace("%%", "%")
            cur.execute(f"PREPARE pressmon_{name} AS {numbered}")
            self._prepared[name] = keys
        cur.execute(f"EXECUTE pressmon_{name} ({', '.join(['%s'] * len(keys))})", [params[k] for k in keys])

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

    @contextmanager
    def _session_lock(self, key: int) -> Iterator[None]:
        with self.transaction() as cur:
            cur.execute(SQL["lock"], (key,))
        try:
            yield
        finally:
            if not self.conn.closed:
                with self.transaction() as cur:
                    cur.execute(SQL["unlock"], (key,))
