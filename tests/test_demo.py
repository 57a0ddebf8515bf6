"""`make demo`: the whole nightly job on the offline copy, twice; the second run finds nothing new."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
        f"qd_press: {list_pages} list pages, {pages} detail pages, {distinct} new releases, succeeded"
        in first
    )
    assert "releases published by more than one source: " in first
    assert f"new releases: {distinct} (from {len(releases())} new pages" in first
    assert re.search(r"alert emails written this run: 2 ", first)
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 2
    assert "psql 'postgresql://pressmon_reader@" in first
    assert "低空经济: " in first
    report = Path(re.search(r"weekly report \(week of the newest release\): (\S+)", first).group(1))
    newest = max(releases().values(), key=lambda r: r.published)
    assert (
        report.parent == tmp_path / "var" / "reports"
        and report.name == f"weekly-{newest.published:%G-W%V}.html"
    )
    assert newest.list_title in report.read_text(encoding="utf-8")
    assert len(list(report.parent.glob("*.png"))) == 2

    second = _demo(env)
    assert "pages fetched this run: 1" in second
    assert "new releases: 0 " in second
    assert "alert emails written this run: 0 " in second
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 2
