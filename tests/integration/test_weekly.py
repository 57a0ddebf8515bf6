"""The weekly report's data and its mailing: counts from the reporting views, fonts that hold every character,
one report per weekly subscription and week, exactly once, by the digests' rules."""

from __future__ import annotations

import warnings
from collections import Counter
from datetime import UTC, date, datetime

import psycopg2
import pytest

from pressmon import steps
from pressmon.cli import main
from pressmon.config import Config
from pressmon.sources import registry
from pressmon.store import Store, as_role
from pressmon.weekly import Week, chart_texts, cjk_font, render_charts
from tests.pages import add_page, releases

pytestmark = pytest.mark.integration
RELEASES = releases()


def test_weeks_are_iso_weeks_and_the_default_is_the_last_complete_one():
    assert Week.parse("2025-W52").monday == date(2025, 12, 22) and Week.parse("2025-W52").sunday == date(
        2025, 12, 28
    )
    assert Week.of(date(2025, 12, 25)).label == "2025-W52"
    assert (
        Week.last_complete(datetime(2025, 12, 29, 7, 0, tzinfo=UTC)).label == "2025-W52"
    )  # Monday 15:00 Beijing
    assert Week.last_complete(datetime(2025, 12, 28, 17, 0, tzinfo=UTC)).label == "2025-W52"  # Monday 01:00
    with pytest.raises(Exception, match="YYYY-Www"):
        Week.parse("2025-52")


def test_report_data_match_the_releases_of_each_week(demo_db_url, tmp_path):
    config = Config(database_url=demo_db_url, var_dir=tmp_path)
    week = Week.of(max(r.published for r in RELEASES.values()))
    data = steps.weekly_data(config, week)
    assert data.weeks[-1] == week and len(data.weeks) == 12 and data.baseline[-1] == week.minus(1)
    # Independently: the canonical releases' chains and dates, read as the reader.
    reader = psycopg2.connect(as_role(demo_db_url, "pressmon_reader"))
    with reader, reader.cursor() as cur:
        cur.execute("SELECT published_at, chains, title FROM reporting.releases")
        rows = cur.fetchall()
    reader.close()
    expected = Counter((chain, Week.of(day)) for day, chains, _ in rows for chain in chains)
    for chain in data.chains:
        for w in data.weeks + data.baseline:
            assert data.count(chain, w) == expected[(chain, w)], (chain, w)
    this_week = sorted(title for day, _, title in rows if week.monday <= day <= week.sunday)
    assert sorted(r["title"] for r in data.releases) == this_week != []
    for release in data.releases:
        for chain in release["chains"]:
            assert release["terms"][chain], "every chain of a release comes with its evidence terms"
        assert any(hit for _, hit in release["excerpt"])
    assert data.publishers[0][1] >= 1 and all(total >= week_n for _, week_n, total in data.publishers)
    assert sorted(s["source"] for s in data.sources) == sorted(registry())


def test_every_character_the_charts_draw_is_in_the_font(demo_db_url, tmp_path):
    from fontTools.ttLib import TTFont

    data = steps.weekly_data(Config(database_url=demo_db_url, var_dir=tmp_path), Week.parse("2025-W52"))
    path = cjk_font()
    font = TTFont(str(path), fontNumber=0) if path.suffix.lower() == ".ttc" else TTFont(str(path))
    cmap = font.getBestCmap()
    missing = {c for c in chart_texts(data) if not c.isspace() and ord(c) not in cmap}
    assert missing == set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts = render_charts(data)
    assert not [w for w in caught if "missing from" in str(w.message)], [str(w.message) for w in caught]
    assert all(png[:4] == b"\x89PNG" and len(png) > 10_000 for png in charts.values())


def _report_rows(store):
    with store.transaction() as cur:
        cur.execute(
            "SELECT subscription_id, week, status, attempts, message_id FROM report_deliveries ORDER BY 1"
        )
        return list(cur.fetchall())


def test_weekly_subscribers_get_the_report_once_and_digests_never(smtp_server, store, config):
    weekly_id, _ = store.add_subscription("boss@example.com", [], [], [], weekly=True)
    store.add_subscription("ai@example.com", ["人工智能"], [], [])
    for release_id in (2061, 2023):
        add_page(store, RELEASES[release_id])
    steps.process(config)
    steps.alert(Config.from_env())
    assert [m["To"] for m in smtp_server.messages] == ["ai@example.com"]  # no digest for the weekly one

    week = Week.of(RELEASES[2061].published)
    counts = steps.weekly_mailing(Config.from_env(), week)
    assert (counts["queued"], counts["emails"]) == (1, 1)
    report = smtp_server.messages[-1]
    assert report["To"] == "boss@example.com" and week.label in str(report["Subject"])
    html = report.get_body(preferencelist=("html",))
    related = [p for p in report.walk() if p.get_content_type() == "image/png"]
    assert len(related) == 2 and all(f"cid:{p['Content-ID'][1:-1]}" in html.get_content() for p in related)
    assert RELEASES[2061].list_title in report.get_body(preferencelist=("plain",)).get_content()
    (row,) = _report_rows(store)
    assert (row["subscription_id"], row["week"], row["status"]) == (weekly_id, week.monday, "sent")
    assert row["message_id"] == report["Message-ID"]

    again = steps.weekly_mailing(Config.from_env(), week)
    assert again.get("emails", 0) == 0 and again["queued"] == 0
    assert len(smtp_server.messages) == 2


def test_smtp_down_keeps_the_report_pending_and_a_run_that_died_mid_send_does_not_resend(
    smtp_server, store, config, monkeypatch
):
    store.add_subscription("boss@example.com", [], [], [], weekly=True)
    week = Week.parse("2025-W52")
    smtp_server.stop()
    counts = steps.weekly_mailing(Config.from_env(), week)
    assert counts["failed_emails"] == 1 and counts["pending"] == 1
    assert [r["status"] for r in _report_rows(store)] == ["pending"]

    smtp_server.start()

    class Killed(BaseException):
        """Stands for SIGKILL between the server's 250 and the ledger update."""

    def die(*args, **kwargs):
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(Store, "mark_report_sent", die)
        with pytest.raises(Killed):
            steps.weekly_mailing(Config.from_env(), week)
    assert len(smtp_server.messages) == 1
    assert [r["status"] for r in _report_rows(store)] == ["sending"]
    counts = steps.weekly_mailing(Config.from_env(), week)
    assert counts["presumed_sent"] == 1 and counts.get("emails", 0) == 0
    assert len(smtp_server.messages) == 1
    assert [r["status"] for r in _report_rows(store)] == ["sent"]


def test_cli_subscribes_weekly_and_writes_the_report(capsys, store, tmp_path):
    assert main(["subscribe", "add", "boss@example.com", "--weekly"]) == 0
    assert main(["subscribe", "add", "boss@example.com", "--weekly", "--chain", "人工智能"]) == 1
    main(["subscribe", "list"])
    out = capsys.readouterr().out
    assert "boss@example.com  weekly report" in out
    add_page(store, RELEASES[2258])
    steps.process(Config.from_env())
    assert main(["report", "weekly", "--week", "2025-W52", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    path = tmp_path / "weekly-2025-W52.html"
    assert str(path) in out and path.exists()
    assert RELEASES[2258].list_title in path.read_text(encoding="utf-8")
    assert len(list(tmp_path.glob("weekly-2025-W52-*.png"))) == 2
