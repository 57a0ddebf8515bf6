"""`make demo`: the whole nightly job on the offline copy, twice; the second run finds nothing new."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg2

from pressmon import sources
from pressmon.offline import qd_press
from tests.pages import releases


def _demo(env: dict[str, str]) -> str:
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "pressmon"), "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_demo_runs_the_nightly_job_then_finds_nothing_new(db_url, tmp_path):
    # A fresh process: the demo points Airflow at its own home under var/, as it does for a user.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PRESSMON_"))}
    env.update({"PRESSMON_DATABASE_URL": db_url, "PRESSMON_VAR_DIR": str(tmp_path / "var")})
    distinct = sum(1 for r in releases().values() if r.same_release_as is None)

    first = _demo(env)
    assert "succeeded" in first
    pages = len(releases())
    list_pages = qd_press.list_page_count(pages)
    assert (
        f"qd_press: {list_pages} list pages, {pages} detail pages, {distinct} new releases, succeeded, health ok"
        in first
    )
    # Every declared source is crawled from its offline site, its first release as its expectation file says.
    declared = sources.registry()
    assert f"{len(declared)} sources (crawl outcome, then health" in first
    for code in declared:
        assert re.search(
            rf"^  {code}: \d+ list pages, \d+ detail pages, \d+ new releases, succeeded, health ok$",
            first,
            re.M,
        ), code
    # The next night, nothing changed: every source, crawled again in a run of its own, fetches list pages only;
    # the nightly run's figures (pages, new releases, emails) stay its own.
    next_night = re.search(r"^  the next night, nothing changed \(run '(.+)', succeeded\)", first, re.M)
    assert next_night and next_night.group(1).endswith(" next night")
    for code in declared:
        assert re.search(
            rf"^    {code}: [1-9]\d* list pages, 0 detail pages \(tonight: \d+ list pages, [1-9]\d* detail pages\)$",
            first,
            re.M,
        ), code
    assert re.search(
        rf"^    qd_press: 1 list pages, 0 detail pages \(tonight: {list_pages} list pages, {pages} detail pages\)$",
        first,
        re.M,
    )
    # The reprints on the news sites and the city portal join their originals.
    copies = re.search(r"releases published by more than one source: (\d+)\n((?:    .*\n)*)", first)
    assert int(copies.group(1)) >= 3
    assert "dzwww_qd, qd_press, qingdaonews_qd" in copies.group(2)
    assert "qd_gov_press, qd_press" in copies.group(2)
    total_pages = int(re.search(r"new releases: \d+ \(from (\d+) new pages", first).group(1))
    assert total_pages > len(releases()) + 2 * len(declared) - 2
    assert re.search(r"alert emails written this run: 2 ", first)
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 2
    assert "psql 'postgresql://pressmon_reader@" in first
    assert "低空经济: " in first
    report = Path(re.search(r"weekly report \(week of the newest release\): (\S+)", first).group(1))
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT published_at, title FROM releases ORDER BY published_at DESC, id LIMIT 1")
        newest_day, newest_title = cur.fetchone()
    conn.close()
    assert report.parent == tmp_path / "var" / "reports" and report.name == f"weekly-{newest_day:%G-W%V}.html"
    assert newest_title in report.read_text(encoding="utf-8")
    assert len(list(report.parent.glob("*.png"))) == 2

    second = _demo(env)
    # Nothing changed: the second night fetches list pages only, and every source says so.
    for code in declared:
        assert re.search(
            rf"^  {code}: \d+ list pages, 0 detail pages, 0 new releases, succeeded, health no_new_items$",
            second,
            re.M,
        ), code
    assert "new releases: 0 " in second
    for code in declared:
        assert re.search(
            rf"^    {code}: [1-9]\d* list pages, 0 detail pages \(tonight: \d+ list pages, 0 detail pages\)$",
            second,
            re.M,
        ), code
    with psycopg2.connect(db_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT run_key, summary -> 'new_releases', summary -> 'emails_sent' FROM crawl_runs ORDER BY id"
        )
        runs = cur.fetchall()
    conn.close()
    # Two nightly runs, each followed by its next night, which found nothing and sent nothing.
    assert [key.endswith(" next night") for key, _, _ in runs] == [False, True, False, True]
    assert [(new, sent) for key, new, sent in runs if key.endswith(" next night")] == [(0, 0), (0, 0)]
    assert "alert emails written this run: 0 " in second
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 2
