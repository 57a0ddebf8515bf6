"""`pressmon doctor` against a real database and a real SMTP server: a healthy deployment, then each check failing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pressmon import doctor
from pressmon.cli import main
from pressmon.config import Config
from pressmon.sources import registry
from pressmon.store import SQL_DIR, Store, connect
from tests.conftest import free_port
from tests.security.support import READER, embedded_pressmon, migrated_database

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest.fixture
def deployment(pg_server: str) -> Iterator[str]:
    """A database migrated as a deployment's is, with sources and schemes registered; its URL."""
    with migrated_database(pg_server, prepared=True) as url:
        yield url


@pytest.fixture
def healthy(deployment: str, smtp_server, tmp_path: Path) -> Config:
    """The deployment with a crawl of every source finished an hour ago, and SMTP running."""
    config = Config(database_url=deployment, smtp_url=smtp_server.url, var_dir=tmp_path / "var")
    record_crawl(config, "succeeded", errors=[])
    return config


def record_crawl(
    config: Config, status: str, errors: list[dict], ago: timedelta = timedelta(hours=1)
) -> None:
    with Store.open(config) as store:
        run_id = store.start_run(f"doctor-{status}-{len(errors)}-{ago}")
        for source in store.sources():
            store.start_run_source(run_id, source["code"])
            if status != "running":
                store.finish_run_source(
                    run_id,
                    source["code"],
                    status=status,
                    list_pages=1,
                    detail_pages=1,
                    errors=errors,
                    stats={},
                )
        with store.transaction() as cur:
            cur.execute(
                """UPDATE crawl_run_sources SET started_at = now() - %(ago)s,
                          finished_at = CASE WHEN finished_at IS NULL THEN NULL ELSE now() - %(ago)s END
                    WHERE run_id = %(run)s""",
                {"ago": ago, "run": run_id},
            )


def statuses(checks: list[doctor.Check]) -> dict[str, str]:
    return {check.check: check.status for check in checks}


def by_name(checks: list[doctor.Check], name: str) -> doctor.Check:
    (check,) = [c for c in checks if c.check == name]
    return check


def test_a_healthy_deployment_passes_every_check(healthy, smtp_server):
    checks = doctor.run(healthy, NOW)
    assert statuses(checks) == {
        "database": "ok",
        "migrations": "ok",
        "reader role": "ok",
        "reader settings": "ok",
        # This server lets every role into every database (trust): only pg_hba.conf could say otherwise.
        "reader databases": "warn",
        **{f"source {code}": "ok" for code in registry()},
        "smtp": "ok",
    }
    assert smtp_server.messages == []  # EHLO and QUIT, nothing sent


def test_the_command_prints_one_line_per_check_and_json_for_machines(healthy, monkeypatch, capsys):
    monkeypatch.setenv("PRESSMON_DATABASE_URL", healthy.database_url)
    monkeypatch.setenv("PRESSMON_SMTP_URL", healthy.smtp_url)
    assert main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 + len(registry())  # one line per source
    assert lines[0].startswith("ok    database: PostgreSQL ")
    assert any(line.startswith("warn  reader databases: ") and "Fix: " in line for line in lines)
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert {c["check"]: c["status"] for c in report["checks"]}["migrations"] == "ok"
    assert set(report["checks"][0]) == {"check", "status", "message", "fix"}


def test_an_unreachable_database_fails_and_the_smtp_check_still_runs(smtp_server, capsys, monkeypatch):
    monkeypatch.setenv("PRESSMON_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/pressmon")
    monkeypatch.setenv("PRESSMON_CONNECT_TIMEOUT", "2")
    assert main(["doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("FAIL  database: cannot connect to Postgres at 127.0.0.1:")
    assert "Fix: check PRESSMON_DATABASE_URL" in lines[0]
    assert lines[1].startswith("ok    smtp: ")
    assert len(lines) == 2


def test_no_database_url_and_no_embedded_postgres_fails_without_starting_one(tmp_path):
    checks = doctor.run(Config(var_dir=tmp_path / "var"), NOW)
    assert by_name(checks, "database").status == "FAIL"
    assert "is not running" in by_name(checks, "database").message
    assert not (tmp_path / "var").exists()


def test_a_database_without_migrations_fails_and_is_left_alone(empty_db_url):
    checks = doctor.run(Config(database_url=empty_db_url), NOW)
    assert by_name(checks, "migrations").status == "FAIL"
    assert by_name(checks, "migrations").fix == "run `pressmon db migrate`"
    conn = connect(empty_db_url)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('pressmon_migrations')")
        assert cur.fetchone()[0] is None  # the doctor applied nothing
    conn.close()


def test_an_edited_or_a_pending_migration_fails(healthy, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    pending = sql_dir / "0999_later.sql"
    pending.write_text("CREATE TABLE later (x int);\n")
    check = by_name(doctor.run(healthy, NOW, sql_dir), "migrations")
    assert (check.status, check.message) == ("FAIL", "not applied: 0999_later")
    pending.unlink()
    edited = sorted(sql_dir.glob("*.sql"))[1]
    edited.write_text(edited.read_text() + "\n-- edited\n")
    check = by_name(doctor.run(healthy, NOW, sql_dir), "migrations")
    assert (check.status, check.message) == ("FAIL", f"edited after they were applied: {edited.stem}")
    with Store.open(healthy) as store:
        assert store._scalar("SELECT to_regclass('later')") is None


def test_extra_privileges_or_a_missing_grant_of_the_reader_fail(healthy):
    with Store.open(healthy) as store, store.transaction() as cur:
        cur.execute(f"GRANT INSERT ON public.subscriptions TO {READER}")
        cur.execute(f"GRANT SELECT (url) ON public.raw_pages TO {READER}")
        cur.execute(f"REVOKE SELECT ON reporting.release_copies FROM {READER}")
        cur.execute(f"GRANT CREATE ON SCHEMA reporting TO {READER}")
    check = by_name(doctor.run(healthy, NOW), "reader role")
    assert check.status == "FAIL"
    for finding in (
        "public.subscriptions",
        "public.raw_pages",
        "reporting.release_copies",
        "schema reporting",
    ):
        assert finding in check.message


def test_a_database_that_lost_its_database_level_grants_fails(db_url):
    """conftest's databases are clones of a template: CREATE DATABASE … TEMPLATE resets database-level grants."""
    checks = doctor.run(Config(database_url=db_url), NOW)
    reader = by_name(checks, "reader role")
    assert reader.status == "FAIL" and "temporary tables" in reader.message
    assert "REVOKE TEMPORARY, CONNECT ON DATABASE" in reader.fix
    settings = by_name(checks, "reader settings")
    assert settings.status == "warn" and "statement_timeout" in settings.message
    assert "ALTER ROLE pressmon_reader IN DATABASE" in settings.fix


def test_the_reader_confined_by_pg_hba_passes_on_the_embedded_postgres():
    with embedded_pressmon() as (var_dir, _):
        checks = doctor.run(Config(var_dir=var_dir), NOW)
    assert statuses(checks)["reader databases"] == "ok"
    assert (
        "pg_hba.conf rejects pressmon_reader from postgres, template1"
        in by_name(checks, "reader databases").message
    )
    assert statuses(checks)["reader role"] == "ok" and statuses(checks)["database"] == "ok"


def test_the_reader_allowed_into_other_databases_is_a_warning_with_the_line_to_add(healthy):
    check = by_name(doctor.run(healthy, NOW), "reader databases")
    assert check.status == "warn" and "postgres" in check.message
    assert f"`host all {READER} all reject`" in check.fix


@pytest.mark.parametrize(
    "smtp_url, status, message",
    [
        (None, "warn", "no SMTP configured"),
        ("smtp://127.0.0.1:{closed}", "FAIL", "Connection refused"),
        ("smtp://127.0.0.1:notaport", "FAIL", "PRESSMON_SMTP_URL has no valid port"),
        ("smtp://alerts:pw@127.0.0.1:{port}", "FAIL", "SMTP AUTH extension not supported"),
        ("smtp://127.0.0.1:{port}?tls=starttls", "FAIL", "STARTTLS extension not supported"),
    ],
)
def test_smtp_problems_fail_and_none_configured_warns(healthy, smtp_server, smtp_url, status, message):
    url = smtp_url.format(closed=free_port(), port=smtp_server.port) if smtp_url else None
    config = Config(database_url=healthy.database_url, smtp_url=url)
    check = by_name(doctor.run(config, NOW), "smtp")
    assert check.status == status and message in check.message
    assert check.fix
    assert smtp_server.messages == []


def test_a_failed_last_crawl_fails(healthy):
    record_crawl(
        healthy, "failed", [{"url": "http://x/list", "reason": "HTTP 503\nand more"}], timedelta(minutes=30)
    )
    check = by_name(doctor.run(healthy, NOW), "source qd_press")
    assert check.status == "FAIL"
    assert "failed" in check.message and "first: HTTP 503" in check.message and "\n" not in check.message


@pytest.mark.parametrize(
    "status, errors, ago, now, finding",
    [
        ("succeeded", [], timedelta(hours=1), NOW + timedelta(days=3), "days ago"),
        ("succeeded", [{"url": "http://x/1", "reason": "HTTP 404"}], timedelta(hours=1), NOW, "1 errors"),
        ("running", [], timedelta(days=2), NOW, "never finished"),
    ],
)
def test_an_old_a_partial_or_a_stuck_crawl_warns(deployment, status, errors, ago, now, finding):
    config = Config(database_url=deployment)
    record_crawl(config, status, errors, ago)
    check = by_name(doctor.run(config, now), "source qd_press")
    assert check.status == "warn" and finding in check.message


def test_a_source_never_crawled_warns(deployment):
    check = by_name(doctor.run(Config(database_url=deployment), NOW), "source qd_press")
    assert (check.status, check.message) == ("warn", "never crawled")
