"""The database and SMTP passwords appear nowhere: not in output, logs, run summaries, stored errors or exceptions.

The CLI runs in subprocesses with verbose logging, through success and failure paths, with a database URL and an
SMTP URL that carry passwords (the test server's trust authentication accepts and ignores the database one; the
SMTP server here wants a login). Everything it prints and everything pressmon stores is searched for them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from pressmon.config import Config
from pressmon.errors import PressmonError
from pressmon.mail import SmtpTarget
from pressmon.offline.server import OfflineSite
from pressmon.store import Store, connect
from tests.conftest import ROOT, SmtpServer, free_port
from tests.pages import add_page, releases
from tests.security.support import with_password
from tests.support.db import with_database

pytestmark = pytest.mark.integration

DB_PASSWORD = "S3cr3t-db-PW"
SMTP_PASSWORD = "S3cr3t-smtp-PW"
SECRETS = (DB_PASSWORD, SMTP_PASSWORD)


class LoginSmtpServer(SmtpServer):
    """The conftest SMTP server, asking for a login (over plain SMTP: it is on 127.0.0.1)."""

    def start(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
            accepted = (auth_data.login, auth_data.password) == (b"alerts", SMTP_PASSWORD.encode())
            return AuthResult(success=accepted, handled=False)  # not handled: the server answers 535

        self.controller = Controller(
            self, hostname=self.host, port=self.port, authenticator=authenticate, auth_require_tls=False
        )
        self.controller.start()


@pytest.fixture
def smtp_login() -> Iterator[LoginSmtpServer]:
    server = LoginSmtpServer("127.0.0.1", free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def env(db_url: str, tmp_path: Path, smtp_login: LoginSmtpServer) -> dict[str, str]:
    """The environment of a deployment whose URLs carry passwords."""
    return {
        **os.environ,
        "PRESSMON_DATABASE_URL": with_password(db_url, DB_PASSWORD),
        "PRESSMON_SMTP_URL": f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:{smtp_login.port}",
        "PRESSMON_VAR_DIR": str(tmp_path / "var"),
        "PRESSMON_CRAWL_DELAY": "0",
        "PRESSMON_DOWNLOAD_TIMEOUT": "3",
        "PRESSMON_CONNECT_TIMEOUT": "3",
    }


def pressmon(env: dict[str, str], *argv: str, **changes: str) -> subprocess.CompletedProcess:
    """Run `pressmon -v ARGV` in a subprocess; fail the test if a password shows in what it printed."""
    completed = subprocess.run(
        [sys.executable, "-m", "pressmon.cli", "-v", *argv],
        env={**env, **changes},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    for secret in SECRETS:
        assert secret not in completed.stdout, (argv, completed.stdout)
        assert secret not in completed.stderr, (argv, completed.stderr)
    return completed


def one_line_error(completed: subprocess.CompletedProcess) -> str:
    """The failure a user sees: exit 1 and a last line `pressmon: …`."""
    assert completed.returncode == 1, completed
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("pressmon: "), completed.stderr
    return last


def stored_text(db_url: str) -> str:
    """Everything pressmon stores that could hold a message: run summaries, crawl errors, delivery errors."""
    conn = connect(db_url)
    with conn, conn.cursor() as cur:
        cur.execute(
            """SELECT concat_ws(' ',
                      (SELECT string_agg(summary::text, ' ') FROM crawl_runs),
                      (SELECT string_agg(errors::text || stats::text, ' ') FROM crawl_run_sources),
                      (SELECT string_agg(last_error, ' ') FROM deliveries),
                      (SELECT string_agg(process_error, ' ') FROM raw_pages))"""
        )
        text = cur.fetchone()[0]
    conn.close()
    return text


def test_the_success_paths_print_and_store_no_password(env, db_url, smtp_login):
    assert pressmon(env, "db", "migrate").returncode == 0
    shown = pressmon(env, "db", "url")
    assert shown.stdout.strip() == with_password(db_url, "***")
    assert pressmon(env, "subscribe", "add", "desk@example.com").returncode == 0
    assert pressmon(env, "subscribe", "list").returncode == 0
    assert pressmon(env, "sources").returncode == 0
    with OfflineSite(published=2) as site:
        crawled = pressmon(env, "crawl", "qd_press", PRESSMON_BASE_URL_QD_PRESS=site.base_url)
    assert crawled.returncode == 0, crawled.stderr
    assert pressmon(env, "process").returncode == 0
    alerted = pressmon(env, "alert")
    assert alerted.returncode == 0 and '"emails": 1' in alerted.stdout
    assert smtp_login.recipients == [["desk@example.com"]]
    assert pressmon(env, "doctor").returncode in (0, 1)
    assert pressmon(env, "doctor", "--json").returncode in (0, 1)
    text = stored_text(db_url)
    assert "qd_press" in text  # the run summary is there to be searched
    assert not [secret for secret in SECRETS if secret in text]


def test_show_password_prints_it_when_asked(env):
    assert (
        DB_PASSWORD
        in subprocess.run(
            [sys.executable, "-m", "pressmon.cli", "db", "url", "--show-password"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


def test_smtp_failures_name_the_server_and_never_the_password(env, db_url, smtp_login):
    pressmon(env, "subscribe", "add", "desk@example.com")
    config = Config(database_url=db_url)
    with Store.open(config) as store:
        add_page(store, releases()[2023])
    assert pressmon(env, "process").returncode == 0

    malformed = f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:notaport"
    assert "PRESSMON_SMTP_URL" in one_line_error(pressmon(env, "alert", PRESSMON_SMTP_URL=malformed))
    assert "FAIL  smtp: PRESSMON_SMTP_URL" in pressmon(env, "doctor", PRESSMON_SMTP_URL=malformed).stdout

    unreachable = f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:{free_port()}"
    alerted = pressmon(env, "alert", PRESSMON_SMTP_URL=unreachable)
    assert alerted.returncode == 0 and '"failed_emails": 1' in alerted.stdout
    assert "FAIL  smtp: SMTP 127.0.0.1" in pressmon(env, "doctor", PRESSMON_SMTP_URL=unreachable).stdout

    wrong_password = f"smtp://alerts:{SMTP_PASSWORD}-not@127.0.0.1:{smtp_login.port}"
    alerted = pressmon(env, "alert", PRESSMON_SMTP_URL=wrong_password)
    assert alerted.returncode == 0 and '"failed_emails": 1' in alerted.stdout
    assert smtp_login.messages == []
    text = stored_text(db_url)
    assert "did not take the message" in text
    assert not [secret for secret in SECRETS if secret in text]


def test_a_failed_crawl_records_and_prints_no_password(env, db_url):
    closed = f"http://127.0.0.1:{free_port()}"
    crawled = pressmon(env, "crawl", "qd_press", PRESSMON_BASE_URL_QD_PRESS=closed)
    assert crawled.returncode == 1 and "pressmon: crawl of qd_press failed" in crawled.stderr
    text = stored_text(db_url)
    assert "failed" in text
    assert not [secret for secret in SECRETS if secret in text]


@pytest.mark.parametrize(
    "url, message",
    [
        (
            f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:{free_port()}/pressmon",
            "cannot connect to Postgres",
        ),
        (f"postgresql://postgres:{DB_PASSWORD}@[bad/pressmon", "not a valid Postgres URL"),
        (f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:notaport/pressmon", "cannot connect to Postgres"),
        (f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1/pressmon?nonsense=1", "not a valid Postgres URL"),
        (f"host=127.0.0.1 password={DB_PASSWORD} nonsense", "not a valid Postgres URL"),
        (f"host=127.0.0.1 password='{DB_PASSWORD} x' port=1", "cannot connect to Postgres"),
    ],
)
def test_database_failures_name_the_server_and_never_the_password(env, url, message):
    for argv in (["process"], ["db", "migrate"], ["subscribe", "list"]):
        assert message in one_line_error(pressmon(env, *argv, PRESSMON_DATABASE_URL=url))
    assert f"FAIL  database: {message}" in pressmon(env, "doctor", PRESSMON_DATABASE_URL=url).stdout
    shown = pressmon(env, "db", "url", PRESSMON_DATABASE_URL=url).stdout
    assert shown.strip() and DB_PASSWORD not in shown


def test_exception_text_and_reprs_hide_the_passwords(db_url):
    url = with_password(db_url, DB_PASSWORD)
    smtp = f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:25"
    config = Config.from_env({"PRESSMON_DATABASE_URL": url, "PRESSMON_SMTP_URL": smtp})
    assert config.database_url == url  # kept for use, hidden when shown
    shown = [repr(config), str(config), repr(SmtpTarget.from_url(smtp))]
    for bad in (f"postgresql://postgres:{DB_PASSWORD}@[bad/db", with_database(url, "no_such_database")):
        with pytest.raises(PressmonError) as caught:
            connect(bad)
        shown.append("".join(traceback.format_exception(caught.value)))
    for bad in (f"smtp://alerts:{SMTP_PASSWORD}@127.0.0.1:notaport", f"smtp://alerts:{SMTP_PASSWORD}/x@host"):
        with pytest.raises(PressmonError) as caught:
            SmtpTarget.from_url(bad)
        shown.append("".join(traceback.format_exception(caught.value)))
    everything = "\n".join(shown)
    assert "S3cr3t" not in everything
    assert "127.0.0.1" in everything and "no_such_database" in everything
