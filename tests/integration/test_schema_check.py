"""Only `pressmon db migrate` changes the schema: every other command checks it and says what to run."""

from __future__ import annotations

import pytest

from pressmon.cli import main
from pressmon.store import as_role, connect, load_migrations, migrate

pytestmark = pytest.mark.integration

# Commands that need the database, with arguments that would be valid on a migrated one.
COMMANDS = [
    ["sources"],
    ["process"],
    ["reprocess"],
    ["alert"],
    ["retag"],
    ["crawl", "qd_press"],
    ["subscribe", "list"],
    ["subscribe", "add", "desk@example.org"],
    ["subscribe", "remove", "desk@example.org"],
]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def applied_versions(url: str) -> list[int]:
    conn = connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('pressmon_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                return []
            cur.execute("SELECT version FROM pressmon_migrations ORDER BY version")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def test_a_database_behind_is_named_with_the_command_to_run_and_left_alone(
    capsys, monkeypatch, empty_db_url, tmp_path
):
    migrations = load_migrations()
    for migration in migrations[:3]:
        (tmp_path / f"{migration.name}.sql").write_text(migration.sql, encoding="utf-8")
    conn = connect(empty_db_url)
    try:
        migrate(conn, tmp_path)
    finally:
        conn.close()
    monkeypatch.setenv("PRESSMON_DATABASE_URL", empty_db_url)
    expected = (
        f"pressmon: the database is at migration {migrations[2].version:04d}, this pressmon needs "
        f"{migrations[-1].version:04d}: run `pressmon db migrate`\n"
    )
    for argv in COMMANDS:
        code, _, err = run(capsys, *argv)
        assert (code, err) == (1, expected), argv
    assert applied_versions(empty_db_url) == [m.version for m in migrations[:3]]

    code, out, _ = run(capsys, "db", "migrate")
    assert code == 0 and out.startswith(f"applied: {', '.join(m.name for m in migrations[3:])}\n")
    code, out, _ = run(capsys, "sources")
    assert code == 0 and "qd_press" in out


def test_an_empty_database_is_not_migrated_by_accident(capsys, monkeypatch, empty_db_url):
    monkeypatch.setenv("PRESSMON_DATABASE_URL", empty_db_url)
    for argv in COMMANDS:
        code, _, err = run(capsys, *argv)
        assert code == 1, argv
        assert err.endswith("holds no pressmon tables: run `pressmon db migrate`\n"), err
        assert len(err.splitlines()) == 1
    assert applied_versions(empty_db_url) == []


def test_the_analysts_role_gets_one_line_from_every_command(capsys, monkeypatch, db_url):
    monkeypatch.setenv("PRESSMON_DATABASE_URL", as_role(db_url, "pressmon_reader"))
    for argv in [*COMMANDS, ["db", "migrate"]]:
        code, _, err = run(capsys, *argv)
        assert code == 1 and "Traceback" not in err, argv
        (line,) = err.splitlines()
        assert "pressmon_reader" in line, line
