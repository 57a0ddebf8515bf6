"""Run the nightly DAG in-process with `dag.test()`: the laptop and test way, no scheduler needed."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from pressmon.config import Config
from pressmon.errors import PressmonError

# A link to the top-level dags/ in a checkout, a folder of the package in a wheel.
DAGS_FOLDER = Path(__file__).resolve().parent / "dags"
DAG_ID = "pressmon_nightly"


class DagRunError(PressmonError):
    """The DAG run did not succeed; the message lists the task states."""


@dataclass(frozen=True)
class DagRunResult:
    run_id: str
    state: str
    task_states: dict[str, str]


def airflow_environment(airflow_home: Path) -> dict[str, str]:
    """Return the variables that point Airflow at a private home with a SQLite metadata database."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS": "True",
        "PRESSMON_TASK_RETRIES": os.environ.get("PRESSMON_TASK_RETRIES", "0"),
    }


def prepare_airflow(airflow_home: Path) -> None:
    """Create the Airflow home and migrate its metadata database (a few seconds the first time)."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **airflow_environment(airflow_home)}
    completed = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise DagRunError(f"airflow db migrate failed:\n{completed.stderr[-2000:]}")


def run_dag_test(
    airflow_home: Path, *, check: bool = True, dag_id: str = DAG_ID, logical_date: datetime | None = None
) -> DagRunResult:
    """Run a DAG (pressmon_nightly by default) once with dag.test() in this process; the environment must
    already be set.

    Raises:
        DagRunError: the DAG cannot be loaded, or (when check) the run or any task did not succeed.
    """
    os.environ.update(airflow_environment(airflow_home))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    if bag.import_errors:
        raise DagRunError(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags[dag_id]
    logging.getLogger("airflow").setLevel(logging.WARNING)
    # dag.test() runs Airflow's execution API in-process through Starlette's test client, which warns about
    # its own dependencies on every run; that is Airflow's business, not the user's.
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    dag_run = dag.test(logical_date=logical_date) if logical_date else dag.test()
    task_states = {}
    for ti in dag_run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        task_states[key] = _name(ti.state)
    result = DagRunResult(dag_run.run_id, _name(dag_run.state), task_states)
    # The watcher is skipped when nothing failed.
    succeeded = result.state == "success" and all(
        state == "success" or (key == "watcher" and state == "skipped") for key, state in task_states.items()
    )
    if check and not succeeded:
        raise DagRunError(f"DAG run {result.run_id} ended {result.state}: {task_states}")
    return result


def _name(state: object) -> str:
    return str(getattr(state, "value", state))


def smtp_url_from_connection(conn_id: str) -> str | None:
    """Build a PRESSMON_SMTP_URL from an Airflow SMTP connection, or return None if there is none.

    The SMTP provider's extras decide the TLS mode: SSL unless `disable_ssl`, else STARTTLS unless
    `disable_tls`.
    """
    from urllib.parse import quote

    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    if not conn.host:
        return None
    extra = conn.extra_dejson
    tls = "ssl" if not extra.get("disable_ssl") else "none" if extra.get("disable_tls") else "starttls"
    credentials = f"{quote(conn.login, safe='')}:{quote(conn.password or '', safe='')}@" if conn.login else ""
    port = conn.port or (465 if tls == "ssl" else 587 if tls == "starttls" else 25)
    return f"smtp://{credentials}{conn.host}:{port}?tls={tls}"


def with_airflow_smtp(config: Config) -> Config:
    """Return config with its SMTP server taken from the Airflow connection when PRESSMON_SMTP_URL is unset."""
    if config.smtp_url:
        return config
    return replace(config, smtp_url=smtp_url_from_connection(config.smtp_conn_id))
