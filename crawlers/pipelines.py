"""Store every fetched page as it came, and record how each source's crawl went."""

from __future__ import annotations

import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from crawlers.items import FetchFailure, OwedPages, RawPage
from pressmon.config import Config
from pressmon.store import Store

log = logging.getLogger(__name__)


class RawPagePipeline:
    """Write each RawPage item to raw_pages before anything parses it, and settle what the source owes."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawPagePipeline:
        return cls(crawler)

    def process_item(self, item: RawPage | OwedPages | FetchFailure) -> RawPage | OwedPages | FetchFailure:
        spider = self.crawler.spider
        store = store_for(spider)
        limit = spider.owed_retries
        if isinstance(item, OwedPages):
            store.owe(spider.code, item["pages"])
            return item
        if isinstance(item, FetchFailure):
            if store.detail_failed(
                spider.code, item["key"], item["url"], item["code"], item["reason"], limit
            ):
                spider.gave_up(item["key"], limit)
            return item
        fields = {
            "source": spider.code,
            "run_id": getattr(spider, "run_id", None),
            "url": item["url"],
            "final_url": item["final_url"],
            "canonical_url": item["canonical_url"],
            "status": item["status"],
            "headers": item["headers"],
            "body": item["body"],
        }
        if item["kind"] == "list":
            item["raw_page_id"] = store.add_raw_page(kind="list", process_state="skipped", **fields)
        else:
            item["raw_page_id"], gave_up = store.add_detail_page(
                owed_key=item["owed_key"], problem=item["problem"], retry_limit=limit, **fields
            )
            if gave_up:
                spider.gave_up(item["owed_key"], limit)
        self.crawler.stats.inc_value(f"pressmon/{item['kind']}_pages_stored")
        return item


class CrawlRunRecorder:
    """Record the source's outcome in crawl_run_sources when the spider closes."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunRecorder:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        run_id = getattr(spider, "run_id", None)
        if run_id is not None:
            store_for(spider).start_run_source(run_id, spider.code)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        run_id = getattr(spider, "run_id", None)
        if run_id is None:
            return
        store = store_for(spider)
        stats = self.crawler.stats.get_stats()
        errors = list(getattr(spider, "errors", []))
        # A list walk that was cut short, blocked, empty or looping must never read as a quiet night.
        failed = reason != "finished" or getattr(spider, "list_failed", False)
        if not getattr(spider, "list_pages_ok", 0):
            failed = True
        if failed and not any(e.get("kind") == "list" for e in errors):
            errors.append(
                {"url": None, "kind": "list", "code": "closed", "reason": f"spider closed: {reason}"}
            )
        if not failed and getattr(spider, "reached_end", False):
            store.mark_archive_walked(spider.code)
        store.finish_run_source(
            run_id,
            spider.code,
            status="failed" if failed else "succeeded",
            list_pages=int(stats.get("pressmon/list_pages_stored", 0)),
            detail_pages=int(stats.get("pressmon/detail_pages_stored", 0)),
            errors=errors,
            stats={
                "finish_reason": reason,
                "offsite_links": getattr(spider, "offsite_links", 0),
                **store.owed_counts(spider.code),
                **{k: v for k, v in stats.items() if _worth_keeping(k)},
            },
        )


def _worth_keeping(key: str) -> bool:
    return key.startswith(
        ("downloader/response_status_count", "retry/", "robotstxt/", "pressmon/")
    ) or key in {
        "downloader/request_count",
        "downloader/response_count",
        "item_scraped_count",
        "elapsed_time_seconds",
        "log_count/ERROR",
    }


def store_for(spider: Spider) -> Store:
    store = getattr(spider, "_pressmon_store", None)
    if store is None:
        store = Store.open(Config.from_env())
        spider._pressmon_store = store
    return store
