"""Real crawls of the offline site over HTTP, in a Scrapy subprocess, into a real Postgres."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from pressmon import steps
from pressmon.errors import CrawlError
from pressmon.offline import qd_press
from pressmon.offline.qd_press import Release
from pressmon.offline.server import OfflineSite
from tests.pages import CANONICAL_BASE

pytestmark = pytest.mark.integration

REAL = CANONICAL_BASE
RETRY_TIMES = 2  # crawlers.settings: each failing request is tried 1 + RETRY_TIMES times


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[OfflineSite]:
    """The offline site with its 40 oldest releases published (3 list pages), the spider pointed at it."""
    with OfflineSite(published=40) as offline:
        monkeypatch.setenv("PRESSMON_BASE_URL_QD_PRESS", offline.base_url)
        yield offline


@pytest.fixture
def small_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[OfflineSite]:
    """The offline site with 6 releases (one list page): a quick crawl for the fault modes."""
    with OfflineSite(published=6) as offline:
        offline.timeout_delay = 5
        monkeypatch.setenv("PRESSMON_BASE_URL_QD_PRESS", offline.base_url)
        yield offline


def crawl(config, store, key: str) -> tuple[int, dict[str, Any]]:
    """Run one crawl of qd_press under a new run; return the run id and the step's summary."""
    run_id = store.start_run(f"test-{key}")
    return run_id, steps.crawl(config, "qd_press", run_id)


def query(store, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    with store.transaction() as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def detail_rows(store, run_id: int | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM raw_pages WHERE kind = 'detail'"
    if run_id is None:
        return query(store, sql + " ORDER BY id")
    return query(store, sql + " AND run_id = %s ORDER BY id", (run_id,))


def stored_detail_urls(store) -> set[str]:
    return {row["final_url"] for row in detail_rows(store)}


def detail_urls(site: OfflineSite) -> set[str]:
    """The local URLs of the site's visible detail pages."""
    return {site.url(qd_press.detail_path(release)) for release in site.visible}


def run_source(store, run_id: int) -> dict[str, Any]:
    (row,) = store.run_sources(run_id)
    return row


def served_detail(visible: tuple[Release, ...], release: Release, *, codec: str = "utf-8") -> bytes:
    """The bytes the server sends on the first request of a detail page (its view counter at +1)."""
    position = visible.index(release)
    html = qd_press.render_detail_page(
        release,
        views=release.views + 1,
        older=visible[position - 1] if position > 0 else None,
        newer=visible[position + 1] if position + 1 < len(visible) else None,
    )
    return html.encode(codec, errors="xmlcharrefreplace")


def requested_paths(requests: list[tuple[str, str, int]], *, kind: str) -> list[str]:
    parse = qd_press.parse_detail_path if kind == "detail" else qd_press.parse_list_path
    return [path for _, path, _ in requests if parse(path) is not None]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- a first crawl --------------------------------------------------------------------------------------


def test_a_first_crawl_stores_every_visible_detail_page_once_as_fetched(site, config, store):
    visible = site.visible
    run_id, _ = crawl(config, store, "first")
    rows = detail_rows(store)
    assert len(rows) == len(visible) == 40
    by_url = {row["canonical_url"]: row for row in rows}
    assert set(by_url) == {REAL + qd_press.detail_path(r) for r in visible}
    for release in visible:
        row = by_url[REAL + qd_press.detail_path(release)]
        assert row["source"] == "qd_press"
        assert row["run_id"] == run_id
        assert row["status"] == 200
        assert row["process_state"] == "pending"
        assert row["url"] == row["final_url"] == site.url(qd_press.detail_path(release))
        assert row["headers"]["Content-Type"] == ["text/html; charset=utf-8"]
        assert bytes(row["body"]) == served_detail(visible, release)


def test_a_first_crawl_stores_every_list_page(site, config, store):
    crawl(config, store, "first")
    rows = query(store, "SELECT * FROM raw_pages WHERE kind = 'list' ORDER BY id")
    pages = qd_press.list_page_count(len(site.visible))
    assert pages == 3
    paths = [qd_press.list_path(n) for n in range(1, pages + 1)]
    assert [row["final_url"] for row in rows] == [site.url(path) for path in paths]
    assert [row["canonical_url"] for row in rows] == [REAL + path for path in paths]
    assert {(row["status"], row["process_state"]) for row in rows} == {(200, "skipped")}


def test_a_first_crawl_records_the_source_as_succeeded_with_its_counts(site, config, store):
    run_id, summary = crawl(config, store, "first")
    outcome = run_source(store, run_id)
    assert outcome["source"] == "qd_press"
    assert outcome["status"] == "succeeded"
    assert outcome["finished_at"] is not None
    assert (outcome["list_pages"], outcome["detail_pages"], outcome["errors"]) == (3, 40, [])
    assert summary == {"source": "qd_press", "list_pages": 3, "detail_pages": 40, "errors": 0}


def test_a_crawl_reads_robots_txt_before_any_page(small_site, config, store):
    crawl(config, store, "robots")
    assert small_site.requests[0] == ("GET", qd_press.ROBOTS_PATH, 200)


# -- a second crawl -------------------------------------------------------------------------------------


def test_a_second_crawl_fetches_only_the_newly_published_detail_pages(site, config, store):
    crawl(config, store, "first")
    before = len(site.requests)
    new = site.publish(5)
    run_id, summary = crawl(config, store, "second")
    new_paths = {qd_press.detail_path(r) for r in new}
    assert sorted(requested_paths(site.requests[before:], kind="detail")) == sorted(new_paths)
    assert {row["canonical_url"] for row in detail_rows(store, run_id)} == {REAL + path for path in new_paths}
    assert len(detail_rows(store)) == 45
    assert summary["detail_pages"] == 5


def test_a_second_crawl_stops_after_the_first_list_page(site, config, store):
    crawl(config, store, "first")
    before = len(site.requests)
    site.publish(5)
    run_id, summary = crawl(config, store, "second")
    assert requested_paths(site.requests[before:], kind="list") == [qd_press.ARCHIVE_INDEX]
    assert summary["list_pages"] == 1
    assert run_source(store, run_id)["status"] == "succeeded"


# -- fault modes ----------------------------------------------------------------------------------------


def test_a_detail_page_answering_500_is_stored_as_failed_and_listed_in_the_errors(small_site, config, store):
    broken = small_site.visible[2]
    path = qd_press.detail_path(broken)
    small_site.set_fault(path, "500")
    run_id, summary = crawl(config, store, "http-500")
    assert small_site.requests.count(("GET", path, 500)) == 1 + RETRY_TIMES
    (row,) = query(store, "SELECT * FROM raw_pages WHERE final_url = %s", (small_site.url(path),))
    assert (row["status"], row["process_state"], row["process_error"]) == (
        500,
        "failed",
        "http_status: HTTP 500",
    )
    outcome = run_source(store, run_id)
    assert outcome["status"] == "succeeded"
    assert outcome["errors"] == [
        {"url": small_site.url(path), "kind": "detail", "code": "http_status", "reason": "HTTP 500"}
    ]
    fetched = {row["final_url"] for row in detail_rows(store) if row["status"] == 200}
    assert fetched == detail_urls(small_site) - {small_site.url(path)}
    assert summary["errors"] == 1


def test_a_detail_page_that_times_out_is_recorded_as_an_error_and_the_rest_stored(
    small_site, config, store, monkeypatch: pytest.MonkeyPatch
):
    # Every attempt waits out the download timeout: 1 s instead of the fixture's 3 keeps the test quick.
    monkeypatch.setenv("PRESSMON_DOWNLOAD_TIMEOUT", "1")
    stalled = qd_press.detail_path(small_site.visible[1])
    small_site.set_fault(stalled, "timeout")
    run_id, _ = crawl(config, store, "timeout")
    outcome = run_source(store, run_id)
    assert outcome["status"] == "succeeded"
    assert [e["url"] for e in outcome["errors"]] == [small_site.url(stalled)]
    assert "Timeout" in outcome["errors"][0]["reason"]
    assert stored_detail_urls(store) == detail_urls(small_site) - {small_site.url(stalled)}


def test_a_truncated_detail_page_is_recorded_as_an_error_and_the_rest_stored(small_site, config, store):
    cut = qd_press.detail_path(small_site.visible[3])
    small_site.set_fault(cut, "truncate")
    run_id, _ = crawl(config, store, "truncate")
    outcome = run_source(store, run_id)
    assert outcome["status"] == "succeeded"
    assert [e["url"] for e in outcome["errors"]] == [small_site.url(cut)]
    assert "DataLoss" in outcome["errors"][0]["reason"]
    assert stored_detail_urls(store) == detail_urls(small_site) - {small_site.url(cut)}


def test_an_unreachable_site_fails_the_crawl_and_records_the_reason(
    config, store, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PRESSMON_BASE_URL_QD_PRESS", f"http://127.0.0.1:{closed_port()}")
    run_id = store.start_run("test-unreachable")
    with pytest.raises(CrawlError, match="qd_press"):
        steps.crawl(config, "qd_press", run_id)
    outcome = run_source(store, run_id)
    assert outcome["status"] == "failed"
    assert outcome["finished_at"] is not None
    assert outcome["errors"]
    assert all(error["reason"] for error in outcome["errors"])
    assert "refused" in " ".join(error["reason"] for error in outcome["errors"]).lower()
    assert query(store, "SELECT count(*) AS n FROM raw_pages") == [{"n": 0}]


def test_a_page_served_in_another_charset_than_declared_is_stored_as_fetched(small_site, config, store):
    release = small_site.visible[4]
    path = qd_press.detail_path(release)
    small_site.set_fault(path, "wrong-charset")
    crawl(config, store, "wrong-charset")
    (row,) = query(store, "SELECT * FROM raw_pages WHERE final_url = %s", (small_site.url(path),))
    sent = served_detail(small_site.visible, release, codec="gb18030")
    assert bytes(row["body"]) == sent
    with pytest.raises(UnicodeDecodeError):
        sent.decode("utf-8")
    assert (row["status"], row["process_state"]) == (200, "pending")
    assert row["headers"]["Content-Type"] == ["text/html; charset=utf-8"]


# -- crawls that were cut short -------------------------------------------------------------------------


def test_a_first_crawl_cut_short_is_completed_by_the_next_one(site, config, store):
    site.set_fault(qd_press.list_path(2), "503")
    with pytest.raises(CrawlError):
        crawl(config, store, "cut-short")
    (outcome,) = store.run_sources(store.run_by_key("test-cut-short")["id"])
    assert outcome["status"] == "failed"
    assert [(e["kind"], e["code"]) for e in outcome["errors"]] == [("list", "http_status")]
    assert not store.archive_walked("qd_press")
    held = stored_detail_urls(store)
    assert 0 < len(held) < len(site.visible)

    site.clear_faults()
    crawl(config, store, "complete")
    assert stored_detail_urls(store) == detail_urls(site)

    # Once the archive was walked to its end, crawls are incremental again.
    before = len(site.requests)
    crawl(config, store, "incremental")
    assert requested_paths(site.requests[before:], kind="list") == [qd_press.list_path(1)]


def test_a_detail_page_that_failed_is_fetched_again_by_the_next_crawl_even_far_down_the_list(
    site, config, store
):
    oldest = site.visible[0]
    path = qd_press.detail_path(oldest)
    site.set_fault(path, "500")
    crawl(config, store, "first")
    site.clear_faults()
    run_id, _ = crawl(config, store, "retry")
    assert [row["final_url"] for row in detail_rows(store, run_id)] == [site.url(path)]
    assert detail_rows(store, run_id)[0]["status"] == 200


# -- nothing lost -----------------------------------------------------------------------------------------


def owed_rows(store) -> dict[str, dict[str, Any]]:
    return {row["canonical_url"]: row for row in query(store, "SELECT * FROM owed_pages")}


@pytest.mark.parametrize("fault, code", [("timeout", "timeout"), ("truncate", "truncated")])
def test_a_new_page_that_failed_is_owed_and_fetched_by_the_next_incremental_run(
    small_site, config, store, fault, code
):
    crawl(config, store, "first")
    assert store.archive_walked("qd_press")
    (new,) = small_site.publish(1)
    path = qd_press.detail_path(new)
    small_site.set_fault(path, fault)
    run_id, summary = crawl(config, store, "broken")
    assert summary["errors"] == 1
    assert [e["code"] for e in run_source(store, run_id)["errors"]] == [code]
    owed = owed_rows(store)[REAL + path]
    assert (owed["state"], owed["attempts"], owed["last_code"]) == ("owed", 1, code)
    assert run_source(store, run_id)["stats"]["owed"] == 1

    # The next run stops at list page 1 (every page on it but one is held), and still fetches the owed page.
    small_site.clear_faults()
    before = len(small_site.requests)
    run_id, summary = crawl(config, store, "healed")
    assert requested_paths(small_site.requests[before:], kind="list") == [qd_press.list_path(1)]
    assert summary["errors"] == 0
    assert owed_rows(store)[REAL + path]["state"] == "stored"
    assert [row["status"] for row in detail_rows(store, run_id)] == [200]


def test_a_page_that_keeps_failing_is_given_up_after_the_retry_limit_and_reported_once(
    small_site, config, store, monkeypatch
):
    # The step hands the crawl its settings from the configuration it is given.
    config = dataclasses.replace(config, owed_retries=2)
    broken = small_site.visible[1]
    path = qd_press.detail_path(broken)
    small_site.set_fault(path, "503")
    first, _ = crawl(config, store, "one")
    assert [e["code"] for e in run_source(store, first)["errors"]] == ["http_status"]
    second, _ = crawl(config, store, "two")
    assert [e["code"] for e in run_source(store, second)["errors"]] == ["http_status", "given_up"]
    owed = owed_rows(store)[REAL + path]
    assert (owed["state"], owed["attempts"]) == ("given_up", 2)
    assert run_source(store, second)["stats"]["given_up"] == 1

    before = len(small_site.requests)
    third, _ = crawl(config, store, "three")
    assert path not in [p for _, p, _ in small_site.requests[before:]]
    assert run_source(store, third)["errors"] == []
