"""Tell the process that started the crawl how far it is: one JSON line on stdout every few seconds.

`pressmon crawl` reads these lines to show a count, a rate and the time left; Scrapy's log (stderr) stays
a log. Off unless the setting PROGRESS_LINES_INTERVAL is above 0.
"""

from __future__ import annotations

import json
import sys

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

# What starts each line, so that the reader can tell progress from anything else on stdout.
MARK = "pressmon-progress "


class ProgressLines:
    """Write {"fetched", "queued", "stored"} to stdout while the spider runs, and once when it closes."""

    def __init__(self, crawler: Crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressLines:
        interval = crawler.settings.getfloat("PROGRESS_LINES_INTERVAL")
        if interval <= 0:
            raise NotConfigured
        return cls(crawler, interval)

    def spider_opened(self, spider: Spider) -> None:
        self.loop = task.LoopingCall(self.write)
        self.loop.start(self.interval, now=True)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.write()

    def write(self) -> None:
        stats = self.crawler.stats
        assert stats is not None
        fetched = int(stats.get_value("downloader/response_count", 0))
        # Requests the scheduler took (retries included) plus robots.txt, which bypasses it: what is known so
        # far, since a crawl learns its size as it walks the list pages.
        queued = int(stats.get_value("scheduler/enqueued", 0)) + int(
            stats.get_value("robotstxt/request_count", 0)
        )
        stored = sum(int(stats.get_value(f"pressmon/{kind}_pages_stored", 0)) for kind in ("list", "detail"))
        line = {"fetched": fetched, "queued": max(queued, fetched), "stored": stored}
        sys.stdout.write(MARK + json.dumps(line) + "\n")
        sys.stdout.flush()
