"""A throwaway database for a benchmark: on PRESSMON_BENCH_DATABASE_URL, the local server, or an embedded one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parent.parent


def _server() -> str:
    if os.environ.get("PRESSMON_BENCH_DATABASE_URL"):
        return os.environ["PRESSMON_BENCH_DATABASE_URL"]
    try:
        psycopg2.connect(LOCAL_SERVER, connect_timeout=3).close()
        return LOCAL_SERVER
    except psycopg2.OperationalError:
        from pressmon import embedded

        url = embedded.ensure_running(ROOT / "var")
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))


def _admin(url: str, sql: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@contextmanager
def scratch_database() -> Iterator[str]:
    """Create a migrated database for one benchmark run; drop it afterwards."""
    from pressmon.store import connect, migrate

    server = _server()
    name = f"pressmon_bench_{uuid.uuid4().hex[:8]}"
    _admin(server, f'CREATE DATABASE "{name}"')
    parts = urlsplit(server)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    try:
        conn = connect(url)
        migrate(conn)
        conn.close()
        yield url
    finally:
        _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
