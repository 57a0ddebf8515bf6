"""The embedded Postgres: one per checkout (or user), created only by `db migrate`, started only when needed
and never silently."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pressmon import embedded
from pressmon.config import Config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PRESSMON = Path(sys.executable).parent / "pressmon"
PAGE = ROOT / "tests" / "fixtures" / "qd_press" / "detail-1206.html"


def test_from_a_checkout_local_state_is_its_var_folder_whatever_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert Config.from_env({}).var_dir == ROOT / "var"
    assert Config().var_dir == ROOT / "var"
    assert Config.from_env({"PRESSMON_VAR_DIR": "state"}).var_dir == tmp_path / "state"


def test_embedded_postgres_is_created_by_migrate_only_and_started_again_only_when_needed(tmp_path):
    # Not under pytest's tmp_path: the server runs as another user when the tests run as root.
    var = Path(tempfile.mkdtemp(prefix="pressmon-embedded-")) / "var"
    pgdata = var / "postgres"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSMON_")} | {
        "PRESSMON_VAR_DIR": str(var)
    }

    def pressmon(*argv: str) -> subprocess.CompletedProcess:
        # From another folder: where the server lives must not depend on it.
        return subprocess.run(
            [str(PRESSMON), *argv], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )

    try:
        none_yet = pressmon("subscribe", "list")
        assert none_yet.returncode == 1 and none_yet.stdout == ""
        (line,) = none_yet.stderr.splitlines()
        assert f"there is no embedded Postgres in {pgdata}" in line and "`pressmon db migrate`" in line
        assert not pgdata.exists()

        created = pressmon("db", "migrate")
        assert created.returncode == 0, created.stderr
        assert f"pressmon: creating the embedded Postgres in {pgdata}; stop it with `pressmon db stop`" in (
            created.stderr
        )

        running = pressmon("subscribe", "list")
        assert (running.returncode, running.stdout, running.stderr) == (0, "no subscriptions\n", "")

        assert "stopped" in pressmon("db", "stop").stdout
        assert pressmon("extract", str(PAGE)).returncode == 0
        assert pressmon("doctor").returncode == 1  # it reports the stopped server...
        assert embedded.running_url(var) is None  # ...and neither command started it

        started = pressmon("subscribe", "list")
        assert started.returncode == 0 and started.stdout == "no subscriptions\n"
        assert started.stderr == (
            f"pressmon: starting the embedded Postgres in {pgdata}; stop it with `pressmon db stop`\n"
        )
        assert embedded.running_url(var) is not None
    finally:
        if pgdata.exists():
            embedded.stop(var)
        shutil.rmtree(var.parent, ignore_errors=True)
