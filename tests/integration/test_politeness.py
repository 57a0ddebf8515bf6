"""Crawls of sources that share a host take turns on it; crawls of other hosts run meanwhile.

Real Postgres, the offline sites over HTTP (one listener per host, with a timed request log), and real Scrapy
processes, started from threads at once as the DAG's mapped crawl tasks start under LocalExecutor or Celery.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pressmon import politeness, steps
from pressmon.offline.server import OfflineSites
from pressmon.sources import get, registry

pytestmark = pytest.mark.integration

EXPECTED = Path(__file__).resolve().parents[1] / "sources" / "expected"
# Two sources on www.gov.cn, and one on another host.
SHARED = ("gov_yaowen", "gov_bumen")
ELSEWHERE = "miit_wjfb"


def _span(times: list[float]) -> tuple[float, float]:
    assert times, "the crawl sent its site no request"
    return min(times), max(times)


def test_sources_on_one_host_take_turns_while_another_host_is_crawled_meanwhile(
    config, store, monkeypatch, caplog
):
    # A second between requests: each crawl lasts seconds, so two crawls that run at once are seen to overlap.
    monkeypatch.setenv("PRESSMON_CRAWL_DELAY", "1")
    caplog.set_level(logging.INFO, logger=politeness.__name__)
    codes = (*SHARED, ELSEWHERE)
    with OfflineSites(codes) as sites:
        config = dataclasses.replace(config, base_urls={**config.base_urls, **sites.base_urls})
        run_id = store.start_run("test-politeness")
        with ThreadPoolExecutor(len(codes)) as pool:
            futures = {code: pool.submit(steps.crawl, config, code, run_id) for code in codes}
            summaries = {code: future.result() for code, future in futures.items()}
        spans = {code: _span([when for when, *_ in sites[code].timed_requests]) for code in codes}

    for code, summary in summaries.items():
        expected = tomllib.loads((EXPECTED / f"{code}.toml").read_text(encoding="utf-8"))
        assert (summary["list_pages"], summary["detail_pages"], summary["errors"]) == (
            expected["list_pages"],
            expected["items"],
            0,
        ), code
    first, second = sorted(SHARED, key=lambda code: spans[code][0])
    # One host, one crawl at a time: every request of the second comes after the last of the first.
    assert spans[first][1] < spans[second][0], spans
    waits = [r.getMessage() for r in caplog.records if "waiting for" in r.getMessage()]
    assert waits == [f"{second}: waiting for www.gov.cn: {first} is crawling it"]
    # Another host is no reason to wait: the MIIT crawl ran while the first www.gov.cn crawl did.
    elsewhere = spans[ELSEWHERE]
    assert elsewhere[0] < spans[first][1] and spans[first][0] < elsewhere[1], spans


def test_a_source_holds_its_base_host_and_the_hosts_its_detail_pages_are_on():
    assert politeness.source_hosts(get("gov_zhengceku")) == ["sousuo.www.gov.cn", "www.gov.cn"]
    assert politeness.source_hosts(get("gov_yaowen")) == ["www.gov.cn"]


def test_a_host_has_the_same_lock_key_in_every_process():
    # Crawl tasks run in separate processes (and on separate Celery workers): Python's seeded hash() would
    # give each its own key and no crawl would ever wait.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    printed = subprocess.run(
        [sys.executable, "-c", "from pressmon.politeness import host_key; print(host_key('www.gov.cn'))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(printed) == politeness.host_key("www.gov.cn")
    assert politeness.host_key("www.gov.cn") != politeness.host_key("www.miit.gov.cn")


def test_a_crawl_that_dies_lets_the_next_crawl_of_its_host_go(config):
    # The crawl holding www.gov.cn is killed outright (no cleanup runs): Postgres drops its session, and its lock.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pressmon import politeness\n"
            "from pressmon.config import Config\n"
            "from pressmon.sources import get\n"
            "with politeness.host_turns(Config.from_env(), get('gov_yaowen')):\n"
            "    print('holding', flush=True)\n"
            "    time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "holding\n"
        notes: list[str] = []
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(_take_turn, config, notes)
            with pytest.raises(TimeoutError):
                waiting.result(timeout=2)
            holder.kill()
            waiting.result(timeout=30)
        assert re.fullmatch(r"gov_bumen: waiting for www.gov.cn: gov_yaowen is crawling it", notes[0])
        assert re.fullmatch(r"gov_bumen: www.gov.cn is free after \d+\.\d s", notes[1])
    finally:
        holder.kill()
        holder.wait()


def _take_turn(config, notes: list[str]) -> None:
    with politeness.host_turns(config, get("gov_bumen"), notes.append):
        pass


def test_crawls_queued_in_spread_order_meet_other_hosts_before_a_host_already_queued():
    declared = registry()
    order = politeness.spread_by_host(sorted(declared), declared)
    assert sorted(order) == sorted(declared)
    # Every source before the second one on www.gov.cn is on hosts no earlier source is on.
    head = order[: order.index("gov_yaowen")]
    hosts = [host for code in head for host in politeness.source_hosts(declared[code])]
    assert len(hosts) == len(set(hosts)) and "gov_bumen" in head
    # The policy library fetches its detail pages from www.gov.cn too: it waits behind the three others.
    assert order[-1] == "gov_zhengceku"
