"""Store every fetched page as it came, and record how each source's crawl went."""

from __future__ import annotations

import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from crawlers.items import RawPage
from pressmon.config import Config
from pressmon.store import Store

log = logging.getLogger(__name__)


class RawPagePipeline:
    """Write each RawPage item to raw_pages before anything parses it."""

    def __init__(self) -> None:
        self.store: Store | None = None

    def open_spider(self, spider: Spider) -> None:
        self.store = store_for(spider)

    def process_item(self, item: RawPage, spider: Spider) -> RawPage:
        assert self.store is not None
        detail_ok = item["kind"] == "detail" and item["status"] == 200
        if item["kind"] == "list":
            state, error = "skipped", None
        elif detail_ok:
            state, error = "pending", None
        else:
            state, error = "failed", f"HTTP {item['status']}"
        item["raw_page_id"] = self.store.add_raw_page(
            source=spider.name,
            run_id=getattr(spider, "run_id", None),
            kind=item["kind"],
            url=item["url"],
            final_url=item["final_url"],
            canonical_url=item["canonical_url"],
            status=item["status"],
            headers=item["headers"],
            body=item["body"],
            process_state=state,
            process_error=error,
        )
        spider.crawler.stats.inc_value(f"pressmon/{item['kind']}_pages_stored")
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
            store_for(spider).start_run_source(run_id, spider.name)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        run_id = getattr(spider, "run_id", None)
        if run_id is None:
            return
        stats = self.crawler.stats.get_stats()
        errors = list(getattr(spider, "errors", []))
        failed = reason != "finished" or not getattr(spider, "list_pages_ok", 0)
        if failed and not errors:
            errors.append({"url": None, "reason": f"spider closed: {reason}"})
        list_errors = any(e.get("kind") == "list" for e in errors)
        if not failed and not list_errors and getattr(spider, "reached_end", False):
            store_for(spider).mark_archive_walked(spider.name)
        store_for(spider).finish_run_source(
            run_id,
            spider.name,
            status="failed" if failed else "succeeded",
            list_pages=int(stats.get("pressmon/list_pages_stored", 0)),
            detail_pages=int(stats.get("pressmon/detail_pages_stored", 0)),
            errors=errors,
            stats={"finish_reason": reason, **{k: v for k, v in stats.items() if _worth_keeping(k)}},
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
