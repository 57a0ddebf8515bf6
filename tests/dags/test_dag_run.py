"""The real nightly DAG, run with dag.test(): offline site over HTTP, real Postgres, real SMTP server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pressmon.airflow_run import prepare_airflow, run_dag_test
from pressmon.offline.server import OfflineSite
from pressmon.store import Store

INITIALLY_PUBLISHED = 40


@pytest.fixture(scope="module")
def airflow_home() -> Path:
    home = Path(os.environ["AIRFLOW_HOME"])
    prepare_airflow(home)
    return home


@pytest.fixture
def site(monkeypatch):
    with OfflineSite(published=INITIALLY_PUBLISHED) as site:
        monkeypatch.setenv("PRESSMON_BASE_URL_QD_PRESS", site.base_url)
        yield site


def _distinct(releases) -> int:
    ids = {r.id for r in releases}
    return sum(1 for r in releases if r.same_release_as not in ids)


def _rows(config, sql, params=()):
    with Store.open(config) as store, store.transaction() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_nightly_dag_crawls_processes_alerts_and_reports_then_only_sends_what_is_new(
    airflow_home, site, smtp_server, store, config
):
    store.add_subscription("ai@example.com", ["人工智能"], [], [])
    store.add_subscription("all@example.com", [], ["qd_press"], [])

    first = run_dag_test(airflow_home)
    assert set(first.task_states) == {
        "start_run",
        "enabled_sources",
        "crawl[0]",
        "process[0]",
        "judge_health",
        "alert",
        "report",
        "watcher",
    }
    assert first.state == "success" and first.task_states["watcher"] == "skipped"

    visible = site.visible
    (run,) = _rows(config, "SELECT status, summary FROM crawl_runs WHERE run_key = %s", (first.run_id,))
    assert run["status"] == "succeeded"
    summary = run["summary"]
    assert summary["sources"]["qd_press"]["detail_pages"] == len(visible)
    assert summary["new_releases"] == _distinct(visible)
    assert summary["duplicates"] == len(visible) - _distinct(visible)
    assert summary["failed_pages"] == []
    (count,) = _rows(config, "SELECT count(*) AS n FROM reporting.releases")
    assert count["n"] == _distinct(visible)
    tagged = _rows(config, "SELECT title FROM reporting.releases WHERE '人工智能' = ANY (chains)")
    assert tagged, "some visible releases are about 人工智能"

    assert sorted(m["To"] for m in smtp_server.messages) == ["ai@example.com", "all@example.com"]
    everything = next(m for m in smtp_server.messages if m["To"] == "all@example.com")
    text = everything.get_body(preferencelist=("plain",)).get_content()
    assert f"有 {_distinct(visible)} 条新发布" in text

    # The site publishes three more conferences; the next run fetches and mails only those.
    new = site.publish(3)
    smtp_server.messages.clear()
    requests_before = len(site.requests)
    second = run_dag_test(airflow_home)
    fetched = [path for _, path, _ in site.requests[requests_before:] if path.endswith(".html")]
    assert sorted(p for p in fetched if "index" not in p) == sorted(
        f"/xwfbHtml/wangqihuigu/{r.published:%Y/%m%d}/{r.id}.html" for r in new
    )
    (run,) = _rows(config, "SELECT summary FROM crawl_runs WHERE run_key = %s", (second.run_id,))
    assert run["summary"]["new_releases"] == len(new)
    everything = next(m for m in smtp_server.messages if m["To"] == "all@example.com")
    text = everything.get_body(preferencelist=("plain",)).get_content()
    assert all(r.list_title in text for r in new)
    assert not any(r.list_title in text for r in visible)

    # Nothing new: the run succeeds, fetches one list page and sends nothing.
    smtp_server.messages.clear()
    third = run_dag_test(airflow_home)
    (run,) = _rows(config, "SELECT status, summary FROM crawl_runs WHERE run_key = %s", (third.run_id,))
    assert run["status"] == "succeeded"
    assert run["summary"]["pages_fetched"] == 1 and run["summary"]["new_releases"] == 0
    assert smtp_server.messages == []


def test_several_process_tasks_share_the_nights_pages(airflow_home, site, store, config, monkeypatch):
    # Pages fetched before tonight wait too: the tasks share them with tonight's.
    from tests.pages import add_page, releases

    for i in (2023, 2199):
        add_page(store, releases()[i])
    monkeypatch.setenv("PRESSMON_PROCESS_TASKS", "3")
    result = run_dag_test(airflow_home)
    assert {k: v for k, v in result.task_states.items() if k.startswith("process")} == {
        "process[0]": "success",
        "process[1]": "success",
        "process[2]": "success",
    }
    visible = site.visible
    (run,) = _rows(config, "SELECT summary FROM crawl_runs WHERE run_key = %s", (result.run_id,))
    assert run["summary"]["failed_pages"] == []
    (pages,) = _rows(
        config,
        "SELECT count(*) FILTER (WHERE process_state <> 'done') AS left, count(*) AS n FROM raw_pages WHERE kind = 'detail'",
    )
    assert pages["left"] == 0 and pages["n"] == len(visible) + 2
    (count,) = _rows(config, "SELECT count(*) AS n FROM releases")
    assert count["n"] == len({r.id for r in visible} | {2023, 2199})


def test_a_night_with_a_failed_crawl_still_processes_alerts_and_reports_and_the_run_ends_failed(
    airflow_home, site, smtp_server, store, config
):
    # Pages fetched before tonight (an earlier crawl, another source's) wait to be processed.
    from tests.pages import add_page, releases

    store.add_subscription("all@example.com", [], [], [])
    waiting = [releases()[i] for i in (2023, 2199)]
    for release in waiting:
        add_page(store, release)

    site.set_fault("/xwfbHtml/wangqihuigu/index.html", "503")
    result = run_dag_test(airflow_home, check=False)
    assert result.task_states["crawl[0]"] == "failed"
    assert result.task_states["process[0]"] == "success"
    assert result.task_states["judge_health"] == "success"
    assert result.task_states["alert"] == "success"
    assert result.task_states["report"] == "success"
    assert result.task_states["watcher"] == "failed"
    assert result.state == "failed", "a night with a failed crawl must not read as a successful run"

    (message,) = smtp_server.messages
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert all(r.list_title in text for r in waiting)
    (run,) = _rows(config, "SELECT status, summary FROM crawl_runs WHERE run_key = %s", (result.run_id,))
    assert run["status"] == "failed"
    assert run["summary"]["new_releases"] == len(waiting)
    errors = run["summary"]["sources"]["qd_press"]["errors"]
    assert [(e["kind"], e["code"]) for e in errors] == [("list", "http_status")]
    assert any("503" in e["reason"] for e in errors)


def test_the_weekly_dag_mails_the_report_of_the_week_before_its_run_once(
    airflow_home, smtp_server, store, config
):
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from pressmon import steps
    from pressmon.weekly import Week
    from tests.pages import add_page, releases

    store.add_subscription("boss@example.com", [], [], [], weekly=True)
    newest = max(releases().values(), key=lambda r: r.published)
    add_page(store, newest)

    steps.process(config)
    week = Week.of(newest.published)
    # The Monday 07:00 run after the newest release's week: it reports that week.
    monday_after = datetime.combine(week.minus(-1).monday, time(7), ZoneInfo("Asia/Shanghai"))
    result = run_dag_test(airflow_home, dag_id="pressmon_weekly", logical_date=monday_after)
    assert result.task_states == {"weekly_report": "success"}
    (message,) = smtp_server.messages
    assert message["To"] == "boss@example.com" and week.label in str(message["Subject"])
    assert newest.list_title in message.get_body(preferencelist=("plain",)).get_content()
    (row,) = _rows(config, "SELECT week, status FROM report_deliveries")
    assert (row["week"], row["status"]) == (week.monday, "sent")
