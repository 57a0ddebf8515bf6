"""The pages people look at, built from the demo data: a digest's HTML part and the weekly report.

`python -m tests.render.screenshots docs/screenshots` (or `make screenshots`) renders both in headless Chromium
and writes the screenshots committed under docs/screenshots; the tests render the same pages.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from pressmon import alerts, steps
from pressmon.config import Config
from pressmon.store import Store
from tests.pages import add_page, releases

DIGEST_CHAINS = ["人工智能", "智能装备"]
DIGEST_RELEASES = (2061, 1688, 1702, 1703, 1347, 2023)
SENT_AT = "2025-12-26T08:00:00+08:00"


def digest_html(config: Config) -> tuple[str, dict]:
    """Subscribe to two chains, store and process a few releases, and render the digest; return (HTML, digest)."""
    from datetime import datetime

    with Store.open(config) as store:
        steps.prepare(store, config)
        store.add_subscription("analyst@example.com", DIGEST_CHAINS, [], [])
        for release_id in DIGEST_RELEASES:
            add_page(store, releases()[release_id])
    steps.process(config)
    with Store.open(config) as store:
        store.queue_deliveries()
        (digest,) = store.pending_digests()
    message = alerts.render_digest(digest, config.mail_from, datetime.fromisoformat(SENT_AT))
    return message.get_body(preferencelist=("html",)).get_content(), digest


def weekly_report(config: Config, out_dir: Path) -> Path:
    """Write the weekly report of the week of the newest release (what `make demo` writes)."""
    week = steps.newest_week(config)
    assert week is not None, "no releases"
    return steps.write_weekly_report(config, week, out_dir)


def crawl_offline_site(url: str, var_dir: Path) -> Config:
    """Run a night over the offline site of every source (crawl, process, judge health, report), as the
    demo does, so the report's source table is real."""
    import dataclasses
    import os

    from pressmon.offline.server import OfflineSites

    with OfflineSites() as sites:
        os.environ.update({**sites.env(), "PRESSMON_CRAWL_DELAY": "0", "PRESSMON_DATABASE_URL": url})
        os.environ.pop("PRESSMON_SOURCES", None)
        config = dataclasses.replace(Config.from_env(), var_dir=var_dir)
        run_id = steps.start_run(config, "screenshots")
        for code in sites.sites:
            steps.crawl(config, code, run_id)
        steps.process(config)
        steps.judge_health(config, run_id)
        steps.report(config, run_id)
    return config


def main(out: Path) -> None:
    from tests.render.chromium import Chromium, save
    from tests.support.db import scratch_database

    with tempfile.TemporaryDirectory() as tmp, Chromium() as browser:
        with scratch_database() as url:
            html, _ = digest_html(Config(database_url=url, var_dir=Path(tmp)))
        page = Path(tmp) / "digest.html"
        page.write_text(html, encoding="utf-8")
        print(save(browser.render(page.as_uri(), width=820).png, out / "digest.png"))
        with scratch_database() as url:
            config = crawl_offline_site(url, Path(tmp))
            report = weekly_report(config, Path(tmp) / "reports")
        print(save(browser.render(report.as_uri()).png, out / "weekly-report.png"))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
