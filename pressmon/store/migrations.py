"""Migrations: the numbered files of sql/, applied once each and in order, and the check that a database is at
this pressmon's migration."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from pressmon.errors import DatabaseError, DatabaseUnavailable, MigrationError, SchemaError
from pressmon.store import queries
from pressmon.store.connection import MIGRATION_LOCK, database_error

log = logging.getLogger(__name__)

SQL = queries.load("migrations")
# A link to the top-level sql/ in a checkout, a folder of the package in a wheel.
SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


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
        cur.execute(SQL["lock"], (MIGRATION_LOCK,))
        cur.execute(SQL["create_ledger"])
    try:
        with conn.cursor() as cur:
            cur.execute(SQL["applied"])
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
                cur.execute(SQL["record"], (migration.version, migration.name, migration.checksum))
            applied_now.append(migration.name)
            log.info("applied migration %s", migration.name)
    finally:
        with conn, conn.cursor() as cur:
            cur.execute(SQL["unlock"], (MIGRATION_LOCK,))
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


def check_schema(conn: psycopg2.extensions.connection, sql_dir: Path = SQL_DIR) -> None:
    """Make sure the database is at this pressmon's migration, without changing it.

    Raises:
        SchemaError: migrations are missing (run `pressmon db migrate`), the database is newer than this
            pressmon, or the role cannot read pressmon's tables (the analysts' role, say).
    """
    known = {m.version for m in load_migrations(sql_dir)}
    server = getattr(conn, "server", "Postgres")
    with conn, conn.cursor() as cur:
        cur.execute(SQL["schema_state"])
        role, present, readable = cur.fetchone()
        applied: set[int] = set()
        if readable:
            cur.execute(SQL["applied_versions"])
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
