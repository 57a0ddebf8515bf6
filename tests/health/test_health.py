"""Source health through the real pipeline: the offline site over HTTP, a Scrapy crawl, Postgres, processing,
the judgement, the reader's view, and the operator's email on a real SMTP server."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import psycopg2.extras
import pytest

from pressmon import sources, steps
from pressmon.errors import CrawlError
from pressmon.health import BEIJING
from pressmon.offline import qd_press
from pressmon.offline.server import OfflineSite
from pressmon.store import Store, as_role

pytestmark = pytest.mark.integration

OPERATOR = "ops@example.org"
SOURCE = "qd_press"
PUBLISHED = 6  # one list page


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[OfflineSite]:
    with OfflineSite(published=PUBLISHED) as offline:
        offline.timeout_delay = 5
        monkeypatch.setenv("PRESSMON_BASE_URL_QD_PRESS", offline.base_url)
        yield offline


@pytest.fixture
def operator_config(config, smtp_server):
    """The test's configuration, mailing health changes to OPERATOR through the local SMTP server."""
    return dataclasses.replace(config, operator_email=OPERATOR, smtp_url=smtp_server.url)


class Nights:
    """Crawl, process and judge, as the nightly DAG does, one night after another."""

    def __init__(self, config, store: Store):
        self.config, self.store, self.count = config, store, 0

    def run(self, now: datetime | None = None) -> tuple[int, dict[str, Any]]:
        self.count += 1
        run_id = self.store.start_run(f"night-{self.count}")
        # A failing source fails its own crawl task; processing and judging go on.
        with contextlib.suppress(CrawlError):
            steps.crawl(self.config, SOURCE, run_id)
        steps.process(self.config)
        return run_id, steps.judge_health(self.config, run_id, now=now)


def reader_row(db_url: str) -> dict[str, Any]:
    """The source's row of reporting.source_health, read as the analysts' role."""
    conn = psycopg2.connect(as_role(db_url, "pressmon_reader"))
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SELECT * FROM reporting.source_health WHERE source = %s", (SOURCE,))
            (row,) = cur.fetchall()
            return dict(row)
    finally:
        conn.close()


def operator_mail(smtp_server) -> list:
    return [m for m in smtp_server.messages if m["To"] == OPERATOR]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def detail_url(site: OfflineSite, release) -> str:
    return site.url(qd_press.detail_path(release))


# -- ok and no_new_items ----------------------------------------------------------------------------------


def test_a_first_night_is_ok_and_an_unchanged_site_is_no_new_items_without_mail(
    site, operator_config, store, smtp_server, db_url
):
    nights = Nights(operator_config, store)
    first, result = nights.run()
    assert result["states"] == {SOURCE: "ok"}
    row = reader_row(db_url)
    assert (row["state"], row["previous_state"], row["run_id"]) == ("ok", None, first)
    assert row["new_items"] == PUBLISHED and row["counts"]["new_items"] == PUBLISHED
    assert row["reason"] == f"{PUBLISHED} new releases stored"
    assert row["last_new_item"] == datetime.now(UTC).astimezone(BEIJING).date()
    assert row["failing_urls"] == []

    second, result = nights.run()
    assert result["states"] == {SOURCE: "no_new_items"}
    row = reader_row(db_url)
    assert (row["state"], row["previous_state"], row["run_id"]) == ("no_new_items", "ok", second)
    assert row["new_items"] == 0 and row["counts"]["list_pages"] == 1
    # Ordinary life (a first ok, then a quiet night) is not worth an email.
    assert operator_mail(smtp_server) == []
    assert store.notices() == []

    summary = steps.report(operator_config, second)
    assert summary["sources"][SOURCE]["health"] == "no_new_items"


# -- blocked, then its repeat, then the recovery -----------------------------------------------------------


@pytest.mark.parametrize("fault, code", [("blocked", "blocked"), ("503", "http_status")])
def test_a_blocked_list_is_mailed_once_not_again_while_it_lasts_and_once_more_when_it_recovers(
    site, operator_config, store, smtp_server, db_url, fault, code
):
    nights = Nights(operator_config, store)
    nights.run()
    index = site.url(qd_press.ARCHIVE_INDEX)
    site.set_fault(qd_press.ARCHIVE_INDEX, fault)

    blocked_run, result = nights.run()
    assert result["states"] == {SOURCE: "blocked"} and result["emails"] == 1
    row = reader_row(db_url)
    assert (row["state"], row["previous_state"]) == ("blocked", "ok")
    assert row["failing_urls"] == [index]
    assert row["failures"][0]["code"] == code
    assert row["counts"]["list_errors"] == 1
    since = row["since"]
    (message,) = operator_mail(smtp_server)
    assert message["Subject"] == f"pressmon: source {SOURCE} is blocked (was ok)"
    body = text_of(message).replace("\r\n", "\n")
    assert "State: blocked (was ok)" in body
    assert "Counts: list_pages 1, list_errors 1," in body
    assert f"First failing URLs:\n  {index}  {code}: " in body

    # Judging the same run again (an Airflow retry) sends nothing twice.
    steps.judge_health(operator_config, blocked_run)
    assert len(operator_mail(smtp_server)) == 1

    # The next night is still blocked: the same state, no new email, the same `since`.
    _, result = nights.run()
    assert result["states"] == {SOURCE: "blocked"} and result.get("emails", 0) == 0
    row = reader_row(db_url)
    assert (row["state"], row["previous_state"], row["since"]) == ("blocked", "ok", since)
    assert len(operator_mail(smtp_server)) == 1

    # The site lets us in again and has published a release: ok, one email saying so.
    site.clear_faults()
    site.publish(1)
    recovered, result = nights.run()
    assert result["states"] == {SOURCE: "ok"} and result["emails"] == 1
    row = reader_row(db_url)
    assert (row["state"], row["previous_state"], row["new_items"]) == ("ok", "blocked", 1)
    assert row["since"] > since
    assert [m["Subject"] for m in operator_mail(smtp_server)] == [
        f"pressmon: source {SOURCE} is blocked (was ok)",
        f"pressmon: source {SOURCE} is ok (was blocked)",
    ]
    assert {(n["run_id"], n["status"]) for n in store.notices()} == {
        (blocked_run, "sent"),
        (recovered, "sent"),
    }


# -- empty_list, encoding_error, parse_errors ---------------------------------------------------------------


def empty_the_list(site: OfflineSite, night: int) -> datetime | None:
    site.set_fault(qd_press.ARCHIVE_INDEX, "empty-list")
    return None


def garble_the_list(site: OfflineSite, night: int) -> datetime | None:
    site.set_fault(qd_press.ARCHIVE_INDEX, "encoding-error")
    return None


def publish_pages_without_articles(site: OfflineSite, night: int) -> datetime | None:
    for release in site.publish(2):
        site.set_fault(qd_press.detail_path(release), "parse-errors")
    return None


def let_months_pass(site: OfflineSite, night: int) -> datetime | None:
    # The six releases' publication days are five gaps (98, 147, 84, 91, 77 days): a learned period of 147.
    return datetime.now(UTC) + timedelta(days=148 + night)


@pytest.mark.parametrize(
    "breakage, state",
    [
        (empty_the_list, "empty_list"),
        (garble_the_list, "encoding_error"),
        (publish_pages_without_articles, "parse_errors"),
        (let_months_pass, "stale"),
    ],
)
def test_each_state_is_mailed_once_when_it_starts_not_while_it_lasts_and_once_when_it_ends(
    site, operator_config, store, smtp_server, db_url, breakage, state
):
    nights = Nights(operator_config, store)
    assert nights.run()[1]["states"] == {SOURCE: "ok"}
    before = "no_new_items" if state == "stale" else "ok"
    if state == "stale":
        nights.run()  # a quiet night first: stale is a quiet night that has lasted too long

    _, result = nights.run(now=breakage(site, 1))
    assert result["states"] == {SOURCE: state}
    row = reader_row(db_url)
    assert (row["state"], row["previous_state"]) == (state, before)
    assert [m["Subject"] for m in operator_mail(smtp_server)] == [
        f"pressmon: source {SOURCE} is {state} (was {before})"
    ]

    _, result = nights.run(now=breakage(site, 2))
    assert result["states"] == {SOURCE: state}
    assert reader_row(db_url)["since"] == row["since"]
    assert len(operator_mail(smtp_server)) == 1

    site.clear_faults()
    site.publish(1)
    _, result = nights.run()
    assert result["states"] == {SOURCE: "ok"}
    assert reader_row(db_url)["previous_state"] == state
    assert [m["Subject"] for m in operator_mail(smtp_server)][1:] == [
        f"pressmon: source {SOURCE} is ok (was {state})"
    ]


def test_a_list_page_without_items_names_it(site, operator_config, store, db_url):
    nights = Nights(operator_config, store)
    site.set_fault(qd_press.ARCHIVE_INDEX, "empty-list")
    _, result = nights.run()
    assert result["states"] == {SOURCE: "empty_list"}
    row = reader_row(db_url)
    assert row["failing_urls"] == [site.url(qd_press.ARCHIVE_INDEX)]
    assert row["failures"][0]["code"] == "empty_list"
    assert row["reason"].startswith("list layout changed: list page 1 links to no detail pages")


def test_a_page_no_charset_reads_cleanly_is_encoding_error(site, operator_config, store, smtp_server, db_url):
    nights = Nights(operator_config, store)
    nights.run()
    (new,) = site.publish(1)
    site.set_fault(qd_press.detail_path(new), "encoding-error")
    _, result = nights.run()
    assert result["states"] == {SOURCE: "encoding_error"}
    row = reader_row(db_url)
    assert row["state"] == "encoding_error"
    assert row["failing_urls"] == [detail_url(site, new)]
    assert row["counts"]["lossy"] == 1
    (message,) = operator_mail(smtp_server)
    assert "is encoding_error (was ok)" in message["Subject"] and detail_url(site, new) in text_of(message)


def test_a_list_page_no_charset_reads_cleanly_is_encoding_error(site, operator_config, store, db_url):
    nights = Nights(operator_config, store)
    site.set_fault(qd_press.ARCHIVE_INDEX, "encoding-error")
    _, result = nights.run()
    assert result["states"] == {SOURCE: "encoding_error"}
    assert reader_row(db_url)["failing_urls"] == [site.url(qd_press.ARCHIVE_INDEX)]


def test_detail_pages_that_lost_their_article_are_parse_errors(
    site, operator_config, store, smtp_server, db_url
):
    nights = Nights(operator_config, store)
    nights.run()
    new = site.publish(2)
    for release in new:
        site.set_fault(qd_press.detail_path(release), "parse-errors")
    _, result = nights.run()
    assert result["states"] == {SOURCE: "parse_errors"}
    row = reader_row(db_url)
    assert row["state"] == "parse_errors"
    assert (row["counts"]["parsed"], row["counts"]["parse_failed"]) == (2, 2)
    assert sorted(row["failing_urls"]) == sorted(detail_url(site, r) for r in new)
    assert all(f["reason"].startswith("NotAnArticle") for f in row["failures"])
    (message,) = operator_mail(smtp_server)
    assert "is parse_errors (was ok)" in message["Subject"]


def test_one_failing_page_of_several_stays_under_the_share(site, operator_config, store, smtp_server, db_url):
    nights = Nights(operator_config, store)
    nights.run()
    new = site.publish(5)
    site.set_fault(qd_press.detail_path(new[0]), "parse-errors")
    _, result = nights.run()
    assert result["states"] == {SOURCE: "ok"}
    assert reader_row(db_url)["counts"]["parse_failed"] == 1
    assert operator_mail(smtp_server) == []


# -- stale ------------------------------------------------------------------------------------------------


def test_nothing_new_for_longer_than_the_learned_period_is_stale(
    site, operator_config, store, smtp_server, db_url
):
    nights = Nights(operator_config, store)
    nights.run()
    # The six releases' publication days are five gaps (98, 147, 84, 91, 77 days): a learned period of 147.
    now = datetime.now(UTC)
    _, result = nights.run(now=now + timedelta(days=147))
    assert result["states"] == {SOURCE: "no_new_items"}
    _, result = nights.run(now=now + timedelta(days=149))
    assert result["states"] == {SOURCE: "stale"}
    row = reader_row(db_url)
    assert (row["state"], row["previous_state"]) == ("stale", "no_new_items")
    declared = sources.get(SOURCE).update_days
    assert (row["period_declared"], row["period_learned"], row["period_days"]) == (declared, 147, 147)
    assert "nothing new for 149 days" in row["reason"]
    (message,) = operator_mail(smtp_server)
    assert message["Subject"] == f"pressmon: source {SOURCE} is stale (was no_new_items)"
    # A new release ends it.
    site.publish(1)
    _, result = nights.run(now=now + timedelta(days=150))
    assert result["states"] == {SOURCE: "ok"}
    assert len(operator_mail(smtp_server)) == 2


# -- without an address; with SMTP down ------------------------------------------------------------------


def test_without_an_operator_address_states_are_recorded_and_nobody_is_mailed(
    site, config, store, smtp_server, db_url
):
    nights = Nights(dataclasses.replace(config, smtp_url=smtp_server.url), store)
    nights.run()
    site.set_fault(qd_press.ARCHIVE_INDEX, "blocked")
    _, result = nights.run()
    assert result["states"] == {SOURCE: "blocked"}
    assert reader_row(db_url)["state"] == "blocked"
    assert smtp_server.messages == [] and store.notices() == []


def test_a_notice_the_smtp_server_did_not_take_goes_out_once_with_the_next_judgement(
    site, operator_config, store, smtp_server, db_url
):
    nights = Nights(operator_config, store)
    nights.run()
    site.set_fault(qd_press.ARCHIVE_INDEX, "blocked")
    smtp_server.stop()
    blocked_run, result = nights.run()
    assert result["failed_emails"] == 1
    (notice,) = store.notices()
    assert (notice["status"], notice["attempts"]) == ("pending", 1) and notice["last_error"]
    smtp_server.start()
    _, result = nights.run()  # still blocked: no new notice, the pending one goes out
    assert result["emails"] == 1
    (message,) = operator_mail(smtp_server)
    assert message["Subject"] == f"pressmon: source {SOURCE} is blocked (was ok)"
    assert [(n["run_id"], n["status"]) for n in store.notices()] == [(blocked_run, "sent")]


# -- where the state shows ---------------------------------------------------------------------------------


def test_the_weekly_report_and_the_sources_command_show_each_sources_health(config, store, capsys):
    from pressmon import weekly
    from pressmon.cli import main

    run_id = store.start_run("recorded")
    store.start_run_source(run_id, SOURCE)
    index = "http://127.0.0.1:1/xwfbHtml/wangqihuigu/index.html"
    error = {"url": index, "kind": "list", "code": "blocked", "reason": "captcha page"}
    store.finish_run_source(
        run_id, SOURCE, status="failed", list_pages=1, detail_pages=0, errors=[error], stats={}
    )
    assert steps.judge_health(config, run_id)["states"] == {SOURCE: "blocked"}

    data = steps.weekly_data(config, weekly.Week.last_complete(datetime.now(UTC)))
    (row,) = [s for s in data.sources if s["source"] == SOURCE]
    assert (row["health"], row["health_reason"]) == (
        "blocked",
        "list page not readable: blocked: captcha page",
    )
    assert "被拦截（blocked）" in weekly.render_html(data, lambda name: name)
    assert f"{SOURCE}：blocked，" in weekly.report_text(data)

    assert main(["sources"]) == 0
    assert " blocked " in capsys.readouterr().out
    assert main(["sources", "--json"]) == 0
    (listed,) = [s for s in json.loads(capsys.readouterr().out) if s["code"] == SOURCE]
    assert listed["health"] == "blocked" and listed["health_reason"].startswith("list page not readable")
