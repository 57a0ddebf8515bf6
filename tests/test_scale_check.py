"""`make scale-check` without running it: the settings it gives Airflow are ones Airflow can use.

The check itself (minutes of a real Airflow with Celery workers) is not part of `make test`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from pressmon import scale_check
from pressmon.scale_check import Options, TaskRow


def options(**changes) -> Options:
    values = dict(
        postgres=scale_check.DEFAULT_POSTGRES,
        redis=scale_check.DEFAULT_REDIS,
        workers=2,
        concurrency=2,
        timeout=60,
        keep=False,
    )
    return Options(**(values | changes))


def test_every_airflow_process_gets_celery_the_broker_and_the_metadata_database(tmp_path: Path):
    metadata = "postgresql://postgres@127.0.0.1:5432/airflow_scale_x"
    env = scale_check.airflow_environment({}, tmp_path, metadata, options(workers=3), "scale_check_x", 8123)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "6"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == scale_check.DEFAULT_REDIS
    assert not scale_check.DEFAULT_REDIS.endswith("/0")
    # psycopg2 named: SQLAlchemy 2.1 would take postgresql:// to mean psycopg 3, which is not installed.
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8123/execution/"
    assert env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "scale_check_x"
    assert env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] == "False"


def test_airflow_can_import_the_hostname_callable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    env = scale_check.airflow_environment({}, tmp_path, "postgresql://h/db", options(), "q", 1)
    # Airflow imports it as "package.function" in every process; `python -m` makes the module __main__.
    module, _, name = env["AIRFLOW__CORE__HOSTNAME_CALLABLE"].rpartition(".")
    hostname = getattr(importlib.import_module(module), name)
    worker = scale_check.worker_env(env, "worker2@machine")
    monkeypatch.setenv(scale_check.WORKER_NAME_VARIABLE, worker[scale_check.WORKER_NAME_VARIABLE])
    assert hostname() == "worker2@machine"
    monkeypatch.delenv(scale_check.WORKER_NAME_VARIABLE)
    assert hostname() and "@" not in hostname()


def test_tasks_are_counted_per_worker_by_the_name_the_check_gave_it():
    rows = [
        TaskRow("crawl", 0, "success", "worker1@machine"),
        TaskRow("crawl", 1, "success", "worker2@machine"),
        TaskRow("crawl", 2, "success", "worker1@machine"),
        TaskRow("watcher", -1, "skipped", ""),
        TaskRow("other", -1, "success", "someone-else"),
    ]
    counts = scale_check.per_worker(rows, ["worker1@machine", "worker2@machine"])
    assert counts == {"worker1": 2, "worker2": 1}
    assert [row.key for row in rows[:1]] == ["crawl[0]"] and rows[3].key == "watcher"


def test_one_worker_is_refused_on_the_command_line(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit:
        scale_check.main(["--workers", "1"])
    assert exit.value.code == 2
    assert "--workers must be at least 2" in capsys.readouterr().err
