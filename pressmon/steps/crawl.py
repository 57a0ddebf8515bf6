"""Crawl one source with Scrapy, in a process of its own."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

from pressmon import politeness, sources
from pressmon.config import Config
from pressmon.errors import CrawlError, UnknownSourceError
from pressmon.progress import QUIET, Progress, ProgressArg, as_progress
from pressmon.steps.sources import declared_sources
from pressmon.store import Store, database_url

log = logging.getLogger(__name__)


# The crawl process's own log lines, passed on at INFO: shown with -v, and in Airflow's task log.
scrapy_log = logging.getLogger("pressmon.crawl")

# The checkout in a source tree; site-packages in an installed wheel (where crawlers/ sits beside pressmon/).
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
# Scrapy log lines worth a line of their own without -v: our stop reasons, failed requests.
CRAWL_NOTES = re.compile(r"already held|list page limit|failed:|\] ERROR: ")
SCRAPY_LOG_PREFIX = re.compile(r"^\S+ \S+ \[[^\]]+\] \w+: ")
# Seconds between the crawl process's progress lines (crawlers/progress.py).
CRAWL_PROGRESS_INTERVAL = 1.0


def crawl(config: Config, source: str, run_id: int, progress: ProgressArg = QUIET) -> dict[str, Any]:
    """Crawl one source in its own process (Scrapy's reactor cannot restart); return its recorded outcome.

    Scrapy's log is passed on at INFO (logger pressmon.crawl), its end-of-crawl stats only when INFO is shown.

    Raises:
        UnknownSourceError: no source is declared with this code.
        CrawlError: the crawl failed (its reasons are recorded in crawl_run_sources); the message is one line.
    """
    progress = as_progress(progress)
    if source not in declared_sources():
        raise UnknownSourceError(
            f"no source named {source!r} (declared: {', '.join(declared_sources()) or 'none'})"
        )
    url = database_url(config)
    env = {
        **os.environ,
        "PRESSMON_DATABASE_URL": url,
        "PRESSMON_RUN_ID": str(run_id),
        # No scrapy.cfg needed (an installed wheel has none): the settings module is named here.
        "SCRAPY_SETTINGS_MODULE": "crawlers.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
    with Store.open(config) as store:
        store.start_run_source(run_id, source)
    progress.start(f"crawl {source}", None, "pages fetched")
    try:
        # Sources on one host take turns on it; crawls of other hosts run meanwhile (pressmon/politeness.py).
        with politeness.host_turns(config, sources.get(source), progress.note):
            returncode, log_tail = _run_scrapy(source, run_id, config, env, progress)
    finally:
        progress.finish()
    with Store.open(config) as store:
        if returncode != 0:
            store.fail_run_source(run_id, source, f"scrapy exited with {returncode}: {log_tail[-800:]}")
        outcome = next((row for row in store.run_sources(run_id) if row["source"] == source), None)
    if outcome is None or outcome["status"] != "succeeded":
        errors = outcome["errors"] if outcome else []
        if errors:
            first = errors[0]
            reason = str(first.get("reason") or "").strip().splitlines()[0:1]
            what = f"{first.get('code') or first.get('kind')}: {reason[0] if reason else ''}".rstrip(": ")
            where = f" at {first['url']}" if first.get("url") else ""
            cause = f"{len(errors)} error(s), the first {what}{where}"
        else:
            cause = f"scrapy exited with {returncode}"
        raise CrawlError(
            f"crawl of {source} failed ({cause}); `pressmon crawl {source} -v` shows Scrapy's log, "
            "crawl_runs has every error"
        )
    summary = {
        "source": source,
        "list_pages": outcome["list_pages"],
        "detail_pages": outcome["detail_pages"],
        "errors": len(outcome["errors"]),
    }
    log.info(
        "crawled %s: %d list pages, %d new detail pages, %d errors",
        source,
        summary["list_pages"],
        summary["detail_pages"],
        summary["errors"],
    )
    return summary


def crawl_command(source: str, run_id: int, config: Config, *, verbose: bool = False) -> list[str]:
    """Return the `scrapy crawl` command of one source: the spider `source`, the rest as arguments and
    settings."""
    command = [sys.executable, "-m", "scrapy", "crawl", "source", "-a", f"source={source}"]
    command += ["-a", f"run_id={run_id}"]
    if source in config.base_urls:
        command += ["-a", f"base_url={config.base_urls[source]}"]
    settings = {
        "PRESSMON_CRAWL_OVERLAP": config.crawl_overlap,
        "PRESSMON_MAX_LIST_PAGES": config.max_list_pages,
        "PRESSMON_OWED_RETRIES": config.owed_retries,
        "PROGRESS_LINES_INTERVAL": CRAWL_PROGRESS_INTERVAL,
        "STATS_DUMP": verbose,
    }
    declared = sources.get(source).options
    if declared.get("cookie_from") or declared.get("requires_list_cookie"):
        # A site that answers only with the cookie its gate or list page sets: keep a cookie jar for this crawl.
        settings["COOKIES_ENABLED"] = True
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def _run_scrapy(
    source: str, run_id: int, config: Config, env: dict[str, str], progress: Progress
) -> tuple[int, str]:
    """Run `scrapy crawl`, showing its progress and notable log lines as they come; return its exit code and
    the last lines of its log."""
    from crawlers.progress import MARK

    verbose = scrapy_log.isEnabledFor(logging.INFO)
    command = crawl_command(source, run_id, config, verbose=verbose)
    tail: deque[str] = deque(maxlen=15)
    with subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None and process.stderr is not None

        def read_log(stream: Any) -> None:
            for line in stream:
                line = line.rstrip()
                tail.append(line)
                if verbose:
                    scrapy_log.info("%s", line)
                elif CRAWL_NOTES.search(line):
                    message = SCRAPY_LOG_PREFIX.sub("", line)
                    progress.note(message if message.startswith(f"{source}:") else f"{source}: {message}")

        reader = threading.Thread(target=read_log, args=(process.stderr,), daemon=True)
        reader.start()
        for line in process.stdout:
            if line.startswith(MARK):
                counts = json.loads(line[len(MARK) :])
                progress.update(counts["fetched"], counts["queued"], f"{counts['stored']} stored")
            elif line.strip():
                scrapy_log.info("%s", line.rstrip())
        reader.join()
    return process.returncode, "\n".join(tail)
