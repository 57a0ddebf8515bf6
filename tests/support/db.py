"""Throwaway databases for tests and benchmarks: on a given server, the local one on :5432, or an embedded one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parents[2]


def server_url(env_var: str, embedded: Callable[[], str]) -> str:
    """Return an admin URL: the one in env_var, else the local server on :5432 if it answers, else embedded()."""
    if os.environ.get(env_var):
        return os.environ[env_var]
    try:
        psycopg2.connect(LOCAL_SERVER, connect_timeout=3).close()
        return LOCAL_SERVER
    except psycopg2.OperationalError:
        return embedded()


def with_database(url: str, name: str) -> str:
    """Return the same server's URL for another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def admin(url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE / DROP DATABASE)."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def _embedded_in_var() -> str:
    from pressmon import embedded

    return with_database(embedded.ensure_running(ROOT / "var", create=True), "postgres")


@contextmanager
def scratch_database() -> Iterator[str]:
    """Create a migrated database for one benchmark run; drop it afterwards."""
    from pressmon.store import connect, migrate

    server = server_url("PRESSMON_BENCH_DATABASE_URL", _embedded_in_var)
    name = f"pressmon_bench_{uuid.uuid4().hex[:8]}"
    admin(server, f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    try:
        conn = connect(url)
        migrate(conn)
        conn.close()
        yield url
    finally:
        admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
