"""Several processing workers at once on one real Postgres: they share the pages, and the result is one worker's.

The workers are separate processes, as Airflow's mapped `process` tasks are on Celery workers.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import multiprocessing
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pressmon import steps
from pressmon.config import Config
from pressmon.store import Store
from tests.support.db import admin, with_database
from tests.support.variants import add_pages, iter_variants

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import json, sys
from pressmon import steps
from pressmon.config import Config
config = Config(database_url=sys.argv[1], batch_size=int(sys.argv[2]), process_workers=1)
sys.stdin.readline()  # start together
print(json.dumps(steps.process(config)))
"""


@pytest.fixture
def second_db(pg_server: str, pg_template: str) -> Iterator[str]:
    name = f"pressmon_t_{uuid.uuid4().hex[:10]}"
    admin(pg_server, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield with_database(pg_server, name)
    admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _load(url: str, pages: list[tuple[str, bytes, str]]) -> None:
    config = Config(database_url=url)
    with Store.open(config) as store:
        steps.prepare(store, config)
        add_pages(store, pages)
        # A page no parser can read fails on whichever worker takes it, and the others go on.
        add_pages(store, [("http://qdfb.shiminjia.com/xwfbHtml/wangqihuigu/2025/0101/9.html", b"\x00", "")])


def _outcome(url: str) -> dict[str, object]:
    """What processing left in a database, in terms that do not depend on ids or on which worker did what."""
    with Store.open(Config(database_url=url)) as store, store.transaction() as cur:
        cur.execute("SELECT process_state, count(*) AS n FROM raw_pages GROUP BY 1")
        states = {row["process_state"]: row["n"] for row in cur.fetchall()}
        cur.execute("SELECT count(*) AS n FROM raw_pages WHERE claim IS NOT NULL")
        claimed = cur.fetchone()["n"]
        cur.execute("SELECT canonical_url, count(*) AS n FROM releases GROUP BY 1 HAVING count(*) > 1")
        twice = cur.fetchall()
        cur.execute(
            """SELECT c.id, array_agg(r.canonical_url ORDER BY r.canonical_url) AS members,
                      (SELECT canonical_url FROM releases WHERE id = c.canonical_release_id) AS canonical
                 FROM clusters c JOIN releases r ON r.cluster_id = c.id GROUP BY c.id"""
        )
        clusters = {(tuple(row["members"]), row["canonical"]) for row in cur.fetchall()}
        cur.execute(
            """SELECT r.canonical_url, ch.name, round(rc.score::numeric, 6) AS score
                 FROM release_chains rc JOIN releases r ON r.id = rc.release_id
                 JOIN chains ch ON ch.id = rc.chain_id"""
        )
        tags = {(row["canonical_url"], row["name"], row["score"]) for row in cur.fetchall()}
    return {"states": states, "claimed": claimed, "twice": twice, "clusters": clusters, "tags": tags}


def test_concurrent_workers_share_the_pages_and_give_one_workers_result(db_url, second_db):
    pages = list(iter_variants(3))
    _load(db_url, pages)
    _load(second_db, pages)

    one = steps.process(Config(database_url=db_url, batch_size=5, process_workers=1))

    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, second_db, "5"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    # A deadlock would hang here: the timeout turns it into a failure.
    shares = [json.loads(worker.communicate(timeout=600)[0].strip().splitlines()[-1]) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)

    assert sum(sum(share.values()) for share in shares) == sum(one.values()) == len(pages) + 1
    assert sum(1 for share in shares if share) >= 2, f"the workers did not share the pages: {shares}"
    alone, together = _outcome(db_url), _outcome(second_db)
    assert alone["states"] == together["states"] == {"done": len(pages), "failed": 1}
    assert alone["claimed"] == together["claimed"] == 0
    assert alone["twice"] == together["twice"] == []
    # The variants of a release are near-duplicates: each is in one cluster with its siblings.
    for members, _ in alone["clusters"]:
        paths = {member.split("?")[0] for member in members}
        assert len(members) == 3 * len(paths), members
    assert together["clusters"] == alone["clusters"]
    assert together["tags"] == alone["tags"] and alone["tags"]


def test_a_claimed_batch_is_left_to_its_worker_and_taken_over_when_the_worker_dies(store, config):
    add_pages(store, list(iter_variants(1))[:12])
    worker = Store.open(config)
    _, rows = worker.claim_pages(4)
    claimed_ids = {row["id"] for row in rows}

    assert steps.process(config) == {"new": 8}
    with store.transaction() as cur:
        cur.execute("SELECT id FROM raw_pages WHERE process_state = 'pending'")
        assert {row["id"] for row in cur.fetchall()} == claimed_ids

    worker.close()  # the worker's connection is gone, and its claim with it
    assert steps.process(config) == {"new": 4}
    with store.transaction() as cur:
        cur.execute("SELECT count(*) AS n FROM raw_pages WHERE process_state <> 'done' OR claim IS NOT NULL")
        assert cur.fetchone()["n"] == 0


def test_a_session_does_not_claim_its_own_batch_twice(store):
    add_pages(store, list(iter_variants(1))[:6])
    first, first_rows = store.claim_pages(3)
    second, second_rows = store.claim_pages(3, held=(first,))
    assert not {r["id"] for r in first_rows} & {r["id"] for r in second_rows}
    assert store.claim_pages(3, held=(first, second)) is None
    # Why `held` is needed: a session's own lock does not stop it, so a claim it does not name looks free.
    _, again = store.claim_pages(3, held=(first,))
    assert {r["id"] for r in again} == {r["id"] for r in second_rows}


def test_process_batch_stores_one_batch_at_a_time_until_none_is_left(store, config):
    add_pages(store, list(iter_variants(2))[:10])
    config = dataclasses.replace(config, batch_size=4)
    batches = []
    while (counts := steps.process_batch(config)) is not None:
        batches.append(counts)
    assert [sum(b.values()) for b in batches] == [4, 4, 2]
    assert sum(b.get("new", 0) for b in batches) == 5


def _process_as_daemon(config: Config) -> None:
    steps.process(config)


def test_a_daemonic_worker_such_as_a_celery_tasks_parses_in_its_own_process(store, config):
    # A Celery task runs in a daemonic process, which may not start parsing workers of its own.
    add_pages(store, list(iter_variants(1))[:4])
    child = multiprocessing.get_context("fork").Process(
        target=_process_as_daemon, args=(dataclasses.replace(config, process_workers=2),), daemon=True
    )
    child.start()
    child.join(300)
    assert child.exitcode == 0
    with store.transaction() as cur:
        cur.execute("SELECT count(*) AS n FROM raw_pages WHERE process_state = 'done'")
        assert cur.fetchone()["n"] == 4


def test_a_long_step_refreshes_the_archives_statistics_as_the_archive_grows(store, config, monkeypatch):
    processing = importlib.import_module("pressmon.steps.process")
    monkeypatch.setattr(processing, "FIRST_ANALYZE", 4)

    def last_analyze():
        with store.transaction() as cur:
            cur.execute("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'release_lsh_buckets'")
            return cur.fetchone()["last_analyze"]

    assert last_analyze() is None
    add_pages(store, list(iter_variants(1))[:6])
    steps.process(dataclasses.replace(config, batch_size=2))
    assert last_analyze() is not None
