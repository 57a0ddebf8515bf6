"""The scale-out check: the nightly DAG on a real Airflow with CeleryExecutor and several Celery workers.

`python -m pressmon.scale_check` (or `make scale-check`) creates two scratch databases on a Postgres server
(Airflow's metadata and pressmon's), serves the offline copy of the sources and an SMTP sink on 127.0.0.1,
starts the real `airflow api-server`, `scheduler`, `dag-processor` and N `airflow celery worker` processes
against a Redis broker, triggers `pressmon_nightly`, waits for the run, and prints which worker ran each task.
It exits 0 only when the run succeeded and at least two workers ran tasks. Every process it started is
stopped, and both databases are dropped, whatever happens (unless --keep).

Nothing here is a pressmon setting: the servers come from --postgres and --redis (defaults: this machine).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

DAG_ID = "pressmon_nightly"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
# Not database 0: that is where a Redis shared with other software keeps its keys. The queue name is unique
# per check anyway, so a broker that other Airflows use is not disturbed (nor is this check by their tasks).
DEFAULT_REDIS = "redis://127.0.0.1:6379/1"
# Every worker of the check runs on this one machine, so Airflow's default hostname (the machine's FQDN)
# would be the same for all of them. Each worker process gets its Celery node name here, and Airflow records
# it as the task instance's hostname through [core] hostname_callable = worker_hostname below.
WORKER_NAME_VARIABLE = "SCALE_CHECK_WORKER"
# Seconds a stopped process group gets to exit before it is killed.
STOP_GRACE = 20.0
PROGRESS_EVERY = 15.0
FINISHED = {"success", "failed"}


def worker_hostname() -> str:
    """Return the Celery node name of this worker (the machine's FQDN outside a worker of the check)."""
    return os.environ.get(WORKER_NAME_VARIABLE) or socket.getfqdn()


class CheckFailed(Exception):
    """The check could not run, or its run did not show the DAG working on several workers."""


# -- processes ---------------------------------------------------------------------------------------------


@dataclass
class _Started:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


class Fleet:
    """The processes the check started, each in a process group of its own with its output in a log file."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[_Started] = []

    def start(self, name: str, argv: Sequence[str], env: dict[str, str]) -> None:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as stream:
            # A session of its own: Ctrl-C in the terminal reaches only this script, which then stops the
            # whole group (the Airflow command and every process it forked) itself.
            popen = subprocess.Popen(
                list(argv),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stream,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(_Started(name, popen, log))

    def check_alive(self) -> None:
        """Raise CheckFailed, with the end of its log, when a started process has exited."""
        for process in self.started:
            code = process.popen.poll()
            if code is not None:
                raise CheckFailed(
                    f"{process.name} exited with status {code}; the end of {process.log}:\n{tail(process.log)}"
                )

    def stop(self) -> None:
        """Terminate every process group, give them STOP_GRACE seconds, then kill what is left."""
        for process in self.started:
            _signal_group(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in self.started:
            while _group_alive(process.popen.pid) and time.monotonic() < deadline:
                process.popen.poll()
                time.sleep(0.2)
        for process in self.started:
            if _group_alive(process.popen.pid):
                print(
                    f"scale-check: {process.name} did not stop in {STOP_GRACE:.0f}s; killed", file=sys.stderr
                )
                _signal_group(process.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=5)
        self.started = []


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def run_airflow(argv: Sequence[str], env: dict[str, str], log: IO[bytes], timeout: float) -> None:
    """Run one Airflow CLI command to its end, its output appended to log."""
    log.write(f"\n$ airflow {' '.join(argv)}\n".encode())
    log.flush()
    try:
        completed = subprocess.run(
            [_airflow(), *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"`airflow {' '.join(argv)}` did not finish in {timeout:.0f}s") from None
    if completed.returncode != 0:
        raise CheckFailed(f"`airflow {' '.join(argv)}` failed (status {completed.returncode})")


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


# -- servers -----------------------------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def admin(url: str, sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(url, connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@contextlib.contextmanager
def scratch_databases(server: str, names: Sequence[str], keep: bool) -> Iterator[None]:
    import psycopg2

    try:
        admin(server, "SELECT 1")
    except psycopg2.Error as exc:
        raise CheckFailed(f"Postgres at {_redacted(server)} does not answer: {str(exc).strip()}") from None
    created = []
    try:
        for name in names:
            admin(server, f'CREATE DATABASE "{name}"')
            created.append(name)
        yield
    finally:
        for name in created:
            if keep:
                print(f"scale-check: kept database {name}")
            else:
                admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check_broker(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        raise CheckFailed(f"Redis at {_redacted(url)} does not answer: {exc}") from None


def forget_queue(url: str, queue: str) -> None:
    """Delete the broker keys of this check's queue (the queue itself, its priority lists, its binding)."""
    import redis

    with contextlib.suppress(redis.RedisError):
        client = redis.Redis.from_url(url, socket_connect_timeout=5)
        keys = [*client.scan_iter(match=f"{queue}*", count=100), f"_kombu.binding.{queue}".encode()]
        client.delete(*keys)


def _redacted(url: str) -> str:
    from pressmon.redaction import redact

    return redact(url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, ready, fleet: Fleet, timeout: float) -> None:
    """Poll ready() until it is true; fail after timeout seconds, or as soon as a started process exits."""
    deadline = time.monotonic() + timeout
    while True:
        fleet.check_alive()
        if ready():
            return
        if time.monotonic() > deadline:
            raise CheckFailed(f"{what}: not ready after {timeout:.0f}s")
        time.sleep(1.0)


def api_server_answers(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/api/v2/monitor/health", timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def workers_answering(broker: str, names: Sequence[str]) -> set[str]:
    """Return which of the named Celery workers answer a ping through the broker."""
    from celery import Celery

    app = Celery("scale-check", broker=broker)
    try:
        replies = app.control.ping(destination=list(names), timeout=2.0)
    except Exception:  # a broker hiccup while workers start: not answering yet
        return set()
    finally:
        app.close()
    return {name for reply in replies for name in reply}


# -- the metadata database ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    task_id: str
    map_index: int
    state: str
    hostname: str

    @property
    def key(self) -> str:
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(url, connect_timeout=10)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def dag_is_serialized(metadata: str) -> bool:
    try:
        return bool(query(metadata, "SELECT 1 FROM serialized_dag WHERE dag_id = %s", (DAG_ID,)))
    except Exception:  # the table is created by `airflow db migrate`; until then: not yet
        return False


def run_state(metadata: str, run_id: str) -> str | None:
    rows = query(metadata, "SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", (DAG_ID, run_id))
    return rows[0][0] if rows else None


def task_rows(metadata: str, run_id: str) -> list[TaskRow]:
    rows = query(
        metadata,
        """SELECT task_id, map_index, coalesce(state, 'none'), coalesce(hostname, '')
             FROM task_instance WHERE dag_id = %s AND run_id = %s ORDER BY task_id, map_index""",
        (DAG_ID, run_id),
    )
    return [TaskRow(*row) for row in rows]


def processing_shares(metadata: str, run_id: str) -> dict[int, object]:
    """What each mapped `process` task returned (its pages by outcome), by map index."""
    rows = query(
        metadata,
        """SELECT map_index, value FROM xcom
            WHERE dag_id = %s AND run_id = %s AND task_id = 'process' AND key = 'return_value'""",
        (DAG_ID, run_id),
    )
    return {map_index: value for map_index, value in rows}


def short(hostname: str) -> str:
    """worker1@machine → worker1: the name the check gave the worker."""
    return hostname.split("@", 1)[0]


def per_worker(rows: Sequence[TaskRow], workers: Sequence[str]) -> Counter[str]:
    names = {short(name) for name in workers}
    return Counter(short(row.hostname) for row in rows if short(row.hostname) in names)


# -- the check ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    postgres: str
    redis: str
    workers: int
    concurrency: int
    timeout: float
    keep: bool


def airflow_environment(
    base: dict[str, str], home: Path, metadata: str, options: Options, queue: str, port: int
) -> dict[str, str]:
    """The environment every Airflow process of the check shares: one home, one metadata DB, one broker."""
    from cryptography.fernet import Fernet

    from pressmon.airflow_run import DAGS_FOLDER

    psycopg2_url = metadata.replace("postgresql://", "postgresql+psycopg2://", 1)
    api = f"http://127.0.0.1:{port}"
    return {
        **base,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        # The scheduler hands out no more than the workers can take at once.
        "AIRFLOW__CORE__PARALLELISM": str(options.workers * options.concurrency),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "pressmon.scale_check.worker_hostname",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": psycopg2_url,
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(64),
        # Only the run this check triggers: unpausing must not add the scheduled run of last night.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__CELERY__BROKER_URL": options.redis,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{psycopg2_url}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(options.concurrency),
        # One task reserved per free slot: a worker does not hoard tasks another one could start now.
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }


def run_check(options: Options) -> int:
    from pressmon import steps
    from pressmon.config import Config
    from pressmon.demo import SAMPLE_SUBSCRIPTIONS
    from pressmon.mail import OutboxSink
    from pressmon.offline.server import OfflineSites
    from pressmon.store import Store, migrate

    token = uuid.uuid4().hex[:8]
    pressmon_db, airflow_db = f"pressmon_scale_{token}", f"airflow_scale_{token}"
    queue = f"scale_check_{token}"
    workdir = Path(tempfile.mkdtemp(prefix=f"pressmon-scale-check-{token}-"))
    home, log_dir, var = workdir / "airflow", workdir / "logs", workdir / "var"
    for folder in (home, log_dir, var):
        folder.mkdir()
    fleet = Fleet(log_dir)
    outcome = {"succeeded": False}

    def leave_workdir() -> None:
        if outcome["succeeded"] and not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"scale-check: logs in {log_dir} (one per process) and {home / 'logs'} (task logs)")

    say(f"scale-check: work folder {workdir}")
    # Undone in reverse: the processes stop first, then the queue, the sink, the sites and the databases go.
    with contextlib.ExitStack() as stack:
        stack.callback(leave_workdir)
        check_broker(options.redis)
        stack.enter_context(scratch_databases(options.postgres, (pressmon_db, airflow_db), options.keep))
        sites = stack.enter_context(OfflineSites())
        sink = stack.enter_context(OutboxSink(var / "outbox"))
        stack.callback(forget_queue, options.redis, queue)
        stack.callback(fleet.stop)
        # Said before the processes stop and the logs' folder is named, and then the check ends with status 1.
        stack.enter_context(_telling_failure())
        metadata = with_database(options.postgres, airflow_db)
        say(
            f"scale-check: databases {pressmon_db} (pressmon) and {airflow_db} (Airflow) "
            f"on {_redacted(options.postgres)}"
        )
        say(f"scale-check: broker {_redacted(options.redis)}, queue {queue}")
        say(f"scale-check: {len(sites.sites)} offline sites on 127.0.0.1, SMTP sink {sink.url}")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PRESSMON_"))}
        base |= {
            "PRESSMON_DATABASE_URL": with_database(options.postgres, pressmon_db),
            "PRESSMON_VAR_DIR": str(var),
            **sites.env(),
            "PRESSMON_SOURCES": ",".join(sites.sites),
            "PRESSMON_SMTP_URL": sink.url,
            "PRESSMON_CRAWL_DELAY": "0",
            "PRESSMON_CRAWL_LOG_LEVEL": "WARNING",
            # A failure shows at once instead of after retries five minutes apart.
            "PRESSMON_TASK_RETRIES": "0",
            # One processing task per worker: they share the night's pages, in batches small enough that this
            # small night (about 110 pages) has some for each.
            "PRESSMON_PROCESS_TASKS": str(options.workers),
            "PRESSMON_BATCH_SIZE": "10",
        }
        config = Config.from_env(base)
        with Store.open(config, migrating=True) as store:
            migrate(store.conn)
            steps.prepare(store, config)
            for email, chains, sources, keywords in SAMPLE_SUBSCRIPTIONS:
                store.add_subscription(email, chains, sources, keywords)
        say("scale-check: pressmon database migrated, sample subscriptions added")

        port = free_port()
        env = airflow_environment(base, home, metadata, options, queue, port)
        api = env["AIRFLOW__API__BASE_URL"]
        machine = socket.gethostname()
        workers = [f"worker{n}@{machine}" for n in range(1, options.workers + 1)]
        run_id = f"scale_check__{token}"
        with (log_dir / "airflow-cli.log").open("ab") as cli_log:
            say("scale-check: airflow db migrate …")
            run_airflow(["db", "migrate"], env, cli_log, timeout=600)
            fleet.start(
                "api-server", [_airflow(), "api-server", "--host", "127.0.0.1", "--port", str(port)], env
            )
            fleet.start("scheduler", [_airflow(), "scheduler"], env)
            fleet.start("dag-processor", [_airflow(), "dag-processor"], env)
            for name in workers:
                fleet.start(
                    short(name),
                    worker_argv(name, queue, options.concurrency),
                    worker_env(env, name),
                )
            say(f"scale-check: started api-server ({api}), scheduler, dag-processor, {', '.join(workers)}")
            wait_for("api-server", lambda: api_server_answers(api), fleet, timeout=240)
            wait_for(
                "Celery workers",
                lambda: workers_answering(options.redis, workers) == set(workers),
                fleet,
                timeout=240,
            )
            wait_for(f"DAG {DAG_ID}", lambda: dag_is_serialized(metadata), fleet, timeout=240)
            say(f"scale-check: api-server, {len(workers)} workers and DAG {DAG_ID} ready")
            run_airflow(["dags", "trigger", DAG_ID, "--run-id", run_id], env, cli_log, timeout=300)
            run_airflow(["dags", "unpause", DAG_ID], env, cli_log, timeout=300)
        say(f"scale-check: triggered {DAG_ID} run {run_id}; waiting up to {options.timeout:.0f}s")
        state, rows = wait_for_run(metadata, run_id, workers, fleet, options.timeout)
        outcome["succeeded"] = report(
            state, rows, workers, config, run_id, var / "outbox", processing_shares(metadata, run_id)
        )
    return 0 if outcome["succeeded"] else 1


@contextlib.contextmanager
def _telling_failure() -> Iterator[None]:
    try:
        yield
    except CheckFailed as exc:
        say(f"scale-check: FAILED: {exc}")


def worker_env(env: dict[str, str], name: str) -> dict[str, str]:
    """The environment of one worker: the shared one and its name."""
    return env | {WORKER_NAME_VARIABLE: name}


def worker_argv(name: str, queue: str, concurrency: int) -> list[str]:
    return [
        _airflow(),
        "celery",
        "worker",
        "--celery-hostname",
        name,
        "--queues",
        queue,
        "--concurrency",
        str(concurrency),
        # Every worker shares this machine and AIRFLOW_HOME: the task logs are on disk for the api-server,
        # and a second log server would find its port taken.
        "--skip-serve-logs",
    ]


def wait_for_run(
    metadata: str, run_id: str, workers: Sequence[str], fleet: Fleet, timeout: float
) -> tuple[str, list[TaskRow]]:
    started = time.monotonic()
    last_progress = 0.0
    while True:
        fleet.check_alive()
        state = run_state(metadata, run_id)
        rows = task_rows(metadata, run_id)
        elapsed = time.monotonic() - started
        if state in FINISHED:
            return state, rows
        if elapsed - last_progress >= PROGRESS_EVERY:
            last_progress = elapsed
            states = Counter(row.state for row in rows)
            counts = per_worker(rows, workers)
            say(
                f"scale-check: {elapsed:4.0f}s run {state}: "
                + (", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no tasks yet")
                + (f"; ran on {', '.join(f'{w}:{n}' for w, n in sorted(counts.items()))}" if counts else "")
            )
        if elapsed > timeout:
            for row in rows:
                say(f"  {row.key:<20} {row.state:<16} {row.hostname or '-'}")
            raise CheckFailed(f"run {run_id} still {state} after {timeout:.0f}s")
        time.sleep(2.0)


def report(
    state: str,
    rows: Sequence[TaskRow],
    workers: Sequence[str],
    config,
    run_id: str,
    outbox: Path,
    shares: dict[int, object] | None = None,
) -> bool:
    from pressmon.store import Store

    say("")
    say(f"{'task':<18} {'map':>4}  {'state':<10} worker")
    for row in rows:
        say(f"{row.task_id:<18} {row.map_index:>4}  {row.state:<10} {row.hostname or '-'}")
    with Store.open(config) as store:
        run = store.run_by_key(run_id)
    emails = len(list(outbox.glob("*.eml")))
    if run:
        summary = run["summary"] or {}
        say(
            f"pressmon run {run_id}: {run['status']}, {len(summary.get('sources', {}))} sources, "
            f"{summary.get('pages_fetched', 0)} pages fetched, {summary.get('new_releases', 0)} new releases, "
            f"{emails} emails"
        )
    say(f"DAG run {run_id}: {state}")
    if shares:
        say("pages each processing task stored (they share the night's pages):")
        for row in rows:
            if row.task_id == "process":
                say(f"  process[{row.map_index}] on {row.hostname or '-'}: {shares.get(row.map_index, '-')}")
    counts = per_worker(rows, workers)
    ran = sum(1 for row in rows if row.hostname)
    say(
        f"scale-check: run={state} tasks={ran} workers="
        + ",".join(f"{short(name)}:{counts.get(short(name), 0)}" for name in workers)
    )
    if state != "success":
        failed = [row.key for row in rows if row.state not in {"success", "skipped"}]
        say(
            f"scale-check: FAILED: the run ended {state} (tasks not successful: {', '.join(failed) or 'none'})"
        )
        return False
    busy = [name for name, n in counts.items() if n]
    if len(busy) < min(2, len(workers)):
        say(f"scale-check: FAILED: only {', '.join(busy) or 'no worker'} ran tasks")
        return False
    return True


def say(line: str) -> None:
    print(line, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pressmon.scale_check", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help=f"libpq URL of a role that may create databases (default {DEFAULT_POSTGRES})",
    )
    parser.add_argument("--redis", default=DEFAULT_REDIS, help=f"Celery broker URL (default {DEFAULT_REDIS})")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers to start (default 2)")
    parser.add_argument("--concurrency", type=int, default=2, help="task slots per worker (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds the DAG run may take (default 900)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch databases and the work folder afterwards"
    )
    args = parser.parse_args(argv)
    if args.workers < 2:
        parser.error("--workers must be at least 2: the check is that tasks spread over several")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    options = Options(args.postgres, args.redis, args.workers, args.concurrency, args.timeout, args.keep)

    # `kill` (SIGTERM) ends the check like Ctrl-C does: through the finally blocks that stop every process.
    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        return run_check(options)
    except KeyboardInterrupt:
        print("scale-check: interrupted; every process it started was stopped", file=sys.stderr)
        return 130
    except CheckFailed as exc:
        print(f"scale-check: FAILED: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
