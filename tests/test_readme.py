"""The README is true: its commands and queries run as written on the demo's data, its CLI synopsis names
commands and options that exist, and its configuration table lists every variable the code reads."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from itertools import takewhile
from pathlib import Path

import pytest

from pressmon.cli import main
from pressmon.config import BASE_URL_PREFIX
from pressmon.store import as_role, connect
from tests.support.db import admin, with_database

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```", re.M | re.S)
COMMENT = re.compile(r"\s+#\s.*$")

# Lines of the README's shell blocks that this test does not run, and why. Every other line runs.
NOT_RUN = {
    "make demo": "the module's fixture runs `pressmon demo`, which is what it runs once installed",
    "make test": "this test is part of it",
    "make lint": "`make test` runs it before the tests",
    "make typecheck": "`make test` runs it before the tests",
    "make bench": "minutes of benchmarks that assert nothing about the demo data",
    "make lock": "needs the package index",
    "make scale-check": "minutes of a real Airflow with Celery workers; not part of `make test`",
    "make scale-check SCALE_CHECK_ARGS='--postgres postgresql://admin:secret@db.example.org/postgres "
    "--redis redis://broker.example.org:6379/1'": "a remote Postgres and Redis",
    "export PRESSMON_DATABASE_URL=postgresql://pressmon:secret@db.example.org/pressmon": (
        "a real Postgres server; the demo's database stands in for it"
    ),
    "export PRESSMON_SMTP_URL='smtp://alerts:secret@smtp.example.org:587?tls=starttls'": (
        "a real SMTP server; a local one stands in for it"
    ),
}


def blocks(lang: str) -> list[str]:
    return [m["body"] for m in FENCE.finditer(README) if m["lang"] == lang]


def synopsis() -> list[str]:
    """The lines of the CLI synopsis: the plain block whose every line is a pressmon command."""
    (block,) = [
        body
        for body in blocks("")
        if all(line.startswith("pressmon") for line in body.splitlines() if line.strip())
    ]
    return [line for line in block.splitlines() if line.strip()]


# -- the demo's data, once for the module ------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Run `pressmon demo` in a fresh process on a database of its own; yield the environment it used."""
    name = f"pressmon_readme_{uuid.uuid4().hex[:10]}"
    admin(pg_server, f'CREATE DATABASE "{name}"')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PRESSMON_"))}
    env |= {
        "PRESSMON_DATABASE_URL": with_database(pg_server, name),
        "PRESSMON_VAR_DIR": str(tmp_path_factory.mktemp("readme") / "var"),
    }
    try:
        completed = subprocess.run(
            [str(BIN / "pressmon"), "demo"], env=env, capture_output=True, text=True, timeout=900
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        yield env
    finally:
        admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stand_ins(demo: dict[str, str]) -> Iterator[dict[str, str]]:
    """The demo's environment, with the offline site and a local SMTP server for the real ones."""
    from pressmon.offline.server import OfflineSite
    from tests.conftest import SmtpServer, free_port

    smtp = SmtpServer("127.0.0.1", free_port())
    smtp.start()
    try:
        with OfflineSite() as site:
            yield demo | {
                "PRESSMON_BASE_URL_QD_PRESS": site.base_url,
                "PRESSMON_SMTP_URL": smtp.url,
                "PRESSMON_CRAWL_DELAY": "0",
            }
    finally:
        smtp.stop()


# -- shell blocks and SQL samples --------------------------------------------------------------------------


def test_the_skip_list_names_only_lines_the_readme_holds():
    lines = {COMMENT.sub("", line).strip() for body in blocks("sh") for line in body.splitlines()}
    assert set(NOT_RUN) <= lines, set(NOT_RUN) - lines


def test_every_shell_command_runs_as_written(stand_ins):
    ran = 0
    for body in blocks("sh"):
        script = ["set -euo pipefail"]
        for line in body.splitlines():
            command = COMMENT.sub("", line).strip()
            if not command or command in NOT_RUN:
                continue
            script.append(command.replace(".venv/bin/", f"{BIN}/"))
            ran += 1
        if len(script) == 1:
            continue
        completed = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=ROOT,
            env=stand_ins,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert completed.returncode == 0, f"{body}\n{completed.stderr[-3000:]}"
        assert "Traceback" not in completed.stderr
    assert ran >= 3


def test_every_sql_sample_returns_rows_for_the_analysts_role(demo):
    statements = [s.strip() for body in blocks("sql") for s in body.split(";\n") if s.strip()]
    assert statements
    conn = connect(as_role(demo["PRESSMON_DATABASE_URL"], "pressmon_reader"))
    try:
        for statement in statements:
            with conn, conn.cursor() as cur:
                cur.execute(statement.rstrip(";"))
                assert cur.fetchall(), f"no rows on the demo data: {statement}"
    finally:
        conn.close()


# -- the CLI synopsis ---------------------------------------------------------------------------------------


def commands_in_synopsis() -> Iterator[tuple[list[str], list[str]]]:
    """Yield (command words, options) for every command the synopsis shows."""
    for line in synopsis():
        for segment in re.split(r" \| |\s{2,}", COMMENT.sub("", line)):
            words = segment.split()
            if words[:1] == ["pressmon"]:
                words = words[1:]
            path = list(takewhile(lambda word: re.fullmatch(r"[a-z][a-z-]*", word), words))
            yield path, re.findall(r"--[a-z][a-z-]*", segment)


def test_every_command_and_option_of_the_synopsis_exists(capsys):
    shown = list(commands_in_synopsis())
    assert len(shown) > 15
    for path, options in shown:
        with pytest.raises(SystemExit) as exit:
            main([*path, "--help"])
        help_text = capsys.readouterr().out
        assert exit.value.code == 0, path
        for option in options:
            assert option in help_text, f"pressmon {' '.join(path)} has no {option}"


def test_every_command_in_the_prose_exists(capsys):
    spans = re.findall(r"`(?:\.venv/bin/)?pressmon ([a-z][^`]*)`", README)
    assert spans
    for span in spans:
        words = [w for w in span.split() if not w.isupper()]  # CODE, EMAIL: placeholders
        with pytest.raises(SystemExit) as exit:
            main([*words, "--help"])
        capsys.readouterr()
        assert exit.value.code == 0, span


def test_extract_prints_the_keys_the_synopsis_lists(capsys):
    (line,) = [line for line in synopsis() if line.startswith("pressmon extract")]
    listed = {key.strip() for key in line.split("one JSON object:", 1)[1].split(",")}
    page = ROOT / "tests" / "fixtures" / "qd_press" / "detail-1206.html"
    assert main(["extract", str(page)]) == 0
    assert set(json.loads(capsys.readouterr().out)) == listed


# -- configuration ------------------------------------------------------------------------------------------


def test_the_configuration_table_lists_every_variable_the_code_reads():
    documented = set(re.findall(r"^\| `(PRESSMON_[A-Z_]+)", README, re.M))
    read = set()
    for folder in ("pressmon", "crawlers", "dags", "parsers"):
        for path in (ROOT / folder).rglob("*.py"):
            for name in re.findall(r"PRESSMON_[A-Z_]+", path.read_text(encoding="utf-8")):
                read.add(BASE_URL_PREFIX if name.startswith(BASE_URL_PREFIX) else name)
    assert read == documented
