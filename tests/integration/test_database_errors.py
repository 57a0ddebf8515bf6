"""When Postgres misbehaves, the user gets one line and a non-zero exit, quickly; code can still handle its own.

Every driver error that leaves a transaction (or a connection attempt) becomes pressmon's DatabaseError, with a
message that names the server and never a password; DatabaseUnavailable when the server cannot be reached or
the connection was lost. Nothing here leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg2
import psycopg2.errors
import pytest

from pressmon.config import Config
from pressmon.errors import DatabaseError, DatabaseUnavailable
from pressmon.store import MIGRATION_LOCK, Store, connect
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.integration


def pressmon(*argv: str, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run the CLI in a subprocess; return what it did and how many seconds it took."""
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "pressmon.cli", *argv],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return completed, time.monotonic() - started


def assert_one_line_failure(completed: subprocess.CompletedProcess) -> str:
    assert completed.returncode == 1, completed
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pressmon: "), completed.stderr
    return lines[0]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts TCP connections and never says a word, like a host behind a firewall."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def test_an_unreachable_server_is_one_line_and_a_failure(db_url):
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/pressmon"
    for argv in (["process"], ["subscribe", "list"], ["db", "migrate"]):
        completed, _ = pressmon(*argv, PRESSMON_DATABASE_URL=closed)
        line = assert_one_line_failure(completed)
        assert "cannot connect to Postgres at 127.0.0.1:" in line and "Connection refused" in line


def test_a_server_that_does_not_answer_is_given_up_after_the_connect_timeout(silent_server):
    url = f"postgresql://postgres@127.0.0.1:{silent_server}/pressmon"
    completed, seconds = pressmon(
        "subscribe", "list", PRESSMON_DATABASE_URL=url, PRESSMON_CONNECT_TIMEOUT="2"
    )
    line = assert_one_line_failure(completed)
    assert "cannot connect to Postgres" in line and "timeout expired" in line
    assert seconds < 15  # 2 s, plus starting Python; without a timeout libpq would wait for the kernel


def test_the_connect_timeout_is_a_setting_with_a_default():
    assert Config.from_env({}).connect_timeout == 10
    assert Config.from_env({"PRESSMON_CONNECT_TIMEOUT": "3"}).connect_timeout == 3
    with pytest.raises(Exception, match="PRESSMON_CONNECT_TIMEOUT must be a whole number"):
        Config.from_env({"PRESSMON_CONNECT_TIMEOUT": "soon"})


def test_a_connection_dropped_while_a_command_runs_is_one_line_and_a_failure(db_url):
    """pressmon db migrate waits for the migration lock held here; its backend is terminated meanwhile."""
    admin = psycopg2.connect(db_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            command = subprocess.Popen(
                [sys.executable, "-m", "pressmon.cli", "db", "migrate"],
                env={**os.environ, "PRESSMON_DATABASE_URL": db_url},
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                deadline = time.monotonic() + 60
                terminated = False
                while not terminated and time.monotonic() < deadline and command.poll() is None:
                    cur.execute(
                        """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                            WHERE datname = current_database() AND application_name = 'pressmon'
                              AND wait_event_type = 'Lock'"""
                    )
                    terminated = bool(cur.fetchall())
                    time.sleep(0.1)
                _, stderr = command.communicate(timeout=60)
            finally:
                command.kill()
    finally:
        admin.close()
    assert terminated
    completed = subprocess.CompletedProcess(command.args, command.returncode, "", stderr)
    line = assert_one_line_failure(completed)
    assert "lost the connection to Postgres at" in line
    assert re.search("terminating connection|server closed the connection", line)


def test_an_error_in_a_transaction_becomes_a_database_error_with_its_sqlstate(store):
    with pytest.raises(DatabaseError) as caught, store.transaction() as cur:
        cur.execute("SELECT * FROM no_such_table")
    error = caught.value
    assert type(error) is DatabaseError and error.pgcode == "42P01"
    assert "\n" not in str(error) and 'relation "no_such_table" does not exist' in str(error)
    assert isinstance(error.__cause__, psycopg2.errors.UndefinedTable)  # for the traceback in a task log
    assert store.sources()  # the connection is usable after the rollback


def test_code_inside_a_transaction_can_still_handle_a_driver_error_itself(store):
    with store.transaction() as cur:
        cur.execute("SAVEPOINT one_page")
        try:
            cur.execute("INSERT INTO sources (code, name, base_url) VALUES ('qd_press', 'x', 'x')")
        except psycopg2.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT one_page")
        cur.execute("UPDATE sources SET enabled = false WHERE code = 'qd_press'")
    assert [row["enabled"] for row in store.sources() if row["code"] == "qd_press"] == [False]


def test_an_error_at_commit_becomes_a_database_error(store):
    with pytest.raises(DatabaseError) as caught, store.transaction() as cur:
        # The foreign key is checked at commit (DEFERRABLE INITIALLY DEFERRED).
        cur.execute("INSERT INTO clusters (canonical_release_id) VALUES (-1)")
    assert caught.value.pgcode == "23503"
    assert store._scalar("SELECT count(*) FROM clusters") == 0


def test_any_other_error_in_a_transaction_stays_itself_and_rolls_back(store):
    with pytest.raises(KeyError), store.transaction() as cur:
        cur.execute("UPDATE sources SET enabled = false")
        raise KeyError("a bug")
    assert all(row["enabled"] for row in store.sources())


def test_a_connection_lost_between_transactions_is_reported_as_unavailable(store, db_url):
    pid = store._scalar("SELECT pg_backend_pid()")
    admin = connect(db_url)
    with admin, admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    admin.close()
    with pytest.raises(DatabaseUnavailable, match="lost the connection to Postgres at"):
        store.sources()
    with pytest.raises(DatabaseUnavailable):  # and again, once the driver knows the connection is closed
        store.sources()


def test_a_bad_url_is_not_chained_to_the_drivers_message(db_url):
    url = db_url.replace("postgresql://", "postgresql://postgres:pw@[", 1)
    with pytest.raises(DatabaseError, match="not a valid Postgres URL") as caught:
        connect(url)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(DatabaseError):
        Store.open(Config(database_url=url))
