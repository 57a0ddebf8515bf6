"""The demo: the whole nightly job against the bundled offline copy of the sources, on a laptop."""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pressmon import politeness, sources, steps
from pressmon.airflow_run import prepare_airflow, run_dag_test
from pressmon.config import Config
from pressmon.errors import CrawlError, PressmonError
from pressmon.mail import OutboxSink
from pressmon.offline.server import OfflineSites
from pressmon.store import Store, as_role, database_url, migrate, redact

SAMPLE_SUBSCRIPTIONS = (
    ("ai-watch@example.com", ["人工智能", "新一代信息技术"], [], []),
    ("lowalt-desk@example.com", ["低空经济"], ["qd_press"], ["无人机"]),
)
SAMPLE_QUERIES = (
    "SELECT published_at, title, chains, duplicates FROM reporting.releases ORDER BY published_at DESC LIMIT 10;",
    "SELECT chain, sum(releases) AS releases FROM reporting.daily_chain_counts GROUP BY chain ORDER BY 2 DESC;",
    "SELECT published_at, title, excerpt FROM reporting.search('人形机器人 产业');",
)
# Crawl processes the next-night crawls run at once (sources on one host still take turns on it).
NEXT_NIGHT_CRAWLS = 6


def run_demo(config: Config, say=print) -> dict[str, Any]:
    """Run the nightly DAG once against the offline site, with digests written to var/outbox/."""
    var = config.var_dir
    url = database_url(config, create=True)
    say(
        f"database: {redact(url)}"
        + ("" if config.database_url else f"  (embedded Postgres in {var / 'postgres'})")
    )
    outbox = var / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    with OfflineSites() as sites, OutboxSink(outbox) as sink:
        for code, site in sites.sites.items():
            say(f"offline site of {code}: {site.base_url}")
        for code, reason in sites.skipped.items():
            say(f"offline site of {code}: skipped, {reason}")
        if not sites.sites:
            raise PressmonError("no declared source has an offline site: nothing to crawl")
        say(f"SMTP sink: {sink.url} → {outbox}")
        os.environ.update(
            {
                "PRESSMON_DATABASE_URL": url,
                "PRESSMON_VAR_DIR": str(var),
                **sites.env(),
                # Only the sources served offline: the others would be crawled on the real sites.
                "PRESSMON_SOURCES": ",".join(sites.sites),
                "PRESSMON_SMTP_URL": sink.url,
                "PRESSMON_CRAWL_DELAY": os.environ.get("PRESSMON_CRAWL_DELAY", "0"),
                "PRESSMON_CRAWL_LOG_LEVEL": os.environ.get("PRESSMON_CRAWL_LOG_LEVEL", "WARNING"),
            }
        )
        config = Config.from_env()
        with Store.open(config, migrating=True) as store:
            applied = migrate(store.conn)
            if applied:
                say(f"migrations applied: {', '.join(applied)}")
            steps.prepare(store, config)
            for email, chains, sources, keywords in SAMPLE_SUBSCRIPTIONS:
                store.add_subscription(email, chains, sources, keywords)
        say(f"preparing Airflow (SQLite metadata in {var / 'airflow'}) …")
        airflow_home = var / "airflow"
        prepare_airflow(airflow_home)
        say("running DAG pressmon_nightly with dag.test() …")
        result = run_dag_test(airflow_home)
        say("the next night, nothing changed: crawling every source again …")
        next_night = crawl_again(config, f"{result.run_id} next night", list(sites.sites))
    written = sorted(set(outbox.glob("*.eml")) - before)
    # The offline releases end in December 2025: report on the week of the newest one, not on this week.
    week = steps.newest_week(config)
    report = steps.write_weekly_report(config, week, var / "reports") if week else None
    with Store.open(config) as store:
        run = store.run_by_key(result.run_id)
        summary = {
            "dag_run": result.run_id,
            "tasks": result.task_states,
            "run": run["summary"],
            "status": run["status"],
            "totals": store.totals(),
            "chains": store.chain_counts(),
            "across_sources": store.clusters_across_sources(),
            "emails_written": [p.name for p in written],
            "reader_url": as_role(url, "pressmon_reader"),
            "weekly_report": report,
            "next_night": next_night,
        }
    _print_summary(summary, outbox, say)
    return summary


def crawl_again(config: Config, run_key: str, codes: list[str]) -> dict[str, Any]:
    """Crawl the sources once more, several at a time, in a run of their own; return that run's summary.

    What a night without news costs: list pages only. A run of its own keeps the nightly run's figures (pages
    fetched, new releases, emails) about that run.
    """
    run_id = steps.start_run(config, run_key)
    started = time.monotonic()

    def crawl(code: str) -> None:
        # A failed crawl is recorded in the run: its summary shows the source failed, and why.
        with contextlib.suppress(CrawlError):
            steps.crawl(config, code, run_id)

    with ThreadPoolExecutor(NEXT_NIGHT_CRAWLS) as pool:
        list(pool.map(crawl, politeness.spread_by_host(codes, sources.registry())))
    seconds = time.monotonic() - started
    return {"run_key": run_key, "seconds": seconds, **steps.report(config, run_id)}


def _print_summary(summary: dict[str, Any], outbox: Path, say) -> None:
    run = summary["run"]
    totals = summary["totals"]
    say("")
    say(f"== pressmon demo: run {summary['dag_run']} {summary['status']} ==")
    say(f"  {len(run['sources'])} sources (crawl outcome, then health: `pressmon sources` says more):")
    for source, stats in sorted(run["sources"].items()):
        say(
            f"  {source}: {stats['list_pages']} list pages, {stats['detail_pages']} detail pages, "
            f"{stats.get('new_releases', 0)} new releases, {stats['status']}"
            + (f" ({len(stats['errors'])} errors)" if stats["errors"] else "")
            + f", health {stats.get('health') or 'not judged'}"
        )
    say(f"  pages fetched this run: {run['pages_fetched']}")
    say(
        f"  new releases: {run['new_releases']} (from {run['new_copies']} new pages; "
        f"{run['duplicates']} were copies of a release already held)"
    )
    say(f"  pages that could not be parsed: {len(run['failed_pages'])}")
    for page in run["failed_pages"][:5]:
        say(f"    {page['url']}: {page['reason']}")
    say(
        f"  in the database: {totals['releases']} distinct releases, {totals['copies']} copies, "
        f"{totals['raw_pages']} raw pages"
    )
    across = summary["across_sources"]
    say(f"  releases published by more than one source: {len(across)}")
    for cluster in across:
        say(f"    {cluster['title']} ({cluster['copies']} copies: {', '.join(cluster['sources'])})")
    say("  releases per industry chain (current scheme):")
    for row in summary["chains"]:
        say(f"    {row['chain']}: {row['releases']}")
    say(f"  alert emails written this run: {len(summary['emails_written'])} (in {outbox})")
    for name in summary["emails_written"]:
        say(f"    {name}")
    again = summary["next_night"]
    say(
        f"  the next night, nothing changed (run '{again['run_key']}', {again['status']}): every source crawled "
        f"again, {NEXT_NIGHT_CRAWLS} at a time, sources on one host taking turns, in {again['seconds']:.1f} s:"
    )
    for source, stats in sorted(again["sources"].items()):
        first = run["sources"].get(source)
        say(
            f"    {source}: {stats['list_pages']} list pages, {stats['detail_pages']} detail pages"
            + (f" ({len(stats['errors'])} errors)" if stats["errors"] else "")
            + (
                f" (tonight: {first['list_pages']} list pages, {first['detail_pages']} detail pages)"
                if first
                else ""
            )
        )
    if summary["weekly_report"]:
        say(f"  weekly report (week of the newest release): {summary['weekly_report']}")
    say("")
    say("Query the result (read-only role pressmon_reader):")
    say(f"  psql '{summary['reader_url']}'")
    for query in SAMPLE_QUERIES:
        say(f"  {query}")
    say("The embedded Postgres keeps running; stop it with: pressmon db stop")
