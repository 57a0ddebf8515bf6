"""The steps of the nightly job: crawl, process, alert, report. The CLI and the Airflow DAG both call these."""

from __future__ import annotations

from pressmon.progress import ProgressArg
from pressmon.steps.alerts import alert
from pressmon.steps.clusters import assign_cluster
from pressmon.steps.crawl import (
    CRAWL_NOTES,
    CRAWL_PROGRESS_INTERVAL,
    PROJECT_ROOT,
    SCRAPY_LOG_PREFIX,
    crawl,
    crawl_command,
    scrapy_log,
)
from pressmon.steps.delivery import Ledger, deliver_once
from pressmon.steps.health import declared_update_days, judge_health
from pressmon.steps.process import PageParser, ParseResult, hints_for, parse_release, process, process_batch
from pressmon.steps.reports import newest_week, reader_url, weekly_data, weekly_mailing, write_weekly_report
from pressmon.steps.runs import enabled_sources, report, start_run
from pressmon.steps.sources import declared_sources, prepare, source_listing, sync_sources, sync_taxonomy
from pressmon.steps.tags import retag

__all__ = [
    "CRAWL_NOTES",
    "CRAWL_PROGRESS_INTERVAL",
    "PROJECT_ROOT",
    "SCRAPY_LOG_PREFIX",
    "Ledger",
    "PageParser",
    "ParseResult",
    "ProgressArg",
    "alert",
    "assign_cluster",
    "crawl",
    "crawl_command",
    "declared_sources",
    "declared_update_days",
    "deliver_once",
    "enabled_sources",
    "hints_for",
    "judge_health",
    "newest_week",
    "parse_release",
    "prepare",
    "process",
    "process_batch",
    "reader_url",
    "report",
    "retag",
    "scrapy_log",
    "source_listing",
    "start_run",
    "sync_sources",
    "sync_taxonomy",
    "weekly_data",
    "weekly_mailing",
    "write_weekly_report",
]
